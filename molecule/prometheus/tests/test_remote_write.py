"""Remote write to a real VictoriaMetrics (Debian 14's victoria-metrics package, prepare.yml).

The Debian 14 host's Prometheus has prometheus_remote_write (molecule.yml): VictoriaMetrics on
127.0.0.1:8428 with basic authentication from a password file, and a write_relabel_configs rule
that keeps the go_* series at home. The tests read both sides at one instant a minute old
(VictoriaMetrics hides the last 30 s by default, -search.latencyOffset) and print the figures.
The other hosts have no remote write: their tests are skipped.
"""

import json
import math
import time

import pytest
import yaml

PROM = "http://127.0.0.1:9090"
VM = "http://127.0.0.1:8428"
VM_AUTH = "tcc-prometheus:tcc-remote-write-test-password"  # prepare.yml

# PromQL of the collection's dashboards and rules that return data in this scenario (no
# collector, no Claude Code metrics: the stack's own series and the recording rules' results).
# source -> expression, Grafana's $__rate_interval as 5m.
COMPARED = {
    "stack-health: targets up": 'up{job=~"prometheus|alertmanager|otel-collector|claude_code|loki|grafana"}',
    "stack-health: head series": 'sum(prometheus_tsdb_head_series{job="prometheus"})',
    "stack-health: rule failures": (
        'sum by (rule_group) (rate(prometheus_rule_evaluation_failures_total{job="prometheus"}[5m]))'
        ' or (sum by (rule_group) (rate(prometheus_rule_evaluations_total{job="prometheus"}[5m])) * 0)'),
    "stack-health: retention limit": 'prometheus_tsdb_retention_limit_bytes{job="prometheus"}',
    "rules: hourly spend record": "claude_code:cost_usage_USD:sum_accrued1h",
    "rules: thresholds": '{__name__=~"claude_code:alert_threshold:.+"}',
    "rules: expected scrape jobs": "claude_code:stack_scrape_job:expected",
    "alerts: hourly spend vs threshold": (
        "claude_code:cost_usage_USD:sum_accrued1h > bool scalar(claude_code:alert_threshold:hourly_spend_usd)"),
    "build info": "prometheus_build_info",
}


def _forky_only(host):
    if not host.backend.get_hostname().endswith("-forky"):
        pytest.skip("remote write is configured on the Debian 14 host only")


def _get(host, base, path, auth=True, **params):
    args = " ".join(f"--data-urlencode {json.dumps(f'{k}={v}')}" for k, v in params.items())
    user = f"-u {VM_AUTH} " if auth and base == VM else ""
    out = host.check_output(f"curl -fsS {user}--get {args} {base}{path}")
    body = json.loads(out)
    assert body["status"] == "success", body
    return body["data"]


def _query(host, base, expr, at):
    return _get(host, base, "/api/v1/query", query=expr, time=at)["result"]


def _by_labels(result):
    return {json.dumps(r["metric"], sort_keys=True): float(r["value"][1]) for r in result}


def _same(a, b):
    """Equal, both NaN, or equal to 12 significant digits (VictoriaMetrics stores a float as a
    decimal mantissa and exponent, which can round the last digits of a float64)."""
    return a == b or (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12)


def _differ(prom, vm):
    return sorted(k for k in set(prom) & set(vm) if not _same(prom[k], vm[k]))


# How long Prometheus must have run before the comparisons: the instant they read is a minute
# old, and by then every recording rule group has been evaluated and every rate() window holds
# samples on both sides (in CI, right after converge, the instant came before the first
# evaluation of the rules and the comparisons had nothing to compare).
WARM_UP_S = 180


