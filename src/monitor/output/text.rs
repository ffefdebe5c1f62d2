//! `jts-hot monitor` as a picture for people and as the one-line summary
//! that goes to the journal. Every line carries its own severity, so that
//! under systemd each is filed at its own priority.

use std::fmt::Write;

use super::picture::{self, Style};
use crate::escape;
use crate::monitor::forecast::{Bounds, Trend};
use crate::monitor::history::GROWTH_WINDOW_SECONDS;
use crate::monitor::Report;
use crate::status::{self, Status};
use crate::units;

/// The JSON document (schema [`crate::monitor::SCHEMA`], docs/monitor.md).
pub fn json(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report).expect("a report always serializes");
    s.push('\n');
    s
}

/// Column where bars, trends and reasons start (after the name).
const INDENT: usize = 13;
/// Columns of `USED / PLANNED` in a wide picture.
const FIGURES: usize = 21;

/// Where the picture's columns fall at a width: from 80 columns the bar
/// line carries the sizes and the bar grows with the width; narrower, the
/// sizes move to the line below and the bar shrinks, so nothing wraps.
#[derive(Clone, Copy)]
struct Geometry {
    width: usize,
    cells: usize,
    /// The sizes on the bar line.
    wide: bool,
}

impl Geometry {
    fn of(width: usize) -> Geometry {
        // name, [bar], " 100%  ", then (wide) sizes "  " and the status (8).
        let wide = width >= picture::WIDTH;
        let rest = 2 + 1 + 5 + 2 + 8 + if wide { FIGURES + 2 } else { 0 };
        let room = width.saturating_sub(INDENT + rest);
        let cells = match wide {
            // 24 at 80 columns, then one more a column, up to 60.
            true => (picture::BAR_CELLS + (width - picture::WIDTH)).min(60),
            false => room.min(picture::BAR_CELLS),
        };
        Geometry {
            width,
            cells: cells.max(4),
            wide,
        }
    }
}

/// The number of cells of the bars at `width` columns (tests/terminal.rs
/// draws the same bar to compare).
pub fn bar_cells(width: usize) -> usize {
    Geometry::of(width).cells
}

/// Lines with their severity.
#[derive(Default)]
struct Lines(Vec<(Status, String)>);

impl Lines {
    fn push(&mut self, s: Status, line: impl Into<String>) {
        self.0.push((s, line.into()));
    }

    fn extend(&mut self, s: Status, lines: impl IntoIterator<Item = String>) {
        self.0.extend(lines.into_iter().map(|l| (s, l)));
    }
}

/// The text report: the picture, then the summary wrapped like it. Under
/// the journal (`journal`) each line carries its severity's prefix and the
/// summary is left out: it goes to the journal as one line
/// ([`journal_summary`]). `style` says whether to color (main decides).
pub fn text(report: &Report, style: Style, journal: bool) -> String {
    let mut lines = picture_lines(report, style);
    if journal {
        // The blank lines only space the picture out for a reader.
        lines.0.retain(|(_, l)| !l.is_empty());
    } else {
        let summary = summary(report);
        lines.extend(report.status, picture::hanging(0, 2, &summary, style.width));
    }
    status::lines(&lines.0, journal)
}

/// What a run under systemd writes to the journal besides its summary
/// (`journal_summary`, on stderr): one whole line per thing that is not OK
/// (a service, the filesystem, a validation finding), each at its own
/// priority; nothing when all is well. The picture is `--format text`'s.
pub fn journal_lines(report: &Report) -> String {
    let mut lines = Lines::default();
    for s in report.services.iter().filter(|s| s.status != Status::Ok) {
        lines.push(
            s.status,
            format!(
                "{} service {}: {} of {} planned ({} of plan): {}",
                s.status,
                s.name,
                units::bytes(s.allocated_bytes),
                units::bytes(s.planned_bytes),
                percent(s.allocated_bytes as f64, s.planned_bytes as f64),
                s.reasons.join("; ")
            ),
        );
        for d in &s.unreadable {
            lines.push(
                s.status,
                format!("{} service {}: unreadable: {d}", s.status, s.name),
            );
        }
        for e in &s.errors {
            lines.push(
                s.status,
                format!("{} service {}: error: {e}", s.status, s.name),
            );
        }
    }
    if let Some(f) = report
        .filesystem
        .as_ref()
        .filter(|f| f.status != Status::Ok)
    {
        lines.push(
            f.status,
            format!(
                "{} filesystem {}: {:.1}% free: {}",
                f.status,
                escape::untrusted_path(&report.base),
                f.free_percent,
                f.reasons.join("; ")
            ),
        );
    }
    for f in &report.validation.findings {
        lines.push(f.severity, crate::validate::output::finding_line(f));
    }
    status::lines(&lines.0, true)
}

