//! mount.shadowed: data on the parent filesystem beneath the tier's mount
//! points, written while a disk was missing and hidden since it was mounted
//! (system/beneath.rs looks, read-only, without touching the live mount).
//! Looking needs CAP_SYS_ADMIN: validate run as root looks itself; the
//! sandboxed units (validate, monitor) read what jts-hot-setup.service, which
//! runs as each mount comes up, found (`shadowed.json` in the state
//! directory). Only a whole-tier run looks: a gate never does, since hidden
//! data never stops a database.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Check, Tally};
use crate::escape;
use crate::layout::Layout;
use crate::state::{self, Document, StateDir};
use crate::status::Status::Warning;
use crate::system::beneath;
use crate::system::mounts::Mount;
use crate::system::placement::{Placement, State};
use crate::system::rootfs::Root;

/// What was found beneath one mount point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beneath {
    /// The mount point.
    pub mount_point: PathBuf,
    /// The tier's path looked at beneath it (the base, or the mount point
    /// itself when it lies below the base).
    pub path: PathBuf,
    /// Allocated bytes (st_blocks × 512, as du) below `path`, itself not counted.
    pub bytes: u64,
    /// Non-directories below `path`, hard links once.
    pub files: u64,
    /// Directories below `path`, itself not counted.
    pub dirs: u64,
    /// The first names directly below `path` (sorted, escaped), at most [`FIRST`].
    pub first: Vec<String>,
    /// Some of it could not be read: the figures are lower bounds.
    pub partial: bool,
}

impl Beneath {
    pub fn is_empty(&self) -> bool {
        self.files == 0 && self.dirs == 0
    }
}

/// How many of the first names beneath are listed.
pub const FIRST: usize = 5;

/// Looks beneath `mount_point` at `path` (at or below it): nothing there is
/// an empty `Beneath`. The walk is the usage walk (hostile trees, hard links
/// once), from the clone's descriptor.
fn look(mount_point: &Path, path: &Path) -> Result<Beneath, beneath::Error> {
    use std::os::fd::{AsFd, AsRawFd};
    let mut found = Beneath {
        mount_point: mount_point.to_path_buf(),
        path: path.to_path_buf(),
        bytes: 0,
        files: 0,
        dirs: 0,
        first: Vec::new(),
        partial: false,
    };
    let Some(opened) = beneath::open(mount_point, path)? else {
        return Ok(found);
    };
    let shown = |e: &dyn std::fmt::Display| {
        beneath::Error::Other(format!("{}: {e}", escape::untrusted_path(mount_point)))
    };
    let mut names = Vec::new();
    crate::usage::dirents::DirentBuf::new()
        .for_each(opened.dir.as_fd(), |e| {
            names.push(escape::untrusted_bytes(e.name.to_bytes()))
        })
        .map_err(|e| shown(&e))?;
    if names.is_empty() {
        return Ok(found);
    }
    names.sort();
    names.truncate(FIRST);
    found.first = names;
    // "." keeps the last component a directory, never a link.
    let base = PathBuf::from(format!("/proc/self/fd/{}/.", opened.parent.as_raw_fd()));
    let scanned = crate::usage::scan(&base, &[opened.name.as_os_str()], 1);
    let usage = &scanned.usages[0];
    if let Some(e) = &usage.root_error {
        return Err(shown(e));
    }
    found.bytes = usage
        .totals
        .allocated_bytes
        .saturating_sub(opened.own_bytes);
    found.files = usage.totals.files;
    found.dirs = usage.totals.dirs.saturating_sub(1);
    found.partial = usage.partial();
    Ok(found)
}

/// What was found beneath the tier's mount points, as saved by setup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// Unix time of the look.
    pub measured_unix: u64,
    pub found: Vec<Beneath>,
}

impl Document for Record {
    const FILE_NAME: &'static str = "shadowed.json";
    const SCHEMA: &'static str = "jts-hot.shadowed/1";
    const WHAT: &'static str = "record of data beneath the mount points";
    const MAX_BYTES: u64 = 64 << 10;
    const PRETTY: bool = true;
}

