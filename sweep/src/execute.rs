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
use crate::dataset::{Access, Dataset, refuse_foreign};
use crate::error::{Result, SweepError};
use crate::estimate::StepCosts;
use crate::grid::Grid;
use crate::in_flight::Outcome;
use crate::journal::Scan;
use crate::lanes;
use crate::plan::Plan;
use crate::progress::{Meter, Work};
use crate::queue::{self, Item};
use crate::report::SweepReport;
use crate::rows::Rows;
use crate::schema::{RunRecord, trajectory_batch};
use crate::shard::Shard;
use crate::team::{Alone, Team, agree};
use crate::utc::utc_now;
use crate::warning::{Warning, Watch};
use crate::worker::{HandBack, Message, Occupancy, Outbox, Worker, run_point};
use arrow_array::RecordBatch;
use sharpsweep_core::{RunConfig, RunId};
use std::cell::RefCell;
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Runs `grid` into the dataset at `out` in this process (see [`run_plan`]).
pub fn run_sweep(
    grid: &Grid,
    out: &Path,
    opts: &SweepOptions,
    stop: &AtomicBool,
    watch: &mut dyn Watch,
) -> Result<SweepReport> {
    run_plan(&Plan::from_grid(grid), out, opts, stop, &mut Alone, watch)
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
    /// Nobody watches the progress: the kernels are not timed for its ETA.
    pub quiet: bool,
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
            command: std::env::args().collect(),
            lanes: true,
        }
    }
}

/// How long a sweep times its kernels at the start, for its ETA (only the
/// ratios of the estimates matter there: short is enough).
const CALIBRATION: Duration = Duration::from_millis(50);

/// Runs `plan` into the dataset at `out` until every point of this
/// process's shard is done or `stop` is set, telling `watch` its warnings
/// and (at rank 0) the job's progress. See the module doc.
pub fn run_plan(
    plan: &Plan,
    out: &Path,
    opts: &SweepOptions,
    stop: &AtomicBool,
    team: &mut dyn Team,
    watch: &mut dyn Watch,
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
    let workers = pool.current_num_threads();
    let (mut ds, scan, session) = open(plan, out, opts, shard, workers, team, &*watch)?;
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

    let queued = queue::work(&todo, workers, opts.lanes);
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
    let watched = team.rank() == 0;
    let halt = AtomicBool::new(false);
    let steps = Occupancy::default();
    let hand_back = HandBack::new(workers);
    let (tx, rx) = mpsc::channel::<Vec<Message>>();
    // Boxed as they arrive: an outcome is large, and the buffer grows.
    let mut buffer: Vec<Box<Outcome>> = Vec::new();
    let mut buffered_rows = 0;
    let mut failure = None;
    let halted = || stop.load(Ordering::Relaxed) || halt.load(Ordering::Relaxed);
    std::thread::scope(|s| {
        let training = Training {
            queued: &queued,
            next: AtomicUsize::new(0),
            dir: out,
            halted: &halted,
            checkpoint_every: opts.checkpoint_every,
            checkpoints: &checkpoints,
            steps: &steps,
            work: &work,
            hand_back: &hand_back,
        };
        s.spawn(move || pool.scope(|ps| training.spawn(ps, workers, tx)));
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
                    Some(Message::Done(mut o)) => {
                        plan.place(&mut o.record);
                        work.ended(&o.record.config, o.record.steps_done);
                        buffered_rows += o.rows();
                        buffer.push(o);
                        oldest.get_or_insert_with(Instant::now);
                    }
                    Some(Message::Checkpointed) => report.checkpointed += 1,
                    Some(Message::Warning(w)) => watch.warn(w),
                    None => {}
                }
                let due = oldest.is_some_and(|t| t.elapsed() >= opts.flush_every);
                let full = buffer.len() >= opts.flush_runs || buffered_rows >= opts.flush_rows;
                if failure.is_none() && (full || due) {
                    match flush(&mut ds, &label, plan, &buffer, &mut report) {
                        Ok(()) => hand_back.give(buffer.drain(..)),
                        Err(e) => {
                            halt.store(true, Ordering::Relaxed);
                            failure = Some(e);
                        }
                    }
                    oldest = None;
                    buffered_rows = 0;
                    panic_if_testing(report.ran);
                }
            }
            let tally = work.tally((report.already_done + report.ran + buffer.len()) as u64);
            team.report(tally);
            let job = team.done_everywhere(tally);
            if watched {
                watch.progress(&job, job_points);
            }
        }
    });
    report.run_steps = steps.run_steps.load(Ordering::Relaxed);
    report.lane_steps = steps.lane_steps.load(Ordering::Relaxed);
    let occupancy = serde_json::json!({
        "run_steps": report.run_steps,
        "lane_steps": report.lane_steps,
        "lane_occupancy": report.lane_occupancy(),
    });
    if let Err(e) = ds.amend_provenance(&session, occupancy, &|w| watch.warn(w)) {
        watch.warn(Warning::OccupancyNotRecorded(e.to_string()));
    }
    if failure.is_none()
        && let Err(e) = flush(&mut ds, &label, plan, &buffer, &mut report)
    {
        failure = Some(e);
    }
    report.interrupted = !report.complete();
    let last = work.tally((report.already_done + report.ran) as u64);
    let job = team.finish(report, last, &mut |t| {
        if watched {
            watch.progress(&t, job_points);
        }
    });
    let everywhere = team.done_everywhere(last);
    if watched {
        watch.finish(&everywhere, job_points);
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(job),
    }
}

