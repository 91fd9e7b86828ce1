//! The columns of every file a dataset or a report holds: name, Arrow type,
//! whether it may be null, unit and formula, in one place.
//!
//! The engine writes the `runs` and `trajectory` tables through
//! [`runs()`] and [`trajectory()`] (a batch of another shape is refused),
//! `analyze` reads them and writes `summary.parquet` and `theory.parquet`
//! by the same constants, and docs/schema.md is generated from them
//! ([`markdown`]). Adding a column is one line in the list it belongs to.
//!
//! Types are plain Arrow types every reader maps natively: counts and
//! sizes `Int64`, seeds `UInt64` (they use all 64 bits), flags `Boolean`,
//! `List<Float64>` for vectors and matrices. A metric that is not defined
//! (no φ⁻¹ for R*, a diverged state) is null rather than NaN, so SQL
//! aggregates skip it.

use arrow_schema::{DataType, Field, Schema};
use serde_json::{Map, Value};
use std::fmt::Write as _;

/// The Arrow type of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int,
    UInt,
    Float,
    Bool,
    /// `List<Float64>`.
    Floats,
}

impl Kind {
    pub fn data_type(self) -> DataType {
        match self {
            Kind::Text => DataType::Utf8,
            Kind::Int => DataType::Int64,
            Kind::UInt => DataType::UInt64,
            Kind::Float => DataType::Float64,
            Kind::Bool => DataType::Boolean,
            Kind::Floats => DataType::List(std::sync::Arc::new(Field::new(
                "item",
                DataType::Float64,
                true,
            ))),
        }
    }

    /// The type as docs/schema.md shows it (Arrow's names).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Text => "Utf8",
            Kind::Int => "Int64",
            Kind::UInt => "UInt64",
            Kind::Float => "Float64",
            Kind::Bool => "Boolean",
            Kind::Floats => "List<Float64>",
        }
    }
}

/// One column of the contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub nullable: bool,
    /// The unit ("" for a pure number or text).
    pub unit: &'static str,
    /// What it holds, with its formula (Markdown).
    pub doc: &'static str,
}

impl Column {
    pub fn field(&self) -> Field {
        Field::new(self.name, self.kind.data_type(), self.nullable)
    }
}

