//! The growth history in the state directory: one JSON file, rewritten
//! atomically each run (through [`crate::state`]), bounded to about 35 days
//! and [`MAX_SAMPLES`]. A missing history starts a new one; a corrupt one is
//! set aside and reported, never fatal; a clock step is reported, never
//! silently erases it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::escape;
use crate::state::{self, Document, StateDir};

pub const FILE_NAME: &str = "monitor-history.json";
/// Samples older than this are dropped.
pub const KEEP_SECONDS: u64 = 35 * 86_400;
/// A run closer than this to the last kept sample is not recorded, so a
/// timer running every minute still keeps the file small (≤ ~5000 samples).
pub const MIN_SPACING_SECONDS: u64 = 10 * 60;
/// Growth is measured over this window.
pub const GROWTH_WINDOW_SECONDS: u64 = 7 * 86_400;
/// Samples spanning less than this give no growth figure (too noisy).
pub const MIN_GROWTH_SPAN_SECONDS: u64 = 3_600;
/// The most samples kept: the retention at the minimum spacing, with room
/// for samples a clock step put out of order.
pub const MAX_SAMPLES: usize = 2 * (KEEP_SECONDS / MIN_SPACING_SECONDS) as usize;
/// A history file larger than this is set aside unread (thousands of
/// services × the samples above stay well under it).
pub const MAX_FILE_BYTES: u64 = 256 << 20;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Sample {
    /// Unix time in seconds.
    pub t: u64,
    /// Filesystem used bytes, when statvfs worked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs_used: Option<u64>,
    /// Allocated bytes per service, for services scanned completely.
    #[serde(default)]
    pub services: BTreeMap<String, u64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct History {
    /// Still written, so that a release before schema names reads the file.
    pub version: u32,
    pub samples: Vec<Sample>,
}

impl Document for History {
    const FILE_NAME: &'static str = FILE_NAME;
    const SCHEMA: &'static str = "jts-hot.monitor-history/1";
    const WHAT: &'static str = "history";
    const MAX_BYTES: u64 = MAX_FILE_BYTES;
    const PRETTY: bool = false;
}

pub fn path(state: &StateDir) -> PathBuf {
    state.file::<History>()
}

/// The history as loaded, with what a person should know about it.
pub struct Loaded {
    pub history: History,
    pub notes: Vec<String>,
    /// False when a history is there but could not be read (a descriptor
    /// limit, an I/O error): saving over it would erase it.
    pub saveable: bool,
}

/// Loads the history; on trouble an empty one and a note saying why (the
/// state directory's policy: a corrupt or hostile file is set aside).
pub fn load(state: &StateDir) -> Loaded {
    let empty = |note: String, saveable: bool| Loaded {
        history: History::default(),
        notes: vec![note],
        saveable,
    };
    match state::load::<History>(state) {
        state::Loaded::Found(mut h) => {
            h.samples.sort_by_key(|s| s.t);
            let mut notes = Vec::new();
            if h.samples.len() > MAX_SAMPLES {
                let dropped = h.samples.len() - MAX_SAMPLES;
                h.samples.drain(..dropped);
                notes.push(format!(
                    "history {} held more than {MAX_SAMPLES} samples: the {dropped} oldest dropped",
                    escape::untrusted_path(&path(state))
                ));
            }
            Loaded {
                history: h,
                notes,
                saveable: true,
            }
        }
        // No such file, or no state directory at all (saving then says why).
        state::Loaded::Missing => empty(
            format!(
                "no history yet at {}: growth unknown until later runs",
                escape::untrusted_path(&path(state))
            ),
            true,
        ),
        // Unusable as it was: a new one is written in its place.
        state::Loaded::SetAside(why) => empty(format!("{why}; starting a new one"), true),
        state::Loaded::Unreadable(why) => empty(format!("{why}; not saving over it"), false),
    }
}

impl History {
    /// Adds this run's sample unless another is very close in time, and drops
    /// samples older than the retention. A clock step never erases the
    /// history silently: samples newer than the clock are kept (and noted),
    /// and when every sample looks too old they are kept too (and noted),
    /// until a later run confirms the clock. Returns the notes.
    pub fn record(&mut self, sample: Sample) -> Vec<String> {
        self.version = 1;
        let now = sample.t;
        let mut notes = Vec::new();
        let future = self.samples.iter().filter(|s| s.t > now).count();
        if let Some(latest) = self.samples.last().filter(|_| future > 0) {
            notes.push(format!(
                "clock step: {future} history samples are newer than the clock (the latest by {}); \
                 kept, and used for growth once the clock passes them",
                ago(latest.t - now)
            ));
        }
        let too_old = |s: &Sample| s.t.saturating_add(KEEP_SECONDS) < now;
        let stale = self.samples.iter().filter(|s| too_old(s)).count();
        let recent = self.samples.iter().any(|s| s.t <= now && !too_old(s));
        if stale > 0 && !recent {
            let newest = self
                .samples
                .iter()
                .rev()
                .find(|s| s.t <= now)
                .map_or(0, |s| s.t);
            notes.push(format!(
                "clock step or long pause: the newest history sample is {} old, beyond the {}-day \
                 retention; its {stale} samples are kept until the next run confirms the clock",
                ago(now - newest),
                KEEP_SECONDS / 86_400
            ));
        } else {
            self.samples.retain(|s| !too_old(s));
        }
        if !self
            .samples
            .iter()
            .any(|s| s.t.abs_diff(now) < MIN_SPACING_SECONDS)
        {
            let at = self.samples.partition_point(|s| s.t <= now);
            self.samples.insert(at, sample);
        }
        if self.samples.len() > MAX_SAMPLES {
            let dropped = self.samples.len() - MAX_SAMPLES;
            self.samples.drain(..dropped);
        }
        notes
    }

    /// Saves the history atomically (the state directory's one way).
    pub fn save(&self, state: &StateDir) -> anyhow::Result<()> {
        state::save(state, self).map(drop)
    }
}

/// A span of seconds for a note: "3.2 days", "40 min".
fn ago(seconds: u64) -> String {
    if seconds >= 86_400 {
        format!("{:.1} days", seconds as f64 / 86_400.0)
    } else {
        format!("{} min", seconds.div_ceil(60))
    }
}

/// Bytes per day over the growth window ending at `now`: the least-squares
/// slope through the samples (with the current one), so one odd sample does
/// not swing it. None with fewer than two samples or too short a span.
pub fn growth_per_day(points: &[(u64, u64)], now: u64) -> Option<f64> {
    let window: Vec<(f64, f64)> = points
        .iter()
        .filter(|(t, _)| t.saturating_add(GROWTH_WINDOW_SECONDS) >= now && *t <= now)
        .map(|&(t, v)| ((t as f64 - now as f64) / 86_400.0, v as f64))
        .collect();
    let first = window.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let last = window.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    if window.len() < 2 || (last - first) * 86_400.0 < MIN_GROWTH_SPAN_SECONDS as f64 {
        return None;
    }
    let n = window.len() as f64;
    let mx = window.iter().map(|p| p.0).sum::<f64>() / n;
    let my = window.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = window.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = window.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    Some(sxy / sxx)
}

/// Days until `remaining` bytes are used at `per_day`; None when not growing.
pub fn days_until(remaining: u64, per_day: Option<f64>) -> Option<f64> {
    match per_day {
        _ if remaining == 0 => Some(0.0),
        Some(g) if g > 0.0 => Some(remaining as f64 / g),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_of_a_straight_line_is_exact() {
        let now = 100 * 86_400;
        let pts: Vec<_> = (0..8)
            .map(|d| (now - d * 86_400, 1_000_000 - d * 5000))
            .collect();
        let g = growth_per_day(&pts, now).unwrap();
        assert!((g - 5000.0).abs() < 1e-6, "{g}");
    }

    #[test]
    fn too_few_or_too_close_samples_give_no_growth() {
        assert_eq!(growth_per_day(&[(1000, 5)], 1000), None);
        assert_eq!(growth_per_day(&[(1000, 5), (1600, 9)], 1600), None);
    }

    #[test]
    fn samples_outside_the_window_are_ignored() {
        let now = 100 * 86_400;
        // A huge jump 10 days ago must not count; within 7 days it is flat.
        let pts = [(now - 10 * 86_400, 0), (now - 6 * 86_400, 500), (now, 500)];
        assert_eq!(growth_per_day(&pts, now), Some(0.0));
    }

    fn at(t: u64) -> Sample {
        Sample {
            t,
            ..Sample::default()
        }
    }

    #[test]
    fn a_clock_step_back_keeps_the_future_samples_and_says_so() {
        let day = 86_400;
        let mut h = History::default();
        for t in [100 * day, 101 * day, 102 * day] {
            assert!(h.record(at(t)).is_empty());
        }
        // The clock goes back 30 days.
        let notes = h.record(at(72 * day));
        assert_eq!(h.samples.len(), 4, "{notes:?}");
        assert!(
            notes[0].starts_with("clock step: 3 history samples"),
            "{notes:?}"
        );
        assert!(h.samples.windows(2).all(|w| w[0].t <= w[1].t));
    }

    #[test]
    fn a_clock_step_forward_keeps_everything_until_a_later_run_confirms_it() {
        let day = 86_400;
        let mut h = History::default();
        for d in 0..10 {
            h.record(at(1000 * day + d * day));
        }
        let notes = h.record(at(5000 * day));
        assert_eq!(h.samples.len(), 11, "kept: {notes:?}");
        assert!(notes[0].contains("retention"), "{notes:?}");
        // The next run, 15 minutes later, confirms the clock: the old go.
        let notes = h.record(at(5000 * day + 900));
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(h.samples.len(), 2);
        // Times from a hostile file never overflow.
        h.samples.push(at(u64::MAX));
        h.record(at(5001 * day));
        assert_eq!(growth_per_day(&[(u64::MAX, 1), (0, 2)], 10), None);
    }

    #[test]
    fn record_bounds_and_spaces_samples() {
        let mut h = History::default();
        let day = 86_400;
        for i in 0..(40 * 24) {
            h.record(Sample {
                t: i * 3600,
                ..Sample::default()
            });
            // A second run a minute later is not kept.
            h.record(Sample {
                t: i * 3600 + 60,
                ..Sample::default()
            });
        }
        let now = (40 * 24 - 1) * 3600 + 60;
        assert!(h.samples.iter().all(|s| s.t + KEEP_SECONDS >= now));
        // One per hour over 35 days; the minute-later runs were never kept.
        assert_eq!(h.samples.len() as u64, KEEP_SECONDS / 3600);
        assert!(h.samples.first().unwrap().t >= 5 * day - 3600);
    }
}
