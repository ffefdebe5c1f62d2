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
use std::sync::{Arc, Condvar, Mutex};

use super::dirents::DirentBuf;
use super::inodes::SeenInodes;
use super::{RootError, Totals, Usage};
use crate::escape;

/// Walkers keep nothing on the stack but a few frames: small stacks keep
/// the resident size down when many threads wait on a cold disk.
const WALKER_STACK: usize = 128 * 1024;

/// Scans each service directory `names[i]` inside `base` with up to
/// `threads` threads in all, and returns one `Usage` per name, in order.
/// Neither the base nor a service directory is ever followed through a
/// symlink (a service user could point it anywhere): that is a root error.
/// Never fails: what cannot be read is reported in the result.
pub fn scan(base: &Path, names: &[&OsStr], threads: usize) -> Scanned {
    let mut usages: Vec<Usage> = names
        .iter()
        .map(|n| Usage {
            root: base.join(n),
            ..Usage::default()
        })
        .collect();
    let mut devs = vec![0u64; names.len()];
    let mut jobs = Vec::new();
    let base_fd = open_nofollow(None, base, base);
    for (i, name) in names.iter().enumerate() {
        let opened = match &base_fd {
            Ok(fd) => open_nofollow(Some(fd.as_fd()), Path::new(name), &usages[i].root),
            Err(e) => Err(e.clone()),
        };
        match opened {
            Ok(fd) => match fstat(fd.as_fd()) {
                Ok(st) => {
                    devs[i] = st.st_dev;
                    usages[i].totals.dirs = 1;
                    usages[i].totals.allocated_bytes = allocated(&st);
                    usages[i].totals.apparent_bytes = st.st_size.max(0) as u128;
                    jobs.push(Job {
                        root: i,
                        dir: DirRef::Open(Arc::new(fd)),
                        path: usages[i].root.clone(),
                        ancestors: Arc::new(Ancestor {
                            id: (st.st_dev, st.st_ino),
                            up: None,
                        }),
                    });
                }
                Err(e) => {
                    let path = escape::untrusted_path(&usages[i].root);
                    usages[i].root_error = Some(RootError::Other(format!("{path}: {e}")));
                }
            },
            Err(e) => usages[i].root_error = Some(e),
        }
    }
    let shared = Shared {
        queue: Mutex::new(Queue {
            jobs,
            active: 0,
            waiting: 0,
        }),
        wake: Condvar::new(),
        seen: SeenInodes::default(),
        devs,
    };
    let wanted = threads.clamp(1, MAX_THREADS);
    let mut thread_error = None;
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
    let started = found.len();
    for f in found {
        for (u, t) in usages.iter_mut().zip(&f.totals) {
            u.totals.add(t);
        }
        for (i, p) in f.unreadable {
            usages[i].unreadable.push(p);
        }
        for (i, e) in f.errors {
            usages[i].errors.push(e);
        }
    }
    for u in &mut usages {
        u.unreadable.sort();
        u.errors.sort();
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

/// The (st_dev, st_ino) of each directory from a job's up to its root: a
/// directory that is one of its own ancestors is a bind mount looping back
/// into the tree, which `du -x` neither counts nor enters, and neither do we.
struct Ancestor {
    id: (u64, u64),
    up: Option<Arc<Ancestor>>,
}

impl Ancestor {
    fn contains(self: &Arc<Self>, id: (u64, u64)) -> bool {
        let mut at = Some(self);
        while let Some(a) = at {
            if a.id == id {
                return true;
            }
            at = a.up.as_ref();
        }
        false
    }
}

/// A directory waiting to be read: a root already open, or a name inside a
/// parent whose descriptor stays open while any of its children wait.
enum DirRef {
    Open(Arc<OwnedFd>),
    At(Arc<OwnedFd>, CString),
}

struct Job {
    root: usize,
    dir: DirRef,
    /// Only for reporting an unreadable directory.
    path: PathBuf,
    /// This directory and the ones above it.
    ancestors: Arc<Ancestor>,
}

struct Queue {
    jobs: Vec<Job>,
    /// Jobs taken and not finished: their children may still come.
    active: usize,
    /// Threads asleep waiting for work, so a push wakes someone only if needed.
    waiting: usize,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    seen: SeenInodes,
    /// st_dev of each root: nothing on another device is entered or counted.
    devs: Vec<u64>,
}

/// What one thread found, merged after the walk.
struct Found {
    totals: Vec<Totals>,
    unreadable: Vec<(usize, PathBuf)>,
    errors: Vec<(usize, String)>,
}

impl Shared {
    /// The next directory to read, or None when the walk is over.
    fn take(&self) -> Option<Job> {
        let mut q = self.queue.lock().expect("queue lock");
        loop {
            if let Some(job) = q.jobs.pop() {
                q.active += 1;
                return Some(job);
            }
            if q.active == 0 {
                return None;
            }
            q.waiting += 1;
            q = self.wake.wait(q).expect("queue lock");
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
}

fn worker(shared: &Shared, roots: usize) -> Found {
    let mut found = Found {
        totals: vec![Totals::default(); roots],
        unreadable: Vec::new(),
        errors: Vec::new(),
    };
    let mut buf = DirentBuf::new();
    let mut children = Vec::new();
    while let Some(job) = shared.take() {
        read_dir(shared, &job, &mut buf, &mut found, &mut children);
        shared.finish(&mut children);
    }
    found
}

/// Opens the job's directory, counts every entry in it and collects its
/// subdirectories as new jobs.
fn read_dir(
    shared: &Shared,
    job: &Job,
    buf: &mut DirentBuf,
    found: &mut Found,
    children: &mut Vec<Job>,
) {
    let fd = match &job.dir {
        DirRef::Open(fd) => Arc::clone(fd),
        DirRef::At(parent, name) => match open_dir(parent.as_fd(), name) {
            Ok(fd) => Arc::new(fd),
            // Gone, or replaced by a non-directory, since its parent was read.
            Err(e) if vanished(&e) => return,
            Err(e) if e.raw_os_error() == Some(libc::EACCES) => {
                found.unreadable.push((job.root, job.path.clone()));
                return;
            }
            // Out of file descriptors (EMFILE, ENFILE), memory, an I/O error:
            // the total misses this subtree, and says why.
            Err(e) => {
                let path = escape::untrusted_path(&job.path);
                found
                    .errors
                    .push((job.root, format!("{path}: not read: {e}")));
                return;
            }
        },
    };
    let dev = shared.devs[job.root];
    let totals = &mut found.totals[job.root];
    let errors = &mut found.errors;
    // A directory we may list but not search (r-- for us): its entries
    // cannot be examined. Reported once as unreadable, not once per entry.
    let mut denied = false;
    let listed = buf.for_each(fd.as_fd(), |entry| {
        if denied {
            return;
        }
        let st = match stat_at(fd.as_fd(), entry.name) {
            Ok(st) => st,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return,
            Err(e) if e.raw_os_error() == Some(libc::EACCES) => {
                denied = true;
                return;
            }
            Err(e) => {
                let path = job.path.join(OsStr::from_bytes(entry.name.to_bytes()));
                let path = escape::untrusted_path(&path);
                errors.push((job.root, format!("{path}: {e}")));
                return;
            }
        };
        if st.st_dev != dev {
            return; // a mount point: like du -x, neither counted nor entered
        }
        let is_dir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
        if is_dir {
            let id = (st.st_dev, st.st_ino);
            if job.ancestors.contains(id) {
                return; // a bind mount of an ancestor: as du -x, not counted
            }
            totals.dirs += 1;
            children.push(Job {
                root: job.root,
                dir: DirRef::At(Arc::clone(&fd), entry.name.to_owned()),
                path: job.path.join(OsStr::from_bytes(entry.name.to_bytes())),
                ancestors: Arc::new(Ancestor {
                    id,
                    up: Some(Arc::clone(&job.ancestors)),
                }),
            });
        } else {
            if st.st_nlink > 1 && !shared.seen.first_time(job.root, st.st_dev, st.st_ino) {
                return;
            }
            totals.files += 1;
        }
        totals.allocated_bytes += allocated(&st);
        totals.apparent_bytes += st.st_size.max(0) as u128;
    });
    if denied {
        found.unreadable.push((job.root, job.path.clone()));
    }
    if let Err(e) = listed {
        if !vanished(&e) {
            let path = escape::untrusted_path(&job.path);
            found.errors.push((job.root, format!("{path}: {e}")));
        }
    }
}

/// du's measure: 512-byte blocks actually allocated.
fn allocated(st: &libc::stat) -> u64 {
    st.st_blocks as u64 * 512
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

fn stat_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<libc::stat> {
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
