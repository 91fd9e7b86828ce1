//! Stopping a real sweep with a real signal, without SLURM: SIGUSR1 or
//! SIGTERM mid-run makes `sharpsweep sweep` checkpoint and exit 75, and
//! rerunning it gives the dataset of an uninterrupted sweep; SIGKILL at
//! random moments while runs checkpoint many times a second never leaves a
//! half-written checkpoint, and resuming still gives the same dataset.

use crate::support::*;
use parquet::file::reader::{FileReader, SerializedFileReader};
use sharpsweep_core::RunState;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// Steps per run: about two seconds of CPU each at the kernel's ≈ 20 M
/// steps/s (more on a slower machine), so a signal half a second in finds
/// both workers inside a run. (4 M steps, a second each when this test was
/// written, took 0.2 s after the third kernel round: the signal found two
/// runs finished.)
const STEPS: u64 = 40_000_000;

/// A directory with a private binary, the grid, and the dataset of an
/// uninterrupted sweep of it, made once for all tests.
struct Setup {
    _dir: tempfile::TempDir,
    bin: PathBuf,
    grid: PathBuf,
    reference: PathBuf,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let bin = private_binary(dir.path(), &binary());
        let grid = grid_file(dir.path(), STEPS);
        let reference = dir.path().join("uninterrupted");
        sweep_with(&bin, &grid, &reference, &["-q"]);
        Setup {
            _dir: dir,
            bin,
            grid,
            reference,
        }
    })
}

/// Starts a sweep into `out`, sends `signal` after `after`, and returns its
/// exit code and output.
fn interrupt(out: &Path, signal: &str, after: Duration) -> (Option<i32>, String) {
    let s = setup();
    let child = sweep_command(&s.bin, &s.grid, out, &[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    kill(signal, child.id());
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code(), text)
}

fn stop_checkpoint_and_resume(signal: &str) {
    let s = setup();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let (code, text) = interrupt(&out, signal, Duration::from_millis(500));
    assert_eq!(code, Some(75), "exit code after SIG{signal}:\n{text}");
    // The signal came mid-run: both workers' runs were checkpointed, and
    // the dataset is not complete yet.
    let saved = checkpoints(&out);
    assert_eq!(
        saved.len(),
        2,
        "checkpoints after SIG{signal}: {saved:?}\n{text}"
    );
    assert!(
        run_count(&out) < 4,
        "every run finished before SIG{signal}:\n{text}"
    );

    let output = sweep_with(&s.bin, &s.grid, &out, &[]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("2 runs resumed from checkpoints"), "{text}");
    assert!(
        checkpoints(&out).is_empty(),
        "checkpoints of finished runs remain"
    );
    assert_same_dataset(&out, &s.reference);
}

#[test]
fn sigusr1_mid_run_checkpoints_exits_75_and_the_rerun_equals_an_uninterrupted_sweep() {
    stop_checkpoint_and_resume("USR1");
}

#[test]
fn sigterm_mid_run_checkpoints_exits_75_and_the_rerun_equals_an_uninterrupted_sweep() {
    stop_checkpoint_and_resume("TERM");
}

/// Every checkpoint file present is whole: the Parquet footer and every
/// page decode, and the run state in its metadata parses.
fn assert_checkpoints_whole(out: &Path) -> usize {
    let files = checkpoints(out);
    for f in &files {
        let batches = read_batches(f);
        assert!(!batches.is_empty(), "{}: no rows", f.display());
        let reader = SerializedFileReader::new(std::fs::File::open(f).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let state = reader
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|k| k.key == "sharpsweep.checkpoint"))
            .and_then(|k| k.value.clone())
            .unwrap_or_else(|| panic!("{}: no run state", f.display()));
        RunState::from_bytes(state.as_bytes())
            .unwrap_or_else(|e| panic!("{}: run state: {e}", f.display()));
    }
    files.len()
}

#[test]
fn sigkill_during_constant_checkpointing_leaves_only_whole_checkpoints_and_resumes_identically() {
    let s = setup();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    // Kill moments from a fixed linear congruential sequence: "random", and
    // the same on every run of the test.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut seen = 0;
    for _ in 0..6 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let after = Duration::from_millis(300 + (x >> 33) % 900);
        let child = sweep_command(
            &s.bin,
            &s.grid,
            &out,
            &["-q", "--checkpoint-every", "0.005"],
        )
        .spawn()
        .unwrap();
        std::thread::sleep(after);
        kill("KILL", child.id());
        let mut child = child;
        child.wait().unwrap();
        seen += assert_checkpoints_whole(&out);
    }
    assert!(seen > 0, "no kill found a checkpoint to check");
    sweep_with(&s.bin, &s.grid, &out, &["-q"]);
    assert!(
        !out.join("corrupt").exists(),
        "a checkpoint or part was unreadable"
    );
    assert!(checkpoints(&out).is_empty());
    assert_same_dataset(&out, &s.reference);
}
