//! Whether each filesystem declared for the tier (fstab, .mount units: at the
//! base, at a parent of it, or below it, e.g. a service's own disk) is the
//! one seen at its mount point now, judged by device numbers rather than by
//! the mount table's lines: a mount hidden by a later mount on a parent, or
//! covered by a bind mount, is still listed there. The one home of "is the
//! tier's filesystem in place" for setup, apply and validate.

use super::Root;
use std::path::{Path, PathBuf};

use super::fsid;
use super::fstab::{self, DeclaredMount};
use super::mounts::{self, Mount, Seen};
use super::on_disk;
use crate::escape;

/// Where the layout's `tier.filesystem_uuid` is said to be declared: it is
/// judged as a mount declared at the base by that UUID.
pub const PIN: &str = "the layout's tier.filesystem_uuid";

/// What is seen at one declared mount point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Its own filesystem is mounted there and seen.
    Mounted(Mount),
    /// Nothing is mounted there.
    Missing,
    /// Listed in the mount table, but another filesystem is seen there:
    /// this one, described.
    Hidden { by: String },
    /// A filesystem is mounted and seen there, but not the one declared by
    /// UUID, LABEL, PARTUUID or PARTLABEL (or pinned by the layout): this
    /// one, described with the names it has.
    Foreign { seen: String },
}

/// One declared mount and its state.
#[derive(Debug, Clone)]
pub struct Declared {
    pub mount: DeclaredMount,
    pub state: State,
    /// Mounted, the declaration names its disk, and nothing here can read
    /// the mounted filesystem's names (no udev record, a superblock this
    /// does not read): why.
    pub unverified: Option<String>,
}

impl Declared {
    /// The sentence for a mount not in place (`None` when it is), and what
    /// to do: the words of setup, apply, validate and the gates alike.
    pub fn problem(&self, base: &Path) -> Option<(String, String)> {
        match &self.state {
            State::Mounted(_) => None,
            State::Missing => Some((self.mount.not_mounted(base), self.mount.what_to_check())),
            State::Hidden { by } => {
                Some((self.mount.hidden(base, by), self.mount.what_to_unhide()))
            }
            State::Foreign { seen } => Some((
                self.mount.foreign(base, seen),
                "`lsblk -f` names each disk: unmount this one and mount the declared one \
                 (jts-hot never formats or mounts anything)"
                    .to_string(),
            )),
        }
    }
}

/// The mount facts of one run, each read at most once and only when first
/// asked for: the running system's mount table and the mounts declared for
/// the base (fstab, .mount units, under the root for an image). Setup reads
/// them for what it must not create beneath, then hands them to validate.
pub struct MountFacts<'a> {
    root: &'a Root,
    base: &'a Path,
    table: std::cell::OnceCell<Result<Vec<Mount>, String>>,
    declared: std::cell::OnceCell<Vec<DeclaredMount>>,
}

impl<'a> MountFacts<'a> {
    /// Nothing read yet: `base` as the layout names it.
    pub fn new(root: &'a Root, base: &'a Path) -> MountFacts<'a> {
        MountFacts {
            root,
            base,
            table: std::cell::OnceCell::new(),
            declared: std::cell::OnceCell::new(),
        }
    }

    /// The mount table, or why it could not be read.
    pub fn table(&self) -> Result<&[Mount], &str> {
        self.table
            .get_or_init(|| mounts::read().map_err(|e| format!("{e:#}")))
            .as_deref()
            .map_err(String::as_str)
    }

    /// The mounts declared at the base, a parent of it, or below it.
    pub fn declared(&self) -> &[DeclaredMount] {
        self.declared
            .get_or_init(|| fstab::declared_for(self.root, self.base))
    }
}

/// The declared mounts of a tier and what is seen at each.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    /// Outermost first.
    pub declared: Vec<Declared>,
}

