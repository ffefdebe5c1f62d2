//! Layout → the files systemd acts on, rendered with Tera from templates/.
//! Every value reaches a template already escaped by `escape`, for the file
//! it lands in; the templates themselves hold only fixed text.

/// Moved to `crate::escape` (escaping is not only for rendering: mountinfo and fstab
/// unescape too); re-exported until every user says `crate::escape`.
pub use crate::escape;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use tera::{Context, Tera};

use crate::layout::{Layout, QuotaMode, UserName};

/// One generated file: where it lies relative to / and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    pub path: PathBuf,
    pub contents: String,
}

pub const TMPFILES_PATH: &str = "usr/lib/tmpfiles.d/jts-hot.conf";
pub const SYSUSERS_PATH: &str = "usr/lib/sysusers.d/jts-hot.conf";
/// The tier's own directories, for `jts-hot setup` only: kept out of
/// tmpfiles.d so that early boot never creates them beneath an unmounted disk.
pub const TIER_TMPFILES_PATH: &str = "usr/lib/jts-hot/tmpfiles.conf";
pub const UNIT_DIR: &str = "usr/lib/systemd/system";
pub const SETUP_UNIT: &str = "jts-hot-setup.service";
pub const VALIDATE_UNIT: &str = "jts-hot-validate.service";
pub const QUOTA_UNIT: &str = "jts-hot-quota.service";
pub const MONITOR_UNIT: &str = "jts-hot-monitor.service";
pub const MONITOR_TIMER: &str = "jts-hot-monitor.timer";
/// The SELinux policy module, where distributions put the modules their
/// packages ship (Fedora's container-selinux: /usr/share/selinux/packages/).
/// `semodule -i` names the module after the file: "jts-hot".
pub const SELINUX_MODULE_PATH: &str = "usr/share/selinux/packages/jts-hot.cil";
/// The layout's SELinux equivalences (`selinux_equal`), one `DIR SOURCE` line
/// each, file_contexts.subs' own format: what the package scripts and `jts-hot
/// apply` add with `semanage fcontext -a -e SOURCE DIR` (no CIL statement can
/// say it). `jts-hot apply` writes the layout's as /etc/jts-hot/file_contexts.subs.
pub const SELINUX_EQUAL_PATH: &str = "usr/lib/jts-hot/file_contexts.subs";
/// The module's name in the policy store.
pub const SELINUX_MODULE_NAME: &str = "jts-hot";
/// The name of our drop-in inside each gated unit's `UNIT.d/`.
pub const DROPIN_NAME: &str = "jts-hot.conf";
/// The comment line that carries the layout's digest in every generated file.
pub const DIGEST_MARKER: &str = "# jts-hot-layout-digest: ";
/// The same line in the CIL module, whose comments start with ';'.
pub const CIL_DIGEST_MARKER: &str = "; jts-hot-layout-digest: ";

