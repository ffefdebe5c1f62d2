//! The generated files as the real systemd tools read them: systemd-sysusers
//! and systemd-tmpfiles build the tree in a scratch root, systemd-analyze
//! verifies and scores the units, and systemd itself (in --test mode) shows
//! how it parsed the paths we escaped.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{bin_path, golden_cases, id_table, jts_hot, run};
use jts_hot::layout::Layout;

struct Case {
    name: String,
    layout: Layout,
    generated: tempfile::TempDir,
}

/// Every golden case, generated into its own directory.
fn cases() -> Vec<Case> {
    golden_cases()
        .into_iter()
        .map(|dir| {
            let generated = tempfile::tempdir().unwrap();
            let (code, _, err) = run(jts_hot()
                .current_dir(&dir)
                .args(["--config", "layout.toml", "generate", "--out"])
                .arg(generated.path()));
            assert_eq!(code, 0, "{err}");
            Case {
                name: dir.file_name().unwrap().to_string_lossy().into_owned(),
                layout: Layout::load(&dir.join("layout.toml")).unwrap(),
                generated,
            }
        })
        .collect()
}

fn sysusers_then_tmpfiles(generated: &Path, root: &Path) {
    fs::create_dir_all(root.join("etc")).unwrap();
    common::sysusers(root, &generated.join("usr/lib/sysusers.d/jts-hot.conf"));
    // tmpfiles.d's file, then the tier's own, as boot and `jts-hot setup` do.
    for file in [
        "usr/lib/tmpfiles.d/jts-hot.conf",
        "usr/lib/jts-hot/tmpfiles.conf",
    ] {
        common::tmpfiles_create(root, &generated.join(file));
    }
}

/// Checks every planned directory under `root` with lstat against the layout,
/// resolving names through the root's own passwd and group.
fn assert_tree_matches(case: &str, layout: &Layout, root: &Path) {
    let passwd = id_table(&root.join("etc/passwd"));
    let group = id_table(&root.join("etc/group"));
    let uid = |n: &str| {
        if n == "root" {
            0
        } else {
            passwd
                .get(n)
                .unwrap_or_else(|| panic!("{case}: user {n} was not created"))
                .0
        }
    };
    let gid = |n: &str| {
        if n == "root" {
            0
        } else {
            group
                .get(n)
                .unwrap_or_else(|| panic!("{case}: group {n} was not created"))
                .0
        }
    };
    for d in layout.planned_dirs() {
        let path = root.join(d.path.strip_prefix("/").unwrap());
        let meta = fs::symlink_metadata(&path)
            .unwrap_or_else(|e| panic!("{case}: {} missing: {e}", path.display()));
        assert!(
            meta.file_type().is_dir(),
            "{case}: {} is not a directory",
            path.display()
        );
        assert_eq!(
            meta.mode() & 0o7777,
            d.ownership.mode.0,
            "{case}: mode of {}",
            path.display()
        );
        assert_eq!(
            meta.uid(),
            uid(d.ownership.owner.as_str()),
            "{case}: owner of {}",
            path.display()
        );
        assert_eq!(
            meta.gid(),
            gid(d.ownership.group.as_str()),
            "{case}: group of {}",
            path.display()
        );
    }
    for (name, (_, fields)) in &passwd {
        assert_eq!(
            fields[6], "/usr/sbin/nologin",
            "{case}: {name} must have no login shell"
        );
        assert!(
            fields[2].parse::<u32>().unwrap() < 1000,
            "{case}: {name} must be a system user"
        );
        assert!(!fields[4].contains(':'));
    }
}

#[test]
fn sysusers_and_tmpfiles_build_every_case_exactly() {
    needs!("systemd-sysusers", "systemd-tmpfiles", root);
    for case in cases() {
        let root = tempfile::tempdir().unwrap();
        sysusers_then_tmpfiles(case.generated.path(), root.path());
        assert_tree_matches(&case.name, &case.layout, root.path());
        // The monitor's textfile directory exists, so the monitor can run before node_exporter is installed.
        let textfile = root
            .path()
            .join(case.layout.monitor.textfile_dir.strip_prefix("/").unwrap());
        assert!(
            textfile.is_dir(),
            "{}: {} was not created",
            case.name,
            textfile.display()
        );
        // Each user is at home in the first directory it owns, spelled exactly;
        // jts-hot's own (validate and the monitor run as it) in its state directory.
        let passwd = id_table(&root.path().join("etc/passwd"));
        for (name, (_, fields)) in &passwd {
            if name == "jts-hot" {
                assert_eq!(fields[5], "/var/lib/jts-hot", "{}", case.name);
                continue;
            }
            let home = case
                .layout
                .planned_dirs()
                .into_iter()
                .find(|d| d.ownership.owner.as_str() == name)
                .unwrap_or_else(|| panic!("{}: {name} owns nothing", case.name))
                .path;
            assert_eq!(Path::new(&fields[5]), home, "{}: home of {name}", case.name);
        }
    }
}

