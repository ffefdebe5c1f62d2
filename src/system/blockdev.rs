//! Block devices as sysfs describes them: which device a mount is on (with
//! btrfs's fallback), its attributes, and the whole disks under a
//! device-mapper/md stack. The one home of every /sys/dev/block question.

use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use super::mounts::Mount;

/// A device number, as mountinfo and st_rdev give it.
type DevNum = (u32, u32);

fn sysfs_dir((major, minor): DevNum) -> PathBuf {
    PathBuf::from(format!("/sys/dev/block/{major}:{minor}"))
}

/// The mount's block device: its major:minor, or for filesystems that
/// report an anonymous device (btrfs: major 0), the block device named as
/// its source. `None` for a filesystem without one (tmpfs, proc, NFS).
pub fn of_mount(mount: &Mount) -> Option<DevNum> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    if mount.major != 0 {
        return Some((mount.major, mount.minor));
    }
    if !mount.source.starts_with("/dev/") {
        return None;
    }
    let meta = std::fs::metadata(&mount.source).ok()?;
    if !meta.file_type().is_block_device() {
        return None;
    }
    let rdev = meta.rdev();
    Some((
        nix::sys::stat::major(rdev) as u32,
        nix::sys::stat::minor(rdev) as u32,
    ))
}

/// One attribute file of a sysfs directory, trimmed; `None` when absent or empty.
fn attr(dir: &Path, rel: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(rel))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// A numeric attribute, with an error that names the file.
fn attr_u64(path: PathBuf) -> io::Result<u64> {
    let text = std::fs::read_to_string(&path)?;
    text.trim().parse().map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })
}

/// The device's request queue: a partition has none, its disk's is one up.
fn queue_dir(dev: DevNum) -> PathBuf {
    let dir = sysfs_dir(dev);
    if dir.join("partition").exists() {
        dir.join("../queue")
    } else {
        dir.join("queue")
    }
}

/// The largest discard the device accepts; 0 means it does not support TRIM.
pub fn discard_max_bytes(dev: DevNum) -> io::Result<u64> {
    attr_u64(queue_dir(dev).join("discard_max_bytes"))
}

/// The device's size in bytes (sysfs counts 512-byte sectors whatever the block size).
pub fn size_bytes(dev: DevNum) -> io::Result<u64> {
    let sectors = attr_u64(sysfs_dir(dev).join("size"))?;
    sectors.checked_mul(512).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{sectors} sectors of 512 bytes is beyond 64 bits"),
        )
    })
}

/// The kernel's name for the device (vda, nvme0n1p1, loop3), for messages.
pub fn name(dev: DevNum) -> Option<String> {
    let target = std::fs::read_link(sysfs_dir(dev)).ok()?;
    Some(target.file_name()?.to_string_lossy().into_owned())
}

/// A whole disk, as sysfs describes it. Attributes sysfs does not have for
/// this kind of device are `None`.
#[derive(Debug, Clone, Serialize)]
pub struct Device {
    /// Kernel name: nvme0n1, sda, vda, loop3.
    pub name: String,
    /// Canonical sysfs directory of the disk.
    #[serde(serialize_with = "crate::escape::serialize_path")]
    pub sysfs: PathBuf,
    pub model: Option<String>,
    /// nvme, scsi (SATA/SAS/USB), virtio, loop, mmc or unknown.
    pub transport: String,
    /// NVMe fabric of the controller (pcie, tcp, rdma, fc, loop).
    pub nvme_transport: Option<String>,
    pub rotational: Option<bool>,
    pub logical_block_size: Option<u64>,
    pub physical_block_size: Option<u64>,
    /// 0 means the device accepts no discard (TRIM).
    pub discard_max_bytes: Option<u64>,
    pub discard_granularity: Option<u64>,
    /// "write back" (volatile cache, flushes matter) or "write through".
    pub write_cache: Option<String>,
    /// The active I/O scheduler (the bracketed one in queue/scheduler).
    pub scheduler: Option<String>,
    /// For a loop device, the file it is backed by.
    #[serde(serialize_with = "crate::escape::serialize_opt_path")]
    pub backing_file: Option<PathBuf>,
}

