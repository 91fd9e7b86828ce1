//! Step throughput of the label-noise kernels (docs/performance.md):
//! single runs and batched runs at three sizes, on 1 and 2 threads,
//! the two kernel paths side by side, the cost of one metrics record, and
//! the machine's FP64 peak measured by an FMA-throughput loop.
//!
//! `cargo bench --workspace --bench steps` (divan; items/s = steps/s,
//! run-steps/s for batches, FLOP/s for the peak loops).

use divan::counter::ItemsCount;
use divan::{Bencher, black_box};
use sharpsweep_core::activation::CubicLinear;
use sharpsweep_core::data::initial_weights;
use sharpsweep_core::dynamics::{self, Dynamics};
use sharpsweep_core::kernel::{
    Dynamic, QUAD, gemm_step, pack_theta, quads, single_run_scratch, single_run_step, step_scale,
};
use sharpsweep_core::rng::Streams;
use sharpsweep_core::{LaneTrainer, Problem, RunConfig, RunState, Trainer};

fn main() {
    divan::main();
}

/// (m, d, n): [G24]'s figures, a mid size, a large one (the sizes of the
/// targets in docs/performance.md).
const SIZES: [(usize, usize, usize); 3] = [(10, 3, 3), (100, 50, 20), (512, 512, 128)];

/// Steps per timed call: a millisecond or more, and enough that the 2-thread
/// variant's thread start-up (new threads, cold faer workspaces) is amortised.
fn steps_per_call(m: usize, d: usize, n: usize) -> u64 {
    (4_000_000 / (m * d * n) as u64).clamp(8, 20_000)
}

fn config(m: usize, d: usize, n: usize, seed: u64) -> RunConfig {
    RunConfig {
        m,
        d,
        n,
        seed,
        // Small enough that none of the sizes diverges.
        eta: 0.5 / (m as f64 * 4.0),
        sigma: 0.03,
        steps: 1 << 50,
        log_points: 1,
        ..Default::default()
    }
}

/// One run's problem, dynamics and state, outside any [`Trainer`], so the
/// timed loop is the stepping alone.
fn bare_run(c: &RunConfig) -> (Problem, Box<dyn Dynamics>, RunState) {
    let mut s = Streams::from_seed(c.seed);
    let problem = Problem::build(c, &mut s).unwrap();
    let theta = initial_weights(c, &mut s).unwrap();
    let state = RunState::start(c.run_id(), theta, Vec::new(), s);
    (problem, dynamics::for_config(c), state)
}

/// Steps of `threads` independent runs, one per thread (how a sweep uses
/// the cores): items = total steps.
#[divan::bench(args = SIZES, consts = [1, 2], sample_count = 10)]
fn single_run<const THREADS: usize>(bencher: Bencher, (m, d, n): (usize, usize, usize)) {
    let steps = steps_per_call(m, d, n);
    let mut runs: Vec<_> = (0..THREADS)
        .map(|i| bare_run(&config(m, d, n, i as u64)))
        .collect();
    bencher
        .counter(ItemsCount::new(steps * THREADS as u64))
        .bench_local(|| match &mut runs[..] {
            // One thread: on the bench thread itself, whose faer workspace
            // (GEMM packing buffers, thread-local) stays warm.
            [(p, dyn_, st)] => dyn_.advance(p, st, steps),
            _ => std::thread::scope(|s| {
                for (p, dyn_, st) in &mut runs {
                    s.spawn(move || dyn_.advance(p, st, steps));
                }
            }),
        });
}

/// Runs per batch: one lane group, and many.
const RUNS: [usize; 2] = [8, 64];

/// Batched runs of one shape, `threads` batches on as many threads:
/// items = run-steps.
#[divan::bench(args = RUNS, consts = [1, 2], sample_count = 10)]
fn batched_10_3_3<const THREADS: usize>(bencher: Bencher, runs: usize) {
    let steps = 20_000;
    let mut batches: Vec<LaneTrainer> = (0..THREADS)
        .map(|t| {
            let configs: Vec<_> = (0..runs)
                .map(|i| {
                    let c = config(10, 3, 3, (t * runs + i) as u64);
                    RunConfig {
                        eta: c.eta * (1.0 + 0.01 * i as f64),
                        ..c
                    }
                })
                .collect();
            let mut b = LaneTrainer::new(&configs).unwrap();
            b.advance(0); // the step-0 records
            b
        })
        .collect();
    bencher
        .counter(ItemsCount::new(steps * (runs * THREADS) as u64))
        .bench_local(|| {
            std::thread::scope(|s| {
                for b in &mut batches {
                    s.spawn(move || b.advance(steps));
                }
            });
        });
}

