//! Helpers of the sweep, MPI and cluster tests: run the real binary, and
//! read a dataset's content independently of the engine, as a user's
//! reader would (every column but wall_seconds, floats by their bits, rows
//! sorted).

#![allow(dead_code)]

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::hash::{BuildHasher, RandomState};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sharpsweep"))
}

/// Runs `sharpsweep sweep GRID --out OUT ARGS… --quiet`, asserting success.
pub fn sweep(grid: &Path, out: &Path, args: &[&str]) -> Output {
    let o = try_sweep(grid, out, args);
    assert!(
        o.status.success(),
        "sweep failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Runs `sharpsweep sweep GRID --out OUT ARGS… --quiet`, which may fail.
pub fn try_sweep(grid: &Path, out: &Path, args: &[&str]) -> Output {
    bin()
        .arg("sweep")
        .arg(grid)
        .arg("--out")
        .arg(out)
        .args(args)
        .arg("--quiet")
        .output()
        .expect("sharpsweep runs")
}

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
        .arg(env!("CARGO_BIN_EXE_sharpsweep"))
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

pub fn write_grid(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("grid.toml");
    std::fs::write(&p, text).unwrap();
    p
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

/// One point of `long_steps` steps, which the cost-balanced split of 2 MPI
/// ranks gives to rank 0 alone, and ten short ones, for rank 1.
pub fn uneven_grid(long_steps: u64) -> String {
    format!(
        "seed = 5\n[[grid]]\nsteps = {long_steps}\nlog_points = 5\n\
         [[grid]]\nsteps = 1000\neta = [0.01, 0.02]\nseeds = 5\nlog_points = 5\n"
    )
}

/// The visible `*.parquet` files of `dir/table`.
pub fn parts(dir: &Path, table: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join(table))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| {
        let n = p.file_name().unwrap().to_string_lossy();
        !n.starts_with('.') && n.ends_with(".parquet")
    });
    v.sort();
    v
}

/// Every batch of a Parquet file, read with the parquet crate.
pub fn read_batches(file: &Path) -> Vec<RecordBatch> {
    let f = std::fs::File::open(file).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .build()
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
}

/// One value as text: floats by their bits, so equal text means equal bits.
fn value(a: &dyn Array, i: usize) -> String {
    if a.is_null(i) {
        return "null".into();
    }
    match a.data_type() {
        DataType::Utf8 => a.as_string::<i32>().value(i).to_string(),
        DataType::Int64 => a.as_primitive::<Int64Type>().value(i).to_string(),
        DataType::UInt64 => a.as_primitive::<UInt64Type>().value(i).to_string(),
        DataType::Boolean => a.as_boolean().value(i).to_string(),
        DataType::Float64 => format!("{:x}", a.as_primitive::<Float64Type>().value(i).to_bits()),
        DataType::List(_) => {
            let l = a.as_list::<i32>().value(i);
            (0..l.len())
                .map(|j| value(l.as_ref(), j))
                .collect::<Vec<_>>()
                .join(";")
        }
        t => panic!("unexpected column type {t}"),
    }
}

/// Each row of `batch` as `name=value` cells in schema order, every
/// column but `wall_seconds`.
fn batch_rows(batch: &RecordBatch) -> Vec<Vec<String>> {
    let schema = batch.schema();
    (0..batch.num_rows())
        .map(|i| {
            schema
                .fields()
                .iter()
                .zip(batch.columns())
                .filter(|(f, _)| f.name() != "wall_seconds")
                .map(|(f, c)| format!("{}={}", f.name(), value(c.as_ref(), i)))
                .collect()
        })
        .collect()
}

/// The rows of `dir/table` (`runs` or `trajectories`) from every visible
/// part, sorted, as DuckDB's `read_parquet('dir/table/*.parquet')` sees
/// them; none before the first part.
pub fn rows(dir: &Path, table: &str) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = parts(dir, table)
        .iter()
        .flat_map(|p| read_batches(p))
        .flat_map(|b| batch_rows(&b))
        .collect();
    out.sort();
    out
}

/// [`rows`] with each row's cells joined by `|`.
pub fn table(dir: &Path, table: &str) -> Vec<String> {
    rows(dir, table).iter().map(|r| r.join("|")).collect()
}

/// The value of column `name` in a row from [`rows`].
pub fn cell<'a>(row: &'a [String], name: &str) -> &'a str {
    let prefix = format!("{name}=");
    row.iter()
        .find_map(|c| c.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no column {name}"))
}

/// The run_ids of the runs table, sorted, duplicates kept.
pub fn run_ids(dir: &Path) -> Vec<String> {
    let mut ids: Vec<String> = rows(dir, "runs")
        .iter()
        .map(|r| cell(r, "run_id").to_string())
        .collect();
    ids.sort();
    ids
}

/// Asserts that dataset `got` holds the same runs and trajectories as
/// `want` (every column but `wall_seconds`), with no run or (run, step)
/// twice.
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
        if let Some((a, b)) = g.iter().zip(&w).find(|(a, b)| a != b) {
            panic!(
                "{table}: {} differs from {}:\n{}\n{}",
                got.display(),
                want.display(),
                a.join("|"),
                b.join("|")
            );
        }
    }
}

/// Starts `sharpsweep sweep GRID --out OUT` (2 threads, frequent parts and
/// checkpoints) `times` times and SIGKILLs it after a random 30–400 ms,
/// checking after each kill that no committed run_id appears twice.
/// Returns how many times it was killed mid-flight (not already finished).
pub fn sweep_killed_at_random_moments(grid: &Path, out: &Path, times: usize) -> usize {
    let mut kills = 0;
    for _ in 0..times {
        let mut child = bin()
            .args(["sweep", "--threads", "2", "--quiet", "--flush-runs", "3"])
            .args(["--flush-secs", "0.05", "--checkpoint-every", "0.02"])
            .arg(grid)
            .arg("--out")
            .arg(out)
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
