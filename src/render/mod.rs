//! Layout → the files systemd acts on, rendered with Tera from templates/.
//! Every value reaches a template already escaped by `escape`, for the file
//! it lands in; the templates themselves hold only fixed text. Each template
//! has its own typed context (a struct: a misspelt field does not compile),
//! and each file its own function.

pub mod generated;
mod selinux;
pub use selinux::{selinux_equivalences, SelinuxEquivalence};
mod tmpfiles;
mod units;
pub use units::monitor_timeout;

use std::time::Duration;

use serde::Serialize;
use tera::{Context, Tera};

use crate::layout::Layout;
use generated::GeneratedFile;

const TEMPLATES: &[(&str, &str)] = &[
    (
        "tmpfiles.conf",
        include_str!("../../templates/tmpfiles.conf"),
    ),
    (
        "tier-tmpfiles.conf",
        include_str!("../../templates/tier-tmpfiles.conf"),
    ),
    (
        "jts-hot-setup.service",
        include_str!("../../templates/jts-hot-setup.service"),
    ),
    (
        "sysusers.conf",
        include_str!("../../templates/sysusers.conf"),
    ),
    (
        "hardening.txt",
        include_str!("../../templates/hardening.txt"),
    ),
    (
        "jts-hot-validate.service",
        include_str!("../../templates/jts-hot-validate.service"),
    ),
    (
        "jts-hot-monitor.service",
        include_str!("../../templates/jts-hot-monitor.service"),
    ),
    (
        "jts-hot-quota.service",
        include_str!("../../templates/jts-hot-quota.service"),
    ),
    (
        "jts-hot-quota-read.service",
        include_str!("../../templates/jts-hot-quota-read.service"),
    ),
    (
        "jts-hot-monitor.timer",
        include_str!("../../templates/jts-hot-monitor.timer"),
    ),
    ("gate.conf", include_str!("../../templates/gate.conf")),
    ("jts-hot.cil", include_str!("../../templates/jts-hot.cil")),
    (
        "file_contexts.subs",
        include_str!("../../templates/file_contexts.subs"),
    ),
];

/// A template's context: the struct names the template it fills.
trait Template: Serialize {
    const NAME: &'static str;

    /// The template filled with this context.
    fn render(&self) -> String {
        let ctx = Context::from_serialize(self)
            .unwrap_or_else(|e| panic!("context of {} serializes: {e:?}", Self::NAME));
        engine()
            .render(Self::NAME, &ctx)
            .unwrap_or_else(|e| panic!("template {} renders: {e:?}", Self::NAME))
    }
}

/// The templates, parsed once per process.
fn engine() -> &'static Tera {
    static ENGINE: std::sync::OnceLock<Tera> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut tera = Tera::default();
        tera.add_raw_templates(TEMPLATES.iter().copied())
            .expect("the built-in templates parse");
        // Nothing we write is HTML; escaping is `escape`'s job alone.
        tera.autoescape_on(vec![]);
        tera
    })
}

/// Renders every file for `layout`, in the order of `generated::paths`.
pub fn render(layout: &Layout) -> Vec<GeneratedFile> {
    let header = generated::header(layout);
    let mut files = vec![
        tmpfiles::public(layout, &header),
        tmpfiles::sysusers(layout, &header),
        tmpfiles::tier(layout, &header),
    ];
    files.extend(units::units(layout, &header));
    files.extend(units::gates(layout, &header));
    files.push(selinux::module(layout, &header));
    files.push(selinux::equivalences(layout, &header));
    for f in &mut files {
        f.contents = generated::seal(&f.contents);
    }
    files
}

/// Every directory a 'd' line of the rendered tmpfiles files names (the
/// tier's, its parents, the textfile directory): what apply compares with
/// the ones an installed file names.
pub fn tmpfiles_dirs(layout: &Layout) -> Vec<std::path::PathBuf> {
    tmpfiles::named_dirs(layout)
}

/// A duration as systemd writes a time span, in its largest whole unit.
pub fn systemd_timespan(d: Duration) -> String {
    let s = d.as_secs();
    for (unit, size) in [("d", 86400), ("h", 3600), ("min", 60)] {
        if s % size == 0 {
            return format!("{}{unit}", s / size);
        }
    }
    format!("{s}s")
}

#[cfg(test)]
mod tests {
    use super::*;
    use generated::{CIL_DIGEST_MARKER, DIGEST_MARKER};

    #[test]
    fn timespans() {
        assert_eq!(systemd_timespan(Duration::from_secs(90)), "90s");
        assert_eq!(systemd_timespan(Duration::from_secs(7 * 86400)), "7d");
    }

    #[test]
    fn generated_paths_are_where_render_puts_files() {
        let layout = Layout::builtin();
        let rendered: Vec<_> = render(&layout).into_iter().map(|f| f.path).collect();
        assert_eq!(generated::paths(&layout), rendered);
    }

    #[test]
    fn default_layout_files() {
        let files = render(&Layout::builtin());
        let names: Vec<_> = files
            .iter()
            .map(|f| f.path.to_str().unwrap().to_string())
            .collect();
        assert_eq!(names.len(), 9 + 8 + 2, "{names:?}");
        for unit in ["postgresql@.service", "postgresql.service", "redis.service"] {
            let dropin = format!("usr/lib/systemd/system/{unit}.d/jts-hot.conf");
            assert!(names.contains(&dropin), "{names:?}");
        }
        let sysusers = &files[1].contents;
        assert!(sysusers.contains("\ng docker -\n"), "{sysusers}");
        assert!(!sysusers.contains("u root"), "{sysusers}");
        for f in &files {
            let marker = if f.path.ends_with("jts-hot.cil") {
                CIL_DIGEST_MARKER
            } else {
                DIGEST_MARKER
            };
            assert!(f.contents.contains(marker), "{}", f.path.display());
        }
    }

    #[test]
    fn the_tmpfiles_dirs_are_the_d_lines_rendered() {
        let layout = Layout::builtin();
        let files = render(&layout);
        let mut from_text: Vec<_> = files[..3]
            .iter()
            .flat_map(|f| generated::tmpfiles_dirs(&f.contents))
            .collect();
        let mut typed = tmpfiles_dirs(&layout);
        from_text.sort();
        typed.sort();
        assert_eq!(from_text, typed);
    }
}
