//! Project quotas, when the layout asks for them: the filesystem accounts
//! (and, for `enforce`, enforces) project quotas, each service directory and
//! planned subdirectory carries the service's project ID and the inherit
//! flag, and each project's limits are the layout's. Drift is a WARNING: a
//! missing quota does not make the tier unsafe to start the databases on,
//! and jts-hot-quota.service, which sets them, fails loudly on its own.

use std::path::Path;

use super::Tally;
use crate::layout::Layout;
use crate::quota::{self, Effective};
use crate::status::Status::Warning;

const SET: &str = "`jts-hot quota set` (run by jts-hot-quota.service at boot) sets it";

pub fn check(layout: &Layout, root: Option<&Path>, tally: &mut Tally) {
    // An offline image has no mounted filesystem to ask.
    if root.is_some() {
        return;
    }
    let found = quota::inspect(layout);
    let base = &layout.tier.base;
    if found.effective == Effective::Off || found.state.is_none() {
        // Off, or auto on a filesystem without accounting, or no base (dirs reports it).
        return;
    }
    let state = found.state.expect("checked above");
    if state.accounting {
        tally.pass();
    } else {
        tally
            .fail(
                Warning,
                base,
                "quota.accounting",
                format!("project quota accounting (tier.quota = {})", found.mode.as_str()),
                "off on the tier's filesystem",
            )
            .hint("mount the tier with prjquota (ext4: made with -O quota,project or tune2fs -O quota,project)");
        return;
    }
    if found.effective == Effective::Enforce {
        if state.enforcing {
            tally.pass();
        } else {
            tally
                .fail(
                    Warning,
                    base,
                    "quota.enforcement",
                    "project quota limits enforced (tier.quota = enforce)",
                    "accounted but not enforced",
                )
                .hint("mount the tier with the prjquota option");
        }
    }
    for (service, seen) in layout.services.iter().zip(&found.services) {
        let id = seen.project_id;
        for d in &seen.dirs {
            let Some(actual) = d.project_id else {
                // Missing or not a directory: the dirs checks report it.
                continue;
            };
            if actual == id {
                tally.pass();
            } else {
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
                        "quota.project",
                        format!("project {id} ({})", service.name),
                        format!("project {actual}"),
                    )
                    .hint(hint);
                continue;
            }
            if d.inherit {
                tally.pass();
            } else {
                tally
                    .fail(
                        Warning,
                        &d.path,
                        "quota.inherit",
                        "the project inherit flag (new entries join the project)",
                        "not set",
                    )
                    .hint(SET);
            }
        }
        let path = service.path(layout);
        match (&seen.quota, &seen.quota_error) {
            (Some(q), _) => {
                let (soft, hard) = quota::wanted_limits(service, found.effective);
                for (kind, kernel, wanted) in
                    [("soft", q.soft_bytes, soft), ("hard", q.hard_bytes, hard)]
                {
                    if quota::same_limit(kernel, wanted, found.granularity) {
                        tally.pass();
                    } else {
                        tally
                            .fail(
                                Warning,
                                &path,
                                "quota.limit",
                                format!("{kind} limit {}", bytes(wanted)),
                                format!("{kind} limit {} on project {id}", bytes(kernel)),
                            )
                            .hint(SET);
                    }
                }
            }
            (None, Some(e)) => {
                tally.fail(
                    Warning,
                    &path,
                    "quota.limit",
                    "the project's quota readable",
                    e.clone(),
                );
            }
            (None, None) => {}
        }
    }
}

fn bytes(b: u64) -> String {
    if b == 0 {
        "none".into()
    } else {
        format!("{b} bytes")
    }
}
