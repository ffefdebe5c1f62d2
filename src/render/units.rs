//! The systemd units: setup, validate, quota and monitor services, the
//! monitor's timer, the shared sandbox (hardening.txt), and the gate drop-in
//! of each gated unit.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::generated::{
    dropin_path, GeneratedFile, MONITOR_TIMER, MONITOR_UNIT, QUOTA_READ_UNIT, QUOTA_UNIT,
    SETUP_UNIT, UNIT_DIR, VALIDATE_UNIT,
};
use super::{systemd_timespan, Template};
use crate::escape;
use crate::layout::{Layout, QuotaMode, DEFAULT_STOP_TIMEOUT};

#[derive(Serialize)]
struct Setup<'a> {
    header: &'a str,
    mount_units: &'a str,
    hardening: &'a str,
}

impl Template for Setup<'_> {
    const NAME: &'static str = "jts-hot-setup.service";
}

/// The sandbox shared by jts-hot's services; each gets only the
/// capabilities and system calls its job needs (docs/generated.md lists
/// every unit's `systemd-analyze security` exposure).
#[derive(Clone, Copy, Serialize)]
struct Hardening {
    /// The sandbox's first comment: what the unit may do.
    purpose: &'static str,
    /// Runs as jts-hot's own system user, `capabilities` ambient.
    user: bool,
    /// Why the unit holds its capabilities (a comment; "" for none).
    why_caps: &'static str,
    protect_home: &'static str,
    private_tmp: &'static str,
    quota: bool,
    capabilities: &'static str,
    /// setup creates the base and its missing parents anywhere but the OS
    /// trees: "full" (/usr, /boot, /efi, /etc read-only); the others "strict".
    protect_system: &'static str,
    /// setup chowns (systemd-tmpfiles), and sets setgid on directories a
    /// layout asks for (2770...), which RestrictSUIDSGID= would forbid.
    creates: bool,
}

impl Template for Hardening {
    const NAME: &'static str = "hardening.txt";
}

#[derive(Serialize)]
struct Validate<'a> {
    header: &'a str,
    mount_units: &'a str,
    hardening: &'a str,
}

impl Template for Validate<'_> {
    const NAME: &'static str = "jts-hot-validate.service";
}

#[derive(Serialize)]
struct Quota<'a> {
    header: &'a str,
    base: String,
    hardening: &'a str,
}

impl Template for Quota<'_> {
    const NAME: &'static str = "jts-hot-quota.service";
}

#[derive(Serialize)]
struct QuotaRead<'a> {
    header: &'a str,
    mount_units: &'a str,
    base_rw: String,
    hardening: &'a str,
}

impl Template for QuotaRead<'_> {
    const NAME: &'static str = "jts-hot-quota-read.service";
}

#[derive(Serialize)]
struct Monitor<'a> {
    header: &'a str,
    mount_units: &'a str,
    textfile_dir_arg: String,
    textfile_dir_rw: String,
    canary_rw: String,
    timeout: String,
    nofile: u64,
    hardening: &'a str,
}

impl Template for Monitor<'_> {
    const NAME: &'static str = "jts-hot-monitor.service";
}

#[derive(Serialize)]
struct Timer<'a> {
    header: &'a str,
    every: String,
    on_calendar: String,
    randomized_delay: String,
}

impl Template for Timer<'_> {
    const NAME: &'static str = "jts-hot-monitor.timer";
}

#[derive(Serialize)]
struct Gate<'a> {
    header: &'a str,
    services_text: String,
    service_dirs: String,
    service_args: String,
    rw_paths: String,
    stop_timeout: String,
}

impl Template for Gate<'_> {
    const NAME: &'static str = "gate.conf";
}

