//! The figures, each in its own module, listed once in [`ALL`]: adding a
//! figure is a module with a `FIGURE` constant and one line here.
//!
//! Every figure is drawn twice from one description, to PNG (text rendered
//! with the embedded DejaVu Sans, so no system fonts are needed) and to SVG,
//! and the data it draws is written beside it (see the `data` module). Runs that
//! diverged or failed are never drawn as data: each panel or line says how
//! many there were, and a line or panel with nothing else is a note.

mod convergence;
mod curvature;
mod data;
mod flow;
mod heatmap;
mod margin;
mod neurons;
mod noise;
mod sam;
mod sharpness;
mod spectrum;
mod stability;

pub use data::FigureData;

use crate::analysis::Analysis;
use crate::cells::{Cell, Grid};
use crate::error::{AnalyzeError, Result};
use crate::trajectory::Point;
use plotters::coord::Shift;
use plotters::coord::combinators::LogCoord;
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::sync::Once;

/// A figure: the file stem it writes (`<stem>.png`, `<stem>.svg`), its title
/// in the report, the cells it draws if it chooses its own (one figure per
/// dynamics; the \[G24\] figures draw the selected cells), and how it is made
/// from an analysis.
pub struct Figure {
    pub stem: &'static str,
    pub title: &'static str,
    pub cells: Option<fn(&Grid) -> Vec<usize>>,
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

impl Figure {
    /// Writes `plot` as `dir/<stem>.png` and `.svg` and what it draws as
    /// `dir/<stem>.parquet`: drawn, with `caption`.
    pub fn drawn(
        &self,
        plot: &impl Plot,
        data: FigureData,
        dir: &Path,
        caption: String,
    ) -> Result<Outcome> {
        save(self.stem, plot, dir)?;
        data.write(&dir.join(format!("{}.parquet", self.stem)))?;
        Ok(Outcome::Drawn { caption })
    }
}

/// Not drawn, for the reason given.
pub fn skipped(why: impl Into<String>) -> Result<Outcome> {
    Ok(Outcome::Skipped(why.into()))
}

/// Every figure, in report order.
pub const ALL: &[Figure] = &[
    spectrum::FIGURE,
    neurons::FIGURE,
    heatmap::FIGURE,
    convergence::FIGURE,
    sharpness::FIGURE,
    noise::FIGURE,
    curvature::FIGURE,
    flow::FIGURE,
    sam::FIGURE,
    margin::FIGURE,
    stability::FIGURE,
];

/// The keys that make two cells the same problem (network, data, labels,
/// initialisation), whatever their dynamics.
const PROBLEM: [&str; 10] = [
    "activation",
    "beta",
    "alpha",
    "m",
    "d",
    "n",
    "data",
    "labels",
    "init",
    "init_scale",
];

/// Whether two cells train the same network on the same data from the same
/// initialisation (replicate seeds then share their draws).
pub fn same_problem(a: &Cell, b: &Cell) -> bool {
    PROBLEM.iter().all(|k| a.config.get(*k) == b.config.get(*k))
}

/// The cells of one dynamics (`algorithm`).
pub fn cells_of_algorithm(grid: &Grid, algorithm: &str) -> Vec<usize> {
    (0..grid.cells.len())
        .filter(|&c| grid.cells[c].algorithm() == algorithm)
        .collect()
}

/// What drawing on a backend gives: `T`, or the backend's error.
pub type Drawing<DB, T> =
    std::result::Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// The drawing result of a backend.
pub type Drawn<DB> = Drawing<DB, ()>;

/// A figure's panels: (row, column, area).
pub type Panels<DB> = Vec<(usize, usize, DrawingArea<DB, Shift>)>;

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

/// Writes `plot` as `dir/<figure>.png` and `dir/<figure>.svg`.
fn save(figure: &'static str, plot: &impl Plot, dir: &Path) -> Result<()> {
    register_font();
    let fail = |e: &dyn std::fmt::Display| AnalyzeError::Figure {
        figure,
        message: e.to_string(),
    };
    let png = dir.join(format!("{figure}.png"));
    {
        let root = BitMapBackend::new(&png, plot.size()).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        plot.draw(&root).map_err(|e| fail(&e))?;
        root.present().map_err(|e| fail(&e))?;
    }
    let svg = dir.join(format!("{figure}.svg"));
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
    (
        (cols as u32 * 520).max(1000),
        rows as u32 * PANEL_HEIGHT + 50,
    )
}

/// Height of one panel of a per-cell figure: room for a two-line title.
const PANEL_HEIGHT: u32 = 440;

/// Median and quartiles across runs at each recorded step > 0 of a value.
pub struct Band {
    pub step: f64,
    pub q25: f64,
    pub median: f64,
    pub q75: f64,
    /// The runs with a value at this step.
    pub seeds: usize,
}

/// The bands of `value` over `curves`, step by step; `value` returns `None`
/// for what the axis cannot show (see [`positive`] for a log axis).
pub fn bands(curves: &[&[Point]], value: impl Fn(&Point) -> Option<f64>) -> Vec<Band> {
    let mut at: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for c in curves {
        for p in c.iter().filter(|p| p.step > 0) {
            if let Some(v) = value(p).filter(|v| v.is_finite()) {
                at.entry(p.step).or_default().push(v);
            }
        }
    }
    at.into_iter()
        .filter_map(|(step, v)| {
            let seeds = v.len();
            let q = crate::summary::Quartiles::of(v);
            Some(Band {
                step: step as f64,
                q25: q.q25?,
                median: q.median?,
                q75: q.q75?,
                seeds,
            })
        })
        .collect()
}

/// What a panel draws of a recorded step (`None`: nothing).
pub type Quantity = fn(&Point) -> Option<f64>;

/// A line of a figure that pools runs: its legend label, what it draws of
/// its runs, and its bands (one per panel; none when every run diverged or
/// failed, the line then being a note).
pub struct BandLine {
    pub label: String,
    pub bands: Vec<Vec<Band>>,
}

impl BandLine {
    /// The bands of `values` (one closure per panel) over the runs of
    /// `cells` that neither diverged nor failed, labelled `label` and the
    /// count of runs (`Shown::note` in `unit`); recorded in `data` under
    /// `names` (the panels). `None` when there is nothing to show and
    /// nothing to say (no run of `cells` diverged or failed).
    pub fn of(
        a: &Analysis,
        cells: &[usize],
        (label, unit): (&str, &str),
        (names, values): (&[&str], &[Quantity]),
        data: &mut FigureData,
    ) -> Option<Self> {
        let shown = a.drawn(cells);
        let label = format!("{label} ({})", shown.note(unit));
        if shown.none_drawable() {
            for name in names {
                data.note(cells, name, &label);
            }
            return Some(Self {
                label,
                bands: Vec::new(),
            });
        }
        let bands: Vec<Vec<Band>> = values.iter().map(|v| bands(&shown.curves, v)).collect();
        if bands.iter().all(Vec::is_empty) {
            return None;
        }
        for (name, b) in names.iter().zip(&bands) {
            data.band(cells, name, &label, b);
        }
        Some(Self { label, bands })
    }

