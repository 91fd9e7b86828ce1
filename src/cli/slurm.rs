//! `sharpsweep slurm script|submit`: a sweep as a SLURM batch job, either
//! a job array (no MPI) or one MPI job; docs/cluster.md is the guide.

use super::CliError;
use sharpsweep_cluster::ClusterError;
use sharpsweep_cluster::script::{ArraySize, DEFAULT_SIGNAL_LEAD, JobSpec, Mode, default_job_name};
use sharpsweep_cluster::submit::sbatch;
use sharpsweep_sweep::Grid;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand, Debug)]
enum Action {
    /// Print the sbatch script of a sweep (or write it with --write).
    Script(JobArgs),
    /// Submit the script with sbatch and print the job id.
    Submit(JobArgs),
}

#[derive(clap::Args, Debug)]
struct JobArgs {
    /// The grid file the job sweeps.
    grid: PathBuf,
    /// The sweep's output directory (as `sharpsweep sweep --out`).
    #[arg(long)]
    out: PathBuf,
    /// A job array of N single-process tasks, at most K at once (N%K);
    /// task i runs shard i of N [default without --mpi: 1].
    #[arg(long, value_name = "N[%K]", conflicts_with = "mpi")]
    array: Option<ArraySize>,
    /// One job of MPI ranks, launched by `srun --mpi=pmix` (needs --ntasks-per-node).
    #[arg(long)]
    mpi: bool,
    /// Nodes of an --mpi job [default: the cluster's].
    #[arg(long)]
    nodes: Option<usize>,
    /// MPI ranks per node of an --mpi job.
    #[arg(long)]
    ntasks_per_node: Option<usize>,
    /// CPUs (rayon threads) for each process [default: the cluster's].
    #[arg(long)]
    cpus_per_task: Option<usize>,
    /// Time limit of each job (array task), in SLURM's forms: 90, 4:00:00, 1-12:00
    /// [default: the partition's].
    #[arg(long)]
    time: Option<String>,
    /// The SLURM partition [default: the cluster's].
    #[arg(long)]
    partition: Option<String>,
    /// The account charged [default: yours].
    #[arg(long)]
    account: Option<String>,
    /// Job name [default: sharpsweep-<grid file name>].
    #[arg(long)]
    job_name: Option<String>,
    /// The sharpsweep binary the job runs [default: this one].
    #[arg(long)]
    binary: Option<PathBuf>,
    /// Seconds before the time limit that SIGUSR1 tells the sweep to checkpoint and stop.
    #[arg(long, default_value_t = DEFAULT_SIGNAL_LEAD)]
    signal_lead: u64,
    /// Passed to the sweep: checkpoint runs in flight this often (seconds)
    /// [default: only when SLURM signals the job].
    #[arg(long, value_name = "SECS")]
    checkpoint_every: Option<u64>,
    /// Directory for the job logs, created if missing [default: where sbatch runs].
    #[arg(long)]
    log_dir: Option<PathBuf>,
    /// Write the script to this file (script: instead of printing it).
    #[arg(long, value_name = "FILE")]
    write: Option<PathBuf>,
    /// More `sharpsweep sweep` arguments, after `--`.
    #[arg(last = true, value_name = "SWEEP ARGS")]
    sweep_args: Vec<String>,
}

pub fn main(args: Args) -> Result<(), CliError> {
    match args.action {
        Action::Script(job) => {
            let script = job.render()?;
            match &job.write {
                Some(file) => write_script(file, &script),
                None => {
                    super::print_text(&script);
                    Ok(())
                }
            }
        }
        Action::Submit(job) => {
            let script = job.render()?;
            if let Some(file) = &job.write {
                write_script(file, &script)?;
            }
            let id = sbatch(&script).map_err(CliError::failure)?;
            println!("{id}");
            Ok(())
        }
    }
}

