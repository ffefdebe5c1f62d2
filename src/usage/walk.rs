//! The walk: a shared stack of directories to read, worked by a few threads.
//! Each directory is opened relative to its parent's descriptor, its entries
//! are listed with getdents64 and examined with fstatat relative to it, so no
//! syscall ever resolves a long path.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use super::dirents::DirentBuf;
use super::inodes::SeenInodes;
use super::{RootError, Subdir, Totals, Usage};
use crate::escape;

/// Walkers keep nothing on the stack but a few frames (nothing recurses,
/// however deep the tree): small stacks keep the resident size down when
/// many threads wait on a cold disk.
const WALKER_STACK: usize = 128 * 1024;

/// The deepest directory a walk enters, counted from the service directory.
/// A service user can nest directories without end; below this depth a
/// directory is counted itself, its contents are not, and the service is
/// flagged partial naming it. Each level costs about 100 bytes while it is
/// walked, so the bound keeps the walk's memory bounded too.
pub const MAX_DEPTH: u32 = 200_000;

/// At most this many unreadable directories and errors are listed per
/// service; the rest are counted (`Usage::unlisted`).
pub const MAX_LISTED: usize = 100;

/// At most this many first- and second-level subdirectories are tracked per
/// service (what grows inside it): a service user can make millions of
/// directories, the walk's memory stays bounded (about 100 bytes each).
pub const MAX_SUBDIRS: usize = 10_000;

/// Descriptors the walk leaves for the rest of the process.
const FD_RESERVE: usize = 64;

/// Scans each service directory `names[i]` inside `base` with up to
/// `threads` threads in all, and returns one `Usage` per name, in order.
/// Neither the base nor a service directory is ever followed through a
/// symlink (a service user could point it anywhere): that is a root error.
/// Never fails: what cannot be read is reported in the result.
pub fn scan(base: &Path, names: &[&OsStr], threads: usize) -> Scanned {
    scan_until(base, names, threads, &AtomicBool::new(false))
}

/// [`scan`], stopping early once `stop` is set (a signal): the directories
/// not yet read are then missing, and each service with work left is flagged
/// partial ("cut short").
pub fn scan_until(base: &Path, names: &[&OsStr], threads: usize, stop: &AtomicBool) -> Scanned {
    scan_bounded(base, names, threads, stop, MAX_DEPTH)
}

