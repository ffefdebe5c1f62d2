//! `[thresholds]`: the percentages and days at which a service or the
//! filesystem turns WARNING or CRITICAL. Raw form, typed form and check.

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::checker::Checker;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawThresholds {
    pub warn_percent: Option<Spanned<i64>>,
    pub crit_percent: Option<Spanned<i64>>,
    pub fs_free_warn_percent: Option<Spanned<i64>>,
    pub fs_free_crit_percent: Option<Spanned<i64>>,
    pub plan_reached_warn_days: Option<Spanned<i64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Thresholds {
    pub warn_percent: u8,
    pub crit_percent: u8,
    pub fs_free_warn_percent: u8,
    pub fs_free_crit_percent: u8,
    pub plan_reached_warn_days: u32,
}

impl Checker<'_> {
    pub(super) fn thresholds(&mut self, raw: Option<toml::Spanned<RawThresholds>>) -> Thresholds {
        let (span, raw) = match raw {
            Some(r) => (Some(r.span()), Some(r.into_inner())),
            None => (None, None),
        };
        let raw = raw.as_ref();
        let t = Thresholds {
            warn_percent: self.percent(
                raw.and_then(|r| r.warn_percent.as_ref()),
                80,
                "thresholds.warn_percent",
            ),
            crit_percent: self.percent(
                raw.and_then(|r| r.crit_percent.as_ref()),
                95,
                "thresholds.crit_percent",
            ),
            fs_free_warn_percent: self.percent(
                raw.and_then(|r| r.fs_free_warn_percent.as_ref()),
                15,
                "thresholds.fs_free_warn_percent",
            ),
            fs_free_crit_percent: self.percent(
                raw.and_then(|r| r.fs_free_crit_percent.as_ref()),
                5,
                "thresholds.fs_free_crit_percent",
            ),
            plan_reached_warn_days: match raw.and_then(|r| r.plan_reached_warn_days.as_ref()) {
                None => 14,
                Some(v) if (1..=3650).contains(v.get_ref()) => *v.get_ref() as u32,
                Some(v) => {
                    self.fail(
                        Some(v.span()),
                        "thresholds.plan_reached_warn_days",
                        format!("{} is not a number of days from 1 to 3650", v.get_ref()),
                    );
                    14
                }
            },
        };
        if t.warn_percent >= t.crit_percent {
            self.fail(
                span.clone(),
                "thresholds.warn_percent",
                format!(
                    "must be below crit_percent ({} is not below {})",
                    t.warn_percent, t.crit_percent
                ),
            );
        }
        if t.fs_free_crit_percent >= t.fs_free_warn_percent {
            self.fail(
                span,
                "thresholds.fs_free_crit_percent",
                format!(
                    "must be below fs_free_warn_percent ({} is not below {})",
                    t.fs_free_crit_percent, t.fs_free_warn_percent
                ),
            );
        }
        t
    }
}
