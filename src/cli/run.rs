//! `sharpsweep run`: one training run from flags, written as
//! `runs.parquet` (one row) and `trajectory.parquet` (one row per record).
//! A size the machine cannot hold is refused before anything is allocated
//! (core's memory.rs); the output directory is owned as output.rs says.
//! A stop signal (Ctrl-C, SIGTERM, SIGUSR1) checkpoints the run as a sweep
//! checkpoints its runs in flight (the sweep crate's `InFlight`), writes the
//! rows so far with status `interrupted`, and exits 130 after Ctrl-C, 75
//! otherwise; rerunning the same command continues from the checkpoint and
//! writes what an uninterrupted run writes (but `wall_seconds`).

mod output;

use super::progress::{Progress, clock, human};
use super::sweep::print_warning;
use super::{CliError, flag_error, seconds};
use output::RunDir;
use sharpsweep_cluster::signals::StopSignals;
use sharpsweep_core::config::{DEFAULT_STOP_CHECK_EVERY, DataGen, InitGen, LabelGen, OuterGen};
use sharpsweep_core::curvature::HessianMethod;
use sharpsweep_core::memory::{self, Budget};
use sharpsweep_core::{
    ActivationName, AlgorithmName, AnnealKind, NoiseKind, RunConfig, Source, StopReason, StopWhen,
    Trainer, data,
};
use sharpsweep_dataset::metadata::KEY_PARTNER_CHECKSUM;
use sharpsweep_dataset::write::{FileMeta, write_atomic};
use sharpsweep_sweep::chunk_steps;
use sharpsweep_sweep::in_flight::InFlight;
use sharpsweep_sweep::schema::{RunRecord, runs_batch};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Instant;

