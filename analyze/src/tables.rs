//! The report's tables as Parquet: `summary.parquet` (one row per grid
//! cell) and `theory.parquet` (one row per run), for pandas and DuckDB; and
//! the columns every table of the report (the figures' data too) is built
//! from. Names and types are the dataset contract's
//! ([`sharpsweep_dataset::schema`]): a configuration key has the type it has
//! in the runs table wherever it appears.

use crate::analysis::Analysis;
use crate::cells::Cells;
use crate::error::{AnalyzeError, Result};
use crate::summary::{METRICS, Quartiles};
use crate::trajectory::THRESHOLDS;
use arrow_array::builder::{Float64Builder, ListBuilder};
use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray, UInt64Array,
};
use arrow_schema::{Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use serde_json::Value;
use sharpsweep_dataset::metadata::{KEY_SCHEMA_VERSION, KEY_TABLE, SCHEMA_VERSION};
use sharpsweep_dataset::schema::{self as contract, Column, Kind, config as cfg};
use std::path::Path;
use std::sync::Arc;

/// Columns under construction.
#[derive(Default)]
pub struct Columns(Vec<(String, ArrayRef)>);

impl Columns {
    pub fn add(&mut self, name: impl Into<String>, a: impl arrow_array::Array + 'static) {
        self.0.push((name.into(), Arc::new(a)));
    }
    pub fn floats(&mut self, name: impl Into<String>, v: impl Iterator<Item = Option<f64>>) {
        self.add(name, v.collect::<Float64Array>());
    }
    pub fn strings(&mut self, name: impl Into<String>, v: impl Iterator<Item = String>) {
        self.add(name, v.map(Some).collect::<StringArray>());
    }
    fn lists<'a>(&mut self, name: &str, v: impl Iterator<Item = &'a [f64]>) {
        let mut b = ListBuilder::new(Float64Builder::new());
        for xs in v {
            b.values().append_slice(xs);
            b.append(true);
        }
        self.add(name, b.finish());
    }
    /// One column per swept key of the grid, a row per entry of `rows`
    /// (the cells behind it): the value its cells share, null where they
    /// differ or there are none; numbers stay numbers.
    pub fn swept_keys(&mut self, grid: &Cells, rows: &[&[usize]]) {
        for axis in &grid.swept {
            let shared = |cells: &[usize]| {
                let first = grid.cells[*cells.first()?].config.get(axis);
                cells
                    .iter()
                    .all(|&c| grid.cells[c].config.get(axis) == first)
                    .then_some(first)
                    .flatten()
            };
            let values: Vec<Option<&Value>> = rows.iter().map(|cells| shared(cells)).collect();
            match cfg::column(axis) {
                Some(c) => self.typed(c, values.into_iter()),
                // A key this version does not know: numbers stay numbers.
                None if values.iter().flatten().all(|v| v.is_number()) => self.floats(
                    axis.clone(),
                    values.iter().map(|v| v.and_then(Value::as_f64)),
                ),
                None => {
                    let text = values.iter().map(|v| v.map(crate::runs::show));
                    self.add(axis.clone(), text.collect::<StringArray>());
                }
            }
        }
    }

    /// Column `c` of configuration values, of its contract type (null
    /// where a value is missing or not of that type).
    pub fn typed<'a>(&mut self, c: &Column, values: impl Iterator<Item = Option<&'a Value>>) {
        let name = c.name;
        match c.kind {
            Kind::Int => self.add(name, values.map(integer).collect::<Int64Array>()),
            Kind::UInt => self.add(name, values.map(|v| v?.as_u64()).collect::<UInt64Array>()),
            Kind::Float => self.floats(name, values.map(|v| v?.as_f64())),
            Kind::Bool => self.add(name, values.map(|v| v?.as_bool()).collect::<BooleanArray>()),
            Kind::Text | Kind::Floats => self.add(
                name,
                values
                    .map(|v| v.map(crate::runs::show))
                    .collect::<StringArray>(),
            ),
        }
    }

    /// Writes the columns to `path` as table `table`; a column whose name
    /// the contract knows must have the contract's type.
    pub fn write(self, path: &Path, table: &str) -> Result<()> {
        for (name, a) in &self.0 {
            if let Some(c) = contract_column(table, name)
                && *a.data_type() != c.kind.data_type()
            {
                return Err(AnalyzeError::invalid(
                    path,
                    format!(
                        "column '{name}' is {}, the dataset contract says {}",
                        a.data_type(),
                        c.kind.name()
                    ),
                ));
            }
        }
        let fields: Vec<Field> = self
            .0
            .iter()
            .map(|(n, a)| Field::new(n, a.data_type().clone(), true))
            .collect();
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            self.0.into_iter().map(|(_, a)| a).collect(),
        )
        .map_err(|e| AnalyzeError::invalid(path, e))?;
        let props = WriterProperties::builder()
            .set_key_value_metadata(Some(vec![
                KeyValue::new(KEY_SCHEMA_VERSION.into(), SCHEMA_VERSION.to_string()),
                KeyValue::new(KEY_TABLE.into(), table.to_string()),
            ]))
            .build();
        let file = std::fs::File::create(path).map_err(|e| AnalyzeError::io(path, e))?;
        let io =
            |e: parquet::errors::ParquetError| AnalyzeError::io(path, std::io::Error::other(e));
        let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props)).map_err(io)?;
        w.write(&batch).map_err(io)?;
        w.close().map_err(io)?;
        Ok(())
    }
}

