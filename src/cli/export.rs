//! `sharpsweep export DIR --csv OUT.csv`: a dataset's runs (or
//! trajectories) table as CSV, for tools that do not read Parquet.
//!
//! A list column (`sv_z`, `theta`, `z`, …) becomes one numeric column per
//! position, `sv_z_0, sv_z_1, …`, as many as its longest list; shorter
//! lists leave the rest empty, and a list that is empty in every row has
//! no column. Every cell then loads as a plain number in pandas, polars,
//! R or a spreadsheet. Nulls are empty cells; floats are written in the
//! shortest form that reads back as the same double. Fields holding a
//! comma, a quote or a line break are quoted as RFC 4180 says (the
//! `config` column always is); lines end with `\n`.

use super::CliError;
use super::tables::{Table, Value, batches, live_files, value};
use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_schema::DataType;
use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The dataset: a sweep's --out or a `sharpsweep run --out` directory.
    dir: PathBuf,
    /// The CSV file to write (replaced if it exists); `-` writes to stdout.
    #[arg(long, value_name = "OUT.csv")]
    csv: PathBuf,
    /// The table to export.
    #[arg(long, value_enum, default_value_t = Table::Runs)]
    table: Table,
}

/// A column of the table and, for a list column, how many CSV columns it
/// is flattened into.
struct Column {
    name: String,
    list_width: Option<usize>,
}

pub fn main(args: Args) -> Result<(), CliError> {
    let files = live_files(&args.dir, args.table)?;
    let columns = columns(&files)?;
    let to_stdout = args.csv == Path::new("-");
    let write_error = |e: io::Error| {
        let target = if to_stdout {
            "stdout".to_string()
        } else {
            args.csv.display().to_string()
        };
        CliError::failure(format!("--csv: {target}: {e}"))
    };
    let rows = if to_stdout {
        match write_csv(&files, &columns, io::stdout().lock()) {
            // A reader that stopped early (`| head`) is not a failure.
            Err(Failure::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            other => other,
        }
    } else {
        // Written beside OUT and renamed: OUT is never left half written.
        let name = args.csv.file_name().unwrap_or_default().to_string_lossy();
        let partial = args.csv.with_file_name(format!(".{name}.partial"));
        let file = File::create(&partial).map_err(write_error)?;
        let written = write_csv(&files, &columns, file).and_then(|rows| {
            std::fs::rename(&partial, &args.csv)
                .map(|()| rows)
                .map_err(Failure::Write)
        });
        if written.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        written
    };
    let rows = rows.map_err(|f| match f {
        Failure::Write(e) => write_error(e),
        Failure::Read(e) => e,
    })?;
    if !to_stdout {
        let flat: usize = columns.iter().map(|c| c.list_width.unwrap_or(1)).sum();
        println!(
            "{}: {rows} rows × {flat} columns written to {}",
            args.dir.display(),
            args.csv.display()
        );
    }
    Ok(())
}

/// Every column of the files, in order of first appearance, with the
/// longest length of each list column.
fn columns(files: &[PathBuf]) -> Result<Vec<Column>, CliError> {
    let mut columns: Vec<Column> = Vec::new();
    for file in files {
        for batch in batches(file)? {
            for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
                let longest = match field.data_type() {
                    DataType::List(_) => {
                        let l = array.as_list::<i32>();
                        Some((0..l.len()).map(|i| l.value_length(i) as usize).max())
                    }
                    DataType::LargeList(_) => {
                        let l = array.as_list::<i64>();
                        Some((0..l.len()).map(|i| l.value_length(i) as usize).max())
                    }
                    _ => None,
                };
                let i = match columns.iter().position(|c| c.name == *field.name()) {
                    Some(i) => i,
                    None => {
                        columns.push(Column {
                            name: field.name().clone(),
                            list_width: longest.map(|_| 0),
                        });
                        columns.len() - 1
                    }
                };
                let column = &mut columns[i];
                match (&mut column.list_width, longest) {
                    (Some(width), Some(longest)) => *width = (*width).max(longest.unwrap_or(0)),
                    (None, None) => {}
                    _ => {
                        return Err(CliError::input(format!(
                            "{}: column {} is a list here and not in another file",
                            file.display(),
                            field.name()
                        )));
                    }
                }
            }
        }
    }
    if columns.is_empty() {
        return Err(CliError::input(
            "the dataset has no rows yet (has its sweep written anything?)",
        ));
    }
    Ok(columns)
}

/// Why writing the CSV stopped.
enum Failure {
    Read(CliError),
    Write(io::Error),
}

/// Writes the header and every row; returns the number of rows.
fn write_csv(files: &[PathBuf], columns: &[Column], out: impl Write) -> Result<usize, Failure> {
    let mut out = BufWriter::new(out);
    let mut line: Vec<String> = Vec::new();
    for c in columns {
        match c.list_width {
            None => line.push(c.name.clone()),
            Some(width) => line.extend((0..width).map(|k| format!("{}_{k}", c.name))),
        }
    }
    write_line(&mut out, &line).map_err(Failure::Write)?;
    let mut rows = 0;
    for file in files {
        for batch in batches(file).map_err(Failure::Read)? {
            for row in 0..batch.num_rows() {
                line.clear();
                for c in columns {
                    let cell = match batch.column_by_name(&c.name) {
                        None => Value::Null,
                        Some(array) => value(array.as_ref(), row).map_err(|t| {
                            Failure::Read(CliError::input(format!(
                                "{}: column {} has type {t}, which has no CSV form",
                                file.display(),
                                c.name
                            )))
                        })?,
                    };
                    let width = c.list_width.unwrap_or(1);
                    let start = line.len();
                    match cell {
                        Value::Null => {}
                        Value::Scalar(s) => line.push(s),
                        Value::List(items) => line.extend(items),
                    }
                    line.resize(start + width, String::new());
                }
                write_line(&mut out, &line).map_err(Failure::Write)?;
                rows += 1;
            }
        }
    }
    out.flush().map_err(Failure::Write)?;
    Ok(rows)
}

fn write_line(out: &mut impl Write, fields: &[String]) -> io::Result<()> {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        out.write_all(quoted(f).as_bytes())?;
    }
    out.write_all(b"\n")
}

/// A field as RFC 4180 writes it: quoted, with its quotes doubled, when it
/// holds a comma, a quote or a line break.
fn quoted(field: &str) -> Cow<'_, str> {
    if field.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", field.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_they_must_be() {
        assert_eq!(quoted("0.05"), "0.05");
        assert_eq!(quoted("a,b"), "\"a,b\"");
        assert_eq!(quoted(r#"{"m":10}"#), r#""{""m"":10}""#);
        assert_eq!(quoted("two\nlines"), "\"two\nlines\"");
    }
}
