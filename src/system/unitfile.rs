//! A systemd unit as the target system (this one, or an image under
//! `--root`) would load it: its file, then its drop-ins, in systemd's order
//! (systemd.unit(5) "Unit File Load Path"): the first directory of the load
//! path that holds the name wins; drop-ins (`NAME.d/*.conf`, the template's
//! `PREFIX@.service.d`, each dash prefix's `a-.service.d` and the type's
//! `service.d`) are applied in the order of their file names, a file of one
//! name in an earlier directory masking the same name in a later one. Only
//! what decides a unit's place in the boot is read: `DefaultDependencies=`,
//! `Before=` and `After=`. Files are read bounded, regular files only, links followed
//! inside the root.

use super::Root;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::{on_disk, on_disk_followed};

/// Where systemd loads system units from, highest priority first (the
/// generator directories included: a unit from /etc/fstab or a SysV script is
/// as real as any).
const UNIT_LOAD_PATH: [&str; 12] = [
    "/etc/systemd/system.control",
    "/run/systemd/system.control",
    "/run/systemd/transient",
    "/run/systemd/generator.early",
    "/etc/systemd/system",
    "/etc/systemd/system.attached",
    "/run/systemd/system",
    "/run/systemd/system.attached",
    "/run/systemd/generator",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/run/systemd/generator.late",
];

/// Far above any unit file.
const MAX_UNIT_BYTES: u64 = 1 << 20;

/// A unit's place in the boot, as loaded with its drop-ins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ordering {
    /// The unit's file (as on the system, not under the root).
    pub file: PathBuf,
    /// `DefaultDependencies=` (yes unless a file says otherwise), and the
    /// file that said so last.
    pub default_dependencies: (bool, PathBuf),
    /// Every unit it is ordered `Before=`, with the file that said so.
    pub before: BTreeMap<String, PathBuf>,
    /// Every unit it is ordered `After=`, with the file that said so.
    pub after: BTreeMap<String, PathBuf>,
}

/// The files that make up `unit` on the system under `root`: its own file,
/// then its drop-ins in the order systemd applies them. None when no
/// directory of the load path holds it (or it is masked).
fn files(root: &Root, unit: &str) -> Option<(PathBuf, Vec<PathBuf>)> {
    let template = unit
        .split_once('@')
        .filter(|(_, rest)| !rest.starts_with('.'))
        .and_then(|(prefix, rest)| Some(format!("{prefix}@.{}", rest.rsplit_once('.')?.1)));
    let file = [Some(unit.to_string()), template.clone()]
        .into_iter()
        .flatten()
        .find_map(|name| {
            UNIT_LOAD_PATH.iter().find_map(|dir| {
                let p = Path::new(dir).join(&name);
                // The first directory that has the name decides; a link to
                // /dev/null (anything but a regular file) masks the unit.
                std::fs::symlink_metadata(on_disk(root, &p)).ok()?;
                let target = on_disk_followed(root, &p);
                Some(
                    std::fs::metadata(target)
                        .is_ok_and(|m| m.is_file())
                        .then_some(p),
                )
            })
        })??;
    // Gated through an alias (a link to a unit of another name): systemd
    // loads the unit under its real name and applies that name's drop-ins
    // as well as the alias's.
    let real = on_disk_followed(root, &file)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| {
            n != unit && n.rsplit_once('.').map(|(_, k)| k) == unit.rsplit_once('.').map(|(_, k)| k)
        });
    // Drop-in directories, least specific first: the type, dash prefixes,
    // the template, the unit itself (systemd applies them all, by file name).
    let mut dirs = Vec::new();
    for name in std::iter::once(unit).chain(real.as_deref()) {
        for d in dropin_dirs(name)? {
            if !dirs.contains(&d) {
                dirs.push(d);
            }
        }
    }
    let mut by_name: BTreeMap<String, PathBuf> = BTreeMap::new();
    for load in UNIT_LOAD_PATH.iter().rev() {
        for d in &dirs {
            let dir = Path::new(load).join(d);
            let Ok(entries) = std::fs::read_dir(on_disk(root, &dir)) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.ends_with(".conf") {
                    // Later (higher priority) directories replace earlier ones.
                    by_name.insert(name, dir.join(e.file_name()));
                }
            }
        }
    }
    Some((file, by_name.into_values().collect()))
}

