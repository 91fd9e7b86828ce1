//! The activation table of docs/science.md §1.4: φ and its first three derivatives,
//! and the inverse φ⁻¹ where φ is a bijection onto its range.
//!
//! Two views of the same table:
//! * [`Activation`], the enum a configuration names, for metrics and tests;
//! * one zero-cost struct per activation implementing [`Phi`], so the step
//!   kernel is monomorphised per activation and the compiler can inline and
//!   vectorise φ and φ' ([`with_phi!`](crate::with_phi) picks the struct).

use crate::error::CoreError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An activation with its parameters resolved.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// `z³ + βz`, β > 0: \[G24\]'s example class (Assumptions 3.1 and 3.4 hold).
    CubicLinear {
        beta: f64,
    },
    /// `z³`: φ'(0) = 0 breaks Assumption 3.1, Theorem 3.3 still holds (Lemma G.4).
    Cube,
    Sinh,
    Tanh,
    /// `ln(1 + eᶻ)`.
    Softplus,
    Relu,
    /// `z` for z > 0, `αz` otherwise, α > 0.
    LeakyRelu {
        alpha: f64,
    },
    /// `z²`.
    Quadratic,
}

/// The names an activation goes by in flags, grids and Parquet columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActivationName {
    CubicLinear,
    Cube,
    Sinh,
    Tanh,
    Softplus,
    Relu,
    LeakyRelu,
    Quadratic,
}

impl ActivationName {
    pub const ALL: [ActivationName; 8] = [
        Self::CubicLinear,
        Self::Cube,
        Self::Sinh,
        Self::Tanh,
        Self::Softplus,
        Self::Relu,
        Self::LeakyRelu,
        Self::Quadratic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CubicLinear => "cubic-linear",
            Self::Cube => "cube",
            Self::Sinh => "sinh",
            Self::Tanh => "tanh",
            Self::Softplus => "softplus",
            Self::Relu => "relu",
            Self::LeakyRelu => "leaky-relu",
            Self::Quadratic => "quadratic",
        }
    }
}

impl fmt::Display for ActivationName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ActivationName {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, CoreError> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|a| a.as_str()).collect();
                CoreError::Parse(format!(
                    "unknown activation '{s}' (expected one of {})",
                    names.join(", ")
                ))
            })
    }
}

/// φ with its derivatives, as the kernels see it. Every method is a pure
/// function of `z`, so the kernels can evaluate it lane by lane.
pub trait Phi: Copy + Send + Sync {
    fn phi(self, z: f64) -> f64;
    fn d1(self, z: f64) -> f64;
    fn d2(self, z: f64) -> f64;
    fn d3(self, z: f64) -> f64;
    /// φ and φ' together: the only pair the training step needs.
    #[inline(always)]
    fn phi_d1(self, z: f64) -> (f64, f64) {
        (self.phi(z), self.d1(z))
    }
}

#[derive(Clone, Copy, Debug)]
pub struct CubicLinear {
    pub beta: f64,
}
#[derive(Clone, Copy, Debug)]
pub struct Cube;
#[derive(Clone, Copy, Debug)]
pub struct Sinh;
#[derive(Clone, Copy, Debug)]
pub struct Tanh;
#[derive(Clone, Copy, Debug)]
pub struct Softplus;
#[derive(Clone, Copy, Debug)]
pub struct Relu;
#[derive(Clone, Copy, Debug)]
pub struct LeakyRelu {
    pub alpha: f64,
}
#[derive(Clone, Copy, Debug)]
pub struct Quadratic;

impl Phi for CubicLinear {
    #[inline(always)]
    fn phi(self, z: f64) -> f64 {
        z * (z * z + self.beta)
    }
    #[inline(always)]
    fn d1(self, z: f64) -> f64 {
        3.0 * z * z + self.beta
    }
    #[inline(always)]
    fn d2(self, z: f64) -> f64 {
        6.0 * z
    }
    #[inline(always)]
    fn d3(self, _z: f64) -> f64 {
        6.0
    }
}

