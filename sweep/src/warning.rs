//! What a sweep tells its caller while it goes on: damaged files set aside,
//! checkpoints that could not be used or written, what an option did. The
//! library prints nothing; its caller shows these (the CLI on stderr) and
//! the sweep's progress, through a [`Watch`].

use crate::progress::Tally;
use sharpsweep_core::RunId;
use std::fmt;
use std::path::PathBuf;

/// Something the user should know; nothing stopped because of it.
#[derive(Clone, Debug, PartialEq)]
pub enum Warning {
    /// `retry_failed` took this many failed runs out of the dataset: they
    /// run again.
    FailedRunsForgotten(usize),
    /// `force_new` moved the previous dataset aside, to this directory.
    Superseded(PathBuf),
    /// A damaged part was moved to `corrupt/`; its runs are redone.
    DamagedPart { file: PathBuf, why: String },
    /// The damaged grid file was set aside and rewritten from this grid.
    DamagedGrid { file: PathBuf, moved_to: PathBuf },
    /// provenance.json was not JSON: it was set aside and a new one begun.
    ProvenanceNotJson {
        file: PathBuf,
        error: String,
        moved_to: PathBuf,
    },
    /// The session's lane occupancy could not be added to provenance.json.
    OccupancyNotRecorded(String),
    /// A damaged checkpoint was moved to `corrupt/`; the run starts over.
    CheckpointUnreadable { file: PathBuf, why: String },
    /// A checkpoint the run's configuration cannot resume; it starts over.
    NotResumed { run: RunId, error: String },
    /// A checkpoint could not be written; the run goes on.
    CheckpointNotWritten { run: RunId, error: String },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FailedRunsForgotten(runs) => write!(f, "{runs} failed runs will run again"),
            Self::Superseded(to) => {
                write!(f, "the previous dataset was moved to {}", to.display())
            }
            Self::DamagedPart { file, why } => write!(
                f,
                "{} is damaged ({why}); the part was moved to corrupt/ and its runs will be \
                 redone",
                file.display()
            ),
            Self::DamagedGrid { file, moved_to } => write!(
                f,
                "{} was damaged; it is rewritten from this grid, whose fingerprint every part \
                 records (the damaged file is {})",
                file.display(),
                moved_to.display()
            ),
            Self::ProvenanceNotJson {
                file,
                error,
                moved_to,
            } => write!(
                f,
                "{} was not JSON ({error}); it was moved to {} and a new one begun",
                file.display(),
                moved_to.display()
            ),
            Self::OccupancyNotRecorded(error) => {
                write!(f, "{error}; the lane occupancy is not in provenance.json")
            }
            Self::CheckpointUnreadable { file, why } => write!(
                f,
                "checkpoint {} is unreadable ({why}); the run starts over",
                file.display()
            ),
            Self::NotResumed { run, error } => write!(f, "run {run}: {error}; it starts over"),
            Self::CheckpointNotWritten { run, error } => {
                write!(f, "run {run}: checkpoint not written: {error}")
            }
        }
    }
}

/// The caller's view of a sweep as it runs. [`run_plan`](crate::run_plan)
/// calls it from its own thread only (workers' warnings travel to it with
/// their runs), so an implementation needs no locking.
pub trait Watch {
    /// A warning, as it happens.
    fn warn(&self, warning: Warning);
    /// The progress of the job (called at MPI rank 0 only), whose points
    /// number `runs`.
    fn progress(&mut self, tally: &Tally, runs: u64);
    /// The final progress, once, at the end.
    fn finish(&mut self, tally: &Tally, runs: u64);
}

/// A sweep nobody watches (tests, benches): warnings and progress are
/// dropped.
pub struct Unwatched;

impl Watch for Unwatched {
    fn warn(&self, _: Warning) {}
    fn progress(&mut self, _: &Tally, _: u64) {}
    fn finish(&mut self, _: &Tally, _: u64) {}
}
