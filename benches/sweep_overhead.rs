//! Sweep overhead: what the engine costs on top of the runs themselves, for
//! grids of 10 000 tiny runs ((m, d, n) = (10, 3, 3), 4 log points: 5–6
//! records a run) of 100, 1 000 and 10 000 steps. See docs/performance.md.
//!
//! `cargo bench --workspace --bench sweep_overhead`
//!
//! First, for each run length, the split of CPU time (user + system of the
//! whole process, from getrusage, so that other load on the machine
//! distorts it less than wall time), each part measured by its own loop
//! over the same runs:
//! * setup: `Trainer::new` of every run (data, initial weights, z*), each
//!   dropped before the next;
//! * kernel: training every run to its end (`Trainer::new` + `run`), minus
//!   setup and metrics;
//! * metrics: every record's `Trainer::measure` (SVDs, Hessian trace, …),
//!   measured by calling it again on each run's final state as many times
//!   as the run recorded: what a researcher's own loop would pay too;
//! * engine: a sweep of the same runs through `run_plan` on one worker
//!   thread into a fresh dataset, minus the runs trained alone (setup,
//!   kernel and metrics): scheduling, the channel to the writer, records,
//!   Arrow batches, zstd Parquet parts, fsyncs;
//! * writer: of the engine, the CPU time of the writer thread alone (the
//!   thread calling `run_plan`), measured directly rather than as a
//!   difference; the rest of the engine is the worker's bookkeeping.
//!
//! Then divan's wall-clock benchmarks of the 100-step grid: the runs in a
//! bare loop, and as a sweep (points/s).

use sharpsweep_core::{RunConfig, Trainer};
use sharpsweep_sweep::{Alone, Plan, SweepOptions, Unwatched, run_plan};
use std::sync::atomic::AtomicBool;

/// The CLI's allocator (src/main.rs says why), so that the engine is timed
/// as a user runs it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const POINTS: u64 = 10_000;

fn tiny_runs(steps: u64) -> Vec<RunConfig> {
    (0..POINTS)
        .map(|seed| RunConfig {
            steps,
            log_points: 4,
            eta: 0.02,
            seed,
            ..Default::default()
        })
        .collect()
}

/// CPU time (user + system) so far, seconds, of this process (all
/// threads, those ended included) or, with `thread`, of the calling thread
/// alone: getrusage's, to the microsecond (/proc/self/stat counts ticks of
/// 10 ms, a microsecond a run here).
fn cpu_seconds_of(thread: bool) -> f64 {
    let who = if thread {
        libc::RUSAGE_THREAD
    } else {
        libc::RUSAGE_SELF
    };
    // SAFETY: getrusage fills the zeroed struct it is given, nothing else.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(who, &mut usage), 0, "getrusage");
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

fn cpu_seconds() -> f64 {
    cpu_seconds_of(false)
}

/// CPU seconds `f` takes.
fn cpu<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let start = cpu_seconds();
    let out = f();
    (out, cpu_seconds() - start)
}

/// One worker, each run stepped alone as in the bare loop: the difference
/// between the two is then the engine, not a faster (batched) kernel.
fn one_thread() -> SweepOptions {
    SweepOptions {
        threads: Some(1),
        quiet: true,
        lanes: false,
        ..Default::default()
    }
}

/// The sweep of `plan` into a fresh dataset in `dir`; returns the CPU
/// seconds of the calling thread, which is the sweep's writer (batches,
/// Parquet, files) while the worker thread trains.
fn sweep(plan: &Plan, dir: &tempfile::TempDir) -> f64 {
    let start = cpu_seconds_of(true);
    let report = run_plan(
        plan,
        &dir.path().join("ds"),
        &one_thread(),
        &AtomicBool::new(false),
        &mut Alone,
        &mut Unwatched,
    )
    .unwrap();
    assert_eq!(report.ran, plan.configs.len());
    cpu_seconds_of(true) - start
}

/// Trains every run of `configs` to its end; returns the records of each.
fn train(configs: &[RunConfig]) -> Vec<usize> {
    configs
        .iter()
        .map(|c| {
            let mut t = Trainer::new(c).unwrap();
            let mut k = 0;
            t.run(|r| {
                divan::black_box(r);
                k += 1;
            });
            k
        })
        .collect()
}

/// Prints the CPU split of a sweep of 10 000 runs of `steps` steps. The
/// runs and the sweep are timed five times, alternately, and the faster
/// time of each kept: the engine's share is a difference of the two, and
/// other load on the machine slows one or the other at random.
fn split(steps: u64) {
    let configs = tiny_runs(steps);
    // Each trainer dropped before the next is made, as in the runs' loop
    // and the sweep (holding all 10 000 cost their memory's first touch).
    let ((), setup) = cpu(|| {
        for c in &configs {
            divan::black_box(Trainer::new(c).unwrap());
        }
    });
    let plan = Plan::new("bench".into(), "null".into(), configs.clone());
    let (mut runs, mut total, mut writer) = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
    let mut records = Vec::new();
    for _ in 0..5 {
        let (r, t) = cpu(|| train(&configs));
        (records, runs) = (r, runs.min(t));
        let dir = tempfile::tempdir().unwrap();
        let (w, t) = cpu(|| sweep(&plan, &dir));
        (total, writer) = (total.min(t), writer.min(w));
    }
    // Each run's records, measured again on its final state.
    let mut trainers: Vec<Trainer> = configs.iter().map(|c| Trainer::new(c).unwrap()).collect();
    for t in &mut trainers {
        t.run(|_| {});
    }
    let ((), metrics) = cpu(|| {
        for (t, &k) in trainers.iter().zip(&records) {
            for _ in 0..k {
                divan::black_box(t.measure());
            }
        }
    });
    let kernel = runs - setup - metrics;
    let engine = total - runs;
    let pct = |x: f64| 100.0 * x / total;
    let micros = |x: f64| x * 1e6 / POINTS as f64;
    println!(
        "{steps:>6} {:>5.1} {:>8.2} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>7.2} | {:>5.1} % {:>5.1} % {:>5.1} % {:>5.1} % | {:>5.1} % | {:>6.1} {:>6.1}",
        records.iter().sum::<usize>() as f64 / records.len() as f64,
        total,
        setup,
        kernel,
        metrics,
        engine,
        writer,
        pct(setup),
        pct(kernel),
        pct(metrics),
        pct(engine),
        100.0 * (total - kernel) / total,
        micros(engine),
        micros(writer),
    );
}

fn main() {
    println!("CPU seconds of a sweep of {POINTS} runs at (10, 3, 3) on one worker thread");
    println!(
        " steps  recs    sweep   setup  kernel metrics  engine  writer |  setup  kernel metrics  engine | outside kernel | engine writer µs/run"
    );
    for steps in [100, 1_000, 10_000] {
        split(steps);
    }
    println!();
    divan::main();
}

/// The runs alone: what a sweep cannot avoid.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn train_without_engine(b: divan::Bencher) {
    let configs = tiny_runs(100);
    b.bench(|| train(&configs));
}

/// The same runs as a sweep into a fresh dataset, one worker thread, each
/// run stepped alone.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn sweep_one_thread(b: divan::Bencher) {
    let plan = Plan::new("bench".into(), "null".into(), tiny_runs(100));
    b.with_inputs(|| tempfile::tempdir().unwrap())
        .bench_values(|dir| {
            sweep(&plan, &dir);
            dir
        });
}
