# -*- coding: utf-8 -*-
# Copyright: contributors to the telemetry.claude_code collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The offline dashboard lint: a clean dashboard passes, and every rule catches its fault."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.telemetry.claude_code.plugins.module_utils import dashboard_lint as lint

from dashboard_samples import LOKI_UID, METRIC_CATALOG, PROMETHEUS_UID, good_dashboard
from grafana_test_helpers import LOGQL_SCRIPT, ROOT, find_promtool, logql_available

PROMTOOL = find_promtool()
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="no promtool (run tests/lint/setup.sh)")
needs_logql = pytest.mark.skipif(not logql_available(), reason="no node or @grafana/lezer-logql (run tests/lint/setup.sh)")


def kinds(problems):
    return sorted(set(p["kind"] for p in problems))


def errors(problems):
    return [p for p in problems if lint.is_error(p)]


def offline(dashboard, **kwargs):
    """The lint with the external parsers off, so only the built-in rules speak."""
    kwargs.setdefault("promtool", False)
    return errors(lint.lint_dashboard(dashboard, **kwargs))


def find(problems, kind):
    found = [p for p in problems if p["kind"] == kind]
    assert found, "no %s problem in %s" % (kind, json.dumps(problems, indent=1))
    return found


# --- the clean dashboard ---------------------------------------------------------------


def test_good_dashboard_has_no_errors():
    assert offline(good_dashboard(), metric_catalog=METRIC_CATALOG) == []


@needs_promtool
@needs_logql
def test_good_dashboard_is_clean_with_both_parsers():
    problems = lint.lint_dashboard(good_dashboard(), metric_catalog=METRIC_CATALOG, promtool=PROMTOOL,
                                   logql_parser=str(LOGQL_SCRIPT))
    assert problems == []


def test_good_dashboard_as_json_text():
    assert offline(json.dumps(good_dashboard())) == []


def test_absent_parsers_are_notes_not_errors(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    problems = lint.lint_dashboard(good_dashboard())
    assert kinds(problems) == ["lint-skipped"]
    assert errors(problems) == []
    messages = " ".join(p["message"] for p in problems)
    assert "4 PromQL queries not parsed: promtool not found" in messages
    assert "2 LogQL queries not parsed: no LogQL parser configured" in messages


def test_broken_promtool_is_a_note(tmp_path):
    problems = lint.lint_dashboard(good_dashboard(), promtool=str(tmp_path / "missing-promtool"))
    note = [p for p in problems if "PromQL" in p["message"]]
    assert note and note[0]["kind"] == "lint-skipped" and "could not run" in note[0]["message"]


def test_dashboard_lint_imports_without_ansible():
    """tests/ can sys.path-import the lint as plain Python: it must not pull in Ansible."""
    code = ("import sys; sys.path.insert(0, %r); import dashboard_lint; "
            "assert not [m for m in sys.modules if m.startswith('ansible')], 'ansible imported'; "
            "print(dashboard_lint.count_panels({'panels': []}))" % str(ROOT / "plugins" / "module_utils"))
    out = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, check=False, env=dict(os.environ, PYTHONPATH=""))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(0, 0)"


# --- helpers ---------------------------------------------------------------------------


def test_iter_panels_walks_rows_and_collapsed_children_in_order():
    ids = [p["id"] for p in lint.iter_panels(good_dashboard())]
    assert ids == [1, 2, 3, 4, 5, 6]
    assert lint.count_panels(good_dashboard()) == (4, 2)


def test_iter_panels_walks_the_legacy_rows_layout():
    legacy = {"rows": [{"title": "r", "panels": [{"id": 1}, {"id": 2}]}]}
    assert [p["id"] for p in lint.iter_panels(legacy)] == [1, 2]


