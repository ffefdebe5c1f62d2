//! Small pictures for a terminal: a bar of used against planned with the
//! warning and critical marks, a sparkline of the history, and word wrapping
//! to a width. Pure functions: whether to color is the caller's decision
//! (main knows whether stdout is a terminal and whether NO_COLOR is set).

use crate::status::Status;

/// Cells between the brackets of a bar at 80 columns; the last cell ends at the plan.
pub const BAR_CELLS: usize = 24;
/// Characters of a sparkline.
const SPARK_CELLS: usize = 14;
/// The width the text report fits when nothing says the terminal's.
pub const WIDTH: usize = 80;
/// Narrower is laid out as this wide (a bar needs room); wider as MAX_WIDTH.
const MIN_WIDTH: usize = 50;
const MAX_WIDTH: usize = 240;

/// The width to lay the picture out in: `COLUMNS` when it is a number (the
/// shell's, or the operator's choice), else the terminal's (`tty`), else
/// WIDTH; within MIN_WIDTH..=MAX_WIDTH.
pub fn width(columns: Option<&str>, tty: Option<usize>) -> usize {
    columns
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
        .or(tty.filter(|&c| c > 0))
        .unwrap_or(WIDTH)
        .clamp(MIN_WIDTH, MAX_WIDTH)
}

const FILLED: char = '█';
const EMPTY: char = '·';
const WARN_MARK: char = '|';
const CRIT_MARK: char = '!';
const OVER: char = '▶';
const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Color or not, and how wide: decided once by main, passed down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
    /// Columns every line fits (see `width`).
    pub width: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tone {
    Ok,
    Warning,
    Critical,
    Unknown,
    Dim,
}

impl Style {
    pub const PLAIN: Style = Style {
        color: false,
        width: WIDTH,
    };
    pub const COLOR: Style = Style {
        color: true,
        width: WIDTH,
    };

    /// `text` in the tone's ANSI color, or as is when monochrome.
    fn paint(self, tone: Tone, text: &str) -> String {
        if !self.color || text.is_empty() {
            return text.to_string();
        }
        let sgr = match tone {
            Tone::Ok => "32",
            Tone::Warning => "33",
            Tone::Critical => "31",
            Tone::Unknown => "35",
            Tone::Dim => "2",
        };
        format!("\x1b[{sgr}m{text}\x1b[0m")
    }

    pub fn status(self, s: Status) -> String {
        self.paint(tone(s), s.as_str())
    }
}

fn tone(s: Status) -> Tone {
    match s {
        Status::Ok => Tone::Ok,
        Status::Warning => Tone::Warning,
        Status::Critical => Tone::Critical,
        Status::Unknown => Tone::Unknown,
    }
}

/// The cell a share of the whole (0..=1) falls in.
fn cell(share: f64, cells: usize) -> usize {
    ((share * cells as f64).floor().max(0.0) as usize).min(cells - 1)
}

/// `[████████████████···|··!·]`: `used` of `full`, the warning mark `|` and
/// the critical mark `!` where those thresholds fall (drawn over the fill
/// too, so they always show), `▶` instead of `]` past the whole. The fill
/// takes the tone of the highest threshold reached. Always BAR_CELLS + 2
/// characters wide.
pub fn bar(used: f64, full: f64, warn: f64, crit: f64, style: Style) -> String {
    bar_of(BAR_CELLS, used, full, warn, crit, style)
}

/// `bar` with `cells` cells (at least 2) between the brackets.
pub fn bar_of(cells: usize, used: f64, full: f64, warn: f64, crit: f64, style: Style) -> String {
    let cells = cells.max(2);
    let share = if full > 0.0 { used / full } else { 0.0 };
    let mut filled = (share * cells as f64).round() as usize;
    // The bar agrees with the percentage printed beside it: empty at "0%",
    // at least one cell from "1%" on.
    if (share * 100.0).round() < 1.0 {
        filled = 0;
    } else if filled == 0 {
        filled = 1;
    }
    let filled = filled.min(cells);
    let fill_tone = if used >= crit {
        Tone::Critical
    } else if used >= warn {
        Tone::Warning
    } else {
        Tone::Ok
    };
    let (warn_cell, crit_cell) = if full > 0.0 {
        (cell(warn / full, cells), cell(crit / full, cells))
    } else {
        (cells, cells)
    };
    let mut out = String::from("[");
    // Runs of one glyph and tone, so color codes stay few.
    let mut run = String::new();
    let mut run_tone = Tone::Dim;
    for i in 0..cells {
        let is_filled = i < filled;
        let glyph = if i == crit_cell {
            CRIT_MARK
        } else if i == warn_cell {
            WARN_MARK
        } else if is_filled {
            FILLED
        } else {
            EMPTY
        };
        let t = if is_filled { fill_tone } else { Tone::Dim };
        if t != run_tone && !run.is_empty() {
            out.push_str(&style.paint(run_tone, &run));
            run.clear();
        }
        run_tone = t;
        run.push(glyph);
    }
    out.push_str(&style.paint(run_tone, &run));
    if share > 1.0 {
        out.push_str(&style.paint(Tone::Critical, &OVER.to_string()));
    } else {
        out.push(']');
    }
    out
}

