//! What `jts-hot apply` does about SELinux, where it is enabled: install the
//! module rendered from the layout into the policy store (`semodule -X
//! PRIORITY -i`) and add the layout's equivalences (`semanage fcontext -a -e`,
//! which no module can say) before systemd-tmpfiles creates the directories,
//! so they are born labelled; then relabel the planned directories
//! themselves, never what is in them (`restorecon` without -R). Where SELinux
//! is disabled, nothing happens and nothing fails.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::layout::Layout;
use crate::render;
use crate::render::generated::{SELINUX_MODULE_NAME, SELINUX_MODULE_PATH};
use crate::system::rootfs::Root;
use crate::system::selinux::{detect, Policy};

/// The package installs the module at this priority; `apply` above it.
pub const PACKAGE_PRIORITY: u16 = 200;
pub const APPLY_PRIORITY: u16 = 300;

/// The equivalences jts-hot added (`DIR SOURCE` lines, as file_contexts.subs):
/// removal and `apply` delete only these, never one the operator set. The
/// package scripts keep the same record.
pub(super) const EQUAL_RECORD: &str = "var/lib/jts-hot/selinux-equal";

/// What the SELinux step decided, before doing anything.
#[derive(Debug)]
pub struct Plan {
    pub module: Module,
    /// Empty where SELinux is disabled.
    pub equal: Vec<Equal>,
    /// Why the layout's equivalences cannot be checked or added (semanage
    /// missing or failing) on a host where SELinux is enabled.
    pub equal_unavailable: Option<String>,
}

/// One equivalence (`selinux_equal`) and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Equal {
    /// Not there: add it, and record it as ours.
    Add { dir: String, source: String },
    /// Ours, and the layout now names another source: replace it.
    Replace {
        dir: String,
        old: String,
        source: String,
    },
    /// Ours, and as the layout asks.
    Current { dir: String, source: String },
    /// Set by the operator with the layout's source: left as theirs.
    Operators { dir: String, source: String },
    /// Set by the operator to another source: reported, left alone.
    Conflict {
        dir: String,
        theirs: String,
        source: String,
    },
    /// Ours, and the layout no longer asks for it: deleted.
    Delete { dir: String, source: String },
    /// Recorded as ours but changed or deleted by the operator since: only
    /// the record goes.
    Forget { dir: String },
}

impl Plan {
    /// Whether carrying the plan out changes the policy.
    pub fn changes(&self) -> bool {
        matches!(self.module, Module::Install { .. })
            || self.equal.iter().any(|e| {
                matches!(
                    e,
                    Equal::Add { .. } | Equal::Replace { .. } | Equal::Delete { .. }
                )
            })
    }

    /// What --dry-run says it would do.
    pub fn dry_run(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Module::Install { priority, .. } = &self.module {
            lines.push(format!(
                "would install the SELinux module {SELINUX_MODULE_NAME} at priority {priority}"
            ));
        }
        for e in &self.equal {
            match e {
                Equal::Add { dir, source } | Equal::Replace { dir, source, .. } => {
                    lines.push(format!("would run semanage fcontext -a -e {source} {dir}"))
                }
                Equal::Delete { dir, source } => lines.push(format!(
                    "would run semanage fcontext -d -e {source} {dir} (no longer in the layout)"
                )),
                _ => {}
            }
        }
        lines.extend(self.equal_problems());
        lines
    }

    /// Equivalences the layout asks for that are not in place, one line each.
    fn equal_problems(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.equal_unavailable.iter().cloned().collect();
        for e in &self.equal {
            if let Equal::Conflict {
                dir,
                theirs,
                source,
            } = e
            {
                lines.push(format!(
                    "SELinux: {dir} is already equivalent to {theirs} (set by the operator, not \
                     by jts-hot): left alone, although the layout asks for {source}; to follow \
                     the layout: semanage fcontext -d -e {theirs} {dir}, then jts-hot apply"
                ));
            }
        }
        lines
    }
}

