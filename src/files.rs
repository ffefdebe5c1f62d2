//! Writing files safely: each one atomically (a temporary file in the same
//! directory, then rename), so a reader sees the old file or the new one,
//! never half of one; and a tree all or nothing, as far as a filesystem allows.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::render::generated::GeneratedFile;
use crate::system::rootfs::{Root, Staged};

/// Writes `contents` to `path` atomically with the given permission bits,
/// staged beside it the one way every write is (`Root::stage`): the
/// directory is the caller's and is followed, the file's own name never is
/// (a symlink planted in its place is replaced, not written through).
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        anyhow::bail!("{} names no file", path.display());
    };
    // "" for a bare file name: the current directory.
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let root = Root::open(dir).with_context(|| format!("cannot open {}", dir.display()))?;
    root.write_atomic(Path::new(name), contents, mode)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Removes the temporaries that a killed jts-hot left in `dir` (only
/// jts-hot's own names, only regular files, never a live process's);
/// returns how many. A missing directory has none.
pub fn remove_stale_temporaries(dir: &Path) -> Result<usize> {
    let root = match Root::open(dir) {
        Ok(root) => root,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e).with_context(|| format!("cannot open {}", dir.display())),
    };
    root.remove_stale_temporaries(Path::new(""))
        .with_context(|| format!("cannot clean {}", dir.display()))
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
