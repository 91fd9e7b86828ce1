//! `sharpsweep show DIR RUN_ID`: one run's configuration and final metrics
//! as `key: value` lines, from a sweep's dataset or a single run's
//! directory. A prefix of the run id that only one run has is enough.

use super::CliError;
use super::tables::{Table, Value, batches, live_files, value};
use arrow_array::RecordBatch;
use sharpsweep_dataset::schema::runs::{CONFIG, RUN_ID};
use std::path::PathBuf;

/// How many values of a list column are shown before "…".
const LIST_SHOWN: usize = 6;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The dataset: a sweep's --out or a `sharpsweep run --out` directory.
    dir: PathBuf,
    /// The run's id (the `run_id` column), or a prefix of it that only one run has.
    run_id: String,
}

pub fn main(args: Args) -> Result<(), CliError> {
    let (batch, row) = find(&args)?;
    super::print_text(&describe(&batch, row)?);
    Ok(())
}

/// The batch and row of the one run whose id starts with `args.run_id`.
fn find(args: &Args) -> Result<(RecordBatch, usize), CliError> {
    let mut found: Vec<(String, RecordBatch, usize)> = Vec::new();
    for file in live_files(&args.dir, Table::Runs)? {
        for batch in batches(&file)? {
            let ids = batch.column_by_name(RUN_ID.name).ok_or_else(|| {
                CliError::input(format!("{}: no column {}", file.display(), RUN_ID.name))
            })?;
            for row in 0..batch.num_rows() {
                // A run found twice (in two parts) is the same run.
                if let Ok(Value::Scalar(id)) = value(ids.as_ref(), row)
                    && id.starts_with(&args.run_id)
                    && !found.iter().any(|(f, ..)| *f == id)
                {
                    found.push((id, batch.clone(), row));
                }
            }
        }
    }
    let dir = args.dir.display();
    match found.len() {
        1 => {
            let (_, batch, row) = found.remove(0);
            Ok((batch, row))
        }
        0 => Err(CliError::input(format!(
            "RUN_ID: no run '{}' in {dir}",
            args.run_id
        ))),
        n => {
            let ids: Vec<&str> = found.iter().take(5).map(|(id, ..)| id.as_str()).collect();
            Err(CliError::input(format!(
                "RUN_ID: '{}' is the start of {n} run ids in {dir} ({}{}); give more of it",
                args.run_id,
                ids.join(", "),
                if n > ids.len() { ", …" } else { "" }
            )))
        }
    }
}

/// The run as text: its id, the configuration (the `config` column's keys),
/// then every other column, in the table's order.
fn describe(batch: &RecordBatch, row: usize) -> Result<String, CliError> {
    let schema = batch.schema();
    let text = |name: &str| -> Result<String, CliError> {
        let column = batch.column_by_name(name).expect("a column of the schema");
        match value(column.as_ref(), row) {
            Ok(v) => Ok(shown(&v)),
            Err(t) => Err(CliError::input(format!(
                "column {name}: unreadable type {t}"
            ))),
        }
    };
    let mut out = format!("{}: {}\n", RUN_ID.name, text(RUN_ID.name)?);
    let config: serde_json::Map<String, serde_json::Value> = batch
        .column_by_name(CONFIG.name)
        .and_then(|c| match value(c.as_ref(), row) {
            Ok(Value::Scalar(json)) => serde_json::from_str(&json).ok(),
            _ => None,
        })
        .unwrap_or_default();
    if !config.is_empty() {
        out += "configuration:\n";
        for (key, v) in &config {
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "none".to_string(),
                other => other.to_string(),
            };
            out += &format!("  {key}: {v}\n");
        }
    }
    out += "result:\n";
    for field in schema.fields() {
        let name = field.name();
        if name == RUN_ID.name || name == CONFIG.name || config.contains_key(name) {
            continue;
        }
        out += &format!("  {name}: {}\n", text(name)?);
    }
    Ok(out)
}

/// A value for reading: a long list shortened to its first values and length.
fn shown(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Scalar(s) => s.clone(),
        Value::List(items) if items.len() > LIST_SHOWN => format!(
            "[{}, …] ({} values)",
            items[..LIST_SHOWN].join(", "),
            items.len()
        ),
        Value::List(items) => format!("[{}]", items.join(", ")),
    }
}