/// A sparkline of the `(unix time, value)` points in the `span` seconds up
/// to `now`: SPARK_CELLS slices of time, each showing its last value (an
/// empty slice repeats the one before, or is blank before any data). The
/// scale runs from the lowest to the highest value but never less than
/// `min_range`, so noise far below the plan does not look like a cliff.
pub fn sparkline(points: &[(u64, u64)], now: u64, span: u64, min_range: f64) -> String {
    let start = now.saturating_sub(span);
    let slice = (span as f64 / SPARK_CELLS as f64).max(1.0);
    let mut cells: Vec<Option<u64>> = vec![None; SPARK_CELLS];
    let mut sorted: Vec<&(u64, u64)> = points
        .iter()
        .filter(|(t, _)| *t >= start && *t <= now)
        .collect();
    sorted.sort_by_key(|(t, _)| *t);
    for (t, v) in sorted {
        let i = (((t - start) as f64 / slice) as usize).min(SPARK_CELLS - 1);
        cells[i] = Some(*v);
    }
    let mut last = None;
    for c in cells.iter_mut() {
        match c {
            Some(v) => last = Some(*v),
            None => *c = last,
        }
    }
    let known: Vec<f64> = cells.iter().flatten().map(|&v| v as f64).collect();
    let lo = known.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = known.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let range = (hi - lo).max(min_range).max(1.0);
    cells
        .iter()
        .map(|c| match c {
            None => ' ',
            Some(v) => {
                let level = ((*v as f64 - lo) / range * (LEVELS.len() - 1) as f64).round();
                LEVELS[(level as usize).min(LEVELS.len() - 1)]
            }
        })
        .collect()
}

/// Characters as a terminal counts them (every glyph used here is one
/// column; escape sequences are none).
pub fn columns(s: &str) -> usize {
    let mut n = 0;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // CSI ... final byte in @..~
            for d in chars.by_ref() {
                if ('@'..='~').contains(&d) && d != '[' {
                    break;
                }
            }
        } else {
            n += 1;
        }
    }
    n
}

/// Lays `parts` out after `first` on lines of at most `width` columns, two
/// spaces apart, every part starting at column `indent` or later (lines after
/// the first start with `indent` spaces). A part longer than a line is broken
/// at its spaces, and a word longer than a line (a path, a list of mount
/// options) where it must, so that nothing is wider than `width`.
pub fn wrap(first: &str, indent: usize, parts: &[String], width: usize) -> Vec<String> {
    let room = width.saturating_sub(indent).max(1);
    // (word, spaces before it when it follows something on the same line)
    let mut tokens: Vec<(&str, usize)> = Vec::new();
    for p in parts {
        if columns(p) + indent <= width {
            tokens.push((p, 2));
        } else {
            for (i, w) in p.split(' ').filter(|w| !w.is_empty()).enumerate() {
                let sep = if i == 0 { 2 } else { 1 };
                if columns(w) <= room || w.contains('\x1b') {
                    tokens.push((w, sep));
                    continue;
                }
                // Pieces of a full line each: every one starts a line.
                let mut rest = w;
                let mut first_piece = true;
                while !rest.is_empty() {
                    let end = rest
                        .char_indices()
                        .nth(room)
                        .map_or(rest.len(), |(at, _)| at);
                    tokens.push((&rest[..end], if first_piece { sep } else { 0 }));
                    rest = &rest[end..];
                    first_piece = false;
                }
            }
        }
    }
    let mut lines = Vec::new();
    let mut line = first.to_string();
    let mut empty = true; // nothing placed on this line yet
    for (w, sep) in tokens {
        let used = columns(&line);
        let at = if empty { used.max(indent) } else { used + sep };
        if !empty && at + columns(w) > width {
            lines.push(std::mem::replace(&mut line, " ".repeat(indent)));
            empty = true;
        }
        let used = columns(&line);
        let at = if empty { used.max(indent) } else { used + sep };
        line.push_str(&" ".repeat(at - used));
        line.push_str(w);
        empty = false;
    }
    lines.push(line);
    lines
}

