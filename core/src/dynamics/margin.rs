//! [L21]: gradient descent on a two-layer leaky-ReLU net with both layers
//! trained and the logistic loss (docs/science.md §5.5):
//!
//! `f(x) = Σ_k a_k φ(w_kᵀx)`, `φ(z) = max(z, αz)`,
//! `L(θ) = (1/n) Σ_i ln(1 + exp(−y_i f(x_i)))`, `θ = (W, a)`,
//! `θ ← θ − η_k ∇L(θ)` with `η_k = η` (or the schedule's η_k), divided by
//! L(θ) when `loss_scaled_lr`.
//!
//! W is the run's Θ (m×d), a its `second_layer`. The loss and its gradient
//! are evaluated scaled by `exp(min_i y_i f_i)` when that is positive, so
//! `∇L/L` stays exact long after L itself underflows.
//!
//! Also here: the hard-margin linear SVM through the origin (the max-margin
//! linear classifier the theory compares with) and the margin metrics.

use super::contract::{Dynamics, diverged};
use crate::anneal::Anneal;
use crate::config::RunConfig;
use crate::data::Problem;
use crate::state::RunState;
use faer::Mat;

pub struct Margin {
    m: usize,
    alpha: f64,
    eta: f64,
    /// The η schedule, if any (anneal.rs).
    anneal: Option<Anneal>,
    loss_scaled_lr: bool,
    diverge_loss: f64,
    z: Vec<f64>,
}

impl Margin {
    pub fn new(c: &RunConfig) -> Self {
        Self {
            m: c.m,
            alpha: c.alpha,
            eta: c.eta,
            anneal: c.anneal(),
            loss_scaled_lr: c.loss_scaled_lr,
            diverge_loss: c.diverge_loss,
            z: vec![0.0; c.n * c.m],
        }
    }

    fn step(&mut self, p: &Problem, state: &mut RunState) {
        let (m, d, n) = (self.m, p.d, p.n);
        let alpha = self.alpha;
        let q = outputs(p, &state.theta, &state.second_layer, alpha, &mut self.z);
        let q_min = q.iter().copied().fold(f64::INFINITY, f64::min);
        let shift = if self.loss_scaled_lr {
            q_min.max(0.0)
        } else {
            0.0
        };
        // Per example: e^shift·ℓ(q_i) and e^shift·σ(−q_i) = −e^shift·ℓ'(q_i).
        let mut scaled_loss = 0.0;
        let mut weight = vec![0.0; n];
        for (wi, &qi) in weight.iter_mut().zip(&q) {
            let (l, s) = scaled_logistic(qi, shift);
            scaled_loss += l / n as f64;
            *wi = s;
        }
        let loss = scaled_loss * (-shift).exp();
        let eta = self.anneal.map_or(self.eta, |a| a.eta(state.step));
        state.step += 1;
        if diverged(
            state,
            if q_min.is_nan() { f64::NAN } else { loss },
            self.diverge_loss,
        ) {
            return;
        }
        let rate = if self.loss_scaled_lr {
            eta / scaled_loss
        } else {
            eta
        };
        let (w, a) = (&mut state.theta, &mut state.second_layer);
        // ∂L/∂f_i = −y_i σ(−q_i)/n; ∂f/∂a_k = φ(z_ik); ∂f/∂w_k = a_k φ'(z_ik) x_i.
        let mut ga = vec![0.0; m];
        let mut gw = vec![0.0; m * d];
        for i in 0..n {
            let u = -p.y[i] * weight[i] / n as f64;
            let xi = p.row(i);
            for k in 0..m {
                let z = self.z[i * m + k];
                let (phi, dphi) = if z > 0.0 {
                    (z, 1.0)
                } else {
                    (alpha * z, alpha)
                };
                ga[k] += u * phi;
                let c = u * a[k] * dphi;
                for (g, x) in gw[k * d..(k + 1) * d].iter_mut().zip(xi) {
                    *g += c * x;
                }
            }
        }
        for (t, g) in w.iter_mut().zip(gw) {
            *t -= rate * g;
        }
        for (t, g) in a.iter_mut().zip(ga) {
            *t -= rate * g;
        }
        // Gradient-flow time advances by the actual step size, η/L when
        // loss-scaled (which overflows to +∞ once L underflows far enough).
        state.time += rate * shift.exp();
    }
}

