//! Reads sharpsweep Parquet datasets back and turns them into what a
//! researcher would otherwise make by hand in a notebook: per-cell summaries
//! across seeds, \[G24\]'s figures, a table of Theorem 3.3 against the runs,
//! and a report (`index.html`, `report.md`).
//!
//! This crate reads files only: it knows the columns it needs by name and
//! checks `sharpsweep.schema_version`, and does not link the engine.

mod analysis;
mod cells;
mod choice;
mod columns;
mod dataset;
mod error;
pub mod figures;
mod pca;
mod report;
mod runs;
mod select;
mod snapshots;
mod staging;
mod summary;
mod tables;
mod theory;
mod trajectory;

pub use analysis::{Analysis, Options};
pub use error::{AnalyzeError, Result};
pub use figures::FigureOutcome;
pub use select::{Selection, Wanted};
pub use summary::{CellSummary, METRICS, Quartiles};
pub use trajectory::THRESHOLDS;

use serde_json::{Map, Value};
use staging::Staging;
use std::path::{Path, PathBuf};

/// One grid cell of a finished report.
#[derive(Clone, Debug)]
pub struct CellReport {
    pub label: String,
    /// The cell's configuration (every key but `seed`).
    pub config: Map<String, Value>,
    pub summary: CellSummary,
}

impl CellReport {
    /// Whether the cell's configuration has every `key = value` of `pairs`
    /// (numbers compared by value).
    pub fn matches(&self, pairs: &[(&str, Value)]) -> bool {
        pairs.iter().all(|(k, v)| match (self.config.get(*k), v) {
            (Some(a), b) if a.is_number() && b.is_number() => a.as_f64() == b.as_f64(),
            (Some(a), b) => a == b,
            (None, _) => false,
        })
    }
}

/// What `report` wrote and found.
#[derive(Clone, Debug)]
pub struct ReportSummary {
    pub report_dir: PathBuf,
    pub cells: Vec<CellReport>,
    /// Each figure's stem and outcome, in report order.
    pub figures: Vec<(&'static str, FigureOutcome)>,
    pub notes: Vec<String>,
    /// Compressed bytes of the column chunks the analysis read, and of the
    /// whole dataset.
    pub bytes_read: u64,
    pub bytes_total: u64,
}

impl ReportSummary {
    /// The first cell matching `pairs` (see [`CellReport::matches`]).
    pub fn cell(&self, pairs: &[(&str, Value)]) -> Option<&CellReport> {
        self.cells.iter().find(|c| c.matches(pairs))
    }
}

/// Analyses the dataset in `dataset` and writes the report into `report_dir`
/// (created if needed): `index.html`, `report.md`, `summary.parquet`,
/// `theory.parquet` and each figure as PNG and SVG with its data as Parquet.
/// The report is built aside and renamed into place once complete: an
/// earlier report in `report_dir` is replaced only then, and a directory
/// holding anything else is refused.
pub fn report(dataset: &Path, report_dir: &Path, opts: &Options) -> Result<ReportSummary> {
    staging::check(report_dir)?;
    let a = Analysis::load(dataset, opts, &figures::own_cells())?;
    let figures = Staging::new(report_dir)?.build(|dir| write(&a, dir))?;
    let files = || a.dataset.runs.iter().chain(&a.dataset.trajectories);
    Ok(ReportSummary {
        bytes_read: files().map(|f| f.bytes_read()).sum(),
        bytes_total: files().map(|f| f.bytes()).sum(),
        report_dir: report_dir.to_path_buf(),
        cells: a
            .summaries
            .iter()
            .map(|s| CellReport {
                label: a.grid.cells[s.cell].label.clone(),
                config: a.grid.cells[s.cell].config.clone(),
                summary: s.clone(),
            })
            .collect(),
        figures: figures.into_iter().map(|(f, o)| (f.stem, o)).collect(),
        notes: a.notes,
    })
}

/// Writes every file of the report of `a` into the empty directory `dir`;
/// returns each figure with its outcome.
fn write(a: &Analysis, dir: &Path) -> Result<Vec<(&'static figures::Figure, FigureOutcome)>> {
    tables::write_summary(a, &dir.join("summary.parquet"))?;
    tables::write_theory(a, &dir.join("theory.parquet"))?;
    let figures = figures::ALL
        .iter()
        .map(|f| Ok((f, (f.make)(a, dir)?)))
        .collect::<Result<Vec<_>>>()?;
    let doc = report::document(a, &figures);
    for (name, text) in [
        ("report.md", report::markdown(&doc)),
        ("index.html", report::html(&doc)),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| AnalyzeError::io(&path, e))?;
    }
    Ok(figures)
}
