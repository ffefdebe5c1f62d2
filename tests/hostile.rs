//! A hostile (or mistaken) operator's layout, and a hostile image under
//! `--root`, against the layout checks, the renderer, generate and apply.
//! One test per class of issue 10 (the runtime side is tests/hostile_disk.rs),
//! each attacking from several angles, with the real systemd tools as judges.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{bin_path, files_under, fingerprint, jts_hot, repo_root, run};
use jts_hot::layout::Layout;

/// A small valid layout with `base`, one service `pg` gating `gate`, and
/// `extra` appended (more tables or keys).
fn layout(base: &str, gate: &str, extra: &str) -> String {
    format!(
        "[tier]\nbase = \"{base}\"\ncapacity = \"4TB\"\n\n\
         [services.pg]\nowner = \"postgres\"\nplanned = \"1TB\"\ngate = [{gate}]\n\
         dirs = [\"data\", {{ name = \"tmp\", clean_after = \"7d\" }}]\n{extra}"
    )
}

fn refused(text: &str, field: &str, says: &str) {
    match Layout::parse(text, "hostile.toml") {
        Ok(_) => panic!("accepted, but {field} should be refused:\n{text}"),
        Err(e) => {
            let all = e.to_string();
            assert!(
                e.0.iter()
                    .any(|e| e.field == field && e.message.contains(says)),
                "expected {field}: ...{says}... in:\n{all}"
            );
        }
    }
}

fn accepted(text: &str) -> Layout {
    Layout::parse(text, "hostile.toml").unwrap_or_else(|e| panic!("refused: {e}\n{text}"))
}

// ---- 1. a layout cannot take over the OS's own trees -----------------------

#[test]
fn os_trees_are_refused_whatever_the_spelling() {
    for (base, says) in [
        ("/tmp", "inside /tmp"),
        ("/tmp/hot", "inside /tmp"),
        ("/var/tmp/hot", "inside /var/tmp"),
        ("/usr/tmp/hot", "that is /var/tmp/hot"),
        ("/var/run/hot", "that is /run/hot"),
        ("/var/lock/hot", "that is /run/lock/hot"),
        ("/run/user/0/hot", "inside /run"),
        ("/lib64/hot", "that is /usr/lib64/hot"),
        ("/bin/hot", "inside /usr"),
        ("/usr/local/hot", "inside /usr"),
        ("/home/alice/hot", "inside /home"),
        ("/root/hot", "inside /root"),
        ("/var/lib/dpkg/hot", "inside /var/lib/dpkg"),
        ("/var/lib/rpm", "inside /var/lib/rpm"),
        ("/var/lib/systemd/hot", "inside /var/lib/systemd"),
        ("/var/lib/jts-hot", "jts-hot's own state"),
        ("/var/log/hot", "inside /var/log"),
        ("/var/cache/hot", "inside /var/cache"),
        ("/etc/jts/hot", "inside /etc"),
        ("/boot/efi/hot", "inside /boot"),
        ("/dev/shm/hot", "inside /dev"),
        ("/proc/1/root", "inside /proc"),
        ("/sys/fs/cgroup", "inside /sys"),
        ("/var", "/var itself"),
        ("/var/lib", "/var/lib itself"),
        ("/srv", "/srv itself"),
        ("/opt", "/opt itself"),
        ("/mnt", "/mnt itself"),
        ("/", "root directory"),
    ] {
        refused(&layout(base, "", ""), "tier.base", says);
    }
    // Below a directory that is only refused as itself, the tier is at home.
    for base in [
        "/data/jts/hot",
        "/srv/jts/hot",
        "/mnt/nvme/hot",
        "/var/lib/jts-data",
        "/opt/jts/hot",
        "/tmpfs-not/hot",
        "/homes/hot",
    ] {
        accepted(&layout(base, "", ""));
    }
}

#[test]
fn service_and_subdirectories_are_judged_where_they_land() {
    // A service directory is base/NAME: names are one component, so the only
    // way into an OS tree is through the base; each is checked all the same.
    let text = layout("/data/jts/hot", "", "").replace("[services.pg]", "[services.\"..\"]");
    refused(&text, "services...", "not a directory name");
    let text = layout("/data/jts/hot", "", "").replace("\"data\"", "\"../../etc\"");
    refused(&text, "services.pg.dirs[0]", "not allowed");
}

#[test]
fn the_default_textfile_dir_stays_valid_and_hostile_ones_are_refused() {
    let l = Layout::builtin();
    assert_eq!(
        l.monitor.textfile_dir,
        PathBuf::from("/var/lib/prometheus/node-exporter")
    );
    for (dir, says) in [
        ("/", "root directory"),
        ("/data/jts/hot/pg", "inside the tier"),
        ("/data/jts/hot", "inside the tier"),
        ("/data/jts", "holds the tier"),
        ("/data", "holds the tier"),
        ("/etc/node-exporter", "inside /etc"),
        ("/var/run/prom", "that is /run/prom"),
        ("/tmp/prom", "inside /tmp"),
        ("/var/lib", "/var/lib itself"),
        ("/var", "/var itself"),
        ("/home/prom", "inside /home"),
        ("/usr/share/prom", "inside /usr"),
        ("relative/dir", "not an absolute path"),
    ] {
        let text = layout(
            "/data/jts/hot",
            "",
            &format!("\n[monitor]\ntextfile_dir = \"{dir}\"\n"),
        );
        refused(&text, "monitor.textfile_dir", says);
    }
    // A base under the default textfile directory's parent: the default clashes,
    // and the message says which key to set.
    refused(
        &layout("/var/lib/prometheus", "", ""),
        "monitor.textfile_dir",
        "set monitor.textfile_dir",
    );
    for dir in [
        "/var/lib/prometheus/node-exporter",
        "/srv/metrics",
        "/var/lib/node_exporter/textfile_collector",
    ] {
        accepted(&layout(
            "/data/jts/hot",
            "",
            &format!("\n[monitor]\ntextfile_dir = \"{dir}\"\n"),
        ));
    }
}

/// Found by the fuzz corpus under the real systemd-tmpfiles (exit 73, none of
/// the subdirectories created): a base owned by a user other than root may
/// only hold service directories of its own owner when they have
/// subdirectories; and no path component may exceed NAME_MAX.
/// jts-hot's own account (validate and the monitor run as it) owns nothing
/// of the tier: as the base's, a service's or a subdirectory's owner or
/// group, `config check` refuses it with file, line, column and field, and
/// `apply --root` writes nothing.
#[test]
fn jts_hots_own_account_owns_nothing_of_the_tier() {
    let plain = layout("/data/jts/hot", "", "");
    let cases = [
        (
            plain.replace(
                "capacity = \"4TB\"",
                "capacity = \"4TB\"\nowner = \"jts-hot\"",
            ),
            "tier.owner",
        ),
        (
            plain.replace(
                "capacity = \"4TB\"",
                "capacity = \"4TB\"\ngroup = \"jts-hot\"",
            ),
            "tier.group",
        ),
        (
            plain.replace("owner = \"postgres\"", "owner = \"jts-hot\""),
            "services.pg.owner",
        ),
        (
            plain.replace(
                "owner = \"postgres\"",
                "owner = \"postgres\"\ngroup = \"jts-hot\"",
            ),
            "services.pg.group",
        ),
        (
            plain.replace("name = \"tmp\",", "name = \"tmp\", group = \"jts-hot\","),
            "services.pg.dirs[1].group",
        ),
    ];
    for (text, field) in cases {
        refused(&text, field, "jts-hot's own account");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("layout.toml");
        fs::write(&file, &text).unwrap();
        let (code, out, err) = run(jts_hot().args(["config", "check"]).arg(&file));
        assert_eq!(code, 2, "{field}: {out}{err}");
        let line = text.lines().position(|l| l.contains("jts-hot")).unwrap() + 1;
        let at = format!("{}:{line}:", file.display());
        assert!(
            err.lines()
                .any(|l| l.starts_with(&at) && l.contains(&format!(": {field}: "))),
            "{field}: want {at}COLUMN: {field}: in\n{err}"
        );
        let image = tempfile::tempdir().unwrap();
        let before = fingerprint(image.path());
        let (code, out, err) = run(jts_hot()
            .arg("--config")
            .arg(&file)
            .args(["apply", "--root"])
            .arg(image.path()));
        assert_eq!(code, 2, "{field}: {out}{err}");
        assert_eq!(before, fingerprint(image.path()), "{field}: apply wrote");
    }
}

