//! Every rule about a single value of a layout: what a name, a user, a unit,
//! a mode, a path, a size or a duration may be. Each returns the typed value or
//! a message saying what is wrong. The grammars are those of the files the
//! values end up in (tmpfiles.d, sysusers.d, unit files), kept strict so that
//! nothing from a layout can add a line, a directive or a specifier there.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Bytes, Mode, Name, QuotaMode, SelinuxType, UnitName, UserName};

/// Trees that belong to the operating system, its package managers, users'
/// homes or a runtime tmpfs: the layout may make no directory in them (nor
/// be one of them), each for the reason given. Checked after `ALIASES`.
pub const OS_TREES: &[(&str, &str)] = &[
    ("/boot", "the boot loader's"),
    ("/efi", "the boot loader's"),
    ("/dev", "the kernel's device filesystem"),
    ("/proc", "the kernel's process filesystem"),
    ("/sys", "the kernel's sysfs"),
    (
        "/run",
        "a tmpfs emptied at every boot, owned by systemd and daemons",
    ),
    (
        "/tmp",
        "the shared world-writable temporary directory, cleaned by systemd-tmpfiles",
    ),
    (
        "/var/tmp",
        "the shared world-writable temporary directory, cleaned by systemd-tmpfiles",
    ),
    ("/etc", "the system's configuration"),
    (
        "/usr",
        "the operating system's files, read-only to every hardened unit",
    ),
    ("/home", "users' homes"),
    ("/var/home", "users' homes"),
    ("/root", "root's home"),
    ("/var/roothome", "root's home"),
    ("/lost+found", "fsck's"),
    ("/media", "removable media, mounted there by the desktop"),
    ("/var/log", "the system's logs"),
    (
        "/var/cache",
        "caches, which their owners may delete at any time",
    ),
    ("/var/spool", "the system's queues (mail, cron, print)"),
    ("/var/mail", "users' mail"),
    ("/var/lib/dpkg", "dpkg's package database"),
    ("/var/lib/apt", "apt's state"),
    ("/var/lib/rpm", "rpm's package database"),
    ("/var/lib/dnf", "dnf's state"),
    ("/var/lib/yum", "yum's state"),
    ("/var/lib/systemd", "systemd's state"),
    ("/var/lib/private", "systemd's DynamicUser= state"),
    ("/var/lib/machines", "systemd-machined's images"),
    ("/var/lib/portables", "systemd-portabled's images"),
    (
        "/var/lib/jts-hot",
        "jts-hot's own state (the monitor's StateDirectory=)",
    ),
];

/// Directories that hold other owners' trees: the layout may make
/// directories inside them, but never be one of them (re-owning or
/// re-moding `/var/lib` at every boot would break every service in it).
pub const OS_DIRS: &[&str] = &[
    "/",
    "/var",
    "/var/lib",
    "/var/opt",
    "/var/local",
    "/srv",
    "/opt",
    "/mnt",
    "/var/mnt",
    "/var/srv",
];

/// Symbolic links every standard (merged-/usr, systemd) system has: a path
/// through one of them is judged by where it really lands.
const ALIASES: &[(&str, &str)] = &[
    ("/bin", "/usr/bin"),
    ("/sbin", "/usr/sbin"),
    ("/lib", "/usr/lib"),
    ("/lib32", "/usr/lib32"),
    ("/lib64", "/usr/lib64"),
    ("/libx32", "/usr/libx32"),
    ("/var/run", "/run"),
    ("/var/lock", "/run/lock"),
    ("/usr/tmp", "/var/tmp"),
];

/// `path` with a leading standard alias replaced by its target, repeatedly.
fn resolve_aliases(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    // Each step shortens nothing but can only move into /usr or /run, so a
    // few rounds reach a fixed point; the bound keeps it obviously finite.
    for _ in 0..ALIASES.len() {
        let Some(next) = ALIASES.iter().find_map(|(from, to)| {
            p.strip_prefix(from)
                .ok()
                .map(|rest| Path::new(to).join(rest))
        }) else {
            break;
        };
        p = next;
    }
    p
}

/// Refuses a directory the layout would make (and tmpfiles would own and
/// repair at every boot) when it is, or is inside, a tree of the OS.
pub fn not_os_owned(path: &Path) -> Result<(), String> {
    let real = resolve_aliases(path);
    let via = if real != path {
        format!(" (that is {})", real.display())
    } else {
        String::new()
    };
    if let Some((tree, why)) = OS_TREES.iter().find(|(t, _)| real.starts_with(t)) {
        return Err(format!(
            "\"{}\"{via} is inside {tree}, which belongs to the operating system ({why})",
            path.display()
        ));
    }
    if let Some(dir) = OS_DIRS.iter().find(|d| real == Path::new(d)) {
        return Err(format!(
            "\"{}\"{via} is {dir} itself, which belongs to the operating system: \
             put the tier in a directory of its own below it",
            path.display()
        ));
    }
    Ok(())
}

