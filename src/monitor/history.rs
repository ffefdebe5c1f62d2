//! The growth history in the state directory: one JSON file, rewritten
//! atomically each run (through [`crate::state`]), of bounded size whatever
//! its age: the newest [`FULL_SAMPLES`] samples as measured, older ones
//! merged into hourly, then daily samples (weighted, so growth is computed as
//! if every run were there), daily ones kept [`DAILY_SAMPLES`] days. A run's
//! cost in time and memory is bounded by that, not by how long the history
//! has run, and no sample is lost to a size cap: it is merged instead.
//!
//! Stored by columns (`jts-hot.monitor-history/2`): the service names once,
//! each sample a list of bytes in that order. Files of schema 1 (a map per
//! sample) are still read, and saved as 2.
//!
//! The clock is not trusted blindly: a sample is added only after the newest
//! one. A clock behind the history does not record (a wrongly dated sample
//! would bend growth) until a second run confirms it; then the samples dated
//! after the clock are set aside in the file (kept, never used). A clock far
//! ahead never drops the samples before it.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::escape;
use crate::state::{self, Document, StateDir};

pub const FILE_NAME: &str = "monitor-history.json";
pub const SCHEMA: &str = "jts-hot.monitor-history/2";
/// The schema before samples were stored by columns: still read.
const SCHEMA_1: &str = "jts-hot.monitor-history/1";
/// A run closer than this to the newest sample is not recorded, so a timer
/// running every minute still keeps the file small.
const MIN_SPACING_SECONDS: u64 = 10 * 60;
/// Growth is measured over this window unless the layout sets
/// `monitor.forecast_window`.
pub const GROWTH_WINDOW_SECONDS: u64 = 7 * 86_400;
/// Samples spanning less than this give no growth figure (too noisy).
const MIN_GROWTH_SPAN_SECONDS: u64 = 3_600;
/// The newest samples, kept as measured (3 days of 15-minute runs).
const FULL_SAMPLES: usize = 288;
/// Older samples merged by hour: at most this many (7 days).
const HOURLY_SAMPLES: usize = 168;
/// Older still, merged by day: at most this many; older days are dropped
/// (the history's retention, by the age of what it holds, never by size).
const DAILY_SAMPLES: usize = 400;
/// Samples set aside by a confirmed clock step, kept for a person to see.
const MAX_SET_ASIDE: usize = 1_000;
/// Beyond this a clock far ahead of the history is noted.
const LONG_PAUSE_SECONDS: u64 = 35 * 86_400;
/// A history file larger than this is set aside unread. Compaction keeps
/// files far smaller (about 30 bytes per service and sample, at most
/// ~860 samples); the margin reads files of schema 1, which grew unbounded.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// One sample: a run, or several merged.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Sample {
    /// Unix time in seconds (merged: the weighted mean).
    pub t: u64,
    /// How many runs it stands for.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub w: u64,
    /// Filesystem used bytes, when statvfs worked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs_used: Option<u64>,
    /// Allocated bytes per service, in the order of `History::services`;
    /// null for a service not scanned completely.
    #[serde(default)]
    pub bytes: Vec<Option<u64>>,
}

fn one() -> u64 {
    1
}

fn is_one(w: &u64) -> bool {
    *w == 1
}

/// This run's figures, as the monitor measured them.
#[derive(Debug, Clone, Default)]
pub struct RunSample {
    pub t: u64,
    pub fs_used: Option<u64>,
    /// Services scanned completely, with their allocated bytes.
    pub services: Vec<(String, u64)>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct History {
    /// Still written, so that a release before schema names reads the file.
    pub version: u32,
    /// The column of each service in every sample's `bytes`.
    #[serde(default)]
    pub services: Vec<String>,
    pub samples: Vec<Sample>,
    /// Samples dated after a clock that two runs confirmed: kept, not used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set_aside: Vec<Sample>,
    /// The time of a run that found the clock behind the history and did
    /// not record: the next run confirms the step or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<u64>,
}

impl Document for History {
    const FILE_NAME: &'static str = FILE_NAME;
    const SCHEMA: &'static str = SCHEMA;
    const WHAT: &'static str = "history";
    const MAX_BYTES: u64 = MAX_FILE_BYTES;
    const PRETTY: bool = false;

