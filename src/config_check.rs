//! `jts-hot config check FILE`: a layout file's summary (services,
//! directories, gated units, digest) and whether its plan fits
//! tier.capacity; the file is valid or `config check` never gets here.

use std::path::PathBuf;

use crate::layout::Layout;
use crate::units;

/// What `jts-hot config check` is given (main reads the file once).
#[derive(Debug, Clone)]
pub struct Options {
    /// The file, as named on the command line.
    pub file: PathBuf,
    /// Its text as read: where tier.capacity is, for an over-commitment.
    pub text: String,
}

#[derive(Debug)]
pub struct Report {
    pub file: PathBuf,
    pub services: usize,
    pub directories: usize,
    pub gated_units: usize,
    pub digest: String,
    pub planned: u128,
    pub capacity: u64,
    /// Valid, but the plan cannot all be had: WARNING, as `plan` says.
    pub over: Option<OverCommit>,
}

#[derive(Debug)]
pub struct OverCommit {
    /// How much more the services plan than tier.capacity.
    pub by: u128,
    /// Where tier.capacity is in the file (1, 1 when not found).
    pub line: usize,
    pub column: usize,
}

/// The command: the layout's summary and its plan against tier.capacity.
pub fn run(layout: &Layout, opts: &Options) -> Report {
    let over = layout.over_commitment().map(|by| {
        let (line, column) =
            crate::layout::position_of(&opts.text, "tier.capacity").unwrap_or((1, 1));
        OverCommit { by, line, column }
    });
    Report {
        file: opts.file.clone(),
        services: layout.services.len(),
        directories: layout.planned_dirs().len(),
        gated_units: layout.services.iter().map(|s| s.gate.len()).sum::<usize>(),
        digest: layout.digest(),
        planned: layout.planned_total(),
        capacity: layout.tier.capacity.0,
        over,
    }
}

/// The summary, two lines; a third naming tier.capacity when the plan
/// over-commits it.
pub fn text(r: &Report) -> String {
    let file = r.file.display();
    let mut out = format!(
        "{file}: valid: {} services, {} directories, {} gated units, layout digest {}\n\
         {file}: plan: {} planned of tier.capacity {} ({} bytes)\n",
        r.services,
        r.directories,
        r.gated_units,
        r.digest,
        units::bytes(r.planned),
        units::bytes(r.capacity),
        r.capacity
    );
    if let Some(over) = &r.over {
        out.push_str(&format!(
            "{file}:{}:{}: tier.capacity: the services plan {} in all, {} more than \
             the capacity of {}: the plan over-commits it (see `jts-hot plan`)\n",
            over.line,
            over.column,
            units::bytes(r.planned),
            units::bytes(over.by),
            units::bytes(r.capacity)
        ));
    }
    out
}
