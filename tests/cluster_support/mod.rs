//! What the cluster tests share: a private copy of the binary, a small grid
//! whose runs last long enough to be interrupted, and an independent reader
//! that compares two datasets the way a user would (every column but
//! `wall_seconds`, sorted by run_id and step).

#![allow(dead_code)] // each test file uses a part

use arrow_array::{Array, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::fs::File;
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

/// The rows of a dataset table (`runs` or `trajectories`), each as one
/// string per column except `wall_seconds`, sorted; read with the parquet
/// crate from every visible `*.parquet` in `dir/table`, as DuckDB's
/// `read_parquet('dir/table/*.parquet')` would.
pub fn rows(dir: &Path, table: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(table))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            !name.starts_with('.') && name.ends_with(".parquet")
        })
        .collect();
    files.sort();
    for file in files {
        for batch in read_batches(&file) {
            rows.extend(batch_rows(&batch));
        }
    }
    rows.sort();
    rows
}

pub fn read_batches(file: &Path) -> Vec<RecordBatch> {
    let f = File::open(file).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .build()
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
}

/// Each row as `name=value` strings in schema order; floats print with
/// Rust's shortest round-trip form, so equal strings mean equal bits.
fn batch_rows(batch: &RecordBatch) -> Vec<Vec<String>> {
    let schema = batch.schema();
    (0..batch.num_rows())
        .map(|i| {
            schema
                .fields()
                .iter()
                .zip(batch.columns())
                .filter(|(f, _)| f.name() != "wall_seconds")
                .map(|(f, col)| format!("{}={:?}", f.name(), col.slice(i, 1)))
                .collect()
        })
        .collect()
}

/// The value of column `name` in a row from [`rows`].
pub fn cell<'a>(row: &'a [String], name: &str) -> &'a str {
    let prefix = format!("{name}=");
    row.iter()
        .find_map(|c| c.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no column {name}"))
}

/// Asserts that two datasets hold the same runs and trajectories, with no
/// run or (run, step) twice.
pub fn assert_same_dataset(got: &Path, want: &Path) {
    for (table, key) in [
        ("runs", &["run_id"][..]),
        ("trajectories", &["run_id", "step"][..]),
    ] {
        let (g, w) = (rows(got, table), rows(want, table));
        assert!(!w.is_empty(), "{table} of {} is empty", want.display());
        let mut keys: Vec<Vec<&str>> = g
            .iter()
            .map(|r| key.iter().map(|k| cell(r, k)).collect())
            .collect();
        keys.sort();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n, "{table} of {} repeats a key", got.display());
        assert_eq!(g.len(), w.len(), "{table}: row counts differ");
        for (a, b) in g.iter().zip(&w) {
            assert_eq!(
                a,
                b,
                "{table}: {} differs from {}",
                got.display(),
                want.display()
            );
        }
    }
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
    if dir.join("runs").is_dir() {
        rows(dir, "runs").len()
    } else {
        0
    }
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