    /// Whether the line is a note: every run diverged or failed.
    pub fn is_note(&self) -> bool {
        self.bands.is_empty()
    }

    /// Its band in panel `k` (empty if it has none there).
    pub fn band(&self, k: usize) -> &[Band] {
        self.bands.get(k).map_or(&[], Vec::as_slice)
    }
}

/// Log–log panels side by side, one per quantity, each with one band per
/// labelled cell against the step (the sharpness and SAM figures).
pub struct BandPanels {
    pub title: &'static str,
    /// Each panel's quantity (its title and y axis).
    pub names: &'static [&'static str],
    pub lines: Vec<BandLine>,
}

impl BandPanels {
    /// One line per labelled cell (see [`BandLine::of`]), cells with
    /// nothing to show left out; `values` has one closure per panel.
    pub fn of(
        title: &'static str,
        (names, values): (&'static [&'static str], &[Quantity]),
        a: &Analysis,
        cells: impl IntoIterator<Item = (usize, String)>,
        data: &mut FigureData,
    ) -> Self {
        let lines = cells
            .into_iter()
            .filter_map(|(c, label)| {
                BandLine::of(a, &[c], (&label, "seeds"), (names, values), data)
            })
            .collect();
        Self {
            title,
            names,
            lines,
        }
    }
}

