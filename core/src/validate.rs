//! What makes a [`RunConfig`] valid: every value in its domain, checked
//! before anything is built, each error naming its field (the CLI flag or
//! grid key of the same name). File contents are checked later, when the
//! problem is built.

use crate::activation::ActivationName;
use crate::anneal::AnnealKind;
use crate::config::{AlgorithmName, DataGen, LabelGen, RunConfig, Source};
use crate::error::{CoreError, Result};
use crate::stop_when::{Metric, StopWhen};

// Inlined: a grid validates 10^6 points, and a call per check cost more
// than the check.
#[inline(always)]
fn check(ok: bool, field: &str, message: impl FnOnce() -> String) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(CoreError::invalid(field, message()))
    }
}

impl RunConfig {
    /// Checks every value against its domain; the error names the field.
    /// File contents are checked later, when the problem is built.
    pub fn validate(&self) -> Result<()> {
        self.validate_settings()?;
        self.validate_sizes()
    }

    /// [`RunConfig::validate`] but [`RunConfig::validate_sizes`]: what a
    /// grid checks for every point, its sizes only where they changed.
    pub fn validate_settings(&self) -> Result<()> {
        check(self.m >= 1, "m", || {
            format!("must be at least 1, got {}", self.m)
        })?;
        check(self.d >= 1, "d", || {
            format!("must be at least 1, got {}", self.d)
        })?;
        check(self.n >= 1, "n", || {
            format!("must be at least 1, got {}", self.n)
        })?;
        check(self.eta > 0.0 && self.eta.is_finite(), "eta", || {
            format!("must be a finite number > 0, got {}", self.eta)
        })?;
        check(self.sigma >= 0.0 && self.sigma.is_finite(), "sigma", || {
            format!("must be a finite number >= 0, got {}", self.sigma)
        })?;
        if let Some(b) = self.batch_size {
            check(b >= 1 && b <= self.n, "batch_size", || {
                format!("must be between 1 and n = {}, got {b}", self.n)
            })?;
            check(b == self.batch(), "batch_size", || {
                format!(
                    "algorithm {} uses batch size {}, got {b}",
                    self.algorithm.as_str(),
                    self.batch()
                )
            })?;
        }
        self.validate_algorithm()?;
        self.validate_schedule()?;
        if self.activation == ActivationName::CubicLinear {
            check(self.beta > 0.0 && self.beta.is_finite(), "beta", || {
                format!(
                    "cubic-linear needs β > 0, got {} (use activation = cube for β = 0)",
                    self.beta
                )
            })?;
        }
        if self.activation == ActivationName::LeakyRelu {
            check(self.alpha > 0.0 && self.alpha.is_finite(), "alpha", || {
                format!("leaky-relu needs α > 0, got {}", self.alpha)
            })?;
        }
        check(
            self.init_scale >= 0.0 && self.init_scale.is_finite(),
            "init_scale",
            || format!("must be a finite number >= 0, got {}", self.init_scale),
        )?;
        check(self.log_points >= 1, "log_points", || {
            "must be at least 1".into()
        })?;
        if let Some(k) = self.log_every {
            check(k >= 1, "log_every", || "must be at least 1".into())?;
        }
        check(self.diverge_loss > 0.0, "diverge_loss", || {
            format!("must be > 0, got {}", self.diverge_loss)
        })?;
        check(
            self.cluster_tol > 0.0 && self.cluster_tol.is_finite(),
            "cluster_tol",
            || format!("must be a finite number > 0, got {}", self.cluster_tol),
        )?;
        if self.data == Source::Generate(DataGen::Separable) {
            check(self.n.is_multiple_of(2), "n", || {
                format!(
                    "separable data comes in mirrored pairs, so n must be even, got {}",
                    self.n
                )
            })?;
        }
        if self.labels == Source::Generate(LabelGen::FromData) {
            let generated = matches!(
                self.data,
                Source::Generate(DataGen::Separable | DataGen::SeparableAsym)
            );
            check(generated, "labels", || {
                format!(
                    "from-data needs data = separable or separable-asym, got data = {}",
                    self.data
                )
            })?;
        }
        if self.data == Source::Generate(DataGen::Orthonormal) {
            check(self.n <= self.d, "data", || {
                format!(
                    "orthonormal rows need n <= d, got n = {}, d = {}",
                    self.n, self.d
                )
            })?;
        }
        if let Some(k) = self.stop_check_every {
            check(k >= 1, "stop_check_every", || "must be at least 1".into())?;
        }
        if let Some(k) = self.hessian_top_k {
            let dim = self.m.saturating_mul(self.d);
            check(k >= 1 && k <= dim, "hessian_top_k", || {
                format!("must be between 1 and m·d = {dim} (the Hessian's size), got {k}")
            })?;
        }
        let stop_metrics = self.stop_when.iter().flat_map(StopWhen::metrics);
        if let Some(m) = stop_metrics.into_iter().find(|&m| !self.records_metric(m)) {
            let hessian = matches!(m, Metric::HessianFro | Metric::HessianLambdaMax);
            let hint = if hessian && !self.hessian {
                " without hessian"
            } else {
                ""
            };
            return Err(CoreError::invalid(
                "stop_when",
                format!(
                    "metric {} is not recorded by algorithm {}{hint}",
                    m.as_str(),
                    self.algorithm.as_str()
                ),
            ));
        }
        Ok(())
    }

