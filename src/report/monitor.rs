//! `jts-hot monitor` as a table for people, as JSON for programs, and as the
//! one-line summary that goes to the journal.

use std::fmt::Write;

use crate::monitor::Report;
use crate::render::escape;
use crate::status::Status;

/// The JSON document (schema "jts-hot-monitor/1", documented in the README).
pub fn json(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report).expect("a report always serializes");
    s.push('\n');
    s
}

/// 1.5 GiB, 800.0 MiB, 512 B: binary units, one decimal.
pub fn human(bytes: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes.abs();
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    let sign = if bytes < 0.0 { "-" } else { "" };
    if unit == 0 {
        format!("{sign}{v:.0} {}", UNITS[0])
    } else {
        format!("{sign}{v:.1} {}", UNITS[unit])
    }
}

fn trend(per_day: Option<f64>) -> String {
    match per_day {
        Some(g) if g >= 0.0 => format!("+{}/d", human(g)),
        Some(g) => format!("{}/d", human(g)),
        None => "-".to_string(),
    }
}

fn days(d: Option<f64>) -> String {
    match d {
        Some(d) if d >= 9999.0 => ">9999".to_string(),
        Some(d) => format!("{d:.1}"),
        None => "-".to_string(),
    }
}

/// The table a person reads at a glance.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<12} {:>10} {:>10} {:>7} {:>13} {:>9} {:>9} {:>8}  STATUS",
        "SERVICE", "USED", "PLANNED", "%PLAN", "TREND", "DAYS LEFT", "FILES", "DIRS"
    );
    for s in &report.services {
        let _ = writeln!(
            out,
            "{:<12} {:>10} {:>10} {:>6.1}% {:>13} {:>9} {:>9} {:>8}  {}{}",
            s.name,
            human(s.allocated_bytes as f64),
            human(s.planned_bytes as f64),
            s.percent_of_plan,
            trend(s.growth_bytes_per_day),
            days(s.days_until_plan),
            s.files,
            s.dirs,
            s.status,
            if s.reasons.is_empty() {
                String::new()
            } else {
                format!(": {}", s.reasons.join("; "))
            }
        );
        for d in &s.unreadable {
            let _ = writeln!(out, "    unreadable: {d}");
        }
        for e in &s.errors {
            let _ = writeln!(out, "    error: {e}");
        }
    }
    let _ = writeln!(out);
    match &report.filesystem {
        Some(f) => {
            let _ = writeln!(
                out,
                "filesystem {}: size {}, used {}, avail {} ({:.1}% free), inodes free {} of {}, trend {}, days until full {}  {}{}",
                escape::untrusted_path(&report.base),
                human(f.stats.size_bytes as f64),
                human(f.stats.used_bytes as f64),
                human(f.stats.avail_bytes as f64),
                f.free_percent,
                f.stats.inodes_free,
                f.stats.inodes,
                trend(f.growth_bytes_per_day),
                days(f.days_until_full),
                f.status,
                if f.reasons.is_empty() { String::new() } else { format!(": {}", f.reasons.join("; ")) }
            );
        }
        None => {
            let base = escape::untrusted_path(&report.base);
            let _ = writeln!(out, "filesystem {base}: UNKNOWN");
        }
    }
    let _ = writeln!(
        out,
        "scan: {:.3} s with {} threads{}; history: {} samples in {}",
        report.scan.duration_seconds,
        report.scan.threads,
        if report.scan.partial { ", PARTIAL" } else { "" },
        report.history.samples,
        escape::untrusted_path(&report.history.path)
    );
    let v = &report.validation;
    let _ = writeln!(
        out,
        "validation: {} ({} checks, {} findings, {:.1} ms)",
        v.status,
        v.checks,
        v.findings.len(),
        v.duration_seconds * 1000.0
    );
    for f in &v.findings {
        let _ = writeln!(out, "    {}", crate::validate::output::finding_line(f));
    }
    for n in &report.notes {
        let _ = writeln!(out, "note: {n}");
    }
    out
}

/// One line: the worst status and what caused it.
pub fn summary(report: &Report) -> String {
    let mut why: Vec<String> = report
        .services
        .iter()
        .filter(|s| s.status != Status::Ok)
        .map(|s| format!("{} {}", s.name, s.reasons.join(", ")))
        .collect();
    if let Some(f) = report
        .filesystem
        .as_ref()
        .filter(|f| f.status != Status::Ok)
    {
        why.push(format!("filesystem {}", f.reasons.join(", ")));
    }
    let v = &report.validation;
    if v.status != Status::Ok {
        // The blocking findings by name; warnings only as a count.
        let mut blocking: Vec<String> = v
            .findings
            .iter()
            .filter(|f| f.severity > Status::Warning)
            .map(|f| format!("{} {}", f.check, f.path.display()))
            .collect();
        let warnings = v.findings.len() - blocking.len();
        if warnings > 0 {
            blocking.push(format!("{warnings} warning(s)"));
        }
        why.push(format!("validation {}: {}", v.status, blocking.join(", ")));
    }
    if report.status == Status::Unknown {
        why.extend(report.notes.iter().cloned());
    }
    let used: u64 = report.services.iter().map(|s| s.allocated_bytes).sum();
    let planned: u64 = report.services.iter().map(|s| s.planned_bytes).sum();
    let free = report
        .filesystem
        .as_ref()
        .map_or("unknown".to_string(), |f| format!("{:.1}%", f.free_percent));
    let mut line = format!(
        "jts-hot monitor: {}: {} services use {} of {} planned, filesystem {} free",
        report.status,
        report.services.len(),
        human(used as f64),
        human(planned as f64),
        free
    );
    if !why.is_empty() {
        let _ = write!(line, "; {}", why.join("; "));
    }
    line
}
