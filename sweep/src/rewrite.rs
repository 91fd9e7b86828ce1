//! Rewriting a dataset's parts: compaction (`sharpsweep compact`) and
//! taking runs out (`--retry-failed`).
//!
//! Both commit like a flush: a new pair of parts whose runs part lists the
//! parts it replaces (`sharpsweep.replaces`), then the old parts are
//! deleted. A crash before the new runs part appears leaves an unpaired
//! trajectories part; a crash after it leaves replaced parts, which every
//! reading of the dataset's state ([`sharpsweep_dataset::State`]) sets
//! aside: old and new never both count. (An outside reader listing the
//! directory in the instant between the new runs part's rename and the old
//! parts' removal can see both; the engine's and `analyze`'s readings never
//! do.)

use crate::dataset::{Access, Dataset, io};
use crate::error::{Result, SweepError};
use crate::journal::{Scan, remove_if_present};
use crate::schema::trajectory_batch;
use crate::shard::Shard;
use arrow_array::{Array, BooleanArray, RecordBatch, StringArray};
use arrow_select::filter::filter_record_batch;
use sharpsweep_core::RunId;
use sharpsweep_dataset::layout::{RUNS, TRAJECTORIES};
use sharpsweep_dataset::metadata::{KEY_CONFIG, KEY_REPLACES, STATUS_FAILED};
use sharpsweep_dataset::write::sync_dir;
use sharpsweep_dataset::{key_value, read_batches};
use std::collections::{BTreeMap, BTreeSet};

impl Dataset {
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
                    let path = self.dir.join(table).join(name);
                    all.extend(read_batches(&path).map_err(io(&path))?);
                }
                Ok(all)
            };
            let runs = read(RUNS)?;
            let traj = read(TRAJECTORIES)?;
            let first = self.dir.join(RUNS).join(&group[0]);
            let config = key_value(&first, KEY_CONFIG)
                .map_err(io(&first))?
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
            .filter(|(_, d)| d.status == STATUS_FAILED)
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
                let runs_left = read_batches(&runs_path)
                    .map_err(io(&runs_path))?
                    .iter()
                    .map(keep)
                    .collect::<Result<Vec<_>>>()?;
                let mut traj_left = read_batches(&traj_path)
                    .map_err(io(&traj_path))?
                    .iter()
                    .map(keep)
                    .collect::<Result<Vec<_>>>()?;
                if traj_left.is_empty() {
                    traj_left.push(trajectory_batch(&[]));
                }
                let config = key_value(&runs_path, KEY_CONFIG)
                    .map_err(io(&runs_path))?
                    .unwrap_or_default();
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
