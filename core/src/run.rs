//! [`Trainer`]: one run from its configuration to its last record. It owns
//! the problem, the dynamics and the [`RunState`], advances in chunks the
//! caller chooses (so a sweep can checkpoint or stop between them), and
//! emits a [`Metrics`] record at every step of the log schedule.

use crate::activation::Activation;
use crate::config::{AlgorithmName, RunConfig};
use crate::data::{Problem, initial_second_layer, initial_weights};
use crate::dynamics::{self, Dynamics, MarginStats, MaxMargin, logistic_loss, max_margin};
use crate::error::{CoreError, Result};
use crate::metrics::{MeasureOptions, Metrics, Optimum};
use crate::rng::Streams;
use crate::schedule::LogSchedule;
use crate::state::{RunState, Status};

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
        config.validate()?;
        let mut streams = Streams::from_seed(config.seed);
        let problem = Problem::build(config, &mut streams)?;
        let theta = initial_weights(config, &mut streams)?;
        let second_layer = initial_second_layer(config, &theta, &mut streams);
        let state = RunState::start(config.run_id(), theta, second_layer, streams);
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

    /// The step of the next record, if any.
    pub fn next_record_step(&self) -> Option<u64> {
        if self.is_done() {
            return None;
        }
        match self.state.last_record {
            None => Some(0),
            Some(s) => self.schedule.next_after(s),
        }
    }

    /// Advances at most `max_steps` towards the next record; returns the
    /// record when it is reached (or when the run diverges on the way).
    pub fn advance(&mut self, max_steps: u64) -> Option<Metrics> {
        let target = self.next_record_step()?;
        let todo = (target - self.state.step).min(max_steps);
        if todo > 0 {
            self.dynamics.advance(&self.problem, &mut self.state, todo);
        }
        self.conclude(target)
    }

    /// After steps towards `target` (by this run's dynamics or by a
    /// [`BatchTrainer`](crate::BatchTrainer)): the record, if one is due.
    pub(crate) fn conclude(&mut self, target: u64) -> Option<Metrics> {
        let diverged = self.state.status == Status::Diverged;
        if self.state.step < target && !diverged {
            return None;
        }
        let record = self.measure();
        self.state.last_record = Some(self.state.step);
        if !diverged && self.state.step == self.config.steps {
            self.state.status = Status::Finished;
        }
        Some(record)
    }

    /// Runs to the next record.
    pub fn next_record(&mut self) -> Option<Metrics> {
        self.advance(u64::MAX)
    }

    /// Every metric at the current state.
    pub fn measure(&self) -> Metrics {
        let opts = MeasureOptions {
            hessian: self.config.hessian,
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
    fn records_follow_the_schedule() {
        let c = small();
        let mut t = Trainer::new(&c).unwrap();
        let mut steps = Vec::new();
        t.run(|r| steps.push(r.step));
        assert_eq!(steps, LogSchedule::new(500, 10, None).all());
        assert_eq!(t.state().status, Status::Finished);
    }

    #[test]
    fn resumed_run_is_bit_identical_to_an_uninterrupted_one() {
        for batch_size in [None, Some(2)] {
            let c = RunConfig {
                batch_size,
                n: 3,
                ..small()
            };
            let mut whole = Trainer::new(&c).unwrap();
            let mut want = Vec::new();
            whole.run(|r| want.push(r.clone()));

            let mut first = Trainer::new(&c).unwrap();
            let mut got = Vec::new();
            // Stop mid-interval, checkpoint through bytes, resume.
            for _ in 0..7 {
                if let Some(r) = first.advance(37) {
                    got.push(r);
                }
            }
            let state = RunState::from_bytes(&first.state().to_bytes()).unwrap();
            let mut second = Trainer::resume(&c, state).unwrap();
            second.run(|r| got.push(r.clone()));
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

    #[test]
    fn resume_refuses_a_state_of_another_run() {
        let c = small();
        let t = Trainer::new(&c).unwrap();
        let other = RunConfig { seed: 4, ..c };
        assert!(Trainer::resume(&other, t.state().clone()).is_err());
    }
}
