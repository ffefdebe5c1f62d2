//! The .deb and the .rpm, built once by packaging/build.sh (the documented
//! command: dpkg-buildpackage with debhelper, then cargo-generate-rpm), read
//! back with the real dpkg-deb, rpm and lintian; the maintainer scripts
//! checked by shellcheck, and the ones the .deb ships (debhelper's snippets
//! around ours) run for real with dpkg's DPKG_ROOT against an unpacked
//! package (no systemd running, as in a chroot).
//! Installing into a booted container is tests/boot*'s job.

mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::{files_under, have_tool, jts_hot, repo_root, run};

struct Packages {
    deb: PathBuf,
    rpm: PathBuf,
    selinux_rpm: PathBuf,
}

/// Runs packaging/build.sh once for every test here; `None` when it cannot run.
fn packages(test: &str) -> Option<&'static Packages> {
    static BUILT: OnceLock<Result<Packages, String>> = OnceLock::new();
    for tool in [
        "dpkg-buildpackage",
        "dh",
        "cargo-generate-rpm",
        "dpkg-deb",
        "rpm",
    ] {
        if !have_tool(test, tool) {
            return None;
        }
    }
    let built = BUILT.get_or_init(|| {
        let (code, out, err) = run(&mut Command::new(repo_root().join("packaging/build.sh")));
        if code != 0 {
            return Err(format!("packaging/build.sh failed ({code}):\n{out}\n{err}"));
        }
        // The interface other scripts rely on: the last two lines are the
        // paths of the .deb and the .rpm, the one before jts-hot-selinux's.
        let lines: Vec<&str> = out.lines().collect();
        let [.., selinux_rpm, deb, rpm] = lines.as_slice() else {
            return Err(format!("packaging/build.sh printed too little:\n{out}"));
        };
        Ok(Packages {
            deb: PathBuf::from(deb),
            rpm: PathBuf::from(rpm),
            selinux_rpm: PathBuf::from(selinux_rpm),
        })
    });
    match built {
        Ok(p) => {
            assert!(
                p.deb.is_file() && p.deb.extension().unwrap() == "deb",
                "{:?}",
                p.deb
            );
            assert!(
                p.rpm.is_file() && p.rpm.extension().unwrap() == "rpm",
                "{:?}",
                p.rpm
            );
            Some(p)
        }
        Err(e) => panic!("{e}"),
    }
}

fn output(cmd: &mut Command) -> String {
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{cmd:?}: {err}");
    out
}

