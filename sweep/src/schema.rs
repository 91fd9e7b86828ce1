//! The engine's side of the dataset contract: the values of the `runs`
//! and `trajectory` tables. Which columns exist, their order, types and
//! nullability are the contract's ([`sharpsweep_dataset::schema`]); a
//! batch that disagrees with it is refused when it is assembled, so the
//! writer and `analyze` cannot drift apart. The file's key-value metadata
//! carries `sharpsweep.schema_version`, the tool version, the table name
//! and the configuration. Every column is a pure function of the
//! configuration except `wall_seconds`.

use crate::rows::{LISTS, METRIC_LISTS, Rows, SCALARS};
use arrow_array::builder::StringBuilder;
use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, ListArray, RecordBatch, StringArray,
    UInt64Array,
};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, Field};
use sharpsweep_core::run_id::RunIds;
use sharpsweep_core::{AlgorithmName, Metrics, RunConfig, RunId, Status, StopReason, Trainer};
use sharpsweep_dataset::schema::{self as contract, Column, config as cfg, metrics as mt};
use std::fmt::Write as _;
use std::sync::Arc;

/// The version and metadata keys are the dataset contract's, which
/// `analyze` reads by too.
pub use sharpsweep_dataset::metadata::{
    KEY_CONFIG, KEY_SCHEMA_VERSION, KEY_TABLE, KEY_TOOL_VERSION, SCHEMA_VERSION, STATUS_FAILED,
    STATUS_INTERRUPTED,
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
    /// The grid point's replicate index and `[[grid]]` table (a sweep's
    /// runs; `None` for a single run).
    pub replicate: Option<u64>,
    pub grid_table: Option<usize>,
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
            replicate: None,
            grid_table: None,
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
            replicate: None,
            grid_table: None,
            stop_reason: None,
        }
    }

    /// `finished`, `diverged`, `failed` or `interrupted` (a run still
    /// running when it was written: `sharpsweep run` stopped by a signal):
    /// the `status` column.
    pub fn status_name(&self) -> &'static str {
        match (&self.error, self.status) {
            (Some(_), _) => STATUS_FAILED,
            (None, Status::Running) => STATUS_INTERRUPTED,
            (None, status) => status.as_str(),
        }
    }
}