/// The module step.
#[derive(Debug)]
pub enum Module {
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

/// `semodule` on this host's store, or on the image's at `root` (-n: an
/// image's policy is not the running kernel's), as [`policy_tool`] runs it.
fn semodule(root: &Root) -> Result<Command> {
    let mut tool = policy_tool(root, "semodule")?;
    if root.image_dir().is_some() {
        tool.arg("-n");
    }
    Ok(tool)
}

/// The module installed at `priority`, as the store gives it back (CIL).
fn installed(root: &Root, priority: u16) -> Option<String> {
    let dir = tempfile::tempdir().ok()?;
    let out = semodule(root)
        .ok()?
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

/// The image's policy directories, resolved inside the image.
const POLICY_DIRS: [&str; 2] = ["etc/selinux", "var/lib/selinux"];

/// `tool` on the host's policy, or on the image's at `root`. Neither tool
/// can be trusted with an image's paths: semanage has no --root, and
/// semodule -p prefixes the root to its store and follows whatever links the
/// image holds there (an image whose var/lib/selinux links to the host's
/// had the host's store rewritten). So under a root each runs in a private
/// mount namespace where the image's /etc/selinux and /var/lib/selinux,
/// opened inside the image (links and `..` never leave it), are bind-mounted
/// over the host's, `nosymfollow`: a link planted anywhere in the image's
/// policy is not followed at all. Nothing outside that one process sees the
/// mounts. A directory that cannot be resolved inside the image refuses the
/// step, naming it; one that is swapped for another before the mount
/// fails it (EXDEV).
fn policy_tool(root: &Root, tool: &str) -> Result<Command> {
    let mut cmd = Command::new(tool);
    let Some(dir) = root.image_dir() else {
        return Ok(cmd);
    };
    let mut mounts = Vec::new();
    for rel in POLICY_DIRS {
        let fd = policy_dir(root, dir, tool, rel)?;
        // A descriptor of the parent's namespace cannot be bind-mounted in
        // the child's new one: the child mounts the path it names, then
        // checks it mounted that very directory (device and inode).
        let source = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))?;
        let st = nix::sys::stat::fstat(fd.as_raw_fd())?;
        let source = CString::new(source.into_os_string().into_encoded_bytes())?;
        let target = CString::new(format!("/{rel}"))?;
        mounts.push((source, target, st.st_dev, st.st_ino));
    }
    // SAFETY: the closure runs between fork and exec and only makes system
    // calls on strings built before the fork.
    unsafe {
        cmd.pre_exec(move || {
            let check = |r: libc::c_int| match r {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            };
            check(libc::unshare(libc::CLONE_NEWNS))?;
            let none = std::ptr::null();
            check(libc::mount(
                none,
                c"/".as_ptr(),
                none,
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ))?;
            for (source, target, dev, ino) in &mounts {
                check(libc::mount(
                    source.as_ptr(),
                    target.as_ptr(),
                    none,
                    libc::MS_BIND,
                    std::ptr::null(),
                ))?;
                let mut st: libc::stat = std::mem::zeroed();
                check(libc::stat(target.as_ptr(), &mut st))?;
                if (st.st_dev, st.st_ino) != (*dev, *ino) {
                    // The image changed under us: not the directory resolved.
                    return Err(std::io::Error::from_raw_os_error(libc::EXDEV));
                }
                check(libc::mount(
                    none,
                    target.as_ptr(),
                    none,
                    libc::MS_REMOUNT
                        | libc::MS_BIND
                        | libc::MS_NOSYMFOLLOW
                        | libc::MS_NOSUID
                        | libc::MS_NODEV,
                    std::ptr::null(),
                ))?;
            }
            Ok(())
        });
    }
    Ok(cmd)
}

/// The image's policy directory `rel`, opened inside it, or the refusal of `tool`.
fn policy_dir(root: &Root, image: &Path, tool: &str, rel: &str) -> Result<OwnedFd> {
    root.open_dir_path(Path::new(rel)).with_context(|| {
        format!(
            "{tool} refused: the image's /{rel} does not resolve to a directory inside {}",
            image.display()
        )
    })
}

/// Why `install` would refuse the image, decided before apply writes
/// anything: a policy tool is to run and the image's policy directories do
/// not resolve inside it.
pub fn refusal(plan: &Plan, root: &Root) -> Option<String> {
    let image = root.image_dir()?;
    let tool = match &plan.module {
        Module::Disabled(_) => return None,
        Module::Install { .. } => "semodule",
        Module::Current { .. } => {
            let runs_semanage = plan.equal.iter().any(|e| {
                matches!(
                    e,
                    Equal::Add { .. } | Equal::Replace { .. } | Equal::Delete { .. }
                )
            });
            if !runs_semanage {
                return None;
            }
            "semanage"
        }
    };
    POLICY_DIRS
        .iter()
        .find_map(|rel| policy_dir(root, image, tool, rel).err())
        .map(|e| format!("{e:#}"))
}