#[test]
fn layouts_tmpfiles_would_refuse_are_refused() {
    let text = layout("/data/jts/hot", "", "")
        .replace("capacity = \"4TB\"", "capacity = \"4TB\"\nowner = \"jts\"");
    refused(&text, "services.pg.owner", "unsafe path transition");
    // Same owner, or a service without subdirectories: tmpfiles is content.
    accepted(&text.replace("owner = \"postgres\"", "owner = \"jts\""));
    accepted(&text.replace(
        "dirs = [\"data\", { name = \"tmp\", clean_after = \"7d\" }]\n",
        "",
    ));
    // A scratch directory of another owner in a service's directory: its 'e'
    // line walks into it, the same unsafe transition.
    let text = layout("/data/jts/hot", "", "").replace(
        "{ name = \"tmp\", clean_after = \"7d\" }",
        "{ name = \"tmp\", owner = \"other\", clean_after = \"7d\" }",
    );
    refused(&text, "services.pg.dirs[1].owner", "unsafe path transition");
    accepted(&text.replace(", clean_after = \"7d\"", ""));
    let long = "x".repeat(256);
    refused(
        &layout(&format!("/data/{long}"), "", ""),
        "tier.base",
        "NAME_MAX",
    );
    accepted(&layout(&format!("/data/{}", "x".repeat(255)), "", ""));
}

// ---- 2. gates cannot break the boot -----------------------------------------

#[test]
fn gates_on_the_boot_itself_are_refused() {
    for (unit, says) in [
        ("sysinit.target", "not a .service"),
        ("basic.target", "not a .service"),
        ("local-fs.target", "not a .service"),
        ("multi-user.target", "not a .service"),
        ("data.mount", "not a .service"),
        ("dev-nvme0n1.device", "not a .service"),
        ("docker.socket", "not a .service"),
        ("system.slice", "not a .service"),
        ("swapfile.swap", "not a .service"),
        ("fstrim.timer", "not a .service"),
        ("systemd-ask-password-wall.path", "not a .service"),
        ("proc-sys-fs-binfmt_misc.automount", "not a .service"),
        ("systemd-journald.service", "early-boot"),
        ("systemd-tmpfiles-setup.service", "early-boot"),
        ("systemd-sysusers.service", "early-boot"),
        ("systemd-fsck@dev-sda1.service", "early-boot"),
        ("jts-hot-validate.service", "jts-hot"),
        ("jts-hot-monitor.service", "jts-hot"),
        ("kmod-static-nodes.service", "never gated"),
        ("selinux-autorelabel-mark.service", "never gated"),
        ("lvm2-monitor.service", "early-boot"),
        ("emergency.service", "never gated"),
        ("rescue.service", "never gated"),
        ("getty@tty1.service", "never gated"),
        ("serial-getty@ttyS0.service", "never gated"),
        ("dbus.service", "never gated"),
    ] {
        refused(
            &layout("/data/jts/hot", &format!("\"{unit}\""), ""),
            "services.pg.gate[0]",
            says,
        );
    }
    for unit in [
        "postgresql.service",
        "postgresql@15-main.service",
        "clickhouse-server.service",
        "docker.service",
        "mongod.service",
        "systemdish.service",
    ] {
        accepted(&layout("/data/jts/hot", &format!("\"{unit}\""), ""));
    }
}

/// A scratch root holding this machine's units, jts-hot at /usr/bin, the
/// generated units with the validation unit enabled as the packages enable it.
fn verify_root(layout: &Layout) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    fs::create_dir_all(r.join("usr/bin")).unwrap();
    fs::create_dir_all(r.join("usr/lib/systemd")).unwrap();
    fs::create_dir_all(r.join("etc/systemd/system/multi-user.target.wants")).unwrap();
    let (code, _, err) = run(Command::new("cp")
        .args(["-a", "/usr/lib/systemd/system"])
        .arg(r.join("usr/lib/systemd")));
    assert_eq!(code, 0, "{err}");
    fs::copy(bin_path(), r.join("usr/bin/jts-hot")).unwrap();
    for f in jts_hot::render::render(layout) {
        if f.path.starts_with("usr/lib/systemd/system") && !f.path.to_string_lossy().contains(".d/")
        {
            fs::write(r.join(&f.path), &f.contents).unwrap();
        }
    }
    symlink(
        "/usr/lib/systemd/system/jts-hot-validate.service",
        r.join("etc/systemd/system/multi-user.target.wants/jts-hot-validate.service"),
    )
    .unwrap();
    root
}

/// `systemd-analyze verify` of the boot (multi-user.target, with the
/// validation unit it pulls in) and `unit`, gated by our drop-in; its stderr.
fn verify_gated(root: &Path, layout: &Layout, unit: &str) -> String {
    let dropin = jts_hot::render::render(layout)
        .into_iter()
        .find(|f| f.path.to_string_lossy().contains(&format!("/{unit}.d/")))
        .expect("a drop-in for the gated unit");
    let dir = root.join(dropin.path.parent().unwrap());
    fs::create_dir_all(&dir).unwrap();
    fs::write(root.join(&dropin.path), &dropin.contents).unwrap();
    let unit_dir = root.join("usr/lib/systemd/system");
    let (_, _, err) = run(Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(format!("--root={}", root.display()))
        .arg(unit_dir.join("jts-hot-validate.service"))
        .arg("multi-user.target")
        .arg(unit_dir.join(unit)));
    fs::remove_dir_all(&dir).unwrap();
    err
}

fn cycle(err: &str) -> bool {
    err.contains("ordering cycle") || err.contains("cyclic")
}