impl JobArgs {
    fn render(&self) -> Result<String, CliError> {
        let input = |e: ClusterError| CliError::input(e);
        let mode = if self.mpi {
            Mode::Mpi {
                nodes: self.nodes,
                ntasks_per_node: self.ntasks_per_node.ok_or_else(|| {
                    CliError::input("--mpi: give the ranks per node with --ntasks-per-node")
                })?,
            }
        } else {
            for (flag, given) in [
                ("--nodes", self.nodes),
                ("--ntasks-per-node", self.ntasks_per_node),
            ] {
                if given.is_some() {
                    return Err(CliError::input(format!(
                        "{flag}: only with --mpi; an array task is one process (use --cpus-per-task for threads)"
                    )));
                }
            }
            Mode::Array(self.array.unwrap_or(ArraySize {
                tasks: 1,
                at_once: None,
            }))
        };
        let grid = std::fs::canonicalize(&self.grid)
            .map_err(|e| CliError::input(format!("{}: {e}", self.grid.display())))?;
        let points = self.points()?;
        if let Mode::Array(size) = mode
            && size.tasks > points
        {
            return Err(CliError::input(format!(
                "--array: {} tasks for a grid of {points} points would leave {} with nothing to do; \
                 use --array {points} or fewer",
                size.tasks,
                size.tasks - points
            )));
        }
        let binary = match &self.binary {
            Some(b) => std::fs::canonicalize(b)
                .map_err(|e| CliError::input(format!("--binary: {}: {e}", b.display())))?,
            None => std::env::current_exe()
                .and_then(std::fs::canonicalize)
                .map_err(|e| CliError::failure(format!("cannot find this binary's path: {e}")))?,
        };
        let mut sweep_args = Vec::new();
        if let Some(secs) = self.checkpoint_every {
            sweep_args.extend(["--checkpoint-every".to_string(), secs.to_string()]);
        }
        sweep_args.extend(self.sweep_args.iter().cloned());
        let log_dir = match &self.log_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| CliError::failure(format!("--log-dir: {}: {e}", dir.display())))?;
                Some(absolute(dir, "--log-dir")?)
            }
            None => None,
        };
        let spec = JobSpec {
            binary,
            out: absolute(&self.out, "--out")?,
            mode,
            job_name: self
                .job_name
                .clone()
                .unwrap_or_else(|| default_job_name(&grid)),
            grid,
            cpus_per_task: self.cpus_per_task,
            time: self.time.clone(),
            partition: self.partition.clone(),
            account: self.account.clone(),
            signal_lead: self.signal_lead,
            log_dir,
            sweep_args,
        };
        spec.render().map_err(input)
    }
}

impl JobArgs {
    /// The number of points of the grid, with the sweep's `--set` overrides:
    /// a grid the sweep would refuse is refused now, not after queueing.
    fn points(&self) -> Result<usize, CliError> {
        let text = std::fs::read_to_string(&self.grid)
            .map_err(|e| CliError::input(format!("{}: {e}", self.grid.display())))?;
        let mut sets = Vec::new();
        let mut args = self.sweep_args.iter();
        while let Some(arg) = args.next() {
            if let Some(value) = arg.strip_prefix("--set=") {
                sets.push(value.to_string());
            } else if arg == "--set" {
                sets.extend(args.next().cloned());
            }
        }
        let grid = Grid::from_toml(&text, &sets)
            .map_err(|e| CliError::input(format!("{}: {e}", self.grid.display())))?;
        Ok(grid.points.len())
    }
}

/// `path` made absolute against the current directory: the job may start elsewhere.
fn absolute(path: &Path, flag: &str) -> Result<PathBuf, CliError> {
    std::path::absolute(path)
        .map_err(|e| CliError::input(format!("{flag}: {}: {e}", path.display())))
}

fn write_script(file: &Path, script: &str) -> Result<(), CliError> {
    std::fs::write(file, script)
        .map_err(|e| CliError::failure(format!("--write: {}: {e}", file.display())))
}
