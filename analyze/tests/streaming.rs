//! The analysis of a dataset of 4 000 runs and 200 000 trajectory rows
//! (written here with the parquet crate, in row groups of 8 192 rows, with
//! columns the analysis has no use for) reads only the column chunks it
//! needs, keeps its heap well below the size of the trajectory table, and
//! gets the per-cell steps to s₂/s₁ < 10⁻² that a direct computation over
//! the rows gives.
//!
//! One test in this binary: it counts the heap of the whole process.

mod support;

use arrow_array::builder::{Float64Builder, ListBuilder};
use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::{FileReader, SerializedFileReader};
use serde_json::json;
use sharpsweep_analyze::{Options, report};
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use support::write_parquet;

/// The system allocator, counting the bytes in use and their peak.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const ETAS: [f64; 5] = [0.01, 0.02, 0.03, 0.04, 0.05];
const SIGMAS: [f64; 4] = [0.1, 0.2, 0.3, 0.4];
const SEEDS: u64 = 200;
/// Rows per run, at steps 0, 10, 20, …
const ROWS: usize = 50;
/// n × m of Z.
const N: usize = 3;
const M: usize = 10;

struct Run {
    id: String,
    eta: f64,
    sigma: f64,
    seed: u64,
}

impl Run {
    /// s₂/s₁ at row k: 0.5·10^(−k/c), c from 4 to 13 with the seed.
    fn ratio(&self, k: usize) -> f64 {
        0.5 * 10f64.powf(-(k as f64) / (4 + self.seed % 10) as f64)
    }
}

fn runs() -> Vec<Run> {
    let mut v = Vec::new();
    for &eta in &ETAS {
        for &sigma in &SIGMAS {
            for seed in 0..SEEDS {
                v.push(Run {
                    id: format!("{:016x}", v.len()),
                    eta,
                    sigma,
                    seed,
                });
            }
        }
    }
    v
}

fn floats(v: impl Iterator<Item = f64>) -> ArrayRef {
    Arc::new(v.collect::<Float64Array>())
}

fn lists(v: impl Iterator<Item = Vec<f64>>) -> ArrayRef {
    let mut b = ListBuilder::new(Float64Builder::new());
    for xs in v {
        b.values().append_slice(&xs);
        b.append(true);
    }
    Arc::new(b.finish())
}

fn write(path: &Path, columns: Vec<(&str, ArrayRef)>) {
    write_parquet(
        path,
        columns,
        &sharpsweep_dataset::metadata::SCHEMA_VERSION.to_string(),
        8192,
    );
}

fn dataset(dir: &Path, runs: &[Run]) {
    std::fs::create_dir_all(dir.join("runs")).unwrap();
    std::fs::create_dir_all(dir.join("trajectories")).unwrap();
    let last = |f: &dyn Fn(&Run) -> f64| floats(runs.iter().map(f));
    let config = |r: &Run| {
        json!({"activation": "cubic-linear", "m": M, "n": N, "d": 3, "eta": r.eta,
               "sigma": r.sigma, "seed": r.seed, "steps": 10 * (ROWS - 1)})
        .to_string()
    };
    write(
        &dir.join("runs/part-00000.parquet"),
        vec![
            (
                "run_id",
                Arc::new(
                    runs.iter()
                        .map(|r| Some(r.id.clone()))
                        .collect::<StringArray>(),
                ),
            ),
            (
                "status",
                Arc::new(
                    runs.iter()
                        .map(|_| Some("finished"))
                        .collect::<StringArray>(),
                ),
            ),
            (
                "steps_done",
                Arc::new(
                    runs.iter()
                        .map(|_| 10 * (ROWS as i64 - 1))
                        .collect::<Int64Array>(),
                ),
            ),
            (
                "config",
                Arc::new(
                    runs.iter()
                        .map(|r| Some(config(r)))
                        .collect::<StringArray>(),
                ),
            ),
            ("loss", last(&|_| 1e-9)),
            ("sharpness_r", last(&|_| 21.0)),
            ("sharpness_r_star", last(&|_| 20.0)),
            ("riem_grad_norm", last(&|r| r.ratio(ROWS - 1))),
            ("dist_to_optimum", last(&|r| r.ratio(ROWS - 1))),
            ("sv_ratio2_z", last(&|r| r.ratio(ROWS - 1))),
            ("sv_ratio3_z", last(&|r| r.ratio(ROWS - 1) / 2.0)),
            ("sv_ratio2_phi", last(&|r| r.ratio(ROWS - 1))),
            ("sv_ratio3_phi", last(&|r| r.ratio(ROWS - 1) / 2.0)),
            ("z_star", lists(runs.iter().map(|_| vec![0.1, 0.2, 0.3]))),
            // Not needed by the analysis.
            ("theta", lists(runs.iter().map(|_| vec![0.5; M * 3]))),
        ],
    );
    let rows: Vec<(&Run, usize)> = runs
        .iter()
        .flat_map(|r| (0..ROWS).map(move |k| (r, k)))
        .collect();
    let each = |f: &dyn Fn(&Run, usize) -> f64| floats(rows.iter().map(|(r, k)| f(r, *k)));
    let z = |r: &Run, k: usize| {
        let e = r.ratio(k);
        (0..N * M)
            .map(|i| 0.1 * (i / M + 1) as f64 + e * ((i % M) as f64 - 4.5))
            .collect::<Vec<f64>>()
    };
    write(
        &dir.join("trajectories/part-00000.parquet"),
        vec![
            (
                "run_id",
                Arc::new(
                    rows.iter()
                        .map(|(r, _)| Some(r.id.clone()))
                        .collect::<StringArray>(),
                ),
            ),
            (
                "step",
                Arc::new(
                    rows.iter()
                        .map(|(_, k)| 10 * *k as i64)
                        .collect::<Int64Array>(),
                ),
            ),
            (
                "sv_z",
                lists(
                    rows.iter()
                        .map(|(r, k)| vec![1.0, r.ratio(*k), r.ratio(*k) / 2.0]),
                ),
            ),
            ("sv_ratio2_z", each(&|r, k| r.ratio(k))),
            ("sharpness_r", each(&|r, k| 20.0 + r.ratio(k))),
            ("riem_grad_norm", each(&|r, k| r.ratio(k))),
            ("z", lists(rows.iter().map(|(r, k)| z(r, *k)))),
            // Not needed by the analysis.
            ("loss", each(&|r, k| r.ratio(k) * 1e-3)),
            ("neuron_pc1", lists(rows.iter().map(|(r, k)| z(r, *k)))),
            (
                "sv_phi",
                lists(rows.iter().map(|(r, k)| vec![1.0, r.ratio(*k)])),
            ),
        ],
    );
}

