//! The `flow` dynamics beside label-noise SGD on one clock: R − R* and the
//! Riemannian gradient norm ‖P_T ∇R‖ against the time t, the flow's own
//! time for `flow` and t = k·η²σ²/(2B) for label-noise SGD (the `time`
//! column; docs/dynamics.md derives the constant). [G24]: label-noise SGD
//! follows the flow on that clock, and Theorem 3.5's linear convergence is
//! a straight descent on the log axis. One row of panels per problem
//! (activation, m, d, n, data, …) that has flow runs.

use super::data::FigureData;
use super::figure::{Figure, FigureOutcome, skipped};
use super::plot::{self, Drawn, Lines, Plot, colour, linear_range, log_range, positive};
use crate::analysis::Analysis;
use crate::cells::{Cell, Cells, compact};
use crate::error::Result;
use crate::trajectory::Point;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

pub const FIGURE: Figure = Figure {
    stem: "flow",
    title: "Riemannian flow of R and label-noise SGD on one clock t",
    cells: Some(cells),
    make,
};

/// Problems shown (rows of panels).
const MAX_PROBLEMS: usize = 3;

/// The flow cells, and the label-noise cells with noise (σ > 0, so their
/// clock is defined) of the same problems.
fn cells(grid: &Cells) -> Vec<usize> {
    let flows = crate::cells::cells_of_algorithm(grid, "flow");
    (0..grid.cells.len())
        .filter(|&c| {
            let cell = &grid.cells[c];
            match cell.algorithm() {
                "flow" => true,
                "label-noise" => {
                    cell.number("sigma").is_some_and(|s| s > 0.0)
                        && flows
                            .iter()
                            .any(|&f| crate::cells::same_problem(cell, &grid.cells[f]))
                }
                _ => false,
            }
        })
        .collect()
}

/// One cell's runs that neither diverged nor failed: per run, (t, R − R*)
/// and (t, ‖P_T∇R‖); none when every run did (the line is then a note).
struct Line {
    label: String,
    runs: Vec<[Vec<(f64, f64)>; 2]>,
}

struct Problem {
    title: String,
    lines: Vec<Line>,
}

struct Flow(Vec<Problem>);

const NAMES: [&str; 2] = ["R(Θ) − R*", "‖P_T ∇R(Θ)‖"];

fn series(curve: &[Point]) -> [Vec<(f64, f64)>; 2] {
    let on = |f: fn(&Point) -> f64| {
        curve
            .iter()
            .filter(|p| p.time.is_finite())
            .filter_map(|p| Some((p.time, positive(f(p))?)))
            .collect()
    };
    [on(|p| p.r_gap), on(|p| p.riem_grad_norm)]
}

/// A line's legend: the dynamics and the parameters of its clock.
fn label(cell: &Cell) -> String {
    let num = |k: &str| cell.number(k).map_or_else(String::new, compact);
    if cell.algorithm() == "flow" {
        format!("flow, h ≤ {}", num("flow_h"))
    } else {
        format!(
            "label-noise, η={}, σ={}, B={}",
            num("eta"),
            num("sigma"),
            num("batch_size")
        )
    }
}

fn make(a: &Analysis, dir: &Path) -> Result<FigureOutcome> {
    let shown = a.cells_of(FIGURE.stem);
    let grid = &a.grid;
    let mut problems: Vec<Problem> = Vec::new();
    let mut data = FigureData::new(a);
    for &f in shown
        .iter()
        .filter(|&&c| grid.cells[c].algorithm() == "flow")
    {
        if problems.len() == MAX_PROBLEMS {
            break;
        }
        let members: Vec<usize> = shown
            .iter()
            .copied()
            .filter(|&c| crate::cells::same_problem(&grid.cells[c], &grid.cells[f]))
            .collect();
        // A problem with several flow cells is drawn once, at its first.
        if members
            .iter()
            .any(|&c| c < f && grid.cells[c].algorithm() == "flow")
        {
            continue;
        }
        let cell = &grid.cells[f];
        let title = ["activation", "m", "d", "n", "data"]
            .map(|k| format!("{k}={}", cell.value(k)))
            .join(", ");
        let lines: Vec<Line> = members
            .iter()
            .filter_map(|&c| {
                let shown = a.drawn(&[c]);
                let label = format!("{} ({})", label(&grid.cells[c]), shown.note("seeds"));
                let runs: Vec<[Vec<(f64, f64)>; 2]> =
                    shown.curves.iter().map(|c| series(c)).collect();
                let drawn = runs.iter().any(|r| r.iter().any(|s| !s.is_empty()));
                for (side, name) in NAMES.iter().enumerate() {
                    let panel = format!("{name} — {title}");
                    if shown.none_drawable() {
                        data.note(&[c], &panel, &label);
                    }
                    for p in runs.iter().flat_map(|r| &r[side]) {
                        data.point(&[c], (&panel, &label), *p, 1);
                    }
                }
                (drawn || shown.none_drawable()).then_some(Line { label, runs })
            })
            .collect();
        if lines.is_empty() {
            continue;
        }
        problems.push(Problem { title, lines });
    }
    if problems.is_empty() {
        return skipped("no flow runs with a recorded time (algorithm = flow)");
    }
    FIGURE.drawn(
        &Flow(problems),
        data,
        dir,
        "Each line is one run that did not diverge (seeds in the same colour; the legend counts \
         the seeds and how many diverged, and a cell whose every seed diverged is a note), \
         against the time t: for flow, the \
         flow's time since reaching the zero-loss manifold; for label-noise SGD, t = k·η²σ²/(2B) \
         (docs/dynamics.md), the clock on which [G24] predicts it follows the flow. Left: R − R* \
         (values ≤ 0 left out); right: ‖P_T ∇R‖; log y. A straight descent is Theorem 3.5's \
         linear rate."
            .into(),
    )
}

impl Plot for Flow {
    fn size(&self) -> (u32, u32) {
        plot::rows_size(self.0.len())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let groups: Vec<String> = self.0.iter().map(|p| p.title.clone()).collect();
        let areas = plot::row_panels(root, FIGURE.title, &NAMES, &groups)?;
        for (row, side, area) in &areas {
            let (problem, side) = (&self.0[*row], *side);
            let all = || {
                problem
                    .lines
                    .iter()
                    .flat_map(|l| l.runs.iter().flat_map(|r| r[side].iter()))
            };
            let x = linear_range(all().map(|p| p.0).chain([0.0]));
            let y = log_range(all().map(|p| p.1));
            let mut chart = plot::chart(area, x, y.log_scale(), ("time t", NAMES[side]))?;
            for (k, line) in problem.lines.iter().enumerate() {
                if line.runs.is_empty() {
                    chart.note(&line.label)?;
                    continue;
                }
                let c = colour(k);
                for (r, run) in line.runs.iter().enumerate() {
                    let s = chart.draw_series(LineSeries::new(
                        run[side].iter().copied(),
                        c.mix(0.8).stroke_width(2),
                    ))?;
                    if r == 0 {
                        s.label(&line.label).legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                        });
                    }
                }
            }
            plot::legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        }
        Ok(())
    }
}
