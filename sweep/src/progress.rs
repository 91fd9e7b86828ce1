//! Progress of long work: how much is done and how long the rest takes, as
//! one redrawn line on a terminal (indicatif) or a plain line every interval
//! in a log (SLURM output, a pipe), where a redrawn line would be garbage.
//!
//! # A sweep's work
//! A sweep counts its work in run-steps: the step budgets of its runs, less
//! what runs that ended early (diverged, stopped by a criterion, failed) left
//! unused. Worker threads add the steps they take to the sweep's [`Work`]
//! after each chunk of training (about a millisecond: one atomic add, no
//! per-step cost), so runs in flight count, not only runs on disk; the writer
//! takes the unused budget of each run that ends early out of the work. The
//! ETA is the work left over the rate measured in this session, so it follows
//! early stops as they happen.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often a log (stderr not a terminal) gets a line.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// The work of one process's sweep in run-steps, shared by its worker
/// threads (through a [`Meter`]) and its writer.
#[derive(Debug)]
pub struct Work {
    /// The step budgets of every run this process was given…
    budget: u64,
    /// …of which those of runs done before this session.
    before: u64,
    /// Steps taken in this session: what the rate is measured on.
    stepped: AtomicU64,
    /// Steps that resumed runs had taken in earlier sessions.
    carried: AtomicU64,
    /// Budget that runs which ended early left unused.
    dropped: AtomicU64,
}

