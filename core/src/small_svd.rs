//! Singular values of small dense matrices by one-sided Jacobi (Hestenes'
//! method): what every record computes three times, for its n×m feature
//! matrices Z and φ(Z) and for the principal coordinates of the neurons. At
//! \[G24\]'s sizes (n = 3, m = 10) this costs about a tenth of faer's general
//! SVD (Householder bidiagonalisation, implicit QR, a workspace allocated
//! per call), which dominated the metrics of short runs.
//!
//! The method rotates pairs of columns of A until every pair is orthogonal
//! to working precision; the columns are then A·V, whose norms are the
//! singular values and which are the left singular vectors scaled by them
//! (U·Σ). The matrix is first scaled by a power of two (exactly) so that no
//! sum of squares overflows or underflows, and columns longer than they are
//! many are first reduced to a small triangular R by a Householder QR, the
//! rotations then acting on R's short columns. Each reflection and rotation
//! is orthogonal to rounding, so the values are those of a matrix within a
//! few ulps of A, as faer's are: they agree with faer's to a few ulps of
//! the largest singular value, and a value below about 10⁻¹⁵·s₁ (a
//! collapsed rank, set by the rounding of A's entries themselves) agrees
//! only to that absolute level. The result is a deterministic function of
//! A.

/// Matrices whose shorter side is at most this go to [`singular_values`]
/// here: a sweep rotates each pair of the shorter side's vectors, so its
/// cost grows with the square of that side.
const MAX_SHORT: usize = 8;
/// …and whose longer side is at most this (beyond, faer's QR-first SVD
/// does fewer operations per entry).
const MAX_LONG: usize = 1024;
/// Sweeps before giving up; convergence is quadratic, and a handful of
/// sweeps suffices for any matrix of these sizes.
const MAX_SWEEPS: usize = 60;

/// Whether an r×c matrix is small enough for [`singular_values`].
pub fn fits(r: usize, c: usize) -> bool {
    fits_columns(r.max(c), r.min(c))
}

/// Whether `count` columns of `len` values are few and short enough for
/// [`orthogonalise`].
pub fn fits_columns(len: usize, count: usize) -> bool {
    count <= MAX_SHORT && len <= MAX_LONG
}

/// Singular values of the r×c row-major matrix `a`, descending
/// (min(r, c) of them); empty when an entry is not finite. Call for
/// matrices that [`fits`].
pub fn singular_values(a: &[f64], r: usize, c: usize) -> Vec<f64> {
    // The shorter side's vectors are rotated: the rows of a wide matrix
    // (contiguous in row-major order), else the columns.
    let mut g = if r <= c {
        a.to_vec()
    } else {
        (0..c)
            .flat_map(|j| (0..r).map(move |i| a[i * c + j]))
            .collect()
    };
    row_singular_values(&mut g, r.max(c))
}

/// [`singular_values`] of the wide matrix whose rows, each `len` long,
/// fill `rows` (also those of its transpose, whose columns they are),
/// computed in their place: `rows` is left overwritten. For a matrix the
/// caller no longer needs, without the copy.
pub fn row_singular_values(rows: &mut [f64], len: usize) -> Vec<f64> {
    decompose(rows, len, false)
}

/// Rotates the columns of a matrix A, stored one after another in `g`,
/// each `len` long, into A·V with V orthogonal: mutually orthogonal
/// columns (the left singular vectors scaled by the singular values),
/// reordered by descending norm. Returns the norms, i.e. the singular
/// values, descending; if an entry is not finite, leaves `g` as it is and
/// returns an empty vector.
pub fn orthogonalise(g: &mut [f64], len: usize) -> Vec<f64> {
    decompose(g, len, true)
}

