//! `sharpsweep`: one command line for running, sweeping, analysing and
//! scheduling the training dynamics of two-layer networks.
//!
//! Each subcommand lives in `cli/<name>.rs` with its flags (`Args`) and a
//! `main` returning [`cli::CliError`]; this file only dispatches.

mod cli;

/// mimalloc, not glibc's malloc: a sweep's worker threads allocate each
/// run's records and its writer frees them, and glibc pays for that
/// cross-thread traffic in arena locking, chunk unlinking and
/// consolidation (a third of a 100-step tiny sweep's CPU time;
/// docs/performance.md, *Sweep overhead*).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "sharpsweep",
    version,
    about,
    long_about = None,
    arg_required_else_help = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train one network and write its runs.parquet and trajectory.parquet.
    // Boxed: its many flags make it much larger than the other variants.
    Run(Box<cli::run::Args>),
    /// [G24] §5 in one command: the embedded grid, swept and analysed.
    Reproduce(cli::reproduce::Args),
    /// Run every point of a grid into a resumable Parquet dataset.
    Sweep(cli::sweep::Args),
    /// Done, pending, diverged and failed points of a sweep's dataset.
    Status(cli::status::Args),
    /// Check every byte of a dataset against its checksums.
    Verify(cli::verify::Args),
    /// Merge a dataset's small part files into few large ones.
    Compact(cli::compact::Args),
    /// Summaries, figures, theory table and report from a dataset.
    Analyze(cli::analyze::Args),
    /// One run's configuration and final metrics, as text.
    Show(cli::show::Args),
    /// A dataset's runs or trajectories as CSV, list columns flattened.
    Export(cli::export::Args),
    /// A sweep as a SLURM batch job: print its sbatch script or submit it.
    Slurm(cli::slurm::Args),
    /// Print a shell's completion script (bash, zsh, fish, elvish, powershell).
    Completions(cli::completions::Args),
    /// Print the man page (roff), of sharpsweep or of one subcommand.
    Man(cli::man::Args),
}

/// The command line as parsed and documented: `run --help` shows each
/// flag's default from the configuration's defaults.
fn command() -> clap::Command {
    Cli::command().mut_subcommand("run", cli::run::document_defaults)
}

fn main() -> ExitCode {
    let cli = match command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => return clap_error(&e),
    };
    let result = match cli.command {
        Command::Run(args) => cli::run::main(*args),
        Command::Reproduce(args) => cli::reproduce::main(args),
        Command::Sweep(args) => cli::sweep::main(args),
        Command::Status(args) => cli::status::main(args),
        Command::Verify(args) => cli::verify::main(args),
        Command::Compact(args) => cli::compact::main(args),
        Command::Analyze(args) => cli::analyze::main(args),
        Command::Show(args) => cli::show::main(args),
        Command::Export(args) => cli::export::main(args),
        Command::Slurm(args) => cli::slurm::main(args),
        Command::Completions(args) => cli::completions::main(args, command()),
        Command::Man(args) => cli::man::main(args, command()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}

/// Reports what clap refused. A bad value of a flag is one line naming the
/// flag, like the values the program checks itself; anything else (a
/// missing argument, an unknown flag, no subcommand) is clap's whole
/// message, whose usage says what is wanted. Help and version go to stdout.
fn clap_error(e: &clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            cli::CliError::input(first.trim_start_matches("error: ")).report()
        }
        _ => {
            let _ = e.print();
            // 0 for help and version, 2 (bad input) otherwise.
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        command().debug_assert();
    }
}