/// The summary as the journal gets it: one line at the run's status.
pub fn journal_summary(report: &Report) -> String {
    status::lines(&[(report.status, summary(report))], true)
}

/// The picture a person reads at a glance: per service a bar of used
/// against planned with the warning `|` and critical `!` marks and a
/// sparkline of the last 7 days, then the filesystem the same way; every
/// line fits the style's width.
fn picture_lines(report: &Report, style: Style) -> Lines {
    let mut out = Lines::default();
    let g = Geometry::of(style.width);
    let legend = match g.cells + 2 >= 26 {
        true => "USE OF PLAN  | warn ! crit",
        false => "USE OF PLAN",
    };
    let sizes = match g.wide {
        true => format!("  {:<FIGURES$}", "USED / PLANNED"),
        false => String::new(),
    };
    out.push(
        Status::Ok,
        format!(
            "{:<w$}{legend:<b$} {:>5}{sizes}  STATUS",
            "SERVICE",
            "",
            w = INDENT,
            b = g.cells + 2
        ),
    );
    for s in &report.services {
        service_block(&mut out, s, report.timestamp, style);
    }
    out.push(Status::Ok, "");
    filesystem_block(&mut out, report, style);
    out.push(Status::Ok, "");
    forecast_block(&mut out, report, style);
    out.push(Status::Ok, "");
    footer(&mut out, report, style);
    out
}

fn service_block(out: &mut Lines, s: &crate::monitor::ServiceUsage, now: u64, style: Style) {
    let window = s.forecast.window_seconds;
    let spark = picture::sparkline(&s.trend, now, window, s.planned_bytes as f64 / 100.0);
    let mut details = vec![format!("{} {spark}", window_label(window))];
    details.extend(outlook(
        s.growth_bytes_per_day,
        s.days_until_plan,
        "plan in",
        "plan reached",
    ));
    if let (Some(files), Some(dirs)) = (s.files, s.dirs) {
        details.push(format!("{files} files, {dirs} dirs"));
    }
    if let Some(q) = &s.quota {
        let limit = |l: Option<u64>| l.map_or("none".to_string(), units::bytes);
        details.push(format!(
            "usage from the {}; project {}: soft {}, hard {}",
            s.usage_source.as_str(),
            q.project_id,
            limit(q.soft_limit_bytes),
            limit(q.hard_limit_bytes)
        ));
    }
    Block {
        name: &s.name,
        used: s.allocated_bytes as f64,
        full: s.planned_bytes as f64,
        warn: s.warning_bytes as f64,
        crit: s.critical_bytes as f64,
        status: s.status,
        details,
        reasons: &s.reasons,
    }
    .lines(out, style);
    if let Some(top) = s.subdirs.as_ref().filter(|t| !t.largest.is_empty()) {
        let line = format!("largest: {}", largest(top));
        out.extend(
            s.status,
            picture::hanging(INDENT, INDENT + 2, &line, style.width),
        );
    }
    for d in &s.unreadable {
        out.push(s.status, format!("    unreadable: {d}"));
    }
    for e in &s.errors {
        out.push(s.status, format!("    error: {e}"));
    }
}

