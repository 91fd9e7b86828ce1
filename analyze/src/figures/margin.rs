//! [L21]: GD on two-layer leaky-ReLU nets with the logistic loss. The
//! normalised margin over the max-margin value (`margin_ratio`, 1 = the
//! linear max-margin classifier's) and the angle between the net's linear
//! part and the max-margin direction (`margin_angle`), against the step.
//! One row per data generator (symmetric data is [L21]'s theorem, the
//! asymmetric one its failure case), one line per initialisation scale
//! (median and interquartile band over the runs: seeds, and any other swept
//! key such as the width, pooled).

use super::data::FigureData;
use super::figure::{Figure, FigureOutcome, skipped};
use super::plot::{self, BandLine, Drawn, Plot, Quantity, log_range, ordered_colour};
use crate::analysis::Analysis;
use crate::error::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

pub const FIGURE: Figure = Figure {
    stem: "margin",
    title: "[L21] margins: normalised margin / max margin, and angle to the max-margin direction",
    cells: Some(|grid| crate::cells::cells_of_algorithm(grid, "margin")),
    make,
};

/// The ratio axis starts at −0.5 (a net that misclassifies a point is drawn
/// there) and ends just above 1, the maximum for symmetric data, or above
/// the largest ratio shown, up to 3 (without the symmetry a nonlinear net
/// can beat the linear max margin).
const RATIO_FLOOR: f64 = -0.5;
const RATIO_CEILING: f64 = 3.0;

struct Row {
    data: String,
    /// Per init_scale: the ratio band and the angle band.
    lines: Vec<BandLine>,
}

struct Margin(Vec<Row>);

const NAMES: [&str; 2] = ["margin ratio", "angle to max-margin direction (rad)"];

/// What each panel draws of a recorded step: the ratio, clamped to its
/// axis, and the angle where a log axis can show it.
const QUANTITIES: [Quantity; 2] = [
    |p| Some(p.margin_ratio.clamp(RATIO_FLOOR, RATIO_CEILING)),
    |p| plot::positive(p.margin_angle),
];

/// Distinct values of `key` among `cells`, in the grid's (sorted) order.
fn values(a: &Analysis, cells: &[usize], key: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for &c in cells {
        let v = a.grid.cells[c].value(key);
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

fn make(a: &Analysis, dir: &Path) -> Result<FigureOutcome> {
    let shown = a.cells_of(FIGURE.stem);
    let scales = values(a, shown, "init_scale");
    let of = |c: usize, key: &str| a.grid.cells[c].value(key);
    let mut data = FigureData::new(a);
    let rows: Vec<Row> = values(a, shown, "data")
        .into_iter()
        .map(|generator| {
            let panels = NAMES.map(|name| format!("{name} — data={generator}"));
            let lines = scales
                .iter()
                .filter_map(|scale| {
                    let cells: Vec<usize> = shown
                        .iter()
                        .copied()
                        .filter(|&c| of(c, "data") == generator && of(c, "init_scale") == *scale)
                        .collect();
                    let label = format!("init_scale={scale}");
                    BandLine::of(
                        a,
                        &cells,
                        (&label, "runs"),
                        (&panels.each_ref().map(String::as_str), &QUANTITIES),
                        &mut data,
                    )
                })
                .collect();
            Row {
                data: generator,
                lines,
            }
        })
        .filter(|r: &Row| !r.lines.is_empty())
        .collect();
    if rows.is_empty() {
        return skipped("no [L21] margin runs (algorithm = margin)");
    }
    let pooled: Vec<&String> = a
        .grid
        .swept
        .iter()
        .filter(|k| !["data", "init_scale", "seed"].contains(&k.as_str()))
        .filter(|k| values(a, shown, k).len() > 1)
        .collect();
    let pooled = if pooled.is_empty() {
        String::new()
    } else {
        let keys: Vec<&str> = pooled.iter().map(|k| k.as_str()).collect();
        format!(" Runs are pooled over {}.", keys.join(", "))
    };
    FIGURE.drawn(
        &Margin(rows),
        data,
        dir,
        format!(
            "Left: normalised margin min_i y_i f(x_i)/‖θ‖² over the max-margin value (1+α)γ*/4 \
             (dashed line at 1; values below −0.5 are drawn at −0.5, above 3 at 3). Right: angle \
             (radians, log axis) between the net's linear part and the max-margin direction. \
             Median and interquartile band over the runs of each data generator and \
             init_scale that did not diverge (the legend counts the runs and how many \
             diverged).{pooled} [L21]: with symmetric data the ratio approaches 1 and the angle \
             0; without the symmetry the net need not become linear: its angle can stay away \
             from 0 and its margin exceed the linear one (ratio > 1)."
        ),
    )
}

impl Plot for Margin {
    fn size(&self) -> (u32, u32) {
        plot::rows_size(self.0.len())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let groups: Vec<String> = self.0.iter().map(|r| format!("data={}", r.data)).collect();
        let areas = plot::row_panels(root, FIGURE.title, &NAMES, &groups)?;
        for (row, side, area) in &areas {
            let (row, side, name) = (&self.0[*row], *side, NAMES[*side]);
            let all = || row.lines.iter().flat_map(|l| l.band(side));
            let x = log_range(all().map(|b| b.step)).log_scale();
            let n = row.lines.len();
            let colour = |k| ordered_colour(k, n);
            if side == 0 {
                let top = all().map(|b| b.q75).fold(1.0, f64::max) + 0.1;
                let mut chart = plot::chart(area, x, RATIO_FLOOR..top, ("step", name))?;
                let ends = log_range(all().map(|b| b.step));
                chart.draw_series(DashedLineSeries::new(
                    [(ends.start, 1.0), (ends.end, 1.0)],
                    8,
                    6,
                    BLACK.stroke_width(1),
                ))?;
                plot::draw_lines(&mut chart, &row.lines, side, colour)?;
                plot::legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
            } else {
                let y = log_range(all().flat_map(|b| [b.q25, b.q75])).log_scale();
                let mut chart = plot::chart(area, x, y, ("step", name))?;
                plot::draw_lines(&mut chart, &row.lines, side, colour)?;
                plot::legend(&mut chart, SeriesLabelPosition::LowerLeft)?;
            }
        }
        Ok(())
    }
}
