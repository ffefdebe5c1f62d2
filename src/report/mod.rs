//! Output formats: a report in, text out. No measuring and no judging here.

pub mod monitor;
pub mod picture;
pub mod prometheus;
