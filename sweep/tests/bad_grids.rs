//! The grid corpus at the workspace root: every file in `tests/grids/bad` is
//! refused with the one-line error its `# expect:` line names (after the
//! overrides its `# set:` lines give), and every file in `tests/grids/good`
//! expands to the number of points its `# points:` line says.

use sharpsweep_sweep::grid::Grid;
use std::path::{Path, PathBuf};

fn corpus(kind: &str) -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/grids")
        .join(kind);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect();
    files.sort();
    files
}

/// The values of the `# tag: value` lines.
fn tagged<'a>(text: &'a str, tag: &str) -> Vec<&'a str> {
    let prefix = format!("# {tag}: ");
    text.lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .collect()
}

#[test]
fn every_bad_grid_is_refused_with_its_one_line_error() {
    let files = corpus("bad");
    assert!(files.len() >= 20, "only {} bad grids", files.len());
    for (path, text) in files {
        let name = path.file_name().unwrap().to_string_lossy();
        let [expected] = tagged(&text, "expect")[..] else {
            panic!("{name}: needs exactly one '# expect: <error>' line");
        };
        let overrides: Vec<String> = tagged(&text, "set").into_iter().map(String::from).collect();
        let error = match Grid::from_toml(&text, &overrides) {
            Ok(grid) => panic!("{name}: accepted, {} points", grid.points.len()),
            Err(e) => e.to_string(),
        };
        assert!(
            error.contains(expected),
            "{name}:\n  got      {error}\n  expected {expected}"
        );
        assert!(!error.contains('\n'), "{name}: not one line: {error:?}");
    }
}

#[test]
fn every_good_grid_expands_to_its_point_count() {
    let files = corpus("good");
    assert!(!files.is_empty());
    for (path, text) in files {
        let name = path.file_name().unwrap().to_string_lossy();
        let [count] = tagged(&text, "points")[..] else {
            panic!("{name}: needs exactly one '# points: <count>' line");
        };
        let grid = Grid::from_toml(&text, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(grid.points.len().to_string(), count, "{name}");
    }
}
