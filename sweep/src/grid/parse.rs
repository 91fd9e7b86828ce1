//! From TOML to axes: each key's values, zip groups, replicates, and the
//! top-level defaults, every value type-checked against `RunConfig`.

use super::keys::{Keys, suggest};
use crate::error::GridError;
use serde_json::Value as Json;
use toml::Value as Toml;

/// Keys of a `[[grid]]` table that are not `RunConfig` fields.
pub(crate) const SEEDS: &str = "seeds";
pub(crate) const ZIP: &str = "zip";
/// Top-level keys that are not `RunConfig` fields.
pub(crate) const SEED: &str = "seed";
pub(crate) const GRID: &str = "grid";

/// Significant digits a range's values are rounded to, so that a grid
/// expands to the same values (and run_ids) whatever the platform's `pow`.
const RANGE_DIGITS: usize = 12;

/// One key's values, in order; a scalar is an axis of one value.
#[derive(Clone, Debug)]
pub(crate) struct Axis {
    pub key: String,
    pub values: Vec<Json>,
}

/// Axes that vary together (a zip group); a lone axis is a group of one.
#[derive(Clone, Debug)]
pub(crate) struct Group {
    pub axes: Vec<Axis>,
}

impl Group {
    pub(crate) fn len(&self) -> usize {
        self.axes[0].values.len()
    }
}

/// One table's axes and replicates (`None`: not given here).
#[derive(Clone, Debug, Default)]
pub(crate) struct Spec {
    pub groups: Vec<Group>,
    pub seeds: Option<Vec<u64>>,
}

impl Spec {
    pub(crate) fn mentions(&self, key: &str) -> bool {
        self.groups
            .iter()
            .any(|g| g.axes.iter().any(|a| a.key == key))
    }

    /// Sets `key` to `values` as an axis of its own, taking it out of any
    /// zip group it was part of.
    pub(crate) fn set(&mut self, key: &str, values: Vec<Json>) {
        for g in &mut self.groups {
            g.axes.retain(|a| a.key != key);
        }
        self.groups.retain(|g| !g.axes.is_empty());
        self.groups.push(Group {
            axes: vec![Axis {
                key: key.to_owned(),
                values,
            }],
        });
    }

    /// This table's axes, completed by the defaults' for keys it does not
    /// mention (in an axis of its own or in a zip group).
    pub(crate) fn with_defaults(mut self, defaults: &Spec) -> Spec {
        for g in &defaults.groups {
            if g.axes.iter().all(|a| !self.mentions(&a.key)) {
                self.groups.push(g.clone());
            }
        }
        self.seeds = self.seeds.or_else(|| defaults.seeds.clone());
        self
    }
}

/// `prefix.key`, or `key` at the top level.
pub(crate) fn path(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// The error for a key that is neither a field nor one of `extra`.
pub(crate) fn unknown_key(keys: &Keys, at: &str, key: &str, extra: &[&str]) -> GridError {
    let names = keys
        .names()
        .filter(|&n| n != SEED)
        .chain(extra.iter().copied());
    let hint = match suggest(key, names) {
        Some(s) => format!(" (did you mean '{s}'?)"),
        None => String::new(),
    };
    GridError::new(at, format!("unknown key '{key}'{hint}"))
}

/// A `[[grid]]` table (`prefix` = `grid[i]`) or the top-level defaults
/// (`prefix` = ""), without the top level's `seed` and `grid`.
pub(crate) fn spec<'a>(
    keys: &Keys,
    prefix: &str,
    entries: impl Iterator<Item = (&'a String, &'a Toml)>,
) -> Result<Spec, GridError> {
    let mut spec = Spec::default();
    let mut zips = Vec::new();
    for (key, value) in entries {
        let at = path(prefix, key);
        match key.as_str() {
            SEEDS => spec.seeds = Some(seeds(&at, value)?),
            ZIP if !prefix.is_empty() => zips.push(value),
            ZIP => {
                return Err(GridError::new(
                    at,
                    "zip groups belong in a [[grid]] table, not at the top level",
                ));
            }
            SEED => {
                return Err(GridError::new(
                    at,
                    "the grid's base seed belongs at the top level; use 'seeds' for replicates",
                ));
            }
            k if keys.position(k).is_some() => spec.groups.push(Group {
                axes: vec![axis(keys, &at, key, value, false)?],
            }),
            _ => {
                let extra: &[&str] = if prefix.is_empty() {
                    &[SEEDS, SEED, GRID]
                } else {
                    &[SEEDS, ZIP]
                };
                let at = if prefix.is_empty() {
                    "top level"
                } else {
                    prefix
                };
                return Err(unknown_key(keys, at, key, extra));
            }
        }
    }
    for value in zips {
        zip_groups(keys, prefix, value, &mut spec)?;
    }
    Ok(spec)
}

