//! `sharpsweep compact DIR`: merges a dataset's many small part files into
//! few large ones, atomically and with identical content.

use super::CliError;
use super::sweep::sweep_error;
use sharpsweep_sweep::dataset::{Access, Dataset};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The dataset directory (a sweep's --out).
    dir: PathBuf,
    /// Runs per merged part file.
    #[arg(long, default_value_t = 100_000)]
    max_runs: usize,
}

pub fn main(args: Args) -> Result<(), CliError> {
    let mut ds = Dataset::open(&args.dir, Access::Read)
        .and_then(|_| Dataset::open(&args.dir, Access::Exclusive))
        .map_err(sweep_error)?;
    let (before, after) = ds.compact(args.max_runs).map_err(sweep_error)?;
    println!(
        "{}: {before} part files merged into {after}",
        args.dir.display()
    );
    Ok(())
}
