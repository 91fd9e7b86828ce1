//! Running a grid's points: within a process on a rayon pool, largest cost
//! first, and across processes (`--shard K/N`, MPI ranks) by a
//! deterministic cost-balanced split (shard.rs).
//!
//! Label-noise points that share a shape are stepped together as SIMD
//! lanes (lanes.rs), bit-identical to running them one by one. Worker
//! threads train runs and send each finished run to the calling thread,
//! which alone writes part files, reports progress and (under MPI) talks
//! to the other ranks, so MPI stays on the main thread. A run's rows
//! depend only on its configuration, never on which thread, rank or session
//! ran it: the dataset's content is the same however the sweep was split
//! or interrupted.
//!
//! # Stopping and resuming
//! The caller owns a `stop` flag (the cluster crate sets it from SIGTERM or
//! SIGUSR1). Workers check it between chunks of about a millisecond of
//! training: once it is set they take no new point, checkpoint the run in
//! hand (checkpoint.rs) and return; finished runs are flushed and
//! [`run_plan`] returns a [`SweepReport`] with `interrupted = true`. The next
//! sweep of the same grid skips done runs, resumes checkpointed ones and
//! runs the rest. With `checkpoint_every`, long runs also checkpoint
//! periodically, so a SIGKILL loses at most that much of each run (plus
//! runs finished since the last flush, at most `flush_every` ago).
//!
//! # Failures
//! A run whose trainer errors (a vanished data file) or panics is recorded
//! with status `failed` and its message, and the sweep goes on. Failed runs
//! count as done; `retry_failed` (`--retry-failed`) takes them out of the
//! dataset before the sweep starts, so they run again (Dataset::forget).

use crate::checkpoint;
use crate::dataset::{Access, Dataset, Identity, refuse_foreign};
use crate::error::{Result, SweepError};
use crate::estimate::StepCosts;
use crate::grid::Grid;
use crate::lanes::{self, Item};
use crate::progress::{self, Meter, Progress, Tally, Work};
use crate::schema::{RunRecord, trajectory_batch};
use crate::shard::Shard;
use crate::utc::utc_now;
use arrow_array::RecordBatch;
use sharpsweep_core::{Metrics, RunConfig, RunId, Trainer};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The points of a sweep and the identity of their grid.
#[derive(Clone, Debug)]
pub struct Plan {
    pub identity: Identity,
    /// One configuration per distinct run_id, in grid order…
    pub configs: Vec<RunConfig>,
    /// …and their run_ids.
    pub ids: Vec<RunId>,
    /// Each point's place in its grid (a plan made from a [`Grid`]).
    pub origins: HashMap<RunId, Origin>,
    /// The grid itself ([`Grid::definition`]), recorded in every part.
    pub grid: Option<serde_json::Value>,
}

/// Where a point sits in its grid: the `grid_table` and `replicate` columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    pub table: usize,
    pub replicate: u64,
}

impl Plan {
    /// A plan of `configs` (repeated run_ids kept once) for the grid with
    /// `fingerprint`, whose expansion `grid_json` is recorded in `grid.json`.
    pub fn new(fingerprint: String, grid_json: String, configs: Vec<RunConfig>) -> Plan {
        let points = configs.into_iter().map(|c| (c.run_id(), c));
        Plan::of_points(fingerprint, grid_json, points)
    }

    /// A plan of points whose run_ids are known.
    fn of_points(
        fingerprint: String,
        grid_json: String,
        points: impl Iterator<Item = (RunId, RunConfig)>,
    ) -> Plan {
        let mut seen = HashSet::new();
        let (ids, configs): (Vec<RunId>, Vec<RunConfig>) =
            points.filter(|(id, _)| seen.insert(*id)).unzip();
        Plan {
            identity: Identity {
                fingerprint,
                run_ids: ids.iter().map(RunId::to_string).collect(),
                grid_json,
            },
            configs,
            ids,
            origins: HashMap::new(),
            grid: None,
        }
    }
}

impl Plan {
    /// The plan of an expanded grid.
    pub fn from_grid(grid: &Grid) -> Plan {
        let points = grid.points.iter().map(|p| (p.run_id, p.config.clone()));
        let mut plan = Plan::of_points(grid.fingerprint(), grid.to_json(), points);
        plan.origins = grid
            .points
            .iter()
            .map(|p| {
                let origin = Origin {
                    table: p.table,
                    replicate: p.replicate,
                };
                (p.run_id, origin)
            })
            .collect();
        plan.grid = Some(grid.definition.clone());
        plan
    }

