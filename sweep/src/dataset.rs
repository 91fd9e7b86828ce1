//! A sweep's dataset on disk, and the rules that keep it whole through
//! crashes, restarts, concurrent shards and compaction.
//!
//! ```text
//! DIR/grid.json                      the grid: fingerprint, run_ids, expansion
//! DIR/provenance.json                one entry per process that wrote here
//! DIR/runs/part-<name>.parquet       one row per done run
//! DIR/trajectories/part-<name>.parquet   the records of those runs
//! DIR/checkpoints/<run_id>.ckpt      in-flight runs (see checkpoint.rs)
//! DIR/corrupt/                       damaged files moved aside, never read
//! DIR/superseded-<time>/             an older dataset moved aside by --force-new
//! DIR/.lock, .lock-shard-K-of-N, .writers/<writer>.lock
//! ```
//!
//! Which runs are done, and how damage and crashes are repaired, is the
//! journal's ([`crate::journal`], over the dataset contract's
//! [`sharpsweep_dataset::State`]); compaction and `--retry-failed` rewrite
//! parts ([`crate::rewrite`]).
//!
//! # Locks
//! `flock`-style locks (released by the kernel when a process dies). An
//! unsharded sweep and `compact` hold `.lock` exclusively; a shard (or an
//! MPI rank) holds it shared plus `.lock-shard-K-of-N` exclusively, so the
//! shards of a job array run concurrently on one directory while a second
//! sweep of the whole grid, or of the same shard, is refused. Every writing
//! process also holds `.writers/<writer>.lock`; an orphan is only deleted
//! when its writer's lock can be taken, i.e. its writer is dead. Shards of
//! different counts N overlap, so a shard is refused while a shard of
//! another count holds its lock; once those have stopped, any count may go
//! on with the dataset.
//!
//! # --force-new
//! A different grid on an existing dataset is refused. `--force-new` never
//! deletes: it moves every entry of the old dataset into
//! `DIR/superseded-<UTC time>/` and starts an empty one.

use crate::error::{Result, SweepError};
use crate::shard::Shard;
use crate::utc::utc_now;
use crate::warning::Warning;
use serde::{Deserialize, Serialize};
use sharpsweep_core::RunId;
use sharpsweep_dataset::layout;
pub use sharpsweep_dataset::layout::{
    CHECKPOINTS, CORRUPT, GRID_FILE, PROVENANCE_FILE, RUNS, TRAJECTORIES, WRITERS,
};
use sharpsweep_dataset::write::{sync_dir, write_file_atomic};
use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, RandomState};
use std::path::{Path, PathBuf};

const LOCK: &str = ".lock";
/// Serialises the appends to `provenance.json` of concurrent shards.
const PROVENANCE_LOCK: &str = ".provenance.lock";

/// What a dataset belongs to: written to `grid.json`, compared on resume.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Identity {
    pub fingerprint: String,
    /// Every point's run_id (16 hex digits), in grid order.
    pub run_ids: Vec<String>,
    /// The expanded grid as JSON (informational: written as the `grid`
    /// field of `grid.json`, not read back).
    #[serde(skip)]
    pub grid_json: String,
}

impl Identity {
    /// The text of `grid.json`.
    fn to_json(&self) -> String {
        let grid = if self.grid_json.trim().is_empty() {
            "null"
        } else {
            &self.grid_json
        };
        format!(
            "{{\n\"fingerprint\": {},\n\"run_ids\": {},\n\"grid\": {grid}\n}}\n",
            serde_json::Value::from(self.fingerprint.as_str()),
            serde_json::to_string(&self.run_ids).expect("strings serialise"),
        )
    }
}

/// How a process uses the dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// The whole grid, or compaction: nobody else may write.
    Exclusive,
    /// One shard; other shards of the same count may write concurrently.
    Shard(Shard),
    /// Reading only (`status`): no locks, no repairs.
    Read,
}

