//! The Parquet encoding of the dataset's tables, written by hand: each
//! column chunk's levels and values straight from the Arrow arrays into
//! data pages, and the footer through the parquet crate's own metadata
//! writer (so that its schema, column orders and statistics are exactly
//! what the crate writes and reads).
//!
//! Why not arrow-rs's `ArrowWriter`: it is general (every type, nesting,
//! dictionaries, page indexes, a zstd context per page), and for the many
//! small rows of a sweep it cost about 47 000 instructions per run of
//! (m, d, n) = (10, 3, 3), more than the engine's whole budget
//! (docs/performance.md, "Sweep overhead"). The tables here have six
//! column kinds ([`crate::schema::Kind`]) and need none of that.
//!
//! What is written, column by column: data pages v1 of at most about
//! [`PAGE_BYTES`], PLAIN values, levels as runs of the RLE/bit-packed
//! hybrid (runs only: levels repeat, and a run is two bytes), zstd at a
//! negative level for strings, integers and flags, floats uncompressed
//! (their mantissas do not compress); min/max statistics on
//! every scalar column (strings only up to [`STATISTICS_TEXT_BYTES`]), none
//! on lists of floats, since nobody filters on an element of Θ. The
//! `ARROW:schema` key is written as arrow-rs writes it, so every reader
//! maps the columns to the same Arrow types as before.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, UInt64Type};
use arrow_buffer::{ArrowNativeType, NullBuffer, ToByteSlice};

// Arrow's buffers hold native-endian values, written to pages as they are.
const _: () = assert!(cfg!(target_endian = "little"), "Parquet is little-endian");
use arrow_array::{
    Array, BooleanArray, GenericListArray, PrimitiveArray, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Schema};
use parquet::arrow::{ArrowSchemaConverter, add_encoded_arrow_schema_to_metadata};
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::data_type::ByteArray;
use parquet::file::metadata::{
    ColumnChunkMetaData, FileMetaData, KeyValue, ParquetMetaData, ParquetMetaDataWriter,
    RowGroupMetaData,
};
use parquet::file::properties::WriterProperties;
use parquet::file::statistics::Statistics;
use parquet::schema::types::{ColumnDescPtr, SchemaDescriptor};
use std::io::{self, Write};
use std::sync::Arc;

/// Rows per row group: large enough for good compression and fast scans,
/// small enough that a reader streaming row groups stays in memory.
pub const ROW_GROUP_ROWS: usize = 65_536;

/// A page is closed at the first row that takes it past this many bytes
/// of levels and values (arrow-rs's default page size).
pub const PAGE_BYTES: usize = 1 << 20;

/// String columns carry min/max statistics only when both fit in this
/// many bytes: run ids and statuses do, a configuration's JSON does not
/// (arrow-rs truncates to the same length).
pub const STATISTICS_TEXT_BYTES: usize = 64;

/// zstd's level. At negative levels zstd trades ratio for speed; on a
/// tiny sweep's parts (docs/performance.md, "Sweep overhead"), −4 compressed
/// 2.5× faster than −1 (the level before) and to files 1–2 % smaller: from
/// −1 to −3 zstd spends most of its time on literals these pages hardly
/// have, and beyond −8 its matches get worse.
const ZSTD_LEVEL: i32 = -4;

/// Format version 1: data pages v1, which every reader reads.
const FORMAT_VERSION: i32 = 1;

