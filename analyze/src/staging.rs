//! Where a report is written: built whole in a hidden sibling of the
//! report directory, then renamed into place, so that a failed write (a
//! full disk) leaves the previous report as it was and no half-written one.
//! An existing report directory is replaced whole, so a directory holding
//! anything a report does not write is refused rather than emptied.

use crate::error::{AnalyzeError, Result};
use std::path::{Path, PathBuf};

/// Whether a report writes files of this name.
fn report_file(name: &str) -> bool {
    ["index.html", "report.md"].contains(&name)
        || [".png", ".svg", ".parquet"]
            .iter()
            .any(|ext| name.ends_with(ext))
}

/// A report being built for `target`, in `dir`.
pub struct Staging {
    target: PathBuf,
    dir: PathBuf,
}

/// A hidden sibling of `target` for `what` ("partial", "old"), unique to
/// this process.
fn sibling(target: &Path, what: &str) -> PathBuf {
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    target.with_file_name(format!(".{name}.{what}-{}", std::process::id()))
}

/// The files every report has.
const REPORT: [&str; 3] = ["index.html", "report.md", "summary.parquet"];

/// Checks that `target` can take a report: absent, empty, or an earlier
/// report (every file of [`REPORT`], and only files a report writes; a
/// single run's Parquet files are not one).
pub fn check(target: &Path) -> Result<()> {
    let refuse = |message: String| AnalyzeError::Option {
        option: "--report",
        message,
    };
    if target.file_name().is_none() {
        return Err(refuse(format!(
            "{} does not name a directory of its own (the report directory is replaced whole)",
            target.display()
        )));
    }
    let entries = match std::fs::read_dir(target) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(_) if target.exists() => {
            return Err(refuse(format!("{} is not a directory", target.display())));
        }
        Err(e) => return Err(AnalyzeError::io(target, e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| AnalyzeError::io(target, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        found.push((name, entry.file_type().is_ok_and(|t| t.is_file())));
    }
    // A report's own files first, so the refusal names what a user would
    // recognise (a dataset's runs.parquet rather than a hidden lock file).
    let (hidden, visible): (Vec<_>, Vec<_>) = found
        .into_iter()
        .partition(|(name, _)| name.starts_with('.'));
    let foreign = |list: &[(String, bool)]| -> Result<()> {
        match list
            .iter()
            .find(|(name, is_file)| !is_file || !report_file(name))
        {
            Some((name, _)) => Err(refuse(format!(
                "{} holds {name}, which is not part of a report (the report directory is \
                 replaced whole): choose another directory",
                target.display()
            ))),
            None => Ok(()),
        }
    };
    foreign(&visible)?;
    let names: Vec<&str> = visible.iter().map(|(n, _)| n.as_str()).collect();
    if let Some(missing) = REPORT
        .iter()
        .find(|f| !names.is_empty() && !names.contains(f))
    {
        return Err(refuse(format!(
            "{} is not a report (it holds {}, but no {missing}) and the report directory is \
             replaced whole: choose another directory",
            target.display(),
            names.join(", ")
        )));
    }
    foreign(&hidden)
}

impl Staging {
    /// An empty hidden directory beside `target` (its parents created).
    pub fn new(target: &Path) -> Result<Self> {
        let dir = sibling(target, "partial");
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| AnalyzeError::io(parent, e))?;
        }
        // A directory of this name is a leftover of a killed process of
        // the same id.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).map_err(|e| AnalyzeError::io(&dir, e))?;
        Ok(Self {
            target: target.to_path_buf(),
            dir,
        })
    }

    /// Writes the report with `write` into the staging directory and, if
    /// it succeeds, renames it to the target (an earlier report moved aside
    /// first, removed last); if it fails, removes the staging directory.
    pub fn build<T>(self, write: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
        let done = write(&self.dir).and_then(|t| self.commit().map(|()| t));
        // Gone after a commit; after a failure, nothing half-written stays.
        let _ = std::fs::remove_dir_all(&self.dir);
        done
    }

    fn commit(&self) -> Result<()> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |e| AnalyzeError::io(&path, e)
        };
        if !self.target.exists() {
            return std::fs::rename(&self.dir, &self.target).map_err(io(&self.target));
        }
        let old = sibling(&self.target, "old");
        std::fs::rename(&self.target, &old).map_err(io(&self.target))?;
        if let Err(e) = std::fs::rename(&self.dir, &self.target) {
            // Put the earlier report back.
            let _ = std::fs::rename(&old, &self.target);
            return Err(AnalyzeError::io(&self.target, e));
        }
        std::fs::remove_dir_all(&old).map_err(io(&old))
    }
}
