//! From text to `RawLayout`, reporting every error in one run: each syntax
//! error, each unknown key (with the key it most likely meant) and each
//! value of the wrong type. serde stops at the first error, so each one
//! found is recorded and its entry blanked out (spaces, so every offset and
//! line stays where it was), and the text is read again.

use std::ops::Range;

use super::checker::RawLayout;
use super::error::{self, LayoutError, Locator};

/// More than a person makes in one edit; bounds the re-reading (each error
/// costs a reading of the whole text).
const MAX_ERRORS: usize = 25;
/// Past this size (no layout written by hand) only the first error of
/// reading is reported, so a huge hostile file costs one reading.
const REREAD_BELOW: usize = 1 << 20;

/// The raw layout, if the text could be read into one, and every error found
/// on the way. A raw layout comes with errors when the entries at fault
/// could be set aside (the rules then check the rest).
pub(crate) fn raw(loc: &Locator<'_>) -> (Option<RawLayout>, Vec<LayoutError>) {
    let mut text = loc.text.to_string();
    let mut errors = Vec::new();
    // Syntax: TOML's own recovering parser finds them all in one pass.
    let (_, syntax) = toml::de::DeTable::parse_recoverable(&text);
    if !syntax.is_empty() {
        for e in &syntax {
            let at = e.span().map_or(0, |s| s.start);
            let field = field(loc.text, at);
            errors.push(loc.at(e.span(), &field, syntax_message(loc.text, at, e.message())));
            blank_line(&mut text, at);
        }
        // Blanking a line of a multi-line value can break what is left:
        // then what is wrong is said, and nothing more is guessed.
        if !toml::de::DeTable::parse_recoverable(&text).1.is_empty() {
            return (None, errors);
        }
    }
    let mut blanked: Vec<String> = Vec::new();
    let rounds = if text.len() < REREAD_BELOW {
        MAX_ERRORS
    } else {
        1
    };
    for _ in 0..rounds {
        let e = match toml::from_str::<RawLayout>(&text) {
            Ok(raw) => return (Some(raw), errors),
            Err(e) => e,
        };
        let message = e.message().trim().to_string();
        let at = e.span().map_or(0, |s| s.start);
        let field = e.span().map_or(String::new(), |_| field(&text, at));
        if let Some(missing) = missing_field(&message) {
            // A required key this reading set aside is already reported.
            if !blanked.iter().any(|b| b.ends_with(missing)) {
                errors.push(loc.at(e.span(), &field, message));
            }
            return (None, errors);
        }
        let entry = e.span().and_then(|s| entry_span(&text, s.start));
        errors.push(loc.at(e.span(), &field, explain(&message, &field)));
        let Some(entry) = entry else {
            return (None, errors);
        };
        blank(&mut text, entry);
        blanked.push(field.clone());
        if !toml::de::DeTable::parse_recoverable(&text).1.is_empty() {
            return (None, errors);
        }
    }
    (None, errors)
}

/// The dotted field at an offset, as the errors name it.
fn field(text: &str, at: usize) -> String {
    error::field_path_at(text, at).unwrap_or_else(|| error::field_at(text, at))
}

/// TOML's message, or for the usual slip, what to write instead.
fn syntax_message(text: &str, at: usize, message: &str) -> String {
    let line_start = text[..at.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    if let Some((key, value)) = line.split_once('=') {
        let value = value.split('#').next().unwrap_or("").trim();
        if key.trim() == "mode" && value.chars().all(|c| c.is_ascii_digit()) && !value.is_empty() {
            return quote_mode(value);
        }
    }
    message.trim().to_string()
}

fn quote_mode(value: &str) -> String {
    format!(
        "write the mode in quotes, mode = \"{value:0>4}\": unquoted it is a TOML number \
         (0750 is refused, 750 would be decimal)"
    )
}

/// serde's message made into the operator's words: an unknown key with the
/// key it most likely meant, an unquoted mode.
fn explain(message: &str, field: &str) -> String {
    if let Some((unknown, known)) = unknown_field(message) {
        let close = known
            .iter()
            .map(|k| (strsim::jaro_winkler(&unknown, k), k))
            .filter(|(score, _)| *score >= 0.8)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, k)| k);
        return match close {
            Some(k) => format!("unknown key `{unknown}`: did you mean `{k}`?"),
            None => format!(
                "unknown key `{unknown}`: the keys here are {}",
                known.join(", ")
            ),
        };
    }
    if message.starts_with("invalid type: string") && message.ends_with("expected i64") {
        return format!("{message}: write the number without quotes");
    }
    let last = field.rsplit('.').next().unwrap_or(field);
    if last == "mode" && message.starts_with("invalid type: integer") {
        let value = message
            .split('`')
            .nth(1)
            .unwrap_or("0750")
            .trim_start_matches('+');
        return quote_mode(value);
    }
    message.to_string()
}

