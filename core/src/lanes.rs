//! [`LaneTrainer`]: many label-noise runs of one shape stepped together,
//! the run index as the SIMD lane (structure of arrays), the way `jax.vmap`
//! vectorises a step function over runs.
//!
//! Runs that share (algorithm, activation, m, d, n, B) — their
//! [`LaneKey`] — may differ in everything else: seed (hence data X, labels,
//! initial weights and every stream), η, σ, noise kind, step budget, log
//! schedule, second layer a. Each lane holds its own run's X and y, so one step costs the same
//! per run as stepped alone, but the lanes share every load of an index and every
//! loop, and the arithmetic is vectorised across runs even at d = 3.
//!
//! Every lane performs exactly the single-run kernel's sequence of IEEE
//! operations on its own values, with its own streams drawn in the same
//! order, so the records are bit-identical to separate [`Trainer`]s (tested
//! below). A run that diverges stops at that step, alone.
//!
//! Past 600 lines only with its tests: lanes refilled, compacted, stopped
//! and resumed in other groupings, compared bit for bit with separate runs.

use crate::activation::{ActivationName, Phi};
use crate::config::{AlgorithmName, RunConfig};
use crate::dynamics::is_divergent;
use crate::dynamics::label_noise::{BULK_STEPS, Draws};
use crate::error::{CoreError, Result};
use crate::kernel::{Dim, lanes_step, step_scale, uses_gemm};
use crate::metrics::Metrics;
use crate::run::Trainer;
use crate::state::Status;
use crate::{with_dim, with_phi};

/// Runs per SIMD group: two AVX2 vectors (four SSE2 ones) of f64, so each
/// lane operation has independent work to overlap.
pub const LANES: usize = 8;

/// What runs must share to be stepped together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LaneKey {
    pub algorithm: AlgorithmName,
    pub activation: ActivationName,
    /// The bits of the activation's parameter (β or α) where it has one.
    pub activation_param: u64,
    pub m: usize,
    pub d: usize,
    pub n: usize,
    pub batch: usize,
}

impl LaneKey {
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

    /// Whether runs of this key gain from lanes: label noise on the
    /// direct kernel. (GEMM-sized runs are stepped one by one; their matrix
    /// products already fill the SIMD units.)
    pub fn gains_from_lanes(&self) -> bool {
        self.algorithm == AlgorithmName::LabelNoise && !uses_gemm(self.m, self.d, self.batch)
    }
}

/// The fewest live runs worth a lane group: the 8-lane kernel costs nearly
/// the same however many lanes are busy, so below this many runs the
/// single-run kernel steps them for less (docs/performance.md, "Batched
/// runs"). [`LaneTrainer::compact`] hands fewer live runs to it.
pub const MIN_LANES: usize = 5;

/// Several runs of one [`LaneKey`], advanced together, each producing
/// exactly the records its own [`Trainer`] would.
///
/// The set of runs may change while they train: a finished (or diverged,
/// or stopped) run's place can take a new run ([`Self::replace`]), and
/// finished runs can be dropped and the live ones re-packed into fewer
/// lanes or handed to the single-run kernel ([`Self::compact`]). Neither
/// changes a bit of any run: every lane does only its own run's operations.
pub struct LaneTrainer {
    key: LaneKey,
    trainers: Vec<Trainer>,
    /// Lane groups of up to [`LANES`] runs; empty when the runs are stepped
    /// one by one (a key that gains nothing from lanes, or few runs after compaction).
    groups: Vec<LaneGroup>,
    /// Steps the runs took (useful run-steps)…
    run_steps: u64,
    /// …and the lane-steps spent on them: [`LANES`] per step of a lane group
    /// with a live run, one per step of a run stepped alone.
    lane_steps: u64,
}

impl LaneTrainer {
    /// Fresh runs at step 0; all must share one [`LaneKey`].
    pub fn new(configs: &[RunConfig]) -> Result<Self> {
        let trainers = configs
            .iter()
            .map(Trainer::new)
            .collect::<Result<Vec<_>>>()?;
        Self::from_trainers(trainers)
    }

