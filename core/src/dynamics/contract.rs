//! The contract every dynamics keeps: [`Dynamics`], the interface a run
//! steps through, and the one divergence test all of them (and the lanes)
//! apply after a step.

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
pub(super) fn diverged(state: &mut RunState, loss: f64, limit: f64) -> bool {
    let divergent = is_divergent(loss, limit);
    if divergent {
        state.diverge();
    }
    divergent
}
