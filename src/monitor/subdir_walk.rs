//! The budgeted subdirectory walk of quota mode. With quotas the monitor
//! learns each service's usage from one quotactl, so nothing is walked and
//! nothing says what grows inside a service. This walk does, and yields to
//! trading: it runs at its own cadence (`monitor.subdir_walk_every`), in the
//! idle I/O class, in the monitor's own thread (no walker threads), and
//! stops when the run's budget (`monitor.subdir_walk_budget` entries) is
//! spent. Where it stopped is saved in the state directory
//! (`monitor-subdir-walk.json`) and the next run continues from there, so a
//! tree of any size is covered in as many runs as it takes: a round.
//!
//! The budget counts entries: one per entry examined (an fstatat, at most
//! one inode read from the device) and one per directory listed (getdents,
//! re-listing on resume included). It bounds the run's metadata I/O, not its
//! time: on a cold cache each may wait on the disk.
//!
//! The walk is depth first in byte order of names, so "where it stopped" is
//! a path: on resume each directory on it is listed again and the names
//! before it skipped. A round's figures add up what each run saw; a file
//! that moved between runs may be counted twice or not at all, and a file
//! with several hard links once per run (docs/monitor.md says so).
//! Like the usage walk it never follows a symlink, never leaves the tier's
//! filesystem, holds one directory descriptor at a time (climbing back by
//! `..`, checked by device and inode), and only reads.

use std::collections::{BTreeMap, HashSet};
use std::ffi::{CStr, CString, OsStr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{fstat, fstatat, FileStat, SFlag};
use serde::{Deserialize, Serialize};

use crate::escape;
use crate::usage::dirents::DirentBuf;
use crate::usage::{Subdir, MAX_SUBDIRS};

/// Below this depth a directory is counted itself, its contents are not
/// (the service is flagged partial): the saved position stays bounded, and
/// resuming (one listing per level) costs at most half the smallest budget
/// the layout allows, so every run moves a round on by the other half.
pub const MAX_DEPTH: usize = 500;
/// Errors named per service (the count covers them all).
const ERRORS: usize = 10;

/// One service's figures in the round so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceWalk {
    pub service: String,
    /// Walked to the end in this round.
    pub done: bool,
    /// Entries examined, the service directory included.
    pub entries: u64,
    /// Allocated bytes of what was examined (st_blocks × 512).
    pub bytes: u64,
    /// First- and second-level subdirectories: the hex of their path's
    /// bytes (names may be any bytes) → allocated bytes below them.
    pub subdirs: BTreeMap<String, u64>,
    /// More than [`MAX_SUBDIRS`]: the rest were not tracked one by one.
    pub capped: bool,
    /// Something could not be read: the figures are lower bounds.
    pub partial: bool,
    pub errors: Vec<String>,
    pub error_count: u64,
}

impl ServiceWalk {
    pub fn new(service: &str) -> ServiceWalk {
        ServiceWalk {
            service: service.to_string(),
            ..Default::default()
        }
    }

    /// The subdirectories as the top list takes them.
    pub fn subdirs(&self) -> Vec<Subdir> {
        self.subdirs
            .iter()
            .filter_map(|(k, &bytes)| {
                Some(Subdir {
                    path: PathBuf::from(OsStr::from_bytes(&unhex(k)?)),
                    bytes,
                })
            })
            .collect()
    }

    fn error(&mut self, path: &Path, e: impl std::fmt::Display) {
        self.partial = true;
        self.error_count += 1;
        if self.errors.len() < ERRORS {
            self.errors
                .push(format!("{}: {e}", escape::untrusted_path(path)));
        }
    }

    fn add(&mut self, key: Vec<u8>, bytes: u64) {
        let key = hex(&key);
        if let Some(b) = self.subdirs.get_mut(&key) {
            *b = b.saturating_add(bytes);
        } else if self.subdirs.len() < MAX_SUBDIRS {
            self.subdirs.insert(key, bytes);
        } else {
            self.capped = true;
        }
    }
}

/// What a run may spend, and what it spent. Listing a directory is charged
/// after the fact, so a run may pass its budget by the directories it lists
/// again to resume (the depth where it stopped) and the one it entered
/// last; and it always examines one entry, so that every round ends.
pub struct Budget<'a> {
    pub left: u64,
    pub spent: u64,
    /// Entries examined this run.
    pub examined: u64,
    /// A signal (the unit's TimeoutStartSec=, a stop): stop as if spent.
    pub stop: &'a AtomicBool,
}

impl Budget<'_> {
    fn take(&mut self) -> bool {
        if (self.left == 0 && self.examined > 0) || self.stop.load(Ordering::Relaxed) {
            return false;
        }
        self.left = self.left.saturating_sub(1);
        self.spent += 1;
        self.examined += 1;
        true
    }

    pub fn spent_out(&self) -> bool {
        self.left == 0 || self.stop.load(Ordering::Relaxed)
    }

    fn charge(&mut self) {
        self.left = self.left.saturating_sub(1);
        self.spent += 1;
    }
}