impl Plot for BandPanels {
    fn size(&self) -> (u32, u32) {
        (650 * self.names.len() as u32, 580)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let names = self.names;
        let areas = panels(root, self.title, (1, names.len()), |_, c| {
            vec![names[c].to_string()]
        })?;
        for (_, side, area) in &areas {
            let side = *side;
            let all = || self.lines.iter().flat_map(|l| l.band(side));
            let x = log_range(all().map(|b| b.step));
            let y = log_range(all().flat_map(|b| [b.q25, b.q75]));
            let mut chart = log_log(area, x, y, ("step", names[side]))?;
            draw_lines(&mut chart, &self.lines, side, colour)?;
            legend(&mut chart, SeriesLabelPosition::LowerLeft)?;
        }
        Ok(())
    }
}

/// Each of `lines` on `chart`: its band in panel `side` in `colour(i)` for
/// the i-th line, or its note.
pub fn draw_lines<'a, DB, X, Y>(
    chart: &mut Chart<'a, DB, X, Y>,
    lines: &[BandLine],
    side: usize,
    colour: impl Fn(usize) -> RGBColor,
) -> Drawn<DB>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for (i, line) in lines.iter().enumerate() {
        if line.is_note() {
            chart.note(&line.label)?;
        } else if !line.band(side).is_empty() {
            chart.band(line.band(side), colour(i), &line.label)?;
        }
    }
    Ok(())
}

/// A panel with nothing to draw but `text` (e.g. "all 8 seeds diverged"),
/// centred.
pub fn note_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, text: &str) -> Drawn<DB> {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    let (w, h) = area.dim_in_pixel();
    let style = caption_style().pos(Pos::new(HPos::Center, VPos::Center));
    area.draw(&Text::new(
        text.to_string(),
        (w as i32 / 2, h as i32 / 2),
        style,
    ))
}

/// `v` if a log axis can show it.
pub fn positive(v: f64) -> Option<f64> {
    (v > 0.0).then_some(v)
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
    let up = 10f64.powf(hi.log10().ceil()).max(down * 10.0);
    // Just beyond the decades: plotters finds its ticks by rounding the
    // logarithms of the ends, and 0.1's is -0.9999999999999998.
    down * (1.0 - 1e-9)..up * (1.0 + 1e-9)
}

/// A linear-axis range covering `values` with a margin of 5 %, and `0..1`
/// when there are none.
pub fn linear_range(values: impl Iterator<Item = f64>) -> Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return 0.0..1.0;
    }
    let pad = ((hi - lo) * 0.05).max(1e-9 * hi.abs().max(1.0));
    lo - pad..hi + pad
}

/// Tick labels of a linear axis: 0.001, 0.25, 10, 1e5, …; a tick meant to
/// be 0 shows as 0, not as rounding noise like 1e-17.
pub fn sci(v: &f64) -> String {
    if v.abs() < 1e-12 {
        "0".into()
    } else {
        log_tick(v)
    }
}

/// Tick labels of a log axis: 1e-14, 1e-3, 0.01, 0.1, 1, 10, 100, 1e4, …
/// (every tick is positive there, however small).
pub fn log_tick(v: &f64) -> String {
    let a = v.abs();
    if (1e-2..1e4).contains(&a) {
        format!("{}", (v * 1e3).round() / 1e3)
    } else {
        let e = a.log10().floor();
        let mant = v / 10f64.powf(e);
        if (mant.abs() - 1.0).abs() < 1e-9 {
            format!("{}1e{e}", if mant < 0.0 { "-" } else { "" })
        } else {
            format!("{mant:.1}e{e}")
        }
    }
}

/// A value printed on a figure: 0, or as on a log axis (1e-15 stays 1e-15).
pub fn value_label(v: &f64) -> String {
    if *v == 0.0 { "0".into() } else { log_tick(v) }
}