/// Writes `batches` (of `schema`, at least the schema's columns each) as a
/// Parquet file with `key_values` in its footer; returns `out`.
pub fn write_parquet<W: Write>(
    out: W,
    schema: &Schema,
    batches: &[RecordBatch],
    key_values: Vec<KeyValue>,
) -> io::Result<W> {
    let descr = Arc::new(
        ArrowSchemaConverter::new()
            .convert(schema)
            .map_err(invalid)?,
    );
    let leaves = leaves(schema, &descr)?;
    let mut out = Counted { inner: out, pos: 0 };
    out.write_all(b"PAR1")?;
    let mut zstd = zstd::bulk::Compressor::new(ZSTD_LEVEL)?;
    let mut row_groups = Vec::new();
    let mut buffers = Buffers::default();
    for (ordinal, group) in row_groups_of(batches).iter().enumerate() {
        let mut columns = Vec::with_capacity(leaves.len());
        for (c, leaf) in leaves.iter().enumerate() {
            let mut chunk = Chunk::new(leaf, descr.column(c), std::mem::take(&mut buffers));
            for &(b, start, len) in group {
                chunk.push(
                    &mut out,
                    &mut zstd,
                    batches[b].column(c).as_ref(),
                    start,
                    len,
                )?;
            }
            let (column, buf) = chunk.finish(&mut out, &mut zstd)?;
            columns.push(column);
            buffers = buf;
        }
        let rows: usize = group.iter().map(|g| g.2).sum();
        let bytes = columns.iter().map(|c| c.uncompressed_size()).sum();
        let offset = columns
            .first()
            .map_or(out.pos as i64, |c| c.data_page_offset());
        row_groups.push(
            RowGroupMetaData::builder(descr.clone())
                .set_num_rows(rows as i64)
                .set_total_byte_size(bytes)
                .set_file_offset(offset)
                .set_ordinal(ordinal as i32)
                .set_column_metadata(columns)
                .build()
                .map_err(invalid)?,
        );
    }
    let rows = row_groups.iter().map(|g| g.num_rows()).sum();
    let meta = ParquetMetaData::new(
        FileMetaData::new(
            FORMAT_VERSION,
            rows,
            Some(format!("sharpsweep version {}", env!("CARGO_PKG_VERSION"))),
            Some(with_arrow_schema(schema, key_values)),
            descr,
            None,
        ),
        row_groups,
    );
    ParquetMetaDataWriter::new(&mut out, &meta)
        .finish()
        .map_err(invalid)?;
    Ok(out.inner)
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, e.to_string())
}

/// `key_values` and the `ARROW:schema` key, as arrow-rs adds it.
fn with_arrow_schema(schema: &Schema, key_values: Vec<KeyValue>) -> Vec<KeyValue> {
    let mut props = WriterProperties::builder()
        .set_key_value_metadata(Some(key_values))
        .build();
    add_encoded_arrow_schema_to_metadata(schema, &mut props);
    props.key_value_metadata().cloned().unwrap_or_default()
}

/// Row groups as slices `(batch, first row, rows)` of at most
/// [`ROW_GROUP_ROWS`] rows in all; one empty group for no rows, so that
/// the file still has its columns.
fn row_groups_of(batches: &[RecordBatch]) -> Vec<Vec<(usize, usize, usize)>> {
    let mut groups = vec![Vec::new()];
    let mut rows = 0;
    for (b, batch) in batches.iter().enumerate() {
        let mut start = 0;
        while start < batch.num_rows() {
            if rows == ROW_GROUP_ROWS {
                groups.push(Vec::new());
                rows = 0;
            }
            let len = (batch.num_rows() - start).min(ROW_GROUP_ROWS - rows);
            groups.last_mut().expect("one group").push((b, start, len));
            (start, rows) = (start + len, rows + len);
        }
    }
    groups
}

/// The type of a column, as far as encoding it goes.
#[derive(Clone, Copy)]
enum Leaf {
    Text,
    Int,
    UInt,
    Float,
    Bool,
    /// A list of floats, with the definition level of an empty list (a
    /// null list is 0) and whether its items may be null.
    Floats {
        empty: u8,
        item_nullable: bool,
    },
}

impl Leaf {
    /// Whether its pages are zstd compressed. Floats are stored
    /// uncompressed: zstd cannot shorten their mantissas (a tiny sweep's
    /// files came out 1.5 % smaller with it), and compressing them was a
    /// third of what writing a tiny run's rows cost. Strings, integers and
    /// flags repeat: ids, statuses, configurations, steps.
    fn compressed(self) -> bool {
        !matches!(self, Leaf::Float | Leaf::Floats { .. })
    }
}

/// Each column's [`Leaf`], checked against the Parquet schema's levels.
fn leaves(schema: &Schema, descr: &SchemaDescriptor) -> io::Result<Vec<Leaf>> {
    let fields = schema.fields();
    if descr.num_columns() != fields.len() {
        return Err(invalid("a column with more than one leaf"));
    }
    fields
        .iter()
        .zip(descr.columns())
        .map(|(f, c)| {
            let leaf = match f.data_type() {
                DataType::Utf8 => Leaf::Text,
                DataType::Int64 => Leaf::Int,
                DataType::UInt64 => Leaf::UInt,
                DataType::Float64 => Leaf::Float,
                DataType::Boolean => Leaf::Bool,
                DataType::List(item) if *item.data_type() == DataType::Float64 => Leaf::Floats {
                    empty: u8::from(f.is_nullable()),
                    item_nullable: item.is_nullable(),
                },
                other => return Err(invalid(format!("column {}: type {other}", f.name()))),
            };
            let (def, rep) = match leaf {
                Leaf::Floats {
                    empty,
                    item_nullable,
                } => (empty + 1 + u8::from(item_nullable), 1),
                _ => (u8::from(f.is_nullable()), 0),
            };
            if (c.max_def_level(), c.max_rep_level()) != (i16::from(def), rep) {
                return Err(invalid(format!("column {}: levels", f.name())));
            }
            Ok(leaf)
        })
        .collect()
}

