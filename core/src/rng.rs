//! The random streams of one run, all from one seed.
//!
//! Xoshiro256++ seeded by SplitMix64 from the run's seed; each consumer gets
//! its own stream, 2¹²⁸ draws apart (`jump`), so adding draws to one stream
//! (say a longer step budget) never shifts another (the data stays the same).
//! The samplers here are written out rather than borrowed, so that a run's
//! numbers depend only on this file, not on a dependency's sampling details.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

mod jump;
mod ziggurat_tables;
use jump::{State, jump};
use ziggurat_tables as zig;

pub type Stream = Xoshiro256PlusPlus;

/// The independent streams of one run, in a fixed order.
#[derive(Clone, Debug)]
pub struct Streams {
    /// The data matrix X.
    pub data: Stream,
    /// The labels y (and the teacher's weights).
    pub labels: Stream,
    /// The initial weights Θ₀.
    pub init: Stream,
    /// Mini-batch indices.
    pub batch: Stream,
    /// Label noise ξ (and any other per-step randomness of an algorithm).
    pub noise: Stream,
}

impl Streams {
    pub fn from_seed(seed: u64) -> Self {
        let mut state = seeded(seed);
        let mut next = || {
            let s = stream(&state);
            state = jump(&state);
            s
        };
        let (data, labels, init, batch) = (next(), next(), next(), next());
        // The last stream is the base itself: jumping past it, as the
        // others are, would be a fifth of the streams' setup for nothing.
        Self {
            data,
            labels,
            init,
            batch,
            noise: stream(&state),
        }
    }

    /// The stream of the curvature metrics' random vectors (Lanczos's start,
    /// curvature.rs): the one after the five above, so it shifts none of
    /// them. A record takes it afresh, so what it measures depends on the
    /// state alone, not on the records before it or on a resume.
    pub fn curvature(seed: u64) -> Stream {
        let mut state = seeded(seed);
        for _ in 0..5 {
            state = jump(&state);
        }
        stream(&state)
    }
}

/// The state `Stream::seed_from_u64(seed)` starts from: SplitMix64's first
/// four outputs (never all zero, the one state `from_seed` would not take
/// as it is: SplitMix64's output is zero at one point of its sequence only).
fn seeded(seed: u64) -> State {
    let mut splitmix = rand_xoshiro::SplitMix64::seed_from_u64(seed);
    std::array::from_fn(|_| splitmix.next_u64())
}

/// The stream at `state`.
fn stream(state: &State) -> Stream {
    let mut bytes = [0; 32];
    for (b, w) in bytes.chunks_exact_mut(8).zip(state) {
        b.copy_from_slice(&w.to_le_bytes());
    }
    Stream::from_seed(bytes)
}

