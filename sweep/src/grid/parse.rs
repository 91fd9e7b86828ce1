//! From TOML to axes: each key's values, zip groups, replicates, and the
//! top-level defaults, every value type-checked against `RunConfig`.

use super::keys::{Keys, suggest};
use super::round::round;
use crate::error::GridError;
use rayon::prelude::*;
use serde_json::Value as Json;
use std::collections::HashSet;
use toml::Value as Toml;

/// Keys of a `[[grid]]` table that are not `RunConfig` fields.
pub(crate) const SEEDS: &str = "seeds";
pub(crate) const ZIP: &str = "zip";
/// Top-level keys that are not `RunConfig` fields.
pub(crate) const SEED: &str = "seed";
pub(crate) const GRID: &str = "grid";

/// One key's values, in order; a scalar is an axis of one value.
#[derive(Clone, Debug)]
pub(crate) struct Axis {
    pub key: String,
    /// Where the axis was written (`grid[0].eta`, `--set eta`), for errors.
    pub at: String,
    pub values: Values,
}

/// An axis's values. A range stays its ends and count until the grid's size
/// is known to be within [`MAX_POINTS`](super::MAX_POINTS), so that
/// `num = 10^12` is refused from the counts before anything is built.
#[derive(Clone, Debug)]
pub(crate) enum Values {
    /// Written out (a scalar or a list), each value type-checked and distinct.
    List(Vec<Json>),
    Range(Range),
}

/// `{ lin = [a, b], num = k }` or `{ log = [a, b], num = k }`, checked but
/// not yet expanded.
#[derive(Clone, Debug)]
pub(crate) struct Range {
    a: f64,
    b: f64,
    num: usize,
    log: bool,
    /// The key takes integers only, so every value must be whole.
    integers: bool,
}

impl Axis {
    pub(crate) fn len(&self) -> usize {
        match &self.values {
            Values::List(values) => values.len(),
            Values::Range(r) => r.num,
        }
    }

    /// The values, a range's computed now (call only once the grid's size
    /// is known to be within the limit).
    pub(crate) fn values(&self, keys: &Keys) -> Result<Vec<Json>, GridError> {
        match &self.values {
            Values::List(values) => Ok(values.clone()),
            Values::Range(r) => checked(keys, &self.at, &self.key, r.values(&self.at, &self.key)?),
        }
    }
}

/// Replicates: `seeds = N` (0..N, kept as a count so that a huge N is
/// refused from the counts) or `seeds = [0, 3, 7]`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Replicates {
    Count(u64),
    List(Vec<u64>),
}

impl Replicates {
    /// The replicate indices of a table without `seeds`.
    pub(crate) const ONE: Replicates = Replicates::Count(1);

    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Count(n) => usize::try_from(*n).unwrap_or(usize::MAX),
            Self::List(list) => list.len(),
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        let (count, list) = match self {
            Self::Count(n) => (*n, &[][..]),
            Self::List(list) => (0, &list[..]),
        };
        (0..count).chain(list.iter().copied())
    }
}

/// Axes that vary together (a zip group); a lone axis is a group of one.
#[derive(Clone, Debug)]
pub(crate) struct Group {
    pub axes: Vec<Axis>,
}

impl Group {
    pub(crate) fn len(&self) -> usize {
        self.axes[0].len()
    }
}

/// One table's axes and replicates (`None`: not given here).
#[derive(Clone, Debug, Default)]
pub(crate) struct Spec {
    pub groups: Vec<Group>,
    pub seeds: Option<Replicates>,
}

impl Spec {
    pub(crate) fn mentions(&self, key: &str) -> bool {
        self.groups
            .iter()
            .any(|g| g.axes.iter().any(|a| a.key == key))
    }

