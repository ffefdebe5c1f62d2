//! Any bytes as /etc/fstab and as a .mount unit (an image's, or the host's):
//! neither parser may panic, every mount declared has an absolute mount
//! point with no `.`/`..`/empty component, and what jts-hot says about it
//! (its unit name, its sentences) can be made for every one.
#![no_main]

use std::path::{Component, Path};

use jts_hot::system::fstab::{parse_fstab, parse_mount_unit, DeclaredMount};
use libfuzzer_sys::fuzz_target;

fn judge(m: &DeclaredMount) {
    assert!(m.mount_point.is_absolute(), "{m:?}");
    assert!(
        m.mount_point
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_) | Component::ParentDir)),
        "{m:?}"
    );
    let unit = m.unit();
    assert!(unit.ends_with(".mount"), "{unit}");
    let base = Path::new("/data/jts/hot");
    let _ = (m.not_mounted(base), m.what_to_check(), m.has_option("nofail"));
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for m in parse_fstab(&text) {
        judge(&m);
    }
    if let Some(m) = parse_mount_unit(&text, Path::new("/etc/systemd/system/fuzz.mount")) {
        judge(&m);
    }
});