/// The refusals come from systemd's own ordering, not a guess: every unit
/// installed on this machine is gated in turn and the boot transaction is
/// verified. Whatever the layout accepts makes no cycle; the refused units
/// that do make one are counted, to show the check can see a cycle at all.
#[test]
fn every_accepted_gate_on_this_machine_makes_no_ordering_cycle() {
    needs!("systemd-analyze");
    let base = accepted(&layout("/data/jts/hot", "", ""));
    let root = verify_root(&base);
    let mut units: Vec<String> = fs::read_dir("/usr/lib/systemd/system")
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| !e.file_type().unwrap().is_symlink())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".d") && !n.ends_with(".wants") && !n.contains("@."))
        .collect();
    units.sort();
    let image = jts_hot::system::Root::image(root.path()).unwrap();
    let (mut accepted_units, mut refused_cycles, mut refused_quiet) = (0, Vec::new(), 0);
    for unit in &units {
        let text = layout("/data/jts/hot", &format!("\"{unit}\""), "");
        // Accepted: by name (the layout) and by the unit's real ordering in
        // this root (what apply and validate check on the target system).
        let parsed = Layout::parse(&text, "gate.toml")
            .ok()
            .filter(|l| jts_hot::validate::gates::refused(l, &image).is_empty());
        match parsed {
            Some(l) => {
                let err = verify_gated(root.path(), &l, unit);
                assert!(
                    !cycle(&err),
                    "{unit} is accepted as a gate but makes a cycle:\n{err}"
                );
                accepted_units += 1;
            }
            None => {
                // Refused; gate it anyway (a drop-in written by hand) to see
                // whether systemd would have found a cycle.
                let forced =
                    Layout::parse(&text.replace(unit.as_str(), "stand-in.service"), "x").unwrap();
                let dropin = jts_hot::render::render(&forced)
                    .into_iter()
                    .find(|f| f.path.to_string_lossy().contains("/stand-in.service.d/"))
                    .unwrap();
                let dir = root.path().join(format!("usr/lib/systemd/system/{unit}.d"));
                fs::create_dir_all(&dir).unwrap();
                fs::write(dir.join("jts-hot.conf"), &dropin.contents).unwrap();
                let unit_dir = root.path().join("usr/lib/systemd/system");
                let (_, _, err) = run(Command::new("systemd-analyze")
                    .args(["verify", "--man=no"])
                    .arg(format!("--root={}", root.path().display()))
                    .arg(unit_dir.join("jts-hot-validate.service"))
                    .arg("multi-user.target")
                    .arg(unit_dir.join(unit)));
                fs::remove_dir_all(&dir).unwrap();
                if cycle(&err) {
                    refused_cycles.push(unit.clone());
                } else {
                    refused_quiet += 1;
                }
            }
        }
    }
    eprintln!(
        "{} units on this machine: {accepted_units} accepted as gates, none makes a cycle; \
         {} refused would have made one ({}); {refused_quiet} refused for other reasons",
        units.len(),
        refused_cycles.len(),
        refused_cycles.join(" ")
    );
    assert!(accepted_units > 0);
    for must in [
        "sysinit.target",
        "local-fs.target",
        "systemd-journald.service",
    ] {
        if units.iter().any(|u| u == must) {
            assert!(
                refused_cycles.iter().any(|u| u == must),
                "{must}: no cycle seen"
            );
        }
    }
}

/// Accepted gates on stand-in database units: verify says nothing at all.
#[test]
fn accepted_gates_verify_silently() {
    needs!("systemd-analyze");
    let gates = "\"postgresql.service\", \"postgresql@15-main.service\", \"docker.service\"";
    let l = accepted(&layout(
        "/data/jts/hot",
        gates,
        "\n[services.ch]\nowner = \"clickhouse\"\nplanned = \"1TB\"\ngate = [\"docker.service\"]\n",
    ));
    let root = verify_root(&l);
    let unit_dir = root.path().join("usr/lib/systemd/system");
    let mut units = vec![unit_dir.join("jts-hot-validate.service")];
    for f in jts_hot::render::render(&l) {
        if f.path.to_string_lossy().contains(".service.d/") {
            fs::create_dir_all(root.path().join(f.path.parent().unwrap())).unwrap();
            fs::write(root.path().join(&f.path), &f.contents).unwrap();
        }
    }
    for unit in [
        "postgresql.service",
        "postgresql@.service",
        "docker.service",
    ] {
        fs::write(
            unit_dir.join(unit),
            "[Unit]\nDescription=stand-in\n[Service]\nExecStart=/usr/bin/jts-hot --version\n",
        )
        .unwrap();
    }
    units.push(unit_dir.join("postgresql.service"));
    units.push(unit_dir.join("docker.service"));
    let (code, out, err) = run(Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(format!("--root={}", root.path().display()))
        .args(&units)
        .arg("postgresql@15-main.service")
        .arg("multi-user.target"));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.trim().is_empty(),
        "systemd-analyze verify complained:\n{err}"
    );
}

// ---- 3. every value within what the target file accepts ---------------------

#[test]
fn clean_after_stops_at_systemds_limit_and_tmpfiles_agrees() {
    // 213503981d is the largest age systemd-tmpfiles parses (2^64 µs).
    for (age, ok) in [
        ("213503981d", true),
        ("213503982d", false),
        ("5124095575h", false),
        ("18446744073709s", false),
        ("100000000000000000000s", false),
        ("30d", true),
    ] {
        let text = layout("/data/jts/hot", "", "").replace("\"7d\"", &format!("\"{age}\""));
        if !ok {
            assert!(Layout::parse(&text, "x").is_err(), "{age} accepted");
            continue;
        }
        let l = accepted(&text);
        needs!("systemd-tmpfiles");
        let out = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        jts_hot::files::write_tree(out.path(), &jts_hot::render::render(&l)).unwrap();
        // The tier's file (d lines) then the boot's (the scratch age, 'e'),
        // owners as numbers: the scratch root has no postgres user.
        let mut conf = String::new();
        for f in [
            jts_hot::render::generated::TIER_TMPFILES_PATH,
            jts_hot::render::generated::TMPFILES_PATH,
        ] {
            conf += &fs::read_to_string(out.path().join(f)).unwrap();
        }
        let conf = conf.replace(" postgres postgres ", " 0 0 ");
        assert!(conf.contains(&format!(" {age}\n")), "{conf}");
        let tmpfiles = |conf: &str| {
            fs::write(out.path().join("t.conf"), conf).unwrap();
            run(Command::new("systemd-tmpfiles")
                .arg("--create")
                .arg(format!("--root={}", root.path().display()))
                .arg(out.path().join("t.conf")))
        };
        let (code, _, err) = tmpfiles(&conf);
        assert_eq!((code, err.as_str()), (0, ""), "{age}");
        assert!(root.path().join("data/jts/hot/pg/tmp").is_dir(), "{age}");
        // One day more, written by hand, and tmpfiles refuses the line.
        if age == "213503981d" {
            let (_, _, err) = tmpfiles(&conf.replace(" 213503981d", " 213503982d"));
            assert!(err.contains("Invalid age"), "{err}");
        }
    }
}

#[test]
fn sizes_and_their_sums_never_wrap() {
    // Ten services of 2 EB on 2 EB: 20 EB, beyond u64 (18.4 EB) once summed.
    let mut text = String::from("[tier]\nbase = \"/data/jts/hot\"\ncapacity = \"2EB\"\n");
    for i in 0..10 {
        text.push_str(&format!(
            "[services.s{i}]\nowner = \"root\"\nplanned = \"2EB\"\n"
        ));
    }
    let l = accepted(&text);
    assert_eq!(l.planned_total(), 20 * 10u128.pow(18));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.toml");
    fs::write(&file, &text).unwrap();
    let (code, out, err) = run(jts_hot()
        .arg("--config")
        .arg(&file)
        .args(["plan", "--format", "json"]));
    assert_eq!(code, 1, "over-committed: {out}{err}");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["over_committed"], true);
    // The true values, as JSON integers beyond 64 bits: never saturated
    // (18446744073709551615) nor clamped (i64::MIN).
    assert!(
        out.contains("\"planned_bytes\": 20000000000000000000,"),
        "{out}"
    );
    assert!(
        out.contains("\"capacity_left_bytes\": -18000000000000000000,"),
        "{out}"
    );
    let keys: Vec<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
    let order: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("  \"")?.split('"').next())
        .collect();
    assert_eq!(order, keys, "keys printed sorted, as the schema always did");
    let (_, text_out, _) = run(jts_hot().arg("--config").arg(&file).arg("plan"));
    assert!(text_out.contains("20.0 EB"), "{text_out}");
    // A quota limit derived from the plan is exact or refused: 200% of 16 EB
    // is beyond 64 bits (it wrapped to 2 bytes), 1% of 1 byte is 0 (which
    // the kernel reads as no limit); 100% of 16 EB is exact.
    let quota = |planned: &str, limit: &str| {
        layout("/data/jts/hot", "", "")
            .replace("capacity = \"4TB\"", "capacity = \"16EB\"")
            .replace(
                "planned = \"1TB\"",
                &format!("planned = \"{planned}\"\nquota_hard = \"{limit}\""),
            )
    };
    refused(
        &quota("16EB", "200%"),
        "services.pg.quota_hard",
        "beyond the largest limit",
    );
    refused(&quota("1", "1%"), "services.pg.quota_hard", "is 0 bytes");
    refused(&quota("99", "1%"), "services.pg.quota_hard", "is 0 bytes");
    let l = accepted(&quota("16EB", "100%"));
    assert_eq!(l.services[0].quota.hard.unwrap().0, 16 * 10u64.pow(18));
    let l = accepted(&quota("18446744073709551615", "1000%").replace("1000%", "planned"));
    assert_eq!(l.services[0].quota.hard.unwrap().0, u64::MAX);
    // Through the binary, the refusal names file, line and field.
    fs::write(&file, quota("16EB", "200%")).unwrap();
    let (code, _, err) = run(jts_hot().args(["config", "check"]).arg(&file));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "{}:8:14: services.pg.quota_hard: 200%",
            file.display()
        )),
        "{err}"
    );
    // A single size beyond u64 is refused with a message, not a panic.
    refused(
        &layout("/data/jts/hot", "", "").replace("\"1TB\"", "\"20EB\""),
        "services.pg.planned",
        "not a size",
    );
}

