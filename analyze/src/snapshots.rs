//! The second, targeted pass: the pre-activation matrix Z (`z` column,
//! n×m row-major) at chosen `(run, step)` pairs, read only from the row
//! groups that hold those runs.

use crate::dataset::Dataset;
use crate::error::Result;
use crate::runs::Run;
use crate::trajectory::RunTrace;
use std::collections::{BTreeSet, HashMap};

/// Z at each wanted `(run index, step)`.
pub type Snapshots = HashMap<(usize, i64), Vec<f64>>;

pub fn read(
    ds: &Dataset,
    runs: &[Run],
    traces: &[RunTrace],
    wanted: &BTreeSet<(usize, i64)>,
) -> Result<Snapshots> {
    let index: HashMap<&str, usize> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| (r.run_id.as_str(), i))
        .collect();
    let groups: BTreeSet<(usize, usize)> = wanted
        .iter()
        .flat_map(|(run, _)| traces[*run].locations.iter().copied())
        .collect();
    let mut out = Snapshots::new();
    for (f, rg) in groups {
        let file = &ds.trajectories[f];
        file.scan(rg, &["run_id", "step", "z"], |b| {
            let ids = b.strings("run_id")?;
            let steps = b.integers("step")?;
            let hits: Vec<(usize, (usize, i64))> = (0..b.rows())
                .filter_map(|i| {
                    let run = *index.get(ids[i].as_deref()?)?;
                    let key = (run, steps[i]?);
                    wanted.contains(&key).then_some((i, key))
                })
                .collect();
            if hits.is_empty() {
                return Ok(());
            }
            let mut z = b.float_lists("z")?;
            for (i, key) in hits {
                out.insert(key, std::mem::take(&mut z[i]));
            }
            Ok(())
        })?;
    }
    Ok(out)
}
