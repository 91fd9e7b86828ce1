//! The step kernel: one label-noise (S)GD step on the two-layer net, the
//! hot loop of every sweep (SCIENCE.md §2.1):
//!
//! `r_i = f(x_i) − y_i − ξ_i`, `θ_j ← θ_j − (2η/B) Σ_{i∈B} r_i φ'(z_ij) x_i`.
//!
//! One kernel, [`label_noise_step`], serves a single run and a batch of runs
//! stepped together ([`crate::batch`]): every value is an array of `L`
//! lanes, one lane per run (structure of arrays, the way `jax.vmap`
//! batches). A single run is `L = 1`; a batch is `L = LANES`, where the loops
//! over lanes are unit-stride and the compiler turns them into SIMD. Since
//! each lane runs exactly the same sequence of IEEE operations as a single
//! run, batched and unbatched results are bit-identical by construction.
//!
//! The order of floating-point operations, per lane (the contract):
//! * `z_ij = ((0 + x_i1 θ_j1) + x_i2 θ_j2) + …` in k order;
//! * `f_i = ((0 + φ(z_i1)) + φ(z_i2)) + …` in j order;
//! * `r_i = (f_i − y_i) − ξ_i`, `loss = (0 + r_1²) + …` in batch order;
//! * `c_ij = φ'(z_ij) · ((2η/B) · r_i)`;
//! * `θ_jk ← θ_jk − c_ij x_ik`, one subtraction per batch row, in batch order.
//!
//! Large runs (see [`uses_gemm`]) take a different, also deterministic
//! path through faer's GEMM ([`gemm_step`]).
//!
//! No allocation here: the caller owns every buffer.

use crate::activation::Phi;
use faer::{Accum, MatMut, MatRef, Par};

/// The input dimension d: a compile-time constant for the tiny sizes of the
/// paper's figures (so the k loops unroll and Θ, X stay in registers), a
/// runtime value otherwise. [`with_dim!`](crate::with_dim) picks one.
pub trait Dim: Copy {
    fn get(self) -> usize;
}

/// d known at compile time.
#[derive(Clone, Copy, Debug)]
pub struct Fixed<const D: usize>;

impl<const D: usize> Dim for Fixed<D> {
    #[inline(always)]
    fn get(self) -> usize {
        D
    }
}

/// d known at run time.
#[derive(Clone, Copy, Debug)]
pub struct Dynamic(pub usize);

impl Dim for Dynamic {
    #[inline(always)]
    fn get(self) -> usize {
        self.0
    }
}

/// Runs `$body` with `$dim` bound to a [`Dim`] for `$d`: [`Fixed`] for the
/// small dimensions the experiments use, [`Dynamic`] otherwise.
#[macro_export]
macro_rules! with_dim {
    ($d:expr, |$dim:ident| $body:expr) => {{
        use $crate::kernel as __k;
        match $d {
            2 => {
                let $dim = __k::Fixed::<2>;
                $body
            }
            3 => {
                let $dim = __k::Fixed::<3>;
                $body
            }
            4 => {
                let $dim = __k::Fixed::<4>;
                $body
            }
            d => {
                let $dim = __k::Dynamic(d);
                $body
            }
        }
    }};
}

/// Runs with `m·d·B` at least this take the GEMM path ([`gemm_step`]): below
/// it, a GEMM call's packing and dispatch cost more than the work (measured,
/// docs/performance.md).
pub const GEMM_MIN_WORK: usize = 1 << 10;

/// Whether a run of this shape steps through faer's GEMM. A function of the
/// shape alone, so the path (and with it every bit of the result) never
/// depends on threads or batching.
pub fn uses_gemm(m: usize, d: usize, batch: usize) -> bool {
    m * d * batch >= GEMM_MIN_WORK
}

