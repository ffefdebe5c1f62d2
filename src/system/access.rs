//! Can a user reach a directory from `/` and write into it? Computed the way
//! the kernel decides (path walk with symlinks, generic_permission with POSIX
//! ACLs, EROFS), from what is on disk: modes, owners, the
//! `system.posix_acl_access` xattr and the mount table. Reading only.
//!
//! Not covered (said in docs/gating.md): LSMs (SELinux, AppArmor), the
//! immutable attribute, idmapped mounts. `noexec` is irrelevant to a directory.

use super::Root;
use std::collections::{HashMap, VecDeque};
use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use crate::system::mounts::Mount;
use crate::system::on_disk;

/// A user as the kernel sees it after login: uid, and every gid (primary first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    pub uid: u32,
    pub gids: Vec<u32>,
}

/// Where and why the user is stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// The directory (as the path names it, under the root) that stops the user.
    pub at: PathBuf,
    /// What the user lacks there: "search (x)" or "write (w)".
    pub lacks: &'static str,
    /// What on disk says so, e.g. "mode 0700 root:root" or "read-only mount /data".
    pub because: String,
    pub cause: Cause,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Permission,
    ReadOnly,
}

const ACL_XATTR: &std::ffi::CStr = c"system.posix_acl_access";
const SEARCH: u16 = 1;
const WRITE: u16 = 2;
const MAX_SYMLINKS: usize = 40;

/// What one directory grants, read once.
#[derive(Debug, Clone)]
struct Perms {
    uid: u32,
    gid: u32,
    mode: u32,
    acl: Option<Vec<AclEntry>>,
}

#[derive(Debug, Clone, Copy)]
struct AclEntry {
    tag: u16,
    perm: u16,
    id: u32,
}

const USER_OBJ: u16 = 0x01;
const USER: u16 = 0x02;
const GROUP_OBJ: u16 = 0x04;
const GROUP: u16 = 0x08;
const MASK: u16 = 0x10;
const OTHER: u16 = 0x20;

/// Metadata and ACLs of the directories walked, shared by all the checks of a run.
#[derive(Default)]
pub struct Cache {
    perms: HashMap<PathBuf, Result<Perms, String>>,
}

/// The walk from `/` to `dir` (under `root`), then write access to `dir`
/// itself. `Ok(Ok(()))`: allowed; `Ok(Err(b))`: blocked; `Err`: cannot tell.
pub fn reach_and_write(
    root: &Root,
    dir: &Path,
    who: &Who,
    mounts: &[Mount],
    cache: &mut Cache,
) -> Result<Result<(), Blocked>, String> {
    let resolved = match walk(root, dir, who, cache)? {
        Ok(resolved) => resolved,
        Err(blocked) => return Ok(Err(blocked)),
    };
    if let Some(b) = check(root, &resolved, who, SEARCH | WRITE, cache)? {
        return Ok(Err(b));
    }
    Ok(
        read_only(&on_disk(root, &resolved), mounts).map_or(Ok(()), |because| {
            Err(Blocked {
                at: resolved,
                lacks: "write (w)",
                because,
                cause: Cause::ReadOnly,
            })
        }),
    )
}

/// Resolves `dir` component by component as the kernel's path walk does,
/// requiring search permission on each directory looked into. Returns the
/// resolved path (symlinks of ancestors followed, inside `root`).
fn walk(
    root: &Root,
    dir: &Path,
    who: &Who,
    cache: &mut Cache,
) -> Result<Result<PathBuf, Blocked>, String> {
    let mut pending: VecDeque<OsString> = components(dir);
    let mut cur = PathBuf::from("/");
    let mut links = 0;
    while let Some(name) = pending.pop_front() {
        if name == "." {
            continue;
        }
        // Every lookup in a directory, "..", included, needs search on it.
        if let Some(b) = check(root, &cur, who, SEARCH, cache)? {
            return Ok(Err(b));
        }
        if name == ".." {
            cur.pop();
            continue;
        }
        let next = cur.join(&name);
        let on = on_disk(root, &next);
        let meta = std::fs::symlink_metadata(&on)
            .map_err(|e| format!("cannot lstat {}: {e}", on.display()))?;
        if meta.file_type().is_symlink() {
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(format!("too many symlinks resolving {}", dir.display()));
            }
            let target = std::fs::read_link(&on)
                .map_err(|e| format!("cannot read the symlink {}: {e}", on.display()))?;
            if target.is_absolute() {
                cur = PathBuf::from("/");
            }
            for c in components(&target).into_iter().rev() {
                pending.push_front(c);
            }
        } else if meta.is_dir() {
            cur = next;
        } else {
            return Err(format!("{} is not a directory", on.display()));
        }
    }
    Ok(Ok(cur))
}

