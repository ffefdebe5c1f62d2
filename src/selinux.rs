//! What `jts-hot apply` does about SELinux, where it is enabled: install the
//! module rendered from the layout into the policy store (`semodule -X
//! PRIORITY -i`) before systemd-tmpfiles creates the directories, so they are
//! born labelled; then relabel the planned directories themselves, never
//! what is in them (`restorecon` without -R). Where SELinux is disabled,
//! nothing happens and nothing fails.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::layout::Layout;
use crate::render;
use crate::render::generated::{SELINUX_MODULE_NAME, SELINUX_MODULE_PATH};
use crate::system::selinux::{detect, Policy};

/// The package installs the module at this priority; `apply` above it.
pub const PACKAGE_PRIORITY: u16 = 200;
pub const APPLY_PRIORITY: u16 = 300;

/// What the SELinux step decided, before doing anything.
#[derive(Debug)]
pub enum Plan {
    /// SELinux is off here (the reason): nothing to do.
    Disabled(String),
    /// The store already holds this module at this priority.
    Current { priority: u16 },
    /// The module to install.
    Install {
        priority: u16,
        module: String,
        policy: Policy,
    },
}

/// `semodule` on this host's store, or on the store of the image at `root`
/// (-p ROOT, -n: an image's policy is not the running kernel's).
fn semodule(root: Option<&Path>) -> Command {
    let mut cmd = Command::new("semodule");
    if let Some(root) = root {
        cmd.arg("-p").arg(root).arg("-n");
    }
    cmd
}

/// The module installed at `priority`, as the store gives it back (CIL).
fn installed(root: Option<&Path>, priority: u16) -> Option<String> {
    let dir = tempfile::tempdir().ok()?;
    let out = semodule(root)
        .current_dir(dir.path())
        .arg("-X")
        .arg(priority.to_string())
        .args(["-E", SELINUX_MODULE_NAME, "--cil"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    std::fs::read_to_string(dir.path().join(format!("{SELINUX_MODULE_NAME}.cil"))).ok()
}

pub fn plan(layout: &Layout, root: Option<&Path>, priority: u16) -> Plan {
    let policy = match detect(root) {
        Ok(p) => p,
        Err(disabled) => return Plan::Disabled(disabled.0),
    };
    let module = render::render(layout)
        .into_iter()
        .find(|f| f.path == Path::new(SELINUX_MODULE_PATH))
        .expect("the SELinux module is always rendered")
        .contents;
    if installed(root, priority).as_deref() == Some(module.as_str()) {
        return Plan::Current { priority };
    }
    Plan::Install {
        priority,
        module,
        policy,
    }
}

/// Installs the module when the plan says so; reports to `out`.
pub fn install(plan: &Plan, root: Option<&Path>, out: &mut dyn Write) -> Result<()> {
    match plan {
        Plan::Disabled(reason) => writeln!(out, "SELinux: {reason}: no module installed")?,
        Plan::Current { priority } => writeln!(
            out,
            "SELinux module {SELINUX_MODULE_NAME} already installed at priority {priority}"
        )?,
        Plan::Install {
            priority, module, ..
        } => {
            // semodule names the module after the file.
            let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
            let file = dir.path().join(format!("{SELINUX_MODULE_NAME}.cil"));
            std::fs::write(&file, module)
                .with_context(|| format!("cannot write {}", file.display()))?;
            let output = semodule(root)
                .arg("-X")
                .arg(priority.to_string())
                .arg("-i")
                .arg(&file)
                .output()
                .context("cannot run semodule")?;
            if !output.status.success() {
                bail!(
                    "semodule -X {priority} -i {} failed ({}): {}",
                    file.display(),
                    output.status,
                    String::from_utf8_lossy(&output.stderr).trim()
                );
            }
            writeln!(
                out,
                "SELinux module {SELINUX_MODULE_NAME} installed at priority {priority}"
            )?;
        }
    }
    Ok(())
}

/// Relabels each planned directory that exists, itself only (restorecon
/// without -R: data moved in is relabelled once by the operator). Under a
/// root, systemd-tmpfiles relabels them at the image's boot instead.
pub fn relabel(
    plan: &Plan,
    layout: &Layout,
    root: Option<&Path>,
    out: &mut dyn Write,
) -> Result<()> {
    if matches!(plan, Plan::Disabled(_)) {
        return Ok(());
    }
    if root.is_some() {
        writeln!(
            out,
            "SELinux relabel skipped under --root: systemd-tmpfiles relabels each planned directory at boot"
        )?;
        return Ok(());
    }
    let dirs: Vec<PathBuf> = layout
        .planned_dirs()
        .into_iter()
        .map(|d| d.path)
        .filter(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir()))
        .collect();
    if dirs.is_empty() {
        return Ok(());
    }
    let output = Command::new("restorecon")
        .arg("-v")
        .arg("--")
        .args(&dirs)
        .output()
        .context("cannot run restorecon")?;
    // restorecon -v prints one line per directory it relabelled.
    out.write_all(&output.stdout)?;
    if !output.status.success() {
        bail!(
            "restorecon failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    writeln!(
        out,
        "SELinux: {} planned directories relabelled where needed (not recursively)",
        dirs.len()
    )?;
    Ok(())
}