#[test]
fn tmpfiles_repairs_drift_and_never_touches_data() {
    needs!("systemd-tmpfiles", root);
    let case = cases().into_iter().next().unwrap();
    let root = tempfile::tempdir().unwrap();
    // A parent of the base that exists already, as the operator set it up.
    let parent = root.path().join("data");
    fs::create_dir(&parent).unwrap();
    fs::set_permissions(&parent, fs::Permissions::from_mode(0o1777)).unwrap();
    // (root-owned: tmpfiles itself refuses a root-owned child under another owner's directory)
    nix::unistd::chown(&parent, None, Some(nix::unistd::Gid::from_raw(1234))).unwrap();
    sysusers_then_tmpfiles(case.generated.path(), root.path());
    let base = root.path().join("data/jts/hot");
    // Data written by the database, with its own owner and mode.
    let data_file = base.join("postgresql/data/PG_VERSION");
    fs::write(&data_file, "15\n").unwrap();
    fs::set_permissions(&data_file, fs::Permissions::from_mode(0o600)).unwrap();
    nix::unistd::chown(&data_file, Some(nix::unistd::Uid::from_raw(4242)), None).unwrap();
    let nested = base.join("kafka/data/topic-0");
    fs::create_dir(&nested).unwrap();
    fs::set_permissions(&nested, fs::Permissions::from_mode(0o700)).unwrap();
    // Drift: a wrong mode, a wrong owner, a deleted subdirectory.
    fs::set_permissions(base.join("redis"), fs::Permissions::from_mode(0o777)).unwrap();
    nix::unistd::chown(
        &base.join("mongodb"),
        Some(nix::unistd::Uid::from_raw(65534)),
        None,
    )
    .unwrap();
    fs::remove_dir(base.join("clickhouse/tmp")).unwrap();

    sysusers_then_tmpfiles(case.generated.path(), root.path());
    assert_tree_matches(&case.name, &case.layout, root.path());
    let meta = fs::metadata(&data_file).unwrap();
    assert_eq!(
        (meta.mode() & 0o7777, meta.uid()),
        (0o600, 4242),
        "data files are left alone"
    );
    assert_eq!(fs::read_to_string(&data_file).unwrap(), "15\n");
    assert_eq!(
        fs::metadata(&nested).unwrap().mode() & 0o7777,
        0o700,
        "nothing is changed recursively"
    );
}

/// A scratch root holding the host's units, our binary at /usr/bin/jts-hot,
/// the generated units, and a stand-in for every gated unit (so the drop-ins load).
fn unit_root(case: &Case) -> (tempfile::TempDir, Vec<PathBuf>) {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let unit_dir = r.join("usr/lib/systemd/system");
    fs::create_dir_all(r.join("usr/bin")).unwrap();
    fs::create_dir_all(r.join("usr/lib/systemd")).unwrap();
    fs::create_dir_all(r.join("etc")).unwrap();
    let (code, _, err) = run(Command::new("cp")
        .args(["-a", "/usr/lib/systemd/system"])
        .arg(r.join("usr/lib/systemd")));
    assert_eq!(code, 0, "{err}");
    fs::copy(bin_path(), r.join("usr/bin/jts-hot")).unwrap();
    let (code, _, err) = run(Command::new("cp")
        .args(["-a", "--no-target-directory"])
        .arg(case.generated.path().join("usr/lib/systemd/system"))
        .arg(&unit_dir));
    assert_eq!(code, 0, "{err}");
    let mut units = vec![
        unit_dir.join("jts-hot-validate.service"),
        unit_dir.join("jts-hot-monitor.service"),
        unit_dir.join("jts-hot-monitor.timer"),
    ];
    for s in &case.layout.services {
        for g in &s.gate {
            let unit = unit_dir.join(g.as_str());
            fs::write(
                &unit,
                "[Unit]\nDescription=stand-in\n[Service]\nExecStart=/usr/bin/jts-hot --version\n",
            )
            .unwrap();
            units.push(unit);
        }
    }
    (root, units)
}