/// `zip = [{ eta = [..], sigma = [..] }, …]` (or `[[grid.zip]]` tables):
/// each group's axes vary together and must have equal lengths.
fn zip_groups(keys: &Keys, prefix: &str, value: &Toml, spec: &mut Spec) -> Result<(), GridError> {
    let at = path(prefix, ZIP);
    let Toml::Array(groups) = value else {
        return Err(GridError::new(
            at,
            format!(
                "expected a list of tables like zip = [{{ eta = [..], sigma = [..] }}], got {}",
                kind(value)
            ),
        ));
    };
    if groups.is_empty() {
        return Err(GridError::new(at, "empty list of zip groups"));
    }
    for (j, group) in groups.iter().enumerate() {
        let at = format!("{at}[{j}]");
        let Toml::Table(table) = group else {
            return Err(GridError::new(
                at,
                format!(
                    "expected a table like {{ eta = [..], sigma = [..] }}, got {}",
                    kind(group)
                ),
            ));
        };
        if table.is_empty() {
            return Err(GridError::new(at, "empty zip group"));
        }
        let mut axes: Vec<Axis> = Vec::new();
        for (key, value) in table {
            let key_at = path(&at, key);
            if key == SEEDS || key == SEED {
                return Err(GridError::new(
                    key_at,
                    "replicates cannot be zipped: set seeds in the [[grid]] table",
                ));
            }
            if keys.position(key).is_none() {
                return Err(unknown_key(keys, &at, key, &[]));
            }
            if spec.mentions(key) {
                return Err(GridError::new(
                    key_at,
                    "also set outside this zip group (a key can vary in one place only)",
                ));
            }
            let axis = axis(keys, &key_at, key, value, true)?;
            if let Some(first) = axes.first()
                && first.values.len() != axis.values.len()
            {
                return Err(GridError::new(
                    at,
                    format!(
                        "zipped axes differ in length: {} has {} values, {} has {}",
                        first.key,
                        first.values.len(),
                        axis.key,
                        axis.values.len()
                    ),
                ));
            }
            axes.push(axis);
        }
        spec.groups.push(Group { axes });
    }
    Ok(())
}

/// Replicates: `seeds = 8` (0..8) or `seeds = [0, 3, 7]`.
pub(crate) fn seeds(at: &str, value: &Toml) -> Result<Vec<u64>, GridError> {
    let expected = || {
        GridError::new(
            at,
            format!(
                "expected a number of replicates (seeds = 8) or a list of replicate indices (seeds = [0, 3, 7]), got {}",
                show(value)
            ),
        )
    };
    let index = |v: &Toml| match v {
        Toml::Integer(i) if *i >= 0 => Ok(*i as u64),
        _ => Err(GridError::new(
            at,
            format!("replicate indices are integers >= 0, got {}", show(v)),
        )),
    };
    let list: Vec<u64> = match value {
        Toml::Integer(n) if *n >= 1 => (0..*n as u64).collect(),
        Toml::Integer(n) => {
            return Err(GridError::new(
                at,
                format!("needs at least 1 replicate, got {n}"),
            ));
        }
        Toml::Array(items) if items.is_empty() => {
            return Err(GridError::new(at, "empty list of replicates"));
        }
        Toml::Array(items) => items.iter().map(index).collect::<Result<_, _>>()?,
        _ => return Err(expected()),
    };
    for (i, r) in list.iter().enumerate() {
        if list[..i].contains(r) {
            return Err(GridError::new(at, format!("replicate {r} is listed twice")));
        }
    }
    Ok(list)
}

/// One key's values: a scalar, a list, or a range (`zipped`: not a scalar).
pub(crate) fn axis(
    keys: &Keys,
    at: &str,
    key: &str,
    value: &Toml,
    zipped: bool,
) -> Result<Axis, GridError> {
    let values = match value {
        Toml::Array(items) if items.is_empty() => {
            return Err(GridError::new(
                at,
                "empty list (an axis needs at least one value)",
            ));
        }
        Toml::Array(items) => items
            .iter()
            .map(|v| scalar(at, v))
            .collect::<Result<Vec<_>, _>>()?,
        Toml::Table(table) => range(keys, at, key, table)?,
        _ if zipped => {
            return Err(GridError::new(
                at,
                format!("a zipped key needs a list or a range, got {}", show(value)),
            ));
        }
        _ => vec![scalar(at, value)?],
    };
    for (i, v) in values.iter().enumerate() {
        keys.check(key, v).map_err(|e| GridError::new(at, e))?;
        if values[..i].contains(v) {
            return Err(GridError::new(at, format!("value {v} is listed twice")));
        }
    }
    Ok(Axis {
        key: key.to_owned(),
        values,
    })
}