/// A service or directory name: one path component.
pub fn name(s: &str) -> Result<Name, String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s == "." || s == ".." {
        return Err(format!("\"{s}\" is not a directory name"));
    }
    if s.len() > 64 {
        return Err("is longer than 64 characters".into());
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "{} is not allowed: use letters, digits, '.', '_' and '-' (one path component)",
            describe(c)
        ));
    }
    Ok(Name(s.to_string()))
}

/// A user or group name as systemd-sysusers accepts it in its strict mode.
pub fn user_name(s: &str) -> Result<UserName, String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.len() > 31 {
        return Err(
            "is longer than 31 characters (systemd's limit for user and group names)".into(),
        );
    }
    let first = s.chars().next().unwrap_or('_');
    if !(first.is_ascii_lowercase() || first == '_') {
        return Err(format!(
            "must start with a lowercase letter or '_', not {}",
            describe(first)
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-')))
    {
        return Err(format!(
            "{} is not allowed: use a-z, 0-9, '_' and '-'",
            describe(c)
        ));
    }
    Ok(UserName(s.to_string()))
}

/// jts-hot's own system account (sysusers.d): validate, the monitor and
/// the quota reader run as it.
pub const OWN_ACCOUNT: &str = "jts-hot";

/// An owner or group of the tier's directories: a `user_name`, and never
/// jts-hot's own account, which judges the tier: owning a directory, it could
/// rewrite what it judges (the monitor holds CAP_DAC_OVERRIDE besides), and
/// a service running as it could tamper with jts-hot's state and history.
pub fn account(s: &str) -> Result<UserName, String> {
    let name = user_name(s)?;
    if s == OWN_ACCOUNT {
        return Err(format!(
            "\"{s}\" is jts-hot's own account (validate and the monitor run as it): \
             the tier's directories cannot be its; use the service's own account"
        ));
    }
    Ok(name)
}

const UNIT_SUFFIXES: &[&str] = &[
    "service",
    "socket",
    "device",
    "mount",
    "automount",
    "swap",
    "target",
    "path",
    "timer",
    "slice",
    "scope",
];

/// A unit name per systemd.unit(5): prefix, optional `@instance`, a known suffix.
fn unit_name(s: &str) -> Result<UnitName, String> {
    if s.len() > 255 {
        return Err("is longer than 255 characters".into());
    }
    let Some((stem, suffix)) = s.rsplit_once('.') else {
        return Err(format!("\"{s}\" has no unit type suffix such as .service"));
    };
    if !UNIT_SUFFIXES.contains(&suffix) {
        return Err(format!(
            "\".{suffix}\" is not a unit type (expected e.g. .service)"
        ));
    }
    let (prefix, instance) = match stem.split_once('@') {
        Some((p, i)) => (p, Some(i)),
        None => (stem, None),
    };
    if prefix.is_empty() {
        return Err("has an empty name before the suffix".into());
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '.' | '-');
    for part in std::iter::once(prefix).chain(instance) {
        if let Some(c) = part.chars().find(|&c| !allowed(c)) {
            return Err(format!("{} is not allowed in a unit name", describe(c)));
        }
    }
    Ok(UnitName(s.to_string()))
}

/// An SELinux type as it lands in a CIL `filecon` context: a plain identifier
/// (letter first, then letters, digits and '_'). CIL would read '.' as a
/// namespace, parentheses or spaces as new statements, so all are refused.
pub fn selinux_type(s: &str) -> Result<SelinuxType, String> {
    if s.is_empty() {
        return Err("must not be empty (leave the key out to label nothing)".into());
    }
    if s.len() > 128 {
        return Err("is longer than 128 characters".into());
    }
    let first = s.chars().next().unwrap_or('_');
    if !first.is_ascii_alphabetic() {
        return Err(format!("must start with a letter, not {}", describe(first)));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        return Err(format!(
            "{} is not allowed in an SELinux type: use letters, digits and '_', e.g. \"postgresql_db_t\"",
            describe(c)
        ));
    }
    Ok(SelinuxType(s.to_string()))
}

/// The source of an SELinux equivalence (`semanage fcontext -a -e SOURCE
/// DIR`): the service directory and everything under it are labelled as
/// SOURCE and its subtree are. An absolute normalized path of letters,
/// digits, '.', '_', '-', '+' and '/': file_contexts.subs splits on
/// whitespace, semanage reads its arguments, and the scriptlets read the
/// generated list in the shell, so nothing else may reach any of them.
/// `service_dir` is what it is made equivalent to.
pub fn selinux_equal(s: &str, service_dir: Option<&Path>) -> Result<PathBuf, String> {
    let p = absolute_path(s)?;
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '/')))
    {
        return Err(format!(
            "{} is not allowed in an SELinux equivalence: use letters, digits, '.', '_', '-', \
             '+' and '/', e.g. \"/var/lib/docker\"",
            describe(c)
        ));
    }
    if s == "/" {
        return Err("cannot be / (every path of the system)".into());
    }
    if let Some(dir) = service_dir {
        if p.starts_with(dir) {
            return Err(format!(
                "\"{s}\" is the service directory {} or inside it: a directory cannot be \
                 labelled as itself",
                dir.display()
            ));
        }
        // file_contexts.subs and semanage separate paths with whitespace.
        if dir.to_str().is_some_and(|d| d.contains(' ')) {
            return Err(format!(
                "the service directory \"{}\" contains a space, which an SELinux equivalence \
                 cannot hold (file_contexts.subs is space-separated): use selinux_type",
                dir.display()
            ));
        }
    }
    Ok(p)
}

