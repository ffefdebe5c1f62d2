//! packaging/repo.sh's signed repositories (issue 27 item 3), proven in a
//! booted Debian container (the nspawn harness, the cached bookworm image):
//! a deb822 .sources entry with Signed-By: installs jts-hot with apt; a newer
//! version published to the same repository upgrades it with `apt upgrade`,
//! keeping the applied layout, the data, the monitor's history and the
//! operator's drop-in, without restarting the running (stand-in) database;
//! an unsigned repository and one signed by another key are refused. The dnf
//! repository is checked by Debian's dnf on this host (repo_gpgcheck against
//! the given key, a wrongly signed repomd.xml refused) and rpm -K (each
//! package signed): there is no rpm-based system here to install into.

mod common;
#[path = "common/nspawn.rs"]
mod nspawn;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{must, repo_root, run};
use nspawn::{newer_deb, packages, Image, Machine, Probe};

/// A GNUPGHOME whose gpg-agent (started by gpg on first use) is stopped on drop.
struct GnupgHome(PathBuf);

impl Drop for GnupgHome {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", &self.0)
            .args(["--kill", "all"])
            .status();
    }
}

/// A throwaway signing key without a passphrase in its own GNUPGHOME; its
/// fingerprint.
fn make_key(home: &Path, name: &str) -> String {
    std::fs::create_dir_all(home).unwrap();
    std::fs::set_permissions(home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    must(
        Command::new("gpg")
            .env("GNUPGHOME", home)
            .args(["--batch", "--passphrase", "", "--quick-gen-key"])
            .arg(format!("{name} <{name}@jts.invalid>"))
            .args(["ed25519", "sign", "1d"]),
    );
    let (_, out, _) = run(Command::new("gpg").env("GNUPGHOME", home).args([
        "--batch",
        "--list-keys",
        "--with-colons",
    ]));
    out.lines()
        .find_map(|l| {
            l.strip_prefix("fpr:")
                .map(|r| r.trim_matches(':').to_string())
        })
        .expect("the key's fingerprint")
}

fn repo_sh(home: &Path, key: &str, out: &Path, packages: &[&Path]) -> String {
    let (code, stdout, stderr) = run(Command::new(repo_root().join("packaging/repo.sh"))
        .env("GNUPGHOME", home)
        .args(["--key", key, "--out"])
        .arg(out)
        .args(packages));
    assert_eq!(code, 0, "repo.sh: {stdout}{stderr}");
    stdout
}

const KEYRING: &str = "/usr/share/keyrings/jts-hot-archive-keyring.gpg";

fn sources(uri: &str) -> String {
    format!(
        "Types: deb\nURIs: file:{uri}\nSuites: stable\nComponents: main\nSigned-By: {KEYRING}\n"
    )
}

/// Seconds between the first two lines of a step's output (`date +%s.%N`).
fn took(out: &str) -> f64 {
    let t: Vec<f64> = out
        .lines()
        .filter_map(|l| l.strip_prefix("t=").and_then(|v| v.trim().parse().ok()))
        .collect();
    assert_eq!(t.len(), 2, "{out}");
    t[1] - t[0]
}

/// What an upgrade must leave as it is (the monitor history grows on its own
/// timer: its first sample and that none is lost are compared instead).
const KEPT: &str = "/var/lib/jts-hot/applied-layout.toml /data/jts/hot/postgresql/data/table-0001 \
                    /etc/systemd/system/postgresql.service.d/operator.conf";
const HISTORY: &str = "h=/var/lib/jts-hot/monitor-history.json\n\
                       echo \"history first $(grep -o '\"t\":[0-9]*' $h | head -1)\"\n\
                       echo \"history samples $(grep -o '\"t\":[0-9]*' $h | wc -l)\"";

#[test]
fn apt_installs_upgrades_and_refuses_from_signed_repositories() {
    needs!(
        nspawn::prerequisites,
        "reprepro",
        "createrepo_c",
        "rpmsign",
        "gpg",
        "gpgv"
    );
    let _slot = nspawn::shared_slot();
    let work = tempfile::tempdir().unwrap();
    let good = work.path().join("gnupg-good");
    let _good_agent = GnupgHome(good.clone());
    let key = make_key(&good, "jts-hot-repo");
    let wrong = work.path().join("gnupg-wrong");
    let _wrong_agent = GnupgHome(wrong.clone());
    let wrong_key = make_key(&wrong, "someone-else");
    let pk = packages();

    let mut m = Machine::fresh("repo", Image::Bookworm);
    let out = m.path("/srv/jts-hot-repo");
    let printed = repo_sh(&good, &key, &out, &[&pk.deb, &pk.rpm]);
    assert_eq!(printed.trim(), out.to_str().unwrap());
    // Only this repository (the container has no network).
    m.write("/etc/apt/sources.list", "");
    std::fs::create_dir_all(m.path("/usr/share/keyrings")).unwrap();
    std::fs::copy(out.join("jts-hot-archive-keyring.gpg"), m.path(KEYRING)).unwrap();
    m.write(
        "/etc/apt/sources.list.d/jts-hot.sources",
        &sources("/srv/jts-hot-repo/apt"),
    );
    // A stand-in database, enabled, gated once jts-hot is installed, with the
    // operator's own drop-in.
    m.write(
        "/etc/systemd/system/postgresql.service",
        "[Unit]\nDescription=Stand-in for PostgreSQL (only sleeps)\n\
         [Service]\nExecStart=/bin/sleep infinity\n\
         [Install]\nWantedBy=multi-user.target\n",
    );
    m.write(
        "/etc/systemd/system/postgresql.service.d/operator.conf",
        "[Service]\nEnvironment=OPERATOR_WAS_HERE=1\n",
    );
    std::fs::create_dir_all(m.path("/etc/systemd/system/multi-user.target.wants")).unwrap();
    std::os::unix::fs::symlink(
        "/etc/systemd/system/postgresql.service",
        m.path("/etc/systemd/system/multi-user.target.wants/postgresql.service"),
    )
    .unwrap();

    let first = m.boot(
        &Probe::new()
            .step(
                "install",
                "echo t=$(date +%s.%N)\n\
                 apt-get update -q\n\
                 apt-get install -y -q jts-hot\n\
                 echo t=$(date +%s.%N)",
            )
            .step("version", "dpkg-query -W -f='${Version}' jts-hot")
            .step(
                "use",
                "jts-hot apply\n\
                 mkdir -p /data/jts/hot/postgresql/data\n\
                 head -c 1048576 /dev/urandom >/data/jts/hot/postgresql/data/table-0001\n\
                 chown -R --reference=/data/jts/hot/postgresql /data/jts/hot/postgresql/data\n\
                 systemctl start jts-hot-monitor.service\n\
                 systemctl restart postgresql.service",
            ),
    );
    let install = first.ok("install");
    println!(
        "apt-get update && apt-get install jts-hot ({:.1} s):\n{install}",
        took(install)
    );
    assert!(install.contains("Setting up jts-hot"), "{install}");
    let v1 = first.ok("version").to_string();
    first.ok("use");

    // A newer build published to the same repository.
    let newer = newer_deb(&pk.deb, work.path());
    repo_sh(&good, &key, &out, &[&newer]);
    // An unsigned copy, and a repository signed with another key offering a
    // newer version still (Signed-By: names the right key for both).
    let unsigned = m.path("/srv/unsigned");
    nspawn::copy_tree(&out, &unsigned);
    for f in ["InRelease", "Release.gpg"] {
        std::fs::remove_file(unsigned.join("apt/dists/stable").join(f)).unwrap();
    }
    std::fs::create_dir_all(work.path().join("again")).unwrap();
    let newest = newer_deb(&newer, &work.path().join("again"));
    repo_sh(&wrong, &wrong_key, &m.path("/srv/wrong"), &[&newest]);

    let hashes = format!("sha256sum {KEPT}\n{HISTORY}");
    let db = "systemctl show postgresql.service -p ActiveState -p MainPID -p NRestarts -p ExecMainStartTimestampMonotonic";
    let refused = |name: &str| {
        format!(
            "cp /srv/{name}.sources /etc/apt/sources.list.d/{name}.sources\n\
             apt-get update -q 2>&1 || echo rc=$?\n\
             apt-cache policy jts-hot\n\
             rm /etc/apt/sources.list.d/{name}.sources"
        )
    };
    m.write("/srv/unsigned.sources", &sources("/srv/unsigned/apt"));
    m.write("/srv/wrong.sources", &sources("/srv/wrong/apt"));
    let second = m.boot(
        &Probe::new()
            .step("before", &format!("{hashes}\n{db}"))
            .step(
                "upgrade",
                "echo t=$(date +%s.%N)\n\
                 apt-get update -q\n\
                 apt-get upgrade -y -q\n\
                 echo t=$(date +%s.%N)",
            )
            .step("version", "dpkg-query -W -f='${Version}' jts-hot")
            .step("after", &format!("{hashes}\n{db}"))
            .step("unsigned", &refused("unsigned"))
            .step("wrong", &refused("wrong")),
    );
    let upgrade = second.ok("upgrade");
    println!(
        "apt-get update && apt-get upgrade ({:.1} s):\n{upgrade}",
        took(upgrade)
    );
    let v2 = second.ok("version");
    assert_eq!(v2, format!("{v1}+boottest1"), "{upgrade}");
    let before = second.ok("before");
    let after = second.ok("after");
    println!("before the upgrade:\n{before}\nafter:\n{after}");
    let lines =
        |s: &str, f: fn(&&str) -> bool| s.lines().filter(f).map(str::to_string).collect::<Vec<_>>();
    let kept = lines(before, |l| l.contains("  /"));
    assert_eq!(kept.len(), 3, "{before}");
    assert_eq!(
        kept,
        lines(after, |l| l.contains("  /")),
        "what the operator had changed"
    );
    let props = lines(before, |l| l.contains('='));
    assert!(
        props.contains(&"ActiveState=active".to_string()),
        "{before}"
    );
    assert_eq!(
        props,
        lines(after, |l| l.contains('=')),
        "the database was restarted"
    );
    let history = |s: &str, what: &str| -> String {
        s.lines()
            .find_map(|l| {
                l.strip_prefix(&format!("history {what} "))
                    .map(str::to_string)
            })
            .unwrap_or_else(|| panic!("no history {what}: {s}"))
    };
    assert!(history(before, "first").starts_with("\"t\":"), "{before}");
    assert_eq!(
        history(before, "first"),
        history(after, "first"),
        "the history was replaced"
    );
    let n = |s: &str| history(s, "samples").trim().parse::<u32>().unwrap();
    assert!(n(before) >= 1 && n(after) >= n(before), "{before}\n{after}");

    for name in ["unsigned", "wrong"] {
        let out = second.ok(name);
        println!("a repository {name}:\n{out}");
        assert!(
            out.contains("rc=100"),
            "{name}: apt-get update did not fail:\n{out}"
        );
        assert!(
            out.contains("is not signed") || out.contains("NO_PUBKEY"),
            "{name}: {out}"
        );
        assert!(
            !out.contains("boottest1+boottest1"),
            "{name}: its version is offered:\n{out}"
        );
    }
    assert!(
        second.ok("wrong").contains("NO_PUBKEY"),
        "{}",
        second.ok("wrong")
    );
}

/// The dnf repository: Debian's dnf reads it with repo_gpgcheck=1 against
/// the given key and refuses a repomd.xml signed by another; every package
/// carries the key's signature (rpm -K with only that key imported).
#[test]
fn the_dnf_repository_is_signed_with_the_given_key() {
    needs!(
        "dnf",
        "rpm",
        "reprepro",
        "createrepo_c",
        "rpmsign",
        "gpg",
        "gpgv",
        "cargo-deb",
        "cargo-generate-rpm"
    );
    let work = tempfile::tempdir().unwrap();
    let good = work.path().join("gnupg-good");
    let _good_agent = GnupgHome(good.clone());
    let key = make_key(&good, "jts-hot-repo");
    let wrong = work.path().join("gnupg-wrong");
    let _wrong_agent = GnupgHome(wrong.clone());
    let wrong_key = make_key(&wrong, "someone-else");
    let out = work.path().join("repo");
    repo_sh(&good, &key, &out, &[&packages().rpm]);
    let dnf = |root: &Path| -> (i32, String) {
        let (code, o, e) = run(Command::new("timeout")
            .arg("120")
            .arg("dnf")
            .arg("-y")
            .arg(format!("--installroot={}", root.display()))
            .args(["--releasever=1", "--setopt=reposdir=/dev/null"])
            .arg(format!(
                "--repofrompath=jts-hot,file://{}",
                out.join("rpm").display()
            ))
            .args([
                "--setopt=jts-hot.gpgcheck=1",
                "--setopt=jts-hot.repo_gpgcheck=1",
                // Fail, not skip, a repository it cannot trust.
                "--setopt=jts-hot.skip_if_unavailable=False",
            ])
            .arg(format!(
                "--setopt=jts-hot.gpgkey=file://{}",
                out.join("jts-hot-archive-keyring.asc").display()
            ))
            .args(["repoquery", "jts-hot"]));
        (code, format!("{o}{e}"))
    };
    let (code, text) = dnf(&work.path().join("root1"));
    println!("dnf repoquery (repo_gpgcheck=1):\n{text}");
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("jts-hot-0:"), "{text}");
    // repomd.xml signed by another key: refused.
    must(
        Command::new("gpg")
            .env("GNUPGHOME", &wrong)
            .args([
                "--batch",
                "--yes",
                "--local-user",
                &wrong_key,
                "--detach-sign",
                "--armor",
            ])
            .arg(out.join("rpm/repodata/repomd.xml")),
    );
    let (code, text) = dnf(&work.path().join("root2"));
    println!("dnf repoquery, repomd.xml signed by another key:\n{text}");
    assert_ne!(code, 0, "{text}");
    assert!(text.contains("GPG signature verification error"), "{text}");
    assert!(!text.contains("jts-hot-0:"), "{text}");
    // Each package signed by the key: rpm -K with only it imported.
    let db = work.path().join("rpmdb");
    std::fs::create_dir_all(&db).unwrap();
    let dbpath = format!("--dbpath={}", db.display());
    must(
        Command::new("rpm")
            .arg(&dbpath)
            .arg("--import")
            .arg(out.join("jts-hot-archive-keyring.asc")),
    );
    let rpms: Vec<PathBuf> = std::fs::read_dir(out.join("rpm/packages"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(rpms.len(), 1);
    let (code, o, e) = run(Command::new("rpm").arg(&dbpath).arg("-K").arg(&rpms[0]));
    println!("rpm -K: {o}{e}");
    assert_eq!(code, 0, "{o}{e}");
    assert!(o.contains("signatures OK"), "{o}");
}

#[test]
fn the_repository_and_mixin_scripts_pass_shellcheck() {
    needs!("shellcheck");
    let (code, out, err) = run(Command::new("shellcheck")
        .current_dir(repo_root())
        .args(["packaging/repo.sh", "packaging/jts-hot-mixin/render.sh"]));
    assert_eq!(code, 0, "shellcheck:\n{out}{err}");
}