/// A writer that knows its position: the footer records where each
/// column chunk starts.
struct Counted<W> {
    inner: W,
    pos: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.pos += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Levels as runs of the RLE/bit-packed hybrid: each run is its length
/// (ULEB128 of length·2) and its value in one byte (levels here are at
/// most 3, so their bit width is at most 2).
#[derive(Default)]
struct Levels {
    bytes: Vec<u8>,
    value: u8,
    run: u64,
}

impl Levels {
    #[inline]
    fn push(&mut self, value: u8, count: u64) {
        if count == 0 {
            return;
        }
        if value != self.value || self.run == 0 {
            self.end_run();
            self.value = value;
        }
        self.run += count;
    }

    fn end_run(&mut self) {
        if self.run > 0 {
            uleb128(&mut self.bytes, self.run << 1);
            self.bytes.push(self.value);
            self.run = 0;
        }
    }

    /// Ends the last run.
    fn finish(&mut self) {
        self.end_run();
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.run = 0;
    }
}

fn uleb128(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Thrift's compact protocol writes i32 fields zigzagged.
fn thrift_i32(out: &mut Vec<u8>, v: i32) {
    uleb128(out, u64::from(((v << 1) ^ (v >> 31)) as u32));
}

/// A PageHeader (thrift compact) of a data page v1: PLAIN values, RLE
/// levels.
fn page_header(out: &mut Vec<u8>, uncompressed: usize, compressed: usize, values: usize) {
    const I32: u8 = 5;
    const STRUCT: u8 = 12;
    const DATA_PAGE: i32 = 0;
    const PLAIN: i32 = 0;
    const RLE: i32 = 3;
    let size = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    // Field headers: (id − previous id) << 4 | type.
    for (field, v) in [
        (1, DATA_PAGE),
        (1, size(uncompressed)),
        (1, size(compressed)),
    ] {
        out.push(field << 4 | I32);
        thrift_i32(out, v);
    }
    out.push(2 << 4 | STRUCT); // 5: data_page_header
    for v in [size(values), PLAIN, RLE, RLE] {
        out.push(1 << 4 | I32);
        thrift_i32(out, v);
    }
    out.push(0); // end of DataPageHeader
    out.push(0); // end of PageHeader
}

/// Min and max of the non-null values so far.
#[derive(Clone, Copy)]
enum Range<'a> {
    Empty,
    Int(i64, i64),
    UInt(u64, u64),
    Float(f64, f64),
    Bool(bool, bool),
    Text(&'a [u8], &'a [u8]),
}

impl<'a> Range<'a> {
    /// Widens the range to take in `other` (of the same kind of values).
    fn widen(&mut self, other: Range<'a>) {
        *self = match (*self, other) {
            (Range::Empty, new) => new,
            (Range::Int(a, b), Range::Int(c, d)) => Range::Int(a.min(c), b.max(d)),
            (Range::UInt(a, b), Range::UInt(c, d)) => Range::UInt(a.min(c), b.max(d)),
            (Range::Float(a, b), Range::Float(c, d)) => Range::Float(a.min(c), b.max(d)),
            (Range::Bool(a, b), Range::Bool(c, d)) => Range::Bool(a & c, b | d),
            (Range::Text(a, b), Range::Text(c, d)) => Range::Text(a.min(c), b.max(d)),
            (old, _) => old,
        }
    }