def test_iter_queries_resolves_datasource_types():
    found = [(p["id"], t, e) for p, t, e in lint.iter_queries(good_dashboard())]
    assert [(pid, dstype) for pid, dstype, _expr in found] == [
        (2, "prometheus"), (3, "prometheus"), (3, "prometheus"), (5, "loki"), (6, "loki")]
    assert found[0][2].startswith("sum by (model)")


def test_iter_queries_uses_known_uid_types_and_panel_datasource():
    dashboard = {"panels": [
        {"id": 1, "datasource": {"uid": "p1"}, "targets": [{"refId": "A", "expr": "up"}]},
        {"id": 2, "datasource": "legacy-name", "targets": [{"refId": "A", "expr": "{a=\"b\"}"}]},
        {"id": 3, "targets": [{"refId": "A", "expr": "up"}, {"refId": "B", "expr": "  "}]},
        {"id": 4, "datasource": {"type": "elasticsearch", "uid": "es"}, "targets": [{"refId": "A", "query": "x"}]},
    ]}
    found = [(p["id"], t) for p, t, _e in lint.iter_queries(dashboard, {"p1": "prometheus", "legacy-name": "loki"})]
    assert found == [(1, "prometheus"), (2, "loki"), (3, None)]


def test_substitute_variables_gives_parseable_stand_ins():
    dashboard = good_dashboard()
    sub = lint.substitute_variables
    assert sub("rate(x[$__rate_interval])", dashboard) == "rate(x[5m])"
    assert sub("rate(x[${__interval}]) * $__range_s", dashboard) == "rate(x[1m]) * 3600"
    assert sub('x{model=~"$model"}', dashboard) == 'x{model=~"x"}'
    assert sub("increase(x[$window])", dashboard) == "increase(x[15m])"
    assert sub("increase(x[[[window]]])", dashboard) == "increase(x[15m])"
    assert sub("x offset $unknown", dashboard) == "x offset 5m"
    assert sub("sum by ($unknown) (x)", dashboard) == "sum by (lint_var) (x)"
    assert sub("topk($n, x)", dashboard, values={"n": 5}) == "topk(5, x)"
    assert sub("x @ ${__to:date:seconds}", dashboard) == "x @ 1700003600"
    assert sub("rate(x[$__interval])", dashboard, keep_builtins=True) == "rate(x[$__interval])"
    assert sub('label_replace(x, "a", "$1", "b", "(.*)")', dashboard, keep_builtins=True) == (
        'label_replace(x, "a", "$1", "b", "(.*)")')
    assert sub("x[$window]", dashboard, keep_builtins=True) == "x[15m]"


@pytest.mark.parametrize("expr, names", [
    ("sum by (a, b) (rate(x_total{job=\"a\"}[5m])) / on (instance) group_left (c) y offset 5m", ["x_total", "y"]),
    ("histogram_quantile(0.9, sum(rate(h_bucket[5m])) by (le))", ["h_bucket"]),
    ("topk(5, {__name__=\"foo\"})", ["foo"]),
    ("count_values(\"v\", up) > bool 3 and vector(1)", ["up"]),
    ("a[5m:1m] @ start()", ["a"]),
    ("sum without(x)(foo) unless ignoring(y) bar", ["foo", "bar"]),
    ("label_replace(up, \"a\", \"$1\", \"b\", \"(.*)\")", ["up"]),
    ("1 + 2 * Inf", []),
])
def test_metric_names(expr, names):
    assert lint.metric_names(expr) == names


def test_is_error():
    assert lint.is_error({"kind": "uid"})
    assert not lint.is_error({"kind": "lint-skipped"})


# --- every rule, failing ---------------------------------------------------------------


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", "null", "\"a string\""])
def test_invalid_json(text):
    problems = lint.lint_dashboard(text)
    assert kinds(problems) == ["invalid-json"]


def test_not_serialisable_is_invalid_json():
    dashboard = good_dashboard()
    dashboard["time"] = {"from": float("nan")}
    assert kinds(offline(dashboard)) == ["invalid-json"]


