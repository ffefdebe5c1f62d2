//! The layout of the hot tier, by concern: schema.rs (the typed layout and
//! what it answers), checker.rs (the one place a layout is checked, text to
//! `Layout`), default.rs (the built-in default and the defaults of keys left
//! out); read.rs, raw.rs and error.rs (text to raw values, every error with
//! its position) and rules.rs (each single value's rule). Everything
//! downstream takes a `Layout`, whose values are typed and already valid.

mod checker;
mod default;
mod error;
mod raw;
mod read;
pub mod rules;
mod schema;

use std::path::Path;

pub use default::{
    BUILTIN_SOURCE, DEFAULT_LAYOUT_TOML, DEFAULT_STOP_TIMEOUT, DEFAULT_TEXTFILE_DIR,
};
use error::Locator;
pub use error::{LayoutError, LayoutErrors};
pub use schema::*;

/// Where the packaged layout lives.
pub const SYSTEM_LAYOUT_PATH: &str = "/etc/jts/hot-layout.toml";

/// Where a dotted field's value is in a layout's text (1-based line and
/// column), for messages about a valid layout (`config check`).
pub fn position_of(text: &str, field: &str) -> Option<(usize, usize)> {
    error::position_of(text, field)
}

impl Layout {
    /// Reads and checks a layout file.
    pub fn load(path: &Path) -> Result<Layout, LayoutErrors> {
        let text = Layout::read(path)?;
        Layout::parse(&text, &path.display().to_string())
    }
    /// A layout file's text, read once (apply keeps what it parsed), bounded;
    /// an error names the file.
    pub fn read(path: &Path) -> Result<String, LayoutErrors> {
        /// Far above any real layout (4,000 services take ~400 KB).
        const MAX_LAYOUT_BYTES: u64 = 16 << 20;
        let name = path.display().to_string();
        // A FIFO or device in the layout's place must not hang the boot.
        crate::system::file::read_regular_text(
            path,
            MAX_LAYOUT_BYTES,
            crate::system::file::Links::Follow,
        )
        .map_err(|e| {
            LayoutErrors(vec![LayoutError {
                file: name.clone(),
                line: 1,
                column: 1,
                field: String::new(),
                message: format!("cannot read the layout: {e}"),
            }])
        })
    }

    /// Parses and checks a layout's text; `file` names it in errors and in
    /// the generated files.
    pub fn parse(text: &str, file: &str) -> Result<Layout, LayoutErrors> {
        let loc = Locator { file, text };
        // Every error in one run: those of reading (syntax, unknown keys,
        // types), then those of the rules on what could be read.
        let (raw, errors) = read::raw(&loc);
        let Some(raw) = raw else {
            return Err(LayoutErrors(errors));
        };
        checker::check(loc, raw, errors, file)
    }
}
