//! `jts-hot apply`: installs the files rendered from the current layout into
//! /etc, where a file of the same name overrides the packaged one in /usr/lib
//! (systemd's own mechanism), then has systemd act on them: systemd-sysusers,
//! systemd-tmpfiles --create (our files only: the tier's only once its
//! declared mounts are in place, as `jts-hot setup` does) and a daemon-reload.
//!
//! The work is split in two: `changes::decide` only reads and decides what
//! would change (a [`ChangeSet`]); `run` shows it (a unified diff with
//! --dry-run) or carries it out, phase by phase, into a [`Report`] that
//! main prints (`output::text`). Nothing here removes or rewrites anything
//! under the tier: the only effect on the tier is systemd-tmpfiles creating
//! missing directories and repairing the owner and mode of the ones the
//! layout names.

mod changes;
mod effects;
pub mod output;
mod refuse;
pub mod selinux;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

pub use changes::{decide, Change, ChangeSet};

use crate::escape::serialize_path;
use crate::layout::{Layout, QuotaMode};
use crate::render::generated::{etc_path, SYSUSERS_PATH, TIER_TMPFILES_PATH, TMPFILES_PATH};

use crate::setup;
use crate::system::accounts;
use crate::system::rootfs::{Root, Staged};

/// Far above any file jts-hot writes (4,000 services make ~1 MB of tmpfiles.d);
/// a bigger one in its place is not ours and is not read whole.
const MAX_FILE_BYTES: u64 = 64 << 20;

/// Exists only while systemd is the running init (sd_booted(3)).
const SYSTEMD_RUNNING: &str = "/run/systemd/system";

#[derive(Debug, Clone)]
pub struct Options {
    /// This system, or an image or mounted root to apply to instead.
    pub root: Root,
    /// Say what would change, change nothing.
    pub dry_run: bool,
    /// Also show the unified diff of every file that changes.
    pub diff: bool,
    /// The SELinux module's priority (semodule -X), where SELinux is enabled.
    pub selinux_priority: u16,
    /// The layout's text as read: kept as the applied copy, the layout in
    /// force from then on (`applied`); `None` keeps none.
    pub layout_text: Option<String>,
}

/// What stopped apply: the state of the system, never the layout (a bad
/// layout is refused before `run`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file in /etc where ours goes, that jts-hot did not write: nothing was written.
    #[error(
        "{} exists and was not written by jts-hot (it has no \"{marker}\" line): \
         move it away, then run jts-hot apply again",
        path.display()
    )]
    NotOurs { path: PathBuf, marker: &'static str },
    /// A read, write or lookup the system refused (EACCES, ENOSPC, ELOOP...).
    #[error("{context}: {error}")]
    Io {
        context: String,
        error: std::io::Error,
    },
    /// A systemd tool that could not run or that failed.
    #[error("{0}")]
    Tool(String),
    /// The tier's mount check failed (the mount table unreadable).
    #[error("{0}")]
    Mounts(setup::SetupError),
    /// The SELinux step failed.
    #[error("{0:#}")]
    Other(anyhow::Error),
    /// Gates the target system's unit ordering refuses (one line each):
    /// nothing was written. A layout that does not fit the system: exit 2.
    #[error("{}", .0.join("\n"))]
    Gates(Vec<String>),
}

impl Error {
    fn io(context: String, error: std::io::Error) -> Error {
        Error::Io { context, error }
    }
}

/// What apply did (or, with --dry-run, would do), in the order it happened.
#[derive(Debug, Serialize)]
pub struct Report {
    pub source: String,
    pub digest: String,
    pub dry_run: bool,
    pub steps: Vec<Step>,
    /// Files already as the layout wants them.
    pub unchanged: usize,
    /// False when the layout's SELinux equivalences are not all in place.
    pub selinux_in_place: bool,
}

/// The report of a run that stopped on an error: what was done until then.
#[derive(Debug)]
pub struct Failed {
    pub report: Report,
    pub error: Error,
}

