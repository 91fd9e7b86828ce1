//! When a run records its metrics: step 0, log-spaced steps up to the budget
//! (so 10⁸-step runs stay cheap to measure and to store), optionally every
//! k steps as well, and always the last step.

/// The set of recorded steps, queried one at a time.
#[derive(Clone, Debug, PartialEq)]
pub struct LogSchedule {
    steps: u64,
    /// Sorted, distinct, in 1..=steps.
    log_steps: Vec<u64>,
    every: Option<u64>,
}

impl LogSchedule {
    /// `points` log-spaced steps `round(steps^(k/points))`, k = 1..=points,
    /// deduplicated; plus every multiple of `every`; plus 0 and `steps`.
    pub fn new(steps: u64, points: usize, every: Option<u64>) -> Self {
        let mut log_steps: Vec<u64> = if steps == 0 {
            Vec::new()
        } else {
            let ln = (steps as f64).ln();
            (1..=points)
                .map(|k| ((ln * k as f64 / points as f64).exp().round() as u64).clamp(1, steps))
                .collect()
        };
        log_steps.push(steps);
        log_steps.retain(|&s| s >= 1);
        log_steps.sort_unstable();
        log_steps.dedup();
        Self {
            steps,
            log_steps,
            every,
        }
    }

    /// The first recorded step after `s`, if any.
    pub fn next_after(&self, s: u64) -> Option<u64> {
        if s >= self.steps {
            return None;
        }
        let from_log = self.log_steps.iter().copied().find(|&t| t > s);
        let from_every = self
            .every
            .map(|k| (s / k + 1) * k)
            .filter(|&t| t <= self.steps);
        [from_log, from_every, Some(self.steps)]
            .into_iter()
            .flatten()
            .min()
    }

    /// Every recorded step, in order (for tests and for sizing outputs).
    pub fn all(&self) -> Vec<u64> {
        std::iter::successors(Some(0), |&s| self.next_after(s)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_at_zero_ends_at_the_budget_and_is_increasing() {
        let s = LogSchedule::new(1_000_000, 50, None);
        let all = s.all();
        assert_eq!(all.first(), Some(&0));
        assert_eq!(all.last(), Some(&1_000_000));
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        assert!(all.len() <= 52 && all.len() > 30, "{}", all.len());
    }

    #[test]
    fn linear_points_are_added() {
        let s = LogSchedule::new(100, 3, Some(25));
        let all = s.all();
        for t in [0, 25, 50, 75, 100] {
            assert!(all.contains(&t), "{all:?}");
        }
    }

    #[test]
    fn zero_steps_records_only_the_start() {
        assert_eq!(LogSchedule::new(0, 10, None).all(), vec![0]);
        assert_eq!(LogSchedule::new(1, 10, None).all(), vec![0, 1]);
    }
}
