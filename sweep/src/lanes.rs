//! Batched runs in a sweep: pending label-noise points that share a
//! [`BatchKey`] (activation and its parameter, m, d, n, B) are grouped into
//! work items of up to [`LANES`] runs, each stepped by a [`BatchTrainer`]
//! with the run index as the SIMD lane.
//!
//! Every lane does exactly its own run's operations on its own streams, so
//! a run's rows do not depend on whether, or with which runs, it was
//! grouped: the dataset is bit-identical to the one-run-per-item path, and
//! grouping is free to follow the machine. Each run is still checkpointed,
//! resumed, failed and written on its own, exactly as a single run; a
//! group is rebuilt each session from whatever runs are pending then,
//! fresh or resumed at different steps.
//!
//! Grouping follows cost. Points arrive largest cost first (shard.rs); a
//! key's runs are cut into contiguous groups of about equal size, so a group
//! holds runs of similar length and no lane idles long. Groups are made
//! small enough that there are at least as many items as worker threads
//! (a single group of every run would leave the other threads idle), but
//! not below [`MIN_GROUP`] runs, under which a lane group is no faster
//! than its runs stepped one by one. Items then run largest cost first.

use crate::execute::{InFlight, Message, caught, chunk_steps, run_point};
use crate::grid::cost;
use crate::progress;
use sharpsweep_core::batch::{BatchKey, LANES};
use sharpsweep_core::{BatchTrainer, RunConfig, RunId};
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// The fewest runs worth a lane group. The 8-lane kernel costs nearly the
/// same however many lanes are busy, and the single-run kernel is fast:
/// at (10, 3, 3) on one quiet core (`step_rate 10 3 3 2000000 RUNS`,
/// docs/performance.md), one run alone makes 15.2 M steps/s, and a group of
/// 4, 5, 6 and 8 runs 13.0, 16.1, 16.9 and 22.3 M run-steps/s, so a group
/// beats stepping its runs one by one from 5 runs on.
pub const MIN_GROUP: usize = 5;

/// What a worker takes at a time.
#[derive(Debug, PartialEq)]
pub enum Item<'a> {
    Single(RunId, &'a RunConfig),
    /// Runs of one [`BatchKey`], stepped together.
    Group(Vec<(RunId, &'a RunConfig)>),
}

impl Item<'_> {
    /// The steps·m·d·B of the item's runs.
    fn cost(&self) -> f64 {
        match self {
            Item::Single(_, c) => cost(c),
            Item::Group(runs) => runs.iter().map(|(_, c)| cost(c)).sum(),
        }
    }
}

/// The work items of `todo` (largest cost first) for `workers` threads,
/// in the order to take them: largest cost first. With `batched` false,
/// every point is a single item.
pub fn items<'a>(todo: &[(RunId, &'a RunConfig)], workers: usize, batched: bool) -> Vec<Item<'a>> {
    let mut items = Vec::new();
    // Batchable points by key, in order of first appearance.
    let mut keys: HashMap<BatchKey, usize> = HashMap::new();
    let mut groups: Vec<Vec<(RunId, &RunConfig)>> = Vec::new();
    for &(id, config) in todo {
        let key = BatchKey::of(config);
        if batched && key.batches() {
            let g = *keys.entry(key).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[g].push((id, config));
        } else {
            items.push(Item::Single(id, config));
        }
    }
    let batchable: usize = groups.iter().map(Vec::len).sum();
    let size = batchable.div_ceil(workers.max(1)).clamp(1, LANES);
    for runs in groups {
        let count = runs.len().div_ceil(size);
        let (base, extra) = (runs.len() / count, runs.len() % count);
        let mut rest = &runs[..];
        for g in 0..count {
            let (group, tail) = rest.split_at(base + usize::from(g < extra));
            rest = tail;
            if group.len() >= MIN_GROUP {
                items.push(Item::Group(group.to_vec()));
            } else {
                items.extend(group.iter().map(|&(id, c)| Item::Single(id, c)));
            }
        }
    }
    items.sort_by(|a, b| b.cost().total_cmp(&a.cost()));
    items
}

/// Trains a group to its end, or to checkpoints when `halted()`, sending
/// each run's message as a single run would (see [`run_point`]) the moment
/// it is known. Returns false once `send` finds the writer gone.
///
/// A panic while stepping the group does not fail every run in it: the
/// runs not yet sent are rerun one by one (from their last checkpoint, if
/// any), where a failing run fails alone, as it would unbatched.
pub(crate) fn run_group(
    runs: &[(RunId, &RunConfig)],
    dir: &Path,
    halted: &dyn Fn() -> bool,
    checkpoint_every: Option<Duration>,
    send: &mut dyn FnMut(Message) -> bool,
) -> bool {
    let mut sent = vec![false; runs.len()];
    let mut send_run = |i: usize, msg| {
        sent[i] = true;
        send(msg)
    };
    if let Ok(open) = caught(|| train_group(runs, dir, halted, checkpoint_every, &mut send_run)) {
        return open;
    }
    for (&(id, config), _) in runs.iter().zip(&sent).filter(|(_, s)| !**s) {
        if !send(run_point(id, config, dir, halted, checkpoint_every)) {
            return false;
        }
    }
    true
}

