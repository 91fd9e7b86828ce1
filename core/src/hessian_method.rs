//! How a record computes the Hessian statistics (`hessian_method`,
//! `hessian_top_k`): configuration, kept apart from the computation
//! (curvature.rs) so the configuration does not depend on the model.

use crate::error::CoreError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How the Hessian statistics are computed (`hessian_method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum HessianMethod {
    /// `dense` up to m·d = [`AUTO_DENSE_MAX_DIM`], `lanczos` above.
    #[default]
    Auto,
    /// The md×md matrix and its full symmetric eigendecomposition:
    /// O((md)²) memory, O((md)²n + (md)³) per record.
    Dense,
    /// Hessian-vector products and Lanczos: O(s·md) memory for s ≤
    /// [`lanczos::max_steps`](crate::lanczos::max_steps) steps, O(s·nmd + s²·md + n²(m + d)) per record.
    Lanczos,
}

/// The largest m·d at which `auto` builds the dense Hessian: there its
/// eigendecomposition takes well under a second per record and 4 MiB, and
/// every grid with `hessian = true` before the matrix-free path existed
/// (m·d ≤ 64) keeps its numbers bit for bit.
pub const AUTO_DENSE_MAX_DIM: usize = 512;

/// The probes of the Hutchinson estimate of ‖∇²L‖_F (hutchinson.rs): each
/// is one Hessian-vector product. The top Ritz vectors are counted
/// exactly, and the probes' relative standard error on the rest of
/// ‖∇²L‖_F² is at most √(2/64) ≈ 18 %, so 9 % of ‖∇²L‖_F at worst.
pub const HUTCHINSON_PROBES: usize = 64;

/// Whether the matrix-free path estimates ‖∇²L‖_F (Hutchinson) instead of
/// computing it exactly: where the exact sum over pairs of data points,
/// O(n²(m + d)), would cost more than the probes' products,
/// [`HUTCHINSON_PROBES`]·O(nmd), that is where n(m + d) > 64·m·d. Every
/// size that ran with `lanczos` before the estimate existed (n ≤ 30,
/// and (m, d, n) = (200, 100, 50)) is far below it and keeps its exact value.
pub fn frobenius_is_estimated(m: usize, d: usize, n: usize) -> bool {
    let (m, d, n) = (m as u128, d as u128, n as u128);
    n * (m + d) > HUTCHINSON_PROBES as u128 * m * d
}

impl HessianMethod {
    pub const ALL: [HessianMethod; 3] = [Self::Auto, Self::Dense, Self::Lanczos];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Dense => "dense",
            Self::Lanczos => "lanczos",
        }
    }

    /// The method that runs for a Hessian of dimension `dim` = m·d: `auto`
    /// resolved, the others as they are.
    pub fn resolve(self, dim: usize) -> HessianMethod {
        match self {
            Self::Auto if dim <= AUTO_DENSE_MAX_DIM => Self::Dense,
            Self::Auto => Self::Lanczos,
            other => other,
        }
    }
}

impl fmt::Display for HessianMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HessianMethod {
    type Err = CoreError;
    fn from_str(s: &str) -> std::result::Result<Self, CoreError> {
        crate::named::parse_named(s, &Self::ALL, Self::as_str, "hessian method")
    }
}

/// What a record computes with `hessian = true`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HessianOptions {
    /// `dense` or `lanczos` (resolved).
    pub method: HessianMethod,
    /// How many of the largest eigenvalues to record.
    pub top_k: usize,
    /// The run's seed: Lanczos starts from a vector of its curvature stream
    /// ([`Streams::curvature`](crate::rng::Streams::curvature)).
    pub seed: u64,
}
