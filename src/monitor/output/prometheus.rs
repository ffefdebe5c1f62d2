//! The report in the Prometheus text exposition format, for stdout and for
//! node_exporter's textfile collector. Every family has HELP and TYPE; a
//! figure that is not known (no growth yet) is left out rather than faked.
//! One table, [`FAMILIES`], in the order they are written: each family's
//! name, help and how its samples come from the report.

use std::fmt::Write;

use crate::escape::{self, prometheus_label_value};
use crate::monitor::canary::Histogram;
use crate::monitor::forecast::Bounds;
use crate::monitor::{Filesystem, Report, ServiceUsage};
use crate::state::Baseline;
use crate::status::Status;

/// The file written into the textfile collector's directory.
pub(crate) const TEXTFILE_NAME: &str = "jts_hot.prom";

/// One sample: its labels and its value.
type Sample = (Vec<(&'static str, String)>, f64);

/// A gauge family: written with HELP and TYPE when it has any sample.
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    /// Its label names, in the order its samples carry them (`monitor --help`).
    pub labels: &'static [&'static str],
    samples: fn(&Report) -> Vec<Sample>,
}

/// Every family, in the order written.
pub const FAMILIES: &[Family] = &[
    Family {
        name: "jts_hot_service_used_bytes",
        help: "Allocated bytes under the service directory (st_blocks*512, as du -s -x), or charged to its project quota (see jts_hot_service_usage_source).",
        labels: &["service"],
        samples: |r| per_service(r, |s| Some(s.allocated_bytes as f64)),
    },
    Family {
        name: "jts_hot_service_apparent_bytes",
        help: "Apparent size in bytes under the service directory (du --apparent-size); absent when the usage came from the quota.",
        labels: &["service"],
        samples: |r| per_service(r, |s| s.apparent_bytes.map(|v| v as f64)),
    },
    Family {
        name: "jts_hot_service_files",
        help: "Non-directory entries under the service directory, hard links once; absent when the usage came from the quota.",
        labels: &["service"],
        samples: |r| per_service(r, |s| s.files.map(|v| v as f64)),
    },
    Family {
        name: "jts_hot_service_directories",
        help: "Directories under the service directory, itself included; absent when the usage came from the quota.",
        labels: &["service"],
        samples: |r| per_service(r, |s| s.dirs.map(|v| v as f64)),
    },
    Family {
        name: "jts_hot_service_usage_source",
        help: "1 for how the service's used bytes were measured: source=\"quota\" (its project quota, O(1)) or \"walk\".",
        labels: &["service", "source"],
        samples: usage_sources,
    },
    Family {
        name: "jts_hot_service_quota_limit_bytes",
        help: "The service's project quota block limit (kind=\"soft\" or \"hard\"); absent: no such limit.",
        labels: &["service", "kind"],
        samples: quota_limits,
    },
    Family {
        name: "jts_hot_service_quota_used_bytes",
        help: "Bytes charged to the service's project quota.",
        labels: &["service"],
        samples: |r| per_service(r, |s| s.quota.as_ref().map(|q| q.used_bytes as f64)),
    },
    Family {
        name: "jts_hot_service_quota_inodes",
        help: "Inodes charged to the service's project quota.",
        labels: &["service"],
        samples: |r| per_service(r, |s| s.quota.as_ref().map(|q| q.inodes as f64)),
    },
    Family {
        name: "jts_hot_service_quota_project_id",
        help: "The project quota ID the layout gives the service directory.",
        labels: &["service"],
        samples: |r| per_service(r, |s| s.quota.as_ref().map(|q| q.project_id as f64)),
    },
    Family {
        name: "jts_hot_quota_misattributed_bytes",
        help: "Allocated bytes below the service directory charged to another project (or none), as the last tree walk found them (see jts_hot_quota_tree_walk_timestamp_seconds).",
        labels: &["service"],
        samples: |r| per_tree(r, |t| t.misattributed_bytes as f64),
    },
    Family {
        name: "jts_hot_quota_misattributed_inodes",
        help: "Files and directories below the service directory outside its project, or directories without the inherit flag, as the last tree walk found them.",
        labels: &["service"],
        samples: |r| per_tree(r, |t| t.misattributed_inodes as f64),
    },
    Family {
        name: "jts_hot_quota_tree_partial",
        help: "1 when the last tree walk did not finish the service's tree (its time budget, half the monitor unit's TimeoutStartSec=, a stop, or something unreadable): the misattributed figures are lower bounds.",
        labels: &["service"],
        samples: |r| per_tree(r, |t| t.partial as u8 as f64),
    },
    Family {
        name: "jts_hot_quota_tree_walk_timestamp_seconds",
        help: "When the last walk of the service trees began (Unix time); it runs at monitor.quota_tree_every (daily by default).",
        labels: &[],
        samples: |r| {
            r.quota_tree
                .iter()
                .map(|t| (vec![], t.scan.started_unix as f64))
                .collect()
        },
    },
    Family {
        name: "jts_hot_service_planned_bytes",
        help: "Bytes planned for the service in the layout.",
        labels: &["service"],
        samples: |r| per_service(r, |s| Some(s.planned_bytes as f64)),
    },
    Family {
        name: "jts_hot_service_warning_bytes",
        help: "Used bytes at which the service is WARNING (thresholds.warn_percent of plan).",
        labels: &["service"],
        samples: |r| per_service(r, |s| Some(s.warning_bytes as f64)),
    },
    Family {
        name: "jts_hot_service_critical_bytes",
        help: "Used bytes at which the service is CRITICAL (thresholds.crit_percent of plan).",
        labels: &["service"],
        samples: |r| per_service(r, |s| Some(s.critical_bytes as f64)),
    },
    Family {
        name: "jts_hot_service_growth_bytes_per_day",
        help: "Growth of used bytes per day over monitor.forecast_window, 7 days by default (absent until known).",
        labels: &["service"],
        samples: |r| per_service(r, |s| s.growth_bytes_per_day),
    },
    Family {
        name: "jts_hot_service_days_until_plan",
        help: "Projected days until the service reaches its plan at the current growth (absent when not growing).",
        labels: &["service"],
        samples: |r| per_service(r, |s| s.days_until_plan),
    },
    Family {
        name: "jts_hot_service_days_to_plan",
        help: "Forecast days until the service reaches its plan over monitor.forecast_window: bound=\"low\" (the soonest the 95% interval allows), \"likely\", \"high\"; a bound is absent when not known (flat, shrinking, too few samples) or unbounded.",
        labels: &["service", "bound"],
        samples: |r| per_service_bounds(r, |s| &s.forecast.days_to_plan),
    },
    Family {
        name: "jts_hot_service_days_to_full",
        help: "Forecast days until the filesystem's available bytes are used at this service's growth alone, bound=\"low\", \"likely\", \"high\" (absent when not known).",
        labels: &["service", "bound"],
        samples: |r| per_service_bounds(r, |s| &s.forecast.days_to_full),
    },
    Family {
        name: "jts_hot_subdir_bytes",
        help: "Allocated bytes below one of the service's largest first- or second-level subdirectories (monitor.top of each level; path relative to the service directory, escaped); for a service measured by its quota, from the budgeted walk's last complete round.",
        labels: &["service", "path"],
        samples: subdir_bytes,
    },
    Family {
        name: "jts_hot_subdir_walk_entries",
        help: "Entries the budgeted subdirectory walk examined (quota mode; one per fstatat and per directory listed): scope=\"run\" this run, \"round\" the round so far, \"budget\" what a run may spend.",
        labels: &["scope"],
        samples: |r| {
            r.subdir_walk
                .iter()
                .flat_map(|w| {
                    [
                        ("run", w.entries_this_run),
                        ("round", w.round_entries),
                        ("budget", w.budget_entries),
                    ]
                })
                .map(|(scope, v)| (vec![("scope", scope.to_string())], v as f64))
                .collect()
        },
    },
    Family {
        name: "jts_hot_subdir_walk_services",
        help: "Services in the budgeted subdirectory walk's round: state=\"done\" walked to the end, \"all\" in the round.",
        labels: &["state"],
        samples: |r| {
            r.subdir_walk
                .iter()
                .flat_map(|w| [("done", w.services_done), ("all", w.services)])
                .map(|(state, v)| (vec![("state", state.to_string())], v as f64))
                .collect()
        },
    },
    Family {
        name: "jts_hot_subdir_walk_complete_timestamp_seconds",
        help: "When the budgeted subdirectory walk last finished a round (Unix time): the top subdirectories of services measured by their quota are from it; monitor.subdir_walk_every starts a round (hourly by default).",
        labels: &[],
        samples: |r| {
            r.subdir_walk
                .iter()
                .filter_map(|w| w.last_complete_unix)
                .map(|t| (vec![], t as f64))
                .collect()
        },
    },
    Family {
        name: "jts_hot_service_partial",
        help: "1 when part of the service directory could not be read, so its figures are lower bounds.",
        labels: &["service"],
        samples: |r| per_service(r, |s| Some(s.partial as u8 as f64)),
    },
    Family {
        name: "jts_hot_service_status",
        help: "Service status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        labels: &["service"],
        samples: |r| per_service(r, |s| Some(code(s.status))),
    },
    Family {
        name: "jts_hot_filesystem_size_bytes",
        help: "Size of the filesystem under the tier's base.",
        labels: &["base"],
        samples: |r| filesystem(r, |f| Some(f.stats.size_bytes as f64)),
    },
    Family {
        name: "jts_hot_filesystem_used_bytes",
        help: "Used bytes of the filesystem under the tier's base.",
        labels: &["base"],
        samples: |r| filesystem(r, |f| Some(f.stats.used_bytes as f64)),
    },
    Family {
        name: "jts_hot_filesystem_avail_bytes",
        help: "Bytes available to unprivileged writers on the filesystem.",
        labels: &["base"],
        samples: |r| filesystem(r, |f| Some(f.stats.avail_bytes as f64)),
    },
    Family {
        name: "jts_hot_filesystem_avail_warning_bytes",
        help: "Available bytes below which the filesystem is WARNING.",
        labels: &["base"],
        samples: |r| filesystem(r, |f| Some(f.avail_warning_bytes as f64)),
    },
    Family {
        name: "jts_hot_filesystem_avail_critical_bytes",
        help: "Available bytes below which the filesystem is CRITICAL.",
        labels: &["base"],
        samples: |r| filesystem(r, |f| Some(f.avail_critical_bytes as f64)),
    },
    Family {
        name: "jts_hot_filesystem_inodes",
        help: "Inodes of the filesystem.",
        labels: &["base"],
        samples: |r| filesystem(r, |f| Some(f.stats.inodes as f64)),
    },
    Family {
        name: "jts_hot_filesystem_inodes_free",
        help: "Free inodes of the filesystem.",
        labels: &["base"],
        samples: |r| filesystem(r, |f| Some(f.stats.inodes_free as f64)),
    },
    Family {
        name: "jts_hot_filesystem_growth_bytes_per_day",
        help: "Growth of the filesystem's used bytes per day over monitor.forecast_window, 7 days by default.",
        labels: &["base"],
        samples: |r| filesystem(r, |f| f.growth_bytes_per_day),
    },
    Family {
        name: "jts_hot_filesystem_days_until_full",
        help: "Projected days until the filesystem is full at the current growth.",
        labels: &["base"],
        samples: |r| filesystem(r, |f| f.days_until_full),
    },
    Family {
        name: "jts_hot_filesystem_days_to_full",
        help: "Forecast days until the filesystem is full over monitor.forecast_window, bound=\"low\", \"likely\", \"high\" (absent when not known).",
        labels: &["base", "bound"],
        samples: |r| filesystem_bounds(r, |f| &f.forecast.days_to_full),
    },
    Family {
        name: "jts_hot_filesystem_days_to_plan",
        help: "Forecast days until the filesystem's used bytes reach the tier's planned capacity (tier.capacity), bound=\"low\", \"likely\", \"high\" (absent when not known).",
        labels: &["base", "bound"],
        samples: |r| filesystem_bounds(r, |f| &f.forecast.days_to_plan),
    },
    Family {
        name: "jts_hot_filesystem_status",
        help: "Filesystem free-space status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        labels: &["base"],
        samples: |r| filesystem(r, |f| Some(code(f.status))),
    },
    Family {
        name: "jts_hot_probe_baseline_fsync_p50_seconds",
        help: "Median 8 KiB write+fdatasync latency, from the baseline saved by jts-hot probe --save.",
        labels: &["dir"],
        samples: |r| baseline(r, |b| b.fsync_p50_us / 1e6),
    },
    Family {
        name: "jts_hot_probe_baseline_fsync_p99_seconds",
        help: "99th percentile 8 KiB write+fdatasync latency, from the baseline saved by jts-hot probe --save.",
        labels: &["dir"],
        samples: |r| baseline(r, |b| b.fsync_p99_us / 1e6),
    },
    Family {
        name: "jts_hot_probe_baseline_randread_p50_seconds",
        help: "Median 4 KiB O_DIRECT random read latency, from the baseline saved by jts-hot probe --save.",
        labels: &["dir"],
        samples: |r| baseline(r, |b| b.randread_p50_us / 1e6),
    },
    Family {
        name: "jts_hot_probe_baseline_randread_p99_seconds",
        help: "99th percentile 4 KiB O_DIRECT random read latency, from the baseline saved by jts-hot probe --save.",
        labels: &["dir"],
        samples: |r| baseline(r, |b| b.randread_p99_us / 1e6),
    },
    Family {
        name: "jts_hot_probe_baseline_seq_write_bytes_per_second",
        help: "Sequential O_DIRECT write throughput, from the baseline saved by jts-hot probe --save.",
        labels: &["dir"],
        samples: |r| baseline(r, |b| b.seq_write_bytes_per_sec),
    },
    Family {
        name: "jts_hot_probe_baseline_timestamp_seconds",
        help: "Unix time the baseline was measured, from the baseline saved by jts-hot probe --save.",
        labels: &["dir"],
        samples: |r| baseline(r, |b| b.measured_unix as f64),
    },
    Family {
        name: "jts_hot_validate_status",
        help: "Validation of the whole tier in the last monitor run: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        labels: &[],
        samples: |r| one(code(r.validation.status)),
    },
    Family {
        name: "jts_hot_validate_findings",
        help: "Findings of the last monitor run's validation per check and severity (an UNKNOWN finding counts as critical).",
        labels: &["check", "severity"],
        samples: validate_findings,
    },
    Family {
        name: "jts_hot_shadowed_bytes",
        help: "Allocated bytes on the filesystem beneath the tier's mount point (path), written while its disk was not mounted and hidden since (validate's mount.shadowed); absent while not known.",
        labels: &["path"],
        samples: shadowed_bytes,
    },
    Family {
        name: "jts_hot_layout_pending",
        help: "1 when the saved layout file differs from the layout in force (edited, or broken, and not applied: validate's layout.pending), else 0.",
        labels: &[],
        samples: |r| one(r.layout_pending as u8 as f64),
    },
    Family {
        name: "jts_hot_layout_info",
        help: "1, labelled by the layout in force: its digest, where it comes from (source: applied, packaged, explicit, builtin-asked), this jts-hot's version and the layout's monitor.role (empty when unset). The fleet's rules compare digests per role.",
        labels: &["digest", "source", "version", "role"],
        samples: |r| {
            vec![(
                vec![
                    ("digest", r.layout_digest.clone()),
                    ("source", r.layout_source.to_string()),
                    ("version", r.version.to_string()),
                    ("role", r.role.clone().unwrap_or_default()),
                ],
                1.0,
            )]
        },
    },
    Family {
        name: "jts_hot_layout_applied_timestamp_seconds",
        help: "When `jts-hot apply` wrote the layout in force (Unix time); absent when it was not applied (packaged default, --config).",
        labels: &[],
        samples: |r| {
            r.layout_applied_unix
                .iter()
                .map(|t| (vec![], *t as f64))
                .collect()
        },
    },
    Family {
        name: "jts_hot_scan_duration_seconds",
        help: "Wall time of the last scan.",
        labels: &[],
        samples: |r| one(r.scan.duration_seconds),
    },
    Family {
        name: "jts_hot_scan_partial",
        help: "1 when the last scan could not read everything.",
        labels: &[],
        samples: |r| one(r.scan.partial as u8 as f64),
    },
    Family {
        name: "jts_hot_last_run_timestamp_seconds",
        help: "Unix time of the last monitor run.",
        labels: &[],
        samples: |r| one(r.timestamp as f64),
    },
    Family {
        name: "jts_hot_monitor_interval_seconds",
        help: "Seconds between monitor runs (the layout's monitor.every), so alert rules can tell a stale report.",
        labels: &[],
        samples: |r| one(r.interval_seconds as f64),
    },
    Family {
        name: "jts_hot_status",
        help: "Worst status of the last run: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        labels: &[],
        samples: |r| one(code(r.status)),
    },
];

