//! What device holds a directory: from its mount's major:minor through
//! /sys/dev/block, partitions and device-mapper/md stacks down to the disks,
//! and what sysfs says about each disk.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use super::{Finding, Kind};
use crate::mountinfo::{self, Mount};
use crate::status::Status;

#[derive(Debug, Clone, Serialize)]
pub struct Identity {
    pub mount: Mount,
    /// The whole disks under the mount (several for a dm/md stack; none for
    /// a filesystem without a block device, such as tmpfs).
    pub devices: Vec<Device>,
}

/// A whole disk, as sysfs describes it. Attributes sysfs does not have for
/// this kind of device are `None`.
#[derive(Debug, Clone, Serialize)]
pub struct Device {
    /// Kernel name: nvme0n1, sda, vda, loop3.
    pub name: String,
    /// Canonical sysfs directory of the disk.
    #[serde(serialize_with = "crate::render::escape::serialize_path")]
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
    #[serde(serialize_with = "crate::render::escape::serialize_opt_path")]
    pub backing_file: Option<PathBuf>,
}

impl Device {
    pub fn is_nvme(&self) -> bool {
        self.transport == "nvme"
    }
}

/// The identity of the device under `dir`.
pub fn identify(dir: &Path) -> Result<Identity> {
    let mount = mountinfo::mount_of(dir)?;
    let devices = match block_dir(&mount) {
        Some(top) => {
            let mut disks = Vec::new();
            disks_under(&top, &mut disks, 0)?;
            disks.iter().map(|d| read_device(d)).collect()
        }
        None => Vec::new(),
    };
    Ok(Identity { mount, devices })
}

/// The sysfs directory of the mounted block device. btrfs reports an
/// anonymous device number in mountinfo, so the source's own device
/// number is the fallback.
fn block_dir(mount: &Mount) -> Option<PathBuf> {
    let by_number = |major: u64, minor: u64| {
        Path::new(&format!("/sys/dev/block/{major}:{minor}"))
            .canonicalize()
            .ok()
    };
    by_number(mount.major.into(), mount.minor.into()).or_else(|| {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let meta = std::fs::metadata(&mount.source).ok()?;
        if !mount.source.starts_with("/dev/") || !meta.file_type().is_block_device() {
            return None;
        }
        let rdev = meta.rdev();
        by_number(nix::sys::stat::major(rdev), nix::sys::stat::minor(rdev))
    })
}

/// Follows `slaves/` (device-mapper, md) and partitions down to whole disks.
fn disks_under(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> Result<()> {
    anyhow::ensure!(
        depth < 16,
        "device stack deeper than 16 at {}",
        crate::render::escape::untrusted_path(dir)
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
    let attr = |rel: &str| {
        std::fs::read_to_string(dir.join(rel))
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
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
pub fn active_scheduler(text: &str) -> Option<String> {
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

/// What the operator should hear about the device: the hot tier wants a
/// non-rotational device with TRIM, and NVMe wants no I/O scheduler.
pub fn findings(identity: &Identity) -> Vec<Finding> {
    let mut out = Vec::new();
    let m = &identity.mount;
    if identity.devices.is_empty() {
        out.push(Finding::new(
            Status::Warning,
            Kind::NoBlockDevice,
            format!(
                "{} is on {} ({}), not on a block device that sysfs describes",
                crate::render::escape::untrusted_path(&m.mount_point),
                m.source,
                m.fstype
            ),
        ));
    }
    for d in &identity.devices {
        if d.rotational == Some(true) {
            out.push(Finding::new(
                Status::Warning,
                Kind::Rotational,
                format!(
                    "{} is rotational (queue/rotational = 1): the hot tier expects an SSD",
                    d.name
                ),
            ));
        }
        if d.discard_max_bytes == Some(0) {
            out.push(Finding::new(
                Status::Warning,
                Kind::NoDiscard,
                format!(
                    "{} supports no discard (queue/discard_max_bytes = 0): TRIM cannot reach the device",
                    d.name
                ),
            ));
        }
        if d.is_nvme() {
            if let Some(s) = d.scheduler.as_deref().filter(|s| *s != "none") {
                out.push(Finding::new(
                    Status::Warning,
                    Kind::Scheduler,
                    format!(
                        "{} is NVMe but uses the {s} I/O scheduler; none is expected",
                        d.name
                    ),
                ));
            }
        }
    }
    out
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

    fn device(name: &str, transport: &str) -> Device {
        Device {
            name: name.into(),
            sysfs: PathBuf::from("/sys/block").join(name),
            model: None,
            transport: transport.into(),
            nvme_transport: None,
            rotational: Some(false),
            logical_block_size: Some(512),
            physical_block_size: Some(4096),
            discard_max_bytes: Some(1 << 30),
            discard_granularity: Some(4096),
            write_cache: Some("write back".into()),
            scheduler: Some("none".into()),
            backing_file: None,
        }
    }

    fn kinds(devices: Vec<Device>) -> Vec<&'static str> {
        let mount = mountinfo::parse("1 0 259:1 / /data rw - ext4 /dev/nvme0n1p1 rw")
            .unwrap()
            .remove(0);
        findings(&Identity { mount, devices })
            .into_iter()
            .map(|f| f.kind.as_str())
            .collect()
    }

    #[test]
    fn a_good_nvme_gives_no_findings() {
        assert!(kinds(vec![device("nvme0n1", "nvme")]).is_empty());
    }

    #[test]
    fn warns_on_rotational_no_discard_and_scheduler_on_nvme() {
        let mut d = device("nvme0n1", "nvme");
        d.rotational = Some(true);
        d.discard_max_bytes = Some(0);
        d.scheduler = Some("mq-deadline".into());
        assert_eq!(kinds(vec![d]), ["rotational", "no-discard", "scheduler"]);
        // A scheduler on a SATA SSD is its own business.
        let mut sata = device("sda", "scsi");
        sata.scheduler = Some("mq-deadline".into());
        assert!(kinds(vec![sata]).is_empty());
        assert_eq!(kinds(vec![]), ["no-block-device"]);
    }

    #[test]
    fn a_virtual_filesystem_has_no_disk() {
        let id = identify(Path::new("/proc")).unwrap();
        assert_eq!(id.mount.fstype, "proc");
        assert!(id.devices.is_empty());
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