    /// Runs (fresh or resumed) to step together; all must share one [`LaneKey`].
    pub fn from_trainers(trainers: Vec<Trainer>) -> Result<Self> {
        let Some(first) = trainers.first() else {
            return Err(CoreError::invalid("lanes", "no runs to step"));
        };
        let key = LaneKey::of(first.config());
        for t in &trainers {
            key.check(t)?;
        }
        let mut lanes = Self {
            key,
            trainers,
            groups: Vec::new(),
            run_steps: 0,
            lane_steps: 0,
        };
        if key.gains_from_lanes() {
            lanes.lane_up();
        }
        Ok(lanes)
    }

    /// Cuts the runs into lane groups of [`LANES`].
    fn lane_up(&mut self) {
        let count = self.trainers.len();
        self.groups = (0..count)
            .step_by(LANES)
            .map(|start| LaneGroup::new(&self.trainers, start..(start + LANES).min(count)))
            .collect();
    }

    pub fn key(&self) -> LaneKey {
        self.key
    }
    pub fn trainers(&self) -> &[Trainer] {
        &self.trainers
    }
    pub fn into_trainers(self) -> Vec<Trainer> {
        self.trainers
    }

    /// Whether the runs are stepped as SIMD lanes (else one by one).
    pub fn is_laned(&self) -> bool {
        !self.groups.is_empty()
    }

    /// (useful run-steps, lane-steps) taken so far: their ratio is the lane
    /// occupancy.
    pub fn steps(&self) -> (u64, u64) {
        (self.run_steps, self.lane_steps)
    }

    /// No run has a record left to emit.
    pub fn is_done(&self) -> bool {
        self.trainers.iter().all(Trainer::is_done)
    }

    /// Puts `trainer` (of the same key) in the place of run `i`, which must
    /// be done, and returns the run it replaces. The new run takes over
    /// run `i`'s lane, whatever the other lanes' steps.
    pub fn replace(&mut self, i: usize, trainer: Trainer) -> Result<Trainer> {
        self.key.check(&trainer)?;
        if !self.trainers[i].is_done() {
            return Err(CoreError::invalid(
                "lanes",
                format!(
                    "run {} is still training; only a done run's place can be taken",
                    self.trainers[i].config().run_id()
                ),
            ));
        }
        if let Some(g) = self.groups.iter_mut().find(|g| g.runs.contains(&i)) {
            g.load(i - g.runs.start, &trainer);
        }
        Ok(std::mem::replace(&mut self.trainers[i], trainer))
    }

    /// Drops the done runs and re-packs the live ones into as few lane
    /// groups as they fill, or, when fewer than [`MIN_LANES`] are left,
    /// steps them one by one with the single-run kernel. Returns the former
    /// indices of the runs kept, in their new order (the old order).
    pub fn compact(&mut self) -> Vec<usize> {
        let kept: Vec<usize> = (0..self.trainers.len())
            .filter(|&i| !self.trainers[i].is_done())
            .collect();
        let trainers = std::mem::take(&mut self.trainers);
        self.trainers = trainers.into_iter().filter(|t| !t.is_done()).collect();
        self.groups.clear();
        if self.key.gains_from_lanes() && self.trainers.len() >= MIN_LANES {
            self.lane_up();
        }
        kept
    }

    /// Advances every unfinished run: in lane groups, all by the same number
    /// of steps, at most `max_steps` and no further than the nearest next
    /// event (a record or a stop check) of any run; one by one, each at most
    /// `max_steps` towards its own next event. Returns the records reached,
    /// as (run index, record).
    pub fn advance(&mut self, max_steps: u64) -> Vec<(usize, Metrics)> {
        let before: u64 = self.trainers.iter().map(|t| t.state().step).sum();
        let records = if self.groups.is_empty() {
            let mut records = Vec::new();
            for (i, t) in self.trainers.iter_mut().enumerate() {
                if let Some(r) = t.advance(max_steps) {
                    records.push((i, r));
                }
            }
            records
        } else {
            self.advance_lanes(max_steps)
        };
        let taken = self.trainers.iter().map(|t| t.state().step).sum::<u64>() - before;
        self.run_steps += taken;
        if self.groups.is_empty() {
            self.lane_steps += taken;
        }
        records
    }

