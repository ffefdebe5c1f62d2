//! No input makes jts-hot panic: random text and mutated layouts are either
//! refused with errors or parsed into a layout that renders cleanly.

use jts_hot::layout::{Layout, DEFAULT_LAYOUT_TOML};
use jts_hot::render::render;
use proptest::prelude::*;

const FRAGMENTS: &[&str] = &[
    "\n",
    "\\n",
    "%",
    "%n",
    "\"",
    "'",
    "[",
    "]",
    "=",
    "\\",
    "0777",
    "..",
    "/",
    "//",
    " ",
    "\t",
    "é",
    "\u{0}",
    "[services.x]\nowner=\"x\"\nplanned=\"1GB\"\n",
    "dirs = [{ name = \"t\", clean_after = \"1d\" }]\n",
    "-1",
    "1e99",
    "18446744073709551616",
    "$",
    ";",
    "#",
    "{",
    "}",
    ",",
];

/// Checks the one invariant that matters downstream: a layout that parses
/// renders, and its tmpfiles file holds nothing but `d` lines.
fn check(text: &str) {
    if let Ok(layout) = Layout::parse(text, "fuzz.toml") {
        let files = render(&layout);
        let tmpfiles = &files[0].contents;
        for line in tmpfiles
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            assert!(line.starts_with("d "), "unexpected tmpfiles line {line:?}");
        }
        for f in &files {
            for line in f.contents.lines() {
                assert!(!line.contains('\r') && !line.contains('\0'), "{line:?}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,400}") {
        check(&text);
    }

    #[test]
    fn mutated_default_never_panics(
        edits in prop::collection::vec((0usize..DEFAULT_LAYOUT_TOML.len(), 0usize..FRAGMENTS.len(), 0usize..8), 1..6)
    ) {
        let mut text = DEFAULT_LAYOUT_TOML.to_string();
        for (at, fragment, delete) in edits {
            let mut at = at.min(text.len());
            while !text.is_char_boundary(at) { at -= 1; }
            let mut end = (at + delete).min(text.len());
            while !text.is_char_boundary(end) { end -= 1; }
            text.replace_range(at..end, FRAGMENTS[fragment]);
        }
        check(&text);
    }
}
