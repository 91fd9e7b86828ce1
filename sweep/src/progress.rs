//! Progress for long work: a redrawn bar with rate and ETA on a terminal,
//! or a plain line every few seconds in a log file (SLURM output).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub struct Progress {
    label: String,
    unit: &'static str,
    total: u64,
    start: Instant,
    last_draw: Option<Instant>,
    terminal: bool,
    enabled: bool,
    /// Units already done before this process started (a resumed sweep):
    /// counted in done/total, not in the rate.
    base: u64,
}

impl Progress {
    /// `unit` names what is counted ("steps", "runs").
    pub fn new(label: impl Into<String>, unit: &'static str, total: u64) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let start = Instant::now();
        Self {
            label: label.into(),
            unit,
            total,
            start,
            // A log gets its first line after one period, not a "0 done" line.
            last_draw: (!terminal).then_some(start),
            terminal,
            enabled: true,
            base: 0,
        }
    }

    /// `done` units were finished before this process started.
    pub fn resuming_from(mut self, done: u64) -> Self {
        self.base = done;
        self
    }

    /// No output at all (tests, `--quiet`).
    pub fn silent(mut self) -> Self {
        self.enabled = false;
        self
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Reports `done` of `total`; draws at most 10 times a second on a
    /// terminal and once every 10 seconds otherwise.
    pub fn update(&mut self, done: u64) {
        let every = if self.terminal {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(10)
        };
        if !self.enabled || self.last_draw.is_some_and(|t| t.elapsed() < every) {
            return;
        }
        self.last_draw = Some(Instant::now());
        self.draw(done);
    }

    fn draw(&self, done: u64) {
        let secs = self.start.elapsed().as_secs_f64();
        let rate = done.saturating_sub(self.base) as f64 / secs.max(1e-9);
        let frac = if self.total == 0 {
            1.0
        } else {
            done as f64 / self.total as f64
        };
        let eta = if done > self.base {
            (self.total - done.min(self.total)) as f64 / rate
        } else {
            f64::NAN
        };
        let text = format!(
            "{} {}/{} {} ({:.0}%), {}/s, elapsed {}, ETA {}",
            self.label,
            human(done as f64),
            human(self.total as f64),
            self.unit,
            100.0 * frac,
            human(rate),
            clock(secs),
            clock(eta)
        );
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let width = 24;
            let filled = ((frac * width as f64) as usize).min(width);
            let bar = format!("[{}{}]", "#".repeat(filled), ".".repeat(width - filled));
            let _ = write!(err, "\r\x1b[2K{bar} {text}");
        } else {
            let _ = writeln!(err, "{text}");
        }
        let _ = err.flush();
    }

    /// Draws the final state and ends the line.
    pub fn finish(&mut self, done: u64) {
        if !self.enabled {
            return;
        }
        self.draw(done);
        if self.terminal {
            eprintln!();
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
}
