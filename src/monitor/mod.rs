//! `jts-hot monitor`: usage of every service against its plan, the
//! filesystem's free space, growth from the history, and one status.
//! Data flows one way: Layout → scan + statvfs + history → [`Report`] → output.

pub mod canary;
pub mod forecast;
pub mod history;
pub mod output;
pub mod subdir_round;
pub mod subdir_walk;
pub mod subdirs;

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::escape;
use crate::layout::{Layout, Service, Thresholds};
use crate::quota;
use crate::state::{self, Baseline, StateDir};
use crate::status::Status;
use crate::usage::{self, RootError, Usage};

pub use crate::system::statvfs::FsStats;
use forecast::Forecast;
use history::RunSample;

/// The JSON document's schema name; bumped only on an incompatible change.
pub const SCHEMA: &str = "jts-hot.monitor/1";

/// Everything one run found. Serialized as is for `--format json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub status: Status,
    /// Unix time of the run, in seconds.
    pub timestamp: u64,
    /// The layout's monitor.every: how often a fresh report should come, so
    /// whoever reads it can tell a stale one.
    pub interval_seconds: u64,
    #[serde(serialize_with = "escape::serialize_path")]
    pub base: PathBuf,
    pub layout_digest: String,
    /// Where the layout in force comes from (applied, packaged, explicit,
    /// builtin-asked) and when apply wrote it; the fleet compares digests
    /// per `role` (the layout's monitor.role).
    pub layout_source: &'static str,
    pub layout_applied_unix: Option<u64>,
    pub role: Option<String>,
    /// This jts-hot's version.
    pub version: &'static str,
    /// A saved edit of the layout is not applied (validation says which).
    pub layout_pending: bool,
    pub scan: Scan,
    /// null when statvfs on the base failed (see notes).
    pub filesystem: Option<Filesystem>,
    pub services: Vec<ServiceUsage>,
    pub history: HistoryInfo,
    /// The device baseline `jts-hot probe --save` stored in the state
    /// directory, exported so a dashboard shows what the tier is held to.
    pub probe_baseline: Option<Baseline>,
    /// The fsync canary (a timed 8 KiB write + fdatasync in the tier, once
    /// a run) and its histogram across runs; null when it did not run.
    pub fsync_canary: Option<canary::Canary>,
    /// `jts-hot validate` of the whole tier, run by every monitor run so that
    /// drift since the boot's validation is seen (and alerted on) within one run.
    pub validation: Validation,
    /// The last walk of the service trees for entries outside their project
    /// (run at `monitor.quota_tree_every`, or by `quota set --repair`); null
    /// with quotas off or before the first walk.
    pub quota_tree: Option<QuotaTree>,
    /// The budgeted walk for the top subdirectories of services measured by
    /// their quota: how far it got; null when no service's usage came from a quota.
    pub subdir_walk: Option<subdir_round::SubdirWalk>,
    /// Anything a person should know that is not a threshold breach.
    pub notes: Vec<String>,
    /// The subdirectory sizes to keep for the next run's growth (saved by
    /// [`run`] with the history); None when nothing was walked.
    #[serde(skip)]
    pub subdirs_state: Option<subdirs::Previous>,
}

/// The quota tree walk as the monitor reports it.
#[derive(Debug, Clone, Serialize)]
pub struct QuotaTree {
    /// This run walked (the walk was due); false: the saved result of an earlier one.
    pub walked_this_run: bool,
    pub every_seconds: u64,
    #[serde(flatten)]
    pub scan: quota::tree::TreeScan,
}

#[derive(Debug, Clone, Serialize)]
pub struct Validation {
    pub status: Status,
    pub checks: usize,
    pub findings: Vec<crate::validate::Finding>,
    pub duration_seconds: f64,
    /// What lies beneath the tier's mount points (mount.shadowed), when known.
    pub shadowed: Option<crate::validate::shadowed::Seen>,
}

impl Validation {
    fn of(report: crate::validate::Report) -> Validation {
        Validation {
            status: report.status(),
            checks: report.tally.checks,
            duration_seconds: report.duration.as_secs_f64(),
            shadowed: report.shadowed,
            findings: report.tally.findings,
        }
    }

