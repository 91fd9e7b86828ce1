//! Progress of a sweep: how much is done and how long the rest takes, as
//! [`Tally`]s the sweep's caller is shown (its `Watch`), which draws them.
//!
//! # A sweep's work
//! A sweep counts its work in run-steps: the step budgets of its runs, less
//! what runs that ended early (diverged, stopped by a criterion, failed) left
//! unused. Worker threads add the steps they take to the sweep's [`Work`]
//! after each chunk of training (about a millisecond: one atomic add, no
//! per-step cost), so runs in flight count, not only runs on disk; the writer
//! takes the unused budget of each run that ends early out of the work. The
//! ETA is the work left at the pace measured in this session (each step
//! weighted by its estimated time, [`Work`]), so it follows early stops as
//! they happen.

use crate::estimate::StepCosts;
use sharpsweep_core::RunConfig;
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The work of one process's sweep in run-steps, shared by its worker
/// threads (through a [`Meter`]) and its writer. Each step is also counted
/// at its estimated time ([`StepCosts`]: the kernels timed for a moment at
/// the start), since a step of a run recording densely (a short run) or of
/// a larger shape takes longer than another: the ETA is reckoned in that
/// time, scaled by how fast it has really gone.
#[derive(Debug)]
pub struct Work {
    costs: StepCosts,
    /// The step budgets of every run this process was given…
    budget: Count,
    /// …of which those of runs done before this session.
    before: Count,
    /// Steps taken in this session: what the rate is measured on.
    stepped: Count,
    /// Steps that resumed runs had taken in earlier sessions.
    carried: Count,
    /// Budget that runs which ended early left unused.
    dropped: Count,
}

/// Run-steps and their estimated nanoseconds.
#[derive(Debug, Default)]
struct Count {
    steps: AtomicU64,
    nanos: AtomicU64,
}

impl Count {
    /// `steps` more, of `seconds` estimated time in all.
    fn add(&self, steps: u64, seconds: f64) {
        self.steps.fetch_add(steps, Ordering::Relaxed);
        let nanos = (seconds * 1e9).round() as u64;
        self.nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    fn get(&self) -> (u64, u64) {
        (
            self.steps.load(Ordering::Relaxed),
            self.nanos.load(Ordering::Relaxed),
        )
    }
}

impl Work {
    /// The runs of this process, each with whether it was done before this
    /// session; `costs` estimates the time of their steps.
    pub fn new<'a>(
        runs: impl IntoIterator<Item = (&'a RunConfig, bool)>,
        costs: StepCosts,
    ) -> Work {
        let (budget, before) = (Count::default(), Count::default());
        for (c, done) in runs {
            let seconds = c.steps as f64 * costs.of(c);
            budget.add(c.steps, seconds);
            if done {
                before.add(c.steps, seconds);
            }
        }
        Work {
            costs,
            budget,
            before,
            stepped: Count::default(),
            carried: Count::default(),
            dropped: Count::default(),
        }
    }

    /// A run of `config` ended after `steps_done` (the writer calls this
    /// for every run it receives): the steps it did not take leave the work.
    pub fn ended(&self, config: &RunConfig, steps_done: u64) {
        let unused = config.steps.saturating_sub(steps_done);
        self.dropped
            .add(unused, unused as f64 * self.costs.of(config));
    }

