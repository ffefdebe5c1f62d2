//! How much each service directory really holds: a parallel tree walk in the
//! manner of diskus, but by directory file descriptors (openat, getdents64,
//! fstatat relative to the directory) so the kernel never resolves a full path.
//!
//! Counting follows `du -s -x`: allocated bytes are st_blocks × 512 of every
//! entry (directories included), a file with several hard links counts once
//! per scan, symlinks are never followed, other filesystems are never entered.
//!
//! Whatever the tree's shape, nothing recurses (the stack is bounded), no
//! path is rebuilt per level, and a directory waits with at most its
//! parent's descriptor, within a budget taken from RLIMIT_NOFILE: the walk's
//! time is linear in entries and its memory bounded by [`MAX_DEPTH`].

pub(crate) mod dirents;
mod inodes;
mod walk;

use std::path::PathBuf;

pub use walk::{scan, scan_until, Scanned, MAX_DEPTH, MAX_LISTED, MAX_SUBDIRS, MAX_THREADS};

/// What one tree (a service directory) holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// st_blocks × 512, as du counts.
    pub allocated_bytes: u64,
    /// st_size, as `du --apparent-size` counts. In u128: sparse files may
    /// claim up to 8 EiB each, so a few of them pass u64 (the sum stays exact).
    pub apparent_bytes: u128,
    /// Entries that are not directories (regular files, symlinks, sockets...).
    pub files: u64,
    /// Directories, the root included.
    pub dirs: u64,
}

/// The result of scanning one root.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    pub root: PathBuf,
    pub totals: Totals,
    /// Directories that could not be read: counted themselves, contents not.
    pub unreadable: Vec<PathBuf>,
    /// Other entries that could not be examined, with the reason (a
    /// directory past [`MAX_DEPTH`] among them).
    pub errors: Vec<String>,
    /// Unreadable directories and errors beyond the [`MAX_LISTED`] listed.
    pub unlisted: u64,
    /// The root itself could not be opened (missing, a symlink...).
    pub root_error: Option<RootError>,
    /// Every first- and second-level subdirectory with the allocated bytes
    /// below it (itself included), in no order; at most
    /// [`walk::MAX_SUBDIRS`] (then `subdirs_capped`).
    pub subdirs: Vec<Subdir>,
    pub subdirs_capped: bool,
}

/// A first- or second-level subdirectory of a service and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subdir {
    /// Relative to the service directory: "data", "data/orders-0".
    pub path: PathBuf,
    /// st_blocks × 512 below it, itself included (as `du -s -x`).
    pub bytes: u64,
}

impl Subdir {
    /// 1 or 2: its depth below the service directory.
    pub fn level(&self) -> usize {
        self.path.components().count()
    }
}

/// Why a service directory was not scanned at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootError {
    /// The service directory, or the base, is a symlink: never followed,
    /// since a service user can plant one. Both as escaped text.
    Symlink { path: String, target: String },
    /// Missing, not a directory, unreadable...: the reason.
    Other(String),
}

impl std::fmt::Display for RootError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RootError::Symlink { path, target } => {
                write!(f, "{path} is a symlink (to {target}), not followed")
            }
            RootError::Other(e) => f.write_str(e),
        }
    }
}

impl Usage {
    /// True when some of the tree could not be counted.
    pub fn partial(&self) -> bool {
        !self.unreadable.is_empty()
            || !self.errors.is_empty()
            || self.unlisted > 0
            || self.root_error.is_some()
    }
}

impl Totals {
    fn add(&mut self, other: &Totals) {
        self.allocated_bytes += other.allocated_bytes;
        self.apparent_bytes += other.apparent_bytes;
        self.files += other.files;
        self.dirs += other.dirs;
    }
}

/// A sensible number of walker threads. With a cold cache every stat and
/// directory read waits on the device, so many threads (8 per core, 8 to 32)
/// keep its queue full: measured on the mktree tree, 16 threads on 2 cores
/// halve the cold-cache time of 4. With a warm cache the extra threads mostly
/// sleep, and cost little CPU.
pub fn default_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores * 8).clamp(8, 32)
}
