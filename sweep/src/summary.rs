//! Where a dataset stands (`sharpsweep status`), counted without changing
//! anything.

use crate::dataset::Dataset;
use crate::error::{Result, SweepError};
use sharpsweep_core::RunId;
use sharpsweep_dataset::Damage;
use sharpsweep_dataset::layout::GRID_FILE;
use std::collections::BTreeSet;

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
    /// Damaged parts, whose runs count as pending.
    pub damaged: Vec<Damage>,
    pub orphans: usize,
    pub duplicates: usize,
    /// Runs of the parts that are not points of `grid.json`'s grid.
    pub strangers: usize,
    /// Fingerprints of the grids the parts were written for, where they
    /// differ from `grid.json`'s (with their numbers of parts).
    pub other_grids: Vec<(String, usize)>,
}

impl Summary {
    /// Whether something is wrong with the dataset (damage, or parts that
    /// do not belong to its grid): `status` exits non-zero.
    pub fn is_damaged(&self) -> bool {
        !self.damaged.is_empty() || self.strangers > 0 || !self.other_grids.is_empty()
    }
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
            orphans: scan.orphans,
            duplicates: scan.duplicates,
            other_grids: scan
                .fingerprints
                .iter()
                .filter(|(f, _)| **f != identity.fingerprint)
                .map(|(f, n)| (f.clone(), *n))
                .collect(),
            ..Default::default()
        };
        let ids: BTreeSet<RunId> = identity
            .run_ids
            .iter()
            .map(|id| id.parse().expect("identity() checked the run ids"))
            .collect();
        s.strangers = scan.done.keys().filter(|id| !ids.contains(id)).count();
        s.damaged = scan.damaged;
        for id in ids {
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
