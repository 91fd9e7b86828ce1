//! Solves of small symmetric positive definite systems by Cholesky, on the
//! stack: the n×n JJᵀ of every record's ‖P_T∇R‖ and of every step of the
//! Riemannian flow. At \[G24\]'s n = 3, faer's general solver (a matrix, a
//! factorisation and a right-hand side allocated per call) cost several
//! times the arithmetic.

/// Systems of at most this many unknowns are solved here.
pub const MAX_DIM: usize = 8;

/// Solves `G x = b` for the symmetric n×n G whose entry (i, k), i ≥ k, is
/// `lower(i, k)` (the upper triangle is not read), n = `b.len()` ≤
/// [`MAX_DIM`], overwriting b with x (no vector allocated); `None`, b
/// untouched, when a pivot is not positive (G is not positive definite to
/// working precision) or not a number.
pub fn solve(lower: impl Fn(usize, usize) -> f64, b: &mut [f64]) -> Option<()> {
    let n = b.len();
    assert!(n <= MAX_DIM, "{n} unknowns: more than {MAX_DIM}");
    // G = L·Lᵀ, column by column.
    let mut l = [[0.0; MAX_DIM]; MAX_DIM];
    for j in 0..n {
        for i in j..n {
            let s = lower(i, j) - dot(&l[i][..j], &l[j][..j]);
            if i == j {
                if s.is_nan() || s <= 0.0 {
                    return None;
                }
                l[j][j] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    // L·y = b, then Lᵀ·x = y.
    let x = b;
    for i in 0..n {
        x[i] = (x[i] - dot(&l[i][..i], &x[..i])) / l[i][i];
    }
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k][i] * x[k]).sum();
        x[i] = (x[i] - s) / l[i][i];
    }
    Some(())
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng;
    use faer::{Mat, Side};
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// [`solve`] into a new vector.
    fn solved(lower: impl Fn(usize, usize) -> f64, b: &[f64]) -> Option<Vec<f64>> {
        let mut x = b.to_vec();
        solve(lower, &mut x).map(|()| x)
    }

    /// B·Bᵀ + shift·I for a Gaussian n×n B: positive definite, with a
    /// condition number that grows as the shift falls.
    fn spd(seed: u64, n: usize, shift: f64) -> Vec<f64> {
        let mut s = Xoshiro256PlusPlus::seed_from_u64(seed);
        let b: Vec<f64> = (0..n * n).map(|_| rng::normal(&mut s)).collect();
        (0..n * n)
            .map(|ik| {
                let (i, k) = (ik / n, ik % n);
                let bb: f64 = (0..n).map(|j| b[i * n + j] * b[k * n + j]).sum();
                bb + if i == k { shift } else { 0.0 }
            })
            .collect()
    }

    #[test]
    fn solutions_match_faers_cholesky_and_the_residual_is_at_rounding() {
        for n in 1..=MAX_DIM {
            for (seed, shift) in [(1, 1.0), (2, 1e-3), (3, 1e-8)] {
                let g = spd(seed * 10 + n as u64, n, shift);
                let b: Vec<f64> = (0..n).map(|i| (i as f64 * 0.9).cos()).collect();
                let x = solved(|i, k| g[i * n + k], &b).unwrap();
                let mat = Mat::from_fn(n, n, |i, k| g[i * n + k]);
                let rhs = Mat::from_fn(n, 1, |i, _| b[i]);
                let llt = mat.llt(Side::Lower).unwrap();
                let want = faer::linalg::solvers::Solve::solve(&llt, &rhs);
                let scale = (0..n).map(|i| want[(i, 0)].abs()).fold(0.0, f64::max);
                // Two backward-stable solves differ by ≲ κ·ε relative.
                let kappa = 1.0 / shift * g.iter().fold(0.0f64, |a, v| a.max(v.abs()));
                for i in 0..n {
                    assert!(
                        (x[i] - want[(i, 0)]).abs() <= 100.0 * kappa * f64::EPSILON * scale,
                        "n = {n}, shift {shift}: x[{i}] = {} vs faer {}",
                        x[i],
                        want[(i, 0)]
                    );
                }
                // Independent of faer: G·x = b to the rounding of G·x.
                for i in 0..n {
                    let gx: f64 = (0..n).map(|k| g[i * n + k] * x[k]).sum();
                    let size: f64 = (0..n).map(|k| (g[i * n + k] * x[k]).abs()).sum();
                    assert!(
                        (gx - b[i]).abs() <= 100.0 * f64::EPSILON * (size + b[i].abs()),
                        "n = {n}, shift {shift}: residual {}",
                        gx - b[i]
                    );
                }
            }
        }
    }

    #[test]
    fn only_the_lower_triangle_is_read() {
        let g = spd(7, 4, 0.5);
        let b = [1.0, -2.0, 0.5, 3.0];
        let full = solved(|i, k| g[i * 4 + k], &b).unwrap();
        let lower = solved(|i, k| if i >= k { g[i * 4 + k] } else { f64::NAN }, &b).unwrap();
        assert_eq!(full, lower);
    }

    #[test]
    fn singular_indefinite_and_nan_matrices_give_none() {
        // Rank one: the second pivot is 0 (exactly, with these entries).
        let rank_one = [1.0, 2.0, 2.0, 4.0];
        assert_eq!(solved(|i, k| rank_one[i * 2 + k], &[1.0, 1.0]), None);
        let indefinite = [1.0, 0.0, 0.0, -1.0];
        assert_eq!(solved(|i, k| indefinite[i * 2 + k], &[1.0, 1.0]), None);
        assert_eq!(solved(|_, _| f64::NAN, &[1.0]), None);
        assert_eq!(solved(|_, _| 4.0, &[2.0]), Some(vec![0.5]));
    }
}
