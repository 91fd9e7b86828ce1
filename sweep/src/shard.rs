//! Splitting a grid's points into disjoint shards of about equal cost, the
//! same way in every process: a job-array task, an MPI rank and a rerun all
//! compute the same assignment from the same points, with no communication.
//!
//! The assignment is the greedy "longest processing time first" rule: points
//! sorted by decreasing cost (ties by run_id), each given to the shard with
//! the least cost so far (ties to the lowest shard). Its makespan is within
//! 4/3 of the optimum.

use crate::error::{Result, SweepError};
use crate::grid::cost;
use sharpsweep_core::{RunConfig, RunId};
use std::fmt;
use std::str::FromStr;

/// The `index`-th of `count` shards (`--shard K/N`, K counted from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The whole grid.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    pub fn new(index: usize, count: usize) -> Result<Shard> {
        if count == 0 || index >= count {
            return Err(SweepError::Refused(format!(
                "--shard: {index}/{count} is not a shard (need 0 <= K < N)"
            )));
        }
        Ok(Shard { index, count })
    }

    /// Shard `index` of `count` within this shard: splitting shard K/N
    /// among R ranks gives shards K·R + r of N·R.
    pub fn split(self, index: usize, count: usize) -> Shard {
        Shard {
            index: self.index * count + index,
            count: self.count * count,
        }
    }

    pub fn is_all(self) -> bool {
        self.count == 1
    }

    /// The positions in `configs` (whose run_ids are `ids`) that belong to
    /// this shard, largest cost first: the order a process should run them in.
    pub fn select(self, ids: &[RunId], configs: &[RunConfig]) -> Vec<usize> {
        let mut order: Vec<usize> = (0..configs.len()).collect();
        let costs: Vec<f64> = configs.iter().map(cost).collect();
        order.sort_by(|&a, &b| costs[b].total_cmp(&costs[a]).then(ids[a].cmp(&ids[b])));
        let mut load = vec![0.0_f64; self.count];
        let mut mine = Vec::new();
        for i in order {
            let least = (0..self.count)
                .min_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b)))
                .expect("at least one shard");
            load[least] += costs[i];
            if least == self.index {
                mine.push(i);
            }
        }
        mine
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = SweepError;
    /// `K/N`, e.g. `3/8`.
    fn from_str(s: &str) -> Result<Shard> {
        let bad = || SweepError::Refused(format!("--shard: expected K/N (e.g. 0/4), got '{s}'"));
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k = k.trim().parse().map_err(|_| bad())?;
        let n = n.trim().parse().map_err(|_| bad())?;
        Shard::new(k, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(g: &[RunConfig]) -> Vec<RunId> {
        g.iter().map(RunConfig::run_id).collect()
    }

    fn grid() -> Vec<RunConfig> {
        let mut v = Vec::new();
        for (i, steps) in [10, 2000, 50, 700, 700, 3, 90, 1200, 40, 5]
            .iter()
            .enumerate()
        {
            v.push(RunConfig {
                steps: *steps,
                seed: i as u64,
                ..Default::default()
            });
        }
        v
    }

    #[test]
    fn shards_partition_the_grid_largest_first() {
        let g = grid();
        for n in 1..5 {
            let mut seen: Vec<usize> = Vec::new();
            for k in 0..n {
                let mine = Shard::new(k, n).unwrap().select(&ids(&g), &g);
                let costs: Vec<f64> = mine.iter().map(|&i| cost(&g[i])).collect();
                assert!(costs.windows(2).all(|w| w[0] >= w[1]), "{costs:?}");
                seen.extend(mine);
            }
            seen.sort();
            assert_eq!(seen, (0..g.len()).collect::<Vec<_>>(), "n = {n}");
        }
    }

    #[test]
    fn shards_have_balanced_cost() {
        let g = grid();
        let total: f64 = g.iter().map(cost).sum();
        let largest = g.iter().map(cost).fold(0.0, f64::max);
        let loads: Vec<f64> = (0..2)
            .map(|k| {
                let s = Shard::new(k, 2).unwrap();
                s.select(&ids(&g), &g).iter().map(|&i| cost(&g[i])).sum()
            })
            .collect();
        // LPT: no shard exceeds the mean by more than the largest point.
        for l in &loads {
            assert!(*l <= total / 2.0 + largest, "{loads:?}");
        }
    }

    #[test]
    fn shard_flags_parse_and_refuse_nonsense() {
        assert_eq!(
            "2/8".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 8 }
        );
        for bad in ["8/8", "1", "a/2", "1/0", "-1/2"] {
            let e = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(e.starts_with("--shard:"), "{e}");
        }
        assert_eq!(
            Shard::new(1, 2).unwrap().split(1, 3),
            Shard { index: 4, count: 6 }
        );
    }
}
