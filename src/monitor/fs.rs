//! The filesystem under the base, as statvfs(3) sees it.

use std::path::Path;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct FsStats {
    pub size_bytes: u64,
    /// size - free, as df shows it.
    pub used_bytes: u64,
    /// What an unprivileged writer can still use (excludes reserved blocks).
    pub avail_bytes: u64,
    pub inodes: u64,
    pub inodes_free: u64,
}

impl FsStats {
    /// Free share in percent, as 100 - df's Use%: avail / (used + avail).
    pub fn free_percent(&self) -> f64 {
        let usable = self.used_bytes + self.avail_bytes;
        if usable == 0 {
            return 0.0;
        }
        self.avail_bytes as f64 * 100.0 / usable as f64
    }
}

/// statvfs of the base itself, never of wherever a symlink in its place points.
pub fn stat(base: &Path) -> std::io::Result<FsStats> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(base)?;
    let s = nix::sys::statvfs::fstatvfs(&dir).map_err(std::io::Error::from)?;
    let frag = s.fragment_size() as u64;
    Ok(FsStats {
        size_bytes: s.blocks() as u64 * frag,
        used_bytes: (s.blocks() as u64).saturating_sub(s.blocks_free() as u64) * frag,
        avail_bytes: s.blocks_available() as u64 * frag,
        inodes: s.files() as u64,
        inodes_free: s.files_free() as u64,
    })
}
