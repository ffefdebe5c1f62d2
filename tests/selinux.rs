//! SELinux, with Debian's real policy and tools (selinux-policy-default,
//! semodule, matchpathcon; they work on a kernel without SELinux): the module
//! `generate` renders loads into a real policy store in a test root, and the
//! policy then gives every planned directory the type the layout asked for;
//! a type the policy lacks is skipped, not fatal; a hostile type is refused.

mod common;
#[path = "common/nspawn.rs"]
mod nspawn;
#[path = "common/qemu.rs"]
mod qemu;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{cannot_run, have_root, have_tool, jts_hot, repo_root, run};
use jts_hot::layout::Layout;

const STORE: &str = "/var/lib/selinux/default";
const MODULE: &str = "usr/share/selinux/packages/jts-hot.cil";
const FILE_CONTEXTS: &str = "etc/selinux/default/contexts/files/file_contexts";

/// Types Debian's default policy declares (checked in its file_contexts below).
const IN_DEBIAN_POLICY: &[&str] = &["postgresql_db_t", "mongod_var_lib_t", "redis_var_lib_t"];

fn prerequisites(test: &str) -> bool {
    if !have_root(test) || !have_tool(test, "semodule") || !have_tool(test, "matchpathcon") {
        return false;
    }
    if !Path::new(STORE).join("active").is_dir() {
        cannot_run(
            test,
            "no policy store at /var/lib/selinux/default: apt-get install selinux-policy-default",
        );
        return false;
    }
    true
}

/// A root holding a copy of Debian's policy: its config and its store.
fn policy_root() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("var/lib/selinux")).unwrap();
    fs::create_dir_all(root.path().join("etc")).unwrap();
    for (from, to) in [("/etc/selinux", "etc"), (STORE, "var/lib/selinux")] {
        let status = Command::new("cp")
            .args(["-a", from])
            .arg(root.path().join(to))
            .status()
            .unwrap();
        assert!(status.success(), "cp -a {from}");
    }
    // The host's store may hold a jts-hot module from elsewhere: start clean.
    for p in [200, 300] {
        let _ = fs::remove_dir_all(root.path().join(format!(
            "var/lib/selinux/default/active/modules/{p}/jts-hot"
        )));
    }
    root
}

/// `semodule` on the test root's store, without touching a running kernel.
fn semodule(root: &Path, args: &[&str]) -> (i32, String, String) {
    run(Command::new("semodule")
        .arg("-p")
        .arg(root)
        .arg("-n")
        .args(args))
}

/// The type the root's policy gives `path` (a directory), as restorecon would.
fn policy_type(root: &Path, path: &Path) -> String {
    let (code, out, err) = run(Command::new("matchpathcon")
        .args(["-n", "-m", "dir", "-f"])
        .arg(root.join(FILE_CONTEXTS))
        .arg(path));
    assert_eq!(code, 0, "matchpathcon {}: {err}", path.display());
    let context = out.trim();
    context
        .split(':')
        .nth(2)
        .unwrap_or_else(|| panic!("a context user:role:type:level, not {context:?}"))
        .to_string()
}

fn generate(layout: Option<&Path>, out: &Path) {
    let mut cmd = jts_hot();
    match layout {
        Some(l) => cmd.arg("--config").arg(l),
        None => cmd.arg("--default-layout"),
    };
    let (code, _, err) = run(cmd.arg("generate").arg("--out").arg(out));
    assert_eq!(code, 0, "generate: {err}");
}

#[test]
fn the_module_loads_and_the_policy_labels_every_planned_directory() {
    needs!(prerequisites);
    let root = policy_root();
    let root = root.path();
    let cases = repo_root().join("tests/cases");
    let layouts: Vec<(String, Option<PathBuf>)> = vec![
        ("built-in default".into(), None),
        (
            "04".into(),
            Some(cases.join("04-spaces-and-percent/layout.toml")),
        ),
        ("03".into(), Some(cases.join("03-dir-tables/layout.toml"))),
        (
            "02 (no types)".into(),
            Some(cases.join("02-minimal/layout.toml")),
        ),
    ];
    let mut labelled = 0;
    let mut skipped = 0;
    for (name, file) in &layouts {
        let layout = match file {
            Some(f) => Layout::load(f).unwrap(),
            None => Layout::builtin(),
        };
        let dirs = layout.planned_dirs();
        // What the policy says before the module: what a skipped context leaves.
        let before: Vec<String> = dirs.iter().map(|d| policy_type(root, &d.path)).collect();

        let out = tempfile::tempdir().unwrap();
        generate(file.as_deref(), out.path());
        let (code, _, err) = semodule(
            root,
            &["-X", "200", "-i", out.path().join(MODULE).to_str().unwrap()],
        );
        assert_eq!(code, 0, "{name}: semodule -i: {err}");
        let (_, listed, _) = semodule(root, &["-l"]);
        assert!(listed.lines().any(|l| l.trim() == "jts-hot"), "{listed}");

        for (d, before) in dirs.iter().zip(&before) {
            let got = policy_type(root, &d.path);
            match d.service.and_then(|s| s.selinux_type.as_ref()) {
                Some(t) if IN_DEBIAN_POLICY.contains(&t.as_str()) => {
                    assert_eq!(&got, t.as_str(), "{name}: {}", d.path.display());
                    labelled += 1;
                }
                // Not in Debian's policy: the optional block is skipped.
                Some(_) => {
                    assert_eq!(&got, before, "{name}: {}", d.path.display());
                    skipped += 1;
                }
                None => assert_eq!(&got, before, "{name}: {}", d.path.display()),
            }
        }
    }
    // The default tier: postgresql (4 dirs), mongodb (4), redis (3) labelled
    // (docker has an equivalence, no type); 04: redis (3) and cache.v2 (2);
    // 03: clickhouse (4) skipped.
    eprintln!("labelled {labelled} directories, {skipped} skipped (type not in the policy)");
    assert_eq!((labelled, skipped), (11 + 5, 4));

    // Removal takes the contexts away again.
    let (code, _, err) = semodule(root, &["-X", "200", "-r", "jts-hot"]);
    assert_eq!(code, 0, "semodule -r: {err}");
    let layout = Layout::load(&cases.join("04-spaces-and-percent/layout.toml")).unwrap();
    let redis = layout.services[0].path(&layout);
    assert_ne!(policy_type(root, &redis), "redis_var_lib_t");
}

