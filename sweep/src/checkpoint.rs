//! Checkpoints of in-flight runs: `DIR/checkpoints/<run_id>.ckpt`.
//!
//! A checkpoint is a Parquet file holding the trajectory rows the run has
//! recorded so far (exactly the rows its final trajectories part will hold
//! for those steps), with the core [`RunState`] bytes and the wall time so
//! far in its key-value metadata. It is written with
//! [`write_atomic`], so it is either the previous checkpoint or the
//! new one, never half of one; a damaged one is refused by the Parquet
//! footer or by [`RunState::from_bytes`], moved to `DIR/corrupt/`, and the
//! run starts over. A run resumed from its checkpoint produces the same
//! rows, bit for bit, as one that never stopped.

use crate::warning::Warning;
use arrow_array::RecordBatch;
use sharpsweep_core::{RunConfig, RunId, RunState};
use sharpsweep_dataset::layout::{CHECKPOINTS, CORRUPT, entries};
use sharpsweep_dataset::write::{FileMeta, temporary_target, write_atomic};
use sharpsweep_dataset::{key_value, read_batches, verify};
use std::io;
use std::path::{Path, PathBuf};

const KEY_STATE: &str = "sharpsweep.checkpoint";
const KEY_WALL: &str = "sharpsweep.wall_seconds";

/// A run's progress as saved.
pub struct Checkpoint {
    pub state: RunState,
    /// The trajectory rows recorded before the checkpoint.
    pub trajectory: Vec<RecordBatch>,
    pub wall_seconds: f64,
}

pub fn path(dir: &Path, run_id: RunId) -> PathBuf {
    dir.join(CHECKPOINTS).join(format!("{run_id}.ckpt"))
}

/// Saves a checkpoint of `config`'s run (atomically replacing the last one).
/// `trajectory` must hold at least one row (the step-0 record).
pub fn save(
    dir: &Path,
    config: &RunConfig,
    state: &RunState,
    trajectory: &[RecordBatch],
    wall_seconds: f64,
) -> io::Result<()> {
    let config_json = serde_json::to_string(&config.canonical()).map_err(io::Error::other)?;
    let state_json = String::from_utf8(state.to_bytes()).map_err(io::Error::other)?;
    write_atomic(
        &path(dir, state.run_id),
        trajectory,
        &FileMeta {
            table: "checkpoint",
            config_json: &config_json,
        },
        &[
            (KEY_STATE, state_json),
            (KEY_WALL, wall_seconds.to_string()),
        ],
    )
    .map(|_crc| ())
}

/// The checkpoint of run `id`, if there is a usable one. A damaged
/// checkpoint is moved to `DIR/corrupt/`, and `warn` told.
pub fn load(dir: &Path, id: RunId, warn: &dyn Fn(Warning)) -> Option<Checkpoint> {
    let p = path(dir, id);
    if !p.exists() {
        return None;
    }
    // Why it is unusable is only told, in the warning: any error will do.
    let read = || -> Result<Checkpoint, Box<dyn std::error::Error>> {
        verify(&p)?;
        let state = key_value(&p, KEY_STATE)?.ok_or("no state")?;
        let state = RunState::from_bytes(state.as_bytes())?;
        let wall_seconds = key_value(&p, KEY_WALL)?
            .and_then(|w| w.parse().ok())
            .unwrap_or(0.0);
        let trajectory = read_batches(&p)?;
        Ok(Checkpoint {
            state,
            trajectory,
            wall_seconds,
        })
    };
    match read() {
        Ok(c) => Some(c),
        Err(why) => {
            let aside = dir.join(CORRUPT);
            let _ = std::fs::create_dir_all(&aside);
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            let _ = std::fs::rename(&p, aside.join(format!("checkpoint-{name}")));
            warn(Warning::CheckpointUnreadable {
                file: p,
                why: why.to_string(),
            });
            None
        }
    }
}

/// Removes the checkpoint of a run that is now in a committed part.
pub fn remove(dir: &Path, run_id: RunId) {
    let _ = std::fs::remove_file(path(dir, run_id));
}

/// Removes the temporaries of checkpoints of `runs` that a killed process
/// left half-written (only this process may write those runs' checkpoints).
pub fn remove_stale_temporaries(dir: &Path, runs: &std::collections::HashSet<RunId>) {
    let ckpts = dir.join(CHECKPOINTS);
    for temp in entries(&ckpts, true).unwrap_or_default() {
        let id = temporary_target(&temp)
            .and_then(|t| t.strip_suffix(".ckpt"))
            .and_then(|id| id.parse::<RunId>().ok());
        if id.is_some_and(|id| runs.contains(&id)) {
            let _ = std::fs::remove_file(ckpts.join(&temp));
        }
    }
}

/// The run_ids that have a checkpoint.
pub fn list(dir: &Path) -> Vec<RunId> {
    let Ok(entries) = std::fs::read_dir(dir.join(CHECKPOINTS)) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".ckpt")?.parse().ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::trajectory_batch;
    use sharpsweep_core::Trainer;

    #[test]
    fn a_checkpoint_round_trips_state_and_rows_and_a_damaged_one_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(CHECKPOINTS)).unwrap();
        let config = RunConfig {
            steps: 1000,
            log_points: 5,
            ..Default::default()
        };
        let mut t = Trainer::new(&config).unwrap();
        let mut rows = crate::rows::Rows::default();
        for r in (0..3).filter_map(|_| t.next_record()) {
            rows.push(&r);
        }
        let id = config.run_id();
        let batch = trajectory_batch(&[(id, &rows)]);
        save(
            dir.path(),
            &config,
            t.state(),
            std::slice::from_ref(&batch),
            1.5,
        )
        .unwrap();
        assert_eq!(list(dir.path()), vec![id]);

        let warned = std::cell::RefCell::new(Vec::new());
        let warn = |w| warned.borrow_mut().push(w);
        let back = load(dir.path(), id, &warn).expect("a checkpoint");
        assert!(warned.borrow().is_empty());
        assert_eq!(back.state, *t.state());
        assert_eq!(back.wall_seconds, 1.5);
        assert_eq!(back.trajectory.len(), 1);
        assert_eq!(back.trajectory[0], batch, "rows and schema survive exactly");

        let p = path(dir.path(), id);
        let bytes = std::fs::read(&p).unwrap();
        // One flipped byte in the middle (a data page), then a truncation:
        // each is found, and the checkpoint set aside.
        let mut flipped = bytes.clone();
        flipped[bytes.len() / 3] ^= 0x10;
        std::fs::write(&p, &flipped).unwrap();
        assert!(load(dir.path(), id, &warn).is_none());
        // The caller is told, naming the file.
        assert!(
            matches!(&warned.borrow()[..], [Warning::CheckpointUnreadable { file, .. }] if *file == p)
        );
        std::fs::rename(
            dir.path()
                .join(CORRUPT)
                .join(format!("checkpoint-{id}.ckpt")),
            dir.path().join(CORRUPT).join("first"),
        )
        .unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 10]).unwrap();
        assert!(load(dir.path(), id, &warn).is_none());
        assert_eq!(warned.borrow().len(), 2);
        assert!(!p.exists());
        assert!(
            dir.path()
                .join(CORRUPT)
                .join(format!("checkpoint-{id}.ckpt"))
                .exists()
        );
    }
}
