//! A run's stable identity: FNV-1a (64 bit) over its canonical JSON
//! encoding. serde's field order is declaration order and f64s print as
//! their shortest round-tripping decimal, so the encoding, and the id, are
//! the same on every platform and release as long as the field set is.
//!
//! A grid of 10^6 points computes 10^6 of these, and neighbouring points
//! differ in a field or two. [`RunIds`] writes the encoding itself, byte
//! for byte serde_json's (the tests compare them), and only the fields
//! whose values changed since the configuration before: the others' text
//! is copied from the previous encoding. Which fields changed is found by
//! comparing the two configurations directly (`RunIds::splice`), or,
//! where a field written only when set changed, field by field through
//! serde (`Fields`). The hash resumes from the state
//! after the bytes an encoding shares with the previous one (`Anchor`),
//! and [`RunIds::of_each`] hashes several encodings side by side.
//!
//! Past 600 lines for the encoder, a serde serializer that must write every
//! kind of value a configuration holds byte for byte as serde_json does,
//! and its tests against serde_json.

use crate::config::{RunConfig, Source};
use crate::error::CoreError;
use serde::{Deserialize, Serialize, ser};
use serde_json::ser::{CompactFormatter, Formatter};
use std::fmt;
use std::ops::Range;
use std::str::FromStr;

/// A run's stable identity, shown as 16 hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RunId(pub u64);

impl RunId {
    /// Its 16 lowercase hex digits, as [`fmt::Display`] shows them, without
    /// the formatting machinery: a sweep writes one per row it stores.
    pub fn hex(self) -> [u8; 16] {
        std::array::from_fn(|i| b"0123456789abcdef"[(self.0 >> (60 - 4 * i)) as usize & 0xf])
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::str::from_utf8(&self.hex()).expect("hex digits are ASCII"))
    }
}

impl FromStr for RunId {
    type Err = CoreError;
    fn from_str(s: &str) -> std::result::Result<Self, CoreError> {
        u64::from_str_radix(s, 16)
            .map(RunId)
            .map_err(|_| CoreError::Parse(format!("not a run id: '{s}'")))
    }
}

impl RunConfig {
    /// The run's identity (module doc). To compute many, keep one
    /// [`RunIds`] per thread.
    pub fn run_id(&self) -> RunId {
        RunIds::default().of(self)
    }
}

/// Computes run ids, reusing the text of the fields that did not change
/// since the previous configuration (module doc).
#[derive(Default)]
pub struct RunIds {
    /// The previous configuration's encoding.
    last: Vec<u8>,
    /// The encoding being written.
    json: Vec<u8>,
    /// Each top-level field of the previous configuration, in order.
    fields: Vec<Field>,
    /// The text of a string value being compared, kept for its allocation.
    text: Vec<u8>,
    /// A value's `Display` before escaping (a source's path), likewise.
    display: String,
    /// The encodings of a group hashed together ([`RunIds::of_each`]).
    group: [Vec<u8>; GROUP],
    /// The hash of a prefix of the previous encoding ([`Anchor`]).
    anchor: Anchor,
    /// The previous canonical configuration ([`RunIds::splice`]).
    prev: Option<RunConfig>,
    /// The text `,"name":value` of each field that changed since `prev`,
    /// and where each lies in `side`.
    side: Vec<u8>,
    /// Each changed field's name, text in `side` and place in `fields`.
    spliced: Vec<(&'static str, Range<usize>, usize)>,
}

/// The FNV-1a state after the first `len` bytes of the previous encoding.
/// Neighbours share their text up to the first field that changed, so an
/// encoding that starts with those `len` bytes is hashed from `state`, and
/// only its bytes after them: FNV-1a reads bytes in order, so the result is
/// the hash of the whole encoding.
#[derive(Clone, Copy)]
struct Anchor {
    len: usize,
    state: u64,
}

impl Default for Anchor {
    fn default() -> Self {
        Self {
            len: 0,
            state: FNV_OFFSET,
        }
    }
}

/// How many encodings [`RunIds::of_each`] hashes at once. FNV-1a is one
/// chain of dependent multiplies per byte, so a single hash waits on the
/// multiplier's latency; four independent chains keep it busy.
pub const GROUP: usize = 4;

impl RunIds {
    pub fn of(&mut self, config: &RunConfig) -> RunId {
        self.encode(config);
        let (from, state) = self.resume();
        RunId(fnv1a_from(state, &self.last[from..]))
    }

