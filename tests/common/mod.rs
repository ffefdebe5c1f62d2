//! Shared by the integration tests: the binary under test, the rule that a
//! test which cannot run here says so loudly (and under CI=true fails
//! instead), commands bounded in time, the golden cases, passwd/group
//! lookups, loop mounts and scratch tiers. tests/README.md lists them.
#![allow(dead_code)]

pub mod layout;
pub mod loopmount;
pub mod mktree;
pub mod scratch;
pub mod steps;
pub mod tree;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// The jts-hot binary built for these tests, with no layout from the host.
pub fn jts_hot() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jts-hot"));
    cmd.env_remove("JTS_HOT_CONFIG")
        .env_remove("JOURNAL_STREAM");
    cmd
}

pub fn bin_path() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_jts-hot"))
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Cargo's CARGO_TARGET_TMPDIR (target/tmp, wherever the target directory is):
/// the harnesses' caches (boot images, qemu roots) and runs. Never a tier: see
/// `scratch_root`.
pub fn work_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// Where the tests' scratch tiers live: a layout may not place a tier in /tmp,
/// /var/tmp, /home, /root and the other trees of the OS (src/layout/rules.rs,
/// OS_TREES), and a clone or CARGO_TARGET_DIR may be in any of them. So:
/// $JTS_HOT_TEST_SCRATCH when set; else work_dir()/scratch when the layout's
/// own rule accepts a tier there; else /var/lib/jts-hot-tests (created, kept;
/// each test's directory in it is removed when the test ends).
/// Every test binary sets TMPDIR to it before any test runs (below), so
/// `tempfile::tempdir()` and the scripts' `mktemp -d` land there.
pub fn scratch_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("JTS_HOT_TEST_SCRATCH") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("JTS_HOT_TEST_SCRATCH={}: {e}", dir.display()));
        return dir;
    }
    let target = work_dir().join("scratch");
    if std::fs::create_dir_all(&target).is_ok() && tier_allowed_under(&target) {
        return target;
    }
    let fallback = PathBuf::from("/var/lib/jts-hot-tests");
    match std::fs::create_dir_all(&fallback) {
        Ok(()) => fallback,
        // Not root: the tests that need a tier need root anyway and say so.
        Err(_) => target,
    }
}

/// Would the layout accept a tier inside `dir` (its real path, links resolved)?
pub fn tier_allowed_under(dir: &Path) -> bool {
    let real = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    jts_hot::layout::rules::not_os_owned(&real.join("hot")).is_ok()
}

/// Before any test of this binary runs (one thread, nothing spawned yet): TMPDIR
/// is the scratch root, for tempfile and for every command a test runs; and the
/// report of the tests that could not run is printed at the end.
#[ctor::ctor(unsafe)]
fn before_tests() {
    std::env::set_var("TMPDIR", scratch_root());
    // SAFETY: a plain C function with no arguments, registered once.
    unsafe { libc::atexit(report_not_run) };
}

/// The tests of this binary that could not run here (name: why).
static NOT_RUN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Printed after libtest's own summary (at exit), so a plain `cargo test` shows
/// which tests passed without testing anything; libtest captures what a passing
/// test prints, this is written to the real stderr.
extern "C" fn report_not_run() {
    let not_run = NOT_RUN.lock().map(|v| v.clone()).unwrap_or_default();
    if not_run.is_empty() {
        return;
    }
    let mut text = format!(
        "\n!!!!!!!! SKIPPED: {} test(s) above passed without running (set CI=true to fail them):\n",
        not_run.len()
    );
    for line in not_run {
        text.push_str(&format!("!!!!!!!!   {line}\n"));
    }
    use std::io::Write;
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// Call when a prerequisite is missing. Returns normally (the caller then
/// returns early) outside CI, after a loud message on the real stderr (not
/// captured by libtest) and a line in the summary printed when this test binary
/// ends; panics under CI=true.
pub fn cannot_run(test: &str, why: &str) {
    let msg = format!("SKIPPED {test}: {why}");
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg} (CI=true: a test that cannot run is a failure)");
    }
    use std::io::Write;
    let _ = std::io::stderr().write_all(format!("\n!!!!!!!! {msg} !!!!!!!!\n").as_bytes());
    if let Ok(mut v) = NOT_RUN.lock() {
        v.push(format!("{test}: {why}"));
    }
}

/// True when `tool` is on PATH; otherwise reports via `cannot_run`.
pub fn have_tool(test: &str, tool: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join(tool).is_file()))
        .unwrap_or(false);
    if !found {
        cannot_run(test, &format!("{tool} is not installed"));
    }
    found
}

/// True when every tool is on PATH; reports each missing one via `cannot_run`.
pub fn have_tools(test: &str, tools: &[&str]) -> bool {
    tools.iter().all(|tool| have_tool(test, tool))
}

/// True when running as root; otherwise reports via `cannot_run`.
pub fn have_root(test: &str) -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        cannot_run(test, "needs root");
    }
    root
}

