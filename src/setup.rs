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
//! .mount unit) is not in place, and anything at or beneath a mount declared
//! below the base (a service's own disk) while that one is not: the disk
//! beneath stays untouched.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

use crate::escape;
use crate::layout::{Layout, RequireMountpoint};
use crate::render::generated;
use crate::status::{Lines, Status};
use crate::system::accounts::{Accounts, ACCOUNT_FILES};
use crate::system::placement::{MountFacts, Placement, PIN};
use crate::system::rootfs::Root;
use crate::system::{on_disk, on_disk_followed};

#[derive(Debug, Clone)]
pub struct Options {
    /// This system, or an image or a root being prepared (systemd-tmpfiles --root).
    pub root: Root,
    /// `--remap-owners`: give each renumbered service's tree its owner's IDs
    /// (validate's dir.owner.remap) before anything else.
    pub remap_owners: bool,
    /// Where what lies beneath the tier's mount points is recorded for the
    /// sandboxed validate and monitor (validate's mount.shadowed).
    pub state_dir: Option<PathBuf>,
}

/// What setup did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// One sentence per declared mount not in place; nothing was created
    /// beneath it.
    pub refused: Vec<String>,
    /// Their mount points (as the layout names paths): left alone.
    pub spared: Vec<PathBuf>,
    /// The tmpfiles file used (relative to the root), when setup ran.
    pub tmpfiles: Option<PathBuf>,
    /// Directories that did not exist before and do now.
    pub created: Vec<PathBuf>,
    /// Directories whose owner, group or mode systemd-tmpfiles set.
    pub repaired: Vec<Repair>,
    /// Services whose trees `--remap-owners` gave their owner's IDs.
    pub remapped: Vec<Remapped>,
    /// What validation still finds once setup is done: left to the operator
    /// (a symlink in a directory's place, a missing mount option...), since
    /// setup never removes, follows or rewrites anything under the tier.
    pub left: Vec<crate::validate::Finding>,
}

/// One directory setup repaired: what it found, what it set.
#[derive(Debug, Clone, Serialize)]
pub struct Repair {
    #[serde(serialize_with = "escape::serialize_path")]
    pub path: PathBuf,
    pub found: DirState,
    pub set: DirState,
}

/// One service tree `--remap-owners` changed.
#[derive(Debug, Clone, Serialize)]
pub struct Remapped {
    pub remap: crate::remap::Remap,
    pub applied: crate::remap::Applied,
}

/// Owner, group (names where they resolve, else numbers) and mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirState {
    pub owner: String,
    pub group: String,
    pub mode: String,
}

impl std::fmt::Display for DirState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{} {}", self.owner, self.group, self.mode)
    }
}

/// Why setup could not do its job (exit 3, as opposed to 2: refused).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0}")]
    MountTable(String),
    #[error(
        "neither /{etc} nor /{vendor} exists under {}: is the package installed?",
        .root.display()
    )]
    NoTmpfilesFile {
        etc: String,
        vendor: String,
        root: PathBuf,
    },
    #[error("cannot set the mode of {}: {error}", .path.display())]
    Mode {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "systemd-tmpfiles refused: {} leads outside the root (to {}): nothing was run",
        .path.display(), .to.display()
    )]
    Leaves { path: PathBuf, to: PathBuf },
    #[error("cannot run systemd-tmpfiles: {0}")]
    Spawn(std::io::Error),
    #[error("systemd-tmpfiles --create {} failed ({status}): {stderr}", .file.display())]
    Tmpfiles {
        file: PathBuf,
        status: std::process::ExitStatus,
        stderr: String,
    },
}

impl Report {
    /// CRITICAL when refused; else the worst finding left to the operator
    /// (an UNKNOWN one, a check that could not be made, counts as CRITICAL).
    pub fn status(&self) -> Status {
        if !self.refused.is_empty() || self.remapped.iter().any(|r| !r.applied.errors.is_empty()) {
            return Status::Critical;
        }
        let worst = self.left.iter().map(|f| f.severity).max();
        worst.map_or(Status::Ok, |s| s.min(Status::Critical))
    }
}

