//! Grid cells: runs that share every configuration key except `seed`, so a
//! cell's runs are the seeds of one experiment.

use crate::runs::Run;
use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// One grid cell.
#[derive(Clone, Debug)]
pub struct Cell {
    /// The shared configuration (every key but `seed`).
    pub config: Map<String, Value>,
    /// Indices into the run list.
    pub runs: Vec<usize>,
    /// `key=value` over the swept axes, or "all runs" if nothing is swept.
    pub label: String,
}

impl Cell {
    /// The cell's value on `axis`, as shown in tables ("0.05", "sinh").
    pub fn value(&self, axis: &str) -> String {
        self.config.get(axis).map(show).unwrap_or_default()
    }

    /// The cell's numeric value on `axis`, if it is a number.
    pub fn number(&self, axis: &str) -> Option<f64> {
        self.config.get(axis).and_then(Value::as_f64)
    }
}

/// The cells of a dataset and the axes along which they differ.
#[derive(Clone, Debug)]
pub struct Grid {
    pub cells: Vec<Cell>,
    /// Configuration keys with more than one value across cells, in key order.
    pub swept: Vec<String>,
    /// The cell of each run (an index into `cells`).
    pub run_cell: Vec<usize>,
}

/// A JSON value as text: strings bare, numbers in their shortest form.
pub fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "none".into(),
        v => v.to_string(),
    }
}

/// Numbers by value, everything else by its text.
fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a.and_then(Value::as_f64), b.and_then(Value::as_f64)) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        _ => a.map(show).cmp(&b.map(show)),
    }
}

impl Grid {
    pub fn of(runs: &[Run]) -> Self {
        // Runs of one cell share their configuration map (see `runs`).
        let mut by_key: BTreeMap<String, Cell> = BTreeMap::new();
        let mut key_of: HashMap<*const Map<String, Value>, String> = HashMap::new();
        for (i, run) in runs.iter().enumerate() {
            let key = key_of
                .entry(Arc::as_ptr(&run.cell_config))
                .or_insert_with(|| serde_json::to_string(&*run.cell_config).unwrap_or_default());
            match by_key.get_mut(key.as_str()) {
                Some(cell) => cell.runs.push(i),
                None => {
                    let cell = Cell {
                        config: (*run.cell_config).clone(),
                        runs: vec![i],
                        label: String::new(),
                    };
                    by_key.insert(key.clone(), cell);
                }
            }
        }
        let mut cells: Vec<Cell> = by_key.into_values().collect();
        let keys: std::collections::BTreeSet<&String> =
            cells.iter().flat_map(|c| c.config.keys()).collect();
        let swept: Vec<String> = keys
            .into_iter()
            .filter(|k| {
                let first = cells[0].config.get(*k);
                cells.iter().any(|c| c.config.get(*k) != first)
            })
            .cloned()
            .collect();
        cells.sort_by(|a, b| {
            swept
                .iter()
                .map(|k| compare(a.config.get(k), b.config.get(k)))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
        for c in &mut cells {
            c.label = if swept.is_empty() {
                "all runs".into()
            } else {
                swept
                    .iter()
                    .map(|k| format!("{k}={}", c.value(k)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
        }
        let mut run_cell = vec![0; runs.len()];
        for (c, cell) in cells.iter().enumerate() {
            for &r in &cell.runs {
                run_cell[r] = c;
            }
        }
        Self {
            cells,
            swept,
            run_cell,
        }
    }

    /// Swept axes whose values are all numbers, with their distinct values,
    /// most distinct first (the default axes of a heatmap).
    pub fn numeric_axes(&self) -> Vec<(String, Vec<f64>)> {
        let mut axes: Vec<(String, Vec<f64>)> = self
            .swept
            .iter()
            .filter_map(|k| {
                let mut v: Vec<f64> = self
                    .cells
                    .iter()
                    .map(|c| c.number(k))
                    .collect::<Option<_>>()?;
                v.sort_by(f64::total_cmp);
                v.dedup();
                Some((k.clone(), v))
            })
            .collect();
        axes.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
        axes
    }
}
