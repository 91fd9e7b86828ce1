//! Steps per second of the label-noise step, as one JSON line, for the
//! cross-framework comparison (`benches/compare/run.sh`):
//!
//! `step_rate M D N STEPS [RUNS]` — one run (RUNS absent or 1) through the
//! single-run kernel, or RUNS runs of different seeds and step sizes through
//! [`LaneTrainer`]. Same step as the Python versions: full batch,
//! cubic-linear φ = z³ + z, Gaussian label noise σ = 0.03, float64, one thread.
//! The best of five timed repetitions is reported, after one warm-up.

use sharpsweep_core::data::initial_weights;
use sharpsweep_core::dynamics;
use sharpsweep_core::rng::Streams;
use sharpsweep_core::{LaneTrainer, Problem, RunConfig, RunState};
use std::time::Instant;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("usage: step_rate M D N STEPS [RUNS]"))
        .collect();
    let [m, d, n, steps] = args[..4] else {
        panic!("usage: step_rate M D N STEPS [RUNS]");
    };
    let runs = args.get(4).copied().unwrap_or(1);
    let config = |i: usize| RunConfig {
        m,
        d,
        n,
        seed: i as u64,
        eta: 0.1 / (m as f64 * 4.0) * (1.0 + 0.01 * i as f64),
        sigma: 0.03,
        steps: 1 << 50,
        log_points: 1,
        ..Default::default()
    };
    let mut time = if runs == 1 {
        let c = config(0);
        let mut s = Streams::from_seed(c.seed);
        let problem = Problem::build(&c, &mut s).expect("valid problem");
        let theta = initial_weights(&c, &mut s).expect("valid init");
        let mut state = RunState::start(c.run_id(), theta, Vec::new(), s);
        let mut dynamics = dynamics::for_config(&c);
        Box::new(move || dynamics.advance(&problem, &mut state, steps as u64)) as Box<dyn FnMut()>
    } else {
        let configs: Vec<_> = (0..runs).map(config).collect();
        let mut batch = LaneTrainer::new(&configs).expect("one shape");
        batch.advance(0);
        Box::new(move || {
            batch.advance(steps as u64);
        })
    };
    time();
    let best = (0..5)
        .map(|_| {
            let t = Instant::now();
            time();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    println!(
        "{{\"m\": {m}, \"d\": {d}, \"n\": {n}, \"runs\": {runs}, \"steps\": {steps}, \"run_steps_per_s\": {}}}",
        (steps * runs) as f64 / best
    );
}
