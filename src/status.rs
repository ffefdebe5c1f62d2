//! The monitoring-plugin status every check reports, and its exit code.

use serde::Serialize;

/// Ordered by severity, so the worst of many is their maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl Status {
    /// 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    pub fn exit_code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
            Status::Unknown => 3,
        }
    }

    /// The sd-daemon(3) priority prefix for a line logged under systemd:
    /// info, warning, crit, err (an UNKNOWN means jts-hot could not do its job).
    pub fn journal_prefix(self) -> &'static str {
        match self {
            Status::Ok => "<6>",
            Status::Warning => "<4>",
            Status::Critical => "<2>",
            Status::Unknown => "<3>",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// True when stderr/stdout go to the journal (systemd sets JOURNAL_STREAM),
/// so lines should carry a syslog priority prefix.
pub fn under_journal() -> bool {
    std::env::var_os("JOURNAL_STREAM").is_some()
}

/// Lines as printed, each ending in a newline; under the journal each
/// carries the sd-daemon(3) prefix of its own severity, so `journalctl -p`
/// filters them (the same for every command).
pub fn lines(lines: &[(Status, String)], journal: bool) -> String {
    lines
        .iter()
        .map(|(s, l)| {
            let prefix = if journal { s.journal_prefix() } else { "" };
            format!("{prefix}{l}\n")
        })
        .collect()
}
