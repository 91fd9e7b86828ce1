//! `sharpsweep sweep GRID.toml --out DIR`: every point of a grid, on every
//! core (and every MPI rank with `--features mpi` under `mpirun`), into a
//! resumable Parquet dataset. Rerunning the same command resumes.

use super::progress::{LOG_EVERY, Progress, clock};
use super::{CliError, seconds};
use sharpsweep_cluster::env;
use sharpsweep_cluster::signals::StopSignals;
use sharpsweep_core::memory::{self, Budget};
use sharpsweep_sweep::estimate;
use sharpsweep_sweep::grid::{EXAMPLE, Grid, worker_threads};
use sharpsweep_sweep::progress::Tally;
use sharpsweep_sweep::{
    Plan, Shard, SweepError, SweepOptions, SweepReport, Warning, Watch, run_plan,
};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The grid file (TOML); `sharpsweep sweep --example` prints a documented one.
    #[arg(required_unless_present = "example")]
    grid: Option<PathBuf>,
    /// The dataset directory (created; an existing one of the same grid is resumed).
    #[arg(long, required_unless_present_any = ["example", "dry_run"])]
    out: Option<PathBuf>,
    /// Override a grid key: `--set eta=0.01,0.02` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE[,VALUE...]")]
    set: Vec<String>,
    /// Worker threads [default: RAYON_NUM_THREADS, else every core]; at most 4 per core.
    #[arg(long)]
    threads: Option<usize>,
    /// Refuse the grid unless each point, held by every worker thread and
    /// the writer at once, fits this (e.g. 8G, 512M, bytes) [default: the
    /// memory available now].
    #[arg(long, value_name = "SIZE", value_parser = memory::parse_size)]
    max_memory: Option<u64>,
    /// Run only the K-th of N cost-balanced disjoint shards (K from 0), e.g. for a job array
    /// [default: the whole grid, or the shard of a SLURM array task or MPI rank].
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Print the number of points, the cost estimate, the estimated wall
    /// time (from timing each shape's kernels here) and the first points; run nothing.
    #[arg(long)]
    dry_run: bool,
    /// Move an existing dataset in --out aside (to superseded-<time>/) and start anew.
    #[arg(long)]
    force_new: bool,
    /// Run the points whose run failed (status `failed`) again, replacing their rows.
    #[arg(long)]
    retry_failed: bool,
    /// Checkpoint long runs every SECS seconds, so a kill loses at most that much
    /// [default: only on SIGTERM, SIGINT or SIGUSR1].
    #[arg(long, value_name = "SECS")]
    checkpoint_every: Option<f64>,
    /// Write a part file after this many finished runs.
    #[arg(long, default_value_t = 2000, hide = true)]
    flush_runs: usize,
    /// Write a part file once the runs not yet written recorded this many
    /// trajectory rows (bounds the writer's memory for long trajectories).
    #[arg(long, default_value_t = 1 << 15, hide = true)]
    flush_rows: usize,
    /// Write a part file at least this often (seconds) while runs finish.
    #[arg(long, default_value_t = 30.0, hide = true)]
    flush_secs: f64,
    /// A progress line this often (seconds) when stderr is not a terminal.
    #[arg(long, default_value_t = LOG_EVERY.as_secs_f64(), hide = true)]
    progress_secs: f64,
    /// Print an embedded, documented example grid and exit: figure1, flow,
    /// sam, margin or stability [default: figure1].
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "figure1")]
    example: Option<String>,
    /// No progress bar or summary.
    #[arg(long, short)]
    quiet: bool,
}

/// The embedded example grids by name: [G24] Figure 1 and one per system of
/// docs/science.md §5 (examples/*.toml).
const EXAMPLES: [(&str, &str); 5] = [
    ("figure1", EXAMPLE),
    ("flow", include_str!("../../examples/flow.toml")),
    ("sam", include_str!("../../examples/sam.toml")),
    ("margin", include_str!("../../examples/margin.toml")),
    ("stability", include_str!("../../examples/stability.toml")),
];

pub fn sweep_error(e: SweepError) -> CliError {
    if e.is_input() {
        CliError::input(e)
    } else {
        CliError::failure(e)
    }
}

