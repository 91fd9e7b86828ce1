//! R(Θ) − R* and the Riemannian gradient norm ‖P_T ∇R‖ against the step,
//! log–log: [G24] Theorem 3.5's linear rate shows as a straight descent on
//! the log axis. One line (median, interquartile band) per grid cell.

use super::{Band, Drawn, Figure, Outcome, Plot, bands, colour, draw_band, log_range, sci};
use crate::analysis::Analysis;
use crate::error::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

pub const FIGURE: Figure = Figure {
    stem: "sharpness",
    title: "Sharpness gap R − R* and Riemannian gradient norm",
    make,
};

/// Per cell: its label and the two bands.
struct Sharpness(Vec<(String, [Vec<Band>; 2])>);

fn make(a: &Analysis, dir: &Path) -> Result<Outcome> {
    let lines: Vec<(String, [Vec<Band>; 2])> = a
        .figure_cells
        .iter()
        .map(|&c| {
            let curves = a.curves(c);
            let gap = bands(&curves, |p| Some(p.r_gap));
            let grad = bands(&curves, |p| Some(p.riem_grad_norm));
            (a.grid.cells[c].label.clone(), [gap, grad])
        })
        .filter(|(_, b)| b.iter().any(|b| !b.is_empty()))
        .collect();
    if lines.is_empty() {
        return Ok(Outcome::Skipped(
            "no positive R − R* or gradient norm recorded (R* undefined for this activation?)"
                .into(),
        ));
    }
    super::save(FIGURE.stem, &Sharpness(lines), dir, FIGURE.stem)?;
    Ok(Outcome::Drawn {
        caption: "Left: R(Θ) − R* (steps where it is ≤ 0, off the manifold, are left out). \
                  Right: ‖P_T ∇R‖. Median and interquartile band over seeds per cell; \
                  a linear rate is a straight descent."
            .into(),
    })
}

impl Plot for Sharpness {
    fn size(&self) -> (u32, u32) {
        (1300, 560)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let root = root.titled(FIGURE.title, super::title_style())?;
        let areas = root.split_evenly((1, 2));
        let names = ["R(Θ) − R*", "‖P_T ∇R(Θ)‖"];
        for (side, area) in areas.iter().enumerate() {
            let all = || self.0.iter().flat_map(|(_, b)| b[side].iter());
            let x = log_range(all().map(|b| b.step));
            let y = log_range(all().flat_map(|b| [b.q25, b.q75]));
            let mut chart = ChartBuilder::on(area)
                .caption(names[side], super::caption_style())
                .margin(10)
                .x_label_area_size(45)
                .y_label_area_size(65)
                .build_cartesian_2d(x.log_scale(), y.log_scale())?;
            chart
                .configure_mesh()
                .x_desc("step")
                .y_desc(names[side])
                .x_label_formatter(&sci)
                .y_label_formatter(&sci)
                .label_style(super::label_style())
                .axis_desc_style(super::label_style())
                .draw()?;
            for (i, (label, b)) in self.0.iter().enumerate() {
                if !b[side].is_empty() {
                    draw_band(&mut chart, &b[side], colour(i), label)?;
                }
            }
            chart
                .configure_series_labels()
                .label_font(super::label_style())
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .position(SeriesLabelPosition::LowerLeft)
                .draw()?;
        }
        Ok(())
    }
}
