//! The analysis of a small synthetic dataset, written here with the parquet
//! crate, checked against values computed by hand; every figure decoded;
//! the HTML's links resolved; bad input refused with one clear error.

mod support;

use arrow_array::builder::{Float64Builder, LargeListBuilder, ListBuilder};
use arrow_array::{
    Array, ArrayRef, Float64Array, Int64Array, LargeStringArray, RecordBatch, StringArray,
};
use serde_json::json;
use sharpsweep_analyze::{AnalyzeError, FigureOutcome, Options, report};
use std::path::Path;
use std::sync::Arc;
use support::write_parquet;

/// The schema version the reader understands: what sharpsweep writes now.
fn current() -> String {
    sharpsweep_dataset::metadata::SCHEMA_VERSION.to_string()
}

const STEPS: [i64; 4] = [0, 10, 100, 1000];
const NAN: f64 = f64::NAN;

/// One synthetic run: its cell, seed, s₂/s₁ at each of STEPS and final R
/// (R* = 20 everywhere). A diverged run's s₂/s₁ falls as it blows up, like
/// a collapse, while its R and gradient grow without bound.
struct Run {
    eta: f64,
    sigma: f64,
    seed: u64,
    ratios: [f64; 4],
    r: f64,
    diverged: bool,
}

impl Run {
    fn diverged(&self) -> bool {
        self.diverged
    }
    fn config(&self) -> String {
        json!({"activation": "cubic-linear", "beta": 1.0, "m": 2, "n": 2, "d": 3,
               "eta": self.eta, "sigma": self.sigma, "seed": self.seed, "steps": 1000})
        .to_string()
    }
    fn id(&self) -> String {
        format!(
            "{:016x}",
            (self.eta * 1e3) as u64 * 1_000_000 + (self.sigma * 1e3) as u64 * 1000 + self.seed
        )
    }
}

/// The hand-computed cell (η = 0.1, σ = 0.1) and three more, so that two
/// axes are swept and 1/(η²σ²) takes three values.
fn runs() -> Vec<Run> {
    let mut v = vec![
        Run {
            eta: 0.1,
            sigma: 0.1,
            seed: 1,
            ratios: [0.9, 0.5, 0.2, 0.08],
            r: 21.0,
            diverged: false,
        },
        Run {
            eta: 0.1,
            sigma: 0.1,
            seed: 2,
            ratios: [0.9, 0.3, 0.05, 0.005],
            r: 22.0,
            diverged: false,
        },
        Run {
            eta: 0.1,
            sigma: 0.1,
            seed: 3,
            ratios: [0.9, 0.09, 0.009, 0.0009],
            r: 24.0,
            diverged: false,
        },
        Run {
            eta: 0.1,
            sigma: 0.1,
            seed: 4,
            ratios: [0.9, 1e-3, 1e-5, 1e-7],
            r: NAN,
            diverged: true,
        },
    ];
    for (eta, sigma, fast) in [(0.2, 0.1, 0.5), (0.1, 0.2, 0.3), (0.2, 0.2, 0.1)] {
        for seed in 1..=2 {
            let s = fast * seed as f64;
            v.push(Run {
                eta,
                sigma,
                seed,
                ratios: [0.9, 0.5 * s, 0.005 * s, 0.0001 * s],
                r: 20.5,
                diverged: false,
            });
        }
    }
    v
}

/// Small row groups, so the reader's streaming over them is exercised.
fn write(path: &Path, columns: Vec<(&str, ArrayRef)>, version: &str) {
    write_parquet(path, columns, version, 7);
}

/// Strings and lists as sharpsweep writes them, or in their Large forms
/// as a file rewritten by pandas or polars holds them.
struct Encoding {
    large: bool,
}

impl Encoding {
    fn strings(&self, v: impl Iterator<Item = String>) -> ArrayRef {
        let v: Vec<String> = v.collect();
        if self.large {
            Arc::new(v.iter().map(Some).collect::<LargeStringArray>())
        } else {
            Arc::new(v.iter().map(Some).collect::<StringArray>())
        }
    }
    fn lists(&self, v: impl Iterator<Item = Vec<f64>>) -> ArrayRef {
        if self.large {
            let mut b = LargeListBuilder::new(Float64Builder::new());
            for xs in v {
                b.values().append_slice(&xs);
                b.append(true);
            }
            Arc::new(b.finish())
        } else {
            let mut b = ListBuilder::new(Float64Builder::new());
            for xs in v {
                b.values().append_slice(&xs);
                b.append(true);
            }
            Arc::new(b.finish())
        }
    }
}