/// semanage's argument for "do not reload the policy", under a root.
fn no_reload(root: &Root) -> Option<&'static str> {
    root.image_dir().map(|_| "-N")
}

/// The local equivalences (DIR → SOURCE) semanage holds, from its own
/// export (`fcontext -a -e SOURCE DIR` lines).
fn local_equivalences(root: &Root) -> Result<BTreeMap<String, String>, String> {
    // Asked first: a missing semanage is then named as such.
    let found = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|d| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(d.join("semanage"))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    });
    if !found {
        return Err("semanage is missing".into());
    }
    let mut tool = policy_tool(root, "semanage").map_err(|e| format!("{e:#}"))?;
    let out = tool
        .args(["fcontext", "--extract"])
        .output()
        .map_err(|e| format!("cannot run semanage: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "semanage fcontext --extract failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(parse_extract(&String::from_utf8_lossy(&out.stdout)))
}

fn parse_extract(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            match w.as_slice() {
                ["fcontext", "-a", "-e", source, dir] => {
                    Some((dir.to_string(), source.to_string()))
                }
                _ => None,
            }
        })
        .collect()
}

/// The record of what jts-hot added: `DIR SOURCE` lines; anything else
/// (comments, a line someone mangled) is not an equivalence of ours.
/// Public for the fuzz targets (fuzz/).
pub fn parse_record(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            match w.as_slice() {
                [dir, source] if dir.starts_with('/') && source.starts_with('/') => {
                    Some((dir.to_string(), source.to_string()))
                }
                _ => None,
            }
        })
        .collect()
}

fn read_record(root: &Root) -> Result<BTreeMap<String, String>> {
    let text = root
        .read_text(Path::new(EQUAL_RECORD), 1 << 20)
        .with_context(|| {
            format!(
                "cannot read {}",
                root.display(Path::new(EQUAL_RECORD)).display()
            )
        })?;
    Ok(text.map(|t| parse_record(&t)).unwrap_or_default())
}

fn write_record(root: &Root, record: &BTreeMap<String, String>) -> Result<()> {
    let rel = Path::new(EQUAL_RECORD);
    let mut text = String::from(
        "# SELinux equivalences jts-hot added (semanage fcontext -a -e SOURCE DIR), as\n\
         # DIR SOURCE; removing the package deletes these and no others.\n",
    );
    for (dir, source) in record {
        text.push_str(&format!("{dir} {source}\n"));
    }
    let dir = rel.parent().expect("the record lies in a directory");
    root.create_dir_all(dir, &mut Vec::new())
        .with_context(|| format!("cannot create {}", root.display(dir).display()))?;
    root.write_atomic(rel, text.as_bytes(), 0o644)
        .with_context(|| format!("cannot write {}", root.display(rel).display()))
}

/// What to do about each equivalence, given what semanage holds and what
/// jts-hot recorded adding.
fn equal_steps(
    wanted: &[render::SelinuxEquivalence],
    local: &BTreeMap<String, String>,
    ours: &BTreeMap<String, String>,
) -> Vec<Equal> {
    let mut steps = Vec::new();
    for w in wanted {
        let (dir, source) = (w.dir.clone(), w.source.clone());
        let recorded = ours.get(&dir);
        steps.push(match local.get(&dir) {
            None => Equal::Add { dir, source },
            Some(have) if *have == source && recorded == Some(have) => {
                Equal::Current { dir, source }
            }
            Some(have) if *have == source => Equal::Operators { dir, source },
            Some(have) if recorded == Some(have) => Equal::Replace {
                dir,
                old: have.clone(),
                source,
            },
            Some(have) => Equal::Conflict {
                dir,
                theirs: have.clone(),
                source,
            },
        });
    }
    for (dir, source) in ours {
        if wanted.iter().any(|w| &w.dir == dir) {
            continue;
        }
        steps.push(match local.get(dir) {
            Some(have) if have == source => Equal::Delete {
                dir: dir.clone(),
                source: source.clone(),
            },
            _ => Equal::Forget { dir: dir.clone() },
        });
    }
    steps
}

