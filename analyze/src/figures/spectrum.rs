//! [G24] Figures 1 and 3: the singular values of Z divided by the largest,
//! against the step on a log axis, one line per index k (median and
//! interquartile band over seeds), one panel per grid cell.

use super::{Band, Drawn, Figure, Lines, Outcome, Plot, bands, colour, log_range, positive};
use crate::analysis::Analysis;
use crate::error::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

pub const FIGURE: Figure = Figure {
    stem: "spectrum",
    title: "Singular values of Z relative to the largest ([G24] Fig. 1/3)",
    cells: None,
    make,
};

/// Lines per panel: s₂/s₁ … s₆/s₁.
const MAX_INDEX: usize = 6;

struct Panel {
    title: String,
    /// One band per index k = 2, 3, …
    lines: Vec<Vec<Band>>,
}

struct Spectrum(Vec<Panel>);

fn make(a: &Analysis, dir: &Path) -> Result<Outcome> {
    let labels = a.grid.short_labels(&a.figure_cells, "all runs");
    let panels: Vec<Panel> = a
        .figure_cells
        .iter()
        .zip(labels)
        .filter_map(|(&c, label)| {
            let curves = a.curves(c);
            let count = curves
                .iter()
                .flat_map(|c| c.iter())
                .map(|p| p.ratios.len())
                .max()?;
            let lines: Vec<Vec<Band>> = (0..count.min(MAX_INDEX - 1))
                .map(|k| bands(&curves, |p| positive(*p.ratios.get(k)?)))
                .filter(|b| !b.is_empty())
                .collect();
            let seeds = a.grid.cells[c].runs.len();
            // Curves are kept for a bounded number of seeds per cell.
            let drawn = if curves.len() < seeds {
                format!("{} of {seeds} seeds", curves.len())
            } else {
                format!("{seeds} seeds")
            };
            (!lines.is_empty()).then(|| Panel {
                title: format!("{label} ({drawn})"),
                lines,
            })
        })
        .collect();
    if panels.is_empty() {
        return super::skipped("no recorded step > 0 with a finite spectrum");
    }
    let n = panels.len();
    FIGURE.drawn(
        &Spectrum(panels),
        dir,
        format!(
            "s_k/s_1 of Z against the step, median (line) and interquartile band over seeds, \
             {n} cell(s). Rank one shows as every line falling towards 0."
        ),
    )
}

impl Plot for Spectrum {
    fn size(&self) -> (u32, u32) {
        super::panel_size(self.0.len())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let titles = self.0.iter().map(|p| p.title.as_str());
        let areas = super::cell_panels(root, FIGURE.title, titles)?;
        for (panel, area) in self.0.iter().zip(&areas) {
            let all = || panel.lines.iter().flatten();
            let x = log_range(all().map(|b| b.step));
            let y = log_range(all().flat_map(|b| [b.q25, b.q75]));
            let mut chart = super::log_log(area, x, y, ("step", "s_k / s_1 of Z"))?;
            for (k, line) in panel.lines.iter().enumerate() {
                chart.band(line, colour(k), &format!("s{}/s1", k + 2))?;
            }
            super::legend(&mut chart, SeriesLabelPosition::LowerLeft)?;
        }
        Ok(())
    }
}