    /// What a part's `sharpsweep.config` says: the grid's fingerprint and,
    /// when known, the grid itself.
    fn part_config(&self) -> String {
        let mut config = serde_json::json!({ "fingerprint": self.identity.fingerprint });
        if let Some(grid) = &self.grid {
            config["grid"] = grid.clone();
        }
        config.to_string()
    }

    /// `record` with its place in the grid filled in.
    fn placed(&self, mut record: RunRecord) -> RunRecord {
        if let Some(o) = self.origins.get(&record.run_id) {
            record.grid_table = Some(o.table);
            record.replicate = Some(o.replicate);
        }
        record
    }
}

/// Runs `grid` into the dataset at `out` in this process (see [`run_plan`]).
pub fn run_sweep(
    grid: &Grid,
    out: &Path,
    opts: &SweepOptions,
    stop: &AtomicBool,
) -> Result<SweepReport> {
    run_plan(&Plan::from_grid(grid), out, opts, stop, &mut Alone)
}

/// How to run a sweep.
#[derive(Clone, Debug)]
pub struct SweepOptions {
    /// Worker threads; `None`: `RAYON_NUM_THREADS`, else every core.
    pub threads: Option<usize>,
    /// The part of the grid this process runs (split further among MPI ranks).
    pub shard: Shard,
    /// Move an existing dataset aside and start a new one.
    pub force_new: bool,
    /// Run the points whose run failed again, replacing their rows.
    pub retry_failed: bool,
    /// Checkpoint in-flight runs this often.
    pub checkpoint_every: Option<Duration>,
    /// Write a part after this many finished runs…
    pub flush_runs: usize,
    /// …or once their trajectory rows reach this many (what bounds the
    /// writer's memory when runs record many rows each)…
    pub flush_rows: usize,
    /// …or when the oldest unwritten run is this old.
    pub flush_every: Duration,
    /// No progress output.
    pub quiet: bool,
    /// A progress line this often when stderr is not a terminal (a log).
    pub progress_every: Duration,
    /// The command line, for provenance.json.
    pub command: Vec<String>,
    /// Step label-noise points of one shape together as SIMD lanes
    /// (lanes.rs). The dataset is the same bit for bit either way; `false`
    /// runs every point alone, to compare the two paths.
    pub lanes: bool,
}

impl Default for SweepOptions {
    fn default() -> Self {
        Self {
            threads: None,
            shard: Shard::ALL,
            force_new: false,
            retry_failed: false,
            checkpoint_every: None,
            flush_runs: 2000,
            flush_rows: 1 << 15,
            flush_every: Duration::from_secs(30),
            quiet: false,
            progress_every: progress::LOG_EVERY,
            command: std::env::args().collect(),
            lanes: true,
        }
    }
}

/// What a sweep did. Under MPI, rank 0's report covers every rank.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SweepReport {
    /// Points in the grid.
    pub total: usize,
    /// Points this process (or, at rank 0, the job) was given.
    pub assigned: usize,
    /// Of those, done before this session.
    pub already_done: usize,
    /// Runs completed and written in this session…
    pub ran: usize,
    /// …of which resumed from a checkpoint…
    pub resumed: usize,
    /// …by status.
    pub finished: usize,
    pub diverged: usize,
    pub failed: usize,
    /// In-flight runs checkpointed when the stop flag was set.
    pub checkpointed: usize,
    /// Damaged parts found and moved to `corrupt/` (their runs redone).
    pub corrupt_parts: usize,
    pub parts_written: usize,
    /// The stop flag ended the sweep before every assigned point was done;
    /// rerun the same command to continue.
    pub interrupted: bool,
    /// Steps the runs of this session took…
    pub run_steps: u64,
    /// …and the lane-steps spent on them: 8 per step of a lane group with
    /// a live run, one per step of a run stepped alone (see
    /// [`Self::lane_occupancy`]).
    pub lane_steps: u64,
}

impl SweepReport {
    /// Every assigned point is done.
    pub fn complete(&self) -> bool {
        self.already_done + self.ran == self.assigned
    }

    /// Useful run-steps ÷ lane-steps: how much of the stepping went to
    /// runs still training (1 when nothing was stepped).
    pub fn lane_occupancy(&self) -> f64 {
        if self.lane_steps == 0 {
            return 1.0;
        }
        self.run_steps as f64 / self.lane_steps as f64
    }

