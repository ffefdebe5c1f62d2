//! The documentation against the program: every series the monitor emits is named in
//! `jts-hot monitor --help` (the man page) and in docs/metrics.md, every series those
//! name is one docs/metrics.md explains, and the README stays a front door.

mod common;

use std::collections::BTreeSet;

use common::{jts_hot, repo_root, run};
use jts_hot::validate::Check;

/// Every `jts_hot_...` name in a text.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("jts_hot_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        let name = tail[..end].trim_end_matches('_');
        // A textfile name (jts_hot.prom) is not a series.
        if name.len() > "jts_hot_".len() {
            names.insert(name.to_string());
        }
        rest = &tail[end..];
    }
    names
}

fn monitor_help() -> String {
    let (code, out, err) = run(jts_hot().args(["monitor", "--help"]));
    assert_eq!(code, 0, "{err}");
    out
}

/// `jts-hot monitor --format FORMAT` of the default layout on a small
/// synthetic tree (tests/common/mktree.rs) in a scratch directory.
fn monitor_default_tier(format: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("hot");
    common::mktree::build(&base, 0.01).unwrap();
    let (code, layout, err) = run(jts_hot().args(["--default-layout", "config", "default"]));
    assert_eq!(code, 0, "{err}");
    let layout: String = layout
        .lines()
        .map(|l| {
            if l.starts_with("base = ") {
                format!("base = \"{}\"\n", base.display())
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let config = dir.path().join("layout.toml");
    std::fs::write(&config, layout).unwrap();
    let (code, out, err) = run(jts_hot()
        .arg("--config")
        .arg(&config)
        .args(["monitor", "--format", format, "--state-dir"])
        .arg(dir.path().join("state")));
    assert!(code <= 2, "monitor failed ({code}): {err}");
    // docs/monitor.md names every file a run leaves in the state directory.
    let monitor_md = std::fs::read_to_string(repo_root().join("docs/monitor.md")).unwrap();
    for file in common::files_under(&dir.path().join("state")) {
        let file = file.display().to_string();
        assert!(
            monitor_md.contains(&format!("STATE_DIR/{file}")),
            "a monitor run writes STATE_DIR/{file}, which docs/monitor.md does not name"
        );
    }
    out
}

#[test]
fn every_emitted_series_is_documented() {
    let out = monitor_default_tier("prometheus");
    let emitted: BTreeSet<String> = out
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap().to_string())
        .collect();
    assert!(emitted.len() > 10, "too few series: {out}");

    let help = metric_names(&monitor_help());
    let docs = metric_names(&std::fs::read_to_string(repo_root().join("docs/metrics.md")).unwrap());
    for name in &emitted {
        assert!(
            help.contains(name),
            "{name} is emitted but not in `jts-hot monitor --help`"
        );
        assert!(
            docs.contains(name),
            "{name} is emitted but not in docs/metrics.md"
        );
    }
}

#[test]
fn every_series_in_the_help_is_explained_in_docs() {
    let docs = metric_names(&std::fs::read_to_string(repo_root().join("docs/metrics.md")).unwrap());
    for name in metric_names(&monitor_help()) {
        assert!(
            docs.contains(&name),
            "{name} is in `jts-hot monitor --help` but not in docs/metrics.md"
        );
    }
}

#[test]
fn validate_help_carries_the_checks_and_exit_status() {
    let (code, out, err) = run(jts_hot().args(["validate", "--help"]));
    assert_eq!(code, 0, "{err}");
    for needle in [
        "CHECKS",
        "dir.mode",
        "mount.point",
        "EXIT STATUS",
        "3  UNKNOWN",
    ] {
        assert!(
            out.contains(needle),
            "validate --help lacks {needle:?}:\n{out}"
        );
    }
}

#[test]
fn readme_is_a_front_door() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    assert!(
        readme.len() <= 8192,
        "README.md is {} bytes; the reference belongs in man pages and docs/",
        readme.len()
    );
    assert!(
        readme.contains("cargo test --locked"),
        "README lost the test command"
    );
    assert!(
        readme.contains("generate --out"),
        "README lost the main command"
    );
}

/// Every check name (`family.name`, a family being one of the checks') in a text.
fn check_names(text: &str) -> BTreeSet<String> {
    let families: BTreeSet<&str> = Check::ALL
        .iter()
        .map(|c| c.as_str().split('.').next().unwrap())
        .collect();
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut names = BTreeSet::new();
    for (i, _) in text.match_indices('.') {
        let head = &text[..i];
        let start = head.rfind(|c: char| !word(c)).map_or(0, |j| j + 1);
        // A path (docs/selinux.md) or a dotted field (tier.quota) is not a check.
        if start > 0 && matches!(text.as_bytes()[start - 1], b'/' | b'.') {
            continue;
        }
        let tail = &text[i + 1..];
        let mut end = tail.find(|c: char| !word(c)).unwrap_or(tail.len());
        // A check of three parts (dir.owner.remap) is one name.
        while tail[end..].starts_with('.') {
            let more = &tail[end + 1..];
            let n = more.find(|c: char| !word(c)).unwrap_or(more.len());
            if n == 0 || ["md", "toml"].contains(&&more[..n]) {
                break;
            }
            end += 1 + n;
        }
        // A file name (validate.md, hot-layout.toml) is not a check either.
        if families.contains(&head[start..]) && end > 0 && !["md", "toml"].contains(&&tail[..end]) {
            names.insert(format!("{}.{}", &head[start..], &tail[..end]));
        }
    }
    names
}

/// The check names are a contract: `validate --help` (the man page),
/// docs/validate.md and docs/metrics.md name exactly the checks there are.
#[test]
fn every_check_is_documented_and_every_documented_check_exists() {
    let checks: BTreeSet<String> = Check::ALL.iter().map(|c| c.as_str().into()).collect();
    let (code, help, err) = run(jts_hot().args(["validate", "--help"]));
    assert_eq!(code, 0, "{err}");
    let read = |p: &str| std::fs::read_to_string(repo_root().join(p)).unwrap();
    for (what, text) in [
        ("`jts-hot validate --help`", help),
        ("docs/validate.md", read("docs/validate.md")),
        ("docs/metrics.md", read("docs/metrics.md")),
    ] {
        let named = check_names(&text);
        let missing: Vec<_> = checks.difference(&named).collect();
        let unknown: Vec<_> = named.difference(&checks).collect();
        assert!(missing.is_empty(), "{what} does not name {missing:?}");
        assert!(
            unknown.is_empty(),
            "{what} names checks that do not exist: {unknown:?}"
        );
    }
}

/// Every family the Prometheus formatter can write, even one a plain run
/// leaves out (quota, baseline, growth), is in the help and docs/metrics.md.
#[test]
fn every_family_the_formatter_knows_is_documented() {
    let help = monitor_help();
    let docs = std::fs::read_to_string(repo_root().join("docs/metrics.md")).unwrap();
    for family in jts_hot::monitor::output::prometheus::FAMILIES {
        let name = family.name;
        assert!(
            help.contains(name),
            "{name} is not in `jts-hot monitor --help`"
        );
        assert!(docs.contains(name), "{name} is not in docs/metrics.md");
    }
    for h in jts_hot::monitor::output::prometheus::HISTOGRAMS {
        for suffix in ["_bucket", "_sum", "_count"] {
            let name = format!("{}{suffix}", h.name);
            assert!(
                help.contains(&name),
                "{name} is not in `jts-hot monitor --help`"
            );
            assert!(docs.contains(&name), "{name} is not in docs/metrics.md");
        }
    }
}

/// docs/metrics.md the other way: each series it names is a family the
/// formatter writes, and each row of its tables gives that family's labels.
#[test]
fn every_series_in_the_metrics_doc_is_a_family_with_its_labels() {
    let docs = std::fs::read_to_string(repo_root().join("docs/metrics.md")).unwrap();
    let families = jts_hot::monitor::output::prometheus::FAMILIES;
    let histograms = jts_hot::monitor::output::prometheus::HISTOGRAMS;
    // A histogram's series: NAME_bucket (labelled le), NAME_sum, NAME_count.
    let histogram = |name: &str| -> Option<&'static [&'static str]> {
        histograms.iter().find_map(|h| {
            let suffix = name.strip_prefix(h.name)?;
            match suffix {
                "_bucket" => Some(&["le"][..]),
                "" | "_sum" | "_count" => Some(&[][..]),
                _ => None,
            }
        })
    };
    let family = |name: &str| {
        families
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.labels)
            .or_else(|| histogram(name))
    };
    for name in metric_names(&docs) {
        assert!(
            family(&name).is_some(),
            "docs/metrics.md names {name}, which the monitor does not write"
        );
    }
    let ticked = |cell: &str| -> Vec<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    let mut rows = 0;
    for row in docs.lines().filter(|l| l.starts_with("| `jts_hot_")) {
        let cells: Vec<&str> = row.split('|').collect();
        // Labels before any parenthesis (which explains their values).
        let labels = ticked(cells[2].split('(').next().unwrap());
        for name in ticked(cells[1]) {
            let f = family(&name).unwrap_or_else(|| panic!("{name}: no such family"));
            assert_eq!(f, labels, "docs/metrics.md's labels of {name}");
            rows += 1;
        }
    }
    assert_eq!(
        rows,
        families.len() + 3 * histograms.len(),
        "a family without its row in docs/metrics.md"
    );
}

