//! Where this process stands in a SLURM job array and among the processes
//! a launcher (srun, mpirun, mpiexec) started, read from the environment
//! the scheduler and launcher set.
//!
//! Two positions are read independently:
//! - the **array task**: `SLURM_ARRAY_TASK_ID`, `_MIN`, `_COUNT` (and
//!   `_STEP`), giving task `(ID − MIN) / STEP` of `COUNT`;
//! - the **process**, from the first launcher that set its variables:
//!   1. `OMPI_COMM_WORLD_RANK` / `OMPI_COMM_WORLD_SIZE` (OpenMPI's mpirun),
//!   2. `PMI_RANK` / `PMI_SIZE` (MPICH's and Intel MPI's mpiexec),
//!   3. `PMIX_RANK`, with the size from `SLURM_STEP_NUM_TASKS`
//!      (`srun --mpi=pmix`),
//!   4. `SLURM_PROCID` / `SLURM_STEP_NUM_TASKS` (else `SLURM_NTASKS`), only
//!      inside a job step (`SLURM_STEP_ID` set).
//!
//! The launcher's own variables come first because the SLURM ones can be
//! stale: under `mpirun` inside a batch job every rank inherits the batch
//! step's `SLURM_PROCID=0`, and the batch script itself sees
//! `SLURM_PROCID=0` with `SLURM_NTASKS` = the whole allocation, although it
//! is a single process (checked on SLURM 22.05 with OpenMPI 4.1). Reading
//! those would make every process run the same part of the grid, and leave
//! the rest undone.

use crate::error::{ClusterError, Result};
use sharpsweep_sweep::Shard;

/// Position `index` of `count` (counted from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub index: usize,
    pub count: usize,
    /// The variable the index was read from, for messages and logs.
    pub source: &'static str,
}

/// The part of the grid this process runs, and a note of where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub shard: Shard,
    /// E.g. `SLURM_ARRAY_TASK_ID 1 of 4, SLURM_PROCID 1 of 2`; empty for
    /// the whole grid.
    pub source: String,
}

/// Which shard this process runs (docs/cluster.md, "Which part of the grid
/// a process runs"):
/// 1. the job's part: `explicit` (`--shard K/N`) if given, else the SLURM
///    array task, else the whole grid;
/// 2. split further among the processes of one launch (`K·R + r` of `N·R`)
///    by this process's [`process`] position, unless `mpi_splits_ranks`:
///    then the MPI ranks split it themselves (the engine's `Team`).
///
/// `var` reads the environment (`std::env::var(name).ok()`, or a test's map).
pub fn assign(
    explicit: Option<Shard>,
    mpi_splits_ranks: bool,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Assignment> {
    let mut notes = Vec::new();
    let job = match explicit {
        Some(shard) => {
            notes.push(format!("--shard {shard}"));
            shard
        }
        None => match array_task(&var)? {
            Some(p) => {
                notes.push(p.to_string());
                Shard {
                    index: p.index,
                    count: p.count,
                }
            }
            None => Shard::ALL,
        },
    };
    let process = if mpi_splits_ranks {
        None
    } else {
        process(&var)?
    };
    let shard = match process {
        Some(p) if p.count > 1 => {
            notes.push(p.to_string());
            job.split(p.index, p.count)
        }
        _ => job,
    };
    Ok(Assignment {
        shard,
        source: notes.join(", "),
    })
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} of {}", self.source, self.index, self.count)
    }
}

/// This process's SLURM array task, if it is one.
pub fn array_task(var: &impl Fn(&str) -> Option<String>) -> Result<Option<Position>> {
    let Some(id) = number(var, "SLURM_ARRAY_TASK_ID")? else {
        return Ok(None);
    };
    let min = required(var, "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_ID")?;
    let count = required(var, "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_ID")?;
    let step = number(var, "SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
    let offset = id.checked_sub(min).filter(|o| o % step == 0);
    match offset.map(|o| o / step).filter(|&i| i < count) {
        Some(index) => Ok(Some(Position {
            index,
            count,
            source: "SLURM_ARRAY_TASK_ID",
        })),
        None => Err(ClusterError::env(
            "SLURM_ARRAY_TASK_ID",
            format!(
                "task {id} is not in the range {min}-{}:{step} of {count} tasks; \
                 shards need an array given as a range (--array=0-{})",
                min + (count.saturating_sub(1)) * step,
                count.saturating_sub(1)
            ),
        )),
    }
}

/// This process among those its launcher started, if a launcher said so.
pub fn process(var: &impl Fn(&str) -> Option<String>) -> Result<Option<Position>> {
    let pairs = [
        ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
        ("PMI_RANK", "PMI_SIZE"),
    ];
    for (rank_var, size_var) in pairs {
        if let Some(rank) = number(var, rank_var)? {
            let size = required(var, size_var, rank_var)?;
            return position(rank, size, rank_var, size_var).map(Some);
        }
    }
    if let Some(rank) = number(var, "PMIX_RANK")? {
        let size = required(var, "SLURM_STEP_NUM_TASKS", "PMIX_RANK")?;
        return position(rank, size, "PMIX_RANK", "SLURM_STEP_NUM_TASKS").map(Some);
    }
    if var("SLURM_STEP_ID").is_none() {
        return Ok(None);
    }
    let Some(rank) = number(var, "SLURM_PROCID")? else {
        return Ok(None);
    };
    let size_var = if var("SLURM_STEP_NUM_TASKS").is_some() {
        "SLURM_STEP_NUM_TASKS"
    } else {
        "SLURM_NTASKS"
    };
    let size = required(var, size_var, "SLURM_PROCID")?;
    position(rank, size, "SLURM_PROCID", size_var).map(Some)
}

fn position(
    index: usize,
    count: usize,
    index_var: &'static str,
    count_var: &str,
) -> Result<Position> {
    if index >= count {
        return Err(ClusterError::env(
            index_var,
            format!("{index} is not below {count_var}={count}"),
        ));
    }
    Ok(Position {
        index,
        count,
        source: index_var,
    })
}

/// The whole number in `name`, if set.
fn number(var: &impl Fn(&str) -> Option<String>, name: &str) -> Result<Option<usize>> {
    match var(name) {
        None => Ok(None),
        Some(text) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| ClusterError::env(name, format!("'{text}' is not a whole number"))),
    }
}

