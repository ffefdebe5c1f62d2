//! `jts-hot status` as one screen for a person, or JSON (`jts-hot.status/1`).
//! What to do next points at reading commands (validate, apply --dry-run),
//! never at one that changes owners and modes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{InPlace, Monitor, Report, Units};
use crate::applied::Origin;
use crate::escape;
use crate::status::{Lines, Status};

/// The screen. `now`: to say how long ago things happened.
pub fn text(report: &Report, now: SystemTime, journal: bool) -> String {
    let mut out = Lines::new(journal);
    let l = &report.layout;
    let short = |d: &str| d.chars().take(19).collect::<String>();
    let origin = match &l.origin {
        Origin::Applied {
            from, applied_unix, ..
        } => format!(
            "{}, applied {}",
            escape::untrusted(from),
            applied_unix.map_or("at an unknown time".into(), |t| when(t, now))
        ),
        Origin::Packaged => "built-in default, as packaged (jts-hot apply never ran)".into(),
        Origin::Explicit { file } => format!("{} (--config)", escape::untrusted_path(file)),
        Origin::BuiltinAsked => "built-in default (--default-layout)".into(),
    };
    out.push(
        Status::Ok,
        format!("layout    {origin}; digest {}…", short(&l.digest)),
    );
    match &l.pending {
        None => out.push(Status::Ok, "          no pending edit"),
        Some(p) => out.push(
            Status::Warning,
            format!(
                "          PENDING: {}; nothing runs by it: review with `jts-hot apply --dry-run`",
                p.describe()
            ),
        ),
    }
    let t = &report.tier;
    let base = escape::untrusted_path(&t.base);
    let mount = match &t.mount {
        None => "does not exist".to_string(),
        Some(m) if m.own => format!("mounted ({} {})", m.fstype, escape::untrusted(&m.source)),
        Some(m) => format!(
            "not its own mount: on {} ({} {})",
            escape::untrusted_path(&m.mount_point),
            m.fstype,
            escape::untrusted(&m.source)
        ),
    };
    out.push(Status::Ok, format!("tier      {base}: {mount}"));
    let counts = format!(
        "{} critical, {} warning, {} unknown of {} checks",
        t.critical, t.warning, t.unknown, t.checks
    );
    let next = match t.status {
        Status::Ok => String::new(),
        _ => "; `jts-hot validate` lists them".into(),
    };
    out.push(t.status, format!("          {}: {counts}{next}", t.status));
    units_lines(&mut out, &report.units);
    monitor_line(&mut out, &report.monitor, now);
    out.push(
        in_place_status(&report.quotas),
        format!("quotas    {}", in_place(&report.quotas)),
    );
    out.push(
        in_place_status(&report.selinux),
        format!("selinux   {}", in_place(&report.selinux)),
    );
    out.into_string()
}

fn units_lines(out: &mut Lines, units: &Units) {
    match units {
        Units::NotRunning => out.push(
            Status::Ok,
            "units     systemd is not running here: no unit states",
        ),
        Units::Unreadable { reason } => out.push(
            Status::Unknown,
            format!("units     cannot read: {}", escape::untrusted(reason)),
        ),
        Units::Running { units } => {
            for (i, u) in units.iter().enumerate() {
                let head = match (i, u.gated) {
                    (0, _) => "units    ",
                    (_, true) if !units[i - 1].gated => "gated    ",
                    _ => "         ",
                };
                let state = match u.load.as_str() {
                    "loaded" => format!("{} ({})", u.active, u.sub),
                    load => load.to_string(),
                };
                let severity = match u.active.as_str() {
                    "failed" => Status::Critical,
                    _ => Status::Ok,
                };
                let enabled = match u.enabled.as_str() {
                    "" => String::new(),
                    e => format!("  {e}"),
                };
                out.push(severity, format!("{head} {:<28} {state}{enabled}", u.name));
            }
        }
    }
}

fn monitor_line(out: &mut Lines, monitor: &Monitor, now: SystemTime) {
    match monitor {
        Monitor::Never => out.push(Status::Ok, "monitor   no run yet"),
        Monitor::Unreadable { reason } => out.push(
            Status::Unknown,
            format!("monitor   {}", escape::untrusted(reason)),
        ),
        Monitor::Ran { last } => {
            let nearest: Vec<String> = last
                .nearest
                .iter()
                .map(|n| {
                    format!(
                        "{} {:.0}%",
                        escape::untrusted(&n.service),
                        n.percent_of_plan
                    )
                })
                .collect();
            out.push(
                last.status,
                format!(
                    "monitor   last run {}: {}; nearest their plan: {}",
                    when(last.timestamp, now),
                    last.status,
                    nearest.join(", ")
                ),
            );
        }
    }
}

fn in_place(state: &InPlace) -> String {
    match state {
        InPlace::InPlace => "in place".into(),
        InPlace::NotInPlace { findings } => {
            format!("NOT in place: {findings} findings (`jts-hot validate`)")
        }
        InPlace::Off { reason } => format!("not checked: {}", escape::untrusted(reason)),
    }
}

fn in_place_status(state: &InPlace) -> Status {
    match state {
        InPlace::NotInPlace { .. } => Status::Warning,
        _ => Status::Ok,
    }
}

/// "2026-12-06 18:56:05 UTC (3 min ago)".
fn when(unix: u64, now: SystemTime) -> String {
    let t = UNIX_EPOCH + Duration::from_secs(unix);
    let stamp = humantime::format_rfc3339_seconds(t)
        .to_string()
        .replace('T', " ")
        .replace('Z', " UTC");
    let ago = match now.duration_since(t) {
        Ok(d) if d.as_secs() < 60 => "just now".to_string(),
        Ok(d) if d.as_secs() < 3600 => format!("{} min ago", d.as_secs() / 60),
        Ok(d) if d.as_secs() < 172_800 => format!("{} h ago", d.as_secs() / 3600),
        Ok(d) => format!("{} days ago", d.as_secs() / 86_400),
        Err(_) => "in the future".to_string(),
    };
    format!("{stamp} ({ago})")
}

/// The report as JSON, schema `jts-hot.status/1`.
pub fn json(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).expect("the report serializes");
    text.push('\n');
    text
}