/// Opens the dataset at `out` for `plan` and scans it, each step agreed on
/// by every rank (a rank that fails stops all): the dataset, what is done
/// in it, and this session's provenance entry.
fn open(
    plan: &Plan,
    out: &Path,
    opts: &SweepOptions,
    shard: Shard,
    threads: usize,
    team: &mut dyn Team,
    watch: &dyn Watch,
) -> Result<(Dataset, Scan, serde_json::Value)> {
    let warn = |w| watch.warn(w);
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
        ds.adopt(&plan.identity, opts.force_new, &warn)?;
        // Rank 0 alone, before any rank scans.
        if opts.retry_failed && team.rank() == 0 {
            let forgotten = ds.forget_failed(opts.shard)?;
            if forgotten > 0 {
                warn(Warning::FailedRunsForgotten(forgotten));
            }
        }
        Ok(ds)
    })();
    let ds = agree(team, opened)?;
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
            "threads": threads,
            "started": utc_now(),
        });
        ds.record_provenance(session.clone(), &warn)?;
        Ok((scan, session))
    })();
    let (scan, session) = agree(team, scanned)?;
    for d in &scan.damaged {
        warn(Warning::DamagedPart {
            file: out.join(&d.file),
            why: d.why.clone(),
        });
    }
    Ok((ds, scan, session))
}

/// What the worker threads share: the queued work, taken an item at a
/// time, and what each needs to train it.
struct Training<'a> {
    queued: &'a queue::Work<'a>,
    /// The next item to take.
    next: AtomicUsize,
    dir: &'a Path,
    halted: &'a (dyn Fn() -> bool + Sync),
    checkpoint_every: Option<Duration>,
    checkpoints: &'a HashSet<RunId>,
    steps: &'a Occupancy,
    work: &'a Arc<Work>,
    hand_back: &'a HandBack,
}

impl Training<'_> {
    /// Starts `workers` threads on `scope`, each taking items until none
    /// is left, the sweep is halted or the writer (the other end of `tx`)
    /// is gone.
    fn spawn<'s>(
        &'s self,
        scope: &rayon::Scope<'s>,
        workers: usize,
        tx: mpsc::Sender<Vec<Message>>,
    ) {
        for w in 0..workers {
            let outbox = Outbox::new(tx.clone(), w);
            scope.spawn(move |_| self.train(w, outbox));
        }
    }

    /// Worker `w`'s loop.
    fn train(&self, w: usize, outbox: Outbox) {
        let _meter = Meter::attach(self.work.clone());
        let outbox = RefCell::new(outbox);
        let halted = || {
            outbox.borrow_mut().send_if_due();
            self.hand_back.free(w);
            (self.halted)()
        };
        let warn = |w| {
            outbox.borrow_mut().push(Message::Warning(w));
        };
        let worker = Worker {
            dir: self.dir,
            halted: &halted,
            warn: &warn,
            checkpoint_every: self.checkpoint_every,
            checkpoints: self.checkpoints,
            steps: self.steps,
        };
        let mut send = |msg| outbox.borrow_mut().push(msg);
        while !halted() {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let open = match self.queued.items.get(i) {
                None => break,
                Some(&Item::Single(id, config)) => send(run_point(id, config, &worker)),
                Some(Item::Group { queue, share, .. }) => {
                    lanes::run_group(&self.queued.queues[*queue], share.len(), &worker, &mut send)
                }
            };
            if !open {
                break;
            }
        }
        outbox.borrow_mut().send();
    }
}

/// Writes the buffered runs as one pair of parts, sorted by run_id, and
/// removes their checkpoints once the parts are committed. The outcomes
/// are left in `buffer`, for the caller to hand back to their workers.
fn flush(
    ds: &mut Dataset,
    label: &str,
    plan: &Plan,
    buffer: &[Box<Outcome>],
    report: &mut SweepReport,
) -> Result<()> {
    if buffer.is_empty() {
        return Ok(());
    }
    // The runs in run_id order, sorted as indices: an outcome is large,
    // and moving each a dozen times was a tenth of what writing cost.
    let mut order: Vec<(RunId, usize)> = (buffer.iter().enumerate())
        .map(|(i, o)| (o.record.run_id, i))
        .collect();
    order.sort_unstable();
    let sorted = || order.iter().map(|&(_, i)| &buffer[i]);
    // Rows in run_id order: a run's saved batches, then its fresh rows.
    let mut trajectory: Vec<RecordBatch> = Vec::new();
    let mut rows: Vec<(RunId, &Rows)> = Vec::new();
    for o in sorted() {
        if !o.saved.is_empty() {
            if !rows.is_empty() {
                trajectory.push(trajectory_batch(&rows));
                rows.clear();
            }
            trajectory.extend(o.saved.iter().cloned());
        }
        if !o.fresh.is_empty() {
            rows.push((o.record.run_id, &o.fresh));
        }
    }
    if !rows.is_empty() {
        trajectory.push(trajectory_batch(&rows));
    }
    drop(rows);
    let records: Vec<&RunRecord> = sorted().map(|o| &o.record).collect();
    ds.write_part(label, &plan.part_config(), &records, &trajectory)?;
    report.parts_written += 1;
    for o in buffer {
        if o.checkpointed {
            checkpoint::remove(ds.dir(), o.record.run_id);
        }
        report.resumed += usize::from(o.resumed);
        report.ran += 1;
        match o.record.status_name() {
            "finished" => report.finished += 1,
            "diverged" => report.diverged += 1,
            _ => report.failed += 1,
        }
    }
    Ok(())
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

/// This machine's name, for provenance.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into())
}