@pytest.mark.parametrize("uid, message", [
    (None, "has no uid"),
    ("", "has no uid"),
    ("x" * 41, "41 characters"),
    ("has space", "may only contain"),
    ("dots.not.allowed", "may only contain"),
    (42, "must be a string"),
])
def test_uid_rules(uid, message):
    dashboard = good_dashboard()
    dashboard["uid"] = uid
    problem = find(offline(dashboard), "uid")[0]
    assert message in problem["message"]


def test_uid_of_exactly_40_characters_is_fine():
    dashboard = good_dashboard()
    dashboard["uid"] = "a" * 40
    assert offline(dashboard) == []


@pytest.mark.parametrize("title", [None, "", "   "])
def test_title_must_not_be_empty(title):
    dashboard = good_dashboard()
    dashboard["title"] = title
    assert kinds(offline(dashboard)) == ["title"]


def test_duplicate_panel_ids_across_a_collapsed_row():
    dashboard = good_dashboard()
    dashboard["panels"][3]["panels"][0]["id"] = 2
    problem = find(offline(dashboard), "panel-id")[0]
    assert "also used by panel 2" in problem["message"]


def test_panel_without_id():
    dashboard = good_dashboard()
    del dashboard["panels"][1]["id"]
    assert "no integer id" in find(offline(dashboard), "panel-id")[0]["message"]


@pytest.mark.parametrize("grid, message", [
    (None, "no gridPos"),
    ({"x": 0, "y": 1, "w": 12}, "gridPos.h"),
    ({"x": 20, "y": 1, "w": 8, "h": 4}, "past the 24 columns"),
    ({"x": -1, "y": 1, "w": 8, "h": 4}, "negative"),
    ({"x": 0, "y": 1, "w": 0, "h": 4}, "below 1"),
    ({"x": "0", "y": 1, "w": 8, "h": 4}, "gridPos.x"),
])
def test_grid_pos_rules(grid, message):
    dashboard = good_dashboard()
    if grid is None:
        del dashboard["panels"][2]["gridPos"]
    else:
        dashboard["panels"][2]["gridPos"] = grid
    assert message in find(offline(dashboard), "grid-pos")[0]["message"]


def test_grid_pos_inside_collapsed_row():
    dashboard = good_dashboard()
    dashboard["panels"][3]["panels"][1]["gridPos"]["w"] = 25
    assert find(offline(dashboard), "grid-pos")[0]["panel"] == 'panel 6 "Requests per minute"'


def test_overlapping_panels():
    dashboard = good_dashboard()
    dashboard["panels"][2]["gridPos"]["x"] = 11
    problem = find(offline(dashboard), "grid-overlap")[0]
    assert problem["panel"] == 'panel 3 "Tokens"' and "overlaps panel 2" in problem["message"]


def test_overlapping_panels_inside_a_collapsed_row():
    dashboard = good_dashboard()
    dashboard["panels"][3]["panels"][1]["gridPos"]["y"] = 12
    assert find(offline(dashboard), "grid-overlap")[0]["panel"] == 'panel 6 "Requests per minute"'


def test_touching_panels_do_not_overlap():
    dashboard = good_dashboard()
    dashboard["panels"][2]["gridPos"].update(x=0, y=9, w=24)
    dashboard["panels"][3]["gridPos"]["y"] = 17
    assert offline(dashboard) == []


def test_expanded_row_keeping_panels_inside():
    dashboard = good_dashboard()
    dashboard["panels"][3]["collapsed"] = False
    assert "expanded but keeps 2 panel(s)" in find(offline(dashboard), "row-structure")[0]["message"]


def test_loose_panel_after_a_collapsed_row():
    dashboard = good_dashboard()
    dashboard["panels"].append({"id": 9, "type": "text", "title": "Loose", "gridPos": {"x": 0, "y": 10, "w": 24, "h": 3}})
    problem = find(offline(dashboard), "row-structure")[0]
    assert problem["panel"] == 'panel 9 "Loose"' and "collapsed row" in problem["message"]


