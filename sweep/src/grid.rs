//! Grids of runs: a TOML file of axes (scalars, lists, ranges, zip groups,
//! replicates) expanded into validated points, each a [`RunConfig`] with its
//! [`RunId`]. The format is described in docs/grid.md; [`EXAMPLE`] is a
//! commented example.
//!
//! A point holds its run id and place, not its configuration: 10^6 of
//! those would take hundreds of MB. [`Grid::config`] builds a point's
//! configuration again from its table's axes; [`Grid::shape`] gives, without
//! building anything, a configuration that agrees with it in all that the
//! cost, memory and wall-time estimates read.
//!
//! The grid's keys are `RunConfig`'s fields, read from it through serde, so a
//! field added to `RunConfig` is a grid key without any change here.

mod expand;
mod files;
mod keys;
mod memory;
mod overrides;
mod parse;
mod round;

pub use crate::error::GridError;
pub use expand::{MAX_POINTS, replicate_seed};
pub use memory::worker_threads;

use keys::Keys;
use parse::{GRID, SEED, SEEDS};
use rayon::prelude::*;
use sharpsweep_core::{RunConfig, RunId};
use std::sync::Mutex;
use toml::Value as Toml;

/// The embedded example grid, documented field by field
/// (`sharpsweep sweep --example`).
pub const EXAMPLE: &str = include_str!("grid/example.toml");

/// An expanded, validated grid.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    /// The base seed replicate seeds are mixed from ([`replicate_seed`]).
    pub seed: u64,
    /// Every point, `[[grid]]` tables in file order.
    pub points: Vec<Point>,
    /// The number of `[[grid]]` tables.
    pub tables: usize,
    /// The grid as written: the TOML document as JSON, with the `--set`
    /// overrides under `"set"`. Every part of its dataset records it.
    pub definition: serde_json::Value,
    /// Every key's distinct values, for `--dry-run`'s varying keys.
    distinct: expand::Distinct,
    keys: Keys,
    /// Each table's axes, which the points' configurations are built from…
    layouts: Vec<expand::Table>,
    /// …the files they read…
    files: files::Files,
    /// …and one configuration of each shape ([`Grid::shape`]).
    shapes: Vec<RunConfig>,
}

/// One run of the grid; [`Grid::config`] is its configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// Position in the expanded grid (0-based; what errors and `--dry-run` show).
    pub index: usize,
    pub run_id: RunId,
    /// The `[[grid]]` table it comes from (0-based, `grid[table]`).
    pub table: usize,
    /// Its replicate index; its configuration's seed is
    /// `replicate_seed(grid.seed, replicate)`.
    pub replicate: u64,
    /// Its shape's index in the grid's shapes.
    shape: usize,
}

impl Grid {
    /// Parses TOML text, applies `--set key=value[,value…]` overrides,
    /// expands and validates every point. Nothing about the grid is left to
    /// fail later: the error is one line naming the key (and point).
    pub fn from_toml(text: &str, overrides: &[String]) -> Result<Grid, GridError> {
        let keys = Keys::new();
        let doc: toml::Table = toml::from_str(text).map_err(|e| syntax(text, &e))?;
        let mut seed = match doc.get(SEED) {
            None => 0,
            Some(v) => base_seed(SEED, v)?,
        };
        let tables = match doc.get(GRID) {
            Some(Toml::Array(tables)) if !tables.is_empty() => tables,
            Some(Toml::Table(_)) => {
                return Err(GridError::new(
                    GRID,
                    "write [[grid]] (a list of tables), not [grid]",
                ));
            }
            Some(Toml::Array(_)) | None => {
                return Err(GridError::new(
                    GRID,
                    "no [[grid]] table: add one, e.g. [[grid]] then eta = [0.02, 0.05]",
                ));
            }
            Some(other) => {
                return Err(GridError::new(
                    GRID,
                    format!("expected [[grid]] tables, got {}", parse::show(other)),
                ));
            }
        };
        let defaults = parse::spec(
            &keys,
            "",
            doc.iter().filter(|(k, _)| *k != SEED && *k != GRID),
        )?;
        let mut specs = Vec::with_capacity(tables.len());
        for (i, table) in tables.iter().enumerate() {
            let Toml::Table(table) = table else {
                return Err(GridError::new(
                    GRID,
                    format!("expected [[grid]] tables, got {}", parse::show(table)),
                ));
            };
            specs.push(
                parse::spec(&keys, &format!("grid[{i}]"), table.iter())?.with_defaults(&defaults),
            );
        }
        for text in overrides {
            let o = overrides::parse(&keys, text)?;
            match o.key.as_str() {
                SEED => seed = base_seed(&o.at, &o.value)?,
                SEEDS => {
                    let seeds = parse::seeds(&o.at, &o.value)?;
                    for spec in &mut specs {
                        spec.seeds = Some(seeds.clone());
                    }
                }
                key => {
                    let axis = parse::axis(&keys, &o.at, key, &o.value, false)?;
                    for spec in &mut specs {
                        spec.set(axis.clone());
                    }
                }
            }
        }
        let expanded = expand::points(&keys, seed, &specs)?;
        let mut definition = serde_json::to_value(&doc).expect("TOML is JSON");
        if !overrides.is_empty() {
            definition["set"] = serde_json::Value::from(overrides.to_vec());
        }
        Ok(Grid {
            seed,
            points: expanded.points,
            tables: specs.len(),
            definition,
            distinct: expanded.distinct,
            keys,
            layouts: expanded.tables,
            files: expanded.files,
            shapes: expanded.shapes,
        })
    }

