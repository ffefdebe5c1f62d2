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
    pub selinux_type: Option<Spanned<String>>,
    /// Accepted only to refuse it with a clear message: a service directory holds data.
    pub clean_after: Option<Spanned<toml::Value>>,
}

/// A subdirectory: a bare name, or a table with `name` and optional `owner`,
/// `group`, `mode`, `clean_after`. Kept as a TOML value (an untagged enum would
/// lose positions and give poor messages); `rules` reads it field by field.
pub type RawDir = toml::Value;
