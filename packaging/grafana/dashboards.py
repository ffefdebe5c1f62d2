#!/usr/bin/env python3
"""The Grafana dashboards of jts-hot, written as JSON (schema 39, Grafana 11).

Usage: packaging/grafana/dashboards.py [OUT_DIR]   (default: this directory)

The JSON files beside this script are its output, committed: edit here, rerun,
review the diff. tests/fleet.rs fails when they differ from what this prints,
and runs every panel's query against a real Prometheus fed by jts-hot.
Panels read the recording rules of packaging/prometheus/jts-hot-rules.yml.
"""
import json
import os
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
DS = {"type": "prometheus", "uid": "${datasource}"}
STATUS_MAP = [{"type": "value", "options": {
    "0": {"text": "OK", "color": "green", "index": 0},
    "1": {"text": "WARNING", "color": "orange", "index": 1},
    "2": {"text": "CRITICAL", "color": "red", "index": 2},
    "3": {"text": "UNKNOWN", "color": "purple", "index": 3}}}]
PLAN_STEPS = {"mode": "absolute", "steps": [
    {"color": "green", "value": None}, {"color": "orange", "value": 0.8}, {"color": "red", "value": 0.95}]}

def variables(host_multi):
    ds = {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
          "current": {}, "hide": 0, "refresh": 1, "regex": "", "options": []}
    host = {"name": "host", "label": "Host", "type": "query", "datasource": DS,
            "definition": "label_values(jts_hot_last_run_timestamp_seconds, instance)",
            "query": {"qryType": 1, "query": "label_values(jts_hot_last_run_timestamp_seconds, instance)", "refId": "PrometheusVariableQueryEditor-VariableQuery"},
            "refresh": 2, "sort": 1, "hide": 0, "regex": "", "current": {}, "options": [],
            "multi": host_multi, "includeAll": host_multi}
    if host_multi:
        host["allValue"] = ".*"
    return {"list": [ds, host]}

class Dash:
    def __init__(self):
        self.panels = []
        self.y = 0
        self.x = 0
        self.rowh = 0
    def add(self, p, w, h):
        if self.x + w > 24:
            self.x = 0; self.y += self.rowh; self.rowh = 0
        p["id"] = len(self.panels) + 1
        p["gridPos"] = {"x": self.x, "y": self.y, "w": w, "h": h}
        p["datasource"] = DS
        for i, t in enumerate(p["targets"]):
            t["refId"] = chr(ord("A") + i)
            t["datasource"] = DS
        self.x += w; self.rowh = max(self.rowh, h)
        self.panels.append(p)

def target(expr, legend="__auto", instant=False, table=False):
    t = {"expr": expr, "legendFormat": legend, "range": not instant, "instant": instant}
    if table:
        t["format"] = "table"
    return t

def stat(title, desc, targets, unit="none", mappings=None, steps=None):
    return {"type": "stat", "title": title, "description": desc, "targets": targets,
            "fieldConfig": {"defaults": {"unit": unit, "mappings": mappings or [],
                                         "thresholds": steps or {"mode": "absolute", "steps": [{"color": "green", "value": None}]},
                                         "color": {"mode": "thresholds"}}, "overrides": []},
            "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "colorMode": "background", "graphMode": "none", "textMode": "auto",
                        "justifyMode": "auto", "orientation": "auto"}}

def timeseries(title, desc, targets, unit, steps=None, min0=True):
    d = {"unit": unit, "custom": {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 0, "showPoints": "never",
                                  "spanNulls": True, "thresholdsStyle": {"mode": "line" if steps else "off"}},
         "color": {"mode": "palette-classic"}}
    if steps:
        d["thresholds"] = steps
    if min0:
        d["min"] = 0
    return {"type": "timeseries", "title": title, "description": desc, "targets": targets,
            "fieldConfig": {"defaults": d, "overrides": []},
            "options": {"legend": {"displayMode": "table", "placement": "bottom", "showLegend": True, "calcs": ["lastNotNull", "max"]},
                        "tooltip": {"mode": "multi", "sort": "desc"}}}

def table(title, desc, targets, overrides=None, transformations=None, sort=None):
    p = {"type": "table", "title": title, "description": desc, "targets": targets,
         "fieldConfig": {"defaults": {"custom": {"align": "auto", "cellOptions": {"type": "auto"}}}, "overrides": overrides or []},
         "options": {"showHeader": True, "cellHeight": "sm", "footer": {"show": False, "reducer": ["sum"], "fields": ""}},
         "transformations": transformations or []}
    if sort:
        p["options"]["sortBy"] = sort
    return p

