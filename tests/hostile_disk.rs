//! Hostile disk, hostile clock, hostile limits: what a service user can plant
//! in the tier (symlinks, FIFOs, names with newlines and escapes), what a
//! broken disk or clock can do to the state directory, and what the kernel's
//! limits (file descriptors, threads) can do to a walk. Validate, monitor and
//! probe must never be fooled, hang, panic or lose the history silently.
//! Real FIFOs, real symlinks, real bind mounts, real prlimit, real users.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::layout::TestLayout;
use common::scratch::Scratch;
use common::tree::try_bind;
use common::{cannot_run, json, jts_hot, now, service, within};
use serde_json::Value;

/// What a service user names things to forge a journal line and a terminal.
const FORGED: &str = "x\n<2>CRITICAL forged line\x1b[2J\r\u{202e}";

/// A layout of `services` under `base`, each with one `data` directory and an
/// explicit project ID (thousands of services overflow the derived range).
fn layout(base: &Path, services: &[&str]) -> String {
    let services = services.iter().map(|n| (*n, "1GB"));
    TestLayout::new(base)
        .bare()
        .project_ids_from(100_000)
        .services(services)
        .text()
}

/// A scratch tier of `services` with this file's layout, that an
/// unprivileged user can run the tool on.
fn scratch(services: &[&str]) -> Scratch {
    Scratch::new(services, |base| layout(base, services)).for_any_user()
}

/// The monitor's JSON run, bounded: a hang is what these tests look for.
fn monitor_json(s: &Scratch) -> (i32, Value) {
    let (code, out, err) = within(&mut s.monitor(&["--format", "json"]), 60);
    (code, json(&out, &err))
}

/// The exit code of a run whose usage figures are all OK: each run also
/// validates, and on a test host that warns about the host itself (no
/// noatime, generated files not installed), so WARNING is fine too.
fn usage_ok(code: i32) -> bool {
    code <= 1
}

fn nobody() -> nix::unistd::User {
    nix::unistd::User::from_name("nobody")
        .unwrap()
        .expect("user nobody")
}

/// `cmd` as the unprivileged user nobody.
fn as_nobody(cmd: &mut Command) -> &mut Command {
    let u = nobody();
    cmd.uid(u.uid.as_raw()).gid(u.gid.as_raw())
}

/// No line may be forged: no control character but the line ends, no
/// Unicode line separator or bidi override, and `forged` never starts a line.
fn assert_unforged(what: &str, text: &str) {
    for (i, line) in text.lines().enumerate() {
        assert!(
            !line
                .chars()
                .any(|c| c.is_control() || ('\u{2028}'..='\u{202e}').contains(&c)),
            "{what}: line {i} carries a control character: {line:?}\n{text}"
        );
        assert!(
            !line.starts_with("<2>CRITICAL forged") && !line.starts_with("CRITICAL forged"),
            "{what}: a forged line: {line:?}\n{text}"
        );
    }
}

/// Every line that reaches the journal carries our own priority prefix.
fn assert_all_prefixed(what: &str, text: &str) {
    for line in text.lines() {
        let ok = line.len() > 3
            && line.as_bytes()[0] == b'<'
            && line.as_bytes()[1].is_ascii_digit()
            && line.as_bytes()[2] == b'>';
        assert!(
            ok,
            "{what}: a line without our priority prefix: {line:?}\n{text}"
        );
    }
}

