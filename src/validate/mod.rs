//! `jts-hot validate`: the tier as the operating system sees it, against the
//! layout. Each check that fails is a `Finding`; nothing here prints (see
//! `output`) and nothing here writes. It reads the planned directories (never
//! below them), one mount table, a few sysfs and unit files: fast enough to
//! run at every boot before the databases.

mod access;
mod capacity;
mod check;
mod dirs;
mod fitness;
pub mod gates;
mod generated;
mod mount;
pub mod output;
mod quota;
pub mod selinux;
pub mod shadowed;

use crate::system::Root;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::layout::{Layout, PlannedDir, RequireMountpoint, Service};
use crate::state::StateDir;
use crate::status::Status;
use crate::system::accounts::Accounts;
use crate::system::on_disk;
use crate::system::placement::{MountFacts, Placement, PIN};
pub use check::Check;

/// One check that did not pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The directory, mount point or file the check is about (as found on disk).
    #[serde(serialize_with = "crate::escape::serialize_path")]
    pub path: PathBuf,
    /// Which check; serialized as its stable name, e.g. "dir.mode".
    pub check: Check,
    pub expected: String,
    pub actual: String,
    pub severity: Status,
    /// What to do about it, when there is one thing to do.
    pub hint: Option<String>,
}

/// Findings, and how many checks were made in all.
#[derive(Debug, Default)]
pub struct Tally {
    pub findings: Vec<Finding>,
    pub checks: usize,
    /// Planned directories that could not even be looked at (EACCES): one
    /// finding says what validate needs, not one per directory.
    denied: Vec<PathBuf>,
}

impl Tally {
    fn pass(&mut self) {
        self.checks += 1;
    }

    fn fail(
        &mut self,
        severity: Status,
        path: &Path,
        check: Check,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> &mut Finding {
        self.checks += 1;
        self.findings.push(Finding {
            path: path.to_path_buf(),
            check,
            expected: expected.into(),
            actual: actual.into(),
            severity,
            hint: None,
        });
        self.findings.last_mut().expect("just pushed")
    }
}

impl Tally {
    /// A planned directory its parent does not let us look into.
    fn denied(&mut self, path: &Path) {
        self.checks += 1;
        self.denied.push(path.to_path_buf());
    }

    /// The directories denied, as one UNKNOWN finding: run without privilege
    /// (e.g. by an NRPE user) validate cannot see the databases' directories,
    /// and saying so once is the useful line.
    fn report_denied(&mut self) {
        let Some((first, others)) = self.denied.split_first() else {
            return;
        };
        let uid = nix::unistd::geteuid();
        let more = match others.len() {
            0 => String::new(),
            n => format!(" nor {n} other planned directories"),
        };
        let finding = Finding {
            path: first.clone(),
            check: Check::DirExists,
            expected: "a directory validate can look at".into(),
            actual: format!("uid {uid} may not look at it (permission denied){more}"),
            severity: Status::Unknown,
            hint: Some(
                "validate needs root or CAP_DAC_READ_SEARCH: run it as root, or through \
                 sudo as docs/nagios.md shows"
                    .into(),
            ),
        };
        self.findings.push(finding);
        self.denied.clear();
    }
}

impl Finding {
    fn hint(&mut self, hint: impl Into<String>) {
        self.hint = Some(hint.into());
    }
}

/// Everything validate found. It serializes as schema `jts-hot.validate/1`
/// (see `output`); `output` also turns it into text.
#[derive(Debug)]
pub struct Report {
    pub source: String,
    pub digest: String,
    /// The base as validated (under --root when given).
    pub base: PathBuf,
    pub root: Option<PathBuf>,
    /// The services checked (a gate's scope); empty when the whole tier was.
    pub services: Vec<String>,
    pub directories: usize,
    /// Whether SELinux labels were checked, and why not.
    pub selinux: selinux::Labels,
    /// What lies beneath the tier's mount points (mount.shadowed); `None`:
    /// not known (a gate, an image, no record).
    pub shadowed: Option<shadowed::Seen>,
    pub tally: Tally,
    pub duration: Duration,
}

impl Report {
    /// The worst severity found; OK when nothing was.
    pub fn status(&self) -> Status {
        self.tally
            .findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Status::Ok)
    }

    pub fn count(&self, severity: Status) -> usize {
        self.tally
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// Which part of the tier a run checks.
#[derive(Debug, Clone, Copy)]
enum Scope<'a> {
    /// Everything: every directory, the mount, capacity, generated files.
    All,
    /// A gated unit's part: the base, its mount, and these services' directories.
    Services(&'a [&'a Service]),
}

