//! Everything read and computed from a dataset, before any file is written:
//! the runs, their cells, one pass over the trajectories, the summaries, the
//! theory table and the Z snapshots the neuron figure needs.

use crate::cells::{CellChoice, Cells, is_parameter};
use crate::choice;
use crate::dataset::LoadedDataset;
use crate::error::{AnalyzeError, Result};
use crate::runs::Run;
use crate::select::Selection;
use crate::snapshots::{self, Snapshots};
use crate::summary::{CellSummary, summarise};
use crate::theory::{self, TheoryRow};
use crate::trajectory::{self, Point, RunTrace};
use std::collections::BTreeSet;
use std::path::Path;

/// What the report shows, beyond the defaults.
#[derive(Clone, Debug)]
pub struct Options {
    /// The heatmap's (x, y) axes; by default the two numeric swept axes with
    /// the most distinct values.
    pub heatmap_axes: Option<(String, String)>,
    /// Every figure draws only cells matching all of these (`eta=0.01..0.05`,
    /// `sigma=0.1,0.2`). Without any, the \[G24\] figures draw what the
    /// dataset was made for (see the `choice` module) and each dynamics'
    /// own figure every cell of that dynamics.
    pub select: Vec<Selection>,
    /// At most this many cells in a per-cell figure.
    pub max_cells: usize,
    /// Moments of training drawn in the neuron figure.
    pub moments: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            heatmap_axes: None,
            select: Vec::new(),
            max_cells: 6,
            moments: 6,
        }
    }
}

/// Seeds per cell whose whole curves are kept for the step-by-step figures.
pub const MAX_CURVES: usize = 256;

/// At most this many cells in a figure that chooses its own (one line or
/// band each; their curves are kept in memory).
pub const SYSTEM_CELLS: usize = 48;

/// A swept configuration key with its distinct values, ascending.
pub type Axis = (String, Vec<f64>);

