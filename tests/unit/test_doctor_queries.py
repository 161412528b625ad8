"""playbooks/files/doctor_queries.py: the dashboards' queries the doctor runs, and how it reads the answers.

`list` is checked on the collection's real dashboards through the real dashboard lint: every
Prometheus and Loki target becomes one query, with no Grafana variable left in it, and with the
dashboard's own time range. `summarise` is checked on answers as Prometheus gives them: which
empty panels are problems (a component's series missing, no Claude Code data at all, a failing
query) and which are only notes (nothing of that kind happened; too few samples for a rate).
"""

from __future__ import annotations

import importlib.util
import json
import pathlib
import re
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "plugins" / "module_utils"))
import dashboard_lint  # noqa: E402  pylint: disable=wrong-import-position,import-error

_SPEC = importlib.util.spec_from_file_location("tcc_doctor_queries", ROOT / "playbooks" / "files" / "doctor_queries.py")
doctor = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(doctor)

DASHBOARDS = sorted((ROOT / "files" / "dashboards").glob("*.json"))


@pytest.fixture(scope="module")
def queries():
    return doctor.list_queries([json.loads(p.read_text(encoding="utf-8")) for p in DASHBOARDS], dashboard_lint)


def test_every_target_is_listed_once(queries):
    expected = 0
    for path in DASHBOARDS:
        dash = json.loads(path.read_text(encoding="utf-8"))
        expected += sum(1 for _p, kind, _e in dashboard_lint.iter_queries(dash, {"prometheus": "prometheus", "loki": "loki"})
                        if kind in ("prometheus", "loki"))
    assert len(queries) == expected > 0
    assert {q["type"] for q in queries} == {"prometheus", "loki"}


def test_no_grafana_variable_is_left(queries):
    for query in queries:
        assert not re.search(r"\$\{?[A-Za-z_]|\[\[", query["expr"]), query


def test_the_dashboards_time_range_is_used(queries):
    main = [q for q in queries if q["dashboard"] == "Claude Code"]
    assert {q["range_s"] for q in main} == {86400}  # now-24h
    assert any("[1d]" in q["expr"] for q in main)
    overview = [q for q in queries if q["dashboard"] == "Claude Code / Overview"]
    assert {q["range_s"] for q in overview} == {7 * 86400}


def test_grafanas_intervals():
    step, values = doctor.panel_values(86400)
    assert step == 75 and values["__interval"] == "75s" and values["__rate_interval"] == "90s"
    step, values = doctor.panel_values(6 * 3600)
    assert step == 15 and values["__rate_interval"] == "1m"
    assert doctor.seconds("now-7d") == 7 * 86400 and doctor.seconds("bogus") is None


def _result(dashboard, panel, metrics, ok=False, error=None, kind="prometheus", expr="x"):
    return {"dashboard": dashboard, "panel": panel, "ref": "A", "type": kind, "instant": True, "range_s": 3600,
            "step": 15, "expr": expr, "metrics": metrics, "ok": ok, "error": error}


def _summarise(results, monkeypatch, absent=(), unlabelled=()):
    monkeypatch.setattr(doctor, "present",
                        lambda metric, *_, label=None: metric not in absent and label not in unlabelled)
    return doctor.summarise(results, "http://prometheus.invalid", 0)


def test_a_missing_component_is_a_problem_named_once(monkeypatch):
    results = [
        _result("Stack", "panel 1", ["loki_distributor_lines_received_total"]),
        _result("Stack", "panel 2", ["loki_discarded_samples_total"]),
        _result("Main", "panel 3", ["claude_code_cost_usage_USD_total"], ok=True),
    ]
    out = _summarise(results, monkeypatch, absent={"loki_distributor_lines_received_total", "loki_discarded_samples_total"})
    assert len(out["problems"]) == 1 and "Loki's own metrics: 2 panels" in out["problems"][0]["what"]
    assert out["notes"] == []
    assert out["with_data"] == 1


def test_one_kind_of_claude_code_series_missing_is_a_note(monkeypatch):
    results = [
        _result("Main", "panel 1", ["claude_code_pull_request_count_total"]),
        _result("Main", "panel 2", ["claude_code_cost_usage_USD_total"], ok=True),
    ]
    out = _summarise(results, monkeypatch, absent={"claude_code_pull_request_count_total"})
    assert out["problems"] == []
    assert "nothing of that kind happened" in out["notes"][0]["what"]


def test_no_claude_code_data_at_all_is_a_problem(monkeypatch):
    results = [_result("Main", "panel 1", ["claude_code_cost_usage_USD_total"])]
    out = _summarise(results, monkeypatch, absent={"claude_code_cost_usage_USD_total"})
    assert "no Claude Code data reached Prometheus" in out["problems"][0]["what"]


def test_series_present_but_no_data_is_the_rate_note(monkeypatch):
    out = _summarise([_result("Main", "panel 1", ["claude_code_cost_usage_USD_total"])] +
                     [_result("Main", "panel 2", ["claude_code_cost_usage_USD_total"], ok=True)], monkeypatch)
    assert out["problems"] == [] and "fewer than two samples" in out["notes"][0]["fix"]


def test_series_without_an_opt_in_label_name_the_opt_in(monkeypatch):
    # The Repositories dashboard of a stack whose clients do not send the repository.
    expr = 'sum by (vcs_repository_name)(claude_code_cost_usage_USD_total{vcs_repository_name!=""})'
    results = [_result("Repositories", "Cost by Repository", ["claude_code_cost_usage_USD_total"], expr=expr),
               _result("Repositories", "Cost by Project", ["claude_code_cost_usage_USD_total"],
                       expr='sum by (project)(claude_code_cost_usage_USD_total{project!=""})'),
               _result("Main", "panel 2", ["claude_code_cost_usage_USD_total"], ok=True)]
    out = _summarise(results, monkeypatch, unlabelled={"vcs_repository_name", "project"})
    assert out["problems"] == []
    notes = {n["what"].split(":")[0]: n for n in out["notes"]}
    assert "otel_collector_keep_repository" in notes["no Claude Code series carries the repository (vcs_repository_name)"]["fix"]
    assert "otel_collector_repository_projects" in notes["no Claude Code series carries a project"]["fix"]
    assert not any("fewer than two samples" in n["fix"] for n in out["notes"])
    # With the label there, the query's emptiness is the rate note again.
    out = _summarise(results[:1], monkeypatch)
    assert "fewer than two samples" in out["notes"][0]["fix"]


def test_a_failing_query_is_a_problem(monkeypatch):
    out = _summarise([_result("Main", "panel 1", [], error="HTTP 400: parse error")], monkeypatch)
    assert "the query fails: HTTP 400: parse error" in out["problems"][0]["what"]


def test_an_absent_failure_counter_is_not_a_cause(monkeypatch):
    # send_failed_* exist only once something failed: their absence alone explains nothing.
    metrics = ["otelcol_exporter_send_failed_metric_points", "claude_code_cost_usage_USD_total"]
    results = [_result("Stack", "panel 9", metrics),
               _result("Main", "panel 2", ["claude_code_cost_usage_USD_total"], ok=True)]
    out = _summarise(results, monkeypatch, absent={"otelcol_exporter_send_failed_metric_points"})
    assert out["problems"] == []


def test_loki_panels_are_problems_only_when_loki_has_nothing(monkeypatch):
    empty = _result("Deep Dive", "panel 1", [], kind="loki")
    assert _summarise([empty], monkeypatch)["problems"]
    out = _summarise([empty, _result("Deep Dive", "panel 2", [], ok=True, kind="loki")], monkeypatch)
    assert out["problems"] == [] and out["notes"]
