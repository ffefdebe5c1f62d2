//! The long reference shown after `--help` and in the man pages (clap_mangen renders
//! the same text), so `jts-hot validate --help` and `man jts-hot-validate` agree.
//! tests/docs.rs checks these lists against what the commands really emit.

pub const VALIDATE: &str = "\
CHECKS (stable names; each failed check is one finding: path, check, expected, actual, severity, hint)
  dir.exists            each directory of the layout exists                            CRITICAL
  dir.type              it is a real directory (lstat: a symlink is never followed)     CRITICAL
  dir.owner, dir.group  owner and group are the layout's, resolved through NSS          CRITICAL
  account.user          a layout user or group name that does not resolve               CRITICAL
  account.group
  dir.mode              permission bits exactly the layout's (setgid, sticky included)  CRITICAL
  dir.access            the owner (with its groups) can reach it from / and write it:
                        modes, POSIX ACLs, read-only mounts; names the blocking ancestor CRITICAL
  dir.filesystem        it lies on the filesystem declared for it (the deepest mount
                        fstab or a .mount unit declares at or above it): same st_dev   CRITICAL
  mount.point           each mount declared at, above or below the base (a service's
                        own disk) is the filesystem seen at its mount point (device
                        numbers: not hidden by a later mount on a parent or a bind
                        mount); the base is its own mount when it must be              CRITICAL
  mount.identity        a mount declared by UUID=, LABEL=, PARTUUID= or PARTLABEL= (or
                        pinned by tier.filesystem_uuid) has that filesystem mounted,
                        not another disk; names both                                     CRITICAL
                        (WARNING when neither udev nor the superblock can tell)
  mount.fstype          the base's filesystem type is one of tier.filesystems           CRITICAL
  mount.option          each of tier.mount_options is set on the base's mount           WARNING
  mount.trim            the device discards, and the mount has discard or fstrim.timer  WARNING
  capacity.tier         the plan fits tier.capacity                                      WARNING
  capacity.filesystem   the plan fits what services can use on the real filesystem      WARNING
  generated.digest      the generated files in use carry the current layout's digest    WARNING
  selinux.label         where SELinux is enabled: the directory's label is the policy's
                        answer for its path (fix: restorecon, never -R)   CRITICAL (data)/WARNING
  selinux.policy        the policy gives the layout's selinux_type (module installed)   WARNING
                        or labels a selinux_equal service as its source (installed)
  quota.accounting      tier.quota: the filesystem accounts project quotas               WARNING
  quota.enforcement     tier.quota = enforce: ... and enforces them (prjquota)           WARNING
  quota.project         each service directory carries its service's project ID        WARNING
  quota.inherit         ... with the inherit flag                                        WARNING
  quota.limit           the project's soft and hard limits are the layout's              WARNING
  gate.ordering         each gated unit, as the system loads it (file and drop-ins), can
                        wait for jts-hot-validate.service: not DefaultDependencies=no,
                        not Before= sysinit.target, basic.target or a unit jts-hot's
                        own units start after (that would be an ordering cycle)         CRITICAL

Below a directory that is missing or not a real directory nothing is checked; its
finding says how many planned directories that hides. Beneath a declared mount that is
not in place nothing is checked either: its one mount.point finding says so. A gate
(--service) checks the mounts of the base and of its services' directories only. Nothing validate does writes.
Where SELinux is disabled the labels are skipped and the summary says so (docs/selinux.md).

OUTPUT
  Text: nothing when all is well (-v: a summary line), else one line per finding and a
  summary. Under systemd ($JOURNAL_STREAM set) each line carries its syslog priority, so
  `journalctl -p warning -u jts-hot-validate` shows exactly the problems.
  --format json: schema jts-hot.validate/1 (docs/validate.md).

EXIT STATUS
  0  OK        every check passed
  1  WARNING   a usable tier with a problem to fix (the unit counts it as success)
  2  CRITICAL  the tier must not be used: the unit fails, gated databases do not start
  3  UNKNOWN   a bad or unreadable layout, a --service the layout does not have, a check
               that could not be made, or any other runtime error (never exit 2)";

pub const MONITOR: &str = "\
ONE RUN
  Measures every service directory in one parallel walk (allocated bytes exactly as
  `du -s -x --block-size=1`, apparent bytes, files, directories; hard links once, symlinks
  never followed, other filesystems not entered), reads statvfs of the base, judges each
  service against its plan and the filesystem's free share, adds a sample to
  STATE_DIR/monitor-history.json (35 days) and projects growth over 7 days. It also runs
  the whole validation (see jts-hot-validate(1)), so drift since boot shows within one run;
  its status is the worst of both. Nothing under the tier is ever written.
  A service under an active project quota (tier.quota, docs/quotas.md) is not walked: its
  used bytes are the quota's, one quotactl (files, directories and apparent bytes are then
  absent; --walk walks it anyway). At its hard limit it is CRITICAL, over its soft limit
  WARNING.

