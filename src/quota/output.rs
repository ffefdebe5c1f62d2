//! `jts-hot quota set` and `jts-hot quota status` as text and JSON.
//!
//! JSON schemas "jts-hot.quota-set/1" and "jts-hot.quota-status/1" (docs/quotas.md):
//! the report's fields as serialized, with `schema` added.

use std::fmt::Write;

use serde::Serialize;

use super::{step_line, Action, Inspection, SetReport};

pub fn json<T: Serialize>(report: &T) -> String {
    let mut v = serde_json::to_value(report).expect("a report serializes");
    let schema = if v.get("steps").is_some() {
        "jts-hot.quota-set/1"
    } else {
        "jts-hot.quota-status/1"
    };
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

pub fn set_text(r: &SetReport) -> String {
    let mut out = String::new();
    // What changed or is wrong, one line each; what was already right, counted.
    let mut unchanged = 0;
    for s in &r.steps {
        if matches!(s.action, Action::Unchanged | Action::LimitsUnchanged) {
            unchanged += 1;
        } else {
            let _ = writeln!(out, "{}", step_line(s));
        }
    }
    for p in &r.problems {
        let _ = writeln!(out, "problem: {p}");
    }
    let verdict = if r.ok() {
        if r.changed() {
            "set"
        } else {
            "nothing to change"
        }
    } else {
        "NOT all in place"
    };
    let _ = writeln!(
        out,
        "jts-hot quota set: tier.quota = {} (in effect: {}; project quotas on the filesystem: {}): {verdict} ({unchanged} already in place)",
        r.mode.as_str(),
        r.effective.as_str(),
        state_text(r.state)
    );
    out
}

pub fn status_text(i: &Inspection) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "tier.quota = {} (in effect: {}; project quotas on the filesystem: {})",
        i.mode.as_str(),
        i.effective.as_str(),
        state_text(i.state)
    );
    if let Some(e) = &i.error {
        let _ = writeln!(out, "error: {e}");
    }
    for s in &i.services {
        let q = match (&s.quota, &s.quota_error) {
            (Some(q), _) => format!(
                "used {} bytes, {} inodes, soft {}, hard {}",
                q.space_bytes, q.inodes, q.soft_bytes, q.hard_bytes
            ),
            (None, Some(e)) => e.clone(),
            (None, None) => "no accounting".into(),
        };
        let _ = writeln!(out, "{} project {}: {q}", s.service, s.project_id);
        for d in &s.dirs {
            let what = match (d.project_id, &d.error) {
                (Some(id), _) => {
                    format!("project {id}{}", if d.inherit { ", inherit" } else { "" })
                }
                (None, Some(e)) => e.clone(),
                (None, None) => "unknown".into(),
            };
            let _ = writeln!(out, "  {}: {what}", d.path.display());
        }
    }
    out
}
