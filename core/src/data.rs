//! The training problem (X, y, and the fixed second layer a) and the
//! initial weights Θ₀, generated from the run's streams or read from files
//! (docs/science.md §1.1).

use crate::activation::Activation;
use crate::config::{
    AlgorithmName, DataGen, InitGen, LabelGen, OuterGen, RunConfig, SEPARABLE_GAP, Source,
};
use crate::error::{CoreError, Result};
use crate::io::{Matrix, read_matrix};
use crate::rng::{self, Streams};
use std::path::Path;

/// `Z = XΘᵀ`: z_ij = θ_jᵀx_i (X n×d, Θ m×d, Z n×m, row-major): the
/// preactivations of the model (model.rs) and of a teacher network's labels.
pub fn preactivations(x: &[f64], theta: &[f64], n: usize, d: usize, m: usize, z: &mut [f64]) {
    for (xi, zi) in x[..n * d]
        .chunks_exact(d)
        .zip(z[..n * m].chunks_exact_mut(m))
    {
        for (zij, tj) in zi.iter_mut().zip(theta[..m * d].chunks_exact(d)) {
            *zij = xi.iter().zip(tj).map(|(a, b)| a * b).sum();
        }
    }
}

/// Data X (n×d, row-major) and labels y (n), with the row norms the metrics
/// need precomputed, and the fixed second layer a of the network the loss
/// is of, `f(x) = Σ_j a_j φ(θ_jᵀx)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub n: usize,
    pub d: usize,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    /// ‖x_i‖², used by R, ∇R and tr∇²L.
    pub row_norm2: Vec<f64>,
    /// The second layer a (m values) where it is not all ones; `None` is
    /// \[G24\]'s network, a = 1, the only one Theorem 3.3 speaks of.
    pub outer: Option<Vec<f64>>,
}

impl Problem {
    pub fn new(n: usize, d: usize, x: Vec<f64>, y: Vec<f64>) -> Self {
        assert_eq!(x.len(), n * d);
        assert_eq!(y.len(), n);
        let row_norm2 = x
            .chunks_exact(d)
            .map(|r| r.iter().map(|v| v * v).sum())
            .collect();
        Self {
            n,
            d,
            x,
            y,
            row_norm2,
            outer: None,
        }
    }

    /// The problem with second layer `a` (m values); all ones is `None`.
    pub fn with_outer(mut self, a: Vec<f64>) -> Self {
        self.outer = a.iter().any(|&v| v != 1.0).then_some(a);
        self
    }

    /// a_j, the second-layer weight of neuron j.
    #[inline]
    pub fn outer(&self, j: usize) -> f64 {
        self.outer.as_ref().map_or(1.0, |a| a[j])
    }

    /// Writes a_0 … a_{m−1} into `a` (m = its length).
    pub fn fill_outer(&self, a: &mut [f64]) {
        for (j, v) in a.iter_mut().enumerate() {
            *v = self.outer(j);
        }
    }

