use super::*;
use sharpsweep_core::lanes::LaneKey;
use sharpsweep_core::{ActivationName, NoiseKind};

fn grid(text: &str) -> Grid {
    Grid::from_toml(text, &[]).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn error(text: &str, overrides: &[&str]) -> String {
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    match Grid::from_toml(text, &overrides) {
        Ok(g) => panic!("accepted ({} points):\n{text}", g.points.len()),
        Err(e) => e.to_string(),
    }
}

fn etas(g: &Grid) -> Vec<f64> {
    g.configs().iter().map(|c| c.eta).collect()
}

#[test]
fn a_scalar_is_one_point_with_defaults_elsewhere() {
    let g = grid("[[grid]]\neta = 0.1\n");
    assert_eq!(g.points.len(), 1);
    let c = &g.config(&g.points[0]);
    assert_eq!(c.eta, 0.1);
    let expected = RunConfig {
        eta: 0.1,
        seed: replicate_seed(0, 0),
        ..RunConfig::default()
    };
    assert_eq!(*c, expected);
    assert_eq!(g.points[0].run_id, expected.run_id());
}

#[test]
fn an_empty_table_is_the_default_run() {
    let g = grid("[[grid]]\n");
    assert_eq!(g.points.len(), 1);
    assert_eq!(g.config(&g.points[0]).m, RunConfig::default().m);
}

#[test]
fn lists_multiply_with_later_fields_varying_fastest() {
    // sigma is written first, but eta is declared first in RunConfig and nests outside.
    let g = grid("[[grid]]\nsigma = [0.0, 0.1]\neta = [0.01, 0.02, 0.03]\n");
    let pairs: Vec<(f64, f64)> = g.configs().iter().map(|c| (c.eta, c.sigma)).collect();
    assert_eq!(
        pairs,
        [
            (0.01, 0.0),
            (0.01, 0.1),
            (0.02, 0.0),
            (0.02, 0.1),
            (0.03, 0.0),
            (0.03, 0.1)
        ]
    );
    assert!(g.points.iter().enumerate().all(|(i, p)| p.index == i));
}

#[test]
fn linear_ranges_include_both_ends_evenly_spaced() {
    let g = grid("[[grid]]\neta = { lin = [0.1, 0.3], num = 3 }\n");
    // 0.1 + 0.2·½ is 0.20000000000000001 in floats: values are rounded to 12 digits.
    assert_eq!(etas(&g), [0.1, 0.2, 0.3]);
    let g = grid("[[grid]]\neta = { lin = [0.5, 0.5], num = 1 }\n");
    assert_eq!(etas(&g), [0.5]);
}

#[test]
fn log_ranges_are_evenly_spaced_in_the_logarithm() {
    let g = grid("[[grid]]\neta = { log = [1e-3, 1e-1], num = 5 }\n");
    let e = etas(&g);
    assert_eq!(e[0], 1e-3);
    assert_eq!(e[2], 1e-2);
    assert_eq!(e[4], 1e-1);
    for w in e.windows(2) {
        let ratio = w[1] / w[0];
        assert!((ratio - 10f64.sqrt()).abs() < 1e-10, "{e:?}");
    }
}

#[test]
fn integer_keys_take_ranges_that_land_on_integers_only() {
    let g = grid("[[grid]]\nm = { lin = [10, 100], num = 4 }\n");
    let ms: Vec<usize> = g.configs().iter().map(|c| c.m).collect();
    assert_eq!(ms, [10, 40, 70, 100]);
    let g = grid("[[grid]]\nsteps = { log = [1000, 1000000], num = 4 }\n");
    let steps: Vec<u64> = g.configs().iter().map(|c| c.steps).collect();
    assert_eq!(steps, [1000, 10_000, 100_000, 1_000_000]);
    let e = error("[[grid]]\nm = { lin = [10, 100], num = 5 }\n", &[]);
    assert_eq!(
        e,
        "grid[0].m: the range gives 32.5, but m takes integers (choose ends and num so every step is whole)"
    );
}

#[test]
fn zipped_axes_vary_together() {
    let g = grid(
        "[[grid]]\nm = [5, 10]\nzip = [{ eta = [0.01, 0.02, 0.04], sigma = [0.2, 0.1, 0.05] }]\n",
    );
    let triples: Vec<(usize, f64, f64)> =
        g.configs().iter().map(|c| (c.m, c.eta, c.sigma)).collect();
    assert_eq!(
        triples,
        [
            (5, 0.01, 0.2),
            (5, 0.02, 0.1),
            (5, 0.04, 0.05),
            (10, 0.01, 0.2),
            (10, 0.02, 0.1),
            (10, 0.04, 0.05)
        ]
    );
    // [[grid.zip]] is the same TOML as zip = [{ … }].
    let tables = grid(
        "[[grid]]\nm = [5, 10]\n[[grid.zip]]\neta = [0.01, 0.02, 0.04]\nsigma = [0.2, 0.1, 0.05]\n",
    );
    assert_eq!(tables, g);
}

#[test]
fn seeds_give_replicates_with_common_random_numbers() {
    let g = grid("seed = 7\n[[grid]]\neta = [0.01, 0.02]\nseeds = 3\n");
    assert_eq!(g.points.len(), 6);
    let reps: Vec<u64> = g.points.iter().map(|p| p.replicate).collect();
    assert_eq!(reps, [0, 1, 2, 0, 1, 2]);
    for (p, c) in g.points.iter().zip(g.configs()) {
        assert_eq!(c.seed, replicate_seed(7, p.replicate));
    }
    // Same replicate, different η: same seed, hence same data and init.
    assert_eq!(g.config(&g.points[1]).seed, g.config(&g.points[4]).seed);
    assert_ne!(g.config(&g.points[0]).seed, g.config(&g.points[1]).seed);
    let listed = grid("seed = 7\n[[grid]]\neta = 0.01\nseeds = [0, 2]\n");
    assert_eq!(
        listed.config(&listed.points[1]).seed,
        g.config(&g.points[2]).seed
    );
    // The base seed changes every run.
    let other = grid("seed = 8\n[[grid]]\neta = [0.01, 0.02]\nseeds = 3\n");
    assert!(
        g.configs()
            .iter()
            .zip(&other.configs())
            .all(|(a, b)| a.seed != b.seed)
    );
    assert_ne!(g.fingerprint(), other.fingerprint());
}

#[test]
fn tables_concatenate_in_file_order() {
    let g = grid("[[grid]]\neta = [0.01, 0.02]\n[[grid]]\neta = 0.03\nm = 5\n");
    assert_eq!(g.tables, 2);
    assert_eq!(etas(&g), [0.01, 0.02, 0.03]);
    let tables: Vec<usize> = g.points.iter().map(|p| p.table).collect();
    assert_eq!(tables, [0, 0, 1]);
    assert_eq!(g.config(&g.points[2]).m, 5);
    assert_eq!(g.config(&g.points[0]).m, RunConfig::default().m);
}

#[test]
fn top_level_keys_are_defaults_a_table_can_override() {
    let g = grid(
        "m = 20\nsigma = [0.1, 0.2]\nseeds = 2\n\
         [[grid]]\neta = 0.01\n\
         [[grid]]\nm = 5\nseeds = 1\nzip = [{ eta = [0.02, 0.03], sigma = [0.3, 0.4] }]\n",
    );
    let rows: Vec<(usize, usize, f64, f64, u64)> = g
        .points
        .iter()
        .zip(g.configs())
        .map(|(p, c)| (p.table, c.m, c.eta, c.sigma, p.replicate))
        .collect();
    assert_eq!(
        rows,
        [
            (0, 20, 0.01, 0.1, 0),
            (0, 20, 0.01, 0.1, 1),
            (0, 20, 0.01, 0.2, 0),
            (0, 20, 0.01, 0.2, 1),
            (1, 5, 0.02, 0.3, 0),
            (1, 5, 0.03, 0.4, 0),
        ]
    );
}

#[test]
fn overrides_replace_a_key_in_every_table() {
    let text = "[[grid]]\neta = [0.01, 0.02]\nm = 5\n\
                [[grid]]\nzip = [{ eta = [0.03, 0.04], sigma = [0.1, 0.2] }]\n";
    let set = |o: &[&str]| {
        let o: Vec<String> = o.iter().map(|s| s.to_string()).collect();
        Grid::from_toml(text, &o).unwrap()
    };
    let g = set(&["m=7,8", "activation=tanh", "noise=rademacher"]);
    assert!(
        g.configs()
            .iter()
            .all(|c| c.activation == ActivationName::Tanh)
    );
    assert!(g.configs().iter().all(|c| c.noise == NoiseKind::Rademacher));
    assert_eq!(g.points.len(), 4 + 4);
    assert_eq!(g.config(&g.points[0]).m, 7);
    // A zipped key set from the command line leaves its zip group and varies alone.
    let g = set(&["eta=0.05"]);
    let rows: Vec<(f64, f64)> = g.configs().iter().map(|c| (c.eta, c.sigma)).collect();
    let s = RunConfig::default().sigma;
    assert_eq!(rows, [(0.05, s), (0.05, 0.1), (0.05, 0.2)]);
    // A range, replicates and the base seed.
    let g = set(&["eta={ log = [1e-3, 1e-1], num = 3 }", "seeds=2", "seed=9"]);
    assert_eq!(g.points.len(), 3 * 2 + 3 * 2 * 2);
    assert_eq!(g.seed, 9);
    assert_eq!(g.config(&g.points[1]).seed, replicate_seed(9, 1));
}

#[test]
fn the_definition_is_the_grid_file_as_json_with_its_overrides() {
    let g = Grid::from_toml("[[grid]]\nm = 5\n", &["eta=0.01,0.02".to_string()]).unwrap();
    let d = &g.definition;
    assert_eq!(d["set"], serde_json::json!(["eta=0.01,0.02"]));
    assert!(d["grid"].is_array(), "{d}");
    let plain = grid("seed = 4\n[[grid]]\nsigma = [0.1, 0.2]\n");
    assert_eq!(
        plain.definition,
        serde_json::json!({"seed": 4, "grid": [{"sigma": [0.1, 0.2]}]})
    );
}

#[test]
fn run_ids_are_stable_across_reparses_and_key_order() {
    let a = "seed = 3\nsteps = 1000\n[[grid]]\neta = [0.01, 0.02]\n\
             sigma = { log = [0.01, 1], num = 3 }\nactivation = \"tanh\"\nseeds = 2\n";
    let b = "steps = 1_000\nseed = 3\n# comments change nothing\n[[grid]]\nseeds = 2\n\
             activation = 'tanh'\nsigma = { num = 3, log = [1e-2, 1.0] }\neta = [0.01, 0.02]\n";
    assert_eq!(grid(a), grid(a));
    // The same points; the definition records each file as written.
    assert_eq!(grid(a).points, grid(b).points);
    assert_eq!(grid(a).fingerprint(), grid(b).fingerprint());
    let g = grid(a);
    for (p, c) in g.points.iter().zip(g.configs()) {
        assert_eq!(p.run_id, c.run_id());
    }
}

#[test]
fn fingerprint_ignores_point_order_but_not_content() {
    let a = grid("[[grid]]\neta = [0.01, 0.02]\n[[grid]]\neta = 0.03\n");
    let b = grid("[[grid]]\neta = 0.03\n[[grid]]\neta = [0.02, 0.01]\n");
    assert_ne!(a.points, b.points);
    assert_eq!(a.fingerprint(), b.fingerprint());
    let c = grid("[[grid]]\neta = [0.01, 0.02, 0.03, 0.04]\n");
    assert_ne!(a.fingerprint(), c.fingerprint());
    assert_eq!(a.fingerprint().len(), 16);
}

#[test]
fn json_lists_every_point_and_the_definition_that_expands_to_them() {
    let g = Grid::from_toml(
        "steps = 100\n[[grid]]\neta = [0.01, 0.02]\nseeds = 2\n[[grid]]\nm = 20\n",
        &["sigma=0.1".into()],
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&g.to_json()).unwrap();
    assert_eq!(v["fingerprint"], g.fingerprint());
    assert_eq!(v["tables"], 2);
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), 5);
    for (p, j) in g.points.iter().zip(points) {
        assert_eq!(j["index"], p.index);
        assert_eq!(j["run_id"], p.run_id.to_string());
        assert_eq!(j["table"], p.table);
        assert_eq!(j["replicate"], p.replicate);
    }
    // The definition, written back as TOML with its overrides, expands to
    // the very points listed: every configuration is recoverable.
    let mut definition = v["definition"].clone();
    let set: Vec<String> = serde_json::from_value(definition["set"].take()).unwrap();
    definition.as_object_mut().unwrap().remove("set");
    let again = Grid::from_toml(&toml::to_string(&definition).unwrap(), &set).unwrap();
    assert_eq!(again.points, g.points);
}