def test_panel_listed_under_one_row_but_placed_under_another():
    dashboard = good_dashboard()
    dashboard["panels"][3]["collapsed"] = False
    inner = dashboard["panels"][3].pop("panels")
    dashboard["panels"][3]["panels"] = []
    dashboard["panels"].extend(inner)
    assert offline(dashboard) == []  # the expanded form of the same layout is fine
    dashboard["panels"][4]["gridPos"]["y"] = 2
    dashboard["panels"][4]["gridPos"]["x"] = 0
    dashboard["panels"][1]["gridPos"]["y"] = 30
    problems = find(offline(dashboard), "row-structure")
    assert any("listed under row 4" in p["message"] and "places it under row 1" in p["message"] for p in problems)


def test_rows_out_of_grid_order():
    dashboard = good_dashboard()
    dashboard["panels"][0]["gridPos"]["y"] = 40
    assert any("not listed in the order" in p["message"] for p in find(offline(dashboard), "row-structure"))


def test_nested_row():
    dashboard = good_dashboard()
    dashboard["panels"][3]["panels"].append({"id": 8, "type": "row", "title": "Inner", "gridPos": {"x": 0, "y": 30, "w": 24, "h": 1}})
    assert "rows cannot be nested" in find(offline(dashboard), "row-structure")[0]["message"]


def test_non_row_panel_holding_panels():
    dashboard = good_dashboard()
    dashboard["panels"][1]["panels"] = [{"id": 30}]
    assert "only rows may hold panels" in find(offline(dashboard), "row-structure")[0]["message"]


def test_legacy_rows_layout():
    dashboard = {"uid": "old", "title": "Old", "rows": [{"panels": [{"id": 1}]}]}
    assert "legacy 'rows' layout" in find(offline(dashboard), "row-structure")[0]["message"]


# --- field config: keys Grafana's schema does not have where they stand ------------------


def _with_field_config(field_config, panel_type="timeseries"):
    dashboard = good_dashboard()
    dashboard["panels"][1]["type"] = panel_type
    dashboard["panels"][1]["fieldConfig"] = field_config
    return dashboard


def test_thresholds_style_outside_custom_is_caught():
    """The Cost Anomaly Detection mistake: Grafana reads thresholdsStyle only under custom."""
    found = offline(_with_field_config({"defaults": {"unit": "percent", "thresholdsStyle": {"mode": "line"}}}))
    [item] = find(found, "field-config")
    assert item["panel"] == 'panel 2 "Cost per model"'
    assert "fieldConfig.defaults.thresholdsStyle" in item["message"]
    assert "fieldConfig.defaults.custom.thresholdsStyle" in item["message"]


def test_thresholds_style_under_custom_is_fine():
    custom = {"thresholdsStyle": {"mode": "line"}, "drawStyle": "line", "lineWidth": 2}
    clean = _with_field_config({"defaults": {"unit": "percent", "custom": custom}, "overrides": []})
    assert offline(clean) == []


def test_unknown_defaults_key_on_any_panel_type():
    found = offline(_with_field_config({"defaults": {"unit": "short", "colour": {"mode": "fixed"}}}, "stat"))
    assert "fieldConfig.defaults.colour is not a field-config key" in find(found, "field-config")[0]["message"]


def test_field_config_key_misplaced_under_custom_of_a_timeseries():
    found = offline(_with_field_config({"defaults": {"custom": {"unit": "short"}}}))
    assert "read from fieldConfig.defaults.unit" in find(found, "field-config")[0]["message"]


def test_custom_keys_of_panels_without_a_known_schema_are_not_judged():
    assert offline(_with_field_config({"defaults": {"custom": {"align": "auto", "filterable": True}}}, "table")) == []


@pytest.mark.parametrize("unit, bad", [("suffix: tokens/$", True), ("suffix:tokens/$", False),
                                       ("prefix:$ ", False), ("percent", False)])
