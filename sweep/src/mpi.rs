//! MPI ranks as a [`Team`] (cargo feature `mpi`): `mpirun -np R sharpsweep
//! sweep …` gives rank r the shard r of R (of `--shard K/N` if given).
//!
//! MPI is initialised `Funneled` and called only from the thread that runs
//! [`run_plan`](crate::run_plan): the workers never touch it. Ranks other
//! than 0 send their progress ([`Tally`]: runs done, run-steps done and to
//! do) to rank 0 about once a second (tag 1), their final progress and then
//! their final report (tag 2) last; rank 0 draws progress for the job (the
//! sums: its rate is every rank's, its ETA the job's work left over it) and
//! returns the job's report. Because one sender's messages arrive in order,
//! rank 0 has received everything once it holds every final report.
//!
//! A panic anywhere (except inside a run, which is recorded as `failed`)
//! calls `MPI_Abort`, so the launcher kills every rank instead of leaving
//! the others waiting forever.

use crate::panics::panic_is_caught;
use crate::progress::Tally;
use crate::report::SweepReport;
use crate::team::Team;
use mpi::Threading;
use mpi::collective::SystemOperation;
use mpi::environment::Universe;
use mpi::point_to_point::MatchedReceiveVec;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use std::time::{Duration, Instant};

const TAG_PROGRESS: i32 = 1;
const TAG_FINAL: i32 = 2;

pub struct MpiTeam {
    world: SimpleCommunicator,
    rank: usize,
    size: usize,
    /// At rank 0: the last progress of every rank…
    done: Vec<Tally>,
    /// …and the final reports received so far (they may arrive while rank
    /// 0 is still working, in [`Team::done_everywhere`]).
    finals: Vec<[u64; SweepReport::COUNTS]>,
    last_sent: Option<Instant>,
    // Dropped last: finalises MPI.
    _universe: Universe,
}

/// Whether an MPI launcher (OpenMPI, MPICH/PMI, PMIx, Slurm's srun with
/// PMI) started this process.
pub fn launched_by_mpi() -> bool {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
}

impl MpiTeam {
    /// Initialises MPI if an MPI launcher started this process. A panic
    /// that no run catches aborts the whole job, after `aborting` (which
    /// tells the user so).
    pub fn init(aborting: impl Fn() + Send + Sync + 'static) -> Option<MpiTeam> {
        if !launched_by_mpi() {
            return None;
        }
        let (universe, _threading) = mpi::initialize_with_threading(Threading::Funneled)?;
        let world = universe.world();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            if !panic_is_caught() {
                aborting();
                // SAFETY: MPI is initialised (this hook is installed after
                // it); MPI_Abort does not return.
                unsafe {
                    mpi::ffi::MPI_Abort(mpi::ffi::RSMPI_COMM_WORLD, 101);
                }
            }
        }));
        Some(MpiTeam {
            rank: world.rank() as usize,
            size: world.size() as usize,
            done: vec![Tally::default(); world.size() as usize],
            finals: Vec::new(),
            last_sent: None,
            world,
            _universe: universe,
        })
    }

    fn send_progress(&self, mine: Tally) {
        self.world
            .process_at_rank(0)
            .send_with_tag(&mine.to_array()[..], TAG_PROGRESS);
    }

    /// Takes one pending message at rank 0 (blocking if `wait`); false if
    /// there was none.
    fn receive(&mut self, wait: bool) -> bool {
        let probed = if wait {
            self.world.any_process().matched_probe()
        } else {
            match self.world.any_process().immediate_matched_probe() {
                Some(p) => p,
                None => return false,
            }
        };
        let (data, status) = probed.matched_receive_vec::<u64>();
        let from = status.source_rank() as usize;
        if status.tag() == TAG_FINAL {
            let mut counts = [0; SweepReport::COUNTS];
            counts.copy_from_slice(&data[..SweepReport::COUNTS]);
            self.finals.push(counts);
        } else {
            let mut tally = [0; 7];
            tally.copy_from_slice(&data[..7]);
            self.done[from] = Tally::from_array(tally);
        }
        true
    }
}

impl Team for MpiTeam {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn all_ok(&mut self, ok: bool) -> bool {
        let mut all = 0_i32;
        self.world
            .all_reduce_into(&i32::from(ok), &mut all, SystemOperation::min());
        all == 1
    }
    fn sum(&mut self, value: usize) -> usize {
        let mut total = 0_u64;
        self.world
            .all_reduce_into(&(value as u64), &mut total, SystemOperation::sum());
        total as usize
    }
    fn report(&mut self, mine: Tally) {
        if self.rank == 0
            || self
                .last_sent
                .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            return;
        }
        self.last_sent = Some(Instant::now());
        self.send_progress(mine);
    }
    fn done_everywhere(&mut self, mine: Tally) -> Tally {
        if self.rank == 0 {
            while self.receive(false) {}
            self.done[0] = mine;
        }
        self.done.iter().copied().sum()
    }
    fn finish(
        &mut self,
        mine: SweepReport,
        last: Tally,
        progress: &mut dyn FnMut(Tally),
    ) -> SweepReport {
        let counts = mine.to_counts();
        if self.rank != 0 {
            self.send_progress(last);
            self.world
                .process_at_rank(0)
                .send_with_tag(&counts[..], TAG_FINAL);
            return mine;
        }
        self.done[0] = last;
        while self.finals.len() + 1 < self.size {
            self.receive(true);
            progress(self.done.iter().copied().sum());
        }
        let mut reports = std::mem::take(&mut self.finals);
        reports.push(counts);
        SweepReport::sum(&reports)
    }
}
