//! How much memory a run needs, estimated from its configuration before
//! anything is allocated, and how much the machine can give it, so that a
//! size that cannot fit is refused with a message instead of aborting (an
//! allocation failure kills the process; a sweep would lose every other
//! point with it).
//!
//! The estimate counts f64s (8 bytes each) per term, each term an upper
//! bound of what is held at once:
//!
//! | term        | keys                     | f64s |
//! |-------------|--------------------------|------|
//! | data        | n, d                     | 2nd + 3n (X, y, ‖xᵢ‖², a copy while building) |
//! | weights     | m, d                     | 5md (Θ, its packed copy, ∇R, its projection and Jᵀa at a record) |
//! | batch       | batch_size, m            | 2Bm + Bd + 128B (the kernel's coefficients, the batch, 64 steps of draws) |
//! | features    | n, m                     | 9nm + 8m (Z, φ'(Z), φ''(Z), φ(Z), Z's columns, the SVDs' copies; the clustering's tree) |
//! | normal gram | n                        | 3n² (JJᵀ and its factor, the max-margin Gram) |
//! | hessian     | hessian, m, d            | with `hessian` only: `dense`, 2(md)² (∇²L and its eigenvalue solver's copy); `lanczos`, (s + 3 + k)·md + 3s² + nm (s Lanczos vectors of at most `lanczos::max_steps`, the product's work vectors, the k = `hessian_top_k` Ritz vectors the norm's estimate deflates by, the tridiagonal problem and two copies of its eigenvectors, c_ij of ‖H‖_F) |
//! | trajectory  | log_points / log_every, n, m | 3R(nm + 2m + 2min(n, m) + 32): R records kept until written, as metrics, as an Arrow batch and in the Parquet writer |
//!
//! R, the number of records, is at most `min(log_points + 2, steps + 1)`
//! plus `steps / log_every + 1` with `log_every`. Runs stepped together as SIMD
//! lanes each hold their own data, weights, batch buffers and trajectory,
//! and the lane group a packed copy of the first three; records are
//! measured one at a time, so the features, normal Gram and Hessian terms
//! count once. Every product is checked: a size whose bytes overflow 64 bits
//! is an error naming its keys, never a wrapped number.

use crate::config::RunConfig;
use crate::error::{CoreError, Result};
use crate::hessian_method::HessianMethod;
use crate::kernel::{QUAD, quads};
use crate::lanczos;
use std::fmt;

/// Configuration keys with their values.
pub type Keys = Vec<(&'static str, String)>;

/// One term of an [`Estimate`]: the configuration keys it grows with (and
/// their values, as the user gave them) and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    pub keys: Keys,
    pub bytes: u64,
}

impl Term {
    /// The keys as `show(key, value)` joined by ` × `: `--m 1000 × --d 3`.
    pub fn describe(&self, show: impl Fn(&str, &str) -> String) -> String {
        let parts: Vec<String> = self.keys.iter().map(|(k, v)| show(k, v)).collect();
        parts.join(" × ")
    }
}

/// The memory a run (or a lane group of runs) needs at its peak.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Estimate {
    pub bytes: u64,
    /// The largest term, what to change to make the run fit.
    pub largest: Term,
}

const F64: u64 = 8;

/// `a·b·…` in f64s, as bytes; `None` on overflow.
fn f64s(factors: &[u64]) -> Option<u64> {
    factors.iter().try_fold(F64, |acc, &f| acc.checked_mul(f))
}

fn sum(parts: &[Option<u64>]) -> Option<u64> {
    parts
        .iter()
        .try_fold(0u64, |acc, p| p.and_then(|p| acc.checked_add(p)))
}

impl RunConfig {
    /// The peak memory of this run, or of `lanes` runs of its shape stepped
    /// together (module doc). An error when the bytes overflow 64 bits,
    /// naming the keys of the term that does.
    pub fn memory_estimate(&self, lanes: usize) -> Result<Estimate> {
        let (bytes, (names, largest)) = self.memory_bytes(lanes)?;
        Ok(Estimate {
            bytes,
            largest: self.term(names, largest),
        })
    }