/// `text` as a paragraph with a hanging indent: the first line starts at
/// column `first`, the others at `rest` (deeper, so a reader sees where
/// one item ends), none wider than `width`.
pub fn hanging(first: usize, rest: usize, text: &str, width: usize) -> Vec<String> {
    let mut lines = wrap("", rest, &[text.to_string()], width);
    if let Some(l) = lines.first_mut() {
        *l = format!("{}{}", " ".repeat(first), l.trim_start());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_fills_in_proportion_and_always_shows_the_marks() {
        // 25% of plan, warning at 80%, critical at 95%.
        let b = bar(25.0, 100.0, 80.0, 95.0, Style::PLAIN);
        assert_eq!(b, "[██████·············|··!·]");
        assert_eq!(columns(&b), BAR_CELLS + 2);
        // Past the critical share: the marks still show inside the fill.
        let b = bar(97.0, 100.0, 80.0, 95.0, Style::PLAIN);
        assert_eq!(b, "[███████████████████|██!·]");
        let b = bar(99.0, 100.0, 80.0, 95.0, Style::PLAIN);
        assert_eq!(b, "[███████████████████|██!█]");
        // Over the plan: the end says so.
        let b = bar(131.0, 100.0, 80.0, 95.0, Style::PLAIN);
        assert_eq!(b, "[███████████████████|██!█▶");
        // From 1% on something shows; below it (printed "0%") the bar is empty.
        assert!(bar(1.0, 100.0, 80.0, 95.0, Style::PLAIN).starts_with("[█·"));
        assert!(bar(1.0, 1e9, 8e8, 9.5e8, Style::PLAIN).starts_with("[···"));
        assert!(bar(0.0, 100.0, 80.0, 95.0, Style::PLAIN).starts_with("[··"));
        // Any number of cells, the marks where their shares fall.
        assert_eq!(
            bar_of(10, 50.0, 100.0, 80.0, 95.0, Style::PLAIN),
            "[█████···|!]"
        );
        // A zero plan draws an empty bar, no mark, no panic.
        assert_eq!(
            columns(&bar(5.0, 0.0, 0.0, 0.0, Style::PLAIN)),
            BAR_CELLS + 2
        );
    }

    #[test]
    fn the_width_is_columns_else_the_terminal_else_80_within_bounds() {
        assert_eq!(width(Some("120"), Some(60)), 120);
        assert_eq!(width(None, Some(60)), 60);
        assert_eq!(width(Some("x"), Some(100)), 100);
        assert_eq!(width(Some("0"), None), WIDTH);
        assert_eq!(width(None, None), WIDTH);
        assert_eq!(width(Some("20"), None), MIN_WIDTH);
        assert_eq!(width(Some("9999"), None), MAX_WIDTH);
    }

    #[test]
    fn color_only_when_asked_and_in_the_tone_reached() {
        assert!(!bar(97.0, 100.0, 80.0, 95.0, Style::PLAIN).contains('\x1b'));
        let red = bar(97.0, 100.0, 80.0, 95.0, Style::COLOR);
        assert!(red.contains("\x1b[31m█"), "{red:?}");
        let yellow = bar(85.0, 100.0, 80.0, 95.0, Style::COLOR);
        assert!(yellow.contains("\x1b[33m█") && !yellow.contains("\x1b[31m"));
        let green = bar(10.0, 100.0, 80.0, 95.0, Style::COLOR);
        assert!(green.contains("\x1b[32m█"));
        assert_eq!(columns(&red), BAR_CELLS + 2);
        assert_eq!(Style::PLAIN.status(Status::Critical), "CRITICAL");
        assert_eq!(Style::COLOR.status(Status::Ok), "\x1b[32mOK\x1b[0m");
    }

    #[test]
    fn sparkline_rises_with_the_history_and_is_flat_for_noise() {
        let now = 14 * 100;
        let rising: Vec<(u64, u64)> = (0..14).map(|i| (i * 100 + 50, 1000 + i * 100)).collect();
        assert_eq!(sparkline(&rising, now, 1400, 0.0), "▁▂▂▃▃▄▄▅▅▆▆▇▇█");
        // A wiggle of 10 bytes on a 1 MB plan is flat.
        let flat: Vec<(u64, u64)> = (0..14).map(|i| (i * 100 + 50, 5000 + i % 2 * 10)).collect();
        assert_eq!(sparkline(&flat, now, 1400, 10_000.0), "▁".repeat(14));
        // Only the current sample: blank until it, then one level.
        assert_eq!(
            sparkline(&[(now, 7)], now, 1400, 0.0),
            format!("{}▁", " ".repeat(13))
        );
        assert_eq!(sparkline(&[], now, 1400, 0.0), " ".repeat(14));
        // A gap repeats the last value; points outside the span are ignored.
        let gap = [(0, 0), (50, 100), (1350, 800)];
        assert_eq!(sparkline(&gap, now, 1400, 0.0), "▁▁▁▁▁▁▁▁▁▁▁▁▁█");
    }

    #[test]
    fn wrap_keeps_parts_whole_within_the_width() {
        let parts: Vec<String> = ["aaaa", "bbbb", "cccc"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(wrap("x", 2, &parts, 12), vec!["x aaaa  bbbb", "  cccc"]);
        let long = vec!["one two three four five six".to_string()];
        let lines = wrap("why:", 5, &long, 16);
        assert_eq!(
            lines,
            vec!["why: one two", "     three four", "     five six"]
        );
        assert!(lines.iter().all(|l| columns(l) <= 16));
        assert_eq!(columns("\x1b[31mab\x1b[0m"), 2);
        assert_eq!(hanging(1, 3, "aa bb cc dd", 8), vec![" aa bb", "   cc dd"]);
        // A word longer than a line is cut where it must be.
        let cut = hanging(0, 2, "x (rw,relatime,discard)", 10);
        assert_eq!(cut, vec!["x", "  (rw,rela", "  time,dis", "  card)"]);
    }
}
