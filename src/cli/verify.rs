//! `sharpsweep verify DIR`: checks every byte of a dataset against its
//! checksums, and its metadata; exits 1 if anything is damaged.

use super::CliError;
use super::sweep::sweep_error;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The dataset directory (a sweep's or a run's --out).
    dir: PathBuf,
}

pub fn main(args: Args) -> Result<(), CliError> {
    let v = sharpsweep_sweep::verify::verify(&args.dir).map_err(sweep_error)?;
    let mut out = String::new();
    for p in &v.problems {
        out += &format!("damaged: {p}\n");
    }
    out += &format!(
        "{}: {} files ({:.1} MB) checked, {} runs in intact parts{}\n",
        args.dir.display(),
        v.files,
        v.bytes as f64 / 1e6,
        v.runs,
        if v.unsealed > 0 {
            format!(", {} files without a checksum decoded in full", v.unsealed)
        } else {
            String::new()
        }
    );
    super::print_text(&out);
    if v.problems.is_empty() {
        Ok(())
    } else {
        Err(CliError::failure(format!(
            "{}: {} problem(s); resuming the sweep (the same `sharpsweep sweep GRID --out {}`) \
             moves damaged parts to corrupt/ and redoes their runs",
            args.dir.display(),
            v.problems.len(),
            args.dir.display()
        )))
    }
}
