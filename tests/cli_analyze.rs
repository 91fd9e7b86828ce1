//! `sharpsweep analyze` end to end on a real `sharpsweep run` output (the
//! single-run layout), on small sweeps of each dynamics' example grid (its
//! figure drawn), and its exit code and one-line error on bad input.

use crate::support::{ParquetTable, key_values, open};
use std::path::Path;
use std::process::{Command, Output};

fn sharpsweep(args: &[&str]) -> Output {
    crate::support::bin()
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
    small_run(&run);
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

/// A small `sharpsweep run` output in `dir`.
fn small_run(dir: &Path) {
    let out = sharpsweep(&[
        "run",
        "--out",
        path(dir),
        "--steps",
        "3000",
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
}

/// Every file of a directory (recursively) with its bytes.
fn contents(dir: &Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            files.extend(contents(&p));
        } else {
            files.insert(p.clone(), std::fs::read(&p).unwrap());
        }
    }
    files
}

#[test]
fn analyze_into_a_full_disk_keeps_the_earlier_report_and_leaves_nothing_half_written() {
    let tmp = tempfile::tempdir().unwrap();
    let (run, report) = (tmp.path().join("run"), tmp.path().join("report"));
    small_run(&run);
    let out = sharpsweep(&["analyze", path(&run), "--report", path(&report)]);
    assert!(out.status.success());
    let before = contents(&report);
    assert!(before.len() > 10, "{:?}", before.keys());
    // Files written past 32 kB fail (EFBIG, as ENOSPC on a full disk): the
    // tables fit, the first figure does not, so the write fails midway.
    let out = Command::new("sh")
        .args([
            "-c",
            "ulimit -f 64 && trap '' XFSZ && exec \"$0\" \"$@\"",
            env!("CARGO_BIN_EXE_sharpsweep"),
            "analyze",
            path(&run),
            "--report",
            path(&report),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a full disk went unnoticed");
    assert!(
        stderr.starts_with("error: ") && stderr.lines().count() == 1,
        "{stderr}"
    );
    assert!(
        contents(&report) == before,
        "the earlier report was changed: {stderr}"
    );
    let mut left: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["report", "run"], "a partial report was left behind");
}

#[test]
fn analyze_refuses_to_replace_a_directory_that_is_not_a_report() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    small_run(&run);
    // The dataset itself, or a directory of one's own notes.
    let notes = tmp.path().join("notes");
    std::fs::create_dir(&notes).unwrap();
    std::fs::write(notes.join("ideas.txt"), "keep me").unwrap();
    for (target, file) in [(&run, "runs.parquet"), (&notes, "ideas.txt")] {
        let before = contents(target);
        let out = sharpsweep(&["analyze", path(&run), "--report", path(target)]);
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("error: --report: ") && stderr.contains(file),
            "{stderr}"
        );
        assert!(contents(target) == before);
    }
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

#[test]
fn analyze_names_the_select_flag_in_every_select_error() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    small_run(&run);
    let report = tmp.path().join("r");
    for (select, says) in [
        ("eta=0.5..0.1", "is empty"),
        ("eta=a..0.1", "'a' is not a number"),
        ("eta", "expected KEY=VALUE"),
        ("etaa=0.05", "'etaa' is not a configuration key"),
        ("eta=0.5,0.6", "no grid cell matches"),
    ] {
        let out = sharpsweep(&[
            "analyze",
            path(&run),
            "--report",
            path(&report),
            "--select",
            select,
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{select}: {stderr}");
        let first = stderr.lines().next().unwrap_or_default();
        assert!(first.contains("--select"), "{select}: {stderr}");
        assert!(stderr.contains(says), "{select}: {stderr}");
        assert!(!report.exists(), "no report for bad input");
    }
    // A range and a list that hold the run's η = 0.05 select it.
    let out = sharpsweep(&[
        "analyze",
        path(&run),
        "--report",
        path(&report),
        "--select",
        "eta=0.01..0.05",
        "--select",
        "m=4,10",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Sweeps the embedded example grid `name` with `sets` (space-separated
/// `--set` values: smaller budgets), analyses it, and checks that its
/// figure (of the same name) was drawn: a decodable, non-blank PNG of
/// `size`, an SVG of the same size, and an index.html whose every link
/// resolves. Returns the scratch directory (dataset in `data/`) and the
/// report's markdown.
fn example_figure(name: &str, sets: &str, size: (u32, u32)) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path();
    let stem = name;
    let grid = tmp.join(format!("{name}.toml"));
    let printed = sharpsweep(&["sweep", "--example", name]);
    assert!(printed.status.success());
    std::fs::write(&grid, &printed.stdout).unwrap();
    let data = tmp.join("data");
    let mut args = vec!["sweep", path(&grid), "--out", path(&data), "-q"];
    for s in sets.split_whitespace() {
        args.extend(["--set", s]);
    }
    let out = sharpsweep(&args);
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = tmp.join("report");
    let out = sharpsweep(&["analyze", path(&data), "--report", path(&report)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("figure {stem}: {stem}.png, {stem}.svg")),
        "{name}: {stdout}"
    );

    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(report.join(format!("{stem}.png"))).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), size, "{stem}.png");
    let svg = std::fs::read_to_string(report.join(format!("{stem}.svg"))).unwrap();
    let head = format!("width=\"{}\" height=\"{}\"", size.0, size.1);
    assert!(svg.contains(&head), "{stem}.svg: {}", &svg[..200]);
    let px = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    let mut colours = pixels.clone();
    colours.sort();
    colours.dedup();
    assert!(colours.len() > 20, "{stem}: {} colours", colours.len());
    // Ink: dark pixels (text, axes, markers) and coloured ones (lines, bands).
    let dark = pixels
        .iter()
        .filter(|p| p[..3].iter().all(|&c| c < 100))
        .count();
    let coloured = pixels
        .iter()
        .filter(|p| p[..3].iter().max().unwrap() - p[..3].iter().min().unwrap() > 60)
        .count();
    assert!(dark * 500 > pixels.len(), "{stem}: almost no ink");
    assert!(
        coloured * 200 > pixels.len(),
        "{stem}: almost no data drawn"
    );

    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert!(
        html.contains(&format!("src=\"{stem}.png\"")),
        "{stem} not in the HTML"
    );
    for attr in ["src=\"", "href=\""] {
        for piece in html.split(attr).skip(1) {
            let target = &piece[..piece.find('"').unwrap()];
            assert!(
                report.join(target).is_file(),
                "index.html links to missing {target}"
            );
        }
    }
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    (dir, md)
}

#[test]
fn the_flow_figure_lays_flow_and_label_noise_runs_on_one_clock() {
    let (_tmp, md) = example_figure("flow", "seeds=2", (1300, 540));
    assert!(md.contains("t = k·η²σ²/(2B)"), "{md}");
    // The other dynamics' figures say why they are not drawn.
    assert!(md.contains("not drawn: no [L21] margin runs"), "{md}");
}

#[test]
fn the_sam_figure_draws_one_band_per_radius() {
    let (_tmp, md) = example_figure("sam", "seeds=2 steps=3000 rho=0.0,0.1", (1300, 580));
    assert!(md.contains("1-SAM with radius ρ"), "{md}");
}

#[test]
fn the_margin_figure_has_a_row_per_data_generator() {
    // Two rows of panels: symmetric data and its failure case.
    let sets = "seeds=1 steps=1500 m=2,8 init_scale=0.01,1.0";
    let (_tmp, md) = example_figure("margin", sets, (1300, 1030));
    assert!(md.contains("Runs are pooled over m."), "{md}");
}

#[test]
fn the_stability_figure_states_the_constant_fitted_to_the_runs() {
    let sets = "seeds=1 steps=3000 batch_size=1,4,16";
    let (tmp, md) = example_figure("stability", sets, (1400, 640));
    // The constant recomputed from the runs table's own stability ratio
    // ‖H‖_F·η/√B: its geometric mean over the finished runs.
    let mut logs = Vec::new();
    for part in std::fs::read_dir(tmp.path().join("data/runs")).unwrap() {
        let t = crate::support::ParquetTable::read(&part.unwrap().path());
        let status = t.column_str("status");
        for (s, r) in status.iter().zip(t.column_f64("hessian_fro_stability")) {
            if s == "finished" {
                logs.push(r.ln());
            }
        }
    }
    assert!(logs.len() > 10, "{} finished runs", logs.len());
    let c = (logs.iter().sum::<f64>() / logs.len() as f64).exp();
    assert!(md.contains(&format!("is C = {c:.3}")), "C = {c:.3}: {md}");
    // Beside it, the free least-squares slope of log ‖H‖_F on log √B/η and
    // the largest λ_max·η/2, from the runs table's own columns.
    let (mut points, mut edge) = (Vec::new(), 0f64);
    for part in std::fs::read_dir(tmp.path().join("data/runs")).unwrap() {
        let t = crate::support::ParquetTable::read(&part.unwrap().path());
        let status = t.column_str("status");
        let (eta, fro) = (t.column_f64("eta"), t.column_f64("hessian_fro"));
        let batch = t.column_i64("batch_size");
        let lambda = t.column_f64("lambda_max_stability");
        for i in 0..status.len() {
            if status[i] == "finished" {
                let x = (batch[i] as f64).sqrt() / eta[i];
                points.push((x.log10(), fro[i].log10()));
                edge = edge.max(lambda[i]);
            }
        }
    }
    let n = points.len() as f64;
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), p| (a + p.0 / n, b + p.1 / n));
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let slope = sxy / sxx;
    assert!(
        md.contains(&format!("free log–log slope of the runs is {slope:.2}")),
        "slope {slope:.2}: {md}"
    );
    assert!(
        md.contains(&format!("largest λ_max·η/2 = {edge:.3}")),
        "{edge:.3}: {md}"
    );
    assert!(md.contains("the bound at B = 1 only"), "{md}");
}

/// A Parquet file read back: its columns' names and Arrow types in order,
/// its rows and its key-value metadata.
struct ParquetFile {
    types: Vec<(String, arrow_schema::DataType)>,
    batches: Vec<arrow_array::RecordBatch>,
    metadata: std::collections::HashMap<String, String>,
}

fn read_parquet(path: &Path) -> ParquetFile {
    let builder = open(path);
    let metadata = key_values(&builder);
    let types = builder
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    let batches = builder.build().unwrap().map(|b| b.unwrap()).collect();
    ParquetFile {
        types,
        batches,
        metadata,
    }
}

/// Column `name` of `batches` as text, one entry per row ("null" for null).
fn texts(batches: &[arrow_array::RecordBatch], name: &str) -> Vec<String> {
    use arrow_array::Array;
    let mut out = Vec::new();
    for b in batches {
        let a = b
            .column_by_name(name)
            .unwrap_or_else(|| panic!("no {name}"));
        for i in 0..a.len() {
            out.push(if a.is_null(i) {
                "null".to_string()
            } else {
                value_text(a.as_ref(), i)
            });
        }
    }
    out
}

fn value_text(a: &dyn arrow_array::Array, i: usize) -> String {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int64Type, UInt64Type};
    use arrow_schema::DataType;
    match a.data_type() {
        DataType::Utf8 => a.as_string::<i32>().value(i).to_string(),
        DataType::Int64 => a.as_primitive::<Int64Type>().value(i).to_string(),
        DataType::UInt64 => a.as_primitive::<UInt64Type>().value(i).to_string(),
        DataType::Boolean => a.as_boolean().value(i).to_string(),
        t => panic!("not read as text here: {t}"),
    }
}

