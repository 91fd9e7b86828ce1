//! `sharpsweep run --algorithm NAME` for every dynamics, end to end: the
//! Parquet `algorithm` column tells them apart and each fills its own
//! columns (time, margins, stability ratios), nulls elsewhere.

use crate::support::{ParquetTable, TempDir, run_bin};

fn run(out: &std::path::Path, flags: &[&str]) -> (ParquetTable, ParquetTable) {
    let mut args = vec!["run", "--quiet", "--out", out.to_str().unwrap()];
    args.extend_from_slice(flags);
    let o = run_bin(&args);
    assert!(o.status.success(), "{flags:?}: {}", o.stderr);
    (
        ParquetTable::read(&out.join("runs.parquet")),
        ParquetTable::read(&out.join("trajectory.parquet")),
    )
}

#[test]
fn every_algorithm_runs_from_the_cli_and_is_named_in_the_algorithm_column() {
    let dir = TempDir::new("algorithms");
    let cases: &[(&str, &[&str])] = &[
        (
            "label-noise",
            &["--steps", "2000", "--hessian", "--batch-size", "2"],
        ),
        (
            "sam",
            &["--algorithm", "sam", "--rho", "0.05", "--steps", "2000"],
        ),
        (
            "flow",
            &[
                "--algorithm",
                "flow",
                "--data",
                "orthonormal",
                "--d",
                "5",
                "--m",
                "4",
                "--steps",
                "400",
            ],
        ),
        (
            "margin",
            &[
                "--algorithm",
                "margin",
                "--activation",
                "leaky-relu",
                "--data",
                "separable",
                "--labels",
                "from-data",
                "--n",
                "10",
                "--d",
                "4",
                "--m",
                "6",
                "--init-scale",
                "0.1",
                "--loss-scaled-lr",
                "--eta",
                "0.01",
                "--steps",
                "3000",
            ],
        ),
    ];
    for (name, flags) in cases {
        let (runs, traj) = run(&dir.join(name), flags);
        assert_eq!(runs.column_str("algorithm"), vec![name.to_string()]);
        assert_eq!(
            runs.metadata().get("sharpsweep.schema_version"),
            Some(&sharpsweep_sweep::schema::SCHEMA_VERSION.to_string())
        );
        let time = traj.column_f64("time");
        let margin = traj.column_f64("margin_ratio");
        let last = |v: &Vec<f64>| *v.last().unwrap();
        match *name {
            "label-noise" => {
                // t = kη²σ²/(2B) with the defaults η = 0.05, σ = 0.03, B = 2.
                let want = 2000.0 * 0.05f64.powi(2) * 0.03f64.powi(2) / 4.0;
                assert!((last(&time) - want).abs() < 1e-15, "{}", last(&time));
                let ratio = runs.column_f64("trace_stability")[0];
                let tr = runs.column_f64("trace_hessian")[0];
                assert!((ratio - tr * 0.05 / 2.0).abs() < 1e-12);
                // The bound of B = 1 scaled to the batch: tr H·η/(2B).
                let scaled = runs.column_f64("trace_stability_b")[0];
                assert!((scaled - tr * 0.05 / (2.0 * 2.0)).abs() < 1e-12);
                let fro = runs.column_f64("hessian_fro")[0];
                let stab = runs.column_f64("hessian_fro_stability")[0];
                assert!((stab - fro * 0.05 / 2f64.sqrt()).abs() < 1e-12);
                let lam = runs.column_f64("hessian_lambda_max")[0];
                let lam_stab = runs.column_f64("lambda_max_stability")[0];
                assert!(lam > 0.0 && (lam_stab - lam * 0.05 / 2.0).abs() < 1e-12);
                assert!(margin.iter().all(|v| v.is_nan()));
            }
            "sam" => {
                assert_eq!(runs.column_i64("batch_size"), vec![1]);
                assert_eq!(runs.column_f64("rho"), vec![0.05]);
                assert!(time.iter().all(|v| v.is_nan()));
            }
            "flow" => {
                assert!(last(&time) > 0.0);
                assert!(last(&traj.column_f64("loss")) <= 1e-24);
                assert!(last(&traj.column_f64("dist_to_optimum")) < 1e-6);
            }
            _ => {
                assert!(last(&margin) > 0.0 && last(&margin) <= 1.0 + 1e-12);
                assert!(last(&traj.column_f64("svm_margin")) >= 0.1 - 1e-12);
                assert_eq!(runs.column_list_f64("second_layer")[0].len(), 6);
                assert!(runs.column_f64("sharpness_r").iter().all(|v| v.is_nan()));
            }
        }
    }
}

