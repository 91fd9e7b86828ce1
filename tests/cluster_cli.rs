//! `sharpsweep slurm script` from the command line: the script names this
//! binary, the grid and the output by absolute path, and refuses a grid or
//! flags that would fail only once the job runs.

use crate::support::*;
use std::process::{Command, Output};

fn slurm_script(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(binary())
        .args(["slurm", "script"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn script_names_binary_grid_and_output_by_absolute_path() {
    let dir = tempfile::tempdir().unwrap();
    grid_file(dir.path(), 1000);
    let o = slurm_script(
        dir.path(),
        &["grid.toml", "--out", "results", "--array", "4%2"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let script = String::from_utf8(o.stdout).unwrap();
    let root = dir.path().canonicalize().unwrap();
    let line = |name: &str| format!("\n{name}={}\n", root.join(name.to_lowercase()).display());
    assert!(
        script.contains(&format!("\nGRID={}\n", root.join("grid.toml").display())),
        "{script}"
    );
    assert!(
        script.contains(&line("OUT").replace("out\n", "results\n")),
        "{script}"
    );
    let bin = binary().canonicalize().unwrap();
    assert!(
        script.contains(&format!("\nSHARPSWEEP={}\n", bin.display())),
        "{script}"
    );
    assert!(script.contains("#SBATCH --array=0-3%2\n"), "{script}");
    assert!(
        script.contains("#SBATCH --job-name=sharpsweep-grid\n"),
        "{script}"
    );
}

#[test]
fn write_puts_the_script_in_a_file_and_log_dir_is_created() {
    let dir = tempfile::tempdir().unwrap();
    grid_file(dir.path(), 1000);
    let o = slurm_script(
        dir.path(),
        &[
            "grid.toml",
            "--out",
            "r",
            "--mpi",
            "--ntasks-per-node",
            "2",
            "--log-dir",
            "logs",
            "--write",
            "job.sh",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let script = std::fs::read_to_string(dir.path().join("job.sh")).unwrap();
    assert!(
        script.contains("srun --mpi=pmix --kill-on-bad-exit=1"),
        "{script}"
    );
    assert!(dir.path().join("logs").is_dir());
    let logs = dir.path().canonicalize().unwrap().join("logs");
    assert!(
        script.contains(&format!("#SBATCH --output={}/%x-%j.out\n", logs.display())),
        "{script}"
    );
}

#[test]
fn invalid_grids_and_flags_are_refused_before_anything_is_queued() {
    let dir = tempfile::tempdir().unwrap();
    grid_file(dir.path(), 1000);
    std::fs::write(dir.path().join("bad.toml"), "[[grid]]\neta = -1\n").unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["missing.toml", "--out", "r"], "missing.toml"),
        (&["bad.toml", "--out", "r"], "eta"),
        (
            &["grid.toml", "--out", "r", "--array", "5"],
            "--array: 5 tasks for a grid of 4 points",
        ),
        (&["grid.toml", "--out", "r", "--array", "0"], "--array"),
        (&["grid.toml", "--out", "r", "--time", "1:30"], "--time"),
        (
            &["grid.toml", "--out", "r", "--partition", "a b"],
            "--partition",
        ),
        (&["grid.toml", "--out", "r", "--", "--set", "eta=0"], "eta"),
        (&["grid.toml", "--out", "r", "--mpi"], "--ntasks-per-node"),
        (&["grid.toml", "--out", "r", "--nodes", "2"], "--mpi"),
    ];
    for (args, names) in cases {
        let o = slurm_script(dir.path(), args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(names), "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{args:?}");
    }
}