fn components(path: &Path) -> VecDeque<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some("..".into()),
            Component::CurDir => Some(".".into()),
            Component::RootDir | Component::Prefix(_) => None,
        })
        .collect()
}

/// `None` when `who` has `want` on the directory `path`, else what blocks it.
fn check(
    root: &Root,
    path: &Path,
    who: &Who,
    want: u16,
    cache: &mut Cache,
) -> Result<Option<Blocked>, String> {
    // root: CAP_DAC_OVERRIDE grants search and write on any directory.
    if who.uid == 0 {
        return Ok(None);
    }
    let perms = cache
        .perms
        .entry(path.to_path_buf())
        .or_insert_with(|| read_perms(&on_disk(root, path)))
        .clone()?;
    if allows(&perms, who, want) {
        return Ok(None);
    }
    let lacks = if !allows(&perms, who, SEARCH) {
        "search (x)"
    } else {
        "write (w)"
    };
    let acl = match perms.acl {
        Some(_) => " with an ACL",
        None => "",
    };
    Ok(Some(Blocked {
        at: path.to_path_buf(),
        lacks,
        because: format!(
            "mode {:04o} uid {} gid {}{acl}",
            perms.mode & 0o7777,
            perms.uid,
            perms.gid
        ),
        cause: Cause::Permission,
    }))
}

/// Whether `who` gets every bit of `want` (w=2 x=1), exactly as the
/// kernel's generic_permission and posix_acl_permission decide.
fn allows(p: &Perms, who: &Who, want: u16) -> bool {
    let bits = |shift: u32| ((p.mode >> shift) & 7) as u16;
    let has = |perm: u16| perm & want == want;
    if who.uid == p.uid {
        return has(bits(6));
    }
    let in_group = |gid: u32| who.gids.contains(&gid);
    // The kernel consults the ACL only when the mode's group bits (the
    // mask) are not all clear; otherwise the mode alone decides.
    let acl = p.acl.as_ref().filter(|_| p.mode & 0o070 != 0);
    let Some(acl) = acl else {
        return has(if in_group(p.gid) { bits(3) } else { bits(0) });
    };
    let mask = acl.iter().find(|e| e.tag == MASK).map_or(7, |e| e.perm);
    if let Some(e) = acl.iter().find(|e| e.tag == USER && e.id == who.uid) {
        return has(e.perm & mask);
    }
    // Group class: the first matching entry that grants all of `want` is then
    // masked; entries that match but grant too little deny, never fall
    // through to "other" (one entry must grant it all: grants do not add up).
    let mut matched = false;
    for e in acl {
        let matches = (e.tag == GROUP_OBJ && in_group(p.gid)) || (e.tag == GROUP && in_group(e.id));
        if matches {
            if has(e.perm) {
                return has(e.perm & mask);
            }
            matched = true;
        }
    }
    if matched {
        return false;
    }
    acl.iter()
        .find(|e| e.tag == OTHER)
        .map_or(has(bits(0)), |e| has(e.perm))
}

fn read_perms(path: &Path) -> Result<Perms, String> {
    let meta = std::fs::symlink_metadata(path)
        .map_err(|e| format!("cannot lstat {}: {e}", path.display()))?;
    Ok(Perms {
        uid: meta.uid(),
        gid: meta.gid(),
        mode: meta.mode(),
        acl: read_acl(path)?,
    })
}

/// The access ACL's entries; `None` when there is none (the mode says all).
fn read_acl(path: &Path) -> Result<Option<Vec<AclEntry>>, String> {
    // An ACL of n entries is 4 + 8n bytes; 32 KiB is far beyond any real one.
    let acl = super::xattr::get(path, ACL_XATTR, 32 * 1024)
        .map_err(|e| format!("cannot read the ACL of {}: {e}", path.display()))?;
    match acl {
        None => Ok(None),
        Some(bytes) => parse_acl(&bytes)
            .map(Some)
            .ok_or_else(|| format!("{} has an ACL jts-hot cannot read", path.display())),
    }
}

