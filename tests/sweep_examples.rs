//! `sharpsweep sweep --example NAME` prints each embedded grid, and each is
//! a grid the sweep accepts (`--dry-run` expands and validates every point).

use crate::support::{TempDir, run_bin};

#[test]
fn every_embedded_example_prints_and_dry_runs() {
    let dir = TempDir::new("examples");
    for name in ["figure1", "flow", "sam", "margin", "stability"] {
        let printed = run_bin(&["sweep", "--example", name]);
        assert!(printed.status.success(), "{name}: {}", printed.stderr);
        let path = dir.join(&format!("{name}.toml"));
        std::fs::write(&path, &printed.stdout).unwrap();
        let dry = run_bin(&["sweep", path.to_str().unwrap(), "--dry-run"]);
        assert!(dry.status.success(), "{name}: {}", dry.stderr);
        assert!(dry.stdout.contains("points"), "{name}: {}", dry.stdout);
    }
    let unknown = run_bin(&["sweep", "--example", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(unknown.stderr.contains("--example"), "{}", unknown.stderr);
}
