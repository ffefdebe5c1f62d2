//! The typed layout: what a checked layout is (every value valid, every
//! name and size typed) and what it answers (its directories, gated units,
//! plan and digest). Made only by the checker (checker.rs).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::default::BUILTIN_SOURCE;

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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tier {
    pub base: PathBuf,
    pub ownership: Ownership,
    pub capacity: Bytes,
    pub require_mountpoint: RequireMountpoint,
    pub mount_options: Vec<String>,
    /// Accepted filesystem types; empty accepts any.
    pub filesystems: Vec<String>,
    /// The UUID of the filesystem that must hold the base, whatever fstab
    /// says (for hosts that mount by path). Left out of the digest when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filesystem_uuid: Option<String>,
    /// How project quotas hold each service to its plan. Left out of the
    /// digest when off, so layouts from before quotas keep theirs.
    #[serde(skip_serializing_if = "QuotaMode::is_off")]
    pub quota: QuotaMode,
}

/// `tier.quota`: whether jts-hot tags each service directory with a project
/// quota and sets its limits. The serialized form is the layout's word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotaMode {
    /// Nothing is tagged or limited; usage is measured by walking.
    Off,
    /// `account` where the tier's filesystem has project quota accounting
    /// on, `off` (silently) where it has not.
    Auto,
    /// Project IDs are set (usage in O(1)); no limits: no write is ever refused.
    Account,
    /// Project IDs and each service's soft and hard limits are set.
    Enforce,
}

impl QuotaMode {
    pub fn is_off(&self) -> bool {
        *self == QuotaMode::Off
    }

    pub fn as_str(self) -> &'static str {
        match self {
            QuotaMode::Off => "off",
            QuotaMode::Auto => "auto",
            QuotaMode::Account => "account",
            QuotaMode::Enforce => "enforce",
        }
    }
}

impl ServiceQuota {
    fn not_in_effect(&self) -> bool {
        !self.in_effect
    }
}

/// A service's project quota: its ID and the limits `enforce` sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ServiceQuota {
    /// Whether `tier.quota` is other than off (set once the tier is read).
    #[serde(skip)]
    pub in_effect: bool,
    pub project_id: u32,
    /// Over it, writes go on until the filesystem's grace period (7 days by
    /// default) runs out; `None`: no soft limit.
    pub soft: Option<Bytes>,
    /// Never exceeded: writes past it fail (EDQUOT on ext4, ENOSPC on XFS).
    pub hard: Option<Bytes>,
}

/// Whether the base must be its own mounted filesystem (the NVMe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RequireMountpoint {
    /// Required when /etc/fstab or a .mount unit declares a mount at the base
    /// or at one of its ancestors below /: then that mount must be in place.
    Auto,
    /// The base must be a mount point, declared or not.
    Always,
    /// Never checked, whatever is declared.
    Never,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Thresholds {
    pub warn_percent: u8,
    pub crit_percent: u8,
    pub fs_free_warn_percent: u8,
    pub fs_free_crit_percent: u8,
    pub plan_reached_warn_days: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Monitor {
    #[serde(serialize_with = "seconds")]
    pub every: Duration,
    pub textfile_dir: PathBuf,
    /// `quota_tree_every`: how often the monitor walks each service tree for
    /// entries outside the service's project. `None`: the default (daily),
    /// left out of the digest so layouts without the key keep theirs.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_seconds"
    )]
    pub quota_tree_every: Option<Duration>,
    /// `forecast_window`: the span of history growth and the forecasts are
    /// fitted over. `None`: the default (7 days), left out of the digest.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_seconds"
    )]
    pub forecast_window: Option<Duration>,
    /// `top`: how many of each service's largest first- and second-level
    /// subdirectories the monitor reports (0: none). `None`: the default
    /// ([`Monitor::TOP`]), left out of the digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top: Option<u32>,
    /// `role`: the host's role in the fleet (the `role` label of
    /// jts_hot_layout_info; hosts are compared with the others of their
    /// role). Left out of the digest when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

impl Monitor {
    /// The default cadence of the quota tree walk.
    const QUOTA_TREE_EVERY: Duration = Duration::from_secs(86_400);
    /// The default forecast window: a week holds a trading week's cycle.
    pub const FORECAST_WINDOW: Duration = Duration::from_secs(7 * 86_400);

    /// The default number of largest subdirectories reported per level.
    pub const TOP: u32 = 5;

    /// How many largest subdirectories per level (`top`).
    pub fn top(&self) -> usize {
        self.top.unwrap_or(Self::TOP) as usize
    }

    /// The span growth and forecasts are fitted over (`forecast_window`).
    pub fn forecast_window(&self) -> Duration {
        self.forecast_window.unwrap_or(Self::FORECAST_WINDOW)
    }

    /// How often the monitor walks the service trees (`quota_tree_every`).
    pub fn quota_tree_every(&self) -> Duration {
        self.quota_tree_every.unwrap_or(Self::QUOTA_TREE_EVERY)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    pub name: Name,
    pub ownership: Ownership,
    pub planned: Bytes,
    pub gate: Vec<UnitName>,
    pub dirs: Vec<Dir>,
    /// Meaningless, and left out of the digest, while `tier.quota` is off.
    #[serde(skip_serializing_if = "ServiceQuota::not_in_effect")]
    pub quota: ServiceQuota,
    /// `quota_foreign`: subtrees, relative to the service directory, whose
    /// project IDs another quota manager sets (Docker's overlay2 with a size
    /// option); the tree check and `quota set --repair` never enter them.
    /// Skipped when empty so layouts without it keep their digest.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub quota_foreign: Vec<PathBuf>,
    /// The SELinux file type of the service's directory and everything under
    /// it; `None`: jts-hot labels nothing (the policy's default applies).
    /// Skipped when absent so layouts without it keep their digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selinux_type: Option<SelinuxType>,
    /// `selinux_equal`: the service's directory and everything under it are
    /// labelled as this path and its subtree (`semanage fcontext -a -e THIS
    /// DIR`), for trees such as Docker's whose policy labels many subpaths.
    /// Never set together with `selinux_type`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selinux_equal: Option<PathBuf>,
    /// `stop_timeout`: how long stopping a gated unit may take before systemd
    /// kills it (its drop-in's TimeoutStopSec=); `None`: `DEFAULT_STOP_TIMEOUT`.
    /// Skipped when absent so layouts without it keep their digest.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_seconds"
    )]
    pub stop_timeout: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dir {
    pub name: Name,
    pub ownership: Ownership,
    /// Age after which systemd-tmpfiles --clean removes files (scratch only).
    #[serde(serialize_with = "opt_seconds")]
    pub clean_after: Option<Duration>,
    /// `may_tighten`: the service may take permission bits away from the
    /// mode (PostgreSQL's initdb makes its data directory 0700, or 0750 with
    /// group access): any mode within it passes, and setup only creates the
    /// directory with the mode and removes bits beyond it, never adds any.
    /// Skipped when false so layouts without it keep their digest.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub may_tighten: bool,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

fn opt_seconds<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs()),
        None => s.serialize_none(),
    }
}

impl Service {
    pub fn path(&self, layout: &Layout) -> PathBuf {
        layout.tier.base.join(self.name.as_str())
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
