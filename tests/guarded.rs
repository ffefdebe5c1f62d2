//! Guarded between boots, proven on real boots (the nspawn harness of
//! tests/boot.rs): the .deb installed by dpkg, a stand-in PostgreSQL that runs
//! as `User=postgres` and writes into its data directory, gated by our
//! drop-in. After boot, each drift makes a restart of the database fail with
//! the finding in its journal, the monitor's metrics show it before any
//! reboot, and the command the finding names lets the database start again.
//!
//! Run just these: `cargo test --test guarded -- --nocapture`.

mod common;
#[path = "common/nspawn.rs"]
mod nspawn;

use nspawn::{packages, prerequisites, restart, Image, Machine, Probe, Report};

const DB: &str = "postgresql.service";
const P: &str = "/data/jts/hot/postgresql";
const PROM: &str = "/var/lib/prometheus/node-exporter/jts_hot.prom";
const TMPFILES: &str = "jts-hot setup";
/// The fix as a step: setup exits 1 when it leaves warnings (a container's
/// root has no noatime), which is no failure of the fix.
const SETUP_FIX: &str = "jts-hot setup || [ $? -eq 1 ]";
const SETUP_UNIT: &str = "jts-hot-setup.service";

/// The stand-in: runs as its service user like the real one, and writes into
/// its data directory, so a tier it cannot use would break it for real too.
const STAND_IN: &str = "[Unit]\nDescription=Stand-in for PostgreSQL (writes, then sleeps)\n\
[Service]\nUser=postgres\nGroup=postgres\n\
ExecStart=/bin/sh -c 'touch /data/jts/hot/postgresql/data/stand-in-was-here && exec sleep infinity'\n\
[Install]\nWantedBy=multi-user.target\n";

fn machine(scenario: &str) -> Machine {
    let m = Machine::fresh(scenario, Image::Bookworm);
    let deb = m.put(&packages().deb, "jts-hot.deb");
    m.run_ok(&format!("dpkg -i {deb}"));
    m.write(&format!("/etc/systemd/system/{DB}"), STAND_IN);
    std::fs::create_dir_all(m.path("/etc/systemd/system/multi-user.target.wants")).unwrap();
    std::os::unix::fs::symlink(
        format!("/etc/systemd/system/{DB}"),
        m.path(&format!("/etc/systemd/system/multi-user.target.wants/{DB}")),
    )
    .unwrap();
    m
}

