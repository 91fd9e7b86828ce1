//! Batched runs in the sweep engine: grouping label-noise points of one
//! shape into SIMD lane groups leaves every row of the dataset unchanged,
//! whatever the grid, the threads, the stops and the kills.

use crate::support::*;
use sharpsweep_core::RunConfig;
use sharpsweep_core::lanes::LaneKey;
use sharpsweep_sweep::queue::{Item, work};
use sharpsweep_sweep::{Grid, Plan, SweepOptions, SweepReport};
use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tempfile::tempdir;

/// Three label-noise shapes (full batch with η = 0.055 lanes that diverge
/// at step 5–6 beside lanes that do not; tanh with B = 2 and B = 3 of
/// n = 5, with second layers of ones and ±1 in one lane group), and SAM,
/// flow and margin points, which never batch.
const MIXED_GRID: &str = r#"
seed = 11
log_points = 12
[[grid]]
steps = [2000, 6000]
eta = [0.01, 0.03, 0.055]
sigma = [0.0, 0.1]
seeds = 3
[[grid]]
activation = "tanh"
n = 5
batch_size = [2, 3]
outer = ["ones", "alternating"]
eta = 0.05
sigma = 0.1
steps = 3000
seeds = 5
[[grid]]
algorithm = "sam"
batch_size = 1
rho = 0.05
eta = 0.02
steps = 2000
seeds = 2
[[grid]]
algorithm = "flow"
data = "orthonormal"
flow_h = 1e-3
steps = 500
seeds = 2
[[grid]]
algorithm = "margin"
activation = "leaky-relu"
alpha = 0.1
labels = "from-data"
data = "separable"
n = 6
eta = 0.003
steps = 2000
seeds = 2
"#;

fn options(threads: usize, batched: bool) -> SweepOptions {
    SweepOptions {
        threads: Some(threads),
        quiet: true,
        lanes: batched,
        ..Default::default()
    }
}

fn sweep_plan(plan: &Plan, out: &Path, opts: &SweepOptions) -> SweepReport {
    let report = sweep_alone(plan, out, opts, &AtomicBool::new(false));
    assert!(report.complete(), "{report:?}");
    report
}

/// The queues `run_plan` forms for `plan` on `threads` threads (the runs
/// of each batched key), and the places of each lane group.
fn groups(plan: &Plan, threads: usize) -> (Vec<Vec<RunConfig>>, Vec<usize>) {
    let todo: Vec<_> = plan.ids.iter().copied().zip(&plan.configs).collect();
    let work = work(&todo, threads, true);
    let queues = (work.queues.iter())
        .map(|q| q.runs().iter().map(|(_, c)| (*c).clone()).collect())
        .collect();
    let places = (work.items.iter())
        .filter_map(|item| match item {
            Item::Group { share, .. } => Some(share.len()),
            Item::Single(..) => None,
        })
        .collect();
    (queues, places)
}

#[test]
fn a_batched_sweep_of_a_mixed_grid_writes_the_rows_of_the_unbatched_one_bit_for_bit() {
    let t = tempdir().unwrap();
    let grid = Grid::from_toml(MIXED_GRID, &[]).unwrap();
    let mut configs: Vec<RunConfig> = grid.configs();
    // A run of a batched shape whose data file is missing fails alone.
    let tanh = configs.iter().find(|c| c.batch_size == Some(2)).unwrap();
    let missing = RunConfig {
        data: "/nonexistent/x.csv".parse().unwrap(),
        ..tanh.clone()
    };
    configs.push(missing.clone());
    let plan = Plan::new("lanes-mixed".into(), "null".into(), configs);

    let (queues, _) = groups(&plan, 2);
    let keys: HashSet<LaneKey> = queues.iter().map(|g| LaneKey::of(&g[0])).collect();
    assert_eq!(keys.len(), 3, "three shapes are batched");
    assert!(
        queues.iter().any(|g| g.contains(&missing)),
        "the failing run is in a group's queue"
    );
    assert!(
        queues
            .iter()
            .any(|g| g.iter().any(|c| c.eta == 0.055) && g.iter().any(|c| c.eta < 0.05)),
        "diverging and stable runs share a queue"
    );

    let (single, batched) = (t.path().join("single"), t.path().join("batched"));
    let one = sweep_plan(&plan, &single, &options(1, false));
    // Periodic checkpoints of the groups on the way change nothing either.
    let opts = SweepOptions {
        checkpoint_every: Some(Duration::from_millis(1)),
        ..options(2, true)
    };
    let two = sweep_plan(&plan, &batched, &opts);
    assert_same_dataset(&batched, &single);
    assert_eq!(
        (one.finished, one.diverged, one.failed),
        (two.finished, two.diverged, two.failed)
    );
    assert!(two.diverged >= 4 && two.failed == 1, "{two:?}");
    let runs = table(&batched, "runs");
    let failed: Vec<_> = runs
        .iter()
        .filter(|r| r.contains("status=failed"))
        .collect();
    assert_eq!(failed.len(), 1);
    assert!(failed[0].contains("x.csv"), "{}", failed[0]);
}

