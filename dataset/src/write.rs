//! Writing a dataset's files so that a reader never sees half of one: the
//! bytes go to a hidden temporary name (DuckDB globs, pandas and pyarrow
//! skip names starting with `.`), are sealed with their checksum
//! ([`crate::checksum`]) and fsynced, and only then renamed into place; the
//! directory is fsynced so the rename survives a crash.

use crate::checksum::{HashingWriter, PLACEHOLDER, seal};
use crate::encode::write_parquet;
use crate::metadata::{
    KEY_CHECKSUM, KEY_CONFIG, KEY_SCHEMA_VERSION, KEY_TABLE, KEY_TOOL_VERSION, SCHEMA_VERSION,
};
use arrow_array::RecordBatch;
use parquet::file::metadata::KeyValue;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub use crate::encode::ROW_GROUP_ROWS;

/// What a file says about itself in its key-value metadata.
#[derive(Clone, Debug)]
pub struct FileMeta<'a> {
    /// [`TABLE_RUNS`](crate::metadata::TABLE_RUNS) or
    /// [`TABLE_TRAJECTORY`](crate::metadata::TABLE_TRAJECTORY).
    pub table: &'a str,
    /// The configuration (a run's or a grid's), as JSON.
    pub config_json: &'a str,
}

/// The footer's key-value metadata: the contract's keys, `extra`, and the
/// checksum's placeholder last.
fn key_values(meta: &FileMeta, extra: &[(&str, String)]) -> Vec<KeyValue> {
    let kv = |k: &str, v: String| KeyValue::new(k.to_string(), v);
    let mut pairs = vec![
        kv(KEY_SCHEMA_VERSION, SCHEMA_VERSION.to_string()),
        kv(KEY_TOOL_VERSION, env!("CARGO_PKG_VERSION").to_string()),
        kv(KEY_TABLE, meta.table.to_string()),
        kv(KEY_CONFIG, meta.config_json.to_string()),
    ];
    pairs.extend(extra.iter().map(|(k, v)| kv(k, v.clone())));
    pairs.push(kv(KEY_CHECKSUM, PLACEHOLDER.to_string()));
    pairs
}

/// The hidden temporary name `path` is written under before the rename.
pub fn temporary_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// The file a hidden temporary was going to become: `.x.tmp-123` → `x`.
pub fn temporary_target(temp: &str) -> Option<&str> {
    let inner = temp.strip_prefix('.')?;
    Some(&inner[..inner.rfind(".tmp-")?])
}

/// Writes `batches` (all of one schema) to `path` atomically, with
/// `extra` key-value metadata (a checkpoint's state, the parts a compacted
/// part replaces); returns the file's checksum.
pub fn write_atomic(
    path: &Path,
    batches: &[RecordBatch],
    meta: &FileMeta,
    extra: &[(&str, String)],
) -> io::Result<u32> {
    let Some(first) = batches.first() else {
        return Err(io::Error::other("nothing to write"));
    };
    let tmp = temporary_name(path);
    let result = (|| {
        // Read as well as written: sealing reads the footer back.
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        let file = HashingWriter::new(file);
        let schema = first.schema();
        let (mut file, crc) =
            write_parquet(file, &schema, batches, key_values(meta, extra))?.finish();
        seal(&mut file, crc)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        sync_dir(path.parent().unwrap_or(Path::new(".")))?;
        Ok(crc)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes a small file (JSON) atomically: hidden temporary, fsync, rename.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temporary_name(path);
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        sync_dir(path.parent().unwrap_or(Path::new(".")))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Makes a directory's entries (a rename, a new file) durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::builder::{Float64Builder, ListBuilder};
    use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
    use parquet::basic::Compression;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use std::sync::Arc;

    #[test]
    fn floats_are_stored_uncompressed_lists_without_statistics_and_the_rest_compressed() {
        let mut theta = ListBuilder::new(Float64Builder::new());
        for k in 0..3 {
            theta
                .values()
                .append_slice(&[0.5 * f64::from(k), -1.25, 3.0]);
            theta.append(true);
        }
        let arrays: [(&str, ArrayRef); 4] = [
            ("loss", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0]))),
            ("step", Arc::new(Int64Array::from(vec![0, 10, 100]))),
            ("theta", Arc::new(theta.finish())),
            ("run_id", Arc::new(StringArray::from(vec!["a", "b", "c"]))),
        ];
        let batch = RecordBatch::try_from_iter(arrays).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part.parquet");
        let meta = FileMeta {
            table: "runs",
            config_json: "{}",
        };
        write_atomic(&path, std::slice::from_ref(&batch), &meta, &[]).unwrap();
        let reader = SerializedFileReader::new(File::open(&path).unwrap()).unwrap();
        let group = reader.metadata().row_group(0);
        let column = |path: &str| {
            let c = (group.columns().iter())
                .find(|c| c.column_path().string() == path)
                .unwrap_or_else(|| panic!("{path}"));
            let zstd = matches!(c.compression(), Compression::ZSTD(_));
            assert!(zstd || c.compression() == Compression::UNCOMPRESSED);
            (zstd, c.statistics().is_some())
        };
        // (compressed, with statistics)
        assert_eq!(column("theta.list.item"), (false, false));
        assert_eq!(column("loss"), (false, true));
        assert_eq!(column("step"), (true, true));
        assert_eq!(column("run_id"), (true, true));
        // The values read back as written.
        let back = parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(
            File::open(&path).unwrap(),
            16,
        )
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
        assert_eq!(back, batch);
    }
}
