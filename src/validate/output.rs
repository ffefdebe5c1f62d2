//! Validate's report as text (quiet when all is well) or JSON.
//!
//! JSON schema "jts-hot.validate/1" (documented in docs/validate.md; fields are only
//! ever added, never renamed): `schema`, `status`, `layout {source, digest}`,
//! `base`, `root`, `findings [{path, check, expected, actual, severity, hint}]`,
//! `counts {checks, ok, warning, critical, unknown}`, `directories`,
//! `duration_seconds`, `services` (the --service scope; null: the whole tier),
//! `selinux` ({labels: "checked", policy, directories} or {labels: "skipped", reason}).

use std::path::Path;

use serde::{Serialize, Serializer};

use super::selinux::Labels;
use super::{Finding, Report};
use crate::escape;
use crate::nagios::Perf;
use crate::status::{Lines, Status};

/// Nothing when all is well (unless `verbose`); else one line per finding
/// and a summary. `journal`: prefix each line with its syslog priority.
pub fn text(report: &Report, verbose: bool, journal: bool) -> String {
    let status = report.status();
    if status == Status::Ok && !verbose {
        return String::new();
    }
    let mut out = Lines::new(journal);
    // Worst last, just above the summary: `systemctl status` shows the last
    // lines, and there the blocking findings (each with its fix) must be.
    let mut findings: Vec<&Finding> = report.tally.findings.iter().collect();
    findings.sort_by_key(|f| f.severity);
    for f in findings {
        out.push(f.severity, finding_line(f));
    }
    out.push(status, summary(report));
    out.into_string()
}

/// For a gated unit's journal, where `systemctl status` shows the last ten
/// lines: the verdict comes last and carries the (first) blocking finding
/// with its fix, so that one line says what is wrong and what to run. Other
/// blocking findings (CRITICAL, UNKNOWN) come before it, one line each.
/// Nothing when the start may go on (WARNINGs are the whole run's to report),
/// unless `verbose`.
pub fn gate_text(report: &Report, verbose: bool, journal: bool) -> String {
    let status = report.status();
    let mut out = Lines::new(journal);
    let services = report.services.join(", ");
    let blocking: Vec<&Finding> = report
        .tally
        .findings
        .iter()
        .filter(|f| f.severity > Status::Warning)
        .collect();
    let Some((first, others)) = blocking.split_first() else {
        if verbose {
            out.push(
                status,
                format!(
                    "jts-hot gate for {services}: start allowed: {}",
                    summary(report)
                ),
            );
        }
        return out.into_string();
    };
    for f in others {
        out.push(f.severity, finding_line(f));
    }
    let more = match others.len() {
        0 => String::new(),
        n => format!(" ({n} more above)"),
    };
    out.push(
        status,
        format!(
            "jts-hot gate for {services}: start refused: {}{more}",
            finding_line(first)
        ),
    );
    out.into_string()
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

/// "all checks passed", or "2 critical, 1 warning".
fn counts(report: &Report) -> String {
    match report.status() {
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
    }
}

pub fn summary(report: &Report) -> String {
    let status = report.status();
    let counts = counts(report);
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

/// The report as a monitoring plugin prints it (docs/nagios.md): the status
/// line with the counts and the checks that failed, perfdata (counts and
/// time), then each finding, worst first, and the full summary.
pub fn nagios(report: &Report) -> String {
    let status = report.status();
    let mut findings: Vec<&Finding> = report.tally.findings.iter().collect();
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let mut checks: Vec<String> = Vec::new();
    for f in &findings {
        let name = f.check.to_string();
        if !checks.contains(&name) {
            checks.push(name);
        }
    }
    let counts = counts(report);
    let failed = match checks.len() {
        0 => String::new(),
        1..=4 => format!(": {}", checks.join(", ")),
        n => format!(": {} and {} more", checks[..3].join(", "), n - 3),
    };
    let line = format!(
        "validate: {counts} ({} checks, {} directories under {}){failed}",
        report.tally.checks,
        report.directories,
        escape::untrusted_path(&report.base)
    );
    let count = |label: &str, severity: Status| {
        let mut p = Perf::count(label, report.count(severity));
        // The plugin range "0": any finding of this severity is one too many.
        match severity {
            Status::Warning => p.warn = Some(0u64.into()),
            Status::Critical => p.crit = Some(0u64.into()),
            _ => {}
        }
        p
    };
    let perf = [
        Perf::count("checks", report.tally.checks),
        Perf::count("directories", report.directories),
        count("warning", Status::Warning),
        count("critical", Status::Critical),
        count("unknown", Status::Unknown),
        Perf {
            label: "time".into(),
            value: report.duration.as_secs_f64().into(),
            uom: "s",
            warn: None,
            crit: None,
            min: Some(0u64.into()),
            max: None,
        },
    ];
    let mut details: Vec<String> = findings.iter().map(|f| finding_line(f)).collect();
    details.push(summary(report));
    crate::nagios::output(status, &line, &perf, &details)
}

/// The report as JSON, schema "jts-hot.validate/1" (keys sorted).
pub fn json(report: &Report) -> String {
    // Through a Value: its map keeps keys sorted, as the schema has always printed them.
    let value = serde_json::to_value(report).expect("a report serializes");
    serde_json::to_string_pretty(&value).expect("JSON serializes") + "\n"
}

/// The report as the schema has it.
#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    status: Status,
    layout: LayoutId<'a>,
    #[serde(serialize_with = "escape::serialize_path")]
    base: &'a Path,
    #[serde(serialize_with = "escape::serialize_opt_path")]
    root: &'a Option<std::path::PathBuf>,
    findings: &'a [Finding],
    counts: Counts,
    directories: usize,
    selinux: &'a Labels,
    /// The --service scope; null: the whole tier.
    services: Option<&'a [String]>,
    duration_seconds: f64,
}

#[derive(Serialize)]
struct LayoutId<'a> {
    source: &'a str,
    digest: &'a str,
}

#[derive(Serialize)]
struct Counts {
    checks: usize,
    ok: usize,
    warning: usize,
    critical: usize,
    unknown: usize,
}

impl Serialize for Report {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let checks = self.tally.checks;
        Document {
            schema: "jts-hot.validate/1",
            status: self.status(),
            layout: LayoutId {
                source: &self.source,
                digest: &self.digest,
            },
            base: &self.base,
            root: &self.root,
            findings: &self.tally.findings,
            counts: Counts {
                checks,
                ok: checks - self.tally.findings.len(),
                warning: self.count(Status::Warning),
                critical: self.count(Status::Critical),
                unknown: self.count(Status::Unknown),
            },
            directories: self.directories,
            selinux: &self.selinux,
            services: (!self.services.is_empty()).then_some(&self.services[..]),
            duration_seconds: self.duration.as_secs_f64(),
        }
        .serialize(s)
    }
}
