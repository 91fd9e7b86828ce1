//! What is measured at a recorded step (docs/science.md §2–§4): loss, sharpness,
//! stationarity on the manifold, the spectra of the feature matrices, the
//! distance to Theorem 3.3's optimum and the collapse of the neurons.

use crate::activation::Activation;
use crate::curvature::{HessianOptions, HessianStats};
use crate::data::Problem;
pub use crate::dynamics::MarginStats;
use crate::kdtree;
use crate::model::Eval;
use crate::small_svd;
use crate::stop_when::Metric;
use faer::{Mat, Par};
use std::sync::Once;

/// Theorem 3.3's optimum for a problem: `z*_i = φ⁻¹(y_i/m)` and
/// `R* = (2m/n) Σ_i φ'(z*_i)² ‖x_i‖²`; `None` when φ⁻¹ is not defined or
/// the second layer is not all ones (the theorem is about a = 1 only).
#[derive(Clone, Debug, PartialEq)]
pub struct Optimum {
    pub z_star: Vec<f64>,
    pub r_star: f64,
}

impl Optimum {
    pub fn of(p: &Problem, act: Activation, m: usize) -> Option<Self> {
        let z_star = p.optimal_preactivations(act, m)?;
        let sum: f64 = z_star
            .iter()
            .zip(&p.row_norm2)
            .map(|(&z, &r2)| act.d1(z).powi(2) * r2)
            .sum();
        Some(Self {
            r_star: 2.0 * m as f64 * sum / p.n as f64,
            z_star,
        })
    }
}

/// One record of a run. Fields that cannot be computed (no φ⁻¹, a singular
/// JJᵀ, a diverged state) are NaN or empty, never a panic.
#[derive(Clone, Debug, PartialEq)]
pub struct Metrics {
    pub step: u64,
    /// Clean loss L(Θ).
    pub loss: f64,
    /// Exact tr∇²L.
    pub trace_hessian: f64,
    /// R(Θ), the on-manifold part of the trace.
    pub sharpness_r: f64,
    /// ‖P_T ∇R‖.
    pub riem_grad_norm: f64,
    /// Singular values of Z, descending.
    pub sv_z: Vec<f64>,
    /// Singular values of φ(Z), descending.
    pub sv_phi: Vec<f64>,
    /// exp of the entropy of Z's normalised singular values (Roy & Vetterli).
    pub effective_rank_z: f64,
    /// `max_{i,j} |z_ij − z*_i|`.
    pub dist_to_optimum: f64,
    /// Largest distance between two neurons' feature vectors (columns of Z).
    pub neuron_spread: f64,
    /// Clusters of neurons at the run's tolerance (single linkage).
    pub neuron_clusters: u32,
    /// Coordinates of each neuron's feature vector on the first two principal
    /// components of the m feature vectors (\[G24\] Figure 2).
    pub neuron_pc1: Vec<f64>,
    pub neuron_pc2: Vec<f64>,
    /// Z itself, n×m row-major, so any other view can be computed later.
    pub z: Vec<f64>,
    pub hessian: Option<HessianStats>,
    /// The dynamics' time (docs/dynamics.md): the flow's t, label-noise
    /// SGD's `kη²σ²/(2B)`, GD's Σ step sizes; NaN where undefined.
    pub time: f64,
    /// \[L21\]'s margins, for the `margin` dynamics only.
    pub margin: Option<MarginStats>,
}

/// What to measure besides the always-recorded metrics.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MeasureOptions {
    /// The Hessian statistics to compute, if any (`hessian = true`).
    pub hessian: Option<HessianOptions>,
    pub cluster_tol: f64,
}

/// Dense routines run single-threaded: a record must not depend on how many
/// threads a machine has, and a sweep already keeps every core busy.
fn sequential_linear_algebra() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| faer::set_global_parallelism(Par::Seq));
}

impl Metrics {
    /// The value of `metric` at this record (NaN where the record does
    /// not define it): what a `stop_when` condition compares.
    pub fn value(&self, metric: Metric) -> f64 {
        let r = self;
        let hessian = |f: fn(&HessianStats) -> f64| r.hessian.as_ref().map_or(f64::NAN, f);
        let margin = |f: fn(&MarginStats) -> f64| r.margin.as_ref().map_or(f64::NAN, f);
        match metric {
            Metric::Loss => r.loss,
            Metric::TraceHessian => r.trace_hessian,
            Metric::SharpnessR => r.sharpness_r,
            Metric::RiemGradNorm => r.riem_grad_norm,
            Metric::DistToOptimum => r.dist_to_optimum,
            Metric::SvRatio2Z => r.sv_ratio_z(2),
            Metric::SvRatio3Z => r.sv_ratio_z(3),
            Metric::SvRatio2Phi => r.sv_ratio_phi(2),
            Metric::SvRatio3Phi => r.sv_ratio_phi(3),
            Metric::EffectiveRankZ => r.effective_rank_z,
            Metric::NeuronSpread => r.neuron_spread,
            Metric::NeuronClusters => f64::from(r.neuron_clusters),
            Metric::HessianFro => hessian(|h| h.frobenius),
            Metric::HessianLambdaMax => hessian(|h| h.lambda_max),
            Metric::Time => r.time,
            Metric::NormalizedMargin => margin(|s| s.normalized),
            Metric::SvmMargin => margin(|s| s.svm),
            Metric::MarginRatio => margin(|s| s.ratio),
            Metric::MarginAngle => margin(|s| s.angle),
        }
    }