    /// [`RunConfig::memory_estimate`]'s total bytes and its largest term's
    /// key names and bytes, without writing the term's values out: what
    /// validation asks of each of a grid's points.
    pub(crate) fn memory_bytes(
        &self,
        lanes: usize,
    ) -> Result<(u64, (&'static [&'static str], u64))> {
        let (m, d, n, b) = (
            self.m as u64,
            self.d as u64,
            self.n as u64,
            self.batch() as u64,
        );
        let lanes = lanes.max(1) as u64;
        let packed_m = (quads(self.m) * QUAD) as u64;
        let records = self.records();
        let record_f64s = n
            .checked_mul(m)
            .and_then(|nm| sum(&[Some(nm), Some(2 * m), Some(2 * n.min(m)), Some(32)]));
        // The trajectory is named by whichever of the two schedules records more.
        let trajectory: &'static [&'static str] = match self.log_every {
            Some(k) if self.steps / k.max(1) > self.log_points as u64 => &["log_every", "n", "m"],
            _ => &["log_points", "n", "m"],
        };
        let per_lane = |t: Option<u64>| t.and_then(|t| t.checked_mul(lanes));
        let packed = lanes > 1;
        // Key names only: a term's values are written out for the one
        // reported, so a grid's million points allocate nothing here.
        let terms: [(&'static [&'static str], Option<u64>); 7] = [
            (
                &["n", "d"],
                per_lane(sum(&[
                    f64s(&[2 + u64::from(packed), n, d]),
                    f64s(&[3 + u64::from(packed), n]),
                ])),
            ),
            (
                &["m", "d"],
                per_lane(sum(&[
                    f64s(&[4 + u64::from(packed), m, d]),
                    f64s(&[packed_m, d]),
                ])),
            ),
            (
                &["batch_size", "m"],
                per_lane(sum(&[
                    f64s(&[2 + u64::from(packed), b, packed_m]),
                    f64s(&[1 + u64::from(packed), b, d]),
                    f64s(&[128 * (1 + u64::from(packed)), b]),
                ])),
            ),
            (&["n", "m"], sum(&[f64s(&[9, n, m]), f64s(&[8, m])])),
            (&["n"], f64s(&[3, n, n])),
            (&["hessian", "m", "d"], self.hessian_bytes()),
            (
                trajectory,
                per_lane(
                    records
                        .zip(record_f64s)
                        .and_then(|(r, row)| f64s(&[3, r, row])),
                ),
            ),
        ];
        let mut total = 0u64;
        let mut largest: Option<(&'static [&'static str], u64)> = None;
        for (names, bytes) in terms {
            let overflow = || {
                let term = self.term(names, 0);
                CoreError::invalid(
                    names[0],
                    format!(
                        "{}: the memory this needs overflows 64 bits",
                        term.describe(|k, v| format!("{k} = {v}"))
                    ),
                )
            };
            let bytes = bytes.ok_or_else(overflow)?;
            total = total.checked_add(bytes).ok_or_else(overflow)?;
            if largest.is_none_or(|(_, l)| bytes > l) {
                largest = Some((names, bytes));
            }
        }
        Ok((total, largest.expect("the estimate has terms")))
    }

    /// The Hessian term (module doc): the dense matrix or the Lanczos basis,
    /// by the method `auto` resolves to.
    fn hessian_bytes(&self) -> Option<u64> {
        let Some(opts) = self.hessian_options() else {
            return Some(0);
        };
        let (m, d, n) = (self.m as u64, self.d as u64, self.n as u64);
        let md = m.checked_mul(d)?;
        match opts.method {
            HessianMethod::Lanczos => {
                let dim = usize::try_from(md).ok()?;
                let s = lanczos::max_steps(dim, opts.top_k) as u64;
                let k = opts.top_k as u64;
                sum(&[f64s(&[s + 3 + k, md]), f64s(&[3, s, s]), f64s(&[n, m])])
            }
            _ => f64s(&[2, md, md]),
        }
    }

    /// The term of `bytes` growing with the keys `names`, with their values.
    fn term(&self, names: &[&'static str], bytes: u64) -> Term {
        let value = |name: &str| match name {
            "n" => self.n.to_string(),
            "d" => self.d.to_string(),
            "m" => self.m.to_string(),
            "batch_size" => self.batch().to_string(),
            "hessian" => self.hessian.to_string(),
            "log_points" => self.log_points.to_string(),
            "log_every" => self.log_every.unwrap_or(0).to_string(),
            _ => unreachable!("memory terms name only these keys"),
        };
        Term {
            keys: names.iter().map(|&k| (k, value(k))).collect(),
            bytes,
        }
    }

    /// An upper bound of the records the run makes (`None` past u64): the
    /// log schedule's at most `log_points + 2` distinct steps of `0..=steps`,
    /// plus `log_every`'s.
    fn records(&self) -> Option<u64> {
        let log = (self.log_points as u64)
            .checked_add(2)?
            .min(self.steps.saturating_add(1));
        match self.log_every {
            Some(k) if k > 0 => (self.steps / k).checked_add(1)?.checked_add(log),
            _ => Some(log),
        }
    }
}

/// Where a memory limit comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// No limit is known (no `/proc/meminfo`, e.g. not Linux).
    Unlimited,
    /// What the kernel reports available (`MemAvailable`, or less when the
    /// process's cgroup allows less), in bytes.
    Available(u64),
    /// What `--max-memory` allows, in bytes.
    MaxMemory(u64),
}