pub fn main(args: Args) -> Result<(), CliError> {
    if let Some(name) = &args.example {
        let (_, text) = EXAMPLES.iter().find(|(n, _)| n == name).ok_or_else(|| {
            let names: Vec<_> = EXAMPLES.iter().map(|(n, _)| *n).collect();
            CliError::input(format!(
                "--example: unknown example '{name}' (expected one of {})",
                names.join(", ")
            ))
        })?;
        super::print_text(text);
        return Ok(());
    }
    let path = args.grid.clone().unwrap_or_default();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
    let grid = Grid::from_toml(&text, &args.set)
        .map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
    grid.check_memory(
        Budget::detect(args.max_memory),
        worker_threads(args.threads),
    )
    .map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
    if args.dry_run {
        super::print_text(&dry_run(&grid, args.threads));
        // The process ends here: its memory goes back at once, whereas
        // dropping a long grid frees its configurations one by one.
        std::mem::forget(grid);
        return Ok(());
    }
    let out = args.out.clone().unwrap_or_default();
    let explicit: Option<Shard> = args
        .shard
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(sweep_error)?;
    let assigned = env::assign(explicit, mpi_splits_ranks(), |name| {
        std::env::var(name).ok()
    })
    .map_err(|e| CliError::input(format!("{e} (or choose the part with --shard K/N)")))?;
    if !args.quiet && !assigned.source.is_empty() {
        eprintln!("sweep: shard {} ({})", assigned.shard, assigned.source);
    }
    let opts = SweepOptions {
        threads: super::worker_threads(args.threads),
        shard: assigned.shard,
        force_new: args.force_new,
        retry_failed: args.retry_failed,
        checkpoint_every: args
            .checkpoint_every
            .map(|s| seconds("--checkpoint-every", s))
            .transpose()?,
        flush_runs: args.flush_runs.max(1),
        flush_rows: args.flush_rows.max(1),
        flush_every: seconds("--flush-secs", args.flush_secs)?,
        quiet: args.quiet,
        command: std::env::args().collect(),
        lanes: true,
    };
    let start = Instant::now();
    // SIGUSR1 (SLURM's warning), SIGTERM, SIGINT: checkpoint and stop.
    let signals = StopSignals::install().map_err(CliError::failure)?;
    let plan = Plan::from_grid(&grid);
    let progress_every = seconds("--progress-secs", args.progress_secs)?;
    let mut watch = Stderr::new(args.quiet, progress_every);
    let (report, rank) = run(&plan, &out, &opts, signals.flag(), &mut watch)?;
    if !args.quiet && rank == 0 {
        print_summary(&report, &out, start.elapsed().as_secs_f64());
    }
    if report.interrupted {
        return Err(CliError::interrupted(format!(
            "{}: {} runs in flight checkpointed; rerun the same command to resume (exit 75)",
            signals.received().unwrap_or("a stop signal"),
            report.checkpointed
        )));
    }
    Ok(())
}

/// What `--dry-run` prints: the grid's summary with the estimated wall time
/// on `threads` after its first line (the count and cost).
fn dry_run(grid: &Grid, threads: Option<usize>) -> String {
    // The estimate reads what a point's shape holds (Grid::shape).
    let points: Vec<_> = grid
        .points
        .iter()
        .map(|p| (p.run_id, grid.shape(p)))
        .collect();
    let e = estimate::wall_time(&points, worker_threads(super::worker_threads(threads)));
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let line = format!(
        "estimated wall time {} on {} thread{} (kernels of {} shape{} timed in {}; \
         less where runs diverge or stop early)\n",
        clock(e.seconds),
        e.threads,
        plural(e.threads),
        e.shapes,
        plural(e.shapes),
        clock(e.calibration.as_secs_f64())
    );
    let summary = grid.dry_run_summary(10);
    let (head, rest) = summary.split_at(summary.find('\n').map_or(summary.len(), |i| i + 1));
    format!("{head}{line}{rest}")
}

/// Whether MPI ranks split the shard among themselves: an MPI build that an
/// MPI launcher started (else the launcher's variables split it, env.rs).
#[cfg(feature = "mpi")]
fn mpi_splits_ranks() -> bool {
    sharpsweep_sweep::mpi::launched_by_mpi()
}

#[cfg(not(feature = "mpi"))]
fn mpi_splits_ranks() -> bool {
    false
}

