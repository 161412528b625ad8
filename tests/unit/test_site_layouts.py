"""playbooks/site.yml on the example inventories: which hosts each play runs on, and what it
derives from the inventory's groups.

Runs `ansible-playbook playbooks/site.yml --tags site_layout` (the set_fact tasks that derive
targets, plus the roles' argument checks, which Ansible tags `always`) against each inventory of
playbooks/inventories/, every host on a local connection, and reads what was derived from the
json callback. Nothing is installed: the only other tasks that run are the roles' `stat` of their
binary (tagged `always`). The vault_* variables the inventories reference get placeholders.
"""

from __future__ import annotations

import json

import pytest

from example_inventories import run_json  # pylint: disable=import-error


def _run(inventory: str) -> dict:
    proc = run_json("playbooks/site.yml", inventory, "--tags", "site_layout")
    assert proc.returncode == 0, f"site.yml --tags site_layout failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}"
    return json.loads(proc.stdout)


def _layout(result: dict) -> tuple[dict, dict]:
    """(play name -> hosts it ran on, host -> facts set by the site_layout tasks)."""
    plays, facts = {}, {}
    for play in result["plays"]:
        hosts = set()
        for task in play["tasks"]:
            for host, res in task["hosts"].items():
                assert not res.get("failed"), f"{play['play']['name']} / {task['task']['name']} on {host}: {res}"
                hosts.add(host)
                if task["task"]["name"].startswith(("Send metrics", "Move the collector", "Put the inventory",
                                                    "Point ")):
                    facts.setdefault(host, {}).update(res.get("ansible_facts") or {})
        plays[play["play"]["name"]] = hosts
    return plays, facts


@pytest.fixture(scope="module")
def large():
    return _layout(_run("large"))


def test_large_plays_run_on_their_own_groups(large):
    plays, _facts = large
    assert plays["Collectors"] == {f"otel-{i}.example.internal" for i in range(1, 5)}
    assert plays["Gateways"] == {"otel-lb-1.example.internal", "otel-lb-2.example.internal"}
    assert plays["Prometheus"] == {"prom-1.example.internal", "prom-2.example.internal"}
    assert plays["Alertmanager"] == {"am-1.example.internal", "am-2.example.internal"}
    assert plays["Loki"] == {f"loki-write-{i}.example.internal" for i in range(1, 4)} | {
        "loki-read-1.example.internal", "loki-read-2.example.internal", "loki-backend-1.example.internal"}
    assert plays["Grafana"] == {"grafana-1.example.internal"}


def test_large_collectors_write_to_both_prometheus_servers(large):
    _plays, facts = large
    for i in range(1, 5):
        f = facts[f"otel-{i}.example.internal"]
        assert f["otel_collector_remote_write_url"] == "http://prom-1.example.internal:9090/api/v1/write"
        assert f["otel_collector_remote_write_replica_urls"] == ["http://prom-2.example.internal:9090/api/v1/write"]
        # Set in the inventory (a name in front of the write hosts): kept.
        assert f["otel_collector_loki_endpoint"] == "http://loki-write.example.internal:3100/otlp"


def test_large_gateways_spread_over_every_collector(large):
    _plays, facts = large
    for gw in ("otel-lb-1.example.internal", "otel-lb-2.example.internal"):
        backends = facts[gw]["otlp_gateway_backends"]
        assert [b["address"] for b in backends] == [f"otel-{i}.example.internal" for i in range(1, 5)]
        assert {(b["http_port"], b["grpc_port"], b["health_port"]) for b in backends} == {(4318, 4317, 13133)}


def test_large_prometheus_scrapes_every_component(large):
    _plays, facts = large
    for prom in ("prom-1.example.internal", "prom-2.example.internal"):
        f = facts[prom]
        assert f["prometheus_otel_collector_internal_targets"] == [f"otel-{i}.example.internal:8888" for i in range(1, 5)]
        assert f["prometheus_otlp_gateway_targets"] == ["otel-lb-1.example.internal:8405", "otel-lb-2.example.internal:8405"]
        assert f["prometheus_alertmanager_targets"] == ["am-1.example.internal:9093", "am-2.example.internal:9093"]
        assert sorted(f["prometheus_loki_targets"]) == sorted(
            [f"loki-write-{i}.example.internal:3100" for i in range(1, 4)]
            + ["loki-read-1.example.internal:3100", "loki-read-2.example.internal:3100", "loki-backend-1.example.internal:3100"])
        assert f["prometheus_grafana_targets"] == ["grafana-1.example.internal:3000"]


def test_large_grafana_reads_the_query_layer(large):
    _plays, facts = large
    f = facts["grafana-1.example.internal"]
    assert f["grafana_prometheus_url"] == "https://mimir.example.internal/prometheus"
    assert f["grafana_loki_url"] == "http://loki-read.example.internal:3100"


def test_split_layout_is_unchanged():
    plays, facts = _layout(_run("split"))
    for name in ("Alertmanager", "Loki", "Prometheus", "Grafana"):
        assert plays[name] == {"observability.example.internal"}, name
    for c in ("otel-eu.example.internal", "otel-us.example.internal"):
        assert facts[c]["otel_collector_remote_write_url"] == "http://observability.example.internal:9090/api/v1/write"
        assert facts[c]["otel_collector_remote_write_replica_urls"] == []
        assert facts[c]["otel_collector_loki_endpoint"] == "http://observability.example.internal:3100/otlp"
    b = facts["observability.example.internal"]
    assert b["prometheus_otel_collector_internal_targets"] == ["otel-eu.example.internal:8888", "otel-us.example.internal:8888"]
    assert b["prometheus_alertmanager_targets"] == ["127.0.0.1:9093"]
    assert b["prometheus_loki_targets"] == ["127.0.0.1:3100"]
    assert b["prometheus_grafana_targets"] == ["127.0.0.1:3000"]
    # Grafana beside Prometheus and Loki: the role's loopback defaults stay.
    assert b["grafana_prometheus_url"] == "http://127.0.0.1:9090"
    assert b["grafana_loki_url"] == "http://127.0.0.1:3100"


def test_single_layout_stays_on_loopback():
    plays, facts = _layout(_run("single"))
    host = "observability.example.internal"
    assert all(hosts == {host} for hosts in plays.values() if hosts), plays
    f = facts[host]
    assert f["otel_collector_remote_write_url"] == "http://127.0.0.1:9090/api/v1/write"
    assert f["otel_collector_loki_endpoint"] == "http://127.0.0.1:3100/otlp"
    assert (f["otel_collector_otlp_http_port"], f["otel_collector_otlp_grpc_port"]) == (14318, 14317)
    assert f["prometheus_otel_collector_internal_targets"] == ["127.0.0.1:8888"]
    assert f["prometheus_otlp_gateway_targets"] == ["127.0.0.1:8405"]
