//! `jts-hot validate`: the tier as the operating system sees it, against the
//! layout. Each check that fails is a `Finding`; nothing here prints (see
//! `output`) and nothing here writes. It reads the planned directories (never
//! below them), one mount table, a few sysfs and unit files: fast enough to
//! run at every boot before the databases.

pub mod accounts;
mod capacity;
mod dirs;
mod generated;
mod mount;
pub mod output;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cli::ValidateArgs;
use crate::layout::Layout;
use crate::mountinfo;
use crate::status::Status;
use crate::system::on_disk;
use accounts::Accounts;

/// One check that did not pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The directory, mount point or file the check is about (as found on disk).
    #[serde(serialize_with = "crate::render::escape::serialize_path")]
    pub path: PathBuf,
    /// Which check, e.g. "dir.mode" (the stable names are listed in README.md).
    pub check: &'static str,
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
}

impl Tally {
    fn pass(&mut self) {
        self.checks += 1;
    }

    fn fail(
        &mut self,
        severity: Status,
        path: &Path,
        check: &'static str,
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

impl Finding {
    fn hint(&mut self, hint: impl Into<String>) {
        self.hint = Some(hint.into());
    }
}

/// Everything validate found, for `output`.
#[derive(Debug)]
pub struct Report {
    pub source: String,
    pub digest: String,
    /// The base as validated (under --root when given).
    pub base: PathBuf,
    pub root: Option<PathBuf>,
    pub directories: usize,
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

/// Runs every check of `layout` against the system (or the image at `root`).
pub fn validate(layout: &Layout, root: Option<&Path>) -> Report {
    let start = Instant::now();
    let accounts = match root {
        Some(root) => Accounts::from_root(root),
        None => Accounts::Nss,
    };
    let base = on_disk(root, &layout.tier.base);
    let mut tally = Tally::default();
    let directories = dirs::check(layout, root, &accounts, &mut tally);
    let mounts = mountinfo::read().map_err(|e| format!("{e:#}"));
    let mounts = mounts.as_deref().map_err(String::as_str);
    mount::check(layout, &base, root, mounts, &mut tally);
    capacity::check(layout, &base, mounts, &mut tally);
    generated::check(layout, root, &mut tally);
    Report {
        source: layout.source.clone(),
        digest: layout.digest(),
        base,
        root: root.map(Path::to_path_buf),
        directories,
        tally,
        duration: start.elapsed(),
    }
}

/// The command: validate, print, and return the exit code (0 OK .. 3 UNKNOWN).
pub fn run(layout: &Layout, args: &ValidateArgs) -> u8 {
    let report = validate(layout, args.root.as_deref());
    output::print(&report, args.format, args.verbose);
    report.status().exit_code()
}