/// Name prefixes of services that run before jts-hot-validate.service can
/// (systemd's own early units, the initrd's, the boot splash, storage
/// assembly) or are jts-hot itself: a gate on one makes an ordering cycle.
const EARLY_SERVICE_PREFIXES: &[&str] = &[
    "systemd-",
    "jts-hot-",
    "initrd-",
    "dracut-",
    "plymouth-",
    "lvm2-",
    "zfs-",
    "cryptsetup-",
];

/// Services (or template families, before '@') that run before
/// jts-hot-validate.service, or that an administrator needs when the tier
/// is broken (rescue shells, consoles, the system bus): never gated.
const UNGATED_SERVICES: &[&str] = &[
    "kmod-static-nodes",
    "selinux-autorelabel",
    "selinux-autorelabel-mark",
    "apparmor",
    "auditd",
    "ldconfig",
    "keyboard-setup",
    "console-setup",
    "dm-event",
    "multipathd",
    "blk-availability",
    "udev",
    "emergency",
    "rescue",
    "debug-shell",
    "getty",
    "serial-getty",
    "console-getty",
    "container-getty",
    "autovt",
    "dbus",
    "dbus-broker",
];

/// A unit a service may gate: a `.service` outside the early boot. Any other
/// type (target, mount, socket, device, slice, swap, path, timer, automount,
/// scope) is part of the boot sequence jts-hot-validate.service itself waits
/// for, or not a daemon at all.
pub fn gate_unit(s: &str) -> Result<UnitName, String> {
    let unit = unit_name(s)?;
    let Some(stem) = s.strip_suffix(".service") else {
        return Err(format!(
            "\"{s}\" is not a .service unit: a gate re-checks the tier before each start \
             (ExecCondition=), which only a service has; and targets, mounts, sockets, \
             devices, slices, swaps, paths and timers are part of the boot that \
             jts-hot-validate.service itself runs after; gate the service it starts instead"
        ));
    };
    let family = stem.split_once('@').map_or(stem, |(f, _)| f);
    if let Some(p) = EARLY_SERVICE_PREFIXES.iter().find(|p| stem.starts_with(*p)) {
        return Err(format!(
            "\"{s}\" is an early-boot or jts-hot unit ({p}*): \
             jts-hot-validate.service runs after it, so gating it would make an ordering cycle"
        ));
    }
    if UNGATED_SERVICES.contains(&family) {
        return Err(format!(
            "\"{s}\" runs before jts-hot-validate.service or is needed to repair a broken \
             tier (a console, a rescue shell, the system bus): it is never gated"
        ));
    }
    Ok(unit)
}

/// The longest `clean_after` systemd reads: it parses a time span into a
/// 64-bit count of microseconds and refuses N units when N >= (2^64-1) / unit
/// (parse_time() in src/basic/time-util.c). A span in whole days, as jts-hot
/// writes it, may be at most 213503981d; below that every unit fits too.
const CLEAN_AFTER_MAX_SECS: u64 = 213_503_981 * 86_400;

