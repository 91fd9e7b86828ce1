//! Final s₂/s₁ (median over seeds) and the divergence rate over two swept
//! axes, e.g. (η, σ), each with its colour bar: one row of panels per
//! problem (dynamics, activation, m, d, n, data, …), so runs of different
//! problems never share a square. Runs that differ only in other swept keys
//! (a budget, a seed count) are pooled, and the caption says so.

use super::data::FigureData;
use super::figure::{Figure, FigureOutcome, skipped};
use super::plot::{self, Drawn, Plot};
use crate::analysis::Analysis;
use crate::cells::{Cells, short_pair};
use crate::error::Result;
use crate::summary::Quartiles;
use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;
use std::path::Path;

pub const FIGURE: Figure = Figure {
    stem: "heatmap",
    title: "Final s2/s1 of Z (median over seeds) and divergence rate",
    cells: None,
    make,
};

/// Values per square, [x][y].
type Squares = Vec<Vec<Option<f64>>>;

/// Problems drawn (rows of panels); the caption names those left out.
const MAX_PROBLEMS: usize = 6;

/// Keys that make two runs different problems in a heatmap: the dynamics
/// and what `same_problem` compares.
fn problem_keys() -> impl Iterator<Item = &'static str> {
    std::iter::once("algorithm").chain(crate::cells::PROBLEM)
}

/// `cells` split into problems, in grid order: cells that differ in a
/// problem key other than the axes are apart. Each with its title, the
/// values of the problem keys that vary among `cells` ("" for one problem).
pub fn problems(grid: &Cells, cells: &[usize], axes: [&str; 2]) -> Vec<(String, Vec<usize>)> {
    let keys: Vec<&str> = problem_keys()
        .filter(|k| !axes.contains(k))
        .filter(|k| {
            let first = cells.first().and_then(|&c| grid.cells[c].config.get(*k));
            cells.iter().any(|&c| grid.cells[c].config.get(*k) != first)
        })
        .collect();
    let mut out: Vec<(String, Vec<usize>)> = Vec::new();
    for &c in cells {
        let cell = &grid.cells[c];
        let title = keys
            .iter()
            .filter(|k| cell.config.contains_key(**k))
            .map(|k| short_pair(cell, k))
            .collect::<Vec<_>>()
            .join(", ");
        match out.iter_mut().find(|(t, _)| *t == title) {
            Some((_, members)) => members.push(c),
            None => out.push((title, vec![c])),
        }
    }
    out
}

/// One problem's row of panels.
struct Problem {
    /// Its panels' titles, with how many runs diverged.
    titles: [String; 2],
    /// The axis values its runs take.
    xs: Vec<f64>,
    ys: Vec<f64>,
    /// [x][y]: median final s₂/s₁ of the runs that neither diverged nor
    /// failed; `Some(NaN)` where every run did (a note, not a colour).
    ratio: Squares,
    /// [x][y]: diverged / runs, `None` where there are no runs.
    rate: Squares,
}

struct Heatmap {
    axes: [String; 2],
    problems: Vec<Problem>,
    /// The colour scale of the ratio: log10 of the values at its ends.
    log_ratio: (f64, f64),
}

/// What the left panel shows in a square where every run diverged or failed.
const ALL_DIVERGED: &str = "all diverged";

const NAMES: [&str; 2] = ["median final s2/s1", "divergence rate"];