/// Every file both packages must ship, as installed paths; the zsh
/// completion's directory differs by distribution.
fn expected_files(zsh_dir: &str) -> BTreeSet<String> {
    let mut files: BTreeSet<String> = [
        "/usr/bin/jts-hot",
        "/etc/jts/hot-layout.toml",
        "/usr/share/man/man1/jts-hot.1.gz",
        "/usr/share/man/man1/jts-hot-apply.1.gz",
        "/usr/share/man/man1/jts-hot-validate.1.gz",
        "/usr/share/man/man1/jts-hot-monitor.1.gz",
        "/usr/share/man/man5/jts-hot-layout.toml.5.gz",
        "/usr/share/bash-completion/completions/jts-hot",
        "/usr/share/fish/vendor_completions.d/jts-hot.fish",
        "/usr/share/jts-hot/jts-hot-alerts.yml",
        "/usr/share/jts-hot/jts-hot-rules.yml",
        "/usr/share/jts-hot/dashboards/jts-hot-fleet.json",
        "/usr/share/jts-hot/dashboards/jts-hot-host.json",
        "/usr/share/doc/jts-hot/copyright",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    files.insert(format!("{zsh_dir}/_jts-hot"));
    // Every man page the binary writes (one per command) and every document
    // --help and the man pages may point at (/usr/share/doc/jts-hot/, tests/docs.rs).
    let man = tempfile::tempdir().unwrap();
    common::must(jts_hot().arg("manpages").arg(man.path()));
    for page in files_under(man.path()) {
        files.insert(format!("/usr/share/man/man1/{}.gz", page.display()));
    }
    for doc in files_under(&repo_root().join("docs")) {
        files.insert(format!("/usr/share/doc/jts-hot/{}", doc.display()));
    }
    for f in files_under(&repo_root().join("units")) {
        files.insert(format!("/{}", f.display()));
    }
    assert!(files.contains("/usr/lib/systemd/system/postgresql.service.d/jts-hot.conf"));
    files
}

/// Regular files listed by `dpkg-deb -c` (its lines end in ./path).
fn deb_files(deb: &Path) -> BTreeSet<String> {
    output(Command::new("dpkg-deb").arg("-c").arg(deb))
        .lines()
        .filter(|l| l.starts_with('-'))
        .map(|l| l.rsplit(" ./").next().unwrap().to_string())
        .map(|p| format!("/{p}"))
        .collect()
}

fn rpm_query(rpm: &Path, args: &[&str]) -> String {
    output(
        Command::new("rpm")
            .args(["-qp", "--nosignature"])
            .args(args)
            .arg(rpm),
    )
}

#[test]
fn deb_holds_every_file_the_conffile_and_our_scripts() {
    let Some(p) = packages(test_name!()) else {
        return;
    };
    let files = deb_files(&p.deb);
    let missing: Vec<_> = expected_files("/usr/share/zsh/vendor-completions")
        .into_iter()
        .filter(|f| !files.contains(f))
        .collect();
    assert!(missing.is_empty(), "missing {missing:?} in {files:#?}");
    assert!(
        files.contains("/usr/share/doc/jts-hot/changelog.Debian.gz"),
        "{files:#?}"
    );

    let info = output(Command::new("dpkg-deb").arg("-I").arg(&p.deb));
    assert!(info.contains(" Package: jts-hot\n"), "{info}");
    let depends = info.lines().find(|l| l.starts_with(" Depends:")).unwrap();
    assert!(depends.contains("systemd"), "{depends}");
    let conffiles = output(
        Command::new("dpkg-deb")
            .arg("-I")
            .arg(&p.deb)
            .arg("conffiles"),
    );
    assert_eq!(conffiles.trim(), "/etc/jts/hot-layout.toml");
    // The maintainer scripts: debhelper's snippets at #DEBHELPER#, ours
    // around them as written; the prerm is debhelper's alone.
    let script = |name: &str| output(Command::new("dpkg-deb").arg("-I").arg(&p.deb).arg(name));
    let postinst = script("postinst");
    let prerm = script("prerm");
    let postrm = script("postrm");
    for (name, shipped) in [("postinst", &postinst), ("postrm", &postrm)] {
        let ours =
            std::fs::read_to_string(repo_root().join("debian").join(format!("jts-hot.{name}")))
                .unwrap();
        let (before, after) = ours.split_once("#DEBHELPER#\n").unwrap();
        assert!(shipped.starts_with(before), "{name}:\n{shipped}");
        assert!(shipped.ends_with(after), "{name}:\n{shipped}");
    }
    for (name, shipped, helpers) in [
        (
            "postinst",
            &postinst,
            &[
                "dh_installsysusers",
                "dh_installtmpfiles",
                "dh_installsystemd",
            ][..],
        ),
        ("prerm", &prerm, &["dh_installsystemd"][..]),
        ("postrm", &postrm, &["dh_installsystemd"][..]),
    ] {
        for helper in helpers {
            assert!(
                shipped.contains(&format!("# Automatically added by {helper}/")),
                "{name} has nothing from {helper}:\n{shipped}"
            );
        }
    }
    let without_snippets = |text: &str| -> String {
        let mut kept = String::new();
        let mut inside = false;
        for line in text.lines() {
            if line.starts_with("# Automatically added by ") {
                inside = true;
            } else if line == "# End automatically added section" {
                inside = false;
            } else if !inside {
                kept += line;
                kept.push('\n');
            }
        }
        kept
    };
    assert_eq!(without_snippets(&prerm), "#!/bin/sh\nset -e\n", "{prerm}");
    // The databases' own accounts first, in one sysusers run, as before.
    let pos = |needle: &str| {
        postinst
            .find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} in postinst:\n{postinst}"))
    };
    pos(
        "systemd-sysusers ${DPKG_ROOT:+--root=\"$DPKG_ROOT\"} jts-hot-accounts.conf jts-hot.conf\n",
    );
    pos("--create jts-hot.conf");
    // The SELinux module before the directories are made; the applied layout
    // rendered before the units start; the tier set up after its users.
    assert!(pos("semodule -X") < pos("systemd-sysusers"));
    assert!(pos("apply --reapply") < pos("deb-systemd-invoke start"));
    assert!(pos("systemd-sysusers") < pos("setup ${DPKG_ROOT"));
    // The validation and setup units and the timer: enabled, started; no
    // upgrade stops or restarts them (no preinst, nothing but `start`).
    for unit in [
        "jts-hot-setup.service",
        "jts-hot-validate.service",
        "jts-hot-monitor.timer",
    ] {
        assert!(
            postinst.contains(&format!("deb-systemd-helper enable '{unit}'")),
            "{unit} not enabled:\n{postinst}"
        );
    }
    assert!(
        postinst.contains(
            "deb-systemd-invoke start 'jts-hot-monitor.timer' 'jts-hot-setup.service' 'jts-hot-validate.service'"
        ),
        "{postinst}"
    );
    assert!(
        !postinst.contains("deb-systemd-invoke restart")
            && !postinst.contains("deb-systemd-invoke try-restart"),
        "{postinst}"
    );
    let (code, _, _) = run(Command::new("dpkg-deb")
        .arg("-I")
        .arg(&p.deb)
        .arg("preinst"));
    assert_ne!(code, 0, "a preinst (stop on upgrade) is shipped");
    assert!(
        prerm.contains("[ \"$1\" = remove ]") && !prerm.contains("deb-systemd-invoke restart"),
        "{prerm}"
    );
}

