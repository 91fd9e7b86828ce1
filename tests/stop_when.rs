//! Stop criteria end to end: `stop_when` and `--stop-when` are refused at
//! validation when wrong, a stopped run stops at the same step however the
//! sweep ran it, the flow stops by itself once stationary, and the runs
//! table says why each run ended (`stop_reason`).

use crate::support::{
    ParquetTable, TempDir, assert_same_dataset, cell, rows, run_bin, try_sweep, write_grid,
};
use sharpsweep_core::RunConfig;
use sharpsweep_sweep::{Alone, Grid, Plan, SweepOptions, Unwatched, run_plan};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Plain GD stopped at `loss < 1e-4` (checked every 70 steps) at several
/// η, some diverging (η = 0.055) and some too slow to get there; flow runs
/// with their default budget, which end as stationary.
const GRID: &str = r#"
seed = 3
log_points = 12
[[grid]]
sigma = 0.0
eta = [0.02, 0.03, 0.055]
steps = 4000
stop_when = "loss < 1e-4"
stop_check_every = 70
seeds = 4
[[grid]]
sigma = 0.0
eta = 0.001
steps = 500
stop_when = "loss<0.0001"
stop_check_every = 70
seeds = 2
[[grid]]
algorithm = "flow"
data = "orthonormal"
seeds = 2
"#;

fn sweep_with(plan: &Plan, out: &Path, opts: SweepOptions) {
    let report = run_plan(
        plan,
        out,
        &opts,
        &AtomicBool::new(false),
        &mut Alone,
        &mut Unwatched,
    )
    .unwrap();
    assert!(report.complete(), "{report:?}");
}

#[test]
fn runs_stop_at_the_same_step_on_any_thread_count_batched_or_not() {
    let t = TempDir::new("stop-sweep");
    let grid = Grid::from_toml(GRID, &[]).unwrap();
    let configs: Vec<RunConfig> = grid.configs();
    let plan = Plan::new("stop".into(), "null".into(), configs);
    let (single, lanes) = (t.join("single"), t.join("lanes"));
    let opts = |threads, batched| SweepOptions {
        threads: Some(threads),
        quiet: true,
        lanes: batched,
        ..Default::default()
    };
    sweep_with(&plan, &single, opts(1, false));
    // Lanes, two threads, and checkpoints of the groups on the way.
    sweep_with(
        &plan,
        &lanes,
        SweepOptions {
            checkpoint_every: Some(Duration::from_millis(1)),
            ..opts(2, true)
        },
    );
    assert_same_dataset(&lanes, &single);

    let runs = rows(&single, "runs");
    let reasons: BTreeSet<&str> = runs.iter().map(|r| cell(r, "stop_reason")).collect();
    assert_eq!(
        reasons,
        BTreeSet::from(["diverged", "stationary", "steps", "stop_when"])
    );
    let trajectories = rows(&single, "trajectories");
    for r in runs
        .iter()
        .filter(|r| cell(r, "stop_reason") == "stop_when")
    {
        let done: u64 = cell(r, "steps_done").parse().unwrap();
        assert!(done.is_multiple_of(70) && done < 4000, "stopped at {done}");
        assert_eq!(cell(r, "status"), "finished");
        let last = trajectories
            .iter()
            .filter(|t| cell(t, "run_id") == cell(r, "run_id"))
            .map(|t| cell(t, "step").parse::<u64>().unwrap())
            .max();
        assert_eq!(last, Some(done), "a last record at the stop step");
    }
    for r in runs.iter().filter(|r| cell(r, "algorithm") == "flow") {
        assert_eq!(cell(r, "stop_reason"), "stationary");
        assert!(cell(r, "steps_done").parse::<u64>().unwrap() < 100_000);
    }
}

/// Runs `sharpsweep ARGS…` expecting bad input: exit 2, one line on stderr
/// that contains each of `want`.
fn refused(args: &[&str], want: &[&str]) {
    let o = run_bin(args);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", o.stderr);
    assert_eq!(o.stderr.trim().lines().count(), 1, "{args:?}: {}", o.stderr);
    for w in want {
        assert!(o.stderr.contains(w), "{args:?}: {}", o.stderr);
    }
}