    /// Refuses sizes whose bytes overflow, so no product of them is ever
    /// formed for an allocation (memory.rs). It depends on the sizes, the
    /// Hessian's options and the record schedule alone.
    pub fn validate_sizes(&self) -> Result<()> {
        self.memory_bytes(1).map(drop)
    }

    /// The algorithm-specific fields.
    fn validate_algorithm(&self) -> Result<()> {
        match self.algorithm {
            AlgorithmName::LabelNoise => Ok(()),
            AlgorithmName::Sam => check(self.rho >= 0.0 && self.rho.is_finite(), "rho", || {
                format!("must be a finite number >= 0, got {}", self.rho)
            }),
            AlgorithmName::Flow => {
                check(
                    self.flow_tol > 0.0 && self.flow_tol.is_finite(),
                    "flow_tol",
                    || format!("must be a finite number > 0, got {}", self.flow_tol),
                )?;
                check(
                    self.flow_h > 0.0 && self.flow_h.is_finite(),
                    "flow_h",
                    || format!("must be a finite number > 0, got {}", self.flow_h),
                )
            }
            AlgorithmName::Margin => {
                check(
                    self.activation == ActivationName::LeakyRelu,
                    "activation",
                    || {
                        format!(
                            "algorithm margin trains leaky-relu nets ([L21]), got {}",
                            self.activation.as_str()
                        )
                    },
                )?;
                check(self.outer.is_ones(), "outer", || {
                    format!(
                        "algorithm margin trains its own second layer ([L21]): outer must be \
                         ones, got {}",
                        self.outer
                    )
                })
            }
        }
    }