#[test]
fn rpm_holds_the_same_files_noreplace_config_and_scriptlets() {
    let Some(p) = packages(test_name!()) else {
        return;
    };
    let main: BTreeSet<String> = rpm_query(&p.rpm, &["-l"])
        .lines()
        .map(String::from)
        .collect();
    // The SELinux module is jts-hot-selinux's, a noarch subpackage that
    // holds it alone (it requires jts-hot, whose copyright covers it).
    let cil = "/usr/share/selinux/packages/jts-hot.cil";
    let selinux: BTreeSet<String> = rpm_query(&p.selinux_rpm, &["-l"])
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(selinux, BTreeSet::from([cil.to_string()]));
    assert!(!main.contains(cil), "the module is still in jts-hot");
    let info = rpm_query(&p.selinux_rpm, &["--qf", "%{NAME} %{ARCH}\n"]);
    assert_eq!(info.trim(), "jts-hot-selinux noarch");
    let files: BTreeSet<String> = main.iter().chain([&cil.to_string()]).cloned().collect();
    let missing: Vec<_> = expected_files("/usr/share/zsh/site-functions")
        .into_iter()
        .filter(|f| !files.contains(f))
        .collect();
    assert!(missing.is_empty(), "missing {missing:?} in {files:#?}");

    // The same payload as the .deb, apart from each format's own files.
    let deb_only = [
        "changelog.Debian.gz",
        "lintian/overrides",
        "vendor-completions",
    ];
    let rpm_only = ["/usr/share/doc/jts-hot/changelog", "site-functions"];
    let deb: BTreeSet<_> = deb_files(&p.deb)
        .into_iter()
        .filter(|f| !deb_only.iter().any(|o| f.contains(o)))
        .collect();
    let rpm: BTreeSet<_> = files
        .iter()
        .filter(|f| !rpm_only.iter().any(|o| f.contains(o)))
        .cloned()
        .collect();
    assert_eq!(deb, rpm);

    let config = rpm_query(&p.rpm, &["--configfiles"]);
    assert_eq!(config.trim(), "/etc/jts/hot-layout.toml");
    let flags = rpm_query(&p.rpm, &["--qf", "[%{FILEFLAGS:fflags} %{FILENAMES}\n]"]);
    let layout_flags = flags
        .lines()
        .find(|l| l.ends_with(" /etc/jts/hot-layout.toml"))
        .unwrap();
    assert!(
        layout_flags.starts_with("cn"),
        "not %config(noreplace): {layout_flags}"
    );

    for (rpm, shipped) in [
        (
            &p.rpm,
            &[
                ("post.sh", "postinstall scriptlet"),
                ("preun.sh", "preuninstall scriptlet"),
                ("postun.sh", "postuninstall scriptlet"),
            ][..],
        ),
        (
            &p.selinux_rpm,
            &[
                ("selinux-post.sh", "postinstall scriptlet"),
                ("selinux-preun.sh", "preuninstall scriptlet"),
                ("selinux-postun.sh", "postuninstall scriptlet"),
                ("selinux-posttrans.sh", "posttrans scriptlet"),
            ][..],
        ),
    ] {
        let scripts = rpm_query(rpm, &["--scripts"]);
        for (file, header) in shipped {
            let ours =
                std::fs::read_to_string(repo_root().join("packaging/rpm").join(file)).unwrap();
            assert!(scripts.contains(header), "{header} missing:\n{scripts}");
            assert!(
                scripts.contains(ours.trim_end()),
                "{file} not shipped as is:\n{scripts}"
            );
        }
    }
    // The tier's relabelling has one home, put before both scriptlets that
    // relabel (packaging/build.sh): each carries it whole.
    let relabel =
        std::fs::read_to_string(repo_root().join("packaging/rpm/selinux-relabel.sh")).unwrap();
    let scripts = rpm_query(&p.selinux_rpm, &["--scripts"]);
    assert_eq!(
        scripts.matches(relabel.trim_end()).count(),
        2,
        "selinux-relabel.sh not in %posttrans and %postun:\n{scripts}"
    );
    let requires = rpm_query(&p.rpm, &["--requires"]);
    assert!(
        requires.lines().any(|l| l.starts_with("systemd")),
        "{requires}"
    );
    assert!(
        requires
            .lines()
            .any(|l| l == "(jts-hot-selinux if selinux-policy-targeted)"),
        "{requires}"
    );
    let version = rpm_query(&p.rpm, &["--qf", "%{VERSION}-%{RELEASE}"]);
    let requires = rpm_query(&p.selinux_rpm, &["--requires"]);
    for needed in [
        format!("jts-hot = {version}"),
        "policycoreutils".to_string(),
        "selinux-policy-base".to_string(),
    ] {
        assert!(
            requires.lines().any(|l| l == needed),
            "{needed}: {requires}"
        );
    }
}

