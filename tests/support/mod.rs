//! What the integration tests share: the binary under test, scratch
//! directories and grid files; sweeps run through the binary (`sweep`);
//! datasets read back independently of the engine, as a user's reader
//! would (`dataset`); MPI jobs (`mpi`, with `--features mpi`).

mod dataset;
#[cfg(feature = "mpi")]
mod mpi;
mod sweep;

pub use dataset::*;
#[cfg(feature = "mpi")]
pub use mpi::*;
pub use sweep::*;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `sharpsweep` binary built for this test run.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sharpsweep"))
}

/// A command of the binary under test.
pub fn bin() -> Command {
    Command::new(binary())
}

/// What a run of the binary gave: its exit status and its output as text.
pub struct TextOutput {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the binary under test with `args`.
pub fn run_bin(args: &[&str]) -> TextOutput {
    let o = bin()
        .args(args)
        .output()
        .expect("the sharpsweep binary runs");
    TextOutput {
        status: o.status,
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// A scratch directory whose name starts with its test's tag, removed when
/// dropped.
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let prefix = format!("sharpsweep-test-{tag}-");
        Self(tempfile::Builder::new().prefix(&prefix).tempdir().unwrap())
    }
    pub fn join(&self, p: &str) -> PathBuf {
        self.0.path().join(p)
    }
    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

/// Writes `text` to `dir/grid.toml`; its path.
pub fn write_grid(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("grid.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// Sends `signal` (USR1, TERM, INT, KILL) to `pid` with kill(1), as a user
/// would.
pub fn kill(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}
