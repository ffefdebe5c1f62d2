//! Every directory of the layout: exists, is a real directory (lstat: never
//! followed through a symlink), owner, group and permission bits exactly.

use super::Check;
use std::collections::{HashMap, HashSet};
use std::fs::Metadata;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use super::access::Access;
use super::Resolved;
use super::Tally;
use crate::escape;
use crate::layout::{Ownership, PlannedDir};
use crate::status::Status::{Critical, Unknown};
use crate::system::accounts::{Accounts, Lookup};
use crate::system::mounts::Mount;

/// tmpfiles.d `d` lines create a missing directory and adjust the mode and
/// owner of an existing one (not of what is inside it). The basename picks
/// /etc/tmpfiles.d's copy (from `jts-hot apply`) over the packaged one, as at boot.
const REPAIR: &str = "fix: jts-hot setup";

/// Checks the planned directories, parents first; returns how many were looked at.
/// Below a directory that is missing or not a real directory nothing is
/// checked: a child's path would resolve through whatever is there instead.
pub fn check(
    planned: &[PlannedDir],
    resolved: &Resolved,
    accounts: &Accounts,
    mounts: &[Mount],
    tally: &mut Tally,
) -> usize {
    // A renumbered service is one finding, not one per directory.
    let remaps = crate::remap::detect(planned, resolved.root(), accounts);
    for r in &remaps {
        remapped(resolved.root(), r, tally);
    }
    let mut access = Access::new(resolved.root(), mounts, accounts);
    let mut ids = Ids {
        accounts,
        cache: HashMap::new(),
    };
    let below_count = below_counts(planned);
    let mut broken: HashSet<&Path> = HashSet::new();
    let mut looked_at = 0;
    for dir in planned {
        if dir.path.ancestors().any(|a| broken.contains(a)) {
            continue;
        }
        looked_at += 1;
        let below = below_count.get(dir.path.as_path()).copied().unwrap_or(0);
        let path = resolved.on_disk(&dir.path);
        match real_directory(&path, below, tally) {
            Some(meta) => {
                let remap = dir
                    .service
                    .and_then(|s| remaps.iter().find(|r| r.service == s.name.as_str()));
                let skip = (
                    remap.is_some_and(|r| r.uid.is_some()),
                    remap.is_some_and(|r| r.gid.is_some()),
                );
                ownership(&path, &meta, dir.ownership, skip, &mut ids, tally);
                mode(&path, &meta, dir, tally);
                access.check(&dir.path, &path, dir.ownership.owner.as_str(), tally);
            }
            None => {
                broken.insert(&dir.path);
            }
        }
    }
    // Where a remapped service's own tree stops its owner, dir.owner.remap
    // has said it (and its fix is the one fix): not again as dir.access.
    let remapped = |p: &Path| remaps.iter().any(|r| p.starts_with(&r.path));
    access.finish(tally, &|p| planned.iter().any(|d| d.path == p), &remapped);
    looked_at
}

/// How many planned directories lie below each one, counted up each one's
/// ancestors: linear in directories × depth (comparing every pair took 74 s
/// for 4,000 services).
fn below_counts<'a>(planned: &'a [PlannedDir<'_>]) -> HashMap<&'a Path, usize> {
    let index: HashSet<&Path> = planned.iter().map(|d| d.path.as_path()).collect();
    let mut below_count: HashMap<&Path, usize> = HashMap::new();
    for d in planned {
        for a in d.path.ancestors().skip(1).filter(|a| index.contains(a)) {
            *below_count.entry(a).or_default() += 1;
        }
    }
    below_count
}

/// dir.mode: the permission bits exactly the layout's (setgid, sticky
/// included); with `may_tighten`, any mode that grants no bit beyond it.
fn mode(path: &Path, meta: &Metadata, dir: &PlannedDir, tally: &mut Tally) {
    let mode = meta.mode() & 0o7777;
    let planned = dir.ownership.mode;
    let (ok, expected) = match dir.may_tighten {
        true => (mode & !planned.0 == 0, format!("{planned} or tighter")),
        false => (mode == planned.0, planned.to_string()),
    };
    if ok {
        tally.pass();
    } else {
        tally
            .fail(
                Critical,
                path,
                Check::DirMode,
                expected,
                format!("{mode:04o}"),
            )
            .hint(REPAIR);
    }
}

/// lstat: the directory's metadata, or a finding and `None` when something
/// else (or nothing) is there.
fn real_directory(path: &Path, below: usize, tally: &mut Tally) -> Option<Metadata> {
    let unchecked = match below {
        0 => String::new(),
        n => format!(" ({n} directories planned below it not checked)"),
    };
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let actual = format!("missing{unchecked}");
            tally
                .fail(Critical, path, Check::DirExists, "a directory", actual)
                .hint(REPAIR);
            return None;
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            tally.denied(path);
            return None;
        }
        Err(e) => {
            let actual = format!("cannot lstat: {e}{unchecked}");
            tally.fail(Unknown, path, Check::DirExists, "a directory", actual);
            return None;
        }
    };
    tally.pass();
    if !meta.file_type().is_dir() {
        let actual = format!("{}{unchecked}", describe(path, &meta));
        tally
            .fail(
                Critical,
                path,
                Check::DirType,
                "a directory (not a symlink)",
                actual,
            )
            .hint(format!(
                "fix: mv -T {p} {p}.moved-aside && jts-hot setup",
                p = path.display()
            ));
        return None;
    }
    tally.pass();
    Some(meta)
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    User,
    Group,
}

