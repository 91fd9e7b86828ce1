//! [`Trainer`]: one run from its configuration to its last record. It owns
//! the problem, the dynamics and the [`RunState`], advances in chunks the
//! caller chooses (so a sweep can checkpoint or stop between them), and
//! emits a [`Metrics`] record at every step of the log schedule.
//!
//! Past 600 lines only with its tests: whole, chunked, checkpointed and
//! resumed runs compared bit for bit, for each dynamics.

use crate::activation::Activation;
use crate::config::{AlgorithmName, RunConfig};
use crate::data::{Problem, initial_second_layer, initial_weights};
use crate::dynamics::{self, Dynamics, MarginStats, MaxMargin, logistic_loss, max_margin};
use crate::error::{CoreError, Result};
use crate::metrics::{MeasureOptions, Metrics, Optimum};
use crate::rng::Streams;
use crate::run_id::RunId;
use crate::schedule::LogSchedule;
use crate::state::{RunState, Status, StopReason};

pub struct Trainer {
    config: RunConfig,
    problem: Problem,
    act: Activation,
    optimum: Option<Optimum>,
    /// The max-margin linear classifier of the data (`margin` only).
    max_margin: Option<MaxMargin>,
    schedule: LogSchedule,
    dynamics: Box<dyn Dynamics>,
    state: RunState,
}

impl Trainer {
    /// A fresh run at step 0.
    pub fn new(config: &RunConfig) -> Result<Self> {
        Self::with_run_id(config, config.run_id())
    }

    /// [`Trainer::new`] for a caller that already holds the run's id,
    /// `config.run_id()` (a sweep's plan computes every run's id once):
    /// computing it again encodes and hashes the whole configuration, a
    /// third of the setup of a small run.
    pub fn with_run_id(config: &RunConfig, run_id: RunId) -> Result<Self> {
        debug_assert_eq!(run_id, config.run_id());
        config.validate()?;
        let mut streams = Streams::from_seed(config.seed);
        let problem = Problem::build(config, &mut streams)?;
        let theta = initial_weights(config, &mut streams)?;
        let second_layer = initial_second_layer(config, &theta, &mut streams);
        let state = RunState::start(run_id, theta, second_layer, streams);
        Ok(Self::assemble(config, problem, state))
    }

    /// Continues a run from a checkpointed state of the same configuration.
    pub fn resume(config: &RunConfig, state: RunState) -> Result<Self> {
        config.validate()?;
        if state.run_id != config.run_id() {
            return Err(CoreError::Checkpoint(format!(
                "belongs to run {}, not {}",
                state.run_id,
                config.run_id()
            )));
        }
        let a_len = if config.algorithm == AlgorithmName::Margin {
            config.m
        } else {
            0
        };
        if state.theta.len() != config.m * config.d
            || state.second_layer.len() != a_len
            || state.step > config.steps
        {
            return Err(CoreError::Checkpoint(
                "does not match the configuration's shape".into(),
            ));
        }
        let problem = Problem::build(config, &mut Streams::from_seed(config.seed))?;
        Ok(Self::assemble(config, problem, state))
    }

    fn assemble(config: &RunConfig, problem: Problem, state: RunState) -> Self {
        let act = config.activation();
        let margin = config.algorithm == AlgorithmName::Margin;
        Self {
            // The margin dynamics has no zero-loss manifold, hence no z*.
            optimum: (!margin)
                .then(|| Optimum::of(&problem, act, config.m))
                .flatten(),
            max_margin: margin.then(|| max_margin(&problem)).flatten(),
            schedule: LogSchedule::new(config.steps, config.log_points, config.log_every),
            dynamics: dynamics::for_config(config),
            config: config.clone(),
            problem,
            act,
            state,
        }
    }

    pub fn config(&self) -> &RunConfig {
        &self.config
    }
    pub fn problem(&self) -> &Problem {
        &self.problem
    }
    pub fn state(&self) -> &RunState {
        &self.state
    }
    pub fn optimum(&self) -> Option<&Optimum> {
        self.optimum.as_ref()
    }
    pub(crate) fn state_mut(&mut self) -> &mut RunState {
        &mut self.state
    }
    pub fn max_margin(&self) -> Option<&MaxMargin> {
        self.max_margin.as_ref()
    }

    /// No record is left to emit.
    pub fn is_done(&self) -> bool {
        self.state.status != Status::Running
    }

