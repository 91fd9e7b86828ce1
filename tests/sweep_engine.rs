//! The sweep engine end to end, through the real binary: a dataset does not
//! depend on threads, shards, kills or restarts; damage is detected and
//! repaired by redoing runs; a wrong grid or a second sweep is refused.

use crate::support::*;
use sharpsweep_core::RunConfig;
use sharpsweep_sweep::{Plan, SweepOptions};
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tempfile::tempdir;

#[test]
fn one_thread_and_two_threads_write_the_same_dataset() {
    let t = tempdir().unwrap();
    let grid = write_grid(t.path(), SMALL_GRID);
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    sweep(&grid, &a, &["--threads", "1"]);
    sweep(&grid, &b, &["--threads", "2", "--flush-runs", "5"]);
    assert_eq!(parts(&a, "runs").len(), 1);
    assert!(parts(&b, "runs").len() >= 9, "flushes every 5 runs");
    assert_same_dataset(&b, &a);
    assert_eq!(run_ids(&a).len(), 48);
}

#[test]
fn shards_run_concurrently_on_one_directory_and_add_up_to_the_grid() {
    let t = tempdir().unwrap();
    let grid = write_grid(t.path(), SMALL_GRID);
    let (whole, sharded) = (t.path().join("whole"), t.path().join("sharded"));
    sweep(&grid, &whole, &["--threads", "1"]);
    let children: Vec<_> = (0..3)
        .map(|k| {
            bin()
                .args(["sweep", "--threads", "1", "--quiet", "--shard"])
                .arg(format!("{k}/3"))
                .arg(&grid)
                .arg("--out")
                .arg(&sharded)
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_same_dataset(&sharded, &whole);
}

/// A grid whose runs take tens of milliseconds each and about 10^8 steps in
/// all (one to a few seconds on two threads), so that kills 30–400 ms
/// into each attempt land mid-flight however fast the engine gets.
const KILL_GRID: &str = r#"
seed = 3
[[grid]]
steps = [500000, 1500000]
eta = [0.01, 0.02, 0.03]
sigma = [0.0, 0.05]
seeds = 6
log_points = 15
"#;

#[test]
fn sigkill_at_random_moments_then_resume_equals_an_uninterrupted_sweep() {
    let t = tempdir().unwrap();
    let grid = write_grid(t.path(), KILL_GRID);
    let (whole, killed) = (t.path().join("whole"), t.path().join("killed"));
    sweep(&grid, &whole, &["--threads", "2"]);
    let kills = sweep_killed_at_random_moments(&grid, &killed, 6);
    assert!(kills >= 2, "the sweep was killed mid-flight {kills} times");
    sweep(&grid, &killed, &["--threads", "2"]);
    assert_same_dataset(&killed, &whole);
    assert!(
        checkpoints(&killed).is_empty(),
        "checkpoints of finished runs are removed"
    );
}

fn configs(steps: u64, count: u64) -> Vec<RunConfig> {
    (0..count)
        .map(|seed| RunConfig {
            steps,
            seed,
            eta: 0.02,
            log_points: 20,
            ..Default::default()
        })
        .collect()
}

fn quiet() -> SweepOptions {
    SweepOptions {
        threads: Some(2),
        quiet: true,
        ..Default::default()
    }
}

#[test]
fn stop_flag_checkpoints_in_flight_runs_and_a_restart_is_bit_identical() {
    let t = tempdir().unwrap();
    let plan = Plan::new("stop-test".into(), "null".into(), configs(10_000_000, 4));
    let (whole, stopped) = (t.path().join("whole"), t.path().join("stopped"));
    let never = AtomicBool::new(false);
    let report = sweep_alone(&plan, &whole, &quiet(), &never);
    assert!(!report.interrupted && report.ran == 4);

    let stop = AtomicBool::new(false);
    let report = std::thread::scope(|s| {
        // Stop shortly after the sweep has opened the dataset (its writer
        // lock exists), whatever the machine's load: the runs, 0.5 s or more
        // each (10 M steps at ≈ 20 M steps/s), are then in flight.
        s.spawn(|| {
            let writers = stopped.join(".writers");
            let opened = || std::fs::read_dir(&writers).is_ok_and(|mut d| d.next().is_some());
            let give_up = std::time::Instant::now() + Duration::from_secs(60);
            while !opened() && std::time::Instant::now() < give_up {
                std::thread::sleep(Duration::from_millis(5));
            }
            std::thread::sleep(Duration::from_millis(100));
            stop.store(true, Ordering::Relaxed);
        });
        sweep_alone(&plan, &stopped, &quiet(), &stop)
    });
    assert!(report.interrupted, "{report:?}");
    assert!(report.checkpointed >= 1, "{report:?}");
    let ckpts = checkpoints(&stopped).len();
    assert_eq!(ckpts, report.checkpointed);

    let report = sweep_alone(&plan, &stopped, &quiet(), &never);
    assert!(!report.interrupted && report.complete(), "{report:?}");
    assert!(report.resumed >= 1, "{report:?}");
    assert_same_dataset(&stopped, &whole);
    assert_eq!(checkpoints(&stopped).len(), 0);
}

#[test]
fn a_run_whose_data_file_vanished_is_recorded_as_failed_and_the_sweep_goes_on() {
    let t = tempdir().unwrap();
    let mut cs = configs(200, 3);
    cs[1].data = "/nonexistent/x.csv".parse().unwrap();
    let plan = Plan::new("failed-test".into(), "null".into(), cs);
    let out = t.path().join("ds");
    let report = sweep_alone(&plan, &out, &quiet(), &AtomicBool::new(false));
    assert_eq!(
        (report.ran, report.failed, report.finished),
        (3, 1, 2),
        "{report:?}"
    );
    let runs = table(&out, "runs");
    let failed: Vec<_> = runs
        .iter()
        .filter(|r| r.contains("status=failed"))
        .collect();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0].contains("x.csv"),
        "the error names the file: {}",
        failed[0]
    );
    // A rerun does not retry it, and status counts it.
    let again = sweep_alone(&plan, &out, &quiet(), &AtomicBool::new(false));
    assert_eq!(again.ran, 0);
    let o = bin().arg("status").arg(&out).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.lines().any(|l| l.trim() == "failed          1"),
        "{text}"
    );
}

