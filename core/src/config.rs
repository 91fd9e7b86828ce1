//! [`RunConfig`]: everything that determines one run, flat, so that the same
//! keys serve as CLI flags (`--batch-size`), grid keys (`batch_size`) and
//! Parquet columns. Defaults are \[G24\]'s Figure-1 setting (docs/science.md §7).
//!
//! Past 600 lines only with its tests (parsing, defaults and the run id's
//! stability under spelling); validation is validate.rs.

use crate::activation::{Activation, ActivationName};
use crate::anneal::{Anneal, AnnealKind};
use crate::error::CoreError;
use crate::hessian_method::{HessianMethod, HessianOptions};
use crate::named::parse_named;
use crate::stop_when::{Metric, StopWhen};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// The training dynamics a run follows (docs/science.md §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AlgorithmName {
    /// Label-noise GD/SGD, docs/science.md §5.1; σ = 0 is plain GD/SGD
    /// (\[W22\] with `batch_size`).
    #[default]
    LabelNoise,
    /// Batch-size-one SAM with radius `rho`, docs/science.md §5.4.
    Sam,
    /// Riemannian gradient flow of R on the zero-loss manifold, docs/science.md §5.3
    /// (\[G24\] eq. 3).
    Flow,
    /// GD on a two-layer leaky-ReLU net with both layers trained and the
    /// logistic loss, docs/science.md §5.5 (\[L21\]).
    Margin,
}

impl AlgorithmName {
    pub const ALL: [AlgorithmName; 4] = [Self::LabelNoise, Self::Sam, Self::Flow, Self::Margin];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LabelNoise => "label-noise",
            Self::Sam => "sam",
            Self::Flow => "flow",
            Self::Margin => "margin",
        }
    }
}

/// Distribution of the label noise ξ (docs/science.md §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum NoiseKind {
    /// ξ ~ N(0, σ²): σ is the standard deviation.
    #[default]
    Gaussian,
    /// ξ = ±σ with probability ½ each (Damian et al. 2021).
    Rademacher,
}

impl NoiseKind {
    pub const ALL: [NoiseKind; 2] = [Self::Gaussian, Self::Rademacher];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gaussian => "gaussian",
            Self::Rademacher => "rademacher",
        }
    }
}

impl FromStr for AlgorithmName {
    type Err = CoreError;
    fn from_str(s: &str) -> std::result::Result<Self, CoreError> {
        parse_named(s, &Self::ALL, Self::as_str, "algorithm")
    }
}

impl FromStr for NoiseKind {
    type Err = CoreError;
    fn from_str(s: &str) -> std::result::Result<Self, CoreError> {
        parse_named(s, &Self::ALL, Self::as_str, "noise")
    }
}

/// How the data matrix X is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataGen {
    /// Entries Uniform\[0,1\], rows normalised to ‖x_i‖ = 1 (\[G24\] §5).
    Uniform,
    /// Entries N(0,1), rows normalised.
    Gaussian,
    /// Orthonormal rows (needs n ≤ d): \[G24\] Assumption 3.2 with coherence 0.
    Orthonormal,
    /// Linearly separable and symmetric (\[L21\]): n/2 unit Gaussian points
    /// labelled by the sign of a random unit direction w*, each with
    /// |w*ᵀx| ≥ [`SEPARABLE_GAP`], together with their mirror images (−x, −y).
    /// Needs n even; labels come with the data (`labels = from-data`).
    Separable,
    /// The same points without the mirror images: separable but not
    /// symmetric, \[L21\]'s setting where margin maximisation can fail.
    SeparableAsym,
}

/// The smallest |w*ᵀx| of the `separable` generators' points.
pub const SEPARABLE_GAP: f64 = 0.1;

/// How the labels y are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LabelGen {
    /// y_i ~ Uniform\[0,1\].
    Uniform,
    /// y = f_{Θ*}(X) for a random teacher Θ* of the student's shape (m, d),
    /// Θ* entries N(0, 1/d).
    Teacher,
    /// y_i ~ N(0,1).
    Gaussian,
    /// The ±1 labels the data generator made (`separable`, `separable-asym`).
    FromData,
}

