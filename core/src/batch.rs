//! [`BatchTrainer`]: many label-noise runs of one shape stepped together,
//! the run index as the SIMD lane (structure of arrays), the way `jax.vmap`
//! batches a step function.
//!
//! Runs that share (algorithm, activation, m, d, n, B) — their
//! [`BatchKey`] — may differ in everything else: seed (hence data X, labels,
//! initial weights and every stream), η, σ, noise kind, step budget, log
//! schedule, second layer a. Each lane holds its own run's X and y, so one step costs the same
//! per run as unbatched, but the lanes share every load of an index and every
//! loop, and the arithmetic is vectorised across runs even at d = 3.
//!
//! Every lane performs exactly the single-run kernel's sequence of IEEE
//! operations on its own values, with its own streams drawn in the same
//! order, so the records are bit-identical to separate [`Trainer`]s (tested
//! below). A run that diverges stops at that step, alone.

use crate::activation::{ActivationName, Phi};
use crate::config::{AlgorithmName, RunConfig};
use crate::dynamics::label_noise::{BULK_STEPS, Draws};
use crate::error::{CoreError, Result};
use crate::kernel::{Dim, label_noise_step, step_scale, uses_gemm};
use crate::metrics::Metrics;
use crate::run::Trainer;
use crate::state::Status;
use crate::{with_dim, with_phi};

/// Runs per SIMD group: two AVX2 vectors (four SSE2 ones) of f64, so each
/// lane operation has independent work to overlap.
pub const LANES: usize = 8;

/// What runs must share to be stepped together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BatchKey {
    pub algorithm: AlgorithmName,
    pub activation: ActivationName,
    /// The bits of the activation's parameter (β or α) where it has one.
    pub activation_param: u64,
    pub m: usize,
    pub d: usize,
    pub n: usize,
    pub batch: usize,
}

impl BatchKey {
    pub fn of(c: &RunConfig) -> Self {
        let activation_param = match c.activation {
            ActivationName::CubicLinear => c.beta.to_bits(),
            ActivationName::LeakyRelu => c.alpha.to_bits(),
            _ => 0,
        };
        Self {
            algorithm: c.algorithm,
            activation: c.activation,
            activation_param,
            m: c.m,
            d: c.d,
            n: c.n,
            batch: c.batch(),
        }
    }

    /// Whether runs of this key gain from batching: label noise on the
    /// direct kernel. (GEMM-sized runs are stepped one by one; their matrix
    /// products already fill the SIMD units.)
    pub fn batches(&self) -> bool {
        self.algorithm == AlgorithmName::LabelNoise && !uses_gemm(self.m, self.d, self.batch)
    }
}

/// Several runs of one [`BatchKey`], advanced together, each producing
/// exactly the records its own [`Trainer`] would.
pub struct BatchTrainer {
    key: BatchKey,
    trainers: Vec<Trainer>,
    /// Lane groups of up to [`LANES`] runs; empty when the key does not batch.
    groups: Vec<Lanes>,
}

impl BatchTrainer {
    /// Fresh runs at step 0; all must share one [`BatchKey`].
    pub fn new(configs: &[RunConfig]) -> Result<Self> {
        let trainers = configs
            .iter()
            .map(Trainer::new)
            .collect::<Result<Vec<_>>>()?;
        Self::from_trainers(trainers)
    }

    /// Runs (fresh or resumed) to step together; all must share one [`BatchKey`].
    pub fn from_trainers(trainers: Vec<Trainer>) -> Result<Self> {
        let Some(first) = trainers.first() else {
            return Err(CoreError::invalid("batch", "no runs to batch"));
        };
        let key = BatchKey::of(first.config());
        if let Some(t) = trainers.iter().find(|t| BatchKey::of(t.config()) != key) {
            return Err(CoreError::invalid(
                "batch",
                format!(
                    "run {} does not share (algorithm, activation, m, d, n, batch_size) with run {}",
                    t.config().run_id(),
                    first.config().run_id()
                ),
            ));
        }
        let groups = if key.batches() {
            (0..trainers.len())
                .step_by(LANES)
                .map(|start| Lanes::new(&trainers, start..(start + LANES).min(trainers.len())))
                .collect()
        } else {
            Vec::new()
        };
        Ok(Self {
            key,
            trainers,
            groups,
        })
    }