/// A JSON integer (or a float holding one, as older files may have it).
fn integer(v: Option<&Value>) -> Option<i64> {
    let v = v?;
    v.as_i64()
        .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
}

/// The contract's column `name` of report table `table`, if it has one.
fn contract_column(table: &str, name: &str) -> Option<&'static Column> {
    use contract::{summary, theory};
    let own: &[&[Column]] = match table {
        "summary" => &[summary::HEAD, summary::COUNTS, summary::REACHED],
        "theory" => &[theory::ALL],
        _ => &[],
    };
    own.iter()
        .flat_map(|cols| cols.iter())
        .find(|c| c.name == name)
        .or_else(|| cfg::column(name))
}

/// Column-name suffix of a threshold: 1e-2 → `0_01`.
pub fn threshold_name(t: f64) -> String {
    format!("{t}").replace('.', "_")
}

/// `summary.parquet`: per cell, the swept axes (numbers stay numbers), the
/// cell's configuration, counts, and `<metric>_{q25,median,q75}`.
pub fn write_summary(a: &Analysis, path: &Path) -> Result<()> {
    use contract::summary::*;
    let mut c = Columns::default();
    let cells = || a.summaries.iter().map(|s| &a.grid.cells[s.cell]);
    c.strings(CELL.name, cells().map(|cell| cell.id.clone()));
    c.strings(LABEL.name, cells().map(|cell| cell.label.clone()));
    for key in cfg::ALL.iter().filter(|k| k.name != cfg::SEED.name) {
        c.typed(key, cells().map(|cell| cell.config.get(key.name)));
    }
    c.strings(
        CONFIG.name,
        cells().map(|cell| Value::Object(cell.config.clone()).to_string()),
    );
    c.add(
        RUNS.name,
        a.summaries
            .iter()
            .map(|s| s.runs as i64)
            .collect::<Int64Array>(),
    );
    c.add(
        DIVERGED.name,
        a.summaries
            .iter()
            .map(|s| s.diverged as i64)
            .collect::<Int64Array>(),
    );
    c.floats(
        DIVERGENCE_RATE.name,
        a.summaries.iter().map(|s| Some(s.divergence_rate())),
    );
    for (k, m) in METRICS.iter().enumerate() {
        let q = |f: fn(&Quartiles) -> Option<f64>| a.summaries.iter().map(move |s| f(&s.stats[k]));
        let [q25, median, q75] = quantile_names(m.column);
        c.floats(q25, q(|q| q.q25));
        c.floats(median, q(|q| q.median));
        c.floats(q75, q(|q| q.q75));
    }
    for (k, t) in THRESHOLDS.iter().enumerate() {
        c.floats(
            format!("reached_{}", threshold_name(*t)),
            a.summaries
                .iter()
                .map(|s| Some(s.reached[k]).filter(|v| !v.is_nan())),
        );
    }
    c.write(path, "summary")
}

/// `theory.parquet`: per run, Theorem 3.3's prediction against the run.
pub fn write_theory(a: &Analysis, path: &Path) -> Result<()> {
    use contract::theory::*;
    let mut c = Columns::default();
    let rows = || a.theory.iter();
    let run = |t: &crate::theory::TheoryRow| &a.runs[t.run];
    c.strings(RUN_ID.name, rows().map(|t| run(t).run_id.clone()));
    c.strings(
        CELL.name,
        rows().map(|t| a.grid.cells[a.grid.run_cell[t.run]].id.clone()),
    );
    for key in [SEED, ACTIVATION, N, D, M] {
        c.typed(&key, rows().map(|t| run(t).value(key.name)));
    }
    let defined = |v: f64| Some(v).filter(|v| !v.is_nan());
    c.floats(SHARPNESS_R.name, rows().map(|t| defined(t.r)));
    c.floats(SHARPNESS_R_STAR.name, rows().map(|t| defined(t.r_star)));
    c.floats(R_GAP.name, rows().map(|t| defined(t.r - t.r_star)));
    c.floats(
        DIST_TO_OPTIMUM.name,
        rows().map(|t| defined(run(t).last.dist_to_optimum)),
    );
    c.lists(Z_STAR.name, rows().map(|t| t.z_star.as_slice()));
    c.lists(Z_ROW_MEAN.name, rows().map(|t| t.z_mean.as_slice()));
    c.floats(MAX_MEAN_GAP.name, rows().map(|t| defined(t.mean_gap)));
    c.floats(NEURON_GAP.name, rows().map(|t| defined(t.neuron_gap)));
    c.add(
        THEOREM_APPLIES.name,
        rows().map(|t| Some(t.applies())).collect::<BooleanArray>(),
    );
    c.strings(CAVEATS.name, rows().map(|t| t.flags.join("; ")));
    c.write(path, "theory")
}
