//! Writing files safely: each one atomically (a temporary file in the same
//! directory, then rename), so a reader sees the old file or the new one,
//! never half of one; and a tree all or nothing, as far as a filesystem allows.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tempfile::NamedTempFile;

use crate::render::GeneratedFile;
use crate::system::rootfs::{Root, Staged};

/// Writes `contents` into a synced temporary file beside `path`, not yet renamed.
fn stage(path: &Path, contents: &[u8], mode: u32) -> Result<NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    let dir = path
        .parent()
        .context("a file path has a parent directory")?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".jts-hot.")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    tmp.write_all(contents)
        .and_then(|_| {
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode))
        })
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(tmp)
}

/// Writes `contents` to `path` atomically with the given permission bits.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    stage(path, contents, mode)?
        .persist(path)
        .with_context(|| format!("cannot rename into {}", path.display()))?;
    Ok(())
}

/// Writes every generated file under `root`, resolved inside it (a symlink
/// in the tree cannot send a file elsewhere: see `system::rootfs`). Every
/// file is staged first; only when all are staged are they renamed into
/// place, so a failure while writing (a full disk, a read-only directory)
/// leaves `root` as it was: staged files are removed, and so are the
/// directories this call created. Temporaries that an earlier, killed run
/// left beside the targets are removed first.
pub fn write_tree(root: &Path, files: &[GeneratedFile]) -> Result<()> {
    std::fs::create_dir_all(root).with_context(|| format!("cannot create {}", root.display()))?;
    let root = Root::open(root).with_context(|| format!("cannot open {}", root.display()))?;
    let mut created: Vec<PathBuf> = Vec::new();
    let staged = stage_all(&root, files, &mut created);
    let staged = match staged {
        Ok(staged) => staged,
        Err(e) => {
            // Deepest first; only directories we made, and only if still empty.
            for dir in created.iter().rev() {
                root.remove_empty_dir(dir);
            }
            return Err(e);
        }
    };
    for s in staged {
        s.commit()?;
    }
    Ok(())
}

fn stage_all(
    root: &Root,
    files: &[GeneratedFile],
    created: &mut Vec<PathBuf>,
) -> Result<Vec<Staged>> {
    let mut staged = Vec::new();
    for f in files {
        let dir = f.path.parent().expect("generated paths have a directory");
        root.create_dir_all(dir, created)
            .with_context(|| format!("cannot create {}", root.display(dir).display()))?;
        root.remove_stale_temporaries(dir)?;
        staged.push(root.stage(&f.path, f.contents.as_bytes(), 0o644)?);
    }
    Ok(staged)
}