def test_suffix_unit_with_a_space(unit, bad):
    found = [p for p in offline(_with_field_config({"defaults": {"unit": unit}})) if p["kind"] == "field-config"]
    assert bool(found) is bad
    if bad:
        assert "two spaces" in found[0]["message"] and "'suffix:tokens/$'" in found[0]["message"]


def test_override_properties():
    field_config = {"defaults": {}, "overrides": [{"matcher": {"id": "byName", "options": "x"}, "properties": [
        {"id": "unit", "value": "suffix: USD"}, {"id": "thresholdsStyle", "value": {"mode": "line"}},
        {"id": "custom.lineWidth", "value": 1}, {"id": "custom.nope", "value": 1}, {"id": "color", "value": {}}]}]}
    messages = [p["message"] for p in find(offline(_with_field_config(field_config)), "field-config")]
    assert len(messages) == 3
    assert any("two spaces" in m for m in messages)
    assert any("'thresholdsStyle'" in m and "'custom.thresholdsStyle'" in m for m in messages)
    assert any("'nope' is not a custom option of timeseries panels" in m for m in messages)


def test_collection_dashboards_have_no_field_config_problems():
    for path in sorted((ROOT / "files" / "dashboards").glob("*.json")):
        found = offline(json.loads(path.read_text(encoding="utf-8")))
        assert [p for p in found if p["kind"] == "field-config"] == [], path.name


def test_unknown_concrete_datasource_uid():
    dashboard = good_dashboard()
    dashboard["panels"][1]["targets"][0]["datasource"] = {"type": "prometheus", "uid": "prom-old"}
    problem = find(offline(dashboard), "datasource")[0]
    assert problem["panel"] == 'panel 2 "Cost per model"' and "'prom-old'" in problem["message"]
    assert offline(dashboard, known_datasource_uids=["prom-old"]) == []
    assert offline(dashboard, known_datasource_uids={"prom-old": "prometheus"}) == []


def test_known_uid_of_the_wrong_type():
    dashboard = good_dashboard()
    dashboard["panels"][1]["datasource"] = {"type": "prometheus", "uid": LOKI_UID}
    problem = find(offline(dashboard, known_datasource_uids={LOKI_UID: "loki"}), "datasource")[0]
    assert "is of type 'loki'" in problem["message"]


def test_undefined_datasource_variable():
    dashboard = good_dashboard()
    dashboard["panels"][2]["datasource"] = {"type": "prometheus", "uid": "${metrics}"}
    assert "${metrics}, which is not a datasource variable" in find(offline(dashboard), "datasource")[0]["message"]


def test_export_placeholder_gets_a_hint():
    dashboard = good_dashboard()
    dashboard["panels"][2]["datasource"] = "${DS_PROMETHEUS}"
    assert "sharing externally" in find(offline(dashboard), "datasource")[0]["message"]


def test_variable_of_the_wrong_type():
    dashboard = good_dashboard()
    dashboard["panels"][2]["datasource"] = {"type": "loki", "uid": "$prometheus"}
    assert "lists 'prometheus' datasources" in find(offline(dashboard), "datasource")[0]["message"]


def test_datasource_variable_without_query():
    dashboard = good_dashboard()
    del dashboard["templating"]["list"][0]["query"]
    assert find(offline(dashboard), "datasource")[0]["panel"] == "variable prometheus"


def test_datasource_refs_of_variables_and_annotations_are_checked():
    dashboard = good_dashboard()
    dashboard["templating"]["list"][2]["datasource"] = {"type": "prometheus", "uid": "gone"}
    dashboard["annotations"] = {"list": [{"name": "Deploys", "datasource": {"type": "loki", "uid": "gone-too"}}]}
    where = sorted(p["panel"] for p in find(offline(dashboard), "datasource"))
    assert where == ["annotation Deploys", "variable model"]


