//! Writing synthetic datasets for the analyze tests, as sharpsweep's own
//! writer lays them out (schema version in the file's key-value metadata,
//! sealed with the file's checksum).

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use sharpsweep_dataset::checksum::{HashingWriter, PLACEHOLDER, seal};
use sharpsweep_dataset::metadata::{KEY_CHECKSUM, KEY_SCHEMA_VERSION};
use std::path::Path;
use std::sync::Arc;

/// Writes `columns` (all nullable) to a Parquet file of schema `version`,
/// in row groups of `row_group` rows.
pub fn write_parquet(path: &Path, columns: Vec<(&str, ArrayRef)>, version: &str, row_group: usize) {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap();
    let props = WriterProperties::builder()
        .set_key_value_metadata(Some(vec![
            KeyValue::new(KEY_SCHEMA_VERSION.into(), version.to_string()),
            KeyValue::new(KEY_CHECKSUM.into(), PLACEHOLDER.to_string()),
        ]))
        .set_max_row_group_row_count(Some(row_group))
        .build();
    let file = std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .unwrap();
    let mut w =
        ArrowWriter::try_new(HashingWriter::new(file), batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    let (mut file, crc) = w.into_inner().unwrap().finish();
    seal(&mut file, crc).unwrap();
}
