//! The layout in force: what the running system obeys. An edit saved in
//! /etc/jts/hot-layout.toml changes nothing until `jts-hot apply` accepts
//! it: apply keeps a copy of the layout it applied
//! (/var/lib/jts-hot/applied-layout.toml), and every command that acts on
//! the running system (the gates, validate, the monitor, setup, quota,
//! status) reads that copy, or the built-in default (what the package's
//! units are rendered from) until apply first runs. A saved edit that
//! differs, or does not parse, is a pending edit: reported, never obeyed,
//! so a typo can never stop a database.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::Serialize;

use crate::escape;
use crate::layout::{Layout, LayoutErrors, Source, SYSTEM_LAYOUT_PATH};
use crate::system::rootfs::Root;

/// The applied copy, relative to the root.
pub const APPLIED_PATH: &str = "var/lib/jts-hot/applied-layout.toml";
/// The copy's first line names the file it was applied from.
const FROM_MARKER: &str = "# jts-hot applied layout, from: ";
/// Far above any real layout (4,000 services take ~400 KB), as `Layout::load`.
const MAX_LAYOUT_BYTES: u64 = 16 << 20;

/// Where the layout in force comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Origin {
    /// The copy `jts-hot apply` kept of the layout it last applied.
    Applied {
        #[serde(serialize_with = "escape::serialize_path")]
        copy: PathBuf,
        /// The file it was applied from (or "built-in default layout").
        from: String,
        /// When apply wrote it, seconds since the Unix epoch.
        applied_unix: Option<u64>,
    },
    /// apply never ran: the built-in default, which the package's units in
    /// /usr/lib are rendered from.
    Packaged,
    /// `--config FILE` (or $JTS_HOT_CONFIG) on the command line.
    Explicit {
        #[serde(serialize_with = "escape::serialize_path")]
        file: PathBuf,
    },
    /// `--default-layout` on the command line.
    BuiltinAsked,
}

impl Origin {
    /// Its kind as a word: the `source` label of jts_hot_layout_info.
    pub fn kind(&self) -> &'static str {
        match self {
            Origin::Applied { .. } => "applied",
            Origin::Packaged => "packaged",
            Origin::Explicit { .. } => "explicit",
            Origin::BuiltinAsked => "builtin-asked",
        }
    }

    /// When apply wrote the layout in force (only an applied one has a time).
    pub fn applied_unix(&self) -> Option<u64> {
        match self {
            Origin::Applied { applied_unix, .. } => *applied_unix,
            _ => None,
        }
    }
}

/// A saved layout that is not the one in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pending {
    /// The saved file (under the root, as shown).
    #[serde(serialize_with = "escape::serialize_path")]
    pub saved: PathBuf,
    pub edit: Edit,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Edit {
    /// It parses, and means something else (its digest).
    Changed { digest: String },
    /// It does not parse: the first error, `FILE:LINE:COLUMN: message`.
    Broken { error: String },
    /// It is gone: apply would install the built-in default.
    Removed,
}

impl Pending {
    /// What is pending, without the file's name.
    pub fn what(&self) -> String {
        match &self.edit {
            Edit::Changed { digest } => format!("edited and not applied ({digest})"),
            Edit::Broken { error } => format!("edited, not applied, and does not parse: {error}"),
            Edit::Removed => {
                "removed and not applied: apply would install the built-in default".to_string()
            }
        }
    }

    /// One line: the saved file and what is pending.
    pub fn describe(&self) -> String {
        format!("{} is {}", escape::untrusted_path(&self.saved), self.what())
    }
}

/// The layout in force, where it came from, and any pending edit.
#[derive(Debug, Clone)]
pub struct InForce {
    pub layout: Layout,
    pub origin: Origin,
    pub pending: Option<Pending>,
}

impl InForce {
    /// A layout named on the command line: in force by the operator's word, nothing pending.
    pub fn explicit(layout: Layout, origin: Origin) -> InForce {
        InForce {
            layout,
            origin,
            pending: None,
        }
    }
}

/// The applied copy's text: a first line naming its source, then the layout as written.
fn copy_text(layout_text: &str, source: &Source) -> String {
    format!(
        "{FROM_MARKER}{}\n\
         # What the running system obeys. Do not edit: edit {SYSTEM_LAYOUT_PATH}, then run `jts-hot apply`.\n\
         {layout_text}",
        escape::comment(&source.to_string())
    )
}

/// Writes the applied copy under `root` atomically, unless it already holds
/// this text (its time stays the time this layout was applied). True when written.
pub fn record(root: &Root, layout_text: &str, source: &Source) -> std::io::Result<bool> {
    let rel = Path::new(APPLIED_PATH);
    let text = copy_text(layout_text, source);
    if root
        .read_text(rel, MAX_LAYOUT_BYTES)
        .ok()
        .flatten()
        .as_deref()
        == Some(text.as_str())
    {
        return Ok(false);
    }
    root.create_dir_all(rel.parent().expect("in a directory"), &mut Vec::new())?;
    root.write_atomic(rel, text.as_bytes(), 0o644)?;
    Ok(true)
}

