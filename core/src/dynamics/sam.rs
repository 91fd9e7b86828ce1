//! 1-SAM (docs/science.md §5.4): sharpness-aware minimisation with batch size
//! one. Step k picks one example i from the batch stream and, with
//! `ℓ_i(Θ) = (f(x_i) − y_i)²` and `g = ∇ℓ_i(Θ)`, takes
//! `Θ ← Θ − η ∇ℓ_i(Θ + ρ g/‖g‖)`, η the step's η_k under a schedule. No
//! label noise (σ is ignored).
//!
//! The ascent step moves every θ_j along x_i only, so the perturbed
//! pre-activations are `z̃_ij = z_ij + ρ·sign(r_i)·D_ij‖x_i‖/‖D_i·‖` with
//! `D_ij = a_j φ'(z_ij)` (a the fixed second layer, docs/science.md §5.4),
//! and the step costs two passes over the row instead of a second model
//! evaluation. Without a perturbation (ρ = 0, or g = 0 where its direction
//! is undefined) the floating-point operations are exactly those of the
//! label-noise kernel with B = 1 and σ = 0, so 1-SAM with ρ = 0 *is* SGD.

use super::contract::{Dynamics, diverged};
use crate::activation::{Activation, Phi};
use crate::anneal::Anneal;
use crate::config::RunConfig;
use crate::data::Problem;
use crate::kernel::{QUAD, ZERO, step_scale, striped_total};
use crate::rng;
use crate::state::RunState;
use crate::with_phi;

pub struct Sam {
    act: Activation,
    eta: f64,
    /// The η schedule, if any (anneal.rs).
    anneal: Option<Anneal>,
    rho: f64,
    diverge_loss: f64,
    /// Batch indices (the first is the step's example), as the label-noise
    /// dynamics draws them with B = 1.
    idx: Vec<usize>,
    /// z_i· and a_j φ'(z_i·) of the step's example.
    z: Vec<f64>,
    d1: Vec<f64>,
    /// The second layer a, copied from the problem at each advance.
    outer: Vec<f64>,
}

impl Sam {
    pub fn new(c: &RunConfig) -> Self {
        Self {
            act: c.activation(),
            eta: c.eta,
            anneal: c.anneal(),
            rho: c.rho,
            diverge_loss: c.diverge_loss,
            idx: (0..c.n).collect(),
            z: vec![0.0; c.m],
            d1: vec![0.0; c.m],
            outer: vec![1.0; c.m],
        }
    }

    fn advance_with<A: Phi>(&mut self, act: A, p: &Problem, state: &mut RunState, steps: u64) {
        p.fill_outer(&mut self.outer);
        for _ in 0..steps {
            if p.n > 1 {
                rng::sample_batch(&mut state.batch_rng, &mut self.idx, 1);
            }
            let i = self.idx[0];
            let eta = self.anneal.map_or(self.eta, |a| a.eta(state.step));
            let loss = sam_step(
                act,
                p,
                &self.outer,
                i,
                self.rho,
                eta,
                &mut state.theta,
                &mut self.z,
                &mut self.d1,
            );
            state.step += 1;
            if diverged(state, loss, self.diverge_loss) {
                return;
            }
        }
    }
}

/// f(x_i) − y_i with z_i· and a_j φ'(z_i·) written to `z` and `d1`,
/// summing in the label-noise kernel's order.
#[inline]
fn residual<A: Phi>(
    act: A,
    xi: &[f64],
    yi: f64,
    outer: &[f64],
    theta: &[f64],
    z: &mut [f64],
    d1: &mut [f64],
) -> f64 {
    let d = xi.len();
    let mut part = [ZERO; QUAD];
    let neurons = z.iter_mut().zip(d1.iter_mut()).zip(outer);
    for (j, ((zj, dj), a)) in neurons.enumerate() {
        let tj = &theta[j * d..(j + 1) * d];
        let mut s = ZERO;
        for k in 0..d {
            s += xi[k] * tj[k];
        }
        let (p, dp) = act.phi_d1(s);
        part[j % QUAD] += a * p;
        *zj = s;
        *dj = a * dp;
    }
    striped_total(part) - yi
}