    pub fn measure(
        p: &Problem,
        act: Activation,
        m: usize,
        theta: &[f64],
        step: u64,
        optimum: Option<&Optimum>,
        opts: MeasureOptions,
    ) -> Self {
        sequential_linear_algebra();
        let e = Eval::new(p, act, theta, m);
        let n = p.n;
        let finite = e.z.iter().chain(&e.resid).all(|v| v.is_finite());
        if !finite {
            return Self::nonfinite(step, e.loss());
        }
        let (sv_z, sv_phi) = feature_spectra(&e.z, act, n, m);
        let dist_to_optimum = optimum.map_or(f64::NAN, |o| {
            e.z.chunks_exact(m)
                .zip(&o.z_star)
                .fold(0.0, |far, (row, zs)| {
                    row.iter().fold(far, |far, z| far.max((z - zs).abs()))
                })
        });
        let (neuron_pc1, neuron_pc2) = principal_coordinates(&e.z, m);
        let columns = columns(&e.z, n, m);
        let hessian = opts.hessian.map(|h| e.hessian_stats(p, h));
        let (neuron_spread, neuron_clusters) =
            spread_and_clusters(kdtree::Points::new(&columns, m), opts.cluster_tol);
        Self {
            step,
            loss: e.loss(),
            trace_hessian: e.trace_hessian(p),
            sharpness_r: e.sharpness_r(p),
            riem_grad_norm: e.riemannian_grad_norm(p).unwrap_or(f64::NAN),
            effective_rank_z: effective_rank(&sv_z),
            sv_z,
            sv_phi,
            dist_to_optimum,
            neuron_spread,
            neuron_clusters,
            neuron_pc1,
            neuron_pc2,
            z: e.z,
            hessian,
            time: f64::NAN,
            margin: None,
        }
    }

    /// The record of a state whose values are no longer finite.
    pub fn nonfinite(step: u64, loss: f64) -> Self {
        Self {
            step,
            loss: if loss.is_nan() {
                f64::NAN
            } else {
                f64::INFINITY
            },
            trace_hessian: f64::NAN,
            sharpness_r: f64::NAN,
            riem_grad_norm: f64::NAN,
            sv_z: Vec::new(),
            sv_phi: Vec::new(),
            effective_rank_z: f64::NAN,
            dist_to_optimum: f64::NAN,
            neuron_spread: f64::NAN,
            neuron_clusters: 0,
            neuron_pc1: Vec::new(),
            neuron_pc2: Vec::new(),
            z: Vec::new(),
            hessian: None,
            time: f64::NAN,
            margin: None,
        }
    }

    /// `s_k / s_1` of Z (k from 1), NaN when Z has fewer singular values.
    pub fn sv_ratio_z(&self, k: usize) -> f64 {
        ratio(&self.sv_z, k)
    }

    /// `s_k / s_1` of φ(Z).
    pub fn sv_ratio_phi(&self, k: usize) -> f64 {
        ratio(&self.sv_phi, k)
    }
}

fn ratio(sv: &[f64], k: usize) -> f64 {
    match (sv.first(), sv.get(k - 1)) {
        (Some(&s1), Some(&sk)) if s1 > 0.0 => sk / s1,
        _ => f64::NAN,
    }
}

/// Singular values of an r×c row-major matrix, descending: by one-sided
/// Jacobi when the matrix is small (small_svd.rs), else by faer.
pub fn singular_values(a: &[f64], r: usize, c: usize) -> Vec<f64> {
    if small_svd::fits(r, c) {
        return small_svd::singular_values(a, r, c);
    }
    let mat = Mat::from_fn(r, c, |i, j| a[i * c + j]);
    mat.singular_values().unwrap_or_default()
}

