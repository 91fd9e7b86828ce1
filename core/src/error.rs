//! The one error type of `core`: every message names what the user can fix.

use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum CoreError {
    /// A configuration value outside its domain; `field` is the config key
    /// (`batch_size`), which the CLI shows as a flag (`--batch-size`).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },

    /// A data, label or weight file that cannot be read or has the wrong shape.
    #[error("{field}: {path}: {message}")]
    File {
        field: String,
        path: String,
        message: String,
    },

    /// A checkpoint that does not belong to this configuration or is damaged.
    #[error("checkpoint: {0}")]
    Checkpoint(String),

    /// Text that is not a value of its kind (an activation's name, a size,
    /// a `stop_when` condition, a data file's contents): what is wrong with
    /// it. Whoever read it says where (the key, flag or file).
    #[error("{0}")]
    Parse(String),

    /// A run that needs more memory than there is: its largest term's keys,
    /// what it needs and what the budget is.
    #[error("{0}")]
    Memory(String),

    /// A dense linear-algebra routine failed (e.g. an SVD did not converge).
    #[error("linear algebra: {0}")]
    LinearAlgebra(String),
}

impl CoreError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The config key this error is about, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid { field, .. } | Self::File { field, .. } => Some(field),
            _ => None,
        }
    }
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;