/// One step for `L` runs at once; returns each run's noisy batch loss
/// `(1/B) Σ r_i²` (non-finite once that run has diverged).
///
/// Lane-major buffers (`[f64; L]` per entry), row-major in the rest:
/// `xs` holds the B batch rows (B×d), `ys` and `noise` their labels and label
/// noise, `scale` is `2η/B` per run, `theta` is m×d, `coef` is B×m scratch.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn label_noise_step<A: Phi, D: Dim, const L: usize>(
    act: A,
    dim: D,
    m: usize,
    xs: &[[f64; L]],
    ys: &[[f64; L]],
    noise: &[[f64; L]],
    scale: &[f64; L],
    theta: &mut [[f64; L]],
    coef: &mut [[f64; L]],
) -> [f64; L] {
    let d = dim.get();
    let b = ys.len();
    let mut loss = [0.0; L];
    for (((xi, crow), y), xi_noise) in xs
        .chunks_exact(d)
        .zip(coef.chunks_exact_mut(m))
        .zip(ys)
        .zip(noise)
    {
        let mut f = [0.0; L];
        for (tj, c) in theta.chunks_exact(d).zip(crow.iter_mut()) {
            let mut z = [0.0; L];
            for (x, t) in xi.iter().zip(tj) {
                for l in 0..L {
                    z[l] += x[l] * t[l];
                }
            }
            for l in 0..L {
                let (p, dp) = act.phi_d1(z[l]);
                f[l] += p;
                c[l] = dp;
            }
        }
        let mut s = [0.0; L];
        for l in 0..L {
            let r = f[l] - y[l] - xi_noise[l];
            loss[l] += r * r;
            s[l] = scale[l] * r;
        }
        for c in crow.iter_mut() {
            let mut v = *c;
            for l in 0..L {
                v[l] *= s[l];
            }
            *c = v;
        }
    }
    for (xi, crow) in xs.chunks_exact(d).zip(coef.chunks_exact(m)) {
        for (tj, c) in theta.chunks_exact_mut(d).zip(crow) {
            for (t, x) in tj.iter_mut().zip(xi) {
                // Whole lane vectors in, then out: with every load before
                // the store, the compiler need not prove that θ does not
                // alias c or x, and emits one vector op per 4 lanes.
                let (c, x, mut v) = (*c, *x, *t);
                for l in 0..L {
                    v[l] -= c[l] * x[l];
                }
                *t = v;
            }
        }
    }
    for v in &mut loss {
        *v /= b as f64;
    }
    loss
}

