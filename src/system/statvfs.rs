//! The filesystem holding a directory, as statvfs(3) sees it: the one
//! measurement that plan, validate, monitor and probe share.

use std::path::Path;

use serde::Serialize;

/// Sizes in bytes and inode counts of one filesystem. Serialized as
/// monitor's JSON has always carried it (`filesystem.stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FsStats {
    /// Everything the filesystem reports as its size (after its own overhead).
    pub size_bytes: u64,
    /// size - free, as df shows it.
    pub used_bytes: u64,
    /// What an unprivileged writer can still use (excludes reserved blocks).
    pub avail_bytes: u64,
    pub inodes: u64,
    pub inodes_free: u64,
}

impl FsStats {
    /// Free, including the blocks reserved for root.
    fn free_bytes(&self) -> u64 {
        self.size_bytes.saturating_sub(self.used_bytes)
    }

    /// Blocks reserved for root (ext4's reserved blocks), in bytes.
    pub fn reserved(&self) -> u64 {
        self.free_bytes().saturating_sub(self.avail_bytes)
    }

    /// What unprivileged services could fill if the filesystem were empty.
    pub fn usable(&self) -> u64 {
        self.size_bytes.saturating_sub(self.reserved())
    }

    /// Free share in percent, as 100 - df's Use%: avail / (used + avail).
    pub fn free_percent(&self) -> f64 {
        let usable = self.used_bytes + self.avail_bytes;
        if usable == 0 {
            return 0.0;
        }
        self.avail_bytes as f64 * 100.0 / usable as f64
    }
}

/// statvfs of the directory `dir` itself, never of wherever a symlink in
/// its place points (O_NOFOLLOW): a caller that means to follow links
/// canonicalizes first.
pub fn of(dir: &Path) -> std::io::Result<FsStats> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(dir)?;
    let s = nix::sys::statvfs::fstatvfs(&dir).map_err(std::io::Error::from)?;
    let frag = s.fragment_size() as u64;
    // Exact or refused: a filesystem (a FUSE one can say anything) whose
    // figures overflow 64 bits is an error, never a wrapped size.
    let bytes = |blocks: u64| {
        blocks.checked_mul(frag).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("statvfs reports {blocks} blocks of {frag} bytes, beyond 64 bits"),
            )
        })
    };
    let blocks = s.blocks() as u64;
    Ok(FsStats {
        size_bytes: bytes(blocks)?,
        // More free than there is: nothing is used (not a wrap to 16 EiB).
        used_bytes: bytes(blocks.saturating_sub(s.blocks_free() as u64))?,
        avail_bytes: bytes(s.blocks_available() as u64)?,
        inodes: s.files() as u64,
        inodes_free: s.files_free() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_and_usable_follow_from_the_counts() {
        let s = FsStats {
            size_bytes: 1000,
            used_bytes: 300,
            avail_bytes: 650,
            inodes: 10,
            inodes_free: 5,
        };
        assert_eq!(s.free_bytes(), 700);
        assert_eq!(s.reserved(), 50);
        assert_eq!(s.usable(), 950);
    }

    #[test]
    fn a_symlink_is_not_measured_through() {
        let t = tempfile::tempdir().unwrap();
        let link = t.path().join("link");
        std::os::unix::fs::symlink(t.path(), &link).unwrap();
        assert!(of(&link).is_err());
        assert!(of(t.path()).unwrap().size_bytes > 0);
    }
}
