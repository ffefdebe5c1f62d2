//! The monitor at scale and under faults (issue 20, items 1 and 10): trees a
//! service user can build (100,000 levels deep, 1,000,000 entries wide),
//! a run stopped by SIGTERM, from outside, against GNU du.

mod common;

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::layout::TestLayout;
use common::{json, service, wait_until, work_dir};
use serde_json::Value;

/// A run's own directory: the layout and the state directory.
struct Run {
    dir: tempfile::TempDir,
}

impl Run {
    fn new(base: &Path, names: &[&str]) -> Run {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("layout.toml"),
            TestLayout::new(base)
                .services(names.iter().map(|n| (*n, "1TB")))
                .text(),
        )
        .unwrap();
        Run { dir }
    }
    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }
    fn textfiles(&self) -> PathBuf {
        self.dir.path().join("textfiles")
    }
    fn monitor(&self) -> Command {
        let mut cmd = Command::new(common::bin_path());
        cmd.env_remove("JTS_HOT_CONFIG")
            .env_remove("JOURNAL_STREAM")
            .arg("--config")
            .arg(self.dir.path().join("layout.toml"))
            .args(["monitor", "--walk", "--format", "json", "--state-dir"])
            .arg(self.state());
        cmd
    }
}

fn nobody() -> (u32, u32) {
    let u = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    (u.uid.as_raw(), u.gid.as_raw())
}

fn c(name: &str) -> CString {
    CString::new(name).unwrap()
}

/// Builds a tree once under the test work directory and keeps it (stamped
/// with `version` when complete): these take a minute to make.
fn cached(name: &str, version: &str, build: impl FnOnce(&Path)) -> PathBuf {
    let dir = work_dir().join(name);
    // Tests run in parallel: one builds, the others wait for it.
    std::fs::create_dir_all(work_dir()).unwrap();
    let lock = std::fs::File::create(work_dir().join(format!("{name}.lock"))).unwrap();
    let _held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive).unwrap();
    let stamp = dir.join("complete");
    let base = dir.join("hot");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(version) {
        return base;
    }
    if dir.exists() {
        Command::new("rm").arg("-rf").arg(&dir).status().unwrap();
    }
    std::fs::create_dir_all(&base).unwrap();
    build(&base);
    std::fs::write(&stamp, version).unwrap();
    base
}

/// A chain `levels` deep in `base/kafka/data`, owned by nobody, a 5000-byte
/// file every 1000 levels. Built through descriptors: no long paths.
fn deep_chain(base: &Path, levels: usize) {
    let (uid, gid) = nobody();
    let top = base.join("kafka/data");
    std::fs::create_dir_all(&top).unwrap();
    std::os::unix::fs::chown(base.join("kafka"), Some(uid), Some(gid)).unwrap();
    std::os::unix::fs::chown(&top, Some(uid), Some(gid)).unwrap();
    let top = CString::new(top.as_os_str().as_bytes()).unwrap();
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    unsafe {
        let mut fd = libc::open(top.as_ptr(), flags);
        assert!(fd >= 0);
        let (d, f) = (c("d"), c("f"));
        for i in 0..levels {
            if i % 1000 == 0 {
                let file = libc::openat(
                    fd,
                    f.as_ptr(),
                    libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC,
                    0o644,
                );
                assert!(file >= 0);
                assert_eq!(libc::write(file, [b'x'; 5000].as_ptr().cast(), 5000), 5000);
                assert_eq!(libc::fchown(file, uid, gid), 0);
                libc::close(file);
            }
            assert_eq!(libc::mkdirat(fd, d.as_ptr(), 0o755), 0, "level {i}");
            let next = libc::openat(fd, d.as_ptr(), flags);
            assert!(next >= 0);
            assert_eq!(libc::fchown(next, uid, gid), 0);
            libc::close(fd);
            fd = next;
        }
        libc::close(fd);
    }
}

