//! Every exit status jts-hot gives, in one place (as fd's exit_codes.rs):
//! each command's report maps to its status here, and main alone exits.
//!
//! The monitoring-plugin convention throughout: 0 OK, 1 WARNING, 2 CRITICAL,
//! 3 UNKNOWN. Nagios and a unit's ExecCondition= read these numbers, so a
//! usage or runtime error is 3 for every command (clap's own 2 would read as
//! CRITICAL), and a bad layout is 2 except for the commands whose output is a
//! verdict (validate, monitor, probe, status), where it is UNKNOWN.

use jts_hot::status::Status;
use jts_hot::{apply, config_check, monitor, overview, plan, probe, quota, setup, validate};

pub const SUCCESS: u8 = 0;
/// WARNING: done, with something not all in place.
pub const WARNING: u8 = 1;
/// A layout the commands that give no verdict refuse; CRITICAL for the others.
pub const BAD_INPUT: u8 = 2;
/// UNKNOWN: could not do the job (a usage error, a file it cannot read or
/// write, a tool that fails); a bad layout for the verdict commands.
pub const UNKNOWN: u8 = 3;

/// A status as its exit code.
pub fn of_status(status: Status) -> u8 {
    match status {
        Status::Ok => SUCCESS,
        Status::Warning => WARNING,
        Status::Critical => 2,
        Status::Unknown => UNKNOWN,
    }
}

/// `--warning-ok`: a WARNING exits 0 (what setup's and the monitor's units
/// run with: a warning must not fail the unit).
fn warning_ok(status: Status, warning_ok: bool) -> u8 {
    match status {
        Status::Warning if warning_ok => SUCCESS,
        status => of_status(status),
    }
}

/// A bad layout: UNKNOWN for the commands whose exit code is a verdict.
pub fn bad_layout(verdict_command: bool) -> u8 {
    match verdict_command {
        true => UNKNOWN,
        false => BAD_INPUT,
    }
}

/// A runtime error is "could not do the job", never "bad layout".
pub const RUNTIME_ERROR: u8 = UNKNOWN;

/// validate: its verdict; the gate and --warning-ok let a WARNING start.
pub fn validate(report: &validate::Report, allow_warning: bool) -> u8 {
    warning_ok(report.status(), allow_warning)
}

/// monitor: its status; --warning-ok lets a WARNING pass.
pub fn monitor(report: &monitor::Report, allow_warning: bool) -> u8 {
    warning_ok(report.status, allow_warning)
}

pub fn probe(report: &probe::Report) -> u8 {
    of_status(report.status)
}

/// plan: 0 the plan fits, 1 it over-commits.
pub fn plan(plan: &plan::Plan) -> u8 {
    of_status(plan.status())
}

/// setup: 0 set up, 2 refused (1 a warning, 0 with --warning-ok).
pub fn setup(report: &setup::Report, allow_warning: bool) -> u8 {
    warning_ok(report.status(), allow_warning)
}

/// status: 0 all is well; else the tier's validity, at least 1 while an
/// edit is pending or a unit failed.
pub fn status(report: &overview::Report) -> u8 {
    of_status(report.status())
}

/// apply: 0 done (or a dry run), 1 the SELinux equivalences or the project
/// quotas are not all in place, 2 the tier could not be set up (its
/// declared mount is missing; the files are in place).
pub fn apply(report: &apply::Report) -> u8 {
    if report.tier_not_set_up() {
        2
    } else if !report.selinux_in_place || report.quotas_incomplete() {
        WARNING
    } else {
        SUCCESS
    }
}

/// apply stopped on an error: 2 for gates the system refuses (as a bad
/// layout), 3 for every other error of the system (a file in /etc not ours,
/// a refused read or write, a failed tool).
pub fn apply_error(error: &apply::Error) -> u8 {
    match error {
        apply::Error::Gates(_) => BAD_INPUT,
        _ => RUNTIME_ERROR,
    }
}

/// quota set: 0 every step done, 1 one was not; quota status: 0; quota
/// record: 0 saved (or quotas off), 3 not.
pub fn quota(report: &quota::Report) -> u8 {
    match report {
        quota::Report::Set(set) if !set.ok() => WARNING,
        quota::Report::Record(Err(_)) => UNKNOWN,
        _ => SUCCESS,
    }
}

/// config check: 0 valid, 1 valid but the plan over-commits the capacity
/// (WARNING, as `plan` says).
pub fn config_check(report: &config_check::Report) -> u8 {
    match report.over {
        Some(_) => WARNING,
        None => SUCCESS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_the_plugin_codes() {
        assert_eq!(
            [
                Status::Ok,
                Status::Warning,
                Status::Critical,
                Status::Unknown
            ]
            .map(of_status),
            [0, 1, 2, 3]
        );
        assert_eq!(warning_ok(Status::Warning, true), 0);
        assert_eq!(warning_ok(Status::Warning, false), 1);
        assert_eq!(warning_ok(Status::Critical, true), 2);
        assert_eq!(bad_layout(true), 3);
        assert_eq!(bad_layout(false), 2);
    }
}