    /// The statistics of a chunk of `leaf`s with `nulls` null values.
    fn statistics(&self, leaf: Leaf, nulls: u64) -> Statistics {
        let n = Some(nulls);
        match *self {
            Range::Empty => match leaf {
                Leaf::Float | Leaf::Floats { .. } => Statistics::double(None, None, None, n, false),
                Leaf::Bool => Statistics::boolean(None, None, None, n, false),
                Leaf::Text => Statistics::byte_array(None, None, None, n, false),
                Leaf::Int | Leaf::UInt => Statistics::int64(None, None, None, n, false),
            },
            Range::Int(lo, hi) => Statistics::int64(Some(lo), Some(hi), None, n, false),
            // Unsigned values are stored as the same 64 bits; the column
            // order (UINT_64) tells readers how they compare.
            Range::UInt(lo, hi) => {
                Statistics::int64(Some(lo as i64), Some(hi as i64), None, n, false)
            }
            // The format asks for −0 as a minimum zero and +0 as a maximum.
            Range::Float(lo, hi) => {
                let lo = if lo == 0.0 { -0.0 } else { lo };
                let hi = if hi == 0.0 { 0.0 } else { hi };
                Statistics::double(Some(lo), Some(hi), None, n, false)
            }
            Range::Bool(lo, hi) => Statistics::boolean(Some(lo), Some(hi), None, n, false),
            Range::Text(lo, hi) => {
                let fits = lo.len().max(hi.len()) <= STATISTICS_TEXT_BYTES;
                let b = |v: &[u8]| fits.then(|| ByteArray::from(v.to_vec()));
                Statistics::byte_array(b(lo), b(hi), None, n, false)
            }
        }
    }
}

/// An 8-byte value, stored PLAIN: its bytes, little-endian as Arrow's.
trait Scalar: ArrowNativeType {
    /// The range of `values`; NaN takes no part (the tables store an
    /// undefined float as null).
    fn range<'a>(values: impl Iterator<Item = Self>) -> Range<'a>;
}

/// Each type's range is a fold from its empty range (lowest above highest);
/// for floats, `f64::min` and `max` skip a NaN operand.
macro_rules! scalar {
    ($t:ty, $empty:expr, $variant:ident) => {
        impl Scalar for $t {
            fn range<'a>(values: impl Iterator<Item = Self>) -> Range<'a> {
                let (lo, hi) = values.fold($empty, |(lo, hi): ($t, $t), v| (lo.min(v), hi.max(v)));
                if lo <= hi {
                    Range::$variant(lo, hi)
                } else {
                    Range::Empty
                }
            }
        }
    };
}

scalar!(f64, (f64::INFINITY, f64::NEG_INFINITY), Float);
scalar!(i64, (i64::MAX, i64::MIN), Int);
scalar!(u64, (u64::MAX, u64::MIN), UInt);

/// The buffers a column chunk encodes its pages in, handed from each
/// chunk of a file to the next so that they are allocated once.
struct Buffers {
    rep: Levels,
    def: Levels,
    values: Vec<u8>,
    /// A compressed page's body, assembled, and its compressed form.
    body: Vec<u8>,
    packed: Vec<u8>,
    header: Vec<u8>,
}

impl Default for Buffers {
    /// A page's values take a page and (at most) a row more: reserved at
    /// once rather than regrown and copied page after page.
    fn default() -> Self {
        Self {
            rep: Levels::default(),
            def: Levels::default(),
            values: Vec::with_capacity(PAGE_BYTES + PAGE_BYTES / 4),
            body: Vec::new(),
            packed: Vec::new(),
            header: Vec::new(),
        }
    }
}

/// One column chunk being encoded: the open page's levels and values,
/// and what the footer will say about the pages already written.
struct Chunk<'a> {
    leaf: Leaf,
    descr: ColumnDescPtr,
    buf: Buffers,
    /// Booleans are bit-packed: the byte being filled and its bits.
    bits: u8,
    nbits: u8,
    /// Levels in the open page (values and nulls, an empty list's slot).
    page_levels: usize,
    range: Range<'a>,
    nulls: u64,
    levels: u64,
    first_page: Option<u64>,
    written: u64,
    uncompressed: u64,
}

impl<'a> Chunk<'a> {
    fn new(leaf: &Leaf, descr: ColumnDescPtr, buf: Buffers) -> Self {
        Self {
            leaf: *leaf,
            descr,
            buf,
            bits: 0,
            nbits: 0,
            page_levels: 0,
            range: Range::Empty,
            nulls: 0,
            levels: 0,
            first_page: None,
            written: 0,
            uncompressed: 0,
        }
    }

    fn optional(&self) -> bool {
        self.descr.max_def_level() > 0
    }