    /// Point `p`'s configuration, built again from its table's axes (as it
    /// was when the grid was expanded, the files' shapes as read then).
    pub fn config(&self, p: &Point) -> RunConfig {
        let files = Mutex::new(self.files.clone());
        self.layouts[p.table].point_config(&self.keys, self.seed, p, &files, &mut None)
    }

    /// Every point's configuration, in order, built on every core.
    pub fn configs(&self) -> Vec<RunConfig> {
        let files = Mutex::new(self.files.clone());
        self.points
            .par_iter()
            .map_init(
                || None,
                |sized, p| {
                    self.layouts[p.table].point_config(&self.keys, self.seed, p, &files, sized)
                },
            )
            .collect()
    }

    /// A configuration of point `p`'s shape: the same as `p`'s own in its
    /// sizes (m, d, n, batch), steps, log schedule, Hessian, algorithm and
    /// activation (what [`cost`], the memory estimate, lane grouping and
    /// the wall-time estimate read), not necessarily in anything else (η, σ,
    /// seed…). Points mostly share a few shapes, so this builds nothing.
    pub fn shape(&self, p: &Point) -> &RunConfig {
        &self.shapes[p.shape]
    }

    /// The identity of the expanded grid: FNV-1a (64 bit) over the sorted
    /// run_ids, as 16 hex digits. Independent of point order, so reordering
    /// a grid file keeps its dataset.
    pub fn fingerprint(&self) -> String {
        let mut ids: Vec<RunId> = self.points.iter().map(|p| p.run_id).collect();
        ids.par_sort_unstable();
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for id in ids {
            for b in id.0.to_le_bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        format!("{h:016x}")
    }

    /// The expanded grid as JSON, the provenance a dataset keeps beside its
    /// Parquet files: `seed`, `fingerprint`, `tables`, the `definition`
    /// the points expand from, and `points`, one a line, each with its
    /// `index`, `run_id`, `table` and `replicate`. A point's whole
    /// configuration is not repeated here: the definition gives it, and a
    /// finished run's `config` column holds it; listed in full, 10⁶ points
    /// made an 850 MB file that took seconds to write before a sweep began.
    pub fn to_json(&self) -> String {
        use std::fmt::Write;
        let mut out = format!(
            "{{\"seed\": {}, \"fingerprint\": \"{}\", \"tables\": {},\n\"definition\": {},\n\"points\": [",
            self.seed,
            self.fingerprint(),
            self.tables,
            self.definition
        );
        out.reserve(self.points.len() * 80);
        for (k, p) in self.points.iter().enumerate() {
            let sep = if k == 0 { "\n" } else { ",\n" };
            write!(
                out,
                "{sep}{{\"index\": {}, \"run_id\": \"{}\", \"table\": {}, \"replicate\": {}}}",
                p.index, p.run_id, p.table, p.replicate
            )
            .expect("writing to a String");
        }
        out += "\n]}";
        out
    }

    /// What `--dry-run` prints: the number of points, the total cost
    /// estimate, the keys that vary, and the first `first` points, one line
    /// each (index, run_id, the values of the varying keys).
    pub fn dry_run_summary(&self, first: usize) -> String {
        let varying: Vec<(&str, usize)> = self
            .keys
            .names()
            .filter(|&k| k != SEED)
            .map(|k| (k, self.distinct.count(k)))
            .filter(|&(_, n)| n > 1)
            .collect();
        let total_cost: f64 = self.points.iter().map(|p| cost(self.shape(p))).sum();
        let mut out = format!(
            "{} points in {} [[grid]] table{}, cost estimate {:.3e} (sum of steps·m·d·batch)\n",
            self.points.len(),
            self.tables,
            if self.tables == 1 { "" } else { "s" },
            total_cost
        );
        let mut axes: Vec<String> = varying.iter().map(|(k, n)| format!("{k} ({n})")).collect();
        axes.push(format!("replicates ({})", self.distinct.replicates()));
        out += &format!("varying: {}\n", axes.join(", "));
        for p in self.points.iter().take(first) {
            let c = serde_json::to_value(self.config(p)).expect("a RunConfig always serialises");
            let mut line = format!("{:>7}  {}", p.index, p.run_id);
            if self.tables > 1 {
                line += &format!("  grid[{}]", p.table);
            }
            for &(k, _) in &varying {
                match &c[k] {
                    serde_json::Value::String(s) => line += &format!("  {k}={s}"),
                    v => line += &format!("  {k}={v}"),
                }
            }
            line += &format!("  replicate={}\n", p.replicate);
            out += &line;
        }
        if self.points.len() > first {
            out += &format!("    … {} more\n", self.points.len() - first);
        }
        out
    }
}

/// The cost estimate of a run for scheduling and `--dry-run`:
/// steps·m·d·B, the multiply-adds of its steps (B = n for the full batch,
/// \[G24\]'s setting, making it steps·m·d·n).
pub fn cost(config: &RunConfig) -> f64 {
    config.steps as f64 * config.m as f64 * config.d as f64 * config.batch() as f64
}

/// The top-level `seed` (or `--set seed=…`).
fn base_seed(at: &str, value: &Toml) -> Result<u64, GridError> {
    match value {
        Toml::Integer(s) if *s >= 0 => Ok(*s as u64),
        other => Err(GridError::new(
            at,
            format!(
                "the base seed must be an integer >= 0, got {}",
                parse::show(other)
            ),
        )),
    }
}

/// A TOML syntax error as one line with its position.
fn syntax(text: &str, e: &toml::de::Error) -> GridError {
    let at = match e.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before.chars().rev().take_while(|&c| c != '\n').count() + 1;
            format!("line {line}, column {column}")
        }
        None => "grid file".to_owned(),
    };
    let message = e.message().trim().replace('\n', "; ");
    GridError::new(at, format!("invalid TOML: {message}"))
}

#[cfg(test)]
mod tests;