/// The whole number in `name`, which must be set because `because` is.
fn required(var: &impl Fn(&str) -> Option<String>, name: &str, because: &str) -> Result<usize> {
    number(var, name)?
        .ok_or_else(|| ClusterError::env(name, format!("is not set, but {because} is")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn at(p: Result<Option<Position>>) -> Option<(usize, usize, &'static str)> {
        p.unwrap().map(|p| (p.index, p.count, p.source))
    }

    fn error(p: Result<Option<Position>>) -> String {
        p.unwrap_err().to_string()
    }

    fn shard(index: usize, count: usize) -> Shard {
        Shard { index, count }
    }

    #[test]
    fn explicit_shard_wins_over_the_array_task() {
        let env = vars(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        let a = assign(Some(shard(1, 2)), false, &env).unwrap();
        assert_eq!(a.shard, shard(1, 2));
        assert_eq!(a.source, "--shard 1/2");
        let a = assign(None, false, &env).unwrap();
        assert_eq!(a.shard, shard(3, 4));
        assert_eq!(a.source, "SLURM_ARRAY_TASK_ID 3 of 4");
    }

    #[test]
    fn processes_of_one_launch_split_the_jobs_part() {
        // Array task 1 of 4, srun task 1 of 2: shard 1·2 + 1 = 3 of 8.
        let env = vars(&[
            ("SLURM_ARRAY_TASK_ID", "1"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_STEP_ID", "0"),
            ("SLURM_PROCID", "1"),
            ("SLURM_STEP_NUM_TASKS", "2"),
        ]);
        let a = assign(None, false, &env).unwrap();
        assert_eq!(a.shard, shard(3, 8));
        assert_eq!(a.source, "SLURM_ARRAY_TASK_ID 1 of 4, SLURM_PROCID 1 of 2");
        // An explicit shard is split the same way, as MPI ranks split it.
        assert_eq!(
            assign(Some(shard(0, 3)), false, &env).unwrap().shard,
            shard(1, 6)
        );
        // With MPI splitting the ranks, the process position is not applied twice.
        assert_eq!(assign(None, true, &env).unwrap().shard, shard(1, 4));
    }

    #[test]
    fn every_process_of_every_array_task_gets_a_different_shard_and_all_are_covered() {
        let mut seen = Vec::new();
        for task in 10..13 {
            for rank in 0..2 {
                let (t, r) = (task.to_string(), rank.to_string());
                let env = vars(&[
                    ("SLURM_ARRAY_TASK_ID", &t),
                    ("SLURM_ARRAY_TASK_MIN", "10"),
                    ("SLURM_ARRAY_TASK_COUNT", "3"),
                    ("OMPI_COMM_WORLD_RANK", &r),
                    ("OMPI_COMM_WORLD_SIZE", "2"),
                ]);
                let s = assign(None, false, &env).unwrap().shard;
                assert_eq!(s.count, 6);
                seen.push(s.index);
            }
        }
        seen.sort();
        assert_eq!(seen, [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn nothing_detected_means_the_whole_grid() {
        let a = assign(None, false, vars(&[])).unwrap();
        assert_eq!((a.shard, a.source.as_str()), (Shard::ALL, ""));
    }

    #[test]
    fn mpi_build_ignores_a_broken_process_variable_it_does_not_need() {
        let env = vars(&[("PMIX_RANK", "0")]);
        assert!(assign(None, false, &env).is_err());
        assert_eq!(assign(None, true, &env).unwrap().shard, Shard::ALL);
    }

    #[test]
    fn no_scheduler_no_launcher_means_no_position() {
        assert_eq!(at(array_task(&vars(&[]))), None);
        assert_eq!(at(process(&vars(&[]))), None);
    }

    #[test]
    fn array_task_counts_from_the_array_minimum() {
        let env = vars(&[
            ("SLURM_ARRAY_TASK_ID", "7"),
            ("SLURM_ARRAY_TASK_MIN", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(at(array_task(&env)), Some((2, 4, "SLURM_ARRAY_TASK_ID")));
        assert_eq!(at(process(&env)), None);
    }

    #[test]
    fn array_task_with_a_step_counts_steps() {
        let env = vars(&[
            ("SLURM_ARRAY_TASK_ID", "6"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "5"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
        ]);
        assert_eq!(at(array_task(&env)), Some((3, 5, "SLURM_ARRAY_TASK_ID")));
    }

    #[test]
    fn array_given_as_a_list_is_refused_by_name() {
        // --array=1,3,9: COUNT=3, MIN=1, so task 9 has no shard.
        let e = error(array_task(&vars(&[
            ("SLURM_ARRAY_TASK_ID", "9"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ])));
        assert!(e.starts_with("SLURM_ARRAY_TASK_ID: task 9"), "{e}");
        assert!(e.contains("--array=0-2"), "{e}");
    }

    #[test]
    fn array_id_without_count_is_refused_by_name() {
        let env = vars(&[("SLURM_ARRAY_TASK_ID", "0"), ("SLURM_ARRAY_TASK_MIN", "0")]);
        assert_eq!(
            error(array_task(&env)),
            "SLURM_ARRAY_TASK_COUNT: is not set, but SLURM_ARRAY_TASK_ID is"
        );
    }

    #[test]
    fn garbage_in_a_variable_is_refused_by_name() {
        let env = vars(&[
            ("OMPI_COMM_WORLD_RANK", "one"),
            ("OMPI_COMM_WORLD_SIZE", "2"),
        ]);
        assert_eq!(
            error(process(&env)),
            "OMPI_COMM_WORLD_RANK: 'one' is not a whole number"
        );
        let env = vars(&[("PMI_RANK", "2"), ("PMI_SIZE", "2")]);
        assert_eq!(error(process(&env)), "PMI_RANK: 2 is not below PMI_SIZE=2");
    }

    #[test]
    fn mpirun_inside_a_batch_job_trusts_openmpi_not_the_inherited_procid() {
        // What rank 1 of `mpirun -np 2` sees inside `sbatch -n 2` (SLURM 22.05).
        let env = vars(&[
            ("SLURM_PROCID", "0"),
            ("SLURM_NTASKS", "2"),
            ("OMPI_COMM_WORLD_RANK", "1"),
            ("OMPI_COMM_WORLD_SIZE", "2"),
            ("PMIX_RANK", "1"),
        ]);
        assert_eq!(at(process(&env)), Some((1, 2, "OMPI_COMM_WORLD_RANK")));
    }

    #[test]
    fn batch_script_outside_a_step_is_one_process_whatever_ntasks_says() {
        // The batch shell of `sbatch -n 2` has SLURM_PROCID=0 and SLURM_NTASKS=2.
        let env = vars(&[("SLURM_PROCID", "0"), ("SLURM_NTASKS", "2")]);
        assert_eq!(at(process(&env)), None);
    }

    #[test]
    fn srun_task_reads_its_procid_among_the_step_tasks() {
        // Task 1 of `srun -n 2` in a job of 4 tasks.
        let env = vars(&[
            ("SLURM_STEP_ID", "0"),
            ("SLURM_PROCID", "1"),
            ("SLURM_NTASKS", "4"),
            ("SLURM_STEP_NUM_TASKS", "2"),
        ]);
        assert_eq!(at(process(&env)), Some((1, 2, "SLURM_PROCID")));
        let env = vars(&[
            ("SLURM_STEP_ID", "0"),
            ("SLURM_PROCID", "2"),
            ("SLURM_NTASKS", "3"),
        ]);
        assert_eq!(at(process(&env)), Some((2, 3, "SLURM_PROCID")));
    }

    #[test]
    fn srun_with_pmix_reads_pmix_rank() {
        let env = vars(&[
            ("SLURM_STEP_ID", "0"),
            ("SLURM_PROCID", "1"),
            ("SLURM_STEP_NUM_TASKS", "2"),
            ("PMIX_RANK", "1"),
        ]);
        assert_eq!(at(process(&env)), Some((1, 2, "PMIX_RANK")));
    }

    #[test]
    fn pmix_rank_without_a_process_count_is_refused() {
        assert_eq!(
            error(process(&vars(&[("PMIX_RANK", "0")]))),
            "SLURM_STEP_NUM_TASKS: is not set, but PMIX_RANK is"
        );
    }

    #[test]
    fn mpich_hydra_reads_pmi_rank() {
        let env = vars(&[("PMI_RANK", "3"), ("PMI_SIZE", "4")]);
        assert_eq!(at(process(&env)), Some((3, 4, "PMI_RANK")));
    }
}
