//! What the MPI tests share (built with `--features mpi` only): a job of
//! two ranks, and a grid that the two ranks split unevenly.

use crate::support::binary;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `mpirun -np 2 sharpsweep ARGS…` (one rayon thread per rank, `exports`
/// set on both ranks), as root too; kills the job and fails if it is not
/// over within `limit`, so a hang fails the test instead of stalling it.
pub fn mpirun(args: &[&std::ffi::OsStr], exports: &[&str], limit: Duration) -> Output {
    let mut cmd = Command::new("mpirun");
    cmd.args(["-np", "2", "--oversubscribe", "--bind-to", "none"])
        .args(["-x", "RAYON_NUM_THREADS=1"]);
    for e in exports {
        cmd.args(["-x", e]);
    }
    let mut child = cmd
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .arg(binary())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mpirun runs");
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            let o = child.wait_with_output().unwrap();
            panic!(
                "the MPI job hangs (killed after {limit:?}): {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// One point of `long_steps` steps, which the cost-balanced split of 2 MPI
/// ranks gives to rank 0 alone, and ten short ones, for rank 1.
pub fn uneven_grid(long_steps: u64) -> String {
    format!(
        "seed = 5\n[[grid]]\nsteps = {long_steps}\nlog_points = 5\n\
         [[grid]]\nsteps = 1000\neta = [0.01, 0.02]\nseeds = 5\nlog_points = 5\n"
    )
}