def test_builtin_datasources_are_always_known():
    dashboard = good_dashboard()
    dashboard["annotations"] = {"list": [{"name": "Annotations & Alerts", "builtIn": 1,
                                          "datasource": {"type": "grafana", "uid": "-- Grafana --"}}]}
    dashboard["panels"][1]["datasource"] = {"type": "datasource", "uid": "-- Mixed --"}
    dashboard["panels"][2]["targets"].append({"refId": "C", "datasource": {"type": "__expr__", "uid": "__expr__"},
                                              "type": "math", "expression": "$A * 2"})
    assert offline(dashboard) == []


def test_metric_catalog():
    dashboard = good_dashboard()
    dashboard["panels"][2]["targets"][0]["expr"] = "sum(rate(claude_code_tokens_total[5m]))"
    problem = find(offline(dashboard, metric_catalog=METRIC_CATALOG), "metric-catalog")[0]
    assert problem["panel"] == 'panel 3 "Tokens"' and "'claude_code_tokens_total'" in problem["message"]
    assert offline(dashboard) == []  # no catalog, no check


def test_metric_catalog_allows_suffixes_patterns_and_prometheus_series():
    dashboard = good_dashboard()
    dashboard["panels"][2]["targets"][0]["expr"] = (
        "histogram_quantile(0.9, sum by (le) (rate(claude_code_session_count_total_bucket[5m]))) "
        "+ on() group_left() count(up) + sum(tcc:cost:rate5m)")
    assert offline(dashboard, metric_catalog=METRIC_CATALOG + ["tcc:*"]) == []
    assert kinds(offline(dashboard, metric_catalog=METRIC_CATALOG)) == ["metric-catalog"]


def test_metric_catalog_checks_variable_queries():
    dashboard = good_dashboard()
    dashboard["templating"]["list"][2]["query"]["query"] = "label_values(claude_code_nope_total{job=\"x\"}, model)"
    problem = find(offline(dashboard, metric_catalog=METRIC_CATALOG), "metric-catalog")[0]
    assert problem["panel"] == "variable model"


# --- the external parsers --------------------------------------------------------------


@needs_promtool
@pytest.mark.parametrize("expr", [
    "sum by (model) (rate(claude_code_cost_usage_USD_total[$__rate_interval]))",
    "histogram_quantile(0.95, sum by (le) (rate(x_bucket[$__interval])))",
    "sum(increase(claude_code_token_usage_tokens_total{type=~\"$type\"}[$__range])) / $__range_s",
    "max_over_time(up[1h:5m] offset $window)",
    "topk(5, sum by (model) (claude_code_cost_usage_USD_total))",
])
def test_promtool_accepts_good_promql(expr):
    dashboard = good_dashboard()
    dashboard["panels"][2]["targets"] = [{"refId": "A", "expr": expr}]
    assert errors(lint.lint_dashboard(dashboard, promtool=PROMTOOL)) == []


@needs_promtool
@pytest.mark.parametrize("expr, message", [
    ("sum(rate(x_total[5m]) by (model)", "unexpected <by>"),
    ("rate(x_total)", "expected type range vector"),
    ("sum(x_total{model=\"a\"}", "unclosed left parenthesis"),
    ("topk(lint, x)", "expected type scalar"),
    ("x_total{model=~\"$model\"", "unexpected end of input"),
])
def test_promtool_rejects_bad_promql(expr, message):
    dashboard = good_dashboard()
    dashboard["panels"][2]["targets"] = [{"refId": "A", "expr": expr}]
    problems = errors(lint.lint_dashboard(dashboard, promtool=PROMTOOL))
    assert kinds(problems) == ["promql"], problems
    assert problems[0]["panel"] == 'panel 3 "Tokens"'
    assert message in problems[0]["message"]


@needs_promtool
def test_promtool_reports_each_bad_query_of_many():
    dashboard = good_dashboard()
    dashboard["panels"][1]["targets"][0]["expr"] = "rate(x)"
    dashboard["panels"][2]["targets"][1]["expr"] = "sum(("
    problems = find(lint.lint_dashboard(dashboard, promtool=PROMTOOL), "promql")
    assert sorted(p["panel"] for p in problems) == ['panel 2 "Cost per model"', 'panel 3 "Tokens"']


