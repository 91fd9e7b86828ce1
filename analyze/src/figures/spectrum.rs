//! [G24] Figures 1 and 3: the singular values of Z divided by the largest,
//! against the step on a log axis, one line per index k (median and
//! interquartile band over seeds), one panel per grid cell.

use super::data::{Band, FigureData, bands};
use super::figure::{Figure, FigureOutcome, skipped};
use super::plot::{self, Drawn, Lines, Plot, colour, log_range, positive};
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
    /// One band per index k = 2, 3, …; none when every seed diverged or
    /// failed (the panel is then a note).
    lines: Vec<Vec<Band>>,
    note: String,
}

struct Spectrum(Vec<Panel>);

fn make(a: &Analysis, dir: &Path) -> Result<FigureOutcome> {
    let labels = a.grid.short_labels(&a.figure_cells, "all runs");
    let mut data = FigureData::new(a);
    let panels: Vec<Panel> = a
        .figure_cells
        .iter()
        .zip(labels)
        .filter_map(|(&c, label)| {
            let shown = a.drawn(&[c]);
            let note = shown.note("seeds");
            let title = format!("{label} ({note})");
            if shown.none_drawable() {
                data.note(&[c], &title, "");
                return Some(Panel {
                    title,
                    lines: Vec::new(),
                    note,
                });
            }
            let count = shown
                .curves
                .iter()
                .flat_map(|c| c.iter())
                .map(|p| p.ratios.len())
                .max()?;
            let lines: Vec<Vec<Band>> = (0..count.min(MAX_INDEX - 1))
                .map(|k| bands(&shown.curves, |p| positive(*p.ratios.get(k)?)))
                .filter(|b| !b.is_empty())
                .collect();
            for (k, line) in lines.iter().enumerate() {
                data.band(&[c], &title, &format!("s{}/s1", k + 2), line);
            }
            (!lines.is_empty()).then_some(Panel { title, lines, note })
        })
        .collect();
    if panels.is_empty() {
        return skipped("no recorded step > 0 with a finite spectrum");
    }
    let n = panels.len();
    FIGURE.drawn(
        &Spectrum(panels),
        data,
        dir,
        format!(
            "s_k/s_1 of Z against the step, median (line) and interquartile band over the seeds \
             that did not diverge, {n} cell(s); each panel counts its seeds and how many \
             diverged (a cell whose every seed diverged is a note, not a curve). Rank one shows \
             as every line falling towards 0."
        ),
    )
}

impl Plot for Spectrum {
    fn size(&self) -> (u32, u32) {
        plot::panel_size(self.0.len())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let titles = self.0.iter().map(|p| p.title.as_str());
        let areas = plot::cell_panels(root, FIGURE.title, titles)?;
        for (panel, area) in self.0.iter().zip(&areas) {
            if panel.lines.is_empty() {
                plot::note_panel(area, &panel.note)?;
                continue;
            }
            let all = || panel.lines.iter().flatten();
            let x = log_range(all().map(|b| b.step));
            let y = log_range(all().flat_map(|b| [b.q25, b.q75]));
            let mut chart = plot::log_log(area, x, y, ("step", "s_k / s_1 of Z"))?;
            for (k, line) in panel.lines.iter().enumerate() {
                chart.band(line, colour(k), &format!("s{}/s1", k + 2))?;
            }
            plot::legend(&mut chart, SeriesLabelPosition::LowerLeft)?;
        }
        Ok(())
    }
}
