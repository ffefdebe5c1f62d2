//! The long reference shown after `--help` and in the man pages (each heading line
//! becomes a section of the page, src/cli_man.rs), so `jts-hot validate --help` and
//! `man jts-hot-validate` agree. Every command has its EXIT STATUS, EXAMPLES and SEE
//! ALSO. tests/docs.rs checks these lists against what the commands really emit.

/// `validate --help`: the CHECKS table, from the checks' one declaration
/// (src/validate/check.rs), then the rest.
pub fn validate() -> String {
    let mut out = String::from(
        "CHECKS (stable names; each failed check is one finding: path, check, expected, actual, severity, hint)\n",
    );
    for check in jts_hot::validate::Check::ALL {
        let lines = wrap(check.what(), 62);
        for (i, line) in lines.iter().enumerate() {
            let name = if i == 0 { check.as_str() } else { "" };
            let severity = if i + 1 == lines.len() {
                check.severity()
            } else {
                ""
            };
            out.push_str(format!("  {name:<21} {line:<62} {severity}").trim_end());
            out.push('\n');
        }
    }
    out + VALIDATE
}

/// Words into lines of at most `width` characters (a longer word is its own line).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.len() + 1 + word.len() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

const VALIDATE: &str = "
THE LAYOUT IN FORCE
  Without --config, validate checks the layout `jts-hot apply` last applied (its copy,
  /var/lib/jts-hot/applied-layout.toml), or the built-in default the package's units are
  rendered from until apply first runs; so do the gates, the monitor, setup and quota. A
  saved edit of /etc/jts/hot-layout.toml changes nothing until apply accepts it: a typo
  never stops a database or fails a unit, it is the WARNING layout.pending (a gate does
  not read the saved file at all). --config FILE checks FILE.

Below a directory that is missing or not a real directory nothing is checked; its
finding says how many planned directories that hides. Beneath a declared mount that is
not in place nothing is checked either: its one mount.point finding says so. A gate
(--service) checks the mounts of the base and of its services' directories only.
Nothing validate does writes.
Where SELinux is disabled the labels are skipped and the summary says so (/usr/share/doc/jts-hot/selinux.md).

OUTPUT
  Text: nothing when all is well (-v: a summary line), else one line per finding and a
  summary. Under systemd ($JOURNAL_STREAM set) each line carries its syslog priority, so
  `journalctl -p warning -u jts-hot-validate` shows exactly the problems.
  --format json: schema jts-hot.validate/1 (/usr/share/doc/jts-hot/validate.md). --format nagios: the
  monitoring-plugin format for NRPE, `JTS-HOT STATUS - counts: checks | perfdata`, then
  each finding (/usr/share/doc/jts-hot/nagios.md). Run without root or CAP_DAC_READ_SEARCH, the directories
  it may not look at are one UNKNOWN line saying what it needs (/usr/share/doc/jts-hot/nagios.md: sudoers).

EXIT STATUS
  0  OK        every check passed
  1  WARNING   a usable tier with a problem to fix (0 with --warning-ok, as the unit runs
               it: `systemctl status` shows success, the journal says WARNING)
  2  CRITICAL  the tier must not be used: the unit fails, gated databases do not start
  3  UNKNOWN   a bad or unreadable layout, a --service the layout does not have, a check
               that could not be made, a usage error (a mistyped option), or any other
               runtime error (never exit 2)

EXAMPLES
  jts-hot validate -v                            the tier in force, a summary line too
  jts-hot validate --service postgresql          the base, its mount and one service
  jts-hot validate --format json | jq .findings  for a program
  jts-hot validate --root /mnt/image             an offline image

SEE ALSO
  jts-hot(1), jts-hot-monitor(1), jts-hot-setup(1), jts-hot-layout.toml(5),
  /usr/share/doc/jts-hot/validate.md, /usr/share/doc/jts-hot/gating.md,
  /usr/share/doc/jts-hot/selinux.md, /usr/share/doc/jts-hot/quotas.md";