    /// The work now, with `runs` runs done.
    pub fn tally(&self, runs: u64) -> Tally {
        let (budget, before) = (self.budget.get(), self.before.get());
        let (stepped, carried) = (self.stepped.get(), self.carried.get());
        let dropped = self.dropped.get();
        let total = (
            budget.0.saturating_sub(dropped.0),
            budget.1.saturating_sub(dropped.1),
        );
        Tally {
            runs,
            // A run that failed mid-way (or was retried alone after its lane
            // group panicked) took steps it is not credited with.
            done: (before.0 + carried.0 + stepped.0).min(total.0),
            session: stepped.0,
            total: total.0,
            nanos_done: (before.1 + carried.1 + stepped.1).min(total.1),
            nanos_session: stepped.1,
            nanos_total: total.1,
        }
    }
}

thread_local! {
    /// The work this thread takes steps for, while a [`Meter`] is attached.
    static METER: RefCell<Option<Arc<Work>>> = const { RefCell::new(None) };
}

/// Counts the steps the current thread's runs take towards a [`Work`] while
/// it lives. A thread-local rather than a parameter: the training loops
/// (single runs, lane groups) each report with one call, with no plumbing
/// through every function between the worker and the kernel.
pub struct Meter(());

impl Meter {
    pub fn attach(work: Arc<Work>) -> Meter {
        METER.with(|m| *m.borrow_mut() = Some(work));
        Meter(())
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        METER.with(|m| *m.borrow_mut() = None);
    }
}

/// A run of `config` just took `steps` steps on this thread (nothing
/// happens outside a sweep's worker).
pub fn count_steps(config: &RunConfig, steps: u64) {
    count_timed(steps, steps as f64 * step_seconds(config));
}

/// The estimated seconds of a step of `config` in the sweep this thread
/// works for (0 outside one). A lane group looks it up once per run and
/// counts all its lanes' steps with one [`count_timed`] per chunk: a tiny
/// run's chunks are a few steps long.
pub fn step_seconds(config: &RunConfig) -> f64 {
    METER.with(|m| m.borrow().as_ref().map_or(0.0, |w| w.costs.of(config)))
}

/// This thread's runs just took `steps` steps, of `seconds` estimated time
/// in all.
pub fn count_timed(steps: u64, seconds: f64) {
    with_work(|w| w.stepped.add(steps, seconds));
}

/// A run of `config` resumed from a checkpoint had taken `steps` in
/// earlier sessions.
pub fn count_carried(config: &RunConfig, steps: u64) {
    with_work(|w| w.carried.add(steps, steps as f64 * w.costs.of(config)));
}

fn with_work(f: impl FnOnce(&Work)) {
    METER.with(|m| {
        if let Some(w) = &*m.borrow() {
            f(w);
        }
    });
}

/// A snapshot of work done and to do; those of MPI ranks add up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Runs done.
    pub runs: u64,
    /// Units done, in this session or before…
    pub done: u64,
    /// …of which in this session.
    pub session: u64,
    /// Units of the whole work (shrinks as runs end early).
    pub total: u64,
    /// The same, in estimated nanoseconds (zero where nothing was timed).
    pub nanos_done: u64,
    pub nanos_session: u64,
    pub nanos_total: u64,
}

impl Tally {
    /// As numbers, for sending between ranks.
    pub fn to_array(self) -> [u64; 7] {
        [
            self.runs,
            self.done,
            self.session,
            self.total,
            self.nanos_done,
            self.nanos_session,
            self.nanos_total,
        ]
    }

    pub fn from_array(a: [u64; 7]) -> Tally {
        Tally {
            runs: a[0],
            done: a[1],
            session: a[2],
            total: a[3],
            nanos_done: a[4],
            nanos_session: a[5],
            nanos_total: a[6],
        }
    }

    /// Seconds until the work is done at the pace of the session so far,
    /// `secs` long: the estimated time left, scaled by the time taken over
    /// the estimated time done (in run-steps where nothing was timed); NaN
    /// before anything was done.
    pub fn eta(&self, secs: f64) -> f64 {
        let (left, session) = if self.nanos_session > 0 {
            (
                self.nanos_total.saturating_sub(self.nanos_done),
                self.nanos_session,
            )
        } else {
            (self.total.saturating_sub(self.done), self.session)
        };
        if session == 0 {
            return f64::NAN;
        }
        left as f64 * secs.max(1e-9) / session as f64
    }
}

impl std::ops::Add for Tally {
    type Output = Tally;
    fn add(self, o: Tally) -> Tally {
        let (a, b) = (self.to_array(), o.to_array());
        Tally::from_array(std::array::from_fn(|i| a[i] + b[i]))
    }
}

