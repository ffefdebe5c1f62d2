//! Block devices as sysfs describes them, found by major:minor.

use std::io;
use std::path::PathBuf;

fn sysfs_dir(major: u32, minor: u32) -> PathBuf {
    PathBuf::from(format!("/sys/dev/block/{major}:{minor}"))
}

/// The device's request queue: a partition has none, its disk's is one up.
fn queue_dir(major: u32, minor: u32) -> PathBuf {
    let dir = sysfs_dir(major, minor);
    if dir.join("partition").exists() {
        dir.join("../queue")
    } else {
        dir.join("queue")
    }
}

fn read_u64(path: PathBuf) -> io::Result<u64> {
    let text = std::fs::read_to_string(&path)?;
    text.trim().parse().map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })
}

/// The largest discard the device accepts; 0 means it does not support TRIM.
pub fn discard_max_bytes(major: u32, minor: u32) -> io::Result<u64> {
    read_u64(queue_dir(major, minor).join("discard_max_bytes"))
}

/// The device's size in bytes (sysfs counts 512-byte sectors whatever the block size).
pub fn size_bytes(major: u32, minor: u32) -> io::Result<u64> {
    Ok(read_u64(sysfs_dir(major, minor).join("size"))? * 512)
}

/// The kernel's name for the device (vda, nvme0n1p1, loop3), for messages.
pub fn name(major: u32, minor: u32) -> Option<String> {
    let target = std::fs::read_link(sysfs_dir(major, minor)).ok()?;
    Some(target.file_name()?.to_string_lossy().into_owned())
}
