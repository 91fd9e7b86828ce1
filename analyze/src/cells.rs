//! Cells cells: runs that share every configuration key except `seed`, so a
//! cell's runs are the seeds of one experiment.

use crate::runs::{Run, show};
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
    /// `key=value` over the swept axes that apply to the cell (see
    /// [`Cell::applies`]), or "all runs" if nothing is swept.
    pub label: String,
    /// The cell's id (the contract's [`cell_id`]): the runs table's `cell`.
    pub id: String,
    /// The `[[grid]]` table (0-based) its runs come from, where the dataset
    /// says (the first, should seeds of one configuration span tables).
    pub table: Option<usize>,
}

impl Cell {
    /// The cell's value on `axis`, as shown in tables ("0.05", "sinh");
    /// a run without a `schedule` has the constant one.
    pub fn value(&self, axis: &str) -> String {
        match self.config.get(axis) {
            Some(v) => show(v),
            None if axis == "schedule" => "constant".into(),
            None => String::new(),
        }
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

    /// Whether the configuration key `key` means anything for this cell:
    /// the keys of one dynamics (σ and B of label noise, ρ of SAM, h of the
    /// flow, …) or of one activation (β, α) are carried, unused, by the
    /// others, and a label that showed them would only add noise.
    pub fn applies(&self, key: &str) -> bool {
        let activation = |name: &str| {
            self.config
                .get("activation")
                .and_then(Value::as_str)
                .is_none_or(|a| a == name)
        };
        match key {
            "sigma" | "noise" | "batch_size" => self.algorithm() == "label-noise",
            // End values mean something only under a schedule.
            "eta_end" => self.config.contains_key("schedule"),
            "sigma_end" => {
                self.config.contains_key("schedule") && self.algorithm() == "label-noise"
            }
            "rho" => self.algorithm() == "sam",
            "flow_h" | "flow_tol" => self.algorithm() == "flow",
            "loss_scaled_lr" => self.algorithm() == "margin",
            "outer" => self.algorithm() != "margin",
            "beta" => activation("cubic-linear"),
            "alpha" => activation("leaky-relu"),
            _ => true,
        }
    }
}

/// Cells shown under one heading: a `[[grid]]` table's, or one dynamics'
/// when the dataset does not say which table a run came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// What the cells share ("" when the cells are not grouped).
    pub title: String,
    pub cells: Vec<usize>,
}

/// Keys that set a run's budget or what it records, not the experiment:
/// never an axis of a default figure.
const BUDGET: [&str; 8] = [
    "steps",
    "log_points",
    "log_every",
    "hessian",
    "diverge_loss",
    "cluster_tol",
    "flow_tol",
    "init",
];

/// Whether `key` is an axis of the experiment (not a budget key).
pub fn is_parameter(key: &str) -> bool {
    !BUDGET.contains(&key)
}

/// initialisation), whatever their dynamics.
pub const PROBLEM: [&str; 10] = [
    "activation",
    "beta",
    "alpha",
    "m",
    "d",
    "n",
    "data",
    "labels",
    "init",
    "init_scale",
];

/// Whether two cells train the same network on the same data from the same
/// initialisation (replicate seeds then share their draws).
pub fn same_problem(a: &Cell, b: &Cell) -> bool {
    PROBLEM.iter().all(|k| a.config.get(*k) == b.config.get(*k))
}

/// The cells of one dynamics (`algorithm`).
pub fn cells_of_algorithm(grid: &Cells, algorithm: &str) -> Vec<usize> {
    (0..grid.cells.len())
        .filter(|&c| grid.cells[c].algorithm() == algorithm)
        .collect()
}

/// How a figure that chooses its own cells picks them from the grid.
pub type CellChoice = fn(&Cells) -> Vec<usize>;

/// The cells of a dataset and the axes along which they differ.
#[derive(Clone, Debug)]
pub struct Cells {
    pub cells: Vec<Cell>,
    /// Configuration keys with more than one value across cells, in key order.
    pub swept: Vec<String>,
    /// The cell of each run (an index into `cells`).
    pub run_cell: Vec<usize>,
}

/// A configuration key as a figure shows it.
pub fn symbol(key: &str) -> &str {
    match key {
        "eta" => "η",
        "sigma" => "σ",
        "eta_end" => "η_end",
        "sigma_end" => "σ_end",
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

/// `key=value` as a figure shows it: η, σ, ρ by their symbols, numbers in
/// four significant digits.
pub fn short_pair(cell: &Cell, key: &str) -> String {
    let value = cell.number(key).map_or_else(|| cell.value(key), compact);
    format!("{}={value}", symbol(key))
}

/// Numbers by value, everything else by its text.
fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a.and_then(Value::as_f64), b.and_then(Value::as_f64)) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        _ => a.map(show).cmp(&b.map(show)),
    }
}