pub struct Analysis {
    pub dataset: LoadedDataset,
    pub runs: Vec<Run>,
    pub grid: Cells,
    pub traces: Vec<RunTrace>,
    pub summaries: Vec<CellSummary>,
    pub theory: Vec<TheoryRow>,
    /// Cells matching `--select`, or by default those the dataset was made
    /// for (indices into `grid.cells`): those the \[G24\] figures draw from.
    pub selected: Vec<usize>,
    /// Cells shown in per-cell figures: at most `--max-cells` selected.
    pub figure_cells: Vec<usize>,
    /// Per figure that chooses its own cells (one per dynamics), its stem
    /// and the cells it draws.
    pub system_cells: Vec<(&'static str, Vec<usize>)>,
    /// Heatmap axes with their distinct values.
    pub heatmap_axes: Option<[Axis; 2]>,
    /// Per figure cell, the run the neuron figure shows and its moments.
    pub neuron_runs: Vec<(usize, usize, Vec<i64>)>,
    pub snapshots: Snapshots,
    /// What the reader of the report should know.
    pub notes: Vec<String>,
}

/// Up to `k` of a run's recorded steps, log-spaced from its first to its
/// last, the first and last always included.
fn moments(curve: &[Point], k: usize) -> Vec<i64> {
    let steps: Vec<i64> = curve.iter().map(|p| p.step).collect();
    let (Some(&first), Some(&last)) = (steps.first(), steps.last()) else {
        return Vec::new();
    };
    let lo = (first.max(1) as f64).ln();
    let hi = (last.max(1) as f64).ln();
    let mut out: Vec<i64> = (0..k)
        .map(|i| {
            let target = (lo + (hi - lo) * i as f64 / (k.max(2) - 1) as f64).exp();
            *steps
                .iter()
                .min_by(|a, b| {
                    ((**a).max(1) as f64 - target)
                        .abs()
                        .total_cmp(&((**b).max(1) as f64 - target).abs())
                })
                .expect("non-empty")
        })
        .collect();
    out.push(first);
    out.sort();
    out.dedup();
    out
}

impl Analysis {
    /// Reads the dataset in `dir` and analyses it; `own_cells` are the
    /// figures that choose their own cells ([`crate::figures::own_cells`]),
    /// whose curves are kept too.
    pub fn load(
        dir: &Path,
        opts: &Options,
        own_cells: &[(&'static str, CellChoice)],
    ) -> Result<Self> {
        if opts.max_cells == 0 {
            return Err(AnalyzeError::Option {
                option: "--max-cells",
                message: "must be at least 1".into(),
            });
        }
        let dataset = LoadedDataset::open(dir)?;
        let runs = crate::runs::read(&dataset)?;
        let grid = Cells::of(&runs);
        let mut notes = dataset.notes.clone();

        let (selected, figure_cells) = choose(&dataset, &grid, opts, &mut notes)?;
        let system_cells: Vec<(&'static str, Vec<usize>)> = own_cells
            .iter()
            .map(|&(stem, pick)| {
                let mut cells = pick(&grid);
                if !opts.select.is_empty() {
                    cells.retain(|c| selected.binary_search(c).is_ok());
                }
                if cells.len() > SYSTEM_CELLS {
                    notes.push(format!(
                        "the {stem} figure shows the first {SYSTEM_CELLS} of its {} cells",
                        cells.len()
                    ));
                    cells.truncate(SYSTEM_CELLS);
                }
                (stem, cells)
            })
            .collect();
        // Curves are kept for the figure cells and the cells each dynamics'
        // figure draws, and for at most MAX_CURVES seeds of each: enough for
        // quantile bands, bounded whatever the number of seeds.
        let mut keep = vec![false; runs.len()];
        let curve_cells = system_cells.iter().flat_map(|(_, c)| c);
        for &c in figure_cells.iter().chain(curve_cells) {
            for &r in grid.cells[c].runs.iter().take(MAX_CURVES) {
                keep[r] = true;
            }
        }
        let capped = figure_cells
            .iter()
            .filter(|&&c| grid.cells[c].runs.len() > MAX_CURVES)
            .count();
        if capped > 0 {
            notes.push(format!(
                "the step-by-step figures draw the quantiles of the first {MAX_CURVES} seeds of \
                 each cell ({capped} cell(s) have more); the summary tables use every seed"
            ));
        }
        let (traces, orphans) = trajectory::scan(&dataset, &runs, &keep)?;
        if orphans > 0 {
            notes.push(format!(
                "{orphans} trajectory rows belong to no run in the runs table and were skipped"
            ));
        }
        let heatmap_axes = heatmap_axes(&grid, &selected, opts)?;
        let summaries = summarise(&grid, &runs, &traces);

        // The neuron figure shows each figure cell's first run that neither
        // diverged nor failed.
        let neuron_runs: Vec<(usize, usize, Vec<i64>)> = figure_cells
            .iter()
            .filter_map(|&c| {
                let run = grid.cells[c]
                    .runs
                    .iter()
                    .copied()
                    .find(|&r| runs[r].drawable())?;
                let curve = traces[run].curve.as_deref()?;
                Some((c, run, moments(curve, opts.moments)))
            })
            .collect();
        let moments: BTreeSet<(usize, i64)> = neuron_runs
            .iter()
            .flat_map(|(_, r, steps)| steps.iter().map(move |s| (*r, *s)))
            .collect();
        let mut wanted = moments.clone();
        wanted.extend(
            traces
                .iter()
                .enumerate()
                .filter_map(|(r, t)| Some((r, t.last_step?))),
        );
        // The final Z of every run goes straight into its theory row; only
        // the neuron figure's moments are kept.
        let mut snapshots = Snapshots::new();
        let mut theory: Vec<Option<TheoryRow>> = vec![None; runs.len()];
        snapshots::read(&dataset, &runs, &traces, &wanted, |run, step, z| {
            if moments.contains(&(run, step)) {
                snapshots.insert((run, step), z.to_vec());
            }
            if traces[run].last_step == Some(step) {
                theory[run] = Some(theory::row(run, &runs[run], z));
            }
        })?;
        let theory = theory
            .into_iter()
            .enumerate()
            .map(|(i, t)| t.unwrap_or_else(|| theory::row(i, &runs[i], &[])))
            .collect();
        Ok(Self {
            dataset,
            runs,
            grid,
            traces,
            summaries,
            theory,
            selected,
            figure_cells,
            system_cells,
            heatmap_axes,
            neuron_runs,
            snapshots,
            notes,
        })
    }

    /// The cells the figure `stem` chose for itself (empty for the \[G24\]
    /// figures, which draw the selected cells).
    pub fn cells_of(&self, stem: &str) -> &[usize] {
        self.system_cells
            .iter()
            .find(|(s, _)| *s == stem)
            .map_or(&[], |(_, c)| c.as_slice())
    }

    /// The runs of the selected cells.
    pub fn selected_runs(&self) -> impl Iterator<Item = usize> + '_ {
        self.selected
            .iter()
            .flat_map(|&c| self.grid.cells[c].runs.iter().copied())
    }

    /// What a figure draws of the runs of `cells` (one cell, or several a
    /// figure pools): the recorded curves of those that neither diverged
    /// nor failed (kept by the scan), and how many were left out.
    pub fn drawn(&self, cells: &[usize]) -> Shown<'_> {
        let runs = || {
            cells
                .iter()
                .flat_map(|&c| self.grid.cells[c].runs.iter().map(|&r| &self.runs[r]))
        };
        Shown {
            curves: cells
                .iter()
                .flat_map(|&c| &self.grid.cells[c].runs)
                .filter(|&&r| self.runs[r].drawable())
                .filter_map(|&r| self.traces[r].curve.as_deref())
                .collect(),
            runs: runs().count(),
            diverged: runs().filter(|r| r.diverged()).count(),
            failed: runs().filter(|r| r.failed()).count(),
        }
    }
}

/// The runs behind one line or panel of a figure (see [`Analysis::drawn`]).
pub struct Shown<'a> {
    /// The curves drawn, of runs that neither diverged nor failed.
    pub curves: Vec<&'a [Point]>,
    pub runs: usize,
    pub diverged: usize,
    pub failed: usize,
}

impl Shown<'_> {
    /// Whether every run diverged or failed: the figure shows a note, not a
    /// curve.
    pub fn none_drawable(&self) -> bool {
        self.diverged + self.failed == self.runs
    }

