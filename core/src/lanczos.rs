//! The largest eigenvalues of a symmetric operator known only through its
//! products `v ↦ Av`: the Lanczos iteration with full reorthogonalisation
//! (Golub and Van Loan, *Matrix Computations*, §10.1), deterministic given
//! its start vector.
//!
//! Every new Lanczos vector is orthogonalised twice against all the earlier
//! ones, so the basis stays orthonormal to rounding and no spurious copies
//! of converged Ritz values appear; the price is O(s·dim) per step and
//! s·dim f64s for s steps, bounded by [`max_steps`]. When the Krylov space
//! becomes invariant (β ≈ 0) the iteration continues from a fresh random
//! vector orthogonal to the basis, so after `dim` steps it has every
//! eigenvalue exactly. A repeated eigenvalue is found once per Krylov
//! block: the top k are the k largest *distinct* eigenvalues unless a
//! restart finds a second copy.

use crate::rng::{self, Stream};
use faer::{Mat, Side};

/// Steps the iteration takes at most for the top `k` eigenvalues of an
/// operator of dimension `dim` (the basis it stores is this × `dim` f64s).
pub fn max_steps(dim: usize, k: usize) -> usize {
    dim.min(MAX_STEPS.max(4 * k))
}

/// The step bound for a few eigenvalues: the Hessians of docs/science.md
/// have a handful of outlying eigenvalues (at most n from JᵀJ), which
/// converge within tens of steps; this bounds a spectrum that does not.
const MAX_STEPS: usize = 500;

/// A Ritz value counts as converged when its residual bound β_s·|e_sᵀy| is at
/// most this times the largest |Ritz value|: the eigenvalue it approximates
/// is then within that much (and, for a simple eigenvalue, within its
/// square over the gap to the next).
const TOLERANCE: f64 = 1e-12;

/// Steps between two convergence checks (each solves the tridiagonal
/// eigenproblem, O(s³)).
const CHECK_EVERY: usize = 5;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// `w ← w − Σ_q (qᵀw) q` over the basis, twice ("twice is enough", Kahan).
fn orthogonalise(basis: &[Vec<f64>], w: &mut [f64]) {
    for _ in 0..2 {
        for q in basis {
            let c = dot(q, w);
            w.iter_mut().zip(q).for_each(|(wi, qi)| *wi -= c * qi);
        }
    }
}

/// A unit vector of normal draws from `rng`, orthogonal to `basis`; `None`
/// when the basis already spans the space (to rounding).
fn fresh_vector(dim: usize, rng: &mut Stream, basis: &[Vec<f64>]) -> Option<Vec<f64>> {
    let mut v: Vec<f64> = (0..dim).map(|_| rng::normal(rng)).collect();
    let before = norm(&v);
    orthogonalise(basis, &mut v);
    let after = norm(&v);
    (after > 1e-8 * before).then(|| v.iter().map(|x| x / after).collect())
}

/// The eigenvalues of the symmetric tridiagonal matrix with diagonal `alpha`
/// and off-diagonal `beta`, ascending, and its eigenvectors (columns).
fn ritz(alpha: &[f64], beta: &[f64]) -> (Vec<f64>, Mat<f64>) {
    let s = alpha.len();
    let t = Mat::from_fn(s, s, |i, j| match i.abs_diff(j) {
        0 => alpha[i],
        1 => beta[i.min(j)],
        _ => 0.0,
    });
    match t.self_adjoint_eigen(Side::Lower) {
        Ok(eig) => {
            let values = eig.S().column_vector().iter().copied().collect();
            (values, eig.U().to_owned())
        }
        Err(_) => (vec![f64::NAN; s], Mat::from_fn(s, s, |_, _| f64::NAN)),
    }
}

/// The `k` largest eigenvalues of the symmetric `dim`×`dim` operator
/// `apply(v, out)` (out = Av), descending, from a start vector of normal
/// draws from `rng`. Fewer than `k` only when `dim < k`.
pub fn top_eigenvalues(
    dim: usize,
    k: usize,
    rng: &mut Stream,
    apply: impl FnMut(&[f64], &mut [f64]),
) -> Vec<f64> {
    top_eigenpairs(dim, k, rng, apply).0
}

