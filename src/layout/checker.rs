//! The one place a layout is checked: from the raw layout (every value with
//! its position) to the typed `Layout`, applying each rule and collecting
//! every error, each naming file, line, column and field.

use std::path::PathBuf;

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

use super::error::Locator;
use super::*;

/// Checks `raw` (read with `errors` already found) into a layout; every
/// error sorted by position, once.
pub(super) fn check(
    loc: Locator<'_>,
    raw: RawLayout,
    errors: Vec<LayoutError>,
    file: &str,
) -> Result<Layout, LayoutErrors> {
    let mut checker = Checker { loc, errors };
    let layout = checker.layout(raw, file);
    match layout {
        Some(layout) if checker.errors.is_empty() => Ok(layout),
        _ => {
            let mut errors = checker.errors;
            errors.sort_by_key(|e| (e.line, e.column));
            errors.dedup();
            Err(LayoutErrors(errors))
        }
    }
}

pub(super) const CLEAN_AFTER_ONLY_ON_SUBDIRS: &str =
    "clean_after is allowed only on a subdirectory \
(a table in `dirs`), never on the base or a service directory, which hold data";

/// Walks a `RawLayout`, applying every rule and collecting every error.
pub(super) struct Checker<'a> {
    loc: Locator<'a>,
    errors: Vec<LayoutError>,
}

pub(super) type Span = Option<std::ops::Range<usize>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLayout {
    pub tier: Spanned<RawTier>,
    #[serde(default)]
    pub thresholds: Option<Spanned<RawThresholds>>,
    #[serde(default)]
    pub monitor: Option<Spanned<RawMonitor>>,
    pub services: Spanned<IndexMap<Spanned<String>, Spanned<RawService>>>,
}