impl std::iter::Sum for Tally {
    fn sum<I: Iterator<Item = Tally>>(iter: I) -> Tally {
        iter.fold(Tally::default(), |a, b| a + b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(steps: u64, seed: u64) -> RunConfig {
        RunConfig {
            steps,
            seed,
            ..Default::default()
        }
    }

    #[test]
    fn steps_of_runs_in_flight_count_before_any_run_ends() {
        let c = run(10_000, 0);
        let work = Arc::new(Work::new([(&c, false)], StepCosts::default()));
        // Steps outside a worker go nowhere.
        count_steps(&c, 5);
        assert_eq!(work.tally(0).done, 0);
        let worker = {
            let (work, c) = (work.clone(), c.clone());
            std::thread::spawn(move || {
                let _meter = Meter::attach(work);
                for _ in 0..30 {
                    count_steps(&c, 100);
                }
            })
        };
        worker.join().unwrap();
        let t = work.tally(0);
        assert_eq!(
            (t.runs, t.done, t.session, t.total),
            (0, 3000, 3000, 10_000)
        );
        // 3000 steps in 3 s: 1000 steps/s, 7000 left.
        assert_eq!(t.eta(3.0), 7.0);
    }

    #[test]
    fn a_run_ending_early_takes_its_unused_budget_out_of_the_work() {
        // Two runs of 1000 steps, one done before this session.
        let (a, b) = (run(1000, 0), run(1000, 1));
        let work = Arc::new(Work::new([(&a, true), (&b, false)], StepCosts::default()));
        let _meter = Meter::attach(work.clone());
        count_steps(&b, 100);
        assert_eq!(work.tally(1).eta(1.0), 9.0);
        // It diverges at step 100: nothing is left to do.
        work.ended(&b, 100);
        let t = work.tally(2);
        assert_eq!((t.done, t.total), (1100, 1100));
        assert_eq!(t.eta(1.0), 0.0);
    }

    #[test]
    fn a_resumed_run_brings_its_earlier_steps_but_not_into_the_rate() {
        let c = run(1000, 0);
        let work = Arc::new(Work::new([(&c, false)], StepCosts::default()));
        let _meter = Meter::attach(work.clone());
        count_carried(&c, 600);
        count_steps(&c, 100);
        let t = work.tally(0);
        assert_eq!((t.done, t.session), (700, 100));
        // 100 steps/s, 300 left.
        assert_eq!(t.eta(1.0), 3.0);
    }

    #[test]
    fn the_eta_weighs_each_step_by_its_estimated_time() {
        // A long run at 1 µs a step, a short one recording densely at 3 µs.
        let long = run(10_000, 0);
        let mut short = run(1000, 1);
        short.log_points = 500;
        let costs = StepCosts::from_pairs([(&long, 1e-6), (&short, 3e-6)]);
        let work = Arc::new(Work::new([(&long, false), (&short, false)], costs));
        let _meter = Meter::attach(work.clone());
        count_steps(&long, 5000);
        let t = work.tally(0);
        assert_eq!((t.done, t.total), (5000, 11_000));
        // 5 ms of estimated time took 1 s; 5 + 3 ms are left: 1.6 s, where
        // counting steps alike would say 6000 steps at 5000/s, 1.2 s.
        assert!((t.eta(1.0) - 1.6).abs() < 1e-12, "{}", t.eta(1.0));
        // Where nothing was timed, steps count alike.
        let untimed = Tally {
            nanos_done: 0,
            nanos_session: 0,
            nanos_total: 0,
            ..t
        };
        assert_eq!(untimed.eta(1.0), 1.2);
    }

    #[test]
    fn ranks_tallies_add_up_and_round_trip() {
        let a = Tally::from_array([1, 10, 5, 100, 7, 6, 50]);
        let b = Tally::from_array([2, 20, 15, 200, 1, 1, 1]);
        assert_eq!(Tally::from_array(a.to_array()), a);
        assert_eq!(
            [a, b].into_iter().sum::<Tally>().to_array(),
            [3, 30, 20, 300, 8, 7, 51]
        );
    }
}