/// A histogram family: HELP, TYPE, then `_bucket{le}` (cumulative), `_sum`
/// and `_count`, accumulated across runs.
pub struct HistogramFamily {
    pub name: &'static str,
    pub help: &'static str,
    of: fn(&Report) -> Option<&Histogram>,
}

/// Every histogram family, written after the gauges.
pub const HISTOGRAMS: &[HistogramFamily] = &[HistogramFamily {
    name: "jts_hot_fsync_seconds",
    help: "The fsync canary: one 8 KiB write+fdatasync in the tier per monitor run, at idle I/O priority, accumulated across runs (compare with jts_hot_probe_baseline_fsync_p99_seconds).",
    of: |r| r.fsync_canary.as_ref().and_then(|c| c.histogram.as_ref()),
}];

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for family in FAMILIES {
        gauge(&mut out, family, &(family.samples)(report));
    }
    for family in HISTOGRAMS {
        if let Some(h) = (family.of)(report) {
            histogram(&mut out, family, h);
        }
    }
    out
}

fn histogram(out: &mut String, family: &HistogramFamily, h: &Histogram) {
    let name = family.name;
    let _ = writeln!(out, "# HELP {name} {}", family.help);
    let _ = writeln!(out, "# TYPE {name} histogram");
    for (le, count) in h.cumulative() {
        let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {count}");
    }
    let _ = writeln!(out, "{name}_sum {}", h.sum_seconds);
    let _ = writeln!(out, "{name}_count {}", h.count);
}

