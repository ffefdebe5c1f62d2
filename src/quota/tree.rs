//! The tree check: every entry below a service directory belongs to the
//! service's project, and every directory passes it on (what `xfs_quota -c
//! 'project -c'` checks). The kernel lets an entry's owner change its project
//! ID and clear a directory's inherit flag (`chattr -p ID`, `chattr -P`):
//! kafka can move its own file into redis's project, or tag a directory of its
//! own with an ID no limit holds. Only a walk finds that, so it runs at the
//! layout's cadence (`monitor.quota_tree_every`, daily by default), never on
//! every monitor run; `jts-hot quota set --repair` walks at once and re-tags
//! what it finds. The last result lives in the state directory, where
//! validate (`quota.tree`) and the monitor's metrics read it.
//!
//! The walk never follows a symlink, never leaves the service directory's
//! filesystem, never enters a subtree the layout gives to another quota
//! manager (`quota_foreign`), holds one directory descriptor at a time (it
//! climbs back with `..`, checked by device and inode) and keeps no
//! recursion: any depth or width is walked in memory proportional to the
//! names still to visit. It only reads, except that a repair re-tags an
//! entry's project (FS_IOC_FSSETXATTR): no data is moved, rewritten or deleted.

use std::collections::HashSet;
use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{open_dir, sys, Effective};
use crate::escape;
use crate::layout::{Layout, QuotaMode, Service};
use crate::state::{self, Document, StateDir};
use crate::usage::dirents::DirentBuf;

/// Entries named per service in a result (the counts cover them all).
pub const EXAMPLES: usize = 10;
/// Errors kept per service (the count covers them all).
const ERRORS: usize = 10;

/// One walk of every service tree: what was found, what was re-tagged.
/// Saved in the state directory as `quota-tree.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TreeScan {
    /// When the walk began, seconds since the Unix epoch.
    pub started_unix: u64,
    pub duration_seconds: f64,
    /// Whether this walk re-tagged what it found (`quota set --repair`).
    pub repair: bool,
    pub services: Vec<TreeService>,
    /// Why the walk ended before every tree was walked (its time budget, a
    /// signal); the services it did not finish are partial. None: complete.
    #[serde(default)]
    pub stopped: Option<String>,
}

/// One service's tree.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TreeService {
    pub service: String,
    pub project_id: u32,
    /// Entries walked (the service directory included).
    pub entries: u64,
    /// Files and directories left outside the project (or directories
    /// without the inherit flag) after this walk: allocated bytes (st_blocks
    /// × 512, hard links once) and inodes.
    pub misattributed_bytes: u64,
    pub misattributed_inodes: u64,
    /// What this walk re-tagged into the project.
    pub repaired_bytes: u64,
    pub repaired_inodes: u64,
    /// The first few entries found, escaped paths.
    pub examples: Vec<Misattributed>,
    /// Symlinks, FIFOs, sockets and device nodes: the kernel gives their
    /// project only through a descriptor they cannot be opened for (Linux
    /// 6.17's file_getattr aside), so they are counted, not checked.
    pub special_unchecked: u64,
    /// Subtrees not entered: named in `quota_foreign`, or another filesystem.
    pub skipped: Vec<String>,
    /// What could not be read or re-tagged (the first few).
    pub errors: Vec<String>,
    pub error_count: u64,
    /// Some part could not be walked: the counts are lower bounds.
    pub partial: bool,
}

/// An entry outside its service's project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Misattributed {
    pub path: String,
    /// The project it carried.
    pub project_id: u32,
    pub directory: bool,
    /// A directory in the right project whose inherit flag was cleared.
    pub inherit_missing: bool,
    pub bytes: u64,
    /// Re-tagged by this walk.
    pub repaired: bool,
}

impl Document for TreeScan {
    const FILE_NAME: &'static str = "quota-tree.json";
    const SCHEMA: &'static str = "jts-hot.quota-tree/1";
    const WHAT: &'static str = "quota tree scan";
    /// Bounded lists per service: ~3 KB each; 10,000 services fit.
    const MAX_BYTES: u64 = 64 << 20;
    const PRETTY: bool = false;
}