fn make(a: &Analysis, dir: &Path) -> Result<FigureOutcome> {
    let Some([(xa, xs), (ya, ys)]) = a.heatmap_axes.clone() else {
        return skipped("fewer than two numeric axes are swept");
    };
    let mut data = FigureData::new(a);
    let all = problems(&a.grid, &a.selected, [&xa, &ya]);
    let mut drawn = Vec::new();
    for (title, cells) in all.iter().take(MAX_PROBLEMS) {
        let axes = [(xa.as_str(), xs.as_slice()), (ya.as_str(), ys.as_slice())];
        if let Some(p) = problem(a, title, cells, axes, &mut data) {
            drawn.push(p);
        }
    }
    if drawn.is_empty() {
        return skipped(format!("no selected cell has numeric {xa} and {ya}"));
    }
    let finite = drawn
        .iter()
        .flat_map(|p| p.ratio.iter().flatten().flatten())
        .filter(|v| **v > 0.0 && v.is_finite())
        .map(|v| v.log10());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    // One value (or none) still gets a bar: a decade either side.
    let log_ratio = if hi > lo {
        (lo, hi)
    } else if lo.is_finite() {
        (lo - 1.0, hi + 1.0)
    } else {
        (-1.0, 1.0)
    };
    let others: Vec<&str> = a
        .grid
        .swept
        .iter()
        .map(String::as_str)
        .filter(|k| *k != xa && *k != ya && !problem_keys().any(|p| p == *k))
        .filter(|k| {
            let value = |c: usize| a.grid.cells[c].config.get(*k);
            let first = a.selected.first().and_then(|&c| value(c));
            a.selected.iter().any(|&c| value(c) != first)
        })
        .collect();
    let pooled = if others.is_empty() {
        String::new()
    } else {
        format!(
            " Runs are pooled over the other swept keys ({}).",
            others.join(", ")
        )
    };
    let left_out = if all.len() > MAX_PROBLEMS {
        format!(
            " The first {MAX_PROBLEMS} of {} problems are drawn (use --select).",
            all.len()
        )
    } else {
        String::new()
    };
    let plot = Heatmap {
        axes: [xa.clone(), ya.clone()],
        problems: drawn,
        log_ratio,
    };
    FIGURE.drawn(
        &plot,
        data,
        dir,
        format!(
            "Left: median final s2/s1 of Z over the seeds that did not diverge (colour on a log \
             scale, bar beside; \"{ALL_DIVERGED}\" where every seed diverged). Right: fraction \
             of seeds that diverged. Axes: {xa} (x) and {ya} (y); blank squares had no runs. \
             One row per problem (dynamics, activation, m, d, n, data, …): runs of different \
             problems never share a square.{pooled}{left_out}"
        ),
    )
}

/// The squares of one problem's `cells` over the axes, recorded in `data`;
/// `None` if none of its cells has a number on both axes.
fn problem(
    a: &Analysis,
    title: &str,
    cells: &[usize],
    [(xa, all_xs), (ya, all_ys)]: [(&str, &[f64]); 2],
    data: &mut FigureData,
) -> Option<Problem> {
    // The values the problem's cells take; all of the axis' where they take
    // one (a panel needs two rows or columns to draw squares).
    let values = |k: &str, all: &[f64]| {
        let mut v: Vec<f64> = cells
            .iter()
            .filter_map(|&c| a.grid.cells[c].number(k))
            .collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        if v.len() < 2 { all.to_vec() } else { v }
    };
    let (xs, ys) = (values(xa, all_xs), values(ya, all_ys));
    let slot = |vals: &[f64], v: Option<f64>| vals.iter().position(|x| Some(*x) == v);
    let mut groups = vec![vec![Vec::new(); ys.len()]; xs.len()];
    for &c in cells {
        let cell = &a.grid.cells[c];
        if let (Some(x), Some(y)) = (slot(&xs, cell.number(xa)), slot(&ys, cell.number(ya))) {
            groups[x][y].extend(cell.runs.iter().copied());
        }
    }
    if groups.iter().flatten().all(Vec::is_empty) {
        return None;
    }
    let suffix = if title.is_empty() {
        String::new()
    } else {
        format!(" — {title}")
    };
    let names = NAMES.map(|n| format!("{n}{suffix}"));
    let mut ratio = vec![vec![None; ys.len()]; xs.len()];
    let mut rate = ratio.clone();
    for (x, col) in groups.iter().enumerate() {
        for (y, g) in col.iter().enumerate().filter(|(_, g)| !g.is_empty()) {
            let mut members: Vec<usize> = g.iter().map(|&i| a.grid.run_cell[i]).collect();
            members.dedup();
            let finished: Vec<f64> = g
                .iter()
                .filter(|&&i| a.runs[i].drawable())
                .map(|&i| a.runs[i].last.sv_ratio2_z)
                .collect();
            let seeds = finished.len();
            let q = Quartiles::of(finished);
            if seeds == 0 {
                ratio[x][y] = Some(f64::NAN);
                data.note(&members, &names[0], "");
            } else if let Some(median) = q.median {
                ratio[x][y] = Some(median);
                data.value(&members, &names[0], (median, q.q25.zip(q.q75)), seeds);
            }
            let diverged = g.iter().filter(|&&i| a.runs[i].diverged()).count();
            let r = diverged as f64 / g.len() as f64;
            rate[x][y] = Some(r);
            data.value(&members, &names[1], (r, None), g.len());
        }
    }
    let shown = a.drawn(cells);
    Some(Problem {
        titles: [
            format!(
                "{} ({} runs, {} diverged)",
                names[0], shown.runs, shown.diverged
            ),
            names[1].clone(),
        ],
        xs,
        ys,
        ratio,
        rate,
    })
}