#[test]
fn names_planted_by_a_service_user_cannot_forge_validate_output() {
    needs!(root);
    let s = scratch(&["postgresql"]);
    let svc = s.base().join("postgresql");
    // The service user owns its directory, as tmpfiles makes it.
    let u = nobody();
    nix::unistd::chown(&svc, Some(u.uid), Some(u.gid)).unwrap();
    std::fs::remove_dir(svc.join("data")).unwrap();
    // As that user: replace `data` by a symlink whose target is a forgery.
    let (code, _, err) = within(
        as_nobody(
            Command::new("ln")
                .arg("-s")
                .arg(format!("/{FORGED}"))
                .arg(svc.join("data")),
        ),
        30,
    );
    assert_eq!(code, 0, "{err}");
    let layout_text = layout(&s.base(), &["postgresql"]).replace(
        "[services.postgresql]\nowner = \"root\"\ngroup = \"root\"",
        "[services.postgresql]\nowner = \"nobody\"\ngroup = \"nogroup\"",
    );
    std::fs::write(s.config(), layout_text).unwrap();

    // Text under the journal: every line ours, with our priority.
    let (code, out, err) = within(s.cmd(&["validate"]).env("JOURNAL_STREAM", "8:1234"), 60);
    assert_eq!(
        code, 2,
        "a symlink where data should be is CRITICAL: {out}{err}"
    );
    assert!(out.contains("dir.type"), "{out}");
    assert!(
        out.contains(r"a symlink to /x\n<2>CRITICAL forged line\x1b[2J\r\u{202e}"),
        "the target, escaped and whole: {out}"
    );
    assert_unforged("validate text", &out);
    assert_all_prefixed("validate under the journal", &out);

    // JSON: parses, and the target is the same escaped text.
    let (_, out, err) = within(&mut s.cmd(&["validate", "--format", "json"]), 60);
    let doc = json(&out, &err);
    let f = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "dir.type")
        .unwrap_or_else(|| panic!("{doc}"));
    assert!(
        f["actual"].as_str().unwrap().contains(r"\n<2>CRITICAL"),
        "{f}"
    );
    assert!(!f["actual"].as_str().unwrap().contains('\n'), "{f}");
}