impl Cells {
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
                        table: None,
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
            c.table = c.runs.iter().filter_map(|&r| runs[r].table).min();
        }
        let mut run_cell = vec![0; runs.len()];
        for (c, cell) in cells.iter().enumerate() {
            for &r in &cell.runs {
                run_cell[r] = c;
            }
        }
        let mut grid = Self {
            cells,
            swept,
            run_cell,
        };
        let all: Vec<usize> = (0..grid.cells.len()).collect();
        let labels = grid.labels_with(&all, "all runs", |cell, k| format!("{k}={}", cell.value(k)));
        for (cell, label) in grid.cells.iter_mut().zip(labels) {
            cell.label = label;
        }
        grid
    }

    /// The keys whose values differ among `cells`.
    fn varying(&self, cells: &[usize]) -> Vec<&String> {
        self.swept
            .iter()
            .filter(|k| {
                let first = cells.first().and_then(|&c| self.cells[c].config.get(*k));
                cells.iter().any(|&c| self.cells[c].config.get(*k) != first)
            })
            .collect()
    }

    /// Labels of `cells`: `pair(cell, key)` over the keys whose values
    /// differ among them and that apply to the cell, joined by ", ";
    /// `fallback` where that leaves nothing.
    fn labels_with(
        &self,
        cells: &[usize],
        fallback: &str,
        pair: impl Fn(&Cell, &str) -> String,
    ) -> Vec<String> {
        let keys = self.varying(cells);
        cells
            .iter()
            .map(|&c| {
                let cell = &self.cells[c];
                let shown: Vec<String> = keys
                    .iter()
                    .filter(|k| cell.applies(k))
                    .map(|k| pair(cell, k))
                    .collect();
                if shown.is_empty() {
                    fallback.to_string()
                } else {
                    shown.join(", ")
                }
            })
            .collect()
    }

    /// Short labels of `cells` for a figure or table: `key=value` over only
    /// the keys whose values differ among them and that apply to the cell
    /// (η, σ, ρ by their symbols, numbers in four significant digits,
    /// 100000000 as 1e8), or `fallback` where that leaves nothing.
    pub fn short_labels(&self, cells: &[usize], fallback: &str) -> Vec<String> {
        self.labels_with(cells, fallback, short_pair)
    }

    /// `cells` under headings: by `[[grid]]` table where the dataset says
    /// which table a run came from (cells it does not say for last), else
    /// by dynamics when there are several, else one group without a title.
    /// A group's title is the table or dynamics and the values its cells
    /// share of the keys swept across the dataset.
    pub fn groups(&self, cells: &[usize]) -> Vec<Group> {
        let by_table = cells.iter().any(|&c| self.cells[c].table.is_some());
        let algorithms: std::collections::BTreeSet<&str> =
            cells.iter().map(|&c| self.cells[c].algorithm()).collect();
        if !by_table && algorithms.len() < 2 {
            return vec![Group {
                title: String::new(),
                cells: cells.to_vec(),
            }];
        }
        let mut groups: BTreeMap<(usize, String), Vec<usize>> = BTreeMap::new();
        for &c in cells {
            let cell = &self.cells[c];
            let key = if by_table {
                (cell.table.unwrap_or(usize::MAX), String::new())
            } else {
                (0, cell.algorithm().to_string())
            };
            groups.entry(key).or_default().push(c);
        }
        groups
            .into_iter()
            .map(|((table, algorithm), cells)| {
                let name = match (by_table, table) {
                    (false, _) => algorithm,
                    (true, usize::MAX) => "runs of no known [[grid]] table".into(),
                    (true, t) => format!("[[grid]] table {t}"),
                };
                let varying = self.varying(&cells);
                let first = &self.cells[cells[0]];
                let shared: Vec<String> = self
                    .swept
                    .iter()
                    .filter(|k| !varying.contains(k) && first.applies(k))
                    // What it records is not what the experiment is.
                    .filter(|k| is_parameter(k) || *k == "steps")
                    .map(|k| short_pair(first, k))
                    .collect();
                let title = if shared.is_empty() {
                    name
                } else {
                    format!("{name}: {}", shared.join(", "))
                };
                Group { title, cells }
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
    use super::{Cells, compact};
    use crate::runs::Run;
    use serde_json::json;

    /// A schedule is a configuration key like any other: swept, it labels
    /// the cells, a run without one reads as `constant`, and the end
    /// values label only the cells that have a schedule.
    #[test]
    fn schedules_label_their_cells_and_constant_runs_read_as_constant() {
        let runs = [
            json!({"algorithm": "label-noise", "eta": 0.05}),
            json!({"algorithm": "label-noise", "eta": 0.05, "schedule": "cosine",
                   "eta_end": 0.01, "sigma_end": 0.3}),
        ]
        .map(Run::of);
        let grid = Cells::of(&runs);
        assert_eq!(grid.swept, ["eta_end", "schedule", "sigma_end"]);
        let mut labels: Vec<&str> = grid.cells.iter().map(|c| c.label.as_str()).collect();
        labels.sort_unstable();
        assert_eq!(
            labels,
            [
                "eta_end=0.01, schedule=cosine, sigma_end=0.3",
                "schedule=constant"
            ]
        );
    }

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
