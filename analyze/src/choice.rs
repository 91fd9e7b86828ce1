//! Which cells the figures draw when `--select` does not say: what the
//! dataset was made for. A dataset `sharpsweep reproduce` wrote is shown
//! as \[G24\]'s experiments (label-noise on the paper's uniform data, each
//! setting of the paper a `[[grid]]` table of its own); any other dataset
//! along its most-swept axes, the other keys held at one combination.

use crate::cells::{Cells, is_parameter};
use std::collections::BTreeMap;

/// \[G24\]'s cells: label-noise runs on uniform data (the defaults of a
/// configuration that predates either key).
pub fn paper_cells(grid: &Cells) -> Vec<usize> {
    (0..grid.cells.len())
        .filter(|&c| {
            let cell = &grid.cells[c];
            let data = cell.config.get("data").and_then(|v| v.as_str());
            cell.algorithm() == "label-noise" && data.is_none_or(|d| d == "uniform")
        })
        .collect()
}

/// The per-cell figures' cells of a `reproduce` dataset: those of
/// `selected` that a `[[grid]]` table holds alone (the paper's settings
/// and their stable neighbours; tables sweeping a plane are the heatmap's),
/// in table order, at most `max`; the most-swept axes when there are none.
pub fn paper_figure_cells(grid: &Cells, selected: &[usize], max: usize) -> Vec<usize> {
    let mut per_table: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &c in selected {
        if let Some(t) = grid.cells[c].table {
            per_table.entry(t).or_default().push(c);
        }
    }
    let singles: Vec<usize> = per_table
        .into_values()
        .filter(|cells| cells.len() == 1)
        .flatten()
        .take(max)
        .collect();
    if singles.is_empty() {
        most_swept(grid, selected, max).0
    } else {
        singles
    }
}

/// At most `max` of `cells` along their most-swept axes: the leading axes
/// (most distinct values first) whose value combinations fit in `max`, the
/// other keys at the combination with the most cells (the first of equals);
/// evenly spaced along the axes when one axis alone has more than `max`
/// values. Returns the cells and the axes.
pub fn most_swept(grid: &Cells, cells: &[usize], max: usize) -> (Vec<usize>, Vec<String>) {
    let distinct = |k: &str| {
        let mut v: Vec<String> = cells.iter().map(|&c| grid.cells[c].value(k)).collect();
        v.sort();
        v.dedup();
        v.len()
    };
    let mut axes: Vec<(&String, usize)> = grid
        .swept
        .iter()
        .filter(|k| is_parameter(k))
        .map(|k| (k, distinct(k)))
        .filter(|(_, n)| *n > 1)
        .collect();
    // Stable: equal counts keep key order.
    axes.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let mut chosen: Vec<String> = Vec::new();
    let mut combinations = 1;
    for (k, n) in axes {
        if !chosen.is_empty() && combinations * n > max {
            break;
        }
        chosen.push(k.clone());
        combinations *= n;
    }
    // The cells sharing one value of every other parameter.
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for &c in cells {
        let cell = &grid.cells[c];
        let key: Vec<String> = grid
            .swept
            .iter()
            .filter(|k| is_parameter(k) && !chosen.contains(k))
            .map(|k| cell.value(k))
            .collect();
        let key = key.join("\u{1f}");
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.push(c),
            None => groups.push((key, vec![c])),
        }
    }
    let best = groups
        .into_iter()
        .map(|(_, g)| g)
        .reduce(|a, b| if b.len() > a.len() { b } else { a })
        .unwrap_or_default();
    (evenly(&best, max), chosen)
}