    /// How many numbers [`Self::to_counts`] gives.
    pub const COUNTS: usize = 14;

    /// The counts as numbers, for sending between ranks.
    pub fn to_counts(&self) -> [u64; Self::COUNTS] {
        let steps = [self.run_steps, self.lane_steps];
        let runs = [
            self.total,
            self.assigned,
            self.already_done,
            self.ran,
            self.resumed,
            self.finished,
            self.diverged,
            self.failed,
            self.checkpointed,
            self.corrupt_parts,
            self.parts_written,
            usize::from(self.interrupted),
        ]
        .map(|c| c as u64);
        let mut counts = [0; Self::COUNTS];
        counts[..12].copy_from_slice(&runs);
        counts[12..].copy_from_slice(&steps);
        counts
    }

    /// The sum of reports of disjoint parts of one grid.
    pub fn sum(reports: &[[u64; Self::COUNTS]]) -> SweepReport {
        let s = |i: usize| reports.iter().map(|r| r[i] as usize).sum::<usize>();
        let steps = |i: usize| reports.iter().map(|r| r[i]).sum::<u64>();
        SweepReport {
            total: reports.first().map_or(0, |r| r[0] as usize),
            assigned: s(1),
            already_done: s(2),
            ran: s(3),
            resumed: s(4),
            finished: s(5),
            diverged: s(6),
            failed: s(7),
            checkpointed: s(8),
            corrupt_parts: s(9),
            parts_written: s(10),
            interrupted: s(11) > 0,
            run_steps: steps(12),
            lane_steps: steps(13),
        }
    }
}

/// The processes that share a sweep: one ([`Alone`]) or MPI's ranks.
/// Every method is called from the thread that called [`run_plan`].
pub trait Team {
    fn rank(&self) -> usize;
    fn size(&self) -> usize;
    /// Whether every process's `ok` is true (a collective).
    fn all_ok(&mut self, ok: bool) -> bool;
    /// The sum of every process's `value` (a collective).
    fn sum(&mut self, value: usize) -> usize;
    /// Tells the reporting process this process's progress.
    fn report(&mut self, mine: Tally);
    /// At the reporting process, the progress of all processes.
    fn done_everywhere(&mut self, mine: Tally) -> Tally;
    /// The last call, with this process's final progress `last`: the job's
    /// report at rank 0, the local one elsewhere; `progress` is shown the
    /// job's progress while rank 0 waits.
    fn finish(
        &mut self,
        mine: SweepReport,
        last: Tally,
        progress: &mut dyn FnMut(Tally),
    ) -> SweepReport;
}

/// A sweep in one process.
pub struct Alone;

impl Team for Alone {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn all_ok(&mut self, ok: bool) -> bool {
        ok
    }
    fn sum(&mut self, value: usize) -> usize {
        value
    }
    fn report(&mut self, _mine: Tally) {}
    fn done_everywhere(&mut self, mine: Tally) -> Tally {
        mine
    }
    fn finish(&mut self, mine: SweepReport, _: Tally, _: &mut dyn FnMut(Tally)) -> SweepReport {
        mine
    }
}

/// How long a sweep times its kernels at the start, for its ETA (only the
/// ratios of the estimates matter there: short is enough).
const CALIBRATION: Duration = Duration::from_millis(50);

/// A run's result on its way from a worker to the writer.
pub(crate) enum Message {
    Done(Box<Outcome>),
    /// The stop flag caught a run in flight; it was checkpointed.
    Checkpointed,
}

pub struct Outcome {
    pub record: RunRecord,
    /// Trajectory rows recorded before the last checkpoint, as batches…
    pub saved: Vec<RecordBatch>,
    /// …and the rows recorded since, turned into a batch at flush time
    /// together with other runs' (one batch per part, not one per run).
    pub fresh: Vec<Metrics>,
    pub resumed: bool,
    /// The run may have a checkpoint file to remove once it is written.
    pub checkpointed: bool,
}

impl Outcome {
    /// Its trajectory rows, saved and fresh.
    fn rows(&self) -> usize {
        self.saved.iter().map(RecordBatch::num_rows).sum::<usize>() + self.fresh.len()
    }

    /// Its trajectory as batches: the saved ones, then the fresh rows.
    pub fn trajectory(&self) -> Vec<RecordBatch> {
        let mut batches = self.saved.clone();
        if !self.fresh.is_empty() {
            batches.push(rows_batch(self.record.run_id, &self.fresh));
        }
        batches
    }
}

