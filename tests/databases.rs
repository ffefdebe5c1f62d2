//! The real databases on the tier (issue 22): Debian 12's own postgresql-15
//! and redis-server, installed from Debian's repositories (cached in the
//! image `bookworm-databases`) before or after the jts-hot .deb, set up by
//! the steps of docs/databases.md (the `sh debian-...` blocks, extracted from
//! the file and run as written), in booted containers. Two machines, one per
//! install order, each one boot with many probe steps:
//!
//! - jts-hot first: accounts as Debian makes them, both databases start at
//!   boot on the tier after its validation, pgbench writes, BGSAVE succeeds,
//!   logs rotate; a restart on drift is refused (inactive, the verdict in the
//!   unit's journal, no auto-restart into the start limit, no TERM when
//!   restarted during the gate's linger) and a plain start works once fixed;
//!   a reinstall of postgresql-15 on a drifted tier ends configured with the
//!   database down; a Redis that cannot save stops within its stop_timeout.
//! - database first: the same accounts, the docs' steps run live (the
//!   cluster moved onto the tier, 0700, started under the gate, left 0700 by
//!   `jts-hot setup`), pgbench and BGSAVE, and the default bounded stop.
//!
//! Run just these: `cargo test --locked --test databases -- --nocapture`.

mod common;
#[path = "common/nspawn.rs"]
mod nspawn;

use std::collections::BTreeMap;

use nspawn::{packages, prerequisites, Image, Machine, Probe, Report, DATABASE_PACKAGES};

const PG: &str = "postgresql@15-main.service";
const REDIS: &str = "redis-server.service";
const VALIDATE: &str = "jts-hot-validate.service";
const PGDIR: &str = "/data/jts/hot/postgresql";
const REDISDIR: &str = "/data/jts/hot/redis";

