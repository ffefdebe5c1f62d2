//! The planned allocation against tier.capacity and against the real
//! filesystem under the base. `jts-hot plan` prints it; validate's capacity
//! findings come from the same `Plan`, so both always agree.

pub mod output;

use std::path::{Path, PathBuf};

use crate::layout::Layout;
use crate::status::Status;
use crate::system::mounts::{self, Mount};
use crate::system::statvfs::{self, FsStats};
use crate::system::{self, blockdev};

#[derive(Debug, Clone)]
pub struct Plan {
    pub source: String,
    pub digest: String,
    pub base: PathBuf,
    pub services: Vec<ServicePlan>,
    /// Never wraps: see `Layout::planned_total`.
    pub planned_total: u128,
    pub capacity: u64,
    /// The filesystem the base is (or would be) on; why not, when it cannot be measured.
    pub filesystem: Result<BaseFilesystem, String>,
}

#[derive(Debug, Clone)]
pub struct ServicePlan {
    pub name: String,
    pub planned: u64,
}

/// The filesystem under the base, as the plan measures it (not monitor's
/// usage view of the same filesystem).
#[derive(Debug, Clone)]
pub struct BaseFilesystem {
    /// The base itself, or its nearest existing ancestor when it does not exist yet.
    pub measured_at: PathBuf,
    pub base_exists: bool,
    pub size: FsStats,
    /// From the mount table; `None` if it could not be read.
    pub mount: Option<MountFacts>,
}

#[derive(Debug, Clone)]
pub struct MountFacts {
    pub mount_point: PathBuf,
    pub fstype: String,
    pub source: String,
    /// True when the base is the mount point itself (the tier's own device).
    pub own_mount: bool,
    /// The block device's size, when there is one.
    pub device_size: Option<u64>,
}

/// Why the plan does not fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverCommit {
    /// planned > tier.capacity
    Capacity { by: u128 },
    /// planned > what unprivileged services can fill on the filesystem
    Filesystem { by: u128 },
}

impl Plan {
    /// Measures the filesystem under `base_on_disk` (the base, or the base
    /// under --root) with the mount table already read by the caller.
    /// `known`: statvfs of the base when the caller already read it this run
    /// (validate, the monitor): the base is then not measured again.
    pub fn measure(
        layout: &Layout,
        base_on_disk: &Path,
        mounts: Result<&[Mount], &str>,
        known: Option<&FsStats>,
    ) -> Plan {
        let services = layout
            .services
            .iter()
            .map(|s| ServicePlan {
                name: s.name.to_string(),
                planned: s.planned.0,
            })
            .collect();
        Plan {
            source: layout.source.to_string(),
            digest: layout.digest(),
            base: base_on_disk.to_path_buf(),
            services,
            planned_total: layout.planned_total(),
            capacity: layout.tier.capacity.0,
            filesystem: BaseFilesystem::measure(base_on_disk, mounts, known),
        }
    }

    /// Share of tier.capacity, in percent.
    pub fn share(&self, bytes: impl Into<u128>) -> f64 {
        bytes.into() as f64 * 100.0 / self.capacity as f64
    }

    /// tier.capacity minus the plan; negative when over-committed.
    pub fn capacity_left(&self) -> i128 {
        self.capacity as i128 - self.planned_total as i128
    }

    /// Usable filesystem space minus the plan; negative when over-committed.
    pub fn filesystem_left(&self) -> Option<i128> {
        let fs = self.filesystem.as_ref().ok()?;
        Some(fs.size.usable() as i128 - self.planned_total as i128)
    }

    /// 0 when the plan fits, 1 (WARNING) when it over-commits.
    /// OK when the plan fits, WARNING when it over-commits (as validate's
    /// capacity findings have it).
    pub fn status(&self) -> Status {
        match self.over_commits().is_empty() {
            true => Status::Ok,
            false => Status::Warning,
        }
    }

    pub fn over_commits(&self) -> Vec<OverCommit> {
        let mut out = Vec::new();
        if self.capacity_left() < 0 {
            out.push(OverCommit::Capacity {
                by: self.capacity_left().unsigned_abs(),
            });
        }
        if let Some(left) = self.filesystem_left().filter(|l| *l < 0) {
            out.push(OverCommit::Filesystem {
                by: left.unsigned_abs(),
            });
        }
        out
    }
}