    pub fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.d..(i + 1) * self.d]
    }

    /// Builds X and y as the configuration says, drawing from `streams`.
    pub fn build(config: &RunConfig, streams: &mut Streams) -> Result<Self> {
        let (n, d) = (config.n, config.d);
        let (x, generated_labels) = match &config.data {
            Source::Generate(g @ (DataGen::Separable | DataGen::SeparableAsym)) => {
                separable(n, d, *g == DataGen::Separable, &mut streams.data)
            }
            Source::Generate(g) => (generate_data(*g, n, d, &mut streams.data), Vec::new()),
            Source::File(p) => (read_shaped(p, "data", n, d)?, Vec::new()),
        };
        let outer = outer_layer(config)?;
        let y = match &config.labels {
            Source::Generate(LabelGen::FromData) => generated_labels,
            Source::Generate(LabelGen::Uniform) => {
                (0..n).map(|_| rng::uniform(&mut streams.labels)).collect()
            }
            Source::Generate(LabelGen::Gaussian) => {
                (0..n).map(|_| rng::normal(&mut streams.labels)).collect()
            }
            Source::Generate(LabelGen::Teacher) => {
                let teacher = gaussian_weights(config.m, d, 1.0, &mut streams.labels);
                let mut z = vec![0.0; n * config.m];
                preactivations(&x, &teacher, n, d, config.m, &mut z);
                let act = config.activation();
                z.chunks_exact(config.m)
                    .map(|row| row.iter().zip(&outer).map(|(&v, a)| a * act.phi(v)).sum())
                    .collect()
            }
            Source::File(p) => read_shaped(p, "labels", n, 1)?,
        };
        if let Some(bad) = x.iter().chain(&y).find(|v| !v.is_finite()) {
            let field = if x.iter().any(|v| !v.is_finite()) {
                "data"
            } else {
                "labels"
            };
            return Err(CoreError::invalid(
                field,
                format!("contains a non-finite value ({bad})"),
            ));
        }
        let problem = Self::new(n, d, x, y).with_outer(outer);
        if config.algorithm == AlgorithmName::Margin {
            if let Some(i) = problem.y.iter().position(|&v| v != 1.0 && v != -1.0) {
                return Err(CoreError::invalid(
                    "labels",
                    format!(
                        "algorithm margin classifies: labels must be ±1, got y[{i}] = {} \
                         (use labels = from-data with data = separable, or a ±1 file)",
                        problem.y[i]
                    ),
                ));
            }
        } else if problem.outer.is_none() {
            problem.check_labels_in_range(config.activation(), config.m)?;
        }
        Ok(problem)
    }

    /// Theorem 3.3's optimum needs y_i/m in φ's range when φ is invertible;
    /// outside it no network of this width can fit the labels.
    pub fn check_labels_in_range(&self, act: Activation, m: usize) -> Result<()> {
        if !act.is_invertible() {
            return Ok(());
        }
        for (i, &y) in self.y.iter().enumerate() {
            if act.inverse(y / m as f64).is_none() {
                return Err(CoreError::invalid(
                    "labels",
                    format!(
                        "y[{i}]/m = {} is outside the range {} of {}: φ⁻¹(y/m) does not exist",
                        y / m as f64,
                        act.range_description(),
                        act.name()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Theorem 3.3's optimal pre-activations z*_i = φ⁻¹(y_i/m), if they
    /// exist: only for a = 1, the network the theorem is about.
    pub fn optimal_preactivations(&self, act: Activation, m: usize) -> Option<Vec<f64>> {
        if self.outer.is_some() {
            return None;
        }
        self.y.iter().map(|&y| act.inverse(y / m as f64)).collect()
    }
}

/// The second layer a (m values) as the configuration says.
fn outer_layer(config: &RunConfig) -> Result<Vec<f64>> {
    let m = config.m;
    Ok(match &config.outer {
        Source::Generate(OuterGen::Ones) => vec![1.0; m],
        Source::Generate(OuterGen::Alternating) => (0..m)
            .map(|j| if j % 2 == 0 { 1.0 } else { -1.0 })
            .collect(),
        Source::File(p) => read_shaped(p, "outer", m, 1)?,
    })
}

/// Θ₀ (m×d, row-major) as the configuration says.
pub fn initial_weights(config: &RunConfig, streams: &mut Streams) -> Result<Vec<f64>> {
    let (m, d) = (config.m, config.d);
    Ok(match &config.init {
        Source::Generate(InitGen::Gaussian) => {
            gaussian_weights(m, d, config.init_scale, &mut streams.init)
        }
        Source::Generate(InitGen::Zero) => vec![0.0; m * d],
        Source::File(p) => read_shaped(p, "init", m, d)?,
    })
}

/// The second layer a₀ of the `margin` dynamics (empty for the others,
/// whose second layer is fixed: `outer`), drawn after Θ₀ from the init
/// stream: a_k ~ N(0, init_scale²), the scale of w_kᵀx for unit x; zero
/// for `init = zero`; `a_k = ‖w_k‖` (balanced layers) for a file Θ₀.
pub fn initial_second_layer(config: &RunConfig, theta: &[f64], streams: &mut Streams) -> Vec<f64> {
    if config.algorithm != AlgorithmName::Margin {
        return Vec::new();
    }
    match &config.init {
        Source::Generate(InitGen::Gaussian) => (0..config.m)
            .map(|_| config.init_scale * rng::normal(&mut streams.init))
            .collect(),
        Source::Generate(InitGen::Zero) => vec![0.0; config.m],
        Source::File(_) => theta
            .chunks_exact(config.d)
            .map(|w| w.iter().map(|v| v * v).sum::<f64>().sqrt())
            .collect(),
    }
}

/// Linearly separable points with ±1 labels ([L21]): a random unit
/// direction w*, then unit Gaussian points x labelled sign(w*ᵀx) whose
/// component along w* is pushed out to at least [`SEPARABLE_GAP`]; with
/// `symmetric`, n/2 such points followed by their mirror images (−x, −y).
fn separable(n: usize, d: usize, symmetric: bool, rng: &mut rng::Stream) -> (Vec<f64>, Vec<f64>) {
    let mut dir: Vec<f64> = (0..d).map(|_| rng::normal(rng)).collect();
    let norm = dir.iter().map(|v| v * v).sum::<f64>().sqrt();
    dir.iter_mut().for_each(|v| *v /= norm);
    let drawn = if symmetric { n / 2 } else { n };
    let mut x = Vec::with_capacity(n * d);
    let mut y = Vec::with_capacity(n);
    for _ in 0..drawn {
        let mut p: Vec<f64> = (0..d).map(|_| rng::normal(rng)).collect();
        let norm = p.iter().map(|v| v * v).sum::<f64>().sqrt();
        p.iter_mut().for_each(|v| *v /= norm);
        let s: f64 = p.iter().zip(&dir).map(|(a, b)| a * b).sum();
        let label = if s >= 0.0 { 1.0 } else { -1.0 };
        if s.abs() < SEPARABLE_GAP {
            let push = label * SEPARABLE_GAP - s;
            p.iter_mut().zip(&dir).for_each(|(v, u)| *v += push * u);
        }
        x.extend_from_slice(&p);
        y.push(label);
    }
    if symmetric {
        for i in 0..drawn {
            for k in 0..d {
                x.push(-x[i * d + k]);
            }
            y.push(-y[i]);
        }
    }
    (x, y)
}

/// Entries N(0, scale²/d): unit-order pre-activations for unit-norm inputs.
fn gaussian_weights(m: usize, d: usize, scale: f64, rng: &mut rng::Stream) -> Vec<f64> {
    let s = scale / (d as f64).sqrt();
    (0..m * d).map(|_| s * rng::normal(rng)).collect()
}

fn generate_data(g: DataGen, n: usize, d: usize, rng: &mut rng::Stream) -> Vec<f64> {
    let mut x: Vec<f64> = match g {
        DataGen::Uniform => (0..n * d).map(|_| rng::uniform(rng)).collect(),
        DataGen::Gaussian | DataGen::Orthonormal => (0..n * d).map(|_| rng::normal(rng)).collect(),
        DataGen::Separable | DataGen::SeparableAsym => {
            unreachable!("made with labels by `separable`")
        }
    };
    if g == DataGen::Orthonormal {
        orthonormalise_rows(&mut x, n, d);
    } else {
        for row in x.chunks_exact_mut(d) {
            let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
            // A zero row (probability 0) is left as is rather than made NaN.
            if norm > 0.0 {
                row.iter_mut().for_each(|v| *v /= norm);
            }
        }
    }
    x
}

/// Modified Gram–Schmidt, applied twice ("twice is enough"), so the rows are
/// orthonormal to machine precision. Gaussian rows with n ≤ d are
/// independent with probability one.
fn orthonormalise_rows(x: &mut [f64], n: usize, d: usize) {
    for _ in 0..2 {
        for i in 0..n {
            for k in 0..i {
                let dot: f64 = (0..d).map(|c| x[i * d + c] * x[k * d + c]).sum();
                for c in 0..d {
                    x[i * d + c] -= dot * x[k * d + c];
                }
            }
            let norm = (0..d).map(|c| x[i * d + c].powi(2)).sum::<f64>().sqrt();
            for c in 0..d {
                x[i * d + c] /= norm;
            }
        }
    }
}

/// Reads a matrix file and checks it is `rows × cols` (a vector may be a
/// row or a column).
fn read_shaped(path: &Path, field: &str, rows: usize, cols: usize) -> Result<Vec<f64>> {
    let m = read_file(path, field)?;
    check_shape(path, field, (m.rows, m.cols), rows, cols)?;
    Ok(m.data)
}

/// Reads a data, labels, init or outer file as a run does: it must hold at
/// least one value, and only finite ones. The error names the field and the
/// file, and a path that is not there the names the field also takes (a
/// misspelt name is read as a path).
pub fn read_file(path: &Path, field: &str) -> Result<Matrix> {
    let file_err = |message: String| CoreError::File {
        field: field.into(),
        path: path.display().to_string(),
        message,
    };
    if !path.exists() {
        return Err(file_err(format!(
            "no such file, nor one of the names {}",
            generator_names(field).join(", ")
        )));
    }
    let m = read_matrix(path).map_err(|e| file_err(e.to_string()))?;
    if m.data.is_empty() {
        return Err(file_err(format!(
            "holds no values (shape {}×{})",
            m.rows, m.cols
        )));
    }
    if let Some(i) = m.data.iter().position(|v| !v.is_finite()) {
        return Err(file_err(format!(
            "contains a non-finite value ({}) at row {}, column {}",
            m.data[i],
            i / m.cols + 1,
            i % m.cols + 1
        )));
    }
    Ok(m)
}

/// Checks that a file of shape `(r, c)` is `rows × cols` (a vector may be
/// a row or a column).
pub fn check_shape(
    path: &Path,
    field: &str,
    (r, c): (usize, usize),
    rows: usize,
    cols: usize,
) -> Result<()> {
    if (r, c) == (rows, cols) || (cols == 1 && r == 1 && c == rows) {
        return Ok(());
    }
    Err(CoreError::File {
        field: field.into(),
        path: path.display().to_string(),
        message: format!(
            "has shape {r}×{c}, expected {rows}×{cols}{}",
            shape_hint(field)
        ),
    })
}

fn shape_hint(field: &str) -> &'static str {
    match field {
        "data" => " (n×d)",
        "labels" => " (n values)",
        "outer" => " (m values)",
        _ => " (m×d)",
    }
}

/// The generator names a file field also takes.
fn generator_names(field: &str) -> &'static [&'static str] {
    match field {
        "data" => DataGen::NAMES,
        "labels" => LabelGen::NAMES,
        "init" => InitGen::NAMES,
        _ => OuterGen::NAMES,
    }
}

/// The shape of a matrix file, so a caller can take n, d or m from the
/// file when the user did not give them. The file is checked as a run
/// reads it ([`read_file`]).
pub fn file_shape(path: &Path, field: &str) -> Result<(usize, usize)> {
    read_file(path, field).map(|m| (m.rows, m.cols))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_rows_are_unit_norm_and_uniform_nonnegative() {
        let c = RunConfig {
            n: 5,
            d: 4,
            ..Default::default()
        };
        let p = Problem::build(&c, &mut Streams::from_seed(1)).unwrap();
        for i in 0..5 {
            assert!((p.row_norm2[i] - 1.0).abs() < 1e-14);
            assert!(p.row(i).iter().all(|&v| v >= 0.0));
        }
        assert!(p.y.iter().all(|&v| (0.0..1.0).contains(&v)));
    }

    #[test]
    fn orthonormal_rows_are_orthonormal() {
        let c = RunConfig {
            n: 4,
            d: 6,
            data: Source::Generate(DataGen::Orthonormal),
            ..Default::default()
        };
        let p = Problem::build(&c, &mut Streams::from_seed(2)).unwrap();
        for i in 0..4 {
            for k in 0..4 {
                let dot: f64 = p.row(i).iter().zip(p.row(k)).map(|(a, b)| a * b).sum();
                let want = if i == k { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-14, "{i},{k}: {dot}");
            }
        }
    }

    #[test]
    fn labels_outside_tanh_range_are_refused() {
        let c = RunConfig {
            activation: crate::ActivationName::Tanh,
            labels: Source::Generate(LabelGen::Gaussian),
            m: 1,
            n: 20,
            d: 20,
            ..Default::default()
        };
        let err = Problem::build(&c, &mut Streams::from_seed(3)).unwrap_err();
        assert_eq!(err.field(), Some("labels"));
        assert!(err.to_string().contains("φ⁻¹(y/m) does not exist"), "{err}");
    }

    #[test]
    fn files_of_the_wrong_shape_are_refused() {
        let dir = std::env::temp_dir().join(format!("sharpsweep-data-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.csv");
        std::fs::write(&path, "0.1,0.2\n0.3,0.4\n").unwrap();
        let c = RunConfig {
            data: Source::File(path.clone()),
            ..Default::default()
        };
        let err = Problem::build(&c, &mut Streams::from_seed(0)).unwrap_err();
        assert!(
            err.to_string().contains("has shape 2×2, expected 3×3"),
            "{err}"
        );
        assert_eq!(file_shape(&path, "data").unwrap(), (2, 2));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn empty_and_non_finite_files_are_refused_naming_the_file() {
        let dir = std::env::temp_dir().join(format!("sharpsweep-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("e.npy");
        std::fs::write(&empty, crate::io::write_npy(0, Some(3), &[])).unwrap();
        let err = file_shape(&empty, "data").unwrap_err();
        assert_eq!(err.field(), Some("data"));
        assert!(err.to_string().contains("e.npy: holds no values"), "{err}");
        let nan = dir.join("w.csv");
        std::fs::write(&nan, "1,2\ninf,4\n").unwrap();
        let err = read_file(&nan, "init").unwrap_err();
        assert!(
            err.to_string()
                .contains("w.csv: contains a non-finite value (inf) at row 2, column 1"),
            "{err}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