/// An open dataset: its directory, the locks held, and this process's
/// name for the parts it writes.
pub struct Dataset {
    pub(crate) dir: PathBuf,
    pub(crate) access: Access,
    _locks: Vec<File>,
    /// This process's writer tag (in its part names and `.writers/`).
    pub(crate) writer: String,
    /// The number of parts this process has named.
    pub(crate) seq: usize,
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SweepError + '_ {
    SweepError::io(path)
}

/// A random 8-hex-digit name (the process's writer tag).
fn random_tag() -> String {
    let h = RandomState::new().hash_one((std::process::id(), std::time::SystemTime::now()));
    format!("{:08x}", h as u32)
}

/// Takes this process's lock in `.writers/` under the first tag of `tags`
/// whose lock it can hold. Another process may hold a fresh lock file for
/// a moment (checking whether its writer is dead, before the lock was
/// taken) and then unlink it: the tag is then skipped, and a lock taken on
/// a file unlinked meanwhile is given up, so a live writer's lock file is
/// always the one on disk.
fn take_writer_lock(
    writers: &Path,
    mut tags: impl Iterator<Item = String>,
) -> Result<(String, File)> {
    const ATTEMPTS: usize = 16;
    for tag in tags.by_ref().take(ATTEMPTS) {
        let p = writers.join(format!("{tag}.lock"));
        let f = lock_file(&p)?;
        if f.try_lock().is_ok() && is_same_file(&f, &p) {
            return Ok((tag, f));
        }
    }
    Err(SweepError::Locked {
        dir: writers.parent().unwrap_or(writers).to_path_buf(),
        what: format!("no free writer tag after {ATTEMPTS} attempts"),
        lock: writers.to_path_buf(),
    })
}

/// Whether `path` still names the file `f` is open on.
fn is_same_file(f: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (f.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}

/// Opens (creating) `path` for locking.
fn lock_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io(path))
}

/// Refuses a directory that is not empty and holds no dataset (someone's
/// data). Checked before [`Dataset::open`] creates anything in it, so a
/// refused sweep leaves nothing behind; a missing directory is fine.
pub fn refuse_foreign(dir: &Path) -> Result<()> {
    match foreign_entry(dir)? {
        // A sweep writes grid.json before anything else, so one looked for
        // after the entries were listed tells a dataset from a stranger
        // even while another shard is creating it.
        Some(_) if dir.join(GRID_FILE).is_file() => Ok(()),
        None => Ok(()),
        Some(stranger) => Err(SweepError::Refused(format!(
            "{} is not empty ({stranger}) and is not a sharpsweep dataset (no {GRID_FILE})",
            dir.display()
        ))),
    }
}

/// An entry of `dir` a sweep would not have made, if any.
fn foreign_entry(dir: &Path) -> Result<Option<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(dir)(e)),
    };
    for e in entries {
        let name = e.map_err(io(dir))?.file_name();
        let name = name.to_string_lossy();
        let ours = [RUNS, TRAJECTORIES, CHECKPOINTS, WRITERS, PROVENANCE_FILE];
        if name.starts_with('.') || ours.contains(&name.as_ref()) {
            continue;
        }
        return Ok(Some(name.into_owned()));
    }
    // Part files without a grid.json are someone's data too.
    for sub in [RUNS, TRAJECTORIES, CHECKPOINTS] {
        if let Some(f) = layout::entries(&dir.join(sub), false)
            .map_err(io(dir))?
            .first()
        {
            return Ok(Some(format!("{sub}/{f}")));
        }
    }
    Ok(None)
}

