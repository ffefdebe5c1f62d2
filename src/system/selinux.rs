//! SELinux as the system has it: whether it is on, what the policy says a
//! path's label is, and what label a directory carries. Reading only.
//!
//! The policy is asked through the tools every SELinux host has (matchpathcon
//! from libselinux's utilities, the lookup restorecon itself makes), not by
//! linking libselinux: the binary runs at every boot on hosts where SELinux is
//! off or absent, and needs no C library or -dev package to build. A label is
//! read straight from the `security.selinux` extended attribute.

use super::Root;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Exists while SELinux is enabled (enforcing or permissive).
const SELINUXFS_ENFORCE: &str = "/sys/fs/selinux/enforce";

/// The policy whose file contexts label the tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// None: the loaded policy (this host); Some: an image's own file_contexts.
    pub file_contexts: Option<PathBuf>,
}

/// Why labels are not checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disabled(pub String);

/// This host's SELinux (selinuxfs mounted with a policy loaded, as
/// is_selinux_enabled(3) and systemd-tmpfiles decide), or the image's at `root`
/// (its /etc/selinux/config says enforcing or permissive, and its policy's
/// file_contexts exists: what the image's first boot would use).
pub fn detect(root: &Root) -> Result<Policy, Disabled> {
    match root.image_dir() {
        None => match Path::new(SELINUXFS_ENFORCE).exists() {
            true => Ok(Policy {
                file_contexts: None,
            }),
            false => Err(Disabled("SELinux is disabled".into())),
        },
        Some(_) => {
            // Inside the image, a regular file of bounded size: a FIFO there never hangs validate.
            let image = root;
            let config = image
                .read_text(Path::new("/etc/selinux/config"), 1 << 20)
                .ok()
                .flatten()
                .ok_or_else(|| {
                    leaves_or(
                        image,
                        "etc/selinux/config",
                        "the root has no readable /etc/selinux/config".into(),
                    )
                })?;
            let value = |key: &str| {
                config
                    .lines()
                    .filter_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
                    .next_back()
                    .map(|v| v.trim().trim_matches('"').to_string())
            };
            let mode = value("SELINUX").unwrap_or_default();
            if mode != "enforcing" && mode != "permissive" {
                return Err(Disabled(format!("the root's SELinux is {mode:?}")));
            }
            let policy_type = value("SELINUXTYPE").unwrap_or_default();
            if policy_type.is_empty() || policy_type.contains('/') || policy_type.starts_with('.') {
                return Err(Disabled(format!(
                    "the root's SELINUXTYPE {policy_type:?} is not a policy name"
                )));
            }
            // Resolved inside the image: matchpathcon is handed a host path.
            let rel = Path::new("etc/selinux")
                .join(&policy_type)
                .join("contexts/files/file_contexts");
            let Ok(fc) = image.resolve_followed(&rel) else {
                return Err(leaves_or(
                    image,
                    &rel.to_string_lossy(),
                    format!(
                        "{} does not resolve inside the root",
                        image.display(&rel).display()
                    ),
                ));
            };
            // Resolved, it holds no link: a regular file there is the image's.
            match std::fs::symlink_metadata(&fc).is_ok_and(|m| m.is_file()) {
                true => Ok(Policy {
                    file_contexts: Some(fc),
                }),
                false => Err(leaves_or(
                    image,
                    &rel.to_string_lossy(),
                    format!("no {}", fc.display()),
                )),
            }
        }
    }
}

/// Why an image's SELinux file is not used: it leads outside the root (a
/// link to a host path, read by no one), or `otherwise`.
fn leaves_or(image: &Root, rel: &str, otherwise: String) -> Disabled {
    match image.first_leaving(&[rel]) {
        Some((path, to)) => Disabled(format!(
            "{} leads outside the root (to {}): the image's policy is not read there",
            path.display(),
            to.display()
        )),
        None => Disabled(otherwise),
    }
}

/// The contexts the policy gives each directory (paths as on the system, not
/// under a root), in order: matchpathcon -n -m dir, one line per path.
pub fn policy_contexts(policy: &Policy, dirs: &[PathBuf]) -> Result<Vec<String>, String> {
    if dirs.is_empty() {
        return Ok(Vec::new());
    }
    let mut cmd = Command::new("matchpathcon");
    cmd.args(["-n", "-m", "dir"]);
    if let Some(fc) = &policy.file_contexts {
        cmd.arg("-f").arg(fc);
    }
    // "--": a path is never read as an option.
    let out = cmd
        .arg("--")
        .args(dirs)
        .output()
        .map_err(|e| format!("cannot run matchpathcon: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<String> = text.lines().map(|l| l.trim().to_string()).collect();
    if !out.status.success() || lines.len() != dirs.len() {
        return Err(format!(
            "matchpathcon failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(lines)
}

/// The label `path` carries (its security.selinux attribute, not following
/// a symlink); None when it has none.
pub fn label(path: &Path) -> Result<Option<String>, String> {
    let Some(mut value) =
        super::xattr::get(path, c"security.selinux", 1024).map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    while value.last() == Some(&0) {
        value.pop();
    }
    Ok(Some(String::from_utf8_lossy(&value).into_owned()))
}

/// The type field of a context `user:role:type[:level]`.
pub fn context_type(context: &str) -> &str {
    context.split(':').nth(2).unwrap_or(context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_of_contexts() {
        assert_eq!(
            context_type("system_u:object_r:postgresql_db_t:s0"),
            "postgresql_db_t"
        );
        assert_eq!(context_type("<<none>>"), "<<none>>");
    }

    #[test]
    fn an_image_without_selinux_is_disabled() {
        let root = tempfile::tempdir().unwrap();
        assert!(detect(&Root::open(root.path()).unwrap()).is_err());
        std::fs::create_dir_all(root.path().join("etc/selinux")).unwrap();
        std::fs::write(
            root.path().join("etc/selinux/config"),
            "SELINUX=disabled\nSELINUXTYPE=default\n",
        )
        .unwrap();
        let e = detect(&Root::open(root.path()).unwrap()).unwrap_err();
        assert!(e.0.contains("disabled"), "{e:?}");
    }
}
