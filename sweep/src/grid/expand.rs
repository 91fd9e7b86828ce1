//! From axes to points: the product of each table's groups, times its
//! replicates, every point built and validated as a `RunConfig`.

use super::Point;
use super::keys::Keys;
use super::parse::{Group, SEED, Spec, path};
use crate::error::GridError;
use serde_json::Value as Json;
use sharpsweep_core::{CoreError, RunId};
use std::collections::HashMap;

/// More points than this is almost surely a mistake (and would not fit in
/// memory as a list of configurations).
pub const MAX_POINTS: usize = 10_000_000;

/// The seed of replicate `r` of a grid with base seed `grid_seed`: SplitMix64
/// of `grid_seed ^ (r + 1)·φ` (φ = 0x9e3779b97f4a7c15, the golden ratio in
/// 64 bits). It depends on nothing else, so points that differ only in η or σ
/// share their data, labels and initialisation for the same replicate
/// (common random numbers), and distinct replicates get unrelated streams.
pub fn replicate_seed(grid_seed: u64, replicate: u64) -> u64 {
    const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut z = (grid_seed ^ GOLDEN.wrapping_mul(replicate.wrapping_add(1))).wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Every table's points in file order. Within a table, groups nest in
/// `RunConfig`'s field order (the first field outermost, a zip group where
/// its first field stands) and replicates vary fastest.
pub(crate) fn points(keys: &Keys, grid_seed: u64, specs: &[Spec]) -> Result<Vec<Point>, GridError> {
    let mut total: usize = 0;
    for (t, spec) in specs.iter().enumerate() {
        let size = spec
            .groups
            .iter()
            .try_fold(replicates(spec).len(), |n, g| n.checked_mul(g.len()));
        total = size
            .and_then(|n| total.checked_add(n))
            .filter(|&n| n <= MAX_POINTS)
            .ok_or_else(|| {
                GridError::new(
                    format!("grid[{t}]"),
                    format!("the grid expands to more than {MAX_POINTS} points"),
                )
            })?;
    }
    let mut points: Vec<Point> = Vec::with_capacity(total);
    let mut seen: HashMap<RunId, usize> = HashMap::with_capacity(total);
    for (t, spec) in specs.iter().enumerate() {
        let at = format!("grid[{t}]");
        let mut groups: Vec<&Group> = spec.groups.iter().collect();
        groups.sort_by_key(|g| g.axes.iter().filter_map(|a| keys.position(&a.key)).min());
        let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
        let mut choice = vec![0; groups.len()];
        loop {
            for &replicate in replicates(spec) {
                let index = points.len();
                let seed = Json::from(replicate_seed(grid_seed, replicate));
                let values = groups
                    .iter()
                    .zip(&choice)
                    .flat_map(|(g, &c)| g.axes.iter().map(move |a| (a.key.as_str(), &a.values[c])))
                    .chain([(SEED, &seed)]);
                let config = keys
                    .build(values)
                    .map_err(|e| GridError::new(&at, e).at_point(index))?;
                config
                    .validate()
                    .map_err(|e| invalid(&at, &e).at_point(index))?;
                let run_id = config.run_id();
                if let Some(&first) = seen.get(&run_id) {
                    let first_table = points[first].table;
                    return Err(GridError::new(
                        &at,
                        format!(
                            "duplicate point: the same run (run_id {run_id}) as point {first} of grid[{first_table}]"
                        ),
                    )
                    .at_point(index));
                }
                seen.insert(run_id, index);
                points.push(Point {
                    index,
                    run_id,
                    config,
                    table: t,
                    replicate,
                });
            }
            if !next(&mut choice, &lens) {
                break;
            }
        }
    }
    Ok(points)
}

fn replicates(spec: &Spec) -> &[u64] {
    spec.seeds.as_deref().unwrap_or(&[0])
}

/// Steps `choice` like an odometer, the last digit fastest; false after the last.
fn next(choice: &mut [usize], lens: &[usize]) -> bool {
    for (c, &len) in choice.iter_mut().zip(lens).rev() {
        *c += 1;
        if *c < len {
            return true;
        }
        *c = 0;
    }
    false
}

/// `RunConfig::validate`'s `eta: must be …` as `grid[1].eta: must be …`.
fn invalid(at: &str, e: &CoreError) -> GridError {
    let text = e.to_string();
    match e.field() {
        Some(field) => {
            let message = text.strip_prefix(&format!("{field}: ")).unwrap_or(&text);
            GridError::new(path(at, field), message)
        }
        None => GridError::new(at, text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odometer_visits_the_product_last_digit_fastest() {
        let lens = [2, 3];
        let mut choice = vec![0, 0];
        let mut seen = vec![choice.clone()];
        while next(&mut choice, &lens) {
            seen.push(choice.clone());
        }
        assert_eq!(seen.len(), 6);
        assert_eq!(seen[1], [0, 1]);
        assert_eq!(seen[3], [1, 0]);
        assert!(!next(&mut [], &[]), "no axes: one point");
    }

    #[test]
    fn replicate_seeds_are_fixed_and_distinct() {
        // Pinned: changing the mixing function changes every run_id.
        // Replicate 0 of seed 0 mixes 2φ: the second output of SplitMix64 from 0.
        assert_eq!(replicate_seed(0, 0), 0x6e78_9e6a_a1b9_65f4);
        let seeds: std::collections::HashSet<_> = (0..1000)
            .flat_map(|r| [replicate_seed(0, r), replicate_seed(1, r)])
            .collect();
        assert_eq!(seeds.len(), 2000);
    }
}
