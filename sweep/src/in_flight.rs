//! A run being trained, and the finished run on its way to the dataset:
//! the rows it recorded, and what it brought from a checkpoint.

use crate::checkpoint;
use crate::error::{Result, SweepError};
use crate::progress;
use crate::rows::Rows;
use crate::schema::{RunRecord, trajectory_batch};
use crate::warning::Warning;
use arrow_array::RecordBatch;
use sharpsweep_core::{Metrics, RunConfig, RunId, Trainer};
use std::path::Path;

pub struct Outcome {
    pub record: RunRecord,
    /// Trajectory rows recorded before the last checkpoint, as batches…
    pub saved: Vec<RecordBatch>,
    /// …and the rows recorded since, turned into a batch at flush time
    /// together with other runs' (one batch per part, not one per run).
    pub fresh: Rows,
    pub resumed: bool,
    /// The run may have a checkpoint file to remove once it is written.
    pub checkpointed: bool,
    /// The sweep's worker thread that made it, and frees it once it is
    /// written (`HandBack`); 0 outside a sweep.
    pub(crate) worker: usize,
}

impl Outcome {
    /// Its trajectory rows, saved and fresh.
    pub(crate) fn rows(&self) -> usize {
        self.saved.iter().map(RecordBatch::num_rows).sum::<usize>() + self.fresh.len()
    }

    /// Its trajectory as batches: the saved ones, then the fresh rows.
    pub fn trajectory(&self) -> Vec<RecordBatch> {
        let mut batches = self.saved.clone();
        if !self.fresh.is_empty() {
            batches.push(rows_batch(self.record.run_id, &self.fresh));
        }
        batches
    }
}

/// The trajectory rows of run `id` as one batch.
fn rows_batch(id: RunId, rows: &Rows) -> RecordBatch {
    trajectory_batch(&[(id, rows)])
}

/// A run being trained: the rows it has recorded, and what it brought
/// from a checkpoint. Its [`Trainer`] is held apart, alone or in a
/// [`LaneTrainer`](sharpsweep_core::LaneTrainer). `sharpsweep run` keeps
/// its one run in it too, so it checkpoints and resumes as a sweep does.
pub struct InFlight {
    id: RunId,
    /// Trajectory rows of earlier checkpoints, as batches…
    written: Vec<RecordBatch>,
    /// …and the records since…
    fresh: Rows,
    /// …the last of which is kept whole, for the runs table.
    last: Option<Metrics>,
    /// Wall time spent on the run in earlier sessions.
    wall_before: f64,
    resumed: bool,
    /// It has a checkpoint file (resumed from one, or saved one).
    checkpointed: bool,
}

impl InFlight {
    /// Run `id` from its checkpoint in `dir` if it has a usable one, else
    /// from step 0; `warn` is told of a checkpoint that is not.
    pub fn start(
        id: RunId,
        config: &RunConfig,
        dir: &Path,
        warn: &dyn Fn(Warning),
    ) -> Result<(Trainer, InFlight)> {
        Self::from_saved(id, config, checkpoint::load(dir, id, warn), warn)
    }

    /// [`Self::start`] in a sweep, which listed the checkpoints once at its
    /// start (`Worker::checkpoints`): a run not listed has none, and is not
    /// looked for on disk.
    pub(crate) fn start_listed(
        id: RunId,
        config: &RunConfig,
        dir: &Path,
        listed: bool,
        warn: &dyn Fn(Warning),
    ) -> Result<(Trainer, InFlight)> {
        let saved = listed.then(|| checkpoint::load(dir, id, warn)).flatten();
        let (trainer, mut run) = Self::from_saved(id, config, saved, warn)?;
        // An unusable checkpoint is removed once the run is written, too.
        run.checkpointed = listed;
        Ok((trainer, run))
    }

