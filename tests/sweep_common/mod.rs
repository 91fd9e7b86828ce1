//! Helpers of the sweep tests: run the real binary, and read a dataset's
//! content independently of the engine (every column but wall_seconds,
//! floats by their bits, rows sorted).

#![allow(dead_code)]

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sharpsweep"))
}

/// Runs `sharpsweep sweep GRID --out OUT ARGS… --quiet`, asserting success.
pub fn sweep(grid: &Path, out: &Path, args: &[&str]) -> Output {
    let o = bin()
        .arg("sweep")
        .arg(grid)
        .arg("--out")
        .arg(out)
        .args(args)
        .arg("--quiet")
        .output()
        .expect("sharpsweep runs");
    assert!(
        o.status.success(),
        "sweep failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
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

fn cell(a: &dyn Array, i: usize) -> String {
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
                .map(|j| cell(l.as_ref(), j))
                .collect::<Vec<_>>()
                .join(";")
        }
        t => panic!("unexpected column type {t}"),
    }
}

fn rows(batch: &RecordBatch) -> Vec<String> {
    let schema = batch.schema();
    (0..batch.num_rows())
        .map(|i| {
            schema
                .fields()
                .iter()
                .zip(batch.columns())
                .filter(|(f, _)| f.name() != "wall_seconds")
                .map(|(f, c)| format!("{}={}", f.name(), cell(c.as_ref(), i)))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

/// Every row of `dir/table`'s parts, sorted.
pub fn table(dir: &Path, table: &str) -> Vec<String> {
    let mut out = Vec::new();
    for p in parts(dir, table) {
        let f = std::fs::File::open(&p).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(f)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .build()
            .unwrap();
        for b in reader {
            out.extend(rows(&b.unwrap()));
        }
    }
    out.sort();
    out
}

/// The run_ids of the runs table, sorted, duplicates kept.
pub fn run_ids(dir: &Path) -> Vec<String> {
    let mut ids: Vec<String> = table(dir, "runs")
        .iter()
        .map(|r| r.split('|').next().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// Asserts two datasets hold the same runs and trajectories, and that
/// neither holds a run twice.
pub fn assert_same_content(a: &Path, b: &Path) {
    let (ra, rb) = (table(a, "runs"), table(b, "runs"));
    assert!(!ra.is_empty(), "{} is empty", a.display());
    let mut ids = run_ids(b);
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "{}: a run_id appears twice", b.display());
    assert_eq!(ra.len(), rb.len(), "number of runs");
    assert!(ra == rb, "runs tables differ");
    let (ta, tb) = (table(a, "trajectories"), table(b, "trajectories"));
    assert_eq!(ta.len(), tb.len(), "number of trajectory rows");
    assert!(ta == tb, "trajectories tables differ");
}