#[test]
fn lintian_has_no_errors_and_no_warnings() {
    let test = test_name!();
    let Some(p) = packages(test) else { return };
    needs!("lintian");
    // On the .changes dpkg-buildpackage wrote beside the .deb: every package
    // it lists and the upload itself.
    let changes = p.deb.with_extension("changes");
    assert!(changes.is_file(), "{changes:?}");
    let (code, out, err) = run(Command::new("lintian")
        .args(["--fail-on", "error,warning", "--no-tag-display-limit"])
        .arg(&changes));
    eprintln!("lintian {}:\n{out}{err}", changes.display());
    let tags: Vec<_> = out
        .lines()
        .filter(|l| l.starts_with("E:") || l.starts_with("W:"))
        .collect();
    assert!(tags.is_empty(), "lintian:\n{out}{err}");
    assert_eq!(code, 0, "lintian failed:\n{out}{err}");
    // Each override says why.
    let overrides =
        std::fs::read_to_string(repo_root().join("debian/jts-hot.lintian-overrides")).unwrap();
    let mut previous = "";
    for line in overrides.lines() {
        if !line.is_empty() && !line.starts_with('#') {
            assert!(
                previous.starts_with('#'),
                "override without a comment: {line}"
            );
        }
        previous = line;
    }
}