/// Columns under construction, put in the contract's order by [`Table::finish`].
#[derive(Default)]
struct Table {
    arrays: Vec<(&'static str, ArrayRef)>,
}

impl Table {
    fn push(&mut self, c: &Column, array: ArrayRef) {
        self.arrays.push((c.name, array));
    }
    fn utf8<S: AsRef<str>>(&mut self, c: &Column, v: impl ExactSizeIterator<Item = S>) {
        let mut b = StringBuilder::with_capacity(v.len(), 0);
        for s in v {
            b.append_value(s);
        }
        self.push(c, Arc::new(b.finish()));
    }
    /// Values written straight into the column (generators' and files'
    /// names), with no string allocated for each.
    fn text<D: std::fmt::Display>(&mut self, c: &Column, v: impl ExactSizeIterator<Item = D>) {
        let mut b = StringBuilder::with_capacity(v.len(), 0);
        for s in v {
            write!(b, "{s}").expect("a string builder takes any text");
            b.append_value("");
        }
        self.push(c, Arc::new(b.finish()));
    }
    /// The `run_id` column (a run's trajectory rows are consecutive: its
    /// digits are written once for them).
    fn ids(&mut self, v: impl ExactSizeIterator<Item = RunId>) {
        let mut b = StringBuilder::with_capacity(v.len(), 16 * v.len());
        let mut last = None;
        for id in v {
            let (_, hex) = last
                .filter(|&(l, _)| l == id)
                .unwrap_or_else(|| (id, id.hex()));
            b.append_value(std::str::from_utf8(&hex).expect("hex digits are ASCII"));
            last = Some((id, hex));
        }
        self.push(&contract::runs::RUN_ID, Arc::new(b.finish()));
    }
    fn utf8_opt<'a>(&mut self, c: &Column, v: impl Iterator<Item = Option<&'a str>>) {
        let a: StringArray = v.collect();
        self.push(c, Arc::new(a));
    }
    fn i64(&mut self, c: &Column, v: impl Iterator<Item = i64>) {
        self.push(c, Arc::new(v.collect::<Int64Array>()));
    }
    fn i64_opt(&mut self, c: &Column, v: impl Iterator<Item = Option<i64>>) {
        self.push(c, Arc::new(v.collect::<Int64Array>()));
    }
    fn u64(&mut self, c: &Column, v: impl Iterator<Item = u64>) {
        self.push(c, Arc::new(v.collect::<UInt64Array>()));
    }
    fn bool(&mut self, c: &Column, v: impl Iterator<Item = bool>) {
        self.push(c, Arc::new(v.map(Some).collect::<BooleanArray>()));
    }
    /// A configuration value: always defined.
    fn f64(&mut self, c: &Column, v: impl Iterator<Item = f64>) {
        self.push(c, Arc::new(v.collect::<Float64Array>()));
    }
    /// A configuration value that may be unset (null).
    fn f64_opt(&mut self, c: &Column, v: impl Iterator<Item = Option<f64>>) {
        self.push(c, Arc::new(v.collect::<Float64Array>()));
    }
    /// A metric: NaN becomes null.
    fn metric(&mut self, c: &Column, v: impl Iterator<Item = f64>) {
        self.metric_values(c, v.collect());
    }
    /// Undefined values (NaN) are stored as null.
    fn metric_values(&mut self, c: &Column, values: Vec<f64>) {
        // Most columns have no undefined value: no null buffer to build.
        let nulls = if !values.iter().any(|x| x.is_nan()) {
            None
        } else if values.iter().all(|x| x.is_nan()) {
            // Metrics of other dynamics (margins, the Hessian's), often.
            Some(NullBuffer::new_null(values.len()))
        } else {
            Some(NullBuffer::from_iter(values.iter().map(|x| !x.is_nan())))
        };
        self.push(c, Arc::new(Float64Array::new(values.into(), nulls)));
    }
    /// A list per row, its values copied once into the column's.
    fn list<'a>(&mut self, c: &Column, v: impl Iterator<Item = &'a [f64]>) {
        let lists: Vec<&[f64]> = v.collect();
        self.list_values(c, lists.iter().map(|l| l.len()), lists.concat());
    }
    /// A list per length in `lens`, of `values` in turn.
    fn list_values(&mut self, c: &Column, lens: impl Iterator<Item = usize>, values: Vec<f64>) {
        let offsets = OffsetBuffer::from_lengths(lens);
        let item = Arc::new(Field::new("item", DataType::Float64, true));
        let a = ListArray::new(item, offsets, Arc::new(Float64Array::from(values)), None);
        self.push(c, Arc::new(a));
    }
    /// The columns `LISTS[wanted]` from the rows of `runs`.
    fn rows_lists(&mut self, runs: &[&Rows], wanted: std::ops::Range<usize>) {
        let columns = Rows::list_columns(runs, wanted.clone());
        for (c, (values, lens)) in LISTS[wanted].iter().zip(columns) {
            self.list_values(c, lens.into_iter(), values);
        }
    }
    /// The batch of the contract's `columns`, in their order: a column
    /// the contract has and the writer did not fill (or the reverse), or
    /// a type or null that disagrees with it, is a bug caught here.
    fn finish(mut self, columns: &[Column]) -> RecordBatch {
        assert_eq!(
            self.arrays.len(),
            columns.len(),
            "the writer fills every column of the contract once"
        );
        let arrays = columns
            .iter()
            .map(|c| {
                let at = self.arrays.iter().position(|(n, _)| *n == c.name);
                let at = at.unwrap_or_else(|| panic!("column {} is not written", c.name));
                self.arrays.swap_remove(at).1
            })
            .collect();
        RecordBatch::try_new(Arc::new(contract::arrow_schema(columns)), arrays)
            .expect("the columns of the dataset contract")
    }
}

/// The metric columns shared by both tables, from the rows of each run.
fn metric_columns(t: &mut Table, runs: &[&Rows]) {
    for (c, values) in SCALARS.iter().zip(Rows::scalar_columns(runs)) {
        t.metric_values(c, values);
    }
    t.i64(
        &mt::NEURON_CLUSTERS,
        runs.iter().flat_map(|r| r.clusters()).map(|c| c as i64),
    );
    t.rows_lists(runs, METRIC_LISTS);
}

