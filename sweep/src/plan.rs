//! A sweep's points: one configuration per distinct run id, where each sits
//! in its grid, and the identity the dataset records for them.

use crate::dataset::Identity;
use crate::grid::Grid;
use crate::schema::RunRecord;
use sharpsweep_core::{RunConfig, RunId};
use std::collections::{HashMap, HashSet};

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
        let points = grid.points.iter().map(|p| p.run_id).zip(grid.configs());
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
    pub(crate) fn part_config(&self) -> String {
        let mut config = serde_json::json!({ "fingerprint": self.identity.fingerprint });
        if let Some(grid) = &self.grid {
            config["grid"] = grid.clone();
        }
        config.to_string()
    }

    /// Fills in `record`'s place in the grid.
    pub(crate) fn place(&self, record: &mut RunRecord) {
        if let Some(o) = self.origins.get(&record.run_id) {
            record.grid_table = Some(o.table);
            record.replicate = Some(o.replicate);
        }
    }
}
