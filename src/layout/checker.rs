//! The one place a layout is checked: from the raw layout (every value with
//! its position) to the typed `Layout`, applying each rule and collecting
//! every error, each naming file, line, column and field.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::default::DEFAULT_TEXTFILE_DIR;
use super::error::Locator;
use super::raw::{self, RawDir};
use super::*;

/// Checks `raw` (read with `errors` already found) into a layout; every
/// error sorted by position, once.
pub(super) fn check(
    loc: Locator<'_>,
    raw: raw::RawLayout,
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

const CLEAN_AFTER_ONLY_ON_SUBDIRS: &str = "clean_after is allowed only on a subdirectory \
(a table in `dirs`), never on the base or a service directory, which hold data";

/// Walks a `RawLayout`, applying every rule and collecting every error.
struct Checker<'a> {
    loc: Locator<'a>,
    errors: Vec<LayoutError>,
}

type Span = Option<std::ops::Range<usize>>;

impl Checker<'_> {
    fn fail(&mut self, span: Span, field: &str, message: impl Into<String>) {
        let e = self.loc.at(span, field, message);
        self.errors.push(e);
    }

    /// Applies `rule` to a spanned string, recording an error against `field`.
    fn check<T>(
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

    fn check_or<T>(
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

    fn percent(&mut self, v: Option<&toml::Spanned<i64>>, default: u8, field: &str) -> u8 {
        let Some(v) = v else { return default };
        rules::percent(*v.get_ref()).unwrap_or_else(|m| {
            self.fail(Some(v.span()), field, m);
            default
        })
    }

    fn layout(&mut self, raw: raw::RawLayout, file: &str) -> Option<Layout> {
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

    fn tier(&mut self, raw: toml::Spanned<raw::RawTier>) -> Option<Tier> {
        let raw = raw.into_inner();
        let base = self.check(&raw.base, "tier.base", rules::base_path);
        let owner = self.check_or(raw.owner.as_ref(), "root", "tier.owner", rules::user_name);
        let group = self.check_or(raw.group.as_ref(), "root", "tier.group", rules::user_name);
        let mode = self.check_or(raw.mode.as_ref(), "0755", "tier.mode", rules::mode);
        let capacity = self.check(&raw.capacity, "tier.capacity", rules::size);
        let mount_options = self.words(raw.mount_options, &["noatime"], "tier.mount_options");
        let filesystems = self.words(raw.filesystems, &[], "tier.filesystems");
        let quota = self.check_or(raw.quota.as_ref(), "off", "tier.quota", rules::quota_mode);
        let filesystem_uuid = raw
            .filesystem_uuid
            .as_ref()
            .map(|u| self.check(u, "tier.filesystem_uuid", rules::filesystem_uuid));
        if let Some(c) = &raw.clean_after {
            self.fail(
                Some(c.span()),
                "tier.clean_after",
                CLEAN_AFTER_ONLY_ON_SUBDIRS,
            );
        }
        Some(Tier {
            base: base?,
            ownership: Ownership {
                owner: owner?,
                group: group?,
                mode: mode?,
            },
            capacity: capacity?,
            require_mountpoint: self.require_mountpoint(raw.require_mountpoint.as_ref())?,
            mount_options: mount_options?,
            filesystems: filesystems?,
            filesystem_uuid: match filesystem_uuid {
                Some(u) => Some(u?),
                None => None,
            },
            quota: quota?,
        })
    }

    fn require_mountpoint(
        &mut self,
        raw: Option<&toml::Spanned<toml::Value>>,
    ) -> Option<RequireMountpoint> {
        let Some(raw) = raw else {
            return Some(RequireMountpoint::Auto);
        };
        match raw.get_ref() {
            toml::Value::Boolean(true) => Some(RequireMountpoint::Always),
            toml::Value::Boolean(false) => Some(RequireMountpoint::Never),
            toml::Value::String(s) if s == "auto" => Some(RequireMountpoint::Auto),
            _ => {
                self.fail(
                    Some(raw.span()),
                    "tier.require_mountpoint",
                    "expected true, false or \"auto\"",
                );
                None
            }
        }
    }

    fn words(
        &mut self,
        raw: Option<Vec<toml::Spanned<String>>>,
        default: &[&str],
        field: &str,
    ) -> Option<Vec<String>> {
        let Some(raw) = raw else {
            return Some(default.iter().map(|s| s.to_string()).collect());
        };
        let words: Vec<_> = raw
            .iter()
            .enumerate()
            .map(|(i, w)| self.check(w, &format!("{field}[{i}]"), rules::mount_word))
            .collect();
        words.into_iter().collect()
    }

    fn thresholds(&mut self, raw: Option<toml::Spanned<raw::RawThresholds>>) -> Thresholds {
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

    fn monitor(
        &mut self,
        raw: Option<toml::Spanned<raw::RawMonitor>>,
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
        Some(Monitor {
            every: every?,
            textfile_dir: textfile_dir?,
            quota_tree_every,
            forecast_window,
            top,
            role,
        })
    }

    fn service(
        &mut self,
        name: toml::Spanned<String>,
        raw: toml::Spanned<raw::RawService>,
        base: Option<&Path>,
        base_owner: Option<&UserName>,
    ) -> Option<Service> {
        let field = format!("services.{}", name.get_ref().escape_debug());
        let service_name = self.check(&name, &field, rules::name);
        // Each directory made below the base is judged where it really lands too.
        let service_dir = base
            .zip(service_name.as_ref())
            .map(|(b, n)| b.join(n.as_str()));
        if let Some(dir) = &service_dir {
            if let Err(m) = rules::not_os_owned(dir) {
                self.fail(Some(name.span()), &field, m);
            }
        }
        let raw = raw.into_inner();
        let owner = self.check(&raw.owner, &format!("{field}.owner"), rules::user_name);
        let group = match &raw.group {
            Some(g) => self.check(g, &format!("{field}.group"), rules::user_name),
            None => owner.clone(),
        };
        let mode = self.check_or(
            raw.mode.as_ref(),
            "0750",
            &format!("{field}.mode"),
            rules::mode,
        );
        let planned = self.check(&raw.planned, &format!("{field}.planned"), rules::size);
        let quota = self.service_quota(&raw, &field, name.get_ref(), planned);
        if let Some(c) = &raw.clean_after {
            self.fail(
                Some(c.span()),
                &format!("{field}.clean_after"),
                CLEAN_AFTER_ONLY_ON_SUBDIRS,
            );
        }
        let gate = self.service_gates(&raw, &field);
        let stop_timeout = match &raw.stop_timeout {
            Some(t) => {
                Some(self.check(t, &format!("{field}.stop_timeout"), rules::stop_timeout)?)
            }
            None => None,
        };
        let (selinux_type, selinux_equal) =
            self.service_selinux(&raw, &field, service_dir.as_deref())?;
        self.base_transition(&raw, &field, base_owner, owner.as_ref());
        let ownership = Ownership {
            owner: owner?,
            group: group?,
            mode: mode?,
        };
        let dirs = self.service_dirs(&raw, &field, &ownership, service_dir.as_deref());
        let quota_foreign = self.quota_foreign(&raw, &field, &dirs);
        Some(Service {
            name: service_name?,
            ownership,
            planned: planned?,
            gate,
            dirs,
            selinux_type,
            selinux_equal,
            stop_timeout,
            quota: quota?,
            quota_foreign,
        })
    }

    /// `quota_foreign`: relative paths below the service directory, none of
    /// them a planned subdirectory (those are jts-hot's to tag).
    fn quota_foreign(&mut self, raw: &raw::RawService, field: &str, dirs: &[Dir]) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for (i, v) in raw.quota_foreign.iter().flatten().enumerate() {
            let f = format!("{field}.quota_foreign[{i}]");
            if let Some(p) = self.check(v, &f, rules::relative_subtree) {
                let first = p.components().next().map(|c| c.as_os_str().to_os_string());
                if p.components().count() == 1
                    && dirs.iter().any(|d| Some(d.name.as_str().into()) == first)
                {
                    self.fail(
                        Some(v.span()),
                        &f,
                        format!(
                            "\"{}\" is a planned subdirectory: jts-hot tags it with the service's \
                             project; name a directory below it or beside it",
                            p.display()
                        ),
                    );
                } else if out.contains(&p) {
                    self.fail(
                        Some(v.span()),
                        &f,
                        format!("\"{}\" is listed twice", p.display()),
                    );
                } else {
                    out.push(p);
                }
            }
        }
        out
    }

    fn service_gates(&mut self, raw: &raw::RawService, field: &str) -> Vec<UnitName> {
        let mut gate = Vec::new();
        let mut seen_units = BTreeSet::new();
        for (i, unit) in raw.gate.iter().enumerate() {
            let f = format!("{field}.gate[{i}]");
            if let Some(u) = self.check(unit, &f, rules::gate_unit) {
                if !seen_units.insert(u.clone()) {
                    self.fail(Some(unit.span()), &f, format!("{u} is listed twice"));
                }
                gate.push(u);
            }
        }
        gate
    }

    /// The service's SELinux form: a type, an equivalence, or neither (None:
    /// refused, and the service is not checked further).
    fn service_selinux(
        &mut self,
        raw: &raw::RawService,
        field: &str,
        service_dir: Option<&Path>,
    ) -> Option<(Option<SelinuxType>, Option<PathBuf>)> {
        let selinux_type = match &raw.selinux_type {
            Some(t) => {
                Some(self.check(t, &format!("{field}.selinux_type"), rules::selinux_type)?)
            }
            None => None,
        };
        let selinux_equal = match &raw.selinux_equal {
            Some(e) if raw.selinux_type.is_some() => {
                self.fail(
                    Some(e.span()),
                    &format!("{field}.selinux_equal"),
                    "set selinux_type or selinux_equal, not both: one says the type, the other \
                     which path's labels to copy",
                );
                return None;
            }
            Some(e) => Some(self.check(e, &format!("{field}.selinux_equal"), |s| {
                rules::selinux_equal(s, service_dir)
            })?),
            None => None,
        };
        Some((selinux_type, selinux_equal))
    }

    fn base_transition(
        &mut self,
        raw: &raw::RawService,
        field: &str,
        base_owner: Option<&UserName>,
        owner: Option<&UserName>,
    ) {
        // systemd-tmpfiles refuses to go from a directory owned by a user
        // other than root into one owned by someone else ("unsafe path
        // transition", exit 73) when it has to go further down: it would
        // create none of the service's subdirectories.
        if let (Some(base_owner), Some(o)) = (base_owner, owner) {
            if base_owner.as_str() != "root" && base_owner != o && !raw.dirs.is_empty() {
                self.fail(
                    Some(raw.owner.span()),
                    &format!("{field}.owner"),
                    format!(
                        "the base is owned by {base_owner} (not root), so a service directory \
                         with subdirectories must be {base_owner}'s too: systemd-tmpfiles \
                         refuses the unsafe path transition from {base_owner} to {o} and \
                         would create none of the subdirectories"
                    ),
                );
            }
        }
    }

    fn service_dirs(
        &mut self,
        raw: &raw::RawService,
        field: &str,
        ownership: &Ownership,
        service_dir: Option<&Path>,
    ) -> Vec<Dir> {
        let mut dirs = Vec::new();
        let mut seen_dirs = BTreeSet::new();
        for (i, dir) in raw.dirs.iter().enumerate() {
            let f = format!("{field}.dirs[{i}]");
            if let Some(d) = self.dir(dir, &f, ownership) {
                // An 'e' line (clean_after) makes systemd-tmpfiles walk into
                // the directory itself: from a service directory owned by a
                // user other than root into one owned by someone else is the
                // "unsafe path transition" it refuses, so nothing is cleaned.
                let owner = &ownership.owner;
                if d.clean_after.is_some()
                    && owner.as_str() != "root"
                    && d.ownership.owner != *owner
                {
                    self.fail(
                        Some(dir.span()),
                        &format!("{f}.owner"),
                        format!(
                            "a directory with clean_after in {owner}'s service directory must be \
                             {owner}'s too (or the service root's): systemd-tmpfiles refuses the \
                             unsafe path transition from {owner} to {} and would never clean it",
                            d.ownership.owner
                        ),
                    );
                }
                if let Some(sd) = service_dir {
                    if let Err(m) = rules::not_os_owned(&sd.join(d.name.as_str())) {
                        self.fail(Some(dir.span()), &f, m);
                    }
                }
                if !seen_dirs.insert(d.name.clone()) {
                    self.fail(
                        Some(dir.span()),
                        &f,
                        format!("\"{}\" is listed twice", d.name),
                    );
                }
                dirs.push(d);
            }
        }
        dirs
    }

    fn service_quota(
        &mut self,
        raw: &raw::RawService,
        field: &str,
        name: &str,
        planned: Option<Bytes>,
    ) -> Option<ServiceQuota> {
        let project_id = match &raw.project_id {
            Some(id) => self.rule_at(
                Some(id.span()),
                &format!("{field}.project_id"),
                rules::project_id(*id.get_ref()),
            )?,
            None => rules::derived_project_id(name),
        };
        let planned = planned?;
        let mut limit = |value: Option<&toml::Spanned<String>>, default: &str, key: &str| {
            self.check_or(value, default, &format!("{field}.{key}"), |s| {
                rules::quota_limit(s, planned)
            })
        };
        let soft = limit(raw.quota_soft.as_ref(), "planned", "quota_soft")?;
        let hard = limit(raw.quota_hard.as_ref(), "none", "quota_hard")?;
        if let (Some(s), Some(h)) = (soft, hard) {
            if h < s {
                let span = raw.quota_hard.as_ref().map(|v| v.span());
                self.fail(
                    span,
                    &format!("{field}.quota_hard"),
                    format!(
                        "the hard limit ({} bytes) is below the soft limit ({} bytes)",
                        h.0, s.0
                    ),
                );
                return None;
            }
        }
        Some(ServiceQuota {
            in_effect: false,
            project_id,
            soft,
            hard,
        })
    }

    fn dir(&mut self, raw: &toml::Spanned<RawDir>, field: &str, parent: &Ownership) -> Option<Dir> {
        match raw.get_ref() {
            RawDir::Name(s) => {
                let name = self.rule_at(Some(raw.span()), field, rules::name(s))?;
                Some(Dir {
                    name,
                    ownership: parent.clone(),
                    clean_after: None,
                    may_tighten: false,
                })
            }
            RawDir::Table(t) => {
                let Some(name) = &t.name else {
                    self.fail(
                        Some(raw.span()),
                        &format!("{field}.name"),
                        "a directory table needs a name",
                    );
                    return None;
                };
                let name = self.check(name, &format!("{field}.name"), rules::name);
                let mut or = |v: &Option<toml::Spanned<String>>, key: &str, rule, inherited| match v
                {
                    Some(v) => self.check(v, &format!("{field}.{key}"), rule),
                    None => Some(inherited),
                };
                let owner = or(&t.owner, "owner", rules::user_name, parent.owner.clone());
                let group = or(&t.group, "group", rules::user_name, parent.group.clone());
                let mode = match &t.mode {
                    Some(m) => self.check(m, &format!("{field}.mode"), rules::mode),
                    None => Some(parent.mode),
                };
                let clean_after = match &t.clean_after {
                    Some(c) => {
                        Some(self.check(c, &format!("{field}.clean_after"), rules::clean_after)?)
                    }
                    None => None,
                };
                let may_tighten = t.may_tighten.as_ref().is_some_and(|m| *m.get_ref());
                Some(Dir {
                    name: name?,
                    ownership: Ownership {
                        owner: owner?,
                        group: group?,
                        mode: mode?,
                    },
                    clean_after,
                    may_tighten,
                })
            }
        }
    }

    fn rule_at<T>(&mut self, span: Span, field: &str, result: Result<T, String>) -> Option<T> {
        result.map_err(|m| self.fail(span, field, m)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use std::path::PathBuf;

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
