//! `[monitor]`: the monitor's cadence, where its textfile goes, its
//! forecast window, top subdirectories, role and quota tree cadence. Raw
//! form, typed form and check.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::checker::Checker;
use super::default::DEFAULT_TEXTFILE_DIR;
use super::schema::opt_seconds;
use super::schema::seconds;
use super::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMonitor {
    pub every: Option<Spanned<String>>,
    pub textfile_dir: Option<Spanned<String>>,
    /// How often the monitor walks each service tree for entries outside its project.
    pub quota_tree_every: Option<Spanned<String>>,
    /// The host's role in the fleet: the label its layout is compared under.
    pub role: Option<Spanned<String>>,
    /// The span of history growth and forecasts are fitted over.
    pub forecast_window: Option<Spanned<String>>,
    /// How many largest subdirectories per service and level are reported.
    pub top: Option<Spanned<i64>>,
    /// With quotas: how often a round of the budgeted subdirectory walk starts.
    pub subdir_walk_every: Option<Spanned<String>>,
    /// With quotas: entries the subdirectory walk may examine per run.
    pub subdir_walk_budget: Option<Spanned<i64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Monitor {
    #[serde(serialize_with = "seconds")]
    pub every: Duration,
    pub textfile_dir: PathBuf,
    /// `quota_tree_every`: how often the monitor walks each service tree for
    /// entries outside the service's project. `None`: the default (daily),
    /// left out of the digest so layouts without the key keep theirs.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_seconds"
    )]
    pub quota_tree_every: Option<Duration>,
    /// `forecast_window`: the span of history growth and the forecasts are
    /// fitted over. `None`: the default (7 days), left out of the digest.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_seconds"
    )]
    pub forecast_window: Option<Duration>,
    /// `top`: how many of each service's largest first- and second-level
    /// subdirectories the monitor reports (0: none). `None`: the default
    /// ([`Monitor::TOP`]), left out of the digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top: Option<u32>,
    /// `subdir_walk_every`: how often a round of the budgeted subdirectory
    /// walk (services read from their quota) starts. `None`: hourly, left
    /// out of the digest.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_seconds"
    )]
    pub subdir_walk_every: Option<Duration>,
    /// `subdir_walk_budget`: entries that walk may examine per run. `None`:
    /// [`Monitor::SUBDIR_WALK_BUDGET`], left out of the digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subdir_walk_budget: Option<u64>,
    /// `role`: the host's role in the fleet (the `role` label of
    /// jts_hot_layout_info; hosts are compared with the others of their
    /// role). Left out of the digest when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

impl Monitor {
    /// The default cadence of the quota tree walk.
    const QUOTA_TREE_EVERY: Duration = Duration::from_secs(86_400);
    /// The default forecast window: a week holds a trading week's cycle.
    pub const FORECAST_WINDOW: Duration = Duration::from_secs(7 * 86_400);

    /// The default number of largest subdirectories reported per level.
    pub const TOP: u32 = 5;

    /// The default cadence of the budgeted subdirectory walk's rounds.
    const SUBDIR_WALK_EVERY: Duration = Duration::from_secs(3600);
    /// The default budget of that walk per run, in entries.
    pub const SUBDIR_WALK_BUDGET: u64 = 100_000;
    /// The range of that budget: a directory listing's worth to a tree's.
    const SUBDIR_WALK_BUDGETS: std::ops::RangeInclusive<i64> = 1_000..=100_000_000;

    /// How often a round of the subdirectory walk starts (`subdir_walk_every`).
    pub fn subdir_walk_every(&self) -> Duration {
        self.subdir_walk_every.unwrap_or(Self::SUBDIR_WALK_EVERY)
    }

    /// Entries the subdirectory walk may examine per run (`subdir_walk_budget`).
    pub fn subdir_walk_budget(&self) -> u64 {
        self.subdir_walk_budget.unwrap_or(Self::SUBDIR_WALK_BUDGET)
    }

    /// How many largest subdirectories per level (`top`).
    pub fn top(&self) -> usize {
        self.top.unwrap_or(Self::TOP) as usize
    }

