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
use crate::state::{self, Document, StateDir};

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

/// The canary as the monitor reports it.
#[derive(Debug, Clone, Serialize)]
pub struct Canary {
    #[serde(serialize_with = "escape::serialize_path")]
    pub file: PathBuf,
    /// This run's write + fdatasync; null when it did not run (notes say why).
    pub seconds: Option<f64>,
    /// Every run's, this one included when it ran and was saved.
    pub histogram: Option<Histogram>,
}

/// Times one write + fdatasync in the canary `file` (`Tier::fsync_canary`)
/// and adds it to the saved histogram. Notes say what kept it from running or saving.
pub fn run(file: &Path, state: &StateDir, now: u64, notes: &mut Vec<String>) -> Canary {
    let file = file.to_path_buf();
    let mut canary = Canary {
        file: file.clone(),
        seconds: None,
        histogram: None,
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
