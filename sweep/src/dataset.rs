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
//! # The runs parts are the completion journal
//! A run is done iff its row is in a readable runs part. A flush writes the
//! trajectories part and then the runs part of the same name, each
//! atomically ([`write_atomic`]: hidden temporary name, fsync, rename,
//! directory fsync). A SIGKILL at any instant therefore leaves either
//! nothing, or a trajectories part without its runs part (an *orphan*: its
//! runs are not done, will be redone, and the orphan is deleted at the next
//! start once its writer is known dead), or both parts. No run is ever
//! counted twice or lost, and no journal needs separate syncing.
//!
//! A part that cannot be read (truncated, corrupt footer, a trajectories
//! part that does not match its runs part) is moved to `DIR/corrupt/` with
//! its partner, and its runs count as not done, so they are redone.
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
//! # Compaction
//! `compact` writes a merged trajectories part, then a merged runs part whose
//! metadata key `sharpsweep.replaces` lists the parts it replaces, then
//! deletes those. A crash before the runs part appears leaves an orphan; a
//! crash after it leaves replaced parts, which every later start (sweep,
//! status, compact) deletes before counting: old and new never both count.
//! (An outside reader listing the directory in the instant between the new
//! runs part's rename and the old parts' removal can see both; the engine's
//! own scans never do.)
//!
//! # --force-new
//! A different grid on an existing dataset is refused. `--force-new` never
//! deletes: it moves every entry of the old dataset into
//! `DIR/superseded-<UTC time>/` and starts an empty one.

use crate::error::{Result, SweepError};
use crate::parquet_io::{FileMeta, sync_dir, temporary_name, write_atomic_with};
use crate::schema::{KEY_TABLE, RunRecord, runs_batch, trajectory_batch};
use crate::shard::Shard;
use arrow_array::{Array, BooleanArray, RecordBatch, StringArray};
use arrow_select::filter::filter_record_batch;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};
use sharpsweep_core::RunId;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, RandomState};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const RUNS: &str = "runs";
pub const TRAJECTORIES: &str = "trajectories";
pub const CHECKPOINTS: &str = "checkpoints";
pub const CORRUPT: &str = "corrupt";
pub const GRID_FILE: &str = "grid.json";
pub const PROVENANCE_FILE: &str = "provenance.json";
const LOCK: &str = ".lock";
/// The number of shards the dataset is run in, recorded by its first shard.
const PROVENANCE_LOCK: &str = ".provenance.lock";
const WRITERS: &str = ".writers";
/// Metadata key of a compacted runs part: the JSON list of part names it replaces.
const KEY_REPLACES: &str = "sharpsweep.replaces";

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

/// A run as the journal records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DoneRun {
    /// `finished`, `diverged` or `failed`.
    pub status: String,
    /// The part holding it.
    pub part: String,
}

/// What [`Dataset::scan`] found.
#[derive(Debug, Default)]
pub struct Scan {
    pub done: BTreeMap<RunId, DoneRun>,
    /// Valid parts, by name, with their number of runs.
    pub parts: BTreeMap<String, usize>,
    /// Parts found unreadable (and, when repairing, moved to `corrupt/`).
    pub corrupt: Vec<String>,
    /// Runs found in more than one part (only if shards of different
    /// counts ran concurrently); the first part's copy counts.
    pub duplicates: usize,
    /// Orphaned trajectories parts of dead writers (removed when repairing).
    pub orphans: usize,
}

/// An open dataset: its directory, the locks held, and this process's
/// name for the parts it writes.
pub struct Dataset {
    dir: PathBuf,
    access: Access,
    _locks: Vec<File>,
    writer: String,
    seq: usize,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SweepError + '_ {
    SweepError::io(path)
}