fn filesystem_block(out: &mut Lines, report: &Report, style: Style) {
    let base = escape::untrusted_path(&report.base);
    let Some(f) = &report.filesystem else {
        out.push(
            Status::Unknown,
            format!("FILESYSTEM   {base}  {}", style.status(Status::Unknown)),
        );
        return;
    };
    let usable_bytes = f.stats.used_bytes.saturating_add(f.stats.avail_bytes);
    let usable = usable_bytes as f64;
    // One total a line: the device's size here, what services can use on
    // the bar line (the bar, the share and "used / usable" are of it).
    let reserved = f.stats.size_bytes.saturating_sub(usable_bytes);
    out.extend(
        f.status,
        picture::hanging(0, INDENT, &format!("FILESYSTEM   {base}"), style.width),
    );
    let size = format!(
        "size {}: {} usable, {} reserved for root",
        units::bytes(f.stats.size_bytes),
        units::bytes(usable_bytes),
        units::bytes(reserved)
    );
    out.extend(
        f.status,
        picture::hanging(INDENT, INDENT + 2, &size, style.width),
    );
    let window = f.forecast.window_seconds;
    let spark = picture::sparkline(&f.trend, report.timestamp, window, usable / 100.0);
    let mut details = vec![format!("{} {spark}", window_label(window))];
    details.extend(outlook(
        f.growth_bytes_per_day,
        f.days_until_full,
        "full in",
        "full",
    ));
    details.push(format!("{:.1}% free", f.free_percent));
    let inodes = format!("inodes free {} of {}", f.stats.inodes_free, f.stats.inodes);
    Block {
        name: "",
        used: f.stats.used_bytes as f64,
        full: usable,
        warn: usable - f.avail_warning_bytes as f64,
        crit: usable - f.avail_critical_bytes as f64,
        status: f.status,
        details,
        reasons: &f.reasons,
    }
    .lines(out, style);
    // A total of its own (inodes), on a line of its own.
    out.extend(f.status, picture::wrap("", INDENT, &[inodes], style.width));
}

/// One line of the ranked forecast: who, what it reaches, the forecast.
struct Ranked<'a> {
    name: String,
    status: Status,
    what: &'static str,
    reached: &'static str,
    days: &'a Bounds,
    trend: Trend,
}

/// The forecasts ranked most urgent first, each line with its status: by
/// the low bound (the soonest the interval allows), then the likely
/// figure; those without a figure last, saying why.
pub fn ranked_forecast(report: &Report) -> Vec<(Status, String)> {
    let mut rows: Vec<Ranked> = report
        .services
        .iter()
        .map(|s| Ranked {
            name: s.name.clone(),
            status: s.status,
            what: "plan in",
            reached: "plan reached",
            days: &s.forecast.days_to_plan,
            trend: s.forecast.trend,
        })
        .collect();
    if let Some(f) = &report.filesystem {
        rows.push(Ranked {
            name: "filesystem".to_string(),
            status: f.status,
            what: "full in",
            reached: "full",
            days: &f.forecast.days_to_full,
            trend: f.forecast.trend,
        });
    }
    let key = |r: &Ranked| {
        let far = f64::INFINITY;
        (r.days.low.unwrap_or(far), r.days.likely.unwrap_or(far))
    };
    rows.sort_by(|a, b| {
        let (a, b) = (key(a), key(b));
        a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1))
    });
    rows.iter()
        .map(|r| {
            let figures = match (r.days.low, r.days.likely) {
                (_, Some(likely)) if likely <= 0.0 => r.reached.to_string(),
                (Some(low), Some(likely)) => format!(
                    "{} {} / {} / {} days",
                    r.what,
                    days(Some(low)),
                    days(Some(likely)),
                    r.days.high.map_or("never".to_string(), |h| days(Some(h)))
                ),
                _ => format!("no forecast: {}", r.trend.why_none()),
            };
            (
                r.status,
                format!("{:<w$} {figures}", r.name, w = INDENT - 1),
            )
        })
        .collect()
}

/// The ranked forecast under its heading.
fn forecast_block(out: &mut Lines, report: &Report, style: Style) {
    let window = report
        .services
        .first()
        .map(|s| s.forecast.window_seconds)
        .or(report
            .filesystem
            .as_ref()
            .map(|f| f.forecast.window_seconds))
        .unwrap_or(GROWTH_WINDOW_SECONDS);
    let head = format!(
        "FORECAST over {}, most urgent first (days: soonest / likely / latest)",
        window_label(window)
    );
    out.extend(Status::Ok, picture::hanging(0, 2, &head, style.width));
    for (status, line) in ranked_forecast(report) {
        out.extend(status, picture::hanging(0, INDENT, &line, style.width));
    }
}