    /// The span growth and forecasts are fitted over (`forecast_window`).
    pub fn forecast_window(&self) -> Duration {
        self.forecast_window.unwrap_or(Self::FORECAST_WINDOW)
    }

    /// How often the monitor walks the service trees (`quota_tree_every`).
    pub fn quota_tree_every(&self) -> Duration {
        self.quota_tree_every.unwrap_or(Self::QUOTA_TREE_EVERY)
    }
}

impl Checker<'_> {
    pub(super) fn monitor(
        &mut self,
        raw: Option<toml::Spanned<RawMonitor>>,
        base: Option<&Path>,
    ) -> Option<Monitor> {
        let raw = raw.map(|r| r.into_inner());
        let every = self.check_or(
            raw.as_ref().and_then(|r| r.every.as_ref()),
            "15min",
            "monitor.every",
            rules::monitor_interval,
        );
        let textfile_dir = match raw.as_ref().and_then(|r| r.textfile_dir.as_ref()) {
            Some(dir) => self.check(dir, "monitor.textfile_dir", |s| {
                rules::textfile_dir(s, base)
            }),
            // The default can clash with a base under /var/lib/prometheus:
            // say so against the key the operator has to add.
            None => rules::textfile_dir(DEFAULT_TEXTFILE_DIR, base)
                .map_err(|m| {
                    self.fail(
                        None,
                        "monitor.textfile_dir",
                        format!(
                            "the default {DEFAULT_TEXTFILE_DIR}: {m}; set monitor.textfile_dir"
                        ),
                    )
                })
                .ok(),
        };
        let quota_tree_every = match raw.as_ref().and_then(|r| r.quota_tree_every.as_ref()) {
            Some(v) => Some(self.check(v, "monitor.quota_tree_every", rules::tree_interval)?),
            None => None,
        };
        let forecast_window = match raw.as_ref().and_then(|r| r.forecast_window.as_ref()) {
            Some(v) => Some(self.check(v, "monitor.forecast_window", rules::forecast_window)?),
            None => None,
        };
        let top = match raw.as_ref().and_then(|r| r.top.as_ref()) {
            None => None,
            Some(v) if (0..=100).contains(v.get_ref()) => Some(*v.get_ref() as u32),
            Some(v) => {
                self.fail(
                    Some(v.span()),
                    "monitor.top",
                    format!(
                        "{} is not a number of subdirectories from 0 (none) to 100",
                        v.get_ref()
                    ),
                );
                return None;
            }
        };
        let role = match raw.as_ref().and_then(|r| r.role.as_ref()) {
            Some(v) => Some(self.check(v, "monitor.role", rules::role)?),
            None => None,
        };
        let subdir_walk_every = match raw.as_ref().and_then(|r| r.subdir_walk_every.as_ref()) {
            Some(v) => Some(self.check(v, "monitor.subdir_walk_every", subdir_walk_every)?),
            None => None,
        };
        let subdir_walk_budget = match raw.as_ref().and_then(|r| r.subdir_walk_budget.as_ref()) {
            None => None,
            Some(v) if Monitor::SUBDIR_WALK_BUDGETS.contains(v.get_ref()) => {
                Some(*v.get_ref() as u64)
            }
            Some(v) => {
                self.fail(
                    Some(v.span()),
                    "monitor.subdir_walk_budget",
                    format!(
                        "{} is not a number of entries from 1000 to 100000000",
                        v.get_ref()
                    ),
                );
                return None;
            }
        };
        Some(Monitor {
            every: every?,
            textfile_dir: textfile_dir?,
            quota_tree_every,
            forecast_window,
            top,
            role,
            subdir_walk_every,
            subdir_walk_budget,
        })
    }
}

