//! The base's filesystem: the mounts declared for it (fstab, .mount units:
//! the base's, its parents', its directories') in place and seen, each
//! planned directory on the filesystem declared for it, its own mount point
//! when the layout requires it,
//! an accepted filesystem type, the expected mount options, and TRIM.

use super::Check;
use crate::system::Root;
use std::path::Path;

use super::{Resolved, Tally};
use crate::escape;
use crate::layout::{Layout, PlannedDir, RequireMountpoint};
use crate::status::Status::{Critical, Unknown, Warning};
use crate::system::mounts::Mount;
use crate::system::placement::{self, Placement, State};
use crate::system::{blockdev, nearest_existing, on_disk, UNIT_SEARCH_PATH};

/// `placement`: the declared mounts that concern this run (a gate's: those
/// of the base and of its services' directories); `reachable`: the planned
/// directories beneath no declared mount that is not in place.
pub fn check(
    layout: &Layout,
    base: &Path,
    resolved: &Resolved,
    mounts: Result<&[Mount], &str>,
    placement: &Placement,
    reachable: &[PlannedDir],
    tally: &mut Tally,
) {
    let tier = &layout.tier;
    let mounts = match mounts {
        Ok(m) => m,
        Err(e) => {
            tally.fail(Unknown, base, Check::MountPoint, "the mount table", e);
            return;
        }
    };
    // The base with its ancestors' symlinks resolved, as the mount table
    // names it; a missing base is looked up from its nearest existing ancestor.
    let existing = nearest_existing(base);
    let Some((mount, real)) = crate::system::mounts::holding(mounts, &existing) else {
        tally.fail(
            Unknown,
            base,
            Check::MountPoint,
            "a mount holding the base",
            format!("no mount holds {}", escape::untrusted_path(&existing)),
        );
        return;
    };
    declared_mounts_in_place(&tier.base, resolved.root(), placement, tally);
    if placement.blocking(&tier.base).is_some() {
        // The type, options and TRIM beneath would be the root filesystem's.
        return;
    }
    on_declared_filesystems(resolved, mounts, placement, reachable, mount, tally);
    let describe = describe(mount);
    if tier.require_mountpoint == RequireMountpoint::Always {
        own_mount_point(base, &existing, mount.mount_point == real, &describe, tally);
    }
    fstype_and_options(layout, base, mount, &describe, tally);
    trim(mount, base, resolved.root(), tally, &describe);
}

/// The mounts /etc/fstab and .mount units declare for the base, a parent
/// or a directory below it: each must be the filesystem seen at its mount
/// point, or what is created and read there is on the disk beneath.
fn declared_mounts_in_place(
    layout_base: &Path,
    root: &Root,
    placement: &Placement,
    tally: &mut Tally,
) {
    for d in &placement.declared {
        let path = on_disk(root, &d.mount.mount_point);
        let expected = format!(
            "{} mounted there, as {} declares",
            d.mount.what, d.mount.declared_in
        );
        if let Some(why) = &d.unverified {
            tally.fail(Warning, &path, Check::MountIdentity, expected.clone(), why);
        }
        let Some((actual, hint)) = d.problem(layout_base) else {
            tally.pass();
            continue;
        };
        let check = match d.state {
            State::Foreign { .. } => Check::MountIdentity,
            _ => Check::MountPoint,
        };
        tally
            .fail(Critical, &path, check, expected, actual)
            .hint(hint);
    }
}

/// dir.filesystem: each planned directory lies on the filesystem declared
/// for it (the deepest declared mount at or above it): its device number is
/// that mount's, and no bind mount of another directory of that filesystem
/// covers it (same device: the mount's root tells). Where nothing is declared
/// the base's filesystem (`tier_mount`) is judged for such a bind alone.
/// Only the topmost of a subtree on another filesystem is named.
fn on_declared_filesystems(
    resolved: &Resolved,
    mounts: &[Mount],
    placement: &Placement,
    reachable: &[PlannedDir],
    tier_mount: &Mount,
    tally: &mut Tally,
) {
    use std::os::unix::fs::MetadataExt;
    let mut elsewhere: Vec<&Path> = Vec::new();
    for dir in reachable {
        let declared = placement.declared_fs(&dir.path);
        let mount = declared.map_or(tier_mount, |(_, m)| m);
        if elsewhere.iter().any(|e| dir.path.starts_with(e)) || mount.fstype == "btrfs" {
            continue;
        }
        let path = resolved.on_disk(&dir.path);
        // Missing or not a directory: dir.exists and dir.type say so.
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if !meta.is_dir() {
            continue;
        }
        let dev = (
            nix::sys::stat::major(meta.dev()) as u32,
            nix::sys::stat::minor(meta.dev()) as u32,
        );
        let seen = match dev == (mount.major, mount.minor) {
            true => match crate::system::mounts::rebound(mounts, &path, mount) {
                Some(bind) => placement::describe(bind),
                None => {
                    if declared.is_some() {
                        tally.pass();
                    }
                    continue;
                }
            },
            // Another disk where nothing is declared: not judged here.
            false if declared.is_none() => continue,
            false => crate::system::mounts::mount_of_in(&path, dev, mounts)
                .map(placement::describe)
                .unwrap_or_else(|| format!("device {}:{}", dev.0, dev.1)),
        };
        elsewhere.push(&dir.path);
        let expected = match declared {
            Some((d, _)) => format!(
                "on {} (as {} declares)",
                placement::describe(mount),
                d.declared_in
            ),
            None => format!("on {} (the base's filesystem)", placement::describe(mount)),
        };
        tally
            .fail(
                Critical,
                &path,
                Check::DirFilesystem,
                expected,
                format!("on {seen}"),
            )
            .hint(format!(
                "unmount what is mounted over it (`findmnt -T {}`); jts-hot never moves data",
                escape::untrusted_path(&path)
            ));
    }
}

