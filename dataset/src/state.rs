//! Which parts of a sweep's dataset hold its runs: the one reading of a
//! dataset's state that the engine (`sweep`, `status`, `compact`, `verify`)
//! and `analyze` share, so they cannot disagree about which rows exist.
//!
//! # The runs parts are the completion journal
//! A run is done iff its row is in a *live* runs part. A flush writes the
//! trajectories part, then the runs part of the same name, which records
//! the trajectories part's checksum; each file appears atomically
//! ([`crate::write`]). A crash therefore leaves nothing, a trajectories part
//! without its runs part (*unpaired*: its runs are not done), or the pair.
//!
//! A compaction writes a merged pair whose runs part lists the parts it
//! replaces ([`KEY_REPLACES`]), then deletes them; until they are gone they
//! are *replaced*, not live, so no run counts twice.
//!
//! A part is *damaged* if either file of its pair fails its checksum, does
//! not decode, is not the table it should be, or the two do not belong
//! together. Its runs are not done. Files without a checksum (written
//! before checksums, or rewritten by another tool) are checked by decoding
//! the columns read here, and listed as unsealed.

use crate::checksum::{Verdict, recorded, verify};
use crate::layout::{RUNS, TRAJECTORIES, entries};
use crate::metadata::{
    KEY_CONFIG, KEY_PARTNER_CHECKSUM, KEY_REPLACES, KEY_TABLE, STATUS_FAILED, TABLE_RUNS,
    TABLE_TRAJECTORY,
};
use crate::schema::runs::{RUN_ID, STATUS};
use crate::strings::{key_values, read_strings};
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

/// A run as its runs part records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartRun {
    pub run_id: String,
    pub status: String,
}

/// A live part: its runs and what its metadata says.
#[derive(Clone, Debug)]
pub struct Part {
    pub name: String,
    pub runs: Vec<PartRun>,
    /// The fingerprint of the grid the part was written for.
    pub fingerprint: Option<String>,
    /// Checked by decoding only (no checksum).
    pub unsealed: bool,
}

/// A part that cannot be trusted, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    pub name: String,
    /// The file found damaged (`runs/<name>` or `trajectories/<name>`).
    pub file: PathBuf,
    pub why: String,
}

/// What [`State::read`] found.
#[derive(Clone, Debug, Default)]
pub struct State {
    /// Live parts, by name.
    pub live: Vec<Part>,
    /// Parts a compaction replaced, still on disk.
    pub replaced: Vec<String>,
    pub damaged: Vec<Damage>,
    /// Trajectories parts without a runs part (a writer died, or is
    /// writing it now).
    pub unpaired: Vec<String>,
    /// Hidden temporaries in `runs/` and `trajectories/`: (table dir, name).
    pub temporaries: Vec<(&'static str, String)>,
}

/// How much of each file [`State::read`] checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Every byte against the file's checksum.
    Bytes,
    /// Footers and the columns read only, trusting that the bytes were
    /// checked a moment ago by another process of the same job (MPI ranks
    /// after rank 0's check), so a job reads a large dataset once.
    Footers,
}

/// A run that is done: its status and the part holding it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Done<'a> {
    pub status: &'a str,
    pub part: &'a str,
}

impl State {
    /// Reads the state of the sweep dataset in `dir`, checking every byte
    /// of every part against its checksum. Errors are the file system's;
    /// damage is reported in [`State::damaged`].
    pub fn read(dir: &Path) -> io::Result<State> {
        Self::read_checking(dir, Check::Bytes)
    }

