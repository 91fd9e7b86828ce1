//! Label-noise GD/SGD (docs/science.md §5.1; σ = 0 is plain GD/SGD) for one run:
//! the randomness of many steps drawn in bulk, then the step kernel
//! ([`crate::kernel`]) step after step with no allocation.
//!
//! Drawing in bulk keeps every stream's sequence unchanged: the noise of
//! steps t, t+1, … is drawn in the same order, and only for steps that are
//! then taken, so a run advanced in any chunks (or resumed from a checkpoint)
//! consumes exactly the same numbers.

use super::contract::{Dynamics, diverged};
use crate::activation::{Activation, Phi};
use crate::anneal::Anneal;
use crate::config::{NoiseKind, RunConfig};
use crate::data::Problem;
use crate::kernel::{
    Dim, QUAD, Quad, gemm_step, pack_theta, quads, single_run_scratch, single_run_step, step_scale,
    unpack_theta, uses_gemm,
};
use crate::rng;
use crate::state::RunState;
use crate::{with_dim, with_phi};
use std::cell::Cell;

/// Steps whose randomness is drawn in one go.
pub const BULK_STEPS: usize = 64;

/// The per-step inputs of up to [`BULK_STEPS`] steps of one run: its
/// randomness, and under a schedule (anneal.rs) each step's η_k and σ_k.
#[derive(Clone, Debug)]
pub(crate) struct Draws {
    sigma: f64,
    kind: NoiseKind,
    /// Mini-batch size B; `None` for the full batch (no index draws).
    minibatch: Option<usize>,
    /// B, for the step scale.
    batch: usize,
    /// The run's schedule; `None` when η and σ are constant.
    anneal: Option<Anneal>,
    /// Whether any step has σ_k > 0 (else no noise is drawn at all).
    noisy: bool,
    /// 2η_k/B of each step drawn (all [`step_scale`]`(η, B)` when constant,
    /// set once).
    pub scale: Vec<f64>,
    /// σ_k of each step drawn (scheduled runs only).
    sigmas: Vec<f64>,
    /// ξ, B per step (zeros when σ = 0), for [`Self::draw`]; a lane group
    /// draws into its own buffers ([`Self::draw_lane`]).
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
        let anneal = c.anneal();
        Self {
            sigma: c.sigma,
            kind: c.noise,
            minibatch,
            batch: b,
            anneal,
            noisy: c.sigma > 0.0 || (anneal.is_some() && c.sigma_end() > 0.0),
            scale: vec![step_scale(c.eta, b); BULK_STEPS],
            sigmas: vec![0.0; if anneal.is_some() { BULK_STEPS } else { 0 }],
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

    /// Whether η and σ follow a schedule (so [`Self::scale`] changes per step).
    pub fn annealed(&self) -> bool {
        self.anneal.is_some()
    }

    /// Draws the noise and batches of the next `steps` (≤ [`BULK_STEPS`])
    /// steps, the first of them step `first`, from the run's streams, in
    /// step order.
    pub fn draw(&mut self, state: &mut RunState, first: u64, steps: usize) {
        let n = steps * (self.noise.len() / BULK_STEPS);
        self.anneal_steps(first, steps);
        fill(
            self.params(),
            &self.sigmas,
            &mut self.perm,
            state,
            steps,
            self.noise[..n].iter_mut(),
            self.idx.iter_mut(),
        );
    }

    /// [`Self::draw`] straight into lane `lane` of a lane group's buffers
    /// ([`crate::lanes`]), B values per step each: the same numbers.
    pub fn draw_lane<const L: usize>(
        &mut self,
        state: &mut RunState,
        first: u64,
        steps: usize,
        lane: usize,
        noise: &mut [[f64; L]],
        idx: &mut [[usize; L]],
    ) {
        self.anneal_steps(first, steps);
        fill(
            self.params(),
            &self.sigmas,
            &mut self.perm,
            state,
            steps,
            noise.iter_mut().map(|v| &mut v[lane]),
            idx.iter_mut().map(|v| &mut v[lane]),
        );
    }

    /// Under a schedule, η_k and σ_k of steps `first …` into `scale` and
    /// `sigmas`.
    fn anneal_steps(&mut self, first: u64, steps: usize) {
        if let Some(a) = &self.anneal {
            for (t, (scale, sigma)) in self.scale[..steps]
                .iter_mut()
                .zip(&mut self.sigmas)
                .enumerate()
            {
                let (eta_k, sigma_k) = a.at(first + t as u64);
                *scale = step_scale(eta_k, self.batch);
                *sigma = sigma_k;
            }
        }
    }

    fn params(&self) -> Params {
        Params {
            sigma: self.sigma,
            kind: self.kind,
            minibatch: self.minibatch,
            batch: self.batch,
            noisy: self.noisy,
            annealed: self.anneal.is_some(),
        }
    }
}

/// What [`fill`] needs of a [`Draws`] besides its buffers.
struct Params {
    sigma: f64,
    kind: NoiseKind,
    minibatch: Option<usize>,
    batch: usize,
    noisy: bool,
    annealed: bool,
}

/// The draws of `steps` steps into `noise` (noisy runs only; B per step,
/// scaled by σ, or by each step's σ_k from `sigmas` under a schedule) and,
/// for mini-batches, `idx` (B per step).
fn fill<'a>(
    p: Params,
    sigmas: &[f64],
    perm: &mut [usize],
    state: &mut RunState,
    steps: usize,
    mut noise: impl Iterator<Item = &'a mut f64>,
    mut idx: impl Iterator<Item = &'a mut usize>,
) {
    if p.noisy {
        if p.annealed {
            for &sigma_k in &sigmas[..steps] {
                draw_noise(state, p.kind, sigma_k, noise.by_ref().take(p.batch));
            }
        } else {
            draw_noise(state, p.kind, p.sigma, noise);
        }
    }
    if let Some(b) = p.minibatch {
        for _ in 0..steps {
            rng::sample_batch(&mut state.batch_rng, perm, b);
            // `perm` first: zip then takes exactly b slots from `idx`.
            for (&i, dst) in perm[..b].iter().zip(idx.by_ref()) {
                *dst = i;
            }
        }
    }
}