    /// Findings of `check` with this severity; an UNKNOWN finding (the check
    /// could not be made) counts as critical: the tier cannot be vouched for.
    pub fn count(&self, check: crate::validate::Check, severity: Status) -> usize {
        let as_reported = |s: Status| match s {
            Status::Unknown => Status::Critical,
            s => s,
        };
        self.findings
            .iter()
            .filter(|f| f.check == check && as_reported(f.severity) == severity)
            .count()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Scan {
    pub duration_seconds: f64,
    pub threads: usize,
    /// Some directory could not be read: the sizes are lower bounds.
    pub partial: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Filesystem {
    pub status: Status,
    pub reasons: Vec<String>,
    #[serde(flatten)]
    pub stats: FsStats,
    pub free_percent: f64,
    /// Below these available bytes the filesystem is WARNING / CRITICAL.
    pub avail_warning_bytes: u64,
    pub avail_critical_bytes: u64,
    pub growth_bytes_per_day: Option<f64>,
    pub days_until_full: Option<f64>,
    /// Days to the tier's planned capacity and to full, low/likely/high.
    pub forecast: Forecast,
    /// (unix time, used bytes) over the growth window, this run included:
    /// the text report's sparkline. Not serialized (the schema is unchanged).
    #[serde(skip)]
    pub trend: Vec<(u64, u64)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceUsage {
    pub name: String,
    #[serde(serialize_with = "escape::serialize_path")]
    pub path: PathBuf,
    pub status: Status,
    pub reasons: Vec<String>,
    /// Where `allocated_bytes` comes from.
    pub usage_source: UsageSource,
    pub allocated_bytes: u64,
    /// `apparent_bytes`, `files`, `dirs`: null when the usage came from the
    /// quota (no walk); `monitor --walk` counts them.
    pub apparent_bytes: Option<u128>,
    pub files: Option<u64>,
    pub dirs: Option<u64>,
    /// The service's project quota, when the filesystem accounts it.
    pub quota: Option<QuotaFigures>,
    pub planned_bytes: u64,
    /// At or above these allocated bytes the service is WARNING / CRITICAL.
    pub warning_bytes: u64,
    pub critical_bytes: u64,
    pub percent_of_plan: f64,
    pub growth_bytes_per_day: Option<f64>,
    pub days_until_plan: Option<f64>,
    /// Days to the plan and to a full filesystem (at this service's growth
    /// alone), low/likely/high.
    pub forecast: Forecast,
    pub partial: bool,
    /// The largest first- and second-level subdirectories (`monitor.top`
    /// of each) and their growth since the previous walk; null when the
    /// service was not walked (its usage came from the quota).
    pub subdirs: Option<subdirs::TopSubdirs>,
    /// Paths as text, escaped (`escape::untrusted_path`).
    pub unreadable: Vec<String>,
    pub errors: Vec<String>,
    /// (unix time, allocated bytes) over the growth window, this run
    /// included: the text report's sparkline. Not serialized.
    #[serde(skip)]
    pub trend: Vec<(u64, u64)>,
    /// The service as the layout declares it: the formatters read a
    /// declared value (a plan, a limit) from here, so exporting one more
    /// needs no field of its own. Not serialized (the JSON has its figures).
    #[serde(skip)]
    pub declared: Service,
}

/// How a service's usage was measured (the serialized form is a contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UsageSource {
    /// One quotactl: the service's project, O(1).
    Quota,
    /// A walk of the service directory, as du -s -x.
    Walk,
}

impl UsageSource {
    pub const ALL: [UsageSource; 2] = [UsageSource::Quota, UsageSource::Walk];

    /// The serialized name (JSON `usage_source`, the metrics' `source` label).
    pub fn as_str(self) -> &'static str {
        match self {
            UsageSource::Quota => "quota",
            UsageSource::Walk => "walk",
        }
    }
}

/// A service's project quota as the filesystem holds it.
#[derive(Debug, Clone, Serialize)]
pub struct QuotaFigures {
    pub project_id: u32,
    /// Bytes charged to the project (may differ from a walk where files
    /// predate the tagging, see docs/quotas.md).
    pub used_bytes: u64,
    pub inodes: u64,
    /// null: no limit.
    pub soft_limit_bytes: Option<u64>,
    pub hard_limit_bytes: Option<u64>,
}

impl QuotaFigures {
    fn of(project_id: u32, q: &quota::Quota) -> QuotaFigures {
        QuotaFigures {
            project_id,
            used_bytes: q.space_bytes,
            inodes: q.inodes,
            soft_limit_bytes: (q.soft_bytes > 0).then_some(q.soft_bytes),
            hard_limit_bytes: (q.hard_bytes > 0).then_some(q.hard_bytes),
        }
    }
}

impl ServiceUsage {
    /// Where the usage came from; a quota's limits are judged too.
    fn set_source(&mut self, source: UsageSource, figures: Option<QuotaFigures>) {
        if source == UsageSource::Quota {
            // No walk: these are not known.
            self.apparent_bytes = None;
            self.files = None;
            self.dirs = None;
        }
        self.usage_source = source;
        if let Some(f) = &figures {
            judge_quota(self, f);
        }
        self.quota = figures;
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryInfo {
    #[serde(serialize_with = "escape::serialize_path")]
    pub path: PathBuf,
    pub samples: usize,
}

/// What `jts-hot monitor` is asked to do (main builds it from the command line).
#[derive(Debug, Clone)]
pub struct Options {
    /// The state directory: the growth history is read and saved there, the
    /// probe's baseline read from it.
    pub state_dir: PathBuf,
    /// Walk every service directory, even one whose quota gives its usage.
    pub walk: bool,
    /// Walker threads; None: [`usage::default_threads`].
    pub threads: Option<usize>,
    /// A saved edit of the layout not applied: a validation finding
    /// (layout.pending) and the metric jts_hot_layout_pending.
    pub pending: Option<crate::applied::Pending>,
    /// Where the layout in force comes from (jts_hot_layout_info's source).
    pub origin: crate::applied::Origin,
    /// The system validated (main's one `Root`: "/").
    pub root: crate::system::Root,
    /// Where the run's metrics are written for node_exporter's textfile
    /// collector (`--textfile-dir`); `None`: not written.
    pub textfile_dir: Option<PathBuf>,
}

/// Measures and judges the tier, then saves the growth history (the one
/// write a run makes, besides the textfile main may ask for). Never fails:
/// whatever goes wrong is a note, and UNKNOWN when a figure is missing.
pub fn run(layout: &Layout, opts: &Options) -> Report {
    // A shell's `ulimit -n 1024` is only the soft limit: thousands of
    // services and deep trees need more (the walk sizes itself to it).
    crate::system::limits::raise_nofile();
    let state = StateDir::new(&opts.state_dir);
    // One run at a time extends the history: a second waits for the first
    // (a timer run and a manual one), at most LOCK_WAIT, then measures
    // without recording.
    let (held, may_save, lock_note) = match state::lock(&state, LOCK_WAIT) {
        Ok(state::Lock::Held(l)) => (Some(l), true, None),
        Ok(state::Lock::Busy(pid)) => (
            None,
            false,
            Some(format!(
                "another monitor run{} held {} for {} s: this run's sample is not recorded",
                pid.map_or(String::new(), |p| format!(" (PID {p})")),
                escape::untrusted_path(&state.path().join(state::LOCK_FILE)),
                LOCK_WAIT.as_secs()
            )),
        ),
        // No lock to be had (a state directory that cannot be created):
        // saving reports why it cannot save either.
        Err(_) => (None, true, None),
    };
    let loaded = history::load(&state);
    let (mut report, history) = measure(layout, opts, loaded, SystemTime::now());
    report.notes.extend(lock_note);
    if may_save {
        // Held lock: one canary a run, and one writer of its histogram.
        fsync_canary(layout, opts, &mut report);
    }
    if let Some(history) = history.filter(|_| may_save) {
        save_history(&mut report, &history, &state);
    }
    if may_save {
        save_last_run(&mut report, &state);
        if let Some(Err(e)) = report.subdir_walk.as_mut().map(|w| w.save(&state)) {
            report
                .notes
                .push(format!("cannot save the subdirectory walk: {e:#}"));
        }
        if let Some(sizes) = report.subdirs_state.take() {
            if let Err(e) = state::save(&state, &sizes) {
                report
                    .notes
                    .push(format!("cannot save the subdirectory sizes: {e:#}"));
            }
        }
    }
    drop(held);
    if let Some(dir) = &opts.textfile_dir {
        write_textfile(&mut report, dir);
    }
    report
}

/// The canary, on the live system with the tier's disk in place (never
/// into the directory beneath a missing mount).
fn fsync_canary(layout: &Layout, opts: &Options, report: &mut Report) {
    let unmounted = report
        .validation
        .count(crate::validate::Check::MountPoint, Status::Critical)
        > 0;
    if opts.root.image_dir().is_some() || report.filesystem.is_none() || unmounted {
        return;
    }
    let state = StateDir::new(&opts.state_dir);
    let mut notes = Vec::new();
    let mut canary = canary::run(
        &layout.tier.fsync_canary(),
        &state,
        report.timestamp,
        &mut notes,
    );
    report.notes.extend(notes);
    // The probe saved its baseline under the canonical directory it probed.
    let base = &layout.tier.base;
    let base = base.canonicalize().unwrap_or_else(|_| base.clone());
    canary::judge(&mut canary, report.probe_baseline.as_ref(), &base);
    report.fsync_canary = Some(canary);
}

/// Writes the run's Prometheus text into `dir` for node_exporter's textfile
/// collector, atomically: a step of the run, after its status is known. A
/// failure is a note and UNKNOWN: Prometheus would otherwise go stale silently.
fn write_textfile(report: &mut Report, dir: &Path) {
    let text = output::prometheus::render(report);
    let file = dir.join(output::prometheus::TEXTFILE_NAME);
    // What a run killed before its rename left (only jts-hot's own names).
    let written = crate::files::remove_stale_temporaries(dir)
        .and_then(|_| crate::files::write_atomic(&file, text.as_bytes(), 0o644));
    if let Err(e) = written {
        report.notes.push(format!(
            "cannot write {}: {e:#}",
            escape::untrusted_path(&file)
        ));
        report.status = report.status.max(Status::Unknown);
    }
}

/// The run in a few lines for `jts-hot status`: when, its status, the three
/// services nearest their plan.
fn save_last_run(report: &mut Report, state: &StateDir) {
    let mut nearest: Vec<state::NearPlan> = report
        .services
        .iter()
        .map(|s| state::NearPlan {
            service: s.name.clone(),
            percent_of_plan: s.percent_of_plan,
            status: s.status,
        })
        .collect();
    nearest.sort_by(|a, b| b.percent_of_plan.total_cmp(&a.percent_of_plan));
    nearest.truncate(3);
    let last = state::LastRun {
        timestamp: report.timestamp,
        status: report.status,
        nearest,
    };
    if let Err(e) = state::save(state, &last) {
        report
            .notes
            .push(format!("cannot save the last run's summary: {e:#}"));
    }
}

/// How long a run waits for another to finish with the history.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Writes the history this run extended; a failure is a note.
fn save_history(report: &mut Report, history: &history::History, state: &StateDir) {
    if let Err(e) = history.save(state) {
        report.notes.push(format!(
            "cannot save the history in {}: {e:#}",
            escape::untrusted_path(state.path())
        ));
    }
}

/// Each service's usage and how it was measured, with its quota figures.
struct Measured {
    usages: Vec<(Usage, UsageSource, Option<QuotaFigures>)>,
    threads: usize,
}

/// A service under an active project quota is one quotactl; the others are
/// walked (all of them with `walk_all`).
fn measure_usage(
    layout: &Layout,
    found: &quota::Inspection,
    threads: usize,
    walk_all: bool,
    stop: &std::sync::Arc<std::sync::atomic::AtomicBool>,
    notes: &mut Vec<String>,
) -> Measured {
    let quotas: Vec<Option<&quota::Observed>> = layout
        .services
        .iter()
        .map(|s| found.services.iter().find(|o| o.service == s.name.as_str()))
        .collect();
    let from_quota: Vec<bool> = quotas
        .iter()
        .map(|o| !walk_all && o.is_some_and(|o| o.active() && o.quota.is_some()))
        .collect();
    let names: Vec<&std::ffi::OsStr> = layout
        .services
        .iter()
        .zip(&from_quota)
        .filter(|(_, q)| !**q)
        .map(|(s, _)| std::ffi::OsStr::new(s.name.as_str()))
        .collect();
    // Every service's usage from its quota: nothing to walk, so no walker
    // thread or descriptor budget (the run's cost stays flat).
    let scanned = if names.is_empty() {
        usage::Scanned {
            usages: Vec::new(),
            threads: 0,
            thread_error: None,
        }
    } else {
        walk(layout, &names, threads, stop, notes)
    };
    let mut walked = scanned.usages.into_iter();
    let usages = layout
        .services
        .iter()
        .zip(&quotas)
        .zip(&from_quota)
        .map(|((s, o), q)| {
            let figures = o.and_then(|o| o.quota.map(|q| QuotaFigures::of(o.project_id, &q)));
            match (q, o.and_then(|o| o.quota)) {
                (true, Some(figures_now)) => (
                    Usage {
                        root: s.path(layout),
                        totals: usage::Totals {
                            allocated_bytes: figures_now.space_bytes,
                            ..Default::default()
                        },
                        ..Default::default()
                    },
                    UsageSource::Quota,
                    figures,
                ),
                _ => (
                    walked
                        .next()
                        .expect("one walk per service not under a quota"),
                    UsageSource::Walk,
                    figures,
                ),
            }
        })
        .collect();
    Measured {
        usages,
        threads: scanned.threads,
    }
}

/// The walk of the services `names`, cut short by SIGTERM or SIGINT.
fn walk(
    layout: &Layout,
    names: &[&std::ffi::OsStr],
    threads: usize,
    stop: &std::sync::Arc<std::sync::atomic::AtomicBool>,
    notes: &mut Vec<String>,
) -> usage::Scanned {
    if threads > usage::MAX_THREADS {
        notes.push(format!(
            "--threads {threads} is more than {}: using {}",
            usage::MAX_THREADS,
            usage::MAX_THREADS
        ));
    }
    let mut scanned = usage::scan_until(&layout.tier.base, names, threads, stop);
    notes.extend(scanned.thread_error.take());
    if stop.load(std::sync::atomic::Ordering::Relaxed) {
        notes.push(
            "the walk was cut short by a signal (the unit's TimeoutStartSec=, or a stop): \
             services not walked to the end are partial"
                .to_string(),
        );
    }
    scanned
}

/// A flag that SIGTERM or SIGINT sets, so that a run stopped by systemd at
/// its TimeoutStartSec= ends its walk early and still writes its metrics and
/// history; a second signal ends the process at once.
fn stop_on_signal(notes: &mut Vec<String>) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [SIGTERM, SIGINT] {
        let registered = signal_hook::flag::register_conditional_shutdown(sig, 1, stop.clone())
            .and_then(|_| signal_hook::flag::register(sig, stop.clone()));
        if let Err(e) = registered {
            notes.push(format!("cannot handle signal {sig}: {e}"));
        }
    }
    stop
}

/// The history's series with this run's point, for growth and the sparkline.
struct Trends {
    now: u64,
    /// The layout's forecast window, seconds.
    window: u64,
}

impl Trends {
    /// `past` with this run's value (weight 1) added.
    fn with_run(&self, mut past: Vec<(u64, u64, u64)>, value: Option<u64>) -> Vec<(u64, u64, u64)> {
        past.extend(value.map(|v| (self.now, v, 1)));
        past
    }

    /// The points of the growth window, for the sparkline. Saturating: a
    /// sample's time comes from disk (any u64); samples after a clock step
    /// back are not drawn.
    fn recent(&self, pts: &[(u64, u64, u64)]) -> Vec<(u64, u64)> {
        pts.iter()
            .filter(|(t, _, _)| t.saturating_add(self.window) >= self.now && *t <= self.now)
            .map(|&(t, v, _)| (t, v))
            .collect()
    }
}

/// Scans, reads statvfs, judges every figure against the layout and the
/// history `loaded` (with this run's sample). Returns the report and the
/// history to save, None when the one on disk could not be read (saving
/// would erase it). Writes nothing under the tier nor the history; in the
/// state directory, only the quota tree walk when one was due.
pub fn measure(
    layout: &Layout,
    opts: &Options,
    loaded: history::Loaded,
    now: SystemTime,
) -> (Report, Option<history::History>) {
    let now_s = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut notes = Vec::new();
    let state = StateDir::new(&opts.state_dir);
    // SIGTERM (the unit's TimeoutStartSec=) ends a walk early; the run still
    // writes its metrics and history.
    let stop = stop_on_signal(&mut notes);
    // Before validation, which reports its result (quota.tree); walks only
    // when due, within half the unit's TimeoutStartSec= so that the rest of
    // the run still fits in it.
    let halt = quota::tree::Halt {
        stop: &stop,
        budget: Some(crate::render::monitor_timeout(layout.monitor.every) / 2),
    };
    // Read once, for the tree walk, validation and this run's own figures;
    // in the sandboxed unit from jts-hot-quota-read.service's record.
    let started = Instant::now();
    let quotas = quota::inspect_with(layout, Some(&state));
    let fs = crate::system::statvfs::of(&layout.tier.base)
        .map_err(|e| {
            notes.push(format!(
                "cannot statvfs {}: {e}",
                escape::untrusted_path(&layout.tier.base)
            ))
        })
        .ok();
    let read_once = started.elapsed();
    let tree = quota::tree::at_cadence(layout, &state, quotas.state, &halt);
    notes.extend(tree.notes);
    let quota_tree = tree.scan.map(|scan| QuotaTree {
        walked_this_run: tree.ran,
        every_seconds: layout.monitor.quota_tree_every().as_secs(),
        scan,
    });
    let baseline = state::load::<Baseline>(&state);
    let baseline_trouble = baseline.trouble().map(str::to_string);
    let baseline = baseline.found();
    let known = crate::validate::Known {
        quota: Some(&quotas),
        base_fs: Some(fs.as_ref()),
        mounts: None,
        probe_baseline: Some(baseline.as_ref()),
    };
    let mut validated = crate::validate::validate_with_state(layout, &opts.root, &state, known);
    if let Some(p) = &opts.pending {
        crate::validate::report_pending(&mut validated, p);
    }
    let validation = Validation::of(validated);

    let started = Instant::now();
    let threads = opts.threads.unwrap_or_else(usage::default_threads);
    let measured = measure_usage(layout, &quotas, threads, opts.walk, &stop, &mut notes);
    let duration = (started.elapsed() + read_once).as_secs_f64();

    let mut subdir_walk = subdir_round::of_run(layout, &measured.usages, &state, now_s, &mut notes);
    let (tops, subdirs_state) = subdirs::largest(
        layout,
        &measured.usages,
        subdir_walk.as_mut(),
        &state,
        now_s,
        &mut notes,
    );

    // The history, with this run's sample added before growth is computed.
    let mut hist = loaded.history;
    notes.extend(loaded.notes);
    let sample = RunSample::of_run(now_s, fs.as_ref(), layout, &measured.usages);
    let (mut services, filesystem) = judge(layout, measured.usages, fs, &hist, &sample);
    for (s, top) in services.iter_mut().zip(tops) {
        s.subdirs = top;
    }
    notes.extend(hist.record(sample));

    notes.extend(baseline_trouble);
    let report = Report {
        schema: SCHEMA,
        status: worst(&services, filesystem.as_ref(), &validation),
        timestamp: now_s,
        interval_seconds: layout.monitor.every.as_secs(),
        base: layout.tier.base.clone(),
        layout_digest: layout.digest(),
        layout_source: opts.origin.kind(),
        layout_applied_unix: opts.origin.applied_unix(),
        role: layout.monitor.role.clone(),
        version: env!("CARGO_PKG_VERSION"),
        layout_pending: opts.pending.is_some(),
        scan: Scan {
            duration_seconds: duration,
            threads: measured.threads,
            partial: services.iter().any(|s| s.partial),
        },
        filesystem,
        services,
        history: HistoryInfo {
            path: history::path(&state),
            samples: hist.samples.len(),
        },
        probe_baseline: baseline,
        fsync_canary: None,
        validation,
        quota_tree,
        subdir_walk,
        notes,
        subdirs_state,
    };
    (report, loaded.saveable.then_some(hist))
}

impl RunSample {
    /// This run's figures: services scanned completely and the filesystem.
    fn of_run(
        t: u64,
        fs: Option<&FsStats>,
        layout: &Layout,
        usages: &[(Usage, UsageSource, Option<QuotaFigures>)],
    ) -> RunSample {
        RunSample {
            t,
            fs_used: fs.map(|f| f.used_bytes),
            services: layout
                .services
                .iter()
                .zip(usages)
                .filter(|(_, (u, _, _))| !u.partial())
                .map(|(s, (u, _, _))| (s.name.as_str().to_string(), u.totals.allocated_bytes))
                .collect(),
        }
    }
}

/// Every service and the filesystem judged against the thresholds, with
/// their growth over the history and this run's `sample`.
fn judge(
    layout: &Layout,
    usages: Vec<(Usage, UsageSource, Option<QuotaFigures>)>,
    fs: Option<FsStats>,
    hist: &history::History,
    sample: &RunSample,
) -> (Vec<ServiceUsage>, Option<Filesystem>) {
    let now = sample.t;
    let window = layout.monitor.forecast_window().as_secs();
    let trends = Trends { now, window };
    let avail = fs.as_ref().map_or(0, |f| f.avail_bytes);
    let th = &layout.thresholds;
    // Looked up by name once each: thousands of services stay linear.
    let columns = hist.columns();
    let this_run: std::collections::HashMap<&str, u64> = sample
        .services
        .iter()
        .map(|(n, b)| (n.as_str(), *b))
        .collect();
    let services = layout
        .services
        .iter()
        .zip(usages)
        .map(|(svc, (u, source, figures))| {
            let name = svc.name.as_str();
            let past = columns
                .get(name)
                .map_or_else(Vec::new, |&i| hist.series_at(i));
            let points = trends.with_run(past, this_run.get(name).copied());
            let growth = history::growth_over(&points, now, window);
            let to_plan = svc.planned.0.saturating_sub(u.totals.allocated_bytes);
            let forecast = Forecast::of(&points, now, window, to_plan, avail);
            let mut s = judge_service(svc, u, growth, forecast, th);
            s.trend = trends.recent(&points);
            s.set_source(source, figures);
            s
        })
        .collect();
    let filesystem = fs.map(|stats| {
        let points = trends.with_run(hist.fs_series(), sample.fs_used);
        let growth = history::growth_over(&points, now, window);
        let to_plan = layout.tier.capacity.0.saturating_sub(stats.used_bytes);
        let forecast = Forecast::of(&points, now, window, to_plan, stats.avail_bytes);
        let mut judged = judge_fs(stats, growth, forecast, th);
        judged.trend = trends.recent(&points);
        judged
    });
    (services, filesystem)
}

/// The run's status: the worst of everything, UNKNOWN without a filesystem.
fn worst(services: &[ServiceUsage], fs: Option<&Filesystem>, v: &Validation) -> Status {
    services
        .iter()
        .map(|s| s.status)
        .chain(fs.map(|f| f.status))
        .chain(fs.is_none().then_some(Status::Unknown))
        .chain([v.status])
        .max()
        .unwrap_or(Status::Ok)
}

/// `percent` (at most 100) of `bytes`: never more than `bytes`, so it fits.
fn share(bytes: u64, percent: u8) -> u64 {
    let part = u128::from(bytes) * u128::from(percent.min(100)) / 100;
    u64::try_from(part).expect("at most 100% of a u64")
}

fn judge_service(
    svc: &Service,
    u: Usage,
    growth: Option<f64>,
    forecast: Forecast,
    th: &Thresholds,
) -> ServiceUsage {
    let t = &u.totals;
    let planned = svc.planned.0;
    let warning_bytes = share(planned, th.warn_percent);
    let critical_bytes = share(planned, th.crit_percent);
    let percent = if planned == 0 {
        0.0
    } else {
        t.allocated_bytes as f64 * 100.0 / planned as f64
    };
    let days_until_plan = history::days_until(planned.saturating_sub(t.allocated_bytes), growth);
    let marks = (warning_bytes, critical_bytes);
    let (status, reasons) = concerns(&u, marks, percent, &forecast, days_until_plan, th);
    ServiceUsage {
        name: svc.name.to_string(),
        path: u.root.clone(),
        status,
        reasons,
        usage_source: UsageSource::Walk,
        allocated_bytes: t.allocated_bytes,
        apparent_bytes: Some(t.apparent_bytes),
        files: Some(t.files),
        dirs: Some(t.dirs),
        quota: None,
        planned_bytes: planned,
        warning_bytes,
        critical_bytes,
        percent_of_plan: percent,
        growth_bytes_per_day: growth,
        days_until_plan,
        forecast,
        partial: u.partial(),
        subdirs: None,
        unreadable: u
            .unreadable
            .iter()
            .map(|p| escape::untrusted_path(p))
            .collect(),
        errors: u.errors,
        trend: Vec::new(),
        declared: svc.clone(),
    }
}

/// A service's status and why: its share of plan, the projection, whether
/// it could be scanned at all and completely.
fn concerns(
    u: &Usage,
    (warning_bytes, critical_bytes): (u64, u64),
    percent: f64,
    forecast: &Forecast,
    days_until_plan: Option<f64>,
    th: &Thresholds,
) -> (Status, Vec<String>) {
    let mut status = Status::Ok;
    let mut reasons = Vec::new();
    let mut raise = |s: Status, why: String| {
        status = status.max(s);
        reasons.push(why);
    };
    if let Some(e) = &u.root_error {
        let status = match e {
            // Measuring wherever a planted link points would be a lie.
            RootError::Symlink { .. } => Status::Critical,
            RootError::Other(_) => Status::Unknown,
        };
        raise(status, format!("cannot scan: {e}"));
    } else if u.totals.allocated_bytes >= critical_bytes {
        raise(
            Status::Critical,
            format!("{percent:.1}% of plan (critical at {}%)", th.crit_percent),
        );
    } else if u.totals.allocated_bytes >= warning_bytes {
        raise(
            Status::Warning,
            format!("{percent:.1}% of plan (warning at {}%)", th.warn_percent),
        );
    }
    // Judged by the low bound (the soonest the interval allows), as the
    // alerts are; a history too short for an interval falls back to the line.
    if let Some(days) = forecast.days_to_plan.low.or(days_until_plan) {
        if u.root_error.is_none() && days <= th.plan_reached_warn_days as f64 && days > 0.0 {
            raise(
                Status::Warning,
                format!(
                    "projected to reach its plan in {}",
                    span_of_days(&forecast.days_to_plan, days)
                ),
            );
        }
    }
    if !u.unreadable.is_empty() || !u.errors.is_empty() || u.unlisted > 0 {
        // The figures are lower bounds: a person must look.
        let unlisted = match u.unlisted {
            0 => String::new(),
            n => format!(" ({n} more not listed)"),
        };
        raise(
            Status::Warning,
            format!(
                "partial scan: {} unreadable directories, {} other errors{unlisted}",
                u.unreadable.len(),
                u.errors.len()
            ),
        );
    }
    (status, reasons)
}

/// A service at its hard limit has its writes refused: CRITICAL. Over its
/// soft limit, the grace period runs: WARNING.
fn judge_quota(s: &mut ServiceUsage, q: &QuotaFigures) {
    let used = q.used_bytes;
    // The filesystem refuses a write that would cross the limit, so usage
    // stops just short of it: within 1% is "at" it.
    if let Some(hard) = q
        .hard_limit_bytes
        .filter(|h| used as u128 * 100 >= *h as u128 * 99)
    {
        s.status = s.status.max(Status::Critical);
        s.reasons.push(format!(
            "at its hard quota limit ({hard} bytes): writes are refused"
        ));
    } else if let Some(soft) = q.soft_limit_bytes.filter(|l| used > *l) {
        s.status = s.status.max(Status::Warning);
        s.reasons.push(format!(
            "over its soft quota limit ({soft} bytes): writes are refused once the grace period runs out"
        ));
    }
}

/// "9.5 days (8.1 to 11.2)", or "9.5 days" without an interval.
pub fn span_of_days(b: &forecast::Bounds, soonest: f64) -> String {
    let (low, _) = (format!("{soonest:.1}"), ());
    match (b.likely, b.high) {
        (Some(likely), Some(high)) if format!("{high:.1}") != low => {
            format!("{likely:.1} days ({low} to {high:.1})")
        }
        (Some(likely), None) => format!("{likely:.1} days (as soon as {soonest:.1})"),
        _ => format!("{soonest:.1} days"),
    }
}

fn judge_fs(
    stats: FsStats,
    growth: Option<f64>,
    forecast: Forecast,
    th: &Thresholds,
) -> Filesystem {
    let usable = stats.used_bytes + stats.avail_bytes;
    let free = stats.free_percent();
    let days_until_full = history::days_until(stats.avail_bytes, growth);
    let mut status = Status::Ok;
    let mut reasons = Vec::new();
    if free < th.fs_free_crit_percent as f64 {
        status = Status::Critical;
        reasons.push(format!(
            "{free:.1}% free (critical below {}%)",
            th.fs_free_crit_percent
        ));
    } else if free < th.fs_free_warn_percent as f64 {
        status = Status::Warning;
        reasons.push(format!(
            "{free:.1}% free (warning below {}%)",
            th.fs_free_warn_percent
        ));
    }
    if let Some(days) = forecast.days_to_full.low.or(days_until_full) {
        if days <= th.plan_reached_warn_days as f64 {
            status = status.max(Status::Warning);
            reasons.push(format!(
                "projected full in {}",
                span_of_days(&forecast.days_to_full, days)
            ));
        }
    }
    Filesystem {
        status,
        reasons,
        free_percent: free,
        avail_warning_bytes: share(usable, th.fs_free_warn_percent),
        avail_critical_bytes: share(usable, th.fs_free_crit_percent),
        growth_bytes_per_day: growth,
        days_until_full,
        forecast,
        stats,
        trend: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn th() -> Thresholds {
        Layout::builtin().thresholds
    }

    /// No forecast: too few samples.
    fn none() -> Forecast {
        Forecast::of(&[], 0, 7 * 86_400, 1, 1)
    }

    fn fs(used: u64, avail: u64) -> FsStats {
        FsStats {
            size_bytes: used + avail,
            used_bytes: used,
            avail_bytes: avail,
            inodes: 10,
            inodes_free: 5,
        }
    }

    #[test]
    fn usage_sources_serialize_as_named_and_metrics_docs_name_them() {
        let docs = include_str!("../../docs/metrics.md");
        for u in UsageSource::ALL {
            assert_eq!(
                serde_json::to_value(u).unwrap(),
                serde_json::Value::from(u.as_str())
            );
            assert!(docs.contains(&format!("\"{}\"", u.as_str())), "{u:?}");
        }
    }

    #[test]
    fn filesystem_status_from_free_share_and_projection() {
        assert_eq!(judge_fs(fs(50, 50), None, none(), &th()).status, Status::Ok);
        assert_eq!(
            judge_fs(fs(90, 10), None, none(), &th()).status,
            Status::Warning
        );
        assert_eq!(
            judge_fs(fs(97, 3), None, none(), &th()).status,
            Status::Critical
        );
        // 50 bytes left at 10 a day: full in 5 days, within 14.
        let f = judge_fs(fs(50, 50), Some(10.0), none(), &th());
        assert_eq!(f.status, Status::Warning);
        assert_eq!(f.days_until_full, Some(5.0));
        assert_eq!(
            judge_fs(fs(50, 50), Some(1.0), none(), &th()).status,
            Status::Ok
        );
    }

    #[test]
    fn service_status_from_share_of_plan() {
        let usage = |bytes| Usage {
            totals: usage::Totals {
                allocated_bytes: bytes,
                ..Default::default()
            },
            ..Default::default()
        };
        let mut svc = Layout::builtin().services[0].clone();
        svc.planned = crate::layout::Bytes(1000);
        let judge = |bytes, growth| judge_service(&svc, usage(bytes), growth, none(), &th()).status;
        assert_eq!(judge(799, None), Status::Ok);
        assert_eq!(judge(800, None), Status::Warning);
        assert_eq!(judge(950, None), Status::Critical);
        assert_eq!(judge(500, Some(50.0)), Status::Warning, "plan in 10 days");
        assert_eq!(judge(500, Some(10.0)), Status::Ok, "plan in 50 days");
    }
}
