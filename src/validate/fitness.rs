//! device.fitness: the device under the tier, as the probe's saved baseline
//! measured it (`jts-hot probe --save`), judged for each service's database
//! (`probe::fitness`). Read from the baseline so validate never loads the
//! disk itself; no baseline, or one of another directory, judges nothing.

use std::path::Path;

use super::{Check, Tally};
use crate::layout::Layout;
use crate::probe::fitness::{self, Figures, Verdict};
use crate::state::{self, Baseline, StateDir};
use crate::status::Status;
use crate::system::Root;
use crate::units;

/// `known`: the baseline the caller already read this run (the monitor's).
pub fn check(
    layout: &Layout,
    root: &Root,
    state: Option<&StateDir>,
    known: Option<Option<&Baseline>>,
    tally: &mut Tally,
) {
    // An offline image's device is not this machine's.
    let (None, Some(state)) = (root.image_dir(), state) else {
        return;
    };
    // Trouble with the file is the probe's and the monitor's to report.
    let read;
    let baseline = match known {
        Some(known) => known,
        None => {
            read = state::load::<Baseline>(state).found();
            read.as_ref()
        }
    };
    let Some(baseline) = baseline else {
        return;
    };
    if !of_the_tier(&baseline.dir, &layout.tier.base) {
        return;
    }
    let figures = Figures {
        fsync_p99_us: baseline.fsync_p99_us,
        randread_p99_us: baseline.randread_p99_us,
    };
    let when = humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(baseline.measured_unix),
    );
    let needs = fitness::needs(layout);
    for (service, judged) in layout.services.iter().zip(fitness::judge(&needs, &figures)) {
        if judged.verdict != Verdict::Unfit {
            tally.pass();
            continue;
        }
        let beyond: Vec<_> = judged.judged.iter().filter(|j| !j.within).collect();
        let expected = beyond
            .iter()
            .map(|j| {
                format!(
                    "{} ≤ {} ({})",
                    j.figure.what(),
                    units::micros(j.limit.us),
                    j.limit.source
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let actual = beyond
            .iter()
            .map(|j| format!("{} {}", j.figure.what(), units::micros(j.measured_us)))
            .collect::<Vec<_>>()
            .join(", ");
        let engine = judged.engine.map_or("its database", |e| e.as_str());
        tally
            .fail(
                Status::Warning,
                &service.path(layout),
                Check::DeviceFitness,
                expected,
                format!("{actual} in the probe baseline of {when}"),
            )
            .hint(format!(
                "the device is slower than {engine} needs: a faster device, or the service's \
                 own limits in the layout if this is accepted; `jts-hot probe --save` measures again"
            ));
    }
}

/// A baseline of the base or of a directory beneath it is of the tier's device.
fn of_the_tier(probed: &Path, base: &Path) -> bool {
    probed.starts_with(base) || base.canonicalize().is_ok_and(|b| probed.starts_with(b))
}
