//! Every directory of the layout: exists, is a real directory (lstat: never
//! followed through a symlink), owner, group and permission bits exactly.

use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::accounts::{Accounts, Lookup};
use super::Tally;
use crate::layout::Layout;
use crate::status::Status::{Critical, Unknown};
use crate::system::on_disk;

/// Checks the planned directories, parents first; returns how many were looked at.
/// Below a directory that is missing or not a real directory nothing is
/// checked: a child's path would resolve through whatever is there instead.
pub fn check(
    layout: &Layout,
    root: Option<&Path>,
    accounts: &Accounts,
    tally: &mut Tally,
) -> usize {
    let planned = layout.planned_dirs();
    let mut uids = Resolved::new(accounts, true);
    let mut gids = Resolved::new(accounts, false);
    let mut broken: Vec<PathBuf> = Vec::new();
    let mut looked_at = 0;
    for dir in &planned {
        if broken.iter().any(|b| dir.path.starts_with(b)) {
            continue;
        }
        looked_at += 1;
        let path = on_disk(root, &dir.path);
        let below = planned
            .iter()
            .filter(|d| d.path != dir.path && d.path.starts_with(&dir.path))
            .count();
        let unchecked = match below {
            0 => String::new(),
            n => format!(" ({n} directories planned below it not checked)"),
        };
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tally
                    .fail(
                        Critical,
                        &path,
                        "dir.exists",
                        "a directory",
                        format!("missing{unchecked}"),
                    )
                    .hint("systemd-tmpfiles --create (or `jts-hot apply`) creates it");
                broken.push(dir.path.clone());
                continue;
            }
            Err(e) => {
                tally.fail(
                    Unknown,
                    &path,
                    "dir.exists",
                    "a directory",
                    format!("cannot lstat: {e}{unchecked}"),
                );
                broken.push(dir.path.clone());
                continue;
            }
        };
        tally.pass();
        if !meta.file_type().is_dir() {
            let what = describe(&path, &meta);
            tally
                .fail(
                    Critical,
                    &path,
                    "dir.type",
                    "a directory (not a symlink)",
                    format!("{what}{unchecked}"),
                )
                .hint("move it aside and let systemd-tmpfiles --create make the directory");
            broken.push(dir.path.clone());
            continue;
        }
        tally.pass();

        let own = dir.ownership;
        match uids.get(own.owner.as_str()) {
            Ok(Some(uid)) if uid == meta.uid() => tally.pass(),
            Ok(Some(uid)) => {
                let actual = id_and_name(meta.uid(), accounts.user_name(meta.uid()));
                tally.fail(
                    Critical,
                    &path,
                    "dir.owner",
                    id_and_name(uid, Some(own.owner.to_string())),
                    actual,
                );
            }
            // Unresolved names are reported once, when first met.
            Ok(None) => {}
            Err(e) => {
                tally.fail(Unknown, &path, "dir.owner", own.owner.to_string(), e);
            }
        }
        if uids.first_failure(own.owner.as_str()) {
            tally
                .fail(
                    Critical,
                    &path,
                    "account.user",
                    format!("user {} exists", own.owner),
                    "no such user",
                )
                .hint("systemd-sysusers (or `jts-hot apply`) creates the layout's users");
        }
        match gids.get(own.group.as_str()) {
            Ok(Some(gid)) if gid == meta.gid() => tally.pass(),
            Ok(Some(gid)) => {
                let actual = id_and_name(meta.gid(), accounts.group_name(meta.gid()));
                tally.fail(
                    Critical,
                    &path,
                    "dir.group",
                    id_and_name(gid, Some(own.group.to_string())),
                    actual,
                );
            }
            Ok(None) => {}
            Err(e) => {
                tally.fail(Unknown, &path, "dir.group", own.group.to_string(), e);
            }
        }
        if gids.first_failure(own.group.as_str()) {
            tally
                .fail(
                    Critical,
                    &path,
                    "account.group",
                    format!("group {} exists", own.group),
                    "no such group",
                )
                .hint("systemd-sysusers (or `jts-hot apply`) creates the layout's groups");
        }
        let mode = meta.mode() & 0o7777;
        if mode == own.mode.0 {
            tally.pass();
        } else {
            tally.fail(
                Critical,
                &path,
                "dir.mode",
                own.mode.to_string(),
                format!("{mode:04o}"),
            );
        }
    }
    looked_at
}

/// Names resolved once each; remembers which unresolved ones were reported.
struct Resolved<'a> {
    accounts: &'a Accounts,
    users: bool,
    cache: HashMap<String, Lookup>,
    reported: Vec<String>,
}

impl<'a> Resolved<'a> {
    fn new(accounts: &'a Accounts, users: bool) -> Self {
        Resolved {
            accounts,
            users,
            cache: HashMap::new(),
            reported: Vec::new(),
        }
    }

    fn get(&mut self, name: &str) -> Lookup {
        let accounts = self.accounts;
        let users = self.users;
        let lookup = self.cache.entry(name.to_string()).or_insert_with(|| {
            if users {
                accounts.uid(name)
            } else {
                accounts.gid(name)
            }
        });
        lookup.clone()
    }

    /// True the first time an unresolved `name` is met.
    fn first_failure(&mut self, name: &str) -> bool {
        let unresolved = matches!(self.cache.get(name), Some(Ok(None)));
        if unresolved && !self.reported.iter().any(|r| r == name) {
            self.reported.push(name.to_string());
            return true;
        }
        false
    }
}

fn id_and_name(id: u32, name: Option<String>) -> String {
    match name {
        Some(name) => format!("{name} ({id})"),
        None => format!("{id} (no name)"),
    }
}

/// What is there instead of a directory.
fn describe(path: &Path, meta: &Metadata) -> String {
    let t = meta.file_type();
    if t.is_symlink() {
        match std::fs::read_link(path) {
            Ok(target) => format!("a symlink to {}", target.display()),
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