fn truncate(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    std::fs::write(path, &bytes[..bytes.len() / 2]).unwrap();
}

#[test]
fn truncated_parts_are_moved_aside_and_their_runs_redone() {
    let t = tempdir().unwrap();
    let grid = write_grid(t.path(), SMALL_GRID);
    let (whole, damaged) = (t.path().join("whole"), t.path().join("damaged"));
    sweep(&grid, &whole, &["--threads", "1"]);
    sweep(&grid, &damaged, &["--threads", "1", "--flush-runs", "10"]);
    let runs = parts(&damaged, "runs");
    assert!(runs.len() >= 4);
    truncate(&runs[0]);
    truncate(&parts(&damaged, "trajectories")[2]);

    let o = bin().arg("status").arg(&damaged).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(text.matches("\n  damaged: ").count(), 2, "{text}");
    assert!(text.contains("pending          20"), "{text}");
    assert_eq!(o.status.code(), Some(1), "status exits non-zero on damage");

    let o = sweep(&grid, &damaged, &["--threads", "1"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("is damaged"));
    assert_same_dataset(&damaged, &whole);
    let aside = std::fs::read_dir(damaged.join("corrupt")).unwrap().count();
    assert_eq!(
        aside, 4,
        "both parts of each damaged pair are kept in corrupt/"
    );
}

#[test]
fn status_into_a_pipe_its_reader_closed_exits_cleanly() {
    let t = tempdir().unwrap();
    let grid = write_grid(t.path(), SMALL_GRID);
    let ds = t.path().join("ds");
    sweep(&grid, &ds, &["--threads", "1"]);
    // As `sharpsweep status DIR | head -0`: the reader is gone before the
    // dataset has been read, so every write meets a broken pipe.
    let mut child = bin()
        .arg("status")
        .arg(&ds)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && err.is_empty(),
        "{:?}: {err}",
        o.status
    );
}

#[test]
fn compaction_merges_parts_and_keeps_the_content() {
    let t = tempdir().unwrap();
    let grid = write_grid(t.path(), SMALL_GRID);
    let (whole, many) = (t.path().join("whole"), t.path().join("many"));
    sweep(&grid, &whole, &["--threads", "1"]);
    sweep(&grid, &many, &["--threads", "2", "--flush-runs", "3"]);
    assert!(parts(&many, "runs").len() >= 16);
    // Runs of many rows are written before flush-runs of them gather: with
    // a limit of one row, every run is a part of its own.
    let by_rows = t.path().join("by-rows");
    sweep(&grid, &by_rows, &["--threads", "2", "--flush-rows", "1"]);
    assert_eq!(parts(&by_rows, "runs").len(), 48);
    assert_same_dataset(&by_rows, &whole);
    let o = bin().arg("compact").arg(&many).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(parts(&many, "runs").len(), 1);
    assert_eq!(parts(&many, "trajectories").len(), 1);
    assert_same_dataset(&many, &whole);
    // The dataset stays resumable: nothing left to run.
    let o = sweep(&grid, &many, &[]);
    assert!(String::from_utf8_lossy(&o.stdout).is_empty());
    assert_same_dataset(&many, &whole);
}

