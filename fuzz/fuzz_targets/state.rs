//! Any bytes as the state directory's documents, the monitor's history and
//! the probe's baseline: parsing never panics (a bad file is an error), and
//! what the monitor and the probe then do with a parsed document (record a
//! sample, compute growth, compare figures) never panics or overflows.
#![no_main]

use jts_hot::monitor::history::{days_until, growth_per_day, History, RunSample};
use jts_hot::probe::baseline::compare;
use jts_hot::state::{parse, Baseline};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if parse::<History>(data).is_ok() {
        for now in [0, u64::MAX, 1_700_000_000, 1_700_086_400] {
            // Parsed afresh for each clock: the monitor works on what it read.
            let mut h = parse::<History>(data).expect("parsed once already");
            for series in std::iter::once(h.fs_series())
                .chain(h.services.clone().iter().map(|s| h.series(s)))
            {
                let _ = days_until(u64::MAX, growth_per_day(&series, now));
            }
            let services = h.services.iter().map(|s| (s.clone(), 1 << 40)).collect();
            let _ = h.record(RunSample {
                t: now,
                fs_used: Some(u64::MAX),
                services,
            });
            h.compact();
        }
    }
    if let Ok(b) = parse::<Baseline>(data) {
        for factor in [1.0, 1.5, f64::MAX, 0.0] {
            let _ = compare(&b, &b, factor);
            let _ = compare(&Baseline { fsync_p50_us: f64::MAX, ..b.clone() }, &b, factor);
        }
    }
});
