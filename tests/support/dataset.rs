//! Datasets and Parquet files read back with the parquet crate,
//! independently of the engine, as a user's reader would: a whole file as
//! a [`ParquetTable`], or a dataset's rows as text (every column but
//! `wall_seconds`, floats by their bits, rows sorted) for comparing
//! content.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A reader of the Parquet file at `path`, which must open.
pub fn open(path: &Path) -> ParquetRecordBatchReaderBuilder<File> {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A file's key-value metadata.
pub fn key_values(builder: &ParquetRecordBatchReaderBuilder<File>) -> HashMap<String, String> {
    builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .map(|k| (k.key.clone(), k.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
}

/// Every batch of a Parquet file.
pub fn read_batches(file: &Path) -> Vec<RecordBatch> {
    open(file).build().unwrap().map(|b| b.unwrap()).collect()
}

/// A whole Parquet file in memory, for comparing content.
#[derive(Debug, PartialEq)]
pub struct ParquetTable {
    batch: RecordBatch,
    metadata: HashMap<String, String>,
}

impl ParquetTable {
    pub fn read(path: &Path) -> Self {
        let builder = open(path);
        let metadata = key_values(&builder);
        let schema = builder.schema().clone();
        let batches: Vec<RecordBatch> = builder.build().unwrap().map(|b| b.unwrap()).collect();
        let batch = arrow_select::concat::concat_batches(&schema, &batches).unwrap();
        Self { batch, metadata }
    }

    /// The same table without one column (e.g. `wall_seconds`, the only
    /// column that is not a function of the configuration), and without
    /// the file metadata (whose checksums cover `wall_seconds` too).
    pub fn without(mut self, column: &str) -> Self {
        if let Ok(i) = self.batch.schema().index_of(column) {
            self.batch.remove_column(i);
        }
        self.metadata.clear();
        let schema = self
            .batch
            .schema()
            .as_ref()
            .clone()
            .with_metadata(HashMap::new());
        self.batch = RecordBatch::try_new(Arc::new(schema), self.batch.columns().to_vec()).unwrap();
        self
    }

    pub fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }
    pub fn has(&self, column: &str) -> bool {
        self.batch.schema().index_of(column).is_ok()
    }
    pub fn metadata(&self) -> &HashMap<String, String> {
        &self.metadata
    }
    fn col(&self, name: &str) -> &dyn Array {
        self.batch
            .column_by_name(name)
            .unwrap_or_else(|| panic!("no column {name}"))
            .as_ref()
    }
    /// Float column, nulls as NaN.
    pub fn column_f64(&self, name: &str) -> Vec<f64> {
        let a = self.col(name).as_primitive::<Float64Type>();
        (0..a.len())
            .map(|i| if a.is_null(i) { f64::NAN } else { a.value(i) })
            .collect()
    }
    pub fn column_i64(&self, name: &str) -> Vec<i64> {
        self.col(name).as_primitive::<Int64Type>().values().to_vec()
    }
    pub fn column_str(&self, name: &str) -> Vec<String> {
        let a = self.col(name).as_string::<i32>();
        (0..a.len()).map(|i| a.value(i).to_owned()).collect()
    }
    pub fn column_list_f64(&self, name: &str) -> Vec<Vec<f64>> {
        let a = self.col(name).as_list::<i32>();
        (0..a.len())
            .map(|i| a.value(i).as_primitive::<Float64Type>().values().to_vec())
            .collect()
    }
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

/// The number of run rows in a dataset (0 before the first part).
pub fn run_count(dir: &Path) -> usize {
    rows(dir, "runs").len()
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
