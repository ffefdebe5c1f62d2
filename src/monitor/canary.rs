//! The fsync canary: once per monitor run, in the idle I/O class, one 8 KiB
//! write at offset 0 of a file jts-hot owns at the tier's base
//! (`BASE/.jts-hot-fsync`, never a service's data), then fdatasync, timed
//! together as the probe's fsync phase does, so the two compare. The
//! latencies accumulate across runs in a histogram kept in the state
//! directory (`monitor-fsync-canary.json`), exported as `jts_hot_fsync_seconds`;
//! the mixin alerts when its p99 drifts from the probe's baseline.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::escape;
use crate::state::{self, Baseline, Document, StateDir};

/// PostgreSQL's WAL block, what the probe's fsync phase writes.
const BLOCK: usize = 8192;
/// The buckets' upper bounds in seconds (+Inf implied): from an NVMe's
/// 100 us to a stalled disk's seconds, etcd's 10 ms and Redis's 1 s among them.
pub const BOUNDS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The canary's latencies over every run since `since_unix`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Upper bounds of the buckets, seconds (+Inf implied).
    pub bounds: Vec<f64>,
    /// Observations per bucket (not cumulative), one more than `bounds` (+Inf).
    pub counts: Vec<u64>,
    pub sum_seconds: f64,
    pub count: u64,
    /// When the first observation was made.
    pub since_unix: u64,
}

impl Document for Histogram {
    const FILE_NAME: &'static str = "monitor-fsync-canary.json";
    const SCHEMA: &'static str = "jts-hot.fsync-canary/1";
    const WHAT: &'static str = "fsync canary histogram";
    const MAX_BYTES: u64 = 64 << 10;
    const PRETTY: bool = true;
}

impl Histogram {
    fn new(now: u64) -> Histogram {
        Histogram {
            bounds: BOUNDS.to_vec(),
            counts: vec![0; BOUNDS.len() + 1],
            sum_seconds: 0.0,
            count: 0,
            since_unix: now,
        }
    }

    /// A file of other buckets, or whose figures do not add up, is not continued.
    fn usable(&self) -> bool {
        self.bounds == BOUNDS
            && self.counts.len() == BOUNDS.len() + 1
            && self.counts.iter().try_fold(0u64, |a, c| a.checked_add(*c)) == Some(self.count)
            && self.sum_seconds.is_finite()
            && self.sum_seconds >= 0.0
    }

    fn observe(&mut self, seconds: f64) {
        let i = self
            .bounds
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(self.bounds.len());
        self.counts[i] = self.counts[i].saturating_add(1);
        self.count = self.count.saturating_add(1);
        self.sum_seconds += seconds;
    }

    /// (le, cumulative count) per bucket, +Inf last: Prometheus's `_bucket`.
    pub fn cumulative(&self) -> Vec<(String, u64)> {
        let mut total = 0u64;
        self.counts
            .iter()
            .enumerate()
            .map(|(i, c)| {
                total = total.saturating_add(*c);
                let le = self
                    .bounds
                    .get(i)
                    .map_or_else(|| "+Inf".to_string(), |b| b.to_string());
                (le, total)
            })
            .collect()
    }
}

impl Histogram {
    /// The `q` quantile as Prometheus's `histogram_quantile` estimates it
    /// (linear within the bucket, the highest finite bound past it), so
    /// the text report and the mixin's JtsHotFsyncDrift read one figure
    /// the same way. None without observations.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let rank = q * self.count as f64;
        let mut below = 0u64;
        for (i, c) in self.counts.iter().enumerate() {
            let upto = below.saturating_add(*c);
            if *c > 0 && upto as f64 >= rank {
                let Some(end) = self.bounds.get(i) else {
                    return self.bounds.last().copied();
                };
                let start = if i == 0 { 0.0 } else { self.bounds[i - 1] };
                let within = (rank - below as f64) / *c as f64;
                return Some(start + (end - start) * within.clamp(0.0, 1.0));
            }
            below = upto;
        }
        self.bounds.last().copied()
    }
}

/// A p99 this many times the probe baseline's has drifted: the probe's
/// default regression factor, the mixin's `fsyncDriftFactor`.
pub const DRIFT_FACTOR: f64 = 2.0;
/// Fewer runs than this judge nothing: the mixin's `fsyncDriftMinRuns`.
pub const DRIFT_MIN_RUNS: u64 = 8;