fn floats(v: impl Iterator<Item = f64>) -> ArrayRef {
    Arc::new(
        v.map(|x| (!x.is_nan()).then_some(x))
            .collect::<Float64Array>(),
    )
}

/// Z (n = 2, m = 2, row-major) of a run at record k: the neurons approach
/// each other and z* = (0.1, 0.2) as the ratio falls.
fn z(run: &Run, k: usize) -> Vec<f64> {
    let e = run.ratios[k];
    vec![0.1 - e, 0.1 + e, 0.2 - e / 2.0, 0.2 + e / 2.0]
}

fn runs_columns(runs: &[Run], enc: &Encoding) -> Vec<(&'static str, ArrayRef)> {
    let last = |f: fn(&Run) -> f64| floats(runs.iter().map(f));
    vec![
        ("run_id", enc.strings(runs.iter().map(Run::id))),
        (
            "status",
            enc.strings(
                runs.iter()
                    .map(|r| if r.diverged() { "diverged" } else { "finished" }.to_string()),
            ),
        ),
        (
            "steps_done",
            Arc::new(
                runs.iter()
                    .map(|r| if r.diverged() { 10 } else { 1000 })
                    .collect::<Int64Array>(),
            ),
        ),
        ("config", enc.strings(runs.iter().map(Run::config))),
        (
            "loss",
            last(|r| {
                if r.diverged() {
                    NAN
                } else {
                    1e-3 * r.seed as f64
                }
            }),
        ),
        ("sharpness_r", last(|r| r.r)),
        ("sharpness_r_star", last(|_| 20.0)),
        ("riem_grad_norm", last(|r| r.ratios[3])),
        ("dist_to_optimum", last(|r| r.ratios[3])),
        ("sv_ratio2_z", last(|r| r.ratios[3])),
        ("sv_ratio3_z", last(|r| r.ratios[3] / 10.0)),
        ("sv_ratio2_phi", last(|r| r.ratios[3])),
        ("sv_ratio3_phi", last(|r| r.ratios[3] / 10.0)),
        ("z_star", enc.lists(runs.iter().map(|_| vec![0.1, 0.2]))),
    ]
}

/// s₂/s₁ at record k, or for a diverged run a value that grows as it
/// falls (its R and gradient norm blowing up).
fn blowup(run: &Run, k: usize) -> f64 {
    if run.diverged() && k > 0 {
        1e20 / run.ratios[k]
    } else {
        run.ratios[k]
    }
}

fn trajectory_columns(runs: &[Run], enc: &Encoding) -> Vec<(&'static str, ArrayRef)> {
    let rows: Vec<(&Run, usize)> = runs
        .iter()
        .flat_map(|r| (0..4).map(move |k| (r, k)))
        .collect();
    let each = |f: &dyn Fn(&Run, usize) -> f64| floats(rows.iter().map(|(r, k)| f(r, *k)));
    vec![
        ("run_id", enc.strings(rows.iter().map(|(r, _)| r.id()))),
        (
            "step",
            Arc::new(rows.iter().map(|(_, k)| STEPS[*k]).collect::<Int64Array>()),
        ),
        (
            "sv_z",
            enc.lists(rows.iter().map(|(r, k)| vec![1.0, r.ratios[*k]])),
        ),
        ("sv_ratio2_z", each(&|r, k| r.ratios[k])),
        ("sharpness_r", each(&|r, k| 20.0 + 10.0 * blowup(r, k))),
        ("riem_grad_norm", each(&|r, k| blowup(r, k))),
        ("z", enc.lists(rows.iter().map(|(r, k)| z(r, *k)))),
    ]
}

/// A sweep dataset of [`runs`]: runs split over two parts, trajectories
/// over two.
fn sweep(dir: &Path, enc: &Encoding) {
    sweep_of(dir, enc, &runs());
}