impl BaseFilesystem {
    fn measure(
        base: &Path,
        mounts: Result<&[Mount], &str>,
        known: Option<&FsStats>,
    ) -> Result<BaseFilesystem, String> {
        let measured_at = system::nearest_existing(base);
        let base_exists = measured_at == base;
        // Known only for the base itself (statvfs follows links, as here).
        let size = match known.filter(|_| base_exists) {
            Some(known) => *known,
            None => {
                // Measured through links, as the tier's files would be written.
                let resolved = measured_at.canonicalize();
                statvfs::of(resolved.as_deref().unwrap_or(&measured_at))
                    .map_err(|e| format!("cannot statvfs {}: {e}", measured_at.display()))?
            }
        };
        let mount = mounts
            .ok()
            .and_then(|m| mounts::holding(m, &measured_at))
            .map(|(m, real)| MountFacts {
                own_mount: base_exists && m.mount_point == real,
                mount_point: m.mount_point.clone(),
                fstype: m.fstype.clone(),
                source: m.source.clone(),
                device_size: (m.major != 0)
                    .then(|| blockdev::size_bytes((m.major, m.minor)).ok())
                    .flatten(),
            });
        Ok(BaseFilesystem {
            measured_at,
            base_exists,
            size,
            mount,
        })
    }

    /// Device size minus filesystem size: what the filesystem itself takes
    /// (inode tables, journal). Only meaningful on the tier's own device.
    pub fn overhead(&self) -> Option<u64> {
        let m = self.mount.as_ref().filter(|m| m.own_mount)?;
        // None (unknown), not 0, if the device reads smaller than its filesystem.
        m.device_size?.checked_sub(self.size.size_bytes)
    }
}

/// What `jts-hot plan` measures (main builds it from the command line).
#[derive(Debug, Clone)]
pub struct Options {
    /// Measure the filesystem under this root's copy of the base.
    pub root: system::Root,
}

/// `jts-hot plan`: the plan against tier.capacity and the filesystem. It
/// serializes as schema `jts-hot.plan/1` (see `output`).
pub fn run(layout: &Layout, opts: &Options) -> Plan {
    let mounts = mounts::read().map_err(|e| format!("{e:#}"));
    let base = opts.root.on_disk(&layout.tier.base);
    Plan::measure(
        layout,
        &base,
        mounts.as_deref().map_err(String::as_str),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_as_the_layout_writes_them() {
        assert_eq!(crate::units::bytes(0u64), "0 B");
        assert_eq!(crate::units::bytes(999u64), "999 B");
        assert_eq!(crate::units::bytes(1000u64), "1.00 kB");
        assert_eq!(crate::units::bytes(50_000_000_000u64), "50.0 GB");
        assert_eq!(crate::units::bytes(800_000_000_000u64), "800 GB");
        assert_eq!(crate::units::bytes(1_500_000_000_000u64), "1.50 TB");
        assert_eq!(crate::units::bytes(4_000_000_000_000u64), "4.00 TB");
        assert_eq!(crate::units::bytes(999_999_999u64), "1.00 GB");
        assert_eq!(crate::units::bytes_signed(-270_000_000_000), "-270 GB");
        assert_eq!(crate::units::bytes(20 * 10u128.pow(18)), "20.0 EB");
    }

    #[test]
    fn the_default_plan_fills_the_capacity_exactly() {
        let layout = Layout::builtin();
        let plan = Plan::measure(
            &layout,
            Path::new("/nonexistent/jts"),
            Err("no mounts"),
            None,
        );
        assert_eq!(plan.capacity_left(), 0);
        assert!(!plan
            .over_commits()
            .iter()
            .any(|o| matches!(o, OverCommit::Capacity { .. })));
        let fs = plan.filesystem.as_ref().unwrap();
        assert_eq!(fs.measured_at, PathBuf::from("/"));
        assert!(!fs.base_exists);
        assert!(fs.mount.is_none());
        assert_eq!(plan.share(800_000_000_000u64), 20.0);
    }
}
