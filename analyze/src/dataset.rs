//! Finding a dataset's files and streaming their rows.
//!
//! Two layouts are read: a single run (`runs.parquet` + `trajectory.parquet`,
//! what `sharpsweep run --out DIR` writes) and a sweep (`runs/part-*.parquet`
//! and `trajectories/part-*.parquet`, with `grid.json` and `provenance.json`
//! beside them). Files are read one row group at a time and only in the
//! columns asked for, so a dataset of 10⁷ trajectory rows never sits in
//! memory whole.

use crate::columns::Batch;
use crate::error::{AnalyzeError, Result};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use serde::Deserialize;
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub use sharpsweep_dataset::Layout;
use sharpsweep_dataset::metadata::{
    KEY_SCHEMA_VERSION, READABLE_VERSIONS, readable, schema_version,
};
use sharpsweep_dataset::{State, check_single_run};

/// Rows decoded at a time.
const BATCH_ROWS: usize = 8192;

/// One Parquet file of the dataset, opened: its footer is read once.
pub struct DataFile {
    pub path: PathBuf,
    meta: ArrowReaderMetadata,
    /// Compressed bytes of the column chunks the scans have asked for.
    bytes_read: AtomicU64,
}

impl DataFile {
    fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| AnalyzeError::io(path, e))?;
        let meta = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
            .map_err(|e| AnalyzeError::corrupt(path, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            meta,
            bytes_read: AtomicU64::new(0),
        })
    }

    /// Compressed bytes of every column chunk of the file.
    pub fn bytes(&self) -> u64 {
        let md = self.meta.metadata();
        md.row_groups()
            .iter()
            .flat_map(|rg| rg.columns())
            .map(|c| c.compressed_size().max(0) as u64)
            .sum()
    }

    /// Compressed bytes of the column chunks scanned so far (a chunk scanned
    /// twice counts twice): what reading "only the needed columns, one row
    /// group at a time" comes to.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::Relaxed)
    }

    /// The file's key-value metadata (`sharpsweep.*`, and whatever another
    /// writer added), in file order.
    pub fn key_values(&self) -> Vec<(String, String)> {
        let kv = self.meta.metadata().file_metadata().key_value_metadata();
        kv.map(|kv| {
            kv.iter()
                .filter(|k| k.key != "ARROW:schema")
                .map(|k| (k.key.clone(), k.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
    }

    pub fn rows(&self) -> i64 {
        self.meta.metadata().file_metadata().num_rows()
    }

    pub fn row_groups(&self) -> usize {
        self.meta.metadata().num_row_groups()
    }

    /// A file of another schema version is refused; a file without the key
    /// (rewritten by pandas or polars, which drop it) is read by column names.
    fn check_version(&self) -> Result<bool> {
        match schema_version(&self.key_values()) {
            Some(v) if readable(v) => Ok(true),
            Some(v) => Err(AnalyzeError::SchemaVersion {
                file: self.path.clone(),
                found: v.to_string(),
                expected: format!("{}–{}", READABLE_VERSIONS.start(), READABLE_VERSIONS.end()),
            }),
            None => Ok(false),
        }
    }

    /// Fails naming the first of `columns` the file does not have.
    pub fn require(&self, columns: &[&str]) -> Result<()> {
        let schema = self.meta.schema();
        match columns.iter().find(|c| schema.index_of(c).is_err()) {
            Some(c) => Err(AnalyzeError::MissingColumn {
                file: self.path.clone(),
                column: c.to_string(),
            }),
            None => Ok(()),
        }
    }

    pub fn has(&self, column: &str) -> bool {
        self.meta.schema().index_of(column).is_ok()
    }

    /// Streams row group `row_group` in `columns` only, batch by batch.
    pub fn scan(
        &self,
        row_group: usize,
        columns: &[&str],
        mut each: impl FnMut(Batch) -> Result<()>,
    ) -> Result<()> {
        self.require(columns)?;
        let schema = self.meta.schema();
        let roots: Vec<usize> = columns
            .iter()
            .filter_map(|c| schema.index_of(c).ok())
            .collect();
        let file = File::open(&self.path).map_err(|e| AnalyzeError::io(&self.path, e))?;
        let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, self.meta.clone());
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
        let chunks = self.meta.metadata().row_group(row_group).columns();
        let bytes: i64 = chunks
            .iter()
            .enumerate()
            .filter(|(leaf, _)| mask.leaf_included(*leaf))
            .map(|(_, c)| c.compressed_size())
            .sum();
        self.bytes_read
            .fetch_add(bytes.max(0) as u64, Ordering::Relaxed);
        let reader = builder
            .with_projection(mask)
            .with_row_groups(vec![row_group])
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|e| AnalyzeError::corrupt(&self.path, e))?;
        for batch in reader {
            let batch = batch.map_err(|e| AnalyzeError::corrupt(&self.path, e))?;
            each(Batch {
                file: &self.path,
                batch,
            })?;
        }
        Ok(())
    }
}

/// A dataset on disk: its files, opened and checked, and its provenance.
pub struct LoadedDataset {
    pub dir: PathBuf,
    pub layout: Layout,
    pub runs: Vec<DataFile>,
    pub trajectories: Vec<DataFile>,
    /// `grid.json`, `provenance.json` (sweep layout), by file name.
    pub provenance: Vec<(String, String)>,
    /// Things a reader should know (files without a schema version).
    pub notes: Vec<String>,
}

/// Bytes of a provenance file shown in a report. A sweep's `grid.json` lists
/// every point (about 100 bytes each, megabytes for 10⁵ runs): the report
/// shows its beginning and says where the rest is.
const PROVENANCE_BYTES: u64 = 16 * 1024;

/// The first [`PROVENANCE_BYTES`] of a text file, with a note if there is more.
fn head(path: &Path) -> Result<String> {
    use std::io::Read;
    let io = |e| AnalyzeError::io(path, e);
    let file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let mut bytes = Vec::new();
    file.take(PROVENANCE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if len > PROVENANCE_BYTES {
        text += &format!(
            "\n… (the first {PROVENANCE_BYTES} of {len} bytes; the whole file is {})",
            path.display()
        );
    }
    Ok(text)
}

impl LoadedDataset {
    /// The `[[grid]]` table of each run_id, from a sweep's `grid.json` (its
    /// `grid.points`); empty when there is no such file or it predates the
    /// tables. Read as a stream, into only these two fields of each point.
    pub fn grid_tables(&self) -> Result<HashMap<String, usize>> {
        #[derive(Deserialize)]
        struct GridFile {
            grid: Option<Expanded>,
        }
        #[derive(Deserialize)]
        struct Expanded {
            #[serde(default)]
            points: Vec<Point>,
        }
        #[derive(Deserialize)]
        struct Point {
            run_id: String,
            table: Option<usize>,
        }
        let path = self.dir.join("grid.json");
        if self.layout != Layout::Sweep || !path.is_file() {
            return Ok(HashMap::new());
        }
        let file = File::open(&path).map_err(|e| AnalyzeError::io(&path, e))?;
        let grid: GridFile = serde_json::from_reader(std::io::BufReader::new(file))
            .map_err(|e| AnalyzeError::invalid(&path, e))?;
        Ok(grid
            .grid
            .map(|g| g.points)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| Some((p.run_id, p.table?)))
            .collect())
    }

    /// The sharpsweep subcommand that wrote the dataset ("sweep",
    /// "reproduce", …), from `provenance.json`'s first session; `None` for
    /// a single run or when it does not say.
    pub fn made_by(&self) -> Option<String> {
        #[derive(Deserialize)]
        struct Provenance {
            sessions: Vec<Session>,
        }
        #[derive(Deserialize)]
        struct Session {
            command: Vec<String>,
        }
        let file = File::open(self.dir.join("provenance.json")).ok()?;
        let p: Provenance = serde_json::from_reader(std::io::BufReader::new(file)).ok()?;
        let command = &p.sessions.first()?.command;
        command
            .iter()
            .skip(1)
            .find(|a| !a.starts_with('-'))
            .cloned()
    }

    /// Opens the dataset in `dir` the way the engine reads it (the dataset
    /// contract's [`State`]): every file checked against its checksum, only
    /// live parts read (not those a compaction replaced, nor trajectories
    /// parts whose runs part was never written), and any damage refused
    /// with the file named and what to run.
    pub fn open(dir: &Path) -> Result<Self> {
        let damaged = |d: sharpsweep_dataset::Damage, fix: &str| AnalyzeError::Damaged {
            file: dir.join(&d.file),
            why: d.why,
            fix: fix.replace("DIR", &dir.display().to_string()),
        };
        let mut notes = Vec::new();
        let (layout, runs, trajectories) = match Layout::of(dir) {
            Some(Layout::SingleRun) => {
                if let Some(d) = check_single_run(dir).map_err(|e| AnalyzeError::io(dir, e))? {
                    return Err(damaged(d, "run `sharpsweep run` again with --out DIR"));
                }
                (
                    Layout::SingleRun,
                    vec![dir.join("runs.parquet")],
                    vec![dir.join("trajectory.parquet")],
                )
            }
            Some(Layout::Sweep) => {
                let state = State::read(dir).map_err(|e| AnalyzeError::io(dir, e))?;
                if let Some(d) = state.damaged.first().cloned() {
                    return Err(damaged(
                        d,
                        "`sharpsweep verify DIR` lists every damaged file; resuming the sweep \
                         (`sharpsweep sweep GRID --out DIR`) redoes their runs",
                    ));
                }
                let (_, duplicates) = state.done();
                if duplicates > 0 {
                    notes.push(format!(
                        "{duplicates} run(s) are in two part files (shards of different counts \
                         ran at once); both copies are read"
                    ));
                }
                let unsealed: Vec<&str> = state
                    .live
                    .iter()
                    .filter(|p| p.unsealed)
                    .map(|p| p.name.as_str())
                    .collect();
                if !unsealed.is_empty() {
                    notes.push(format!(
                        "{} part(s) carry no checksum (written by another tool or an older \
                         version) and were checked by decoding only: {}",
                        unsealed.len(),
                        unsealed.join(", ")
                    ));
                }
                let names = state.live.iter().map(|p| &p.name);
                (
                    Layout::Sweep,
                    names.clone().map(|n| dir.join("runs").join(n)).collect(),
                    names.map(|n| dir.join("trajectories").join(n)).collect(),
                )
            }
            None => return Err(AnalyzeError::NotADataset(dir.to_path_buf())),
        };
        if runs.is_empty() {
            return Err(AnalyzeError::invalid(
                &dir.join("runs"),
                "no part-*.parquet files (has the sweep written anything yet?)",
            ));
        }
        let mut unversioned = Vec::new();
        let mut open_all = |paths: Vec<PathBuf>| -> Result<Vec<DataFile>> {
            paths
                .iter()
                .map(|p| {
                    let f = DataFile::open(p)?;
                    if !f.check_version()? {
                        unversioned.push(p.display().to_string());
                    }
                    Ok(f)
                })
                .collect()
        };
        let runs = open_all(runs)?;
        let trajectories = open_all(trajectories)?;
        if !unversioned.is_empty() {
            notes.push(format!(
                "{} file(s) carry no {KEY_SCHEMA_VERSION} (rewritten by another tool?) and were read by column names: {}",
                unversioned.len(),
                unversioned.join(", ")
            ));
        }
        let mut provenance = Vec::new();
        for name in ["grid.json", "provenance.json"] {
            let path = dir.join(name);
            if path.is_file() {
                provenance.push((name.to_string(), head(&path)?));
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            layout,
            runs,
            trajectories,
            provenance,
            notes,
        })
    }
}
