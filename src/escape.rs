//! Every piece of escaping jts-hot does, for each kind of file it writes.
//!
//! The layout rules already refuse control characters, quotes and backslashes
//! in paths and restrict names to plain ASCII words, so what is left to escape
//! is a space (which would split a field) and '%' (a systemd specifier), and
//! '$' on an ExecStart= line. Each function here is exact for its file type;
//! tests/real_tools.rs proves them with the real systemd tools.
//!
//! It is also the one place where text found on disk (names a service user
//! chose, symlink targets, mount sources, file contents) is made safe to show:
//! [`untrusted`] and [`untrusted_path`] for every output, [`serialize_path`]
//! for JSON.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn text(path: &Path) -> &str {
    path.to_str().expect("layout paths are ASCII")
}

/// Doubles '%' so systemd reads it literally instead of as a specifier.
fn no_specifiers(s: &str) -> String {
    s.replace('%', "%%")
}

/// Quotes a field that contains a space; the rules exclude '"' and '\\'.
fn quoted_if_spaced(s: String) -> String {
    if s.contains(' ') {
        format!("\"{s}\"")
    } else {
        s
    }
}

/// A path in the Path column of a tmpfiles.d line.
pub fn tmpfiles_path(path: &Path) -> String {
    quoted_if_spaced(no_specifiers(text(path)))
}

/// The inverse of [`tmpfiles_path`]: the Path column at the start of `rest`
/// (a tmpfiles.d line after its type), unquoted, '%%' read as '%'. `None`
/// when the line has no path.
pub fn tmpfiles_path_field(rest: &str) -> Option<std::path::PathBuf> {
    let rest = rest.trim_start();
    let field = match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next()?,
        None => rest.split_whitespace().next()?,
    };
    (!field.is_empty()).then(|| field.replace("%%", "%").into())
}

/// A field (GECOS, home directory) of a sysusers.d line.
pub fn sysusers_field(s: &str) -> String {
    quoted_if_spaced(no_specifiers(s))
}

/// A path as one word of a space-separated unit-file list (RequiresMountsFor=,
/// ReadWritePaths=), with an optional prefix such as '-' inside the quotes.
pub fn unit_path_word(prefix: &str, path: &Path) -> String {
    quoted_if_spaced(format!("{prefix}{}", no_specifiers(text(path))))
}