/// Defines one constant per column and the list of them:
/// `ID: "name", Kind, req|opt, "unit", "doc";` defines `ID`, a bare `ID;`
/// lists a column defined elsewhere.
macro_rules! columns {
    (@null req) => { false };
    (@null opt) => { true };
    ($(#[$about:meta])* $list:ident = [
        $( $id:ident $( : $name:literal, $kind:ident, $null:ident, $unit:literal, $doc:literal )? ; )*
    ]) => {
        $( $(
            #[doc = $doc]
            pub const $id: Column = Column {
                name: $name,
                kind: Kind::$kind,
                nullable: columns!(@null $null),
                unit: $unit,
                doc: $doc,
            };
        )? )*
        $(#[$about])*
        pub const $list: &[Column] = &[$($id),*];
    };
}

/// Every field of a run's configuration, in its declaration order; the
/// `config` column holds the same as JSON.
pub mod config {
    use super::{Column, Kind};
    columns! {
        /// Every configuration field.
        ALL = [
            ALGORITHM: "algorithm", Text, req, "", "The dynamics: `label-noise`, `sam`, `flow` or `margin`.";
            ACTIVATION: "activation", Text, req, "", "φ: `cubic-linear` (z³ + βz), `cube`, `sinh`, `tanh`, `softplus`, `relu`, `leaky-relu`, `quadratic`.";
            BETA: "beta", Float, req, "", "β of `cubic-linear`; ignored by the other activations.";
            ALPHA: "alpha", Float, req, "", "Negative-side slope α of `leaky-relu`; ignored by the others.";
            M: "m", Int, req, "neurons", "Width m: the number of neurons.";
            D: "d", Int, req, "", "Input dimension d.";
            N: "n", Int, req, "data points", "Data points n.";
            BATCH_SIZE: "batch_size", Int, req, "data points", "Mini-batch size B (n for the full batch).";
            ETA: "eta", Float, req, "", "Learning rate η.";
            SIGMA: "sigma", Float, req, "", "Label-noise scale σ (0: plain GD/SGD).";
            NOISE: "noise", Text, req, "", "Label-noise distribution (`gaussian`, …).";
            STEPS: "steps", Int, req, "steps", "Step budget K.";
            SEED: "seed", UInt, req, "", "Seeds every random stream of the run (data, labels, init, batches, noise).";
            DATA: "data", Text, req, "", "Data generator (`uniform`, `gaussian`, `orthonormal`, `separable`, …) or a file.";
            LABELS: "labels", Text, req, "", "Label generator (`uniform`, `teacher`, `gaussian`, `from-data`) or a file.";
            INIT: "init", Text, req, "", "Initial weights: `gaussian`, `zero` or a file.";
            INIT_SCALE: "init_scale", Float, req, "", "c of the Gaussian initialisation θ_jk ~ N(0, c²/d).";
            LOG_POINTS: "log_points", Int, req, "records", "Log-spaced records: steps round(K^{k/P}) for k = 1…P, P = `log_points`.";
            LOG_EVERY: "log_every", Int, opt, "steps", "Also record every this many steps; null: no linear schedule.";
            HESSIAN: "hessian", Bool, req, "", "Whether the exact Hessian's ‖H‖_F and λ_max are recorded.";
            DIVERGE_LOSS: "diverge_loss", Float, req, "", "A loss above this (or non-finite) marks the run diverged.";
            CLUSTER_TOL: "cluster_tol", Float, req, "", "Neurons closer than this × the largest column norm of Z share a cluster.";
            RHO: "rho", Float, req, "", "SAM's perturbation radius ρ (`sam` only).";
            FLOW_TOL: "flow_tol", Float, req, "", "`flow` only: the clean loss at which the zero-loss manifold counts as reached.";
            FLOW_H: "flow_h", Float, req, "time", "`flow` only: the first and largest step size h of the flow integrator.";
            LOSS_SCALED_LR: "loss_scaled_lr", Bool, req, "", "`margin` only: step η/L(θ) instead of η.";
            STOP_WHEN: "stop_when", Text, opt, "", "The condition on the metrics that ends the run early (e.g. `sv_ratio2_z < 1e-3`), checked every `stop_check_every` steps; null: the run takes its whole budget.";
            STOP_CHECK_EVERY: "stop_check_every", Int, opt, "steps", "Steps between checks of `stop_when`; null: the default.";
            OUTER: "outer", Text, req, "", "The fixed second layer a of f(x) = Σ_j a_j φ(θ_jᵀx): `ones` (\\[G24\\]'s network), `alternating` (+1, −1, +1, …) or a file of m values.";
            SCHEDULE: "schedule", Text, opt, "", "How η and σ move over the steps k = 0…K−1: `linear`, `cosine` or `exponential`, from `eta`, `sigma` to `eta_end`, `sigma_end` (docs/science.md §5.1); null: constant.";
            ETA_END: "eta_end", Float, opt, "", "η at the end of the schedule; null: `eta` (or no schedule).";
            SIGMA_END: "sigma_end", Float, opt, "", "σ at the end of the schedule (label noise only); null: `sigma` (or no schedule).";
            HESSIAN_METHOD: "hessian_method", Text, opt, "", "How `hessian` computes its statistics: `auto` (null: the default; `dense` up to m·d = 512, else `lanczos`), `dense` (the md×md matrix) or `lanczos` (Hessian-vector products); `hessian_solver` says which ran.";
            HESSIAN_TOP_K: "hessian_top_k", Int, opt, "", "How many of the Hessian's largest eigenvalues `hessian_eigs` holds; null: 1.";
        ]
    }

    /// The column of configuration key `key`, if it is one.
    pub fn column(key: &str) -> Option<&'static Column> {
        ALL.iter().find(|c| c.name == key)
    }
}

