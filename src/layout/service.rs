//! `[services.NAME]`: each service's directory, owner, plan, gates,
//! subdirectories, quota and SELinux form. Raw form (every value with its
//! position), typed form and check together: a new per-service key is
//! added in this file alone.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::checker::{Checker, CLEAN_AFTER_ONLY_ON_SUBDIRS};
use super::schema::opt_seconds;
use super::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    pub owner: Spanned<String>,
    pub group: Option<Spanned<String>>,
    pub mode: Option<Spanned<String>>,
    pub planned: Spanned<String>,
    #[serde(default)]
    pub gate: Vec<Spanned<String>>,
    #[serde(default)]
    pub dirs: Vec<Spanned<RawDir>>,
    /// The project quota ID of the service directory; derived from the name when absent.
    pub project_id: Option<Spanned<i64>>,
    /// "planned", "none", a size, or a percentage of `planned`.
    pub quota_soft: Option<Spanned<String>>,
    pub quota_hard: Option<Spanned<String>>,
    /// Subtrees (relative to the service directory) whose project IDs another
    /// quota manager sets: the tree check and repair leave them alone.
    pub quota_foreign: Option<Vec<Spanned<String>>>,
    pub selinux_type: Option<Spanned<String>>,
    /// The path whose labels the service's tree copies (semanage fcontext -e).
    pub selinux_equal: Option<Spanned<String>>,
    /// Accepted only to refuse it with a clear message: a service directory holds data.
    pub clean_after: Option<Spanned<toml::Value>>,
    /// TimeoutStopSec= of the gated units (a duration, e.g. "5min").
    pub stop_timeout: Option<Spanned<String>>,
    /// The database engine judged on the device ("none": nothing judged).
    pub engine: Option<Spanned<String>>,
    /// The most the device's fsync p99 may be for this service (e.g. "5ms").
    pub fsync_p99_max: Option<Spanned<String>>,
    /// The most the device's random-read p99 may be for this service.
    pub randread_p99_max: Option<Spanned<String>>,
}

/// A subdirectory: a bare name, or a table with `name` and optional `owner`,
/// `group`, `mode`, `clean_after`. Deserialized by hand (serde's untagged
/// enums drop positions): each field of a table keeps its own span, so a
/// message points at the value at fault, not at the table's brace.
#[derive(Debug)]
pub(super) enum RawDir {
    Name(String),
    Table(RawDirTable),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDirTable {
    pub name: Option<Spanned<String>>,
    pub owner: Option<Spanned<String>>,
    pub group: Option<Spanned<String>>,
    pub mode: Option<Spanned<String>>,
    pub clean_after: Option<Spanned<String>>,
    /// The service may take bits away from `mode` (PostgreSQL's data directory).
    pub may_tighten: Option<Spanned<bool>>,
}

impl<'de> Deserialize<'de> for RawDir {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawDir;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a directory name or a table with a name")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawDir, E> {
                Ok(RawDir::Name(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<RawDir, A::Error> {
                // Through the same MapAccess, so toml still hands out spans.
                RawDirTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RawDir::Table)
            }
        }
        d.deserialize_any(Visitor)
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
    /// `engine`, `fsync_p99_max`, `randread_p99_max`: what the service's
    /// database needs of the device (probe, validate's device.fitness).
    /// Skipped when unset so layouts without them keep their digest.
    #[serde(skip_serializing_if = "Fitness::is_unset")]
    pub fitness: Fitness,
}

/// A database engine whose needs of the device jts-hot knows (docs/probe.md).
/// The serialized names are the layout's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Postgresql,
    Clickhouse,
    Kafka,
    Mongodb,
    Redis,
    Etcd,
}

impl Engine {
    pub const ALL: [Engine; 6] = [
        Engine::Postgresql,
        Engine::Clickhouse,
        Engine::Kafka,
        Engine::Mongodb,
        Engine::Redis,
        Engine::Etcd,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Postgresql => "postgresql",
            Engine::Clickhouse => "clickhouse",
            Engine::Kafka => "kafka",
            Engine::Mongodb => "mongodb",
            Engine::Redis => "redis",
            Engine::Etcd => "etcd",
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The layout's `engine`: one of [`Engine`], or none (nothing judged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineSetting {
    Is(Engine),
    None,
}

impl Serialize for EngineSetting {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            EngineSetting::Is(e) => e.serialize(s),
            EngineSetting::None => s.serialize_str("none"),
        }
    }
}

