//! Hutchinson's estimate of the Frobenius norm of a symmetric operator
//! known only through its products `v ↦ Av` (Hutchinson 1990, for traces).
//!
//! For a probe v of independent Rademacher entries (±1), E\[vvᵀ\] = I, so
//! `E‖Av‖² = E[vᵀA²v] = tr(A²) = ‖A‖_F²`: each probe is one product and
//! one unbiased sample of ‖A‖_F². Rademacher probes give the smallest
//! variance among probes of independent entries,
//! `Var‖Av‖² = 2(‖A²‖_F² − Σ_i (A²)_ii²) ≤ 2‖A‖_F⁴`.
//!
//! Most of ‖A‖_F² often sits in a few large eigenvalues, which make that
//! variance large; they are taken out exactly (Hutch++'s idea, Meyer,
//! Musco, Musco and Woodruff 2021). For any orthonormal vectors Q
//! (Lanczos's top Ritz vectors) and P = I − QQᵀ,
//! `‖A‖_F² = tr(A²QQᵀ) + tr(A²P) = ‖AQ‖_F² + E‖APv‖²`: the first term
//! exactly from one product per vector, the second from probes projected
//! off Q, unbiased whatever Q is, with variance at most 2‖PAP‖_F⁴ when Q
//! spans eigenvectors (Ritz vectors are close to them).
//!
//! With s probes and samples y_k = ‖APv_k‖², the estimate is
//! `F = √(‖AQ‖_F² + ȳ)`. Its standard error comes from the sample:
//! `SE(ȳ) = sd(y)/√s` (unbiased sample variance), carried through the
//! square root by the delta method, `SE(F) = SE(ȳ)/(2F)`. Without Q the
//! relative SE of F is at most `1/√(2s)` whatever A is (reached when one
//! eigenvalue dominates); √ underestimates F by about an eighth of the
//! squared relative SE of F², far below the SE.

use crate::rng::{self, Stream};

/// An estimate and its standard error.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    pub value: f64,
    pub standard_error: f64,
}