/// Refuses `shard` while shards of another count are running on `dir`:
/// shards of different counts overlap, and two processes running one point
/// at once would write it twice. Shards that ran before (finished, killed,
/// preempted) hold no lock, so a dataset can be continued with any count,
/// or by an MPI job with another number of ranks.
fn refuse_running_shards_of_another_count(dir: &Path, shard: Shard) -> Result<()> {
    for e in fs::read_dir(dir).map_err(io(dir))? {
        let name = e.map_err(io(dir))?.file_name();
        let Some(count) = name
            .to_str()
            .and_then(|n| n.strip_prefix(".lock-shard-"))
            .and_then(|n| n.split_once("-of-"))
            .and_then(|(_, count)| count.parse::<usize>().ok())
        else {
            continue;
        };
        let path = dir.join(&name);
        if count != shard.count && lock_file(&path)?.try_lock_shared().is_err() {
            return Err(SweepError::Refused(format!(
                "--shard {shard}: shards of {count} are running on {} now, and shards of \
                 different counts overlap; use --shard K/{count} (under MPI: N × ranks = \
                 {count}) or wait until they finish",
                dir.display()
            )));
        }
    }
    Ok(())
}

impl Dataset {
    /// Opens `dir` (creating it unless reading) and takes the locks `access`
    /// needs; a lock held elsewhere is a [`SweepError::Locked`] refusal.
    pub fn open(dir: &Path, access: Access) -> Result<Dataset> {
        let mut locks = Vec::new();
        let mut writer = String::new();
        if access != Access::Read {
            for sub in [RUNS, TRAJECTORIES, CHECKPOINTS, WRITERS] {
                let p = dir.join(sub);
                fs::create_dir_all(&p).map_err(io(&p))?;
            }
            let locked = |lock: &Path, what: &str| SweepError::Locked {
                dir: dir.to_path_buf(),
                what: what.to_string(),
                lock: lock.to_path_buf(),
            };
            let main = dir.join(LOCK);
            let f = lock_file(&main)?;
            match access {
                Access::Exclusive => {
                    f.try_lock()
                        .map_err(|_| locked(&main, "another sweep or compact is using it"))?;
                    locks.push(f);
                }
                Access::Shard(s) => {
                    f.try_lock_shared()
                        .map_err(|_| locked(&main, "a sweep of the whole grid is using it"))?;
                    locks.push(f);
                    let p = dir.join(format!(".lock-shard-{}-of-{}", s.index, s.count));
                    let f = lock_file(&p)?;
                    f.try_lock()
                        .map_err(|_| locked(&p, &format!("shard {s} is already being run")))?;
                    locks.push(f);
                    refuse_running_shards_of_another_count(dir, s)?;
                }
                Access::Read => unreachable!(),
            }
            let (tag, f) =
                take_writer_lock(&dir.join(WRITERS), std::iter::repeat_with(random_tag))?;
            writer = tag;
            locks.push(f);
        } else if !dir.join(GRID_FILE).is_file() {
            return Err(SweepError::Refused(format!(
                "{}: not a sharpsweep dataset (no {GRID_FILE})",
                dir.display()
            )));
        }
        Ok(Dataset {
            dir: dir.to_path_buf(),
            access,
            _locks: locks,
            writer,
            seq: 0,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The identity recorded in `grid.json`, if any.
    pub fn identity(&self) -> Result<Option<Identity>> {
        self.read_identity()?.transpose()
    }

    /// `grid.json` as read: absent, or the identity, or why it is damaged.
    fn read_identity(&self) -> Result<Option<Result<Identity>>> {
        let path = self.dir.join(GRID_FILE);
        let text = match fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path)(e)),
        };
        let damaged = |why: String| {
            SweepError::Refused(format!(
                "{}: {why}; `sharpsweep sweep GRID --out {}` with the grid that made the \
                 dataset rewrites it",
                path.display(),
                self.dir.display()
            ))
        };
        let identity = serde_json::from_slice::<Identity>(&text)
            .map_err(|e| damaged(format!("not a sharpsweep grid file: {e}")))
            .and_then(
                |id| match id.run_ids.iter().find(|r| r.parse::<RunId>().is_err()) {
                    Some(bad) => Err(damaged(format!("not a run id: '{bad}'"))),
                    None => Ok(id),
                },
            );
        Ok(Some(identity))
    }