    fn from_schema(schema: Option<&str>, bytes: &[u8]) -> Result<Self, String> {
        match schema {
            Some(SCHEMA) => {
                let h: History = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
                h.checked()
            }
            None | Some(SCHEMA_1) => {
                let v1: V1 = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
                Ok(v1.into_history())
            }
            Some(other) => Err(format!(
                "schema \"{}\", not \"{SCHEMA}\"",
                escape::untrusted(other)
            )),
        }
    }
}

/// Schema 1: every sample a map of service name to bytes.
#[derive(Deserialize)]
struct V1 {
    samples: Vec<V1Sample>,
}

#[derive(Deserialize)]
struct V1Sample {
    t: u64,
    #[serde(default)]
    fs_used: Option<u64>,
    #[serde(default)]
    services: std::collections::BTreeMap<String, u64>,
}

impl V1 {
    fn into_history(self) -> History {
        let mut h = History::default();
        let mut samples = self.samples;
        samples.sort_by_key(|s| s.t);
        for s in samples {
            let run = RunSample {
                t: s.t,
                fs_used: s.fs_used,
                services: s.services.into_iter().collect(),
            };
            let sample = h.sample_of(&run);
            h.samples.push(sample);
        }
        h.compact();
        h
    }
}

impl History {
    /// A file's history, if it is consistent (every sample as wide as the
    /// service list, in time order).
    fn checked(mut self) -> Result<History, String> {
        let width = self.services.len();
        if let Some(s) = self
            .samples
            .iter()
            .chain(&self.set_aside)
            .find(|s| s.bytes.len() > width)
        {
            return Err(format!(
                "a sample at t={} has {} figures for {width} services",
                s.t,
                s.bytes.len()
            ));
        }
        for s in self.samples.iter_mut().chain(self.set_aside.iter_mut()) {
            s.bytes.resize(width, None);
            s.w = s.w.max(1);
        }
        self.samples.sort_by_key(|s| s.t);
        Ok(self)
    }

    fn column(&self, name: &str) -> Option<usize> {
        self.services.iter().position(|s| s == name)
    }

    /// A run's figures as a sample of this history (new services get a column).
    fn sample_of(&mut self, run: &RunSample) -> Sample {
        let index = self.columns();
        let mut placed: Vec<(usize, u64)> = Vec::with_capacity(run.services.len());
        let mut added = Vec::new();
        for (name, bytes) in &run.services {
            match index.get(name.as_str()) {
                Some(&i) => placed.push((i, *bytes)),
                None => added.push((name.clone(), *bytes)),
            }
        }
        let grew = !added.is_empty();
        for (name, bytes) in added {
            placed.push((self.services.len(), bytes));
            self.services.push(name);
        }
        let width = self.services.len();
        if grew {
            // Only when a service is new: a run stays linear in the history.
            for s in self.samples.iter_mut().chain(self.set_aside.iter_mut()) {
                s.bytes.resize(width, None);
            }
        }
        let mut bytes = vec![None; width];
        for (i, b) in placed {
            bytes[i] = Some(b);
        }
        Sample {
            t: run.t,
            w: 1,
            fs_used: run.fs_used,
            bytes,
        }
    }

