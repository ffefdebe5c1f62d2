//! `jts-hot apply --root` against temporary roots, with the real
//! systemd-sysusers and systemd-tmpfiles: a fresh root, a second run, a dry
//! run, a changed layout (with and without the packaged files present), a bad
//! layout and a foreign file in /etc.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::loopmount::{loop_tools, LoopMount};
use common::{files_under, have_root, have_tool, id_in, jts_hot, run};
use jts_hot::layout::DEFAULT_LAYOUT_TOML;

/// Root, and the real tools: tmpfiles chowns to the users sysusers creates.
fn can_apply(test: &str) -> bool {
    have_root(test) && have_tool(test, "systemd-sysusers") && have_tool(test, "systemd-tmpfiles")
}

/// An empty root with `layout` as its /etc/jts/hot-layout.toml.
fn root_with_layout(layout: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("etc/jts")).unwrap();
    set_layout(root.path(), layout);
    root
}

fn set_layout(root: &Path, layout: &str) {
    std::fs::write(root.join("etc/jts/hot-layout.toml"), layout).unwrap();
}

fn apply(root: &Path, extra: &[&str]) -> (i32, String, String) {
    run(jts_hot().arg("apply").arg("--root").arg(root).args(extra))
}

/// Every file under `root` with its contents, to prove nothing changed.
fn contents_under(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    files_under(root)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(root.join(&p)).unwrap_or_default();
            (p, bytes)
        })
        .collect()
}

/// The uid `user` got in the root's own /etc/passwd.
fn uid_in(root: &Path, user: &str) -> u32 {
    id_in(root, "passwd", user)
}

/// The default layout with mongodb dropped, kafka no longer gated and a new
/// questdb service gated on questdb.service.
fn changed_layout() -> String {
    let without_mongodb = DEFAULT_LAYOUT_TOML.replace(
        "[services.mongodb]\nowner = \"mongodb\"\ngroup = \"mongodb\"\nmode = \"0750\"\nplanned = \"200GB\"\ngate = [\"mongod.service\"]\ndirs = [\"data\", \"logs\", \"config\"]\nquota_soft = \"none\"\nquota_hard = \"none\"\nselinux_type = \"mongod_var_lib_t\"\n",
        "[services.questdb]\nowner = \"questdb\"\nplanned = \"200GB\"\ngate = [\"questdb.service\"]\ndirs = [\"db\"]\n",
    );
    let text = without_mongodb.replace("gate = [\"kafka.service\"]", "gate = []");
    assert_ne!(text, DEFAULT_LAYOUT_TOML);
    assert!(text.contains("questdb") && !text.contains("mongod"));
    text
}

const ETC_UNITS: &str = "etc/systemd/system";

#[test]
fn fresh_root_then_second_run_changes_nothing() {
    needs!(can_apply);
    let root = root_with_layout(DEFAULT_LAYOUT_TOML);
    let r = root.path();
    let (code, out, err) = apply(r, &[]);
    assert_eq!(code, 0, "{out}{err}");

    for f in [
        "etc/tmpfiles.d/jts-hot.conf",
        "etc/sysusers.d/jts-hot.conf",
        "etc/systemd/system/jts-hot-validate.service",
        "etc/systemd/system/jts-hot-monitor.service",
        "etc/systemd/system/jts-hot-monitor.timer",
        "etc/systemd/system/postgresql.service.d/jts-hot.conf",
        "etc/systemd/system/docker.service.d/jts-hot.conf",
    ] {
        assert!(r.join(f).is_file(), "{f} missing:\n{out}");
        assert!(
            out.contains(&format!("created {}", r.join(f).display())),
            "{out}"
        );
    }
    // The source named in the files is the layout the root holds.
    let tmpfiles = std::fs::read_to_string(r.join("etc/tmpfiles.d/jts-hot.conf")).unwrap();
    assert!(tmpfiles.contains("etc/jts/hot-layout.toml"), "{tmpfiles}");

    // Users in the root's passwd, directories owned by them.
    let data = r.join("data/jts/hot/postgresql/data");
    let meta = std::fs::metadata(&data).unwrap();
    assert_eq!(meta.uid(), uid_in(r, "postgres"));
    assert_eq!(meta.mode() & 0o7777, 0o750);
    assert!(out.contains("added user postgres"), "{out}");
    assert!(
        out.contains(&format!("created directory {}", data.display())),
        "{out}"
    );
    assert!(out.contains("daemon-reload skipped: --root"), "{out}");

    // A file some service wrote into its directory.
    std::fs::write(data.join("PG_VERSION"), "16\n").unwrap();
    let before = contents_under(r);
    let (code, out, err) = apply(r, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("nothing changed"), "{out}");
    assert!(!out.contains("created"), "{out}");
    assert_eq!(contents_under(r), before);
}