const TEMPLATES: &[(&str, &str)] = &[
    ("header.txt", include_str!("../../templates/header.txt")),
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

/// Renders every file for `layout`, in a fixed order.
pub fn render(layout: &Layout) -> Vec<GeneratedFile> {
    let tera = engine();
    let render = |name: &str, ctx: &Context| -> String {
        tera.render(name, ctx)
            .unwrap_or_else(|e| panic!("template {name} renders: {e:?}"))
    };
    let mut header_ctx = Context::new();
    header_ctx.insert("source", &escape::comment(&layout.source));
    header_ctx.insert("digest", &layout.digest());
    let header = render("header.txt", &header_ctx);
    let header = header.trim_end();

    let mut base = Context::new();
    base.insert("header", header);
    let unit_dir = Path::new(UNIT_DIR);
    let mut files = Vec::new();
    let mut add = |path: PathBuf, template: &str, ctx: &Context| {
        files.push(GeneratedFile {
            path,
            contents: render(template, ctx),
        });
    };

    let lines = tmpfiles_lines(layout);
    let scratch: Vec<&TmpfilesLine> = lines.iter().filter(|l| l.age != "-").collect();
    let mut ctx = base.clone();
    ctx.insert("scratch", &scratch);
    ctx.insert("tier_file", &format!("/{TIER_TMPFILES_PATH}"));
    ctx.insert(
        "textfile_dir",
        &escape::tmpfiles_path(&layout.monitor.textfile_dir),
    );
    add(TMPFILES_PATH.into(), "tmpfiles.conf", &ctx);

    let (users, groups) = sysusers_entries(layout);
    let mut ctx = base.clone();
    ctx.insert("users", &users);
    ctx.insert("groups", &groups);
    add(SYSUSERS_PATH.into(), "sysusers.conf", &ctx);

    let mut ctx = base.clone();
    ctx.insert("dirs", &lines);
    ctx.insert("public_file", &format!("/{TMPFILES_PATH}"));
    add(TIER_TMPFILES_PATH.into(), "tier-tmpfiles.conf", &ctx);

    // The mount units of the base and of each parent below /, outermost first.
    let mut ancestors: Vec<&Path> = layout
        .tier
        .base
        .ancestors()
        .filter(|p| *p != Path::new("/"))
        .collect();
    ancestors.reverse();
    let mount_units: Vec<String> = ancestors.into_iter().map(escape::mount_unit_name).collect();
    base.insert("mount_units", &mount_units.join(" "));
    add(unit_dir.join(SETUP_UNIT), "jts-hot-setup.service", &base);

    let mut hardening_ctx = Context::new();
    let hidden = |prefixes: &[&str]| {
        prefixes
            .iter()
            .any(|p| layout.tier.base.starts_with(p) || layout.monitor.textfile_dir.starts_with(p))
    };
    let protect_home = if hidden(&["/home", "/root", "/run/user"]) {
        "read-only"
    } else {
        "yes"
    };
    let private_tmp = if hidden(&["/tmp", "/var/tmp"]) {
        "no"
    } else {
        "yes"
    };
    hardening_ctx.insert("protect_home", protect_home);
    hardening_ctx.insert("private_tmp", private_tmp);
    // Reading project quotas takes CAP_SYS_ADMIN and quotactl (exposure 1.3,
    // "OK", instead of 0.9): granted only when the layout uses quotas.
    let quota = layout.tier.quota != QuotaMode::Off;
    hardening_ctx.insert("quota", &quota);
    hardening_ctx.insert(
        "capabilities",
        if quota {
            "CAP_DAC_READ_SEARCH CAP_SYS_ADMIN"
        } else {
            "CAP_DAC_READ_SEARCH"
        },
    );
    let hardening = render("hardening.txt", &hardening_ctx);
    hardening_ctx.insert("quota", &true);
    // Setting a directory's project needs its owner's rights (CAP_FOWNER).
    hardening_ctx.insert(
        "capabilities",
        "CAP_DAC_READ_SEARCH CAP_SYS_ADMIN CAP_FOWNER",
    );
    let quota_hardening = render("hardening.txt", &hardening_ctx);

    let mut ctx = base.clone();
    ctx.insert("base", &escape::unit_path_word("", &layout.tier.base));
    ctx.insert("hardening", hardening.trim_end());
    add(
        unit_dir.join(VALIDATE_UNIT),
        "jts-hot-validate.service",
        &ctx,
    );

    let mut quota_ctx = ctx.clone();
    quota_ctx.insert("hardening", quota_hardening.trim_end());
    add(
        unit_dir.join(QUOTA_UNIT),
        "jts-hot-quota.service",
        &quota_ctx,
    );

    let textfile_dir = &layout.monitor.textfile_dir;
    ctx.insert("textfile_dir_arg", &escape::exec_arg(textfile_dir));
    // '-': a missing directory must not keep the sandbox from being set up.
    ctx.insert(
        "textfile_dir_rw",
        &escape::unit_path_word("-", textfile_dir),
    );
    add(unit_dir.join(MONITOR_UNIT), "jts-hot-monitor.service", &ctx);

    let every = layout.monitor.every;
    let mut ctx = base.clone();
    ctx.insert("every", &systemd_timespan(every));
    ctx.insert("on_calendar", &on_calendar(every));
    ctx.insert(
        "randomized_delay",
        &systemd_timespan(randomized_delay(every)),
    );
    add(unit_dir.join(MONITOR_TIMER), "jts-hot-monitor.timer", &ctx);

    for (unit, services) in layout.gated_units() {
        let mut ctx = base.clone();
        let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
        let dirs: Vec<String> = services
            .iter()
            .map(|s| escape::unit_path_word("", &s.path(layout)))
            .collect();
        let args: String = names
            .iter()
            .map(|n| format!(" {}", escape::exec_option("service", n)))
            .collect();
        ctx.insert("services_text", &escape::comment(&names.join(", ")));
        ctx.insert("service_dirs", &dirs.join(" "));
        ctx.insert("service_args", &args);
        add(
            unit_dir.join(format!("{unit}.d")).join(DROPIN_NAME),
            "gate.conf",
            &ctx,
        );
    }

    // CIL comments start with ';': the same header, the same digest line.
    let cil_header: Vec<String> = header.lines().map(escape::cil_comment_line).collect();
    let mut ctx = Context::new();
    ctx.insert("header", &cil_header.join("\n"));
    ctx.insert("contexts", &selinux_contexts(layout));
    add(SELINUX_MODULE_PATH.into(), "jts-hot.cil", &ctx);

    let mut ctx = base.clone();
    ctx.insert("equivalences", &selinux_equivalences(layout));
    add(SELINUX_EQUAL_PATH.into(), "file_contexts.subs", &ctx);
    files
}

/// A `selinux_equal` of the layout: the service's directory, and the path
/// whose labels it copies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SelinuxEquivalence {
    pub dir: String,
    pub source: String,
}

