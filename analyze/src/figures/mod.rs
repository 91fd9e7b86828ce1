//! The figures, each in its own module, listed once in [`ALL`]: adding a
//! figure is a module with a `FIGURE` constant and one line here.
//!
//! Every figure is drawn twice from one description, to PNG (text rendered
//! with the embedded DejaVu Sans, so no system fonts are needed) and to SVG.

mod convergence;
mod heatmap;
mod neurons;
mod sharpness;
mod spectrum;

use crate::analysis::Analysis;
use crate::error::{AnalyzeError, Result};
use crate::trajectory::Point;
use plotters::coord::Shift;
use plotters::coord::combinators::LogCoord;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::sync::Once;

/// A figure: the file stem it writes (`<stem>.png`, `<stem>.svg`), its title
/// in the report, and how it is made from an analysis.
pub struct Figure {
    pub stem: &'static str,
    pub title: &'static str,
    pub make: fn(&Analysis, &Path) -> Result<Outcome>,
}

/// What making a figure came to.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Written; the caption says what it shows.
    Drawn { caption: String },
    /// The dataset has nothing to show in it (the reason is reported).
    Skipped(String),
}

/// Every figure, in report order.
pub const ALL: &[Figure] = &[
    spectrum::FIGURE,
    neurons::FIGURE,
    heatmap::FIGURE,
    convergence::FIGURE,
    sharpness::FIGURE,
];

/// The drawing result of a backend.
pub type Drawn<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A figure's content, drawable on any backend.
pub trait Plot {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB>;
}

pub const FONT: &str = "sans-serif";

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TrueType font, checked by a test.
        let _ = plotters::style::register_font(
            FONT,
            FontStyle::Normal,
            include_bytes!("../../assets/DejaVuSans.ttf"),
        );
    });
}

/// Writes `plot` as `dir/<stem>.png` and `dir/<stem>.svg`.
pub fn save(figure: &'static str, plot: &impl Plot, dir: &Path, stem: &str) -> Result<()> {
    register_font();
    let fail = |e: &dyn std::fmt::Display| AnalyzeError::Figure {
        figure,
        message: e.to_string(),
    };
    let png = dir.join(format!("{stem}.png"));
    {
        let root = BitMapBackend::new(&png, plot.size()).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        plot.draw(&root).map_err(|e| fail(&e))?;
        root.present().map_err(|e| fail(&e))?;
    }
    let svg = dir.join(format!("{stem}.svg"));
    let root = SVGBackend::new(&svg, plot.size()).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    plot.draw(&root).map_err(|e| fail(&e))?;
    root.present().map_err(|e| fail(&e))
}

/// Rows and columns of a grid of `n` panels, at most three across.
pub fn grid_shape(n: usize) -> (usize, usize) {
    let cols = n.clamp(1, 3);
    (n.div_ceil(cols).max(1), cols)
}

/// Size of a figure of `n` panels.
pub fn panel_size(n: usize) -> (u32, u32) {
    let (rows, cols) = grid_shape(n);
    ((cols as u32 * 520).max(1000), rows as u32 * 420 + 50)
}

/// Median and quartiles across runs at each recorded step > 0 of a value
/// that is positive (so it can go on a log axis).
pub struct Band {
    pub step: f64,
    pub q25: f64,
    pub median: f64,
    pub q75: f64,
}

pub fn bands(curves: &[&[Point]], value: impl Fn(&Point) -> Option<f64>) -> Vec<Band> {
    let mut at: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for c in curves {
        for p in c.iter().filter(|p| p.step > 0) {
            if let Some(v) = value(p).filter(|v| v.is_finite() && *v > 0.0) {
                at.entry(p.step).or_default().push(v);
            }
        }
    }
    at.into_iter()
        .filter_map(|(step, v)| {
            let q = crate::summary::Quartiles::of(v);
            Some(Band {
                step: step as f64,
                q25: q.q25?,
                median: q.median?,
                q75: q.q75?,
            })
        })
        .collect()
}

/// A log-axis range covering `values` (positive), widened to whole decades
/// so that every axis has labelled powers of ten.
pub fn log_range(values: impl Iterator<Item = f64>) -> Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return 1e-3..1.0;
    }
    let down = 10f64.powf(lo.log10().floor());
    let up = 10f64.powf(hi.log10().ceil());
    if up > down {
        down..up
    } else {
        down..down * 10.0
    }
}

/// Tick labels of a log axis: 1e-3, 0.01, 0.1, 1, 10, 100, 1e3, …
pub fn sci(v: &f64) -> String {
    let a = v.abs();
    // Rounding noise at a tick meant to be 0.
    if a < 1e-12 {
        "0".into()
    } else if (1e-2..1e4).contains(&a) {
        format!("{}", (v * 1e3).round() / 1e3)
    } else {
        let e = a.log10().floor();
        let mant = v / 10f64.powf(e);
        if (mant.abs() - 1.0).abs() < 1e-9 {
            format!("1e{e}")
        } else {
            format!("{mant:.1}e{e}")
        }
    }
}

/// The i-th of a set of distinguishable line colours.
pub fn colour(i: usize) -> RGBColor {
    const C: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
    ];
    C[i % C.len()]
}

/// Draws a median line with its interquartile band into `chart`.
pub fn draw_band<DB: DrawingBackend>(
    chart: &mut ChartContext<DB, Cartesian2d<LogCoord<f64>, LogCoord<f64>>>,
    b: &[Band],
    colour: RGBColor,
    label: &str,
) -> Drawn<DB> {
    let mut outline: Vec<(f64, f64)> = b.iter().map(|p| (p.step, p.q75)).collect();
    outline.extend(b.iter().rev().map(|p| (p.step, p.q25)));
    chart.draw_series(std::iter::once(Polygon::new(
        outline,
        colour.mix(0.18).filled(),
    )))?;
    chart
        .draw_series(LineSeries::new(
            b.iter().map(|p| (p.step, p.median)),
            colour.stroke_width(2),
        ))?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
    Ok(())
}

/// The standard text styles: legible at a glance.
pub fn title_style() -> TextStyle<'static> {
    (FONT, 26).into_font().into()
}
pub fn caption_style() -> TextStyle<'static> {
    (FONT, 18).into_font().into()
}
pub fn label_style() -> TextStyle<'static> {
    (FONT, 14).into_font().into()
}