/// A sweep dataset of `runs`, split as [`sweep`] splits them.
fn sweep_of(dir: &Path, enc: &Encoding, runs: &[Run]) {
    std::fs::create_dir_all(dir.join("runs")).unwrap();
    std::fs::create_dir_all(dir.join("trajectories")).unwrap();
    let (a, b) = runs.split_at(5);
    for (k, part) in [a, b].into_iter().enumerate() {
        write(
            &dir.join(format!("runs/part-{k:05}.parquet")),
            runs_columns(part, enc),
            &current(),
        );
        write(
            &dir.join(format!("trajectories/part-{k:05}.parquet")),
            trajectory_columns(part, enc),
            &current(),
        );
    }
    std::fs::write(
        dir.join("grid.json"),
        r#"{"eta": [0.1, 0.2], "sigma": [0.1, 0.2]}"#,
    )
    .unwrap();
    std::fs::write(dir.join("provenance.json"), r#"{"tool": "synthetic test"}"#).unwrap();
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() <= 1e-12 * b.abs().max(1.0))
}

#[test]
fn cell_quartiles_match_hand_computed_values_in_both_encodings() {
    for large in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        sweep(&tmp.path().join("data"), &Encoding { large });
        let s = report(
            &tmp.path().join("data"),
            &tmp.path().join("report"),
            &Options::default(),
        )
        .unwrap();
        assert_eq!(s.cells.len(), 4);
        let c = s
            .cell(&[("eta", json!(0.1)), ("sigma", json!(0.1))])
            .expect("the hand-computed cell");
        let st = |name: &str| c.summary.stat(name).unwrap();
        assert_eq!((c.summary.runs, c.summary.diverged), (4, 1));
        assert_eq!(c.summary.divergence_rate(), 0.25);
        // Final s2/s1 of the three finished seeds: 0.0009, 0.005, 0.08.
        let q = st("sv_ratio2_z");
        assert!(
            close(q.median, 0.005) && close(q.q25, 0.00295) && close(q.q75, 0.0425),
            "{q:?}"
        );
        // R − R* = 1, 2, 4.
        let q = st("r_gap");
        assert!(
            close(q.median, 2.0) && close(q.q25, 1.5) && close(q.q75, 3.0),
            "{q:?}"
        );
        // First recorded step below 1e-1: 1000, 100, 10.
        let q = st("steps_to_0_1");
        assert!(
            close(q.median, 100.0) && close(q.q25, 55.0) && close(q.q75, 550.0),
            "{q:?}"
        );
        // Below 1e-2: 1000, 100 and never: the upper quartile is not reached.
        let q = st("steps_to_0_01");
        assert!(
            close(q.median, 1000.0) && close(q.q25, 550.0) && q.q75.is_none(),
            "{q:?}"
        );
        // Below 1e-3: one seed of three: no median.
        assert_eq!(st("steps_to_0_001").median, None);
        assert!((c.summary.reached[1] - 2.0 / 3.0).abs() < 1e-15);
    }
}

#[test]
fn summary_parquet_holds_the_report_values_per_cell() {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let tmp = tempfile::tempdir().unwrap();
    sweep(&tmp.path().join("data"), &Encoding { large: false });
    report(
        &tmp.path().join("data"),
        &tmp.path().join("report"),
        &Options::default(),
    )
    .unwrap();
    let file = std::fs::File::open(tmp.path().join("report/summary.parquet")).unwrap();
    let batches: Vec<RecordBatch> = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let b = &batches[0];
    let col = |n: &str| {
        b.column_by_name(n)
            .unwrap_or_else(|| panic!("{n}"))
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap()
            .clone()
    };
    let (eta, sigma, median, rate) = (
        col("eta"),
        col("sigma"),
        col("sv_ratio2_z_median"),
        col("divergence_rate"),
    );
    let row = (0..b.num_rows())
        .find(|&i| eta.value(i) == 0.1 && sigma.value(i) == 0.1)
        .unwrap();
    assert!((median.value(row) - 0.005).abs() < 1e-15);
    assert_eq!(rate.value(row), 0.25);
    assert!(col("steps_to_0_01_q75").is_null(row));
}