#[test]
fn bad_conditions_are_refused_in_one_line_naming_the_flag_and_nothing_is_written() {
    let t = TempDir::new("stop-run-bad");
    let out = t.join("out");
    let out = out.to_str().unwrap();
    for (condition, why) in [
        ("los < 1", "unknown metric 'los'"),
        ("loss <", "expected a number after 'loss <'"),
        ("loss < 1 and (sv_ratio2_z < 1", "missing ')'"),
        (
            "margin_ratio > 0.9",
            "not recorded by algorithm label-noise",
        ),
    ] {
        refused(
            &["run", "--out", out, "--stop-when", condition],
            &["--stop-when", why],
        );
        assert!(!Path::new(out).exists(), "{condition}: {out} written");
    }
    refused(
        &[
            "run",
            "--out",
            out,
            "--stop-when",
            "loss < 1",
            "--stop-check-every",
            "0",
        ],
        &["--stop-check-every"],
    );
}

#[test]
fn bad_conditions_in_a_grid_are_refused_in_one_line_naming_the_key() {
    let t = TempDir::new("stop-grid-bad");
    let out = t.join("out");
    for (value, why) in [
        ("\"loss << 1\"", "expected a number after 'loss <'"),
        ("\"sharpnes_r < 1\"", "unknown metric 'sharpnes_r'"),
        (
            "\"riem_grad_norm < 1e-9 or margin_angle < 0.1\"",
            "margin_angle",
        ),
    ] {
        let grid = write_grid(
            t.path(),
            &format!("[[grid]]\nsteps = 100\nstop_when = {value}\n"),
        );
        let o = try_sweep(&grid, &out, &[]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{value}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{value}: {stderr}");
        assert!(stderr.contains("grid[0].stop_when"), "{value}: {stderr}");
        assert!(stderr.contains(why), "{value}: {stderr}");
        assert!(!out.exists(), "{value}: the dataset was written");
    }
}

#[test]
fn a_stopped_run_and_a_stationary_flow_say_why_in_runs_parquet() {
    let t = TempDir::new("stop-run");
    let (stopped, flow) = (t.join("stopped"), t.join("flow"));
    let o = run_bin(&[
        "run",
        "--out",
        stopped.to_str().unwrap(),
        "--sigma",
        "0",
        "--eta",
        "0.03",
        "--steps",
        "100000",
        "--stop-when",
        "loss < 1e-6",
        "--stop-check-every",
        "100",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", o.stderr);
    let runs = ParquetTable::read(&stopped.join("runs.parquet"));
    assert_eq!(runs.column_str("stop_reason"), ["stop_when"]);
    assert_eq!(runs.column_str("status"), ["finished"]);
    let done = runs.column_i64("steps_done")[0];
    assert!(done % 100 == 0 && done < 100_000, "stopped at {done}");
    let steps = ParquetTable::read(&stopped.join("trajectory.parquet")).column_i64("step");
    assert_eq!(steps.last(), Some(&done));
    assert!(runs.column_f64("loss")[0] < 1e-6);

    // The flow with no --steps: its default budget, ended when stationary.
    let o = run_bin(&[
        "run",
        "--algorithm",
        "flow",
        "--out",
        flow.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", o.stderr);
    let runs = ParquetTable::read(&flow.join("runs.parquet"));
    assert_eq!(runs.column_str("stop_reason"), ["stationary"]);
    assert_eq!(runs.column_i64("steps"), [1_000_000]);
    assert!(runs.column_i64("steps_done")[0] < 100_000);
}

#[test]
fn run_help_shows_every_default_and_the_algorithms_own() {
    let o = run_bin(&["run", "--help"]);
    assert!(o.status.success());
    // clap wraps long help lines; compare with the wrapping undone.
    let help = o.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    for want in [
        "Step budget [default: 100000000; flow: 1000000]",
        "Learning rate η [default: 0.05]",
        "[default: cubic-linear]",
        "[default: label-noise]",
        "Steps between checks of --stop-when (at every multiple of it) [default: 50000]",
    ] {
        assert!(help.contains(want), "no {want:?} in {help}");
    }
}