/// `entries` empty files (and every 100th a directory) in one directory,
/// `base/redis/data`, owned by nobody (its entries by root: a million
/// chowns would double the time to build it, and change nothing for the walk).
fn wide_dir(base: &Path, entries: usize) {
    let (uid, gid) = nobody();
    let top = base.join("redis/data");
    std::fs::create_dir_all(&top).unwrap();
    std::os::unix::fs::chown(base.join("redis"), Some(uid), Some(gid)).unwrap();
    std::os::unix::fs::chown(&top, Some(uid), Some(gid)).unwrap();
    let top = CString::new(top.as_os_str().as_bytes()).unwrap();
    unsafe {
        let fd = libc::open(
            top.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        );
        assert!(fd >= 0);
        for i in 0..entries {
            let name = c(&format!("e{i:07}"));
            if i % 100 == 0 {
                assert_eq!(libc::mkdirat(fd, name.as_ptr(), 0o755), 0);
            } else {
                let f = libc::openat(
                    fd,
                    name.as_ptr(),
                    libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC,
                    0o644,
                );
                assert!(f >= 0, "entry {i}");
                libc::close(f);
            }
        }
        libc::close(fd);
    }
}

const CHAIN_LEVELS: usize = 100_000;
const WIDE_ENTRIES: usize = 1_000_000;

fn chain_base() -> PathBuf {
    cached("faults-chain", "100000 levels v1\n", |b| {
        deep_chain(b, CHAIN_LEVELS)
    })
}

fn wide_base() -> PathBuf {
    cached("faults-wide", "1000000 entries v2\n", |b| {
        wide_dir(b, WIDE_ENTRIES)
    })
}