/// "7d", "36h": the window as the layout writes it.
fn window_label(seconds: u64) -> String {
    if seconds % 86_400 == 0 {
        format!("{}d", seconds / 86_400)
    } else if seconds % 3_600 == 0 {
        format!("{}h", seconds / 3_600)
    } else {
        format!("{seconds}s")
    }
}

/// The scan, the history, the validation and its findings, the notes.
fn footer(out: &mut Lines, report: &Report, style: Style) {
    let w = style.width;
    let how = match report.scan.threads {
        0 => "no walk (every usage from its quota)".to_string(),
        n => format!("with {n} threads"),
    };
    let scan = format!(
        "scan: {:.3} s {how}{}",
        report.scan.duration_seconds,
        if report.scan.partial { ", PARTIAL" } else { "" },
    );
    out.extend(Status::Ok, picture::hanging(0, 6, &scan, w));
    if let Some(walk) = &report.subdir_walk {
        out.extend(Status::Ok, picture::hanging(0, 6, &subdir_walk(walk), w));
    }
    let history = format!(
        "history: {} samples in {}",
        report.history.samples,
        escape::untrusted_path(&report.history.path)
    );
    out.extend(Status::Ok, picture::hanging(0, 6, &history, w));
    out.extend(Status::Ok, picture::hanging(0, 6, &canary_line(report), w));
    let v = &report.validation;
    out.push(
        v.status,
        format!(
            "validation: {} ({} checks, {} findings, {:.1} ms)",
            style.status(v.status),
            v.checks,
            v.findings.len(),
            v.duration_seconds * 1000.0
        ),
    );
    for f in &v.findings {
        let finding = crate::validate::output::finding_line(f);
        out.extend(f.severity, picture::hanging(4, 6, &finding, style.width));
    }
    for n in &report.notes {
        let note = format!("note: {n}");
        out.extend(Status::Ok, picture::hanging(0, 6, &note, style.width));
    }
}

/// The fsync canary: this run's latency, the p99 of every run, the probe
/// baseline's p99 and the drift verdict (informational: the run's status
/// is the mixin's JtsHotFsyncDrift to raise).
pub fn canary_line(report: &Report) -> String {
    use crate::monitor::canary::{Drift, DRIFT_FACTOR, DRIFT_MIN_RUNS};
    let Some(c) = &report.fsync_canary else {
        return "fsync canary: not run (the tier's disk not in place, or another run held the state lock)"
            .to_string();
    };
    let this = c.seconds.map_or_else(
        || "not run this time (a note says why)".to_string(),
        |s| units::micros(s * 1e6),
    );
    let over = match (&c.histogram, c.p99_seconds) {
        (Some(h), Some(p99)) => format!(
            "p99 {} over {} run(s) since {}",
            units::micros(p99 * 1e6),
            h.count,
            humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(h.since_unix)
            )
        ),
        _ => "no runs recorded".to_string(),
    };
    let baseline = match (c.drift, &report.probe_baseline) {
        (Drift::NoBaseline, _) | (_, None) => {
            "no probe baseline (jts-hot probe --save)".to_string()
        }
        (Drift::BaselineElsewhere, Some(b)) => format!(
            "the probe baseline is of {}, not the tier's base",
            escape::untrusted_path(&b.dir)
        ),
        (_, Some(b)) => format!("probe baseline p99 {}", units::micros(b.fsync_p99_us)),
    };
    let verdict = match c.drift {
        Drift::Within => format!("within {DRIFT_FACTOR}x the baseline"),
        Drift::Drifted => format!("DRIFTED beyond {DRIFT_FACTOR}x the baseline"),
        Drift::TooFewRuns => format!("not judged before {DRIFT_MIN_RUNS} runs"),
        Drift::NoBaseline | Drift::BaselineElsewhere => "not judged".to_string(),
    };
    format!(
        "fsync canary: this run {this}; {over}; {baseline}: {} ({verdict})",
        c.drift.as_str()
    )
}