impl Device {
    pub fn is_nvme(&self) -> bool {
        self.transport == "nvme"
    }
}

/// The whole disks under the mount: several for a dm/md stack, none for a
/// filesystem without a block device.
pub fn disks_of(mount: &Mount) -> Result<Vec<Device>> {
    let Some(top) = of_mount(mount).and_then(|d| sysfs_dir(d).canonicalize().ok()) else {
        return Ok(Vec::new());
    };
    let mut disks = Vec::new();
    disks_under(&top, &mut disks, 0)?;
    Ok(disks.iter().map(|d| read_device(d)).collect())
}

/// Follows `slaves/` (device-mapper, md) and partitions down to whole disks.
fn disks_under(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> Result<()> {
    anyhow::ensure!(
        depth < 16,
        "device stack deeper than 16 at {}",
        crate::escape::untrusted_path(dir)
    );
    let mut slaves: Vec<PathBuf> = match std::fs::read_dir(dir.join("slaves")) {
        Ok(entries) => entries
            .filter_map(|e| e.ok()?.path().canonicalize().ok())
            .collect(),
        Err(_) => Vec::new(),
    };
    slaves.sort();
    if !slaves.is_empty() {
        for s in slaves {
            disks_under(&s, out, depth + 1)?;
        }
    } else if dir.join("partition").exists() {
        let disk = dir
            .parent()
            .context("a partition lies in its disk's directory")?;
        disks_under(disk, out, depth + 1)?;
    } else if !out.iter().any(|d| d == dir) {
        out.push(dir.to_path_buf());
    }
    Ok(())
}

fn read_device(dir: &Path) -> Device {
    let attr = |rel: &str| attr(dir, rel);
    let number = |rel: &str| attr(rel).and_then(|s| s.parse::<u64>().ok());
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let nvme_transport = attr("device/transport");
    let transport = transport(dir, &name, nvme_transport.is_some());
    Device {
        model: attr("device/model"),
        rotational: attr("queue/rotational").map(|r| r == "1"),
        logical_block_size: number("queue/logical_block_size"),
        physical_block_size: number("queue/physical_block_size"),
        discard_max_bytes: number("queue/discard_max_bytes"),
        discard_granularity: number("queue/discard_granularity"),
        write_cache: attr("queue/write_cache"),
        scheduler: attr("queue/scheduler").and_then(|s| active_scheduler(&s)),
        backing_file: attr("loop/backing_file").map(PathBuf::from),
        nvme_transport,
        transport: transport.to_string(),
        sysfs: dir.to_path_buf(),
        name,
    }
}

/// How the disk is attached, from where it sits in sysfs.
fn transport(dir: &Path, name: &str, has_nvme_transport: bool) -> &'static str {
    let path = dir.to_string_lossy();
    if has_nvme_transport || path.contains("/nvme") || name.starts_with("nvme") {
        "nvme"
    } else if name.starts_with("loop") {
        "loop"
    } else if path.contains("/virtio") {
        "virtio"
    } else if name.starts_with("mmcblk") {
        "mmc"
    } else if dir.join("device/scsi_device").exists() || path.contains("/target") {
        "scsi"
    } else {
        "unknown"
    }
}

