//! Determinism across MPI ranks: `mpirun -np 2 sharpsweep sweep` writes the
//! same dataset content as a one-thread sweep. Built only with
//! `--features mpi`; needs OpenMPI's `mpirun` (.ci/suites/engine.sh runs it).
#![cfg(feature = "mpi")]

mod sweep_common;

use std::process::Command;
use sweep_common::*;
use tempfile::tempdir;

#[test]
fn two_mpi_ranks_write_the_same_dataset_as_one_thread() {
    let t = tempdir().unwrap();
    let grid = write_grid(t.path(), SMALL_GRID);
    let (single, ranks) = (t.path().join("single"), t.path().join("ranks"));
    sweep(&grid, &single, &["--threads", "1"]);
    let o = Command::new("mpirun")
        .args(["-np", "2", "--oversubscribe", "--bind-to", "none"])
        .args(["-x", "RAYON_NUM_THREADS=1"])
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .arg(env!("CARGO_BIN_EXE_sharpsweep"))
        .arg("sweep")
        .arg(&grid)
        .arg("--out")
        .arg(&ranks)
        .output()
        .expect("mpirun runs");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
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
    assert_same_content(&single, &ranks);
}
