//! `jts-hot quota set` and `jts-hot quota status` as text and JSON.
//!
//! JSON schemas "jts-hot.quota-set/1" and "jts-hot.quota-status/1" (docs/quotas.md):
//! the report's fields as serialized, with `schema` added.

use serde::Serialize;

use super::{Action, Inspection, SetReport, Step};
use crate::escape;
use crate::status::{Lines, Status};
use crate::units;

/// `set`'s report as JSON, schema "jts-hot.quota-set/1".
pub fn set_json(report: &SetReport) -> String {
    with_schema(report, "jts-hot.quota-set/1")
}

/// `inspect`'s report as JSON, schema "jts-hot.quota-status/1".
pub fn status_json(inspection: &Inspection) -> String {
    with_schema(inspection, "jts-hot.quota-status/1")
}

fn with_schema<T: Serialize>(report: &T, schema: &str) -> String {
    let mut v = serde_json::to_value(report).expect("a report serializes");
    if let Some(o) = v.as_object_mut() {
        o.insert("schema".into(), schema.into());
    }
    serde_json::to_string_pretty(&v).expect("JSON serializes") + "\n"
}

fn state_text(state: Option<super::State>) -> &'static str {
    match state {
        None => "unknown",
        Some(s) if s.enforcing => "accounting and enforcing",
        Some(s) if s.accounting => "accounting, not enforcing",
        Some(_) => "off",
    }
}

/// A limit as the layout writes sizes; 0 is no limit.
fn limit_text(bytes: u64) -> String {
    match bytes {
        0 => "none".into(),
        b => units::bytes(b),
    }
}

/// The step as one line for people and the journal.
pub fn step_line(s: &Step) -> String {
    let p = escape::untrusted_path(&s.path);
    let id = s.project_id;
    match &s.action {
        Action::Tagged { from: 0 } => {
            format!("tagged {p} with project {id} (inherited by new entries)")
        }
        Action::Tagged { from } if *from == id => {
            format!("restored the inherit flag on {p} (project {id}): it had been cleared")
        }
        Action::Tagged { from } => format!("re-tagged {p}: project {from} → {id}"),
        Action::Unchanged => format!("unchanged {p} (project {id})"),
        Action::LimitsUnchanged => format!("unchanged limits of project {id} ({})", s.service),
        Action::Reclaimed { from } => format!(
            "re-tagged {p}: it carried project {from}, set by its owner or another tool (the \
             layout gives it {id}); project {id} and the inherit flag are back"
        ),
        Action::Limits { soft, hard } => format!(
            "limits of project {id} ({}): soft {}, hard {}",
            s.service,
            limit_text(*soft),
            limit_text(*hard)
        ),
        Action::Failed { error } => format!("failed: {error}"),
    }
}

/// What changed or is wrong, a line each (what was already right is only
/// counted), then the verdict. `journal`: each line with its syslog priority
/// (what is not in place a warning, as the exit status 1 says).
pub fn set_text(r: &SetReport, journal: bool) -> String {
    let mut out = Lines::new(journal);
    let mut unchanged = 0;
    for s in &r.steps {
        match s.action {
            Action::Unchanged | Action::LimitsUnchanged => unchanged += 1,
            Action::Reclaimed { .. } | Action::Failed { .. } => {
                out.push(Status::Warning, step_line(s))
            }
            // The inherit flag alone cleared: someone did it.
            Action::Tagged { from } if from == s.project_id => {
                out.push(Status::Warning, step_line(s))
            }
            Action::Tagged { .. } | Action::Limits { .. } => out.push(Status::Ok, step_line(s)),
        }
    }
    if let Some(t) = &r.tree {
        tree_lines(t, &mut out);
    }
    for p in &r.problems {
        out.push(Status::Warning, format!("problem: {p}"));
    }
    let (status, verdict) = match (r.ok(), r.changed()) {
        (true, true) => (Status::Ok, "set"),
        (true, false) => (Status::Ok, "nothing to change"),
        (false, _) => (Status::Warning, "NOT all in place"),
    };
    out.push(
        status,
        format!(
            "jts-hot quota set: tier.quota = {} (in effect: {}; project quotas on the filesystem: {}): {verdict} ({unchanged} already in place)",
            r.mode.as_str(),
            r.effective.as_str(),
            state_text(r.state)
        ),
    );
    out.into_string()
}