/// How the initial weights Θ₀ are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InitGen {
    /// Θ₀ entries N(0, init_scale²/d).
    Gaussian,
    /// Θ₀ = 0.
    Zero,
}

/// A built-in generator, known by its name.
pub trait Generator {
    fn name(&self) -> &'static str;
}

macro_rules! generator_names {
    ($ty:ty { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub const NAMES: &'static [&'static str] = &[$($name),+];
        }
        impl Generator for $ty {
            fn name(&self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
        impl FromStr for $ty {
            type Err = ();
            fn from_str(s: &str) -> std::result::Result<Self, ()> {
                match s { $($name => Ok(Self::$variant),)+ _ => Err(()) }
            }
        }
    };
}
generator_names!(DataGen {
    Uniform => "uniform",
    Gaussian => "gaussian",
    Orthonormal => "orthonormal",
    Separable => "separable",
    SeparableAsym => "separable-asym",
});
generator_names!(LabelGen {
    Uniform => "uniform",
    Teacher => "teacher",
    Gaussian => "gaussian",
    FromData => "from-data",
});
generator_names!(InitGen { Gaussian => "gaussian", Zero => "zero" });
generator_names!(OuterGen {
    Ones => "ones",
    Alternating => "alternating",
});

/// The fixed second layer a of `f(x) = Σ_j a_j φ(θ_jᵀx)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OuterGen {
    /// a_j = 1: \[G24\]'s network.
    Ones,
    /// a_j = +1, −1, +1, … (j = 1, 2, …).
    Alternating,
}

impl Source<OuterGen> {
    /// Whether this is \[G24\]'s second layer of ones, which a
    /// configuration does not write (so runs without `outer` keep their ids).
    pub fn is_ones(&self) -> bool {
        *self == Source::Generate(OuterGen::Ones)
    }
}

/// A built-in generator by name, or a file (CSV or `.npy`) by path: the one
/// string a flag or grid key holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Source<G> {
    Generate(G),
    File(PathBuf),
}

impl<G: FromStr> FromStr for Source<G> {
    type Err = CoreError;
    fn from_str(s: &str) -> std::result::Result<Self, CoreError> {
        if s.trim().is_empty() {
            return Err(CoreError::Parse("empty value".into()));
        }
        Ok(match s.parse::<G>() {
            Ok(g) => Self::Generate(g),
            Err(_) => Self::File(PathBuf::from(s)),
        })
    }
}

impl<G: Generator> Serialize for Source<G> {
    /// As its text (its `Display`); a generator's name without formatting it.
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Self::Generate(g) => s.serialize_str(g.name()),
            Self::File(p) => s.collect_str(&p.display()),
        }
    }
}

impl<'de, G: FromStr> Deserialize<'de> for Source<G> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl<G: fmt::Display> fmt::Display for Source<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Generate(g) => g.fmt(f),
            Self::File(p) => p.display().fmt(f),
        }
    }
}

