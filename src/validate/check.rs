//! Every check's stable name. Findings, the JSON (`jts-hot.validate/1`) and
//! the metric label `jts_hot_validate_findings{check=...}` carry these names;
//! they are a contract (docs/validate.md, docs/metrics.md), so a check is
//! only ever added, never renamed. Each check is declared once, below: its
//! name, what it checks and its severity; the enum, [`Check::ALL`], the
//! serialized name and the CHECKS table of `validate --help` (the man page)
//! all come from that one line. tests/docs.rs holds the docs to this list.

use serde::{Serialize, Serializer};

/// Declares the checks once: `Variant "name" SEVERITY "what it checks";`.
macro_rules! checks {
    ($($variant:ident $name:literal $severity:literal $what:literal;)+) => {
        /// One kind of check; its serialized name (`as_str`) is the stable contract.
        /// Declaration order is check order (findings, metrics).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Check {
            $($variant,)+
        }

        impl Check {
            /// Every check, in the order the metrics export them (each series
            /// exists, at 0, before the check first fails).
            pub const ALL: [Check; [$($name),+].len()] = [$(Check::$variant),+];

            /// The stable name, as serialized: "dir.mode".
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Check::$variant => $name,)+
                }
            }

            /// What it checks, one sentence (the help's CHECKS table).
            pub fn what(self) -> &'static str {
                match self {
                    $(Check::$variant => $what,)+
                }
            }

            /// The severity of its findings, as the help's table says it.
            pub fn severity(self) -> &'static str {
                match self {
                    $(Check::$variant => $severity,)+
                }
            }
        }
    };
}

checks! {
    AccountUser "account.user" "CRITICAL"
        "a layout user name that does not resolve through NSS";
    AccountGroup "account.group" "CRITICAL"
        "a layout group name that does not resolve through NSS";
    DirExists "dir.exists" "CRITICAL"
        "each directory of the layout exists";
    DirType "dir.type" "CRITICAL"
        "it is a real directory (lstat: a symlink is never followed)";
    DirOwner "dir.owner" "CRITICAL"
        "its owner is the layout's, resolved through NSS";
    DirOwnerRemap "dir.owner.remap" "CRITICAL"
        "a service whose directories all carry one other uid (gid) than its owner's (a \
         reinstall, a disk from another host): one finding per service with the remap \
         (uid 998 (no user) → postgres 105) instead of one per directory; setup leaves that \
         tree alone until `jts-hot setup --remap-owners`";
    DirGroup "dir.group" "CRITICAL"
        "its group is the layout's, resolved through NSS";
    DirMode "dir.mode" "CRITICAL"
        "permission bits exactly the layout's (setgid, sticky included); with may_tighten, \
         any mode that grants no bit beyond them";
    DirAccess "dir.access" "CRITICAL"
        "the owner (with its groups) can reach it from / and write it: modes, POSIX ACLs, \
         read-only mounts; names the blocking ancestor";
    DirFilesystem "dir.filesystem" "CRITICAL"
        "it lies on the filesystem declared for it (the deepest mount fstab or a .mount \
         unit declares at or above it): same st_dev";
    MountPoint "mount.point" "CRITICAL"
        "each mount declared at, above or below the base (a service's own disk) is the \
         filesystem seen at its mount point (device numbers: not hidden by a later mount on \
         a parent or a bind mount); the base is its own mount when it must be";
    MountIdentity "mount.identity" "CRITICAL"
        "a mount declared by UUID=, LABEL=, PARTUUID= or PARTLABEL= (or pinned by \
         tier.filesystem_uuid) has that filesystem mounted, not another disk; names both \
         (WARNING when neither udev nor the superblock can tell)";
    MountShadowed "mount.shadowed" "WARNING"
        "nothing lies on the parent filesystem beneath the tier's mount points (written \
         while the disk was missing, hidden since): bytes, files, first names; seen through a \
         detached read-only clone of the parent mount (needs CAP_SYS_ADMIN: the units read \
         what jts-hot-setup.service found at boot); whole-tier runs only, never a gate; never \
         deleted";
    MountFstype "mount.fstype" "CRITICAL"
        "the base's filesystem type is one of tier.filesystems";
    MountOption "mount.option" "WARNING"
        "each of tier.mount_options is set on the base's mount";
    MountTrim "mount.trim" "WARNING"
        "the device discards, and the mount has discard or fstrim.timer";
    CapacityTier "capacity.tier" "WARNING"
        "the plan fits tier.capacity";
    CapacityFilesystem "capacity.filesystem" "WARNING"
        "the plan fits what services can use on the real filesystem";
    GeneratedDigest "generated.digest" "WARNING"
        "the generated files in use carry the current layout's digest";
    SelinuxLabel "selinux.label" "CRITICAL (data)/WARNING"
        "where SELinux is enabled: the directory's label is the policy's answer for its \
         path (fix: restorecon, never -R)";
    SelinuxPolicy "selinux.policy" "WARNING"
        "the policy gives the layout's selinux_type (module installed) or labels a \
         selinux_equal service as its source (installed)";
    QuotaAccounting "quota.accounting" "WARNING"
        "tier.quota: the filesystem accounts project quotas";
    QuotaEnforcement "quota.enforcement" "WARNING"
        "tier.quota = enforce: ... and enforces them (prjquota)";
    QuotaProject "quota.project" "WARNING"
        "each service directory carries its service's project ID";
    QuotaInherit "quota.inherit" "WARNING"
        "... with the inherit flag";
    QuotaLimit "quota.limit" "WARNING"
        "the project's soft and hard limits are the layout's";
    QuotaTree "quota.tree" "WARNING"
        "the last walk of the service tree (monitor.quota_tree_every, or quota set \
         --repair) found nothing outside its project";
    GateOrdering "gate.ordering" "CRITICAL"
        "each gated unit, as the system loads it (file and drop-ins), can wait for \
         jts-hot-validate.service: not DefaultDependencies=no, not Before= sysinit.target, \
         basic.target or a unit jts-hot's own units start after (that would be an ordering \
         cycle)";
    DeviceFitness "device.fitness" "WARNING"
        "the device under the tier, as the probe's saved baseline measured it (`jts-hot \
         probe --save`), is as fast as each service's database needs: fsync and random-read \
         p99 within the engine's limits (/usr/share/doc/jts-hot/probe.md); no baseline, nothing \
         judged";
    LayoutPending "layout.pending" "WARNING"
        "/etc/jts/hot-layout.toml is the layout in force (else it is an edit, or a broken \
         one, not applied: nothing runs by it yet)";
}

impl Serialize for Check {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
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

    /// `as_str` and serde say the same name, no two checks share one, and
    /// check order is declaration order.
    #[test]
    fn names_are_the_serialized_names_and_distinct() {
        let mut seen = std::collections::BTreeSet::new();
        for c in Check::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
            assert!(seen.insert(c.as_str()), "{c} twice");
        }
        assert!(Check::ALL.windows(2).all(|w| w[0] < w[1]));
    }
}