impl TreeScan {
    pub fn service(&self, name: &str) -> Option<&TreeService> {
        self.services.iter().find(|s| s.service == name)
    }

    /// Whether a new walk is due at `now` for `layout`: none yet, older than
    /// the cadence, from a clock that has since gone back, or missing a service.
    pub fn due(&self, layout: &Layout, now: u64) -> bool {
        let every = layout.monitor.quota_tree_every().as_secs();
        now < self.started_unix
            || now - self.started_unix >= every
            || layout
                .services
                .iter()
                .any(|s| self.service(s.name.as_str()).is_none())
    }
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// When a walk must end early: a flag a signal sets (the unit's stop at its
/// TimeoutStartSec=), or a time budget spent. A walk that ends early says
/// so (`TreeScan::stopped`) and flags every service it did not finish.
pub struct Halt<'a> {
    pub stop: &'a AtomicBool,
    pub budget: Option<Duration>,
}

impl Halt<'_> {
    /// No limit: `quota set --repair`, run by hand, walks to the end.
    pub const NONE: Halt<'static> = Halt {
        stop: &NEVER,
        budget: None,
    };
}

static NEVER: AtomicBool = AtomicBool::new(false);

/// A running walk's end: checked at every entry.
struct Until<'a> {
    stop: &'a AtomicBool,
    deadline: Option<(Instant, Duration)>,
    why: Option<String>,
}

impl Until<'_> {
    fn reached(&mut self) -> bool {
        if self.why.is_some() {
            return true;
        }
        if self.stop.load(Ordering::Relaxed) {
            self.why = Some("stopped by a signal (the unit's TimeoutStartSec=, or a stop)".into());
        } else if let Some((_, budget)) = self.deadline.filter(|(at, _)| Instant::now() >= *at) {
            self.why = Some(format!(
                "stopped at its time budget ({}s: half the monitor unit's TimeoutStartSec=)",
                budget.as_secs()
            ));
        }
        self.why.is_some()
    }
}

/// Walks every service tree (re-tagging what is outside the project when
/// `repair`) until `halt`. None when the layout's quotas are off or not in
/// effect on the filesystem (no accounting: project IDs mean nothing there).
/// `known`: the quota state the caller already read (in the sandboxed
/// monitor, from the privileged reader's record: it may not query it).
pub fn scan(
    layout: &Layout,
    repair: bool,
    known: Option<sys::State>,
    halt: &Halt,
) -> Option<TreeScan> {
    if layout.tier.quota == QuotaMode::Off {
        return None;
    }
    let base = open_dir(&layout.tier.base).ok()?;
    let state = known.or_else(|| sys::state(base.as_fd()).ok());
    if Effective::of(layout.tier.quota, state) == Effective::Off
        || !state.is_some_and(|s| s.accounting)
    {
        return None;
    }
    let dev = fstat(base.as_fd()).ok()?.st_dev;
    let started = Instant::now();
    let started_unix = now_unix();
    let mut until = Until {
        stop: halt.stop,
        deadline: halt.budget.map(|b| (started + b, b)),
        why: None,
    };
    let services = layout
        .services
        .iter()
        .map(|s| walk_service(layout, s, dev, repair, &mut until))
        .collect();
    Some(TreeScan {
        started_unix,
        duration_seconds: started.elapsed().as_secs_f64(),
        repair,
        services,
        stopped: until.why,
    })
}

/// What the monitor does each run: reads the last walk from the state
/// directory and walks again only when one is due. `ran`: this run walked.
#[derive(Debug, Clone)]
pub struct AtCadence {
    pub scan: Option<TreeScan>,
    pub ran: bool,
    pub notes: Vec<String>,
}

