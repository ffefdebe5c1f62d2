//! `jts-hot monitor`'s picture as a person sees it: run in a real terminal
//! (tmux panes 80, 60 and 120 columns wide), captured with tmux's own
//! capture-pane and checked: bars with the warning and critical marks, an
//! empty bar at 0%, a sparkline from the history, color only on a terminal
//! without NO_COLOR, nothing wider than the pane (so nothing wraps), the
//! width from the terminal or COLUMNS. JSON and Prometheus output stay free
//! of any of it.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{bin_path, have_tool, jts_hot, run};
use jts_hot::monitor::output::picture::{self, Style};
use serde_json::Value;

/// A tmux server of its own (-L), 80x50, killed on drop.
struct Tmux {
    socket: String,
}

static SERVERS: AtomicUsize = AtomicUsize::new(0);

impl Tmux {
    /// Runs `shell_command` in a fresh detached session and waits (bounded)
    /// until it has printed its end marker.
    fn run(shell_command: &str) -> (Tmux, String) {
        Tmux::run_at(80, shell_command)
    }

    /// `run` in a pane `width` columns wide.
    fn run_at(width: usize, shell_command: &str) -> (Tmux, String) {
        let width = width.to_string();
        let socket = format!(
            "jts-hot-test-{}-{}",
            std::process::id(),
            SERVERS.fetch_add(1, Ordering::Relaxed)
        );
        let t = Tmux { socket };
        let script = format!("{shell_command}; echo __END__ rc=$?; sleep 120");
        let (code, out, err) = run(Command::new("tmux")
            .args(["-L", &t.socket, "-u", "-f", "/dev/null"])
            .args([
                "new-session",
                "-d",
                "-x",
                &width,
                "-y",
                "50",
                "sh",
                "-c",
                &script,
            ])
            .env_remove("NO_COLOR")
            // The pane's own size, not a width inherited from the test's shell.
            .env_remove("COLUMNS")
            .env("LANG", "C.UTF-8"));
        assert_eq!(code, 0, "tmux new-session: {out}{err}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = t.capture(false);
            if screen.contains("__END__ rc=") {
                return (t, screen);
            }
            assert!(
                Instant::now() < deadline,
                "no end marker within 30 s:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The pane's text; with `escapes`, its colors as tmux draws them. -J
    /// joins lines the terminal wrapped, so a line over 80 columns shows.
    fn capture(&self, escapes: bool) -> String {
        let mut cmd = Command::new("tmux");
        // -S -: from the start of the scrollback, for output taller than the pane.
        cmd.args(["-L", &self.socket, "capture-pane", "-p", "-J", "-S", "-"]);
        if escapes {
            cmd.arg("-e");
        }
        let (code, out, err) = run(&mut cmd);
        assert_eq!(code, 0, "tmux capture-pane: {err}");
        out
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// A tier with postgresql at a quarter of its plan, kafka past its warning
/// share, redis past its plan, and four days of rising history.
struct Tier {
    dir: tempfile::TempDir,
    /// In /tmp, not $TMPDIR (a path under the checkout, see .cargo/config.toml):
    /// the monitor prints its path, and the screen must fit 80 columns.
    state: tempfile::TempDir,
}

const M: u64 = 1 << 20;
const SERVICES: [(&str, &str, u64); 4] = [
    ("postgresql", "24MB", 6 * M),
    ("kafka", "5MB", 4 * M),
    ("redis", "4MB", 5 * M),
    // Its two directories' blocks of 1 GB: "0%", an empty bar.
    ("mongodb", "1GB", 0),
];

impl Tier {
    fn new() -> Tier {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("hot");
        let mut layout = format!(
            "[tier]\nbase = \"{}\"\nowner = \"root\"\ngroup = \"root\"\nmode = \"0755\"\ncapacity = \"64MB\"\n\
             [thresholds]\nwarn_percent = 80\ncrit_percent = 95\nfs_free_warn_percent = 2\nfs_free_crit_percent = 1\n\
             plan_reached_warn_days = 14\n[monitor]\nevery = \"15min\"\ntextfile_dir = \"/nonexistent\"\n",
            base.display()
        );
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut samples = Vec::new();
        for h in (1..=96u64).rev() {
            let mut services = serde_json::Map::new();
            for (name, _, bytes) in SERVICES {
                // Growing a tenth of the size a day up to now.
                let then = bytes as f64 * (1.0 - 0.1 * h as f64 / 24.0);
                services.insert(name.into(), Value::from(then as u64));
            }
            samples.push(serde_json::json!({"t": now - h * 3600, "services": services}));
        }
        for (name, planned, bytes) in SERVICES {
            let data = base.join(name).join("data");
            std::fs::create_dir_all(&data).unwrap();
            let content: Vec<u8> = (0..bytes).map(|i| (i % 251) as u8 + 1).collect();
            std::fs::write(data.join("segment"), content).unwrap();
            layout.push_str(&format!(
                "[services.{name}]\nowner = \"root\"\ngroup = \"root\"\nmode = \"0755\"\nplanned = \"{planned}\"\n\
                 gate = []\ndirs = [\"data\"]\n"
            ));
        }
        let state = tempfile::tempdir_in("/tmp").unwrap();
        let t = Tier { dir, state };
        std::fs::write(t.config(), layout).unwrap();
        std::fs::create_dir_all(t.state()).unwrap();
        std::fs::write(
            t.state().join("monitor-history.json"),
            serde_json::json!({"version": 1, "samples": samples}).to_string(),
        )
        .unwrap();
        t
    }
    fn config(&self) -> PathBuf {
        self.dir.path().join("layout.toml")
    }
    fn state(&self) -> PathBuf {
        self.state.path().join("state")
    }
    /// The monitor's command line, for a shell in the pane.
    fn command(&self, format: &str) -> String {
        format!(
            "{} --config {} monitor --format {format} --state-dir {}",
            bin_path().display(),
            self.config().display(),
            self.state().display()
        )
    }
    /// The JSON report, for the figures the picture must show.
    fn report(&self) -> Value {
        let (_, out, err) = run(jts_hot()
            .arg("--config")
            .arg(self.config())
            .args(["monitor", "--format", "json", "--state-dir"])
            .arg(self.state()));
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"))
    }
}

fn line_of<'a>(screen: &'a str, start: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting {start:?} in:\n{screen}"))
}

/// The line after the one starting with `start`.
fn line_after<'a>(screen: &'a str, start: &str) -> &'a str {
    let lines: Vec<&str> = screen.lines().collect();
    let i = lines.iter().position(|l| l.starts_with(start)).unwrap();
    lines[i + 1]
}

fn assert_fits_80(screen: &str) {
    assert_fits(screen, 80);
}

/// capture-pane -J joins what the terminal wrapped: a wrapped line is longer.
fn assert_fits(screen: &str, width: usize) {
    for l in screen.lines() {
        assert!(
            picture::columns(l) <= width,
            "{} columns (pane {width}): {l:?}\n{screen}",
            picture::columns(l)
        );
    }
}

fn skip_unless_tmux(test: &str) -> bool {
    have_tool(test, "tmux")
}

#[test]
fn a_terminal_shows_bars_marks_trend_and_color_within_80_columns() {
    needs!(skip_unless_tmux);
    let tier = Tier::new();
    let report = tier.report();
    let (pane, screen) = Tmux::run(&tier.command("text"));
    assert!(
        screen.contains("__END__ rc=2"),
        "redis over plan is CRITICAL:\n{screen}"
    );
    assert_fits_80(&screen);

    // Each service's bar is the picture of its figures, in the right place.
    for s in report["services"].as_array().unwrap() {
        let name = s["name"].as_str().unwrap();
        if name == "mongodb" {
            continue; // empty, and flat: below
        }
        let f = |k: &str| s[k].as_f64().unwrap();
        let want = picture::bar(
            f("allocated_bytes"),
            f("planned_bytes"),
            f("warning_bytes"),
            f("critical_bytes"),
            Style::PLAIN,
        );
        let line = line_of(&screen, name);
        assert_eq!(&line[13..13 + want.len()], want, "{line}");
        assert!(line.ends_with(s["status"].as_str().unwrap()), "{line}");
        // The marks always show: warning '|' before critical '!'.
        let (w, c) = (want.find('|').unwrap(), want.find('!').unwrap());
        assert!(w < c, "{want}");
        // The trend: rising history from ▁ to █, then the growth per day.
        let trend = line_after(&screen, name);
        assert!(trend.trim_start().starts_with("7d "), "{trend}");
        assert!(trend.contains('▁') && trend.contains('█'), "{trend}");
        // Decimal units, as the layout writes sizes.
        assert!(trend.contains(" kB/d"), "{trend}");
    }
    // What a person reads at a glance, independently of the formatter.
    let pg = line_of(&screen, "postgresql");
    assert!(pg.contains("[██████····"), "a quarter of the plan: {pg}");
    // 6 MiB of 24 MB, said the way the layout says it.
    assert!(
        pg.contains(" 26% ") && pg.contains(" MB / 24.0 MB") && pg.trim_end().ends_with("OK"),
        "{pg}"
    );
    let kafka = line_of(&screen, "kafka");
    assert!(
        kafka.contains("|··!·]") && kafka.contains(" 84% "),
        "{kafka}"
    );
    // 5 MiB of 4 MB.
    let redis = line_of(&screen, "redis");
    assert!(
        redis.contains("|██!█▶") && redis.contains(" 131% "),
        "over plan: {redis}"
    );
    assert!(line_after(&screen, "redis").contains("plan reached"));
    // 0% of plan: an empty bar, not a first block.
    let mongodb = line_of(&screen, "mongodb");
    assert!(
        mongodb.contains("[·······") && mongodb.contains("  0% "),
        "{mongodb}"
    );
    assert!(screen.contains("FILESYSTEM   "));

    // Color on a terminal: green OK, yellow WARNING, red CRITICAL bars.
    let colored = pane.capture(true);
    let row = |name: &str| {
        colored
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap()
            .to_string()
    };
    assert!(
        row("postgresql").contains("\x1b[32m█"),
        "{:?}",
        row("postgresql")
    );
    assert!(row("kafka").contains("\x1b[33m█"), "{:?}", row("kafka"));
    assert!(row("redis").contains("\x1b[31m█"), "{:?}", row("redis"));
    assert!(
        row("redis").contains("\x1b[31mCRITICAL"),
        "{:?}",
        row("redis")
    );
}

/// No SGR sequence of any kind on the captured screen.
fn assert_monochrome(pane: &Tmux) {
    let raw = pane.capture(true);
    assert!(!raw.contains('\x1b'), "escape sequences in:\n{raw:?}");
}

#[test]
fn no_color_with_no_color_set_or_without_a_terminal() {
    needs!(skip_unless_tmux);
    let tier = Tier::new();
    // NO_COLOR set (https://no-color.org): the same picture, monochrome.
    let (pane, screen) = Tmux::run(&format!("NO_COLOR=1 {}", tier.command("text")));
    assert!(line_of(&screen, "redis").contains("|██!█▶"), "{screen}");
    assert_fits_80(&screen);
    assert_monochrome(&pane);
    // An empty NO_COLOR does not count (the convention), so color is back.
    let (pane, _) = Tmux::run(&format!("NO_COLOR= {}", tier.command("text")));
    assert!(pane.capture(true).contains("\x1b[31m"));
    // Stdout a pipe, not the terminal: monochrome.
    let (pane, screen) = Tmux::run(&format!("{} | cat", tier.command("text")));
    assert!(line_of(&screen, "kafka").contains("|··!·]"), "{screen}");
    assert_monochrome(&pane);
    // Piped, byte for byte: no escape at all.
    let (_, out, _) = run(Command::new("sh").arg("-c").arg(tier.command("text")));
    assert!(!out.contains('\x1b') && out.contains("▶"), "{out}");
}

#[test]
fn json_and_prometheus_on_a_terminal_are_unchanged() {
    needs!(skip_unless_tmux);
    let tier = Tier::new();
    let (pane, screen) = Tmux::run(&tier.command("json"));
    // On the terminal: plain JSON, no escape, no picture.
    assert_monochrome(&pane);
    let printed = screen.split("__END__").next().unwrap();
    let doc: Value = serde_json::from_str(printed).unwrap_or_else(|e| panic!("{e}: {printed}"));
    assert_eq!(doc["schema"], "jts-hot.monitor/1");
    let mut keys: Vec<&str> = doc["services"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort_unstable();
    let mut want = [
        "name",
        "path",
        "status",
        "reasons",
        "allocated_bytes",
        "apparent_bytes",
        "files",
        "dirs",
        "planned_bytes",
        "warning_bytes",
        "critical_bytes",
        "percent_of_plan",
        "growth_bytes_per_day",
        "days_until_plan",
        "partial",
        "unreadable",
        "errors",
        // Added by the quota work (docs/monitor.md): where the figure came from.
        "quota",
        "usage_source",
        // Added by the forecasts (docs/monitor.md#forecasts).
        "forecast",
        // And by what grows inside a service (docs/monitor.md).
        "subdirs",
    ];
    want.sort_unstable();
    assert_eq!(keys, want, "the JSON schema is unchanged (no trend points)");
    assert!(doc["filesystem"].get("trend").is_none());
    let (pane, screen) = Tmux::run(&tier.command("prometheus"));
    assert_monochrome(&pane);
    assert!(
        screen.contains("# TYPE jts_hot_service_used_bytes gauge"),
        "{screen}"
    );
    assert!(!screen.contains('█'));
}

/// The service lines and the filesystem's at `width`: each bar as the
/// formatter draws it for that width, the sizes on the bar line from 80
/// columns on, below it when narrower; nothing wider than the pane.
fn check_width(tier: &Tier, width: usize, screen: &str) {
    assert_fits(screen, width);
    let report = tier.report();
    let cells = jts_hot::monitor::output::text::bar_cells(width);
    for s in report["services"].as_array().unwrap() {
        let name = s["name"].as_str().unwrap();
        let f = |k: &str| s[k].as_f64().unwrap();
        let want = picture::bar_of(
            cells,
            f("allocated_bytes"),
            f("planned_bytes"),
            f("warning_bytes"),
            f("critical_bytes"),
            Style::PLAIN,
        );
        let line = line_of(screen, name);
        assert_eq!(&line[13..13 + want.len()], want, "{width} columns: {line}");
        assert!(line.ends_with(s["status"].as_str().unwrap()), "{line}");
        let sizes = line_after(screen, name);
        assert_eq!(
            width >= 80,
            line.contains(" / "),
            "{width} columns: sizes on the bar line only from 80: {line}\n{sizes}"
        );
        if width < 80 {
            assert!(sizes.contains(" / "), "{width} columns: {sizes}");
        }
    }
    // One total a line: the device's size on a line of its own, what is
    // usable (the bar's whole) on the bar's.
    let lines: Vec<&str> = screen.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("FILESYSTEM"))
        .unwrap();
    let bar = at
        + lines[at..]
            .iter()
            .position(|l| l.starts_with("             ["))
            .unwrap_or_else(|| panic!("no filesystem bar:\n{screen}"));
    let above = lines[at..bar].join("\n");
    assert!(
        above.contains("size ") && above.contains(" usable, "),
        "{above}"
    );
    assert!(!lines[bar].contains("size"), "{}", lines[bar]);
    assert_eq!(width >= 80, lines[bar].contains(" / "), "{}", lines[bar]);
}

#[test]
fn the_picture_follows_the_terminal_width_60_and_120() {
    needs!(skip_unless_tmux);
    let tier = Tier::new();
    for width in [60, 120] {
        let (_, screen) = Tmux::run_at(width, &tier.command("text"));
        assert!(screen.contains("__END__ rc=2"), "{screen}");
        check_width(&tier, width, &screen);
    }
    // The bar grows with the width: 60 cells at 120 columns, 24 at 80.
    assert_eq!(jts_hot::monitor::output::text::bar_cells(80), 24);
    assert!(jts_hot::monitor::output::text::bar_cells(120) > 24);
    // COLUMNS decides over the terminal (and without one): 60 in a 120 pane.
    let (_, screen) = Tmux::run_at(120, &format!("COLUMNS=60 {}", tier.command("text")));
    check_width(&tier, 60, &screen);
    let (_, screen) = Tmux::run_at(120, &format!("COLUMNS=60 {} | cat", tier.command("text")));
    check_width(&tier, 60, &screen);
}
