//! The I/O baseline, measured in one temporary file under the directory,
//! bounded in size and time, removed whatever happens (drop, error, signal).
//!
//! Phases, within one time budget (fractions of --duration from the start):
//! 1. sequential O_DIRECT writes of 1 MiB until --size (at most 30%);
//! 2. random 4 KiB O_DIRECT reads at queue depth 1 over what phase 1 wrote (until 65%);
//! 3. an 8 KiB write at offset 0, then fdatasync, repeated (until 100%): as
//!    pg_test_fsync's "fdatasync" line does on a pre-written WAL-sized file.

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

pub const MIN_SIZE: u64 = 1 << 20;
/// The free space always left to the tier's real users, at the least.
const MIN_MARGIN: u64 = 1 << 30;
/// O_DIRECT buffers, offsets and lengths are multiples of this (covers 512 and 4096 byte sectors).
const ALIGN: usize = 4096;
const SEQ_BLOCK: usize = 1 << 20;
const READ_BLOCK: usize = 4096;
/// PostgreSQL's WAL block (XLOG_BLCKSZ), what pg_test_fsync writes.
const FSYNC_BLOCK: usize = 8192;

#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub size: u64,
    pub duration: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct Measurements {
    /// The largest size the temporary file reached (never above --size).
    pub file_bytes: u64,
    pub seq_write: Throughput,
    pub rand_read: Latencies,
    pub fsync: Latencies,
}

#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    pub block_bytes: u64,
    pub bytes: u64,
    /// Includes the final fdatasync.
    pub seconds: f64,
    pub bytes_per_sec: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Latencies {
    pub block_bytes: u64,
    pub ops: u64,
    pub seconds: f64,
    /// ops / seconds: IOPS at queue depth 1, or pg_test_fsync's ops/sec.
    pub ops_per_sec: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    #[error(
        "refusing to write: {dir} has {free} bytes free, the probe needs {need} \
         (--size {size} plus a margin of 10% of the filesystem or 1 GiB, whichever is bigger)"
    )]
    NoSpace {
        dir: String,
        free: u64,
        need: u64,
        size: u64,
    },
    #[error("interrupted by a signal: no result (the temporary file was removed)")]
    Interrupted,
    #[error(transparent)]
    Io(#[from] anyhow::Error),
}

/// Free space the probe requires before it writes anything: its file plus a
/// margin of 10% of the filesystem, at least 1 GiB.
fn required_free(size: u64, fs_bytes: u64) -> u64 {
    size.saturating_add((fs_bytes / 10).max(MIN_MARGIN))
}

/// The longest time budget: a day is far more than a probe needs.
pub const MAX_DURATION: Duration = Duration::from_secs(86_400);

/// Runs the three phases in a temporary file under `dir`. `stop` (set by
/// SIGINT, SIGTERM, SIGHUP or SIGQUIT) ends the run early, without a result.
pub fn measure(dir: &Path, s: &Settings, stop: &AtomicBool) -> Result<Measurements, MeasureError> {
    use anyhow::Context;
    let fs = crate::system::statvfs::of(dir)
        .with_context(|| format!("cannot statvfs {}", dir.display()))?;
    let free = fs.avail_bytes;
    let need = required_free(s.size, fs.size_bytes);
    if free < need {
        return Err(MeasureError::NoSpace {
            dir: dir.display().to_string(),
            free,
            need,
            size: s.size,
        });
    }
    if stop.load(Ordering::Relaxed) {
        return Err(MeasureError::Interrupted);
    }
    let file = ProbeFile::create(dir)?;
    let start = Instant::now();
    // Checked: a duration near Duration::MAX must not overflow the clock.
    let until = |fraction: f64| {
        Duration::try_from_secs_f64(s.duration.as_secs_f64() * fraction)
            .ok()
            .and_then(|d| start.checked_add(d))
            .unwrap_or(start + MAX_DURATION)
    };
    let mut rng = Rng::seeded();

    let seq_write =
        seq_write(&file.direct, s.size, until(0.30), stop, &mut rng).context("sequential write")?;
    let rand_read = rand_read(&file.direct, seq_write.bytes, until(0.65), stop, &mut rng)
        .context("random read")?;
    let fsync = fsync(file.temp.as_file(), until(1.0), stop, &mut rng).context("fsync")?;
    let file_bytes = file.temp.as_file().metadata().context("stat")?.len();
    if stop.load(Ordering::Relaxed) {
        return Err(MeasureError::Interrupted);
    }
    file.remove()?;
    Ok(Measurements {
        file_bytes,
        seq_write,
        rand_read,
        fsync,
    })
}

/// The temporary file: removed on drop (tempfile), also on early return.
struct ProbeFile {
    temp: tempfile::NamedTempFile,
    /// The same file opened again with O_DIRECT (bypassing the page cache).
    direct: File,
}

impl ProbeFile {
    fn create(dir: &Path) -> anyhow::Result<ProbeFile> {
        use anyhow::Context;
        let temp = tempfile::Builder::new()
            .prefix(".jts-hot-probe.")
            .tempfile_in(dir)
            .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
        // Reopening through /proc/self/fd gets the very same inode, whatever
        // happens to the name meanwhile.
        let direct = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(nix::libc::O_DIRECT)
            .open(format!("/proc/self/fd/{}", temp.as_file().as_raw_fd()))
            .with_context(|| {
                format!(
                    "cannot open with O_DIRECT in {} (does the filesystem support it?)",
                    dir.display()
                )
            })?;
        Ok(ProbeFile { temp, direct })
    }