/// One 1-SAM step on example `i` of the net with second layer `outer`
/// (m values); returns `ℓ_i(Θ)` before the step.
#[allow(clippy::too_many_arguments)]
pub(crate) fn sam_step<A: Phi>(
    act: A,
    p: &Problem,
    outer: &[f64],
    i: usize,
    rho: f64,
    eta: f64,
    theta: &mut [f64],
    z: &mut [f64],
    d1: &mut [f64],
) -> f64 {
    let (d, m) = (p.d, outer.len());
    let xi = p.row(i);
    let r = residual(act, xi, p.y[i], outer, theta, z, d1);
    let loss = r * r;
    // ‖g‖ = 2|r|·‖a ∘ φ'(z_i·)‖·‖x_i‖.
    let dnorm = d1.iter().map(|v| v * v).sum::<f64>().sqrt();
    let gnorm = r.abs() * dnorm * p.row_norm2[i].sqrt();
    let r_step = if rho > 0.0 && gnorm > 0.0 {
        let shift = rho * r.signum() * p.row_norm2[i].sqrt() / dnorm;
        let mut part = [ZERO; QUAD];
        let neurons = z.iter_mut().zip(d1.iter_mut()).zip(outer);
        for (j, ((zj, dj), a)) in neurons.enumerate() {
            let (v, dv) = act.phi_d1(*zj + shift * *dj);
            part[j % QUAD] += a * v;
            *dj = a * dv;
        }
        striped_total(part) - p.y[i]
    } else {
        r
    };
    // θ_j ← θ_j − 2η r̃ a_j φ'(z̃_ij) x_i, in the kernel's order (B = 1).
    let s = step_scale(eta, 1) * r_step;
    for j in 0..m {
        let c = d1[j] * s;
        let tj = &mut theta[j * d..(j + 1) * d];
        for k in 0..d {
            tj[k] -= c * xi[k];
        }
    }
    loss
}

impl Dynamics for Sam {
    fn advance(&mut self, problem: &Problem, state: &mut RunState, steps: u64) {
        with_phi!(self.act, |a| self.advance_with(a, problem, state, steps))
    }

    /// 1-SAM has no time scale to a flow here (docs/dynamics.md).
    fn time(&self, _state: &RunState) -> f64 {
        f64::NAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AlgorithmName, DataGen, OuterGen, Source};
    use crate::dynamics::LabelNoise;
    use crate::model::Eval;
    use crate::rng::Streams;
    use crate::{Trainer, data};

    fn config(rho: f64) -> RunConfig {
        RunConfig {
            algorithm: AlgorithmName::Sam,
            rho,
            sigma: 0.0,
            n: 5,
            d: 4,
            m: 6,
            eta: 0.02,
            seed: 7,
            data: Source::Generate(DataGen::Gaussian),
            ..Default::default()
        }
    }

    #[test]
    fn sam_with_zero_radius_is_sgd_with_batch_one_bit_for_bit() {
        for outer in [OuterGen::Ones, OuterGen::Alternating] {
            sam_with_zero_radius_is_sgd(outer);
        }
    }