#[test]
fn the_default_types_are_the_distribution_policies_own() {
    let test = needs!("matchpathcon");
    let fc = Path::new("/").join(FILE_CONTEXTS);
    if !fc.is_file() {
        cannot_run(
            test,
            "no Debian policy: apt-get install selinux-policy-default",
        );
        return;
    }
    // Each default type is what Debian's policy gives the service's /var/lib tree.
    for (path, t) in [
        ("/var/lib/postgresql/15/main", "postgresql_db_t"),
        ("/var/lib/mongodb", "mongod_var_lib_t"),
        ("/var/lib/redis", "redis_var_lib_t"),
    ] {
        assert_eq!(policy_type(Path::new("/"), Path::new(path)), t, "{path}");
        let layout = Layout::builtin();
        assert!(
            layout
                .services
                .iter()
                .any(|s| s.selinux_type.as_ref().map(|x| x.as_str()) == Some(t)),
            "{t} is a default"
        );
    }
}

/// `generate` refuses the layout `text` at `hostile.toml:LINE:` naming
/// `field` and `part`, and writes nothing.
fn refused(text: &str, line: usize, field: &str, part: &str, bad: &str) {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("hostile.toml");
    fs::write(&layout, text).unwrap();
    let out = dir.path().join("out");
    let (code, _, err) = run(jts_hot()
        .arg("--config")
        .arg(&layout)
        .args(["generate", "--out"])
        .arg(&out));
    assert_eq!(code, 2, "{bad:?}: {err}");
    assert!(
        err.contains(&format!("hostile.toml:{line}:")),
        "{bad:?}: {err}"
    );
    assert!(err.contains(field), "{bad:?}: {err}");
    assert!(err.contains(part), "{bad:?}: {err}");
    assert!(!out.exists(), "{bad:?}: nothing is written");
}

#[test]
fn a_hostile_selinux_type_is_refused_and_nothing_is_written() {
    for (bad, part) in [
        ("x_t) (allow", "')'"),
        ("x_t\\n(filecon", "a newline"),
        ("system_u:object_r:x_t:s0", "':'"),
        ("a.b_t", "'.'"),
        ("x_t\\\"", "'\"'"),
        ("", "must not be empty"),
        ("9_t", "must start with a letter"),
    ] {
        let text = format!(
            "[tier]\nbase = \"/data/x\"\ncapacity = \"1GB\"\n\n[services.pg]\nowner = \"postgres\"\nplanned = \"1GB\"\nselinux_type = \"{bad}\"\n"
        );
        refused(&text, 8, "services.pg.selinux_type", part, bad);
    }
}

#[test]
fn a_hostile_selinux_equal_is_refused_and_nothing_is_written() {
    for (base, bad, extra, part) in [
        ("/data/x", "/var/lib/docker;reboot", "", "';'"),
        ("/data/x", "/var/lib/doc ker", "", "a space"),
        ("/data/x", "/var/lib/docker\\n/x", "", "a newline"),
        ("/data/x", "$(reboot)", "", "'$'"),
        ("/data/x", "/var/lib/`id`", "", "'`'"),
        ("/data/x", "/var/lib/x\\\"y", "", "'\"'"),
        ("/data/x", "/var/lib/(x)", "", "'('"),
        ("/data/x", "var/lib/docker", "", "not an absolute path"),
        ("/data/x", "/var/lib/../docker", "", "normalized"),
        ("/data/x", "/", "", "cannot be /"),
        ("/data/x", "/data/x/pg/inner", "", "labelled as itself"),
        ("/data/hot tier", "/var/lib/docker", "", "contains a space"),
        (
            "/data/x",
            "/var/lib/docker",
            "selinux_type = \"x_t\"\n",
            "not both",
        ),
    ] {
        let text = format!(
            "[tier]\nbase = \"{base}\"\ncapacity = \"1GB\"\n\n[services.pg]\nowner = \"postgres\"\nplanned = \"1GB\"\n{extra}selinux_equal = \"{bad}\"\n"
        );
        let line = if extra.is_empty() { 8 } else { 9 };
        refused(&text, line, "services.pg.selinux_equal", part, bad);
    }
}

/// `semanage` on the test root's policy: semanage has no --root, so in a
/// private mount namespace the root's /etc/selinux and /var/lib/selinux are
/// bind-mounted over the host's (what `jts-hot apply --root` does too).
fn semanage_in(root: &Path, args: &[&str]) -> (i32, String, String) {
    run(Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
        .arg(
            "r=$1; shift; mount --bind \"$r/etc/selinux\" /etc/selinux \
             && mount --bind \"$r/var/lib/selinux\" /var/lib/selinux && exec semanage \"$@\"",
        )
        .arg("sh")
        .arg(root)
        .args(args))
}