/// `du -s -x --block-size=1 DIR` and how long it took.
fn du(dir: &Path) -> (u64, Duration) {
    let t = Instant::now();
    let out = Command::new("du")
        .args(["-s", "-x", "--block-size=1"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let bytes = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    (bytes, t.elapsed())
}

/// Runs the monitor (bounded: a hang fails), returns its code, document and time.
fn monitor(run: &Run, secs: u64) -> (i32, Value, Duration) {
    let t = Instant::now();
    let (code, out, err) = common::within(&mut run.monitor(), secs);
    (code, json(&out, &err), t.elapsed())
}

/// The monitor's figure for `name` is du's, complete, and the run neither
/// aborted nor hung.
fn walked_like_du(base: &Path, name: &str, what: &str) {
    let run = Run::new(base, &[name]);
    let (code, doc, took) = monitor(&run, 600);
    let (du_bytes, du_took) = du(&base.join(name));
    eprintln!(
        "{what}: jts-hot monitor {:.2} s, du -s -x {:.2} s",
        took.as_secs_f64(),
        du_took.as_secs_f64()
    );
    assert!(code <= 2, "exit {code}: {doc}");
    let s = service(&doc, name);
    assert_eq!(s["partial"], false, "{s}");
    assert_eq!(s["allocated_bytes"], du_bytes, "{s}");
    // The history got this run's sample of the service.
    let hist = std::fs::read_to_string(run.state().join("monitor-history.json")).unwrap();
    assert!(hist.contains(name), "{hist}");
}

/// Issue 20: a chain of 10,000 directories aborted the monitor (stack
/// overflow, exit 134); 60,000 took 8.4 s (quadratic). 100,000 now: du's
/// figure, no abort.
#[test]
fn a_hundred_thousand_deep_chain_is_walked_like_du() {
    needs!(root);
    walked_like_du(&chain_base(), "kafka", "100,000-deep chain");
}

/// A directory of 1,000,000 entries (10,000 of them directories).
#[test]
fn a_million_entry_directory_is_walked_like_du() {
    needs!(root);
    walked_like_du(&wide_base(), "redis", "1,000,000-entry directory");
}

/// The unit's TimeoutStartSec= ends a run with SIGTERM: the run stops its
/// walk, writes its metrics (flagged partial) and its history, and exits.
#[test]
fn a_run_stopped_by_sigterm_still_writes_its_metrics_and_history() {
    needs!(root);
    let base = wide_base();
    let run = Run::new(&base, &["redis"]);
    std::fs::create_dir(run.textfiles()).unwrap();
    let mut child = run
        .monitor()
        .arg("--textfile-dir")
        .arg(run.textfiles())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Mid-walk: the layout's validation is done in milliseconds, the walk
    // of a million entries takes seconds.
    std::thread::sleep(Duration::from_millis(700));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::SIGTERM).unwrap();
    let stopped = Instant::now();
    let exited = wait_until(
        Instant::now() + Duration::from_secs(30),
        Duration::from_millis(20),
        || child.try_wait().unwrap().is_some(),
    );
    if !exited {
        child.kill().unwrap();
        panic!("still running 30 s after SIGTERM");
    }
    let out = child.wait_with_output().unwrap();
    eprintln!(
        "exited {:.2} s after SIGTERM",
        stopped.elapsed().as_secs_f64()
    );
    let doc = json(
        &String::from_utf8_lossy(&out.stdout),
        &String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(doc["scan"]["partial"], true, "{doc}");
    assert!(doc["notes"].to_string().contains("cut short"), "{doc}");
    let s = service(&doc, "redis");
    assert_eq!(s["partial"], true, "{s}");
    assert_ne!(s["status"], "OK", "{s}");
    let metrics =
        std::fs::read_to_string(run.textfiles().join("jts_hot.prom")).expect("metrics written");
    assert!(metrics.contains("jts_hot_scan_partial 1"), "{metrics}");
    assert!(
        metrics.contains("jts_hot_service_partial{service=\"redis\"} 1"),
        "{metrics}"
    );
    // The history was written; the partial figure is not a sample of redis.
    let hist = std::fs::read_to_string(run.state().join("monitor-history.json")).unwrap();
    assert!(hist.contains("\"fs_used\""), "{hist}");
    assert!(!hist.contains("redis"), "{hist}");
}

/// Issue 20: every generated file named the layout by its host path, the
/// --root prefix included, so one layout gave different bytes in two
/// images. Now it is named as the image sees it.
#[test]
fn generated_files_name_the_layout_as_the_image_sees_it() {
    let roots: Vec<tempfile::TempDir> = ["a", "b"]
        .iter()
        .map(|_| {
            let root = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(root.path().join("etc/jts")).unwrap();
            std::fs::write(
                root.path().join("etc/jts/hot-layout.toml"),
                common::jts_hot_default(),
            )
            .unwrap();
            root
        })
        .collect();
    let mut generated = Vec::new();
    for root in &roots {
        let (code, out, err) = common::run(
            common::jts_hot()
                .arg("apply")
                .arg("--root")
                .arg(root.path()),
        );
        assert_eq!(code, 0, "{out}{err}");
        let files: Vec<(PathBuf, Vec<u8>)> = common::files_under(root.path())
            .into_iter()
            .filter_map(|p| {
                let bytes = std::fs::read(root.path().join(&p)).ok()?;
                bytes
                    .starts_with(b"# Generated by jts-hot")
                    .then_some((p, bytes))
            })
            .collect();
        assert!(files.len() >= 5, "{files:?}");
        for (p, bytes) in &files {
            let first = String::from_utf8_lossy(bytes)
                .lines()
                .next()
                .unwrap()
                .to_string();
            assert_eq!(
                first,
                "# Generated by jts-hot from /etc/jts/hot-layout.toml.",
                "{}",
                p.display()
            );
        }
        generated.push(files);
    }
    assert_eq!(
        generated[0], generated[1],
        "one layout, the same bytes in both images"
    );
    // An explicit --config inside the image is named inside it too.
    let root = roots[0].path();
    let config = root.join("etc/jts/hot-layout.toml");
    let (code, out, err) = common::run(
        common::jts_hot()
            .arg("--config")
            .arg(&config)
            .arg("apply")
            .arg("--root")
            .arg(root),
    );
    assert_eq!(code, 0, "{out}{err}");
    let unit =
        std::fs::read_to_string(root.join("etc/systemd/system/jts-hot-monitor.service")).unwrap();
    assert!(
        unit.starts_with("# Generated by jts-hot from /etc/jts/hot-layout.toml.\n"),
        "{unit}"
    );
}

/// A small tier of its own under the test work directory.
fn small_tier(names: &[&str]) -> (tempfile::TempDir, Run) {
    let tier = tempfile::tempdir().unwrap();
    for n in names {
        std::fs::create_dir_all(tier.path().join("hot").join(n).join("data")).unwrap();
    }
    let run = Run::new(&tier.path().join("hot"), names);
    (tier, run)
}

fn history(run: &Run) -> Value {
    serde_json::from_slice(&std::fs::read(run.state().join("monitor-history.json")).unwrap())
        .unwrap()
}

/// Two runs at once on one state directory: the second waits for the
/// first's lock (here held by the test for 2 s), then records.
#[test]
fn a_second_run_waits_for_the_first_one_s_lock() {
    let (_tier, run) = small_tier(&["redis"]);
    std::fs::create_dir_all(run.state()).unwrap();
    let lock = std::fs::File::create(run.state().join("monitor.lock")).unwrap();
    let held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive).unwrap();
    let started = Instant::now();
    let mut child = run
        .monitor()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert!(child.try_wait().unwrap().is_none(), "it waits for the lock");
    assert!(!run.state().join("monitor-history.json").exists());
    drop(held);
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() >= Duration::from_secs(2));
    let doc = json(
        &String::from_utf8_lossy(&out.stdout),
        &String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(doc["history"]["samples"], 1, "{doc}");
    assert_eq!(history(&run)["samples"].as_array().unwrap().len(), 1);
}

/// A PID no process has now.
fn dead_pid() -> u32 {
    (2_000_000..4_000_000)
        .find(|p| !Path::new(&format!("/proc/{p}")).exists())
        .unwrap()
}

/// A monitor killed before its renames left temporaries in the state and
/// textfile directories: the next run removes jts-hot's own (a dead PID),
/// never another program's file or a live run's.
#[test]
fn temporaries_of_a_killed_run_are_removed_by_the_next() {
    let (_tier, run) = small_tier(&["redis"]);
    std::fs::create_dir_all(run.state()).unwrap();
    std::fs::create_dir_all(run.textfiles()).unwrap();
    let dead = dead_pid();
    let live = std::process::id();
    for dir in [run.state(), run.textfiles()] {
        for name in [
            format!(".jts-hot.monitor-history.json.{dead}.3.tmp"),
            format!(".jts-hot.jts_hot.prom.{dead}.1.tmp"),
            format!(".jts-hot.jts_hot.prom.{live}.1.tmp"),
            "other.prom.tmp".to_string(),
            format!(".jts-hotter.{dead}.1.tmp"),
        ] {
            std::fs::write(dir.join(name), "x").unwrap();
        }
    }
    let (code, out, err) = common::within(
        run.monitor().arg("--textfile-dir").arg(run.textfiles()),
        120,
    );
    assert!(code <= 2, "{out}{err}");
    for dir in [run.state(), run.textfiles()] {
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("tmp"))
            .collect();
        names.sort();
        let mut want = vec![
            format!(".jts-hot.jts_hot.prom.{live}.1.tmp"),
            format!(".jts-hotter.{dead}.1.tmp"),
            "other.prom.tmp".to_string(),
        ];
        want.sort();
        assert_eq!(names, want, "{}", dir.display());
    }
}

