//! The shared harness's own promises (tests/common): a loop mount is undone
//! even when its test panics, a hung command fails its test instead of
//! hanging it, the scenario builder refuses step names it cannot record, a
//! test that cannot run is reported in a plain `cargo test` run (and fails
//! under CI=true), and scratch tiers lie where a layout accepts a tier.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::loopmount::{loop_tools, LoopMount};
use common::steps::Steps;
use common::{must, within};

/// The loop devices attached to `image`.
fn attached(image: &Path) -> String {
    must(Command::new("losetup").arg("-j").arg(image)).0
}

fn mounted(at: &Path) -> bool {
    let at = at.to_str().unwrap();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(at))
}

#[test]
fn a_loop_mount_is_unmounted_and_detached_when_its_test_panics() {
    needs!(loop_tools);
    let dir = tempfile::tempdir().unwrap();
    let (image, at) = (dir.path().join("fs.img"), dir.path().join("mnt"));
    let (image2, at2) = (image.clone(), at.clone());
    let outcome = std::panic::catch_unwind(move || {
        let lm = LoopMount::ext4(&image2, &at2, "16M")
            .options("noatime")
            .mount()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(mounted(&at2));
        assert!(attached(&image2).contains(&lm.device), "{}", lm.device);
        std::fs::write(at2.join("data"), "written").unwrap();
        panic!("the test fails here");
    });
    assert!(outcome.is_err());
    assert!(!mounted(&at), "still mounted at {}", at.display());
    assert_eq!(attached(&image), "", "a loop device is still attached");
}

#[test]
fn a_hung_command_fails_its_test_in_time() {
    let started = Instant::now();
    let outcome = std::panic::catch_unwind(|| within(Command::new("sleep").arg("30"), 1));
    let message = *outcome.unwrap_err().downcast::<String>().unwrap();
    assert!(
        message.contains("hung: still running after 1 s"),
        "{message}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    // And a command that ends gives its code and output.
    let (code, out, _) = within(Command::new("sh").args(["-c", "echo hi; exit 3"]), 10);
    assert_eq!((code, out.as_str()), (3, "hi\n"));
}

#[test]
fn scenario_steps_need_recordable_unique_names() {
    let steps = Steps::new()
        .step("mount", "findmnt /")
        .step("du-2", "du -s /");
    let names: Vec<&str> = steps.iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["mount", "du-2"]);
    for bad in ["a b", "../x", "", "mount"] {
        let steps = steps.clone();
        let refused = std::panic::catch_unwind(move || steps.step(bad, "true")).is_err();
        assert!(refused, "step name {bad:?} accepted");
    }
}

/// Not a test of its own: calls `cannot_run` when the test below runs this
/// binary with JTS_HOT_HARNESS_CANNOT_RUN set.
#[test]
fn calls_cannot_run_when_asked() {
    if std::env::var_os("JTS_HOT_HARNESS_CANNOT_RUN").is_some() {
        common::cannot_run(test_name!(), "asked to by the harness test");
    }
}

/// This test binary run again as `cargo test` runs it (output captured, no
/// --nocapture): the test that could not run is named after libtest's summary,
/// and under CI=true it fails instead.
#[test]
fn a_test_that_cannot_run_is_reported_after_the_summary_and_fails_under_ci() {
    let me = std::env::current_exe().unwrap();
    let run_it = |ci: &str| {
        let out = Command::new(&me)
            .args(["--exact", "calls_cannot_run_when_asked", "--test-threads=1"])
            .env("JTS_HOT_HARNESS_CANNOT_RUN", "1")
            .env("CI", ci)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run_it("");
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("test result: ok. 1 passed"), "{stdout}");
    assert!(
        stderr.contains("SKIPPED: 1 test(s) above passed without running")
            && stderr.contains("calls_cannot_run_when_asked: asked to by the harness test"),
        "the summary of what could not run is missing:\n{stderr}"
    );
    let (code, stdout, stderr) = run_it("true");
    assert_eq!(code, Some(101), "CI=true must fail it:\n{stdout}{stderr}");
    assert!(
        stdout.contains("CI=true: a test that cannot run is a failure"),
        "{stdout}"
    );
}

/// Not a test of its own: the guard of a test whose tool no machine has, when
/// the test below runs this binary with JTS_HOT_HARNESS_CANNOT_RUN set.
#[test]
fn guarded_by_a_tool_no_machine_has() {
    if std::env::var_os("JTS_HOT_HARNESS_CANNOT_RUN").is_some() {
        needs!("jts-hot-no-such-tool");
        panic!("the guard let a test without its tool run");
    }
}

/// `needs!` names the test it is written in (nothing retyped), returns from it
/// before it runs, and under CI=true fails it.
#[test]
fn the_guard_names_its_own_test_and_fails_under_ci() {
    let me = std::env::current_exe().unwrap();
    let run_it = |ci: &str| {
        let out = Command::new(&me)
            .args([
                "--exact",
                "guarded_by_a_tool_no_machine_has",
                "--test-threads=1",
            ])
            .env("JTS_HOT_HARNESS_CANNOT_RUN", "1")
            .env("CI", ci)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run_it("");
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stderr.contains("guarded_by_a_tool_no_machine_has: jts-hot-no-such-tool is not installed"),
        "the guard did not name its test:\n{stderr}"
    );
    let (code, stdout, stderr) = run_it("true");
    assert_eq!(code, Some(101), "CI=true must fail it:\n{stdout}{stderr}");
}

/// TMPDIR (what tempfile and the tests' scripts use) is the scratch root, and a
/// tier is accepted there by jts-hot itself, wherever the clone and the target
/// directory are; /tmp and a home never are.
#[test]
fn scratch_tiers_lie_where_a_layout_accepts_a_tier() {
    let root = common::scratch_root();
    assert_eq!(
        std::env::var_os("TMPDIR"),
        Some(root.clone().into_os_string())
    );
    assert!(!common::tier_allowed_under(Path::new(
        "/tmp/clone/target/tmp"
    )));
    assert!(!common::tier_allowed_under(Path::new(
        "/root/src/jts-hot/target/tmp"
    )));
    let dir = tempfile::tempdir().unwrap();
    assert!(dir.path().starts_with(&root), "{}", dir.path().display());
    let layout = common::jts_hot_default().replace(
        "base = \"/data/jts/hot\"",
        &format!("base = \"{}/hot\"", dir.path().display()),
    );
    assert!(layout.contains(&dir.path().display().to_string()));
    std::fs::write(dir.path().join("layout.toml"), layout).unwrap();
    must(
        common::jts_hot()
            .arg("config")
            .arg("check")
            .arg(dir.path().join("layout.toml")),
    );
}
