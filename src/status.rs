//! The monitoring-plugin status every check reports.

use serde::Serialize;

/// Ordered by severity, so the worst of many is their maximum.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl Status {
    /// The monitoring-plugin number: 0 OK, 1 WARNING, 2 CRITICAL, 3
    /// UNKNOWN (the metrics' value; the binary's exit_codes maps statuses
    /// to exit codes).
    pub fn number(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
            Status::Unknown => 3,
        }
    }

    /// The sd-daemon(3) priority prefix for a line logged under systemd:
    /// info, warning, crit, err (an UNKNOWN means jts-hot could not do its job).
    fn journal_prefix(self) -> &'static str {
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

/// A command's text output, line by line. Under systemd (`journal`: see
/// `under_journal`) each line starts with the sd-daemon(3) priority prefix of
/// its own severity, so `journalctl -p warning` shows exactly the problems;
/// elsewhere the lines are bare. Every command's text goes through here.
#[derive(Debug, Default)]
pub struct Lines {
    journal: bool,
    text: String,
}

impl Lines {
    pub fn new(journal: bool) -> Lines {
        Lines {
            journal,
            text: String::new(),
        }
    }

    /// Appends `line` (without its newline) at `severity`.
    pub fn push(&mut self, severity: Status, line: impl AsRef<str>) {
        if self.journal {
            self.text.push_str(severity.journal_prefix());
        }
        self.text.push_str(line.as_ref());
        self.text.push('\n');
    }

    pub fn into_string(self) -> String {
        self.text
    }
}

/// Lines as printed, each ending in a newline; under the journal each
/// carries the sd-daemon(3) prefix of its own severity, so `journalctl -p`
/// filters them (the same for every command: see `Lines`).
pub fn lines(lines: &[(Status, String)], journal: bool) -> String {
    let mut out = Lines::new(journal);
    for (severity, line) in lines {
        out.push(*severity, line);
    }
    out.into_string()
}

#[cfg(test)]
mod tests {
    use super::{Lines, Status};

    #[test]
    fn each_line_carries_its_own_priority_only_under_the_journal() {
        let mut journal = Lines::new(true);
        journal.push(Status::Warning, "w");
        journal.push(Status::Ok, "");
        assert_eq!(journal.into_string(), "<4>w\n<6>\n");
        let mut plain = Lines::new(false);
        plain.push(Status::Critical, "c");
        assert_eq!(plain.into_string(), "c\n");
    }
}