/// `max` of `cells`, evenly spaced from the first to the last.
fn evenly(cells: &[usize], max: usize) -> Vec<usize> {
    let n = cells.len();
    if n <= max {
        return cells.to_vec();
    }
    if max == 1 {
        return vec![cells[0]];
    }
    (0..max)
        .map(|i| cells[(i * (n - 1) + (max - 1) / 2) / (max - 1)])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::Run;
    use serde_json::{Value, json};

    /// A run of `config` from `[[grid]]` table `table`.
    fn run(config: Value, table: usize) -> Run {
        Run {
            table: Some(table),
            ..Run::of(config)
        }
    }

    fn configs(grid: &Cells, cells: &[usize]) -> Vec<Value> {
        cells
            .iter()
            .map(|&c| Value::Object(grid.cells[c].config.clone()))
            .collect()
    }

    /// The shape of grids/reproduce.toml: the paper's six settings, each a
    /// table of its own, an (η, σ) plane, and other dynamics on other data.
    fn reproduce_like() -> Cells {
        let ln = |m: u32, d: u32, n: u32, eta: f64, sigma: f64, steps: u64| {
            json!({"algorithm": "label-noise", "data": "uniform", "m": m, "d": d, "n": n,
                   "eta": eta, "sigma": sigma, "steps": steps, "rho": 0.05, "flow_h": 0.01})
        };
        let mut runs = vec![
            run(ln(10, 3, 3, 0.05, 0.03, 100_000_000), 0),
            run(ln(10, 3, 3, 0.05, 0.1732, 10_000_000), 1),
            run(ln(10, 2, 3, 0.05, 0.2, 100_000), 2),
            run(ln(10, 2, 3, 0.02, 0.2, 10_000_000), 3),
            run(ln(20, 4, 8, 0.1, 0.2, 100_000), 4),
            run(ln(20, 4, 8, 0.01, 0.2, 20_000_000), 5),
        ];
        for eta in [0.01, 0.02, 0.03] {
            for sigma in [0.05, 0.1, 0.2] {
                runs.push(run(ln(10, 3, 3, eta, sigma, 5_000_000), 6));
            }
        }
        runs.push(run(
            json!({"algorithm": "flow", "data": "orthonormal", "m": 10, "d": 3, "n": 3,
                   "eta": 0.01, "sigma": 0.2, "steps": 5000, "rho": 0.05, "flow_h": 0.001}),
            7,
        ));
        for rho in [0.0, 0.05, 0.1] {
            runs.push(run(
                json!({"algorithm": "sam", "data": "orthonormal", "m": 10, "d": 3, "n": 3,
                       "eta": 0.02, "sigma": 0.03, "steps": 300_000, "rho": rho,
                       "flow_h": 0.01}),
                8,
            ));
        }
        Cells::of(&runs)
    }

    #[test]
    fn a_reproduce_dataset_shows_the_papers_settings() {
        let grid = reproduce_like();
        let paper = paper_cells(&grid);
        assert_eq!(paper.len(), 15, "the six settings and the plane");
        let shown = paper_figure_cells(&grid, &paper, 6);
        let tables: Vec<Option<usize>> = shown.iter().map(|&c| grid.cells[c].table).collect();
        assert_eq!(tables, (0..6).map(Some).collect::<Vec<_>>());
        // Figure 1 first: m = 10, d = 3, n = 3, η = 0.05, σ = 0.03.
        assert_eq!(configs(&grid, &shown)[0]["sigma"], json!(0.03));
        // Fewer allowed: the first settings, still no plane cell.
        assert_eq!(paper_figure_cells(&grid, &paper, 2).len(), 2);
    }

    #[test]
    fn other_datasets_are_shown_along_their_most_swept_axes() {
        let grid = reproduce_like();
        let plane: Vec<usize> = (0..grid.cells.len())
            .filter(|&c| grid.cells[c].table == Some(6))
            .collect();
        // Two axes of three values each: 9 > 6, so one axis, the first of
        // equals (eta), at the first sigma.
        let (cells, axes) = most_swept(&grid, &plane, 6);
        assert_eq!(axes, ["eta"]);
        let shown = configs(&grid, &cells);
        assert_eq!(shown.len(), 3);
        assert!(shown.iter().all(|c| c["sigma"] == json!(0.05)));
        let (cells, axes) = most_swept(&grid, &plane, 9);
        assert_eq!((cells.len(), axes), (9, vec!["eta".into(), "sigma".into()]));
        // Steps is a budget, not an axis, even where it varies most.
        let all: Vec<usize> = (0..grid.cells.len()).collect();
        let (_, axes) = most_swept(&grid, &all, 6);
        assert!(!axes.contains(&"steps".to_string()), "{axes:?}");
        // One axis with more values than allowed: evenly spaced, ends kept.
        assert_eq!(evenly(&[0, 1, 2, 3, 4, 5, 6, 7, 8], 3), [0, 4, 8]);
        assert_eq!(evenly(&[0, 1, 2, 3], 6), [0, 1, 2, 3]);
    }

    #[test]
    fn labels_show_the_keys_that_vary_and_apply() {
        let grid = reproduce_like();
        let sam: Vec<usize> = (0..grid.cells.len())
            .filter(|&c| grid.cells[c].algorithm() == "sam")
            .collect();
        // Among the SAM cells only ρ varies.
        assert_eq!(grid.short_labels(&sam, "-"), ["ρ=0", "ρ=0.05", "ρ=0.1"]);
        // Across dynamics: no ρ on label noise, no σ or h on SAM, no ρ or σ
        // on the flow, and nothing that is the same for all.
        let flow = (0..grid.cells.len())
            .find(|&c| grid.cells[c].algorithm() == "flow")
            .unwrap();
        let ln = (0..grid.cells.len())
            .find(|&c| grid.cells[c].table == Some(0))
            .unwrap();
        let labels = grid.short_labels(&[ln, sam[2], flow], "-");
        assert_eq!(
            labels,
            [
                "algorithm=label-noise, data=uniform, η=0.05, σ=0.03, steps=1e8",
                "algorithm=sam, data=orthonormal, η=0.02, ρ=0.1, steps=3e5",
                "algorithm=flow, data=orthonormal, η=0.01, flow_h=0.001, steps=5000",
            ]
        );
        assert!(
            !grid.cells[ln].label.contains("rho"),
            "{}",
            grid.cells[ln].label
        );
        assert!(!grid.cells[sam[0]].label.contains("flow_h"));
        // The summary table groups by [[grid]] table, each titled with what
        // its cells share.
        let groups = grid.groups(&sam);
        assert_eq!(groups.len(), 1);
        assert!(
            groups[0]
                .title
                .starts_with("[[grid]] table 8: algorithm=sam")
        );
        assert!(!groups[0].title.contains("σ"), "{}", groups[0].title);
    }
}