/// The two kernel paths on the same step: the direct single-run kernel (d
/// and ⌈m/4⌉ at run time here, as for sizes without a specialisation)
/// against faer's GEMM (sequential), at sizes around the switch-over.
#[divan::bench(args = [(10, 3, 3), (32, 16, 8), (64, 32, 16), (100, 50, 20), (256, 128, 64), (512, 512, 128)], consts = [false, true], sample_count = 10)]
fn kernel_path<const GEMM: bool>(bencher: Bencher, (m, d, n): (usize, usize, usize)) {
    let (problem, _, state) = bare_run(&config(m, d, n, 1));
    let mut theta = state.theta;
    let mut packed = vec![[0.0; QUAD]; d * quads(m)];
    pack_theta(&theta, m, d, &mut packed);
    let mut coef = vec![[0.0; QUAD]; single_run_scratch(n, m)];
    let noise = vec![0.01; n];
    let mut scratch = vec![0.0; n * m];
    let scale = step_scale(1e-6, n);
    // [G24]'s second layer of ones, and in the direct kernel's blocks.
    let ones = vec![1.0; m];
    let mut ones_q = vec![[0.0; QUAD]; quads(m)];
    pack_theta(&ones, m, 1, &mut ones_q);
    bencher.counter(ItemsCount::new(1u64)).bench_local(|| {
        if GEMM {
            gemm_step(
                CubicLinear { beta: 1.0 },
                d,
                m,
                &ones,
                &problem.x,
                &problem.y,
                &noise,
                scale,
                &mut theta,
                &mut scratch,
            )
        } else {
            single_run_step(
                CubicLinear { beta: 1.0 },
                Dynamic(d),
                Dynamic(quads(m)),
                m,
                &ones_q,
                &problem.x,
                &problem.y,
                &noise,
                scale,
                &mut packed,
                &mut coef,
            )
        }
    });
}

/// One metrics record (everything but the Hessian), for the metrics share.
#[divan::bench(args = SIZES, sample_count = 10)]
fn metrics_record(bencher: Bencher, (m, d, n): (usize, usize, usize)) {
    let t = Trainer::new(&config(m, d, n, 1)).unwrap();
    bencher.bench_local(|| black_box(t.measure()));
}

/// FP64 peak of one core: 12 independent chains of 4-wide FMAs (AVX2+FMA),
/// enough to cover the FMA latency on both FMA pipes. Items = FLOPs.
#[divan::bench(sample_count = 10)]
fn peak_fma_avx2(bencher: Bencher) {
    const ITERS: u64 = 1_000_000;
    if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
        return;
    }
    bencher
        .counter(ItemsCount::new(ITERS * 12 * 4 * 2))
        // SAFETY: the features were detected above.
        .bench_local(|| unsafe { fma_chains(ITERS) });
}

#[target_feature(enable = "avx2,fma")]
fn fma_chains(iters: u64) -> f64 {
    use std::arch::x86_64::*;
    let a = _mm256_set1_pd(black_box(0.999_999));
    let b = _mm256_set1_pd(black_box(1e-9));
    let mut acc = [_mm256_set1_pd(1.0); 12];
    for _ in 0..iters {
        for v in &mut acc {
            *v = _mm256_fmadd_pd(*v, a, b);
        }
    }
    let mut out = [0.0; 4];
    let mut s = acc[0];
    for v in &acc[1..] {
        s = _mm256_add_pd(s, *v);
    }
    // SAFETY: `out` holds 4 f64.
    unsafe { _mm256_storeu_pd(out.as_mut_ptr(), s) };
    out.iter().sum()
}

/// The ceiling of the code as compiled (baseline x86-64, no FMA): 12
/// chains of separate multiply and add on 2-wide SSE2 vectors. Items = FLOPs.
#[divan::bench(sample_count = 10)]
fn peak_mul_add_sse2(bencher: Bencher) {
    const ITERS: u64 = 1_000_000;
    bencher
        .counter(ItemsCount::new(ITERS * 12 * 2 * 2))
        .bench_local(|| {
            let a = black_box(0.999_999);
            let b = black_box(1e-9);
            let mut acc = [[1.0f64; 2]; 12];
            for _ in 0..ITERS {
                for v in &mut acc {
                    for x in v.iter_mut() {
                        *x = *x * a + b;
                    }
                }
            }
            black_box(acc)
        });
}
