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
use crate::system::beneath::{self, Beneath};
use crate::system::mounts::Mount;
use crate::system::placement::{Placement, State};

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
    root: Option<&Path>,
    mounts: &[Mount],
    placement: &Placement,
    state: Option<&StateDir>,
    tally: &mut Tally,
) -> Option<Seen> {
    // An image has no live mounts to look beneath.
    if root.is_some() {
        return None;
    }
    let targets = targets(&layout.tier.base, mounts, placement);
    if targets.is_empty() {
        return None;
    }
    let mut found = Vec::new();
    for (m, path) in &targets {
        match beneath::look(m, path) {
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
