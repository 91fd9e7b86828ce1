//! What a sweep tells about its progress: `--dry-run` states an estimated
//! wall time beside the cost, and a sweep whose stderr is not a terminal
//! (a pipe here, a log under SLURM) writes plain progress lines in
//! run-steps, never a redrawn bar.

use crate::support::{TempDir, run_bin};

/// The seconds of `progress::clock`'s `1h02m03s`, `2m03s` or `3.4s`.
fn seconds(text: &str) -> f64 {
    let (rest, s) = text
        .trim_end_matches('s')
        .rsplit_once(['m', 'h'])
        .unwrap_or(("", text.trim_end_matches('s')));
    let (h, m) = rest.split_once('h').unwrap_or(("0", rest));
    let num = |t: &str| {
        if t.is_empty() {
            0.0
        } else {
            t.parse::<f64>().unwrap()
        }
    };
    num(h) * 3600.0 + num(m) * 60.0 + num(s)
}

/// The estimated wall time `--dry-run` prints for `steps`-step runs.
fn estimate(dir: &TempDir, steps: u64) -> f64 {
    let path = dir.join(&format!("grid{steps}.toml"));
    std::fs::write(
        &path,
        format!("seed = 0\nsteps = {steps}\n[[grid]]\neta = 0.01\nsigma = 0.1\nseeds = 8\n"),
    )
    .unwrap();
    let out = run_bin(&[
        "sweep",
        path.to_str().unwrap(),
        "--dry-run",
        "--threads",
        "1",
    ]);
    assert!(out.status.success(), "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].contains("cost estimate"), "{}", out.stdout);
    // Beside the cost: the line after it.
    let rest = lines[1]
        .strip_prefix("estimated wall time ")
        .unwrap_or_else(|| panic!("{}", out.stdout));
    let (time, rest) = rest.split_once(' ').unwrap();
    assert!(
        rest.starts_with("on 1 thread (kernels of 1 shape timed in "),
        "{rest}"
    );
    seconds(time)
}

#[test]
fn dry_run_states_a_wall_time_that_follows_the_steps() {
    assert_eq!(seconds("1h02m03s"), 3723.0);
    assert_eq!(seconds("2m03s"), 123.0);
    assert_eq!(seconds("3.4s"), 3.4);
    let dir = TempDir::new("dry-run-wall");
    let short = estimate(&dir, 1_000_000);
    let long = estimate(&dir, 100_000_000);
    // 8·10⁶ steps of (10, 3, 3) as one lane group: well under a second
    // each at 20–50 ns; a hundred times the steps, near a hundred times
    // the time (each estimate from its own calibration).
    assert!(short > 0.0 && short < 10.0, "{short}");
    assert!(long > 20.0 * short, "{short} {long}");
}

#[test]
fn a_sweep_into_a_log_writes_plain_lines_in_run_steps() {
    let dir = TempDir::new("progress-log");
    let grid = dir.join("grid.toml");
    // Six runs of 2·10⁵ steps and six that diverge at once: the
    // diverged runs' budgets leave the work, which ends at 100 %.
    std::fs::write(
        &grid,
        "seed = 0\nsteps = 200_000\nlog_points = 20\n[[grid]]\n\
         eta = [0.01, 100.0]\nsigma = 0.1\nseeds = 6\n",
    )
    .unwrap();
    let out = dir.join("ds");
    let args = [
        "sweep",
        grid.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let run = run_bin(&[&args[..], &["--threads", "2", "--progress-secs", "0.001"]].concat());
    assert!(run.status.success(), "{}", run.stderr);
    assert!(!run.stderr.contains(['\r', '\x1b']), "{:?}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        lines.iter().all(|l| l.starts_with("sweep ")),
        "{}",
        run.stderr
    );
    let last = lines.last().unwrap();
    assert!(last.contains(" run-steps (100%), 12/12 runs, "), "{last}");
    let (done, total) = last["sweep ".len()..]
        .split_once(' ')
        .unwrap()
        .0
        .split_once('/')
        .unwrap();
    assert_eq!(done, total, "{last}");
    // The six stable runs' 1.2 M steps, and a few steps of the others.
    assert!(done.starts_with("1.2M"), "{last}");
}
