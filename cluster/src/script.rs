//! The sbatch script of a sweep, rendered from the one template
//! `templates/sweep.sbatch`.
//!
//! The template is a shell script with two kinds of marks:
//! - `{{key}}` is replaced by the value of `key`; a line whose value is not
//!   given (an optional `#SBATCH` directive) is left out;
//! - lines between `#@array` or `#@mpi` and the next `#@…` mark are kept only
//!   in that mode (`#@end` closes a section).

use crate::error::{ClusterError, Result};
use crate::signals::EXIT_INTERRUPTED;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

const TEMPLATE: &str = include_str!("../templates/sweep.sbatch");

/// How the job's processes share the grid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A job array of single-process tasks, task i running shard i of N.
    /// Needs no MPI.
    Array(ArraySize),
    /// One job of `nodes` × `ntasks_per_node` MPI ranks.
    Mpi {
        nodes: Option<usize>,
        ntasks_per_node: usize,
    },
}

/// `--array N[%K]`: N tasks, at most K running at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArraySize {
    pub tasks: usize,
    pub at_once: Option<usize>,
}

impl FromStr for ArraySize {
    type Err = ClusterError;
    fn from_str(s: &str) -> Result<ArraySize> {
        let bad = || {
            ClusterError::flag(
                "--array",
                format!("expected N or N%K with N, K >= 1 (e.g. 64%16), got '{s}'"),
            )
        };
        let positive = |t: &str| t.trim().parse::<usize>().ok().filter(|&v| v >= 1);
        let (tasks, at_once) = match s.split_once('%') {
            Some((n, k)) => (n, Some(positive(k).ok_or_else(bad)?)),
            None => (s, None),
        };
        let tasks = positive(tasks).ok_or_else(bad)?;
        Ok(ArraySize { tasks, at_once })
    }
}

impl fmt::Display for ArraySize {
    /// The `--array` directive: task ids 0..N-1, so that ID - MIN is the shard.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0-{}", self.tasks - 1)?;
        if let Some(k) = self.at_once {
            write!(f, "%{k}")?;
        }
        Ok(())
    }
}

/// Everything the script says. Paths should be absolute: the job may start
/// in another directory on another machine.
#[derive(Clone, Debug)]
pub struct JobSpec {
    pub binary: PathBuf,
    pub grid: PathBuf,
    pub out: PathBuf,
    pub mode: Mode,
    pub job_name: String,
    pub cpus_per_task: Option<usize>,
    /// `--time`, in any of SLURM's forms (`90`, `4:00:00`, `2-00:00`).
    pub time: Option<String>,
    pub partition: Option<String>,
    pub account: Option<String>,
    /// Seconds before the time limit that SIGUSR1 comes.
    pub signal_lead: u64,
    /// Where the job's log goes (`None`: the directory sbatch runs in).
    pub log_dir: Option<PathBuf>,
    /// More arguments for `sharpsweep sweep` (`--checkpoint-every 600`).
    pub sweep_args: Vec<String>,
}

/// The default warning before the time limit: enough to checkpoint, plus
/// the up to 60 s SLURM may deliver the signal late.
pub const DEFAULT_SIGNAL_LEAD: u64 = 120;

impl JobSpec {
    /// The script, or an error naming the flag SLURM would choke on.
    pub fn render(&self) -> Result<String> {
        self.validate()?;
        let mode = match self.mode {
            Mode::Array(_) => "array",
            Mode::Mpi { .. } => "mpi",
        };
        let mut script = String::with_capacity(TEMPLATE.len());
        let mut section: Option<&str> = None;
        for line in TEMPLATE.lines() {
            if let Some(mark) = line.strip_prefix("#@") {
                section = (mark != "end").then_some(mark);
                continue;
            }
            if section.is_some_and(|s| s != mode) {
                continue;
            }
            if let Some(line) = self.fill(line) {
                script.push_str(&line);
                script.push('\n');
            }
        }
        Ok(script)
    }

