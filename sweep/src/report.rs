//! What a sweep did, as counts that add up across shards and MPI ranks.

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