fn scan_bounded(
    base: &Path,
    names: &[&OsStr],
    threads: usize,
    stop: &AtomicBool,
    max_depth: u32,
) -> Scanned {
    let mut usages: Vec<Usage> = names
        .iter()
        .map(|n| Usage {
            root: base.join(n),
            ..Usage::default()
        })
        .collect();
    let budget = fd_budget();
    // Each walker needs a descriptor of its own while it reads: never more
    // walkers than half the descriptors there are (a low `ulimit -n`).
    let asked = threads.clamp(1, MAX_THREADS);
    let wanted = asked.min((budget / 2).max(1));
    let mut thread_error = (wanted < asked).then(|| {
        format!(
            "walking with {wanted} threads, not {asked}: the descriptor limit (RLIMIT_NOFILE) leaves {budget}"
        )
    });
    // Service directories are opened only when a walker takes them, so
    // thousands of services never hold thousands of descriptors at once.
    let base_fd = match open_nofollow(None, base, base) {
        Ok(fd) => Some(fd),
        Err(e) => {
            for u in &mut usages {
                u.root_error = Some(e.clone());
            }
            None
        }
    };
    let jobs = match &base_fd {
        Some(_) => names
            .iter()
            .enumerate()
            .rev() // the stack is popped from the end: first service first
            .map(|(i, name)| Job {
                root: i,
                dev: 0,
                node: Arc::new(Node {
                    name: CString::new(name.as_bytes()).unwrap_or_default(),
                    parent: None,
                    id: (0, 0),
                    depth: 0,
                    buckets: [None, None],
                }),
                parent_fd: None,
            })
            .collect(),
        None => Vec::new(),
    };
    let shared = Shared {
        queue: Mutex::new(Queue {
            jobs,
            active: 0,
            waiting: 0,
        }),
        wake: Condvar::new(),
        seen: SeenInodes::default(),
        base: base.to_path_buf(),
        base_fd,
        open_fds: Arc::new(AtomicUsize::new(0)),
        // Each walker holds one descriptor of its own while it reads.
        budget: budget.saturating_sub(wanted),
        mount_root_known: AtomicBool::new(true),
        stop,
        max_depth,
        buckets: Mutex::new(Buckets {
            all: Vec::new(),
            per_root: vec![0; names.len()],
            capped: vec![false; names.len()],
        }),
    };
    let found: Vec<Found> = std::thread::scope(|s| {
        let mut helpers = Vec::new();
        for _ in 1..wanted {
            let spawned = std::thread::Builder::new()
                .stack_size(WALKER_STACK)
                .spawn_scoped(s, || worker(&shared, names.len()));
            match spawned {
                Ok(h) => helpers.push(h),
                // RLIMIT_NPROC, pids.max, memory: walk with the threads we have.
                Err(e) => {
                    thread_error = Some(format!(
                        "started {} of {wanted} walker threads: {e}",
                        helpers.len() + 1
                    ));
                    break;
                }
            }
        }
        let mut all = vec![worker(&shared, names.len())];
        all.extend(
            helpers
                .into_iter()
                .map(|h| h.join().expect("walker thread")),
        );
        all
    });
    // Jobs left: the walk was stopped. Their services are incomplete.
    let left = std::mem::take(&mut shared.queue.lock().expect("queue lock").jobs);
    let mut cut = vec![false; names.len()];
    for job in &left {
        cut[job.root] = true;
    }
    drop(left);
    let started = found.len();
    for f in found {
        for (u, t) in usages.iter_mut().zip(&f.totals) {
            u.totals.add(t);
        }
        for (i, e) in f.root_errors {
            usages[i].root_error = Some(e);
        }
        for (i, p) in f.unreadable {
            usages[i].unreadable.push(p);
        }
        for (i, e) in f.errors {
            usages[i].errors.push(e);
        }
        for (u, n) in usages.iter_mut().zip(&f.unlisted) {
            u.unlisted += n;
        }
    }
    for (u, cut) in usages.iter_mut().zip(cut) {
        if cut {
            u.errors.push(format!(
                "{}: the walk was cut short (a signal): not every directory was read",
                escape::untrusted_path(&u.root)
            ));
        }
        u.unreadable.sort();
        u.errors.sort();
        // Each thread listed up to the bound: keep the bound in all.
        for over in [
            u.unreadable.len().saturating_sub(MAX_LISTED),
            u.errors.len().saturating_sub(MAX_LISTED),
        ] {
            u.unlisted += over as u64;
        }
        u.unreadable.truncate(MAX_LISTED);
        u.errors.truncate(MAX_LISTED);
    }
    let buckets = shared.buckets.into_inner().expect("buckets lock");
    for b in buckets.all {
        usages[b.root].subdirs.push(Subdir {
            path: b.path.clone(),
            bytes: b.bytes.load(Ordering::Relaxed),
        });
    }
    for (u, capped) in usages.iter_mut().zip(buckets.capped) {
        u.subdirs_capped = capped;
    }
    Scanned {
        usages,
        threads: started,
        thread_error,
    }
}

/// The most walker threads a scan starts, whatever is asked: past a few
/// dozen they only wait on the same device queue.
pub const MAX_THREADS: usize = 256;

/// A scan's results, and the threads it really ran with.
pub struct Scanned {
    pub usages: Vec<Usage>,
    pub threads: usize,
    /// Why fewer threads than asked were started (the scan is still complete).
    pub thread_error: Option<String>,
}