/// The singular values of the columns in `g` and, with `vectors`, A·V in
/// place of A ([`orthogonalise`]); without, `g` is left overwritten.
///
/// Columns longer than they are many (and at most [`MAX_SHORT`] of them)
/// are first reduced by a Householder QR, A = QR, and the Jacobi sweeps
/// rotate the columns of the count×count R instead (then A·V = Q·(R·V)):
/// each rotation costs O(count) instead of O(len), on arrays whose size
/// the compiler knows. Householder reflections are orthogonal to rounding
/// as the rotations are, so the values are still those of a matrix within
/// a few ulps of A.
fn decompose(g: &mut [f64], len: usize, vectors: bool) -> Vec<f64> {
    let count = g.len().checked_div(len).unwrap_or(0);
    let Some((scale, unscale)) = power_of_two_scaling(g) else {
        return Vec::new();
    };
    g.iter_mut().for_each(|v| *v *= scale);
    // One instance per count up to MAX_SHORT (the assertion below keeps
    // the two in step); more columns, or columns no longer than they are
    // many, are rotated as they are.
    const _: () = assert!(MAX_SHORT == 8);
    let reduced: Option<Reduced> = match count {
        _ if count >= len => None,
        1 => Some(reduced::<1>),
        2 => Some(reduced::<2>),
        3 => Some(reduced::<3>),
        4 => Some(reduced::<4>),
        5 => Some(reduced::<5>),
        6 => Some(reduced::<6>),
        7 => Some(reduced::<7>),
        8 => Some(reduced::<8>),
        _ => None,
    };
    if let Some(reduced) = reduced {
        return reduced(g, len, vectors, unscale);
    }
    let tol = (len as f64).sqrt() * f64::EPSILON;
    sweep(count, |i, j| {
        let (head, tail) = g.split_at_mut(j * len);
        rotate(&mut head[i * len..][..len], &mut tail[..len], tol)
    });
    let norms: Vec<f64> = g.chunks_exact(len).map(|c| dot(c, c).sqrt()).collect();
    let mut order = vec![0; count];
    descending(&norms, &mut order);
    if vectors {
        let sorted: Vec<f64> = order
            .iter()
            .flat_map(|&k| &g[k * len..][..len])
            .map(|v| v * unscale)
            .collect();
        g.copy_from_slice(&sorted);
    }
    order.iter().map(|&k| norms[k] * unscale).collect()
}

/// [`reduced`] for one C: the columns, their length, whether A·V is
/// wanted, and the inverse of the scaling.
type Reduced = fn(&mut [f64], usize, bool, f64) -> Vec<f64>;

/// [`decompose`] of C < `len` columns, already scaled, through their QR.
fn reduced<const C: usize>(g: &mut [f64], len: usize, vectors: bool, unscale: f64) -> Vec<f64> {
    let mut qr = Householder::<C>::of(g, len);
    let r = &mut qr.r;
    let tol = (C as f64).sqrt() * f64::EPSILON;
    sweep(C, |i, j| {
        let (head, tail) = r.split_at_mut(j);
        rotate(&mut head[i], &mut tail[0], tol)
    });
    let norms = r.map(|c| dot(&c, &c).sqrt());
    let mut order = [0; C];
    descending(&norms, &mut order);
    if vectors {
        qr.form_q(g, len);
        // Row by row, Q·(R·V) in the place of Q, columns in `order`.
        for t in 0..len {
            let row: [f64; C] = std::array::from_fn(|k| g[k * len + t]);
            for (c, &k) in order.iter().enumerate() {
                g[c * len + t] = dot(&row, &qr.r[k]) * unscale;
            }
        }
    }
    order.iter().map(|&k| norms[k] * unscale).collect()
}

/// Jacobi sweeps over every pair i < j of `count` columns, `rotate_pair`
/// rotating one unless it is already orthogonal (and telling whether it
/// did), until a sweep rotates none.
fn sweep(count: usize, mut rotate_pair: impl FnMut(usize, usize) -> bool) {
    for _ in 0..MAX_SWEEPS {
        let mut rotated = false;
        for i in 0..count {
            for j in i + 1..count {
                rotated |= rotate_pair(i, j);
            }
        }
        if !rotated {
            break;
        }
    }
}

/// Fills `order` with the indices of `norms` by descending value, ties in
/// their order.
fn descending(norms: &[f64], order: &mut [usize]) {
    for (k, o) in order.iter_mut().enumerate() {
        *o = k;
    }
    order.sort_by(|&a, &b| norms[b].total_cmp(&norms[a]));
}

/// A = QR of C columns by Householder reflections H_k = I − τ_k v_k v_kᵀ
/// (LAPACK's dgeqr2): R apart, column by column, and the reflections' v_k
/// kept below the diagonal of A, v_k's leading 1 implied.
struct Householder<const C: usize> {
    /// R, column after column.
    r: [[f64; C]; C],
    tau: [f64; C],
}

