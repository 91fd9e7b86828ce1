//! What every file of a dataset says about itself: the key-value metadata
//! of its Parquet footer, and the values of the columns the dataset's
//! bookkeeping reads.

/// Bumped whenever a column is added, removed or changes meaning.
pub const SCHEMA_VERSION: u32 = 5;

/// The versions a reader of this version understands, read by column
/// names: version 3 (before `trace_stability_b` and the checksums) and
/// version 4 (before `replicate`, `grid_table`, `cell`, `assumption_3_1`
/// and the configuration columns `log_points`, `log_every`, `hessian`,
/// `diverge_loss`, `cluster_tol`; `analyze` derives what it needs of them
/// from the `config` column).
pub const READABLE_VERSIONS: std::ops::RangeInclusive<u32> = 3..=SCHEMA_VERSION;

/// `sharpsweep.schema_version`: the [`SCHEMA_VERSION`] a file was written with.
pub const KEY_SCHEMA_VERSION: &str = "sharpsweep.schema_version";
/// `sharpsweep.version`: the version of the tool that wrote the file.
pub const KEY_TOOL_VERSION: &str = "sharpsweep.version";
/// `sharpsweep.table`: [`TABLE_RUNS`] or [`TABLE_TRAJECTORY`].
pub const KEY_TABLE: &str = "sharpsweep.table";
/// `sharpsweep.config`: a run's configuration (`run`), or
/// `{"fingerprint": …, "grid": …}` of the grid a sweep's part belongs to:
/// its fingerprint and the grid itself (the grid file as JSON, `--set`
/// overrides under `"set"`).
pub const KEY_CONFIG: &str = "sharpsweep.config";
/// `sharpsweep.replaces`: a compacted (or rewritten) runs part's JSON list
/// of the part names it replaces.
pub const KEY_REPLACES: &str = "sharpsweep.replaces";
/// `sharpsweep.crc32`: the file's own checksum (see [`crate::checksum`]).
pub const KEY_CHECKSUM: &str = "sharpsweep.crc32";
/// `sharpsweep.trajectories_crc32`: a runs part's record of the checksum
/// of the trajectories part written with it, which ties the pair.
pub const KEY_PARTNER_CHECKSUM: &str = "sharpsweep.trajectories_crc32";

pub const TABLE_RUNS: &str = "runs";
pub const TABLE_TRAJECTORY: &str = "trajectory";

/// The values of the `status` column.
pub const STATUS_FINISHED: &str = "finished";
pub const STATUS_DIVERGED: &str = "diverged";
/// A run that could not be carried out; it has no trajectory rows.
pub const STATUS_FAILED: &str = "failed";
/// A `sharpsweep run` that a signal stopped: its rows so far; rerunning the
/// same command continues it from its checkpoint.
pub const STATUS_INTERRUPTED: &str = "interrupted";

/// A file's schema version, if it says one.
pub fn schema_version(kv: &[(String, String)]) -> Option<&str> {
    kv.iter()
        .find(|(k, _)| k == KEY_SCHEMA_VERSION)
        .map(|(_, v)| v.as_str())
}

/// Whether a reader of this version understands `version`.
pub fn readable(version: &str) -> bool {
    version
        .parse::<u32>()
        .is_ok_and(|v| READABLE_VERSIONS.contains(&v))
}