/// `none [mq-deadline] kyber` -> `mq-deadline`; a lone `none` -> `none`.
fn active_scheduler(text: &str) -> Option<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    words
        .iter()
        .find_map(|w| w.strip_prefix('[')?.strip_suffix(']'))
        .or(if words.len() == 1 {
            Some(words[0])
        } else {
            None
        })
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduler_is_the_bracketed_one() {
        assert_eq!(
            active_scheduler("none [mq-deadline] kyber bfq\n").as_deref(),
            Some("mq-deadline")
        );
        assert_eq!(
            active_scheduler("[none] mq-deadline").as_deref(),
            Some("none")
        );
        assert_eq!(active_scheduler("none").as_deref(), Some("none"));
        assert_eq!(active_scheduler(""), None);
    }

    #[test]
    fn a_virtual_filesystem_has_no_disk() {
        let m = super::super::mounts::mount_of(Path::new("/proc")).unwrap();
        assert_eq!(of_mount(&m), None);
        assert!(disks_of(&m).unwrap().is_empty());
    }

    /// This kernel has neither device-mapper nor loop partitions, so the
    /// walk down a stack is checked on a tree shaped like sysfs: dm-0 over
    /// md0 over two partitions of one NVMe disk, and a partition of a SATA disk.
    #[test]
    fn walks_dm_md_and_partitions_down_to_whole_disks() {
        use std::os::unix::fs::symlink;
        let t = tempfile::tempdir().unwrap();
        let d = |rel: &str| {
            let p = t.path().join(rel);
            std::fs::create_dir_all(&p).unwrap();
            p
        };
        let nvme = d("devices/pci0000:00/nvme/nvme0/nvme0n1");
        let sda = d("devices/pci0000:00/ata1/host0/target0:0:0/0:0:0:0/block/sda");
        for part in [
            nvme.join("nvme0n1p1"),
            nvme.join("nvme0n1p2"),
            sda.join("sda1"),
        ] {
            std::fs::create_dir_all(&part).unwrap();
            std::fs::write(part.join("partition"), "1\n").unwrap();
        }
        let md = d("devices/virtual/block/md0/slaves");
        symlink(nvme.join("nvme0n1p1"), md.join("nvme0n1p1")).unwrap();
        symlink(nvme.join("nvme0n1p2"), md.join("nvme0n1p2")).unwrap();
        let dm = d("devices/virtual/block/dm-0/slaves");
        symlink(md.parent().unwrap(), dm.join("md0")).unwrap();
        symlink(sda.join("sda1"), dm.join("sda1")).unwrap();

        let mut disks = Vec::new();
        disks_under(dm.parent().unwrap(), &mut disks, 0).unwrap();
        assert_eq!(disks, [sda.clone(), nvme.clone()]);

        // What is read from such a disk.
        d("devices/pci0000:00/nvme/nvme0/nvme0n1/queue");
        let write = |rel: &str, v: &str| std::fs::write(nvme.join(rel), v).unwrap();
        write("queue/rotational", "0\n");
        write("queue/logical_block_size", "512\n");
        write("queue/physical_block_size", "4096\n");
        write("queue/discard_max_bytes", "2199023255040\n");
        write("queue/scheduler", "[none] mq-deadline\n");
        write("queue/write_cache", "write back\n");
        d("devices/pci0000:00/nvme/nvme0/nvme0n1/device");
        write("device/model", "Samsung SSD 990 PRO 4TB                 \n");
        write("device/transport", "pcie\n");
        let dev = read_device(&nvme);
        assert_eq!(dev.name, "nvme0n1");
        assert_eq!(dev.model.as_deref(), Some("Samsung SSD 990 PRO 4TB"));
        assert_eq!(
            (dev.transport.as_str(), dev.nvme_transport.as_deref()),
            ("nvme", Some("pcie"))
        );
        assert_eq!(dev.rotational, Some(false));
        assert_eq!(
            (dev.logical_block_size, dev.physical_block_size),
            (Some(512), Some(4096))
        );
        assert_eq!(dev.discard_max_bytes, Some(2199023255040));
        assert_eq!(dev.discard_granularity, None);
        assert_eq!(dev.scheduler.as_deref(), Some("none"));
        assert_eq!(read_device(&sda).transport, "scsi");
    }
}
