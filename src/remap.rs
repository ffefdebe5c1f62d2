//! Owners that survive a reinstall or a move. The tier's inodes hold numeric
//! IDs; after a reinstall, a rebuilt image or a disk moved to another host the
//! service users can have other UIDs and GIDs. A service whose directories
//! all carry one ID that is not its owner's is that case, not drift: it is
//! reported once (`dir.owner.remap`, [`detect`]) and repaired only on request
//! (`jts-hot setup --remap-owners`, [`apply`]): every inode of that service's
//! tree carrying the old ID gets the new one, nothing else. No link is ever
//! followed (each inode is opened O_PATH|O_NOFOLLOW and changed through that
//! descriptor), no other filesystem is entered.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::escape;
use crate::layout::PlannedDir;
use crate::system::accounts::Accounts;
use crate::system::on_disk;
use crate::system::rootfs::Root;
use crate::usage::dirents::DirentBuf;

/// One ID a service's tree carries instead of the layout's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdChange {
    pub from: u32,
    /// The name the old ID has on this system now, if any (another user's).
    pub from_name: Option<String>,
    pub to: u32,
    pub to_name: String,
}

/// A service whose directories all carry other IDs than its owner's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Remap {
    pub service: String,
    /// The service directory, as the layout names it.
    #[serde(serialize_with = "escape::serialize_path")]
    pub path: PathBuf,
    /// How many planned directories of the service carry the old IDs.
    pub directories: usize,
    pub uid: Option<IdChange>,
    pub gid: Option<IdChange>,
}

impl IdChange {
    fn text(&self, word: &str) -> String {
        let from = match &self.from_name {
            Some(n) => escape::untrusted(n),
            None => format!("no {word}"),
        };
        let id = if word == "user" { "uid" } else { "gid" };
        format!(
            "{id} {} ({from}) → {} {}",
            self.from,
            escape::untrusted(&self.to_name),
            self.to
        )
    }
}

impl Remap {
    /// `uid 998 (no user) → postgres 105, gid 998 (no group) → postgres 106`
    pub fn what(&self) -> String {
        let mut parts = Vec::new();
        if let Some(u) = &self.uid {
            parts.push(u.text("user"));
        }
        if let Some(g) = &self.gid {
            parts.push(g.text("group"));
        }
        parts.join(", ")
    }
}

/// The services among `planned` (a run's reachable directories) whose
/// directories are consistently owned by another ID than the layout's: every
/// planned directory of the service (at least two, or one whose ID has no
/// name on this system) is a real directory carrying the same wrong ID, the
/// layout's name resolves, and neither side is root (root's ID never moves;
/// a tree of root's is an operator's copy, not a renumbering). Everything
/// else is per-directory drift (dir.owner, dir.group).
pub fn detect(planned: &[PlannedDir], root: &Root, accounts: &Accounts) -> Vec<Remap> {
    let mut found = Vec::new();
    let mut services: Vec<&str> = Vec::new();
    for d in planned {
        if let Some(s) = d.service {
            if !services.contains(&s.name.as_str()) {
                services.push(s.name.as_str());
            }
        }
    }
    for name in services {
        let dirs: Vec<&PlannedDir> = planned
            .iter()
            .filter(|d| d.service.is_some_and(|s| s.name.as_str() == name))
            .collect();
        let Some(service) = dirs[0].service else {
            continue;
        };
        let mut ids = Vec::new();
        for d in &dirs {
            match std::fs::symlink_metadata(on_disk(root, &d.path)) {
                Ok(m) if m.is_dir() => ids.push((m.uid(), m.gid())),
                _ => break,
            }
        }
        if ids.len() != dirs.len() {
            continue;
        }
        let one_owner = dirs
            .iter()
            .all(|d| d.ownership.owner == dirs[0].ownership.owner);
        let one_group = dirs
            .iter()
            .all(|d| d.ownership.group == dirs[0].ownership.group);
        // The same judgement for owner and group: one ID on every planned
        // directory, not the layout's, makes one change.
        let id_change = |name: &str,
                         found: Vec<u32>,
                         to: Option<u32>,
                         found_name: &dyn Fn(u32) -> Option<String>| {
            let to = to?;
            change(&found, to, || found_name(found[0])).map(|(from, from_name)| IdChange {
                from,
                from_name,
                to,
                to_name: name.to_string(),
            })
        };
        let uid = one_owner
            .then(|| {
                let name = dirs[0].ownership.owner.as_str();
                id_change(
                    name,
                    ids.iter().map(|i| i.0).collect(),
                    accounts.uid(name).ok().flatten(),
                    &|id| accounts.user_name(id),
                )
            })
            .flatten();
        let gid = one_group
            .then(|| {
                let name = dirs[0].ownership.group.as_str();
                id_change(
                    name,
                    ids.iter().map(|i| i.1).collect(),
                    accounts.gid(name).ok().flatten(),
                    &|id| accounts.group_name(id),
                )
            })
            .flatten();
        if uid.is_some() || gid.is_some() {
            found.push(Remap {
                service: service.name.to_string(),
                path: dirs[0].path.clone(),
                directories: dirs.len(),
                uid,
                gid,
            });
        }
    }
    found
}

