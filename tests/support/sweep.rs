//! Sweeps run through the binary: to completion, killed at random moments,
//! or as an MPI job of two ranks; sweeps of a plan through the library; and
//! the grids the tests sweep.

use crate::support::{binary, run_ids, write_grid};
use sharpsweep_sweep::{Alone, Plan, SweepOptions, SweepReport, Unwatched, run_plan};
use std::hash::{BuildHasher, RandomState};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// `plan` swept into `out` by this process alone (no MPI team), its
/// warnings and progress not shown; stopped once `stop` is set.
pub fn sweep_alone(plan: &Plan, out: &Path, opts: &SweepOptions, stop: &AtomicBool) -> SweepReport {
    run_plan(plan, out, opts, stop, &mut Alone, &mut Unwatched).unwrap()
}

/// `BIN sweep GRID --out OUT`.
fn sweep_of(bin: &Path, grid: &Path, out: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.arg("sweep").arg(grid).arg("--out").arg(out);
    cmd
}

/// `output`, once it is checked to be a successful sweep's.
fn succeeded(output: Output) -> Output {
    assert!(
        output.status.success(),
        "sweep failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs `sharpsweep sweep GRID --out OUT ARGS… --quiet`, which may fail.
pub fn try_sweep(grid: &Path, out: &Path, args: &[&str]) -> Output {
    sweep_of(&binary(), grid, out)
        .args(args)
        .arg("--quiet")
        .output()
        .expect("sharpsweep runs")
}

/// Runs `sharpsweep sweep GRID --out OUT ARGS… --quiet`, asserting success.
pub fn sweep(grid: &Path, out: &Path, args: &[&str]) -> Output {
    succeeded(try_sweep(grid, out, args))
}

/// `BIN sweep GRID --out OUT --threads 2 ARGS…`: two workers, so that a
/// signal or a kill finds two runs in flight.
pub fn sweep_command(bin: &Path, grid: &Path, out: &Path, args: &[&str]) -> Command {
    let mut cmd = sweep_of(bin, grid, out);
    cmd.args(["--threads", "2"]).args(args);
    cmd
}

/// Runs [`sweep_command`] to completion, asserting success.
pub fn sweep_with(bin: &Path, grid: &Path, out: &Path, args: &[&str]) -> Output {
    succeeded(sweep_command(bin, grid, out, args).output().unwrap())
}

/// A copy of the binary under test in `dir`: the shared target directory
/// may be rebuilt by someone else while a job still needs the binary.
pub fn private_binary(dir: &Path, built: &Path) -> PathBuf {
    let copy = dir.join("sharpsweep");
    std::fs::copy(built, &copy).unwrap();
    copy
}

/// A few dozen short runs: steps, η, σ and replicates vary; some diverge.
pub const SMALL_GRID: &str = r#"
seed = 7
[[grid]]
steps = [300, 3000]
eta = { log = [1e-2, 6e-2], num = 4 }
sigma = [0.0, 0.05]
seeds = 3
log_points = 12
"#;

/// Four runs of [G24]'s Figure-1 network with `steps` steps each (none
/// diverges, so each runs its whole step budget), written to
/// `dir/grid.toml`: runs long enough to be interrupted.
pub fn grid_file(dir: &Path, steps: u64) -> PathBuf {
    let text = format!(
        "seed = 3\nm = 10\nd = 3\nn = 3\nsigma = 0.03\nsteps = {steps}\n\n\
         [[grid]]\neta = [0.02, 0.03]\nseeds = 2\n"
    );
    write_grid(dir, &text)
}

/// Starts `sharpsweep sweep GRID --out OUT` (2 threads, frequent parts and
/// checkpoints) `times` times and SIGKILLs it after a random 30–400 ms,
/// checking after each kill that no committed run_id appears twice.
/// Returns how many times it was killed mid-flight (not already finished).
pub fn sweep_killed_at_random_moments(grid: &Path, out: &Path, times: usize) -> usize {
    let mut kills = 0;
    for _ in 0..times {
        let args = ["--quiet", "--flush-runs", "3", "--flush-secs", "0.05"];
        let mut child = sweep_command(&binary(), grid, out, &args)
            .args(["--checkpoint-every", "0.02"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let millis = 30 + RandomState::new().hash_one(std::time::SystemTime::now()) % 370;
        std::thread::sleep(Duration::from_millis(millis));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
        let mut ids = run_ids(out);
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "a run_id appears twice after a kill");
    }
    kills
}
