//! A run's records as the tables store them: each record's metric values
//! copied into a few flat buffers on the worker thread that measured it,
//! row by row, from which the writer thread fills the columns.
//!
//! Why not hand the writer the [`Metrics`] themselves: a record holds five
//! or six vectors, and a sweep's writer then freed every one of them on a
//! thread that had not allocated it (the allocator's slowest path: about
//! a fifth of what the writer spent on a tiny run), and walked every
//! record once per column. Here a run's records are four buffers, freed
//! by their worker too (`HandBack`, worker.rs), and the columns are filled
//! in one pass over each run's buffers.

use sharpsweep_core::Metrics;
use sharpsweep_dataset::schema::{Column, metrics as mt, trajectory as tr};

/// The float metrics' columns, in the order [`scalars`] gives their values.
pub(crate) const SCALARS: [&Column; 19] = [
    &mt::LOSS,
    &mt::TRACE_HESSIAN,
    &mt::SHARPNESS_R,
    &mt::RIEM_GRAD_NORM,
    &mt::DIST_TO_OPTIMUM,
    &mt::SV_RATIO2_Z,
    &mt::SV_RATIO3_Z,
    &mt::SV_RATIO2_PHI,
    &mt::SV_RATIO3_PHI,
    &mt::EFFECTIVE_RANK_Z,
    &mt::NEURON_SPREAD,
    &mt::HESSIAN_FRO,
    &mt::HESSIAN_LAMBDA_MAX,
    &mt::HESSIAN_FRO_SE,
    &mt::TIME,
    &mt::NORMALIZED_MARGIN,
    &mt::SVM_MARGIN,
    &mt::MARGIN_RATIO,
    &mt::MARGIN_ANGLE,
];

/// The values of [`SCALARS`] at `r`; NaN where undefined (the tables
/// store it as null).
fn scalars(r: &Metrics) -> [f64; SCALARS.len()] {
    let hessian =
        |f: fn(&sharpsweep_core::HessianStats) -> f64| r.hessian.as_ref().map_or(f64::NAN, f);
    let margin = |f: fn(&sharpsweep_core::metrics::MarginStats) -> f64| {
        r.margin.as_ref().map_or(f64::NAN, f)
    };
    [
        r.loss,
        r.trace_hessian,
        r.sharpness_r,
        r.riem_grad_norm,
        r.dist_to_optimum,
        r.sv_ratio_z(2),
        r.sv_ratio_z(3),
        r.sv_ratio_phi(2),
        r.sv_ratio_phi(3),
        r.effective_rank_z,
        r.neuron_spread,
        hessian(|h| h.frobenius),
        hessian(|h| h.lambda_max),
        hessian(|h| h.frobenius_se.unwrap_or(f64::NAN)),
        r.time,
        margin(|s| s.normalized),
        margin(|s| s.svm),
        margin(|s| s.ratio),
        margin(|s| s.angle),
    ]
}

/// The list columns, in the order [`lists`] gives them: the metrics'
/// (both tables have them), then the trajectory's own.
pub(crate) const LISTS: [&Column; 6] = [
    &mt::SV_Z,
    &mt::SV_PHI,
    &mt::HESSIAN_EIGS,
    &tr::NEURON_PC1,
    &tr::NEURON_PC2,
    &tr::Z,
];

/// Of [`LISTS`], those of the metrics.
pub(crate) const METRIC_LISTS: std::ops::Range<usize> = 0..3;

/// The values of [`LISTS`] at `r`.
fn lists(r: &Metrics) -> [&[f64]; LISTS.len()] {
    let eigs = r.hessian.as_ref().map_or(&[][..], |h| &h.eigs);
    [&r.sv_z, &r.sv_phi, eigs, &r.neuron_pc1, &r.neuron_pc2, &r.z]
}

/// A list column: its values back to back, and each row's length.
pub(crate) type ListColumn = (Vec<f64>, Vec<usize>);