/// The canary's p99 against the probe's saved baseline p99.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Drift {
    /// At most [`DRIFT_FACTOR`] times the baseline's p99.
    Within,
    /// Beyond it: commits wait longer than when the baseline was saved.
    Drifted,
    /// Fewer than [`DRIFT_MIN_RUNS`] runs in the histogram.
    TooFewRuns,
    /// No probe baseline saved (`jts-hot probe --save`).
    NoBaseline,
    /// The saved baseline is of another directory than the tier's base:
    /// its figures are not the canary's device's.
    BaselineElsewhere,
}

impl Drift {
    pub fn as_str(self) -> &'static str {
        match self {
            Drift::Within => "within",
            Drift::Drifted => "drifted",
            Drift::TooFewRuns => "too-few-runs",
            Drift::NoBaseline => "no-baseline",
            Drift::BaselineElsewhere => "baseline-elsewhere",
        }
    }
}

/// The canary as the monitor reports it.
#[derive(Debug, Clone, Serialize)]
pub struct Canary {
    #[serde(serialize_with = "escape::serialize_path")]
    pub file: PathBuf,
    /// This run's write + fdatasync; null when it did not run (notes say why).
    pub seconds: Option<f64>,
    /// Every run's, this one included when it ran and was saved.
    pub histogram: Option<Histogram>,
    /// The histogram's p99 ([`Histogram::quantile`]); null without one.
    pub p99_seconds: Option<f64>,
    /// That p99 against the probe baseline's ([`judge`]).
    pub drift: Drift,
}

/// The canary's verdict: its p99 over every run against `factor` times the
/// fsync p99 of the probe baseline saved for `base` (the tier's base,
/// canonical): a baseline of another directory measured another device.
pub fn judge(canary: &mut Canary, baseline: Option<&Baseline>, base: &Path) {
    canary.p99_seconds = canary.histogram.as_ref().and_then(|h| h.quantile(0.99));
    let runs = canary.histogram.as_ref().map_or(0, |h| h.count);
    canary.drift = match (baseline, canary.p99_seconds) {
        (None, _) => Drift::NoBaseline,
        (Some(b), _) if b.dir != base => Drift::BaselineElsewhere,
        (Some(_), None) => Drift::TooFewRuns,
        (Some(_), Some(_)) if runs < DRIFT_MIN_RUNS => Drift::TooFewRuns,
        (Some(b), Some(p99)) if p99 * 1e6 > DRIFT_FACTOR * b.fsync_p99_us => Drift::Drifted,
        (Some(_), Some(_)) => Drift::Within,
    };
}

/// Times one write + fdatasync in the canary `file` (`Tier::fsync_canary`)
/// and adds it to the saved histogram. Notes say what kept it from running or saving.
pub fn run(file: &Path, state: &StateDir, now: u64, notes: &mut Vec<String>) -> Canary {
    let file = file.to_path_buf();
    let mut canary = Canary {
        file: file.clone(),
        seconds: None,
        histogram: None,
        p99_seconds: None,
        drift: Drift::NoBaseline,
    };
    let mut histogram = match state::load::<Histogram>(state) {
        state::Loaded::Found(h) if h.usable() => h,
        state::Loaded::Found(_) => {
            notes.push("fsync canary: the saved histogram has other buckets: started again".into());
            Histogram::new(now)
        }
        state::Loaded::Missing => Histogram::new(now),
        state::Loaded::SetAside(why) => {
            notes.push(why);
            Histogram::new(now)
        }
        // Saving over a file that could not be read would erase its history.
        state::Loaded::Unreadable(why) => {
            notes.push(format!("fsync canary not run: {why}"));
            return canary;
        }
    };
    // Never at the expense of trading: the idle class, or not at all.
    let idle = match crate::system::ioprio::idle() {
        Ok(idle) => idle,
        Err(e) => {
            notes.push(format!(
                "fsync canary not run: cannot enter the idle I/O class ({e})"
            ));
            canary.histogram = Some(histogram);
            return canary;
        }
    };
    let timed = time_one(&file);
    drop(idle);
    match timed {
        Ok(seconds) => {
            histogram.observe(seconds);
            canary.seconds = Some(seconds);
            if let Err(e) = state::save(state, &histogram) {
                notes.push(format!("cannot save the fsync canary histogram: {e:#}"));
            }
        }
        Err(e) => notes.push(format!(
            "fsync canary not run: {}: {e}",
            escape::untrusted_path(&file)
        )),
    }
    canary.histogram = Some(histogram);
    canary
}

