//! Proof on a real boot: the real packages, installed by dpkg or rpm into a
//! Debian bookworm root filesystem, booted with systemd-nspawn. systemd itself
//! creates, repairs and checks the tier and gates the databases; a probe unit
//! records what it sees from inside. The harness is in common/nspawn.rs.
//!
//! Run just these: `cargo test --test boot -- --nocapture`.

mod common;
#[path = "common/nspawn.rs"]
mod nspawn;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use jts_hot::layout::Layout;
use nspawn::{packages, prerequisites, sh_quote, Image, Machine, Probe, Report};
use sha2::{Digest, Sha256};

const VALIDATE: &str = "jts-hot-validate.service";
const MONITOR: &str = "jts-hot-monitor.service";
const TIMER: &str = "jts-hot-monitor.timer";
const LAYOUT_FILE: &str = "/etc/jts/hot-layout.toml";

// ------------------------------------------------------------- probe steps

/// Steps that record the state of the tier and of our units after a boot.
fn state_steps(probe: Probe, layout: &Layout) -> Probe {
    let paths: Vec<String> = layout
        .planned_dirs()
        .iter()
        .map(|d| sh_quote(&d.path.display().to_string()))
        .collect();
    let users: Vec<&str> = owners(layout);
    let groups: Vec<&str> = group_names(layout);
    probe
        .step(
            "failed",
            // Each failed unit with its main process's exit status.
            "for u in $(systemctl --failed --no-legend --plain --no-pager | awk '{print $1}'); do \
             echo \"$u $(systemctl show -p ExecMainStatus --value \"$u\")\"; done",
        )
        .step(
            "validate-unit",
            &format!(
                "systemctl show {VALIDATE} -p ActiveState -p Result -p ExecMainStatus \
                 -p ExecMainStartTimestampMonotonic -p ExecMainExitTimestampMonotonic \
                 -p InactiveExitTimestampMonotonic -p ActiveEnterTimestampMonotonic"
            ),
        )
        .step(
            "validate-journal",
            &format!("journalctl -b -u {VALIDATE} --no-pager -o cat"),
        )
        .step("validate-json", "jts-hot validate --format json")
        .step(
            "boot-times",
            "systemctl show -p UserspaceTimestampMonotonic\n\
             systemctl show multi-user.target -p ActiveEnterTimestampMonotonic",
        )
        .step(
            "dirs",
            &format!("stat -c '%n|%U|%G|%a|%F' {}", paths.join(" ")),
        )
        .step("users", &format!("getent passwd {}", users.join(" ")))
        .step("groups", &format!("getent group {}", groups.join(" ")))
}

/// Steps for points 1 and 3: the timer, and one run of the monitor.
fn unit_steps(probe: Probe) -> Probe {
    probe
        .step(
            "timer-status",
            &format!("systemctl status {TIMER} --no-pager"),
        )
        .step(
            "timer",
            &format!("systemctl show {TIMER} -p ActiveState -p NextElapseUSecRealtime"),
        )
        .step(
            "list-timers",
            &format!("systemctl list-timers --all --no-pager {TIMER}"),
        )
        .step("monitor-start", &format!("systemctl start {MONITOR}"))
        .step(
            "monitor-unit",
            &format!("systemctl show {MONITOR} -p ActiveState -p Result -p ExecMainStatus"),
        )
        .step(
            "monitor-journal",
            &format!("journalctl -b -u {MONITOR} --no-pager -o cat"),
        )
        .step("monitor-json", "jts-hot monitor --format json")
}

fn owners(layout: &Layout) -> Vec<&str> {
    let mut names: Vec<&str> = layout
        .planned_dirs()
        .iter()
        .map(|d| d.ownership.owner.as_str())
        .filter(|n| *n != "root")
        .collect();
    names.sort();
    names.dedup();
    names
}

fn group_names(layout: &Layout) -> Vec<&str> {
    let mut names: Vec<&str> = layout
        .planned_dirs()
        .iter()
        .map(|d| d.ownership.group.as_str())
        .collect();
    names.sort();
    names.dedup();
    names
}

// ------------------------------------------------------------------ checks

/// No unit failed. One exception, said loudly: a unit that is not ours and
/// failed with 219/CGROUP, which systemd reports when the container cannot set
/// up the unit's cgroup before exec (seen on this cgroup-v1 hybrid host, once,
/// for Debian's systemd-update-utmp-runlevel.service under load). Ours and the
/// gated units never get that pass.
fn assert_no_unit_failed(report: &Report) {
    for line in report.ok("failed").lines().filter(|l| !l.trim().is_empty()) {
        let (unit, status) = line.split_once(' ').unwrap_or((line, ""));
        let ours = unit.starts_with("jts-hot") || unit.starts_with("postgresql");
        if !ours && status.trim() == "219" {
            eprintln!("\n!!!! boot: {unit} failed with 219/CGROUP (the container's cgroup setup, not jts-hot) !!!!\n");
            continue;
        }
        panic!(
            "unit failed: {line}\nall failed units:\n{}",
            report.ok("failed")
        );
    }
}

/// Point 1: no unit failed; the validation unit is active and did not find
/// the tier critical. (On a test machine validation warns, as it should,
/// about the environment: no noatime on the container's root, and the default
/// plan's 4 TB over-committing a small disk; exit 1, which the unit accepts.)
fn check_validated(report: &Report) {
    assert_no_unit_failed(report);
    let v = report.props("validate-unit");
    assert_eq!(v["ActiveState"], "active", "{VALIDATE}: {v:?}");
    assert_eq!(v["Result"], "success", "{VALIDATE}: {v:?}");
    // --warning-ok: OK and WARNING both exit 0, so `systemctl status` shows success.
    let status = &v["ExecMainStatus"];
    assert_eq!(
        status, "0",
        "{VALIDATE} exited {status}, not 0 (OK or WARNING)"
    );
    let json = report.out("validate-json");
    let parsed: serde_json::Value = serde_json::from_str(json)
        .unwrap_or_else(|e| panic!("jts-hot validate --format json does not parse ({e}):\n{json}"));
    assert!(
        report.rc("validate-json") <= 1,
        "validate is {} on the booted system:\n{parsed:#}",
        report.rc("validate-json")
    );
    println!(
        "validate after boot: exit {status}; journal:\n{}",
        report.out("validate-journal")
    );
}