#[test]
fn second_run_repairs_a_mode_and_says_so() {
    needs!(can_apply);
    let root = root_with_layout(DEFAULT_LAYOUT_TOML);
    let r = root.path();
    assert_eq!(apply(r, &[]).0, 0);
    let logs = r.join("data/jts/hot/kafka/logs");
    std::fs::set_permissions(&logs, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let (code, out, err) = apply(r, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!(
            "repaired directory {}: mode 0700 → 0750",
            logs.display()
        )),
        "{out}"
    );
    assert!(!out.contains("nothing changed"), "{out}");
}

#[test]
fn dry_run_says_what_changes_and_touches_nothing() {
    needs!(root);
    let root = root_with_layout(DEFAULT_LAYOUT_TOML);
    let r = root.path();
    let before = contents_under(r);
    let (code, out, err) = apply(r, &["--dry-run"]);
    assert_eq!(code, 0, "{out}{err}");
    let pg = r.join("data/jts/hot/postgresql");
    for line in [
        format!("create directory {} (postgres:postgres 0750)", pg.display()),
        "add user postgres".into(),
        "add group docker".into(),
        "add gate: postgresql.service starts only on a valid tier".into(),
        "unit jts-hot-validate.service added".into(),
    ] {
        assert!(out.lines().any(|l| l == line), "no line {line:?}:\n{out}");
    }
    assert!(!out.contains("--- "), "diffs without --diff:\n{out}");
    assert!(out.contains("\ndry run: nothing was written"), "{out}");
    let (code, out, err) = apply(r, &["--dry-run", "--diff"]);
    assert_eq!(code, 0, "{out}{err}");
    let tmpfiles = r.join("etc/tmpfiles.d/jts-hot.conf");
    assert!(out.contains("--- /dev/null\n"), "{out}");
    assert!(
        out.contains(&format!("+++ {}\n", tmpfiles.display())),
        "{out}"
    );
    assert!(
        out.contains("\n+d /data/jts/hot/postgresql 0750 postgres postgres -\n"),
        "{out}"
    );
    assert!(out.contains("nothing was written"), "{out}");
    assert_eq!(contents_under(r), before, "a dry run wrote something");
    assert!(!r.join("data").exists());

    // After a real run, a dry run of a changed layout shows only the change.
    needs!(can_apply);
    assert_eq!(apply(r, &[]).0, 0);
    set_layout(
        r,
        &DEFAULT_LAYOUT_TOML.replace(
            "mode = \"0750\"\nplanned = \"50GB\"",
            "mode = \"0710\"\nplanned = \"50GB\"",
        ),
    );
    let before = contents_under(r);
    let (code, out, _) = apply(r, &["--dry-run"]);
    assert_eq!(code, 0);
    let redis = r.join("data/jts/hot/redis");
    let expected = format!(
        "change directory {}: mode 0750 → 0710\n\
         change directory {}/data: mode 0750 → 0710\n\
         change directory {}/logs: mode 0750 → 0710\n\
         3 changes: 3 directories changed\n",
        redis.display(),
        redis.display(),
        redis.display()
    );
    assert!(out.contains(&expected), "{out}");
    assert!(out.lines().count() <= 8, "not a handful of lines:\n{out}");
    let (code, out, _) = apply(r, &["--dry-run", "--diff"]);
    assert_eq!(code, 0);
    let tier_tmpfiles = r.join("etc/jts-hot/tmpfiles.conf");
    assert!(
        out.contains(&format!(
            "--- {}\n+++ {}\n",
            tier_tmpfiles.display(),
            tier_tmpfiles.display()
        )),
        "{out}"
    );
    assert!(
        out.contains("\n-d /data/jts/hot/redis 0750 redis redis -\n"),
        "{out}"
    );
    assert!(
        out.contains("\n+d /data/jts/hot/redis 0710 redis redis -\n"),
        "{out}"
    );
    assert_eq!(contents_under(r), before, "a dry run wrote something");

    // Applied, only the file whose content changes is rewritten: each file's
    // digest is its own content's, not the whole layout's.
    let (code, out, err) = apply(r, &[]);
    assert_eq!(code, 0, "{out}{err}");
    let rewritten: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("updated ") || l.starts_with("created /"))
        .collect();
    assert_eq!(
        rewritten,
        [format!("updated {}", tier_tmpfiles.display())],
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "repaired directory {}: mode 0750 → 0710",
            redis.display()
        )),
        "{out}"
    );
}

