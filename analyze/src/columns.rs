//! Typed access to the columns of an Arrow batch, whatever physical type a
//! writer chose: sharpsweep writes Utf8 and `List<Float64>`, but a file
//! rewritten by pandas or polars may hold LargeUtf8, Utf8View or LargeList,
//! and integers may come back narrower or unsigned.

use crate::error::{AnalyzeError, Result};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type, UInt32Type, UInt64Type};
use arrow_array::{Array, ArrayRef, GenericListArray, OffsetSizeTrait, RecordBatch};
use arrow_schema::DataType;
use std::path::Path;

/// One batch of a file, with the file's name for error messages.
pub struct Batch<'a> {
    pub file: &'a Path,
    pub batch: RecordBatch,
}

fn type_error(file: &Path, column: &str, found: &DataType, expected: &'static str) -> AnalyzeError {
    AnalyzeError::ColumnType {
        file: file.to_path_buf(),
        column: column.to_string(),
        found: found.to_string(),
        expected,
    }
}

impl Batch<'_> {
    pub fn rows(&self) -> usize {
        self.batch.num_rows()
    }

    fn column(&self, name: &str) -> Result<&ArrayRef> {
        self.batch
            .column_by_name(name)
            .ok_or_else(|| AnalyzeError::MissingColumn {
                file: self.file.to_path_buf(),
                column: name.to_string(),
            })
    }

    /// A string column, borrowed from the batch (no allocation per row).
    pub fn strings(&self, name: &str) -> Result<Strings<'_>> {
        let a = self.column(name)?;
        Ok(match a.data_type() {
            DataType::Utf8 => Strings::Utf8(a.as_string::<i32>()),
            DataType::LargeUtf8 => Strings::Large(a.as_string::<i64>()),
            DataType::Utf8View => Strings::View(a.as_string_view()),
            t => return Err(type_error(self.file, name, t, "a string")),
        })
    }

    /// A floating-point column; nulls become NaN (sharpsweep stores undefined
    /// metrics as null).
    pub fn floats(&self, name: &str) -> Result<Vec<f64>> {
        let a = self.column(name)?;
        let nan = |v: Option<f64>| v.unwrap_or(f64::NAN);
        Ok(match a.data_type() {
            DataType::Float64 => a.as_primitive::<Float64Type>().iter().map(nan).collect(),
            DataType::Float32 => a
                .as_primitive::<Float32Type>()
                .iter()
                .map(|v| nan(v.map(f64::from)))
                .collect(),
            DataType::Int64 | DataType::Int32 | DataType::UInt64 | DataType::UInt32 => self
                .integers(name)?
                .into_iter()
                .map(|v| nan(v.map(|v| v as f64)))
                .collect(),
            t => return Err(type_error(self.file, name, t, "a number")),
        })
    }

    /// A floating-point column that older or rewritten files may lack:
    /// all NaN (null) when the batch has no such column.
    pub fn floats_if_present(&self, name: &str) -> Result<Vec<f64>> {
        if self.batch.column_by_name(name).is_some() {
            self.floats(name)
        } else {
            Ok(vec![f64::NAN; self.rows()])
        }
    }

    /// An integer column; nulls become `None`.
    pub fn integers(&self, name: &str) -> Result<Vec<Option<i64>>> {
        let a = self.column(name)?;
        let overflow =
            || AnalyzeError::invalid(self.file, format!("column '{name}': value out of range"));
        Ok(match a.data_type() {
            DataType::Int64 => a.as_primitive::<Int64Type>().iter().collect(),
            DataType::Int32 => a
                .as_primitive::<Int32Type>()
                .iter()
                .map(|v| v.map(i64::from))
                .collect(),
            DataType::UInt32 => a
                .as_primitive::<UInt32Type>()
                .iter()
                .map(|v| v.map(i64::from))
                .collect(),
            DataType::UInt64 => a
                .as_primitive::<UInt64Type>()
                .iter()
                .map(|v| v.map(i64::try_from).transpose().map_err(|_| overflow()))
                .collect::<Result<_>>()?,
            t => return Err(type_error(self.file, name, t, "an integer")),
        })
    }

    /// A boolean column; nulls become `None`.
    pub fn booleans(&self, name: &str) -> Result<Vec<Option<bool>>> {
        let a = self.column(name)?;
        match a.data_type() {
            DataType::Boolean => Ok(a.as_boolean().iter().collect()),
            t => Err(type_error(self.file, name, t, "a boolean")),
        }
    }

    /// A list-of-floats column, decoded one row at a time on demand (most
    /// passes need a few rows of a batch, not every list).
    pub fn float_lists(&self, name: &str) -> Result<FloatLists<'_>> {
        let a = self.column(name)?;
        let (offsets, values): (Vec<usize>, &ArrayRef) = match a.data_type() {
            DataType::List(_) => list_parts(a.as_list::<i32>()),
            DataType::LargeList(_) => list_parts(a.as_list::<i64>()),
            t => return Err(type_error(self.file, name, t, "a list of floats")),
        };
        let values = match values.data_type() {
            DataType::Float64 => Floats::F64(values.as_primitive::<Float64Type>()),
            DataType::Float32 => Floats::F32(values.as_primitive::<Float32Type>()),
            t => return Err(type_error(self.file, name, t, "a list of floats")),
        };
        Ok(FloatLists {
            list: a.as_ref(),
            offsets,
            values,
        })
    }

    /// A list-of-floats column that older or rewritten files may lack:
    /// `None` when the batch has no such column.
    pub fn float_lists_if_present(&self, name: &str) -> Result<Option<FloatLists<'_>>> {
        if self.batch.column_by_name(name).is_some() {
            self.float_lists(name).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// A string column of one batch, whatever its physical type.
pub enum Strings<'a> {
    Utf8(&'a arrow_array::StringArray),
    Large(&'a arrow_array::LargeStringArray),
    View(&'a arrow_array::StringViewArray),
}

impl Strings<'_> {
    /// Row `i`; `None` if null.
    pub fn get(&self, i: usize) -> Option<&str> {
        match self {
            Strings::Utf8(a) => (!a.is_null(i)).then(|| a.value(i)),
            Strings::Large(a) => (!a.is_null(i)).then(|| a.value(i)),
            Strings::View(a) => (!a.is_null(i)).then(|| a.value(i)),
        }
    }
}

enum Floats<'a> {
    F64(&'a arrow_array::Float64Array),
    F32(&'a arrow_array::Float32Array),
}

/// The offsets (as usize) and values of a list array.
fn list_parts<O: OffsetSizeTrait>(l: &GenericListArray<O>) -> (Vec<usize>, &ArrayRef) {
    let offsets = l.value_offsets().iter().map(|o| o.as_usize()).collect();
    (offsets, l.values())
}

/// A list-of-floats column of one batch.
pub struct FloatLists<'a> {
    list: &'a dyn Array,
    offsets: Vec<usize>,
    values: Floats<'a>,
}

impl FloatLists<'_> {
    /// Row `i`: a null list is empty, a null element NaN.
    pub fn row(&self, i: usize) -> Vec<f64> {
        if self.list.is_null(i) {
            return Vec::new();
        }
        let range = self.offsets[i]..self.offsets[i + 1];
        match &self.values {
            Floats::F64(v) => range.map(|k| nan_if_null(*v, k, v.value(k))).collect(),
            Floats::F32(v) => range
                .map(|k| nan_if_null(*v, k, f64::from(v.value(k))))
                .collect(),
        }
    }
}

fn nan_if_null(a: &dyn Array, k: usize, v: f64) -> f64 {
    if a.is_null(k) { f64::NAN } else { v }
}
