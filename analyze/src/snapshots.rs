//! The second, targeted pass: the pre-activation matrix Z (`z` column,
//! n×m row-major) at chosen `(run, step)` pairs, read only from the row
//! groups that hold those runs and decoded only in the rows asked for.
//! Each Z is handed to the caller as it is read, so a pass over the final Z
//! of 10⁵ runs keeps none of them.

use crate::dataset::LoadedDataset;
use crate::error::Result;
use crate::runs::Run;
use crate::trajectory::RunTrace;
use std::collections::{BTreeSet, HashMap};

/// Z at chosen `(run index, step)` pairs, kept for a figure.
pub type Snapshots = HashMap<(usize, i64), Vec<f64>>;

/// Calls `each(run index, step, Z)` for every wanted `(run index, step)`
/// found in the trajectories.
pub fn read(
    ds: &LoadedDataset,
    runs: &[Run],
    traces: &[RunTrace],
    wanted: &BTreeSet<(usize, i64)>,
    mut each: impl FnMut(usize, i64, &[f64]),
) -> Result<()> {
    let index: HashMap<&str, usize> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| (r.run_id.as_str(), i))
        .collect();
    let groups: BTreeSet<(usize, usize)> = wanted
        .iter()
        .flat_map(|(run, _)| traces[*run].locations.iter().copied())
        .collect();
    for (f, rg) in groups {
        let file = &ds.trajectories[f];
        file.scan(rg, &["run_id", "step", "z"], |b| {
            let ids = b.strings("run_id")?;
            let steps = b.integers("step")?;
            let z = b.float_lists("z")?;
            for i in 0..b.rows() {
                let (Some(id), Some(step)) = (ids.get(i), steps[i]) else {
                    continue;
                };
                if let Some(&run) = index.get(id)
                    && wanted.contains(&(run, step))
                {
                    each(run, step, &z.row(i));
                }
            }
            Ok(())
        })?;
    }
    Ok(())
}