/// Where a walk stopped: the path (relative to the service directory) of
/// the next entry to examine, each name as hex.
pub type Cursor = Vec<String>;

const DIR_FLAGS: OFlag = OFlag::O_RDONLY
    .union(OFlag::O_DIRECTORY)
    .union(OFlag::O_NOFOLLOW)
    .union(OFlag::O_CLOEXEC)
    .union(OFlag::O_NONBLOCK);

/// A directory on the way down: its identity, its name, the names still to
/// visit (sorted, the next one last).
struct Frame {
    id: (u64, u64),
    name: CString,
    pending: Vec<CString>,
}

struct Walker<'a, 'b> {
    sw: &'a mut ServiceWalk,
    budget: &'a mut Budget<'b>,
    dev: u64,
    seen: &'a mut HashSet<(u64, u64)>,
    buf: DirentBuf,
    root: PathBuf,
}

/// Walks service `sw.service` in `base` (device `dev`) from `cursor` (None:
/// from its start) until it is done or the budget is spent; returns where it
/// stopped (None: done). `seen`: files with several links counted this run.
pub fn walk_service(
    base: BorrowedFd,
    base_path: &Path,
    dev: u64,
    sw: &mut ServiceWalk,
    cursor: Option<&Cursor>,
    budget: &mut Budget,
    seen: &mut HashSet<(u64, u64)>,
) -> Option<Cursor> {
    let name = CString::new(sw.service.as_bytes()).unwrap_or_default();
    let root = base_path.join(&sw.service);
    let resume: Option<Vec<CString>> = cursor.map(|c| {
        c.iter()
            .filter_map(|h| unhex(h).and_then(|b| CString::new(b).ok()))
            .collect()
    });
    if resume.is_none() {
        budget.charge(); // the service directory itself
    }
    let opened = openat(
        Some(base.as_raw_fd()),
        name.as_c_str(),
        DIR_FLAGS,
        nix::sys::stat::Mode::empty(),
    )
    .map(owned)
    .and_then(|fd| fstat(fd.as_raw_fd()).map(|st| (fd, st)));
    let mut w = Walker {
        sw,
        budget,
        dev,
        seen,
        buf: DirentBuf::new(),
        root,
    };
    let (fd, st) = match opened {
        Ok((fd, st)) if st.st_dev == dev => (fd, st),
        Ok(_) => {
            let root = w.root.clone();
            w.sw.error(&root, "on another filesystem than the tier's base");
            return None;
        }
        Err(e) => {
            let root = w.root.clone();
            w.sw.error(&root, e);
            return None;
        }
    };
    if resume.is_none() {
        w.sw.entries += 1;
        w.sw.bytes = w.sw.bytes.saturating_add(allocated(&st));
    }
    w.tree(fd, &st, resume.unwrap_or_default())
}

fn owned(fd: RawFd) -> OwnedFd {
    // SAFETY: openat just returned this descriptor; it is owned from here on.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn allocated(st: &FileStat) -> u64 {
    u64::try_from(st.st_blocks).unwrap_or(0).saturating_mul(512)
}

impl Walker<'_, '_> {
    fn path_of(&self, stack: &[Frame], name: Option<&CStr>) -> PathBuf {
        let mut p = self.root.clone();
        for f in stack.iter().skip(1) {
            p.push(OsStr::from_bytes(f.name.to_bytes()));
        }
        if let Some(n) = name {
            p.push(OsStr::from_bytes(n.to_bytes()));
        }
        p
    }

    /// The names in `dir`, sorted so the first in byte order is popped first.
    fn list(&mut self, dir: BorrowedFd, path: &Path) -> Option<Vec<CString>> {
        self.budget.charge();
        let mut names = Vec::new();
        match self.buf.for_each(dir, |e| names.push(e.name.to_owned())) {
            Ok(()) => {
                names.sort_unstable_by(|a, b| b.cmp(a));
                Some(names)
            }
            Err(e) => {
                self.sw.error(path, format!("cannot list: {e}"));
                None
            }
        }
    }

    /// Opens directory `name` in `dir` if it is still the one `st` describes.
    fn open_same(&mut self, dir: BorrowedFd, name: &CStr, st: &FileStat) -> Option<OwnedFd> {
        let fd = openat(
            Some(dir.as_raw_fd()),
            name,
            DIR_FLAGS,
            nix::sys::stat::Mode::empty(),
        )
        .map(owned)
        .ok()?;
        let now = fstat(fd.as_raw_fd()).ok()?;
        ((now.st_dev, now.st_ino) == (st.st_dev, st.st_ino)).then_some(fd)
    }

