//! The `runs` table: one row per run with its configuration (the `config`
//! JSON column, which carries every key) and its final metrics.
//!
//! A dataset of 10⁵ runs has far fewer distinct configurations once the
//! seed is set aside (the seeds of a grid cell share everything else), so
//! each configuration is parsed into one shared map and a run keeps only
//! its seed: the run list stays a few hundred bytes per run.

use crate::dataset::LoadedDataset;
use crate::error::{AnalyzeError, Result};
use serde_json::{Map, Value};
use sharpsweep_dataset::metadata::{STATUS_DIVERGED, STATUS_FAILED, STATUS_INTERRUPTED};
use sharpsweep_dataset::schema::{
    ASSUMPTION_3_1_BEFORE_V5, config as cfg, metrics as mt, runs as rt,
};
use std::collections::HashMap;
use std::sync::Arc;

/// A JSON value as text: strings bare, numbers in their shortest form.
pub fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "none".into(),
        v => v.to_string(),
    }
}

/// Final metrics of a run, as the runs table stores them (NaN = null).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Final {
    pub loss: f64,
    pub sharpness_r: f64,
    pub sharpness_r_star: f64,
    pub riem_grad_norm: f64,
    pub dist_to_optimum: f64,
    pub sv_ratio2_z: f64,
    pub sv_ratio3_z: f64,
    pub sv_ratio2_phi: f64,
    pub sv_ratio3_phi: f64,
    /// tr ∇²L, and the exact Hessian's ‖H‖_F and λ_max (recorded with
    /// `hessian = true`; the [W22] figure).
    pub trace_hessian: f64,
    pub hessian_fro: f64,
    pub hessian_lambda_max: f64,
}

/// One row of the runs table.
#[derive(Clone, Debug)]
pub struct Run {
    pub run_id: String,
    /// The run's configuration but `seed`, shared by the runs of its cell.
    pub cell_config: Arc<Map<String, Value>>,
    /// The run's `seed` (null if the config has none).
    pub seed: Value,
    /// `finished`, `diverged`, `failed` (or `running` for a partial record).
    pub status: String,
    pub steps_done: i64,
    pub last: Final,
    /// Theorem 3.3's z*_i = φ⁻¹(y_i/m); empty when undefined or when the
    /// file predates the column.
    pub z_star: Vec<f64>,
    /// Whether the activation satisfies [G24] Assumption 3.1, as the
    /// engine recorded it (for older files, as it was then).
    pub assumption_3_1: bool,
    /// The `[[grid]]` table (0-based) of the run: its `grid_table` column,
    /// or where files lack it, the sweep's `grid.json`; `None` for a single
    /// run or a run neither knows.
    pub table: Option<usize>,
}

const FINAL_COLUMNS: [&str; 9] = [
    mt::LOSS.name,
    mt::SHARPNESS_R.name,
    rt::SHARPNESS_R_STAR.name,
    mt::RIEM_GRAD_NORM.name,
    mt::DIST_TO_OPTIMUM.name,
    mt::SV_RATIO2_Z.name,
    mt::SV_RATIO3_Z.name,
    mt::SV_RATIO2_PHI.name,
    mt::SV_RATIO3_PHI.name,
];

/// Final metrics of one system's figure, read where the file has them
/// (null otherwise, so the figure is skipped rather than the report).
const SYSTEM_COLUMNS: [&str; 3] = [
    mt::TRACE_HESSIAN.name,
    mt::HESSIAN_FRO.name,
    mt::HESSIAN_LAMBDA_MAX.name,
];

impl Run {
    /// A finished run of `config` (a JSON object) with default metrics, for
    /// tests: the fields a test cares about are set on the result.
    #[cfg(test)]
    pub(crate) fn of(config: Value) -> Run {
        Run {
            run_id: config.to_string(),
            cell_config: Arc::new(config.as_object().expect("a JSON object").clone()),
            seed: Value::Null,
            status: "finished".into(),
            steps_done: 1,
            last: Final::default(),
            z_star: Vec::new(),
            assumption_3_1: false,
            table: None,
        }
    }

    pub fn diverged(&self) -> bool {
        self.status == STATUS_DIVERGED
    }

    /// Whether the run has no result: it failed, or a signal interrupted
    /// it before its end (a `run` that its rerun continues), so its last
    /// record is not where its dynamics ended.
    pub fn failed(&self) -> bool {
        self.status == STATUS_FAILED || self.status == STATUS_INTERRUPTED
    }

    /// Whether a figure may draw the run: a diverged run's metrics blow up
    /// (its s₂/s₁ falls as it does, like a collapse), a failed run's stop
    /// anywhere; neither is data.
    pub fn drawable(&self) -> bool {
        !self.diverged() && !self.failed()
    }

    /// A configuration value, `seed` included.
    pub fn value(&self, key: &str) -> Option<&Value> {
        match key {
            k if k == cfg::SEED.name => Some(&self.seed).filter(|v| !v.is_null()),
            _ => self.cell_config.get(key),
        }
    }

    /// A numeric configuration value.
    pub fn number(&self, key: &str) -> Option<f64> {
        self.value(key).and_then(Value::as_f64)
    }

    /// The run's dynamics (`label-noise` when the configuration predates
    /// the key).
    pub fn algorithm(&self) -> &str {
        self.text(cfg::ALGORITHM.name).unwrap_or("label-noise")
    }