/// One gauge family: HELP, TYPE, then each (labels, value).
fn gauge(out: &mut String, family: &Family, samples: &[Sample]) {
    if samples.is_empty() {
        return;
    }
    let name = family.name;
    debug_assert!(
        samples.iter().all(|(labels, _)| labels
            .iter()
            .map(|(k, _)| *k)
            .eq(family.labels.iter().copied())),
        "{name}: samples' labels are not the declared {:?}",
        family.labels
    );
    let _ = writeln!(out, "# HELP {name} {}", family.help);
    let _ = writeln!(out, "# TYPE {name} gauge");
    for (labels, value) in samples {
        out.push_str(name);
        if !labels.is_empty() {
            let parts: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", prometheus_label_value(v)))
                .collect();
            let _ = write!(out, "{{{}}}", parts.join(","));
        }
        let _ = writeln!(out, " {value}");
    }
}

/// Status as a number: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (exit codes).
fn code(s: Status) -> f64 {
    s.number() as f64
}

/// One sample without labels.
fn one(value: f64) -> Vec<Sample> {
    vec![(vec![], value)]
}

/// A sample per service that has the figure, labelled by the service.
fn per_service(r: &Report, pick: impl Fn(&ServiceUsage) -> Option<f64>) -> Vec<Sample> {
    r.services
        .iter()
        .filter_map(|s| pick(s).map(|v| (vec![("service", s.name.clone())], v)))
        .collect()
}

