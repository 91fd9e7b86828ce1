//! What a figure is: its entry in the registry ([`Figure`]: file stem,
//! title, the cells it chooses, how it is made) and what making it came to
//! ([`FigureOutcome`]).

use super::data::FigureData;
use super::plot::{Plot, save};
use crate::analysis::Analysis;
use crate::cells::CellChoice;
use crate::error::Result;
use std::path::Path;

/// A figure: the file stem it writes (`<stem>.png`, `<stem>.svg`), its title
/// in the report, the cells it draws if it chooses its own (one figure per
/// dynamics; the \[G24\] figures draw the selected cells), and how it is made
/// from an analysis.
pub struct Figure {
    pub stem: &'static str,
    pub title: &'static str,
    pub cells: Option<CellChoice>,
    pub make: fn(&Analysis, &Path) -> Result<FigureOutcome>,
}

/// What making a figure came to.
#[derive(Clone, Debug, PartialEq)]
pub enum FigureOutcome {
    /// Written; the caption says what it shows.
    Drawn { caption: String },
    /// The dataset has nothing to show in it (the reason is reported).
    Skipped(String),
}

impl Figure {
    /// Writes `plot` as `dir/<stem>.png` and `.svg` and what it draws as
    /// `dir/<stem>.parquet`: drawn, with `caption`.
    pub fn drawn(
        &self,
        plot: &impl Plot,
        data: FigureData,
        dir: &Path,
        caption: String,
    ) -> Result<FigureOutcome> {
        save(self.stem, plot, dir)?;
        data.write(&dir.join(format!("{}.parquet", self.stem)))?;
        Ok(FigureOutcome::Drawn { caption })
    }
}

/// Not drawn, for the reason given.
pub fn skipped(why: impl Into<String>) -> Result<FigureOutcome> {
    Ok(FigureOutcome::Skipped(why.into()))
}