    /// [`State::read`], checking as much as `check` says.
    pub fn read_checking(dir: &Path, check: Check) -> io::Result<State> {
        let runs_dir = dir.join(RUNS);
        let traj_dir = dir.join(TRAJECTORIES);
        let run_names = entries(&runs_dir, false)?;
        let traj_names = entries(&traj_dir, false)?;
        let mut state = State::default();
        for (table, d) in [(RUNS, &runs_dir), (TRAJECTORIES, &traj_dir)] {
            state
                .temporaries
                .extend(entries(d, true)?.into_iter().map(|n| (table, n)));
        }
        state.unpaired = traj_names
            .iter()
            .filter(|n| run_names.binary_search(n).is_err())
            .cloned()
            .collect();
        let paired: Vec<&String> = run_names
            .iter()
            .filter(|n| traj_names.binary_search(n).is_ok())
            .collect();
        let mut files: Vec<PathBuf> = run_names.iter().map(|n| runs_dir.join(n)).collect();
        files.extend(paired.iter().map(|n| traj_dir.join(n)));
        let verdicts = match check {
            Check::Bytes => verify_all(&files),
            Check::Footers => files.iter().map(|f| recorded(f)).collect(),
        };
        let mut verdicts = verdicts.into_iter();
        let run_verdicts: Vec<_> = verdicts.by_ref().take(run_names.len()).collect();
        let traj_verdicts: BTreeMap<&str, io::Result<Verdict>> =
            paired.iter().map(|n| n.as_str()).zip(verdicts).collect();

        let mut candidates = Vec::new();
        let mut replaced = BTreeSet::new();
        for (name, verdict) in run_names.iter().zip(run_verdicts) {
            let path = runs_dir.join(name);
            match verdict.and_then(|v| read_runs_part(&path, v)) {
                Ok(part) => {
                    replaced.extend(part.replaces.iter().cloned());
                    candidates.push((name, part));
                }
                // Removed since it was listed (a compaction finishing).
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    state.damage(name, RUNS, e.to_string())
                }
                Err(e) => return Err(with_path(&path, e)),
            }
        }
        for (name, part) in candidates {
            if replaced.contains(name) {
                state.replaced.push(name.clone());
                continue;
            }
            let path = traj_dir.join(name);
            let verdict = match traj_verdicts.get(name.as_str()) {
                None => Err(damaged("its trajectories part is missing")),
                Some(Ok(v)) => Ok(*v),
                Some(Err(e)) => Err(io::Error::new(e.kind(), e.to_string())),
            };
            match verdict.and_then(|v| check_partner(&path, v, &part)) {
                Ok(()) => state.live.push(Part {
                    name: name.clone(),
                    runs: part.runs,
                    fingerprint: part.fingerprint,
                    unsealed: part.unsealed,
                }),
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    state.damage(name, TRAJECTORIES, e.to_string())
                }
                // Removed since it was listed, with its runs part (a
                // compaction finishing): neither counts.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(with_path(&path, e)),
            }
        }
        // A damaged part that a live compacted part replaced holds nothing
        // that is not elsewhere: it is replaced, not lost.
        let (gone, damaged): (Vec<_>, Vec<_>) = std::mem::take(&mut state.damaged)
            .into_iter()
            .partition(|d| replaced.contains(&d.name));
        state.replaced.extend(gone.into_iter().map(|d| d.name));
        state.damaged = damaged;
        Ok(state)
    }

    fn damage(&mut self, name: &str, table: &str, why: String) {
        self.damaged.push(Damage {
            name: name.to_string(),
            file: Path::new(table).join(name),
            why,
        });
    }

    /// Every done run with its status and part; a run in two live parts
    /// (possible only if shards of different counts once ran at the same
    /// time) counts in the first, and the second copies are counted.
    pub fn done(&self) -> (BTreeMap<&str, Done<'_>>, usize) {
        let mut done = BTreeMap::new();
        let mut duplicates = 0;
        for part in &self.live {
            for run in &part.runs {
                let d = Done {
                    status: &run.status,
                    part: &part.name,
                };
                match done.entry(run.run_id.as_str()) {
                    Entry::Occupied(_) => duplicates += 1,
                    Entry::Vacant(v) => {
                        v.insert(d);
                    }
                }
            }
        }
        (done, duplicates)
    }
}

fn damaged(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.into())
}

fn with_path(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// [`verify`] over many files, on every core: the bytes of a large
/// dataset are read at the speed of the disk rather than of one hash.
pub fn verify_all(files: &[PathBuf]) -> Vec<io::Result<Verdict>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<Option<io::Result<Verdict>>> = (0..files.len()).map(|_| None).collect();
    let found = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(f) = files.get(i) else { break };
                    mine.push((i, verify(f)));
                }
                found.lock().expect("no panic holds it").extend(mine);
            });
        }
    });
    for (i, r) in found.into_inner().expect("no panic holds it") {
        results[i] = Some(r);
    }
    results
        .into_iter()
        .map(|r| r.expect("every file verified"))
        .collect()
}

/// A runs part as read: its runs and metadata.
struct RunsPart {
    runs: Vec<PartRun>,
    replaces: Vec<String>,
    fingerprint: Option<String>,
    /// The checksum its trajectories part must have, if recorded.
    partner: Option<u32>,
    unsealed: bool,
}