fn metadata(path: &Path) -> Arc<ParquetMetaData> {
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    Arc::new(reader.metadata().clone())
}

/// Sum over row groups of the compressed size of the chunks of `columns`.
fn size_of(md: &ParquetMetaData, columns: &[&str]) -> u64 {
    md.row_groups()
        .iter()
        .flat_map(|rg| rg.columns())
        .filter(|c| columns.contains(&c.column_path().parts()[0].as_str()))
        .map(|c| c.compressed_size() as u64)
        .sum()
}

#[test]
fn analysis_of_200k_rows_reads_only_needed_chunks_in_bounded_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let runs = runs();
    dataset(&data, &runs);
    // Steps to s₂/s₁ < 1e-2 per cell, straight from the rows.
    let first_below = |r: &Run| (0..ROWS).find(|&k| r.ratio(k) < 1e-2).map(|k| 10 * k);
    let mut expected_median = Vec::new();
    for &eta in &ETAS {
        for &sigma in &SIGMAS {
            let mut t: Vec<f64> = runs
                .iter()
                .filter(|r| r.eta == eta && r.sigma == sigma)
                .map(|r| first_below(r).expect("every run gets there") as f64)
                .collect();
            t.sort_by(f64::total_cmp);
            // An even count: the mean of the two middle values.
            expected_median.push((eta, sigma, (t[t.len() / 2 - 1] + t[t.len() / 2]) / 2.0));
        }
    }

    let before = IN_USE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let s = report(&data, &tmp.path().join("report"), &Options::default()).unwrap();
    let peak = PEAK.load(Ordering::Relaxed) - before;

    assert_eq!(s.cells.len(), ETAS.len() * SIGMAS.len());
    for (eta, sigma, median) in expected_median {
        let c = s
            .cell(&[("eta", json!(eta)), ("sigma", json!(sigma))])
            .unwrap();
        assert_eq!(c.summary.runs, SEEDS as usize);
        let got = c.summary.stat("steps_to_0_01").unwrap().median;
        assert_eq!(got, Some(median), "eta={eta} sigma={sigma}");
    }

    // The column chunks read: the runs' needed columns once; the
    // trajectories' run_id and step in both passes, the curve columns in
    // the first, z in the second; nothing of the columns not needed.
    let runs_md = metadata(&data.join("runs/part-00000.parquet"));
    let traj_md = metadata(&data.join("trajectories/part-00000.parquet"));
    let runs_needed = [
        "run_id",
        "status",
        "steps_done",
        "config",
        "loss",
        "sharpness_r",
        "sharpness_r_star",
        "riem_grad_norm",
        "dist_to_optimum",
        "sv_ratio2_z",
        "sv_ratio3_z",
        "sv_ratio2_phi",
        "sv_ratio3_phi",
        "z_star",
    ];
    let keys = ["run_id", "step"];
    let first_pass = ["sv_z", "sv_ratio2_z", "sharpness_r", "riem_grad_norm"];
    let expected = size_of(&runs_md, &runs_needed)
        + 2 * size_of(&traj_md, &keys)
        + size_of(&traj_md, &first_pass)
        + size_of(&traj_md, &["z"]);
    assert!(
        traj_md.num_row_groups() > 20,
        "{}",
        traj_md.num_row_groups()
    );
    assert_eq!(s.bytes_read, expected);
    assert!(s.bytes_read < s.bytes_total);

    // Everything the analysis needs of the trajectories, decoded at once
    // into Arrow arrays, would be this big (f64 values, 16-byte run_ids,
    // i64 steps, i32 list offsets); streaming row groups keeps the heap to
    // a fraction of it.
    let rows = runs.len() * ROWS;
    let floats_per_row = N * M + 3 + 3;
    let whole = rows * (8 * floats_per_row + 16 + 4 + 8 + 2 * 4);
    assert!(
        peak < whole / 2,
        "peak heap {peak} bytes against {whole} bytes of needed trajectory columns"
    );
}
