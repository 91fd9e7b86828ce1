//! Every Parquet file of a dataset carries a CRC-32 of all its bytes, so
//! that a damaged byte anywhere — in a data page, where a reader notices
//! nothing when the page is stored uncompressed, or in the footer — is
//! found before a number is read from the file.
//!
//! The parquet crate verifies page CRCs but does not write them, so the
//! checksum is the file's own. The writer puts the key
//! [`crate::metadata::KEY_CHECKSUM`] with the placeholder
//! value `00000000` into the footer's key-value metadata, hashes every byte
//! as it goes out ([`HashingWriter`]), and then overwrites the placeholder
//! in place with the eight hex digits ([`seal`]): a value of the same
//! length, so the footer stays what it was. A checker ([`verify`]) hashes
//! the file reading those eight bytes as the placeholder. Readers that know
//! nothing of it (pandas, DuckDB) see one more metadata key.

use crate::metadata::{KEY_CHECKSUM, schema_version};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// The value written before the checksum is known.
pub const PLACEHOLDER: &str = "00000000";

/// The first schema version whose files carry a checksum.
const FIRST_SEALED_VERSION: u32 = 4;

/// Bytes read at a time when hashing a file.
const CHUNK: usize = 1 << 20;

/// A writer that hashes what passes through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: crc32fast::Hasher,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: crc32fast::Hasher::new(),
        }
    }

    /// The inner writer and the CRC-32 of every byte written.
    pub fn finish(self) -> (W, u32) {
        (self.inner, self.hasher.finalize())
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// What [`verify`] found in an undamaged file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The checksum matches: the file is as it was written.
    Intact(u32),
    /// No checksum and no sharpsweep metadata at all: a file rewritten by
    /// another tool (pandas, polars), or written before checksums. Only
    /// decoding it can tell whether it is whole.
    Unsealed,
}

/// The footer of a Parquet file: its bytes and where they start.
struct Footer {
    start: u64,
    bytes: Vec<u8>,
}

fn damaged(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.into())
}

fn read_footer(file: &mut File, len: u64) -> io::Result<Footer> {
    if len < 12 {
        return Err(damaged(format!("{len} bytes: too short for Parquet")));
    }
    let mut tail = [0u8; 8];
    file.seek(SeekFrom::Start(len - 8))?;
    file.read_exact(&mut tail)?;
    if &tail[4..] != b"PAR1" {
        return Err(damaged("no Parquet magic at the end (truncated?)"));
    }
    let footer_len = u64::from(u32::from_le_bytes(tail[..4].try_into().expect("4 bytes")));
    let Some(start) = len.checked_sub(8 + footer_len).filter(|&s| s >= 4) else {
        return Err(damaged("footer length beyond the file"));
    };
    let mut bytes = vec![0u8; footer_len as usize];
    file.seek(SeekFrom::Start(start))?;
    file.read_exact(&mut bytes)?;
    Ok(Footer { start, bytes })
}