/// What setup did, a line each (nothing when there was nothing to do).
/// `journal`: each line with its syslog priority (a refusal is critical).
pub fn text(report: &Report, journal: bool) -> String {
    let mut out = Lines::new(journal);
    for r in &report.refused {
        out.push(Status::Critical, format!("jts-hot setup: refused: {r}"));
    }
    if report.tmpfiles.is_none() && !report.refused.is_empty() {
        out.push(
            Status::Critical,
            "jts-hot setup: nothing was created (the root filesystem beneath the mount point stays untouched)",
        );
    }
    if report.tmpfiles.is_some() {
        for p in &report.spared {
            out.push(
                Status::Critical,
                format!(
                    "jts-hot setup: nothing was created at or beneath {} (the filesystem beneath \
                     its mount point stays untouched)",
                    escape::untrusted_path(p)
                ),
            );
        }
    }
    for r in &report.remapped {
        let a = &r.applied;
        out.push(
            Status::Warning,
            format!(
                "jts-hot setup: remapped {} ({}): {}: {} of {} inodes changed",
                r.remap.service,
                escape::untrusted_path(&r.remap.path),
                r.remap.what(),
                a.changed,
                a.examined
            ),
        );
        for e in &a.errors {
            out.push(
                Status::Critical,
                format!("jts-hot setup: remap of {}: {e}", r.remap.service),
            );
        }
        if a.unlisted > 0 {
            out.push(
                Status::Critical,
                format!(
                    "jts-hot setup: remap of {}: {} more errors",
                    r.remap.service, a.unlisted
                ),
            );
        }
    }
    for d in &report.created {
        out.push(
            Status::Ok,
            format!("jts-hot setup: created {}", escape::untrusted_path(d)),
        );
    }
    for r in &report.repaired {
        out.push(
            Status::Warning,
            format!(
                "jts-hot setup: repaired {}: found {}, set {}",
                escape::untrusted_path(&r.path),
                r.found,
                r.set
            ),
        );
    }
    for f in &report.left {
        out.push(
            f.severity,
            format!(
                "jts-hot setup: left to the operator: {}",
                crate::validate::output::finding_line(f)
            ),
        );
    }
    if report.refused.is_empty() && report.tmpfiles.is_some() {
        let (c, r, l) = (
            report.created.len(),
            report.repaired.len(),
            report.left.len(),
        );
        out.push(
            report.status(),
            format!(
                "jts-hot setup: {}: {c} created, {r} repaired, {l} left to the operator",
                report.status()
            ),
        );
    }
    out.into_string()
}

/// The mounts declared for the tier (at the base, a parent of it, or below
/// it) that are not in place now: what setup and apply must not create
/// beneath. Empty when none is declared or when the layout says the tier
/// need not be a mount.
#[derive(Debug, Clone, Default)]
pub struct Blocked {
    /// One sentence per mount not in place (what is wrong; what to check).
    pub reasons: Vec<String>,
    /// Their mount points, as the layout names paths.
    pub prefixes: Vec<PathBuf>,
    /// True when one of them holds the base: nothing at all may be created.
    pub everything: bool,
    /// Services whose trees carry other IDs than their owners'
    /// (dir.owner.remap): left alone until `setup --remap-owners`, since
    /// giving only their directories the new owner would lock the service
    /// out of its own data and hide the case.
    pub remaps: Vec<crate::remap::Remap>,
}

impl Blocked {
    /// True when `path` (as the layout names it) lies at or beneath one.
    pub fn blocks(&self, path: &Path) -> bool {
        self.prefixes.iter().any(|p| path.starts_with(p))
            || self.remaps.iter().any(|r| path.starts_with(&r.path))
    }

