//! `sharpsweep reproduce --out DIR`: [G24] §5 in one command. Runs an
//! embedded grid (grids/reproduce*.toml) into `DIR/dataset`, analyses it into
//! `DIR/report`, and states whether the Figure-1 cell collapsed to rank one,
//! next to the threshold it was held to.

use super::CliError;
use super::progress::LOG_EVERY;
use super::sweep::sweep_error;
use serde_json::Value;
use sharpsweep_analyze::{Options, ReportSummary, report};
use sharpsweep_core::memory::Budget;
use sharpsweep_sweep::dataset::{Access, Dataset};
use sharpsweep_sweep::grid::worker_threads;
use sharpsweep_sweep::{Grid, SweepOptions, run_sweep};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output directory: `dataset/` (the sweep) and `report/` (index.html, report.md).
    #[arg(long, default_value = "sharpsweep-reproduce")]
    out: PathBuf,
    /// The one-minute version (σ read as a variance for Figure 1).
    #[arg(long, conflicts_with = "full")]
    quick: bool,
    /// Paper-scale budgets (hours on a workstation; use a cluster).
    #[arg(long)]
    full: bool,
    /// Worker threads [default: every core]; at most 4 per core.
    #[arg(long)]
    threads: Option<usize>,
    /// Move an existing dataset in --out (another budget's, e.g. of --quick)
    /// aside, to dataset/superseded-<time>/, and start anew; nothing is deleted.
    #[arg(long)]
    force_new: bool,
    /// Print the embedded grid and exit.
    #[arg(long)]
    print_grid: bool,
    /// No progress output.
    #[arg(long, short)]
    quiet: bool,
}

/// A budget of the reproduction: its grid and the Figure-1 cell it is judged on.
struct Preset {
    name: &'static str,
    grid: &'static str,
    /// σ of the Figure-1 cell whose collapse is checked.
    figure1_sigma: f64,
    /// Median final s₂/s₁ of Z below which the cell counts as rank one.
    threshold: f64,
}

const SIGMA_AS_VARIANCE: f64 = 0.17320508075688773;

const QUICK: Preset = Preset {
    name: "quick",
    grid: include_str!("../../grids/reproduce-quick.toml"),
    figure1_sigma: SIGMA_AS_VARIANCE,
    threshold: 1e-2,
};
const DEFAULT: Preset = Preset {
    name: "default",
    grid: include_str!("../../grids/reproduce.toml"),
    figure1_sigma: 0.03,
    threshold: 1e-2,
};
const FULL: Preset = Preset {
    name: "full",
    grid: include_str!("../../grids/reproduce-full.toml"),
    figure1_sigma: 0.03,
    threshold: 1e-3,
};

pub fn main(args: Args) -> Result<(), CliError> {
    let preset = match (args.quick, args.full) {
        (true, _) => QUICK,
        (_, true) => FULL,
        _ => DEFAULT,
    };
    if args.print_grid {
        super::print_text(preset.grid);
        return Ok(());
    }
    let grid = Grid::from_toml(preset.grid, &[])
        .map_err(|e| CliError::failure(format!("embedded grid: {e}")))?;
    // The embedded grids fit a laptop; a smaller machine is told before any run.
    grid.check_memory(Budget::detect(None), worker_threads(args.threads))
        .map_err(|e| CliError::input(format!("embedded grid: {e} (try --threads 1)")))?;
    let dataset = args.out.join("dataset");
    let report_dir = args.out.join("report");
    if !args.force_new {
        refuse_another_budget(&dataset, &grid)?;
    }
    let opts = SweepOptions {
        threads: super::worker_threads(args.threads),
        force_new: args.force_new,
        quiet: args.quiet,
        ..SweepOptions::default()
    };
    let mut watch = super::sweep::Stderr::new(args.quiet, LOG_EVERY);
    let stop = AtomicBool::new(false);
    let sweep = run_sweep(&grid, &dataset, &opts, &stop, &mut watch).map_err(sweep_error)?;
    if sweep.interrupted {
        return Err(CliError::failure(
            "the sweep was interrupted; rerun the same command to resume",
        ));
    }
    // The report recognises a reproduce dataset and draws [G24]'s cells
    // (label-noise on the paper's data; the other systems' cells have
    // figures of their own): every setting of the paper and its nearest
    // stable neighbour in the per-cell figures.
    let analysis = Options {
        max_cells: 16,
        ..Options::default()
    };
    let summary = report(&dataset, &report_dir, &analysis).map_err(CliError::failure)?;
    let verdict = verdict(&preset, &summary);
    append_verdict(&report_dir, &verdict)
        .map_err(|e| CliError::failure(format!("{}: {e}", report_dir.display())))?;
    if !args.quiet {
        println!("{verdict}");
        println!("report: {}", report_dir.join("index.html").display());
    }
    Ok(())
}