/// Uniform on [0, 1) with 53 random bits.
#[inline(always)]
pub fn uniform(rng: &mut Stream) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Uniform integer in `0..bound` (bound ≥ 1), unbiased (Lemire's
/// multiply-and-reject).
#[inline]
pub fn below(rng: &mut Stream, bound: u64) -> u64 {
    debug_assert!(bound > 0);
    let threshold = bound.wrapping_neg() % bound;
    loop {
        let wide = u128::from(rng.next_u64()) * u128::from(bound);
        if (wide as u64) >= threshold {
            return (wide >> 64) as u64;
        }
    }
}

/// A standard normal draw: the 256-layer ziggurat of Marsaglia and Tsang,
/// the very algorithm, tables and bit use of `rand_distr`'s `StandardNormal`
/// (so the same numbers from the same stream; tested), written so that the
/// common case — one 64-bit draw, a table look-up, a compare, ≈ 98.8 % of
/// draws — inlines into the caller's loop with the stream kept in registers,
/// and the rest (`normal_slow`) stays out of the way.
///
/// Bits 0–7 of the draw pick the layer i, bits 12–63 a uniform u in [−1, 1);
/// x = u·x_i is accepted at once when |x| < x_{i+1}.
#[inline(always)]
pub fn normal(rng: &mut Stream) -> f64 {
    let bits = rng.next_u64();
    let i = (bits & 0xff) as usize;
    let u = signed_unit(bits);
    let x = u * zig::X[i];
    if x.abs() < zig::X[i + 1] {
        return x;
    }
    normal_slow(rng, i, u, x)
}

/// u in [−1, 1) from bits 12–63: a float in [2, 4) minus 3.
#[inline(always)]
fn signed_unit(bits: u64) -> f64 {
    f64::from_bits((bits >> 12) | (1024 << 52)) - 3.0
}

/// The rest of the ziggurat after a first draw (layer i, uniform u, x = u·x_i)
/// that was not accepted at once: the base layer's tail beyond R, or the
/// wedge test of layer i against the density; then fresh draws until one is
/// accepted.
#[cold]
#[inline(never)]
fn normal_slow(rng: &mut Stream, mut i: usize, mut u: f64, mut x: f64) -> f64 {
    loop {
        if i == 0 {
            return normal_tail(rng, u);
        }
        if zig::F[i + 1] + (zig::F[i] - zig::F[i + 1]) * uniform(rng) < (-x * x / 2.0).exp() {
            return x;
        }
        let bits = rng.next_u64();
        i = (bits & 0xff) as usize;
        u = signed_unit(bits);
        x = u * zig::X[i];
        if x.abs() < zig::X[i + 1] {
            return x;
        }
    }
}

/// A draw from the normal tail beyond R (Marsaglia's method), on u's side.
fn normal_tail(rng: &mut Stream, u: f64) -> f64 {
    let (mut x, mut y) = (1.0f64, 0.0f64);
    while -2.0 * y < x * x {
        x = open_unit(rng).ln() / zig::R;
        y = open_unit(rng).ln();
    }
    if u < 0.0 { x - zig::R } else { zig::R - x }
}

/// Uniform on the open interval (0, 1) with 52 random bits.
#[inline(always)]
fn open_unit(rng: &mut Stream) -> f64 {
    f64::from_bits((rng.next_u64() >> 12) | (1023 << 52)) - (1.0 - f64::EPSILON / 2.0)
}

/// Fills `out` with σ times standard normals, in order.
#[inline]
pub fn fill_normal<'a>(rng: &mut Stream, sigma: f64, out: impl IntoIterator<Item = &'a mut f64>) {
    let mut local = rng.clone();
    for v in out {
        *v = sigma * normal(&mut local);
    }
    *rng = local;
}

/// ±1 with probability ½ each, one bit per draw.
#[inline(always)]
pub fn rademacher(rng: &mut Stream) -> f64 {
    if rng.next_u64() >> 63 == 0 { 1.0 } else { -1.0 }
}

