//! From axes to points: the product of each table's groups, times its
//! replicates, every point built and validated as a `RunConfig`.

use super::Point;
use super::files::Files;
use super::keys::Keys;
use super::memory::{Shape, shape};
use super::parse::{Axis, Group, Ident, Replicates, SEED, SEEDS, Spec, ident, path};
use crate::error::GridError;
use rayon::prelude::*;
use serde_json::Value as Json;
use sharpsweep_core::Source;
use sharpsweep_core::lanes::LaneKey;
use sharpsweep_core::run_id::RunIds;
use sharpsweep_core::{CoreError, RunConfig, RunId};
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

/// More points than this is almost surely a mistake (and would not fit in
/// memory as a list of configurations).
pub const MAX_POINTS: usize = 10_000_000;

/// The seed of replicate `r` of a grid with base seed `grid_seed`: SplitMix64
/// of `grid_seed ^ (r + 1)·φ` (φ = 0x9e3779b97f4a7c15, the golden ratio in
/// 64 bits). It depends on nothing else, so points that differ only in η or σ
/// share their data, labels and initialisation for the same replicate
/// (common random numbers), and distinct replicates get unrelated streams.
pub fn replicate_seed(grid_seed: u64, replicate: u64) -> u64 {
    const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut z = (grid_seed ^ GOLDEN.wrapping_mul(replicate.wrapping_add(1))).wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// What a grid expands into: its points, each table's axes (from which a
/// point's configuration is built again when it is wanted), one
/// configuration of each shape the points have, the files read, and every
/// key's distinct values.
pub(crate) struct Expansion {
    pub points: Vec<Point>,
    pub tables: Vec<Table>,
    pub shapes: Vec<RunConfig>,
    pub files: Files,
    pub distinct: Distinct,
}

/// Every table's points in file order. Within a table, groups nest in
/// `RunConfig`'s field order (the first field outermost, a zip group where
/// its first field stands) and replicates vary fastest. The size is checked
/// from the counts before anything is built; a point's configuration is
/// built, completed from its files and validated once for all its
/// replicates, on every core, in jobs of consecutive points (a combination
/// is found from its index, so the result does not depend on which thread
/// builds it). A configuration is kept only long enough to hash its run id
/// and note its shape: 10^6 points then take tens of MB, not the hundreds
/// that a `RunConfig` each would.
pub(crate) fn points(keys: &Keys, grid_seed: u64, specs: &[Spec]) -> Result<Expansion, GridError> {
    let total = size(specs)?;
    let mut points: Vec<Point> = Vec::with_capacity(total);
    let files = Mutex::new(Files::default());
    let mut distinct = Distinct::new(keys);
    let mut shapes = Shapes::default();
    let mut tables = Vec::with_capacity(specs.len());
    for (t, spec) in specs.iter().enumerate() {
        let replicates = spec.seeds.as_ref().unwrap_or(&Replicates::ONE);
        let table = Table::new(keys, t, spec, points.len(), replicates)?;
        distinct.add_table(&table.axes, &table.values, replicates);
        let len = table.combinations * table.replicates.len();
        let placeholder = Point {
            index: 0,
            run_id: RunId(0),
            table: t,
            replicate: 0,
            shape: 0,
        };
        points.resize(table.start + len, placeholder);
        let jobs: Vec<Result<Vec<(Kind, RunConfig)>, GridError>> = points[table.start..]
            .par_chunks_mut(JOB)
            .enumerate()
            .map_init(RunIds::default, |ids, (k, job)| {
                table.job(keys, grid_seed, &files, ids, k * JOB, job)
            })
            .collect();
        // The earliest failure: jobs are in order, and a job stops at its first.
        for (k, job) in jobs.into_iter().enumerate() {
            let global: Vec<usize> = job?
                .into_iter()
                .map(|(kind, config)| shapes.index(kind, config))
                .collect();
            if global.iter().enumerate().any(|(local, &g)| local != g) {
                let from = table.start + k * JOB;
                for p in &mut points[from..(table.start + len).min(from + JOB)] {
                    p.shape = global[p.shape];
                }
            }
        }
        for p in &points[table.start..] {
            distinct.add_sizes(&shapes.configs[p.shape]);
        }
        tables.push(table);
    }
    refuse_duplicates(&points)?;
    Ok(Expansion {
        points,
        tables,
        shapes: shapes.configs,
        files: files.into_inner().unwrap_or_else(|p| p.into_inner()),
        distinct,
    })
}

/// Points built together by one thread: enough that merging the jobs'
/// shapes costs nothing, few enough that every core gets some.
const JOB: usize = 4096;

/// Points given their run ids together (a multiple of the group hashed at once).
const RUN_ID_CHUNK: usize = 64;

/// What [`Grid::shape`](super::Grid::shape) promises a point's shape
/// shares with its configuration: what the memory check reads (sizes, steps,
/// log schedule, Hessian) and what groups runs into lanes (algorithm,
/// activation). The cost, the memory estimate and the wall-time estimate
/// depend on nothing else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Kind {
    memory: Shape,
    lanes: LaneKey,
}