/// `jts-hot probe --help` names every finding kind, as docs/probe.md does
/// (a unit test holds docs/probe.md and the enum together).
#[test]
fn probe_help_names_every_finding_kind() {
    let (code, help, err) = run(jts_hot().args(["probe", "--help"]));
    assert_eq!(code, 0, "{err}");
    let kinds = help
        .split_once("FINDING KINDS")
        .map(|(_, rest)| rest.split("\n\n").next().unwrap_or(""))
        .unwrap_or_else(|| panic!("no FINDING KINDS in:\n{help}"));
    let listed: Vec<&str> = kinds
        .lines()
        .skip(1)
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .collect();
    let names: Vec<&str> = jts_hot::probe::Kind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(listed, names, "{help}");
}

/// The man pages: those `jts-hot manpages` writes (one per command, what the
/// packages install) and packaging/man's; (file name, text).
fn man_pages() -> Vec<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(jts_hot().arg("manpages").arg(dir.path()));
    assert_eq!(code, 0, "{err}");
    let mut pages: Vec<(String, String)> = common::files_under(dir.path())
        .into_iter()
        .chain(
            common::files_under(&repo_root().join("packaging/man"))
                .into_iter()
                .map(|f| std::path::Path::new("../../packaging/man").join(f)),
        )
        .map(|f| {
            let path = if f.starts_with("../../packaging/man") {
                repo_root()
                    .join("packaging/man")
                    .join(f.file_name().unwrap())
            } else {
                dir.path().join(&f)
            };
            (
                f.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(path).unwrap(),
            )
        })
        .collect();
    pages.sort();
    pages
}

/// The commands with a man page, as arguments (`jts-hot-quota-set.1`: quota set).
fn commands() -> Vec<Vec<String>> {
    man_pages()
        .into_iter()
        .filter_map(|(name, _)| {
            let stem = name.strip_suffix(".1")?;
            Some(
                stem.strip_prefix("jts-hot")
                    .unwrap()
                    .split('-')
                    .filter(|w| !w.is_empty())
                    .map(String::from)
                    .collect(),
            )
        })
        .collect()
}

/// Every man page has the sections a man page has (man-pages(7)), each
/// command's and the layout's; and man renders each without a warning.
#[test]
fn every_man_page_has_its_sections() {
    let pages = man_pages();
    // jts-hot, 9 commands, config and quota's 2 subcommands each, the layout.
    assert!(
        pages.len() >= 15,
        "{:?}",
        pages.iter().map(|p| &p.0).collect::<Vec<_>>()
    );
    assert!(pages.iter().any(|(n, _)| n == "jts-hot-layout.toml.5"));
    for (name, text) in &pages {
        let sections: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix(".SH "))
            .map(|t| t.trim_matches('"').to_string())
            .collect();
        for want in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "OPTIONS",
            "EXIT STATUS",
            "EXAMPLES",
            "SEE ALSO",
        ] {
            assert!(
                sections.iter().any(|s| s == want),
                "{name} has no {want} section; it has {sections:?}"
            );
        }
    }
    needs!("man");
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in &pages {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let (code, out, err) = run(std::process::Command::new("man")
            .args(["--warnings", "-E", "UTF-8", "-l"])
            .arg(&path)
            .env("MANWIDTH", "80")
            .env("MAN_KEEP_FORMATTING", "0"));
        assert_eq!(code, 0, "man {name}: {err}");
        assert!(err.is_empty(), "man warns about {name}:\n{err}");
        assert!(out.lines().count() > 10, "{name}:\n{out}");
    }
}