#[test]
fn maintainer_scripts_pass_shellcheck() {
    needs!("shellcheck");
    let dir = repo_root();
    let scripts = [
        "debian/jts-hot.postinst",
        "debian/jts-hot.postrm",
        "packaging/rpm/post.sh",
        "packaging/rpm/preun.sh",
        "packaging/rpm/postun.sh",
        "packaging/rpm/selinux-post.sh",
        "packaging/rpm/selinux-preun.sh",
        "packaging/rpm/selinux-postun.sh",
        "packaging/rpm/selinux-posttrans.sh",
        "packaging/rpm/selinux-relabel.sh",
        "packaging/build.sh",
    ];
    let (code, out, err) = run(Command::new("shellcheck").current_dir(&dir).args(scripts));
    assert_eq!(code, 0, "shellcheck:\n{out}{err}");
    // The clean-up of files `jts-hot apply` wrote is the same in both formats.
    let block = |file: &str| {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let start = text.find("ours() {").unwrap();
        let end = start + text[start..].find("\n}\n\n").unwrap();
        let f = text[start..end].to_string();
        let rest = &text[end + 3..];
        let g_end = rest.find("\n}\n").unwrap();
        f + &rest[..g_end]
    };
    assert_eq!(
        block("debian/jts-hot.postrm"),
        block("packaging/rpm/postun.sh")
    );
}

#[test]
fn deb_unpacks_to_what_the_repository_holds() {
    let Some(p) = packages(test_name!()) else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    output(Command::new("dpkg-deb").arg("-x").arg(&p.deb).arg(r));
    let repo = repo_root();
    assert_eq!(
        std::fs::read(r.join("etc/jts/hot-layout.toml")).unwrap(),
        std::fs::read(repo.join("src/layout/default.toml")).unwrap()
    );
    for f in files_under(&repo.join("units")) {
        assert_eq!(
            std::fs::read(r.join(&f)).unwrap(),
            std::fs::read(repo.join("units").join(&f)).unwrap(),
            "{}",
            f.display()
        );
    }
    let bin = r.join("usr/bin/jts-hot");
    assert_eq!(std::fs::metadata(&bin).unwrap().mode() & 0o777, 0o755);
    let out = output(
        Command::new(&bin)
            .arg("config")
            .arg("check")
            .arg(r.join("etc/jts/hot-layout.toml")),
    );
    assert!(out.contains("valid"), "{out}");
    let page = output(
        Command::new("man")
            .args(["-l", "-Tutf8"])
            .arg(r.join("usr/share/man/man5/jts-hot-layout.toml.5.gz"))
            .env("MANWIDTH", "80"),
    );
    assert!(page.contains("require_mountpoint"), "{page}");
}