pub fn at_cadence(
    layout: &Layout,
    dir: &StateDir,
    known: Option<sys::State>,
    halt: &Halt,
) -> AtCadence {
    let mut out = AtCadence {
        scan: None,
        ran: false,
        notes: Vec::new(),
    };
    if layout.tier.quota == QuotaMode::Off {
        return out;
    }
    let loaded = state::load::<TreeScan>(dir);
    out.notes.extend(loaded.trouble().map(str::to_string));
    let unreadable = matches!(loaded, state::Loaded::Unreadable(_));
    let last = loaded.found();
    if unreadable || last.as_ref().is_some_and(|l| !l.due(layout, now_unix())) {
        out.scan = last;
        return out;
    }
    match scan(layout, false, known, halt) {
        Some(fresh) => {
            if let Err(e) = state::save(dir, &fresh) {
                out.notes
                    .push(format!("cannot save the quota tree scan: {e:#}"));
            }
            out.ran = true;
            out.scan = Some(fresh);
        }
        None => out.scan = last,
    }
    out
}

// ------------------------------------------------------------------- walk

const DIR_FLAGS: libc::c_int =
    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
/// A regular file is opened only to read its attributes: never following a
/// link, never blocking (a FIFO swapped in), never becoming a terminal.
const FILE_FLAGS: libc::c_int =
    libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;

/// A directory on the way down: its identity and the names still to visit.
struct Frame {
    id: (u64, u64),
    pending: Vec<CString>,
}

struct Walk<'a, 'b> {
    out: TreeService,
    id: u32,
    dev: u64,
    repair: bool,
    foreign: &'a [PathBuf],
    /// Files with more than one link, counted once.
    seen: HashSet<u64>,
    buf: DirentBuf,
    until: &'a mut Until<'b>,
}

fn walk_service(
    layout: &Layout,
    service: &Service,
    dev: u64,
    repair: bool,
    until: &mut Until,
) -> TreeService {
    let target = Target {
        service: service.name.as_str(),
        id: service.quota.project_id,
        foreign: &service.quota_foreign,
    };
    walk(service.path(layout), &target, Some(dev), repair, until)
}

/// What one walk holds a tree to.
struct Target<'a> {
    service: &'a str,
    id: u32,
    /// Relative paths not entered.
    foreign: &'a [PathBuf],
}

/// Walks `root`, which must lie on `dev` (None: wherever it is), until `until`.
fn walk(
    root: PathBuf,
    target: &Target,
    dev: Option<u64>,
    repair: bool,
    until: &mut Until,
) -> TreeService {
    let mut w = Walk {
        out: TreeService {
            service: target.service.to_string(),
            project_id: target.id,
            ..Default::default()
        },
        id: target.id,
        dev: dev.unwrap_or_default(),
        repair,
        foreign: target.foreign,
        seen: HashSet::new(),
        buf: DirentBuf::new(),
        until,
    };
    if w.until.reached() {
        let why = format!(
            "not walked: the walk {}",
            w.until.why.clone().unwrap_or_default()
        );
        w.error(&root, why);
        return w.out;
    }
    let opened = open_dir(&root).map(OwnedFd::from);
    match opened.and_then(|fd| fstat(fd.as_fd()).map(|st| (fd, st))) {
        Ok((fd, st)) if dev.map_or(true, |d| st.st_dev == d) => {
            w.dev = st.st_dev;
            w.tree(fd, st, root)
        }
        Ok(_) => w.error(&root, "on another filesystem than the tier's base".into()),
        // A missing service directory is the dirs checks' finding.
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        Err(e) => w.error(&root, e.to_string()),
    }
    w.out
}

impl Walk<'_, '_> {
    fn error(&mut self, path: &Path, e: String) {
        self.out.partial = true;
        self.out.error_count += 1;
        if self.out.errors.len() < ERRORS {
            self.out
                .errors
                .push(format!("{}: {e}", escape::untrusted_path(path)));
        }
    }

