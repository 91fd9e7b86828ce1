//! The command line's surface: clap's messages in full, bare `sharpsweep`,
//! defaults in --help, `reproduce --force-new`, completions, the man page,
//! `show` and `export`.

mod common;

use common::{TempDir, run_bin};
use std::path::{Path, PathBuf};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Six runs of two widths (so list columns have two lengths), three seeds each.
const GRID: &str = "steps = 300\nlog_points = 10\n\n[[grid]]\nm = [4, 10]\nseeds = 3\n";

#[test]
fn a_missing_argument_is_named_with_the_usage() {
    for (args, wanted, usage) in [(&["status"][..], "<DIR>", "Usage: sharpsweep status <DIR>")] {
        let o = run_bin(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", o.stderr);
        assert!(o.stderr.contains("required arguments"), "{}", o.stderr);
        assert!(o.stderr.contains(wanted), "{args:?}: {}", o.stderr);
        assert!(o.stderr.contains(usage), "{args:?}: {}", o.stderr);
    }
}

#[test]
fn bare_sharpsweep_prints_the_usage_and_the_commands() {
    let o = run_bin(&[]);
    let text = format!("{}{}", o.stdout, o.stderr);
    assert!(text.contains("Usage: sharpsweep <COMMAND>"), "{text}");
    for command in ["run", "sweep", "analyze", "completions"] {
        assert!(
            text.contains(&format!("\n  {command} ")),
            "{command}: {text}"
        );
    }
    assert!(!text.contains("error:"), "{text}");
}

#[test]
fn help_shows_the_defaults_applied_in_code() {
    let o = run_bin(&["sweep", "--help"]);
    assert!(o.status.success());
    for default in [
        "[default: RAYON_NUM_THREADS, else every core]",
        "[default: only on SIGTERM, SIGINT or SIGUSR1]",
        "[default: figure1]",
    ] {
        assert!(o.stdout.contains(default), "{default}: {}", o.stdout);
    }
    let o = run_bin(&["reproduce", "--help"]);
    assert!(o.stdout.contains("[default: every core]"), "{}", o.stdout);
}

#[test]
fn reproduce_takes_force_new_and_says_so_when_another_grid_is_in_the_way() {
    let dir = TempDir::new("reproduce-force");
    let out = dir.join("r");
    std::fs::create_dir_all(&out).unwrap();
    // Another grid's dataset where reproduce puts its own.
    let grid = dir.join("grid.toml");
    std::fs::write(&grid, GRID).unwrap();
    let data = out.join("dataset");
    let o = run_bin(&["sweep", s(&grid), "--out", s(&data), "--quiet"]);
    assert!(o.status.success(), "{}", o.stderr);

    let refused = run_bin(&["reproduce", "--quick", "--quiet", "--out", s(&out)]);
    assert_eq!(refused.status.code(), Some(2), "{}", refused.stderr);
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("another grid's") && refused.stderr.contains("--force-new"),
        "{}",
        refused.stderr
    );

    let o = run_bin(&[
        "reproduce",
        "--quick",
        "--force-new",
        "--quiet",
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", o.stderr);
    assert!(out.join("report/index.html").is_file());
    // The old dataset was moved aside, not deleted.
    let superseded: Vec<PathBuf> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("superseded-")
        })
        .collect();
    assert_eq!(superseded.len(), 1, "{superseded:?}");
    assert!(superseded[0].join("grid.json").is_file());
    assert!(superseded[0].join("runs").is_dir());

    // The default budget after --quick names the budget in the way.
    let o = run_bin(&["reproduce", "--quiet", "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(2), "{}", o.stderr);
    assert!(
        o.stderr.contains("the quick budget's") && o.stderr.contains("--force-new"),
        "{}",
        o.stderr
    );
}

#[test]
fn completions_are_printed_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = run_bin(&["completions", shell]);
        assert!(o.status.success(), "{shell}: {}", o.stderr);
        for word in ["sharpsweep", "reproduce", "completions", "force-new"] {
            assert!(o.stdout.contains(word), "{shell}: no {word}");
        }
    }
    let o = run_bin(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stderr.contains("tcsh"), "{}", o.stderr);
}

#[test]
fn the_man_page_is_roff_of_every_subcommand() {
    let o = run_bin(&["man"]);
    assert!(o.status.success(), "{}", o.stderr);
    assert!(o.stdout.starts_with('.'), "not roff: {}", &o.stdout[..80]);
    assert!(o.stdout.lines().any(|l| l.starts_with(".TH sharpsweep 1")));
    assert!(o.stdout.contains(".SH NAME") && o.stdout.contains(".SH SUBCOMMANDS"));
    for command in ["reproduce", "completions", "man"] {
        assert!(o.stdout.contains(command), "{command}");
    }
    let o = run_bin(&["man", "sweep"]);
    assert!(o.status.success(), "{}", o.stderr);
    assert!(
        o.stdout
            .lines()
            .any(|l| l.starts_with(".TH sharpsweep-sweep 1"))
    );
    assert!(o.stdout.contains("force\\-new"), "{}", o.stdout);
    let o = run_bin(&["man", "nosuch"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stderr.contains("nosuch"));
}
