# -*- coding: utf-8 -*-
# Copyright: contributors to the telemetry.claude_code collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sample dashboards shared by the unit tests of the grafana_dashboard module and its lint."""

from __future__ import annotations

import copy

PROMETHEUS_UID = "prom-main"
LOKI_UID = "loki-main"


def good_dashboard():
    """A clean dashboard: two rows (one collapsed), Prometheus and Loki panels, variables."""
    return copy.deepcopy({
        "uid": "claude-code-usage",
        "title": "Claude Code usage",
        "tags": ["claude-code"],
        "schemaVersion": 39,
        "version": 3,
        "id": 17,
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [
            {"name": "prometheus", "type": "datasource", "query": "prometheus",
             "current": {"text": "Prometheus", "value": PROMETHEUS_UID}},
            {"name": "loki", "type": "datasource", "query": "loki",
             "current": {"text": "Loki", "value": LOKI_UID}},
            {"name": "model", "type": "query", "datasource": {"type": "prometheus", "uid": "${prometheus}"},
             "query": {"query": "label_values(claude_code_cost_usage_USD_total, model)", "refId": "V"},
             "current": {"text": "All", "value": "$__all"}, "includeAll": True, "multi": True},
            {"name": "window", "type": "interval", "query": "5m,15m,1h",
             "current": {"text": "15m", "value": "15m"}},
        ]},
        "panels": [
            {"id": 1, "type": "row", "title": "Cost", "collapsed": False,
             "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}, "panels": []},
            {"id": 2, "type": "timeseries", "title": "Cost per model",
             "datasource": {"type": "prometheus", "uid": "${prometheus}"},
             "gridPos": {"x": 0, "y": 1, "w": 12, "h": 8},
             "targets": [{"refId": "A", "datasource": {"type": "prometheus", "uid": "${prometheus}"},
                          "expr": 'sum by (model) (increase(claude_code_cost_usage_USD_total{model=~"$model"}[$__range]))'}]},
            {"id": 3, "type": "stat", "title": "Tokens",
             "datasource": {"type": "prometheus", "uid": "${prometheus}"},
             "gridPos": {"x": 12, "y": 1, "w": 12, "h": 8},
             "targets": [{"refId": "A",
                          "expr": "sum(rate(claude_code_token_usage_tokens_total[$__rate_interval])) by (type)"},
                         {"refId": "B", "expr": "sum(increase(claude_code_session_count_total[$window]))"}]},
            {"id": 4, "type": "row", "title": "Logs", "collapsed": True,
             "gridPos": {"x": 0, "y": 9, "w": 24, "h": 1},
             "panels": [
                 {"id": 5, "type": "logs", "title": "API errors",
                  "datasource": {"type": "loki", "uid": "${loki}"},
                  "gridPos": {"x": 0, "y": 10, "w": 24, "h": 8},
                  "targets": [{"refId": "A", "expr": '{service_name="claude-code"} |= "api_error" | json'}]},
                 {"id": 6, "type": "timeseries", "title": "Requests per minute",
                  "datasource": {"type": "loki", "uid": "${loki}"},
                  "gridPos": {"x": 0, "y": 18, "w": 24, "h": 8},
                  "targets": [{"refId": "A",
                               "expr": 'sum by (model) (count_over_time({service_name="claude-code"} | json '
                                       '| event_name="api_request" [$__auto]))'}]},
             ]},
        ],
    })


METRIC_CATALOG = [
    "claude_code_cost_usage_USD_total",
    "claude_code_token_usage_tokens_total",
    "claude_code_session_count_total",
    "claude_code_lines_of_code_count_total",
]