/// Runs on MPI's ranks when an MPI launcher started us (feature `mpi`),
/// else in this process alone; returns the report and this rank.
fn run(
    plan: &Plan,
    out: &std::path::Path,
    opts: &SweepOptions,
    stop: &AtomicBool,
    watch: &mut Stderr,
) -> Result<(SweepReport, usize), CliError> {
    #[cfg(feature = "mpi")]
    if let Some(mut team) =
        sharpsweep_sweep::mpi::MpiTeam::init(|| eprintln!("a rank panicked: aborting the MPI job"))
    {
        use sharpsweep_sweep::Team;
        let rank = team.rank();
        return Ok((
            run_plan(plan, out, opts, stop, &mut team, watch).map_err(sweep_error)?,
            rank,
        ));
    }
    let mut team = sharpsweep_sweep::Alone;
    Ok((
        run_plan(plan, out, opts, stop, &mut team, watch).map_err(sweep_error)?,
        0,
    ))
}

/// Shows a sweep on stderr: its warnings as they come, and its progress
/// line unless `--quiet`.
pub struct Stderr {
    progress: Progress,
    quiet: bool,
}

impl Stderr {
    /// A progress line every `every` in a log (stderr not a terminal).
    pub fn new(quiet: bool, every: std::time::Duration) -> Self {
        let progress = Progress::new("sweep", "run-steps", 0).log_every(every);
        Self {
            progress: if quiet { progress.silent() } else { progress },
            quiet,
        }
    }
}

impl Watch for Stderr {
    fn warn(&self, warning: Warning) {
        print_warning(&warning, self.quiet);
    }

    fn progress(&mut self, tally: &Tally, runs: u64) {
        self.progress.set_runs(runs);
        self.progress.show(tally);
    }

    fn finish(&mut self, tally: &Tally, runs: u64) {
        self.progress.set_runs(runs);
        self.progress.finish_with(tally);
    }
}

/// Prints a warning of the sweep library; what an option did is named by
/// its flag (the library knows no flags), and is quiet under `--quiet`
/// where it is only news.
pub fn print_warning(warning: &Warning, quiet: bool) {
    if let Some(line) = warning_line(warning, quiet) {
        eprintln!("{line}");
    }
}

/// The line [`print_warning`] prints, if any.
fn warning_line(warning: &Warning, quiet: bool) -> Option<String> {
    match warning {
        Warning::FailedRunsForgotten(_) if quiet => None,
        Warning::FailedRunsForgotten(_) => Some(format!("--retry-failed: {warning}")),
        Warning::Superseded(_) => Some(format!("--force-new: {warning}")),
        _ => Some(format!("warning: {warning}")),
    }
}

fn print_summary(r: &SweepReport, out: &std::path::Path, secs: f64) {
    // Lanes idle while their runs are done: the share of stepping that
    // went to runs still training.
    let occupancy = if r.lane_steps > 0 {
        format!(", lane occupancy {:.1} %", 100.0 * r.lane_occupancy())
    } else {
        String::new()
    };
    println!(
        "sweep: {} of {} points done ({} before, {} now: {} finished, {} diverged, {} failed) in {}{occupancy}",
        r.already_done + r.ran,
        r.assigned,
        r.already_done,
        r.ran,
        r.finished,
        r.diverged,
        r.failed,
        clock(secs)
    );
    if r.resumed > 0 {
        println!("  {} runs resumed from checkpoints", r.resumed);
    }
    if r.corrupt_parts > 0 {
        println!(
            "  {} damaged part files moved to {}/corrupt/; their runs were redone",
            r.corrupt_parts,
            out.display()
        );
    }
    if r.interrupted {
        println!(
            "  interrupted: {} in-flight runs checkpointed; rerun the same command to continue",
            r.checkpointed
        );
    }
    println!("  dataset: {}", out.display());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_name_the_flag_of_what_an_option_did_and_nothing_else() {
        let forgotten = Warning::FailedRunsForgotten(3);
        let line = warning_line(&forgotten, false);
        assert_eq!(
            line.as_deref(),
            Some("--retry-failed: 3 failed runs will run again")
        );
        assert_eq!(warning_line(&forgotten, true), None);
        let moved = Warning::Superseded(PathBuf::from("ds/superseded-x"));
        assert_eq!(
            warning_line(&moved, true).as_deref(),
            Some("--force-new: the previous dataset was moved to ds/superseded-x")
        );
        let damaged = Warning::DamagedPart {
            file: PathBuf::from("ds/runs/part-1.parquet"),
            why: "bad footer".into(),
        };
        assert_eq!(
            warning_line(&damaged, true).as_deref(),
            Some(
                "warning: ds/runs/part-1.parquet is damaged (bad footer); the part was moved to \
                 corrupt/ and its runs will be redone"
            )
        );
    }
}
