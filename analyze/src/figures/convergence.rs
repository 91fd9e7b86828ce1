//! Time to rank one against 1/(η²σ²), log–log, with the fitted slope:
//! [G24] Theorem 1.1 bounds the time to reach the sharpness minimiser by
//! an order of 1/(η²σ²) steps (the drift along the manifold is of order
//! η²σ² per step), so the points should lie near a line of slope 1.

use super::data::FigureData;
use super::figure::{Figure, FigureOutcome, skipped};
use super::plot::{self, Drawn, Lines, Plot, log_range};
use crate::analysis::Analysis;
use crate::error::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

pub const FIGURE: Figure = Figure {
    stem: "convergence",
    title: "Steps to s2/s1 < 1e-2 against 1/(η²σ²)",
    cells: None,
    make,
};

/// At most this many runs are drawn as dots.
const MAX_POINTS: usize = 2000;

/// The summary column plotted: steps to s₂/s₁ < 10⁻².
const TIME: &str = "steps_to_0_01";

struct Convergence {
    /// The panel's title: how many runs, how many diverged.
    title: String,
    /// Per run that converged: (1/(η²σ²), steps).
    runs: Vec<(f64, f64)>,
    /// Per cell with a median: (1/(η²σ²), median steps).
    cells: Vec<(f64, f64)>,
    /// Least-squares line through the cells' log10 values: (slope, intercept).
    fit: Option<(f64, f64)>,
    /// The cells whose every seed diverged or failed, as notes.
    notes: Vec<String>,
}

/// Least squares y = a x + b; `None` with fewer than two distinct x.
pub fn fit_line(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (points.len() >= 2 && sxx > 1e-12).then(|| (sxy / sxx, my - sxy / sxx * mx))
}

fn make(a: &Analysis, dir: &Path) -> Result<FigureOutcome> {
    // Label-noise runs only: the other dynamics have no η²σ² clock.
    let scale = |r: &crate::runs::Run| {
        let (eta, sigma) = (r.number("eta")?, r.number("sigma")?);
        (r.algorithm() == "label-noise" && eta > 0.0 && sigma > 0.0)
            .then(|| 1.0 / (eta * eta * sigma * sigma))
    };
    let clocked: Vec<usize> = a
        .selected
        .iter()
        .copied()
        .filter(|&c| {
            a.grid.cells[c]
                .runs
                .first()
                .is_some_and(|&r| scale(&a.runs[r]).is_some())
        })
        .collect();
    let mut data = FigureData::new(a);
    let converged: Vec<(usize, f64, f64)> = clocked
        .iter()
        .flat_map(|&c| a.grid.cells[c].runs.iter().map(move |&r| (c, r)))
        // A diverging run's spectrum collapses as it blows up: not the
        // theory's convergence, and the cell medians leave it out too.
        .filter(|&(_, r)| a.runs[r].drawable())
        .filter_map(|(c, r)| {
            let time = a.traces[r].first_below[1]?.max(1) as f64;
            Some((c, scale(&a.runs[r])?, time))
        })
        .collect();
    // Beyond MAX_POINTS dots the scatter is a blot (and the SVG megabytes):
    // an evenly spaced sample of the runs is drawn instead.
    let stride = converged.len().div_ceil(MAX_POINTS).max(1);
    let runs: Vec<(f64, f64)> = converged
        .iter()
        .step_by(stride)
        .map(|&(c, x, y)| {
            data.point(&[c], ("", "runs"), (x, y), 1);
            (x, y)
        })
        .collect();
    let sampled = if stride > 1 {
        format!(" (every {stride}th of {} runs)", converged.len())
    } else {
        String::new()
    };
    let mut notes = Vec::new();
    let mut medians: Vec<usize> = Vec::new();
    let cells: Vec<(f64, f64)> = a
        .summaries
        .iter()
        .filter(|s| clocked.contains(&s.cell))
        .filter_map(|s| {
            let shown = a.drawn(&[s.cell]);
            if shown.none_drawable() {
                let label = &a.grid.cells[s.cell].label;
                notes.push(format!("{label}: {}", shown.note("seeds")));
                data.note(&[s.cell], "", "cell medians");
                return None;
            }
            let run = &a.runs[*a.grid.cells[s.cell].runs.first()?];
            let point = (scale(run)?, s.stat(TIME)?.median?.max(1.0));
            let seeds = shown.runs - shown.diverged - shown.failed;
            data.point(&[s.cell], ("", "cell medians"), point, seeds);
            medians.push(s.cell);
            Some(point)
        })
        .collect();
    let logs: Vec<(f64, f64)> = cells.iter().map(|(x, y)| (x.log10(), y.log10())).collect();
    let fit = fit_line(&logs);
    let Some((slope, icept)) = fit else {
        return skipped(
            "needs label-noise cells at two or more values of 1/(η²σ²) whose median run reached s2/s1 < 1e-2",
        );
    };
    let fitted = |x: f64| (x, 10f64.powf(slope * x.log10() + icept));
    let ends = log_range(runs.iter().chain(&cells).map(|p| p.0));
    for x in [ends.start, ends.end] {
        data.point(&medians, ("", "fit"), fitted(x), 0);
    }
    let all = a.drawn(&clocked);
    FIGURE.drawn(
        &Convergence {
            title: format!("label-noise runs: {}", all.note("runs")),
            runs,
            cells,
            fit,
            notes,
        },
        data,
        dir,
        format!(
            "Grey: each run that reached s2/s1 < 1e-2{sampled}; black: each cell's median over \
             its seeds that did not diverge (diverged runs are not drawn: the panel counts them, \
             and a cell whose every seed diverged is a note). Fitted log–log slope through the \
             medians: {slope:.2} (Theorem 1.1's order 1/(η²σ²) is slope 1)."
        ),
    )
}

impl Plot for Convergence {
    fn size(&self) -> (u32, u32) {
        (900, 650)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let all = || self.runs.iter().chain(&self.cells);
        let x = log_range(all().map(|p| p.0));
        let y = log_range(all().map(|p| p.1));
        let areas = plot::panels(root, FIGURE.title, (1, 1), |_, _| vec![self.title.clone()])?;
        let desc = ("1/(η²σ²)", "steps to s2/s1 < 1e-2");
        let mut chart = plot::log_log(&areas[0].2, x.clone(), y, desc)?;
        let grey = RGBColor(150, 150, 150);
        chart
            .draw_series(self.runs.iter().map(|&p| Circle::new(p, 4, grey.filled())))?
            .label("runs")
            .legend(move |(x, y)| Circle::new((x + 8, y), 4, grey.filled()));
        chart
            .draw_series(
                self.cells
                    .iter()
                    .map(|&p| Circle::new(p, 6, BLACK.filled())),
            )?
            .label("cell medians")
            .legend(|(x, y)| Circle::new((x + 8, y), 6, BLACK.filled()));
        if let Some((slope, icept)) = self.fit {
            let line = |v: f64| 10f64.powf(slope * v.log10() + icept);
            let fitted = [x.start, x.end].map(|v| (v, line(v)));
            chart.line(fitted, plot::RED, &format!("fit: slope {slope:.2}"))?;
        }
        for note in &self.notes {
            chart.note(note)?;
        }
        plot::legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }
}
