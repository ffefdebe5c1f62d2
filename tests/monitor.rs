//! `jts-hot monitor` against real peers: GNU du on the shared synthetic tree,
//! a real loop mount, an unprivileged scan, the real node_exporter and
//! promtool, and the history file on disk.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::layout::TestLayout;
use common::loopmount::{loop_tools, LoopMount};
use common::scratch::Scratch;
use common::{cannot_run, have_tool, now, repo_root, run, service};
use serde_json::Value;

/// A scratch tier of `services` (name, planned size) with this file's layout.
fn scratch(services: &[(&str, &str)]) -> Scratch {
    let names: Vec<&str> = services.iter().map(|(name, _)| *name).collect();
    Scratch::new(&names, |base| {
        TestLayout::new(base)
            .services(services.iter().copied())
            .text()
    })
}

/// The monitor's exit code when every usage figure is OK: then the validation
/// each run includes decides it. On a test host that validation warns about
/// the host itself (generated files not installed, no noatime, a plan larger
/// than the disk), never worse: the scratch tier itself is sound.
fn usage_ok(code: i32, doc: &Value) {
    let v = &doc["validation"]["status"];
    assert!(
        v == "OK" || v == "WARNING",
        "validation of the scratch tier: {doc}"
    );
    assert_eq!(code, if v == "OK" { 0 } else { 1 }, "{doc}");
    assert_eq!(doc["status"], *v, "{doc}");
}

/// `du -s -x` of `dir` with extra flags, in bytes.
fn du(dir: &Path, flags: &[&str]) -> u64 {
    let (code, out, err) = run(Command::new("du").args(["-s", "-x"]).args(flags).arg(dir));
    assert!(code == 0 || code == 1, "du failed: {err}");
    out.split_whitespace().next().unwrap().parse().unwrap()
}

fn write_file(path: &Path, len: usize) {
    std::fs::write(path, vec![b'x'; len]).unwrap();
}