/// The kernel's xattr form: a u32 version (2), then (u16 tag, u16 perm, u32 id)
/// entries, little-endian.
fn parse_acl(bytes: &[u8]) -> Option<Vec<AclEntry>> {
    let version = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?);
    let rest = &bytes[4..];
    if version != 2 || rest.len() % 8 != 0 {
        return None;
    }
    let entries = rest
        .chunks_exact(8)
        .map(|c| AclEntry {
            tag: u16::from_le_bytes([c[0], c[1]]),
            perm: u16::from_le_bytes([c[2], c[3]]),
            id: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect::<Vec<_>>();
    let known = [USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER];
    entries
        .iter()
        .all(|e| known.contains(&e.tag))
        .then_some(entries)
}

/// Why writing under `path` fails with EROFS, if it does. The filesystem's
/// own read-only flag always counts. The mount's flag counts unless this
/// process is inside a systemd sandbox (ProtectSystem=): there every mount
/// is read-only to it, while the system's mounts are not; the sign of that is
/// `/` read-only as a mount over a read-write filesystem.
fn read_only(path: &Path, mounts: &[Mount]) -> Option<String> {
    let (mount, _) = crate::system::mounts::holding(mounts, path)?;
    let ro = |opts: &[String]| opts.iter().any(|o| o == "ro");
    if ro(&mount.super_options) {
        return Some(format!(
            "the filesystem on {} ({}) is read-only",
            mount.mount_point.display(),
            mount.source
        ));
    }
    if ro(&mount.options) && !sandboxed(mounts) {
        return Some(format!(
            "{} is mounted read-only",
            mount.mount_point.display()
        ));
    }
    None
}

fn sandboxed(mounts: &[Mount]) -> bool {
    let ro = |opts: &[String]| opts.iter().any(|o| o == "ro");
    crate::system::mounts::holding(mounts, Path::new("/"))
        .is_some_and(|(m, _)| ro(&m.options) && !ro(&m.super_options))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perms(uid: u32, gid: u32, mode: u32, acl: Option<Vec<(u16, u16, u32)>>) -> Perms {
        Perms {
            uid,
            gid,
            mode,
            acl: acl.map(|a| {
                a.into_iter()
                    .map(|(tag, perm, id)| AclEntry { tag, perm, id })
                    .collect()
            }),
        }
    }

    fn who(uid: u32, gids: &[u32]) -> Who {
        Who {
            uid,
            gids: gids.to_vec(),
        }
    }

    #[test]
    fn owner_bits_win_even_when_group_or_other_would_grant() {
        let p = perms(10, 20, 0o077, None);
        assert!(!allows(&p, &who(10, &[20]), SEARCH));
        assert!(allows(&p, &who(11, &[20]), SEARCH | WRITE));
        assert!(allows(&p, &who(11, &[21]), SEARCH | WRITE));
    }

    #[test]
    fn acl_named_user_is_masked_and_matched_groups_deny() {
        let acl = vec![
            (USER_OBJ, 7, u32::MAX),
            (USER, 7, 30),
            (GROUP_OBJ, 0, u32::MAX),
            (GROUP, 1, 40),
            (MASK, 1, u32::MAX),
            (OTHER, 7, u32::MAX),
        ];
        let p = perms(10, 20, 0o717, Some(acl));
        let u = who(30, &[30]);
        assert!(
            allows(&p, &u, SEARCH) && !allows(&p, &u, WRITE),
            "named user, masked to x"
        );
        assert!(
            !allows(&p, &who(31, &[20]), SEARCH),
            "owning group matched: no fall-through"
        );
        assert!(allows(&p, &who(31, &[40]), SEARCH));
        assert!(allows(&p, &who(31, &[41]), SEARCH | WRITE), "other");
    }

    #[test]
    fn acl_group_grants_do_not_add_up() {
        let acl = vec![
            (USER_OBJ, 7, u32::MAX),
            (GROUP_OBJ, 0, u32::MAX),
            (GROUP, 2, 40),
            (GROUP, 1, 41),
            (MASK, 7, u32::MAX),
            (OTHER, 0, u32::MAX),
        ];
        let p = perms(10, 20, 0o770, Some(acl));
        let both = who(31, &[40, 41]);
        assert!(allows(&p, &both, SEARCH) && allows(&p, &both, WRITE));
        assert!(!allows(&p, &both, SEARCH | WRITE));
    }

    #[test]
    fn acl_xattr_parses_and_garbage_does_not() {
        let mut b = 2u32.to_le_bytes().to_vec();
        for (tag, perm, id) in [(USER_OBJ, 7u16, u32::MAX), (USER, 5, 1000)] {
            b.extend(tag.to_le_bytes());
            b.extend(perm.to_le_bytes());
            b.extend(id.to_le_bytes());
        }
        let e = parse_acl(&b).unwrap();
        assert_eq!((e[1].tag, e[1].perm, e[1].id), (USER, 5, 1000));
        assert!(parse_acl(&b[..7]).is_none());
        assert!(parse_acl(&[1, 0, 0, 0]).is_none());
    }
}