    /// Sets `axis`'s key to its values as an axis of its own, taking it out
    /// of any zip group it was part of.
    pub(crate) fn set(&mut self, axis: Axis) {
        for g in &mut self.groups {
            g.axes.retain(|a| a.key != axis.key);
        }
        self.groups.retain(|g| !g.axes.is_empty());
        self.groups.push(Group { axes: vec![axis] });
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
                && first.len() != axis.len()
            {
                return Err(GridError::new(
                    at,
                    format!(
                        "zipped axes differ in length: {} has {} values, {} has {}",
                        first.key,
                        first.len(),
                        axis.key,
                        axis.len()
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
pub(crate) fn seeds(at: &str, value: &Toml) -> Result<Replicates, GridError> {
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
        Toml::Integer(n) if *n >= 1 => return Ok(Replicates::Count(*n as u64)),
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
    let mut seen = HashSet::with_capacity(list.len());
    if let Some(r) = list.iter().find(|&&r| !seen.insert(r)) {
        return Err(GridError::new(at, format!("replicate {r} is listed twice")));
    }
    Ok(Replicates::List(list))
}

/// One key's values: a scalar, a list, or a range (`zipped`: not a scalar).
pub(crate) fn axis(
    keys: &Keys,
    at: &str,
    key: &str,
    value: &Toml,
    zipped: bool,
) -> Result<Axis, GridError> {
    let list = match value {
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
        Toml::Table(table) => {
            return Ok(Axis {
                key: key.to_owned(),
                at: at.to_owned(),
                values: Values::Range(range(keys, at, key, table)?),
            });
        }
        _ if zipped => {
            return Err(GridError::new(
                at,
                format!("a zipped key needs a list or a range, got {}", show(value)),
            ));
        }
        _ => vec![scalar(at, value)?],
    };
    Ok(Axis {
        key: key.to_owned(),
        at: at.to_owned(),
        values: Values::List(checked(keys, at, key, list)?),
    })
}

/// `values` if each is of a type `key` takes and none is listed twice
/// (found by sorting: a long axis costs O(n log n); numbers strictly
/// increasing or decreasing, as a range's are, cannot repeat).
fn checked(keys: &Keys, at: &str, key: &str, values: Vec<Json>) -> Result<Vec<Json>, GridError> {
    // A float key takes every number: its long ranges need no check per value.
    let any_number = keys.takes_any_number(key);
    for v in values.iter().filter(|v| !(any_number && v.is_number())) {
        keys.check(key, v)
            .map_err(|e| GridError::new(at, e.to_string()))?;
    }
    if strictly_monotone(&values, |a, b| a < b) || strictly_monotone(&values, |a, b| a > b) {
        return Ok(values);
    }
    let mut idents: Vec<(Ident, usize)> = values.iter().map(ident).zip(0..).collect();
    idents.par_sort_unstable();
    let again = idents
        .windows(2)
        .filter(|w| w[0].0 == w[1].0)
        .map(|w| w[1].1)
        .min();
    match again {
        Some(i) => Err(GridError::new(
            at,
            format!("value {} is listed twice", values[i]),
        )),
        None => Ok(values),
    }
}

/// Whether `values` are numbers, each after the one before in `order`.
fn strictly_monotone(values: &[Json], order: fn(f64, f64) -> bool) -> bool {
    values
        .windows(2)
        .all(|w| match (w[0].as_f64(), w[1].as_f64()) {
            (Some(a), Some(b)) => order(a, b),
            _ => false,
        })
}

/// A value as a run sees it: a number by its f64 (so `1` and `1.0`, `0.0`
/// and `-0.0` are one value, as they are one run), anything else by its
/// JSON text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Ident {
    Number(u64),
    Other(String),
}

pub(crate) fn ident(v: &Json) -> Ident {
    match v.as_f64() {
        Some(x) => Ident::Number((x + 0.0).to_bits()),
        None => Ident::Other(v.to_string()),
    }
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
fn range(keys: &Keys, at: &str, key: &str, table: &toml::Table) -> Result<Range, GridError> {
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
    Ok(Range {
        a,
        b,
        num,
        log,
        integers: keys.takes_integers_only(key),
    })
}

impl Range {
    /// The `num` values from a to b, evenly spaced (in the logarithm for a
    /// log range), rounded to [`RANGE_DIGITS`](round::RANGE_DIGITS); the ends exact.
    fn values(&self, at: &str, key: &str) -> Result<Vec<Json>, GridError> {
        let Range {
            a,
            b,
            num,
            log,
            integers,
        } = *self;
        let (lo, hi) = if log { (a.log10(), b.log10()) } else { (a, b) };
        // Rounding prints each value: on every core, for a long range.
        let xs: Vec<f64> = (0..num)
            .into_par_iter()
            .map(|i| {
                let t = if num == 1 {
                    lo
                } else {
                    lo + (hi - lo) * i as f64 / (num - 1) as f64
                };
                match (i, log) {
                    (0, _) => a,
                    (i, _) if i == num - 1 => b,
                    (_, true) => round(10f64.powf(t)),
                    (_, false) => round(t),
                }
            })
            .collect();
        let whole = |x: f64| x.fract() == 0.0 && x.abs() < 2f64.powi(53);
        if let Some(&x) = xs
            .iter()
            .find(|&&x| !whole(x) && (integers || !x.is_finite()))
        {
            if integers {
                return Err(GridError::new(
                    at,
                    format!(
                        "the range gives {x}, but {key} takes integers (choose ends and num so every step is whole)"
                    ),
                ));
            }
            finite(at, x)?;
        }
        Ok(xs
            .into_par_iter()
            .map(|x| {
                if whole(x) {
                    Json::from(x as i64)
                } else {
                    Json::from(x)
                }
            })
            .collect())
    }
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
