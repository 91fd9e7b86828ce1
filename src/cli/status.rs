//! `sharpsweep status DIR`: how far a sweep's dataset is, without changing it.

use super::CliError;
use super::sweep::sweep_error;
use sharpsweep_sweep::dataset::{Access, Dataset};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The dataset directory (a sweep's --out).
    dir: PathBuf,
}

pub fn main(args: Args) -> Result<(), CliError> {
    let s = Dataset::open(&args.dir, Access::Read)
        .and_then(|d| d.summary())
        .map_err(sweep_error)?;
    println!("{}: {} points", args.dir.display(), s.total);
    println!("  done       {:>8}", s.done);
    println!("    finished {:>8}", s.finished);
    println!("    diverged {:>8}", s.diverged);
    println!("    failed   {:>8}", s.failed);
    println!("  pending    {:>8}", s.pending);
    println!("    in-flight checkpoints {}", s.checkpointed);
    println!("  part files {:>8}", s.parts);
    if s.corrupt > 0 {
        println!(
            "  unreadable part files: {} (the next sweep moves them to corrupt/ and redoes their runs)",
            s.corrupt
        );
    }
    if s.orphans > 0 {
        println!(
            "  orphaned trajectory parts of dead writers: {} (removed by the next sweep)",
            s.orphans
        );
    }
    if s.duplicates > 0 {
        println!("  runs found twice: {}", s.duplicates);
    }
    Ok(())
}