/// A `clean_after` age: a duration systemd-tmpfiles accepts in the Age column.
pub fn clean_after(s: &str) -> Result<Duration, String> {
    let d = duration(s)?;
    if d.as_secs() > CLEAN_AFTER_MAX_SECS {
        return Err(format!(
            "\"{s}\" is longer than systemd-tmpfiles accepts (at most 213503981d, \
             about 584542 years); systemd-tmpfiles would refuse the whole line \
             and never create the directory"
        ));
    }
    Ok(d)
}

/// `stop_timeout`: a duration systemd accepts as TimeoutStopSec=, from one
/// second to a day (a stop is bounded: "infinity" is what it replaces).
pub fn stop_timeout(s: &str) -> Result<Duration, String> {
    let d = duration(s)?;
    if d.as_secs() == 0 || d.as_secs() > 86400 {
        return Err(format!(
            "\"{s}\" is not from 1s to 1d: a gated unit's stop is bounded (0 would \
             let a database that cannot save block a stop or a poweroff forever)"
        ));
    }
    Ok(d)
}

/// A permission mode: an octal string of at most four digits, never world-writable.
pub fn mode(s: &str) -> Result<Mode, String> {
    if s.is_empty() || s.len() > 4 || !s.chars().all(|c| ('0'..='7').contains(&c)) {
        return Err(format!(
            "\"{s}\" is not an octal mode of at most 4 digits, e.g. \"0750\""
        ));
    }
    let bits = u32::from_str_radix(s, 8).map_err(|e| e.to_string())?;
    if bits & 0o002 != 0 {
        return Err(format!(
            "{s} is world-writable: the tier's data is never writable by every user"
        ));
    }
    if bits & 0o4000 != 0 {
        return Err(format!(
            "{s} sets the setuid bit, which means nothing on a directory"
        ));
    }
    if bits & 0o100 == 0 {
        return Err(format!(
            "{s} lacks the owner's search bit (u+x): the owner could not enter it"
        ));
    }
    Ok(Mode(bits))
}

/// The units a size may carry, spelled exactly so: decimal (powers of 1000)
/// and binary (powers of 1024). No other spelling is read: "800G" could be
/// either, "800gb" or "800Mb" may mean bits.
const SIZE_UNITS: &[&str] = &[
    "B", "kB", "KB", "MB", "GB", "TB", "PB", "EB", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB",
];

/// A size such as "800GB", "1.5TB" or "1TiB": a number and one of
/// SIZE_UNITS, no space between (a bare number is bytes), never zero.
pub fn size(s: &str) -> Result<Bytes, String> {
    let digits = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(digits);
    let accepted = "write a number and one of B, kB, MB, GB, TB, PB (powers of 1000) or KiB, \
                    MiB, GiB, TiB, PiB (powers of 1024), e.g. \"800GB\" or \"1.5TiB\"";
    if s.trim() != s {
        return Err(format!(
            "\"{s}\" is not a size: no spaces around it; {accepted}"
        ));
    }
    if !number.is_empty() && !unit.is_empty() && !SIZE_UNITS.contains(&unit) {
        let bare = unit.trim_start();
        let exact = SIZE_UNITS.iter().find(|u| **u == bare);
        let folded = SIZE_UNITS.iter().find(|u| u.eq_ignore_ascii_case(bare));
        let message = match (exact, folded, bare.len()) {
            (Some(u), _, _) => format!("write it without the space, \"{number}{u}\""),
            (None, Some(u), _) => format!(
                "the unit is spelled \"{u}\" (\"{bare}\" may mean bits): write \"{number}{u}\""
            ),
            (None, None, 1) if "kmgtpe".contains(bare.to_ascii_lowercase().as_str()) => {
                let big = bare.to_ascii_uppercase();
                format!(
                    "\"{bare}\" is ambiguous: write \"{number}{big}B\" ({big}B, powers of 1000) \
                     or \"{number}{big}iB\" (powers of 1024)"
                )
            }
            _ => format!("\"{unit}\" is not a unit; {accepted}"),
        };
        return Err(format!("\"{s}\" is not a size: {message}"));
    }
    let bytes = parse_size::Config::new()
        .with_decimal()
        .parse_size(s)
        .map_err(|e| format!("\"{s}\" is not a size ({e}); {accepted}"))?;
    if bytes == 0 {
        return Err("must be larger than zero".into());
    }
    Ok(Bytes(bytes))
}

