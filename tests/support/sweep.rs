//! What the cluster tests share: a private copy of the binary and a small
//! grid whose runs last long enough to be interrupted. Datasets are read
//! and compared with the sweep tests' reader (`sweep_common`).

#![allow(dead_code)] // each test file uses a part

use std::path::{Path, PathBuf};
use std::process::Command;

/// Four runs of [G24]'s Figure-1 network (none diverges, so each runs its
/// whole step budget).
pub const GRID: &str = r#"
seed = 3
m = 10
d = 3
n = 3
sigma = 0.03
steps = STEPS

[[grid]]
eta = [0.02, 0.03]
seeds = 2
"#;

/// The grid with `steps` steps per run, written to `dir/grid.toml`.
pub fn grid_file(dir: &Path, steps: u64) -> PathBuf {
    let path = dir.join("grid.toml");
    std::fs::write(&path, GRID.replace("STEPS", &steps.to_string())).unwrap();
    path
}

/// A copy of the binary under test in `dir`: the shared target directory
/// may be rebuilt by someone else while a job still needs the binary.
pub fn private_binary(dir: &Path, built: &Path) -> PathBuf {
    let copy = dir.join("sharpsweep");
    std::fs::copy(built, &copy).unwrap();
    copy
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sharpsweep"))
}

/// Runs `sharpsweep sweep GRID --out OUT --threads 2 -q` to completion.
pub fn sweep(bin: &Path, grid: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let output = sweep_command(bin, grid, out, extra).output().unwrap();
    assert!(
        output.status.success(),
        "sweep failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

pub fn sweep_command(bin: &Path, grid: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.arg("sweep")
        .arg(grid)
        .arg("--out")
        .arg(out)
        .args(["--threads", "2"])
        .args(extra);
    cmd
}

/// The checkpoint files in a dataset.
pub fn checkpoints(dir: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(dir.join("checkpoints")) {
        Ok(entries) => entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "ckpt"))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The number of run rows in a dataset (0 before the first part).
pub fn run_count(dir: &Path) -> usize {
    crate::sweep_common::rows(dir, "runs").len()
}

/// Sends `signal` (USR1, TERM, KILL) to `pid` with kill(1), as a user would.
pub fn kill(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}