/// Creates the canary file when missing (root's 0600 regular file), as
/// `jts-hot setup` does at boot for the sandboxed monitor, which may write
/// it but not create it. Never follows a link, never replaces anything.
pub fn prepare(file: &Path) -> io::Result<()> {
    open(file).map(drop)
}

/// Opens (creating when missing) the canary file, refusing anything that is
/// not a regular file of ours with one link: a symlink, a FIFO, a device, a
/// hard link to something else are left alone.
fn open(path: &Path) -> io::Result<File> {
    if let Ok(m) = std::fs::symlink_metadata(path) {
        if !m.file_type().is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a regular file: left alone",
            ));
        }
    }
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)?;
    let m = f.metadata()?;
    // Root's (jts-hot-setup.service makes it) or this run's own user's
    // (validate and the monitor run as jts-hot's user): the base is root's,
    // so no service user can have put a file of theirs at this name.
    let owner = m.uid();
    let ours = m.file_type().is_file()
        && (owner == 0 || owner == nix::unistd::geteuid().as_raw())
        && m.nlink() == 1
        && m.len() <= BLOCK as u64;
    if !ours {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not jts-hot's canary (owned by neither root nor this run's user, a hard link or larger than 8 KiB): left alone",
        ));
    }
    Ok(f)
}

