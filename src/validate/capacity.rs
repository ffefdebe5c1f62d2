//! Capacity: the plan against tier.capacity and against the real filesystem,
//! from the same `Plan` that `jts-hot plan` prints.

use super::Check;
use std::path::Path;

use super::Tally;
use crate::layout::Layout;
use crate::plan::{output::reason, OverCommit, Plan};
use crate::status::Status::Warning;
use crate::system::mounts::Mount;
use crate::units::bytes as human;

pub fn check(layout: &Layout, base: &Path, mounts: Result<&[Mount], &str>, tally: &mut Tally) {
    let plan = Plan::measure(layout, base, mounts);
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