/// `monitor --help`: its reference, with the METRICS section made from the
/// formatter's own families (src/monitor/output/prometheus.rs).
pub fn monitor() -> String {
    let mut out = String::from(MONITOR_RUN);
    out.push_str(
        "METRICS (gauges unless marked, in --format prometheus and DIR/jts_hot.prom; meanings in /usr/share/doc/jts-hot/metrics.md)\n",
    );
    let series: Vec<String> = jts_hot::monitor::output::prometheus::FAMILIES
        .iter()
        .map(|f| match f.labels {
            [] => f.name.to_string(),
            labels => format!("{}{{{}}}", f.name, labels.join(",")),
        })
        .collect();
    // Two columns where both fit in 88, else one a line.
    let mut rest = series.iter().peekable();
    while let Some(left) = rest.next() {
        match rest.peek() {
            Some(right) if left.len() < 45 && 2 + 45 + right.len() <= 88 => {
                out.push_str(&format!("  {left:<44} {right}\n"));
                rest.next();
            }
            _ => out.push_str(&format!("  {left}\n")),
        }
    }
    for h in jts_hot::monitor::output::prometheus::HISTOGRAMS {
        let n = h.name;
        out.push_str(&format!(
            "  {n}_bucket{{le}} {n}_sum {n}_count (histogram)\n"
        ));
    }
    out + MONITOR_END
}