fn local_equivalences(root: &Path) -> Vec<String> {
    let (code, out, err) = semanage_in(root, &["fcontext", "--extract"]);
    assert_eq!(code, 0, "semanage fcontext --extract: {err}");
    let mut lines: Vec<String> = out
        .lines()
        .filter(|l| l.starts_with("fcontext -a -e "))
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// The equivalence form (`selinux_equal`, semanage fcontext -e) with the real
/// semanage on a copy of Debian's policy: once `apply --root` has added it,
/// the policy's answer (matchpathcon, which reads file_contexts.subs as
/// restorecon does) for each service directory and every path below it is
/// the answer for the source's; what the operator set is left alone; only
/// what jts-hot added is ever deleted; validate checks the labels.
#[test]
fn an_equivalence_gives_the_tree_the_labels_of_its_source() {
    needs!(prerequisites, "semanage", "unshare", "setfiles");
    let root = policy_root();
    let root = root.path();
    let layout_path = repo_root().join("tests/cases/07-selinux-equal/layout.toml");
    let layout_text = fs::read_to_string(&layout_path).unwrap();
    fs::create_dir_all(root.join("etc/jts")).unwrap();
    fs::write(root.join("etc/jts/hot-layout.toml"), &layout_text).unwrap();
    // Pairs of (tier path, source path) whose answers must agree.
    let pairs = [
        ("/data/jts/hot/docker", "/var/lib/docker"),
        ("/data/jts/hot/docker/overlay2", "/var/lib/docker/overlay2"),
        ("/data/jts/hot/docker/volumes", "/var/lib/docker/volumes"),
        ("/data/jts/hot/vm", "/var/lib/libvirt"),
        ("/data/jts/hot/vm/images", "/var/lib/libvirt/images"),
        ("/data/jts/hot/vm/qemu", "/var/lib/libvirt/qemu"),
        // Below the planned tree too: the equivalence is of the whole subtree.
        (
            "/data/jts/hot/vm/images/disk.qcow2",
            "/var/lib/libvirt/images/disk.qcow2",
        ),
    ];
    for (tier, _) in pairs {
        assert_eq!(policy_type(root, Path::new(tier)), "default_t", "{tier}");
    }
    // An equivalence the operator set before jts-hot: theirs, on another path.
    let (code, _, err) = semanage_in(
        root,
        &[
            "fcontext",
            "-N",
            "-a",
            "-e",
            "/var/lib/mysql",
            "/srv/operators",
        ],
    );
    assert_eq!(code, 0, "{err}");

    let started = std::time::Instant::now();
    let (code, out, err) = run(jts_hot().arg("apply").arg("--root").arg(root));
    eprintln!(
        "FIGURE apply --root adding 2 equivalences and the module: {:.1?}",
        started.elapsed()
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains(
            "SELinux: /data/jts/hot/docker labelled as /var/lib/docker (semanage fcontext -a -e)"
        ),
        "{out}"
    );
    assert!(
        out.contains("SELinux: /data/jts/hot/vm labelled as /var/lib/libvirt"),
        "{out}"
    );
    // The host's own policy is untouched: the bind mounts were private.
    assert!(
        !Path::new("/etc/selinux/default/contexts/files/file_contexts.subs").exists()
            || !fs::read_to_string("/etc/selinux/default/contexts/files/file_contexts.subs")
                .unwrap()
                .contains("/data/jts/hot/")
    );
    assert_eq!(
        local_equivalences(root),
        [
            "fcontext -a -e /var/lib/docker /data/jts/hot/docker",
            "fcontext -a -e /var/lib/libvirt /data/jts/hot/vm",
            "fcontext -a -e /var/lib/mysql /srv/operators",
        ]
    );
    for (tier, source) in pairs {
        let (t, s) = (
            policy_type(root, Path::new(tier)),
            policy_type(root, Path::new(source)),
        );
        eprintln!("{tier}: {t} (as {source}: {s})");
        assert_eq!(t, s, "{tier} as {source}");
    }
    // Debian's policy types libvirt's subpaths apart: the subtree really is copied.
    assert_eq!(
        policy_type(root, Path::new("/data/jts/hot/vm/images")),
        "virt_image_t"
    );
    assert_eq!(
        policy_type(root, Path::new("/data/jts/hot/vm")),
        "virt_var_lib_t"
    );
    assert_eq!(
        policy_type(root, Path::new("/data/jts/hot/docker")),
        "var_lib_t"
    );
    // The selinux_type service beside them is the module's.
    assert_eq!(
        policy_type(root, Path::new("/data/jts/hot/postgresql/data")),
        "postgresql_db_t"
    );
    let record = fs::read_to_string(root.join("var/lib/jts-hot/selinux-equal")).unwrap();
    assert!(
        record
            .lines()
            .any(|l| l.trim() == "/data/jts/hot/docker /var/lib/docker"),
        "{record}"
    );
    assert!(!record.contains("/srv/operators"), "{record}");
    assert!(root.join("etc/jts-hot/file_contexts.subs").is_file());

    // validate: matchpathcon reads the root's file_contexts.subs, so the
    // label check covers equivalent paths: unlabelled first (CRITICAL, with
    // the source's type as the expectation), clean after the relabel.
    let report = validate_json(root);
    let expected: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "selinux.label")
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["expected"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let at = |p: &str| {
        expected
            .iter()
            .find(|(path, _)| Path::new(path) == root.join(p))
            .map(|(_, e)| e.clone())
            .unwrap_or_else(|| panic!("no finding for {p}: {expected:?}"))
    };
    assert_eq!(
        at("data/jts/hot/vm/images"),
        "system_u:object_r:virt_image_t:s0"
    );
    assert_eq!(
        at("data/jts/hot/docker/overlay2"),
        "system_u:object_r:var_lib_t:s0"
    );
    let (code, _, err) = run(Command::new("setfiles")
        .arg("-r")
        .arg(root)
        .arg(root.join(FILE_CONTEXTS))
        .arg(root.join("data/jts/hot")));
    assert_eq!(code, 0, "setfiles: {err}");
    let report = validate_json(root);
    assert_eq!(selinux_findings(&report), [], "{report}");
    // A stale label on an equivalent subdirectory: CRITICAL, restorecon the fix.
    set_label(
        &root.join("data/jts/hot/vm/images"),
        "system_u:object_r:var_lib_t:s0",
    );
    let report = validate_json(root);
    let f = &report["findings"].as_array().unwrap()[0];
    assert_eq!(f["check"], "selinux.label", "{report}");
    assert_eq!(f["severity"], "CRITICAL");
    assert_eq!(f["expected"], "system_u:object_r:virt_image_t:s0");

    // Again: nothing to do.
    let (code, out, err) = run(jts_hot().arg("apply").arg("--root").arg(root));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("/data/jts/hot/docker already labelled as /var/lib/docker"),
        "{out}"
    );
    assert!(out.contains("nothing changed"), "{out}");

    // The operator changes vm's equivalence: theirs now. The layout drops
    // docker's: jts-hot deletes the one it added.
    let (code, _, err) = semanage_in(
        root,
        &[
            "fcontext",
            "-N",
            "-d",
            "-e",
            "/var/lib/libvirt",
            "/data/jts/hot/vm",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = semanage_in(
        root,
        &[
            "fcontext",
            "-N",
            "-a",
            "-e",
            "/var/lib/lxc",
            "/data/jts/hot/vm",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let without_docker = layout_text.replace("selinux_equal = \"/var/lib/docker\"\n", "");
    assert_ne!(without_docker, layout_text);
    fs::write(root.join("etc/jts/hot-layout.toml"), &without_docker).unwrap();
    let (code, out, err) = run(jts_hot().arg("apply").arg("--root").arg(root));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("SELinux: equivalence of /data/jts/hot/docker to /var/lib/docker deleted"),
        "{out}"
    );
    assert!(
        out.contains("/data/jts/hot/vm is already equivalent to /var/lib/lxc (set by the operator, not by jts-hot): left alone"),
        "{out}"
    );
    assert!(out.contains("not all in place"), "{out}");
    assert_eq!(
        local_equivalences(root),
        [
            "fcontext -a -e /var/lib/lxc /data/jts/hot/vm",
            "fcontext -a -e /var/lib/mysql /srv/operators",
        ]
    );
    let record = fs::read_to_string(root.join("var/lib/jts-hot/selinux-equal")).unwrap();
    assert!(!record.contains("/data/jts/hot/docker"), "{record}");
    // validate sees that vm is no longer labelled as the layout's source
    // (while its labels may all match the policy): a selinux.policy WARNING
    // naming the equivalence to install, for vm and each subdirectory.
    let report = validate_json(root);
    let policy: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "selinux.policy")
        .collect();
    let vm = policy
        .iter()
        .find(|f| Path::new(f["path"].as_str().unwrap()) == root.join("data/jts/hot/vm"))
        .unwrap_or_else(|| panic!("no selinux.policy finding for vm: {report}"));
    assert_eq!(vm["severity"], "WARNING", "{report}");
    assert_eq!(
        vm["expected"], "as /var/lib/libvirt (virt_var_lib_t)",
        "{report}"
    );
    assert!(
        vm["hint"]
            .as_str()
            .unwrap()
            .contains("semanage fcontext -a -e '/var/lib/libvirt' '/data/jts/hot/vm'"),
        "{report}"
    );
    assert!(
        policy.iter().any(|f| f["expected"]
            .as_str()
            .unwrap()
            .starts_with("as /var/lib/libvirt/images (")),
        "{report}"
    );
    assert!(
        !policy
            .iter()
            .any(|f| f["path"].as_str().unwrap().contains("/docker")),
        "docker has no selinux_equal in this layout any more: {report}"
    );

    // semanage missing on a host where SELinux is enabled: said loudly, exit 1,
    // nothing else fails (the module is still installed).
    fs::write(root.join("etc/jts/hot-layout.toml"), &layout_text).unwrap();
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/usr/sbin/semodule", bin.path().join("semodule")).unwrap();
    let (code, out, err) = run(jts_hot()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.path().display()))
        .arg("apply")
        .arg("--root")
        .arg(root));
    assert_eq!(code, 1, "{out}\n{err}");
    // Already there: the module's own content did not change (its digest is
    // its own, not the whole layout's), so it is not installed again.
    assert!(
        out.contains("SELinux module jts-hot already installed at priority 300")
            || out.contains("SELinux module jts-hot installed at priority 300"),
        "{out}"
    );
    assert!(
        out.contains("SELinux: WARNING: semanage is missing") && out.contains("NOT in place"),
        "{out}"
    );
}

