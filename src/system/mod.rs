//! Facts about the running system that validate and plan read: the mount
//! table, block devices in sysfs, and filesystem sizes; and the one safe way
//! to read a small file ([`file::read_regular`]). Reading only.

pub mod access;
pub mod blockdev;
pub mod file;
pub mod fstab;
pub mod rootfs;
pub mod selinux;
pub mod xattr;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::mountinfo::{mount_of_in, Mount};

/// `path` as it lies under `root` (an offline image), or itself. Under a
/// root, its parents are resolved inside the root as systemd's --root does
/// (a link in the image to /etc leads to the image's /etc, never the
/// host's); the last component is left as is, for lstat.
pub fn on_disk(root: Option<&Path>, path: &Path) -> PathBuf {
    in_root(root, path, rootfs::Root::resolve)
}

/// `on_disk`, with a link in the last component followed inside the root
/// too: for files that are read through their links (the layout, passwd).
pub fn on_disk_followed(root: Option<&Path>, path: &Path) -> PathBuf {
    in_root(root, path, rootfs::Root::resolve_followed)
}

fn in_root(
    root: Option<&Path>,
    path: &Path,
    resolve: fn(&rootfs::Root, &Path) -> std::io::Result<PathBuf>,
) -> PathBuf {
    match root {
        Some(root) => rootfs::Root::open(root)
            .and_then(|r| resolve(&r, path))
            // Unresolvable (a loop, no permission): the plain join fails the same way.
            .unwrap_or_else(|_| root.join(path.strip_prefix("/").unwrap_or(path))),
        None => path.to_path_buf(),
    }
}

/// The nearest existing ancestor of `path` (itself when it exists), so that
/// a tier not created yet can still be measured on the filesystem it would land on.
pub fn nearest_existing(path: &Path) -> PathBuf {
    path.ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"))
        .to_path_buf()
}

/// The mount holding `path`, which must exist: resolved as the mount table
/// names it, and picked by its device number (see `mountinfo::mount_of_in`).
/// Returns the resolved path too, to compare with the mount point.
pub fn mount_holding<'a>(mounts: &'a [Mount], path: &Path) -> Option<(&'a Mount, PathBuf)> {
    let real = std::fs::canonicalize(path).ok()?;
    let dev = std::fs::metadata(&real).ok()?.dev();
    let dev = (
        nix::sys::stat::major(dev) as u32,
        nix::sys::stat::minor(dev) as u32,
    );
    Some((mount_of_in(&real, dev, mounts)?, real))
}

/// Sizes of the filesystem holding a path, in bytes (statvfs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsSize {
    /// Everything the filesystem reports as its size (after its own overhead).
    pub size: u64,
    /// Free, including the blocks reserved for root.
    pub free: u64,
    /// Free for unprivileged users (what a database can still fill).
    pub available: u64,
}

impl FsSize {
    pub fn of(path: &Path) -> nix::Result<FsSize> {
        let s = nix::sys::statvfs::statvfs(path)?;
        let frsize = s.fragment_size() as u64;
        Ok(FsSize {
            size: s.blocks() as u64 * frsize,
            free: s.blocks_free() as u64 * frsize,
            available: s.blocks_available() as u64 * frsize,
        })
    }

    /// Blocks reserved for root (ext4's reserved blocks), in bytes.
    pub fn reserved(&self) -> u64 {
        self.free.saturating_sub(self.available)
    }

    /// What unprivileged services could fill if the filesystem were empty.
    pub fn usable(&self) -> u64 {
        self.size.saturating_sub(self.reserved())
    }
}