/// What a service's database needs of the device, as the layout says it;
/// unset: the engine known from the service's name or gated units, and its
/// documented limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Fitness {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineSetting>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_micros")]
    pub fsync_p99_max: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_micros")]
    pub randread_p99_max: Option<Duration>,
}

impl Fitness {
    fn is_unset(&self) -> bool {
        *self == Fitness::default()
    }
}

fn opt_micros<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&(d.as_micros() as u64)),
        None => s.serialize_none(),
    }
}

/// `engine`: a known engine's name, or "none".
fn engine(s: &str) -> Result<EngineSetting, String> {
    if s == "none" {
        return Ok(EngineSetting::None);
    }
    Engine::ALL
        .into_iter()
        .find(|e| e.as_str() == s)
        .map(EngineSetting::Is)
        .ok_or_else(|| {
            let names: Vec<&str> = Engine::ALL.iter().map(|e| e.as_str()).collect();
            format!(
                "\"{s}\" is not an engine jts-hot knows: {} or \"none\"",
                names.join(", ")
            )
        })
}

/// `fsync_p99_max`, `randread_p99_max`: a latency from 1us to 1 minute.
fn latency(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim()).map_err(|e| {
        format!("\"{s}\" is not a duration ({e}); write e.g. \"10ms\" or \"500us\"")
    })?;
    if d < Duration::from_micros(1) || d > Duration::from_secs(60) {
        return Err(format!("\"{s}\" is not from 1us to 1min"));
    }
    Ok(d)
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

impl Service {
    pub fn path(&self, layout: &Layout) -> PathBuf {
        layout.tier.base.join(self.name.as_str())
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
impl Checker<'_> {
    pub(super) fn service(
        &mut self,
        name: toml::Spanned<String>,
        raw: toml::Spanned<RawService>,
        base: Option<&Path>,
        base_owner: Option<&UserName>,
    ) -> Option<Service> {
        let field = format!("services.{}", name.get_ref().escape_debug());
        let service_name = self.check(&name, &field, rules::name);
        // Each directory made below the base is judged where it really lands too.
        let service_dir = base
            .zip(service_name.as_ref())
            .map(|(b, n)| b.join(n.as_str()));
        if let Some(dir) = &service_dir {
            if let Err(m) = rules::not_os_owned(dir) {
                self.fail(Some(name.span()), &field, m);
            }
        }
        let raw = raw.into_inner();
        let owner = self.check(&raw.owner, &format!("{field}.owner"), rules::account);
        let group = match &raw.group {
            Some(g) => self.check(g, &format!("{field}.group"), rules::account),
            None => owner.clone(),
        };
        let mode = self.check_or(
            raw.mode.as_ref(),
            "0750",
            &format!("{field}.mode"),
            rules::mode,
        );
        let planned = self.check(&raw.planned, &format!("{field}.planned"), rules::size);
        let quota = self.service_quota(&raw, &field, name.get_ref(), planned);
        if let Some(c) = &raw.clean_after {
            self.fail(
                Some(c.span()),
                &format!("{field}.clean_after"),
                CLEAN_AFTER_ONLY_ON_SUBDIRS,
            );
        }
        let gate = self.service_gates(&raw, &field);
        let stop_timeout = match &raw.stop_timeout {
            Some(t) => {
                Some(self.check(t, &format!("{field}.stop_timeout"), rules::stop_timeout)?)
            }
            None => None,
        };
        let fitness = Fitness {
            engine: match &raw.engine {
                Some(e) => Some(self.check(e, &format!("{field}.engine"), engine)?),
                None => None,
            },
            fsync_p99_max: match &raw.fsync_p99_max {
                Some(l) => Some(self.check(l, &format!("{field}.fsync_p99_max"), latency)?),
                None => None,
            },
            randread_p99_max: match &raw.randread_p99_max {
                Some(l) => Some(self.check(l, &format!("{field}.randread_p99_max"), latency)?),
                None => None,
            },
        };
        let (selinux_type, selinux_equal) =
            self.service_selinux(&raw, &field, service_dir.as_deref())?;
        self.base_transition(&raw, &field, base_owner, owner.as_ref());
        let ownership = Ownership {
            owner: owner?,
            group: group?,
            mode: mode?,
        };
        let dirs = self.service_dirs(&raw, &field, &ownership, service_dir.as_deref());
        let quota_foreign = self.quota_foreign(&raw, &field, &dirs);
        Some(Service {
            name: service_name?,
            ownership,
            planned: planned?,
            gate,
            dirs,
            selinux_type,
            selinux_equal,
            stop_timeout,
            fitness,
            quota: quota?,
            quota_foreign,
        })
    }

    /// `quota_foreign`: relative paths below the service directory, none of
    /// them a planned subdirectory (those are jts-hot's to tag).
    fn quota_foreign(&mut self, raw: &RawService, field: &str, dirs: &[Dir]) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for (i, v) in raw.quota_foreign.iter().flatten().enumerate() {
            let f = format!("{field}.quota_foreign[{i}]");
            if let Some(p) = self.check(v, &f, rules::relative_subtree) {
                let first = p.components().next().map(|c| c.as_os_str().to_os_string());
                if p.components().count() == 1
                    && dirs.iter().any(|d| Some(d.name.as_str().into()) == first)
                {
                    self.fail(
                        Some(v.span()),
                        &f,
                        format!(
                            "\"{}\" is a planned subdirectory: jts-hot tags it with the service's \
                             project; name a directory below it or beside it",
                            p.display()
                        ),
                    );
                } else if out.contains(&p) {
                    self.fail(
                        Some(v.span()),
                        &f,
                        format!("\"{}\" is listed twice", p.display()),
                    );
                } else {
                    out.push(p);
                }
            }
        }
        out
    }

