//! `sharpsweep run` end to end: the real binary, its Parquet read back.

use crate::support::{ParquetTable, TempDir, bin, kill, run_bin};
use std::path::Path;

/// Flags of a short, stable run of the Figure-1 setting.
const SHORT: &[&str] = &["--steps", "20000", "--log-points", "20", "--quiet"];

fn run_ok(out: &Path, extra: &[&str]) {
    let mut args = vec!["run", "--out", out.to_str().unwrap()];
    args.extend_from_slice(SHORT);
    args.extend_from_slice(extra);
    let o = run_bin(&args);
    assert!(
        o.status.success(),
        "sharpsweep {args:?} failed: {}",
        o.stderr
    );
}

#[test]
fn same_seed_gives_bit_identical_parquet_content_and_other_seeds_differ() {
    let dir = TempDir::new("seed");
    let (a, b, c) = (dir.join("a"), dir.join("b"), dir.join("c"));
    run_ok(&a, &["--seed", "7"]);
    run_ok(&b, &["--seed", "7"]);
    run_ok(&c, &["--seed", "8"]);
    for table in ["runs.parquet", "trajectory.parquet"] {
        let ta = ParquetTable::read(&a.join(table)).without("wall_seconds");
        let tb = ParquetTable::read(&b.join(table)).without("wall_seconds");
        let tc = ParquetTable::read(&c.join(table)).without("wall_seconds");
        assert!(ta.num_rows() > 0);
        assert_eq!(ta, tb, "{table}: same seed, different content");
        assert_ne!(
            ta.column_f64("loss"),
            tc.column_f64("loss"),
            "{table}: seeds 7 and 8 agree"
        );
    }
}

#[test]
fn runs_and_trajectory_hold_the_required_columns_and_metadata() {
    let dir = TempDir::new("cols");
    let out = dir.join("r");
    run_ok(&out, &[]);
    let runs = ParquetTable::read(&out.join("runs.parquet"));
    for col in [
        "run_id",
        "algorithm",
        "activation",
        "m",
        "d",
        "n",
        "batch_size",
        "eta",
        "sigma",
        "noise",
        "seed",
        "steps",
        "steps_done",
        "status",
        "loss",
        "trace_hessian",
        "sharpness_r",
        "sharpness_r_star",
        "dist_to_optimum",
        "riem_grad_norm",
        "sv_z",
        "sv_phi",
        "wall_seconds",
    ] {
        assert!(runs.has(col), "runs lacks {col}");
    }
    assert_eq!(runs.num_rows(), 1);
    assert_eq!(runs.column_i64("m"), vec![10]);
    assert_eq!(runs.column_i64("steps_done"), vec![20000]);
    let traj = ParquetTable::read(&out.join("trajectory.parquet"));
    for col in [
        "run_id",
        "step",
        "loss",
        "trace_hessian",
        "sharpness_r",
        "riem_grad_norm",
        "sv_z",
        "sv_phi",
        "dist_to_optimum",
        "neuron_spread",
    ] {
        assert!(traj.has(col), "trajectory lacks {col}");
    }
    let steps = traj.column_i64("step");
    assert_eq!(steps.first(), Some(&0));
    assert_eq!(steps.last(), Some(&20000));
    let meta = runs.metadata();
    assert_eq!(
        meta.get("sharpsweep.schema_version"),
        Some(&sharpsweep_sweep::schema::SCHEMA_VERSION.to_string())
    );
    assert!(
        meta.get("sharpsweep.config")
            .is_some_and(|c| c.contains("\"eta\":0.05"))
    );
}