/// `(e^shift·ln(1+e^{−q}), e^shift·σ(−q))`, exact where the unscaled values
/// would underflow; `shift ≤ max(q, 0)`.
fn scaled_logistic(q: f64, shift: f64) -> (f64, f64) {
    if q >= 0.0 {
        let u = (-q).exp();
        let scale = (shift - q).exp();
        // ln(1+u)/u → 1 as u → 0.
        let ratio = if u > 0.0 { u.ln_1p() / u } else { 1.0 };
        (scale * ratio, scale / (1.0 + u))
    } else {
        let e = q.exp();
        (e.ln_1p() - q, 1.0 / (1.0 + e))
    }
}

/// `Z = XWᵀ` into `z` and the margins `y_i f(x_i)`.
fn outputs(p: &Problem, w: &[f64], a: &[f64], alpha: f64, z: &mut [f64]) -> Vec<f64> {
    let m = a.len();
    crate::data::preactivations(&p.x, w, p.n, p.d, m, z);
    (0..p.n)
        .map(|i| {
            let f: f64 = z[i * m..(i + 1) * m]
                .iter()
                .zip(a)
                .map(|(&v, &ak)| ak * if v > 0.0 { v } else { alpha * v })
                .sum();
            p.y[i] * f
        })
        .collect()
}

/// The logistic loss `(1/n) Σ ln(1 + e^{−y_i f(x_i)})` of the net (W, a).
pub fn logistic_loss(p: &Problem, w: &[f64], a: &[f64], alpha: f64) -> f64 {
    let mut z = vec![0.0; p.n * a.len()];
    outputs(p, w, a, alpha, &mut z)
        .iter()
        .map(|&q| scaled_logistic(q, 0.0).0)
        .sum::<f64>()
        / p.n as f64
}

impl Dynamics for Margin {
    fn advance(&mut self, problem: &Problem, state: &mut RunState, steps: u64) {
        for _ in 0..steps {
            self.step(problem, state);
            if state.diverged_at.is_some() {
                return;
            }
        }
    }

    /// Gradient-flow time: the sum of the step sizes taken.
    fn time(&self, state: &RunState) -> f64 {
        state.time
    }
}

/// The hard-margin linear classifier through the origin:
/// `max_{‖w‖=1} min_i y_i wᵀx_i`.
#[derive(Clone, Debug, PartialEq)]
pub struct MaxMargin {
    /// γ* = min_i y_i wᵀx_i at the optimum.
    pub margin: f64,
    /// The unit max-margin direction w*.
    pub direction: Vec<f64>,
}

/// Dual coordinate ascent sweeps before the SVM counts as infeasible.
const SVM_SWEEPS: usize = 200_000;
/// KKT tolerance of the SVM on the scaled constraints `y_i wᵀx_i ≥ 1`.
const SVM_TOL: f64 = 1e-12;