// ---- 4. apply --root never writes outside the root --------------------------

/// A root whose /etc/systemd/system, /etc/tmpfiles.d and /data are symlinks
/// pointing out of it, absolutely and relatively.
fn hostile_root(outside: &Path) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    fs::create_dir_all(r.join("etc/systemd")).unwrap();
    fs::create_dir_all(r.join("etc/jts")).unwrap();
    fs::write(r.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
    fs::write(r.join("etc/group"), "root:x:0:\n").unwrap();
    fs::write(
        r.join("etc/jts/hot-layout.toml"),
        layout("/data/jts/hot", "\"postgresql.service\"", ""),
    )
    .unwrap();
    fs::create_dir_all(outside.join("units")).unwrap();
    fs::create_dir_all(outside.join("tier")).unwrap();
    symlink(outside.join("units"), r.join("etc/systemd/system")).unwrap();
    let up = "../".repeat(outside.components().count() + 8);
    symlink(
        format!("{up}{}", outside.join("tmpfiles").display()),
        r.join("etc/tmpfiles.d"),
    )
    .unwrap();
    fs::create_dir_all(outside.join("tmpfiles")).unwrap();
    symlink(outside.join("tier"), r.join("data")).unwrap();
    root
}

#[test]
fn apply_root_never_writes_outside_the_root() {
    needs!(root, "systemd-tmpfiles");
    let outside = tempfile::tempdir().unwrap();
    let root = hostile_root(outside.path());
    let (code, out, err) = run(jts_hot().args(["apply", "--root"]).arg(root.path()));
    assert!(
        files_under(outside.path()).is_empty(),
        "apply wrote outside the root (exit {code}):\n{out}{err}\n{:?}",
        files_under(outside.path())
    );
    // Inside the root the links resolve as systemd resolves them with --root:
    // /etc/systemd/system → <root>/<outside>/units, which does not exist, so
    // apply refuses, clearly, before writing a unit.
    assert_ne!(code, 0, "{out}{err}");
    assert!(
        err.contains("dangling") || err.contains("not a directory"),
        "{err}"
    );
    // With the image's own directories where its links point, apply works
    // and everything lands inside the root.
    let inner = root.path().join(outside.path().strip_prefix("/").unwrap());
    for d in ["units", "tmpfiles", "tier"] {
        fs::create_dir_all(inner.join(d)).unwrap();
    }
    let (code, out, err) = run(jts_hot().args(["apply", "--root"]).arg(root.path()));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        files_under(outside.path()).is_empty(),
        "{:?}",
        files_under(outside.path())
    );
    assert!(inner.join("units/jts-hot-validate.service").is_file());
    assert!(inner
        .join("units/postgresql.service.d/jts-hot.conf")
        .is_file());
    assert!(inner.join("tmpfiles/jts-hot.conf").is_file());
    assert!(inner.join("tier/jts/hot/pg/data").is_dir(), "{out}");
    // A dry run and a second run read through the same links, still inside.
    let (code, out, err) = run(jts_hot().args(["apply", "--root"]).arg(root.path()));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("nothing changed"), "{out}");
}

#[test]
fn validate_and_plan_root_read_the_images_layout_not_the_hosts() {
    let outside = tempfile::tempdir().unwrap();
    // A layout outside the image, that a link in the image points at.
    fs::write(
        outside.path().join("hot-layout.toml"),
        layout("/srv/outside-layout", "", ""),
    )
    .unwrap();
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("etc")).unwrap();
    symlink(outside.path(), root.path().join("etc/jts")).unwrap();
    let (_, out, err) = run(jts_hot()
        .args(["plan", "--format", "json", "--root"])
        .arg(root.path()));
    let j: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    assert!(
        !j["base"].as_str().unwrap().contains("outside-layout"),
        "plan --root read the host's file through the image's link: {j:#}"
    );
    // A relative link climbing out fares the same.
    fs::remove_file(root.path().join("etc/jts")).unwrap();
    let up = "../".repeat(root.path().components().count() + 4);
    symlink(
        format!("{up}{}", outside.path().display()),
        root.path().join("etc/jts"),
    )
    .unwrap();
    let (_, out, err) = run(jts_hot()
        .args(["validate", "--format", "json", "--root"])
        .arg(root.path()));
    assert!(
        !out.contains("outside-layout") && !err.contains("outside-layout"),
        "{out}{err}"
    );
    // The image's /data is a link to a host directory holding a whole tier:
    // validate --root looks inside the image, where there is none.
    let tier = outside.path().join("data/jts/hot");
    for s in [
        "postgresql",
        "clickhouse",
        "kafka",
        "mongodb",
        "redis",
        "docker",
        "backup",
    ] {
        fs::create_dir_all(tier.join(s)).unwrap();
    }
    symlink(outside.path().join("data"), root.path().join("data")).unwrap();
    let (_, out, err) = run(jts_hot()
        .args(["validate", "--format", "json", "--root"])
        .arg(root.path()));
    // Paths inside the image end with the link's target, none starts with it.
    let host_path = format!("\"{}", outside.path().display());
    assert!(!out.contains(&host_path), "{out}{err}");
    let missing = out.matches("\"missing").count();
    assert!(
        missing > 0,
        "the host's tier was seen through the image's link: {out}"
    );
}

// ---- 7. generate and apply killed at any point ------------------------------

/// A layout with many gated services, so a run writes many files.
fn many_gates(n: usize, planned: &str) -> String {
    let mut text = String::from("[tier]\nbase = \"/data/jts/hot\"\ncapacity = \"400TB\"\n");
    for i in 0..n {
        text.push_str(&format!(
            "[services.s{i}]\nowner = \"root\"\nplanned = \"{planned}\"\nproject_id = {}\ngate = [\"db{i}.service\"]\n",
            i + 1
        ));
    }
    text
}