    pub fn key(&self) -> BatchKey {
        self.key
    }
    pub fn trainers(&self) -> &[Trainer] {
        &self.trainers
    }
    pub fn into_trainers(self) -> Vec<Trainer> {
        self.trainers
    }

    /// No run has a record left to emit.
    pub fn is_done(&self) -> bool {
        self.trainers.iter().all(Trainer::is_done)
    }

    /// Advances every unfinished run by the same number of steps, at most
    /// `max_steps` and no further than the nearest next event (a record or
    /// a stop check) of any run; returns the records reached, as (run
    /// index, record).
    pub fn advance(&mut self, max_steps: u64) -> Vec<(usize, Metrics)> {
        let targets: Vec<Option<u64>> = self.trainers.iter().map(|t| t.next_event_step()).collect();
        let Some(todo) = targets
            .iter()
            .zip(&self.trainers)
            .filter_map(|(t, tr)| t.map(|t| t - tr.state().step))
            .min()
        else {
            return Vec::new();
        };
        let todo = todo.min(max_steps);
        if todo > 0 {
            if self.groups.is_empty() {
                for (t, target) in self.trainers.iter_mut().zip(&targets) {
                    if target.is_some() {
                        t.take_steps(todo);
                    }
                }
            } else {
                let act = self.trainers[0].config().activation();
                for g in &mut self.groups {
                    with_phi!(act, |a| with_dim!(self.key.d, |dim| g.advance(
                        a,
                        dim,
                        &mut self.trainers,
                        todo
                    )));
                }
            }
        }
        let mut records = Vec::new();
        for (i, (t, target)) in self.trainers.iter_mut().zip(targets).enumerate() {
            if let Some(r) = target.and_then(|target| t.conclude(target)) {
                records.push((i, r));
            }
        }
        records
    }

    /// Runs every run to completion, calling `on_record(run index, record)`.
    pub fn run(&mut self, mut on_record: impl FnMut(usize, &Metrics)) {
        while !self.is_done() {
            for (i, r) in self.advance(u64::MAX) {
                on_record(i, &r);
            }
        }
    }
}

/// One lane group: up to [`LANES`] runs' data, weights and per-step draws,
/// lane-major. Lanes past the group's runs, and runs that have stopped, sit
/// idle with zero weights and a zero step size.
struct Lanes {
    /// The trainers (indices into the batch) of the lanes.
    runs: std::ops::Range<usize>,
    m: usize,
    /// Batch size B.
    b: usize,
    /// Each run's X (n×d), y and second layer a (m), fixed for the run's
    /// life: runs of different a share a group.
    x: Vec<[f64; LANES]>,
    y: Vec<[f64; LANES]>,
    outer: Vec<[f64; LANES]>,
    theta: Vec<[f64; LANES]>,
    /// 2η/B per run (at step 0 under a schedule).
    scale: [f64; LANES],
    /// Whether some run of the group follows a schedule, its 2η_k/B
    /// then taken from its draws step by step.
    annealed: bool,
    diverge_loss: [f64; LANES],
    /// Per run: its draws, drawn from its own streams.
    draws: Vec<Draws>,
    /// Mini-batch steps: the gathered batch rows and labels.
    xs: Vec<[f64; LANES]>,
    ys: Vec<[f64; LANES]>,
    /// The draws of up to [`BULK_STEPS`] steps, lane-major.
    noise: Vec<[f64; LANES]>,
    idx: Vec<[usize; LANES]>,
    coef: Vec<[f64; LANES]>,
}