    /// The canonical JSON `config`'s id hashes, byte for byte
    /// `serde_json::to_string(&config.canonical())`, written by the same
    /// encoder (reusing the text of unchanged fields): a sweep's writer
    /// stores it as each run's `config`.
    pub fn json(&mut self, config: &RunConfig) -> &str {
        self.encode(config);
        std::str::from_utf8(&self.last).expect("serde_json writes UTF-8")
    }

    /// The ids of `configs`, the same as [`RunIds::of`] of each, into `ids`
    /// (of the same length), hashed [`GROUP`] at a time.
    pub fn of_each<'c>(
        &mut self,
        configs: impl IntoIterator<Item = &'c RunConfig>,
        ids: &mut [RunId],
    ) {
        let mut configs = configs.into_iter();
        for out in ids.chunks_mut(GROUP) {
            let mut starts = [(0, FNV_OFFSET); GROUP];
            for (k, start) in starts.iter_mut().enumerate().take(out.len()) {
                self.encode(configs.next().expect("as many configurations as ids"));
                *start = self.resume();
                self.group[k].clear();
                self.group[k].extend_from_slice(&self.last);
            }
            let rests = std::array::from_fn(|k| {
                let (from, state) = starts[k];
                (state, &self.group[k][from..])
            });
            if out.len() == GROUP {
                for (id, h) in out.iter_mut().zip(fnv1a_each(rests)) {
                    *id = RunId(h);
                }
            } else {
                for (id, (state, rest)) in out.iter_mut().zip(rests) {
                    *id = RunId(fnv1a_from(state, rest));
                }
            }
        }
    }

    /// Where hashing the new encoding (`last`) starts and the FNV-1a state
    /// there: past the text it shares with the previous one (`json`, after
    /// [`RunIds::encode`]'s swap), cut back to a comma, where neighbours'
    /// shared text tends to end whatever their digits, so the anchor holds
    /// along an axis; moves the anchor there.
    fn resume(&mut self) -> (usize, u64) {
        let new = &self.last;
        let shared = common_prefix(new, &self.json);
        let at = new[..shared].iter().rposition(|&b| b == b',').unwrap_or(0);
        let Anchor { len, state } = if self.anchor.len <= at {
            self.anchor
        } else {
            Anchor::default()
        };
        let state = fnv1a_from(state, &new[len..at]);
        self.anchor = Anchor { len: at, state };
        (at, state)
    }

    /// The canonical encoding of `config` into `self.last`.
    fn encode(&mut self, config: &RunConfig) {
        let canonical = config.canonical();
        if !self.splice(&canonical) {
            self.json.clear();
            let mut encoder = Encoder {
                ids: self,
                depth: 0,
            };
            if canonical.serialize(&mut encoder).is_err() {
                // A field of a type the encoder does not write: serde_json's
                // own, and nothing of it to reuse.
                self.json.clear();
                serde_json::to_writer(&mut self.json, &canonical)
                    .expect("a RunConfig always serialises");
                self.fields.clear();
            }
        }
        self.prev = Some(canonical);
        std::mem::swap(&mut self.json, &mut self.last);
    }

    /// Writes `config`'s encoding into `self.json` as the previous one
    /// (`self.last`) with the text of the fields whose values changed
    /// replaced, when that is all that differs: along a grid's axis, one
    /// field of ~30. The fields are compared directly, not through serde
    /// (a walk of the configuration through serde costs as much as the
    /// hash). False, writing nothing, when there is no previous encoding to
    /// splice into, or a field written only when set changed (its text may
    /// appear or vanish): then the encoding is written field by field.
    fn splice(&mut self, config: &RunConfig) -> bool {
        let Some(prev) = self.prev.take() else {
            return false;
        };
        let changed = self.changed_fields(&prev, config);
        self.prev = Some(prev);
        if !changed {
            return false;
        }
        // Where each changed field lies in the previous encoding (absent
        // only after serde_json's fallback, which records no fields).
        let mut from = 0;
        for (name, _, at) in &mut self.spliced {
            match self.fields[from..].iter().position(|f| f.name == *name) {
                Some(i) => *at = from + i,
                None => return false,
            }
            from = *at + 1;
        }
        self.json.clear();
        let mut copied = 0;
        // The fields after a spliced one move by the change in its length,
        // up to the next spliced one.
        let mut shift: isize = 0;
        let ends = self
            .spliced
            .iter()
            .map(|s| s.2)
            .skip(1)
            .chain([self.fields.len()]);
        for ((_, text, at), end) in self.spliced.iter().zip(ends) {
            let field = &mut self.fields[*at];
            let old = field.at.clone();
            self.json.extend_from_slice(&self.last[copied..old.start]);
            let start = self.json.len();
            self.json.extend_from_slice(&self.side[text.clone()]);
            field.at = start..self.json.len();
            // Not captured: written anew should the next configuration be
            // encoded field by field.
            field.value = None;
            shift += field.at.len() as isize - old.len() as isize;
            copied = old.end;
            for f in &mut self.fields[at + 1..end] {
                f.at = f.at.start.wrapping_add_signed(shift)..f.at.end.wrapping_add_signed(shift);
            }
        }
        self.json.extend_from_slice(&self.last[copied..]);
        true
    }