#[test]
fn every_file_has_the_contract_columns_and_cells_agree_across_files() {
    use arrow_schema::DataType;
    use sharpsweep_dataset::schema;
    let tmp = tempfile::tempdir().unwrap();
    let grid = tmp.path().join("grid.toml");
    std::fs::write(
        &grid,
        "seed = 3\nsteps = 300\nlog_points = 4\nm = 4\nd = 3\nn = 2\n\
         [[grid]]\neta = [0.01, 0.02]\nseeds = 2\n\
         [[grid]]\neta = 0.03\nhessian = true\nactivation = \"tanh\"\nseeds = 2\n",
    )
    .unwrap();
    let data = tmp.path().join("ds");
    let report = tmp.path().join("report");
    let out = sharpsweep(&["sweep", path(&grid), "--out", path(&data), "--quiet"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let part = std::fs::read_dir(data.join("runs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .unwrap();
    let ParquetFile {
        types,
        batches: runs,
        metadata: kv,
    } = read_parquet(&part);
    let contract: Vec<(String, DataType)> = schema::runs()
        .iter()
        .map(|c| (c.name.to_string(), c.kind.data_type()))
        .collect();
    assert_eq!(types, contract);
    let has = |name: &str, t: DataType| assert!(types.contains(&(name.into(), t)), "{name}");
    for int in [
        "m",
        "d",
        "n",
        "steps",
        "batch_size",
        "log_points",
        "replicate",
    ] {
        has(int, DataType::Int64);
    }
    has("hessian", DataType::Boolean);
    has("seed", DataType::UInt64);
    // The grid's place of each run, and its cell.
    let eta: Vec<String> = runs
        .iter()
        .flat_map(|b| {
            let a = b.column_by_name("eta").unwrap();
            let a = arrow_array::cast::AsArray::as_primitive::<arrow_array::types::Float64Type>(
                a.as_ref(),
            );
            a.values().iter().map(|v| v.to_string()).collect::<Vec<_>>()
        })
        .collect();
    let table = texts(&runs, "grid_table");
    let replicate = texts(&runs, "replicate");
    let cell = texts(&runs, "cell");
    let run_id = texts(&runs, "run_id");
    let hessian = texts(&runs, "hessian");
    let assumption = texts(&runs, "assumption_3_1");
    for i in 0..run_id.len() {
        let second = eta[i] == "0.03";
        assert_eq!(table[i], if second { "1" } else { "0" });
        assert_eq!(hessian[i], second.to_string());
        assert_eq!(assumption[i], (!second).to_string(), "tanh is outside 3.1");
        assert!(replicate[i] == "0" || replicate[i] == "1");
        for j in 0..run_id.len() {
            assert_eq!(cell[i] == cell[j], eta[i] == eta[j], "{i} {j}");
        }
    }
    // The part's metadata carries the grid itself.
    let config: serde_json::Value = serde_json::from_str(&kv["sharpsweep.config"]).unwrap();
    assert_eq!(config["grid"]["grid"][1]["activation"], "tanh");
    assert_eq!(config["fingerprint"].as_str().unwrap().len(), 16);

    let out = sharpsweep(&["analyze", path(&data), "--report", path(&report)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ParquetFile {
        types,
        batches: summary,
        ..
    } = read_parquet(&report.join("summary.parquet"));
    let typed = |name: &str| types.iter().find(|(n, _)| n == name).unwrap().1.clone();
    for int in ["m", "d", "n", "steps", "batch_size", "log_points"] {
        assert_eq!(typed(int), DataType::Int64, "summary.{int}");
    }
    assert_eq!(typed("hessian"), DataType::Boolean);
    assert_eq!(typed("eta"), DataType::Float64);
    let mut summary_cells = texts(&summary, "cell");
    summary_cells.sort();
    let mut run_cells = cell.clone();
    run_cells.sort();
    run_cells.dedup();
    assert_eq!(summary_cells, run_cells);
    let ParquetFile {
        types,
        batches: theory,
        ..
    } = read_parquet(&report.join("theory.parquet"));
    let contract: Vec<(String, DataType)> = schema::theory::ALL
        .iter()
        .map(|c| (c.name.to_string(), c.kind.data_type()))
        .collect();
    assert_eq!(types, contract);
    assert!(!types.iter().any(|(n, _)| n == "flags"));
    let theory_cell: std::collections::HashMap<String, String> = texts(&theory, "run_id")
        .into_iter()
        .zip(texts(&theory, "cell"))
        .collect();
    for (id, c) in run_id.iter().zip(&cell) {
        assert_eq!(&theory_cell[id], c, "run {id}");
    }
}

/// Column `name` of `batches` as numbers (NaN for null).
fn floats(batches: &[arrow_array::RecordBatch], name: &str) -> Vec<f64> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float64Type;
    let mut out = Vec::new();
    for b in batches {
        let a = b
            .column_by_name(name)
            .unwrap_or_else(|| panic!("no {name}"));
        let a = a.as_primitive::<Float64Type>();
        out.extend((0..a.len()).map(|i| if a.is_null(i) { f64::NAN } else { a.value(i) }));
    }
    out
}

#[test]
fn steps_to_a_threshold_that_stopped_the_run_is_the_stop_step() {
    let tmp = tempfile::tempdir().unwrap();
    let (run, report) = (tmp.path().join("run"), tmp.path().join("report"));
    // Figure 1's cell at σ = √0.03 collapses below s₂/s₁ = 10⁻² after about
    // 3.6·10⁵ steps; its log schedule records at 249 805 and then at 410 681.
    let out = sharpsweep(&[
        "run",
        "--out",
        path(&run),
        "--eta",
        "0.05",
        "--sigma",
        "0.1732",
        "--steps",
        "3000000",
        "--log-points",
        "30",
        "--stop-when",
        "sv_ratio2_z < 1e-2",
        "--stop-check-every",
        "1000",
        "-q",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runs = read_parquet(&run.join("runs.parquet")).batches;
    assert_eq!(texts(&runs, "stop_reason"), ["stop_when"]);
    let stop: i64 = texts(&runs, "steps_done")[0].parse().unwrap();
    assert!(stop % 1000 == 0 && stop < 3_000_000, "stopped at {stop}");
    let out = sharpsweep(&["analyze", path(&run), "--report", path(&report)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = read_parquet(&report.join("summary.parquet")).batches;
    // The stop step exactly, not the log schedule's next record after the
    // crossing.
    assert_eq!(floats(&summary, "steps_to_0_01_median"), [stop as f64]);
    assert_eq!(floats(&summary, "reached_0_01"), [1.0]);
}

/// numpy's linear quantile `q` of `v` (sorted ascending).
fn linear_quantile(v: &[f64], q: f64) -> f64 {
    let h = (v.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let frac = h - lo as f64;
    if frac == 0.0 {
        v[lo]
    } else {
        v[lo] + frac * (v[lo + 1] - v[lo])
    }
}

#[test]
fn the_curvature_figure_draws_the_recorded_eigenvalues_and_leaves_out_diverged_seeds() {
    let tmp = tempfile::tempdir().unwrap();
    let grid = tmp.path().join("grid.toml");
    // Three seeds that converge beside two (η = 4) that blow up at once.
    std::fs::write(
        &grid,
        "seed = 3\nm = 4\nd = 2\nn = 3\nsigma = 0.2\nsteps = 3000\nlog_points = 12\n\
         hessian = true\nhessian_method = \"lanczos\"\nhessian_top_k = 3\n\
         [[grid]]\neta = 0.02\nseeds = 3\n[[grid]]\neta = 4.0\nseeds = 2\n",
    )
    .unwrap();
    let (data, report) = (tmp.path().join("data"), tmp.path().join("report"));
    let out = sharpsweep(&["sweep", path(&grid), "--out", path(&data), "-q"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = sharpsweep(&["analyze", path(&data), "--report", path(&report)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("figure curvature: curvature.png, curvature.svg"),
        "{stdout}"
    );

    // The finished runs, and per recorded step > 0 their values, read
    // straight from the dataset: λ1, λ2, λ3, tr ∇²L and the clusters.
    let parts = |table: &str| {
        std::fs::read_dir(data.join(table))
            .unwrap()
            .map(|p| p.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .map(|p| ParquetTable::read(&p))
            .collect::<Vec<_>>()
    };
    let mut finished = std::collections::HashSet::new();
    let mut statuses = Vec::new();
    for t in parts("runs") {
        let (ids, status, eta) = (
            t.column_str("run_id"),
            t.column_str("status"),
            t.column_f64("eta"),
        );
        for i in 0..ids.len() {
            statuses.push((eta[i], status[i].clone()));
            if status[i] == "finished" {
                finished.insert(ids[i].clone());
            }
        }
    }
    statuses.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let expect = [(0.02, "finished"), (0.02, "finished"), (0.02, "finished")]
        .into_iter()
        .chain([(4.0, "diverged"), (4.0, "diverged")])
        .map(|(e, s)| (e, s.to_string()))
        .collect::<Vec<_>>();
    assert_eq!(statuses, expect);
    let series = ["λ1", "λ2", "λ3", "tr ∇²L", "clusters"];
    // (series, step) -> the finished runs' values.
    let mut values: std::collections::BTreeMap<(usize, i64), Vec<f64>> = Default::default();
    for t in parts("trajectories") {
        let (ids, steps) = (t.column_str("run_id"), t.column_i64("step"));
        let eigs = t.column_list_f64("hessian_eigs");
        let trace = t.column_f64("trace_hessian");
        let clusters = t.column_i64("neuron_clusters");
        for i in 0..ids.len() {
            if !finished.contains(&ids[i]) || steps[i] == 0 {
                continue;
            }
            assert_eq!(eigs[i].len(), 3, "hessian_top_k = 3");
            let row = [
                eigs[i][0],
                eigs[i][1],
                eigs[i][2],
                trace[i],
                clusters[i] as f64,
            ];
            for (s, v) in row.into_iter().enumerate() {
                // A log axis shows positive values only.
                if v > 0.0 {
                    values.entry((s, steps[i])).or_default().push(v);
                }
            }
        }
    }
    assert!(values.len() > 5 * 8, "{} points", values.len());

    let fig = ParquetTable::read(&report.join("curvature.parquet"));
    let (panel, name) = (fig.column_str("panel"), fig.column_str("series"));
    let (eta, x, y) = (
        fig.column_f64("eta"),
        fig.column_f64("x"),
        fig.column_f64("y"),
    );
    let (q25, q75) = (fig.column_f64("y_q25"), fig.column_f64("y_q75"));
    let (seeds, runs, diverged) = (
        fig.column_i64("seeds"),
        fig.column_i64("runs"),
        fig.column_i64("diverged"),
    );
    let mut drawn: std::collections::BTreeMap<(usize, i64), [f64; 4]> = Default::default();
    for i in 0..fig.num_rows() {
        if eta[i] == 4.0 {
            // The diverged cell: a note in each panel, its seeds counted.
            assert!(x[i].is_nan() && y[i].is_nan() && seeds[i] == 0, "row {i}");
            assert_eq!((runs[i], diverged[i]), (2, 2));
            assert!(panel[i].ends_with("(all 2 seeds diverged)"), "{}", panel[i]);
            continue;
        }
        assert_eq!((eta[i], runs[i], diverged[i]), (0.02, 3, 0));
        assert!(panel[i].ends_with("(3 seeds, 0 diverged)"), "{}", panel[i]);
        let Some(s) = series.iter().position(|s| *s == name[i]) else {
            assert_eq!(name[i], "effective rank of Z");
            continue;
        };
        let side = if s < 4 {
            "Hessian — "
        } else {
            "neurons — "
        };
        assert!(panel[i].starts_with(side), "{} in {}", name[i], panel[i]);
        drawn.insert((s, x[i] as i64), [y[i], q25[i], q75[i], seeds[i] as f64]);
    }
    assert_eq!(
        drawn.keys().collect::<Vec<_>>(),
        values.keys().collect::<Vec<_>>(),
        "one point per series and recorded step"
    );
    for (key, mut v) in values {
        v.sort_by(f64::total_cmp);
        let want = [
            linear_quantile(&v, 0.5),
            linear_quantile(&v, 0.25),
            linear_quantile(&v, 0.75),
            v.len() as f64,
        ];
        assert_eq!(drawn[&key], want, "{} at step {}", series[key.0], key.1);
    }
    assert!(
        std::fs::read_to_string(report.join("curvature.svg"))
            .unwrap()
            .contains("all 2 seeds diverged"),
        "the note is not drawn"
    );
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(md.contains("curvature.parquet"), "{md}");
}
