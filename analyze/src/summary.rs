//! Per-cell summaries across seeds: median and quartiles of the final
//! metrics and of the time to rank one, and the divergence rate.
//!
//! Quantiles are the linear interpolation between order statistics
//! (Hyndman–Fan type 7, the default of numpy, pandas and DuckDB's
//! `quantile_cont`). They are taken over the runs that neither diverged
//! nor failed;
//! undefined values (null) are left out. A run that never reached a
//! threshold counts as reaching it after +∞ steps, so a quantile that lands
//! on such runs is null ("not reached") rather than a biased number.

use crate::cells::Cells;
use crate::runs::Run;
use crate::trajectory::RunTrace;
use sharpsweep_dataset::schema::summary as contract;

/// The q-quantile of sorted values (type 7); `None` if empty or not finite.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let h = last as f64 * q;
    let lo = h.floor() as usize;
    let frac = h - lo as f64;
    let v = if frac == 0.0 {
        sorted[lo]
    } else {
        sorted[lo] + frac * (sorted[lo + 1] - sorted[lo])
    };
    v.is_finite().then_some(v)
}

/// First quartile, median and third quartile.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Quartiles {
    pub q25: Option<f64>,
    pub median: Option<f64>,
    pub q75: Option<f64>,
}

impl Quartiles {
    /// Of `values`, NaN (undefined) dropped, +∞ kept (not reached).
    pub fn of(values: impl IntoIterator<Item = f64>) -> Self {
        let mut v: Vec<f64> = values.into_iter().filter(|x| !x.is_nan()).collect();
        v.sort_by(f64::total_cmp);
        Self {
            q25: quantile(&v, 0.25),
            median: quantile(&v, 0.5),
            q75: quantile(&v, 0.75),
        }
    }
}

/// A summarised quantity: its column stem in `summary.parquet`, a label for
/// tables and how to read it off one run.
pub struct Metric {
    pub column: &'static str,
    pub label: &'static str,
    pub value: fn(&Run, &RunTrace) -> f64,
}

/// Steps to s₂/s₁ < `THRESHOLDS[k]`; +∞ if never recorded below.
fn steps_to<const K: usize>(_: &Run, t: &RunTrace) -> f64 {
    t.first_below[K].map_or(f64::INFINITY, |s| s as f64)
}

/// Every summarised quantity, in table order (the contract's
/// [`contract::QUANTILED`]).
pub const METRICS: &[Metric] = &[
    Metric {
        column: contract::SV_RATIO2_Z.name,
        label: "s2/s1 Z",
        value: |r, _| r.last.sv_ratio2_z,
    },
    Metric {
        column: contract::SV_RATIO3_Z.name,
        label: "s3/s1 Z",
        value: |r, _| r.last.sv_ratio3_z,
    },
    Metric {
        column: contract::SV_RATIO2_PHI.name,
        label: "s2/s1 φ(Z)",
        value: |r, _| r.last.sv_ratio2_phi,
    },
    Metric {
        column: contract::SV_RATIO3_PHI.name,
        label: "s3/s1 φ(Z)",
        value: |r, _| r.last.sv_ratio3_phi,
    },
    Metric {
        column: contract::R_GAP.name,
        label: "R − R*",
        value: |r, _| r.r_gap(),
    },
    Metric {
        column: contract::DIST_TO_OPTIMUM.name,
        label: "max|z − z*|",
        value: |r, _| r.last.dist_to_optimum,
    },
    Metric {
        column: contract::LOSS.name,
        label: "loss",
        value: |r, _| r.last.loss,
    },
    Metric {
        column: contract::STEPS_TO_0_1.name,
        label: "steps to s2/s1<1e-1",
        value: steps_to::<0>,
    },
    Metric {
        column: contract::STEPS_TO_0_01.name,
        label: "steps to s2/s1<1e-2",
        value: steps_to::<1>,
    },
    Metric {
        column: contract::STEPS_TO_0_001.name,
        label: "steps to s2/s1<1e-3",
        value: steps_to::<2>,
    },
];

/// The summary of one cell.
#[derive(Clone, Debug, PartialEq)]
pub struct CellSummary {
    /// Index into `Cells::cells`.
    pub cell: usize,
    pub runs: usize,
    pub diverged: usize,
    /// Quartiles of each of [`METRICS`], in order.
    pub stats: Vec<Quartiles>,
    /// Fraction of the runs that neither diverged nor failed that reached
    /// each of [`crate::trajectory::THRESHOLDS`].
    pub reached: [f64; 3],
}

impl CellSummary {
    pub fn divergence_rate(&self) -> f64 {
        self.diverged as f64 / self.runs as f64
    }

    /// The quartiles of the metric whose column stem is `column`.
    pub fn stat(&self, column: &str) -> Option<Quartiles> {
        METRICS
            .iter()
            .position(|m| m.column == column)
            .map(|i| self.stats[i])
    }
}

pub fn summarise(grid: &Cells, runs: &[Run], traces: &[RunTrace]) -> Vec<CellSummary> {
    grid.cells
        .iter()
        .enumerate()
        .map(|(c, cell)| {
            let alive: Vec<usize> = cell
                .runs
                .iter()
                .copied()
                .filter(|&i| runs[i].drawable())
                .collect();
            let stats = METRICS
                .iter()
                .map(|m| Quartiles::of(alive.iter().map(|&i| (m.value)(&runs[i], &traces[i]))))
                .collect();
            let reached = std::array::from_fn(|k| {
                let hits = alive
                    .iter()
                    .filter(|&&i| traces[i].first_below[k].is_some())
                    .count();
                if alive.is_empty() {
                    f64::NAN
                } else {
                    hits as f64 / alive.len() as f64
                }
            });
            CellSummary {
                cell: c,
                runs: cell.runs.len(),
                diverged: cell.runs.iter().filter(|&&i| runs[i].diverged()).count(),
                stats,
                reached,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_quantity_of_the_contract_is_summarised_in_its_order() {
        let ours: Vec<&str> = METRICS.iter().map(|m| m.column).collect();
        let contract: Vec<&str> = contract::QUANTILED.iter().map(|c| c.name).collect();
        assert_eq!(ours, contract);
    }

    #[test]
    fn quantiles_interpolate_between_order_statistics_like_numpy() {
        let v = [1.0, 2.0, 4.0, 8.0];
        // numpy.quantile([1,2,4,8], [.25,.5,.75]) = [1.75, 3.0, 5.0]
        assert_eq!(quantile(&v, 0.25), Some(1.75));
        assert_eq!(quantile(&v, 0.5), Some(3.0));
        assert_eq!(quantile(&v, 0.75), Some(5.0));
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[7.0], 0.25), Some(7.0));
    }

    #[test]
    fn a_median_on_runs_that_never_converged_is_not_reached() {
        let q = Quartiles::of([10.0, f64::INFINITY, f64::INFINITY, f64::NAN]);
        assert_eq!(q.q25, None);
        assert_eq!(q.median, None);
        let q = Quartiles::of([10.0, 20.0, f64::INFINITY]);
        assert_eq!(q.median, Some(20.0));
        assert_eq!(q.q75, None);
    }
}
