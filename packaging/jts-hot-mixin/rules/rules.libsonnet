// Recording rules (the fleet view): load beside the alerts on every Prometheus
// that scrapes the hosts' node_exporter; the dashboards read these series.
//
// Names follow Prometheus's level:metric:operation convention and are a
// contract (docs/fleet.md). `instance` is a host, `job` the scrape job (the
// fleet, or one site of it); a global Prometheus federating
// `{__name__=~"job:jts_hot_.*"}` gets the fleet totals. Figures of growth and
// days left are jts-hot's own (least squares over the 7-day history on each
// host), aggregated here, never re-estimated.
{
  local c = $._config,
  local rule(name, expr) = { record: name, expr: expr % c },

  prometheusRules+:: {
    groups+: [{
      name: 'jts-hot.rules',
      rules: [
        // Per host and service: used bytes over planned bytes (1 = the plan).
        rule('instance_service:jts_hot_used_over_planned:ratio', |||
          jts_hot_service_used_bytes{%(jtsHotSelector)s}
          / on(instance, job, service)
          (jts_hot_service_planned_bytes{%(jtsHotSelector)s} > 0)
        |||),
        // Per host: the tier's totals and its fullest service.
        rule('instance:jts_hot_used_bytes:sum', 'sum by (instance, job) (jts_hot_service_used_bytes{%(jtsHotSelector)s})'),
        rule('instance:jts_hot_planned_bytes:sum', 'sum by (instance, job) (jts_hot_service_planned_bytes{%(jtsHotSelector)s})'),
        rule('instance:jts_hot_used_over_planned:ratio', 'instance:jts_hot_used_bytes:sum / (instance:jts_hot_planned_bytes:sum > 0)'),
        rule('instance:jts_hot_used_over_planned:max', 'max by (instance, job) (instance_service:jts_hot_used_over_planned:ratio)'),
        rule('instance:jts_hot_growth_bytes_per_day:sum', 'sum by (instance, job) (jts_hot_service_growth_bytes_per_day{%(jtsHotSelector)s})'),
        rule('instance:jts_hot_days_until_plan:min', 'min by (instance, job) (jts_hot_service_days_until_plan{%(jtsHotSelector)s})'),
        rule('instance:jts_hot_days_until_full:min', 'min by (instance, job) (jts_hot_filesystem_days_until_full{%(jtsHotSelector)s})'),
        // Share of the tier's filesystem still available (keeps `base`).
        rule('instance:jts_hot_filesystem_avail:ratio', |||
          jts_hot_filesystem_avail_bytes{%(jtsHotSelector)s}
          / on(instance, job, base)
          ((jts_hot_filesystem_used_bytes{%(jtsHotSelector)s} + jts_hot_filesystem_avail_bytes{%(jtsHotSelector)s}) > 0)
        |||),
        // Seconds since the host last reported: the older of the monitor's
        // own timestamp and its textfile's mtime as node_exporter sees it.
        rule('instance:jts_hot_report_age_seconds', |||
          time() - min by (instance, job) (
            jts_hot_last_run_timestamp_seconds{%(jtsHotSelector)s}
            or
            node_textfile_mtime_seconds{%(textfileSelector)s, %(jtsHotSelector)s}
          )
        |||),
        // How old a host's report may get: two monitor intervals (the
        // layout's monitor.every) and a quarter of an hour, at least an hour;
        // an hour for a host that does not export its interval.
        rule('instance:jts_hot_report_max_age_seconds', |||
          clamp_min(2 * max by (instance, job) (jts_hot_monitor_interval_seconds{%(jtsHotSelector)s}) + %(staleGraceSeconds)s, %(staleFloorSeconds)s)
          or
          max by (instance, job) (jts_hot_last_run_timestamp_seconds{%(jtsHotSelector)s}) * 0 + %(staleFloorSeconds)s
        |||),

        // The fleet (one series per job).
        rule('job:jts_hot_used_bytes:sum', 'sum by (job) (instance:jts_hot_used_bytes:sum)'),
        rule('job:jts_hot_planned_bytes:sum', 'sum by (job) (instance:jts_hot_planned_bytes:sum)'),
        rule('job:jts_hot_used_over_planned:ratio', 'job:jts_hot_used_bytes:sum / (job:jts_hot_planned_bytes:sum > 0)'),
        rule('job:jts_hot_growth_bytes_per_day:sum', 'sum by (job) (instance:jts_hot_growth_bytes_per_day:sum)'),
        rule('job:jts_hot_hosts:count', 'count by (job) (instance:jts_hot_report_age_seconds)'),
        // Hosts whose report is older than it may get (JtsHotMonitorStale's
        // threshold); 0, not absent, when none is.
        rule('job:jts_hot_hosts_stale:count', |||
          count by (job) (
            instance:jts_hot_report_age_seconds
            > on(instance, job) instance:jts_hot_report_max_age_seconds
          )
          or job:jts_hot_hosts:count * 0
        |||),
        // Hosts whose last validation is CRITICAL or UNKNOWN (drift since
        // boot: a gated database would refuse to start); 0, not absent, when
        // none is.
        rule('job:jts_hot_hosts_invalid:count', |||
          count by (job) (jts_hot_validate_status{%(jtsHotSelector)s} >= 2)
          or job:jts_hot_hosts:count * 0
        |||),
        // One layout across the fleet: hosts per layout digest and role
        // (the layout's monitor.role; "" when unset) ...
        rule('job_role_digest:jts_hot_layout_hosts:count', 'count by (job, role, digest) (jts_hot_layout_info{%(jtsHotSelector)s})'),
        // ... and the hosts whose digest is not the most common one of their
        // role (jts_hot_layout_info's labels, value 1). A tie between two
        // layouts names no host; a role of one host never differs.
        rule('instance:jts_hot_layout_off_fleet:info', |||
          jts_hot_layout_info{%(jtsHotSelector)s}
          and on(job, role, digest)
          (
            job_role_digest:jts_hot_layout_hosts:count
            < on(job, role) group_left()
            max by (job, role) (job_role_digest:jts_hot_layout_hosts:count)
          )
        |||),
        rule('job:jts_hot_hosts_off_fleet:count', |||
          count by (job) (instance:jts_hot_layout_off_fleet:info)
          or job:jts_hot_hosts:count * 0
        |||),
        // Services at or over their critical share, over all hosts.
        rule('job:jts_hot_services_critical:count', |||
          count by (job) (jts_hot_service_used_bytes{%(jtsHotSelector)s} >= on(instance, job, service) jts_hot_service_critical_bytes{%(jtsHotSelector)s})
          or job:jts_hot_hosts:count * 0
        |||),
      ],
    }],
  },
}
