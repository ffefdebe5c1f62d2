// What a consumer adjusts, as node-mixin's _config: override with
//   (import 'jts-hot-mixin/mixin.libsonnet') + { _config+:: { job: 'node' } }
{
  _config+:: {
    // The scrape job(s) of the node_exporters that collect jts_hot.prom (a
    // regular expression); every series the rules read is selected by it.
    job: '.+',
    jtsHotSelector: 'job=~"%s"' % self.job,
    // node_exporter's textfile mtime series of jts-hot's file.
    textfileSelector: 'file=~"(.*/)?jts_hot[.]prom"',

    // Each alert's runbook_url is this base, '#', the alert's name in lower case.
    runbookURLBase: 'https://git.jts.invalid/platform/jts-hot/-/blob/main/docs/runbook.md',

    // JtsHotServiceFillingUp (node-mixin's NodeFilesystemSpaceFillingUp for a
    // service's plan): share of plan already used, hours until the plan.
    serviceFillingUpWarningShare: 0.5,
    serviceFillingUpWarningHours: 24,
    serviceFillingUpCriticalShare: 0.8,
    serviceFillingUpCriticalHours: 4,
    // JtsHotFilesystemFillingUp: percent still available, hours until full.
    filesystemFillingUpWarningPercent: 40,
    filesystemFillingUpWarningHours: 24,
    filesystemFillingUpCriticalPercent: 20,
    filesystemFillingUpCriticalHours: 4,
    // The growth window of both predict_linear alerts, in hours.
    fillingUpWindowHours: 6,
    // JtsHotFilesystemProjectedFull / JtsHotServiceProjectedOverPlan (jts-hot's
    // own forecast at its low bound): days left below which they warn.
    projectedDaysWarning: 14,
    // JtsHotMonitorStale: a report is stale past two monitor intervals and this
    // many seconds, and never before the floor (the floor alone when a host does
    // not export its interval).
    staleGraceSeconds: 900,
    staleFloorSeconds: 3600,

    // JtsHotFsyncDrift: the canary's p99 over the window beyond the probe
    // baseline's p99 times the factor (the probe's --regression-factor
    // default), once the window holds at least this many canary runs.
    fsyncDriftFactor: 2,
    fsyncDriftWindow: '6h',
    fsyncDriftMinRuns: 8,

    // JtsHotLayoutOffFleet: how long a host may run another layout than most
    // hosts of its role (a staged rollout takes this long at most).
    layoutOffFleetFor: '1h',

    // Grafana.
    dashboardTags: ['jts-hot'],
    dashboardRefresh: '1m',
    dashboardPeriod: 'now-7d',
    // Share of plan at which tables and graphs turn orange / red (the layout's
    // default thresholds; each host's own are in its alerts).
    planWarningShare: 0.8,
    planCriticalShare: 0.95,
  },
}
