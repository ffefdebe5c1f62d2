//! Project quotas per service directory: what the layout asks for, what the
//! filesystem holds, and setting one to the other. `inspect` only reads (for
//! validate and monitor); `set` is what the boot unit (`jts-hot quota set`)
//! and `apply` run. Neither walks or rewrites data: they touch the
//! directories the layout names, and the filesystem's quota records. The
//! walk of everything below them is `tree`'s, at its cadence or on
//! `quota set --repair`.

pub mod output;
pub mod record;
mod sys;
pub mod tree;

use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::layout::{rules, Layout, QuotaMode, Service};
pub use output::step_line;
pub use sys::{Project, Quota, State};

/// What `tier.quota` comes to on this filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Effective {
    Off,
    Account,
    Enforce,
}

impl Effective {
    pub fn of(mode: QuotaMode, state: Option<State>) -> Effective {
        match mode {
            QuotaMode::Off => Effective::Off,
            QuotaMode::Auto if state.is_some_and(|s| s.accounting) => Effective::Account,
            QuotaMode::Auto => Effective::Off,
            QuotaMode::Account => Effective::Account,
            QuotaMode::Enforce => Effective::Enforce,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Effective::Off => "off",
            Effective::Account => "account",
            Effective::Enforce => "enforce",
        }
    }
}

/// The limits a service's project should carry under `effective`, in bytes (0: none).
pub fn wanted_limits(service: &Service, effective: Effective) -> (u64, u64) {
    match effective {
        Effective::Enforce => (
            service.quota.soft.map_or(0, |b| b.0),
            service.quota.hard.map_or(0, |b| b.0),
        ),
        _ => (0, 0),
    }
}

/// Limits compare as the filesystem stores them: ext4 keeps whole KiB, XFS
/// rounds up to its block size (22000000 bytes reads back as 22003712 with
/// 4 KiB blocks), so both sides are rounded up to `granularity`.
pub fn same_limit(kernel_bytes: u64, wanted_bytes: u64, granularity: u64) -> bool {
    let g = granularity.max(sys::LIMIT_UNIT);
    kernel_bytes.div_ceil(g) == wanted_bytes.div_ceil(g)
}

/// The block size of the filesystem holding `dir`: the granularity of its limits.
fn block_size(dir: &File) -> u64 {
    nix::sys::statvfs::fstatvfs(dir).map_or(sys::LIMIT_UNIT, |s| s.block_size())
}

/// Opens a directory the layout names without following a symlink in its
/// last component (the only one a service user could plant) and without
/// blocking on a FIFO planted in its place.
pub fn open_dir(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

/// A project ID jts-hot gives: one it derives, or one the layout gives a
/// service. Any other on a planned directory was set by someone else (its
/// owner may: `chattr -p`), and is taken back with a warning.
fn ours(layout: &Layout, id: u32) -> bool {
    rules::PROJECT_ID_DERIVED.contains(&id)
        || layout.services.iter().any(|s| s.quota.project_id == id)
}

/// One directory's project as found.
#[derive(Debug, Clone, Serialize)]
pub struct DirProject {
    pub path: PathBuf,
    /// `None`: could not be read (see `error`).
    pub project_id: Option<u32>,
    pub inherit: bool,
    pub error: Option<String>,
}

/// A service as the filesystem holds it.
#[derive(Debug, Clone, Serialize)]
pub struct Observed {
    pub service: String,
    pub project_id: u32,
    /// The service directory, then each planned subdirectory.
    pub dirs: Vec<DirProject>,
    /// The project's usage and limits; `None` when project accounting is off
    /// or the quota could not be read (see `quota_error`).
    pub quota: Option<Quota>,
    pub quota_error: Option<String>,
}

impl Observed {
    /// Usage can come from the quota: accounting on, the service directory
    /// carries the service's project and passes it on to new entries.
    pub fn active(&self) -> bool {
        let d = &self.dirs[0];
        self.quota.is_some() && d.project_id == Some(self.project_id) && d.inherit
    }
}

/// The whole tier's quota state.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    pub mode: QuotaMode,
    pub effective: Effective,
    /// `None` when the base could not be opened or queried (see `error`).
    pub state: Option<State>,
    pub error: Option<String>,
    /// The filesystem's block size: limits are kept in multiples of it.
    pub granularity: u64,
    pub services: Vec<Observed>,
    /// When the figures come from jts-hot-quota-read.service's record (this
    /// process may not read project quotas itself): when it was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_unix: Option<u64>,
}