/// The metrics of a record, in both the `runs` table (at the last record)
/// and the `trajectory` table (at every record). Formulas: docs/science.md.
pub mod metrics {
    use super::{Column, Kind};
    columns! {
        /// Every metric of a record.
        ALL = [
            LOSS: "loss", Float, opt, "", "L(Θ) = (1/n) Σ_i (f_Θ(x_i) − y_i)², the clean loss (the logistic loss for `margin`).";
            TRACE_HESSIAN: "trace_hessian", Float, opt, "", "tr ∇²L(Θ), exact.";
            SHARPNESS_R: "sharpness_r", Float, opt, "", "R(Θ) = (2/n) Σ_{i,j} φ'(z_ij)² ‖x_i‖², the trace of the Hessian on the zero-loss manifold.";
            RIEM_GRAD_NORM: "riem_grad_norm", Float, opt, "", "‖P_T ∇R‖, the Riemannian gradient of R on the manifold.";
            DIST_TO_OPTIMUM: "dist_to_optimum", Float, opt, "", "max_{i,j} |z_ij − z*_i|; null without z*.";
            SV_Z: "sv_z", Floats, req, "", "Singular values s_1 ≥ s_2 ≥ … of Z (min(n, m) of them).";
            SV_PHI: "sv_phi", Floats, req, "", "Singular values of φ(Z).";
            SV_RATIO2_Z: "sv_ratio2_z", Float, opt, "", "s₂/s₁ of Z.";
            SV_RATIO3_Z: "sv_ratio3_z", Float, opt, "", "s₃/s₁ of Z.";
            SV_RATIO2_PHI: "sv_ratio2_phi", Float, opt, "", "s₂/s₁ of φ(Z).";
            SV_RATIO3_PHI: "sv_ratio3_phi", Float, opt, "", "s₃/s₁ of φ(Z).";
            EFFECTIVE_RANK_Z: "effective_rank_z", Float, opt, "", "exp(−Σ_k p_k ln p_k), p_k = s_k / Σ_l s_l (Roy and Vetterli); 1 for a rank-one Z.";
            NEURON_SPREAD: "neuron_spread", Float, opt, "", "max_{j,k} ‖z_{·j} − z_{·k}‖ over the neurons' columns of Z.";
            NEURON_CLUSTERS: "neuron_clusters", Int, req, "neurons", "Single-linkage clusters of the columns of Z at `cluster_tol` × the largest column norm.";
            HESSIAN_FRO: "hessian_fro", Float, opt, "", "‖∇²L‖_F (with `hessian`; else null): exact, or an estimate where `hessian_fro_se` is not null.";
            HESSIAN_LAMBDA_MAX: "hessian_lambda_max", Float, opt, "", "λ_max(∇²L) (with `hessian`; else null).";
            TIME: "time", Float, opt, "time", "The dynamics' clock: k·η²σ²/(2B) for label noise, the flow's t, Σ_k η_k for `margin`; null for SAM.";
            NORMALIZED_MARGIN: "normalized_margin", Float, opt, "", "`margin` only: min_i y_i f(x_i) / ‖θ‖².";
            SVM_MARGIN: "svm_margin", Float, opt, "", "`margin` only: γ*, the hard-margin linear SVM's margin through the origin.";
            MARGIN_RATIO: "margin_ratio", Float, opt, "", "`margin` only: `normalized_margin` / ((1+α)γ*/4); 1 is the maximal margin.";
            MARGIN_ANGLE: "margin_angle", Float, opt, "rad", "`margin` only: the angle between the max-margin direction and the net's linear part.";
            HESSIAN_EIGS: "hessian_eigs", Floats, req, "", "The `hessian_top_k` largest eigenvalues of ∇²L, descending (with `hessian`; else empty).";
            HESSIAN_FRO_SE: "hessian_fro_se", Float, opt, "", "The standard error of `hessian_fro` where it is Hutchinson's estimate (the matrix-free path at n(m + d) > 64·m·d, docs/science.md §2.4); null where `hessian_fro` is exact or not recorded.";
        ]
    }
}