/// --help and the man pages point at the docs where the packages install them
/// (/usr/share/doc/jts-hot/, tests/packages.rs), never at a source tree's docs/,
/// and each one they name is a file of docs/.
#[test]
fn help_and_man_pages_point_at_installed_docs() {
    let mut texts: Vec<(String, String)> = man_pages();
    for args in commands() {
        let (code, out, err) = run(jts_hot().args(&args).arg("--help"));
        assert_eq!(code, 0, "{args:?}: {err}");
        texts.push((format!("jts-hot {} --help", args.join(" ")), out));
    }
    let mut named = BTreeSet::new();
    for (what, text) in &texts {
        assert!(
            !text.contains("docs/"),
            "{what} points at docs/, which is not on the host: {}",
            text.lines().find(|l| l.contains("docs/")).unwrap()
        );
        for (i, _) in text.match_indices("/usr/share/doc/jts-hot/") {
            let rest = &text[i + "/usr/share/doc/jts-hot/".len()..];
            let file: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect();
            let file = file.trim_end_matches('.').to_string();
            if !file.is_empty() {
                assert!(
                    repo_root().join("docs").join(&file).is_file(),
                    "{what} names /usr/share/doc/jts-hot/{file}, which is not in docs/"
                );
                named.insert(file);
            }
        }
    }
    assert!(named.len() >= 8, "{named:?}");
}

/// docs/generated.md, item by item: the file each `- **NAME**` names (a path
/// under units/, a unit, or UNIT.d/jts-hot.conf as postgresql's) and the text
/// up to the next item.
fn generated_md_items() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo_root().join("docs/generated.md")).unwrap();
    let mut items = Vec::new();
    for item in text.split("\n- ").skip(1) {
        let item = item.split("\n\n").next().unwrap();
        let Some(name) = item
            .strip_prefix("**")
            .and_then(|rest| rest.split("**").next())
        else {
            continue;
        };
        items.push((name.to_string(), item.to_string()));
    }
    items
}

fn units_path(name: &str) -> std::path::PathBuf {
    let units = repo_root().join("units");
    if name == "UNIT.d/jts-hot.conf" {
        units.join("usr/lib/systemd/system/postgresql.service.d/jts-hot.conf")
    } else if name.ends_with(".service") || name.ends_with(".timer") {
        units.join("usr/lib/systemd/system").join(name)
    } else {
        units.join(name)
    }
}

/// Every `Directive=value` docs/generated.md writes under a file is a line of
/// that file as rendered in units/ (`Directive=` alone: the file sets it), with
/// NAME the gated service's name.
#[test]
fn generated_md_says_what_the_units_contain() {
    let items = generated_md_items();
    assert!(items.len() >= 9, "{items:?}");
    let mut checked = 0;
    for (name, item) in &items {
        let path = units_path(name);
        let file = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("docs/generated.md names {name}: {}: {e}", path.display()));
        let lines: Vec<&str> = file.lines().collect();
        for (i, token) in item.split('`').enumerate() {
            let directive = i % 2 == 1
                && token.starts_with(|c: char| c.is_ascii_uppercase())
                && token
                    .split_once('=')
                    .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_alphanumeric()));
            if !directive {
                continue;
            }
            let token = token.replace("NAME", "postgresql").replace('\n', " ");
            let found = if token.ends_with('=') {
                lines.iter().any(|l| l.starts_with(&token))
            } else {
                lines.contains(&token.as_str())
            };
            assert!(
                found,
                "docs/generated.md says {name} has `{token}`; {} is:\n{file}",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 25, "only {checked} directives checked");
}

/// Every file of units/ (the packages ship them) is named in
/// docs/generated.md, every unit of jts-hot's own in the README too, and
/// no document names a jts-hot unit that does not exist.
#[test]
fn the_docs_name_exactly_the_units_there_are() {
    let named: Vec<String> = generated_md_items().into_iter().map(|(n, _)| n).collect();
    let generated = std::fs::read_to_string(repo_root().join("docs/generated.md")).unwrap();
    let units = repo_root().join("units");
    let mut ours = BTreeSet::new();
    for f in common::files_under(&units) {
        let f = f.display().to_string();
        let unit = f.strip_prefix("usr/lib/systemd/system/");
        let listed = match unit {
            Some(u) if u.contains(".d/") => named.iter().any(|n| n == "UNIT.d/jts-hot.conf"),
            Some(u) => {
                ours.insert(u.to_string());
                named.iter().any(|n| n == u)
            }
            None => named.contains(&f) || generated.contains(&f),
        };
        assert!(listed, "units/{f} is not described in docs/generated.md");
    }
    assert!(ours.len() >= 5, "{ours:?}");
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    for unit in ours.iter().filter(|u| u.ends_with(".service")) {
        assert!(
            readme.contains(unit.as_str()),
            "README.md does not name {unit}"
        );
    }
    let mut texts = vec![("README.md".to_string(), readme)];
    for doc in common::files_under(&repo_root().join("docs")) {
        let text = std::fs::read_to_string(repo_root().join("docs").join(&doc)).unwrap();
        texts.push((format!("docs/{}", doc.display()), text));
    }
    for (name, text) in man_pages() {
        texts.push((name, text.replace("\\-", "-")));
    }
    for (what, text) in &texts {
        for (i, _) in text.match_indices("jts-hot-") {
            let word: String = text[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '@'))
                .collect();
            let word = word.trim_end_matches('.');
            if word.ends_with(".service") || word.ends_with(".timer") {
                assert!(
                    ours.contains(word),
                    "{what} names {word}, which jts-hot does not generate"
                );
            }
        }
    }
}

/// The rows of the README's table whose header row starts with `| first |`.
fn readme_table(first: &str) -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let start = readme
        .find(&format!("| {first} |"))
        .unwrap_or_else(|| panic!("README has no table starting with {first}"));
    readme[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().trim_matches('`').to_string())
                .collect()
        })
        .collect()
}