/// A duration such as "15min" or "7d", at least one second, in whole seconds.
pub fn duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim())
        .map_err(|e| format!("\"{s}\" is not a duration ({e}); write e.g. \"15min\" or \"7d\""))?;
    if d.as_secs() == 0 {
        return Err("must be at least one second".into());
    }
    if d.subsec_nanos() != 0 {
        return Err("must be whole seconds".into());
    }
    Ok(d)
}

/// How often the monitor runs: it must map onto a calendar event that systemd
/// can make Persistent (catch up after downtime), so whole minutes dividing an
/// hour, whole hours dividing a day, or one day.
pub fn monitor_interval(s: &str) -> Result<Duration, String> {
    let d = duration(s)?;
    let secs = d.as_secs();
    let ok = (secs % 60 == 0 && secs < 3600 && 3600 % secs == 0)
        || (secs % 3600 == 0 && secs < 86400 && 86400 % secs == 0)
        || secs == 86400;
    if !ok {
        return Err(format!(
            "\"{s}\" does not divide an hour or a day evenly; use e.g. \"5min\", \"15min\", \"1h\", \"6h\" or \"1d\""
        ));
    }
    Ok(d)
}

/// `monitor.quota_tree_every`: a duration of at least an hour (the walk
/// reads every inode of the tier: never on every monitor run by default).
pub fn tree_interval(s: &str) -> Result<Duration, String> {
    let d = duration(s)?;
    if d.as_secs() < 3600 {
        return Err(format!(
            "\"{s}\" is less than an hour: the tree walk reads every entry of every service; \
             use e.g. \"6h\" or \"1d\""
        ));
    }
    Ok(d)
}

/// `monitor.role`: a label value a person can type in a query: 1-63
/// letters, digits, '.', '_' or '-'.
pub fn role(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !ok {
        return Err(format!(
            "\"{}\" is not a role: 1-63 letters, digits, '.', '_' or '-', e.g. \"matching-engine\"",
            s.escape_debug()
        ));
    }
    Ok(s.to_string())
}

/// `monitor.forecast_window`: from an hour (the shortest span a growth
/// figure is given for) to 400 days (the history keeps daily samples that long).
pub fn forecast_window(s: &str) -> Result<Duration, String> {
    let d = duration(s)?;
    if d.as_secs() < 3600 || d.as_secs() > 400 * 86_400 {
        return Err(format!(
            "\"{s}\" is outside 1h..400d (the history keeps 400 days); use e.g. \"7d\" or \"30d\""
        ));
    }
    Ok(d)
}

/// A subtree below a service directory (`quota_foreign`): relative, one or
/// more directory names separated by '/', each a valid name.
pub fn relative_subtree(s: &str) -> Result<PathBuf, String> {
    if s.starts_with('/') {
        return Err(format!(
            "\"{s}\" is absolute: give the path below the service directory, e.g. \"overlay2\""
        ));
    }
    if s.len() > 255 {
        return Err("is longer than 255 characters".into());
    }
    let mut path = PathBuf::new();
    for part in s.split('/') {
        let n = name(part).map_err(|m| format!("\"{s}\": component \"{part}\" {m}"))?;
        path.push(n.as_str());
    }
    Ok(path)
}

/// Characters a path may hold: printable ASCII except quotes, backslash and '$'
/// (spaces and '%' are allowed and escaped per file by `crate::escape`).
fn path_chars(s: &str) -> Result<(), String> {
    match s
        .chars()
        .find(|&c| !(' '..='~').contains(&c) || matches!(c, '"' | '\'' | '\\' | '$'))
    {
        Some(c) => Err(format!("{} is not allowed in a path", describe(c))),
        None => Ok(()),
    }
}

/// An absolute, normalized path: no `.`, `..`, `//` or trailing `/`.
fn absolute_path(s: &str) -> Result<PathBuf, String> {
    path_chars(s)?;
    if !s.starts_with('/') {
        return Err(format!("\"{s}\" is not an absolute path"));
    }
    if s.len() > 1 && s.ends_with('/') {
        return Err(format!("\"{s}\" ends with '/'"));
    }
    if s.contains("//") {
        return Err(format!("\"{s}\" contains \"//\""));
    }
    if s[1..].split('/').any(|c| c == "." || c == "..") {
        return Err(format!(
            "\"{s}\" contains \".\" or \"..\"; write the normalized path"
        ));
    }
    if s.len() > 1024 {
        return Err("is longer than 1024 characters".into());
    }
    // NAME_MAX: systemd-tmpfiles cannot even name a longer component.
    if s.split('/').any(|c| c.len() > 255) {
        return Err("has a component longer than 255 bytes (NAME_MAX)".into());
    }
    Ok(PathBuf::from(s))
}