/// Width of a panel's colour bar, its tick labels included.
const BAR: u32 = 95;

impl Plot for Heatmap {
    fn size(&self) -> (u32, u32) {
        (1300, 60 + 500 * self.problems.len() as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let (lo, hi) = self.log_ratio;
        let areas = plot::panels(root, FIGURE.title, (self.problems.len(), 2), |r, c| {
            vec![self.problems[r].titles[c].clone()]
        })?;
        let ratio_tick = |v: &f64| plot::log_tick(&10f64.powf(*v));
        for (row, side, area) in &areas {
            let p = &self.problems[*row];
            let (w, _) = area.dim_in_pixel();
            let (squares, bar) = area.split_horizontally(w.saturating_sub(BAR));
            if *side == 0 {
                let scale = |v: f64| (v.log10() - lo) / (hi - lo);
                self.squares(&squares, p, &p.ratio, &scale)?;
                colour_bar(&bar, (lo, hi), &ratio_tick)?;
            } else {
                self.squares(&squares, p, &p.rate, &|v| v)?;
                colour_bar(&bar, (0.0, 1.0), &plot::sci)?;
            }
        }
        Ok(())
    }
}

impl Heatmap {
    /// One panel's squares, coloured by `scale` (0 to 1) along viridis.
    fn squares<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        p: &Problem,
        values: &Squares,
        scale: &dyn Fn(f64) -> f64,
    ) -> Drawn<DB> {
        let [xa, ya] = &self.axes;
        let (xs, ys) = (&p.xs, &p.ys);
        let mut chart = ChartBuilder::on(area)
            .margin(10)
            .x_label_area_size(50)
            .y_label_area_size(75)
            .build_cartesian_2d(
                // A segmented range a..b has a segment per value a..=b.
                (0..xs.len() as i32 - 1).into_segmented(),
                (0..ys.len() as i32 - 1).into_segmented(),
            )?;
        let label = |vals: &[f64]| {
            let vals = vals.to_vec();
            move |v: &SegmentValue<i32>| match v {
                SegmentValue::CenterOf(i) => {
                    vals.get(*i as usize).map(plot::sci).unwrap_or_default()
                }
                _ => String::new(),
            }
        };
        let (fx, fy) = (label(xs), label(ys));
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(xa.as_str())
            .y_desc(ya.as_str())
            .x_labels(xs.len() + 1)
            .y_labels(ys.len() + 1)
            .x_label_formatter(&fx)
            .y_label_formatter(&fy)
            .label_style(plot::label_style())
            .axis_desc_style(plot::label_style())
            .draw()?;
        for (x, col) in values.iter().enumerate() {
            for (y, v) in col.iter().enumerate() {
                let Some(v) = v else { continue };
                let (x, y) = (x as i32, y as i32);
                // NaN: every run diverged, drawn grey with a note.
                let t = scale(*v).clamp(0.0, 1.0);
                let fill = if t.is_finite() {
                    ViridisRGB::get_color(t)
                } else {
                    RGBColor(200, 200, 200)
                };
                chart.draw_series(std::iter::once(Rectangle::new(
                    [
                        (SegmentValue::Exact(x), SegmentValue::Exact(y)),
                        (SegmentValue::Exact(x + 1), SegmentValue::Exact(y + 1)),
                    ],
                    fill.filled(),
                )))?;
                let ink = if t > 0.6 || t.is_nan() { BLACK } else { WHITE };
                let text = if v.is_nan() {
                    ALL_DIVERGED.to_string()
                } else {
                    plot::value_label(v)
                };
                chart.draw_series(std::iter::once(Text::new(
                    text,
                    (SegmentValue::CenterOf(x), SegmentValue::CenterOf(y)),
                    plot::label_style()
                        .color(&ink)
                        .pos(plotters::style::text_anchor::Pos::new(
                            plotters::style::text_anchor::HPos::Center,
                            plotters::style::text_anchor::VPos::Center,
                        )),
                )))?;
            }
        }
        Ok(())
    }
}