/// The tick labels an axis type gets.
pub trait Ticks {
    fn tick(v: &f64) -> String;
}
impl Ticks for LogCoord<f64> {
    fn tick(v: &f64) -> String {
        log_tick(v)
    }
}
impl Ticks for RangedCoordf64 {
    fn tick(v: &f64) -> String {
        sci(v)
    }
}

/// A chart of `area`.
pub type Chart<'a, DB, X, Y> = ChartContext<'a, DB, Cartesian2d<X, Y>>;

/// A chart on `area` over `x` × `y` (log or linear, `(a..b).log_scale()` or
/// `a..b`), its axes described by `desc` (name and unit) and labelled in the
/// standard styles.
pub fn chart<'a, DB, X, Y>(
    area: &'a DrawingArea<DB, Shift>,
    x: X,
    y: Y,
    desc: (&str, &str),
) -> Drawing<DB, Chart<'a, DB, X::CoordDescType, Y::CoordDescType>>
where
    DB: DrawingBackend,
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64> + Ticks,
    Y::CoordDescType: ValueFormatter<f64> + Ticks,
{
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_desc(desc.0)
        .y_desc(desc.1)
        .x_label_formatter(&X::CoordDescType::tick)
        .y_label_formatter(&Y::CoordDescType::tick)
        .label_style(label_style())
        .axis_desc_style(label_style())
        .draw()?;
    Ok(chart)
}

/// `area` under its title, one line per entry of `lines` (a long panel
/// title wraps instead of running into its neighbours).
pub fn titled<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    lines: &[String],
) -> Drawing<DB, DrawingArea<DB, Shift>> {
    let mut area = area.clone();
    for line in lines {
        area = area.titled(line, caption_style())?;
    }
    Ok(area)
}

/// `text` broken at ", " into lines of at most `width` characters.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for part in text.split(", ") {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 2 + part.chars().count() <= width => {
                line.push_str(", ");
                line.push_str(part);
            }
            _ => lines.push(part.to_string()),
        }
    }
    lines
}

/// Per-cell panels' titles: each label wrapped to the panel's width, all
/// of as many lines as the longest (so that the panels' axes line up).
pub fn panel_titles<'s>(labels: impl IntoIterator<Item = &'s str>) -> Vec<Vec<String>> {
    let mut titles: Vec<Vec<String>> = labels.into_iter().map(|l| wrap(l, 46)).collect();
    let lines = titles.iter().map(Vec::len).max().unwrap_or(0);
    for t in &mut titles {
        t.resize(lines, " ".into());
    }
    titles
}

/// Draws the chart's legend at `at`.
pub fn legend<'a, DB: DrawingBackend + 'a, X: Ranged, Y: Ranged>(
    chart: &mut Chart<'a, DB, X, Y>,
    at: SeriesLabelPosition,
) -> Drawn<DB> {
    chart
        .configure_series_labels()
        .label_font(label_style())
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(at)
        .draw()
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

/// The colour of fitted lines and bounds.
pub const RED: RGBColor = RGBColor(214, 39, 40);

/// The colour of the i-th of `n` ordered values (an ordered parameter such
/// as init_scale): dark to light along viridis.
pub fn ordered_colour(i: usize, n: usize) -> RGBColor {
    use plotters::style::colors::colormaps::ViridisRGB;
    ViridisRGB::get_color(0.85 * i as f64 / (n.max(2) - 1) as f64)
}

/// Lines and bands drawn on a chart of numbers.
pub trait Lines<DB: DrawingBackend> {
    /// A labelled line.
    fn line(
        &mut self,
        points: impl IntoIterator<Item = (f64, f64)>,
        colour: RGBColor,
        label: &str,
    ) -> Drawn<DB>;

    /// A median line with its interquartile band.
    fn band(&mut self, b: &[Band], colour: RGBColor, label: &str) -> Drawn<DB> {
        let mut outline: Vec<(f64, f64)> = b.iter().map(|p| (p.step, p.q75)).collect();
        outline.extend(b.iter().rev().map(|p| (p.step, p.q25)));
        self.area(outline, colour.mix(0.18).filled())?;
        self.line(b.iter().map(|p| (p.step, p.median)), colour, label)
    }

    /// A filled polygon.
    fn area(&mut self, outline: Vec<(f64, f64)>, style: ShapeStyle) -> Drawn<DB>;

    /// A legend entry with nothing drawn: a line shown as a note.
    fn note(&mut self, text: &str) -> Drawn<DB>;
}

impl<'a, DB, X, Y> Lines<DB> for Chart<'a, DB, X, Y>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    fn line(
        &mut self,
        points: impl IntoIterator<Item = (f64, f64)>,
        colour: RGBColor,
        label: &str,
    ) -> Drawn<DB> {
        self.draw_series(LineSeries::new(points, colour.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
        Ok(())
    }

    fn area(&mut self, outline: Vec<(f64, f64)>, style: ShapeStyle) -> Drawn<DB> {
        self.draw_series(std::iter::once(Polygon::new(outline, style)))?;
        Ok(())
    }

    fn note(&mut self, text: &str) -> Drawn<DB> {
        self.draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
            .label(text)
            .legend(|(x, y)| EmptyElement::at((x, y)));
        Ok(())
    }
}

/// A log–log chart (see [`chart`]).
pub fn log_log<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    x: Range<f64>,
    y: Range<f64>,
    desc: (&str, &str),
) -> Drawing<DB, Chart<'a, DB, LogCoord<f64>, LogCoord<f64>>> {
    chart(area, x.log_scale(), y.log_scale(), desc)
}