    /// Walks the tree below `root` (opened as `fd`), depth first, one
    /// descriptor at a time.
    fn tree(&mut self, fd: OwnedFd, st: libc::stat, root: PathBuf) {
        let mut path = root;
        let mut rel = PathBuf::new();
        self.examine(fd.as_fd(), &st, true, &path);
        let Some(pending) = self.list(fd.as_fd(), &path) else {
            return;
        };
        let mut stack = vec![Frame {
            id: (st.st_dev, st.st_ino),
            pending,
        }];
        let mut cur = fd;
        loop {
            if self.until.reached() {
                let why = format!(
                    "the walk {} here",
                    self.until.why.clone().unwrap_or_default()
                );
                self.error(&path, why);
                return;
            }
            let top = stack.last_mut().expect("not empty while walking");
            let Some(name) = top.pending.pop() else {
                stack.pop();
                let Some(parent) = stack.last() else {
                    return;
                };
                path.pop();
                rel.pop();
                // Climb back; a directory moved meanwhile ends this tree's walk.
                match open_at(cur.as_fd(), c"..", DIR_FLAGS).and_then(|fd| {
                    let st = fstat(fd.as_fd())?;
                    Ok((fd, (st.st_dev, st.st_ino)))
                }) {
                    Ok((fd, id)) if id == parent.id => cur = fd,
                    Ok(_) => {
                        self.error(&path, "moved during the walk; walk it again".into());
                        return;
                    }
                    Err(e) => {
                        self.error(&path, e.to_string());
                        return;
                    }
                }
                continue;
            };
            let child = path.join(OsStr::from_bytes(name.to_bytes()));
            let st = match stat_at(cur.as_fd(), &name) {
                Ok(st) => st,
                Err(e) if vanished(&e) => continue,
                Err(e) => {
                    self.error(&child, e.to_string());
                    continue;
                }
            };
            self.out.entries += 1;
            if st.st_dev != self.dev {
                self.skip(&child, "another filesystem");
                continue;
            }
            match st.st_mode & libc::S_IFMT {
                libc::S_IFDIR => {
                    let child_rel = rel.join(OsStr::from_bytes(name.to_bytes()));
                    if self.foreign.contains(&child_rel) {
                        self.skip(&child, "quota_foreign: another quota manager's");
                        continue;
                    }
                    let Some(fd) = self.open_same(cur.as_fd(), &name, DIR_FLAGS, &st, &child)
                    else {
                        continue;
                    };
                    self.examine(fd.as_fd(), &st, true, &child);
                    let Some(pending) = self.list(fd.as_fd(), &child) else {
                        continue;
                    };
                    stack.push(Frame {
                        id: (st.st_dev, st.st_ino),
                        pending,
                    });
                    cur = fd;
                    path = child;
                    rel = child_rel;
                }
                libc::S_IFREG => {
                    if st.st_nlink > 1 && !self.seen.insert(st.st_ino) {
                        continue;
                    }
                    if let Some(fd) = self.open_same(cur.as_fd(), &name, FILE_FLAGS, &st, &child) {
                        self.examine(fd.as_fd(), &st, false, &child);
                    }
                }
                _ => self.out.special_unchecked += 1,
            }
        }
    }

    fn skip(&mut self, path: &Path, why: &str) {
        if self.out.skipped.len() < EXAMPLES {
            self.out
                .skipped
                .push(format!("{}: {why}", escape::untrusted_path(path)));
        }
    }

    /// Opens `name` in `dir`, only if it is still the entry `st` describes.
    fn open_same(
        &mut self,
        dir: BorrowedFd,
        name: &CStr,
        flags: libc::c_int,
        st: &libc::stat,
        path: &Path,
    ) -> Option<OwnedFd> {
        match open_at(dir, name, flags).and_then(|fd| Ok((fstat(fd.as_fd())?, fd))) {
            Ok((now, fd)) if (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino) => Some(fd),
            // Replaced between the stat and the open: not what was listed.
            Ok(_) => None,
            Err(e) if vanished(&e) => None,
            Err(e) => {
                self.error(path, e.to_string());
                None
            }
        }
    }

    /// The names in a directory, or None (reported) when it cannot be read.
    fn list(&mut self, dir: BorrowedFd, path: &Path) -> Option<Vec<CString>> {
        let mut names = Vec::new();
        match self.buf.for_each(dir, |e| names.push(e.name.to_owned())) {
            Ok(()) => Some(names),
            Err(e) => {
                self.error(path, format!("cannot list: {e}"));
                None
            }
        }
    }