    fn from_saved(
        id: RunId,
        config: &RunConfig,
        saved: Option<checkpoint::Checkpoint>,
        warn: &dyn Fn(Warning),
    ) -> Result<(Trainer, InFlight)> {
        let had_checkpoint = saved.is_some();
        let resumed_from = saved.and_then(|c| {
            Trainer::resume(config, c.state)
                .map(|t| (t, c.trajectory, c.wall_seconds))
                .map_err(|e| {
                    warn(Warning::NotResumed {
                        run: id,
                        error: e.to_string(),
                    })
                })
                .ok()
        });
        let resumed = resumed_from.is_some();
        let (trainer, written, wall_before) = match resumed_from {
            Some(s) => {
                progress::count_carried(config, s.0.state().step);
                s
            }
            None => (Trainer::with_run_id(config, id)?, Vec::new(), 0.0),
        };
        let run = InFlight {
            id,
            written,
            fresh: Rows::default(),
            last: None,
            wall_before,
            resumed,
            checkpointed: had_checkpoint,
        };
        Ok((trainer, run))
    }

    /// Keeps record `r`: its values as a row, the record itself as the
    /// last so far.
    pub fn record(&mut self, r: Metrics) {
        self.fresh.push(&r);
        self.last = Some(r);
    }

    /// Checkpoints the run at `trainer`'s state, `wall` seconds into this
    /// session's share of it; `warn` is told if it cannot be written.
    /// Returns whether a checkpoint was saved: a run that has recorded
    /// nothing yet (taken into a lane just before a stop) has nothing worth
    /// keeping, and starts afresh next time.
    pub fn checkpoint(
        &mut self,
        dir: &Path,
        trainer: &Trainer,
        wall: f64,
        warn: &dyn Fn(Warning),
    ) -> bool {
        if !self.fresh.is_empty() {
            self.written.push(rows_batch(self.id, &self.fresh));
            self.fresh.clear();
        }
        if self.written.is_empty() {
            return false;
        }
        let wall = self.wall_before + wall;
        self.checkpointed = true;
        match checkpoint::save(dir, trainer.config(), trainer.state(), &self.written, wall) {
            Ok(()) => true,
            Err(e) => {
                warn(Warning::CheckpointNotWritten {
                    run: self.id,
                    error: e.to_string(),
                });
                false
            }
        }
    }

    /// The run, `wall` seconds into this session's share of it: finished,
    /// or stopped short (`sharpsweep run` on a signal), whose final metrics
    /// are those of its current state and whose status is `interrupted`.
    pub fn outcome(self, trainer: &Trainer, wall: f64) -> Result<Outcome> {
        let last = if trainer.is_done() {
            self.last
                .ok_or_else(|| SweepError::Run("the run ended without a final record".into()))?
        } else {
            trainer.measure()
        };
        Ok(Outcome {
            record: RunRecord::new(trainer, last, self.wall_before + wall),
            saved: self.written,
            fresh: self.fresh,
            resumed: self.resumed,
            checkpointed: self.checkpointed,
            worker: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn a_run_that_has_recorded_nothing_is_not_checkpointed_and_not_warned_about() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(sharpsweep_dataset::layout::CHECKPOINTS)).unwrap();
        let config = RunConfig {
            steps: 100,
            ..Default::default()
        };
        let warned = RefCell::new(Vec::new());
        let warn = |w: Warning| warned.borrow_mut().push(w.to_string());
        let (mut trainer, mut run) =
            InFlight::start(config.run_id(), &config, dir.path(), &warn).unwrap();
        assert!(!run.checkpoint(dir.path(), &trainer, 0.0, &warn));
        assert!(warned.borrow().is_empty(), "{:?}", warned.borrow());
        assert!(!checkpoint::path(dir.path(), run.id).exists());
        // Once it has recorded, it is.
        while run.fresh.is_empty() {
            if let Some(r) = trainer.advance(10) {
                run.record(r);
            }
        }
        assert!(run.checkpoint(dir.path(), &trainer, 0.0, &warn));
        assert!(warned.borrow().is_empty(), "{:?}", warned.borrow());
        assert!(checkpoint::path(dir.path(), run.id).exists());
    }
}