/// Sets a directory's label as a stale or hand-made one would be.
fn set_label(path: &Path, context: &str) {
    use std::os::unix::ffi::OsStrExt;
    let p = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let v = std::ffi::CString::new(context).unwrap();
    let b = v.as_bytes_with_nul();
    // SAFETY: NUL-terminated strings; the value's length is its buffer's.
    let rc = unsafe {
        libc::lsetxattr(
            p.as_ptr(),
            c"security.selinux".as_ptr(),
            b.as_ptr().cast(),
            b.len(),
            0,
        )
    };
    assert_eq!(rc, 0, "lsetxattr {}", path.display());
}

fn validate_json(root: &Path) -> serde_json::Value {
    let (_, out, err) = run(jts_hot()
        .args(["validate", "--format", "json", "--root"])
        .arg(root));
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"))
}

fn selinux_findings(report: &serde_json::Value) -> Vec<(String, String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"].as_str().unwrap().starts_with("selinux."))
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn apply_installs_the_module_into_the_roots_store_and_validate_checks_labels() {
    needs!(prerequisites, "setfiles");
    let root = policy_root();
    let root = root.path();
    let layout_text =
        fs::read_to_string(repo_root().join("tests/cases/04-spaces-and-percent/layout.toml"))
            .unwrap();
    fs::create_dir_all(root.join("etc/jts")).unwrap();
    fs::write(root.join("etc/jts/hot-layout.toml"), &layout_text).unwrap();
    let layout = Layout::parse(&layout_text, "layout.toml").unwrap();

    // The root's policy says permissive (Debian's default config): enabled.
    let (code, out, err) = run(jts_hot().arg("apply").arg("--root").arg(root));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("SELinux module jts-hot installed at priority 300"),
        "{out}"
    );
    assert!(
        out.contains("SELinux relabel skipped under --root"),
        "{out}"
    );
    let (_, listed, _) = semodule(root, &["--list-modules=full"]);
    assert!(
        listed
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["300", "jts-hot"])),
        "{listed}"
    );
    let redis = layout.services[0].path(&layout);
    assert_eq!(policy_type(root, &redis), "redis_var_lib_t");

    // Again: the store already holds it, nothing changes, no policy rebuild.
    let (code, out, err) = run(jts_hot().arg("apply").arg("--root").arg(root));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("already installed at priority 300"), "{out}");
    assert!(out.contains("nothing changed"), "{out}");

    // tmpfiles created the tree on a kernel without SELinux: no labels yet.
    // Every data directory is CRITICAL, the base a WARNING.
    let report = validate_json(root);
    assert_eq!(report["selinux"]["labels"], "checked", "{report}");
    let findings = selinux_findings(&report);
    let dirs = layout.planned_dirs();
    assert_eq!(findings.len(), dirs.len(), "{findings:?}");
    for (check, severity, path) in &findings {
        assert_eq!(check, "selinux.label");
        let is_base = Path::new(path) == root.join("srv/hot tier/100%n");
        assert_eq!(
            severity,
            if is_base { "WARNING" } else { "CRITICAL" },
            "{path}"
        );
    }
    assert_eq!(report["status"], "CRITICAL");

    // The operator's relabel (setfiles: restorecon with the root's own policy).
    let base = root.join("srv/hot tier/100%n");
    let (code, _, err) = run(Command::new("setfiles")
        .arg("-r")
        .arg(root)
        .arg(root.join(FILE_CONTEXTS))
        .arg(&base));
    assert_eq!(code, 0, "setfiles: {err}");
    let report = validate_json(root);
    assert_eq!(selinux_findings(&report), [], "{report}");
    let (_, text, _) = run(jts_hot()
        .args(["validate", "--verbose", "--root"])
        .arg(root));
    assert!(
        text.contains(&format!("SELinux labels of {} checked", dirs.len())),
        "{text}"
    );

    // A data directory labelled by hand with another type: CRITICAL, with restorecon as the fix.
    let data = root.join("srv/hot tier/100%n/redis/data");
    set_label(&data, "system_u:object_r:tmp_t:s0");
    let report = validate_json(root);
    let f = &report["findings"].as_array().unwrap()[0];
    assert_eq!(f["check"], "selinux.label", "{report}");
    assert_eq!(f["severity"], "CRITICAL");
    assert_eq!(f["expected"], "system_u:object_r:redis_var_lib_t:s0");
    assert_eq!(f["actual"], "system_u:object_r:tmp_t:s0");
    let hint = f["hint"].as_str().unwrap();
    assert!(
        hint.contains("restorecon -v '/srv/hot tier/100%n/redis/data'"),
        "{hint}"
    );

    // Where SELinux is disabled: labels skipped and said so; apply installs nothing.
    let config = root.join("etc/selinux/config");
    let text = fs::read_to_string(&config).unwrap();
    fs::write(
        &config,
        text.replace("SELINUX=permissive", "SELINUX=disabled"),
    )
    .unwrap();
    let report = validate_json(root);
    assert_eq!(report["selinux"]["labels"], "skipped", "{report}");
    assert_eq!(selinux_findings(&report), []);
    let (_, text, _) = run(jts_hot()
        .args(["validate", "--verbose", "--root"])
        .arg(root));
    assert!(text.contains("SELinux labels not checked"), "{text}");
    let (code, out, err) = run(jts_hot().arg("apply").arg("--root").arg(root));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("no module installed"), "{out}");
}