/// Where in the file the checksum's eight digits are, if the footer has
/// the key. Thrift's compact encoding writes a `KeyValue` as the key's
/// bytes, then the header of field 2 (binary: `0x18`) and the value's
/// length (`0x08`), then the value.
fn digits_offset(footer: &Footer) -> Option<u64> {
    let key = KEY_CHECKSUM.as_bytes();
    let mut from = 0;
    while let Some(at) = find(&footer.bytes[from..], key) {
        let end = from + at + key.len();
        if footer.bytes.get(end..end + 2) == Some(&[0x18, 0x08][..])
            && footer.bytes.len() >= end + 2 + PLACEHOLDER.len()
        {
            return Some(footer.start + (end + 2) as u64);
        }
        from = end;
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Overwrites the placeholder of a just-written file with `crc`, the
/// CRC-32 its writer computed (placeholder included).
pub fn seal(file: &mut File, crc: u32) -> io::Result<()> {
    let len = file.seek(SeekFrom::End(0))?;
    let footer = read_footer(file, len)?;
    let at = digits_offset(&footer).ok_or_else(|| io::Error::other("no checksum key written"))?;
    file.seek(SeekFrom::Start(at))?;
    file.write_all(format!("{crc:08x}").as_bytes())
}

/// The checksum a file records, read from its footer without hashing the
/// file: for a reader that knows the bytes were checked (by another rank
/// of the same job, a moment ago).
pub fn recorded(path: &Path) -> io::Result<Verdict> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let footer = read_footer(&mut file, len)?;
    match digits_offset(&footer) {
        Some(at) => parse_digits(&footer, at).map(Verdict::Intact),
        None => unsealed(path),
    }
}

/// A file whose footer has no checksum: one written before checksums
/// (schema version 3) or by another tool is unsealed; one that claims a
/// version that writes checksums lost its checksum key to damage (one
/// damaged byte can spoil that key, never the version key too).
fn unsealed(path: &Path) -> io::Result<Verdict> {
    let kv = crate::strings::key_values(path)?;
    match schema_version(&kv).map(str::parse::<u32>) {
        Some(Ok(v)) if v < FIRST_SEALED_VERSION => Ok(Verdict::Unsealed),
        None => Ok(Verdict::Unsealed),
        Some(_) => Err(damaged("its checksum is missing from the footer")),
    }
}

/// The eight hex digits at file offset `at`.
fn parse_digits(footer: &Footer, at: u64) -> io::Result<u32> {
    let digits = &footer.bytes[(at - footer.start) as usize..][..PLACEHOLDER.len()];
    std::str::from_utf8(digits)
        .ok()
        .and_then(|d| u32::from_str_radix(d, 16).ok())
        .ok_or_else(|| damaged("its checksum is not hex digits"))
}

/// Checks a file against its checksum, reading every byte. An `Err` of
/// kind `InvalidData` means damage, and says what is wrong; other kinds are
/// the file system's (not found, permission).
pub fn verify(path: &Path) -> io::Result<Verdict> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let footer = read_footer(&mut file, len)?;
    let Some(at) = digits_offset(&footer) else {
        return unsealed(path);
    };
    let expected = parse_digits(&footer, at)?;
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = vec![0u8; CHUNK];
    file.seek(SeekFrom::Start(0))?;
    let mut pos = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let chunk = &mut buf[..n];
        // The digits were hashed as the placeholder.
        let (lo, hi) = (pos, pos + n as u64);
        let (d0, d1) = (at, at + PLACEHOLDER.len() as u64);
        if lo < d1 && d0 < hi {
            for i in d0.max(lo)..d1.min(hi) {
                chunk[(i - lo) as usize] = b'0';
            }
        }
        hasher.update(chunk);
        pos = hi;
    }
    if pos != len {
        return Err(damaged("the file changed while it was read"));
    }
    let actual = hasher.finalize();
    if actual != expected {
        return Err(damaged(format!(
            "checksum mismatch (recorded {expected:08x}, bytes give {actual:08x})"
        )));
    }
    Ok(Verdict::Intact(expected))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::{FileMeta, write_atomic};
    use arrow_array::{Float64Array, RecordBatch, StringArray};
    use std::sync::Arc;

    fn small_file(dir: &Path) -> std::path::PathBuf {
        let batch = RecordBatch::try_from_iter([
            (
                "run_id",
                Arc::new(StringArray::from(vec!["00000000000000aa"; 40])) as _,
            ),
            (
                "loss",
                Arc::new(Float64Array::from_iter_values(
                    (0..40).map(|i| i as f64 * 1.5e11),
                )) as _,
            ),
        ])
        .unwrap();
        let path = dir.join("part.parquet");
        let meta = FileMeta {
            table: "runs",
            config_json: "{}",
        };
        write_atomic(&path, &[batch], &meta, &[]).unwrap();
        path
    }

    #[test]
    fn a_written_file_verifies_and_every_damaged_byte_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let path = small_file(dir.path());
        let good = std::fs::read(&path).unwrap();
        assert!(matches!(verify(&path).unwrap(), Verdict::Intact(_)));
        for at in 0..good.len() {
            for flip in [0x01u8, 0x80] {
                let mut bad = good.clone();
                bad[at] ^= flip;
                std::fs::write(&path, &bad).unwrap();
                let err = verify(&path).expect_err(&format!("byte {at} ^ {flip:#x} passed"));
                assert_eq!(err.kind(), io::ErrorKind::InvalidData, "byte {at}: {err}");
            }
        }
        std::fs::write(&path, &good[..good.len() - 1]).unwrap();
        assert!(verify(&path).is_err(), "a truncated file passed");
    }

    #[test]
    fn a_missing_checksum_is_damage_only_in_a_file_of_a_sealed_version() {
        let dir = tempfile::tempdir().unwrap();
        let batch =
            RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(vec![1.0, 2.0])) as _)])
                .unwrap();
        for (version, sealed) in [("3", false), ("4", true)] {
            let path = dir.path().join(format!("v{version}.parquet"));
            let kv = parquet::file::metadata::KeyValue::new(
                crate::metadata::KEY_SCHEMA_VERSION.into(),
                version.to_string(),
            );
            let props = parquet::file::properties::WriterProperties::builder()
                .set_key_value_metadata(Some(vec![kv]))
                .build();
            let file = File::create(&path).unwrap();
            let mut w =
                parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
            w.write(&batch).unwrap();
            w.close().unwrap();
            let verdict = verify(&path);
            if sealed {
                let e = verdict.expect_err("a version-4 file without its checksum");
                assert_eq!(e.kind(), io::ErrorKind::InvalidData);
            } else {
                assert_eq!(verdict.unwrap(), Verdict::Unsealed);
            }
        }
    }

    #[test]
    fn files_of_other_writers_are_unsealed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.parquet");
        let batch =
            RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(vec![1.0, 2.0])) as _)])
                .unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(
            File::create(&path).unwrap(),
            batch.schema(),
            None,
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        assert_eq!(verify(&path).unwrap(), Verdict::Unsealed);
    }
}
