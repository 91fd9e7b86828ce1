//! [`RunState`]: everything that changes while a run trains, and nothing
//! that can be recomputed from its configuration. Checkpointing a run is
//! saving this; resuming is rebuilding the problem from the config's seed
//! and continuing from it, bit-identically.

use crate::error::{CoreError, Result};
use crate::rng::{Stream, Streams};
use crate::run_id::RunId;
use serde::{Deserialize, Serialize};

/// Where a run stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Running,
    /// The step budget was spent, or the run stopped early as it asked
    /// (its `stopped_early` reason).
    Finished,
    /// The loss became non-finite or exceeded `diverge_loss`.
    Diverged,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Finished => "finished",
            Self::Diverged => "diverged",
        }
    }
}

/// Why a run ended: the `stop_reason` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The step budget was spent.
    Steps,
    /// Its `stop_when` condition held at a check.
    StopWhen,
    /// The flow reached a fixed point of its integrator: every further step
    /// would leave the state as it is.
    Stationary,
    /// The loss became non-finite or exceeded `diverge_loss`.
    Diverged,
}

impl StopReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Steps => "steps",
            Self::StopWhen => "stop_when",
            Self::Stationary => "stationary",
            Self::Diverged => "diverged",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// The configuration this state belongs to.
    pub run_id: RunId,
    /// Steps taken.
    pub step: u64,
    /// Θ, m×d row-major, stored as IEEE bit patterns so NaN and every last
    /// bit survive a checkpoint.
    #[serde(with = "f64_bits")]
    pub theta: Vec<f64>,
    /// The mini-batch stream, mid-sequence.
    pub batch_rng: Stream,
    /// The label-noise stream, mid-sequence.
    pub noise_rng: Stream,
    pub status: Status,
    /// The step at which the run diverged.
    pub diverged_at: Option<u64>,
    /// The step of the last emitted record (`None` before step 0's).
    pub last_record: Option<u64>,
    /// The second layer a (m values) of the `margin` dynamics, which trains
    /// it; empty for the others, whose second layer is fixed to ones.
    #[serde(default, with = "f64_bits")]
    pub second_layer: Vec<f64>,
    /// The dynamics' own clock where it is not a function of the step
    /// (`flow`: the flow time t on the manifold; `margin`: Σ of step sizes).
    #[serde(default, with = "f64_bits_scalar")]
    pub time: f64,
    /// `flow`: the integrator's current step size h (0 before the first step).
    #[serde(default, with = "f64_bits_scalar")]
    pub flow_h: f64,
    /// `flow`: whether the plain-GD phase has reached the manifold.
    #[serde(default)]
    pub on_manifold: bool,
    /// `flow`: how many steps in a row have left Θ as it was, bit for bit.
    #[serde(default)]
    pub flow_still: u32,
    /// Why a run that finished before its budget stopped (`stop_when`,
    /// `stationary`); `None` while running and after the budget is spent.
    #[serde(default)]
    pub stopped_early: Option<StopReason>,
}

/// The checkpoint format's version; bumped when [`RunState`] changes.
const CHECKPOINT_VERSION: u32 = 2;

#[derive(Serialize, Deserialize)]
struct Envelope {
    format: String,
    version: u32,
    state: RunState,
}

impl RunState {
    /// A state at step 0 with weights Θ₀ (and second layer `a`, possibly
    /// empty) and the run's batch and noise streams.
    pub fn start(run_id: RunId, theta: Vec<f64>, second_layer: Vec<f64>, streams: Streams) -> Self {
        Self {
            run_id,
            step: 0,
            theta,
            batch_rng: streams.batch,
            noise_rng: streams.noise,
            status: Status::Running,
            diverged_at: None,
            last_record: None,
            second_layer,
            time: 0.0,
            flow_h: 0.0,
            on_manifold: false,
            flow_still: 0,
            stopped_early: None,
        }
    }

    /// Ends the run as diverged at the current step.
    pub fn diverge(&mut self) {
        self.status = Status::Diverged;
        self.diverged_at = Some(self.step);
    }

    /// Ends the run as `finished` at the current step, for `reason`.
    pub fn stop_early(&mut self, reason: StopReason) {
        self.status = Status::Finished;
        self.stopped_early = Some(reason);
    }

    /// Why the run ended; `None` while it runs.
    pub fn stop_reason(&self) -> Option<StopReason> {
        match self.status {
            Status::Running => None,
            Status::Diverged => Some(StopReason::Diverged),
            Status::Finished => Some(self.stopped_early.unwrap_or(StopReason::Steps)),
        }
    }

    /// The checkpoint bytes (self-describing JSON, exact for every f64).
    pub fn to_bytes(&self) -> Vec<u8> {
        let env = Envelope {
            format: "sharpsweep-checkpoint".into(),
            version: CHECKPOINT_VERSION,
            state: self.clone(),
        };
        serde_json::to_vec(&env).expect("a RunState always serialises")
    }

    /// Reads checkpoint bytes, refusing damaged files and other versions.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let env: Envelope = serde_json::from_slice(bytes)
            .map_err(|e| CoreError::Checkpoint(format!("unreadable or truncated: {e}")))?;
        if env.format != "sharpsweep-checkpoint" || env.version != CHECKPOINT_VERSION {
            return Err(CoreError::Checkpoint(format!(
                "format {} version {} is not version {CHECKPOINT_VERSION}",
                env.format, env.version
            )));
        }
        Ok(env.state)
    }
}

mod f64_bits_scalar {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(v.to_bits())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(f64::from_bits(u64::deserialize(d)?))
    }
}

mod f64_bits {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|x| x.to_bits()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Ok(Vec::<u64>::deserialize(d)?
            .into_iter()
            .map(f64::from_bits)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn checkpoint_round_trips_every_bit() {
        let mut s = Streams::from_seed(9);
        s.noise.next_u64();
        let theta = vec![0.1, -0.0, f64::NAN, f64::MIN_POSITIVE, 1.0 / 3.0];
        let mut state = RunState::start(RunId(0xdead_beef), theta, vec![-0.0, 0.7], s);
        state.step = 12345;
        state.last_record = Some(12000);
        state.time = 1.0 / 7.0;
        state.flow_h = f64::MIN_POSITIVE;
        state.on_manifold = true;
        state.flow_still = 7;
        let back = RunState::from_bytes(&state.to_bytes()).unwrap();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back.theta), bits(&state.theta));
        assert_eq!(bits(&back.second_layer), bits(&state.second_layer));
        assert_eq!(back.time.to_bits(), state.time.to_bits());
        assert_eq!(back.flow_h.to_bits(), state.flow_h.to_bits());
        assert!(back.on_manifold);
        assert_eq!(back.flow_still, 7);
        assert_eq!(back.noise_rng, state.noise_rng);
        assert_eq!((back.step, back.last_record), (12345, Some(12000)));
    }

    #[test]
    fn truncated_checkpoint_is_refused() {
        let state = RunState::start(RunId(1), vec![1.0; 30], Vec::new(), Streams::from_seed(1));
        let bytes = state.to_bytes();
        let err = RunState::from_bytes(&bytes[..bytes.len() / 2]).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }
}