/// A random 8-hex-digit name (the process's writer tag).
fn random_tag() -> String {
    let h = RandomState::new().hash_one((std::process::id(), std::time::SystemTime::now()));
    format!("{:08x}", h as u32)
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
    if dir.join(GRID_FILE).is_file() {
        return Ok(());
    }
    match foreign_entry(dir)? {
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
        if let Some(f) = visible_files(&dir.join(sub))?.first() {
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
        let writer = random_tag();
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
            let p = dir.join(WRITERS).join(format!("{writer}.lock"));
            let f = lock_file(&p)?;
            f.try_lock()
                .map_err(|_| locked(&p, "writer tag collision"))?;
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
        let path = self.dir.join(GRID_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path)(e)),
        };
        serde_json::from_str(&text).map(Some).map_err(|e| {
            SweepError::Refused(format!(
                "{}: not a sharpsweep grid file: {e}",
                path.display()
            ))
        })
    }

    /// Makes sure the dataset belongs to `identity`: records it in a new
    /// dataset, accepts an equal one, refuses another grid's, or (with
    /// `force_new`) moves the old dataset aside first.
    pub fn adopt(&self, identity: &Identity, force_new: bool) -> Result<()> {
        let dir = self.dir.display();
        if force_new {
            if self.access != Access::Exclusive {
                return Err(SweepError::Refused(
                    "--force-new needs the whole grid in one process (not with --shard or MPI)"
                        .into(),
                ));
            }
            self.supersede()?;
        } else if let Some(old) = self.identity()? {
            if old.fingerprint != identity.fingerprint {
                return Err(SweepError::Refused(format!(
                    "{dir} holds the dataset of another grid (fingerprint {}, this grid {}); \
                     use another --out, or --force-new to move the old dataset aside",
                    old.fingerprint, identity.fingerprint
                )));
            }
            return Ok(());
        } else {
            refuse_foreign(&self.dir)?;
        }
        write_file_atomic(&self.dir.join(GRID_FILE), identity.to_json().as_bytes())
    }

    /// Moves every entry but the locks into `superseded-<time>/`.
    fn supersede(&self) -> Result<()> {
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
                .any(|s| visible_files(&self.dir.join(s)).is_ok_and(|v| !v.is_empty()));
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
        eprintln!(
            "--force-new: the previous dataset was moved to {}",
            aside.display()
        );
        sync_dir(&self.dir).map_err(io(&self.dir))
    }

    /// Appends `entry` to `provenance.json` (under a lock: shards and ranks
    /// append concurrently).
    pub fn record_provenance(&self, entry: serde_json::Value) -> Result<()> {
        let lock_path = self.dir.join(PROVENANCE_LOCK);
        let lock = lock_file(&lock_path)?;
        lock.lock().map_err(io(&lock_path))?;
        let path = self.dir.join(PROVENANCE_FILE);
        let mut doc: serde_json::Value = fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_else(|| serde_json::json!({ "sessions": [] }));
        if let Some(list) = doc.get_mut("sessions").and_then(|s| s.as_array_mut()) {
            list.push(entry);
        }
        let bytes = serde_json::to_vec_pretty(&doc).expect("JSON serialises");
        write_file_atomic(&path, &bytes)
    }

    /// Reads the journal: which runs are done, in which parts. With
    /// `repair`, unreadable parts go to `corrupt/`, orphans of dead writers
    /// and parts replaced by a compaction are deleted.
    pub fn scan(&self, repair: bool) -> Result<Scan> {
        let repair = repair && self.access != Access::Read;
        let runs_dir = self.dir.join(RUNS);
        let traj_dir = self.dir.join(TRAJECTORIES);
        let mut scan = Scan::default();
        let mut valid: Vec<(String, Vec<(RunId, String)>)> = Vec::new();
        let mut replaced = BTreeSet::new();
        let run_parts = visible_files(&runs_dir)?;
        for name in &run_parts {
            match read_runs_part(&runs_dir.join(name)) {
                Ok(part) => {
                    replaced.extend(part.replaces);
                    valid.push((name.clone(), part.runs));
                }
                Err(why) => self.condemn(name, &why, repair, &mut scan)?,
            }
        }
        for (name, runs) in valid {
            if replaced.contains(&name) {
                if repair {
                    remove_if_present(&traj_dir.join(&name))?;
                    remove_if_present(&runs_dir.join(&name))?;
                }
                continue;
            }
            if let Err(why) = check_trajectories(&traj_dir.join(&name), &runs) {
                self.condemn(&name, &why, repair, &mut scan)?;
                continue;
            }
            scan.parts.insert(name.clone(), runs.len());
            for (id, status) in runs {
                let entry = DoneRun {
                    status,
                    part: name.clone(),
                };
                match scan.done.entry(id) {
                    Entry::Occupied(_) => scan.duplicates += 1,
                    Entry::Vacant(v) => {
                        v.insert(entry);
                    }
                }
            }
        }
        for (dir, temp) in [&runs_dir, &traj_dir]
            .into_iter()
            .flat_map(|d| hidden_temporaries(d).into_iter().map(move |t| (d, t)))
        {
            // A part's temporary left by a killed writer.
            if let Some(writer) = writer_of(&temp)
                && repair
                && self.writer_is_dead(writer)?
            {
                remove_if_present(&dir.join(&temp))?;
            }
        }
        for name in visible_files(&traj_dir)? {
            if run_parts.contains(&name) {
                continue;
            }
            if let Some(writer) = writer_of(&name)
                && self.writer_is_dead(writer)?
            {
                scan.orphans += 1;
                if repair {
                    remove_if_present(&traj_dir.join(&name))?;
                }
            }
        }
        if repair {
            self.remove_dead_writer_locks()?;
        }
        Ok(scan)
    }

    /// A part that cannot be trusted: counted, and moved aside when repairing.
    fn condemn(&self, name: &str, why: &str, repair: bool, scan: &mut Scan) -> Result<()> {
        eprintln!("warning: part {name} is unreadable ({why}); its runs will be redone");
        scan.corrupt.push(name.to_string());
        if !repair {
            return Ok(());
        }
        let aside = self.dir.join(CORRUPT);
        fs::create_dir_all(&aside).map_err(io(&aside))?;
        for table in [RUNS, TRAJECTORIES] {
            let from = self.dir.join(table).join(name);
            if from.exists() {
                let to = free_name(&aside.join(format!("{table}-{name}")));
                match fs::rename(&from, &to) {
                    // Another shard moved it first.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    r => r.map_err(io(&from))?,
                }
            }
        }
        Ok(())
    }

    /// Whether no live process holds `writer`'s lock.
    fn writer_is_dead(&self, writer: &str) -> Result<bool> {
        if writer == self.writer {
            return Ok(false);
        }
        let p = self.dir.join(WRITERS).join(format!("{writer}.lock"));
        let Ok(f) = OpenOptions::new().write(true).open(&p) else {
            // No lock file: the writer finished or was cleaned up.
            return Ok(true);
        };
        Ok(f.try_lock().is_ok())
    }

    fn remove_dead_writer_locks(&self) -> Result<()> {
        let dir = self.dir.join(WRITERS);
        let Ok(entries) = fs::read_dir(&dir) else {
            return Ok(());
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(w) = name.strip_suffix(".lock")
                && self.writer_is_dead(w)?
            {
                remove_if_present(&e.path())?;
            }
        }
        Ok(())
    }

    /// The name of the next part this process writes.
    fn next_part_name(&mut self, label: &str) -> String {
        self.seq += 1;
        format!("part-{label}-{}-{:05}.parquet", self.writer, self.seq)
    }

    /// Commits `records` and their trajectory rows as one pair of parts
    /// (trajectories first, then the runs part that makes them count).
    /// `label` tells the shard apart in the name (`s0of4`, `all`).
    pub fn write_part(
        &mut self,
        label: &str,
        fingerprint: &str,
        records: &[RunRecord],
        trajectory: &[RecordBatch],
    ) -> Result<String> {
        let name = self.next_part_name(label);
        let empty;
        let trajectory = if trajectory.is_empty() {
            empty = [trajectory_batch(&[])];
            &empty[..]
        } else {
            trajectory
        };
        let config = serde_json::json!({ "fingerprint": fingerprint }).to_string();
        self.write_pair(&name, &config, trajectory, &[runs_batch(records)], &[])?;
        Ok(name)
    }

    fn write_pair(
        &self,
        name: &str,
        config_json: &str,
        trajectory: &[RecordBatch],
        runs: &[RecordBatch],
        extra: &[(&str, String)],
    ) -> Result<()> {
        let traj = self.dir.join(TRAJECTORIES).join(name);
        let meta = |table| FileMeta { table, config_json };
        write_atomic_with(&traj, trajectory, &meta("trajectory"), &[]).map_err(io(&traj))?;
        let runs_path = self.dir.join(RUNS).join(name);
        if let Err(e) = write_atomic_with(&runs_path, runs, &meta("runs"), extra) {
            // Not committed: the trajectories part must not outlive it.
            let _ = fs::remove_file(&traj);
            return Err(io(&runs_path)(e));
        }
        Ok(())
    }

    /// Merges the parts into as few as possible, each holding up to
    /// `max_runs` runs; returns (parts before, parts after).
    pub fn compact(&mut self, max_runs: usize) -> Result<(usize, usize)> {
        assert_eq!(
            self.access,
            Access::Exclusive,
            "compaction needs the exclusive lock"
        );
        let scan = self.scan(true)?;
        let before = scan.parts.len();
        let mut groups: Vec<Vec<String>> = Vec::new();
        let mut rows = 0;
        for (name, n) in &scan.parts {
            match groups.last_mut() {
                Some(g) if rows + n <= max_runs.max(1) => g.push(name.clone()),
                _ => {
                    groups.push(vec![name.clone()]);
                    rows = 0;
                }
            }
            rows += n;
        }
        let mut after = 0;
        for group in groups {
            after += 1;
            if group.len() < 2 {
                continue;
            }
            let read = |table: &str| -> Result<Vec<RecordBatch>> {
                let mut all = Vec::new();
                for name in &group {
                    all.extend(read_all(&self.dir.join(table).join(name))?);
                }
                Ok(all)
            };
            let runs = read(RUNS)?;
            let traj = read(TRAJECTORIES)?;
            let config = read_key(
                &self.dir.join(RUNS).join(&group[0]),
                crate::schema::KEY_CONFIG,
            )?
            .unwrap_or_default();
            let name = self.next_part_name("compact");
            let replaces = serde_json::to_string(&group).expect("names serialise");
            self.write_pair(&name, &config, &traj, &runs, &[(KEY_REPLACES, replaces)])?;
            for table in [TRAJECTORIES, RUNS] {
                for old in &group {
                    remove_if_present(&self.dir.join(table).join(old))?;
                }
                let d = self.dir.join(table);
                sync_dir(&d).map_err(io(&d))?;
            }
        }
        Ok((before, after))
    }
}

