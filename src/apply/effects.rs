//! What applying a layout changes in the tier, in an operator's words: the
//! directories systemd-tmpfiles would create or change (owner, group, mode),
//! the users and groups systemd-sysusers would add, the gates added or
//! removed, the plans, quotas and labels that change against the layout in
//! force, and the units that change. `--dry-run` prints these; the files'
//! diffs only with `--diff`. Reads only.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::changes::{Change, ChangeSet};
use crate::escape::serialize_path;
use crate::layout::{Layout, Service};
use crate::render::generated::{
    etc_path, DROPIN_NAME, SELINUX_EQUAL_PATH, SYSUSERS_PATH, TIER_TMPFILES_PATH, TMPFILES_PATH,
    UNIT_DIR,
};
use crate::system::accounts::{self, Accounts};
use crate::system::rootfs::Root;

/// One change to the tier or to the units, as an operator reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Effect {
    /// systemd-tmpfiles would create it.
    CreateDirectory {
        #[serde(serialize_with = "serialize_path")]
        path: PathBuf,
        owner: String,
        group: String,
        mode: String,
    },
    /// systemd-tmpfiles would set these (old → new; `None`: already right).
    ChangeDirectory {
        #[serde(serialize_with = "serialize_path")]
        path: PathBuf,
        owner: Option<(String, String)>,
        group: Option<(String, String)>,
        mode: Option<(String, String)>,
    },
    AddUser {
        name: String,
    },
    AddGroup {
        name: String,
    },
    /// A drop-in that makes the unit's starts wait for its services' check.
    AddGate {
        unit: String,
    },
    RemoveGate {
        unit: String,
    },
    /// The gate's drop-in changes (another service, another directory).
    ChangeGate {
        unit: String,
    },
    Plan {
        service: String,
        from: String,
        to: String,
    },
    Quota {
        service: String,
        from: String,
        to: String,
    },
    Label {
        service: String,
        from: String,
        to: String,
    },
    /// One of jts-hot's own units changes.
    Unit {
        name: String,
        change: FileChange,
    },
    /// Another generated file whose change no line above says.
    File {
        #[serde(serialize_with = "serialize_path")]
        path: PathBuf,
        change: FileChange,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileChange {
    Added,
    Changed,
    Removed,
}

impl FileChange {
    fn of(change: &Change) -> FileChange {
        match change {
            Change::Create { .. } => FileChange::Added,
            Change::Update { .. } => FileChange::Changed,
            Change::Remove { .. } => FileChange::Removed,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            FileChange::Added => "added",
            FileChange::Changed => "changed",
            FileChange::Removed => "removed",
        }
    }
}

impl Effect {
    /// The line `--dry-run` prints.
    pub fn line(&self) -> String {
        let arrow = |what: &str, change: &Option<(String, String)>| {
            change.as_ref().map(|(a, b)| format!("{what} {a} → {b}"))
        };
        match self {
            Effect::CreateDirectory {
                path,
                owner,
                group,
                mode,
            } => format!(
                "create directory {} ({owner}:{group} {mode})",
                crate::escape::untrusted_path(path)
            ),
            Effect::ChangeDirectory {
                path,
                owner,
                group,
                mode,
            } => {
                let parts: Vec<String> = [
                    arrow("owner", owner),
                    arrow("group", group),
                    arrow("mode", mode),
                ]
                .into_iter()
                .flatten()
                .collect();
                format!(
                    "change directory {}: {}",
                    crate::escape::untrusted_path(path),
                    parts.join(", ")
                )
            }
            Effect::AddUser { name } => format!("add user {name}"),
            Effect::AddGroup { name } => format!("add group {name}"),
            Effect::AddGate { unit } => format!("add gate: {unit} starts only on a valid tier"),
            Effect::RemoveGate { unit } => format!("remove gate: {unit} no longer checked"),
            Effect::ChangeGate { unit } => format!("change gate of {unit}"),
            Effect::Plan { service, from, to } => format!("plan of {service}: {from} → {to}"),
            Effect::Quota { service, from, to } => format!("quota of {service}: {from} → {to}"),
            Effect::Label { service, from, to } => {
                format!("SELinux label of {service}: {from} → {to}")
            }
            Effect::Unit { name, change } => format!("unit {name} {}", change.as_str()),
            Effect::File { path, change } => {
                format!("file /{} {}", path.display(), change.as_str())
            }
        }
    }

    /// Its kind, as the summary counts it.
    fn tally_name(&self) -> (&'static str, &'static str) {
        match self {
            Effect::CreateDirectory { .. } => ("directory created", "directories created"),
            Effect::ChangeDirectory { .. } => ("directory changed", "directories changed"),
            Effect::AddUser { .. } => ("user added", "users added"),
            Effect::AddGroup { .. } => ("group added", "groups added"),
            Effect::AddGate { .. } => ("gate added", "gates added"),
            Effect::RemoveGate { .. } => ("gate removed", "gates removed"),
            Effect::ChangeGate { .. } => ("gate changed", "gates changed"),
            Effect::Plan { .. } => ("plan changed", "plans changed"),
            Effect::Quota { .. } => ("quota changed", "quotas changed"),
            Effect::Label { .. } => ("label changed", "labels changed"),
            Effect::Unit { .. } => ("unit changed", "units changed"),
            Effect::File { .. } => ("file changed", "files changed"),
        }
    }
}

/// "3 changes: 2 directories created, 1 user added" (or "no change").
pub fn summary(effects: &[Effect]) -> String {
    if effects.is_empty() {
        return "no change: the tier, its users and the units already match the layout".into();
    }
    let mut counts: Vec<((&str, &str), usize)> = Vec::new();
    for e in effects {
        let name = e.tally_name();
        match counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, c)) => *c += 1,
            None => counts.push((name, 1)),
        }
    }
    let parts: Vec<String> = counts
        .into_iter()
        .map(|((one, many), c)| match c {
            1 => format!("1 {one}"),
            c => format!("{c} {many}"),
        })
        .collect();
    let n = effects.len();
    let s = if n == 1 { "" } else { "s" };
    format!("{n} change{s}: {}", parts.join(", "))
}

