//! Sweep overhead: 10 000 tiny runs (100 steps, 6 records each) through the
//! whole engine on one thread (scheduling, channel, Arrow batches, zstd
//! Parquet parts, fsync, renames), against the same runs trained in a bare
//! loop with no engine at all. The gap is the engine's cost; see
//! docs/performance.md.
//!
//! `cargo bench --workspace --bench sweep_overhead`

use sharpsweep_core::{RunConfig, Trainer};
use sharpsweep_sweep::{Alone, Plan, SweepOptions, run_plan};
use std::sync::atomic::AtomicBool;

const POINTS: u64 = 10_000;

fn tiny_runs() -> Vec<RunConfig> {
    (0..POINTS)
        .map(|seed| RunConfig {
            steps: 100,
            log_points: 4,
            eta: 0.02,
            seed,
            ..Default::default()
        })
        .collect()
}

fn main() {
    divan::main();
}

/// The runs alone: what a sweep cannot avoid.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn train_without_engine(b: divan::Bencher) {
    let configs = tiny_runs();
    b.bench(|| {
        for c in &configs {
            let mut t = Trainer::new(c).unwrap();
            divan::black_box(t.run(|r| {
                divan::black_box(r);
            }));
        }
    });
}

/// The same runs as a sweep into a fresh dataset, one worker thread.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn sweep_one_thread(b: divan::Bencher) {
    let plan = Plan::new("bench".into(), "null".into(), tiny_runs());
    let opts = SweepOptions {
        threads: Some(1),
        quiet: true,
        ..Default::default()
    };
    b.with_inputs(|| tempfile::tempdir().unwrap())
        .bench_values(|dir| {
            let report = run_plan(
                &plan,
                &dir.path().join("ds"),
                &opts,
                &AtomicBool::new(false),
                &mut Alone,
            )
            .unwrap();
            assert_eq!(report.ran, POINTS as usize);
            dir
        });
}