/// The `runs` table's own columns (besides the configuration and metrics).
pub mod runs {
    use super::{Column, Kind};
    columns! {
        /// Identity.
        ID = [
            RUN_ID: "run_id", Text, req, "", "16 hex digits: FNV-1a (64 bit) of the canonical configuration JSON.";
        ]
    }
    columns! {
        /// Where the run sits in its grid, and how it ended.
        OUTCOME = [
            REPLICATE: "replicate", Int, opt, "", "The grid point's replicate index (`seed` = replicate_seed(grid seed, replicate)); null for a single run.";
            GRID_TABLE: "grid_table", Int, opt, "", "The `[[grid]]` table of the point (0-based); null for a single run.";
            CELL: "cell", Text, req, "", "12 hex digits naming the configuration without `seed` (the cell whose seeds it is): the first 48 bits of FNV-1a (64 bit) over its JSON with sorted keys. The same value in summary.parquet and theory.parquet.";
            STEPS_DONE: "steps_done", Int, req, "steps", "Steps taken (the step of divergence for a diverged run).";
            STATUS: "status", Text, req, "", "`finished`, `diverged`, `failed`, or `interrupted` (a `run` stopped by a signal; rerunning it continues).";
            ERROR: "error", Text, opt, "", "Why a `failed` run could not be carried out; null otherwise.";
            DIVERGED_STEP: "diverged_step", Int, opt, "step", "The step whose loss was non-finite or above `diverge_loss`; null if none.";
        ]
    }
    columns! {
        /// Per-run results after the final metrics.
        RESULTS = [
            SHARPNESS_R_STAR: "sharpness_r_star", Float, opt, "", "R* = (2m/n) Σ_i φ'(z*_i)² ‖x_i‖², Theorem 3.3's minimum of R; null without φ⁻¹.";
            Z_STAR: "z_star", Floats, req, "", "z*_i = φ⁻¹(y_i/m), one per data point; empty without φ⁻¹.";
            HESSIAN_FRO_STABILITY: "hessian_fro_stability", Float, opt, "", "‖H‖_F·η/√B at the end (\\[W22\\]); with `hessian`.";
            LAMBDA_MAX_STABILITY: "lambda_max_stability", Float, opt, "", "λ_max·η/2 at the end; with `hessian`.";
            TRACE_STABILITY: "trace_stability", Float, opt, "", "tr H·η/2 at the end (≤ 1 for stability at B = 1).";
            TRACE_STABILITY_B: "trace_stability_b", Float, opt, "", "tr H·η/(2B) at the end.";
            THETA: "theta", Floats, req, "", "Θ at the end: m×d row-major, θ_j (neuron j's weights) is theta[j·d .. (j+1)·d].";
            SECOND_LAYER: "second_layer", Floats, req, "", "The trained second layer a_j, m entries (`margin` only; else empty).";
            ASSUMPTION_3_1: "assumption_3_1", Bool, req, "", "Whether the activation satisfies \\[G24\\] Assumption 3.1 (φ' ≥ ρ₁ > 0, φ''' ≥ ρ₂ > 0), under which Theorem 3.3 describes the optimum.";
            WALL_SECONDS: "wall_seconds", Float, req, "s", "Wall time of the run (the only column that is not a function of the configuration).";
            CONFIG: "config", Text, req, "", "The whole configuration as JSON (every field above, batch size resolved).";
            STOP_REASON: "stop_reason", Text, opt, "", "Why the run ended: `steps` (its budget was spent), `stop_when` (its condition held), `stationary` (the flow reached a fixed point) or `diverged`; null for a failed or interrupted run.";
            HESSIAN_SOLVER: "hessian_solver", Text, opt, "", "The method that computed the Hessian statistics, `dense` or `lanczos` (`hessian_method` resolved at this m·d); null without `hessian` and for `margin`.";
        ]
    }
}

/// The `trajectory` table's own columns.
pub mod trajectory {
    use super::{Column, Kind};
    columns! {
        /// The record's step.
        STEPS = [
            STEP: "step", Int, req, "step", "The step k of the record (0 is the initialisation).";
        ]
    }
    columns! {
        /// The neurons and Z at the record.
        FEATURES = [
            NEURON_PC1: "neuron_pc1", Floats, req, "", "Each neuron's coordinate on the first principal component of the m columns of Z (m entries).";
            NEURON_PC2: "neuron_pc2", Floats, req, "", "… on the second (m entries).";
            Z: "z", Floats, req, "", "Z = XΘᵀ, n×m row-major: z_ij = θ_jᵀx_i is z[i·m + j].";
        ]
    }
}

