//! Determinism across MPI ranks: `mpirun -np 2 sharpsweep sweep` writes the
//! same dataset content as a one-thread sweep, and finishes whichever rank
//! is done first. Built only with `--features mpi`; needs OpenMPI's `mpirun`
//! (.ci/suites/engine.sh runs it).

use crate::support::*;
use std::ffi::OsStr;
use std::path::Path;
use std::time::Duration;
use tempfile::tempdir;

/// `mpirun -np 2 sharpsweep sweep GRID --out OUT`, which must succeed.
fn mpirun_sweep(grid: &Path, out: &Path) -> String {
    let args = [
        OsStr::new("sweep"),
        grid.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
    ];
    let o = mpirun(&args, &[], Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    stdout
}

#[test]
fn two_mpi_ranks_write_the_same_dataset_as_one_thread() {
    let t = tempdir().unwrap();
    let grid = write_grid(t.path(), SMALL_GRID);
    let (single, ranks) = (t.path().join("single"), t.path().join("ranks"));
    sweep(&grid, &single, &["--threads", "1"]);
    let stdout = mpirun_sweep(&grid, &ranks);
    // Rank 0 alone reports, for the whole job.
    assert_eq!(
        stdout.matches("sweep: 48 of 48 points done").count(),
        1,
        "{stdout}"
    );
    let names: Vec<String> = parts(&ranks, "runs")
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("part-s0of2-")),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.starts_with("part-s1of2-")),
        "{names:?}"
    );
    assert_same_dataset(&ranks, &single);

    // Resuming a finished dataset: both ranks end at once, in either order.
    for _ in 0..3 {
        let stdout = mpirun_sweep(&grid, &ranks);
        assert!(
            stdout.contains("48 of 48 points done (48 before, 0 now"),
            "{stdout}"
        );
    }
    assert_same_dataset(&ranks, &single);
}

/// Rank 1 reports its end while rank 0 still works on its long point.
#[test]
fn rank_zero_collects_a_rank_that_finished_long_before_it() {
    let t = tempdir().unwrap();
    let grid = write_grid(t.path(), &uneven_grid(1_500_000));
    let out = t.path().join("ranks");
    let stdout = mpirun_sweep(&grid, &out);
    assert!(
        stdout.contains("11 of 11 points done (0 before, 11 now"),
        "{stdout}"
    );
    assert_eq!(run_ids(&out).len(), 11);
}