    fn remove(self) -> anyhow::Result<()> {
        use anyhow::Context;
        let path = self.temp.path().to_path_buf();
        drop(self.direct);
        self.temp
            .close()
            .with_context(|| format!("cannot remove {}", path.display()))
    }
}

fn seq_write(
    f: &File,
    size: u64,
    deadline: Instant,
    stop: &AtomicBool,
    rng: &mut Rng,
) -> io::Result<Throughput> {
    let size = size / ALIGN as u64 * ALIGN as u64;
    let mut buf = AlignedBuf::new(SEQ_BLOCK);
    rng.fill(buf.as_mut());
    let start = Instant::now();
    let mut written = 0u64;
    // At least one block, so the reads have something to read.
    while written < size {
        let len = (size - written).min(SEQ_BLOCK as u64) as usize;
        f.write_all_at(&buf.as_ref()[..len], written)?;
        written += len as u64;
        if Instant::now() >= deadline || stop.load(Ordering::Relaxed) {
            break;
        }
    }
    f.sync_data()?;
    let seconds = start.elapsed().as_secs_f64();
    Ok(Throughput {
        block_bytes: SEQ_BLOCK as u64,
        bytes: written,
        seconds,
        bytes_per_sec: written as f64 / seconds,
    })
}

fn rand_read(
    f: &File,
    span: u64,
    deadline: Instant,
    stop: &AtomicBool,
    rng: &mut Rng,
) -> io::Result<Latencies> {
    let blocks = span / READ_BLOCK as u64;
    let mut buf = AlignedBuf::new(READ_BLOCK);
    timed_loop(READ_BLOCK, deadline, stop, || {
        let offset = rng.next() % blocks.max(1) * READ_BLOCK as u64;
        f.read_exact_at(buf.as_mut(), offset)
    })
}

fn fsync(f: &File, deadline: Instant, stop: &AtomicBool, rng: &mut Rng) -> io::Result<Latencies> {
    let mut buf = vec![0u8; FSYNC_BLOCK];
    rng.fill(&mut buf);
    timed_loop(FSYNC_BLOCK, deadline, stop, || {
        f.write_all_at(&buf, 0)?;
        f.sync_data()
    })
}

/// Repeats `op` until the deadline or a stop (at least once unless stopped),
/// timing each call.
fn timed_loop(
    block: usize,
    deadline: Instant,
    stop: &AtomicBool,
    mut op: impl FnMut() -> io::Result<()>,
) -> io::Result<Latencies> {
    let mut times = Vec::new();
    let start = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        op()?;
        let now = Instant::now();
        times.push(now - t);
        if now >= deadline {
            break;
        }
    }
    Ok(latencies(block, &mut times, start.elapsed()))
}

/// Percentiles by nearest rank.
fn latencies(block: usize, times: &mut [Duration], elapsed: Duration) -> Latencies {
    times.sort_unstable();
    let us = |d: Duration| d.as_nanos() as f64 / 1000.0;
    let rank = |q: f64| {
        let i = (q * times.len() as f64).ceil() as usize;
        times.get(i.saturating_sub(1)).map_or(0.0, |d| us(*d))
    };
    let seconds = elapsed.as_secs_f64();
    Latencies {
        block_bytes: block as u64,
        ops: times.len() as u64,
        seconds,
        ops_per_sec: times.len() as f64 / seconds,
        p50_us: rank(0.50),
        p99_us: rank(0.99),
        max_us: times.last().map_or(0.0, |d| us(*d)),
    }
}

/// A zeroed buffer whose start is aligned for O_DIRECT (safe code: an
/// over-allocated Vec, used from its first aligned byte).
struct AlignedBuf {
    bytes: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBuf {
    fn new(len: usize) -> AlignedBuf {
        let bytes = vec![0u8; len + ALIGN];
        let start = bytes.as_ptr().align_offset(ALIGN);
        AlignedBuf { bytes, start, len }
    }
    fn as_ref(&self) -> &[u8] {
        &self.bytes[self.start..self.start + self.len]
    }
    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.bytes[self.start..self.start + self.len]
    }
}

/// xorshift64*: random offsets and incompressible data, no dependency.
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Rng(t.as_nanos() as u64 | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let r = self.next().to_le_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_is_ten_percent_or_one_gib() {
        assert_eq!(required_free(100, 4 << 40), 100 + (4u64 << 40) / 10);
        assert_eq!(required_free(100, 64 << 20), 100 + MIN_MARGIN);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut t: Vec<Duration> = (1..=100).rev().map(Duration::from_micros).collect();
        let l = latencies(4096, &mut t, Duration::from_secs(2));
        assert_eq!((l.p50_us, l.p99_us, l.max_us), (50.0, 99.0, 100.0));
        assert_eq!((l.ops, l.ops_per_sec), (100, 50.0));
    }

    #[test]
    fn buffers_are_aligned() {
        let mut b = AlignedBuf::new(READ_BLOCK);
        assert_eq!(b.as_mut().as_ptr() as usize % ALIGN, 0);
        assert_eq!(b.as_ref().len(), READ_BLOCK);
    }
}