/// The applied copy under `root`, if apply ever ran: the layout (named as
/// apply named it, so that rendered again it gives the same files) and the
/// text apply read. What an upgrade renders again (`jts-hot apply --reapply`).
pub fn load_copy(root: &Root) -> Result<Option<(Layout, String)>, LayoutErrors> {
    let copy = crate::system::on_disk_followed(root, &Path::new("/").join(APPLIED_PATH));
    if std::fs::symlink_metadata(&copy).is_err() {
        return Ok(None);
    }
    let text = Layout::read(&copy)?;
    let mut layout = Layout::parse(&text, &copy.display().to_string())?;
    let from = from_line(&text);
    layout.source = match from.as_str() {
        crate::layout::BUILTIN_SOURCE => Source::Builtin,
        file => Source::File(PathBuf::from(file)),
    };
    // The two lines `copy_text` adds, off again.
    let original = text.splitn(3, '\n').nth(2).unwrap_or_default().to_string();
    Ok(Some((layout, original)))
}

fn from_line(text: &str) -> String {
    text.lines()
        .next()
        .and_then(|l| l.strip_prefix(FROM_MARKER))
        .unwrap_or("unknown")
        .to_string()
}

/// The layout in force under `root` (None: this system), and any pending edit
/// of the saved file. `check_pending`: compare the saved file (a gate skips it).
pub fn load(root: &Root, check_pending: bool) -> Result<InForce, LayoutErrors> {
    let copy = crate::system::on_disk_followed(root, &Path::new("/").join(APPLIED_PATH));
    let (layout, origin) = match (std::fs::symlink_metadata(&copy), load_copy(root)?) {
        (Ok(meta), Some((layout, _))) => {
            let from = layout.source.to_string();
            let applied_unix = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_secs());
            (
                layout,
                Origin::Applied {
                    copy,
                    from,
                    applied_unix,
                },
            )
        }
        _ => (Layout::builtin(), Origin::Packaged),
    };
    let pending = match check_pending {
        true => pending(root, &layout),
        false => None,
    };
    Ok(InForce {
        layout,
        origin,
        pending,
    })
}

/// The saved layout under `root`, if it is not `in_force`.
fn pending(root: &Root, in_force: &Layout) -> Option<Pending> {
    let saved = crate::system::on_disk_followed(root, Path::new(SYSTEM_LAYOUT_PATH));
    let edit = match std::fs::symlink_metadata(&saved) {
        Err(_) if in_force.digest() == Layout::builtin().digest() => return None,
        Err(_) => Edit::Removed,
        Ok(_) => match Layout::load(&saved) {
            Ok(l) if l.digest() == in_force.digest() => return None,
            Ok(l) => Edit::Changed { digest: l.digest() },
            Err(e) => Edit::Broken {
                error: e.to_string().lines().next().unwrap_or_default().to_string(),
            },
        },
    };
    Some(Pending { saved, edit })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::DEFAULT_LAYOUT_TOML;

    fn root_with(saved: Option<&str>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        if let Some(text) = saved {
            std::fs::create_dir_all(dir.path().join("etc/jts")).unwrap();
            std::fs::write(dir.path().join("etc/jts/hot-layout.toml"), text).unwrap();
        }
        dir
    }

    #[test]
    fn until_apply_runs_the_packaged_default_is_in_force() {
        let dir = root_with(Some(DEFAULT_LAYOUT_TOML));
        let f = load(&Root::open(dir.path()).unwrap(), true).unwrap();
        assert_eq!(f.origin, Origin::Packaged);
        assert_eq!(f.layout.digest(), Layout::builtin().digest());
        assert_eq!(f.pending, None);
    }

    #[test]
    fn a_saved_typo_is_pending_and_never_in_force() {
        let dir = root_with(Some("[tier]\nbase = \"relative\"\n"));
        let f = load(&Root::open(dir.path()).unwrap(), true).unwrap();
        assert_eq!(f.layout.digest(), Layout::builtin().digest());
        let p = f.pending.unwrap();
        assert!(matches!(p.edit, Edit::Broken { .. }), "{p:?}");
        assert!(p.describe().contains("does not parse"), "{}", p.describe());
        assert_eq!(
            load(&Root::open(dir.path()).unwrap(), false)
                .unwrap()
                .pending,
            None
        );
    }

    #[test]
    fn the_applied_copy_is_in_force_and_names_its_source() {
        let edited = DEFAULT_LAYOUT_TOML.replace("\"50GB\"", "\"40GB\"");
        assert_ne!(edited, DEFAULT_LAYOUT_TOML);
        let dir = root_with(Some(&edited));
        let root = Root::open(dir.path()).unwrap();
        let source = Source::File(PathBuf::from(SYSTEM_LAYOUT_PATH));
        assert!(record(&root, &edited, &source).unwrap());
        assert!(!record(&root, &edited, &source).unwrap(), "rewritten");
        let f = load(&Root::open(dir.path()).unwrap(), true).unwrap();
        assert_eq!(f.pending, None);
        assert_eq!(f.layout.source, source);
        assert!(matches!(&f.origin, Origin::Applied { from, .. } if from == SYSTEM_LAYOUT_PATH));
        let (copied, text) = load_copy(&Root::open(dir.path()).unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(
            (copied.digest(), text.as_str()),
            (f.layout.digest(), edited.as_str())
        );
        let applied = f.layout.digest();
        // Reverted: the saved file is the default again, pending until applied.
        std::fs::write(
            dir.path().join("etc/jts/hot-layout.toml"),
            DEFAULT_LAYOUT_TOML,
        )
        .unwrap();
        let f = load(&Root::open(dir.path()).unwrap(), true).unwrap();
        assert_eq!(f.layout.digest(), applied);
        assert!(matches!(f.pending.unwrap().edit, Edit::Changed { .. }));
        std::fs::remove_file(dir.path().join("etc/jts/hot-layout.toml")).unwrap();
        let f = load(&Root::open(dir.path()).unwrap(), true).unwrap();
        assert_eq!(f.pending.unwrap().edit, Edit::Removed);
    }
}