/// The README's default tier is the built-in layout: each service's owner,
/// group, mode, plan, subdirectories and gated unit.
#[test]
fn readme_default_tier_is_the_builtin_layout() {
    let layout = serde_json::to_value(jts_hot::layout::Layout::builtin()).unwrap();
    let services = layout["services"].as_array().unwrap();
    let rows = readme_table("service");
    assert_eq!(rows.len(), services.len(), "{rows:?}");
    for (row, s) in rows.iter().zip(services) {
        let o = &s["ownership"];
        let (owner, group) = row[1].split_once(':').unwrap();
        assert_eq!(row[0], s["name"], "{row:?}");
        assert_eq!(owner, o["owner"], "{row:?}");
        assert_eq!(group, o["group"], "{row:?}");
        assert_eq!(
            u32::from_str_radix(&row[2], 8).unwrap(),
            o["mode"].as_u64().unwrap() as u32,
            "{row:?}"
        );
        let planned = parse_size::parse_size(row[3].replace(' ', "")).unwrap();
        assert_eq!(planned, s["planned"].as_u64().unwrap(), "{row:?}");
        let dirs: Vec<&str> = s["dirs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap())
            .collect();
        assert_eq!(row[4], dirs.join(", "), "{row:?}");
        let gates: Vec<&str> = s["gate"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap())
            .collect();
        let gates = if gates.is_empty() {
            "none".to_string()
        } else {
            gates.join(", ")
        };
        assert_eq!(row[5], gates, "{row:?}");
    }
}

/// Each command in the README's table exists (its --help works) and has the
/// man page the table points at.
#[test]
fn readme_commands_exist_with_their_man_pages() {
    let pages: Vec<String> = man_pages().into_iter().map(|(n, _)| n).collect();
    let rows = readme_table("command");
    assert!(rows.len() >= 9, "{rows:?}");
    for row in rows {
        for usage in row[0].split(", ") {
            let words: Vec<&str> = usage
                .trim_matches('`')
                .split(' ')
                .take_while(|w| !w.starts_with('-') && *w != w.to_uppercase())
                .collect();
            let (code, _, err) = run(jts_hot().args(&words).arg("--help"));
            assert_eq!(code, 0, "README's `{usage}`: {err}");
        }
        let page = row[2].trim_start_matches("man ");
        assert!(
            pages.contains(&format!("{page}.1")),
            "README points at `man {page}`, which is not written"
        );
    }
}

/// Every `jts-hot ...` line of every EXAMPLES section parses: its words up to a
/// pipe, redirection, `&&` or the comment column, run with --help appended
/// (clap checks each option and value before it reaches --help).
#[test]
fn every_example_parses() {
    let mut checked = 0;
    for args in commands() {
        let (_, help, _) = run(jts_hot().args(&args).arg("--help"));
        let examples = help
            .split_once("\nEXAMPLES\n")
            .unwrap_or_else(|| panic!("jts-hot {args:?} --help has no EXAMPLES:\n{help}"))
            .1
            .split("\n\n")
            .next()
            .unwrap();
        for line in examples.lines() {
            let Some(cmd) = line.trim().split("  ").next() else {
                continue;
            };
            for part in cmd.split("&&") {
                let part = part.trim();
                let Some(words) = part.strip_prefix("jts-hot ") else {
                    continue;
                };
                let words: Vec<&str> = words
                    .split(' ')
                    .take_while(|w| !matches!(*w, "|" | ">" | ";"))
                    .collect();
                let (code, _, err) = run(jts_hot().args(&words).arg("--help"));
                assert_eq!(code, 0, "example `{part}` does not parse: {err}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 25, "only {checked} examples");
}

/// Every alert the README and docs/ name is one jts-hot-alerts.yml defines,
/// and every alert it defines has its entry in docs/runbook.md.
#[test]
fn the_docs_name_exactly_the_alerts_there_are() {
    let names = |text: &str| -> BTreeSet<String> {
        text.match_indices("JtsHot")
            .map(|(i, _)| {
                text[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect()
            })
            .collect()
    };
    let rules =
        std::fs::read_to_string(repo_root().join("packaging/prometheus/jts-hot-alerts.yml"))
            .unwrap();
    let defined: BTreeSet<String> = rules
        .lines()
        .filter_map(|l| l.trim().trim_start_matches("- ").strip_prefix("alert: "))
        .map(|n| n.trim().trim_matches('"').to_string())
        .collect();
    assert!(defined.len() >= 10, "{defined:?}");
    let mut texts = vec![(
        "README.md".to_string(),
        std::fs::read_to_string(repo_root().join("README.md")).unwrap(),
    )];
    for doc in common::files_under(&repo_root().join("docs")) {
        let text = std::fs::read_to_string(repo_root().join("docs").join(&doc)).unwrap();
        texts.push((format!("docs/{}", doc.display()), text));
    }
    for (what, text) in &texts {
        for name in names(text) {
            assert!(
                defined.contains(&name),
                "{what} names the alert {name}, which jts-hot-alerts.yml does not define"
            );
        }
    }
    let runbook = std::fs::read_to_string(repo_root().join("docs/runbook.md")).unwrap();
    for name in &defined {
        assert!(
            runbook.contains(name.as_str()),
            "docs/runbook.md has no entry for {name}"
        );
    }
}

/// Every `Directive=value` the README quotes is a line of some generated file
/// in units/ (NAME: the gated service, postgresql).
#[test]
fn readme_directives_are_in_the_units() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let units = repo_root().join("units");
    let lines: BTreeSet<String> = common::files_under(&units)
        .into_iter()
        .flat_map(|f| {
            std::fs::read_to_string(units.join(f))
                .unwrap()
                .lines()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    let mut checked = 0;
    for (i, token) in readme.split('`').enumerate() {
        let directive = i % 2 == 1
            && token.starts_with(|c: char| c.is_ascii_uppercase())
            && token.split_once('=').is_some_and(|(k, v)| {
                // A directive is CamelCase (an fstab line's UUID= is not one).
                !v.is_empty()
                    && k.chars().all(|c| c.is_ascii_alphanumeric())
                    && k.chars().any(|c| c.is_ascii_lowercase())
            });
        if directive {
            let token = token.replace("NAME", "postgresql");
            assert!(
                lines.contains(&token),
                "README quotes `{token}`, which no file in units/ has"
            );
            checked += 1;
        }
    }
    assert!(checked >= 1, "the README quotes no directive");
}

/// The fields of a JSON document down to `depth` levels, an array's items as
/// `name[]` (its first item stands for all): `filesystem.size_bytes`,
/// `services[].name`.
fn json_fields(value: &serde_json::Value, prefix: &str, depth: usize, out: &mut BTreeSet<String>) {
    if depth == 0 {
        return;
    }
    let Some(map) = value.as_object() else {
        return;
    };
    for (key, v) in map {
        let name = format!("{prefix}{key}");
        out.insert(name.clone());
        match v {
            serde_json::Value::Array(items) if items.first().is_some_and(|i| i.is_object()) => {
                json_fields(&items[0], &format!("{name}[]."), depth - 1, out)
            }
            _ => json_fields(v, &format!("{name}."), depth - 1, out),
        }
    }
}

/// The fields docs/monitor.md's JSON table names in its first column: each
/// backticked name, `.name` continuing the previous one's parent
/// (`filesystem.size_bytes`, `.used_bytes`).
fn monitor_md_json_fields() -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo_root().join("docs/monitor.md")).unwrap();
    let table = text
        .split_once("| field | type | meaning |")
        .expect("docs/monitor.md's JSON table")
        .1;
    let mut fields = BTreeSet::new();
    for row in table.lines().skip(2).take_while(|l| l.starts_with('|')) {
        let first = row.trim_start_matches('|').split(" | ").next().unwrap();
        let mut parent = String::new();
        for (i, name) in first.split('`').enumerate() {
            if i % 2 == 0 {
                continue;
            }
            let full = match name.strip_prefix('.') {
                Some(rest) => format!("{parent}{rest}"),
                None => name.to_string(),
            };
            parent = full
                .rfind('.')
                .map_or(String::new(), |j| full[..=j].to_string());
            // A child names its parent (`scan.threads`: `scan`; `services[]`: `services`).
            let mut name = full.as_str();
            while let Some(j) = name.rfind('.') {
                name = &name[..j];
                fields.insert(name.trim_end_matches("[]").to_string());
            }
            fields.insert(full.trim_end_matches("[]").to_string());
        }
    }
    fields
}

/// docs/monitor.md's JSON table names exactly the fields `monitor --format
/// json` writes (objects null in a plain run, quota_tree and probe_baseline,
/// and the findings' own fields, docs/validate.md's, as one row each).
#[test]
fn monitor_md_json_table_is_the_json() {
    let out = monitor_default_tier("json");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut emitted = BTreeSet::new();
    json_fields(&json, "", 2, &mut emitted);
    emitted.retain(|f| !f.starts_with("validation.findings[]."));
    let documented = monitor_md_json_fields();
    let undocumented: Vec<_> = emitted.difference(&documented).collect();
    let absent: Vec<_> = documented.difference(&emitted).collect();
    assert!(
        undocumented.is_empty(),
        "monitor's JSON has fields docs/monitor.md does not name: {undocumented:?}"
    );
    assert!(
        absent.is_empty(),
        "docs/monitor.md names fields monitor's JSON does not have: {absent:?}\n{out}"
    );
    assert_eq!(json["schema"], "jts-hot.monitor/1");
}

/// Every key of a JSON value, at any depth.
fn json_keys(value: &serde_json::Value, out: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                out.insert(k.clone());
                json_keys(v, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| json_keys(i, out)),
        _ => {}
    }
}

/// docs/validate.md's JSON sketch names every key validate writes, and no
/// other (`policy` is written only where SELinux labels are checked).
#[test]
fn validate_md_json_sketch_is_the_json() {
    let text = std::fs::read_to_string(repo_root().join("docs/validate.md")).unwrap();
    let sketch = text
        .split_once("    {\n      \"schema\": \"jts-hot.validate/1\"")
        .expect("docs/validate.md's JSON sketch")
        .1
        .split("\n    }\n")
        .next()
        .unwrap();
    let documented: BTreeSet<String> = sketch
        .split('"')
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[1].starts_with(':'))
        .map(|w| w[0].to_string())
        .chain(["schema".to_string()])
        .collect();
    let root = tempfile::tempdir().unwrap();
    let (code, out, err) = run(jts_hot()
        .args(["--default-layout", "validate", "--format", "json", "--root"])
        .arg(root.path()));
    assert_eq!(code, 2, "an empty root is CRITICAL: {out}{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["schema"], "jts-hot.validate/1");
    let mut written = BTreeSet::new();
    json_keys(&json, &mut written);
    let undocumented: Vec<_> = written.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "validate's JSON has keys docs/validate.md does not show: {undocumented:?}"
    );
    let absent: Vec<_> = documented
        .difference(&written)
        .filter(|k| *k != "policy")
        .collect();
    assert!(
        absent.is_empty(),
        "docs/validate.md shows keys validate's JSON does not have: {absent:?}\n{out}"
    );
}

/// The options a command's --help lists (aliases included), without the
/// global ones and --help.
fn help_options(command: &[&str]) -> BTreeSet<String> {
    let (code, help, err) = run(jts_hot().args(command).arg("--help"));
    assert_eq!(code, 0, "{err}");
    let mut options = BTreeSet::new();
    for line in help.lines() {
        let t = line.trim_start();
        let listed =
            (t.starts_with("--") || t.starts_with("-v, --") || t.starts_with("[alias: --"))
                && line.len() - t.len() <= 10;
        if !listed {
            continue;
        }
        // `-v, --verbose`: the long name stands for both.
        let t = t.trim_start_matches("-v, ").trim_start_matches("[alias: ");
        let name: String = t
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        options.insert(name);
    }
    for global in ["--config", "--default-layout", "--help"] {
        options.remove(global);
    }
    options
}

/// Each synopsis in docs/ (an indented `jts-hot [--config FILE] COMMAND [...]`
/// and the lines continuing it) names every option the command has, and only
/// options it has.
#[test]
fn doc_synopses_name_every_option() {
    let mut checked = 0;
    for doc in common::files_under(&repo_root().join("docs")) {
        let text = std::fs::read_to_string(repo_root().join("docs").join(&doc)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(rest) = line.strip_prefix("    jts-hot ") else {
                continue;
            };
            let rest = rest.trim_start_matches("[--config FILE] ");
            let rest = rest.split('#').next().unwrap();
            // The command's words (`monitor`, `quota set`), then its options.
            let command: Vec<&str> = rest
                .split_whitespace()
                .take_while(|w| w.chars().all(|c| c.is_ascii_lowercase()))
                .collect();
            let Some(at) = rest.find('[') else {
                continue;
            };
            if command.is_empty() || rest[..at].split_whitespace().count() != command.len() {
                continue;
            }
            let command = &command[..];
            let mut synopsis = rest[at..].to_string();
            for more in &lines[i + 1..] {
                match more.trim_start().strip_prefix('[') {
                    Some(_) if more.starts_with("          ") => synopsis += more,
                    _ => break,
                }
            }
            let named: BTreeSet<String> = synopsis
                .split(['[', ']', '|', ' '])
                .filter(|w| w.starts_with('-'))
                .map(|w| match w.trim_end_matches("...") {
                    "-v" => "--verbose".to_string(),
                    w => w.to_string(),
                })
                .filter(|w| !["--config", "--default-layout"].contains(&w.as_str()))
                .collect();
            let options = help_options(command);
            let missing: Vec<_> = options.difference(&named).collect();
            let unknown: Vec<_> = named.difference(&options).collect();
            assert!(
                missing.is_empty() && unknown.is_empty(),
                "docs/{}: the synopsis of {command:?} lacks {missing:?} and names {unknown:?}, \
                 which it does not have:\n{line}",
                doc.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 6, "only {checked} synopses");
}

/// docs/probe.md's JSON shows every key `probe --format json` writes, and
/// only those: a short probe saving its baseline, then one compared with it
/// (the `baseline` object's keys), on the scratch directory's filesystem.
#[test]
fn probe_md_json_is_the_json() {
    let text = std::fs::read_to_string(repo_root().join("docs/probe.md")).unwrap();
    let sketch = text
        .split_once("```json")
        .expect("docs/probe.md's JSON")
        .1
        .split("```")
        .next()
        .unwrap();
    let documented: BTreeSet<String> = sketch
        .split('"')
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[1].trim_start().starts_with(':'))
        .map(|w| w[0].to_string())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    // PostgreSQL's directory of a tier in the scratch directory: its fitness
    // judged, the other services' not (`scope.not_applied`).
    let base = dir.path().join("hot");
    let probed = base.join("postgresql");
    std::fs::create_dir_all(&probed).unwrap();
    let (code, default, _) = run(jts_hot().args(["config", "default"]));
    assert_eq!(code, 0);
    let layout = default.replace(
        "base = \"/data/jts/hot\"",
        &format!("base = {:?}", base.to_str().unwrap()),
    );
    std::fs::write(dir.path().join("layout.toml"), layout).unwrap();
    let mut written = BTreeSet::new();
    for save in [true, false] {
        let mut cmd = jts_hot();
        cmd.arg("--config")
            .arg(dir.path().join("layout.toml"))
            .args(["probe", "--size", "4MiB", "--duration", "1s"])
            .args(["--format", "json", "--dir"])
            .arg(&probed)
            .arg("--state-dir")
            .arg(dir.path().join("state"));
        if save {
            cmd.arg("--save");
        }
        let (code, out, err) = run(&mut cmd);
        assert!(code <= 1, "probe: exit {code}\n{out}{err}");
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(json["schema"], "jts-hot.probe/1");
        json_keys(&json, &mut written);
    }
    assert!(
        written.contains("fsync_p99_us"),
        "no baseline compared: {written:?}"
    );
    let undocumented: Vec<_> = written.difference(&documented).collect();
    let absent: Vec<_> = documented.difference(&written).collect();
    assert!(
        undocumented.is_empty(),
        "probe's JSON has keys docs/probe.md does not show: {undocumented:?}"
    );
    assert!(
        absent.is_empty(),
        "docs/probe.md shows keys probe's JSON does not have: {absent:?}"
    );
}

/// Terms of other software the docs quote in backticks (PostgreSQL's
/// settings, SELinux types and interfaces, kernel and libc names, an NRPE
/// command the doc defines).
const FOREIGN_TERMS: &[&str] = &[
    "include_dir",
    "log_directory",
    "pg_createcluster",
    "tmp_path",
    "wal_sync_method",
    "f_bavail",
    "f_bfree",
    "fileattr_set",
    "container_file_t",
    "container_log_t",
    "container_ro_file_t",
    "fd_set_perms",
    "label_fix_full",
    "postgresql_t",
    "selabel_lookup",
    "selabel_sub",
    "check_jts_hot",
    "check_jts_hot_usage",
    "pg_dropcluster",
    "logging_collector",
    "log_filename",
    "log_rotation_age",
    "log_truncate_on_rotation",
];

/// Every snake_case name the docs quote (a test, a test filter, a layout
/// field, a JSON key, a function) is in the code (src/, tests/, templates/,
/// packaging/, debian/, bench/, fuzz/, examples/): a renamed test or field leaves no
/// stale name behind in README.md, docs/, tests/README.md or bench/README.md.
#[test]
fn every_name_the_docs_quote_is_in_the_code() {
    let root = repo_root();
    let mut code = String::new();
    for dir in [
        "src",
        "tests",
        "templates",
        "packaging",
        "debian",
        "bench",
        "fuzz",
        "examples",
    ] {
        for f in common::files_under(&root.join(dir)) {
            if f.components()
                .any(|c| c.as_os_str() == "target" || c.as_os_str() == "corpus")
            {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(root.join(dir).join(&f)) {
                code.push_str(&text);
                code.push('\n');
            }
        }
    }
    let words: BTreeSet<&str> = code
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.contains('_'))
        .collect();
    let mut docs: Vec<String> = ["README.md", "tests/README.md", "bench/README.md"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for doc in common::files_under(&root.join("docs")) {
        docs.push(format!("docs/{}", doc.display()));
    }
    let mut checked = 0;
    let mut stale = Vec::new();
    for doc in &docs {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        for (i, quoted) in text.split('`').enumerate() {
            if i % 2 == 0 {
                continue;
            }
            for name in quoted.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                let snake = name.contains('_')
                    && name.starts_with(|c: char| c.is_ascii_lowercase())
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if !snake || name.starts_with("jts_hot_") || FOREIGN_TERMS.contains(&name) {
                    continue;
                }
                // A test filter (`fleet_end`) is part of a test's name.
                if !(words.contains(name) || words.iter().any(|w| w.contains(name))) {
                    stale.push(format!("{doc}: `{name}`"));
                }
                checked += 1;
            }
        }
    }
    assert!(
        stale.is_empty(),
        "the docs quote names that are nowhere in the code (renamed?):\n{}",
        stale.join("\n")
    );
    assert!(checked >= 100, "only {checked} names");
}

/// docs/disk.md's "Units" and "The tree is created only on the mounted disk" (and
/// docs/quotas.md's quota unit),
/// against units/ (the default layout as rendered): setup runs after the
/// mount units of the base, its parents and each service directory, before
/// validate; validate wants setup and is ordered after it and the same
/// mounts, the monitor after them too; none of the three has
/// RequiresMountsFor=, every gate drop-in has it on its service's directory;
/// the tier's directories are `d` lines of /usr/lib/jts-hot/tmpfiles.conf,
/// and /usr/lib/tmpfiles.d/jts-hot.conf creates none of them.
#[test]
fn disk_md_units_are_the_units() {
    let layout = jts_hot::layout::Layout::builtin();
    let units = repo_root().join("units/usr/lib/systemd/system");
    let read = |name: &str| std::fs::read_to_string(units.join(name)).unwrap();
    let values = |text: &str, key: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix(&format!("{key}=")))
            .flat_map(|v| v.split_whitespace().map(String::from).collect::<Vec<_>>())
            .collect()
    };
    let mounts = [
        "data.mount",
        "data-jts.mount",
        "data-jts-hot.mount",
        "data-jts-hot-postgresql.mount",
        "data-jts-hot-kafka.mount",
        "data-jts-hot-backup.mount",
    ];
    let setup = read("jts-hot-setup.service");
    let validate = read("jts-hot-validate.service");
    let monitor = read("jts-hot-monitor.service");
    assert!(
        values(&setup, "Before").contains(&"jts-hot-validate.service".into()),
        "{setup}"
    );
    assert!(
        values(&validate, "Wants").contains(&"jts-hot-setup.service".into()),
        "{validate}"
    );
    assert!(
        values(&validate, "After").contains(&"jts-hot-setup.service".into()),
        "{validate}"
    );
    for (name, text) in [
        ("setup", &setup),
        ("validate", &validate),
        ("monitor", &monitor),
    ] {
        for mount in mounts {
            assert!(
                values(text, "After").contains(&mount.into()),
                "{name} is not After={mount}:\n{text}"
            );
        }
        assert!(
            values(text, "RequiresMountsFor").is_empty(),
            "{name} has RequiresMountsFor=:\n{text}"
        );
        assert!(
            !values(text, "Wants").iter().any(|w| w.ends_with(".mount")),
            "{name}:\n{text}"
        );
    }
    // docs/quotas.md's "At boot and on apply".
    let quota = read("jts-hot-quota.service");
    for after in [
        "local-fs.target",
        "systemd-tmpfiles-setup.service",
        "jts-hot-setup.service",
    ] {
        assert!(
            values(&quota, "After").contains(&after.into()),
            "quota is not After={after}:\n{quota}"
        );
    }
    assert_eq!(
        values(&quota, "RequiresMountsFor"),
        vec![layout.tier.base.display().to_string()],
        "{quota}"
    );
    assert!(
        values(&quota, "Before").contains(&"jts-hot-validate.service".into()),
        "{quota}"
    );
    assert!(
        values(&validate, "Wants").contains(&"jts-hot-quota.service".into()),
        "{validate}"
    );
    assert_eq!(
        values(&quota, "ExecStart"),
        ["/usr/bin/jts-hot", "quota", "set"],
        "{quota}"
    );
    let mut gates = 0;
    for service in &layout.services {
        for unit in &service.gate {
            let dropin = read(&format!("{unit}.d/jts-hot.conf"));
            let dir = layout.tier.base.join(service.name.as_str());
            assert_eq!(
                values(&dropin, "RequiresMountsFor"),
                vec![dir.display().to_string()],
                "{unit}.d/jts-hot.conf:\n{dropin}"
            );
            gates += 1;
        }
    }
    assert!(gates >= 6, "{gates} gates");
    let lines = |path: &str| -> Vec<Vec<String>> {
        std::fs::read_to_string(repo_root().join("units").join(path))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| l.split_whitespace().map(String::from).collect())
            .collect()
    };
    let tier = lines("usr/lib/jts-hot/tmpfiles.conf");
    let boot = lines("usr/lib/tmpfiles.d/jts-hot.conf");
    for dir in layout.planned_dirs() {
        let path = dir.path.display().to_string();
        assert!(
            tier.iter().any(|l| l[0] == "d" && l[1] == path),
            "{path} is not a d line of the tier's file"
        );
        assert!(
            !boot.iter().any(|l| l[1] == path),
            "tmpfiles.d/jts-hot.conf names {path}"
        );
    }
    for parent in ["/data", "/data/jts"] {
        assert!(
            tier.iter().any(|l| l[..5] == ["d", parent, "-", "-", "-"]),
            "{parent} is not `d {parent} - - -`"
        );
    }
}

/// The README's "a bad layout ... exits 3 from A, B and C, 2 elsewhere" is
/// what every command of its table does with a layout that does not parse
/// (and `jts-hot --help` names the same commands).
#[test]
fn readme_bad_layout_exit_status_is_each_commands() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let list = readme
        .split_once("exits 3 from ")
        .expect("README's bad-layout exit sentence")
        .1
        .split_once(", 2 elsewhere")
        .expect("`, 2 elsewhere`")
        .0
        .replace('\n', " ");
    let unknown: BTreeSet<String> = list
        .split([',', ' '])
        .filter(|w| !w.is_empty() && *w != "and")
        .map(String::from)
        .collect();
    assert!(unknown.len() >= 3, "{list}");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[tier]\nnot_a_key = 1\n").unwrap();
    let mut seen = BTreeSet::new();
    for row in readme_table("command") {
        for usage in row[0].split(", ") {
            let mut words: Vec<String> = usage
                .trim_matches('`')
                .split(' ')
                .take_while(|w| !w.starts_with('-') && *w != w.to_uppercase())
                .map(String::from)
                .collect();
            if words == ["generate"] {
                words.extend(["--out".into(), dir.path().join("out").display().to_string()]);
            }
            if words == ["config", "default"] {
                continue; // reads no layout
            }
            if words == ["config", "check"] {
                words.push(bad.display().to_string());
            }
            let (code, out, err) = run(jts_hot().arg("--config").arg(&bad).args(&words));
            let want = if unknown.contains(&words[0]) { 3 } else { 2 };
            assert_eq!(code, want, "jts-hot --config BAD {words:?}: {out}{err}");
            assert!(
                err.contains("bad.toml:2:"),
                "{words:?} does not name file and line: {err}"
            );
            seen.insert(words[0].clone());
        }
    }
    for command in &unknown {
        assert!(
            seen.contains(command),
            "README names {command}, not in its table"
        );
    }
    let (_, help, _) = run(jts_hot().arg("--help"));
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    let list = list.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        help.contains(&format!("{list} also for a bad layout")),
        "`jts-hot --help` does not say \"{list} also for a bad layout\":\n{help}"
    );
}