    fn service_gates(&mut self, raw: &RawService, field: &str) -> Vec<UnitName> {
        let mut gate = Vec::new();
        let mut seen_units = BTreeSet::new();
        for (i, unit) in raw.gate.iter().enumerate() {
            let f = format!("{field}.gate[{i}]");
            if let Some(u) = self.check(unit, &f, rules::gate_unit) {
                if !seen_units.insert(u.clone()) {
                    self.fail(Some(unit.span()), &f, format!("{u} is listed twice"));
                }
                gate.push(u);
            }
        }
        gate
    }

    /// The service's SELinux form: a type, an equivalence, or neither (None:
    /// refused, and the service is not checked further).
    fn service_selinux(
        &mut self,
        raw: &RawService,
        field: &str,
        service_dir: Option<&Path>,
    ) -> Option<(Option<SelinuxType>, Option<PathBuf>)> {
        let selinux_type = match &raw.selinux_type {
            Some(t) => {
                Some(self.check(t, &format!("{field}.selinux_type"), rules::selinux_type)?)
            }
            None => None,
        };
        let selinux_equal = match &raw.selinux_equal {
            Some(e) if raw.selinux_type.is_some() => {
                self.fail(
                    Some(e.span()),
                    &format!("{field}.selinux_equal"),
                    "set selinux_type or selinux_equal, not both: one says the type, the other \
                     which path's labels to copy",
                );
                return None;
            }
            Some(e) => Some(self.check(e, &format!("{field}.selinux_equal"), |s| {
                rules::selinux_equal(s, service_dir)
            })?),
            None => None,
        };
        Some((selinux_type, selinux_equal))
    }

    fn base_transition(
        &mut self,
        raw: &RawService,
        field: &str,
        base_owner: Option<&UserName>,
        owner: Option<&UserName>,
    ) {
        // systemd-tmpfiles refuses to go from a directory owned by a user
        // other than root into one owned by someone else ("unsafe path
        // transition", exit 73) when it has to go further down: it would
        // create none of the service's subdirectories.
        if let (Some(base_owner), Some(o)) = (base_owner, owner) {
            if base_owner.as_str() != "root" && base_owner != o && !raw.dirs.is_empty() {
                self.fail(
                    Some(raw.owner.span()),
                    &format!("{field}.owner"),
                    format!(
                        "the base is owned by {base_owner} (not root), so a service directory \
                         with subdirectories must be {base_owner}'s too: systemd-tmpfiles \
                         refuses the unsafe path transition from {base_owner} to {o} and \
                         would create none of the subdirectories"
                    ),
                );
            }
        }
    }