impl Budget {
    /// `--max-memory` if given, else the memory available now.
    pub fn detect(max_memory: Option<u64>) -> Budget {
        match max_memory {
            Some(bytes) => Budget::MaxMemory(bytes),
            None => available().map_or(Budget::Unlimited, Budget::Available),
        }
    }

    pub fn bytes(self) -> Option<u64> {
        match self {
            Budget::Unlimited => None,
            Budget::Available(b) | Budget::MaxMemory(b) => Some(b),
        }
    }

    /// Whether `needed` bytes fit.
    pub fn fits(self, needed: u64) -> bool {
        self.bytes().is_none_or(|b| needed <= b)
    }
}

impl fmt::Display for Budget {
    /// `22.1 GiB available (MemAvailable; --max-memory sets another limit)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Budget::Unlimited => f.write_str("no limit known"),
            Budget::Available(b) => write!(
                f,
                "{} available (MemAvailable; --max-memory sets another limit)",
                human_bytes(*b)
            ),
            Budget::MaxMemory(b) => write!(f, "{} allowed by --max-memory", human_bytes(*b)),
        }
    }
}

/// Refuses `estimate` when it does not fit `budget`: the error names the
/// largest term's keys (shown by `show`), what is needed and what is there.
pub fn refuse_unless_fits(
    estimate: &Estimate,
    budget: Budget,
    show: impl Fn(&str, &str) -> String,
) -> std::result::Result<(), CoreError> {
    if budget.fits(estimate.bytes) {
        return Ok(());
    }
    Err(CoreError::Memory(format!(
        "{}: needs ~{}, {budget}",
        estimate.largest.describe(show),
        human_bytes(estimate.bytes)
    )))
}

/// The memory this process may still use: Linux's `MemAvailable`, lowered
/// to what the process's cgroup (v2) allows beyond its current use; `None`
/// where neither is known.
pub fn available() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    let available = kib.saturating_mul(1024);
    Some(cgroup_headroom().map_or(available, |h| h.min(available)))
}

/// `memory.max − memory.current` of this process's cgroup v2, if limited.
fn cgroup_headroom() -> Option<u64> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = cgroup.lines().find_map(|l| l.strip_prefix("0::"))?;
    let dir = std::path::Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
    let read = |name: &str| -> Option<u64> {
        std::fs::read_to_string(dir.join(name))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    // memory.max is "max" when unlimited: no number, no headroom limit.
    Some(read("memory.max")?.saturating_sub(read("memory.current").unwrap_or(0)))
}

/// Parses a memory size: bytes (`1000000`) or a number with a binary
/// suffix K, M, G or T (`512M`, `1.5G`; `KB`/`KiB` spellings too, any case).
pub fn parse_size(text: &str) -> std::result::Result<u64, CoreError> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let body = lower
        .strip_suffix("ib")
        .or_else(|| lower.strip_suffix('b'))
        .unwrap_or(&lower);
    let (number, shift) = match body.char_indices().last() {
        Some((i, 'k')) => (&body[..i], 10),
        Some((i, 'm')) => (&body[..i], 20),
        Some((i, 'g')) => (&body[..i], 30),
        Some((i, 't')) => (&body[..i], 40),
        _ => (body, 0),
    };
    let bad = || {
        CoreError::Parse(format!(
            "expected a size such as 8G, 512M or 1000000 (bytes), got '{t}'"
        ))
    };
    let value: f64 = number.trim().parse().map_err(|_| bad())?;
    let bytes = value * (1u64 << shift) as f64;
    if !(value.is_finite() && value > 0.0) || bytes >= u64::MAX as f64 || bytes < 1.0 {
        return Err(bad());
    }
    Ok(bytes as u64)
}

