//! Grid cells: runs that share every configuration key except `seed`, so a
//! cell's runs are the seeds of one experiment.

use crate::runs::Run;
use serde_json::{Map, Value};
use sharpsweep_dataset::schema::cell_id;
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
    /// The cell's id (the contract's [`cell_id`]): the runs table's `cell`.
    pub id: String,
}

impl Cell {
    /// The cell's value on `axis`, as shown in tables ("0.05", "sinh").
    pub fn value(&self, axis: &str) -> String {
        self.config.get(axis).map(show).unwrap_or_default()
    }

    /// The cell's dynamics (`label-noise` when the configuration predates
    /// the key).
    pub fn algorithm(&self) -> &str {
        self.config
            .get("algorithm")
            .and_then(Value::as_str)
            .unwrap_or("label-noise")
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

/// A configuration key as a figure shows it.
pub fn symbol(key: &str) -> &str {
    match key {
        "eta" => "η",
        "sigma" => "σ",
        "rho" => "ρ",
        "alpha" => "α",
        "beta" => "β",
        "batch_size" => "B",
        k => k,
    }
}

/// A number in at most four significant digits: 0.1732, 0.05, 5000, 2e7.
pub fn compact(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let e = a.log10().floor() as i32;
    if (-3..5).contains(&e) {
        let digits = (3 - e).max(0) as usize;
        let s = format!("{v:.digits$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        let mant = v / 10f64.powi(e);
        let m = format!("{mant:.3}");
        let m = m.trim_end_matches('0').trim_end_matches('.');
        format!("{m}e{e}")
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
                        id: cell_id(&run.cell_config),
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

    /// Short labels of `cells` for a figure: `key=value` over only the keys
    /// whose values differ among them (η, σ, ρ by their symbols, numbers in
    /// four significant digits, 100000000 as 1e8), or `fallback` for a
    /// single cell.
    pub fn short_labels(&self, cells: &[usize], fallback: &str) -> Vec<String> {
        let keys: Vec<&String> = self
            .swept
            .iter()
            .filter(|k| {
                let first = cells.first().and_then(|&c| self.cells[c].config.get(*k));
                cells.iter().any(|&c| self.cells[c].config.get(*k) != first)
            })
            .collect();
        cells
            .iter()
            .map(|&c| {
                if keys.is_empty() {
                    return fallback.to_string();
                }
                let cell = &self.cells[c];
                keys.iter()
                    .map(|k| {
                        let value = cell.number(k).map_or_else(|| cell.value(k), compact);
                        format!("{}={value}", symbol(k))
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .collect()
    }

    /// Swept axes whose values are all numbers across `cells`, with their
    /// distinct values there, most distinct first (the default axes of a
    /// heatmap); axes with one value in `cells` are left out.
    pub fn numeric_axes(&self, cells: &[usize]) -> Vec<(String, Vec<f64>)> {
        let mut axes: Vec<(String, Vec<f64>)> = self
            .swept
            .iter()
            .filter_map(|k| {
                let mut v: Vec<f64> = cells
                    .iter()
                    .map(|&c| self.cells[c].number(k))
                    .collect::<Option<_>>()?;
                v.sort_by(f64::total_cmp);
                v.dedup();
                (v.len() > 1).then(|| (k.clone(), v))
            })
            .collect();
        axes.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
        axes
    }
}

#[cfg(test)]
mod tests {
    use super::compact;

    #[test]
    fn figure_numbers_are_compact() {
        let shown: Vec<String> = [
            0.17320508075688773,
            0.05,
            5000.0,
            2e7,
            1e8,
            1.5e-4,
            32.0,
            -0.25,
        ]
        .into_iter()
        .map(compact)
        .collect();
        assert_eq!(
            shown,
            [
                "0.1732", "0.05", "5000", "2e7", "1e8", "1.5e-4", "32", "-0.25"
            ]
        );
    }
}
