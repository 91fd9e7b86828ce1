//! The report's tables as Parquet: `summary.parquet` (one row per grid
//! cell) and `theory.parquet` (one row per run), for pandas and DuckDB; and
//! the columns every table of the report (the figures' data too) is built
//! from.

use crate::analysis::Analysis;
use crate::cells::Grid;
use crate::error::{AnalyzeError, Result};
use crate::summary::{METRICS, Quartiles};
use crate::trajectory::THRESHOLDS;
use arrow_array::builder::{Float64Builder, ListBuilder};
use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use sharpsweep_dataset::metadata::{KEY_SCHEMA_VERSION, KEY_TABLE, SCHEMA_VERSION};
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
    pub fn swept_keys(&mut self, grid: &Grid, rows: &[&[usize]]) {
        for axis in &grid.swept {
            let shared = |cells: &[usize]| {
                let first = grid.cells[*cells.first()?].config.get(axis);
                cells
                    .iter()
                    .all(|&c| grid.cells[c].config.get(axis) == first)
                    .then_some(first)
                    .flatten()
            };
            let values: Vec<Option<&serde_json::Value>> =
                rows.iter().map(|cells| shared(cells)).collect();
            if values.iter().flatten().all(|v| v.is_number()) {
                self.floats(
                    axis.clone(),
                    values.iter().map(|v| v.and_then(serde_json::Value::as_f64)),
                );
            } else {
                let text = values.iter().map(|v| v.map(crate::cells::show));
                self.add(axis.clone(), text.collect::<StringArray>());
            }
        }
    }

    pub fn write(self, path: &Path, table: &str) -> Result<()> {
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

/// Column-name suffix of a threshold: 1e-2 → `0_01`.
pub fn threshold_name(t: f64) -> String {
    format!("{t}").replace('.', "_")
}

/// `summary.parquet`: per cell, the swept axes (numbers stay numbers), the
/// cell's configuration, counts, and `<metric>_{q25,median,q75}`.
pub fn write_summary(a: &Analysis, path: &Path) -> Result<()> {
    let mut c = Columns::default();
    let cells = || a.summaries.iter().map(|s| &a.grid.cells[s.cell]);
    c.strings("cell", cells().map(|cell| cell.label.clone()));
    let rows: Vec<[usize; 1]> = a.summaries.iter().map(|s| [s.cell]).collect();
    let rows: Vec<&[usize]> = rows.iter().map(|r| r.as_slice()).collect();
    c.swept_keys(&a.grid, &rows);
    c.strings(
        "config",
        cells().map(|cell| serde_json::Value::Object(cell.config.clone()).to_string()),
    );
    c.add(
        "runs",
        a.summaries
            .iter()
            .map(|s| s.runs as i64)
            .collect::<Int64Array>(),
    );
    c.add(
        "diverged",
        a.summaries
            .iter()
            .map(|s| s.diverged as i64)
            .collect::<Int64Array>(),
    );
    c.floats(
        "divergence_rate",
        a.summaries.iter().map(|s| Some(s.divergence_rate())),
    );
    for (k, m) in METRICS.iter().enumerate() {
        let q = |f: fn(&Quartiles) -> Option<f64>| a.summaries.iter().map(move |s| f(&s.stats[k]));
        c.floats(format!("{}_q25", m.column), q(|q| q.q25));
        c.floats(format!("{}_median", m.column), q(|q| q.median));
        c.floats(format!("{}_q75", m.column), q(|q| q.q75));
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
    let mut c = Columns::default();
    let rows = || a.theory.iter();
    let run = |t: &crate::theory::TheoryRow| &a.runs[t.run];
    c.strings("run_id", rows().map(|t| run(t).run_id.clone()));
    c.strings(
        "cell",
        rows().map(|t| a.grid.cells[a.grid.run_cell[t.run]].label.clone()),
    );
    c.strings("seed", rows().map(|t| run(t).seed_text()));
    c.strings(
        "activation",
        rows().map(|t| run(t).text("activation").unwrap_or_default().to_string()),
    );
    for key in ["n", "d", "m"] {
        c.add(
            key,
            rows()
                .map(|t| run(t).number(key).map(|v| v as i64))
                .collect::<Int64Array>(),
        );
    }
    let defined = |v: f64| Some(v).filter(|v| !v.is_nan());
    c.floats("sharpness_r", rows().map(|t| defined(t.r)));
    c.floats("sharpness_r_star", rows().map(|t| defined(t.r_star)));
    c.floats("r_gap", rows().map(|t| defined(t.r - t.r_star)));
    c.floats(
        "dist_to_optimum",
        rows().map(|t| defined(run(t).last.dist_to_optimum)),
    );
    c.lists("z_star", rows().map(|t| t.z_star.as_slice()));
    c.lists("z_row_mean", rows().map(|t| t.z_mean.as_slice()));
    c.floats("max_mean_gap", rows().map(|t| defined(t.mean_gap)));
    c.floats("neuron_gap", rows().map(|t| defined(t.neuron_gap)));
    c.add(
        "theorem_applies",
        rows().map(|t| Some(t.applies())).collect::<BooleanArray>(),
    );
    c.strings("flags", rows().map(|t| t.flags.join("; ")));
    c.write(path, "theory")
}