/// 24 runs of one shape and different lengths, long enough to be stopped;
/// seed 21 diverges at step 4.
fn long_runs() -> Vec<RunConfig> {
    (0..24)
        .map(|i| RunConfig {
            steps: 5_000_000 + 100_000 * i,
            seed: i,
            eta: 0.005 + 0.0005 * i as f64,
            sigma: 0.05,
            batch_size: Some(2),
            log_points: 20,
            ..Default::default()
        })
        .collect()
}

#[test]
fn stopped_groups_checkpoint_every_run_and_regrouped_resumes_are_bit_identical() {
    let t = tempdir().unwrap();
    let plan = Plan::new("lanes-stop".into(), "null".into(), long_runs());
    assert_eq!(groups(&plan, 2).1, vec![8; 3], "groups of 8 on 2 threads");
    assert_eq!(groups(&plan, 3).1, vec![8; 3], "groups of 8 on 3 threads");
    let (whole, stopped) = (t.path().join("whole"), t.path().join("stopped"));
    sweep_plan(&plan, &whole, &options(2, false));

    let stop = AtomicBool::new(false);
    let report = std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(300));
            stop.store(true, Ordering::Relaxed);
        });
        sweep_alone(&plan, &stopped, &options(2, true), &stop)
    });
    assert!(report.interrupted, "{report:?}");
    // Both groups were in flight, and seed 21, which diverges at step 4,
    // left its lane to the next run of the queue.
    assert_eq!(report.diverged, 1, "{report:?}");
    assert_eq!(report.checkpointed + report.ran, 17, "{report:?}");
    let ckpts = checkpoints(&stopped).len();
    assert_eq!(ckpts, report.checkpointed);

    // On 3 threads the groups are made anew: runs checkpointed in
    // different groups, at different steps, and fresh runs step together.
    let report = sweep_plan(&plan, &stopped, &options(3, true));
    assert_eq!(report.resumed, 16, "{report:?}");
    assert_same_dataset(&stopped, &whole);
    assert_eq!(checkpoints(&stopped).len(), 0);
}

/// Four shapes (m × B), two lengths, some runs diverging: about a second
/// of batched work on two threads, for kills 30–400 ms into each attempt
/// to land in however fast the engine gets.
const KILL_GRID: &str = r#"
seed = 5
log_points = 15
[[grid]]
steps = [1000000, 3000000]
m = [10, 12]
batch_size = [2, 3]
eta = [0.01, 0.03, 0.055]
sigma = [0.0, 0.05]
seeds = 3
"#;

#[test]
fn a_batched_sweep_killed_at_random_moments_resumes_to_the_unbatched_dataset() {
    let t = tempdir().unwrap();
    let grid_path = write_grid(t.path(), KILL_GRID);
    let plan = Plan::from_grid(&Grid::from_toml(KILL_GRID, &[]).unwrap());
    assert!(groups(&plan, 2).1.len() >= 8);
    let (whole, killed) = (t.path().join("whole"), t.path().join("killed"));
    sweep_plan(&plan, &whole, &options(2, false));
    let kills = sweep_killed_at_random_moments(&grid_path, &killed, 6);
    assert!(kills >= 2, "the sweep was killed mid-flight {kills} times");
    sweep(&grid_path, &killed, &["--threads", "2"]);
    assert_same_dataset(&killed, &whole);
}

/// [G24]'s Figure-1 cell at η = 0.05 with many seeds: about two thirds of
/// the runs diverge within a few dozen steps, the rest train to the end.
const DIVERGING_GRID: &str = r#"
seed = 3
log_points = 30
[[grid]]
eta = 0.05
sigma = 0.1732
steps = 60000
seeds = 48
"#;

