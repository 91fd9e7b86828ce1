//! Reading a part's footer metadata and its string columns, with every
//! failure a damage (`io::ErrorKind::InvalidData`) naming what broke.

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::fs::File;
use std::io;
use std::path::Path;

fn damaged(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

fn builder(path: &Path) -> io::Result<ParquetRecordBatchReaderBuilder<File>> {
    ParquetRecordBatchReaderBuilder::try_new(File::open(path)?).map_err(damaged)
}

/// The file's key-value metadata, in file order.
pub fn key_values(path: &Path) -> io::Result<Vec<(String, String)>> {
    let b = builder(path)?;
    Ok(b.metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .map(|k| (k.key.clone(), k.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default())
}

/// One value of a string column (Utf8, LargeUtf8 or Utf8View: pandas and
/// polars rewrite strings as the latter two).
fn string_at(a: &dyn Array, i: usize) -> Option<String> {
    if a.is_null(i) {
        return None;
    }
    Some(match a.data_type() {
        DataType::Utf8 => a.as_string::<i32>().value(i).to_string(),
        DataType::LargeUtf8 => a.as_string::<i64>().value(i).to_string(),
        DataType::Utf8View => a.as_string_view().value(i).to_string(),
        _ => return None,
    })
}

/// Reads string `columns` of a Parquet file in full (which decodes every
/// page of those columns and checks the row count), row by row.
pub fn read_strings(path: &Path, columns: &[&str]) -> io::Result<Vec<Vec<Option<String>>>> {
    let builder = builder(path)?;
    let expected = builder.metadata().file_metadata().num_rows();
    let mask = ProjectionMask::columns(builder.parquet_schema(), columns.iter().copied());
    let reader = builder.with_projection(mask).build().map_err(damaged)?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch: RecordBatch = batch.map_err(damaged)?;
        let cols = columns
            .iter()
            .map(|c| {
                batch
                    .column_by_name(c)
                    .filter(|a| {
                        matches!(
                            a.data_type(),
                            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                        )
                    })
                    .ok_or_else(|| damaged(format!("no string column {c}")))
            })
            .collect::<io::Result<Vec<_>>>()?;
        for i in 0..batch.num_rows() {
            rows.push(cols.iter().map(|a| string_at(a.as_ref(), i)).collect());
        }
    }
    if rows.len() as i64 != expected {
        return Err(damaged(format!(
            "{} rows read, its footer says {expected}",
            rows.len()
        )));
    }
    Ok(rows)
}

/// Decodes every column of every row group: the full check of a file that
/// has no checksum (`sharpsweep verify`).
pub fn decode_all(path: &Path) -> io::Result<u64> {
    let builder = builder(path)?;
    let expected = builder.metadata().file_metadata().num_rows();
    let mut rows = 0u64;
    for batch in builder.build().map_err(damaged)? {
        rows += batch.map_err(damaged)?.num_rows() as u64;
    }
    if rows as i64 != expected {
        return Err(damaged(format!(
            "{rows} rows read, its footer says {expected}"
        )));
    }
    Ok(rows)
}

/// One key of the file's key-value metadata.
pub fn key_value(path: &Path, key: &str) -> io::Result<Option<String>> {
    Ok(key_values(path)?
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v))
}

/// Every batch of a Parquet file, with the schema's metadata dropped so
/// that batches of different files (and fresh ones) share one schema.
pub fn read_batches(path: &Path) -> io::Result<Vec<RecordBatch>> {
    let mut out = Vec::new();
    for b in builder(path)?.build().map_err(damaged)? {
        let b = b.map_err(damaged)?;
        let schema = std::sync::Arc::new(
            b.schema()
                .as_ref()
                .clone()
                .with_metadata(std::collections::HashMap::new()),
        );
        out.push(b.with_schema(schema).map_err(damaged)?);
    }
    Ok(out)
}