/// The configuration columns: every field of [`RunConfig`].
fn config_columns(t: &mut Table, records: &[&RunRecord]) {
    let c = |f: fn(&RunConfig) -> f64| records.iter().map(move |r| f(&r.config));
    let n = |f: fn(&RunConfig) -> usize| records.iter().map(move |r| f(&r.config) as i64);
    let flag = |f: fn(&RunConfig) -> bool| records.iter().map(move |r| f(&r.config));
    t.utf8(
        &cfg::ALGORITHM,
        records.iter().map(|r| r.config.algorithm.as_str()),
    );
    t.utf8(
        &cfg::ACTIVATION,
        records.iter().map(|r| r.config.activation.as_str()),
    );
    t.f64(&cfg::BETA, c(|c| c.beta));
    t.f64(&cfg::ALPHA, c(|c| c.alpha));
    t.i64(&cfg::M, n(|c| c.m));
    t.i64(&cfg::D, n(|c| c.d));
    t.i64(&cfg::N, n(|c| c.n));
    t.i64(&cfg::BATCH_SIZE, n(|c| c.batch()));
    t.f64(&cfg::ETA, c(|c| c.eta));
    t.f64(&cfg::SIGMA, c(|c| c.sigma));
    t.utf8(&cfg::NOISE, records.iter().map(|r| r.config.noise.as_str()));
    t.i64(&cfg::STEPS, records.iter().map(|r| r.config.steps as i64));
    t.u64(&cfg::SEED, records.iter().map(|r| r.config.seed));
    t.text(&cfg::DATA, records.iter().map(|r| &r.config.data));
    t.text(&cfg::LABELS, records.iter().map(|r| &r.config.labels));
    t.text(&cfg::INIT, records.iter().map(|r| &r.config.init));
    t.f64(&cfg::INIT_SCALE, c(|c| c.init_scale));
    t.i64(&cfg::LOG_POINTS, n(|c| c.log_points));
    t.i64_opt(
        &cfg::LOG_EVERY,
        records.iter().map(|r| r.config.log_every.map(|e| e as i64)),
    );
    t.bool(&cfg::HESSIAN, flag(|c| c.hessian));
    t.f64(&cfg::DIVERGE_LOSS, c(|c| c.diverge_loss));
    t.f64(&cfg::CLUSTER_TOL, c(|c| c.cluster_tol));
    t.f64(&cfg::RHO, c(|c| c.rho));
    t.f64(&cfg::FLOW_TOL, c(|c| c.flow_tol));
    t.f64(&cfg::FLOW_H, c(|c| c.flow_h));
    t.bool(&cfg::LOSS_SCALED_LR, flag(|c| c.loss_scaled_lr));
    let stop_when: Vec<Option<String>> = records
        .iter()
        .map(|r| r.config.stop_when.as_ref().map(|s| s.to_string()))
        .collect();
    t.utf8_opt(&cfg::STOP_WHEN, stop_when.iter().map(Option::as_deref));
    t.i64_opt(
        &cfg::STOP_CHECK_EVERY,
        records
            .iter()
            .map(|r| r.config.stop_check_every.map(|k| k as i64)),
    );
    t.text(&cfg::OUTER, records.iter().map(|r| &r.config.outer));
    t.utf8_opt(
        &cfg::SCHEDULE,
        records
            .iter()
            .map(|r| (!r.config.schedule.is_constant()).then(|| r.config.schedule.as_str())),
    );
    t.f64_opt(&cfg::ETA_END, records.iter().map(|r| r.config.eta_end));
    t.f64_opt(&cfg::SIGMA_END, records.iter().map(|r| r.config.sigma_end));
    t.utf8_opt(
        &cfg::HESSIAN_METHOD,
        records
            .iter()
            .map(|r| r.config.hessian_method.map(|m| m.as_str())),
    );
    t.i64_opt(
        &cfg::HESSIAN_TOP_K,
        records
            .iter()
            .map(|r| r.config.hessian_top_k.map(|k| k as i64)),
    );
}