/// The name of the .mount unit systemd gives a mount point, as
/// `systemd-escape --path --suffix=mount` does: '/' becomes '-', and every
/// byte other than ASCII letters, digits, ':', '_' and a non-leading '.'
/// becomes `\xNN`. The result has no space or '%', so it is one plain word.
pub fn mount_unit_name(path: &Path) -> String {
    let normal: std::path::PathBuf = path.components().collect();
    let trimmed = text(&normal).trim_matches('/');
    if trimmed.is_empty() {
        return "-.mount".into();
    }
    let mut out = String::new();
    for (i, b) in trimmed.bytes().enumerate() {
        match b {
            b'/' => out.push('-'),
            b'.' if i > 0 => out.push('.'),
            b if b.is_ascii_alphanumeric() || b == b':' || b == b'_' => out.push(b as char),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out + ".mount"
}

/// A path as one argument of an ExecStart= command line: '$' would expand a variable.
pub fn exec_arg(path: &Path) -> String {
    quoted_if_spaced(no_specifiers(text(path)).replace('$', "$$"))
}

/// A path as a literal in a file_contexts regular expression (PCRE, whitespace-
/// separated fields): metacharacters get a backslash, a space becomes \x20.
pub fn file_contexts_regex(path: &Path) -> String {
    let mut out = String::new();
    for c in text(path).chars() {
        match c {
            ' ' => out.push_str("\\x20"),
            '.' | '^' | '$' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A path as a field of a file_contexts.subs line (and of jts-hot's list of
/// them, which the package scripts read with `read -r`): fields are split on
/// whitespace and nothing is unescaped, so a path with whitespace cannot be
/// written at all; the layout rules refuse it, and this refuses to emit a
/// line that says something else.
pub fn subs_field(path: &Path) -> String {
    let s = text(path);
    assert!(
        !s.contains(char::is_whitespace) && !s.is_empty(),
        "layout rules keep whitespace out of SELinux equivalences: {s:?}"
    );
    s.to_string()
}

/// A CIL quoted string: CIL has no escapes inside quotes, so a '"' or a
/// newline could never be written; the layout rules exclude both, and this
/// refuses them rather than emit a module that says something else.
pub fn cil_string(s: &str) -> String {
    assert!(
        !s.contains(['"', '\n', '\r']),
        "layout rules keep quotes and newlines out of CIL strings: {s:?}"
    );
    s.to_string()
}

/// A line of a '#' header as a CIL comment (';').
pub fn cil_comment_line(line: &str) -> String {
    match line.strip_prefix('#') {
        Some(rest) => format!(";{rest}"),
        None => format!("; {}", comment(line)),
    }
}

/// `--option=value` as one argument of an Exec*= command line ('=' keeps a
/// value that starts with '-' from reading as an option).
pub fn exec_option(option: &str, value: &str) -> String {
    quoted_if_spaced(no_specifiers(&format!("--{option}={value}")).replace('$', "$$"))
}

/// A path as one word for a POSIX shell, in a hint an operator copies: the
/// layout rules exclude the single quote, so quoting is all it takes.
pub fn shell_word(path: &Path) -> String {
    format!("'{}'", text(path))
}

/// Free text inside a '#' comment: one line, no continuation backslash.
pub fn comment(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() || c == '\\' { '?' } else { c })
        .collect()
}

/// A label value in the Prometheus text exposition format: backslash,
/// double quote and newline are the characters it escapes.
pub fn prometheus_label_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Untrusted text as one printable line: a newline, carriage return, escape
/// or any other control character, a Unicode line separator or bidi override,
/// and the backslash itself become backslash escapes (`\n`, `\x1b`,
/// `\u{202e}`, `\\`). So nothing found on disk can start a line of its own in
/// the journal (with a forged `<2>` priority), a Prometheus sample, or a
/// terminal's idea of the screen; and the escaping is unambiguous.
pub fn untrusted(s: &str) -> String {
    untrusted_bytes(s.as_bytes())
}

/// A path found on disk, as [`untrusted`] text; bytes that are not UTF-8
/// become `\xNN`, so no path is lost or changed silently.
pub fn untrusted_path(path: &Path) -> String {
    untrusted_bytes(path.as_os_str().as_bytes())
}

/// [`untrusted`] for raw bytes (names as the kernel gives them).
pub fn untrusted_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x100 && c.is_control() => {
                    out.push_str(&format!("\\x{:02x}", c as u32))
                }
                // Line and paragraph separators, bidi embeddings, overrides and isolates.
                '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                    out.push_str(&format!("\\u{{{:04x}}}", c as u32))
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// serde `serialize_with` for a path found on disk or given on the command
/// line: [`untrusted_path`], so a name that is not UTF-8 never fails (or
/// panics) a JSON report.
pub fn serialize_path<S: serde::Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&untrusted_path(path))
}

/// [`serialize_path`] for an optional path.
pub fn serialize_opt_path<S: serde::Serializer>(
    path: &Option<std::path::PathBuf>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match path {
        Some(p) => serialize_path(p, s),
        None => s.serialize_none(),
    }
}

/// The inverse of the octal escapes (`\040` for a space) that the kernel writes in
/// /proc/self/mountinfo and operators write in /etc/fstab. A backslash not followed
/// by three octal digits of a byte value (up to `\377`) stays as it is.
pub fn unescape_octal(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)))
            .map(|d| d.iter().fold(0u32, |v, c| v * 8 + u32::from(c - b'0')))
            .and_then(|v| u8::try_from(v).ok());
        match byte {
            Some(b) => {
                out.push(b);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal_escapes_are_undone_and_nothing_else() {
        assert_eq!(unescape_octal(r"/srv/hot\040tier"), "/srv/hot tier");
        assert_eq!(unescape_octal(r"a\011b\012c\134d"), "a\tb\nc\\d");
        // Not an escape: left as written, never a panic or a wrapped byte.
        assert_eq!(unescape_octal(r"\777 \08 \04 \"), r"\777 \08 \04 \");
    }

    #[test]
    fn tmpfiles_paths_read_back_as_written() {
        for path in ["/data/jts/hot", "/srv/hot tier", "/a%b c%%"] {
            let line = format!("{} 0750 a a -", tmpfiles_path(Path::new(path)));
            assert_eq!(tmpfiles_path_field(&line), Some(path.into()), "{line}");
        }
        assert_eq!(tmpfiles_path_field("  "), None);
    }

    #[test]
    fn mount_unit_names_as_systemd_escape_makes_them() {
        // Checked against `systemd-escape --path --suffix=mount` (systemd 252).
        for (path, name) in [
            ("/data/jts/hot", "data-jts-hot.mount"),
            ("/data/jts-hot/", "data-jts\\x2dhot.mount"),
            ("/srv/hot tier/100%", "srv-hot\\x20tier-100\\x25.mount"),
            ("/.x/a.b", "\\x2ex-a.b.mount"),
            ("/", "-.mount"),
        ] {
            assert_eq!(mount_unit_name(Path::new(path)), name, "{path}");
        }
    }

    #[test]
    fn plain_paths_stay_plain() {
        let p = Path::new("/data/jts/hot/postgresql");
        assert_eq!(tmpfiles_path(p), "/data/jts/hot/postgresql");
        assert_eq!(unit_path_word("-", p), "-/data/jts/hot/postgresql");
    }

    #[test]
    fn spaces_quote_and_percent_doubles() {
        let p = Path::new("/srv/hot tier/100%$x");
        assert_eq!(tmpfiles_path(p), "\"/srv/hot tier/100%%$x\"");
        assert_eq!(unit_path_word("-", p), "\"-/srv/hot tier/100%%$x\"");
        assert_eq!(exec_arg(p), "\"/srv/hot tier/100%%$$x\"");
        assert_eq!(comment("a\nb\\"), "a?b?");
    }

    #[test]
    fn untrusted_text_is_one_unambiguous_line() {
        use std::ffi::OsStr;
        assert_eq!(untrusted("plain/name ok"), "plain/name ok");
        assert_eq!(untrusted("a\nb\r\tc"), "a\\nb\\r\\tc");
        assert_eq!(untrusted("\x1b[2J<2>"), "\\x1b[2J<2>");
        assert_eq!(untrusted("back\\n"), "back\\\\n");
        assert_eq!(untrusted("\u{85}\u{7f}"), "\\x85\\x7f");
        assert_eq!(untrusted("\u{202e}evil"), "\\u{202e}evil");
        assert_eq!(untrusted("caf\u{e9} \u{2588}"), "caf\u{e9} \u{2588}");
        let p = Path::new(OsStr::from_bytes(b"/t/\xff\xfe\nx"));
        assert_eq!(untrusted_path(p), "/t/\\xff\\xfe\\nx");
    }

    #[test]
    fn file_contexts_regexes_are_literal() {
        let p = Path::new("/srv/hot tier/a.b+c(1)%");
        assert_eq!(
            file_contexts_regex(p),
            "/srv/hot\\x20tier/a\\.b\\+c\\(1\\)%"
        );
        assert_eq!(cil_comment_line("# x: y"), "; x: y");
    }

    #[test]
    fn prometheus_label_values_escape_backslash_quote_newline() {
        assert_eq!(prometheus_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        assert_eq!(prometheus_label_value("/data/jts/hot"), "/data/jts/hot");
    }
}