    /// The next step at which the run must be concluded
    /// ([`Trainer::advance`] stops there): its next record or its next check
    /// of `stop_when`; `None` once it is done.
    pub fn next_event_step(&self) -> Option<u64> {
        if self.is_done() {
            return None;
        }
        let record = self.next_scheduled_record()?;
        Some(self.next_check().map_or(record, |check| check.min(record)))
    }

    /// The step of the next record on the log schedule.
    fn next_scheduled_record(&self) -> Option<u64> {
        match self.state.last_record {
            None => Some(0),
            Some(s) => self.schedule.next_after(s),
        }
    }

    /// The next multiple of `stop_check_every` after the current step, if
    /// the run has a `stop_when`: a check is due at a multiple whatever
    /// the chunks, lanes or checkpoints the run was stepped in.
    fn next_check(&self) -> Option<u64> {
        self.config.stop_when.as_ref()?;
        let every = self.config.stop_check_every();
        Some((self.state.step / every + 1).saturating_mul(every))
    }

    /// Advances at most `max_steps` towards the next event; returns the
    /// record when one is due (or when the run ends on the way).
    pub fn advance(&mut self, max_steps: u64) -> Option<Metrics> {
        let target = self.next_event_step()?;
        let todo = (target - self.state.step).min(max_steps);
        if todo > 0 {
            self.dynamics.advance(&self.problem, &mut self.state, todo);
        }
        self.conclude(target)
    }

    /// After steps towards `target` (by this run's dynamics or by a
    /// [`BatchTrainer`](crate::LaneTrainer)): the record, if one is due.
    /// At a check of `stop_when` that holds the run stops there, with a
    /// last record; a run its dynamics ended (diverged, stationary) gets
    /// its last record where it ended.
    pub(crate) fn conclude(&mut self, target: u64) -> Option<Metrics> {
        let ended = self.is_done();
        let step = self.state.step;
        if step < target && !ended {
            return None;
        }
        let recorded = ended || self.next_scheduled_record() == Some(step);
        let checked = !ended && self.is_check_step(step);
        if !recorded && !checked {
            return None;
        }
        let record = self.measure();
        let stop = checked
            && self
                .config
                .stop_when
                .as_ref()
                .is_some_and(|c| c.holds(&|m| record.value(m)));
        if stop {
            self.state.stop_early(StopReason::StopWhen);
        } else if !recorded {
            return None;
        } else if !ended && step == self.config.steps {
            self.state.status = Status::Finished;
        }
        self.state.last_record = Some(step);
        Some(record)
    }

    /// Whether `stop_when` is checked at `step`.
    fn is_check_step(&self, step: u64) -> bool {
        self.config.stop_when.is_some()
            && step > 0
            && step.is_multiple_of(self.config.stop_check_every())
    }

    /// Runs to the next record.
    pub fn next_record(&mut self) -> Option<Metrics> {
        // A stop check that does not stop the run is an event without a record.
        while !self.is_done() {
            if let Some(r) = self.advance(u64::MAX) {
                return Some(r);
            }
        }
        None
    }

    /// Every metric at the current state.
    pub fn measure(&self) -> Metrics {
        let opts = MeasureOptions {
            hessian: self.config.hessian_options(),
            cluster_tol: self.config.cluster_tol,
        };
        let mut record = Metrics::measure(
            &self.problem,
            self.act,
            self.config.m,
            &self.state.theta,
            self.state.step,
            self.optimum.as_ref(),
            opts,
        );
        record.time = self.dynamics.time(&self.state);
        if self.config.algorithm == AlgorithmName::Margin {
            // The square-loss quantities of the fixed-second-layer model do
            // not describe this net; its loss is the logistic one.
            let (w, a) = (&self.state.theta, &self.state.second_layer);
            record.loss = logistic_loss(&self.problem, w, a, self.config.alpha);
            record.trace_hessian = f64::NAN;
            record.sharpness_r = f64::NAN;
            record.riem_grad_norm = f64::NAN;
            record.hessian = None;
            record.margin = Some(MarginStats::of(
                &self.problem,
                w,
                a,
                self.config.alpha,
                self.max_margin.as_ref(),
            ));
        }
        record
    }

