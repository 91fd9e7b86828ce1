//! The command line's surface: clap's messages in full, bare `sharpsweep`,
//! defaults in --help, `reproduce --force-new`, completions, the man page,
//! `show` and `export`.

use crate::support::{ParquetTable, TempDir, run_bin};
use std::path::{Path, PathBuf};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Six runs of two widths (so list columns have two lengths), three seeds each.
const GRID: &str = "steps = 300\nlog_points = 10\n\n[[grid]]\nm = [4, 10]\nseeds = 3\n";

/// Sweeps [`GRID`] into `dir/data` and returns the dataset's directory.
fn sweep(dir: &TempDir) -> PathBuf {
    let grid = dir.join("grid.toml");
    std::fs::write(&grid, GRID).unwrap();
    let data = dir.join("data");
    let o = run_bin(&["sweep", s(&grid), "--out", s(&data), "--quiet"]);
    assert!(o.status.success(), "{}", o.stderr);
    data
}

/// Every runs part of a sweep's dataset, read whole.
fn runs_parts(data: &Path) -> Vec<ParquetTable> {
    let mut files: Vec<_> = std::fs::read_dir(data.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|f| ParquetTable::read(f)).collect()
}

#[test]
fn a_missing_argument_is_named_with_the_usage() {
    for (args, wanted, usage) in [
        (&["status"][..], "<DIR>", "Usage: sharpsweep status <DIR>"),
        (
            &["show", "somewhere"][..],
            "<RUN_ID>",
            "Usage: sharpsweep show",
        ),
        (
            &["export", "somewhere"][..],
            "--csv",
            "Usage: sharpsweep export",
        ),
    ] {
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
    for command in ["run", "sweep", "analyze", "show", "export", "completions"] {
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

#[test]
fn show_prints_a_runs_configuration_and_final_metrics() {
    let dir = TempDir::new("show");
    let single = dir.join("single");
    let o = run_bin(&[
        "run",
        "--quiet",
        "--steps",
        "200",
        "--eta",
        "0.04",
        "--out",
        s(&single),
    ]);
    assert!(o.status.success(), "{}", o.stderr);
    let runs = ParquetTable::read(&single.join("runs.parquet"));
    let id = &runs.column_str("run_id")[0];
    let o = run_bin(&["show", s(&single), &id[..6]]);
    assert!(o.status.success(), "{}", o.stderr);
    let lines: Vec<&str> = o.stdout.lines().map(str::trim).collect();
    for want in [
        format!("run_id: {id}"),
        "eta: 0.04".to_string(),
        "steps: 200".to_string(),
        "status: finished".to_string(),
        format!("loss: {:?}", runs.column_f64("loss")[0]),
        format!("sv_ratio2_z: {:?}", runs.column_f64("sv_ratio2_z")[0]),
    ] {
        assert!(lines.contains(&want.as_str()), "{want}: {}", o.stdout);
    }
    // Θ (10×3) is shortened, Z's three singular values are not.
    let theta = lines.iter().find(|l| l.starts_with("theta: ")).unwrap();
    assert!(theta.ends_with("(30 values)"), "{theta}");
    let sv = runs.column_list_f64("sv_z")[0].clone();
    let sv: Vec<String> = sv.iter().map(|v| format!("{v:?}")).collect();
    assert!(lines.contains(&format!("sv_z: [{}]", sv.join(", ")).as_str()));

    let o = run_bin(&["show", s(&single), "ffffzz"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
    assert!(o.stderr.contains("'ffffzz'") && o.stderr.contains(s(&single)));

    // In a sweep: a full id, and a prefix several runs share.
    let data = sweep(&dir);
    let parts = runs_parts(&data);
    let ids: Vec<String> = parts.iter().flat_map(|p| p.column_str("run_id")).collect();
    assert_eq!(ids.len(), 6);
    let o = run_bin(&["show", s(&data), &ids[4]]);
    assert!(o.status.success(), "{}", o.stderr);
    assert!(o.stdout.starts_with(&format!("run_id: {}\n", ids[4])));
    let o = run_bin(&["show", s(&data), ""]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stderr.contains("6 run ids"), "{}", o.stderr);
}

/// Parses CSV as RFC 4180 writes it: quoted fields may hold commas,
/// doubled quotes and line breaks.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        !quoted && field.is_empty() && row.is_empty(),
        "unterminated CSV"
    );
    rows
}

#[test]
fn export_writes_every_run_as_csv_with_list_columns_flattened() {
    let dir = TempDir::new("export");
    let data = sweep(&dir);
    let csv = dir.join("runs.csv");
    let o = run_bin(&["export", s(&data), "--csv", s(&csv)]);
    assert!(o.status.success(), "{}", o.stderr);
    let rows = parse_csv(&std::fs::read_to_string(&csv).unwrap());
    let (header, rows) = rows.split_first().unwrap();
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|r| r.len() == header.len()));
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    // Θ is m×d: 12 values for m = 4, 30 for m = 10; no list column is left whole.
    assert!(!header.iter().any(|h| h == "theta" || h == "sv_z"));
    col("theta_29");
    assert!(!header.iter().any(|h| h == "theta_30"));

    let mut checked = 0;
    for part in runs_parts(&data) {
        let ids = part.column_str("run_id");
        let losses = part.column_f64("loss");
        let thetas = part.column_list_f64("theta");
        let configs = part.column_str("config");
        for i in 0..part.num_rows() {
            let row = rows.iter().find(|r| r[col("run_id")] == ids[i]).unwrap();
            assert_eq!(row[col("loss")].parse::<f64>().unwrap(), losses[i]);
            // The config JSON, full of commas and quotes, reads back whole.
            assert_eq!(row[col("config")], configs[i]);
            for k in 0..30 {
                let cell = &row[col(&format!("theta_{k}"))];
                match thetas[i].get(k) {
                    Some(v) => assert_eq!(cell.parse::<f64>().unwrap(), *v, "theta_{k}"),
                    None => assert!(cell.is_empty(), "theta_{k}: {cell}"),
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 6);

    // The trajectories: one row per record, z flattened (n = 3).
    let traj = dir.join("traj.csv");
    let o = run_bin(&[
        "export",
        s(&data),
        "--csv",
        s(&traj),
        "--table",
        "trajectories",
    ]);
    assert!(o.status.success(), "{}", o.stderr);
    let trows = parse_csv(&std::fs::read_to_string(&traj).unwrap());
    let records: usize = std::fs::read_dir(data.join("trajectories"))
        .unwrap()
        .map(|e| ParquetTable::read(&e.unwrap().path()).num_rows())
        .sum();
    assert_eq!(trows.len() - 1, records);
    assert!(trows[0].iter().any(|h| h == "z_2") && !trows[0].iter().any(|h| h == "z"));

    // pandas reads it back as numbers, with the right row count.
    let python = "import sys, pandas as pd\n\
                  df = pd.read_csv(sys.argv[1])\n\
                  assert len(df) == 6, len(df)\n\
                  assert df['theta_29'].isna().sum() == 3\n\
                  assert df['loss'].dtype == 'float64' and df['m'].dtype == 'int64'\n\
                  print('ok')\n";
    if let Ok(o) = std::process::Command::new("python3")
        .args(["-c", "import pandas"])
        .output()
        && o.status.success()
    {
        let o = std::process::Command::new("python3")
            .args(["-c", python, s(&csv)])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
}

#[test]
fn export_refuses_a_damaged_part_naming_it_and_writes_nothing() {
    let dir = TempDir::new("export-damaged");
    let data = sweep(&dir);
    let part = std::fs::read_dir(data.join("runs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&part).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&part, bytes).unwrap();
    let csv = dir.join("runs.csv");
    let o = run_bin(&["export", s(&data), "--csv", s(&csv)]);
    assert_eq!(o.status.code(), Some(2), "{}", o.stderr);
    assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
    let name = part.file_name().unwrap().to_str().unwrap();
    assert!(o.stderr.contains(name), "{}", o.stderr);
    assert!(!csv.exists());

    let o = run_bin(&["export", s(&dir.join("nothing")), "--csv", s(&csv)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        o.stderr.contains("not a sharpsweep dataset"),
        "{}",
        o.stderr
    );
}
