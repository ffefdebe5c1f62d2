//! `jts-hot plan` as a table for an operator, or as JSON with the same figures.
//!
//! JSON schema "jts-hot.plan/1" (documented in docs/validate.md; fields are only ever added):
//! `schema`, `layout {source, digest}`, `base`, `services [{name, planned_bytes,
//! share_percent}]`, `planned_bytes`, `capacity_bytes`, `capacity_left_bytes`,
//! `filesystem` (null when it cannot be measured, with `filesystem_error`),
//! `over_committed`, `verdict`.

use std::path::Path;

use serde::{Serialize, Serializer};

use super::{BaseFilesystem, OverCommit, Plan};
use crate::escape;
use crate::status::{Lines, Status};
use crate::units::{bytes as human, bytes_signed as human_signed};

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

/// The table, then the verdict. `journal`: each line with its syslog
/// priority (the figures info, the verdict that of the plan's status).
pub fn text(plan: &Plan, journal: bool) -> String {
    let mut out = Lines::new(journal);
    let mut figures = allocation(plan);
    figures.push(String::new());
    match &plan.filesystem {
        Err(e) => figures.push(format!("Filesystem: not measured: {e}")),
        Ok(fs) => figures.extend(filesystem(plan, fs)),
    }
    figures.push(String::new());
    for line in figures {
        out.push(Status::Ok, line);
    }
    out.push(plan.status(), verdict(plan));
    out.into_string()
}

/// Each service's planned size and share of tier.capacity, and the total.
fn allocation(plan: &Plan) -> Vec<String> {
    let mut lines = vec![
        format!(
            "Planned allocation under {} (layout: {})",
            escape::untrusted_path(&plan.base),
            escape::untrusted(&plan.source)
        ),
        String::new(),
        format!("  {:<16} {:>10} {:>9}", "service", "planned", "share"),
    ];
    for s in &plan.services {
        lines.push(format!(
            "  {:<16} {:>10} {:>8.1}%",
            s.name,
            human(s.planned),
            plan.share(s.planned)
        ));
    }
    lines.push(format!(
        "  {:<16} {:>10} {:>8.1}%  of tier.capacity {}, {} left",
        "total",
        human(plan.planned_total),
        plan.share(plan.planned_total),
        human(plan.capacity),
        human_signed(plan.capacity_left())
    ));
    lines
}

/// The filesystem under the base: whose it is, then its figures against the plan.
fn filesystem(plan: &Plan, fs: &BaseFilesystem) -> Vec<String> {
    let whose = match &fs.mount {
        Some(m) if m.own_mount => format!(
            "{} on {}, the tier's own mount",
            escape::untrusted(&m.fstype),
            escape::untrusted(&m.source)
        ),
        Some(m) => format!(
            "{} on {}, mounted at {}: not the tier's own mount",
            escape::untrusted(&m.fstype),
            escape::untrusted(&m.source),
            escape::untrusted_path(&m.mount_point)
        ),
        None => "mount table not readable".into(),
    };
    let base = escape::untrusted_path(&plan.base);
    let mut lines = vec![match fs.base_exists {
        true => format!("Filesystem under {base} ({whose})"),
        false => format!(
            "Filesystem under {base}: the base does not exist yet; measured at {} ({whose})",
            escape::untrusted_path(&fs.measured_at)
        ),
    }];
    let mut rows = Vec::new();
    if let Some(device) = fs.mount.as_ref().and_then(|m| m.device_size) {
        rows.push(("device", human(device)));
    }
    if let Some(overhead) = fs.overhead() {
        rows.push(("filesystem overhead", human(overhead)));
    }
    rows.extend([
        ("filesystem size", human(fs.size.size_bytes)),
        ("reserved blocks (root)", human(fs.size.reserved())),
        ("usable by services", human(fs.size.usable())),
        ("planned", human(plan.planned_total)),
        (
            "left after the plan",
            human_signed(plan.filesystem_left().unwrap_or(0)),
        ),
        ("available now", human(fs.size.avail_bytes)),
    ]);
    lines.extend(
        rows.into_iter()
            .map(|(label, value)| format!("  {label:<26} {value:>10}")),
    );
    lines
}