/// What dpkg does when it configures, removes and purges the package in a
/// chroot: DPKG_ROOT set, no systemd running there. The scripts the .deb
/// ships (debhelper's snippets and ours); real sysusers, tmpfiles and
/// deb-systemd-helper act on the unpacked root.
#[test]
fn debian_scripts_set_up_and_clean_up_a_root_without_systemd() {
    let test = needs!(root, "deb-systemd-helper");
    let Some(p) = packages(test) else { return };
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    output(Command::new("dpkg-deb").arg("-x").arg(&p.deb).arg(r));
    let control = tempfile::tempdir().unwrap();
    output(
        Command::new("dpkg-deb")
            .arg("-e")
            .arg(&p.deb)
            .arg(control.path()),
    );
    let scripts = control.path();
    let script = |name: &str, args: &[&str]| {
        let (code, out, err) = run(Command::new("sh")
            .arg(scripts.join(name))
            .args(args)
            .env("DPKG_ROOT", r)
            .env("DPKG_MAINTSCRIPT_PACKAGE", "jts-hot"));
        assert_eq!(code, 0, "{name} {args:?}: {out}{err}");
    };

    script("postinst", &["configure", ""]);
    let passwd = std::fs::read_to_string(r.join("etc/passwd")).unwrap();
    assert!(
        passwd.contains("\npostgres:") || passwd.starts_with("postgres:"),
        "{passwd}"
    );
    let data = r.join("data/jts/hot/postgresql/data");
    assert_eq!(std::fs::metadata(&data).unwrap().mode() & 0o7777, 0o750);
    let wants = [
        "etc/systemd/system/multi-user.target.wants/jts-hot-validate.service",
        "etc/systemd/system/timers.target.wants/jts-hot-monitor.timer",
        "etc/systemd/system/multi-user.target.wants/jts-hot-setup.service",
    ];
    for w in wants {
        assert!(r.join(w).symlink_metadata().is_ok(), "{w} not enabled");
    }

    // The operator disables the timer; an upgrade keeps it disabled.
    let (code, _, err) = run(Command::new("systemctl")
        .arg(format!("--root={}", r.display()))
        .args(["disable", "jts-hot-monitor.timer"]));
    assert_eq!(code, 0, "{err}");
    script("postinst", &["configure", "0.0.9-1"]);
    assert!(r.join(wants[0]).symlink_metadata().is_ok());
    assert!(
        r.join(wants[1]).symlink_metadata().is_err(),
        "upgrade re-enabled the timer"
    );

    // An applied layout in /etc, data in the tier, a foreign drop-in.
    let (code, out, err) = run(jts_hot()
        .arg("--default-layout")
        .arg("apply")
        .arg("--root")
        .arg(r));
    assert_eq!(code, 0, "{out}{err}");
    let applied_gate = r.join("etc/systemd/system/kafka.service.d/jts-hot.conf");
    assert!(applied_gate.is_file());
    let foreign = r.join("etc/systemd/system/kafka.service.d/limits.conf");
    std::fs::write(&foreign, "[Service]\nLimitNOFILE=100000\n").unwrap();
    std::fs::write(data.join("PG_VERSION"), "16\n").unwrap();

    script("prerm", &["remove"]);
    script("postrm", &["remove"]);
    assert!(!applied_gate.exists(), "an applied drop-in survived remove");
    assert!(!r
        .join("etc/systemd/system/jts-hot-validate.service")
        .is_file());
    assert!(foreign.is_file(), "a foreign drop-in was removed");
    // What the monitor and a killed apply leave, and the operator's own
    // file in /etc/jts-hot (no marker: it stays).
    std::fs::create_dir_all(r.join("var/lib/jts-hot")).unwrap();
    std::fs::write(r.join("var/lib/jts-hot/monitor-history.json"), "{}").unwrap();
    std::fs::write(r.join("var/lib/jts-hot/probe-baseline.json.corrupt"), "x").unwrap();
    // Every file of the state directory, whatever its name: the quota walk's
    // and mount.shadowed's records, and one a later version may add.
    for f in ["quota-tree.json", "shadowed.json", "some-later-state.json"] {
        std::fs::write(r.join("var/lib/jts-hot").join(f), "{}").unwrap();
    }
    std::fs::write(r.join("etc/tmpfiles.d/.jts-hot.77.tmp"), "partial").unwrap();
    std::fs::write(r.join("etc/jts-hot/notes.txt"), "operator\n").unwrap();
    let textfile = r.join("var/lib/prometheus/node-exporter");
    std::fs::create_dir_all(&textfile).unwrap();
    std::fs::write(
        textfile.join("jts_hot.prom"),
        "# HELP jts_hot_validate_status x\n",
    )
    .unwrap();
    std::fs::write(textfile.join("other.prom"), "# HELP other x\n").unwrap();
    assert!(r.join("etc/jts-hot/file_contexts.subs").is_file());
    script("postrm", &["purge"]);
    assert!(!r.join("etc/tmpfiles.d/jts-hot.conf").exists());
    // Every path left outside the tier that names jts: the directory the
    // operator's file keeps, and the conffile's, which dpkg removes itself
    // (here, unpacked by hand, it stays).
    let (_, left, _) = run(Command::new("sh").arg("-c").arg(
        "cd \"$1\" && find . \\( -path ./data -o -path ./usr \\) -prune -o \\( -iname '*jts*' -print \\) | sort",
    ).arg("sh").arg(r));
    let left: Vec<&str> = left.lines().collect();
    assert_eq!(left, ["./etc/jts", "./etc/jts-hot"], "left after purge");
    assert!(
        r.join("etc/jts-hot/notes.txt").is_file(),
        "the operator's file went"
    );
    assert!(!r.join("etc/jts-hot/file_contexts.subs").exists());
    assert!(!r.join("etc/tmpfiles.d/.jts-hot.77.tmp").exists());
    assert!(
        !r.join("var/lib/jts-hot").exists(),
        "the state directory stayed"
    );
    assert!(
        textfile.join("other.prom").is_file(),
        "another exporter's file was removed"
    );
    assert!(!textfile.join("jts_hot.prom").exists());
    for w in wants {
        assert!(
            r.join(w).symlink_metadata().is_err(),
            "{w} left after purge"
        );
    }
    // The tier, its data and the users stay.
    assert_eq!(
        std::fs::read_to_string(data.join("PG_VERSION")).unwrap(),
        "16\n"
    );
    assert_eq!(
        std::fs::read_to_string(r.join("etc/passwd")).unwrap(),
        passwd,
        "users changed"
    );
}

