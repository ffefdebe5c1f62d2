//! The layout file exactly as TOML gives it: every value keeps its position
//! in the file, so each rule in `rules` can name file, line, column and field.
//! Nothing here is trusted; `Layout::parse` turns it into checked types.

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLayout {
    pub tier: Spanned<RawTier>,
    #[serde(default)]
    pub thresholds: Option<Spanned<RawThresholds>>,
    #[serde(default)]
    pub monitor: Option<Spanned<RawMonitor>>,
    pub services: Spanned<IndexMap<Spanned<String>, Spanned<RawService>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTier {
    pub base: Spanned<String>,
    pub owner: Option<Spanned<String>>,
    pub group: Option<Spanned<String>>,
    pub mode: Option<Spanned<String>>,
    pub capacity: Spanned<String>,
    /// true, false or "auto".
    pub require_mountpoint: Option<toml::Spanned<toml::Value>>,
    pub mount_options: Option<Vec<Spanned<String>>>,
    pub filesystems: Option<Vec<Spanned<String>>>,
    /// The UUID of the filesystem that must hold the base.
    pub filesystem_uuid: Option<Spanned<String>>,
    /// "off", "auto", "account" or "enforce" (see `layout::QuotaMode`).
    pub quota: Option<Spanned<String>>,
    /// Accepted only to refuse it with a clear message: the base is never cleaned.
    pub clean_after: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawThresholds {
    pub warn_percent: Option<Spanned<i64>>,
    pub crit_percent: Option<Spanned<i64>>,
    pub fs_free_warn_percent: Option<Spanned<i64>>,
    pub fs_free_crit_percent: Option<Spanned<i64>>,
    pub plan_reached_warn_days: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMonitor {
    pub every: Option<Spanned<String>>,
    pub textfile_dir: Option<Spanned<String>>,
    /// How often the monitor walks each service tree for entries outside its project.
    pub quota_tree_every: Option<Spanned<String>>,
    /// The host's role in the fleet: the label its layout is compared under.
    pub role: Option<Spanned<String>>,
    /// The span of history growth and forecasts are fitted over.
    pub forecast_window: Option<Spanned<String>>,
    /// How many largest subdirectories per service and level are reported.
    pub top: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
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
}

/// A subdirectory: a bare name, or a table with `name` and optional `owner`,
/// `group`, `mode`, `clean_after`. Deserialized by hand (serde's untagged
/// enums drop positions): each field of a table keeps its own span, so a
/// message points at the value at fault, not at the table's brace.
#[derive(Debug)]
pub enum RawDir {
    Name(String),
    Table(RawDirTable),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDirTable {
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
