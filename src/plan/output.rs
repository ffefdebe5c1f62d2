//! `jts-hot plan` as a table for an operator, or as JSON with the same figures.
//!
//! JSON schema "jts-hot.plan/1" (documented in README.md; fields are only ever added):
//! `schema`, `layout {source, digest}`, `base`, `services [{name, planned_bytes,
//! share_percent}]`, `planned_bytes`, `capacity_bytes`, `capacity_left_bytes`,
//! `filesystem` (null when it cannot be measured, with `filesystem_error`),
//! `over_committed`, `verdict`.

use std::io::Write;

use serde_json::{json, Value};

use super::{OverCommit, Plan};
use crate::cli::TextOrJson;
use crate::render::escape;
use crate::units::{bytes as human, bytes_signed as human_signed};

pub fn print(plan: &Plan, format: TextOrJson) {
    let out = match format {
        TextOrJson::Text => text(plan),
        TextOrJson::Json => {
            serde_json::to_string_pretty(&json(plan)).expect("JSON serializes") + "\n"
        }
    };
    // A closed stdout (`| head`) is not an error worth a panic.
    let _ = std::io::stdout().write_all(out.as_bytes());
}

/// One sentence per over-commitment, or that the plan fits.
pub fn verdict(plan: &Plan) -> String {
    let over = plan.over_commits();
    if over.is_empty() {
        return "OK: the plan fits tier.capacity and the filesystem".into();
    }
    let reasons: Vec<String> = over.iter().map(|o| reason(plan, o)).collect();
    format!("OVER-COMMITTED: {}", reasons.join("; "))
}

/// Why one over-commitment is one, with the figures.
pub fn reason(plan: &Plan, over: &OverCommit) -> String {
    match over {
        OverCommit::Capacity { by } => format!(
            "the plan ({}) exceeds tier.capacity ({}) by {}",
            human(plan.planned_total),
            human(plan.capacity),
            human(*by)
        ),
        OverCommit::Filesystem { by } => {
            let fs = plan.filesystem.as_ref().expect("measured");
            let overhead = fs
                .overhead()
                .map(|o| format!(", after {} of filesystem overhead", human(o)))
                .unwrap_or_default();
            format!(
                "the plan ({}) exceeds the {} that services can use on the filesystem \
                 ({} size{overhead}, less {} reserved for root) by {}",
                human(plan.planned_total),
                human(fs.size.usable()),
                human(fs.size.size_bytes),
                human(fs.size.reserved()),
                human(*by)
            )
        }
    }
}

pub fn text(plan: &Plan) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!(
        "Planned allocation under {} (layout: {})",
        escape::untrusted_path(&plan.base),
        plan.source
    ));
    line(String::new());
    line(format!(
        "  {:<16} {:>10} {:>9}",
        "service", "planned", "share"
    ));
    for s in &plan.services {
        line(format!(
            "  {:<16} {:>10} {:>8.1}%",
            s.name,
            human(s.planned),
            plan.share(s.planned)
        ));
    }
    line(format!(
        "  {:<16} {:>10} {:>8.1}%  of tier.capacity {}, {} left",
        "total",
        human(plan.planned_total),
        plan.share(plan.planned_total),
        human(plan.capacity),
        human_signed(plan.capacity_left())
    ));
    line(String::new());
    match &plan.filesystem {
        Err(e) => line(format!("Filesystem: not measured: {e}")),
        Ok(fs) => {
            let whose = match &fs.mount {
                Some(m) if m.own_mount => {
                    format!("{} on {}, the tier's own mount", m.fstype, m.source)
                }
                Some(m) => format!(
                    "{} on {}, mounted at {}: not the tier's own mount",
                    m.fstype,
                    m.source,
                    escape::untrusted_path(&m.mount_point)
                ),
                None => "mount table not readable".into(),
            };
            if fs.base_exists {
                line(format!(
                    "Filesystem under {} ({whose})",
                    escape::untrusted_path(&plan.base)
                ));
            } else {
                line(format!(
                    "Filesystem under {}: the base does not exist yet; measured at {} ({whose})",
                    escape::untrusted_path(&plan.base),
                    escape::untrusted_path(&fs.measured_at)
                ));
            }
            if let Some(device) = fs.mount.as_ref().and_then(|m| m.device_size) {
                line(format!("  {:<26} {:>10}", "device", human(device)));
            }
            if let Some(overhead) = fs.overhead() {
                line(format!(
                    "  {:<26} {:>10}",
                    "filesystem overhead",
                    human(overhead)
                ));
            }
            let rows = [
                ("filesystem size", human(fs.size.size_bytes)),
                ("reserved blocks (root)", human(fs.size.reserved())),
                ("usable by services", human(fs.size.usable())),
                ("planned", human(plan.planned_total)),
                (
                    "left after the plan",
                    human_signed(plan.filesystem_left().unwrap_or(0)),
                ),
                ("available now", human(fs.size.avail_bytes)),
            ];
            for (label, value) in rows {
                line(format!("  {label:<26} {value:>10}"));
            }
        }
    }
    line(String::new());
    line(verdict(plan));
    out
}

pub fn json(plan: &Plan) -> Value {
    let filesystem = plan.filesystem.as_ref().ok().map(|fs| {
        let mount = fs.mount.as_ref();
        json!({
            // Paths and mount facts as escaped text: never a JSON failure, never a forged line.
            "measured_at": escape::untrusted_path(&fs.measured_at),
            "base_exists": fs.base_exists,
            "mount_point": mount.map(|m| escape::untrusted_path(&m.mount_point)),
            "own_mount": mount.map(|m| m.own_mount),
            "fstype": mount.map(|m| escape::untrusted(&m.fstype)),
            "source": mount.map(|m| escape::untrusted(&m.source)),
            "device_bytes": mount.and_then(|m| m.device_size),
            "overhead_bytes": fs.overhead(),
            "size_bytes": fs.size.size_bytes,
            "reserved_bytes": fs.size.reserved(),
            "usable_bytes": fs.size.usable(),
            "available_bytes": fs.size.avail_bytes,
            "left_bytes": plan.filesystem_left().map(clamp_i64),
        })
    });
    let over = plan.over_commits();
    json!({
        "schema": "jts-hot.plan/1",
        "layout": {"source": plan.source, "digest": plan.digest},
        "base": escape::untrusted_path(&plan.base),
        "services": plan.services.iter().map(|s| json!({
            "name": s.name,
            "planned_bytes": s.planned,
            "share_percent": plan.share(s.planned),
        })).collect::<Vec<_>>(),
        "planned_bytes": u64::try_from(plan.planned_total).unwrap_or(u64::MAX),
        "capacity_bytes": plan.capacity,
        "capacity_left_bytes": clamp_i64(plan.capacity_left()),
        "filesystem": filesystem,
        "filesystem_error": plan.filesystem.as_ref().err(),
        "over_committed": !over.is_empty(),
        "verdict": verdict(plan),
    })
}

/// A byte count for JSON, whose readers hold 64-bit integers: saturated,
/// never wrapped (a plan far beyond the capacity stays far beyond it).
fn clamp_i64(v: i128) -> i64 {
    v.clamp(i64::MIN.into(), i64::MAX.into()) as i64
}
