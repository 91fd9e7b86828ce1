//! `sharpsweep analyze` end to end on a real `sharpsweep run` output (the
//! single-run layout), and its exit code and one-line error on bad input.

use std::path::Path;
use std::process::{Command, Output};

fn sharpsweep(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sharpsweep"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temporary path")
}

#[test]
fn analyze_reports_on_a_single_run_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let report = tmp.path().join("report");
    let out = sharpsweep(&[
        "run",
        "--out",
        path(&run),
        "--steps",
        "3000",
        "--seed",
        "2",
        "--eta",
        "0.01",
        "--sigma",
        "0.1",
        "-q",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = sharpsweep(&["analyze", path(&run), "--report", path(&report)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("figure heatmap: skipped"), "{stdout}");
    for file in [
        "index.html",
        "report.md",
        "summary.parquet",
        "theory.parquet",
        "spectrum.png",
        "spectrum.svg",
        "neurons.png",
        "sharpness.svg",
    ] {
        assert!(report.join(file).is_file(), "{file} missing: {stdout}");
    }
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    // The run's own metadata is shown as provenance, and the default run
    // (cubic-linear, n = d = 3; η small enough not to diverge) satisfies the theorem's assumptions.
    let version = format!(
        "sharpsweep.schema_version = {}",
        sharpsweep_sweep::schema::SCHEMA_VERSION
    );
    assert!(md.contains(&version), "{md}");
    assert!(md.contains("| holds |"), "{md}");
}

#[test]
fn analyze_refuses_a_directory_that_is_not_a_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let out = sharpsweep(&[
        "analyze",
        path(tmp.path()),
        "--report",
        path(&tmp.path().join("r")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("not a sharpsweep dataset"),
        "{stderr}"
    );
    assert!(!tmp.path().join("r").exists(), "no report for bad input");
}
