//! Project quotas, when the layout asks for them: the filesystem accounts
//! (and, for `enforce`, enforces) project quotas, each service directory and
//! planned subdirectory carries the service's project ID and the inherit
//! flag, and each project's limits are the layout's. Drift is a WARNING: a
//! missing quota does not make the tier unsafe to start the databases on,
//! and jts-hot-quota.service, which sets them, fails loudly on its own.

use crate::system::Root;
use std::path::Path;

use super::Check;
use super::Tally;
use crate::layout::{Layout, Service};
use crate::quota::tree::TreeScan;
use crate::quota::{self, DirProject, Effective, Inspection, Observed};
use crate::state::StateDir;
use crate::status::Status::Warning;
use crate::units;

const SET: &str = "`jts-hot quota set` (run by jts-hot-quota.service at boot) sets it";

/// `known`: the quota state when the caller already read it this run.
pub fn check(
    layout: &Layout,
    root: &Root,
    state: Option<&StateDir>,
    known: Option<&quota::Inspection>,
    tally: &mut Tally,
) {
    // An offline image has no mounted filesystem to ask.
    if root.image_dir().is_some() {
        return;
    }
    let inspected;
    let found = match known {
        Some(found) => found,
        None => {
            inspected = quota::inspect_with(layout, state);
            &inspected
        }
    };
    if found.effective == Effective::Off || found.state.is_none() {
        // Off, or auto on a filesystem without accounting, or no base (dirs reports it).
        return;
    }
    if !filesystem(found, &layout.tier.base, tally) {
        return;
    }
    for (service, seen) in layout.services.iter().zip(&found.services) {
        for d in &seen.dirs {
            directory(service, seen.project_id, d, tally);
        }
        limits(layout, service, seen, found, tally);
    }
    if let Some(state) = state {
        trees(layout, state, tally);
    }
}

/// A time from the state file (any number) as RFC 3339 UTC, or the number.
fn utc(unix: u64) -> String {
    std::time::UNIX_EPOCH
        .checked_add(std::time::Duration::from_secs(unix))
        .filter(|_| unix < 253_402_300_800) // year 10000: humantime's limit
        .map_or(format!("{unix} s after the epoch"), |t| {
            humantime::format_rfc3339_seconds(t).to_string()
        })
}

/// quota.tree: what the last walk of each service tree found outside the
/// service's project (the walk runs at `monitor.quota_tree_every`, or on
/// `quota set --repair`; validate only reads its result).
fn trees(layout: &Layout, state: &StateDir, tally: &mut Tally) {
    let loaded = crate::state::load::<TreeScan>(state);
    if let Some(trouble) = loaded.trouble() {
        tally.fail(
            Warning,
            state.path(),
            Check::QuotaTree,
            "the last walk of the service trees readable",
            trouble.to_string(),
        );
        return;
    }
    // None yet: the monitor's first run walks.
    let Some(scan) = loaded.found() else { return };
    let when = utc(scan.started_unix);
    for service in &layout.services {
        let Some(t) = scan.service(service.name.as_str()) else {
            continue;
        };
        let path = service.path(layout);
        let expected = format!(
            "everything below in project {} ({}), directories with the inherit flag",
            t.project_id, service.name
        );
        if t.misattributed_inodes > 0 {
            let example =
                t.examples
                    .iter()
                    .find(|m| !m.repaired)
                    .map_or(String::new(), |m| match m.inherit_missing {
                        true => format!(", e.g. {}: inherit flag cleared", m.path),
                        false => format!(", e.g. {}: project {}", m.path, m.project_id),
                    });
            tally
                .fail(
                    Warning,
                    &path,
                    Check::QuotaTree,
                    expected,
                    format!(
                        "{} entries ({}) outside it{example} (walk of {when})",
                        t.misattributed_inodes,
                        units::bytes(t.misattributed_bytes),
                    ),
                )
                .hint(
                    "`jts-hot quota set --repair` re-tags them (it moves, rewrites and deletes \
                     nothing); until then they escape the service's limit and count against \
                     another project",
                );
        } else if t.partial {
            tally
                .fail(
                    Warning,
                    &path,
                    Check::QuotaTree,
                    expected,
                    format!(
                        "not known: the walk of {when} was incomplete ({})",
                        t.errors.first().map_or("", String::as_str)
                    ),
                )
                .hint("`jts-hot quota set --repair` walks again and says what it cannot read");
        } else {
            tally.pass();
        }
    }
}

