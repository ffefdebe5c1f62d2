//! Writing files safely: each one atomically (a temporary file in the same
//! directory, then rename), so a reader sees the old file or the new one,
//! never half of one; and a tree all or nothing, as far as a filesystem allows.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tempfile::NamedTempFile;

use crate::render::GeneratedFile;

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

/// Writes every generated file under `root`. Every file is staged first; only
/// when all are staged are they renamed into place, so a failure while writing
/// (a full disk, a read-only directory) leaves `root` as it was: staged files
/// are removed, and so are the directories this call created.
pub fn write_tree(root: &Path, files: &[GeneratedFile]) -> Result<()> {
    let mut created: Vec<PathBuf> = Vec::new();
    let staged = stage_all(root, files, &mut created);
    let staged = match staged {
        Ok(staged) => staged,
        Err(e) => {
            // Deepest first; only directories we made, and only if still empty.
            for dir in created.iter().rev() {
                let _ = std::fs::remove_dir(dir);
            }
            return Err(e);
        }
    };
    for (tmp, path) in staged {
        tmp.persist(&path)
            .with_context(|| format!("cannot rename into {}", path.display()))?;
    }
    Ok(())
}

fn stage_all(
    root: &Path,
    files: &[GeneratedFile],
    created: &mut Vec<PathBuf>,
) -> Result<Vec<(NamedTempFile, PathBuf)>> {
    let mut staged = Vec::new();
    for f in files {
        let path = root.join(&f.path);
        let dir = path.parent().expect("generated paths have a directory");
        create_dirs(dir, created)?;
        staged.push((stage(&path, f.contents.as_bytes(), 0o644)?, path));
    }
    Ok(staged)
}

/// `create_dir_all`, remembering each directory it had to create.
fn create_dirs(dir: &Path, created: &mut Vec<PathBuf>) -> Result<()> {
    // "" is the parent of a relative path's first component: the working directory.
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dirs(parent, created)?;
    }
    std::fs::create_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    created.push(dir.to_path_buf());
    Ok(())
}
