//! The order of a process's work: its pending points, largest cost first,
//! as single items and lane groups (lanes.rs) that draw their runs from one
//! [`Queue`] per [`LaneKey`].
//!
//! Grouping follows cost. Points arrive largest cost first (shard.rs) and
//! queues hand them out in that order, so runs of similar length share a
//! group. A key gets as many groups as it would fill at the group size,
//! which is small enough that there are at least as many items as worker
//! threads (a single group of every run would leave the other threads
//! idle), but not below [`MIN_GROUP`] runs, under which a lane group is no
//! faster than its runs stepped one by one. Items run largest cost first.

use crate::grid::cost;
use sharpsweep_core::lanes::{LANES, LaneKey, MIN_LANES};
use sharpsweep_core::{RunConfig, RunId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The fewest runs worth a lane group: [`MIN_LANES`]. At (10, 3, 3) on one
/// quiet core (`step_rate 10 3 3 2000000 RUNS`, docs/performance.md), one
/// run alone makes 15.2 M steps/s, and a group of 4, 5, 6 and 8 runs 13.0,
/// 16.1, 16.9 and 22.3 M run-steps/s, so a group beats stepping its runs
/// one by one from 5 runs on.
pub const MIN_GROUP: usize = MIN_LANES;

/// What a worker takes at a time.
#[derive(Debug, PartialEq)]
pub enum Item<'a> {
    Single(RunId, &'a RunConfig),
    /// A lane group with a place for each run of its `share` of
    /// `Work::queues[queue]` (the runs it would hold if none ended early),
    /// filled and refilled from the whole queue; `cost` is what its share
    /// costs.
    Group {
        queue: usize,
        share: std::ops::Range<usize>,
        cost: f64,
    },
}

impl Item<'_> {
    /// The steps·m·d·B of the item's runs.
    fn cost(&self) -> f64 {
        match self {
            Item::Single(_, c) => cost(c),
            Item::Group { cost, .. } => *cost,
        }
    }
}

/// The pending runs of one [`LaneKey`], largest cost first, handed out
/// once each to the key's lane groups.
#[derive(Debug)]
pub struct Queue<'a> {
    runs: Vec<(RunId, &'a RunConfig)>,
    next: AtomicUsize,
}

impl<'a> Queue<'a> {
    pub fn runs(&self) -> &[(RunId, &'a RunConfig)] {
        &self.runs
    }

    /// The next pending run, if any.
    pub(crate) fn take(&self) -> Option<(RunId, &'a RunConfig)> {
        self.runs
            .get(self.next.fetch_add(1, Ordering::Relaxed))
            .copied()
    }
}

/// A process's work: the items in the order to take them, and the queues
/// their groups draw runs from.
#[derive(Debug)]
pub struct Work<'a> {
    pub items: Vec<Item<'a>>,
    pub queues: Vec<Queue<'a>>,
}

