//! `[tier]`: the base directory, its owner and mode, the capacity, the
//! mount it must be and the quota mode. Its raw form (as TOML gives it,
//! every value with its position), its typed form and its check live here
//! together, so a new key of the tier is added in this file.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::checker::{Checker, CLEAN_AFTER_ONLY_ON_SUBDIRS};
use super::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTier {
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

impl Tier {
    /// The file of the monitor's fsync canary: jts-hot's own, in the base
    /// (root's directory, where no service can plant anything).
    pub fn fsync_canary(&self) -> PathBuf {
        self.base.join(".jts-hot-fsync")
    }
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

impl Checker<'_> {
    pub(super) fn tier(&mut self, raw: toml::Spanned<RawTier>) -> Option<Tier> {
        let raw = raw.into_inner();
        let base = self.check(&raw.base, "tier.base", rules::base_path);
        let owner = self.check_or(raw.owner.as_ref(), "root", "tier.owner", rules::account);
        let group = self.check_or(raw.group.as_ref(), "root", "tier.group", rules::account);
        let mode = self.check_or(raw.mode.as_ref(), "0755", "tier.mode", rules::mode);
        let capacity = self.check(&raw.capacity, "tier.capacity", rules::size);
        let mount_options = self.words(raw.mount_options, &["noatime"], "tier.mount_options");
        let filesystems = self.words(raw.filesystems, &[], "tier.filesystems");
        let quota = self.check_or(raw.quota.as_ref(), "off", "tier.quota", rules::quota_mode);
        let filesystem_uuid = raw
            .filesystem_uuid
            .as_ref()
            .map(|u| self.check(u, "tier.filesystem_uuid", rules::filesystem_uuid));
        if let Some(c) = &raw.clean_after {
            self.fail(
                Some(c.span()),
                "tier.clean_after",
                CLEAN_AFTER_ONLY_ON_SUBDIRS,
            );
        }
        Some(Tier {
            base: base?,
            ownership: Ownership {
                owner: owner?,
                group: group?,
                mode: mode?,
            },
            capacity: capacity?,
            require_mountpoint: self.require_mountpoint(raw.require_mountpoint.as_ref())?,
            mount_options: mount_options?,
            filesystems: filesystems?,
            filesystem_uuid: match filesystem_uuid {
                Some(u) => Some(u?),
                None => None,
            },
            quota: quota?,
        })
    }

    fn require_mountpoint(
        &mut self,
        raw: Option<&toml::Spanned<toml::Value>>,
    ) -> Option<RequireMountpoint> {
        let Some(raw) = raw else {
            return Some(RequireMountpoint::Auto);
        };
        match raw.get_ref() {
            toml::Value::Boolean(true) => Some(RequireMountpoint::Always),
            toml::Value::Boolean(false) => Some(RequireMountpoint::Never),
            toml::Value::String(s) if s == "auto" => Some(RequireMountpoint::Auto),
            _ => {
                self.fail(
                    Some(raw.span()),
                    "tier.require_mountpoint",
                    "expected true, false or \"auto\"",
                );
                None
            }
        }
    }

    fn words(
        &mut self,
        raw: Option<Vec<toml::Spanned<String>>>,
        default: &[&str],
        field: &str,
    ) -> Option<Vec<String>> {
        let Some(raw) = raw else {
            return Some(default.iter().map(|s| s.to_string()).collect());
        };
        let words: Vec<_> = raw
            .iter()
            .enumerate()
            .map(|(i, w)| self.check(w, &format!("{field}[{i}]"), rules::mount_word))
            .collect();
        words.into_iter().collect()
    }
}