/// Runs `plan` into the dataset at `out` until every point of this
/// process's shard is done or `stop` is set. See the module doc.
pub fn run_plan(
    plan: &Plan,
    out: &Path,
    opts: &SweepOptions,
    stop: &AtomicBool,
    team: &mut dyn Team,
) -> Result<SweepReport> {
    let shard = if team.size() > 1 {
        opts.shard.split(team.rank(), team.size())
    } else {
        opts.shard
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.unwrap_or(0))
        .thread_name(|i| format!("sweep-{i}"))
        .build()
        .map_err(|e| SweepError::Refused(format!("--threads: {e}")))?;
    // Two steps, each agreed on by every rank: a rank that fails stops all.
    let opened = (|| {
        let access = if shard.is_all() {
            Access::Exclusive
        } else {
            Access::Shard(shard)
        };
        if !opts.force_new {
            refuse_foreign(out)?;
        }
        let mut ds = Dataset::open(out, access)?;
        ds.adopt(&plan.identity, opts.force_new)?;
        // Rank 0 alone, before any rank scans.
        if opts.retry_failed && team.rank() == 0 {
            let forgotten = ds.forget_failed(opts.shard)?;
            if forgotten > 0 && !opts.quiet {
                eprintln!("--retry-failed: {forgotten} failed runs will run again");
            }
        }
        Ok(ds)
    })();
    let mut ds = agree(team, opened)?;
    // Rank 0 checks every byte and repairs; the other ranks then read the
    // repaired journal's footers and run ids, so a job reads the dataset
    // once, not once per rank.
    let repaired = if team.rank() == 0 {
        ds.scan(true).map(Some)
    } else {
        Ok(None)
    };
    let repaired = agree(team, repaired)?;
    let scanned = (|| {
        let scan = match repaired {
            Some(scan) => scan,
            None => ds.scan_checked_elsewhere()?,
        };
        let session = serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "command": opts.command,
            "host": hostname(),
            "pid": std::process::id(),
            "shard": shard.to_string(),
            "rank": team.rank(),
            "ranks": team.size(),
            "threads": pool.current_num_threads(),
            "started": utc_now(),
        });
        ds.record_provenance(session.clone())?;
        Ok((scan, session))
    })();
    let (scan, session) = agree(team, scanned)?;
    for d in &scan.damaged {
        eprintln!(
            "warning: {} is damaged ({}); the part was moved to corrupt/ and its runs will be \
             redone",
            out.join(&d.file).display(),
            d.why
        );
    }
    // The checkpoints, listed once: a run looks itself up here rather
    // than on disk.
    let mut checkpoints = HashSet::new();
    for id in checkpoint::list(out) {
        if scan.done.contains_key(&id) {
            checkpoint::remove(out, id);
        } else {
            checkpoints.insert(id);
        }
    }

    let mine = shard.select(&plan.ids, &plan.configs);
    let todo: Vec<(RunId, &RunConfig)> = mine
        .iter()
        .map(|&i| (plan.ids[i], &plan.configs[i]))
        .filter(|(id, _)| !scan.done.contains_key(id))
        .collect();
    let mine_ids: HashSet<RunId> = mine.iter().map(|&i| plan.ids[i]).collect();
    checkpoint::remove_stale_temporaries(out, &mine_ids);
    let mut report = SweepReport {
        total: plan.configs.len(),
        assigned: mine.len(),
        already_done: mine.len() - todo.len(),
        corrupt_parts: scan.damaged.len(),
        ..Default::default()
    };
    let label = if shard.is_all() {
        "all".to_string()
    } else {
        format!("s{}of{}", shard.index, shard.count)
    };

    let workers = pool.current_num_threads();
    let queued = lanes::work(&todo, workers, opts.lanes);
    // Progress counts the run-steps of this process, or of the job at rank 0.
    let costs = if opts.quiet {
        StepCosts::default()
    } else {
        StepCosts::calibrate(&queued, CALIBRATION)
    };
    let runs = mine.iter().map(|&i| &plan.configs[i]);
    let done = mine.iter().map(|&i| scan.done.contains_key(&plan.ids[i]));
    let work = Arc::new(Work::new(runs.zip(done), costs));
    let job_points = team.sum(report.assigned) as u64;
    let mut progress = Progress::new("sweep", "run-steps", 0)
        .of_runs(job_points)
        .log_every(opts.progress_every);
    if opts.quiet || team.rank() != 0 {
        progress = progress.silent();
    }
    let halt = AtomicBool::new(false);
    let next = AtomicUsize::new(0);
    let steps = Occupancy::default();
    let (tx, rx) = mpsc::channel::<Vec<Message>>();
    let mut buffer: Vec<Outcome> = Vec::new();
    let mut buffered_rows = 0;
    let mut failure = None;
    std::thread::scope(|s| {
        let (queued, next, halt, checkpoints, steps, work) =
            (&queued, &next, &halt, &checkpoints, &steps, &work);
        let checkpoint_every = opts.checkpoint_every;
        s.spawn(move || {
            pool.scope(|ps| {
                for _ in 0..workers {
                    let outbox = Outbox::new(tx.clone());
                    ps.spawn(move |_| {
                        let _meter = Meter::attach(work.clone());
                        let outbox = RefCell::new(outbox);
                        let halted = || {
                            outbox.borrow_mut().send_if_due();
                            stop.load(Ordering::Relaxed) || halt.load(Ordering::Relaxed)
                        };
                        let worker = Worker {
                            dir: out,
                            halted: &halted,
                            checkpoint_every,
                            checkpoints,
                            steps,
                        };
                        let mut send = |msg| outbox.borrow_mut().push(msg);
                        while !halted() {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let open = match queued.items.get(i) {
                                None => break,
                                Some(&Item::Single(id, config)) => {
                                    send(run_point(id, config, &worker))
                                }
                                Some(Item::Group { queue, share, .. }) => lanes::run_group(
                                    &queued.queues[*queue],
                                    share.len(),
                                    &worker,
                                    &mut send,
                                ),
                            };
                            if !open {
                                break;
                            }
                        }
                        outbox.borrow_mut().send();
                    });
                }
            });
        });
        let mut oldest: Option<Instant> = None;
        loop {
            let msgs = match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(msgs) => msgs,
                Err(mpsc::RecvTimeoutError::Timeout) => Vec::new(),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            // The batch's runs one at a time, each followed by a look at the
            // buffer (a part holds at most `flush_runs` runs, whatever a
            // worker's batch brings), and a last look (`None`) for a buffer
            // due by age.
            for msg in msgs.into_iter().map(Some).chain([None]) {
                match msg {
                    Some(Message::Done(o)) => {
                        work.ended(&o.record.config, o.record.steps_done);
                        buffered_rows += o.rows();
                        buffer.push(*o);
                        oldest.get_or_insert_with(Instant::now);
                    }
                    Some(Message::Checkpointed) => report.checkpointed += 1,
                    None => {}
                }
                let due = oldest.is_some_and(|t| t.elapsed() >= opts.flush_every);
                let full = buffer.len() >= opts.flush_runs || buffered_rows >= opts.flush_rows;
                if failure.is_none() && (full || due) {
                    if let Err(e) = flush(&mut ds, &label, plan, &mut buffer, &mut report) {
                        halt.store(true, Ordering::Relaxed);
                        failure = Some(e);
                    }
                    oldest = None;
                    buffered_rows = 0;
                    panic_if_testing(report.ran);
                }
            }
            let tally = work.tally((report.already_done + report.ran + buffer.len()) as u64);
            team.report(tally);
            progress.show(&team.done_everywhere(tally));
        }
    });
    report.run_steps = steps.run_steps.load(Ordering::Relaxed);
    report.lane_steps = steps.lane_steps.load(Ordering::Relaxed);
    let occupancy = serde_json::json!({
        "run_steps": report.run_steps,
        "lane_steps": report.lane_steps,
        "lane_occupancy": report.lane_occupancy(),
    });
    if let Err(e) = ds.amend_provenance(&session, occupancy) {
        eprintln!("warning: {e}; the lane occupancy is not in provenance.json");
    }
    if failure.is_none()
        && let Err(e) = flush(&mut ds, &label, plan, &mut buffer, &mut report)
    {
        failure = Some(e);
    }
    report.interrupted = !report.complete();
    let last = work.tally((report.already_done + report.ran) as u64);
    let job = team.finish(report, last, &mut |t| progress.show(&t));
    progress.finish_with(&team.done_everywhere(last));
    match failure {
        Some(e) => Err(e),
        None => Ok(job),
    }
}