    /// systemd-tmpfiles arguments that leave every such path alone (its
    /// prefixes are the configuration's paths, without --root's).
    pub fn exclude_args(&self) -> Vec<String> {
        self.prefixes
            .iter()
            .chain(self.remaps.iter().map(|r| &r.path))
            .map(|p| format!("--exclude-prefix={}", p.display()))
            .collect()
    }
}

/// What setup and apply must not create beneath now (see [`Blocked`]).
pub fn blocked(layout: &Layout, root: &Root) -> Result<Blocked, SetupError> {
    blocked_in(layout, root, &MountFacts::new(root, &layout.tier.base))
}

/// `blocked`, from the mount facts of this run (read at most once).
fn blocked_in(layout: &Layout, root: &Root, facts: &MountFacts) -> Result<Blocked, SetupError> {
    let mut blocked = blocked_by_mounts(layout, root, facts)?;
    if !blocked.everything {
        let accounts = match root.image_dir() {
            Some(_) => Accounts::from_root(root),
            None => Accounts::Nss,
        };
        let planned: Vec<_> = layout
            .planned_dirs()
            .into_iter()
            .filter(|d| !blocked.blocks(&d.path))
            .collect();
        blocked.remaps = crate::remap::detect(&planned, root, &accounts);
    }
    Ok(blocked)
}

fn blocked_by_mounts(
    layout: &Layout,
    root: &Root,
    facts: &MountFacts,
) -> Result<Blocked, SetupError> {
    let base = &layout.tier.base;
    let pin = layout.tier.filesystem_uuid.as_deref();
    let never = layout.tier.require_mountpoint == RequireMountpoint::Never;
    let declared = match pin.is_none() && never {
        true => Vec::new(),
        false => facts.declared().to_vec(),
    };
    if pin.is_none() && declared.is_empty() {
        return Ok(Blocked::default());
    }
    let mounts = facts
        .table()
        .map_err(|e| SetupError::MountTable(e.to_string()))?;
    let mut placement = Placement::judge(declared, root, base, pin, mounts);
    if never {
        placement.declared.retain(|d| d.mount.declared_in == PIN);
    }
    let mut blocked = Blocked::default();
    for d in placement.not_in_place() {
        let (what, to_do) = d.problem(base).expect("not in place");
        blocked.reasons.push(format!("{what}; {to_do}"));
        blocked.prefixes.push(d.mount.mount_point.clone());
        blocked.everything |= base.starts_with(&d.mount.mount_point);
    }
    Ok(blocked)
}

/// The tier's tmpfiles file in force under `root`: /etc's (written by
/// `apply`) over /usr/lib's (the package's), relative to the root.
fn tmpfiles_file(root: &Root) -> Option<PathBuf> {
    let vendor = PathBuf::from(generated::TIER_TMPFILES_PATH);
    let etc = generated::etc_path(&vendor);
    [etc, vendor]
        .into_iter()
        .find(|p| std::fs::symlink_metadata(on_disk_followed(root, p)).is_ok_and(|m| m.is_file()))
}

/// On an image: the first link on the path of a directory that the
/// tmpfiles.d `files` (as the layout names them) have systemd-tmpfiles make
/// whose target is missing inside the root and which leads elsewhere as the
/// host sees it, with where it leads. systemd-tmpfiles --root resolves an
/// existing path inside the root, but makes a missing one through the host's
/// view of the image's links (252 made a whole tier in the host directory an
/// image's data/jts linked to), so such an image is refused.
pub fn tmpfiles_leaving(root: &Root, files: &[&Path]) -> Option<(PathBuf, PathBuf)> {
    let texts: Vec<String> = files
        .iter()
        .filter_map(|f| std::fs::read_to_string(on_disk_followed(root, f)).ok())
        .collect();
    tmpfiles_texts_leaving(root, &texts)
}

