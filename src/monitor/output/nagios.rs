//! `jts-hot monitor --format nagios`: the run as a monitoring plugin prints
//! it (docs/nagios.md). Perfdata per service is its usage against its plan,
//! with the warning and critical sizes as thresholds; the filesystem's is
//! its used space against what services can use.

use crate::monitor::Report;
use crate::nagios::{self, Perf};
use crate::units;

use crate::status::Status;

use super::text::{percent, totals};

/// The status line, perfdata, then one line per service, the filesystem,
/// the validation's findings and the notes.
pub fn render(report: &Report) -> String {
    let mut perf: Vec<Perf> = report
        .services
        .iter()
        .map(|s| Perf {
            label: s.name.clone(),
            value: s.allocated_bytes.into(),
            uom: "B",
            warn: Some(s.warning_bytes.into()),
            crit: Some(s.critical_bytes.into()),
            min: Some(0u64.into()),
            max: Some(s.planned_bytes.into()),
        })
        .collect();
    let mut details: Vec<String> = report
        .services
        .iter()
        .map(|s| {
            let why = match s.reasons.is_empty() {
                true => String::new(),
                false => format!(": {}", s.reasons.join("; ")),
            };
            format!(
                "{} {}: {} of plan, {} of {}{why}",
                s.name,
                s.status,
                percent(s.allocated_bytes as f64, s.planned_bytes as f64),
                units::bytes(s.allocated_bytes),
                units::bytes(s.planned_bytes)
            )
        })
        .collect();
    if let Some(f) = &report.filesystem {
        let usable = f.stats.used_bytes.saturating_add(f.stats.avail_bytes);
        perf.push(Perf {
            label: "filesystem".into(),
            value: f.stats.used_bytes.into(),
            uom: "B",
            warn: Some(usable.saturating_sub(f.avail_warning_bytes).into()),
            crit: Some(usable.saturating_sub(f.avail_critical_bytes).into()),
            min: Some(0u64.into()),
            max: Some(usable.into()),
        });
        let why = match f.reasons.is_empty() {
            true => String::new(),
            false => format!(": {}", f.reasons.join("; ")),
        };
        details.push(format!(
            "filesystem {}: {} used of {} usable, {:.1}% free{why}",
            f.status,
            units::bytes(f.stats.used_bytes),
            units::bytes(usable),
            f.free_percent
        ));
    }
    perf.push(Perf::count("findings", report.validation.findings.len()));
    perf.push(Perf {
        label: "scan".into(),
        value: report.scan.duration_seconds.into(),
        uom: "s",
        warn: None,
        crit: None,
        min: Some(0u64.into()),
        max: None,
    });
    details.extend(
        report
            .validation
            .findings
            .iter()
            .map(crate::validate::output::finding_line),
    );
    details.extend(report.notes.iter().map(|n| format!("note: {n}")));
    nagios::output(report.status, &status_line(report), &perf, &details)
}

/// The totals and what is not OK, by name only (the details say why), so
/// the line a monitoring overview shows stays short.
fn status_line(report: &Report) -> String {
    let mut not_ok: Vec<String> = report
        .services
        .iter()
        .filter(|s| s.status != Status::Ok)
        .map(|s| format!("{} {}", s.name, s.status))
        .collect();
    if let Some(f) = report
        .filesystem
        .as_ref()
        .filter(|f| f.status != Status::Ok)
    {
        not_ok.push(format!("filesystem {}", f.status));
    }
    if report.filesystem.is_none() {
        not_ok.push("filesystem UNKNOWN".into());
    }
    let v = &report.validation;
    if v.status != Status::Ok {
        not_ok.push(format!(
            "validation {} ({} findings)",
            v.status,
            v.findings.len()
        ));
    }
    let listed = match not_ok.len() {
        0 => String::new(),
        1..=5 => format!("; {}", not_ok.join(", ")),
        n => format!("; {} and {} more", not_ok[..4].join(", "), n - 4),
    };
    format!("monitor: {}{listed}", totals(report))
}
