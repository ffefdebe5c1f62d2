//! Every check's stable name. Findings, the JSON (`jts-hot.validate/1`) and
//! the metric label `jts_hot_validate_findings{check=...}` carry these names;
//! they are a contract (docs/validate.md, docs/metrics.md), so a check is
//! only ever added, never renamed. tests/docs.rs holds the docs to this list.

use serde::Serialize;

/// One kind of check; its serialized name (`as_str`) is the stable contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Check {
    #[serde(rename = "account.user")]
    AccountUser,
    #[serde(rename = "account.group")]
    AccountGroup,
    #[serde(rename = "dir.exists")]
    DirExists,
    #[serde(rename = "dir.type")]
    DirType,
    #[serde(rename = "dir.owner")]
    DirOwner,
    #[serde(rename = "dir.owner.remap")]
    DirOwnerRemap,
    #[serde(rename = "dir.group")]
    DirGroup,
    #[serde(rename = "dir.mode")]
    DirMode,
    #[serde(rename = "dir.access")]
    DirAccess,
    #[serde(rename = "dir.filesystem")]
    DirFilesystem,
    #[serde(rename = "mount.point")]
    MountPoint,
    #[serde(rename = "mount.identity")]
    MountIdentity,
    #[serde(rename = "mount.shadowed")]
    MountShadowed,
    #[serde(rename = "mount.fstype")]
    MountFstype,
    #[serde(rename = "mount.option")]
    MountOption,
    #[serde(rename = "mount.trim")]
    MountTrim,
    #[serde(rename = "capacity.tier")]
    CapacityTier,
    #[serde(rename = "capacity.filesystem")]
    CapacityFilesystem,
    #[serde(rename = "generated.digest")]
    GeneratedDigest,
    #[serde(rename = "selinux.label")]
    SelinuxLabel,
    #[serde(rename = "selinux.policy")]
    SelinuxPolicy,
    #[serde(rename = "quota.accounting")]
    QuotaAccounting,
    #[serde(rename = "quota.enforcement")]
    QuotaEnforcement,
    #[serde(rename = "quota.project")]
    QuotaProject,
    #[serde(rename = "quota.inherit")]
    QuotaInherit,
    #[serde(rename = "quota.limit")]
    QuotaLimit,
    #[serde(rename = "quota.tree")]
    QuotaTree,
    #[serde(rename = "gate.ordering")]
    GateOrdering,
    #[serde(rename = "layout.pending")]
    LayoutPending,
}

impl Check {
    /// Every check, in the order the metrics export them (each series exists,
    /// at 0, before the check first fails).
    pub const ALL: [Check; 29] = [
        Check::AccountUser,
        Check::AccountGroup,
        Check::DirExists,
        Check::DirType,
        Check::DirOwner,
        Check::DirOwnerRemap,
        Check::DirGroup,
        Check::DirMode,
        Check::DirAccess,
        Check::DirFilesystem,
        Check::MountPoint,
        Check::MountIdentity,
        Check::MountShadowed,
        Check::MountFstype,
        Check::MountOption,
        Check::MountTrim,
        Check::CapacityTier,
        Check::CapacityFilesystem,
        Check::GeneratedDigest,
        Check::SelinuxLabel,
        Check::SelinuxPolicy,
        Check::QuotaAccounting,
        Check::QuotaEnforcement,
        Check::QuotaProject,
        Check::QuotaInherit,
        Check::QuotaLimit,
        Check::QuotaTree,
        Check::GateOrdering,
        Check::LayoutPending,
    ];

    /// The stable name, as serialized: "dir.mode".
    pub fn as_str(self) -> &'static str {
        match self {
            Check::AccountUser => "account.user",
            Check::AccountGroup => "account.group",
            Check::DirExists => "dir.exists",
            Check::DirType => "dir.type",
            Check::DirOwner => "dir.owner",
            Check::DirOwnerRemap => "dir.owner.remap",
            Check::DirGroup => "dir.group",
            Check::DirMode => "dir.mode",
            Check::DirAccess => "dir.access",
            Check::DirFilesystem => "dir.filesystem",
            Check::MountPoint => "mount.point",
            Check::MountIdentity => "mount.identity",
            Check::MountShadowed => "mount.shadowed",
            Check::MountFstype => "mount.fstype",
            Check::MountOption => "mount.option",
            Check::MountTrim => "mount.trim",
            Check::CapacityTier => "capacity.tier",
            Check::CapacityFilesystem => "capacity.filesystem",
            Check::GeneratedDigest => "generated.digest",
            Check::SelinuxLabel => "selinux.label",
            Check::SelinuxPolicy => "selinux.policy",
            Check::QuotaAccounting => "quota.accounting",
            Check::QuotaEnforcement => "quota.enforcement",
            Check::QuotaProject => "quota.project",
            Check::QuotaInherit => "quota.inherit",
            Check::QuotaLimit => "quota.limit",
            Check::QuotaTree => "quota.tree",
            Check::GateOrdering => "gate.ordering",
            Check::LayoutPending => "layout.pending",
        }
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Check;

    /// `as_str` and serde say the same name, and no two checks share one.
    #[test]
    fn names_are_the_serialized_names_and_distinct() {
        let mut seen = std::collections::BTreeSet::new();
        for c in Check::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
            assert!(seen.insert(c.as_str()), "{c} twice");
        }
    }
}