/// Everything that determines one run. Two runs with equal configurations
/// produce bit-identical results on any machine, thread count or rank.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    pub algorithm: AlgorithmName,
    pub activation: ActivationName,
    /// β of `cubic-linear` (φ = z³ + βz); ignored by other activations.
    pub beta: f64,
    /// Negative-side slope α of `leaky-relu`; ignored by other activations.
    pub alpha: f64,
    /// Neurons (width).
    pub m: usize,
    /// Input dimension.
    pub d: usize,
    /// Data points.
    pub n: usize,
    /// Mini-batch size B; `None` is the full batch B = n (\[G24\]'s setting).
    pub batch_size: Option<usize>,
    /// Learning rate η.
    pub eta: f64,
    /// Label-noise scale σ (standard deviation for Gaussian noise); 0 = plain GD/SGD.
    pub sigma: f64,
    pub noise: NoiseKind,
    /// Step budget.
    pub steps: u64,
    /// Seeds every random stream of the run (data, labels, init, batches, noise).
    pub seed: u64,
    pub data: Source<DataGen>,
    pub labels: Source<LabelGen>,
    pub init: Source<InitGen>,
    /// Scale c of the Gaussian initialisation, θ_jk ~ N(0, c²/d).
    pub init_scale: f64,
    /// Number of log-spaced steps at which metrics are recorded (plus step 0 and the last).
    pub log_points: usize,
    /// Also record every this many steps (linear schedule), if set.
    pub log_every: Option<u64>,
    /// Record the Hessian's Frobenius norm and largest eigenvalues, by
    /// `hessian_method` (curvature.rs).
    pub hessian: bool,
    /// A clean loss above this (or non-finite) counts as diverged.
    pub diverge_loss: f64,
    /// Two neurons belong to one cluster when their feature vectors (columns
    /// of Z) are closer than this, relative to the largest column norm.
    pub cluster_tol: f64,
    /// SAM's perturbation radius ρ (`sam` only); ρ = 0 is plain SGD with B = 1.
    pub rho: f64,
    /// `flow` only: the zero-loss manifold is reached when the clean loss is
    /// at most this; every retraction restores it.
    pub flow_tol: f64,
    /// `flow` only: the first and largest step size h of the adaptive flow
    /// integrator (its Euler error in time is O(h)).
    pub flow_h: f64,
    /// `margin` only: step η/L(θ) instead of η (Lyu & Li 2020), so GD on the
    /// logistic loss reaches the margin-maximising phase in polynomially many
    /// steps instead of exponentially many.
    pub loss_scaled_lr: bool,
    /// Ends the run early, as `finished`, at the first check at which this
    /// condition on its metrics holds (stop_when.rs). Written only when
    /// set, so a run without one keeps the identity it always had.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_when: Option<StopWhen>,
    /// Steps between two checks of `stop_when` (default
    /// [`DEFAULT_STOP_CHECK_EVERY`]): it is checked at every multiple of
    /// this step, so where a run stops depends on its configuration alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_check_every: Option<u64>,
    /// The fixed second layer a (docs/science.md §1.2): `ones`, `alternating`
    /// or a file of m values. Written only when not `ones`, so a run of
    /// \[G24\]'s network keeps the identity it always had.
    #[serde(skip_serializing_if = "Source::is_ones")]
    pub outer: Source<OuterGen>,
    /// How η and σ move from their start values to `eta_end` and
    /// `sigma_end` over the steps (anneal.rs). Written only when not
    /// constant, so a constant run keeps the identity it always had.
    #[serde(skip_serializing_if = "AnnealKind::is_constant")]
    pub schedule: AnnealKind,
    /// η at the end of a schedule (default: `eta`, no change).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta_end: Option<f64>,
    /// σ at the end of a schedule (default: `sigma`, no change).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sigma_end: Option<f64>,
    /// How `hessian` computes its statistics (curvature.rs): `auto` (the
    /// default) is `dense` up to m·d = 512 and `lanczos` above. Written
    /// only when set and not `auto`, so existing run ids stay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hessian_method: Option<HessianMethod>,
    /// How many of the Hessian's largest eigenvalues `hessian` records
    /// (default 1, at most m·d). Written only when set and not 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hessian_top_k: Option<usize>,
}

/// Steps between checks of a `stop_when` condition by default. A check
/// measures every metric, which at \[G24\]'s Figure-1 size (10, 3, 3) costs
/// as much as ~300 single-run steps (~450 lane steps), so checking every
/// 5·10⁴ steps costs under 1 % of stepping there, and less at larger sizes
/// (docs/performance.md, *Stop checks*).
pub const DEFAULT_STOP_CHECK_EVERY: u64 = 50_000;