#[test]
fn names_planted_by_a_service_user_cannot_forge_monitor_output() {
    needs!(root);
    let s = scratch(&["redis", "kafka"]);
    let data = s.base().join("redis/data");
    let u = nobody();
    nix::unistd::chown(&data, Some(u.uid), Some(u.gid)).unwrap();
    // The service user makes directories it then locks: the monitor, also
    // running unprivileged here, cannot read them and must name them.
    // The third needs no control character: a space, where a report that
    // wraps long lines could start a line with the forged priority.
    let long = format!("{} <0>EMERG forged", "w".repeat(70));
    let names: [&[u8]; 3] = [
        FORGED.as_bytes(),
        b"bad\xff\xfe\x1b]0;title\x07",
        long.as_bytes(),
    ];
    for name in names {
        let dir = data.join(OsStr::from_bytes(name));
        let (code, _, err) = within(
            as_nobody(Command::new("mkdir").args(["-m", "000"]).arg(&dir)),
            30,
        );
        assert_eq!(code, 0, "{err}");
    }
    let textfile = s.dir.path().join("textfile");
    std::fs::create_dir(&textfile).unwrap();
    std::fs::set_permissions(&textfile, std::fs::Permissions::from_mode(0o777)).unwrap();

    for format in ["text", "json", "prometheus"] {
        let (code, out, err) = within(
            as_nobody(
                s.monitor(&["--format", format, "--textfile-dir"])
                    .arg(&textfile)
                    .env("JOURNAL_STREAM", "8:1234"),
            ),
            60,
        );
        // WARNING from the partial scan; the run's validation adds CRITICAL
        // (the layout says root owns what nobody owns here).
        assert_eq!(code, 2, "({format}): {out}{err}");
        assert!(
            out.contains("partial scan") || format == "prometheus",
            "{out}"
        );
        assert_unforged(format, &out);
        assert_unforged("journal summary", &err);
        assert_all_prefixed("journal summary", &err);
        if format == "json" {
            let doc = json(&out, &err);
            let redis = service(&doc, "redis");
            let unreadable: Vec<&str> = redis["unreadable"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert_eq!(unreadable.len(), 3, "{redis}");
            assert!(
                unreadable
                    .iter()
                    .any(|p| p.ends_with(r"/bad\xff\xfe\x1b]0;title\x07")),
                "lossless escape of a name that is not UTF-8: {unreadable:?}"
            );
            assert!(
                unreadable
                    .iter()
                    .any(|p| p.ends_with(r"/x\n<2>CRITICAL forged line\x1b[2J\r\u{202e}")),
                "{unreadable:?}"
            );
        }
        if format == "text" {
            // Under systemd stdout goes to the journal too, which reads a
            // `<N>` at the start of any line as its priority: every line
            // starts with jts-hot's own, and no other follows it.
            assert_all_prefixed("text", &out);
            for line in out.lines() {
                assert!(
                    !line[3..].starts_with('<'),
                    "a line with a second priority: {line:?}\n{out}"
                );
            }
            assert!(out.contains(r"unreadable: "), "{out}");
            assert!(out.contains(r"\n<2>CRITICAL forged line\x1b"), "{out}");
        }
    }
    // The textfile node_exporter reads: every line a comment or a sample.
    let prom = std::fs::read_to_string(textfile.join("jts_hot.prom")).unwrap();
    assert_unforged("textfile", &prom);
    for line in prom.lines() {
        assert!(
            line.starts_with("# HELP jts_hot_")
                || line.starts_with("# TYPE jts_hot_")
                || line.starts_with("jts_hot_"),
            "{line:?}"
        );
    }
}

#[test]
fn a_symlinked_service_directory_or_base_is_critical_and_never_followed() {
    needs!(root);
    let s = scratch(&["postgresql", "redis"]);
    // Somewhere else with 8 MB in it: what a followed link would measure.
    let elsewhere = s.dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("big"), vec![1u8; 8 << 20]).unwrap();
    let pg = s.base().join("postgresql");
    std::fs::remove_dir_all(&pg).unwrap();
    symlink(&elsewhere, &pg).unwrap();

    let (code, doc) = monitor_json(&s);
    assert_eq!(code, 2, "{doc}");
    let p = service(&doc, "postgresql");
    assert_eq!(p["status"], "CRITICAL", "{p}");
    assert_eq!(
        p["allocated_bytes"], 0,
        "nothing measured through the link: {p}"
    );
    let reasons = p["reasons"].to_string();
    assert!(
        reasons.contains("is a symlink") && reasons.contains("not followed"),
        "{p}"
    );
    assert_eq!(service(&doc, "redis")["status"], "OK", "{doc}");
    // A failed scan is not a sample: the history holds no figure for it.
    let hist: Value = serde_json::from_slice(&std::fs::read(s.history()).unwrap()).unwrap();
    assert!(
        !hist["services"].to_string().contains("postgresql"),
        "{hist}"
    );
    assert!(hist["services"].to_string().contains("redis"), "{hist}");

    // The base itself a symlink to a copy of the tier: every service CRITICAL,
    // and no filesystem figures from wherever it points (so the run as a
    // whole is UNKNOWN: the filesystem could not be measured).
    let real = s.dir.path().join("real-hot");
    std::fs::rename(s.base(), &real).unwrap();
    symlink(&real, s.base()).unwrap();
    let (code, doc) = monitor_json(&s);
    assert_eq!(code, 3, "{doc}");
    for name in ["postgresql", "redis"] {
        let svc = service(&doc, name);
        assert_eq!(svc["status"], "CRITICAL", "{svc}");
        assert_eq!(svc["allocated_bytes"], 0, "{svc}");
    }
    assert!(doc["filesystem"].is_null(), "{doc}");
    assert!(doc["notes"].to_string().contains("cannot statvfs"), "{doc}");
    // Text says the same.
    let (code, out, _) = within(&mut s.monitor(&[]), 60);
    assert_eq!(code, 3);
    // The text report wraps at 80 columns: look at it as words.
    let words = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("is a symlink (to "), "{out}");
}