/// The layout page names every key of the default layout, every dir-table
/// key and every forbidden base: kept true to src/layout.
#[test]
fn layout_man_page_names_every_key() {
    let page =
        std::fs::read_to_string(repo_root().join("packaging/man/jts-hot-layout.toml.5")).unwrap();
    let layout: toml::Table = toml::from_str(jts_hot::layout::DEFAULT_LAYOUT_TOML).unwrap();
    let mut keys = BTreeSet::new();
    for (section, table) in &layout {
        assert!(
            page.contains(&format!(".SH [{section}")),
            "no section for [{section}]"
        );
        let table = table.as_table().unwrap();
        if section == "services" {
            for service in table.values() {
                keys.extend(service.as_table().unwrap().keys().cloned());
            }
        } else {
            keys.extend(table.keys().cloned());
        }
    }
    keys.extend(["name", "clean_after"].map(String::from));
    for key in &keys {
        assert!(
            page.contains(&format!(".BI {key} ")) || page.contains(&format!(" {key} \" = ")),
            "jts-hot-layout.toml(5) does not describe {key}"
        );
    }
    let trees = jts_hot::layout::rules::OS_TREES.iter().map(|(t, _)| t);
    for base in trees.chain(jts_hot::layout::rules::OS_DIRS) {
        assert!(
            [",", ".", ";", ":"]
                .iter()
                .any(|p| page.contains(&format!(".BR {base} {p}")))
                || page.contains(&format!(".B {base}\n")),
            "jts-hot-layout.toml(5) does not name {base}"
        );
    }
    if have_tool(test_name!(), "man") {
        let (code, _, err) = run(Command::new("man")
            .args(["--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z"])
            .arg(repo_root().join("packaging/man/jts-hot-layout.toml.5"))
            .env("LC_ALL", "C.UTF-8"));
        assert_eq!(code, 0, "{err}");
        assert!(err.is_empty(), "man warnings: {err}");
    }
}