/// The synthetic tree (tests/common/mktree.rs) at SCALE 1.0 (~350k files),
/// built once under the scratch root (a tier may not lie in /tmp) and kept: building takes ~20-70 s, but
/// deleting it on a filesystem mounted with `discard` takes minutes.
/// bench/monitor.sh uses the same tree. Rebuilt when the generator changes;
/// never written to by the tests.
fn shared_tree() -> PathBuf {
    use sha2::Digest;
    let stamp = format!("{:x}\n", sha2::Sha256::digest(common::mktree::SOURCE));
    let dir = common::scratch_root().join("mktree-1.0");
    let marker = dir.join("complete");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(stamp.as_str()) {
        return dir.join("hot");
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    std::fs::create_dir_all(&dir).unwrap();
    let files = common::mktree::build(&dir.join("hot"), 1.0).unwrap();
    assert!(files > 300_000, "{files} files");
    std::fs::write(&marker, stamp).unwrap();
    dir.join("hot")
}

#[test]
fn synthetic_tree_is_deterministic() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let files = common::mktree::build(a.path(), 0.01).unwrap();
    assert!(files > 1000, "{files} files");
    assert_eq!(common::mktree::build(b.path(), 0.01).unwrap(), files);
    let out = Command::new("diff")
        .arg("-r")
        .arg(a.path())
        .arg(b.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn scale_one_tree_matches_du_exactly() {
    needs!("du");
    let names = [
        "postgresql",
        "clickhouse",
        "kafka",
        "mongodb",
        "redis",
        "docker",
        "backup",
    ];
    let services: Vec<(&str, &str)> = names.iter().map(|n| (*n, "100GB")).collect();
    let s = scratch(&services);
    let base = shared_tree();
    std::fs::write(
        s.config(),
        TestLayout::new(&base)
            .services(services.iter().copied())
            .text(),
    )
    .unwrap();

    let (code, doc) = s.json();
    // The synthetic tree has no docker/data or backup/data, which this
    // layout plans: validation says so (CRITICAL dir.exists); usage is OK.
    for name in ["docker", "backup"] {
        let missing = base.join(name).join("data");
        let found = doc["validation"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["check"] == "dir.exists" && f["path"] == missing.to_str().unwrap());
        assert!(found, "{} not reported missing: {doc}", missing.display());
    }
    assert!(code == 2 && doc["status"] == "CRITICAL", "{doc}");
    assert_eq!(doc["validation"]["status"], "CRITICAL", "{doc}");
    assert_eq!(doc["schema"], "jts-hot.monitor/1");
    assert_eq!(doc["scan"]["partial"], false);
    let mut files = 0;
    for name in names {
        let dir = base.join(name);
        let svc = service(&doc, name);
        assert_eq!(
            svc["allocated_bytes"],
            du(&dir, &["--block-size=1"]),
            "{name} allocated"
        );
        assert_eq!(svc["apparent_bytes"], du(&dir, &["-b"]), "{name} apparent");
        assert_eq!(
            svc["dirs"],
            du(&dir, &["--inodes"]) - svc["files"].as_u64().unwrap(),
            "{name} inodes"
        );
        files += svc["files"].as_u64().unwrap();
    }
    // docker's layers share hard links: 50,000 names, 45,010 distinct files.
    assert_eq!(service(&doc, "docker")["files"], 45_010);
    assert!(files > 340_000, "{files} files");
}

#[test]
fn symlinks_are_not_followed_and_mounts_not_crossed() {
    let test = needs!(loop_tools);
    let s = scratch(&[("kafka", "10MB"), ("redis", "1GB")]);
    let kafka = s.base().join("kafka");
    write_file(&kafka.join("data/segment.log"), 3_000_000);
    // redis: a symlink to kafka's big file and one to its directory.
    let redis = s.base().join("redis");
    std::os::unix::fs::symlink(kafka.join("data/segment.log"), redis.join("data/link")).unwrap();
    std::os::unix::fs::symlink(kafka.join("data"), redis.join("dirlink")).unwrap();
    // redis: another filesystem mounted inside, holding 4 MB.
    let image = s.dir.path().join("other.img");
    let target = redis.join("data/mnt");
    let _mount = match LoopMount::ext4(&image, &target, "32M").mount() {
        Ok(mount) => mount,
        Err(err) => return cannot_run(test, &format!("cannot loop-mount: {err}")),
    };
    write_file(&target.join("inside"), 4_000_000);

    let (code, doc) = s.json();
    let r = service(&doc, "redis");
    assert_eq!(r["allocated_bytes"], du(&redis, &["--block-size=1"]), "{r}");
    assert!(
        r["allocated_bytes"].as_u64().unwrap() < 100_000,
        "followed a link or crossed: {r}"
    );
    assert_eq!(r["files"], 2, "two symlinks, nothing behind them: {r}");
    // kafka is over its critical share (3 MB of 10 MB is not; make it so below).
    usage_ok(code, &doc);
    write_file(&kafka.join("data/segment2.log"), 7_000_000);
    let (code, doc) = s.json();
    assert_eq!(code, 2, "kafka at ~100% of plan is CRITICAL: {doc}");
    assert_eq!(service(&doc, "kafka")["status"], "CRITICAL");
    assert_eq!(doc["status"], "CRITICAL");
}

#[test]
fn an_unreadable_directory_is_counted_reported_and_partial() {
    needs!(root);
    // A state directory and a binary that nobody can reach (target/ may not be).
    let s = scratch(&[("mongodb", "1GB")]).for_any_user();
    let data = s.base().join("mongodb/data");
    write_file(&data.join("a.wt"), 10_000);
    let locked = data.join("locked");
    std::fs::create_dir(&locked).unwrap();
    write_file(&locked.join("secret.wt"), 50_000);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Listable but not searchable, with a name that is not UTF-8.
    use std::os::unix::ffi::OsStrExt;
    let listable = data.join(std::ffi::OsStr::from_bytes(b"list\xffonly"));
    std::fs::create_dir(&listable).unwrap();
    for i in 0..50 {
        write_file(&listable.join(format!("f{i}")), 5_000);
    }
    std::fs::set_permissions(&listable, std::fs::Permissions::from_mode(0o444)).unwrap();
    // Root reads through mode 000, so the scan runs as nobody.
    let nobody = nix::unistd::User::from_name("nobody")
        .unwrap()
        .expect("user nobody");
    let as_nobody = |cmd: &mut Command| {
        cmd.uid(nobody.uid.as_raw()).gid(nobody.gid.as_raw());
        cmd.env_remove("JOURNAL_STREAM");
        run(cmd)
    };
    let (code, out, err) = as_nobody(&mut s.monitor(&["--format", "json"]));
    let doc: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    assert_eq!(code, 1, "partial is a WARNING: {doc}");
    assert_eq!(doc["scan"]["partial"], true);
    let m = service(&doc, "mongodb");
    assert_eq!(m["partial"], true);
    assert_eq!(m["unreadable"][1], locked.to_str().unwrap());
    assert_eq!(
        m["unreadable"][0],
        // Lossless and on one line: the byte that is not UTF-8 escaped.
        format!("{}/list\\xffonly", data.display()),
        "{m}"
    );
    assert_eq!(
        m["unreadable"].as_array().unwrap().len(),
        2,
        "once per directory: {m}"
    );
    assert_eq!(
        m["dirs"], 4,
        "the unreadable directories themselves are counted: {m}"
    );
    // du as the same user counts the same (the locked dir, not its contents).
    let (_, du_out, _) = as_nobody(
        Command::new("du")
            .args(["-s", "-x", "--block-size=1"])
            .arg(s.base().join("mongodb")),
    );
    assert_eq!(
        m["allocated_bytes"].as_u64().unwrap().to_string(),
        du_out.split_whitespace().next().unwrap()
    );
    // A partial sample is not recorded for growth.
    let hist: Value =
        serde_json::from_slice(&std::fs::read(s.state().join("monitor-history.json")).unwrap())
            .unwrap();
    assert!(!hist["services"].to_string().contains("mongodb"), "{hist}");
    assert_eq!(hist["samples"].as_array().unwrap().len(), 1, "{hist}");
}

#[test]
fn vanishing_entries_do_not_break_the_scan() {
    // A writer creates and deletes files and directories during the scans.
    let s = scratch(&[("clickhouse", "1TB")]);
    let tmp = s.base().join("clickhouse/data");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let churn = {
        let (tmp, stop) = (tmp.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let d = tmp.join(format!("part{}", i % 50));
                let _ = std::fs::create_dir_all(d.join("sub"));
                let _ = std::fs::write(d.join("sub/col.bin"), b"abc");
                let _ = std::fs::remove_dir_all(tmp.join(format!("part{}", (i + 25) % 50)));
                i += 1;
            }
        })
    };
    for _ in 0..20 {
        let (code, doc) = s.json();
        usage_ok(code, &doc);
        assert_eq!(doc["scan"]["partial"], false, "{doc}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    churn.join().unwrap();
}

/// Kills the child on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut body = String::new();
    stream.read_to_string(&mut body).ok()?;
    body.starts_with("HTTP/1.0 200").then_some(body)
}

/// A device baseline as `jts-hot probe --save` leaves it for `dir`: fsync p99 900 us.
fn sample_baseline(dir: &Path) -> jts_hot::state::Baseline {
    jts_hot::state::Baseline {
        measured_unix: 1_790_000_000,
        dir: dir.to_path_buf(),
        devices: vec!["nvme0n1".into()],
        fsync_p50_us: 250.0,
        fsync_p99_us: 900.0,
        randread_p50_us: 80.0,
        randread_p99_us: 200.0,
        seq_write_bytes_per_sec: 2.0e9,
    }
}

#[test]
fn node_exporter_serves_our_series_and_promtool_accepts_them() {
    needs!("prometheus-node-exporter", "promtool");
    let s = scratch(&[("postgresql", "1GB"), ("redis", "1GB")]);
    write_file(&s.base().join("postgresql/data/16384"), 100_000);
    let textfiles = s.dir.path().join("textfile");
    std::fs::create_dir(&textfiles).unwrap();
    // A device baseline as `jts-hot probe --save` leaves it: exported as gauges.
    std::fs::create_dir_all(s.state()).unwrap();
    let baseline = sample_baseline(&s.base());
    let state = jts_hot::state::StateDir::new(s.state());
    jts_hot::state::save(&state, &baseline).unwrap();
    // A first run: the fsync canary's histogram accumulates across runs.
    let (code, first, err) = run(&mut s.monitor(&["--format", "json"]));
    assert!(code <= 1, "{err}");
    let first: serde_json::Value = serde_json::from_str(&first).unwrap();
    let canary = &first["fsync_canary"];
    assert!(canary["seconds"].as_f64().unwrap() > 0.0, "{canary}");
    assert_eq!(canary["histogram"]["count"], 1, "{canary}");
    let (code, stdout, err) = run(&mut s.monitor(&[
        "--format",
        "prometheus",
        "--textfile-dir",
        textfiles.to_str().unwrap(),
    ]));
    // The canary's own file, one 8 KiB block; the service's data untouched.
    let canary = std::fs::metadata(s.base().join(".jts-hot-fsync")).unwrap();
    assert_eq!(
        (canary.len(), canary.permissions().mode() & 0o777),
        (8192, 0o600)
    );
    assert_eq!(
        std::fs::metadata(s.base().join("postgresql/data/16384"))
            .unwrap()
            .len(),
        100_000
    );
    // 1: the host-level validation warnings (see usage_ok).
    assert!(code <= 1, "{err}");
    let prom = textfiles.join("jts_hot.prom");
    assert_eq!(std::fs::read_to_string(&prom).unwrap(), stdout);
    assert_eq!(
        std::fs::metadata(&prom).unwrap().permissions().mode() & 0o777,
        0o644
    );

    // promtool's linter on exactly what we print.
    let mut check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(stdout.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // The real node_exporter, on a free loopback port, textfile collector only.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _exporter = Killed(
        Command::new("prometheus-node-exporter")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!(
                "--collector.textfile.directory={}",
                textfiles.display()
            ))
            .args(["--collector.disable-defaults", "--collector.textfile"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let body = loop {
        if let Some(body) = http_get(port, "/metrics") {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "node_exporter never answered on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let used = du(&s.base().join("postgresql"), &["--block-size=1"]);
    for series in [
        format!("jts_hot_service_used_bytes{{service=\"postgresql\"}} {used}"),
        "jts_hot_service_planned_bytes{service=\"redis\"} 1e+09".to_string(),
        "jts_hot_service_status{service=\"postgresql\"} 0".to_string(),
        "# TYPE jts_hot_validate_status gauge".to_string(),
        "jts_hot_validate_findings{check=\"dir.access\",severity=\"critical\"} 0".to_string(),
        "jts_hot_scan_partial 0".to_string(),
        format!(
            "jts_hot_filesystem_avail_bytes{{base=\"{}\"}}",
            s.base().display()
        ),
        "# TYPE jts_hot_last_run_timestamp_seconds gauge".to_string(),
        format!(
            "jts_hot_probe_baseline_fsync_p50_seconds{{dir=\"{}\"}} 0.00025",
            s.base().display()
        ),
        format!(
            "jts_hot_probe_baseline_randread_p50_seconds{{dir=\"{}\"}} 8e-05",
            s.base().display()
        ),
        "# TYPE jts_hot_fsync_seconds histogram".to_string(),
        "jts_hot_fsync_seconds_bucket{le=\"+Inf\"} 2".to_string(),
        "jts_hot_fsync_seconds_count 2".to_string(),
    ] {
        assert!(body.contains(&series), "{series} not served:\n{body}");
    }
    assert!(body.contains("node_textfile_scrape_error 0"), "{body}");
}

#[test]
fn alert_rules_pass_promtool_check_and_unit_tests() {
    needs!("promtool");
    let dir = repo_root().join("packaging/prometheus");
    let (code, out, err) = run(Command::new("promtool")
        .args(["check", "rules", "jts-hot-alerts.yml"])
        .current_dir(&dir));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("SUCCESS"), "{out}");
    let (code, out, err) = run(Command::new("promtool")
        .args(["test", "rules", "jts-hot-alerts.test.yml"])
        .current_dir(&dir));
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn a_corrupt_history_is_survived_and_replaced() {
    let s = scratch(&[("redis", "1GB")]);
    std::fs::create_dir(s.state()).unwrap();
    let file = s.state().join("monitor-history.json");
    std::fs::write(&file, "{\"version\":1,\"samples\":[{\"t\":").unwrap();
    let (code, doc) = s.json();
    usage_ok(code, &doc);
    assert!(
        doc["notes"][0]
            .as_str()
            .unwrap()
            .contains("corrupt history"),
        "{doc}"
    );
    assert_eq!(doc["history"]["samples"], 1);
    let fresh: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(fresh["samples"].as_array().unwrap().len(), 1);
    // Saved with its schema name, and the version an earlier release needs.
    assert_eq!(fresh["schema"], "jts-hot.monitor-history/2", "{fresh}");
    assert_eq!(fresh["version"], 2, "{fresh}");
    assert!(s.state().join("monitor-history.json.corrupt").exists());
    // A state directory that cannot be written is reported, not fatal.
    let blocked = scratch(&[("redis", "1GB")]);
    std::fs::write(blocked.state(), "a file where the state dir should be").unwrap();
    let (code, doc) = blocked.json();
    usage_ok(code, &doc);
    assert!(
        doc["notes"].to_string().contains("cannot save the history"),
        "{doc}"
    );
}

/// Writes 50 days of hourly samples ending an hour ago: kafka growing by
/// `per_day` up to `used` now, the filesystem by `fs_per_day` up to `fs_used`.
fn write_history(s: &Scratch, t_now: u64, used: u64, per_day: f64, fs_used: u64, fs_per_day: f64) {
    let samples: Vec<Value> = (1..=50 * 24u64)
        .rev()
        .map(|h| {
            let days = h as f64 / 24.0;
            serde_json::json!({
                "t": t_now - h * 3600,
                "fs_used": (fs_used as f64 - fs_per_day * days).max(0.0) as u64,
                "services": {"kafka": (used as f64 - per_day * days).max(0.0) as u64},
            })
        })
        .collect();
    std::fs::write(
        s.state().join("monitor-history.json"),
        serde_json::json!({"version": 1, "samples": samples}).to_string(),
    )
    .unwrap();
}

#[test]
fn growth_comes_from_recorded_samples_and_history_stays_bounded() {
    let s = scratch(&[("kafka", "100MB"), ("redis", "1TB")]);
    write_file(&s.base().join("kafka/data/seg.log"), 60_000_000);
    let (_, first) = s.json();
    let used = service(&first, "kafka")["allocated_bytes"]
        .as_u64()
        .unwrap();
    let fs_used = first["filesystem"]["used_bytes"].as_u64().unwrap();

    // kafka grows 2.5 MB/day, the filesystem 100 MB/day (both small enough
    // to stay a straight line above zero over the 7-day window).
    let (per_day, fs_per_day) = (2.5e6, 1e8);
    let t_now = now();
    write_history(&s, t_now, used, per_day, fs_used, fs_per_day);
    let (code, out, err) = run(s
        .monitor(&["--format", "json"])
        .env("JOURNAL_STREAM", "8:1234"));
    let doc: Value = serde_json::from_str(&out).unwrap();
    let k = service(&doc, "kafka");
    let g = k["growth_bytes_per_day"].as_f64().unwrap();
    assert!((g - per_day).abs() < per_day * 0.01, "growth {g}");
    // (100 MB - ~60 MB) / 2.5 MB/day ≈ 16 days: beyond 14, so kafka stays OK.
    let days = k["days_until_plan"].as_f64().unwrap();
    assert!(
        (days - (100e6 - used as f64) / per_day).abs() < 0.5,
        "{days}"
    );
    assert_eq!(k["status"], "OK", "{k}");
    let f = &doc["filesystem"];
    let fg = f["growth_bytes_per_day"].as_f64().unwrap();
    // Other writers share this filesystem: allow them a little.
    assert!((fg - fs_per_day).abs() < fs_per_day * 0.1, "fs growth {fg}");
    let full = f["avail_bytes"].as_f64().unwrap() / fg;
    assert!(
        (f["days_until_full"].as_f64().unwrap() - full).abs() < 0.01 * full,
        "{f}"
    );
    // redis has no recorded samples: no growth is invented.
    assert!(service(&doc, "redis")["growth_bytes_per_day"].is_null());
    usage_ok(code, &doc);
    // Under systemd the summary goes to the journal at the worst priority.
    let worst = ["<6>jts-hot monitor: OK", "<4>jts-hot monitor: WARNING"][code as usize];
    assert!(err.starts_with(worst), "{err}");

    // Bounded: 50 days of hourly samples, the newest 288 as measured, the
    // hours before merged into days (none dropped: the weights add up).
    let hist: Value =
        serde_json::from_slice(&std::fs::read(s.state().join("monitor-history.json")).unwrap())
            .unwrap();
    assert_eq!(hist["schema"], "jts-hot.monitor-history/2", "{hist}");
    let kept = hist["samples"].as_array().unwrap();
    assert!(kept.len() <= 288 + 168 + 50, "{} samples", kept.len());
    let runs: u64 = kept.iter().map(|x| x["w"].as_u64().unwrap_or(1)).sum();
    assert_eq!(runs, 50 * 24 + 1, "every run counted once");
    assert!(kept
        .windows(2)
        .all(|w| w[0]["t"].as_u64() < w[1]["t"].as_u64()));

    // At 5 MB/day kafka reaches its plan in ~8 days: a WARNING.
    write_history(&s, t_now, used, 2.0 * per_day, fs_used, fs_per_day);
    let (code, out, err) = run(s
        .monitor(&["--format", "json"])
        .env("JOURNAL_STREAM", "8:1234"));
    let doc: Value = serde_json::from_str(&out).unwrap();
    let k = service(&doc, "kafka");
    assert_eq!(k["status"], "WARNING", "{k}");
    assert!(
        k["reasons"]
            .to_string()
            .contains("projected to reach its plan"),
        "{k}"
    );
    assert_eq!(code, 1);
    assert!(err.starts_with("<4>jts-hot monitor: WARNING"), "{err}");
}

/// The forecast of an injected history whose answer is known (schema 2, as
/// compaction leaves it): kafka on 10 MB a day over the 7-day window, off the
/// line by d·(1,-1,0,0,0,-1,1) on days -6..0 (this run's own sample is day
/// 0), residuals orthogonal to time, so the slope is exactly 10 MB/d and its
/// standard error d/sqrt(35); with Student's t for 5 degrees of freedom
/// (2.571) the days to plan are known in closed form. A merged sample 20
/// days back, far off the line, lies outside the window. redis is flat,
/// mongodb has one sample (too few): neither gets a figure, and the text
/// says why, ranked after kafka.
#[test]
fn forecast_of_an_injected_history_has_its_known_bounds() {
    const DAY: u64 = 86_400;
    let s = scratch(&[("kafka", "1GB"), ("redis", "1TB"), ("mongodb", "1TB")]);
    write_file(&s.base().join("kafka/data/seg.log"), 60_000_000);
    write_file(&s.base().join("redis/data/dump.rdb"), 1_000_000);
    let (_, first) = s.json();
    let used = service(&first, "kafka")["allocated_bytes"]
        .as_u64()
        .unwrap() as f64;
    let redis = service(&first, "redis")["allocated_bytes"]
        .as_u64()
        .unwrap();
    let (g, d) = (10e6, 5e6);
    let r = [1.0, -1.0, 0.0, 0.0, 0.0, -1.0];
    let t_now = now();
    let mut samples = vec![serde_json::json!({
        "t": t_now - 20 * DAY, "w": 24, "bytes": [1, redis, null]
    })];
    for (i, ri) in r.iter().enumerate() {
        let x = i as f64 - 6.0;
        // Day 0 (this run) is off the line by +d: the line passes used - d.
        let kafka = used - d + g * x + d * ri;
        let mongodb = (i == 5).then_some(5_000_000u64);
        samples.push(serde_json::json!({
            "t": t_now - (6 - i as u64) * DAY,
            "bytes": [kafka as u64, redis, mongodb],
        }));
    }
    std::fs::write(
        s.history(),
        serde_json::json!({
            "schema": "jts-hot.monitor-history/2", "version": 2,
            "services": ["kafka", "redis", "mongodb"], "samples": samples,
        })
        .to_string(),
    )
    .unwrap();
    let (_, out, err) = run(&mut s.monitor(&["--format", "json"]));
    let doc: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    let k = &service(&doc, "kafka")["forecast"];
    assert_eq!(k["trend"], "growing", "{k}");
    assert_eq!(
        k["samples"], 7,
        "the merged sample 20 days back is outside: {k}"
    );
    assert_eq!(k["window_seconds"], 7 * DAY);
    let margin = 2.571 * d / 35f64.sqrt();
    let remaining = 1e9 - used;
    let near = |v: &Value, want: f64| {
        let got = v.as_f64().unwrap_or_else(|| panic!("no figure: {k}"));
        assert!((got - want).abs() < 0.005 * want, "{got} vs {want}: {k}");
    };
    near(&k["growth_bytes_per_day"]["likely"], g);
    near(&k["growth_bytes_per_day"]["low"], g - margin);
    near(&k["days_to_plan"]["low"], remaining / (g + margin));
    near(&k["days_to_plan"]["likely"], remaining / g);
    near(&k["days_to_plan"]["high"], remaining / (g - margin));
    let avail = doc["filesystem"]["avail_bytes"].as_f64().unwrap();
    near(&k["days_to_full"]["likely"], avail / g);
    for (name, trend) in [("redis", "flat"), ("mongodb", "too_few_samples")] {
        let f = &service(&doc, name)["forecast"];
        assert_eq!(f["trend"], trend, "{name}: {f}");
        for b in ["low", "likely", "high"] {
            assert!(f["days_to_plan"][b].is_null(), "{name}: {f}");
        }
    }

    // The metrics carry the bounds, the text ranks them most urgent first.
    let (_, prom, _) = run(&mut s.monitor(&["--format", "prometheus"]));
    let low = prom
        .lines()
        .find(|l| l.starts_with("jts_hot_service_days_to_plan{service=\"kafka\",bound=\"low\"}"))
        .unwrap_or_else(|| panic!("{prom}"));
    let v: f64 = low.rsplit(' ').next().unwrap().parse().unwrap();
    assert!((v - remaining / (g + margin)).abs() < 0.01 * v, "{low}");
    assert!(
        !prom.contains("jts_hot_service_days_to_plan{service=\"redis\""),
        "{prom}"
    );
    let (_, text, _) = run(&mut s.monitor(&["--format", "text"]));
    let at = |needle: &str| {
        text.lines()
            .position(|l| l.starts_with(needle))
            .unwrap_or_else(|| panic!("no line {needle:?} in\n{text}"))
    };
    let head = at("FORECAST over 7d, most urgent first");
    let kafka = at("kafka        plan in ");
    let redis = at("redis        no forecast: flat");
    // (The first run recorded its sample: mongodb now has three, shrinking.)
    let mongodb = at("mongodb      no forecast: ");
    assert!(head < kafka && kafka < redis && kafka < mongodb, "{text}");
    println!(
        "{}",
        text.lines()
            .skip(head)
            .take(5)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// What grows inside a service, on the synthetic tree (mktree at a small
/// scale): the largest first- and second-level subdirectories of each walked
/// service, each exactly what `du -s -x` says of it; then one topic's worth of
/// files is added to Kafka (a new topic, and a segment to the largest
/// partition): the new topic leads level 2, and the growth since the previous
/// walk is what was written. The metrics carry the same, top N only.
#[test]
fn the_largest_subdirectories_and_their_growth_on_the_synthetic_tree() {
    needs!("du");
    let names = ["postgresql", "clickhouse", "kafka", "mongodb", "redis"];
    let services: Vec<(&str, &str)> = names.iter().map(|n| (*n, "100GB")).collect();
    let s = scratch(&services);
    common::mktree::build(&s.base(), 0.05).unwrap();
    let (_, doc) = s.json();
    let top = |doc: &Value, name: &str| -> Vec<Value> {
        service(doc, name)["subdirs"]["largest"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: {doc}"))
            .clone()
    };
    let bytes = |d: &Value| d["bytes"].as_u64().unwrap();
    for name in names {
        let largest = top(&doc, name);
        assert!(!largest.is_empty(), "{name}");
        for level in [1, 2] {
            let of: Vec<&Value> = largest.iter().filter(|d| d["level"] == level).collect();
            assert!(of.len() <= 5, "{name}: {of:?}");
            assert!(of.windows(2).all(|w| bytes(w[0]) >= bytes(w[1])), "{of:?}");
        }
        for d in &largest {
            let path = s.base().join(name).join(d["path"].as_str().unwrap());
            assert_eq!(
                bytes(d),
                du(&path, &["--block-size=1"]),
                "{}",
                path.display()
            );
            assert!(d["growth_bytes"].is_null(), "the first walk: {d}");
        }
    }

    // One topic's worth: a new topic of 8 segments, and a segment more in
    // the largest partition.
    let kafka = s.base().join("kafka");
    let before = top(&doc, "kafka");
    let biggest = before.iter().find(|d| d["level"] == 2).unwrap()["path"]
        .as_str()
        .unwrap()
        .to_string();
    let topic = kafka.join("data/orders-0");
    std::fs::create_dir(&topic).unwrap();
    for i in 0..8 {
        write_file(&topic.join(format!("{:020}.log", i * 1000)), 4_000_000);
    }
    let grown_by = {
        let p = kafka.join(&biggest);
        let was = du(&p, &["--block-size=1"]);
        write_file(&p.join("99999999999999999999.log"), 3_000_000);
        du(&p, &["--block-size=1"]) - was
    };
    let (_, after_doc) = s.json();
    let after = top(&after_doc, "kafka");
    let level2: Vec<&Value> = after.iter().filter(|d| d["level"] == 2).collect();
    assert_eq!(level2[0]["path"], "data/orders-0", "{after:?}");
    assert_eq!(bytes(level2[0]), du(&topic, &["--block-size=1"]));
    let grown = level2
        .iter()
        .find(|d| d["path"] == biggest.as_str())
        .unwrap_or_else(|| panic!("{biggest} left the top: {after:?}"));
    assert_eq!(
        grown["growth_bytes"].as_i64().unwrap(),
        grown_by as i64,
        "{grown}"
    );
    let data = after.iter().find(|d| d["path"] == "data").unwrap();
    let data_before = before.iter().find(|d| d["path"] == "data").unwrap();
    assert_eq!(
        data["growth_bytes"].as_i64().unwrap(),
        bytes(data) as i64 - bytes(data_before) as i64
    );
    assert!(bytes(data) - bytes(data_before) >= 32_000_000 + grown_by);
    let since = service(&after_doc, "kafka")["subdirs"]["since"].as_u64();
    assert_eq!(
        since,
        doc["timestamp"].as_u64(),
        "growth counts from the first walk"
    );

    let (_, prom, _) = run(&mut s.monitor(&["--format", "prometheus"]));
    let series: Vec<&str> = prom
        .lines()
        .filter(|l| l.starts_with("jts_hot_subdir_bytes{service=\"kafka\""))
        .collect();
    assert!(series.len() <= 10, "top N of each level only: {series:?}");
    assert!(
        series.iter().any(
            |l| l.starts_with("jts_hot_subdir_bytes{service=\"kafka\",path=\"data/orders-0\"}")
        ),
        "{series:?}"
    );
    let (_, text, _) = run(s.monitor(&["--format", "text"]).env("COLUMNS", "200"));
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("largest: data") && l.contains("orders-0"))
        .unwrap_or_else(|| panic!("{text}"));
    println!("{line}");
}

#[test]
fn text_output_is_a_table_with_a_summary() {
    let s = scratch(&[("postgresql", "800GB"), ("docker", "500GB")]);
    write_file(&s.base().join("docker/data/layer"), 1_500_000);
    let (code, out, err) = run(&mut s.monitor(&[]));
    assert!(code <= 1, "usage OK, validation at worst WARNING: {err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("SERVICE")
            && lines[0].contains("USE OF PLAN")
            && lines[0].contains("STATUS"),
        "{out}"
    );
    // Each service: its bar line, its trend line, then its largest
    // subdirectories (tests/terminal.rs checks the picture itself in a real
    // terminal).
    assert!(
        lines[1].starts_with("postgresql") && lines[1].ends_with("OK"),
        "{out}"
    );
    assert!(lines[3].trim_start().starts_with("largest: data"), "{out}");
    assert!(
        lines[4].starts_with("docker") && lines[4].contains(" MB / 500 GB"),
        "{out}"
    );
    assert!(out.contains("\nFILESYSTEM "), "{out}");
    // Not a terminal: no color.
    assert!(!out.contains('\x1b'), "{out}");
    assert!(
        lines.iter().any(|l| l.starts_with(
            [
                "jts-hot monitor: OK: 2 services",
                "jts-hot monitor: WARNING: 2 services"
            ][code as usize]
        )),
        "{out}"
    );
}

/// The fsync canary has its line in the text report: this run's latency,
/// the p99 of every run, the probe baseline's and the drift verdict, from
/// the histogram and baseline the run really reads from its state directory.
#[test]
fn the_text_report_has_the_fsync_canarys_line() {
    use jts_hot::monitor::canary::{Histogram, BOUNDS};
    use jts_hot::state::{self, StateDir};
    let s = scratch(&[("postgresql", "1GB")]);
    let canary_line = |s: &Scratch| {
        let (code, out, err) = run(&mut s.monitor(&[]));
        assert!(code <= 1, "{err}");
        // Wrapped at 80 columns, its continuation lines indented by 6.
        let mut lines = out.lines().skip_while(|l| !l.starts_with("fsync canary: "));
        let first = lines
            .next()
            .unwrap_or_else(|| panic!("no canary line in\n{out}"));
        let rest = lines.take_while(|l| l.starts_with("      ")).map(str::trim);
        std::iter::once(first)
            .chain(rest)
            .collect::<Vec<_>>()
            .join(" ")
    };
    // No baseline yet: the latency, not judged.
    let first = canary_line(&s);
    assert!(first.starts_with("fsync canary: this run "), "{first}");
    assert!(first.contains("over 1 run(s) since "), "{first}");
    assert!(
        first.ends_with("no probe baseline (jts-hot probe --save): no-baseline (not judged)"),
        "{first}"
    );
    let state = StateDir::new(s.state());
    let base = s.base().canonicalize().unwrap();
    let baseline = sample_baseline;
    // 200 earlier runs all in one bucket: this run's one cannot move the p99 out of it.
    let history = |bucket: usize| {
        let mut counts = vec![0; BOUNDS.len() + 1];
        counts[bucket] = 200;
        Histogram {
            bounds: BOUNDS.to_vec(),
            counts,
            sum_seconds: 200.0 * BOUNDS[bucket],
            count: 200,
            since_unix: 1_790_000_000,
        }
    };
    state::save(&state, &baseline(&base)).unwrap();
    // Runs of 250-500 ms against a 900 us baseline: drifted.
    state::save(&state, &history(11)).unwrap();
    let slow = canary_line(&s);
    assert!(
        slow.contains("over 201 run(s) since 2026-09-21T")
            && slow.contains("probe baseline p99 900.0 us: drifted (DRIFTED beyond 2x"),
        "{slow}"
    );
    // Runs under 100 us: within.
    state::save(&state, &history(0)).unwrap();
    let fast = canary_line(&s);
    assert!(
        fast.contains("; p99 99.")
            && fast.contains("probe baseline p99 900.0 us: within (within 2x"),
        "{fast}"
    );
    // JSON carries the same verdict.
    let (_, doc, _) = run(&mut s.monitor(&["--format", "json"]));
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doc["fsync_canary"]["drift"], "within", "{doc}");
    assert!(doc["fsync_canary"]["p99_seconds"].as_f64().unwrap() <= 0.0001);
    // A baseline of another directory is another device's: not compared.
    state::save(&state, &baseline(Path::new("/tmp"))).unwrap();
    state::save(&state, &history(11)).unwrap();
    let elsewhere = canary_line(&s);
    assert!(
        elsewhere.ends_with(
            "the probe baseline is of /tmp, not the tier's base: baseline-elsewhere (not judged)"
        ),
        "{elsewhere}"
    );
}

/// `jts-hot monitor | head -1`: a reader that went away is a quiet end,
/// not a panic, in every format (and under the journal, whose summary goes
/// to stderr).
#[test]
fn a_closed_stdout_is_a_quiet_end() {
    let s = scratch(&[("redis", "1GB")]);
    for format in ["text", "json", "prometheus"] {
        let (reader, writer) = std::io::pipe().unwrap();
        // Closed before the monitor writes a byte: every write is EPIPE.
        drop(reader);
        let out = s
            .monitor(&["--format", format])
            .env("JOURNAL_STREAM", "8:1234")
            .stdout(Stdio::from(writer))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{format}: {err}");
        let code = out.status.code().unwrap();
        assert!(code <= 3, "{format}: exit {code}: {err}");
        assert!(err.contains("jts-hot monitor: "), "{format}: {err}");
    }
}

/// The sandbox of jts-hot-monitor.service: systemd's RestrictSUIDSGID=
/// makes openat2(2) fail with ENOSYS (its flags cannot be filtered). The
/// history and the textfile must still be written. The same seccomp rule,
/// applied to this one child process.
#[test]
fn a_sandbox_without_openat2_still_saves_history_and_textfile() {
    let s = scratch(&[("redis", "1GB")]);
    let textfiles = s.dir.path().join("textfile");
    std::fs::create_dir(&textfiles).unwrap();
    let mut cmd = s.monitor(&["--format", "json", "--textfile-dir"]);
    cmd.arg(&textfiles);
    // SAFETY: only prctl(2) between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            const OPENAT2: u32 = 437;
            let filter = [
                // Load the syscall number; openat2 → ENOSYS, the rest allowed.
                libc::sock_filter {
                    code: 0x20,
                    jt: 0,
                    jf: 0,
                    k: 0,
                },
                libc::sock_filter {
                    code: 0x15,
                    jt: 0,
                    jf: 1,
                    k: OPENAT2,
                },
                libc::sock_filter {
                    code: 0x06,
                    jt: 0,
                    jf: 0,
                    k: 0x0005_0000 | libc::ENOSYS as u32,
                },
                libc::sock_filter {
                    code: 0x06,
                    jt: 0,
                    jf: 0,
                    k: 0x7fff_0000,
                },
            ];
            let prog = libc::sock_fprog {
                len: filter.len() as u16,
                filter: filter.as_ptr() as *mut libc::sock_filter,
            };
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                || libc::prctl(libc::PR_SET_SECCOMP, 2, &prog as *const libc::sock_fprog) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let (code, out, err) = run(&mut cmd);
    let doc: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    usage_ok(code, &doc);
    assert!(!doc["notes"].to_string().contains("cannot"), "{doc}");
    assert!(textfiles.join("jts_hot.prom").exists(), "{doc}");
    let hist: Value = serde_json::from_slice(&std::fs::read(s.history()).unwrap()).unwrap();
    assert_eq!(hist["samples"].as_array().unwrap().len(), 1, "{hist}");
}

#[test]
fn a_missing_base_is_unknown() {
    let s = scratch(&[("redis", "1GB")]);
    std::fs::remove_dir_all(s.base()).unwrap();
    let (code, doc) = s.json();
    assert_eq!(code, 3, "{doc}");
    assert_eq!(doc["status"], "UNKNOWN");
    assert!(doc["filesystem"].is_null());
    assert_eq!(service(&doc, "redis")["status"], "UNKNOWN");
}

/// Every run re-validates: a directory's mode changed since the last run is
/// in the run's status, JSON, text and metrics (the contract series
/// jts_hot_validate_status and jts_hot_validate_findings), and gone once fixed.
#[test]
fn drift_since_boot_is_in_every_run() {
    let s = scratch(&[("kafka", "1GB"), ("redis", "1GB")]);
    let data = s.base().join("kafka/data");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();

    let (code, doc) = s.json();
    assert_eq!(code, 2, "{doc}");
    assert_eq!(doc["status"], "CRITICAL");
    assert_eq!(doc["validation"]["status"], "CRITICAL");
    let f = &doc["validation"]["findings"][0];
    assert_eq!(f["check"], "dir.mode", "{doc}");
    assert_eq!(f["path"], data.to_str().unwrap());
    assert_eq!(
        (&f["actual"], &f["expected"]),
        (&"0700".into(), &"0755".into())
    );
    // Usage itself is fine: the status is the validation's.
    assert_eq!(service(&doc, "kafka")["status"], "OK");

    let (_, text, err) = run(&mut s.monitor(&[]));
    // The text wraps at 80 columns, and the scratch path's length depends on
    // where the checkout is ($TMPDIR, .cargo/config.toml): compare words.
    let words = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words(&text).contains(&format!("CRITICAL dir.mode {}: 0700", data.display())),
        "{text}"
    );
    let summary = text.rsplit_once("jts-hot monitor:").map_or("", |(_, s)| s);
    assert!(
        words(summary).contains(&format!("validation CRITICAL: dir.mode {}", data.display())),
        "{text}{err}"
    );

    let (code, prom, err) = run(&mut s.monitor(&["--format", "prometheus"]));
    assert_eq!(code, 2, "{err}");
    for series in [
        "jts_hot_validate_status 2",
        "jts_hot_validate_findings{check=\"dir.mode\",severity=\"critical\"} 1",
        "jts_hot_validate_findings{check=\"dir.mode\",severity=\"warning\"} 0",
        "jts_hot_validate_findings{check=\"dir.exists\",severity=\"critical\"} 0",
        "jts_hot_status 2",
    ] {
        assert!(prom.lines().any(|l| l == series), "no {series} in:\n{prom}");
    }
    if have_tool(test_name!(), "promtool") {
        let mut child = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(prom.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, doc) = s.json();
    usage_ok(code, &doc);
    let (_, prom, _) = run(&mut s.monitor(&["--format", "prometheus"]));
    assert!(prom.contains("jts_hot_validate_findings{check=\"dir.mode\",severity=\"critical\"} 0"));
}

/// `--format nagios`: the status line first, perfdata per service (used
/// against the plan, thresholds the warning and critical sizes) and for the
/// filesystem, then one line per service; the exit code is the status's.
#[test]
fn nagios_format_has_the_status_first_and_perfdata_per_service() {
    let s = scratch(&[("postgresql", "10MB"), ("redis", "1GB")]);
    write_file(&s.base().join("postgresql/data/wal"), 9_000_000);
    let (code, out, err) = run(&mut s.monitor(&["--format", "nagios"]));
    let (status, perf) = common::check_nagios(code, &out);
    assert!(
        status == "WARNING" && out.starts_with("JTS-HOT WARNING - monitor: 2 services use "),
        "90% of plan is WARNING (validation at worst WARNING too): {out}{err}"
    );
    assert!(
        out.lines().next().unwrap().contains("postgresql WARNING"),
        "{out}"
    );
    let labels: Vec<&str> = perf.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        labels,
        ["postgresql", "redis", "filesystem", "findings", "scan"]
    );
    let pg: Vec<&str> = perf[0].1.split(';').collect();
    let used: u64 = pg[0].strip_suffix('B').unwrap().parse().unwrap();
    assert!((9_000_000..9_100_000).contains(&used), "{}", perf[0].1);
    assert_eq!(pg[1..], ["8000000", "9500000", "0", "10000000"]);
    assert!(
        perf[1].1.ends_with(";800000000;950000000;0;1000000000"),
        "{}",
        perf[1].1
    );
    let details: Vec<&str> = out.lines().skip(1).collect();
    assert!(
        details[0].starts_with("postgresql WARNING: 90% of plan"),
        "{out}"
    );
    assert!(details[1].starts_with("redis OK: 0% of plan"), "{out}");
    assert!(details[2].starts_with("filesystem "), "{out}");
}

/// Under systemd (JOURNAL_STREAM set) a run writes one whole line per thing
/// that is not OK, at its own priority, and the summary on stderr: a handful
/// of lines, not the picture (which `--format text` still gives).
#[test]
fn under_systemd_a_run_writes_a_handful_of_whole_lines() {
    let s = scratch(&[("postgresql", "10MB"), ("redis", "1GB"), ("kafka", "1GB")]);
    write_file(&s.base().join("postgresql/data/wal"), 9_000_000);
    let (code, out, err) = run(s.monitor(&[]).env("JOURNAL_STREAM", "8:1234"));
    let (_, doc) = s.json();
    let findings = doc["validation"]["findings"].as_array().unwrap().len();
    assert!(code == 1, "90% of plan is WARNING: {out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    // postgresql, and each finding of the run's validation (the test host's).
    assert_eq!(lines.len(), 1 + findings, "{out}");
    assert!(
        lines[0].starts_with("<4>WARNING service postgresql: ")
            && lines[0].contains("(90% of plan): 90.")
            && lines[0].contains("(warning at 80%)"),
        "{out}"
    );
    for l in &lines {
        let status = l.get(3..).unwrap_or("");
        assert!(
            ["OK ", "WARNING ", "CRITICAL ", "UNKNOWN "]
                .iter()
                .any(|w| status.starts_with(w)),
            "a line that is not a whole finding: {l:?}\n{out}"
        );
    }
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("<4>jts-hot monitor: WARNING: 3 services"),
        "{err}"
    );
    // The picture is still there when asked for.
    let (_, text, _) = run(s
        .monitor(&["--format", "text"])
        .env("JOURNAL_STREAM", "8:1234"));
    assert!(text.lines().count() > lines.len() + 6, "{text}");
    assert!(text.contains("<6>SERVICE "), "{text}");
}