/// `result` if every rank's step succeeded (a collective), else an error.
fn agree<T>(team: &mut dyn Team, result: Result<T>) -> Result<T> {
    if team.all_ok(result.is_ok()) {
        return result;
    }
    Err(result.err().unwrap_or_else(|| SweepError::Rank {
        rank: team.rank(),
        message: "another rank could not open the dataset; nothing was run".into(),
    }))
}

/// Writes the buffered runs as one pair of parts, sorted by run_id, and
/// removes their checkpoints once the parts are committed.
fn flush(
    ds: &mut Dataset,
    label: &str,
    plan: &Plan,
    buffer: &mut Vec<Outcome>,
    report: &mut SweepReport,
) -> Result<()> {
    if buffer.is_empty() {
        return Ok(());
    }
    buffer.sort_by_key(|o| o.record.run_id);
    // Rows in run_id order: a run's saved batches, then its fresh rows.
    let mut trajectory: Vec<RecordBatch> = Vec::new();
    let mut rows: Vec<(RunId, &Metrics)> = Vec::new();
    for o in buffer.iter() {
        if !o.saved.is_empty() {
            if !rows.is_empty() {
                trajectory.push(trajectory_batch(&rows));
                rows.clear();
            }
            trajectory.extend(o.saved.iter().cloned());
        }
        rows.extend(o.fresh.iter().map(|m| (o.record.run_id, m)));
    }
    if !rows.is_empty() {
        trajectory.push(trajectory_batch(&rows));
    }
    drop(rows);
    let mut checkpointed = Vec::new();
    let records: Vec<RunRecord> = buffer
        .drain(..)
        .map(|o| {
            if o.checkpointed {
                checkpointed.push(o.record.run_id);
            }
            report.resumed += usize::from(o.resumed);
            plan.placed(o.record)
        })
        .collect();
    ds.write_part(label, &plan.part_config(), &records, &trajectory)?;
    report.parts_written += 1;
    for id in checkpointed {
        checkpoint::remove(ds.dir(), id);
    }
    for record in &records {
        report.ran += 1;
        match record.status_name() {
            "finished" => report.finished += 1,
            "diverged" => report.diverged += 1,
            _ => report.failed += 1,
        }
    }
    Ok(())
}