    /// Each service's column.
    pub fn columns(&self) -> HashMap<&str, usize> {
        self.services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.as_str(), i))
            .collect()
    }

    /// (time, bytes, weight) of one service over the history.
    pub fn series(&self, service: &str) -> Vec<(u64, u64, u64)> {
        self.column(service)
            .map_or_else(Vec::new, |i| self.series_at(i))
    }

    /// (time, bytes, weight) of the service in column `i`.
    pub fn series_at(&self, i: usize) -> Vec<(u64, u64, u64)> {
        self.samples
            .iter()
            .filter_map(|s| s.bytes.get(i).copied().flatten().map(|b| (s.t, b, s.w)))
            .collect()
    }

    /// (time, used bytes, weight) of the filesystem over the history.
    pub fn fs_series(&self) -> Vec<(u64, u64, u64)> {
        self.samples
            .iter()
            .filter_map(|s| s.fs_used.map(|b| (s.t, b, s.w)))
            .collect()
    }

    /// Records this run's sample if it comes after the newest one, and
    /// compacts. A clock behind the history records nothing until a second
    /// run confirms it (then the samples dated after it are set aside); a
    /// clock far ahead drops nothing. Returns the notes.
    pub fn record(&mut self, run: RunSample) -> Vec<String> {
        self.version = 2;
        let now = run.t;
        let mut notes = Vec::new();
        match self.samples.last().map(|s| s.t) {
            Some(latest) if now < latest && latest - now >= MIN_SPACING_SECONDS => {
                let confirmed = self.pending.is_some_and(|p| p <= now);
                if confirmed {
                    let at = self.samples.partition_point(|s| s.t <= now);
                    let moved: Vec<Sample> = self.samples.drain(at..).collect();
                    notes.push(format!(
                        "clock step back confirmed by two runs: {} history samples dated after the \
                         clock (the newest by {}) set aside in the history file, not used for growth",
                        moved.len(),
                        ago(latest - now)
                    ));
                    self.set_aside.extend(moved);
                    let over = self.set_aside.len().saturating_sub(MAX_SET_ASIDE);
                    self.set_aside.drain(..over);
                    self.pending = None;
                    let sample = self.sample_of(&run);
                    self.samples.push(sample);
                } else {
                    notes.push(format!(
                        "clock step: the clock is {} behind the newest history sample; this run's \
                         sample is not recorded (it would be wrongly dated) unless the next run \
                         confirms the clock",
                        ago(latest - now)
                    ));
                    self.pending = Some(now);
                }
            }
            Some(latest) if now.abs_diff(latest) < MIN_SPACING_SECONDS => {}
            latest => {
                if let Some(latest) = latest.filter(|l| now - l > LONG_PAUSE_SECONDS) {
                    notes.push(format!(
                        "clock step or long pause: the newest history sample is {} old; the \
                         history is kept (merged, never dropped for it)",
                        ago(now - latest)
                    ));
                }
                self.pending = None;
                let sample = self.sample_of(&run);
                self.samples.push(sample);
            }
        }
        self.compact();
        notes
    }

    /// Merges all but the newest [`FULL_SAMPLES`] by hour, all but the
    /// newest [`HOURLY_SAMPLES`] hours by day, and keeps [`DAILY_SAMPLES`] days.
    pub fn compact(&mut self) {
        if self.samples.len() > FULL_SAMPLES {
            let recent = self.samples.split_off(self.samples.len() - FULL_SAMPLES);
            let older = std::mem::take(&mut self.samples);
            let mut hourly = merge_by(older, 3_600);
            let mut kept = Vec::new();
            if hourly.len() > HOURLY_SAMPLES {
                let newer = hourly.split_off(hourly.len() - HOURLY_SAMPLES);
                let mut daily = merge_by(hourly, 86_400);
                let over = daily.len().saturating_sub(DAILY_SAMPLES);
                daily.drain(..over);
                kept.extend(daily);
                kept.extend(newer);
            } else {
                kept.extend(hourly);
            }
            kept.extend(recent);
            self.samples = kept;
        }
        self.drop_empty_columns();
    }

    /// Services no sample holds a figure for any more (removed from the layout).
    fn drop_empty_columns(&mut self) {
        let width = self.services.len();
        let used: Vec<bool> = (0..width)
            .map(|i| {
                self.samples
                    .iter()
                    .chain(&self.set_aside)
                    .any(|s| s.bytes.get(i).copied().flatten().is_some())
            })
            .collect();
        if used.iter().all(|u| *u) {
            return;
        }
        let keep = |v: &mut Vec<Option<u64>>| {
            let mut i = 0;
            v.retain(|_| {
                i += 1;
                used.get(i - 1).copied().unwrap_or(false)
            });
        };
        for s in self.samples.iter_mut().chain(self.set_aside.iter_mut()) {
            keep(&mut s.bytes);
        }
        let mut i = 0;
        self.services.retain(|_| {
            i += 1;
            used[i - 1]
        });
    }

    /// Saves the history atomically (the state directory's one way).
    pub fn save(&self, state: &StateDir) -> anyhow::Result<()> {
        state::save(state, self).map(drop)
    }
}

/// Samples (in time order) merged per `bucket` seconds: weighted means of
/// the time and of each figure, weights added.
fn merge_by(samples: Vec<Sample>, bucket: u64) -> Vec<Sample> {
    let mut out: Vec<Sample> = Vec::new();
    let mut group: Vec<Sample> = Vec::new();
    for s in samples {
        if group.first().is_some_and(|g| g.t / bucket != s.t / bucket) {
            out.push(merge(std::mem::take(&mut group)));
        }
        group.push(s);
    }
    if !group.is_empty() {
        out.push(merge(group));
    }
    out
}