impl Placement {
    /// Judges each declaration (read under `root`, for an image:
    /// [`MountFacts::declared`]) against `mounts`, the running system's table.
    /// `pin`: the layout's `tier.filesystem_uuid`, judged as a mount
    /// declared at the base by that UUID, against whatever holds the base.
    pub fn judge(
        declared: Vec<DeclaredMount>,
        root: &Root,
        base: &Path,
        pin: Option<&str>,
        mounts: &[Mount],
    ) -> Placement {
        let mut declared: Vec<Declared> = declared
            .into_iter()
            .map(|mount| {
                let at = as_listed(&on_disk(root, &mount.mount_point));
                let state = match mounts::seen_at(mounts, &at, mount.is_bind()) {
                    Seen::Mounted(m) => State::Mounted(m.clone()),
                    Seen::Missing => State::Missing,
                    Seen::Hidden { by } => State::Hidden {
                        by: by.map_or_else(|| "another filesystem".to_string(), describe),
                    },
                };
                identified(mount, state)
            })
            .collect();
        if let Some(uuid) = pin {
            let at = super::nearest_existing(&on_disk(root, base));
            let state = match mounts::holding(mounts, &at) {
                // A bind mount of another directory of the same filesystem
                // over the base shows the right device, not the base.
                Some((m, real)) => match mounts::whole_fs_over(mounts, &real, (m.major, m.minor))
                    .and_then(|whole| mounts::rebound(mounts, &real, whole))
                {
                    Some(b) => State::Hidden { by: describe(b) },
                    None => State::Mounted(m.clone()),
                },
                None => State::Missing,
            };
            let mount = DeclaredMount {
                what: format!("UUID={uuid}"),
                mount_point: base.to_path_buf(),
                fstype: "auto".into(),
                options: Vec::new(),
                declared_in: PIN.into(),
            };
            declared.push(identified(mount, state));
            declared.sort_by_key(|d| d.mount.mount_point.components().count());
        }
        Placement { declared }
    }

    /// The declared mounts not in place, outermost first.
    pub fn not_in_place(&self) -> impl Iterator<Item = &Declared> {
        self.declared
            .iter()
            .filter(|d| !matches!(d.state, State::Mounted(_)))
    }

    /// The outermost declared mount not in place at or above `path` (as the
    /// layout names it): what `path` would be created on or looked up
    /// through is some other filesystem.
    pub fn blocking(&self, path: &Path) -> Option<&Declared> {
        self.not_in_place()
            .find(|d| path.starts_with(&d.mount.mount_point))
    }

    /// The filesystem declared for `path`: the deepest declared mount at or
    /// above it, with the mount seen there. `None` when nothing is declared
    /// for it or that mount is not in place.
    pub fn declared_fs(&self, path: &Path) -> Option<(&DeclaredMount, &Mount)> {
        let d = self
            .declared
            .iter()
            .rev()
            .find(|d| path.starts_with(&d.mount.mount_point))?;
        match &d.state {
            State::Mounted(m) => Some((&d.mount, m)),
            _ => None,
        }
    }
}

/// A mounted declaration whose `What=` names its disk: the filesystem seen
/// must carry that name, or it is another disk.
fn identified(mount: DeclaredMount, state: State) -> Declared {
    let mut unverified = None;
    let state = match (state, fsid::named(&mount.what)) {
        (State::Mounted(m), Some((kind, value))) => {
            match fsid::of_device((m.major, m.minor), &m.source) {
                Some(id) => match id.matches(kind, &value) {
                    Some(true) => State::Mounted(m),
                    _ => State::Foreign {
                        seen: format!("{}, with {}", describe(&m), id.describe()),
                    },
                },
                None => {
                    unverified = Some(format!(
                        "cannot tell the {} of {} (no udev record of {}:{}, and not an ext4 or \
                         XFS superblock this can read)",
                        kind.as_str(),
                        describe(&m),
                        m.major,
                        m.minor
                    ));
                    State::Mounted(m)
                }
            }
        }
        (state, _) => state,
    };
    Declared {
        mount,
        state,
        unverified,
    }
}

/// The path as the mount table names it: its parents' links resolved (the
/// last component is left alone, as lstat sees it).
fn as_listed(path: &Path) -> PathBuf {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return path.to_path_buf();
    };
    match std::fs::canonicalize(parent) {
        Ok(p) => p.join(name),
        Err(_) => path.to_path_buf(),
    }
}

/// A mount as messages show it: type, source, mount point.
pub fn describe(m: &Mount) -> String {
    let what = match m.root == Path::new("/") {
        true => String::new(),
        false => format!(" (a bind mount of {})", escape::untrusted_path(&m.root)),
    };
    format!(
        "{} on {} mounted at {}{what}",
        escape::untrusted(&m.fstype),
        escape::untrusted(&m.source),
        escape::untrusted_path(&m.mount_point),
    )
}