/// A sample per service and known bound of a forecast.
fn per_service_bounds(r: &Report, pick: impl Fn(&ServiceUsage) -> &Bounds) -> Vec<Sample> {
    r.services
        .iter()
        .flat_map(|s| {
            pick(s).named().into_iter().filter_map(|(bound, v)| {
                let labels = vec![("service", s.name.clone()), ("bound", bound.to_string())];
                v.map(|v| (labels, v))
            })
        })
        .collect()
}

/// Each walked service's largest subdirectories, labelled by their path.
fn subdir_bytes(r: &Report) -> Vec<Sample> {
    r.services
        .iter()
        .flat_map(|s| {
            s.subdirs.iter().flat_map(|t| &t.largest).map(|d| {
                let labels = vec![("service", s.name.clone()), ("path", d.path.clone())];
                (labels, d.bytes as f64)
            })
        })
        .collect()
}

/// A sample per known bound of the filesystem's forecast.
fn filesystem_bounds(r: &Report, pick: impl Fn(&Filesystem) -> &Bounds) -> Vec<Sample> {
    let base = escape::untrusted_path(&r.base);
    r.filesystem
        .iter()
        .flat_map(|f| {
            pick(f).named().into_iter().filter_map(|(bound, v)| {
                v.map(|v| {
                    (
                        vec![("base", base.clone()), ("bound", bound.to_string())],
                        v,
                    )
                })
            })
        })
        .collect()
}

