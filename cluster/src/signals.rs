//! Turning the signals a scheduler sends before it ends a job into a clean
//! stop of the sweep, and the exit code that asks for the job to be
//! requeued.
//!
//! SLURM warns a job before it kills it: `#SBATCH --signal=USR1@120` sends
//! SIGUSR1 to the job's steps 120 s before the time limit; the time limit,
//! `scancel`, preemption and `srun --kill-on-bad-exit` send SIGTERM and,
//! `KillWait` seconds later (30 by default), SIGKILL. Each of SIGUSR1,
//! SIGTERM and SIGINT sets the engine's stop flag: the sweep takes no new
//! point, checkpoints its in-flight runs, flushes Parquet and returns
//! interrupted, and `sharpsweep sweep` exits with [`EXIT_INTERRUPTED`]. A
//! second SIGINT (Ctrl-C pressed twice) exits at once with 130; that loses
//! no finished run, since every file is written atomically. A second SIGTERM
//! does not: it arrives while the checkpoints are being written (a rank's
//! `--kill-on-bad-exit` TERM after the USR1), and only SIGKILL should cut
//! them short.
//!
//! The handlers come from `signal-hook`'s `flag` module: an async-signal-
//! safe handler that only stores to an atomic, chained with any other
//! handler, which is all the engine needs and subtle to get right by hand
//! with `sigaction`.

use crate::error::Result;
use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
use signal_hook::flag;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The exit code of a sweep that a signal stopped after checkpointing:
/// rerunning the same command resumes it. It is `EX_TEMPFAIL` of
/// `sysexits.h` ("try again later"); the generated batch script requeues
/// the job on it, and a site can do the same with `RequeueExit=75` in
/// slurm.conf.
pub const EXIT_INTERRUPTED: u8 = 75;

/// The exit code after a second SIGINT: 128 + 2, as a shell reports it.
const EXIT_SECOND_SIGINT: i32 = 130;

/// The stop flag, set by SIGUSR1, SIGTERM or SIGINT once installed.
///
/// The handlers stay for the rest of the process (signal-hook cannot give a
/// signal its default action back), so install once, in `main`'s command.
pub struct StopSignals {
    stop: Arc<AtomicBool>,
    received: Arc<AtomicUsize>,
}

impl StopSignals {
    pub fn install() -> Result<StopSignals> {
        let stop = Arc::new(AtomicBool::new(false));
        let received = Arc::new(AtomicUsize::new(0));
        // Registered before the flag is set, so it sees the earlier state.
        flag::register_conditional_shutdown(SIGINT, EXIT_SECOND_SIGINT, Arc::clone(&stop))?;
        for signal in [SIGUSR1, SIGTERM, SIGINT] {
            flag::register_usize(signal, Arc::clone(&received), signal as usize)?;
            flag::register(signal, Arc::clone(&stop))?;
        }
        Ok(StopSignals { stop, received })
    }

    /// The flag to hand to the engine.
    pub fn flag(&self) -> &AtomicBool {
        &self.stop
    }

    /// The last of the signals received, by name (`"SIGUSR1"`), if any.
    pub fn received(&self) -> Option<&'static str> {
        match self.received.load(Ordering::Relaxed) as i32 {
            SIGUSR1 => Some("SIGUSR1"),
            SIGTERM => Some("SIGTERM"),
            SIGINT => Some("SIGINT"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signal_hook::low_level::raise;

    /// The one test in this binary that installs handlers, so that raising
    /// SIGTERM can never reach a process without them.
    #[test]
    fn usr1_and_term_set_the_stop_flag_and_are_named() {
        let signals = StopSignals::install().unwrap();
        assert!(!signals.flag().load(Ordering::Relaxed));
        assert_eq!(signals.received(), None);

        raise(SIGUSR1).unwrap();
        assert!(signals.flag().load(Ordering::Relaxed));
        assert_eq!(signals.received(), Some("SIGUSR1"));

        // The process survives a SIGTERM, which only marks the stop.
        signals.stop.store(false, Ordering::Relaxed);
        raise(SIGTERM).unwrap();
        assert!(signals.flag().load(Ordering::Relaxed));
        assert_eq!(signals.received(), Some("SIGTERM"));
    }
}
