//! `sharpsweep verify DIR`: the full check of a dataset, changing nothing.
//!
//! Every Parquet file is checked against its checksum (every byte read);
//! a file without one (written by another tool) is decoded in full
//! instead. A sweep's `grid.json` and `provenance.json` must parse, its
//! parts must belong to its grid, and its checkpoints must be intact.

use crate::checkpoint;
use crate::dataset::{Access, Dataset, io};
use crate::error::Result;
use sharpsweep_dataset::layout::{Layout, PROVENANCE_FILE, SINGLE_RUNS, SINGLE_TRAJECTORY};
use sharpsweep_dataset::{Verdict, decode_all, verify_all};
use std::path::{Path, PathBuf};

/// What [`verify`] found.
#[derive(Debug, Default)]
pub struct Verification {
    /// Files checked, and their bytes.
    pub files: usize,
    pub bytes: u64,
    /// Done runs found in intact parts.
    pub runs: usize,
    /// Files without a checksum, checked by decoding every column.
    pub unsealed: usize,
    /// One line per problem, naming the file.
    pub problems: Vec<String>,
}

/// Checks the dataset (a sweep's or a single run's) in `dir`.
pub fn verify(dir: &Path) -> Result<Verification> {
    let mut v = Verification::default();
    match Layout::of(dir) {
        Some(Layout::SingleRun) => {
            let files = [dir.join(SINGLE_RUNS), dir.join(SINGLE_TRAJECTORY)];
            v.check_files(&files);
            v.runs = 1;
        }
        Some(Layout::Sweep) | None => verify_sweep(dir, &mut v)?,
    }
    Ok(v)
}

fn verify_sweep(dir: &Path, v: &mut Verification) -> Result<()> {
    let ds = Dataset::open(dir, Access::Read)?;
    let summary = match ds.summary() {
        Ok(s) => s,
        Err(e) => {
            v.problems.push(e.to_string());
            return Ok(());
        }
    };
    for d in &summary.damaged {
        v.problems
            .push(format!("{}: {}", dir.join(&d.file).display(), d.why));
    }
    for (fingerprint, parts) in &summary.other_grids {
        v.problems.push(format!(
            "{parts} part file(s) were written for another grid (fingerprint {fingerprint})"
        ));
    }
    if summary.strangers > 0 {
        v.problems.push(format!(
            "{} run(s) in the part files are not points of grid.json's grid",
            summary.strangers
        ));
    }
    let provenance = dir.join(PROVENANCE_FILE);
    if provenance.exists() {
        let bytes = std::fs::read(&provenance).map_err(io(&provenance))?;
        let sessions = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .is_some_and(|doc| doc.get("sessions").is_some_and(|s| s.is_array()));
        if !sessions {
            v.problems.push(format!(
                "{}: not a provenance file (JSON with a \"sessions\" list)",
                provenance.display()
            ));
        }
    }
    let scan = ds.scan(false)?;
    v.runs = scan.done.len();
    let mut files: Vec<PathBuf> = Vec::new();
    for name in scan.parts.keys() {
        files.push(dir.join(sharpsweep_dataset::layout::RUNS).join(name));
        files.push(
            dir.join(sharpsweep_dataset::layout::TRAJECTORIES)
                .join(name),
        );
    }
    files.extend(
        checkpoint::list(dir)
            .into_iter()
            .map(|id| checkpoint::path(dir, id)),
    );
    v.check_files(&files);
    Ok(())
}

impl Verification {
    /// Checks each file's checksum, decoding those without one.
    fn check_files(&mut self, files: &[PathBuf]) {
        for (file, verdict) in files.iter().zip(verify_all(files)) {
            self.files += 1;
            self.bytes += std::fs::metadata(file).map_or(0, |m| m.len());
            let result = verdict.and_then(|verdict| match verdict {
                Verdict::Intact(_) => Ok(()),
                Verdict::Unsealed => {
                    self.unsealed += 1;
                    decode_all(file).map(|_| ())
                }
            });
            if let Err(e) = result {
                self.problems.push(format!("{}: {e}", file.display()));
            }
        }
    }
}