/// The tier's base: an absolute normalized path, not `/`, and not inside the OS.
pub fn base_path(s: &str) -> Result<PathBuf, String> {
    let p = absolute_path(s)?;
    if s == "/" {
        return Err("the tier cannot be the root directory".into());
    }
    not_os_owned(&p)?;
    Ok(p)
}

/// node_exporter's textfile directory, given the tier's base: the monitor
/// unit may write there (ReadWritePaths=), so it must not be a tree whose
/// write access undoes the unit's sandbox (the OS's, or the tier's, whose
/// service users could plant a link for the file the monitor writes as root).
pub fn textfile_dir(s: &str, base: Option<&Path>) -> Result<PathBuf, String> {
    let p = absolute_path(s)?;
    if s == "/" {
        return Err(
            "cannot be the root directory: the monitor would be allowed to write everywhere".into(),
        );
    }
    not_os_owned(&p)?;
    if let Some(base) = base {
        let (real, base_real) = (resolve_aliases(&p), resolve_aliases(base));
        if real.starts_with(&base_real) {
            return Err(format!(
                "\"{s}\" is inside the tier ({}), where service users could plant a link \
                 for the file the monitor writes as root",
                base.display()
            ));
        }
        if base_real.starts_with(&real) {
            return Err(format!(
                "\"{s}\" holds the tier ({}): the monitor, which only reads the tier, \
                 would be allowed to write all of it",
                base.display()
            ));
        }
    }
    Ok(p)
}

/// A filesystem UUID as blkid prints it (ext4 and XFS: 8-4-4-4-12 hex
/// digits; vfat: XXXX-XXXX): hex digits and dashes, lower-cased.
pub fn filesystem_uuid(s: &str) -> Result<String, String> {
    let digits = s.chars().filter(|c| *c != '-').count();
    let ok = s.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
        && (8..=32).contains(&digits)
        && !s.starts_with('-')
        && !s.ends_with('-');
    match ok {
        true => Ok(s.to_ascii_lowercase()),
        false => Err(format!(
            "{s:?} is not a filesystem UUID (hex digits and dashes, as `blkid -s UUID` prints it)"
        )),
    }
}

/// A mount option or filesystem type name: no separators a mount table could misread.
pub fn mount_word(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    match s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '=')))
    {
        Some(c) => Err(format!("{} is not allowed here", describe(c))),
        None => Ok(s.to_string()),
    }
}

pub fn percent(v: i64) -> Result<u8, String> {
    if (1..=100).contains(&v) {
        Ok(v as u8)
    } else {
        Err(format!("{v} is not a percentage from 1 to 100"))
    }
}

/// Names a character so that an invisible one is still visible in a message.
fn describe(c: char) -> String {
    match c {
        '\n' => "a newline".into(),
        '\t' => "a tab".into(),
        ' ' => "a space".into(),
        c if c.is_control() => format!("control character U+{:04X}", c as u32),
        c => format!("'{c}'"),
    }
}

/// How the tier's plan is held by project quotas (`tier.quota`).
pub fn quota_mode(s: &str) -> Result<QuotaMode, String> {
    match s {
        "off" => Ok(QuotaMode::Off),
        "auto" => Ok(QuotaMode::Auto),
        "account" => Ok(QuotaMode::Account),
        "enforce" => Ok(QuotaMode::Enforce),
        _ => Err(format!(
            "\"{s}\" is not a quota mode: use \"off\", \"auto\", \"account\" or \"enforce\""
        )),
    }
}

/// A quota limit: "planned", "none", a size, or a percentage of the planned
/// size ("110%"). `None` is no limit.
pub fn quota_limit(s: &str, planned: Bytes) -> Result<Option<Bytes>, String> {
    match s.trim() {
        "none" => return Ok(None),
        "planned" => return Ok(Some(planned)),
        _ => {}
    }
    if let Some(p) = s.trim().strip_suffix('%') {
        let percent: u64 = p.trim().parse().map_err(|_| {
            format!("\"{s}\" is not a whole percentage of the planned size, e.g. \"110%\"")
        })?;
        if !(1..=1000).contains(&percent) {
            return Err(format!(
                "{percent}% is not from 1% to 1000% of the planned size"
            ));
        }
        // Exact or refused: never wrapped (200% of 16 EB read as 2 bytes),
        // never 0 (which the kernel reads as no limit at all).
        let bytes = u128::from(planned.0) * u128::from(percent) / 100;
        return match u64::try_from(bytes) {
            Ok(0) => Err(format!(
                "{percent}% of the planned {} bytes is 0 bytes, which the kernel reads as no limit",
                planned.0
            )),
            Ok(b) => Ok(Some(Bytes(b))),
            Err(_) => Err(format!(
                "{percent}% of the planned {} bytes is {bytes} bytes, beyond the largest limit \
                 a filesystem holds ({} bytes)",
                planned.0,
                u64::MAX
            )),
        };
    }
    size(s).map(Some).map_err(|e| {
        format!(
            "{e}, or \"planned\", \"none\" or a percentage of the planned size such as \"110%\""
        )
    })
}