/// Records, a row each.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rows {
    /// Each row's step and neuron clusters.
    ints: Vec<[u64; 2]>,
    scalars: Vec<[f64; SCALARS.len()]>,
    /// Each row's lists, back to back, row after row…
    items: Vec<f64>,
    /// …and their lengths.
    lens: Vec<[u32; LISTS.len()]>,
}

/// Rows reserved at a run's first record: a run records `log_points` + 1
/// times, 5 by default.
const FIRST_ROWS: usize = 8;

impl Rows {
    pub fn len(&self) -> usize {
        self.ints.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ints.is_empty()
    }

    /// Adds `r` as the last row.
    pub fn push(&mut self, r: &Metrics) {
        let lists = lists(r);
        if self.ints.capacity() == 0 {
            let items: usize = lists.iter().map(|l| l.len()).sum();
            self.ints.reserve(FIRST_ROWS);
            self.scalars.reserve(FIRST_ROWS);
            self.items.reserve(FIRST_ROWS * items);
            self.lens.reserve(FIRST_ROWS);
        }
        self.ints.push([r.step, u64::from(r.neuron_clusters)]);
        self.scalars.push(scalars(r));
        for l in lists {
            self.items.extend_from_slice(l);
        }
        self.lens.push(lists.map(|l| {
            u32::try_from(l.len()).expect("a record's list fits the table's 32-bit offsets")
        }));
    }

    pub fn clear(&mut self) {
        self.ints.clear();
        self.scalars.clear();
        self.items.clear();
        self.lens.clear();
    }