/// The defaults are [G24]'s Figure-1 setting (m = 10, d = 3, n = 3,
/// η = 0.05, σ = 0.03); see docs/fidelity.md for what it does.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Dynamics: label-noise (σ = 0: plain GD/SGD), sam, flow, margin (docs/dynamics.md).
    #[arg(long)]
    algorithm: Option<AlgorithmName>,
    /// SAM's perturbation radius ρ (sam).
    #[arg(long)]
    rho: Option<f64>,
    /// Loss at which the flow counts as on the zero-loss manifold (flow).
    #[arg(long)]
    flow_tol: Option<f64>,
    /// First step size h of the adaptive flow integrator (flow).
    #[arg(long)]
    flow_h: Option<f64>,
    /// Step η/L instead of η on the logistic loss (margin).
    #[arg(long)]
    loss_scaled_lr: bool,
    /// Neurons (width); taken from --init's file when that is given.
    #[arg(long)]
    m: Option<usize>,
    /// Input dimension; taken from --data's file when that is given.
    #[arg(long)]
    d: Option<usize>,
    /// Data points; taken from --data's file when that is given.
    #[arg(long)]
    n: Option<usize>,
    /// Learning rate η.
    #[arg(long, allow_negative_numbers = true)]
    eta: Option<f64>,
    /// Label-noise scale σ (the standard deviation of Gaussian noise); 0 = plain GD/SGD.
    #[arg(long, allow_negative_numbers = true)]
    sigma: Option<f64>,
    /// How η and σ move over the run: constant, linear, cosine, exponential
    /// (to --eta-end and --sigma-end) [default: constant].
    #[arg(long)]
    schedule: Option<AnnealKind>,
    /// η at the end of --schedule [default: --eta].
    #[arg(long, allow_negative_numbers = true)]
    eta_end: Option<f64>,
    /// σ at the end of --schedule [default: --sigma].
    #[arg(long, allow_negative_numbers = true)]
    sigma_end: Option<f64>,
    /// Mini-batch size B (default: n, full batch).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Label-noise distribution: gaussian or rademacher.
    #[arg(long)]
    noise: Option<NoiseKind>,
    /// cubic-linear, cube, sinh, tanh, softplus, relu, leaky-relu, quadratic.
    #[arg(long)]
    activation: Option<ActivationName>,
    /// β of cubic-linear, φ(z) = z³ + βz.
    #[arg(long, allow_negative_numbers = true)]
    beta: Option<f64>,
    /// Negative slope α of leaky-relu.
    #[arg(long, allow_negative_numbers = true)]
    alpha: Option<f64>,
    /// Step budget.
    #[arg(long)]
    steps: Option<u64>,
    /// Seed of every random stream of the run.
    #[arg(long)]
    seed: Option<u64>,
    /// Scale c of the Gaussian initialisation, θ ~ N(0, c²/d).
    #[arg(long, allow_negative_numbers = true)]
    init_scale: Option<f64>,
    /// uniform, gaussian, orthonormal, separable, separable-asym, or a CSV/.npy file (n×d).
    #[arg(long)]
    data: Option<Source<DataGen>>,
    /// uniform, teacher, gaussian, from-data (separable data's ±1), or a CSV/.npy file (n values).
    #[arg(long)]
    labels: Option<Source<LabelGen>>,
    /// gaussian, zero, or a CSV/.npy file (m×d).
    #[arg(long)]
    init: Option<Source<InitGen>>,
    /// The fixed second layer a of f(x) = Σ_j a_j φ(θ_jᵀx): ones ([G24]'s
    /// network), alternating (+1, −1, …), or a CSV/.npy file (m values)
    /// [default: ones].
    #[arg(long)]
    outer: Option<Source<OuterGen>>,
    /// Also record every this many steps.
    #[arg(long)]
    log_every: Option<u64>,
    /// Number of log-spaced records (plus step 0 and the last step).
    #[arg(long)]
    log_points: Option<usize>,
    /// Record the Hessian's Frobenius norm and largest eigenvalues.
    #[arg(long)]
    hessian: bool,
    /// How --hessian computes: auto (dense up to m·d = 512, else lanczos),
    /// dense, lanczos [default: auto].
    #[arg(long, value_name = "METHOD")]
    hessian_method: Option<HessianMethod>,
    /// How many of the Hessian's largest eigenvalues --hessian records
    /// (hessian_eigs) [default: 1].
    #[arg(long, value_name = "K")]
    hessian_top_k: Option<usize>,
    /// Loss above which the run counts as diverged.
    #[arg(long, allow_negative_numbers = true)]
    diverge_loss: Option<f64>,
    /// Neuron clustering tolerance, relative to the largest feature norm.
    #[arg(long, allow_negative_numbers = true)]
    cluster_tol: Option<f64>,
    /// Stop early, as finished, once this holds, e.g. "sv_ratio2_z < 1e-3"
    /// (docs/grid.md) [default: none].
    #[arg(long, value_name = "CONDITION")]
    stop_when: Option<StopWhen>,
    /// Steps between checks of --stop-when (at every multiple of it).
    #[arg(long, value_name = "STEPS", default_value_t = DEFAULT_STOP_CHECK_EVERY)]
    stop_check_every: u64,
    /// Refuse a run whose estimated memory exceeds this (e.g. 8G, 512M,
    /// bytes; default: the memory available now).
    #[arg(long, value_name = "SIZE", value_parser = memory::parse_size)]
    max_memory: Option<u64>,
    /// Output directory (one run writes to it at a time).
    #[arg(long, default_value = "sharpsweep-run")]
    out: PathBuf,
    /// Replace an existing result in --out (an interrupted run starts over).
    #[arg(long)]
    force: bool,
    /// Also checkpoint every SECS seconds, so a kill loses at most that much
    /// [default: only on SIGTERM, SIGINT or SIGUSR1].
    #[arg(long, value_name = "SECS")]
    checkpoint_every: Option<f64>,
    /// No progress bar or summary.
    #[arg(long, short)]
    quiet: bool,
}

/// The embedded default run of `algorithm`: [G24]'s Figure 1 where it
/// shows the effect in minutes, otherwise the nearest setting that does
/// (docs/fidelity.md), with the algorithm's own defaults.
pub fn default_config(algorithm: AlgorithmName) -> RunConfig {
    RunConfig::defaults_for(algorithm)
}

