//! One streaming pass over the `trajectory` table: for every run, the first
//! recorded step at which s₂/s₁ of Z falls below each threshold and where
//! its rows live; for the runs a figure shows, their whole curves.

use crate::dataset::LoadedDataset;
use crate::error::Result;
use crate::runs::Run;
use std::collections::{BTreeSet, HashMap};

/// The s₂/s₁ thresholds whose first crossing is reported.
pub const THRESHOLDS: [f64; 3] = [1e-1, 1e-2, 1e-3];

/// One recorded step of a run, in the units the figures plot.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub step: i64,
    /// s_k/s_1 of Z for k = 2, 3, …
    pub ratios: Vec<f64>,
    /// R(Θ), the sharpness \[G24\] says label noise minimises.
    pub r: f64,
    /// R − R*.
    pub r_gap: f64,
    /// ‖P_T ∇R‖.
    pub riem_grad_norm: f64,
    /// The dynamics' clock `t` (docs/dynamics.md); NaN where undefined.
    pub time: f64,
    /// tr ∇²L.
    pub trace_hessian: f64,
    /// [L21]: normalised margin over the max-margin value, and the angle
    /// (radians) to the max-margin direction; NaN for other dynamics.
    pub margin_ratio: f64,
    pub margin_angle: f64,
    /// Single-linkage clusters of the neurons' columns of Z, and the
    /// effective rank of Z (\[G24\] Figure 2's collapse).
    pub clusters: f64,
    pub effective_rank: f64,
    /// The largest eigenvalues of ∇²L, descending (`hessian_eigs`; empty
    /// without `hessian`).
    pub hessian_eigs: Vec<f64>,
}

/// Columns only some dynamics fill or only some figures draw, read where
/// the file has them (a file rewritten without them still gives the [G24]
/// figures).
const SYSTEM_COLUMNS: [&str; 6] = [
    "time",
    "trace_hessian",
    "margin_ratio",
    "margin_angle",
    "neuron_clusters",
    "effective_rank_z",
];

/// The top eigenvalues of the Hessian, recorded with `hessian = true`.
const HESSIAN_EIGS: &str = "hessian_eigs";

/// What the pass learns about one run.
#[derive(Clone, Debug, Default)]
pub struct RunTrace {
    /// First recorded step with s₂/s₁ below each of [`THRESHOLDS`].
    pub first_below: [Option<i64>; 3],
    /// The last recorded step.
    pub last_step: Option<i64>,
    /// `(file, row group)` pairs that hold this run's rows.
    pub locations: BTreeSet<(usize, usize)>,
    /// The run's curve, sorted by step, if it was asked for.
    pub curve: Option<Vec<Point>>,
}

/// Scans every trajectory file once; `keep_curve[i]` says whether run `i`'s
/// curve is kept. Rows of runs absent from the runs table are counted and
/// skipped (a sweep still writing its parts).
pub fn scan(ds: &LoadedDataset, runs: &[Run], keep_curve: &[bool]) -> Result<(Vec<RunTrace>, u64)> {
    let index: HashMap<&str, usize> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| (r.run_id.as_str(), i))
        .collect();
    let mut traces: Vec<RunTrace> = keep_curve
        .iter()
        .map(|&keep| RunTrace {
            curve: keep.then(Vec::new),
            ..RunTrace::default()
        })
        .collect();
    let mut orphans = 0;
    let columns = [
        "run_id",
        "step",
        "sv_z",
        "sv_ratio2_z",
        "sharpness_r",
        "riem_grad_norm",
    ];
    for (f, file) in ds.trajectories.iter().enumerate() {
        file.require(&columns)?;
        let mut read = columns.to_vec();
        read.extend(SYSTEM_COLUMNS.into_iter().filter(|c| file.has(c)));
        if file.has(HESSIAN_EIGS) {
            read.push(HESSIAN_EIGS);
        }
        for rg in 0..file.row_groups() {
            file.scan(rg, &read, |b| {
                let ids = b.strings("run_id")?;
                let steps = b.integers("step")?;
                let ratio2 = b.floats("sv_ratio2_z")?;
                let r = b.floats("sharpness_r")?;
                let riem = b.floats("riem_grad_norm")?;
                // Decoded row by row, only for the runs that keep their curve.
                let sv = b.float_lists("sv_z")?;
                let eigs = b.float_lists_if_present(HESSIAN_EIGS)?;
                let [time, trace, ratio, angle, clusters, rank] =
                    SYSTEM_COLUMNS.map(|c| b.floats_if_present(c));
                let (time, trace, ratio, angle) = (time?, trace?, ratio?, angle?);
                let (clusters, rank) = (clusters?, rank?);
                for i in 0..b.rows() {
                    let (Some(id), Some(step)) = (ids.get(i), steps[i]) else {
                        continue;
                    };
                    let Some(&run) = index.get(id) else {
                        orphans += 1;
                        continue;
                    };
                    let t = &mut traces[run];
                    t.locations.insert((f, rg));
                    t.last_step = t.last_step.max(Some(step));
                    for (k, thr) in THRESHOLDS.iter().enumerate() {
                        if ratio2[i] < *thr && t.first_below[k].is_none_or(|s| step < s) {
                            t.first_below[k] = Some(step);
                        }
                    }
                    if let Some(curve) = &mut t.curve {
                        let s = sv.row(i);
                        let ratios = s.iter().skip(1).map(|v| v / s[0]).collect();
                        curve.push(Point {
                            step,
                            ratios,
                            r: r[i],
                            r_gap: r[i] - runs[run].last.sharpness_r_star,
                            riem_grad_norm: riem[i],
                            time: time[i],
                            trace_hessian: trace[i],
                            margin_ratio: ratio[i],
                            margin_angle: angle[i],
                            clusters: clusters[i],
                            effective_rank: rank[i],
                            hessian_eigs: eigs.as_ref().map_or_else(Vec::new, |e| e.row(i)),
                        });
                    }
                }
                Ok(())
            })?;
        }
    }
    for t in &mut traces {
        if let Some(c) = &mut t.curve {
            c.sort_by_key(|p| p.step);
        }
    }
    Ok((traces, orphans))
}