#[cfg(test)]
thread_local! {
    static BUDGET_OVERRIDE: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// The descriptors a walk may keep open for directories waiting to be read:
/// the soft RLIMIT_NOFILE less what is open already and a reserve.
fn fd_budget() -> usize {
    #[cfg(test)]
    if let Some(b) = BUDGET_OVERRIDE.with(|b| b.get()) {
        return b;
    }
    let limit = crate::system::limits::nofile().0.min(1 << 20) as usize;
    let open = std::fs::read_dir("/proc/self/fd").map_or(16, |d| d.count());
    let free = limit.saturating_sub(open);
    free - FD_RESERVE.min(free / 2)
}

/// A directory seen by the walk: its name in its parent, its parent, its
/// identity. The chain up to the service directory gives a path (only for
/// a message) and the ancestors (only for a mount root, see below). It holds
/// no descriptor, so a chain of any depth costs memory, never descriptors.
struct Node {
    name: CString,
    parent: Option<Arc<Node>>,
    /// (st_dev, st_ino); (0, 0) for a service directory not yet opened.
    id: (u64, u64),
    depth: u32,
    /// The first- and second-level subdirectory this one is in (or is):
    /// what its entries' bytes add to.
    buckets: [Option<Arc<Bucket>>; 2],
}

/// Bytes below one first- or second-level subdirectory of a service.
struct Bucket {
    root: usize,
    /// Relative to the service directory.
    path: PathBuf,
    bytes: AtomicU64,
}

impl Bucket {
    fn add(buckets: &[Option<Arc<Bucket>>; 2], bytes: u64) {
        if bytes == 0 {
            return;
        }
        for b in buckets.iter().flatten() {
            b.bytes.fetch_add(bytes, Ordering::Relaxed);
        }
    }
}

impl Drop for Node {
    /// Unlinks the chain one node at a time: dropping a 100,000-deep chain
    /// by recursion would overflow the stack (it did: exit 134).
    fn drop(&mut self) {
        let mut up = self.parent.take();
        while let Some(node) = up {
            match Arc::try_unwrap(node) {
                Ok(mut node) => up = node.parent.take(),
                Err(_) => break, // still shared: its other holder drops it
            }
        }
    }
}

impl Node {
    /// The directory's path (for messages), built by walking up: O(depth),
    /// paid only for a directory that is reported.
    fn path(&self, base: &Path) -> PathBuf {
        let mut names: Vec<&CStr> = vec![&self.name];
        let mut at = self.parent.as_deref();
        while let Some(n) = at {
            names.push(&n.name);
            at = n.parent.as_deref();
        }
        let mut path = base.to_path_buf();
        for n in names.iter().rev() {
            path.push(OsStr::from_bytes(n.to_bytes()));
        }
        path
    }

    /// True when `id` is this directory or one above it: a bind mount
    /// looping back into the tree, which `du -x` neither counts nor enters.
    fn is_or_below(&self, id: (u64, u64)) -> bool {
        let mut at = Some(self);
        while let Some(n) = at {
            if n.id == id {
                return true;
            }
            at = n.parent.as_deref();
        }
        false
    }
}

/// A descriptor counted against the walk's budget while it is open.
struct Fd {
    fd: OwnedFd,
    open: Arc<AtomicUsize>,
}

impl Fd {
    fn new(fd: OwnedFd, open: &Arc<AtomicUsize>) -> Fd {
        open.fetch_add(1, Ordering::Relaxed);
        Fd {
            fd,
            open: Arc::clone(open),
        }
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Job {
    root: usize,
    /// st_dev of the service directory (0 until it is opened).
    dev: u64,
    /// The directory to read.
    node: Arc<Node>,
    /// The parent's descriptor, kept open while its children wait when the
    /// budget allows; None: opened again from the base, name by name.
    parent_fd: Option<Arc<Fd>>,
}

struct Queue {
    jobs: Vec<Job>,
    /// Jobs taken and not finished: their children may still come.
    active: usize,
    /// Threads asleep waiting for work, so a push wakes someone only if needed.
    waiting: usize,
}

struct Shared<'a> {
    queue: Mutex<Queue>,
    wake: Condvar,
    seen: SeenInodes,
    base: PathBuf,
    base_fd: Option<OwnedFd>,
    /// Directory descriptors open now, and how many may wait open.
    open_fds: Arc<AtomicUsize>,
    budget: usize,
    /// False once statx said it cannot tell a mount root (a kernel before
    /// 5.8): then every directory is checked against its ancestors.
    mount_root_known: AtomicBool,
    stop: &'a AtomicBool,
    max_depth: u32,
    buckets: Mutex<Buckets>,
}

/// Every tracked subdirectory, and per service how many and whether more
/// were left untracked.
struct Buckets {
    all: Vec<Arc<Bucket>>,
    per_root: Vec<usize>,
    capped: Vec<bool>,
}

/// What one thread found, merged after the walk.
struct Found {
    totals: Vec<Totals>,
    root_errors: Vec<(usize, RootError)>,
    unreadable: Vec<(usize, PathBuf)>,
    errors: Vec<(usize, String)>,
    /// Per service: unreadable directories and errors not listed.
    unlisted: Vec<u64>,
    /// Per service: listed so far by this thread.
    listed: Vec<usize>,
}

impl Found {
    /// Lists a problem unless this service has listed enough: a tree of a
    /// million unreadable directories must not become a million lines.
    fn room(&mut self, root: usize) -> bool {
        if self.listed[root] >= MAX_LISTED {
            self.unlisted[root] += 1;
            return false;
        }
        self.listed[root] += 1;
        true
    }

    fn unreadable(&mut self, root: usize, path: impl FnOnce() -> PathBuf) {
        if self.room(root) {
            self.unreadable.push((root, path()));
        }
    }

    fn error(&mut self, root: usize, message: impl FnOnce() -> String) {
        if self.room(root) {
            self.errors.push((root, message()));
        }
    }
}

impl Shared<'_> {
    /// The buckets of `parent`'s subdirectory `name`: a new one at the first
    /// and second levels (none past [`MAX_SUBDIRS`]), the parent's below.
    fn buckets_of(&self, root: usize, parent: &Node, name: &CStr) -> [Option<Arc<Bucket>>; 2] {
        let level = parent.depth + 1;
        if level > 2 {
            return parent.buckets.clone();
        }
        let name = Path::new(OsStr::from_bytes(name.to_bytes()));
        let path = match (level, &parent.buckets[0]) {
            (2, Some(l1)) => l1.path.join(name),
            (2, None) => return [None, None],
            _ => name.to_path_buf(),
        };
        let mut b = self.buckets.lock().expect("buckets lock");
        let new = if b.per_root[root] >= MAX_SUBDIRS {
            b.capped[root] = true;
            None
        } else {
            b.per_root[root] += 1;
            let bucket = Arc::new(Bucket {
                root,
                path,
                bytes: AtomicU64::new(0),
            });
            b.all.push(Arc::clone(&bucket));
            Some(bucket)
        };
        match level {
            1 => [new, None],
            _ => [parent.buckets[0].clone(), new],
        }
    }

    /// The next directory to read, or None when the walk is over (or stopped).
    fn take(&self) -> Option<Job> {
        let mut q = self.queue.lock().expect("queue lock");
        loop {
            if self.stop.load(Ordering::Relaxed) {
                self.wake.notify_all();
                return None;
            }
            if let Some(job) = q.jobs.pop() {
                q.active += 1;
                return Some(job);
            }
            if q.active == 0 {
                return None;
            }
            q.waiting += 1;
            // Timed, so a stop is seen by sleepers too.
            q = self
                .wake
                .wait_timeout(q, std::time::Duration::from_millis(200))
                .expect("queue lock")
                .0;
            q.waiting -= 1;
        }
    }

    /// Marks a job done and queues the subdirectories it found.
    fn finish(&self, children: &mut Vec<Job>) {
        let mut q = self.queue.lock().expect("queue lock");
        q.active -= 1;
        let pushed = children.len();
        q.jobs.append(children);
        if q.active == 0 && q.jobs.is_empty() {
            self.wake.notify_all(); // the walk is over: everyone leaves
        } else {
            // Wake one sleeper per new directory, not all of them.
            for _ in 0..pushed.min(q.waiting) {
                self.wake.notify_one();
            }
        }
    }

    fn shown(&self, node: &Node) -> String {
        escape::untrusted_path(&node.path(&self.base))
    }

    /// Opens a job's directory: the service directory from the base (never
    /// through a symlink), a child from its parent's descriptor, or, when
    /// that was not kept, from the base name by name, each step checked to be
    /// the directory seen before (a rename meanwhile is an error, never a
    /// walk of something else).
    fn open(&self, job: &Job, found: &mut Found) -> Option<OwnedFd> {
        let base_fd = self.base_fd.as_ref()?.as_fd();
        if job.node.parent.is_none() {
            let shown = self.base.join(OsStr::from_bytes(job.node.name.to_bytes()));
            return match open_nofollow(
                Some(base_fd),
                Path::new(OsStr::from_bytes(job.node.name.to_bytes())),
                &shown,
            ) {
                Ok(fd) => Some(fd),
                Err(e) => {
                    found.root_errors.push((job.root, e));
                    None
                }
            };
        }
        let opened = match &job.parent_fd {
            Some(parent) => open_dir(parent.fd.as_fd(), &job.node.name),
            None => self.reopen(base_fd, &job.node),
        };
        match opened {
            Ok(fd) => Some(fd),
            // Gone, or replaced by a non-directory, since its parent was read.
            Err(e) if vanished(&e) => None,
            Err(e) if e.raw_os_error() == Some(libc::EACCES) => {
                found.unreadable(job.root, || job.node.path(&self.base));
                None
            }
            // Out of file descriptors (EMFILE, ENFILE), memory, an I/O error:
            // the total misses this subtree, and says why.
            Err(e) => {
                found.error(job.root, || {
                    format!("{}: not read: {e}", self.shown(&job.node))
                });
                None
            }
        }
    }

    fn reopen(&self, base_fd: BorrowedFd<'_>, node: &Node) -> io::Result<OwnedFd> {
        let mut chain: Vec<&Node> = Vec::with_capacity(node.depth as usize + 1);
        let mut at = Some(node);
        while let Some(n) = at {
            chain.push(n);
            at = n.parent.as_deref();
        }
        let mut fd: Option<OwnedFd> = None;
        for n in chain.iter().rev() {
            let dir = fd.as_ref().map_or(base_fd, |f| f.as_fd());
            let next = open_dir(dir, &n.name)?;
            let st = fstat(next.as_fd())?;
            if (st.st_dev, st.st_ino) != n.id {
                return Err(io::Error::other("replaced while the walk ran"));
            }
            fd = Some(next);
        }
        fd.ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }
}

fn worker(shared: &Shared, roots: usize) -> Found {
    let mut found = Found {
        totals: vec![Totals::default(); roots],
        root_errors: Vec::new(),
        unreadable: Vec::new(),
        errors: Vec::new(),
        unlisted: vec![0; roots],
        listed: vec![0; roots],
    };
    let mut buf = DirentBuf::new();
    let mut children = Vec::new();
    while let Some(job) = shared.take() {
        read_dir(shared, job, &mut buf, &mut found, &mut children);
        shared.finish(&mut children);
    }
    found
}

/// Opens the job's directory, counts every entry in it and collects its
/// subdirectories as new jobs.
fn read_dir(
    shared: &Shared,
    mut job: Job,
    buf: &mut DirentBuf,
    found: &mut Found,
    children: &mut Vec<Job>,
) {
    let Some(fd) = shared.open(&job, found) else {
        return;
    };
    // The parent's descriptor is no longer needed by this job.
    job.parent_fd = None;
    if job.node.parent.is_none() {
        // A service directory: counted itself, and its device is the one
        // the walk stays on.
        match fstat(fd.as_fd()) {
            Ok(st) => {
                job.dev = st.st_dev;
                let t = &mut found.totals[job.root];
                t.dirs += 1;
                t.allocated_bytes += allocated(st.st_blocks);
                t.apparent_bytes += st.st_size.max(0) as u128;
                let node =
                    Arc::get_mut(&mut job.node).expect("a root job is its node's one holder");
                node.id = (st.st_dev, st.st_ino);
            }
            Err(e) => {
                let path = escape::untrusted_path(&job.node.path(&shared.base));
                found
                    .root_errors
                    .push((job.root, RootError::Other(format!("{path}: {e}"))));
                return;
            }
        }
    }
    let fd = Arc::new(Fd::new(fd, &shared.open_fds));
    let dev = job.dev;
    let root = job.root;
    // Whether this directory's descriptor waits open for its children:
    // decided at the first subdirectory, from the descriptors open then.
    let mut keep: Option<bool> = None;
    // A directory we may list but not search (r-- for us): its entries
    // cannot be examined. Reported once as unreadable, not once per entry.
    let mut denied = false;
    let mut problems: Vec<(CString, io::Error)> = Vec::new();
    let mut too_deep: Vec<CString> = Vec::new();
    let mut totals = std::mem::take(&mut found.totals[root]);
    // A stop is seen within a directory too: one of a million entries
    // would otherwise hold the run for its whole read.
    let mut seen: u32 = 0;
    let mut cut = false;
    // This directory's own entries' bytes, added to its subdirectory's
    // buckets once (not once per entry: threads would contend).
    let mut here_bytes: u64 = 0;
    let listed = buf.for_each(fd.fd.as_fd(), |entry| {
        seen = seen.wrapping_add(1);
        if seen % 1024 == 0 && shared.stop.load(Ordering::Relaxed) {
            cut = true;
        }
        if denied || cut {
            return;
        }
        let st = match stat_at(fd.fd.as_fd(), entry.name) {
            Ok(st) => st,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return,
            Err(e) if e.raw_os_error() == Some(libc::EACCES) => {
                denied = true;
                return;
            }
            Err(e) => {
                problems.push((entry.name.to_owned(), e));
                return;
            }
        };
        if st.dev != dev {
            return; // a mount point: like du -x, neither counted nor entered
        }
        if st.is_dir {
            let id = (st.dev, st.ino);
            // Only a mount root can be one of its own ancestors (a bind
            // mount of the same filesystem), so only it is checked: the
            // check walks up the chain.
            let check = match st.mount_root {
                Some(root) => root,
                None => {
                    shared.mount_root_known.store(false, Ordering::Relaxed);
                    true
                }
            };
            if check && job.node.is_or_below(id) {
                return; // a bind mount of an ancestor: as du -x, not counted
            }
            totals.dirs += 1;
            if job.node.depth >= shared.max_depth {
                too_deep.push(entry.name.to_owned());
                // Not entered: counted here.
                here_bytes += allocated(st.blocks);
            } else {
                let keep = *keep.get_or_insert_with(|| {
                    shared.open_fds.load(Ordering::Relaxed) <= shared.budget
                });
                let buckets = shared.buckets_of(root, &job.node, entry.name);
                // The directory itself counts in its own subdirectory's total (as du).
                Bucket::add(&buckets, allocated(st.blocks));
                children.push(Job {
                    root,
                    dev,
                    node: Arc::new(Node {
                        name: entry.name.to_owned(),
                        parent: Some(Arc::clone(&job.node)),
                        id,
                        depth: job.node.depth + 1,
                        buckets,
                    }),
                    parent_fd: keep.then(|| Arc::clone(&fd)),
                });
                totals.allocated_bytes += allocated(st.blocks);
                totals.apparent_bytes += u128::from(st.size);
                return;
            }
        } else {
            if st.nlink > 1 && !shared.seen.first_time(root, st.dev, st.ino) {
                return;
            }
            totals.files += 1;
            here_bytes += allocated(st.blocks);
        }
        totals.allocated_bytes += allocated(st.blocks);
        totals.apparent_bytes += u128::from(st.size);
    });
    found.totals[root] = totals;
    Bucket::add(&job.node.buckets, here_bytes);
    let here = || job.node.path(&shared.base);
    for (name, e) in problems {
        found.error(root, || {
            let path = here().join(OsStr::from_bytes(name.to_bytes()));
            format!("{}: {e}", escape::untrusted_path(&path))
        });
    }
    for name in too_deep {
        found.error(root, || {
            let path = here().join(OsStr::from_bytes(name.to_bytes()));
            format!(
                "{}: deeper than {} levels: counted itself, its contents are not",
                escape::untrusted_path(&path),
                shared.max_depth
            )
        });
    }
    if denied {
        found.unreadable(root, here);
    }
    if cut {
        found.error(root, || {
            format!(
                "{}: the walk was cut short (a signal) while reading it",
                escape::untrusted_path(&here())
            )
        });
    }
    if let Err(e) = listed {
        if !vanished(&e) {
            found.error(root, || format!("{}: {e}", escape::untrusted_path(&here())));
        }
    }
}

/// du's measure: 512-byte blocks actually allocated.
fn allocated(blocks: impl TryInto<u64>) -> u64 {
    blocks.try_into().unwrap_or(0).saturating_mul(512)
}

fn vanished(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOENT) | Some(libc::ENOTDIR) | Some(libc::ELOOP)
    )
}

