//! Learning-rate and noise annealing: the step size η_k and label-noise
//! scale σ_k of step k = 0 … K−1 (K = `steps`) under the configuration's
//! `schedule`, from (η, σ) towards (`eta_end`, `sigma_end`)
//! (docs/science.md §5.1). (Not to be confused with [`crate::schedule`],
//! the steps at which a run records its metrics.)
//!
//! With w = k/K, for a value going from `start` to `end`:
//! * `linear`: start + (end − start)·w;
//! * `cosine`: start + (end − start)·(1 − cos πw)/2, which is
//!   end + (start − end)(1 + cos πw)/2 written so that step 0 is `start`
//!   exactly;
//! * `exponential`: start·(end/start)^w.
//!
//! A value whose start and end are equal is that value at every step, bit
//! for bit, so annealing η alone leaves σ as a constant run has it. Each
//! value is a function of k alone (no recurrence), so a run resumed at any
//! step, or stepped as a lane beside others, takes the same values.

use crate::error::CoreError;
use crate::named::parse_named;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// The `schedule` key: how η and σ move over a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AnnealKind {
    /// η and σ fixed (every run before schedules existed).
    #[default]
    Constant,
    Linear,
    Cosine,
    Exponential,
}

impl AnnealKind {
    pub const ALL: [AnnealKind; 4] = [
        Self::Constant,
        Self::Linear,
        Self::Cosine,
        Self::Exponential,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Constant => "constant",
            Self::Linear => "linear",
            Self::Cosine => "cosine",
            Self::Exponential => "exponential",
        }
    }
    /// Whether η and σ stay fixed; the key is then not written, so runs
    /// keep the identity they had before schedules existed.
    pub fn is_constant(&self) -> bool {
        *self == Self::Constant
    }
}

impl FromStr for AnnealKind {
    type Err = CoreError;
    fn from_str(s: &str) -> std::result::Result<Self, CoreError> {
        parse_named(s, &Self::ALL, Self::as_str, "schedule")
    }
}

/// A run's resolved schedule of (η_k, σ_k).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Anneal {
    kind: AnnealKind,
    eta: (f64, f64),
    sigma: (f64, f64),
    steps: u64,
}

impl Anneal {
    /// The schedule of `kind` from η and σ's (start, end) over `steps`;
    /// `None` for a constant one, whose runs step with η and σ as they
    /// always did (no per-step work at all).
    pub fn new(kind: AnnealKind, eta: (f64, f64), sigma: (f64, f64), steps: u64) -> Option<Self> {
        (!kind.is_constant()).then_some(Self {
            kind,
            eta,
            sigma,
            steps,
        })
    }

    /// (η_k, σ_k) of step k.
    pub fn at(&self, k: u64) -> (f64, f64) {
        let w = k as f64 / self.steps as f64;
        match self.kind {
            AnnealKind::Constant => (self.eta.0, self.sigma.0),
            AnnealKind::Linear => (between(self.eta, w), between(self.sigma, w)),
            AnnealKind::Cosine => {
                let s = (1.0 - (std::f64::consts::PI * w).cos()) / 2.0;
                (between(self.eta, s), between(self.sigma, s))
            }
            AnnealKind::Exponential => (geometric(self.eta, w), geometric(self.sigma, w)),
        }
    }

    /// η_k of step k.
    pub fn eta(&self, k: u64) -> f64 {
        self.at(k).0
    }
}

/// start + (end − start)·s; `start` itself when the two are equal.
fn between((start, end): (f64, f64), s: f64) -> f64 {
    if start == end {
        return start;
    }
    start + (end - start) * s
}

/// start·(end/start)^w; `start` itself when the two are equal (so σ = 0
/// stays 0).
fn geometric((start, end): (f64, f64), w: f64) -> f64 {
    if start == end {
        return start;
    }
    start * (end / start).powf(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RunConfig;

    fn run(kind: AnnealKind, eta_end: f64, sigma_end: f64) -> Anneal {
        RunConfig {
            schedule: kind,
            eta: 0.05,
            sigma: 0.2,
            eta_end: Some(eta_end),
            sigma_end: Some(sigma_end),
            steps: 1000,
            ..Default::default()
        }
        .anneal()
        .expect("not constant")
    }

    /// The closed forms of the issue, written independently of `at`:
    /// η_k = η + (η_end − η)·k/K; η_end + (η − η_end)(1 + cos(πk/K))/2;
    /// η·(η_end/η)^(k/K).
    #[test]
    fn schedules_match_their_closed_forms_at_the_start_middle_and_last_step() {
        let (eta, eta_end, sigma, sigma_end, kk) = (0.05, 0.001, 0.2, 0.02, 1000.0);
        type ClosedForm = fn(f64, f64, f64, f64) -> f64;
        let closed: [(AnnealKind, ClosedForm); 3] = [
            (AnnealKind::Linear, |a, b, k, kk| a + (b - a) * k / kk),
            (AnnealKind::Cosine, |a, b, k, kk| {
                b + (a - b) * (1.0 + (std::f64::consts::PI * k / kk).cos()) / 2.0
            }),
            (AnnealKind::Exponential, |a, b, k, kk| {
                a * (b / a).powf(k / kk)
            }),
        ];
        for (kind, f) in closed {
            let s = run(kind, eta_end, sigma_end);
            for k in [0u64, 500, 999] {
                let (e, g) = s.at(k);
                let (we, wg) = (
                    f(eta, eta_end, k as f64, kk),
                    f(sigma, sigma_end, k as f64, kk),
                );
                assert!((e - we).abs() <= 1e-14 * we, "{kind:?} η_{k}: {e} vs {we}");
                assert!((g - wg).abs() <= 1e-14 * wg, "{kind:?} σ_{k}: {g} vs {wg}");
            }
            // Step 0 is the start exactly; the middle of the cosine is the
            // mean of its ends, of the exponential their geometric mean.
            assert_eq!(s.at(0), (eta, sigma), "{kind:?}");
        }
        let mid = |kind| run(kind, eta_end, sigma_end).at(500).0;
        assert!((mid(AnnealKind::Cosine) - (eta + eta_end) / 2.0).abs() < 1e-15);
        assert!((mid(AnnealKind::Exponential) - (eta * eta_end).sqrt()).abs() < 1e-15);
    }

    #[test]
    fn a_value_with_equal_ends_keeps_its_bits_at_every_step() {
        for kind in [
            AnnealKind::Linear,
            AnnealKind::Cosine,
            AnnealKind::Exponential,
        ] {
            let s = run(kind, 0.001, 0.2);
            for k in [0, 1, 333, 999] {
                assert_eq!(s.at(k).1.to_bits(), 0.2f64.to_bits(), "{kind:?}");
            }
        }
        let quiet = RunConfig {
            schedule: AnnealKind::Exponential,
            sigma: 0.0,
            eta_end: Some(0.01),
            ..Default::default()
        }
        .anneal()
        .unwrap();
        assert_eq!(quiet.at(7).1.to_bits(), 0.0f64.to_bits());
    }

    #[test]
    fn a_constant_schedule_has_no_per_step_values() {
        assert_eq!(RunConfig::default().anneal(), None);
        assert_eq!("cosine".parse(), Ok(AnnealKind::Cosine));
        assert!(
            "cos"
                .parse::<AnnealKind>()
                .unwrap_err()
                .to_string()
                .contains("constant, linear, cosine, exponential")
        );
    }
}
