//! The label-noise step on a mini-batch is a gradient step on
//! `L_t(Θ) = (1/B) Σ_{i∈B_t} (f(x_i) − y_i − ξ_i)²`, checked against central
//! finite differences of L_t itself (not of the full loss), on the net
//! `f(x) = Σ_j a_j φ(θ_jᵀx)` with a second layer of mixed signs.

use sharpsweep_core::activation::{Activation, Sinh};
use sharpsweep_core::data::preactivations;
use sharpsweep_core::kernel::{Dynamic, lanes_step};

/// L_t at Θ; the batch is (rows, their noise).
#[allow(clippy::too_many_arguments)]
fn batch_loss(
    act: Activation,
    a: &[f64],
    x: &[f64],
    y: &[f64],
    d: usize,
    m: usize,
    idx: &[usize],
    xi: &[f64],
    theta: &[f64],
) -> f64 {
    let n = y.len();
    let mut z = vec![0.0; n * m];
    preactivations(x, theta, n, d, m, &mut z);
    idx.iter()
        .zip(xi)
        .map(|(&i, e)| {
            let row = &z[i * m..(i + 1) * m];
            let f: f64 = row.iter().zip(a).map(|(&v, aj)| aj * act.phi(v)).sum();
            (f - y[i] - e).powi(2)
        })
        .sum::<f64>()
        / idx.len() as f64
}

#[test]
fn minibatch_step_matches_finite_difference_of_the_batch_loss() {
    let (n, d, m) = (6, 3, 4);
    let x: Vec<f64> = (0..n * d).map(|k| ((k as f64) * 0.61).sin()).collect();
    let y: Vec<f64> = (0..n).map(|i| 0.1 * i as f64).collect();
    let theta: Vec<f64> = (0..m * d).map(|k| 0.4 * ((k as f64) * 1.3).cos()).collect();
    let idx = [4, 1, 5];
    let xi = [0.03, -0.05, 0.02];
    let eta = 0.01;
    let act = Activation::Sinh;
    let a = [1.5, -0.5, 1.0, -2.0];
    let outer: Vec<[f64; 1]> = a.iter().map(|&v| [v]).collect();
    let mut stepped = theta.clone();
    // The kernel takes the batch's rows gathered, B×d.
    let xs: Vec<[f64; 1]> = idx
        .iter()
        .flat_map(|&i| x[i * d..(i + 1) * d].iter().map(|&v| [v]))
        .collect();
    let ys: Vec<[f64; 1]> = idx.iter().map(|&i| [y[i]]).collect();
    let mut coef = vec![[0.0]; idx.len() * m];
    lanes_step::<_, _, 1>(
        Sinh,
        Dynamic(d),
        m,
        &outer,
        &xs,
        &ys,
        xi.as_chunks().0,
        &[2.0 * eta / idx.len() as f64],
        stepped.as_chunks_mut().0,
        &mut coef,
    );
    let h = 1e-6;
    for k in 0..m * d {
        let mut t = theta.clone();
        t[k] += h;
        let up = batch_loss(act, &a, &x, &y, d, m, &idx, &xi, &t);
        t[k] -= 2.0 * h;
        let down = batch_loss(act, &a, &x, &y, d, m, &idx, &xi, &t);
        let fd = (up - down) / (2.0 * h);
        let step_grad = (theta[k] - stepped[k]) / eta;
        assert!(
            (fd - step_grad).abs() < 1e-7 * (1.0 + fd.abs()),
            "∂L_t/∂θ[{k}]: fd {fd}, step {step_grad}"
        );
    }
}
