//! `jts-hot probe` run for real: its temporary file, its bounds, its refusal
//! on a nearly full filesystem, what it reads from sysfs for a loop device,
//! its JSON and its comparison with a saved baseline.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::loopmount::{loop_tools, LoopMount};
use common::{files_under, jts_hot, run};
use serde_json::Value;

const MIB: u64 = 1 << 20;

/// `jts-hot probe` on `dir`, JSON out, a state directory of its own.
fn probe(dir: &Path, state: &Path, extra: &[&str]) -> Command {
    let mut cmd = jts_hot();
    cmd.args(["--default-layout", "probe", "--format", "json", "--dir"])
        .arg(dir)
        .arg("--state-dir")
        .arg(state)
        .args(extra);
    cmd
}

/// The default layout with its tier's base at `base`, written into `dir`:
/// its services' figures are then those of `base`'s filesystem.
fn layout_at(dir: &Path, base: &Path) -> PathBuf {
    let (code, default, err) = run(jts_hot().args(["config", "default"]));
    assert_eq!(code, 0, "{err}");
    let layout = default.replace(
        "base = \"/data/jts/hot\"",
        &format!("base = {:?}", base.to_str().unwrap()),
    );
    assert_ne!(layout, default, "no base in the default layout");
    let file = dir.join("layout.toml");
    std::fs::write(&file, layout).unwrap();
    file
}

/// `probe` of `dir` under the layout in `config`.
fn probe_with(config: &Path, dir: &Path, state: &Path, extra: &[&str]) -> Command {
    let mut cmd = jts_hot();
    cmd.arg("--config")
        .arg(config)
        .args(["probe", "--format", "json", "--dir"])
        .arg(dir)
        .arg("--state-dir")
        .arg(state)
        .args(extra);
    cmd
}

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

fn kinds(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_normal_run_reports_the_schema_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let (code, out, err) = run(&mut probe(
        dir.path(),
        state.path(),
        &["--size", "4MiB", "--time", "1s"],
    ));
    let r = json_of(&out);
    assert!(matches!(code, 0 | 1), "exit {code}: {err}\n{out}");
    assert_eq!(files_under(dir.path()), Vec::<PathBuf>::new());

    // The documented schema (README, "## jts-hot probe").
    assert_eq!(r["schema"], "jts-hot.probe/1");
    assert!(["OK", "WARNING"].contains(&r["status"].as_str().unwrap()));
    assert_eq!(code, if r["status"] == "OK" { 0 } else { 1 });
    assert_eq!(r["dir"], dir.path().to_str().unwrap());
    assert_eq!(r["size_bytes"], 4 * MIB);
    assert_eq!(r["duration_seconds"], 1.0);
    assert_eq!(r["regression_factor"], 2.0);
    let mount = &r["identity"]["mount"];
    for key in ["major", "minor"] {
        assert!(mount[key].is_u64(), "{key}: {mount}");
    }
    for key in ["fstype", "source", "mount_point"] {
        assert!(mount[key].is_string(), "{key}: {mount}");
    }
    assert!(mount["options"].is_array() && mount["super_options"].is_array());
    for d in r["identity"]["devices"].as_array().unwrap() {
        for key in ["name", "sysfs", "transport"] {
            assert!(d[key].is_string(), "{key}: {d}");
        }
        assert!(d["rotational"].is_boolean(), "{d}");
        for key in [
            "logical_block_size",
            "physical_block_size",
            "discard_max_bytes",
            "discard_granularity",
        ] {
            assert!(d[key].is_u64(), "{key}: {d}");
        }
    }
    let m = &r["measurements"];
    assert!(m["file_bytes"].as_u64().unwrap() <= 4 * MIB);
    for (phase, block) in [("fsync", 8192), ("rand_read", 4096)] {
        let p = &m[phase];
        assert_eq!(p["block_bytes"], block, "{phase}");
        assert!(p["ops"].as_u64().unwrap() >= 1, "{phase}: {p}");
        let (p50, p99, max) = (
            p["p50_us"].as_f64().unwrap(),
            p["p99_us"].as_f64().unwrap(),
            p["max_us"].as_f64().unwrap(),
        );
        assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{phase}: {p}");
        assert!(p["ops_per_sec"].as_f64().unwrap() > 0.0, "{phase}: {p}");
    }
    assert_eq!(m["seq_write"]["block_bytes"], MIB);
    assert!(m["seq_write"]["bytes_per_sec"].as_f64().unwrap() > 0.0);
    assert!(r["baseline"].is_null() && r["saved_to"].is_null());
    for f in r["findings"].as_array().unwrap() {
        assert!(f["status"].is_string() && f["kind"].is_string() && f["message"].is_string());
    }
}