#[test]
fn every_figure_renders_a_nonblank_png_of_its_svg_size() {
    let tmp = tempfile::tempdir().unwrap();
    sweep(&tmp.path().join("data"), &Encoding { large: false });
    let out = tmp.path().join("report");
    let s = report(&tmp.path().join("data"), &out, &Options::default()).unwrap();
    assert_eq!(s.figures.len(), sharpsweep_analyze::figures::ALL.len());
    // The synthetic runs are label-noise runs: [G24]'s figures are drawn,
    // the other dynamics' figures are skipped (tests/cli_analyze.rs draws
    // those from real sweeps).
    for (stem, outcome) in &s.figures {
        let g24 = [
            "spectrum",
            "neurons",
            "heatmap",
            "convergence",
            "sharpness",
            "label_noise",
        ]
        .contains(stem);
        assert_eq!(
            matches!(outcome, FigureOutcome::Drawn { .. }),
            g24,
            "{stem}: {outcome:?}"
        );
        if !g24 {
            continue;
        }
        let decoder = png::Decoder::new(std::io::BufReader::new(
            std::fs::File::open(out.join(format!("{stem}.png"))).unwrap(),
        ));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        let pixels = &buf[..info.buffer_size()];
        let svg = std::fs::read_to_string(out.join(format!("{stem}.svg"))).unwrap();
        let head = format!("width=\"{}\" height=\"{}\"", info.width, info.height);
        assert!(
            svg.contains(&head),
            "{stem}: PNG {}x{} but SVG {}",
            info.width,
            info.height,
            &svg[..200]
        );
        assert!(
            info.width >= 900 && info.height >= 500,
            "{stem}: {}x{}",
            info.width,
            info.height
        );
        let px = info.color_type.samples();
        let mut colours: Vec<&[u8]> = pixels.chunks(px).collect();
        colours.sort();
        colours.dedup();
        assert!(
            colours.len() > 20,
            "{stem}: only {} distinct colours",
            colours.len()
        );
        // Ink (dark pixels: text, lines) covers a visible fraction of the image.
        let dark = pixels
            .chunks(px)
            .filter(|p| p[..3].iter().all(|&c| c < 100))
            .count();
        assert!(dark * 1000 > pixels.len() / px, "{stem}: almost no ink");
    }
    // Four cells in a 3-wide grid: two rows of 520×440 panels under a title.
    let header = std::fs::read_to_string(out.join("spectrum.svg")).unwrap();
    assert!(header.contains("width=\"1560\" height=\"930\""));
}

#[test]
fn the_html_references_only_files_that_exist() {
    let tmp = tempfile::tempdir().unwrap();
    sweep(&tmp.path().join("data"), &Encoding { large: false });
    let out = tmp.path().join("report");
    report(&tmp.path().join("data"), &out, &Options::default()).unwrap();
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    let mut links = 0;
    for attr in ["src=\"", "href=\""] {
        for piece in html.split(attr).skip(1) {
            let target = &piece[..piece.find('"').unwrap()];
            assert!(
                !target.contains("://") && !target.starts_with('/'),
                "{target}"
            );
            assert!(
                out.join(target).is_file(),
                "index.html links to missing {target}"
            );
            links += 1;
        }
    }
    assert!(links >= 10, "{links} links");
    assert!(html.contains("synthetic test"), "provenance.json is shown");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("| η=0.1, σ=0.1 | 4 | 1 (25%) | 0.005 [0.003, 0.0425]"),
        "{md}"
    );
}

fn error_of(dir: &Path) -> AnalyzeError {
    report(dir, &dir.join("report"), &Options::default()).expect_err("bad input must fail")
}

#[test]
fn a_directory_without_a_dataset_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let e = error_of(tmp.path());
    assert!(matches!(e, AnalyzeError::NotADataset(_)), "{e}");
    assert!(e.to_string().contains(&tmp.path().display().to_string()));
    assert!(!e.to_string().contains('\n'));
}

#[test]
fn a_missing_column_is_named_with_its_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let runs = runs();
    let enc = Encoding { large: false };
    let mut cols = runs_columns(&runs, &enc);
    cols.retain(|(n, _)| *n != "sv_ratio3_phi");
    write(&dir.join("runs.parquet"), cols, &current());
    write(
        &dir.join("trajectory.parquet"),
        trajectory_columns(&runs, &enc),
        &current(),
    );
    let e = error_of(dir);
    let text = e.to_string();
    assert!(
        text.contains("runs.parquet") && text.contains("'sv_ratio3_phi'"),
        "{text}"
    );
}