impl Checker<'_> {
    pub(super) fn fail(&mut self, span: Span, field: &str, message: impl Into<String>) {
        let e = self.loc.at(span, field, message);
        self.errors.push(e);
    }

    /// Applies `rule` to a spanned string, recording an error against `field`.
    pub(super) fn check<T>(
        &mut self,
        value: &toml::Spanned<String>,
        field: &str,
        rule: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        match rule(value.get_ref()) {
            Ok(v) => Some(v),
            Err(m) => {
                self.fail(Some(value.span()), field, m);
                None
            }
        }
    }

    pub(super) fn check_or<T>(
        &mut self,
        value: Option<&toml::Spanned<String>>,
        default: &str,
        field: &str,
        rule: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        match value {
            Some(v) => self.check(v, field, rule),
            None => Some(rule(default).expect("defaults obey the rules")),
        }
    }

    pub(super) fn percent(
        &mut self,
        v: Option<&toml::Spanned<i64>>,
        default: u8,
        field: &str,
    ) -> u8 {
        let Some(v) = v else { return default };
        rules::percent(*v.get_ref()).unwrap_or_else(|m| {
            self.fail(Some(v.span()), field, m);
            default
        })
    }

    fn layout(&mut self, raw: RawLayout, file: &str) -> Option<Layout> {
        let tier = self.tier(raw.tier);
        let base = tier.as_ref().map(|t| t.base.clone());
        let thresholds = self.thresholds(raw.thresholds);
        let monitor = self.monitor(raw.monitor, base.as_deref());
        let mut services = Vec::new();
        let services_span = raw.services.span();
        let raw_services = raw.services.into_inner();
        if raw_services.is_empty() {
            self.fail(
                Some(services_span),
                "services",
                "the layout has no services",
            );
        }
        let base_owner = tier.as_ref().map(|t| t.ownership.owner.clone());
        // Project IDs matter only where quotas are on: with them off, a hash
        // collision between two derived IDs must not refuse a layout.
        let quotas_on = tier.as_ref().is_some_and(|t| !t.quota.is_off());
        let mut project_ids: Vec<(u32, String)> = Vec::new();
        for (name, service) in raw_services {
            let span = service.span();
            let service = self.service(name, service, base.as_deref(), base_owner.as_ref());
            if let Some(s) = service.as_ref().filter(|_| quotas_on) {
                let id = s.quota.project_id;
                if let Some((_, other)) = project_ids.iter().find(|(i, _)| *i == id) {
                    let message = format!(
                        "project ID {id} is also {other}'s: each service needs its own \
                         (set project_id on one of them)"
                    );
                    self.fail(
                        Some(span),
                        &format!("services.{}.project_id", s.name),
                        message,
                    );
                }
                project_ids.push((id, s.name.to_string()));
            }
            services.push(service);
        }
        let mut layout = Layout {
            source: Source::File(PathBuf::from(file)),
            tier: tier?,
            thresholds,
            monitor: monitor?,
            services: services.into_iter().collect::<Option<Vec<_>>>()?,
        };
        let in_effect = !layout.tier.quota.is_off();
        for s in &mut layout.services {
            s.quota.in_effect = in_effect;
        }
        Some(layout)
    }

    pub(super) fn rule_at<T>(
        &mut self,
        span: Span,
        field: &str,
        result: Result<T, String>,
    ) -> Option<T> {
        result.map_err(|m| self.fail(span, field, m)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use std::path::PathBuf;

    #[test]
    fn quota_tree_keys_are_checked_and_keep_the_digest_when_unset() {
        let plain = Layout::builtin();
        let docker = "dirs = [\"volumes\", \"containers\", \"tmp\"]\n";
        let with = |foreign: &str, every: &str| {
            let text = DEFAULT_LAYOUT_TOML
                .replace(docker, &format!("{docker}quota_foreign = [{foreign}]\n"))
                .replace("[monitor]\n", &format!("[monitor]\n{every}"));
            Layout::parse(&text, "hot.toml")
        };
        let l = with(
            "\"overlay2\", \"volumes/db\"",
            "quota_tree_every = \"6h\"\n",
        )
        .unwrap();
        let d = l.service("docker").unwrap();
        assert_eq!(
            d.quota_foreign,
            [PathBuf::from("overlay2"), PathBuf::from("volumes/db")]
        );
        assert_eq!(l.monitor.quota_tree_every().as_secs(), 6 * 3600);
        assert_ne!(l.digest(), plain.digest());
        assert_eq!(plain.monitor.quota_tree_every().as_secs(), 86_400);
        assert!(plain.services.iter().all(|s| s.quota_foreign.is_empty()));
        for (foreign, every, field, says) in [
            (
                "\"volumes\"",
                "",
                "services.docker.quota_foreign[0]",
                "planned subdirectory",
            ),
            (
                "\"/var/lib/docker\"",
                "",
                "services.docker.quota_foreign[0]",
                "absolute",
            ),
            (
                "\"a/../b\"",
                "",
                "services.docker.quota_foreign[0]",
                "\"..\"",
            ),
            (
                "\"a\", \"a\"",
                "",
                "services.docker.quota_foreign[1]",
                "twice",
            ),
            (
                "",
                "quota_tree_every = \"15min\"\n",
                "monitor.quota_tree_every",
                "less than an hour",
            ),
        ] {
            let errs = with(foreign, every).unwrap_err();
            let e = &errs.0[0];
            assert_eq!(e.field, field, "{errs}");
            assert!(e.message.contains(says), "{errs}");
        }
    }

    /// jts-hot's own account owns nothing of the tier: the base, a service
    /// directory or a subdirectory, as owner or as group, each refused with
    /// its line, column and field.
    #[test]
    fn jts_hots_own_account_is_refused_as_any_owner_or_group() {
        let kafka = "owner = \"kafka\"\ngroup = \"kafka\"\n";
        let tier_group = "owner = \"root\"\ngroup = \"root\"\nmode = \"0755\"\n";
        let dirs = "dirs = [\"data\", \"logs\"]\nquota_hard";
        for (from, to, field, line_is) in [
            (
                kafka,
                "owner = \"jts-hot\"\ngroup = \"kafka\"\n",
                "services.kafka.owner",
                "owner = \"jts-hot\"",
            ),
            (
                kafka,
                "owner = \"kafka\"\ngroup = \"jts-hot\"\n",
                "services.kafka.group",
                "group = \"jts-hot\"",
            ),
            (
                tier_group,
                "owner = \"root\"\ngroup = \"jts-hot\"\nmode = \"0755\"\n",
                "tier.group",
                "group = \"jts-hot\"",
            ),
            (
                dirs,
                "dirs = [\"data\", { name = \"logs\", owner = \"jts-hot\" }]\nquota_hard",
                "services.kafka.dirs[1].owner",
                "dirs = [\"data\", { name = \"logs\", owner = \"jts-hot\" }]",
            ),
        ] {
            assert!(DEFAULT_LAYOUT_TOML.contains(from), "{from}");
            let text = DEFAULT_LAYOUT_TOML.replacen(from, to, 1);
            let errs = Layout::parse(&text, "hot.toml").unwrap_err();
            assert_eq!(errs.0.len(), 1, "{errs}");
            let e = &errs.0[0];
            assert_eq!(e.field, field, "{errs}");
            let line = text.lines().position(|l| l == line_is).unwrap() + 1;
            assert_eq!((e.file.as_str(), e.line), ("hot.toml", line), "{errs}");
            assert!(e.message.contains("jts-hot's own account"), "{e}");
        }
    }

    #[test]
    fn errors_name_file_line_column_and_field() {
        let text = DEFAULT_LAYOUT_TOML.replace(
            "mode = \"0750\"\nplanned = \"600GB\"",
            "mode = \"0777\"\nplanned = \"600GB\"",
        );
        let errs = Layout::parse(&text, "hot.toml").unwrap_err();
        assert_eq!(errs.0.len(), 1);
        let e = &errs.0[0];
        assert_eq!(e.field, "services.kafka.mode");
        let line = text.lines().position(|l| l == "mode = \"0777\"").unwrap() + 1;
        assert_eq!((e.file.as_str(), e.line, e.column), ("hot.toml", line, 8));
        assert!(e.message.contains("world-writable"), "{e}");
    }
}