/// The flow's default step budget: it stops by itself once stationary
/// (docs/dynamics.md), within a few 10⁴ steps at \[G24\]'s sizes; the
/// budget bounds a flow that never gets there.
pub const FLOW_DEFAULT_STEPS: u64 = 1_000_000;

impl Default for RunConfig {
    /// \[G24\] Figure 1: m = 10, d = 3, n = 3, η = 0.05, σ = 0.03.
    fn default() -> Self {
        Self {
            algorithm: AlgorithmName::LabelNoise,
            activation: ActivationName::CubicLinear,
            beta: 1.0,
            alpha: 0.1,
            m: 10,
            d: 3,
            n: 3,
            batch_size: None,
            eta: 0.05,
            sigma: 0.03,
            noise: NoiseKind::Gaussian,
            steps: 100_000_000,
            seed: 0,
            data: Source::Generate(DataGen::Uniform),
            labels: Source::Generate(LabelGen::Uniform),
            init: Source::Generate(InitGen::Gaussian),
            init_scale: 1.0,
            log_points: 200,
            log_every: None,
            hessian: false,
            diverge_loss: 1e10,
            cluster_tol: 1e-2,
            rho: 0.05,
            flow_tol: 1e-24,
            flow_h: 1e-2,
            loss_scaled_lr: false,
            stop_when: None,
            stop_check_every: None,
            outer: Source::Generate(OuterGen::Ones),
            schedule: AnnealKind::Constant,
            eta_end: None,
            sigma_end: None,
            hessian_method: None,
            hessian_top_k: None,
        }
    }
}

impl RunConfig {
    /// The defaults of `algorithm`: [`RunConfig::default`] but where the
    /// algorithm needs its own (the flow's step budget).
    pub fn defaults_for(algorithm: AlgorithmName) -> RunConfig {
        let mut c = RunConfig {
            algorithm,
            ..Default::default()
        };
        if algorithm == AlgorithmName::Flow {
            c.steps = FLOW_DEFAULT_STEPS;
        }
        c
    }

    /// Sets the fields that `given` does not name to the algorithm's own
    /// defaults ([`RunConfig::defaults_for`]), where they differ from the
    /// common ones.
    pub fn apply_algorithm_defaults(&mut self, given: impl Fn(&str) -> bool) {
        if !given("steps") {
            self.steps = Self::defaults_for(self.algorithm).steps;
        }
    }

    /// The run's schedule of (η_k, σ_k); `None` for a constant one.
    pub fn anneal(&self) -> Option<Anneal> {
        Anneal::new(
            self.schedule,
            (self.eta, self.eta_end()),
            (self.sigma, self.sigma_end()),
            self.steps,
        )
    }

    /// Whether runs of this configuration record `metric`: the square-loss
    /// quantities are not the `margin` net's, the margin ones only its, the
    /// exact Hessian's only with `hessian`, and the time not on SAM's or
    /// plain GD's clock.
    pub fn records_metric(&self, metric: Metric) -> bool {
        let margin = self.algorithm == AlgorithmName::Margin;
        match metric {
            Metric::TraceHessian
            | Metric::SharpnessR
            | Metric::RiemGradNorm
            | Metric::DistToOptimum => !margin,
            Metric::HessianFro | Metric::HessianLambdaMax => self.hessian && !margin,
            Metric::Time => match self.algorithm {
                AlgorithmName::Sam => false,
                AlgorithmName::LabelNoise => self.sigma > 0.0,
                AlgorithmName::Flow | AlgorithmName::Margin => true,
            },
            Metric::NormalizedMargin
            | Metric::SvmMargin
            | Metric::MarginRatio
            | Metric::MarginAngle => margin,
            _ => true,
        }
    }

    /// η at the end of the schedule.
    pub fn eta_end(&self) -> f64 {
        self.eta_end.unwrap_or(self.eta)
    }

    /// σ at the end of the schedule.
    pub fn sigma_end(&self) -> f64 {
        self.sigma_end.unwrap_or(self.sigma)
    }

