//! The Riemannian gradient flow of the sharpness R on the zero-loss
//! manifold M ([G24] eq. 3, docs/science.md §5.3): `dΘ/dt = −P_T(Θ)∇R(Θ)`, the
//! η → 0 limit of label-noise SGD, integrated so it can be laid beside it.
//!
//! * Phase 1, reaching M: plain GD with step η from Θ₀ until the clean loss
//!   is at most [`APPROACH_LOSS`] (or `flow_tol`, if larger), then a
//!   Gauss–Newton retraction to `loss ≤ flow_tol`. If the retraction fails
//!   GD simply continues. Each GD step counts as a step; t is undefined.
//! * Phase 2, the flow: explicit Euler on M, `Θ ← Retr(Θ − h P_T∇R)`, with
//!   the Gauss–Newton retraction `Θ ← Θ − Jᵀ(JJᵀ)⁻¹(F(Θ) − y)` iterated
//!   until `loss ≤ flow_tol` (n×n solves with `JJᵀ = (XXᵀ)∘(φ'φ'ᵀ)`).
//!   Each accepted step counts as a step and advances t by h.
//!
//! The adaptive rule for h (starting at, and never above, `flow_h`, which
//! so bounds Euler's O(h) error in time): a candidate is accepted
//! when its retraction converges within [`RETRACTION_ITERS`] iterations and
//! either R decreases by Armijo's sufficient amount,
//! `R' ≤ R − 10⁻⁴ h‖P_T∇R‖²`, or (once such decreases are below R's
//! rounding) R does not rise beyond rounding, `R' ≤ R(1 + 16ε)`, while the
//! Riemannian gradient norm falls. On acceptance h grows by [`GROW`] (up to
//! `flow_h`);
//! otherwise h halves and the step is retried, at most [`MAX_HALVINGS`]
//! times, after which the step is a null step (Θ and t unchanged: the flow
//! is stationary to working precision).
//!
//! A step that leaves Θ and h as they were, bit for bit (a null step, or
//! an accepted one too small to change Θ at h's cap), would be repeated
//! by every later step, so the run ends there as `finished` with stop
//! reason `stationary`. So does a run whose Θ no step has changed for
//! [`STILL_STEPS`] steps in a row: there the steps small enough to be
//! accepted no longer move Θ by a rounding unit and the larger ones are
//! rejected, so h cycles between them below its cap forever (and the flow
//! time with it) while Θ stays where it is.

use super::contract::{Dynamics, diverged};
use crate::activation::Activation;
use crate::config::RunConfig;
use crate::data::Problem;
use crate::model::Eval;
use crate::state::{RunState, Status, StopReason};

/// Plain GD hands over to the Gauss–Newton retraction below this loss.
pub const APPROACH_LOSS: f64 = 1e-8;
/// Gauss–Newton iterations a retraction may take.
pub const RETRACTION_ITERS: usize = 10;
/// h grows by this factor after an accepted step.
pub const GROW: f64 = 1.2;
/// Halvings of h within one step before it becomes a null step.
pub const MAX_HALVINGS: usize = 50;
/// Steps in a row that leave Θ unchanged, bit for bit, after which the
/// flow is stationary to working precision although h still changes: h
/// climbs back by [`GROW`] within four steps of a halving, so these are
/// some sixteen rounds of h trying every size from the largest step that
/// fails to half of it.
pub const STILL_STEPS: u32 = 64;
/// Armijo's sufficient-decrease constant.
const ARMIJO: f64 = 1e-4;

pub struct Flow {
    act: Activation,
    m: usize,
    eta: f64,
    tol: f64,
    h0: f64,
    diverge_loss: f64,
}

impl Flow {
    pub fn new(c: &RunConfig) -> Self {
        Self {
            act: c.activation(),
            m: c.m,
            eta: c.eta,
            tol: c.flow_tol,
            h0: c.flow_h,
            diverge_loss: c.diverge_loss,
        }
    }

    fn eval(&self, p: &Problem, theta: &[f64]) -> Eval {
        Eval::new(p, self.act, theta, self.m)
    }

