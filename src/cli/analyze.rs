//! `sharpsweep analyze DIR --report REPORT_DIR`: summaries, figures, the
//! theory table and a report (index.html, report.md) from a dataset.

use super::CliError;
use sharpsweep_analyze::{FigureOutcome, Options, Selection, report};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The dataset: a `sharpsweep run --out` directory or a sweep's output.
    dir: PathBuf,
    /// Where the report goes: created if needed; an earlier report there is
    /// replaced once the new one is complete, a directory holding other
    /// files is refused.
    #[arg(long)]
    report: PathBuf,
    /// The heatmap's x axis (a swept numeric key, e.g. eta); with --heatmap-y
    /// [default: the two numeric swept axes with the most distinct values].
    #[arg(long, requires = "heatmap_y")]
    heatmap_x: Option<String>,
    /// The heatmap's y axis (e.g. sigma); with --heatmap-x [default: see --heatmap-x].
    #[arg(long, requires = "heatmap_x")]
    heatmap_y: Option<String>,
    /// Every figure draws only cells whose KEY is one of VALUES: values and
    /// inclusive ranges, comma-separated (eta=0.01..0.05, sigma=0.1,0.2);
    /// repeatable, all must match [default: what the dataset was made for:
    /// [G24]'s settings for a `reproduce` dataset, else the most-swept axes;
    /// each dynamics' own figure draws all of its cells].
    #[arg(long = "select", value_name = "KEY=VALUES")]
    select: Vec<Selection>,
    /// At most this many cells in a per-cell figure.
    #[arg(long, default_value_t = Options::default().max_cells)]
    max_cells: usize,
    /// Moments of training in the neuron figure.
    #[arg(long, default_value_t = Options::default().moments)]
    moments: usize,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

pub fn main(args: Args) -> Result<(), CliError> {
    let opts = Options {
        heatmap_axes: args.heatmap_x.zip(args.heatmap_y),
        select: args.select,
        max_cells: args.max_cells,
        moments: args.moments,
    };
    let summary = report(&args.dir, &args.report, &opts).map_err(|e| {
        if e.is_input() {
            CliError::input(e)
        } else {
            CliError::failure(e)
        }
    })?;
    if !args.quiet {
        println!("{} cell(s) analysed", summary.cells.len());
        for (stem, outcome) in &summary.figures {
            match outcome {
                FigureOutcome::Drawn { .. } => {
                    println!("  figure {stem}: {stem}.png, {stem}.svg, {stem}.parquet")
                }
                FigureOutcome::Skipped(why) => println!("  figure {stem}: skipped ({why})"),
            }
        }
        for note in &summary.notes {
            println!("  note: {note}");
        }
        println!(
            "report: {}",
            summary.report_dir.join("index.html").display()
        );
    }
    Ok(())
}