/// The type a container's policy gives `path`, asked inside it.
fn container_type(m: &nspawn::Machine, path: &str) -> String {
    let out = m.run_ok(&format!("matchpathcon -n -m dir {path}"));
    out.trim().split(':').nth(2).unwrap_or_default().to_string()
}

fn container_modules(m: &nspawn::Machine) -> Vec<String> {
    m.run_ok("semodule --list-modules=full")
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some("jts-hot"))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

/// The .deb's and the .rpms' scriptlets, run for real by dpkg and rpm in a
/// container with Debian's policy: where SELinux is disabled (this kernel:
/// the real selinuxenabled says so) the .deb and jts-hot's .rpm change
/// nothing and nothing fails, and jts-hot-selinux puts the module into the
/// store as Fedora's macro does; where it is enabled (a selinuxenabled that
/// says so, the only thing this kernel cannot answer for real) the real
/// semodule installs the module into the container's store, jts-hot-selinux
/// relabels the tier's directories alone, and removal takes it out.
#[test]
fn package_scriptlets_install_and_remove_the_module() {
    needs!(nspawn::prerequisites);
    let _slot = nspawn::shared_slot();
    let m = nspawn::Machine::fresh("selinux-scriptlets", nspawn::Image::BookwormSelinux);
    let deb = m.put(&nspawn::packages().deb, "jts-hot.deb");
    let rpm = m.put(&nspawn::packages().rpm, "jts-hot.rpm");
    let selinux_rpm = m.put(&nspawn::packages().selinux_rpm, "jts-hot-selinux.rpm");
    let pg = "/data/jts/hot/postgresql";
    let policy_default = container_type(&m, pg);
    // semanage, for docker's equivalence (selinux_equal = "/var/lib/docker").
    m.run_ok(
        "apt-get install -y -q --no-install-recommends policycoreutils-python-utils \
         && apt-get clean",
    );
    let docker = "/data/jts/hot/docker";
    let docker_default = container_type(&m, docker);
    let equivalences = |m: &nspawn::Machine| -> Vec<String> {
        let mut l: Vec<String> = m
            .run_ok("semanage fcontext --extract")
            .lines()
            .filter(|l| l.starts_with("fcontext -a -e "))
            .map(str::to_string)
            .collect();
        l.sort();
        l
    };
    const DOCKER_EQ: &str = "fcontext -a -e /var/lib/docker /data/jts/hot/docker";
    const OPERATORS_EQ: &str = "fcontext -a -e /var/lib/mysql /srv/operators";
    // One the operator set: never touched by install or removal.
    m.run_ok("semanage fcontext -a -e /var/lib/mysql /srv/operators");

    // Disabled: the real answer on this kernel.
    let out = m.run("selinuxenabled").0;
    assert_eq!(out, 1, "selinuxenabled in the container");
    for (install, remove) in [
        (format!("dpkg -i {deb}"), "dpkg -r jts-hot"),
        (format!("rpm -i --nodeps {rpm}"), "rpm -e --nodeps jts-hot"),
    ] {
        let out = m.run_ok(&install);
        assert!(!out.contains("semodule"), "{out}");
        assert!(!out.contains("semanage"), "{out}");
        assert_eq!(container_modules(&m), Vec::<String>::new(), "{install}");
        assert_eq!(container_type(&m, pg), policy_default);
        assert_eq!(equivalences(&m), [OPERATORS_EQ], "{install}");
        assert!(!m.path("/var/lib/jts-hot/selinux-equal").exists());
        assert!(m.path(pg).is_dir(), "{install} still creates the tier");
        m.run_ok(remove);
    }
    // jts-hot-selinux, disabled: into the store all the same (Fedora's
    // %selinux_modules_install), no equivalence, no relabel; removal takes it out.
    let out = m.run_ok(&format!("rpm -i --nodeps {rpm} {selinux_rpm} 2>&1"));
    assert!(!out.contains("restorecon"), "{out}");
    assert_eq!(container_modules(&m), ["200"]);
    assert_eq!(container_type(&m, pg), "postgresql_db_t");
    assert_eq!(equivalences(&m), [OPERATORS_EQ]);
    m.run_ok("rpm -e jts-hot-selinux && rpm -e --nodeps jts-hot");
    assert_eq!(container_modules(&m), Vec::<String>::new());
    assert_eq!(container_type(&m, pg), policy_default);

    // Enabled.
    m.write("/usr/local/sbin/selinuxenabled", "#!/bin/sh\nexit 0\n");
    m.run_ok("chmod 755 /usr/local/sbin/selinuxenabled");
    let started = std::time::Instant::now();
    m.run_ok(&format!("dpkg -i {deb}"));
    eprintln!(
        "FIGURE dpkg -i with SELinux enabled: {:.1?}",
        started.elapsed()
    );
    assert_eq!(container_modules(&m), ["200"]);
    assert_eq!(container_type(&m, pg), "postgresql_db_t");
    assert_eq!(
        container_type(&m, "/data/jts/hot/redis/data"),
        "redis_var_lib_t"
    );
    // docker's tree answers as /var/lib/docker's, below the planned dirs too.
    assert_eq!(equivalences(&m), [DOCKER_EQ, OPERATORS_EQ]);
    for (tier, source) in [
        (docker, "/var/lib/docker"),
        ("/data/jts/hot/docker/overlay2", "/var/lib/docker/overlay2"),
        (
            "/data/jts/hot/docker/volumes/x/_data",
            "/var/lib/docker/volumes/x/_data",
        ),
    ] {
        assert_eq!(
            container_type(&m, tier),
            container_type(&m, source),
            "{tier}"
        );
    }
    assert_ne!(container_type(&m, docker), docker_default);
    let record = m.run_ok("cat /var/lib/jts-hot/selinux-equal");
    assert!(
        record
            .lines()
            .any(|l| l.trim() == "/data/jts/hot/docker /var/lib/docker"),
        "{record}"
    );
    // An upgrade (configure again) adds nothing twice.
    m.run_ok(&format!("dpkg -i {deb}"));
    assert_eq!(equivalences(&m), [DOCKER_EQ, OPERATORS_EQ]);
    m.run_ok("dpkg -r jts-hot");
    assert_eq!(container_modules(&m), Vec::<String>::new());
    assert_eq!(container_type(&m, pg), policy_default);
    assert_eq!(
        equivalences(&m),
        [OPERATORS_EQ],
        "only jts-hot's own is deleted"
    );
    assert_eq!(container_type(&m, docker), docker_default);
    assert!(!m.path("/var/lib/jts-hot/selinux-equal").exists());

    // The operator made docker's directory equivalent to another path first:
    // reported, left alone, and still there after removal.
    m.run_ok("semanage fcontext -a -e /var/lib/lxc /data/jts/hot/docker");
    let (code, out) = m.run(&format!("dpkg -i {deb} 2>&1"));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("/data/jts/hot/docker is already equivalent to /var/lib/lxc (the operator's): left alone"),
        "{out}"
    );
    m.run_ok("dpkg -r jts-hot");
    let theirs = "fcontext -a -e /var/lib/lxc /data/jts/hot/docker";
    assert_eq!(equivalences(&m), [theirs, OPERATORS_EQ]);
    m.run_ok("semanage fcontext -d -e /var/lib/lxc /data/jts/hot/docker");

    // semanage missing where SELinux is enabled: said loudly, nothing fails.
    m.run_ok("mv /usr/sbin/semanage /usr/sbin/semanage.away");
    let (code, out) = m.run(&format!("dpkg -i {deb} 2>&1"));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("jts-hot: WARNING: semanage is missing"),
        "{out}"
    );
    assert_eq!(container_modules(&m), ["200"]);
    m.run_ok("dpkg -r jts-hot");
    m.run_ok("mv /usr/sbin/semanage.away /usr/sbin/semanage");

    // The .rpms, with the operator's priority. rpm runs scriptlets with its own
    // PATH (/sbin:/bin:/usr/sbin:/usr/bin): the answer must be in /usr/sbin.
    // The real restorecon, each call recorded: jts-hot-selinux relabels the
    // tier's directories, each itself (never -R), and nothing else.
    m.run_ok(
        "mv /usr/sbin/selinuxenabled /usr/sbin/selinuxenabled.real \
         && cp /usr/local/sbin/selinuxenabled /usr/sbin/selinuxenabled \
         && rm /usr/sbin/restorecon",
    );
    // restorecon is setfiles under another name.
    m.write(
        "/usr/sbin/restorecon",
        "#!/bin/bash\necho \"$*\" >>/var/log/restorecon.calls\nexec -a restorecon /usr/sbin/setfiles \"$@\"\n",
    );
    m.run_ok("chmod 755 /usr/sbin/restorecon");
    let out = m.run_ok(&format!(
        "JTS_HOT_SELINUX_PRIORITY=250 rpm -i --nodeps {rpm} {selinux_rpm} 2>&1"
    ));
    println!("rpm -i jts-hot jts-hot-selinux:\n{out}");
    assert_eq!(container_modules(&m), ["250"]);
    assert_eq!(container_type(&m, pg), "postgresql_db_t");
    assert_eq!(equivalences(&m), [DOCKER_EQ, OPERATORS_EQ]);
    let planned: Vec<String> = Layout::builtin()
        .planned_dirs()
        .into_iter()
        .map(|d| d.path.display().to_string())
        .collect();
    let calls = m.run_ok("cat /var/log/restorecon.calls");
    // The calls the wrapper logged (nspawn may add a line of its own).
    let relabelled: Vec<&str> = calls
        .lines()
        .filter(|l| l.starts_with('-'))
        .map(|l| {
            l.strip_prefix("-v -- ")
                .unwrap_or_else(|| panic!("restorecon called as {l:?}"))
        })
        .collect();
    assert!(
        relabelled.iter().all(|d| planned.iter().any(|p| p == d)),
        "{calls}"
    );
    assert!(relabelled.contains(&pg), "{calls}");
    assert!(!relabelled.contains(&"/data"), "{calls}");
    m.run_ok("rm /var/log/restorecon.calls");
    // The subpackage erased on its own, then jts-hot.
    m.run_ok("JTS_HOT_SELINUX_PRIORITY=250 rpm -e jts-hot-selinux");
    m.run_ok("rpm -e --nodeps jts-hot");
    assert_eq!(container_modules(&m), Vec::<String>::new());
    assert_eq!(container_type(&m, pg), policy_default);
    assert_eq!(equivalences(&m), [OPERATORS_EQ]);
    let calls = m.run_ok("cat /var/log/restorecon.calls");
    assert!(calls.lines().any(|l| l == format!("-v -- {pg}")), "{calls}");
    assert!(!calls.contains("-R"), "{calls}");
}