/// Each service's `selinux_equal`, in the layout's order, escaped for
/// file_contexts.subs.
pub fn selinux_equivalences(layout: &Layout) -> Vec<SelinuxEquivalence> {
    layout
        .services
        .iter()
        .filter_map(|s| {
            Some(SelinuxEquivalence {
                source: escape::subs_field(s.selinux_equal.as_ref()?),
                dir: escape::subs_field(&s.path(layout)),
            })
        })
        .collect()
}

#[derive(Serialize)]
struct SelinuxContext {
    index: usize,
    service: String,
    regex: String,
    selinux_type: String,
}

/// One file context per labelled service: its directory and everything under
/// it, as the distributions' policies label /var/lib/postgresql(/.*)?.
fn selinux_contexts(layout: &Layout) -> Vec<SelinuxContext> {
    layout
        .services
        .iter()
        .filter_map(|s| Some((s, s.selinux_type.as_ref()?)))
        .enumerate()
        .map(|(i, (s, t))| SelinuxContext {
            index: i + 1,
            service: escape::comment(s.name.as_str()),
            regex: escape::cil_string(&format!(
                "{}(/.*)?",
                escape::file_contexts_regex(&s.path(layout))
            )),
            selinux_type: t.to_string(),
        })
        .collect()
}

/// Where `render` puts its files, without rendering them (validate's
/// staleness check runs at boot and has no use for the contents).
/// A test keeps it in step with `render`.
pub fn generated_paths(layout: &Layout) -> Vec<PathBuf> {
    let unit_dir = Path::new(UNIT_DIR);
    let mut paths = vec![
        PathBuf::from(TMPFILES_PATH),
        PathBuf::from(SYSUSERS_PATH),
        PathBuf::from(TIER_TMPFILES_PATH),
        unit_dir.join(SETUP_UNIT),
        unit_dir.join(VALIDATE_UNIT),
        unit_dir.join(QUOTA_UNIT),
        unit_dir.join(MONITOR_UNIT),
        unit_dir.join(MONITOR_TIMER),
    ];
    for (unit, _) in layout.gated_units() {
        paths.push(unit_dir.join(format!("{unit}.d")).join(DROPIN_NAME));
    }
    paths.push(PathBuf::from(SELINUX_MODULE_PATH));
    paths.push(PathBuf::from(SELINUX_EQUAL_PATH));
    paths
}

#[derive(Serialize)]
struct TmpfilesLine {
    path: String,
    mode: String,
    owner: String,
    group: String,
    age: String,
}