    /// `schedule`, `eta_end`, `sigma_end`: the end values in their domains
    /// (the exponential one needs both ends of a value positive, or both
    /// zero), and a schedule only where the dynamics steps with η or σ.
    fn validate_schedule(&self) -> Result<()> {
        let exponential = self.schedule == AnnealKind::Exponential;
        if let Some(e) = self.eta_end {
            if exponential {
                check(e > 0.0 && e.is_finite(), "eta_end", || {
                    format!("the exponential schedule needs a finite number > 0, got {e}")
                })?;
            } else {
                check(e >= 0.0 && e.is_finite(), "eta_end", || {
                    format!("must be a finite number >= 0, got {e}")
                })?;
            }
        }
        if let Some(s) = self.sigma_end {
            check(s >= 0.0 && s.is_finite(), "sigma_end", || {
                format!("must be a finite number >= 0, got {s}")
            })?;
            if exponential && s != self.sigma {
                check(s > 0.0 && self.sigma > 0.0, "sigma_end", || {
                    format!(
                        "the exponential schedule needs sigma and sigma_end both > 0 \
                         (or both 0), got sigma = {}, sigma_end = {s}",
                        self.sigma
                    )
                })?;
            }
        }
        if self.schedule.is_constant() {
            return Ok(());
        }
        check(self.algorithm != AlgorithmName::Flow, "schedule", || {
            "algorithm flow has no schedule: its η only brings Θ to the manifold, \
             and its step is the adaptive flow_h"
                .into()
        })?;
        check(
            self.sigma_end.is_none() || self.algorithm == AlgorithmName::LabelNoise,
            "sigma_end",
            || format!("algorithm {} has no label noise", self.algorithm.as_str()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OuterGen;

    /// A change to a valid configuration.
    type Mutation = Box<dyn Fn(&mut RunConfig)>;

    #[test]
    fn invalid_values_name_their_field() {
        let cases: Vec<(&str, Mutation)> = vec![
            ("m", Box::new(|c| c.m = 0)),
            ("eta", Box::new(|c| c.eta = -0.1)),
            ("eta", Box::new(|c| c.eta = 0.0)),
            ("sigma", Box::new(|c| c.sigma = -1.0)),
            ("batch_size", Box::new(|c| c.batch_size = Some(4))),
            ("beta", Box::new(|c| c.beta = 0.0)),
            (
                "rho",
                Box::new(|c| {
                    c.algorithm = AlgorithmName::Sam;
                    c.rho = -0.1;
                }),
            ),
            (
                "batch_size",
                Box::new(|c| {
                    c.algorithm = AlgorithmName::Sam;
                    c.batch_size = Some(2);
                }),
            ),
            (
                "flow_tol",
                Box::new(|c| {
                    c.algorithm = AlgorithmName::Flow;
                    c.flow_tol = 0.0;
                }),
            ),
            (
                "flow_h",
                Box::new(|c| {
                    c.algorithm = AlgorithmName::Flow;
                    c.flow_h = f64::INFINITY;
                }),
            ),
            (
                "activation",
                Box::new(|c| c.algorithm = AlgorithmName::Margin),
            ),
            (
                "outer",
                Box::new(|c| {
                    c.algorithm = AlgorithmName::Margin;
                    c.activation = ActivationName::LeakyRelu;
                    c.outer = Source::Generate(OuterGen::Alternating);
                }),
            ),
            (
                "n",
                Box::new(|c| {
                    c.data = Source::Generate(DataGen::Separable);
                    c.n = 3;
                }),
            ),
            (
                "labels",
                Box::new(|c| c.labels = Source::Generate(LabelGen::FromData)),
            ),
            (
                "data",
                Box::new(|c| {
                    c.data = Source::Generate(DataGen::Orthonormal);
                    c.n = 4;
                }),
            ),
            ("hessian_top_k", Box::new(|c| c.hessian_top_k = Some(0))),
            ("hessian_top_k", Box::new(|c| c.hessian_top_k = Some(31))),
        ];
        let cases = cases.into_iter().chain(schedule_cases());
        for (field, mutate) in cases {
            let mut c = RunConfig::default();
            mutate(&mut c);
            let err = c.validate().unwrap_err();
            assert_eq!(err.field(), Some(field), "{err}");
        }
    }

    /// Bad schedules: out-of-domain or non-finite end values, and a
    /// schedule where the dynamics has nothing to anneal.
    fn schedule_cases() -> Vec<(&'static str, Mutation)> {
        let exp = |c: &mut RunConfig| c.schedule = AnnealKind::Exponential;
        vec![
            ("eta_end", Box::new(|c| c.eta_end = Some(f64::NAN))),
            ("eta_end", Box::new(|c| c.eta_end = Some(-0.01))),
            (
                "eta_end",
                Box::new(move |c| {
                    exp(c);
                    c.eta_end = Some(0.0);
                }),
            ),
            ("sigma_end", Box::new(|c| c.sigma_end = Some(f64::INFINITY))),
            ("sigma_end", Box::new(|c| c.sigma_end = Some(-1.0))),
            (
                "sigma_end",
                Box::new(move |c| {
                    exp(c);
                    c.sigma_end = Some(0.0);
                }),
            ),
            (
                "sigma_end",
                Box::new(move |c| {
                    exp(c);
                    c.sigma = 0.0;
                    c.sigma_end = Some(0.1);
                }),
            ),
            (
                "schedule",
                Box::new(|c| {
                    c.algorithm = AlgorithmName::Flow;
                    c.schedule = AnnealKind::Cosine;
                }),
            ),
            (
                "sigma_end",
                Box::new(|c| {
                    c.algorithm = AlgorithmName::Sam;
                    c.schedule = AnnealKind::Linear;
                    c.sigma_end = Some(0.0);
                }),
            ),
        ]
    }
}