    /// Fills `self.spliced` (and `self.side`) with the fields of `new`
    /// whose values differ from `old`'s, each with the text the encoder
    /// writes for it; false when a field written only when set changed, or
    /// a value is one the encoder does not write. Every field is named
    /// (the pattern is exhaustive: a field added to [`RunConfig`] must be
    /// added here) and compared as exactly as its text would differ:
    /// numbers by their bits (0.0 and -0.0 are two texts), paths by their
    /// bytes, a `stop_when` never (only their absence is the same).
    fn changed_fields(&mut self, old: &RunConfig, new: &RunConfig) -> bool {
        self.spliced.clear();
        self.side.clear();
        macro_rules! compare {
            (
                always: $($field:ident: $same:ident),*;
                when_set: $($optional:ident: $optional_same:ident),* $(,)?
            ) => {{
                let RunConfig { $($field,)* $($optional,)* } = new;
                if !($($optional_same($optional, &old.$optional))&&*) {
                    return false;
                }
                $(if !$same($field, &old.$field) && !self.write_field(stringify!($field), $field) {
                    return false;
                })*
            }};
        }
        compare!(
            always:
                algorithm: equal, activation: equal, beta: bits, alpha: bits, m: equal,
                d: equal, n: equal, batch_size: equal, eta: bits, sigma: bits, noise: equal,
                steps: equal, seed: equal, data: same_source, labels: same_source,
                init: same_source, init_scale: bits, log_points: equal, log_every: equal,
                hessian: equal, diverge_loss: bits, cluster_tol: bits, rho: bits,
                flow_tol: bits, flow_h: bits, loss_scaled_lr: equal;
            when_set:
                stop_when: unset, stop_check_every: equal, outer: same_source,
                schedule: equal, eta_end: option_bits, sigma_end: option_bits,
                hessian_method: equal, hessian_top_k: equal,
        );
        true
    }

    /// `,"name":value` (no comma before the first field) into `self.side`
    /// as the encoder writes it, and its place into `self.spliced`; false
    /// for a value the encoder does not write.
    fn write_field<T: Serialize + ?Sized>(&mut self, name: &'static str, value: &T) -> bool {
        let start = self.side.len();
        let first = self.fields.first().is_some_and(|f| f.name == name);
        std::mem::swap(&mut self.json, &mut self.side);
        if !first {
            self.json.push(b',');
        }
        self.json.push(b'"');
        self.json.extend_from_slice(name.as_bytes());
        self.json.extend_from_slice(b"\":");
        let mut encoder = Encoder {
            ids: self,
            depth: 1,
        };
        let written = value.serialize(&mut encoder).is_ok();
        std::mem::swap(&mut self.json, &mut self.side);
        self.spliced.push((name, start..self.side.len(), 0));
        written
    }
}

/// Field comparisons for [`RunIds::changed_fields`].
fn equal<T: PartialEq>(a: &T, b: &T) -> bool {
    a == b
}

fn bits(a: &f64, b: &f64) -> bool {
    a.to_bits() == b.to_bits()
}

fn option_bits(a: &Option<f64>, b: &Option<f64>) -> bool {
    a.map(f64::to_bits) == b.map(f64::to_bits)
}

fn same_source<G: PartialEq>(a: &Source<G>, b: &Source<G>) -> bool {
    match (a, b) {
        (Source::Generate(a), Source::Generate(b)) => a == b,
        (Source::File(a), Source::File(b)) => a.as_os_str() == b.as_os_str(),
        _ => false,
    }
}

fn unset<T>(a: &Option<T>, b: &Option<T>) -> bool {
    a.is_none() && b.is_none()
}

