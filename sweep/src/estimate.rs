//! The wall time a sweep will take, estimated before it runs (`--dry-run`).
//!
//! The cost estimate (steps·m·d·B) ranks points but is no time: a step's
//! time depends on the kernel (one run alone, or a lane group), the
//! activation, the dynamics and the machine. So each distinct shape of the
//! grid is timed here for a moment: a few hundred steps of one run alone
//! and, where its points are stepped as lanes, of a full lane group, and a
//! few of its records. Every work item of the sweep (queue.rs) then takes
//! its steps at its shape's measured rate plus its records, and the items
//! are dealt to the worker threads in the engine's order, largest first,
//! each to the thread free first. Runs that diverge or stop early take less
//! than their budget: the estimate assumes none does.

use crate::grid::cost;
use crate::panics::caught;
use crate::queue::{self, Item, Work};
use rayon::prelude::*;
use sharpsweep_core::curvature::HessianMethod;
use sharpsweep_core::lanes::{LANES, LaneKey};
use sharpsweep_core::schedule::LogSchedule;
use sharpsweep_core::{LaneTrainer, RunConfig, RunId, Trainer};
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What the calibration of a grid found.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// The sweep's wall time on `threads` worker threads, in seconds.
    pub seconds: f64,
    pub threads: usize,
    /// The distinct shapes timed…
    pub shapes: usize,
    /// …and how long timing them took.
    pub calibration: Duration,
}

/// Timing every shape together takes about this long (each at least
/// [`MIN_PER_SHAPE`], at most [`MAX_PER_SHAPE`]).
const CALIBRATION: Duration = Duration::from_secs(1);
const MIN_PER_SHAPE: Duration = Duration::from_millis(10);
const MAX_PER_SHAPE: Duration = Duration::from_millis(200);
/// Steps timed at least, per kernel (time allowing).
const MIN_STEPS: u64 = 300;
/// A kernel timed this long (and at least [`MIN_STEPS`] times) is timed
/// precisely enough: what a sweep's own calibration (execute.rs) gives each
/// shape. A long budget then serves slow kernels, not fast ones.
const ENOUGH: Duration = Duration::from_millis(10);

/// What determines the time of a step and of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Shape {
    key: LaneKey,
    /// The Hessian's method and top k, with `hessian`.
    hessian: Option<(HessianMethod, usize)>,
}

impl Shape {
    fn of(c: &RunConfig) -> Shape {
        Shape {
            key: LaneKey::of(c),
            hessian: c.hessian_options().map(|h| (h.method, h.top_k)),
        }
    }
}

/// Measured seconds of one shape.
#[derive(Clone, Copy, Debug, Default)]
struct Timing {
    /// A step of one run alone…
    step: f64,
    /// …a step of a lane group (all its lanes), if the shape batches…
    group_step: f64,
    /// …and a record.
    record: f64,
}

/// Estimates the wall time of running `points` on `threads` worker threads
/// of this machine, timing each distinct shape's kernels first.
pub fn wall_time(points: &[(RunId, &RunConfig)], threads: usize) -> Estimate {
    let start = Instant::now();
    let timings = calibrate_shapes(points.iter().map(|&(_, c)| c), CALIBRATION);
    let calibration = start.elapsed();
    let threads = threads.max(1);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Estimate {
        seconds: makespan(&work_items(points, threads), &timings, threads, cores),
        threads,
        shapes: timings.len(),
        calibration,
    }
}

/// `points`' work items as the engine makes them for `threads` threads:
/// the points largest cost first (already so, as in a grid of one shape,
/// they are taken as they are).
fn work_items<'a>(points: &[(RunId, &'a RunConfig)], threads: usize) -> Work<'a> {
    // A dry run's points hold their shape's configuration (`Grid::shape`),
    // the same one as their neighbour's, mostly: no cost to compare then.
    let largest_first = points
        .par_windows(2)
        .all(|w| std::ptr::eq(w[0].1, w[1].1) || cost(w[0].1).total_cmp(&cost(w[1].1)).is_ge());
    if largest_first {
        return queue::work(points, threads, true);
    }
    let mut todo: Vec<(f64, (RunId, &RunConfig))> =
        points.iter().map(|&p| (cost(p.1), p)).collect();
    todo.sort_by(|a, b| b.0.total_cmp(&a.0));
    let todo: Vec<(RunId, &RunConfig)> = todo.into_iter().map(|(_, p)| p).collect();
    queue::work(&todo, threads, true)
}

