//! The one error type of the sweep crate. Every message names the file,
//! flag or directory the user can act on.

use std::fmt;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SweepError {
    /// The grid file or a `--set` override is invalid; nothing has run yet.
    #[error(transparent)]
    Grid(#[from] GridError),

    /// The user's request cannot be honoured as given (a different grid on
    /// an existing dataset, a bad `--shard`, a directory that is not a
    /// dataset): nothing was written.
    #[error("{0}")]
    Refused(String),

    /// Another sweep holds the dataset (or this shard of it).
    #[error("{dir}: {what} (lock {lock} is held by another process)")]
    Locked {
        dir: PathBuf,
        what: String,
        lock: PathBuf,
    },

    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    /// A run could not be carried out (it panicked, or ended without a
    /// record): it is recorded as failed with this message, and the sweep
    /// goes on.
    #[error("{0}")]
    Run(String),

    /// The trainer refused a run's configuration or checkpoint.
    #[error(transparent)]
    Core(#[from] sharpsweep_core::CoreError),

    /// Another rank of an MPI job failed before work started.
    #[error("rank {rank}: {message}")]
    Rank { rank: usize, message: String },
}

impl SweepError {
    /// An I/O error about `path`.
    pub fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SweepError + '_ {
        move |source| SweepError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// True when the input was at fault (exit code 2 in the CLI) rather than
    /// the machine (exit code 1).
    pub fn is_input(&self) -> bool {
        matches!(self, Self::Grid(_) | Self::Refused(_) | Self::Locked { .. })
    }
}

/// An invalid grid: where (`grid[1].eta`, `--set m`, `line 3, column 7`),
/// what is wrong, and for a value that is only invalid in combination with
/// others, which expanded point shows it.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub struct GridError {
    /// The key or place the error is about, as the user wrote it.
    pub at: String,
    pub message: String,
    /// The index of the expanded point (as `--dry-run` lists them).
    pub point: Option<usize>,
}

impl GridError {
    pub fn new(at: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            at: at.into(),
            message: message.into(),
            point: None,
        }
    }

    pub fn at_point(mut self, point: usize) -> Self {
        self.point = Some(point);
        self
    }
}

impl fmt::Display for GridError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)?;
        if let Some(p) = self.point {
            write!(f, " (point {p})")?;
        }
        Ok(())
    }
}

pub type Result<T, E = SweepError> = std::result::Result<T, E>;
