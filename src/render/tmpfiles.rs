//! The tmpfiles.d and sysusers.d files: the tier's directories (for setup),
//! the public tmpfiles.d file (scratch cleaning, the textfile directory),
//! and the service users and groups.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::generated::{GeneratedFile, SYSUSERS_PATH, TIER_TMPFILES_PATH, TMPFILES_PATH};
use super::{systemd_timespan, Template};
use crate::escape;
use crate::layout::{Layout, UserName};

#[derive(Serialize)]
struct TmpfilesLine {
    path: String,
    mode: String,
    owner: String,
    group: String,
    age: String,
}

#[derive(Serialize)]
struct Public<'a> {
    header: &'a str,
    scratch: Vec<TmpfilesLine>,
    tier_file: String,
    textfile_dir: String,
}

impl Template for Public<'_> {
    const NAME: &'static str = "tmpfiles.conf";
}

#[derive(Serialize)]
struct Tier<'a> {
    header: &'a str,
    dirs: Vec<TmpfilesLine>,
    public_file: String,
}

impl Template for Tier<'_> {
    const NAME: &'static str = "tier-tmpfiles.conf";
}

#[derive(Serialize)]
struct SysUser {
    name: String,
    gecos: String,
    home: String,
}

#[derive(Serialize)]
struct Sysusers<'a> {
    header: &'a str,
    /// jts-hot's own account, which the layout's checker keeps off the tier.
    own: &'static str,
    users: Vec<SysUser>,
    groups: Vec<String>,
}

impl Template for Sysusers<'_> {
    const NAME: &'static str = "sysusers.conf";
}

/// tmpfiles.d's file: 'e' lines for scratch directories, the textfile directory.
pub(super) fn public(layout: &Layout, header: &str) -> GeneratedFile {
    let scratch = tier_lines(layout)
        .into_iter()
        .filter(|l| l.age != "-")
        .collect();
    let ctx = Public {
        header,
        scratch,
        tier_file: format!("/{TIER_TMPFILES_PATH}"),
        textfile_dir: escape::tmpfiles_path(&layout.monitor.textfile_dir),
    };
    GeneratedFile {
        path: TMPFILES_PATH.into(),
        contents: ctx.render(),
    }
}

/// The tier's own directories, for `jts-hot setup`.
pub(super) fn tier(layout: &Layout, header: &str) -> GeneratedFile {
    let ctx = Tier {
        header,
        dirs: tier_lines(layout),
        public_file: format!("/{TMPFILES_PATH}"),
    };
    GeneratedFile {
        path: TIER_TMPFILES_PATH.into(),
        contents: ctx.render(),
    }
}

pub(super) fn sysusers(layout: &Layout, header: &str) -> GeneratedFile {
    let (users, groups) = sysusers_entries(layout);
    let ctx = Sysusers {
        header,
        own: crate::layout::rules::OWN_ACCOUNT,
        users,
        groups,
    };
    GeneratedFile {
        path: SYSUSERS_PATH.into(),
        contents: ctx.render(),
    }
}

/// The base's parents below /, outermost first.
fn parents(layout: &Layout) -> Vec<&Path> {
    let mut parents: Vec<&Path> = layout
        .tier
        .base
        .ancestors()
        .skip(1)
        .filter(|p| *p != Path::new("/"))
        .collect();
    parents.reverse();
    parents
}

/// The directories of 'd' lines: the tier file's (parents, then every
/// planned directory) and the public file's textfile directory.
pub(super) fn named_dirs(layout: &Layout) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = parents(layout).into_iter().map(Path::to_path_buf).collect();
    dirs.extend(layout.planned_dirs().into_iter().map(|d| d.path));
    dirs.push(layout.monitor.textfile_dir.clone());
    dirs
}

/// The tier's parents, then every planned directory. A parent is not the
/// tier's: `- - -` creates it (root, 0755) when missing but never changes an
/// existing one, which explicit values would do at every boot (a base under
/// /tmp would strip its sticky bit, one under /home/alice would hand her home to root).
fn tier_lines(layout: &Layout) -> Vec<TmpfilesLine> {
    let mut lines: Vec<TmpfilesLine> = parents(layout)
        .into_iter()
        .map(|p| TmpfilesLine {
            path: escape::tmpfiles_path(p),
            mode: "-".into(),
            owner: "-".into(),
            group: "-".into(),
            age: "-".into(),
        })
        .collect();
    for d in layout.planned_dirs() {
        lines.push(TmpfilesLine {
            path: escape::tmpfiles_path(&d.path),
            // '-': an existing directory's mode is left alone (a new one is
            // made 0755, then `jts-hot setup` sets it): the service may have
            // tightened it (may_tighten), and systemd 252 has no ':' prefix.
            mode: match d.may_tighten {
                true => "-".into(),
                false => d.ownership.mode.to_string(),
            },
            owner: d.ownership.owner.to_string(),
            group: d.ownership.group.to_string(),
            age: d.clean_after.map_or("-".into(), systemd_timespan),
        });
    }
    lines
}

/// A `u` line for each owner other than root (home: the first directory it
/// owns), a `g` line for each group that is not some user's own group.
fn sysusers_entries(layout: &Layout) -> (Vec<SysUser>, Vec<String>) {
    let root = |n: &UserName| n.as_str() == "root";
    let mut users: Vec<SysUser> = Vec::new();
    let mut user_names: Vec<&UserName> = Vec::new();
    for d in layout.planned_dirs() {
        let owner = &d.ownership.owner;
        if root(owner) || user_names.contains(&owner) {
            continue;
        }
        user_names.push(owner);
        let what = d
            .service
            .map_or("tier".to_string(), |s| format!("{} service", s.name));
        users.push(SysUser {
            name: owner.to_string(),
            gecos: escape::sysusers_field(&format!("JTS hot tier {what}")),
            home: escape::sysusers_field(d.path.to_str().expect("ASCII path")),
        });
    }
    let mut groups: Vec<String> = Vec::new();
    for d in layout.planned_dirs() {
        let group = &d.ownership.group;
        if root(group) || user_names.contains(&group) || groups.iter().any(|g| g == group.as_str())
        {
            continue;
        }
        groups.push(group.to_string());
    }
    (users, groups)
}