/// A shell block of docs/databases.md, by its tag (```` ```sh TAG ````).
fn doc_block(tag: &str) -> String {
    let path = common::repo_root().join("docs/databases.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let fence = format!("```sh {tag}\n");
    let start = text
        .find(&fence)
        .unwrap_or_else(|| panic!("docs/databases.md has no block ```sh {tag}"))
        + fence.len();
    let len = text[start..].find("```\n").expect("an unclosed block");
    text[start..start + len].to_string()
}

/// Installs the databases from the image's cached packages, their own
/// start at install time held back (policy-rc.d), as in any chroot.
const INSTALL_DATABASES: &str = "printf '#!/bin/sh\\nexit 101\\n' >/usr/sbin/policy-rc.d \
     && chmod 755 /usr/sbin/policy-rc.d \
     && apt-get install -y -q --no-download --no-install-recommends DBS >/var/tmp/apt.log 2>&1; \
     rc=$?; rm -f /usr/sbin/policy-rc.d; tail -n 5 /var/tmp/apt.log; exit $rc";

fn install_databases(m: &Machine) {
    m.run_ok(&INSTALL_DATABASES.replace("DBS", DATABASE_PACKAGES));
}

fn install_jts_hot(m: &Machine) {
    let deb = m.put(&packages().deb, "jts-hot.deb");
    m.run_ok(&format!("dpkg -i {deb}"));
}

fn show(unit: &str, props: &str) -> String {
    let ps: String = props.split(' ').map(|p| format!(" -p {p}")).collect();
    format!("systemctl show {unit}{ps}")
}

/// The journal of `unit` since the last call with the same cursor name.
fn journal(unit: &str, cursor: &str) -> String {
    format!("journalctl -u {unit} -o cat --no-pager --cursor-file=/var/tmp/{cursor}.cursor; true")
}

/// Steps every machine runs once both databases are up on the tier: the
/// accounts, what each unit got from jts-hot and when it started, real writes.
fn workload(probe: Probe) -> Probe {
    probe
        .step("accounts", "getent passwd postgres redis")
        .step("su-psql", "su - postgres -c \"psql -Atc 'select 42'\"")
        .step(
            "pg-where",
            &format!("su postgres -c \"psql -Atc 'show data_directory'\"; stat -c '%a %U' {PGDIR}/data"),
        )
        .step(
            "pgbench",
            "cd /tmp && su postgres -c 'createdb bench && pgbench -q -i -s 1 bench \
             && pgbench -n -c 2 -t 100 bench' 2>&1",
        )
        .step(
            "redis-save",
            &format!(
                "redis-cli set jts hot; redis-cli bgsave; \
                 for i in $(seq 50); do redis-cli info persistence | grep -q '^rdb_bgsave_in_progress:0' \
                 && break; sleep 0.2; done; \
                 redis-cli info persistence | tr -d '\\r' | grep '^rdb_last_bgsave_status'; \
                 redis-cli config get dir | tr -d '\\r' | tail -n 1; ls {REDISDIR}/data"
            ),
        )
        .step(
            "gate-ok",
            "jts-hot validate --gate --service=postgresql --service=redis",
        )
}

fn check_workload(r: &Report) {
    // Debian's accounts, whichever came first.
    let accounts = r.ok("accounts");
    assert!(
        accounts
            .lines()
            .any(|l| l.starts_with("postgres:") && l.ends_with(":/var/lib/postgresql:/bin/bash")),
        "postgres is not Debian's:\n{accounts}"
    );
    assert!(
        accounts
            .lines()
            .any(|l| l.starts_with("redis:") && l.ends_with(":/var/lib/redis:/usr/sbin/nologin")),
        "redis is not Debian's:\n{accounts}"
    );
    assert_eq!(r.ok("su-psql").trim(), "42");
    let pg = r.ok("pg-where");
    assert_eq!(
        pg.lines().collect::<Vec<_>>(),
        [format!("{PGDIR}/data").as_str(), "700 postgres"],
        "the cluster is not on the tier as initdb made it"
    );
    let bench = r.ok("pgbench");
    assert!(
        bench.contains("number of transactions actually processed: 200/200"),
        "{bench}"
    );
    let save = r.ok("redis-save");
    assert!(save.contains("rdb_last_bgsave_status:ok"), "{save}");
    assert!(save.contains(&format!("{REDISDIR}/data\n")), "{save}");
    assert!(save.lines().any(|l| l == "dump.rdb"), "{save}");
    r.ok("gate-ok");
    println!("pgbench:\n{bench}\nredis:\n{save}");
}

/// The unit started after the tier's validation had finished, with our
/// drop-in, ordering and bounded stop.
fn check_started_after_validation(r: &Report, step: &str, dropin: &str, stop: &str) {
    let v = r.props("boot-validate");
    let u = r.props(step);
    assert_eq!(u["ActiveState"], "active", "{step}: {u:?}");
    assert!(u["DropInPaths"].contains(dropin), "{step}: {u:?}");
    assert!(
        u["After"].contains("jts-hot-validate.service"),
        "{step}: {u:?}"
    );
    assert!(
        u["After"].contains("jts-hot-setup.service"),
        "{step}: {u:?}"
    );
    assert_eq!(u["TimeoutStopUSec"], stop, "{step}: {u:?}");
    let started: u64 = u["InactiveExitTimestampMonotonic"].parse().unwrap();
    let validated: u64 = v["ActiveEnterTimestampMonotonic"].parse().unwrap();
    assert!(
        validated > 0 && started >= validated,
        "{step} started at {started} µs, validation finished at {validated} µs"
    );
    println!("{step}: started {started} µs >= validation done {validated} µs; {u:?}");
}

fn boot_steps() -> Probe {
    Probe::new()
        .step(
            "boot-validate",
            &show(VALIDATE, "ActiveState Result ActiveEnterTimestampMonotonic"),
        )
        .step(
            "boot-pg",
            &show(
                PG,
                "ActiveState After DropInPaths TimeoutStopUSec InactiveExitTimestampMonotonic",
            ),
        )
        .step(
            "boot-redis",
            &show(
                REDIS,
                "ActiveState After DropInPaths TimeoutStopUSec InactiveExitTimestampMonotonic",
            ),
        )
}

/// A refused restart of `unit`: inactive, condition not met, not retried.
fn check_refused(r: &Report, name: &str, service: &str, line: &str) {
    assert_eq!(
        r.rc(&format!("{name}-restart")),
        0,
        "{}",
        r.all(&format!("{name}-restart"))
    );
    let state = r.props(&format!("{name}-state"));
    assert_eq!(state["ActiveState"], "inactive", "{name}: {state:?}");
    assert_eq!(state["Result"], "exec-condition", "{name}: {state:?}");
    assert_eq!(state["NRestarts"], "0", "{name}: retried: {state:?}");
    let journal = r.out(&format!("{name}-journal"));
    let verdict = format!("jts-hot gate for {service}: start refused: {line}");
    assert!(
        journal.lines().any(|l| l.starts_with(&verdict)),
        "{name}: no line starting with\n  {verdict}\nin the unit's journal:\n{journal}"
    );
    println!("--- {name}: the unit's journal after the refused restart:\n{journal}");
}

/// jts-hot installed first, then the databases; the docs' configuration
/// before the first boot, so both start from the tier at boot.
#[test]
fn jts_hot_first_then_databases() {
    needs!(prerequisites);
    let _slot = nspawn::shared_slot();
    let mut m = Machine::fresh("db-jts-first", Image::BookwormDatabases);
    install_jts_hot(&m);
    install_databases(&m);
    m.run_ok(&doc_block("debian-postgresql"));
    m.run_ok(&doc_block("debian-redis"));

    let apt = "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-download --reinstall";
    let probe = workload(boot_steps())
        .step(
            "logs",
            &format!(
                "logrotate -f /etc/logrotate.d/jts-hot-redis; redis-cli bgsave >/dev/null; sleep 1; \
                 su postgres -c \"psql -Atc 'select pg_rotate_logfile()'\"; \
                 ls {REDISDIR}/logs {PGDIR}/logs"
            ),
        )
        // Redis: drift, a refused restart, a second restart during the
        // gate's linger, the fix, a plain start.
        .step("redis-journal-before", &journal(REDIS, "redis"))
        .step("redis-drift", &format!("chmod 0777 {REDISDIR}"))
        .step("redis-restart", &format!("systemctl restart {REDIS}"))
        .step("redis-state", &format!("sleep 2; {}", show(REDIS, "ActiveState Result NRestarts")))
        .step("redis-journal", &journal(REDIS, "redis"))
        .step(
            "redis-twice",
            &format!("systemctl restart {REDIS} & sleep 0.1; systemctl restart {REDIS}; wait"),
        )
        .step("redis-twice-state", &show(REDIS, "ActiveState Result"))
        .step("redis-twice-journal", &journal(REDIS, "redis"))
        .step("redis-fix", "jts-hot setup --warning-ok")
        .step("redis-start-fixed", &format!("systemctl start {REDIS}"))
        .step("redis-fixed-state", &show(REDIS, "ActiveState"))
        // PostgreSQL: a root-owned service directory.
        .step("pg-journal-before", &journal(PG, "pg"))
        .step("pg-drift", &format!("chown root {PGDIR}"))
        .step("pg-restart", &format!("systemctl restart {PG}"))
        .step("pg-state", &format!("sleep 1; {}", show(PG, "ActiveState Result NRestarts")))
        .step("pg-journal", &journal(PG, "pg"))
        .step("pg-fix", "jts-hot setup --warning-ok")
        .step("pg-start-fixed", &format!("systemctl start {PG}"))
        .step(
            "pg-fixed-state",
            &format!("{}; stat -c %a {PGDIR}/data", show(PG, "ActiveState")),
        )
        // A reinstall of postgresql-15 on a drifted tier: its own restart refused.
        .step("reinstall-journal-before", &journal(PG, "reinstall"))
        .step("reinstall-drift", &format!("chmod 0777 {PGDIR}"))
        .step("reinstall", &format!("{apt} postgresql-15 </dev/null 2>&1 | tail -n 5"))
        .step(
            "reinstall-state",
            &format!(
                "dpkg-query -W -f='${{db:Status-Abbrev}}\\n' postgresql-15; {}",
                show(PG, "ActiveState Result")
            ),
        )
        .step("reinstall-journal", &journal(PG, "reinstall"))
        .step("reinstall-fix", &format!("jts-hot setup --warning-ok && systemctl start {PG}"))
        .step("reinstall-fixed-state", &show(PG, "ActiveState"))
        // A bounded stop: a layout with stop_timeout = "10s" for redis, applied;
        // Redis's final save then fails (its data directory root's), and it
        // will not exit on SIGTERM.
        .step(
            "stop-apply",
            &format!(
                "sed -i '/^\\[services.redis\\]/a stop_timeout = \"10s\"' /etc/jts/hot-layout.toml \
                 && jts-hot apply >/dev/null && {}",
                show(REDIS, "TimeoutStopUSec")
            ),
        )
        .step("stop-journal-before", &journal(REDIS, "stop"))
        .step(
            "stop-drift",
            &format!("redis-cli set unsaved yes && chown root:root {REDISDIR}/data"),
        )
        .step(
            "stop",
            &format!(
                "s=$(date +%s); systemctl stop {REDIS}; echo seconds=$(( $(date +%s) - s )); {}",
                show(REDIS, "ActiveState Result")
            ),
        )
        .step("stop-journal", &journal(REDIS, "stop"))
        .step("stop-fix", &format!("jts-hot setup --warning-ok && systemctl start {REDIS}"));

    let r = m.boot(&probe);
    check_started_after_validation(&r, "boot-pg", "postgresql@.service.d/jts-hot.conf", "5min");
    check_started_after_validation(
        &r,
        "boot-redis",
        "redis-server.service.d/jts-hot.conf",
        "5min",
    );
    check_workload(&r);

    let logs = r.ok("logs");
    assert!(
        logs.lines().any(|l| l == "redis-server.log.1"),
        "not rotated:\n{logs}"
    );
    assert!(logs.lines().any(|l| l == "redis-server.log"), "{logs}");
    assert!(
        logs.lines()
            .any(|l| l.starts_with("postgresql-") && l.ends_with(".log")),
        "{logs}"
    );

    r.ok("redis-drift");
    check_refused(
        &r,
        "redis",
        "redis",
        &format!("CRITICAL dir.mode {REDISDIR}: 0777; expected 0750; fix: jts-hot setup"),
    );
    // Restarted during the linger: the gate exits with its verdict's code
    // (systemd, stopping, logs the interrupted start's exit status 2), never
    // killed by the SIGTERM; the restart's own start is refused as usual.
    let twice = r.out("redis-twice-journal");
    assert!(!twice.contains("status=15/TERM"), "{twice}");
    assert!(!twice.contains("code=killed"), "{twice}");
    assert!(
        twice.contains("jts-hot gate for redis: start refused"),
        "{twice}"
    );
    assert_eq!(r.props("redis-twice-state")["Result"], "exec-condition");
    r.ok("redis-fix");
    assert_eq!(
        r.rc("redis-start-fixed"),
        0,
        "{}",
        r.all("redis-start-fixed")
    );
    assert_eq!(r.props("redis-fixed-state")["ActiveState"], "active");

    r.ok("pg-drift");
    check_refused(
        &r,
        "pg",
        "postgresql",
        &format!("CRITICAL dir.owner {PGDIR}: root (0); expected postgres ("),
    );
    r.ok("pg-fix");
    assert_eq!(r.rc("pg-start-fixed"), 0, "{}", r.all("pg-start-fixed"));
    let fixed = r.ok("pg-fixed-state");
    assert!(fixed.contains("ActiveState=active"), "{fixed}");
    assert!(
        fixed.lines().any(|l| l == "700"),
        "setup changed the data directory's mode: {fixed}"
    );

    r.ok("reinstall-drift");
    assert_eq!(r.rc("reinstall"), 0, "{}", r.all("reinstall"));
    let state = r.ok("reinstall-state");
    assert!(
        state.starts_with("ii "),
        "postgresql-15 not configured: {state}"
    );
    assert!(state.contains("ActiveState=inactive"), "{state}");
    let journal = r.out("reinstall-journal");
    assert!(
        journal.contains(&format!(
            "jts-hot gate for postgresql: start refused: CRITICAL dir.mode {PGDIR}: 0777"
        )),
        "{journal}"
    );
    println!(
        "--- reinstall on a drifted tier: {state}\n{}",
        r.out("reinstall")
    );
    r.ok("reinstall-fix");
    assert_eq!(r.props("reinstall-fixed-state")["ActiveState"], "active");

    assert_eq!(r.props("stop-apply")["TimeoutStopUSec"], "10s");
    r.ok("stop-drift");
    let stop = r.ok("stop");
    let props: BTreeMap<_, _> = nspawn::parse_props(stop);
    let seconds: u64 = props["seconds"].parse().unwrap();
    assert!(
        (9..=40).contains(&seconds),
        "stop took {seconds} s:\n{stop}\n{}",
        r.out("stop-journal")
    );
    assert_eq!(props["Result"], "timeout", "{stop}");
    println!(
        "--- a Redis that cannot save, stopped in {seconds} s:\n{}",
        r.out("stop-journal")
    );
    r.ok("stop-fix");
}

/// The databases installed first, then jts-hot; the docs' steps run on the
/// booted machine as an operator would.
#[test]
fn databases_first_then_jts_hot() {
    needs!(prerequisites);
    let _slot = nspawn::shared_slot();
    let mut m = Machine::fresh("db-db-first", Image::BookwormDatabases);
    install_databases(&m);
    install_jts_hot(&m);

    let mut probe = boot_steps();
    for tag in [
        "debian-postgresql",
        "debian-postgresql-start",
        "debian-redis",
        "debian-redis-start",
    ] {
        probe = probe.step(&format!("doc-{tag}"), &doc_block(tag));
    }
    let probe = workload(probe).step(
        "setup-keeps-0700",
        &format!("jts-hot setup --warning-ok && stat -c %a {PGDIR}/data && jts-hot validate --gate --service=postgresql"),
    );

    let r = m.boot(&probe);
    // At boot: the package's own cluster (in /var/lib/postgresql) and Redis.
    check_started_after_validation(&r, "boot-pg", "postgresql@.service.d/jts-hot.conf", "5min");
    check_started_after_validation(
        &r,
        "boot-redis",
        "redis-server.service.d/jts-hot.conf",
        "5min",
    );
    for tag in [
        "debian-postgresql",
        "debian-postgresql-start",
        "debian-redis",
        "debian-redis-start",
    ] {
        let step = format!("doc-{tag}");
        println!("--- docs/databases.md `{tag}`, as run:\n{}", r.all(&step));
        r.ok(&step);
    }
    check_workload(&r);
    assert!(r.ok("setup-keeps-0700").lines().any(|l| l == "700"));
}