impl Kind {
    /// The checks of this kind: of the directory's id, of the name's existence.
    fn checks(self) -> (Check, Check) {
        match self {
            Kind::User => (Check::DirOwner, Check::AccountUser),
            Kind::Group => (Check::DirGroup, Check::AccountGroup),
        }
    }

    fn word(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Group => "group",
        }
    }
}

/// Names resolved once each; an unresolved name is reported only where first met.
struct Ids<'a> {
    accounts: &'a Accounts,
    cache: HashMap<(Kind, String), (Lookup, bool)>,
}

impl Ids<'_> {
    /// The id of `name`, and whether this is the first time it failed to resolve.
    fn resolve(&mut self, kind: Kind, name: &str) -> (Lookup, bool) {
        let accounts = self.accounts;
        let (lookup, reported) = self
            .cache
            .entry((kind, name.to_string()))
            .or_insert_with(|| {
                let lookup = match kind {
                    Kind::User => accounts.uid(name),
                    Kind::Group => accounts.gid(name),
                };
                (lookup, false)
            });
        let first_failure = matches!(lookup, Ok(None)) && !*reported;
        *reported |= first_failure;
        (lookup.clone(), first_failure)
    }
}

/// dir.owner.remap: the service's directories all carry other IDs than its
/// owner's (a reinstall, a disk from another host): one finding per service.
fn remapped(root: &crate::system::Root, r: &crate::remap::Remap, tally: &mut Tally) {
    let path = root.on_disk(&r.path);
    tally
        .fail(
            Critical,
            &path,
            Check::DirOwnerRemap,
            format!("{} owned as the layout says", r.service),
            format!(
                "all {} directories of {} carry other IDs: {}",
                r.directories,
                r.service,
                r.what()
            ),
        )
        .hint(format!(
            "fix: jts-hot setup --remap-owners (changes every inode under {} carrying the \
             old ID, nothing else)",
            escape::untrusted_path(&path)
        ));
}

/// Owner and group against the layout's names; `skip`: (owner, group)
/// already reported as a remap of the whole service.
fn ownership(
    path: &Path,
    meta: &Metadata,
    own: &Ownership,
    skip: (bool, bool),
    ids: &mut Ids,
    tally: &mut Tally,
) {
    for kind in [Kind::User, Kind::Group] {
        if (kind == Kind::User && skip.0) || (kind == Kind::Group && skip.1) {
            continue;
        }
        let (name, actual_id) = match kind {
            Kind::User => (&own.owner, meta.uid()),
            Kind::Group => (&own.group, meta.gid()),
        };
        let ((check, account_check), word) = (kind.checks(), kind.word());
        let name = name.as_str();
        let (lookup, first_failure) = ids.resolve(kind, name);
        match lookup {
            Ok(Some(id)) if id == actual_id => tally.pass(),
            Ok(Some(id)) => {
                let actual_name = match kind {
                    Kind::User => ids.accounts.user_name(actual_id),
                    Kind::Group => ids.accounts.group_name(actual_id),
                };
                let expected = id_and_name(id, Some(name.to_string()));
                tally
                    .fail(
                        Critical,
                        path,
                        check,
                        expected,
                        id_and_name(actual_id, actual_name),
                    )
                    .hint(REPAIR);
            }
            // Nothing to compare with; the name itself is the finding, once.
            Ok(None) if first_failure => {
                tally
                    .fail(
                        Critical,
                        path,
                        account_check,
                        format!("{word} {name} exists"),
                        format!("no such {word}"),
                    )
                    .hint("fix: systemd-sysusers jts-hot.conf");
            }
            Ok(None) => {}
            Err(e) => {
                tally.fail(Unknown, path, check, name, e);
            }
        }
    }
}

/// `name` comes from the account database (an image's /etc/passwd can hold anything).
fn id_and_name(id: u32, name: Option<String>) -> String {
    match name {
        Some(name) => format!("{} ({id})", escape::untrusted(&name)),
        None => format!("{id} (no name)"),
    }
}

/// What is there instead of a directory.
fn describe(path: &Path, meta: &Metadata) -> String {
    let t = meta.file_type();
    if t.is_symlink() {
        // The target is a service user's text: escaped, so it cannot forge a line.
        match std::fs::read_link(path) {
            Ok(target) => format!("a symlink to {}", escape::untrusted_path(&target)),
            Err(_) => "a symlink".into(),
        }
    } else if t.is_file() {
        "a regular file".into()
    } else if t.is_fifo() {
        "a FIFO".into()
    } else if t.is_socket() {
        "a socket".into()
    } else if t.is_block_device() || t.is_char_device() {
        "a device node".into()
    } else {
        "not a directory".into()
    }
}