/// Solves `min ½‖w‖² s.t. y_i wᵀx_i ≥ 1` exactly: dual coordinate ascent
/// (`α_i ← max(0, α_i + (1 − y_i wᵀx_i)/‖x_i‖²)`, `w = Σ α_i y_i x_i`) to
/// KKT tolerance 1e-12, then an active-set polish that solves the support
/// vectors' equalities directly when that keeps every α ≥ 0 and every
/// constraint. `None` when the data are not linearly separable through
/// the origin (the dual is unbounded) or a row is zero.
pub fn max_margin(p: &Problem) -> Option<MaxMargin> {
    let (n, d) = (p.n, p.d);
    if p.row_norm2.iter().any(|&r| r <= 0.0) {
        return None;
    }
    let mut alpha = vec![0.0; n];
    let mut w = vec![0.0; d];
    let dot = |w: &[f64], i: usize| -> f64 { w.iter().zip(p.row(i)).map(|(a, b)| a * b).sum() };
    let mut converged = false;
    for _ in 0..SVM_SWEEPS {
        let mut violation = 0.0f64;
        for i in 0..n {
            let slack = 1.0 - p.y[i] * dot(&w, i);
            let v = if alpha[i] > 0.0 {
                slack.abs()
            } else {
                slack.max(0.0)
            };
            violation = violation.max(v);
            let new = (alpha[i] + slack / p.row_norm2[i]).max(0.0);
            let delta = (new - alpha[i]) * p.y[i];
            if delta != 0.0 {
                for (wk, xk) in w.iter_mut().zip(p.row(i)) {
                    *wk += delta * xk;
                }
            }
            alpha[i] = new;
        }
        if !w.iter().all(|v| v.is_finite()) || w.iter().map(|v| v * v).sum::<f64>() > 1e24 {
            return None;
        }
        if violation <= SVM_TOL {
            converged = true;
            break;
        }
    }
    if !converged {
        return None;
    }
    if let Some(polished) = polish(p, &alpha) {
        w = polished;
    }
    let norm = w.iter().map(|v| v * v).sum::<f64>().sqrt();
    let direction: Vec<f64> = w.iter().map(|v| v / norm).collect();
    let margin = (0..n)
        .map(|i| p.y[i] * dot(&direction, i))
        .fold(f64::INFINITY, f64::min);
    Some(MaxMargin { margin, direction })
}

/// Solves `y_i wᵀx_i = 1` on the support `{α_i > 0}` with `w = Σ α_j y_j x_j`;
/// the new w if the solution is feasible and optimal (α ≥ 0, all
/// constraints met to rounding).
fn polish(p: &Problem, alpha: &[f64]) -> Option<Vec<f64>> {
    let support: Vec<usize> = (0..p.n).filter(|&i| alpha[i] > 0.0).collect();
    let s = support.len();
    if s == 0 {
        return None;
    }
    let gram = Mat::from_fn(s, s, |a, b| {
        let (i, j) = (support[a], support[b]);
        p.y[i]
            * p.y[j]
            * p.row(i)
                .iter()
                .zip(p.row(j))
                .map(|(u, v)| u * v)
                .sum::<f64>()
    });
    let ones = Mat::from_fn(s, 1, |_, _| 1.0);
    let sol = faer::linalg::solvers::Solve::solve(&gram.full_piv_lu(), &ones);
    let mut w = vec![0.0; p.d];
    for (a, &i) in support.iter().enumerate() {
        let ai = sol[(a, 0)];
        if ai.is_nan() || ai < 0.0 {
            return None;
        }
        for (wk, xk) in w.iter_mut().zip(p.row(i)) {
            *wk += ai * p.y[i] * xk;
        }
    }
    let ok = (0..p.n).all(|i| {
        let q = p.y[i] * w.iter().zip(p.row(i)).map(|(a, b)| a * b).sum::<f64>();
        q >= 1.0 - 1e-12
    });
    ok.then_some(w)
}

/// \[L21\]'s margin metrics of the net (W, a) on its data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MarginStats {
    /// `min_i y_i f(x_i) / ‖θ‖²`, θ = (W, a).
    pub normalized: f64,
    /// γ* of the max-margin linear classifier ([`max_margin`]).
    pub svm: f64,
    /// `normalized / ((1+α)γ*/4)`: 1 is the largest normalised margin any
    /// net attains on symmetric data, reached by the max-margin linear one.
    pub ratio: f64,
    /// Angle (radians) between the net's linear part
    /// `β = ((1+α)/2) Σ_k a_k w_k` and w*.
    pub angle: f64,
}