/// ξ = σ·(a standard draw) into every slot of `noise`.
fn draw_noise<'a>(
    state: &mut RunState,
    kind: NoiseKind,
    sigma: f64,
    noise: impl Iterator<Item = &'a mut f64>,
) {
    match kind {
        NoiseKind::Gaussian => rng::fill_normal(&mut state.noise_rng, sigma, noise),
        NoiseKind::Rademacher => {
            for v in noise {
                *v = sigma * rng::rademacher(&mut state.noise_rng);
            }
        }
    }
}

/// Label-noise GD/SGD on one run.
pub struct LabelNoise {
    act: Activation,
    m: usize,
    /// η, σ, B and the schedule, for the flow clock [`Dynamics::time`].
    eta: f64,
    sigma: f64,
    batch: usize,
    anneal: Option<Anneal>,
    /// No step has label noise, so there is no flow clock.
    noiseless: bool,
    /// Under a schedule: (k, Σ_{k'<k} η_k'²σ_k'²), the clock's sum up to the
    /// last step it was read at, so that reading it at the records costs
    /// O(K) over a whole run. Not checkpointed: a resumed run sums afresh
    /// from step 0, in the same order, to the same bits.
    clock: Cell<(u64, f64)>,
    inputs: StepInputs,
    /// The second layer a (m values), and in the direct kernel's blocks,
    /// copied from the problem at each advance.
    outer: Vec<f64>,
    outer_q: Vec<Quad>,
    /// GEMM path: kernel scratch, B×m.
    coef: Vec<f64>,
    /// Direct path: Θ packed for [`single_run_step`] while stepping, and its
    /// scratch.
    packed: Vec<Quad>,
    coef_q: Vec<Quad>,
}

/// What every step reads besides Θ: the draws and, for mini-batches, the
/// gathered batch rows; and when to call a run diverged.
struct StepInputs {
    draws: Draws,
    /// The batch rows X_B (B×d) and labels of a mini-batch step.
    xs: Vec<f64>,
    ys: Vec<f64>,
    diverge_loss: f64,
}

impl StepInputs {
    /// Takes `steps` steps (fewer if the run diverges) with `kernel`,
    /// drawing the randomness in bulk.
    #[inline(always)]
    fn run(&mut self, p: &Problem, state: &mut RunState, steps: u64, mut kernel: impl Kernel) {
        let b = self.ys.len();
        let mut left = steps;
        while left > 0 {
            let chunk = left.min(BULK_STEPS as u64) as usize;
            self.draws.draw(state, state.step, chunk);
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
                let scale = self.draws.scale[t];
                let loss = kernel.step(scale, xs, ys, noise, &mut state.theta);
                state.step += 1;
                if diverged(state, loss, self.diverge_loss) {
                    return;
                }
            }
            left -= chunk as u64;
        }
    }
}

/// One step given its scale 2η_k/B, X_B, y_B, ξ and Θ (row-major m×d),
/// returning the loss.
/// (A trait rather than a closure, so that the step is inlined into the AVX2
/// build: a closure would be one function shared by both builds.)
trait Kernel {
    fn step(&mut self, scale: f64, xs: &[f64], ys: &[f64], noise: &[f64], theta: &mut [f64])
    -> f64;
}

/// The direct kernel on Θ packed by [`pack_theta`] (the row-major Θ is
/// unpacked when the steps are done).
struct Direct<'a, A, D, Q> {
    act: A,
    dim: D,
    nq: Q,
    m: usize,
    outer: &'a [Quad],
    packed: &'a mut [Quad],
    coef: &'a mut [Quad],
}

impl<A: Phi, D: Dim, Q: Dim> Kernel for Direct<'_, A, D, Q> {
    #[inline(always)]
    fn step(&mut self, scale: f64, xs: &[f64], ys: &[f64], noise: &[f64], _: &mut [f64]) -> f64 {
        single_run_step(
            self.act,
            self.dim,
            self.nq,
            self.m,
            self.outer,
            xs,
            ys,
            noise,
            scale,
            self.packed,
            self.coef,
        )
    }
}