/// docs/monitor.md's picture is what the monitor prints for the tier it
/// describes (tests/terminal.rs's: postgresql at 26% of its plan, kafka in
/// its warning share, redis past its plan, four days of rising history), at
/// 80 columns: the services' lines and the forecast line for line, digits
/// aside (the growth figures move with the clock), and the sections in order.
#[test]
fn monitor_md_picture_is_the_picture() {
    let doc = std::fs::read_to_string(repo_root().join("docs/monitor.md")).unwrap();
    let picture = doc
        .split_once("```\nSERVICE ")
        .map(|(_, rest)| format!("SERVICE {}", rest.split("```").next().unwrap()))
        .expect("docs/monitor.md's picture");
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("hot");
    let mut layout = format!(
        "[tier]\nbase = \"{}\"\nowner = \"root\"\ngroup = \"root\"\nmode = \"0755\"\ncapacity = \"64MB\"\n\
         [thresholds]\nwarn_percent = 80\ncrit_percent = 95\nfs_free_warn_percent = 2\n\
         fs_free_crit_percent = 1\nplan_reached_warn_days = 14\n\
         [monitor]\nevery = \"15min\"\ntextfile_dir = \"/nonexistent\"\n",
        base.display()
    );
    const M: u64 = 1 << 20;
    let services = [
        ("postgresql", "24MB", 6 * M),
        ("kafka", "5MB", 4 * M),
        ("redis", "4MB", 5 * M),
    ];
    let now = common::now();
    let samples: Vec<serde_json::Value> = (1..=96u64)
        .rev()
        .map(|h| {
            let bytes: serde_json::Map<String, serde_json::Value> = services
                .iter()
                .map(|(name, _, b)| {
                    let then = *b as f64 * (1.0 - 0.1 * h as f64 / 24.0);
                    (name.to_string(), serde_json::Value::from(then as u64))
                })
                .collect();
            serde_json::json!({"t": now - h * 3600, "services": bytes})
        })
        .collect();
    for (name, planned, bytes) in services {
        let data = base.join(name).join("data");
        std::fs::create_dir_all(&data).unwrap();
        let content: Vec<u8> = (0..bytes).map(|i| (i % 251) as u8 + 1).collect();
        std::fs::write(data.join("segment"), content).unwrap();
        layout.push_str(&format!(
            "[services.{name}]\nowner = \"root\"\ngroup = \"root\"\nmode = \"0755\"\n\
             planned = \"{planned}\"\ngate = []\ndirs = [\"data\"]\n"
        ));
    }
    std::fs::write(dir.path().join("layout.toml"), layout).unwrap();
    std::fs::create_dir_all(dir.path().join("state")).unwrap();
    std::fs::write(
        dir.path().join("state/monitor-history.json"),
        serde_json::json!({"version": 1, "samples": samples}).to_string(),
    )
    .unwrap();
    let (code, out, err) = run(jts_hot()
        .current_dir(dir.path())
        .env("COLUMNS", "80")
        .args(["--config", "layout.toml", "monitor", "--state-dir", "state"]));
    assert_eq!(code, 2, "redis over its plan is CRITICAL:\n{out}{err}");
    // Digits aside, and the sparkline's shape: its buckets follow the clock,
    // so the same history draws one bar more or less with the time of day.
    let digits = |l: &str| {
        let l = l.replace(|c: char| c.is_ascii_digit(), "9");
        if l.trim_start().starts_with("9d ") {
            let bare: String = l.chars().filter(|c| !('▁'..='█').contains(c)).collect();
            bare.split(' ')
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            l
        }
    };
    let section = |text: &str, from: &str, to: &str| -> Vec<String> {
        let start = text
            .find(from)
            .unwrap_or_else(|| panic!("no {from:?} in:\n{text}"));
        let rest = &text[start..];
        rest[..rest
            .find(to)
            .unwrap_or_else(|| panic!("no {to:?} after {from:?}:\n{text}"))]
            .lines()
            .map(digits)
            .collect()
    };
    for (from, to) in [("SERVICE ", "\n\nFILESYSTEM "), ("FORECAST ", "\n\nscan: ")] {
        assert_eq!(
            section(&picture, from, to),
            section(&out, from, to),
            "docs/monitor.md's picture is not what the monitor prints:\n{out}"
        );
    }
    let heads = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.split([' ', ':']).next())
            .filter(|w| {
                [
                    "SERVICE",
                    "FILESYSTEM",
                    "FORECAST",
                    "scan",
                    "history",
                    "fsync",
                    "validation",
                    "jts-hot",
                ]
                .contains(w)
            })
            .map(String::from)
            .collect()
    };
    assert_eq!(heads(&picture), heads(&out), "{out}");
}