impl<const C: usize> Householder<C> {
    /// Factors the C columns (each `len > C` long) of `g`, leaving the v_k
    /// in it.
    fn of(g: &mut [f64], len: usize) -> Self {
        let mut qr = Self {
            r: [[0.0; C]; C],
            tau: [0.0; C],
        };
        for k in 0..C {
            let (head, tail) = g.split_at_mut((k + 1) * len);
            let x = &mut head[k * len + k..];
            let alpha = x[0];
            let sigma = dot(&x[1..], &x[1..]);
            let beta = if sigma == 0.0 {
                // Already zero below the diagonal: H_k = I.
                alpha
            } else {
                let beta = -(alpha * alpha + sigma).sqrt().copysign(alpha);
                qr.tau[k] = (beta - alpha) / beta;
                let scale = 1.0 / (alpha - beta);
                x[1..].iter_mut().for_each(|v| *v *= scale);
                x[0] = 1.0;
                for y in tail.chunks_exact_mut(len) {
                    reflect(x, qr.tau[k], &mut y[k..]);
                }
                beta
            };
            qr.r[k][..k].copy_from_slice(&head[k * len..][..k]);
            qr.r[k][k] = beta;
        }
        qr
    }

    /// Overwrites the v_k in `g` with Q's C orthonormal columns (LAPACK's
    /// dorg2r: the reflections applied last to first).
    fn form_q(&self, g: &mut [f64], len: usize) {
        for k in (0..C).rev() {
            let tau = self.tau[k];
            let (head, tail) = g.split_at_mut((k + 1) * len);
            let col = &mut head[k * len..];
            col[k] = 1.0;
            for y in tail.chunks_exact_mut(len).take(C - k - 1) {
                reflect(&col[k..], tau, &mut y[k..]);
            }
            col[..k].fill(0.0);
            col[k] = 1.0 - tau;
            col[k + 1..].iter_mut().for_each(|v| *v *= -tau);
        }
    }
}

/// y ← (I − τ v vᵀ) y.
fn reflect(v: &[f64], tau: f64, y: &mut [f64]) {
    let w = tau * dot(v, y);
    for (yi, vi) in y.iter_mut().zip(v) {
        *yi -= w * vi;
    }
}

/// A power of two bringing the largest |entry| into [1, 2), and its
/// inverse: multiplying by either is exact (short of subnormals). `None`
/// when an entry is not finite.
fn power_of_two_scaling(g: &[f64]) -> Option<(f64, f64)> {
    // The bits of |v| order as |v| does, with ∞ above every finite value
    // and every NaN above ∞: one integer maximum (no branch, no NaN rules)
    // finds the largest |entry| and whether all are finite.
    let largest = g.iter().map(|v| v.abs().to_bits()).fold(0, u64::max);
    if largest >= f64::INFINITY.to_bits() {
        return None;
    }
    let largest = f64::from_bits(largest);
    let exponent = ((largest.to_bits() >> 52) & 0x7ff) as i64 - 1023;
    if largest == 0.0 || !(-1000..=1000).contains(&exponent) {
        return Some((1.0, 1.0));
    }
    let pow2 = |e: i64| f64::from_bits(((1023 + e) as u64) << 52);
    Some((pow2(-exponent), pow2(exponent)))
}

fn dot(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}