impl Scope<'_> {
    /// Whether a mount declared at `mount_point` concerns this scope: the
    /// base's and its parents' always; one below the base when it lies at,
    /// above or below one of the scope's service directories.
    fn concerns(&self, layout: &Layout, planned: &[PlannedDir], mount_point: &Path) -> bool {
        match self {
            Scope::All => true,
            Scope::Services(_) => {
                layout.tier.base.starts_with(mount_point)
                    || planned.iter().filter(|d| d.service.is_some()).any(|d| {
                        d.path.starts_with(mount_point) || mount_point.starts_with(&d.path)
                    })
            }
        }
    }

    fn includes(&self, service: Option<&Service>) -> bool {
        match (self, service) {
            (Scope::All, _) | (_, None) => true,
            (Scope::Services(list), Some(s)) => list.iter().any(|l| l.name == s.name),
        }
    }
}

/// Runs every check of `layout` against the system (or the image at `root`).
/// `known`: facts the caller already read this run.
pub fn validate(layout: &Layout, root: &Root, known: Known) -> Report {
    validate_scope(layout, root, Scope::All, None, known)
}

/// Each planned directory's path under the root, resolved once per run for
/// every check that looks at it (dirs, access, labels, filesystems); any
/// other path is resolved when asked.
pub struct Resolved<'a> {
    root: &'a Root,
    paths: std::collections::HashMap<&'a Path, PathBuf>,
}

impl<'a> Resolved<'a> {
    pub fn new(root: &'a Root, planned: &'a [PlannedDir]) -> Resolved<'a> {
        let paths = planned
            .iter()
            .map(|d| (d.path.as_path(), root.on_disk(&d.path)))
            .collect();
        Resolved { root, paths }
    }

    /// `path` as it lies under the root ([`Root::on_disk`]).
    pub fn on_disk(&self, path: &Path) -> PathBuf {
        match self.paths.get(path) {
            Some(p) => p.clone(),
            None => self.root.on_disk(path),
        }
    }

    pub fn root(&self) -> &'a Root {
        self.root
    }
}

/// System facts the caller already read this run (the monitor reads them
/// for its own figures): validate uses them instead of reading them again.
#[derive(Default, Clone, Copy)]
pub struct Known<'a> {
    /// The tier's quota state (`quota::inspect`).
    pub quota: Option<&'a crate::quota::Inspection>,
    /// statvfs of the base: `Some(None)` when it could not be measured.
    pub base_fs: Option<Option<&'a crate::system::statvfs::FsStats>>,
    /// The mount table and the declared mounts (setup read them for `blocked`).
    pub mounts: Option<&'a MountFacts<'a>>,
    /// The probe's saved baseline (`Some(None)`: none usable).
    pub probe_baseline: Option<Option<&'a crate::state::Baseline>>,
}

/// Runs every check, quota.tree reading the last tree walk from `state`.
pub fn validate_with_state(layout: &Layout, root: &Root, state: &StateDir, known: Known) -> Report {
    validate_scope(layout, root, Scope::All, Some(state), known)
}

