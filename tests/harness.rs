//! The shared harness's own promises (tests/common): a loop mount is undone
//! even when its test panics, a hung command fails its test instead of
//! hanging it, and the scenario builder refuses step names it cannot record.

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
    let test = "a_loop_mount_is_unmounted_and_detached_when_its_test_panics";
    if !loop_tools(test) {
        return;
    }
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