impl Phi for Cube {
    #[inline(always)]
    fn phi(self, z: f64) -> f64 {
        z * z * z
    }
    #[inline(always)]
    fn d1(self, z: f64) -> f64 {
        3.0 * z * z
    }
    #[inline(always)]
    fn d2(self, z: f64) -> f64 {
        6.0 * z
    }
    #[inline(always)]
    fn d3(self, _z: f64) -> f64 {
        6.0
    }
}

impl Phi for Sinh {
    #[inline(always)]
    fn phi(self, z: f64) -> f64 {
        z.sinh()
    }
    #[inline(always)]
    fn d1(self, z: f64) -> f64 {
        z.cosh()
    }
    #[inline(always)]
    fn d2(self, z: f64) -> f64 {
        z.sinh()
    }
    #[inline(always)]
    fn d3(self, z: f64) -> f64 {
        z.cosh()
    }
}

impl Phi for Tanh {
    #[inline(always)]
    fn phi(self, z: f64) -> f64 {
        z.tanh()
    }
    #[inline(always)]
    fn d1(self, z: f64) -> f64 {
        let t = z.tanh();
        1.0 - t * t
    }
    #[inline(always)]
    fn d2(self, z: f64) -> f64 {
        let t = z.tanh();
        -2.0 * t * (1.0 - t * t)
    }
    #[inline(always)]
    fn d3(self, z: f64) -> f64 {
        let t = z.tanh();
        (1.0 - t * t) * (6.0 * t * t - 2.0)
    }
    #[inline(always)]
    fn phi_d1(self, z: f64) -> (f64, f64) {
        let t = z.tanh();
        (t, 1.0 - t * t)
    }
}

