//! Writing files safely: each one atomically (a temporary file in the same
//! directory, then rename), so a reader sees the old file or the new one,
//! never half of one.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use crate::render::GeneratedFile;

/// Writes `contents` to `path` atomically with the given permission bits.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
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
    tmp.persist(path)
        .with_context(|| format!("cannot rename into {}", path.display()))?;
    Ok(())
}

/// Writes every generated file under `root`, creating directories as needed.
pub fn write_tree(root: &Path, files: &[GeneratedFile]) -> Result<()> {
    for f in files {
        let path = root.join(&f.path);
        let dir = path.parent().expect("generated paths have a directory");
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        write_atomic(&path, f.contents.as_bytes(), 0o644)?;
    }
    Ok(())
}
