//! Running sweeps on SLURM clusters: the sbatch script of a sweep, where a
//! process stands in a job array or among MPI ranks, the signals that stop a
//! sweep cleanly before the scheduler kills it, and the exit code that asks
//! for a requeue. docs/cluster.md is the user's guide.

pub mod env;
pub mod error;
pub mod script;
pub mod signals;
pub mod submit;

pub use error::{ClusterError, Result};
