//! What a worker thread does with a point: trains it to its end or to a
//! checkpoint, and hands the result to the writer a batch at a time.

use crate::error::{Result, SweepError};
use crate::in_flight::{InFlight, Outcome};
use crate::panics::caught;
use crate::progress;
use crate::rows::Rows;
use crate::schema::RunRecord;
use crate::warning::Warning;
use sharpsweep_core::{RunConfig, RunId};
use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

/// A run's result on its way from a worker to the writer.
pub(crate) enum Message {
    Done(Box<Outcome>),
    /// The stop flag caught a run in flight; it was checkpointed.
    Checkpointed,
    /// For the sweep's caller, from the thread that trains.
    Warning(Warning),
}

impl Message {
    /// A run that could not be carried out, as a `failed` record.
    pub(crate) fn failed(config: &RunConfig, error: SweepError, wall: f64) -> Message {
        Message::Done(Box::new(Outcome {
            record: RunRecord::failed(config, error.to_string(), wall),
            saved: Vec::new(),
            fresh: Rows::default(),
            resumed: false,
            // It may have failed after writing one.
            checkpointed: true,
            worker: 0,
        }))
    }
}

/// Trains one point to its end, or to a checkpoint when `halted()`;
/// failures become `failed` records.
pub(crate) fn run_point(id: RunId, config: &RunConfig, worker: &Worker) -> Message {
    let start = Instant::now();
    let error = match caught(|| train(id, config, worker)) {
        Ok(Ok(Some(outcome))) => return Message::Done(Box::new(outcome)),
        Ok(Ok(None)) => return Message::Checkpointed,
        Ok(Err(e)) => e,
        Err(panic) => panic,
    };
    Message::failed(config, error, start.elapsed().as_secs_f64())
}

fn train(id: RunId, config: &RunConfig, worker: &Worker) -> Result<Option<Outcome>> {
    let start = Instant::now();
    let (mut trainer, mut run) =
        InFlight::start_listed(id, config, worker.dir, worker.listed(id), worker.warn)?;
    let first = trainer.state().step;
    let chunk = chunk_steps(config, 1);
    let mut last_checkpoint = Instant::now();
    let mut stopped = false;
    while !trainer.is_done() {
        let before = trainer.state().step;
        if let Some(r) = trainer.advance(chunk) {
            run.record(r);
        }
        progress::count_steps(config, trainer.state().step - before);
        if trainer.is_done() {
            break;
        }
        stopped = (worker.halted)();
        if stopped || worker.checkpoint_due(last_checkpoint) {
            let wall = start.elapsed().as_secs_f64();
            // It has advanced at least once, so it has a record to keep.
            run.checkpoint(worker.dir, &trainer, wall, worker.warn);
            last_checkpoint = Instant::now();
            if stopped {
                break;
            }
        }
    }
    let steps = trainer.state().step - first;
    worker.steps.add((steps, steps));
    if stopped {
        return Ok(None);
    }
    run.outcome(&trainer, start.elapsed().as_secs_f64())
        .map(Some)
}

/// What a worker thread trains runs with.
pub(crate) struct Worker<'a> {
    /// The dataset.
    pub dir: &'a Path,
    /// Whether to stop (checkpointing the runs in hand).
    pub halted: &'a dyn Fn() -> bool,
    /// Where its warnings go (to the writer, with its runs).
    pub warn: &'a dyn Fn(Warning),
    pub checkpoint_every: Option<Duration>,
    /// The runs that had a checkpoint when the sweep started, listed once
    /// rather than looked up on disk for every run.
    pub checkpoints: &'a HashSet<RunId>,
    pub steps: &'a Occupancy,
}

impl Worker<'_> {
    /// Whether run `id` had a checkpoint when the sweep started.
    pub(crate) fn listed(&self, id: RunId) -> bool {
        self.checkpoints.contains(&id)
    }

    /// Whether runs last checkpointed at `last` are due for another.
    pub(crate) fn checkpoint_due(&self, last: Instant) -> bool {
        self.checkpoint_every.is_some_and(|e| last.elapsed() >= e)
    }
}

/// The steps a sweep's workers took: useful run-steps and the lane-steps
/// spent on them (their ratio is the lane occupancy).
#[derive(Default)]
pub(crate) struct Occupancy {
    pub(crate) run_steps: AtomicU64,
    pub(crate) lane_steps: AtomicU64,
}

impl Occupancy {
    /// Adds (run-steps, lane-steps).
    pub(crate) fn add(&self, (runs, lanes): (u64, u64)) {
        self.run_steps.fetch_add(runs, Ordering::Relaxed);
        self.lane_steps.fetch_add(lanes, Ordering::Relaxed);
    }
}

