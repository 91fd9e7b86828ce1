//! [G24] Figure 2 with its curvature: per cell that recorded the Hessian
//! (`hessian = true`), two panels against the step, log–log. Left, the
//! largest eigenvalues of ∇²L (`hessian_eigs`) with tr ∇²L; right, the
//! neurons' single-linkage clusters with the effective rank of Z. Label
//! noise descends the trace of the Hessian, and in doing so the neurons
//! gather into a few clusters: the two panels show both happening over the
//! same steps. Median and interquartile band over the seeds that did not
//! diverge.

use super::data::{Band, FigureData, bands};
use super::figure::{Figure, FigureOutcome, skipped};
use super::plot::{self, Drawn, Lines, Plot, colour, log_range, positive};
use crate::analysis::{Analysis, Shown};
use crate::error::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

pub const FIGURE: Figure = Figure {
    stem: "curvature",
    title: "Top Hessian eigenvalues and tr ∇²L beside the neurons' clusters ([G24] Fig. 2)",
    cells: None,
    make,
};

/// Eigenvalues drawn per panel: λ1 … λ5.
const MAX_EIGS: usize = 5;

/// The two panels of a cell: their quantity, and their y axes.
const SIDES: [&str; 2] = ["Hessian", "neurons"];
const AXES: [&str; 2] = ["λ_k and tr ∇²L", "clusters, effective rank"];

/// A line of a panel: its legend and band.
type Line = (String, Vec<Band>);

struct Row {
    /// The cell's label and what its seeds came to.
    title: String,
    /// The lines of each of [`SIDES`]; none when every seed diverged or
    /// failed (the row is then a note).
    sides: [Vec<Line>; 2],
    note: String,
}

struct Curvature(Vec<Row>);

/// A panel's name in the figure data: its quantity and its cell.
fn panel(side: usize, title: &str) -> String {
    format!("{} — {title}", SIDES[side])
}

/// The Hessian panel's lines: λ1, λ2, … (as many as the runs recorded, at
/// most [`MAX_EIGS`]) and tr ∇²L; the neurons panel's: clusters and the
/// effective rank of Z.
fn lines(shown: &Shown) -> [Vec<Line>; 2] {
    let k = shown
        .curves
        .iter()
        .flat_map(|c| c.iter())
        .map(|p| p.hessian_eigs.len())
        .max()
        .unwrap_or(0)
        .min(MAX_EIGS);
    let mut hessian: Vec<Line> = (0..k)
        .map(|i| {
            let band = bands(&shown.curves, |p| positive(*p.hessian_eigs.get(i)?));
            (format!("λ{}", i + 1), band)
        })
        .collect();
    hessian.push((
        "tr ∇²L".into(),
        bands(&shown.curves, |p| positive(p.trace_hessian)),
    ));
    let neurons = vec![
        (
            "clusters".into(),
            bands(&shown.curves, |p| positive(p.clusters)),
        ),
        (
            "effective rank of Z".into(),
            bands(&shown.curves, |p| positive(p.effective_rank)),
        ),
    ];
    [hessian, neurons].map(|side| side.into_iter().filter(|(_, b)| !b.is_empty()).collect())
}

/// Whether the cell recorded the Hessian.
fn recorded_hessian(a: &Analysis, c: usize) -> bool {
    let hessian = a.grid.cells[c].config.get("hessian");
    hessian.and_then(|v| v.as_bool()) == Some(true)
}

fn make(a: &Analysis, dir: &Path) -> Result<FigureOutcome> {
    let cells: Vec<usize> = a
        .figure_cells
        .iter()
        .copied()
        .filter(|&c| recorded_hessian(a, c))
        .collect();
    if cells.is_empty() {
        return skipped(
            "no cell among the per-cell figures' cells recorded the Hessian (hessian = true)",
        );
    }
    let labels = a.grid.short_labels(&cells, "all runs");
    let mut data = FigureData::new(a);
    let mut eigs = false;
    let rows: Vec<Row> = cells
        .iter()
        .zip(labels)
        .map(|(&c, label)| {
            let shown = a.drawn(&[c]);
            let note = shown.note("seeds");
            let title = format!("{label} ({note})");
            if shown.none_drawable() {
                for side in 0..SIDES.len() {
                    data.note(&[c], &panel(side, &title), "");
                }
                return Row {
                    title,
                    sides: [Vec::new(), Vec::new()],
                    note,
                };
            }
            let sides = lines(&shown);
            eigs |= sides[0].iter().any(|(name, _)| name.starts_with('λ'));
            for (side, lines) in sides.iter().enumerate() {
                for (name, band) in lines {
                    data.band(&[c], &panel(side, &title), name, band);
                }
            }
            Row { title, sides, note }
        })
        .collect();
    if !eigs {
        return skipped("no hessian_eigs recorded by a run that did not diverge");
    }
    let n = rows.len();
    FIGURE.drawn(
        &Curvature(rows),
        data,
        dir,
        format!(
            "One row per cell that recorded the Hessian (hessian = true), {n} cell(s). Left: the \
             largest eigenvalues λ1 ≥ λ2 ≥ … of ∇²L (hessian_eigs, hessian_top_k of them) and \
             tr ∇²L; right: the neurons' single-linkage clusters (neuron_clusters) and the \
             effective rank of Z; against the step, median and interquartile band over the seeds \
             that did not diverge (each panel counts its seeds and how many diverged; a cell \
             whose every seed diverged is a note; values ≤ 0 are left off the log axis). \
             [G24] Fig. 2: as label noise descends the curvature, the neurons gather into a \
             few clusters."
        ),
    )
}

impl Plot for Curvature {
    fn size(&self) -> (u32, u32) {
        plot::rows_size(self.0.len())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let rows = &self.0;
        let areas = plot::panels(root, FIGURE.title, (rows.len(), SIDES.len()), |r, c| {
            plot::wrap(&panel(c, &rows[r].title), 60)
        })?;
        for (r, side, area) in &areas {
            let row = &rows[*r];
            let lines = &row.sides[*side];
            if lines.is_empty() {
                plot::note_panel(area, &row.note)?;
                continue;
            }
            let all = || lines.iter().flat_map(|(_, b)| b);
            let x = log_range(all().map(|b| b.step));
            let y = log_range(all().flat_map(|b| [b.q25, b.q75]));
            let mut chart = plot::log_log(area, x, y, ("step", AXES[*side]))?;
            for (i, (name, band)) in lines.iter().enumerate() {
                chart.band(band, colour(i), name)?;
            }
            plot::legend(&mut chart, SeriesLabelPosition::LowerLeft)?;
        }
        Ok(())
    }
}
