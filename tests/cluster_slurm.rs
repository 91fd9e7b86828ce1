//! The generated batch scripts on a real SLURM: a job array, an MPI job of
//! two ranks, and jobs preempted mid-sweep that requeue and finish. Each
//! dataset must equal the one a plain local `sharpsweep sweep` writes.
//!
//! These need a running cluster (`sbatch`, `squeue`, `scontrol` on PATH,
//! `SLURM_CONF` set) and are ignored otherwise; `.ci/suites/cluster.sh` starts a
//! one-node cluster and runs them with `--ignored`. The MPI test needs
//! `SHARPSWEEP_MPI_BIN`, a `sharpsweep` built with `--features mpi`.
//! Paths live under /tmp, which the job (on this machine) can read.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A job's scratch directory with a private binary and the grid.
struct Job {
    dir: tempfile::TempDir,
    bin: PathBuf,
    grid: PathBuf,
}

impl Job {
    fn new(steps: u64) -> Job {
        let dir = tempfile::Builder::new()
            .prefix("sharpsweep-slurm-test.")
            .tempdir_in("/tmp")
            .unwrap();
        let bin = dir.path().join("sharpsweep");
        std::fs::copy(tested_binary(), &bin).unwrap();
        let grid = grid_file(dir.path(), steps);
        Job { dir, bin, grid }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The dataset of a plain local sweep of the same grid.
    fn reference(&self) -> PathBuf {
        let out = self.path("local");
        sweep_with(&self.bin, &self.grid, &out, &["-q"]);
        out
    }

    /// `sharpsweep slurm submit GRID --out OUT <flags>`; the job id.
    fn submit(&self, out: &Path, flags: &[&str]) -> String {
        let script = self.path("job.sbatch");
        let output = Command::new(&self.bin)
            .args(["slurm", "submit"])
            .arg(&self.grid)
            .arg("--out")
            .arg(out)
            .arg("--log-dir")
            .arg(self.path("logs"))
            .arg("--write")
            .arg(&script)
            .args(flags)
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "submit failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let id = String::from_utf8(output.stdout).unwrap().trim().to_string();
        assert!(
            id.chars().all(|c| c.is_ascii_digit()) && !id.is_empty(),
            "job id '{id}'"
        );
        id
    }

    /// Every log the job wrote, concatenated.
    fn logs(&self) -> String {
        let mut text = String::new();
        if let Ok(entries) = std::fs::read_dir(self.path("logs")) {
            let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
            files.sort();
            for f in files {
                text += &format!("==> {} <==\n", f.display());
                text += &std::fs::read_to_string(&f).unwrap_or_default();
            }
        }
        text
    }
}

/// One copy of the binary under test, taken when the first test starts: a
/// shared target directory may be rebuilt while these slow tests run.
fn tested_binary() -> &'static Path {
    static COPY: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, bin) = COPY.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let bin = private_binary(dir.path(), &binary());
        (dir, bin)
    });
    bin
}