const MONITOR_RUN: &str = "\
ONE RUN
  Measures every service directory in one parallel walk (allocated bytes exactly as
  `du -s -x --block-size=1`, apparent bytes, files, directories; hard links once, symlinks
  never followed, other filesystems not entered), reads statvfs of the base, judges each
  service against its plan and the filesystem's free share, adds a sample to
  STATE_DIR/monitor-history.json and forecasts when each service reaches its plan and the
  filesystem is full, as low / likely / high days from the slope of the history over
  monitor.forecast_window (7 days by default) and its 95% interval; the status and the
  alerts use the low bound, and flat, shrinking or too few samples give none (said so).
  Each walked service's largest first- and second-level subdirectories (monitor.top of
  each, 5 by default) are reported with their growth since the previous walk. It also runs
  the whole validation (see jts-hot-validate(1)), so drift since boot shows within one run;
  its status is the worst of both. Nothing under the tier is ever written but the fsync
  canary: once a run, in the idle I/O class, one 8 KiB write + fdatasync of
  BASE/.jts-hot-fsync (jts-hot's own file; anything else in its place is left alone),
  timed and added to STATE_DIR/monitor-fsync-canary.json (jts_hot_fsync_seconds, a
  histogram).
  A service under an active project quota (tier.quota, /usr/share/doc/jts-hot/quotas.md) is not walked: its
  used bytes are the quota's, one quotactl (files, directories and apparent bytes are then
  absent; --walk walks it anyway). At its hard limit it is CRITICAL, over its soft limit
  WARNING. Its largest subdirectories come from a budgeted walk that yields to the
  services: a round starts at most every monitor.subdir_walk_every (hourly by default),
  each run examines at most monitor.subdir_walk_budget entries (100,000 by default) in the
  idle I/O class and its own thread, and the next run continues where it stopped
  (STATE_DIR/monitor-subdir-walk.json); until a round is complete the last complete one's
  figures are reported. A run where no round is due walks nothing. How far it got:
  subdir_walk in the JSON, a line in the text, jts_hot_subdir_walk_entries and
  jts_hot_subdir_walk_services.
  Any tree shape a service user builds is walked in linear time with bounded stack and
  memory; below 200,000 levels a directory is counted, not entered, and the service is
  partial naming it. The soft descriptor limit is raised to the hard one and the walk sizes
  itself to it. SIGTERM (the unit's TimeoutStartSec=) ends the walk early: the unfinished
  services are partial, and the metrics and history are still written.

HISTORY
  Schema jts-hot.monitor-history/2 (schema 1 files are read): the newest 288 samples as
  measured, older ones merged by hour (168), then by day (400 days), so a run's cost does
  not grow with the history's age and no run is lost to a cap. A corrupt one is moved
  aside to monitor-history.json.corrupt. One run at a time (STATE_DIR/monitor.lock): a
  second waits up to 60 s, then reports without recording. A clock behind the newest
  sample records nothing until a second run confirms it (the samples dated after it are
  then set aside in the file); a clock far ahead drops nothing. Temporaries a killed run
  left in the state and textfile directories are removed.

OUTPUT
  text: a picture per service and the filesystem, sizes in decimal units as the layout
  writes them (800 GB); json: schema jts-hot.monitor/1 (/usr/share/doc/jts-hot/monitor.md); prometheus: the
  metrics below; nagios: the monitoring-plugin format for NRPE, `JTS-HOT STATUS - totals |
  perfdata` (per service used bytes against its plan, with the warning and critical sizes),
  then a line per service (/usr/share/doc/jts-hot/nagios.md). Under systemd ($JOURNAL_STREAM set) with no
  --format: one whole line per service, filesystem or finding not OK, each at the priority
  of its own severity, and a one-line summary to stderr at the run's (the picture is
  --format text's, every line then prefixed the same way).

";

const MONITOR_END: &str = "  Statuses: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.

EXIT STATUS
  0 OK, 1 WARNING (0 with --warning-ok, as jts-hot-monitor.service runs it), 2 CRITICAL,
  3 UNKNOWN (also for a bad layout, an unwritable textfile or a usage error)

EXAMPLES
  jts-hot monitor                                the picture, at a terminal
  jts-hot monitor --format json | jq '.services[] | {name, allocated_bytes, planned_bytes}'
  jts-hot monitor --warning-ok --textfile-dir /var/lib/prometheus/node-exporter
  systemctl start jts-hot-monitor.service        one run as the timer does it

SEE ALSO
  jts-hot(1), jts-hot-validate(1), jts-hot-quota(1), jts-hot-layout.toml(5),
  /usr/share/doc/jts-hot/monitor.md, /usr/share/doc/jts-hot/metrics.md,
  /usr/share/doc/jts-hot/fleet.md, /usr/share/doc/jts-hot/runbook.md";

/// `jts-hot status --help` (and man jts-hot-status).
pub const STATUS: &str = "\
WHAT IT SHOWS (one screen; reads only, well under 50 ms on the default layout)
  layout    the layout in force: where it was applied from and when (or the packaged
            default, or --config FILE), its digest; any pending edit of
            /etc/jts/hot-layout.toml (edited or broken, not applied: nothing runs by it)
  tier      the base's filesystem (its own mount or not) and a full validation by the
            layout in force: its status and the findings by severity
  units     each jts-hot unit and each unit the layout gates: active state and whether
            enabled (one `systemctl show`); when systemd is not running it says so
  monitor   the last monitor run (STATE_DIR/monitor-last.json, schema
            jts-hot.monitor-last/1): when, its status, the three services nearest their plan
  quotas    tier.quota: in place, or how many quota findings
  selinux   labels in place, or how many findings; where SELinux is disabled, not checked
  What to look at next is a reading command (jts-hot validate, jts-hot apply --dry-run),
  never one that changes the tier. --format json: schema jts-hot.status/1
  (/usr/share/doc/jts-hot/status.md).

EXIT STATUS
  0 all is well; 1 WARNING (also while an edit is pending or a unit failed), 2 CRITICAL,
  3 UNKNOWN: the tier's validation, as jts-hot validate; also a bad layout

EXAMPLES
  jts-hot status                                 the screen
  jts-hot status --format json                   the same, for programs

SEE ALSO
  jts-hot(1), jts-hot-validate(1), jts-hot-apply(1), jts-hot-monitor(1),
  /usr/share/doc/jts-hot/status.md, /usr/share/doc/jts-hot/gating.md";

/// `jts-hot apply --help` (and man jts-hot-apply): what its exit status says.
pub const APPLY: &str = "\
EXIT STATUS
  0  done: the files, users and directories match the layout (or --dry-run)
  1  done, but the layout's SELinux equivalences or project quotas are not all in place (see
     the lines above)
  2  a bad layout (nothing written, FILE:LINE:COLUMN on stderr); or the tier's declared mount is
     not in place: the files are installed, nothing was created beneath the mount point
  3  stopped on an error of the system, not of the layout (3 for every command): a file in /etc
     that jts-hot did not write, or (with --root) an image path that leads out of the image or
     is not a directory inside it (refused before a byte is written: no file, no applied-layout
     record, no directory), a read or write refused (EACCES, ENOSPC...),
     or systemd-sysusers, systemd-tmpfiles, systemctl, semodule or restorecon failing. What was
     done until then is printed first; the error on stderr names the file or command

