//! The man pages, one per command: clap_mangen's NAME, SYNOPSIS, DESCRIPTION, OPTIONS
//! (and SUBCOMMANDS), then one section per heading of the command's long help
//! (src/cli_help.rs: EXIT STATUS, EXAMPLES, SEE ALSO and the reference), so the page
//! and `--help` say the same. tests/docs.rs checks every page has its sections.

use std::io::Write;
use std::path::Path;

use clap_mangen::Man;

/// Writes jts-hot.1 and jts-hot-COMMAND.1 for every command shown in `--help`.
pub fn write_all(cmd: clap::Command, dir: &Path) -> std::io::Result<()> {
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    write(&cmd, dir)
}

fn write(cmd: &clap::Command, dir: &Path) -> std::io::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write(sub, dir)?;
    }
    let man = Man::new(cmd.clone());
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    if cmd.has_subcommands() {
        man.render_subcommands_section(&mut page)?;
    }
    if let Some(help) = cmd.get_after_long_help() {
        page.write_all(sections(&help.to_string()).as_bytes())?;
    }
    std::fs::write(dir.join(man.get_filename()), page)
}

/// A heading of the long help: a line at column 0 that starts with a word of
/// capitals ("EXIT STATUS", "CHECKS (stable names; ...)"); returns the
/// heading and the rest of the line.
fn heading(line: &str) -> Option<(&str, &str)> {
    let caps = |w: &str| w.len() >= 2 && w.chars().all(|c| c.is_ascii_uppercase());
    if !line.split(' ').next().is_some_and(caps) {
        return None;
    }
    let end = line
        .split(' ')
        .take_while(|w| caps(w))
        .map(|w| w.len() + 1)
        .sum::<usize>()
        .min(line.len());
    Some((line[..end].trim_end(), line[end..].trim()))
}

/// The long help as roff sections, its lines kept as they are (tables).
fn sections(help: &str) -> String {
    let mut out = String::new();
    let mut open = false;
    for line in help.lines() {
        if let Some((title, rest)) = heading(line) {
            if open {
                out.push_str(".fi\n");
            }
            out.push_str(&format!(".SH \"{title}\"\n"));
            if !rest.is_empty() {
                out.push_str(&format!("{}\n", roff_line(rest)));
            }
            out.push_str(".nf\n");
            open = true;
        } else if open {
            out.push_str(&format!("{}\n", roff_line(line)));
        }
    }
    if open {
        out.push_str(".fi\n");
    }
    out
}

/// A line of text as roff prints it literally: backslashes and hyphens escaped,
/// and `\&` first so that a leading `.` or `'` is not read as a request.
fn roff_line(line: &str) -> String {
    format!("\\&{}", line.replace('\\', "\\e").replace('-', "\\-"))
}