def _instant(host):
    """An instant a minute old, on a 15 s step (the scrape and evaluation interval), once
    Prometheus has run for WARM_UP_S."""
    # Prometheus 3.5.3 of Debian 14 has no process_start_time_seconds: systemd's monotonic
    # start time of the unit against the (same) monotonic clock of /proc/uptime.
    started_us = int(host.check_output("systemctl show prometheus -P ActiveEnterTimestampMonotonic"))
    running = float(host.check_output("cut -d' ' -f1 /proc/uptime")) - started_us / 1e6
    if running < WARM_UP_S:
        time.sleep(WARM_UP_S - running)
    now = float(_get(host, PROM, "/api/v1/query", query="time()")["result"][1])
    return int(now - 60) // 15 * 15


def test_victoria_metrics_is_the_real_package_on_loopback(host):
    _forky_only(host)
    pkg = host.package("victoria-metrics")
    assert pkg.is_installed
    assert host.service("victoria-metrics").is_running
    addresses = [line.split()[3] for line in host.check_output("ss -Htln 'sport = :8428'").splitlines()]
    print(f"\nvictoria-metrics {pkg.version} (Debian 14 package) listening on {addresses}")
    assert addresses == ["127.0.0.1:8428"], addresses
    # Its basic authentication is on: without the password it answers 401.
    code = host.check_output(f"curl -s -o /dev/null -w '%{{http_code}}' {VM}/api/v1/query?query=up")
    assert code == "401", code


def test_remote_write_is_rendered_and_running(host):
    _forky_only(host)
    config = host.file("/etc/prometheus/prometheus.yml")
    assert config.mode == 0o640 and config.user == "root" and config.group == "prometheus"
    remote = yaml.safe_load(config.content_string)["remote_write"]
    assert remote == [{
        "url": f"{VM}/api/v1/write",
        "name": "victoria-metrics",
        "remote_timeout": "10s",
        "basic_auth": {"username": "tcc-prometheus", "password_file": "/etc/tcc-remote-write.password"},
        "queue_config": {"batch_send_deadline": "2s", "max_shards": 2},
        "write_relabel_configs": [{"source_labels": ["__name__"], "regex": "go_.*", "action": "drop"}],
    }], remote
    running = yaml.safe_load(_get(host, PROM, "/api/v1/status/config")["yaml"])["remote_write"]
    assert running[0]["name"] == "victoria-metrics" and running[0]["url"] == f"{VM}/api/v1/write", running


def test_samples_are_sent_without_failures(host):
    """Prometheus's own remote-storage counters for the queue named victoria-metrics."""
    _forky_only(host)

    def sent():
        result = _query(host, PROM, 'prometheus_remote_storage_samples_total{remote_name="victoria-metrics"}', time.time())
        return float(result[0]["value"][1]) if result and float(result[0]["value"][1]) > 0 else None
    deadline = time.time() + 90
    while (total := sent()) is None and time.time() < deadline:
        time.sleep(3)
    assert total, "Prometheus has sent no sample to VictoriaMetrics"
    now = time.time()
    failed = _query(host, PROM, 'prometheus_remote_storage_samples_failed_total{remote_name="victoria-metrics"}', now)
    dropped = _query(host, PROM, 'prometheus_remote_storage_samples_dropped_total{remote_name="victoria-metrics"}', now)
    pending = _query(host, PROM, 'prometheus_remote_storage_samples_pending{remote_name="victoria-metrics"}', now)
    failed_n = sum(float(r["value"][1]) for r in failed)
    print(f"\nremote write victoria-metrics: {total:.0f} samples sent, {failed_n:.0f} failed, "
          f"dropped {[r['value'][1] for r in dropped]}, pending {[r['value'][1] for r in pending]}")
    assert failed_n == 0


