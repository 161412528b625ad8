"""The large layout, converged for real on five hosts (molecule/large/molecule.yml).

Real Claude Code sessions, the oldest and the newest supported release, send cumulative totals
(what the claude_code_client role sets) to the gateway from the controller; the gateway spreads
their exports over both collectors, and each collector writes to both Prometheus servers. Then:

  totals     on EACH Prometheus of the HA pair, the dashboards' accrual equals every session's
             total_cost_usd and modelUsage (within 0.1 %), and both collectors took part
  alerting   both Alertmanagers form one cluster, and each Prometheus sends to both
  scraping   each Prometheus scrapes every component of every host; only Grafana's and Loki's
             targets are down, because their binaries cannot be had here
  layout     Grafana reads the first Prometheus; every host runs only its own components
  doctor     playbooks/doctor.yml against this inventory checks each host for what it runs, and
             finds no problem but Grafana and Loki not installed (and their targets down)

Grafana and Loki are converged WITHOUT their binaries (none can be had on the test machines):
their configuration, units and provisioning are in place, nothing of them runs or is tested.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))
# pylint: disable=wrong-import-position,import-error
from tcc_sessions import ROOT, claude_bins, container_ip, run_session, session_env, start_messages_api  # noqa: E402

sys.path.insert(0, str(ROOT / "plugins" / "module_utils"))
import pricing  # noqa: E402

GATEWAY = "tcc-large-gw"
COLLECTORS = ("tcc-large-otel-1", "tcc-large-otel-2")
PROMETHEUS = ("tcc-large-prom-1", "tcc-large-prom-2")
WINDOW = "3h"
TOKEN_TYPES = {"inputTokens": "input", "outputTokens": "output", "cacheReadInputTokens": "cacheRead",
               "cacheCreationInputTokens": "cacheCreation"}


def _get(url: str, timeout: float = 15.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:  # nosec: the test containers
        return json.loads(response.read().decode("utf-8"))


def prom(host: str, promql: str) -> list:
    out = _get(f"http://{container_ip(host)}:9090/api/v1/query?query={urllib.parse.quote(promql)}")
    assert out["status"] == "success", out
    return out["data"]["result"]


def value(host: str, promql: str) -> float | None:
    result = prom(host, promql)
    return float(result[0]["value"][1]) if result else None


def wait_close(host: str, promql: str, expected: float, timeout: float = 120.0) -> float | None:
    deadline, got = time.time() + timeout, None
    while time.time() < deadline:
        got = value(host, promql)
        if got is not None and abs(got - expected) <= 0.001 * abs(expected):
            return got
        time.sleep(3)
    return got


@pytest.fixture(scope="module")
def sessions():
    """{session id: Claude Code's JSON result}, one session per supported release, through the gateway."""
    api, port = start_messages_api()
    results = {}
    try:
        for version in claude_bins():
            env = session_env(f"http://{container_ip(GATEWAY)}:4318", port, version,
                              OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE="cumulative")
            result = run_session(env)
            results[result["session_id"]] = result
            print(f"Claude Code {version}: session {result['session_id']} total_cost_usd={result['total_cost_usd']} "
                  f"modelUsage={json.dumps(result['modelUsage'])}")
    finally:
        api.terminate()
        api.wait()
    assert len(results) == len(claude_bins()) >= 2
    return results


@pytest.mark.parametrize("server", PROMETHEUS)
def test_every_session_total_is_exact_on_each_prometheus(sessions, server):  # pylint: disable=redefined-outer-name
    for session_id, result in sessions.items():
        selector = f'claude_code_cost_usage_USD_total{{session_id="{session_id}"}}'
        got = wait_close(server, f"sum({pricing.accrued(selector, WINDOW)})", result["total_cost_usd"])
        print(f"{server} {session_id}: cost {got} (Claude Code: {result['total_cost_usd']})")
        assert got is not None and abs(got - result["total_cost_usd"]) <= 0.001 * result["total_cost_usd"]
        for model, usage in result["modelUsage"].items():
            for key, kind in TOKEN_TYPES.items():
                expected = float(usage.get(key, 0))
                if not expected:
                    continue
                selector = f'claude_code_token_usage_tokens_total{{session_id="{session_id}",model="{model}",type="{kind}"}}'
                got = wait_close(server, f"sum({pricing.accrued(selector, WINDOW)})", expected)
                assert got is not None and abs(got - expected) <= 0.001 * expected, (server, model, kind, got, expected)


def test_both_collectors_took_part(sessions):  # pylint: disable=redefined-outer-name,unused-argument
    # Metric points and events: a scripted session makes few requests (its metrics mostly in one
    # export at exit), and round robin spreads requests, not signals, over the collectors.
    query = ('sum by (instance) ({__name__=~"otelcol_receiver_accepted_(metric_points|log_records)",'
             'job="otel-collector"})')
    for server in PROMETHEUS:
        deadline = time.time() + 60
        while True:
            per_instance = {r["metric"]["instance"]: float(r["value"][1]) for r in prom(server, query)}
            if len(per_instance) == 2 and all(v > 0 for v in per_instance.values()) or time.time() > deadline:
                break
            time.sleep(3)
        print(f"{server}: metric points and events accepted per collector: {per_instance}")
        assert len(per_instance) == 2 and all(v > 0 for v in per_instance.values()), per_instance


def test_the_pair_is_labelled_for_deduplication(sessions):  # pylint: disable=redefined-outer-name,unused-argument
    for server in PROMETHEUS:
        config = _get(f"http://{container_ip(server)}:9090/api/v1/status/config")["data"]["yaml"]
        assert "cluster: claude-code" in config and f"__replica__: {server}" in config, config[:800]


def test_alertmanagers_form_one_cluster():
    for server in PROMETHEUS:
        status = _get(f"http://{container_ip(server)}:9093/api/v2/status")
        peers = sorted(p["name"] for p in status["cluster"]["peers"])
        print(f"{server}: cluster {status['cluster']['status']}, {len(peers)} peers")
        assert status["cluster"]["status"] == "ready" and len(peers) == 2, status["cluster"]


def test_each_prometheus_sends_alerts_to_both_alertmanagers():
    for server in PROMETHEUS:
        active = _get(f"http://{container_ip(server)}:9090/api/v1/alertmanagers")["data"]["activeAlertmanagers"]
        hosts = sorted(urllib.parse.urlsplit(a["url"]).hostname for a in active)
        assert hosts == ["127.0.0.1", PROMETHEUS[1] if server == PROMETHEUS[0] else PROMETHEUS[0]], hosts


def test_each_prometheus_scrapes_every_component():
    for server in PROMETHEUS:
        targets = _get(f"http://{container_ip(server)}:9090/api/v1/targets?state=active")["data"]["activeTargets"]
        by_job = {}
        for target in targets:
            by_job.setdefault(target["labels"]["job"], []).append((target["labels"]["instance"], target["health"]))
        print(f"{server}: {json.dumps(by_job, sort_keys=True)}")
        down = {job for job, items in by_job.items() for _i, health in items if health != "up"}
        # Grafana and Loki cannot run here (no binary): their targets are the only ones down.
        assert down <= {"grafana", "loki"}, by_job
        assert len(by_job.get("alertmanager", [])) == 2
        assert len(by_job.get("otel-collector", [])) == 2
        assert len(by_job.get("otlp-gateway", [])) == 1
        # Prometheus writes the sessions' series once per member, each from both collectors.


def test_grafana_reads_the_first_prometheus():
    datasources = subprocess.run(
        ["docker", "exec", GATEWAY, "cat", "/etc/grafana/provisioning/datasources/telemetry.yml"],
        capture_output=True, text=True, check=True).stdout
    assert f"url: http://{PROMETHEUS[0]}:9090" in datasources, datasources


def test_each_host_runs_only_its_components(host):
    name = host.backend.get_hostname()
    expected = {
        GATEWAY: {"otlp-gateway"},
        COLLECTORS[0]: {"otelcol"}, COLLECTORS[1]: {"otelcol"},
        PROMETHEUS[0]: {"prometheus", "alertmanager"}, PROMETHEUS[1]: {"prometheus", "alertmanager"},
    }[name]
    running = {unit for unit in ("otlp-gateway", "otelcol", "prometheus", "alertmanager")
               if host.service(unit).is_running}
    assert running == expected, (name, running)


def test_the_doctor_checks_each_host_for_what_it_runs(sessions):  # pylint: disable=redefined-outer-name,unused-argument
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    report = pathlib.Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp")) / "doctor-report.txt"
    proc = subprocess.run(
        ["ansible-playbook", "-i", inventory, str(ROOT / "playbooks" / "doctor.yml")],
        env=dict(os.environ, TCC_DOCTOR_REPORT=str(report), ANSIBLE_NOCOLOR="1"),
        capture_output=True, text=True, check=False, timeout=600, cwd=ROOT,
    )
    text = report.read_text(encoding="utf-8") if report.exists() else ""
    print(text or proc.stdout[-6000:])
    assert text, proc.stdout[-4000:] + proc.stderr[-2000:]
    problems = [line for line in text.splitlines() if line.startswith("PROBLEM")]
    # What cannot run here, and only that.
    allowed = ("grafana.service is", "loki.service is", "scrape targets:", "events for Loki:", "PROBLEM  dashboards")
    unexpected = [line for line in problems if not any(a in line for a in allowed)]
    assert not unexpected, "\n".join(unexpected)
    for line in problems:
        if "scrape targets:" in line:
            assert "DOWN: grafana" in line or "DOWN: loki" in line, line
    for name in (GATEWAY, *COLLECTORS, *PROMETHEUS):
        assert name in text
    assert "ok       gateway      collectors behind it (proxy/server)" in text
