//! Sweeps of many runs: grids split over threads, shards and MPI ranks, a
//! crash-safe resumable Parquet dataset, and the schema and atomic writing
//! every output goes through.

pub mod checkpoint;
pub mod dataset;
pub mod error;
pub mod estimate;
pub mod execute;
pub mod grid;
pub mod journal;
pub mod lanes;
#[cfg(feature = "mpi")]
pub mod mpi;
pub mod progress;
pub mod rewrite;
pub mod schema;
pub mod shard;
pub mod summary;
mod utc;
pub mod verify;

pub use error::{GridError, SweepError};
pub use execute::{Alone, Plan, SweepOptions, SweepReport, Team, run_plan, run_sweep};
pub use grid::{Grid, Point};
pub use shard::Shard;