    /// Counts (and with repair, re-tags) one entry outside the project.
    fn examine(&mut self, fd: BorrowedFd, st: &libc::stat, directory: bool, path: &Path) {
        let project = match sys::project(fd) {
            Ok(p) => p,
            Err(e) => {
                self.error(path, format!("cannot read its project: {e}"));
                return;
            }
        };
        let wrong_id = project.id != self.id;
        let inherit_missing = directory && !project.inherit;
        if !wrong_id && !inherit_missing {
            return;
        }
        let bytes = st.st_blocks as u64 * 512;
        let mut repaired = false;
        if self.repair {
            match sys::set_entry_project(fd, self.id, directory) {
                Ok(()) => repaired = true,
                Err(e) => self.error(path, format!("cannot re-tag: {e}")),
            }
        }
        // A directory only missing its flag holds no misplaced bytes.
        let counted = if wrong_id { bytes } else { 0 };
        if repaired {
            self.out.repaired_bytes += counted;
            self.out.repaired_inodes += 1;
        } else {
            self.out.misattributed_bytes += counted;
            self.out.misattributed_inodes += 1;
        }
        if self.out.examples.len() < EXAMPLES {
            self.out.examples.push(Misattributed {
                path: escape::untrusted_path(path),
                project_id: project.id,
                directory,
                inherit_missing: inherit_missing && !wrong_id,
                bytes: counted,
                repaired,
            });
        }
    }
}

fn vanished(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOENT | libc::ENOTDIR | libc::ELOOP)
    )
}

fn open_at(dir: BorrowedFd, name: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: a NUL-terminated name relative to an open directory.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a descriptor just opened, owned from here on.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn fstat(fd: BorrowedFd) -> io::Result<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat fills the whole struct when it returns 0.
    if unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(unsafe { st.assume_init() })
}