/// One thing apply did, found or left alone. Paths are as shown: under the root.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Step {
    /// --dry-run: a change to the tier or the units, in an operator's words.
    Would {
        effect: effects::Effect,
    },
    /// --diff: the unified diff of a file that changes.
    Diff {
        #[serde(serialize_with = "serialize_path")]
        path: PathBuf,
        diff: String,
    },
    WouldLeaveAlone {
        #[serde(serialize_with = "serialize_path")]
        path: PathBuf,
    },
    WouldCreateNothing {
        reason: String,
    },
    File {
        #[serde(serialize_with = "serialize_path")]
        path: PathBuf,
        action: FileAction,
    },
    /// What the SELinux step said or, with --dry-run, would do (semodule,
    /// semanage, restorecon).
    Selinux {
        line: String,
    },
    AddedUser {
        name: String,
    },
    AddedGroup {
        name: String,
    },
    CreatedDirectory {
        #[serde(serialize_with = "serialize_path")]
        path: PathBuf,
    },
    RepairedDirectory {
        #[serde(serialize_with = "serialize_path")]
        path: PathBuf,
        before: DirState,
        after: DirState,
    },
    /// The tier's mount is not in place: nothing was created beneath it.
    TierNotSetUp {
        reason: String,
    },
    /// A directory no longer in the layout: jts-hot never removes anything under the tier.
    LeftAlone {
        #[serde(serialize_with = "serialize_path")]
        path: PathBuf,
    },
    QuotasSkippedUnderRoot,
    Quota {
        step: crate::quota::Step,
    },
    QuotaProblem {
        problem: String,
    },
    DaemonReload {
        done: DaemonReload,
    },
    NothingChanged {
        files: usize,
    },
    /// jts-hot-validate.service restarted, so that `systemctl status` judges
    /// the tier by the layout just applied: `passed` false when it failed
    /// (CRITICAL: see its status).
    Revalidated {
        passed: bool,
    },
    /// The applied copy was written: from now on the layout in force.
    RecordedLayout {
        #[serde(serialize_with = "serialize_path")]
        path: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileAction {
    Created,
    Updated,
    /// Our drop-in for a unit the layout no longer gates.
    Removed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DaemonReload {
    Done,
    SkippedUnderRoot,
    SkippedSystemdNotRunning,
}

/// A directory's mode bits, uid and gid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DirState {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl Report {
    /// The tier could not be set up: its declared mount is not in place.
    pub fn tier_not_set_up(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, Step::TierNotSetUp { .. }))
    }

    /// Project quotas the layout asks for that are not in place.
    pub fn quotas_incomplete(&self) -> bool {
        self.steps.iter().any(|s| match s {
            Step::QuotaProblem { .. } => true,
            Step::Quota { step } => matches!(step.action, crate::quota::Action::Failed { .. }),
            _ => false,
        })
    }
}

/// A file under the root (resolved inside it), `None` when absent; a FIFO,
/// device or oversized file in its place is an error, never a hang.
fn read_if_exists(root: &Root, rel: &Path) -> Result<Option<String>, Error> {
    root.read_text(rel, MAX_FILE_BYTES)
        .map_err(|e| Error::io(format!("cannot read {}", root.display(rel).display()), e))
}

/// Applies `layout` as `opts` says. On an error, the report of what was done until then.
pub fn run(layout: &Layout, opts: &Options) -> Result<Report, Box<Failed>> {
    let mut report = Report {
        source: layout.source.to_string(),
        digest: layout.digest(),
        dry_run: opts.dry_run,
        steps: Vec::new(),
        unchanged: 0,
        selinux_in_place: true,
    };
    match run_into(layout, opts, &mut report) {
        Ok(()) => Ok(report),
        Err(error) => Err(Box::new(Failed { report, error })),
    }
}

