//! Any bytes as a layout: parsing must never panic, and a layout that parses
//! must render files in which nothing from the layout added a line or a
//! directive: `d` lines only in tmpfiles.d, `u`/`g` lines in sysusers.d,
//! section headers and known keys in the units, one filecon per block in CIL.
#![no_main]

use jts_hot::layout::Layout;
use libfuzzer_sys::fuzz_target;

const UNIT_KEYS: &[&str] = &[
    "Description", "Documentation", "After", "Before", "Requires", "Wants", "WantedBy",
    "RequiresMountsFor", "Type", "RemainAfterExit", "ExecStart", "SuccessExitStatus", "Nice",
    "CPUSchedulingPolicy", "IOSchedulingClass", "StateDirectory", "ReadWritePaths",
    "OnCalendar", "Persistent", "RandomizedDelaySec", "AccuracySec", "Unit",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(layout) = Layout::parse(text, "fuzz.toml") else { return };
    for f in jts_hot::render::render(&layout) {
        let path = f.path.to_str().expect("generated paths are UTF-8");
        for line in f.contents.lines() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let ok = if path.ends_with(".cil") {
                // CIL: comments, one optional block per service, one filecon
                // in it whose regex stays one string.
                line.starts_with(';')
                    || line.starts_with("(optional jts_hot_service_")
                    || line == ")"
                    || (line.starts_with("    (filecon \"") && line.matches('"').count() == 2)
            } else if path.contains("tmpfiles.d") {
                line.starts_with("d ")
            } else if path.contains("sysusers.d") {
                line.starts_with("u ") || line.starts_with("g ")
            } else if line.starts_with('[') {
                line.ends_with(']')
            } else {
                // Hardening directives are fixed text; any key from them is fine,
                // but a key must be a plain word before '='.
                line.split_once('=').is_some_and(|(k, _)| {
                    !k.is_empty()
                        && k.chars().all(|c| c.is_ascii_alphanumeric())
                        && (UNIT_KEYS.contains(&k) || k.chars().next().unwrap().is_ascii_uppercase())
                })
            };
            assert!(ok, "{path}: {line:?}");
        }
    }
});
