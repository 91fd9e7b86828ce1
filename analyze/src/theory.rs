//! [G24] Theorem 3.3 against the runs: at the minimiser of R on the
//! zero-loss manifold every neuron sees the same pre-activation on each data
//! point, z_ij = z*_i = φ⁻¹(y_i/m), and R = R*. Per run, the observed mean
//! over neurons of row i of the final Z is set beside z*_i, and R beside R*,
//! with a flag where the theorem's assumptions do not hold.

use crate::runs::Run;
use sharpsweep_dataset::schema::config as cfg;

/// One run's comparison with the theorem.
#[derive(Clone, Debug, PartialEq)]
pub struct TheoryRow {
    pub run: usize,
    /// z*_i (empty when φ⁻¹(y/m) is undefined or not stored).
    pub z_star: Vec<f64>,
    /// (1/m) Σ_j z_ij of the final Z (empty when Z was not recorded finite).
    pub z_mean: Vec<f64>,
    /// max_i |mean_j z_ij − z*_i|.
    pub mean_gap: f64,
    /// max_{i,j} |z_ij − mean_j z_ij|: how far the neurons are from agreeing.
    pub neuron_gap: f64,
    pub r: f64,
    pub r_star: f64,
    /// Why the theorem does not apply (or only in part); empty when it does.
    pub flags: Vec<&'static str>,
}

impl TheoryRow {
    pub fn applies(&self) -> bool {
        self.flags.is_empty()
    }
}

/// Why Theorem 3.3 does not cover a configuration (docs/science.md §3.4).
pub fn flags(run: &Run) -> Vec<&'static str> {
    let mut out = Vec::new();
    if let (Some(n), Some(d)) = (run.number(cfg::N.name), run.number(cfg::D.name))
        && n > d
    {
        out.push("n > d: the rows of X cannot be independent");
    }
    if !run.assumption_3_1 {
        // The cube alone is covered without the assumption (docs/science.md §3.4).
        match run.text(cfg::ACTIVATION.name) {
            Some("cube") => {
                out.push("cube: Assumption 3.1 fails, Theorem 3.3 still holds (Lemma G.4)")
            }
            _ => out.push("activation outside Assumption 3.1"),
        }
    }
    if run.last.sharpness_r_star.is_nan() {
        out.push("φ⁻¹(y/m) undefined: no z*");
    }
    if run.diverged() {
        out.push("diverged");
    }
    out
}

/// The row of `run` given its final Z (n×m row-major; empty if unknown).
pub fn row(index: usize, run: &Run, z: &[f64]) -> TheoryRow {
    let m = run.number(cfg::M.name).unwrap_or(0.0) as usize;
    let usable =
        m > 0 && !z.is_empty() && z.len().is_multiple_of(m) && z.iter().all(|v| v.is_finite());
    let rows: Vec<&[f64]> = if usable {
        z.chunks(m).collect()
    } else {
        Vec::new()
    };
    let z_mean: Vec<f64> = rows
        .iter()
        .map(|r| r.iter().sum::<f64>() / m as f64)
        .collect();
    let neuron_gap = rows
        .iter()
        .zip(&z_mean)
        .flat_map(|(r, mu)| r.iter().map(move |v| (v - mu).abs()))
        .fold(f64::NAN, f64::max);
    let mean_gap = if z_mean.len() == run.z_star.len() {
        z_mean
            .iter()
            .zip(&run.z_star)
            .map(|(a, b)| (a - b).abs())
            .fold(f64::NAN, f64::max)
    } else {
        f64::NAN
    };
    TheoryRow {
        run: index,
        z_star: run.z_star.clone(),
        z_mean,
        mean_gap,
        neuron_gap,
        r: run.last.sharpness_r,
        r_star: run.last.sharpness_r_star,
        flags: flags(run),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::{Final, Run};

    fn run(config: serde_json::Value, z_star: Vec<f64>) -> Run {
        let assumption_3_1 = config["activation"] == "sinh";
        Run {
            assumption_3_1,
            steps_done: 10,
            last: Final {
                sharpness_r_star: 1.0,
                ..Final::default()
            },
            z_star,
            ..Run::of(config)
        }
    }

    #[test]
    fn row_means_of_z_are_compared_with_z_star_per_data_point() {
        let r = run(
            serde_json::json!({"m": 2, "n": 2, "d": 3, "activation": "sinh"}),
            vec![1.0, 2.0],
        );
        // Z = [[1, 1.5], [2, 2]]: row means 1.25 and 2.
        let t = row(0, &r, &[1.0, 1.5, 2.0, 2.0]);
        assert_eq!(t.z_mean, vec![1.25, 2.0]);
        assert_eq!(t.mean_gap, 0.25);
        assert_eq!(t.neuron_gap, 0.25);
        assert!(t.applies());
    }

    #[test]
    fn assumptions_are_flagged_where_they_fail() {
        let r = run(
            serde_json::json!({"m": 2, "n": 4, "d": 3, "activation": "tanh"}),
            vec![],
        );
        let f = flags(&r);
        assert!(f.iter().any(|s| s.starts_with("n > d")), "{f:?}");
        assert!(f.iter().any(|s| s.contains("Assumption 3.1")), "{f:?}");
        let cube = run(
            serde_json::json!({"m": 2, "n": 2, "d": 3, "activation": "cube"}),
            vec![],
        );
        assert_eq!(flags(&cube).len(), 1);
        assert!(flags(&cube)[0].contains("Lemma G.4"));
    }
}