#[test]
fn systemd_analyze_verify_is_silent_on_every_unit() {
    needs!("systemd-analyze");
    for case in cases() {
        let (root, units) = unit_root(&case);
        let (code, out, err) = run(Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(format!("--root={}", root.path().display()))
            .args(&units));
        assert_eq!(code, 0, "{}: {out}{err}", case.name);
        assert!(
            err.trim().is_empty(),
            "{}: systemd-analyze verify complained:\n{err}",
            case.name
        );
    }
}

#[test]
fn verify_would_catch_a_bad_key() {
    // The check above can fail: a unit with an unknown key makes verify talk.
    needs!("systemd-analyze");
    let case = cases().into_iter().next().unwrap();
    let (root, units) = unit_root(&case);
    let text = fs::read_to_string(&units[0])
        .unwrap()
        .replace("Type=oneshot", "Type=oneshot\nTyep=simple");
    fs::write(&units[0], text).unwrap();
    let (_, _, err) = run(Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(format!("--root={}", root.path().display()))
        .arg(&units[0]));
    assert!(err.contains("Tyep"), "{err}");
}

/// `systemd-analyze security --offline=true UNIT`'s overall exposure.
fn exposure(path: &Path) -> f64 {
    exposure_text(path)
        .parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The same, as printed ("0.9").
fn exposure_text(path: &Path) -> String {
    let (_, out, err) = run(Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(path));
    let text = format!("{out}{err}");
    common::exposure_in(&text).unwrap_or_else(|| panic!("no exposure level in:\n{text}"))
}

/// The default layout's units, with `tier.quota` = `quota`, generated into `dir`.
fn units_with_quota(dir: &Path, quota: &str) -> PathBuf {
    let layout = dir.join(format!("layout-{quota}.toml"));
    fs::write(
        &layout,
        jts_hot::layout::DEFAULT_LAYOUT_TOML
            .replace("quota = \"off\"", &format!("quota = \"{quota}\"")),
    )
    .unwrap();
    let out = dir.join(format!("out-{quota}"));
    let (code, _, err) = run(jts_hot()
        .arg("--config")
        .arg(&layout)
        .args(["generate", "--out"])
        .arg(&out));
    assert_eq!(code, 0, "{err}");
    out.join("usr/lib/systemd/system")
}

/// docs/generated.md's table of every unit's exposure is what
/// `systemd-analyze security --offline=true` says of the units, without
/// quotas and with them (the figure it prints, one decimal).
#[test]
fn documented_exposure_is_the_real_one() {
    needs!("systemd-analyze");
    let dir = tempfile::tempdir().unwrap();
    let (off, on) = (
        units_with_quota(dir.path(), "off"),
        units_with_quota(dir.path(), "enforce"),
    );
    for (unit, doc_off, doc_on) in common::documented_exposure() {
        let (real_off, real_on) = (
            exposure_text(&off.join(&unit)),
            exposure_text(&on.join(&unit)),
        );
        eprintln!("{unit}: quota off {real_off}, on {real_on}");
        assert_eq!(
            (doc_off.as_str(), doc_on.as_str()),
            (real_off.as_str(), real_on.as_str()),
            "docs/generated.md's exposure of {unit} (off, on)"
        );
    }
}

/// Every unit of every golden case, and of the default layout with quotas,
/// within its bound (docs/generated.md): validate and monitor 0.7 with quotas
/// or without (jts-hot's own user; jts-hot-quota-read.service reads the
/// quotas for them, within 0.9), setup and quota 2.0.
#[test]
fn every_unit_stays_within_its_exposure_bound() {
    needs!("systemd-analyze");
    let quota = tempfile::tempdir().unwrap();
    let out = units_with_quota(quota.path(), "enforce")
        .ancestors()
        .nth(4)
        .unwrap()
        .to_path_buf();
    let cases = cases();
    let mut sets: Vec<(String, PathBuf)> = cases
        .iter()
        .map(|c| (c.name.clone(), c.generated.path().to_path_buf()))
        .collect();
    sets.push(("default with quotas".into(), out));
    for (name, generated) in &sets {
        for (unit, bound) in [
            ("jts-hot-validate.service", 0.7),
            ("jts-hot-monitor.service", 0.7),
            ("jts-hot-quota-read.service", 0.9),
            ("jts-hot-setup.service", 2.0),
            ("jts-hot-quota.service", 2.0),
        ] {
            let path = generated.join("usr/lib/systemd/system").join(unit);
            if !path.exists() {
                continue;
            }
            let score = exposure(&path);
            eprintln!("{name}: {unit}: exposure {score}");
            assert!(
                score <= bound,
                "{name}: {unit} is rated {score}, above {bound}"
            );
        }
    }
}

#[test]
fn timer_calendar_expression_is_valid() {
    needs!("systemd-analyze");
    for case in cases() {
        let timer = fs::read_to_string(
            case.generated
                .path()
                .join("usr/lib/systemd/system/jts-hot-monitor.timer"),
        )
        .unwrap();
        let expr = timer
            .lines()
            .find_map(|l| l.strip_prefix("OnCalendar="))
            .expect("the timer uses OnCalendar=");
        let (code, out, err) = run(Command::new("systemd-analyze").args(["calendar", expr]));
        assert_eq!(code, 0, "{}: {expr}: {err}", case.name);
        assert!(out.contains("Next elapse:"), "{out}");
        assert!(timer.contains("Persistent=true"));
    }
}

/// systemd --test --system loads the units as PID 1 would and dumps them:
/// the escaped paths must come back exactly as the layout spells them.
#[test]
fn systemd_parses_escaped_paths_back_exactly() {
    let test = test_name!();
    let systemd = Path::new("/lib/systemd/systemd");
    if !systemd.exists() {
        common::cannot_run(test, "/lib/systemd/systemd is not installed");
        return;
    }
    needs!("setpriv", root);
    let case = cases()
        .into_iter()
        .find(|c| c.name.contains("spaces-and-percent"))
        .unwrap();
    let units = tempfile::tempdir().unwrap();
    fs::set_permissions(units.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let src = case.generated.path().join("usr/lib/systemd/system");
    let (code, _, err) = run(Command::new("cp")
        .args(["-a", "--no-target-directory"])
        .arg(&src)
        .arg(units.path()));
    assert_eq!(code, 0, "{err}");
    fs::write(
        units.path().join("redis-server.service"),
        "[Service]\nExecStart=/bin/true\n",
    )
    .unwrap();
    let (code, _, err) = run(Command::new("chmod").args(["-R", "a+rX"]).arg(units.path()));
    assert_eq!(code, 0, "{err}");
    let dump = |unit: &str| -> String {
        // As nobody: systemd refuses a test run as root outside PID 1.
        let (_, out, _) = run(Command::new("timeout")
            .args([
                "30",
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
            ])
            .arg(systemd)
            .args([
                "--test",
                "--system",
                "--no-pager",
                &format!("--unit={unit}"),
            ])
            .env("SYSTEMD_UNIT_PATH", format!("{}:", units.path().display())));
        let start = out
            .find(&format!("-> Unit {unit}:"))
            .unwrap_or_else(|| panic!("{unit} not in the dump"));
        let rest = &out[start + 4..];
        rest[..rest.find("-> Unit ").unwrap_or(rest.len())].to_string()
    };
    let base = case.layout.tier.base.to_str().unwrap();
    let textfile = case.layout.monitor.textfile_dir.to_str().unwrap();
    assert_eq!(
        (base, textfile),
        ("/srv/hot tier/100%n", "/var/lib/node exporter/%h")
    );

    let monitor = dump("jts-hot-monitor.service");
    // Ordered after the base's own mount unit, named as systemd names it.
    assert!(
        monitor.contains("After: srv-hot\\x20tier-100\\x25n.mount (origin-file)"),
        "{monitor}"
    );
    assert!(
        !monitor.contains(&format!("RequiresMountsFor: {base} (origin-file)")),
        "{monitor}"
    );
    // The textfile directory, and the fsync canary's file in the base.
    assert!(
        monitor.contains(&format!(
            "ReadWritePaths: -{textfile} -{base}/.jts-hot-fsync\n"
        )),
        "{monitor}"
    );
    assert!(
        monitor.contains(&format!(
            "Command Line: /usr/bin/jts-hot monitor --warning-ok --textfile-dir \"{textfile}\""
        )),
        "{monitor}"
    );
    let gated = dump("redis-server.service");
    assert!(
        gated.contains(&format!("RequiresMountsFor: {base}/redis (origin-file)")),
        "{gated}"
    );
    // Wants=, not Requires=: stopping validation never stops a database;
    // the ExecCondition= is the gate, run at every start.
    assert!(gated.contains("Wants: jts-hot-validate.service"), "{gated}");
    assert!(!gated.contains("Requires: jts-hot-validate"), "{gated}");
    assert!(gated.contains("After: jts-hot-validate.service"), "{gated}");
    assert!(
        gated.contains("Command Line: /usr/bin/jts-hot validate --gate --service=redis"),
        "{gated}"
    );
}