/// A per-cell figure's panels in a grid at most three across, each under
/// its cell's label (see [`panel_titles`]).
pub fn cell_panels<'s, DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    figure: &str,
    labels: impl IntoIterator<Item = &'s str>,
) -> Drawing<DB, Vec<DrawingArea<DB, Shift>>> {
    let titles = panel_titles(labels);
    let (rows, cols) = grid_shape(titles.len());
    let areas = panels(root, figure, (rows, cols), |r, c| {
        titles.get(r * cols + c).cloned().unwrap_or_default()
    })?;
    Ok(areas.into_iter().map(|(_, _, a)| a).collect())
}

/// Size of a figure of `rows` rows of quantities side by side.
pub fn rows_size(rows: usize) -> (u32, u32) {
    (1300, 50 + 490 * rows as u32)
}

/// A figure's panels with a row per group (`groups`, e.g. "data=separable")
/// and a column per quantity (`names`), each titled "quantity — group".
pub fn row_panels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    figure: &str,
    names: &[&str],
    groups: &[String],
) -> Drawing<DB, Panels<DB>> {
    panels(root, figure, (groups.len(), names.len()), |r, c| {
        vec![format!("{} — {}", names[c], groups[r])]
    })
}

/// A figure's panels, `rows` × `cols` under its title, each under its own
/// title `title(row, col)`, in reading order.
pub fn panels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    figure: &str,
    (rows, cols): (usize, usize),
    title: impl Fn(usize, usize) -> Vec<String>,
) -> Drawing<DB, Panels<DB>> {
    let root = root.titled(figure, title_style())?;
    root.split_evenly((rows, cols))
        .iter()
        .enumerate()
        .map(|(i, area)| {
            let (r, c) = (i / cols, i % cols);
            Ok((r, c, titled(area, &title(r, c))?))
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_show_tiny_values_and_linear_ticks_hide_rounding_noise() {
        assert_eq!(log_tick(&1e-14), "1e-14");
        assert_eq!(log_tick(&1e-8), "1e-8");
        assert_eq!(log_tick(&0.1), "0.1");
        assert_eq!(log_tick(&1e5), "1e5");
        assert_eq!(sci(&1e-17), "0");
        assert_eq!(sci(&-1e-3), "-1e-3");
        assert_eq!(sci(&0.25), "0.25");
    }

    #[test]
    fn long_titles_wrap_at_their_commas() {
        assert_eq!(
            wrap("m=10, d=3, n=3, η=0.05, σ=0.1732, steps=1e7", 20),
            ["m=10, d=3, n=3", "η=0.05, σ=0.1732", "steps=1e7"]
        );
        assert_eq!(wrap("all runs", 20), ["all runs"]);
    }
}