    fn service_dirs(
        &mut self,
        raw: &RawService,
        field: &str,
        ownership: &Ownership,
        service_dir: Option<&Path>,
    ) -> Vec<Dir> {
        let mut dirs = Vec::new();
        let mut seen_dirs = BTreeSet::new();
        for (i, dir) in raw.dirs.iter().enumerate() {
            let f = format!("{field}.dirs[{i}]");
            if let Some(d) = self.dir(dir, &f, ownership) {
                // An 'e' line (clean_after) makes systemd-tmpfiles walk into
                // the directory itself: from a service directory owned by a
                // user other than root into one owned by someone else is the
                // "unsafe path transition" it refuses, so nothing is cleaned.
                let owner = &ownership.owner;
                if d.clean_after.is_some()
                    && owner.as_str() != "root"
                    && d.ownership.owner != *owner
                {
                    self.fail(
                        Some(dir.span()),
                        &format!("{f}.owner"),
                        format!(
                            "a directory with clean_after in {owner}'s service directory must be \
                             {owner}'s too (or the service root's): systemd-tmpfiles refuses the \
                             unsafe path transition from {owner} to {} and would never clean it",
                            d.ownership.owner
                        ),
                    );
                }
                if let Some(sd) = service_dir {
                    if let Err(m) = rules::not_os_owned(&sd.join(d.name.as_str())) {
                        self.fail(Some(dir.span()), &f, m);
                    }
                }
                if !seen_dirs.insert(d.name.clone()) {
                    self.fail(
                        Some(dir.span()),
                        &f,
                        format!("\"{}\" is listed twice", d.name),
                    );
                }
                dirs.push(d);
            }
        }
        dirs
    }

    fn service_quota(
        &mut self,
        raw: &RawService,
        field: &str,
        name: &str,
        planned: Option<Bytes>,
    ) -> Option<ServiceQuota> {
        let project_id = match &raw.project_id {
            Some(id) => self.rule_at(
                Some(id.span()),
                &format!("{field}.project_id"),
                rules::project_id(*id.get_ref()),
            )?,
            None => rules::derived_project_id(name),
        };
        let planned = planned?;
        let mut limit = |value: Option<&toml::Spanned<String>>, default: &str, key: &str| {
            self.check_or(value, default, &format!("{field}.{key}"), |s| {
                rules::quota_limit(s, planned)
            })
        };
        let soft = limit(raw.quota_soft.as_ref(), "planned", "quota_soft")?;
        let hard = limit(raw.quota_hard.as_ref(), "none", "quota_hard")?;
        if let (Some(s), Some(h)) = (soft, hard) {
            if h < s {
                let span = raw.quota_hard.as_ref().map(|v| v.span());
                self.fail(
                    span,
                    &format!("{field}.quota_hard"),
                    format!(
                        "the hard limit ({} bytes) is below the soft limit ({} bytes)",
                        h.0, s.0
                    ),
                );
                return None;
            }
        }
        Some(ServiceQuota {
            in_effect: false,
            project_id,
            soft,
            hard,
        })
    }

    fn dir(&mut self, raw: &toml::Spanned<RawDir>, field: &str, parent: &Ownership) -> Option<Dir> {
        match raw.get_ref() {
            RawDir::Name(s) => {
                let name = self.rule_at(Some(raw.span()), field, rules::name(s))?;
                Some(Dir {
                    name,
                    ownership: parent.clone(),
                    clean_after: None,
                    may_tighten: false,
                })
            }
            RawDir::Table(t) => {
                let Some(name) = &t.name else {
                    self.fail(
                        Some(raw.span()),
                        &format!("{field}.name"),
                        "a directory table needs a name",
                    );
                    return None;
                };
                let name = self.check(name, &format!("{field}.name"), rules::name);
                let mut or = |v: &Option<toml::Spanned<String>>, key: &str, rule, inherited| match v
                {
                    Some(v) => self.check(v, &format!("{field}.{key}"), rule),
                    None => Some(inherited),
                };
                let owner = or(&t.owner, "owner", rules::account, parent.owner.clone());
                let group = or(&t.group, "group", rules::account, parent.group.clone());
                let mode = match &t.mode {
                    Some(m) => self.check(m, &format!("{field}.mode"), rules::mode),
                    None => Some(parent.mode),
                };
                let clean_after = match &t.clean_after {
                    Some(c) => {
                        Some(self.check(c, &format!("{field}.clean_after"), rules::clean_after)?)
                    }
                    None => None,
                };
                let may_tighten = t.may_tighten.as_ref().is_some_and(|m| *m.get_ref());
                Some(Dir {
                    name: name?,
                    ownership: Ownership {
                        owner: owner?,
                        group: group?,
                        mode: mode?,
                    },
                    clean_after,
                    may_tighten,
                })
            }
        }
    }
}