/// docs/fleet.md's recording-rule table names exactly the rules the shipped
/// jts-hot-rules.yml records, and each file its "installed file" table names
/// is one both packages install (Cargo.toml's deb assets and rpm files).
#[test]
fn fleet_md_names_the_rules_and_files_there_are() {
    let doc = std::fs::read_to_string(repo_root().join("docs/fleet.md")).unwrap();
    let rules = std::fs::read_to_string(repo_root().join("packaging/prometheus/jts-hot-rules.yml"))
        .unwrap();
    let recorded: BTreeSet<String> = rules
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("- record: ")
                .or(l.trim().strip_prefix("record: "))
        })
        .map(|n| n.trim().trim_matches('"').to_string())
        .collect();
    assert!(recorded.len() >= 10, "{recorded:?}");
    let named: BTreeSet<String> = doc
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|t| {
            t.contains(":jts_hot_")
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        })
        .map(String::from)
        .collect();
    assert_eq!(
        named, recorded,
        "docs/fleet.md's recording rules against jts-hot-rules.yml"
    );
    // What installs a file: a line naming its source (or its directory's
    // glob) and its destination directory, in Cargo.toml's deb assets (or
    // debian/*.install, when the .deb is built by debhelper) and rpm files.
    let mut lines: Vec<String> = std::fs::read_to_string(repo_root().join("Cargo.toml"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    for f in common::files_under(&repo_root().join("debian")) {
        if let Ok(text) = std::fs::read_to_string(repo_root().join("debian").join(f)) {
            lines.extend(text.lines().map(|l| format!("deb: {l}")));
        }
    }
    let mut files = 0;
    for installed in doc
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|t| t.starts_with("/usr/share/jts-hot/"))
    {
        let (dir, name) = installed.rsplit_once('/').unwrap();
        let src_dir = if name.ends_with(".json") {
            "packaging/grafana"
        } else {
            "packaging/prometheus"
        };
        assert!(
            repo_root().join(src_dir).join(name).is_file(),
            "{installed}: no {src_dir}/{name}"
        );
        let installs = |l: &&String| {
            (l.contains(&format!("{src_dir}/{name}")) || l.contains(&format!("{src_dir}/*.")))
                && l.contains(&dir[1..])
        };
        let (rpm, deb): (Vec<&String>, Vec<&String>) = lines
            .iter()
            .filter(installs)
            .partition(|l| l.contains("dest = "));
        assert!(!deb.is_empty(), "the .deb does not install {installed}");
        assert!(!rpm.is_empty(), "the .rpm does not install {installed}");
        files += 1;
    }
    assert!(files >= 4, "{files} installed files");
}

/// docs/selinux.md's example of the module is the default layout's module as
/// the packages ship it (units/), line for line, and the header comment it
/// quotes is there.
#[test]
fn selinux_md_module_is_the_shipped_module() {
    let doc = std::fs::read_to_string(repo_root().join("docs/selinux.md")).unwrap();
    let cil =
        std::fs::read_to_string(repo_root().join("units/usr/share/selinux/packages/jts-hot.cil"))
            .unwrap();
    let start = doc
        .find("    (optional jts_hot_service_1")
        .expect("docs/selinux.md's module example");
    let example: Vec<&str> = doc[start..]
        .lines()
        .take_while(|l| l.starts_with("    "))
        .map(|l| &l[4..])
        .collect();
    assert!(example.len() >= 3, "{example:?}");
    let lines: Vec<&str> = cil.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == example[0])
        .unwrap_or_else(|| panic!("{} is not in jts-hot.cil:\n{cil}", example[0]));
    assert_eq!(&lines[at..at + example.len()], &example[..], "{cil}");
    assert!(
        cil.lines()
            .any(|l| l.starts_with("; jts-hot-layout-digest: sha256:")),
        "{cil}"
    );
}
