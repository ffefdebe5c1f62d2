//! Facts about the running system that validate and plan read: the mount
//! table, block devices in sysfs, and filesystem sizes; and the one safe way
//! to read a small file ([`file::read_regular`]). Reading only.

pub mod access;
pub mod accounts;
pub mod beneath;
pub mod blockdev;
pub mod file;
pub mod fsid;
pub mod fstab;
pub mod limits;
pub mod mounts;
pub mod placement;
pub mod rootfs;
pub mod selinux;
pub mod statvfs;
pub mod unitfile;
pub mod xattr;

use std::path::{Path, PathBuf};

/// Where systemd reads unit files from, highest priority first
/// (systemd.unit(5)); a mask lives in the first two.
pub const UNIT_SEARCH_PATH: [&str; 4] = [
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

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
            .unwrap_or_else(|_| rootfs::joined(root, path)),
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