/// How far the budgeted subdirectory walk got: this run, then the round.
pub fn subdir_walk(w: &crate::monitor::subdir_round::SubdirWalk) -> String {
    let utc = |t: u64| {
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(t);
        humantime::format_rfc3339_seconds(at).to_string()
    };
    let run = if w.walked_this_run {
        format!(
            "{} entries this run (budget {}, {:.3} s{})",
            w.entries_this_run,
            w.budget_entries,
            w.duration_seconds,
            if w.idle_io { ", idle I/O" } else { "" }
        )
    } else {
        "not due this run".to_string()
    };
    let round = if w.round_complete {
        "complete".to_string()
    } else {
        match &w.stopped_at {
            Some(at) => format!("in progress, stopped at {at}"),
            None => "in progress".to_string(),
        }
    };
    let last = match w.last_complete_unix {
        Some(t) => format!("; top lists from the round finished {}", utc(t)),
        None => "; no round complete yet".to_string(),
    };
    format!(
        "subdirectory walk: {run}; round from {} {round}: {}/{} services, {} entries in {} runs{last}",
        utc(w.round_started_unix),
        w.services_done,
        w.services,
        w.round_entries,
        w.round_runs,
    )
}

/// One bar with its figures: used of full, warning and critical marks.
struct Block<'a> {
    name: &'a str,
    used: f64,
    full: f64,
    warn: f64,
    crit: f64,
    status: Status,
    details: Vec<String>,
    reasons: &'a [String],
}

impl Block<'_> {
    /// The bar (after the name, or under it when the name is long), then
    /// the details wrapped from column INDENT, then why.
    fn lines(&self, out: &mut Lines, style: Style) {
        let g = Geometry::of(style.width);
        let sizes = format!(
            "{} / {}",
            units::bytes_f64(self.used),
            units::bytes_f64(self.full)
        );
        let bar = picture::bar_of(g.cells, self.used, self.full, self.warn, self.crit, style);
        let pct = percent(self.used, self.full);
        let status = style.status(self.status);
        let mut details = self.details.clone();
        let head = match g.wide {
            true => format!("{bar} {pct:>5}  {sizes:<FIGURES$}  {status}"),
            false => {
                // Narrow: the sizes lead the details below the bar.
                details.insert(0, sizes);
                format!("{bar} {pct:>5}  {status}")
            }
        };
        let name = self.name;
        if name.chars().count() < INDENT {
            out.push(self.status, format!("{name:<w$}{head}", w = INDENT));
        } else {
            out.push(self.status, name);
            out.push(self.status, format!("{:w$}{head}", "", w = INDENT));
        }
        out.extend(self.status, picture::wrap("", INDENT, &details, g.width));
        if !self.reasons.is_empty() {
            let why = format!("why: {}", self.reasons.join("; "));
            out.extend(
                self.status,
                picture::hanging(INDENT, INDENT + 5, &why, g.width),
            );
        }
    }
}