/// Trains one point to its end, or to a checkpoint when `halted()`;
/// failures become `failed` records.
pub(crate) fn run_point(id: RunId, config: &RunConfig, worker: &Worker) -> Message {
    let start = Instant::now();
    let error = match caught(|| train(id, config, worker)) {
        Ok(Ok(Some(outcome))) => return Message::Done(Box::new(outcome)),
        Ok(Ok(None)) => return Message::Checkpointed,
        Ok(Err(e)) => e,
        Err(panic) => panic,
    };
    Message::failed(config, error, start.elapsed().as_secs_f64())
}

/// Runs `f` as a run's work: a panic in it is caught and returned as its
/// message (`panicked: …`), for the run to be recorded as failed.
pub(crate) fn caught<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    IN_RUN.set(true);
    let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    IN_RUN.set(false);
    attempt.map_err(|panic| {
        let text = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        format!("panicked: {text}")
    })
}

impl Message {
    /// A run that could not be carried out, as a `failed` record.
    pub(crate) fn failed(config: &RunConfig, error: String, wall: f64) -> Message {
        Message::Done(Box::new(Outcome {
            record: RunRecord::failed(config, error, wall),
            saved: Vec::new(),
            fresh: Vec::new(),
            resumed: false,
            // It may have failed after writing one.
            checkpointed: true,
        }))
    }
}

/// Fault injection for tests/mpi_abort.rs: with
/// `SHARPSWEEP_TEST_PANIC_AFTER_RUNS=N` in the environment, the writer
/// panics once it has committed N runs, as a bug in the engine would:
/// outside any run, where nothing catches it.
fn panic_if_testing(committed: usize) {
    static AFTER: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    let after = AFTER.get_or_init(|| {
        let v = std::env::var("SHARPSWEEP_TEST_PANIC_AFTER_RUNS").ok()?;
        v.parse().ok()
    });
    if after.is_some_and(|n| committed >= n) {
        panic!("SHARPSWEEP_TEST_PANIC_AFTER_RUNS: panicking after {committed} runs");
    }
}