/// The seconds until the last of `threads` threads on `cores` cores ends,
/// taking the work items as the engine does.
fn makespan(work: &Work, timings: &HashMap<Shape, Timing>, threads: usize, cores: usize) -> f64 {
    // More threads than cores share them.
    let slowdown = (threads as f64 / cores as f64).max(1.0);
    // Each item's seconds on every core (10^6 points' lookups), then
    // dealt in order.
    let seconds: Vec<f64> = work
        .items
        .par_iter()
        .map_init(
            || Lookup::new(timings),
            |timing, item| item_seconds(item, work, timing),
        )
        .collect();
    let mut free_at = vec![0.0_f64; threads];
    for s in seconds {
        let first_free = free_at
            .iter_mut()
            .min_by(|a, b| a.total_cmp(b))
            .expect("at least one thread");
        *first_free += slowdown * s;
    }
    free_at.into_iter().fold(0.0, f64::max)
}

/// Times the kernels of each distinct shape of `configs`, for about
/// `budget` in all.
fn calibrate_shapes<'a>(
    configs: impl Iterator<Item = &'a RunConfig>,
    budget: Duration,
) -> HashMap<Shape, Timing> {
    let mut examples: Vec<(Shape, &RunConfig)> = Vec::new();
    let mut last: Option<(&RunConfig, Shape)> = None;
    for c in configs {
        // Neighbouring points mostly share their shape, or even their
        // configuration (a dry run's, `Grid::shape`).
        if last.is_some_and(|(l, _)| std::ptr::eq(l, c)) {
            continue;
        }
        let shape = Shape::of(c);
        if last.replace((c, shape)).map(|(_, s)| s) != Some(shape)
            && !examples.iter().any(|(s, _)| *s == shape)
        {
            examples.push((shape, c));
        }
    }
    let per_shape = (budget / examples.len().max(1) as u32).clamp(MIN_PER_SHAPE, MAX_PER_SHAPE);
    // A kernel that panics fails its runs (panics.rs), not the estimate.
    let timed = |c| caught(|| calibrate(c, per_shape)).unwrap_or_default();
    examples
        .iter()
        .map(|&(shape, c)| (shape, timed(c)))
        .collect()
}

/// The estimated seconds of a step of each kind of run in a sweep: its
/// shape's kernel time (a lane group's shared by its runs), plus its records'
/// time spread over its steps. What a sweep's progress weighs steps by
/// (progress.rs), so that its ETA knows a short run recording densely, or a
/// larger shape, from a long cheap one before reaching them.
#[derive(Debug, Default)]
pub struct StepCosts {
    costs: HashMap<Class, f64>,
    /// Tells this table's entries in [`LAST_COST`] from another's.
    id: u64,
}

thread_local! {
    /// The last cost this thread looked up, and the id of its table. A
    /// worker counts a run's steps after every chunk of training, and its
    /// runs mostly share a class: hashing the class each time was ≈ 23k
    /// instructions a tiny run (docs/performance.md, "Sweep overhead").
    static LAST_COST: Cell<Option<(u64, Class, f64)>> = const { Cell::new(None) };
}

/// Runs whose steps cost the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Class {
    shape: Shape,
    steps: u64,
    log_points: usize,
    log_every: Option<u64>,
}

impl Class {
    fn of(c: &RunConfig) -> Class {
        Class {
            shape: Shape::of(c),
            steps: c.steps,
            log_points: c.log_points,
            log_every: c.log_every,
        }
    }
}