/// How this run knows what lies beneath.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Looked now.
    Live,
    /// Read from setup's record of that time (this run may not look).
    Recorded { measured_unix: u64 },
}

/// What lies beneath each of the tier's mount points.
#[derive(Debug, Clone, Serialize)]
pub struct Seen {
    pub source: Source,
    pub found: Vec<Beneath>,
}

/// The tier's mount points with something the tier owns beneath them, and
/// the path looked at under each: every declared mount in place, and the
/// mount holding the base when it is at or above the base (not "/").
fn targets(base: &Path, mounts: &[Mount], placement: &Placement) -> Vec<(PathBuf, PathBuf)> {
    let mut points: Vec<PathBuf> = placement
        .declared
        .iter()
        .filter(|d| matches!(d.state, State::Mounted(_)))
        .map(|d| d.mount.mount_point.clone())
        .collect();
    let existing = crate::system::nearest_existing(base);
    if let Some((m, _)) = crate::system::mounts::holding(mounts, &existing) {
        if m.mount_point != Path::new("/") && base.starts_with(&m.mount_point) {
            points.push(m.mount_point.clone());
        }
    }
    points.sort();
    points.dedup();
    points
        .into_iter()
        .map(|m| {
            let path = match base.starts_with(&m) {
                true => base.to_path_buf(),
                false => m.clone(),
            };
            (m, path)
        })
        .collect()
}

/// Looks beneath each mount point (or reads setup's record when this run
/// may not), and reports each one with something beneath it. `None`: not
/// known (an image, nothing mounted, no record).
pub fn check(
    layout: &Layout,
    root: &Root,
    mounts: &[Mount],
    placement: &Placement,
    state: Option<&StateDir>,
    tally: &mut Tally,
) -> Option<Seen> {
    // An image has no live mounts to look beneath.
    if root.image_dir().is_some() {
        return None;
    }
    let targets = targets(&layout.tier.base, mounts, placement);
    if targets.is_empty() {
        return None;
    }
    let mut found = Vec::new();
    for (m, path) in &targets {
        match look(m, path) {
            Ok(b) => found.push(b),
            Err(beneath::Error::NotPermitted) => {
                let record = state.and_then(|s| state::load::<Record>(s).found())?;
                let found: Vec<Beneath> = record
                    .found
                    .into_iter()
                    .filter(|b| {
                        targets
                            .iter()
                            .any(|(m, p)| *m == b.mount_point && *p == b.path)
                    })
                    .collect();
                report(&found, Some(record.measured_unix), tally);
                return Some(Seen {
                    source: Source::Recorded {
                        measured_unix: record.measured_unix,
                    },
                    found,
                });
            }
            Err(beneath::Error::Other(e)) => {
                tally.fail(
                    Warning,
                    path,
                    Check::MountShadowed,
                    "nothing beneath the mount point",
                    format!("cannot look beneath it: {e}"),
                );
            }
        }
    }
    report(&found, None, tally);
    Some(Seen {
        source: Source::Live,
        found,
    })
}

fn report(found: &[Beneath], recorded: Option<u64>, tally: &mut Tally) {
    for b in found {
        if b.is_empty() {
            tally.pass();
            continue;
        }
        let when = match recorded {
            Some(t) => format!(
                " (as jts-hot setup found it at {})",
                humantime::format_rfc3339_seconds(
                    std::time::UNIX_EPOCH + std::time::Duration::from_secs(t)
                )
            ),
            None => String::new(),
        };
        let partial = if b.partial { "at least " } else { "" };
        let first = b.first.join(", ");
        tally
            .fail(
                Warning,
                &b.path,
                Check::MountShadowed,
                "nothing beneath the mount point",
                format!(
                    "{partial}{} bytes ({}) in {} files and {} directories hidden beneath the \
                     mount at {} on the filesystem under it, using that disk{when}; first: {first}",
                    b.bytes,
                    crate::units::bytes(b.bytes),
                    b.files,
                    b.dirs,
                    escape::untrusted_path(&b.mount_point),
                ),
            )
            .hint(
                "written while the disk was not mounted; jts-hot never deletes it: inspect and \
                 move it as docs/disk.md says (\"Data hidden beneath the mount point\")",
            );
    }
}
