//! The Hessian statistics recorded with `hessian = true` (docs/science.md
//! §2.4): ‖∇²L‖_F, λ_max and the top k eigenvalues, from the dense md×md
//! Hessian at small sizes and without ever forming it at large ones.
//!
//! The matrix-free path rests on two exact identities of the Hessian
//! `H = (2/n)(G + D)`, `G = JᵀJ`, `D = blockdiag_j(D_j)`,
//! `D_j = Σ_i r_i φ''(z_ij) x_i x_iᵀ`:
//!
//! * `Hv` costs O(nmd) ([`Eval::hessian_vector`]), so Lanczos
//!   (lanczos.rs) finds the top eigenvalues in O(s·nmd + s²·md) for s steps;
//! * ‖H‖_F² = (2/n)² (‖G‖_F² + 2⟨G, D⟩ + ‖D‖_F²), each term a sum over pairs
//!   of data points of (x_iᵀx_l)² times sums over the neurons, O(n²(m + d))
//!   ([`Eval::hessian_frobenius`]): exact, and cheaper than the n×n normal
//!   Gram every record already builds for the Riemannian gradient. Where
//!   n is so large that even this costs more than a few dozen products
//!   ([`frobenius_is_estimated`]), ‖H‖_F is Hutchinson's estimate from
//!   [`HUTCHINSON_PROBES`] products instead (hutchinson.rs), with its
//!   standard error, the top Ritz vectors of Lanczos counted exactly.

use crate::data::Problem;
pub use crate::hessian_method::{
    AUTO_DENSE_MAX_DIM, HUTCHINSON_PROBES, HessianMethod, HessianOptions, frobenius_is_estimated,
};
use crate::model::Eval;
use crate::{hutchinson, lanczos, rng};
use faer::{Mat, Side};

/// The Hessian statistics recorded on request.
#[derive(Clone, Debug, PartialEq)]
pub struct HessianStats {
    /// ‖∇²L‖_F: exact, or Hutchinson's estimate where `frobenius_se` is set.
    pub frobenius: f64,
    /// λ_max(∇²L).
    pub lambda_max: f64,
    /// The `hessian_top_k` largest eigenvalues, descending.
    pub eigs: Vec<f64>,
    /// The method that computed them: `Dense` or `Lanczos`.
    pub method: HessianMethod,
    /// The standard error of `frobenius` where it is an estimate
    /// ([`frobenius_is_estimated`]); `None` where it is exact.
    pub frobenius_se: Option<f64>,
}

impl Eval {
    /// `Hv = (2/n) Σ_i [∇f_i (∇f_iᵀv) + r_i blockdiag_j(φ''(z_ij) x_i x_iᵀ) v]`
    /// for v ∈ R^{md} (m×d row-major, as Θ), in O(nmd): with
    /// s_ij = x_iᵀv_j and (Jv)_i = Σ_j φ'(z_ij) s_ij,
    /// `(Hv)_j = (2/n) Σ_i [(Jv)_i φ'(z_ij) + r_i φ''(z_ij) s_ij] x_i`.
    pub fn hessian_vector(&self, p: &Problem, v: &[f64], out: &mut [f64]) {
        let (m, d) = (self.m, p.d);
        let c = 2.0 / p.n as f64;
        out.fill(0.0);
        let mut s = vec![0.0; m];
        for i in 0..p.n {
            let xi = p.row(i);
            // ∇f_i's block j is g1·x_i and ∇²f_i's is g2·x_i x_iᵀ: with a
            // second layer a, both carry a factor a_j here.
            let g1 = &self.d1[i * m..(i + 1) * m];
            let g2 = &self.d2[i * m..(i + 1) * m];
            let mut jv = 0.0;
            for j in 0..m {
                s[j] = xi
                    .iter()
                    .zip(&v[j * d..(j + 1) * d])
                    .map(|(a, b)| a * b)
                    .sum();
                jv += g1[j] * s[j];
            }
            for j in 0..m {
                let w = c * (jv * g1[j] + self.resid[i] * g2[j] * s[j]);
                for (o, xk) in out[j * d..(j + 1) * d].iter_mut().zip(xi) {
                    *o += w * xk;
                }
            }
        }
    }