#[test]
fn lanes_freed_by_diverging_runs_take_the_next_runs_and_the_dataset_is_unchanged() {
    let t = tempdir().unwrap();
    let plan = Plan::from_grid(&Grid::from_toml(DIVERGING_GRID, &[]).unwrap());
    let (single, batched) = (t.path().join("single"), t.path().join("batched"));
    let alone = sweep_plan(&plan, &single, &options(1, false));
    assert!(
        alone.diverged >= 16 && alone.finished >= 8,
        "both kinds of run: {alone:?}"
    );
    assert!(
        (alone.lane_occupancy() - 1.0).abs() < 1e-12,
        "runs alone fill their one lane"
    );
    // Without refills, each group of 8 would spend 8 lanes on its few
    // survivors to the end: well under half the lane-steps useful.
    let report = sweep_plan(&plan, &batched, &options(1, true));
    assert_same_dataset(&batched, &single);
    assert_eq!(report.run_steps, alone.run_steps);
    assert!(
        report.lane_occupancy() >= 0.85,
        "lane occupancy {:.3}: {report:?}",
        report.lane_occupancy()
    );
    let provenance = std::fs::read_to_string(batched.join("provenance.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&provenance).unwrap();
    let session = &doc["sessions"][0];
    assert_eq!(session["run_steps"], report.run_steps);
    assert_eq!(session["lane_steps"], report.lane_steps);
    assert_eq!(session["lane_occupancy"], report.lane_occupancy());
}

/// Plain GD runs stopped by `stop_when` within a few thousand steps (or
/// diverging, at η = 0.055) and label-noise runs of 3·10^6 steps, of one
/// shape. The stopping runs have the larger budget, so they are queued
/// first: the long runs enter lanes freed by stopped and diverged runs, at
/// different steps.
const STOPPING_GRID: &str = r#"
seed = 9
log_points = 20
[[grid]]
sigma = 0.0
eta = [0.03, 0.04, 0.055]
steps = 4000000
stop_when = "loss < 1e-6"
stop_check_every = 50
seeds = 8
[[grid]]
eta = 0.01
sigma = 0.05
steps = 3000000
seeds = 12
"#;

#[test]
fn lanes_freed_by_stop_when_are_refilled_and_checkpointed_groups_resume_regrouped_unchanged() {
    let t = tempdir().unwrap();
    let plan = Plan::from_grid(&Grid::from_toml(STOPPING_GRID, &[]).unwrap());
    // On one thread one group of 8 places takes every run of the queue.
    let (queues, places) = groups(&plan, 1);
    assert_eq!(queues.len(), 1);
    assert_eq!(places[0], 8);
    assert!(queues[0][..24].iter().all(|c| c.stop_when.is_some()));
    let (whole, stopped) = (t.path().join("whole"), t.path().join("stopped"));
    sweep_plan(&plan, &whole, &options(2, false));
    let runs = rows(&whole, "runs");
    let ended = |why: &str| {
        runs.iter()
            .filter(|r| cell(r, "stop_reason") == why)
            .count()
    };
    assert!(ended("stop_when") >= 12, "{runs:?}");
    assert!(ended("diverged") >= 4, "{runs:?}");
    assert_eq!(ended("steps"), 12, "only the long runs spend their budget");

    // Stopped once some of the short runs are written: the long runs,
    // which entered freed lanes, are mid-run (sized by steps, not time).
    let stop = AtomicBool::new(false);
    let opts = SweepOptions {
        flush_runs: 1,
        ..options(1, true)
    };
    let first = std::thread::scope(|s| {
        s.spawn(|| {
            while parts(&stopped, "runs").len() < 3 {
                std::thread::sleep(Duration::from_millis(1));
            }
            stop.store(true, Ordering::Relaxed);
        });
        sweep_alone(&plan, &stopped, &opts, &stop)
    });
    assert!(first.interrupted, "{first:?}");
    assert!(first.checkpointed >= 8, "a full group in flight: {first:?}");
    // On two threads the rest (more than 10 runs) form two groups of
    // other sizes: the checkpointed runs resume in other lanes, beside
    // fresh runs, and the groups compact as their runs end.
    let report = sweep_plan(&plan, &stopped, &options(2, true));
    assert_eq!(report.resumed, first.checkpointed, "{report:?}");
    assert_same_dataset(&stopped, &whole);
}