/// Bytes for people: `24.0 GiB`, `512.0 MiB`, `100 B`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(m: usize, d: usize) -> RunConfig {
        RunConfig {
            m,
            d,
            ..Default::default()
        }
    }

    #[test]
    fn sizes_parse_with_binary_suffixes_and_bad_ones_are_refused() {
        assert_eq!(parse_size("1000000"), Ok(1_000_000));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("8G"), Ok(8 << 30));
        assert_eq!(parse_size("8g"), Ok(8 << 30));
        assert_eq!(parse_size("8GB"), Ok(8 << 30));
        assert_eq!(parse_size("8GiB"), Ok(8 << 30));
        assert_eq!(parse_size("1.5K"), Ok(1536));
        assert_eq!(parse_size("2T"), Ok(2 << 40));
        for bad in ["", "G", "-1G", "0", "8X", "eightG", "1e30T", "nan", "inf"] {
            let e = parse_size(bad).unwrap_err().to_string();
            assert!(e.contains("8G"), "{bad}: {e}");
        }
    }

    #[test]
    fn human_bytes_picks_the_unit() {
        assert_eq!(human_bytes(100), "100 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(24 << 30), "24.0 GiB");
    }

    #[test]
    fn the_estimate_grows_with_the_shape_and_names_the_largest_term() {
        let small = config(10, 3).memory_estimate(1).unwrap();
        assert!(small.bytes < 1 << 20, "{small:?}");
        // m = 10⁹ at d = 3: Θ alone is 24 GB; the 202 records of Z, more.
        let wide = config(1_000_000_000, 3).memory_estimate(1).unwrap();
        assert!(wide.bytes > 5 * 24_000_000_000, "{wide:?}");
        assert!(wide.largest.keys.iter().any(|(k, _)| *k == "m"));
        // The dense Hessian at m·d = 10⁸: 2·(10⁸)² f64s.
        let h = RunConfig {
            hessian: true,
            hessian_method: Some(HessianMethod::Dense),
            log_points: 1,
            ..config(10_000_000, 10)
        };
        let e = h.memory_estimate(1).unwrap();
        assert!(e.bytes >= 16 * 10u64.pow(16));
        assert_eq!(e.largest.keys[0].0, "hessian");
        // `auto` takes Lanczos there: 503 vectors of 10⁸, still the largest term.
        let auto = RunConfig {
            hessian_method: None,
            ..h
        };
        let e = auto.memory_estimate(1).unwrap();
        assert!(
            e.bytes >= 503 * 8 * 10u64.pow(8) && e.bytes < 10u64.pow(12),
            "{e:?}"
        );
        assert_eq!(e.largest.keys[0].0, "hessian");
        // (m, d, n) = (200, 100, 50): the Lanczos basis, 80 MB, not 6.4 GB.
        let large = RunConfig {
            hessian: true,
            n: 50,
            ..config(200, 100)
        };
        let e = large.memory_estimate(1).unwrap();
        assert!(e.bytes < 200 << 20, "{e:?}");
        // Lanes multiply what each run holds.
        let one = config(10, 3).memory_estimate(1).unwrap().bytes;
        let eight = config(10, 3).memory_estimate(8).unwrap().bytes;
        assert!(eight > 8 * one / 2 && eight < 16 * one, "{one} {eight}");
    }

    #[test]
    fn records_every_step_are_counted_and_named() {
        let c = RunConfig {
            log_every: Some(1),
            steps: 100_000_000,
            ..config(1000, 3)
        };
        let e = c.memory_estimate(1).unwrap();
        assert!(e.bytes > 3 * 100_000_000 * 8 * 5000);
        assert_eq!(e.largest.keys[0].0, "log_every");
    }

    #[test]
    fn overflowing_sizes_are_errors_naming_the_keys_not_wrapped_numbers() {
        for c in [
            config(usize::MAX, 2),
            config(1 << 40, 1 << 30),
            RunConfig {
                hessian: true,
                hessian_method: Some(HessianMethod::Dense),
                ..config(1 << 20, 1 << 20)
            },
            RunConfig {
                n: usize::MAX / 2,
                ..config(10, 3)
            },
        ] {
            let e = c.memory_estimate(1).unwrap_err();
            assert!(e.to_string().contains("overflows"), "{e}");
            assert!(e.field().is_some(), "{e}");
        }
        // validate() refuses them too, so nothing allocates their sizes.
        assert!(config(usize::MAX, 2).validate().is_err());
    }

    #[test]
    fn refusals_name_the_keys_the_need_and_the_budget() {
        let e = config(1_000_000_000, 3).memory_estimate(1).unwrap();
        let flag = |k: &str, v: &str| format!("--{k} {v}");
        let msg = refuse_unless_fits(&e, Budget::MaxMemory(8 << 30), flag)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("--m 1000000000"), "{msg}");
        assert!(msg.contains("allowed by --max-memory"), "{msg}");
        assert!(msg.contains("8.0 GiB"), "{msg}");
        assert!(!msg.contains('\n'));
        assert!(refuse_unless_fits(&e, Budget::Unlimited, flag).is_ok());
        let small = config(10, 3).memory_estimate(1).unwrap();
        assert!(refuse_unless_fits(&small, Budget::MaxMemory(1 << 30), flag).is_ok());
    }

    #[test]
    fn available_memory_is_read_where_the_kernel_reports_it() {
        if std::path::Path::new("/proc/meminfo").exists() {
            let a = available().unwrap();
            assert!(a > 0);
            assert!(matches!(Budget::detect(None), Budget::Available(_)));
        }
        assert_eq!(Budget::detect(Some(5)), Budget::MaxMemory(5));
    }
}