/// quota.accounting and quota.enforcement; false when there is no
/// accounting, so nothing per directory can be checked.
fn filesystem(found: &Inspection, base: &Path, tally: &mut Tally) -> bool {
    let state = found.state.expect("checked by the caller");
    if !state.accounting {
        tally
            .fail(
                Warning,
                base,
                Check::QuotaAccounting,
                format!("project quota accounting (tier.quota = {})", found.mode.as_str()),
                "off on the tier's filesystem",
            )
            .hint("mount the tier with prjquota (ext4: made with -O quota,project or tune2fs -O quota,project)");
        return false;
    }
    tally.pass();
    if found.effective == Effective::Enforce {
        if state.enforcing {
            tally.pass();
        } else {
            tally
                .fail(
                    Warning,
                    base,
                    Check::QuotaEnforcement,
                    "project quota limits enforced (tier.quota = enforce)",
                    "accounted but not enforced",
                )
                .hint("mount the tier with the prjquota option");
        }
    }
    true
}

/// quota.project, then quota.inherit, of one directory of `service`.
fn directory(service: &Service, id: u32, d: &DirProject, tally: &mut Tally) {
    let Some(actual) = d.project_id else {
        // Missing or not a directory: the dirs checks report it.
        return;
    };
    if actual != id {
        let hint = if actual == 0 {
            SET.to_string()
        } else {
            format!(
                "its owner (or another tool) set project {actual}: new entries escape the \
                 service's limit; {SET} back, with the inherit flag, and says so in the journal"
            )
        };
        tally
            .fail(
                Warning,
                &d.path,
                Check::QuotaProject,
                format!("project {id} ({})", service.name),
                format!("project {actual}"),
            )
            .hint(hint);
        return;
    }
    tally.pass();
    if d.inherit {
        tally.pass();
    } else {
        tally
            .fail(
                Warning,
                &d.path,
                Check::QuotaInherit,
                "the project inherit flag (new entries join the project)",
                "not set",
            )
            .hint(SET);
    }
}

/// quota.limit: the project's soft and hard limits against the layout's.
fn limits(
    layout: &Layout,
    service: &Service,
    seen: &Observed,
    found: &Inspection,
    tally: &mut Tally,
) {
    let path = service.path(layout);
    let q = match (&seen.quota, &seen.quota_error) {
        (Some(q), _) => q,
        (None, Some(e)) => {
            tally.fail(
                Warning,
                &path,
                Check::QuotaLimit,
                "the project's quota readable",
                e.clone(),
            );
            return;
        }
        (None, None) => return,
    };
    let (soft, hard) = quota::wanted_limits(service, found.effective);
    for (kind, kernel, wanted) in [("soft", q.soft_bytes, soft), ("hard", q.hard_bytes, hard)] {
        if quota::same_limit(kernel, wanted, found.granularity) {
            tally.pass();
            continue;
        }
        let (wanted, kernel) = limit_pair(wanted, kernel);
        tally
            .fail(
                Warning,
                &path,
                Check::QuotaLimit,
                format!("{kind} limit {wanted}"),
                format!("{kind} limit {kernel} on project {}", seen.project_id),
            )
            .hint(SET);
    }
}

/// Two different limits as text ("none" for 0); when three figures would
/// make them look the same, each with its exact count.
fn limit_pair(wanted: u64, kernel: u64) -> (String, String) {
    let text = |b: u64| match b {
        0 => "none".to_string(),
        b => units::bytes(b),
    };
    let (w, k) = (text(wanted), text(kernel));
    if w != k {
        return (w, k);
    }
    (format!("{w} ({wanted} B)"), format!("{k} ({kernel} B)"))
}

#[cfg(test)]
mod tests {
    use super::limit_pair;

    #[test]
    fn limits_read_as_sizes_and_never_look_equal() {
        assert_eq!(
            limit_pair(20_000_000, 0),
            ("20.0 MB".to_string(), "none".to_string())
        );
        assert_eq!(
            limit_pair(20_000_000, 20_004_864),
            (
                "20.0 MB (20000000 B)".to_string(),
                "20.0 MB (20004864 B)".to_string()
            )
        );
    }
}
