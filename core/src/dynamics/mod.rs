//! The algorithms of docs/science.md §5 behind one interface, [`Dynamics`]: a
//! run asks its dynamics to advance the [`RunState`] by some steps; all
//! randomness and all evolving values live in the state, so any dynamics
//! checkpoints and resumes the same way. docs/dynamics.md describes each.

mod flow;
pub(crate) mod label_noise;
mod margin;
mod sam;

pub use flow::Flow;
pub use label_noise::LabelNoise;
pub use margin::{Margin, MarginStats, MaxMargin, logistic_loss, max_margin};
pub use sam::Sam;

use crate::config::{AlgorithmName, RunConfig};
use crate::data::Problem;
use crate::state::RunState;

pub trait Dynamics: Send {
    /// Takes up to `steps` steps. On divergence it stops there, with
    /// `state.status = Diverged` and `state.diverged_at` set.
    fn advance(&mut self, problem: &Problem, state: &mut RunState, steps: u64);

    /// The run's time at `state`, on the clock that makes runs of different
    /// dynamics comparable (docs/dynamics.md); NaN where none is defined.
    fn time(&self, state: &RunState) -> f64;
}

/// The dynamics a configuration names.
pub fn for_config(config: &RunConfig) -> Box<dyn Dynamics> {
    match config.algorithm {
        AlgorithmName::LabelNoise => Box::new(LabelNoise::new(config)),
        AlgorithmName::Sam => Box::new(Sam::new(config)),
        AlgorithmName::Flow => Box::new(Flow::new(config)),
        AlgorithmName::Margin => Box::new(Margin::new(config)),
    }
}

/// Whether a step's `loss` makes its run diverged: above `limit` or not a
/// number. Tested after every step, in every lane; `|` rather than `||`, so
/// that the lanes test all of theirs without a branch (the same result).
#[inline(always)]
pub(crate) fn is_divergent(loss: f64, limit: f64) -> bool {
    loss.is_nan() | (loss > limit)
}

/// Ends the run as diverged at the current step when `loss`
/// [`is_divergent`]; says whether it did.
#[inline(always)]
fn diverged(state: &mut RunState, loss: f64, limit: f64) -> bool {
    let divergent = is_divergent(loss, limit);
    if divergent {
        state.diverge();
    }
    divergent
}
