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
    let mut out = format!(
        "{}: {} points\n  done       {:>8}\n    finished {:>8}\n    diverged {:>8}\n    \
         failed   {:>8}\n  pending    {:>8}\n    in-flight checkpoints {}\n  \
         part files {:>8}\n",
        args.dir.display(),
        s.total,
        s.done,
        s.finished,
        s.diverged,
        s.failed,
        s.pending,
        s.checkpointed,
        s.parts
    );
    if s.corrupt > 0 {
        out += &format!(
            "  unreadable part files: {} (the next sweep moves them to corrupt/ and redoes \
             their runs)\n",
            s.corrupt
        );
    }
    if s.orphans > 0 {
        out += &format!(
            "  orphaned trajectory parts of dead writers: {} (removed by the next sweep)\n",
            s.orphans
        );
    }
    if s.duplicates > 0 {
        out += &format!("  runs found twice: {}\n", s.duplicates);
    }
    super::print_text(&out);
    Ok(())
}
