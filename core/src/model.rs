//! The two-layer model `f_Θ(x) = Σ_j a_j φ(θ_jᵀx)` (second layer a fixed:
//! ones in \[G24\], [`Problem::outer`] in general) and the derived quantities
//! of docs/science.md §1–§3: loss, gradient, trace of the Hessian, the
//! sharpness R and its gradient, the Jacobian's tangent projection, and the
//! full Hessian.
//!
//! Every formula below reads φ' and φ'' only through [`Eval::d1`] and
//! [`Eval::d2`], which hold them multiplied by a_j: `∂f_i/∂z_ij = a_j φ'(z_ij)`
//! and `∂²f_i/∂z_ij² = a_j φ''(z_ij)`, so each formula carries a as the
//! chain rule does, and with a = 1 (an exact multiplication by 1.0) is the
//! formula of \[G24\]'s network bit for bit.
//!
//! Layouts: X is n×d, Θ is m×d (row j = θ_j), Z = XΘᵀ is n×m, all row-major.
//! These are the reference formulas; the step kernel (`kernel.rs`) is the
//! fast path for training and is tested against [`loss_gradient`].

use crate::activation::Activation;
use crate::data::{Problem, preactivations};
use crate::error::{CoreError, Result};
use crate::small_cholesky;
use faer::{Mat, Side};

/// The model evaluated at Θ: everything the formulas below share.
#[derive(Clone, Debug)]
pub struct Eval {
    pub m: usize,
    /// Z, n×m.
    pub z: Vec<f64>,
    /// a_j φ'(z_ij), n×m (module doc).
    pub d1: Vec<f64>,
    /// a_j φ''(z_ij), n×m.
    pub d2: Vec<f64>,
    /// Residuals f(x_i) − y_i.
    pub resid: Vec<f64>,
}

impl Eval {
    pub fn new(p: &Problem, act: Activation, theta: &[f64], m: usize) -> Self {
        let mut z = vec![0.0; p.n * m];
        preactivations(&p.x, theta, p.n, p.d, m, &mut z);
        // Row by row, so a_j comes with j (the flow builds one of these
        // per step).
        let (mut d1, mut d2) = (vec![0.0; p.n * m], vec![0.0; p.n * m]);
        let mut resid = vec![0.0; p.n];
        for (i, ((zi, (d1i, d2i)), r)) in z
            .chunks_exact(m)
            .zip(d1.chunks_exact_mut(m).zip(d2.chunks_exact_mut(m)))
            .zip(&mut resid)
            .enumerate()
        {
            // −0, where f64's `sum` starts.
            let mut f = -0.0;
            for (j, ((&v, g1), g2)) in zi.iter().zip(d1i).zip(d2i).enumerate() {
                let a = p.outer(j);
                *g1 = a * act.d1(v);
                *g2 = a * act.d2(v);
                f += a * act.phi(v);
            }
            *r = f - p.y[i];
        }
        Self {
            m,
            z,
            d1,
            d2,
            resid,
        }
    }

    /// `L(Θ) = (1/n) Σ_i (f(x_i) − y_i)²`.
    pub fn loss(&self) -> f64 {
        self.resid.iter().map(|r| r * r).sum::<f64>() / self.resid.len() as f64
    }

    /// `tr ∇²L = (2/n) Σ_i ‖x_i‖² [Σ_j a_j² φ'(z_ij)² + (f_i − y_i) Σ_j a_j φ''(z_ij)]`
    /// (docs/science.md §2.3).
    pub fn trace_hessian(&self, p: &Problem) -> f64 {
        let m = self.m;
        let sum: f64 = (0..p.n)
            .map(|i| {
                let row = i * m..(i + 1) * m;
                let sq: f64 = self.d1[row.clone()].iter().map(|v| v * v).sum();
                let curv: f64 = self.d2[row].iter().sum();
                p.row_norm2[i] * (sq + self.resid[i] * curv)
            })
            .sum();
        2.0 * sum / p.n as f64
    }

    /// `R(Θ) = (2/n) Σ_{i,j} a_j² φ'(z_ij)² ‖x_i‖²`, tr∇²L on the manifold (Lemma 4.3).
    pub fn sharpness_r(&self, p: &Problem) -> f64 {
        let m = self.m;
        let sum: f64 = (0..p.n)
            .map(|i| {
                p.row_norm2[i]
                    * self.d1[i * m..(i + 1) * m]
                        .iter()
                        .map(|v| v * v)
                        .sum::<f64>()
            })
            .sum();
        2.0 * sum / p.n as f64
    }