#[test]
fn a_file_of_another_schema_version_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let runs = runs();
    let enc = Encoding { large: false };
    write(
        &dir.join("runs.parquet"),
        runs_columns(&runs, &enc),
        &current(),
    );
    write(
        &dir.join("trajectory.parquet"),
        trajectory_columns(&runs, &enc),
        "999",
    );
    let e = error_of(dir);
    assert!(matches!(e, AnalyzeError::SchemaVersion { .. }), "{e}");
    assert!(
        e.to_string().contains("trajectory.parquet") && e.to_string().contains("version 999"),
        "{e}"
    );
}

#[test]
fn a_corrupt_file_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    sweep(dir, &Encoding { large: false });
    std::fs::write(
        dir.join("trajectories/part-00001.parquet"),
        b"PAR1 this is not parquet",
    )
    .unwrap();
    let e = error_of(dir);
    assert!(matches!(e, AnalyzeError::Damaged { .. }), "{e}");
    assert!(e.to_string().contains("part-00001.parquet"), "{e}");
    assert!(e.to_string().contains("sharpsweep verify"), "{e}");
}

#[test]
fn figures_without_data_are_skipped_with_a_note() {
    // One cell: no swept axes for a heatmap, no 1/(η²σ²) range to fit.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    std::fs::create_dir_all(&dir).unwrap();
    let runs: Vec<Run> = runs().into_iter().take(4).collect();
    let enc = Encoding { large: false };
    write(
        &dir.join("runs.parquet"),
        runs_columns(&runs, &enc),
        &current(),
    );
    write(
        &dir.join("trajectory.parquet"),
        trajectory_columns(&runs, &enc),
        &current(),
    );
    let s = report(&dir, &tmp.path().join("report"), &Options::default()).unwrap();
    let skipped: Vec<&str> = s
        .figures
        .iter()
        .filter(|(_, o)| matches!(o, FigureOutcome::Skipped(_)))
        .map(|(f, _)| *f)
        .collect();
    assert_eq!(
        skipped,
        [
            "heatmap",
            "convergence",
            "curvature",
            "flow",
            "sam",
            "margin",
            "stability"
        ]
    );
    let md = std::fs::read_to_string(tmp.path().join("report/report.md")).unwrap();
    assert!(
        md.contains("not drawn: fewer than two numeric axes are swept"),
        "{md}"
    );
    assert!(
        md.contains("not drawn: no 1-SAM runs (algorithm = sam)"),
        "{md}"
    );
    assert!(!tmp.path().join("report/heatmap.png").exists());
}

#[test]
fn the_heatmap_axes_must_be_swept() {
    let tmp = tempfile::tempdir().unwrap();
    sweep(&tmp.path().join("data"), &Encoding { large: false });
    let opts = Options {
        heatmap_axes: Some(("eta".into(), "m".into())),
        ..Options::default()
    };
    let e = report(&tmp.path().join("data"), &tmp.path().join("report"), &opts).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("--heatmap-y: 'm' is not a swept numeric axis"),
        "{e}"
    );
}

/// One row of a figure's data file (`<stem>.parquet`).
#[derive(Debug)]
struct Drawn {
    eta: Option<f64>,
    sigma: Option<f64>,
    panel: String,
    series: String,
    x: Option<f64>,
    y: Option<f64>,
    q: [Option<f64>; 2],
    seeds: i64,
    runs: i64,
    diverged: i64,
}