/// Compacts `ds`, then puts the old parts back: as if compaction died after
/// committing the merged part but before deleting what it replaced.
fn compact_then_put_the_old_parts_back(ds: &Path) {
    let old: Vec<_> = parts(ds, "runs")
        .into_iter()
        .chain(parts(ds, "trajectories"))
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    let o = bin().arg("compact").arg(ds).output().unwrap();
    assert!(o.status.success());
    for (p, bytes) in &old {
        std::fs::write(p, bytes).unwrap();
    }
}

#[test]
fn a_crash_mid_compaction_never_counts_old_and_new_parts_twice() {
    let t = tempdir().unwrap();
    let grid = write_grid(t.path(), SMALL_GRID);
    let (whole, ds) = (t.path().join("whole"), t.path().join("ds"));
    sweep(&grid, &whole, &["--threads", "1"]);
    sweep(&grid, &ds, &["--threads", "1", "--flush-runs", "10"]);
    compact_then_put_the_old_parts_back(&ds);
    let o = bin().arg("status").arg(&ds).output().unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("done             48"));
    sweep(&grid, &ds, &[]);
    assert_same_dataset(&ds, &whole);
}

#[test]
fn a_different_grid_is_refused_and_force_new_keeps_the_old_dataset() {
    let t = tempdir().unwrap();
    let grid = write_grid(t.path(), SMALL_GRID);
    let ds = t.path().join("ds");
    sweep(&grid, &ds, &["--threads", "1"]);
    let before = table(&ds, "runs");
    let o = bin()
        .arg("sweep")
        .arg(&grid)
        .args(["--set", "sigma=0.1", "--out"])
        .arg(&ds)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("another grid") && err.contains("--force-new"),
        "{err}"
    );
    assert_eq!(table(&ds, "runs"), before, "nothing was touched");

    sweep(&grid, &ds, &["--set", "sigma=0.1", "--force-new"]);
    assert_eq!(run_ids(&ds).len(), 24);
    let aside: Vec<_> = std::fs::read_dir(&ds)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("superseded-"))
        .collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(
        table(&aside[0].path(), "runs"),
        before,
        "the old runs were moved, not lost"
    );
}

#[test]
fn a_second_sweep_on_a_busy_directory_is_refused() {
    let t = tempdir().unwrap();
    let grid = write_grid(t.path(), KILL_GRID);
    let ds = t.path().join("ds");
    let mut first = bin()
        .args(["sweep", "--threads", "1", "--quiet"])
        .arg(&grid)
        .arg("--out")
        .arg(&ds)
        .spawn()
        .unwrap();
    // Wait until it holds the lock (grid.json is written under it).
    while !ds.join("grid.json").exists() {
        std::thread::sleep(Duration::from_millis(10));
    }
    for extra in [&[][..], &["--shard", "0/2"][..]] {
        let o = bin()
            .arg("sweep")
            .arg(&grid)
            .arg("--out")
            .arg(&ds)
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{extra:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("lock"),
            "{extra:?}"
        );
    }
    first.kill().unwrap();
    first.wait().unwrap();
}

#[test]
fn retry_failed_reruns_failed_points_and_replaces_their_rows() {
    let t = tempdir().unwrap();
    let data = t.path().join("x.csv");
    let mut cs = configs(200, 4);
    cs[1].data = data.to_str().unwrap().parse().unwrap();
    let plan = Plan::new("retry-test".into(), "null".into(), cs);
    let (out, fresh) = (t.path().join("ds"), t.path().join("fresh"));
    let never = AtomicBool::new(false);
    // The data file is missing: the run fails, the others finish, all in
    // one part (so retrying must rewrite a part that holds good runs too).
    let report = sweep_alone(&plan, &out, &quiet(), &never);
    assert_eq!((report.failed, report.finished), (1, 3), "{report:?}");
    assert_eq!(parts(&out, "runs").len(), 1);

    std::fs::write(&data, "0.1,0.2,0.3\n-0.4,0.5,0.6\n0.7,-0.8,0.9\n").unwrap();
    let plain = sweep_alone(&plan, &out, &quiet(), &never);
    assert_eq!(
        plain.ran, 0,
        "without --retry-failed a failed run stays done"
    );
    let retry = SweepOptions {
        retry_failed: true,
        ..quiet()
    };
    let report = sweep_alone(&plan, &out, &retry, &never);
    assert_eq!(
        (report.already_done, report.ran, report.failed),
        (3, 1, 0),
        "{report:?}"
    );
    // Same content as a sweep that never failed, no run_id twice.
    sweep_alone(&plan, &fresh, &quiet(), &never);
    assert_same_dataset(&out, &fresh);
    assert!(
        !table(&out, "runs")
            .iter()
            .any(|r| r.contains("status=failed"))
    );
    // Nothing failed is left: retrying again runs nothing.
    let again = sweep_alone(&plan, &out, &retry, &never);
    assert_eq!(again.ran, 0, "{again:?}");
}