    /// `∂L/∂θ_j = (2/n) Σ_i (f_i − y_i) a_j φ'(z_ij) x_i`, as an m×d matrix.
    pub fn loss_gradient(&self, p: &Problem) -> Vec<f64> {
        let u: Vec<f64> = self.resid.iter().map(|r| 2.0 * r / p.n as f64).collect();
        self.jacobian_t(p, &u)
    }

    /// `∂R/∂θ_j = (4/n) Σ_i a_j² φ'(z_ij) φ''(z_ij) ‖x_i‖² x_i`.
    pub fn sharpness_gradient(&self, p: &Problem) -> Vec<f64> {
        let (m, d) = (self.m, p.d);
        let mut g = vec![0.0; m * d];
        for (((xi, r2), d1i), d2i) in
            p.x.chunks_exact(d)
                .zip(&p.row_norm2)
                .zip(self.d1.chunks_exact(m))
                .zip(self.d2.chunks_exact(m))
        {
            let c = 4.0 * r2 / p.n as f64;
            for ((gj, g1), g2) in g.chunks_exact_mut(d).zip(d1i).zip(d2i) {
                let w = c * g1 * g2;
                for (gk, xk) in gj.iter_mut().zip(xi) {
                    *gk += w * xk;
                }
            }
        }
        g
    }

