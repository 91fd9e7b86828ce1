//! The report: one document, rendered twice — `index.html` (self-contained,
//! figures linked relatively, opens with no server) and `report.md` (for
//! terminals and git).

use crate::analysis::Analysis;
use crate::dataset::Layout;
use crate::figures::FigureOutcome;
use crate::summary::{METRICS, Quartiles};

/// Runs listed in the report's theory table; all are in `theory.parquet`.
const THEORY_ROWS: usize = 40;
/// Cells listed in the report's summary table; all are in `summary.parquet`.
const SUMMARY_ROWS: usize = 200;

pub enum Block {
    Heading(String),
    /// A heading within a section (a group of table rows).
    Subheading(String),
    Para(String),
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    Figure {
        stem: String,
        title: String,
        caption: String,
    },
    Pre {
        title: String,
        text: String,
    },
}

/// A number for a table: 4 significant digits, scientific when far from 1.
pub fn num(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(0.0) => "0".into(),
        Some(v) if v.abs() >= 1e-3 && v.abs() < 1e5 => format!("{}", (v * 1e4).round() / 1e4),
        Some(v) => format!("{v:.3e}"),
    }
}

/// A byte count for people: "12.3 MB".
fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.2} GB", n as f64 / 1e9),
        n if n >= 1 << 20 => format!("{:.1} MB", n as f64 / 1e6),
        n if n >= 1 << 10 => format!("{:.1} kB", n as f64 / 1e3),
        n => format!("{n} B"),
    }
}

fn quartiles(q: &Quartiles) -> String {
    match q.median {
        None => "–".into(),
        Some(_) => format!("{} [{}, {}]", num(q.median), num(q.q25), num(q.q75)),
    }
}

