//! The engine's side of the completion journal: reading which runs are
//! done (through the dataset contract's [`State`], the same reading
//! `analyze` makes), repairing what a crash or damage left, and committing
//! a batch of finished runs as one pair of parts.
//!
//! Repairs: a damaged part goes to `DIR/corrupt/` with its partner, and its
//! runs are redone; parts a compaction replaced are deleted; unpaired
//! trajectories parts and hidden temporaries are deleted once their writer
//! is known dead (its `.writers/<writer>.lock` can be taken), never while
//! it may still be writing them.

use crate::dataset::{Access, Dataset, io};
use crate::error::{Result, SweepError};
use crate::schema::{RunRecord, runs_batch, trajectory_batch};
use arrow_array::RecordBatch;
use sharpsweep_core::{CoreError, RunId};
use sharpsweep_dataset::layout::{CORRUPT, RUNS, TRAJECTORIES, WRITERS, writer_of};
use sharpsweep_dataset::metadata::{KEY_PARTNER_CHECKSUM, TABLE_RUNS, TABLE_TRAJECTORY};
use sharpsweep_dataset::write::{FileMeta, write_atomic};
use sharpsweep_dataset::{Check, Damage, State};
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

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
    /// Live parts, by name, with their number of runs.
    pub parts: BTreeMap<String, usize>,
    /// Damaged parts (moved to `corrupt/` when repairing).
    pub damaged: Vec<Damage>,
    /// Runs found in more than one part (only if shards of different
    /// counts ran concurrently); the first part's copy counts.
    pub duplicates: usize,
    /// Unpaired trajectories parts of dead writers (removed when repairing).
    pub orphans: usize,
    /// The grid fingerprints the live parts were written for.
    pub fingerprints: BTreeMap<String, usize>,
}

impl Dataset {
    /// Reads the journal: which runs are done, in which parts. With
    /// `repair`, damaged parts go to `corrupt/`, and replaced parts,
    /// orphans and temporaries of dead writers are deleted.
    pub fn scan(&self, repair: bool) -> Result<Scan> {
        self.scan_checking(repair, Check::Bytes)
    }

    /// [`Dataset::scan`] that checks only footers and run ids: for MPI
    /// ranks after rank 0 has checked every byte and repaired.
    pub fn scan_checked_elsewhere(&self) -> Result<Scan> {
        self.scan_checking(false, Check::Footers)
    }

    fn scan_checking(&self, repair: bool, check: Check) -> Result<Scan> {
        let repair = repair && self.access != Access::Read;
        let state = State::read_checking(&self.dir, check).map_err(io(&self.dir))?;
        let mut scan = Scan::default();
        for part in &state.live {
            scan.parts.insert(part.name.clone(), part.runs.len());
            if let Some(f) = &part.fingerprint {
                *scan.fingerprints.entry(f.clone()).or_default() += 1;
            }
            for run in &part.runs {
                let id: RunId = run.run_id.parse().map_err(|e: CoreError| {
                    SweepError::Refused(format!(
                        "{}: {e}",
                        self.dir.join(RUNS).join(&part.name).display()
                    ))
                })?;
                match scan.done.entry(id) {
                    Entry::Occupied(_) => scan.duplicates += 1,
                    Entry::Vacant(v) => {
                        v.insert(DoneRun {
                            status: run.status.clone(),
                            part: part.name.clone(),
                        });
                    }
                }
            }
        }
        for damage in &state.damaged {
            if repair {
                self.move_aside(&damage.name)?;
            }
        }
        scan.damaged = state.damaged;
        if repair {
            for name in &state.replaced {
                remove_if_present(&self.dir.join(TRAJECTORIES).join(name))?;
                remove_if_present(&self.dir.join(RUNS).join(name))?;
            }
            for (table, temp) in &state.temporaries {
                // A part's temporary left by a killed writer.
                if let Some(writer) = writer_of(temp)
                    && self.writer_is_dead(writer)?
                {
                    remove_if_present(&self.dir.join(table).join(temp))?;
                }
            }
        }
        for name in &state.unpaired {
            if let Some(writer) = writer_of(name)
                && self.writer_is_dead(writer)?
            {
                scan.orphans += 1;
                if repair {
                    remove_if_present(&self.dir.join(TRAJECTORIES).join(name))?;
                }
            }
        }
        if repair {
            self.remove_dead_writer_locks()?;
        }
        Ok(scan)
    }

    /// Moves a damaged part's pair into `corrupt/` (another shard may have
    /// moved it first).
    fn move_aside(&self, name: &str) -> Result<()> {
        let aside = self.dir.join(CORRUPT);
        fs::create_dir_all(&aside).map_err(io(&aside))?;
        for table in [RUNS, TRAJECTORIES] {
            let from = self.dir.join(table).join(name);
            let to = free_name(&aside.join(format!("{table}-{name}")));
            match fs::rename(&from, &to) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                r => r.map_err(io(&from))?,
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
            if name.strip_suffix(".lock").is_none_or(|w| w == self.writer) {
                continue;
            }
            // Unlinked while held: a writer taking this lock meanwhile
            // either fails to or finds its file gone, and takes another
            // tag (dataset.rs, `take_writer_lock`).
            if let Ok(f) = OpenOptions::new().write(true).open(e.path())
                && f.try_lock().is_ok()
            {
                remove_if_present(&e.path())?;
            }
        }
        Ok(())
    }

    /// The name of the next part this process writes.
    pub(crate) fn next_part_name(&mut self, label: &str) -> String {
        self.seq += 1;
        format!("part-{label}-{}-{:05}.parquet", self.writer, self.seq)
    }

    /// Commits `records` and their trajectory rows as one pair of parts
    /// (trajectories first, then the runs part that makes them count).
    /// `label` tells the shard apart in the name (`s0of4`, `all`);
    /// `config_json` is the parts' `sharpsweep.config` (the grid's
    /// fingerprint and the grid).
    pub fn write_part(
        &mut self,
        label: &str,
        config_json: &str,
        records: &[&RunRecord],
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
        self.write_pair(&name, config_json, trajectory, &[runs_batch(records)], &[])?;
        Ok(name)
    }

    /// Writes a pair of parts: the trajectories part, then the runs part
    /// recording the trajectories part's checksum, which commits both.
    pub(crate) fn write_pair(
        &self,
        name: &str,
        config_json: &str,
        trajectory: &[RecordBatch],
        runs: &[RecordBatch],
        extra: &[(&str, String)],
    ) -> Result<()> {
        let traj = self.dir.join(TRAJECTORIES).join(name);
        let meta = |table| FileMeta { table, config_json };
        let crc =
            write_atomic(&traj, trajectory, &meta(TABLE_TRAJECTORY), &[]).map_err(io(&traj))?;
        let mut extra = extra.to_vec();
        extra.push((KEY_PARTNER_CHECKSUM, format!("{crc:08x}")));
        let runs_path = self.dir.join(RUNS).join(name);
        if let Err(e) = write_atomic(&runs_path, runs, &meta(TABLE_RUNS), &extra) {
            // Not committed: the trajectories part must not outlive it.
            let _ = fs::remove_file(&traj);
            return Err(io(&runs_path)(e));
        }
        Ok(())
    }
}

pub(crate) fn remove_if_present(path: &Path) -> Result<()> {
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
