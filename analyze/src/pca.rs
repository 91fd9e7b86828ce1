//! A fixed principal-component basis for the neurons' feature vectors (the
//! columns of Z, one point in Rⁿ per neuron), so that points from different
//! moments of training are drawn in the same coordinates ([G24] Figure 2).

/// The mean and the first two principal directions of a set of points.
#[derive(Clone, Debug, PartialEq)]
pub struct Basis {
    pub mean: Vec<f64>,
    pub axes: [Vec<f64>; 2],
}

/// Columns of an n×m row-major matrix: one n-vector per neuron.
pub fn columns(z: &[f64], m: usize) -> Vec<Vec<f64>> {
    let n = z.len() / m.max(1);
    (0..m)
        .map(|j| (0..n).map(|i| z[i * m + j]).collect())
        .collect()
}

impl Basis {
    /// The basis of `points` (all of one dimension n ≥ 1).
    pub fn of(points: &[Vec<f64>]) -> Self {
        let n = points[0].len();
        let count = points.len() as f64;
        let mean: Vec<f64> = (0..n)
            .map(|i| points.iter().map(|p| p[i]).sum::<f64>() / count)
            .collect();
        let mut cov = vec![0.0; n * n];
        for p in points {
            for a in 0..n {
                for b in 0..n {
                    cov[a * n + b] += (p[a] - mean[a]) * (p[b] - mean[b]) / count;
                }
            }
        }
        let (values, vectors) = symmetric_eigen(&mut cov, n);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
        let axis = |k: usize| match order.get(k) {
            Some(&c) => (0..n).map(|i| vectors[i * n + c]).collect(),
            None => vec![0.0; n],
        };
        Self {
            axes: [axis(0), axis(1)],
            mean,
        }
    }

    /// Coordinates of `p` on the two axes.
    pub fn project(&self, p: &[f64]) -> (f64, f64) {
        let dot = |axis: &[f64]| {
            p.iter()
                .zip(&self.mean)
                .zip(axis)
                .map(|((x, mu), a)| (x - mu) * a)
                .sum()
        };
        (dot(&self.axes[0]), dot(&self.axes[1]))
    }
}

/// Cyclic Jacobi rotations of a symmetric n×n matrix (overwritten): its
/// eigenvalues and the eigenvectors as the columns of an n×n matrix. n is
/// the number of data points, small, so clarity beats speed here.
fn symmetric_eigen(a: &mut [f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|p| (0..n).filter(move |&q| q != p).map(move |q| (p, q)))
            .map(|(p, q)| a[p * n + q].powi(2))
            .sum();
        let scale: f64 = a.iter().map(|x| x * x).sum();
        if off <= 1e-30 * scale.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_recovers_eigenpairs_of_a_symmetric_matrix() {
        // A v = λ v checked directly on a matrix with distinct eigenvalues.
        let a0 = [4.0, 1.0, 2.0, 1.0, 3.0, 0.5, 2.0, 0.5, 1.0];
        let mut a = a0;
        let (values, vectors) = symmetric_eigen(&mut a, 3);
        for c in 0..3 {
            for i in 0..3 {
                let av: f64 = (0..3).map(|k| a0[i * 3 + k] * vectors[k * 3 + c]).sum();
                assert!((av - values[c] * vectors[i * 3 + c]).abs() < 1e-12);
            }
        }
        let trace: f64 = values.iter().sum();
        assert!((trace - 8.0).abs() < 1e-12);
    }

    #[test]
    fn points_on_a_line_project_onto_the_first_axis() {
        // Points t·(1, 2, 2)/3 + c: all variance on one direction.
        let pts: Vec<Vec<f64>> = (0..5)
            .map(|t| {
                let t = t as f64;
                vec![1.0 + t / 3.0, 2.0 * t / 3.0, -1.0 + 2.0 * t / 3.0]
            })
            .collect();
        let b = Basis::of(&pts);
        for (t, p) in pts.iter().enumerate() {
            let (u, v) = b.project(p);
            assert!(((u.abs()) - (t as f64 - 2.0).abs()).abs() < 1e-12, "{u}");
            assert!(v.abs() < 1e-12);
        }
    }

    #[test]
    fn neuron_j_is_column_j_of_row_major_z() {
        // Z = [[1, 2], [3, 4], [5, 6]] (n = 3, m = 2).
        let c = columns(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2);
        assert_eq!(c, vec![vec![1.0, 3.0, 5.0], vec![2.0, 4.0, 6.0]]);
    }
}
