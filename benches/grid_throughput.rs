//! Grid throughput: 256 label-noise runs at [G24]'s size (m, d, n) =
//! (10, 3, 3), 10⁵ steps each (a grid of 64 replicates × 4 noise levels), through the whole sweep engine into a fresh
//! dataset, on 1 and 2 worker threads, with the runs stepped as SIMD lane
//! groups (`BATCHED = true`, the default) or one by one. Items/s are
//! run-steps/s; the two paths write the same dataset bit for bit
//! (tests/sweep_lanes.rs). See docs/performance.md.
//!
//! Also the expansion of a grid with a 10⁶-value axis (`expand_million_axis`).
//!
//! `cargo bench --workspace --bench grid_throughput`

use divan::Bencher;
use divan::counter::ItemsCount;
use sharpsweep_sweep::{Alone, Grid, Plan, SweepOptions, Unwatched, run_plan};
use std::sync::atomic::AtomicBool;

/// The CLI's allocator (src/main.rs says why), so that the engine is timed
/// as a user runs it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const RUNS: u64 = 256;
const STEPS: u64 = 100_000;

fn main() {
    divan::main();
}

/// 64 replicates × 4 noise levels at η = 0.005, where none of these runs
/// diverges, so every run takes all its steps.
const GRID: &str = r#"
seed = 1
[[grid]]
steps = 100000
eta = 0.005
sigma = [0.02, 0.05, 0.1, 0.2]
seeds = 64
log_points = 20
"#;

#[divan::bench(args = [1, 2], consts = [false, true], sample_count = 3, sample_size = 1)]
fn sweep_10_3_3<const BATCHED: bool>(bencher: Bencher, threads: usize) {
    let plan = Plan::from_grid(&Grid::from_toml(GRID, &[]).unwrap());
    assert_eq!(plan.configs.len() as u64, RUNS);
    let opts = SweepOptions {
        threads: Some(threads),
        quiet: true,
        lanes: BATCHED,
        ..Default::default()
    };
    bencher
        .counter(ItemsCount::new(RUNS * STEPS))
        .with_inputs(|| tempfile::tempdir().unwrap())
        .bench_values(|dir| {
            let report = run_plan(
                &plan,
                &dir.path().join("ds"),
                &opts,
                &AtomicBool::new(false),
                &mut Alone,
                &mut Unwatched,
            )
            .unwrap();
            assert_eq!((report.finished, report.diverged), (RUNS as usize, 0));
            dir
        });
}

/// `Grid::from_toml` of a grid with one 10⁶-value axis: every point built,
/// validated and given its run_id (docs/performance.md, Grid expansion).
#[divan::bench(sample_count = 3, sample_size = 1)]
fn expand_million_axis(bencher: Bencher) {
    const AXIS: &str = "[[grid]]\neta = { log = [1e-6, 1e-1], num = 1_000_000 }\n";
    bencher
        .counter(ItemsCount::new(1_000_000u64))
        .bench(|| Grid::from_toml(AXIS, &[]).unwrap().points.len());
}