/// "data 1.20 GB (+40.0 MB), logs 8.19 kB; data/orders-0 ...": each
/// level's largest, with the growth since the previous walk where known.
fn largest(top: &crate::monitor::subdirs::TopSubdirs) -> String {
    let one = |d: &crate::monitor::subdirs::TopSubdir| {
        let growth = match d.growth_bytes {
            Some(g) if g > 0 => format!(" (+{})", units::bytes(g as u64)),
            Some(g) if g < 0 => format!(" (-{})", units::bytes(g.unsigned_abs())),
            _ => String::new(),
        };
        format!("{} {}{growth}", d.path, units::bytes(d.bytes))
    };
    let level = |l: usize| {
        top.largest
            .iter()
            .filter(|d| d.level == l)
            .map(one)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts: Vec<String> = [level(1), level(2)]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
    if top.capped {
        parts.push(format!(
            "(more than {} subdirectories: the rest not tracked)",
            crate::usage::MAX_SUBDIRS
        ));
    }
    parts.join("; ")
}

/// "12%" of a whole, "-" of nothing.
pub fn percent(used: f64, full: f64) -> String {
    if full > 0.0 {
        format!("{:.0}%", used * 100.0 / full)
    } else {
        "-".to_string()
    }
}

fn days(d: Option<f64>) -> String {
    match d {
        Some(d) if d >= 9999.0 => ">9999".to_string(),
        Some(d) => format!("{d:.1}"),
        None => "-".to_string(),
    }
}

/// The growth and what it leads to: "+1.00 MB/d", "plan in 12.0 days".
fn outlook(growth: Option<f64>, days_left: Option<f64>, until: &str, reached: &str) -> Vec<String> {
    let trend = |g: f64| {
        let sign = if g >= 0.0 { "+" } else { "" };
        format!("{sign}{}/d", units::bytes_f64(g))
    };
    match (growth, days_left) {
        (None, Some(d)) if d <= 0.0 => vec![reached.to_string()],
        (None, _) => vec!["growth not known yet".to_string()],
        (Some(g), Some(d)) if d <= 0.0 => vec![trend(g), reached.to_string()],
        (Some(g), Some(_)) => vec![trend(g), format!("{until} {} days", days(days_left))],
        (Some(g), None) => vec![trend(g), "not growing".to_string()],
    }
}

/// One line: the worst status and what caused it.
pub fn summary(report: &Report) -> String {
    format!(
        "jts-hot monitor: {}: {}",
        report.status,
        summary_body(report)
    )
}

/// The summary after its status: the totals, then what caused the status.
fn summary_body(report: &Report) -> String {
    let services: Vec<String> = report
        .services
        .iter()
        .filter(|s| s.status != Status::Ok)
        .map(|s| format!("{} {}", s.name, s.reasons.join(", ")))
        .collect();
    // Capped, worst first: the journal line stays one readable line
    // whatever the tree holds; journal_lines has each thing whole.
    let mut why = capped(services, SUMMARY_NAMES, "more service(s) not OK");
    if let Some(f) = report
        .filesystem
        .as_ref()
        .filter(|f| f.status != Status::Ok)
    {
        why.push(format!("filesystem {}", f.reasons.join(", ")));
    }
    let v = &report.validation;
    if v.status != Status::Ok {
        // The blocking findings by name (the worst first, a few); warnings
        // only as a count.
        let mut worst: Vec<_> = v
            .findings
            .iter()
            .filter(|f| f.severity > Status::Warning)
            .collect();
        worst.sort_by_key(|f| std::cmp::Reverse(f.severity));
        let count = worst.len();
        let named = worst
            .iter()
            .map(|f| format!("{} {}", f.check, escape::untrusted_path(&f.path)))
            .collect();
        let mut blocking = capped(named, SUMMARY_NAMES, "more");
        let warnings = v.findings.len() - count;
        if warnings > 0 {
            blocking.push(format!("{warnings} warning(s)"));
        }
        why.push(format!("validation {}: {}", v.status, blocking.join(", ")));
    }
    if report.status == Status::Unknown {
        why.extend(capped(report.notes.clone(), SUMMARY_NAMES, "more note(s)"));
    }
    let mut line = totals(report);
    if !why.is_empty() {
        let _ = write!(line, "; {}", why.join("; "));
    }
    line
}

/// How many things of one kind the one-line summary names.
const SUMMARY_NAMES: usize = 3;

/// The first `cap` of `items`, then "N `more`" for the rest.
fn capped(mut items: Vec<String>, cap: usize, more: &str) -> Vec<String> {
    if items.len() > cap {
        let rest = items.len() - cap;
        items.truncate(cap);
        items.push(format!("{rest} {more}"));
    }
    items
}

/// "7 services use 1.20 TB of 4.00 TB planned, filesystem 61.0% free".
pub fn totals(report: &Report) -> String {
    // In u128: sizes near u64's limit add up exactly, never wrap nor saturate.
    let sum = |v: &mut dyn Iterator<Item = u64>| v.map(u128::from).sum::<u128>();
    let used = sum(&mut report.services.iter().map(|s| s.allocated_bytes));
    let planned = sum(&mut report.services.iter().map(|s| s.planned_bytes));
    let free = report
        .filesystem
        .as_ref()
        .map_or("unknown".to_string(), |f| format!("{:.1}%", f.free_percent));
    format!(
        "{} services use {} of {} planned, filesystem {} free",
        report.services.len(),
        units::bytes(used),
        units::bytes(planned),
        free
    )
}