/// One step of a single large run through faer's GEMM, sequential
/// (`Par::Seq`): `Z = X_B Θᵀ`, then `c_ij = φ'(z_ij) (2η/B) r_i`, then
/// `Θ ← Θ − Cᵀ X_B`. Returns the noisy batch loss. `z` is B×m scratch.
///
/// Its rounding differs from [`label_noise_step`]'s (GEMM blocks and fuses
/// its sums), so the choice between them is by shape only ([`uses_gemm`]).
#[allow(clippy::too_many_arguments)]
pub fn gemm_step<A: Phi>(
    act: A,
    d: usize,
    m: usize,
    xs: &[f64],
    ys: &[f64],
    noise: &[f64],
    eta: f64,
    theta: &mut [f64],
    z: &mut [f64],
) -> f64 {
    let b = ys.len();
    let x = MatRef::from_row_major_slice(xs, b, d);
    faer::linalg::matmul::matmul(
        MatMut::from_row_major_slice_mut(z, b, m),
        Accum::Replace,
        x,
        MatRef::from_row_major_slice(theta, m, d).transpose(),
        1.0,
        Par::Seq,
    );
    let scale = 2.0 * eta / b as f64;
    let mut loss = 0.0;
    for ((zrow, y), xi_noise) in z.chunks_exact_mut(m).zip(ys).zip(noise) {
        let mut f = 0.0;
        for v in zrow.iter_mut() {
            let (p, dp) = act.phi_d1(*v);
            f += p;
            *v = dp;
        }
        let r = f - y - xi_noise;
        loss += r * r;
        let s = scale * r;
        for v in zrow.iter_mut() {
            *v *= s;
        }
    }
    faer::linalg::matmul::matmul(
        MatMut::from_row_major_slice_mut(theta, m, d),
        Accum::Add,
        MatRef::from_row_major_slice(z, b, m).transpose(),
        x,
        -1.0,
        Par::Seq,
    );
    loss / b as f64
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::{Activation, CubicLinear, Tanh};
    use crate::data::Problem;
    use crate::model::loss_gradient;

    /// One single-run step of the direct kernel, on all rows.
    fn direct<A: Phi>(act: A, p: &Problem, noise: &[f64], eta: f64, theta: &mut [f64]) -> f64 {
        let m = theta.len() / p.d;
        let mut coef = vec![0.0; p.n * m];
        label_noise_step::<A, Dynamic, 1>(
            act,
            Dynamic(p.d),
            m,
            p.x.as_chunks().0,
            p.y.as_chunks().0,
            noise.as_chunks().0,
            &[2.0 * eta / p.n as f64],
            theta.as_chunks_mut().0,
            coef.as_chunks_mut().0,
        )[0]
    }

    /// One step of the GEMM kernel, on all rows.
    fn gemm<A: Phi>(act: A, p: &Problem, noise: &[f64], eta: f64, theta: &mut [f64]) -> f64 {
        let m = theta.len() / p.d;
        let mut z = vec![0.0; p.n * m];
        gemm_step(act, p.d, m, &p.x, &p.y, noise, eta, theta, &mut z)
    }

    type Step = fn(CubicLinear, &Problem, &[f64], f64, &mut [f64]) -> f64;

    #[test]
    fn noiseless_full_batch_step_is_a_gradient_step() {
        let (n, d, m) = (4, 3, 5);
        let x: Vec<f64> = (0..n * d)
            .map(|k| ((k * 37 % 17) as f64 / 17.0) - 0.3)
            .collect();
        let y = vec![0.2, -0.4, 0.9, 0.1];
        let p = Problem::new(n, d, x, y);
        let theta: Vec<f64> = (0..m * d)
            .map(|k| ((k * 13 % 11) as f64 / 11.0) - 0.5)
            .collect();
        let act = CubicLinear { beta: 0.5 };
        let eta = 0.01;
        let g = loss_gradient(&p, Activation::CubicLinear { beta: 0.5 }, &theta, m);
        let clean =
            crate::model::Eval::new(&p, Activation::CubicLinear { beta: 0.5 }, &theta, m).loss();
        for (name, step) in [("direct", direct as Step), ("gemm", gemm as Step)] {
            let mut stepped = theta.clone();
            let loss = step(act, &p, &vec![0.0; n], eta, &mut stepped);
            for k in 0..m * d {
                let want = theta[k] - eta * g[k];
                assert!(
                    (stepped[k] - want).abs() < 1e-14,
                    "{name} θ[{k}]: {} vs {want}",
                    stepped[k]
                );
            }
            assert!((loss - clean).abs() < 1e-14, "{name} loss");
        }
    }

    #[test]
    fn noisy_step_is_a_gradient_step_on_the_noisy_labels() {
        let (n, d, m) = (3, 2, 4);
        let x: Vec<f64> = (0..n * d).map(|k| (k as f64 * 0.37).sin()).collect();
        let y = vec![0.3, 0.1, -0.2];
        let xi = vec![0.05, -0.02, 0.01];
        let noisy: Vec<f64> = y.iter().zip(&xi).map(|(a, b)| a + b).collect();
        let theta: Vec<f64> = (0..m * d).map(|k| (k as f64 * 0.71).cos() * 0.5).collect();
        let g = loss_gradient(
            &Problem::new(n, d, x.clone(), noisy),
            Activation::Tanh,
            &theta,
            m,
        );
        let p = Problem::new(n, d, x, y);
        let mut a = theta.clone();
        direct(Tanh, &p, &xi, 0.1, &mut a);
        let mut b = theta.clone();
        gemm(Tanh, &p, &xi, 0.1, &mut b);
        for k in 0..m * d {
            let want = theta[k] - 0.1 * g[k];
            assert!((a[k] - want).abs() < 1e-14, "direct θ[{k}]");
            assert!((b[k] - want).abs() < 1e-14, "gemm θ[{k}]");
        }
    }

    #[test]
    fn a_fixed_dimension_gives_the_same_bits_as_a_runtime_one() {
        let (n, d, m) = (3, 3, 10);
        let x: Vec<f64> = (0..n * d).map(|k| (k as f64 * 0.91).sin()).collect();
        let p = Problem::new(n, d, x, vec![0.1, 0.5, 0.9]);
        let mut a: Vec<f64> = (0..m * d).map(|k| (k as f64 * 0.3).cos()).collect();
        let mut b = a.clone();
        let noise = [0.01, -0.03, 0.02];
        let act = CubicLinear { beta: 1.0 };
        for _ in 0..100 {
            direct(act, &p, &noise, 0.05, &mut a);
            let mut coef = vec![[0.0]; n * m];
            label_noise_step::<_, Fixed<3>, 1>(
                act,
                Fixed::<3>,
                m,
                p.x.as_chunks().0,
                p.y.as_chunks().0,
                noise.as_chunks().0,
                &[2.0 * 0.05 / 3.0],
                b.as_chunks_mut().0,
                &mut coef,
            );
        }
        assert!(a.iter().zip(&b).all(|(u, v)| u.to_bits() == v.to_bits()));
    }
}
