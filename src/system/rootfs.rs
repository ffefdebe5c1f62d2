//! Paths inside a root directory (`/`, an image given with `--root`, or the
//! `--out` of generate), resolved the way systemd's own `--root` resolves
//! them: every symlink, absolute or relative, and every `..` stays inside
//! the root (openat2(2) with RESOLVE_IN_ROOT). Whatever an image holds, what
//! jts-hot reads from it or writes into it never lands outside it.
//!
//! Writes are atomic per file: a temporary `.jts-hot.*.tmp` beside the
//! target, synced, then renamed over it. A run killed before its rename
//! leaves such a temporary behind; the next write into that directory
//! removes it (`remove_stale_temporaries`).

use std::ffi::{CString, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{FileStat, Mode, SFlag};

/// Prefix and suffix of the temporaries a write stages beside its target.
const TEMP_PREFIX: &str = ".jts-hot.";
const TEMP_SUFFIX: &str = ".tmp";

/// A directory that paths are resolved inside of: this system's "/", an
/// image given with --root, or generate's --out. Opened once; a clone shares
/// the one descriptor.
#[derive(Debug, Clone)]
pub struct Root {
    dir: Arc<OwnedFd>,
    path: PathBuf,
    /// An image (`--root`), not the system jts-hot runs on: paths in it are
    /// resolved inside it, and systemd's tools are handed `--root`.
    image: bool,
}

/// `rel` (absolute or relative to the root) as a relative path, "." for the root.
fn relative(rel: &Path) -> PathBuf {
    let r: PathBuf = rel
        .components()
        .filter(|c| !matches!(c, Component::RootDir | Component::CurDir))
        .collect();
    if r.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        r
    }
}

/// `path` (absolute or relative) under `root`, joined as text with nothing
/// resolved: how a path under --root is shown, and the fallback when it
/// cannot be resolved (see `Root::resolve` for the safe way).
pub fn joined(root: &Path, path: &Path) -> PathBuf {
    root.join(relative(path))
}

fn cstring(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a path holds a NUL byte"))
}

/// Splits `rel` into its parent (inside the root) and its last component.
fn split(rel: &Path) -> io::Result<(PathBuf, OsString)> {
    let rel = relative(rel);
    match (rel.parent(), rel.file_name()) {
        (Some(parent), Some(name)) => Ok((relative(parent), name.to_os_string())),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} names no file", rel.display()),
        )),
    }
}