pub fn document(a: &Analysis, figures: &[(&crate::figures::Figure, FigureOutcome)]) -> Vec<Block> {
    let ds = &a.dataset;
    let mut doc = vec![Block::Heading("sharpsweep analysis".into())];
    let traj_rows: i64 = ds.trajectories.iter().map(|f| f.rows()).sum();
    doc.push(Block::Para(format!(
        "Dataset {} ({} layout): {} runs in {} grid cell(s), {} trajectory rows. Swept: {}.",
        ds.dir.display(),
        match ds.layout {
            Layout::SingleRun => "single-run",
            Layout::Sweep => "sweep",
        },
        a.runs.len(),
        a.grid.cells.len(),
        traj_rows,
        if a.grid.swept.is_empty() {
            "nothing".into()
        } else {
            a.grid.swept.join(", ")
        },
    )));
    let files = || ds.runs.iter().chain(&ds.trajectories);
    let (read, total): (u64, u64) = (
        files().map(|f| f.bytes_read()).sum(),
        files().map(|f| f.bytes()).sum(),
    );
    doc.push(Block::Para(format!(
        "Read {} of the dataset's {} of compressed column chunks (only the columns the \
         report needs, one row group at a time).",
        bytes(read),
        bytes(total)
    )));
    for note in &a.notes {
        doc.push(Block::Para(format!("Note: {note}")));
    }

    doc.push(Block::Heading("Summary per grid cell".into()));
    doc.push(Block::Para(
        "Median [first quartile, third quartile] over the seeds that did not diverge; \
         \"–\" where undefined or, for the steps to a threshold, where the quantile falls on \
         runs that never reached it (first recorded step below the threshold). All columns \
         with every quartile are in summary.parquet."
            .into(),
    ));
    let mut header = vec!["cell".to_string(), "runs".into(), "diverged".into()];
    header.extend(METRICS.iter().map(|m| m.label.to_string()));
    // One table per experiment, each cell labelled by what varies within it.
    let mut left = SUMMARY_ROWS;
    let cells: Vec<usize> = a.summaries.iter().map(|s| s.cell).collect();
    for group in a.grid.groups(&cells) {
        if left == 0 {
            break;
        }
        let shown = &group.cells[..group.cells.len().min(left)];
        left -= shown.len();
        if !group.title.is_empty() {
            doc.push(Block::Subheading(group.title.clone()));
        }
        let labels = a.grid.short_labels(&group.cells, "its one cell");
        let rows = shown
            .iter()
            .zip(labels)
            .map(|(&c, label)| {
                let s = &a.summaries[c];
                let mut row = vec![
                    label,
                    s.runs.to_string(),
                    format!("{} ({:.0}%)", s.diverged, 100.0 * s.divergence_rate()),
                ];
                row.extend(s.stats.iter().map(quartiles));
                row
            })
            .collect();
        doc.push(Block::Table {
            header: header.clone(),
            rows,
        });
    }
    if a.summaries.len() > SUMMARY_ROWS {
        doc.push(Block::Para(format!(
            "First {SUMMARY_ROWS} of {} cells shown; every one is in summary.parquet.",
            a.summaries.len()
        )));
    }

    doc.push(Block::Heading("Figures".into()));
    doc.push(Block::Para(
        "Runs that diverged or failed are never drawn: each panel or legend counts a cell's \
         seeds and how many diverged, and a cell whose every seed diverged is a note. Each \
         figure's data is beside it as <figure>.parquet (one row per point drawn: the swept \
         keys of its cells, panel, series, x, y, y_q25, y_q75, the seeds behind the point, and \
         the runs, diverged and failed of its cells), to re-plot it."
            .into(),
    ));
    for (f, outcome) in figures {
        match outcome {
            FigureOutcome::Drawn { caption } => doc.push(Block::Figure {
                stem: f.stem.into(),
                title: f.title.into(),
                caption: caption.clone(),
            }),
            FigureOutcome::Skipped(why) => {
                doc.push(Block::Para(format!("{} — not drawn: {why}.", f.title)))
            }
        }
    }

    doc.push(Block::Heading(
        "Theorem 3.3: predicted optimum against the runs".into(),
    ));
    doc.push(Block::Para(
        "[G24] Theorem 3.3: at the minimiser of R on the zero-loss manifold every neuron has \
         z_ij = z*_i = φ⁻¹(y_i/m), and R = R*. Per run: the mean over neurons of each row of \
         the final Z against z*_i (largest gap over i), the largest deviation of a neuron from \
         that mean, max|z − z*| and R against R*. Flags name the assumptions that fail \
         (n ≤ d and Assumption 3.1's activation class)."
            .into(),
    ));
    if a.theory.len() > THEORY_ROWS {
        doc.push(Block::Para(
            "Per grid cell: how many runs the theorem covers, and the median [first quartile, \
             third quartile] over the cell's runs of the largest gap, the neuron spread and \
             R − R*. Then the first runs one by one."
                .into(),
        ));
        doc.push(theory_per_cell(a));
    }
    let header = [
        "run",
        "cell",
        "seed",
        "z* (per data point)",
        "mean_j z_ij",
        "max gap",
        "neuron spread",
        "max|z − z*|",
        "R",
        "R*",
        "flags",
    ]
    .map(String::from)
    .to_vec();
    let vec_text = |v: &[f64]| {
        if v.is_empty() {
            "–".to_string()
        } else {
            let shown: Vec<String> = v.iter().take(4).map(|x| num(Some(*x))).collect();
            let more = if v.len() > 4 { ", …" } else { "" };
            format!("({}{more})", shown.join(", "))
        }
    };
    let defined = |v: f64| Some(v).filter(|v| !v.is_nan());
    let rows = a
        .theory
        .iter()
        .take(THEORY_ROWS)
        .map(|t| {
            let run = &a.runs[t.run];
            vec![
                run.run_id.clone(),
                a.grid.cells[a.grid.run_cell[t.run]].label.clone(),
                run.seed_text(),
                vec_text(&t.z_star),
                vec_text(&t.z_mean),
                num(defined(t.mean_gap)),
                num(defined(t.neuron_gap)),
                num(defined(run.last.dist_to_optimum)),
                num(defined(t.r)),
                num(defined(t.r_star)),
                if t.applies() {
                    "holds".into()
                } else {
                    t.flags.join("; ")
                },
            ]
        })
        .collect();
    push_first(
        &mut doc,
        header,
        rows,
        a.theory.len(),
        THEORY_ROWS,
        "runs",
        "theory.parquet",
    );

    doc.push(Block::Heading("Provenance".into()));
    for (name, text) in &ds.provenance {
        doc.push(Block::Pre {
            title: name.clone(),
            text: text.clone(),
        });
    }
    let files = ds.runs.iter().chain(&ds.trajectories).map(|f| {
        let kv: Vec<String> = f
            .key_values()
            .into_iter()
            .map(|(k, v)| format!("  {k} = {v}"))
            .collect();
        format!(
            "{} ({} rows, {} row groups)\n{}",
            f.path.display(),
            f.rows(),
            f.row_groups(),
            kv.join("\n")
        )
    });
    doc.push(Block::Pre {
        title: "files and their metadata".into(),
        text: files.collect::<Vec<_>>().join("\n\n"),
    });
    doc
}

/// Pushes a table of the first `shown` of `total` rows and, when rows were
/// left out, a line saying where they all are.
fn push_first(
    doc: &mut Vec<Block>,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    total: usize,
    shown: usize,
    what: &str,
    file: &str,
) {
    doc.push(Block::Table { header, rows });
    if total > shown {
        doc.push(Block::Para(format!(
            "First {shown} of {total} {what} shown; every one is in {file}."
        )));
    }
}