/// One drift: what is done, what the gate must name, and the fix.
struct Drift {
    name: &'static str,
    drift: String,
    /// The check and a piece of its one-line finding in the journal.
    check: &'static str,
    line: String,
    fix: String,
    /// What jts-hot-setup.service, run on the drift, logs (issue 21: every
    /// repair, every finding left to the operator) and its exit status.
    setup: (String, &'static str),
}

fn drifts() -> Vec<Drift> {
    vec![
        Drift {
            name: "mode",
            drift: format!("chmod 0777 {P}"),
            check: "dir.mode",
            line: format!("CRITICAL dir.mode {P}: 0777; expected 0750; fix: {TMPFILES}"),
            fix: SETUP_FIX.into(),
            setup: (
                format!("jts-hot setup: repaired {P}: found postgres:postgres 0777, set postgres:postgres 0750"),
                "0 1",
            ),
        },
        Drift {
            name: "owner",
            drift: format!("chown nobody {P}/data"),
            check: "dir.owner",
            line: format!("CRITICAL dir.owner {P}/data: nobody (65534); expected postgres ("),
            fix: SETUP_FIX.into(),
            setup: (
                format!("jts-hot setup: repaired {P}/data: found nobody:postgres 0750, set postgres:postgres 0750"),
                "0 1",
            ),
        },
        Drift {
            name: "missing",
            drift: format!("rmdir {P}/logs"),
            check: "dir.exists",
            line: format!("CRITICAL dir.exists {P}/logs: missing; expected a directory; fix: {TMPFILES}"),
            fix: SETUP_FIX.into(),
            setup: (format!("jts-hot setup: created {P}/logs"), "0 1"),
        },
        Drift {
            name: "symlink",
            drift: format!("mv {P}/config /var/tmp/pg-config && ln -s /var/tmp/pg-config {P}/config"),
            check: "dir.type",
            line: format!("CRITICAL dir.type {P}/config: a symlink to /var/tmp/pg-config;"),
            // The fix the finding names, as it names it.
            fix: format!("mv -T {P}/config {P}/config.moved-aside && {{ {SETUP_FIX}; }}"),
            setup: (
                format!("jts-hot setup: left to the operator: CRITICAL dir.type {P}/config: a symlink"),
                "2",
            ),
        },
        Drift {
            name: "ancestor",
            drift: "chmod 0700 /data".into(),
            check: "dir.access",
            line: format!(
                "CRITICAL dir.access {P}: postgres is stopped at /data: no search (x) (mode 0700 uid 0 gid 0)"
            ),
            fix: "chmod o+x /data".into(),
            setup: (
                format!("jts-hot setup: left to the operator: CRITICAL dir.access {P}: postgres is stopped at /data"),
                "2",
            ),
        },
    ]
}

/// Probe steps for one drift: drift, restart (refused), what the unit and
/// the monitor show, fix, restart (allowed).
fn drift_steps(mut probe: Probe, d: &Drift) -> Probe {
    let n = d.name;
    let journal =
        format!("journalctl -u {DB} -o cat --no-pager --cursor-file=/var/tmp/jts-guard.cursor");
    probe = probe
        .step(
            &format!("{n}-journal-before"),
            &format!("{journal} >/dev/null; true"),
        )
        .step(&format!("{n}-drift"), &d.drift)
        // reset-failed: systemd's start rate limit (5 in 10 s) would refuse
        // the restarts of a scenario that runs them back to back.
        .step(
            &format!("{n}-restart"),
            &format!("systemctl reset-failed {DB}; systemctl restart {DB}"),
        )
        .step(
            &format!("{n}-state"),
            &format!("systemctl show {DB} -p ActiveState -p Result"),
        )
        .step(&format!("{n}-journal"), &journal)
        .step(
            &format!("{n}-status"),
            &format!("systemctl status {DB} --no-pager -l; true"),
        )
        // Which invocation journald filed the refusal under: `systemctl status`
        // shows only lines carrying the current invocation id.
        .step(
            &format!("{n}-invocation"),
            &format!(
                "echo current=$(systemctl show {DB} -p InvocationID --value); \
                 journalctl -u {DB} -o json --no-pager -n 50 | grep 'start refused' | tail -n 1 \
                 | grep -o '\"_SYSTEMD_INVOCATION_ID\":\"[0-9a-f]*\"' || echo none"
            ),
        )
        .step(
            &format!("{n}-monitor"),
            "systemctl start jts-hot-monitor.service; true",
        )
        .step(
            &format!("{n}-prom"),
            &format!("grep '^jts_hot_validate' {PROM}"),
        )
        .step(
            &format!("{n}-setup"),
            &format!(
                "systemctl restart {SETUP_UNIT} || true\n\
                 journalctl -u {SETUP_UNIT} -o cat --no-pager -n 40\n\
                 echo \"exit=$(systemctl show {SETUP_UNIT} -p ExecMainStatus --value)\""
            ),
        )
        .step(&format!("{n}-fix"), &d.fix)
        .step(&format!("{n}-restart-fixed"), &restart(DB))
        .step(
            &format!("{n}-state-fixed"),
            &format!("systemctl show {DB} -p ActiveState -p Result"),
        );
    probe
}

fn check_drift(r: &Report, d: &Drift) {
    let n = d.name;
    r.ok(&format!("{n}-drift"));
    // The gate is an ExecCondition=: a refused start leaves the unit
    // inactive, its condition not met (not failed, so Restart= does not
    // retry it into the start limit), and systemctl returns 0.
    let state = r.props(&format!("{n}-state"));
    assert_eq!(
        (state["ActiveState"].as_str(), state["Result"].as_str()),
        ("inactive", "exec-condition"),
        "{n}: the restart was not refused: {state:?}\n{}\n{}",
        r.all(&format!("{n}-restart")),
        r.all(&format!("{n}-journal"))
    );
    let journal = r.out(&format!("{n}-journal"));
    let verdict = format!("jts-hot gate for postgresql: start refused: {}", d.line);
    assert!(
        journal.lines().any(|l| l.starts_with(&verdict)),
        "{n}: no line starting with\n  {verdict}\nin the unit's journal:\n{journal}"
    );
    let status = r.out(&format!("{n}-status"));
    if !status.contains(&d.line) {
        // On this cgroup-v1 hybrid host, journald in the container sometimes
        // files a line without the unit's invocation id (it cannot read the
        // cgroup's), and `systemctl status` then leaves it out although
        // `journalctl -u` (checked above) has it. Tolerated, loudly, only when
        // the line carries no invocation id at all; a line filed under
        // another invocation still fails.
        let ids = r.out(&format!("{n}-invocation"));
        assert!(
            ids.lines().any(|l| l.trim() == "none"),
            "{n}: systemctl status does not show it, and journald filed it under \
             an invocation id:\n{ids}\n{status}"
        );
        eprintln!(
            "\n!!!!!!!! {n}: journald filed the refusal without an invocation id \
             (container cgroup quirk), so systemctl status omits it; \
             journalctl -u {DB} has it !!!!!!!!\n"
        );
    }
    println!("--- {n}: systemctl status {DB} after the refused restart:\n{status}");

    let prom = r.ok(&format!("{n}-prom"));
    let series = format!(
        "jts_hot_validate_findings{{check=\"{}\",severity=\"critical\"}} ",
        d.check
    );
    let count: f64 = prom
        .lines()
        .find_map(|l| l.strip_prefix(&series))
        .unwrap_or_else(|| panic!("{n}: no {series} in the monitor's textfile:\n{prom}"))
        .parse()
        .unwrap();
    assert!(count >= 1.0, "{n}: the monitor did not see it:\n{prom}");
    assert!(
        prom.lines().any(|l| l == "jts_hot_validate_status 2"),
        "{n}:\n{prom}"
    );

    let setup = r.ok(&format!("{n}-setup"));
    println!("--- {n}: journalctl -u {SETUP_UNIT} after the drift:\n{setup}");
    assert!(
        setup.lines().any(|l| l.starts_with(&d.setup.0)),
        "{n}: setup did not report\n  {}\nin its journal:\n{setup}",
        d.setup.0
    );
    let exit = setup.lines().rev().find_map(|l| l.strip_prefix("exit="));
    assert!(
        exit.is_some_and(|e| d.setup.1.split(' ').any(|want| want == e)),
        "{n}: setup's exit status {exit:?}, expected one of {}",
        d.setup.1
    );
    r.ok(&format!("{n}-fix"));
    assert_eq!(
        r.rc(&format!("{n}-restart-fixed")),
        0,
        "{n}: still refused after the fix `{}`:\n{}",
        d.fix,
        r.all(&format!("{n}-restart-fixed"))
    );
    assert_eq!(
        r.props(&format!("{n}-state-fixed"))["ActiveState"],
        "active",
        "{n}"
    );
}

/// Issue 11's proof: wrong mode, wrong owner, missing directory, a symlink in
/// place of a directory, an ancestor postgres cannot traverse. A supplementary
/// group (resolved by NSS) that lets postgres through is let through.
#[test]
fn drift_refuses_restart_until_fixed() {
    needs!(prerequisites);
    let _slot = nspawn::shared_slot();
    let mut m = machine("guard-drift");
    let all = drifts();
    // Two boots: the harness bounds each one's whole run.
    for part in all.chunks(3) {
        let mut probe = Probe::new()
            .step(
                "up",
                &format!("systemctl show {DB} -p ActiveState -p DropInPaths"),
            )
            .step("written", &format!("test -e {P}/data/stand-in-was-here"));
        for d in part {
            probe = drift_steps(probe, d);
        }
        let r = m.boot(&probe);
        let up = r.props("up");
        assert_eq!(
            up["ActiveState"], "active",
            "the gated stand-in at boot: {up:?}"
        );
        assert!(
            up["DropInPaths"].contains("postgresql.service.d/jts-hot.conf"),
            "{up:?}"
        );
        r.ok("written");
        for d in part {
            check_drift(&r, d);
        }
    }

    // Through a supplementary group only: the gate and the kernel both let
    // postgres in (systemd gives User= its groups by initgroups, as NSS says).
    let r = m.boot(
        &Probe::new()
            .step(
                "group",
                "groupadd -r jtsreach && gpasswd -a postgres jtsreach >/dev/null \
                 && chgrp jtsreach /data && chmod 0750 /data",
            )
            .step(
                "restart",
                // is-active: a refused start (ExecCondition=) also returns 0.
                &format!("systemctl reset-failed {DB}; systemctl restart {DB} && systemctl is-active {DB}"),
            )
            .step(
                "validate",
                "jts-hot validate --service=postgresql --format json",
            )
            .step("revert", "chmod 0755 /data && chgrp root /data"),
    );
    r.ok("group");
    assert_eq!(r.rc("restart"), 0, "{}", r.all("restart"));
    assert!(
        !r.out("validate").contains("dir.access"),
        "{}",
        r.out("validate")
    );
}

/// Stopping or restarting jts-hot-validate.service never stops or restarts a
/// database; the gate's time per run, in the container; and removing the
/// package leaves the running database alone (and ungated).
#[test]
fn validation_unit_and_removal_leave_the_database_alone() {
    needs!(prerequisites);
    let _slot = nspawn::shared_slot();
    let mut m = machine("guard-units");
    let pid = format!("systemctl show {DB} -p MainPID --value");
    let r = m.boot(
        &Probe::new()
            .step("pid-before", &pid)
            .step("restart-validate", &restart("jts-hot-validate.service"))
            .step("stop-validate", "systemctl stop jts-hot-validate.service")
            .step("pid-after", &pid)
            .step("state", &format!("systemctl show {DB} -p ActiveState"))
            .step("start-validate", &restart("jts-hot-validate.service"))
            .step(
                "gate-us",
                "s=$(date +%s%N); for i in $(seq 100); do \
                 /usr/bin/jts-hot validate --gate --service=postgresql || exit 1; done; \
                 echo $(( ($(date +%s%N) - s) / 100000 ))",
            )
            .step("pid-before-remove", &pid)
            .step("remove", "dpkg -r jts-hot")
            .step("pid-after-remove", &pid)
            .step(
                "state-after-remove",
                &format!("systemctl show {DB} -p ActiveState -p DropInPaths"),
            )
            .step("restart-after-remove", &restart(DB)),
    );
    let before = r.ok("pid-before").trim().to_string();
    r.ok("restart-validate");
    r.ok("stop-validate");
    assert_ne!(before, "0");
    assert_eq!(
        r.ok("pid-after").trim(),
        before,
        "the database was restarted or stopped"
    );
    assert_eq!(r.props("state")["ActiveState"], "active");

    let gate_us: f64 = r.ok("gate-us").trim().parse().unwrap();
    println!(
        "FIGURE in the booted container: `jts-hot validate --gate --service=postgresql` {:.2} ms per run \
         (wall, mean of 100 back to back)",
        gate_us / 1000.0
    );

    let running = r.ok("pid-before-remove").trim().to_string();
    println!("dpkg -r:\n{}", r.all("remove"));
    r.ok("remove");
    assert_eq!(
        r.ok("pid-after-remove").trim(),
        running,
        "removal touched the database"
    );
    let after = r.props("state-after-remove");
    assert_eq!(after["ActiveState"], "active", "{after:?}");
    assert!(!after["DropInPaths"].contains("jts-hot"), "{after:?}");
    assert_eq!(
        r.rc("restart-after-remove"),
        0,
        "{}",
        r.all("restart-after-remove")
    );
}