fn train_group(
    runs: &[(RunId, &RunConfig)],
    dir: &Path,
    halted: &dyn Fn() -> bool,
    checkpoint_every: Option<Duration>,
    send: &mut dyn FnMut(usize, Message) -> bool,
) -> bool {
    let start = Instant::now();
    // This session's wall time, shared equally by the group's runs.
    let share = || start.elapsed().as_secs_f64() / runs.len() as f64;
    let (mut trainers, mut flights, mut index) = (Vec::new(), Vec::new(), Vec::new());
    for (i, &(id, config)) in runs.iter().enumerate() {
        match InFlight::start(id, config, dir) {
            Ok((trainer, run)) => {
                trainers.push(trainer);
                flights.push(Some(run));
                index.push(i);
            }
            Err(e) => {
                if !send(i, Message::failed(config, e, share())) {
                    return false;
                }
            }
        }
    }
    if trainers.is_empty() {
        return true;
    }
    let mut batch =
        BatchTrainer::from_trainers(trainers).expect("a group's runs share one BatchKey");
    let chunk = chunk_steps(runs[0].1, flights.len());
    let mut last_checkpoint = Instant::now();
    loop {
        let before: Vec<u64> = steps_taken(&batch).collect();
        for (i, record) in batch.advance(chunk) {
            if let Some(run) = &mut flights[i] {
                run.fresh.push(record);
            }
        }
        for ((t, after), before) in batch.trainers().iter().zip(steps_taken(&batch)).zip(before) {
            progress::count_steps(t.config(), after - before);
        }
        for (i, trainer) in batch.trainers().iter().enumerate() {
            if trainer.is_done()
                && let Some(run) = flights[i].take()
            {
                let config = runs[index[i]].1;
                let msg = match run.outcome(trainer, share()) {
                    Ok(outcome) => Message::Done(Box::new(outcome)),
                    Err(e) => Message::failed(config, e, share()),
                };
                if !send(index[i], msg) {
                    return false;
                }
            }
        }
        if batch.is_done() {
            return true;
        }
        let stopping = halted();
        if stopping || checkpoint_every.is_some_and(|e| last_checkpoint.elapsed() >= e) {
            let in_flight = flights.iter_mut().zip(batch.trainers()).enumerate();
            for (i, (run, trainer)) in in_flight {
                if let Some(run) = run {
                    run.checkpoint(dir, trainer, share());
                    if stopping && !send(index[i], Message::Checkpointed) {
                        return false;
                    }
                }
            }
            last_checkpoint = Instant::now();
            if stopping {
                return true;
            }
        }
    }
}

/// The steps each of the group's runs has taken (for progress).
fn steps_taken(batch: &BatchTrainer) -> impl Iterator<Item = u64> + '_ {
    batch.trainers().iter().map(|t| t.state().step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sharpsweep_core::AlgorithmName;

    fn point(m: usize, steps: u64, seed: u64) -> RunConfig {
        RunConfig {
            m,
            steps,
            seed,
            ..Default::default()
        }
    }

    fn todo(configs: &[RunConfig]) -> Vec<(RunId, &RunConfig)> {
        configs.iter().map(|c| (c.run_id(), c)).collect()
    }

    /// The sizes of the items, as (group runs) or 1 for a single.
    fn sizes(items: &[Item]) -> Vec<usize> {
        items
            .iter()
            .map(|i| match i {
                Item::Single(..) => 1,
                Item::Group(g) => g.len(),
            })
            .collect()
    }

    #[test]
    fn every_point_is_in_exactly_one_item_and_groups_share_a_key() {
        let mut configs: Vec<RunConfig> = (0..40)
            .map(|i| point(10 + (i % 3) as usize, 1000 + 10 * i, i))
            .collect();
        configs[5].algorithm = AlgorithmName::Sam;
        configs[6].algorithm = AlgorithmName::Flow;
        let todo = todo(&configs);
        for workers in [1, 2, 3, 16] {
            let items = items(&todo, workers, true);
            let mut seen: Vec<RunId> = Vec::new();
            for item in &items {
                match item {
                    Item::Single(id, _) => seen.push(*id),
                    Item::Group(g) => {
                        assert!((MIN_GROUP..=LANES).contains(&g.len()));
                        let key = BatchKey::of(g[0].1);
                        assert!(g.iter().all(|(_, c)| BatchKey::of(c) == key));
                        assert!(key.batches());
                        seen.extend(g.iter().map(|(id, _)| *id));
                    }
                }
            }
            seen.sort();
            let mut want: Vec<RunId> = todo.iter().map(|(id, _)| *id).collect();
            want.sort();
            assert_eq!(seen, want, "{workers} workers");
            let costs: Vec<f64> = items.iter().map(Item::cost).collect();
            assert!(costs.windows(2).all(|w| w[0] >= w[1]), "largest first");
            for c in &configs[5..7] {
                assert!(
                    items.contains(&Item::Single(c.run_id(), c)),
                    "not label noise"
                );
            }
        }
    }

    #[test]
    fn groups_are_full_when_there_are_enough_points_for_every_thread() {
        let configs: Vec<RunConfig> = (0..256).map(|i| point(10, 1000, i)).collect();
        let items = items(&todo(&configs), 2, true);
        assert_eq!(sizes(&items), vec![LANES; 256 / LANES]);
    }

    #[test]
    fn few_points_are_split_so_that_no_thread_idles() {
        let configs: Vec<RunConfig> = (0..12).map(|i| point(10, 1000, i)).collect();
        let sizes_for =
            |points: usize, threads| sizes(&items(&todo(&configs[..points]), threads, true));
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
        let items = items(&todo, 2, false);
        let want: Vec<Item> = todo.iter().map(|&(id, c)| Item::Single(id, c)).collect();
        assert_eq!(items, want);
    }
}