    /// Steps between checks of `stop_when`.
    pub fn stop_check_every(&self) -> u64 {
        self.stop_check_every.unwrap_or(DEFAULT_STOP_CHECK_EVERY)
    }

    /// The Hessian statistics a record computes: `None` without `hessian`,
    /// else the method `auto` resolves to at this m·d, and the top k.
    pub fn hessian_options(&self) -> Option<HessianOptions> {
        self.hessian.then(|| HessianOptions {
            method: self.hessian_method().resolve(self.m.saturating_mul(self.d)),
            top_k: self.hessian_top_k(),
            seed: self.seed,
        })
    }

    /// `hessian_method`, `auto` when not set.
    pub fn hessian_method(&self) -> HessianMethod {
        self.hessian_method.unwrap_or_default()
    }

    /// `hessian_top_k`, 1 when not set.
    pub fn hessian_top_k(&self) -> usize {
        self.hessian_top_k.unwrap_or(1)
    }

    /// The activation with its parameters resolved.
    pub fn activation(&self) -> Activation {
        match self.activation {
            ActivationName::CubicLinear => Activation::CubicLinear { beta: self.beta },
            ActivationName::Cube => Activation::Cube,
            ActivationName::Sinh => Activation::Sinh,
            ActivationName::Tanh => Activation::Tanh,
            ActivationName::Softplus => Activation::Softplus,
            ActivationName::Relu => Activation::Relu,
            ActivationName::LeakyRelu => Activation::LeakyRelu { alpha: self.alpha },
            ActivationName::Quadratic => Activation::Quadratic,
        }
    }

    /// B, with the full batch resolved to n; 1-SAM's batch is always 1 and
    /// the flow and the margin dynamics are full-batch.
    pub fn batch(&self) -> usize {
        match self.algorithm {
            AlgorithmName::Sam => 1,
            AlgorithmName::LabelNoise => self.batch_size.unwrap_or(self.n),
            AlgorithmName::Flow | AlgorithmName::Margin => self.n,
        }
    }

