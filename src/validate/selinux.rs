//! SELinux labels, where SELinux is on: each planned directory's label
//! against what the policy says for its path (restorecon's own lookup), and
//! the policy's answer against the type the layout asks for.

use super::Check;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Resolved;
use super::Tally;
use crate::layout::PlannedDir;
use crate::status::Status::{Critical, Unknown, Warning};
use crate::system::selinux::{self, context_type};

/// Whether labels were checked, for the summary and the JSON report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "labels", rename_all = "snake_case")]
pub enum Labels {
    Checked { policy: String, directories: usize },
    Skipped { reason: String },
}

const MODULE_HINT: &str = "install the tier's SELinux module: `jts-hot apply` (or reinstall the \
package); a policy without this type skips it (see /usr/share/doc/jts-hot/selinux.md)";

/// Checks the labels of the planned directories that exist as real
/// directories (the others are dirs.exists findings already).
pub fn check(planned: &[PlannedDir], resolved: &Resolved, tally: &mut Tally) -> Labels {
    let policy = match selinux::detect(resolved.root()) {
        Ok(p) => p,
        Err(disabled) => return Labels::Skipped { reason: disabled.0 },
    };
    let policy_name = match &policy.file_contexts {
        Some(fc) => fc.display().to_string(),
        None => "the loaded policy".to_string(),
    };
    let present: Vec<&PlannedDir> = planned
        .iter()
        .filter(|d| std::fs::symlink_metadata(resolved.on_disk(&d.path)).is_ok_and(|m| m.is_dir()))
        .collect();
    let paths: Vec<PathBuf> = present.iter().map(|d| d.path.clone()).collect();
    let wanted = match selinux::policy_contexts(&policy, &paths) {
        Ok(w) => w,
        Err(e) => {
            let base = planned.first().map(|d| d.path.clone()).unwrap_or_default();
            tally.fail(
                Unknown,
                &resolved.on_disk(&base),
                Check::SelinuxPolicy,
                "the policy's file contexts",
                e,
            );
            return Labels::Checked {
                policy: policy_name,
                directories: 0,
            };
        }
    };
    for (dir, wanted) in present.iter().zip(&wanted) {
        let path = resolved.on_disk(&dir.path);
        policy_type(dir, &path, wanted, tally);
        label(dir, &path, wanted, tally);
    }
    equivalences(&policy, planned, &present, &wanted, resolved, tally);
    Labels::Checked {
        policy: policy_name,
        directories: present.len(),
    }
}

/// selinux.policy: the policy gives a service's directory the layout's
/// selinux_type (else the tier's module is not installed).
fn policy_type(dir: &PlannedDir, path: &Path, wanted: &str, tally: &mut Tally) {
    let Some(t) = dir.service.and_then(|s| s.selinux_type.as_ref()) else {
        return;
    };
    let wanted_type = context_type(wanted);
    if wanted_type == t.as_str() {
        tally.pass();
    } else {
        tally
            .fail(
                Warning,
                path,
                Check::SelinuxPolicy,
                t.to_string(),
                format!("the policy labels it {wanted_type}"),
            )
            .hint(MODULE_HINT);
    }
}

/// selinux.policy: a directory of a service with `selinux_equal` gets what
/// the policy gives the same path under the source (else the equivalence is
/// not installed, and the directory keeps a label the database cannot use
/// while selinux.label finds nothing wrong).
fn equivalences(
    policy: &selinux::Policy,
    planned: &[PlannedDir],
    present: &[&PlannedDir],
    wanted: &[String],
    resolved: &Resolved,
    tally: &mut Tally,
) {
    // Each service's own directory: the shortest of its planned paths (one
    // pass, so thousands of services stay linear).
    let mut service_dirs: HashMap<&str, &Path> = HashMap::new();
    for d in planned {
        if let Some(s) = d.service.filter(|s| s.selinux_equal.is_some()) {
            let shortest = service_dirs.entry(s.name.as_str()).or_insert(&d.path);
            if d.path.components().count() < shortest.components().count() {
                *shortest = &d.path;
            }
        }
    }
    // (directory, its answer, the same path under the source, the equivalence: source, service directory)
    let mut pairs = Vec::new();
    for (dir, wanted) in present.iter().zip(wanted) {
        let Some(service) = dir.service else { continue };
        let Some(source) = &service.selinux_equal else {
            continue;
        };
        let Some(&service_dir) = service_dirs.get(service.name.as_str()) else {
            continue;
        };
        let Ok(rel) = dir.path.strip_prefix(service_dir) else {
            continue;
        };
        // join("") would add a trailing slash to the service's own directory.
        let same_under_source = match rel.as_os_str().is_empty() {
            true => source.clone(),
            false => source.join(rel),
        };
        pairs.push((dir, wanted, same_under_source, (source, service_dir)));
    }
    let sources: Vec<PathBuf> = pairs.iter().map(|p| p.2.clone()).collect();
    let answers = match selinux::policy_contexts(policy, &sources) {
        Ok(a) => a,
        Err(e) => {
            if let Some((dir, ..)) = pairs.first() {
                let path = resolved.on_disk(&dir.path);
                tally.fail(
                    Unknown,
                    &path,
                    Check::SelinuxPolicy,
                    "the policy's file contexts",
                    e,
                );
            }
            return;
        }
    };
    for ((dir, wanted, source_path, (source, service_dir)), answer) in pairs.iter().zip(&answers) {
        let path = resolved.on_disk(&dir.path);
        if context_type(wanted) == context_type(answer) {
            tally.pass();
            continue;
        }
        tally
            .fail(
                Warning,
                &path,
                Check::SelinuxPolicy,
                format!("as {} ({})", source_path.display(), context_type(answer)),
                format!("the policy labels it {}", context_type(wanted)),
            )
            .hint(format!(
                "install the equivalence: `jts-hot apply` (semanage fcontext -a -e {} {}; \
                 see /usr/share/doc/jts-hot/selinux.md)",
                crate::escape::shell_word(source),
                crate::escape::shell_word(service_dir)
            ));
    }
}

/// selinux.label: the directory's label is the policy's answer for its path.
fn label(dir: &PlannedDir, path: &Path, wanted: &str, tally: &mut Tally) {
    // Data: a service's directory and its subdirectories, except scratch.
    let data = dir.service.is_some() && dir.clean_after.is_none();
    let severity = if data { Critical } else { Warning };
    match selinux::label(path) {
        Ok(Some(label)) if context_type(&label) == context_type(wanted) => tally.pass(),
        Ok(found) => {
            // The label is read from the disk: shown escaped.
            let actual = found.map_or_else(|| "no label".into(), |l| crate::escape::untrusted(&l));
            tally
                .fail(severity, path, Check::SelinuxLabel, wanted, actual)
                .hint(format!(
                    "fix: restorecon -v {} (this directory only; after moving data in, \
                     restorecon -R once)",
                    crate::escape::shell_word(&dir.path)
                ));
        }
        Err(e) => {
            tally.fail(Unknown, path, Check::SelinuxLabel, wanted, e);
        }
    }
}