    /// `J v` for v ∈ R^{md}: (Jv)_i = Σ_j a_j φ'(z_ij) x_iᵀ v_j. J is the
    /// Jacobian of (f(x_1), …, f(x_n)) with respect to Θ.
    pub fn jacobian(&self, p: &Problem, v: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; p.n];
        self.jacobian_into(p, v, &mut out);
        out
    }

    /// [`Eval::jacobian`] written into `out` (n values).
    fn jacobian_into(&self, p: &Problem, v: &[f64], out: &mut [f64]) {
        let (m, d) = (self.m, p.d);
        for ((o, xi), d1i) in out
            .iter_mut()
            .zip(p.x.chunks_exact(d))
            .zip(self.d1.chunks_exact(m))
        {
            *o = d1i
                .iter()
                .zip(v.chunks_exact(d))
                .map(|(g1, vj)| {
                    let dot: f64 = xi.iter().zip(vj).map(|(a, b)| a * b).sum();
                    g1 * dot
                })
                .sum();
        }
    }

    /// `Jᵀ u` for u ∈ Rⁿ: (Jᵀu)_j = Σ_i u_i a_j φ'(z_ij) x_i.
    pub fn jacobian_t(&self, p: &Problem, u: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.m * p.d];
        self.add_jacobian_t(p, u, &mut out);
        out
    }

    /// `out += Jᵀ u`.
    fn add_jacobian_t(&self, p: &Problem, u: &[f64], out: &mut [f64]) {
        let (m, d) = (self.m, p.d);
        for ((xi, ui), d1i) in p.x.chunks_exact(d).zip(u).zip(self.d1.chunks_exact(m)) {
            for (oj, g1) in out.chunks_exact_mut(d).zip(d1i) {
                let w = ui * g1;
                for (o, xk) in oj.iter_mut().zip(xi) {
                    *o += w * xk;
                }
            }
        }
    }

    /// `JJᵀ = (XXᵀ) ∘ (D D ᵀ)` with D_ij = a_j φ'(z_ij), n×n: the Gram matrix of the manifold's
    /// normal space, computed without forming J.
    pub fn normal_gram(&self, p: &Problem) -> Mat<f64> {
        Mat::from_fn(p.n, p.n, |i, k| self.normal_gram_entry(p, i, k))
    }

    /// Entry (i, k) of [`Eval::normal_gram`].
    fn normal_gram_entry(&self, p: &Problem, i: usize, k: usize) -> f64 {
        let m = self.m;
        let xx: f64 = p.row(i).iter().zip(p.row(k)).map(|(a, b)| a * b).sum();
        let pp: f64 = self.d1[i * m..(i + 1) * m]
            .iter()
            .zip(&self.d1[k * m..(k + 1) * m])
            .map(|(a, b)| a * b)
            .sum();
        xx * pp
    }

    /// Solves `(JJᵀ) a = b` by Cholesky (for small n on the stack,
    /// small_cholesky.rs, else by faer); fails when the rows of J are
    /// dependent (then the tangent space is not defined by J).
    pub fn solve_normal(&self, p: &Problem, b: &[f64]) -> Result<Vec<f64>> {
        let mut x = b.to_vec();
        self.solve_normal_in_place(p, &mut x)?;
        Ok(x)
    }

    /// [`Eval::solve_normal`] with b overwritten by the solution.
    fn solve_normal_in_place(&self, p: &Problem, b: &mut [f64]) -> Result<()> {
        let singular = || CoreError::LinearAlgebra("JJᵀ is not positive definite".into());
        if p.n <= small_cholesky::MAX_DIM {
            return small_cholesky::solve(|i, k| self.normal_gram_entry(p, i, k), b)
                .ok_or_else(singular);
        }
        let g = self.normal_gram(p);
        let llt = g.llt(Side::Lower).map_err(|_| singular())?;
        let rhs = Mat::from_fn(p.n, 1, |i, _| b[i]);
        let sol = faer::linalg::solvers::Solve::solve(&llt, &rhs);
        for (i, x) in b.iter_mut().enumerate() {
            *x = sol[(i, 0)];
        }
        Ok(())
    }

    /// `P_T v = v − Jᵀ(JJᵀ)⁻¹J v`: the projection onto the tangent space of
    /// the level set {F(Θ) = F(Θ₀)} (the zero-loss manifold when L = 0).
    pub fn project_tangent(&self, p: &Problem, v: &[f64]) -> Result<Vec<f64>> {
        let mut out = v.to_vec();
        self.project_tangent_in_place(p, &mut out)?;
        Ok(out)
    }

    /// [`Eval::project_tangent`] of `v`, in its place: Jᵀ(−a) added term
    /// by term, without a vector for Jᵀa, and a = (JJᵀ)⁻¹Jv on the stack
    /// when the Cholesky is (no vector at all for small n).
    fn project_tangent_in_place(&self, p: &Problem, v: &mut [f64]) -> Result<()> {
        let (mut stack, mut heap) = ([0.0; small_cholesky::MAX_DIM], Vec::new());
        let a = if p.n <= small_cholesky::MAX_DIM {
            &mut stack[..p.n]
        } else {
            heap.resize(p.n, 0.0);
            &mut heap[..]
        };
        self.jacobian_into(p, v, a);
        self.solve_normal_in_place(p, a)?;
        a.iter_mut().for_each(|v| *v = -*v);
        self.add_jacobian_t(p, a, v);
        Ok(())
    }

    /// `‖P_T ∇R‖`, the Riemannian gradient norm (stationarity on M).
    pub fn riemannian_grad_norm(&self, p: &Problem) -> Result<f64> {
        let mut g = self.sharpness_gradient(p);
        self.project_tangent_in_place(p, &mut g)?;
        Ok(g.iter().map(|v| v * v).sum::<f64>().sqrt())
    }

    /// The full Hessian `∇²L = (2/n) Σ_i [∇f_i ∇f_iᵀ + (f_i − y_i)
    /// blockdiag_j(a_j φ''(z_ij) x_i x_iᵀ)]`, md×md. Costs O((md)²n).
    pub fn hessian(&self, p: &Problem) -> Mat<f64> {
        let (m, d) = (self.m, p.d);
        let dim = m * d;
        let mut h = Mat::<f64>::zeros(dim, dim);
        let c = 2.0 / p.n as f64;
        let mut gi = vec![0.0; dim];
        for i in 0..p.n {
            let xi = p.row(i);
            for j in 0..m {
                for k in 0..d {
                    gi[j * d + k] = self.d1[i * m + j] * xi[k];
                }
            }
            for a in 0..dim {
                let ga = c * gi[a];
                if ga != 0.0 {
                    for b in 0..dim {
                        h[(a, b)] += ga * gi[b];
                    }
                }
            }
            for j in 0..m {
                let w = c * self.resid[i] * self.d2[i * m + j];
                for k in 0..d {
                    for l in 0..d {
                        h[(j * d + k, j * d + l)] += w * xi[k] * xi[l];
                    }
                }
            }
        }
        h
    }
}

