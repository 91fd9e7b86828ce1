//! `sharpsweep reproduce --quick` end to end: the embedded grid swept,
//! analysed, and the Figure-1 cell judged in the report.

use crate::support::{TempDir, run_bin};

#[test]
fn reproduce_quick_reports_the_figure_one_cell_below_its_threshold() {
    let dir = TempDir::new("reproduce");
    let out = dir.join("r");
    let o = run_bin(&[
        "reproduce",
        "--quick",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", o.stderr);
    let md = std::fs::read_to_string(out.join("report/report.md")).unwrap();
    let verdict = md
        .lines()
        .find(|l| l.contains("Reproduction (quick budget)"))
        .expect("a verdict line");
    assert!(verdict.contains("below the threshold 1e-2"), "{verdict}");
    assert!(!verdict.contains("NOT below"), "{verdict}");
    let html = std::fs::read_to_string(out.join("report/index.html")).unwrap();
    assert!(html.contains("class=\"verdict\""));
    for f in ["spectrum.png", "neurons.png", "summary.parquet"] {
        assert!(out.join("report").join(f).is_file(), "{f} missing");
    }
    // Rerunning resumes: nothing is run twice and the verdict is the same.
    let again = run_bin(&["reproduce", "--quick", "--out", out.to_str().unwrap()]);
    assert!(again.status.success(), "{}", again.stderr);
    assert!(
        again.stdout.contains("below the threshold 1e-2"),
        "{}",
        again.stdout
    );
}