/// `tmpfiles_leaving` for tmpfiles.d texts not written yet (apply decides
/// its refusals before it writes a byte).
pub fn tmpfiles_texts_leaving(root: &Root, texts: &[String]) -> Option<(PathBuf, PathBuf)> {
    root.image_dir()?;
    let dirs = texts.iter().flat_map(|text| generated::tmpfiles_dirs(text));
    let mut links: Vec<PathBuf> = Vec::new();
    for dir in dirs {
        let mut ancestors: Vec<&Path> = dir.ancestors().collect();
        ancestors.reverse();
        for a in ancestors.into_iter().skip(1) {
            let Ok(Some(st)) = root.lstat(a) else {
                break; // missing: nothing below it exists either
            };
            if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
                let target = on_disk_followed(root, a);
                if !std::fs::metadata(target).is_ok_and(|m| m.is_dir()) {
                    links.push(a.to_path_buf());
                    break;
                }
            }
        }
    }
    root.first_leaving(&links)
}

/// Creates what is missing (with systemd-tmpfiles), or refuses while the
/// tier's disk is not mounted.
pub fn run(layout: &Layout, opts: &Options) -> Result<Report, SetupError> {
    let root = &opts.root;
    // Read once, for what not to create beneath and for the validation after.
    let facts = MountFacts::new(root, &layout.tier.base);
    let mut blocked = blocked_in(layout, root, &facts)?;
    if blocked.everything {
        return Ok(Report {
            refused: blocked.reasons,
            spared: blocked.prefixes,
            tmpfiles: None,
            created: Vec::new(),
            repaired: Vec::new(),
            remapped: Vec::new(),
            left: Vec::new(),
        });
    }
    let mut remapped = Vec::new();
    if opts.remap_owners {
        for remap in std::mem::take(&mut blocked.remaps) {
            let applied = crate::remap::apply(root, &remap);
            remapped.push(Remapped { remap, applied });
        }
        // A tree left half done is said, and left alone again.
        blocked = blocked_in(layout, root, &facts)?;
    }
    if root.image_dir().is_some() {
        // systemd-tmpfiles --root looks owners up in ROOT/etc/passwd as the host sees it.
        if let Some((path, to)) = root.first_leaving(&ACCOUNT_FILES[..2]) {
            return Err(SetupError::Leaves { path, to });
        }
    }
    let Some(file) = tmpfiles_file(root) else {
        return Err(SetupError::NoTmpfilesFile {
            etc: generated::etc_path(Path::new(generated::TIER_TMPFILES_PATH))
                .display()
                .to_string(),
            vendor: generated::TIER_TMPFILES_PATH.to_string(),
            root: root.path().to_path_buf(),
        });
    };
    if let Some((path, to)) = tmpfiles_leaving(root, &[&file]) {
        return Err(SetupError::Leaves { path, to });
    }
    let accounts = match root.image_dir() {
        Some(_) => Accounts::from_root(root),
        None => Accounts::Nss,
    };
    let planned: Vec<PathBuf> = layout
        .planned_dirs()
        .into_iter()
        .map(|d| d.path)
        .filter(|p| !blocked.blocks(p))
        .collect();
    let before: Vec<Option<DirState>> = planned
        .iter()
        .map(|p| dir_state(&accounts, &on_disk(root, p)))
        .collect();
    let missing: Vec<PathBuf> = planned
        .iter()
        .filter(|p| std::fs::symlink_metadata(on_disk(root, p)).is_err())
        .cloned()
        .collect();
    // Resolved inside the root: the tool is handed a host path.
    tmpfiles_create(
        root,
        &on_disk_followed(root, &Path::new("/").join(&file)),
        &blocked.exclude_args(),
    )?;
    tighten_modes(layout, root, &missing, &blocked)?;
    if root.image_dir().is_none() && !blocked.blocks(&layout.tier.base) {
        // The sandboxed monitor may write its fsync canary but not create it;
        // when this fails, the monitor's run says why (a note).
        let _ = crate::monitor::canary::prepare(&layout.tier.fsync_canary());
    }
    let mut created = Vec::new();
    let mut repaired = Vec::new();
    for (path, found) in planned.into_iter().zip(before) {
        match (found, dir_state(&accounts, &on_disk(root, &path))) {
            (None, Some(_)) => created.push(path),
            (Some(found), Some(set)) if found != set => repaired.push(Repair { path, found, set }),
            _ => {}
        }
    }
    // What is still wrong is the operator's to decide: said, never hidden.
    let known = crate::validate::Known {
        mounts: Some(&facts),
        ..Default::default()
    };
    let validated = crate::validate::validate(layout, root, known);
    record_beneath(validated.shadowed.as_ref(), opts.state_dir.as_deref());
    let left = validated.tally.findings;
    Ok(Report {
        refused: blocked.reasons,
        spared: blocked.prefixes,
        tmpfiles: Some(Path::new("/").join(file)),
        created,
        repaired,
        remapped,
        left,
    })
}

