//! Sweeps of many runs: grids of runs, the Parquet schema and atomic writing
//! every output goes through.

pub mod error;
pub mod grid;
pub mod parquet_io;
pub mod progress;
pub mod schema;

pub use error::{GridError, SweepError};
pub use grid::{Grid, Point};
