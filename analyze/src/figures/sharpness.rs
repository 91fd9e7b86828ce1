//! R(Θ) − R* and the Riemannian gradient norm ‖P_T ∇R‖ against the step,
//! log–log: [G24] Theorem 3.5's linear rate shows as a straight descent on
//! the log axis. One line (median, interquartile band) per grid cell.

use super::data::FigureData;
use super::figure::{Figure, FigureOutcome, skipped};
use super::plot::{BandPanels, positive};
use crate::analysis::Analysis;
use crate::error::Result;
use std::path::Path;

pub const FIGURE: Figure = Figure {
    stem: "sharpness",
    title: "Sharpness gap R − R* and Riemannian gradient norm",
    cells: None,
    make,
};

fn make(a: &Analysis, dir: &Path) -> Result<FigureOutcome> {
    let labels = a.grid.short_labels(&a.figure_cells, "all runs");
    let mut data = FigureData::new(a);
    let plot = BandPanels::of(
        FIGURE.title,
        (
            &["R(Θ) − R*", "‖P_T ∇R(Θ)‖"],
            &[|p| positive(p.r_gap), |p| positive(p.riem_grad_norm)],
        ),
        a,
        a.figure_cells.iter().copied().zip(labels),
        &mut data,
    );
    if plot.lines.is_empty() {
        return skipped(
            "no positive R − R* or gradient norm recorded (R* undefined for this activation?)",
        );
    }
    FIGURE.drawn(
        &plot,
        data,
        dir,
        "Left: R(Θ) − R* (steps where it is ≤ 0, off the manifold, are left out). \
         Right: ‖P_T ∇R‖. Median and interquartile band over the seeds that did not diverge, \
         per cell (the legend counts its seeds and how many diverged); a linear rate is a \
         straight descent."
            .into(),
    )
}
