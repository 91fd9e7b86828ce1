//! Label-noise GD/SGD (SCIENCE.md §2.1), the hot loop of every sweep; its
//! step is `kernel::label_noise_step`.

use super::Dynamics;
use crate::activation::{Activation, Phi};
use crate::config::{NoiseKind, RunConfig};
use crate::data::Problem;
use crate::kernel::{StepScratch, label_noise_step};
use crate::rng;
use crate::state::{RunState, Status};
use crate::with_phi;

/// Label-noise GD/SGD (§2.1); σ = 0 is plain GD/SGD.
pub struct LabelNoise {
    act: Activation,
    m: usize,
    eta: f64,
    sigma: f64,
    noise: NoiseKind,
    batch: usize,
    diverge_loss: f64,
    scratch: StepScratch,
}

impl LabelNoise {
    pub fn new(c: &RunConfig) -> Self {
        Self {
            act: c.activation(),
            m: c.m,
            eta: c.eta,
            sigma: c.sigma,
            noise: c.noise,
            batch: c.batch(),
            diverge_loss: c.diverge_loss,
            scratch: StepScratch::new(c.n, c.m),
        }
    }

    fn advance_with<A: Phi>(&mut self, act: A, p: &Problem, state: &mut RunState, steps: u64) {
        let full = self.batch == p.n;
        let b = self.batch;
        let s = &mut self.scratch;
        for _ in 0..steps {
            if !full {
                rng::sample_batch(&mut state.batch_rng, &mut s.idx, b);
            }
            if self.sigma > 0.0 {
                let noise = &mut s.noise[..b];
                match self.noise {
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
            let loss = label_noise_step(
                act,
                &p.x,
                &p.y,
                p.d,
                self.m,
                &s.idx[..b],
                &s.noise[..b],
                self.eta,
                &mut state.theta,
                &mut s.coef,
            );
            state.step += 1;
            if loss.is_nan() || loss > self.diverge_loss {
                state.status = Status::Diverged;
                state.diverged_at = Some(state.step);
                return;
            }
        }
    }
}

impl Dynamics for LabelNoise {
    fn advance(&mut self, problem: &Problem, state: &mut RunState, steps: u64) {
        with_phi!(self.act, |a| self.advance_with(a, problem, state, steps))
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