#[test]
fn algorithm_specific_mistakes_name_their_flag() {
    let dir = TempDir::new("algorithm-flags");
    let cases: &[(&[&str], &str)] = &[
        (&["--algorithm", "adam"], "--algorithm"),
        (&["--algorithm", "sam", "--rho=-1"], "--rho"),
        (&["--algorithm", "sam", "--batch-size", "2"], "--batch-size"),
        (&["--algorithm", "flow", "--flow-tol", "0"], "--flow-tol"),
        (&["--algorithm", "margin"], "--activation"),
        (
            &["--algorithm", "margin", "--activation", "leaky-relu"],
            "--labels",
        ),
        (&["--data", "separable", "--n", "3"], "--n"),
    ];
    for (i, (flags, name)) in cases.iter().enumerate() {
        let out = dir.join(&format!("out{i}"));
        let mut args = vec!["run", "--quiet", "--out", out.to_str().unwrap()];
        args.extend_from_slice(flags);
        let o = run_bin(&args);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {}", o.stderr);
        assert!(o.stderr.contains(name), "{flags:?}: {}", o.stderr);
        assert!(!out.exists(), "{flags:?} wrote {}", out.display());
    }
}

/// The example grids of the new systems expand, validate, and build every
/// point's problem (±1 labels for margins, n ≤ d for orthonormal rows, …).
#[test]
fn example_grids_expand_into_points_of_their_algorithms() {
    use sharpsweep_core::{AlgorithmName, Trainer};
    use sharpsweep_sweep::grid::Grid;
    let cases: &[(&str, &[AlgorithmName], usize)] = &[
        (
            "flow",
            &[AlgorithmName::Flow, AlgorithmName::LabelNoise],
            4 * 3,
        ),
        (
            "sam",
            &[AlgorithmName::Sam, AlgorithmName::LabelNoise],
            4 * 5,
        ),
        ("margin", &[AlgorithmName::Margin], 3 * 4 * 3 * 2),
        ("stability", &[AlgorithmName::LabelNoise], 2 * 7 * 5 * 2),
    ];
    for (name, algorithms, points) in cases {
        let path = format!("{}/examples/{name}.toml", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        let grid = Grid::from_toml(&text, &[]).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(grid.points.len(), *points, "{name}");
        let configs = grid.configs();
        for (p, c) in grid.points.iter().zip(&configs) {
            assert!(
                algorithms.contains(&c.algorithm),
                "{name}: {:?}",
                c.algorithm
            );
            Trainer::new(c).unwrap_or_else(|e| panic!("{name} point {}: {e}", p.index));
        }
        for a in *algorithms {
            assert!(
                configs.iter().any(|c| c.algorithm == *a),
                "{name} lacks {a:?}"
            );
        }
    }
}

/// The stability example reaches the edge of stability: at B = 16 its
/// largest η ends at a minimum with λ_max·η/2 ≈ 1 (GD's bound binds), and
/// tr H·η/2 exceeds 1 there (tr H ≤ 2/η is the bound of B = 1) while the
/// B-scaled tr H·η/(2B) stays below 1.
#[test]
fn the_stability_example_reaches_the_edge_of_stability() {
    let dir = TempDir::new("stability-edge");
    let grid = dir.join("stability.toml");
    let printed = run_bin(&["sweep", "--example", "stability"]);
    std::fs::write(&grid, &printed.stdout).unwrap();
    let out = dir.join("data");
    let o = run_bin(&[
        "sweep",
        grid.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
        "--set",
        "batch_size=16",
        "--set",
        "sigma=0",
    ]);
    assert!(o.status.success(), "{}", o.stderr);
    let (mut edge, mut trace, mut scaled) = (0f64, 0f64, 0f64);
    for part in std::fs::read_dir(out.join("runs")).unwrap() {
        let t = ParquetTable::read(&part.unwrap().path());
        let status = t.column_str("status");
        let loss = t.column_f64("loss");
        let columns = [
            "lambda_max_stability",
            "trace_stability",
            "trace_stability_b",
        ];
        let [lambda, tr, tr_b] = columns.map(|c| t.column_f64(c));
        for i in 0..status.len() {
            assert_eq!(status[i], "finished");
            assert!(loss[i] < 1e-10, "not at a minimum: loss {}", loss[i]);
            edge = edge.max(lambda[i]);
            trace = trace.max(tr[i]);
            scaled = scaled.max(tr_b[i]);
        }
    }
    assert!((0.95..=1.0).contains(&edge), "largest λ_max·η/2 = {edge}");
    assert!(
        trace > 1.0 && scaled < 1.0,
        "tr H·η/2 ≤ {trace}, tr H·η/(2B) ≤ {scaled}"
    );
}

#[test]
fn lanczos_and_dense_hessians_agree_from_the_cli_and_the_runs_table_says_which_ran() {
    let dir = TempDir::new("hessian-methods");
    let run_with = |method: &str| {
        let flags = [
            "--m",
            "40",
            "--d",
            "6",
            "--n",
            "9",
            "--eta",
            "1e-4",
            "--steps",
            "200",
            "--log-points",
            "5",
            "--hessian",
            "--hessian-top-k",
            "3",
            "--hessian-method",
            method,
        ];
        run(&dir.join(method), &flags)
    };
    let (dense_runs, dense) = run_with("dense");
    let (lanczos_runs, lanczos) = run_with("lanczos");
    let (auto_runs, auto) = run_with("auto");
    assert_eq!(dense_runs.column_str("hessian_solver"), ["dense"]);
    assert_eq!(lanczos_runs.column_str("hessian_solver"), ["lanczos"]);
    // m·d = 240 is within auto's dense bound: the dense numbers, bit for bit.
    assert_eq!(auto_runs.column_str("hessian_solver"), ["dense"]);
    let bits = |t: &ParquetTable| -> Vec<u64> {
        t.column_f64("hessian_fro")
            .iter()
            .map(|v| v.to_bits())
            .collect()
    };
    assert_eq!(bits(&auto), bits(&dense));
    let close = |a: f64, b: f64, what: &str| {
        assert!(
            (a - b).abs() <= 1e-8 * a.abs().max(b.abs()),
            "{what}: {a} vs {b}"
        );
    };
    for column in ["hessian_fro", "hessian_lambda_max"] {
        let (d, l) = (dense.column_f64(column), lanczos.column_f64(column));
        assert_eq!(d.len(), l.len());
        assert!(d.len() >= 5);
        for (a, b) in d.iter().zip(&l) {
            close(*a, *b, column);
        }
    }
    let (d, l) = (
        dense.column_list_f64("hessian_eigs"),
        lanczos.column_list_f64("hessian_eigs"),
    );
    for (a, b) in d.iter().zip(&l) {
        assert_eq!((a.len(), b.len()), (3, 3));
        for (x, y) in a.iter().zip(b) {
            close(*x, *y, "hessian_eigs");
        }
    }
}

#[test]
fn at_large_n_the_hessian_norm_is_an_estimate_with_its_standard_error_in_its_own_column() {
    let dir = TempDir::new("hessian-estimate");
    let run_at = |n: &str, method: &str| {
        let flags = [
            "--m",
            "3",
            "--d",
            "2",
            "--n",
            n,
            "--eta",
            "1e-3",
            "--steps",
            "100",
            "--log-points",
            "4",
            "--hessian",
            "--hessian-method",
            method,
        ];
        run(&dir.join(&format!("{n}-{method}")), &flags)
    };
    // n(m + d) = 2000 > 64·m·d = 384: ‖H‖_F is Hutchinson's estimate, its
    // standard error beside it, in both tables.
    let (runs, trajectory) = run_at("400", "lanczos");
    assert!(trajectory.num_rows() >= 4);
    for t in [&runs, &trajectory] {
        let (fro, se) = (t.column_f64("hessian_fro"), t.column_f64("hessian_fro_se"));
        for (f, s) in fro.iter().zip(&se) {
            assert!(f.is_finite() && *f > 0.0, "hessian_fro {f}");
            assert!(s.is_finite() && *s > 0.0 && *s < 0.1 * f, "SE {s} of {f}");
        }
    }
    // The dense Hessian of the same run: the estimate is within four of
    // its standard errors of the exact norm, at every record.
    let (_, dense) = run_at("400", "dense");
    let exact = dense.column_f64("hessian_fro");
    let (fro, se) = (
        trajectory.column_f64("hessian_fro"),
        trajectory.column_f64("hessian_fro_se"),
    );
    assert_eq!(exact.len(), fro.len());
    for ((x, f), s) in exact.iter().zip(&fro).zip(&se) {
        assert!((x - f).abs() <= 4.0 * s, "{f} ± {s} vs {x}");
    }
    // Exact norms (the dense path, and the matrix-free one at small n)
    // have a null standard error.
    let (_, small) = run_at("60", "lanczos");
    for t in [&dense, &small] {
        assert!(t.column_f64("hessian_fro_se").iter().all(|s| s.is_nan()));
        assert!(t.column_f64("hessian_fro").iter().all(|f| f.is_finite()));
    }
}