fn figure_data(path: &Path) -> Vec<Drawn> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut rows = Vec::new();
    for b in ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
    {
        let b = b.unwrap();
        let col = |n: &str| b.column_by_name(n).unwrap_or_else(|| panic!("{n}")).clone();
        let float = |n: &str, i: usize| {
            let c = col(n);
            let c = c.as_any().downcast_ref::<Float64Array>().unwrap();
            (!c.is_null(i)).then(|| c.value(i))
        };
        let int = |n: &str, i: usize| {
            let c = col(n);
            c.as_any().downcast_ref::<Int64Array>().unwrap().value(i)
        };
        let text = |n: &str, i: usize| {
            let c = col(n);
            c.as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .value(i)
                .to_string()
        };
        for i in 0..b.num_rows() {
            rows.push(Drawn {
                eta: float("eta", i),
                sigma: float("sigma", i),
                panel: text("panel", i),
                series: text("series", i),
                x: float("x", i),
                y: float("y", i),
                q: [float("y_q25", i), float("y_q75", i)],
                seeds: int("seeds", i),
                runs: int("runs", i),
                diverged: int("diverged", i),
            });
        }
    }
    rows
}

#[test]
fn figures_draw_no_diverged_run_and_say_per_panel_how_many_diverged() {
    // The four cells of `runs` (η = σ = 0.1 has one diverged seed of four)
    // and a cell (η = 0.3, σ = 0.1) whose every seed diverged.
    let mut all = runs();
    for seed in 1..=3 {
        all.push(Run {
            eta: 0.3,
            sigma: 0.1,
            seed,
            ratios: [0.9, 1e-2, 1e-4, 1e-5 * seed as f64],
            r: NAN,
            diverged: true,
        });
    }
    let tmp = tempfile::tempdir().unwrap();
    sweep_of(&tmp.path().join("data"), &Encoding { large: false }, &all);
    let out = tmp.path().join("report");
    let s = report(&tmp.path().join("data"), &out, &Options::default()).unwrap();
    let cell = |r: &Drawn, eta: f64| r.eta == Some(eta) && r.sigma == Some(0.1);

    for stem in ["spectrum", "sharpness", "neurons", "convergence", "heatmap"] {
        assert!(
            matches!(
                s.figures.iter().find(|(f, _)| *f == stem),
                Some((_, FigureOutcome::Drawn { .. }))
            ),
            "{stem}: {:?}",
            s.figures
        );
        let rows = figure_data(&out.join(format!("{stem}.parquet")));
        assert!(!rows.is_empty(), "{stem}");
        // Every point drawn comes from runs that did not diverge: no value of
        // a blown-up run (R and the gradient norm reach 1e25 and more; the
        // collapse of s2/s1 to 1e-7 as it blew up) is in any row.
        for r in &rows {
            for v in [r.y, r.q[0], r.q[1]].into_iter().flatten() {
                assert!(v < 1e10, "{stem}: {r:?}");
                if stem == "spectrum" {
                    assert!(v > 5e-6, "{stem}: {r:?}");
                }
            }
        }
        // The all-diverged cell is a note: rows without a value, no seeds,
        // its three seeds counted as diverged.
        let gone: Vec<&Drawn> = rows.iter().filter(|r| cell(r, 0.3)).collect();
        assert!(
            !gone.is_empty(),
            "{stem}: the all-diverged cell is not noted"
        );
        for r in &gone {
            assert_eq!((r.runs, r.diverged), (3, 3), "{stem}: {r:?}");
            if r.panel != "divergence rate" {
                assert!(
                    r.y.is_none() && r.x.is_none() && r.seeds == 0,
                    "{stem}: {r:?}"
                );
            } else {
                assert_eq!((r.y, r.seeds), (Some(1.0), 3), "{stem}: {r:?}");
            }
        }
        // The mixed cell: four seeds, one diverged.
        for r in rows.iter().filter(|r| cell(r, 0.1)) {
            assert_eq!((r.runs, r.diverged), (4, 1), "{stem}: {r:?}");
            // A divergence rate is over every seed; anything else is not.
            let seeds = if r.panel == "divergence rate" { 4 } else { 3 };
            assert!(r.seeds <= seeds, "{stem}: {r:?}");
        }
    }

    // The spectrum: the mixed cell's panel says how many diverged, and its
    // median at the last step is over the three finished seeds' 0.08,
    // 0.005 and 0.0009; the all-diverged cell's panel is a note.
    let spectrum = figure_data(&out.join("spectrum.parquet"));
    let last = spectrum
        .iter()
        .find(|r| cell(r, 0.1) && r.series == "s2/s1" && r.x == Some(1000.0))
        .expect("the mixed cell's s2/s1 at step 1000");
    assert_eq!((last.y, last.seeds), (Some(0.005), 3), "{last:?}");
    assert!(last.panel.ends_with("(4 seeds, 1 diverged)"), "{last:?}");
    let note = spectrum.iter().find(|r| cell(r, 0.3)).unwrap();
    assert!(note.panel.ends_with("(all 3 seeds diverged)"), "{note:?}");
    let svg = std::fs::read_to_string(out.join("spectrum.svg")).unwrap();
    assert!(
        svg.contains("all 3 seeds diverged"),
        "the note is not drawn"
    );
    assert!(
        svg.contains("4 seeds, 1 diverged"),
        "the count is not drawn"
    );

    // The sharpness figure: the gradient norm of the mixed cell at step 10
    // over its finished seeds only (0.5, 0.3, 0.09), its legend counting
    // the diverged seed.
    let sharpness = figure_data(&out.join("sharpness.parquet"));
    let first = sharpness
        .iter()
        .find(|r| cell(r, 0.1) && r.panel == "‖P_T ∇R(Θ)‖" && r.x == Some(10.0))
        .unwrap();
    assert_eq!((first.y, first.seeds), (Some(0.3), 3), "{first:?}");
    assert!(first.series.contains("(4 seeds, 1 diverged)"), "{first:?}");
    let svg = std::fs::read_to_string(out.join("sharpness.svg")).unwrap();
    assert!(
        svg.contains("all 3 seeds diverged"),
        "the note is not drawn"
    );

    // The report says where the figures' data is.
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("spectrum.parquet"), "{md}");
}

