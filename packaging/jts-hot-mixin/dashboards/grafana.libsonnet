// Small builders for Grafana JSON (schema 39, Grafana 11): panels, targets,
// and a row-filling layout (panels placed left to right, wrapped at 24).
{
  DS:: { type: 'prometheus', uid: '${datasource}' },

  STATUS_MAP:: [{ type: 'value', options: {
    '0': { text: 'OK', color: 'green', index: 0 },
    '1': { text: 'WARNING', color: 'orange', index: 1 },
    '2': { text: 'CRITICAL', color: 'red', index: 2 },
    '3': { text: 'UNKNOWN', color: 'purple', index: 3 },
  } }],

  steps(list):: { mode: 'absolute', steps: [{ color: s[0], value: s[1] } for s in list] },

  target(expr, legend='__auto', instant=false, table=false)::
    { expr: expr, legendFormat: legend, range: !instant, instant: instant }
    + (if table then { format: 'table' } else {}),

  stat(title, desc, targets, unit='none', mappings=[], steps=null):: {
    type: 'stat',
    title: title,
    description: desc,
    targets: targets,
    fieldConfig: {
      defaults: {
        unit: unit,
        mappings: mappings,
        thresholds: if steps == null then $.steps([['green', null]]) else steps,
        color: { mode: 'thresholds' },
      },
      overrides: [],
    },
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'background',
      graphMode: 'none',
      textMode: 'auto',
      justifyMode: 'auto',
      orientation: 'auto',
    },
  },

  timeseries(title, desc, targets, unit, steps=null, min0=true):: {
    type: 'timeseries',
    title: title,
    description: desc,
    targets: targets,
    fieldConfig: {
      defaults: {
                  unit: unit,
                  custom: {
                    drawStyle: 'line',
                    lineWidth: 1,
                    fillOpacity: 0,
                    showPoints: 'never',
                    spanNulls: true,
                    thresholdsStyle: { mode: if steps != null then 'line' else 'off' },
                  },
                  color: { mode: 'palette-classic' },
                } + (if steps != null then { thresholds: steps } else {})
                + (if min0 then { min: 0 } else {}),
      overrides: [],
    },
    options: {
      legend: { displayMode: 'table', placement: 'bottom', showLegend: true, calcs: ['lastNotNull', 'max'] },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
  },

  table(title, desc, targets, overrides=[], transformations=[], sort=null):: {
    type: 'table',
    title: title,
    description: desc,
    targets: targets,
    fieldConfig: {
      defaults: { custom: { align: 'auto', cellOptions: { type: 'auto' } } },
      overrides: overrides,
    },
    options: {
      showHeader: true,
      cellHeight: 'sm',
      footer: { show: false, reducer: ['sum'], fields: '' },
    } + (if sort != null then { sortBy: sort } else {}),
    transformations: transformations,
  },

  // A table column's overrides, matched by its name.
  col(name, props):: {
    matcher: { id: 'byName', options: name },
    properties: [{ id: k, value: props[k] } for k in std.objectFields(props)],
  },

  organize(rename, exclude=['Time']):: {
    id: 'organize',
    options: { excludeByName: { [e]: true for e in exclude }, renameByName: rename, indexByName: {} },
  },

  // [panel, width, height] in reading order -> panels with id, gridPos,
  // datasource and each target's refId (A, B, ...).
  layout(items)::
    std.foldl(
      function(acc, it)
        local panel = it[0], w = it[1], h = it[2];
        local wrap = acc.x + w > 24;
        local x = if wrap then 0 else acc.x;
        local y = if wrap then acc.y + acc.rowh else acc.y;
        local rowh = if wrap then 0 else acc.rowh;
        {
          x: x + w,
          y: y,
          rowh: std.max(rowh, h),
          panels: acc.panels + [panel {
            id: std.length(acc.panels) + 1,
            gridPos: { x: x, y: y, w: w, h: h },
            datasource: $.DS,
            targets: [
              panel.targets[i] { refId: std.char(std.codepoint('A') + i), datasource: $.DS }
              for i in std.range(0, std.length(panel.targets) - 1)
            ],
          }],
        },
      items,
      { x: 0, y: 0, rowh: 0, panels: [] }
    ).panels,

  variables(hostMulti):: {
    list: [
      {
        name: 'datasource',
        label: 'Prometheus',
        type: 'datasource',
        query: 'prometheus',
        current: {},
        hide: 0,
        refresh: 1,
        regex: '',
        options: [],
      },
      {
        name: 'host',
        label: 'Host',
        type: 'query',
        datasource: $.DS,
        definition: 'label_values(jts_hot_last_run_timestamp_seconds, instance)',
        query: {
          qryType: 1,
          query: 'label_values(jts_hot_last_run_timestamp_seconds, instance)',
          refId: 'PrometheusVariableQueryEditor-VariableQuery',
        },
        refresh: 2,
        sort: 1,
        hide: 0,
        regex: '',
        current: {},
        options: [],
        multi: hostMulti,
        includeAll: hostMulti,
      } + (if hostMulti then { allValue: '.*' } else {}),
    ],
  },

  dashboard(config, uid, title, desc, panels, hostMulti, links):: {
    __requires: [{ type: 'datasource', id: 'prometheus', name: 'Prometheus', version: '1.0.0' }],
    annotations: { list: [{
      builtIn: 1,
      datasource: { type: 'grafana', uid: '-- Grafana --' },
      enable: true,
      hide: true,
      iconColor: 'rgba(0, 211, 255, 1)',
      name: 'Annotations & Alerts',
      type: 'dashboard',
    }] },
    description: desc,
    editable: true,
    fiscalYearStartMonth: 0,
    graphTooltip: 1,
    links: links,
    panels: panels,
    refresh: config.dashboardRefresh,
    schemaVersion: 39,
    tags: config.dashboardTags,
    templating: $.variables(hostMulti),
    time: { from: config.dashboardPeriod, to: 'now' },
    timepicker: {},
    timezone: '',
    title: title,
    uid: uid,
    version: 1,
    weekStart: '',
  },
}