/// `summary.parquet` (`analyze`): one row per cell.
pub mod summary {
    use super::{Column, Kind};
    columns! {
        /// Which cell the row is.
        HEAD = [
            CELL: "cell", Text, opt, "", "The cell's id, as the runs table's `cell`.";
            LABEL: "label", Text, opt, "", "`key=value` over the keys swept among the cells.";
        ]
    }
    columns! {
        /// Counts after the configuration columns.
        COUNTS = [
            CONFIG: "config", Text, opt, "", "The cell's configuration without `seed`, as JSON.";
            RUNS: "runs", Int, opt, "runs", "Runs of the cell.";
            DIVERGED: "diverged", Int, opt, "runs", "Of them, diverged.";
            DIVERGENCE_RATE: "divergence_rate", Float, opt, "", "`diverged` / `runs`.";
        ]
    }
    columns! {
        /// Each summarised quantity, as `<name>_q25`, `<name>_median` and
        /// `<name>_q75` (linear quantiles over the runs that neither
        /// diverged nor failed).
        QUANTILED = [
            SV_RATIO2_Z: "sv_ratio2_z", Float, opt, "", "Final s₂/s₁ of Z.";
            SV_RATIO3_Z: "sv_ratio3_z", Float, opt, "", "Final s₃/s₁ of Z.";
            SV_RATIO2_PHI: "sv_ratio2_phi", Float, opt, "", "Final s₂/s₁ of φ(Z).";
            SV_RATIO3_PHI: "sv_ratio3_phi", Float, opt, "", "Final s₃/s₁ of φ(Z).";
            R_GAP: "r_gap", Float, opt, "", "Final R − R*.";
            DIST_TO_OPTIMUM: "dist_to_optimum", Float, opt, "", "Final max_{i,j} |z_ij − z*_i|.";
            LOSS: "loss", Float, opt, "", "Final loss.";
            STEPS_TO_0_1: "steps_to_0_1", Float, opt, "steps", "First recorded step with s₂/s₁ of Z < 10⁻¹ (null where the quantile falls on runs that never got there).";
            STEPS_TO_0_01: "steps_to_0_01", Float, opt, "steps", "… < 10⁻².";
            STEPS_TO_0_001: "steps_to_0_001", Float, opt, "steps", "… < 10⁻³.";
        ]
    }
    columns! {
        /// How many runs reached each threshold.
        REACHED = [
            REACHED_0_1: "reached_0_1", Float, opt, "", "Fraction of the runs that neither diverged nor failed with s₂/s₁ of Z < 10⁻¹ at some record.";
            REACHED_0_01: "reached_0_01", Float, opt, "", "… < 10⁻².";
            REACHED_0_001: "reached_0_001", Float, opt, "", "… < 10⁻³.";
        ]
    }

    /// The three columns of a quantiled quantity.
    pub fn quantile_names(stem: &str) -> [String; 3] {
        ["q25", "median", "q75"].map(|q| format!("{stem}_{q}"))
    }
}

/// `theory.parquet` (`analyze`): one row per run, \[G24\] Theorem 3.3
/// against the run.
pub mod theory {
    pub use super::config::{ACTIVATION, D, M, N, SEED};
    pub use super::metrics::DIST_TO_OPTIMUM;
    pub use super::runs::{CELL, RUN_ID, SHARPNESS_R_STAR, Z_STAR};
    use super::{Column, Kind};
    columns! {
        /// Every column of `theory.parquet`.
        ALL = [
            RUN_ID;
            CELL;
            SEED;
            ACTIVATION;
            N;
            D;
            M;
            SHARPNESS_R: "sharpness_r", Float, opt, "", "Final R.";
            SHARPNESS_R_STAR;
            R_GAP: "r_gap", Float, opt, "", "R − R*.";
            DIST_TO_OPTIMUM;
            Z_STAR;
            Z_ROW_MEAN: "z_row_mean", Floats, req, "", "(1/m) Σ_j z_ij of the final Z, one per data point; empty when Z is not finite.";
            MAX_MEAN_GAP: "max_mean_gap", Float, opt, "", "max_i |mean_j z_ij − z*_i|.";
            NEURON_GAP: "neuron_gap", Float, opt, "", "max_{i,j} |z_ij − mean_j z_ij|: how far the neurons are from agreeing.";
            THEOREM_APPLIES: "theorem_applies", Bool, req, "", "Whether Theorem 3.3 covers the run (`caveats` is empty).";
            CAVEATS: "caveats", Text, req, "", "Why it does not, `; `-separated: n > d, an activation outside Assumption 3.1, no z*, diverged.";
        ]
    }
}

/// The activations that satisfy Assumption 3.1 in files that predate the
/// `assumption_3_1` column (schema version 4 and older): then as now
/// `cubic-linear` and `sinh`.
pub const ASSUMPTION_3_1_BEFORE_V5: &[&str] = &["cubic-linear", "sinh"];

/// The `runs` table, in file order.
pub fn runs() -> Vec<Column> {
    [
        runs::ID,
        config::ALL,
        runs::OUTCOME,
        metrics::ALL,
        runs::RESULTS,
    ]
    .concat()
}

