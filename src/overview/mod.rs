//! `jts-hot status`: the one screen. Which layout is in force (its source,
//! digest, when applied) and any pending edit; the tier's mount and its
//! validity (findings by severity); each jts-hot unit and each gated unit
//! with its state (one `systemctl show`, nothing when systemd is not
//! running); the last monitor run from the state directory (its small
//! summary, never the history); quotas and SELinux in place or not. Reads
//! only, and fast enough to type without thinking: one validation, one
//! mount table, one systemctl call.

pub mod output;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

use crate::applied::{InForce, Origin, Pending};
use crate::escape::serialize_path;
use crate::layout::QuotaMode;
use crate::render::generated::{
    MONITOR_TIMER, MONITOR_UNIT, QUOTA_UNIT, SETUP_UNIT, VALIDATE_UNIT,
};
use crate::state::{self, LastRun, StateDir};
use crate::status::Status;
use crate::validate;

pub const SCHEMA: &str = "jts-hot.status/1";
/// Exists only while systemd is the running init (sd_booted(3)).
const SYSTEMD_RUNNING: &str = "/run/systemd/system";

#[derive(Debug, Clone)]
pub struct Options {
    /// Where the monitor keeps its last run's summary.
    pub state_dir: PathBuf,
    /// The system validated (main's one `Root`: "/").
    pub root: crate::system::Root,
}

/// The whole screen, as data (schema `jts-hot.status/1`).
#[derive(Debug, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub layout: LayoutInForce,
    pub tier: Tier,
    pub units: Units,
    pub monitor: Monitor,
    pub quotas: InPlace,
    pub selinux: InPlace,
}

impl Report {
    /// The tier's validity, at least WARNING while an edit is pending or a
    /// unit failed.
    pub fn status(&self) -> Status {
        let failed = matches!(&self.units, Units::Running { units } if units.iter().any(|u| u.active == "failed"));
        let mut status = self.tier.status;
        if self.layout.pending.is_some() || failed {
            status = status.max(Status::Warning);
        }
        status
    }
}

#[derive(Debug, Serialize)]
pub struct LayoutInForce {
    pub origin: Origin,
    /// The file it was applied from (or the built-in default).
    pub source: String,
    pub digest: String,
    pub pending: Option<Pending>,
}

#[derive(Debug, Serialize)]
pub struct Tier {
    #[serde(serialize_with = "serialize_path")]
    pub base: PathBuf,
    /// The filesystem holding the base; `None`: the base does not exist.
    pub mount: Option<MountInfo>,
    /// Validation of the whole tier by the layout in force.
    pub status: Status,
    pub checks: usize,
    pub warning: usize,
    pub critical: usize,
    pub unknown: usize,
}

#[derive(Debug, Serialize)]
pub struct MountInfo {
    #[serde(serialize_with = "serialize_path")]
    pub mount_point: PathBuf,
    pub fstype: String,
    pub source: String,
    /// The base is the mount point itself (its own filesystem).
    pub own: bool,
}

/// The units' states, or why there are none.
#[derive(Debug, Serialize)]
#[serde(tag = "systemd", rename_all = "kebab-case")]
pub enum Units {
    Running {
        units: Vec<UnitState>,
    },
    NotRunning,
    /// systemctl could not be run or failed.
    Unreadable {
        reason: String,
    },
}

#[derive(Debug, Serialize)]
pub struct UnitState {
    pub name: String,
    /// jts-hot's own unit, or a unit the layout gates.
    pub gated: bool,
    pub load: String,
    pub active: String,
    pub sub: String,
    pub enabled: String,
}

#[derive(Debug, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Monitor {
    Ran { last: LastRun },
    Never,
    Unreadable { reason: String },
}

/// Quotas or SELinux labels: in place, not, or not asked for.
#[derive(Debug, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum InPlace {
    InPlace,
    NotInPlace {
        findings: usize,
    },
    /// Not asked for or not applicable, and why.
    Off {
        reason: String,
    },
}

