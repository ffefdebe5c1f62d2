//! `jts-hot probe`: what device is under the tier, and what it delivers.
//! identity (sysfs) + measure (a bounded temporary file) + baseline (saved
//! figures to compare with) → one [`Report`] → text or JSON.

pub mod baseline;
pub mod fitness;
mod identity;
pub mod measure;
pub mod output;
pub mod scope;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::escape;
use crate::state::{self, Baseline, StateDir};
use crate::status::Status;
use identity::Identity;
use measure::{MeasureError, Measurements, Settings};

/// Names the JSON document's shape; bumped on an incompatible change.
pub const SCHEMA: &str = "jts-hot.probe/1";

/// What a finding is about. The serialized names are the stable contract
/// (docs/probe.md lists them; a test holds the two together).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A rotational device under the tier.
    Rotational,
    /// A device without discard (TRIM).
    NoDiscard,
    /// An NVMe device with an I/O scheduler other than none.
    Scheduler,
    /// The directory is on no block device sysfs describes (tmpfs, overlay).
    NoBlockDevice,
    /// The device could not be identified.
    Identity,
    /// A figure worse than the baseline's by more than the factor.
    Regression,
    /// The baseline is unreadable, or of another directory.
    Baseline,
    /// The device is slower than a service's database needs.
    Fitness,
    /// Refused: not enough free space for the file and the margin.
    NoSpace,
    /// Stopped by a signal.
    Interrupted,
    /// Anything else that kept the probe from its result.
    Error,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::Rotational,
        Kind::NoDiscard,
        Kind::Scheduler,
        Kind::NoBlockDevice,
        Kind::Identity,
        Kind::Regression,
        Kind::Baseline,
        Kind::Fitness,
        Kind::NoSpace,
        Kind::Interrupted,
        Kind::Error,
    ];

    /// The serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Rotational => "rotational",
            Kind::NoDiscard => "no-discard",
            Kind::Scheduler => "scheduler",
            Kind::NoBlockDevice => "no-block-device",
            Kind::Identity => "identity",
            Kind::Regression => "regression",
            Kind::Baseline => "baseline",
            Kind::Fitness => "fitness",
            Kind::NoSpace => "no-space",
            Kind::Interrupted => "interrupted",
            Kind::Error => "error",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub status: Status,
    pub kind: Kind,
    pub message: String,
}

impl Finding {
    pub fn new(status: Status, kind: Kind, message: impl Into<String>) -> Finding {
        Finding {
            status,
            kind,
            message: message.into(),
        }
    }
}

/// What `jts-hot probe` is asked to do (main builds it from the command line).
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to probe (main defaults it to the layout's tier base).
    pub dir: PathBuf,
    /// Largest size of the temporary file, at least [`measure::MIN_SIZE`].
    pub size: u64,
    /// Time budget, at most [`measure::MAX_DURATION`].
    pub duration: Duration,
    /// A figure this many times worse than the baseline's is a regression.
    pub regression_factor: f64,
    /// Save this run as the baseline.
    pub save: bool,
    pub state_dir: PathBuf,
    /// What each of the layout's services needs of the device.
    pub needs: Vec<fitness::Need>,
    /// The tier's base and service directories: whose figures these are.
    pub tier: scope::Tier,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub schema: &'static str,
    /// The worst finding's status (OK when there is none).
    pub status: Status,
    #[serde(serialize_with = "escape::serialize_path")]
    pub dir: PathBuf,
    pub size_bytes: u64,
    pub duration_seconds: f64,
    pub regression_factor: f64,
    pub identity: Option<Identity>,
    pub measurements: Option<Measurements>,
    /// The saved baseline this run was compared with.
    pub baseline: Option<Baseline>,
    /// Where this run was saved as the new baseline (--save).
    #[serde(serialize_with = "escape::serialize_opt_path")]
    pub saved_to: Option<PathBuf>,
    /// Which of the layout's services the figures are of (null when DIR
    /// could not be resolved).
    pub scope: Option<scope::Scope>,
    /// Each service of `scope.applies_to` judged on this run's figures
    /// (empty without measurements, or for a directory outside the tier).
    pub fitness: Vec<fitness::ServiceFitness>,
    pub findings: Vec<Finding>,
}