/// The `trajectory` table, in file order.
pub fn trajectory() -> Vec<Column> {
    [
        runs::ID,
        trajectory::STEPS,
        metrics::ALL,
        trajectory::FEATURES,
    ]
    .concat()
}

/// The Arrow schema of `columns`.
pub fn arrow_schema(columns: &[Column]) -> Schema {
    Schema::new(columns.iter().map(Column::field).collect::<Vec<_>>())
}

/// A cell's id (the `cell` column): the first 48 bits of FNV-1a (64 bit)
/// over the configuration's JSON without `seed`, keys sorted at every
/// level, as 12 hex digits. The engine hashes the configuration it ran,
/// `analyze` the `config` column it reads: the same JSON values, so the
/// same id, for files of any version.
pub fn cell_id(config: &Map<String, Value>) -> String {
    let mut text = Vec::new();
    sorted_object(config, Some(config::SEED.name), &mut text);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in &text {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{:012x}", h >> 16)
}

/// `map` as compact JSON with its keys sorted (but `skip`), and those of
/// every object within, whatever order the map keeps them in.
fn sorted_object(map: &Map<String, Value>, skip: Option<&str>, out: &mut Vec<u8>) {
    let mut keys: Vec<&String> = map.keys().filter(|&k| Some(k.as_str()) != skip).collect();
    keys.sort_unstable();
    out.push(b'{');
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, k).expect("a string serialises");
        out.push(b':');
        sorted_json(&map[k], out);
    }
    out.push(b'}');
}

/// `v` as compact JSON, objects' keys sorted ([`sorted_object`]).
fn sorted_json(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(map) => sorted_object(map, None, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                sorted_json(item, out);
            }
            out.push(b']');
        }
        scalar => serde_json::to_writer(out, scalar).expect("a JSON value serialises"),
    }
}

