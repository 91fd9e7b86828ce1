//! The Parquet schema of sharpsweep's two tables, in one place.
//!
//! * `runs`: one row per run: its configuration, status (`finished`,
//!   `diverged`, `failed` with an `error` message), final metrics and
//!   `stop_reason` (`steps`: the budget was spent; `stop_when`: its stop
//!   condition held; `stationary`: the flow reached a fixed point;
//!   `diverged`; null for a failed run);
//! * `trajectory`: one row per recorded step of a run (join on `run_id`).
//!
//! Columns are plain Arrow types every reader maps natively (Int64, UInt64
//! for seeds, Float64, Utf8, `List<Float64>`). Float metrics that are not
//! defined (no φ⁻¹ for R*, a diverged state) are null rather than NaN, so
//! SQL aggregates skip them. The file's key-value metadata carries
//! `sharpsweep.schema_version`, the tool version, the table name and the
//! configuration. Every column is a pure function of the configuration
//! except `wall_seconds`.

use arrow_array::builder::{Float64Builder, ListBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema};
use sharpsweep_core::{Metrics, RunConfig, RunId, Status, StopReason, Trainer};
use std::sync::Arc;

/// The version and metadata keys are the dataset contract's, which
/// `analyze` reads by too.
pub use sharpsweep_dataset::metadata::{
    KEY_CONFIG, KEY_SCHEMA_VERSION, KEY_TABLE, KEY_TOOL_VERSION, SCHEMA_VERSION, STATUS_FAILED,
};

/// One finished (or diverged) run, as the `runs` table stores it.
#[derive(Clone, Debug)]
pub struct RunRecord {
    pub config: RunConfig,
    pub run_id: RunId,
    pub status: Status,
    pub steps_done: u64,
    pub diverged_step: Option<u64>,
    /// The last record: the final metrics.
    pub last: Metrics,
    /// R* of Theorem 3.3 for this run's problem, if φ⁻¹(y/m) exists.
    pub r_star: Option<f64>,
    /// Theorem 3.3's optimal pre-activations z*_i = φ⁻¹(y_i/m), one per data
    /// point; empty when φ⁻¹ is not defined. Lets a reader compare Z with
    /// the prediction without the labels.
    pub z_star: Vec<f64>,
    /// Θ at the end, m×d row-major.
    pub theta: Vec<f64>,
    /// The trained second layer at the end (`margin` only; else empty).
    pub second_layer: Vec<f64>,
    pub wall_seconds: f64,
    /// Why the run could not be carried out (a panic, a vanished data
    /// file); such a run has status `failed` and no trajectory rows.
    pub error: Option<String>,
    /// Why the run ended (`steps`, `stop_when`, `stationary`, `diverged`);
    /// `None` for a failed run.
    pub stop_reason: Option<StopReason>,
}

impl RunRecord {
    /// The record of a trainer that has emitted its last record `last`.
    pub fn new(trainer: &Trainer, last: Metrics, wall_seconds: f64) -> Self {
        let state = trainer.state();
        Self {
            config: trainer.config().clone(),
            run_id: state.run_id,
            status: state.status,
            steps_done: state.step,
            diverged_step: state.diverged_at,
            last,
            r_star: trainer.optimum().map(|o| o.r_star),
            z_star: trainer
                .optimum()
                .map(|o| o.z_star.clone())
                .unwrap_or_default(),
            theta: state.theta.clone(),
            second_layer: state.second_layer.clone(),
            wall_seconds,
            error: None,
            stop_reason: state.stop_reason(),
        }
    }

    /// The record of a run that failed with `error` before finishing: its
    /// metrics are null and its status is `failed`.
    pub fn failed(config: &RunConfig, error: String, wall_seconds: f64) -> Self {
        Self {
            config: config.clone(),
            run_id: config.run_id(),
            status: Status::Running,
            steps_done: 0,
            diverged_step: None,
            // Every metric null (NaN) or empty.
            last: Metrics::nonfinite(0, f64::NAN),
            r_star: None,
            z_star: Vec::new(),
            theta: Vec::new(),
            second_layer: Vec::new(),
            wall_seconds,
            error: Some(error),
            stop_reason: None,
        }
    }

    /// `finished`, `diverged` or `failed`: the `status` column.
    pub fn status_name(&self) -> &'static str {
        match self.error {
            Some(_) => STATUS_FAILED,
            None => self.status.as_str(),
        }
    }
}

/// Columns under construction; the schema follows from what is appended.
#[derive(Default)]
struct Table {
    fields: Vec<Field>,
    arrays: Vec<ArrayRef>,
}

/// Undefined values (NaN) are stored as null.
fn defined(v: f64) -> Option<f64> {
    (!v.is_nan()).then_some(v)
}