/// One Jacobi rotation making columns x and y orthogonal, unless they
/// already are to `tol` (relative to their norms); whether it rotated.
fn rotate(x: &mut [f64], y: &mut [f64], tol: f64) -> bool {
    let (a, b, c) = (dot(x, x), dot(y, y), dot(x, y));
    if c.abs() <= tol * a.sqrt() * b.sqrt() {
        return false;
    }
    // The smaller root t = tan θ of t² + 2ζt − 1 = 0 (Rutishauser), so
    // that |θ| ≤ π/4; for a huge ζ, t ≈ 1/(2ζ) without squaring it.
    let zeta = (b - a) / (2.0 * c);
    let t = if zeta.abs() < 1e150 {
        zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt())
    } else {
        0.5 / zeta
    };
    let cos = 1.0 / (1.0 + t * t).sqrt();
    let sin = cos * t;
    for (u, v) in x.iter_mut().zip(y.iter_mut()) {
        let (p, q) = (*u, *v);
        *u = cos * p - sin * q;
        *v = sin * p + cos * q;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng;
    use faer::Mat;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn faer_values(a: &[f64], r: usize, c: usize) -> Vec<f64> {
        let mat = Mat::from_fn(r, c, |i, j| a[i * c + j]);
        mat.singular_values().unwrap()
    }

    fn gaussian(seed: u64, len: usize) -> Vec<f64> {
        let mut s = Xoshiro256PlusPlus::seed_from_u64(seed);
        (0..len).map(|_| rng::normal(&mut s)).collect()
    }

    /// Every value within `rel` of the reference's, relative to itself.
    fn assert_close(got: &[f64], want: &[f64], rel: f64, what: &str) {
        assert_eq!(got.len(), want.len(), "{what}");
        for (k, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= rel * w.abs(),
                "{what}: s{} = {g:e}, expected {w:e} (relative {:e})",
                k + 1,
                (g - w).abs() / w.abs()
            );
        }
    }

    #[test]
    fn random_matrices_match_faer_on_every_value() {
        let shapes = [
            (3, 10),
            (10, 3),
            (1, 7),
            (7, 1),
            (2, 2),
            (8, 8),
            (5, 300),
            (300, 8),
        ];
        for (seed, &(r, c)) in shapes.iter().enumerate() {
            for scale in [1.0, 1e-9, 1e12] {
                let a: Vec<f64> = gaussian(seed as u64, r * c)
                    .iter()
                    .map(|v| v * scale)
                    .collect();
                let got = singular_values(&a, r, c);
                let want = faer_values(&a, r, c);
                assert_close(&got, &want, 1e-13, &format!("{r}×{c} at scale {scale}"));
                // Independent of faer: Σ s² is ‖A‖_F².
                let fro: f64 = a.iter().map(|v| v * v).sum();
                let sum: f64 = got.iter().map(|s| s * s).sum();
                assert!(
                    (sum - fro).abs() <= 1e-13 * fro,
                    "{r}×{c}: Σs² {sum} ≠ ‖A‖² {fro}"
                );
            }
        }
    }

    /// A = U·diag(s)·Vᵀ with U = 3·(an orthogonal matrix) of small
    /// integers and V's columns orthonormal vectors of ±½ and 0: every
    /// product and sum is exact for s powers of two spanning < 45 bits, so
    /// A's singular values are exactly 3s, even 3·2⁻⁴⁰ beside 3.
    fn exact_3x10(s: [f64; 3]) -> Vec<f64> {
        let u = [[1.0, 2.0, 2.0], [2.0, 1.0, -2.0], [2.0, -2.0, 1.0]];
        let mut v = [[0.0; 3]; 10];
        for (k, support, signs) in [
            (0, [0, 1, 2, 3], [1.0, 1.0, 1.0, 1.0]),
            (1, [0, 1, 4, 5], [1.0, -1.0, 1.0, -1.0]),
            (2, [2, 3, 6, 9], [1.0, -1.0, 1.0, 1.0]),
        ] {
            for (j, sign) in support.into_iter().zip(signs) {
                v[j][k] = 0.5 * sign;
            }
        }
        (0..3)
            .flat_map(|i| (0..10).map(move |j| (0..3).map(|k| u[i][k] * s[k] * v[j][k]).sum()))
            .collect()
    }

    /// Every value within a few ulps of the largest of the reference: the
    /// accuracy of any backward-stable SVD (Weyl's inequality), faer's
    /// included; a value far below s₁ is not determined more closely by
    /// A's entries rounded at ε·s₁, so it is only found to that level.
    fn assert_within_ulps_of_largest(got: &[f64], want: &[f64], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}");
        for (k, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 4.0 * f64::EPSILON * want[0],
                "{what}: s{} = {g:e}, expected {w:e}",
                k + 1
            );
        }
    }

    #[test]
    fn known_spectra_down_to_a_ratio_of_1e_minus_12_are_found_to_a_few_ulps_of_s1() {
        let p = |e: i32| 2f64.powi(e);
        for s in [
            [1.0, 0.5, 0.25],
            [1.0, p(-20), p(-40)],
            [1.0, p(-40), p(-42)],
            [1.0, 1.0, p(-40)],
            [p(300), p(270), p(260)],
            [p(-300), p(-310), p(-340)],
            [1.0, p(-40), 0.0],
        ] {
            let a = exact_3x10(s);
            let want: Vec<f64> = s.iter().map(|v| 3.0 * v).collect();
            let t: Vec<f64> = (0..30).map(|k| a[(k % 3) * 10 + k / 3]).collect();
            for (got, what) in [
                (singular_values(&a, 3, 10), format!("{s:?}")),
                (singular_values(&t, 10, 3), format!("{s:?}ᵀ")),
            ] {
                assert_within_ulps_of_largest(&got, &want, &what);
                assert_close(&got[..1], &want[..1], 1e-15, &what);
                // faer is no closer on these than the same bound.
                let reference = faer_values(&a, 3, 10);
                assert_within_ulps_of_largest(&reference, &want, &format!("faer, {what}"));
            }
        }
    }

    #[test]
    fn collapsed_features_match_faer_to_the_rounding_of_the_largest_value() {
        // [G24]'s collapse: every neuron's feature vector z* plus noise of
        // relative size 1e-12 or less. What sets the small values is the
        // rounding of A's entries, so two backward-stable methods agree on
        // them to ~ε·s₁, not relatively.
        let zstar = [0.7, -1.3, 0.4];
        for (seed, noise) in [(1, 1e-6), (2, 1e-9), (3, 1e-12), (4, 1e-15)] {
            let e = gaussian(seed, 30);
            let a: Vec<f64> = (0..30).map(|k| zstar[k / 10] + noise * e[k]).collect();
            let got = singular_values(&a, 3, 10);
            let want = faer_values(&a, 3, 10);
            assert_close(&got[..1], &want[..1], 1e-14, "s1");
            for k in 1..3 {
                assert!(
                    (got[k] - want[k]).abs() <= 8.0 * f64::EPSILON * want[0],
                    "noise {noise}: s{} = {:e} vs faer {:e}",
                    k + 1,
                    got[k],
                    want[k]
                );
            }
        }
    }

    #[test]
    fn rotated_columns_are_orthogonal_and_keep_a_times_a_transpose() {
        for (len, count) in [(10, 3), (3, 3), (2, 5), (40, 8)] {
            let a = gaussian(len as u64, len * count);
            let mut g = a.clone();
            let sv = orthogonalise(&mut g, len);
            assert_eq!(sv.len(), count);
            let col = |m: &[f64], k: usize| m[k * len..][..len].to_vec();
            for i in 0..count {
                assert!((dot(&col(&g, i), &col(&g, i)).sqrt() - sv[i]).abs() <= 1e-14 * sv[0]);
                for j in 0..i {
                    assert!(dot(&col(&g, i), &col(&g, j)).abs() <= 1e-13 * sv[0] * sv[0]);
                }
            }
            // G·Gᵀ = A·V·Vᵀ·Aᵀ = A·Aᵀ.
            for p in 0..len {
                for q in 0..len {
                    let outer = |m: &[f64]| {
                        (0..count)
                            .map(|k| m[k * len + p] * m[k * len + q])
                            .sum::<f64>()
                    };
                    assert!(
                        (outer(&g) - outer(&a)).abs() <= 1e-13 * sv[0] * sv[0],
                        "{len}×{count}"
                    );
                }
            }
        }
    }

    #[test]
    fn rotated_columns_are_faers_left_singular_vectors_times_the_values() {
        for (seed, (len, count)) in [(10, 3), (4, 4), (2, 3), (50, 6)].into_iter().enumerate() {
            let a = gaussian(100 + seed as u64, len * count);
            let mut g = a.clone();
            let sv = orthogonalise(&mut g, len);
            let svd = Mat::from_fn(len, count, |j, i| a[i * len + j])
                .thin_svd()
                .unwrap();
            let (u, s) = (svd.U(), svd.S().column_vector());
            for k in 0..len.min(count) {
                assert!((sv[k] - s[k]).abs() <= 1e-14 * s[k], "{len}×{count}: s{k}");
                // Up to the sign of each singular vector.
                let col = &g[k * len..][..len];
                let sign = if col[0] * u[(0, k)] < 0.0 { -1.0 } else { 1.0 };
                for (j, v) in col.iter().enumerate() {
                    let want = sign * u[(j, k)] * s[k];
                    assert!(
                        (v - want).abs() <= 1e-13 * s[0],
                        "{len}×{count}: ({j}, {k})"
                    );
                }
            }
        }
    }

    #[test]
    fn scaling_by_a_power_of_two_scales_the_values_exactly_and_nonfinite_gives_none() {
        let a = gaussian(9, 30);
        let base = singular_values(&a, 3, 10);
        for e in [-600, -3, 5, 700] {
            let scaled: Vec<f64> = a.iter().map(|v| v * 2f64.powi(e)).collect();
            let want: Vec<f64> = base.iter().map(|v| v * 2f64.powi(e)).collect();
            assert_eq!(singular_values(&scaled, 3, 10), want, "2^{e}");
        }
        assert_eq!(singular_values(&vec![0.0; 30], 3, 10), vec![0.0; 3]);
        let mut bad = a.clone();
        bad[4] = f64::NAN;
        assert!(singular_values(&bad, 3, 10).is_empty());
        bad[4] = f64::INFINITY;
        assert!(singular_values(&bad, 3, 10).is_empty());
    }
}