/// A vertical colour bar over `lo..hi` (dark to light along viridis, as
/// the squares are coloured), its ticks labelled by `tick`; aligned with
/// the squares' plotting area.
fn colour_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (lo, hi): (f64, f64),
    tick: &dyn Fn(&f64) -> String,
) -> Drawn<DB> {
    const SLICES: usize = 64;
    let mut chart = ChartBuilder::on(area)
        .margin_top(10)
        .margin_bottom(60)
        .margin_left(5)
        .right_y_label_area_size(60)
        .build_cartesian_2d(0.0..1.0, lo..hi)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(6)
        .y_label_formatter(tick)
        .label_style(plot::label_style())
        .draw()?;
    let at = |i: usize| lo + (hi - lo) * i as f64 / SLICES as f64;
    chart.draw_series((0..SLICES).map(|i| {
        let t = (i as f64 + 0.5) / SLICES as f64;
        Rectangle::new(
            [(0.0, at(i)), (1.0, at(i + 1))],
            ViridisRGB::get_color(t).filled(),
        )
    }))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::Run;
    use serde_json::json;

    #[test]
    fn runs_of_different_problems_get_panels_of_their_own() {
        let mut runs = Vec::new();
        for d in [2, 3] {
            for eta in [0.01, 0.02] {
                for steps in [100, 1000] {
                    runs.push(Run::of(json!({"m": 10, "d": d, "n": 3, "data": "uniform",
                        "eta": eta, "sigma": 0.1 * d as f64, "steps": steps})));
                }
            }
        }
        let grid = Cells::of(&runs);
        let all: Vec<usize> = (0..grid.cells.len()).collect();
        let p = problems(&grid, &all, ["eta", "sigma"]);
        let titles: Vec<&str> = p.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(titles, ["d=2", "d=3"]);
        for (title, cells) in &p {
            // Budgets (steps) pool; problems do not.
            assert_eq!(cells.len(), 4, "{title}");
            let d = if title == "d=2" { 2.0 } else { 3.0 };
            assert!(cells.iter().all(|&c| grid.cells[c].number("d") == Some(d)));
        }
        // An axis is not a problem key: d as an axis keeps one panel.
        assert_eq!(problems(&grid, &all, ["eta", "d"]).len(), 1);
        // One problem: no title.
        let d3: Vec<usize> = p[1].1.clone();
        assert_eq!(problems(&grid, &d3, ["eta", "sigma"])[0].0, "");
    }
}