struct Gemm<'a, A> {
    act: A,
    d: usize,
    m: usize,
    outer: &'a [f64],
    z: &'a mut [f64],
}

impl<A: Phi> Kernel for Gemm<'_, A> {
    #[inline(always)]
    fn step(
        &mut self,
        scale: f64,
        xs: &[f64],
        ys: &[f64],
        noise: &[f64],
        theta: &mut [f64],
    ) -> f64 {
        gemm_step(
            self.act, self.d, self.m, self.outer, xs, ys, noise, scale, theta, self.z,
        )
    }
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
            anneal: c.anneal(),
            noiseless: c.sigma == 0.0 && (c.schedule.is_constant() || c.sigma_end() == 0.0),
            clock: Cell::new((0, 0.0)),
            inputs: StepInputs {
                draws: Draws::new(c),
                xs: vec![0.0; b * c.d],
                ys: vec![0.0; b],
                diverge_loss: c.diverge_loss,
            },
            outer: vec![1.0; c.m],
            outer_q: vec![[0.0; QUAD]; quads(c.m)],
            coef: vec![0.0; b * c.m],
            packed: vec![[0.0; QUAD]; c.d * quads(c.m)],
            coef_q: vec![[0.0; QUAD]; single_run_scratch(b, c.m)],
        }
    }

    /// Picks the kernel: GEMM by shape ([`uses_gemm`]), else the direct one
    /// specialised for the activation, d and ⌈m/4⌉.
    #[inline(always)]
    fn advance_any(&mut self, p: &Problem, state: &mut RunState, steps: u64) {
        let (m, d) = (self.m, p.d);
        if uses_gemm(m, d, self.batch) {
            with_phi!(self.act, |a| self.advance_gemm(a, p, state, steps))
        } else {
            with_phi!(self.act, |a| with_dim!(d, |dim| with_dim!(
                quads(m),
                |nq| self.advance_direct(a, dim, nq, p, state, steps)
            )))
        }
    }

    #[inline(always)]
    fn advance_direct<A: Phi, D: Dim, Q: Dim>(
        &mut self,
        act: A,
        dim: D,
        nq: Q,
        p: &Problem,
        state: &mut RunState,
        steps: u64,
    ) {
        let (m, d) = (self.m, p.d);
        pack_theta(&state.theta, m, d, &mut self.packed);
        p.fill_outer(&mut self.outer);
        pack_theta(&self.outer, m, 1, &mut self.outer_q);
        let kernel = Direct {
            act,
            dim,
            nq,
            m,
            outer: &self.outer_q,
            packed: &mut self.packed,
            coef: &mut self.coef_q,
        };
        self.inputs.run(p, state, steps, kernel);
        unpack_theta(&self.packed, m, d, &mut state.theta);
    }

    fn advance_gemm<A: Phi>(&mut self, act: A, p: &Problem, state: &mut RunState, steps: u64) {
        p.fill_outer(&mut self.outer);
        let kernel = Gemm {
            act,
            d: p.d,
            m: self.m,
            outer: &self.outer,
            z: &mut self.coef,
        };
        self.inputs.run(p, state, steps, kernel);
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
    /// [`Self::advance_any`] compiled for AVX2 (4-wide vectors, the same
    /// IEEE operations per value, so the same bits; see `lanes.rs`).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn advance_avx2(&mut self, problem: &Problem, state: &mut RunState, steps: u64) {
        self.advance_any(problem, state, steps)
    }
}

impl Dynamics for LabelNoise {
    fn advance(&mut self, problem: &Problem, state: &mut RunState, steps: u64) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { self.advance_avx2(problem, state, steps) };
        }
        self.advance_any(problem, state, steps)
    }

    /// `t = k·η²σ²/(2B)`: the time of the Riemannian flow `dΘ/dt = −P_T∇R`
    /// that label-noise SGD follows as η → 0 (derived in docs/dynamics.md);
    /// under a schedule `t = Σ_{k'<k} η_k'²σ_k'²/(2B)`, each step advancing
    /// the clock by its own η and σ. NaN without noise, when there is no
    /// such flow.
    fn time(&self, state: &RunState) -> f64 {
        if self.noiseless {
            return f64::NAN;
        }
        let Some(anneal) = &self.anneal else {
            return state.step as f64 * self.eta * self.eta * self.sigma * self.sigma
                / (2.0 * self.batch as f64);
        };
        let (mut k, mut sum) = self.clock.get();
        if k > state.step {
            (k, sum) = (0, 0.0);
        }
        for step in k..state.step {
            let (eta, sigma) = anneal.at(step);
            sum += eta * eta * sigma * sigma;
        }
        self.clock.set((state.step, sum));
        sum / (2.0 * self.batch as f64)
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
            LabelNoise::new(&c).advance_any(p, &mut baseline, 3000);
            assert_eq!(dispatched.step, 3000);
            let bits = |s: &RunState| s.theta.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&dispatched), bits(&baseline), "{activation}");
        }
    }
}