/// Writes a uniformly random B-subset of `0..n` into `idx[..b]` by a partial
/// Fisher–Yates shuffle of the identity; `idx` has length n.
pub fn sample_batch(rng: &mut Stream, idx: &mut [usize], b: usize) {
    let n = idx.len();
    for (i, v) in idx.iter_mut().enumerate() {
        *v = i;
    }
    for i in 0..b {
        let j = i + below(rng, (n - i) as u64) as usize;
        idx.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_distinct_and_reproducible() {
        let mut a = Streams::from_seed(7);
        let mut b = Streams::from_seed(7);
        assert_eq!(a.noise.next_u64(), b.noise.next_u64());
        let firsts = [
            a.data.next_u64(),
            a.labels.next_u64(),
            a.init.next_u64(),
            a.batch.next_u64(),
            a.noise.next_u64(),
            Streams::curvature(7).next_u64(),
        ];
        for i in 0..firsts.len() {
            for j in 0..i {
                assert_ne!(firsts[i], firsts[j]);
            }
        }
        assert_ne!(
            Streams::from_seed(8).data.next_u64(),
            Streams::from_seed(7).data.next_u64()
        );
    }

    #[test]
    fn each_stream_is_the_seed_stream_jumped_once_more_than_the_one_before() {
        // rand_xoshiro's own seeding and jump against ours (a table), over
        // seeds at the ends of the range and drawn at random.
        let mut draw = Stream::seed_from_u64(99);
        let seeds = [0, 1, 5, u64::MAX].into_iter();
        for seed in seeds.chain((0..500).map(|_| draw.next_u64())) {
            let streams = Streams::from_seed(seed);
            let mut base = Stream::seed_from_u64(seed);
            let in_order = [
                streams.data,
                streams.labels,
                streams.init,
                streams.batch,
                streams.noise,
                Streams::curvature(seed),
            ];
            for (k, mut s) in in_order.into_iter().enumerate() {
                let mut expected = base.clone();
                // Four draws fix the 256-bit state; more for one seed.
                for _ in 0..if seed == 5 { 1000 } else { 4 } {
                    assert_eq!(s.next_u64(), expected.next_u64(), "seed {seed}, stream {k}");
                }
                base.jump();
            }
        }
    }

    #[test]
    fn normal_draws_the_numbers_of_rand_distr() {
        // The same stream through rand_distr's StandardNormal and through
        // ours: every draw equal, bit for bit, the slow paths included.
        use rand_distr::{Distribution, StandardNormal};
        let mut ours = Stream::seed_from_u64(11);
        let mut theirs = ours.clone();
        let mut tails = 0;
        for k in 0..2_000_000 {
            let (a, b): (f64, f64) = (normal(&mut ours), StandardNormal.sample(&mut theirs));
            assert_eq!(a.to_bits(), b.to_bits(), "draw {k}");
            tails += usize::from(a.abs() > zig::R);
        }
        // P(|x| > R) ≈ 2.6e-4: the tail sampler ran.
        assert!(tails > 200, "{tails} tail draws");
        assert_eq!(ours.next_u64(), theirs.next_u64());
    }

    #[test]
    fn normal_sampler_matches_the_distribution() {
        // Moments and a Kolmogorov–Smirnov statistic against Φ on 200 000 draws.
        let mut rng = Stream::seed_from_u64(1);
        let n = 200_000;
        let mut xs: Vec<f64> = (0..n).map(|_| normal(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        let kurt = xs.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / n as f64 / var / var;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.015, "variance {var}");
        assert!((kurt - 3.0).abs() < 0.05, "kurtosis {kurt}");
        xs.sort_by(f64::total_cmp);
        let ks = xs
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let cdf = 0.5 * libm_erfc(-x / std::f64::consts::SQRT_2);
                ((i + 1) as f64 / n as f64 - cdf)
                    .abs()
                    .max((cdf - i as f64 / n as f64).abs())
            })
            .fold(0.0, f64::max);
        // The 1% critical value of the KS statistic is 1.63/√n ≈ 0.0036.
        assert!(ks < 1.63 / (n as f64).sqrt(), "KS statistic {ks}");
        // Tails: P(|x| > 2) = 0.0455, P(|x| > 3) = 0.0027 (binomial 1%
        // bounds at n = 200 000: ±0.0012 and ±0.0003).
        for (t, p, tol) in [(2.0, 0.045500, 0.0012), (3.0, 0.002700, 0.0003)] {
            let frac = xs.iter().filter(|x| x.abs() > t).count() as f64 / n as f64;
            assert!((frac - p).abs() < tol, "P(|x| > {t}) = {frac}");
        }
    }

    /// erfc by its continued-fraction-free rational approximation (W. J. Cody
    /// accuracy is not needed; Numerical Recipes' erfcc has |ε| < 1.2e-7).
    fn libm_erfc(x: f64) -> f64 {
        let z = x.abs();
        let t = 1.0 / (1.0 + 0.5 * z);
        let r = t
            * (-z * z - 1.26551223
                + t * (1.00002368
                    + t * (0.37409196
                        + t * (0.09678418
                            + t * (-0.18628806
                                + t * (0.27886807
                                    + t * (-1.13520398
                                        + t * (1.48851587
                                            + t * (-0.82215223 + t * 0.17087277)))))))))
                .exp();
        if x >= 0.0 { r } else { 2.0 - r }
    }

    #[test]
    fn below_is_uniform_and_in_range() {
        let mut rng = Stream::seed_from_u64(3);
        let mut counts = [0u32; 7];
        for _ in 0..70_000 {
            counts[below(&mut rng, 7) as usize] += 1;
        }
        for c in counts {
            assert!((c as i64 - 10_000).abs() < 400, "{counts:?}");
        }
    }

    #[test]
    fn batches_are_distinct_indices() {
        let mut rng = Stream::seed_from_u64(4);
        let mut idx = vec![0; 10];
        for _ in 0..100 {
            sample_batch(&mut rng, &mut idx, 4);
            let mut b = idx[..4].to_vec();
            b.sort();
            b.dedup();
            assert_eq!(b.len(), 4);
            assert!(b.iter().all(|&i| i < 10));
        }
    }
}
