//! Facts about the running system that validate and plan read: the mount
//! table, block devices in sysfs, and filesystem sizes; and the one safe way
//! to read a small file ([`file::read_regular`]). Reading only.

pub mod access;
pub mod accounts;
pub mod beneath;
pub mod blockdev;
pub mod file;
mod fsid;
pub mod fstab;
pub mod ioprio;
pub mod limits;
pub mod mounts;
pub mod placement;
pub mod rootfs;
pub mod selinux;
pub mod statvfs;
pub mod unitfile;
mod xattr;

use std::path::{Path, PathBuf};

pub use rootfs::Root;

/// Where systemd reads unit files from, highest priority first
/// (systemd.unit(5)); a mask lives in the first two.
pub const UNIT_SEARCH_PATH: [&str; 4] = [
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// `path` as it lies under `root` ([`Root::on_disk`]).
pub fn on_disk(root: &Root, path: &Path) -> PathBuf {
    root.on_disk(path)
}

/// `path` under `root`, a link in its last component followed ([`Root::on_disk_followed`]).
pub fn on_disk_followed(root: &Root, path: &Path) -> PathBuf {
    root.on_disk_followed(path)
}

/// The nearest existing ancestor of `path` (itself when it exists), so that
/// a tier not created yet can still be measured on the filesystem it would land on.
pub fn nearest_existing(path: &Path) -> PathBuf {
    path.ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"))
        .to_path_buf()
}
