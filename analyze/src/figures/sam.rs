//! 1-SAM over its radius ρ: the trace of the Hessian (the regulariser SAM
//! is said to share with label noise) and s₂/s₁ of Z against the step,
//! log–log, one line (median, interquartile band over seeds) per SAM cell,
//! beside plain SGD with B = 1 and σ = 0 on the same problem (which 1-SAM
//! with ρ = 0 equals bit for bit).

use super::data::FigureData;
use super::figure::{Figure, FigureOutcome, skipped};
use super::plot::{BandPanels, positive};
use crate::analysis::Analysis;
use crate::cells::Cells;
use crate::error::Result;
use std::path::Path;

pub const FIGURE: Figure = Figure {
    stem: "sam",
    title: "1-SAM: trace of the Hessian and s2/s1 of Z by radius ρ",
    cells: Some(cells),
    make,
};

/// Whether a cell is plain SGD with batch size one and no label noise.
fn is_sgd(grid: &Cells, c: usize) -> bool {
    let cell = &grid.cells[c];
    cell.algorithm() == "label-noise"
        && cell.number("batch_size") == Some(1.0)
        && cell.number("sigma") == Some(0.0)
}

/// The SAM cells, then the SGD baselines of the same problem and η.
fn cells(grid: &Cells) -> Vec<usize> {
    let sam = crate::cells::cells_of_algorithm(grid, "sam");
    let baselines = (0..grid.cells.len()).filter(|&c| {
        is_sgd(grid, c)
            && sam.iter().any(|&s| {
                let (a, b) = (&grid.cells[c], &grid.cells[s]);
                crate::cells::same_problem(a, b) && a.number("eta") == b.number("eta")
            })
    });
    let mut out = sam.clone();
    out.extend(baselines);
    out
}

fn make(a: &Analysis, dir: &Path) -> Result<FigureOutcome> {
    let (sgd, sam): (Vec<usize>, Vec<usize>) = a
        .cells_of(FIGURE.stem)
        .iter()
        .partition(|&&c| is_sgd(&a.grid, c));
    if sam.is_empty() {
        return skipped("no 1-SAM runs (algorithm = sam)");
    }
    // Labels over what differs among the SAM cells (ρ) and among the baselines.
    let label = |cells: &[usize], name: &str, fallback: String| -> Vec<(usize, String)> {
        let labels = a.grid.short_labels(cells, &fallback);
        cells
            .iter()
            .zip(labels)
            .map(|(&c, l)| (c, format!("{name}, {l}")))
            .collect()
    };
    let rho = format!("ρ={}", a.grid.cells[sam[0]].value("rho"));
    let mut lines = label(&sam, "1-SAM", rho);
    lines.extend(label(&sgd, "SGD", "B=1, σ=0".into()));
    let mut data = FigureData::new(a);
    let plot = BandPanels::of(
        FIGURE.title,
        (
            &["tr ∇²L", "s2/s1 of Z"],
            &[
                |p| positive(p.trace_hessian),
                |p| positive(*p.ratios.first()?),
            ],
        ),
        a,
        lines,
        &mut data,
    );
    if plot.lines.is_empty() {
        return skipped("no 1-SAM run recorded a step > 0");
    }
    FIGURE.drawn(
        &plot,
        data,
        dir,
        "Left: the trace of the Hessian of the loss; right: s2/s1 of Z; against the step, \
         median and interquartile band over the seeds that did not diverge, per cell (the \
         legend counts its seeds and how many diverged). 1-SAM with radius ρ beside SGD with \
         batch size 1 and no label noise on the same problem (1-SAM at ρ = 0 is that SGD)."
            .into(),
    )
}