    /// Each row's step.
    pub(crate) fn steps(&self) -> impl Iterator<Item = u64> + '_ {
        self.ints.iter().map(|i| i[0])
    }

    /// Each row's neuron clusters.
    pub(crate) fn clusters(&self) -> impl Iterator<Item = u64> + '_ {
        self.ints.iter().map(|i| i[1])
    }

    /// The columns of [`SCALARS`] over the rows of `runs`, in turn.
    pub(crate) fn scalar_columns(runs: &[&Rows]) -> [Vec<f64>; SCALARS.len()] {
        let rows = runs.iter().map(|r| r.len()).sum();
        let mut columns = std::array::from_fn(|_| Vec::with_capacity(rows));
        for row in runs.iter().flat_map(|r| &r.scalars) {
            for (column, &v) in columns.iter_mut().zip(row) {
                column.push(v);
            }
        }
        columns
    }

    /// The columns `LISTS[wanted]` over the rows of `runs`, in turn.
    pub(crate) fn list_columns(runs: &[&Rows], wanted: std::ops::Range<usize>) -> Vec<ListColumn> {
        // Sized at once: the columns of Z run to megabytes, and growing
        // them step by step copied them over and over.
        let rows = runs.iter().map(|r| r.len()).sum();
        let mut columns: Vec<ListColumn> = (wanted.clone())
            .map(|k| {
                let items = (runs.iter().flat_map(|r| &r.lens))
                    .map(|lens| lens[k] as usize)
                    .sum();
                (Vec::with_capacity(items), Vec::with_capacity(rows))
            })
            .collect();
        for r in runs {
            let mut at = 0;
            for lens in &r.lens {
                let mut start = at + lens[..wanted.start].iter().sum::<u32>() as usize;
                for ((values, lengths), &len) in columns.iter_mut().zip(&lens[wanted.clone()]) {
                    let len = len as usize;
                    values.extend_from_slice(&r.items[start..start + len]);
                    lengths.push(len);
                    start += len;
                }
                at += lens.iter().sum::<u32>() as usize;
            }
        }
        columns
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sharpsweep_core::stop_when::Metric;
    use sharpsweep_core::{RunConfig, Trainer};

    /// Records of a run with the Hessian (its eigenvalues a list).
    fn records() -> Vec<Metrics> {
        let config = RunConfig {
            steps: 200,
            log_points: 3,
            hessian: true,
            hessian_top_k: Some(2),
            ..RunConfig::default()
        };
        let mut t = Trainer::new(&config).unwrap();
        let mut records = Vec::new();
        t.run(|r| records.push(r.clone()));
        records
    }

    fn rows(records: &[Metrics]) -> Rows {
        let mut rows = Rows::default();
        for r in records {
            rows.push(r);
        }
        rows
    }

    /// The value of the column named `name` at `r`, found by its name.
    fn scalar_named(r: &Metrics, name: &str) -> f64 {
        if name == mt::HESSIAN_FRO_SE.name {
            return r.hessian.as_ref().unwrap().frobenius_se.unwrap_or(f64::NAN);
        }
        let metric = Metric::ALL.into_iter().find(|m| m.as_str() == name);
        r.value(metric.unwrap_or_else(|| panic!("{name} is a metric")))
    }

    fn list_named<'a>(r: &'a Metrics, name: &str) -> &'a [f64] {
        match name {
            "sv_z" => &r.sv_z,
            "sv_phi" => &r.sv_phi,
            "hessian_eigs" => &r.hessian.as_ref().unwrap().eigs,
            "neuron_pc1" => &r.neuron_pc1,
            "neuron_pc2" => &r.neuron_pc2,
            "z" => &r.z,
            _ => panic!("{name} is not a list"),
        }
    }

    #[test]
    fn the_columns_hold_each_records_values_in_turn() {
        let records = records();
        assert!(records.len() > 3);
        // Two runs: the first two records, and the rest.
        let (a, b) = (rows(&records[..2]), rows(&records[2..]));
        let runs = [&a, &b];
        assert_eq!(a.len() + b.len(), records.len());
        let steps: Vec<u64> = runs.iter().flat_map(|r| r.steps()).collect();
        assert_eq!(steps, records.iter().map(|r| r.step).collect::<Vec<_>>());
        let clusters: Vec<u64> = runs.iter().flat_map(|r| r.clusters()).collect();
        let expected: Vec<u64> = records.iter().map(|r| r.neuron_clusters.into()).collect();
        assert_eq!(clusters, expected);
        for (c, column) in SCALARS.iter().zip(Rows::scalar_columns(&runs)) {
            let got: Vec<u64> = column.iter().map(|v| v.to_bits()).collect();
            let want: Vec<u64> = (records.iter())
                .map(|r| scalar_named(r, c.name).to_bits())
                .collect();
            assert_eq!(got, want, "{}", c.name);
        }
        let lists = Rows::list_columns(&runs, 0..LISTS.len());
        for (c, (values, lens)) in LISTS.iter().zip(&lists) {
            let want: Vec<&[f64]> = records.iter().map(|r| list_named(r, c.name)).collect();
            assert!(want.iter().all(|l| !l.is_empty()), "{}", c.name);
            assert_eq!(*values, want.concat(), "{}", c.name);
            let want_lens: Vec<usize> = want.iter().map(|l| l.len()).collect();
            assert_eq!(*lens, want_lens, "{}", c.name);
        }
        // The metrics' lists alone.
        assert_eq!(Rows::list_columns(&runs, METRIC_LISTS), lists[METRIC_LISTS]);
    }

    #[test]
    fn a_nonfinite_record_has_empty_lists_and_undefined_values() {
        let mut rows = Rows::default();
        rows.push(&Metrics::nonfinite(7, f64::INFINITY));
        assert_eq!(rows.steps().collect::<Vec<_>>(), [7]);
        let scalars = Rows::scalar_columns(&[&rows]);
        assert_eq!(scalars[0], [f64::INFINITY]);
        assert!(scalars[1..].iter().all(|c| c[0].is_nan()));
        for (values, lens) in Rows::list_columns(&[&rows], 0..LISTS.len()) {
            assert_eq!((values, lens), (vec![], vec![0]));
        }
        rows.clear();
        assert!(rows.is_empty());
    }
}
