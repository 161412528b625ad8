"""playbooks/doctor.yml on the example inventories: which host checks what.

Runs the doctor against the large and the single inventory of playbooks/inventories/, every host on a local
connection (so nothing of the stack answers: every check reports a problem, and the doctor fails
at its end, as it must), and reads from the json callback which components each host checked and
where the dashboards' queries would go. The dashboards are the collection's own files
(grafana_dashboards_dir), so the Grafana host lists their queries through the real dashboard
lint and asks the Prometheus its data source reads. What each check concludes on a running stack
is tested by tests/unit/test_doctor_queries.py and by running the doctor (tests/harness.sh doctor).
"""

from __future__ import annotations

import json

import pytest

from example_inventories import ROOT, run_json  # pylint: disable=import-error


def _run(inventory: str) -> tuple[dict, list[str]]:
    """(host -> findings, the report's lines)."""
    proc = run_json("playbooks/doctor.yml", inventory, grafana_dashboards_dir=str(ROOT / "files" / "dashboards"))
    result = json.loads(proc.stdout)
    findings, report = {}, []
    for play in result["plays"]:
        for task in play["tasks"]:
            for host, res in task["hosts"].items():
                for item in [res] + res.get("results", []):
                    facts = item.get("ansible_facts") or {}
                    if "_doctor_results" in facts:
                        findings[host] = facts["_doctor_results"]
                if task["task"]["name"] == "Say what the doctor found":
                    report = res["msg"]
                if task["task"]["name"] == "Fail when something is wrong":
                    assert res.get("failed"), "the doctor passed with nothing running"
                elif res.get("failed"):
                    pytest.fail(f"{play['play']['name']} / {task['task']['name']} on {host} failed: {res.get('msg')}")
    return findings, report


def _components(findings: list[dict]) -> set[str]:
    return {f["component"] for f in findings}


def _what(findings: list[dict], component: str) -> str:
    return " | ".join(f["what"] for f in findings if f["component"] == component)


@pytest.fixture(scope="module")
def large():
    return _run("large")


def test_large_each_host_checks_only_what_it_runs(large):
    findings, _report = large
    for i in range(1, 5):
        assert _components(findings[f"otel-{i}.example.internal"]) == {"collector"}
    for i in (1, 2):
        assert _components(findings[f"otel-lb-{i}.example.internal"]) == {"gateway"}
        assert _components(findings[f"prom-{i}.example.internal"]) == {"prometheus"}
        assert _components(findings[f"am-{i}.example.internal"]) == {"alertmanager"}
    for host in [f"loki-write-{i}" for i in (1, 2, 3)] + ["loki-read-1", "loki-read-2", "loki-backend-1"]:
        assert _components(findings[f"{host}.example.internal"]) == {"loki"}
    assert _components(findings["grafana-1.example.internal"]) == {"grafana", "dashboards"}


def test_large_dashboards_are_asked_where_grafana_reads(large):
    findings, _report = large
    what = _what(findings["grafana-1.example.internal"], "dashboards")
    # Mimir's Prometheus API (grafana_prometheus_url of the inventory), not a Prometheus host.
    assert "does not answer at https://mimir.example.internal/prometheus (" in what
    assert "127.0.0.1" not in what


def test_large_report_names_every_host(large):
    _findings, report = large
    text = "\n".join(report)
    for host in ("otel-lb-1", "prom-2", "am-2", "loki-backend-1", "grafana-1", "dev-laptop-01"):
        assert f"{host}.example.internal" in text


def test_single_host_checks_everything_on_loopback():
    findings, _report = _run("single")
    (host,) = [h for h, f in findings.items() if "prometheus" in _components(f)]
    assert _components(findings[host]) == {"collector", "prometheus", "alertmanager", "loki", "grafana", "dashboards"}
    assert "does not answer at http://127.0.0.1:9090 (" in _what(findings[host], "dashboards")
