//! The base's filesystem: the mounts declared for it (fstab, .mount units) in
//! place, its own mount point when the layout requires it,
//! an accepted filesystem type, the expected mount options, and TRIM.

use super::Check;
use std::path::Path;

use super::Tally;
use crate::escape;
use crate::layout::{Layout, RequireMountpoint};
use crate::status::Status::{Critical, Unknown, Warning};
use crate::system::mounts::Mount;
use crate::system::{blockdev, fstab, nearest_existing, on_disk, UNIT_SEARCH_PATH};

pub fn check(
    layout: &Layout,
    base: &Path,
    root: Option<&Path>,
    mounts: Result<&[Mount], &str>,
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
    if !declared_mounts_in_place(layout, root, mounts, tally) {
        // The type, options and TRIM beneath would be the root filesystem's.
        return;
    }
    let describe = describe(mount);
    if tier.require_mountpoint == RequireMountpoint::Always {
        own_mount_point(base, &existing, mount.mount_point == real, &describe, tally);
    }
    fstype_and_options(layout, base, mount, &describe, tally);
    trim(mount, base, root, tally, &describe);
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

/// The mounts /etc/fstab and .mount units declare for the base or a parent:
/// each must be in place, or the tier would be (or is) on the disk beneath.
/// False when one is not.
fn declared_mounts_in_place(
    layout: &Layout,
    root: Option<&Path>,
    mounts: &[Mount],
    tally: &mut Tally,
) -> bool {
    let tier = &layout.tier;
    let declared = match tier.require_mountpoint {
        RequireMountpoint::Never => Vec::new(),
        _ => fstab::declared_for(root, &tier.base),
    };
    let mut all = true;
    for d in &declared {
        if d.is_mounted(root, mounts) {
            tally.pass();
        } else {
            all = false;
            tally
                .fail(
                    Critical,
                    &on_disk(root, &d.mount_point),
                    Check::MountPoint,
                    format!("{} mounted there, as {} declares", d.what, d.declared_in),
                    d.not_mounted(),
                )
                .hint(d.what_to_check());
        }
    }
    all
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
fn trim(mount: &Mount, base: &Path, root: Option<&Path>, tally: &mut Tally, describe: &str) {
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
fn fstrim_timer_enabled(root: Option<&Path>) -> bool {
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
