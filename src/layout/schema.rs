//! The typed layout: what a checked layout is (every value valid, every
//! name and size typed) and what it answers (its directories, gated units,
//! plan and digest). Made only by the checker (checker.rs).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::default::BUILTIN_SOURCE;
use super::{Monitor, Service, Thresholds, Tier};

/// Where a layout came from: the built-in default or a file. Reports and
/// generated files name it (`Display`); nothing compares a name to a sentinel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Builtin,
    File(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Builtin => f.write_str(BUILTIN_SOURCE),
            Source::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A service or directory name: one path component of `[A-Za-z0-9._-]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Name(pub(super) String);
/// A user or group name in systemd's strict grammar.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct UserName(pub(super) String);
/// A unit name with its type suffix.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct UnitName(pub(super) String);
/// An SELinux file type, e.g. `postgresql_db_t`: a plain CIL identifier.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct SelinuxType(pub(super) String);
/// Permission bits (including setgid and sticky).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Mode(pub u32);
/// A size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Bytes(pub u64);

macro_rules! text_type {
    ($($t:ident),*) => {$(
        impl $t {
            pub fn as_str(&self) -> &str { &self.0 }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(&self.0) }
        }
    )*};
}
text_type!(Name, UserName, UnitName, SelinuxType);

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04o}", self.0)
    }
}

/// Owner, group and mode of one directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ownership {
    pub owner: UserName,
    pub group: UserName,
    pub mode: Mode,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Layout {
    /// Where this layout came from.
    #[serde(skip)]
    pub source: Source,
    pub tier: Tier,
    pub thresholds: Thresholds,
    pub monitor: Monitor,
    pub services: Vec<Service>,
}

pub(super) fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

pub(super) fn opt_seconds<S: serde::Serializer>(
    d: &Option<Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs()),
        None => s.serialize_none(),
    }
}

/// One directory the layout asks for, with its full path.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedDir<'a> {
    pub path: PathBuf,
    pub ownership: &'a Ownership,
    pub clean_after: Option<Duration>,
    /// Whether the service may take bits away from the mode (`Dir::may_tighten`).
    pub may_tighten: bool,
    /// The service it belongs to; `None` for the base.
    pub service: Option<&'a Service>,
}

impl Layout {
    /// A digest of what the layout means (not of its comments or spelling),
    /// stamped into every generated file so staleness can be detected.
    pub fn digest(&self) -> String {
        let canonical = serde_json::to_vec(self).expect("a layout serializes");
        let hash = Sha256::digest(&canonical);
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }
    /// Every directory of the tier, parents first: base, each service, each subdirectory.
    pub fn planned_dirs(&self) -> Vec<PlannedDir<'_>> {
        let mut dirs = vec![PlannedDir {
            path: self.tier.base.clone(),
            ownership: &self.tier.ownership,
            clean_after: None,
            may_tighten: false,
            service: None,
        }];
        for service in &self.services {
            let service_path = service.path(self);
            dirs.push(PlannedDir {
                path: service_path.clone(),
                ownership: &service.ownership,
                clean_after: None,
                may_tighten: false,
                service: Some(service),
            });
            for dir in &service.dirs {
                dirs.push(PlannedDir {
                    path: service_path.join(dir.name.as_str()),
                    ownership: &dir.ownership,
                    clean_after: dir.clean_after,
                    may_tighten: dir.may_tighten,
                    service: Some(service),
                });
            }
        }
        dirs
    }
    /// Each gated unit once, with every service that gates it, in the order
    /// first met: one drop-in per unit must check all of them.
    pub fn gated_units(&self) -> Vec<(&UnitName, Vec<&Service>)> {
        let mut units: indexmap::IndexMap<&UnitName, Vec<&Service>> = indexmap::IndexMap::new();
        for service in &self.services {
            for unit in &service.gate {
                units.entry(unit).or_default().push(service);
            }
        }
        units.into_iter().collect()
    }
    /// The service called `name`.
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name.as_str() == name)
    }
    /// How far the services' plans exceed `tier.capacity`, if they do.
    pub fn over_commitment(&self) -> Option<u128> {
        let capacity = u128::from(self.tier.capacity.0);
        self.planned_total()
            .checked_sub(capacity)
            .filter(|over| *over > 0)
    }
    /// Sum of the services' planned sizes, in u128: many sizes near u64's
    /// limit (18.4 EB) add up beyond it and must not wrap to a small number.
    pub fn planned_total(&self) -> u128 {
        self.services.iter().map(|s| u128::from(s.planned.0)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;

    #[test]
    fn digest_ignores_comments_but_not_meaning() {
        let a = Layout::builtin();
        let commented = format!("# hello\n{DEFAULT_LAYOUT_TOML}");
        let b = Layout::parse(&commented, "x.toml").unwrap();
        assert_eq!(a.digest(), b.digest());
        let changed = DEFAULT_LAYOUT_TOML.replace("planned = \"50GB\"", "planned = \"51GB\"");
        assert_ne!(
            a.digest(),
            Layout::parse(&changed, "x.toml").unwrap().digest()
        );
    }

    /// A layout that sets no optional key: tier, thresholds and monitor left
    /// to their defaults, one service with one directory.
    const PLAIN: &str = r#"
[tier]
base = "/data/jts/hot"
owner = "root"
group = "root"
mode = "0755"
capacity = "1TB"

[services.db]
owner = "root"
group = "root"
mode = "0750"
planned = "500GB"
dirs = ["data"]
"#;

    /// Every key in the digest of `PLAIN`, frozen: the digest is the
    /// serialized layout, so a key here is in every layout's digest.
    const PLAIN_KEYS: &[&str] = &[
        "monitor.every",
        "monitor.textfile_dir",
        "services[].dirs[].clean_after",
        "services[].dirs[].name",
        "services[].dirs[].ownership.group",
        "services[].dirs[].ownership.mode",
        "services[].dirs[].ownership.owner",
        "services[].gate",
        "services[].name",
        "services[].ownership.group",
        "services[].ownership.mode",
        "services[].ownership.owner",
        "services[].planned",
        "thresholds.crit_percent",
        "thresholds.fs_free_crit_percent",
        "thresholds.fs_free_warn_percent",
        "thresholds.plan_reached_warn_days",
        "thresholds.warn_percent",
        "tier.base",
        "tier.capacity",
        "tier.filesystems",
        "tier.mount_options",
        "tier.ownership.group",
        "tier.ownership.mode",
        "tier.ownership.owner",
        "tier.require_mountpoint",
    ];

    fn keys(value: &serde_json::Value, at: &str, out: &mut std::collections::BTreeSet<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let path = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    };
                    match v {
                        serde_json::Value::Object(_) => keys(v, &path, out),
                        serde_json::Value::Array(items) if items.iter().any(|i| i.is_object()) => {
                            items
                                .iter()
                                .for_each(|i| keys(i, &format!("{path}[]"), out))
                        }
                        _ => {
                            out.insert(path);
                        }
                    }
                }
            }
            _ => unreachable!("a layout serializes to an object"),
        }
    }

    /// The cost of a new layout field: a layout that does not set it keeps its
    /// digest (so no generated file, golden tree or `units/` changes), because
    /// an unset field is left out of the digest (`skip_serializing_if`). Any
    /// new key in the digest of a layout that sets nothing optional fails
    /// here by name, before it fails every golden tree.
    #[test]
    fn a_new_optional_field_leaves_the_digest_of_layouts_without_it_unchanged() {
        let plain = Layout::parse(PLAIN, "plain.toml").unwrap();
        let mut found = std::collections::BTreeSet::new();
        keys(&serde_json::to_value(&plain).unwrap(), "", &mut found);
        let frozen: std::collections::BTreeSet<String> =
            PLAIN_KEYS.iter().map(|k| k.to_string()).collect();
        if let Some(new) = found.difference(&frozen).next() {
            panic!(
                "`{new}` is in the digest of a layout that does not set it: skip it when \
                 unset (#[serde(skip_serializing_if = ...)]), or every layout's digest, \
                 every generated file and every golden tree change"
            );
        }
        assert_eq!(found, frozen, "a key left the digest of every layout");
        // And the digest itself.
        assert_eq!(
            plain.digest(),
            "sha256:4379d2fcee1683b7eaa3a431c8826f2f885ae89cc0aaa9036dd8527071bc29b7",
            "the digest of a layout that sets nothing optional changed"
        );
    }
}