/// The clean loss gradient at Θ (convenience for tests and plain GD).
pub fn loss_gradient(p: &Problem, act: Activation, theta: &[f64], m: usize) -> Vec<f64> {
    Eval::new(p, act, theta, m).loss_gradient(p)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::{DataGen, OuterGen, RunConfig, Source};
    use crate::data::initial_weights;
    use crate::rng::Streams;

    fn setup(
        act: crate::ActivationName,
        m: usize,
        d: usize,
        n: usize,
    ) -> (Problem, Activation, Vec<f64>) {
        problem(act, OuterGen::Ones, 11, (m, d, n))
    }

    /// A Gaussian-data problem of `(m, d, n)` with second layer `outer`,
    /// its activation and initial weights, all from `seed`.
    pub(crate) fn problem(
        act: crate::ActivationName,
        outer: OuterGen,
        seed: u64,
        (m, d, n): (usize, usize, usize),
    ) -> (Problem, Activation, Vec<f64>) {
        let c = RunConfig {
            activation: act,
            m,
            d,
            n,
            data: Source::Generate(DataGen::Gaussian),
            outer: Source::Generate(outer),
            ..Default::default()
        };
        let mut s = Streams::from_seed(seed);
        let p = Problem::build(&c, &mut s).unwrap();
        let theta = initial_weights(&c, &mut s).unwrap();
        (p, c.activation(), theta)
    }

    /// Central difference of a scalar function along coordinate `k` of Θ.
    fn partial(f: &dyn Fn(&[f64]) -> f64, theta: &[f64], k: usize, h: f64) -> f64 {
        let mut t = theta.to_vec();
        t[k] += h;
        let up = f(&t);
        t[k] -= 2.0 * h;
        let down = f(&t);
        (up - down) / (2.0 * h)
    }

    fn assert_close(a: f64, b: f64, rel: f64, what: &str) {
        assert!(
            (a - b).abs() <= rel * (1.0 + a.abs().max(b.abs())),
            "{what}: {a} vs {b}"
        );
    }

    const ACTS: [crate::ActivationName; 4] = [
        crate::ActivationName::CubicLinear,
        crate::ActivationName::Sinh,
        crate::ActivationName::Tanh,
        crate::ActivationName::Softplus,
    ];

    /// The problem with each second layer the tests cover: ones, +1 −1 …,
    /// and values of mixed sign and size.
    fn outers(p: &Problem, m: usize) -> Vec<(&'static str, Problem)> {
        let alternating = (0..m)
            .map(|j| if j % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let mixed = (0..m)
            .map(|j| ((j * 5 + 2) % 7) as f64 * 0.6 - 1.7)
            .collect();
        vec![
            ("a = 1", p.clone()),
            ("a = ±1", p.clone().with_outer(alternating)),
            ("a mixed", p.clone().with_outer(mixed)),
        ]
    }

    #[test]
    fn loss_gradient_matches_finite_differences() {
        for act in ACTS {
            let (p, a, theta) = setup(act, 4, 3, 5);
            for (outer, p) in outers(&p, 4) {
                let g = loss_gradient(&p, a, &theta, 4);
                let loss = |t: &[f64]| Eval::new(&p, a, t, 4).loss();
                for k in 0..theta.len() {
                    assert_close(
                        g[k],
                        partial(&loss, &theta, k, 1e-6),
                        1e-7,
                        &format!("{act} {outer} ∂L/∂θ[{k}]"),
                    );
                }
            }
        }
    }

    #[test]
    fn sharpness_gradient_matches_finite_differences() {
        for act in ACTS {
            let (p, a, theta) = setup(act, 3, 4, 3);
            for (outer, p) in outers(&p, 3) {
                let g = Eval::new(&p, a, &theta, 3).sharpness_gradient(&p);
                let r = |t: &[f64]| Eval::new(&p, a, t, 3).sharpness_r(&p);
                for k in 0..theta.len() {
                    assert_close(
                        g[k],
                        partial(&r, &theta, k, 1e-6),
                        1e-7,
                        &format!("{act} {outer} ∂R/∂θ[{k}]"),
                    );
                }
            }
        }
    }

    /// R is the trace of the Hessian's Gauss–Newton part (2/n)ΣJᵢJᵢᵀ, with
    /// the rows of J as finite differences of the outputs: this pins the
    /// a_j² of R to the network f = Σ a_j φ.
    #[test]
    fn sharpness_is_the_trace_of_the_gauss_newton_part_by_finite_differences() {
        for act in ACTS {
            let (p, a, theta) = setup(act, 3, 4, 3);
            for (outer, p) in outers(&p, 3) {
                let mut gauss_newton = 0.0;
                for i in 0..p.n {
                    let fi = |t: &[f64]| Eval::new(&p, a, t, 3).resid[i];
                    for k in 0..theta.len() {
                        gauss_newton += partial(&fi, &theta, k, 1e-6).powi(2);
                    }
                }
                let r = Eval::new(&p, a, &theta, 3).sharpness_r(&p);
                let want = 2.0 * gauss_newton / p.n as f64;
                assert_close(r, want, 1e-7, &format!("{act} {outer} R"));
            }
        }
    }

    /// The finite-difference Hessian: columns are central differences of ∇L.
    fn fd_hessian(p: &Problem, a: Activation, theta: &[f64], m: usize) -> Vec<Vec<f64>> {
        let h = 1e-5;
        (0..theta.len())
            .map(|k| {
                let mut t = theta.to_vec();
                t[k] += h;
                let up = loss_gradient(p, a, &t, m);
                t[k] -= 2.0 * h;
                let down = loss_gradient(p, a, &t, m);
                up.iter()
                    .zip(down)
                    .map(|(u, d)| (u - d) / (2.0 * h))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn hessian_and_its_trace_match_finite_differences() {
        for act in ACTS {
            let (p, a, theta) = setup(act, 3, 2, 4);
            for (outer, p) in outers(&p, 3) {
                let e = Eval::new(&p, a, &theta, 3);
                let h = e.hessian(&p);
                let fd = fd_hessian(&p, a, &theta, 3);
                let mut fd_trace = 0.0;
                for (k, col) in fd.iter().enumerate() {
                    fd_trace += col[k];
                    for (l, v) in col.iter().enumerate() {
                        assert_close(h[(l, k)], *v, 1e-6, &format!("{act} {outer} H[{l},{k}]"));
                    }
                }
                let what = format!("{act} {outer} tr H");
                assert_close(e.trace_hessian(&p), fd_trace, 1e-6, &what);
            }
        }
    }

    #[test]
    fn jacobian_matches_finite_differences_of_outputs() {
        let (p, a, theta) = setup(crate::ActivationName::CubicLinear, 3, 4, 3);
        for (outer, p) in outers(&p, 3) {
            let e = Eval::new(&p, a, &theta, 3);
            let v: Vec<f64> = (0..theta.len()).map(|k| (k as f64 * 0.7).sin()).collect();
            let jv = e.jacobian(&p, &v);
            for i in 0..p.n {
                let fi = |t: &[f64]| Eval::new(&p, a, t, 3).resid[i];
                let mut u = vec![0.0; p.n];
                u[i] = 1.0;
                let row = e.jacobian_t(&p, &u);
                let mut fd_jv = 0.0;
                for k in 0..theta.len() {
                    let fd = partial(&fi, &theta, k, 1e-6);
                    fd_jv += fd * v[k];
                    assert_close(row[k], fd, 1e-7, &format!("{outer} J[{i},{k}]"));
                }
                assert_close(jv[i], fd_jv, 1e-7, &format!("{outer} (Jv)[{i}]"));
            }
        }
    }

    #[test]
    fn tangent_projection_is_a_projection_orthogonal_to_the_jacobian() {
        let (p, a, theta) = setup(crate::ActivationName::CubicLinear, 4, 5, 3);
        for (outer, p) in outers(&p, 4) {
            let e = Eval::new(&p, a, &theta, 4);
            let v: Vec<f64> = (0..theta.len())
                .map(|k| ((k * 7 + 3) % 11) as f64 - 5.0)
                .collect();
            let pv = e.project_tangent(&p, &v).unwrap();
            // The outputs do not move along P_T v, to first order: (f(Θ + h P_T v)
            // − f(Θ − h P_T v)) / 2h = J P_T v = 0.
            let h = 1e-6;
            let shifted = |s: f64| -> Vec<f64> {
                let t: Vec<f64> = theta.iter().zip(&pv).map(|(t, d)| t + s * d).collect();
                Eval::new(&p, a, &t, 4).resid
            };
            let (up, down) = (shifted(h), shifted(-h));
            for i in 0..p.n {
                let fd = (up[i] - down[i]) / (2.0 * h);
                assert!(fd.abs() < 1e-6, "{outer}: FD of f_{i} along P_T v = {fd}");
            }
            // J P_T v = 0, i.e. P_T Jᵀ = 0 transposed.
            for (i, jv) in e.jacobian(&p, &pv).iter().enumerate() {
                assert!(jv.abs() < 1e-10, "{outer}: (J P_T v)[{i}] = {jv}");
            }
            // P_T Jᵀ u = 0 for every u.
            for i in 0..p.n {
                let mut u = vec![0.0; p.n];
                u[i] = 1.0;
                let ptj = e.project_tangent(&p, &e.jacobian_t(&p, &u)).unwrap();
                assert!(
                    ptj.iter().all(|x| x.abs() < 1e-10),
                    "{outer}: P_T Jᵀ e_{i} = {ptj:?}"
                );
            }
            // P_T² = P_T.
            let ppv = e.project_tangent(&p, &pv).unwrap();
            for (x, y) in pv.iter().zip(&ppv) {
                assert!((x - y).abs() < 1e-10);
            }
        }
    }
}
