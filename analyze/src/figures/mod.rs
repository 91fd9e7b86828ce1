//! The figures, each in its own module, listed once in [`ALL`]: adding a
//! figure is a module with a `FIGURE` constant and one line here.
//!
//! Every figure is drawn twice from one description, to PNG and to SVG
//! (the toolkit in `plot`), and the data it draws is written beside it (see
//! the `data` module). Runs that diverged or failed are never drawn as
//! data: each panel or line says how many there were, and a line or panel
//! with nothing else is a note.

mod convergence;
mod curvature;
mod data;
mod figure;
mod flow;
mod heatmap;
mod margin;
mod neurons;
mod noise;
mod plot;
mod sam;
mod sharpness;
mod spectrum;
mod stability;

pub use data::FigureData;
pub use figure::{Figure, FigureOutcome};

use crate::cells::CellChoice;

/// Every figure, in report order.
pub const ALL: &[Figure] = &[
    spectrum::FIGURE,
    neurons::FIGURE,
    heatmap::FIGURE,
    convergence::FIGURE,
    sharpness::FIGURE,
    noise::FIGURE,
    curvature::FIGURE,
    flow::FIGURE,
    sam::FIGURE,
    margin::FIGURE,
    stability::FIGURE,
];

/// Each figure that chooses its own cells (one per dynamics): its stem and
/// how it chooses them, for the analysis to keep their curves.
pub fn own_cells() -> Vec<(&'static str, CellChoice)> {
    ALL.iter()
        .filter_map(|f| Some((f.stem, f.cells?)))
        .collect()
}