    /// A string configuration value.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.value(key).and_then(Value::as_str)
    }

    /// The seed as tables show it ("" if none).
    pub fn seed_text(&self) -> String {
        self.value(cfg::SEED.name).map(show).unwrap_or_default()
    }

    /// R − R*, the sharpness gap of Theorem 3.3 (NaN when R* is undefined).
    pub fn r_gap(&self) -> f64 {
        self.last.sharpness_r - self.last.sharpness_r_star
    }
}

/// Every run of the dataset, in file order.
pub fn read(ds: &LoadedDataset) -> Result<Vec<Run>> {
    let mut base = vec![
        rt::RUN_ID.name,
        rt::STATUS.name,
        rt::STEPS_DONE.name,
        rt::CONFIG.name,
    ];
    base.extend(FINAL_COLUMNS);
    let mut runs = Vec::new();
    // Configurations without their seed, by canonical JSON text.
    let mut shared: HashMap<String, Arc<Map<String, Value>>> = HashMap::new();
    for file in &ds.runs {
        file.require(&base)?;
        let mut columns = base.clone();
        let has_z_star = file.has(rt::Z_STAR.name);
        if has_z_star {
            columns.push(rt::Z_STAR.name);
        }
        let has_assumption = file.has(rt::ASSUMPTION_3_1.name);
        if has_assumption {
            columns.push(rt::ASSUMPTION_3_1.name);
        }
        columns.extend(SYSTEM_COLUMNS.into_iter().filter(|c| file.has(c)));
        let has_table = file.has(rt::GRID_TABLE.name);
        if has_table {
            columns.push(rt::GRID_TABLE.name);
        }
        for rg in 0..file.row_groups() {
            file.scan(rg, &columns, |b| {
                let ids = b.strings(rt::RUN_ID.name)?;
                let status = b.strings(rt::STATUS.name)?;
                let steps = b.integers(rt::STEPS_DONE.name)?;
                let configs = b.strings(rt::CONFIG.name)?;
                let f: Vec<Vec<f64>> = FINAL_COLUMNS
                    .iter()
                    .map(|c| b.floats(c))
                    .collect::<Result<_>>()?;
                let sys: Vec<Vec<f64>> = SYSTEM_COLUMNS
                    .iter()
                    .map(|c| b.floats_if_present(c))
                    .collect::<Result<_>>()?;
                let tables = if has_table {
                    b.integers(rt::GRID_TABLE.name)?
                } else {
                    vec![None; b.rows()]
                };
                let z_star = if has_z_star {
                    Some(b.float_lists(rt::Z_STAR.name)?)
                } else {
                    None
                };
                let assumption = if has_assumption {
                    Some(b.booleans(rt::ASSUMPTION_3_1.name)?)
                } else {
                    None
                };
                for i in 0..b.rows() {
                    let null = |c: &str| {
                        AnalyzeError::invalid(b.file, format!("column '{c}' is null in row {i}"))
                    };
                    let text = configs.get(i).ok_or_else(|| null(rt::CONFIG.name))?;
                    let mut config = match serde_json::from_str(text) {
                        Ok(Value::Object(m)) => m,
                        _ => {
                            return Err(AnalyzeError::invalid(
                                b.file,
                                format!("column 'config': row {i} is not a JSON object"),
                            ));
                        }
                    };
                    let seed = config.remove(cfg::SEED.name).unwrap_or(Value::Null);
                    // Files before the column: the activations that met
                    // the assumption then.
                    let assumption_3_1 = match &assumption {
                        Some(a) => a[i].unwrap_or(false),
                        None => config
                            .get(cfg::ACTIVATION.name)
                            .and_then(Value::as_str)
                            .is_some_and(|a| ASSUMPTION_3_1_BEFORE_V5.contains(&a)),
                    };
                    // serde_json's map is sorted by key: the text is canonical.
                    let key = serde_json::to_string(&config).expect("a JSON map serialises");
                    let cell_config =
                        Arc::clone(shared.entry(key).or_insert_with(|| Arc::new(config)));
                    runs.push(Run {
                        run_id: ids.get(i).ok_or_else(|| null(rt::RUN_ID.name))?.to_owned(),
                        cell_config,
                        seed,
                        status: status
                            .get(i)
                            .ok_or_else(|| null(rt::STATUS.name))?
                            .to_owned(),
                        steps_done: steps[i].unwrap_or(0),
                        last: Final {
                            loss: f[0][i],
                            sharpness_r: f[1][i],
                            sharpness_r_star: f[2][i],
                            riem_grad_norm: f[3][i],
                            dist_to_optimum: f[4][i],
                            sv_ratio2_z: f[5][i],
                            sv_ratio3_z: f[6][i],
                            sv_ratio2_phi: f[7][i],
                            sv_ratio3_phi: f[8][i],
                            trace_hessian: sys[0][i],
                            hessian_fro: sys[1][i],
                            hessian_lambda_max: sys[2][i],
                        },
                        z_star: z_star.as_ref().map(|z| z.row(i)).unwrap_or_default(),
                        assumption_3_1,
                        table: tables[i].and_then(|t| usize::try_from(t).ok()),
                    });
                }
                Ok(())
            })?;
        }
    }
    if runs.is_empty() {
        return Err(AnalyzeError::invalid(&ds.dir, "the runs table has no rows"));
    }
    if runs.iter().any(|r| r.table.is_none()) {
        let tables = ds.grid_tables()?;
        for r in runs.iter_mut().filter(|r| r.table.is_none()) {
            r.table = tables.get(&r.run_id).copied();
        }
    }
    Ok(runs)
}
