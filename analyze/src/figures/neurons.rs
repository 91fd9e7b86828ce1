//! [G24] Figure 2: every neuron's feature vector (column j of Z, a point in
//! Rⁿ) on the first two principal components, at several moments of
//! training, coloured by time. One basis per run, fitted to the neurons of
//! all the moments shown together, so the points of every moment are in the
//! same coordinates and the neurons can be seen gathering into clusters.
//! (The final Z alone would not do: once the neurons have collapsed its
//! columns have no spread and their principal directions are arbitrary.)

use super::{Drawn, Figure, Outcome, Plot, sci};
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
    make,
};

struct Panel {
    title: String,
    /// Per moment: its step and the m projected neurons.
    moments: Vec<(i64, Vec<(f64, f64)>)>,
}

struct Neurons(Vec<Panel>);

fn make(a: &Analysis, dir: &Path) -> Result<Outcome> {
    let panels: Vec<Panel> = a
        .neuron_runs
        .iter()
        .filter_map(|(cell, run, steps)| {
            let m = a.runs[*run].number("m")? as usize;
            let z = |s: &i64| {
                a.snapshots
                    .get(&(*run, *s))
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
            let moments = shown
                .iter()
                .map(|(s, cols)| (*s, cols.iter().map(|c| basis.project(c)).collect()))
                .collect();
            Some(Panel {
                title: format!(
                    "{} (seed {})",
                    a.grid.cells[*cell].label,
                    a.runs[*run].seed_text()
                ),
                moments,
            })
        })
        .collect();
    if panels.is_empty() {
        return Ok(Outcome::Skipped(
            "no finite Z recorded in the trajectories".into(),
        ));
    }
    let n = panels.len();
    super::save(FIGURE.stem, &Neurons(panels), dir, FIGURE.stem)?;
    Ok(Outcome::Drawn {
        caption: format!(
            "Each dot is one neuron (column of Z) projected on the first two principal components \
             of the neurons of all the moments shown (one fixed basis per run); colour runs from \
             dark (early) to yellow (final step). \
             One run per cell, {n} cell(s). Collapse into clusters shows as dots merging."
        ),
    })
}

impl Plot for Neurons {
    fn size(&self) -> (u32, u32) {
        super::panel_size(self.0.len())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let root = root.titled(FIGURE.title, super::title_style())?;
        let areas = root.split_evenly(super::grid_shape(self.0.len()));
        for (panel, area) in self.0.iter().zip(areas) {
            let pts = || panel.moments.iter().flat_map(|(_, p)| p.iter());
            let range = |f: fn(&(f64, f64)) -> f64| {
                let (lo, hi) = pts()
                    .map(f)
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                        (l.min(v), h.max(v))
                    });
                let pad = ((hi - lo) * 0.08).max(1e-9);
                lo - pad..hi + pad
            };
            let mut chart = ChartBuilder::on(&area)
                .caption(&panel.title, super::caption_style())
                .margin(10)
                .x_label_area_size(45)
                .y_label_area_size(65)
                .build_cartesian_2d(range(|p| p.0), range(|p| p.1))?;
            chart
                .configure_mesh()
                .x_desc("PC 1 (pre-activation units)")
                .y_desc("PC 2")
                .x_label_formatter(&sci)
                .y_label_formatter(&sci)
                .label_style(super::label_style())
                .axis_desc_style(super::label_style())
                .draw()?;
            let last = panel.moments.len().saturating_sub(1).max(1) as f64;
            for (t, (step, p)) in panel.moments.iter().enumerate() {
                let c = ViridisRGB::get_color(t as f64 / last);
                chart
                    .draw_series(p.iter().map(|&xy| Circle::new(xy, 5, c.filled())))?
                    .label(format!("step {step}"))
                    .legend(move |(x, y)| Circle::new((x + 8, y), 5, c.filled()));
            }
            chart
                .configure_series_labels()
                .label_font(super::label_style())
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperRight)
                .draw()?;
        }
        Ok(())
    }
}
