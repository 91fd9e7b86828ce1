//! The algorithms of docs/science.md §5 behind one interface, [`Dynamics`]
//! (contract.rs): a run asks its dynamics to advance the
//! [`RunState`](crate::state::RunState) by some steps; all randomness and all
//! evolving values live in the state, so any dynamics checkpoints and
//! resumes the same way. docs/dynamics.md describes each.

mod contract;
mod flow;
pub(crate) mod label_noise;
mod margin;
mod sam;

pub use contract::Dynamics;
pub(crate) use contract::is_divergent;
pub use flow::Flow;
pub use label_noise::LabelNoise;
pub use margin::{Margin, MarginStats, MaxMargin, logistic_loss, max_margin};
pub use sam::Sam;

use crate::config::{AlgorithmName, RunConfig};

/// The dynamics a configuration names.
pub fn for_config(config: &RunConfig) -> Box<dyn Dynamics> {
    match config.algorithm {
        AlgorithmName::LabelNoise => Box::new(LabelNoise::new(config)),
        AlgorithmName::Sam => Box::new(Sam::new(config)),
        AlgorithmName::Flow => Box::new(Flow::new(config)),
        AlgorithmName::Margin => Box::new(Margin::new(config)),
    }
}