impl Dataset {
    /// `--retry-failed`: takes every failed run out of the dataset (see
    /// [`Dataset::forget`]), so that the sweep runs it again; returns how
    /// many. Needs the whole grid: a shard running beside this process could
    /// be reading the parts it rewrites.
    pub fn forget_failed(&mut self, shard: Shard) -> Result<usize> {
        if !shard.is_all() {
            return Err(SweepError::Refused(format!(
                "--retry-failed needs the whole grid in one process or one MPI job, not shard \
                 {shard} (shards running beside it could be reading the parts it rewrites)"
            )));
        }
        let scan = self.scan(true)?;
        let failed: BTreeSet<RunId> = scan
            .done
            .iter()
            .filter(|(_, d)| d.status == crate::schema::STATUS_FAILED)
            .map(|(id, _)| *id)
            .collect();
        self.forget(&failed, &scan)
    }

    /// Takes `runs` out of the dataset so that they count as not done
    /// (`--retry-failed`): every part holding one is rewritten without
    /// them, committed like a compaction (the new runs part names the part
    /// it replaces), or deleted if nothing else is in it, runs part first.
    /// The runs are never in two committed parts, and a crash at any point
    /// leaves each either taken out or still in its old part. Returns how
    /// many were taken out.
    pub fn forget(&mut self, runs: &BTreeSet<RunId>, scan: &Scan) -> Result<usize> {
        let mut by_part: BTreeMap<&str, usize> = BTreeMap::new();
        for id in runs {
            if let Some(done) = scan.done.get(id) {
                *by_part.entry(&done.part).or_default() += 1;
            }
        }
        let keep = |batch: &RecordBatch| -> Result<RecordBatch> {
            let ids = batch
                .column_by_name("run_id")
                .and_then(|a| a.as_any().downcast_ref::<StringArray>())
                .ok_or_else(|| SweepError::Refused("a part without run_id".into()))?;
            let mask: BooleanArray = ids
                .iter()
                .map(|id| {
                    Some(
                        !id.and_then(|i| i.parse().ok())
                            .is_some_and(|i| runs.contains(&i)),
                    )
                })
                .collect();
            filter_record_batch(batch, &mask)
                .map_err(|e| SweepError::Refused(format!("filtering a part: {e}")))
        };
        for (&old, &count) in &by_part {
            let (runs_path, traj_path) = (
                self.dir.join(RUNS).join(old),
                self.dir.join(TRAJECTORIES).join(old),
            );
            if count < scan.parts.get(old).copied().unwrap_or(0) {
                let runs_left = read_all(&runs_path)?
                    .iter()
                    .map(keep)
                    .collect::<Result<Vec<_>>>()?;
                let mut traj_left = read_all(&traj_path)?
                    .iter()
                    .map(keep)
                    .collect::<Result<Vec<_>>>()?;
                if traj_left.is_empty() {
                    traj_left.push(trajectory_batch(&[]));
                }
                let config = read_key(&runs_path, crate::schema::KEY_CONFIG)?.unwrap_or_default();
                let name = self.next_part_name("retry");
                let replaces = serde_json::to_string(&[old]).expect("names serialise");
                self.write_pair(
                    &name,
                    &config,
                    &traj_left,
                    &runs_left,
                    &[(KEY_REPLACES, replaces)],
                )?;
                remove_if_present(&traj_path)?;
                remove_if_present(&runs_path)?;
            } else {
                remove_if_present(&runs_path)?;
                remove_if_present(&traj_path)?;
            }
        }
        for table in [RUNS, TRAJECTORIES] {
            let d = self.dir.join(table);
            sync_dir(&d).map_err(io(&d))?;
        }
        Ok(by_part.values().sum())
    }
}

