//! The science of sharpsweep: the two-layer model of \[G24\] and its relatives
//! (docs/science.md gives every formula), the algorithms that train it,
//! every metric the theory predicts, and the step kernels that make long
//! runs affordable.
//!
//! A run is a [`RunConfig`] (what to do) driven by a [`Trainer`], whose
//! evolving [`RunState`] is everything a checkpoint needs.

pub mod activation;
pub mod anneal;
pub mod config;
pub mod curvature;
pub mod data;
pub mod dynamics;
pub mod error;
mod hessian_method;
pub mod hutchinson;
pub mod io;
pub mod kdtree;
pub mod kernel;
pub mod lanczos;
pub mod lanes;
pub mod memory;
pub mod metrics;
pub mod model;
mod named;
pub mod rng;
pub mod run;
pub mod run_id;
pub mod schedule;
mod small_cholesky;
mod small_svd;
pub mod state;
pub mod stop_when;
mod validate;

pub use activation::{Activation, ActivationName};
pub use anneal::{Anneal, AnnealKind};
pub use config::{AlgorithmName, NoiseKind, RunConfig, Source};
pub use curvature::HessianStats;
pub use data::Problem;
pub use error::{CoreError, Result};
pub use lanes::LaneTrainer;
pub use metrics::{Metrics, Optimum};
pub use run::Trainer;
pub use run_id::RunId;
pub use state::{RunState, Status, StopReason};
pub use stop_when::StopWhen;