/// The name of the test function it is written in, as libtest names it
/// (`tests::x` inside a module): the name `cannot_run` reports, never retyped.
#[macro_export]
macro_rules! test_name {
    () => {{
        fn here() {}
        $crate::common::name_of_test(std::any::type_name_of_val(&here))
    }};
}

/// `crate::a::b::here` (with any `{{closure}}` between) -> `a::b`.
pub fn name_of_test(here: &'static str) -> &'static str {
    let path = here.strip_suffix("::here").unwrap_or(here);
    let path = path.trim_end_matches("::{{closure}}");
    path.split_once("::").map_or(path, |(_crate, rest)| rest)
}

/// The one guard of a test's prerequisites, named after the test it is
/// written in: returns from that test unless each holds; each one missing is
/// reported by `cannot_run` (loudly; under CI=true it fails the test).
/// Items: `root`, a tool as a string literal, or a `fn(&str) -> bool` check
/// that reports its own misses (`loop_tools`, `nspawn::prerequisites`, ...):
///     needs!(root, "systemd-tmpfiles");
///     let test = needs!(prerequisites); // the name, for later reports
#[macro_export]
macro_rules! needs {
    (@all $test:ident;) => { true };
    (@all $test:ident; root $(, $($rest:tt)*)?) => {
        $crate::common::have_root($test) && $crate::needs!(@all $test; $($($rest)*)?)
    };
    (@all $test:ident; $tool:literal $(, $($rest:tt)*)?) => {
        $crate::common::have_tool($test, $tool) && $crate::needs!(@all $test; $($($rest)*)?)
    };
    (@all $test:ident; $check:path $(, $($rest:tt)*)?) => {
        $check($test) && $crate::needs!(@all $test; $($($rest)*)?)
    };
    ($($need:tt)+) => {{
        let test = $crate::test_name!();
        if !$crate::needs!(@all test; $($need)+) {
            return;
        }
        test
    }};
}

/// The real `systemd-sysusers --root=ROOT CONF`, as the packages run it: the
/// accounts of a test tree.
pub fn sysusers(root: &Path, conf: &Path) {
    let (code, _, err) = run(Command::new("systemd-sysusers")
        .arg(format!("--root={}", root.display()))
        .arg(conf));
    assert_eq!(code, 0, "systemd-sysusers: {err}");
}

/// The real `systemd-tmpfiles --create --root=ROOT CONF`, as boot runs it:
/// the directories of a test tree.
pub fn tmpfiles_create(root: &Path, conf: &Path) {
    let (code, _, err) = run(Command::new("systemd-tmpfiles")
        .arg("--create")
        .arg(format!("--root={}", root.display()))
        .arg(conf));
    assert_eq!(code, 0, "systemd-tmpfiles {}: {err}", conf.display());
}

/// Runs a command and returns (status code, stdout, stderr).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    // A binary a test has just copied may still be open for writing in
    // another test's child, between its fork and its exec: ETXTBSY, for a
    // moment (tests run in threads of one process).
    let mut tries = 0;
    let out = loop {
        match cmd.output() {
            Err(e)
                if e.raw_os_error() == Some(nix::errno::Errno::ETXTBSY as i32) && tries < 100 =>
            {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            out => break out.unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}")),
        }
    };
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `run`, asserting exit 0; returns (stdout, stderr).
pub fn must(cmd: &mut Command) -> (String, String) {
    let (code, stdout, stderr) = run(cmd);
    assert_eq!(code, 0, "{cmd:?} failed:\n{stdout}\n{stderr}");
    (stdout, stderr)
}

/// Runs `cmd` to its end, or fails the test if it is still running after
/// `secs` seconds (killed first: a hang is a bug), or if it died of a signal.
/// Returns (status code, stdout, stderr).
pub fn within(cmd: &mut Command, secs: u64) -> (i32, String, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = std::thread::spawn(move || std::io::read_to_string(&mut out).unwrap_or_default());
    let err = std::thread::spawn(move || std::io::read_to_string(&mut err).unwrap_or_default());
    let deadline = Instant::now() + Duration::from_secs(secs);
    let exited = wait_until(deadline, Duration::from_millis(20), || {
        child.try_wait().unwrap().is_some()
    });
    if !exited {
        child.kill().unwrap();
        let _ = child.wait();
        panic!("{cmd:?} hung: still running after {secs} s");
    }
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert!(
        status.signal().is_none(),
        "{cmd:?} died of signal {:?} (a panic that aborts?)",
        status.signal()
    );
    (
        status.code().unwrap(),
        out.join().unwrap(),
        err.join().unwrap(),
    )
}

/// Polls `done` every `every` until it is true (returns true) or `deadline`
/// passes (returns false). The one wait loop of the harnesses.
pub fn wait_until(deadline: Instant, every: Duration, mut done: impl FnMut() -> bool) -> bool {
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(every);
    }
}

/// `timeout -k KILL_AFTER SECS PROGRAM`: a command that coreutils' timeout
/// stops (SIGTERM, then SIGKILL) even should the test process die first.
pub fn bounded(secs: u64, kill_after: u64, program: &str) -> Command {
    let mut cmd = Command::new("timeout");
    cmd.args(["-k", &kill_after.to_string(), &secs.to_string(), program]);
    cmd
}