impl Drop for Dataset {
    fn drop(&mut self) {
        if self.access != Access::Read {
            let _ = fs::remove_file(self.dir.join(WRITERS).join(format!("{}.lock", self.writer)));
        }
    }
}

/// Where a dataset stands (`sharpsweep status`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Points in the grid.
    pub total: usize,
    /// Points with a committed row: finished + diverged + failed.
    pub done: usize,
    pub finished: usize,
    pub diverged: usize,
    pub failed: usize,
    /// Points not done yet…
    pub pending: usize,
    /// …of which have a checkpoint (in flight or interrupted).
    pub checkpointed: usize,
    pub parts: usize,
    /// Unreadable parts, whose runs count as pending.
    pub corrupt: usize,
    pub orphans: usize,
    pub duplicates: usize,
}

impl Dataset {
    /// Counts done and pending points without changing anything.
    pub fn summary(&self) -> Result<Summary> {
        let identity = self.identity()?.ok_or_else(|| {
            SweepError::Refused(format!("{}: no {GRID_FILE}", self.dir.display()))
        })?;
        let scan = self.scan(false)?;
        let checkpoints: BTreeSet<RunId> = crate::checkpoint::list(&self.dir).into_iter().collect();
        let mut s = Summary {
            total: identity.run_ids.len(),
            parts: scan.parts.len(),
            corrupt: scan.corrupt.len(),
            orphans: scan.orphans,
            duplicates: scan.duplicates,
            ..Default::default()
        };
        for id in &identity.run_ids {
            let id: RunId = id.parse().map_err(SweepError::Refused)?;
            match scan.done.get(&id).map(|d| d.status.as_str()) {
                Some("finished") => s.finished += 1,
                Some("diverged") => s.diverged += 1,
                Some(_) => s.failed += 1,
                None => {
                    s.pending += 1;
                    s.checkpointed += usize::from(checkpoints.contains(&id));
                }
            }
        }
        s.done = s.finished + s.diverged + s.failed;
        Ok(s)
    }
}

