//! [G24] Figure 2: every neuron's feature vector (column j of Z, a point in
//! Rⁿ) on the first two principal components, at several moments of
//! training, coloured by time. One basis per run, fitted to the neurons of
//! all the moments shown together, so the points of every moment are in the
//! same coordinates and the neurons can be seen gathering into clusters.
//! (The final Z alone would not do: once the neurons have collapsed its
//! columns have no spread and their principal directions are arbitrary.)

use super::data::FigureData;
use super::figure::{Figure, FigureOutcome, skipped};
use super::plot::{self, Drawn, Plot, linear_range};
use crate::analysis::Analysis;
use crate::error::Result;
use crate::pca::{Basis, columns};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;
use std::path::Path;

pub const FIGURE: Figure = Figure {
    stem: "neurons",
    title: "Neurons' feature vectors on their first two principal components ([G24] Fig. 2)",
    cells: None,
    make,
};

struct Panel {
    title: String,
    /// Per moment: its step and the m projected neurons; none when every
    /// seed of the cell diverged or failed (the panel is then a note).
    moments: Vec<(i64, Vec<(f64, f64)>)>,
    note: String,
}

struct Neurons(Vec<Panel>);

/// The panel of the run `run` of cell `c` at the recorded `steps`, titled
/// `label`; `None` without a finite Z.
fn panel(
    a: &Analysis,
    (c, run, steps): (usize, usize, &[i64]),
    label: &str,
    data: &mut FigureData,
) -> Option<Panel> {
    let m = a.runs[run].number("m")? as usize;
    let z = |s: &i64| {
        a.snapshots
            .get(&(run, *s))
            .filter(|z| z.iter().all(|v| v.is_finite()) && !z.is_empty())
    };
    let shown: Vec<(i64, Vec<Vec<f64>>)> = steps
        .iter()
        .filter_map(|s| Some((*s, columns(z(s)?, m))))
        .collect();
    let pooled: Vec<Vec<f64>> = shown.iter().flat_map(|(_, c)| c.iter().cloned()).collect();
    if pooled.is_empty() {
        return None;
    }
    let basis = Basis::of(&pooled);
    let note = a.drawn(&[c]).note("seeds");
    let title = format!("{label} (seed {} of {note})", a.runs[run].seed_text());
    let moments: Vec<(i64, Vec<(f64, f64)>)> = shown
        .iter()
        .map(|(s, cols)| (*s, cols.iter().map(|c| basis.project(c)).collect()))
        .collect();
    for (step, points) in &moments {
        for &p in points {
            data.point(&[c], (&title, &format!("step {step}")), p, 1);
        }
    }
    Some(Panel {
        title,
        moments,
        note,
    })
}

fn make(a: &Analysis, dir: &Path) -> Result<FigureOutcome> {
    let labels = a.grid.short_labels(&a.figure_cells, "all runs");
    let mut data = FigureData::new(a);
    let panels: Vec<Panel> = a
        .figure_cells
        .iter()
        .zip(labels)
        .filter_map(|(&c, label)| {
            let shown = a.drawn(&[c]);
            if shown.none_drawable() {
                let note = shown.note("seeds");
                let title = format!("{label} ({note})");
                data.note(&[c], &title, "");
                return Some(Panel {
                    title,
                    moments: Vec::new(),
                    note,
                });
            }
            let (_, run, steps) = a.neuron_runs.iter().find(|(cell, _, _)| *cell == c)?;
            panel(a, (c, *run, steps), &label, &mut data)
        })
        .collect();
    if panels.iter().all(|p| p.moments.is_empty()) {
        return skipped("no finite Z recorded in the trajectories");
    }
    let n = panels.len();
    FIGURE.drawn(
        &Neurons(panels),
        data,
        dir,
        format!(
            "Each dot is one neuron (column of Z) projected on the first two principal components \
             of the neurons of all the moments shown (one fixed basis per run); colour runs from \
             dark (early) to yellow (final step). \
             One run per cell (its first seed that did not diverge), {n} cell(s); a cell whose \
             every seed diverged is a note. Collapse into clusters shows as dots merging."
        ),
    )
}

impl Plot for Neurons {
    fn size(&self) -> (u32, u32) {
        plot::panel_size(self.0.len())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let titles = self.0.iter().map(|p| p.title.as_str());
        let areas = plot::cell_panels(root, FIGURE.title, titles)?;
        for (panel, area) in self.0.iter().zip(&areas) {
            if panel.moments.is_empty() {
                plot::note_panel(area, &panel.note)?;
                continue;
            }
            let pts = || panel.moments.iter().flat_map(|(_, p)| p.iter());
            let mut chart = plot::chart(
                area,
                linear_range(pts().map(|p| p.0)),
                linear_range(pts().map(|p| p.1)),
                ("PC 1 (pre-activation units)", "PC 2"),
            )?;
            let last = panel.moments.len().saturating_sub(1).max(1) as f64;
            for (t, (step, p)) in panel.moments.iter().enumerate() {
                let c = ViridisRGB::get_color(t as f64 / last);
                chart
                    .draw_series(p.iter().map(|&xy| Circle::new(xy, 5, c.filled())))?
                    .label(format!("step {step}"))
                    .legend(move |(x, y)| Circle::new((x + 8, y), 5, c.filled()));
            }
            plot::legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        }
        Ok(())
    }
}