fn run(cmd: &str, args: &[&str]) -> String {
    let output = Command::new(cmd).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `JobState=…` of every job (array task) of `id`, as scontrol shows them.
fn states(id: &str) -> Vec<String> {
    field_values(&run("scontrol", &["show", "job", id]), "JobState")
}

fn field_values(text: &str, field: &str) -> Vec<String> {
    let prefix = format!("{field}=");
    text.split_whitespace()
        .filter_map(|w| w.strip_prefix(&prefix))
        .map(str::to_string)
        .collect()
}

/// Waits until job `id` (every task) has left the queue and checks that it
/// completed with exit code 0.
fn wait_done(job: &Job, id: &str, limit: Duration) {
    let start = Instant::now();
    while !run("squeue", &["-h", "-j", id]).trim().is_empty() {
        assert!(
            start.elapsed() < limit,
            "job {id} still queued after {limit:?}:\n{}\n{}",
            run("scontrol", &["show", "job", id]),
            job.logs()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let info = run("scontrol", &["show", "job", id]);
    let states = field_values(&info, "JobState");
    assert!(
        !states.is_empty() && states.iter().all(|s| s == "COMPLETED"),
        "job {id}: {states:?}\n{info}\n{}",
        job.logs()
    );
    assert!(
        field_values(&info, "ExitCode").iter().all(|c| c == "0:0"),
        "{info}"
    );
}

/// Waits until every task of `id` runs.
fn wait_running(job: &Job, id: &str) {
    let start = Instant::now();
    loop {
        let s = states(id);
        if !s.is_empty() && s.iter().all(|s| s == "RUNNING") {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "job {id}: {s:?}\n{}",
            job.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
#[ignore = "needs a running SLURM cluster: bash .ci/suites/cluster.sh"]
fn array_job_of_two_shards_writes_the_local_sweeps_dataset() {
    let job = Job::new(20_000);
    let want = job.reference();
    let out = job.path("array");
    let id = job.submit(&out, &["--array", "2", "--cpus-per-task", "1"]);
    wait_done(&job, &id, Duration::from_secs(300));
    assert_same_dataset(&out, &want);
    let logs = job.logs();
    // Both array tasks ran, each its own shard, and none was requeued.
    assert_eq!(logs.matches("restart 0 on").count(), 2, "{logs}");
    assert!(!logs.contains("requeueing"), "{logs}");
    let script = std::fs::read_to_string(job.path("job.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array=0-1\n"), "{script}");
}

#[test]
#[ignore = "needs a running SLURM cluster: bash .ci/suites/cluster.sh"]
fn mpi_job_of_two_ranks_writes_the_local_sweeps_dataset() {
    let job = Job::new(20_000);
    let want = job.reference();
    let mpi_bin = mpi_binary(&job);
    let out = job.path("mpi");
    let flags = [
        "--mpi",
        "--ntasks-per-node",
        "2",
        "--cpus-per-task",
        "1",
        "--binary",
    ];
    let id = job.submit(&out, &[&flags[..], &[mpi_bin.to_str().unwrap()]].concat());
    wait_done(&job, &id, Duration::from_secs(300));
    assert_same_dataset(&out, &want);
    let logs = job.logs();
    assert_eq!(logs.matches("restart 0 on").count(), 1, "{logs}");
    // Both ranks ran: rank 0 reports the whole job's points.
    let script = std::fs::read_to_string(job.path("job.sbatch")).unwrap();
    assert!(
        script.contains("srun --mpi=pmix --kill-on-bad-exit=1"),
        "{script}"
    );
}

/// How a running job is interrupted in [`preempted_jobs_requeue_resume_and_write_the_local_sweeps_dataset`].
#[derive(Clone, Copy, Debug)]
enum Preempt {
    /// `scancel --signal=USR1`: what `--signal=USR1@120` does before the
    /// time limit; the sweep exits 75 and the script requeues the job.
    Usr1,
    /// `scontrol requeue`: SLURM sends SIGTERM and requeues the job itself,
    /// as for preemption.
    Requeue,
}

struct Preempted {
    job: Job,
    out: PathBuf,
    id: String,
    how: Preempt,
}

fn start_preempted(how: Preempt, mpi: bool) -> Preempted {
    // Runs of ~4 s of CPU each (60M steps of (10, 3, 3) at ~15M steps/s), so
    // that a signal ~2 s after the script starts finds the first ones in flight.
    let job = Job::new(60_000_000);
    let out = job.path("preempted");
    let mut flags = vec!["--cpus-per-task".to_string(), "1".to_string()];
    if mpi {
        let bin = mpi_binary(&job);
        flags.extend(["--mpi", "--ntasks-per-node", "2", "--binary"].map(String::from));
        flags.push(bin.to_string_lossy().into_owned());
    }
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let id = job.submit(&out, &flags);
    Preempted { job, out, id, how }
}

/// Interrupts every job once all of them run their sweeps: waiting for one
/// at a time would give the last ones time to finish before their signal.
fn preempt_all(jobs: &[Preempted]) {
    for j in jobs {
        wait_running(&j.job, &j.id);
        wait_started(&j.job);
    }
    std::thread::sleep(Duration::from_secs(2));
    for j in jobs {
        match j.how {
            Preempt::Usr1 => run("scancel", &["--signal=USR1", &j.id]),
            Preempt::Requeue => run("scontrol", &["requeue", &j.id]),
        };
    }
}

/// Waits until the job's log shows its script has started: a job SLURM
/// calls RUNNING may still be setting up.
fn wait_started(job: &Job) {
    let start = Instant::now();
    while !job.logs().contains("restart 0 on") {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the job's script did not start:\n{}",
            job.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Preempted {
    /// Waits for the requeued job to finish, then checks it was restarted
    /// once, resumed checkpointed runs, and wrote the local dataset.
    fn finish(self) {
        // A requeued job waits ~2 min (the credential lifetime) before it may start.
        wait_done(&self.job, &self.id, Duration::from_secs(600));
        let info = run("scontrol", &["show", "job", &self.id]);
        assert_eq!(
            field_values(&info, "Restarts"),
            ["1"],
            "{:?}: {info}",
            self.how
        );
        let logs = self.job.logs();
        assert!(
            logs.contains("restart 0 on") && logs.contains("restart 1 on"),
            "{logs}"
        );
        if let Preempt::Usr1 = self.how {
            assert!(logs.contains("requeueing job"), "{logs}");
        }
        assert!(
            logs.contains("resumed from checkpoints"),
            "{:?}: {logs}",
            self.how
        );
        assert!(
            checkpoints(&self.out).is_empty(),
            "checkpoints left in {}",
            self.out.display()
        );
        assert_same_dataset(&self.out, &self.job.reference());
    }
}

#[test]
#[ignore = "needs a running SLURM cluster: bash .ci/suites/cluster.sh"]
fn preempted_jobs_requeue_resume_and_write_the_local_sweeps_dataset() {
    // Both single-CPU jobs run and wait out their requeue delay together.
    let jobs = [Preempt::Usr1, Preempt::Requeue].map(|how| start_preempted(how, false));
    preempt_all(&jobs);
    for j in jobs {
        j.finish();
    }
}

#[test]
#[ignore = "needs a running SLURM cluster: bash .ci/suites/cluster.sh"]
fn preempted_mpi_job_requeues_resumes_and_writes_the_local_sweeps_dataset() {
    let job = start_preempted(Preempt::Usr1, true);
    preempt_all(std::slice::from_ref(&job));
    job.finish();
}

/// A private copy of `$SHARPSWEEP_MPI_BIN`.
fn mpi_binary(job: &Job) -> PathBuf {
    let built = std::env::var_os("SHARPSWEEP_MPI_BIN")
        .map(PathBuf::from)
        .expect(
            "SHARPSWEEP_MPI_BIN: a sharpsweep built with --features mpi (.ci/suites/cluster.sh sets it)",
        );
    let dir = job.path("mpi-bin");
    std::fs::create_dir_all(&dir).unwrap();
    private_binary(&dir, &built)
}