/// The old ID when every one of `ids` is that same ID, other than `to`, and
/// the case reads as a renumbering rather than one directory's drift.
fn change(
    ids: &[u32],
    to: u32,
    name_of: impl FnOnce() -> Option<String>,
) -> Option<(u32, Option<String>)> {
    let from = *ids.first()?;
    if from == to || from == 0 || to == 0 || ids.iter().any(|i| *i != from) {
        return None;
    }
    let name = name_of();
    (ids.len() >= 2 || name.is_none()).then_some((from, name))
}

/// What `apply` did to one service's tree.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Applied {
    /// Inodes whose owner or group (or both) changed.
    pub changed: u64,
    /// Inodes looked at.
    pub examined: u64,
    /// What could not be done (at most [`MAX_LISTED`] listed), escaped.
    pub errors: Vec<String>,
    /// Errors beyond those listed.
    pub unlisted: u64,
}

/// At most this many errors are listed per service.
pub const MAX_LISTED: usize = 20;

impl Applied {
    fn error(&mut self, e: String) {
        match self.errors.len() < MAX_LISTED {
            true => self.errors.push(e),
            false => self.unlisted += 1,
        }
    }
}

/// Changes the owner (group) of every inode in `remap`'s service tree (under
/// `root`) that carries the old uid (gid) to the new one, and nothing else:
/// not an inode with another ID, not a symlink's target, not another
/// filesystem mounted inside the tree. Depth-first, one descriptor per level.
pub fn apply(root: &Root, remap: &Remap) -> Applied {
    let mut done = Applied::default();
    let path = on_disk(root, &remap.path);
    let top = match open_dir(libc::AT_FDCWD, &path) {
        Ok(fd) => fd,
        Err(e) => {
            done.error(format!("{}: {e}", escape::untrusted_path(&path)));
            return done;
        }
    };
    let dev = match fstat(top.as_fd()) {
        Ok(st) => st.st_dev,
        Err(e) => {
            done.error(format!("{}: {e}", escape::untrusted_path(&path)));
            return done;
        }
    };
    let ids = Ids {
        uid: remap.uid.as_ref().map(|c| (c.from, c.to)),
        gid: remap.gid.as_ref().map(|c| (c.from, c.to)),
    };
    ids.change(top.as_fd(), &path, &mut done);
    // Each frame: a directory open, and the names of its subdirectories left.
    let mut stack: Vec<(OwnedFd, Vec<CString>, PathBuf)> = Vec::new();
    let mut buf = DirentBuf::new();
    match entries(&mut buf, top, &path, dev, &ids, &mut done) {
        Some(frame) => stack.push(frame),
        None => return done,
    }
    let budget = fd_budget();
    loop {
        let depth = stack.len();
        let Some((fd, subdirs, shown)) = stack.last_mut() else {
            break;
        };
        let Some(name) = subdirs.pop() else {
            stack.pop();
            continue;
        };
        let child = shown.join(OsStr::from_bytes(name.as_bytes()));
        if depth >= budget {
            done.error(format!(
                "{}: not entered: deeper than the descriptors allow ({budget} levels)",
                escape::untrusted_path(&child)
            ));
            continue;
        }
        let dir = match open_dir(
            fd.as_raw_fd(),
            Path::new(OsStr::from_bytes(name.as_bytes())),
        ) {
            Ok(d) => d,
            // Gone or replaced by a non-directory since it was listed.
            Err(e) if vanished(&e) => continue,
            Err(e) => {
                done.error(format!("{}: {e}", escape::untrusted_path(&child)));
                continue;
            }
        };
        // Swapped for another filesystem's directory since it was listed.
        if fstat(dir.as_fd()).map_or(true, |st| st.st_dev != dev) {
            continue;
        }
        if let Some(frame) = entries(&mut buf, dir, &child, dev, &ids, &mut done) {
            stack.push(frame);
        }
    }
    done
}