/// The singular values of the n×m row-major Z and of φ(Z): for a small
/// wide Z, each rotated in one scratch matrix, Z's copy first and φ(Z)
/// then written over it.
fn feature_spectra(z: &[f64], act: Activation, n: usize, m: usize) -> (Vec<f64>, Vec<f64>) {
    if n <= m && small_svd::fits(n, m) {
        let mut scratch = z.to_vec();
        let sv_z = small_svd::row_singular_values(&mut scratch, m);
        for (s, &v) in scratch.iter_mut().zip(z) {
            *s = act.phi(v);
        }
        return (sv_z, small_svd::row_singular_values(&mut scratch, m));
    }
    let phi: Vec<f64> = z.iter().map(|&v| act.phi(v)).collect();
    (singular_values(z, n, m), singular_values(&phi, n, m))
}

fn effective_rank(sv: &[f64]) -> f64 {
    let total: f64 = sv.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let entropy: f64 = sv
        .iter()
        .map(|s| s / total)
        .filter(|&p| p > 0.0)
        .map(|p| -p * p.ln())
        .sum();
    entropy.exp()
}

/// The columns of an n×m row-major matrix one after another, neuron j's
/// feature vector z_{·j} at `[j·n..][..n]`: one buffer for the m points.
fn columns(z: &[f64], n: usize, m: usize) -> Vec<f64> {
    let mut cols = vec![0.0; n * m];
    for (i, row) in z.chunks_exact(m).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            cols[j * n + i] = v;
        }
    }
    cols
}

/// The largest distance between two neurons' feature vectors and the
/// number of clusters at `tol` (connected components of the graph joining
/// neurons closer than `tol · max_j ‖z_{·j}‖`, single linkage): exactly the
/// answers of comparing every pair, with a k-d tree at about O(n·m log m)
/// instead of O(n·m²) per record for many neurons (kdtree.rs).
fn spread_and_clusters(cols: kdtree::Points, tol: f64) -> (f64, u32) {
    let scale = cols
        .iter()
        .map(|c| c.iter().map(|v| v * v).sum::<f64>().sqrt())
        .fold(0.0, f64::max);
    kdtree::spread_and_components(cols, tol * scale)
}

/// Each neuron's coordinates on the first two principal components of the
/// centred feature vectors (the columns of the n×m row-major Z). Signs are
/// fixed (largest-magnitude coordinate positive) so consecutive records are
/// comparable.
fn principal_coordinates(z: &[f64], m: usize) -> (Vec<f64>, Vec<f64>) {
    // Column i of the centred m×n matrix is row i of Z less its mean.
    let mut centred = Vec::with_capacity(z.len());
    for row in z.chunks_exact(m) {
        let mean = row.iter().sum::<f64>() / m as f64;
        centred.extend(row.iter().map(|v| v - mean));
    }
    let Some((coords, rank)) = scaled_left_singular_vectors(centred, m) else {
        return (vec![f64::NAN; m], vec![f64::NAN; m]);
    };
    let component = |k: usize| -> Vec<f64> {
        if k >= rank {
            return vec![0.0; m];
        }
        let mut coords = coords[k * m..][..m].to_vec();
        let pivot = coords
            .iter()
            .copied()
            .fold(0.0f64, |a, b| if b.abs() > a.abs() { b } else { a });
        if pivot < 0.0 {
            coords.iter_mut().for_each(|c| *c = -*c);
        }
        coords
    };
    (component(0), component(1))
}

