//! Label-noise SGD: the trace of the Hessian of the loss and the sharpness
//! R(Θ) against the step, log–log, one line (median, interquartile band
//! over seeds) per label-noise cell of the per-cell figures. \[G24\]: on the
//! zero-loss manifold label noise descends R, the manifold's trace of the
//! Hessian, so both fall together (the SAM figure draws the same for SAM).

use super::data::FigureData;
use super::figure::{Figure, FigureOutcome, skipped};
use super::plot::{BandPanels, positive};
use crate::analysis::Analysis;
use crate::error::Result;
use std::path::Path;

pub const FIGURE: Figure = Figure {
    stem: "label_noise",
    title: "Label-noise SGD: trace of the Hessian and sharpness R",
    cells: None,
    make,
};

fn make(a: &Analysis, dir: &Path) -> Result<FigureOutcome> {
    let cells: Vec<usize> = a
        .figure_cells
        .iter()
        .copied()
        .filter(|&c| a.grid.cells[c].algorithm() == "label-noise")
        .collect();
    if cells.is_empty() {
        return skipped("no label-noise cell among the per-cell figures' cells");
    }
    let labels = a.grid.short_labels(&cells, "all runs");
    let mut data = FigureData::new(a);
    let plot = BandPanels::of(
        FIGURE.title,
        (
            &["tr ∇²L", "R(Θ)"],
            &[|p| positive(p.trace_hessian), |p| positive(p.r)],
        ),
        a,
        cells.into_iter().zip(labels),
        &mut data,
    );
    if plot.lines.is_empty() {
        return skipped("no label-noise run recorded a positive tr ∇²L or R");
    }
    FIGURE.drawn(
        &plot,
        data,
        dir,
        "Left: the trace of the Hessian of the loss; right: the sharpness R(Θ); against the \
         step, median and interquartile band over the seeds that did not diverge, per cell \
         (the legend counts its seeds and how many diverged). On the zero-loss manifold R is \
         the trace of the Hessian, which label noise descends."
            .into(),
    )
}
