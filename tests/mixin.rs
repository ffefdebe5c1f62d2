//! The monitoring mixin (packaging/jts-hot-mixin/, jsonnet in the monitoring-mixins
//! layout) with the real jsonnet: the shipped rules and dashboards are its
//! rendering, every alert carries what an on-call needs, and a consumer that
//! vendors it adjusts it through `_config` (checked by promtool, including a
//! unit test that the overridden job selector really selects).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{repo_root, run};
use serde_json::Value;

fn mixin() -> PathBuf {
    repo_root().join("packaging/jts-hot-mixin")
}

/// jsonnet's output for `expr` with `-J dir`, as JSON.
fn jsonnet(dir: &Path, expr: &str) -> Value {
    let (code, out, err) = run(Command::new("jsonnet")
        .arg("-J")
        .arg(dir)
        .args(["-e", expr])
        .current_dir(dir));
    assert_eq!(code, 0, "jsonnet -e {expr}: {err}");
    serde_json::from_str(&out).unwrap()
}

fn alerts(rendered: &Value) -> Vec<&Value> {
    rendered["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .collect()
}

#[test]
fn the_shipped_rules_and_dashboards_are_what_the_mixin_renders() {
    needs!("jsonnet", "jsonnetfmt", "python3");
    let out = tempfile::tempdir().unwrap();
    let (code, o, e) = run(Command::new(mixin().join("render.sh")).arg(out.path()));
    assert_eq!(code, 0, "{o}{e}");
    for file in [
        "prometheus/jts-hot-alerts.yml",
        "prometheus/jts-hot-rules.yml",
        "grafana/jts-hot-fleet.json",
        "grafana/jts-hot-host.json",
    ] {
        let fresh = std::fs::read_to_string(out.path().join(file)).unwrap();
        let committed =
            std::fs::read_to_string(repo_root().join("packaging").join(file)).unwrap_or_default();
        assert!(
            fresh == committed,
            "packaging/{file} is stale: run packaging/jts-hot-mixin/render.sh and commit"
        );
    }
    // Nothing else is shipped from those directories without coming from the mixin.
    let json: Vec<_> = std::fs::read_dir(repo_root().join("packaging/grafana"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(json.len(), 2, "{json:?}");
    // The sources are as jsonnetfmt writes them.
    let sources: Vec<PathBuf> = common::files_under(&mixin())
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "libsonnet"))
        .map(|f| mixin().join(f))
        .collect();
    assert!(sources.len() >= 6, "{sources:?}");
    let (code, o, e) = run(Command::new("jsonnetfmt").arg("--test").args(&sources));
    assert_eq!(code, 0, "not as jsonnetfmt writes them: {o}{e}");
}

#[test]
fn every_alert_has_summary_description_runbook_and_a_known_severity() {
    needs!("jsonnet");
    let rendered = jsonnet(&mixin(), "(import 'mixin.libsonnet').prometheusAlerts");
    let all = alerts(&rendered);
    assert!(all.len() >= 16, "{}", all.len());
    for a in all {
        let name = a["alert"].as_str().unwrap();
        for field in ["summary", "description", "runbook_url"] {
            let v = a["annotations"][field].as_str().unwrap_or_default();
            assert!(!v.trim().is_empty(), "{name}: no {field}");
        }
        let severity = a["labels"]["severity"].as_str().unwrap_or_default();
        assert!(
            ["critical", "warning", "info"].contains(&severity),
            "{name}: severity {severity:?}"
        );
        assert!(
            a["annotations"]["runbook_url"]
                .as_str()
                .unwrap()
                .ends_with(&format!("docs/runbook.md#{}", name.to_lowercase())),
            "{name}"
        );
    }
}

/// A consumer vendors the mixin as `jb install` of a local path leaves it
/// (vendor/jts-hot-mixin, named after the directory, pointing at it; the
/// dependency in its jsonnetfile.json), imports it by that name from outside
/// the repository, and overrides `_config`: the rendered alerts change, stay
/// valid, and the new job selector selects (a promtool unit test). jb itself
/// has no Debian package (nor is it on the registries this project's CI
/// reaches): the link and the jsonnetfile entry are what its local install writes.
#[test]
fn a_config_override_in_a_vendoring_project_changes_the_rendered_alerts() {
    needs!("jsonnet", "promtool");
    let consumer = tempfile::tempdir().unwrap();
    let c = consumer.path();
    std::fs::create_dir_all(c.join("vendor")).unwrap();
    std::os::unix::fs::symlink(mixin(), c.join("vendor/jts-hot-mixin")).unwrap();
    std::fs::write(
        c.join("jsonnetfile.json"),
        serde_json::json!({"version": 1, "dependencies": [{
            "source": {"local": {"directory": mixin()}}, "version": ""}], "legacyImports": true})
        .to_string(),
    )
    .unwrap();
    let overrides = "{ _config+:: { job: 'node-hot', projectedDaysWarning: 30, \
                     runbookURLBase: 'https://wiki.example/jts-hot/runbook' } }";
    std::fs::write(
        c.join("alerts.jsonnet"),
        format!(
            "local m = (import 'jts-hot-mixin/mixin.libsonnet') + {overrides};\n\
             m.prometheusAlerts\n"
        ),
    )
    .unwrap();
    let (code, yaml, err) = run(Command::new("jsonnet")
        .args(["-J", "vendor", "alerts.jsonnet"])
        .current_dir(c));
    assert_eq!(code, 0, "{err}");
    std::fs::write(c.join("alerts.yml"), &yaml).unwrap();

    let find = |doc: &Value, name: &str| -> Value {
        alerts(doc)
            .into_iter()
            .find(|a| a["alert"] == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .clone()
    };
    let shipped = jsonnet(&mixin(), "(import 'mixin.libsonnet').prometheusAlerts");
    let ours = jsonnet(
        &c.join("vendor"),
        &format!("((import 'jts-hot-mixin/mixin.libsonnet') + {overrides}).prometheusAlerts"),
    );
    let before = find(&shipped, "JtsHotFilesystemProjectedFull");
    let after = find(&ours, "JtsHotFilesystemProjectedFull");
    eprintln!("shipped:  {}\noverride: {}", before["expr"], after["expr"]);
    assert_eq!(
        before["expr"],
        "max without(bound) (jts_hot_filesystem_days_to_full{job=~\".+\", bound=\"low\"}) < 14\nor\njts_hot_filesystem_days_until_full{job=~\".+\"} < 14\n"
    );
    assert_eq!(
        after["expr"],
        "max without(bound) (jts_hot_filesystem_days_to_full{job=~\"node-hot\", bound=\"low\"}) < 30\nor\njts_hot_filesystem_days_until_full{job=~\"node-hot\"} < 30\n"
    );
    assert_eq!(
        after["annotations"]["runbook_url"],
        "https://wiki.example/jts-hot/runbook#jtshotfilesystemprojectedfull"
    );
    // Every alert follows the job; none keeps the default selector.
    assert!(!yaml.contains("job=~\\\".+\\\""), "{yaml}");

    // promtool (JSON is YAML): the overridden file is valid, and it fires for the job it
    // names only (20 days left: below 30, above the shipped 14).
    let (code, o, e) = run(Command::new("promtool")
        .args(["check", "rules", "alerts.yml"])
        .current_dir(c));
    assert_eq!(code, 0, "{o}{e}");
    std::fs::write(
        c.join("alerts.test.yml"),
        "rule_files: [alerts.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n\
         \x20     - series: 'jts_hot_filesystem_days_until_full{instance=\"a\",job=\"node-hot\",base=\"/data/jts/hot\"}'\n\
         \x20       values: '20x120'\n\
         \x20     - series: 'jts_hot_filesystem_days_until_full{instance=\"b\",job=\"other\",base=\"/data/jts/hot\"}'\n\
         \x20       values: '20x120'\n\
         \x20   alert_rule_test:\n\
         \x20     - eval_time: 90m\n\
         \x20       alertname: JtsHotFilesystemProjectedFull\n\
         \x20       exp_alerts:\n\
         \x20         - exp_labels: {severity: warning, instance: a, job: node-hot, base: /data/jts/hot}\n\
         \x20           exp_annotations:\n\
         \x20             summary: 'Hot tier /data/jts/hot projected full in as little as 20.0 days'\n\
         \x20             description: \"At the growth over monitor.forecast_window the hot tier's filesystem /data/jts/hot on a may fill in 20.0 days (the forecast's low bound).\"\n\
         \x20             runbook_url: 'https://wiki.example/jts-hot/runbook#jtshotfilesystemprojectedfull'\n",
    )
    .unwrap();
    let (code, o, e) = run(Command::new("promtool")
        .args(["test", "rules", "alerts.test.yml"])
        .current_dir(c));
    assert_eq!(code, 0, "{o}{e}");
}