    /// Makes sure the dataset belongs to `identity`: records it in a new
    /// dataset, accepts an equal one, refuses another grid's, or (with
    /// `force_new`) moves the old dataset aside first. A damaged
    /// `grid.json` is rewritten when every part was written for this grid
    /// (each part records the fingerprint of its grid), the damaged file
    /// kept in `corrupt/`.
    pub fn adopt(
        &self,
        identity: &Identity,
        force_new: bool,
        warn: &dyn Fn(Warning),
    ) -> Result<()> {
        let dir = self.dir.display();
        if force_new {
            if self.access != Access::Exclusive {
                return Err(SweepError::Refused(
                    "--force-new needs the whole grid in one process (not with --shard or MPI)"
                        .into(),
                ));
            }
            self.supersede(warn)?;
        } else {
            match self.read_identity()? {
                Some(Ok(old)) if old.fingerprint == identity.fingerprint => return Ok(()),
                Some(Ok(old)) => {
                    return Err(SweepError::Refused(format!(
                        "{dir} holds the dataset of another grid (fingerprint {}, this grid {}); \
                         use another --out, or --force-new to move the old dataset aside",
                        old.fingerprint, identity.fingerprint
                    )));
                }
                Some(Err(why)) => self.replace_damaged_grid_file(identity, &why, warn)?,
                None => refuse_foreign(&self.dir)?,
            }
        }
        write_file_atomic(&self.dir.join(GRID_FILE), identity.to_json().as_bytes())
            .map_err(io(&self.dir.join(GRID_FILE)))
    }

    /// Moves a damaged `grid.json` into `corrupt/` if the parts say they
    /// belong to `identity`'s grid; refuses otherwise.
    fn replace_damaged_grid_file(
        &self,
        identity: &Identity,
        why: &SweepError,
        warn: &dyn Fn(Warning),
    ) -> Result<()> {
        let scan = self.scan(false)?;
        if let Some(other) = scan
            .fingerprints
            .keys()
            .find(|f| **f != identity.fingerprint)
        {
            return Err(SweepError::Refused(format!(
                "{why}; its parts were written for another grid (fingerprint {other}, this grid \
                 {})",
                identity.fingerprint
            )));
        }
        let from = self.dir.join(GRID_FILE);
        let to = self.set_aside(&from)?;
        warn(Warning::DamagedGrid {
            file: from,
            moved_to: to,
        });
        Ok(())
    }

    /// Moves a damaged file into `corrupt/` under a name of its own.
    fn set_aside(&self, path: &Path) -> Result<PathBuf> {
        let aside = self.dir.join(CORRUPT);
        fs::create_dir_all(&aside).map_err(io(&aside))?;
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let to = aside.join(format!("{}-{name}", utc_now().replace(':', "")));
        fs::rename(path, &to).map_err(io(path))?;
        Ok(to)
    }