EXAMPLES
  jts-hot config check /etc/jts/hot-layout.toml  after editing the layout
  jts-hot apply --dry-run                        what would change, a line each
  jts-hot apply --dry-run --diff                 ... with the files' diffs
  jts-hot apply                                  install it and create the tree
  jts-hot apply --reapply                        render the applied layout again (upgrades)
  jts-hot apply --root /mnt/image                into an image

SEE ALSO
  jts-hot(1), jts-hot-setup(1), jts-hot-generate(1), jts-hot-layout.toml(5),
  /usr/share/doc/jts-hot/packages.md, /usr/share/doc/jts-hot/generated.md";

pub const PROBE: &str = "\
OUTPUT
  text: one line per fact, then the findings; json: schema jts-hot.probe/1 (/usr/share/doc/jts-hot/probe.md).
  Under systemd every line carries the priority of its own severity. --save writes
  STATE_DIR/probe-baseline.json (schema jts-hot.probe-baseline/1), which later runs on the
  same directory compare with and the monitor exports.

FINDING KINDS (the `kind` of each finding, a stable name)
  rotational, no-discard, scheduler, no-block-device, identity, regression, baseline,
  fitness, no-space, interrupted, error

FITNESS
  Each service the figures are of is judged on this run's fsync and random-read p99 against
  what its database needs (the engine from the service's name or a gated unit; defaults
  and their sources in /usr/share/doc/jts-hot/probe.md): fit, unfit (a fitness finding,
  WARNING) or not-judged (no requirement known). The figures are of the services whose
  directory is on DIR's filesystem when DIR is the tier's base or in it, of one service
  when DIR is in its directory, and of none when DIR is outside the tier: the scope
  (text: 'figures apply to ...') says which, and why not the others.

EXIT STATUS
  0 OK, 1 WARNING (identity warnings, regressions, unfit services), 3 UNKNOWN (no result: refused,
  interrupted, an I/O error, or the baseline could not be saved)

EXAMPLES
  jts-hot probe                                  the device under the tier, 10 s
  jts-hot probe --save                           keep this run as the baseline
  jts-hot probe --dir /data/jts/hot/postgresql --time 30s --format json

SEE ALSO
  jts-hot(1), jts-hot-monitor(1), /usr/share/doc/jts-hot/probe.md,
  /usr/share/doc/jts-hot/disk.md";

/// `jts-hot --help` (and man jts-hot): the conventions every command shares.
pub const TOP: &str = "\
EXIT STATUS
  Each command's page gives its own; they share one convention (Nagios's):
  0  OK        done, or all is well
  1  WARNING   done, with something to fix (or not all in place)
  2  CRITICAL  validate, monitor: the tier must not be used; elsewhere a bad layout
               (FILE:LINE:COLUMN: FIELD: message on stderr, nothing written) or a refusal
  3  UNKNOWN   could not do its job: an error of the system (a read or write refused, a
               tool that failed); validate, monitor, probe and status also for a bad
               layout
  A usage error (an unknown option, a missing argument) exits 3, with clap's message.