/// Clock steps, from outside: a history whose newest samples are a day
/// ahead of the clock (the clock went back). The first run records nothing;
/// the second confirms the clock and sets the future samples aside, kept.
#[test]
fn a_clock_behind_the_history_records_only_once_confirmed() {
    let (_tier, run) = small_tier(&["redis"]);
    std::fs::create_dir_all(run.state()).unwrap();
    let now = common::now();
    // Hourly for three days, the last day of them "in the future".
    let samples: Vec<Value> = (0..72u64)
        .map(|h| {
            let t = now + 86_400 - h * 3600;
            serde_json::json!({"t": t, "fs_used": 1000, "services": {"redis": 4096 + h}})
        })
        .collect();
    std::fs::write(
        run.state().join("monitor-history.json"),
        serde_json::json!({"version": 1, "samples": samples}).to_string(),
    )
    .unwrap();
    let (_, out, err) = common::within(&mut run.monitor(), 120);
    let doc = json(&out, &err);
    assert!(doc["notes"].to_string().contains("not recorded"), "{doc}");
    let h = history(&run);
    assert_eq!(h["samples"].as_array().unwrap().len(), 72, "{h}");
    assert_eq!(
        h["pending"].as_u64().map(|p| p.abs_diff(now) < 600),
        Some(true),
        "{h}"
    );
    let (_, out, err) = common::within(&mut run.monitor(), 120);
    let doc = json(&out, &err);
    assert!(doc["notes"].to_string().contains("set aside"), "{doc}");
    let h = history(&run);
    let kept = h["samples"].as_array().unwrap();
    let aside = h["set_aside"].as_array().unwrap();
    assert_eq!(kept.len() + aside.len(), 73, "nothing dropped: {h}");
    assert!((23..=25).contains(&aside.len()), "the day ahead: {h}");
    let later = common::now() + 60;
    assert!(
        kept.iter().all(|s| s["t"].as_u64().unwrap() <= later),
        "{h}"
    );
}