/// A top-level field as last written: its name, what its value was, and
/// where its text `,"name":value` lies in the encoding.
struct Field {
    name: &'static str,
    /// `None` for a value [`Capture`] cannot tell apart: never reused.
    value: Option<Value>,
    /// A string value's text, when `value` is [`Value::Text`].
    text: Vec<u8>,
    at: Range<usize>,
}

/// What a field's value was, enough to tell whether it changed: the bits
/// of a number, boolean, `None` or enum variant (a field's type is fixed,
/// so these do not collide), or a string kept beside it (`Text`).
/// [`Capture`] answers `Text` for the string the field had before (compared
/// in place), `NewText` for another, copied to be kept.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Value {
    Bits(u64),
    None,
    Text,
    NewText,
}

/// serde_json's compact encoding of a configuration: an object of
/// scalars, options, strings and unit variants, byte for byte what
/// `serde_json::to_writer` writes (the tests compare the two). Anything
/// else is an error, and [`RunIds::of`] falls back to serde_json.
struct Encoder<'a> {
    ids: &'a mut RunIds,
    /// Structs entered: only the configuration's own fields are reused.
    depth: usize,
}

/// A value the encoder does not write.
#[derive(Debug)]
struct Unsupported;

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a configuration's value")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Unsupported
    }
}

type Done = Result<(), Unsupported>;

impl Encoder<'_> {
    fn raw(&mut self, bytes: &[u8]) -> Done {
        self.ids.json.extend_from_slice(bytes);
        Ok(())
    }

    fn string(&mut self, s: &str) -> Done {
        // serde_json escapes only quotes, backslashes and control characters:
        // names and most paths have none, and are written as they are.
        if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
            let json = &mut self.ids.json;
            json.push(b'"');
            json.extend_from_slice(s.as_bytes());
            json.push(b'"');
            return Ok(());
        }
        serde_json::to_writer(&mut self.ids.json, s).map_err(|_| Unsupported)
    }

    fn float(&mut self, value: f64) -> Done {
        if !value.is_finite() {
            return self.raw(b"null");
        }
        CompactFormatter
            .write_f64(&mut self.ids.json, value)
            .map_err(|_| Unsupported)
    }
}

/// Integers, each written by serde_json's own formatter.
macro_rules! integers {
    ($($method:ident, $write:ident: $ty:ty;)*) => {
        $(fn $method(self, v: $ty) -> Done {
            CompactFormatter.$write(&mut self.ids.json, v).map_err(|_| Unsupported)
        })*
    };
}

/// The kinds of value a configuration has none of.
macro_rules! unsupported {
    ($($method:ident($($arg:ty),*) -> $ok:ty;)*) => {
        $(fn $method(self, $(_: $arg),*) -> Result<$ok, Unsupported> {
            Err(Unsupported)
        })*
    };
}

