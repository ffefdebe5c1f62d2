//! `jts-hot probe`: what device is under the tier, and what it delivers.
//! identity (sysfs) + measure (a bounded temporary file) + baseline (saved
//! figures to compare with) → one [`Report`] → text or JSON.

pub mod baseline;
pub mod identity;
pub mod measure;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use serde::Serialize;

use crate::cli::{ProbeArgs, TextOrJson};
use crate::render::escape;
use crate::status::{self, Status};
use baseline::Baseline;
use identity::Identity;
use measure::{MeasureError, Measurements, Settings};

/// Names the JSON document's shape; bumped on an incompatible change.
pub const SCHEMA: &str = "jts-hot-probe/1";

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub status: Status,
    /// Stable machine name: rotational, no-discard, scheduler, no-block-device,
    /// identity, regression, baseline, no-space, interrupted, error.
    pub kind: &'static str,
    pub message: String,
}

impl Finding {
    pub fn new(status: Status, kind: &'static str, message: impl Into<String>) -> Finding {
        Finding {
            status,
            kind,
            message: message.into(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub schema: &'static str,
    /// The worst finding's status (OK when there is none).
    pub status: Status,
    #[serde(serialize_with = "escape::serialize_path")]
    pub dir: PathBuf,
    pub size_bytes: u64,
    pub duration_seconds: f64,
    pub regression_factor: f64,
    pub identity: Option<Identity>,
    pub measurements: Option<Measurements>,
    /// The saved baseline this run was compared with.
    pub baseline: Option<Baseline>,
    /// Where this run was saved as the new baseline (--save).
    #[serde(serialize_with = "escape::serialize_opt_path")]
    pub saved_to: Option<PathBuf>,
    pub findings: Vec<Finding>,
}

/// Runs the probe, prints the report, returns the exit code.
pub fn run(args: &ProbeArgs, tier_base: &Path) -> u8 {
    let stop = Arc::new(AtomicBool::new(false));
    let dir = args.dir.clone().unwrap_or_else(|| tier_base.to_path_buf());
    // Printed as given when it cannot be resolved, canonical otherwise.
    let mut report = Report {
        schema: SCHEMA,
        status: Status::Ok,
        dir: dir.clone(),
        size_bytes: args.size,
        duration_seconds: args.duration.as_secs_f64(),
        regression_factor: args.regression_factor,
        identity: None,
        measurements: None,
        baseline: None,
        saved_to: None,
        findings: Vec::new(),
    };
    // From here on a signal only asks the loops to stop, so the file is
    // removed: Ctrl-C, kill, a dropped ssh session (SIGHUP), Ctrl-\ (SIGQUIT).
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGQUIT,
    ] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(&stop)) {
            report.findings.push(Finding::new(
                Status::Unknown,
                "error",
                format!("cannot handle signal {sig}: {e}"),
            ));
        }
    }
    if report.findings.is_empty() {
        // Canonical, so the baseline compares the same directory however it was named.
        match dir.canonicalize() {
            Ok(dir) => {
                report.dir = dir.clone();
                probe(args, &dir, &stop, &mut report);
            }
            Err(e) => report.findings.push(Finding::new(
                Status::Unknown,
                "error",
                format!("cannot probe {}: {e}", escape::untrusted_path(&dir)),
            )),
        }
    }
    report.status = report
        .findings
        .iter()
        .map(|f| f.status)
        .max()
        .unwrap_or(Status::Ok);
    match args.format {
        TextOrJson::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("the report serializes")
        ),
        TextOrJson::Text => print!("{}", text(&report, status::under_journal())),
    }
    report.status.exit_code()
}

fn probe(args: &ProbeArgs, dir: &Path, stop: &AtomicBool, report: &mut Report) {
    let f = &mut report.findings;
    match identity::identify(dir) {
        Ok(id) => {
            f.extend(identity::findings(&id));
            report.identity = Some(id);
        }
        Err(e) => f.push(Finding::new(
            Status::Warning,
            "identity",
            format!(
                "cannot identify the device under {}: {e:#}",
                escape::untrusted_path(dir)
            ),
        )),
    }
    let settings = Settings {
        size: args.size,
        duration: args.duration,
    };
    let m = match measure::measure(dir, &settings, stop) {
        Ok(m) => m,
        Err(e) => {
            let kind = match e {
                MeasureError::NoSpace { .. } => "no-space",
                MeasureError::Interrupted => "interrupted",
                MeasureError::Io(_) => "error",
            };
            f.push(Finding::new(Status::Unknown, kind, format!("{e:#}")));
            return;
        }
    };
    let devices = report
        .identity
        .iter()
        .flat_map(|id| id.devices.iter().map(|d| d.name.clone()))
        .collect();
    let now = Baseline::from_measurements(dir, devices, &m);
    report.measurements = Some(m);
    match baseline::read(&args.state.state_dir) {
        Ok(Some(saved)) if saved.dir == dir => {
            f.extend(baseline::compare(&now, &saved, args.regression_factor));
            report.baseline = Some(saved);
        }
        Ok(Some(saved)) => f.push(Finding::new(
            Status::Ok,
            "baseline",
            format!(
                "not compared: the saved baseline is of {}, not {}",
                escape::untrusted_path(&saved.dir),
                escape::untrusted_path(dir)
            ),
        )),
        Ok(None) => {}
        Err(e) => f.push(Finding::new(Status::Warning, "baseline", format!("{e:#}"))),
    }
    if args.save {
        match baseline::save(&args.state.state_dir, &now) {
            Ok(path) => report.saved_to = Some(path),
            Err(e) => f.push(Finding::new(
                Status::Unknown,
                "error",
                format!("cannot save the baseline: {e:#}"),
            )),
        }
    }
}

