//! apply's report as text, line by line as it happened.

use std::fmt::Write;

use super::{DaemonReload, FileAction, Report, Step};
use crate::render::generated::VALIDATE_UNIT;

/// The report as the lines apply prints.
pub fn text(report: &Report) -> String {
    let mut out = format!(
        "jts-hot apply: layout {} ({})\n",
        report.source, report.digest
    );
    for step in &report.steps {
        step_text(&mut out, step);
    }
    if report.dry_run {
        let effects: Vec<super::effects::Effect> = report
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Would { effect } => Some(effect.clone()),
                _ => None,
            })
            .collect();
        out.push_str(&super::effects::summary(&effects));
        out.push('\n');
        out.push_str(
            "dry run: nothing was written and nothing was run (--diff shows the files' changes)\n",
        );
    } else if report.tier_not_set_up() {
        // Exit 2 says it; the line above says why.
    } else if !report.selinux_in_place {
        out.push_str(
            "jts-hot apply: the layout's SELinux equivalences are not all in place (see above)\n",
        );
    } else if report.quotas_incomplete() {
        out.push_str("jts-hot apply: the project quotas are not all in place (see above)\n");
    }
    out
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