thread_local! {
    /// This thread is inside a run, where a panic is caught and recorded.
    static IN_RUN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether a panic now would be caught as a run's failure (a panic hook
/// uses this to abort an MPI job only on panics nobody handles).
pub fn panic_is_caught() -> bool {
    IN_RUN.get()
}

/// The trajectory rows of `records` as one batch.
fn rows_batch(id: RunId, records: &[Metrics]) -> RecordBatch {
    let rows: Vec<(RunId, &Metrics)> = records.iter().map(|r| (id, r)).collect();
    trajectory_batch(&rows)
}

fn train(
    id: RunId,
    config: &RunConfig,
    worker: &Worker,
) -> std::result::Result<Option<Outcome>, String> {
    let start = Instant::now();
    let (mut trainer, mut run) = InFlight::start_listed(id, config, worker)?;
    let first = trainer.state().step;
    let chunk = chunk_steps(config, 1);
    let mut last_checkpoint = Instant::now();
    let mut stopped = false;
    while !trainer.is_done() {
        let before = trainer.state().step;
        if let Some(r) = trainer.advance(chunk) {
            run.fresh.push(r);
        }
        progress::count_steps(config, trainer.state().step - before);
        if trainer.is_done() {
            break;
        }
        stopped = (worker.halted)();
        if stopped || worker.checkpoint_due(last_checkpoint) {
            run.checkpoint(worker.dir, &trainer, start.elapsed().as_secs_f64());
            last_checkpoint = Instant::now();
            if stopped {
                break;
            }
        }
    }
    let steps = trainer.state().step - first;
    worker.steps.add((steps, steps));
    if stopped {
        return Ok(None);
    }
    run.outcome(&trainer, start.elapsed().as_secs_f64())
        .map(Some)
}

/// What a worker thread trains runs with.
pub(crate) struct Worker<'a> {
    /// The dataset.
    pub dir: &'a Path,
    /// Whether to stop (checkpointing the runs in hand).
    pub halted: &'a dyn Fn() -> bool,
    pub checkpoint_every: Option<Duration>,
    /// The runs that had a checkpoint when the sweep started, listed once
    /// rather than looked up on disk for every run.
    pub checkpoints: &'a HashSet<RunId>,
    pub steps: &'a Occupancy,
}

impl Worker<'_> {
    /// Whether runs last checkpointed at `last` are due for another.
    pub(crate) fn checkpoint_due(&self, last: Instant) -> bool {
        self.checkpoint_every.is_some_and(|e| last.elapsed() >= e)
    }
}

/// The steps a sweep's workers took: useful run-steps and the lane-steps
/// spent on them (their ratio is the lane occupancy).
#[derive(Default)]
pub(crate) struct Occupancy {
    run_steps: AtomicU64,
    lane_steps: AtomicU64,
}

impl Occupancy {
    /// Adds (run-steps, lane-steps).
    pub(crate) fn add(&self, (runs, lanes): (u64, u64)) {
        self.run_steps.fetch_add(runs, Ordering::Relaxed);
        self.lane_steps.fetch_add(lanes, Ordering::Relaxed);
    }
}

/// A worker's messages to the writer, sent a batch at a time: one wake-up
/// of the writer per [`Outbox::RUNS`] runs or [`Outbox::WAIT`], not one per
/// run. The worker sends what it holds when it stops, too.
struct Outbox {
    tx: mpsc::Sender<Vec<Message>>,
    held: Vec<Message>,
    /// When the oldest held message was pushed.
    since: Instant,
    /// The writer is gone.
    closed: bool,
}

impl Outbox {
    const RUNS: usize = 64;
    const WAIT: Duration = Duration::from_millis(20);

    fn new(tx: mpsc::Sender<Vec<Message>>) -> Self {
        Self {
            tx,
            held: Vec::new(),
            since: Instant::now(),
            closed: false,
        }
    }

    /// Holds `msg` (sending the batch when it is full or old); false once
    /// the writer is gone.
    fn push(&mut self, msg: Message) -> bool {
        if self.held.is_empty() {
            self.since = Instant::now();
        }
        self.held.push(msg);
        if self.held.len() >= Self::RUNS {
            self.send();
        } else {
            self.send_if_due();
        }
        !self.closed
    }

    /// Sends the held messages if the oldest has waited [`Self::WAIT`]
    /// (called between chunks of training, about every millisecond).
    fn send_if_due(&mut self) {
        if !self.held.is_empty() && self.since.elapsed() >= Self::WAIT {
            self.send();
        }
    }

    fn send(&mut self) {
        if !self.held.is_empty() {
            let held = std::mem::replace(&mut self.held, Vec::with_capacity(Self::RUNS));
            self.closed |= self.tx.send(held).is_err();
        }
    }
}