impl Lanes {
    fn new(trainers: &[Trainer], runs: std::ops::Range<usize>) -> Self {
        let c = trainers[runs.start].config();
        let (n, d, m, b) = (c.n, c.d, c.m, c.batch());
        let mut x = vec![[0.0; LANES]; n * d];
        let mut y = vec![[0.0; LANES]; n];
        let mut outer = vec![[1.0; LANES]; m];
        let mut scale = [0.0; LANES];
        let mut diverge_loss = [f64::INFINITY; LANES];
        for (l, t) in trainers[runs.clone()].iter().enumerate() {
            for (dst, &v) in x.iter_mut().zip(&t.problem().x) {
                dst[l] = v;
            }
            for (dst, &v) in y.iter_mut().zip(&t.problem().y) {
                dst[l] = v;
            }
            for (j, dst) in outer.iter_mut().enumerate() {
                dst[l] = t.problem().outer(j);
            }
            scale[l] = step_scale(t.config().eta, b);
            diverge_loss[l] = t.config().diverge_loss;
        }
        let minibatch = b < n;
        let draws: Vec<Draws> = trainers[runs.clone()]
            .iter()
            .map(|t| Draws::new(t.config()))
            .collect();
        Self {
            annealed: draws.iter().any(Draws::annealed),
            draws,
            runs,
            m,
            b,
            x,
            y,
            outer,
            theta: vec![[0.0; LANES]; m * d],
            scale,
            diverge_loss,
            xs: vec![[0.0; LANES]; if minibatch { b * d } else { 0 }],
            ys: vec![[0.0; LANES]; if minibatch { b } else { 0 }],
            noise: vec![[0.0; LANES]; BULK_STEPS * b],
            idx: vec![[0; LANES]; if minibatch { BULK_STEPS * b } else { 0 }],
            coef: vec![[0.0; LANES]; b * m],
        }
    }