/// What this run saw beneath the tier's mount points, for the units that
/// may not look (validate's mount.shadowed). A failure to save is not
/// setup's: the record is only a report, and validate says it is missing.
fn record_beneath(seen: Option<&crate::validate::shadowed::Seen>, state_dir: Option<&Path>) {
    use crate::validate::shadowed::{Record, Source};
    let (Some(seen), Some(dir)) = (seen, state_dir) else {
        return;
    };
    if seen.source != Source::Live {
        return;
    }
    let record = Record {
        measured_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        found: seen.found.clone(),
    };
    let _ = crate::state::save(&crate::state::StateDir::new(dir), &record);
}

/// A directory's owner, group and mode (lstat: a link is not a directory).
fn dir_state(accounts: &Accounts, path: &Path) -> Option<DirState> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_dir() {
        return None;
    }
    Some(DirState {
        owner: accounts
            .user_name(meta.uid())
            .unwrap_or_else(|| meta.uid().to_string()),
        group: accounts
            .group_name(meta.gid())
            .unwrap_or_else(|| meta.gid().to_string()),
        mode: format!("{:04o}", meta.mode() & 0o7777),
    })
}

/// The directories the service may tighten (`may_tighten`), whose tmpfiles
/// line leaves the mode alone: one just created (in `created`) gets the
/// layout's mode, an existing one only loses the bits beyond it and never
/// gains one (PostgreSQL's 0700 data directory stays 0700). `apply` runs it
/// after its own systemd-tmpfiles too. Nothing `blocked` is touched.
pub fn tighten_modes(
    layout: &Layout,
    root: &Root,
    created: &[PathBuf],
    blocked: &Blocked,
) -> Result<(), SetupError> {
    let planned = layout.planned_dirs();
    for d in planned
        .iter()
        .filter(|d| d.may_tighten && !blocked.blocks(&d.path))
    {
        let mode = d.ownership.mode.0;
        let new = created.contains(&d.path);
        root.chmod_dir(&d.path, |now| if new { mode } else { now & mode })
            .map_err(|error| SetupError::Mode {
                path: d.path.clone(),
                error,
            })?;
    }
    Ok(())
}

/// systemd-tmpfiles --create on `file` (under `root`, when given).
fn tmpfiles_create(root: &Root, file: &Path, exclude: &[String]) -> Result<(), SetupError> {
    let mut tmpfiles = Command::new("systemd-tmpfiles");
    tmpfiles.arg("--create").args(exclude);
    if let Some(r) = root.image_dir() {
        tmpfiles.arg(format!("--root={}", r.display()));
    }
    tmpfiles.arg(file);
    let out = tmpfiles.output().map_err(SetupError::Spawn)?;
    if !out.status.success() {
        return Err(SetupError::Tmpfiles {
            file: file.to_path_buf(),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}
