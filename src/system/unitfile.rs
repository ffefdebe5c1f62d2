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
    /// Every unit it pulls in (`Wants=`, `Requires=`, `Requisite=`,
    /// `BindsTo=`, `Upholds=`, or a link in its `.wants/`, `.requires/`,
    /// `.upholds/` directory), with the file or directory that said so:
    /// read for targets only, which start after what they pull in.
    pub pulls: BTreeMap<String, PathBuf>,
}

/// The entry names of each directory of the load path (in its order), read
/// once: loading a system's units asks thousands of times whether a name is
/// there, and one listing answers what a stat per name per directory did.
struct Index {
    listed: Vec<BTreeSet<String>>,
    /// More than the cap of entries: the listing is partial.
    truncated: bool,
    /// Bytes of unit files read through this index so far, and how many
    /// may be: past the budget no more files are read.
    read: std::cell::Cell<u64>,
    budget: u64,
    /// Each file read once, however many units apply it (`service.d/`
    /// drop-ins apply to every service).
    texts: std::cell::RefCell<BTreeMap<PathBuf, std::rc::Rc<String>>>,
}

impl Index {
    fn read(root: &Root, cap: usize) -> Index {
        let (mut total, mut truncated) = (0usize, false);
        let mut listed = Vec::new();
        for dir in UNIT_LOAD_PATH {
            let mut names = BTreeSet::new();
            if let Ok(entries) = std::fs::read_dir(on_disk(root, Path::new(dir))) {
                for e in entries.flatten() {
                    total += 1;
                    if total > cap {
                        truncated = true;
                        break;
                    }
                    names.insert(e.file_name().to_string_lossy().into_owned());
                }
            }
            listed.push(names);
        }
        Index {
            listed,
            truncated,
            read: std::cell::Cell::new(0),
            budget: MAX_GRAPH_BYTES,
            texts: Default::default(),
        }
    }

    /// Whether the `i`th directory of the load path holds `name`.
    fn has(&self, i: usize, name: &str) -> bool {
        self.listed.get(i).is_some_and(|n| n.contains(name))
    }
}