/// Point 1 (timer) and point 3 (monitor outputs).
fn check_timer_and_monitor(m: &Machine, report: &Report, layout: &Layout) {
    report.ok("timer-status");
    let t = report.props("timer");
    assert_eq!(t["ActiveState"], "active", "{TIMER}: {t:?}");
    assert!(
        !t["NextElapseUSecRealtime"].is_empty(),
        "{TIMER} has no next run:\n{}",
        report.out("list-timers")
    );
    println!("{}", report.out("list-timers"));

    assert_eq!(
        report.rc("monitor-start"),
        0,
        "systemctl start {MONITOR} failed:\n{}{}",
        report.all("monitor-start"),
        report.out("monitor-journal")
    );
    let mon = report.props("monitor-unit");
    assert_eq!(
        mon["Result"],
        "success",
        "{MONITOR}: {mon:?}\n{}",
        report.out("monitor-journal")
    );
    // The textfile for node_exporter: every sample line is `name{labels} value`.
    let prom_path = layout.monitor.textfile_dir.join("jts_hot.prom");
    let prom = m.read(&prom_path.display().to_string());
    check_exposition(&prom);
    // Written by the unit as jts-hot's own user (docs/generated.md), not as root.
    let passwd = m.read("/etc/passwd");
    let uid: u32 = passwd
        .lines()
        .find_map(|l| l.strip_prefix("jts-hot:"))
        .and_then(|rest| rest.split(':').nth(1))
        .and_then(|u| u.parse().ok())
        .unwrap_or_else(|| panic!("no jts-hot user in the container:\n{passwd}"));
    let owner = std::os::unix::fs::MetadataExt::uid(
        &std::fs::metadata(m.path(&prom_path.display().to_string())).unwrap(),
    );
    assert_eq!(owner, uid, "{} is not jts-hot's", prom_path.display());
    for s in &layout.services {
        assert!(
            prom.contains(&format!("service=\"{}\"", s.name.as_str())),
            "no series for service {} in {}:\n{prom}",
            s.name.as_str(),
            prom_path.display()
        );
    }
    if common::have_tool("boot promtool", "promtool") {
        let host_copy = m.root.with_extension("jts_hot.prom");
        std::fs::write(&host_copy, &prom).unwrap();
        let (code, out, err) = common::run(
            std::process::Command::new("promtool")
                .args(["check", "metrics"])
                .stdin(std::fs::File::open(&host_copy).unwrap()),
        );
        let _ = std::fs::remove_file(&host_copy);
        assert_eq!(code, 0, "promtool check metrics:\n{out}{err}");
    }
    // Its JSON: what it keeps in its state directory, and its --format json.
    let state = m.path("/var/lib/jts-hot");
    let json_files: Vec<PathBuf> = common::files_under(&state)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert!(
        !json_files.is_empty(),
        "the monitor wrote no JSON under /var/lib/jts-hot: {:?}",
        common::files_under(&state)
    );
    for f in &json_files {
        let text = std::fs::read_to_string(state.join(f)).unwrap();
        serde_json::from_str::<serde_json::Value>(&text)
            .unwrap_or_else(|e| panic!("/var/lib/jts-hot/{} does not parse: {e}", f.display()));
    }
    let json = report.out("monitor-json");
    serde_json::from_str::<serde_json::Value>(json)
        .unwrap_or_else(|e| panic!("jts-hot monitor --format json does not parse ({e}):\n{json}"));
}

/// Prometheus text exposition, as node_exporter's textfile collector reads it.
fn check_exposition(text: &str) {
    let mut samples = 0;
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("not a sample line: {line}"));
        assert!(series.starts_with("jts_hot_"), "foreign series: {line}");
        value
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("bad value in: {line}"));
        samples += 1;
    }
    assert!(samples > 0, "no samples in the textfile:\n{text}");
}

/// Point 2: every directory with the layout's owner, group and mode; the
/// service users are system users with no login shell, at home in their
/// service directory.
fn check_tree(report: &Report, layout: &Layout) {
    let seen: BTreeMap<String, String> = report
        .ok("dirs")
        .lines()
        .filter_map(|l| l.split_once('|'))
        .map(|(p, rest)| (p.to_string(), rest.to_string()))
        .collect();
    for d in layout.planned_dirs() {
        let want = format!(
            "{}|{}|{:o}|directory",
            d.ownership.owner.as_str(),
            d.ownership.group.as_str(),
            d.ownership.mode.0
        );
        let path = d.path.display().to_string();
        assert_eq!(seen.get(&path), Some(&want), "{path} after boot");
    }
    let passwd = report.ok("users");
    for user in owners(layout) {
        let line = passwd
            .lines()
            .find(|l| l.starts_with(&format!("{user}:")))
            .unwrap_or_else(|| panic!("no user {user}:\n{passwd}"));
        let f: Vec<&str> = line.split(':').collect();
        let uid: u32 = f[2].parse().unwrap();
        assert!(uid < 1000, "{user} is not a system user: {line}");
        // The accounts the distributions' database packages make, made as
        // they make them: the .deb's Debian's, the .rpm's RHEL's
        // (packaging/*/jts-hot-accounts.conf, docs/databases.md).
        let distributions: &[(&str, &str)] = match user {
            "postgres" => &[
                ("/var/lib/postgresql", "/bin/bash"),
                ("/var/lib/pgsql", "/bin/bash"),
            ],
            "redis" => &[
                ("/var/lib/redis", "/usr/sbin/nologin"),
                ("/var/lib/redis", "/sbin/nologin"),
            ],
            _ => &[],
        };
        if !distributions.is_empty() {
            assert!(
                distributions.contains(&(f[5], f[6])),
                "{user} is not as its distribution's package makes it: {line}"
            );
            continue;
        }
        assert!(
            f[6].ends_with("/nologin") || f[6].ends_with("/false"),
            "{user} may log in: {line}"
        );
        let home = layout
            .services
            .iter()
            .find(|s| s.ownership.owner.as_str() == user)
            .map(|s| s.path(layout).display().to_string());
        if let Some(home) = home {
            assert_eq!(f[5], home, "{user}'s home");
        }
    }
    let groups = report.ok("groups");
    for g in group_names(layout) {
        assert!(
            groups.lines().any(|l| l.starts_with(&format!("{g}:"))),
            "no group {g}:\n{groups}"
        );
    }
}

// ------------------------------------------------------------------ figures

fn ms(props: &BTreeMap<String, String>, from: &str, to: &str) -> Option<f64> {
    let a: u64 = props.get(from)?.parse().ok()?;
    let b: u64 = props.get(to)?.parse().ok()?;
    (a > 0 && b >= a).then(|| (b - a) as f64 / 1000.0)
}