    /// Gauss–Newton onto M: the evaluation at the retracted point, or `None`
    /// when it does not reach `loss ≤ flow_tol` within the allowed
    /// iterations (or JJᵀ is singular on the way).
    pub fn retract(&self, p: &Problem, theta: &mut [f64]) -> Option<Eval> {
        for iteration in 0..=RETRACTION_ITERS {
            let e = self.eval(p, theta);
            let loss = e.loss();
            if loss <= self.tol {
                return Some(e);
            }
            if !loss.is_finite() || iteration == RETRACTION_ITERS {
                return None;
            }
            let a = e.solve_normal(p, &e.resid).ok()?;
            for (t, s) in theta.iter_mut().zip(e.jacobian_t(p, &a)) {
                *t -= s;
            }
        }
        None
    }

    /// `P_T∇R` at an evaluation on M.
    fn riemannian_gradient(&self, p: &Problem, e: &Eval) -> Option<Vec<f64>> {
        e.project_tangent(p, &e.sharpness_gradient(p)).ok()
    }

    /// One GD step towards M, or the hand-over to the flow.
    fn approach(&self, p: &Problem, state: &mut RunState) {
        let e = self.eval(p, &state.theta);
        let loss = e.loss();
        state.step += 1;
        if loss <= APPROACH_LOSS.max(self.tol) {
            let mut theta = state.theta.clone();
            if self.retract(p, &mut theta).is_some() {
                state.theta = theta;
                state.on_manifold = true;
                state.flow_h = self.h0;
                state.time = 0.0;
                return;
            }
        }
        if diverged(state, loss, self.diverge_loss) {
            return;
        }
        let g = e.loss_gradient(p);
        for (t, gk) in state.theta.iter_mut().zip(g) {
            *t -= self.eta * gk;
        }
    }

    /// One accepted (or null) step of the flow on M.
    fn flow_step(&self, p: &Problem, state: &mut RunState) {
        state.step += 1;
        let e = self.eval(p, &state.theta);
        let Some(g) = self.riemannian_gradient(p, &e) else {
            // JJᵀ singular: the manifold is not smooth here; nothing to follow.
            state.diverge();
            return;
        };
        let g2: f64 = g.iter().map(|v| v * v).sum();
        let r0 = e.sharpness_r(p);
        let mut h = state.flow_h;
        for _ in 0..=MAX_HALVINGS {
            let mut cand: Vec<f64> = state
                .theta
                .iter()
                .zip(&g)
                .map(|(t, gk)| t - h * gk)
                .collect();
            if let Some(e1) = self.retract(p, &mut cand) {
                let r1 = e1.sharpness_r(p);
                let sufficient = r1 <= r0 - ARMIJO * h * g2;
                let level = r1 <= r0 * (1.0 + 16.0 * f64::EPSILON);
                let flatter = || {
                    self.riemannian_gradient(p, &e1)
                        .is_some_and(|g1| g1.iter().map(|v| v * v).sum::<f64>() < g2)
                };
                if sufficient || (level && flatter()) {
                    state.theta = cand;
                    state.time += h;
                    state.flow_h = (h * GROW).min(self.h0);
                    return;
                }
            }
            h *= 0.5;
        }
    }
}

/// The bit patterns of `v`, which compare equal only when every value
/// is the same to the last bit (unlike `==` on -0.0 and 0.0).
fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

impl Dynamics for Flow {
    fn advance(&mut self, problem: &Problem, state: &mut RunState, steps: u64) {
        for _ in 0..steps {
            if state.on_manifold {
                let (theta, h) = (bits(&state.theta), state.flow_h.to_bits());
                self.flow_step(problem, state);
                let still = bits(&state.theta) == theta;
                state.flow_still = if still { state.flow_still + 1 } else { 0 };
                // The step is a function of (Θ, h) alone: if it left both
                // as they were, so will every later one.
                let fixed = still && state.flow_h.to_bits() == h;
                if state.status == Status::Running && (fixed || state.flow_still >= STILL_STEPS) {
                    state.stop_early(StopReason::Stationary);
                }
            } else {
                self.approach(problem, state);
            }
            if state.status != Status::Running {
                return;
            }
        }
    }

