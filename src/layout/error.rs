//! Errors about a layout file, each pinned to a file, a line, a column and a field.

use std::fmt;
use std::ops::Range;

/// One thing wrong with a layout, where the operator can find it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// Dotted path of the offending field, e.g. `services.kafka.mode`; empty when
    /// the file as a whole is at fault (unreadable, not TOML).
    pub field: String,
    pub message: String,
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

/// Every error found in one layout; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutErrors(pub Vec<LayoutError>);

impl fmt::Display for LayoutErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LayoutErrors {}

/// Turns byte offsets in one file's text into 1-based line and column numbers.
pub(crate) struct Locator<'a> {
    pub file: &'a str,
    pub text: &'a str,
}

impl Locator<'_> {
    pub fn at(
        &self,
        span: Option<Range<usize>>,
        field: &str,
        message: impl Into<String>,
    ) -> LayoutError {
        let (line, column) = match span {
            Some(span) => line_column(self.text, span.start),
            None => (1, 1),
        };
        LayoutError {
            file: self.file.to_string(),
            line,
            column,
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// The dotted field (with `[i]` for array items) whose key or value holds a
/// byte offset, from TOML's own spanned tree: exact even inside inline
/// tables and arrays, and for a table header such as `[tier.extra]` placed
/// after other tables. `None` when the text is too broken to tell.
pub(crate) fn field_path_at(text: &str, offset: usize) -> Option<String> {
    let (table, _) = toml::de::DeTable::parse_recoverable(text);
    find_in_table(table.get_ref(), offset, "")
}

fn find_in_table(t: &toml::de::DeTable<'_>, offset: usize, prefix: &str) -> Option<String> {
    for (k, v) in t.iter() {
        let name = if prefix.is_empty() {
            k.get_ref().to_string()
        } else {
            format!("{prefix}.{}", k.get_ref())
        };
        // The deepest match wins: a table's span may cover only its header.
        if let Some(deeper) = find_in_value(v.get_ref(), offset, &name) {
            return Some(deeper);
        }
        if k.span().contains(&offset) || v.span().contains(&offset) {
            return Some(name);
        }
    }
    None
}

fn find_in_value(v: &toml::de::DeValue<'_>, offset: usize, name: &str) -> Option<String> {
    match v {
        toml::de::DeValue::Table(t) => find_in_table(t, offset, name),
        toml::de::DeValue::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let item_name = format!("{name}[{i}]");
            find_in_value(item.get_ref(), offset, &item_name)
                .or_else(|| item.span().contains(&offset).then_some(item_name))
        }),
        _ => None,
    }
}

/// The 1-based line and column of the value of a dotted field such as
/// `tier.capacity`; `None` when the text does not hold it.
pub(crate) fn position_of(text: &str, field: &str) -> Option<(usize, usize)> {
    let (table, _) = toml::de::DeTable::parse_recoverable(text);
    let mut parts = field.split('.').peekable();
    let mut t = table.get_ref();
    while let Some(part) = parts.next() {
        let (_, v) = t.iter().find(|(k, _)| k.get_ref() == part)?;
        if parts.peek().is_none() {
            return Some(line_column(text, v.span().start));
        }
        match v.get_ref() {
            toml::de::DeValue::Table(inner) => t = inner,
            _ => return None,
        }
    }
    None
}

/// The dotted field at a byte offset, for errors the TOML parser reports
/// without one: the nearest `[table]` header above and the key on that line.
pub(crate) fn field_at(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = &text[line_start..line_end];
    // An error on a table header (an unknown table such as `[tier.extra]`)
    // belongs to that table, not to the one above it.
    if line.trim_start().starts_with('[') {
        return header_name(line);
    }
    let table = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(header_name);
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_string())
        .filter(|k| !k.is_empty() && !k.starts_with('#') && !k.starts_with('['));
    match (table, key) {
        (Some(t), Some(k)) => format!("{t}.{k}"),
        (Some(t), None) => t,
        (None, Some(k)) => k,
        (None, None) => String::new(),
    }
}

/// `services.kafka` from a header line `[services.kafka]  # comment`.
fn header_name(line: &str) -> String {
    let line = line.split('#').next().unwrap_or("");
    line.trim()
        .trim_matches(|c| c == '[' || c == ']')
        .trim()
        .replace(['"', '\''], "")
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::{field_at, line_column};

    #[test]
    fn fields_from_offsets() {
        let text = "[tier]\nbase = 1\n\n[services.kafka]\nmode = 750\n";
        assert_eq!(field_at(text, text.find("1").unwrap()), "tier.base");
        assert_eq!(
            field_at(text, text.find("750").unwrap()),
            "services.kafka.mode"
        );
        assert_eq!(field_at(text, 0), "tier");
        assert_eq!(field_at("a = 1\n", 0), "a");
        assert_eq!(field_at("\n", 0), "");
        // A table header after another table is that table's own.
        let text = "[services.kafka]\nmode = 1\n[tier.extra] # x\nfoo = 1\n";
        assert_eq!(field_at(text, text.find("extra").unwrap()), "tier.extra");
    }

    #[test]
    fn lines_and_columns_are_one_based() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, 9), (2, 4));
        assert_eq!(line_column(text, 999), (3, 1));
    }
}
