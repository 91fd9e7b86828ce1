//! Handing a script to `sbatch`.

use crate::error::{ClusterError, Result};
use std::io::Write;
use std::process::{Command, Stdio};

/// Submits `script` (read by sbatch from its standard input, so no file is
/// needed) and returns the job id. `sbatch` is looked up on `PATH`.
pub fn sbatch(script: &str) -> Result<String> {
    let mut child = Command::new("sbatch")
        .arg("--parsable")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            ClusterError::Sbatch(format!("cannot run sbatch ({e}); is SLURM installed?"))
        })?;
    child
        .stdin
        .take()
        .expect("stdin was piped")
        .write_all(script.as_bytes())
        .map_err(|e| ClusterError::Sbatch(format!("writing the script to sbatch: {e}")))?;
    let output = child
        .wait_with_output()
        .map_err(|e| ClusterError::Sbatch(e.to_string()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(ClusterError::Sbatch(format!(
            "refused the script ({}): {}",
            output.status,
            stderr.trim()
        )));
    }
    job_id(&stdout)
        .ok_or_else(|| ClusterError::Sbatch(format!("printed no job id: '{}'", stdout.trim())))
}

/// The job id in `sbatch --parsable`'s output, `ID` or `ID;CLUSTER`.
fn job_id(stdout: &str) -> Option<String> {
    let id = stdout.lines().last()?.split(';').next()?.trim();
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_digit())).then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsable_output_gives_the_job_id() {
        assert_eq!(job_id("1234\n").as_deref(), Some("1234"));
        assert_eq!(job_id("1234;cluster-a\n").as_deref(), Some("1234"));
        assert_eq!(job_id("").as_deref(), None);
        assert_eq!(job_id("Submitted batch job 12\n").as_deref(), None);
    }
}