/// Runs the checks of `scope`; `state`: where quota.tree reads the last walk
/// of the service trees (None: not checked).
fn validate_scope(
    layout: &Layout,
    root: &Root,
    scope: Scope,
    state: Option<&StateDir>,
    known: Known,
) -> Report {
    let start = Instant::now();
    let accounts = match root.image_dir() {
        Some(_) => Accounts::from_root(root),
        None => Accounts::Nss,
    };
    let base = on_disk(root, &layout.tier.base);
    let mut tally = Tally::default();
    let planned: Vec<_> = layout
        .planned_dirs()
        .into_iter()
        .filter(|d| scope.includes(d.service))
        .collect();
    let own_facts;
    let facts = match known.mounts {
        Some(facts) => facts,
        None => {
            own_facts = MountFacts::new(root, &layout.tier.base);
            &own_facts
        }
    };
    let mounts = facts.table();
    let never = layout.tier.require_mountpoint == RequireMountpoint::Never;
    let pin = layout.tier.filesystem_uuid.as_deref();
    let placement = match mounts {
        Ok(m) if !never || pin.is_some() => {
            let declared = facts.declared().to_vec();
            let mut p = Placement::judge(declared, root, &layout.tier.base, pin, m);
            p.declared.retain(|d| {
                (!never || d.mount.declared_in == PIN)
                    && scope.concerns(layout, &planned, &d.mount.mount_point)
            });
            p
        }
        _ => Placement::default(),
    };
    // Beneath a declared mount not in place (mount.point says so, once) the
    // directories are the disk beneath's: not looked at one by one.
    let base_unmounted = placement.blocking(&layout.tier.base).is_some();
    let reachable: Vec<_> = planned
        .iter()
        .filter(|d| placement.blocking(&d.path).is_none())
        .cloned()
        .collect();
    let resolved = Resolved::new(root, &reachable);
    // Without a mount table (reported by mount.point) read-only mounts go unseen.
    let directories = dirs::check(
        &reachable,
        &resolved,
        &accounts,
        mounts.unwrap_or(&[]),
        &mut tally,
    );
    let selinux = match base_unmounted {
        true => selinux::Labels::Skipped {
            reason: "the tier's disk is not mounted".into(),
        },
        false => selinux::check(&reachable, &resolved, &mut tally),
    };
    tally.report_denied();
    mount::check(
        layout, &base, &resolved, mounts, &placement, &reachable, &mut tally,
    );
    let mut seen_beneath = None;
    if let Scope::All = scope {
        // Neither can stop one database from running; the whole run reports them.
        if !base_unmounted {
            capacity::check(layout, &base, mounts, known.base_fs, &mut tally);
            if let Ok(m) = mounts {
                seen_beneath = shadowed::check(layout, root, m, &placement, state, &mut tally);
            }
        }
        generated::check(layout, root, &mut tally);
        quota::check(layout, root, state, known.quota, &mut tally);
        gates::check(layout, root, &mut tally);
        fitness::check(layout, root, state, known.probe_baseline, &mut tally);
    }
    Report {
        source: layout.source.to_string(),
        digest: layout.digest(),
        base,
        root: root.image_dir().map(Path::to_path_buf),
        services: match scope {
            Scope::All => Vec::new(),
            Scope::Services(list) => list.iter().map(|s| s.name.to_string()).collect(),
        },
        directories,
        selinux,
        shadowed: seen_beneath,
        tally,
        duration: start.elapsed(),
    }
}

/// What `jts-hot validate` is asked to check (main builds it from the command line).
#[derive(Debug, Clone)]
pub struct Options {
    /// Only the base, its mount and these services' directories; empty: the whole tier.
    pub services: Vec<String>,
    /// This system, or an offline image: layout, paths and owners are looked up under it.
    pub root: Root,
    /// Where quota.tree reads the last walk of the service trees.
    pub state_dir: Option<PathBuf>,
    /// The saved layout differs from the one in force: a WARNING, layout.pending.
    pub pending: Option<crate::applied::Pending>,
}

/// A saved edit not applied: WARNING layout.pending, on the saved file. It
/// never blocks a start (a gate does not even read the saved file).
pub fn report_pending(report: &mut Report, pending: &crate::applied::Pending) {
    let expected = format!("the layout in force ({})", report.digest);
    report
        .tally
        .fail(
            Status::Warning,
            &pending.saved,
            Check::LayoutPending,
            expected,
            pending.what(),
        )
        .hint(
            "nothing runs by it until applied: review it with `jts-hot apply --dry-run`, then \
             `jts-hot apply` (or revert the edit)",
        );
}

/// A --service the layout does not have: the drop-in and the layout
/// disagree, so nothing can be vouched for (UNKNOWN).
#[derive(Debug, thiserror::Error)]
#[error(
    "the layout {layout} has no service {name:?} (a drop-in rendered from another layout? \
     run `jts-hot apply`)"
)]
pub struct UnknownService {
    /// The layout's source (its file).
    pub layout: String,
    pub name: String,
}

/// The command: validates the scope `opts` names.
pub fn run(layout: &Layout, opts: &Options) -> Result<Report, UnknownService> {
    let mut services = Vec::new();
    for name in &opts.services {
        match layout.service(name) {
            Some(s) => services.push(s),
            None => {
                return Err(UnknownService {
                    layout: layout.source.to_string(),
                    name: name.clone(),
                })
            }
        }
    }
    let scope = match services.is_empty() {
        true => Scope::All,
        false => Scope::Services(&services),
    };
    let state = opts.state_dir.as_ref().map(StateDir::new);
    let mut report = validate_scope(layout, &opts.root, scope, state.as_ref(), Known::default());
    if let (Scope::All, Some(p)) = (scope, &opts.pending) {
        report_pending(&mut report, p);
    }
    Ok(report)
}