@needs_logql
@pytest.mark.parametrize("expr", [
    "{service_name=\"claude-code\"} |= \"error\"",
    "sum by (level) (count_over_time({app=\"a\"} | json [$__auto]))",
    "sum(rate({app=\"a\"} | logfmt | unwrap duration_ms [$__interval])) by (model)",
    "{app=\"a\"} | json | level=\"error\" | line_format \"{{.msg}}\"",
])
def test_logql_accepts_good_queries(expr):
    dashboard = good_dashboard()
    dashboard["panels"][3]["panels"][0]["targets"] = [{"refId": "A", "expr": expr}]
    assert errors(lint.lint_dashboard(dashboard, promtool=False, logql_parser=str(LOGQL_SCRIPT))) == []


@needs_logql
@pytest.mark.parametrize("expr", [
    "{app=\"a\" |= \"error\"",
    "rate({app=\"a\"}[5m]",
    "sum by (level) count_over_time({app=\"a\"}[5m])",
    "app=\"a\"",
])
def test_logql_rejects_bad_queries(expr):
    dashboard = good_dashboard()
    dashboard["panels"][3]["panels"][0]["targets"] = [{"refId": "A", "expr": expr}]
    problems = errors(lint.lint_dashboard(dashboard, promtool=False, logql_parser=str(LOGQL_SCRIPT)))
    assert kinds(problems) == ["logql"], problems
    assert problems[0]["panel"] == 'panel 5 "API errors"'


@needs_logql
def test_logql_helper_script_protocol():
    """tests/lint/logql_parse.mjs: a JSON list in, one verdict per query out."""
    out = subprocess.run(["node", str(LOGQL_SCRIPT)], input=json.dumps(["{a=\"b\"}", "{a=", ""]),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=True)
    verdicts = json.loads(out.stdout)
    assert [v["ok"] for v in verdicts] == [True, False, False]
    assert verdicts[2]["errors"][0]["message"] == "empty query"


def test_logql_parser_that_cannot_run_is_a_note(tmp_path):
    problems = lint.lint_dashboard(good_dashboard(), promtool=False,
                                   logql_parser=[str(tmp_path / "no-such-node"), "x.mjs"])
    note = [p for p in problems if "LogQL" in p["message"]]
    assert note and note[0]["kind"] == "lint-skipped" and "could not run" in note[0]["message"]


def test_uses_promtool_from_path(tmp_path, monkeypatch):
    fake = tmp_path / "promtool"
    fake.write_text("#!/bin/sh\necho '  FAILED:'\necho 'x: 1:1: group \"lint\", rule 1, \"lint:q0\": "
                    "could not parse expression: 1:3: parse error: fake'\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    problems = find(lint.lint_dashboard(good_dashboard()), "promql")
    assert problems == [{"panel": 'panel 2 "Cost per model"', "kind": "promql",
                         "message": "1:3: parse error: fake (query: sum by (model) (increase("
                                    "claude_code_cost_usage_USD_total{model=~\"$model\"}[$__range])))"}]


def test_promtool_with_unexpected_output_is_a_note(tmp_path):
    fake = tmp_path / "promtool"
    fake.write_text("#!/bin/sh\necho 'something else went wrong' >&2\nexit 3\n")
    fake.chmod(0o755)
    problems = lint.lint_dashboard(good_dashboard(), promtool=str(fake))
    assert [p["kind"] for p in problems if "PromQL" in p["message"]] == ["lint-skipped"]


def test_datasource_uid_constants():
    assert PROMETHEUS_UID not in lint.BUILTIN_DATASOURCE_UIDS
    assert lint.GRID_COLUMNS == 24 and lint.UID_MAX_LENGTH == 40