/// `monitor.subdir_walk_every`: from 5 minutes (a round is bounded per run
/// by its budget, not by its cadence) to 30 days.
fn subdir_walk_every(s: &str) -> Result<Duration, String> {
    let d = rules::duration(s)?;
    if !(300..=30 * 86_400).contains(&d.as_secs()) {
        return Err(format!(
            "\"{s}\" is not from 5min to 30d: how often a round of the subdirectory walk starts, e.g. \"1h\""
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::super::*;

    #[test]
    fn forecast_window_is_checked_and_keeps_the_digest_when_unset() {
        let plain = Layout::builtin();
        let with = |w: &str| {
            let text = DEFAULT_LAYOUT_TOML.replace(
                "[monitor]\n",
                &format!("[monitor]\nforecast_window = \"{w}\"\n"),
            );
            Layout::parse(&text, "hot.toml")
        };
        assert_eq!(plain.monitor.forecast_window().as_secs(), 7 * 86_400);
        let l = with("30d").unwrap();
        assert_eq!(l.monitor.forecast_window().as_secs(), 30 * 86_400);
        assert_ne!(l.digest(), plain.digest());
        for bad in ["30min", "500d", "soon"] {
            let errs = with(bad).unwrap_err();
            assert_eq!(errs.0[0].field, "monitor.forecast_window", "{errs}");
        }
    }

    #[test]
    fn subdir_walk_is_checked_and_keeps_the_digest_when_unset() {
        let plain = Layout::builtin();
        let with = |line: &str| {
            let text = DEFAULT_LAYOUT_TOML.replace("[monitor]\n", &format!("[monitor]\n{line}\n"));
            Layout::parse(&text, "hot.toml")
        };
        assert_eq!(plain.monitor.subdir_walk_every().as_secs(), 3600);
        assert_eq!(plain.monitor.subdir_walk_budget(), 100_000);
        let l = with("subdir_walk_every = \"6h\"\nsubdir_walk_budget = 5000").unwrap();
        assert_eq!(l.monitor.subdir_walk_every().as_secs(), 6 * 3600);
        assert_eq!(l.monitor.subdir_walk_budget(), 5000);
        assert_ne!(l.digest(), plain.digest());
        for (bad, field) in [
            ("subdir_walk_every = \"1min\"", "monitor.subdir_walk_every"),
            ("subdir_walk_every = \"60d\"", "monitor.subdir_walk_every"),
            ("subdir_walk_budget = 999", "monitor.subdir_walk_budget"),
            ("subdir_walk_budget = -1", "monitor.subdir_walk_budget"),
        ] {
            let errs = with(bad).unwrap_err();
            assert_eq!(errs.0[0].field, field, "{errs}");
        }
    }

    #[test]
    fn top_is_checked_and_keeps_the_digest_when_unset() {
        let plain = Layout::builtin();
        let with = |n: i64| {
            let text =
                DEFAULT_LAYOUT_TOML.replace("[monitor]\n", &format!("[monitor]\ntop = {n}\n"));
            Layout::parse(&text, "hot.toml")
        };
        assert_eq!(plain.monitor.top(), 5);
        let l = with(0).unwrap();
        assert_eq!(l.monitor.top(), 0);
        assert_ne!(l.digest(), plain.digest());
        for bad in [-1, 101] {
            let errs = with(bad).unwrap_err();
            assert_eq!(errs.0[0].field, "monitor.top", "{errs}");
        }
    }

    #[test]
    fn monitor_role_is_checked_and_keeps_the_digest_when_unset() {
        let with = |role: &str| {
            let text = DEFAULT_LAYOUT_TOML.replace("[monitor]\n", &format!("[monitor]\n{role}"));
            Layout::parse(&text, "hot.toml")
        };
        let plain = with("").unwrap();
        assert_eq!(plain.digest(), Layout::builtin().digest());
        assert_eq!(plain.monitor.role, None);
        let l = with("role = \"matching-engine.eu_1\"\n").unwrap();
        assert_eq!(l.monitor.role.as_deref(), Some("matching-engine.eu_1"));
        assert_ne!(l.digest(), plain.digest());
        for bad in ["", "a b", "x\\\"y", &"r".repeat(64)] {
            let errs = with(&format!("role = \"{bad}\"\n")).unwrap_err();
            assert_eq!(errs.0[0].field, "monitor.role", "{errs}");
            assert!(errs.0[0].message.contains("is not a role"), "{errs}");
        }
    }
}