#[test]
fn dry_run_lists_count_cost_and_the_varying_keys() {
    let g = grid(
        "steps = 100\n[[grid]]\neta = [0.01, 0.02]\nactivation = ['tanh', 'relu']\nseeds = 2\n",
    );
    let s = g.dry_run_summary(3);
    let lines: Vec<&str> = s.lines().collect();
    // 8 runs of 100 steps · m 10 · d 3 · n 3.
    assert_eq!(
        lines[0],
        "8 points in 1 [[grid]] table, cost estimate 7.200e4 (sum of steps·m·d·batch)"
    );
    assert_eq!(lines[1], "varying: activation (2), eta (2), replicates (2)");
    assert_eq!(
        lines[2],
        format!(
            "      0  {}  activation=tanh  eta=0.01  replicate=0",
            g.points[0].run_id
        )
    );
    assert!(
        lines[4].contains("activation=tanh  eta=0.02  replicate=0"),
        "{s}"
    );
    assert_eq!(lines[5], "    … 5 more");
    assert_eq!(lines.len(), 6);
    // Replicates counted over the tables: 0..3, then 1 and 5 listed.
    let g = grid("[[grid]]\nseeds = 3\n[[grid]]\neta = 0.1\nseeds = [5, 1]\n");
    assert!(g.dry_run_summary(0).contains("replicates (4)"));
}

