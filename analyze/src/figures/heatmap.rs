//! Final s₂/s₁ (median over seeds) and the divergence rate over two swept
//! axes, e.g. (η, σ). Runs that differ in other swept keys are pooled into
//! the same square, and the caption says so.

use super::{Drawn, Figure, FigureData, Outcome, Plot};
use crate::analysis::Analysis;
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
type Grid = Vec<Vec<Option<f64>>>;
/// A value's place on the colour scale, 0 to 1.
type Scale = Box<dyn Fn(f64) -> f64>;

struct Heatmap {
    axes: [(String, Vec<f64>); 2],
    /// The panels' titles, with how many runs diverged.
    titles: [String; 2],
    /// [x][y]: median final s₂/s₁ of the runs that neither diverged nor
    /// failed; `Some(NaN)` where every run did (a note, not a colour).
    ratio: Vec<Vec<Option<f64>>>,
    /// [x][y]: diverged / runs, `None` where there are no runs.
    rate: Vec<Vec<Option<f64>>>,
}

/// What the left panel shows in a square where every run diverged or failed.
const ALL_DIVERGED: &str = "all diverged";

fn make(a: &Analysis, dir: &Path) -> Result<Outcome> {
    let Some([(xa, xs), (ya, ys)]) = a.heatmap_axes.clone() else {
        return super::skipped("fewer than two numeric axes are swept");
    };
    let slot = |vals: &[f64], v: Option<f64>| vals.iter().position(|x| Some(*x) == v);
    let mut groups = vec![vec![Vec::new(); ys.len()]; xs.len()];
    for i in a.selected_runs() {
        let r = &a.runs[i];
        if let (Some(x), Some(y)) = (slot(&xs, r.number(&xa)), slot(&ys, r.number(&ya))) {
            groups[x][y].push(i);
        }
    }
    let names = ["median final s2/s1", "divergence rate"];
    let mut data = FigureData::new(a);
    let mut ratio = vec![vec![None; ys.len()]; xs.len()];
    let mut rate = ratio.clone();
    for (x, col) in groups.iter().enumerate() {
        for (y, g) in col.iter().enumerate().filter(|(_, g)| !g.is_empty()) {
            let mut cells: Vec<usize> = g.iter().map(|&i| a.grid.run_cell[i]).collect();
            cells.sort_unstable();
            cells.dedup();
            let finished: Vec<f64> = g
                .iter()
                .filter(|&&i| a.runs[i].drawable())
                .map(|&i| a.runs[i].last.sv_ratio2_z)
                .collect();
            let seeds = finished.len();
            let q = Quartiles::of(finished);
            if seeds == 0 {
                ratio[x][y] = Some(f64::NAN);
                data.note(&cells, names[0], "");
            } else if let Some(median) = q.median {
                ratio[x][y] = Some(median);
                data.value(&cells, names[0], (median, q.q25.zip(q.q75)), seeds);
            }
            let diverged = g.iter().filter(|&&i| a.runs[i].diverged()).count();
            let r = diverged as f64 / g.len() as f64;
            rate[x][y] = Some(r);
            data.value(&cells, names[1], (r, None), g.len());
        }
    }
    let all = a.drawn(&a.selected);
    let titles = [
        format!(
            "{} ({} runs, {} diverged)",
            names[0], all.runs, all.diverged
        ),
        names[1].to_string(),
    ];
    let others: Vec<&String> = a
        .grid
        .swept
        .iter()
        .filter(|k| **k != xa && **k != ya)
        .collect();
    let pooled = if others.is_empty() {
        String::new()
    } else {
        format!(
            " Runs are pooled over the other swept keys ({}).",
            others
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let plot = Heatmap {
        axes: [(xa.clone(), xs), (ya.clone(), ys)],
        titles,
        ratio,
        rate,
    };
    FIGURE.drawn(
        &plot,
        data,
        dir,
        format!(
            "Left: median final s2/s1 of Z over the seeds that did not diverge (colour on a log scale; \
             \"{ALL_DIVERGED}\" where every seed diverged). Right: fraction of seeds that diverged. \
             Axes: {xa} (x) and {ya} (y); blank squares had no runs.{pooled}"
        ),
    )
}

impl Plot for Heatmap {
    fn size(&self) -> (u32, u32) {
        (1300, 600)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let areas = super::panels(root, FIGURE.title, (1, 2), |_, c| {
            vec![self.titles[c].clone()]
        })?;
        let areas = areas.iter().map(|(_, _, a)| a);
        let [(xa, xs), (ya, ys)] = &self.axes;
        let log_ratio: Vec<f64> = self
            .ratio
            .iter()
            .flatten()
            .flatten()
            .filter(|v| **v > 0.0 && v.is_finite())
            .map(|v| v.log10())
            .collect();
        let (lo, hi) = log_ratio
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                (l.min(*v), h.max(*v))
            });
        let panels: [(&Grid, Scale); 2] = [
            (
                &self.ratio,
                Box::new(move |v: f64| {
                    if hi > lo {
                        (v.log10() - lo) / (hi - lo)
                    } else {
                        0.5
                    }
                }),
            ),
            (&self.rate, Box::new(|v: f64| v)),
        ];
        for ((values, scale), area) in panels.iter().zip(areas) {
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
                        vals.get(*i as usize).map(super::sci).unwrap_or_default()
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
                .label_style(super::label_style())
                .axis_desc_style(super::label_style())
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
                        super::value_label(v)
                    };
                    chart.draw_series(std::iter::once(Text::new(
                        text,
                        (SegmentValue::CenterOf(x), SegmentValue::CenterOf(y)),
                        super::label_style().color(&ink).pos(
                            plotters::style::text_anchor::Pos::new(
                                plotters::style::text_anchor::HPos::Center,
                                plotters::style::text_anchor::VPos::Center,
                            ),
                        ),
                    )))?;
                }
            }
        }
        Ok(())
    }
}
