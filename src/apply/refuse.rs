//! Every reason `jts-hot apply` refuses a system or an image, decided before
//! it writes a byte: a refused apply leaves the root as it found it (no file
//! in /etc, no applied-layout record, no directory, no temporary). Each check
//! is the one the later step makes (that step still makes it: the image may
//! change in between), asked early and read-only.

use std::io;
use std::path::{Component, Path, PathBuf};

use super::changes::{Change, ChangeSet};
use super::{read_if_exists, selinux, Error};
use crate::layout::Layout;
use crate::render::generated::{etc_path, SYSUSERS_PATH, TIER_TMPFILES_PATH, TMPFILES_PATH};
use crate::setup;
use crate::system::accounts;
use crate::system::rootfs::Root;

/// What a real run will write, besides the files of the change set.
pub(super) struct Writes {
    /// The applied-layout record (`applied::record`).
    pub record: bool,
}

/// Refuses, before anything is written, what a later step would refuse.
pub(super) fn check(
    layout: &Layout,
    root: &Root,
    set: &ChangeSet,
    selinux_plan: &selinux::Plan,
    writes: &Writes,
) -> Result<(), Error> {
    let shown = |rel: &Path| root.display(rel).display().to_string();
    // The directories apply's own writes make (Root::create_dir_all).
    let mut dirs: Vec<&Path> = set
        .changes
        .iter()
        .filter(|c| !matches!(c, Change::Remove { .. }))
        .filter_map(|c| c.path().parent())
        .collect();
    if writes.record {
        dirs.extend(Path::new(crate::applied::APPLIED_PATH).parent());
    }
    if !selinux_plan.equal.is_empty() {
        dirs.extend(Path::new(selinux::EQUAL_RECORD).parent());
    }
    for dir in dirs {
        creatable(root, dir).map_err(|e| Error::io(format!("cannot create {}", shown(dir)), e))?;
    }
    // systemd-sysusers and systemd-tmpfiles (`Apply::systemd_tools`).
    if let Some((path, host)) = root.first_leaving(accounts::ACCOUNT_FILES) {
        return Err(Error::Tool(format!(
            "systemd-sysusers and systemd-tmpfiles refused: {} leads outside the root \
             (to {}): nothing was written",
            path.display(),
            host.display()
        )));
    }
    for rel in [SYSUSERS_PATH, TMPFILES_PATH, TIER_TMPFILES_PATH] {
        root.resolve(&etc_path(Path::new(rel))).map_err(|e| {
            let under = root.path().display();
            Error::io(format!("cannot resolve {rel} under {under}"), e)
        })?;
    }
    let mut texts = Vec::new();
    for rel in [TMPFILES_PATH, TIER_TMPFILES_PATH].map(|p| etc_path(Path::new(p))) {
        let new = set.changes.iter().find_map(|c| match c {
            Change::Create { path, new } | Change::Update { path, new, .. } if *path == rel => {
                Some(new.clone())
            }
            _ => None,
        });
        match new {
            Some(text) => texts.push(text),
            None => texts.extend(read_if_exists(root, &rel)?),
        }
    }
    if let Some((path, host)) = setup::tmpfiles_texts_leaving(root, &texts) {
        return Err(Error::Tool(format!(
            "systemd-tmpfiles refused: {} leads outside the root (to {}): nothing was written",
            path.display(),
            host.display()
        )));
    }
    // The mount table, read again when the tier's directories are made.
    setup::blocked(layout, root).map_err(Error::Mounts)?;
    // The SELinux policy tools.
    if let Some(why) = selinux::refusal(selinux_plan, root) {
        return Err(Error::Tool(format!("{why}: nothing was written")));
    }
    Ok(())
}

/// Ok when `Root::create_dir_all(rel)` would succeed: each existing
/// component resolves to a directory inside the root, and below the first
/// missing one nothing exists. Reads only.
fn creatable(root: &Root, rel: &Path) -> io::Result<()> {
    let mut so_far = PathBuf::new();
    for part in rel.components() {
        let Component::Normal(part) = part else {
            continue;
        };
        so_far.push(part);
        match root.open_dir_path(&so_far) {
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        // Missing as a directory: mkdir makes it, unless something that
        // resolves nowhere inside (a dangling link) holds the name.
        return match root.lstat(&so_far)? {
            None => Ok(()),
            Some(_) => Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} is not a directory inside the root (a dangling symlink?)",
                    root.display(&so_far).display()
                ),
            )),
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn a_dangling_link_or_a_file_on_the_way_is_refused_and_nothing_is_made() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("etc/systemd")).unwrap();
        std::fs::write(d.join("etc/file"), "").unwrap();
        symlink("/nowhere/at/all", d.join("etc/dangling")).unwrap();
        symlink("systemd", d.join("etc/inside")).unwrap();
        let root = Root::image(d).unwrap();
        let ok = |p: &str| creatable(&root, Path::new(p)).is_ok();
        assert!(ok("etc/systemd/system/x.d"), "missing below a directory");
        assert!(ok("etc/inside/system"), "a link to a directory inside");
        assert!(ok("var/lib/jts-hot"), "nothing there yet");
        assert!(!ok("etc/dangling/x"), "a dangling link");
        assert!(!ok("etc/file/x"), "a file");
        // Read only: nothing was made.
        assert!(!d.join("etc/systemd/system").exists());
        assert!(!d.join("var").exists());
    }
}
