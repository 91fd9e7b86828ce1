//! Sweeps of many runs: grids split over threads, shards and MPI ranks, a
//! crash-safe resumable Parquet dataset, and the schema and atomic writing
//! every output goes through.

pub mod checkpoint;
pub mod dataset;
pub mod error;
pub mod estimate;
pub mod execute;
pub mod grid;
pub mod in_flight;
pub mod journal;
pub mod lanes;
#[cfg(feature = "mpi")]
pub mod mpi;
pub mod panics;
pub mod plan;
pub mod progress;
pub mod queue;
pub mod report;
pub mod rewrite;
pub mod rows;
pub mod schema;
pub mod shard;
pub mod summary;
pub mod team;
mod utc;
pub mod verify;
pub mod warning;
mod worker;

pub use error::{GridError, SweepError};
pub use execute::{SweepOptions, run_plan, run_sweep};
pub use grid::{Grid, Point};
pub use plan::{Origin, Plan};
pub use report::SweepReport;
pub use shard::Shard;
pub use team::{Alone, Team};
pub use warning::{Unwatched, Warning, Watch};
pub use worker::chunk_steps;
