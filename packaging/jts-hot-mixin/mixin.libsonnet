// jts-hot's monitoring mixin (the monitoring-mixins layout): prometheusAlerts,
// prometheusRules and grafanaDashboards, adjusted through _config.
(import 'config.libsonnet') +
(import 'alerts/alerts.libsonnet') +
(import 'rules/rules.libsonnet') +
(import 'dashboards/dashboards.libsonnet')
