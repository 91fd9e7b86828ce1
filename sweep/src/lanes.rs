//! Batched runs in a sweep: pending label-noise points that share a
//! [`LaneKey`](sharpsweep_core::lanes::LaneKey) (activation and its parameter, m, d, n, B) are stepped
//! together by [`LaneTrainer`]s, the run index as the SIMD lane.
//!
//! Every lane does exactly its own run's operations on its own streams, so
//! a run's rows do not depend on whether, when, or with which runs it was
//! grouped: the dataset is bit-identical to the one-run-per-item path, and
//! grouping is free to follow the machine. Each run is still checkpointed,
//! resumed, failed and written on its own, exactly as a single run.
//!
//! Lanes never idle while a key has runs pending (continuous batching): a
//! key's runs form one [`Queue`], shared by the key's lane groups on every
//! worker thread, and when a lane's run finishes or diverges the group
//! takes the next pending run of its key into that lane. Once the queue is
//! empty, the group drops its done runs and, below
//! [`MIN_LANES`](sharpsweep_core::lanes::MIN_LANES) live runs,
//! steps the rest with the single-run kernel ([`LaneTrainer::compact`]).
//!
//! Which runs share a group, and in what order, is queue.rs's.

use crate::checkpoint;
use crate::in_flight::InFlight;
use crate::panics::caught;
use crate::progress;
use crate::queue::Queue;
use crate::worker::{Message, Worker, chunk_steps, run_point};
use sharpsweep_core::{LaneTrainer, RunConfig, RunId};
use std::time::Instant;

/// Runs taken from a queue by one group, and whether each was sent.
#[derive(Default)]
struct Taken<'a> {
    runs: Vec<(RunId, &'a RunConfig)>,
    sent: Vec<bool>,
}

/// Trains a group of `lanes` places, taking runs from `queue` until it is
/// empty and every run taken is done, or to checkpoints when halted,
/// sending each run's message as a single run would (see [`run_point`])
/// the moment it is known. Returns false once `send` finds the writer gone.
///
/// A panic while stepping the group does not fail every run in it: the
/// runs taken but not yet sent are rerun one by one (from their last
/// checkpoint, if any), where a failing run fails alone, as it would
/// unbatched, and so are the runs still pending in the queue.
pub(crate) fn run_group(
    queue: &Queue,
    lanes: usize,
    worker: &Worker,
    send: &mut dyn FnMut(Message) -> bool,
) -> bool {
    let mut taken = Taken::default();
    if let Ok(open) = caught(|| train_group(queue, lanes, worker, &mut taken, send)) {
        return open;
    }
    let unsent: Vec<(RunId, &RunConfig)> = (taken.runs.iter().zip(&taken.sent))
        .filter(|(_, sent)| !**sent)
        .map(|(run, _)| *run)
        .collect();
    // The group may have checkpointed them since the sweep listed the
    // checkpoints.
    let mut checkpoints = worker.checkpoints.clone();
    let on_disk = |id: &RunId| checkpoint::path(worker.dir, *id).exists();
    checkpoints.extend(unsent.iter().map(|(id, _)| *id).filter(on_disk));
    let worker = Worker {
        checkpoints: &checkpoints,
        ..*worker
    };
    let rest = std::iter::from_fn(|| queue.take());
    for (id, config) in unsent.into_iter().chain(rest) {
        if !send(run_point(id, config, &worker)) {
            return false;
        }
    }
    true
}

/// A run in one of a group's places.
struct Place {
    /// Its index in [`Taken`].
    taken: usize,
    flight: Option<InFlight>,
    /// When it entered the group.
    since: Instant,
    /// The estimated seconds of one of its steps ([`progress::step_seconds`]).
    step_seconds: f64,
}

