//! `jts-hot probe`'s report for people (one line per fact, each with its
//! severity) and for programs (JSON, schema [`super::SCHEMA`]).

use super::identity::Device;
use super::measure::Measurements;
use super::scope::{DirIs, Scope, Why};
use super::Report;
use crate::escape;
use crate::state::Baseline;
use crate::status::{self, Status};
use crate::units;

/// The JSON document.
pub fn json(r: &Report) -> String {
    let mut s = serde_json::to_string_pretty(r).expect("the report serializes");
    s.push('\n');
    s
}

/// The human report: the outcome, then what is known (info), then the
/// findings at their own status. Under the journal every line carries its
/// priority (the first line the overall status).
pub fn text(r: &Report, journal: bool) -> String {
    let head = format!(
        "jts-hot probe: {} {}",
        r.status,
        escape::untrusted_path(&r.dir)
    );
    let mut lines = vec![(r.status, head)];
    let info = facts(r).into_iter().map(|l| (Status::Ok, l));
    lines.extend(info);
    for f in &r.findings {
        let label = if f.status == Status::Ok {
            "NOTE".to_string()
        } else {
            f.status.to_string()
        };
        lines.push((f.status, format!("{label} {}: {}", f.kind, f.message)));
    }
    status::lines(&lines, journal)
}

/// The mount and devices, the measurements, the baseline, where it was saved.
fn facts(r: &Report) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(id) = &r.identity {
        let m = &id.mount;
        out.push(format!(
            "mount {} from {} ({}), options {}; filesystem options {}",
            escape::untrusted_path(&m.mount_point),
            m.source,
            m.fstype,
            m.options.join(","),
            m.super_options.join(",")
        ));
        out.extend(id.devices.iter().map(device_line));
    }
    if let Some(m) = &r.measurements {
        out.extend(measurement_lines(m));
    }
    if let Some(b) = &r.baseline {
        out.push(baseline_line(b, r.regression_factor));
    }
    out.extend(r.scope.as_ref().map(|s| scope_line(s, &r.dir)));
    // Unfit services are findings, at their status, below.
    out.extend(
        r.fitness
            .iter()
            .filter(|s| s.verdict != super::fitness::Verdict::Unfit)
            .map(|s| format!("fitness {}", s.summary())),
    );
    if let Some(p) = &r.saved_to {
        out.push(format!(
            "saved as the baseline: {}",
            escape::untrusted_path(p)
        ));
    }
    out
}

/// Which services the figures are of, and why not the others.
fn scope_line(s: &Scope, dir: &std::path::Path) -> String {
    let base = escape::untrusted_path(&s.base);
    let whose = match s.dir_is {
        DirIs::OutsideTier => {
            return format!(
                "figures apply to no service: {} is outside the tier ({base}), no fitness judged",
                escape::untrusted_path(dir)
            )
        }
        DirIs::TierBase => "the tier's base".to_string(),
        DirIs::InTier => format!("in the tier ({base})"),
        DirIs::Service => format!("a service's directory in the tier ({base})"),
    };
    let applies = match s.applies_to.is_empty() {
        true => "no service".to_string(),
        false => s.applies_to.join(", "),
    };
    let mut line = format!("figures apply to {applies} (the directory is {whose})");
    // Grouped by why: one service directory probed leaves all others out alike.
    let not: Vec<String> = [Why::OtherService, Why::OtherFilesystem, Why::OutsideTier]
        .into_iter()
        .filter_map(|why| {
            let names: Vec<&str> = s
                .not_applied
                .iter()
                .filter(|n| n.why == why)
                .map(|n| n.service.as_str())
                .collect();
            let because = match why {
                Why::OtherService => "another service's directory was probed",
                Why::OtherFilesystem => "on another filesystem",
                Why::OutsideTier => "not in the tier",
            };
            (!names.is_empty()).then(|| format!("{} ({because})", names.join(", ")))
        })
        .collect();
    if !not.is_empty() {
        line.push_str(&format!("; not to {}", not.join("; ")));
    }
    line
}