impl Kind {
    fn of(c: &RunConfig) -> Self {
        Self {
            memory: shape(c),
            lanes: LaneKey::of(c),
        }
    }
}

/// The grid's shapes, each by the configuration of its first point.
#[derive(Default)]
struct Shapes {
    index: HashMap<Kind, usize>,
    configs: Vec<RunConfig>,
}

impl Shapes {
    /// The index of `kind`, `config` becoming its configuration if new.
    fn index(&mut self, kind: Kind, config: RunConfig) -> usize {
        *self.index.entry(kind).or_insert_with(|| {
            self.configs.push(config);
            self.configs.len() - 1
        })
    }
}

/// One `[[grid]]` table's axes in nesting order, their values, and where
/// its points stand in the grid.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Table {
    at: String,
    t: usize,
    /// The axes' keys and values.
    axes: Vec<String>,
    values: Vec<Vec<Json>>,
    /// Each axis's group (its digit in a combination's mixed-radix index).
    digit: Vec<usize>,
    /// Each group's length and the product of the lengths after it.
    lens: Vec<usize>,
    strides: Vec<usize>,
    /// The product of the groups' lengths.
    combinations: usize,
    /// Its replicates, and the index of its first point in the grid.
    replicates: Vec<u64>,
    start: usize,
}

impl Table {
    fn new(
        keys: &Keys,
        t: usize,
        spec: &Spec,
        start: usize,
        replicates: &Replicates,
    ) -> Result<Self, GridError> {
        let mut groups: Vec<&Group> = spec.groups.iter().collect();
        groups.sort_by_key(|g| g.axes.iter().filter_map(|a| keys.position(&a.key)).min());
        let axes: Vec<&Axis> = groups.iter().flat_map(|g| &g.axes).collect();
        let values = axes
            .iter()
            .map(|a| a.values(keys))
            .collect::<Result<_, _>>()?;
        let digit = groups
            .iter()
            .enumerate()
            .flat_map(|(i, g)| g.axes.iter().map(move |_| i))
            .collect();
        let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
        let mut strides = vec![1; lens.len()];
        for i in (1..lens.len()).rev() {
            strides[i - 1] = strides[i] * lens[i];
        }
        Ok(Self {
            at: format!("grid[{t}]"),
            t,
            axes: axes.iter().map(|a| a.key.clone()).collect(),
            values,
            digit,
            combinations: lens.iter().product(),
            lens,
            strides,
            replicates: replicates.iter().collect(),
            start,
        })
    }

    /// Which value of group `g` combination `i` takes: the last group
    /// varies fastest.
    fn choice(&self, i: usize, g: usize) -> usize {
        i / self.strides[g] % self.lens[g]
    }

    /// Whether the table sets `key`.
    fn mentions(&self, key: &str) -> bool {
        self.axes.iter().any(|a| a == key)
    }

