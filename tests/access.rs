//! The access check (`dir.access`) against the kernel: for each case, a real
//! tree with real modes, owners, POSIX ACLs, symlinks and mounts, and the
//! verdict of jts-hot's computation compared with what the kernel does when
//! that user (`setpriv --reuid --regid --groups`) tries to enter the directory
//! and create a file in it. They must agree on every case.

mod common;

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::tree::{owned_dir, remounted, Mounted};
use common::{have_root, have_tool, run};
use jts_hot::system::access::{reach_and_write, Cache, Who};

// Ids with no passwd entry: nothing on the host is given to them.
const U: u32 = 61001;
const G_OWN: u32 = 61001;
const G1: u32 = 61011;
const G2: u32 = 61012;

fn prerequisites(test: &str) -> bool {
    have_root(test)
        && ["setpriv", "setfacl", "mount", "umount"]
            .iter()
            .all(|t| have_tool(test, t))
}

struct Tree {
    dir: tempfile::TempDir,
    mounts: Vec<Mounted>,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), PermissionsExt::from_mode(0o755)).unwrap();
        Tree {
            dir,
            mounts: Vec::new(),
        }
    }

    /// Makes `rel` (and parents, 0755 root) with this mode, owner and group.
    fn dir(&self, rel: &str, mode: u32, uid: u32, gid: u32) -> PathBuf {
        owned_dir(&self.dir.path().join(rel), mode, uid, gid)
    }

    fn setfacl(&self, spec: &str, path: &Path) {
        let (code, _, err) = run(Command::new("setfacl").args(["-m", spec]).arg(path));
        assert_eq!(code, 0, "setfacl -m {spec}: {err}");
    }

    /// A bind mount of `path` onto itself, remounted with `opts`.
    fn bind(&mut self, path: &Path, opts: &str) {
        self.mounts.push(remounted(path, opts));
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        // The last mount first, before the directory goes.
        while let Some(m) = self.mounts.pop() {
            drop(m);
        }
    }
}

/// The kernel's verdict: can `who` cd into `dir` and create and remove a file?
fn kernel(dir: &Path, who: &Who) -> bool {
    let mut cmd = Command::new("setpriv");
    cmd.arg(format!("--reuid={}", who.uid))
        .arg(format!("--regid={}", who.gids[0]));
    match &who.gids[1..] {
        [] => cmd.arg("--clear-groups"),
        more => cmd.arg(format!(
            "--groups={}",
            more.iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",")
        )),
    };
    cmd.args([
        "--",
        "/bin/sh",
        "-c",
        "cd \"$1\" && touch .jts-access-probe && rm .jts-access-probe",
        "sh",
    ])
    .arg(dir);
    run(&mut cmd).0 == 0
}

/// jts-hot's verdict, and the path it names when blocked.
fn ours(dir: &Path, who: &Who) -> Result<(), PathBuf> {
    let mounts = jts_hot::system::mounts::read().unwrap();
    let host = jts_hot::system::Root::host().unwrap();
    reach_and_write(&host, dir, who, &mounts, &mut Cache::default())
        .unwrap_or_else(|e| panic!("cannot tell for {}: {e}", dir.display()))
        .map_err(|b| b.at)
}

fn who(groups: &[u32]) -> Who {
    let mut gids = vec![G_OWN];
    gids.extend(groups);
    Who { uid: U, gids }
}

/// Asserts jts-hot and the kernel agree, and that jts-hot's verdict is `allowed`
/// (blocked at `at` when not), so each case tests what it says.
fn agree(case: &str, dir: &Path, who: &Who, allowed: bool, at: Option<&Path>) {
    let k = kernel(dir, who);
    let o = ours(dir, who);
    assert_eq!(
        o.is_ok(),
        k,
        "{case}: jts-hot says {o:?}, the kernel {}",
        if k { "writes" } else { "refuses" }
    );
    assert_eq!(k, allowed, "{case}: the case does not test what it says");
    if let (Some(at), Err(blocked)) = (at, &o) {
        assert_eq!(blocked, at, "{case}: blocked at the wrong place");
    }
    println!("{case}: agree ({})", if k { "allowed" } else { "refused" });
}