/// A FIFO (and a device) where a file is expected: reading would block
/// forever. Every such read is an error that names what is there.
#[test]
fn fifos_and_devices_where_files_belong_never_hang() {
    needs!(root);
    let s = scratch(&["redis"]);
    let mkfifo = |p: &Path| nix::unistd::mkfifo(p, nix::sys::stat::Mode::S_IRWXU).unwrap();

    // The layout: a FIFO, a character device, a directory.
    let fifo = s.dir.path().join("layout.fifo");
    mkfifo(&fifo);
    for (config, what) in [
        (fifo.as_path(), "a FIFO"),
        (Path::new("/dev/zero"), "a character device"),
        (s.dir.path(), "a directory"),
    ] {
        for cmd in ["validate", "monitor"] {
            let (code, _, err) = within(jts_hot().arg("--config").arg(config).arg(cmd), 30);
            assert_eq!(code, 3, "{cmd} with the layout {what}: {err}");
            assert!(
                err.contains(&format!("not a regular file but {what}")),
                "{err}"
            );
        }
        let (code, _, err) = within(jts_hot().args(["config", "check"]).arg(config), 30);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(what), "{err}");
    }

    // The history and the probe baseline: FIFOs in the state directory.
    mkfifo(&s.history());
    mkfifo(&s.state().join("probe-baseline.json"));
    let (code, doc) = monitor_json(&s);
    assert!(usage_ok(code), "{doc}");
    let notes = doc["notes"].to_string();
    assert!(
        notes.contains("unusable") && notes.contains("a FIFO"),
        "{doc}"
    );
    assert!(doc["probe_baseline"].is_null(), "{doc}");
    // Set aside, and a real history written in its place.
    assert!(s.state().join("monitor-history.json.corrupt").exists());
    let hist: Value = serde_json::from_slice(&std::fs::read(s.history()).unwrap()).unwrap();
    assert_eq!(hist["samples"].as_array().unwrap().len(), 1);

    // A history that is a symlink (to a file that must not be read or
    // rewritten), and one that is far too large (sparse: 1.1 GiB, no data).
    let victim = s.dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    std::fs::remove_file(s.history()).unwrap();
    symlink(&victim, s.history()).unwrap();
    let (code, doc) = monitor_json(&s);
    assert!(usage_ok(code), "{doc}");
    assert!(doc["notes"].to_string().contains("a symlink"), "{doc}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    std::fs::remove_file(s.history()).unwrap();
    let huge = std::fs::File::create(s.history()).unwrap();
    huge.set_len((1 << 30) + (100 << 20)).unwrap();
    let start = Instant::now();
    let (code, doc) = monitor_json(&s);
    assert!(usage_ok(code), "{doc}");
    assert!(doc["notes"].to_string().contains("larger than"), "{doc}");
    assert!(start.elapsed() < Duration::from_secs(30));

    // Installed unit files read for staleness, in an image: a FIFO, a link to one, a mask.
    let root = s.dir.path().join("image");
    let units = root.join("etc/systemd/system");
    std::fs::create_dir_all(&units).unwrap();
    mkfifo(&units.join("jts-hot-validate.service"));
    // A link to a FIFO elsewhere in the image: resolved inside the image.
    std::fs::create_dir_all(root.join("var")).unwrap();
    mkfifo(&root.join("var/fifo"));
    symlink("/var/fifo", units.join("jts-hot-monitor.service")).unwrap();
    symlink("/dev/null", units.join("jts-hot-monitor.timer")).unwrap();
    // And the image's SELinux config, which validate --root reads too.
    std::fs::create_dir_all(root.join("etc/selinux")).unwrap();
    mkfifo(&root.join("etc/selinux/config"));
    let (code, out, err) = within(
        s.cmd(&["validate", "--format", "json", "--root"])
            .arg(&root),
        60,
    );
    let doc = json(&out, &err);
    assert!(code >= 1, "{doc}");
    let stale = doc["findings"].to_string();
    for unit in ["jts-hot-validate.service", "jts-hot-monitor.service"] {
        assert!(
            stale.contains(&format!("{unit}: not a regular file but a FIFO")),
            "{stale}"
        );
    }
    assert!(stale.contains("masked"), "{stale}");
}