/// The hidden temporary files ([`temporary_name`]) of a directory.
pub fn hidden_temporaries(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') && n.contains(".tmp-"))
        .collect()
}

/// The file a hidden temporary was going to become: `.x.tmp-123` → `x`.
pub fn temporary_target(temp: &str) -> Option<&str> {
    let inner = temp.strip_prefix('.')?;
    Some(&inner[..inner.rfind(".tmp-")?])
}

/// The writer tag in a part name `part-<label>-<writer>-<seq>.parquet`
/// (or in its hidden temporary's name).
fn writer_of(name: &str) -> Option<&str> {
    let name = temporary_target(name).unwrap_or(name);
    let stem = name.strip_prefix("part-")?.strip_suffix(".parquet")?;
    let mut it = stem.rsplitn(3, '-');
    it.next()?;
    it.next()
}

/// The part files of a table directory (not hidden temporaries), sorted.
fn visible_files(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(names),
        Err(e) => return Err(io(dir)(e)),
    };
    for e in entries {
        let name = e
            .map_err(io(dir))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if !name.starts_with('.') {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(path)(e)),
        _ => Ok(()),
    }
}

/// `path`, or `path.1`, `path.2`, … if taken.
fn free_name(path: &Path) -> PathBuf {
    let mut candidate = path.to_path_buf();
    let mut i = 0;
    while candidate.exists() {
        i += 1;
        candidate = PathBuf::from(format!("{}.{i}", path.display()));
    }
    candidate
}

