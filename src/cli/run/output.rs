//! The `--out` directory of `sharpsweep run`: one run's `runs.parquet` and
//! `trajectory.parquet`, owned by one run at a time.
//!
//! * A run takes `--out/.lock` (an advisory `flock`, released by the kernel
//!   when the process ends however it ends) before it trains, and holds it
//!   until its result is in place: a second run into the same directory is
//!   refused at once (exit 2) instead of racing the first to write.
//! * The pair is written first into `--out/.staging/` (hidden: DuckDB,
//!   pandas and pyarrow skip names starting with `.`), each file atomically
//!   (`sharpsweep_dataset::write::write_atomic`), and then moved into place with renames:
//!   the old `runs.parquet` is removed first and the new one put in last.
//!   So whenever `runs.parquet` is there, the `trajectory.parquet` beside it
//!   is the same run's; while a replacement (`--force`) is being moved in,
//!   for the time of three renames, there is no `runs.parquet` at all. A
//!   failed write leaves the previous result untouched.
//! * An `--out` that exists but is not a directory is refused before
//!   anything else happens.
//! * A run stopped by a signal leaves its checkpoint in
//!   `--out/checkpoints/<run_id>.ckpt` (the sweep's layout) beside its
//!   `interrupted` result; the same configuration run again into `--out`
//!   continues from it without `--force`, and removes it once finished.
//!   `--force` removes the checkpoints, so the run starts over.

use crate::cli::CliError;
use sharpsweep_core::RunId;
use sharpsweep_dataset::layout::CHECKPOINTS;
use sharpsweep_dataset::write::sync_dir;
use sharpsweep_sweep::checkpoint;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

pub use sharpsweep_dataset::layout::{SINGLE_RUNS as RUNS, SINGLE_TRAJECTORY as TRAJECTORY};
const LOCK: &str = ".lock";
const STAGING: &str = ".staging";

/// Refuses an `--out` that exists as something other than a directory.
/// Has no side effects, so it can run before any work.
pub fn refuse_non_directory(out: &Path) -> Result<(), CliError> {
    match fs::metadata(out) {
        Ok(meta) if !meta.is_dir() => Err(CliError::input(format!(
            "--out: {} exists and is not a directory",
            out.display()
        ))),
        _ => Ok(()),
    }
}

/// An `--out` directory this process holds the lock of.
pub struct RunDir {
    dir: PathBuf,
    _lock: File,
}

impl RunDir {
    /// Creates `out` if needed and takes its lock; refuses a directory
    /// another run holds, or one that already holds a result unless `force`
    /// or the result is run `id`'s, interrupted, with its checkpoint.
    pub fn claim(out: &Path, force: bool, id: RunId) -> Result<RunDir, CliError> {
        refuse_non_directory(out)?;
        let io = |e: std::io::Error| CliError::failure(format!("--out: {}: {e}", out.display()));
        fs::create_dir_all(out).map_err(io)?;
        let lock_path = out.join(LOCK);
        let lock = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(io)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(CliError::input(format!(
                    "--out: {}: another sharpsweep run is writing to it (it holds {})",
                    out.display(),
                    lock_path.display()
                )));
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let resumable = checkpoint::path(out, id).exists();
        if !force && !resumable && out.join(RUNS).exists() {
            return Err(CliError::input(format!(
                "--out: {} already holds a result (use --force to replace it)",
                out.display()
            )));
        }
        let dir = RunDir {
            dir: out.to_path_buf(),
            _lock: lock,
        };
        // Left by a run that died while writing: never part of a result.
        dir.remove_staging().map_err(io)?;
        if force {
            remove_all(&out.join(CHECKPOINTS)).map_err(io)?;
        }
        Ok(dir)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates `checkpoints/`, where the run's checkpoint is written.
    pub fn make_checkpoints_dir(&self) -> Result<(), CliError> {
        let dir = self.dir.join(CHECKPOINTS);
        fs::create_dir_all(&dir).map_err(failure(&dir))
    }

    /// Removes run `id`'s checkpoint once its finished result is in place,
    /// and `checkpoints/` with it when that leaves it empty.
    pub fn remove_checkpoint(&self, id: RunId) {
        checkpoint::remove(&self.dir, id);
        let _ = fs::remove_dir(self.dir.join(CHECKPOINTS));
    }

    fn remove_staging(&self) -> std::io::Result<()> {
        remove_all(&self.dir.join(STAGING))
    }

    /// Has `write(path, table)` write the `trajectory` and then the `runs`
    /// table aside, then moves the pair into place (module doc).
    pub fn commit(
        &self,
        mut write: impl FnMut(&Path, &'static str) -> Result<(), CliError>,
    ) -> Result<(), CliError> {
        let staging = self.dir.join(STAGING);
        let written = (|| -> Result<(), CliError> {
            fs::create_dir(&staging).map_err(failure(&staging))?;
            write(&staging.join(TRAJECTORY), "trajectory")?;
            write(&staging.join(RUNS), "runs")
        })();
        if let Err(e) = written {
            let _ = self.remove_staging();
            return Err(e);
        }
        let runs = self.dir.join(RUNS);
        match fs::remove_file(&runs) {
            Err(e) if e.kind() != ErrorKind::NotFound => return Err(failure(&runs)(e)),
            _ => {}
        }
        for name in [TRAJECTORY, RUNS] {
            let to = self.dir.join(name);
            fs::rename(staging.join(name), &to).map_err(failure(&to))?;
        }
        sync_dir(&self.dir).map_err(failure(&self.dir))?;
        fs::remove_dir(&staging).map_err(failure(&staging))
    }
}

/// Removes a directory tree that may not exist.
fn remove_all(dir: &Path) -> std::io::Result<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn failure(path: &Path) -> impl FnOnce(std::io::Error) -> CliError + '_ {
    move |e| CliError::failure(format!("writing {}: {e}", path.display()))
}
