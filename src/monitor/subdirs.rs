//! What grows inside a service: the walk adds up every first- and
//! second-level subdirectory (a Kafka topic's partitions under `data/`, a
//! ClickHouse table), and the monitor reports the largest `monitor.top` of
//! each level with their growth since the previous run's figures, kept in
//! the state directory (`monitor-subdirs.json`). Bounded: the walk tracks at
//! most [`crate::usage::MAX_SUBDIRS`] per service, the file keeps
//! [`KEPT_FACTOR`] × top per level and service.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::subdir_round::SubdirWalk;
use super::{QuotaFigures, UsageSource};
use crate::escape;
use crate::layout::Layout;
use crate::state::{self, Document, StateDir};
use crate::usage::{Subdir, Usage};

/// Per level, this many times `top` are kept for the next run, so a
/// subdirectory rising into the top still has its previous figure.
pub const KEPT_FACTOR: usize = 4;

/// The previous run's figures: per service, escaped path → bytes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Previous {
    /// Unix time of the walk they come from.
    pub t: u64,
    pub services: BTreeMap<String, BTreeMap<String, u64>>,
    /// Per service, when its figures were taken, where not at `t` (a
    /// budgeted walk's round finishes at its own time).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub at: BTreeMap<String, u64>,
}

impl Document for Previous {
    const FILE_NAME: &'static str = "monitor-subdirs.json";
    const SCHEMA: &'static str = "jts-hot.monitor-subdirs/1";
    const WHAT: &'static str = "subdirectory sizes";
    /// Top 100 × 4 × 2 levels of paths up to a few hundred bytes, for
    /// thousands of services: far below this.
    const MAX_BYTES: u64 = 64 << 20;
    const PRETTY: bool = false;
}

/// One of the largest subdirectories of a service.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TopSubdir {
    /// Relative to the service directory, escaped (`escape::untrusted_path`).
    pub path: String,
    /// 1: directly in the service directory; 2: one below.
    pub level: usize,
    /// Allocated bytes below it, itself included (as `du -s -x`).
    pub bytes: u64,
    /// Bytes more (or fewer) than at the previous walk; null when it was
    /// not among the figures kept then.
    pub growth_bytes: Option<i64>,
}

/// A service's largest subdirectories.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TopSubdirs {
    /// Unix time of the walk growth is counted from; null on the first.
    pub since: Option<u64>,
    /// More than [`crate::usage::MAX_SUBDIRS`] subdirectories: the rest were
    /// counted in the service's total but not tracked one by one.
    pub capped: bool,
    /// The largest of level 1, then of level 2, each largest first.
    pub largest: Vec<TopSubdir>,
    /// Unix time of the walk these figures come from: this run's, or the
    /// budgeted walk's last complete round (quota mode).
    #[serde(default)]
    pub walked_unix: u64,
}

/// The `n` largest of each level with their growth against `previous`,
/// and the figures to keep for the next run.
pub fn top(
    subdirs: &[Subdir],
    capped: bool,
    n: usize,
    previous: Option<&BTreeMap<String, u64>>,
    since: Option<u64>,
) -> (TopSubdirs, BTreeMap<String, u64>) {
    let mut largest = Vec::new();
    let mut kept = BTreeMap::new();
    for level in [1, 2] {
        let mut of_level: Vec<&Subdir> = subdirs.iter().filter(|s| s.level() == level).collect();
        let keep = (n * KEPT_FACTOR).min(of_level.len());
        if keep > 0 && keep < of_level.len() {
            // Only the kept ones are sorted: linear in the subdirectories.
            of_level.select_nth_unstable_by(keep - 1, |a, b| b.bytes.cmp(&a.bytes));
        }
        of_level.truncate(keep);
        of_level.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.path.cmp(&b.path)));
        for (i, s) in of_level.into_iter().enumerate() {
            let path = escape::untrusted_path(&s.path);
            if i < n {
                let growth_bytes = previous
                    .and_then(|p| p.get(&path))
                    .map(|before| s.bytes as i64 - *before as i64);
                largest.push(TopSubdir {
                    path: path.clone(),
                    level,
                    bytes: s.bytes,
                    growth_bytes,
                });
            }
            kept.insert(path, s.bytes);
        }
    }
    (
        TopSubdirs {
            since: previous.and(since),
            capped,
            largest,
            walked_unix: 0,
        },
        kept,
    )
}

/// A service's subdirectory figures fresh from this run.
struct Fresh<'a> {
    subdirs: &'a [Subdir],
    capped: bool,
    partial: bool,
    from_round: bool,
}