OUTPUT
  text: a picture per service and the filesystem, sizes in decimal units as the layout
  writes them (800 GB); json: schema jts-hot.monitor/1 (docs/monitor.md); prometheus: the
  metrics below. Under systemd every text line carries the priority of its own severity
  and a one-line summary goes to stderr at the run's. The history is schema
  jts-hot.monitor-history/1; a corrupt one is moved aside to monitor-history.json.corrupt.

METRICS (gauges, in --format prometheus and DIR/jts_hot.prom; meanings in docs/metrics.md)
  jts_hot_service_used_bytes{service}          jts_hot_service_apparent_bytes{service}
  jts_hot_service_files{service}               jts_hot_service_directories{service}
  jts_hot_service_planned_bytes{service}       jts_hot_service_warning_bytes{service}
  jts_hot_service_critical_bytes{service}      jts_hot_service_growth_bytes_per_day{service}
  jts_hot_service_days_until_plan{service}     jts_hot_service_partial{service}
  jts_hot_service_status{service}
  jts_hot_service_usage_source{service,source} jts_hot_service_quota_limit_bytes{service,kind}
  jts_hot_service_quota_used_bytes{service}    jts_hot_service_quota_inodes{service}
  jts_hot_service_quota_project_id{service}
  jts_hot_filesystem_size_bytes{base}          jts_hot_filesystem_used_bytes{base}
  jts_hot_filesystem_avail_bytes{base}         jts_hot_filesystem_avail_warning_bytes{base}
  jts_hot_filesystem_avail_critical_bytes{base}
  jts_hot_filesystem_inodes{base}              jts_hot_filesystem_inodes_free{base}
  jts_hot_filesystem_growth_bytes_per_day{base}
  jts_hot_filesystem_days_until_full{base}     jts_hot_filesystem_status{base}
  jts_hot_scan_duration_seconds                jts_hot_scan_partial
  jts_hot_last_run_timestamp_seconds           jts_hot_status
  jts_hot_monitor_interval_seconds
  jts_hot_validate_status                      jts_hot_validate_findings{check,severity}
  jts_hot_probe_baseline_fsync_p50_seconds{dir}     jts_hot_probe_baseline_fsync_p99_seconds{dir}
  jts_hot_probe_baseline_randread_p50_seconds{dir}  jts_hot_probe_baseline_randread_p99_seconds{dir}
  jts_hot_probe_baseline_seq_write_bytes_per_second{dir}
  jts_hot_probe_baseline_timestamp_seconds{dir}
  Statuses: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.

EXIT STATUS
  0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also for a bad layout or an unwritable textfile)";

/// `jts-hot apply --help` (and man jts-hot-apply): what its exit status says.
pub const APPLY: &str = "\
EXIT STATUS
  0  done: the files, users and directories match the layout (or --dry-run)
  1  done, but the layout's SELinux equivalences or project quotas are not all in place (see
     the lines above)
  2  a bad layout (nothing written, FILE:LINE:COLUMN on stderr); or the tier's declared mount is
     not in place: the files are installed, nothing was created beneath the mount point
  3  stopped on an error of the system, not of the layout (3 for every command): a file in /etc
     that jts-hot did not write (nothing written), a read or write refused (EACCES, ENOSPC...),
     or systemd-sysusers, systemd-tmpfiles, systemctl, semodule or restorecon failing. What was
     done until then is printed first; the error on stderr names the file or command";

pub const PROBE: &str = "\
OUTPUT
  text: one line per fact, then the findings; json: schema jts-hot.probe/1 (docs/probe.md).
  Under systemd every line carries the priority of its own severity. --save writes
  STATE_DIR/probe-baseline.json (schema jts-hot.probe-baseline/1), which later runs on the
  same directory compare with and the monitor exports.

FINDING KINDS (the `kind` of each finding, a stable name)
  rotational, no-discard, scheduler, no-block-device, identity, regression, baseline,
  no-space, interrupted, error

EXIT STATUS
  0 OK, 1 WARNING (identity warnings, regressions), 3 UNKNOWN (no result: refused,
  interrupted, an I/O error, or the baseline could not be saved)";