/// U·Σ of the thin SVD of the m×n matrix of centred feature vectors
/// (neuron j's row `z_{·j} − mean`), whose n columns `centred` holds one
/// after another, column after column, and its number of columns
/// min(m, n); `None` if the SVD fails. By one-sided Jacobi in the place of
/// `centred` when there are few features (small_svd.rs), else by faer.
fn scaled_left_singular_vectors(mut centred: Vec<f64>, m: usize) -> Option<(Vec<f64>, usize)> {
    let n = centred.len() / m;
    let rank = m.min(n);
    if small_svd::fits_columns(m, n) {
        let sv = small_svd::orthogonalise(&mut centred, m);
        return (sv.len() == n).then(|| {
            centred.truncate(rank * m);
            (centred, rank)
        });
    }
    let mat = Mat::from_fn(m, n, |j, i| centred[i * m + j]);
    let svd = mat.thin_svd().ok()?;
    let (u, s) = (svd.U(), svd.S().column_vector());
    let coords = (0..s.nrows())
        .flat_map(|k| (0..m).map(move |j| u[(j, k)] * s[k]))
        .collect();
    Some((coords, s.nrows()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curvature::HessianMethod;

    fn opts() -> MeasureOptions {
        MeasureOptions {
            hessian: Some(HessianOptions {
                method: HessianMethod::Dense,
                top_k: 1,
                seed: 0,
            }),
            cluster_tol: 1e-6,
        }
    }

    /// X with independent rows (n ≤ d) and Θ with θ_j = Xᵀ(XXᵀ)⁻¹φ⁻¹(y/m)
    /// for every j: the constructed optimum of Theorem 3.3.
    fn constructed_optimum() -> (Problem, Activation, usize, Vec<f64>, Optimum) {
        let (n, d, m) = (3, 5, 4);
        let x = vec![
            0.6, 0.1, 0.3, 0.5, 0.2, //
            0.1, 0.7, 0.2, 0.1, 0.4, //
            0.3, 0.2, 0.8, 0.3, 0.1,
        ];
        let p = Problem::new(n, d, x, vec![0.9, 0.3, 0.55]);
        let act = Activation::CubicLinear { beta: 1.0 };
        let opt = Optimum::of(&p, act, m).unwrap();
        // Solve (XXᵀ) a = z*, θ = Xᵀ a.
        let g = Mat::from_fn(n, n, |i, k| {
            p.row(i)
                .iter()
                .zip(p.row(k))
                .map(|(a, b)| a * b)
                .sum::<f64>()
        });
        let rhs = Mat::from_fn(n, 1, |i, _| opt.z_star[i]);
        let a = faer::linalg::solvers::Solve::solve(&g.partial_piv_lu(), &rhs);
        let theta_row: Vec<f64> = (0..d)
            .map(|k| (0..n).map(|i| a[(i, 0)] * p.row(i)[k]).sum())
            .collect();
        let theta = theta_row.iter().copied().cycle().take(m * d).collect();
        (p, act, m, theta, opt)
    }

    #[test]
    fn constructed_optimum_is_stationary_with_rank_one_features() {
        let (p, act, m, theta, opt) = constructed_optimum();
        let r = Metrics::measure(&p, act, m, &theta, 0, Some(&opt), opts());
        assert!(r.loss < 1e-28, "loss {}", r.loss);
        assert!(r.riem_grad_norm < 1e-12, "‖P_T∇R‖ = {}", r.riem_grad_norm);
        assert!(
            (r.sharpness_r - opt.r_star).abs() < 1e-12 * opt.r_star,
            "R {} R* {}",
            r.sharpness_r,
            opt.r_star
        );
        assert!(r.dist_to_optimum < 1e-13);
        assert!(r.sv_ratio_z(2) < 1e-14, "s2/s1 = {}", r.sv_ratio_z(2));
        assert!(r.sv_ratio_phi(2) < 1e-14);
        assert_eq!(r.neuron_clusters, 1);
        assert!(r.neuron_spread < 1e-14);
        assert!((r.effective_rank_z - 1.0).abs() < 1e-12);
        // On M the trace of the Hessian equals R.
        assert!((r.trace_hessian - r.sharpness_r).abs() < 1e-12 * r.sharpness_r);
        let h = r.hessian.unwrap();
        assert!(h.lambda_max > 0.0 && h.frobenius >= h.lambda_max);
    }

    #[test]
    fn moving_off_the_optimum_along_the_manifold_raises_r() {
        // Exchanging mass between two neurons' pre-activations keeps f fixed
        // only to first order; R* is still the minimum of R nearby on M.
        let (p, act, m, theta, opt) = constructed_optimum();
        let mut t = theta.clone();
        let d = p.d;
        for k in 0..d {
            t[k] += 1e-3 * (k as f64 + 1.0);
            t[d + k] -= 1e-3 * (k as f64 + 1.0);
        }
        let r = Metrics::measure(&p, act, m, &t, 0, Some(&opt), opts());
        assert!(r.sharpness_r > opt.r_star);
        assert!(r.neuron_clusters > 1);
        assert!(r.dist_to_optimum > 1e-4);
    }

    /// Theorem 3.3 is about a = 1: with another second layer there is no
    /// z* or R*, and no distance to them, while every other metric is
    /// still recorded.
    #[test]
    fn no_optimum_is_reported_for_a_second_layer_other_than_ones() {
        let (p, act, m, theta, _) = constructed_optimum();
        let ones = p.clone().with_outer(vec![1.0; m]);
        assert!(Optimum::of(&ones, act, m).is_some());
        let alternating = p.with_outer(vec![1.0, -1.0, 1.0, -1.0]);
        assert_eq!(Optimum::of(&alternating, act, m), None);
        let r = Metrics::measure(&alternating, act, m, &theta, 0, None, opts());
        assert!(r.dist_to_optimum.is_nan());
        assert!(r.sharpness_r > 0.0 && r.trace_hessian.is_finite());
    }

    #[test]
    fn nonfinite_weights_give_a_nonfinite_record_not_a_panic() {
        let (p, act, m, mut theta, opt) = constructed_optimum();
        theta[0] = f64::NAN;
        let r = Metrics::measure(&p, act, m, &theta, 5, Some(&opt), opts());
        assert!(r.loss.is_nan());
        assert!(r.sv_z.is_empty());
    }
}
