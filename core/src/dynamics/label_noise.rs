//! Label-noise GD/SGD (SCIENCE.md §2.1; σ = 0 is plain GD/SGD) for one run:
//! the randomness of many steps drawn in bulk, then the step kernel
//! ([`crate::kernel`]) step after step with no allocation.
//!
//! Drawing in bulk keeps every stream's sequence unchanged: the noise of
//! steps t, t+1, … is drawn in the same order, and only for steps that are
//! then taken, so a run advanced in any chunks (or resumed from a checkpoint)
//! consumes exactly the same numbers.

use super::Dynamics;
use crate::activation::{Activation, Phi};
use crate::config::{NoiseKind, RunConfig};
use crate::data::Problem;
use crate::kernel::{Dim, gemm_step, label_noise_step, uses_gemm};
use crate::rng;
use crate::state::{RunState, Status};
use crate::{with_dim, with_phi};

/// Steps whose randomness is drawn in one go.
pub const BULK_STEPS: usize = 64;

/// The per-step randomness of up to [`BULK_STEPS`] steps of one run.
#[derive(Clone, Debug)]
pub(crate) struct Draws {
    sigma: f64,
    kind: NoiseKind,
    /// Mini-batch size B; `None` for the full batch (no index draws).
    minibatch: Option<usize>,
    /// ξ, B per step (zeros when σ = 0).
    pub noise: Vec<f64>,
    /// Batch indices, B per step (mini-batches only).
    pub idx: Vec<usize>,
    /// The permutation the partial Fisher–Yates shuffle works in, length n.
    perm: Vec<usize>,
}

impl Draws {
    pub fn new(c: &RunConfig) -> Self {
        let b = c.batch();
        let minibatch = (b < c.n).then_some(b);
        Self {
            sigma: c.sigma,
            kind: c.noise,
            minibatch,
            noise: vec![0.0; BULK_STEPS * b],
            idx: vec![
                0;
                if minibatch.is_some() {
                    BULK_STEPS * b
                } else {
                    0
                }
            ],
            perm: vec![0; if minibatch.is_some() { c.n } else { 0 }],
        }
    }

    /// Draws the noise and batches of the next `steps` (≤ [`BULK_STEPS`])
    /// steps from the run's streams, in step order.
    pub fn draw(&mut self, state: &mut RunState, steps: usize) {
        let b = self.noise.len() / BULK_STEPS;
        if self.sigma > 0.0 {
            let noise = &mut self.noise[..steps * b];
            match self.kind {
                NoiseKind::Gaussian => {
                    rng::fill_normal(&mut state.noise_rng, noise);
                    noise.iter_mut().for_each(|v| *v *= self.sigma);
                }
                NoiseKind::Rademacher => {
                    for v in noise {
                        *v = self.sigma * rng::rademacher(&mut state.noise_rng);
                    }
                }
            }
        }
        if let Some(b) = self.minibatch {
            for step in self.idx[..steps * b].chunks_exact_mut(b) {
                rng::sample_batch(&mut state.batch_rng, &mut self.perm, b);
                step.copy_from_slice(&self.perm[..b]);
            }
        }
    }
}

/// Label-noise GD/SGD on one run.
pub struct LabelNoise {
    act: Activation,
    m: usize,
    eta: f64,
    /// σ and B, for the flow clock [`Dynamics::time`].
    sigma: f64,
    batch: usize,
    diverge_loss: f64,
    draws: Draws,
    /// The batch rows X_B (B×d) and labels of a mini-batch step.
    xs: Vec<f64>,
    ys: Vec<f64>,
    /// Kernel scratch, B×m.
    coef: Vec<f64>,
}

impl LabelNoise {
    pub fn new(c: &RunConfig) -> Self {
        let b = c.batch();
        Self {
            act: c.activation(),
            m: c.m,
            eta: c.eta,
            sigma: c.sigma,
            batch: b,
            diverge_loss: c.diverge_loss,
            draws: Draws::new(c),
            xs: vec![0.0; b * c.d],
            ys: vec![0.0; b],
            coef: vec![0.0; b * c.m],
        }
    }