    /// `‖∇²L‖_F` exactly in O(n²(m + d)), without forming the Hessian (module
    /// doc): with K_il = x_iᵀx_l and c_ij = r_i φ''(z_ij),
    /// ‖G‖² = Σ_{i,l} K_il² (Σ_j φ'_ij φ'_lj)²,
    /// ⟨G, D⟩ = Σ_{i,l} K_il² Σ_j φ'_ij² c_lj,
    /// ‖D‖² = Σ_{i,l} K_il² Σ_j c_ij c_lj.
    pub fn hessian_frobenius(&self, p: &Problem) -> f64 {
        let (n, m) = (p.n, self.m);
        // The same per-neuron factors as in `hessian_vector`.
        let g1 = &self.d1;
        let c: Vec<f64> = (0..n * m)
            .map(|ij| self.resid[ij / m] * self.d2[ij])
            .collect();
        let (mut gg, mut gd, mut dd) = (0.0, 0.0, 0.0);
        for i in 0..n {
            for l in 0..n {
                let k: f64 = p.row(i).iter().zip(p.row(l)).map(|(a, b)| a * b).sum();
                let k2 = k * k;
                let (mut pp, mut pc, mut cc) = (0.0, 0.0, 0.0);
                for j in 0..m {
                    let (a, b) = (g1[i * m + j], g1[l * m + j]);
                    pp += a * b;
                    pc += a * a * c[l * m + j];
                    cc += c[i * m + j] * c[l * m + j];
                }
                gg += k2 * pp * pp;
                gd += k2 * pc;
                dd += k2 * cc;
            }
        }
        2.0 / n as f64 * (gg + 2.0 * gd + dd).max(0.0).sqrt()
    }

    /// The statistics `opts` asks for (module doc).
    pub fn hessian_stats(&self, p: &Problem, opts: HessianOptions) -> HessianStats {
        match opts.method {
            HessianMethod::Lanczos => {
                let dim = self.m * p.d;
                let mut rng = rng::Streams::curvature(opts.seed);
                let hv = |v: &[f64], out: &mut [f64]| self.hessian_vector(p, v, out);
                let (eigs, vectors) = lanczos::top_eigenpairs(dim, opts.top_k, &mut rng, hv);
                // The probes are the stream's draws after Lanczos's, off
                // the top Ritz vectors, which are counted exactly.
                let (frobenius, frobenius_se) = if frobenius_is_estimated(self.m, p.d, p.n) {
                    let e =
                        hutchinson::frobenius_norm(dim, HUTCHINSON_PROBES, &mut rng, &vectors, hv);
                    (e.value, Some(e.standard_error))
                } else {
                    (self.hessian_frobenius(p), None)
                };
                HessianStats {
                    frobenius,
                    lambda_max: eigs.first().copied().unwrap_or(f64::NAN),
                    eigs,
                    method: HessianMethod::Lanczos,
                    frobenius_se,
                }
            }
            _ => dense_stats(self.hessian(p), opts.top_k),
        }
    }
}

