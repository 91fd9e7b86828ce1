//! The subcommands, one module each, and the error they share.

pub mod analyze;
pub mod compact;
pub mod reproduce;
pub mod run;
pub mod status;
pub mod sweep;
pub mod slurm;

use std::fmt;
use std::process::ExitCode;

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

    pub fn report(&self) -> ExitCode {
        eprintln!("error: {}", self.message);
        ExitCode::from(self.code)
    }
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