#[test]
fn size_and_time_bounds_hold() {
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    // Watch the directory while the probe runs: the largest file ever seen.
    let done = Arc::new(AtomicBool::new(false));
    let largest = Arc::new(AtomicU64::new(0));
    let watcher = {
        let (dir, done, largest) = (dir.path().to_path_buf(), done.clone(), largest.clone());
        std::thread::spawn(move || {
            let mut seen_file = false;
            while !done.load(Ordering::Relaxed) {
                for e in std::fs::read_dir(&dir).unwrap().flatten() {
                    if let Ok(meta) = e.metadata() {
                        seen_file = true;
                        largest.fetch_max(meta.len(), Ordering::Relaxed);
                    }
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            seen_file
        })
    };
    let started = Instant::now();
    let (code, out, err) = run(&mut probe(
        dir.path(),
        state.path(),
        &["--size", "3MiB", "--time", "1s"],
    ));
    let wall = started.elapsed();
    done.store(true, Ordering::Relaxed);
    assert!(
        watcher.join().unwrap(),
        "the watcher never saw the probe's file"
    );
    assert!(matches!(code, 0 | 1), "exit {code}: {err}\n{out}");
    let m = &json_of(&out)["measurements"];

    assert!(largest.load(Ordering::Relaxed) <= 3 * MIB);
    assert_eq!(
        m["file_bytes"],
        3 * MIB,
        "3 MiB is written well within the time"
    );
    assert_eq!(m["seq_write"]["bytes"], 3 * MIB);
    let phases: f64 = ["fsync", "rand_read", "seq_write"]
        .iter()
        .map(|p| m[p]["seconds"].as_f64().unwrap())
        .sum();
    // The last operation of a phase may end past its deadline: one slow fsync's worth.
    assert!(phases <= 1.5, "phases took {phases} s");
    assert!(wall < Duration::from_secs(5), "the run took {wall:?}");
    assert_eq!(files_under(dir.path()), Vec::<PathBuf>::new());
}

/// Starts a long probe, signals it once its file exists, checks it cleans up.
fn signal_mid_run(signal: nix::sys::signal::Signal) {
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut child = probe(
        dir.path(),
        state.path(),
        &["--size", "16MiB", "--time", "60s"],
    )
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let appeared = Instant::now();
    while files_under(dir.path()).is_empty() {
        assert!(
            appeared.elapsed() < Duration::from_secs(20),
            "the probe never created its file"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(300));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, signal).unwrap();
    let signalled = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if signalled.elapsed() > Duration::from_secs(10) {
            child.kill().unwrap();
            panic!("the probe did not stop within 10 s of {signal}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = std::io::read_to_string(child.stdout.take().unwrap()).unwrap();
    assert_eq!(status.code(), Some(3), "{out}");
    let r = json_of(&out);
    assert_eq!(r["status"], "UNKNOWN");
    assert!(kinds(&r).contains(&"interrupted".to_string()), "{out}");
    assert!(r["measurements"].is_null());
    assert_eq!(files_under(dir.path()), Vec::<PathBuf>::new());
}

#[test]
fn sigterm_mid_run_removes_the_file() {
    signal_mid_run(nix::sys::signal::Signal::SIGTERM);
}

#[test]
fn sigint_mid_run_removes_the_file() {
    signal_mid_run(nix::sys::signal::Signal::SIGINT);
}

/// A loop device (`losetup_args`: its sector size...) with a fresh ext4
/// mounted on it, in a temporary directory.
fn loop_mount(size: &str, losetup_args: &[&str]) -> LoopMount {
    LoopMount::ext4_in_tempdir(size)
        .losetup_args(losetup_args)
        .mount()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn free_blocks(dir: &Path) -> u64 {
    nix::sys::statvfs::statvfs(dir).unwrap().blocks_free() as u64
}

#[test]
fn a_nearly_full_filesystem_is_refused_before_anything_is_written() {
    needs!(loop_tools);
    // 64 MiB of filesystem: far less free than --size plus the 1 GiB margin.
    let lm = loop_mount("64M", &[]);
    let state = tempfile::tempdir().unwrap();
    let before = files_under(&lm.mnt());
    let (free_before, mtime_before) = (free_blocks(&lm.mnt()), mtime(&lm.mnt()));
    let (code, out, _) = run(&mut probe(&lm.mnt(), state.path(), &["--size", "8MiB"]));
    assert_eq!(code, 3, "{out}");
    let r = json_of(&out);
    assert_eq!(r["status"], "UNKNOWN");
    assert!(kinds(&r).contains(&"no-space".to_string()), "{out}");
    assert!(r["measurements"].is_null());
    assert_eq!(files_under(&lm.mnt()), before);
    assert_eq!(free_blocks(&lm.mnt()), free_before);
    // No file was even created: the directory was never modified.
    assert_eq!(mtime(&lm.mnt()), mtime_before);
}

fn mtime(p: &Path) -> std::time::SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

fn sysfs(device: &str, attr: &str) -> String {
    std::fs::read_to_string(format!("/sys/block/{device}/{attr}"))
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn identity_of_a_loop_device_is_what_sysfs_says() {
    needs!(loop_tools);
    // 4096-byte logical sectors, so the block sizes are not just the defaults.
    // The image is sparse: 2 GiB leaves room for the 1 GiB margin.
    let lm = loop_mount("2G", &["--sector-size", "4096"]);
    let state = tempfile::tempdir().unwrap();
    // The tier's base on the loop device: its services' figures are the device's.
    let config = layout_at(state.path(), &lm.mnt());
    let (code, out, err) = run(&mut probe_with(
        &config,
        &lm.mnt(),
        state.path(),
        &["--size", "4MiB", "--time", "1s"],
    ));
    assert!(matches!(code, 0 | 1), "exit {code}: {err}\n{out}");
    let r = json_of(&out);
    let id = &r["identity"];
    assert_eq!(id["mount"]["fstype"], "ext4");
    assert_eq!(id["mount"]["source"], lm.device.as_str());
    assert_eq!(id["mount"]["mount_point"], lm.mnt().to_str().unwrap());
    let devices = id["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 1, "{id}");
    let d = &devices[0];
    let name = lm.name();
    assert_eq!(d["name"], name);
    assert_eq!(d["transport"], "loop");
    assert_eq!(d["backing_file"], lm.image.to_str().unwrap());
    assert_eq!(d["rotational"], sysfs(name, "queue/rotational") == "1");
    assert_eq!(d["logical_block_size"], 4096);
    for attr in [
        "logical_block_size",
        "physical_block_size",
        "discard_max_bytes",
        "discard_granularity",
    ] {
        let want: u64 = sysfs(name, &format!("queue/{attr}")).parse().unwrap();
        assert_eq!(d[attr], want, "{attr}");
    }
    // A rotational loop device gives the warning, a non-rotational one does not.
    let rotational = kinds(&r).contains(&"rotational".to_string());
    assert_eq!(rotational, d["rotational"] == true, "{out}");
    assert_eq!(files_under(&lm.mnt()), Vec::<PathBuf>::new());
    fitness_follows_the_figures(&r);
}

/// Each of the default layout's services judged on this run's figures: the
/// verdict is what the measured p99s against the documented limits say.
fn fitness_follows_the_figures(r: &Value) {
    let m = &r["measurements"];
    let measured = |figure: &str| match figure {
        "fsync_p99" => m["fsync"]["p99_us"].as_f64().unwrap(),
        "randread_p99" => m["rand_read"]["p99_us"].as_f64().unwrap(),
        other => panic!("unknown figure {other}"),
    };
    let fitness = r["fitness"].as_array().unwrap();
    let names: Vec<&str> = fitness
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "postgresql",
            "clickhouse",
            "kafka",
            "mongodb",
            "redis",
            "docker",
            "backup"
        ]
    );
    // The limits docs/probe.md's table gives, in microseconds.
    let limits: &[(&str, &[(&str, f64)])] = &[
        ("postgresql", &[("fsync_p99", 10e3), ("randread_p99", 4e3)]),
        ("clickhouse", &[("randread_p99", 4e3)]),
        ("kafka", &[]),
        ("mongodb", &[("fsync_p99", 100e3), ("randread_p99", 4e3)]),
        ("redis", &[("fsync_p99", 1e6)]),
        ("docker", &[]),
        ("backup", &[]),
    ];
    let mut unfit = 0;
    for (s, (name, want)) in fitness.iter().zip(limits) {
        let judged = s["judged"].as_array().unwrap();
        let got: Vec<(&str, f64)> = judged
            .iter()
            .map(|j| {
                (
                    j["figure"].as_str().unwrap(),
                    j["limit_us"].as_f64().unwrap(),
                )
            })
            .collect();
        assert_eq!(got, *want, "{name}: {s}");
        for j in judged {
            let figure = j["figure"].as_str().unwrap();
            assert_eq!(j["measured_us"].as_f64().unwrap(), measured(figure), "{s}");
            assert_eq!(
                j["within"],
                measured(figure) <= j["limit_us"].as_f64().unwrap(),
                "{s}"
            );
            assert!(!j["source"].as_str().unwrap().is_empty());
        }
        let verdict = match () {
            _ if judged.is_empty() => "not-judged",
            _ if judged.iter().all(|j| j["within"] == true) => "fit",
            _ => "unfit",
        };
        assert_eq!(s["verdict"], verdict, "{name}: {s}");
        unfit += usize::from(verdict == "unfit");
        eprintln!("loop device: {name}: {verdict} {}", s["judged"]);
    }
    let findings = kinds(r).iter().filter(|k| *k == "fitness").count();
    assert_eq!(findings, unfit, "one fitness finding per unfit service");
}

/// A recorded baseline for `dir` whose figures are `scale` times this machine's
/// plausible ones: tiny latencies and a huge throughput when `fast`.
fn recorded_baseline(state: &Path, dir: &Path, fast: bool) {
    let (latency, throughput) = if fast { (0.001, 1e15) } else { (1e9, 1.0) };
    let b = serde_json::json!({
        "measured_unix": 1_764_000_000u64,
        "dir": dir,
        "devices": ["recorded"],
        "fsync_p50_us": latency,
        "fsync_p99_us": latency,
        "randread_p50_us": latency,
        "randread_p99_us": latency,
        "seq_write_bytes_per_sec": throughput,
    });
    std::fs::write(state.join("probe-baseline.json"), b.to_string()).unwrap();
}

#[test]
fn a_run_far_worse_than_the_baseline_warns_and_one_within_it_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let args = ["--size", "2MiB", "--time", "1s"];

    recorded_baseline(state.path(), dir.path(), true);
    let (code, out, _) = run(&mut probe(dir.path(), state.path(), &args));
    let r = json_of(&out);
    let regressions = kinds(&r).iter().filter(|k| *k == "regression").count();
    assert_eq!(
        regressions, 5,
        "every figure is far worse than recorded: {out}"
    );
    assert_eq!(code, 1);
    assert_eq!(r["baseline"]["devices"][0], "recorded");

    recorded_baseline(state.path(), dir.path(), false);
    let (_, out, _) = run(&mut probe(dir.path(), state.path(), &args));
    let r = json_of(&out);
    assert!(!kinds(&r).contains(&"regression".to_string()), "{out}");
    assert_eq!(r["baseline"]["devices"][0], "recorded");
}

#[test]
fn save_then_compare() {
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().join("jts-hot");
    let args = ["--size", "2MiB", "--time", "1s"];
    let (_, out, _) = run(&mut probe(
        dir.path(),
        &state_dir,
        &[&args[..], &["--save"]].concat(),
    ));
    let r = json_of(&out);
    let saved = state_dir.join("probe-baseline.json");
    assert_eq!(r["saved_to"], saved.to_str().unwrap());
    let state = jts_hot::state::StateDir::new(&state_dir);
    let b = jts_hot::state::load::<jts_hot::state::Baseline>(&state)
        .found()
        .expect("a saved baseline");
    assert_eq!(b.dir, dir.path());
    assert_eq!(
        b.fsync_p50_us,
        r["measurements"]["fsync"]["p50_us"].as_f64().unwrap()
    );
    assert_eq!(
        b.randread_p50_us,
        r["measurements"]["rand_read"]["p50_us"].as_f64().unwrap()
    );

    // The next run is compared with it; text output names the baseline.
    let mut text = jts_hot();
    text.args(["--default-layout", "probe", "--dir"])
        .arg(dir.path())
        .args(args)
        .env("STATE_DIRECTORY", &state_dir);
    let (_, out, _) = run(&mut text);
    assert!(out.contains("baseline of "), "{out}");
    assert!(out.starts_with("jts-hot probe: "), "{out}");
    assert!(out.contains("fsync (8 KiB write + fdatasync):"), "{out}");
    // Another directory is not compared with this baseline.
    let other = tempfile::tempdir().unwrap();
    let (_, out, _) = run(&mut probe(other.path(), &state_dir, &args));
    let r = json_of(&out);
    assert!(r["baseline"].is_null());
    assert!(kinds(&r).contains(&"baseline".to_string()), "{out}");
}

/// A dropped ssh session sends SIGHUP: the probe's file must still go.
#[test]
fn sighup_mid_run_removes_the_file() {
    signal_mid_run(nix::sys::signal::Signal::SIGHUP);
}

/// Ctrl-\ sends SIGQUIT, whose default would core-dump and leave the file.
#[test]
fn sigquit_mid_run_removes_the_file() {
    signal_mid_run(nix::sys::signal::Signal::SIGQUIT);
}

/// The state directory's one policy: a corrupt baseline is reported and set
/// aside, never fatal; one saved before schema names is still read. And a
/// reader that went away (`jts-hot probe | head -1`) is no panic.
#[test]
fn a_corrupt_baseline_is_set_aside_and_a_closed_stdout_is_no_panic() {
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let args = ["--size", "2MiB", "--time", "1s"];
    let file = state.path().join("probe-baseline.json");
    std::fs::write(&file, "{\"measured_unix\": ").unwrap();
    let (_, out, _) = run(&mut probe(dir.path(), state.path(), &args));
    let r = json_of(&out);
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "baseline")
        .unwrap_or_else(|| panic!("no baseline finding: {out}"));
    assert_eq!(f["status"], "WARNING", "{out}");
    assert!(f["message"].as_str().unwrap().contains("moved to"), "{out}");
    assert!(state.path().join("probe-baseline.json.corrupt").exists());
    assert!(!file.exists());

    // As saved before this release (no schema): read and compared.
    recorded_baseline(state.path(), dir.path(), false);
    let (_, out, _) = run(&mut probe(dir.path(), state.path(), &args));
    assert_eq!(json_of(&out)["baseline"]["devices"][0], "recorded");

    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut text = jts_hot();
    text.args(["--default-layout", "probe", "--dir"])
        .arg(dir.path())
        .arg("--state-dir")
        .arg(state.path())
        .args(args)
        .stdout(Stdio::from(writer));
    let out = text.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.status.code().unwrap() <= 3, "{err}");
    assert_eq!(files_under(dir.path()), Vec::<PathBuf>::new());
}

/// The layout's own limits replace the engine's: an impossible fsync limit
/// makes PostgreSQL unfit on any device, `engine = "none"` judges nothing, a
/// limit on a service of no known engine judges it; each finding names the
/// layout's key as its source.
#[test]
fn the_layouts_limits_replace_the_engines() {
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let (code, default, _) = run(jts_hot().args(["config", "default"]));
    assert_eq!(code, 0);
    let layout = default
        .replace(
            "[services.postgresql]\n",
            "[services.postgresql]\nfsync_p99_max = \"1us\"\nrandread_p99_max = \"1min\"\n",
        )
        .replace(
            "[services.redis]\n",
            "[services.redis]\nengine = \"none\"\n",
        )
        .replace(
            "[services.docker]\n",
            "[services.docker]\nfsync_p99_max = \"1min\"\n",
        );
    assert_eq!(layout.matches("p99_max").count(), 3, "{layout}");
    let probed = dir.path().join("probed");
    std::fs::create_dir(&probed).unwrap();
    // The tier's base is the probed directory: the figures are its services'.
    let layout = layout.replace(
        "base = \"/data/jts/hot\"",
        &format!("base = {:?}", probed.to_str().unwrap()),
    );
    let file = dir.path().join("layout.toml");
    std::fs::write(&file, &layout).unwrap();
    let mut cmd = jts_hot();
    cmd.arg("--config")
        .arg(&file)
        .args([
            "probe", "--format", "json", "--size", "4MiB", "--time", "1s", "--dir",
        ])
        .arg(&probed)
        .arg("--state-dir")
        .arg(state.path());
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 1, "{err}\n{out}");
    let r = json_of(&out);
    let of = |name: &str| {
        r["fitness"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["service"] == name)
            .unwrap()
            .clone()
    };
    let pg = of("postgresql");
    assert_eq!(pg["verdict"], "unfit", "{pg}");
    assert_eq!(pg["judged"][0]["limit_us"], 1.0, "{pg}");
    assert_eq!(
        pg["judged"][0]["source"],
        "the layout's services.postgresql.fsync_p99_max"
    );
    assert_eq!(pg["judged"][1]["limit_us"], 60e6, "{pg}");
    assert_eq!(of("redis")["verdict"], "not-judged");
    assert_eq!(of("redis")["engine"], Value::Null);
    let docker = of("docker");
    assert_eq!(docker["verdict"], "fit", "{docker}");
    assert_eq!(docker["engine"], Value::Null);
    let findings: Vec<&Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "fitness")
        .collect();
    assert!(
        findings[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("postgresql (postgresql): unfit: fsync p99 "),
        "{findings:?}"
    );
    // A wrong engine or limit is the layout's error, with its position.
    std::fs::write(
        &file,
        layout.replace("engine = \"none\"", "engine = \"oracle\""),
    )
    .unwrap();
    let (code, out, err) = run(jts_hot().args(["config", "check"]).arg(&file));
    assert_ne!(code, 0);
    let said = format!("{out}{err}");
    assert!(
        said.contains(".engine") && said.contains("oracle"),
        "{said}"
    );
}

/// A probe's figures are the device's under the probed directory: of every
/// service on it when that is the tier's base, of one service alone when it
/// is that service's directory, of none when it is outside the tier (a
/// scratch directory, /root, another disk): no verdict is claimed for them.
#[test]
fn the_figures_are_judged_only_for_the_services_they_are_of() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let state = root.join("state");
    let base = root.join("hot");
    std::fs::create_dir_all(base.join("postgresql")).unwrap();
    let elsewhere = root.join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let config = layout_at(&root, &base);
    let short = ["--size", "4MiB", "--time", "1s"];
    let services = |r: &Value, key: &str| -> Vec<String> {
        r[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                s["service"]
                    .as_str()
                    .map_or_else(|| s.to_string(), str::to_string)
            })
            .collect()
    };
    // A directory outside the tier: no service's fitness, and it says why.
    let (code, out, err) = run(&mut probe_with(&config, &elsewhere, &state, &short));
    assert!(code <= 1, "{err}\n{out}");
    let r = json_of(&out);
    assert!(r["measurements"].is_object(), "{out}");
    assert_eq!(r["fitness"], serde_json::json!([]), "{out}");
    assert!(!kinds(&r).contains(&"fitness".to_string()), "{out}");
    assert_eq!(r["scope"]["dir_is"], "outside-tier", "{out}");
    assert_eq!(r["scope"]["base"], base.to_str().unwrap());
    assert_eq!(r["scope"]["applies_to"], serde_json::json!([]));
    let not = r["scope"]["not_applied"].as_array().unwrap();
    assert_eq!(not.len(), 7, "{out}");
    assert!(not.iter().all(|n| n["why"] == "outside-tier"), "{out}");
    // The same in the text.
    let mut text = jts_hot();
    text.arg("--config")
        .arg(&config)
        .args(["probe", "--dir"])
        .arg(&elsewhere)
        .arg("--state-dir")
        .arg(&state)
        .args(short);
    let (_, out, err) = run(&mut text);
    let line = format!(
        "figures apply to no service: {} is outside the tier ({}), no fitness judged",
        elsewhere.display(),
        base.display()
    );
    assert!(out.lines().any(|l| l == line), "{err}\n{out}");
    assert!(!out.contains("fitness postgresql"), "{out}");
    // A service's directory: that service alone.
    let (code, out, err) = run(&mut probe_with(
        &config,
        &base.join("postgresql"),
        &state,
        &short,
    ));
    assert!(code <= 1, "{err}\n{out}");
    let r = json_of(&out);
    assert_eq!(r["scope"]["dir_is"], "service", "{out}");
    assert_eq!(services(&r, "fitness"), ["postgresql"], "{out}");
    assert_eq!(r["scope"]["applies_to"], serde_json::json!(["postgresql"]));
    assert_eq!(
        r["scope"]["not_applied"][0]["why"], "other-service",
        "{out}"
    );
    // The tier's base: every service whose directory is (or will be) on it.
    let (code, out, err) = run(&mut probe_with(&config, &base, &state, &short));
    assert!(code <= 1, "{err}\n{out}");
    let r = json_of(&out);
    assert_eq!(r["scope"]["dir_is"], "tier-base", "{out}");
    assert_eq!(services(&r, "fitness").len(), 7, "{out}");
    assert_eq!(r["scope"]["not_applied"], serde_json::json!([]));
}