fn read_runs_part(path: &Path, verdict: Verdict) -> io::Result<RunsPart> {
    let kv = key_values(path)?;
    let get = |k: &str| kv.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    if get(KEY_TABLE).is_some_and(|t| t != TABLE_RUNS) {
        return Err(damaged("not a runs table"));
    }
    let rows = read_strings(path, &[RUN_ID.name, STATUS.name])?;
    let runs = rows
        .into_iter()
        .map(|r| match <[Option<String>; 2]>::try_from(r) {
            Ok([Some(run_id), Some(status)]) => Ok(PartRun { run_id, status }),
            _ => Err(damaged("null run_id or status")),
        })
        .collect::<io::Result<_>>()?;
    let replaces = match get(KEY_REPLACES) {
        Some(json) => serde_json::from_str(json)
            .map_err(|e| damaged(format!("{KEY_REPLACES} is not a list of names: {e}")))?,
        None => Vec::new(),
    };
    let fingerprint = get(KEY_CONFIG)
        .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
        .and_then(|c| c.get("fingerprint")?.as_str().map(str::to_string));
    let partner = match get(KEY_PARTNER_CHECKSUM) {
        Some(hex) => Some(
            u32::from_str_radix(hex, 16)
                .map_err(|_| damaged(format!("{KEY_PARTNER_CHECKSUM} is not hex")))?,
        ),
        None => None,
    };
    Ok(RunsPart {
        runs,
        replaces,
        fingerprint,
        partner,
        unsealed: verdict == Verdict::Unsealed,
    })
}

/// A trajectories part must be the one written with its runs part: the
/// checksum the runs part recorded, or (unsealed) rows of exactly its runs
/// that have any (failed runs have none).
fn check_partner(path: &Path, verdict: Verdict, part: &RunsPart) -> io::Result<()> {
    match (part.partner, verdict) {
        (Some(want), Verdict::Intact(crc)) if want == crc => return Ok(()),
        (Some(_), _) => {
            return Err(damaged(
                "its trajectories part is not the one written with it",
            ));
        }
        (None, _) => {}
    }
    let kv = key_values(path)?;
    if kv
        .iter()
        .any(|(k, v)| k == KEY_TABLE && v != TABLE_TRAJECTORY)
    {
        return Err(damaged("its trajectories part is not a trajectory table"));
    }
    let mut seen = BTreeSet::new();
    for r in read_strings(path, &[RUN_ID.name])? {
        seen.insert(
            r.into_iter()
                .next()
                .flatten()
                .ok_or_else(|| damaged("null run_id"))?,
        );
    }
    let want: BTreeSet<String> = part
        .runs
        .iter()
        .filter(|r| r.status != STATUS_FAILED)
        .map(|r| r.run_id.clone())
        .collect();
    if seen != want {
        return Err(damaged("its trajectories part does not match its runs"));
    }
    Ok(())
}

/// Checks a single run's pair (`runs.parquet` + `trajectory.parquet`):
/// both intact, and the trajectory file the one the runs file recorded.
/// Returns the damage found, if any.
pub fn check_single_run(dir: &Path) -> io::Result<Option<Damage>> {
    use crate::layout::{SINGLE_RUNS, SINGLE_TRAJECTORY};
    let files = [dir.join(SINGLE_RUNS), dir.join(SINGLE_TRAJECTORY)];
    let mut verdicts = verify_all(&files).into_iter();
    let damage = |file: &str, e: io::Error| {
        if e.kind() == io::ErrorKind::InvalidData || e.kind() == io::ErrorKind::NotFound {
            Ok(Some(Damage {
                name: file.to_string(),
                file: PathBuf::from(file),
                why: e.to_string(),
            }))
        } else {
            Err(with_path(&dir.join(file), e))
        }
    };
    let runs = match verdicts
        .next()
        .expect("two files")
        .and_then(|v| read_runs_part(&files[0], v))
    {
        Ok(r) => r,
        Err(e) => return damage(SINGLE_RUNS, e),
    };
    match verdicts
        .next()
        .expect("two files")
        .and_then(|v| check_partner(&files[1], v, &runs))
    {
        Ok(()) => Ok(None),
        Err(e) => damage(SINGLE_TRAJECTORY, e),
    }
}