/// A TOML scalar as the JSON value `RunConfig` deserialises from.
pub(crate) fn scalar(at: &str, value: &Toml) -> Result<Json, GridError> {
    match value {
        Toml::String(s) => Ok(Json::from(s.as_str())),
        Toml::Integer(i) => Ok(Json::from(*i)),
        Toml::Boolean(b) => Ok(Json::from(*b)),
        Toml::Float(x) => finite(at, *x),
        Toml::Datetime(_) | Toml::Array(_) | Toml::Table(_) => Err(GridError::new(
            at,
            format!(
                "expected a number, a string or a boolean, got {}",
                show(value)
            ),
        )),
    }
}

fn finite(at: &str, x: f64) -> Result<Json, GridError> {
    if x.is_finite() {
        Ok(Json::from(x))
    } else {
        Err(GridError::new(
            at,
            format!("must be a finite number, got {x}"),
        ))
    }
}

/// `{ lin = [a, b], num = k }` (k evenly spaced values from a to b) or
/// `{ log = [a, b], num = k }` (k values evenly spaced in log a .. log b).
fn range(keys: &Keys, at: &str, key: &str, table: &toml::Table) -> Result<Vec<Json>, GridError> {
    let form = || {
        GridError::new(
            at,
            "a range is { lin = [a, b], num = k } or { log = [a, b], num = k }",
        )
    };
    let log = match (table.get("lin"), table.get("log")) {
        (Some(_), None) => false,
        (None, Some(_)) => true,
        _ => return Err(form()),
    };
    let kind_key = if log { "log" } else { "lin" };
    if table.len() != 2 || !table.contains_key("num") {
        return Err(form());
    }
    let number = |v: &Toml| match v {
        Toml::Integer(i) => Some(*i as f64),
        Toml::Float(x) if x.is_finite() => Some(*x),
        _ => None,
    };
    let (a, b) = match &table[kind_key] {
        Toml::Array(ends) if ends.len() == 2 => match (number(&ends[0]), number(&ends[1])) {
            (Some(a), Some(b)) => (a, b),
            _ => {
                return Err(GridError::new(
                    path(at, kind_key),
                    "the ends must be finite numbers",
                ));
            }
        },
        other => {
            return Err(GridError::new(
                path(at, kind_key),
                format!("expected two ends [a, b], got {}", show(other)),
            ));
        }
    };
    let num = match &table["num"] {
        Toml::Integer(k) if *k >= 1 => *k as usize,
        other => {
            return Err(GridError::new(
                path(at, "num"),
                format!("must be an integer >= 1, got {}", show(other)),
            ));
        }
    };
    if log && !(a > 0.0 && b > 0.0) {
        return Err(GridError::new(
            path(at, "log"),
            format!("a log range needs ends > 0, got [{a}, {b}]"),
        ));
    }
    let (lo, hi) = if log { (a.log10(), b.log10()) } else { (a, b) };
    let integers = keys.takes_integers_only(key);
    (0..num)
        .map(|i| {
            let t = if num == 1 {
                lo
            } else {
                lo + (hi - lo) * i as f64 / (num - 1) as f64
            };
            let x = match (i, log) {
                (0, _) => a,
                (i, _) if i == num - 1 => b,
                (_, true) => round(10f64.powf(t)),
                (_, false) => round(t),
            };
            if x.fract() == 0.0 && x.abs() < 2f64.powi(53) {
                Ok(Json::from(x as i64))
            } else if integers {
                Err(GridError::new(
                    at,
                    format!(
                        "the range gives {x}, but {key} takes integers (choose ends and num so every step is whole)"
                    ),
                ))
            } else {
                finite(at, x)
            }
        })
        .collect()
}

/// `x` rounded to [`RANGE_DIGITS`] significant digits.
fn round(x: f64) -> f64 {
    format!("{x:.prec$e}", prec = RANGE_DIGITS - 1)
        .parse()
        .expect("a formatted float parses")
}

/// A value as the user wrote it, for messages.
pub(crate) fn show(value: &Toml) -> String {
    match value {
        Toml::String(s) => format!("'{s}'"),
        Toml::Array(_) | Toml::Table(_) => kind(value).to_owned(),
        other => other.to_string(),
    }
}

fn kind(value: &Toml) -> &'static str {
    match value {
        Toml::String(_) => "a string",
        Toml::Integer(_) => "an integer",
        Toml::Float(_) => "a number",
        Toml::Boolean(_) => "a boolean",
        Toml::Datetime(_) => "a date",
        Toml::Array(_) => "a list",
        Toml::Table(_) => "a table",
    }
}