impl Root {
    /// Opens `path` as a root. The path itself is the operator's (given on the
    /// command line) and is followed; only what lies below it is contained.
    pub fn open(path: &Path) -> io::Result<Root> {
        let fd = nix::fcntl::open(
            path,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        // SAFETY: `open` returned a new descriptor that nothing else owns.
        let dir = Arc::new(unsafe { OwnedFd::from_raw_fd(fd) });
        Ok(Root {
            dir,
            path: path.to_path_buf(),
            image: true,
        })
    }

    /// This system's "/": the root of every command run without --root.
    /// Its paths are the host's own, used as they are.
    pub fn host() -> io::Result<Root> {
        let mut root = Root::open(Path::new("/"))?;
        root.image = false;
        Ok(root)
    }

    /// The image at `path` (--root), canonical: systemd's tools want an
    /// absolute --root, and a path shown under it is the same whatever
    /// relative or linked spelling the operator used.
    pub fn image(path: &Path) -> io::Result<Root> {
        Root::open(&std::fs::canonicalize(path)?)
    }

    /// The root as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The image's directory, as systemd's tools take it (`--root=`);
    /// `None` for this system.
    pub fn image_dir(&self) -> Option<&Path> {
        self.image.then_some(self.path.as_path())
    }

    /// `path` as it lies under the root: on this system itself; in an image
    /// its parents resolved inside the image as systemd's --root does (a link
    /// in the image to /etc leads to the image's /etc, never the host's), the
    /// last component left as is, for lstat.
    pub fn on_disk(&self, path: &Path) -> PathBuf {
        self.in_root(path, Root::resolve)
    }

    /// `on_disk`, with a link in the last component followed inside the root
    /// too: for files that are read through their links (the layout, passwd).
    pub fn on_disk_followed(&self, path: &Path) -> PathBuf {
        self.in_root(path, Root::resolve_followed)
    }

    fn in_root(&self, path: &Path, resolve: fn(&Root, &Path) -> io::Result<PathBuf>) -> PathBuf {
        match self.image {
            true => resolve(self, path)
                // Unresolvable (a loop, no permission): the plain join fails the same way.
                .unwrap_or_else(|_| joined(&self.path, path)),
            false => path.to_path_buf(),
        }
    }

    /// `rel` as it would be shown to an operator: the root joined with it.
    pub fn display(&self, rel: &Path) -> PathBuf {
        joined(&self.path, rel)
    }

    /// openat2(2) below the root with RESOLVE_IN_ROOT: symlinks and ".." are
    /// resolved as if the root were "/", so nothing opened lies outside it.
    fn open_in(&self, rel: &Path, flags: i32, mode: u32) -> io::Result<OwnedFd> {
        let path = cstring(&relative(rel))?;
        if path.as_bytes() == b"." {
            // The root itself: nothing to resolve, so no openat2. A unit's
            // sandbox may refuse openat2 (systemd's RestrictSUIDSGID= makes it
            // ENOSYS, as its flags cannot be filtered), and a hardened unit
            // must still write into its own directory (the monitor's history
            // and textfile go through `files::write_atomic`).
            let fd = nix::fcntl::openat(
                Some(self.dir.as_raw_fd()),
                ".",
                OFlag::from_bits_truncate(flags | libc::O_CLOEXEC),
                Mode::from_bits_truncate(mode),
            )?;
            // SAFETY: `openat` returned a new descriptor that nothing else owns.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        let mut how: libc::open_how = unsafe { std::mem::zeroed() };
        how.flags = (flags | libc::O_CLOEXEC) as u64;
        how.mode = u64::from(mode);
        how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
        // EAGAIN: a concurrent rename somewhere in the root; the kernel asks to retry.
        for _ in 0..16 {
            // SAFETY: valid directory fd, NUL-terminated path, open_how of the size passed.
            let fd = unsafe {
                libc::syscall(
                    libc::SYS_openat2,
                    self.dir.as_raw_fd(),
                    path.as_ptr(),
                    &how as *const libc::open_how,
                    std::mem::size_of::<libc::open_how>(),
                )
            };
            if fd >= 0 {
                // SAFETY: the kernel returned a new descriptor that nothing else owns.
                return Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) });
            }
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EAGAIN) {
                return Err(e);
            }
        }
        Err(io::Error::other(format!(
            "{} kept changing while being resolved",
            self.display(rel).display()
        )))
    }

    fn open_dir(&self, rel: &Path) -> io::Result<OwnedFd> {
        self.open_in(rel, libc::O_RDONLY | libc::O_DIRECTORY, 0)
    }

    /// The contents of a regular file of at most `max` bytes, or `None` when
    /// nothing is there. A FIFO, device, directory or socket in its place is
    /// an error, never a hang: the open is non-blocking and the opened file
    /// is checked before a byte is read.
    pub fn read_regular(&self, rel: &Path, max: u64) -> io::Result<Option<Vec<u8>>> {
        let fd = match self.open_in(rel, libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY, 0) {
            Ok(fd) => fd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        // The one bounded, regular-files-only read (system::file), naming the file.
        super::file::read_opened(File::from(fd), max)
            .map(Some)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", self.display(rel).display())))
    }

    /// `read_regular` as UTF-8 text.
    pub fn read_text(&self, rel: &Path, max: u64) -> io::Result<Option<String>> {
        self.read_regular(rel, max)?
            .map(|b| {
                String::from_utf8(b).map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{} is not UTF-8 text", self.display(rel).display()),
                    )
                })
            })
            .transpose()
    }

    /// The names in a directory, or `None` when it does not exist.
    pub fn list(&self, rel: &Path) -> io::Result<Option<Vec<OsString>>> {
        let fd = match self.open_dir(rel) {
            Ok(fd) => fd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        // The open descriptor's /proc link is the directory already resolved.
        let mut names = Vec::new();
        for entry in std::fs::read_dir(format!("/proc/self/fd/{}", fd.as_raw_fd()))? {
            names.push(entry?.file_name());
        }
        drop(fd);
        names.sort();
        Ok(Some(names))
    }

    /// lstat(2) of `rel`: its parents resolved inside the root, itself not
    /// followed. `None` when it (or a parent) does not exist.
    pub fn lstat(&self, rel: &Path) -> io::Result<Option<FileStat>> {
        let rel = relative(rel);
        if rel == Path::new(".") {
            return Ok(Some(nix::sys::stat::fstat(self.dir.as_raw_fd())?));
        }
        let (parent, name) = split(&rel)?;
        let dir = match self.open_in(&parent, libc::O_PATH | libc::O_DIRECTORY, 0) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        match nix::sys::stat::fstatat(
            Some(dir.as_raw_fd()),
            name.as_os_str(),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        ) {
            Ok(st) => Ok(Some(st)),
            Err(nix::errno::Errno::ENOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Sets the permission bits of the directory `rel` (itself never followed:
    /// a symlink or anything else in its place is an error) to `new(current)`;
    /// returns the bits before and after, or `None` when nothing is there.
    pub fn chmod_dir(
        &self,
        rel: &Path,
        new: impl FnOnce(u32) -> u32,
    ) -> io::Result<Option<(u32, u32)>> {
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
        let fd = match self.open_in(rel, flags, 0) {
            Ok(fd) => fd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let before = nix::sys::stat::fstat(fd.as_raw_fd())?.st_mode & 0o7777;
        let after = new(before) & 0o7777;
        if after != before {
            nix::sys::stat::fchmod(fd.as_raw_fd(), Mode::from_bits_truncate(after))?;
        }
        Ok(Some((before, after)))
    }

    /// True when `rel` is a directory (not a symlink to one).
    pub fn is_dir(&self, rel: &Path) -> bool {
        matches!(self.lstat(rel), Ok(Some(st)) if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR)
    }

    /// The host path of `rel` with every symlink among its parents resolved
    /// inside the root, component by component as systemd's chase() does
    /// (a link to "/etc" leads to the root's etc, ".." stops at the root,
    /// a dangling link is followed as far as it goes), and the last
    /// component left as is (not followed), for code that lstat()s a path.
    /// What is returned holds no symlink but, perhaps, its last component.
    pub fn resolve(&self, rel: &Path) -> io::Result<PathBuf> {
        self.chase(rel, false)
    }

    /// `resolve`, but a symlink in the last component is followed too
    /// (inside the root), for a file that is read through its links.
    pub fn resolve_followed(&self, rel: &Path) -> io::Result<PathBuf> {
        self.chase(rel, true)
    }

    /// Where `rel` leads for a tool that is handed the plain path ROOT/rel and
    /// follows links the way the host sees them (systemd-sysusers --root
    /// opens ROOT/etc/passwd so; semodule -p prefixes its store so): `None`
    /// when that is where it leads inside the root, else the host path it
    /// leaves to. A path that cannot be resolved (a loop) leaves too.
    fn leaves_root(&self, rel: &Path) -> io::Result<Option<PathBuf>> {
        let inside = self.chase(rel, true);
        let host = Root::open(Path::new("/"))?.chase(&joined(&self.root_real()?, rel), true);
        Ok(match (inside, host) {
            (Ok(inside), Ok(host)) if inside == host => None,
            (_, Ok(host)) => Some(host),
            (_, Err(e)) => Some(PathBuf::from(format!(
                "{} ({e})",
                self.display(rel).display()
            ))),
        })
    }

    /// The first of `rels` that [`Root::leaves_root`], with where it leads:
    /// a tool that would follow it is not run.
    pub fn first_leaving<P: AsRef<Path>>(&self, rels: &[P]) -> Option<(PathBuf, PathBuf)> {
        rels.iter()
            .map(AsRef::as_ref)
            .find_map(|rel| match self.leaves_root(rel) {
                Ok(None) => None,
                Ok(Some(host)) => Some((self.display(rel), host)),
                Err(e) => Some((self.display(rel), PathBuf::from(e.to_string()))),
            })
    }

    /// An O_PATH descriptor of the directory `rel`, resolved inside the root:
    /// its /proc/PID/fd link is that directory whatever the image does after.
    pub fn open_dir_path(&self, rel: &Path) -> io::Result<OwnedFd> {
        self.open_in(rel, libc::O_PATH | libc::O_DIRECTORY, 0)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", self.display(rel).display())))
    }

    /// The root's real path, as the kernel names its descriptor.
    fn root_real(&self) -> io::Result<PathBuf> {
        std::fs::read_link(format!("/proc/self/fd/{}", self.dir.as_raw_fd()))
    }

    fn chase(&self, rel: &Path, follow_last: bool) -> io::Result<PathBuf> {
        let parts = |p: &Path| -> Vec<OsString> {
            p.components()
                .filter_map(|c| match c {
                    Component::Normal(n) => Some(n.to_os_string()),
                    Component::ParentDir => Some(OsString::from("..")),
                    _ => None,
                })
                .collect()
        };
        let root_real = self.root_real()?;
        let mut todo: std::collections::VecDeque<OsString> = parts(rel).into();
        // Relative to the root, and made of real directories only.
        let mut done = PathBuf::new();
        let mut missing = false;
        let mut hops = 0;
        while let Some(part) = todo.pop_front() {
            if part == ".." {
                done.pop();
                continue;
            }
            if missing {
                done.push(&part);
                continue;
            }
            let parent = self.open_in(&done, libc::O_PATH | libc::O_DIRECTORY, 0)?;
            let st = match nix::sys::stat::fstatat(
                Some(parent.as_raw_fd()),
                part.as_os_str(),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            ) {
                Ok(st) => st,
                Err(nix::errno::Errno::ENOENT) => {
                    // Nothing below a missing directory exists either.
                    missing = true;
                    done.push(&part);
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let link = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK;
            if link && (follow_last || !todo.is_empty()) {
                hops += 1;
                if hops > 40 {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                let target = nix::fcntl::readlinkat(Some(parent.as_raw_fd()), part.as_os_str())?;
                let target = PathBuf::from(target);
                if target.is_absolute() {
                    done = PathBuf::new();
                }
                for p in parts(&target).into_iter().rev() {
                    todo.push_front(p);
                }
                continue;
            }
            done.push(&part);
        }
        Ok(root_real.join(done))
    }

    /// mkdir -p inside the root, each new directory root's 0755; pushes each
    /// directory it had to create on `created` (relative, parents first).
    pub fn create_dir_all(&self, rel: &Path, created: &mut Vec<PathBuf>) -> io::Result<()> {
        let rel = relative(rel);
        let mut so_far = PathBuf::new();
        for part in rel.components() {
            let parent = if so_far.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                so_far.clone()
            };
            so_far.push(part);
            match self.open_in(&so_far, libc::O_PATH | libc::O_DIRECTORY, 0) {
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(with_path(e, &self.display(&so_far))),
            }
            let dir = self.open_in(&parent, libc::O_PATH | libc::O_DIRECTORY, 0)?;
            match nix::sys::stat::mkdirat(
                Some(dir.as_raw_fd()),
                part.as_os_str(),
                Mode::from_bits_truncate(0o755),
            ) {
                Ok(()) => created.push(so_far.clone()),
                // Something is there that does not resolve to a directory
                // inside the root: a dangling link, or one to a file.
                Err(nix::errno::Errno::EEXIST) => {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!(
                            "{} is not a directory inside the root (a dangling symlink?)",
                            self.display(&so_far).display()
                        ),
                    ))
                }
                Err(e) => return Err(with_path(e.into(), &self.display(&so_far))),
            }
        }
        Ok(())
    }

    /// Writes `contents` into a synced temporary beside `rel`, not renamed yet.
    pub fn stage(&self, rel: &Path, contents: &[u8], mode: u32) -> io::Result<Staged> {
        let (parent, name) = split(rel)?;
        let dir = File::from(self.open_dir(&parent)?);
        let mut tmp_name = OsString::from(TEMP_PREFIX);
        tmp_name.push(&name);
        tmp_name.push(format!(".{}.{}{TEMP_SUFFIX}", std::process::id(), unique()));
        let fd = nix::fcntl::openat(
            Some(dir.as_raw_fd()),
            tmp_name.as_os_str(),
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o600),
        )?;
        // SAFETY: `openat` returned a new descriptor that nothing else owns.
        let mut file = unsafe { File::from_raw_fd(fd) };
        let staged = Staged {
            dir,
            tmp: tmp_name,
            name,
            shown: self.display(rel),
            done: false,
        };
        file.write_all(contents)?;
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        file.sync_all()?;
        Ok(staged)
    }

    /// Writes `contents` to `rel` atomically with the given permission bits.
    pub fn write_atomic(&self, rel: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
        self.stage(rel, contents, mode)?.commit()
    }

    /// unlink(2) of a file; a missing one is not an error.
    pub fn remove_file(&self, rel: &Path) -> io::Result<()> {
        let (parent, name) = split(rel)?;
        let dir = self.open_in(&parent, libc::O_PATH | libc::O_DIRECTORY, 0)?;
        match nix::unistd::unlinkat(
            Some(dir.as_raw_fd()),
            name.as_os_str(),
            nix::unistd::UnlinkatFlags::NoRemoveDir,
        ) {
            Ok(()) | Err(nix::errno::Errno::ENOENT) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// rmdir(2) of an empty directory; a missing or non-empty one is left.
    pub fn remove_empty_dir(&self, rel: &Path) {
        let Ok((parent, name)) = split(rel) else {
            return;
        };
        if let Ok(dir) = self.open_in(&parent, libc::O_PATH | libc::O_DIRECTORY, 0) {
            let _ = nix::unistd::unlinkat(
                Some(dir.as_raw_fd()),
                name.as_os_str(),
                nix::unistd::UnlinkatFlags::RemoveDir,
            );
        }
    }

    /// Removes the temporaries an interrupted write left in directory `rel`
    /// (regular files named `.jts-hot.*.tmp`); returns how many.
    pub fn remove_stale_temporaries(&self, rel: &Path) -> io::Result<usize> {
        let Some(names) = self.list(rel)? else {
            return Ok(0);
        };
        let mut removed = 0;
        for name in names {
            let s = name.to_string_lossy();
            if !(s.starts_with(TEMP_PREFIX) && s.ends_with(TEMP_SUFFIX)) {
                continue;
            }
            // `.jts-hot.NAME.PID.N.tmp`: a live process's (this one's, or a
            // concurrent run's) is not stale.
            let pid = s.trim_end_matches(TEMP_SUFFIX).rsplit('.').nth(1);
            if let Some(pid) = pid.and_then(|p| p.parse::<u32>().ok()) {
                if Path::new(&format!("/proc/{pid}")).exists() {
                    continue;
                }
            }
            let path = relative(rel).join(&name);
            let regular = matches!(self.lstat(&path)?, Some(st)
                if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFREG);
            if regular {
                self.remove_file(&path)?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// A file written and synced under a temporary name, waiting for `commit`;
/// dropped without it, the temporary is removed.
#[derive(Debug)]
pub struct Staged {
    dir: File,
    tmp: OsString,
    name: OsString,
    shown: PathBuf,
    done: bool,
}

impl Staged {
    /// Renames the temporary over the target and syncs the directory.
    pub fn commit(mut self) -> io::Result<()> {
        nix::fcntl::renameat(
            Some(self.dir.as_raw_fd()),
            self.tmp.as_os_str(),
            Some(self.dir.as_raw_fd()),
            self.name.as_os_str(),
        )
        .map_err(|e| with_path(e.into(), &self.shown))?;
        self.done = true;
        self.dir.sync_all()
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            let _ = nix::unistd::unlinkat(
                Some(self.dir.as_raw_fd()),
                self.tmp.as_os_str(),
                nix::unistd::UnlinkatFlags::NoRemoveDir,
            );
        }
    }
}

fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// A number unique within this process, for temporary names.
fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_and_dotdot_stay_inside_the_root() {
        let outside = tempfile::tempdir().unwrap();
        let root_dir = tempfile::tempdir().unwrap();
        let r = root_dir.path();
        std::fs::create_dir_all(r.join("etc")).unwrap();
        // An absolute link, a relative link climbing out, and a ".." path.
        std::os::unix::fs::symlink(outside.path(), r.join("etc/abs")).unwrap();
        std::os::unix::fs::symlink("../../../../../../..", r.join("etc/up")).unwrap();
        let root = Root::open(r).unwrap();
        // Dangling inside the root: refused, and nothing is written outside.
        let mut created = Vec::new();
        let e = root
            .create_dir_all(Path::new("etc/abs"), &mut created)
            .unwrap_err();
        assert!(e.to_string().contains("dangling"), "{e}");
        std::fs::create_dir_all(r.join(relative(outside.path()))).unwrap();
        for rel in ["etc/abs/x.conf", "etc/up/x.conf", "etc/../../../x.conf"] {
            let mut created = Vec::new();
            let parent = Path::new(rel).parent().unwrap();
            root.create_dir_all(parent, &mut created).unwrap();
            root.write_atomic(Path::new(rel), b"x", 0o644).unwrap();
        }
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        // "etc/abs" → "/<outside>" inside the root, i.e. r/<outside>/x.conf.
        let inside = r.join(relative(outside.path())).join("x.conf");
        assert!(inside.is_file(), "{}", inside.display());
        assert!(r.join("x.conf").is_file());
        let resolved = root.resolve(Path::new("etc/abs/y")).unwrap();
        assert!(
            resolved.starts_with(std::fs::canonicalize(r).unwrap()),
            "{}",
            resolved.display()
        );
    }

    #[test]
    fn a_fifo_is_an_error_not_a_hang() {
        let root_dir = tempfile::tempdir().unwrap();
        nix::unistd::mkfifo(&root_dir.path().join("f"), Mode::S_IRWXU).unwrap();
        let root = Root::open(root_dir.path()).unwrap();
        let e = root.read_regular(Path::new("/f"), 10).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        assert!(root
            .read_regular(Path::new("/missing"), 10)
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_dropped_stage_leaves_nothing_and_stale_ones_are_removed() {
        let root_dir = tempfile::tempdir().unwrap();
        let root = Root::open(root_dir.path()).unwrap();
        drop(root.stage(Path::new("a"), b"x", 0o644).unwrap());
        assert_eq!(root.list(Path::new("/")).unwrap().unwrap().len(), 0);
        let staged = root.stage(Path::new("b"), b"x", 0o644).unwrap();
        // This process's own temporaries are not stale.
        assert_eq!(root.remove_stale_temporaries(Path::new("/")).unwrap(), 0);
        std::mem::forget(staged);
        // One a killed process left (no such pid: above pid_max).
        std::fs::write(root_dir.path().join(".jts-hot.c.99999999.0.tmp"), "x").unwrap();
        assert_eq!(root.remove_stale_temporaries(Path::new("/")).unwrap(), 1);
        assert_eq!(root.list(Path::new("/")).unwrap().unwrap().len(), 1);
    }
}