impl<'a, 'b> ser::Serializer for &'a mut Encoder<'b> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeStruct = Fields<'a, 'b>;
    type SerializeSeq = ser::Impossible<(), Unsupported>;
    type SerializeTuple = ser::Impossible<(), Unsupported>;
    type SerializeTupleStruct = ser::Impossible<(), Unsupported>;
    type SerializeTupleVariant = ser::Impossible<(), Unsupported>;
    type SerializeMap = ser::Impossible<(), Unsupported>;
    type SerializeStructVariant = ser::Impossible<(), Unsupported>;

    integers! {
        serialize_i8, write_i8: i8;
        serialize_i16, write_i16: i16;
        serialize_i32, write_i32: i32;
        serialize_i64, write_i64: i64;
        serialize_u8, write_u8: u8;
        serialize_u16, write_u16: u16;
        serialize_u32, write_u32: u32;
        serialize_u64, write_u64: u64;
    }

    unsupported! {
        serialize_char(char) -> ();
        serialize_bytes(&[u8]) -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    fn serialize_bool(self, v: bool) -> Done {
        self.raw(if v { b"true" } else { b"false" })
    }

    fn serialize_f32(self, _: f32) -> Done {
        // serde_json prints an f32 by its own shortest text, not an f64's.
        Err(Unsupported)
    }

    fn serialize_f64(self, v: f64) -> Done {
        self.float(v)
    }

    fn serialize_str(self, v: &str) -> Done {
        self.string(v)
    }

    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Done {
        let mut text = std::mem::take(&mut self.ids.display);
        text.clear();
        fmt::Write::write_fmt(&mut text, format_args!("{value}")).map_err(|_| Unsupported)?;
        let done = self.string(&text);
        self.ids.display = text;
        done
    }

    fn serialize_none(self) -> Done {
        self.raw(b"null")
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Done {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Done {
        self.raw(b"null")
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Done {
        self.string(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Done {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Done {
        Err(Unsupported)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Fields<'a, 'b>, Unsupported> {
        self.raw(b"{")?;
        self.depth += 1;
        Ok(Fields {
            encoder: self,
            index: 0,
            copy: 0..0,
        })
    }
}

/// A struct's fields, as `"name":value` separated by commas; at the top
/// level, a field whose value did not change is copied from the previous
/// encoding, consecutive ones in one copy.
struct Fields<'a, 'b> {
    encoder: &'a mut Encoder<'b>,
    /// The fields written so far.
    index: usize,
    /// Text of the previous encoding still to be copied.
    copy: Range<usize>,
}

impl Fields<'_, '_> {
    fn flush(&mut self) {
        let ids = &mut *self.encoder.ids;
        ids.json.extend_from_slice(&ids.last[self.copy.clone()]);
        self.copy = 0..0;
    }

    /// `,"name":` (no comma before the first field).
    fn name(&mut self, key: &str) {
        let json = &mut self.encoder.ids.json;
        if self.index > 0 {
            json.push(b',');
        }
        json.push(b'"');
        json.extend_from_slice(key.as_bytes());
        json.extend_from_slice(b"\":");
    }
}

impl ser::SerializeStruct for Fields<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    // Inlined into the configuration's `serialize`: most fields are only
    // compared, and a call per field cost as much as the comparison.
    #[inline(always)]
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Done {
        // Field names are Rust identifiers: nothing to escape (the tests
        // compare every field with serde_json's encoding).
        if self.encoder.depth > 1 {
            self.name(key);
            self.index += 1;
            return value.serialize(&mut *self.encoder);
        }
        let at = self.index;
        let ids = &mut *self.encoder.ids;
        let last = ids.fields.get(at).filter(|f| std::ptr::eq(f.name, key));
        let now = value
            .serialize(Capture {
                last: last
                    .filter(|f| f.value == Some(Value::Text))
                    .map(|f| f.text.as_slice()),
                text: &mut ids.text,
            })
            .ok();
        let same = now.is_some() && last.is_some_and(|f| f.value == now);
        let start = ids.json.len() + self.copy.len();
        if same {
            let field = &mut ids.fields[at];
            let last = field.at.clone();
            field.at = start..start + last.len();
            if self.copy.end != last.start {
                self.flush();
            }
            if self.copy.is_empty() {
                self.copy = last;
            } else {
                self.copy.end = last.end;
            }
        } else {
            self.flush();
            self.name(key);
            value.serialize(&mut *self.encoder)?;
            let ids = &mut *self.encoder.ids;
            let at_json = start..ids.json.len();
            let new_text = now == Some(Value::NewText);
            let now = if new_text { Some(Value::Text) } else { now };
            match ids.fields.get_mut(at) {
                Some(f) => {
                    (f.name, f.value, f.at) = (key, now, at_json);
                    if new_text {
                        std::mem::swap(&mut f.text, &mut ids.text);
                    }
                }
                None => ids.fields.push(Field {
                    name: key,
                    value: now,
                    text: std::mem::take(&mut ids.text),
                    at: at_json,
                }),
            }
        }
        self.index += 1;
        Ok(())
    }

    fn end(mut self) -> Done {
        self.flush();
        if self.encoder.depth == 1 {
            // Only this encoding's fields: a field skipped this time (an
            // option written only when set) must not leave a stale one.
            self.encoder.ids.fields.truncate(self.index);
        }
        self.encoder.depth -= 1;
        self.encoder.raw(b"}")
    }
}

/// A value reduced to what tells it apart ([`Value`]); a string other
/// than `last` (the field's string before, if it had one) goes to `text`.
/// Whatever it cannot reduce (a path's `Display`, any compound) is an
/// error: such a field is written anew every time.
struct Capture<'a> {
    last: Option<&'a [u8]>,
    text: &'a mut Vec<u8>,
}

/// Integers, by their bits.
macro_rules! captured_integers {
    ($($method:ident: $ty:ty;)*) => {
        $(fn $method(self, v: $ty) -> Result<Value, Unsupported> {
            Ok(Value::Bits(v as u64))
        })*
    };
}

impl ser::Serializer for Capture<'_> {
    type Ok = Value;
    type Error = Unsupported;
    type SerializeStruct = ser::Impossible<Value, Unsupported>;
    type SerializeSeq = ser::Impossible<Value, Unsupported>;
    type SerializeTuple = ser::Impossible<Value, Unsupported>;
    type SerializeTupleStruct = ser::Impossible<Value, Unsupported>;
    type SerializeTupleVariant = ser::Impossible<Value, Unsupported>;
    type SerializeMap = ser::Impossible<Value, Unsupported>;
    type SerializeStructVariant = ser::Impossible<Value, Unsupported>;

    captured_integers! {
        serialize_i8: i8;
        serialize_i16: i16;
        serialize_i32: i32;
        serialize_i64: i64;
        serialize_u8: u8;
        serialize_u16: u16;
        serialize_u32: u32;
        serialize_u64: u64;
    }

    unsupported! {
        serialize_char(char) -> Value;
        serialize_bytes(&[u8]) -> Value;
        serialize_f32(f32) -> Value;
        serialize_unit() -> Value;
        serialize_unit_struct(&'static str) -> Value;
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct(&'static str, usize) -> Self::SerializeStruct;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    fn serialize_bool(self, v: bool) -> Result<Value, Unsupported> {
        Ok(Value::Bits(u64::from(v)))
    }

    fn serialize_f64(self, v: f64) -> Result<Value, Unsupported> {
        Ok(Value::Bits(v.to_bits()))
    }

    fn serialize_str(self, v: &str) -> Result<Value, Unsupported> {
        if self.last == Some(v.as_bytes()) {
            return Ok(Value::Text);
        }
        self.text.clear();
        self.text.extend_from_slice(v.as_bytes());
        Ok(Value::NewText)
    }

    fn collect_str<T: fmt::Display + ?Sized>(self, _: &T) -> Result<Value, Unsupported> {
        Err(Unsupported)
    }

    fn serialize_none(self) -> Result<Value, Unsupported> {
        Ok(Value::None)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, Unsupported> {
        value.serialize(self)
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        index: u32,
        _: &'static str,
    ) -> Result<Value, Unsupported> {
        Ok(Value::Bits(u64::from(index)))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Value, Unsupported> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Value, Unsupported> {
        Err(Unsupported)
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// One byte of FNV-1a (64 bit).
fn fnv_byte(h: u64, b: u8) -> u64 {
    (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
}

/// FNV-1a (64 bit) continued from `state` over `bytes`.
fn fnv1a_from(state: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(state, |h, &b| fnv_byte(h, b))
}

/// [`fnv1a_from`] of each of [`GROUP`] (state, bytes), their common length
/// hashed side by side (independent chains, [`GROUP`]'s doc).
fn fnv1a_each(rests: [(u64, &[u8]); GROUP]) -> [u64; GROUP] {
    let common = rests.iter().map(|(_, b)| b.len()).min().unwrap_or(0);
    let [(mut h0, b0), (mut h1, b1), (mut h2, b2), (mut h3, b3)] = rests;
    let heads = b0[..common]
        .iter()
        .zip(&b1[..common])
        .zip(&b2[..common])
        .zip(&b3[..common]);
    for (((&x0, &x1), &x2), &x3) in heads {
        h0 = fnv_byte(h0, x0);
        h1 = fnv_byte(h1, x1);
        h2 = fnv_byte(h2, x2);
        h3 = fnv_byte(h3, x3);
    }
    [(h0, b0), (h1, b1), (h2, b2), (h3, b3)].map(|(h, b)| fnv1a_from(h, &b[common..]))
}

/// How many leading bytes `a` and `b` share, compared 16 at a time.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut i = 0;
    for (x, y) in a.chunks_exact(16).zip(b.chunks_exact(16)) {
        let x = u128::from_le_bytes(x.try_into().expect("16 bytes"));
        let y = u128::from_le_bytes(y.try_into().expect("16 bytes"));
        if x != y {
            return i + (x ^ y).trailing_zeros() as usize / 8;
        }
        i += 16;
    }
    i + a[i..]
        .iter()
        .zip(&b[i..])
        .take_while(|(x, y)| x == y)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AlgorithmName, Source};
    use std::path::PathBuf;

    #[test]
    fn hex_digits_are_the_formatted_ones() {
        for v in [0, 1, 0xa, 0x0123_4567_89ab_cdef, u64::MAX, 1 << 63] {
            let id = RunId(v);
            assert_eq!(std::str::from_utf8(&id.hex()).unwrap(), format!("{v:016x}"));
            assert_eq!(id.to_string().parse::<RunId>().unwrap(), id);
        }
    }

    /// The definition: FNV-1a over serde_json's encoding.
    fn reference(c: &RunConfig) -> RunId {
        RunId(fnv1a_from(
            FNV_OFFSET,
            &serde_json::to_vec(&c.canonical()).unwrap(),
        ))
    }

    /// [`RunIds::of_each`] of the first `count` of `configs`, for each of
    /// `counts`, gives each one's id from serde_json's text.
    fn each_matches_serde_json(configs: &[RunConfig], counts: &[usize]) {
        for &count in counts {
            let mut ids = vec![RunId(0); count];
            RunIds::default().of_each(&configs[..count], &mut ids);
            let each: Vec<RunId> = configs[..count].iter().map(reference).collect();
            assert_eq!(ids, each, "{count} configurations");
        }
    }

    #[test]
    fn ids_are_fnv1a_of_serde_json_however_many_floats_are_reused() {
        let mut ids = RunIds::default();
        let mut configs = Vec::new();
        for (i, eta) in [0.05, 0.05, 1e-7, 0.1 + 0.2, 3.0, 0.05, 1e300, 5e-324]
            .into_iter()
            .enumerate()
        {
            let mut c = RunConfig {
                eta,
                sigma: 0.01 * i as f64,
                seed: u64::MAX - i as u64,
                log_every: (i % 2 == 1).then_some(i as u64),
                batch_size: (i == 2).then_some(1),
                hessian: i == 4,
                ..RunConfig::default()
            };
            match i {
                3 => {
                    c.algorithm = AlgorithmName::Sam;
                    c.rho = 0.5;
                    c.data = Source::File(PathBuf::from("dir \"quoted\"\\x\u{7}é.npy"));
                }
                5 => {
                    c.diverge_loss = f64::INFINITY;
                    c.stop_when = Some("loss < 1e-20 or sv_ratio2_z <= 1e-3".parse().unwrap());
                }
                6 => c.init = Source::File(PathBuf::from("init.npy")),
                _ => {}
            }
            configs.push(c);
        }
        for c in configs.iter().chain(configs.iter().rev()) {
            assert_eq!(ids.of(c), reference(c), "{c:?}");
        }
        // A float one ulp away from the remembered one is printed anew.
        let mut c = configs[0].clone();
        c.eta = f64::from_bits(c.eta.to_bits() + 1);
        assert_eq!(ids.of(&c), reference(&c));
        assert_ne!(ids.of(&c), reference(&configs[0]));
        assert_eq!(
            RunConfig::default().run_id(),
            reference(&RunConfig::default())
        );
    }

    #[test]
    fn ids_of_each_are_each_ones_id_for_any_count_and_lengths() {
        let configs: Vec<RunConfig> = (0..11u32)
            .map(|i| RunConfig {
                // Encodings of different lengths side by side.
                eta: 0.1 / f64::from(i + 1),
                m: [1, 10, 1000, 123_456][i as usize % 4],
                seed: u64::from(i) * 0x9e37_79b9,
                init: if i == 6 {
                    Source::File(PathBuf::from("a \"b\".csv"))
                } else {
                    Source::Generate(crate::config::InitGen::Zero)
                },
                ..RunConfig::default()
            })
            .collect();
        each_matches_serde_json(&configs, &[0, 1, 3, 4, 5, 8, 11]);
    }

    /// Neighbours that differ in a few fields, options coming and going,
    /// strings of equal length, paths: what is reused must never be stale.
    #[test]
    fn ids_reusing_unchanged_fields_match_serde_json_in_any_sequence() {
        use crate::activation::ActivationName;
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut pick = |k: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % k
        };
        let configs: Vec<RunConfig> = (0..400)
            .map(|_| RunConfig {
                eta: [0.05, 0.5, 1e-7][pick(3) as usize],
                seed: pick(3),
                m: [1, 10, 100][pick(3) as usize],
                activation: [ActivationName::Tanh, ActivationName::Sinh][pick(2) as usize],
                log_every: [None, Some(7), Some(70)][pick(3) as usize],
                stop_when: [
                    None,
                    Some("loss < 1e-3".parse().unwrap()),
                    Some("loss < 2e-3".parse().unwrap()),
                ][pick(3) as usize]
                    .clone(),
                init: [
                    Source::Generate(crate::config::InitGen::Gaussian),
                    Source::File(PathBuf::from("a.npy")),
                    Source::File(PathBuf::from("b.npy")),
                ][pick(3) as usize]
                    .clone(),
                ..RunConfig::default()
            })
            .collect();
        let mut ids = RunIds::default();
        for c in &configs {
            assert_eq!(ids.of(c), reference(c), "{c:?}");
        }
        let mut text = RunIds::default();
        for c in &configs {
            assert_eq!(text.json(c), serde_json::to_string(&c.canonical()).unwrap());
        }
        let mut each = vec![RunId(0); configs.len()];
        RunIds::default().of_each(&configs, &mut each);
        assert_eq!(each, configs.iter().map(reference).collect::<Vec<_>>());
    }

    /// Hashing from the anchor (the previous encoding's shared prefix) must
    /// give the whole encoding's hash whether the shared text grows, holds
    /// or shrinks: an axis late in the field order, then one early, then
    /// strings that differ only past their first bytes.
    #[test]
    fn ids_hashed_from_a_shared_prefix_match_serde_json() {
        let mut configs = Vec::new();
        for m in [10, 20, 10] {
            for eta in [0.011, 0.012, 0.0123, 0.5, 0.0124] {
                for seed in [1, 2] {
                    configs.push(RunConfig {
                        m,
                        eta,
                        seed,
                        ..RunConfig::default()
                    });
                }
            }
        }
        for path in ["a/x1.npy", "a/x2.npy", "b/x2.npy"] {
            configs.push(RunConfig {
                labels: Source::File(PathBuf::from(path)),
                ..RunConfig::default()
            });
        }
        let mut ids = RunIds::default();
        let mut anchored = 0;
        for c in &configs {
            assert_eq!(ids.of(c), reference(c), "{c:?}");
            anchored += usize::from(ids.anchor.len > 0);
        }
        assert!(anchored > configs.len() / 2, "the anchor is used");
        each_matches_serde_json(&configs, &[3, 4, 9, configs.len()]);
    }

    /// The changed fields spliced into the previous encoding: values whose
    /// `==` hides another text (0.0 and -0.0, two spellings of one path),
    /// the first field, fields written only when set coming and going.
    #[test]
    fn ids_spliced_into_the_previous_encoding_match_serde_json() {
        let base = RunConfig {
            sigma: 0.0,
            ..RunConfig::default()
        };
        let file = |p: &str| Source::File(PathBuf::from(p));
        let configs = [
            base.clone(),
            RunConfig {
                sigma: -0.0,
                ..base.clone()
            },
            RunConfig {
                algorithm: AlgorithmName::Sam,
                sigma: -0.0,
                ..base.clone()
            },
            RunConfig {
                schedule: crate::AnnealKind::Linear,
                eta_end: Some(0.0),
                ..base.clone()
            },
            RunConfig {
                schedule: crate::AnnealKind::Linear,
                eta_end: Some(-0.0),
                ..base.clone()
            },
            RunConfig {
                data: file("a/b.npy"),
                ..base.clone()
            },
            RunConfig {
                data: file("a//b.npy"),
                seed: 3,
                ..base.clone()
            },
            RunConfig {
                outer: Source::Generate(crate::config::OuterGen::Alternating),
                ..base.clone()
            },
            base.clone(),
        ];
        let mut ids = RunIds::default();
        for c in &configs {
            assert_eq!(ids.of(c), reference(c), "{c:?}");
        }
        // Along an axis the changed field is spliced, not compared field by
        // field (which would capture every value).
        ids.of(&RunConfig { eta: 0.5, ..base });
        let spliced = ids.fields.iter().filter(|f| f.value.is_none()).count();
        assert_eq!(spliced, 1, "one field spliced");
    }

    #[test]
    fn common_prefix_counts_shared_leading_bytes() {
        let text: Vec<u8> = (0..70u8).collect();
        for n in [0, 1, 15, 16, 17, 40, 70] {
            for cut in 0..n {
                let mut other = text[..n].to_vec();
                other[cut] ^= 1;
                assert_eq!(common_prefix(&text[..n], &other), cut);
                assert_eq!(common_prefix(&other, &text[..cut]), cut);
            }
            assert_eq!(common_prefix(&text[..n], &text), n);
        }
    }

    #[test]
    fn ids_print_and_parse_as_16_hex_digits() {
        let id = RunConfig::default().run_id();
        assert_eq!(id.to_string().len(), 16);
        assert_eq!(id.to_string().parse::<RunId>(), Ok(id));
        assert!("zz".parse::<RunId>().is_err());
    }
}