/// The drop-in directory names that apply to `unit`, least specific first.
fn dropin_dirs(unit: &str) -> Option<Vec<String>> {
    let template = unit
        .split_once('@')
        .filter(|(_, rest)| !rest.starts_with('.'))
        .and_then(|(prefix, rest)| Some(format!("{prefix}@.{}", rest.rsplit_once('.')?.1)));
    let (stem, kind) = unit.rsplit_once('.')?;
    let mut dirs = vec![format!("{kind}.d")];
    let dashes: Vec<usize> = stem.match_indices('-').map(|(i, _)| i).collect();
    dirs.extend(dashes.iter().map(|&i| format!("{}-.{kind}.d", &stem[..i])));
    dirs.extend(template.map(|t| format!("{t}.d")));
    dirs.push(format!("{unit}.d"));
    Some(dirs)
}

/// `unit` as the system under `root` loads it; None when it is not installed.
pub fn ordering(root: &Root, unit: &str) -> Option<Ordering> {
    let (file, dropins) = files(root, unit)?;
    let mut o = Ordering {
        file: file.clone(),
        default_dependencies: (true, file.clone()),
        before: BTreeMap::new(),
        after: BTreeMap::new(),
    };
    for path in std::iter::once(file).chain(dropins) {
        let Ok(text) = super::file::read_regular_text(
            &on_disk_followed(root, &path),
            MAX_UNIT_BYTES,
            super::file::Links::Follow,
        ) else {
            continue;
        };
        apply(&mut o, &text, &path);
    }
    Some(o)
}

/// One file's `[Unit]` settings over what came before.
pub fn apply(o: &mut Ordering, text: &str, path: &Path) {
    let mut in_unit = false;
    let mut logical = String::new();
    for raw in text.lines() {
        // A line ending in a backslash continues on the next.
        if let Some(part) = raw.strip_suffix('\\') {
            logical.push_str(part);
            logical.push(' ');
            continue;
        }
        logical.push_str(raw);
        let line = std::mem::take(&mut logical);
        let line = line.trim();
        if line.starts_with('[') {
            in_unit = line == "[Unit]";
            continue;
        }
        if !in_unit || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "DefaultDependencies" => {
                if let Some(b) = boolean(value) {
                    o.default_dependencies = (b, path.to_path_buf());
                }
            }
            // An empty assignment resets the list.
            "Before" if value.is_empty() => o.before.clear(),
            "Before" => {
                for u in value.split_whitespace() {
                    o.before.insert(u.to_string(), path.to_path_buf());
                }
            }
            "After" if value.is_empty() => o.after.clear(),
            "After" => {
                for u in value.split_whitespace() {
                    o.after.insert(u.to_string(), path.to_path_buf());
                }
            }
            _ => {}
        }
    }
}

/// systemd's boolean words.
fn boolean(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "yes" | "y" | "true" | "t" | "on" => Some(true),
        "0" | "no" | "n" | "false" | "f" | "off" => Some(false),
        _ => None,
    }
}

/// Units every gate must start after: the boot's own targets. A unit
/// ordered before one of them, or before a unit jts-hot's own units start
/// after (`own_after`), cannot wait for jts-hot-validate.service.
const BOOT_TARGETS: [&str; 2] = ["sysinit.target", "basic.target"];

/// How many units the ordering walks below load at most: far more than a
/// boot's ordering chains hold, and a bound on a hostile image's.
const MAX_UNITS_WALKED: usize = 2_000;

/// Every unit that starts before the boot's own targets or before one of
/// `own_after` on the system under `root`, each with the unit that starts
/// after it: the anchors themselves, then, transitively, what each one is
/// ordered `After=` (basic.target after timers.target and sockets.target,
/// sysinit.target after swap.target, ...), as loaded there.
pub fn early_units(root: &Root, own_after: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut early: BTreeMap<String, String> = BTreeMap::new();
    let mut todo: Vec<String> = Vec::new();
    for a in BOOT_TARGETS
        .iter()
        .map(|s| s.to_string())
        .chain(own_after.iter().cloned())
    {
        if !early.contains_key(&a) {
            early.insert(a.clone(), "jts-hot-validate.service".to_string());
            todo.push(a);
        }
    }
    let mut loaded = 0;
    while let Some(u) = todo.pop() {
        loaded += 1;
        if loaded > MAX_UNITS_WALKED {
            break;
        }
        let Some(o) = ordering(root, &u) else {
            continue;
        };
        for a in o.after.keys() {
            if !early.contains_key(a) {
                early.insert(a.clone(), u.clone());
                todo.push(a.clone());
            }
        }
    }
    early
}

