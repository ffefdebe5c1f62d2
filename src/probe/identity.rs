//! What device holds a directory (its mount, and the disks under it, as
//! `system::blockdev` reads them), and what the operator should hear about it.

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::{Finding, Kind};
use crate::status::Status;
use crate::system::blockdev;
pub use crate::system::blockdev::Device;
use crate::system::mounts::{self, Mount};

#[derive(Debug, Clone, Serialize)]
pub struct Identity {
    pub mount: Mount,
    /// The whole disks under the mount (several for a dm/md stack; none for
    /// a filesystem without a block device, such as tmpfs).
    pub devices: Vec<Device>,
}

/// The identity of the device under `dir`.
pub fn identify(dir: &Path) -> Result<Identity> {
    let mount = mounts::mount_of(dir)?;
    let devices = blockdev::disks_of(&mount)?;
    Ok(Identity { mount, devices })
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
                crate::escape::untrusted_path(&m.mount_point),
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

    fn device(name: &str, transport: &str) -> Device {
        Device {
            name: name.into(),
            sysfs: std::path::PathBuf::from("/sys/block").join(name),
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
        let mount = mounts::parse("1 0 259:1 / /data rw - ext4 /dev/nvme0n1p1 rw")
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
}