    /// Writes the table's points from its `from`-th on into `job`, their
    /// run ids hashed by `ids`; returns their shapes in order of first
    /// appearance (which the points' `shape` indexes), or the first
    /// combination that fails.
    fn job(
        &self,
        keys: &Keys,
        grid_seed: u64,
        files: &Mutex<Files>,
        ids: &mut RunIds,
        from: usize,
        job: &mut [Point],
    ) -> Result<Vec<(Kind, RunConfig)>, GridError> {
        let r = self.replicates.len();
        let js = from..from + job.len();
        let mut shapes = Vec::new();
        let mut kinds: HashMap<Kind, usize> = HashMap::new();
        let mut last: Option<(Kind, usize)> = None;
        // A combination's configuration, built once for its replicates.
        let mut built: Option<(usize, RunConfig)> = None;
        let mut sized = None;
        let mut configs: Vec<RunConfig> = Vec::with_capacity(RUN_ID_CHUNK);
        let mut run_ids = [RunId(0); RUN_ID_CHUNK];
        for first in js.clone().step_by(RUN_ID_CHUNK) {
            let chunk = first..js.end.min(first + RUN_ID_CHUNK);
            for j in chunk.clone() {
                let i = j / r;
                let mut config = match built.take() {
                    Some((b, config)) if b == i => config,
                    _ => self
                        .config(keys, i, files, &mut sized)
                        .map_err(|e| e.at_point(self.start + i * r))?,
                };
                // The last replicate takes the configuration built for them.
                if j % r != r - 1 {
                    built = Some((i, config.clone()));
                }
                config.seed = replicate_seed(grid_seed, self.replicates[j % r]);
                configs.push(config);
            }
            let run_ids = &mut run_ids[..configs.len()];
            ids.of_each(&configs, run_ids);
            for ((j, config), &run_id) in chunk.zip(&configs).zip(run_ids.iter()) {
                // Neighbours mostly share their shape: no hashing for those.
                let kind = Kind::of(config);
                let shape = match last {
                    Some((k, s)) if k == kind => s,
                    _ => *kinds.entry(kind).or_insert_with(|| {
                        shapes.push((kind, config.clone()));
                        shapes.len() - 1
                    }),
                };
                last = Some((kind, shape));
                job[j - from] = Point {
                    index: self.start + j,
                    run_id,
                    table: self.t,
                    replicate: self.replicates[j % r],
                    shape,
                };
            }
            configs.clear();
        }
        Ok(shapes)
    }

    /// Point `p`'s configuration (one of this table's), built again.
    pub(crate) fn point_config(
        &self,
        keys: &Keys,
        grid_seed: u64,
        p: &Point,
        files: &Mutex<Files>,
        sized: &mut Option<Shape>,
    ) -> RunConfig {
        let i = (p.index - self.start) / self.replicates.len();
        let config = self
            .config(keys, i, files, sized)
            .expect("a point's configuration was valid when its grid was expanded");
        RunConfig {
            seed: replicate_seed(grid_seed, p.replicate),
            ..config
        }
    }

    /// Combination `i`'s configuration, completed from its files and
    /// validated; `files` is locked only by configurations that name one.
    /// Its sizes are checked unless they are `sized`, the last ones checked
    /// (neighbours mostly share theirs).
    fn config(
        &self,
        keys: &Keys,
        i: usize,
        files: &Mutex<Files>,
        sized: &mut Option<Shape>,
    ) -> Result<RunConfig, GridError> {
        let at = self.at.as_str();
        let set = self
            .axes
            .iter()
            .zip(&self.values)
            .zip(&self.digit)
            .map(|((key, v), &g)| (key.as_str(), &v[self.choice(i, g)]));
        let mut config = keys
            .build(set)
            .map_err(|e| GridError::new(at, e.to_string()))?;
        if names_a_file(&config) {
            let mut files = files.lock().unwrap_or_else(|p| p.into_inner());
            files
                .complete(&mut config, |key| self.mentions(key))
                .map_err(|e| invalid(at, &e))?;
            validate(&config, sized).map_err(|e| invalid(at, &e))?;
            files.check(&config).map_err(|e| invalid(at, &e))?;
        } else {
            validate(&config, sized).map_err(|e| invalid(at, &e))?;
        }
        Ok(config)
    }
}

/// `config.validate()`, its sizes checked only if they are not `sized`
/// (which they then become).
fn validate(config: &RunConfig, sized: &mut Option<Shape>) -> Result<(), CoreError> {
    config.validate_settings()?;
    let shape = shape(config);
    if sized.as_ref() != Some(&shape) {
        config.validate_sizes()?;
        *sized = Some(shape);
    }
    Ok(())
}

/// Whether a configuration reads data, labels, an initialisation or a
/// second layer from a file.
fn names_a_file(c: &RunConfig) -> bool {
    matches!(c.data, Source::File(_))
        || matches!(c.labels, Source::File(_))
        || matches!(c.init, Source::File(_))
        || matches!(c.outer, Source::File(_))
}