#[test]
fn retry_failed_with_a_shard_is_refused() {
    let t = tempdir().unwrap();
    let grid = write_grid(t.path(), SMALL_GRID);
    let o = try_sweep(
        &grid,
        &t.path().join("ds"),
        &["--shard", "0/2", "--retry-failed"],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--retry-failed") && err.contains("0/2"),
        "{err}"
    );
}

#[test]
fn a_shard_is_refused_while_shards_of_another_count_run_and_welcome_after() {
    let t = tempdir().unwrap();
    let grid = write_grid(t.path(), SMALL_GRID);
    let ds = t.path().join("ds");
    sweep(&grid, &ds, &["--shard", "0/2", "--threads", "1"]);
    let before = table(&ds, "runs");
    // Shard 1/2 running: it holds its lock, as a live shard process does.
    let running = std::fs::File::create(ds.join(".lock-shard-1-of-2")).unwrap();
    running.lock().unwrap();
    let o = try_sweep(&grid, &ds, &["--shard", "1/3"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("--shard 1/3") && err.contains("shards of 2") && err.contains("--shard K/2"),
        "{err}"
    );
    assert_eq!(table(&ds, "runs"), before, "nothing was touched");
    drop(running);
    // Once no shard of count 2 runs, a dataset half done in 2 shards is
    // finished in 3, with every point exactly once.
    for k in 0..3 {
        sweep(
            &grid,
            &ds,
            &["--shard", &format!("{k}/3"), "--threads", "1"],
        );
    }
    let mut ids = run_ids(&ds);
    assert_eq!(ids.len(), 48);
    ids.dedup();
    assert_eq!(ids.len(), 48, "no run written twice");
}

/// Where a Parquet file's pages end and its footer begins.
fn footer_start(bytes: &[u8]) -> usize {
    let n = bytes.len();
    let len = u32::from_le_bytes(bytes[n - 8..n - 4].try_into().unwrap()) as usize;
    n - 8 - len
}

/// A small deterministic generator (xorshift64*), so a failure names the
/// offset it happened at and reruns the same.
struct Offsets(u64);

impl Offsets {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as usize % n
    }
}