/// The panels of a figure's data file, each once, in file order.
fn panels(path: &Path) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for row in figure_data(path) {
        if !seen.contains(&row.panel) {
            seen.push(row.panel);
        }
    }
    seen
}

#[test]
fn a_reproduce_dataset_is_shown_by_its_grid_tables_and_the_papers_settings() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    sweep(&data, &Encoding { large: false });
    // The hand-computed cell is a [[grid]] table of its own (a setting of
    // the paper); the other three sweep a plane in a second table.
    let points: Vec<serde_json::Value> = runs()
        .iter()
        .map(|r| {
            let table = if (r.eta, r.sigma) == (0.1, 0.1) { 0 } else { 1 };
            json!({"run_id": r.id(), "table": table, "replicate": r.seed})
        })
        .collect();
    let grid = json!({"fingerprint": "0", "run_ids": [], "grid": {"points": points}});
    std::fs::write(data.join("grid.json"), grid.to_string()).unwrap();
    let provenance = json!({"sessions": [{"command": ["sharpsweep", "reproduce", "-q"]}]});
    std::fs::write(data.join("provenance.json"), provenance.to_string()).unwrap();
    let out = tmp.path().join("report");
    let s = report(&data, &out, &Options::default()).unwrap();
    assert!(
        s.notes
            .iter()
            .any(|n| n.contains("made by `sharpsweep reproduce`")),
        "{:?}",
        s.notes
    );
    // The per-cell figures draw the paper's setting only; the heatmap all four.
    assert_eq!(panels(&out.join("spectrum.parquet")).len(), 1);
    let heat: Vec<Drawn> = figure_data(&out.join("heatmap.parquet"));
    assert_eq!(
        heat.iter().filter(|r| r.panel == "divergence rate").count(),
        4
    );
    // The summary has a section per table, cells labelled by what varies
    // within it.
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let t0 = md.find("### [[grid]] table 0: η=0.1, σ=0.1").expect(&md);
    let t1 = md.find("### [[grid]] table 1").expect(&md);
    assert!(t0 < t1);
    assert!(
        md[t0..t1].contains("| its one cell | 4 | 1 (25%) |"),
        "{md}"
    );
    assert!(md[t1..].contains("| η=0.2, σ=0.1 | 2 |"), "{md}");
    // The same with --select: every figure draws what it names.
    let opts = Options {
        select: vec![
            "sigma=0.1,0.15".parse().unwrap(),
            "eta=0.05..0.2".parse().unwrap(),
        ],
        ..Options::default()
    };
    report(&data, &out, &opts).unwrap();
    assert_eq!(panels(&out.join("spectrum.parquet")).len(), 2);
}