/// Each service's largest subdirectories against the previous figures:
/// fresh from this run's walk, or from the budgeted walk's round finished
/// in this run; otherwise, for a service measured by its quota, the last
/// complete round's. Returns the figures to keep for the next run (None
/// when nothing was fresh or `monitor.top` is 0).
pub fn largest(
    layout: &Layout,
    usages: &[(Usage, UsageSource, Option<QuotaFigures>)],
    mut walk: Option<&mut SubdirWalk>,
    state: &StateDir,
    now: u64,
    notes: &mut Vec<String>,
) -> (Vec<Option<TopSubdirs>>, Option<Previous>) {
    let n = layout.monitor.top();
    let fresh: Vec<Option<Fresh>> = layout
        .services
        .iter()
        .zip(usages)
        .map(|(svc, (u, source, _))| {
            if *source == UsageSource::Walk && u.root_error.is_none() {
                return Some(Fresh {
                    subdirs: &u.subdirs,
                    capped: u.subdirs_capped,
                    partial: u.partial(),
                    from_round: false,
                });
            }
            let f = walk.as_ref()?.fresh.get(svc.name.as_str())?;
            Some(Fresh {
                subdirs: &f.subdirs,
                capped: f.capped,
                partial: f.partial,
                from_round: true,
            })
        })
        .collect();
    let last = |name: &str| {
        let w = walk.as_ref()?;
        w.state.as_ref()?.last.get(name).cloned()
    };
    if n == 0 || fresh.iter().all(Option::is_none) {
        let tops = layout
            .services
            .iter()
            .zip(usages)
            .map(|(svc, (_, source, _))| {
                (n > 0 && *source == UsageSource::Quota)
                    .then(|| last(svc.name.as_str()))
                    .flatten()
            })
            .collect();
        return (tops, None);
    }
    let loaded = state::load::<Previous>(state);
    notes.extend(loaded.trouble().map(str::to_string));
    let previous = loaded.found();
    let mut next = Previous {
        t: now,
        ..Default::default()
    };
    let mut tops = Vec::with_capacity(usages.len());
    let mut finished = Vec::new();
    for ((svc, (_, source, _)), fresh) in layout.services.iter().zip(usages).zip(&fresh) {
        let name = svc.name.as_str();
        let before = previous.as_ref().and_then(|p| p.services.get(name));
        let Some(f) = fresh else {
            // Not walked this run: its figures wait for the next walk.
            if let Some(b) = before {
                next.services.insert(name.to_string(), b.clone());
                if let Some(at) = previous.as_ref().map(|p| p.at.get(name).unwrap_or(&p.t)) {
                    next.at.insert(name.to_string(), *at);
                }
            }
            tops.push(
                (*source == UsageSource::Quota)
                    .then(|| last(name))
                    .flatten(),
            );
            continue;
        };
        let since = previous.as_ref().map(|p| *p.at.get(name).unwrap_or(&p.t));
        let (mut top, kept) = top(f.subdirs, f.capped, n, before, since);
        top.walked_unix = now;
        // A partial walk's figures are lower bounds: not a baseline.
        match (f.partial, before) {
            (false, _) => {
                next.services.insert(name.to_string(), kept);
            }
            (true, Some(b)) => {
                next.services.insert(name.to_string(), b.clone());
            }
            (true, None) => {}
        }
        if f.from_round {
            finished.push((name.to_string(), top.clone()));
        }
        tops.push(Some(top));
    }
    if let Some(round) = walk.as_mut().and_then(|w| w.state.as_mut()) {
        round.last.extend(finished);
    }
    (tops, Some(next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn sd(path: &str, bytes: u64) -> Subdir {
        Subdir {
            path: PathBuf::from(path),
            bytes,
        }
    }

    #[test]
    fn the_largest_per_level_with_growth_and_a_bounded_memory() {
        let mut all = vec![sd("data", 1000), sd("logs", 10), sd("tmp", 1)];
        for i in 0..50u64 {
            all.push(sd(&format!("data/t{i}"), i * 10));
        }
        let prev: BTreeMap<String, u64> =
            [("data".to_string(), 900), ("data/t49".to_string(), 500)].into();
        let (t, kept) = top(&all, false, 2, Some(&prev), Some(7));
        let got: Vec<(&str, usize, u64, Option<i64>)> = t
            .largest
            .iter()
            .map(|s| (s.path.as_str(), s.level, s.bytes, s.growth_bytes))
            .collect();
        assert_eq!(
            got,
            [
                ("data", 1, 1000, Some(100)),
                ("logs", 1, 10, None),
                ("data/t49", 2, 490, Some(-10)),
                ("data/t48", 2, 480, None),
            ]
        );
        assert_eq!(t.since, Some(7));
        // 2 × 4 kept per level: 3 of level 1, 8 of level 2.
        assert_eq!(kept.len(), 3 + 8);
        assert!(kept.contains_key("data/t42") && !kept.contains_key("data/t41"));
        let (none, kept) = top(&all, false, 0, None, Some(7));
        assert!(none.largest.is_empty() && kept.is_empty() && none.since.is_none());
    }

    #[test]
    fn hostile_names_are_escaped() {
        let (t, _) = top(&[sd("a\nb", 5)], true, 5, None, None);
        assert!(!t.largest[0].path.contains('\n'), "{:?}", t.largest[0].path);
        assert!(t.capped);
    }
}
