//! The built-in default layout (default.toml, the seed tier of DESIGN.md,
//! also the package's /etc/jts/hot-layout.toml) and the defaults a layout
//! gets for keys it leaves out.

use std::time::Duration;

use super::{Layout, Source};

/// The default layout, as an operator would write it (with comments).
pub const DEFAULT_LAYOUT_TOML: &str = include_str!("default.toml");
/// What generated files and reports name as the source of the built-in default.
pub const BUILTIN_SOURCE: &str = "built-in default layout";
/// node_exporter's textfile directory on Debian (prometheus-node-exporter).
pub const DEFAULT_TEXTFILE_DIR: &str = "/var/lib/prometheus/node-exporter";

/// TimeoutStopSec= of a gated unit whose service sets no `stop_timeout`:
/// long enough for a database's clean shutdown (a checkpoint, a final save),
/// bounded so that a save that cannot finish (Redis on a tier gone read-only
/// will not exit) never blocks a stop or a poweroff forever.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(300);

impl Layout {
    /// The built-in default: the seed tier of DESIGN.md.
    pub fn builtin() -> Layout {
        let mut layout = Layout::parse(DEFAULT_LAYOUT_TOML, BUILTIN_SOURCE)
            .expect("the built-in default layout is valid");
        layout.source = Source::Builtin;
        layout
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use std::path::PathBuf;

    #[test]
    fn builtin_is_the_seed_tier() {
        let l = Layout::builtin();
        assert_eq!(l.tier.base, PathBuf::from("/data/jts/hot"));
        assert_eq!(l.tier.capacity, Bytes(4_000_000_000_000));
        assert_eq!(l.planned_total(), u128::from(l.tier.capacity.0));
        let names: Vec<_> = l.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "postgresql",
                "clickhouse",
                "kafka",
                "mongodb",
                "redis",
                "docker",
                "backup"
            ]
        );
        let docker = &l.services[5];
        assert_eq!(docker.ownership.owner.as_str(), "root");
        assert_eq!(docker.ownership.group.as_str(), "docker");
        assert_eq!(docker.ownership.mode, Mode(0o755));
        assert_eq!(l.planned_dirs().len(), 1 + 7 + 19);
    }
}
