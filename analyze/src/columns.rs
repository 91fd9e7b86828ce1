//! Typed access to the columns of an Arrow batch, whatever physical type a
//! writer chose: sharpsweep writes Utf8 and List<Float64>, but a file
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

    /// A string column; nulls become `None`.
    pub fn strings(&self, name: &str) -> Result<Vec<Option<String>>> {
        let a = self.column(name)?;
        let owned = |v: Option<&str>| v.map(str::to_owned);
        Ok(match a.data_type() {
            DataType::Utf8 => a.as_string::<i32>().iter().map(owned).collect(),
            DataType::LargeUtf8 => a.as_string::<i64>().iter().map(owned).collect(),
            DataType::Utf8View => a.as_string_view().iter().map(owned).collect(),
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

    /// A list-of-floats column; a null list is empty, a null element NaN.
    pub fn float_lists(&self, name: &str) -> Result<Vec<Vec<f64>>> {
        let a = self.column(name)?;
        match a.data_type() {
            DataType::List(_) => self.lists(name, a.as_list::<i32>()),
            DataType::LargeList(_) => self.lists(name, a.as_list::<i64>()),
            t => Err(type_error(self.file, name, t, "a list of floats")),
        }
    }

    fn lists<O: OffsetSizeTrait>(
        &self,
        name: &str,
        l: &GenericListArray<O>,
    ) -> Result<Vec<Vec<f64>>> {
        let values = l.values();
        let floats: Vec<f64> = match values.data_type() {
            DataType::Float64 => values
                .as_primitive::<Float64Type>()
                .iter()
                .map(|x| x.unwrap_or(f64::NAN))
                .collect(),
            DataType::Float32 => values
                .as_primitive::<Float32Type>()
                .iter()
                .map(|x| x.map_or(f64::NAN, f64::from))
                .collect(),
            t => return Err(type_error(self.file, name, t, "a list of floats")),
        };
        Ok(l.value_offsets()
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                if l.is_null(i) {
                    Vec::new()
                } else {
                    floats[w[0].as_usize()..w[1].as_usize()].to_vec()
                }
            })
            .collect())
    }
}
