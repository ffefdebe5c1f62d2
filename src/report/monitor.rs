//! `jts-hot monitor` as a table for people, as JSON for programs, and as the
//! one-line summary that goes to the journal.

use std::fmt::Write;

use crate::monitor::Report;
use crate::render::escape;
use crate::report::picture::{self, Style};
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

/// Column where bars, trends and reasons start (after the name).
const INDENT: usize = 13;

fn percent(used: f64, full: f64) -> String {
    if full > 0.0 {
        format!("{:.0}%", used * 100.0 / full)
    } else {
        "-".to_string()
    }
}

/// The picture a person reads at a glance: per service a bar of used
/// against planned with the warning `|` and critical `!` marks and a
/// sparkline of the last 7 days, then the filesystem the same way; every
/// line fits 80 columns. `style` says whether to color (main decides).
pub fn text(report: &Report, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<w$}{:<26} {:>5}  {:<21}  STATUS",
        "SERVICE",
        "USE OF PLAN  | warn ! crit",
        "",
        "USED / PLANNED",
        w = INDENT
    );
    let now = report.timestamp;
    let window = crate::monitor::history::GROWTH_WINDOW_SECONDS;
    for s in &report.services {
        let spark = picture::sparkline(&s.trend, now, window, s.planned_bytes as f64 / 100.0);
        let mut details = vec![format!("7d {spark}")];
        details.extend(outlook(
            s.growth_bytes_per_day,
            s.days_until_plan,
            "plan in",
            "plan reached",
        ));
        if let (Some(files), Some(dirs)) = (s.files, s.dirs) {
            details.push(format!("{files} files, {dirs} dirs"));
        }
        if let Some(q) = &s.quota {
            let limit = |l: Option<u64>| l.map_or("none".to_string(), |b| human(b as f64));
            details.push(format!(
                "usage from the {}; project {}: soft {}, hard {}",
                s.usage_source.as_str(),
                q.project_id,
                limit(q.soft_limit_bytes),
                limit(q.hard_limit_bytes)
            ));
        }
        let reasons: Vec<String> = if s.reasons.is_empty() {
            Vec::new()
        } else {
            vec![format!("why: {}", s.reasons.join("; "))]
        };
        block_lines(
            &mut out,
            &s.name,
            (
                s.allocated_bytes as f64,
                s.planned_bytes as f64,
                s.warning_bytes as f64,
                s.critical_bytes as f64,
            ),
            s.status,
            details,
            &reasons,
            style,
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
            let usable = (f.stats.used_bytes + f.stats.avail_bytes) as f64;
            let _ = writeln!(out, "FILESYSTEM   {}", escape::untrusted_path(&report.base));
            let spark = picture::sparkline(&f.trend, now, window, usable / 100.0);
            let mut details = vec![format!("7d {spark}")];
            details.extend(outlook(
                f.growth_bytes_per_day,
                f.days_until_full,
                "full in",
                "full",
            ));
            details.extend([
                format!("{:.1}% free", f.free_percent),
                format!("size {}", human(f.stats.size_bytes as f64)),
                format!("inodes free {} of {}", f.stats.inodes_free, f.stats.inodes),
            ]);
            let reasons: Vec<String> = if f.reasons.is_empty() {
                Vec::new()
            } else {
                vec![format!("why: {}", f.reasons.join("; "))]
            };
            block_lines(
                &mut out,
                "",
                (
                    f.stats.used_bytes as f64,
                    usable,
                    usable - f.avail_warning_bytes as f64,
                    usable - f.avail_critical_bytes as f64,
                ),
                f.status,
                details,
                &reasons,
                style,
            );
        }
        None => {
            let _ = writeln!(
                out,
                "FILESYSTEM   {}  {}",
                escape::untrusted_path(&report.base),
                style.status(Status::Unknown)
            );
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "scan: {:.3} s with {} threads{}",
        report.scan.duration_seconds,
        report.scan.threads,
        if report.scan.partial { ", PARTIAL" } else { "" },
    );
    let _ = writeln!(
        out,
        "history: {} samples in {}",
        report.history.samples,
        escape::untrusted_path(&report.history.path)
    );
    let v = &report.validation;
    let _ = writeln!(
        out,
        "validation: {} ({} checks, {} findings, {:.1} ms)",
        style.status(v.status),
        v.checks,
        v.findings.len(),
        v.duration_seconds * 1000.0
    );
    for f in &v.findings {
        let finding = crate::validate::output::finding_line(f);
        for line in picture::hanging(4, 6, &finding, picture::WIDTH) {
            let _ = writeln!(out, "{line}");
        }
    }
    for n in &report.notes {
        for line in picture::hanging(0, 6, &format!("note: {n}"), picture::WIDTH) {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

/// A block whose first line is the bar (or the name then the bar), then the
/// details wrapped from column INDENT, then why.
#[allow(clippy::too_many_arguments)]
fn block_lines(
    out: &mut String,
    name: &str,
    figures: (f64, f64, f64, f64),
    status: Status,
    details: Vec<String>,
    reasons: &[String],
    style: Style,
) {
    let (used, full, warn, crit) = figures;
    let head = format!(
        "{} {:>5}  {:<21}  {}",
        picture::bar(used, full, warn, crit, style),
        percent(used, full),
        format!("{} / {}", human(used), human(full)),
        style.status(status)
    );
    if name.chars().count() < INDENT {
        let _ = writeln!(out, "{name:<w$}{head}", w = INDENT);
    } else {
        let _ = writeln!(out, "{name}");
        let _ = writeln!(out, "{:w$}{head}", "", w = INDENT);
    }
    for line in picture::wrap("", INDENT, &details, picture::WIDTH) {
        let _ = writeln!(out, "{line}");
    }
    if !reasons.is_empty() {
        for line in picture::hanging(INDENT, INDENT + 5, &reasons.join("; "), picture::WIDTH) {
            let _ = writeln!(out, "{line}");
        }
    }
}

/// The growth and what it leads to: "+1.0 MiB/d", "plan in 12.0 days".
fn outlook(growth: Option<f64>, days_left: Option<f64>, until: &str, reached: &str) -> Vec<String> {
    match (growth, days_left) {
        (None, Some(d)) if d <= 0.0 => vec![reached.to_string()],
        (None, _) => vec!["growth not known yet".to_string()],
        (Some(g), Some(d)) if d <= 0.0 => vec![trend(Some(g)), reached.to_string()],
        (Some(g), Some(_)) => vec![trend(Some(g)), format!("{until} {} days", days(days_left))],
        (Some(g), None) => vec![trend(Some(g)), "not growing".to_string()],
    }
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
            .map(|f| format!("{} {}", f.check, escape::untrusted_path(&f.path)))
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
    // Saturating: sizes near u64's limit must not wrap (nor panic) when added.
    let sum = |v: &mut dyn Iterator<Item = u64>| v.fold(0u64, u64::saturating_add);
    let used = sum(&mut report.services.iter().map(|s| s.allocated_bytes));
    let planned = sum(&mut report.services.iter().map(|s| s.planned_bytes));
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
