//! The saved baseline: a probe's key figures kept in the state directory
//! (`--save`), which later probes compare with and the monitor exports.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::measure::Measurements;
use super::Finding;
use crate::render::escape;
use crate::status::Status;
use crate::system::file::{read_regular_text, Links};

/// File name in the state directory.
pub const FILE_NAME: &str = "probe-baseline.json";

/// Key figures of one probe. Latencies in microseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// When it was measured, seconds since the Unix epoch.
    pub measured_unix: u64,
    /// The directory probed.
    #[serde(serialize_with = "escape::serialize_path")]
    pub dir: PathBuf,
    /// The disks under it, by kernel name.
    pub devices: Vec<String>,
    pub fsync_p50_us: f64,
    pub fsync_p99_us: f64,
    pub randread_p50_us: f64,
    pub randread_p99_us: f64,
    pub seq_write_bytes_per_sec: f64,
}

impl Baseline {
    pub fn from_measurements(dir: &Path, devices: Vec<String>, m: &Measurements) -> Baseline {
        Baseline {
            measured_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            dir: dir.to_path_buf(),
            devices,
            fsync_p50_us: m.fsync.p50_us,
            fsync_p99_us: m.fsync.p99_us,
            randread_p50_us: m.rand_read.p50_us,
            randread_p99_us: m.rand_read.p99_us,
            seq_write_bytes_per_sec: m.seq_write.bytes_per_sec,
        }
    }
}

pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE_NAME)
}

/// The saved baseline, if there is a readable one (for the monitor's gauges).
pub fn load(state_dir: &Path) -> Option<Baseline> {
    read(state_dir).ok().flatten()
}

/// The saved baseline: `Ok(None)` when none was saved, an error when the
/// file is there but unreadable.
pub fn read(state_dir: &Path) -> Result<Option<Baseline>> {
    let path = path(state_dir);
    // The state directory's file, never a link planted in its place; a
    // FIFO or an endless file is an error, not a hang.
    const MAX_BASELINE_BYTES: u64 = 64 << 10;
    let text = match read_regular_text(&path, MAX_BASELINE_BYTES, Links::Refuse) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read {}", escape::untrusted_path(&path)))
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .with_context(|| format!("{} is not a probe baseline", escape::untrusted_path(&path)))
}

/// Saves `b` atomically, creating the state directory if needed.
pub fn save(state_dir: &Path, b: &Baseline) -> Result<PathBuf> {
    std::fs::create_dir_all(state_dir)
        .with_context(|| format!("cannot create {}", state_dir.display()))?;
    let path = path(state_dir);
    let mut json = serde_json::to_string_pretty(b).expect("a baseline serializes");
    json.push('\n');
    crate::files::write_atomic(&path, json.as_bytes(), 0o644)?;
    Ok(path)
}

/// A warning for each figure of `now` worse than `saved`'s by more than
/// `factor` (latency above saved × factor, throughput below saved ÷ factor).
pub fn compare(now: &Baseline, saved: &Baseline, factor: f64) -> Vec<Finding> {
    let latencies = [
        ("fsync p50", now.fsync_p50_us, saved.fsync_p50_us),
        ("fsync p99", now.fsync_p99_us, saved.fsync_p99_us),
        (
            "random read p50",
            now.randread_p50_us,
            saved.randread_p50_us,
        ),
        (
            "random read p99",
            now.randread_p99_us,
            saved.randread_p99_us,
        ),
    ];
    let mut out = Vec::new();
    for (what, now, then) in latencies {
        if then > 0.0 && now > then * factor {
            out.push(regression(format!(
                "{what} is {} against the baseline's {} ({:.1}x, beyond the factor {factor})",
                super::fmt_us(now),
                super::fmt_us(then),
                now / then
            )));
        }
    }
    let (now_bps, then_bps) = (now.seq_write_bytes_per_sec, saved.seq_write_bytes_per_sec);
    if now_bps > 0.0 && now_bps * factor < then_bps {
        out.push(regression(format!(
            "sequential write is {} against the baseline's {} ({:.1}x slower, beyond the factor {factor})",
            super::fmt_rate(now_bps),
            super::fmt_rate(then_bps),
            then_bps / now_bps
        )));
    }
    out
}

fn regression(message: String) -> Finding {
    Finding::new(Status::Warning, "regression", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(fsync_p50: f64, randread_p50: f64, seq: f64) -> Baseline {
        Baseline {
            measured_unix: 1_700_000_000,
            dir: PathBuf::from("/data/jts/hot"),
            devices: vec!["nvme0n1".into()],
            fsync_p50_us: fsync_p50,
            fsync_p99_us: fsync_p50 * 3.0,
            randread_p50_us: randread_p50,
            randread_p99_us: randread_p50 * 2.0,
            seq_write_bytes_per_sec: seq,
        }
    }

    #[test]
    fn within_the_factor_is_quiet() {
        let saved = figures(800.0, 90.0, 2e9);
        let now = figures(1500.0, 170.0, 1.1e9);
        assert!(compare(&now, &saved, 2.0).is_empty());
        assert!(compare(&saved, &saved, 1.0).is_empty());
    }

    #[test]
    fn beyond_the_factor_warns_per_figure() {
        let saved = figures(800.0, 90.0, 2e9);
        let now = figures(1700.0, 90.0, 0.9e9);
        let found = compare(&now, &saved, 2.0);
        let messages: Vec<&str> = found.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(found.len(), 3, "{messages:?}");
        assert!(found
            .iter()
            .all(|f| f.kind == "regression" && f.status == Status::Warning));
        assert!(
            messages[0].starts_with("fsync p50 is 1.700 ms"),
            "{messages:?}"
        );
        assert!(messages[1].starts_with("fsync p99"), "{messages:?}");
        assert!(messages[2].starts_with("sequential write"), "{messages:?}");
        // Better than the baseline is never a regression.
        assert!(compare(&saved, &now, 2.0).is_empty());
    }

    #[test]
    fn saves_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        assert_eq!(load(&state), None);
        let b = figures(800.0, 90.0, 2e9);
        save(&state, &b).unwrap();
        assert_eq!(load(&state), Some(b));
        std::fs::write(path(&state), "{ not json").unwrap();
        assert!(read(&state).is_err());
        assert_eq!(load(&state), None);
    }
}
