// The alerts. Thresholds of a service or of the filesystem come from each
// host's layout through the exported *_warning_bytes / *_critical_bytes series,
// so editing a layout needs no rule change. Every alert reads raw series only
// (no recording rule), so the alert file works alone; each has a section in
// docs/runbook.md (runbook_url).
{
  local c = $._config,
  local alert(name, severity, expr, forr, summary, description) = {
    alert: name,
    expr: expr % c,
    'for': forr,
    labels: { severity: severity },
    annotations: {
      summary: summary,
      description: description,
      runbook_url: '%s#%s' % [c.runbookURLBase, std.asciiLower(name)],
    },
  },

  prometheusAlerts+:: {
    groups+: [{
      name: 'jts-hot',
      rules: [
        alert(
          'JtsHotServiceOverCriticalShare',
          'critical',
          'jts_hot_service_used_bytes{%(jtsHotSelector)s} >= on(instance, job, service) jts_hot_service_critical_bytes{%(jtsHotSelector)s}',
          '5m',
          '{{ $labels.service }} uses {{ $value | humanize1024 }}B, past its critical share of plan',
          'Service {{ $labels.service }} on {{ $labels.instance }} uses {{ $value | humanize1024 }}B, at or over thresholds.crit_percent of its planned size.',
        ),
        alert(
          'JtsHotServiceOverWarningShare',
          'warning',
          |||
            jts_hot_service_used_bytes{%(jtsHotSelector)s} >= on(instance, job, service) jts_hot_service_warning_bytes{%(jtsHotSelector)s}
            unless on(instance, job, service)
            jts_hot_service_used_bytes{%(jtsHotSelector)s} >= on(instance, job, service) jts_hot_service_critical_bytes{%(jtsHotSelector)s}
          |||,
          '15m',
          '{{ $labels.service }} uses {{ $value | humanize1024 }}B, past its warning share of plan',
          'Service {{ $labels.service }} on {{ $labels.instance }} uses {{ $value | humanize1024 }}B, at or over thresholds.warn_percent of its planned size.',
        ),
      ] + [
        // node-mixin's NodeFilesystemSpaceFillingUp, for a service's plan:
        // already well into its plan and, at the recent growth, past it within
        // a day (warning) or 4 hours (critical). It sees a burst that jts-hot's
        // own trend (JtsHotServiceProjectedOverPlan) smooths away; or jts-hot's
        // forecast at its low bound (the soonest its 95% interval allows) puts
        // the plan that close (a host scraped too sparsely for predict_linear). Only
        // below the plan (< 1): past it, a flat line "predicts" the plan
        // passed, and JtsHotServiceOverCriticalShare already says so.
        alert(
          'JtsHotServiceFillingUp',
          s.severity,
          |||
            (
              jts_hot_service_used_bytes{%%(jtsHotSelector)s} / on(instance, job, service) (jts_hot_service_planned_bytes{%%(jtsHotSelector)s} > 0) > %(share)g < 1
            and on(instance, job, service)
              (
                predict_linear(jts_hot_service_used_bytes{%%(jtsHotSelector)s}[%%(fillingUpWindowHours)sh], %(hours)s * 3600)
                  > on(instance, job, service) jts_hot_service_planned_bytes{%%(jtsHotSelector)s}
              or
                max without(bound) (jts_hot_service_days_to_plan{%%(jtsHotSelector)s, bound="low"}) < %(hours)s / 24
              )
            )
          ||| % s,
          '1h',
          '{{ $labels.service }} on {{ $labels.instance }} is predicted to pass its plan within %(hours)s hours' % s,
          "Service {{ $labels.service }} on {{ $labels.instance }} is at {{ $value | humanizePercentage }} of its plan and, at the growth of the last %(window)s hours or at the low bound of jts-hot's forecast, passes it within %(hours)s hours." % s { window: c.fillingUpWindowHours },
        )
        for s in [
          { severity: 'warning', share: c.serviceFillingUpWarningShare, hours: c.serviceFillingUpWarningHours },
          { severity: 'critical', share: c.serviceFillingUpCriticalShare, hours: c.serviceFillingUpCriticalHours },
        ]
      ] + [
        alert(
          'JtsHotFilesystemLowSpaceCritical',
          'critical',
          'jts_hot_filesystem_avail_bytes{%(jtsHotSelector)s} < on(instance, job, base) jts_hot_filesystem_avail_critical_bytes{%(jtsHotSelector)s}',
          '5m',
          'Hot tier {{ $labels.base }} has only {{ $value | humanize1024 }}B available',
          "The hot tier's filesystem {{ $labels.base }} on {{ $labels.instance }} has {{ $value | humanize1024 }}B available, below thresholds.fs_free_crit_percent.",
        ),
        alert(
          'JtsHotFilesystemLowSpace',
          'warning',
          |||
            jts_hot_filesystem_avail_bytes{%(jtsHotSelector)s} < on(instance, job, base) jts_hot_filesystem_avail_warning_bytes{%(jtsHotSelector)s}
            unless on(instance, job, base)
            jts_hot_filesystem_avail_bytes{%(jtsHotSelector)s} < on(instance, job, base) jts_hot_filesystem_avail_critical_bytes{%(jtsHotSelector)s}
          |||,
          '15m',
          'Hot tier {{ $labels.base }} has only {{ $value | humanize1024 }}B available',
          "The hot tier's filesystem {{ $labels.base }} on {{ $labels.instance }} has {{ $value | humanize1024 }}B available, below thresholds.fs_free_warn_percent.",
        ),
      ] + [
        // node-mixin's NodeFilesystemSpaceFillingUp on the tier's own
        // filesystem, or jts-hot's forecast at its low bound.
        alert(
          'JtsHotFilesystemFillingUp',
          s.severity,
          |||
            (
              jts_hot_filesystem_avail_bytes{%%(jtsHotSelector)s} / on(instance, job, base) (jts_hot_filesystem_size_bytes{%%(jtsHotSelector)s} > 0) * 100 < %(percent)s
            and on(instance, job, base)
              (
                predict_linear(jts_hot_filesystem_avail_bytes{%%(jtsHotSelector)s}[%%(fillingUpWindowHours)sh], %(hours)s * 3600) < 0
              or
                max without(bound) (jts_hot_filesystem_days_to_full{%%(jtsHotSelector)s, bound="low"}) < %(hours)s / 24
              )
            )
          ||| % s,
          '1h',
          'Hot tier {{ $labels.base }} on {{ $labels.instance }} is predicted to fill within %(hours)s hours' % s,
          "The hot tier's filesystem {{ $labels.base }} on {{ $labels.instance }} has {{ printf \"%%.2f\" $value }}%% available and, at the growth of the last %(window)s hours or at the low bound of jts-hot's forecast, fills within %(hours)s hours." % s { window: c.fillingUpWindowHours },
        )
        for s in [
          { severity: 'warning', percent: c.filesystemFillingUpWarningPercent, hours: c.filesystemFillingUpWarningHours },
          { severity: 'critical', percent: c.filesystemFillingUpCriticalPercent, hours: c.filesystemFillingUpCriticalHours },
        ]
      ] + [
        // jts-hot's own forecast over monitor.forecast_window at its low bound
        // (the soonest the 95% interval allows); the likely line for a host
        // whose history is too short for an interval (or a release before it).
        alert(
          'JtsHotFilesystemProjectedFull',
          'warning',
          |||
            max without(bound) (jts_hot_filesystem_days_to_full{%(jtsHotSelector)s, bound="low"}) < %(projectedDaysWarning)s
            or
            jts_hot_filesystem_days_until_full{%(jtsHotSelector)s} < %(projectedDaysWarning)s
          |||,
          '1h',
          'Hot tier {{ $labels.base }} projected full in as little as {{ $value | printf "%.1f" }} days',
          "At the growth over monitor.forecast_window the hot tier's filesystem {{ $labels.base }} on {{ $labels.instance }} may fill in {{ $value | printf \"%.1f\" }} days (the forecast's low bound).",
        ),
        alert(
          'JtsHotServiceProjectedOverPlan',
          'warning',
          |||
            max without(bound) (jts_hot_service_days_to_plan{%(jtsHotSelector)s, bound="low"}) < %(projectedDaysWarning)s
            or
            jts_hot_service_days_until_plan{%(jtsHotSelector)s} < %(projectedDaysWarning)s
          |||,
          '1h',
          '{{ $labels.service }} projected to reach its plan in as little as {{ $value | printf "%.1f" }} days',
          'At the growth over monitor.forecast_window service {{ $labels.service }} on {{ $labels.instance }} may reach its planned size in {{ $value | printf "%.1f" }} days (the forecast\'s low bound).',
        ),
        // The host's report is old: the older of the monitor's own timestamp
        // and its textfile's mtime (node_exporter keeps serving a file nobody
        // rewrites) is past two monitor intervals and a quarter of an hour, at
        // least an hour (an hour when the host does not export its interval).
        alert(
          'JtsHotMonitorStale',
          'warning',
          |||
            time() - min by (instance, job) (
              jts_hot_last_run_timestamp_seconds{%(jtsHotSelector)s}
              or
              node_textfile_mtime_seconds{%(textfileSelector)s, %(jtsHotSelector)s}
            )
            > on(instance, job)
            (
              clamp_min(2 * max by (instance, job) (jts_hot_monitor_interval_seconds{%(jtsHotSelector)s}) + %(staleGraceSeconds)s, %(staleFloorSeconds)s)
              or
              max by (instance, job) (jts_hot_last_run_timestamp_seconds{%(jtsHotSelector)s}) * 0 + %(staleFloorSeconds)s
            )
          |||,
          '5m',
          'jts-hot monitor last ran {{ $value | humanizeDuration }} ago on {{ $labels.instance }}',
          'jts-hot-monitor.timer on {{ $labels.instance }} has not produced a fresh jts_hot.prom for {{ $value | humanizeDuration }}, more than two monitor intervals.',
        ),
        // A host that reported within the last day and no longer does at all:
        // its series went stale, so JtsHotMonitorStale cannot see it any more.
        alert(
          'JtsHotMonitorGone',
          'warning',
          |||
            present_over_time(jts_hot_last_run_timestamp_seconds{%(jtsHotSelector)s}[1d])
            unless on(instance, job)
            jts_hot_last_run_timestamp_seconds{%(jtsHotSelector)s}
          |||,
          '10m',
          'jts-hot series gone from {{ $labels.instance }}',
          "{{ $labels.instance }} exported jts-hot's series within the last day and no longer does: node_exporter is down, or jts_hot.prom was removed or cannot be parsed.",
        ),
        alert(
          'JtsHotMonitorAbsent',
          'warning',
          'absent(jts_hot_last_run_timestamp_seconds{%(jtsHotSelector)s})',
          '1h',
          'No jts-hot monitor series at all',
          'No node_exporter exposes jts_hot_last_run_timestamp_seconds: the monitor never ran, or its textfile is not collected.',
        ),
        alert(
          'JtsHotScanPartial',
          'warning',
          'jts_hot_scan_partial{%(jtsHotSelector)s} == 1',
          '30m',
          'jts-hot monitor cannot read part of the hot tier on {{ $labels.instance }}',
          'Some directory under the hot tier on {{ $labels.instance }} is unreadable to the monitor; usage figures are lower bounds. See journalctl -u jts-hot-monitor.',
        ),
        // The device slowed down: the fsync canary's p99 over the window
        // (one 8 KiB write+fdatasync per monitor run, so at least a few runs)
        // beyond the probe's saved baseline p99 times the factor, the
        // probe's own regression factor.
        alert(
          'JtsHotFsyncDrift',
          'warning',
          |||
            histogram_quantile(0.99, sum by (instance, job, le) (increase(jts_hot_fsync_seconds_bucket{%(jtsHotSelector)s}[%(fsyncDriftWindow)s])))
              > on(instance, job) group_left()
            %(fsyncDriftFactor)g * max by (instance, job) (jts_hot_probe_baseline_fsync_p99_seconds{%(jtsHotSelector)s})
            and on(instance, job)
            sum by (instance, job) (increase(jts_hot_fsync_seconds_count{%(jtsHotSelector)s}[%(fsyncDriftWindow)s])) >= %(fsyncDriftMinRuns)s
          |||,
          '30m',
          'fsync on the hot tier of {{ $labels.instance }} takes {{ $value | humanizeDuration }} at p99, beyond its probe baseline',
          "The monitor's fsync canary on {{ $labels.instance }} (8 KiB write + fdatasync, once a run) has a p99 of {{ $value | humanizeDuration }} over the last %(fsyncDriftWindow)s, more than %(fsyncDriftFactor)g times the p99 `jts-hot probe --save` recorded: the databases' commits wait this long too." % c,
        ),
        // Drift since boot: every monitor run re-validates the whole tier. A
        // critical finding means the next start of a gated database will be
        // refused by its gate (or that a running one has lost its footing):
        // `for: 0m`, one monitor run is enough to page.
        alert(
          'JtsHotTierDrift',
          'critical',
          'jts_hot_validate_findings{severity="critical", %(jtsHotSelector)s} > 0',
          '0m',
          'Hot tier on {{ $labels.instance }} fails {{ $labels.check }} ({{ $value }} critical finding(s))',
          'The hot tier no longer matches its layout ({{ $labels.check }}): a gated database will refuse to start. `jts-hot validate` on {{ $labels.instance }} names each finding and the command that fixes it.',
        ),
        // One layout across the fleet: this host's layout digest is not the
        // one most hosts of its role (monitor.role) run. Raw series only, as
        // every alert here (instance:jts_hot_layout_off_fleet:info inlined).
        alert(
          'JtsHotLayoutOffFleet',
          'warning',
          |||
            jts_hot_layout_info{%(jtsHotSelector)s}
            and on(job, role, digest)
            (
              count by (job, role, digest) (jts_hot_layout_info{%(jtsHotSelector)s})
              < on(job, role) group_left()
              max by (job, role) (count by (job, role, digest) (jts_hot_layout_info{%(jtsHotSelector)s}))
            )
          |||,
          c.layoutOffFleetFor,
          '{{ $labels.instance }} runs another layout than its role {{ $labels.role }}',
          '{{ $labels.instance }} runs layout {{ $labels.digest }} ({{ $labels.source }}, jts-hot {{ $labels.version }}), not the one most hosts of role "{{ $labels.role }}" in {{ $labels.job }} run. `jts-hot status` on it shows the layout in force and any pending edit.',
        ),
        alert(
          'JtsHotTierWarning',
          'warning',
          'jts_hot_validate_findings{severity="warning", %(jtsHotSelector)s} > 0',
          '1h',
          'Hot tier on {{ $labels.instance }} warns on {{ $labels.check }} ({{ $value }} finding(s))',
          'Validation warns on {{ $labels.check }} (mount options, TRIM, capacity or stale generated files): not blocking, worth fixing. `jts-hot validate` on {{ $labels.instance }} says what and how.',
        ),
      ],
    }],
  },
}