fn measurement_lines(m: &Measurements) -> [String; 3] {
    let (fs, rr, sw) = (&m.fsync, &m.rand_read, &m.seq_write);
    [
        format!(
            "fsync (8 KiB write + fdatasync): {:.0} ops/s, p50 {}, p99 {}, max {} ({} ops)",
            fs.ops_per_sec,
            units::micros(fs.p50_us),
            units::micros(fs.p99_us),
            units::micros(fs.max_us),
            fs.ops
        ),
        format!(
            "random read (4 KiB O_DIRECT, queue depth 1, over {}): {:.0} IOPS, p50 {}, p99 {}, max {} ({} ops)",
            units::bytes(sw.bytes),
            rr.ops_per_sec,
            units::micros(rr.p50_us),
            units::micros(rr.p99_us),
            units::micros(rr.max_us),
            rr.ops
        ),
        format!(
            "sequential write (1 MiB O_DIRECT): {} ({} in {:.2} s)",
            units::rate(sw.bytes_per_sec),
            units::bytes(sw.bytes),
            sw.seconds
        ),
    ]
}

fn baseline_line(b: &Baseline, factor: f64) -> String {
    format!(
        "baseline of {}: fsync p50 {}, p99 {}; random read p50 {}, p99 {}; sequential write {} (regression factor {factor})",
        humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(b.measured_unix)
        ),
        units::micros(b.fsync_p50_us),
        units::micros(b.fsync_p99_us),
        units::micros(b.randread_p50_us),
        units::micros(b.randread_p99_us),
        units::rate(b.seq_write_bytes_per_sec),
    )
}

fn device_line(d: &Device) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "?".into());
    let num = |v: Option<u64>| v.map_or_else(|| "?".into(), |n| n.to_string());
    let transport = match &d.nvme_transport {
        Some(t) => format!("{} ({t})", d.transport),
        None => d.transport.clone(),
    };
    let discard = match d.discard_max_bytes {
        Some(0) => "no".to_string(),
        Some(max) => format!(
            "yes (max {}, granularity {} B)",
            units::bytes(max),
            num(d.discard_granularity)
        ),
        None => "?".into(),
    };
    let backing = d
        .backing_file
        .as_ref()
        .map(|b| format!(", backed by {}", escape::untrusted_path(b)))
        .unwrap_or_default();
    format!(
        "device {}: model {}, transport {transport}, rotational {}, logical/physical block {}/{} B, discard {discard}, write cache {}, scheduler {}{backing}",
        d.name,
        opt(&d.model),
        d.rotational.map_or("?", |r| if r { "yes" } else { "no" }),
        num(d.logical_block_size),
        num(d.physical_block_size),
        opt(&d.write_cache),
        opt(&d.scheduler),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{Finding, Kind, SCHEMA};
    use std::path::PathBuf;

    fn report(findings: Vec<Finding>) -> Report {
        Report {
            schema: SCHEMA,
            status: findings
                .iter()
                .map(|f| f.status)
                .max()
                .unwrap_or(Status::Ok),
            dir: PathBuf::from("/data/jts/hot"),
            size_bytes: 1 << 20,
            duration_seconds: 1.0,
            regression_factor: 2.0,
            identity: None,
            measurements: None,
            baseline: None,
            saved_to: None,
            scope: None,
            fitness: Vec::new(),
            findings,
        }
    }

    #[test]
    fn text_lines_carry_their_priority_under_the_journal() {
        let r = report(vec![
            Finding::new(Status::Warning, Kind::Rotational, "sda is rotational"),
            Finding::new(Status::Ok, Kind::Baseline, "not compared"),
        ]);
        let plain = text(&r, false);
        assert_eq!(
            plain,
            "jts-hot probe: WARNING /data/jts/hot\n\
             WARNING rotational: sda is rotational\n\
             NOTE baseline: not compared\n"
        );
        let journal = text(&r, true);
        let prefixes: Vec<&str> = journal.lines().map(|l| &l[..3]).collect();
        assert_eq!(prefixes, ["<4>", "<4>", "<6>"]);
    }
}