/// The mount as messages show it. Sources, types and options are free
/// text (a FUSE mount names its own).
fn describe(mount: &Mount) -> String {
    format!(
        "{} on {} mounted at {} ({})",
        escape::untrusted(&mount.fstype),
        escape::untrusted(&mount.source),
        escape::untrusted_path(&mount.mount_point),
        escape::untrusted(&options(mount))
    )
}

/// tier.require_mountpoint = true: the base exists and is itself the mount point.
fn own_mount_point(
    base: &Path,
    existing: &Path,
    is_mount_point: bool,
    describe: &str,
    tally: &mut Tally,
) {
    if existing == base && is_mount_point {
        tally.pass();
        return;
    }
    let actual = if existing == base {
        format!("a directory on {describe}")
    } else {
        format!(
            "missing; {} is on {describe}",
            escape::untrusted_path(existing)
        )
    };
    tally
        .fail(
            Critical,
            base,
            Check::MountPoint,
            "the tier's own mount point (tier.require_mountpoint = true)",
            actual,
        )
        .hint("mount the tier's device (is its fstab entry or .mount unit in place?)");
}

/// An accepted filesystem type, and each expected mount option.
fn fstype_and_options(
    layout: &Layout,
    base: &Path,
    mount: &Mount,
    describe: &str,
    tally: &mut Tally,
) {
    let tier = &layout.tier;
    if !tier.filesystems.is_empty() {
        if tier.filesystems.contains(&mount.fstype) {
            tally.pass();
        } else {
            tally.fail(
                Critical,
                base,
                Check::MountFstype,
                format!("one of {}", tier.filesystems.join(", ")),
                describe,
            );
        }
    }
    for option in &tier.mount_options {
        if mount.has_option(option) {
            tally.pass();
        } else {
            tally
                .fail(Warning, base, Check::MountOption, option.clone(), describe)
                .hint(format!(
                    "add {option} to the mount's options (fstab) and remount"
                ));
        }
    }
}

/// TRIM: the device supports discard, and either the mount discards online
/// or fstrim.timer is enabled. Filesystems without a block device are skipped.
fn trim(mount: &Mount, base: &Path, root: &Root, tally: &mut Tally, describe: &str) {
    let Some(dev) = blockdev::of_mount(mount) else {
        return;
    };
    let name = blockdev::name(dev).unwrap_or_else(|| format!("{}:{}", dev.0, dev.1));
    match blockdev::discard_max_bytes(dev) {
        Err(e) => {
            tally.fail(
                Warning,
                base,
                Check::MountTrim,
                "a device that supports discard",
                format!("cannot tell for {name}: {e}"),
            );
        }
        Ok(0) => {
            tally.fail(
                Warning,
                base,
                Check::MountTrim,
                "a device that supports discard",
                format!("{name} does not support discard"),
            );
        }
        Ok(_) if mount.has_option("discard") || fstrim_timer_enabled(root) => tally.pass(),
        Ok(_) => {
            tally
                .fail(
                    Warning,
                    base,
                    Check::MountTrim,
                    "the discard mount option or fstrim.timer enabled",
                    format!("neither: {describe}; fstrim.timer not enabled"),
                )
                .hint("systemctl enable --now fstrim.timer");
        }
    }
}

/// Mount then superblock options, as `findmnt` shows them.
fn options(mount: &Mount) -> String {
    let mut all: Vec<&str> = Vec::new();
    for o in mount.options.iter().chain(&mount.super_options) {
        if !all.contains(&o.as_str()) {
            all.push(o);
        }
    }
    all.join(",")
}

/// As systemctl sees it: a symlink in some timers.target.wants/, and not masked.
fn fstrim_timer_enabled(root: &Root) -> bool {
    const UNIT: &str = "fstrim.timer";
    let dir = |d: &str| on_disk(root, Path::new(d));
    // A mask lives in /etc or /run, the first two of the search path.
    let masked = UNIT_SEARCH_PATH[..2]
        .iter()
        .any(|d| std::fs::read_link(dir(d).join(UNIT)).is_ok_and(|t| t == Path::new("/dev/null")));
    let wanted = UNIT_SEARCH_PATH.iter().any(|d| {
        dir(d)
            .join("timers.target.wants")
            .join(UNIT)
            .symlink_metadata()
            .is_ok()
    });
    wanted && !masked
}