fn run_into(layout: &Layout, opts: &Options, report: &mut Report) -> Result<(), Error> {
    let root = &opts.root;
    // Before anything is written: each gate as the target system orders it.
    let refused = crate::validate::gates::refused(layout, root);
    if !refused.is_empty() {
        return Err(Error::Gates(
            refused
                .iter()
                .map(|r| {
                    format!(
                        "{}: {}: {}; nothing was written",
                        layout.source, r.field, r.why
                    )
                })
                .collect(),
        ));
    }
    let set = decide(layout, root)?;
    report.unchanged = set.unchanged.len();
    let selinux_plan = selinux::plan(layout, root, opts.selinux_priority);
    if opts.dry_run {
        return dry_run(layout, root, &set, &selinux_plan, opts.diff, report);
    }
    // Every refusal before the first write: a refused apply writes nothing.
    let writes = refuse::Writes {
        record: opts.layout_text.is_some(),
    };
    refuse::check(layout, root, &set, &selinux_plan, &writes)?;
    if opts.diff {
        report.steps.extend(diffs(root, &set));
    }
    let run = Apply { layout, root };
    let before = snapshot(layout, root)?;
    run.write_changes(&set, report)?;
    // The files in /etc are this layout's now: so is what the gates, validate
    // and the monitor read.
    let mut recorded = false;
    if let Some(text) = &opts.layout_text {
        let rel = Path::new(crate::applied::APPLIED_PATH);
        let written = crate::applied::record(root, text, &layout.source)
            .map_err(|e| Error::io(format!("cannot write {}", root.display(rel).display()), e))?;
        recorded = written;
        if written {
            report.steps.push(Step::RecordedLayout {
                path: root.display(rel),
            });
        }
    }
    // Before tmpfiles: the directories it creates are born with their labels.
    report.selinux_in_place =
        run.selinux(report, |out| selinux::install(&selinux_plan, run.root, out))?;
    let refused = run.systemd_tools()?;
    let after = snapshot(layout, root)?;
    report.steps.extend(snapshot_steps(root, &before, &after));
    run.selinux(report, |out| {
        selinux::relabel(&selinux_plan, layout, run.root, out)
    })?;
    report.steps.extend(
        refused
            .into_iter()
            .map(|reason| Step::TierNotSetUp { reason }),
    );
    for d in &set.no_longer_named {
        report.steps.push(Step::LeftAlone {
            path: root.display(d),
        });
    }
    let quota_changed = run.quotas(report);
    if set.changes.iter().any(Change::is_unit) {
        report.steps.push(Step::DaemonReload {
            done: run.daemon_reload()?,
        });
    }
    if run.root.image_dir().is_none() && Path::new(SYSTEMD_RUNNING).is_dir() {
        let status = Command::new("systemctl")
            .args(["restart", crate::render::generated::VALIDATE_UNIT])
            .output()
            .map_err(|e| Error::Tool(format!("cannot run systemctl: {e}")))?;
        report.steps.push(Step::Revalidated {
            passed: status.status.success(),
        });
    }
    let selinux_changed = selinux_plan.changes();
    if set.changes.is_empty() && before == after && !selinux_changed && !quota_changed && !recorded
    {
        report.steps.push(Step::NothingChanged {
            files: set.unchanged.len(),
        });
    }
    Ok(())
}

/// --dry-run: what would change in the tier and the units, a line each
/// (with `diff`, each file's unified diff too). Writes nothing, runs nothing.
fn dry_run(
    layout: &Layout,
    root: &Root,
    set: &ChangeSet,
    selinux_plan: &selinux::Plan,
    diff: bool,
    report: &mut Report,
) -> Result<(), Error> {
    let blocked = setup::blocked(layout, root).map_err(Error::Mounts)?;
    // Plans, quotas and labels are compared with the layout in force.
    let previous = crate::applied::load(root, false).ok().map(|f| f.layout);
    let found = effects::effects(layout, previous.as_ref(), root, set, !blocked.everything);
    let steps = &mut report.steps;
    steps.extend(
        selinux_plan
            .dry_run()
            .into_iter()
            .map(|line| Step::Selinux { line }),
    );
    steps.extend(found.into_iter().map(|effect| Step::Would { effect }));
    for d in &set.no_longer_named {
        steps.push(Step::WouldLeaveAlone {
            path: root.display(d),
        });
    }
    steps.extend(
        blocked
            .reasons
            .iter()
            .map(|reason| Step::WouldCreateNothing {
                reason: reason.clone(),
            }),
    );
    if diff {
        steps.extend(diffs(root, set));
    }
    Ok(())
}

/// The unified diff of every file that changes.
fn diffs(root: &Root, set: &ChangeSet) -> Vec<Step> {
    set.changes
        .iter()
        .map(|change| Step::Diff {
            path: root.display(change.path()),
            diff: diff(root, change),
        })
        .collect()
}

/// The unified diff of one change, labelled with its path under the root.
fn diff(root: &Root, change: &Change) -> String {
    let shown = root.display(change.path()).display().to_string();
    let (old, new, old_label, new_label) = match change {
        Change::Create { new, .. } => ("", new.as_str(), "/dev/null".to_string(), shown),
        Change::Update { old, new, .. } => (old.as_str(), new.as_str(), shown.clone(), shown),
        Change::Remove { old, .. } => (old.as_str(), "", shown, "/dev/null".to_string()),
    };
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .header(&old_label, &new_label)
        .to_string()
}

/// The phases of a real run, on one root.
struct Apply<'a> {
    layout: &'a Layout,
    root: &'a Root,
}