#[test]
fn bad_flags_exit_nonzero_with_one_line_naming_the_flag_and_write_nothing() {
    let dir = TempDir::new("bad");
    let misshaped = dir.join("x.csv");
    std::fs::write(&misshaped, "0.1,0.2\n0.3,0.4\n").unwrap();
    let big_label = dir.join("y.csv");
    std::fs::write(&big_label, "1.5\n0.2\n0.3\n").unwrap();
    let m = misshaped.to_str().unwrap();
    let y = big_label.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--m", "0"], "--m"),
        (&["--eta", "0"], "--eta"),
        (&["--eta", "-0.1"], "--eta"),
        (&["--sigma", "-1"], "--sigma"),
        (&["--batch-size", "4"], "--batch-size"),
        (&["--activation", "swish"], "--activation"),
        (&["--beta", "0"], "--beta"),
        (&["--data", "/nonexistent/x.npy"], "--data"),
        (&["--data", m, "--n", "3"], "--data"),
        (
            &["--labels", y, "--activation", "tanh", "--m", "1"],
            "--labels",
        ),
        (&["--steps", "many"], "--steps"),
    ];
    for (i, (flags, name)) in cases.iter().enumerate() {
        let out = dir.join(&format!("out{i}"));
        let mut args = vec!["run", "--quiet", "--out", out.to_str().unwrap()];
        args.extend_from_slice(flags);
        let o = run_bin(&args);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {}", o.stderr);
        let lines: Vec<&str> = o.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{flags:?}: not one line: {}", o.stderr);
        assert!(
            lines[0].starts_with("error: ") && lines[0].contains(name),
            "{flags:?}: {}",
            lines[0]
        );
        assert!(!out.exists(), "{flags:?}: wrote {}", out.display());
    }
}

