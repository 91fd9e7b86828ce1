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
    for d in &s.damaged {
        out += &format!(
            "  damaged: {} ({}): its runs count as pending; the next sweep moves the part to \
             corrupt/ and redoes them\n",
            d.file.display(),
            d.why
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
    for (fingerprint, parts) in &s.other_grids {
        out += &format!(
            "  mismatch: {parts} part file(s) were written for another grid (fingerprint \
             {fingerprint}) than grid.json's\n"
        );
    }
    if s.strangers > 0 {
        out += &format!(
            "  mismatch: {} run(s) in the part files are not points of grid.json's grid\n",
            s.strangers
        );
    }
    super::print_text(&out);
    if s.is_damaged() {
        return Err(CliError::failure(format!(
            "{}: the dataset is damaged or mixed (above); `sharpsweep verify {}` checks every file",
            args.dir.display(),
            args.dir.display()
        )));
    }
    Ok(())
}