    #[inline(always)]
    fn advance_with<A: Phi, D: Dim>(
        &mut self,
        act: A,
        dim: D,
        p: &Problem,
        state: &mut RunState,
        steps: u64,
    ) {
        let (m, d, b) = (self.m, p.d, self.ys.len());
        let gemm = uses_gemm(m, d, b);
        let scale = [2.0 * self.eta / b as f64];
        let mut left = steps;
        while left > 0 {
            let chunk = left.min(BULK_STEPS as u64) as usize;
            self.draws.draw(state, chunk);
            for t in 0..chunk {
                let noise = &self.draws.noise[t * b..(t + 1) * b];
                let (xs, ys): (&[f64], &[f64]) = if self.draws.minibatch.is_some() {
                    gather(
                        p,
                        &self.draws.idx[t * b..(t + 1) * b],
                        &mut self.xs,
                        &mut self.ys,
                    );
                    (&self.xs, &self.ys)
                } else {
                    (&p.x, &p.y)
                };
                let loss = if gemm {
                    gemm_step(
                        act,
                        d,
                        m,
                        xs,
                        ys,
                        noise,
                        self.eta,
                        &mut state.theta,
                        &mut self.coef,
                    )
                } else {
                    label_noise_step::<A, D, 1>(
                        act,
                        dim,
                        m,
                        xs.as_chunks().0,
                        ys.as_chunks().0,
                        noise.as_chunks().0,
                        &scale,
                        state.theta.as_chunks_mut().0,
                        self.coef.as_chunks_mut().0,
                    )[0]
                };
                state.step += 1;
                if loss.is_nan() || loss > self.diverge_loss {
                    state.status = Status::Diverged;
                    state.diverged_at = Some(state.step);
                    return;
                }
            }
            left -= chunk as u64;
        }
    }
}

/// Copies the rows `idx` of X and y into `xs`, `ys`.
fn gather(p: &Problem, idx: &[usize], xs: &mut [f64], ys: &mut [f64]) {
    for ((&i, row), y) in idx.iter().zip(xs.chunks_exact_mut(p.d)).zip(ys) {
        row.copy_from_slice(p.row(i));
        *y = p.y[i];
    }
}

impl LabelNoise {
    /// [`Self::advance_with`] compiled for AVX2 (4-wide vectors, the same
    /// IEEE operations per value, so the same bits; see `batch.rs`).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn advance_avx2(&mut self, problem: &Problem, state: &mut RunState, steps: u64) {
        with_phi!(self.act, |a| with_dim!(problem.d, |dim| self
            .advance_with(a, dim, problem, state, steps)))
    }
}

impl Dynamics for LabelNoise {
    fn advance(&mut self, problem: &Problem, state: &mut RunState, steps: u64) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { self.advance_avx2(problem, state, steps) };
        }
        with_phi!(self.act, |a| with_dim!(problem.d, |dim| self
            .advance_with(a, dim, problem, state, steps)))
    }

    /// `t = k·η²σ²/(2B)`: the time of the Riemannian flow `dΘ/dt = −P_T∇R`
    /// that label-noise SGD follows as η → 0 (derived in docs/dynamics.md);
    /// NaN without noise, when there is no such flow.
    fn time(&self, state: &RunState) -> f64 {
        if self.sigma == 0.0 {
            return f64::NAN;
        }
        state.step as f64 * self.eta * self.eta * self.sigma * self.sigma
            / (2.0 * self.batch as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::ActivationName;
    use crate::run::Trainer;

    /// The AVX2 build of the kernel must give the bits of the baseline one,
    /// or results would depend on the machine.
    #[test]
    fn the_vectorised_build_gives_the_bits_of_the_baseline_build() {
        for (activation, batch_size, d) in [
            (ActivationName::CubicLinear, None, 3),
            (ActivationName::Tanh, Some(3), 5),
            (ActivationName::Sinh, Some(2), 2),
        ] {
            let c = RunConfig {
                activation,
                batch_size,
                d,
                n: 6,
                m: 9,
                ..Default::default()
            };
            let t = Trainer::new(&c).unwrap();
            let (p, start) = (t.problem(), t.state().clone());
            let mut dispatched = start.clone();
            LabelNoise::new(&c).advance(p, &mut dispatched, 3000);
            let mut baseline = start;
            let mut ln = LabelNoise::new(&c);
            with_phi!(ln.act, |a| with_dim!(p.d, |dim| ln.advance_with(
                a,
                dim,
                p,
                &mut baseline,
                3000
            )));
            assert_eq!(dispatched.step, 3000);
            let bits = |s: &RunState| s.theta.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&dispatched), bits(&baseline), "{activation}");
        }
    }
}