#[test]
fn cost_is_steps_times_the_work_of_one_step() {
    let c = RunConfig {
        steps: 10,
        m: 2,
        d: 3,
        n: 5,
        ..RunConfig::default()
    };
    assert_eq!(cost(&c), 300.0);
    assert_eq!(
        cost(&RunConfig {
            batch_size: Some(1),
            ..c
        }),
        60.0
    );
}

#[test]
fn the_example_parses_into_figure_one_runs() {
    let g = grid(EXAMPLE);
    assert_eq!(g.points.len(), 3 * 3 * 4 + 3 * 4);
    assert_eq!(g.tables, 2);
    assert!(g.configs().iter().all(|c| (c.m, c.d, c.n) == (10, 3, 3)));
}

#[test]
fn the_example_documents_every_key_with_its_default() {
    let keys = Keys::new();
    let assignment = |key: &str| format!("{key} = ");
    for key in keys.names() {
        assert!(
            EXAMPLE
                .lines()
                .any(|l| l.trim_start_matches("# ").starts_with(&assignment(key))),
            "grid/example.toml does not document '{key}': add a commented line `# {key} = <default>`"
        );
    }
    // Uncommenting every documented default changes no point (an optional
    // key, off by default, is documented with an example value instead).
    let defaults = serde_json::to_value(RunConfig::default()).unwrap();
    let documents_default = |line: &str| {
        keys.names()
            .any(|k| line.starts_with(&assignment(k)) && !defaults[k].is_null())
    };
    let uncommented: String = EXAMPLE
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest) if documents_default(rest) => rest,
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(
        grid(&uncommented).fingerprint(),
        grid(EXAMPLE).fingerprint()
    );
    assert_ne!(uncommented, EXAMPLE);
}

