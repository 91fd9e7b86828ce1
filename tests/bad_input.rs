//! The bad-input corpus, end to end: each case is the files a user has and
//! the command they type; each must exit with code 2 and one line on stderr
//! naming the field, flag or file at fault, and write nothing (the scratch
//! directory holds exactly the case's files afterwards).

use crate::support::{TempDir, run_bin};
use std::collections::BTreeSet;
use std::path::Path;

/// One bad input: files to create (`{dir}` in their text is the scratch
/// directory), the arguments, and a substring the error line must hold.
struct Case {
    name: &'static str,
    files: &'static [(&'static str, File)],
    args: &'static [&'static str],
    expect: &'static str,
}

enum File {
    Text(&'static str),
    /// A `.npy` of float64 with this header shape and this many data bytes.
    Npy(&'static str, usize),
}

const GRID_HEAD: &str = "[[grid]]\nsteps = 100\nlog_points = 3\n";

const CASES: &[Case] = &[
    Case {
        name: "npy header claims a shape whose size overflows",
        files: &[("x.npy", File::Npy("(4611686018427387904, 4)", 0))],
        args: &["run", "--data", "{dir}/x.npy", "--out", "{dir}/out"],
        expect: "--data: {dir}/x.npy: data section has 0 bytes, shape (4611686018427387904, 4) \
                 of <f8 needs more than fits in memory",
    },
    Case {
        name: "empty npy blames the file, not --n",
        files: &[("x.npy", File::Npy("(0, 3)", 0))],
        args: &["run", "--data", "{dir}/x.npy", "--out", "{dir}/out"],
        expect: "--data: {dir}/x.npy: holds no values",
    },
    Case {
        name: "typo in the first data row is not a header",
        files: &[(
            "x.csv",
            File::Text("0.1,0.2,0.3x\n0.4,0.5,0.6\n0.7,0.8,0.9\n"),
        )],
        args: &["run", "--data", "{dir}/x.csv", "--out", "{dir}/out"],
        expect: "--data: {dir}/x.csv: line 1, field 3: '0.3x' is not a number",
    },
    Case {
        name: "pandas index column (empty first header name)",
        files: &[(
            "x.csv",
            File::Text(",a,b,c\n0,0.1,0.2,0.3\n1,0.4,0.5,0.6\n2,0.7,0.8,0.9\n"),
        )],
        args: &["run", "--data", "{dir}/x.csv", "--out", "{dir}/out"],
        expect: "df.to_csv(path, index=False)",
    },
    Case {
        name: "named index column 0..n-1 under a header",
        files: &[(
            "x.csv",
            File::Text("i,a,b,c\n0,0.1,0.2,0.3\n1,0.4,0.5,0.6\n2,0.7,0.8,0.9\n"),
        )],
        args: &["run", "--data", "{dir}/x.csv", "--out", "{dir}/out"],
        expect: "--data: {dir}/x.csv: line 1: its first column 'i' is 0, 1",
    },
    Case {
        name: "grid with a missing data file",
        files: &[(
            "g.toml",
            File::Text("[[grid]]\ndata = \"{dir}/missing.csv\"\n"),
        )],
        args: &["sweep", "{dir}/g.toml", "--out", "{dir}/out"],
        expect: "grid[0].data: {dir}/missing.csv: ",
    },
    Case {
        name: "grid with a NaN in its data file",
        files: &[
            (
                "x.csv",
                File::Text("0.1,nan,0.3\n0.4,0.5,0.6\n0.7,0.8,0.9\n"),
            ),
            ("g.toml", File::Text("[[grid]]\ndata = \"{dir}/x.csv\"\n")),
        ],
        args: &["sweep", "{dir}/g.toml", "--out", "{dir}/out"],
        expect: "grid[0].data: {dir}/x.csv: contains a non-finite value (NaN) at row 1, column 2",
    },
    Case {
        name: "grid whose data file does not have the d it sets",
        files: &[
            ("x.csv", File::Text("0.1,0.2\n0.3,0.4\n0.5,0.6\n")),
            (
                "g.toml",
                File::Text("[[grid]]\ndata = \"{dir}/x.csv\"\nd = [2, 3]\n"),
            ),
        ],
        args: &["sweep", "{dir}/g.toml", "--out", "{dir}/out"],
        expect: "grid[0].data: {dir}/x.csv: has shape 3×2, expected 3×3 (n×d) (point 1)",
    },
    Case {
        name: "grid whose labels file has the wrong length",
        files: &[
            ("y.csv", File::Text("0.1\n0.2\n")),
            ("g.toml", File::Text("[[grid]]\nlabels = \"{dir}/y.csv\"\n")),
        ],
        args: &["sweep", "{dir}/g.toml", "--out", "{dir}/out"],
        expect: "grid[0].labels: {dir}/y.csv: has shape 2×1, expected 3×1",
    },
    Case {
        name: "grid whose init file does not fit the d of its data",
        files: &[
            ("x.csv", File::Text("0.1,0.2\n0.3,0.4\n0.5,0.6\n")),
            ("w.csv", File::Text("1,2,3\n4,5,6\n")),
            (
                "g.toml",
                File::Text("[[grid]]\ndata = \"{dir}/x.csv\"\ninit = \"{dir}/w.csv\"\n"),
            ),
        ],
        args: &["sweep", "{dir}/g.toml", "--out", "{dir}/out"],
        expect: "grid[0].init: {dir}/w.csv: has shape 2×3, expected 2×2 (m×d)",
    },
    Case {
        name: "unknown outer name",
        files: &[],
        args: &["run", "--outer", "alternate", "--out", "{dir}/out"],
        expect: "--outer: alternate: no such file, nor one of the names ones, alternating",
    },
    Case {
        name: "outer file of the wrong length",
        files: &[("a.csv", File::Text("1\n-1\n0.5\n"))],
        args: &["run", "--outer", "{dir}/a.csv", "--out", "{dir}/out"],
        expect: "--outer: {dir}/a.csv: has shape 3×1, expected 10×1 (m values)",
    },
    Case {
        name: "outer file with a non-finite value",
        files: &[("a.csv", File::Text("1\n-1\ninf\n"))],
        args: &[
            "run",
            "--m",
            "3",
            "--outer",
            "{dir}/a.csv",
            "--out",
            "{dir}/out",
        ],
        expect: "--outer: {dir}/a.csv: contains a non-finite value (inf) at row 3, column 1",
    },
    Case {
        name: "outer for the margin dynamics, which trains its own",
        files: &[],
        args: &[
            "run",
            "--algorithm",
            "margin",
            "--activation",
            "leaky-relu",
            "--data",
            "separable",
            "--labels",
            "from-data",
            "--n",
            "4",
            "--outer",
            "alternating",
            "--out",
            "{dir}/out",
        ],
        expect: "--outer: algorithm margin trains its own second layer",
    },
    Case {
        name: "grid with an unknown outer name",
        files: &[("g.toml", File::Text("[[grid]]\nouter = \"alternate\"\n"))],
        args: &["sweep", "{dir}/g.toml", "--out", "{dir}/out"],
        expect: "grid[0].outer: alternate: no such file, nor one of the names ones, alternating",
    },
    Case {
        name: "grid whose outer file does not have the m it sets",
        files: &[
            ("a.csv", File::Text("1\n-1\n0.5\n2\n")),
            (
                "g.toml",
                File::Text("[[grid]]\nouter = \"{dir}/a.csv\"\nm = [4, 5]\n"),
            ),
        ],
        args: &["sweep", "{dir}/g.toml", "--out", "{dir}/out"],
        expect: "grid[0].outer: {dir}/a.csv: has shape 4×1, expected 5×1 (m values) (point 1)",
    },
    Case {
        name: "a trillion replicates",
        files: &[("g.toml", File::Text("[[grid]]\nseeds = 1000000000000\n"))],
        args: &["sweep", "{dir}/g.toml", "--dry-run"],
        expect: "grid[0].seeds: 1000000000000 replicates, more than the 10000000 points",
    },
    Case {
        name: "unknown hessian method",
        files: &[],
        args: &[
            "run",
            "--hessian",
            "--hessian-method",
            "power",
            "--out",
            "{dir}/out",
        ],
        expect: "'--hessian-method <METHOD>': unknown hessian method 'power' \
                 (expected one of auto, dense, lanczos)",
    },
    Case {
        name: "zero top eigenvalues",
        files: &[],
        args: &[
            "run",
            "--hessian",
            "--hessian-top-k",
            "0",
            "--out",
            "{dir}/out",
        ],
        expect: "--hessian-top-k: must be between 1 and m·d = 30 (the Hessian's size), got 0",
    },
    Case {
        name: "more top eigenvalues than the Hessian has",
        files: &[(
            "g.toml",
            File::Text("[[grid]]\nhessian = true\nhessian_top_k = [1, 31]\n"),
        )],
        args: &["sweep", "{dir}/g.toml", "--out", "{dir}/out"],
        expect: "grid[0].hessian_top_k: must be between 1 and m·d = 30 (the Hessian's size), \
                 got 31 (point 1)",
    },
    Case {
        name: "unknown hessian method in a grid",
        files: &[(
            "g.toml",
            File::Text("[[grid]]\nhessian = true\nhessian_method = \"power\"\n"),
        )],
        args: &["sweep", "{dir}/g.toml", "--out", "{dir}/out"],
        expect: "grid[0].hessian_method: unknown variant `power`",
    },
    Case {
        name: "sweep into a directory holding someone else's files",
        files: &[
            ("out/notes.txt", File::Text("mine\n")),
            ("g.toml", File::Text(GRID_HEAD)),
        ],
        args: &["sweep", "{dir}/g.toml", "--out", "{dir}/out", "--quiet"],
        expect: "{dir}/out is not empty (notes.txt) and is not a sharpsweep dataset",
    },
    Case {
        name: "unknown schedule name",
        files: &[],
        args: &["run", "--schedule", "cos", "--out", "{dir}/out"],
        expect: "unknown schedule 'cos' (expected one of constant, linear, cosine, exponential)",
    },
    Case {
        name: "exponential schedule to eta_end = 0",
        files: &[],
        args: &[
            "run",
            "--schedule",
            "exponential",
            "--eta-end",
            "0",
            "--out",
            "{dir}/out",
        ],
        expect: "--eta-end: the exponential schedule needs a finite number > 0, got 0",
    },
    Case {
        name: "exponential schedule to sigma_end = 0",
        files: &[],
        args: &[
            "run",
            "--schedule",
            "exponential",
            "--sigma-end",
            "0",
            "--out",
            "{dir}/out",
        ],
        expect: "--sigma-end: the exponential schedule needs sigma and sigma_end both > 0",
    },
    Case {
        name: "negative sigma_end",
        files: &[],
        args: &[
            "run",
            "--schedule",
            "linear",
            "--sigma-end",
            "-0.1",
            "--out",
            "{dir}/out",
        ],
        expect: "--sigma-end: must be a finite number >= 0, got -0.1",
    },
    Case {
        name: "non-finite eta_end",
        files: &[],
        args: &[
            "run",
            "--schedule",
            "cosine",
            "--eta-end",
            "inf",
            "--out",
            "{dir}/out",
        ],
        expect: "--eta-end: must be a finite number >= 0, got inf",
    },
    Case {
        name: "a schedule on the flow",
        files: &[],
        args: &[
            "run",
            "--algorithm",
            "flow",
            "--schedule",
            "cosine",
            "--out",
            "{dir}/out",
        ],
        expect: "--schedule: algorithm flow has no schedule",
    },
    Case {
        name: "grid with an unknown schedule",
        files: &[(
            "g.toml",
            File::Text("[[grid]]\nsteps = 100\nschedule = [\"linear\", \"cosin\"]\n"),
        )],
        args: &["sweep", "{dir}/g.toml", "--out", "{dir}/out"],
        expect: "grid[0].schedule: ",
    },
    Case {
        name: "grid with a NaN sigma_end",
        files: &[(
            "g.toml",
            File::Text("[[grid]]\nsteps = 100\nschedule = \"linear\"\nsigma_end = nan\n"),
        )],
        args: &["sweep", "{dir}/g.toml", "--out", "{dir}/out"],
        expect: "grid[0].sigma_end: must be a finite number, got NaN",
    },
];

fn npy(shape: &str, data_bytes: usize) -> Vec<u8> {
    let header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}\n");
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.resize(bytes.len() + data_bytes, 0);
    bytes
}

/// Every path under `dir`, relative to it.
fn listing(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            out.insert(p.strip_prefix(dir).unwrap().display().to_string());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out
}

#[test]
fn bad_input_exits_2_with_one_line_naming_it_and_writes_nothing() {
    let mut failures = Vec::new();
    for case in CASES {
        let tmp = TempDir::new("bad-input");
        let dir = tmp.path().display().to_string();
        let fill = |s: &str| s.replace("{dir}", &dir);
        for (name, file) in case.files {
            let path = tmp.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let bytes = match file {
                File::Text(t) => fill(t).into_bytes(),
                File::Npy(shape, n) => npy(shape, *n),
            };
            std::fs::write(&path, bytes).unwrap();
        }
        let before = listing(tmp.path());
        let args: Vec<String> = case.args.iter().map(|a| fill(a)).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run_bin(&args);
        let expect = fill(case.expect);
        let lines: Vec<&str> = o.stderr.lines().collect();
        let ok = o.status.code() == Some(2)
            && lines.len() == 1
            && lines[0].contains(&expect)
            && listing(tmp.path()) == before;
        if !ok {
            failures.push(format!(
                "{}: exit {:?}, stderr {:?}, expected {expect:?}; files before {before:?}, after {:?}",
                case.name,
                o.status.code(),
                o.stderr,
                listing(tmp.path())
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn too_many_threads_are_capped_with_a_note() {
    let tmp = TempDir::new("threads");
    let grid = tmp.join("g.toml");
    std::fs::write(&grid, GRID_HEAD).unwrap();
    let out = tmp.join("out");
    let o = run_bin(&[
        "sweep",
        grid.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--threads",
        "100000",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", o.stderr);
    assert!(
        o.stderr.contains("note: --threads 100000 capped at"),
        "{}",
        o.stderr
    );
}