    fn sam_with_zero_radius_is_sgd(outer: OuterGen) {
        let sam_config = RunConfig {
            outer: Source::Generate(outer),
            ..config(0.0)
        };
        let sgd_config = RunConfig {
            algorithm: AlgorithmName::LabelNoise,
            batch_size: Some(1),
            ..sam_config.clone()
        };
        let a = Trainer::new(&sam_config).unwrap();
        let b = Trainer::new(&sgd_config).unwrap();
        let (mut sa, mut sb) = (a.state().clone(), b.state().clone());
        assert_eq!(sa.theta, sb.theta);
        let mut sam = Sam::new(&sam_config);
        let mut sgd = LabelNoise::new(&sgd_config);
        for _ in 0..50 {
            sam.advance(a.problem(), &mut sa, 40);
            sgd.advance(b.problem(), &mut sb, 40);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&sa.theta), bits(&sb.theta), "step {}", sa.step);
            assert_eq!(sa.batch_rng, sb.batch_rng);
        }
        // And the trajectory moved: the comparison is not of two constants.
        assert_ne!(sa.theta, a.state().theta);
    }

    /// ℓ_i on a copy of the problem reduced to row i, for finite differences.
    fn loss_i(p: &Problem, act: Activation, m: usize, i: usize, theta: &[f64]) -> f64 {
        let mut a = vec![0.0; m];
        p.fill_outer(&mut a);
        let one = Problem::new(1, p.d, p.row(i).to_vec(), vec![p.y[i]]).with_outer(a);
        Eval::new(&one, act, theta, m).loss()
    }

    fn fd_gradient(f: &dyn Fn(&[f64]) -> f64, theta: &[f64]) -> Vec<f64> {
        let h = 1e-6;
        (0..theta.len())
            .map(|k| {
                let mut t = theta.to_vec();
                t[k] += h;
                let up = f(&t);
                t[k] -= 2.0 * h;
                (up - f(&t)) / (2.0 * h)
            })
            .collect()
    }

    #[test]
    fn sam_step_is_the_gradient_at_the_ascent_point_by_finite_differences() {
        for act in [
            Activation::CubicLinear { beta: 1.0 },
            Activation::Tanh,
            Activation::Sinh,
        ] {
            let c = config(0.1);
            let mut s = Streams::from_seed(3);
            let built = Problem::build(&c, &mut s).unwrap();
            let theta = data::initial_weights(&c, &mut s).unwrap();
            let (m, eta, rho) = (c.m, 0.03, 0.1);
            // a = 1, a = ±1 and a of mixed sign and size.
            let mixed = (0..m).map(|j| (j as f64 * 1.7).sin() * 1.4).collect();
            let alternating = (0..m).map(|j| [1.0, -1.0][j % 2]).collect();
            let problems = [
                built.clone(),
                built.clone().with_outer(alternating),
                built.with_outer(mixed),
            ];
            for (p, i) in problems.iter().flat_map(|p| (0..p.n).map(move |i| (p, i))) {
                let mut outer = vec![0.0; m];
                p.fill_outer(&mut outer);
                let f = |t: &[f64]| loss_i(p, act, m, i, t);
                let g = fd_gradient(&f, &theta);
                let gn = g.iter().map(|v| v * v).sum::<f64>().sqrt();
                let ascent: Vec<f64> = theta
                    .iter()
                    .zip(&g)
                    .map(|(t, gk)| t + rho * gk / gn)
                    .collect();
                let g_tilde = fd_gradient(&f, &ascent);
                let mut stepped = theta.clone();
                let (mut z, mut d1) = (vec![0.0; m], vec![0.0; m]);
                with_phi!(act, |a| sam_step(
                    a,
                    p,
                    &outer,
                    i,
                    rho,
                    eta,
                    &mut stepped,
                    &mut z,
                    &mut d1
                ));
                for k in 0..theta.len() {
                    let want = theta[k] - eta * g_tilde[k];
                    assert!(
                        (stepped[k] - want).abs() < 1e-8,
                        "{act:?} a = {:?} row {i} θ[{k}]: {} vs {want}",
                        p.outer,
                        stepped[k]
                    );
                }
                // The perturbation matters: the step differs from SGD's.
                let sgd: Vec<f64> = theta.iter().zip(&g).map(|(t, gk)| t - eta * gk).collect();
                let diff = stepped
                    .iter()
                    .zip(&sgd)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                assert!(diff > 1e-4, "{act:?} row {i}: SAM step equals the SGD step");
            }
        }
    }
}
