//! Capacity: the plan against tier.capacity and against the real filesystem,
//! from the same `Plan` that `jts-hot plan` prints.

use super::Check;
use std::path::Path;

use super::Tally;
use crate::layout::Layout;
use crate::plan::{output::reason, OverCommit, Plan};
use crate::status::Status::{Critical, Warning};
use crate::system::mounts::Mount;
use crate::system::statvfs::FsStats;
use crate::units::bytes as human;

/// `base_fs`: statvfs of the base when the caller already read it this run;
/// otherwise the plan's measurement is the run's one statvfs of the base.
pub fn check(
    layout: &Layout,
    base: &Path,
    mounts: Result<&[Mount], &str>,
    base_fs: Option<Option<&FsStats>>,
    tally: &mut Tally,
) {
    let plan = Plan::measure(layout, base, mounts, base_fs.flatten());
    let measured = match base_fs {
        Some(known) => known.copied(),
        // The base itself, not an ancestor standing in for a missing base.
        None => plan
            .filesystem
            .as_ref()
            .ok()
            .filter(|f| f.base_exists)
            .map(|f| f.size),
    };
    full(base, measured, tally);
    let over = plan.over_commits();
    let capacity = over
        .iter()
        .find(|o| matches!(o, OverCommit::Capacity { .. }));
    match capacity {
        None => tally.pass(),
        Some(o) => {
            tally
                .fail(
                    Warning,
                    base,
                    Check::CapacityTier,
                    format!("planned ≤ tier.capacity {}", human(plan.capacity)),
                    reason(&plan, o),
                )
                .hint("see `jts-hot plan`");
        }
    }
    match (
        &plan.filesystem,
        over.iter()
            .find(|o| matches!(o, OverCommit::Filesystem { .. })),
    ) {
        (Err(e), _) => {
            tally.fail(
                Warning,
                base,
                Check::CapacityFilesystem,
                "a measurable filesystem",
                e.clone(),
            );
        }
        (Ok(_), None) => tally.pass(),
        (Ok(fs), Some(o)) => {
            tally
                .fail(
                    Warning,
                    base,
                    Check::CapacityFilesystem,
                    format!("planned ≤ {} usable by services", human(fs.size.usable())),
                    reason(&plan, o),
                )
                .hint("see `jts-hot plan`");
        }
    }
}

/// A full filesystem (nothing available to the services' owners, inodes or
/// bytes) is CRITICAL: every database on it fails its next write. It is a
/// finding of the whole run, not of a service's gate: a database must still
/// start on a full tier to recover from it (PostgreSQL replays its WAL,
/// then refuses writes itself), and refusing it would turn a full disk into
/// an outage.
fn full(base: &Path, fs: Option<FsStats>, tally: &mut Tally) {
    let Some(fs) = fs else {
        return; // unmeasurable: capacity.filesystem below says so
    };
    let what = if fs.avail_bytes == 0 {
        Some(format!(
            "0 bytes available of {} ({} used)",
            human(fs.size_bytes),
            human(fs.used_bytes)
        ))
    } else if fs.inodes > 0 && fs.inodes_free == 0 {
        Some(format!("0 inodes free of {}", fs.inodes))
    } else {
        None
    };
    match what {
        None => tally.pass(),
        Some(actual) => {
            tally
                .fail(
                    Critical,
                    base,
                    Check::CapacityFilesystem,
                    "a filesystem with room to write",
                    actual,
                )
                .hint("fix: free space on the tier now (see `jts-hot monitor` for who grew)");
        }
    }
}
