//! The subcommands, one module each, and the error they share.

pub mod analyze;
pub mod compact;
pub mod completions;
pub mod export;
pub mod man;
mod progress;
pub mod reproduce;
pub mod run;
pub mod show;
pub mod slurm;
pub mod status;
pub mod sweep;
mod tables;
pub mod verify;

use std::fmt;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

/// Prints `text` to stdout. A reader that closed the pipe early
/// (`sharpsweep status DIR | head`) is not an error worth a panic, which is
/// what `print!` does on a broken pipe.
pub fn print_text(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

use sharpsweep_cluster::signals::EXIT_INTERRUPTED;

/// The exit code of a command that Ctrl-C stopped: 128 + SIGINT's 2.
const EXIT_SIGINT: u8 = 130;

/// A failure the CLI reports as one line on stderr, with an exit code that
/// says whether the input was wrong (2) or the work failed (1).
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub code: u8,
}

impl CliError {
    /// The user's input (a flag, a file, a grid) is invalid: exit code 2.
    pub fn input(message: impl fmt::Display) -> Self {
        Self {
            message: message.to_string(),
            code: 2,
        }
    }

    /// The work itself failed (I/O, a full disk): exit code 1.
    pub fn failure(message: impl fmt::Display) -> Self {
        Self {
            message: message.to_string(),
            code: 1,
        }
    }

    /// A signal stopped the work after checkpointing it: exit code 75
    /// (`EX_TEMPFAIL`), on which a SLURM job requeues itself (docs/cluster.md).
    pub fn interrupted(message: impl fmt::Display) -> Self {
        Self {
            message: message.to_string(),
            code: EXIT_INTERRUPTED,
        }
    }

    /// Like [`CliError::interrupted`], but Ctrl-C (`SIGINT`) at a terminal
    /// exits 130 (128 + 2) as an interrupted command does in a shell, so a
    /// script run by hand stops there; other stop signals exit 75.
    pub fn interrupted_by(signal: Option<&str>, message: impl fmt::Display) -> Self {
        let code = match signal {
            Some("SIGINT") => EXIT_SIGINT,
            _ => EXIT_INTERRUPTED,
        };
        Self {
            message: message.to_string(),
            code,
        }
    }

    pub fn report(&self) -> ExitCode {
        let label = match self.code {
            EXIT_INTERRUPTED | EXIT_SIGINT => "stopped:",
            _ => "error:",
        };
        eprintln!("{label} {}", self.message);
        ExitCode::from(self.code)
    }
}

/// A `--checkpoint-every`-like flag's seconds as a duration (> 0).
pub fn seconds(flag: &str, v: f64) -> Result<Duration, CliError> {
    Duration::try_from_secs_f64(v)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| CliError::input(format!("{flag}: expected seconds > 0, got {v}")))
}

/// More worker threads per core than this only add switching, and a
/// mistyped `--threads 100000` would spend a minute starting threads.
const THREADS_PER_CORE: usize = 4;

/// `--threads`, capped at [`THREADS_PER_CORE`] × the cores available, with
/// a note on stderr when capped.
pub fn worker_threads(asked: Option<usize>) -> Option<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cap = THREADS_PER_CORE * cores;
    asked.map(|n| {
        if n > cap {
            eprintln!(
                "note: --threads {n} capped at {cap} ({THREADS_PER_CORE} × the {cores} cores available)"
            );
        }
        n.min(cap)
    })
}

/// A core error about config key `batch_size` is shown as flag `--batch-size`.
pub fn flag_error(e: &sharpsweep_core::CoreError) -> CliError {
    match e.field() {
        Some(field) => {
            let flag = format!("--{}", field.replace('_', "-"));
            let text = e.to_string();
            let rest = text.strip_prefix(&format!("{field}:")).unwrap_or(&text);
            CliError::input(format!("{flag}:{rest}"))
        }
        None => CliError::input(e),
    }
}