/// Writes a small file atomically (hidden temporary, fsync, rename).
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temporary_name(path);
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        sync_dir(path.parent().unwrap_or(Path::new(".")))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io(path))
}

fn parquet_builder(
    path: &Path,
) -> std::result::Result<ParquetRecordBatchReaderBuilder<File>, String> {
    let f = File::open(path).map_err(|e| e.to_string())?;
    ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| e.to_string())
}

/// A key of a Parquet file's key-value metadata.
pub fn read_key(path: &Path, key: &str) -> Result<Option<String>> {
    let b = parquet_builder(path).map_err(|e| SweepError::io(path)(std::io::Error::other(e)))?;
    Ok(b.metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == key))
        .and_then(|k| k.value.clone()))
}

/// Every batch of a Parquet file, with the schema's file metadata dropped
/// so batches of different files (and fresh ones) share one schema.
pub fn read_all(path: &Path) -> Result<Vec<RecordBatch>> {
    let err = |e: String| SweepError::io(path)(std::io::Error::other(e));
    let reader = parquet_builder(path)
        .map_err(err)?
        .build()
        .map_err(|e| err(e.to_string()))?;
    let mut out = Vec::new();
    for b in reader {
        let b = b.map_err(|e| err(e.to_string()))?;
        let schema = Arc::new(
            b.schema()
                .as_ref()
                .clone()
                .with_metadata(std::collections::HashMap::new()),
        );
        out.push(b.with_schema(schema).map_err(|e| err(e.to_string()))?);
    }
    Ok(out)
}