/// The last `lines` lines of `text`, for failure messages.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Parses JSON output, failing with the text (and stderr) when it is not.
pub fn json(out: &str, err: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}\nstderr: {err}"))
}

/// The service `name` in a monitor document's `services` array.
pub fn service<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no service {name} in {doc}"))
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The default layout, as `jts-hot config default` prints it.
pub fn jts_hot_default() -> String {
    run(jts_hot().args(["config", "default"])).1
}

/// The golden cases: each directory of tests/cases holding a layout.toml, sorted.
pub fn golden_cases() -> Vec<PathBuf> {
    let mut cases: Vec<_> = std::fs::read_dir(repo_root().join("tests/cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("layout.toml").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 5, "golden cases are missing");
    cases
}

/// name -> (id, all fields) from a passwd- or group-format file; empty when
/// the file is missing.
pub fn id_table(path: &Path) -> HashMap<String, (u32, Vec<String>)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<String> = l.split(':').map(str::to_string).collect();
            Some((f.first()?.clone(), (f.get(2)?.parse().ok()?, f)))
        })
        .collect()
}

/// The id of `name` in `root`'s own /etc/`file` (passwd or group); fails the
/// test when it is not there.
pub fn id_in(root: &Path, file: &str, name: &str) -> u32 {
    let path = root.join("etc").join(file);
    id_table(&path)
        .get(name)
        .unwrap_or_else(|| {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            panic!("{name} not in {}:\n{text}", path.display())
        })
        .0
}

/// Every regular file under `dir`, as paths relative to it, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

/// Checks a monitoring plugin's output (docs/nagios.md): the status line
/// first, `JTS-HOT STATUS - text | perfdata`, each datum
/// `'label'=value[UOM];[warn];[crit];[min];[max]`, no `|` in any other line;
/// the exit code is the status's. Returns the status and the perfdata labels.
pub fn check_nagios(code: i32, out: &str) -> (String, Vec<(String, String)>) {
    let mut lines = out.lines();
    let first = lines.next().unwrap_or_else(|| panic!("no output"));
    let rest = first
        .strip_prefix("JTS-HOT ")
        .unwrap_or_else(|| panic!("not a status line: {first}"));
    let (status, rest) = rest.split_once(" - ").expect("STATUS - text");
    let expected = ["OK", "WARNING", "CRITICAL", "UNKNOWN"]
        .iter()
        .position(|s| *s == status)
        .unwrap_or_else(|| panic!("status {status}"));
    assert_eq!(code, expected as i32, "exit code vs status line: {first}");
    let (_, perf) = rest.split_once(" | ").expect("perfdata after ' | '");
    let mut data = Vec::new();
    for datum in perf.split(' ') {
        let body = datum.strip_prefix('\'').expect("a quoted label");
        let end = body.find("'=").expect("'label'=");
        let label = body[..end].replace("''", "'");
        let fields: Vec<&str> = body[end + 2..].split(';').collect();
        assert!(fields.len() <= 5, "{datum}");
        let number = fields[0].trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == '%');
        number
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("value of {datum}"));
        for f in &fields[1..] {
            assert!(f.is_empty() || f.parse::<f64>().is_ok(), "{datum}");
        }
        data.push((label, body[end + 2..].to_string()));
    }
    for l in lines {
        assert!(
            !l.contains('|'),
            "a '|' in a detail line starts perfdata: {l}"
        );
    }
    (status.to_string(), data)
}

/// A checksum of everything under `dir` (names, types, modes, owners,
/// sizes, link targets and file contents), to show a tree did not change.
pub fn fingerprint(dir: &Path) -> String {
    let (code, out, err) = run(Command::new("sh")
        .arg("-c")
        .arg(
            "cd \"$1\" && { find . -printf '%P %y %m %U %G %s %l\\n' | LC_ALL=C sort; \
         find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum; } | sha256sum",
        )
        .arg("sh")
        .arg(dir));
    assert_eq!(code, 0, "fingerprint of {}: {err}", dir.display());
    out
}

/// docs/generated.md's exposure table: (unit, score with `tier.quota = "off"`,
/// score with quotas on), as `systemd-analyze security` prints them ("0.9").
pub fn documented_exposure() -> Vec<(String, String, String)> {
    let doc = std::fs::read_to_string(repo_root().join("docs/generated.md")).unwrap();
    let rows: Vec<(String, String, String)> = doc
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.trim().split('|').map(str::trim).collect();
            let unit = cells.get(1)?;
            if cells.len() != 7 || !unit.starts_with("jts-hot-") || !unit.ends_with(".service") {
                return None;
            }
            let score = |c: &str| c.split_whitespace().next().unwrap_or("").to_string();
            Some((unit.to_string(), score(cells[4]), score(cells[5])))
        })
        .collect();
    assert_eq!(
        rows.len(),
        4,
        "docs/generated.md's exposure table: {rows:?}"
    );
    rows
}

/// `systemd-analyze security`'s overall exposure in its output ("0.9").
pub fn exposure_in(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.split("Overall exposure level for ").nth(1))
        .and_then(|rest| rest.split(": ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_string)
}
