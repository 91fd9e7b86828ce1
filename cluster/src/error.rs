//! The one error type of `cluster`: every message names the variable, flag
//! or command the user can look at.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ClusterError {
    /// A scheduler or launcher variable that is malformed or inconsistent.
    #[error("{var}: {message}")]
    Env { var: String, message: String },

    /// A `sharpsweep slurm` flag outside what SLURM accepts.
    #[error("{flag}: {message}")]
    Flag { flag: String, message: String },

    /// `sbatch` could not be run or refused the script.
    #[error("sbatch: {0}")]
    Sbatch(String),

    /// Installing the signal handlers failed.
    #[error("signal handlers: {0}")]
    Signals(#[from] std::io::Error),
}

impl ClusterError {
    pub fn env(var: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Env {
            var: var.into(),
            message: message.into(),
        }
    }

    pub fn flag(flag: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Flag {
            flag: flag.into(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = ClusterError> = std::result::Result<T, E>;