/// A worker's messages to the writer, sent a batch at a time: one wake-up
/// of the writer per [`Outbox::RUNS`] runs or [`Outbox::WAIT`], not one per
/// run. The worker sends what it holds when it stops, too.
pub(crate) struct Outbox {
    tx: mpsc::Sender<Vec<Message>>,
    /// The worker's index, written into each outcome (see [`HandBack`]).
    worker: usize,
    held: Vec<Message>,
    /// When the oldest held message was pushed.
    since: Instant,
    /// The writer is gone.
    closed: bool,
}

impl Outbox {
    const RUNS: usize = 64;
    const WAIT: Duration = Duration::from_millis(20);

    pub(crate) fn new(tx: mpsc::Sender<Vec<Message>>, worker: usize) -> Self {
        Self {
            tx,
            worker,
            held: Vec::new(),
            since: Instant::now(),
            closed: false,
        }
    }

    /// Holds `msg` (sending the batch when it is full or old); false once
    /// the writer is gone.
    pub(crate) fn push(&mut self, mut msg: Message) -> bool {
        if let Message::Done(o) = &mut msg {
            o.worker = self.worker;
        }
        if self.held.is_empty() {
            self.since = Instant::now();
        }
        self.held.push(msg);
        if self.held.len() >= Self::RUNS {
            self.send();
        } else {
            self.send_if_due();
        }
        !self.closed
    }

    /// Sends the held messages if the oldest has waited [`Self::WAIT`]
    /// (called between chunks of training, about every millisecond).
    pub(crate) fn send_if_due(&mut self) {
        if !self.held.is_empty() && self.since.elapsed() >= Self::WAIT {
            self.send();
        }
    }

    pub(crate) fn send(&mut self) {
        if !self.held.is_empty() {
            let held = std::mem::replace(&mut self.held, Vec::with_capacity(Self::RUNS));
            self.closed |= self.tx.send(held).is_err();
        }
    }
}

/// Written outcomes on their way back to the worker that made them, to be
/// freed there. A run's records and its final state are a dozen small
/// allocations of the worker's; freed by the writer, each took the
/// allocator's cross-thread path (≈ 2 000 instructions a tiny run, on the
/// one thread every worker waits on), and the same frees on the worker
/// that allocated them cost a tenth of that.
pub(crate) struct HandBack {
    #[expect(
        clippy::vec_box,
        reason = "each box is the worker's allocation, freed there with what it holds"
    )]
    bins: Vec<Mutex<Vec<Box<Outcome>>>>,
}

impl HandBack {
    pub(crate) fn new(workers: usize) -> Self {
        Self {
            bins: (0..workers).map(|_| Mutex::default()).collect(),
        }
    }

    /// Hands each of `outcomes` back to its worker.
    pub(crate) fn give(&self, outcomes: impl Iterator<Item = Box<Outcome>>) {
        for o in outcomes {
            match self.bins.get(o.worker) {
                Some(bin) => bin.lock().unwrap_or_else(PoisonError::into_inner).push(o),
                None => drop(o),
            }
        }
    }

    /// Frees what was handed back to worker `w` (called by that worker).
    pub(crate) fn free(&self, w: usize) {
        if let Some(bin) = self.bins.get(w) {
            let handed = std::mem::take(&mut *bin.lock().unwrap_or_else(PoisonError::into_inner));
            drop(handed);
        }
    }
}

/// Steps between looks at the stop flag: about a millisecond of work for
/// `runs` runs of `config`'s shape stepped together.
pub fn chunk_steps(config: &RunConfig, runs: usize) -> u64 {
    let work = [config.d, config.batch(), runs]
        .iter()
        .fold(config.m, |w, &f| w.saturating_mul(f));
    (1 << 22) / work.max(1) as u64 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(worker: usize) -> Box<Outcome> {
        let error = SweepError::Run("vanished".into());
        let Message::Done(mut o) = Message::failed(&RunConfig::default(), error, 0.0) else {
            unreachable!("a failed run is done")
        };
        o.worker = worker;
        o
    }

    #[test]
    fn outcomes_handed_back_wait_for_their_own_worker() {
        let hand_back = HandBack::new(2);
        let held = |w: usize| hand_back.bins[w].lock().unwrap().len();
        // Worker 5 does not exist (an outcome made outside the sweep): freed
        // at once.
        hand_back.give([outcome(0), outcome(1), outcome(0), outcome(5)].into_iter());
        assert_eq!((held(0), held(1)), (2, 1));
        hand_back.free(1);
        assert_eq!((held(0), held(1)), (2, 0));
        hand_back.free(0);
        assert_eq!((held(0), held(1)), (0, 0));
    }

    #[test]
    fn the_outbox_tags_each_outcome_with_its_worker() {
        let (tx, rx) = mpsc::channel();
        let mut outbox = Outbox::new(tx, 3);
        assert!(outbox.push(Message::Done(outcome(0))));
        outbox.send();
        let sent = rx.recv().unwrap();
        assert!(matches!(&sent[..], [Message::Done(o)] if o.worker == 3));
    }
}