#[test]
fn a_damaged_byte_in_any_page_is_found_by_status_verify_analyze_and_redone_by_a_resume() {
    let t = tempdir().unwrap();
    let grid = write_grid(t.path(), SMALL_GRID);
    let (whole, ds) = (t.path().join("whole"), t.path().join("ds"));
    sweep(&grid, &whole, &["--threads", "1"]);
    sweep(&grid, &ds, &["--threads", "1", "--flush-runs", "10"]);
    let mut rng = Offsets(0x5eed_1234_abcd_0001);
    for trial in 0..6 {
        let table = ["runs", "trajectories"][trial % 2];
        let files = parts(&ds, table);
        let file = &files[rng.below(files.len())];
        let mut bytes = std::fs::read(file).unwrap();
        // Inside the pages: after the leading magic, before the footer.
        let at = 4 + rng.below(footer_start(&bytes) - 4);
        bytes[at] ^= 1 << rng.below(8);
        std::fs::write(file, &bytes).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let what = format!("trial {trial}: {table}/{name} byte {at}");

        let o = bin().arg("status").arg(&ds).output().unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(1), "{what}: {text}");
        assert!(
            text.contains(&format!("damaged: {table}/{name}")),
            "{what}: {text}"
        );

        let o = bin().arg("verify").arg(&ds).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{what}");
        assert!(String::from_utf8_lossy(&o.stdout).contains(&name), "{what}");

        let o = bin()
            .args(["analyze", "--report"])
            .arg(t.path().join("report"))
            .arg(&ds)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{what}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{what}: one line: {err}");
        assert!(
            err.contains(&name) && err.contains("sharpsweep sweep"),
            "{what}: {err}"
        );

        sweep(&grid, &ds, &["--threads", "1", "--flush-runs", "10"]);
        assert_same_dataset(&ds, &whole);
        let o = bin().arg("verify").arg(&ds).output().unwrap();
        assert!(
            o.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let aside = std::fs::read_dir(ds.join("corrupt")).unwrap().count();
    assert_eq!(aside, 12, "each damaged pair is kept in corrupt/");
}

/// The number of runs `analyze` read: theory.parquet has one row per run.
fn runs_analyzed(t: &Path, ds: &Path) -> usize {
    let report = t.join("report");
    let o = bin()
        .args(["analyze", "--report"])
        .arg(&report)
        .arg(ds)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    read_batches(&report.join("theory.parquet"))
        .iter()
        .map(|b| b.num_rows())
        .sum()
}

#[test]
fn analyze_reads_a_crashed_compaction_and_orphans_as_the_engine_does() {
    let t = tempdir().unwrap();
    let grid = write_grid(t.path(), SMALL_GRID);
    let ds = t.path().join("ds");
    sweep(&grid, &ds, &["--threads", "1", "--flush-runs", "10"]);
    compact_then_put_the_old_parts_back(&ds);
    // And a trajectories part whose runs part was never written (a dead
    // writer).
    let traj = parts(&ds, "trajectories");
    std::fs::copy(
        &traj[0],
        ds.join("trajectories/part-all-0badc0de-00001.parquet"),
    )
    .unwrap();
    assert_eq!(runs_analyzed(t.path(), &ds), 48);
}

#[test]
fn a_damaged_grid_file_is_rewritten_by_the_grid_that_made_the_dataset() {
    let t = tempdir().unwrap();
    let grid = write_grid(t.path(), SMALL_GRID);
    let (whole, ds) = (t.path().join("whole"), t.path().join("ds"));
    sweep(&grid, &whole, &["--threads", "1"]);
    sweep(&grid, &ds, &["--threads", "1"]);
    std::fs::write(ds.join("grid.json"), "{\"fingerprint\": \"tru").unwrap();
    let o = bin().arg("status").arg(&ds).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("grid.json") && err.contains("sharpsweep sweep GRID"),
        "{err}"
    );

    // Another grid does not adopt the parts.
    let other = t.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let other_grid = write_grid(&other, &SMALL_GRID.replace("seed = 7", "seed = 8"));
    let o = try_sweep(&other_grid, &ds, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("another grid"));

    // Valid JSON with a bad run id names the file too.
    std::fs::write(
        ds.join("grid.json"),
        r#"{"fingerprint": "x", "run_ids": ["zz"], "grid": null}"#,
    )
    .unwrap();
    let o = bin().arg("status").arg(&ds).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("grid.json: not a run id: 'zz'"), "{err}");

    let o = sweep(&grid, &ds, &[]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("rewritten"));
    assert_same_dataset(&ds, &whole);
    let o = bin().arg("status").arg(&ds).output().unwrap();
    assert!(o.status.success());
    assert_eq!(std::fs::read_dir(ds.join("corrupt")).unwrap().count(), 1);
}

#[test]
fn a_damaged_provenance_file_is_kept_aside_and_one_of_another_shape_refused() {
    let t = tempdir().unwrap();
    let grid = write_grid(t.path(), SMALL_GRID);
    let ds = t.path().join("ds");
    sweep(&grid, &ds, &["--threads", "1"]);
    std::fs::write(ds.join("provenance.json"), "{\"sessions\": [{").unwrap();
    let o = sweep(&grid, &ds, &[]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("provenance.json was not JSON"));
    let kept = std::fs::read_dir(ds.join("corrupt"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(std::fs::read(kept.path()).unwrap(), b"{\"sessions\": [{");

    std::fs::write(ds.join("provenance.json"), "[1, 2]").unwrap();
    let o = try_sweep(&grid, &ds, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a sharpsweep provenance file"));
    assert_eq!(
        std::fs::read(ds.join("provenance.json")).unwrap(),
        b"[1, 2]"
    );
}

#[test]
fn status_flags_parts_of_another_grid_than_grid_json() {
    let t = tempdir().unwrap();
    let grid = write_grid(t.path(), SMALL_GRID);
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    let other = t.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let other_grid = write_grid(&other, &SMALL_GRID.replace("seed = 7", "seed = 8"));
    sweep(&grid, &a, &["--threads", "1"]);
    sweep(&other_grid, &b, &["--threads", "1"]);
    std::fs::copy(b.join("grid.json"), a.join("grid.json")).unwrap();
    let o = bin().arg("status").arg(&a).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("written for another grid"), "{text}");
    assert!(
        text.contains("48 run(s) in the part files are not points"),
        "{text}"
    );
}
