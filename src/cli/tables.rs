//! A dataset's tables as `show` and `export` read them: the Parquet files
//! that hold its live rows, and each value as text.
//!
//! The files come from the dataset contract (`sharpsweep_dataset`): a
//! single run's pair, or a sweep's live parts, so rows of parts that a
//! compaction replaced are not read twice and a damaged part is refused.

use super::CliError;
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use sharpsweep_dataset::layout::{RUNS, SINGLE_RUNS, SINGLE_TRAJECTORY, TRAJECTORIES};
use sharpsweep_dataset::{Damage, Layout, State, check_single_run, read_batches};
use std::path::{Path, PathBuf};

/// The two tables of a dataset.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    /// One row per run: configuration, status, final metrics.
    Runs,
    /// One row per recorded step of a run.
    Trajectories,
}

/// The files holding `table`'s live rows in the dataset `dir`.
pub fn live_files(dir: &Path, table: Table) -> Result<Vec<PathBuf>, CliError> {
    let failed = |e: std::io::Error| CliError::failure(format!("{}: {e}", dir.display()));
    let refuse = |d: Damage, fix: &str| {
        CliError::input(format!(
            "{}: damaged ({}); {fix}",
            dir.join(&d.file).display(),
            d.why
        ))
    };
    match Layout::of(dir) {
        Some(Layout::SingleRun) => {
            if let Some(d) = check_single_run(dir).map_err(failed)? {
                return Err(refuse(d, "run `sharpsweep run` again into this --out"));
            }
            let file = match table {
                Table::Runs => SINGLE_RUNS,
                Table::Trajectories => SINGLE_TRAJECTORY,
            };
            Ok(vec![dir.join(file)])
        }
        Some(Layout::Sweep) => {
            let state = State::read(dir).map_err(failed)?;
            if let Some(d) = state.damaged.first().cloned() {
                let fix = format!(
                    "`sharpsweep verify {0}` lists every damaged file; resuming the sweep \
                     (`sharpsweep sweep GRID --out {0}`) redoes their runs",
                    dir.display()
                );
                return Err(refuse(d, &fix));
            }
            let sub = match table {
                Table::Runs => RUNS,
                Table::Trajectories => TRAJECTORIES,
            };
            Ok(state
                .live
                .iter()
                .map(|p| dir.join(sub).join(&p.name))
                .collect())
        }
        None => Err(CliError::input(format!(
            "{}: not a sharpsweep dataset (expected runs.parquet + trajectory.parquet, or \
             runs/part-*.parquet + trajectories/part-*.parquet)",
            dir.display()
        ))),
    }
}

/// Every batch of one file.
pub fn batches(file: &Path) -> Result<Vec<RecordBatch>, CliError> {
    read_batches(file).map_err(|e| CliError::failure(format!("{}: {e}", file.display())))
}

/// One cell of a table as text.
#[derive(Debug, PartialEq)]
pub enum Value {
    Null,
    Scalar(String),
    /// A list column's values (a null item is empty text).
    List(Vec<String>),
}

/// The value in `row` of `column`, or the column's type if it is none that
/// sharpsweep writes (or pandas, polars and DuckDB rewrite them as).
pub fn value(column: &dyn Array, row: usize) -> Result<Value, String> {
    if column.is_null(row) {
        return Ok(Value::Null);
    }
    let items = match column.data_type() {
        DataType::List(_) => column.as_list::<i32>().value(row),
        DataType::LargeList(_) => column.as_list::<i64>().value(row),
        _ => return scalar(column, row).map(Value::Scalar),
    };
    (0..items.len())
        .map(|i| match items.is_null(i) {
            true => Ok(String::new()),
            false => scalar(items.as_ref(), i),
        })
        .collect::<Result<_, _>>()
        .map(Value::List)
}

/// A non-null scalar as text. Floats are written in the shortest form that
/// reads back as the same number (`{:?}`: 0.05, 1e-24, NaN, inf).
fn scalar(a: &dyn Array, i: usize) -> Result<String, String> {
    macro_rules! int {
        ($t:ty) => {
            a.as_primitive::<$t>().value(i).to_string()
        };
    }
    Ok(match a.data_type() {
        DataType::Utf8 => a.as_string::<i32>().value(i).to_string(),
        DataType::LargeUtf8 => a.as_string::<i64>().value(i).to_string(),
        DataType::Utf8View => a.as_string_view().value(i).to_string(),
        DataType::Boolean => a.as_boolean().value(i).to_string(),
        DataType::Float64 => format!("{:?}", a.as_primitive::<Float64Type>().value(i)),
        DataType::Float32 => format!("{:?}", a.as_primitive::<Float32Type>().value(i)),
        DataType::Int8 => int!(Int8Type),
        DataType::Int16 => int!(Int16Type),
        DataType::Int32 => int!(Int32Type),
        DataType::Int64 => int!(Int64Type),
        DataType::UInt8 => int!(UInt8Type),
        DataType::UInt16 => int!(UInt16Type),
        DataType::UInt32 => int!(UInt32Type),
        DataType::UInt64 => int!(UInt64Type),
        other => return Err(other.to_string()),
    })
}
