//! Where a dataset's files are, and what their names say.
//!
//! ```text
//! DIR/grid.json                      the grid: fingerprint, run_ids, expansion
//! DIR/provenance.json                one entry per process that wrote here
//! DIR/runs/part-<name>.parquet       one row per done run
//! DIR/trajectories/part-<name>.parquet   the records of those runs
//! DIR/checkpoints/<run_id>.ckpt      in-flight runs
//! DIR/corrupt/                       damaged files moved aside, never read
//! DIR/superseded-<time>/             an older dataset moved aside by --force-new
//! DIR/.lock, .lock-shard-K-of-N, .writers/<writer>.lock
//! ```
//!
//! A single run (`sharpsweep run --out DIR`) is the pair
//! `DIR/runs.parquet` + `DIR/trajectory.parquet`.

use crate::write::temporary_target;
use std::io;
use std::path::Path;

pub const RUNS: &str = "runs";
pub const TRAJECTORIES: &str = "trajectories";
pub const CHECKPOINTS: &str = "checkpoints";
pub const CORRUPT: &str = "corrupt";
pub const GRID_FILE: &str = "grid.json";
pub const PROVENANCE_FILE: &str = "provenance.json";
/// Held by every writing process: `.writers/<writer>.lock`. A part whose
/// writer's lock can be taken was left by a dead process.
pub const WRITERS: &str = ".writers";
/// The files of a single run.
pub const SINGLE_RUNS: &str = "runs.parquet";
pub const SINGLE_TRAJECTORY: &str = "trajectory.parquet";

/// How a directory holds its runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `runs.parquet` + `trajectory.parquet`.
    SingleRun,
    /// `runs/part-*.parquet` + `trajectories/part-*.parquet`.
    Sweep,
}

impl Layout {
    /// The layout of `dir`, if it is a dataset.
    pub fn of(dir: &Path) -> Option<Layout> {
        if dir.join(SINGLE_RUNS).is_file() {
            Some(Layout::SingleRun)
        } else if dir.join(RUNS).is_dir() && dir.join(TRAJECTORIES).is_dir() {
            Some(Layout::Sweep)
        } else {
            None
        }
    }
}

/// The writer tag in a part name `part-<label>-<writer>-<seq>.parquet`
/// (or in its hidden temporary's name).
pub fn writer_of(name: &str) -> Option<&str> {
    let name = temporary_target(name).unwrap_or(name);
    let stem = name.strip_prefix("part-")?.strip_suffix(".parquet")?;
    let mut it = stem.rsplitn(3, '-');
    it.next()?;
    it.next()
}

/// The names of a directory's entries, sorted: `hidden` chooses the
/// hidden ones (temporaries) or the visible ones (parts). A missing
/// directory has none.
pub fn entries(dir: &Path, hidden: bool) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    let list = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(names),
        Err(e) => return Err(e),
    };
    for e in list {
        let name = e?.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') == hidden {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names_carry_their_writer() {
        assert_eq!(
            writer_of("part-s0of4-0a1b2c3d-00007.parquet"),
            Some("0a1b2c3d")
        );
        assert_eq!(
            writer_of("part-compact-0a1b2c3d-00001.parquet"),
            Some("0a1b2c3d")
        );
        assert_eq!(writer_of("notes.txt"), None);
        assert_eq!(
            writer_of(".part-all-0a1b2c3d-00002.parquet.tmp-77"),
            Some("0a1b2c3d")
        );
        assert_eq!(temporary_target(".abc.ckpt.tmp-12"), Some("abc.ckpt"));
    }
}