/// The logistic function, the derivative of softplus.
#[inline(always)]
fn logistic(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

impl Phi for Softplus {
    #[inline(always)]
    fn phi(self, z: f64) -> f64 {
        // ln(1 + eᶻ) = max(z, 0) + ln(1 + e^{-|z|}), exact for large |z|.
        z.max(0.0) + (-z.abs()).exp().ln_1p()
    }
    #[inline(always)]
    fn d1(self, z: f64) -> f64 {
        logistic(z)
    }
    #[inline(always)]
    fn d2(self, z: f64) -> f64 {
        let s = logistic(z);
        s * (1.0 - s)
    }
    #[inline(always)]
    fn d3(self, z: f64) -> f64 {
        let s = logistic(z);
        s * (1.0 - s) * (1.0 - 2.0 * s)
    }
}

impl Phi for Relu {
    #[inline(always)]
    fn phi(self, z: f64) -> f64 {
        z.max(0.0)
    }
    #[inline(always)]
    fn d1(self, z: f64) -> f64 {
        if z > 0.0 { 1.0 } else { 0.0 }
    }
    #[inline(always)]
    fn d2(self, _z: f64) -> f64 {
        0.0
    }
    #[inline(always)]
    fn d3(self, _z: f64) -> f64 {
        0.0
    }
}

impl Phi for LeakyRelu {
    #[inline(always)]
    fn phi(self, z: f64) -> f64 {
        if z > 0.0 { z } else { self.alpha * z }
    }
    #[inline(always)]
    fn d1(self, z: f64) -> f64 {
        if z > 0.0 { 1.0 } else { self.alpha }
    }
    #[inline(always)]
    fn d2(self, _z: f64) -> f64 {
        0.0
    }
    #[inline(always)]
    fn d3(self, _z: f64) -> f64 {
        0.0
    }
}

impl Phi for Quadratic {
    #[inline(always)]
    fn phi(self, z: f64) -> f64 {
        z * z
    }
    #[inline(always)]
    fn d1(self, z: f64) -> f64 {
        2.0 * z
    }
    #[inline(always)]
    fn d2(self, _z: f64) -> f64 {
        2.0
    }
    #[inline(always)]
    fn d3(self, _z: f64) -> f64 {
        0.0
    }
}

/// Runs `$body` with `$a` bound to the concrete [`Phi`] struct of an
/// [`Activation`], so generic kernels are monomorphised per activation.
#[macro_export]
macro_rules! with_phi {
    ($act:expr, |$a:ident| $body:expr) => {{
        use $crate::activation as __act;
        match $act {
            __act::Activation::CubicLinear { beta } => {
                let $a = __act::CubicLinear { beta };
                $body
            }
            __act::Activation::Cube => {
                let $a = __act::Cube;
                $body
            }
            __act::Activation::Sinh => {
                let $a = __act::Sinh;
                $body
            }
            __act::Activation::Tanh => {
                let $a = __act::Tanh;
                $body
            }
            __act::Activation::Softplus => {
                let $a = __act::Softplus;
                $body
            }
            __act::Activation::Relu => {
                let $a = __act::Relu;
                $body
            }
            __act::Activation::LeakyRelu { alpha } => {
                let $a = __act::LeakyRelu { alpha };
                $body
            }
            __act::Activation::Quadratic => {
                let $a = __act::Quadratic;
                $body
            }
        }
    }};
}

impl Activation {
    pub fn name(self) -> ActivationName {
        match self {
            Self::CubicLinear { .. } => ActivationName::CubicLinear,
            Self::Cube => ActivationName::Cube,
            Self::Sinh => ActivationName::Sinh,
            Self::Tanh => ActivationName::Tanh,
            Self::Softplus => ActivationName::Softplus,
            Self::Relu => ActivationName::Relu,
            Self::LeakyRelu { .. } => ActivationName::LeakyRelu,
            Self::Quadratic => ActivationName::Quadratic,
        }
    }

    pub fn phi(self, z: f64) -> f64 {
        with_phi!(self, |a| a.phi(z))
    }
    pub fn d1(self, z: f64) -> f64 {
        with_phi!(self, |a| a.d1(z))
    }
    pub fn d2(self, z: f64) -> f64 {
        with_phi!(self, |a| a.d2(z))
    }
    pub fn d3(self, z: f64) -> f64 {
        with_phi!(self, |a| a.d3(z))
    }

    /// Whether φ is a bijection from R onto an interval, so that Theorem 3.3's
    /// optimum `z* = φ⁻¹(y/m)` is defined. ReLU and the quadratic are not.
    pub fn is_invertible(self) -> bool {
        !matches!(self, Self::Relu | Self::Quadratic)
    }

    /// \[G24\] Assumption 3.1: φ' ≥ ρ₁ > 0 and φ''' ≥ ρ₂ > 0 everywhere.
    pub fn meets_assumption_3_1(self) -> bool {
        matches!(self, Self::CubicLinear { .. } | Self::Sinh)
    }

    /// φ⁻¹(y), or `None` when φ is not invertible or `y` is outside φ's range.
    pub fn inverse(self, y: f64) -> Option<f64> {
        if !y.is_finite() {
            return None;
        }
        match self {
            Self::CubicLinear { beta } => Some(cubic_linear_inverse(beta, y)),
            Self::Cube => Some(y.cbrt()),
            Self::Sinh => Some(y.asinh()),
            Self::Tanh => (y.abs() < 1.0).then(|| y.atanh()),
            // softplus⁻¹(y) = ln(eʸ − 1) = y + ln(1 − e^{−y}), stable for large y.
            Self::Softplus => (y > 0.0).then(|| y + (-(-y).exp_m1()).ln()),
            Self::LeakyRelu { alpha } => Some(if y > 0.0 { y } else { y / alpha }),
            Self::Relu | Self::Quadratic => None,
        }
    }

    /// A human description of φ's range, for error messages.
    pub fn range_description(self) -> &'static str {
        match self {
            Self::Tanh => "(-1, 1)",
            Self::Softplus => "(0, ∞)",
            Self::Relu | Self::Quadratic => "[0, ∞) without a unique inverse",
            _ => "all of R",
        }
    }
}

