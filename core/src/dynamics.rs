//! The algorithms of SCIENCE.md §2 behind one interface, [`Dynamics`]: a
//! run asks its dynamics to advance the [`RunState`] by some steps; all
//! randomness and all evolving values live in the state, so any dynamics
//! checkpoints and resumes the same way.

use crate::config::{AlgorithmName, RunConfig};
use crate::data::Problem;
use crate::state::RunState;

pub trait Dynamics: Send {
    /// Takes up to `steps` steps. On divergence it stops there, with
    /// `state.status = Diverged` and `state.diverged_at` set.
    fn advance(&mut self, problem: &Problem, state: &mut RunState, steps: u64);
}

/// The dynamics a configuration names.
pub fn for_config(config: &RunConfig) -> Box<dyn Dynamics> {
    match config.algorithm {
        AlgorithmName::LabelNoise => Box::new(LabelNoise::new(config)),
    }
}

pub use crate::label_noise::LabelNoise;