fn dir_project(path: &Path, dev: Option<u64>) -> DirProject {
    let read = || -> io::Result<Project> {
        let dir = open_dir(path)?;
        if dev.is_some_and(|d| dir.metadata().map(|m| m.dev()).ok() != Some(d)) {
            return Err(io::Error::other(
                "on another filesystem than the tier's base",
            ));
        }
        sys::project(dir.as_fd())
    };
    match read() {
        Ok(p) => DirProject {
            path: path.to_path_buf(),
            project_id: Some(p.id),
            inherit: p.inherit,
            error: None,
        },
        Err(e) => DirProject {
            path: path.to_path_buf(),
            project_id: None,
            inherit: false,
            error: Some(e.to_string()),
        },
    }
}

/// The service directory and its planned subdirectories, as the layout names them.
fn service_dirs(layout: &Layout, service: &Service) -> Vec<PathBuf> {
    let path = service.path(layout);
    let mut dirs = vec![path.clone()];
    dirs.extend(service.dirs.iter().map(|d| path.join(d.name.as_str())));
    dirs
}

/// Reads what the filesystem holds for every service; with `mode` off, reads nothing.
pub fn inspect(layout: &Layout) -> Inspection {
    inspect_with(layout, None)
}

/// `inspect`; denied quotactl (EPERM: the sandboxed validate and monitor
/// units hold neither CAP_SYS_ADMIN nor the system call), the state and the
/// projects' figures come from a fresh record in `recorded` (`record`).
pub fn inspect_with(layout: &Layout, recorded: Option<&crate::state::StateDir>) -> Inspection {
    let mode = layout.tier.quota;
    let mut out = Inspection {
        mode,
        effective: Effective::Off,
        state: None,
        error: None,
        granularity: sys::LIMIT_UNIT,
        services: Vec::new(),
        recorded_unix: None,
    };
    if mode == QuotaMode::Off {
        return out;
    }
    let base = match open_dir(&layout.tier.base) {
        Ok(b) => b,
        Err(e) => {
            out.error = Some(format!("cannot open {}: {e}", layout.tier.base.display()));
            out.effective = Effective::of(mode, None);
            return out;
        }
    };
    let dev = base.metadata().ok().map(|m| m.dev());
    out.granularity = block_size(&base);
    let mut from_record = None;
    match sys::state(base.as_fd()) {
        Ok(s) => out.state = Some(s),
        Err(e) if e.raw_os_error() == Some(libc::EPERM) && recorded.is_some() => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            match record::fresh(layout, recorded.expect("checked"), now) {
                Ok(r) => {
                    out.state = Some(r.state());
                    out.granularity = r.granularity;
                    out.recorded_unix = Some(r.taken_unix);
                    from_record = Some(r);
                }
                Err(why) => {
                    out.error = Some(format!(
                        "cannot query project quotas: {e}; and jts-hot-quota-read.service's \
                         record will not do: {why}"
                    ))
                }
            }
        }
        Err(e) => out.error = Some(format!("cannot query project quotas: {e}")),
    }
    out.effective = Effective::of(mode, out.state);
    if out.effective == Effective::Off {
        return out;
    }
    let accounting = out.state.is_some_and(|s| s.accounting);
    for service in &layout.services {
        let id = service.quota.project_id;
        let dirs: Vec<DirProject> = service_dirs(layout, service)
            .iter()
            .map(|p| dir_project(p, dev))
            .collect();
        let (quota, quota_error) = if let Some(r) = &from_record {
            match r.quota(id) {
                Ok(q) => (Some(q), None),
                Err(e) => (None, Some(e)),
            }
        } else if accounting {
            match sys::get(base.as_fd(), id) {
                Ok(q) => (Some(q), None),
                Err(e) => (None, Some(format!("cannot read project {id}'s quota: {e}"))),
            }
        } else {
            (None, None)
        };
        out.services.push(Observed {
            service: service.name.to_string(),
            project_id: id,
            dirs,
            quota,
            quota_error,
        });
    }
    out
}