/// The work of `todo` (largest cost first) for `workers` threads. With
/// `batched` false, every point is a single item.
pub fn work<'a>(todo: &[(RunId, &'a RunConfig)], workers: usize, batched: bool) -> Work<'a> {
    let mut items = Vec::new();
    // Batchable points by key, in order of first appearance.
    let mut keys: HashMap<LaneKey, usize> = HashMap::new();
    let mut by_key: Vec<Vec<(RunId, &RunConfig)>> = Vec::new();
    // The last point's configuration, key and group (None: not batched):
    // neighbouring points mostly share their key, and a dry run's their
    // configuration (`Grid::shape`).
    let mut last: Option<(&RunConfig, LaneKey, Option<usize>)> = None;
    for &(id, config) in todo {
        let group = match last {
            Some((c, _, g)) if std::ptr::eq(c, config) => g,
            _ => {
                let key = LaneKey::of(config);
                let g = (batched && key.gains_from_lanes()).then(|| match last {
                    Some((_, k, Some(g))) if k == key => g,
                    _ => *keys.entry(key).or_insert_with(|| {
                        by_key.push(Vec::new());
                        by_key.len() - 1
                    }),
                });
                last = Some((config, key, g));
                g
            }
        };
        match group {
            Some(g) => by_key[g].push((id, config)),
            None => items.push(Item::Single(id, config)),
        }
    }
    let batchable: usize = by_key.iter().map(Vec::len).sum();
    let size = batchable.div_ceil(workers.max(1)).clamp(1, LANES);
    let mut queues = Vec::new();
    for runs in by_key {
        // The key's runs cut into contiguous groups of about `size`: the
        // groups' places, and the runs each would hold if none ended early.
        let count = runs.len().div_ceil(size);
        let (base, extra) = (runs.len() / count, runs.len() % count);
        let mut queued = Vec::with_capacity(runs.len());
        let mut rest = &runs[..];
        for g in 0..count {
            let (group, tail) = rest.split_at(base + usize::from(g < extra));
            rest = tail;
            if group.len() >= MIN_GROUP {
                items.push(Item::Group {
                    queue: queues.len(),
                    share: queued.len()..queued.len() + group.len(),
                    cost: group.iter().map(|(_, c)| cost(c)).sum(),
                });
                queued.extend_from_slice(group);
            } else {
                items.extend(group.iter().map(|&(id, c)| Item::Single(id, c)));
            }
        }
        if !queued.is_empty() {
            queues.push(Queue {
                runs: queued,
                next: AtomicUsize::new(0),
            });
        }
    }
    items.sort_by(|a, b| b.cost().total_cmp(&a.cost()));
    Work { items, queues }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use sharpsweep_core::AlgorithmName;

    /// A label-noise point of m neurons and `steps` steps.
    pub(crate) fn point(m: usize, steps: u64, seed: u64) -> RunConfig {
        RunConfig {
            m,
            steps,
            seed,
            ..Default::default()
        }
    }

    /// Points with their run ids.
    pub(crate) fn todo(configs: &[RunConfig]) -> Vec<(RunId, &RunConfig)> {
        configs.iter().map(|c| (c.run_id(), c)).collect()
    }

    /// The sizes of the items, as (group places) or 1 for a single.
    fn sizes(work: &Work) -> Vec<usize> {
        work.items
            .iter()
            .map(|i| match i {
                Item::Single(..) => 1,
                Item::Group { share, .. } => share.len(),
            })
            .collect()
    }

    #[test]
    fn every_point_is_in_exactly_one_single_item_or_queue_and_queues_share_a_key() {
        let mut configs: Vec<RunConfig> = (0..40)
            .map(|i| point(10 + (i % 3) as usize, 1000 + 10 * i, i))
            .collect();
        configs[5].algorithm = AlgorithmName::Sam;
        configs[6].algorithm = AlgorithmName::Flow;
        // As the engine hands them over: largest cost first.
        configs.sort_by(|a, b| cost(b).total_cmp(&cost(a)));
        let todo = todo(&configs);
        for workers in [1, 2, 3, 16] {
            let work = work(&todo, workers, true);
            let mut seen: Vec<RunId> = Vec::new();
            for item in &work.items {
                match item {
                    Item::Single(id, _) => seen.push(*id),
                    Item::Group { queue, share, .. } => {
                        assert!((MIN_GROUP..=LANES).contains(&share.len()));
                        assert!(share.end <= work.queues[*queue].runs().len());
                    }
                }
            }
            for q in &work.queues {
                let key = LaneKey::of(q.runs()[0].1);
                assert!(q.runs().iter().all(|(_, c)| LaneKey::of(c) == key));
                assert!(key.gains_from_lanes());
                let costs: Vec<f64> = q.runs().iter().map(|(_, c)| cost(c)).collect();
                assert!(costs.windows(2).all(|w| w[0] >= w[1]), "largest first");
                seen.extend(q.runs().iter().map(|(id, _)| *id));
            }
            seen.sort();
            let mut want: Vec<RunId> = todo.iter().map(|(id, _)| *id).collect();
            want.sort();
            assert_eq!(seen, want, "{workers} workers");
            let costs: Vec<f64> = work.items.iter().map(Item::cost).collect();
            assert!(costs.windows(2).all(|w| w[0] >= w[1]), "largest first");
            for c in configs
                .iter()
                .filter(|c| c.algorithm != AlgorithmName::LabelNoise)
            {
                assert!(
                    work.items.contains(&Item::Single(c.run_id(), c)),
                    "not label noise"
                );
            }
        }
    }

    #[test]
    fn groups_are_full_when_there_are_enough_points_for_every_thread() {
        let mut configs: Vec<RunConfig> = (0..256).map(|i| point(10, 1000, i)).collect();
        configs.sort_by_key(|c| c.run_id());
        let work = work(&todo(&configs), 2, true);
        assert_eq!(sizes(&work), vec![LANES; 256 / LANES]);
        assert_eq!(work.queues.len(), 1, "one queue for the key");
        // Each group takes the next run of the queue, once.
        let first: Vec<RunId> = (0..3).map(|_| work.queues[0].take().unwrap().0).collect();
        let want: Vec<RunId> = configs[..3].iter().map(RunConfig::run_id).collect();
        assert_eq!(first, want);
    }

    #[test]
    fn few_points_are_split_so_that_no_thread_idles() {
        let configs: Vec<RunConfig> = (0..12).map(|i| point(10, 1000, i)).collect();
        let sizes_for =
            |points: usize, threads| sizes(&work(&todo(&configs[..points]), threads, true));
        // One group of 10 would leave a thread idle; two groups of 5 do not.
        assert_eq!(sizes_for(10, 2), vec![5, 5]);
        assert_eq!(sizes_for(10, 1), vec![5, 5]);
        assert_eq!(sizes_for(12, 2), vec![6, 6]);
        // Groups below MIN_GROUP (4 runs for 3 threads) are not worth it:
        // single runs.
        assert_eq!(sizes_for(12, 3), vec![1; 12]);
    }

    #[test]
    fn unbatched_items_are_the_points_in_their_order() {
        let configs: Vec<RunConfig> = (0..20).map(|i| point(10, 1000 - i, i)).collect();
        let todo = todo(&configs);
        let work = work(&todo, 2, false);
        let want: Vec<Item> = todo.iter().map(|&(id, c)| Item::Single(id, c)).collect();
        assert_eq!(work.items, want);
        assert!(work.queues.is_empty());
    }
}