/// ‖H‖_F, λ_max and the top `k` eigenvalues of the dense Hessian (faer's
/// symmetric eigensolver).
fn dense_stats(h: Mat<f64>, k: usize) -> HessianStats {
    let frobenius = h.norm_l2();
    let ev = h.self_adjoint_eigenvalues(Side::Lower).unwrap_or_default();
    HessianStats {
        frobenius,
        lambda_max: ev.last().copied().unwrap_or(f64::NAN),
        eigs: ev.iter().rev().take(k).copied().collect(),
        method: HessianMethod::Dense,
        frobenius_se: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::Activation;
    use crate::config::OuterGen;
    use crate::rng::Stream;
    use rand::SeedableRng;

    fn setup(
        act: crate::ActivationName,
        m: usize,
        d: usize,
        n: usize,
    ) -> (Problem, Activation, Vec<f64>) {
        setup_with(act, OuterGen::Ones, m, d, n)
    }

    fn setup_with(
        act: crate::ActivationName,
        outer: OuterGen,
        m: usize,
        d: usize,
        n: usize,
    ) -> (Problem, Activation, Vec<f64>) {
        crate::model::tests::problem(act, outer, 7, (m, d, n))
    }

    const ACTS: [crate::ActivationName; 4] = [
        crate::ActivationName::CubicLinear,
        crate::ActivationName::Sinh,
        crate::ActivationName::Tanh,
        crate::ActivationName::Softplus,
    ];

    fn random_vector(dim: usize, seed: u64) -> Vec<f64> {
        let mut rng = Stream::seed_from_u64(seed);
        (0..dim).map(|_| rng::normal(&mut rng)).collect()
    }

    fn relative(a: f64, b: f64) -> f64 {
        (a - b).abs() / a.abs().max(b.abs())
    }

    #[test]
    fn hessian_vector_product_matches_finite_differences_of_the_gradient() {
        // Hv = d/dt ∇L(Θ + tv) at t = 0, by central differences; with
        // [G24]'s second layer and with a = (+1, −1, …).
        for (act, outer) in ACTS
            .iter()
            .flat_map(|&a| [(a, OuterGen::Ones), (a, OuterGen::Alternating)])
        {
            let (p, a, theta) = setup_with(act, outer, 5, 4, 6);
            let v = random_vector(theta.len(), 1);
            let mut hv = vec![0.0; theta.len()];
            Eval::new(&p, a, &theta, 5).hessian_vector(&p, &v, &mut hv);
            let h = 1e-5;
            let grad_at = |t: f64| {
                let moved: Vec<f64> = theta.iter().zip(&v).map(|(x, y)| x + t * y).collect();
                Eval::new(&p, a, &moved, 5).loss_gradient(&p)
            };
            let (up, down) = (grad_at(h), grad_at(-h));
            let scale = hv.iter().fold(0.0f64, |s, x| s.max(x.abs()));
            for k in 0..theta.len() {
                let fd = (up[k] - down[k]) / (2.0 * h);
                assert!(
                    (hv[k] - fd).abs() <= 1e-7 * (1.0 + scale),
                    "{act} (Hv)[{k}]: {} vs {fd}",
                    hv[k]
                );
            }
        }
    }

    #[test]
    fn hessian_vector_product_and_frobenius_norm_match_the_dense_hessian() {
        for (act, outer) in ACTS
            .iter()
            .flat_map(|&a| [(a, OuterGen::Ones), (a, OuterGen::Alternating)])
        {
            // Off the manifold (r ≠ 0), so D contributes.
            let (p, a, theta) = setup_with(act, outer, 7, 3, 5);
            let e = Eval::new(&p, a, &theta, 7);
            let dense = e.hessian(&p);
            let dim = theta.len();
            let v = random_vector(dim, 2);
            let mut hv = vec![0.0; dim];
            e.hessian_vector(&p, &v, &mut hv);
            for r in 0..dim {
                let want: f64 = (0..dim).map(|c| dense[(r, c)] * v[c]).sum();
                assert!(
                    (hv[r] - want).abs() <= 1e-12 * (1.0 + want.abs()),
                    "{act} row {r}"
                );
            }
            let fro = e.hessian_frobenius(&p);
            assert!(relative(fro, dense.norm_l2()) <= 1e-12, "{act} ‖H‖_F");
        }
    }

    #[test]
    fn lanczos_agrees_with_the_dense_path() {
        for (act, (m, d, n)) in
            ACTS.into_iter()
                .zip([(40, 6, 9), (12, 10, 30), (25, 4, 7), (30, 8, 12)])
        {
            let (p, a, theta) = setup(act, m, d, n);
            let e = Eval::new(&p, a, &theta, m);
            let opts = |method| HessianOptions {
                method,
                top_k: 3,
                seed: 5,
            };
            let dense = e.hessian_stats(&p, opts(HessianMethod::Dense));
            let lanczos = e.hessian_stats(&p, opts(HessianMethod::Lanczos));
            assert_eq!(lanczos.method, HessianMethod::Lanczos);
            assert!(
                relative(dense.frobenius, lanczos.frobenius) <= 1e-8,
                "{act} ‖H‖_F"
            );
            assert!(
                relative(dense.lambda_max, lanczos.lambda_max) <= 1e-8,
                "{act} λ_max"
            );
            assert_eq!(dense.eigs.len(), 3);
            for (x, y) in dense.eigs.iter().zip(&lanczos.eigs) {
                assert!(
                    relative(*x, *y) <= 1e-8,
                    "{act}: {:?} vs {:?}",
                    dense.eigs,
                    lanczos.eigs
                );
            }
        }
    }

    #[test]
    fn the_norm_is_estimated_only_where_the_exact_sum_costs_more_than_the_probes() {
        // Every size that ran with `lanczos` before: exact.
        for (m, d, n) in [
            (40, 6, 9),
            (12, 10, 30),
            (4, 2, 3),
            (100, 8, 16),
            (200, 100, 50),
        ] {
            assert!(!frobenius_is_estimated(m, d, n), "({m}, {d}, {n})");
        }
        // n(m + d) against 64·m·d: 20n > 6400 from n = 321 on at m = d = 10.
        assert!(!frobenius_is_estimated(10, 10, 320));
        assert!(frobenius_is_estimated(10, 10, 321));
        assert!(frobenius_is_estimated(10, 10, 100_000));
        assert!(!frobenius_is_estimated(1000, 1000, 30_000));
    }

    #[test]
    fn at_large_n_the_matrix_free_norm_is_an_estimate_within_its_standard_error() {
        let opts = HessianOptions {
            method: HessianMethod::Lanczos,
            top_k: 2,
            seed: 9,
        };
        // (3, 2, 60): 300 ≤ 64·6, exact, bit for bit the closed form.
        let (p, a, theta) = setup(crate::ActivationName::CubicLinear, 3, 2, 60);
        let e = Eval::new(&p, a, &theta, 3);
        let small = e.hessian_stats(&p, opts);
        assert_eq!(small.frobenius_se, None);
        assert_eq!(small.frobenius.to_bits(), e.hessian_frobenius(&p).to_bits());
        // (3, 2, 400): 2000 > 384, estimated; every activation agrees with
        // the exact norm within four standard errors, and the same seed
        // gives the same bits.
        for act in ACTS {
            let (p, a, theta) = setup(act, 3, 2, 400);
            let e = Eval::new(&p, a, &theta, 3);
            let stats = e.hessian_stats(&p, opts);
            let exact = e.hessian_frobenius(&p);
            let se = stats.frobenius_se.expect("an estimate at n = 400");
            assert!(se > 0.0 && se < 0.1 * exact, "{act}: SE {se} of {exact}");
            assert!(
                (stats.frobenius - exact).abs() <= 4.0 * se,
                "{act}: {} ± {se} vs {exact}",
                stats.frobenius
            );
            assert_eq!(e.hessian_stats(&p, opts), stats);
            // The eigenvalues are Lanczos's as before: the probes come after.
            let dense = e.hessian_stats(
                &p,
                HessianOptions {
                    method: HessianMethod::Dense,
                    ..opts
                },
            );
            assert!(
                relative(dense.lambda_max, stats.lambda_max) <= 1e-8,
                "{act}"
            );
        }
    }

    #[test]
    fn auto_is_dense_up_to_its_bound_and_lanczos_above() {
        assert_eq!(HessianMethod::Auto.resolve(64), HessianMethod::Dense);
        assert_eq!(
            HessianMethod::Auto.resolve(AUTO_DENSE_MAX_DIM),
            HessianMethod::Dense
        );
        assert_eq!(
            HessianMethod::Auto.resolve(AUTO_DENSE_MAX_DIM + 1),
            HessianMethod::Lanczos
        );
        assert_eq!(HessianMethod::Dense.resolve(1 << 20), HessianMethod::Dense);
        assert_eq!(HessianMethod::Lanczos.resolve(4), HessianMethod::Lanczos);
        assert!(
            "power"
                .parse::<HessianMethod>()
                .unwrap_err()
                .to_string()
                .contains("auto, dense, lanczos")
        );
    }
}
