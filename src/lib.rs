//! jts-hot: one layout file for the JTS hot storage tier becomes files that
//! systemd acts on at every boot. Data flows one way:
//! text → [`layout::Layout`] (checked once) → rendered files / findings / usage → output.

pub mod applied;
pub mod apply;
pub mod config_check;
pub mod escape;
pub mod files;
pub mod generate;
pub mod layout;
pub mod monitor;
pub mod nagios;
pub mod overview;
pub mod plan;
pub mod probe;
pub mod quota;
pub mod remap;
pub mod render;
pub mod setup;
pub mod state;
pub mod status;
pub mod system;
pub mod units;
pub mod usage;
pub mod validate;