/// validate's findings of one check, from its JSON.
fn findings<'a>(doc: &'a Value, check: &str) -> Vec<&'a Value> {
    doc["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings in {doc}"))
        .iter()
        .filter(|f| f["check"] == check)
        .collect()
}

/// A full tier was silent in validate and a read-only one repeated its
/// finding once per directory: real loop-mounted ext4, filled, then
/// remounted read-only.
#[test]
fn a_full_tier_is_critical_and_a_read_only_one_is_one_finding() {
    needs!(common::loopmount::loop_tools);
    let fs = common::loopmount::LoopMount::ext4_in_tempdir("32M")
        .mount()
        .unwrap();
    let base = fs.at.join("hot");
    let names = ["kafka", "redis", "backup"];
    for n in names {
        std::fs::create_dir_all(base.join(n).join("data")).unwrap();
    }
    let run = Run::new(&base, &names);
    let validate = |run: &Run| {
        let (code, out, err) = common::within(
            Command::new(common::bin_path())
                .env_remove("JTS_HOT_CONFIG")
                .arg("--config")
                .arg(run.dir.path().join("layout.toml"))
                .args(["validate", "--format", "json"]),
            120,
        );
        (code, json(&out, &err))
    };
    let (_, doc) = validate(&run);
    assert!(
        findings(&doc, "capacity.filesystem")
            .iter()
            .all(|f| f["severity"] != "CRITICAL"),
        "{doc}"
    );
    // Filled as root: the reserved blocks too, nothing left for anyone.
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=1M", "status=none"])
        .arg(format!("of={}", fs.at.join("fill").display()))
        .status()
        .unwrap();
    let (code, doc) = validate(&run);
    let full = findings(&doc, "capacity.filesystem");
    assert!(
        full.iter()
            .any(|f| f["severity"] == "CRITICAL" && f.to_string().contains("0 bytes available")),
        "{doc}"
    );
    assert_eq!(code, 2, "{doc}");
    std::fs::remove_file(fs.at.join("fill")).unwrap();

    // Read-only: one finding for the mount, not one per directory (7 here).
    let (code, out, err) =
        common::run(Command::new("mount").args(["-o", "remount,ro"]).arg(&fs.at));
    assert_eq!(code, 0, "{out}{err}");
    let (code, doc) = validate(&run);
    let ro = findings(&doc, "dir.access");
    assert_eq!(ro.len(), 1, "{doc}");
    assert!(ro[0].to_string().contains("read-only"), "{doc}");
    assert!(
        ro[0].to_string().contains("6 more planned directories"),
        "{doc}"
    );
    assert_eq!(code, 2, "{doc}");
    let _ = Command::new("mount")
        .args(["-o", "remount,rw"])
        .arg(&fs.at)
        .status();
}

/// 5,000 services under `ulimit -n 1024` (soft and hard: nothing to raise)
/// left 3,982 of them UNKNOWN ("Too many open files"), and `--threads 64`
/// under a low limit counted a third of the files: every service measured.
#[test]
fn five_thousand_services_under_a_low_descriptor_limit_are_all_measured() {
    needs!(root, "prlimit");
    let names: Vec<String> = (0..5000).map(|i| format!("s{i:04}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let (tier, run) = small_tier(&refs);
    for n in names.iter().step_by(50) {
        std::fs::write(tier.path().join("hot").join(n).join("data/f"), [1u8; 5000]).unwrap();
    }
    let mut cmd = Command::new("prlimit");
    cmd.arg("--nofile=1024:1024")
        .arg("--")
        .arg(run.monitor().get_program())
        .args(run.monitor().get_args())
        .args(["--threads", "64"])
        .env_remove("JTS_HOT_CONFIG")
        .env_remove("JOURNAL_STREAM");
    let (code, out, err) = common::within(&mut cmd, 600);
    let doc = json(&out, &err);
    assert!(code <= 2, "{err}");
    let services = doc["services"].as_array().unwrap();
    assert_eq!(services.len(), 5000);
    for s in services {
        assert_eq!(s["partial"], false, "{s}");
        assert_ne!(s["status"], "UNKNOWN", "{s}");
    }
    let with_file = services
        .iter()
        .filter(|s| s["files"].as_u64() == Some(1))
        .count();
    assert_eq!(with_file, 100);
}
