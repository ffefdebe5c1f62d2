//! Validate's report as text (quiet when all is well) or JSON.
//!
//! JSON schema "jts-hot.validate/1" (documented in README.md; fields are only
//! ever added, never renamed): `schema`, `status`, `layout {source, digest}`,
//! `base`, `root`, `findings [{path, check, expected, actual, severity, hint}]`,
//! `counts {checks, ok, warning, critical, unknown}`, `directories`,
//! `duration_seconds`, `services` (the --service scope; null: the whole tier),
//! `selinux` ({labels: "checked", policy, directories} or {labels: "skipped", reason}).

use std::io::Write;

use serde_json::{json, Value};

use super::selinux::Labels;
use super::{Finding, Report};
use crate::cli::TextOrJson;
use crate::render::escape;
use crate::status::{under_journal, Status};

pub fn print(report: &Report, format: TextOrJson, verbose: bool, gate: bool) {
    let out = match format {
        TextOrJson::Json => {
            serde_json::to_string_pretty(&json(report)).expect("JSON serializes") + "\n"
        }
        TextOrJson::Text if gate => gate_text(report, verbose, under_journal()),
        TextOrJson::Text => text(report, verbose, under_journal()),
    };
    // A closed stdout (`| head`) must not turn a verdict into a panic.
    let _ = std::io::stdout().write_all(out.as_bytes());
}

/// Nothing when all is well (unless `verbose`); else one line per finding
/// and a summary. `journal`: prefix each line with its syslog priority.
pub fn text(report: &Report, verbose: bool, journal: bool) -> String {
    let status = report.status();
    if status == Status::Ok && !verbose {
        return String::new();
    }
    let prefix = |s: Status| if journal { s.journal_prefix() } else { "" };
    let mut out = String::new();
    // Worst last, just above the summary: `systemctl status` shows the last
    // lines, and there the blocking findings (each with its fix) must be.
    let mut findings: Vec<&Finding> = report.tally.findings.iter().collect();
    findings.sort_by_key(|f| f.severity);
    for f in findings {
        out.push_str(prefix(f.severity));
        out.push_str(&finding_line(f));
        out.push('\n');
    }
    out.push_str(prefix(status));
    out.push_str(&summary(report));
    out.push('\n');
    out
}

/// For a gated unit's journal, where `systemctl status` shows the last ten
/// lines: the verdict comes last and carries the (first) blocking finding
/// with its fix, so that one line says what is wrong and what to run. Other
/// blocking findings (CRITICAL, UNKNOWN) come before it, one line each.
/// Nothing when the start may go on (WARNINGs are the whole run's to report),
/// unless `verbose`.
pub fn gate_text(report: &Report, verbose: bool, journal: bool) -> String {
    let status = report.status();
    let prefix = |s: Status| if journal { s.journal_prefix() } else { "" };
    let services = report.services.join(", ");
    let blocking: Vec<&Finding> = report
        .tally
        .findings
        .iter()
        .filter(|f| f.severity > Status::Warning)
        .collect();
    let Some((first, others)) = blocking.split_first() else {
        return match verbose {
            true => format!(
                "{}jts-hot gate for {services}: start allowed: {}\n",
                prefix(status),
                summary(report)
            ),
            false => String::new(),
        };
    };
    let mut out = String::new();
    for f in others {
        out.push_str(prefix(f.severity));
        out.push_str(&finding_line(f));
        out.push('\n');
    }
    let more = match others.len() {
        0 => String::new(),
        n => format!(" ({n} more above)"),
    };
    out.push_str(prefix(status));
    out.push_str(&format!(
        "jts-hot gate for {services}: start refused: {}{more}\n",
        finding_line(first)
    ));
    out
}

pub fn finding_line(f: &Finding) -> String {
    let hint = f
        .hint
        .as_ref()
        .map(|h| format!("; {h}"))
        .unwrap_or_default();
    format!(
        "{} {} {}: {}; expected {}{hint}",
        f.severity,
        f.check,
        escape::untrusted_path(&f.path),
        f.actual,
        f.expected
    )
}

pub fn summary(report: &Report) -> String {
    let status = report.status();
    let counts = match status {
        Status::Ok => "all checks passed".to_string(),
        _ => [Status::Critical, Status::Unknown, Status::Warning]
            .iter()
            .filter(|s| report.count(**s) > 0)
            .map(|s| {
                let n = report.count(*s);
                let word = s.as_str().to_lowercase();
                match (n, *s) {
                    (2.., Status::Warning) => format!("{n} {word}s"),
                    _ => format!("{n} {word}"),
                }
            })
            .collect::<Vec<_>>()
            .join(", "),
    };
    let selinux = match &report.selinux {
        Labels::Checked { directories, .. } => format!("SELinux labels of {directories} checked"),
        Labels::Skipped { reason } => format!("SELinux labels not checked: {reason}"),
    };
    format!(
        "jts-hot validate: {status}: {counts} ({} checks, {} directories under {}; layout {} {}; {selinux}; {:.1} ms)",
        report.tally.checks,
        report.directories,
        escape::untrusted_path(&report.base),
        escape::untrusted(&report.source),
        report.digest,
        report.duration.as_secs_f64() * 1000.0
    )
}

pub fn json(report: &Report) -> Value {
    let checks = report.tally.checks;
    json!({
        "schema": "jts-hot.validate/1",
        "status": report.status(),
        "layout": {"source": report.source, "digest": report.digest},
        "base": escape::untrusted_path(&report.base),
        "root": report.root.as_deref().map(escape::untrusted_path),
        "findings": report.tally.findings,
        "counts": {
            "checks": checks,
            "ok": checks - report.tally.findings.len(),
            "warning": report.count(Status::Warning),
            "critical": report.count(Status::Critical),
            "unknown": report.count(Status::Unknown),
        },
        "directories": report.directories,
        "selinux": report.selinux,
        "services": (!report.services.is_empty()).then_some(&report.services),
        "duration_seconds": report.duration.as_secs_f64(),
    })
}
