//! The README is true: every fenced code block of README.md runs here, in
//! the order it stands, in one scratch directory where the `sharpsweep`
//! under test is first on `PATH`:
//!
//! * `sh` blocks: each command (a line, with its `\` continuations) runs
//!   with `bash -euo pipefail` after the [`SUBSTITUTIONS`], which shrink
//!   what would take minutes and fill in placeholders such as `DIR`; each
//!   substitution must apply somewhere, so none outlives its README line;
//! * `toml` blocks: a grid, checked by `sharpsweep sweep FILE --dry-run`;
//! * `python` blocks: run by `python3` with the readers CI installs
//!   (pandas, polars, duckdb, pyarrow); the block without a language that
//!   follows one is what it prints, and every number in it must be printed;
//! * then `examples/analysis.py` on the same dataset and report.
//!
//! Before the blocks, [`SETUP`] makes what they name but do not make: the
//! files of `sharpsweep run --data X.npy --labels y.csv --init theta0.npy`,
//! and `dataset/` (the 12 runs of the Analysis section, made as
//! `.ci/suites/analyze.sh` makes them), which the analysis command and the
//! Python blocks read.

use crate::support::TempDir;
use std::path::Path;
use std::process::Command;

/// (README text, what runs instead, why).
const SUBSTITUTIONS: &[(&str, &str, &str)] = &[
    (
        "cargo test --release --workspace --no-fail-fast",
        "true",
        "the command that runs this very test (.ci/run runs it)",
    ),
    (
        "cargo run --release -- reproduce",
        "sharpsweep reproduce --quick",
        "the default budget takes minutes; --quick is its one-minute version",
    ),
    (
        "cargo install --path .",
        "cargo metadata --offline --no-deps --format-version 1 --manifest-path \"$REPO/Cargo.toml\" \
         | grep -q '\"name\":\"sharpsweep\",\"src_path\"'",
        "a second release build, of the binary this test runs: only check that the \
         package has the `sharpsweep` binary cargo install installs",
    ),
    (
        "--steps 100000000",
        "--steps 1000000",
        "10^6 of the 10^8 steps",
    ),
    (
        "DIR 373ec8",
        "fig1 \"$(sharpsweep export fig1 --csv - | awk -F, 'NR == 2 { print substr($1, 1, 6) }')\"",
        "the run_id of the run made above (its id changed with its steps)",
    ),
    ("export DIR", "export fig1", "the run made above"),
    (
        "mpirun -np 64 sharpsweep",
        "sharpsweep",
        "an MPI build and launcher: tests/mpi_determinism.rs runs mpirun",
    ),
    (
        "sharpsweep analyze DIR --report REPORT_DIR",
        "sharpsweep analyze dataset --report report",
        "the Analysis section's dataset, which its Python blocks read",
    ),
    (
        "slurm submit",
        "slurm script",
        "no SLURM here: `slurm script` prints the job `submit` submits \
         (.ci/suites/cluster.sh submits to a real SLURM)",
    ),
];

/// Makes the inputs the blocks name but do not make (module doc).
const SETUP: &str = r#"
python3 -c '
import numpy as np
rng = np.random.default_rng(0)
x = rng.uniform(size=(3, 3))
np.save("X.npy", x / np.linalg.norm(x, axis=1, keepdims=True))
np.savetxt("y.csv", rng.uniform(size=3))
np.save("theta0.npy", rng.normal(scale=3 ** -0.5, size=(10, 3)))
'
for eta in 0.03 0.05; do
  for sigma in 0.3 0.5; do
    for seed in 1 2 3; do
      sharpsweep run --out "runs/r_${eta}_${sigma}_${seed}" --m 4 --d 3 --n 2 \
        --eta "$eta" --sigma "$sigma" --seed "$seed" --steps 1000000 -q
    done
  done
done
python3 "$REPO/tests/python/combine_runs.py" dataset runs/r_*
"#;

struct Block {
    lang: String,
    /// The README line of the opening fence.
    line: usize,
    text: String,
}

fn blocks(readme: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in readme.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(lang)) => {
                open = Some(Block {
                    lang: lang.trim().to_string(),
                    line: i + 1,
                    text: String::new(),
                })
            }
            (Some(_), Some("")) => out.extend(open.take()),
            (Some(b), _) => {
                b.text += line;
                b.text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "README.md: an unclosed code block");
    out
}

/// The commands of a shell block: lines joined across `\` continuations.
fn commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        match line.strip_suffix('\\') {
            Some(head) => current += head,
            None => {
                current += line;
                if !current.trim().is_empty() {
                    out.push(std::mem::take(&mut current));
                }
                current.clear();
            }
        }
    }
    out
}

/// The numbers in a text, as written (`3.47e-15`, `67608.0`, `2`).
fn numbers(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_alphabetic()) {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_digit()
                    || bytes[i] == b'.'
                    || bytes[i] == b'e'
                    || (matches!(bytes[i], b'-' | b'+') && bytes[i - 1] == b'e'))
            {
                i += 1;
            }
            out.push(&text[start..i]);
        }
        i += 1;
    }
    out
}

/// Runs `script` with bash in `dir`; panics with its output on failure.
/// Returns its stdout.
fn bash(dir: &Path, script: &str, what: &str) -> String {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_sharpsweep"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .env("REPO", env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{what} failed ({}):\n{script}\n--- stdout\n{stdout}\n--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    stdout
}

#[test]
fn every_command_and_code_block_of_the_readme_runs_and_prints_what_it_says() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let dir = TempDir::new("readme");
    bash(dir.path(), SETUP, "the setup");
    let mut used = vec![false; SUBSTITUTIONS.len()];
    let substitute = |text: &str, used: &mut Vec<bool>| {
        let mut text = text.to_string();
        for (k, (from, to, _)) in SUBSTITUTIONS.iter().enumerate() {
            if text.contains(from) {
                text = text.replace(from, to);
                used[k] = true;
            }
        }
        text
    };
    let blocks = blocks(&readme);
    let mut printed: Option<(usize, String)> = None;
    for b in &blocks {
        let at = format!("README.md:{} ({} block)", b.line, b.lang);
        match b.lang.as_str() {
            "sh" => {
                for command in commands(&b.text) {
                    let command = substitute(&command, &mut used);
                    bash(dir.path(), &command, &at);
                }
            }
            "toml" => {
                std::fs::write(dir.join("readme-grid.toml"), &b.text).unwrap();
                bash(
                    dir.path(),
                    "sharpsweep sweep readme-grid.toml --dry-run",
                    &at,
                );
            }
            "python" => {
                std::fs::write(dir.join("readme-block.py"), &b.text).unwrap();
                let out = bash(dir.path(), "python3 readme-block.py", &at);
                printed = Some((b.line, out));
                continue;
            }
            "" => {
                let (line, out) = printed.take().unwrap_or_else(|| {
                    panic!("{at}: a block without a language follows no Python block")
                });
                assert!(!numbers(&b.text).is_empty(), "{at}: no numbers");
                assert_eq!(
                    numbers(&out),
                    numbers(&b.text),
                    "{at}: not what the block at line {line} prints:\n{out}"
                );
            }
            other => panic!("{at}: no way to run a `{other}` block"),
        }
        printed = None;
    }
    for (k, (from, _, why)) in SUBSTITUTIONS.iter().enumerate() {
        assert!(used[k], "substitution for `{from}` ({why}) applies nowhere");
    }
    bash(
        dir.path(),
        "python3 \"$REPO/examples/analysis.py\" dataset report --out analysis && \
         test -s analysis/figure1.png",
        "examples/analysis.py",
    );
}