    fn page_bytes(&self) -> usize {
        self.buf.values.len() + self.buf.def.bytes.len() + self.buf.rep.bytes.len()
    }

    /// Encodes rows `start..start + len` of `array`, closing pages as they fill.
    fn push<W: Write>(
        &mut self,
        out: &mut Counted<W>,
        zstd: &mut zstd::bulk::Compressor,
        array: &'a dyn Array,
        start: usize,
        len: usize,
    ) -> io::Result<()> {
        if !self.optional() && array.null_count() > 0 {
            return Err(invalid("a null in a column that may not hold one"));
        }
        let (mut row, end) = (start, start + len);
        while row < end {
            row = match self.leaf {
                Leaf::Float => {
                    let a = array.as_primitive::<Float64Type>();
                    self.scalars(a.nulls(), a.values(), row..end)
                }
                Leaf::Int => {
                    let a = array.as_primitive::<Int64Type>();
                    self.scalars(a.nulls(), a.values(), row..end)
                }
                Leaf::UInt => {
                    let a = array.as_primitive::<UInt64Type>();
                    self.scalars(a.nulls(), a.values(), row..end)
                }
                Leaf::Bool => self.flags(array.as_boolean(), row..end),
                Leaf::Text => self.strings(array.as_string::<i32>(), row..end),
                Leaf::Floats {
                    empty,
                    item_nullable,
                } => self.lists(array.as_list::<i32>(), row..end, empty, item_nullable),
            };
            if self.page_bytes() >= PAGE_BYTES {
                self.close_page(out, zstd)?;
            }
        }
        Ok(())
    }

    /// Definition levels of `rows` (1 present, 0 null) if the column is
    /// optional; the rows present, or `None` for all of them.
    fn definitions(
        &mut self,
        nulls: Option<&NullBuffer>,
        rows: std::ops::Range<usize>,
    ) -> Option<Vec<usize>> {
        self.page_levels += rows.len();
        let Some(nulls) = nulls.filter(|n| n.null_count() > 0) else {
            if self.optional() {
                self.buf.def.push(1, rows.len() as u64);
            }
            return None;
        };
        // Runs of present values, and the nulls between them.
        let mut present = Vec::with_capacity(rows.len() - nulls.null_count().min(rows.len()));
        let mut at = 0;
        for (lo, hi) in nulls.inner().slice(rows.start, rows.len()).set_slices() {
            self.buf.def.push(0, (lo - at) as u64);
            self.buf.def.push(1, (hi - lo) as u64);
            present.extend(rows.start + lo..rows.start + hi);
            at = hi;
        }
        self.buf.def.push(0, (rows.len() - at) as u64);
        self.nulls += (rows.len() - present.len()) as u64;
        Some(present)
    }

    /// Encodes 8-byte scalars from `rows.start`, as many as fill the page;
    /// returns the next row.
    fn scalars<T: Scalar>(
        &mut self,
        nulls: Option<&NullBuffer>,
        values: &[T],
        rows: std::ops::Range<usize>,
    ) -> usize {
        let room = PAGE_BYTES.saturating_sub(self.page_bytes()) / 8 + 1;
        let rows = rows.start..rows.end.min(rows.start + room);
        let range = match self.definitions(nulls, rows.clone()) {
            None => {
                let values = &values[rows.clone()];
                self.buf.values.extend_from_slice(values.to_byte_slice());
                T::range(values.iter().copied())
            }
            Some(present) => {
                for &i in &present {
                    self.buf
                        .values
                        .extend_from_slice(values[i..=i].to_byte_slice());
                }
                T::range(present.iter().map(|&i| values[i]))
            }
        };
        self.range.widen(range);
        rows.end
    }

    /// Booleans, bit-packed (PLAIN), as [`Self::scalars`].
    fn flags(&mut self, array: &BooleanArray, rows: std::ops::Range<usize>) -> usize {
        let present = self.definitions(array.nulls(), rows.clone());
        for i in present.unwrap_or_else(|| rows.clone().collect()) {
            let v = array.value(i);
            self.range.widen(Range::Bool(v, v));
            self.bits |= u8::from(v) << self.nbits;
            self.nbits += 1;
            if self.nbits == 8 {
                self.buf.values.push(self.bits);
                (self.bits, self.nbits) = (0, 0);
            }
        }
        rows.end
    }