/// The human report. Under the journal every line carries its priority.
pub fn text(r: &Report, journal: bool) -> String {
    let mut lines: Vec<(Status, String)> = Vec::new();
    let mut say = |s: Status, line: String| lines.push((s, line));
    say(
        r.status,
        format!(
            "jts-hot probe: {} {}",
            r.status,
            escape::untrusted_path(&r.dir)
        ),
    );
    if let Some(id) = &r.identity {
        let m = &id.mount;
        say(
            Status::Ok,
            format!(
                "mount {} from {} ({}), options {}; filesystem options {}",
                escape::untrusted_path(&m.mount_point),
                m.source,
                m.fstype,
                m.options.join(","),
                m.super_options.join(",")
            ),
        );
        for d in &id.devices {
            say(Status::Ok, device_line(d));
        }
    }
    if let Some(m) = &r.measurements {
        let fs = &m.fsync;
        say(
            Status::Ok,
            format!(
                "fsync (8 KiB write + fdatasync): {:.0} ops/s, p50 {}, p99 {}, max {} ({} ops)",
                fs.ops_per_sec,
                fmt_us(fs.p50_us),
                fmt_us(fs.p99_us),
                fmt_us(fs.max_us),
                fs.ops
            ),
        );
        let rr = &m.rand_read;
        say(
            Status::Ok,
            format!(
                "random read (4 KiB O_DIRECT, queue depth 1, over {}): {:.0} IOPS, p50 {}, p99 {}, max {} ({} ops)",
                fmt_bytes(m.seq_write.bytes),
                rr.ops_per_sec,
                fmt_us(rr.p50_us),
                fmt_us(rr.p99_us),
                fmt_us(rr.max_us),
                rr.ops
            ),
        );
        let sw = &m.seq_write;
        say(
            Status::Ok,
            format!(
                "sequential write (1 MiB O_DIRECT): {} ({} in {:.2} s)",
                fmt_rate(sw.bytes_per_sec),
                fmt_bytes(sw.bytes),
                sw.seconds
            ),
        );
    }
    if let Some(b) = &r.baseline {
        say(
            Status::Ok,
            format!(
                "baseline of {}: fsync p50 {}, p99 {}; random read p50 {}, p99 {}; sequential write {} (regression factor {})",
                humantime::format_rfc3339_seconds(
                    std::time::UNIX_EPOCH + std::time::Duration::from_secs(b.measured_unix)
                ),
                fmt_us(b.fsync_p50_us),
                fmt_us(b.fsync_p99_us),
                fmt_us(b.randread_p50_us),
                fmt_us(b.randread_p99_us),
                fmt_rate(b.seq_write_bytes_per_sec),
                r.regression_factor
            ),
        );
    }
    if let Some(p) = &r.saved_to {
        say(
            Status::Ok,
            format!("saved as the baseline: {}", escape::untrusted_path(p)),
        );
    }
    for f in &r.findings {
        let label = if f.status == Status::Ok {
            "NOTE".to_string()
        } else {
            f.status.to_string()
        };
        say(f.status, format!("{label} {}: {}", f.kind, f.message));
    }
    lines
        .into_iter()
        .map(|(s, l)| {
            let prefix = if journal { s.journal_prefix() } else { "" };
            format!("{prefix}{l}\n")
        })
        .collect()
}

fn device_line(d: &identity::Device) -> String {
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
            fmt_bytes(max),
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

/// Microseconds in the unit a reader expects: µs below 1 ms, else ms.
pub fn fmt_us(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.1} us")
    } else {
        format!("{:.3} ms", us / 1000.0)
    }
}

pub fn fmt_rate(bytes_per_sec: f64) -> String {
    format!("{:.1} MiB/s", bytes_per_sec / (1u64 << 20) as f64)
}

pub fn fmt_bytes(bytes: u64) -> String {
    const MIB: u64 = 1 << 20;
    if bytes >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else {
        format!("{bytes} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            findings,
        }
    }

    #[test]
    fn text_lines_carry_their_priority_under_the_journal() {
        let r = report(vec![
            Finding::new(Status::Warning, "rotational", "sda is rotational"),
            Finding::new(Status::Ok, "baseline", "not compared"),
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

    #[test]
    fn units_read_naturally() {
        assert_eq!(fmt_us(42.25), "42.2 us");
        assert_eq!(fmt_us(1500.0), "1.500 ms");
        assert_eq!(fmt_rate(3.0 * 1048576.0), "3.0 MiB/s");
        assert_eq!(fmt_bytes(512), "512 B");
        assert_eq!(fmt_bytes(3 << 20), "3.0 MiB");
    }
}
