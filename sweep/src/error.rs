//! The one error type of `sweep`: every message is one line naming what the
//! user can fix.

use std::fmt;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SweepError {
    /// The grid file or a `--set` override is invalid; nothing has run yet.
    #[error(transparent)]
    Grid(#[from] GridError),
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