const DIR_FLAGS: libc::c_int =
    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;

/// Opens a directory (relative to `at` when given) without following a
/// symlink in its last component; a symlink is reported with its target.
/// `shown` is the full path, for messages.
fn open_nofollow(
    at: Option<BorrowedFd<'_>>,
    path: &Path,
    shown: &Path,
) -> Result<OwnedFd, RootError> {
    let shown = escape::untrusted_path(shown);
    let name = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| RootError::Other(format!("{shown}: a NUL byte in the path")))?;
    let dirfd = at.map_or(libc::AT_FDCWD, |fd| fd.as_raw_fd());
    // SAFETY: a NUL-terminated path; the descriptor is owned from here on.
    let fd = unsafe { libc::openat(dirfd, name.as_ptr(), DIR_FLAGS) };
    if fd >= 0 {
        return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
    }
    let e = io::Error::last_os_error();
    // O_NOFOLLOW on a symlink: ELOOP (ENOTDIR with O_DIRECTORY on some kernels).
    if matches!(e.raw_os_error(), Some(libc::ELOOP) | Some(libc::ENOTDIR)) {
        if let Some(target) = read_link_at(dirfd, &name) {
            return Err(RootError::Symlink {
                path: shown,
                target: escape::untrusted_bytes(&target),
            });
        }
    }
    Err(RootError::Other(format!("{shown}: {e}")))
}