/// The walk of `--repair`: each entry re-tagged or left, each service's
/// totals, what could not be walked.
fn tree_lines(t: &super::tree::TreeScan, out: &mut Lines) {
    for s in &t.services {
        for m in &s.examples {
            let what = match (m.repaired, m.inherit_missing) {
                (true, true) => "restored the inherit flag on",
                (true, false) => "re-tagged",
                (false, _) => "NOT re-tagged",
            };
            let status = if m.repaired {
                Status::Ok
            } else {
                Status::Warning
            };
            out.push(
                status,
                format!(
                    "{what} {} ({}, {}): project {} → {}",
                    m.path,
                    s.service,
                    units::bytes(m.bytes),
                    m.project_id,
                    s.project_id
                ),
            );
        }
        let shown = s.examples.len() as u64;
        let all = s.repaired_inodes + s.misattributed_inodes;
        if all > shown {
            out.push(
                Status::Ok,
                format!("... and {} more in {}'s tree", all - shown, s.service),
            );
        }
        if all > 0 || s.partial {
            let status = if s.misattributed_inodes > 0 || s.partial {
                Status::Warning
            } else {
                Status::Ok
            };
            out.push(
                status,
                format!(
                    "{} tree: {} entries walked, re-tagged {} entries ({}), left {} entries ({}){}",
                    s.service,
                    s.entries,
                    s.repaired_inodes,
                    units::bytes(s.repaired_bytes),
                    s.misattributed_inodes,
                    units::bytes(s.misattributed_bytes),
                    if s.partial { ", walk INCOMPLETE" } else { "" }
                ),
            );
        }
        for e in &s.errors {
            out.push(Status::Warning, format!("{} tree: {e}", s.service));
        }
        for k in &s.skipped {
            out.push(Status::Ok, format!("{} tree: not entered {k}", s.service));
        }
    }
}

/// The filesystem's state, then each service's project, usage and limits
/// and each directory's project. `journal`: errors at priority warning, or
/// err when the tier's quota state itself could not be read.
pub fn status_text(i: &Inspection, journal: bool) -> String {
    let mut out = Lines::new(journal);
    out.push(
        Status::Ok,
        format!(
            "tier.quota = {} (in effect: {}; project quotas on the filesystem: {})",
            i.mode.as_str(),
            i.effective.as_str(),
            state_text(i.state)
        ),
    );
    if let Some(e) = &i.error {
        out.push(Status::Unknown, format!("error: {e}"));
    }
    for s in &i.services {
        let (status, q) = match (&s.quota, &s.quota_error) {
            (Some(q), _) => (
                Status::Ok,
                format!(
                    "used {}, {} inodes, soft {}, hard {}",
                    units::bytes(q.space_bytes),
                    q.inodes,
                    limit_text(q.soft_bytes),
                    limit_text(q.hard_bytes)
                ),
            ),
            (None, Some(e)) => (Status::Warning, e.clone()),
            (None, None) => (Status::Ok, "no accounting".into()),
        };
        out.push(
            status,
            format!("{} project {}: {q}", s.service, s.project_id),
        );
        for d in &s.dirs {
            let (status, what) = match (d.project_id, &d.error) {
                (Some(id), _) => (
                    Status::Ok,
                    format!("project {id}{}", if d.inherit { ", inherit" } else { "" }),
                ),
                (None, Some(e)) => (Status::Warning, e.clone()),
                (None, None) => (Status::Ok, "unknown".into()),
            };
            out.push(
                status,
                format!("  {}: {what}", escape::untrusted_path(&d.path)),
            );
        }
    }
    out.into_string()
}

/// `jts-hot quota`'s report as text; `journal`: each line with its priority.
pub fn text(report: &super::Report, journal: bool) -> String {
    match report {
        super::Report::Set(r) => set_text(r, journal),
        super::Report::Status(i) => status_text(i, journal),
        super::Report::Record(r) => record_text(r, journal),
    }
}

fn record_text(
    r: &Result<Option<(super::record::Record, std::path::PathBuf)>, String>,
    journal: bool,
) -> String {
    let mut out = Lines::new(journal);
    match r {
        Ok(None) => out.push(Status::Ok, "tier.quota is off: nothing to record"),
        Ok(Some((rec, path))) => out.push(
            Status::Ok,
            format!(
                "recorded project quotas ({}) of {} services in {}",
                state_text(Some(rec.state())),
                rec.projects.len(),
                escape::untrusted_path(path)
            ),
        ),
        Err(e) => out.push(Status::Unknown, format!("nothing recorded: {e}")),
    }
    out.into_string()
}

/// `jts-hot quota`'s report as JSON.
pub fn json(report: &super::Report) -> String {
    match report {
        super::Report::Set(r) => set_json(r),
        super::Report::Status(i) => status_json(i),
        super::Report::Record(r) => {
            let v = match r {
                Ok(rec) => {
                    serde_json::json!({ "recorded": rec.as_ref().map(|(r, _)| r), "error": null })
                }
                Err(e) => serde_json::json!({ "recorded": null, "error": e }),
            };
            with_schema(&v, "jts-hot.quota-record/1")
        }
    }
}