    /// Takes `steps` steps on every running run of the group, with 4-wide
    /// AVX2 vectors where the CPU has them. The result is the same bit for
    /// bit either way: AVX2 does the same IEEE operations per lane as SSE2,
    /// and no multiply–add is fused (Rust never contracts `a * b + c`).
    fn advance<A: Phi, D: Dim>(&mut self, act: A, dim: D, trainers: &mut [Trainer], steps: u64) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { self.advance_avx2(act, dim, trainers, steps) };
        }
        self.advance_lanes(act, dim, trainers, steps)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn advance_avx2<A: Phi, D: Dim>(
        &mut self,
        act: A,
        dim: D,
        trainers: &mut [Trainer],
        steps: u64,
    ) {
        self.advance_lanes(act, dim, trainers, steps)
    }

    #[inline(always)]
    fn advance_lanes<A: Phi, D: Dim>(
        &mut self,
        act: A,
        dim: D,
        trainers: &mut [Trainer],
        steps: u64,
    ) {
        let trainers = &mut trainers[self.runs.clone()];
        let (m, d, b) = (self.m, dim.get(), self.b);
        let minibatch = !self.xs.is_empty();
        // Pack Θ; idle lanes get zero weights and a zero step.
        let mut live = [false; LANES];
        let mut scale = [0.0; LANES];
        for (l, t) in trainers.iter().enumerate() {
            live[l] = t.state().status == Status::Running;
            if live[l] {
                scale[l] = self.scale[l];
            }
            for (dst, &v) in self.theta.iter_mut().zip(&t.state().theta) {
                dst[l] = if live[l] { v } else { 0.0 };
            }
        }
        let mut left = steps;
        while left > 0 {
            let chunk = left.min(BULK_STEPS as u64) as usize;
            for (l, (t, draws)) in trainers.iter_mut().zip(&mut self.draws).enumerate() {
                if !live[l] {
                    continue;
                }
                let n = chunk * b;
                let idx = if minibatch {
                    &mut self.idx[..n]
                } else {
                    &mut []
                };
                let first = t.state().step + (steps - left);
                draws.draw_lane(t.state_mut(), first, chunk, l, &mut self.noise[..n], idx);
            }
            for t in 0..chunk {
                let (xs, ys) = if minibatch {
                    for (bi, idx) in self.idx[t * b..(t + 1) * b].iter().enumerate() {
                        for l in 0..LANES {
                            let i = idx[l];
                            for k in 0..d {
                                self.xs[bi * d + k][l] = self.x[i * d + k][l];
                            }
                            self.ys[bi][l] = self.y[i][l];
                        }
                    }
                    (&self.xs, &self.ys)
                } else {
                    (&self.x, &self.y)
                };
                if self.annealed {
                    for (l, draws) in self.draws.iter().enumerate() {
                        if live[l] && draws.annealed() {
                            scale[l] = draws.scale[t];
                        }
                    }
                }
                let loss = label_noise_step::<A, D, LANES>(
                    act,
                    dim,
                    m,
                    &self.outer,
                    xs,
                    ys,
                    &self.noise[t * b..(t + 1) * b],
                    &scale,
                    &mut self.theta,
                    &mut self.coef,
                );
                // One branch-free test over the lanes per step, the
                // per-lane loop only when some run diverged.
                let mut diverged = false;
                for l in 0..LANES {
                    diverged |= live[l] & (loss[l].is_nan() | (loss[l] > self.diverge_loss[l]));
                }
                if !diverged {
                    continue;
                }
                for (l, run) in trainers.iter_mut().enumerate() {
                    if live[l] && (loss[l].is_nan() || loss[l] > self.diverge_loss[l]) {
                        let state = run.state_mut();
                        state.step += (steps - left) + t as u64 + 1;
                        state.status = Status::Diverged;
                        state.diverged_at = Some(state.step);
                        for (dst, th) in state.theta.iter_mut().zip(&mut self.theta) {
                            *dst = th[l];
                            th[l] = 0.0;
                        }
                        live[l] = false;
                        scale[l] = 0.0;
                    }
                }
            }
            left -= chunk as u64;
        }
        for (l, t) in trainers.iter_mut().enumerate() {
            if live[l] {
                let state = t.state_mut();
                state.step += steps;
                for (dst, th) in state.theta.iter_mut().zip(&self.theta) {
                    *dst = th[l];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{NoiseKind, OuterGen, Source};

    /// Every record of every run, as bits, from separate trainers.
    fn unbatched(configs: &[RunConfig]) -> Vec<Vec<(u64, Vec<u64>)>> {
        configs
            .iter()
            .map(|c| {
                let mut t = Trainer::new(c).unwrap();
                let mut out = Vec::new();
                t.run(|r| out.push(fingerprint(r)));
                let s = t.state();
                out.push((s.step, s.theta.iter().map(|v| v.to_bits()).collect()));
                out.push((s.diverged_at.unwrap_or(u64::MAX), vec![s.status as u64]));
                out
            })
            .collect()
    }

    fn batched(configs: &[RunConfig]) -> Vec<Vec<(u64, Vec<u64>)>> {
        let mut b = BatchTrainer::new(configs).unwrap();
        let mut out = vec![Vec::new(); configs.len()];
        b.run(|i, r| out[i].push(fingerprint(r)));
        for (o, t) in out.iter_mut().zip(b.trainers()) {
            let s = t.state();
            o.push((s.step, s.theta.iter().map(|v| v.to_bits()).collect()));
            o.push((s.diverged_at.unwrap_or(u64::MAX), vec![s.status as u64]));
        }
        out
    }

    /// A record's step, loss, trace, R and pre-activations, as bits.
    fn fingerprint(r: &Metrics) -> (u64, Vec<u64>) {
        let mut bits = vec![r.loss.to_bits()];
        bits.extend(r.z.iter().map(|v| v.to_bits()));
        (r.step, bits)
    }

    fn configs(
        activation: ActivationName,
        batch_size: Option<usize>,
        noise: NoiseKind,
    ) -> Vec<RunConfig> {
        // 11 runs: a full group of 8 and a partial one, differing in seed, η, σ.
        (0..11)
            .map(|i| RunConfig {
                activation,
                batch_size,
                noise,
                n: 5,
                m: 6,
                d: 3,
                seed: 100 + i,
                eta: 0.01 + 0.002 * i as f64,
                sigma: if i == 4 { 0.0 } else { 0.05 * i as f64 },
                steps: 3000 + 97 * i,
                log_points: 15,
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn batched_runs_are_bit_identical_to_separate_runs() {
        for (act, batch, noise) in [
            (ActivationName::CubicLinear, None, NoiseKind::Gaussian),
            (ActivationName::CubicLinear, Some(2), NoiseKind::Rademacher),
            (ActivationName::Tanh, Some(3), NoiseKind::Gaussian),
            (ActivationName::Softplus, None, NoiseKind::Rademacher),
            (ActivationName::LeakyRelu, Some(4), NoiseKind::Gaussian),
        ] {
            let c = configs(act, batch, noise);
            assert_eq!(batched(&c), unbatched(&c), "{act} B={batch:?} {noise:?}");
        }
    }

    /// Runs with different second layers (ones, ±1, a file) share a
    /// group, each lane with its own a, and keep their own bits.
    #[test]
    fn runs_with_different_second_layers_batch_bit_identically() {
        let dir = std::env::temp_dir().join(format!("sharpsweep-outer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.csv");
        std::fs::write(&file, "0.5\n-1.25\n2\n0.75\n-0.3\n1.1\n").unwrap();
        for (act, batch) in [
            (ActivationName::CubicLinear, None),
            (ActivationName::Tanh, Some(2)),
        ] {
            let mut c = configs(act, batch, NoiseKind::Gaussian);
            for (i, r) in c.iter_mut().enumerate() {
                r.outer = match i % 3 {
                    0 => Source::Generate(OuterGen::Ones),
                    1 => Source::Generate(OuterGen::Alternating),
                    _ => Source::File(file.clone()),
                };
            }
            let want = unbatched(&c);
            // The second layer matters: the same run with a = 1 differs.
            let ones: Vec<RunConfig> = c
                .iter()
                .map(|r| RunConfig {
                    outer: Source::Generate(OuterGen::Ones),
                    ..r.clone()
                })
                .collect();
            assert_ne!(unbatched(&ones)[1], want[1], "{act}");
            assert_eq!(batched(&c), want, "{act} B={batch:?}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// The configurations of [`configs`] under four schedules at once,
    /// each run with its own ends.
    fn scheduled(
        activation: ActivationName,
        batch_size: Option<usize>,
        noise: NoiseKind,
    ) -> Vec<RunConfig> {
        use crate::anneal::AnnealKind;
        let mut c = configs(activation, batch_size, noise);
        for (i, r) in c.iter_mut().enumerate() {
            r.schedule = AnnealKind::ALL[i % 4];
            r.eta_end = Some(r.eta / (2 + i) as f64);
            // The exponential schedule needs both ends of σ positive.
            if r.sigma > 0.0 {
                r.sigma_end = Some(0.01 * (i + 1) as f64);
            }
            r.validate().unwrap();
        }
        c
    }

    #[test]
    fn runs_of_different_schedules_in_one_group_are_bit_identical_to_separate_runs() {
        for (act, batch, noise) in [
            (ActivationName::CubicLinear, None, NoiseKind::Gaussian),
            (ActivationName::Tanh, Some(3), NoiseKind::Rademacher),
        ] {
            let c = scheduled(act, batch, noise);
            assert_eq!(batched(&c), unbatched(&c), "{act} B={batch:?} {noise:?}");
        }
    }

    /// Lanes resumed at different steps each take their own step's η_k, σ_k.
    #[test]
    fn scheduled_lanes_started_at_different_steps_match_separate_runs() {
        let c = scheduled(ActivationName::CubicLinear, Some(2), NoiseKind::Gaussian);
        let want = unbatched(&c);
        let trainers: Vec<Trainer> = c
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut t = Trainer::new(c).unwrap();
                while t.state().step < 37 * i as u64 {
                    t.advance(37 * i as u64 - t.state().step);
                }
                let state = crate::RunState::from_bytes(&t.state().to_bytes()).unwrap();
                Trainer::resume(c, state).unwrap()
            })
            .collect();
        let mut b = BatchTrainer::from_trainers(trainers).unwrap();
        b.run(|_, _| {});
        for (i, t) in b.trainers().iter().enumerate() {
            let s = t.state();
            let theta: Vec<u64> = s.theta.iter().map(|v| v.to_bits()).collect();
            assert_eq!(want[i][want[i].len() - 2], (s.step, theta), "run {i}");
        }
    }

    #[test]
    fn a_run_diverging_mid_batch_stops_alone_at_its_own_step() {
        let mut c = configs(ActivationName::CubicLinear, Some(3), NoiseKind::Gaussian);
        c[2].eta = 3.0;
        c[9].eta = 1.5;
        let want = unbatched(&c);
        for i in [2, 9] {
            let status = &want[i].last().unwrap().1;
            assert_eq!(
                status,
                &vec![Status::Diverged as u64],
                "run {i} should diverge"
            );
        }
        assert_eq!(batched(&c), want);
    }

    #[test]
    fn a_dimension_without_a_fixed_kernel_batches_too() {
        let mut c = configs(ActivationName::Quadratic, None, NoiseKind::Gaussian);
        for r in &mut c {
            r.d = 7;
        }
        assert_eq!(batched(&c), unbatched(&c));
    }

    #[test]
    fn runs_of_different_shapes_are_refused() {
        let mut c = configs(ActivationName::Tanh, None, NoiseKind::Gaussian);
        c[3].m = 7;
        let err = BatchTrainer::new(&c).err().unwrap();
        assert!(err.to_string().contains("batch"), "{err}");
    }
}
