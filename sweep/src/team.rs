//! The processes that share a sweep, and the collective steps they agree on.

use crate::error::{Result, SweepError};
use crate::progress::Tally;
use crate::report::SweepReport;

/// The processes that share a sweep: one ([`Alone`]) or MPI's ranks.
/// Every method is called from the thread that called [`run_plan`](crate::run_plan).
pub trait Team {
    fn rank(&self) -> usize;
    fn size(&self) -> usize;
    /// Whether every process's `ok` is true (a collective).
    fn all_ok(&mut self, ok: bool) -> bool;
    /// The sum of every process's `value` (a collective).
    fn sum(&mut self, value: usize) -> usize;
    /// Tells the reporting process this process's progress.
    fn report(&mut self, mine: Tally);
    /// At the reporting process, the progress of all processes.
    fn done_everywhere(&mut self, mine: Tally) -> Tally;
    /// The last call, with this process's final progress `last`: the job's
    /// report at rank 0, the local one elsewhere; `progress` is shown the
    /// job's progress while rank 0 waits.
    fn finish(
        &mut self,
        mine: SweepReport,
        last: Tally,
        progress: &mut dyn FnMut(Tally),
    ) -> SweepReport;
}

/// A sweep in one process.
pub struct Alone;

impl Team for Alone {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn all_ok(&mut self, ok: bool) -> bool {
        ok
    }
    fn sum(&mut self, value: usize) -> usize {
        value
    }
    fn report(&mut self, _mine: Tally) {}
    fn done_everywhere(&mut self, mine: Tally) -> Tally {
        mine
    }
    fn finish(&mut self, mine: SweepReport, _: Tally, _: &mut dyn FnMut(Tally)) -> SweepReport {
        mine
    }
}

/// `result` if every rank's step succeeded (a collective), else an error.
pub(crate) fn agree<T>(team: &mut dyn Team, result: Result<T>) -> Result<T> {
    if team.all_ok(result.is_ok()) {
        return result;
    }
    Err(result.err().unwrap_or_else(|| SweepError::Rank {
        rank: team.rank(),
        message: "another rank could not open the dataset; nothing was run".into(),
    }))
}