/// The plan as JSON, schema "jts-hot.plan/1" (keys sorted).
pub fn json(plan: &Plan) -> String {
    // Not through a Value, which holds no integer beyond 64 bits; the
    // documents' fields are declared in key order instead.
    serde_json::to_string_pretty(plan).expect("a plan serializes") + "\n"
}

/// The plan as the schema has it: bytes as exact integers (a sum beyond
/// u64 printed whole, never saturated), paths and mount facts as escaped
/// text (never a JSON failure, never a forged line). Fields in key order:
/// the schema has always printed its keys sorted.
#[derive(Serialize)]
struct Document<'a> {
    #[serde(serialize_with = "escape::serialize_path")]
    base: &'a Path,
    capacity_bytes: u64,
    capacity_left_bytes: i128,
    filesystem: Option<FilesystemDoc>,
    filesystem_error: Option<&'a str>,
    layout: LayoutId<'a>,
    over_committed: bool,
    planned_bytes: u128,
    schema: &'static str,
    services: Vec<ServiceDoc<'a>>,
    verdict: String,
}

#[derive(Serialize)]
struct LayoutId<'a> {
    digest: &'a str,
    source: &'a str,
}

#[derive(Serialize)]
struct ServiceDoc<'a> {
    name: &'a str,
    planned_bytes: u64,
    share_percent: f64,
}

#[derive(Serialize)]
struct FilesystemDoc {
    available_bytes: u64,
    base_exists: bool,
    device_bytes: Option<u64>,
    fstype: Option<String>,
    left_bytes: Option<i128>,
    measured_at: String,
    mount_point: Option<String>,
    overhead_bytes: Option<u64>,
    own_mount: Option<bool>,
    reserved_bytes: u64,
    size_bytes: u64,
    source: Option<String>,
    usable_bytes: u64,
}

impl FilesystemDoc {
    fn of(fs: &BaseFilesystem, plan: &Plan) -> FilesystemDoc {
        let mount = fs.mount.as_ref();
        FilesystemDoc {
            measured_at: escape::untrusted_path(&fs.measured_at),
            base_exists: fs.base_exists,
            mount_point: mount.map(|m| escape::untrusted_path(&m.mount_point)),
            own_mount: mount.map(|m| m.own_mount),
            fstype: mount.map(|m| escape::untrusted(&m.fstype)),
            source: mount.map(|m| escape::untrusted(&m.source)),
            device_bytes: mount.and_then(|m| m.device_size),
            overhead_bytes: fs.overhead(),
            size_bytes: fs.size.size_bytes,
            reserved_bytes: fs.size.reserved(),
            usable_bytes: fs.size.usable(),
            available_bytes: fs.size.avail_bytes,
            left_bytes: plan.filesystem_left(),
        }
    }
}

impl Serialize for Plan {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Document {
            schema: "jts-hot.plan/1",
            layout: LayoutId {
                source: &self.source,
                digest: &self.digest,
            },
            base: &self.base,
            services: self
                .services
                .iter()
                .map(|s| ServiceDoc {
                    name: &s.name,
                    planned_bytes: s.planned,
                    share_percent: self.share(s.planned),
                })
                .collect(),
            planned_bytes: self.planned_total,
            capacity_bytes: self.capacity,
            capacity_left_bytes: self.capacity_left(),
            filesystem: self
                .filesystem
                .as_ref()
                .ok()
                .map(|fs| FilesystemDoc::of(fs, self)),
            filesystem_error: self.filesystem.as_ref().err().map(String::as_str),
            over_committed: !self.over_commits().is_empty(),
            verdict: verdict(self),
        }
        .serialize(s)
    }
}