pub fn plan(layout: &Layout, root: &Root, priority: u16) -> Plan {
    let policy = match detect(root) {
        Ok(p) => p,
        Err(disabled) => {
            return Plan {
                module: Module::Disabled(disabled.0),
                equal: Vec::new(),
                equal_unavailable: None,
            }
        }
    };
    let module = render::render(layout)
        .into_iter()
        .find(|f| f.path == Path::new(SELINUX_MODULE_PATH))
        .expect("the SELinux module is always rendered")
        .contents;
    let module = if installed(root, priority).as_deref() == Some(module.as_str()) {
        Module::Current { priority }
    } else {
        Module::Install {
            priority,
            module,
            policy,
        }
    };
    let wanted = render::selinux_equivalences(layout);
    let ours = read_record(root).unwrap_or_default();
    let (equal, equal_unavailable) = if wanted.is_empty() && ours.is_empty() {
        // Nothing to ask semanage (a python process): most layouts.
        (Vec::new(), None)
    } else {
        match local_equivalences(root) {
            Ok(local) => (equal_steps(&wanted, &local, &ours), None),
            Err(e) => {
                let dirs: Vec<&str> = wanted.iter().map(|w| w.dir.as_str()).collect();
                (
                    Vec::new(),
                    Some(format!(
                        "SELinux: WARNING: {e}: the layout's equivalences are NOT in place \
                         ({}); install semanage (policycoreutils-python-utils), then run \
                         jts-hot apply",
                        dirs.join(", ")
                    )),
                )
            }
        }
    };
    Plan {
        module,
        equal,
        equal_unavailable,
    }
}