    /// The flow time t since M was reached; NaN before.
    fn time(&self, state: &RunState) -> f64 {
        if state.on_manifold {
            state.time
        } else {
            f64::NAN
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Trainer;
    use crate::config::{AlgorithmName, DataGen, Source};
    use crate::dynamics::LabelNoise;
    use crate::metrics::Metrics;
    use crate::model::Eval;

    /// [G24] Assumptions 3.1–3.2: φ = z³ + z (φ' ≥ 1, φ''' = 6), orthonormal
    /// rows, n ≤ d.
    fn theory_setting() -> RunConfig {
        RunConfig {
            algorithm: AlgorithmName::Flow,
            m: 4,
            d: 5,
            n: 3,
            data: Source::Generate(DataGen::Orthonormal),
            steps: 1500,
            log_points: 10,
            log_every: Some(1),
            seed: 2,
            ..Default::default()
        }
    }

    fn records(c: &RunConfig) -> Vec<Metrics> {
        let mut t = Trainer::new(c).unwrap();
        let mut out = Vec::new();
        t.run(|r| out.push(r.clone()));
        assert_eq!(t.state().status, crate::Status::Finished);
        out
    }

    #[test]
    fn flow_stays_on_the_manifold_and_decreases_r_monotonically() {
        let c = theory_setting();
        let rs = records(&c);
        let on: Vec<&Metrics> = rs.iter().filter(|r| !r.time.is_nan()).collect();
        assert!(
            on.len() > 1000,
            "reached M after {} GD steps",
            rs.len() - on.len()
        );
        for w in on.windows(2) {
            assert!(
                w[1].loss <= c.flow_tol,
                "loss {} at step {}",
                w[1].loss,
                w[1].step
            );
            assert!(w[1].time >= w[0].time);
            assert!(
                w[1].sharpness_r <= w[0].sharpness_r * (1.0 + 1e-13),
                "R rose from {} to {} at step {}",
                w[0].sharpness_r,
                w[1].sharpness_r,
                w[1].step
            );
        }
        assert!(on[0].sharpness_r - on.last().unwrap().sharpness_r > 0.1);
    }

    /// With a second layer of mixed signs the flow follows the manifold of
    /// f = Σ_j a_j φ: it stays on it (its retraction and projection carry
    /// a), R — with its a_j² — never rises, and no distance to Theorem 3.3's
    /// optimum is recorded (the theorem is about a = 1).
    #[test]
    fn flow_with_an_alternating_second_layer_stays_on_its_manifold_and_decreases_r() {
        let c = RunConfig {
            outer: Source::Generate(crate::config::OuterGen::Alternating),
            steps: 400,
            ..theory_setting()
        };
        let rs = records(&c);
        let on: Vec<&Metrics> = rs.iter().filter(|r| !r.time.is_nan()).collect();
        assert!(
            on.len() > 100,
            "reached M after {} steps",
            rs.len() - on.len()
        );
        for w in on.windows(2) {
            assert!(
                w[1].loss <= c.flow_tol,
                "loss {} at {}",
                w[1].loss,
                w[1].step
            );
            assert!(w[1].sharpness_r <= w[0].sharpness_r * (1.0 + 1e-13));
            assert!(w[1].dist_to_optimum.is_nan());
        }
        assert!(on[0].sharpness_r > on.last().unwrap().sharpness_r);
    }

    #[test]
    fn flow_converges_to_theorem_3_3_optimum_linearly_as_theorem_3_5_says() {
        let c = theory_setting();
        let rs = records(&c);
        let last = rs.last().unwrap();
        assert!(
            last.dist_to_optimum < 1e-8,
            "max|z − z*| = {}",
            last.dist_to_optimum
        );
        // log‖P_T∇R‖ against t over the final approach (above the rounding
        // floor): a straight line with negative slope.
        let tail: Vec<(f64, f64)> = rs
            .iter()
            .filter(|r| r.time > 0.5 && r.riem_grad_norm > 1e-9 && r.riem_grad_norm < 1e-2)
            .map(|r| (r.time, r.riem_grad_norm.ln()))
            .collect();
        assert!(
            tail.len() >= 20,
            "{} points in the linear phase",
            tail.len()
        );
        let k = tail.len() as f64;
        let (mt, my) = (
            tail.iter().map(|p| p.0).sum::<f64>() / k,
            tail.iter().map(|p| p.1).sum::<f64>() / k,
        );
        let sxy: f64 = tail.iter().map(|p| (p.0 - mt) * (p.1 - my)).sum();
        let sxx: f64 = tail.iter().map(|p| (p.0 - mt).powi(2)).sum();
        let syy: f64 = tail.iter().map(|p| (p.1 - my).powi(2)).sum();
        let slope = sxy / sxx;
        let r2 = sxy * sxy / (sxx * syy);
        assert!(slope < 0.0 && r2 > 0.99, "slope {slope}, R² {r2}");
    }

    /// The time scaling of docs/dynamics.md: label-noise GD with step η and
    /// noise σ, started on M, has after k steps the R (of its iterate
    /// retracted to M) that the flow has at `t = kη²σ²/(2n)`, and not the
    /// R at t/2 or 2t, as a wrong constant would give.
    #[test]
    fn label_noise_gd_follows_the_flow_on_the_clock_k_eta2_sigma2_over_2n() {
        let flow_c = RunConfig {
            flow_h: 1e-3,
            ..theory_setting()
        };
        let trainer = Trainer::new(&flow_c).unwrap();
        let p = trainer.problem().clone();
        let mut flow = Flow::new(&flow_c);
        let mut state = trainer.state().clone();
        while !state.on_manifold {
            flow.advance(&p, &mut state, 1);
        }
        let start = state.theta.clone();
        let r_at =
            |theta: &[f64]| Eval::new(&p, flow_c.activation(), theta, flow_c.m).sharpness_r(&p);
        let mut path = vec![(0.0, r_at(&start))];
        while state.time < 0.8 {
            flow.advance(&p, &mut state, 1);
            path.push((state.time, r_at(&state.theta)));
        }
        let r_flow = |t: f64| {
            let k = path.partition_point(|q| q.0 < t).clamp(1, path.len() - 1);
            let ((t0, r0), (t1, r1)) = (path[k - 1], path[k]);
            r0 + (r1 - r0) * (t - t0) / (t1 - t0)
        };

        let sgd_c = RunConfig {
            algorithm: AlgorithmName::LabelNoise,
            eta: 0.01,
            sigma: 0.5,
            ..theory_setting()
        };
        let dt = sgd_c.eta.powi(2) * sgd_c.sigma.powi(2) / (2.0 * p.n as f64);
        let times = [0.05, 0.1, 0.2];
        let seeds = 4;
        let mut mean = [0.0; 3];
        for seed in 0..seeds {
            let mut sgd = LabelNoise::new(&sgd_c);
            let mut s = RunState::start(
                flow_c.run_id(),
                start.clone(),
                Vec::new(),
                crate::rng::Streams::from_seed(100 + seed),
            );
            for (slot, &t) in mean.iter_mut().zip(&times) {
                let k = (t / dt).round() as u64;
                let todo = k - s.step;
                sgd.advance(&p, &mut s, todo);
                assert_eq!(s.status, crate::Status::Running);
                let mut on_m = s.theta.clone();
                assert!(flow.retract(&p, &mut on_m).is_some());
                *slot += r_at(&on_m) / seeds as f64;
            }
        }
        for (&t, &r) in times.iter().zip(&mean) {
            let (want, half, double) = (r_flow(t), r_flow(t / 2.0), r_flow(2.0 * t));
            let moved = path[0].1 - want;
            eprintln!("t {t}: SGD R {r}, flow R {want} (t/2: {half}, 2t: {double})");
            assert!(
                (r - want).abs() < 0.1 * moved,
                "t = {t}: label-noise R {r} vs flow R {want} (flow moved {moved})"
            );
            assert!((r - want).abs() < (r - half).abs().min((r - double).abs()) / 2.0);
        }
    }
}