impl Table {
    fn push(&mut self, name: &str, nullable: bool, array: ArrayRef) {
        self.fields
            .push(Field::new(name, array.data_type().clone(), nullable));
        self.arrays.push(array);
    }
    fn utf8<S: AsRef<str>>(&mut self, name: &str, v: impl Iterator<Item = S>) {
        let mut b = StringBuilder::new();
        for s in v {
            b.append_value(s);
        }
        self.push(name, false, Arc::new(b.finish()));
    }
    fn utf8_opt<'a>(&mut self, name: &str, v: impl Iterator<Item = Option<&'a str>>) {
        let a: StringArray = v.collect();
        self.push(name, true, Arc::new(a));
    }
    fn i64(&mut self, name: &str, v: impl Iterator<Item = i64>) {
        self.push(name, false, Arc::new(v.collect::<Int64Array>()));
    }
    fn i64_opt(&mut self, name: &str, v: impl Iterator<Item = Option<i64>>) {
        self.push(name, true, Arc::new(v.collect::<Int64Array>()));
    }
    fn u64(&mut self, name: &str, v: impl Iterator<Item = u64>) {
        self.push(name, false, Arc::new(v.collect::<UInt64Array>()));
    }
    /// A configuration value: always defined.
    fn f64(&mut self, name: &str, v: impl Iterator<Item = f64>) {
        self.push(name, false, Arc::new(v.collect::<Float64Array>()));
    }
    /// A metric: NaN becomes null.
    fn metric(&mut self, name: &str, v: impl Iterator<Item = f64>) {
        let a: Float64Array = v.map(defined).collect();
        self.push(name, true, Arc::new(a));
    }
    fn list<'a>(&mut self, name: &str, v: impl Iterator<Item = &'a [f64]>) {
        let lists: Vec<&[f64]> = v.collect();
        let values = Float64Builder::with_capacity(lists.iter().map(|l| l.len()).sum());
        let mut b = ListBuilder::with_capacity(values, lists.len())
            .with_field(Arc::new(Field::new("item", DataType::Float64, true)));
        for xs in lists {
            b.values().append_slice(xs);
            b.append(true);
        }
        self.push(name, false, Arc::new(b.finish()));
    }
    fn finish(self) -> RecordBatch {
        RecordBatch::try_new(Arc::new(Schema::new(self.fields)), self.arrays)
            .expect("columns of equal length")
    }
}

/// The metric columns shared by both tables, from the metrics of each row.
fn metric_columns(t: &mut Table, rows: &[&Metrics]) {
    t.metric("loss", rows.iter().map(|r| r.loss));
    t.metric("trace_hessian", rows.iter().map(|r| r.trace_hessian));
    t.metric("sharpness_r", rows.iter().map(|r| r.sharpness_r));
    t.metric("riem_grad_norm", rows.iter().map(|r| r.riem_grad_norm));
    t.metric("dist_to_optimum", rows.iter().map(|r| r.dist_to_optimum));
    t.list("sv_z", rows.iter().map(|r| r.sv_z.as_slice()));
    t.list("sv_phi", rows.iter().map(|r| r.sv_phi.as_slice()));
    t.metric("sv_ratio2_z", rows.iter().map(|r| r.sv_ratio_z(2)));
    t.metric("sv_ratio3_z", rows.iter().map(|r| r.sv_ratio_z(3)));
    t.metric("sv_ratio2_phi", rows.iter().map(|r| r.sv_ratio_phi(2)));
    t.metric("sv_ratio3_phi", rows.iter().map(|r| r.sv_ratio_phi(3)));
    t.metric("effective_rank_z", rows.iter().map(|r| r.effective_rank_z));
    t.metric("neuron_spread", rows.iter().map(|r| r.neuron_spread));
    t.i64(
        "neuron_clusters",
        rows.iter().map(|r| i64::from(r.neuron_clusters)),
    );
    let hessian = |f: fn(&sharpsweep_core::HessianStats) -> f64| {
        rows.iter()
            .map(move |r| r.hessian.as_ref().map_or(f64::NAN, f))
    };
    t.metric("hessian_fro", hessian(|h| h.frobenius));
    t.metric("hessian_lambda_max", hessian(|h| h.lambda_max));
    t.metric("time", rows.iter().map(|r| r.time));
    let margin = |f: fn(&sharpsweep_core::metrics::MarginStats) -> f64| {
        rows.iter()
            .map(move |r| r.margin.as_ref().map_or(f64::NAN, f))
    };
    t.metric("normalized_margin", margin(|s| s.normalized));
    t.metric("svm_margin", margin(|s| s.svm));
    t.metric("margin_ratio", margin(|s| s.ratio));
    t.metric("margin_angle", margin(|s| s.angle));
}