/// Each service's figure from the last quota tree walk, when there is one.
fn per_tree(r: &Report, pick: impl Fn(&crate::quota::tree::TreeService) -> f64) -> Vec<Sample> {
    r.quota_tree
        .iter()
        .flat_map(|t| &t.scan.services)
        .map(|t| (vec![("service", t.service.clone())], pick(t)))
        .collect()
}

/// The filesystem's figure, labelled by the base, when both are known.
fn filesystem(r: &Report, pick: impl Fn(&Filesystem) -> Option<f64>) -> Vec<Sample> {
    let base = || escape::untrusted_path(&r.base);
    r.filesystem
        .as_ref()
        .and_then(pick)
        .map(|v| vec![(vec![("base", base())], v)])
        .unwrap_or_default()
}

/// The saved probe baseline's figure, labelled by its directory.
fn baseline(r: &Report, pick: impl Fn(&Baseline) -> f64) -> Vec<Sample> {
    r.probe_baseline
        .iter()
        .map(|b| (vec![("dir", escape::untrusted_path(&b.dir))], pick(b)))
        .collect()
}

/// 1 for how each service's usage was measured.
fn usage_sources(r: &Report) -> Vec<Sample> {
    r.services
        .iter()
        .map(|s| {
            let labels = vec![
                ("service", s.name.clone()),
                ("source", s.usage_source.as_str().to_string()),
            ];
            (labels, 1.0)
        })
        .collect()
}

