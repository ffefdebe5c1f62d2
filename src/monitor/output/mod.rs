//! The monitor's report in its formats: a report in, text out. No measuring,
//! no judging and no printing here (main prints).

pub mod nagios;
pub mod picture;
pub mod prometheus;
pub mod text;

pub use text::{journal_lines, journal_summary, json, summary, text};
