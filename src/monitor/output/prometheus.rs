//! The report in the Prometheus text exposition format, for stdout and for
//! node_exporter's textfile collector. Every family has HELP and TYPE; a
//! figure that is not known (no growth yet) is left out rather than faked.

use std::fmt::Write;

use crate::escape::{self, prometheus_label_value};
use crate::monitor::Report;
use crate::status::Status;

/// The file written into the textfile collector's directory.
pub const TEXTFILE_NAME: &str = "jts_hot.prom";

/// Status as a number: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (exit codes).
fn code(s: Status) -> f64 {
    s.exit_code() as f64
}

struct Families {
    out: String,
}

impl Families {
    /// One gauge family: HELP, TYPE, then each (labels, value).
    fn gauge(&mut self, name: &str, help: &str, samples: &[(Vec<(&str, &str)>, f64)]) {
        if samples.is_empty() {
            return;
        }
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} gauge");
        for (labels, value) in samples {
            self.out.push_str(name);
            if !labels.is_empty() {
                let parts: Vec<String> = labels
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{}\"", prometheus_label_value(v)))
                    .collect();
                let _ = write!(self.out, "{{{}}}", parts.join(","));
            }
            let _ = writeln!(self.out, " {value}");
        }
    }
}

pub fn render(report: &Report) -> String {
    let mut f = Families { out: String::new() };
    let per_service = |pick: &dyn Fn(&crate::monitor::ServiceUsage) -> Option<f64>| {
        report
            .services
            .iter()
            .filter_map(|s| pick(s).map(|v| (vec![("service", s.name.as_str())], v)))
            .collect::<Vec<_>>()
    };
    f.gauge(
        "jts_hot_service_used_bytes",
        "Allocated bytes under the service directory (st_blocks*512, as du -s -x), or charged to its project quota (see jts_hot_service_usage_source).",
        &per_service(&|s| Some(s.allocated_bytes as f64)),
    );
    f.gauge(
        "jts_hot_service_apparent_bytes",
        "Apparent size in bytes under the service directory (du --apparent-size); absent when the usage came from the quota.",
        &per_service(&|s| s.apparent_bytes.map(|v| v as f64)),
    );
    f.gauge(
        "jts_hot_service_files",
        "Non-directory entries under the service directory, hard links once; absent when the usage came from the quota.",
        &per_service(&|s| s.files.map(|v| v as f64)),
    );
    f.gauge(
        "jts_hot_service_directories",
        "Directories under the service directory, itself included; absent when the usage came from the quota.",
        &per_service(&|s| s.dirs.map(|v| v as f64)),
    );
    let sources: Vec<_> = report
        .services
        .iter()
        .map(|s| {
            let labels = vec![
                ("service", s.name.as_str()),
                ("source", s.usage_source.as_str()),
            ];
            (labels, 1.0)
        })
        .collect();
    f.gauge(
        "jts_hot_service_usage_source",
        "1 for how the service's used bytes were measured: source=\"quota\" (its project quota, O(1)) or \"walk\".",
        &sources,
    );
    let mut limits = Vec::new();
    for s in &report.services {
        let Some(q) = &s.quota else { continue };
        for (kind, limit) in [("soft", q.soft_limit_bytes), ("hard", q.hard_limit_bytes)] {
            if let Some(l) = limit {
                limits.push((vec![("service", s.name.as_str()), ("kind", kind)], l as f64));
            }
        }
    }
    f.gauge(
        "jts_hot_service_quota_limit_bytes",
        "The service's project quota block limit (kind=\"soft\" or \"hard\"); absent: no such limit.",
        &limits,
    );
    f.gauge(
        "jts_hot_service_quota_used_bytes",
        "Bytes charged to the service's project quota.",
        &per_service(&|s| s.quota.as_ref().map(|q| q.used_bytes as f64)),
    );
    f.gauge(
        "jts_hot_service_quota_inodes",
        "Inodes charged to the service's project quota.",
        &per_service(&|s| s.quota.as_ref().map(|q| q.inodes as f64)),
    );
    f.gauge(
        "jts_hot_service_quota_project_id",
        "The project quota ID the layout gives the service directory.",
        &per_service(&|s| s.quota.as_ref().map(|q| q.project_id as f64)),
    );
    f.gauge(
        "jts_hot_service_planned_bytes",
        "Bytes planned for the service in the layout.",
        &per_service(&|s| Some(s.planned_bytes as f64)),
    );
    f.gauge(
        "jts_hot_service_warning_bytes",
        "Used bytes at which the service is WARNING (thresholds.warn_percent of plan).",
        &per_service(&|s| Some(s.warning_bytes as f64)),
    );
    f.gauge(
        "jts_hot_service_critical_bytes",
        "Used bytes at which the service is CRITICAL (thresholds.crit_percent of plan).",
        &per_service(&|s| Some(s.critical_bytes as f64)),
    );
    f.gauge(
        "jts_hot_service_growth_bytes_per_day",
        "Growth of used bytes per day over the last 7 days (absent until known).",
        &per_service(&|s| s.growth_bytes_per_day),
    );
    f.gauge("jts_hot_service_days_until_plan", "Projected days until the service reaches its plan at the current growth (absent when not growing).", &per_service(&|s| s.days_until_plan));
    f.gauge(
        "jts_hot_service_partial",
        "1 when part of the service directory could not be read, so its figures are lower bounds.",
        &per_service(&|s| Some(s.partial as u8 as f64)),
    );
    f.gauge(
        "jts_hot_service_status",
        "Service status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        &per_service(&|s| Some(code(s.status))),
    );

    let base = escape::untrusted_path(&report.base);
    if let Some(fs) = &report.filesystem {
        let l = || vec![("base", base.as_ref())];
        let one = |v: f64| vec![(l(), v)];
        f.gauge(
            "jts_hot_filesystem_size_bytes",
            "Size of the filesystem under the tier's base.",
            &one(fs.stats.size_bytes as f64),
        );
        f.gauge(
            "jts_hot_filesystem_used_bytes",
            "Used bytes of the filesystem under the tier's base.",
            &one(fs.stats.used_bytes as f64),
        );
        f.gauge(
            "jts_hot_filesystem_avail_bytes",
            "Bytes available to unprivileged writers on the filesystem.",
            &one(fs.stats.avail_bytes as f64),
        );
        f.gauge(
            "jts_hot_filesystem_avail_warning_bytes",
            "Available bytes below which the filesystem is WARNING.",
            &one(fs.avail_warning_bytes as f64),
        );
        f.gauge(
            "jts_hot_filesystem_avail_critical_bytes",
            "Available bytes below which the filesystem is CRITICAL.",
            &one(fs.avail_critical_bytes as f64),
        );
        f.gauge(
            "jts_hot_filesystem_inodes",
            "Inodes of the filesystem.",
            &one(fs.stats.inodes as f64),
        );
        f.gauge(
            "jts_hot_filesystem_inodes_free",
            "Free inodes of the filesystem.",
            &one(fs.stats.inodes_free as f64),
        );
        if let Some(g) = fs.growth_bytes_per_day {
            f.gauge(
                "jts_hot_filesystem_growth_bytes_per_day",
                "Growth of the filesystem's used bytes per day over the last 7 days.",
                &one(g),
            );
        }
        if let Some(d) = fs.days_until_full {
            f.gauge(
                "jts_hot_filesystem_days_until_full",
                "Projected days until the filesystem is full at the current growth.",
                &one(d),
            );
        }
        f.gauge(
            "jts_hot_filesystem_status",
            "Filesystem free-space status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
            &one(code(fs.status)),
        );
    }
    if let Some(b) = &report.probe_baseline {
        let dir = escape::untrusted_path(&b.dir);
        let labels = || vec![("dir", dir.as_ref())];
        for (name, help, value) in [
            (
                "fsync_p50_seconds",
                "Median 8 KiB write+fdatasync latency",
                b.fsync_p50_us / 1e6,
            ),
            (
                "fsync_p99_seconds",
                "99th percentile 8 KiB write+fdatasync latency",
                b.fsync_p99_us / 1e6,
            ),
            (
                "randread_p50_seconds",
                "Median 4 KiB O_DIRECT random read latency",
                b.randread_p50_us / 1e6,
            ),
            (
                "randread_p99_seconds",
                "99th percentile 4 KiB O_DIRECT random read latency",
                b.randread_p99_us / 1e6,
            ),
            (
                "seq_write_bytes_per_second",
                "Sequential O_DIRECT write throughput",
                b.seq_write_bytes_per_sec,
            ),
            (
                "timestamp_seconds",
                "Unix time the baseline was measured",
                b.measured_unix as f64,
            ),
        ] {
            f.gauge(
                &format!("jts_hot_probe_baseline_{name}"),
                &format!("{help}, from the baseline saved by jts-hot probe --save."),
                &[(labels(), value)],
            );
        }
    }
    let v = &report.validation;
    f.gauge(
        "jts_hot_validate_status",
        "Validation of the whole tier in the last monitor run: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        &[(vec![], code(v.status))],
    );
    // Every check at both severities, 0 included, so a rule or a dashboard
    // sees a series before the first finding.
    let findings: Vec<(Vec<(&str, &str)>, f64)> = crate::validate::Check::ALL
        .iter()
        .flat_map(|c| {
            [("warning", Status::Warning), ("critical", Status::Critical)].map(|(label, s)| {
                (
                    vec![("check", c.as_str()), ("severity", label)],
                    v.count(*c, s) as f64,
                )
            })
        })
        .collect();
    f.gauge(
        "jts_hot_validate_findings",
        "Findings of the last monitor run's validation per check and severity (an UNKNOWN finding counts as critical).",
        &findings,
    );
    f.gauge(
        "jts_hot_scan_duration_seconds",
        "Wall time of the last scan.",
        &[(vec![], report.scan.duration_seconds)],
    );
    f.gauge(
        "jts_hot_scan_partial",
        "1 when the last scan could not read everything.",
        &[(vec![], report.scan.partial as u8 as f64)],
    );
    f.gauge(
        "jts_hot_last_run_timestamp_seconds",
        "Unix time of the last monitor run.",
        &[(vec![], report.timestamp as f64)],
    );
    f.gauge(
        "jts_hot_monitor_interval_seconds",
        "Seconds between monitor runs (the layout's monitor.every), so alert rules can tell a stale report.",
        &[(vec![], report.interval_seconds as f64)],
    );
    f.gauge(
        "jts_hot_status",
        "Worst status of the last run: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        &[(vec![], code(report.status))],
    );
    f.out
}