    /// The first- and second-level subdirectories an entry at `stack` +
    /// `name` counts in.
    fn keys(stack: &[Frame], name: &CStr, is_dir: bool) -> [Option<Vec<u8>>; 2] {
        let depth = stack.len(); // the entry's depth below the service directory
        let comp = |i: usize| -> &[u8] {
            if i < depth - 1 {
                stack[i + 1].name.to_bytes()
            } else {
                name.to_bytes()
            }
        };
        let within = |level: usize| depth > level || (depth == level && is_dir);
        let l1 = within(1).then(|| comp(0).to_vec());
        let l2 = within(2).then(|| [comp(0), b"/", comp(1)].concat());
        [l1, l2]
    }

    fn tree(&mut self, fd: OwnedFd, st: &FileStat, resume: Vec<CString>) -> Option<Cursor> {
        let root = self.root.clone();
        let pending = self.list(fd.as_fd(), &root)?;
        let mut stack = vec![Frame {
            id: (st.st_dev, st.st_ino),
            name: CString::default(),
            pending,
        }];
        let mut cur = fd;
        // Back down to where the last run stopped, skipping what it counted.
        let last = resume.len().saturating_sub(1);
        for (i, comp) in resume.iter().enumerate() {
            let top = stack.last_mut().expect("not empty");
            top.pending
                .retain(|n| if i == last { n >= comp } else { n > comp });
            if i == last {
                break;
            }
            let Ok(st) = fstatat(
                Some(cur.as_fd().as_raw_fd()),
                comp.as_c_str(),
                nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
            ) else {
                break; // gone since: what it held then stays counted
            };
            if SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) != SFlag::S_IFDIR
                || st.st_dev != self.dev
            {
                break;
            }
            let Some(fd) = self.open_same(cur.as_fd(), comp, &st) else {
                break;
            };
            let path = self.path_of(&stack, Some(comp));
            let Some(pending) = self.list(fd.as_fd(), &path) else {
                break;
            };
            stack.push(Frame {
                id: (st.st_dev, st.st_ino),
                name: comp.clone(),
                pending,
            });
            cur = fd;
        }
        loop {
            let top = stack.last_mut().expect("not empty while walking");
            let Some(name) = top.pending.pop() else {
                stack.pop();
                let parent_id = stack.last()?.id;
                match openat(
                    Some(cur.as_fd().as_raw_fd()),
                    c"..",
                    DIR_FLAGS,
                    nix::sys::stat::Mode::empty(),
                )
                .map(owned)
                .and_then(|fd| fstat(fd.as_raw_fd()).map(|st| (fd, (st.st_dev, st.st_ino))))
                {
                    Ok((fd, id)) if id == parent_id => cur = fd,
                    other => {
                        let path = self.path_of(&stack, None);
                        let why = match other {
                            Err(e) => e.to_string(),
                            Ok(_) => "moved during the walk".to_string(),
                        };
                        self.sw.error(&path, why);
                        return None;
                    }
                }
                continue;
            };
            if !self.budget.take() {
                let mut cursor: Cursor = stack
                    .iter()
                    .skip(1)
                    .map(|f| hex(f.name.to_bytes()))
                    .collect();
                cursor.push(hex(name.to_bytes()));
                return Some(cursor);
            }
            let st = match fstatat(
                Some(cur.as_fd().as_raw_fd()),
                name.as_c_str(),
                nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
            ) {
                Ok(st) => st,
                Err(nix::errno::Errno::ENOENT) => continue,
                Err(e) => {
                    let path = self.path_of(&stack, Some(&name));
                    self.sw.error(&path, e);
                    continue;
                }
            };
            self.sw.entries += 1;
            if st.st_dev != self.dev {
                continue; // a mount below: another filesystem, not entered (du -x)
            }
            let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
            let is_dir = kind == SFlag::S_IFDIR;
            let counted = is_dir || st.st_nlink <= 1 || self.seen.insert((st.st_dev, st.st_ino));
            let bytes = if counted { allocated(&st) } else { 0 };
            self.sw.bytes = self.sw.bytes.saturating_add(bytes);
            for key in Self::keys(&stack, &name, is_dir).into_iter().flatten() {
                self.sw.add(key, bytes);
            }
            if !is_dir {
                continue;
            }
            let path = self.path_of(&stack, Some(&name));
            if stack.len() > MAX_DEPTH {
                self.sw.error(
                    &path,
                    format!("deeper than {MAX_DEPTH} levels: not entered"),
                );
                continue;
            }
            let Some(fd) = self.open_same(cur.as_fd(), &name, &st) else {
                continue; // replaced or gone since the stat
            };
            let Some(pending) = self.list(fd.as_fd(), &path) else {
                continue;
            };
            stack.push(Frame {
                id: (st.st_dev, st.st_ino),
                name,
                pending,
            });
            cur = fd;
        }
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of a [`hex`] string; None when it is not one.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The escaped text of a cursor, for the report: "service/dir/file".
pub fn shown(service: &str, cursor: &Cursor) -> String {
    let mut p = PathBuf::from(service);
    for c in cursor {
        if let Some(b) = unhex(c) {
            p.push(OsStr::from_bytes(&b));
        }
    }
    escape::untrusted_path(&p)
}