#[test]
fn changed_layout_adds_removes_gates_and_leaves_old_dirs() {
    needs!(can_apply);
    let root = root_with_layout(DEFAULT_LAYOUT_TOML);
    let r = root.path();
    assert_eq!(apply(r, &[]).0, 0);
    let mongo_file = r.join("data/jts/hot/mongodb/data/collection-0.wt");
    std::fs::write(&mongo_file, "data").unwrap();
    // Someone else's drop-in for the same unit is not ours to remove.
    let foreign = r.join(ETC_UNITS).join("mongod.service.d/override.conf");
    std::fs::write(&foreign, "[Service]\nNice=5\n").unwrap();

    set_layout(r, &changed_layout());
    let (code, out, _) = apply(r, &["--dry-run"]);
    assert_eq!(code, 0);
    let mongodb = r.join("data/jts/hot/mongodb");
    assert!(
        out.contains(&format!(
            "would leave alone {} (no longer",
            mongodb.display()
        )),
        "{out}"
    );
    assert!(out.contains("\nremove gate: mongod.service"), "{out}");
    assert!(
        !r.join("data/jts/hot/questdb").exists(),
        "a dry run created a directory"
    );
    let (code, out, err) = apply(r, &[]);
    assert_eq!(code, 0, "{out}{err}");

    // New service: user, directories, gate.
    let questdb = r.join("data/jts/hot/questdb/db");
    assert_eq!(
        std::fs::metadata(&questdb).unwrap().uid(),
        uid_in(r, "questdb")
    );
    let gate = r.join(ETC_UNITS).join("questdb.service.d/jts-hot.conf");
    assert!(std::fs::read_to_string(&gate)
        .unwrap()
        .contains("ExecCondition=+/usr/bin/jts-hot validate --gate --service=questdb"));
    // Gates no longer wanted: our drop-ins are gone, the foreign one stays.
    for unit in ["kafka.service", "mongod.service"] {
        let ours = r.join(ETC_UNITS).join(format!("{unit}.d/jts-hot.conf"));
        assert!(!ours.exists(), "{} still there", ours.display());
        assert!(
            out.contains(&format!("removed {}", ours.display())),
            "{out}"
        );
    }
    assert!(
        !r.join(ETC_UNITS).join("kafka.service.d").exists(),
        "empty UNIT.d left"
    );
    assert_eq!(
        std::fs::read_to_string(&foreign).unwrap(),
        "[Service]\nNice=5\n"
    );
    // The old service's directory and data are left alone, and reported.
    assert_eq!(std::fs::read_to_string(&mongo_file).unwrap(), "data");
    assert!(
        out.contains(&format!(
            "left alone {}: no longer in the layout",
            mongodb.display()
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("left alone {}/data", mongodb.display())),
        "{out}"
    );

    let (code, out, _) = apply(r, &[]);
    assert_eq!(code, 0);
    assert!(out.contains("nothing changed"), "{out}");
}

#[test]
fn ungated_unit_with_a_packaged_gate_gets_an_empty_override() {
    let test = needs!(can_apply);
    let root = root_with_layout(&changed_layout());
    let r = root.path();
    // The package's files, as `generate` renders the default layout.
    let (code, _, err) = run(jts_hot()
        .args(["--default-layout", "generate", "--out"])
        .arg(r));
    assert_eq!(code, 0, "{err}");
    assert!(r
        .join("usr/lib/systemd/system/kafka.service.d/jts-hot.conf")
        .is_file());

    let (code, out, err) = apply(r, &[]);
    assert_eq!(code, 0, "{out}{err}");
    for unit in ["kafka.service", "mongod.service"] {
        let shadow = r.join(ETC_UNITS).join(format!("{unit}.d/jts-hot.conf"));
        let text = std::fs::read_to_string(&shadow).unwrap();
        assert!(text.contains("# jts-hot-layout-digest: "), "{text}");
        let directives: Vec<_> = text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        assert!(directives.is_empty(), "{unit}: {directives:?}");
    }
    assert!(r
        .join(ETC_UNITS)
        .join("postgresql.service.d/jts-hot.conf")
        .is_file());
    if have_tool(test, "systemd-analyze") {
        // systemd itself, reading this root, picks the /etc file over the packaged one.
        let (code, seen, err) = run(std::process::Command::new("systemd-analyze")
            .arg(format!("--root={}", r.display()))
            .args(["cat-config", "systemd/system/kafka.service.d/jts-hot.conf"]));
        assert_eq!(code, 0, "{err}");
        let etc = r.join(ETC_UNITS).join("kafka.service.d/jts-hot.conf");
        assert!(
            seen.starts_with(&format!("# {}\n", etc.display())),
            "{seen}"
        );
        assert!(!seen.contains("ExecCondition="), "{seen}");
        assert!(!seen.contains("Wants="), "{seen}");
    }
}

#[test]
fn bad_layout_is_refused_before_anything_is_touched() {
    needs!(root);
    let bad = DEFAULT_LAYOUT_TOML.replace(
        "mode = \"0750\"\nplanned = \"600GB\"",
        "mode = \"0777\"\nplanned = \"600GB\"",
    );
    let root = root_with_layout(&bad);
    let r = root.path();
    let before = contents_under(r);
    let (code, out, err) = apply(r, &[]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("hot-layout.toml:") && err.contains("world-writable"),
        "{err}"
    );
    assert_eq!(contents_under(r), before);
    assert!(!r.join("data").exists());
}

#[test]
fn a_file_in_etc_that_is_not_ours_is_refused() {
    needs!(root);
    let root = root_with_layout(DEFAULT_LAYOUT_TOML);
    let r = root.path();
    std::fs::create_dir_all(r.join("etc/tmpfiles.d")).unwrap();
    std::fs::write(
        r.join("etc/tmpfiles.d/jts-hot.conf"),
        "d /mine 0755 root root -\n",
    )
    .unwrap();
    let before = contents_under(r);
    let (code, out, err) = apply(r, &[]);
    // A runtime refusal, not a bad layout: its own exit status.
    assert_eq!(code, 3, "{out}{err}");
    assert!(err.contains("was not written by jts-hot"), "{err}");
    assert_eq!(contents_under(r), before);
}

/// An error of the system, not of the layout (here a file where /etc/tmpfiles.d
/// should be a directory): exit 3, the file named, nothing written.
#[test]
fn an_error_of_the_system_has_its_own_exit_status() {
    needs!(root);
    let root = root_with_layout(DEFAULT_LAYOUT_TOML);
    let r = root.path();
    std::fs::write(r.join("etc/tmpfiles.d"), "").unwrap();
    let before = contents_under(r);
    let (code, out, err) = apply(r, &[]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        err.contains("etc/tmpfiles.d/jts-hot.conf") && err.contains("Not a directory"),
        "{err}"
    );
    assert_eq!(contents_under(r), before);
}

/// The tier declared in the root's fstab and not mounted: apply installs the
/// files and the users but creates nothing beneath the mount point, says
/// which disk to check, and exits 2; `jts-hot setup` refuses the same way.
/// Mounted (here: a bind mount of an empty directory on the mount point),
/// `jts-hot setup` creates the tree.
#[test]
fn a_declared_but_unmounted_tier_is_never_created_on_the_disk_beneath() {
    let test = needs!(can_apply);
    let root = root_with_layout(DEFAULT_LAYOUT_TOML);
    let r = root.path();
    std::fs::write(
        r.join("etc/fstab"),
        "UUID=4a7e0000-0000-4000-8000-00000000d15c /data/jts/hot ext4 noatime,nofail 0 2\n",
    )
    .unwrap();
    let (dry_code, dry, _) = apply(r, &["--dry-run"]);
    assert_eq!(dry_code, 0, "{dry}");
    assert!(
        dry.contains("would create nothing under the tier: the tier's disk is not mounted"),
        "{dry}"
    );
    assert!(!dry.contains("create directory"), "{dry}");

    let (code, out, err) = apply(r, &[]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains("tier not set up: the tier's disk is not mounted: /etc/fstab:1 declares UUID=4a7e0000-0000-4000-8000-00000000d15c on /data/jts/hot"),
        "{out}"
    );
    assert!(r.join("etc/jts-hot/tmpfiles.conf").is_file());
    assert!(std::fs::read_to_string(r.join("etc/passwd"))
        .unwrap()
        .contains("postgres:"));
    let beneath = r.join("data/jts/hot");
    let entries = std::fs::read_dir(&beneath).map(|d| d.count()).unwrap_or(0);
    assert_eq!(entries, 0, "created beneath the unmounted tier");

    let (code, out, _) = run(jts_hot().arg("setup").arg("--root").arg(r));
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("jts-hot setup: refused: the tier's disk is not mounted"),
        "{out}"
    );
    assert!(out.contains("nothing was created"), "{out}");

    // The disk in place (a filesystem of its own: a bind mount of a
    // directory beside it would be the disk beneath, seen through a bind):
    // setup creates the tree on it.
    if !loop_tools(test) {
        return;
    }
    // The filesystem fstab names (by UUID): another one would be refused.
    let disk = LoopMount::ext4_in_tempdir("32M")
        .mkfs_args(&["-U", "4a7e0000-0000-4000-8000-00000000d15c"])
        .mount()
        .unwrap();
    std::fs::create_dir_all(&beneath).unwrap();
    let (code, _, err) = run(Command::new("mount")
        .args(["--bind"])
        .arg(disk.mnt())
        .arg(&beneath));
    assert_eq!(code, 0, "mount --bind: {err}");
    let (code, out, err) = run(jts_hot().arg("setup").arg("--root").arg(r));
    let _ = Command::new("umount").arg(&beneath).status();
    // 1: set up, with warnings (this host's mount options) left to the operator, each said.
    assert!(code == 0 || code == 1, "{out}{err}");
    assert_eq!(
        code == 1,
        out.contains("jts-hot setup: left to the operator: WARNING "),
        "{out}"
    );
    assert!(
        out.contains(" left to the operator\n"),
        "no summary line: {out}"
    );
    assert!(
        out.contains("jts-hot setup: created /data/jts/hot/postgresql/data"),
        "{out}"
    );
    assert!(disk.mnt().join("postgresql/data").is_dir());
}
