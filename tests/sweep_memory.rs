//! A grid with a point the machine cannot hold is refused with the rest of
//! the grid's validation: exit 2, one line naming the key and the point,
//! nothing written, instead of a sweep that aborts on that point every time.

use crate::support::{TempDir, run_bin, write_grid};

#[test]
fn a_grid_with_one_oversized_point_is_refused_at_validation_and_writes_nothing() {
    let dir = TempDir::new("sweep-memory");
    let grid = write_grid(
        dir.path(),
        "steps = 100\n[[grid]]\nalgorithm = \"sam\"\nm = [10, 20, 30, 1000000000]\n",
    );
    let out = dir.join("out");
    for extra in [&[][..], &["--max-memory", "1G"], &["--dry-run"]] {
        let mut args = vec![
            "sweep",
            grid.to_str().unwrap(),
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = run_bin(&args);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", o.stderr);
        let lines: Vec<&str> = o.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{extra:?}: {}", o.stderr);
        for part in [
            "grid.toml: grid[0].",
            "m = 1000000000",
            "needs ~",
            "(point 3)",
        ] {
            assert!(
                lines[0].contains(part),
                "{extra:?}: no '{part}' in {}",
                lines[0]
            );
        }
        assert!(!out.exists(), "{extra:?}: wrote {}", out.display());
    }
}

#[test]
fn max_memory_bounds_every_worker_thread_plus_the_writer() {
    let dir = TempDir::new("sweep-max-memory");
    let grid = write_grid(
        dir.path(),
        "steps = 100\n[[grid]]\nalgorithm = \"sam\"\nm = 20000\nd = 50\nseeds = 2\n",
    );
    let config = sharpsweep_core::RunConfig {
        algorithm: sharpsweep_core::AlgorithmName::Sam,
        m: 20000,
        d: 50,
        steps: 100,
        ..Default::default()
    };
    let per_run = config.memory_estimate(1).unwrap().bytes;
    // Two runs' worth: one worker thread and the writer fit, two threads do not.
    let limit = (2 * per_run).to_string();
    let out = dir.join("out");
    let sweep = |threads: &str| {
        run_bin(&[
            "sweep",
            grid.to_str().unwrap(),
            "--quiet",
            "--out",
            out.to_str().unwrap(),
            "--threads",
            threads,
            "--max-memory",
            &limit,
        ])
    };
    let refused = sweep("2");
    assert_eq!(refused.status.code(), Some(2), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("3 in flight (2 worker threads"),
        "{}",
        refused.stderr
    );
    assert!(!out.exists());
    let ran = sweep("1");
    assert!(ran.status.success(), "{}", ran.stderr);
    assert!(out.join("runs").is_dir());
}