/// Every file under `dir` that `keep` selects (relative path → contents),
/// and the number of temporaries among them.
fn tree(dir: &Path, keep: &dyn Fn(&Path) -> bool) -> (Vec<(PathBuf, String)>, usize) {
    let mut files = Vec::new();
    let mut temps = 0;
    for f in files_under(dir).into_iter().filter(|f| keep(f)) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with(".jts-hot.") {
            temps += 1;
            continue;
        }
        files.push((f.clone(), fs::read_to_string(dir.join(&f)).unwrap()));
    }
    (files, temps)
}

/// The files a run should leave: relative path and contents.
type FileSet = Vec<(PathBuf, String)>;

/// Kills `cmd` with SIGKILL after a random delay, `rounds` times, checking
/// after each kill that every file is whole (the old or the new version), and
/// that a rerun leaves exactly the new set and no temporaries.
fn kill_at_random(
    what: &str,
    rounds: usize,
    max_delay: Duration,
    setup: &dyn Fn(&Path),
    cmd: &dyn Fn(&Path) -> Command,
    sets: &dyn Fn(&Path) -> (FileSet, FileSet),
    keep: &dyn Fn(&Path) -> bool,
) -> [usize; 4] {
    use std::collections::HashMap;
    // untouched, mixed (whole files, some old some new), complete, temporaries left
    let mut seen = [0usize; 4];
    let mut rng = 0x9e3779b97f4a7c15u64 ^ std::process::id() as u64;
    for round in 0..rounds {
        let scratch = tempfile::tempdir().unwrap();
        setup(scratch.path());
        let (old, new) = sets(scratch.path());
        let old: HashMap<_, _> = old.into_iter().collect();
        let new: HashMap<_, _> = new.into_iter().collect();
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let delay = Duration::from_micros(rng % max_delay.as_micros() as u64);
        let mut child = cmd(scratch.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        let dir = scratch.path();
        let (files, temps) = tree(dir, keep);
        let (mut n_old, mut n_new) = (0, 0);
        for (path, text) in &files {
            let is_new = new.get(path) == Some(text);
            let is_old = old.get(path) == Some(text);
            assert!(
                is_new || is_old,
                "{what} round {round} (killed after {delay:?}): {} is neither the old nor the new file",
                path.display()
            );
            if is_new && !is_old {
                n_new += 1;
            } else if is_old && !is_new {
                n_old += 1;
            }
        }
        let complete = files.len() == new.len() && n_old == 0;
        let untouched = n_new == 0 && files.len() == old.len();
        seen[if temps > 0 {
            3
        } else if complete {
            2
        } else if untouched {
            0
        } else {
            1
        }] += 1;
        // The rerun finishes the job and leaves no temporary behind.
        let (code, _, err) = run(&mut cmd(scratch.path()));
        assert_eq!(code, 0, "{what} rerun after round {round}: {err}");
        let (files, temps) = tree(dir, keep);
        assert_eq!(temps, 0, "{what} round {round}: the rerun left temporaries");
        let files: HashMap<_, _> = files.into_iter().collect();
        assert_eq!(files.len(), new.len(), "{what} round {round}");
        for (p, t) in &new {
            assert_eq!(
                files.get(p),
                Some(t),
                "{what} round {round}: {}",
                p.display()
            );
        }
    }
    seen
}

#[test]
fn generate_killed_at_any_point_leaves_whole_files_and_a_rerun_cleans_up() {
    let old_text = many_gates(60, "1GB");
    let new_text = many_gates(60, "2GB");
    let layouts = tempfile::tempdir().unwrap();
    fs::write(layouts.path().join("old.toml"), &old_text).unwrap();
    fs::write(layouts.path().join("new.toml"), &new_text).unwrap();
    let render = |text: &str, name: &Path| -> Vec<(PathBuf, String)> {
        let l = Layout::parse(text, name.to_str().unwrap()).unwrap();
        jts_hot::render::render(&l)
            .into_iter()
            .map(|f| (f.path, f.contents))
            .collect()
    };
    let (old_p, new_p) = (
        layouts.path().join("old.toml"),
        layouts.path().join("new.toml"),
    );
    let old = render(&old_text, &old_p);
    let new = render(&new_text, &new_p);
    let generate = |layout: &Path, out: &Path| {
        let mut c = jts_hot();
        c.arg("--config")
            .arg(layout)
            .arg("generate")
            .arg("--out")
            .arg(out);
        c
    };
    // How long one run takes here, to spread the kills over all of it.
    let probe = tempfile::tempdir().unwrap();
    let t = std::time::Instant::now();
    assert_eq!(run(&mut generate(&new_p, probe.path())).0, 0);
    let span = t.elapsed() * 3 / 2;
    let seen = kill_at_random(
        "generate",
        40,
        span,
        &|dir| assert_eq!(run(&mut generate(&old_p, dir)).0, 0),
        &|dir| generate(&new_p, dir),
        &|_| (old.clone(), new.clone()),
        &|_| true,
    );
    eprintln!(
        "generate killed 40 times within {span:?}: {} untouched, {} mixed (whole files), {} complete, {} with temporaries (all cleaned by the rerun)",
        seen[0], seen[1], seen[2], seen[3]
    );
}

#[test]
fn apply_killed_at_any_point_leaves_whole_files_and_a_rerun_cleans_up() {
    needs!(root, "systemd-tmpfiles");
    let old_text = many_gates(40, "1GB");
    let new_text = many_gates(40, "2GB");
    // The files name their source as the image sees it (issue 20).
    let etc = |text: &str, _root: &Path| -> Vec<(PathBuf, String)> {
        let l = Layout::parse(text, "/etc/jts/hot-layout.toml").unwrap();
        jts_hot::render::render(&l)
            .into_iter()
            // The SELinux module goes to the policy store, not /etc.
            .filter(|f| f.path != Path::new(jts_hot::render::generated::SELINUX_MODULE_PATH))
            .map(|f| (jts_hot::render::generated::etc_path(&f.path), f.contents))
            .collect()
    };
    let setup = |root: &Path| {
        fs::create_dir_all(root.join("etc/jts")).unwrap();
        fs::write(root.join("etc/jts/hot-layout.toml"), &old_text).unwrap();
        let (code, _, err) = run(jts_hot().args(["apply", "--root"]).arg(root));
        assert_eq!(code, 0, "{err}");
        fs::write(root.join("etc/jts/hot-layout.toml"), &new_text).unwrap();
    };
    let apply = |root: &Path| {
        let mut c = jts_hot();
        c.args(["apply", "--root"]).arg(root);
        c
    };
    let probe = tempfile::tempdir().unwrap();
    setup(probe.path());
    let t = std::time::Instant::now();
    assert_eq!(run(&mut apply(probe.path())).0, 0);
    let span = t.elapsed();
    // Only the files jts-hot writes are compared (not passwd, the tier...).
    let sets = |root: &Path| (etc(&old_text, root), etc(&new_text, root));
    let seen = kill_at_random("apply", 25, span, &setup, &apply, &sets, &|f| {
        [
            "etc/tmpfiles.d",
            "etc/sysusers.d",
            "etc/systemd/system",
            "etc/jts-hot",
        ]
        .iter()
        .any(|d| f.starts_with(d))
    });
    eprintln!(
        "apply killed 25 times within {span:?}: {} untouched, {} mixed (whole files), {} complete, {} with temporaries (all cleaned by the rerun)",
        seen[0], seen[1], seen[2], seen[3]
    );
}

// ---- 8. messages name the right field ---------------------------------------

#[test]
fn messages_point_at_the_key_and_value_at_fault() {
    // A key of [tier.extra] placed after a service's table.
    let text = format!(
        "{}\n[tier.extra]\nfoo = 1\n",
        layout("/data/jts/hot", "", "")
    );
    let e = Layout::parse(&text, "m.toml").unwrap_err();
    assert_eq!(e.0[0].field, "tier.extra", "{e}");
    let line = text.lines().position(|l| l == "[tier.extra]").unwrap() + 1;
    assert_eq!(e.0[0].line, line, "{e}");
    // Inside a dirs table: the value, not the table's brace.
    for (from, to, field, needle) in [
        (
            "\"7d\"",
            "\"7d\", colour = \"red\"",
            "services.pg.dirs[1].colour",
            "colour",
        ),
        ("\"7d\"", "5", "services.pg.dirs[1].clean_after", "5 }"),
        (
            "{ name = \"tmp\", clean_after = \"7d\" }",
            "{ name = \"tmp\", mode = \"0777\" }",
            "services.pg.dirs[1].mode",
            "\"0777\"",
        ),
        (
            "{ name = \"tmp\", clean_after = \"7d\" }",
            "{ name = \"tmp\", owner = \"Bad\" }",
            "services.pg.dirs[1].owner",
            "\"Bad\"",
        ),
        (
            "{ name = \"tmp\", clean_after = \"7d\" }",
            "{ name = \"a/b\" }",
            "services.pg.dirs[1].name",
            "\"a/b\"",
        ),
    ] {
        let text = layout("/data/jts/hot", "", "").replace(from, to);
        let e = Layout::parse(&text, "m.toml").unwrap_err();
        let err = &e.0[0];
        assert_eq!(err.field, field, "{e}");
        let (l, c) = text
            .lines()
            .enumerate()
            .find_map(|(i, l)| l.find(needle).map(|c| (i + 1, c + 1)))
            .unwrap();
        assert_eq!((err.line, err.column), (l, c), "{e}\n{text}");
    }
}

// ---- the fuzz corpus, judged by the real tools --------------------------------

/// Every layout of fuzz/corpus/layout that jts-hot accepts renders files that
/// the real systemd-tmpfiles creates without a word and systemd-analyze
/// verifies without a word (fuzz/check-corpus.sh runs the same by hand).
#[test]
fn every_accepted_corpus_layout_passes_the_real_systemd_tools() {
    needs!(root);
    let script = repo_root().join("fuzz/check-corpus.sh");
    let (code, out, err) = run(Command::new("bash")
        .arg(&script)
        .arg(bin_path())
        .env("CI", std::env::var("CI").unwrap_or_default()));
    assert_eq!(code, 0, "{out}{err}");
    eprintln!("{}", out.trim());
}

// ---- issue 20.4: the tools jts-hot runs on an image stay inside it --------------

/// A minimal image for apply --root (accounts, the layout) and a host
/// directory outside it that holds accounts too, for its links to lead to.
fn image_and_host() -> (tempfile::TempDir, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    let host = tempfile::tempdir().unwrap();
    for dir in [root.path(), host.path()] {
        fs::create_dir_all(dir.join("etc/jts")).unwrap();
        fs::write(dir.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
        fs::write(dir.join("etc/group"), "root:x:0:\n").unwrap();
        fs::create_dir_all(dir.join("sysusers.d")).unwrap();
        fs::create_dir_all(dir.join("tmpfiles.d")).unwrap();
    }
    (root, host)
}

/// Everything under `dir` (links not followed), a line each, for a message.
fn listing(dir: &Path) -> String {
    let (_, out, _) = run(Command::new("find")
        .arg(dir)
        .args(["-printf", "%P %y %l\n"]));
    out
}

/// Image paths that lead to `host` three ways: an absolute link, a `../`
/// chain that climbs past the image's root, and a link to a link.
fn links_out(root: &Path, rel: &str, host: &Path, kind: usize) {
    let at = root.join(rel);
    let _ = fs::remove_file(&at);
    let _ = fs::remove_dir_all(&at);
    fs::create_dir_all(at.parent().unwrap()).unwrap();
    let up = rel.matches('/').count();
    let target = match kind % 3 {
        0 => host.display().to_string(),
        1 => format!(
            "{}{}",
            "../".repeat(up + root.components().count() + 4),
            host.display()
        ),
        _ => {
            symlink(host, root.join("hop")).unwrap();
            format!("{}hop", "../".repeat(up))
        }
    };
    symlink(target, at).unwrap();
}

/// apply --root and setup --root on images whose account files and
/// configuration directories are links to host paths (absolute, `../`
/// chains, links to links): the host's files never change (their checksum
/// before and after), and where a tool would follow the link out of the
/// image, the step is refused with a message naming the path.
#[test]
fn tools_run_on_an_image_never_follow_its_links_out_of_it() {
    needs!(root, "systemd-sysusers", "systemd-tmpfiles");
    let text = layout("/data/jts/hot", "\"postgresql.service\"", "");
    // (what links out, the host path it leads to, whether a tool's guard refuses)
    let cases: &[(&str, &str, bool)] = &[
        ("etc", "etc", true),
        ("etc/passwd", "etc/passwd", true),
        ("etc/group", "etc/group", true),
        ("etc/shadow", "etc/passwd", true),
        ("etc/.pwd.lock", "etc/group", true),
        // apply writes its own files resolved inside the image, as systemd
        // does: there these links lead nowhere, and apply says so.
        ("etc/sysusers.d", "sysusers.d", false),
        ("etc/tmpfiles.d", "tmpfiles.d", false),
        ("etc/systemd/system", "tmpfiles.d", false),
        // Every directory systemd-tmpfiles makes on the image, and each of
        // their parents: it makes a missing parent through the host's view
        // of an image's link (252 made the whole tier in a host directory).
        ("data", "tier", true),
        ("data/jts", "tier", true),
        ("data/jts/hot", "tier", true),
        ("data/jts/hot/pg", "tier", true),
        ("var/lib/prometheus", "tier", true),
    ];
    for (i, &(rel, to, refused)) in cases.iter().enumerate() {
        let (root, host) = image_and_host();
        let (r, h) = (root.path(), host.path());
        let config = h.join("layout.toml");
        fs::write(&config, &text).unwrap();
        links_out(r, rel, &h.join(to), i);
        let before = fingerprint(h);
        let image_before = fingerprint(r);
        let (code, out, err) = run(jts_hot()
            .arg("--config")
            .arg(&config)
            .args(["apply", "--root"])
            .arg(r));
        let after = fingerprint(h);
        assert_eq!(
            before, after,
            "case {i} {rel}: the host changed\n{out}{err}"
        );
        // Refused: not a file in /etc, not the applied-layout record, not a
        // directory or a temporary was left in the image either.
        assert_eq!(
            image_before,
            fingerprint(r),
            "case {i} {rel}: a refused apply changed the image\n{out}{err}\n{}",
            listing(r)
        );
        {
            assert_eq!(code, 3, "case {i} {rel}: {out}{err}");
            // Refused by the tool's guard, or earlier by apply's own writes
            // (which resolve inside the root and find no directory there).
            assert!(
                (err.contains("refused") && err.contains("leads outside the root"))
                    || err.contains("is not a directory inside the root"),
                "case {i} {rel}: {err}"
            );
        }
        // setup runs systemd-tmpfiles on the same image: the same answer,
        // from the tier's tmpfiles.d file as the package installs it (the
        // refused apply left none).
        let rendered = tempfile::tempdir().unwrap();
        let (code, out, err) = run(jts_hot()
            .arg("--config")
            .arg(&config)
            .arg("generate")
            .arg("--out")
            .arg(rendered.path()));
        assert_eq!(code, 0, "{out}{err}");
        let tier_file = "usr/lib/jts-hot/tmpfiles.conf";
        fs::create_dir_all(r.join("usr/lib/jts-hot")).unwrap();
        fs::copy(rendered.path().join(tier_file), r.join(tier_file)).unwrap();
        let (code, out, err) = run(jts_hot()
            .arg("--config")
            .arg(&config)
            .args(["setup", "--root"])
            .arg(r));
        assert_eq!(
            before,
            fingerprint(h),
            "case {i} {rel}: setup changed the host"
        );
        // (setup makes the tier alone: the textfile directory is apply's.)
        if refused && rel != "etc/shadow" && rel != "etc/.pwd.lock" && rel != "var/lib/prometheus" {
            assert_eq!(code, 3, "case {i} {rel}: setup {out}{err}");
            assert!(
                err.contains("leads outside the root"),
                "case {i} {rel}: {err}"
            );
        }
    }
}

/// The monitor's apparent size is exact past 64 bits: three sparse files of
/// 8 EiB (tmpfs allows them) sum to 27.7 EB, printed whole in its JSON.
#[test]
fn apparent_sizes_past_64_bits_are_exact_in_the_monitors_json() {
    needs!(root);
    let s = common::scratch::Scratch::new(&[], |base| {
        format!(
            "[tier]\nbase = \"{}\"\nowner = \"root\"\ngroup = \"root\"\nmode = \"0755\"\n\
             capacity = \"4TB\"\nrequire_mountpoint = false\n[monitor]\ntextfile_dir = \"/nonexistent\"\n\
             [services.kafka]\nowner = \"root\"\ngroup = \"root\"\nmode = \"0755\"\nplanned = \"1TB\"\n\
             gate = []\ndirs = [\"data\"]\n",
            base.display()
        )
    });
    // The walk stays on the service directory's filesystem: tmpfs is it.
    let kafka = s.base().join("kafka");
    fs::create_dir_all(&kafka).unwrap();
    let (code, _, err) = run(Command::new("mount")
        .args(["-t", "tmpfs", "tmpfs"])
        .arg(&kafka));
    assert_eq!(code, 0, "mount tmpfs: {err}");
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _mounted = Unmount(kafka.clone());
    let data = kafka.join("data");
    fs::create_dir_all(&data).unwrap();
    for name in ["a", "b", "c"] {
        let f = fs::File::create(data.join(name)).unwrap();
        f.set_len(i64::MAX as u64).unwrap();
    }
    let mut expected: u128 = 0;
    for dir in [s.base().join("kafka"), data.clone()] {
        expected += u128::from(fs::symlink_metadata(&dir).unwrap().len());
    }
    for name in ["a", "b", "c"] {
        expected += u128::from(fs::symlink_metadata(data.join(name)).unwrap().len());
    }
    assert!(expected > u128::from(u64::MAX));
    let (_, out, err) = run(&mut s.monitor(&["--format", "json"]));
    assert!(
        out.contains(&format!("\"apparent_bytes\": {expected},")),
        "expected {expected}:\n{out}{err}"
    );
}

/// Sizes at u64's edge are exact in the monitoring-plugin perfdata too:
/// each service's usage, thresholds and plan are the JSON's integers, not
/// an f64's rounding (u64::MAX printed as 2^64, the warning size 820 bytes off).
#[test]
fn perfdata_at_u64s_edge_is_the_jsons_exact_figures() {
    needs!(root);
    let s = common::scratch::Scratch::new(&["a", "b"], |base| {
        let mut t = format!(
            "[tier]\nbase = \"{}\"\ncapacity = \"18446744073709551615B\"\n",
            base.display()
        );
        for (name, planned) in [("a", "18446744073709551615B"), ("b", "9007199254740993B")] {
            t += &format!(
                "[services.{name}]\nowner = \"root\"\nplanned = \"{planned}\"\ndirs = [\"data\"]\n"
            );
        }
        t
    });
    let (_, doc) = s.json();
    let (_, out, err) = run(&mut s.monitor(&["--format", "nagios"]));
    let perf = out.lines().next().unwrap().split_once(" | ").unwrap().1;
    for svc in doc["services"].as_array().unwrap() {
        let name = svc["name"].as_str().unwrap();
        let field = |k: &str| svc[k].as_u64().unwrap().to_string();
        let want = format!(
            "'{name}'={}B;{};{};0;{}",
            field("allocated_bytes"),
            field("warning_bytes"),
            field("critical_bytes"),
            field("planned_bytes")
        );
        assert!(
            perf.split(' ').any(|p| p == want),
            "{want} not in the perfdata:\n{out}{err}"
        );
    }
}

/// A gate is judged by the unit's real ordering on the target system, not by
/// its name: units whose names no list knows, made early by their own file
/// or by a drop-in in /run or /etc, in a template's drop-in or a dash
/// prefix's, are refused by apply (exit 2, nothing written) and reported by
/// validate (gate.ordering CRITICAL); systemd-analyze verify, the judge,
/// finds the ordering cycle each would make, and none for the accepted one.
#[test]
fn gates_are_judged_by_the_units_real_ordering() {
    needs!(
        root,
        "systemd-analyze",
        "systemd-tmpfiles",
        "systemd-sysusers"
    );
    let base = accepted(&layout("/data/jts/hot", "", ""));
    let root = verify_root(&base);
    let r = root.path();
    fs::write(
        r.join("etc/passwd"),
        "root:x:0:0::/root:/bin/sh\npostgres:x:105:110::/:/bin/sh\n",
    )
    .unwrap();
    fs::write(r.join("etc/group"), "root:x:0:\npostgres:x:110:\n").unwrap();
    let unit = |rel: &str, text: &str| {
        let p = r.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    };
    let service = "[Service]\nType=oneshot\nExecStart=/usr/bin/jts-hot --version\n";
    unit(
        "usr/lib/systemd/system/warmup.service",
        &format!("[Unit]\nDefaultDependencies=no\nBefore=sysinit.target\n{service}"),
    );
    unit(
        "usr/lib/systemd/system/calm.service",
        &format!("[Unit]\nDescription=calm\n{service}"),
    );
    unit(
        "run/systemd/system/calm.service.d/50-early.conf",
        "[Unit]\nDefaultDependencies=no\nBefore=sysinit.target\n",
    );
    unit(
        "usr/lib/systemd/system/prefs.service",
        &format!("[Unit]\nBefore=local-fs.target\nDefaultDependencies=no\n{service}"),
    );
    unit(
        "usr/lib/systemd/system/net-tune.service",
        &format!("[Unit]\nDescription=x\n{service}"),
    );
    unit(
        "etc/systemd/system/net-.service.d/early.conf",
        "[Unit]\nBefore=basic.target\nDefaultDependencies=no\n",
    );
    unit(
        "usr/lib/systemd/system/fine.service",
        &format!("[Unit]\nBefore=multi-user.target\n{service}"),
    );
    // The same early drop-in masked by an empty one of the same name in /etc.
    unit(
        "usr/lib/systemd/system/masked-early.service",
        &format!("[Unit]\nDescription=y\n{service}"),
    );
    unit(
        "usr/lib/systemd/system/masked-early.service.d/early.conf",
        "[Unit]\nDefaultDependencies=no\nBefore=sysinit.target\n",
    );
    unit("etc/systemd/system/masked-early.service.d/early.conf", "");
    // Default dependencies, but ordered before a unit jts-hot's start after.
    unit(
        "usr/lib/systemd/system/pre-setup.service",
        &format!("[Unit]\nBefore=jts-hot-setup.service\n{service}"),
    );
    // Ordered before a target the boot's own targets start after (basic.target
    // after sockets.target, sysinit.target after swap.target), or before a
    // unit that is ordered before sysinit.target.
    for (name, before) in [
        ("tick.service", "timers.target"),
        ("sock.service", "sockets.target"),
        ("swapper.service", "swap.target"),
        ("chain.service", "tune.service"),
    ] {
        unit(
            &format!("usr/lib/systemd/system/{name}"),
            &format!("[Unit]\nBefore={before}\n{service}"),
        );
    }
    unit(
        "usr/lib/systemd/system/tune.service",
        &format!("[Unit]\nDefaultDependencies=no\nBefore=sysinit.target\n{service}"),
    );
    // Enabled, as an early unit is: the boot pulls it in.
    fs::create_dir_all(r.join("etc/systemd/system/sysinit.target.wants")).unwrap();
    symlink(
        "/usr/lib/systemd/system/tune.service",
        r.join("etc/systemd/system/sysinit.target.wants/tune.service"),
    )
    .unwrap();
    // Gated by an alias: systemd applies the drop-ins of the unit's real
    // name too (here the one that makes it early).
    unit(
        "usr/lib/systemd/system/real-early.service",
        &format!("[Unit]\nDescription=z\n{service}"),
    );
    unit(
        "usr/lib/systemd/system/real-early.service.d/early.conf",
        "[Unit]\nDefaultDependencies=no\nBefore=sysinit.target\n",
    );
    symlink(
        "real-early.service",
        r.join("usr/lib/systemd/system/aliasdb.service"),
    )
    .unwrap();
    // Made early by what other units say about it: an enabled unit that
    // waits for it and starts before sysinit.target; an enabled instance's
    // drop-in doing the same before basic.target; a unit that only pulls it
    // in (Wants=, Requires=) orders nothing.
    for name in ["third.service", "inst.service", "pulled.service"] {
        unit(
            &format!("usr/lib/systemd/system/{name}"),
            &format!("[Unit]\nDescription=d\n{service}"),
        );
    }
    unit(
        "usr/lib/systemd/system/third-hook.service",
        &format!(
            "[Unit]\nDefaultDependencies=no\nAfter=third.service\nBefore=sysinit.target\n{service}"
        ),
    );
    unit(
        "usr/lib/systemd/system/puller.service",
        &format!(
            "[Unit]\nDefaultDependencies=no\nWants=pulled.service\nRequires=pulled.service\n\
             Before=sysinit.target\n{service}"
        ),
    );
    unit(
        "usr/lib/systemd/system/tap@.service",
        &format!("[Unit]\nDefaultDependencies=no\n{service}"),
    );
    unit(
        "etc/systemd/system/tap@eth0.service.d/early.conf",
        "[Unit]\nAfter=inst.service\nBefore=basic.target\n",
    );
    for (link, to) in [
        ("third-hook.service", "third-hook.service"),
        ("puller.service", "puller.service"),
        ("tap@eth0.service", "tap@.service"),
    ] {
        symlink(
            format!("/usr/lib/systemd/system/{to}"),
            r.join(format!("etc/systemd/system/sysinit.target.wants/{link}")),
        )
        .unwrap();
    }
    // A target with default dependencies starts after what it pulls in: one
    // ordered before jts-hot-setup.service, enabled, that wants the unit.
    unit(
        "usr/lib/systemd/system/tgtdb.service",
        &format!("[Unit]\nDescription=t\n{service}"),
    );
    unit(
        "usr/lib/systemd/system/pre-jts.target",
        "[Unit]\nBefore=jts-hot-setup.service\n",
    );
    fs::create_dir_all(r.join("etc/systemd/system/pre-jts.target.wants")).unwrap();
    symlink(
        "/usr/lib/systemd/system/tgtdb.service",
        r.join("etc/systemd/system/pre-jts.target.wants/tgtdb.service"),
    )
    .unwrap();
    symlink(
        "/usr/lib/systemd/system/pre-jts.target",
        r.join("etc/systemd/system/multi-user.target.wants/pre-jts.target"),
    )
    .unwrap();
    let cases = [
        (
            "tgtdb.service",
            Some("pre-jts.target pulls in tgtdb.service (in /etc/systemd/system/pre-jts.target.wants)"),
        ),
        (
            "third.service",
            Some("third-hook.service After=third.service (in /usr/lib/systemd/system/third-hook.service)"),
        ),
        (
            "inst.service",
            Some("tap@eth0.service After=inst.service (in /etc/systemd/system/tap@eth0.service.d/early.conf)"),
        ),
        ("pulled.service", None),
        // timers.target is no boot target's predecessor (systemd 252): fine.
        ("tick.service", None),
        (
            "sock.service",
            Some("Before=sockets.target (in /usr/lib/systemd/system/sock.service)"),
        ),
        (
            "swapper.service",
            Some("Before=swap.target (in /usr/lib/systemd/system/swapper.service)"),
        ),
        (
            "chain.service",
            Some("Before=tune.service (in /usr/lib/systemd/system/chain.service)"),
        ),
        (
            "aliasdb.service",
            Some(
                "DefaultDependencies=no in /usr/lib/systemd/system/real-early.service.d/early.conf",
            ),
        ),
        (
            "pre-setup.service",
            Some("Before=jts-hot-setup.service (in /usr/lib/systemd/system/pre-setup.service)"),
        ),
        (
            "warmup.service",
            Some("DefaultDependencies=no in /usr/lib/systemd/system/warmup.service"),
        ),
        (
            "calm.service",
            Some("DefaultDependencies=no in /run/systemd/system/calm.service.d/50-early.conf"),
        ),
        (
            "prefs.service",
            Some("DefaultDependencies=no in /usr/lib/systemd/system/prefs.service"),
        ),
        (
            "net-tune.service",
            Some("/etc/systemd/system/net-.service.d/early.conf"),
        ),
        ("fine.service", None),
        ("masked-early.service", None),
    ];
    for (name, refused_says) in cases {
        let text = layout("/data/jts/hot", &format!("\"{name}\""), "");
        let l = accepted(&text);
        let file = r.join("etc/jts/gate.toml");
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(&file, &text).unwrap();
        // The judge: systemd's own verdict on the boot with the drop-in in place.
        let judged = cycle(&verify_gated(r, &l, name));
        let dropin = r.join(format!("etc/systemd/system/{name}.d/jts-hot.conf"));
        let (code, out, err) = run(jts_hot()
            .arg("--config")
            .arg(&file)
            .args(["apply", "--dry-run", "--root"])
            .arg(r));
        let (vcode, vout, _) = run(jts_hot()
            .arg("--config")
            .arg(&file)
            .args(["validate", "--format", "json", "--root"])
            .arg(r));
        let findings: serde_json::Value = serde_json::from_str(&vout).unwrap();
        let ordering: Vec<&serde_json::Value> = findings["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["check"] == "gate.ordering")
            .collect();
        match refused_says {
            Some(says) => {
                assert!(
                    judged,
                    "{name}: systemd-analyze found no cycle, yet refused"
                );
                assert_eq!(code, 2, "{name}: {out}{err}");
                assert!(
                    err.contains("services.pg.gate[0]")
                        && err.contains(says)
                        && err.contains("nothing was written"),
                    "{name}: {err}"
                );
                assert!(!dropin.exists(), "{name}: a drop-in was written");
                assert_eq!(ordering.len(), 1, "{name}: {vout}");
                assert_eq!(ordering[0]["severity"], "CRITICAL");
                assert_eq!(vcode, 2, "{name}");
            }
            None => {
                assert!(
                    !judged,
                    "{name}: accepted, yet systemd-analyze finds a cycle"
                );
                assert!(!err.contains("gate["), "{name}: {err}");
                assert!(ordering.is_empty(), "{name}: {vout}");
            }
        }
    }
}
