//! The one error type of the crate: every failure is one line that names the
//! file, column or flag it is about.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error(
        "{0}: not a sharpsweep dataset (expected runs.parquet + trajectory.parquet, \
         or runs/part-*.parquet + trajectories/part-*.parquet)"
    )]
    NotADataset(PathBuf),
    #[error("{file}: missing column '{column}'")]
    MissingColumn { file: PathBuf, column: String },
    #[error("{file}: column '{column}' has type {found}, expected {expected}")]
    ColumnType {
        file: PathBuf,
        column: String,
        found: String,
        expected: &'static str,
    },
    #[error(
        "{file}: schema version {found} (sharpsweep.schema_version), this reader understands {expected}"
    )]
    SchemaVersion {
        file: PathBuf,
        found: String,
        expected: String,
    },
    #[error("{file}: damaged ({why}); {fix}")]
    Damaged {
        file: PathBuf,
        why: String,
        fix: String,
    },
    #[error("{file}: not a readable Parquet file: {message}")]
    Corrupt { file: PathBuf, message: String },
    #[error("{file}: {message}")]
    Invalid { file: PathBuf, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{option}: {message}")]
    Option {
        option: &'static str,
        message: String,
    },
    /// Text that is not what it should be (a `--select` value): what is
    /// wrong with it; whoever read it says where.
    #[error("{0}")]
    Parse(String),
    #[error("figure {figure}: {message}")]
    Figure {
        figure: &'static str,
        message: String,
    },
}

pub type Result<T> = std::result::Result<T, AnalyzeError>;

impl AnalyzeError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn corrupt(file: &Path, message: impl std::fmt::Display) -> Self {
        Self::Corrupt {
            file: file.to_path_buf(),
            message: message.to_string(),
        }
    }

    pub fn invalid(file: &Path, message: impl std::fmt::Display) -> Self {
        Self::Invalid {
            file: file.to_path_buf(),
            message: message.to_string(),
        }
    }

    /// Whether the input (the dataset, an option) is at fault rather than
    /// the machine (I/O while writing the report, a plotting failure).
    pub fn is_input(&self) -> bool {
        !matches!(self, Self::Io { .. } | Self::Figure { .. })
    }
}
