//! A panic on one MPI rank aborts the whole job promptly instead of leaving
//! the other ranks waiting for it, and the runs committed before the panic
//! stay intact: the dataset resumes. Built only with `--features mpi`;
//! needs OpenMPI's `mpirun` (.ci/suites/engine.sh runs it).
//!
//! The panic is injected with `SHARPSWEEP_TEST_PANIC_AFTER_RUNS=N`, which
//! makes the writer of a rank panic once it has committed N runs (outside
//! any run, as a bug in the engine would; sweep/src/execute.rs, `panic_if_testing`).

use crate::support::*;
use std::ffi::OsStr;
use std::time::{Duration, Instant};
use tempfile::tempdir;

#[test]
fn a_panicking_rank_aborts_the_job_and_the_runs_it_committed_resume() {
    let t = tempdir().unwrap();
    // Rank 0 gets a point of 10⁹ steps (minutes of work), rank 1 ten short ones.
    let grid = write_grid(t.path(), &uneven_grid(1_000_000_000));
    let out = t.path().join("aborted");
    let args = [
        OsStr::new("sweep"),
        grid.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
        OsStr::new("--flush-runs"),
        OsStr::new("1"),
    ];
    // Rank 1 commits its runs one part each and panics after the fourth;
    // rank 0, deep in its long run, must be taken down with it. Without
    // the abort, rank 0 would wait (or work) far beyond the limit.
    let start = Instant::now();
    let o = mpirun(
        &args,
        &["SHARPSWEEP_TEST_PANIC_AFTER_RUNS=4"],
        Duration::from_secs(90),
    );
    let (took, stderr) = (start.elapsed(), String::from_utf8_lossy(&o.stderr));
    assert!(!o.status.success(), "the job must fail: {stderr}");
    assert!(
        stderr.contains("a rank panicked: aborting the MPI job"),
        "{stderr}"
    );
    eprintln!("the job ended {took:?} after it started");

    // Exactly the four committed runs are on disk, each once, readable.
    let done = run_ids(&out);
    assert_eq!(done.len(), 4, "{done:?}");
    let status = bin().arg("status").arg(&out).output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.lines().any(|l| l.split_whitespace().eq(["done", "4"])),
        "{text}"
    );

    // Rank 1's points are shard 1 of 2: resuming that shard in one process
    // finishes them, and gives what an undisturbed run of the shard gives.
    let o = sweep(&grid, &out, &["--shard", "1/2", "--threads", "1"]);
    assert!(o.status.success());
    let fresh = t.path().join("fresh");
    sweep(&grid, &fresh, &["--shard", "1/2", "--threads", "1"]);
    assert_eq!(run_ids(&fresh).len(), 10);
    assert_same_dataset(&out, &fresh);
}
