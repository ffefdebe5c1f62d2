//! The layout of the hot tier. One file per section of the layout file:
//! tier.rs, thresholds.rs, monitor.rs and service.rs each hold their
//! section's raw form (as TOML gives it, every value with its position), its
//! typed form and its check, so a new key touches its section's file alone.
//! schema.rs holds the value types and the `Layout` with what it answers
//! (directories, gated units, plan, digest); checker.rs the checking
//! machinery and the whole layout's checks (across sections); default.rs the
//! built-in default; read.rs and error.rs turn text into raw values, every
//! error with its position; rules.rs holds each single value's rule.
//! Everything downstream takes a `Layout`, whose values are typed and
//! already valid.

mod checker;
mod default;
mod error;
mod monitor;
mod read;
pub mod rules;
mod schema;
mod service;
mod thresholds;
mod tier;

use std::path::Path;

pub use default::{
    BUILTIN_SOURCE, DEFAULT_LAYOUT_TOML, DEFAULT_STOP_TIMEOUT, DEFAULT_TEXTFILE_DIR,
};
use error::Locator;
pub use error::{LayoutError, LayoutErrors};
pub use monitor::Monitor;
pub use schema::*;
pub use service::{Dir, Engine, EngineSetting, Fitness, Service, ServiceQuota};
pub use thresholds::Thresholds;
pub use tier::{QuotaMode, RequireMountpoint, Tier};
use {monitor::RawMonitor, service::RawService, thresholds::RawThresholds, tier::RawTier};

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