fn merge(group: Vec<Sample>) -> Sample {
    if group.len() == 1 {
        return group.into_iter().next().expect("one sample");
    }
    let mean = |pick: &dyn Fn(&Sample) -> Option<u64>| -> Option<u64> {
        let (mut sum, mut weight) = (0u128, 0u128);
        for s in &group {
            if let Some(v) = pick(s) {
                sum += v as u128 * s.w as u128;
                weight += s.w as u128;
            }
        }
        (weight > 0).then(|| ((sum + weight / 2) / weight) as u64)
    };
    let width = group.iter().map(|s| s.bytes.len()).max().unwrap_or(0);
    Sample {
        t: mean(&|s| Some(s.t)).unwrap_or(0),
        w: group.iter().map(|s| s.w).fold(0u64, u64::saturating_add),
        fs_used: mean(&|s| s.fs_used),
        bytes: (0..width)
            .map(|i| mean(&|s| s.bytes.get(i).copied().flatten()))
            .collect(),
    }
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
        state::Loaded::Found(h) => Loaded {
            history: h,
            notes: Vec::new(),
            saveable: true,
        },
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

/// A span of seconds for a note: "3.2 days", "40 min".
fn ago(seconds: u64) -> String {
    if seconds >= 86_400 {
        format!("{:.1} days", seconds as f64 / 86_400.0)
    } else {
        format!("{} min", seconds.div_ceil(60))
    }
}

/// Bytes per day over the default growth window ending at `now`
/// ([`growth_over`] for another window).
pub fn growth_per_day(points: &[(u64, u64, u64)], now: u64) -> Option<f64> {
    growth_over(points, now, GROWTH_WINDOW_SECONDS)
}

/// The (days before `now`, bytes, weight) points of the `window` seconds
/// ending at `now`; points after `now` (a clock step) are left out, and a
/// weight of 0 counts as one run. Growth and the forecast fit these.
pub(crate) fn in_window(points: &[(u64, u64, u64)], now: u64, window: u64) -> Vec<(f64, f64, f64)> {
    points
        .iter()
        .filter(|(t, _, _)| t.saturating_add(window) >= now && *t <= now)
        .map(|&(t, v, w)| {
            (
                (t as f64 - now as f64) / 86_400.0,
                v as f64,
                w.max(1) as f64,
            )
        })
        .collect()
}

/// Bytes per day over `window` seconds ending at `now`: the weighted
/// least-squares slope through the (time, bytes, weight) points (a merged
/// sample counts as the runs it stands for), so one odd sample does not swing
/// it. Points after `now` (a clock step) are not used. None with fewer than
/// two points or too short a span.
pub fn growth_over(points: &[(u64, u64, u64)], now: u64, window: u64) -> Option<f64> {
    let window = in_window(points, now, window);
    let first = window.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let last = window.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    if window.len() < 2 || (last - first) * 86_400.0 < MIN_GROWTH_SPAN_SECONDS as f64 {
        return None;
    }
    let n: f64 = window.iter().map(|p| p.2).sum();
    let mx = window.iter().map(|p| p.0 * p.2).sum::<f64>() / n;
    let my = window.iter().map(|p| p.1 * p.2).sum::<f64>() / n;
    let sxy: f64 = window.iter().map(|p| p.2 * (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = window.iter().map(|p| p.2 * (p.0 - mx) * (p.0 - mx)).sum();
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

    fn pts(v: &[(u64, u64)]) -> Vec<(u64, u64, u64)> {
        v.iter().map(|&(t, b)| (t, b, 1)).collect()
    }

    #[test]
    fn slope_of_a_straight_line_is_exact() {
        let now = 100 * 86_400;
        let p: Vec<_> = (0..8)
            .map(|d| (now - d * 86_400, 1_000_000 - d * 5000))
            .collect();
        let g = growth_per_day(&pts(&p), now).unwrap();
        assert!((g - 5000.0).abs() < 1e-6, "{g}");
    }

    #[test]
    fn too_few_or_too_close_samples_give_no_growth() {
        assert_eq!(growth_per_day(&pts(&[(1000, 5)]), 1000), None);
        assert_eq!(growth_per_day(&pts(&[(1000, 5), (1600, 9)]), 1600), None);
    }

    #[test]
    fn samples_outside_the_window_are_ignored() {
        let now = 100 * 86_400;
        let p = [(now - 10 * 86_400, 0), (now - 6 * 86_400, 500), (now, 500)];
        assert_eq!(growth_per_day(&pts(&p), now), Some(0.0));
    }

    fn run(t: u64, bytes: u64) -> RunSample {
        RunSample {
            t,
            fs_used: Some(bytes),
            services: vec![("kafka".into(), bytes)],
        }
    }

    const DAY: u64 = 86_400;
    /// 240 MB a day, a run every 15 minutes.
    fn steady(h: &mut History, from: u64, runs: u64) {
        for i in 0..runs {
            let t = from + i * 900;
            h.record(run(t, 240_000_000 * t / DAY));
        }
    }

    fn growth(h: &History, now: u64) -> f64 {
        growth_per_day(&h.series("kafka"), now).unwrap()
    }

    #[test]
    fn compaction_bounds_the_history_and_keeps_growth_exact() {
        let mut h = History::default();
        let start = 1000 * DAY;
        steady(&mut h, start, 35 * 96);
        let now = start + (35 * 96 - 1) * 900;
        assert!(
            h.samples.len() <= FULL_SAMPLES + HOURLY_SAMPLES + 35,
            "{}",
            h.samples.len()
        );
        // No run lost: the weights add up to every run recorded.
        assert_eq!(h.samples.iter().map(|s| s.w).sum::<u64>(), 35 * 96);
        let g = growth(&h, now);
        assert!((g - 240e6).abs() < 1e3, "{g}");
        // A year of runs: still bounded.
        steady(&mut h, now + 900, 365 * 96);
        assert!(h.samples.len() <= FULL_SAMPLES + HOURLY_SAMPLES + DAILY_SAMPLES);
        assert!(h.samples.windows(2).all(|w| w[0].t < w[1].t));
    }

    #[test]
    fn a_clock_one_day_back_records_no_wrongly_dated_sample() {
        let mut h = History::default();
        let start = 1000 * DAY;
        steady(&mut h, start, 96 * 3);
        let now = start + 96 * 3 * 900;
        let before = h.samples.len();
        let notes = h.record(run(now - DAY, 240_000_000 * now / DAY));
        assert!(notes[0].starts_with("clock step"), "{notes:?}");
        assert_eq!(h.samples.len(), before);
        // The clock is right again: growth is still 240 MB a day.
        steady(&mut h, now + 900, 8);
        let g = growth(&h, now + 8 * 900);
        assert!((g - 240e6).abs() < 1e3, "{g}");
    }

    #[test]
    fn a_clock_a_year_ahead_for_two_runs_drops_no_real_sample() {
        let mut h = History::default();
        let start = 1000 * DAY;
        steady(&mut h, start, 10);
        let real = start + 10 * 900;
        for i in 0..2 {
            h.record(run(real + 365 * DAY + i * 900, 1));
        }
        assert_eq!(h.samples.len(), 12);
        // The clock is set right: the first run does not record, the second
        // confirms it, the two samples from the future are set aside.
        let notes = h.record(run(real, 240_000_000 * real / DAY));
        assert!(notes[0].contains("not recorded"), "{notes:?}");
        let notes = h.record(run(real + 900, 240_000_000 * (real + 900) / DAY));
        assert!(notes[0].contains("set aside"), "{notes:?}");
        assert_eq!(h.samples.len(), 11, "the 10 real samples and this run's");
        assert_eq!(h.set_aside.len(), 2);
        assert!(h.samples.iter().all(|s| s.t <= real + 900));
        let g = growth(&h, real + 900);
        assert!((g - 240e6).abs() < 1e3, "{g}");
        // Times from a hostile file never overflow.
        h.samples.push(Sample {
            t: u64::MAX,
            w: 1,
            ..Sample::default()
        });
        h.record(run(real + 2 * 900, 5));
        assert_eq!(growth_per_day(&[(u64::MAX, 1, 1), (0, 2, 1)], 10), None);
    }

    #[test]
    fn schema_1_files_are_read_and_removed_services_leave() {
        let v1 = br#"{"version":1,"samples":[{"t":2000,"fs_used":5,"services":{"a":1,"b":2}},{"t":1000,"services":{"a":7}}]}"#;
        let h = History::from_schema(Some(SCHEMA_1), v1).unwrap();
        assert_eq!(h.services, ["a", "b"]);
        assert_eq!(h.series("a"), [(1000, 7, 1), (2000, 1, 1)]);
        assert_eq!(h.series("b"), [(2000, 2, 1)]);
        assert!(History::from_schema(None, v1).is_ok());
        assert!(History::from_schema(Some("jts-hot.monitor-history/9"), v1).is_err());
        let bad = br#"{"version":2,"services":["a"],"samples":[{"t":1,"bytes":[1,2]}]}"#;
        assert!(History::from_schema(Some(SCHEMA), bad).is_err());
        let mut h = h;
        for i in 0..(FULL_SAMPLES as u64 + 10) {
            h.record(RunSample {
                t: 10_000 + i * 3600,
                fs_used: None,
                services: vec![("a".into(), i)],
            });
        }
        assert_eq!(h.services, ["a", "b"], "b's old figure is merged, not lost");
    }
}