/// Debian's kernel in qemu with SELinux permissive: the .deb installed while
/// SELinux was "enabled" (its postinst loaded the module and added docker's
/// equivalence with the real semanage), then a real boot.
/// systemd-tmpfiles at boot labels the directories it creates and relabels the
/// ones that exist, each itself only; jts-hot validate then checks the labels
/// against the loaded policy.
#[test]
fn a_permissive_boot_labels_the_tier_as_the_layout_asks() {
    needs!(qemu::prerequisites, nspawn::prerequisites);
    let mut guest = qemu::Guest::fresh("selinux-permissive");
    for script in [
        "apt-get update -q && apt-get install -y -q --no-install-recommends \
         semodule-utils policycoreutils selinux-utils policycoreutils-python-utils",
        "apt-get install -y -q --no-install-recommends selinux-policy-default && apt-get clean",
    ] {
        guest.run_ok(script);
    }
    // Only while dpkg runs: the postinst's question, which the host kernel cannot answer yes to.
    guest.write("/usr/local/sbin/selinuxenabled", "#!/bin/sh\nexit 0\n");
    guest.run_ok("chmod 755 /usr/local/sbin/selinuxenabled");
    guest.install_deb(&nspawn::packages().deb);
    guest.run_ok(
        "rm /usr/local/sbin/selinuxenabled && semodule --list-modules=full | grep -q '^200 jts-hot ' \
         && semanage fcontext --extract | grep -qx 'fcontext -a -e /var/lib/docker /data/jts/hot/docker' \
         && rmdir /data/jts/hot/redis/logs /data/jts/hot/docker/volumes \
         && echo old >/data/jts/hot/postgresql/data/inside",
    );
    let stat =
        "stat -c '%n %C' /data/jts/hot /data/jts/hot/postgresql /data/jts/hot/postgresql/data \
                /data/jts/hot/redis/logs /data/jts/hot/mongodb/config /data/jts/hot/kafka \
                /data/jts/hot/docker /data/jts/hot/docker/volumes /data/jts/hot/docker/tmp \
                /data/jts/hot/postgresql/data/inside";
    let scenario = qemu::Scenario::new()
        .step("enforce", "cat /sys/fs/selinux/enforce")
        .step("labels", stat)
        .step("validate", "jts-hot validate --format json");
    let boot = qemu::Boot::new()
        .kernel_arg("security=selinux")
        .kernel_arg("selinux=1")
        .kernel_arg("enforcing=0");
    let run = guest.boot(&boot, &scenario);
    let report = run.report();
    assert_eq!(report.ok("enforce").trim(), "0", "permissive");
    let labels: std::collections::BTreeMap<String, String> = report
        .ok("labels")
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(p, c)| (p.to_string(), c.split(':').nth(2).unwrap_or(c).to_string()))
        .collect();
    eprintln!("labels after a permissive boot: {labels:?}");
    let t = |p: &str| labels.get(p).map(String::as_str).unwrap_or("?");
    assert_eq!(
        t("/data/jts/hot/postgresql"),
        "postgresql_db_t",
        "relabelled at boot"
    );
    assert_eq!(t("/data/jts/hot/postgresql/data"), "postgresql_db_t");
    assert_eq!(
        t("/data/jts/hot/redis/logs"),
        "redis_var_lib_t",
        "created at boot"
    );
    assert_eq!(t("/data/jts/hot/mongodb/config"), "mongod_var_lib_t");
    assert_eq!(
        t("/data/jts/hot/kafka"),
        "default_t",
        "no type: the policy's own"
    );
    // Equivalent to /var/lib/docker (var_lib_t in Debian's policy), the
    // directory that was there and the one tmpfiles created at boot alike.
    for d in ["docker", "docker/volumes", "docker/tmp"] {
        assert_eq!(t(&format!("/data/jts/hot/{d}")), "var_lib_t", "{d}");
    }
    // Never recursive: a file that was there keeps no label.
    assert_eq!(t("/data/jts/hot/postgresql/data/inside"), "unlabeled_t");

    let v: serde_json::Value = serde_json::from_str(report.out("validate"))
        .unwrap_or_else(|e| panic!("{e}: {}", report.all("validate")));
    assert_eq!(v["selinux"]["labels"], "checked", "{v}");
    // Every planned directory as the loaded policy says, docker's by its
    // equivalence: nothing to report.
    assert_eq!(selinux_findings(&v), [], "{v}");
}