/// docs/schema.md: every column of every file with its type, unit and
/// formula, and the metadata keys.
pub fn markdown() -> String {
    use crate::metadata::*;
    let mut out = format!(
        "# The dataset schema\n\n\
         Generated from `dataset/src/schema.rs` (the dataset contract) by\n\
         `sharpsweep_dataset::schema::markdown`; a test keeps this file in sync\n\
         (`SHARPSWEEP_BLESS=1 cargo test --release --workspace -- schema_md` rewrites\n\
         it). Schema version {SCHEMA_VERSION}; readers accept versions {}–{}.\n\n\
         Nullable columns are null where a value is undefined (never NaN).\n\
         Matrices are flattened row-major into `List<Float64>`:\n\n\
         * `theta` (runs): Θ ∈ R^{{m×d}}, row j is neuron j's weights θ_j:\n  \
         θ_jk = `theta[j*d + k]`;\n\
         * `z` (trajectory): Z = XΘᵀ ∈ R^{{n×m}}, z_ij = θ_jᵀx_i = `z[i*m + j]`:\n  \
         row i is data point i, column j neuron j (in numpy:\n  \
         `np.reshape(z, (n, m))`, `np.reshape(theta, (m, d))`).\n",
        READABLE_VERSIONS.start(),
        READABLE_VERSIONS.end()
    );
    let mut table = |title: &str, about: &str, rows: &[(String, Column)]| {
        let _ = write!(
            out,
            "\n## {title}\n\n{about}\n\n| column | type | null | unit | meaning |\n|---|---|---|---|---|\n"
        );
        for (name, c) in rows {
            let _ = writeln!(
                out,
                "| `{name}` | {} | {} | {} | {} |",
                c.kind.name(),
                if c.nullable { "yes" } else { "no" },
                c.unit,
                c.doc.replace('|', "\\|")
            );
        }
    };
    let named = |columns: &[Column]| -> Vec<(String, Column)> {
        columns.iter().map(|c| (c.name.to_string(), *c)).collect()
    };
    table(
        "runs: `runs.parquet`, `runs/part-*.parquet`",
        "One row per run: its configuration (every field a column), where it sits \
         in its grid, how it ended, the final metrics and weights.",
        &named(&runs()),
    );
    table(
        "trajectory: `trajectory.parquet`, `trajectories/part-*.parquet`",
        "One row per recorded step of a run (join the runs on `run_id`).",
        &named(&trajectory()),
    );
    let mut rows = named(summary::HEAD);
    rows.extend(
        config::ALL
            .iter()
            .filter(|c| c.name != config::SEED.name)
            .map(|c| {
                (
                    c.name.to_string(),
                    Column {
                        nullable: true,
                        ..*c
                    },
                )
            }),
    );
    rows.extend(named(summary::COUNTS));
    rows.extend(
        summary::QUANTILED
            .iter()
            .map(|c| (format!("{}_{{q25,median,q75}}", c.name), *c)),
    );
    rows.extend(named(summary::REACHED));
    table(
        "summary: `REPORT/summary.parquet`",
        "One row per cell (the runs that share every configuration field but `seed`), \
         written by `sharpsweep analyze`. Every configuration field but `seed` is a \
         column of the type it has in the runs table. Each summarised quantity is \
         three columns, `<name>_q25`, `<name>_median` and `<name>_q75`: linear \
         (type 7) quantiles over the cell's runs that neither diverged nor failed.",
        &rows,
    );
    table(
        "theory: `REPORT/theory.parquet`",
        "One row per run: [G24] Theorem 3.3's prediction (every neuron at \
         z_ij = z*_i = φ⁻¹(y_i/m), R = R*) against the run's final state.",
        &named(theory::ALL),
    );
    let _ = write!(
        out,
        "\n## File metadata\n\n\
         Every Parquet file's footer carries key-value metadata:\n\n\
         | key | value |\n|---|---|\n\
         | `{KEY_SCHEMA_VERSION}` | the schema version ({SCHEMA_VERSION}) |\n\
         | `{KEY_TOOL_VERSION}` | the version of sharpsweep that wrote it |\n\
         | `{KEY_TABLE}` | `{TABLE_RUNS}`, `{TABLE_TRAJECTORY}`, `summary` or `theory` |\n\
         | `{KEY_CONFIG}` | a single run's configuration; a sweep part's `{{\"fingerprint\": …, \"grid\": …}}`: the grid's fingerprint and the grid itself (the grid file's TOML as JSON, with the `--set` overrides under `\"set\"`) |\n\
         | `{KEY_CHECKSUM}` | CRC-32 of the file's bytes (docs in `dataset/src/checksum.rs`) |\n\
         | `{KEY_PARTNER_CHECKSUM}` | a runs part's record of its trajectories part's checksum |\n\
         | `{KEY_REPLACES}` | a compacted part's list of the parts it replaces |\n\n\
         In DuckDB: `SELECT decode(key), decode(value) FROM parquet_kv_metadata('DIR/runs/*.parquet')`.\n"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_are_unique_within_each_table() {
        for table in [runs(), trajectory(), theory::ALL.to_vec()] {
            let mut names: Vec<&str> = table.iter().map(|c| c.name).collect();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(names.len(), before, "{names:?}");
        }
    }

    #[test]
    fn no_column_is_named_like_a_pandas_attribute() {
        // DataFrame attributes a column would hide from `df.name` access.
        let attributes = [
            "flags", "index", "columns", "dtypes", "values", "shape", "size", "ndim", "empty",
            "attrs", "style", "plot", "T",
        ];
        let all = [
            runs(),
            trajectory(),
            theory::ALL.to_vec(),
            summary::COUNTS.to_vec(),
        ];
        for c in all.iter().flatten() {
            assert!(!attributes.contains(&c.name), "{}", c.name);
        }
    }

    #[test]
    fn cell_ids_ignore_the_seed_and_the_key_order() {
        let a = serde_json::json!({"eta": 0.05, "m": 10, "seed": 1, "data": {"file": "x"}});
        let b = serde_json::json!({"data": {"file": "x"}, "seed": 7, "m": 10, "eta": 0.05});
        let c = serde_json::json!({"eta": 0.06, "m": 10, "seed": 1, "data": {"file": "x"}});
        let id = |v: &Value| cell_id(v.as_object().unwrap());
        assert_eq!(id(&a), id(&b));
        assert_ne!(id(&a), id(&c));
        assert_eq!(id(&a).len(), 12);
        // Stable across releases: a changed id would split old datasets' cells.
        assert_eq!(id(&serde_json::json!({"m": 10})), "058ede886989");
    }

    #[test]
    fn schema_md_is_generated_from_the_contract() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schema.md");
        let generated = markdown();
        if std::env::var_os("SHARPSWEEP_BLESS").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == generated,
            "docs/schema.md is not what the contract generates: rerun with SHARPSWEEP_BLESS=1"
        );
    }
}