/// The `runs` table for `records` (in the order given).
pub fn runs_batch(records: &[&RunRecord]) -> RecordBatch {
    use contract::runs::*;
    let mut t = Table::default();
    t.ids(records.iter().map(|r| r.run_id));
    config_columns(&mut t, records);
    t.i64_opt(
        &REPLICATE,
        records.iter().map(|r| r.replicate.map(|k| k as i64)),
    );
    t.i64_opt(
        &GRID_TABLE,
        records.iter().map(|r| r.grid_table.map(|k| k as i64)),
    );
    // Each run's configuration as JSON, serialised once for the `config`
    // column and the `cell` column both.
    let mut encoder = RunIds::default();
    let mut configs = StringBuilder::with_capacity(records.len(), 0);
    let mut cells = StringBuilder::with_capacity(records.len(), 12 * records.len());
    // A cell's replicates mostly follow each other: its id is hashed once
    // for them, told apart by their text without the seed as the id is
    // (`==` would take 0.0 and -0.0 for the same).
    let mut last: Option<(String, String)> = None;
    for r in records {
        let json = encoder.json(&r.config);
        let cell = match &last {
            Some((same, id)) if same_but_seed(same, json) => id,
            _ => {
                let id = match serde_json::from_str(json) {
                    Ok(serde_json::Value::Object(map)) => contract::cell_id(&map),
                    _ => unreachable!("a RunConfig serialises to a JSON object"),
                };
                &last.insert((json.to_owned(), id)).1
            }
        };
        cells.append_value(cell);
        configs.append_value(json);
    }
    t.push(&CELL, Arc::new(cells.finish()));
    t.i64(&STEPS_DONE, records.iter().map(|r| r.steps_done as i64));
    t.utf8(&STATUS, records.iter().map(|r| r.status_name()));
    t.utf8_opt(&ERROR, records.iter().map(|r| r.error.as_deref()));
    t.i64_opt(
        &DIVERGED_STEP,
        records.iter().map(|r| r.diverged_step.map(|s| s as i64)),
    );
    let mut last = Rows::default();
    for r in records {
        last.push(&r.last);
    }
    metric_columns(&mut t, &[&last]);
    t.metric(
        &SHARPNESS_R_STAR,
        records.iter().map(|r| r.r_star.unwrap_or(f64::NAN)),
    );
    t.list(&Z_STAR, records.iter().map(|r| r.z_star.as_slice()));
    // [W22]'s stability ratios: linear stability of SGD needs
    // ‖H‖_F ≤ O(√B/η) and tr H ≤ O(2B/η) (tr H ≤ 2/η at B = 1, Wu & Su
    // 2023); GD's classical condition is λ_max ≤ 2/η. Each ratio is O(1)
    // or ≤ 1, but trace_stability (tr H·η/2) only at B = 1.
    t.metric(
        &HESSIAN_FRO_STABILITY,
        records.iter().map(|r| {
            let b = r.config.batch() as f64;
            r.last
                .hessian
                .as_ref()
                .map_or(f64::NAN, |h| h.frobenius * r.config.eta / b.sqrt())
        }),
    );
    t.metric(
        &LAMBDA_MAX_STABILITY,
        records.iter().map(|r| {
            r.last
                .hessian
                .as_ref()
                .map_or(f64::NAN, |h| h.lambda_max * r.config.eta / 2.0)
        }),
    );
    t.metric(
        &TRACE_STABILITY,
        records
            .iter()
            .map(|r| r.last.trace_hessian * r.config.eta / 2.0),
    );
    t.metric(
        &TRACE_STABILITY_B,
        records
            .iter()
            .map(|r| r.last.trace_hessian * r.config.eta / (2.0 * r.config.batch() as f64)),
    );
    t.list(&THETA, records.iter().map(|r| r.theta.as_slice()));
    t.list(
        &SECOND_LAYER,
        records.iter().map(|r| r.second_layer.as_slice()),
    );
    t.bool(
        &ASSUMPTION_3_1,
        records
            .iter()
            .map(|r| r.config.activation().meets_assumption_3_1()),
    );
    t.f64(&WALL_SECONDS, records.iter().map(|r| r.wall_seconds));
    t.push(&CONFIG, Arc::new(configs.finish()));
    t.utf8_opt(
        &STOP_REASON,
        records
            .iter()
            .map(|r| r.stop_reason.map(StopReason::as_str)),
    );
    t.utf8_opt(
        &HESSIAN_SOLVER,
        records.iter().map(|r| {
            let margin = r.config.algorithm == AlgorithmName::Margin;
            let opts = r.config.hessian_options().filter(|_| !margin);
            opts.map(|o| o.method.as_str())
        }),
    );
    t.finish(&contract::runs())
}

/// Whether two configurations' JSON texts differ at most in their `seed`.
/// A configuration is a flat object (no value is an object: checked by
/// `every_configuration_field_is_a_column`) and text values escape their
/// quotes, so `"seed":` occurs once, as the key. Compared as slices (the
/// texts before and after the seeds' digits), not byte by byte: a sweep's
/// writer compares every run's text with the one before.
fn same_but_seed(a: &str, b: &str) -> bool {
    const KEY: &str = "\"seed\":";
    let Some(at) = a.find(KEY).map(|i| i + KEY.len()) else {
        return a == b;
    };
    let digits = |json: &str| {
        let rest = json.get(at..).unwrap_or_default().as_bytes();
        at + rest.iter().take_while(|c| c.is_ascii_digit()).count()
    };
    a.as_bytes().get(..at) == b.as_bytes().get(..at) && a[digits(a)..] == b[digits(b)..]
}

