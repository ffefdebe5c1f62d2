//! Any bytes as a layout: parsing must never panic, and a layout that parses
//! must render, with nothing but `d` lines in its tmpfiles file.
#![no_main]

use jts_hot::layout::Layout;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(layout) = Layout::parse(text, "fuzz.toml") {
        let files = jts_hot::render::render(&layout);
        for line in files[0].contents.lines() {
            assert!(line.is_empty() || line.starts_with('#') || line.starts_with("d "), "{line:?}");
        }
    }
});