/// Why `unit`, loaded as `o`, cannot be gated; None when it can. `early`:
/// [`early_units`]. A unit ordered `Before=` one of them, directly or
/// through the units it is ordered before (loaded from `root`), would wait
/// for jts-hot-validate.service while that waits for it.
pub fn gate_refusal(
    root: &Root,
    o: &Ordering,
    unit: &str,
    early: &BTreeMap<String, String>,
) -> Option<String> {
    if !o.default_dependencies.0 {
        return Some(format!(
            "{unit} runs in early boot (DefaultDependencies=no in {}): it starts before \
             jts-hot-validate.service can, and gating it would make an ordering cycle",
            o.default_dependencies.1.display()
        ));
    }
    // Breadth first through Before=, each unit once: (unit reached, the
    // gate's own Before= it was reached through).
    let mut seen: BTreeSet<String> = BTreeSet::from([unit.to_string()]);
    let mut queue: std::collections::VecDeque<(String, usize)> = std::collections::VecDeque::new();
    let first: Vec<(&String, &PathBuf)> = o.before.iter().collect();
    for (i, (u, _)) in first.iter().enumerate() {
        if seen.insert((*u).clone()) {
            queue.push_back(((*u).clone(), i));
        }
    }
    while let Some((u, via)) = queue.pop_front() {
        let (direct, file) = first[via];
        if let Some(after) = early.get(&u) {
            let through = match &u == direct {
                true => String::new(),
                false => format!(", which is ordered before {u}"),
            };
            return Some(format!(
                "{unit} is ordered Before={direct} (in {}){through}, which {after} starts \
                 after (jts-hot-validate.service starts after sysinit.target and basic.target): \
                 gating it would make an ordering cycle",
                file.display()
            ));
        }
        if seen.len() > MAX_UNITS_WALKED {
            break;
        }
        let Some(next) = ordering(root, &u) else {
            continue;
        };
        for b in next.before.keys() {
            if seen.insert(b.clone()) {
                queue.push_back((b.clone(), via));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(r: &Path, unit: &str, own: &BTreeSet<String>) -> Option<String> {
        let root = Root::open(r).unwrap();
        let early = early_units(&root, own);
        gate_refusal(&root, &ordering(&root, unit)?, unit, &early)
    }

    fn unit(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn drop_ins_in_systemds_order_decide() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        let own = BTreeSet::from(["local-fs.target".to_string()]);
        unit(
            r,
            "usr/lib/systemd/system/db.service",
            "[Unit]\nBefore=x.target\n",
        );
        assert_eq!(judge(r, "db.service", &own), None);
        assert_eq!(judge(r, "missing.service", &own), None);
        // A drop-in in /run turns default dependencies off.
        unit(
            r,
            "run/systemd/system/db.service.d/10-early.conf",
            "[Unit]\nDefaultDependencies=no\n",
        );
        let why = judge(r, "db.service", &own).unwrap();
        assert!(
            why.contains(
                "DefaultDependencies=no in /run/systemd/system/db.service.d/10-early.conf"
            ),
            "{why}"
        );
        // The same name in /etc masks it.
        unit(
            r,
            "etc/systemd/system/db.service.d/10-early.conf",
            "[Unit]\n",
        );
        assert_eq!(judge(r, "db.service", &own), None);
        // A later file orders it before a unit jts-hot waits for; an empty
        // Before= in a still later one resets that.
        unit(
            r,
            "etc/systemd/system/db.service.d/20-b.conf",
            "[Unit]\nBefore=a.service \\\n local-fs.target\n",
        );
        assert!(judge(r, "db.service", &own)
            .unwrap()
            .contains("Before=local-fs.target"));
        unit(
            r,
            "usr/lib/systemd/system/service.d/30-reset.conf",
            "[Unit]\nBefore=\n",
        );
        assert_eq!(judge(r, "db.service", &own), None);
        // A template's instance reads the template and its drop-ins.
        unit(
            r,
            "usr/lib/systemd/system/pg@.service",
            "[Unit]\nDescription=x\n",
        );
        unit(
            r,
            "usr/lib/systemd/system/pg@.service.d/x.conf",
            "[Unit]\nBefore=sysinit.target\n",
        );
        assert!(judge(r, "pg@15-main.service", &own)
            .unwrap()
            .contains("sysinit.target"));
        // A dash prefix's drop-in applies too.
        unit(r, "usr/lib/systemd/system/click-server.service", "[Unit]\n");
        unit(
            r,
            "etc/systemd/system/click-.service.d/x.conf",
            "[Unit]\nDefaultDependencies=false\n",
        );
        assert!(judge(r, "click-server.service", &own).is_some());
        // Masked: not loaded, nothing to judge.
        std::os::unix::fs::symlink(
            "/dev/null",
            r.join("etc/systemd/system/click-server.service"),
        )
        .unwrap();
        assert_eq!(judge(r, "click-server.service", &own), None);
    }
}