impl Apply<'_> {
    /// Writes or removes each file of the change set, inside the root. Every
    /// new file is staged (written and synced under a temporary name) before
    /// any is renamed into place, so a failure while writing changes nothing;
    /// a kill leaves each file whole, old or new, and the next run removes
    /// the temporaries it left and finishes the job.
    fn write_changes(&self, set: &ChangeSet, report: &mut Report) -> Result<(), Error> {
        let root = self.root;
        let shown = |rel: &Path| root.display(rel).display().to_string();
        let mut staged: Vec<(Staged, &Change)> = Vec::new();
        for change in &set.changes {
            if let Change::Create { new, .. } | Change::Update { new, .. } = change {
                let rel = change.path();
                let dir = rel.parent().expect("files lie in a directory");
                root.create_dir_all(dir, &mut Vec::new())
                    .map_err(|e| Error::io(format!("cannot create {}", shown(dir)), e))?;
                root.remove_stale_temporaries(dir)
                    .map_err(|e| Error::io(format!("cannot clean {}", shown(dir)), e))?;
                let s = root
                    .stage(rel, new.as_bytes(), 0o644)
                    .map_err(|e| Error::io(format!("cannot write {}", shown(rel)), e))?;
                staged.push((s, change));
            }
        }
        for (s, change) in staged {
            s.commit().map_err(|e| {
                Error::io(format!("cannot rename into {}", shown(change.path())), e)
            })?;
            let action = if matches!(change, Change::Create { .. }) {
                FileAction::Created
            } else {
                FileAction::Updated
            };
            report.steps.push(Step::File {
                path: root.display(change.path()),
                action,
            });
        }
        for change in &set.changes {
            if let Change::Remove { .. } = change {
                let rel = change.path();
                root.remove_file(rel)
                    .map_err(|e| Error::io(format!("cannot remove {}", shown(rel)), e))?;
                // The UNIT.d directory goes too if nothing else is in it.
                if let Some(dir) = rel.parent() {
                    root.remove_empty_dir(dir);
                }
                report.steps.push(Step::File {
                    path: root.display(rel),
                    action: FileAction::Removed,
                });
            }
        }
        Ok(())
    }

    /// A step of `selinux`, whose lines become the report's.
    fn selinux<T>(
        &self,
        report: &mut Report,
        step: impl FnOnce(&mut dyn std::io::Write) -> anyhow::Result<T>,
    ) -> Result<T, Error> {
        let mut out = Vec::new();
        let result = step(&mut out);
        report.steps.extend(
            String::from_utf8_lossy(&out)
                .lines()
                .map(|line| Step::Selinux { line: line.into() }),
        );
        result.map_err(Error::Other)
    }

    /// systemd-sysusers, then systemd-tmpfiles on tmpfiles.d's file and, once
    /// the tier's mounts are in place, on the tier's. Returns why the tier was
    /// not set up (empty when it was).
    fn systemd_tools(&self) -> Result<Vec<String>, Error> {
        let root_arg = self
            .root
            .image_dir()
            .map(|r| format!("--root={}", r.display()));
        // The files as written, their parents resolved inside the root, for
        // tools that take a host path.
        let in_root = |rel: &str| {
            self.root.resolve(&etc_path(Path::new(rel))).map_err(|e| {
                let root = self.root.path().display();
                Error::io(format!("cannot resolve {rel} under {root}"), e)
            })
        };
        // Both tools take --root, but systemd-sysusers opens ROOT/etc/passwd
        // as the host sees it (an image's etc linked to the host's had the
        // host's accounts rewritten) and systemd-tmpfiles looks owners up so.
        if let Some((path, host)) = self.root.first_leaving(accounts::ACCOUNT_FILES) {
            return Err(Error::Tool(format!(
                "systemd-sysusers and systemd-tmpfiles refused: {} leads outside the root \
                 (to {}): nothing was run on the image",
                path.display(),
                host.display()
            )));
        }
        // systemd-tmpfiles makes missing parents through the host's view of
        // the image's links: every directory it would make stays inside.
        let tmpfiles = [Path::new(TMPFILES_PATH), Path::new(TIER_TMPFILES_PATH)].map(etc_path);
        let tmpfiles: Vec<&Path> = tmpfiles.iter().map(PathBuf::as_path).collect();
        if let Some((path, host)) = setup::tmpfiles_leaving(self.root, &tmpfiles) {
            return Err(Error::Tool(format!(
                "systemd-tmpfiles refused: {} leads outside the root (to {}): nothing was \
                 run on the image",
                path.display(),
                host.display()
            )));
        }
        run_tool(
            Command::new("systemd-sysusers")
                .args(&root_arg)
                .arg(in_root(SYSUSERS_PATH)?),
        )?;
        // tmpfiles.d's file: what lies outside the tier (never the tier itself).
        run_tool(
            Command::new("systemd-tmpfiles")
                .arg("--create")
                .args(&root_arg)
                .arg(in_root(TMPFILES_PATH)?),
        )?;
        // The tier's directories, as `jts-hot setup` makes them: only on its
        // mounted filesystem, never on the root filesystem beneath.
        // Beneath a declared mount not in place (a service's own disk) nothing.
        let blocked = setup::blocked(self.layout, self.root).map_err(Error::Mounts)?;
        if !blocked.everything {
            let missing: Vec<PathBuf> = self
                .layout
                .planned_dirs()
                .into_iter()
                .map(|d| d.path)
                .filter(|p| matches!(self.root.lstat(p), Ok(None)))
                .collect();
            run_tool(
                Command::new("systemd-tmpfiles")
                    .arg("--create")
                    .args(&root_arg)
                    .args(blocked.exclude_args())
                    .arg(in_root(TIER_TMPFILES_PATH)?),
            )?;
            setup::tighten_modes(self.layout, self.root, &missing, &blocked)
                .map_err(|e| Error::Other(anyhow::anyhow!(e)))?;
        }
        Ok(blocked.reasons)
    }

    /// Project quotas, as jts-hot-quota.service sets them at boot (not on
    /// the root filesystem beneath an unmounted tier). True when one changed.
    fn quotas(&self, report: &mut Report) -> bool {
        if self.layout.tier.quota == QuotaMode::Off || report.tier_not_set_up() {
            return false;
        }
        if self.root.image_dir().is_some() {
            report.steps.push(Step::QuotasSkippedUnderRoot);
            return false;
        }
        let set = crate::quota::set(self.layout);
        let changed = set.changed();
        for step in set.steps {
            if !matches!(
                step.action,
                crate::quota::Action::Unchanged | crate::quota::Action::LimitsUnchanged
            ) {
                report.steps.push(Step::Quota { step });
            }
        }
        for problem in set.problems {
            report.steps.push(Step::QuotaProblem { problem });
        }
        changed
    }

    fn daemon_reload(&self) -> Result<DaemonReload, Error> {
        if self.root.image_dir().is_some() {
            Ok(DaemonReload::SkippedUnderRoot)
        } else if Path::new(SYSTEMD_RUNNING).is_dir() {
            run_tool(Command::new("systemctl").arg("daemon-reload"))?;
            Ok(DaemonReload::Done)
        } else {
            Ok(DaemonReload::SkippedSystemdNotRunning)
        }
    }
}

