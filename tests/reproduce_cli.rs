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

/// The marker of the last `[[grid]]` table of grids/reproduce-full.toml.
const AT_SCALE: &str = "# [G24] Figure 2 at scale";

#[test]
fn the_full_grid_holds_figure_two_at_scale_with_the_hessian_and_keeps_the_other_runs() {
    use sharpsweep_core::curvature::HessianMethod;
    use sharpsweep_sweep::Grid;
    let text = include_str!("../grids/reproduce-full.toml");
    let grid = Grid::from_toml(text, &[]).expect("the full grid parses");
    let configs = grid.configs();
    let at_scale: Vec<_> = grid
        .points
        .iter()
        .zip(&configs)
        .filter(|(_, c)| c.m >= 100)
        .collect();
    assert!(!at_scale.is_empty(), "no cell with m >= 100");
    for (p, c) in &at_scale {
        assert!(c.d < c.n, "d = {} >= n = {}", c.d, c.n);
        assert!(c.hessian, "hessian off");
        let h = c.hessian_options().expect("the Hessian recorded");
        assert_eq!((h.method, h.top_k), (HessianMethod::Lanczos, 5));
        assert_eq!(p.table, grid.tables - 1, "the cell is the last table");
    }
    // Every other point is what the grid without the new table expands to:
    // its run ids (the identity of finished results) are unchanged.
    let (before, _) = text.split_once(AT_SCALE).expect("the marker");
    let old = Grid::from_toml(before, &[]).expect("the earlier tables parse");
    let ids =
        |ps: &[sharpsweep_sweep::grid::Point]| ps.iter().map(|p| p.run_id).collect::<Vec<_>>();
    let kept: Vec<_> = grid
        .points
        .iter()
        .zip(&configs)
        .filter(|(_, c)| c.m < 100)
        .map(|(p, _)| p.clone())
        .collect();
    assert_eq!(ids(&kept), ids(&old.points));
    // `reproduce --full` runs this very file.
    let printed = run_bin(&["reproduce", "--full", "--print-grid"]);
    assert!(printed.status.success(), "{}", printed.stderr);
    assert_eq!(printed.stdout.trim_end(), text.trim_end());
}