    fn advance_lanes(&mut self, max_steps: u64) -> Vec<(usize, Metrics)> {
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
            let act = self.trainers[0].config().activation();
            for g in &mut self.groups {
                if self.trainers[g.runs.clone()].iter().all(Trainer::is_done) {
                    continue;
                }
                self.lane_steps += LANES as u64 * todo;
                with_phi!(act, |a| with_dim!(self.key.d, |dim| g.advance(
                    a,
                    dim,
                    &mut self.trainers,
                    todo
                )));
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

impl LaneKey {
    /// An error unless `t`'s run has this key.
    fn check(&self, t: &Trainer) -> Result<()> {
        if LaneKey::of(t.config()) == *self {
            return Ok(());
        }
        Err(CoreError::invalid(
            "lanes",
            format!(
                "run {} does not share (algorithm, activation, m, d, n, batch_size) with the \
                 other lanes' runs",
                t.config().run_id()
            ),
        ))
    }
}

/// One lane group: up to [`LANES`] runs' data, weights and per-step draws,
/// lane-major. Lanes past the group's runs, and runs that have stopped, sit
/// idle with zero weights and a zero step size.
struct LaneGroup {
    /// The lanes' runs: indices into the [`LaneTrainer`]'s trainers.
    runs: std::ops::Range<usize>,
    m: usize,
    /// Mini-batch size B.
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

impl LaneGroup {
    fn new(trainers: &[Trainer], runs: std::ops::Range<usize>) -> Self {
        let c = trainers[runs.start].config();
        let (n, d, m, b) = (c.n, c.d, c.m, c.batch());
        let minibatch = b < n;
        let mut lanes = Self {
            draws: trainers[runs.clone()]
                .iter()
                .map(|t| Draws::new(t.config()))
                .collect(),
            runs: runs.clone(),
            m,
            b,
            x: vec![[0.0; LANES]; n * d],
            y: vec![[0.0; LANES]; n],
            outer: vec![[1.0; LANES]; m],
            annealed: false,
            theta: vec![[0.0; LANES]; m * d],
            scale: [0.0; LANES],
            diverge_loss: [f64::INFINITY; LANES],
            xs: vec![[0.0; LANES]; if minibatch { b * d } else { 0 }],
            ys: vec![[0.0; LANES]; if minibatch { b } else { 0 }],
            noise: vec![[0.0; LANES]; BULK_STEPS * b],
            idx: vec![[0; LANES]; if minibatch { BULK_STEPS * b } else { 0 }],
            coef: vec![[0.0; LANES]; b * m],
        };
        for (l, t) in trainers[runs].iter().enumerate() {
            lanes.load(l, t);
        }
        lanes
    }

    /// Makes lane `l` `t`'s: its data, step size, threshold and draws.
    fn load(&mut self, l: usize, t: &Trainer) {
        for (dst, &v) in self.x.iter_mut().zip(&t.problem().x) {
            dst[l] = v;
        }
        for (dst, &v) in self.y.iter_mut().zip(&t.problem().y) {
            dst[l] = v;
        }
        for (j, dst) in self.outer.iter_mut().enumerate() {
            dst[l] = t.problem().outer(j);
        }
        self.scale[l] = step_scale(t.config().eta, self.b);
        self.diverge_loss[l] = t.config().diverge_loss;
        self.draws[l] = Draws::new(t.config());
        // Once a scheduled run has a lane, the group steps η_k, σ_k per run.
        self.annealed |= self.draws[l].annealed();
        // A run with σ = 0 draws no noise: its lane must not keep the
        // previous run's.
        for v in &mut self.noise {
            v[l] = 0.0;
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
                let loss = lanes_step::<A, D, LANES>(
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
                    diverged |= live[l] & is_divergent(loss[l], self.diverge_loss[l]);
                }
                if !diverged {
                    continue;
                }
                for (l, run) in trainers.iter_mut().enumerate() {
                    if live[l] && is_divergent(loss[l], self.diverge_loss[l]) {
                        let state = run.state_mut();
                        state.step += (steps - left) + t as u64 + 1;
                        state.diverge();
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
    use crate::state::{RunState, StopReason};

    /// Each run's records (and end), as (step, bits).
    type Fingerprints = Vec<Vec<(u64, Vec<u64>)>>;

    /// Every record of every run, as bits, from separate trainers.
    fn separately(configs: &[RunConfig]) -> Vec<Vec<(u64, Vec<u64>)>> {
        configs
            .iter()
            .map(|c| {
                let mut t = Trainer::new(c).unwrap();
                let mut out = Vec::new();
                t.run(|r| out.push(fingerprint(r)));
                let s = t.state();
                out.push((s.step, s.theta.iter().map(|v| v.to_bits()).collect()));
                out.push((s.diverged_at.unwrap_or(u64::MAX), ended_as(s)));
                out
            })
            .collect()
    }

    fn laned(configs: &[RunConfig]) -> Vec<Vec<(u64, Vec<u64>)>> {
        let mut b = LaneTrainer::new(configs).unwrap();
        let mut out = vec![Vec::new(); configs.len()];
        b.run(|i, r| out[i].push(fingerprint(r)));
        for (o, t) in out.iter_mut().zip(b.trainers()) {
            let s = t.state();
            o.push((s.step, s.theta.iter().map(|v| v.to_bits()).collect()));
            o.push((s.diverged_at.unwrap_or(u64::MAX), ended_as(s)));
        }
        out
    }

    /// A run's status and why it ended (`u64::MAX` while it runs).
    fn ended_as(s: &RunState) -> Vec<u64> {
        let why = s.stop_reason().map_or(u64::MAX, |r| r as u64);
        vec![s.status as u64, why]
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
    fn laned_runs_are_bit_identical_to_separate_runs() {
        for (act, batch, noise) in [
            (ActivationName::CubicLinear, None, NoiseKind::Gaussian),
            (ActivationName::CubicLinear, Some(2), NoiseKind::Rademacher),
            (ActivationName::Tanh, Some(3), NoiseKind::Gaussian),
            (ActivationName::Softplus, None, NoiseKind::Rademacher),
            (ActivationName::LeakyRelu, Some(4), NoiseKind::Gaussian),
        ] {
            let c = configs(act, batch, noise);
            assert_eq!(laned(&c), separately(&c), "{act} B={batch:?} {noise:?}");
        }
    }

    /// Runs with different second layers (ones, ±1, a file) share a
    /// group, each lane with its own a, and keep their own bits.
    #[test]
    fn runs_with_different_second_layers_share_lanes_bit_identically() {
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
            let want = separately(&c);
            // The second layer matters: the same run with a = 1 differs.
            let ones: Vec<RunConfig> = c
                .iter()
                .map(|r| RunConfig {
                    outer: Source::Generate(OuterGen::Ones),
                    ..r.clone()
                })
                .collect();
            assert_ne!(separately(&ones)[1], want[1], "{act}");
            assert_eq!(laned(&c), want, "{act} B={batch:?}");
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
            assert_eq!(laned(&c), separately(&c), "{act} B={batch:?} {noise:?}");
        }
    }

    /// Lanes resumed at different steps each take their own step's η_k, σ_k.
    #[test]
    fn scheduled_lanes_started_at_different_steps_match_separate_runs() {
        let c = scheduled(ActivationName::CubicLinear, Some(2), NoiseKind::Gaussian);
        let want = separately(&c);
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
        let mut b = LaneTrainer::from_trainers(trainers).unwrap();
        b.run(|_, _| {});
        for (i, t) in b.trainers().iter().enumerate() {
            let s = t.state();
            let theta: Vec<u64> = s.theta.iter().map(|v| v.to_bits()).collect();
            assert_eq!(want[i][want[i].len() - 2], (s.step, theta), "run {i}");
        }
    }

    #[test]
    fn a_run_diverging_in_lanes_stops_alone_at_its_own_step() {
        let mut c = configs(ActivationName::CubicLinear, Some(3), NoiseKind::Gaussian);
        c[2].eta = 3.0;
        c[9].eta = 1.5;
        let want = separately(&c);
        for i in [2, 9] {
            let status = &want[i].last().unwrap().1;
            assert_eq!(status, &ended_as_diverged(), "run {i} should diverge");
        }
        assert_eq!(laned(&c), want);
    }

    #[test]
    fn a_dimension_without_a_fixed_kernel_takes_lanes_too() {
        let mut c = configs(ActivationName::Quadratic, None, NoiseKind::Gaussian);
        for r in &mut c {
            r.d = 7;
        }
        assert_eq!(laned(&c), separately(&c));
    }

    fn ended_as_diverged() -> Vec<u64> {
        vec![Status::Diverged as u64, StopReason::Diverged as u64]
    }

    /// What a run leaves at its end: its step and Θ, then its divergence
    /// step and status, as [`separately`] appends them.
    fn ending(t: &Trainer) -> [(u64, Vec<u64>); 2] {
        let s = t.state();
        [
            (s.step, s.theta.iter().map(|v| v.to_bits()).collect()),
            (s.diverged_at.unwrap_or(u64::MAX), ended_as(s)),
        ]
    }

    /// The runs of `configs` through one lane trainer of `capacity` places, as the
    /// sweep engine drives it: a done run's place goes to the next pending
    /// run; once none is pending, done runs are compacted away. After
    /// `checkpoint_at` calls, every run (none is done then) goes through its
    /// checkpoint bytes into a new lane trainer, in reverse order.
    fn continuous(
        configs: &[RunConfig],
        capacity: usize,
        max_steps: u64,
        checkpoint_at: usize,
    ) -> (Fingerprints, (u64, u64)) {
        let mut out = vec![Vec::new(); configs.len()];
        let mut pending = 0..configs.len();
        let start = |i: usize| Trainer::new(&configs[i]).unwrap();
        // The config index of each place.
        let mut places: Vec<usize> = pending.by_ref().take(capacity).collect();
        let mut b = LaneTrainer::from_trainers(places.iter().map(|&i| start(i)).collect()).unwrap();
        let (mut useful, mut lanes) = (0, 0);
        for call in 0.. {
            for (i, r) in b.advance(max_steps) {
                out[places[i]].push(fingerprint(&r));
            }
            for i in 0..places.len() {
                if !b.trainers()[i].is_done() {
                    continue;
                }
                let Some(next) = pending.next() else { break };
                let done = b.replace(i, start(next)).unwrap();
                out[places[i]].extend(ending(&done));
                places[i] = next;
            }
            if pending.is_empty() && b.trainers().iter().any(Trainer::is_done) {
                let done: Vec<usize> = (0..places.len())
                    .filter(|&i| b.trainers()[i].is_done())
                    .collect();
                for &i in &done {
                    out[places[i]].extend(ending(&b.trainers()[i]));
                }
                let kept = b.compact();
                places = kept.iter().map(|&i| places[i]).collect();
                if places.is_empty() {
                    break;
                }
            }
            if call == checkpoint_at {
                let (u, l) = b.steps();
                (useful, lanes) = (useful + u, lanes + l);
                let resumed: Vec<Trainer> = b
                    .into_trainers()
                    .into_iter()
                    .rev()
                    .map(|t| {
                        let state = RunState::from_bytes(&t.state().to_bytes()).unwrap();
                        Trainer::resume(t.config(), state).unwrap()
                    })
                    .collect();
                places.reverse();
                b = LaneTrainer::from_trainers(resumed).unwrap();
            }
        }
        let (u, l) = b.steps();
        (out, (useful + u, lanes + l))
    }

    #[test]
    fn runs_refilled_compacted_and_resumed_regrouped_are_bit_identical_to_separate_runs() {
        let mut c = configs(ActivationName::CubicLinear, Some(3), NoiseKind::Gaussian);
        // Runs of very different lengths, three diverging early.
        for (i, r) in c.iter_mut().enumerate() {
            r.steps = 400 + 350 * (i as u64 % 4);
        }
        c[1].eta = 3.0;
        c[2].eta = 2.0;
        c[6].eta = 2.5;
        c.extend(configs(
            ActivationName::CubicLinear,
            Some(3),
            NoiseKind::Rademacher,
        ));
        // Every third run stops by `stop_when` about half way, when its
        // loss falls below the loss it records near mid-budget alone.
        for r in c.iter_mut().step_by(3).filter(|r| r.eta < 1.0) {
            let mut alone = Trainer::new(r).unwrap();
            let mut half = f64::NAN;
            alone.run(|m| {
                if m.step <= r.steps / 2 {
                    half = m.loss;
                }
            });
            r.stop_when = Some(format!("loss < {half:e}").parse().unwrap());
            r.stop_check_every = Some(25 + r.seed % 7);
        }
        let want = separately(&c);
        assert!(
            want.iter()
                .filter(|w| w.last().unwrap().1 == ended_as_diverged())
                .count()
                >= 3
        );
        let stopped = want
            .iter()
            .zip(&c)
            .filter(|(w, c)| {
                let why = StopReason::StopWhen as u64;
                w.last().unwrap().1[1] == why && w[w.len() - 2].0 < c.steps
            })
            .count();
        assert!(stopped >= 4, "{stopped} runs stopped by stop_when");
        for (capacity, max_steps, checkpoint_at) in [(8, 37, 20), (6, u64::MAX, 5), (8, 1000, 3)] {
            let (got, (useful, lanes)) = continuous(&c, capacity, max_steps, checkpoint_at);
            for (k, (g, w)) in got.iter().zip(&want).enumerate() {
                let at = g.iter().zip(w).position(|(a, b)| a != b);
                assert!(
                    at.is_none() && g.len() == w.len(),
                    "capacity {capacity}, max_steps {max_steps}: run {k} differs at \
                     {at:?} ({} entries, {} wanted)",
                    g.len(),
                    w.len()
                );
            }
            let steps: u64 = want.iter().map(|w| w[w.len() - 2].0).sum();
            assert_eq!(useful, steps);
            assert!(lanes >= useful && lanes < 2 * useful, "{lanes} {useful}");
        }
    }

    #[test]
    fn a_compacted_lane_trainer_below_min_lanes_steps_its_runs_one_by_one() {
        let mut c = configs(ActivationName::Tanh, None, NoiseKind::Gaussian);
        c.truncate(LANES);
        for r in &mut c[MIN_LANES - 1..] {
            r.steps = 10;
        }
        let mut b = LaneTrainer::new(&c).unwrap();
        assert!(b.is_laned());
        while !b.trainers()[LANES - 1].is_done() {
            b.advance(u64::MAX);
        }
        assert_eq!(b.compact(), (0..MIN_LANES - 1).collect::<Vec<_>>());
        assert!(!b.is_laned());
        let other = Trainer::new(&configs(ActivationName::Tanh, None, NoiseKind::Gaussian)[10]);
        let live = b.replace(0, other.unwrap());
        assert!(live.is_err(), "a live run's place is not taken");
    }

    #[test]
    fn runs_of_different_shapes_are_refused() {
        let mut c = configs(ActivationName::Tanh, None, NoiseKind::Gaussian);
        c[3].m = 7;
        let err = LaneTrainer::new(&c).err().unwrap();
        assert!(err.to_string().contains("lanes"), "{err}");
    }
}