impl StepCosts {
    /// Times the kernels of the shapes of `items` (the sweep's work items)
    /// for about `budget` in all.
    pub fn calibrate(work: &Work, budget: Duration) -> StepCosts {
        let runs = || {
            work.items.iter().flat_map(|item| match item {
                Item::Single(_, c) => vec![(*c, 1)],
                Item::Group { queue, share, .. } => {
                    let runs = &work.queues[*queue].runs()[share.clone()];
                    runs.iter().map(|&(_, c)| (c, share.len())).collect()
                }
            })
        };
        let timings = calibrate_shapes(runs().map(|(c, _)| c), budget);
        let mut lookup = Lookup::new(&timings);
        StepCosts::from_pairs(runs().map(|(c, lanes)| {
            let t = lookup.timing(c);
            let step = if lanes > 1 {
                t.group_step / lanes as f64
            } else {
                t.step
            };
            let records = lookup.recording(c) / c.steps.max(1) as f64;
            (c, step + records)
        }))
    }

    /// The seconds per step of runs like each config (the first of a kind
    /// counts).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a RunConfig, f64)>) -> StepCosts {
        static IDS: AtomicU64 = AtomicU64::new(1);
        let mut costs = HashMap::new();
        // Runs of a class mostly follow each other: hashed once for them
        // (a grid may have 10^6 runs, and a comparison costs far less).
        let mut last = None;
        for (c, seconds) in pairs {
            let class = Class::of(c);
            if last != Some(class) {
                costs.entry(class).or_insert(seconds);
                last = Some(class);
            }
        }
        StepCosts {
            costs,
            id: IDS.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The estimated seconds of a step of `c` (0 if not timed).
    pub fn of(&self, c: &RunConfig) -> f64 {
        let class = Class::of(c);
        match LAST_COST.get() {
            Some((id, last, seconds)) if id == self.id && last == class => seconds,
            _ => {
                let seconds = self.costs.get(&class).copied().unwrap_or(0.0);
                LAST_COST.set(Some((self.id, class, seconds)));
                seconds
            }
        }
    }
}

/// Shapes' timings and schedules' record counts, each last one found kept:
/// runs of one shape and schedule mostly follow each other, and a grid may
/// have 10^6 of them.
struct Lookup<'a, 'c> {
    timings: &'a HashMap<Shape, Timing>,
    last: Option<(Shape, Timing)>,
    /// Each log schedule's record count (building one costs microseconds,
    /// and a grid has few distinct ones), the last one kept.
    logged: HashMap<(u64, usize), u64>,
    last_logged: Option<((u64, usize), u64)>,
    /// The last configuration whose records were timed, and their seconds:
    /// a dry run's points share their shape's configuration (`Grid::shape`).
    last_recording: Option<(&'c RunConfig, f64)>,
}

impl<'a, 'c> Lookup<'a, 'c> {
    fn new(timings: &'a HashMap<Shape, Timing>) -> Self {
        Self {
            timings,
            last: None,
            logged: HashMap::new(),
            last_logged: None,
            last_recording: None,
        }
    }

    fn timing(&mut self, c: &RunConfig) -> Timing {
        let shape = Shape::of(c);
        match self.last {
            Some((last, t)) if last == shape => t,
            _ => self.last.insert((shape, self.timings[&shape])).1.to_owned(),
        }
    }

    /// The records a run of `c` makes: its log schedule's, plus every
    /// `log_every`-th step.
    fn records(&mut self, c: &RunConfig) -> u64 {
        let schedule = (c.steps, c.log_points);
        let logged = match self.last_logged {
            Some((last, count)) if last == schedule => count,
            _ => {
                let count = *self.logged.entry(schedule).or_insert_with(|| {
                    LogSchedule::new(c.steps, c.log_points, None).all().len() as u64
                });
                self.last_logged.insert((schedule, count)).1
            }
        };
        logged + c.log_every.map_or(0, |k| c.steps / k)
    }