/// [`top_eigenvalues`] and their Ritz vectors (unit, orthonormal to
/// rounding: combinations of the reorthogonalised basis), in the same order.
pub fn top_eigenpairs(
    dim: usize,
    k: usize,
    rng: &mut Stream,
    mut apply: impl FnMut(&[f64], &mut [f64]),
) -> (Vec<f64>, Vec<Vec<f64>>) {
    let steps = max_steps(dim, k);
    let mut basis: Vec<Vec<f64>> = Vec::with_capacity(steps);
    let (mut alpha, mut beta) = (Vec::with_capacity(steps), Vec::with_capacity(steps));
    let mut q = fresh_vector(dim, rng, &basis);
    let mut w = vec![0.0; dim];
    while let Some(v) = q.take() {
        apply(&v, &mut w);
        let a = dot(&v, &w);
        basis.push(v);
        alpha.push(a);
        // Full reorthogonalisation subtracts a·q_s and β·q_{s−1} with the rest.
        orthogonalise(&basis, &mut w);
        let b = norm(&w);
        let s = basis.len();
        if s == steps {
            break;
        }
        let scale = alpha
            .iter()
            .chain(&beta)
            .fold(0.0f64, |m, x| m.max(x.abs()));
        if b <= 1e-10 * scale {
            // An invariant subspace: the next block starts afresh, coupled by 0.
            beta.push(0.0);
            q = fresh_vector(dim, rng, &basis);
        } else {
            if s >= k && s.is_multiple_of(CHECK_EVERY) && converged(&alpha, &beta, b, k) {
                break;
            }
            beta.push(b);
            q = Some(w.iter().map(|x| x / b).collect());
        }
    }
    let (values, u) = ritz(&alpha, &beta[..alpha.len() - 1]);
    let top: Vec<usize> = (0..values.len()).rev().take(k).collect();
    let vectors = top
        .iter()
        .map(|&i| {
            let mut y = vec![0.0; dim];
            for (r, q) in basis.iter().enumerate() {
                let c = u[(r, i)];
                y.iter_mut().zip(q).for_each(|(yi, qi)| *yi += c * qi);
            }
            y
        })
        .collect();
    (top.iter().map(|&i| values[i]).collect(), vectors)
}

/// Whether the top `k` Ritz values of the tridiagonal matrix so far have
/// residual bounds `b·|e_sᵀy|` below [`TOLERANCE`] (relative).
fn converged(alpha: &[f64], beta: &[f64], b: f64, k: usize) -> bool {
    let (values, u) = ritz(alpha, beta);
    let scale = values.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let s = values.len();
    (s - k..s).all(|i| (b * u[(s - 1, i)]).abs() <= TOLERANCE * scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// A symmetric matrix with known eigenvalues: Q diag(λ) Qᵀ for an
    /// orthogonal Q from a QR factorisation of normal draws.
    fn with_eigenvalues(lambda: &[f64], seed: u64) -> Mat<f64> {
        let n = lambda.len();
        let mut rng = Stream::seed_from_u64(seed);
        let g = Mat::from_fn(n, n, |_, _| rng::normal(&mut rng));
        let q = g.qr().compute_Q();
        let d = Mat::from_fn(n, n, |i, j| if i == j { lambda[i] } else { 0.0 });
        &q * &d * q.transpose()
    }

    fn apply(a: &Mat<f64>) -> impl FnMut(&[f64], &mut [f64]) + '_ {
        move |v, out| {
            for (i, o) in out.iter_mut().enumerate() {
                *o = (0..v.len()).map(|j| a[(i, j)] * v[j]).sum();
            }
        }
    }

    #[test]
    fn finds_the_largest_eigenvalues_of_a_known_spectrum() {
        // 200 eigenvalues: five separated outliers on a negative bulk, as
        // the Hessian away from the manifold has.
        let mut lambda: Vec<f64> = (0..195).map(|i| -1.0 + i as f64 / 100.0).collect();
        lambda.extend([3.0, 5.0, 8.0, 13.0, 21.0]);
        let a = with_eigenvalues(&lambda, 3);
        let mut rng = Stream::seed_from_u64(9);
        let top = top_eigenvalues(200, 3, &mut rng, apply(&a));
        for (got, want) in top.iter().zip([21.0, 13.0, 8.0]) {
            assert!((got - want).abs() <= 1e-10 * want, "{got} vs {want}");
        }
    }

    #[test]
    fn an_invariant_start_restarts_and_ends_with_every_eigenvalue() {
        // A rank-one matrix: the Krylov space of any start vector is
        // invariant after two steps, and the restarts must go on to the
        // whole spectrum (u·u once, zero five times).
        let dim = 6;
        let u: Vec<f64> = (0..dim).map(|i| 1.0 + i as f64).collect();
        let a = Mat::from_fn(dim, dim, |i, j| u[i] * u[j]);
        let mut rng = Stream::seed_from_u64(1);
        let top = top_eigenvalues(dim, dim, &mut rng, apply(&a));
        let want = dot(&u, &u);
        assert_eq!(top.len(), dim);
        assert!((top[0] - want).abs() <= 1e-12 * want, "{top:?}");
        assert!(top[1..].iter().all(|x| x.abs() <= 1e-10 * want), "{top:?}");
    }

    #[test]
    fn is_deterministic_given_the_stream() {
        let lambda: Vec<f64> = (0..50).map(|i| (i as f64).sin()).collect();
        let a = with_eigenvalues(&lambda, 5);
        let run = || top_eigenvalues(50, 4, &mut Stream::seed_from_u64(2), apply(&a));
        assert_eq!(run(), run());
    }
}