/// Everything on the screen, for the layout in force.
pub fn run(in_force: &InForce, opts: &Options) -> Report {
    let layout = &in_force.layout;
    let validated = validate::validate(layout, &opts.root, validate::Known::default());
    let count = |s: Status| validated.count(s);
    let findings_of = |prefix: &str| {
        validated
            .tally
            .findings
            .iter()
            .filter(|f| f.check.as_str().starts_with(prefix))
            .count()
    };
    let in_place = |n: usize| match n {
        0 => InPlace::InPlace,
        findings => InPlace::NotInPlace { findings },
    };
    let quotas = match layout.tier.quota {
        QuotaMode::Off => InPlace::Off {
            reason: "tier.quota = \"off\"".into(),
        },
        _ => in_place(findings_of("quota.")),
    };
    let selinux = match &validated.selinux {
        validate::selinux::Labels::Skipped { reason } => InPlace::Off {
            reason: reason.clone(),
        },
        validate::selinux::Labels::Checked { .. } => in_place(findings_of("selinux.")),
    };
    Report {
        schema: SCHEMA,
        layout: LayoutInForce {
            origin: in_force.origin.clone(),
            source: layout.source.to_string(),
            digest: layout.digest(),
            pending: in_force.pending.clone(),
        },
        tier: Tier {
            base: layout.tier.base.clone(),
            mount: mount(&layout.tier.base),
            status: validated.status(),
            checks: validated.tally.checks,
            warning: count(Status::Warning),
            critical: count(Status::Critical),
            unknown: count(Status::Unknown),
        },
        units: units(layout),
        monitor: match state::load::<LastRun>(&StateDir::new(&opts.state_dir)) {
            state::Loaded::Found(last) => Monitor::Ran { last },
            state::Loaded::Missing => Monitor::Never,
            other => Monitor::Unreadable {
                reason: other.trouble().unwrap_or_default().to_string(),
            },
        },
        quotas,
        selinux,
    }
}

fn mount(base: &Path) -> Option<MountInfo> {
    let mounts = crate::system::mounts::read().ok()?;
    let (m, real) = crate::system::mounts::holding(&mounts, base)?;
    Some(MountInfo {
        own: m.mount_point == real,
        mount_point: m.mount_point.clone(),
        fstype: m.fstype.clone(),
        source: m.source.clone(),
    })
}

/// jts-hot's units, then each gated unit: one `systemctl show` for all.
fn units(layout: &crate::layout::Layout) -> Units {
    if !Path::new(SYSTEMD_RUNNING).is_dir() {
        return Units::NotRunning;
    }
    let own = [
        SETUP_UNIT,
        VALIDATE_UNIT,
        QUOTA_UNIT,
        MONITOR_UNIT,
        MONITOR_TIMER,
    ];
    let gated: Vec<String> = layout
        .gated_units()
        .into_iter()
        .map(|(u, _)| u.to_string())
        // A template (postgresql@.service) has no state of its own, and
        // `systemctl show` refuses its name: its instances carry the state.
        .filter(|u| !u.contains("@."))
        .collect();
    let names: Vec<(String, bool)> = own
        .iter()
        .map(|u| (u.to_string(), false))
        .chain(gated.into_iter().map(|u| (u, true)))
        .collect();
    let out = Command::new("systemctl")
        .args([
            "show",
            "--property=Id,LoadState,ActiveState,SubState,UnitFileState",
            "--",
        ])
        .args(names.iter().map(|(n, _)| n))
        .output();
    let out = match out {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            return Units::Unreadable {
                reason: String::from_utf8_lossy(&o.stderr).trim().to_string(),
            }
        }
        Err(e) => {
            return Units::Unreadable {
                reason: format!("cannot run systemctl: {e}"),
            }
        }
    };
    let text = String::from_utf8_lossy(&out.stdout);
    // One block per unit, in the order asked, separated by an empty line.
    let blocks = text.split("\n\n");
    let units = names
        .into_iter()
        .zip(blocks)
        .map(|((name, gated), block)| {
            let prop = |key: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                    .unwrap_or("")
                    .to_string()
            };
            UnitState {
                name,
                gated,
                load: prop("LoadState"),
                active: prop("ActiveState"),
                sub: prop("SubState"),
                enabled: prop("UnitFileState"),
            }
        })
        .collect();
    Units::Running { units }
}