/// The `runs` table for `records` (in the order given).
pub fn runs_batch(records: &[RunRecord]) -> RecordBatch {
    let mut t = Table::default();
    let c = |f: fn(&RunConfig) -> f64| records.iter().map(move |r| f(&r.config));
    let n = |f: fn(&RunConfig) -> usize| records.iter().map(move |r| f(&r.config) as i64);
    t.utf8("run_id", records.iter().map(|r| r.run_id.to_string()));
    t.utf8(
        "algorithm",
        records.iter().map(|r| r.config.algorithm.as_str()),
    );
    t.utf8(
        "activation",
        records.iter().map(|r| r.config.activation.as_str()),
    );
    t.f64("beta", c(|c| c.beta));
    t.f64("alpha", c(|c| c.alpha));
    t.i64("m", n(|c| c.m));
    t.i64("d", n(|c| c.d));
    t.i64("n", n(|c| c.n));
    t.i64("batch_size", n(|c| c.batch()));
    t.f64("eta", c(|c| c.eta));
    t.f64("sigma", c(|c| c.sigma));
    t.utf8("noise", records.iter().map(|r| r.config.noise.as_str()));
    t.u64("seed", records.iter().map(|r| r.config.seed));
    t.utf8("data", records.iter().map(|r| r.config.data.to_string()));
    t.utf8(
        "labels",
        records.iter().map(|r| r.config.labels.to_string()),
    );
    t.utf8("init", records.iter().map(|r| r.config.init.to_string()));
    t.f64("init_scale", c(|c| c.init_scale));
    t.f64("rho", c(|c| c.rho));
    t.f64("flow_tol", c(|c| c.flow_tol));
    t.f64("flow_h", c(|c| c.flow_h));
    t.push(
        "loss_scaled_lr",
        false,
        Arc::new(
            records
                .iter()
                .map(|r| Some(r.config.loss_scaled_lr))
                .collect::<BooleanArray>(),
        ),
    );
    t.i64("steps", records.iter().map(|r| r.config.steps as i64));
    t.i64("steps_done", records.iter().map(|r| r.steps_done as i64));
    t.utf8("status", records.iter().map(|r| r.status_name()));
    t.utf8_opt("error", records.iter().map(|r| r.error.as_deref()));
    t.i64_opt(
        "diverged_step",
        records.iter().map(|r| r.diverged_step.map(|s| s as i64)),
    );
    let last: Vec<&Metrics> = records.iter().map(|r| &r.last).collect();
    metric_columns(&mut t, &last);
    t.metric(
        "sharpness_r_star",
        records.iter().map(|r| r.r_star.unwrap_or(f64::NAN)),
    );
    t.list("z_star", records.iter().map(|r| r.z_star.as_slice()));
    // [W22]'s stability ratios: linear stability of SGD needs
    // ‖H‖_F ≤ O(√B/η) and tr H ≤ O(2B/η) (tr H ≤ 2/η at B = 1, Wu & Su
    // 2023); GD's classical condition is λ_max ≤ 2/η. Each ratio is O(1)
    // or ≤ 1, but trace_stability (tr H·η/2) only at B = 1.
    t.metric(
        "hessian_fro_stability",
        records.iter().map(|r| {
            let b = r.config.batch() as f64;
            r.last
                .hessian
                .map_or(f64::NAN, |h| h.frobenius * r.config.eta / b.sqrt())
        }),
    );
    t.metric(
        "lambda_max_stability",
        records.iter().map(|r| {
            r.last
                .hessian
                .map_or(f64::NAN, |h| h.lambda_max * r.config.eta / 2.0)
        }),
    );
    t.metric(
        "trace_stability",
        records
            .iter()
            .map(|r| r.last.trace_hessian * r.config.eta / 2.0),
    );
    t.metric(
        "trace_stability_b",
        records
            .iter()
            .map(|r| r.last.trace_hessian * r.config.eta / (2.0 * r.config.batch() as f64)),
    );
    t.list("theta", records.iter().map(|r| r.theta.as_slice()));
    t.list(
        "second_layer",
        records.iter().map(|r| r.second_layer.as_slice()),
    );
    t.f64("wall_seconds", records.iter().map(|r| r.wall_seconds));
    t.utf8(
        "config",
        records
            .iter()
            .map(|r| serde_json::to_string(&r.config.canonical()).unwrap_or_default()),
    );
    t.utf8_opt(
        "stop_reason",
        records
            .iter()
            .map(|r| r.stop_reason.map(StopReason::as_str)),
    );
    t.finish()
}

/// The `trajectory` table: one row per `(run_id, record)`.
pub fn trajectory_batch(rows: &[(RunId, &Metrics)]) -> RecordBatch {
    let mut t = Table::default();
    // A run's rows are consecutive: its id is formatted once.
    let mut ids = StringBuilder::with_capacity(rows.len(), rows.len() * 16);
    let mut last: Option<(RunId, String)> = None;
    for (id, _) in rows {
        if last.as_ref().is_none_or(|(l, _)| l != id) {
            last = Some((*id, id.to_string()));
        }
        ids.append_value(&last.as_ref().expect("just set").1);
    }
    t.push("run_id", false, Arc::new(ids.finish()));
    t.i64("step", rows.iter().map(|(_, r)| r.step as i64));
    let metrics: Vec<&Metrics> = rows.iter().map(|(_, r)| *r).collect();
    metric_columns(&mut t, &metrics);
    t.list(
        "neuron_pc1",
        metrics.iter().map(|r| r.neuron_pc1.as_slice()),
    );
    t.list(
        "neuron_pc2",
        metrics.iter().map(|r| r.neuron_pc2.as_slice()),
    );
    t.list("z", metrics.iter().map(|r| r.z.as_slice()));
    t.finish()
}