#[test]
fn errors_are_one_line_naming_key_and_point() {
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "[[grid]]\netaa = 0.1\n",
            &[],
            "grid[0]: unknown key 'etaa' (did you mean 'eta'?)",
        ),
        (
            "[[grid]]\neta = 0.2\n[[grid]]\neta = [0.1, -0.1]\n",
            &[],
            "grid[1].eta: must be a finite number > 0, got -0.1 (point 2)",
        ),
        (
            "[[grid]]\neta = []\n",
            &[],
            "grid[0].eta: empty list (an axis needs at least one value)",
        ),
        (
            "[[grid]]\neta = 0.1\n",
            &["sigmaa=1"],
            "--set sigmaa: unknown key 'sigmaa' (did you mean 'sigma'?)",
        ),
        (
            "[[grid]]\n",
            &["m=1.5"],
            "--set m: invalid type: floating point `1.5`, expected usize",
        ),
        (
            "[[grid]]\neta = [0.1\n",
            &[],
            "line 2, column 11: invalid TOML:",
        ),
        (
            "[[grid]]\neta = 0.1\n[[grid]]\neta = 0.1\n",
            &[],
            "grid[1]: duplicate point: the same run (run_id",
        ),
        (
            "[[grid]]\nbatch_size = 4\n",
            &[],
            "grid[0].batch_size: must be between 1 and n = 3, got 4 (point 0)",
        ),
    ];
    for (text, overrides, expected) in cases {
        let e = error(text, overrides);
        assert!(e.starts_with(expected), "got {e:?}, expected {expected:?}");
        assert!(!e.contains('\n'), "{e:?}");
    }
}