struct Ids {
    uid: Option<(u32, u32)>,
    gid: Option<(u32, u32)>,
}

impl Ids {
    /// Changes what carries an old ID on the inode `fd` refers to (an
    /// O_PATH or directory descriptor: the inode itself, never a link's target).
    fn change(&self, fd: BorrowedFd<'_>, shown: &Path, done: &mut Applied) {
        done.examined += 1;
        let st = match fstat(fd) {
            Ok(st) => st,
            Err(e) => {
                done.error(format!("{}: {e}", escape::untrusted_path(shown)));
                return;
            }
        };
        let uid = self.uid.and_then(|(f, t)| (st.st_uid == f).then_some(t));
        let gid = self.gid.and_then(|(f, t)| (st.st_gid == f).then_some(t));
        if uid.is_none() && gid.is_none() {
            return;
        }
        let empty = c"";
        // SAFETY: a valid descriptor and a NUL-terminated empty path;
        // AT_EMPTY_PATH changes the inode the descriptor refers to.
        let rc = unsafe {
            libc::fchownat(
                fd.as_raw_fd(),
                empty.as_ptr(),
                uid.unwrap_or(u32::MAX),
                gid.unwrap_or(u32::MAX),
                libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        match rc {
            0 => done.changed += 1,
            _ => done.error(format!(
                "{}: {}",
                escape::untrusted_path(shown),
                io::Error::last_os_error()
            )),
        }
    }
}

/// Lists `dir` (already changed itself), changes each entry that is not a
/// directory, and returns the frame of its subdirectories on `dev`.
fn entries(
    buf: &mut DirentBuf,
    dir: OwnedFd,
    shown: &Path,
    dev: u64,
    ids: &Ids,
    done: &mut Applied,
) -> Option<(OwnedFd, Vec<CString>, PathBuf)> {
    let mut names: Vec<CString> = Vec::new();
    if let Err(e) = buf.for_each(dir.as_fd(), |e| names.push(e.name.to_owned())) {
        done.error(format!("{}: {e}", escape::untrusted_path(shown)));
    }
    let mut subdirs = Vec::new();
    for name in names {
        let child = || shown.join(OsStr::from_bytes(name.as_bytes()));
        let fd = match open_at(dir.as_raw_fd(), &name, libc::O_PATH | libc::O_NOFOLLOW) {
            Ok(fd) => fd,
            Err(e) if vanished(&e) => continue,
            Err(e) => {
                done.error(format!("{}: {e}", escape::untrusted_path(&child())));
                continue;
            }
        };
        let st = match fstat(fd.as_fd()) {
            Ok(st) => st,
            Err(e) => {
                done.error(format!("{}: {e}", escape::untrusted_path(&child())));
                continue;
            }
        };
        // Another filesystem mounted inside the tree is not this tree's.
        if st.st_dev != dev {
            continue;
        }
        if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
            ids.change(fd.as_fd(), &child(), done);
            subdirs.push(name);
        } else {
            ids.change(fd.as_fd(), &child(), done);
        }
    }
    subdirs.reverse();
    Some((dir, subdirs, shown.to_path_buf()))
}

fn open_at(dirfd: libc::c_int, name: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: a NUL-terminated name; the descriptor is owned from here on.
    let fd = unsafe { libc::openat(dirfd, name.as_ptr(), flags | libc::O_CLOEXEC) };
    match fd {
        -1 => Err(io::Error::last_os_error()),
        fd => Ok(unsafe { OwnedFd::from_raw_fd(fd) }),
    }
}

/// A directory, never through a symlink in its last component.
fn open_dir(dirfd: libc::c_int, path: &Path) -> io::Result<OwnedFd> {
    let name = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in the path"))?;
    open_at(
        dirfd,
        &name,
        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
    )
}

fn fstat(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: a valid descriptor and a buffer of the right size.
    match unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) } {
        0 => Ok(unsafe { st.assume_init() }),
        _ => Err(io::Error::last_os_error()),
    }
}

fn vanished(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOENT) | Some(libc::ENOTDIR) | Some(libc::ELOOP)
    )
}

/// Levels the walk may hold open: the descriptor limit less a reserve.
fn fd_budget() -> usize {
    let soft = crate::system::limits::raise_nofile().min(1 << 20) as usize;
    soft.saturating_sub(64).max(16)
}