/// The unique real root of `z³ + βz − y = 0` for β > 0.
///
/// The trigonometric-hyperbolic form of Cardano's formula,
/// `z = 2√(β/3) · sinh(⅓ asinh((3y / 2β) √(3/β)))`, has no cancellation for
/// any sign or size of `y` (unlike the two-cube-root form); two Newton steps
/// then polish it to the last bit where the asinh/sinh round trip lost some.
fn cubic_linear_inverse(beta: f64, y: f64) -> f64 {
    let s = (beta / 3.0).sqrt();
    let mut z = 2.0 * s * ((1.5 * y / beta / s).asinh() / 3.0).sinh();
    if !z.is_finite() {
        // asinh overflowed for |y| ≫ β^{3/2}: there z³ dominates.
        z = y.cbrt();
    }
    for _ in 0..2 {
        let f = z * (z * z + beta) - y;
        let fp = 3.0 * z * z + beta;
        z -= f / fp;
    }
    z
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<Activation> {
        vec![
            Activation::CubicLinear { beta: 1.0 },
            Activation::CubicLinear { beta: 0.01 },
            Activation::Cube,
            Activation::Sinh,
            Activation::Tanh,
            Activation::Softplus,
            Activation::Relu,
            Activation::LeakyRelu { alpha: 0.1 },
            Activation::Quadratic,
        ]
    }

    /// Central differences of `f` at `z`, step chosen for f64.
    fn central(f: impl Fn(f64) -> f64, z: f64) -> f64 {
        let h = 1e-5 * (1.0 + z.abs());
        (f(z + h) - f(z - h)) / (2.0 * h)
    }

    #[test]
    fn derivatives_match_finite_differences() {
        // Away from the kinks of relu and leaky-relu at 0.
        let points = [-2.3, -1.1, -0.37, 0.21, 0.8, 1.7, 2.9];
        for act in all() {
            for &z in &points {
                for (k, (exact, fd)) in [
                    (act.d1(z), central(|t| act.phi(t), z)),
                    (act.d2(z), central(|t| act.d1(t), z)),
                    (act.d3(z), central(|t| act.d2(t), z)),
                ]
                .into_iter()
                .enumerate()
                {
                    let tol = 1e-6 * (1.0 + exact.abs());
                    assert!(
                        (exact - fd).abs() < tol,
                        "{act:?} derivative {} at {z}: exact {exact}, fd {fd}",
                        k + 1
                    );
                }
            }
        }
    }

    #[test]
    fn inverse_round_trips_over_a_wide_range() {
        for act in all().into_iter().filter(|a| a.is_invertible()) {
            let mut z = -30.0;
            while z <= 30.0 {
                let y = act.phi(z);
                // tanh and softplus saturate: only test where φ is still
                // resolvable in f64 (the inverse's conditioning blows up).
                let resolvable = match act {
                    Activation::Tanh => z.abs() < 15.0,
                    Activation::Softplus => z > -30.0,
                    _ => true,
                };
                if resolvable {
                    let back = act.inverse(y).expect("in range");
                    let cond = (y.abs().max(1e-300) / act.d1(z).abs().max(1e-300)).max(1.0);
                    let tol = 1e-12 * cond.max(z.abs()).max(1.0) * 8.0;
                    assert!(
                        (back - z).abs() <= tol,
                        "{act:?}: φ⁻¹(φ({z})) = {back}, tol {tol}"
                    );
                }
                z += 0.173;
            }
        }
    }

    #[test]
    fn cubic_linear_inverse_is_exact_at_extremes() {
        for beta in [1e-6, 0.01, 1.0, 100.0] {
            for y in [
                -1e30, -1e6, -1.0, -1e-12, 0.0, 1e-300, 1e-12, 3.0, 1e6, 1e30,
            ] {
                let z = cubic_linear_inverse(beta, y);
                let resid = z * (z * z + beta) - y;
                assert!(
                    resid.abs() <= 4.0 * f64::EPSILON * y.abs().max(f64::MIN_POSITIVE),
                    "β={beta} y={y}: z={z} residual {resid}"
                );
            }
        }
    }

    #[test]
    fn inverse_refuses_values_outside_the_range() {
        assert_eq!(Activation::Tanh.inverse(1.0), None);
        assert_eq!(Activation::Tanh.inverse(-1.5), None);
        assert_eq!(Activation::Softplus.inverse(0.0), None);
        assert_eq!(Activation::Relu.inverse(0.5), None);
        assert_eq!(Activation::Quadratic.inverse(0.5), None);
        assert!(Activation::Sinh.inverse(f64::NAN).is_none());
    }

    #[test]
    fn names_round_trip() {
        for name in ActivationName::ALL {
            assert_eq!(name.as_str().parse::<ActivationName>(), Ok(name));
        }
        let err = "swish".parse::<ActivationName>().unwrap_err().to_string();
        assert!(err.contains("unknown activation 'swish'"), "{err}");
    }
}