/// The first point (in grid order) that is the same run as an earlier one,
/// found by sorting the run_ids: O(n log n) however long the grid. Only
/// the ids are sorted (a grid has no duplicate almost always); the points
/// are searched for the repeat once one is known to exist.
fn refuse_duplicates(points: &[Point]) -> Result<(), GridError> {
    let mut ids: Vec<RunId> = points.par_iter().map(|p| p.run_id).collect();
    ids.par_sort_unstable();
    let repeated: HashSet<RunId> = ids
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    if repeated.is_empty() {
        return Ok(());
    }
    // The first point whose run came before, and that run's first point.
    let mut first: HashMap<RunId, usize> = HashMap::new();
    let (p, q) = points
        .iter()
        .filter(|q| repeated.contains(&q.run_id))
        .find_map(|q| match first.entry(q.run_id) {
            Entry::Occupied(p) => Some((&points[*p.get()], q)),
            Entry::Vacant(v) => {
                v.insert(q.index);
                None
            }
        })
        .expect("a repeated run_id repeats a point");
    Err(GridError::new(
        format!("grid[{}]", q.table),
        format!(
            "duplicate point: the same run (run_id {}) as point {} of grid[{}]",
            q.run_id, p.index, p.table
        ),
    )
    .at_point(q.index))
}

/// The number of points, from the axes' and replicates' counts alone, or
/// the error naming what makes it more than [`MAX_POINTS`].
fn size(specs: &[Spec]) -> Result<usize, GridError> {
    let mut total: usize = 0;
    for (t, spec) in specs.iter().enumerate() {
        let replicates = spec.seeds.as_ref().unwrap_or(&Replicates::ONE).len();
        let size = spec
            .groups
            .iter()
            .try_fold(replicates, |n, g| n.checked_mul(g.len()));
        match size.and_then(|n| total.checked_add(n)) {
            Some(n) if n <= MAX_POINTS => total = n,
            _ => return Err(too_many(t, spec, replicates, total)),
        }
    }
    Ok(total)
}

/// `grid[0].eta: 1000000000000 values, …` when one axis alone is too
/// long, else the factors of the table's size.
fn too_many(t: usize, spec: &Spec, replicates: usize, before: usize) -> GridError {
    let limit = format!("more than the {MAX_POINTS} points a grid may have");
    if let Some(axis) = spec
        .groups
        .iter()
        .map(|g| &g.axes[0])
        .find(|a| a.len() > MAX_POINTS)
    {
        return GridError::new(&axis.at, format!("{} values, {limit}", axis.len()));
    }
    if replicates > MAX_POINTS {
        return GridError::new(
            path(&format!("grid[{t}]"), SEEDS),
            format!("{replicates} replicates, {limit}"),
        );
    }
    let mut factors: Vec<String> = spec
        .groups
        .iter()
        .filter(|g| g.len() > 1)
        .map(|g| {
            let keys: Vec<&str> = g.axes.iter().map(|a| a.key.as_str()).collect();
            format!("{} ({})", keys.join("+"), g.len())
        })
        .collect();
    if replicates > 1 {
        factors.push(format!("{SEEDS} ({replicates})"));
    }
    let earlier = if before > 0 {
        format!(", with the {before} of the tables before it,")
    } else {
        String::new()
    };
    GridError::new(
        format!("grid[{t}]"),
        format!("{}{earlier} make {limit}", factors.join(" × ")),
    )
}

/// Every key's distinct values over the grid: what `--dry-run` calls the
/// varying keys.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Distinct {
    defaults: serde_json::Map<String, Json>,
    /// Per key, the values of every table (with repeats).
    values: BTreeMap<String, Seen>,
    /// The last n, d, m added, so a run of equal sizes adds nothing.
    last: [Option<usize>; 3],
    /// The replicates: 0 up to the largest count given, and those listed.
    counted: u64,
    listed: Vec<u64>,
}

/// A key's values (with repeats) by their [`Ident`]: a number's bits, or
/// the text of anything else.
#[derive(Clone, Debug, Default, PartialEq)]
struct Seen {
    numbers: Vec<u64>,
    others: Vec<String>,
}

impl Seen {
    fn add(&mut self, value: &Json) {
        match ident(value) {
            Ident::Number(bits) => self.numbers.push(bits),
            Ident::Other(text) => self.others.push(text),
        }
    }
}

/// The keys a point may take from its files (n, d from data, m from init).
const SIZES: [&str; 3] = ["n", "d", "m"];

