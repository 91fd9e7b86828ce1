//! Writing a dataset's files so that a reader never sees half of one: the
//! bytes go to a hidden temporary name (DuckDB globs, pandas and pyarrow
//! skip names starting with `.`), are sealed with their checksum
//! ([`crate::checksum`]) and fsynced, and only then renamed into place; the
//! directory is fsynced so the rename survives a crash.

use crate::checksum::{HashingWriter, PLACEHOLDER, seal};
use crate::metadata::{
    KEY_CHECKSUM, KEY_CONFIG, KEY_SCHEMA_VERSION, KEY_TABLE, KEY_TOOL_VERSION, SCHEMA_VERSION,
};
use arrow_array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Rows per row group: large enough for good compression and fast scans,
/// small enough that a reader streaming row groups stays in memory.
pub const ROW_GROUP_ROWS: usize = 65_536;

/// What a file says about itself in its key-value metadata.
#[derive(Clone, Debug)]
pub struct FileMeta<'a> {
    /// [`TABLE_RUNS`](crate::metadata::TABLE_RUNS) or
    /// [`TABLE_TRAJECTORY`](crate::metadata::TABLE_TRAJECTORY).
    pub table: &'a str,
    /// The configuration (a run's or a grid's), as JSON.
    pub config_json: &'a str,
}

fn properties(meta: &FileMeta, extra: &[(&str, String)]) -> WriterProperties {
    let kv = |k: &str, v: String| KeyValue::new(k.to_string(), v);
    let mut pairs = vec![
        kv(KEY_SCHEMA_VERSION, SCHEMA_VERSION.to_string()),
        kv(KEY_TOOL_VERSION, env!("CARGO_PKG_VERSION").to_string()),
        kv(KEY_TABLE, meta.table.to_string()),
        kv(KEY_CONFIG, meta.config_json.to_string()),
    ];
    pairs.extend(extra.iter().map(|(k, v)| kv(k, v.clone())));
    pairs.push(kv(KEY_CHECKSUM, PLACEHOLDER.to_string()));
    WriterProperties::builder()
        // Level -1: metrics and weights are floats, which zstd's matching
        // barely shortens; at negative levels it leaves their bytes
        // unencoded instead of Huffman coding them, for files 4-11 %
        // larger than level 1 at under half its cost, level 1's being a
        // fifth of a tiny run's engine cost (docs/performance.md, "Sweep
        // overhead").
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(-1).expect("valid level"),
        ))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        // Dictionaries only pay for repeated values; metrics and weights
        // never repeat, and hashing each value into one was the largest
        // cost of writing a sweep's parts (docs/performance.md). zstd
        // still compresses the repeated strings (run_id, status).
        .set_dictionary_enabled(false)
        .set_key_value_metadata(Some(pairs))
        .build()
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
        let mut writer = ArrowWriter::try_new(file, first.schema(), Some(properties(meta, extra)))
            .map_err(io::Error::other)?;
        for b in batches {
            writer.write(b).map_err(io::Error::other)?;
        }
        let (mut file, crc) = writer.into_inner().map_err(io::Error::other)?.finish();
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