def col(name, **props):
    return {"matcher": {"id": "byName", "options": name},
            "properties": [{"id": k, "value": v} for k, v in props.items()]}

def organize(rename, exclude=("Time",)):
    return {"id": "organize", "options": {"excludeByName": {e: True for e in exclude}, "renameByName": rename, "indexByName": {}}}

def dashboard(uid, title, desc, panels, host_multi, links):
    return {"__requires": [{"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"}],
            "annotations": {"list": [{"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                                      "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
                                      "name": "Annotations & Alerts", "type": "dashboard"}]},
            "description": desc, "editable": True, "fiscalYearStartMonth": 0, "graphTooltip": 1,
            "links": links, "panels": panels, "refresh": "1m", "schemaVersion": 39, "tags": ["jts-hot"],
            "templating": variables(host_multi), "time": {"from": "now-7d", "to": "now"},
            "timepicker": {}, "timezone": "", "title": title, "uid": uid, "version": 1, "weekStart": ""}

H = 'instance=~"$host"'
# ---------------------------------------------------------------- fleet
d = Dash()
d.add(stat("Hosts reporting", "Hosts exporting jts-hot's series (job:jts_hot_hosts:count).",
           [target('sum(job:jts_hot_hosts:count)', instant=True)]), 3, 4)
d.add(stat("Stale hosts", "Hosts whose last report is older than JtsHotMonitorStale's threshold (two monitor intervals and 15 minutes, at least an hour).",
           [target('sum(job:jts_hot_hosts_stale:count)', instant=True)],
           steps={"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "red", "value": 1}]}), 3, 4)
d.add(stat("Services past critical share", "Services at or over thresholds.crit_percent of their plan, all hosts.",
           [target('sum(job:jts_hot_services_critical:count)', instant=True)],
           steps={"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "red", "value": 1}]}), 3, 4)
d.add(stat("Hosts failing validation", "Hosts whose last validation (run by every monitor run) is CRITICAL or UNKNOWN: drift since boot, a gated database would refuse to start.",
           [target('sum(job:jts_hot_hosts_invalid:count)', instant=True)],
           steps={"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "red", "value": 1}]}), 3, 4)
d.add(stat("Fleet used / planned", "Sum of used bytes over sum of planned bytes, all hosts.",
           [target('sum(job:jts_hot_used_bytes:sum) / sum(job:jts_hot_planned_bytes:sum)', instant=True)],
           unit="percentunit", steps=PLAN_STEPS), 3, 4)
d.add(stat("Fleet used", "Allocated bytes of every service on every host.",
           [target('sum(job:jts_hot_used_bytes:sum)', instant=True)], unit="bytes"), 3, 4)
d.add(stat("Fleet planned", "Planned bytes of every service on every host.",
           [target('sum(job:jts_hot_planned_bytes:sum)', instant=True)], unit="bytes"), 3, 4)
d.add(stat("Fleet growth per day", "Sum of each host's 7-day growth figure (jts-hot's own least squares).",
           [target('sum(job:jts_hot_growth_bytes_per_day:sum)', instant=True)], unit="bytes"), 3, 4)
d.add({**table("Every host × service, worst first",
               "Used against plan for each service on each host, sorted by the share of plan. Bars turn orange at 80% and red at 95% (the default thresholds; each host's own are in its alerts).",
               [target(f'sort_desc(instance_service:jts_hot_used_over_planned:ratio{{{H}}})', instant=True, table=True),
                target(f'jts_hot_service_used_bytes{{{H}}}', instant=True, table=True),
                target(f'jts_hot_service_planned_bytes{{{H}}}', instant=True, table=True),
                target(f'jts_hot_service_days_until_plan{{{H}}}', instant=True, table=True),
                target(f'jts_hot_service_status{{{H}}}', instant=True, table=True)],
               overrides=[col("share of plan", unit="percentunit", thresholds=PLAN_STEPS,
                              **{"custom.cellOptions": {"type": "gauge", "mode": "basic"}, "max": 1.2, "min": 0}),
                          col("used", unit="bytes"), col("planned", unit="bytes"),
                          col("days to plan", unit="d", decimals=1),
                          col("status", mappings=STATUS_MAP, **{"custom.cellOptions": {"type": "color-background"}})],
               transformations=[{"id": "merge", "options": {}},
                                organize({"instance": "host", "service": "service", "Value #A": "share of plan",
                                          "Value #B": "used", "Value #C": "planned", "Value #D": "days to plan",
                                          "Value #E": "status"}, exclude=("Time", "job", "__name__"))],
               sort=[{"displayName": "share of plan", "desc": True}])}, 16, 14)
d.add(table("Stale hosts", "Hosts whose last report (the older of jts_hot_last_run_timestamp_seconds and the textfile's mtime) is older than two monitor intervals and a quarter of an hour, at least an hour (JtsHotMonitorStale's threshold). Empty is good.",
            [target(f'sort_desc(instance:jts_hot_report_age_seconds{{{H}}} > on(instance, job) instance:jts_hot_report_max_age_seconds)', instant=True, table=True)],
            overrides=[col("age", unit="s")],
            transformations=[organize({"instance": "host", "Value": "age"}, exclude=("Time", "job", "__name__"))],
            sort=[{"displayName": "age", "desc": True}]), 8, 7)
d.add(table("Firing jts-hot alerts", "Alerts of the jts-hot rules now firing on this Prometheus.",
            [target(f'ALERTS{{alertname=~"JtsHot.*", alertstate="firing", {H}}}', instant=True, table=True)],
            transformations=[organize({"instance": "host"}, exclude=("Time", "__name__", "alertstate", "job", "Value"))]), 8, 7)
d.add(timeseries("Fleet used and planned", "Sum over all hosts.",
                 [target('sum(job:jts_hot_used_bytes:sum)', "used"), target('sum(job:jts_hot_planned_bytes:sum)', "planned")],
                 "bytes"), 12, 8)
d.add(timeseries("Hosts' tier used / planned", "Per host: sum of used over sum of planned.",
                 [target(f'instance:jts_hot_used_over_planned:ratio{{{H}}}', "{{instance}}")], "percentunit", steps=PLAN_STEPS), 12, 8)
d.add(table("Report age and validation per host", "Seconds since each host last reported, its last monitor status and its validation status (jts_hot_validate_status).",
            [target(f'sort_desc(instance:jts_hot_report_age_seconds{{{H}}})', instant=True, table=True),
             target(f'jts_hot_status{{{H}}}', instant=True, table=True),
             target(f'jts_hot_validate_status{{{H}}}', instant=True, table=True)],
            overrides=[col("report age", unit="s"),
                       col("monitor", mappings=STATUS_MAP, **{"custom.cellOptions": {"type": "color-background"}}),
                       col("validation", mappings=STATUS_MAP, **{"custom.cellOptions": {"type": "color-background"}})],
            transformations=[{"id": "merge", "options": {}},
                             organize({"instance": "host", "Value #A": "report age", "Value #B": "monitor", "Value #C": "validation"},
                                      exclude=("Time", "job", "__name__"))]), 24, 8)
links = [{"title": "jts-hot host", "type": "dashboards", "tags": ["jts-hot"], "asDropdown": False, "includeVars": False, "keepTime": True}]
fleet = dashboard("jts-hot-fleet", "jts-hot / Fleet",
                  "Every host's hot tier against its plan, worst first; stale hosts. Needs packaging/prometheus/jts-hot-rules.yml.",
                  d.panels, True, links)
every = next(p for p in fleet["panels"] if p["title"].startswith("Every host"))
every["fieldConfig"]["defaults"]["links"] = [
    {"title": "Open ${__data.fields.host}", "url": "/d/jts-hot-host/jts-hot-host?var-host=${__data.fields.host}&${datasource:queryparam}"}]

# ---------------------------------------------------------------- host
H = 'instance="$host"'
d = Dash()
d.add(stat("Monitor status", "Worst status of the last monitor run (jts_hot_status).",
           [target(f'jts_hot_status{{{H}}}', instant=True)], mappings=STATUS_MAP), 4, 4)
d.add(stat("Validation", "Status of the validation the monitor runs (jts_hot_validate_status): drift since boot.",
           [target(f'jts_hot_validate_status{{{H}}}', instant=True)], mappings=STATUS_MAP), 4, 4)
d.add(stat("Report overdue", "Seconds the host's last report is past JtsHotMonitorStale's threshold (negative: seconds left before it is stale).",
           [target(f'instance:jts_hot_report_age_seconds{{{H}}} - on(instance, job) instance:jts_hot_report_max_age_seconds{{{H}}}', instant=True)], unit="s",
           steps={"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "red", "value": 0}]}), 4, 4)
d.add(stat("Tier used / planned", "All services' used bytes over their planned bytes.",
           [target(f'instance:jts_hot_used_over_planned:ratio{{{H}}}', instant=True)], unit="percentunit", steps=PLAN_STEPS), 4, 4)
d.add(stat("Days to first plan reached", "Fewest days until a service reaches its plan at its 7-day growth.",
           [target(f'instance:jts_hot_days_until_plan:min{{{H}}}', instant=True)], unit="d",
           steps={"mode": "absolute", "steps": [{"color": "red", "value": None}, {"color": "orange", "value": 14}, {"color": "green", "value": 60}]}), 4, 4)
d.add(stat("Filesystem available", "Share of the tier's filesystem still available.",
           [target(f'instance:jts_hot_filesystem_avail:ratio{{{H}}}', instant=True)], unit="percentunit",
           steps={"mode": "absolute", "steps": [{"color": "red", "value": None}, {"color": "orange", "value": 0.05}, {"color": "green", "value": 0.15}]}), 4, 4)
d.add(timeseries("Share of plan per service", "Used over planned bytes; the lines are the default warning (80%) and critical (95%) shares.",
                 [target(f'instance_service:jts_hot_used_over_planned:ratio{{{H}}}', "{{service}}")], "percentunit", steps=PLAN_STEPS), 12, 9)
d.add(timeseries("Used and planned per service", "Allocated bytes (du -s -x) and the plan.",
                 [target(f'jts_hot_service_used_bytes{{{H}}}', "{{service}} used"),
                  target(f'jts_hot_service_planned_bytes{{{H}}}', "{{service}} plan")], "bytes"), 12, 9)
d.add(timeseries("Growth per day", "Each service's growth over the last 7 days (jts-hot's least squares over its history).",
                 [target(f'jts_hot_service_growth_bytes_per_day{{{H}}}', "{{service}}"),
                  target(f'jts_hot_filesystem_growth_bytes_per_day{{{H}}}', "filesystem")], "bytes", min0=False), 12, 8)
d.add({**table("Days left", "Days until each service reaches its plan and the filesystem is full, at the 7-day growth; empty where not growing.",
               [target(f'sort(jts_hot_service_days_until_plan{{{H}}})', instant=True, table=True),
                target(f'jts_hot_filesystem_days_until_full{{{H}}}', instant=True, table=True)],
               overrides=[col("days to plan", unit="d", decimals=1), col("days to full", unit="d", decimals=1)],
               transformations=[{"id": "merge", "options": {}},
                                organize({"Value #A": "days to plan", "Value #B": "days to full"},
                                         exclude=("Time", "job", "instance", "__name__"))])}, 12, 8)
d.add(timeseries("Filesystem available", "Bytes available on the tier's filesystem, and the warning/critical floors.",
                 [target(f'jts_hot_filesystem_avail_bytes{{{H}}}', "available"),
                  target(f'jts_hot_filesystem_avail_warning_bytes{{{H}}}', "warning below"),
                  target(f'jts_hot_filesystem_avail_critical_bytes{{{H}}}', "critical below")], "bytes"), 12, 8)
d.add(table("Validation findings", "Findings of the monitor's validation run by check and severity (jts_hot_validate_findings).",
            [target(f'sort_desc(jts_hot_validate_findings{{{H}}})', instant=True, table=True)],
            transformations=[organize({"Value": "findings"}, exclude=("Time", "job", "instance", "__name__"))],
            sort=[{"displayName": "findings", "desc": True}]), 12, 8)
d.add(timeseries("Monitor and validation status over time", "0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
                 [target(f'jts_hot_status{{{H}}}', "monitor"), target(f'jts_hot_validate_status{{{H}}}', "validation")], "none"), 24, 7)
host = dashboard("jts-hot-host", "jts-hot / Host",
                 "One host's hot tier: usage against plan over time, growth, days left, free space, validation. Needs packaging/prometheus/jts-hot-rules.yml.",
                 d.panels, False, links)
for name, dash in [("jts-hot-fleet.json", fleet), ("jts-hot-host.json", host)]:
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(dash, f, indent=2, ensure_ascii=False)
        f.write("\n")
