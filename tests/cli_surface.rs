//! The command line's surface: clap's messages in full, bare `sharpsweep`,
//! defaults in --help, `reproduce --force-new`, completions, the man page,
//! `show` and `export`.

mod common;

use common::run_bin;

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
    for command in ["run", "sweep", "analyze"] {
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