ENVIRONMENT
  JTS_HOT_CONFIG     the layout file, as --config
  STATE_DIRECTORY    the state directory of monitor and probe (systemd sets it)
  JOURNAL_STREAM     set by systemd: each line then carries its syslog priority
  NO_COLOR           no color in monitor's picture

EXAMPLES
  jts-hot config default > my-layout.toml        a layout to start from
  jts-hot --config my-layout.toml generate --out out/
  jts-hot validate && jts-hot monitor

SEE ALSO
  jts-hot-generate(1), jts-hot-validate(1), jts-hot-monitor(1), jts-hot-plan(1),
  jts-hot-apply(1), jts-hot-setup(1), jts-hot-probe(1), jts-hot-quota(1),
  jts-hot-config(1), jts-hot-layout.toml(5), systemd-tmpfiles(8), systemd-sysusers(8),
  /usr/share/doc/jts-hot/ (generated.md: the files and units; packages.md)";

pub const GENERATE: &str = "\
EXIT STATUS
  0  the files are written (their paths on stdout)
  2  a bad layout: nothing written, FILE:LINE:COLUMN: FIELD: message on stderr
  3  a file could not be written (the error names it)

EXAMPLES
  jts-hot --default-layout generate --out units/
  jts-hot --config my-layout.toml generate --out /tmp/out && find /tmp/out -type f

SEE ALSO
  jts-hot(1), jts-hot-apply(1), jts-hot-layout.toml(5), /usr/share/doc/jts-hot/generated.md";

pub const PLAN: &str = "\
EXIT STATUS
  0  the plan fits
  1  it over-commits tier.capacity or the filesystem
  2  a bad or unreadable layout
  3  the command could not run (a runtime error, such as a file it cannot read)

EXAMPLES
  jts-hot plan
  jts-hot --config my-layout.toml plan --format json

SEE ALSO
  jts-hot(1), jts-hot-validate(1), jts-hot-layout.toml(5), /usr/share/doc/jts-hot/validate.md";

pub const SETUP: &str = "\
OWNERS FROM ANOTHER HOST
  A service whose directories all carry another uid or gid than its owner's (validate's
  dir.owner.remap: after a reinstall, a rebuilt image, a disk moved between hosts) is left
  alone: chowning only its directories would lock the database out of its own files.
  --remap-owners first changes, in each such service's tree, the owner (group) of every
  inode carrying the old uid (gid) to the new one, and nothing else: not an inode of
  another ID, not a symlink's target (each inode is changed through an O_PATH|O_NOFOLLOW
  descriptor), not a filesystem mounted inside the tree. One journal line per service:
  `jts-hot setup: remapped postgresql (/data/jts/hot/postgresql): uid 998 (no user) →
  postgres 105, gid 998 (no group) → postgres 106: 1234 of 1240 inodes changed`.

DATA BENEATH THE MOUNT POINTS
  Each run looks beneath the tier's mount points (validate's mount.shadowed) and records
  what it found in STATE_DIR/shadowed.json, for validate and monitor, whose sandboxes may
  not look (/usr/share/doc/jts-hot/disk.md).