#[test]
fn an_existing_result_is_not_overwritten_without_force() {
    let dir = TempDir::new("force");
    let out = dir.join("r");
    run_ok(&out, &["--seed", "1"]);
    let before = std::fs::read(out.join("runs.parquet")).unwrap();
    let o = run_bin(&[
        "run",
        "--quiet",
        "--steps",
        "10",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stderr.contains("--out"), "{}", o.stderr);
    assert_eq!(std::fs::read(out.join("runs.parquet")).unwrap(), before);
}

#[test]
fn data_labels_and_weights_from_csv_and_npy_files_are_used_exactly() {
    let dir = TempDir::new("files");
    // n = 2 points in d = 3, m = 2 neurons.
    let x = [0.6, 0.0, 0.8, 0.0, 1.0, 0.0];
    let theta = [0.1, -0.2, 0.3, 0.05, 0.4, -0.1];
    std::fs::write(dir.join("x.csv"), "a,b,c\n0.6,0,0.8\n0,1,0\n").unwrap();
    std::fs::write(
        dir.join("y.npy"),
        sharpsweep_core::io::write_npy(2, None, &[0.3, 0.7]),
    )
    .unwrap();
    std::fs::write(
        dir.join("init.npy"),
        sharpsweep_core::io::write_npy(2, Some(3), &theta),
    )
    .unwrap();
    let out = dir.join("r");
    let p = |f: &str| dir.join(f).to_str().unwrap().to_owned();
    run_ok(
        &out,
        &[
            "--data",
            &p("x.csv"),
            "--labels",
            &p("y.npy"),
            "--init",
            &p("init.npy"),
        ],
    );
    let runs = ParquetTable::read(&out.join("runs.parquet"));
    assert_eq!(
        (
            runs.column_i64("n"),
            runs.column_i64("d"),
            runs.column_i64("m")
        ),
        (vec![2], vec![3], vec![2])
    );
    let traj = ParquetTable::read(&out.join("trajectory.parquet"));
    // Z at step 0 is X Θ₀ᵀ, computed here independently.
    let z0 = &traj.column_list_f64("z")[0];
    for i in 0..2 {
        for j in 0..2 {
            let want: f64 = (0..3).map(|k| x[i * 3 + k] * theta[j * 3 + k]).sum();
            assert!(
                (z0[i * 2 + j] - want).abs() < 1e-15,
                "z[{i},{j}] = {} vs {want}",
                z0[i * 2 + j]
            );
        }
    }
}

/// `--outer FILE`: the second layer a is read exactly and enters the
/// recorded loss and R as f = Σ_j a_j φ(z_ij) says (computed here
/// independently at step 0), the runs table names it, and Theorem 3.3's
/// z*, R* (which assume a = 1) are left undefined.
#[test]
fn a_second_layer_from_a_file_enters_loss_and_sharpness_and_has_no_optimum() {
    let dir = TempDir::new("outer");
    let x = [0.6, 0.0, 0.8, 0.0, 1.0, 0.0];
    let y = [0.3, 0.7];
    let theta = [0.1, -0.2, 0.3, 0.05, 0.4, -0.1];
    let a = [0.5, -2.0];
    std::fs::write(dir.join("x.csv"), "0.6,0,0.8\n0,1,0\n").unwrap();
    std::fs::write(dir.join("y.csv"), "0.3\n0.7\n").unwrap();
    std::fs::write(dir.join("init.csv"), "0.1,-0.2,0.3\n0.05,0.4,-0.1\n").unwrap();
    std::fs::write(
        dir.join("a.npy"),
        sharpsweep_core::io::write_npy(2, None, &a),
    )
    .unwrap();
    let out = dir.join("r");
    let p = |f: &str| dir.join(f).to_str().unwrap().to_owned();
    let files = [
        "--data",
        &p("x.csv"),
        "--labels",
        &p("y.csv"),
        "--init",
        &p("init.csv"),
        "--outer",
        &p("a.npy"),
    ];
    run_ok(&out, &files);
    let runs = ParquetTable::read(&out.join("runs.parquet"));
    assert_eq!(runs.column_str("outer"), vec![p("a.npy")]);
    assert!(runs.column_f64("sharpness_r_star")[0].is_nan());
    assert!(runs.column_f64("dist_to_optimum")[0].is_nan());
    assert!(runs.column_str("config")[0].contains("a.npy"));
    // φ(z) = z³ + z at step 0.
    let (mut loss, mut r) = (0.0, 0.0);
    for i in 0..2 {
        let mut f = 0.0;
        let norm2: f64 = (0..3).map(|k| x[i * 3 + k] * x[i * 3 + k]).sum();
        for j in 0..2 {
            let z: f64 = (0..3).map(|k| x[i * 3 + k] * theta[j * 3 + k]).sum();
            f += a[j] * (z * z * z + z);
            r += (a[j] * (3.0 * z * z + 1.0)).powi(2) * norm2;
        }
        loss += (f - y[i]).powi(2) / 2.0;
    }
    let traj = ParquetTable::read(&out.join("trajectory.parquet"));
    let (loss0, r0) = (
        traj.column_f64("loss")[0],
        traj.column_f64("sharpness_r")[0],
    );
    assert!((loss0 - loss).abs() < 1e-14, "loss {loss0} vs {loss}");
    assert!((r0 - r).abs() < 1e-12, "R {r0} vs {}", r);
    // The same files without --outer are [G24]'s network: another loss,
    // and z* is defined.
    let ones = dir.join("ones");
    run_ok(&ones, &files[..6]);
    let runs = ParquetTable::read(&ones.join("runs.parquet"));
    assert_eq!(runs.column_str("outer"), vec!["ones"]);
    assert!(runs.column_f64("sharpness_r_star")[0].is_finite());
    let traj = ParquetTable::read(&ones.join("trajectory.parquet"));
    assert!((traj.column_f64("loss")[0] - loss).abs() > 1e-3);
}

/// [G24] Figure 1 (m = 10, d = 3, n = 3, η = 0.05) with σ read as a variance
/// (σ = √0.03 ≈ 0.173 as the standard deviation), seeds 0 and 1, which stay
/// finite at this edge-of-stability η: 3·10⁶ steps take s₂/s₁ of Z from
/// ≈ 0.5 to below 10⁻⁴, four orders of magnitude (docs/fidelity.md).
#[test]
fn label_noise_gd_collapses_the_feature_matrix_to_rank_one() {
    let dir = TempDir::new("collapse");
    for seed in ["0", "1"] {
        let out = dir.join(seed);
        let o = run_bin(&[
            "run",
            "--quiet",
            "--seed",
            seed,
            "--sigma",
            "0.17320508075688773",
            "--steps",
            "3000000",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", o.stderr);
        let traj = ParquetTable::read(&out.join("trajectory.parquet"));
        let ratios = traj.column_f64("sv_ratio2_z");
        let (first, last) = (ratios[0], *ratios.last().unwrap());
        assert!(first > 0.1, "seed {seed}: s2/s1 starts at {first}");
        assert!(last < 1e-4, "seed {seed}: s2/s1 ends at {last}");
        let runs = ParquetTable::read(&out.join("runs.parquet"));
        assert_eq!(runs.column_str("status"), vec!["finished"]);
    }
}

/// One line on stderr, starting `error: `, containing every `part`.
fn assert_one_line_error(o: &crate::support::TextOutput, parts: &[&str]) {
    let lines: Vec<&str> = o.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "not one line: {}", o.stderr);
    assert!(lines[0].starts_with("error: "), "{}", lines[0]);
    for p in parts {
        assert!(lines[0].contains(p), "no '{p}' in: {}", lines[0]);
    }
}

#[test]
fn sizes_the_machine_cannot_hold_are_refused_with_one_line_before_allocating() {
    let dir = TempDir::new("memory");
    // (flags, what the line names): m = 10⁹ aborted allocating 24 GB; the
    // Hessian at m·d = 10⁸ panicked allocating 8·10¹⁶ bytes; m·d beyond 64
    // bits must be refused, not wrapped; --max-memory sets the limit.
    let cases: &[(&[&str], &[&str])] = &[
        (&["--m", "1000000000"], &["--m 1000000000", "needs ~"]),
        (
            &["--m", "10000000", "--d", "10", "--hessian"],
            &["--hessian", "--m 10000000", "--d 10", "needs ~"],
        ),
        (
            &["--m", "18446744073709551615", "--d", "2"],
            &["--m", "overflows"],
        ),
        (
            &["--m", "100000", "--d", "100", "--max-memory", "64M"],
            &["--m 100000", "64.0 MiB allowed by --max-memory"],
        ),
        (&["--max-memory", "8X"], &["--max-memory", "8G"]),
        (&["--max-memory", "0"], &["--max-memory"]),
    ];
    for (i, (flags, parts)) in cases.iter().enumerate() {
        let out = dir.join(&format!("out{i}"));
        let mut args = vec!["run", "--quiet", "--out", out.to_str().unwrap()];
        args.extend_from_slice(flags);
        let started = std::time::Instant::now();
        let o = run_bin(&args);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {}", o.stderr);
        assert_one_line_error(&o, parts);
        assert!(!out.exists(), "{flags:?}: wrote {}", out.display());
        assert!(started.elapsed().as_secs() < 20, "{flags:?} took long");
    }
    // A run within --max-memory goes ahead.
    run_ok(&dir.join("fits"), &["--max-memory", "1G"]);
}

#[test]
fn an_out_that_is_a_file_is_refused_before_training() {
    let dir = TempDir::new("outfile");
    let file = dir.join("result");
    std::fs::write(&file, "not a directory").unwrap();
    // 10⁹ steps would train for most of a minute before writing.
    let mut child = bin()
        .args(["run", "--quiet", "--steps", "1000000000", "--out"])
        .arg(&file)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed().as_secs() > 20 {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("still training after 20 s with --out a file");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--out") && stderr.contains("not a directory"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a directory");
}

#[test]
fn a_run_into_a_directory_another_run_holds_is_refused() {
    let dir = TempDir::new("locked");
    let out = dir.join("r");
    std::fs::create_dir_all(&out).unwrap();
    let holder = std::fs::File::create(out.join(".lock")).unwrap();
    holder.try_lock().unwrap();
    let o = run_bin(&[
        "run",
        "--quiet",
        "--steps",
        "100",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", o.stderr);
    assert_one_line_error(
        &o,
        &["--out", out.to_str().unwrap(), "another sharpsweep run"],
    );
    assert!(!out.join("runs.parquet").exists());
    drop(holder);
    run_ok(&out, &[]);
}

#[test]
fn two_concurrent_runs_into_one_out_exactly_one_succeeds_and_the_pair_is_one_runs() {
    let dir = TempDir::new("concurrent");
    for attempt in 0..3 {
        let out = dir.join(&format!("r{attempt}"));
        let spawn = |seed: &str| {
            bin()
                .args([
                    "run", "--quiet", "--steps", "5000000", "--seed", seed, "--out",
                ])
                .arg(&out)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let children = [spawn("1"), spawn("2")];
        let outputs: Vec<_> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let ok = outputs.iter().filter(|o| o.status.success()).count();
        assert_eq!(ok, 1, "attempt {attempt}: {} succeeded", ok);
        let refused = outputs.iter().find(|o| !o.status.success()).unwrap();
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(out.to_str().unwrap()), "{stderr}");
        let runs = ParquetTable::read(&out.join("runs.parquet"));
        let trajectory = ParquetTable::read(&out.join("trajectory.parquet"));
        let id = runs.column_str("run_id");
        assert_eq!(id.len(), 1);
        assert!(
            trajectory.column_str("run_id").iter().all(|t| *t == id[0]),
            "attempt {attempt}: a mixed pair"
        );
        assert!(!out.join(".staging").exists());
    }
}

/// A run stopped by a signal: SIGTERM exits 75 and Ctrl-C (SIGINT) 130,
/// each after checkpointing and writing the rows so far with status
/// `interrupted`; each rerun of the same command continues from the
/// checkpoint, and the finished result equals an uninterrupted run's in
/// every column but `wall_seconds`.
#[test]
fn a_signalled_run_keeps_its_rows_and_its_reruns_finish_as_an_uninterrupted_run() {
    use std::os::unix::fs::MetadataExt;
    use std::process::Stdio;
    // Seconds of stepping (≈ 20 M steps/s on one core): the signal, sent
    // as soon as the first checkpoint (after 20 ms) is there, finds it
    // running; `steps_done < STEPS` below checks that it did.
    const STEPS: &str = "50000000";
    let flags = |out: &Path| {
        let mut a = vec!["run", "--steps", STEPS, "--log-points", "40", "--quiet"];
        a.extend(["--checkpoint-every", "0.02", "--out", out.to_str().unwrap()]);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let dir = TempDir::new("signal");
    let (reference, out) = (dir.join("reference"), dir.join("stopped"));
    let o = run_bin(&flags(&reference).iter().map(|s| &**s).collect::<Vec<_>>());
    assert!(o.status.success(), "uninterrupted run: {}", o.stderr);
    let ckpt_dir = out.join("checkpoints");
    let checkpoint = || {
        std::fs::read_dir(&ckpt_dir)
            .ok()?
            .flatten()
            .find(|e| e.path().extension().is_some_and(|x| x == "ckpt"))
            .and_then(|e| e.metadata().ok())
            .map(|m| m.ino())
    };
    // Starts the run, waits for a checkpoint newer than the one there
    // before, signals it; returns its exit code and the interrupted rows.
    let interrupt = |signal: &str| {
        let before = checkpoint();
        let mut child = bin()
            .args(flags(&out))
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        while checkpoint() == before {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the run ended ({status}) before its first checkpoint");
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        kill(signal, child.id());
        let o = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(stderr.contains("rerun the same command"), "{stderr}");
        let runs = ParquetTable::read(&out.join("runs.parquet"));
        assert_eq!(runs.column_str("status"), vec!["interrupted"], "{stderr}");
        (o.status.code(), runs.column_i64("steps_done")[0])
    };
    let reference_steps = ParquetTable::read(&reference.join("trajectory.parquet"));
    let reference_steps = (
        reference_steps.column_i64("step"),
        reference_steps.column_f64("loss"),
    );
    let mut done_before = 0;
    for (signal, code) in [("TERM", 75), ("INT", 130)] {
        let (exit, done) = interrupt(signal);
        assert_eq!(exit, Some(code), "exit code after SIG{signal}");
        assert!(
            done > done_before && done < STEPS.parse().unwrap(),
            "SIG{signal} at step {done} (before: {done_before})"
        );
        done_before = done;
        // The rows so far are the uninterrupted run's first rows.
        let rows = ParquetTable::read(&out.join("trajectory.parquet"));
        let (step, loss) = (rows.column_i64("step"), rows.column_f64("loss"));
        assert!(step.len() > 1 && *step.last().unwrap() <= done);
        assert_eq!(step[..], reference_steps.0[..step.len()]);
        assert_eq!(loss[..], reference_steps.1[..loss.len()]);
    }
    let o = run_bin(&flags(&out).iter().map(|s| &**s).collect::<Vec<_>>());
    assert!(o.status.success(), "the rerun: {}", o.stderr);
    for table in ["runs.parquet", "trajectory.parquet"] {
        assert_eq!(
            ParquetTable::read(&out.join(table)).without("wall_seconds"),
            ParquetTable::read(&reference.join(table)).without("wall_seconds"),
            "{table}: resumed twice vs uninterrupted"
        );
    }
    assert!(!ckpt_dir.exists(), "the finished run's checkpoint remains");
}

/// A cosine schedule from the command line: the dataset names it, and the
/// `time` column is the flow clock Σ_{k<step} η_k²σ_k²/(2B) summed here
/// independently from the closed form η_k = η_end + (η − η_end)(1 + cos(πk/K))/2.
#[test]
fn a_cosine_schedule_runs_and_its_time_integrates_the_schedule() {
    let dir = TempDir::new("cosine");
    let out = dir.join("r");
    let (eta, eta_end, sigma, sigma_end) = (0.05, 0.01, 0.03, 0.3);
    run_ok(
        &out,
        &[
            "--schedule",
            "cosine",
            "--eta-end",
            "0.01",
            "--sigma-end",
            "0.3",
            "--log-every",
            "5000",
        ],
    );
    let runs = ParquetTable::read(&out.join("runs.parquet"));
    assert_eq!(runs.column_str("schedule"), ["cosine"]);
    assert_eq!(runs.column_f64("eta_end"), [eta_end]);
    assert_eq!(runs.column_f64("sigma_end"), [sigma_end]);
    assert_eq!(runs.column_str("status"), ["finished"]);
    let traj = ParquetTable::read(&out.join("trajectory.parquet"));
    let (steps, times) = (traj.column_i64("step"), traj.column_f64("time"));
    let kk = 20000.0;
    let cosine =
        |a: f64, b: f64, k: f64| b + (a - b) * (1.0 + (std::f64::consts::PI * k / kk).cos()) / 2.0;
    let (mut sum, mut k) = (0.0, 0);
    assert!(
        steps.contains(&10000) && steps.contains(&20000),
        "{steps:?}"
    );
    for (&step, &time) in steps.iter().zip(&times) {
        while k < step {
            let (e, s) = (
                cosine(eta, eta_end, k as f64),
                cosine(sigma, sigma_end, k as f64),
            );
            sum += e * e * s * s / (2.0 * 3.0);
            k += 1;
        }
        assert!(
            (time - sum).abs() <= 1e-12 * sum.max(f64::MIN_POSITIVE),
            "step {step}: time {time}, independent sum {sum}"
        );
    }
    // Not the constant clock: σ grows tenfold, so the end time is far past
    // K·η²σ²/(2B).
    let constant = kk * eta * eta * sigma * sigma / 6.0;
    assert!(*times.last().unwrap() > 5.0 * constant, "{times:?}");
}
