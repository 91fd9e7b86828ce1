//! Shared helpers of the integration tests: the real binary, scratch
//! directories, and Parquet files read back with the parquet crate.
#![allow(dead_code)] // each test target uses its own subset

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

pub struct Output {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the `sharpsweep` binary built for this test run.
pub fn run_bin(args: &[&str]) -> Output {
    let o = Command::new(env!("CARGO_BIN_EXE_sharpsweep"))
        .args(args)
        .output()
        .expect("the sharpsweep binary runs");
    Output {
        status: o.status,
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// A scratch directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let p = std::env::temp_dir().join(format!(
            "sharpsweep-test-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    pub fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A whole Parquet file in memory, for comparing content.
#[derive(Debug, PartialEq)]
pub struct ParquetTable {
    batch: RecordBatch,
    metadata: HashMap<String, String>,
}

impl ParquetTable {
    pub fn read(path: &Path) -> Self {
        let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        let metadata = builder
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .map(|kv| {
                kv.iter()
                    .map(|k| (k.key.clone(), k.value.clone().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
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