/// An image whose SELinux policy directories are links to host paths
/// (absolute, a `../` chain past its root, a link deep in its store, a link
/// to a link): `apply --root` never changes the host's copy (its checksum
/// before and after every case) and semodule/semanage are refused, or find
/// no policy in the image, with a message naming the path.
#[test]
fn apply_root_never_lets_the_policy_tools_leave_the_image() {
    needs!(prerequisites, "semanage");
    // The "host": a policy outside every image, where the links lead.
    let host = policy_root();
    let h = host.path();
    let layout_text =
        fs::read_to_string(repo_root().join("tests/cases/07-selinux-equal/layout.toml")).unwrap();
    let config = h.join("layout.toml");
    fs::write(&config, &layout_text).unwrap();
    let before = common::fingerprint(h);
    let up = "../".repeat(h.components().count() + 6);
    // (the image path, its link target, what the refusal says)
    let cases = [
        (
            "var/lib/selinux",
            h.join("var/lib/selinux").display().to_string(),
            "var/lib/selinux does not resolve to a directory inside",
        ),
        (
            "var/lib/selinux",
            format!("../../{up}{}", h.join("var/lib/selinux").display()),
            "var/lib/selinux does not resolve to a directory inside",
        ),
        (
            "var/lib/selinux/default/active",
            h.join("var/lib/selinux/default/active")
                .display()
                .to_string(),
            "semodule",
        ),
        (
            "etc/selinux",
            format!("../{up}{}", h.join("etc/selinux").display()),
            "leads outside the root",
        ),
        (
            "etc/selinux/default",
            "../../hop".to_string(),
            "leads outside the root",
        ),
    ];
    for (i, (rel, target, says)) in cases.iter().enumerate() {
        let image = policy_root();
        let r = image.path();
        let at = r.join(rel);
        fs::remove_dir_all(&at).unwrap();
        std::os::unix::fs::symlink(target, &at).unwrap();
        std::os::unix::fs::symlink(h.join("etc/selinux/default"), r.join("hop")).unwrap();
        let image_before = common::fingerprint(r);
        let (code, out, err) = run(jts_hot()
            .arg("--config")
            .arg(&config)
            .args(["apply", "--root"])
            .arg(r));
        if *rel == "var/lib/selinux" {
            // Refused before anything was written: the image as it was.
            assert_eq!(
                image_before,
                common::fingerprint(r),
                "case {i} {rel}: a refused apply changed the image\n{out}{err}"
            );
        }
        assert_eq!(
            before,
            common::fingerprint(h),
            "case {i} {rel}: the host's policy changed\n{out}{err}"
        );
        let said = format!("{out}{err}");
        assert!(said.contains(says), "case {i} {rel} (exit {code}): {said}");
        if rel.starts_with("var") {
            assert_eq!(code, 3, "case {i} {rel}: {said}");
        } else {
            assert!(
                said.contains("no module installed"),
                "case {i} {rel}: {said}"
            );
        }
    }
}
