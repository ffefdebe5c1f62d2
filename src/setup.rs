//! `jts-hot setup`: creates the tier's directories and repairs their owners
//! and modes, with systemd-tmpfiles on the tier's own tmpfiles file
//! (/usr/lib/jts-hot/tmpfiles.conf, or /etc/jts-hot/tmpfiles.conf written by
//! `apply`), but only once the tier's filesystem is in place.
//!
//! Why not plain tmpfiles.d: systemd-tmpfiles-setup.service runs every
//! tmpfiles.d file early at boot, before a `nofail` data disk is mounted, so
//! the tree would land on the root filesystem and the disk be mounted over
//! it, empty. jts-hot-setup.service runs this after the tier's mount units
//! instead, and at every entry point (boot, package install, `apply`) this
//! refuses to create anything while a mount declared for the base (fstab, a
//! .mount unit) is not mounted: the root disk beneath stays untouched.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::layout::{Layout, RequireMountpoint};
use crate::render;
use crate::system::{fstab, on_disk};

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// An image or a root being prepared (systemd-tmpfiles --root).
    pub root: Option<PathBuf>,
}

/// What setup did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// One sentence per declared mount not in place; nothing was created.
    pub refused: Vec<String>,
    /// The tmpfiles file used (relative to the root), when setup ran.
    pub tmpfiles: Option<PathBuf>,
    /// Directories that did not exist before and do now.
    pub created: Vec<PathBuf>,
}

impl Report {
    /// 0 when the tier is set up, 2 (CRITICAL) when refused.
    pub fn exit_code(&self) -> u8 {
        if self.refused.is_empty() {
            0
        } else {
            2
        }
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        for r in &self.refused {
            out.push_str(&format!("jts-hot setup: refused: {r}\n"));
        }
        if !self.refused.is_empty() {
            out.push_str(
                "jts-hot setup: nothing was created (the root filesystem beneath the mount point stays untouched)\n",
            );
        }
        for d in &self.created {
            out.push_str(&format!("jts-hot setup: created {}\n", d.display()));
        }
        out
    }
}

/// The mounts declared for the tier that are not in place now, as sentences
/// (what is wrong; what to check). Empty when none is declared or when the
/// layout says the tier need not be a mount.
pub fn unmounted(layout: &Layout, root: Option<&Path>) -> Result<Vec<String>> {
    if layout.tier.require_mountpoint == RequireMountpoint::Never {
        return Ok(Vec::new());
    }
    let declared = fstab::declared_for(root, &layout.tier.base);
    if declared.is_empty() {
        return Ok(Vec::new());
    }
    let mounts = crate::system::mounts::read()?;
    Ok(declared
        .iter()
        .filter(|d| !d.is_mounted(root, &mounts))
        .map(|d| format!("{}; {}", d.not_mounted(), d.what_to_check()))
        .collect())
}

/// The tier's tmpfiles file in force under `root`: /etc's (written by
/// `apply`) over /usr/lib's (the package's), relative to the root.
pub fn tmpfiles_file(root: &Path) -> Option<PathBuf> {
    let vendor = PathBuf::from(render::TIER_TMPFILES_PATH);
    let etc = crate::apply::etc_path(&vendor);
    [etc, vendor].into_iter().find(|p| root.join(p).is_file())
}

pub fn run(layout: &Layout, opts: &Options) -> Result<Report> {
    let root_dir = match &opts.root {
        Some(r) => {
            Some(std::fs::canonicalize(r).with_context(|| format!("--root {}", r.display()))?)
        }
        None => None,
    };
    let root = root_dir.as_deref();
    let refused = unmounted(layout, root)?;
    if !refused.is_empty() {
        return Ok(Report {
            refused,
            tmpfiles: None,
            created: Vec::new(),
        });
    }
    let fs_root = root.unwrap_or(Path::new("/"));
    let Some(file) = tmpfiles_file(fs_root) else {
        bail!(
            "neither /{} nor /{} exists under {}: is the package installed?",
            crate::apply::etc_path(Path::new(render::TIER_TMPFILES_PATH)).display(),
            render::TIER_TMPFILES_PATH,
            fs_root.display()
        );
    };
    let missing: Vec<PathBuf> = layout
        .planned_dirs()
        .into_iter()
        .map(|d| d.path)
        .filter(|p| std::fs::symlink_metadata(on_disk(root, p)).is_err())
        .collect();
    let mut tmpfiles = Command::new("systemd-tmpfiles");
    tmpfiles.arg("--create");
    if let Some(r) = root {
        tmpfiles.arg(format!("--root={}", r.display()));
    }
    tmpfiles.arg(fs_root.join(&file));
    let out = tmpfiles.output().context("cannot run systemd-tmpfiles")?;
    if !out.status.success() {
        bail!(
            "systemd-tmpfiles --create {} failed ({}): {}",
            fs_root.join(&file).display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    // Project quotas per service directory (issue 13) belong here: after the
    // directories exist, before validation.
    let created = missing
        .into_iter()
        .filter(|p| on_disk(root, p).is_dir())
        .collect();
    Ok(Report {
        refused: Vec::new(),
        tmpfiles: Some(Path::new("/").join(file)),
        created,
    })
}
