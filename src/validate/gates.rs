//! Whether each unit the layout gates can wait for jts-hot-validate.service
//! on the target system, judged from the unit's real ordering as systemd
//! loads it there (`system::unitfile`: its file and drop-ins), never from
//! its name: a unit that runs in early boot (`DefaultDependencies=no`) or
//! must start before `sysinit.target`, `basic.target` or anything jts-hot's
//! own units start after (by its own `Before=` or by what any other unit
//! installed there says about it) would make an ordering cycle, which
//! systemd breaks by dropping a job at boot.

use crate::system::Root;
use std::collections::BTreeSet;
use std::path::Path;

use crate::layout::Layout;
use crate::render::generated::{QUOTA_READ_UNIT, QUOTA_UNIT, SETUP_UNIT, UNIT_DIR, VALIDATE_UNIT};
use crate::system::unitfile::{self, Ordering};

/// Every unit jts-hot's own units (validate, setup, quota, quota-read) are ordered
/// after, as rendered from `layout`.
pub fn own_after(layout: &Layout) -> BTreeSet<String> {
    let mut after = BTreeSet::new();
    for f in crate::render::render(layout) {
        let own = [SETUP_UNIT, VALIDATE_UNIT, QUOTA_UNIT, QUOTA_READ_UNIT]
            .iter()
            .any(|u| f.path == Path::new(UNIT_DIR).join(u));
        if !own {
            continue;
        }
        for line in f.contents.lines() {
            if let Some(units) = line.strip_prefix("After=") {
                after.extend(units.split_whitespace().map(str::to_string));
            }
        }
    }
    after.extend([SETUP_UNIT, VALIDATE_UNIT, QUOTA_UNIT, QUOTA_READ_UNIT].map(str::to_string));
    after
}

/// A gate the target system's ordering refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// `services.NAME.gate[I]`, as the layout's messages name it.
    pub field: String,
    pub unit: String,
    /// The unit's loaded ordering (its file, first).
    pub ordering: Ordering,
    pub why: String,
}

/// Each gate of `layout` that cannot wait for jts-hot-validate.service on
/// the system under `root` (this one when None).
pub fn refused(layout: &Layout, root: &Root) -> Vec<Refused> {
    if layout.services.iter().all(|s| s.gate.is_empty()) {
        // Nothing to judge: the system's units are not read.
        return Vec::new();
    }
    let gates = layout
        .services
        .iter()
        .flat_map(|s| s.gate.iter().map(|u| u.to_string()));
    let anchors = unitfile::anchors(&own_after(layout));
    let graph = unitfile::Graph::load(root, gates.chain(anchors.iter().cloned()));
    let early = graph.early(&anchors);
    let mut out = Vec::new();
    for s in &layout.services {
        for (i, unit) in s.gate.iter().enumerate() {
            let Some(ordering) = graph.units.get(unit.as_str()) else {
                continue;
            };
            if let Some(why) = unitfile::gate_refusal(&graph, ordering, unit.as_str(), &early) {
                out.push(Refused {
                    field: format!("services.{}.gate[{i}]", s.name),
                    unit: unit.to_string(),
                    ordering: ordering.clone(),
                    why,
                });
            }
        }
    }
    out
}

/// validate's `gate.ordering`: each gated unit the system orders too early
/// is CRITICAL (its drop-in makes a cycle at the next boot), the unit's
/// file named; the fix is the layout's.
pub fn check(layout: &Layout, root: &Root, tally: &mut super::Tally) {
    let refused = refused(layout, root);
    let gates: usize = layout.services.iter().map(|s| s.gate.len()).sum();
    for _ in refused.len()..gates {
        tally.pass();
    }
    for r in refused {
        tally
            .fail(
                crate::status::Status::Critical,
                &crate::system::on_disk(root, &r.ordering.file),
                super::Check::GateOrdering,
                format!("{} can wait for jts-hot-validate.service", r.unit),
                r.why,
            )
            .hint(format!(
                "remove {} from {} in the layout (a unit of the early boot cannot be gated), \
                 then run jts-hot apply",
                r.unit, r.field
            ));
    }
}