/// From serde's "unknown field `x`, expected one of `a`, `b`" (or "expected
/// `a`"): the key and the keys that are allowed there.
fn unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (unknown, rest) = rest.split_once('`')?;
    let known = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    Some((unknown.to_string(), known))
}

/// "missing field `capacity`" -> "capacity".
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

/// The bytes of the entry (`key = value`, or a whole `[table]` with its
/// keys) whose key or value holds `offset`, innermost first.
fn entry_span(text: &str, offset: usize) -> Option<Range<usize>> {
    let (table, _) = toml::de::DeTable::parse_recoverable(text);
    let span = entry_in_table(table.get_ref(), offset)?;
    // A `[table]` header: its keys follow on the lines below, up to the next header.
    let line_start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
    if text[line_start..].trim_start().starts_with('[') {
        let mut end = text.len();
        let mut pos = text[span.start..]
            .find('\n')
            .map_or(text.len(), |i| span.start + i + 1);
        while pos < text.len() {
            let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1);
            if text[pos..line_end].trim_start().starts_with('[') {
                end = pos;
                break;
            }
            pos = line_end;
        }
        return Some(line_start..end);
    }
    Some(span)
}

fn entry_in_table(t: &toml::de::DeTable<'_>, offset: usize) -> Option<Range<usize>> {
    for (k, v) in t.iter() {
        if let Some(inner) = entry_in_value(v.get_ref(), offset) {
            return Some(inner);
        }
        let (key, value) = (k.span(), v.span());
        if key.contains(&offset) || value.contains(&offset) {
            return Some(key.start.min(value.start)..key.end.max(value.end));
        }
    }
    None
}

fn entry_in_value(v: &toml::de::DeValue<'_>, offset: usize) -> Option<Range<usize>> {
    match v {
        toml::de::DeValue::Table(t) => entry_in_table(t, offset),
        toml::de::DeValue::Array(items) => items
            .iter()
            .find_map(|item| entry_in_value(item.get_ref(), offset)),
        _ => None,
    }
}

/// Spaces over `range`, newlines kept: offsets, lines and columns elsewhere
/// stay what the operator sees in the file.
fn blank(text: &mut String, range: Range<usize>) {
    let blanked: String = text[range.clone()]
        .chars()
        .map(|c| if c == '\n' { '\n' } else { ' ' })
        .collect();
    // Same length in bytes only for ASCII; pad to keep later offsets.
    let pad = range.len().saturating_sub(blanked.len());
    text.replace_range(range, &format!("{blanked}{}", " ".repeat(pad)));
}

fn blank_line(text: &mut String, at: usize) {
    let at = at.min(text.len());
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    blank(text, start..end);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_and_their_neighbours() {
        let (k, known) =
            unknown_field("unknown field `capacty`, expected one of `base`, `capacity`").unwrap();
        assert_eq!(k, "capacty");
        assert_eq!(known, ["base", "capacity"]);
        assert_eq!(
            explain(
                "unknown field `capacty`, expected one of `base`, `capacity`",
                "tier.capacty"
            ),
            "unknown key `capacty`: did you mean `capacity`?"
        );
        assert!(
            explain("unknown field `zzz`, expected `every`", "monitor.zzz")
                .contains("the keys here are every")
        );
        assert_eq!(missing_field("missing field `capacity`"), Some("capacity"));
    }

    #[test]
    fn blanking_keeps_every_offset() {
        let mut t = "a = 1\nb = \"é\"\n".to_string();
        let len = t.len();
        blank_line(&mut t, 7);
        assert_eq!(t.len(), len);
        assert!(t.starts_with("a = 1\n") && t[6..].trim().is_empty());
    }
}