/// The `trajectory` table: a row per record of each run, in the order given.
pub fn trajectory_batch(runs: &[(RunId, &Rows)]) -> RecordBatch {
    use contract::trajectory::*;
    let mut t = Table::default();
    let ids: Vec<RunId> = (runs.iter())
        .flat_map(|&(id, r)| std::iter::repeat_n(id, r.len()))
        .collect();
    t.ids(ids.into_iter());
    let rows: Vec<&Rows> = runs.iter().map(|(_, r)| *r).collect();
    t.i64(&STEP, rows.iter().flat_map(|r| r.steps()).map(|s| s as i64));
    metric_columns(&mut t, &rows);
    t.rows_lists(&rows, METRIC_LISTS.end..LISTS.len());
    t.finish(&contract::trajectory())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_configuration_field_is_a_column() {
        // Every field set, those written only when set included.
        let config = RunConfig {
            stop_when: Some("loss < 1e-9".parse().unwrap()),
            stop_check_every: Some(100),
            outer: "alternating".parse().unwrap(),
            schedule: sharpsweep_core::AnnealKind::Cosine,
            eta_end: Some(0.01),
            sigma_end: Some(0.0),
            hessian_method: Some(sharpsweep_core::curvature::HessianMethod::Lanczos),
            hessian_top_k: Some(3),
            ..RunConfig::default()
        };
        let json = serde_json::to_value(config).unwrap();
        let fields: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        // Flat: what `same_but_seed` relies on.
        assert!(json.as_object().unwrap().values().all(|v| !v.is_object()));
        let mut columns: Vec<&str> = cfg::ALL.iter().map(|c| c.name).collect();
        columns.sort_unstable();
        assert_eq!(fields, columns);
    }

    #[test]
    fn texts_that_differ_in_the_seed_alone_are_one_cell() {
        let json = |seed: u64, rho: f64| {
            let c = RunConfig {
                seed,
                rho,
                ..RunConfig::default()
            };
            RunIds::default().json(&c).to_owned()
        };
        assert!(same_but_seed(&json(12, 0.5), &json(12, 0.5)));
        assert!(same_but_seed(&json(12, 0.5), &json(123, 0.5)));
        assert!(same_but_seed(&json(9, 0.5), &json(10_000_000_000, 0.5)));
        // A field after the seed, and one before (the algorithm).
        assert!(!same_but_seed(&json(12, 0.5), &json(12, 0.25)));
        assert!(!same_but_seed(&json(12, 0.0), &json(13, -0.0)));
        let sam = RunConfig {
            algorithm: sharpsweep_core::AlgorithmName::Sam,
            ..RunConfig::default()
        };
        assert!(!same_but_seed(&json(0, 0.0), RunIds::default().json(&sam)));
    }

    #[test]
    fn each_run_gets_its_cells_id_whatever_its_neighbours() {
        // Replicates, a cell between, and two cells told apart only by a
        // zero's sign (equal by `==`, not by their text).
        let config = |seed, rho: f64| RunConfig {
            seed,
            rho,
            algorithm: sharpsweep_core::AlgorithmName::Sam,
            ..RunConfig::default()
        };
        let configs = [
            config(1, 0.0),
            config(2, 0.0),
            config(1, -0.0),
            config(3, 0.0),
            config(1, 0.1),
            config(2, 0.1),
        ];
        let records: Vec<RunRecord> = configs
            .iter()
            .map(|c| RunRecord::failed(c, "x".into(), 0.0))
            .collect();
        let runs = runs_batch(&records.iter().collect::<Vec<_>>());
        let cells = runs
            .column_by_name(contract::runs::CELL.name)
            .unwrap()
            .as_any()
            .downcast_ref::<arrow_array::StringArray>()
            .unwrap();
        for (i, c) in configs.iter().enumerate() {
            let serde_json::Value::Object(map) = serde_json::to_value(c.canonical()).unwrap()
            else {
                unreachable!()
            };
            assert_eq!(cells.value(i), contract::cell_id(&map), "run {i}");
        }
        assert_ne!(cells.value(1), cells.value(2));
    }

    #[test]
    fn batches_have_the_contract_schema() {
        let record = RunRecord::failed(&RunConfig::default(), "vanished".into(), 0.5);
        let runs = runs_batch(&[&record]);
        assert_eq!(*runs.schema(), contract::arrow_schema(&contract::runs()));
        let trajectory = trajectory_batch(&[]);
        assert_eq!(
            *trajectory.schema(),
            contract::arrow_schema(&contract::trajectory())
        );
    }
}
