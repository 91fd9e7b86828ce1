//! The step kernels: one label-noise (S)GD step on the two-layer net
//! `f(x) = Σ_j a_j φ(θ_jᵀx)` (a fixed, ones in \[G24\]), the hot loop of
//! every sweep (docs/science.md §5.1):
//!
//! `r_i = f(x_i) − y_i − ξ_i`, `θ_j ← θ_j − (2η/B) Σ_{i∈B} r_i a_j φ'(z_ij) x_i`.
//!
//! Two direct kernels perform the same IEEE operations per value:
//! * [`single_run_step`], one run vectorised over the neurons j: Θ is held
//!   transposed in blocks of [`QUAD`] neurons ([`pack_theta`]), so
//!   `z_i· = Σ_k x_ik θ_·k` is a few 4-wide vector operations per k and the
//!   sum over j has no long chain of dependent adds;
//! * [`lanes_step`], `L` runs at once ([`crate::lanes`]): every value
//!   is an array of `L` lanes, one lane per run (structure of arrays, the
//!   way `jax.vmap` vectorises over runs), the loops over lanes unit-stride SIMD.
//!
//! Both follow this order of floating-point operations, per run (the
//! contract), so a run gives the same bits in lanes as alone:
//! * `z_ij = (x_i1 θ_j1 + x_i2 θ_j2) + …` in k order;
//! * `f_i = (P_0 + P_1) + (P_2 + P_3)`, four striped partial sums
//!   `P_s = (a_s φ(z_is) + a_{s+4} φ(z_i,s+4)) + a_{s+8} φ(z_i,s+8) + …`
//!   over the `j ≡ s (mod 4)` in increasing order (a partial with no term
//!   is zero), each term the product `a_j · φ(z_ij)`;
//! * `r_i = (f_i − y_i) − ξ_i`, `loss = (r_1² + r_2²) + …` in batch order;
//! * `c_ij = (a_j · φ'(z_ij)) · ((2η/B) · r_i)`, the step scale `2η/B`
//!   computed once per step by [`step_scale`] (η is the step's η_k under a
//!   schedule);
//! * `θ_jk ← θ_jk − c_ij x_ik`, one subtraction per batch row, in batch order.
//!
//! (Until the striped `f_i`, the sum over j was one chain in j order; the
//! change altered results in their last bits, see docs/performance.md. Until
//! the sums started at [`ZERO`] = −0 rather than +0, each began with an
//! addition of +0, which changes nothing but the sign of an exact zero.
//! Before the second layer a was a parameter, the products with a_j were
//! not there; with a = 1 they are exact, so \[G24\]'s runs kept every bit.)
//! No multiply–add is ever fused (Rust does not contract `a * b + c`), so the
//! baseline x86-64 and AVX2 builds give the same bits on every machine.
//!
//! Large runs (see [`uses_gemm`]) take a different, also deterministic
//! path through faer's GEMM ([`gemm_step`]).
//!
//! The three kernels are named for the layout they step — [`single_run_step`]
//! one run with Θ in neuron blocks, [`lanes_step`] `L` runs as lanes,
//! [`gemm_step`] one run through GEMM — and take one argument order: the
//! activation and shape (d, m), the second layer a, the batch rows X_B, their
//! labels y_B and noise ξ, the step scale `2η/B` from [`step_scale`] (one per
//! lane for [`lanes_step`]), Θ, then scratch. Each returns the noisy batch
//! loss (per lane).
//!
//! No allocation here: the caller owns every buffer.
//!
//! Past 600 lines only with its tests, kept beside the kernels: each pins a
//! kernel's bits against the plain formula and the other layouts.

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

/// The step scale `2η/B` every kernel multiplies the residuals by: computed
/// here alone, as `(2·η)/B`, so that every path, lane and algorithm (SAM
/// with B = 1) rounds it the same way.
#[inline(always)]
pub fn step_scale(eta: f64, batch: usize) -> f64 {
    2.0 * eta / batch as f64
}