/// Refuses to resume a dataset of another grid (another budget, or a
/// sweep of the user's) in `dataset`, saying which and that `--force-new`
/// moves it aside. The engine refuses it too, but in terms of `sweep`.
fn refuse_another_budget(dataset: &Path, grid: &Grid) -> Result<(), CliError> {
    let Ok(Some(old)) = Dataset::open(dataset, Access::Read).and_then(|d| d.identity()) else {
        // None yet, or damaged: the sweep creates or reports it.
        return Ok(());
    };
    if old.fingerprint == grid.fingerprint() {
        return Ok(());
    }
    let held = [QUICK, DEFAULT, FULL]
        .into_iter()
        .find(|p| Grid::from_toml(p.grid, &[]).is_ok_and(|g| g.fingerprint() == old.fingerprint))
        .map_or("another grid's".to_string(), |p| {
            format!("the {} budget's", p.name)
        });
    Err(CliError::input(format!(
        "--out: {} holds {held} dataset; use another --out, or rerun with --force-new to \
         move it aside (to {}/superseded-<time>/; nothing is deleted) and start this budget",
        dataset.display(),
        dataset.display(),
    )))
}

/// One paragraph on the Figure-1 cell: its median final s₂/s₁ of Z against
/// the preset's threshold, or why it cannot be judged.
fn verdict(preset: &Preset, summary: &ReportSummary) -> String {
    let key = |k: &'static str, v: f64| (k, Value::from(v));
    let cell = summary.cell(&[
        ("algorithm", Value::from("label-noise")),
        ("data", Value::from("uniform")),
        key("m", 10.0),
        key("d", 3.0),
        key("n", 3.0),
        key("eta", 0.05),
        key("sigma", preset.figure1_sigma),
    ]);
    let setting = format!(
        "Figure 1 (m = 10, d = 3, n = 3, η = 0.05, σ = {}{})",
        preset.figure1_sigma,
        if preset.figure1_sigma == SIGMA_AS_VARIANCE {
            ", i.e. 0.03 read as a variance"
        } else {
            ""
        }
    );
    let Some(cell) = cell else {
        return format!(
            "Reproduction ({} budget): {setting} is not in the dataset.",
            preset.name
        );
    };
    let s = &cell.summary;
    let survivors = s.runs - s.diverged;
    match s.stat("sv_ratio2_z").and_then(|q| q.median) {
        Some(median) => format!(
            "Reproduction ({} budget): {setting}: median final s2/s1 of Z over the {survivors} of {} seeds that stayed finite = {median:.2e}, {} the threshold {:.0e}: {}.",
            preset.name,
            s.runs,
            if median < preset.threshold {
                "below"
            } else {
                "NOT below"
            },
            preset.threshold,
            if median < preset.threshold {
                "rank one, as Theorem 3.3 predicts"
            } else {
                "no collapse within this budget"
            },
        ),
        None => format!(
            "Reproduction ({} budget): {setting}: every one of the {} seeds diverged at this η; no verdict.",
            preset.name, s.runs
        ),
    }
}

/// Adds the verdict to the top of report.md and of index.html's body.
fn append_verdict(dir: &Path, verdict: &str) -> std::io::Result<()> {
    let md_path = dir.join("report.md");
    let md = std::fs::read_to_string(&md_path)?;
    let md = match md.split_once('\n') {
        Some((title, rest)) => format!("{title}\n\n**{verdict}**\n{rest}"),
        None => format!("**{verdict}**\n\n{md}"),
    };
    std::fs::File::create(&md_path)?.write_all(md.as_bytes())?;
    let html_path = dir.join("index.html");
    let html = std::fs::read_to_string(&html_path)?;
    let escaped = verdict
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let html = match html.find("<body>") {
        Some(i) => format!(
            "{}<body>\n<p class=\"verdict\"><strong>{escaped}</strong></p>{}",
            &html[..i],
            &html[i + 6..]
        ),
        None => html,
    };
    std::fs::write(&html_path, html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_grids_are_valid() {
        for p in [QUICK, DEFAULT, FULL] {
            let g = Grid::from_toml(p.grid, &[]).unwrap_or_else(|e| panic!("{}: {e}", p.name));
            let fig1 = g
                .configs()
                .into_iter()
                .filter(|c| (c.m, c.d, c.n, c.eta, c.sigma) == (10, 3, 3, 0.05, p.figure1_sigma));
            assert!(
                fig1.count() >= 8,
                "{}: the Figure-1 cell needs several seeds",
                p.name
            );
        }
    }

    #[test]
    fn the_full_grid_runs_every_system_with_the_paper_cells_on_their_own_data() {
        let g = Grid::from_toml(FULL.grid, &[]).unwrap();
        let configs = g.configs();
        let count = |f: &dyn Fn(&sharpsweep_core::RunConfig) -> bool| {
            configs.iter().filter(|c| f(c)).count()
        };
        for algorithm in ["label-noise", "flow", "sam", "margin"] {
            let n = count(&|c| c.algorithm.as_str() == algorithm);
            assert!(n >= 16, "{algorithm}: {n} points");
        }
        // [W22]: an (η, B) grid with the Hessian recorded.
        assert!(count(&|c| c.hessian && c.batch_size == Some(1)) >= 8);
        assert!(count(&|c| c.hessian && c.batch_size == Some(16)) >= 8);
        // [L21]: both data generators.
        for data in ["separable", "separable-asym"] {
            assert!(count(&|c| c.data.to_string() == data) >= 8, "{data}");
        }
        // The report's [G24] figures select data = uniform: only the paper's
        // label-noise cells are on it.
        assert!(
            count(&|c| c.data.to_string() == "uniform" && c.algorithm.as_str() != "label-noise")
                == 0
        );
    }
}