impl MarginStats {
    pub fn of(p: &Problem, w: &[f64], a: &[f64], alpha: f64, svm: Option<&MaxMargin>) -> Self {
        let (m, d) = (a.len(), p.d);
        let mut z = vec![0.0; p.n * m];
        let q_min = outputs(p, w, a, alpha, &mut z)
            .into_iter()
            .fold(f64::INFINITY, f64::min);
        let norm2: f64 = w.iter().chain(a).map(|v| v * v).sum();
        let normalized = q_min / norm2;
        let mut beta = vec![0.0; d];
        for k in 0..m {
            for (b, wk) in beta.iter_mut().zip(&w[k * d..(k + 1) * d]) {
                *b += 0.5 * (1.0 + alpha) * a[k] * wk;
            }
        }
        let (svm_margin, ratio, angle) = match svm {
            Some(s) => {
                // 2·atan2(‖b̂ − ŵ‖, ‖b̂ + ŵ‖): accurate for small angles too;
                // β is scaled by its largest entry first so its norm cannot
                // overflow however large the weights grow.
                let big = beta.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                beta.iter_mut().for_each(|v| *v /= big);
                let bn = beta.iter().map(|v| v * v).sum::<f64>().sqrt();
                let (mut minus, mut plus) = (0.0, 0.0);
                for (b, u) in beta.iter().zip(&s.direction) {
                    minus += (b / bn - u).powi(2);
                    plus += (b / bn + u).powi(2);
                }
                (
                    s.margin,
                    normalized / ((1.0 + alpha) * s.margin / 4.0),
                    2.0 * minus.sqrt().atan2(plus.sqrt()),
                )
            }
            None => (f64::NAN, f64::NAN, f64::NAN),
        };
        Self {
            normalized,
            svm: svm_margin,
            ratio,
            angle,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AlgorithmName, DataGen, LabelGen, Source};
    use crate::rng::Streams;
    use crate::{ActivationName, Trainer};

    fn problem(d: usize, points: &[(&[f64], f64)]) -> Problem {
        let x = points.iter().flat_map(|p| p.0.iter().copied()).collect();
        let y = points.iter().map(|p| p.1).collect();
        Problem::new(points.len(), d, x, y)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn max_margin_of_two_points_is_half_their_distance() {
        let p = problem(2, &[(&[1.0, 0.0], 1.0), (&[0.0, 1.0], -1.0)]);
        let s = max_margin(&p).unwrap();
        assert!(close(s.margin, 0.5f64.sqrt()), "{}", s.margin);
        let r = 0.5f64.sqrt();
        assert!(
            close(s.direction[0], r) && close(s.direction[1], -r),
            "{:?}",
            s.direction
        );
    }

    #[test]
    fn max_margin_of_symmetric_sets_matches_their_analytic_margin() {
        // {±(1,0)}, {±(0,1)} with labels ±1: w* = (1,1)/√2, γ* = 1/√2.
        let p = problem(
            2,
            &[
                (&[1.0, 0.0], 1.0),
                (&[-1.0, 0.0], -1.0),
                (&[0.0, 1.0], 1.0),
                (&[0.0, -1.0], -1.0),
            ],
        );
        assert!(close(max_margin(&p).unwrap().margin, 0.5f64.sqrt()));
        // ±(3, ±1): w* = (1, 0), γ* = 3, with a non-support point ±(5, 0).
        let p = problem(
            2,
            &[
                (&[3.0, 1.0], 1.0),
                (&[-3.0, -1.0], -1.0),
                (&[3.0, -1.0], 1.0),
                (&[-3.0, 1.0], -1.0),
                (&[5.0, 0.0], 1.0),
                (&[-5.0, 0.0], -1.0),
            ],
        );
        let s = max_margin(&p).unwrap();
        assert!(close(s.margin, 3.0) && close(s.direction[0], 1.0), "{s:?}");
        // Not separable through the origin: x and −x with the same label.
        let p = problem(2, &[(&[1.0, 0.5], 1.0), (&[-1.0, -0.5], 1.0)]);
        assert!(max_margin(&p).is_none());
    }

    #[test]
    fn max_margin_beats_every_random_direction_on_generated_data() {
        let c = RunConfig {
            algorithm: AlgorithmName::Margin,
            activation: ActivationName::LeakyRelu,
            n: 40,
            d: 4,
            data: Source::Generate(DataGen::Separable),
            labels: Source::Generate(LabelGen::FromData),
            ..Default::default()
        };
        let p = Problem::build(&c, &mut Streams::from_seed(5)).unwrap();
        let s = max_margin(&p).unwrap();
        assert!(s.margin >= crate::config::SEPARABLE_GAP - 1e-12);
        let mut rng = Streams::from_seed(6).noise;
        for _ in 0..2000 {
            let mut u: Vec<f64> = (0..4).map(|_| crate::rng::normal(&mut rng)).collect();
            let norm = u.iter().map(|v| v * v).sum::<f64>().sqrt();
            u.iter_mut().for_each(|v| *v /= norm);
            let m = (0..p.n)
                .map(|i| p.y[i] * u.iter().zip(p.row(i)).map(|(a, b)| a * b).sum::<f64>())
                .fold(f64::INFINITY, f64::min);
            assert!(m <= s.margin + 1e-12);
        }
    }

    fn margin_config(data: DataGen) -> RunConfig {
        RunConfig {
            algorithm: AlgorithmName::Margin,
            activation: ActivationName::LeakyRelu,
            alpha: 0.1,
            n: 20,
            d: 5,
            m: 8,
            eta: 0.003,
            init_scale: 0.01,
            loss_scaled_lr: true,
            data: Source::Generate(data),
            labels: Source::Generate(LabelGen::FromData),
            steps: 30_000,
            log_points: 30,
            ..Default::default()
        }
    }

    #[test]
    fn margin_step_is_a_gradient_step_on_the_logistic_loss_by_finite_differences() {
        let mut c = margin_config(DataGen::Separable);
        c.init_scale = 1.0;
        for scaled in [false, true] {
            c.loss_scaled_lr = scaled;
            let t = Trainer::new(&c).unwrap();
            let (p, s0) = (t.problem(), t.state().clone());
            let (m, d) = (c.m, c.d);
            // θ = (W, a) flattened; L by the independent `logistic_loss`.
            let theta: Vec<f64> = s0.theta.iter().chain(&s0.second_layer).copied().collect();
            let loss = |th: &[f64]| logistic_loss(p, &th[..m * d], &th[m * d..], c.alpha);
            let l0 = loss(&theta);
            let mut s = s0.clone();
            Margin::new(&c).advance(p, &mut s, 1);
            let rate = if scaled { c.eta / l0 } else { c.eta };
            assert!((s.time - rate).abs() < 1e-12 * rate);
            let after: Vec<f64> = s.theta.iter().chain(&s.second_layer).copied().collect();
            for k in 0..theta.len() {
                let h = 1e-6;
                let (mut up, mut down) = (theta.clone(), theta.clone());
                up[k] += h;
                down[k] -= h;
                let g = (loss(&up) - loss(&down)) / (2.0 * h);
                let want = theta[k] - rate * g;
                assert!(
                    (after[k] - want).abs() < 1e-8,
                    "θ[{k}]: {} vs {want}",
                    after[k]
                );
            }
        }
    }

    #[test]
    fn gd_on_symmetric_data_reaches_the_max_margin_linear_classifier() {
        let mut t = Trainer::new(&margin_config(DataGen::Separable)).unwrap();
        let mut ratios = Vec::new();
        let last = t.run(|r| ratios.push(r.margin.unwrap().ratio)).unwrap();
        let s = last.margin.unwrap();
        // On symmetric data no net beats (1+α)γ*/4: the ratio never exceeds 1.
        assert!(ratios.iter().all(|&r| r <= 1.0 + 1e-12), "{ratios:?}");
        assert!(s.ratio > 0.98, "normalised margin / max = {}", s.ratio);
        assert!(s.angle < 0.01, "angle to w* = {}", s.angle);
        assert!(last.loss < 1e-100);
    }

    #[test]
    fn gd_on_asymmetric_data_does_not_align_with_the_max_margin_direction() {
        let mut t = Trainer::new(&margin_config(DataGen::SeparableAsym)).unwrap();
        let s = t.run(|_| {}).unwrap().margin.unwrap();
        assert!(s.ratio > 0.0, "the data are fitted: {}", s.ratio);
        assert!(s.angle > 0.1, "angle to w* = {}", s.angle);
    }
}