/// Everything applying `layout` under `root` would change. `previous`: the
/// layout in force (plans, quotas and labels are compared with it);
/// `creates_dirs`: false when the tier's mount is missing (nothing would be
/// created beneath it).
pub fn effects(
    layout: &Layout,
    previous: Option<&Layout>,
    root: &Root,
    set: &ChangeSet,
    creates_dirs: bool,
) -> Vec<Effect> {
    let accounts = Accounts::from_root(root);
    let mut out = Vec::new();
    if creates_dirs {
        directories(layout, root, &accounts, &mut out);
    }
    accounts_added(layout, root, &mut out);
    if let Some(previous) = previous {
        service_changes(previous, layout, &mut out);
    }
    files(set, !out.is_empty(), &mut out);
    out
}

fn directories(layout: &Layout, root: &Root, accounts: &Accounts, out: &mut Vec<Effect>) {
    for d in layout.planned_dirs() {
        let own = d.ownership;
        let want_mode = own.mode.to_string();
        match root.lstat(&d.path) {
            Ok(Some(st)) => {
                let user = |uid: u32| accounts.user_name(uid).unwrap_or_else(|| uid.to_string());
                let group = |gid: u32| accounts.group_name(gid).unwrap_or_else(|| gid.to_string());
                let (u, g) = (user(st.st_uid), group(st.st_gid));
                let mode = format!("{:04o}", st.st_mode & 0o7777);
                let differs = |a: String, b: &str| (a != b).then(|| (a, b.to_string()));
                let owner = differs(u, own.owner.as_str());
                let group = differs(g, own.group.as_str());
                let mode = differs(mode, &want_mode);
                if owner.is_some() || group.is_some() || mode.is_some() {
                    out.push(Effect::ChangeDirectory {
                        path: root.display(&d.path),
                        owner,
                        group,
                        mode,
                    });
                }
            }
            _ => out.push(Effect::CreateDirectory {
                path: root.display(&d.path),
                owner: own.owner.to_string(),
                group: own.group.to_string(),
                mode: want_mode,
            }),
        }
    }
}