/// The files that make up `unit` on the system under `root`: its own file,
/// then its drop-ins in the order systemd applies them. None when no
/// directory of the load path holds it (or it is masked).
fn files(root: &Root, index: &Index, unit: &str) -> Option<(PathBuf, Vec<PathBuf>)> {
    let template = unit
        .split_once('@')
        .filter(|(_, rest)| !rest.starts_with('.'))
        .and_then(|(prefix, rest)| Some(format!("{prefix}@.{}", rest.rsplit_once('.')?.1)));
    let file = [Some(unit.to_string()), template.clone()]
        .into_iter()
        .flatten()
        .find_map(|name| {
            UNIT_LOAD_PATH.iter().enumerate().find_map(|(i, dir)| {
                // The first directory that has the name decides; a link to
                // /dev/null (anything but a regular file) masks the unit.
                if !index.has(i, &name) {
                    return None;
                }
                let p = Path::new(dir).join(&name);
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
    for (i, load) in UNIT_LOAD_PATH.iter().enumerate().rev() {
        for d in dirs.iter().filter(|d| index.has(i, d)) {
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

/// Whether some directory of the load path under `root` holds `unit` or its
/// template (masked included), asked name by name: cheaper than listing the
/// directories when no gate is installed at all.
pub fn present(root: &Root, unit: &str) -> bool {
    if !valid_name(unit) {
        return false;
    }
    let template = unit
        .split_once('@')
        .filter(|(_, rest)| !rest.starts_with('.'))
        .and_then(|(prefix, rest)| Some(format!("{prefix}@.{}", rest.rsplit_once('.')?.1)));
    [Some(unit.to_string()), template]
        .into_iter()
        .flatten()
        .any(|name| {
            UNIT_LOAD_PATH.iter().any(|dir| {
                std::fs::symlink_metadata(on_disk(root, &Path::new(dir).join(&name))).is_ok()
            })
        })
}

/// `unit` as the system under `root` loads it; None when it is not installed.
pub fn ordering(root: &Root, unit: &str) -> Option<Ordering> {
    ordering_in(root, &Index::read(root, MAX_UNITS * 4), unit)
}

fn ordering_in(root: &Root, index: &Index, unit: &str) -> Option<Ordering> {
    if !valid_name(unit) {
        return None;
    }
    let (file, dropins) = files(root, index, unit)?;
    let mut o = Ordering {
        file: file.clone(),
        default_dependencies: (true, file.clone()),
        before: BTreeMap::new(),
        after: BTreeMap::new(),
        pulls: BTreeMap::new(),
    };
    for path in std::iter::once(file).chain(dropins) {
        let cached = index.texts.borrow().get(&path).cloned();
        let text = match cached {
            Some(t) => t,
            None => {
                if index.read.get() > index.budget {
                    break;
                }
                // A file unreadable (not regular, too big, not UTF-8) says nothing.
                let text = std::rc::Rc::new(
                    super::file::read_regular_text(
                        &on_disk_followed(root, &path),
                        MAX_UNIT_BYTES,
                        super::file::Links::Follow,
                    )
                    .unwrap_or_default(),
                );
                index.read.set(index.read.get() + text.len() as u64);
                index.texts.borrow_mut().insert(path.clone(), text.clone());
                text
            }
        };
        apply(&mut o, &text, &path);
    }
    if unit.ends_with(".target") {
        pulled_by_links(root, index, unit, &mut o.pulls);
    } else {
        o.pulls.clear();
    }
    Some(o)
}

/// The units linked in `unit`'s `.wants/`, `.requires/` and `.upholds/`
/// directories anywhere on the load path (how `systemctl enable` pulls a
/// unit in), at most [`MAX_UNITS`] of them.
fn pulled_by_links(root: &Root, index: &Index, unit: &str, pulls: &mut BTreeMap<String, PathBuf>) {
    for (i, load) in UNIT_LOAD_PATH.iter().enumerate() {
        for kind in ["wants", "requires", "upholds"] {
            let name = format!("{unit}.{kind}");
            if !index.has(i, &name) {
                continue;
            }
            let dir = Path::new(load).join(name);
            let Ok(entries) = std::fs::read_dir(on_disk(root, &dir)) else {
                continue;
            };
            for e in entries.flatten().take(MAX_UNITS) {
                let name = e.file_name().to_string_lossy().into_owned();
                if valid_name(&name) {
                    pulls.entry(name).or_insert_with(|| dir.clone());
                }
            }
        }
    }
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
            "Wants" | "Requires" | "Requisite" | "BindsTo" | "Upholds" => {
                for u in value.split_whitespace() {
                    o.pulls
                        .entry(u.to_string())
                        .or_insert_with(|| path.to_path_buf());
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
/// after, cannot wait for jts-hot-validate.service.
pub const BOOT_TARGETS: [&str; 2] = ["sysinit.target", "basic.target"];

/// How many units the ordering graph loads at most: a system holds a few
/// hundred, so this bounds only a hostile image (past it, no gate is
/// accepted: the ordering could not be read whole).
pub const MAX_UNITS: usize = 20_000;

/// How many bytes of unit files the ordering graph reads at most: a system's
/// units hold about a megabyte; this bounds the time and memory a hostile
/// image (20,000 files of a megabyte each, or one of a million drop-ins)
/// can cost. Past it no gate is accepted, as past [`MAX_UNITS`].
pub const MAX_GRAPH_BYTES: u64 = 8 << 20;

/// How many steps of a chain a refusal prints.
const MAX_CHAIN_SHOWN: usize = 8;

/// The unit types systemd loads from unit files.
const UNIT_KINDS: [&str; 11] = [
    "service",
    "socket",
    "target",
    "device",
    "mount",
    "automount",
    "swap",
    "timer",
    "path",
    "slice",
    "scope",
];

/// Whether systemd would accept `name` as a unit name (unit_name_is_valid):
/// at most 255 bytes of `[A-Za-z0-9:_.\-@\\]`, a known type. Anything else
/// on disk or in a `Before=` (a newline, a slash, `..`) is no unit and is
/// never joined into a path.
pub fn valid_name(name: &str) -> bool {
    let Some((stem, kind)) = name.rsplit_once('.') else {
        return false;
    };
    name.len() <= 255
        && !stem.is_empty()
        && UNIT_KINDS.contains(&kind)
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":_.-@\\".contains(&b))
        && !name.contains("..")
}

/// Who declared that one unit starts before another, and in which file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    pub how: How,
    pub file: PathBuf,
}

/// How an ordering was declared: systemd reads them all as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// The earlier unit's `Before=`.
    Before,
    /// The later unit's `After=`.
    After,
    /// The later unit is a target that pulls the earlier one in: with
    /// default dependencies on both, systemd orders the target after it
    /// (systemd.target(5)).
    TargetPulls,
}

/// The ordering of every unit installed on a system, both directions
/// merged: `preceded_by[Y][X]` means X starts before Y, whoever said so.
/// `Wants=`/`Requires=` pull units in but order nothing, so they are not read.
#[derive(Debug, Default)]
pub struct Graph {
    pub units: BTreeMap<String, Ordering>,
    preceded_by: BTreeMap<String, BTreeMap<String, Said>>,
    /// More than [`MAX_UNITS`] units: the graph is partial.
    pub truncated: bool,
}

/// Every unit name the load path of the system under `root` holds: its
/// files and links, and the names in its `.wants/`, `.requires/` and
/// `.upholds/` directories (where an enabled template's instances live).
/// At most `cap` names; the flag says the cap cut the listing short.
fn installed(root: &Root, index: &Index, cap: usize) -> (BTreeSet<String>, bool) {
    let mut names = BTreeSet::new();
    let mut listed = 0usize;
    for (i, dir) in UNIT_LOAD_PATH.iter().enumerate() {
        for name in &index.listed[i] {
            if valid_name(name) {
                names.insert(name.clone());
                continue;
            }
            let pulls = [".wants", ".requires", ".upholds"]
                .iter()
                .any(|s| name.strip_suffix(s).is_some_and(valid_name));
            if !pulls {
                continue;
            }
            let sub = Path::new(dir).join(name);
            let Ok(links) = std::fs::read_dir(on_disk(root, &sub)) else {
                continue;
            };
            for l in links.flatten() {
                listed += 1;
                if listed > cap {
                    return (names, true);
                }
                let n = l.file_name().to_string_lossy().into_owned();
                if valid_name(&n) {
                    names.insert(n);
                }
            }
        }
    }
    (names, index.truncated)
}

impl Graph {
    /// Every unit installed under `root`, and `extra` (the gates and the
    /// anchors), loaded with their drop-ins, and every unit they name in
    /// `Before=`/`After=` in turn: each once, at most [`MAX_UNITS`].
    pub fn load(root: &Root, extra: impl IntoIterator<Item = String>) -> Graph {
        Graph::load_bounded(root, extra, MAX_UNITS)
    }

    fn load_bounded(root: &Root, extra: impl IntoIterator<Item = String>, cap: usize) -> Graph {
        Graph::load_budgeted(root, extra, cap, MAX_GRAPH_BYTES)
    }

    fn load_budgeted(
        root: &Root,
        extra: impl IntoIterator<Item = String>,
        cap: usize,
        budget: u64,
    ) -> Graph {
        let mut index = Index::read(root, cap * 4);
        index.budget = budget;
        let (names, mut truncated) = installed(root, &index, cap * 4);
        let mut g = Graph::default();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut todo: Vec<String> = Vec::new();
        for n in names.into_iter().chain(extra) {
            if valid_name(&n) && seen.insert(n.clone()) {
                todo.push(n);
            }
        }
        while let Some(u) = todo.pop() {
            if g.units.len() >= cap || index.read.get() > index.budget {
                truncated = true;
                break;
            }
            let Some(o) = ordering_in(root, &index, &u) else {
                continue;
            };
            for (b, file) in &o.before {
                g.edge(&u, b, How::Before, file);
            }
            for (a, file) in &o.after {
                g.edge(a, &u, How::After, file);
            }
            for n in o.before.keys().chain(o.after.keys()).chain(o.pulls.keys()) {
                if valid_name(n) && seen.insert(n.clone()) {
                    todo.push(n.clone());
                }
            }
            g.units.insert(u, o);
        }
        g.truncated = truncated || index.read.get() > index.budget;
        g.target_orderings();
        g
    }

    /// A target with default dependencies starts after each unit it pulls
    /// in that has them too, unless it is already ordered before that unit
    /// (systemd's unit_add_default_target_dependency: no loop is made). A
    /// service's own default dependencies order it after sysinit.target and
    /// basic.target; a socket's, timer's and path's after sysinit.target.
    fn target_orderings(&mut self) {
        let mut implied = Vec::new();
        for (t, o) in &self.units {
            if !t.ends_with(".target") || !o.default_dependencies.0 {
                continue;
            }
            for (w, file) in &o.pulls {
                let Some(wo) = self.units.get(w) else {
                    continue;
                };
                let kind = w.rsplit_once('.').map_or("", |(_, k)| k);
                let after_by_default = match kind {
                    "service" => BOOT_TARGETS.contains(&t.as_str()),
                    "socket" | "timer" | "path" => t == "sysinit.target",
                    _ => false,
                };
                let t_first = self
                    .preceded_by
                    .get(w)
                    .is_some_and(|p| p.contains_key(t.as_str()));
                if wo.default_dependencies.0 && !after_by_default && !t_first {
                    implied.push((w.clone(), t.clone(), file.clone()));
                }
            }
        }
        for (w, t, file) in implied {
            self.edge(&w, &t, How::TargetPulls, &file);
        }
    }

    /// `earlier` starts before `later`, as `file` says.
    fn edge(&mut self, earlier: &str, later: &str, how: How, file: &Path) {
        if !valid_name(earlier) || !valid_name(later) || earlier == later {
            return;
        }
        self.preceded_by
            .entry(later.to_string())
            .or_default()
            .entry(earlier.to_string())
            .or_insert_with(|| Said {
                how,
                file: file.to_path_buf(),
            });
    }

    /// Every unit that must start before one of `anchors`, with its next
    /// step towards it (the unit it starts before and who said so): a walk
    /// backwards from the anchors, breadth first, so each chain is a
    /// shortest one; each unit once, so a cycle ends it.
    pub fn early(&self, anchors: &BTreeSet<String>) -> BTreeMap<String, Option<(String, Said)>> {
        let mut early: BTreeMap<String, Option<(String, Said)>> =
            anchors.iter().map(|a| (a.clone(), None)).collect();
        let mut queue: std::collections::VecDeque<String> = anchors.iter().cloned().collect();
        while let Some(y) = queue.pop_front() {
            for (x, said) in self.preceded_by.get(&y).into_iter().flatten() {
                if !early.contains_key(x) {
                    early.insert(x.clone(), Some((y.clone(), said.clone())));
                    queue.push_back(x.clone());
                }
            }
        }
        early
    }
}

/// Units every gate must start after on the system: the boot's targets and
/// `own_after` (what jts-hot's own units start after).
pub fn anchors(own_after: &BTreeSet<String>) -> BTreeSet<String> {
    BOOT_TARGETS
        .iter()
        .map(|s| s.to_string())
        .chain(own_after.iter().cloned())
        .collect()
}

/// Why `unit`, loaded as `o`, cannot be gated; None when it can. `graph`:
/// the system's ordering; `early`: [`Graph::early`] of [`anchors`]. A unit
/// that must start before one of them, by its own `Before=` or by any
/// unit's `After=` or `Before=` naming it, directly or through other units,
/// would wait for jts-hot-validate.service while that waits for it.
pub fn gate_refusal(
    graph: &Graph,
    o: &Ordering,
    unit: &str,
    early: &BTreeMap<String, Option<(String, Said)>>,
) -> Option<String> {
    if !o.default_dependencies.0 {
        return Some(format!(
            "{unit} runs in early boot (DefaultDependencies=no in {}): it starts before \
             jts-hot-validate.service can, and gating it would make an ordering cycle",
            o.default_dependencies.1.display()
        ));
    }
    if graph.truncated {
        return Some(format!(
            "the system holds more than {MAX_UNITS} units or {} MiB of unit files: their \
             ordering was not read whole, so {unit} cannot be shown to start after \
             jts-hot-validate.service",
            MAX_GRAPH_BYTES >> 20
        ));
    }
    let mut at = unit.to_string();
    let mut steps = Vec::new();
    let mut hops = 0usize;
    while let Some(Some((next, said))) = early.get(&at) {
        hops += 1;
        if steps.len() < MAX_CHAIN_SHOWN {
            let file = said.file.display();
            steps.push(match said.how {
                How::Before => format!("{at} Before={next} (in {file})"),
                How::After => format!("{next} After={at} (in {file})"),
                How::TargetPulls => {
                    format!("{next} pulls in {at} (in {file}) and, a target, starts after it")
                }
            });
        }
        at = next.clone();
    }
    if hops == 0 {
        return None;
    }
    if hops > steps.len() {
        steps.push(format!("{} more", hops - steps.len()));
    }
    let anchor = match BOOT_TARGETS.contains(&at.as_str()) {
        true => format!("{at}, which jts-hot-validate.service starts after"),
        false => format!("{at}, which jts-hot's own units start after"),
    };
    Some(format!(
        "{unit} must start before {anchor} ({}): gating it would make an ordering cycle",
        steps.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(r: &Path, unit: &str, own: &BTreeSet<String>) -> Option<String> {
        let root = Root::open(r).unwrap();
        let graph = Graph::load(&root, [unit.to_string()]);
        let early = graph.early(&anchors(own));
        gate_refusal(&graph, &ordering(&root, unit)?, unit, &early)
    }

    fn unit(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// What `systemctl enable` makes: `/usr/lib/systemd/system/FILE` linked as
    /// `NAME` in `/etc/systemd/system/TARGET.wants/`.
    fn enable(root: &Path, target: &str, file: &str, name: &str) {
        let wants = root.join(format!("etc/systemd/system/{target}.wants"));
        std::fs::create_dir_all(&wants).unwrap();
        std::os::unix::fs::symlink(format!("/usr/lib/systemd/system/{file}"), wants.join(name))
            .unwrap();
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

    /// What a third unit says about the gated one counts: its `After=` with
    /// a `Before=` of its own, through any chain of units, an enabled
    /// instance's drop-in; `Wants=`/`Requires=` do not order, a masked unit
    /// says nothing, cycles among other units end, hostile names are no units.
    #[test]
    fn what_other_units_say_about_a_gate_counts() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        let own = BTreeSet::from(["jts-hot-setup.service".to_string()]);
        let lib = "usr/lib/systemd/system";
        for db in ["db", "db2", "db3", "db4", "db5", "db6", "db7"] {
            unit(r, &format!("{lib}/{db}.service"), "[Unit]\nDescription=x\n");
        }
        for db in ["db", "db2", "db3", "db4", "db5", "db6", "db7"] {
            assert_eq!(judge(r, &format!("{db}.service"), &own), None, "{db}");
        }
        // Another unit waits for db and starts before sysinit.target.
        unit(
            r,
            &format!("{lib}/hook.service"),
            "[Unit]\nDefaultDependencies=no\nAfter=db.service\nBefore=sysinit.target\n",
        );
        let why = judge(r, "db.service", &own).unwrap();
        assert!(
            why.contains("db.service must start before sysinit.target")
                && why.contains(
                    "hook.service After=db.service (in /usr/lib/systemd/system/hook.service)"
                )
                && why.contains("hook.service Before=sysinit.target"),
            "{why}"
        );
        // Masked, it says nothing.
        std::fs::create_dir_all(r.join("etc/systemd/system")).unwrap();
        std::os::unix::fs::symlink("/dev/null", r.join("etc/systemd/system/hook.service")).unwrap();
        assert_eq!(judge(r, "db.service", &own), None);
        // Wants= and Requires= pull in, they do not order.
        unit(
            r,
            &format!("{lib}/puller.service"),
            "[Unit]\nDefaultDependencies=no\nWants=db2.service\nRequires=db2.service\n\
             Before=sysinit.target\n",
        );
        assert_eq!(judge(r, "db2.service", &own), None);
        // Only an enabled instance's own drop-in orders it (the template
        // does not): found through sysinit.target.wants.
        unit(r, &format!("{lib}/tap@.service"), "[Unit]\nDescription=t\n");
        unit(
            r,
            "etc/systemd/system/tap@eth0.service.d/early.conf",
            "[Unit]\nDefaultDependencies=no\nAfter=db3.service\nBefore=basic.target\n",
        );
        assert_eq!(judge(r, "db3.service", &own), None);
        enable(r, "sysinit.target", "tap@.service", "tap@eth0.service");
        let why = judge(r, "db3.service", &own).unwrap();
        assert!(
            why.contains("must start before basic.target")
                && why.contains("tap@eth0.service After=db3.service (in /etc/systemd/system/tap@eth0.service.d/early.conf)"),
            "{why}"
        );
        // A chain of other units, each naming the next from either side, to
        // a unit jts-hot's own start after.
        unit(
            r,
            &format!("{lib}/a.service"),
            "[Unit]\nAfter=db4.service\n",
        );
        unit(r, &format!("{lib}/b.service"), "[Unit]\nAfter=a.service\n");
        unit(r, &format!("{lib}/c.service"), "[Unit]\nAfter=b.service\n");
        unit(
            r,
            &format!("{lib}/jts-hot-setup.service"),
            "[Unit]\nAfter=c.service\n",
        );
        let why = judge(r, "db4.service", &own).unwrap();
        assert!(
            why.contains("must start before jts-hot-setup.service, which jts-hot's own units")
                && why.contains("a.service After=db4.service")
                && why.contains("jts-hot-setup.service After=c.service"),
            "{why}"
        );
        // A cycle among other units ends the walk; it does not make db5 early.
        unit(
            r,
            &format!("{lib}/x.service"),
            "[Unit]\nAfter=db5.service y.service\nBefore=y.service\n",
        );
        unit(
            r,
            &format!("{lib}/y.service"),
            "[Unit]\nAfter=x.service\nBefore=x.service multi-user.target\n",
        );
        assert_eq!(judge(r, "db5.service", &own), None);
        // Hostile names are no units: not read, not followed.
        unit(
            r,
            &format!("{lib}/evil\n.service"),
            "[Unit]\nAfter=db6.service\nBefore=sysinit.target\n",
        );
        unit(
            r,
            &format!("{lib}/odd.service"),
            "[Unit]\nAfter=db6.service\nBefore=../../../etc/sysinit.target x/y.service\n",
        );
        assert_eq!(judge(r, "db6.service", &own), None);
        // Past the cap nothing is accepted: the ordering was not read whole.
        let root = Root::open(r).unwrap();
        let o = ordering(&root, "db7.service").unwrap();
        let small = Graph::load_bounded(&root, ["db7.service".to_string()], 5);
        assert!(small.truncated);
        let why = gate_refusal(&small, &o, "db7.service", &small.early(&anchors(&own))).unwrap();
        assert!(why.contains("more than"), "{why}");
        let whole = Graph::load(&root, ["db7.service".to_string()]);
        assert!(!whole.truncated);
        // So is a graph past its byte budget: here 1 KiB, a file of 2 KiB.
        unit(
            r,
            &format!("{lib}/big.service"),
            &format!("[Unit]\nDescription={}\n", "x".repeat(2048)),
        );
        let big = Graph::load_budgeted(&root, ["db7.service".to_string()], MAX_UNITS, 1024);
        assert!(big.truncated);
        assert!(gate_refusal(&big, &o, "db7.service", &big.early(&anchors(&own))).is_some());
        let whole = Graph::load(&root, ["db7.service".to_string()]);
        assert!(!whole.truncated);
        assert_eq!(
            gate_refusal(&whole, &o, "db7.service", &whole.early(&anchors(&own))),
            None
        );
    }

    #[test]
    fn unit_names_are_systemds() {
        for ok in [
            "a.service",
            "pg@15-main.service",
            "x\\x2d.mount",
            "t@.service",
            "-.mount",
        ] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".service",
            "a",
            "a.exe",
            "a/b.service",
            "../x.service",
            "a\n.service",
            "a b.service",
        ] {
            assert!(!valid_name(bad), "{bad:?}");
        }
        assert!(!valid_name(&format!("{}.service", "a".repeat(250))));
    }

    /// A target with default dependencies starts after what it pulls in
    /// (`Wants=` or a `.wants/` link) when that has them too, unless it is
    /// ordered before it already: systemd.target(5)'s implicit ordering.
    #[test]
    fn a_target_starts_after_what_it_pulls_in() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        let own = BTreeSet::from(["jts-hot-setup.service".to_string()]);
        let lib = "usr/lib/systemd/system";
        for db in ["db8", "db9", "db10", "db11"] {
            unit(r, &format!("{lib}/{db}.service"), "[Unit]\nDescription=x\n");
        }
        unit(
            r,
            &format!("{lib}/pre-jts.target"),
            "[Unit]\nBefore=jts-hot-setup.service\n",
        );
        assert_eq!(judge(r, "db8.service", &own), None);
        enable(r, "pre-jts.target", "db8.service", "db8.service");
        let why = judge(r, "db8.service", &own).unwrap();
        assert!(
            why.contains(
                "pre-jts.target pulls in db8.service (in /etc/systemd/system/pre-jts.target.wants)"
            ) && why.contains("pre-jts.target Before=jts-hot-setup.service"),
            "{why}"
        );
        // Without default dependencies (on the target or the unit) no
        // ordering is implied.
        unit(
            r,
            &format!("{lib}/bare.target"),
            "[Unit]\nDefaultDependencies=no\nWants=db9.service\nBefore=sysinit.target\n",
        );
        assert_eq!(judge(r, "db9.service", &own), None);
        // Already ordered before the unit: systemd adds no loop.
        unit(
            r,
            &format!("{lib}/first.target"),
            "[Unit]\nRequires=db10.service\nBefore=db10.service basic.target\n",
        );
        assert_eq!(judge(r, "db10.service", &own), None);
        // Requires= counts as Wants= does; a service is after basic.target
        // by its own default dependencies, so basic.target implies nothing.
        unit(
            r,
            &format!("{lib}/req.target"),
            "[Unit]\nRequires=db11.service\nBefore=sysinit.target\n",
        );
        let why = judge(r, "db11.service", &own).unwrap();
        assert!(
            why.contains(
                "req.target pulls in db11.service (in /usr/lib/systemd/system/req.target)"
            ),
            "{why}"
        );
        unit(
            r,
            "etc/systemd/system/basic.target",
            "[Unit]\nWants=db9.service\n",
        );
        assert_eq!(judge(r, "db9.service", &own), None);
    }
}