    /// Strings (PLAIN: a 4-byte length, then the bytes), as [`Self::scalars`].
    fn strings(&mut self, array: &'a StringArray, rows: std::ops::Range<usize>) -> usize {
        // Rows up to the page's room, at least one.
        let offsets = array.value_offsets();
        let room = PAGE_BYTES.saturating_sub(self.page_bytes());
        let mut end = rows.start + 1;
        while end < rows.end
            && (offsets[end] - offsets[rows.start]) as usize + 4 * (end - rows.start) < room
        {
            end += 1;
        }
        let present = self.definitions(array.nulls(), rows.start..end);
        let (mut lo, mut hi): (Option<&[u8]>, &[u8]) = (None, &[]);
        for i in present.unwrap_or_else(|| (rows.start..end).collect()) {
            let v = array.value(i).as_bytes();
            if lo.is_none_or(|lo| v < lo) {
                lo = Some(v);
            }
            hi = hi.max(v);
            let n = u32::try_from(v.len()).expect("an Arrow string is under 2 GiB");
            self.buf.values.extend_from_slice(&n.to_le_bytes());
            self.buf.values.extend_from_slice(v);
        }
        if let Some(lo) = lo {
            self.range.widen(Range::Text(lo, hi));
        }
        end
    }

    /// Lists of floats: a row's first item at repetition level 0, the rest
    /// at 1; an empty list one level with no value. As [`Self::scalars`].
    fn lists(
        &mut self,
        lists: &GenericListArray<i32>,
        rows: std::ops::Range<usize>,
        empty: u8,
        nullable: bool,
    ) -> usize {
        let items: &PrimitiveArray<Float64Type> = lists.values().as_primitive();
        let present = empty + 1 + u8::from(nullable);
        let offsets = lists.value_offsets();
        for row in rows.clone() {
            let (lo, hi) = (offsets[row] as usize, offsets[row + 1] as usize);
            let buf = &mut self.buf;
            buf.rep.push(0, 1);
            if lists.is_null(row) || lo == hi {
                let null = lists.is_null(row);
                buf.def.push(if null { 0 } else { empty }, 1);
                self.nulls += u64::from(null);
                self.page_levels += 1;
                continue;
            }
            buf.rep.push(1, (hi - lo - 1) as u64);
            self.page_levels += hi - lo;
            if items.null_count() == 0 {
                buf.def.push(present, (hi - lo) as u64);
                buf.values
                    .extend_from_slice(items.values()[lo..hi].to_byte_slice());
            } else {
                for i in lo..hi {
                    let valid = items.is_valid(i);
                    buf.def.push(present - u8::from(!valid), 1);
                    self.nulls += u64::from(!valid);
                    if valid {
                        buf.values.extend_from_slice(&items.value(i).to_le_bytes());
                    }
                }
            }
            if self.page_bytes() >= PAGE_BYTES {
                return row + 1;
            }
        }
        rows.end
    }

    /// Writes the open page, if it has levels.
    fn close_page<W: Write>(
        &mut self,
        out: &mut Counted<W>,
        zstd: &mut zstd::bulk::Compressor,
    ) -> io::Result<()> {
        if self.page_levels == 0 {
            return Ok(());
        }
        let buf = &mut self.buf;
        if self.nbits > 0 {
            buf.values.push(self.bits);
            (self.bits, self.nbits) = (0, 0);
        }
        buf.rep.finish();
        buf.def.finish();
        // The body: the level sections the column has (a 4-byte length,
        // then the runs), then the values.
        let length =
            |l: &Levels| (u32::try_from(l.bytes.len()).expect("levels under 4 GiB")).to_le_bytes();
        let (rep_len, def_len) = (length(&buf.rep), length(&buf.def));
        let mut body: Vec<&[u8]> = Vec::with_capacity(5);
        if self.descr.max_rep_level() > 0 {
            body.extend([&rep_len[..], &buf.rep.bytes]);
        }
        if self.descr.max_def_level() > 0 {
            body.extend([&def_len[..], &buf.def.bytes]);
        }
        body.push(&buf.values);
        let body_len = body.iter().map(|s| s.len()).sum::<usize>();
        let stored_len = if self.leaf.compressed() {
            buf.body.clear();
            for s in &body {
                buf.body.extend_from_slice(s);
            }
            buf.packed.clear();
            buf.packed
                .reserve(zstd::zstd_safe::compress_bound(body_len));
            zstd.compress_to_buffer(&buf.body, &mut buf.packed)?;
            body = vec![&buf.packed];
            buf.packed.len()
        } else {
            body_len
        };
        buf.header.clear();
        page_header(&mut buf.header, body_len, stored_len, self.page_levels);
        self.first_page.get_or_insert(out.pos);
        out.write_all(&buf.header)?;
        for s in body {
            out.write_all(s)?;
        }
        let header = buf.header.len() as u64;
        self.written += header + stored_len as u64;
        self.uncompressed += header + body_len as u64;
        self.levels += self.page_levels as u64;
        self.page_levels = 0;
        buf.rep.clear();
        buf.def.clear();
        buf.values.clear();
        Ok(())
    }