/// The target of a symlink, or None when `name` is not one.
fn read_link_at(dirfd: libc::c_int, name: &CStr) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: the buffer is valid for its length; readlinkat never NUL-terminates.
    let n = unsafe { libc::readlinkat(dirfd, name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return None;
    }
    buf.truncate(n as usize);
    Some(buf)
}

fn fstat(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat fills the whole struct when it returns 0.
    if unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(unsafe { st.assume_init() })
}

fn open_dir(parent: BorrowedFd<'_>, name: &CStr) -> io::Result<OwnedFd> {
    // SAFETY: a NUL-terminated name relative to an open directory.
    let fd = unsafe { libc::openat(parent.as_raw_fd(), name.as_ptr(), DIR_FLAGS) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// What the walk needs of an entry, from one statx that never follows a
/// symlink.
struct Stat {
    is_dir: bool,
    dev: u64,
    ino: u64,
    nlink: u64,
    blocks: u64,
    size: u64,
    /// Whether it is the root of a mount; None when the kernel cannot say.
    mount_root: Option<bool>,
}

fn stat_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<Stat> {
    let mut st = MaybeUninit::<libc::statx>::zeroed();
    let mask = libc::STATX_TYPE
        | libc::STATX_MODE
        | libc::STATX_NLINK
        | libc::STATX_INO
        | libc::STATX_SIZE
        | libc::STATX_BLOCKS;
    // SAFETY: statx fills the struct when it returns 0 (zeroed before).
    let rc = unsafe {
        libc::statx(
            dir.as_raw_fd(),
            name.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW | libc::AT_STATX_SYNC_AS_STAT,
            mask,
            st.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let st = unsafe { st.assume_init() };
    let mount_root_bit = libc::STATX_ATTR_MOUNT_ROOT as u64;
    Ok(Stat {
        is_dir: u32::from(st.stx_mode) & libc::S_IFMT == libc::S_IFDIR,
        dev: libc::makedev(st.stx_dev_major, st.stx_dev_minor),
        ino: st.stx_ino,
        nlink: u64::from(st.stx_nlink),
        blocks: st.stx_blocks,
        size: st.stx_size,
        mount_root: (st.stx_attributes_mask & mount_root_bit != 0)
            .then_some(st.stx_attributes & mount_root_bit != 0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chain `levels` deep under `dir/svc`, a 4 KiB file at every level.
    fn chain(dir: &Path, levels: usize) -> PathBuf {
        let mut at = dir.join("svc");
        std::fs::create_dir(&at).unwrap();
        for _ in 0..levels {
            std::fs::write(at.join("f"), [1u8; 4096]).unwrap();
            at.push("d");
            std::fs::create_dir(&at).unwrap();
        }
        at
    }

    #[test]
    fn past_the_depth_bound_the_result_is_partial_and_names_the_directory() {
        let tmp = tempfile::tempdir().unwrap();
        chain(tmp.path(), 30);
        let names = [OsStr::new("svc")];
        let stop = AtomicBool::new(false);
        let full = scan_bounded(tmp.path(), &names, 4, &stop, 100);
        let u = &full.usages[0];
        assert!(!u.partial(), "{u:?}");
        assert_eq!((u.totals.dirs, u.totals.files), (31, 30));
        let cut = scan_bounded(tmp.path(), &names, 4, &stop, 10);
        let c = &cut.usages[0];
        assert!(c.partial(), "{c:?}");
        // Levels 0..=10 read; the 11th directory counted, not entered.
        assert_eq!((c.totals.dirs, c.totals.files), (12, 11), "{c:?}");
        let deep = format!("{}/svc{}", tmp.path().display(), "/d".repeat(11));
        assert_eq!(c.errors.len(), 1, "{c:?}");
        assert!(c.errors[0].starts_with(&deep), "{c:?}");
        assert!(c.errors[0].contains("deeper than 10 levels"), "{c:?}");
    }

    #[test]
    fn a_stop_leaves_the_scan_partial_never_hung() {
        let tmp = tempfile::tempdir().unwrap();
        chain(tmp.path(), 50);
        let stop = AtomicBool::new(true);
        let s = scan_until(tmp.path(), &[OsStr::new("svc")], 4, &stop);
        assert!(s.usages[0].partial(), "{:?}", s.usages[0]);
        assert!(
            s.usages[0].errors[0].contains("cut short"),
            "{:?}",
            s.usages[0]
        );
    }

    #[test]
    fn a_descriptor_budget_of_nothing_still_walks_everything() {
        // Every waiting directory opened again from the base, name by name.
        let tmp = tempfile::tempdir().unwrap();
        let mut at = tmp.path().join("svc");
        std::fs::create_dir(&at).unwrap();
        for i in 0..40 {
            std::fs::create_dir(at.join(format!("sib{i}"))).unwrap();
            std::fs::write(at.join(format!("sib{i}/f")), [1u8; 10]).unwrap();
            at.push("d");
            std::fs::create_dir(&at).unwrap();
        }
        let stop = AtomicBool::new(false);
        let names = [OsStr::new("svc")];
        let normal = scan_bounded(tmp.path(), &names, 2, &stop, MAX_DEPTH);
        let starved = BUDGET_OVERRIDE.with(|b| {
            b.set(Some(0));
            let s = scan_bounded(tmp.path(), &names, 2, &stop, MAX_DEPTH);
            b.set(None);
            s
        });
        assert!(!starved.usages[0].partial(), "{:?}", starved.usages[0]);
        assert_eq!(normal.usages[0].totals, starved.usages[0].totals);
        assert_eq!(starved.usages[0].totals.dirs, 81);
    }
}