/// Steps between looks at the stop flag: about a millisecond of work for
/// `runs` runs of `config`'s shape stepped together.
pub fn chunk_steps(config: &RunConfig, runs: usize) -> u64 {
    let work = [config.d, config.batch(), runs]
        .iter()
        .fold(config.m, |w, &f| w.saturating_mul(f));
    (1 << 22) / work.max(1) as u64 + 1
}

/// A run being trained: the rows it has recorded, and what it brought
/// from a checkpoint. Its [`Trainer`] is held apart, alone or in a
/// [`LaneTrainer`](sharpsweep_core::LaneTrainer). `sharpsweep run` keeps
/// its one run in it too, so it checkpoints and resumes as a sweep does.
pub struct InFlight {
    id: RunId,
    /// Trajectory rows of earlier checkpoints, as batches…
    written: Vec<RecordBatch>,
    /// …and the records since.
    pub fresh: Vec<Metrics>,
    /// Wall time spent on the run in earlier sessions.
    wall_before: f64,
    resumed: bool,
    /// It has a checkpoint file (resumed from one, or saved one).
    checkpointed: bool,
}

impl InFlight {
    /// Run `id` from its checkpoint in `dir` if it has a usable one, else
    /// from step 0.
    pub fn start(
        id: RunId,
        config: &RunConfig,
        dir: &Path,
    ) -> std::result::Result<(Trainer, InFlight), String> {
        Self::from_saved(id, config, checkpoint::load(dir, id))
    }

    /// [`Self::start`] in a sweep, which listed the checkpoints once at its
    /// start (`worker.checkpoints`): a run not listed has none, and is not
    /// looked for on disk.
    pub(crate) fn start_listed(
        id: RunId,
        config: &RunConfig,
        worker: &Worker,
    ) -> std::result::Result<(Trainer, InFlight), String> {
        let listed = worker.checkpoints.contains(&id);
        let saved = listed.then(|| checkpoint::load(worker.dir, id)).flatten();
        let (trainer, mut run) = Self::from_saved(id, config, saved)?;
        // An unusable checkpoint is removed once the run is written, too.
        run.checkpointed = listed;
        Ok((trainer, run))
    }

    fn from_saved(
        id: RunId,
        config: &RunConfig,
        saved: Option<checkpoint::Checkpoint>,
    ) -> std::result::Result<(Trainer, InFlight), String> {
        let had_checkpoint = saved.is_some();
        let resumed_from = saved.and_then(|c| {
            Trainer::resume(config, c.state)
                .map(|t| (t, c.trajectory, c.wall_seconds))
                .map_err(|e| eprintln!("warning: run {id}: {e}; it starts over"))
                .ok()
        });
        let resumed = resumed_from.is_some();
        let (trainer, written, wall_before) = match resumed_from {
            Some(s) => {
                progress::count_carried(config, s.0.state().step);
                s
            }
            None => (
                Trainer::new(config).map_err(|e| e.to_string())?,
                Vec::new(),
                0.0,
            ),
        };
        let run = InFlight {
            id,
            written,
            fresh: Vec::new(),
            wall_before,
            resumed,
            checkpointed: had_checkpoint,
        };
        Ok((trainer, run))
    }

    /// Checkpoints the run at `trainer`'s state, `wall` seconds into this
    /// session's share of it.
    pub fn checkpoint(&mut self, dir: &Path, trainer: &Trainer, wall: f64) {
        if !self.fresh.is_empty() {
            self.written.push(rows_batch(self.id, &self.fresh));
            self.fresh.clear();
        }
        let wall = self.wall_before + wall;
        self.checkpointed = true;
        if let Err(e) =
            checkpoint::save(dir, trainer.config(), trainer.state(), &self.written, wall)
        {
            eprintln!("warning: run {}: checkpoint not written: {e}", self.id);
        }
    }

    /// The run, `wall` seconds into this session's share of it: finished,
    /// or stopped short (`sharpsweep run` on a signal), whose final metrics
    /// are those of its current state and whose status is `interrupted`.
    pub fn outcome(self, trainer: &Trainer, wall: f64) -> std::result::Result<Outcome, String> {
        let last = if trainer.is_done() {
            self.fresh
                .last()
                .cloned()
                .ok_or("the run ended without a final record")?
        } else {
            trainer.measure()
        };
        Ok(Outcome {
            record: RunRecord::new(trainer, last, self.wall_before + wall),
            saved: self.written,
            fresh: self.fresh,
            resumed: self.resumed,
            checkpointed: self.checkpointed,
        })
    }
}

/// This machine's name, for provenance.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into())
}
