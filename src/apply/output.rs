//! apply's report as text, line by line as it happened.

use std::fmt::Write;

use super::{DaemonReload, FileAction, Report, Step};
use crate::render::generated::VALIDATE_UNIT;
use crate::status::{Lines, Status};

/// The report as the lines apply prints; `journal`: each line with the
/// sd-daemon(3) priority of its step (as every command's text, see `Lines`).
pub fn text(report: &Report, journal: bool) -> String {
    let mut lines = Lines::new(journal);
    lines.push(
        Status::Ok,
        format!(
            "jts-hot apply: layout {} ({})",
            report.source, report.digest
        ),
    );
    let mut out = lines.into_string();
    for step in &report.steps {
        let mut text = String::new();
        step_text(&mut text, step);
        match journal {
            true => {
                let mut lines = Lines::new(true);
                for line in text.lines() {
                    lines.push(severity(step), line);
                }
                out.push_str(&lines.into_string());
            }
            false => out.push_str(&text),
        }
    }
    let mut tail = Lines::new(journal);
    if report.dry_run {
        let effects: Vec<super::effects::Effect> = report
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Would { effect } => Some(effect.clone()),
                _ => None,
            })
            .collect();
        for line in super::effects::summary(&effects).lines() {
            tail.push(Status::Ok, line);
        }
        tail.push(
            Status::Ok,
            "dry run: nothing was written and nothing was run (--diff shows the files' changes)",
        );
    } else if report.tier_not_set_up() {
        // Exit 2 says it; the line above says why.
    } else if !report.selinux_in_place {
        tail.push(
            Status::Warning,
            "jts-hot apply: the layout's SELinux equivalences are not all in place (see above)",
        );
    } else if report.quotas_incomplete() {
        tail.push(
            Status::Warning,
            "jts-hot apply: the project quotas are not all in place (see above)",
        );
    }
    out.push_str(&tail.into_string());
    out
}

/// A step's severity: what is not in place is a warning, a tier that could
/// not be set up critical (as its exit code says), the rest information.
fn severity(step: &Step) -> Status {
    match step {
        Step::TierNotSetUp { .. } => Status::Critical,
        Step::QuotaProblem { .. } | Step::Revalidated { passed: false } => Status::Warning,
        _ => Status::Ok,
    }
}

fn step_text(out: &mut String, step: &Step) {
    // Writing to a String cannot fail.
    let _ = match step {
        Step::Diff { diff, .. } => write!(out, "{diff}"),
        Step::Would { effect } => writeln!(out, "{}", effect.line()),
        Step::WouldLeaveAlone { path } => writeln!(
            out,
            "would leave alone {} (no longer in the layout)",
            path.display()
        ),
        Step::WouldCreateNothing { reason } => {
            writeln!(out, "would create nothing under the tier: {reason}")
        }
        Step::File { path, action } => match action {
            FileAction::Created => writeln!(out, "created {}", path.display()),
            FileAction::Updated => writeln!(out, "updated {}", path.display()),
            FileAction::Removed => writeln!(
                out,
                "removed {} (the unit is no longer gated)",
                path.display()
            ),
        },
        Step::Selinux { line } => writeln!(out, "{line}"),
        Step::AddedUser { name } => writeln!(out, "added user {name}"),
        Step::AddedGroup { name } => writeln!(out, "added group {name}"),
        Step::CreatedDirectory { path } => {
            writeln!(out, "created directory {}", path.display())
        }
        Step::RepairedDirectory {
            path,
            before: b,
            after: a,
        } => writeln!(
            out,
            "repaired directory {}: mode {:04o} → {:04o}, owner {}:{} → {}:{}",
            path.display(),
            b.mode,
            a.mode,
            b.uid,
            b.gid,
            a.uid,
            a.gid
        ),
        Step::TierNotSetUp { reason } => writeln!(
            out,
            "tier not set up: {reason}; nothing was created beneath it (jts-hot-setup.service does it at \
             the next boot with the disk mounted, or run `jts-hot setup` once it is)"
        ),
        Step::LeftAlone { path } => writeln!(
            out,
            "left alone {}: no longer in the layout (jts-hot never removes anything under the tier)",
            path.display()
        ),
        Step::QuotasSkippedUnderRoot => writeln!(
            out,
            "project quotas skipped: --root (jts-hot-quota.service sets them at boot)"
        ),
        Step::Quota { step } => writeln!(out, "{}", crate::quota::step_line(step)),
        Step::QuotaProblem { problem } => writeln!(out, "project quotas: {problem}"),
        Step::DaemonReload { done } => match done {
            DaemonReload::Done => writeln!(out, "systemctl daemon-reload: done"),
            DaemonReload::SkippedUnderRoot => writeln!(out, "daemon-reload skipped: --root"),
            DaemonReload::SkippedSystemdNotRunning => {
                writeln!(out, "daemon-reload skipped: systemd is not running")
            }
        },
        Step::Revalidated { passed: true } => writeln!(
            out,
            "restarted {VALIDATE_UNIT}: the tier is valid by this layout"
        ),
        Step::Revalidated { passed: false } => writeln!(
            out,
            "restarted {VALIDATE_UNIT}: it failed, see `systemctl status {VALIDATE_UNIT}`"
        ),
        Step::RecordedLayout { path } => writeln!(
            out,
            "recorded {} as the layout in force",
            path.display()
        ),
        Step::NothingChanged { files } => writeln!(
            out,
            "nothing changed: {files} files, users and directories already match the layout"
        ),
    };
}
