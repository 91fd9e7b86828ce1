//! What a figure draws, written beside it as `<stem>.parquet` so that it
//! can be re-plotted (and checked) without redoing the analysis: one row
//! per point drawn, in one layout for every figure.
//!
//! Columns: each swept key of the grid (the value the row's cells share,
//! null where they differ), `panel` and `series` (which panel and which
//! line, band or set of markers), `x` and `y` (a band's median, a marker's
//! value; a heatmap square's colour, its place being its keys) with `y_q25`
//! and `y_q75` for a band, `seeds` (the runs behind the point), and
//! `runs`, `diverged` and `failed` of the row's cells. A line whose every
//! run diverged or failed is drawn as a note: one row with null `x` and `y`
//! and no seeds.

use crate::analysis::Analysis;
use crate::error::Result;
use crate::tables::Columns;
use crate::trajectory::Point;
use arrow_array::Int64Array;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

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
/// for what the axis cannot show (see [`positive`](super::plot::positive) for a log axis).
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

/// One point drawn.
struct Row {
    /// The grid cells behind it (none for a fitted line).
    cells: Vec<usize>,
    panel: String,
    series: String,
    x: Option<f64>,
    y: Option<f64>,
    quartiles: Option<(f64, f64)>,
    seeds: usize,
}

/// `cells` sorted, each once.
fn distinct(cells: &[usize]) -> Vec<usize> {
    let mut v = cells.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

/// The rows of one figure's data file, gathered as the figure is made.
pub struct FigureData<'a> {
    a: &'a Analysis,
    rows: Vec<Row>,
}

impl<'a> FigureData<'a> {
    pub fn new(a: &'a Analysis) -> Self {
        Self {
            a,
            rows: Vec::new(),
        }
    }

    /// A band (median line and interquartile band) over the runs of `cells`.
    pub fn band(&mut self, cells: &[usize], panel: &str, series: &str, band: &[Band]) {
        for b in band {
            self.rows.push(Row {
                cells: distinct(cells),
                panel: panel.into(),
                series: series.into(),
                x: Some(b.step),
                y: Some(b.median),
                quartiles: Some((b.q25, b.q75)),
                seeds: b.seeds,
            });
        }
    }

    /// One point (a marker, a vertex of a line) from `seeds` runs of `cells`.
    pub fn point(
        &mut self,
        cells: &[usize],
        (panel, series): (&str, &str),
        (x, y): (f64, f64),
        seeds: usize,
    ) {
        self.rows.push(Row {
            cells: distinct(cells),
            panel: panel.into(),
            series: series.into(),
            x: Some(x),
            y: Some(y),
            quartiles: None,
            seeds,
        });
    }

    /// A value without a place on an x axis (a heatmap square, placed by
    /// its keys) and its quartiles, from `seeds` runs of `cells`.
    pub fn value(
        &mut self,
        cells: &[usize],
        panel: &str,
        (y, quartiles): (f64, Option<(f64, f64)>),
        seeds: usize,
    ) {
        self.rows.push(Row {
            cells: distinct(cells),
            panel: panel.into(),
            series: String::new(),
            x: None,
            y: Some(y),
            quartiles,
            seeds,
        });
    }

    /// A line of `cells` shown as a note: every run diverged or failed.
    pub fn note(&mut self, cells: &[usize], panel: &str, series: &str) {
        self.rows.push(Row {
            cells: distinct(cells),
            panel: panel.into(),
            series: series.into(),
            x: None,
            y: None,
            quartiles: None,
            seeds: 0,
        });
    }

    /// Writes the rows to `path`.
    pub fn write(self, path: &Path) -> Result<()> {
        let a = self.a;
        let rows = &self.rows;
        let mut c = Columns::default();
        let cells: Vec<&[usize]> = rows.iter().map(|r| r.cells.as_slice()).collect();
        c.swept_keys(&a.grid, &cells);
        c.strings("panel", rows.iter().map(|r| r.panel.clone()));
        c.strings("series", rows.iter().map(|r| r.series.clone()));
        c.floats("x", rows.iter().map(|r| r.x));
        c.floats("y", rows.iter().map(|r| r.y));
        c.floats("y_q25", rows.iter().map(|r| Some(r.quartiles?.0)));
        c.floats("y_q75", rows.iter().map(|r| Some(r.quartiles?.1)));
        c.add(
            "seeds",
            rows.iter()
                .map(|r| Some(r.seeds as i64))
                .collect::<Int64Array>(),
        );
        // Rows of one line share their cells: each set is counted once.
        let mut counted: HashMap<&[usize], [i64; 3]> = HashMap::new();
        let counts: Vec<[i64; 3]> = rows
            .iter()
            .map(|r| {
                *counted.entry(&r.cells).or_insert_with(|| {
                    let s = a.drawn(&r.cells);
                    [s.runs, s.diverged, s.failed].map(|v| v as i64)
                })
            })
            .collect();
        for (k, name) in ["runs", "diverged", "failed"].into_iter().enumerate() {
            c.add(
                name,
                counts.iter().map(|n| Some(n[k])).collect::<Int64Array>(),
            );
        }
        c.write(path, "figure")
    }
}