/// Too many runs to list: per cell, how many the theorem covers and the
/// quartiles of the per-run gaps.
fn theory_per_cell(a: &Analysis) -> Block {
    let mut header = vec!["cell".to_string(), "runs".into(), "theorem applies".into()];
    header.extend(["max gap", "neuron spread", "R − R*"].map(String::from));
    let defined = |v: f64| v.is_finite().then_some(v);
    let rows = a
        .grid
        .cells
        .iter()
        .take(SUMMARY_ROWS)
        .map(|cell| {
            let rows = || cell.runs.iter().map(|&r| &a.theory[r]);
            let stat = |f: fn(&crate::theory::TheoryRow) -> f64| {
                quartiles(&Quartiles::of(rows().filter_map(|t| defined(f(t)))))
            };
            vec![
                cell.label.clone(),
                cell.runs.len().to_string(),
                rows().filter(|t| t.applies()).count().to_string(),
                stat(|t| t.mean_gap),
                stat(|t| t.neuron_gap),
                stat(|t| t.r - t.r_star),
            ]
        })
        .collect();
    Block::Table { header, rows }
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn markdown(doc: &[Block]) -> String {
    let mut out = String::new();
    let mut first = true;
    for b in doc {
        match b {
            Block::Heading(h) => {
                out += &format!("{} {h}\n\n", if first { "#" } else { "##" });
                first = false;
            }
            Block::Subheading(h) => out += &format!("### {h}\n\n"),
            Block::Para(p) => out += &format!("{p}\n\n"),
            Block::Table { header, rows } => {
                out += &format!(
                    "| {} |\n",
                    header
                        .iter()
                        .map(|h| md_cell(h))
                        .collect::<Vec<_>>()
                        .join(" | ")
                );
                out += &format!("|{}\n", "---|".repeat(header.len()));
                for r in rows {
                    out += &format!(
                        "| {} |\n",
                        r.iter().map(|c| md_cell(c)).collect::<Vec<_>>().join(" | ")
                    );
                }
                out += "\n";
            }
            Block::Figure {
                stem,
                title,
                caption,
            } => {
                out += &format!(
                    "### {title}\n\n![{title}]({stem}.png)\n\n{caption} ([SVG]({stem}.svg), \
                     [data]({stem}.parquet))\n\n"
                );
            }
            Block::Pre { title, text } => out += &format!("### {title}\n\n```\n{text}\n```\n\n"),
        }
    }
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn html(doc: &[Block]) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>sharpsweep analysis</title>\n<style>\n\
         body{font-family:sans-serif;max-width:1400px;margin:2em auto;padding:0 1em;color:#222;\
         overflow-wrap:anywhere}\n\
         table{border-collapse:separate;border-spacing:0;font-size:13px;margin:1em 0;\
         display:block;max-width:100%;overflow-x:auto}\n\
         th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;white-space:nowrap;\
         background:#fff}\n\
         th{background:#f0f0f0}\n\
         th:first-child,td:first-child{position:sticky;left:0;z-index:1;white-space:normal;\
         min-width:10em;max-width:22em}\n\
         figure{margin:1em 0} img{max-width:100%;height:auto;border:1px solid #ddd}\n\
         pre{background:#f7f7f7;padding:.8em;overflow-x:auto;font-size:12px}\n</style></head><body>\n",
    );
    let mut first = true;
    for b in doc {
        match b {
            Block::Heading(h) => {
                let tag = if first { "h1" } else { "h2" };
                out += &format!("<{tag}>{}</{tag}>\n", esc(h));
                first = false;
            }
            Block::Subheading(h) => out += &format!("<h3>{}</h3>\n", esc(h)),
            Block::Para(p) => out += &format!("<p>{}</p>\n", esc(p)),
            Block::Table { header, rows } => {
                out += "<table><thead><tr>";
                for h in header {
                    out += &format!("<th>{}</th>", esc(h));
                }
                out += "</tr></thead><tbody>\n";
                for r in rows {
                    out += "<tr>";
                    for c in r {
                        out += &format!("<td>{}</td>", esc(c));
                    }
                    out += "</tr>\n";
                }
                out += "</tbody></table>\n";
            }
            Block::Figure {
                stem,
                title,
                caption,
            } => {
                out += &format!(
                    "<figure><h3>{t}</h3><a href=\"{s}.svg\"><img src=\"{s}.png\" alt=\"{t}\"></a>\
                     <figcaption>{c} (<a href=\"{s}.svg\">SVG</a>, \
                     <a href=\"{s}.parquet\">data</a>)</figcaption></figure>\n",
                    t = esc(title),
                    s = esc(stem),
                    c = esc(caption)
                );
            }
            Block::Pre { title, text } => {
                out += &format!("<h3>{}</h3><pre>{}</pre>\n", esc(title), esc(text));
            }
        }
    }
    out + "</body></html>\n"
}