/// Users and groups the layout names that the root's databases lack
/// (systemd-sysusers adds them; a user's own group goes with it).
fn accounts_added(layout: &Layout, root: &Root, out: &mut Vec<Effect>) {
    let read = |p: &str| {
        root.read_text(Path::new(p), 64 << 20)
            .ok()
            .flatten()
            .unwrap_or_default()
    };
    let users = accounts::names(&read("etc/passwd"));
    let groups = accounts::names(&read("etc/group"));
    let mut added_users = BTreeSet::new();
    let all = std::iter::once(&layout.tier.ownership).chain(layout.services.iter().flat_map(
        |s: &Service| std::iter::once(&s.ownership).chain(s.dirs.iter().map(|d| &d.ownership)),
    ));
    let owned: Vec<_> = all.collect();
    for o in &owned {
        let name = o.owner.as_str();
        if name != "root" && !users.contains(name) && added_users.insert(name.to_string()) {
            out.push(Effect::AddUser { name: name.into() });
        }
    }
    let mut added_groups = BTreeSet::new();
    for o in &owned {
        let name = o.group.as_str();
        if name != "root"
            && !groups.contains(name)
            && !added_users.contains(name)
            && added_groups.insert(name.to_string())
        {
            out.push(Effect::AddGroup { name: name.into() });
        }
    }
}

/// Plans, quotas and labels that differ from the layout in force.
fn service_changes(previous: &Layout, layout: &Layout, out: &mut Vec<Effect>) {
    let quota = |l: &Layout, s: &Service| -> String {
        if l.tier.quota.is_off() {
            return "off".into();
        }
        let limit =
            |b: Option<crate::layout::Bytes>| b.map_or("none".into(), |b| crate::units::bytes(b.0));
        format!(
            "project {} (soft {}, hard {})",
            s.quota.project_id,
            limit(s.quota.soft),
            limit(s.quota.hard)
        )
    };
    let label = |s: &Service| match (&s.selinux_type, &s.selinux_equal) {
        (Some(t), _) => t.to_string(),
        (None, Some(e)) => format!("as {}", e.display()),
        (None, None) => "the policy's default".into(),
    };
    for s in &layout.services {
        let Some(old) = previous.service(s.name.as_str()) else {
            continue;
        };
        let service = s.name.to_string();
        if old.planned != s.planned {
            out.push(Effect::Plan {
                service: service.clone(),
                from: crate::units::bytes(old.planned.0),
                to: crate::units::bytes(s.planned.0),
            });
        }
        let (qa, qb) = (quota(previous, old), quota(layout, s));
        if qa != qb {
            out.push(Effect::Quota {
                service: service.clone(),
                from: qa,
                to: qb,
            });
        }
        let (la, lb) = (label(old), label(s));
        if la != lb {
            out.push(Effect::Label {
                service,
                from: la,
                to: lb,
            });
        }
    }
}

/// Gates and units from the files that change; any other file only when no
/// line above already says what it does (`said`).
fn files(set: &ChangeSet, said: bool, out: &mut Vec<Effect>) {
    let etc_units = etc_path(Path::new(UNIT_DIR));
    let covered = [
        TMPFILES_PATH,
        SYSUSERS_PATH,
        TIER_TMPFILES_PATH,
        SELINUX_EQUAL_PATH,
    ]
    .map(|p| etc_path(Path::new(p)));
    for change in &set.changes {
        let path = change.path();
        let kind = FileChange::of(change);
        if let Ok(rel) = path.strip_prefix(&etc_units) {
            let name = rel.to_string_lossy();
            if let Some(unit) = name
                .strip_suffix(&format!(".d/{DROPIN_NAME}"))
                .map(str::to_string)
            {
                let ungates = match change {
                    Change::Create { new, .. } | Change::Update { new, .. } => {
                        !new.contains("ExecStartPre=")
                    }
                    Change::Remove { .. } => true,
                };
                out.push(match (kind, ungates) {
                    (_, true) => Effect::RemoveGate { unit },
                    (FileChange::Added, false) => Effect::AddGate { unit },
                    _ => Effect::ChangeGate { unit },
                });
            } else {
                out.push(Effect::Unit {
                    name: name.into_owned(),
                    change: kind,
                });
            }
        } else if !(said && covered.iter().any(|c| c == path)) {
            out.push(Effect::File {
                path: path.to_path_buf(),
                change: kind,
            });
        }
    }
}