    /// The configuration with every default made explicit (the batch size
    /// resolved, the stop check interval where there is a `stop_when` and
    /// the end values where there is a schedule; without one they mean
    /// nothing and are dropped), so two spellings of one run compare and
    /// hash equal. The Hessian's method and top k are dropped where they
    /// are their defaults (`auto`, 1) or mean nothing (without `hessian`),
    /// so runs keep the ids they had before the keys existed.
    pub fn canonical(&self) -> RunConfig {
        let mut c = self.clone();
        c.batch_size = Some(self.batch());
        c.stop_check_every = self.stop_when.as_ref().map(|_| self.stop_check_every());
        // End values mean something only with a schedule.
        let annealed = !self.schedule.is_constant();
        c.eta_end = annealed.then(|| self.eta_end());
        c.sigma_end =
            (annealed && self.algorithm == AlgorithmName::LabelNoise).then(|| self.sigma_end());
        c.hessian_method = self
            .hessian_method
            .filter(|&m| self.hessian && m != HessianMethod::Auto);
        c.hessian_top_k = self.hessian_top_k.filter(|&k| self.hessian && k != 1);
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run_id::RunId;

    #[test]
    fn default_is_figure_one_and_valid() {
        let c = RunConfig::default();
        assert_eq!((c.m, c.d, c.n, c.eta, c.sigma), (10, 3, 3, 0.05, 0.03));
        c.validate().unwrap();
    }

    #[test]
    fn a_constant_schedule_keeps_the_identity_and_end_values_need_a_schedule() {
        let plain = RunConfig::default();
        let constant = RunConfig {
            schedule: AnnealKind::Constant,
            eta_end: Some(0.001),
            sigma_end: Some(0.0),
            ..plain.clone()
        };
        assert_eq!(constant.run_id(), plain.run_id());
        assert!(!serde_json::to_string(&plain).unwrap().contains("schedule"));
        let linear = RunConfig {
            schedule: AnnealKind::Linear,
            ..plain.clone()
        };
        assert_ne!(linear.run_id(), plain.run_id());
        // The end values default to the start values.
        let spelled = RunConfig {
            eta_end: Some(plain.eta),
            sigma_end: Some(plain.sigma),
            ..linear.clone()
        };
        assert_eq!(spelled.run_id(), linear.run_id());
        linear.validate().unwrap();
    }

    #[test]
    fn run_id_ignores_spelling_of_the_full_batch() {
        let a = RunConfig::default();
        let b = RunConfig {
            batch_size: Some(3),
            ..a.clone()
        };
        assert_eq!(a.run_id(), b.run_id());
        let c = RunConfig {
            seed: 1,
            ..a.clone()
        };
        assert_ne!(a.run_id(), c.run_id());
        assert_eq!(a.run_id().to_string().parse::<RunId>(), Ok(a.run_id()));
    }

    #[test]
    fn hessian_keys_at_their_defaults_keep_the_run_id() {
        let plain = RunConfig {
            hessian: true,
            ..Default::default()
        };
        let spelled = RunConfig {
            hessian_method: Some(HessianMethod::Auto),
            hessian_top_k: Some(1),
            ..plain.clone()
        };
        assert_eq!(plain.run_id(), spelled.run_id());
        let lanczos = RunConfig {
            hessian_method: Some(HessianMethod::Lanczos),
            ..plain.clone()
        };
        assert_ne!(plain.run_id(), lanczos.run_id());
        // Without `hessian` they mean nothing.
        let off = RunConfig {
            hessian: false,
            ..lanczos.clone()
        };
        assert_eq!(off.run_id(), RunConfig::default().run_id());
        assert_eq!(
            lanczos.hessian_options().map(|o| o.method),
            Some(HessianMethod::Lanczos)
        );
        assert_eq!(
            plain.hessian_options().map(|o| o.method),
            Some(HessianMethod::Dense)
        );
    }

    #[test]
    fn sources_parse_names_and_paths() {
        assert_eq!(
            "uniform".parse::<Source<DataGen>>(),
            Ok(Source::Generate(DataGen::Uniform))
        );
        assert_eq!(
            "x.npy".parse::<Source<DataGen>>(),
            Ok(Source::File(PathBuf::from("x.npy")))
        );
        assert!("".parse::<Source<LabelGen>>().is_err());
        assert_eq!(
            "separable-asym".parse::<Source<DataGen>>(),
            Ok(Source::Generate(DataGen::SeparableAsym))
        );
    }

    #[test]
    fn algorithms_parse_by_name_and_sam_resolves_its_batch_to_one() {
        for a in AlgorithmName::ALL {
            assert_eq!(a.as_str().parse::<AlgorithmName>(), Ok(a));
        }
        assert!(
            "sgd"
                .parse::<AlgorithmName>()
                .unwrap_err()
                .to_string()
                .contains("label-noise, sam, flow, margin")
        );
        let sam = RunConfig {
            algorithm: AlgorithmName::Sam,
            ..Default::default()
        };
        assert_eq!(sam.canonical().batch_size, Some(1));
        sam.canonical().validate().unwrap();
        assert_ne!(sam.run_id(), RunConfig::default().run_id());
    }

    #[test]
    fn each_algorithm_records_its_own_metrics() {
        let margin = RunConfig {
            algorithm: AlgorithmName::Margin,
            ..Default::default()
        };
        let flow = RunConfig {
            algorithm: AlgorithmName::Flow,
            ..Default::default()
        };
        assert!(margin.records_metric(Metric::MarginRatio));
        assert!(!flow.records_metric(Metric::MarginRatio));
        assert!(!margin.records_metric(Metric::RiemGradNorm));
        assert!(flow.records_metric(Metric::RiemGradNorm));
        assert!(!flow.records_metric(Metric::HessianFro));
        assert!(margin.records_metric(Metric::Loss));
    }
}