/// `--threads` beyond what the system allows, a huge `--duration`, a path
/// that is not UTF-8 in JSON: an answer or a clear refusal, never an abort.
#[test]
fn limits_and_odd_arguments_never_panic() {
    needs!(root, "prlimit");
    let s = scratch(&["redis"]);
    std::fs::write(s.base().join("redis/data/f"), vec![1u8; 100_000]).unwrap();
    let (code, reference) = monitor_json(&s);
    assert!(usage_ok(code), "{reference}");
    let bytes = service(&reference, "redis")["allocated_bytes"].clone();

    // Far more threads than allowed: clamped, and noted.
    let (code, out, err) = within(
        &mut s.monitor(&["--format", "json", "--threads", "1000000"]),
        60,
    );
    let doc = json(&out, &err);
    assert!(usage_ok(code), "{doc}");
    assert_eq!(doc["scan"]["threads"], 256, "{doc}");
    assert!(
        doc["notes"].to_string().contains("--threads 1000000"),
        "{doc}"
    );
    assert_eq!(service(&doc, "redis")["allocated_bytes"], bytes);

    // As an unprivileged user whose process limit allows few threads: the
    // threads that could start do the walk, completely, and say so.
    let nobody_state = s.dir.path().join("nobody-state");
    std::fs::create_dir(&nobody_state).unwrap();
    std::fs::set_permissions(&nobody_state, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (code, out, err) = within(
        as_nobody(
            Command::new("prlimit")
                .arg("--nproc=4")
                .arg("--")
                .arg(s.bin())
                .arg("--config")
                .arg(s.config())
                .args([
                    "monitor",
                    "--format",
                    "json",
                    "--threads",
                    "64",
                    "--state-dir",
                ])
                .arg(&nobody_state),
        ),
        60,
    );
    let doc = json(&out, &err);
    let started = doc["scan"]["threads"].as_u64().unwrap();
    assert!(started < 64, "RLIMIT_NPROC=4 must stop some threads: {doc}");
    assert!(doc["notes"].to_string().contains("walker threads"), "{doc}");
    assert_eq!(service(&doc, "redis")["allocated_bytes"], bytes, "{doc}");
    assert_eq!(doc["scan"]["partial"], false, "{doc}");
    assert!(usage_ok(code), "{doc}");

    // A duration past any clock: refused by the parser, not an overflow.
    for d in ["584542046090years", "100years", "25h"] {
        let (code, _, err) = within(
            jts_hot().args([
                "--default-layout",
                "probe",
                "--duration",
                d,
                "--format",
                "json",
            ]),
            30,
        );
        // A usage error: UNKNOWN (3) for every command, as tests/generate.rs holds.
        assert_eq!(code, 3, "{d}: {err}");
        assert!(
            err.contains("--duration") || err.contains("DURATION"),
            "{err}"
        );
    }

    // Paths that are not UTF-8, in JSON: escaped, never a panic.
    let odd_state = s.dir.path().join(OsStr::from_bytes(b"state\xff\n"));
    let (code, out, err) = within(
        s.cmd(&["monitor", "--format", "json", "--state-dir"])
            .arg(&odd_state),
        60,
    );
    let doc = json(&out, &err);
    assert!(usage_ok(code), "{doc}");
    assert!(
        doc["history"]["path"]
            .as_str()
            .unwrap()
            .contains(r"state\xff\n/monitor-history.json"),
        "{doc}"
    );
    let odd_root = s.dir.path().join(OsStr::from_bytes(b"root\xfe"));
    std::fs::create_dir(&odd_root).unwrap();
    let (code, out, err) = within(
        jts_hot()
            .args(["--default-layout", "validate", "--format", "json", "--root"])
            .arg(&odd_root),
        60,
    );
    let doc = json(&out, &err);
    assert_eq!(code, 2, "{doc}");
    assert!(
        doc["root"].as_str().unwrap().ends_with(r"root\xfe"),
        "{doc}"
    );
    assert!(
        doc["base"]
            .as_str()
            .unwrap()
            .contains(r"root\xfe/data/jts/hot"),
        "{doc}"
    );
    let (code, out, err) = within(
        jts_hot()
            .args(["--default-layout", "plan", "--format", "json", "--root"])
            .arg(&odd_root),
        60,
    );
    let doc = json(&out, &err);
    assert!(code <= 2, "{doc}");
    assert!(
        doc["base"]
            .as_str()
            .unwrap()
            .contains(r"root\xfe/data/jts/hot"),
        "{doc}"
    );
}

/// A low descriptor limit mid-walk (issue 20): the walk adapts, it keeps
/// fewer directories open and opens the others again from the base, and
/// sizes its threads to the descriptors there are: du's figure, complete,
/// with one thread or 64 asked for.
#[test]
fn a_low_descriptor_limit_still_gives_du_s_figure() {
    needs!(root, "prlimit");
    let s = scratch(&["kafka"]);
    // A deep chain with a sibling at each level: every level's descriptor
    // would stay open while its sibling waits, so the walk would need ~depth
    // of them.
    let mut dir = s.base().join("kafka/data");
    for i in 0..150 {
        std::fs::create_dir(dir.join(format!("sib{i}"))).unwrap();
        std::fs::write(dir.join(format!("sib{i}/f")), vec![1u8; 4096]).unwrap();
        dir = dir.join(format!("d{i}"));
        std::fs::create_dir(&dir).unwrap();
    }
    let (code, full) = monitor_json(&s);
    assert!(usage_ok(code), "{full}");
    let du = du_sx(&s.base().join("kafka"));
    assert_eq!(service(&full, "kafka")["allocated_bytes"], du, "{full}");

    for threads in ["1", "64"] {
        std::fs::remove_file(s.history()).unwrap();
        let (code, out, err) = within(
            Command::new("prlimit")
                .arg("--nofile=24")
                .arg("--")
                .arg(s.bin())
                .arg("--config")
                .arg(s.config())
                .args([
                    "monitor",
                    "--format",
                    "json",
                    "--threads",
                    threads,
                    "--state-dir",
                ])
                .arg(s.state()),
            60,
        );
        let doc = json(&out, &err);
        let k = service(&doc, "kafka");
        assert_eq!(k["partial"], false, "--threads {threads}: {doc}");
        assert_eq!(k["allocated_bytes"], du, "--threads {threads}: {doc}");
        assert!(usage_ok(code), "{doc}");
        if threads == "64" {
            assert!(
                doc["notes"].to_string().contains("descriptor limit"),
                "the threads were sized down, and it says so: {doc}"
            );
        }
        // The complete figure is recorded as a sample of kafka.
        let hist = std::fs::read_to_string(s.history()).unwrap();
        assert!(hist.contains("kafka"), "{hist}");
    }
}

fn du_sx(path: &Path) -> u64 {
    let out = Command::new("du")
        .args(["-s", "-x", "--block-size=1"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// A bind mount of the service directory inside itself (a loop), and one of
/// a sibling directory (no loop): counted exactly as GNU `du -s -x` does.
#[test]
fn bind_mounts_are_counted_as_du_x_counts_them() {
    let test = needs!(root, "du");
    let s = scratch(&["clickhouse"]);
    let svc = s.base().join("clickhouse");
    std::fs::write(svc.join("data/part"), vec![1u8; 1 << 20]).unwrap();
    std::fs::create_dir_all(svc.join("data/b/loop")).unwrap();
    std::fs::create_dir_all(svc.join("data/copy")).unwrap();
    std::fs::create_dir_all(svc.join("logs")).unwrap();
    std::fs::write(svc.join("logs/l"), vec![1u8; 300_000]).unwrap();
    let Some(_loop) = try_bind(&svc, &svc.join("data/b/loop")) else {
        cannot_run(test, "mount --bind failed (not allowed here?)");
        return;
    };
    let _copy = try_bind(&svc.join("logs"), &svc.join("data/copy")).unwrap();
    let expected = du_sx(&svc);
    let (code, doc) = monitor_json(&s);
    assert!(code <= 1, "{doc}");
    let c = service(&doc, "clickhouse");
    assert_eq!(
        c["allocated_bytes"], expected,
        "du -sx says {expected}: {c}"
    );
    assert_eq!(c["partial"], false, "{c}");
    // A loop within the loop's own subtree (a deeper self-bind) too.
    let _deep = try_bind(&svc.join("data"), &svc.join("data/b")).unwrap();
    let expected = du_sx(&svc);
    let (_, doc) = monitor_json(&s);
    assert_eq!(
        service(&doc, "clickhouse")["allocated_bytes"],
        expected,
        "{doc}"
    );
}

fn write_samples(s: &Scratch, times: impl Iterator<Item = u64>) {
    let samples: Vec<Value> = times
        .map(|t| serde_json::json!({"t": t, "fs_used": 1000, "services": {"redis": 4096}}))
        .collect();
    let doc = serde_json::json!({"version": 1, "samples": samples});
    std::fs::write(s.history(), serde_json::to_vec(&doc).unwrap()).unwrap();
}

fn sample_count(s: &Scratch) -> usize {
    let hist: Value = serde_json::from_slice(&std::fs::read(s.history()).unwrap()).unwrap();
    hist["samples"].as_array().unwrap().len()
}

/// The clock stepped back (samples "from the future") or far forward (every
/// sample "too old"): the history is kept and the step is reported; a run
/// behind the history records nothing until a second run confirms the
/// clock. A history far larger than any the monitor writes is merged on
/// load, never cut.
#[test]
fn clock_steps_never_erase_the_history_silently() {
    needs!(root);
    let s = scratch(&["redis"]);
    let day = 86_400;
    // The clock went back 30 days: every sample is in the future.
    write_samples(&s, (1..=48).map(|h| now() + 30 * day - h * 3600));
    let (_, doc) = monitor_json(&s);
    assert!(doc["notes"].to_string().contains("clock step"), "{doc}");
    assert_eq!(sample_count(&s), 48, "kept; this run's not recorded yet");
    assert_eq!(doc["history"]["samples"], 48);

    // The clock jumped 10 years ahead: every sample looks too old.
    write_samples(&s, (1..=48).map(|h| now() - 3650 * day - h * 3600));
    let (_, doc) = monitor_json(&s);
    let notes = doc["notes"].to_string();
    assert!(
        notes.contains("clock step") && notes.contains("never dropped"),
        "{doc}"
    );
    assert_eq!(sample_count(&s), 49, "kept, plus this run's");
    // Times past any real clock (u64::MAX) never overflow.
    write_samples(&s, [u64::MAX, u64::MAX - 1, 0].into_iter());
    let (code, doc) = monitor_json(&s);
    assert!(code <= 1, "{doc}");

    // 30,000 samples of schema 1: merged on load, no run lost.
    write_samples(&s, (0..30_000u64).map(|i| now() - 600 * i - 3600));
    let (_, _doc) = monitor_json(&s);
    let hist: Value = serde_json::from_slice(&std::fs::read(s.history()).unwrap()).unwrap();
    let samples = hist["samples"].as_array().unwrap();
    assert!(samples.len() <= 288 + 168 + 400, "{}", samples.len());
    let runs: u64 = samples.iter().map(|x| x["w"].as_u64().unwrap_or(1)).sum();
    assert_eq!(runs, 30_001);
}

/// Validate reads only the planned directories: its time grows linearly with
/// them. 4,000 services (12,001 directories) took 74 s before (every pair of
/// directories compared); the bound here is generous for a debug build on a
/// loaded machine.
#[test]
fn validate_is_linear_in_planned_directories() {
    needs!(root);
    let s = scratch(&[]);
    let n = 4000;
    let names: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    for name in &names {
        std::fs::create_dir_all(s.base().join(name).join("data")).unwrap();
    }
    std::fs::write(s.config(), layout(&s.base(), &refs)).unwrap();
    let start = Instant::now();
    let (code, out, err) = within(&mut s.cmd(&["validate", "--format", "json"]), 120);
    let took = start.elapsed();
    let doc = json(&out, &err);
    assert_eq!(
        doc["directories"],
        2 * n + 1,
        "{}",
        &out[..out.len().min(2000)]
    );
    assert!(code <= 1, "{}", &out[..out.len().min(2000)]);
    let dir_findings = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"].as_str().unwrap().starts_with("dir."))
        .count();
    assert_eq!(dir_findings, 0);
    assert!(
        took < Duration::from_secs(20),
        "validate of {n} services took {took:?}"
    );
    eprintln!(
        "validate of {n} services ({} directories): {took:?}",
        2 * n + 1
    );
}

/// A CRITICAL run's one journal summary line stays one readable line
/// however many things are wrong: 42 services missing their directories
/// name a few and count the rest (each is whole in the lines before it).
#[test]
fn the_journal_summary_stays_short_however_many_findings() {
    let names: Vec<String> = (0..42).map(|i| format!("s{i:02}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let s = scratch(&names);
    for n in &names {
        std::fs::remove_dir(s.base().join(n).join("data")).unwrap();
    }
    let (code, out, err) = within(s.monitor(&[]).env("JOURNAL_STREAM", "8:8"), 60);
    assert_eq!(code, 2, "{out}{err}");
    let summary: Vec<&str> = err.lines().collect();
    assert_eq!(summary.len(), 1, "{err}");
    let line = summary[0];
    assert!(
        line.starts_with("<2>jts-hot monitor: CRITICAL: 42 services"),
        "{line}"
    );
    assert!(line.len() <= 512, "{} bytes: {line}", line.len());
    assert!(line.contains(", 39 more"), "{line}");
    // Every finding is still in the journal, one whole line each.
    for n in &names {
        let data = s.base().join(n).join("data");
        assert!(
            out.lines()
                .any(|l| l.contains("dir.exists") && l.contains(&*data.to_string_lossy())),
            "{n}: {out}"
        );
    }
}

/// "Mounted" is judged by what a path shows, not by its device number: a bind
/// mount of another directory of the tier's own filesystem (same device) over
/// the base, or over one service's directory (kafka's data over postgresql's),
/// is CRITICAL in validate and in that service's gate, with a layout that pins
/// the filesystem by UUID and with one that declares nothing.
#[test]
fn a_bind_mount_of_the_tiers_own_filesystem_hides_what_it_covers() {
    let test = needs!(root, "blkid", common::loopmount::loop_tools);
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let base = dir.path().join("hot");
    let fs = match common::loopmount::LoopMount::ext4(&dir.path().join("fs.img"), &base, "32M")
        .options("noatime")
        .mount()
    {
        Ok(fs) => fs,
        Err(e) => return cannot_run(test, &e),
    };
    let (_, uuid, _) = common::run(
        Command::new("blkid")
            .args(["-s", "UUID", "-o", "value"])
            .arg(&fs.device),
    );
    for d in ["pg/data", "kafka/data", "decoy/pg/data", "decoy/kafka/data"] {
        std::fs::create_dir_all(base.join(d)).unwrap();
    }
    let text = |pin: bool| {
        let mut t = format!(
            "[tier]\nbase = \"{}\"\ncapacity = \"32MB\"\n",
            base.display()
        );
        if pin {
            t += &format!("filesystem_uuid = \"{}\"\n", uuid.trim());
        }
        for s in ["pg", "kafka"] {
            t += &format!(
                "[services.{s}]\nowner = \"root\"\nmode = \"0755\"\nplanned = \"10MB\"\ndirs = [\"data\"]\n"
            );
        }
        t
    };
    let layout = dir.path().join("layout.toml");
    let validate = |args: &[&str]| {
        let (code, out, err) = within(
            jts_hot()
                .env_remove("JTS_HOT_CONFIG")
                .arg("--config")
                .arg(&layout)
                .arg("validate")
                .args(args),
            60,
        );
        (code, out + &err)
    };
    // (check, path) of every mount or filesystem finding, and the gate's exit code for pg and kafka.
    let judged = || {
        let (_, out) = validate(&["--format", "json"]);
        let doc = json(&out, "");
        let found: Vec<(String, String, String)> = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["check"] == "mount.point" || f["check"] == "dir.filesystem")
            .map(|f| {
                (
                    f["check"].as_str().unwrap().to_string(),
                    f["path"].as_str().unwrap().to_string(),
                    f["actual"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let gate = |s: &str| validate(&["--gate", &format!("--service={s}")]).0;
        (found, gate("pg"), gate("kafka"))
    };
    for pin in [true, false] {
        std::fs::write(&layout, text(pin)).unwrap();
        let (found, pg, kafka) = judged();
        assert_eq!(found, vec![], "pin {pin}: clean");
        assert!(pg <= 1 && kafka <= 1, "pin {pin}: clean gates {pg} {kafka}");
        {
            let _over_pg = try_bind(&base.join("kafka"), &base.join("pg")).unwrap();
            let (found, pg, kafka) = judged();
            let pg_dir = base.join("pg").display().to_string();
            assert_eq!(found.len(), 1, "pin {pin}: {found:?}");
            assert_eq!(
                (&found[0].0[..], &found[0].1[..]),
                ("dir.filesystem", &pg_dir[..]),
                "pin {pin}"
            );
            assert!(found[0].2.contains("a bind mount of /kafka"), "{found:?}");
            assert_eq!(pg, 2, "pin {pin}: pg's gate opened on kafka's data");
            assert!(kafka <= 1, "pin {pin}: kafka's own gate {kafka}");
        }
        if pin {
            let _over_base = try_bind(&base.join("decoy"), &base).unwrap();
            let (found, pg, kafka) = judged();
            let base_dir = base.display().to_string();
            assert!(
                found.iter().any(|(c, p, a)| c == "mount.point"
                    && *p == base_dir
                    && a.contains("a bind mount of /decoy")),
                "{found:?}"
            );
            assert_eq!((pg, kafka), (2, 2), "gates over a decoy base");
        }
    }
}