/// Runs semanage, failing with its message.
fn run_semanage(root: &Root, args: &[&str]) -> Result<()> {
    let mut tool = policy_tool(root, "semanage")?;
    let output = tool
        .args(["fcontext"])
        .args(no_reload(root))
        .args(args)
        .output()
        .context("cannot run semanage")?;
    if !output.status.success() {
        bail!(
            "semanage fcontext {} failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Carries out the plan: the module, then the equivalences; reports to
/// `out`. Returns false when the layout's equivalences are not all in place.
pub fn install(plan: &Plan, root: &Root, out: &mut dyn Write) -> Result<bool> {
    if let Module::Disabled(reason) = &plan.module {
        writeln!(out, "SELinux: {reason}: no module installed")?;
        return Ok(true);
    }
    install_module(&plan.module, root, out)?;
    if plan.equal.is_empty() {
        for line in plan.equal_problems() {
            writeln!(out, "{line}")?;
        }
        return Ok(plan.equal_unavailable.is_none());
    }
    let mut record = read_record(root)?;
    let mut result = Ok(());
    for e in &plan.equal {
        match equivalence_step(e, root, &mut record) {
            None => continue,
            Some(Ok(line)) => writeln!(out, "{line}")?,
            Some(Err(e)) => {
                result = Err(e);
                break;
            }
        }
    }
    write_record(root, &record)?;
    result?;
    let problems = plan.equal_problems();
    for line in &problems {
        writeln!(out, "{line}")?;
    }
    Ok(problems.is_empty())
}

/// The tier's module at the plan's priority (semodule -X -i), unless current.
fn install_module(module: &Module, root: &Root, out: &mut dyn Write) -> Result<()> {
    match module {
        Module::Disabled(_) => Ok(()),
        Module::Current { priority } => Ok(writeln!(
            out,
            "SELinux module {SELINUX_MODULE_NAME} already installed at priority {priority}"
        )?),
        Module::Install {
            priority, module, ..
        } => {
            // semodule names the module after the file.
            let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
            let file = dir.path().join(format!("{SELINUX_MODULE_NAME}.cil"));
            std::fs::write(&file, module)
                .with_context(|| format!("cannot write {}", file.display()))?;
            let output = semodule(root)?
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
            Ok(writeln!(
                out,
                "SELinux module {SELINUX_MODULE_NAME} installed at priority {priority}"
            )?)
        }
    }
}

/// One equivalence step: its report line, or the error that stops the rest;
/// None for a conflict (reported with the problems). Each step is recorded
/// as soon as it is done: a failure later leaves a record that matches the
/// policy.
fn equivalence_step(
    e: &Equal,
    root: &Root,
    record: &mut BTreeMap<String, String>,
) -> Option<Result<String>> {
    Some(match e {
        Equal::Add { dir, source } => run_semanage(root, &["-a", "-e", source, dir]).map(|()| {
            record.insert(dir.clone(), source.clone());
            format!("SELinux: {dir} labelled as {source} (semanage fcontext -a -e)")
        }),
        // semanage 3.4's -m -e adds instead of modifying: delete, then add.
        Equal::Replace { dir, old, source } => run_semanage(root, &["-d", "-e", old, dir])
            .and_then(|()| {
                record.remove(dir);
                run_semanage(root, &["-a", "-e", source, dir])?;
                record.insert(dir.clone(), source.clone());
                Ok(format!("SELinux: {dir} labelled as {source} (was {old})"))
            }),
        Equal::Current { dir, source } => Ok(format!(
            "SELinux: {dir} already labelled as {source} (semanage fcontext -e)"
        )),
        Equal::Operators { dir, source } => Ok(format!(
            "SELinux: {dir} already labelled as {source} by the operator's own \
             equivalence: left as theirs"
        )),
        Equal::Conflict { .. } => return None,
        Equal::Delete { dir, source } => run_semanage(root, &["-d", "-e", source, dir]).map(|()| {
            record.remove(dir);
            format!("SELinux: equivalence of {dir} to {source} deleted (no longer in the layout)")
        }),
        Equal::Forget { dir } => {
            record.remove(dir);
            Ok(format!(
                "SELinux: the equivalence of {dir} was changed by the operator: no longer jts-hot's"
            ))
        }
    })
}

/// Relabels each planned directory that exists, itself only (restorecon
/// without -R: data moved in is relabelled once by the operator). Under a
/// root, systemd-tmpfiles relabels them at the image's boot instead.
pub fn relabel(plan: &Plan, layout: &Layout, root: &Root, out: &mut dyn Write) -> Result<()> {
    if matches!(plan.module, Module::Disabled(_)) {
        return Ok(());
    }
    if root.image_dir().is_some() {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn w(dir: &str, source: &str) -> render::SelinuxEquivalence {
        render::SelinuxEquivalence {
            dir: dir.into(),
            source: source.into(),
        }
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn semanage_extract_is_read_as_dir_to_source() {
        let text = "boolean -m -1 x\nfcontext -a -e /var/lib/docker /d/docker\n\
                    fcontext -a -t var_t '/x(/.*)?'\n";
        assert_eq!(
            parse_extract(text),
            map(&[("/d/docker", "/var/lib/docker")])
        );
        assert_eq!(
            parse_record("# c\n/d/docker /var/lib/docker\nnot a line\n/a b c\n"),
            map(&[("/d/docker", "/var/lib/docker")])
        );
    }

    #[test]
    fn only_jts_hots_own_equivalences_are_changed() {
        let wanted = [
            w("/d/new", "/var/lib/docker"),
            w("/d/current", "/var/lib/docker"),
            w("/d/operators", "/var/lib/docker"),
            w("/d/conflict", "/var/lib/docker"),
            w("/d/moved", "/var/lib/docker"),
        ];
        let local = map(&[
            ("/d/current", "/var/lib/docker"),
            ("/d/operators", "/var/lib/docker"),
            ("/d/conflict", "/srv/theirs"),
            ("/d/moved", "/var/lib/old"),
            ("/d/gone", "/var/lib/docker"),
            ("/d/retaken", "/srv/theirs"),
        ]);
        let ours = map(&[
            ("/d/current", "/var/lib/docker"),
            ("/d/moved", "/var/lib/old"),
            ("/d/gone", "/var/lib/docker"),
            ("/d/retaken", "/var/lib/docker"),
        ]);
        let steps = equal_steps(&wanted, &local, &ours);
        let d = |s: &str| s.to_string();
        assert_eq!(
            steps,
            [
                Equal::Add {
                    dir: d("/d/new"),
                    source: d("/var/lib/docker")
                },
                Equal::Current {
                    dir: d("/d/current"),
                    source: d("/var/lib/docker")
                },
                Equal::Operators {
                    dir: d("/d/operators"),
                    source: d("/var/lib/docker")
                },
                Equal::Conflict {
                    dir: d("/d/conflict"),
                    theirs: d("/srv/theirs"),
                    source: d("/var/lib/docker")
                },
                Equal::Replace {
                    dir: d("/d/moved"),
                    old: d("/var/lib/old"),
                    source: d("/var/lib/docker")
                },
                Equal::Delete {
                    dir: d("/d/gone"),
                    source: d("/var/lib/docker")
                },
                Equal::Forget {
                    dir: d("/d/retaken")
                },
            ]
        );
    }
}