/// The setup, validate, quota and monitor services and the monitor's timer.
pub(super) fn units(layout: &Layout, header: &str) -> Vec<GeneratedFile> {
    let unit_dir = Path::new(UNIT_DIR);
    let file = |name: &str, contents: String| GeneratedFile {
        path: unit_dir.join(name),
        contents,
    };
    let mount_units = &mount_units(layout);
    let sandboxes = hardening(layout);
    let sandbox = |h: &Hardening| h.render().trim_end().to_string();
    let (validate_hardening, monitor_hardening, quota_hardening, read_hardening, setup_hardening) = (
        sandbox(&sandboxes.validate),
        sandbox(&sandboxes.monitor),
        sandbox(&sandboxes.quota_set),
        sandbox(&sandboxes.quota_read),
        sandbox(&sandboxes.setup),
    );
    let textfile_dir = &layout.monitor.textfile_dir;
    let every = layout.monitor.every;
    vec![
        file(
            SETUP_UNIT,
            Setup {
                header,
                mount_units,
                hardening: &setup_hardening,
            }
            .render(),
        ),
        file(
            VALIDATE_UNIT,
            Validate {
                header,
                mount_units,
                hardening: &validate_hardening,
            }
            .render(),
        ),
        file(
            QUOTA_UNIT,
            Quota {
                header,
                base: escape::unit_path_word("", &layout.tier.base),
                hardening: &quota_hardening,
            }
            .render(),
        ),
        file(
            QUOTA_READ_UNIT,
            QuotaRead {
                header,
                mount_units,
                base_rw: escape::unit_path_word("-", &layout.tier.base),
                hardening: &read_hardening,
            }
            .render(),
        ),
        file(
            MONITOR_UNIT,
            Monitor {
                header,
                mount_units,
                textfile_dir_arg: escape::exec_arg(textfile_dir),
                // '-': a missing directory must not keep the sandbox from being set up.
                textfile_dir_rw: escape::unit_path_word("-", textfile_dir),
                // The fsync canary, which jts-hot setup creates; '-': the tier's disk may be missing.
                canary_rw: escape::unit_path_word("-", &layout.tier.fsync_canary()),
                timeout: systemd_timespan(monitor_timeout(every)),
                nofile: MONITOR_NOFILE,
                hardening: &monitor_hardening,
            }
            .render(),
        ),
        file(
            MONITOR_TIMER,
            Timer {
                header,
                every: systemd_timespan(every),
                on_calendar: on_calendar(every),
                randomized_delay: systemd_timespan(randomized_delay(every)),
            }
            .render(),
        ),
    ]
}

/// The mount units of the base and of each parent below /, outermost
/// first, then of each service's directory (its own disk, when it has one:
/// setup must not run before that is mounted, or it would refuse it).
fn mount_units(layout: &Layout) -> String {
    let mut ancestors: Vec<&Path> = layout
        .tier
        .base
        .ancestors()
        .filter(|p| *p != Path::new("/"))
        .collect();
    ancestors.reverse();
    let services = layout.services.iter().map(|s| s.path(layout));
    let names: Vec<String> = ancestors
        .into_iter()
        .map(escape::mount_unit_name)
        .chain(services.map(|p| escape::mount_unit_name(&p)))
        .collect();
    names.join(" ")
}

/// Each service's sandbox.
struct Sandboxes {
    validate: Hardening,
    monitor: Hardening,
    quota_set: Hardening,
    quota_read: Hardening,
    setup: Hardening,
}

/// The sandbox of each of jts-hot's services: docs/generated.md gives each
/// one's capabilities and `systemd-analyze security` exposure.
fn hardening(layout: &Layout) -> Sandboxes {
    let hidden = |prefixes: &[&str]| {
        prefixes
            .iter()
            .any(|p| layout.tier.base.starts_with(p) || layout.monitor.textfile_dir.starts_with(p))
    };
    let quota = layout.tier.quota != QuotaMode::Off;
    // validate reads every service's directories (CAP_DAC_READ_SEARCH) as
    // jts-hot's own user; project quotas come from jts-hot-quota-read.service.
    let validate = Hardening {
        purpose: "read the tier, change nothing on the system.",
        user: true,
        why_caps: "CAP_DAC_READ_SEARCH: read every service's directories, whoever owns them.",
        protect_home: if hidden(&["/home", "/root", "/run/user"]) {
            "read-only"
        } else {
            "yes"
        },
        private_tmp: if hidden(&["/tmp", "/var/tmp"]) {
            "no"
        } else {
            "yes"
        },
        quota: false,
        capabilities: "CAP_DAC_READ_SEARCH",
        protect_system: "strict",
        creates: false,
    };
    // The monitor also writes, and only where its sandbox leaves anything
    // writable: its state directory, which root's commands write too, and
    // node_exporter's textfile directory, which another user owns.
    let monitor = Hardening {
        purpose: "read the tier, write only the state and textfile directories.",
        why_caps: "CAP_DAC_READ_SEARCH: read every service's directories; CAP_DAC_OVERRIDE: write \
                   the state and textfile directories (the only writable paths here), whoever owns \
                   them and the files in them.",
        capabilities: "CAP_DAC_READ_SEARCH CAP_DAC_OVERRIDE",
        ..validate
    };
    // Reading a project's usage takes CAP_SYS_ADMIN and quotactl: this unit's only job.
    let quota_read = Hardening {
        purpose: "read the project quotas, write only the state directory.",
        why_caps: "",
        quota,
        capabilities: if quota { "CAP_SYS_ADMIN" } else { "" },
        ..validate
    };
    // Setting a directory's project needs its owner's rights (CAP_FOWNER); as root.
    let quota_set = Hardening {
        purpose: "set the tier's project quotas as root, change nothing else on the system.",
        user: false,
        why_caps: "",
        quota: true,
        capabilities: "CAP_DAC_READ_SEARCH CAP_SYS_ADMIN CAP_FOWNER",
        ..validate
    };
    // systemd-tmpfiles creating directories below the base: their owner and
    // group (CAP_CHOWN), their mode in directories it does not own
    // (CAP_FOWNER, CAP_FSETID for setgid), creating inside service-owned
    // directories (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH). Looking beneath
    // the tier's mount points (a detached read-only clone of the parent
    // mount: open_tree, mount_setattr) takes CAP_SYS_ADMIN. Nothing else.
    let setup = Hardening {
        purpose: "create the tier's directories as root, change nothing else on the system.",
        user: false,
        why_caps: "",
        // A tier under /home must be writable to be created there.
        protect_home: match validate.protect_home {
            "yes" => "yes",
            _ => "no",
        },
        quota: false,
        capabilities:
            "CAP_CHOWN CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER CAP_FSETID CAP_SYS_ADMIN",
        protect_system: "full",
        creates: true,
        ..validate
    };
    Sandboxes {
        validate,
        monitor,
        quota_set,
        quota_read,
        setup,
    }
}

