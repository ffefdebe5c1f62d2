//! Project quotas, when the layout asks for them: the filesystem accounts
//! (and, for `enforce`, enforces) project quotas, each service directory and
//! planned subdirectory carries the service's project ID and the inherit
//! flag, and each project's limits are the layout's. Drift is a WARNING: a
//! missing quota does not make the tier unsafe to start the databases on,
//! and jts-hot-quota.service, which sets them, fails loudly on its own.

use std::path::Path;

use super::Check;
use super::Tally;
use crate::layout::{Layout, Service};
use crate::quota::{self, DirProject, Effective, Inspection, Observed};
use crate::status::Status::Warning;
use crate::units;

const SET: &str = "`jts-hot quota set` (run by jts-hot-quota.service at boot) sets it";

pub fn check(layout: &Layout, root: Option<&Path>, tally: &mut Tally) {
    // An offline image has no mounted filesystem to ask.
    if root.is_some() {
        return;
    }
    let found = quota::inspect(layout);
    if found.effective == Effective::Off || found.state.is_none() {
        // Off, or auto on a filesystem without accounting, or no base (dirs reports it).
        return;
    }
    if !filesystem(&found, &layout.tier.base, tally) {
        return;
    }
    for (service, seen) in layout.services.iter().zip(&found.services) {
        for d in &seen.dirs {
            directory(service, seen.project_id, d, tally);
        }
        limits(layout, service, seen, &found, tally);
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
                "project {actual} is not jts-hot's to take over unless it is one of its \
                 own; if the directory may change project: chattr -p {id} +P {}",
                d.path.display()
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