    /// `line` with its `{{key}}`s replaced, or `None` if a value is not given.
    fn fill(&self, line: &str) -> Option<String> {
        let mut out = String::new();
        let mut rest = line;
        while let Some(start) = rest.find("{{") {
            let end = rest[start..]
                .find("}}")
                .map(|e| start + e)
                .unwrap_or_else(|| panic!("unclosed {{{{ in the template line '{line}'"));
            out.push_str(&rest[..start]);
            out.push_str(&self.value(&rest[start + 2..end])?);
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        Some(out)
    }

    /// The text for `key`; `None` for an optional value not given.
    fn value(&self, key: &str) -> Option<String> {
        let path = |p: &PathBuf| shell_quote(&p.to_string_lossy());
        let log_name = match self.mode {
            Mode::Array(_) => "%x-%A_%a.out",
            Mode::Mpi { .. } => "%x-%j.out",
        };
        match (key, &self.mode) {
            ("version", _) => Some(env!("CARGO_PKG_VERSION").to_string()),
            ("job_name", _) => Some(self.job_name.clone()),
            ("log", _) => Some(match &self.log_dir {
                Some(dir) => dir.join(log_name).to_string_lossy().into_owned(),
                None => log_name.to_string(),
            }),
            ("signal_lead", _) => Some(self.signal_lead.to_string()),
            ("exit_interrupted", _) => Some(EXIT_INTERRUPTED.to_string()),
            ("array", Mode::Array(size)) => Some(size.to_string()),
            ("nodes", Mode::Mpi { nodes, .. }) => nodes.map(|n| n.to_string()),
            (
                "ntasks_per_node",
                Mode::Mpi {
                    ntasks_per_node, ..
                },
            ) => Some(ntasks_per_node.to_string()),
            ("cpus_per_task", _) => self.cpus_per_task.map(|c| c.to_string()),
            ("time", _) => self.time.clone(),
            ("partition", _) => self.partition.clone(),
            ("account", _) => self.account.clone(),
            ("binary", _) => Some(path(&self.binary)),
            ("grid", _) => Some(path(&self.grid)),
            ("out", _) => Some(path(&self.out)),
            ("sweep_args", _) => Some(
                self.sweep_args
                    .iter()
                    .map(|a| format!(" {}", shell_quote(a)))
                    .collect(),
            ),
            _ => panic!(
                "the template asks for '{key}', which the {:?} mode has no value for",
                self.mode
            ),
        }
    }

    /// Refuses values that would break an `#SBATCH` line or the job.
    fn validate(&self) -> Result<()> {
        // sbatch reads a directive up to the first blank; a quote or a
        // newline would end it or start another one.
        let word = |flag: &str, value: &str| {
            if value.is_empty()
                || value
                    .chars()
                    .any(|c| c.is_whitespace() || "'\"\\#".contains(c))
            {
                Err(ClusterError::flag(
                    flag,
                    format!("'{value}' must be one word without quotes, backslashes or '#'"),
                ))
            } else {
                Ok(())
            }
        };
        word("--job-name", &self.job_name)?;
        for (flag, value) in [
            ("--partition", &self.partition),
            ("--account", &self.account),
        ] {
            if let Some(v) = value {
                word(flag, v)?;
            }
        }
        if let Some(dir) = &self.log_dir {
            word("--log-dir", &dir.to_string_lossy())?;
        }
        if self.cpus_per_task == Some(0) {
            return Err(ClusterError::flag("--cpus-per-task", "must be at least 1"));
        }
        if let Mode::Mpi {
            nodes,
            ntasks_per_node,
        } = self.mode
        {
            if nodes == Some(0) {
                return Err(ClusterError::flag("--nodes", "must be at least 1"));
            }
            if ntasks_per_node == 0 {
                return Err(ClusterError::flag(
                    "--ntasks-per-node",
                    "must be at least 1",
                ));
            }
        }
        if let Some(time) = &self.time {
            let limit = time_limit_seconds(time)?;
            if limit.is_some_and(|l| l <= self.signal_lead) {
                return Err(ClusterError::flag(
                    "--time",
                    format!(
                        "{time} is not longer than the {} s warning before it (--signal-lead): \
                         the sweep would be told to stop as soon as it starts",
                        self.signal_lead
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Seconds in a SLURM time limit (`None`: unlimited). Forms, as in sbatch:
/// `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S`, `UNLIMITED`/`INFINITE`.
pub fn time_limit_seconds(time: &str) -> Result<Option<u64>> {
    let bad = || {
        ClusterError::flag(
            "--time",
            format!("'{time}' is not a SLURM time (M, M:S, H:M:S, D-H, D-H:M or D-H:M:S)"),
        )
    };
    if ["unlimited", "infinite"].contains(&time.to_ascii_lowercase().as_str()) {
        return Ok(None);
    }
    let (days, clock) = match time.split_once('-') {
        Some((d, rest)) => (Some(d.parse::<u64>().map_err(|_| bad())?), rest),
        None => (None, time),
    };
    let parts = clock
        .split(':')
        .map(|p| p.parse::<u64>().map_err(|_| bad()))
        .collect::<Result<Vec<u64>>>()?;
    let seconds = match (days, parts.as_slice()) {
        (None, [m]) => m * 60,
        (None, [m, s]) => m * 60 + s,
        (None, [h, m, s]) => h * 3600 + m * 60 + s,
        (Some(d), [h]) => d * 86400 + h * 3600,
        (Some(d), [h, m]) => d * 86400 + h * 3600 + m * 60,
        (Some(d), [h, m, s]) => d * 86400 + h * 3600 + m * 60 + s,
        _ => return Err(bad()),
    };
    if seconds == 0 {
        return Err(ClusterError::flag("--time", "must be longer than 0"));
    }
    Ok(Some(seconds))
}

/// `s` as one shell word: unchanged if it is plainly safe, else single-quoted.
pub fn shell_quote(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A job name from the grid's file name: `sharpsweep-<stem>`, with anything
/// but letters, digits, `_`, `.` and `-` turned into `-`.
pub fn default_job_name(grid: &std::path::Path) -> String {
    let stem = grid
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if clean.is_empty() {
        "sharpsweep".to_string()
    } else {
        format!("sharpsweep-{clean}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(mode: Mode) -> JobSpec {
        JobSpec {
            binary: "/opt/sharpsweep/bin/sharpsweep".into(),
            grid: "/home/me/grids/eta scan.toml".into(),
            out: "/scratch/me/eta".into(),
            mode,
            job_name: "sharpsweep-eta".into(),
            cpus_per_task: Some(8),
            time: Some("04:00:00".into()),
            partition: Some("gpu-short".into()),
            account: Some("theory".into()),
            signal_lead: DEFAULT_SIGNAL_LEAD,
            log_dir: Some("/scratch/me/logs".into()),
            sweep_args: vec!["--checkpoint-every".into(), "600".into()],
        }
    }

    fn array(tasks: usize, at_once: Option<usize>) -> Mode {
        Mode::Array(ArraySize { tasks, at_once })
    }

    fn directives(script: &str) -> Vec<&str> {
        script
            .lines()
            .filter(|l| l.starts_with("#SBATCH"))
            .collect()
    }

    /// The lines that run something: the launch line(s) and the requeue.
    fn has_line(script: &str, wanted: &str) -> bool {
        script.lines().any(|l| l.trim() == wanted)
    }

    #[test]
    fn array_script_has_every_directive_and_runs_one_shard_per_task() {
        let s = spec(array(64, Some(16))).render().unwrap();
        assert_eq!(
            directives(&s),
            [
                "#SBATCH --job-name=sharpsweep-eta",
                "#SBATCH --output=/scratch/me/logs/%x-%A_%a.out",
                "#SBATCH --open-mode=append",
                "#SBATCH --requeue",
                "#SBATCH --signal=USR1@120",
                "#SBATCH --array=0-63%16",
                "#SBATCH --ntasks=1",
                "#SBATCH --cpus-per-task=8",
                "#SBATCH --time=04:00:00",
                "#SBATCH --partition=gpu-short",
                "#SBATCH --account=theory",
            ]
        );
        assert!(s.starts_with("#!/bin/bash\n"));
        assert!(has_line(
            &s,
            r#"srun --ntasks=1 "$SHARPSWEEP" sweep "$GRID" --out "$OUT" \"#
        ));
        assert!(has_line(
            &s,
            r#"--shard "$((SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN))/${SLURM_ARRAY_TASK_COUNT}" --checkpoint-every 600"#
        ));
        assert!(!s.contains("--mpi"), "{s}");
        assert!(has_line(&s, "GRID='/home/me/grids/eta scan.toml'"));
        assert!(has_line(&s, "OUT=/scratch/me/eta"));
        assert!(has_line(&s, "SHARPSWEEP=/opt/sharpsweep/bin/sharpsweep"));
    }

    #[test]
    fn mpi_script_launches_ranks_with_srun_pmix_and_kill_on_bad_exit() {
        let mode = Mode::Mpi {
            nodes: Some(4),
            ntasks_per_node: 32,
        };
        let s = spec(mode).render().unwrap();
        assert_eq!(
            directives(&s),
            [
                "#SBATCH --job-name=sharpsweep-eta",
                "#SBATCH --output=/scratch/me/logs/%x-%j.out",
                "#SBATCH --open-mode=append",
                "#SBATCH --requeue",
                "#SBATCH --signal=USR1@120",
                "#SBATCH --nodes=4",
                "#SBATCH --ntasks-per-node=32",
                "#SBATCH --cpus-per-task=8",
                "#SBATCH --time=04:00:00",
                "#SBATCH --partition=gpu-short",
                "#SBATCH --account=theory",
            ]
        );
        assert!(has_line(
            &s,
            r#"srun --mpi=pmix --kill-on-bad-exit=1 "$SHARPSWEEP" sweep "$GRID" --out "$OUT" --checkpoint-every 600"#
        ));
        assert!(!s.contains("--shard"), "{s}");
        assert!(!s.contains("--array"), "{s}");
    }

    #[test]
    fn every_mode_sets_threads_from_cpus_per_task_and_requeues_on_75() {
        for mode in [
            array(1, None),
            Mode::Mpi {
                nodes: None,
                ntasks_per_node: 2,
            },
        ] {
            let s = spec(mode).render().unwrap();
            assert!(has_line(
                &s,
                r#"export RAYON_NUM_THREADS="${SLURM_CPUS_PER_TASK:-1}""#
            ));
            assert!(has_line(
                &s,
                r#"export SRUN_CPUS_PER_TASK="${SLURM_CPUS_PER_TASK:-1}""#
            ));
            assert!(has_line(&s, r#"if [ "$status" -eq 75 ]; then"#));
            assert!(has_line(&s, r#"scontrol requeue "${SLURM_JOB_ID}" ||"#));
            assert!(s.contains("restart ${SLURM_RESTART_COUNT:-0}"));
            assert!(!s.contains("{{") && !s.contains("#@"), "{s}");
            // The script is valid bash.
            let check = std::process::Command::new("bash")
                .args(["-n", "-c", &s])
                .status()
                .unwrap();
            assert!(check.success(), "{s}");
        }
    }

    #[test]
    fn optional_directives_left_out_are_not_written() {
        let mut bare = spec(array(3, None));
        (bare.cpus_per_task, bare.time, bare.partition, bare.account) = (None, None, None, None);
        bare.log_dir = None;
        bare.sweep_args.clear();
        let s = bare.render().unwrap();
        assert_eq!(
            directives(&s),
            [
                "#SBATCH --job-name=sharpsweep-eta",
                "#SBATCH --output=%x-%A_%a.out",
                "#SBATCH --open-mode=append",
                "#SBATCH --requeue",
                "#SBATCH --signal=USR1@120",
                "#SBATCH --array=0-2",
                "#SBATCH --ntasks=1",
            ]
        );
        assert!(s.contains(r#"/${SLURM_ARRAY_TASK_COUNT}""#.to_string().as_str()));
        let mut mpi = bare.clone();
        mpi.mode = Mode::Mpi {
            nodes: None,
            ntasks_per_node: 2,
        };
        let s = mpi.render().unwrap();
        assert!(directives(&s).contains(&"#SBATCH --ntasks-per-node=2"));
        assert!(!s.contains("--nodes"), "{s}");
    }

    #[test]
    fn signal_lead_sets_the_usr1_warning() {
        let mut s = spec(array(2, None));
        s.signal_lead = 300;
        assert!(directives(&s.render().unwrap()).contains(&"#SBATCH --signal=USR1@300"));
    }

    #[test]
    fn array_sizes_parse_and_bad_ones_name_the_flag() {
        assert_eq!(
            "8".parse::<ArraySize>().unwrap(),
            ArraySize {
                tasks: 8,
                at_once: None
            }
        );
        assert_eq!(
            "64%16".parse::<ArraySize>().unwrap(),
            ArraySize {
                tasks: 64,
                at_once: Some(16)
            }
        );
        for bad in ["0", "-1", "8%0", "8%", "%4", "0-7", "x"] {
            let e = bad.parse::<ArraySize>().unwrap_err().to_string();
            assert!(e.starts_with("--array: expected N or N%K"), "{bad}: {e}");
        }
    }

    #[test]
    fn time_limits_read_as_slurm_reads_them() {
        let t = |s| time_limit_seconds(s).unwrap();
        assert_eq!(t("90"), Some(5400));
        assert_eq!(t("5:30"), Some(330));
        assert_eq!(t("4:00:00"), Some(14400));
        assert_eq!(t("2-12"), Some(2 * 86400 + 12 * 3600));
        assert_eq!(t("1-00:30"), Some(86400 + 1800));
        assert_eq!(t("1-00:00:05"), Some(86405));
        assert_eq!(t("UNLIMITED"), None);
        for bad in ["", "4h", "1:2:3:4", "1-", "-5", "0"] {
            let e = time_limit_seconds(bad).unwrap_err().to_string();
            assert!(e.starts_with("--time:"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_time_limit_inside_the_warning_is_refused() {
        let mut s = spec(array(2, None));
        s.time = Some("2".into());
        let e = s.render().unwrap_err().to_string();
        assert!(
            e.starts_with("--time: 2 is not longer than the 120 s warning"),
            "{e}"
        );
    }

    #[test]
    fn values_that_would_break_a_directive_are_refused_by_flag() {
        let mut s = spec(array(2, None));
        s.partition = Some("short long".into());
        assert!(
            s.render()
                .unwrap_err()
                .to_string()
                .starts_with("--partition: 'short long'")
        );
        let mut s = spec(array(2, None));
        s.job_name = "a\nb".into();
        assert!(
            s.render()
                .unwrap_err()
                .to_string()
                .starts_with("--job-name:")
        );
        let mut s = spec(Mode::Mpi {
            nodes: Some(0),
            ntasks_per_node: 2,
        });
        s.job_name = "ok".into();
        assert_eq!(
            s.render().unwrap_err().to_string(),
            "--nodes: must be at least 1"
        );
    }

    #[test]
    fn shell_words_survive_spaces_and_quotes() {
        assert_eq!(shell_quote("/a/b-c.toml"), "/a/b-c.toml");
        assert_eq!(shell_quote("my grid.toml"), "'my grid.toml'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        // And bash reads them back unchanged.
        for word in ["my grid.toml", "it's", "$HOME", "a\"b", ""] {
            let out = std::process::Command::new("bash")
                .args(["-c", &format!("printf %s {}", shell_quote(word))])
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), word);
        }
    }

    #[test]
    fn job_names_come_from_the_grid_file() {
        assert_eq!(
            default_job_name("/x/eta scan.toml".as_ref()),
            "sharpsweep-eta-scan"
        );
        assert_eq!(default_job_name("/".as_ref()), "sharpsweep");
    }
}
