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

#[test]
fn every_emitted_series_is_documented() {
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
        .args(["monitor", "--format", "prometheus", "--state-dir"])
        .arg(dir.path().join("state")));
    assert!(code <= 2, "monitor failed ({code}): {err}");
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
        let end = tail.find(|c: char| !word(c)).unwrap_or(tail.len());
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
