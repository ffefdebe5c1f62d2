//! What applying the layout to a root would change, decided before anything
//! is touched: the files in /etc (created, updated, removed), the ones
//! already right, and the directories an older layout named.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{read_if_exists, Error};
use crate::layout::Layout;
use crate::render;
use crate::render::generated::{
    self, digest_in, dropin_path, etc_path, GeneratedFile, DIGEST_MARKER, DROPIN_NAME,
    SELINUX_MODULE_PATH, TIER_TMPFILES_PATH, TMPFILES_PATH, UNIT_DIR,
};
use crate::system::rootfs::Root;

/// One file in /etc that differs from what the layout asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Create {
        path: PathBuf,
        new: String,
    },
    Update {
        path: PathBuf,
        old: String,
        new: String,
    },
    /// A drop-in of ours for a unit the layout no longer gates.
    Remove {
        path: PathBuf,
        old: String,
    },
}

impl Change {
    /// The path relative to the root.
    pub fn path(&self) -> &Path {
        match self {
            Change::Create { path, .. }
            | Change::Update { path, .. }
            | Change::Remove { path, .. } => path,
        }
    }

    pub(super) fn is_unit(&self) -> bool {
        self.path().starts_with(etc_unit_dir())
    }
}

/// What applying the layout to a root would do, decided before anything is touched.
#[derive(Debug, Clone)]
pub struct ChangeSet {
    pub changes: Vec<Change>,
    /// Files already as the layout wants them.
    pub unchanged: Vec<PathBuf>,
    /// Directories the previously installed layout named and this one does
    /// not, that exist: left alone, and reported.
    pub no_longer_named: Vec<PathBuf>,
}

/// Where systemd keeps the units an administrator puts in place of /usr/lib's.
fn etc_unit_dir() -> PathBuf {
    etc_path(Path::new(UNIT_DIR))
}

/// True for a file jts-hot wrote: it carries the layout digest line.
fn is_ours(contents: &str) -> bool {
    digest_in(contents).is_some()
}

/// The drop-in that takes the place of a packaged gate for a unit the layout
/// no longer gates: same name in /etc, so systemd reads it instead, and empty
/// of directives.
fn ungate_dropin(layout: &Layout, unit: &str) -> String {
    generated::seal(&format!(
        "{}\n\
         # The layout does not gate {unit}: this file has no directives and takes\n\
         # the place of the packaged /{UNIT_DIR}/{unit}.d/{DROPIN_NAME}.\n",
        generated::header(layout)
    ))
}

/// Our drop-ins (name jts-hot.conf, digest line inside) under `dir`/*.d/, by unit name.
fn our_dropins(root: &Root, dir: &Path) -> Result<Vec<(String, String)>, Error> {
    let mut found = Vec::new();
    let entries = root
        .list(dir)
        .map_err(|e| Error::io(format!("cannot list {}", root.display(dir).display()), e))?
        .unwrap_or_default();
    for name in entries {
        let name = name.to_string_lossy().into_owned();
        let Some(unit) = name.strip_suffix(".d") else {
            continue;
        };
        if let Some(text) = read_if_exists(root, &dir.join(&name).join(DROPIN_NAME))? {
            if is_ours(&text) {
                found.push((unit.to_string(), text));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The files the layout wants in /etc: every rendered file but the SELinux
/// module (it goes into the policy store, see `selinux`), and an empty
/// drop-in shadowing each packaged gate of a unit no longer gated.
fn wanted(layout: &Layout, root: &Root) -> Result<Vec<GeneratedFile>, Error> {
    let mut wanted: Vec<GeneratedFile> = render::render(layout)
        .into_iter()
        .filter(|f| f.path != Path::new(SELINUX_MODULE_PATH))
        .map(|f| GeneratedFile {
            path: etc_path(&f.path),
            contents: f.contents,
        })
        .collect();
    let gated: BTreeSet<String> = layout
        .services
        .iter()
        .flat_map(|s| s.gate.iter().map(|u| u.to_string()))
        .collect();
    for (unit, _) in our_dropins(root, Path::new(UNIT_DIR))? {
        if !gated.contains(&unit) {
            wanted.push(GeneratedFile {
                path: dropin_path(&etc_unit_dir(), &unit),
                contents: ungate_dropin(layout, &unit),
            });
        }
    }
    Ok(wanted)
}

/// Decides what applying `layout` under `root` would change. Reads only.
pub fn decide(layout: &Layout, root: &Root) -> Result<ChangeSet, Error> {
    let wanted = wanted(layout, root)?;
    let mut changes = Vec::new();
    let mut unchanged = Vec::new();
    for f in &wanted {
        match read_if_exists(root, &f.path)? {
            None => changes.push(Change::Create {
                path: f.path.clone(),
                new: f.contents.clone(),
            }),
            Some(old) if old == f.contents => unchanged.push(f.path.clone()),
            Some(old) if !is_ours(&old) => {
                return Err(Error::NotOurs {
                    path: root.display(&f.path),
                    marker: DIGEST_MARKER.trim(),
                })
            }
            Some(old) => changes.push(Change::Update {
                path: f.path.clone(),
                old,
                new: f.contents.clone(),
            }),
        }
    }

    // Our drop-ins in /etc for units the layout no longer mentions at all.
    let wanted_paths: BTreeSet<&Path> = wanted.iter().map(|f| f.path.as_path()).collect();
    for (unit, old) in our_dropins(root, &etc_unit_dir())? {
        let path = dropin_path(&etc_unit_dir(), &unit);
        if !wanted_paths.contains(path.as_path()) {
            changes.push(Change::Remove { path, old });
        }
    }

    Ok(ChangeSet {
        changes,
        unchanged,
        no_longer_named: no_longer_named(layout, root)?,
    })
}

/// Directories the installed tier file names and the new layout does not
/// (before the tier had its own file, tmpfiles.d's named them), that exist.
fn no_longer_named(layout: &Layout, root: &Root) -> Result<Vec<PathBuf>, Error> {
    let tier_file = Path::new(TIER_TMPFILES_PATH);
    let public_file = Path::new(TMPFILES_PATH);
    let mut previous = None;
    for candidate in [
        etc_path(tier_file),
        tier_file.to_path_buf(),
        etc_path(public_file),
        public_file.to_path_buf(),
    ] {
        if let Some(text) = read_if_exists(root, &candidate)? {
            previous = Some(text);
            break;
        }
    }
    let now_named: BTreeSet<PathBuf> = render::tmpfiles_dirs(layout).into_iter().collect();
    Ok(previous
        .map(|text| generated::tmpfiles_dirs(&text))
        .unwrap_or_default()
        .into_iter()
        .filter(|d| !now_named.contains(d))
        .filter(|d| matches!(root.lstat(d), Ok(Some(_))))
        .collect())
}