    /// Runs to completion, calling `on_record` for every record.
    pub fn run(&mut self, mut on_record: impl FnMut(&Metrics)) -> Option<Metrics> {
        let mut last = None;
        while let Some(r) = self.next_record() {
            on_record(&r);
            last = Some(r);
        }
        last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> RunConfig {
        RunConfig {
            steps: 500,
            log_points: 10,
            seed: 3,
            eta: 0.02,
            ..Default::default()
        }
    }

    #[test]
    fn a_run_given_its_id_is_the_run_that_computes_it() {
        let c = small();
        let mut given = Trainer::with_run_id(&c, c.run_id()).unwrap();
        let mut computed = Trainer::new(&c).unwrap();
        assert_eq!(given.state().run_id, c.run_id());
        let (mut a, mut b) = (Vec::new(), Vec::new());
        given.run(|r| a.push(r.clone()));
        computed.run(|r| b.push(r.clone()));
        // Debug text: equal bit for bit, NaN fields included.
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert!(!a.is_empty());
        assert_eq!(given.state().theta, computed.state().theta);
    }

    #[test]
    fn records_follow_the_schedule() {
        let c = small();
        let mut t = Trainer::new(&c).unwrap();
        let mut steps = Vec::new();
        t.run(|r| steps.push(r.step));
        assert_eq!(steps, LogSchedule::new(500, 10, None).all());
        assert_eq!(t.state().status, Status::Finished);
    }

    /// The run of `c` straight through, and the same run stopped after
    /// `chunks` advances of at most `steps`, checkpointed through bytes and
    /// resumed: each trainer at its end, with the records it made.
    fn whole_and_resumed(
        c: &RunConfig,
        chunks: usize,
        steps: u64,
    ) -> ((Trainer, Vec<Metrics>), (Trainer, Vec<Metrics>)) {
        let mut whole = Trainer::new(c).unwrap();
        let mut want = Vec::new();
        whole.run(|r| want.push(r.clone()));
        let mut first = Trainer::new(c).unwrap();
        let mut got = Vec::new();
        for _ in 0..chunks {
            if let Some(r) = first.advance(steps) {
                got.push(r);
            }
        }
        let state = RunState::from_bytes(&first.state().to_bytes()).unwrap();
        let mut second = Trainer::resume(c, state).unwrap();
        second.run(|r| got.push(r.clone()));
        ((whole, want), (second, got))
    }

    #[test]
    fn resumed_run_is_bit_identical_to_an_uninterrupted_one() {
        for batch_size in [None, Some(2)] {
            let c = RunConfig {
                batch_size,
                n: 3,
                ..small()
            };
            // Stop mid-interval, checkpoint through bytes, resume.
            let ((_, want), (_, got)) = whole_and_resumed(&c, 7, 37);
            assert_eq!(got.len(), want.len());
            for (a, b) in got.iter().zip(&want) {
                assert_eq!(a.step, b.step);
                assert_eq!(a.loss.to_bits(), b.loss.to_bits(), "step {}", a.step);
                assert_eq!(a.z, b.z);
            }
        }
    }

    #[test]
    fn every_dynamics_resumes_bit_identically_from_a_checkpoint() {
        use crate::ActivationName;
        use crate::config::{AlgorithmName, DataGen, LabelGen, Source};
        let configs = [
            RunConfig {
                algorithm: AlgorithmName::Sam,
                rho: 0.05,
                n: 4,
                ..small()
            },
            RunConfig {
                algorithm: AlgorithmName::Flow,
                data: Source::Generate(DataGen::Orthonormal),
                d: 4,
                steps: 120,
                ..small()
            },
            RunConfig {
                algorithm: AlgorithmName::Margin,
                activation: ActivationName::LeakyRelu,
                data: Source::Generate(DataGen::Separable),
                labels: Source::Generate(LabelGen::FromData),
                n: 8,
                init_scale: 0.1,
                loss_scaled_lr: true,
                ..small()
            },
        ];
        for c in configs {
            let mut whole = Trainer::new(&c).unwrap();
            let mut want = Vec::new();
            whole.run(|r| want.push(r.clone()));
            let mut first = Trainer::new(&c).unwrap();
            let mut got = Vec::new();
            for _ in 0..5 {
                if let Some(r) = first.advance(13) {
                    got.push(r);
                }
            }
            let state = RunState::from_bytes(&first.state().to_bytes()).unwrap();
            let mut second = Trainer::resume(&c, state).unwrap();
            second.run(|r| got.push(r.clone()));
            assert_eq!(got.len(), want.len(), "{:?}", c.algorithm);
            for (a, b) in got.iter().zip(&want) {
                assert_eq!(
                    a.loss.to_bits(),
                    b.loss.to_bits(),
                    "{:?} step {}",
                    c.algorithm,
                    a.step
                );
                assert_eq!(a.time.to_bits(), b.time.to_bits());
                assert_eq!(a.z, b.z);
                assert_eq!(a.margin, b.margin);
            }
            assert_eq!(whole.state().theta, second.state().theta);
            assert_eq!(whole.state().second_layer, second.state().second_layer);
        }
    }

    /// Scheduled runs of every dynamics that takes a schedule, on every
    /// label-noise path (direct full batch and mini-batch, GEMM).
    fn scheduled() -> Vec<RunConfig> {
        use crate::ActivationName;
        use crate::anneal::AnnealKind;
        use crate::config::{AlgorithmName, DataGen, LabelGen, Source};
        vec![
            RunConfig {
                schedule: AnnealKind::Cosine,
                eta_end: Some(0.002),
                sigma_end: Some(0.3),
                ..small()
            },
            RunConfig {
                schedule: AnnealKind::Exponential,
                batch_size: Some(2),
                n: 5,
                eta_end: Some(0.005),
                sigma_end: Some(0.001),
                noise: crate::NoiseKind::Rademacher,
                ..small()
            },
            RunConfig {
                // m·d·B = 1024: the GEMM path.
                schedule: AnnealKind::Linear,
                m: 64,
                d: 8,
                n: 2,
                eta: 0.002,
                sigma: 0.0,
                sigma_end: Some(0.2),
                steps: 200,
                ..small()
            },
            RunConfig {
                algorithm: AlgorithmName::Sam,
                schedule: AnnealKind::Linear,
                eta_end: Some(0.0),
                n: 4,
                ..small()
            },
            RunConfig {
                algorithm: AlgorithmName::Margin,
                schedule: AnnealKind::Cosine,
                eta_end: Some(0.001),
                activation: ActivationName::LeakyRelu,
                data: Source::Generate(DataGen::Separable),
                labels: Source::Generate(LabelGen::FromData),
                n: 8,
                init_scale: 0.1,
                ..small()
            },
        ]
    }

    #[test]
    fn scheduled_runs_resume_bit_identically_and_differ_from_constant_ones() {
        for c in scheduled() {
            c.validate().unwrap();
            assert!(crate::kernel::uses_gemm(c.m, c.d, c.batch()) == (c.m == 64));
            let ((whole, want), (second, got)) = whole_and_resumed(&c, 5, 29);
            let name = format!("{:?} {:?}", c.algorithm, c.schedule);
            assert_eq!(got.len(), want.len(), "{name}");
            for (a, b) in got.iter().zip(&want) {
                assert_eq!(a.loss.to_bits(), b.loss.to_bits(), "{name} step {}", a.step);
                assert_eq!(a.time.to_bits(), b.time.to_bits(), "{name} step {}", a.step);
                assert_eq!(a.z, b.z);
            }
            assert_eq!(whole.state().theta, second.state().theta, "{name}");
            assert_eq!(whole.state().status, Status::Finished, "{name}");
            // The schedule is felt: the constant run ends elsewhere.
            let constant = RunConfig {
                schedule: crate::anneal::AnnealKind::Constant,
                ..c.clone()
            };
            let mut plain = Trainer::new(&constant).unwrap();
            plain.run(|_| {});
            assert_ne!(plain.state().theta, whole.state().theta, "{name}");
        }
    }

    /// A schedule whose ends equal its starts steps through the scheduled
    /// code (per-step scales, per-step noise draws) and must give every bit
    /// of the constant run; its clock is the sum, equal to k·η²σ²/(2B) to
    /// rounding.
    #[test]
    fn a_schedule_that_stays_put_gives_the_bits_of_a_constant_run() {
        use crate::anneal::AnnealKind;
        for c in scheduled().into_iter().take(3) {
            let constant = RunConfig {
                schedule: AnnealKind::Constant,
                ..c.clone()
            };
            for kind in [
                AnnealKind::Linear,
                AnnealKind::Cosine,
                AnnealKind::Exponential,
            ] {
                let flat = RunConfig {
                    schedule: kind,
                    sigma: 0.05,
                    eta_end: None,
                    sigma_end: None,
                    ..constant.clone()
                };
                let plain = RunConfig {
                    schedule: AnnealKind::Constant,
                    ..flat.clone()
                };
                let (mut a, mut b) = (Vec::new(), Vec::new());
                Trainer::new(&flat).unwrap().run(|r| a.push(r.clone()));
                Trainer::new(&plain).unwrap().run(|r| b.push(r.clone()));
                assert_eq!(a.len(), b.len());
                for (x, y) in a.iter().zip(&b) {
                    assert_eq!(
                        x.loss.to_bits(),
                        y.loss.to_bits(),
                        "{kind:?} step {}",
                        x.step
                    );
                    assert_eq!(x.z, y.z);
                    assert!((x.time - y.time).abs() <= 1e-12 * y.time, "{kind:?}");
                }
            }
        }
    }

    #[test]
    fn divergence_ends_the_run_with_a_status_not_a_panic() {
        let c = RunConfig {
            eta: 5.0,
            steps: 10_000,
            seed: 1,
            ..Default::default()
        };
        let mut t = Trainer::new(&c).unwrap();
        let last = t.run(|_| {}).unwrap();
        assert_eq!(t.state().status, Status::Diverged);
        let at = t.state().diverged_at.unwrap();
        assert_eq!(last.step, at);
        assert!(at < 10_000);
    }

    /// Plain GD runs whose loss falls below 10⁻⁴ at different steps (by
    /// seed and η), checked every 70 steps; one never gets there.
    fn stopping_runs() -> Vec<RunConfig> {
        (0..6)
            .map(|i| RunConfig {
                sigma: 0.0,
                // Run 5 learns too slowly to meet the condition in its budget.
                eta: if i == 5 {
                    1e-5
                } else {
                    0.02 + 0.005 * i as f64
                },
                seed: i,
                steps: 3000,
                log_points: 20,
                stop_when: Some("loss < 1e-4 or sv_ratio2_z < 1e-9".parse().unwrap()),
                stop_check_every: Some(70),
                ..Default::default()
            })
            .collect()
    }

    /// (step, loss bits) of every record, and the run's end.
    type Trace = (Vec<(u64, u64)>, u64, Option<StopReason>);

    fn trace_of(records: &[Metrics], t: &Trainer) -> Trace {
        let steps = records.iter().map(|r| (r.step, r.loss.to_bits())).collect();
        (steps, t.state().step, t.state().stop_reason())
    }

    #[test]
    fn stop_when_ends_a_run_at_one_check_step_alone_in_lanes_or_resumed() {
        let configs = stopping_runs();
        let alone: Vec<Trace> = configs
            .iter()
            .map(|c| {
                let mut t = Trainer::new(c).unwrap();
                let mut records = Vec::new();
                t.run(|r| records.push(r.clone()));
                trace_of(&records, &t)
            })
            .collect();
        let stopped: Vec<&Trace> = alone
            .iter()
            .filter(|t| t.2 == Some(StopReason::StopWhen))
            .collect();
        assert!(stopped.len() >= 4, "{alone:?}");
        for (_, step, _) in &stopped {
            assert!(*step % 70 == 0 && *step < 3000, "stopped at {step}");
        }
        let distinct: std::collections::HashSet<u64> = stopped.iter().map(|t| t.1).collect();
        assert!(distinct.len() >= 3, "the runs stop at different steps");
        assert_eq!(alone[5].2, Some(StopReason::Steps));
        assert_eq!(alone[5].1, 3000);
        for (records, step, _) in &stopped {
            assert_eq!(
                records.last().unwrap().0,
                *step,
                "a last record at the stop"
            );
        }

        // As lanes of one LaneTrainer, in chunks that straddle the checks.
        let mut lanes = crate::LaneTrainer::new(&configs).unwrap();
        let mut records = vec![Vec::new(); configs.len()];
        while !lanes.is_done() {
            for (i, r) in lanes.advance(33) {
                records[i].push(r);
            }
        }
        for (i, t) in lanes.trainers().iter().enumerate() {
            assert_eq!(trace_of(&records[i], t), alone[i], "lane {i}");
        }

        // Checkpointed from the lanes mid-run, at a check step and off it,
        // and resumed alone.
        for stop_at in [140, 251] {
            let mut lanes = crate::LaneTrainer::new(&configs).unwrap();
            let mut records = vec![Vec::new(); configs.len()];
            // The runs still going share one step; stopped ones are behind.
            let step =
                |b: &crate::LaneTrainer| b.trainers().iter().map(|t| t.state().step).max().unwrap();
            while step(&lanes) < stop_at && !lanes.is_done() {
                for (i, r) in lanes.advance(stop_at - step(&lanes)) {
                    records[i].push(r);
                }
            }
            for (i, t) in lanes.into_trainers().into_iter().enumerate() {
                let state = RunState::from_bytes(&t.state().to_bytes()).unwrap();
                let mut resumed = Trainer::resume(&configs[i], state).unwrap();
                resumed.run(|r| records[i].push(r.clone()));
                assert_eq!(
                    trace_of(&records[i], &resumed),
                    alone[i],
                    "run {i} from {stop_at}"
                );
            }
        }
    }

    /// Seed 0 reaches a fixed point of (Θ, h); seed 1 a Θ that no step
    /// moves while h cycles below its cap (it ran its whole budget before).
    #[test]
    fn the_flow_stops_by_itself_once_stationary_alone_or_resumed() {
        for seed in [0, 1] {
            flow_stops_once_stationary(seed);
        }
    }

    fn flow_stops_once_stationary(seed: u64) {
        let c = RunConfig {
            seed,
            log_points: 40,
            ..RunConfig::defaults_for(AlgorithmName::Flow)
        };
        let mut whole = Trainer::new(&c).unwrap();
        let mut want = Vec::new();
        whole.run(|r| want.push(r.clone()));
        assert_eq!(whole.state().stop_reason(), Some(StopReason::Stationary));
        let end = whole.state().step;
        assert!(end < c.steps / 10, "stationary only at step {end}");
        assert_eq!(
            want.last().unwrap().step,
            end,
            "a last record where it stopped"
        );

        // Resumed half-way, and a few steps before the end (within a run
        // of steps that leave Θ as it is, for seed 1).
        for resume_at in [end / 2, end - 5] {
            let mut first = Trainer::new(&c).unwrap();
            let mut got = Vec::new();
            while first.state().step < resume_at {
                got.extend(first.advance(resume_at - first.state().step));
            }
            let state = RunState::from_bytes(&first.state().to_bytes()).unwrap();
            let mut second = Trainer::resume(&c, state).unwrap();
            second.run(|r| got.push(r.clone()));
            assert_eq!(second.state().step, end);
            assert_eq!(second.state().stop_reason(), Some(StopReason::Stationary));
            // Debug prints every f64 exactly, and NaN (time before M) as itself.
            assert_eq!(format!("{got:?}"), format!("{want:?}"));
        }
    }

    #[test]
    fn stop_check_interval_is_part_of_the_identity_only_with_a_condition() {
        let plain = RunConfig::default();
        let unused = RunConfig {
            stop_check_every: Some(5),
            ..plain.clone()
        };
        assert_eq!(plain.run_id(), unused.run_id());
        let stop = RunConfig {
            stop_when: Some("loss  <  0.001".parse().unwrap()),
            ..plain.clone()
        };
        assert_ne!(stop.run_id(), plain.run_id());
        let spelt = RunConfig {
            stop_when: Some("loss<1e-3".parse().unwrap()),
            stop_check_every: Some(crate::config::DEFAULT_STOP_CHECK_EVERY),
            ..plain.clone()
        };
        assert_eq!(stop.run_id(), spelt.run_id());
        let checked_more = RunConfig {
            stop_check_every: Some(5),
            ..stop.clone()
        };
        assert_ne!(stop.run_id(), checked_more.run_id());
        // A configuration without a condition keeps the identity it had
        // before conditions existed: its JSON has no stop keys.
        let json = serde_json::to_string(&plain.canonical()).unwrap();
        assert!(!json.contains("stop"), "{json}");
    }

    #[test]
    fn a_condition_on_a_metric_the_algorithm_does_not_record_is_refused() {
        let c = RunConfig {
            stop_when: Some("loss < 1 or margin_ratio > 0.9".parse().unwrap()),
            ..Default::default()
        };
        let err = c.validate().unwrap_err();
        assert_eq!(err.field(), Some("stop_when"));
        assert!(err.to_string().contains("margin_ratio"), "{err}");
        let hessian = RunConfig {
            stop_when: Some("hessian_fro < 1".parse().unwrap()),
            ..Default::default()
        };
        assert!(hessian.validate().is_err());
        RunConfig {
            hessian: true,
            ..hessian
        }
        .validate()
        .unwrap();
    }

    #[test]
    fn resume_refuses_a_state_of_another_run() {
        let c = small();
        let t = Trainer::new(&c).unwrap();
        let other = RunConfig { seed: 4, ..c };
        assert!(Trainer::resume(&other, t.state().clone()).is_err());
    }
}