/// Runs a systemd tool, failing with its output when it fails.
fn run_tool(cmd: &mut Command) -> Result<(), Error> {
    let out = cmd
        .output()
        .map_err(|e| Error::Tool(format!("cannot run {:?}: {e}", cmd.get_program())))?;
    if !out.status.success() {
        return Err(Error::Tool(format!(
            "{:?} failed ({}): {}",
            cmd,
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// What systemd-sysusers and systemd-tmpfiles could change: user and group
/// names, and each directory the layout names (existence, mode, owner).
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    users: BTreeSet<String>,
    groups: BTreeSet<String>,
    dirs: Vec<(PathBuf, Option<DirState>)>,
}

fn names_in(root: &Root, db: &Path) -> Result<BTreeSet<String>, Error> {
    Ok(accounts::names(
        &read_if_exists(root, db)?.unwrap_or_default(),
    ))
}

fn snapshot(layout: &Layout, root: &Root) -> Result<Snapshot, Error> {
    let dirs = layout
        .planned_dirs()
        .into_iter()
        .map(|d| {
            let state = root.lstat(&d.path).ok().flatten().map(|m| DirState {
                mode: m.st_mode & 0o7777,
                uid: m.st_uid,
                gid: m.st_gid,
            });
            (d.path, state)
        })
        .collect();
    Ok(Snapshot {
        users: names_in(root, Path::new("etc/passwd"))?,
        groups: names_in(root, Path::new("etc/group"))?,
        dirs,
    })
}

fn snapshot_steps(root: &Root, before: &Snapshot, after: &Snapshot) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for name in after.users.difference(&before.users) {
        steps.push(Step::AddedUser { name: name.clone() });
    }
    for name in after.groups.difference(&before.groups) {
        steps.push(Step::AddedGroup { name: name.clone() });
    }
    for ((path, old), (_, new)) in before.dirs.iter().zip(&after.dirs) {
        let path = root.display(path);
        match (old, new) {
            (None, Some(_)) => steps.push(Step::CreatedDirectory { path }),
            (Some(b), Some(a)) if a != b => steps.push(Step::RepairedDirectory {
                path,
                before: *b,
                after: *a,
            }),
            _ => {}
        }
    }
    steps
}
