//! Which of the layout's services a probe's figures are of: the device
//! under DIR is theirs only when DIR is in the tier and their directory is
//! on DIR's filesystem (by device number, not by path). A directory outside
//! the tier, or beneath another service, says nothing of a service.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::escape;
use crate::layout::Layout;

/// The tier as the probe needs it: its base and each service's directory.
#[derive(Debug, Clone)]
pub struct Tier {
    pub base: PathBuf,
    /// (service name, its directory), in the layout's order.
    pub services: Vec<(String, PathBuf)>,
}

impl Tier {
    pub fn of(layout: &Layout) -> Tier {
        Tier {
            base: layout.tier.base.clone(),
            services: layout
                .services
                .iter()
                .map(|s| (s.name.as_str().to_string(), s.path(layout)))
                .collect(),
        }
    }
}

/// Where the probed directory lies in the tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DirIs {
    /// The tier's base itself.
    TierBase,
    /// Below the base, in no service's directory.
    InTier,
    /// A service's directory, or below it.
    Service,
    /// Not in the tier: its figures are no service's.
    OutsideTier,
}

/// Why a service's fitness is not judged on this run's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Why {
    /// The probed directory is not in the tier.
    OutsideTier,
    /// The probed directory is in another service's directory.
    OtherService,
    /// The service's directory (or, while it is missing, the nearest
    /// directory above it) is on another filesystem than the probed one.
    OtherFilesystem,
}

impl Why {
    pub fn as_str(self) -> &'static str {
        match self {
            Why::OutsideTier => "outside-tier",
            Why::OtherService => "other-service",
            Why::OtherFilesystem => "other-filesystem",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct NotApplied {
    pub service: String,
    pub why: Why,
}

/// The services this run's figures are of, and why the others are not.
#[derive(Debug, Clone, Serialize)]
pub struct Scope {
    pub dir_is: DirIs,
    /// The tier's base, canonical when it can be resolved.
    #[serde(serialize_with = "escape::serialize_path")]
    pub base: PathBuf,
    pub applies_to: Vec<String>,
    pub not_applied: Vec<NotApplied>,
}

impl Scope {
    pub fn applies(&self, service: &str) -> bool {
        self.applies_to.iter().any(|s| s == service)
    }
}

/// The scope of a probe of `dir` (canonical). Only reads metadata.
pub fn of(dir: &Path, tier: &Tier) -> Scope {
    let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let base = canonical(&tier.base);
    // The service directories as they lie under the resolved base: a
    // service owns what is in its directory, not the base's entry for it.
    let services: Vec<(&str, PathBuf)> = tier
        .services
        .iter()
        .map(|(name, path)| {
            let under = path.strip_prefix(&tier.base).unwrap_or(path);
            (name.as_str(), base.join(under))
        })
        .collect();
    let owner = services
        .iter()
        .find(|(_, path)| dir.starts_with(path))
        .map(|(name, _)| *name);
    let dir_is = if dir == base {
        DirIs::TierBase
    } else if owner.is_some() {
        DirIs::Service
    } else if dir.starts_with(&base) {
        DirIs::InTier
    } else {
        DirIs::OutsideTier
    };
    let dev = std::fs::metadata(dir).ok().map(|m| m.dev());
    let mut scope = Scope {
        dir_is,
        base,
        applies_to: Vec::new(),
        not_applied: Vec::new(),
    };
    for (name, path) in &services {
        let why = match (dir_is, owner) {
            (DirIs::OutsideTier, _) => Some(Why::OutsideTier),
            (_, Some(o)) if o != *name => Some(Why::OtherService),
            _ if dev.is_none() || device_of(path) != dev => Some(Why::OtherFilesystem),
            _ => None,
        };
        match why {
            None => scope.applies_to.push(name.to_string()),
            Some(why) => scope.not_applied.push(NotApplied {
                service: name.to_string(),
                why,
            }),
        }
    }
    scope
}

/// The device of `path`, or while it is missing of the nearest directory
/// above it: where setup would create it.
fn device_of(path: &Path) -> Option<u64> {
    path.ancestors()
        .find_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.dev())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tier(base: &Path) -> Tier {
        Tier {
            base: base.to_path_buf(),
            services: ["postgresql", "kafka", "redis"]
                .iter()
                .map(|s| (s.to_string(), base.join(s)))
                .collect(),
        }
    }

    #[test]
    fn the_base_covers_every_service_a_service_dir_only_its_own_a_foreign_dir_none() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().canonicalize().unwrap();
        let base = root.join("hot");
        std::fs::create_dir_all(base.join("postgresql/data")).unwrap();
        std::fs::create_dir_all(base.join("kafka")).unwrap();
        std::fs::create_dir_all(base.join("lost+found")).unwrap();
        std::fs::create_dir_all(root.join("elsewhere")).unwrap();
        let tier = tier(&base);
        // redis's directory is missing: judged where setup would create it.
        let s = of(&base, &tier);
        assert_eq!(s.dir_is, DirIs::TierBase);
        assert_eq!(s.applies_to, ["postgresql", "kafka", "redis"]);
        assert!(s.not_applied.is_empty());
        let s = of(&base.join("lost+found"), &tier);
        assert_eq!(s.dir_is, DirIs::InTier);
        assert_eq!(s.applies_to.len(), 3);
        let s = of(&base.join("postgresql/data"), &tier);
        assert_eq!(s.dir_is, DirIs::Service);
        assert_eq!(s.applies_to, ["postgresql"]);
        let why: Vec<_> = s.not_applied.iter().map(|n| n.why).collect();
        assert_eq!(why, [Why::OtherService, Why::OtherService]);
        let s = of(&root.join("elsewhere"), &tier);
        assert_eq!(s.dir_is, DirIs::OutsideTier);
        assert!(s.applies_to.is_empty());
        assert!(s.not_applied.iter().all(|n| n.why == Why::OutsideTier));
        // The tier's parent holds the tier, but is not of it.
        let s = of(&root, &tier);
        assert_eq!(s.dir_is, DirIs::OutsideTier);
        // A name that only begins like a service's is not its directory.
        std::fs::create_dir_all(base.join("kafka2")).unwrap();
        assert_eq!(of(&base.join("kafka2"), &tier).dir_is, DirIs::InTier);
    }

    #[test]
    fn a_base_named_through_a_symlink_is_the_same_tier() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("real/postgresql")).unwrap();
        std::os::unix::fs::symlink(root.join("real"), root.join("link")).unwrap();
        let s = of(&root.join("real/postgresql"), &tier(&root.join("link")));
        assert_eq!(s.dir_is, DirIs::Service);
        assert_eq!(s.applies_to, ["postgresql"]);
        assert_eq!(s.base, root.join("real"));
    }

    #[test]
    fn a_service_on_another_filesystem_is_not_the_bases() {
        // /proc is another filesystem than any directory of a test's.
        let t = tempfile::tempdir().unwrap();
        let root = t.path().canonicalize().unwrap();
        let tier = Tier {
            base: root.clone(),
            services: vec![
                ("here".into(), root.join("here")),
                ("proc".into(), PathBuf::from("/proc/self")),
            ],
        };
        let s = of(&root, &tier);
        assert_eq!(s.applies_to, ["here"]);
        assert_eq!(s.not_applied[0].why, Why::OtherFilesystem);
    }
}