    /// What a panel or legend says of the runs, counted as `unit` ("seeds",
    /// or "runs" when cells are pooled): "8 seeds, 3 diverged", "all 8
    /// seeds diverged", "300 seeds, 2 diverged, 256 drawn" (curves are kept
    /// for a bounded number of seeds per cell).
    pub fn note(&self, unit: &str) -> String {
        let n = self.runs;
        if self.none_drawable() {
            return match (self.diverged, self.failed) {
                (_, 0) => format!("all {n} {unit} diverged"),
                (0, _) => format!("all {n} {unit} failed"),
                (d, f) => format!("all {n} {unit} diverged ({d}) or failed ({f})"),
            };
        }
        let mut text = format!("{n} {unit}, {} diverged", self.diverged);
        if self.failed > 0 {
            text += &format!(", {} failed", self.failed);
        }
        if self.curves.len() < n - self.diverged - self.failed {
            text += &format!(", {} drawn", self.curves.len());
        }
        text
    }
}

/// The selected cells (ascending) and the per-cell figures' cells: those
/// matching `--select` and the first `--max-cells` of them, or by default
/// what the dataset was made for (see [`choice`]).
fn choose(
    dataset: &LoadedDataset,
    grid: &Cells,
    opts: &Options,
    notes: &mut Vec<String>,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let max = opts.max_cells;
    let all = || (0..grid.cells.len()).collect::<Vec<usize>>();
    if !opts.select.is_empty() {
        for s in &opts.select {
            if !grid.cells.iter().any(|c| c.config.contains_key(&s.key)) {
                return Err(AnalyzeError::Option {
                    option: "--select",
                    message: format!("'{}' is not a configuration key of this dataset", s.key),
                });
            }
        }
        let selected: Vec<usize> = (0..grid.cells.len())
            .filter(|&c| {
                let config = &grid.cells[c].config;
                opts.select.iter().all(|s| s.matches(config.get(&s.key)))
            })
            .collect();
        if selected.is_empty() {
            return Err(AnalyzeError::Option {
                option: "--select",
                message: "no grid cell matches".into(),
            });
        }
        if selected.len() > max {
            notes.push(format!(
                "per-cell figures show the first {max} of the {} selected cells (use --max-cells)",
                selected.len()
            ));
        }
        let shown = selected.iter().copied().take(max).collect();
        return Ok((selected, shown));
    }
    let paper = choice::paper_cells(grid);
    if dataset.made_by().as_deref() == Some("reproduce") && !paper.is_empty() {
        let shown = choice::paper_figure_cells(grid, &paper, max);
        notes.push(format!(
            "made by `sharpsweep reproduce`: the [G24] figures draw its {} label-noise cells on \
             uniform data, the per-cell figures {} of the paper's settings; --select draws others",
            paper.len(),
            shown.len()
        ));
        return Ok((paper, shown));
    }
    let selected = all();
    let (shown, axes) = choice::most_swept(grid, &selected, max);
    if shown.len() < selected.len() {
        notes.push(format!(
            "per-cell figures show {} of {} cells, along the most-swept {} with the other keys \
             at one value (use --select or --max-cells)",
            shown.len(),
            selected.len(),
            match axes.as_slice() {
                [] => "axes".to_string(),
                [a] => format!("axis ({a})"),
                a => format!("axes ({})", a.join(", ")),
            }
        ));
    }
    Ok((selected, shown))
}

fn heatmap_axes(grid: &Cells, selected: &[usize], opts: &Options) -> Result<Option<[Axis; 2]>> {
    let axes = grid.numeric_axes(selected);
    match &opts.heatmap_axes {
        None => {
            let mut params = axes.iter().filter(|(k, _)| is_parameter(k));
            Ok(params
                .next()
                .zip(params.next())
                .map(|(a, b)| [a.clone(), b.clone()]))
        }
        Some((x, y)) => {
            let find = |name: &str, option| {
                axes.iter()
                    .find(|(k, _)| k == name)
                    .cloned()
                    .ok_or_else(|| AnalyzeError::Option {
                        option,
                        message: format!(
                            "'{name}' is not a swept numeric axis of this dataset (swept: {})",
                            axes.iter()
                                .map(|(k, _)| k.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    })
            };
            Ok(Some([find(x, "--heatmap-x")?, find(y, "--heatmap-y")?]))
        }
    }
}
