//! The progress line of a sweep or a run on stderr: one line redrawn on a
//! terminal (indicatif), or a plain line every interval in a log (SLURM
//! output, a pipe), where a redrawn line would be garbage.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sharpsweep_sweep::progress::Tally;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How often a log (stderr not a terminal) gets a line.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

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
        /// What the last line showed: the final line does not repeat it
        /// (rank 0 of an MPI job shows the job's final tally as it comes).
        shown: Option<Tally>,
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
                shown: None,
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
    pub fn set_runs(&mut self, runs: u64) {
        self.runs = Some(runs);
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
            Output::Log {
                sink, last, shown, ..
            } => {
                *last = now;
                *shown = Some(*tally);
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
            done,
            session: done.saturating_sub(self.base),
            total: self.total,
            ..Tally::default()
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
                // indicatif leaves the cursor on the bar's line.
                eprintln!();
            }
            Output::Log { shown, .. } if *shown == Some(*tally) => {}
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
    use std::sync::{Arc, Mutex};

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
            shown: None,
        };
        let mut p = Progress::with_output("sweep", "run-steps", 0, log);
        p.set_runs(8);
        let start = p.start;
        let at = |s: u64| start + Duration::from_secs(s);
        let times = [1, 5, 11, 15, 20, 22, 30, 31];
        for (i, s) in times.into_iter().enumerate() {
            let tally = Tally {
                runs: i as u64 / 4,
                done: 1_000_000 * (i as u64 + 1),
                session: 1_000_000 * (i as u64 + 1),
                total: 20_000_000,
                ..Tally::default()
            };
            p.show_at(&tally, at(s));
        }
        let end = Tally {
            runs: 8,
            done: 20_000_000,
            session: 20_000_000,
            total: 20_000_000,
            ..Tally::default()
        };
        p.show_at(&end, at(40));
        // The final line does not repeat the line just shown.
        p.finish_at(&end, at(41));
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // At 11 s and 22 s (10 s apart or more; not at 31 s), and at the end.
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