/// (process run time, unit start to active) of the validation unit, in ms.
fn validate_ms(report: &Report) -> (f64, f64) {
    let v = report.props("validate-unit");
    (
        ms(
            &v,
            "ExecMainStartTimestampMonotonic",
            "ExecMainExitTimestampMonotonic",
        )
        .expect("validate's process timestamps"),
        ms(
            &v,
            "InactiveExitTimestampMonotonic",
            "ActiveEnterTimestampMonotonic",
        )
        .expect("validate's unit timestamps"),
    )
}

/// Time from systemd's start (userspace) to multi-user.target active, in ms.
fn multi_user_ms(report: &Report) -> f64 {
    ms(
        &report.props("boot-times"),
        "UserspaceTimestampMonotonic",
        "ActiveEnterTimestampMonotonic",
    )
    .expect("boot timestamps")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

// ---------------------------------------------------------------- scenarios

fn installed_deb(scenario: &str) -> Machine {
    installed_deb_in(scenario, Image::Bookworm)
}

fn installed_deb_in(scenario: &str, image: Image) -> Machine {
    let m = Machine::fresh(scenario, image);
    let deb = m.put(&packages().deb, "jts-hot.deb");
    let out = m.run_ok(&format!("dpkg -i {deb}"));
    println!("dpkg -i:\n{out}");
    m
}

/// A WARNING tier (the container's disk is far smaller than the default
/// 4 TB plan, and its root has no noatime) is usable: both units show
/// success in `systemctl status` while `jts-hot validate` and the monitor
/// themselves still say WARNING (exit 1) and the journal says so.
fn check_warning_shows_success(report: &Report) {
    let status = report.out("validate-status");
    let journal = report.out("validate-journal");
    let monitor = report.out("monitor-journal");
    println!("systemctl status {VALIDATE}:\n{status}");
    assert_eq!(
        report.rc("validate-json"),
        1,
        "validate is not WARNING on the test machine (the proof needs a WARNING tier):\n{journal}"
    );
    assert!(status.contains("status=0/SUCCESS"), "{status}");
    assert!(!status.contains("FAILURE"), "{status}");
    assert!(journal.contains("jts-hot validate: WARNING"), "{journal}");
    assert_eq!(
        report.rc("monitor-json"),
        1,
        "the monitor is not WARNING:\n{monitor}"
    );
    assert_eq!(
        report.props("monitor-unit")["ExecMainStatus"],
        "0",
        "{monitor}"
    );
    assert!(monitor.contains("WARNING"), "{monitor}");
    // A handful of whole lines a run: one per finding, then the summary.
    let ours = report.out("monitor-journal-ours");
    let runs = ours.matches("jts-hot monitor: ").count();
    let lines = ours.lines().count();
    println!("FIGURE monitor journal: {lines} lines in {runs} runs:\n{ours}");
    assert!(runs >= 1 && lines <= 6 * runs, "{ours}");
    for l in ours.lines() {
        assert!(
            [
                "OK ",
                "WARNING ",
                "CRITICAL ",
                "UNKNOWN ",
                "jts-hot monitor: "
            ]
            .iter()
            .any(|w| l.starts_with(w)),
            "not a whole finding: {l:?}\n{ours}"
        );
    }
}

/// The indented lines between `<!-- NAME -->` and `<!-- /NAME -->` in
/// docs/nagios.md, comments left out.
fn nagios_snippet(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(common::repo_root().join("docs/nagios.md")).unwrap();
    let start = text.find(&format!("<!-- {name} -->")).expect("the snippet");
    let end = text.find(&format!("<!-- /{name} -->")).expect("its end");
    text[start..end]
        .lines()
        .filter_map(|l| l.strip_prefix("    "))
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// docs/nagios.md's set-up as written: an unprivileged `nagios` user, the
/// sudoers snippet in /etc/sudoers.d (checked by visudo), and one probe step
/// per NRPE command line (run by `sh -c` as that user, as NRPE runs it); plus
/// what sudo must refuse or reset: another layout (`--config`, the
/// environment's `$JTS_HOT_CONFIG`) and another option.
fn nrpe_setup(m: &Machine, probe: Probe) -> Probe {
    let sudoers = nagios_snippet("sudoers").join("\n") + "\n";
    m.write("etc/sudoers.d/jts-hot-nrpe", &sudoers);
    m.run_ok(
        "chmod 0440 /etc/sudoers.d/jts-hot-nrpe && visudo -c -f /etc/sudoers.d/jts-hot-nrpe \
         && useradd --system --no-create-home --shell /usr/sbin/nologin nagios",
    );
    let nrpe = nagios_snippet("nrpe");
    assert_eq!(nrpe.len(), 2, "{nrpe:?}");
    let as_nagios = |cmd: &str| format!("runuser -u nagios -- /bin/sh -c {}", sh_quote(cmd));
    let mut probe = probe;
    for (i, line) in nrpe.iter().enumerate() {
        let command = line.split_once('=').expect("command[NAME]=...").1;
        probe = probe.step(&format!("nrpe-{i}"), &as_nagios(command));
    }
    probe
        .step(
            "nrpe-no-sudo",
            &as_nagios("/usr/bin/jts-hot validate --format nagios"),
        )
        .step(
            "nrpe-other-layout",
            &as_nagios("/usr/bin/sudo -n /usr/bin/jts-hot --config /etc/passwd validate --format nagios"),
        )
        .step(
            "nrpe-other-option",
            &as_nagios("/usr/bin/sudo -n /usr/bin/jts-hot validate --format json"),
        )
        .step(
            "nrpe-env-layout",
            &as_nagios(
                "JTS_HOT_CONFIG=/etc/passwd /usr/bin/sudo -n /usr/bin/jts-hot validate --format nagios",
            ),
        )
}

/// docs/nagios.md for real: through sudo the NRPE user gets validate's and
/// the monitor's plugin output with root's view of the tier (validate's
/// status is root's own); without sudo, the one UNKNOWN line; sudo refuses
/// another layout or option and drops `$JTS_HOT_CONFIG`.
fn check_nrpe(report: &Report) {
    let first = |step: &str| report.out(step).lines().next().unwrap_or("").to_string();
    let root_status = report.rc("validate-json");
    for (step, want) in [("nrpe-0", Some(root_status)), ("nrpe-1", None)] {
        let all = report.all(step);
        println!("NRPE {step} (exit {}):\n{all}", report.rc(step));
        assert!(first(step).starts_with("JTS-HOT "), "{step}: {all}");
        assert!(first(step).contains(" | "), "{step} has no perfdata: {all}");
        assert!(!all.contains("needs root"), "{step}: {all}");
        match want {
            Some(code) => assert_eq!(report.rc(step), code, "{step}: {all}"),
            None => assert!(report.rc(step) <= 2, "{step}: {all}"),
        }
    }
    assert_eq!(
        report.rc("nrpe-env-layout"),
        root_status,
        "{}",
        report.all("nrpe-env-layout")
    );
    let status_line = |step: &str| first(step).split(" | ").next().unwrap().to_string();
    assert_eq!(
        status_line("nrpe-env-layout"),
        status_line("nrpe-0"),
        "sudo kept $JTS_HOT_CONFIG"
    );
    let direct = report.all("nrpe-no-sudo");
    assert_eq!(report.rc("nrpe-no-sudo"), 3, "{direct}");
    assert!(
        first("nrpe-no-sudo").starts_with("JTS-HOT UNKNOWN"),
        "{direct}"
    );
    assert!(
        direct.contains("needs root or CAP_DAC_READ_SEARCH"),
        "{direct}"
    );
    for step in ["nrpe-other-layout", "nrpe-other-option"] {
        let all = report.all(step);
        assert_eq!(report.rc(step), 1, "sudo let {step} through:\n{all}");
        assert!(all.contains("a password is required"), "{step}: {all}");
        assert!(!all.contains("JTS-HOT"), "{step}: {all}");
    }
}

/// Points 1, 2 and 3 with the .deb, and docs/nagios.md's NRPE set-up.
#[test]
fn deb_installed_and_booted() {
    needs!(prerequisites);
    let _slot = nspawn::shared_slot();
    let layout = Layout::builtin();
    let mut m = installed_deb_in("deb", Image::BookwormSudo);
    let probe = nrpe_setup(&m, unit_steps(state_steps(Probe::new(), &layout)));
    let exposure = common::documented_exposure();
    let security = exposure.iter().fold(Probe::new(), |p, (unit, _, _)| {
        p.step(
            &format!("security-{}", unit.trim_end_matches(".service")),
            &format!("systemd-analyze security --no-pager {unit}"),
        )
    });
    let report = m.boot(
        &probe
            .step(
                "validate-status",
                &format!("systemctl status {VALIDATE} --no-pager --lines=20"),
            )
            .step(
                "monitor-journal-ours",
                &format!("journalctl -b -u {MONITOR} --no-pager -o cat _COMM=jts-hot"),
            )
            .steps(security),
    );
    // docs/generated.md's scores (tier.quota = "off") are the booted system's.
    for (unit, documented, _) in &exposure {
        let text = report.all(&format!("security-{}", unit.trim_end_matches(".service")));
        assert_eq!(
            common::exposure_in(&text).as_deref(),
            Some(documented.as_str()),
            "{unit}: docs/generated.md says {documented}:\n{text}"
        );
    }
    check_validated(&report);
    check_tree(&report, &layout);
    check_timer_and_monitor(&m, &report, &layout);
    check_warning_shows_success(&report);
    check_nrpe(&report);
    let (run, unit) = validate_ms(&report);
    println!(
        "FIGURE jts-hot-validate.service at boot: {run:.1} ms process, {unit:.1} ms unit; \
         multi-user.target after {:.0} ms; nspawn wall {:.1?}",
        multi_user_ms(&report),
        report.wall
    );
}

/// Point 8: the .rpm, installed with rpm in a fresh container, passes 1 to 3.
#[test]
fn rpm_installed_and_booted() {
    needs!(prerequisites);
    let _slot = nspawn::shared_slot();
    let layout = Layout::builtin();
    let mut m = Machine::fresh("rpm", Image::BookwormRpm);
    let rpm = m.put(&packages().rpm, "jts-hot.rpm");
    let out = m.run_ok(&format!("rpm -i --nodeps {rpm}"));
    println!("rpm -i:\n{out}");
    let report = m.boot(&unit_steps(state_steps(Probe::new(), &layout)));
    check_validated(&report);
    check_tree(&report, &layout);
    check_timer_and_monitor(&m, &report, &layout);
}

/// The .rpm's scriptlets in a booted system, as RPM's macros have them
/// (docs/packages.md): installed, the units are enabled and started
/// (%systemd_post, and the start the package adds); an upgrade (rpm -U)
/// keeps the operator's disabled unit disabled, restarts the timer
/// (%systemd_postun_with_restart) but neither the validation nor the setup
/// unit (%systemd_postun), nor the running stand-in database they gate; an
/// erase disables and stops them (%systemd_preun) and leaves the database
/// running.
#[test]
fn rpm_scriptlets_in_a_booted_system() {
    needs!(prerequisites);
    let _slot = nspawn::shared_slot();
    let mut m = Machine::fresh("rpm-scriptlets", Image::BookwormRpm);
    let rpm = m.put(&packages().rpm, "jts-hot.rpm");
    let work = m.root.with_extension("pkgs");
    std::fs::create_dir_all(&work).unwrap();
    let newer = m.put(&nspawn::newer_rpm(&work), "jts-hot-newer.rpm");
    let _ = std::fs::remove_dir_all(&work);
    m.write(
        "/etc/systemd/system/postgresql.service",
        "[Unit]\nDescription=Stand-in for PostgreSQL (only sleeps)\n\
         [Service]\nExecStart=/bin/sleep infinity\n\
         [Install]\nWantedBy=multi-user.target\n",
    );
    std::fs::create_dir_all(m.path("/etc/systemd/system/multi-user.target.wants")).unwrap();
    std::os::unix::fs::symlink(
        "/etc/systemd/system/postgresql.service",
        m.path("/etc/systemd/system/multi-user.target.wants/postgresql.service"),
    )
    .unwrap();
    const UNITS: &str = "jts-hot-setup.service jts-hot-validate.service jts-hot-monitor.timer";
    let show =
        |unit: &str| format!("systemctl show {unit} -p InvocationID -p ActiveState -p MainPID");
    let report = m.boot(
        &Probe::new()
            .step("install", &format!("rpm -i --nodeps {rpm} 2>&1"))
            .step("enabled", &format!("systemctl is-enabled {UNITS}"))
            .step("active", &format!("systemctl is-active {UNITS}"))
            .step("operator", "systemctl disable jts-hot-setup.service 2>&1")
            .step("validate-before", &show("jts-hot-validate.service"))
            .step("setup-before", &show("jts-hot-setup.service"))
            .step("timer-before", &show("jts-hot-monitor.timer"))
            .step("db-before", &show("postgresql.service"))
            .step(
                "upgrade",
                &format!("rpm -U --nodeps {newer} 2>&1 && rpm -q jts-hot"),
            )
            .step("validate-after", &show("jts-hot-validate.service"))
            .step("setup-after", &show("jts-hot-setup.service"))
            .step("timer-after", &show("jts-hot-monitor.timer"))
            .step("db-upgraded", &show("postgresql.service"))
            .step(
                "enabled-upgraded",
                &format!("systemctl is-enabled {UNITS} || true"),
            )
            .step("erase", "rpm -e --nodeps jts-hot 2>&1")
            .step("erased", &format!("systemctl is-active {UNITS} || true"))
            .step("wants", "ls /etc/systemd/system/*.wants/")
            .step("db-erased", &show("postgresql.service")),
    );
    println!("rpm -i (booted):\n{}", report.ok("install"));
    assert_eq!(
        report.ok("enabled").lines().collect::<Vec<_>>(),
        ["enabled", "enabled", "enabled"]
    );
    assert_eq!(
        report.ok("active").lines().collect::<Vec<_>>(),
        ["active", "active", "active"]
    );
    report.ok("operator");
    println!("rpm -U (booted):\n{}", report.ok("upgrade"));
    assert!(
        report.ok("upgrade").contains("jts-hot-0.1.0-2.boottest"),
        "{}",
        report.ok("upgrade")
    );
    for unit in ["validate", "setup"] {
        let (before, after) = (
            report.props(&format!("{unit}-before")),
            report.props(&format!("{unit}-after")),
        );
        assert_eq!(before["ActiveState"], "active", "{unit}: {before:?}");
        assert_eq!(before, after, "the upgrade restarted jts-hot-{unit}");
    }
    let (before, after) = (report.props("timer-before"), report.props("timer-after"));
    assert_eq!(after["ActiveState"], "active", "{after:?}");
    assert_ne!(
        before["InvocationID"], after["InvocationID"],
        "the upgrade did not try-restart the timer"
    );
    let db = report.props("db-before");
    assert_eq!(db["ActiveState"], "active", "{db:?}");
    assert_eq!(
        report.props("db-upgraded"),
        db,
        "the upgrade restarted the database"
    );
    assert_eq!(
        report.ok("enabled-upgraded").lines().collect::<Vec<_>>(),
        ["disabled", "enabled", "enabled"],
        "the upgrade changed the operator's choice"
    );
    println!("rpm -e (booted):\n{}", report.ok("erase"));
    assert_eq!(
        report.ok("erased").lines().collect::<Vec<_>>(),
        ["inactive", "inactive", "inactive"]
    );
    let wants = report.ok("wants");
    assert!(!wants.contains("jts-hot"), "left enabled:\n{wants}");
    assert_eq!(
        report.props("db-erased"),
        db,
        "the erase stopped the database"
    );
}

/// Point 4: drift made on a running system is reported by validate, and the
/// next boot puts every directory back as the layout says.
#[test]
fn drift_repaired_by_reboot() {
    needs!(prerequisites);
    let _slot = nspawn::shared_slot();
    let layout = Layout::builtin();
    let dirs = layout.planned_dirs();
    let service_dir = |name: &str| {
        dirs.iter()
            .find(|d| d.service.is_some_and(|s| s.name.as_str() == name))
            .map(|d| d.path.display().to_string())
            .unwrap()
    };
    // A subdirectory deleted, a service directory opened to all, one given away.
    let deleted = format!("{}/logs", service_dir("postgresql"));
    let opened = service_dir("kafka");
    let given = service_dir("redis");
    assert!(dirs.iter().any(|d| d.path.display().to_string() == deleted));

    let mut m = installed_deb("drift");
    let before = m.boot(
        &Probe::new()
            .step(
                "drift",
                &format!("rmdir {deleted}\nchmod 0777 {opened}\nchown nobody:nogroup {given}"),
            )
            .step("validate", "jts-hot validate"),
    );
    before.ok("drift");
    let found = before.all("validate");
    assert_eq!(
        before.rc("validate"),
        2,
        "validate must be CRITICAL on the drifted tier:\n{found}"
    );
    for path in [&deleted, &opened, &given] {
        assert!(
            found.lines().any(|l| l.contains(path.as_str())),
            "validate did not report {path}:\n{found}"
        );
    }
    println!("validate before the reboot:\n{found}");

    let after = m.boot(&state_steps(Probe::new(), &layout));
    check_tree(&after, &layout);
    check_validated(&after);
}

/// Point 5: a stand-in database gated by our drop-in starts on a valid tier,
/// not when validation is critical (base required to be a mount point and
/// nothing mounted), and again once the tier is fixed.
#[test]
fn database_gated_on_validation() {
    needs!(prerequisites);
    let _slot = nspawn::shared_slot();
    let mut m = installed_deb("gate");
    m.write(
        "/etc/systemd/system/postgresql.service",
        "[Unit]\nDescription=Stand-in for PostgreSQL (only sleeps)\n\
         [Service]\nExecStart=/bin/sleep infinity\n\
         [Install]\nWantedBy=multi-user.target\n",
    );
    std::fs::create_dir_all(m.path("/etc/systemd/system/multi-user.target.wants")).unwrap();
    std::os::unix::fs::symlink(
        "/etc/systemd/system/postgresql.service",
        m.path("/etc/systemd/system/multi-user.target.wants/postgresql.service"),
    )
    .unwrap();
    let probe = Probe::new()
        .step(
            "db",
            "systemctl show postgresql.service -p ActiveState -p DropInPaths -p Wants",
        )
        .step(
            "validate-unit",
            &format!("systemctl show {VALIDATE} -p ActiveState -p Result -p ExecMainStatus"),
        )
        .step(
            "db-journal",
            "journalctl -b -u postgresql.service --no-pager -o cat",
        );

    // Issue 21: a typo saved in the layout and not applied is only a pending
    // edit: the database restarts, validation succeeds and names it.
    let typo = probe
        .clone()
        .step(
            "typo",
            &format!("printf '[services.kafka\\n' >> {LAYOUT_FILE}"),
        )
        .step(
            "restart-db",
            &format!(
                "{}\n\
                 systemctl show postgresql.service -p ActiveState -p NRestarts",
                nspawn::restart("postgresql.service")
            ),
        )
        .step(
            "revalidate",
            &format!(
                "{}\n\
                 systemctl show {VALIDATE} -p ActiveState -p ExecMainStatus\n\
                 systemctl status {VALIDATE} --no-pager -n 20",
                nspawn::restart(VALIDATE)
            ),
        )
        .step(
            "pending-metric",
            "jts-hot monitor --format prometheus | grep '^jts_hot_layout_pending'",
        );
    let valid = m.boot(&typo);
    let db = valid.props("db");
    assert_eq!(db["ActiveState"], "active", "on a valid tier: {db:?}");
    assert!(
        db["DropInPaths"].contains("postgresql.service.d/jts-hot.conf"),
        "our drop-in is not applied: {db:?}"
    );
    assert!(db["Wants"].contains(VALIDATE), "{db:?}");
    assert_eq!(valid.ok("typo"), "");
    let restarted = valid.ok("restart-db");
    assert!(
        restarted.contains("ActiveState=active"),
        "the saved typo stopped the database: {restarted}"
    );
    let status = valid.ok("revalidate");
    println!("systemctl status {VALIDATE} with a saved typo:\n{status}");
    // WARNING: a success of the unit (exit 0 under --warning-ok).
    assert!(status.contains("ActiveState=active"), "{status}");
    assert!(
        status.contains("layout.pending") && status.contains("does not parse"),
        "systemctl status does not name the pending edit:\n{status}"
    );
    assert_eq!(
        valid.ok("pending-metric").trim(),
        "jts_hot_layout_pending 1"
    );

    let good = m.read(LAYOUT_FILE).replace("[services.kafka\n", "");
    let broken = good.replace("require_mountpoint = \"auto\"", "require_mountpoint = true");
    assert_ne!(
        good, broken,
        "the packaged layout has no require_mountpoint = \"auto\""
    );
    // Saved, it changes nothing; applied, it is in force.
    m.write(LAYOUT_FILE, &broken);
    println!("{}", m.run_ok("jts-hot apply"));
    let critical = m.boot(&probe);
    let v = critical.props("validate-unit");
    assert_eq!(v["ActiveState"], "failed", "validation on no mount: {v:?}");
    assert_eq!(v["ExecMainStatus"], "2", "CRITICAL expected: {v:?}");
    let db = critical.props("db");
    assert_ne!(
        db["ActiveState"],
        "active",
        "the database started on an unmounted tier:\n{}",
        critical.out("db-journal")
    );
    println!("gated database on a critical tier: {db:?}");

    m.write(LAYOUT_FILE, &good);
    println!("{}", m.run_ok("jts-hot apply"));
    let fixed = m.boot(&probe);
    assert_eq!(fixed.props("db")["ActiveState"], "active");
}

/// Point 6: files in each service's data directory keep their checksums
/// across a reboot, an upgrade, `apt remove` and `dpkg --purge`, and the
/// service directories outlive the purge.
#[test]
fn data_survives_reboot_upgrade_remove_purge() {
    needs!(prerequisites);
    let _slot = nspawn::shared_slot();
    let layout = Layout::builtin();
    let mut m = installed_deb("data");
    // One file per service, in its first subdirectory (its data), owned by it.
    let mut files = BTreeMap::new();
    for (i, s) in layout.services.iter().enumerate() {
        let dir = s.path(&layout).join(s.dirs[0].name.as_str());
        let path = dir.join("precious.bin");
        let bytes: Vec<u8> = (0..64 * 1024u32)
            .flat_map(|n| Sha256::digest((i as u32 * 65536 + n).to_le_bytes())[..4].to_vec())
            .collect();
        std::fs::write(m.path(&path.display().to_string()), &bytes).unwrap();
        files.insert(path.display().to_string(), hex(&Sha256::digest(&bytes)));
    }
    let check = |m: &Machine, stage: &str| {
        for (path, want) in &files {
            let bytes = std::fs::read(m.path(path))
                .unwrap_or_else(|e| panic!("{path} lost after {stage}: {e}"));
            assert_eq!(&hex(&Sha256::digest(&bytes)), want, "{path} after {stage}");
        }
        for s in &layout.services {
            let dir = s.path(&layout);
            assert!(
                m.path(&dir.display().to_string()).is_dir(),
                "{} gone after {stage}",
                dir.display()
            );
        }
        println!("data intact after {stage}");
    };
    let quiet = Probe::new().step("up", "true");
    m.boot(&quiet);
    check(&m, "a reboot");

    let work = m.root.with_extension("pkgs");
    std::fs::create_dir_all(&work).unwrap();
    let newer = nspawn::newer_deb(&packages().deb, &work);
    let newer_in = m.put(&newer, "jts-hot-newer.deb");
    let _ = std::fs::remove_dir_all(&work);
    println!("{}", m.run_ok(&format!("dpkg -i {newer_in}")));
    check(&m, "an upgrade");
    m.boot(&quiet);
    check(&m, "the upgrade and a reboot");

    // Everything jts-hot writes outside the tier: apply's files in /etc (the
    // SELinux equivalence list among them), the monitor's history and
    // textfile, a temporary a killed apply left; and one file of the
    // operator's beside them, which has no marker and must stay.
    m.run_ok(
        "jts-hot apply >/dev/null; \
         jts-hot monitor --textfile-dir /var/lib/prometheus/node-exporter >/dev/null || true; \
         echo partial > /etc/systemd/system/.jts-hot.4242.tmp; \
         echo operator > /etc/jts-hot/notes.txt",
    );
    // Every path outside the tier that names jts, is in jts-hot's own
    // directories, or carries its marker (the test's own probe aside).
    let listed = |m: &Machine| -> Vec<String> {
        let out = m.run_ok(
            "{ find / -xdev \\( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp \
               -o -path /root -o -path /var/tmp -o -path /data/jts \\) -prune \
               -o \\( -iname '*jts*' -print \\); \
               find /etc/jts-hot /var/lib/jts-hot 2>/dev/null; \
               grep -rlI -e '^# jts-hot-layout-digest: ' -e '^# HELP jts_hot_' \
               /etc /var/lib /usr/lib /usr/local 2>/dev/null; } | sort -u",
        );
        out.lines()
            .filter(|l| l.starts_with('/') && !l.contains("jts-probe"))
            .map(str::to_string)
            .collect()
    };
    let before = listed(&m);
    println!("jts-hot's paths before purge:\n{}", before.join("\n"));
    for must in [
        "/etc/jts-hot/file_contexts.subs",
        "/etc/jts-hot/tmpfiles.conf",
        "/etc/tmpfiles.d/jts-hot.conf",
        "/var/lib/jts-hot/monitor-history.json",
        "/var/lib/prometheus/node-exporter/jts_hot.prom",
    ] {
        assert!(
            before.iter().any(|p| p == must),
            "{must} not written: {before:?}"
        );
    }
    println!("{}", m.run_ok("apt-get remove -y jts-hot"));
    check(&m, "apt remove");
    println!("{}", m.run_ok("dpkg --purge jts-hot"));
    check(&m, "dpkg --purge");
    let after = listed(&m);
    println!("jts-hot's paths after purge:\n{}", after.join("\n"));
    assert!(
        !m.path("/etc/systemd/system/.jts-hot.4242.tmp").exists(),
        "a killed apply's temporary survived the purge"
    );
    assert_eq!(
        after,
        ["/etc/jts-hot", "/etc/jts-hot/notes.txt"],
        "only the operator's own file (no marker) may stay"
    );
    for user in owners(&layout) {
        m.run_ok(&format!("getent passwd {user}"));
    }
    m.boot(&quiet);
    check(&m, "the purge and a reboot");
}

/// Point 7: an edited layout (one more service, one changed mode), then
/// `jts-hot apply` and a reboot, gives the new tree; an upgrade of the
/// package keeps the edited layout. Issue 21 items 4 and 5 in the same
/// boots: `jts-hot status` on a healthy and on a drifted tier; the upgrade,
/// done in the booted system under a running stand-in database, renders the
/// units in /etc again from the applied layout (a stale one is replaced),
/// keeps the operator's drop-in and the applied layout, restarts no database.
#[test]
fn edited_layout_applied_and_kept_on_upgrade() {
    needs!(prerequisites);
    let _slot = nspawn::shared_slot();
    let mut m = installed_deb("apply");
    let packaged = m.read(LAYOUT_FILE);
    // Redis's directory opened to its group; a new service (room made in backup).
    let redis_mode = "[services.redis]\nowner = \"redis\"\ngroup = \"redis\"\nmode = \"0750\"";
    assert!(packaged.contains(redis_mode), "unexpected packaged layout");
    let edited = packaged
        .replace(redis_mode, &redis_mode.replace("0750", "0770"))
        .replace("planned = \"350GB\"", "planned = \"340GB\"")
        + "\n[services.grafana]\nowner = \"grafana\"\ngroup = \"grafana\"\nmode = \"0750\"\n\
           planned = \"10GB\"\ngate = []\ndirs = [\"data\", \"plugins\"]\n";
    let layout = Layout::parse(&edited, LAYOUT_FILE)
        .unwrap_or_else(|e| panic!("the edited layout is refused:\n{e}"));
    m.write(LAYOUT_FILE, &edited);
    // A stand-in database, gated, with the operator's own drop-in.
    m.write(
        "/etc/systemd/system/postgresql.service",
        "[Unit]\nDescription=Stand-in for PostgreSQL (only sleeps)\n\
         [Service]\nExecStart=/bin/sleep infinity\n\
         [Install]\nWantedBy=multi-user.target\n",
    );
    let operator_dropin = "/etc/systemd/system/postgresql.service.d/operator.conf";
    m.write(
        operator_dropin,
        "[Service]\nEnvironment=OPERATOR_WAS_HERE=1\n",
    );
    std::fs::create_dir_all(m.path("/etc/systemd/system/multi-user.target.wants")).unwrap();
    std::os::unix::fs::symlink(
        "/etc/systemd/system/postgresql.service",
        m.path("/etc/systemd/system/multi-user.target.wants/postgresql.service"),
    )
    .unwrap();

    let applied = m.boot(
        &Probe::new()
            .step("dry-run", "jts-hot apply --dry-run")
            .step("apply", "jts-hot apply")
            .step("monitor", "systemctl start jts-hot-monitor.service")
            .step(
                "layout-metrics",
                "date +%s; grep '^jts_hot_layout_' /var/lib/prometheus/node-exporter/jts_hot.prom",
            )
            // As at a terminal: no journal priority prefixes.
            .step(
                "status-healthy",
                "env -u JOURNAL_STREAM jts-hot status || echo \"exit=$?\"",
            )
            .step(
                "status-drifted",
                "chmod 0777 /data/jts/hot/redis\n\
                 env -u JOURNAL_STREAM jts-hot status || echo \"exit=$?\"\n\
                 jts-hot status --format json >/run/status.json || true\n\
                 cat /run/status.json\n\
                 chmod 0770 /data/jts/hot/redis",
            ),
    );
    println!("jts-hot apply --dry-run:\n{}", applied.ok("dry-run"));
    println!("jts-hot apply:\n{}", applied.ok("apply"));
    // Issue 25 item 4: the layout in force and when it was applied, for the fleet.
    let metrics = applied.ok("layout-metrics");
    println!("the monitor's layout series:\n{metrics}");
    assert!(
        metrics.contains(&format!(
            "jts_hot_layout_info{{digest=\"{}\",source=\"applied\",version=\"{}\",role=\"\"}} 1\n",
            layout.digest(),
            env!("CARGO_PKG_VERSION")
        )),
        "{metrics}"
    );
    let now: f64 = metrics.lines().next().unwrap().trim().parse().unwrap();
    let applied_at: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("jts_hot_layout_applied_timestamp_seconds "))
        .unwrap_or_else(|| panic!("no applied time: {metrics}"))
        .trim()
        .parse()
        .unwrap();
    assert!(
        (now - 600.0..=now).contains(&applied_at),
        "applied at {applied_at}, now {now}"
    );
    let healthy = applied.ok("status-healthy");
    println!("jts-hot status, healthy tier:\n{healthy}");
    assert!(
        healthy.starts_with(&format!("layout    {LAYOUT_FILE}, applied ")),
        "{healthy}"
    );
    for want in [
        "no pending edit",
        "tier      /data/jts/hot: ",
        "jts-hot-validate.service",
        "gated     postgresql.service",
        "active (running)",
        "monitor   last run ",
        "quotas    ",
        "selinux   ",
    ] {
        assert!(healthy.contains(want), "no {want:?}:\n{healthy}");
    }
    assert!(
        !healthy.contains("jts-hot setup"),
        "status suggests setup:\n{healthy}"
    );
    let drifted = applied.ok("status-drifted");
    println!("jts-hot status, drifted tier:\n{drifted}");
    assert!(drifted.contains("CRITICAL: 1 critical"), "{drifted}");
    assert!(drifted.contains("exit=2"), "{drifted}");
    assert!(
        !drifted.contains("jts-hot setup"),
        "status suggests setup:\n{drifted}"
    );
    let json_at = drifted.find("{\n").expect("the JSON");
    let json: serde_json::Value = serde_json::from_str(&drifted[json_at..])
        .unwrap_or_else(|e| panic!("status --format json ({e}):\n{drifted}"));
    assert_eq!(json["schema"], "jts-hot.status/1");
    assert_eq!(json["tier"]["critical"], 1);
    assert_eq!(json["layout"]["origin"]["kind"], "applied");

    let after = m.boot(&state_steps(Probe::new(), &layout));
    check_tree(&after, &layout);
    check_validated(&after);

    // As an older jts-hot rendered it: another line, its own valid digest.
    let stale_unit = "/etc/systemd/system/jts-hot-monitor.service";
    let current = m.read(stale_unit);
    let older = current.replace("Nice=19\n", "Nice=10\n");
    assert_ne!(older, current, "no Nice=19 in {stale_unit}");
    let digest = jts_hot::render::generated::content_digest(&older);
    let carried = jts_hot::render::generated::digest_in(&older)
        .unwrap()
        .to_string();
    m.write(stale_unit, &older.replace(&carried, &digest));
    let copy_before = m.read("/var/lib/jts-hot/applied-layout.toml");

    let work = m.root.with_extension("pkgs");
    std::fs::create_dir_all(&work).unwrap();
    let newer = nspawn::newer_deb(&packages().deb, &work);
    let newer_in = m.put(&newer, "jts-hot-newer.deb");
    let _ = std::fs::remove_dir_all(&work);
    let db = "systemctl show postgresql.service -p MainPID -p InvocationID -p ActiveState";
    let upgraded = m.boot(
        &state_steps(Probe::new(), &layout)
            .step("db-before", db)
            .step("upgrade", &format!("dpkg -i {newer_in} 2>&1"))
            .step("db-after", db)
            .step(
                "status-upgraded",
                "env -u JOURNAL_STREAM jts-hot status || true",
            ),
    );
    println!("dpkg -i (the upgrade, booted):\n{}", upgraded.ok("upgrade"));
    println!(
        "jts-hot status after the upgrade:\n{}",
        upgraded.ok("status-upgraded")
    );
    let (before, after_db) = (upgraded.props("db-before"), upgraded.props("db-after"));
    assert_eq!(before["ActiveState"], "active", "{before:?}");
    assert_eq!(before, after_db, "the upgrade restarted the database");
    check_tree(&upgraded, &layout);
    assert_eq!(
        m.read(LAYOUT_FILE),
        edited,
        "the upgrade replaced the edited layout"
    );
    assert_eq!(
        m.read("/var/lib/jts-hot/applied-layout.toml"),
        copy_before,
        "the upgrade changed the applied layout"
    );
    assert!(
        m.read(operator_dropin).contains("OPERATOR_WAS_HERE"),
        "the operator's drop-in is gone"
    );
    // Every file in /etc is this version's rendering of the applied layout.
    for f in jts_hot::render::render(&layout) {
        if !f.path.starts_with("usr/lib") {
            continue;
        }
        let etc = jts_hot::render::generated::etc_path(&f.path);
        assert_eq!(
            m.read(&format!("/{}", etc.display())),
            f.contents,
            "/{} is not the new version's rendering",
            etc.display()
        );
    }
    let reboot = m.boot(&state_steps(Probe::new(), &layout));
    check_tree(&reboot, &layout);
    check_validated(&reboot);
}

/// Figures for the README: how long validation takes at boot, and the time
/// to reach multi-user.target with and without the package. Reboots of two
/// machines, alternated, with no other scenario running; medians printed.
#[test]
fn boot_figures() {
    needs!(prerequisites);
    let layout = Layout::builtin();
    let _alone = nspawn::exclusive_slot();
    let mut plain = Machine::fresh("figures-plain", Image::Bookworm);
    let mut with = installed_deb("figures-deb");
    let times = Probe::new().step(
        "boot-times",
        "systemctl show -p UserspaceTimestampMonotonic\n\
         systemctl show multi-user.target -p ActiveEnterTimestampMonotonic",
    );
    // The same command in a bare transient unit (no sandbox): what of the
    // unit's time is jts-hot itself, and what is systemd setting up the sandbox.
    let with_probe = state_steps(Probe::new(), &layout).step(
        "validate-bare",
        "systemd-run -q --unit=jts-validate-bare -p Type=oneshot -p RemainAfterExit=yes \
         -p SuccessExitStatus=1 /usr/bin/jts-hot validate\n\
         systemctl show jts-validate-bare.service \
         -p ExecMainStartTimestampMonotonic -p ExecMainExitTimestampMonotonic",
    );
    // The first boot of each does one-time work (machine-id...): not counted.
    plain.boot(&times);
    with.boot(&with_probe);
    let (mut base, mut pkg, mut run, mut unit, mut bare) = (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..5 {
        base.push(multi_user_ms(&plain.boot(&times)));
        let r = with.boot(&with_probe);
        check_validated(&r);
        pkg.push(multi_user_ms(&r));
        let (p, u) = validate_ms(&r);
        run.push(p);
        unit.push(u);
        let b = r.props("validate-bare");
        bare.push(
            ms(
                &b,
                "ExecMainStartTimestampMonotonic",
                "ExecMainExitTimestampMonotonic",
            )
            .expect("the bare unit's timestamps"),
        );
    }
    println!("FIGURE boots (ms, userspace start -> multi-user.target), 5 reboots each:");
    println!(
        "FIGURE   without jts-hot: {base:.0?} median {:.0}",
        median(base.clone())
    );
    println!(
        "FIGURE   with jts-hot:    {pkg:.0?} median {:.0}",
        median(pkg.clone())
    );
    println!(
        "FIGURE jts-hot-validate.service (ms): process {run:.1?} median {:.1}; \
         unit (start job -> active) {unit:.1?} median {:.1}",
        median(run.clone()),
        median(unit.clone())
    );
    println!(
        "FIGURE jts-hot validate in a bare transient unit, no sandbox (ms): {bare:.1?} median {:.1}",
        median(bare.clone())
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The harness itself: a container left running (here, booted with no probe
/// to power it off) is found by its marker and stopped by the guard.
#[test]
fn guard_stops_a_container_left_running() {
    needs!(prerequisites);
    let _slot = nspawn::shared_slot();
    let m = Machine::fresh("guard", Image::Bookworm);
    let mut nspawn = m.start_boot();
    let deadline = Instant::now() + Duration::from_secs(30);
    while m.running() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(m.running(), 1, "the container did not start");
    std::thread::sleep(Duration::from_secs(2));
    nspawn::stop_containers(&m.root);
    assert_eq!(m.running(), 0, "the guard left the container running");
    let deadline = Instant::now() + Duration::from_secs(15);
    while nspawn.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "nspawn still runs after the guard"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