/// Each service's soft and hard quota limits, where set.
fn quota_limits(r: &Report) -> Vec<Sample> {
    let mut limits = Vec::new();
    for s in &r.services {
        let Some(q) = &s.quota else { continue };
        for (kind, limit) in [("soft", q.soft_limit_bytes), ("hard", q.hard_limit_bytes)] {
            if let Some(l) = limit {
                let labels = vec![("service", s.name.clone()), ("kind", kind.to_string())];
                limits.push((labels, l as f64));
            }
        }
    }
    limits
}

/// One sample per mount point looked beneath, 0 included.
fn shadowed_bytes(r: &Report) -> Vec<Sample> {
    let Some(seen) = &r.validation.shadowed else {
        return Vec::new();
    };
    seen.found
        .iter()
        .map(|b| {
            let path = escape::untrusted_path(&b.path);
            (vec![("path", path)], b.bytes as f64)
        })
        .collect()
}

/// Every check at both severities, 0 included, so a rule or a dashboard
/// sees a series before the first finding.
fn validate_findings(r: &Report) -> Vec<Sample> {
    let v = &r.validation;
    crate::validate::Check::ALL
        .iter()
        .flat_map(|c| {
            [("warning", Status::Warning), ("critical", Status::Critical)].map(|(label, s)| {
                (
                    vec![
                        ("check", c.as_str().to_string()),
                        ("severity", label.to_string()),
                    ],
                    v.count(*c, s) as f64,
                )
            })
        })
        .collect()
}