impl Distinct {
    fn new(keys: &Keys) -> Self {
        let Ok(Json::Object(defaults)) = serde_json::to_value(RunConfig::default()) else {
            unreachable!("a RunConfig serialises as a JSON object")
        };
        let values = keys
            .names()
            .filter(|&k| k != SEED)
            .map(|k| (k.to_owned(), Seen::default()))
            .collect();
        Self {
            defaults,
            values,
            last: [None; 3],
            counted: 0,
            listed: Vec::new(),
        }
    }

    /// A table's values: its axes', and the defaults of the keys it does
    /// not set (but n, d, m: [`Distinct::add_sizes`] takes them per point),
    /// and its replicates.
    fn add_table(&mut self, axes: &[String], values: &[Vec<Json>], replicates: &Replicates) {
        for (key, seen) in &mut self.values {
            match axes.iter().position(|a| a == key) {
                Some(i) => values[i].iter().for_each(|v| seen.add(v)),
                None if SIZES.contains(&key.as_str()) => {}
                // A key written only when set (`stop_when`) defaults to null.
                None => seen.add(self.defaults.get(key).unwrap_or(&Json::Null)),
            }
        }
        match replicates {
            Replicates::Count(n) => self.counted = self.counted.max(*n),
            Replicates::List(list) => self.listed.extend(list),
        }
    }

    fn add_sizes(&mut self, config: &RunConfig) {
        let sizes = [config.n, config.d, config.m];
        for ((key, value), last) in SIZES.iter().zip(sizes).zip(&mut self.last) {
            if *last != Some(value) {
                *last = Some(value);
                let seen = self.values.get_mut(*key).expect("n, d, m are keys");
                seen.add(&Json::from(value));
            }
        }
    }

    /// The number of distinct values of `key`: numbers sorted by their
    /// bits (a long axis has 10^6), the rest by their text.
    pub(crate) fn count(&self, key: &str) -> usize {
        let Some(values) = self.values.get(key) else {
            return 1;
        };
        let mut numbers = values.numbers.clone();
        let mut others: Vec<&String> = values.others.iter().collect();
        numbers.par_sort_unstable();
        numbers.dedup();
        others.sort_unstable();
        others.dedup();
        numbers.len() + others.len()
    }

    /// The number of distinct replicates.
    pub(crate) fn replicates(&self) -> usize {
        let mut listed: Vec<u64> = self
            .listed
            .iter()
            .copied()
            .filter(|&r| r >= self.counted)
            .collect();
        listed.sort_unstable();
        listed.dedup();
        usize::try_from(self.counted).unwrap_or(usize::MAX) + listed.len()
    }
}

/// `RunConfig::validate`'s `eta: must be …` as `grid[1].eta: must be …`.
fn invalid(at: &str, e: &CoreError) -> GridError {
    let text = e.to_string();
    match e.field() {
        Some(field) => {
            let message = text.strip_prefix(&format!("{field}: ")).unwrap_or(&text);
            GridError::new(path(at, field), message)
        }
        None => GridError::new(at, text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_vary_the_last_group_fastest() {
        let keys = Keys::new();
        let grid = "[[grid]]\neta = [0.01, 0.02]\nsigma = [0.1, 0.2, 0.3]\n";
        let doc: toml::Table = toml::from_str(grid).unwrap();
        let Some(toml::Value::Array(tables)) = doc.get("grid") else {
            unreachable!()
        };
        let toml::Value::Table(table) = &tables[0] else {
            unreachable!()
        };
        let spec = super::super::parse::spec(&keys, "grid[0]", table.iter()).unwrap();
        let table = Table::new(&keys, 0, &spec, 0, &Replicates::ONE).unwrap();
        assert_eq!(table.combinations, 6);
        let seen: Vec<Vec<usize>> = (0..6)
            .map(|i| (0..2).map(|g| table.choice(i, g)).collect())
            .collect();
        assert_eq!(seen[1], [0, 1]);
        assert_eq!(seen[3], [1, 0]);
        assert_eq!(seen[5], [1, 2]);
    }

    #[test]
    fn replicate_seeds_are_fixed_and_distinct() {
        // Pinned: changing the mixing function changes every run_id.
        // Replicate 0 of seed 0 mixes 2φ: the second output of SplitMix64 from 0.
        assert_eq!(replicate_seed(0, 0), 0x6e78_9e6a_a1b9_65f4);
        let seeds: std::collections::HashSet<_> = (0..1000)
            .flat_map(|r| [replicate_seed(0, r), replicate_seed(1, r)])
            .collect();
        assert_eq!(seeds.len(), 2000);
    }
}