/// What `set` did to one directory or project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Action {
    /// The directory now carries the project, with the inherit flag.
    Tagged {
        from: u32,
    },
    /// Already as the layout says.
    Unchanged,
    /// The directory carried a project ID that is not jts-hot's (its owner
    /// may set one): taken back, with the inherit flag, and said loudly.
    Reclaimed {
        from: u32,
    },
    /// The project's limits were set (bytes, 0: none).
    Limits {
        soft: u64,
        hard: u64,
    },
    /// The project's limits were already the layout's.
    LimitsUnchanged,
    Failed {
        error: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub service: String,
    /// The directory, or for limits the service directory.
    pub path: PathBuf,
    pub project_id: u32,
    pub action: Action,
}

/// What `set` did, for `apply` and `jts-hot quota set` to report.
#[derive(Debug, Clone, Serialize)]
pub struct SetReport {
    pub mode: QuotaMode,
    pub effective: Effective,
    pub state: Option<State>,
    pub steps: Vec<Step>,
    /// Problems that are not one directory's: accounting off, limits not enforced.
    pub problems: Vec<String>,
    /// `--repair`: the walk of every service tree and what it re-tagged.
    pub tree: Option<tree::TreeScan>,
}

impl SetReport {
    /// Everything the layout asks for is in place.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
            && self
                .steps
                .iter()
                .all(|s| !matches!(s.action, Action::Failed { .. }))
            && self
                .tree
                .iter()
                .flat_map(|t| &t.services)
                .all(|s| s.misattributed_inodes == 0 && !s.partial)
    }

    pub fn changed(&self) -> bool {
        self.steps.iter().any(|s| {
            matches!(
                s.action,
                Action::Tagged { .. } | Action::Reclaimed { .. } | Action::Limits { .. }
            )
        }) || self
            .tree
            .iter()
            .flat_map(|t| &t.services)
            .any(|s| s.repaired_inodes > 0)
    }
}

/// `set`, then the walk of every service tree re-tagging each entry outside
/// its service's project (`jts-hot quota set --repair`); the walk's result
/// is saved in the state directory for validate and the monitor.
pub fn repair(layout: &Layout, dir: &crate::state::StateDir) -> SetReport {
    let mut report = set(layout);
    if report.effective == Effective::Off {
        return report;
    }
    report.tree = tree::scan(layout, true, None, &tree::Halt::NONE);
    match &report.tree {
        Some(scan) => {
            if let Err(e) = crate::state::save(dir, scan) {
                report
                    .problems
                    .push(format!("cannot save the tree walk's result: {e:#}"));
            }
        }
        None => report
            .problems
            .push("the service trees could not be walked: no project accounting".into()),
    }
    report
}

/// Tags each service directory and its planned subdirectories with the
/// service's project ID and the inherit flag, and sets its limits, as
/// `tier.quota` says. Idempotent: what already matches is left untouched.
/// The planned directories are the layout's: whatever ID their owner set is
/// replaced (`Reclaimed`, said at warning priority).
pub fn set(layout: &Layout) -> SetReport {
    let mode = layout.tier.quota;
    let mut report = SetReport {
        mode,
        effective: Effective::Off,
        state: None,
        steps: Vec::new(),
        problems: Vec::new(),
        tree: None,
    };
    if mode == QuotaMode::Off {
        return report;
    }
    let base = match open_dir(&layout.tier.base) {
        Ok(b) => b,
        Err(e) => {
            report.effective = Effective::of(mode, None);
            if mode != QuotaMode::Auto {
                report.problems.push(format!(
                    "cannot open the tier's base {}: {e}",
                    layout.tier.base.display()
                ));
            }
            return report;
        }
    };
    let dev = base.metadata().ok().map(|m| m.dev());
    let granularity = block_size(&base);
    let state = match sys::state(base.as_fd()) {
        Ok(s) => Some(s),
        Err(e) => {
            report
                .problems
                .push(format!("cannot query project quotas: {e}"));
            None
        }
    };
    report.state = state;
    report.effective = Effective::of(mode, state);
    let effective = report.effective;
    if effective == Effective::Off {
        return report;
    }
    let accounting = state.is_some_and(|s| s.accounting);
    report
        .problems
        .extend(filesystem_problem(&layout.tier.base, state, effective));
    for service in &layout.services {
        let id = service.quota.project_id;
        let name = service.name.to_string();
        for path in service_dirs(layout, service) {
            let action = tag(layout, &path, id, dev);
            report.steps.push(Step {
                service: name.clone(),
                path,
                project_id: id,
                action,
            });
        }
        if accounting {
            let (soft, hard) = wanted_limits(service, effective);
            let action = limits(&base, id, (soft, hard), granularity);
            report.steps.push(Step {
                service: name,
                path: service.path(layout),
                project_id: id,
                action,
            });
        }
    }
    report
}