/// Where derived project IDs lie: below the IDs containers/storage and
/// Docker hash into (>= 10000), kubelet's (>= 1048577) and systemd's
/// (2147483648-4294967294). See docs/quotas.md.
pub const PROJECT_ID_DERIVED: std::ops::RangeInclusive<u32> = 7000..=7999;
/// What a configured `project_id` may be: not 0 (no project), below kubelet's range.
const PROJECT_ID_CONFIGURED: std::ops::RangeInclusive<i64> = 1..=1_048_576;

/// A configured project ID.
pub fn project_id(id: i64) -> Result<u32, String> {
    if PROJECT_ID_CONFIGURED.contains(&id) {
        Ok(id as u32)
    } else {
        Err(format!(
            "{id} is not a project ID from {} to {} (0 is \"no project\"; kubelet, container \
             engines and systemd allocate above)",
            PROJECT_ID_CONFIGURED.start(),
            PROJECT_ID_CONFIGURED.end()
        ))
    }
}

/// The stable project ID of a service that does not configure one: a hash
/// of its name into `PROJECT_ID_DERIVED`, so that it does not depend on the
/// order of the services or on any other service.
pub fn derived_project_id(service: &str) -> u32 {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(service.as_bytes());
    let n = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
    let span = PROJECT_ID_DERIVED.end() - PROJECT_ID_DERIVED.start() + 1;
    PROJECT_ID_DERIVED.start() + n % span
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates_are_service_units() {
        assert!(gate_unit("postgresql@15-main.service").is_ok());
        let e = gate_unit("postgresql.socket").unwrap_err();
        assert!(e.contains("not a .service unit"), "{e}");
        assert!(gate_unit("data.mount").is_err());
    }

    #[test]
    fn selinux_equivalences() {
        let dir = Path::new("/data/jts/hot/docker");
        assert_eq!(
            selinux_equal("/var/lib/docker", Some(dir)).unwrap(),
            PathBuf::from("/var/lib/docker")
        );
        assert!(selinux_equal("/opt/c++/x.y_z-1", Some(dir)).is_ok());
        for (bad, why) in [
            ("var/lib/docker", "not an absolute path"),
            ("/var/lib/docker/", "ends with '/'"),
            ("/var/lib/../docker", "normalized"),
            ("/var/lib//docker", "\"//\""),
            ("/", "cannot be /"),
            ("/var/lib/doc ker", "a space"),
            ("/var/lib/docker\n/x", "a newline"),
            ("/var/lib/docker\t", "a tab"),
            ("/var/lib/docker;reboot", "';'"),
            ("/var/lib/$(id)", "'$'"),
            ("/var/lib/`id`", "'`'"),
            ("/var/lib/\"x", "'\"'"),
            ("/var/lib/*", "'*'"),
            ("/var/lib/(x)", "'('"),
            ("/var/lib/%n", "'%'"),
            ("/data/jts/hot/docker", "labelled as itself"),
            ("/data/jts/hot/docker/x", "labelled as itself"),
        ] {
            let e = selinux_equal(bad, Some(dir)).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        let e =
            selinux_equal("/var/lib/docker", Some(Path::new("/srv/hot tier/docker"))).unwrap_err();
        assert!(e.contains("contains a space"), "{e}");
    }

    #[test]
    fn names() {
        assert!(name("postgresql").is_ok());
        assert!(name("a.b_c-9").is_ok());
        for bad in ["", ".", "..", "a/b", "a b", "a\nb", "ä", "%n"] {
            assert!(name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn users() {
        assert!(user_name("postgres").is_ok());
        assert!(user_name("_svc-1").is_ok());
        for bad in ["", "Root", "1abc", "123", "a:b", "a b", &"a".repeat(32)] {
            assert!(user_name(bad).is_err(), "{bad:?}");
        }
        assert!(account("postgres").is_ok());
        assert!(account("root").is_ok(), "docker's directories are root's");
        assert!(account(OWN_ACCOUNT)
            .unwrap_err()
            .contains("jts-hot's own account"));
        assert!(account("Root").is_err());
    }

    #[test]
    fn units() {
        assert!(unit_name("postgresql.service").is_ok());
        assert!(unit_name("postgresql@15-main.service").is_ok());
        for bad in [
            "postgresql",
            "x.conf",
            ".service",
            "a b.service",
            "a%n.service",
            "a\n.service",
        ] {
            assert!(unit_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn selinux_types() {
        assert!(selinux_type("postgresql_db_t").is_ok());
        assert!(selinux_type("container_var_lib_t").is_ok());
        for bad in [
            "",
            "_t",
            "1_t",
            "a.b_t",
            "a b",
            "x_t) (allow",
            "x_t\n(filecon",
            "x_t;",
            "x\"",
            "system_u:object_r:x_t:s0",
            &"a".repeat(129),
        ] {
            assert!(selinux_type(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn modes() {
        assert_eq!(mode("0750").unwrap(), Mode(0o750));
        assert_eq!(mode("2770").unwrap(), Mode(0o2770));
        assert_eq!(mode("1755").unwrap(), Mode(0o1755));
        for bad in [
            "", "0777", "0757", "750a", "07500", "0o750", "8", "4755", "0650",
        ] {
            assert!(mode(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(size("800GB").unwrap(), Bytes(800_000_000_000));
        assert_eq!(size("800").unwrap(), Bytes(800));
        assert_eq!(size("2kB").unwrap(), Bytes(2000));
        for (bad, says) in [
            ("800G", "\"800GB\" (GB, powers of 1000) or \"800GiB\""),
            ("800g", "\"800GB\""),
            ("800gb", "spelled \"GB\""),
            ("800Mb", "spelled \"MB\""),
            ("10 TB", "without the space, \"10TB\""),
            ("10 tb", "spelled \"TB\""),
            ("5 parsecs", "not a unit"),
            (" 5GB", "not a size"),
        ] {
            let e = size(bad).unwrap_err();
            assert!(e.contains(says), "{bad:?}: {e}");
        }
        assert_eq!(size("1.5TB").unwrap(), Bytes(1_500_000_000_000));
        assert_eq!(size("1TiB").unwrap(), Bytes(1 << 40));
        for bad in ["0", "0GB", "-1GB", "lots", "", "1.5.5TB"] {
            assert!(size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn durations_and_intervals() {
        assert_eq!(duration("7d").unwrap().as_secs(), 7 * 86400);
        assert!(duration("0s").is_err());
        assert!(duration("soon").is_err());
        for ok in ["1min", "15min", "30min", "1h", "6h", "1d"] {
            assert!(monitor_interval(ok).is_ok(), "{ok}");
        }
        for bad in ["7min", "45min", "5h", "2d", "30s"] {
            assert!(monitor_interval(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths() {
        assert!(base_path("/data/jts/hot").is_ok());
        assert!(base_path("/srv/hot tier/100%").is_ok());
        for bad in [
            "/",
            "data",
            "/data/",
            "/data//hot",
            "/data/./hot",
            "/data/../etc",
            "/etc",
            "/etc/jts",
            "/proc/1",
            "/usr/local/hot",
            "/var/lib/dpkg/x",
            "/data/\"x",
            "/data/x\ny",
            "/data/a\\b",
            "/data/$HOME",
        ] {
            assert!(base_path(bad).is_err(), "{bad:?}");
        }
        assert!(base_path("/etcetera").is_ok());
    }

    #[test]
    fn quota_limits_and_project_ids() {
        let planned = Bytes(1_000);
        assert_eq!(quota_limit("planned", planned), Ok(Some(planned)));
        assert_eq!(quota_limit("none", planned), Ok(None));
        assert_eq!(quota_limit("110%", planned), Ok(Some(Bytes(1_100))));
        assert_eq!(quota_limit("2KB", planned), Ok(Some(Bytes(2_000))));
        assert!(quota_limit("0%", planned).is_err());
        assert!(quota_limit("lots", planned)
            .unwrap_err()
            .contains("\"planned\""));
        assert!(project_id(0).is_err());
        assert!(project_id(1_048_577).is_err(), "kubelet's range");
        assert!(project_id(2_147_483_648).is_err(), "systemd's range");
        assert_eq!(project_id(42), Ok(42));
        let id = derived_project_id("kafka");
        assert!(PROJECT_ID_DERIVED.contains(&id));
        assert_eq!(id, derived_project_id("kafka"), "stable");
    }
}