fn stat_at(dir: BorrowedFd, name: &CStr) -> io::Result<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstatat fills the whole struct when it returns 0; never follows a symlink.
    let rc = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            st.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(unsafe { st.assume_init() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn free() -> Until<'static> {
        Until {
            stop: &NEVER,
            deadline: None,
            why: None,
        }
    }

    /// A walk whose budget is spent or whose unit is being stopped ends at
    /// once, flagged partial with the reason, and walks nothing more.
    #[test]
    fn a_walk_stops_flagged_at_its_budget_or_a_signal() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("kafka");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/f"), b"x").unwrap();
        let target = Target {
            service: "kafka",
            id: 1,
            foreign: &[],
        };
        let whole = walk(root.clone(), &target, None, false, &mut free());
        assert!(!whole.partial && whole.entries == 3, "{whole:#?}");

        let mut spent = Until {
            stop: &NEVER,
            deadline: Some((Instant::now(), Duration::from_secs(450))),
            why: None,
        };
        let t = walk(root.clone(), &target, None, false, &mut spent);
        assert!(t.partial, "{t:#?}");
        assert_eq!(t.entries, 0, "nothing walked past the budget: {t:#?}");
        assert!(
            t.errors[0].contains("stopped at its time budget (450s"),
            "{:?}",
            t.errors
        );
        // The next service is not started.
        let next = walk(root.clone(), &target, None, false, &mut spent);
        assert!(
            next.partial && next.errors[0].contains("not walked"),
            "{next:#?}"
        );

        let signalled = AtomicBool::new(true);
        let mut stop = Until {
            stop: &signalled,
            deadline: None,
            why: None,
        };
        let t = walk(root, &target, None, false, &mut stop);
        assert!(t.partial, "{t:#?}");
        assert!(
            t.errors[0].contains("stopped by a signal"),
            "{:?}",
            t.errors
        );
    }

    /// On any filesystem with FS_IOC_FSGETXATTR (the host's ext4 has no
    /// project quotas: everything is project 0), a walk for project 1 finds
    /// every file and directory, once, whatever the tree's shape and names,
    /// and never follows, opens or enters what it must not.
    #[test]
    fn finds_everything_outside_the_project_and_nothing_it_must_not_touch() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("kafka");
        std::fs::create_dir(&root).unwrap();
        // A chain 2,500 deep: no recursion, one descriptor at a time.
        // (past PATH_MAX: made relative to each level's descriptor)
        let mut fd = OwnedFd::from(open_dir(&root).unwrap());
        for _ in 0..2500 {
            // SAFETY: a NUL-terminated name relative to an open directory.
            assert_eq!(
                unsafe { libc::mkdirat(fd.as_raw_fd(), c"d".as_ptr(), 0o755) },
                0
            );
            fd = open_at(fd.as_fd(), c"d", DIR_FLAGS).unwrap();
        }
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC;
        // SAFETY: as above; the new file's descriptor is owned at once.
        let file = unsafe { libc::openat(fd.as_raw_fd(), c"bottom".as_ptr(), flags, 0o644) };
        let mut file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(file) });
        std::io::Write::write_all(&mut file, &[1u8; 8192]).unwrap();
        file.sync_all().unwrap();
        // Hostile names, a hard link, a symlink out, a FIFO.
        std::fs::write(root.join("x\n<2>CRITICAL forged"), b"x").unwrap();
        std::fs::write(root.join("a"), b"a").unwrap();
        std::fs::hard_link(root.join("a"), root.join("a-link")).unwrap();
        symlink("/etc", root.join("etc")).unwrap();
        nix::unistd::mkfifo(&root.join("fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        // Another quota manager's subtree.
        std::fs::create_dir_all(root.join("overlay2/l1")).unwrap();
        std::fs::write(root.join("overlay2/l1/layer"), b"l").unwrap();

        let foreign = [PathBuf::from("overlay2")];
        let target = Target {
            service: "kafka",
            id: 1,
            foreign: &foreign,
        };
        let t = walk(root.clone(), &target, None, false, &mut free());
        assert!(!t.partial, "{t:#?}");
        // root + 2500 dirs + bottom + forged + a (once) = 2504.
        assert_eq!(t.misattributed_inodes, 2504, "{:?}", t.errors);
        assert_eq!(t.special_unchecked, 2, "the symlink and the FIFO");
        assert_eq!(t.skipped.len(), 1);
        assert!(t.skipped[0].ends_with("/overlay2: quota_foreign: another quota manager's"));
        assert!(t.misattributed_bytes >= 8192);
        assert_eq!(t.examples.len(), EXAMPLES);
        let text = serde_json::to_string(&t).unwrap();
        assert!(!text.contains("x\n"), "raw newline in {text}");
        assert!(!text.contains("x\n<2>"), "{text}");

        // Without the foreign name, overlay2 is walked too.
        let target = Target {
            service: "kafka",
            id: 1,
            foreign: &[],
        };
        assert_eq!(
            walk(root.clone(), &target, None, false, &mut free()).misattributed_inodes,
            2507
        );

        // Hostile names are escaped wherever they are shown.
        let alone = tmp.path().join("alone");
        std::fs::create_dir(&alone).unwrap();
        std::fs::write(alone.join("x\n<2>CRITICAL forged"), b"x").unwrap();
        let t = walk(alone, &target, None, false, &mut free());
        let text = serde_json::to_string(&t).unwrap();
        assert!(text.contains(r"x\\n<2>CRITICAL forged"), "{text}");
        assert!(!text.contains("x\n<2>"), "{text}");
    }

    #[test]
    fn a_walk_is_due_by_cadence_clock_and_services() {
        let layout = Layout::builtin();
        let scan = TreeScan {
            started_unix: 1_000_000,
            services: layout
                .services
                .iter()
                .map(|s| TreeService {
                    service: s.name.to_string(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        assert!(!scan.due(&layout, 1_000_000 + 86_399));
        assert!(scan.due(&layout, 1_000_000 + 86_400));
        assert!(scan.due(&layout, 999_999), "a clock gone back");
        let mut fewer = scan.clone();
        fewer.services.pop();
        assert!(fewer.due(&layout, 1_000_001), "a service never walked");
    }
}
