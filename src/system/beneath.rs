//! What lies on the parent filesystem beneath a mount point: written there
//! while the disk was not mounted (an ungated job, an operator), hidden once
//! it is, using the parent's disk. Seen without touching the live mount: a
//! detached, read-only clone of the parent's mount alone (open_tree(2) with
//! OPEN_TREE_CLONE, without AT_RECURSIVE: the mounts on top of it are not
//! in the clone), gone when its descriptor closes. Needs CAP_SYS_ADMIN, as
//! the kernel allows nothing less to look beneath a mount.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

use crate::escape;

/// Why nothing could be looked at.
#[derive(Debug)]
pub enum Error {
    /// Not privileged to clone a mount (no CAP_SYS_ADMIN, a sandbox).
    NotPermitted,
    Other(String),
}

const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOUNT_ATTR_RDONLY: u64 = 1;

/// struct mount_attr of mount_setattr(2).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// The directory beneath a mount point, opened through the clone.
pub struct Opened {
    /// Its parent directory (an O_PATH descriptor inside the clone).
    pub parent: OwnedFd,
    /// Its name in the parent.
    pub name: OsString,
    /// The directory itself, open for reading.
    pub dir: OwnedFd,
    /// Its own st_blocks × 512 (not part of what lies beneath).
    pub own_bytes: u64,
}

/// Opens `path` (at or below `mount_point`) on the filesystem the mount
/// point lies on, read-only, without touching the live mount. `None`:
/// nothing there (no such directory beneath, or "/").
pub fn open(mount_point: &Path, path: &Path) -> Result<Option<Opened>, Error> {
    let shown = |e: &dyn std::fmt::Display| {
        Error::Other(format!("{}: {e}", escape::untrusted_path(mount_point)))
    };
    let Some(parent) = mount_point.parent() else {
        return Ok(None);
    };
    let clone = open_tree_clone(parent).map_err(|e| match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::ENOSYS) => Error::NotPermitted,
        _ => shown(&e),
    })?;
    read_only(&clone).map_err(|e| shown(&e))?;
    let Ok(rel) = path.strip_prefix(parent) else {
        return Ok(None);
    };
    // Component by component, never through a link: the names beneath are
    // whatever a writer left there.
    let names: Vec<&OsStr> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect();
    let Some((last, above)) = names.split_last() else {
        return Ok(None);
    };
    let mut dir = clone;
    for name in above {
        match open_at(&dir, name.as_bytes(), libc::O_PATH | libc::O_DIRECTORY) {
            Ok(d) => dir = d,
            Err(e) if missing(&e) => return Ok(None),
            Err(e) => return Err(shown(&e)),
        }
    }
    let target = match open_at(&dir, last.as_bytes(), libc::O_RDONLY | libc::O_DIRECTORY) {
        Ok(t) => t,
        Err(e) if missing(&e) => return Ok(None),
        Err(e) => return Err(shown(&e)),
    };
    let own = fstat(&target).map_err(|e| shown(&e))?;
    Ok(Some(Opened {
        parent: dir,
        name: last.to_os_string(),
        dir: target,
        own_bytes: (own.st_blocks as u64).saturating_mul(512),
    }))
}

fn open_tree_clone(path: &Path) -> io::Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: a NUL-terminated path; the descriptor is owned from here on.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            c.as_ptr(),
            OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint,
        )
    };
    match fd {
        -1 => Err(io::Error::last_os_error()),
        fd => Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) }),
    }
}

/// The detached clone read-only: nothing done through it can write.
fn read_only(fd: &OwnedFd) -> io::Result<()> {
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    let empty = c"";
    // SAFETY: a valid descriptor, an empty path with AT_EMPTY_PATH, and a
    // struct of the size passed.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            empty.as_ptr(),
            libc::AT_EMPTY_PATH as libc::c_uint,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    match rc {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

fn open_at(dir: &OwnedFd, name: &[u8], flags: libc::c_int) -> io::Result<OwnedFd> {
    let c = CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: a NUL-terminated name; the descriptor is owned from here on.
    let fd = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c.as_ptr(),
            flags | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    match fd {
        -1 => Err(io::Error::last_os_error()),
        fd => Ok(unsafe { OwnedFd::from_raw_fd(fd) }),
    }
}

fn fstat(fd: &OwnedFd) -> io::Result<libc::stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: a valid descriptor and a buffer of the right size.
    match unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) } {
        0 => Ok(unsafe { st.assume_init() }),
        _ => Err(io::Error::last_os_error()),
    }
}

/// Nothing there, or not a directory (then nothing of the tier's is hidden).
fn missing(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOENT) | Some(libc::ENOTDIR) | Some(libc::ELOOP)
    )
}