/// The drop-in of each gated unit: validate the unit's services before it starts.
pub(super) fn gates(layout: &Layout, header: &str) -> Vec<GeneratedFile> {
    layout
        .gated_units()
        .into_iter()
        .map(|(unit, services)| {
            let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
            let dirs: Vec<String> = services
                .iter()
                .map(|s| escape::unit_path_word("", &s.path(layout)))
                .collect();
            let rw: Vec<String> = services
                .iter()
                .map(|s| escape::unit_path_word("-", &s.path(layout)))
                .collect();
            // The longest of the services' stops: each must be able to finish.
            let stop = services
                .iter()
                .map(|s| s.stop_timeout.unwrap_or(DEFAULT_STOP_TIMEOUT))
                .max()
                .unwrap_or(DEFAULT_STOP_TIMEOUT);
            let ctx = Gate {
                header,
                services_text: escape::comment(&names.join(", ")),
                service_dirs: dirs.join(" "),
                rw_paths: rw.join(" "),
                stop_timeout: systemd_timespan(stop),
                service_args: names
                    .iter()
                    .map(|n| format!(" {}", escape::exec_option("service", n)))
                    .collect(),
            };
            GeneratedFile {
                path: dropin_path(Path::new(UNIT_DIR), unit.as_str()),
                contents: ctx.render(),
            }
        })
        .collect()
}

/// The calendar event for an interval the layout rules allow (minutes that
/// divide an hour, hours that divide a day, or a day).
fn on_calendar(every: Duration) -> String {
    let s = every.as_secs();
    if s >= 86400 {
        "*-*-* 00:00:00".into()
    } else if s >= 3600 {
        format!("*-*-* 00/{}:00:00", s / 3600)
    } else {
        format!("*-*-* *:00/{}:00", s / 60)
    }
}

/// The monitor's TimeoutStartSec=: its interval (the next run is due then),
/// within five minutes and an hour. A run cut short at it still writes its
/// metrics and history, flagged partial (`jts-hot monitor` handles SIGTERM).
pub fn monitor_timeout(every: Duration) -> Duration {
    every.clamp(Duration::from_secs(300), Duration::from_secs(3600))
}

/// The monitor's LimitNOFILE= (soft and hard): systemd's own default hard
/// limit. The walk keeps a directory's descriptor open while its children
/// wait, within what this leaves (thousands of services or a deep, bushy
/// tree); its sandbox forbids setrlimit, so the unit sets it.
const MONITOR_NOFILE: u64 = 524_288;

/// A tenth of the interval, at most five minutes: spreads a fleet's runs.
fn randomized_delay(every: Duration) -> Duration {
    (every / 10)
        .min(Duration::from_secs(300))
        .max(Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_expressions() {
        assert_eq!(on_calendar(Duration::from_secs(900)), "*-*-* *:00/15:00");
        assert_eq!(
            on_calendar(Duration::from_secs(6 * 3600)),
            "*-*-* 00/6:00:00"
        );
        assert_eq!(on_calendar(Duration::from_secs(86400)), "*-*-* 00:00:00");
    }
}