    /// Moves every entry but the locks into `superseded-<time>/`.
    fn supersede(&self, warn: &dyn Fn(Warning)) -> Result<()> {
        let mut entries = Vec::new();
        for e in fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let name = e.map_err(io(&self.dir))?.file_name();
            let s = name.to_string_lossy();
            if !s.starts_with('.') && !s.starts_with("superseded-") {
                entries.push(name);
            }
        }
        let has_data = entries
            .iter()
            .any(|n| n != RUNS && n != TRAJECTORIES && n != CHECKPOINTS && n != WRITERS)
            || [RUNS, TRAJECTORIES, CHECKPOINTS]
                .iter()
                .any(|s| layout::entries(&self.dir.join(s), false).is_ok_and(|v| !v.is_empty()));
        if !has_data {
            return Ok(());
        }
        let aside = self
            .dir
            .join(format!("superseded-{}", utc_now().replace(':', "")));
        fs::create_dir_all(&aside).map_err(io(&aside))?;
        for name in entries {
            let from = self.dir.join(&name);
            fs::rename(&from, aside.join(&name)).map_err(io(&from))?;
        }
        for sub in [RUNS, TRAJECTORIES, CHECKPOINTS] {
            let p = self.dir.join(sub);
            fs::create_dir_all(&p).map_err(io(&p))?;
        }
        warn(Warning::Superseded(aside));
        sync_dir(&self.dir).map_err(io(&self.dir))
    }

    /// Appends `entry` to `provenance.json` (under a lock: shards and ranks
    /// append concurrently). A file that is not JSON is moved into
    /// `corrupt/` (and said so) rather than overwritten; JSON without a
    /// `sessions` list is refused, so a session is never silently not
    /// recorded.
    pub fn record_provenance(
        &self,
        entry: serde_json::Value,
        warn: &dyn Fn(Warning),
    ) -> Result<()> {
        self.edit_provenance(|sessions| sessions.push(entry), warn)
    }

    /// Adds `fields` to the session entry `entry` that this process
    /// recorded (what it learns only at its end, such as the lane occupancy).
    pub fn amend_provenance(
        &self,
        entry: &serde_json::Value,
        fields: serde_json::Value,
        warn: &dyn Fn(Warning),
    ) -> Result<()> {
        self.edit_provenance(
            |sessions| {
                let mine = sessions.iter_mut().rev().find(|s| *s == entry);
                if let (Some(serde_json::Value::Object(mine)), serde_json::Value::Object(fields)) =
                    (mine, fields)
                {
                    mine.extend(fields);
                }
            },
            warn,
        )
    }

    /// Rewrites provenance.json with `edit` applied to its session list,
    /// under its lock.
    fn edit_provenance(
        &self,
        edit: impl FnOnce(&mut Vec<serde_json::Value>),
        warn: &dyn Fn(Warning),
    ) -> Result<()> {
        let lock_path = self.dir.join(PROVENANCE_LOCK);
        let lock = lock_file(&lock_path)?;
        lock.lock().map_err(io(&lock_path))?;
        let path = self.dir.join(PROVENANCE_FILE);
        let mut doc = match fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<serde_json::Value>(&bytes) {
                Ok(doc) => doc,
                Err(e) => {
                    let to = self.set_aside(&path)?;
                    warn(Warning::ProvenanceNotJson {
                        file: path.clone(),
                        error: e.to_string(),
                        moved_to: to,
                    });
                    serde_json::json!({ "sessions": [] })
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                serde_json::json!({ "sessions": [] })
            }
            Err(e) => return Err(io(&path)(e)),
        };
        let Some(list) = doc.get_mut("sessions").and_then(|s| s.as_array_mut()) else {
            return Err(SweepError::Refused(format!(
                "{}: not a sharpsweep provenance file (no \"sessions\" list); move it away to \
                 continue",
                path.display()
            )));
        };
        edit(list);
        let bytes = serde_json::to_vec_pretty(&doc).expect("JSON serialises");
        write_file_atomic(&path, &bytes).map_err(io(&path))
    }
}

impl Drop for Dataset {
    fn drop(&mut self) {
        if self.access != Access::Read {
            let _ = fs::remove_file(self.dir.join(WRITERS).join(format!("{}.lock", self.writer)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writer_lock_held_by_another_process_for_a_moment_is_skipped_for_another_tag() {
        let t = tempfile::tempdir().unwrap();
        let busy = lock_file(&t.path().join("aaaa.lock")).unwrap();
        busy.try_lock().unwrap();
        let tags = ["aaaa", "bbbb"].map(String::from).into_iter();
        let (tag, _lock) = take_writer_lock(t.path(), tags).unwrap();
        assert_eq!(tag, "bbbb");
        assert!(t.path().join("bbbb.lock").is_file());
    }

    #[test]
    fn no_free_writer_tag_is_a_locked_refusal_not_a_hang() {
        let t = tempfile::tempdir().unwrap();
        let busy = lock_file(&t.path().join("aaaa.lock")).unwrap();
        busy.try_lock().unwrap();
        let err =
            take_writer_lock(t.path(), std::iter::repeat_with(|| "aaaa".to_string())).unwrap_err();
        assert!(matches!(err, SweepError::Locked { .. }), "{err}");
    }
}