EXIT STATUS
  0  the tier is set up, nothing left to the operator
  1  set up, with warnings left to the operator (said, a line each; with --warning-ok,
     as jts-hot-setup.service runs it, 0)
  2  refused (the tier's disk is not mounted), a critical finding left to the operator (a
     symlink in a directory's place, an ancestor a service cannot traverse...), or a bad or
     unreadable layout
  3  setup could not do its job (the tier's tmpfiles file is missing, systemd-tmpfiles
     failed, --root or the mount table cannot be read, or DIR's etc/passwd or etc/group
     leads outside DIR under --root)

EXAMPLES
  systemctl status jts-hot-setup.service         what it did at boot
  jts-hot setup                                  the same, now
  jts-hot setup --remap-owners                   give renumbered service trees their owners' IDs

SEE ALSO
  jts-hot(1), jts-hot-apply(1), jts-hot-validate(1), jts-hot-layout.toml(5),
  systemd-tmpfiles(8), /usr/share/doc/jts-hot/disk.md";

pub const QUOTA: &str = "\
EXIT STATUS
  That of the subcommand: jts-hot-quota-set(1), jts-hot-quota-status(1).

EXAMPLES
  jts-hot quota status
  jts-hot quota set

SEE ALSO
  jts-hot(1), jts-hot-quota-set(1), jts-hot-quota-status(1), jts-hot-layout.toml(5),
  /usr/share/doc/jts-hot/quotas.md";

pub const QUOTA_SET: &str = "\
EXIT STATUS
  0  everything is in place (with --repair: the walk left nothing outside a project)
  1  something is not (the unit then fails, so `systemctl --failed` shows it)
  2  a bad or unreadable layout
  3  a runtime error

EXAMPLES
  jts-hot quota set                              what jts-hot-quota.service runs at boot
  jts-hot quota set --format json
  jts-hot quota set --repair                     re-tag what validate's quota.tree reports

SEE ALSO
  jts-hot-quota-status(1), jts-hot-monitor(1), jts-hot-layout.toml(5), xfs_quota(8),
  /usr/share/doc/jts-hot/quotas.md";

pub const QUOTA_STATUS: &str = "\
EXIT STATUS
  0  shown (what cannot be read is said in the output)
  2  a bad or unreadable layout
  3  a runtime error

EXAMPLES
  jts-hot quota status
  jts-hot quota status --format json

SEE ALSO
  jts-hot-quota-set(1), jts-hot-monitor(1), /usr/share/doc/jts-hot/quotas.md";

pub const QUOTA_RECORD: &str = "\
EXIT STATUS
  0  recorded (or tier.quota is off: nothing to record)
  2  a bad or unreadable layout
  3  nothing recorded: the base or its quotas could not be read, or the state directory
     not written

EXAMPLES
  jts-hot quota record                           what jts-hot-quota-read.service runs
  jts-hot quota record --state-dir /tmp/s --format json

SEE ALSO
  jts-hot-quota-status(1), jts-hot-validate(1), jts-hot-monitor(1),
  /usr/share/doc/jts-hot/quotas.md";

pub const CONFIG: &str = "\
EXIT STATUS
  That of the subcommand: jts-hot-config-default(1), jts-hot-config-check(1).

EXAMPLES
  jts-hot config default > /etc/jts/hot-layout.toml
  jts-hot config check /etc/jts/hot-layout.toml

SEE ALSO
  jts-hot(1), jts-hot-config-default(1), jts-hot-config-check(1), jts-hot-layout.toml(5)";

pub const CONFIG_DEFAULT: &str = "\
EXIT STATUS
  0  printed
  3  stdout could not be written

EXAMPLES
  jts-hot config default > my-layout.toml

SEE ALSO
  jts-hot-config-check(1), jts-hot-layout.toml(5)";

pub const CONFIG_CHECK: &str = "\
EXIT STATUS
  0  the layout is valid (a line of services, directories, gated units, digest; a line of
     the plan against tier.capacity)
  1  it is valid, but the services' planned sizes add up to more than tier.capacity (a line
     FILE:LINE:COLUMN: tier.capacity: ... says by how much)
  2  it is not, or cannot be read: every error, each as FILE:LINE:COLUMN: FIELD: message on
     stderr, all in one run
  3  a usage error

EXAMPLES
  jts-hot config check /etc/jts/hot-layout.toml && jts-hot apply --dry-run

SEE ALSO
  jts-hot-config-default(1), jts-hot-apply(1), jts-hot-layout.toml(5),
  /usr/share/doc/jts-hot/hostile-layout.md";
