//! The root package's integration tests, one test binary (ripgrep's
//! layout): each file of `tests/` is a module here, so the whole stack is
//! linked once instead of once per file (docs/performance.md, *Build*).
//! Filter by file with its module path, e.g.
//! `cargo test --release --workspace --test integration -- run_cli::`.

mod support;

mod bad_input;
mod cli_analyze;
mod cli_surface;
mod cluster_cli;
mod cluster_signals;
/// Ignored without a SLURM cluster: `.ci/suites/cluster.sh` runs them.
mod cluster_slurm;
mod dynamics_cli;
mod layout;
/// Built with `--features mpi` only: `.ci/suites/engine.sh` runs them.
#[cfg(feature = "mpi")]
mod mpi_abort;
#[cfg(feature = "mpi")]
mod mpi_determinism;
mod readme;
mod reproduce_cli;
mod run_cli;
mod stop_when;
mod sweep_engine;
mod sweep_examples;
mod sweep_lanes;
mod sweep_memory;
mod sweep_progress;