#[test]
fn huge_products_are_refused_before_expanding() {
    let axis = format!(
        "[{}]",
        (1..=100)
            .map(|i| format!("{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let text = format!("[[grid]]\nm = {axis}\nd = {axis}\nn = {axis}\nsteps = {axis}\n");
    let e = error(&text, &[]);
    assert_eq!(
        e,
        format!(
            "grid[0]: d (100) × m (100) × n (100) × steps (100) make more than the {MAX_POINTS} points a grid may have"
        )
    );
}

#[test]
fn a_million_value_axis_expands_with_distinct_values_and_run_ids() {
    // The duplicate checks sort (O(n log n)); checked pairwise, as they
    // once were, this axis would take about an hour.
    let g = grid("[[grid]]\neta = { log = [1e-6, 1e-1], num = 1_000_000 }\nsteps = 10\n");
    assert_eq!(g.points.len(), 1_000_000);
    let e = etas(&g);
    assert_eq!((e[0], e[999_999]), (1e-6, 1e-1));
    assert!(e.windows(2).all(|w| w[0] < w[1]), "increasing");
    let ids: std::collections::HashSet<RunId> = g.points.iter().map(|p| p.run_id).collect();
    assert_eq!(ids.len(), 1_000_000);
    assert_eq!(
        g.points[123_456].run_id,
        g.config(&g.points[123_456]).run_id()
    );
    assert!(
        g.dry_run_summary(1)
            .contains("varying: eta (1000000), replicates (1)")
    );
}

#[test]
fn a_points_shape_agrees_with_its_configuration_and_it_is_built_again_as_it_was() {
    // 12 000 points of two m, in jobs of 4096: the last job's only shape
    // is the grid's second; then 16 shapes of a second table.
    let g = grid(
        "[[grid]]\neta = { log = [1e-3, 1e-1], num = 3000 }\nm = [5, 10]\nseeds = 2\n\
         [[grid]]\nactivation = [\"tanh\", \"cube\"]\nm = [10, 5]\nsteps = [100, 200]\n\
         hessian = [false, true]\n",
    );
    let configs = g.configs();
    assert_eq!(configs.len(), 12_016);
    let of = |c: &RunConfig| {
        (
            (c.m, c.d, c.n, c.batch(), c.steps),
            (c.log_points, c.log_every, c.hessian_options()),
            LaneKey::of(c),
        )
    };
    for (p, c) in g.points.iter().zip(&configs) {
        assert_eq!(of(g.shape(p)), of(c), "point {}", p.index);
        assert_eq!(p.run_id, c.run_id(), "point {}", p.index);
    }
    assert_eq!(g.shapes.len(), 2 + 16);
    assert_eq!(g.shape(&g.points[11_999]).m, 10);
    assert_eq!(g.config(&g.points[11_999]), configs[11_999]);
}

#[test]
fn duplicates_are_found_wherever_they_are() {
    let e = error(
        "[[grid]]\neta = [0.01, 0.02]\nsigma = 0.1\n[[grid]]\neta = 0.03\n[[grid]]\neta = [0.02, 0.01]\nsigma = 0.1\n",
        &[],
    );
    assert!(
        e.starts_with("grid[2]: duplicate point: the same run")
            && e.ends_with("as point 1 of grid[0] (point 3)"),
        "{e}"
    );
    let e = error("[[grid]]\neta = { lin = [0.1, 0.1], num = 3 }\n", &[]);
    assert_eq!(e, "grid[0].eta: value 0.1 is listed twice");
    // Decreasing values are distinct; a value written twice is not.
    assert_eq!(grid("[[grid]]\neta = [0.3, 0.2, 0.1]\n").points.len(), 3);
    let e = error("[[grid]]\neta = [0.2, 0.1, 0.2]\n", &[]);
    assert_eq!(e, "grid[0].eta: value 0.2 is listed twice");
}

#[test]
fn points_take_n_and_d_from_their_data_file_unless_set() {
    let dir = std::env::temp_dir().join(format!("sharpsweep-grid-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let x = dir.join("x.csv");
    std::fs::write(&x, "1,2\n3,4\n5,6\n7,8\n").unwrap();
    let text = format!(
        "[[grid]]\ndata = {:?}\n[[grid]]\ndata = {:?}\nn = 4\nd = 2\nm = 7\n",
        x, x
    );
    let g = grid(&text);
    let shapes: Vec<_> = g.configs().iter().map(|c| (c.n, c.d, c.m)).collect();
    assert_eq!(shapes, [(4, 2, 10), (4, 2, 7)]);
    assert!(
        g.dry_run_summary(2)
            .contains("varying: m (2), replicates (1)")
    );
    let e = error(&format!("[[grid]]\ndata = {:?}\nd = 3\n", x), &[]);
    assert!(
        e.ends_with("has shape 4×2, expected 4×3 (n×d) (point 0)"),
        "{e}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