/// The tier's parents, then every planned directory. A parent is not the
/// tier's: `- - -` creates it (root, 0755) when missing but never changes an
/// existing one, which explicit values would do at every boot (a base under
/// /tmp would strip its sticky bit, one under /home/alice would hand her home to root).
fn tmpfiles_lines(layout: &Layout) -> Vec<TmpfilesLine> {
    let mut lines: Vec<TmpfilesLine> = layout
        .tier
        .base
        .ancestors()
        .skip(1)
        .filter(|p| *p != Path::new("/"))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .map(|p| TmpfilesLine {
            path: escape::tmpfiles_path(p),
            mode: "-".into(),
            owner: "-".into(),
            group: "-".into(),
            age: "-".into(),
        })
        .collect();
    for d in layout.planned_dirs() {
        lines.push(TmpfilesLine {
            path: escape::tmpfiles_path(&d.path),
            mode: d.ownership.mode.to_string(),
            owner: d.ownership.owner.to_string(),
            group: d.ownership.group.to_string(),
            age: d.clean_after.map_or("-".into(), systemd_timespan),
        });
    }
    lines
}

#[derive(Serialize)]
struct SysUser {
    name: String,
    gecos: String,
    home: String,
}

/// A `u` line for each owner other than root (home: the first directory it
/// owns), a `g` line for each group that is not some user's own group.
fn sysusers_entries(layout: &Layout) -> (Vec<SysUser>, Vec<String>) {
    let root = |n: &UserName| n.as_str() == "root";
    let mut users: Vec<SysUser> = Vec::new();
    let mut user_names: Vec<&UserName> = Vec::new();
    for d in layout.planned_dirs() {
        let owner = &d.ownership.owner;
        if root(owner) || user_names.contains(&owner) {
            continue;
        }
        user_names.push(owner);
        let what = d
            .service
            .map_or("tier".to_string(), |s| format!("{} service", s.name));
        users.push(SysUser {
            name: owner.to_string(),
            gecos: escape::sysusers_field(&format!("JTS hot tier {what}")),
            home: escape::sysusers_field(d.path.to_str().expect("ASCII path")),
        });
    }
    let mut groups: Vec<String> = Vec::new();
    for d in layout.planned_dirs() {
        let group = &d.ownership.group;
        if root(group) || user_names.contains(&group) || groups.iter().any(|g| g == group.as_str())
        {
            continue;
        }
        groups.push(group.to_string());
    }
    (users, groups)
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

/// The calendar event for an interval the layout rules allow (minutes that
/// divide an hour, hours that divide a day, or a day).
pub fn on_calendar(every: Duration) -> String {
    let s = every.as_secs();
    if s >= 86400 {
        "*-*-* 00:00:00".into()
    } else if s >= 3600 {
        format!("*-*-* 00/{}:00:00", s / 3600)
    } else {
        format!("*-*-* *:00/{}:00", s / 60)
    }
}

/// A tenth of the interval, at most five minutes: spreads a fleet's runs.
fn randomized_delay(every: Duration) -> Duration {
    (every / 10)
        .min(Duration::from_secs(300))
        .max(Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_expressions() {
        assert_eq!(on_calendar(Duration::from_secs(900)), "*-*-* *:00/15:00");
        assert_eq!(
            on_calendar(Duration::from_secs(6 * 3600)),
            "*-*-* 00/6:00:00"
        );
        assert_eq!(on_calendar(Duration::from_secs(86400)), "*-*-* 00:00:00");
        assert_eq!(systemd_timespan(Duration::from_secs(90)), "90s");
        assert_eq!(systemd_timespan(Duration::from_secs(7 * 86400)), "7d");
    }

    #[test]
    fn generated_paths_are_where_render_puts_files() {
        let layout = Layout::builtin();
        let rendered: Vec<_> = render(&layout).into_iter().map(|f| f.path).collect();
        assert_eq!(generated_paths(&layout), rendered);
    }

    #[test]
    fn default_layout_files() {
        let files = render(&Layout::builtin());
        let names: Vec<_> = files
            .iter()
            .map(|f| f.path.to_str().unwrap().to_string())
            .collect();
        assert_eq!(names.len(), 8 + 6 + 2, "{names:?}");
        assert!(
            names.contains(&"usr/lib/systemd/system/postgresql.service.d/jts-hot.conf".to_string())
        );
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
}