#[test]
fn modes_and_groups() {
    needs!(prerequisites);
    let t = Tree::new();
    let data = t.dir("a/svc/data", 0o750, U, G_OWN);
    agree("owner 0750", &data, &who(&[]), true, None);

    let a = t.dir("a", 0o700, 0, 0);
    agree("ancestor 0700 root", &data, &who(&[]), false, Some(&a));

    t.dir("a", 0o710, 0, G1);
    agree(
        "ancestor 0710 root:G1, in G1 (supplementary)",
        &data,
        &who(&[G1]),
        true,
        None,
    );
    agree(
        "ancestor 0710 root:G1, not in G1",
        &data,
        &who(&[G2]),
        false,
        Some(&a),
    );

    // The group matches and grants nothing: "other" is never consulted.
    t.dir("a", 0o705, 0, G1);
    agree(
        "ancestor 0705 root:G1, in G1",
        &data,
        &who(&[G1]),
        false,
        Some(&a),
    );
    agree(
        "ancestor 0705 root:G1, not in G1",
        &data,
        &who(&[]),
        true,
        None,
    );
    t.dir("a", 0o755, 0, 0);

    t.dir("a/svc/data", 0o550, U, G_OWN);
    agree("owner without write", &data, &who(&[]), false, Some(&data));
    // The owner's bits decide even when the group's and other's would grant.
    t.dir("a/svc/data", 0o077, U, G_OWN);
    agree("owner 0077", &data, &who(&[]), false, Some(&data));
    t.dir("a/svc/data", 0o770, 0, G2);
    agree("root:G2 0770, in G2", &data, &who(&[G2]), true, None);
    agree(
        "root:G2 0770, not in G2",
        &data,
        &who(&[G1]),
        false,
        Some(&data),
    );
    t.dir("a/svc/data", 0o1733, 0, 0);
    agree(
        "sticky 1733 root: write and search for all",
        &data,
        &who(&[]),
        true,
        None,
    );
}

#[test]
fn posix_acls() {
    needs!(prerequisites);
    let t = Tree::new();
    let data = t.dir("b/svc/data", 0o750, U, G_OWN);
    let b = t.dir("b", 0o700, 0, 0);
    t.setfacl(&format!("u:{U}:x"), &b);
    agree(
        "ACL named user x on a 0700 ancestor",
        &data,
        &who(&[]),
        true,
        None,
    );
    t.setfacl("m::r", &b);
    agree("the same, masked to r", &data, &who(&[]), false, Some(&b));

    let c = t.dir("c", 0o700, 0, 0);
    let data = t.dir("c/svc/data", 0o750, U, G_OWN);
    t.setfacl(&format!("g:{G1}:x"), &c);
    agree("ACL named group, in it", &data, &who(&[G1]), true, None);
    agree(
        "ACL named group, not in it",
        &data,
        &who(&[G2]),
        false,
        Some(&c),
    );

    // The service's own directory writable only through two group entries,
    // one with w and one with x: one entry must grant both.
    let d = t.dir("d/svc", 0o700, 0, 0);
    t.setfacl(&format!("g:{G1}:w,g:{G2}:x"), &d);
    agree(
        "group ACL grants do not add up",
        &d,
        &who(&[G1, G2]),
        false,
        Some(&d),
    );
    t.setfacl(&format!("g:{G2}:wx"), &d);
    agree(
        "one group ACL entry grants wx",
        &d,
        &who(&[G1, G2]),
        true,
        None,
    );

    // Group class matched with nothing granted: "other" would, but is not
    // asked. The mask must not be empty: with group bits (the mask) all
    // clear, the kernel skips the ACL and the mode alone decides.
    let e = t.dir("e", 0o705, 0, 0);
    let data = t.dir("e/svc", 0o750, U, G_OWN);
    t.setfacl(&format!("g:{G1}:-"), &e);
    agree(
        "ACL with an empty mask: the mode decides",
        &data,
        &who(&[G1]),
        true,
        None,
    );
    t.setfacl(&format!("g:{G1}:-,g:{G2}:r"), &e);
    agree(
        "ACL group matched and denies",
        &data,
        &who(&[G1]),
        false,
        Some(&e),
    );
    agree(
        "ACL: no group matches, other grants",
        &data,
        &who(&[]),
        true,
        None,
    );
}

#[test]
fn symlinks_and_mounts() {
    needs!(prerequisites);
    let mut t = Tree::new();
    // An ancestor that is a symlink: the walk goes where it points.
    let real = t.dir("real", 0o700, 0, 0);
    t.dir("real/svc", 0o750, U, G_OWN);
    symlink(&real, t.dir.path().join("link")).unwrap();
    let via = t.dir.path().join("link/svc");
    agree(
        "through a symlink to a 0700 directory",
        &via,
        &who(&[]),
        false,
        Some(&real),
    );
    t.dir("real", 0o755, 0, 0);
    agree(
        "through a symlink to a 0755 directory",
        &via,
        &who(&[]),
        true,
        None,
    );
    // A relative link with "..": resolved from the link's directory.
    symlink("x/../real", t.dir.path().join("rel")).unwrap();
    let x = t.dir("x", 0o700, 0, 0);
    let via = t.dir.path().join("rel/svc");
    agree(
        "'..' needs search on the directory it leaves",
        &via,
        &who(&[]),
        false,
        Some(&x),
    );
    t.dir("x", 0o711, 0, 0);
    agree(
        "a relative symlink through x/..",
        &via,
        &who(&[]),
        true,
        None,
    );

    let svc = t.dir("m/svc", 0o750, U, G_OWN);
    t.bind(&svc, "noexec");
    agree(
        "noexec mount: irrelevant to a directory",
        &svc,
        &who(&[]),
        true,
        None,
    );
    t.bind(&svc, "ro");
    agree("read-only mount", &svc, &who(&[]), false, Some(&svc));
    let root = Who {
        uid: 0,
        gids: vec![0],
    };
    agree(
        "read-only mount, even for root",
        &svc,
        &root,
        false,
        Some(&svc),
    );
}
