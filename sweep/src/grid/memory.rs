//! Refusing a grid whose points cannot fit in memory, with the rest of the
//! grid's validation, before anything is written: a point that aborts on
//! allocation would kill the whole sweep every time it is scheduled (the
//! largest points run first), so no other point would ever finish.
//!
//! What must fit is what is in flight at once. Each worker thread holds one
//! work item, a run or a lane group of up to [`LANES`] runs of one shape
//! (lanes.rs), and the writer holds finished runs' trajectories until it
//! writes them. Points run largest cost first, so the worker threads may
//! all hold the largest points together. A point is refused unless
//! `(threads + 1) × its item's estimate` fits the budget: one item per
//! worker thread (threads beyond the grid's points count as idle) and one
//! more for what the writer holds. A point too large
//! for that but not for fewer threads fits with a smaller `--threads`.

use super::Grid;
use crate::error::GridError;
use sharpsweep_core::RunConfig;
use sharpsweep_core::curvature::HessianMethod;
use sharpsweep_core::lanes::{LANES, LaneKey};
use sharpsweep_core::memory::{Budget, human_bytes};

/// What a point's memory estimate depends on: points that agree on it are
/// checked once.
pub(super) type Shape = (
    (usize, usize, usize, usize, Option<(HessianMethod, usize)>),
    (usize, Option<u64>, u64, bool),
);

pub(super) fn shape(c: &RunConfig) -> Shape {
    let hessian = c.hessian_options().map(|h| (h.method, h.top_k));
    (
        (c.m, c.d, c.n, c.batch(), hessian),
        (
            c.log_points,
            c.log_every,
            c.steps,
            LaneKey::of(c).gains_from_lanes(),
        ),
    )
}

/// The worker threads a sweep with `--threads requested` runs, counted as
/// rayon counts them: the request, else `RAYON_NUM_THREADS`, else every core.
pub fn worker_threads(requested: Option<usize>) -> usize {
    requested
        .filter(|&t| t > 0)
        .or_else(|| {
            std::env::var("RAYON_NUM_THREADS")
                .ok()?
                .parse()
                .ok()
                .filter(|&t| t > 0)
        })
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

impl Grid {
    /// Refuses the grid when a point, held by each of `threads` workers at
    /// once and by the writer (module doc), does not fit `budget`; the error
    /// names the point's largest memory term as `grid[T].key` and the point.
    pub fn check_memory(&self, budget: Budget, threads: usize) -> Result<(), GridError> {
        // A thread holds a point at most; threads beyond the points idle.
        let threads = threads.min(self.points.len());
        let in_flight = threads.saturating_add(1);
        // Each shape once (the estimate depends on nothing else), at its
        // first point.
        let mut checked = vec![false; self.shapes.len()];
        for p in &self.points {
            if std::mem::replace(&mut checked[p.shape], true) {
                continue;
            }
            let config = self.shape(p);
            let batched = LaneKey::of(config).gains_from_lanes();
            let lanes = if batched { LANES } else { 1 };
            let at = |key: &str| format!("grid[{}].{key}", p.table);
            let e = config.memory_estimate(lanes).map_err(|e| {
                let key = e.field().unwrap_or("m");
                let message = e.to_string();
                let message = message
                    .strip_prefix(&format!("{key}: "))
                    .unwrap_or(&message);
                GridError::new(at(key), message).at_point(p.index)
            })?;
            let needed = e.bytes.saturating_mul(in_flight as u64);
            if budget.fits(needed) {
                continue;
            }
            let item = if batched {
                format!("per lane group of {LANES} runs")
            } else {
                "per run".into()
            };
            return Err(GridError::new(
                at(e.largest.keys[0].0),
                format!(
                    "{} needs ~{} {item}, ~{} for the {in_flight} in flight \
                     ({threads} worker threads and the writer); {budget}",
                    e.largest.describe(|k, v| format!("{k} = {v}")),
                    human_bytes(e.bytes),
                    human_bytes(needed),
                ),
            )
            .at_point(p.index));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(text: &str) -> Grid {
        Grid::from_toml(text, &[]).unwrap()
    }

    #[test]
    fn an_oversized_point_is_refused_naming_its_key_and_index() {
        let g = grid("[[grid]]\nalgorithm = \"sam\"\nm = [10, 20, 1000000000]\n");
        let e = g.check_memory(Budget::MaxMemory(1 << 30), 1).unwrap_err();
        assert_eq!(e.point, Some(2), "{e}");
        assert!(e.at.starts_with("grid[0]."), "{e}");
        assert!(e.message.contains("m = 1000000000"), "{e}");
        assert!(e.message.contains("allowed by --max-memory"), "{e}");
        assert!(g.check_memory(Budget::Unlimited, 64).is_ok());
    }

    #[test]
    fn the_budget_covers_every_worker_thread_and_the_writer() {
        let g = grid("[[grid]]\nalgorithm = \"sam\"\nm = 20000\nd = 50\nseeds = 4\n");
        let one = g.shape(&g.points[0]).memory_estimate(1).unwrap().bytes;
        let budget = Budget::MaxMemory(3 * one);
        assert!(g.check_memory(budget, 2).is_ok());
        let e = g.check_memory(budget, 3).unwrap_err();
        assert!(e.message.contains("4 in flight (3 worker threads"), "{e}");
    }

    #[test]
    fn lane_groups_count_every_lane() {
        // Label noise at (10, 3, 3) batches: a group of 8 runs is one item.
        let g = grid("[[grid]]\nseeds = 8\n");
        let run = g.shape(&g.points[0]).memory_estimate(1).unwrap().bytes;
        let group = g.shape(&g.points[0]).memory_estimate(LANES).unwrap().bytes;
        assert!(group > LANES as u64 * run);
        let e = g.check_memory(Budget::MaxMemory(2 * run), 1).unwrap_err();
        assert!(e.message.contains("per lane group of 8 runs"), "{e}");
        assert!(g.check_memory(Budget::MaxMemory(2 * group), 1).is_ok());
    }

    #[test]
    fn threads_follow_the_request_and_idle_ones_hold_nothing() {
        assert_eq!(worker_threads(Some(3)), 3);
        assert!(worker_threads(None) >= 1);
        let g = grid("[[grid]]\nalgorithm = \"sam\"\nm = 20000\nd = 50\n");
        let one = g.shape(&g.points[0]).memory_estimate(1).unwrap().bytes;
        assert!(g.check_memory(Budget::MaxMemory(2 * one), 100_000).is_ok());
    }
}
