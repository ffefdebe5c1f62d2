//! Any bytes as /proc/self/mountinfo: parsing never panics (a bad line is an
//! error naming it), and the mount holding a path and the mount of a device
//! can be looked up in whatever was parsed.
#![no_main]

use std::path::Path;

use jts_hot::system::mounts::{holding, mount_of_in, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(mounts) = parse(&text) else { return };
    for m in &mounts {
        let _ = m.has_option("noatime");
        if let Some((held, rest)) = holding(&mounts, &m.mount_point) {
            assert!(m.mount_point.starts_with(&held.mount_point), "{m:?} {held:?}");
            let _ = rest;
        }
        let found = mount_of_in(&m.mount_point.join("x"), (m.major, m.minor), &mounts);
        assert!(found.is_some(), "{m:?}");
    }
    let _ = holding(&mounts, Path::new("/data/jts/hot/kafka"));
});