/// String columns of a Parquet file, row by row, and two metadata keys.
struct StringColumns {
    rows: Vec<Vec<Option<String>>>,
    table: Option<String>,
    replaces: Option<String>,
}

/// A runs part's runs (run_id, status) and the parts it replaces.
struct RunsPart {
    runs: Vec<(RunId, String)>,
    replaces: Vec<String>,
}

/// Reads string `columns` of a Parquet file in full (which checks the
/// footer, every page of those columns and the row count), row by row.
fn read_strings(path: &Path, columns: &[&str]) -> std::result::Result<StringColumns, String> {
    let builder = parquet_builder(path)?;
    let kv = |key: &str| {
        builder
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|k| k.key == key))
            .and_then(|k| k.value.clone())
    };
    let table = kv(KEY_TABLE);
    let replaces = kv(KEY_REPLACES);
    let expected = builder.metadata().file_metadata().num_rows() as usize;
    let mask = ProjectionMask::columns(builder.parquet_schema(), columns.iter().copied());
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        let cols: Vec<&StringArray> = columns
            .iter()
            .map(|c| {
                batch
                    .column_by_name(c)
                    .and_then(|a| a.as_any().downcast_ref::<StringArray>())
                    .ok_or_else(|| format!("no string column {c}"))
            })
            .collect::<std::result::Result<_, _>>()?;
        for i in 0..batch.num_rows() {
            rows.push(
                cols.iter()
                    .map(|a| a.is_valid(i).then(|| a.value(i).to_string()))
                    .collect(),
            );
        }
    }
    if rows.len() != expected {
        return Err(format!("{} rows read, footer says {expected}", rows.len()));
    }
    Ok(StringColumns {
        rows,
        table,
        replaces,
    })
}

/// The runs of a runs part and the parts it replaces.
fn read_runs_part(path: &Path) -> std::result::Result<RunsPart, String> {
    let StringColumns {
        rows,
        table,
        replaces,
    } = read_strings(path, &["run_id", "status"])?;
    if table.as_deref() != Some("runs") {
        return Err("not a runs table".into());
    }
    let runs = rows
        .into_iter()
        .map(|r| match (&r[0], &r[1]) {
            (Some(id), Some(status)) => Ok((id.parse::<RunId>()?, status.clone())),
            _ => Err("null run_id or status".to_string()),
        })
        .collect::<std::result::Result<_, _>>()?;
    let replaces = match replaces {
        Some(json) => serde_json::from_str(&json).map_err(|e| e.to_string())?,
        None => Vec::new(),
    };
    Ok(RunsPart { runs, replaces })
}

/// A trajectories part must be readable and hold rows of exactly the
/// runs of its runs part that have any (failed runs have none).
fn check_trajectories(path: &Path, runs: &[(RunId, String)]) -> std::result::Result<(), String> {
    let StringColumns { rows, table, .. } = read_strings(path, &["run_id"])?;
    if table.as_deref() != Some("trajectory") {
        return Err("its trajectories part is not a trajectory table".into());
    }
    let mut seen = BTreeSet::new();
    for r in rows {
        let id: RunId = r[0].as_deref().ok_or("null run_id")?.parse()?;
        seen.insert(id);
    }
    let want: BTreeSet<RunId> = runs
        .iter()
        .filter(|(_, s)| s != crate::schema::STATUS_FAILED)
        .map(|(id, _)| *id)
        .collect();
    if seen != want {
        return Err("its trajectories part does not match its runs".into());
    }
    Ok(())
}

/// The current UTC time as `2026-11-23T01:02:03Z`.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
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

    #[test]
    fn utc_dates_are_civil() {
        let now = utc_now();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.starts_with("20"), "{now}");
    }
}