/// Runs with `m·d·B` at least this take the GEMM path ([`gemm_step`]): below
/// it, a GEMM call's packing and dispatch cost more than the work (measured,
/// docs/performance.md).
pub const GEMM_MIN_WORK: usize = 1 << 10;

/// Whether a run of this shape steps through faer's GEMM. A function of the
/// shape alone, so the path (and with it every bit of the result) never
/// depends on threads or lanes.
pub fn uses_gemm(m: usize, d: usize, batch: usize) -> bool {
    m * d * batch >= GEMM_MIN_WORK
}

/// One step for `L` runs at once; returns each run's noisy batch loss
/// `(1/B) Σ r_i²` (non-finite once that run has diverged).
///
/// Lane-major buffers (`[f64; L]` per entry), row-major in the rest:
/// `outer` is each run's second layer a (m), `xs` holds the B batch rows
/// (B×d), `ys` and `noise` their labels and label noise, `scale` is `2η/B`
/// per run, `theta` is m×d, `coef` is B×m scratch.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn lanes_step<A: Phi, D: Dim, const L: usize>(
    act: A,
    dim: D,
    m: usize,
    outer: &[[f64; L]],
    xs: &[[f64; L]],
    ys: &[[f64; L]],
    noise: &[[f64; L]],
    scale: &[f64; L],
    theta: &mut [[f64; L]],
    coef: &mut [[f64; L]],
) -> [f64; L] {
    let d = dim.get();
    let b = ys.len();
    let mut loss = [ZERO; L];
    for (((xi, crow), y), xi_noise) in xs
        .chunks_exact(d)
        .zip(coef.chunks_exact_mut(m))
        .zip(ys)
        .zip(noise)
    {
        // The striped partial sums P_s of f_i (module doc): neurons in
        // blocks of four, so that s is known at compile time, then the rest.
        let mut part = [[ZERO; L]; QUAD];
        let full = m / QUAD;
        let (t_full, t_rest) = theta.split_at(full * QUAD * d);
        let (c_full, c_rest) = crow.split_at_mut(full * QUAD);
        let (a_full, a_rest) = outer[..m].split_at(full * QUAD);
        for ((tq, cq), aq) in t_full
            .chunks_exact(QUAD * d)
            .zip(c_full.as_chunks_mut::<QUAD>().0)
            .zip(a_full.as_chunks::<QUAD>().0)
        {
            for s in 0..QUAD {
                let tj = &tq[s * d..(s + 1) * d];
                neuron(act, xi, tj, &aq[s], &mut cq[s], &mut part[s]);
            }
        }
        let rest = t_rest.chunks_exact(d).zip(c_rest).zip(a_rest);
        for (s, ((tj, c), aj)) in rest.enumerate() {
            neuron(act, xi, tj, aj, c, &mut part[s]);
        }
        let mut s = [0.0; L];
        for l in 0..L {
            let f = (part[0][l] + part[1][l]) + (part[2][l] + part[3][l]);
            let r = f - y[l] - xi_noise[l];
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
    // Each θ_jk is loaded once, takes its B subtractions in batch order in
    // registers, and is stored once. For the d of the fixed kernels, a
    // neuron's whole θ_j· stays in registers across the rows, so that each
    // pass of the loop over rows (of runtime length) carries d values' work
    // (11 % more run-steps/s at (10, 3, 3) than one θ_jk at a time).
    if d <= FIXED_D {
        for (j, tj) in theta.chunks_exact_mut(d).enumerate() {
            let mut v = [[0.0; L]; FIXED_D];
            v[..d].copy_from_slice(tj);
            for (xi, crow) in xs.chunks_exact(d).zip(coef.chunks_exact(m)) {
                let c = crow[j];
                for (vk, x) in v[..d].iter_mut().zip(xi) {
                    for l in 0..L {
                        vk[l] -= c[l] * x[l];
                    }
                }
            }
            tj.copy_from_slice(&v[..d]);
        }
    } else {
        for (j, tj) in theta.chunks_exact_mut(d).enumerate() {
            for (k, t) in tj.iter_mut().enumerate() {
                let mut v = *t;
                for (xi, crow) in xs.chunks_exact(d).zip(coef.chunks_exact(m)) {
                    let (c, x) = (crow[j], xi[k]);
                    for l in 0..L {
                        v[l] -= c[l] * x[l];
                    }
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

/// The largest d of [`with_dim!`](crate::with_dim)'s fixed kernels.
const FIXED_D: usize = 4;

/// Neurons per block of the single-run kernel: one AVX2 vector of f64, and
/// the number of striped partial sums of `f_i` (module doc).
pub const QUAD: usize = 4;

/// A block of [`QUAD`] neurons' values.
pub type Quad = [f64; QUAD];

/// Blocks of [`QUAD`] neurons covering m neurons.
pub fn quads(m: usize) -> usize {
    m.div_ceil(QUAD)
}

/// Θ (m×d, row-major) into the layout of [`single_run_step`]: k-major, each k's
/// m values `θ_·k` in [`quads`]`(m)` blocks, the padding zero.
pub fn pack_theta(theta: &[f64], m: usize, d: usize, packed: &mut [Quad]) {
    let nq = quads(m);
    packed.fill([0.0; QUAD]);
    for (j, row) in theta.chunks_exact(d).enumerate() {
        for (k, &v) in row.iter().enumerate() {
            packed[k * nq + j / QUAD][j % QUAD] = v;
        }
    }
}

/// The inverse of [`pack_theta`].
pub fn unpack_theta(packed: &[Quad], m: usize, d: usize, theta: &mut [f64]) {
    let nq = quads(m);
    for (j, row) in theta.chunks_exact_mut(d).enumerate() {
        for (k, v) in row.iter_mut().enumerate() {
            *v = packed[k * nq + j / QUAD][j % QUAD];
        }
    }
}

/// One step of one run, vectorised over the neurons; returns the noisy batch
/// loss `(1/B) Σ r_i²` (non-finite once the run has diverged). The same bits
/// as [`lanes_step`] with one lane.
///
/// `nq` is [`quads`]`(m)`, a compile-time constant for small m like `dim`
/// (then every loop but the one over batch rows unrolls). `outer` is the
/// second layer a in nq blocks, the padding zero ([`pack_theta`] with
/// d = 1), `xs` holds the B batch rows (B×d, row-major), `ys` and `noise`
/// their labels and label noise, `scale` is `2η/B`; `theta` is Θ packed by
/// [`pack_theta`] (d·nq blocks), `coef` is [`single_run_scratch`]`(B, m)`
/// blocks of scratch. The padding neurons' a = 0 takes them out of `f_i`
/// (their z is ±0, so φ(z) is finite and a·φ(z) a zero) and gives them
/// `c_ij = 0`, so their θ stay zero.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn single_run_step<A: Phi, D: Dim, Q: Dim>(
    act: A,
    dim: D,
    nq: Q,
    m: usize,
    outer: &[Quad],
    xs: &[f64],
    ys: &[f64],
    noise: &[f64],
    scale: f64,
    theta: &mut [Quad],
    coef: &mut [Quad],
) -> f64 {
    let (d, nq) = (dim.get(), nq.get());
    let b = ys.len();
    assert!(
        nq == quads(m)
            && outer.len() == nq
            && theta.len() == d * nq
            && coef.len() >= single_run_scratch(b, m)
            && xs.len() == b * d
            && noise.len() == b
    );
    // Lengths the compiler can see are multiples of d and nq, so that the
    // indexing below needs no bounds checks.
    let theta = &mut theta[..d * nq];
    let outer = &outer[..nq];
    let coef = &mut coef[..b * nq];
    let mut loss = ZERO;
    for i in 0..b {
        let xi = &xs[i * d..(i + 1) * d];
        let crow = &mut coef[i * nq..(i + 1) * nq];
        let mut part = [ZERO; QUAD];
        for q in 0..nq {
            let mut z = [ZERO; QUAD];
            for k in 0..d {
                let (x, t) = (xi[k], theta[k * nq + q]);
                for w in 0..QUAD {
                    z[w] += x * t[w];
                }
            }
            let a = outer[q];
            let mut c = [0.0; QUAD];
            for w in 0..QUAD {
                let (p, dp) = act.phi_d1(z[w]);
                part[w] += a[w] * p;
                c[w] = a[w] * dp;
            }
            crow[q] = c;
        }
        // Left to itself, LLVM's vectoriser folds the reduction into the
        // blocks' φ, splitting them into half vectors and shuffles; passing
        // the sums through `black_box` (a store and reload) keeps φ on full
        // vectors: ≈ 20 % more steps/s at (10, 3, 3). The same bits either way.
        let r = striped_total(std::hint::black_box(part)) - ys[i] - noise[i];
        loss += r * r;
        let s = scale * r;
        for c in crow.iter_mut() {
            for v in c.iter_mut() {
                *v *= s;
            }
        }
    }
    // Row by row, every θ block in the row: d·nq independent chains per
    // row (the loops over k and q unroll), each block still taking its B
    // subtractions in batch order.
    for i in 0..b {
        for k in 0..d {
            let x = xs[i * d + k];
            for q in 0..nq {
                let c = coef[i * nq + q];
                let t = &mut theta[k * nq + q];
                for w in 0..QUAD {
                    t[w] -= c[w] * x;
                }
            }
        }
    }
    loss / b as f64
}

/// Where every sum starts: `−0 + x` is `x` for every x (`+0 + (−0)` is
/// `+0`), so the first addition is exact and the compiler drops it.
pub const ZERO: f64 = -0.0;

/// The scratch blocks [`single_run_step`] needs for B rows and m neurons.
pub fn single_run_scratch(b: usize, m: usize) -> usize {
    b * quads(m)
}

/// `f_i` from its striped partial sums `P_0 … P_3` (module doc), for
/// kernels of other algorithms that follow the same order (SAM).
#[inline(always)]
pub fn striped_total(part: [f64; QUAD]) -> f64 {
    (part[0] + part[1]) + (part[2] + part[3])
}

/// Neuron j on batch row i, in every lane: `z_ij`, `P_s += a_j φ(z_ij)` and
/// `c_ij = a_j φ'(z_ij)` (scaled by the row's residual later).
#[inline(always)]
fn neuron<A: Phi, const L: usize>(
    act: A,
    xi: &[[f64; L]],
    tj: &[[f64; L]],
    aj: &[f64; L],
    c: &mut [f64; L],
    part: &mut [f64; L],
) {
    let mut z = [ZERO; L];
    for (x, t) in xi.iter().zip(tj) {
        for l in 0..L {
            z[l] += x[l] * t[l];
        }
    }
    for l in 0..L {
        let (p, dp) = act.phi_d1(z[l]);
        part[l] += aj[l] * p;
        c[l] = aj[l] * dp;
    }
}

/// One step of a single large run through faer's GEMM, sequential
/// (`Par::Seq`): `Z = X_B Θᵀ`, then `f_i = Σ_j a_j φ(z_ij)` in j order and
/// `c_ij = (a_j φ'(z_ij)) ((2η/B) r_i)` with `scale` = [`step_scale`]`(η, B)`,
/// then `Θ ← Θ − Cᵀ X_B`. Returns the noisy batch loss. `outer` is the second
/// layer a (m), `z` is B×m scratch.
///
/// Its rounding differs from [`lanes_step`]'s (GEMM blocks and fuses
/// its sums), so the choice between them is by shape only ([`uses_gemm`]).
#[allow(clippy::too_many_arguments)]
pub fn gemm_step<A: Phi>(
    act: A,
    d: usize,
    m: usize,
    outer: &[f64],
    xs: &[f64],
    ys: &[f64],
    noise: &[f64],
    scale: f64,
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
    let mut loss = 0.0;
    for ((zrow, y), xi_noise) in z.chunks_exact_mut(m).zip(ys).zip(noise) {
        let mut f = 0.0;
        for (v, a) in zrow.iter_mut().zip(&outer[..m]) {
            let (p, dp) = act.phi_d1(*v);
            f += a * p;
            *v = a * dp;
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
    use crate::activation::{Activation, CubicLinear, Softplus, Tanh};
    use crate::data::Problem;
    use crate::model::loss_gradient;

    /// The problem's second layer a, m values.
    fn outer(p: &Problem, m: usize) -> Vec<f64> {
        let mut a = vec![0.0; m];
        p.fill_outer(&mut a);
        a
    }

    /// The problem's second layer in the single-run kernel's blocks.
    fn outer_quads(p: &Problem, m: usize) -> Vec<Quad> {
        let mut packed = vec![[0.0; QUAD]; quads(m)];
        pack_theta(&outer(p, m), m, 1, &mut packed);
        packed
    }

    /// One single-run step of the direct kernel, on all rows.
    fn direct<A: Phi>(act: A, p: &Problem, noise: &[f64], eta: f64, theta: &mut [f64]) -> f64 {
        let m = theta.len() / p.d;
        let mut coef = vec![0.0; p.n * m];
        lanes_step::<A, Dynamic, 1>(
            act,
            Dynamic(p.d),
            m,
            outer(p, m).as_chunks().0,
            p.x.as_chunks().0,
            p.y.as_chunks().0,
            noise.as_chunks().0,
            &[step_scale(eta, p.n)],
            theta.as_chunks_mut().0,
            coef.as_chunks_mut().0,
        )[0]
    }

    /// One step of the GEMM kernel, on all rows.
    fn gemm<A: Phi>(act: A, p: &Problem, noise: &[f64], eta: f64, theta: &mut [f64]) -> f64 {
        let m = theta.len() / p.d;
        let mut z = vec![0.0; p.n * m];
        let a = outer(p, m);
        let scale = step_scale(eta, p.n);
        gemm_step(act, p.d, m, &a, &p.x, &p.y, noise, scale, theta, &mut z)
    }

    type Step = fn(CubicLinear, &Problem, &[f64], f64, &mut [f64]) -> f64;

    #[test]
    fn noiseless_full_batch_step_is_a_gradient_step() {
        let (n, d, m) = (4, 3, 5);
        let x: Vec<f64> = (0..n * d)
            .map(|k| ((k * 37 % 17) as f64 / 17.0) - 0.3)
            .collect();
        let y = vec![0.2, -0.4, 0.9, 0.1];
        let theta: Vec<f64> = (0..m * d)
            .map(|k| ((k * 13 % 11) as f64 / 11.0) - 0.5)
            .collect();
        let act = CubicLinear { beta: 0.5 };
        let eta = 0.01;
        // a = 1, a = ±1 and a of mixed sign and size.
        for a in [
            vec![1.0; m],
            vec![1.0, -1.0, 1.0, -1.0, 1.0],
            vec![0.3, -1.7, 2.2, 0.0, -0.4],
        ] {
            let p = Problem::new(n, d, x.clone(), y.clone()).with_outer(a.clone());
            let g = loss_gradient(&p, Activation::CubicLinear { beta: 0.5 }, &theta, m);
            let clean =
                crate::model::Eval::new(&p, Activation::CubicLinear { beta: 0.5 }, &theta, m)
                    .loss();
            for (name, step) in [("direct", direct as Step), ("gemm", gemm as Step)] {
                let mut stepped = theta.clone();
                let loss = step(act, &p, &vec![0.0; n], eta, &mut stepped);
                for k in 0..m * d {
                    let want = theta[k] - eta * g[k];
                    assert!(
                        (stepped[k] - want).abs() < 1e-14,
                        "{name} a = {a:?} θ[{k}]: {} vs {want}",
                        stepped[k]
                    );
                }
                assert!((loss - clean).abs() < 1e-14, "{name} a = {a:?} loss");
            }
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
        let a = vec![1.0, -1.0, 1.0, -1.0];
        let g = loss_gradient(
            &Problem::new(n, d, x.clone(), noisy).with_outer(a.clone()),
            Activation::Tanh,
            &theta,
            m,
        );
        let p = Problem::new(n, d, x, y).with_outer(a);
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

    /// The single-run kernel (neurons as vector lanes, Θ packed) and the
    /// lanes kernel with one lane (runs as lanes) follow one operation order,
    /// so they agree bit for bit — for every m (padding of the last block of
    /// four neurons, m < 4), with φ(0) ≠ 0 (softplus: padding must not count),
    /// with d fixed or not, and with a second layer of ones or not.
    #[test]
    fn the_single_run_kernel_gives_the_bits_of_the_lanes_kernel() {
        fn check<A: Phi, D: Dim, Q: Dim>(act: A, dim: D, nq: Q, m: usize, mixed: bool) {
            let (n, d) = (3, dim.get());
            let x: Vec<f64> = (0..n * d).map(|k| (k as f64 * 0.91).sin()).collect();
            let mut p = Problem::new(n, d, x, vec![0.1, -0.5, 0.9]);
            if mixed {
                p = p.with_outer((0..m).map(|j| (j as f64 * 1.3).cos() * 1.5).collect());
            }
            let outer = outer_quads(&p, m);
            let mut lane: Vec<f64> = (0..m * d).map(|k| (k as f64 * 0.3).cos()).collect();
            let mut packed = vec![[0.0; QUAD]; d * quads(m)];
            pack_theta(&lane, m, d, &mut packed);
            let mut coef = vec![[0.0; QUAD]; single_run_scratch(n, m)];
            for step in 0..200 {
                let noise = [0.01 * step as f64, -0.03, 0.02];
                let want = direct(act, &p, &noise, 0.01, &mut lane);
                let got = single_run_step(
                    act,
                    dim,
                    nq,
                    m,
                    &outer,
                    &p.x,
                    &p.y,
                    &noise,
                    step_scale(0.01, n),
                    &mut packed,
                    &mut coef,
                );
                assert_eq!(
                    got.to_bits(),
                    want.to_bits(),
                    "m = {m}: loss at step {step}"
                );
            }
            let mut theta = vec![0.0; m * d];
            unpack_theta(&packed, m, d, &mut theta);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&theta), bits(&lane), "m = {m}: Θ");
        }
        for m in [1, 2, 3, 4, 5, 7, 8, 10, 13, 16, 21] {
            for mixed in [false, true] {
                check(Softplus, Fixed::<3>, Dynamic(quads(m)), m, mixed);
                let act = CubicLinear { beta: 0.7 };
                check(act, Dynamic(5), Dynamic(quads(m)), m, mixed);
            }
        }
        check(Tanh, Fixed::<2>, Fixed::<3>, 10, true);
        check(Softplus, Fixed::<3>, Fixed::<2>, 6, false);
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
            lanes_step::<_, Fixed<3>, 1>(
                act,
                Fixed::<3>,
                m,
                &[[1.0]; 10],
                p.x.as_chunks().0,
                p.y.as_chunks().0,
                noise.as_chunks().0,
                &[step_scale(0.05, 3)],
                b.as_chunks_mut().0,
                &mut coef,
            );
        }
        assert!(a.iter().zip(&b).all(|(u, v)| u.to_bits() == v.to_bits()));
    }
}