    /// Writes the last page; the chunk's entry in the footer, and the
    /// buffers for the next chunk.
    fn finish<W: Write>(
        mut self,
        out: &mut Counted<W>,
        zstd: &mut zstd::bulk::Compressor,
    ) -> io::Result<(ColumnChunkMetaData, Buffers)> {
        self.close_page(out, zstd)?;
        let compression = if self.leaf.compressed() {
            Compression::ZSTD(ZstdLevel::try_new(ZSTD_LEVEL).map_err(invalid)?)
        } else {
            Compression::UNCOMPRESSED
        };
        let start = self.first_page.unwrap_or(out.pos) as i64;
        let mut meta = ColumnChunkMetaData::builder(self.descr.clone())
            .set_encodings(vec![Encoding::PLAIN, Encoding::RLE])
            .set_compression(compression)
            .set_num_values(self.levels as i64)
            .set_total_compressed_size(self.written as i64)
            .set_total_uncompressed_size(self.uncompressed as i64)
            .set_data_page_offset(start);
        if !matches!(self.leaf, Leaf::Floats { .. }) {
            meta = meta.set_statistics(self.range.statistics(self.leaf, self.nulls));
        }
        Ok((meta.build().map_err(invalid)?, self.buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::builder::{
        BooleanBuilder, Float64Builder, Int64Builder, ListBuilder, StringBuilder, UInt64Builder,
    };
    use arrow_array::{ArrayRef, RecordBatch};
    use arrow_schema::Field;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    /// Rows of every column kind, nullable and not, with nulls in runs and
    /// alone, empty and null lists, null list items, strings long and
    /// short; row `i` of a batch starting at `first` is a function of
    /// `first + i`.
    fn batch(schema: &Arc<Schema>, first: usize, rows: usize) -> RecordBatch {
        let mut text = StringBuilder::new();
        let mut long = StringBuilder::new();
        let mut int = Int64Builder::new();
        let mut uint = UInt64Builder::new();
        let mut float = Float64Builder::new();
        let mut dense = Float64Builder::new();
        let mut flag = BooleanBuilder::new();
        let mut list = ListBuilder::new(Float64Builder::new());
        let mut opt_list = ListBuilder::new(Float64Builder::new());
        for r in first..first + rows {
            let null = r % 7 == 3 || (r / 100) % 5 == 2;
            text.append_option((!null).then(|| format!("{r:016x}")));
            long.append_value("x".repeat(r % 90));
            int.append_option((!null).then_some(r as i64 - 500));
            uint.append_option((r % 3 != 0).then_some(u64::MAX - r as u64));
            float.append_option(
                (!null).then_some((r as f64).sin() * if r % 2 == 0 { 1.0 } else { -0.0 }),
            );
            dense.append_value(r as f64 * 0.5);
            flag.append_option((r % 5 != 1).then_some(r % 3 == 0));
            for k in 0..r % 4 {
                list.values().append_value(r as f64 + k as f64);
            }
            list.append(true);
            if r % 11 == 0 {
                opt_list.append(false);
            } else {
                for k in 0..r % 3 {
                    opt_list
                        .values()
                        .append_option((k != 1).then_some(k as f64));
                }
                opt_list.append(true);
            }
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(text.finish()),
            Arc::new(long.finish()),
            Arc::new(int.finish()),
            Arc::new(uint.finish()),
            Arc::new(float.finish()),
            Arc::new(dense.finish()),
            Arc::new(flag.finish()),
            Arc::new(list.finish()),
            Arc::new(opt_list.finish()),
        ];
        RecordBatch::try_new(schema.clone(), columns).unwrap()
    }

    fn schema() -> Arc<Schema> {
        let floats = |nullable| {
            let item = Arc::new(Field::new("item", DataType::Float64, true));
            (DataType::List(item), nullable)
        };
        let fields = [
            ("text", (DataType::Utf8, true)),
            ("long", (DataType::Utf8, false)),
            ("int", (DataType::Int64, true)),
            ("uint", (DataType::UInt64, true)),
            ("float", (DataType::Float64, true)),
            ("dense", (DataType::Float64, false)),
            ("flag", (DataType::Boolean, true)),
            ("list", floats(false)),
            ("opt_list", floats(true)),
        ];
        let fields = fields.map(|(name, (t, nullable))| Field::new(name, t, nullable));
        Arc::new(Schema::new(fields.to_vec()))
    }

    fn write_and_read(batches: &[RecordBatch]) -> (Vec<u8>, Vec<RecordBatch>) {
        let kv = vec![KeyValue::new("k".into(), "v".to_string())];
        let bytes = write_parquet(Vec::new(), &schema(), batches, kv).unwrap();
        let back = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes.clone()))
            .unwrap()
            .with_batch_size(1 << 20)
            .build()
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        (bytes, back)
    }

    #[test]
    fn every_kind_reads_back_as_written_across_row_groups_and_pages() {
        let schema = schema();
        // Three batches, the second long enough to span two row groups.
        let sizes = [1000, ROW_GROUP_ROWS + 20_000, 3];
        let mut first = 0;
        let batches: Vec<RecordBatch> = (sizes.iter())
            .map(|&n| {
                first += n;
                batch(&schema, first - n, n)
            })
            .collect();
        let (bytes, back) = write_and_read(&batches);
        let all = arrow_select::concat::concat_batches(&schema, &batches).unwrap();
        let back = arrow_select::concat::concat_batches(&schema, &back).unwrap();
        assert_eq!(back, all);
        let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
        let meta = reader.metadata();
        assert_eq!(meta.num_row_groups(), 2);
        assert_eq!(meta.file_metadata().num_rows(), first as i64);
        let kv = meta.file_metadata().key_value_metadata().unwrap();
        assert!(kv.iter().any(|k| k.key == "k"));
        assert!(kv.iter().any(|k| k.key == "ARROW:schema"));
        // The long strings fill more than one page in the first row group.
        let long = reader.get_row_group(0).unwrap();
        let pages = long.get_column_page_reader(1).unwrap().count();
        assert!(pages > 1, "{pages} pages");
    }

    #[test]
    fn statistics_are_the_columns_ranges_and_null_counts() {
        let schema = schema();
        let b = batch(&schema, 0, 400);
        let (bytes, _) = write_and_read(std::slice::from_ref(&b));
        let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
        let group = reader.metadata().row_group(0);
        let stats = |c: usize| group.column(c).statistics().cloned();
        match stats(2).unwrap() {
            Statistics::Int64(s) => {
                assert_eq!(
                    (s.min_opt(), s.max_opt()),
                    (Some(&-500), Some(&(399 - 500)))
                );
                assert_eq!(s.null_count_opt(), Some(b.column(2).null_count() as u64));
            }
            other => panic!("{other:?}"),
        }
        match stats(3).unwrap() {
            // Compared as unsigned: u64::MAX − 1 is the largest.
            Statistics::Int64(s) => {
                assert_eq!(s.max_opt().map(|&v| v as u64), Some(u64::MAX - 1));
                assert_eq!(s.min_opt().map(|&v| v as u64), Some(u64::MAX - 398));
            }
            other => panic!("{other:?}"),
        }
        match stats(5).unwrap() {
            Statistics::Double(s) => {
                assert_eq!((s.min_opt(), s.max_opt()), (Some(&-0.0), Some(&199.5)))
            }
            other => panic!("{other:?}"),
        }
        // No min/max for strings longer than STATISTICS_TEXT_BYTES.
        assert!(stats(1).is_some_and(|s| s.min_bytes_opt().is_none()));
        assert!(stats(0).is_some_and(|s| s.min_bytes_opt() == Some(b"0000000000000000")));
        assert!(stats(7).is_none());
    }

    #[test]
    fn no_rows_give_a_file_with_the_columns() {
        let schema = schema();
        let (_, back) = write_and_read(&[batch(&schema, 0, 0)]);
        assert_eq!(back.iter().map(RecordBatch::num_rows).sum::<usize>(), 0);
    }
}