    /// The seconds of `c`'s records.
    fn recording(&mut self, c: &'c RunConfig) -> f64 {
        if let Some((last, seconds)) = self.last_recording
            && std::ptr::eq(last, c)
        {
            return seconds;
        }
        let seconds = self.records(c) as f64 * self.timing(c).record;
        self.last_recording = Some((c, seconds));
        seconds
    }
}

/// The seconds of one work item of `work` on one thread.
fn item_seconds<'c>(item: &Item<'c>, work: &Work<'c>, timing: &mut Lookup<'_, 'c>) -> f64 {
    match item {
        Item::Single(_, c) => c.steps as f64 * timing.timing(c).step + timing.recording(c),
        // A group keeps its lanes busy with its share of the queue (refilled
        // as runs end), but its longest run takes at least its own steps.
        Item::Group { queue, share, .. } => {
            let (runs, lanes) = (&work.queues[*queue].runs()[share.clone()], share.len());
            let steps = runs.iter().map(|(_, c)| c.steps as f64);
            let longest = steps.clone().fold(0.0, f64::max);
            let t = timing.timing(runs[0].1);
            let stepping = (steps.sum::<f64>() / lanes as f64 * t.group_step).max(longest * t.step);
            stepping + runs.iter().map(|(_, c)| timing.recording(c)).sum::<f64>()
        }
    }
}

/// Times `c`'s kernels for about `budget`.
fn calibrate(c: &RunConfig, budget: Duration) -> Timing {
    // One record at the end of a long budget: the steps timed meet none.
    // Should the point diverge within them, its kernel is timed at a
    // smaller step size, which costs the same.
    let probe = |eta_scale: f64| RunConfig {
        steps: c.steps.max(1 << 40),
        log_points: 1,
        log_every: None,
        eta: c.eta * eta_scale,
        ..c.clone()
    };
    let shares = if LaneKey::of(c).gains_from_lanes() {
        3
    } else {
        2
    };
    let share = budget / shares;
    let mut single = None;
    for scale in [1.0, 1e-2, 1e-4] {
        let Ok(mut t) = Trainer::new(&probe(scale)) else {
            break;
        };
        single = time_steps(share, |n| {
            t.advance(n);
            !t.is_done()
        });
        if single.is_some() {
            break;
        }
    }
    // A point that cannot be trained is recorded as failed at once.
    let step = single.unwrap_or(0.0);
    let group_step = if LaneKey::of(c).gains_from_lanes() {
        LaneTrainer::new(&vec![probe(1e-4); LANES])
            .ok()
            .and_then(|mut b| {
                time_steps(share, |n| {
                    b.advance(n);
                    !b.is_done()
                })
            })
            .unwrap_or(step * LANES as f64)
    } else {
        step
    };
    let record = Trainer::new(&probe(1.0)).map_or(0.0, |t| {
        let start = Instant::now();
        let mut times = 0;
        loop {
            std::hint::black_box(t.measure());
            times += 1;
            let elapsed = start.elapsed();
            if (times >= 3 && elapsed >= (share / 2).min(ENOUGH)) || elapsed >= share {
                return elapsed.as_secs_f64() / times as f64;
            }
        }
    });
    Timing {
        step,
        group_step,
        record,
    }
}

/// Seconds per step of `advance(n)` (which returns false once the run
/// ended), over at least [`MIN_STEPS`] steps and half the `budget` or
/// [`ENOUGH`], whichever is less (but within `budget` once a step is slow);
/// None if it ended first.
fn time_steps(budget: Duration, mut advance: impl FnMut(u64) -> bool) -> Option<f64> {
    // The first step warms the caches and is not timed.
    if !advance(1) {
        return None;
    }
    let start = Instant::now();
    let (mut steps, mut chunk) = (0, 1);
    loop {
        if !advance(chunk) {
            return None;
        }
        steps += chunk;
        let elapsed = start.elapsed();
        if (steps >= MIN_STEPS && elapsed >= (budget / 2).min(ENOUGH)) || elapsed >= budget {
            return Some(elapsed.as_secs_f64() / steps as f64);
        }
        chunk = (chunk * 2).min(1 << 14);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::tests::{point, todo};

    #[test]
    fn each_table_gives_its_own_cost_whatever_was_looked_up_last() {
        let (a, b) = (point(10, 1000, 0), point(10, 1000, 1));
        let mut other = point(10, 1000, 2);
        other.steps = 7;
        let first = StepCosts::from_pairs([(&a, 1e-6), (&other, 5e-6)]);
        let second = StepCosts::from_pairs([(&a, 2e-6)]);
        for _ in 0..2 {
            // `b` is of `a`'s class (only the seed differs).
            assert_eq!(first.of(&b), 1e-6);
            assert_eq!(second.of(&b), 2e-6);
            assert_eq!(first.of(&other), 5e-6);
            assert_eq!(second.of(&other), 0.0);
            assert_eq!(StepCosts::default().of(&a), 0.0);
        }
    }

    #[test]
    fn items_take_their_steps_and_records_on_the_thread_free_first() {
        let mut configs: Vec<RunConfig> = (0..3).map(|s| point(10, 1000, s)).collect();
        configs[0].steps = 3000;
        let timing = Timing {
            step: 1e-3,
            group_step: 2e-3,
            record: 0.5,
        };
        let timings = HashMap::from([(Shape::of(&configs[0]), timing)]);
        let near = |a: f64, b: f64| assert!((a - b).abs() < 1e-9 * b, "{a} != {b}");
        let records_of = |c| Lookup::new(&timings).records(c) as f64 * 0.5;
        let long = 3.0 + records_of(&configs[0]);
        let short = 1.0 + records_of(&configs[1]);
        let time = |threads, cores| {
            makespan(
                &work_items(&todo(&configs), threads),
                &timings,
                threads,
                cores,
            )
        };
        near(time(1, 1), long + 2.0 * short);
        // The long run on one thread, the two short ones on the other.
        near(time(2, 2), long.max(2.0 * short));
        // Two threads sharing one core take twice as long each.
        near(time(2, 1), 2.0 * long.max(2.0 * short));
        // Enough runs of a shape that batches are stepped as a lane group,
        // until its longest run ends.
        let group: Vec<RunConfig> = (0..LANES as u64).map(|s| point(10, 1000, s)).collect();
        let all_records = LANES as f64 * records_of(&group[0]);
        near(
            makespan(&work_items(&todo(&group), 1), &timings, 1, 1),
            1000.0 * 2e-3 + all_records,
        );
    }

    #[test]
    fn calibration_times_the_kernel_of_each_shape() {
        let configs: Vec<RunConfig> = (0..4)
            .map(|s| point(10, 10_000_000, s))
            .chain([point(40, 1000, 0)])
            .collect();
        let e = wall_time(&todo(&configs), 1);
        assert_eq!((e.shapes, e.threads), (2, 1));
        // A step of (10, 3, 3) takes ≈ 50 ns alone: 4·10⁷ of them ≈ 2 s
        // (loose bounds: a loaded machine is slower).
        assert!((0.4..40.0).contains(&e.seconds), "{e:?}");
        assert!(e.calibration < Duration::from_secs(3), "{e:?}");
    }

    #[test]
    fn records_count_the_log_schedule_and_every_kth_step() {
        let timings = HashMap::new();
        let mut lookup = Lookup::new(&timings);
        let mut c = point(10, 1_000_000, 0);
        c.log_points = 10;
        assert_eq!(lookup.records(&c), 11);
        c.log_every = Some(100_000);
        assert_eq!(lookup.records(&c), 21);
        // A schedule seen before, and another between.
        c.log_points = 20;
        let denser = lookup.records(&c);
        assert!(denser > 21);
        c.log_points = 10;
        assert_eq!(lookup.records(&c), 21);
        c.log_points = 20;
        assert_eq!(lookup.records(&c), denser);
    }
}