/// `‖A‖_F` of the symmetric `dim`×`dim` operator `apply(v, out)` (out =
/// Av): exactly on the span of the orthonormal vectors `deflate`, and
/// from `probes` ≥ 2 Rademacher probes drawn from `rng` off it (module doc).
pub fn frobenius_norm(
    dim: usize,
    probes: usize,
    rng: &mut Stream,
    deflate: &[Vec<f64>],
    mut apply: impl FnMut(&[f64], &mut [f64]),
) -> Estimate {
    let (mut v, mut av) = (vec![0.0; dim], vec![0.0; dim]);
    let mut square_of = |v: &[f64]| {
        apply(v, &mut av);
        av.iter().map(|x| x * x).sum::<f64>()
    };
    let exact: f64 = deflate.iter().map(|q| square_of(q)).sum();
    let samples: Vec<f64> = (0..probes)
        .map(|_| {
            v.iter_mut().for_each(|x| *x = rng::rademacher(rng));
            for q in deflate {
                let c: f64 = q.iter().zip(&v).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(q).for_each(|(vi, qi)| *vi -= c * qi);
            }
            square_of(&v)
        })
        .collect();
    let s = probes as f64;
    let mean = samples.iter().sum::<f64>() / s;
    let variance = samples.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / (s - 1.0);
    let value = (exact + mean).sqrt();
    let se_mean = (variance / s).sqrt();
    Estimate {
        value,
        standard_error: if value > 0.0 {
            se_mean / (2.0 * value)
        } else {
            0.0
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// A symmetric matrix of normal entries with a few large eigenvalues on
    /// top (a rank-three term), as a Hessian has, and its exact ‖A‖_F.
    fn matrix(dim: usize) -> (Vec<f64>, f64) {
        let mut rng = Stream::seed_from_u64(11);
        let g: Vec<f64> = (0..dim * dim).map(|_| rng::normal(&mut rng)).collect();
        let u: Vec<Vec<f64>> = (0..3)
            .map(|_| (0..dim).map(|_| rng::normal(&mut rng)).collect())
            .collect();
        let a: Vec<f64> = (0..dim * dim)
            .map(|ij| {
                let (i, j) = (ij / dim, ij % dim);
                let spikes: f64 = u.iter().map(|u| u[i] * u[j]).sum();
                (g[i * dim + j] + g[j * dim + i]) / 2.0 + spikes
            })
            .collect();
        let fro = a.iter().map(|x| x * x).sum::<f64>().sqrt();
        (a, fro)
    }

    fn apply(a: &[f64], dim: usize) -> impl FnMut(&[f64], &mut [f64]) + '_ {
        move |v, out| {
            for (i, o) in out.iter_mut().enumerate() {
                *o = a[i * dim..(i + 1) * dim]
                    .iter()
                    .zip(v)
                    .map(|(x, y)| x * y)
                    .sum();
            }
        }
    }

    fn estimate(a: &[f64], dim: usize, probes: usize, seed: u64) -> Estimate {
        let mut rng = Stream::seed_from_u64(seed);
        frobenius_norm(dim, probes, &mut rng, &[], apply(a, dim))
    }

    #[test]
    fn taking_out_the_top_eigenvectors_keeps_it_unbiased_and_cuts_its_error() {
        let dim = 40;
        let (a, exact) = matrix(dim);
        let (_, top) =
            crate::lanczos::top_eigenpairs(dim, 3, &mut Stream::seed_from_u64(5), apply(&a, dim));
        let deflated = |seed| {
            let mut rng = Stream::seed_from_u64(seed);
            frobenius_norm(dim, 32, &mut rng, &top, apply(&a, dim))
        };
        let z: Vec<f64> = (0..200)
            .map(|seed| {
                let e = deflated(seed);
                (e.value - exact) / e.standard_error
            })
            .collect();
        assert_covers(&z, 0.88, 0.3);
        // The spikes held most of ‖A‖_F²: the SE falls several-fold.
        let (with, without) = (deflated(1), estimate(&a, dim, 32, 1));
        assert!(
            with.standard_error < without.standard_error / 3.0,
            "{with:?} vs {without:?}"
        );
    }

    /// Estimates' z-scores against the exact norm: at least `least` (and
    /// at most 99 %) within two standard errors, centred on 0 within
    /// `mean`.
    fn assert_covers(z: &[f64], least: f64, mean: f64) {
        let covered = z.iter().filter(|z| z.abs() <= 2.0).count() as f64 / z.len() as f64;
        assert!((least..=0.99).contains(&covered), "coverage {covered}");
        let mean_z = z.iter().sum::<f64>() / z.len() as f64;
        assert!(mean_z.abs() < mean, "mean z-score {mean_z}");
    }

    #[test]
    fn agrees_with_the_exact_norm_within_its_standard_error() {
        let dim = 40;
        let (a, exact) = matrix(dim);
        // One estimate from many probes: within three standard errors.
        let e = estimate(&a, dim, 2000, 1);
        assert!(e.standard_error > 0.0 && e.standard_error < 0.02 * exact);
        assert!(
            (e.value - exact).abs() <= 3.0 * e.standard_error,
            "{e:?} vs {exact}"
        );
        // Coverage: of 400 independent estimates from 32 probes each, about
        // 95 % lie within two of their standard errors of the exact norm
        // (binomial sd 1.1 %; the delta method and the estimated SE cost a
        // little at 32 probes), and their z-scores centre on 0.
        let z: Vec<f64> = (0..400)
            .map(|seed| {
                let e = estimate(&a, dim, 32, 100 + seed);
                (e.value - exact) / e.standard_error
            })
            .collect();
        assert_covers(&z, 0.90, 0.25);
    }

    #[test]
    fn the_standard_error_shrinks_like_one_over_the_root_of_the_probes() {
        let dim = 40;
        let (a, exact) = matrix(dim);
        // Averaged over seeds, SE·√s is the same at 16 and at 1024 probes
        // (the sample sd converges), so the SE falls 8-fold.
        let scaled = |probes: usize| {
            (0..20)
                .map(|seed| estimate(&a, dim, probes, seed).standard_error)
                .sum::<f64>()
                / 20.0
                * (probes as f64).sqrt()
        };
        let (few, many) = (scaled(16), scaled(1024));
        assert!((few / many - 1.0).abs() < 0.15, "{few} vs {many}");
        // And within the bound 1/√(2s) of the module doc.
        assert!(many / exact <= 1.0 / 2f64.sqrt());
    }

    #[test]
    fn is_deterministic_given_the_stream() {
        let dim = 20;
        let (a, _) = matrix(dim);
        let (x, y) = (estimate(&a, dim, 8, 3), estimate(&a, dim, 8, 3));
        assert_eq!(x.value.to_bits(), y.value.to_bits());
        assert_eq!(x.standard_error.to_bits(), y.standard_error.to_bits());
        assert_ne!(x, estimate(&a, dim, 8, 4));
    }
}
