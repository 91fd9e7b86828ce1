//! Sweeps of many runs: the Parquet schema and atomic writing every output
//! goes through.

pub mod parquet_io;
pub mod progress;
pub mod schema;