/// Appends each configuration flag's default to its help, as
/// `[default: 0.05]`, or `[default: 100000000; flow: 1000000]` where an
/// algorithm has its own: taken from [`default_config`], so the help
/// cannot drift from what a run does.
pub fn document_defaults(command: clap::Command) -> clap::Command {
    let json = |a| serde_json::to_value(default_config(a)).expect("a RunConfig serialises");
    let common = json(AlgorithmName::default());
    let own: Vec<(AlgorithmName, serde_json::Value)> =
        AlgorithmName::ALL.iter().map(|&a| (a, json(a))).collect();
    let show = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(x) => Some(x.to_string()),
        _ => None, // flags (false) and unset options, whose help says it
    };
    let ids: Vec<String> = command
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    ids.into_iter().fold(command, |command, id| {
        let Some(default) = common.get(&id).and_then(show) else {
            return command;
        };
        let mut text = format!("[default: {default}");
        // The algorithm's own defaults, but not the algorithm itself.
        for (a, values) in own.iter().filter(|_| id != "algorithm") {
            if values.get(&id) != common.get(&id)
                && let Some(v) = values.get(&id).and_then(show)
            {
                text += &format!("; {}: {v}", a.as_str());
            }
        }
        command.mut_arg(&id, |arg| {
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            arg.help(format!("{help} {text}]"))
        })
    })
}

impl Args {
    /// The run's configuration: the algorithm's defaults, overridden by the
    /// flags given.
    pub fn config(&self) -> Result<RunConfig, CliError> {
        let mut c = default_config(self.algorithm.unwrap_or_default());
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f.clone() { c.$f = v; } )* };
        }
        set!(
            m, d, n, eta, sigma, noise, activation, beta, alpha, steps, seed, init_scale
        );
        set!(
            data,
            labels,
            init,
            outer,
            log_points,
            diverge_loss,
            cluster_tol
        );
        set!(algorithm, rho, flow_tol, flow_h);
        set!(schedule);
        c.eta_end = self.eta_end.or(c.eta_end);
        c.sigma_end = self.sigma_end.or(c.sigma_end);
        c.loss_scaled_lr |= self.loss_scaled_lr;
        c.batch_size = self.batch_size.or(c.batch_size);
        c.log_every = self.log_every.or(c.log_every);
        c.hessian |= self.hessian;
        c.hessian_method = self.hessian_method.or(c.hessian_method);
        c.hessian_top_k = self.hessian_top_k.or(c.hessian_top_k);
        c.stop_when = self.stop_when.clone();
        c.stop_check_every = Some(self.stop_check_every);
        // Shapes the user did not give come from the files that fix them.
        let shape = |src: &Path, field| data::file_shape(src, field).map_err(|e| flag_error(&e));
        if let Source::File(p) = &c.data {
            let (rows, cols) = shape(p, "data")?;
            c.n = self.n.unwrap_or(rows);
            c.d = self.d.unwrap_or(cols);
        }
        if let (Source::File(p), None) = (&c.init, self.m) {
            c.m = shape(p, "init")?.0;
        }
        c.validate().map_err(|e| flag_error(&e))?;
        Ok(c)
    }
}

/// A config key as the flag that sets it: `--batch-size 3`, `--hessian`.
fn flag(key: &str, value: &str) -> String {
    match key {
        "hessian" => "--hessian".into(),
        _ => format!("--{} {value}", key.replace('_', "-")),
    }
}