/// Runs the probe. Never fails: what kept it from a result is a finding.
pub fn run(opts: &Options) -> Report {
    let stop = Arc::new(AtomicBool::new(false));
    let dir = &opts.dir;
    // Printed as given when it cannot be resolved, canonical otherwise.
    let mut report = Report {
        schema: SCHEMA,
        status: Status::Ok,
        dir: dir.clone(),
        size_bytes: opts.size,
        duration_seconds: opts.duration.as_secs_f64(),
        regression_factor: opts.regression_factor,
        identity: None,
        measurements: None,
        baseline: None,
        saved_to: None,
        scope: None,
        fitness: Vec::new(),
        findings: Vec::new(),
    };
    // From here on a signal only asks the loops to stop, so the file is
    // removed: Ctrl-C, kill, a dropped ssh session (SIGHUP), Ctrl-\ (SIGQUIT).
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGQUIT,
    ] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(&stop)) {
            report.findings.push(Finding::new(
                Status::Unknown,
                Kind::Error,
                format!("cannot handle signal {sig}: {e}"),
            ));
        }
    }
    if report.findings.is_empty() {
        // Canonical, so the baseline compares the same directory however it was named.
        match dir.canonicalize() {
            Ok(dir) => {
                report.dir = dir.clone();
                probe(opts, &dir, &stop, &mut report);
            }
            Err(e) => report.findings.push(Finding::new(
                Status::Unknown,
                Kind::Error,
                format!("cannot probe {}: {e}", escape::untrusted_path(dir)),
            )),
        }
    }
    report.status = report
        .findings
        .iter()
        .map(|f| f.status)
        .max()
        .unwrap_or(Status::Ok);
    report
}

fn probe(opts: &Options, dir: &Path, stop: &AtomicBool, report: &mut Report) {
    let scope = scope::of(dir, &opts.tier);
    let f = &mut report.findings;
    match identity::identify(dir) {
        Ok(id) => {
            f.extend(identity::findings(&id));
            report.identity = Some(id);
        }
        Err(e) => f.push(Finding::new(
            Status::Warning,
            Kind::Identity,
            format!(
                "cannot identify the device under {}: {e:#}",
                escape::untrusted_path(dir)
            ),
        )),
    }
    let settings = Settings {
        size: opts.size,
        duration: opts.duration,
    };
    let m = match measure::measure(dir, &settings, stop) {
        Ok(m) => m,
        Err(e) => {
            let kind = match e {
                MeasureError::NoSpace { .. } => Kind::NoSpace,
                MeasureError::Interrupted => Kind::Interrupted,
                MeasureError::Io(_) => Kind::Error,
            };
            f.push(Finding::new(Status::Unknown, kind, format!("{e:#}")));
            return;
        }
    };
    let devices = report
        .identity
        .iter()
        .flat_map(|id| id.devices.iter().map(|d| d.name.clone()))
        .collect();
    let now = baseline::of(dir, devices, &m);
    let figures = fitness::Figures {
        fsync_p99_us: m.fsync.p99_us,
        randread_p99_us: m.rand_read.p99_us,
    };
    // Only the services whose data is on the probed device are judged.
    let needs: Vec<fitness::Need> = opts
        .needs
        .iter()
        .filter(|n| scope.applies(&n.service))
        .cloned()
        .collect();
    report.scope = Some(scope);
    report.fitness = fitness::judge(&needs, &figures);
    f.extend(
        report
            .fitness
            .iter()
            .filter(|s| s.verdict == fitness::Verdict::Unfit)
            .map(|s| Finding::new(Status::Warning, Kind::Fitness, s.summary())),
    );
    report.measurements = Some(m);
    let state = StateDir::new(&opts.state_dir);
    compare_with_saved(&state, &now, opts.regression_factor, report);
    if opts.save {
        match state::save(&state, &now) {
            Ok(path) => report.saved_to = Some(path),
            Err(e) => report.findings.push(Finding::new(
                Status::Unknown,
                Kind::Error,
                format!("cannot save the baseline: {e:#}"),
            )),
        }
    }
}

/// Compares this run with the saved baseline, if there is one of `now`'s
/// directory; trouble with the file is a finding.
fn compare_with_saved(state: &StateDir, now: &Baseline, factor: f64, report: &mut Report) {
    let dir = &now.dir;
    let f = &mut report.findings;
    match state::load::<Baseline>(state) {
        state::Loaded::Found(saved) if saved.dir == *dir => {
            f.extend(baseline::compare(now, &saved, factor));
            report.baseline = Some(saved);
        }
        state::Loaded::Found(saved) => f.push(Finding::new(
            Status::Ok,
            Kind::Baseline,
            format!(
                "not compared: the saved baseline is of {}, not {}",
                escape::untrusted_path(&saved.dir),
                escape::untrusted_path(dir)
            ),
        )),
        state::Loaded::Missing => {}
        state::Loaded::SetAside(why) | state::Loaded::Unreadable(why) => {
            f.push(Finding::new(Status::Warning, Kind::Baseline, why))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_serialize_as_named_and_docs_list_exactly_them() {
        for k in Kind::ALL {
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                serde_json::Value::from(k.as_str())
            );
        }
        // The first sentence of docs/probe.md's "Finding kinds:" paragraph
        // is the contract's text.
        let docs = include_str!("../../docs/probe.md");
        let sentence = docs
            .split("\n\n")
            .find_map(|p| p.strip_prefix("Finding kinds:"))
            .and_then(|p| p.split('.').next())
            .expect("docs/probe.md lists the finding kinds");
        let documented: Vec<&str> = sentence.split('`').skip(1).step_by(2).collect();
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(documented, names);
    }
}