impl Work {
    /// Runs whose budgets sum to `budget`, of which `before` is the budget
    /// of runs already done.
    pub fn new(budget: u64, before: u64) -> Work {
        Work {
            budget,
            before,
            stepped: AtomicU64::new(0),
            carried: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// A run of `budget` steps ended after `steps_done` (the writer calls
    /// this for every run it receives): the steps it did not take leave
    /// the work.
    pub fn ended(&self, budget: u64, steps_done: u64) {
        let unused = budget.saturating_sub(steps_done);
        self.dropped.fetch_add(unused, Ordering::Relaxed);
    }

    /// The work now, with `runs` runs done.
    pub fn tally(&self, runs: u64) -> Tally {
        let session = self.stepped.load(Ordering::Relaxed);
        let total = self.budget - self.dropped.load(Ordering::Relaxed).min(self.budget);
        let done = self.before + self.carried.load(Ordering::Relaxed) + session;
        Tally {
            runs,
            // A run that failed mid-way (or was retried alone after its lane
            // group panicked) took steps it is not credited with.
            done: done.min(total),
            session,
            total,
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

/// `steps` run-steps were just taken on this thread (nothing happens
/// outside a sweep's worker).
pub fn count_steps(steps: u64) {
    with_work(|w| w.stepped.fetch_add(steps, Ordering::Relaxed));
}

/// A run resumed from a checkpoint had taken `steps` in earlier sessions.
pub fn count_carried(steps: u64) {
    with_work(|w| w.carried.fetch_add(steps, Ordering::Relaxed));
}

fn with_work(f: impl FnOnce(&Work) -> u64) {
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
}

impl Tally {
    /// As numbers, for sending between ranks.
    pub fn to_array(self) -> [u64; 4] {
        [self.runs, self.done, self.session, self.total]
    }

    pub fn from_array(a: [u64; 4]) -> Tally {
        Tally {
            runs: a[0],
            done: a[1],
            session: a[2],
            total: a[3],
        }
    }

    /// Seconds until the work is done at the rate of the session so far,
    /// `secs` long; NaN before anything was done.
    pub fn eta(&self, secs: f64) -> f64 {
        if self.session == 0 {
            return f64::NAN;
        }
        let rate = self.session as f64 / secs.max(1e-9);
        self.total.saturating_sub(self.done) as f64 / rate
    }
}

impl std::ops::Add for Tally {
    type Output = Tally;
    fn add(self, o: Tally) -> Tally {
        Tally {
            runs: self.runs + o.runs,
            done: self.done + o.done,
            session: self.session + o.session,
            total: self.total + o.total,
        }
    }
}

impl std::iter::Sum for Tally {
    fn sum<I: Iterator<Item = Tally>>(iter: I) -> Tally {
        iter.fold(Tally::default(), |a, b| a + b)
    }
}

/// Where progress goes.
enum Output {
    Silent,
    /// A terminal: one line, redrawn.
    Bar(ProgressBar),
    /// A log: a line when `every` has passed since the last one.
    Log {
        sink: Box<dyn Write + Send>,
        every: Duration,
        last: Instant,
    },
}

pub struct Progress {
    label: String,
    unit: &'static str,
    /// For [`Progress::update`]: the units of the work…
    total: u64,
    /// …and those done before this process started (not in the rate).
    base: u64,
    /// The runs of a sweep, shown beside its run-steps.
    runs: Option<u64>,
    start: Instant,
    out: Output,
}

impl Progress {
    /// Progress of `total` units; `unit` names them ("steps", "run-steps").
    /// A redrawn line if stderr is a terminal, else a line every
    /// [`LOG_EVERY`].
    pub fn new(label: impl Into<String>, unit: &'static str, total: u64) -> Self {
        let out = if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("[{bar:24}] {msg}")
                .expect("a valid template")
                .progress_chars("#>.");
            bar.set_style(style);
            Output::Bar(bar)
        } else {
            Output::Log {
                sink: Box::new(std::io::stderr()),
                every: LOG_EVERY,
                last: Instant::now(),
            }
        };
        Self::with_output(label, unit, total, out)
    }

    fn with_output(
        label: impl Into<String>,
        unit: &'static str,
        total: u64,
        mut out: Output,
    ) -> Self {
        let start = Instant::now();
        if let Output::Log { last, .. } = &mut out {
            // A log gets its first line after one interval, not a "0 done" line.
            *last = start;
        }
        Self {
            label: label.into(),
            unit,
            total,
            base: 0,
            runs: None,
            start,
            out,
        }
    }

    /// `done` units were finished before this process started.
    pub fn resuming_from(mut self, done: u64) -> Self {
        self.base = done;
        self
    }

    /// Shows "done/`runs` runs" beside the units (a sweep).
    pub fn of_runs(mut self, runs: u64) -> Self {
        self.runs = Some(runs);
        self
    }

    /// A log line every `every` instead of [`LOG_EVERY`] (a terminal's
    /// line is redrawn as it goes either way).
    pub fn log_every(mut self, every: Duration) -> Self {
        if let Output::Log { every: e, .. } = &mut self.out {
            *e = every;
        }
        self
    }

    /// No output at all (tests, `--quiet`, MPI ranks but 0).
    pub fn silent(mut self) -> Self {
        self.out = Output::Silent;
        self
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Reports `done` of the `total` units given to [`Progress::new`].
    pub fn update(&mut self, done: u64) {
        let tally = self.tally_of(done);
        self.show(&tally);
    }

    /// Reports `tally`: redrawn on a terminal, a line in a log once the
    /// interval has passed.
    pub fn show(&mut self, tally: &Tally) {
        self.show_at(tally, Instant::now());
    }

    fn show_at(&mut self, tally: &Tally, now: Instant) {
        match &self.out {
            Output::Silent => return,
            Output::Log { every, last, .. } if now.duration_since(*last) < *every => return,
            _ => {}
        }
        let text = self.text(tally, now.duration_since(self.start).as_secs_f64());
        match &mut self.out {
            Output::Silent => {}
            Output::Bar(bar) => {
                bar.set_length(tally.total);
                bar.set_position(tally.done);
                bar.set_message(text);
            }
            Output::Log { sink, last, .. } => {
                *last = now;
                let _ = writeln!(sink, "{text}");
                let _ = sink.flush();
            }
        }
    }

    /// `label done/total unit (p%)[, r/R runs], rate/s, elapsed t, ETA t`.
    fn text(&self, tally: &Tally, secs: f64) -> String {
        let frac = if tally.total == 0 {
            1.0
        } else {
            tally.done as f64 / tally.total as f64
        };
        let runs = match self.runs {
            Some(of) => format!(", {}/{} runs", tally.runs, of),
            None => String::new(),
        };
        format!(
            "{} {}/{} {} ({:.0}%){runs}, {}/s, elapsed {}, ETA {}",
            self.label,
            human(tally.done as f64),
            human(tally.total as f64),
            self.unit,
            100.0 * frac,
            human(tally.session as f64 / secs.max(1e-9)),
            clock(secs),
            clock(tally.eta(secs))
        )
    }

    fn tally_of(&self, done: u64) -> Tally {
        Tally {
            runs: 0,
            done,
            session: done.saturating_sub(self.base),
            total: self.total,
        }
    }

    /// Draws the final state of [`Progress::update`]'s work and ends the line.
    pub fn finish(&mut self, done: u64) {
        let tally = self.tally_of(done);
        self.finish_with(&tally);
    }

    /// Draws `tally` as the final state and ends the line.
    pub fn finish_with(&mut self, tally: &Tally) {
        self.finish_at(tally, Instant::now());
    }

    fn finish_at(&mut self, tally: &Tally, now: Instant) {
        let text = self.text(tally, now.duration_since(self.start).as_secs_f64());
        match &mut self.out {
            Output::Silent => {}
            Output::Bar(bar) => {
                bar.set_length(tally.total);
                bar.set_position(tally.done);
                bar.finish_with_message(text);
            }
            Output::Log { sink, .. } => {
                let _ = writeln!(sink, "{text}");
                let _ = sink.flush();
            }
        }
    }
}

/// 12345678 → "12.3M".
pub fn human(v: f64) -> String {
    if !v.is_finite() {
        return "?".into();
    }
    let (scaled, suffix) = match v.abs() {
        a if a >= 1e9 => (v / 1e9, "G"),
        a if a >= 1e6 => (v / 1e6, "M"),
        a if a >= 1e4 => (v / 1e3, "k"),
        _ => return format!("{v:.0}"),
    };
    format!("{scaled:.1}{suffix}")
}

/// Seconds as `1h02m03s`, `2m03s` or `3.4s`.
pub fn clock(secs: f64) -> String {
    if !secs.is_finite() {
        return "?".into();
    }
    let s = secs.round() as u64;
    match s {
        0..60 => format!("{secs:.1}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m{:02}s", s / 3600, s / 60 % 60, s % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn human_numbers_and_clocks() {
        assert_eq!(human(12_345_678.0), "12.3M");
        assert_eq!(human(999.0), "999");
        assert_eq!(human(25_000.0), "25.0k");
        assert_eq!(clock(3.44), "3.4s");
        assert_eq!(clock(123.0), "2m03s");
        assert_eq!(clock(3723.0), "1h02m03s");
        assert_eq!(clock(f64::NAN), "?");
    }

    #[test]
    fn steps_of_runs_in_flight_count_before_any_run_ends() {
        let work = Arc::new(Work::new(10_000, 0));
        // Steps outside a worker go nowhere.
        count_steps(5);
        assert_eq!(work.tally(0).done, 0);
        let worker = {
            let work = work.clone();
            std::thread::spawn(move || {
                let _meter = Meter::attach(work);
                for _ in 0..30 {
                    count_steps(100);
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
        let work = Arc::new(Work::new(2000, 1000));
        let _meter = Meter::attach(work.clone());
        count_steps(100);
        assert_eq!(work.tally(1).eta(1.0), 9.0);
        // It diverges at step 100: nothing is left to do.
        work.ended(1000, 100);
        let t = work.tally(2);
        assert_eq!((t.done, t.total), (1100, 1100));
        assert_eq!(t.eta(1.0), 0.0);
    }

    #[test]
    fn a_resumed_run_brings_its_earlier_steps_but_not_into_the_rate() {
        let work = Arc::new(Work::new(1000, 0));
        let _meter = Meter::attach(work.clone());
        count_carried(600);
        count_steps(100);
        let t = work.tally(0);
        assert_eq!((t.done, t.session), (700, 100));
        // 100 steps/s, 300 left.
        assert_eq!(t.eta(1.0), 3.0);
    }

    #[test]
    fn ranks_tallies_add_up_and_round_trip() {
        let a = Tally {
            runs: 1,
            done: 10,
            session: 5,
            total: 100,
        };
        let b = Tally::from_array([2, 20, 15, 200]);
        assert_eq!(Tally::from_array(a.to_array()), a);
        assert_eq!(
            [a, b].into_iter().sum::<Tally>().to_array(),
            [3, 30, 20, 300]
        );
    }

    /// A log sink the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_log_gets_one_plain_line_per_interval() {
        let sink = Shared::default();
        let log = Output::Log {
            sink: Box::new(sink.clone()),
            every: Duration::from_secs(10),
            last: Instant::now(),
        };
        let mut p = Progress::with_output("sweep", "run-steps", 0, log).of_runs(8);
        let start = p.start;
        let at = |s: u64| start + Duration::from_secs(s);
        let times = [1, 5, 11, 15, 20, 22, 30, 31];
        for (i, s) in times.into_iter().enumerate() {
            let tally = Tally {
                runs: i as u64 / 4,
                done: 1_000_000 * (i as u64 + 1),
                session: 1_000_000 * (i as u64 + 1),
                total: 20_000_000,
            };
            p.show_at(&tally, at(s));
        }
        let end = Tally {
            runs: 8,
            done: 20_000_000,
            session: 20_000_000,
            total: 20_000_000,
        };
        p.finish_at(&end, at(40));
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // At 11 s and 22 s (10 s apart or more; not at 31 s), then the final line.
        assert_eq!(lines.len(), 3, "{text}");
        assert!(!text.contains('\r') && !text.contains('\x1b'), "{text:?}");
        assert_eq!(
            lines[0],
            "sweep 3.0M/20.0M run-steps (15%), 0/8 runs, 272.7k/s, elapsed 11.0s, ETA 1m02s"
        );
        assert!(lines[1].starts_with("sweep 6.0M/20.0M run-steps (30%), 1/8 runs,"));
        assert_eq!(
            lines[2],
            "sweep 20.0M/20.0M run-steps (100%), 8/8 runs, 500.0k/s, elapsed 40.0s, ETA 0.0s"
        );
    }
}