def test_the_series_arrive_in_victoria_metrics(host):
    """Every series Prometheus has at one instant is in VictoriaMetrics, with the same value, but
    the go_* ones (dropped by write_relabel_configs) and those whose value is NaN (measured:
    VictoriaMetrics answers without them; here the quantiles of summaries with no observation)."""
    _forky_only(host)
    at = _instant(host)
    prom = _by_labels(_query(host, PROM, '{__name__=~".+"}', at))
    vm = _by_labels(_query(host, VM, '{__name__=~".+"}', at))
    go_prom = [k for k in prom if json.loads(k)["__name__"].startswith("go_")]
    nan_prom = [k for k in prom if math.isnan(prom[k]) and k not in go_prom]
    expected = {k: v for k, v in prom.items() if k not in go_prom and k not in nan_prom}
    missing = sorted(set(expected) - set(vm))
    extra = sorted(set(vm) - set(expected))
    differ = _differ(expected, vm)
    inexact = [k for k in set(expected) & set(vm) if expected[k] != vm[k] and k not in differ]
    print(f"\nat {at}: Prometheus {len(prom)} series ({len(go_prom)} go_*, {len(nan_prom)} NaN), "
          f"VictoriaMetrics {len(vm)} series; "
          f"missing in VictoriaMetrics {len(missing)}, extra {len(extra)}, values differing {len(differ)}, "
          f"equal to 12 digits but not bit for bit {len(inexact)}")
    for key in (missing + extra + differ)[:20] + sorted(inexact)[:3] + sorted(nan_prom)[:3]:
        print(f"  {key}: prometheus {prom.get(key)!r} victoria-metrics {vm.get(key)!r}")
    assert not [k for k in nan_prom if k in vm], "VictoriaMetrics has NaN series now: update the docstring and README"
    assert go_prom, "Prometheus has no go_* series to drop"
    assert not [k for k in vm if json.loads(k)["__name__"].startswith("go_")], "write_relabel_configs did not drop go_*"
    for name in ("up", "prometheus_build_info", "claude_code:cost_usage_USD:sum_accrued1h",
                 "claude_code:alert_threshold:daily_cost_usd"):
        assert [k for k in vm if json.loads(k)["__name__"] == name], f"{name} is not in VictoriaMetrics"
    assert not missing and not extra and not differ


@pytest.mark.parametrize("source", sorted(COMPARED))
def test_dashboard_and_rule_queries_agree(host, source):
    """The same PromQL against Prometheus and VictoriaMetrics (MetricsQL) at one instant."""
    _forky_only(host)
    expr = COMPARED[source]
    at = _instant(host)
    prom = _by_labels(_query(host, PROM, expr, at))
    vm = _by_labels(_query(host, VM, expr, at))
    print(f"\n{source}: {expr}\n  at {at}: Prometheus {len(prom)} series {sorted(prom.values())[:6]}, "
          f"VictoriaMetrics {len(vm)} series {sorted(vm.values())[:6]}")
    assert prom, f"{expr} returns nothing from Prometheus here: not a useful comparison"
    assert set(prom) == set(vm) and not _differ(prom, vm), {"prometheus": prom, "victoria-metrics": vm}


# rate() and increase() over a growing counter: MetricsQL computes them without Prometheus's
# extrapolation to the window's edges (and from the sample before the window), so the values
# differ a little; the series are the same. Measured and printed, the series compared.
RATES = {
    "rate": 'rate(prometheus_tsdb_head_samples_appended_total{job="prometheus"}[5m])',
    "increase": 'increase(prometheus_tsdb_head_samples_appended_total{job="prometheus"}[5m])',
}


@pytest.mark.parametrize("name", sorted(RATES))
def test_rate_and_increase_differ_only_in_extrapolation(host, name):
    _forky_only(host)
    expr = RATES[name]
    at = _instant(host)
    prom = _by_labels(_query(host, PROM, expr, at))
    vm = _by_labels(_query(host, VM, expr, at))
    assert prom and set(prom) == set(vm), {"prometheus": prom, "victoria-metrics": vm}
    for key in sorted(prom):
        diff = (vm[key] - prom[key]) / prom[key] if prom[key] else 0.0
        print(f"\n{expr} at {at}: Prometheus {prom[key]:.4f}, VictoriaMetrics {vm[key]:.4f} ({diff:+.2%}) {key}")