pub fn main(args: Args) -> Result<(), CliError> {
    let config = args.config()?;
    let estimate = config.memory_estimate(1).map_err(|e| flag_error(&e))?;
    memory::refuse_unless_fits(&estimate, Budget::detect(args.max_memory), flag)
        .map_err(CliError::input)?;
    output::refuse_non_directory(&args.out)?;
    // Bad data or init files are refused before --out is touched.
    Trainer::new(&config).map_err(|e| flag_error(&e))?;
    let checkpoint_every = args
        .checkpoint_every
        .map(|s| seconds("--checkpoint-every", s))
        .transpose()?;
    // Ctrl-C, SIGTERM, SIGUSR1: checkpoint, write the rows so far, stop.
    let signals = StopSignals::install().map_err(CliError::failure)?;
    let id = config.run_id();
    let out = RunDir::claim(&args.out, args.force, id)?;
    // From the checkpoint an interrupted run of this configuration left.
    let warn = |w| print_warning(&w, args.quiet);
    let (mut trainer, mut run) =
        InFlight::start(id, &config, out.dir(), &warn).map_err(CliError::failure)?;

    let start = Instant::now();
    let mut progress =
        Progress::new("run", "steps", config.steps).resuming_from(trainer.state().step);
    if args.quiet {
        progress = progress.silent();
    }
    let chunk = chunk_steps(&config, 1);
    let mut last_checkpoint = start;
    let stopped = loop {
        if let Some(r) = trainer.advance(chunk) {
            run.record(r);
        }
        progress.update(trainer.state().step);
        if trainer.is_done() {
            break false;
        }
        let stopping = signals.flag().load(Ordering::Relaxed);
        if stopping || checkpoint_every.is_some_and(|e| last_checkpoint.elapsed() >= e) {
            out.make_checkpoints_dir()?;
            run.checkpoint(out.dir(), &trainer, start.elapsed().as_secs_f64(), &warn);
            last_checkpoint = Instant::now();
            if stopping {
                break true;
            }
        }
    };
    progress.finish(trainer.state().step);
    let outcome = run
        .outcome(&trainer, start.elapsed().as_secs_f64())
        .map_err(CliError::failure)?;
    let record = &outcome.record;
    let trajectory = outcome.trajectory();

    let config_json = serde_json::to_string(&config.canonical()).map_err(CliError::failure)?;
    // The runs file records its trajectory file's checksum, which ties the
    // pair (the trajectory is written first).
    let mut trajectory_crc = None;
    out.commit(|path, table| {
        let (batches, extra) = match table {
            "runs" => (
                vec![runs_batch(&[record])],
                trajectory_crc
                    .map(|crc: u32| vec![(KEY_PARTNER_CHECKSUM, format!("{crc:08x}"))])
                    .unwrap_or_default(),
            ),
            _ => (trajectory.clone(), Vec::new()),
        };
        let meta = FileMeta {
            table,
            config_json: &config_json,
        };
        let crc = write_atomic(path, &batches, &meta, &extra)
            .map_err(|e| CliError::failure(format!("writing {}: {e}", path.display())))?;
        trajectory_crc.get_or_insert(crc);
        Ok(())
    })?;
    if !args.quiet {
        print_summary(record, &args.out);
    }
    if stopped {
        return Err(CliError::interrupted_by(
            signals.received(),
            format!(
                "{}: run checkpointed at step {} of {}, its rows so far written with status \
                 interrupted; rerun the same command to continue",
                signals.received().unwrap_or("a stop signal"),
                record.steps_done,
                config.steps
            ),
        ));
    }
    out.remove_checkpoint(id);
    Ok(())
}

/// `finished`, or why the run finished before its budget
/// (`finished (stop_when)`), or `diverged`.
fn status(r: &RunRecord) -> String {
    match r.stop_reason {
        Some(why @ (StopReason::StopWhen | StopReason::Stationary)) => {
            format!("{} ({})", r.status_name(), why.as_str())
        }
        _ => r.status_name().into(),
    }
}

fn print_summary(r: &RunRecord, out: &Path) {
    let m = &r.last;
    let rate = r.steps_done as f64 / r.wall_seconds.max(1e-9);
    let gap = r.r_star.map_or(f64::NAN, |rs| m.sharpness_r - rs);
    let mut text = format!(
        "run {}: {} after {} steps in {} ({} steps/s)\n\
         \x20 final loss          {:.3e}\n\
         \x20 s2/s1, s3/s1 of Z   {:.3e}, {:.3e}\n\
         \x20 s2/s1 of phi(Z)     {:.3e}\n\
         \x20 distance to z*      {:.3e}\n\
         \x20 R - R*              {gap:.3e}\n",
        r.run_id,
        status(r),
        r.steps_done,
        clock(r.wall_seconds),
        human(rate),
        m.loss,
        m.sv_ratio_z(2),
        m.sv_ratio_z(3),
        m.sv_ratio_phi(2),
        m.dist_to_optimum,
    );
    if m.time.is_finite() {
        text += &format!("  time t              {:.6e}\n", m.time);
    }
    if let Some(mg) = &m.margin {
        text += &format!(
            "  normalised margin   {:.6e} ({:.4} of the max-margin value)\n  \
             angle to w*         {:.3e} rad\n",
            mg.normalized, mg.ratio, mg.angle
        );
    }
    text += &format!("  written to {}\n", out.display());
    super::print_text(&text);
}