/// One 8 KiB write at offset 0, then fdatasync, timed together.
fn time_one(path: &Path) -> io::Result<f64> {
    let f = open(path)?;
    // Not zeros: a filesystem may treat a zero block specially.
    let buf: Vec<u8> = (0..BLOCK).map(|i| (i % 251) as u8 ^ 0x5a).collect();
    let t = Instant::now();
    f.write_all_at(&buf, 0)?;
    f.sync_data()?;
    Ok(t.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = ".jts-hot-fsync";

    #[test]
    fn observations_land_in_their_bucket_and_accumulate() {
        let mut h = Histogram::new(1);
        for s in [0.00005, 0.0001, 0.0003, 0.02, 7.0] {
            h.observe(s);
        }
        assert!(h.usable());
        let c = h.cumulative();
        assert_eq!(c.len(), BOUNDS.len() + 1);
        assert_eq!(c[0], ("0.0001".to_string(), 2));
        assert_eq!(c[2], ("0.0005".to_string(), 3));
        assert_eq!(c[7], ("0.025".to_string(), 4));
        assert_eq!(c[13], ("2.5".to_string(), 4));
        assert_eq!(c[14], ("+Inf".to_string(), 5));
        assert_eq!(h.count, 5);
        assert!((h.sum_seconds - 7.02045).abs() < 1e-9);
        // Counts that do not add up are not continued.
        h.count = 4;
        assert!(!h.usable());
    }

    #[test]
    fn the_p99_is_read_as_prometheus_reads_it() {
        let mut h = Histogram::new(1);
        assert_eq!(h.quantile(0.99), None);
        // 10 runs in (1 ms, 2.5 ms]: rank 9.9 of 10, linear within the bucket.
        for _ in 0..10 {
            h.observe(0.002);
        }
        let p99 = h.quantile(0.99).unwrap();
        assert!((p99 - (0.001 + 0.0015 * 0.99)).abs() < 1e-12, "{p99}");
        // 99 fast runs and one stall: the 99th is still in the first bucket.
        let mut h = Histogram::new(1);
        for _ in 0..99 {
            h.observe(0.00005);
        }
        h.observe(9.0);
        assert!((h.quantile(0.99).unwrap() - 0.0001).abs() < 1e-12);
        // Two stalls: past the last bound is read as the last bound.
        h.observe(9.0);
        assert_eq!(h.quantile(0.99), Some(2.5));
    }

    #[test]
    fn drift_is_judged_against_the_tiers_own_baseline_after_enough_runs() {
        let base = Path::new("/data/jts/hot");
        let baseline = |dir: &str, p99_us: f64| Baseline {
            measured_unix: 1,
            dir: PathBuf::from(dir),
            devices: vec!["nvme0n1".into()],
            fsync_p50_us: p99_us / 2.0,
            fsync_p99_us: p99_us,
            randread_p50_us: 50.0,
            randread_p99_us: 100.0,
            seq_write_bytes_per_sec: 1e9,
        };
        let canary = |runs: u64, seconds: f64| {
            let mut h = Histogram::new(1);
            for _ in 0..runs {
                h.observe(seconds);
            }
            Canary {
                file: base.join(".jts-hot-fsync"),
                seconds: Some(seconds),
                histogram: Some(h),
                p99_seconds: None,
                drift: Drift::NoBaseline,
            }
        };
        let verdict = |mut c: Canary, b: Option<&Baseline>| {
            judge(&mut c, b, base);
            (c.drift, c.p99_seconds.is_some())
        };
        let here = baseline("/data/jts/hot", 1000.0);
        // 20 runs at 4 ms: p99 about 5 ms, beyond twice 1 ms.
        assert_eq!(
            verdict(canary(20, 0.004), Some(&here)),
            (Drift::Drifted, true)
        );
        // At 0.4 ms: p99 at most 0.5 ms, within.
        assert_eq!(
            verdict(canary(20, 0.0004), Some(&here)),
            (Drift::Within, true)
        );
        // Slow, but too few runs to say.
        assert_eq!(
            verdict(canary(DRIFT_MIN_RUNS - 1, 0.004), Some(&here)),
            (Drift::TooFewRuns, true)
        );
        assert_eq!(verdict(canary(20, 0.004), None), (Drift::NoBaseline, true));
        // A baseline probed elsewhere (`probe --dir /tmp --save`) is another device's.
        let elsewhere = baseline("/tmp", 1000.0);
        assert_eq!(
            verdict(canary(20, 0.004), Some(&elsewhere)),
            (Drift::BaselineElsewhere, true)
        );
        assert_eq!(
            serde_json::to_value(Drift::TooFewRuns).unwrap(),
            "too-few-runs"
        );
    }

    #[test]
    fn a_run_times_one_write_in_its_own_file_and_saves_the_histogram() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path().join("state"));
        let mut notes = Vec::new();
        for run in 1..=3 {
            let c = super::run(&dir.path().join(FILE), &state, 100, &mut notes);
            assert!(c.seconds.unwrap() > 0.0, "{notes:?}");
            assert_eq!(c.histogram.as_ref().unwrap().count, run);
        }
        assert!(notes.is_empty(), "{notes:?}");
        let file = dir.path().join(FILE);
        assert_eq!(std::fs::metadata(&file).unwrap().len(), BLOCK as u64);
        let saved = state::load::<Histogram>(&state).found().unwrap();
        assert_eq!(saved.count, 3);
    }

    #[test]
    fn anything_but_its_own_file_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path().join("state"));
        let target = dir.path().join("data");
        std::fs::write(&target, b"service data").unwrap();
        let file = dir.path().join(FILE);
        // A symlink to a service's file, then a hard link to it.
        std::os::unix::fs::symlink(&target, &file).unwrap();
        let mut notes = Vec::new();
        let c = super::run(&dir.path().join(FILE), &state, 100, &mut notes);
        assert_eq!(c.seconds, None);
        assert!(notes[0].contains("left alone"), "{notes:?}");
        std::fs::remove_file(&file).unwrap();
        std::fs::hard_link(&target, &file).unwrap();
        let c = super::run(&dir.path().join(FILE), &state, 100, &mut notes);
        assert_eq!(c.seconds, None);
        assert!(notes[1].contains("left alone"), "{notes:?}");
        std::fs::remove_file(&file).unwrap();
        nix::unistd::mkfifo(&file, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let c = super::run(&dir.path().join(FILE), &state, 100, &mut notes);
        assert_eq!(c.seconds, None);
        assert_eq!(std::fs::read(&target).unwrap(), b"service data");
        assert!(state::load::<Histogram>(&state).found().is_none());
    }
}
