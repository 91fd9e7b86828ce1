//! The step kernel: one label-noise (S)GD step on the two-layer net, the
//! hot loop of every sweep (SCIENCE.md §2.1):
//!
//! `r_i = f(x_i) − y_i − ξ_i`, `θ_j ← θ_j − (2η/B) Σ_{i∈B} r_i φ'(z_ij) x_i`.
//!
//! Generic over the activation so each is a separate, fully inlined loop. No
//! allocation: the caller owns the scratch. The order of floating-point
//! operations here is the contract that batched kernels must reproduce.

use crate::activation::Phi;

/// Scratch for one run's steps, sized once.
#[derive(Clone, Debug)]
pub struct StepScratch {
    /// r_i φ'(z_ij) · 2η/B for the batch rows, B×m.
    pub coef: Vec<f64>,
    /// Noise ξ for the batch rows.
    pub noise: Vec<f64>,
    /// Batch indices (first B entries used); the identity for the full batch.
    pub idx: Vec<usize>,
}

impl StepScratch {
    pub fn new(n: usize, m: usize) -> Self {
        Self {
            coef: vec![0.0; n * m],
            noise: vec![0.0; n],
            idx: (0..n).collect(),
        }
    }
}

/// One step on the rows `idx` with targets `y_i + ξ_i`; returns the batch's
/// noisy loss `(1/B) Σ r_i²` (non-finite once the run has diverged).
///
/// `x` is n×d and `theta` m×d, row-major; `noise` has one entry per batch row.
#[inline]
#[allow(clippy::too_many_arguments)]
pub fn label_noise_step<A: Phi>(
    act: A,
    x: &[f64],
    y: &[f64],
    d: usize,
    m: usize,
    idx: &[usize],
    noise: &[f64],
    eta: f64,
    theta: &mut [f64],
    coef: &mut [f64],
) -> f64 {
    let b = idx.len();
    let scale = 2.0 * eta / b as f64;
    let mut loss = 0.0;
    for (bi, &i) in idx.iter().enumerate() {
        let xi = &x[i * d..(i + 1) * d];
        let row = &mut coef[bi * m..(bi + 1) * m];
        let mut f = 0.0;
        for (j, c) in row.iter_mut().enumerate() {
            let tj = &theta[j * d..(j + 1) * d];
            let mut z = 0.0;
            for k in 0..d {
                z += xi[k] * tj[k];
            }
            let (p, dp) = act.phi_d1(z);
            f += p;
            *c = dp;
        }
        let r = f - y[i] - noise[bi];
        loss += r * r;
        let s = scale * r;
        for c in row.iter_mut() {
            *c *= s;
        }
    }
    for j in 0..m {
        let tj = &mut theta[j * d..(j + 1) * d];
        for (bi, &i) in idx.iter().enumerate() {
            let g = coef[bi * m + j];
            let xi = &x[i * d..(i + 1) * d];
            for k in 0..d {
                tj[k] -= g * xi[k];
            }
        }
    }
    loss / b as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::{Activation, CubicLinear};
    use crate::data::Problem;
    use crate::model::loss_gradient;

    #[test]
    fn noiseless_full_batch_step_is_a_gradient_step() {
        let (n, d, m) = (4, 3, 5);
        let x: Vec<f64> = (0..n * d)
            .map(|k| ((k * 37 % 17) as f64 / 17.0) - 0.3)
            .collect();
        let y = vec![0.2, -0.4, 0.9, 0.1];
        let p = Problem::new(n, d, x.clone(), y.clone());
        let theta: Vec<f64> = (0..m * d)
            .map(|k| ((k * 13 % 11) as f64 / 11.0) - 0.5)
            .collect();
        let act = CubicLinear { beta: 0.5 };
        let eta = 0.01;
        let g = loss_gradient(&p, Activation::CubicLinear { beta: 0.5 }, &theta, m);
        let mut stepped = theta.clone();
        let mut s = StepScratch::new(n, m);
        let idx: Vec<usize> = (0..n).collect();
        let loss = label_noise_step(
            act,
            &x,
            &y,
            d,
            m,
            &idx,
            &vec![0.0; n],
            eta,
            &mut stepped,
            &mut s.coef,
        );
        for k in 0..m * d {
            let want = theta[k] - eta * g[k];
            assert!(
                (stepped[k] - want).abs() < 1e-14,
                "θ[{k}]: {} vs {want}",
                stepped[k]
            );
        }
        let clean =
            crate::model::Eval::new(&p, Activation::CubicLinear { beta: 0.5 }, &theta, m).loss();
        assert!((loss - clean).abs() < 1e-14);
    }

    #[test]
    fn noisy_step_is_a_gradient_step_on_the_noisy_labels() {
        let (n, d, m) = (3, 2, 4);
        let x: Vec<f64> = (0..n * d).map(|k| (k as f64 * 0.37).sin()).collect();
        let y = vec![0.3, 0.1, -0.2];
        let xi = vec![0.05, -0.02, 0.01];
        let noisy: Vec<f64> = y.iter().zip(&xi).map(|(a, b)| a + b).collect();
        let theta: Vec<f64> = (0..m * d).map(|k| (k as f64 * 0.71).cos() * 0.5).collect();
        let act = Activation::Tanh;
        let g = loss_gradient(&Problem::new(n, d, x.clone(), noisy), act, &theta, m);
        let mut stepped = theta.clone();
        let mut coef = vec![0.0; n * m];
        label_noise_step(
            crate::activation::Tanh,
            &x,
            &y,
            d,
            m,
            &[0, 1, 2],
            &xi,
            0.1,
            &mut stepped,
            &mut coef,
        );
        for k in 0..m * d {
            assert!((stepped[k] - (theta[k] - 0.1 * g[k])).abs() < 1e-14);
        }
    }
}
