//! Building blocks of the trees the tests make by hand: a directory with its
//! owner and mode, and a mount that is undone when its guard drops (even
//! when the test fails), so no test leaves a mount behind. One home for what
//! access, hostile_disk and validate each typed.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::run;

/// Makes `path` (and its parents, as `create_dir_all` makes them) with this
/// mode, owner and group; returns it.
pub fn owned_dir(path: &Path, mode: u32, uid: u32, gid: u32) -> PathBuf {
    std::fs::create_dir_all(path).unwrap();
    nix::unistd::chown(
        path,
        Some(nix::unistd::Uid::from_raw(uid)),
        Some(nix::unistd::Gid::from_raw(gid)),
    )
    .unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    path.to_path_buf()
}

/// A mount point, unmounted on drop (lazily when busy). Guards drop in the
/// reverse order of their declaration, so mounts on mounts come off in order.
pub struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        if !Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success())
        {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// `mount ARGS... from onto` (`onto` made first), asserted; the guard unmounts it.
pub fn mount(args: &[&str], from: &Path, onto: &Path) -> Mounted {
    std::fs::create_dir_all(onto).unwrap();
    let (code, _, err) = run(Command::new("mount").args(args).arg(from).arg(onto));
    assert_eq!(code, 0, "mount {args:?} {}: {err}", onto.display());
    Mounted(onto.to_path_buf())
}

/// `mount --bind from onto`, or `None` when the kernel refuses it (the
/// caller says why it cannot go on).
pub fn try_bind(from: &Path, onto: &Path) -> Option<Mounted> {
    let ok = Command::new("mount")
        .arg("--bind")
        .arg(from)
        .arg(onto)
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| Mounted(onto.to_path_buf()))
}

/// `path` bind-mounted onto itself, then remounted with `opts` (e.g. `ro`,
/// `noexec`): the same tree with other mount flags.
pub fn remounted(path: &Path, opts: &str) -> Mounted {
    let guard = mount(&["--bind"], path, path);
    let (code, _, err) = run(Command::new("mount")
        .args(["-o", &format!("remount,bind,{opts}")])
        .arg(path));
    assert_eq!(code, 0, "remount {opts} {}: {err}", path.display());
    guard
}
