//! The baseline: a probe's key figures kept in the state directory
//! (`--save`, through [`crate::state`]), which later probes compare with and
//! the monitor exports.

use std::path::Path;

use super::measure::Measurements;
use super::{Finding, Kind};
pub use crate::state::Baseline;
use crate::status::Status;
use crate::units;

/// This run's key figures, to compare with the saved ones or to save.
pub fn of(dir: &Path, devices: Vec<String>, m: &Measurements) -> Baseline {
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
                units::micros(now),
                units::micros(then),
                now / then
            )));
        }
    }
    let (now_bps, then_bps) = (now.seq_write_bytes_per_sec, saved.seq_write_bytes_per_sec);
    if now_bps > 0.0 && now_bps * factor < then_bps {
        out.push(regression(format!(
            "sequential write is {} against the baseline's {} ({:.1}x slower, beyond the factor {factor})",
            units::rate(now_bps),
            units::rate(then_bps),
            then_bps / now_bps
        )));
    }
    out
}

fn regression(message: String) -> Finding {
    Finding::new(Status::Warning, Kind::Regression, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

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
            .all(|f| f.kind == Kind::Regression && f.status == Status::Warning));
        assert!(
            messages[0].starts_with("fsync p50 is 1.700 ms"),
            "{messages:?}"
        );
        assert!(messages[1].starts_with("fsync p99"), "{messages:?}");
        assert!(messages[2].starts_with("sequential write"), "{messages:?}");
        // Better than the baseline is never a regression.
        assert!(compare(&saved, &now, 2.0).is_empty());
    }
}