fn train_group<'a>(
    queue: &Queue<'a>,
    lanes: usize,
    worker: &Worker,
    taken: &mut Taken<'a>,
    send: &mut dyn FnMut(Message) -> bool,
) -> bool {
    // The next run of the queue that starts (one that cannot start is sent
    // as failed at once); None once the queue is empty or the writer gone.
    let next = |taken: &mut Taken<'a>, send: &mut dyn FnMut(Message) -> bool| {
        while let Some((id, config)) = queue.take() {
            taken.runs.push((id, config));
            taken.sent.push(false);
            let i = taken.runs.len() - 1;
            match InFlight::start_listed(id, config, worker.dir, worker.listed(id), worker.warn) {
                Ok((trainer, flight)) => {
                    let place = Place {
                        taken: i,
                        flight: Some(flight),
                        since: Instant::now(),
                        step_seconds: progress::step_seconds(config),
                    };
                    return Some((trainer, place));
                }
                Err(e) => {
                    taken.sent[i] = true;
                    if !send(Message::failed(config, e, 0.0)) {
                        return None;
                    }
                }
            }
        }
        None
    };
    let (mut trainers, mut places) = (Vec::new(), Vec::new());
    while places.len() < lanes {
        let Some((trainer, place)) = next(taken, send) else {
            break;
        };
        trainers.push(trainer);
        places.push(place);
    }
    let Ok(mut batch) = LaneTrainer::from_trainers(trainers) else {
        return true; // nothing left to train
    };
    let chunk = chunk_steps(taken.runs[places[0].taken].1, lanes);
    // A run's wall time: its time in the group, shared by the places.
    let wall = |p: &Place| p.since.elapsed().as_secs_f64() / lanes as f64;
    let mut last_checkpoint = Instant::now();
    let mut pending = true;
    let open = loop {
        let before: Vec<u64> = steps_taken(&batch).collect();
        for (i, record) in batch.advance(chunk) {
            if let Some(run) = &mut places[i].flight {
                run.record(record);
            }
        }
        let (mut steps, mut seconds) = (0, 0.0);
        for ((place, after), before) in places.iter().zip(steps_taken(&batch)).zip(before) {
            steps += after - before;
            seconds += (after - before) as f64 * place.step_seconds;
        }
        progress::count_timed(steps, seconds);
        let mut ended = false;
        for i in 0..places.len() {
            let trainer = &batch.trainers()[i];
            let place = &mut places[i];
            let Some(run) = trainer.is_done().then(|| place.flight.take()).flatten() else {
                continue;
            };
            let config = taken.runs[place.taken].1;
            let msg = match run.outcome(trainer, wall(place)) {
                Ok(outcome) => Message::Done(Box::new(outcome)),
                Err(e) => Message::failed(config, e, wall(place)),
            };
            taken.sent[place.taken] = true;
            if !send(msg) {
                worker.steps.add(batch.steps());
                return false;
            }
            match pending.then(|| next(taken, send)).flatten() {
                Some((trainer, place)) => {
                    batch
                        .replace(i, trainer)
                        .expect("a queue's runs share one LaneKey");
                    places[i] = place;
                }
                None => (pending, ended) = (false, true),
            }
        }
        if ended {
            let kept: Vec<Place> = batch
                .compact()
                .into_iter()
                .map(|i| std::mem::replace(&mut places[i], place_holder()))
                .collect();
            places = kept;
            if places.is_empty() {
                break true;
            }
        }
        let stopping = (worker.halted)();
        if stopping || worker.checkpoint_due(last_checkpoint) {
            for (place, trainer) in places.iter_mut().zip(batch.trainers()) {
                let spent = wall(place);
                if let Some(run) = &mut place.flight {
                    let saved = run.checkpoint(worker.dir, trainer, spent, worker.warn);
                    if stopping && saved && !send(Message::Checkpointed) {
                        worker.steps.add(batch.steps());
                        return false;
                    }
                }
            }
            last_checkpoint = Instant::now();
            if stopping {
                break true;
            }
        }
    };
    worker.steps.add(batch.steps());
    open
}

/// What a place is left holding when its run moves in compaction.
fn place_holder() -> Place {
    Place {
        taken: 0,
        flight: None,
        since: Instant::now(),
        step_seconds: 0.0,
    }
}

/// The steps each of the group's runs has taken (for progress).
fn steps_taken(batch: &LaneTrainer) -> impl Iterator<Item = u64> + '_ {
    batch.trainers().iter().map(|t| t.state().step)
}