/// What keeps the filesystem from accounting (or, for enforce, limiting)
/// project quotas, if anything.
fn filesystem_problem(base: &Path, state: Option<State>, effective: Effective) -> Option<String> {
    if !state.is_some_and(|s| s.accounting) {
        Some(format!(
            "project quota accounting is off on the filesystem of {}: mount it with prjquota \
             (ext4 also needs `tune2fs -O quota,project` while unmounted)",
            base.display()
        ))
    } else if effective == Effective::Enforce && !state.is_some_and(|s| s.enforcing) {
        Some(format!(
            "project quota limits are not enforced on the filesystem of {}: mount it with prjquota",
            base.display()
        ))
    } else {
        None
    }
}

/// Sets a project's soft and hard limits unless the kernel already holds
/// them (to its block granularity).
fn limits(base: &File, id: u32, (soft, hard): (u64, u64), granularity: u64) -> Action {
    match sys::get(base.as_fd(), id) {
        Ok(q)
            if same_limit(q.soft_bytes, soft, granularity)
                && same_limit(q.hard_bytes, hard, granularity) =>
        {
            Action::LimitsUnchanged
        }
        _ => match sys::set_limits(base.as_fd(), id, soft, hard) {
            Ok(()) => Action::Limits { soft, hard },
            Err(e) => Action::Failed {
                error: format!("cannot set project {id}'s limits: {e}"),
            },
        },
    }
}

fn tag(layout: &Layout, path: &Path, id: u32, dev: Option<u64>) -> Action {
    let run = || -> io::Result<Action> {
        let dir = open_dir(path)?;
        if dev.is_some_and(|d| dir.metadata().map(|m| m.dev()).ok() != Some(d)) {
            return Err(io::Error::other(
                "on another filesystem than the tier's base",
            ));
        }
        let now = sys::project(dir.as_fd())?;
        if now.id == id && now.inherit {
            return Ok(Action::Unchanged);
        }
        sys::set_project(dir.as_fd(), id)?;
        // Another service's ID, or one jts-hot never gives: someone set it.
        let another_service = layout.services.iter().any(|s| s.quota.project_id == now.id);
        if now.id != 0 && now.id != id && (another_service || !ours(layout, now.id)) {
            return Ok(Action::Reclaimed { from: now.id });
        }
        Ok(Action::Tagged { from: now.id })
    };
    run().unwrap_or_else(|e| Action::Failed {
        error: format!("{}: {e}", path.display()),
    })
}

/// What `jts-hot quota` is asked to do (main builds it from the command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// `quota set`: each service's project and limits, as jts-hot-quota.service does at boot.
    Set,
    /// `quota set --repair`: also the project IDs the last tree walk found wrong.
    Repair,
    /// `quota status`: what is in place, reading only.
    Status,
    /// `quota record`: the projects' figures saved for the sandboxed units.
    Record,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub task: Task,
    /// Where `--repair` reads the last tree walk and `record` saves.
    pub state_dir: PathBuf,
}

/// What `jts-hot quota` did or found.
#[derive(Debug)]
pub enum Report {
    Set(SetReport),
    Status(Inspection),
    /// What `record` saved and where (None: quotas off), or why it could not.
    Record(Result<Option<(record::Record, PathBuf)>, String>),
}

/// The command: sets, repairs or inspects the tier's project quotas.
pub fn run(layout: &Layout, opts: &Options) -> Report {
    match opts.task {
        Task::Set => Report::Set(set(layout)),
        Task::Repair => Report::Set(repair(
            layout,
            &crate::state::StateDir::new(&opts.state_dir),
        )),
        Task::Status => Report::Status(inspect(layout)),
        Task::Record => Report::Record(record::save(
            layout,
            &crate::state::StateDir::new(&opts.state_dir),
        )),
    }
}
