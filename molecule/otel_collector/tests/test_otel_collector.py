"""The collector is really running on every host of the scenario, and does what the role promises.

Traffic goes to the host's own loopback only. OTLP requests carry the scenario's bearer token
over TLS (a self-signed certificate made by prepare.yml). Metrics are pushed to a real
Prometheus (Debian's package, remote-write receiver on, 127.0.0.1:9090); Loki is played by
loki-standin.service, a recording HTTP server on 127.0.0.1:3100 (tests/claude/otlp_capture.py --raw).
"""

from __future__ import annotations

import base64
import hashlib
import json
import pathlib
import re
import shlex
import urllib.parse
import sys
import time
import uuid

import pytest
import yaml
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))
import tcc_checks  # noqa: E402  pylint: disable=wrong-import-position,import-error

VARS = yaml.safe_load((pathlib.Path(__file__).resolve().parents[1] / "vars" / "scenario.yml").read_text(encoding="utf-8"))
TOKEN = VARS["otel_collector_bearer_token"]
CA = VARS["otel_collector_tls_cert_file"]
OTLP = "https://127.0.0.1:4318"
EMAIL = "dev@example.com"
EMAIL_SHA256 = hashlib.sha256(EMAIL.encode()).hexdigest()
RECORD = "/var/lib/loki-standin/requests.jsonl"
PROM = "http://127.0.0.1:9090"


def post(host, path, body, token=TOKEN, base=OTLP):
    """POST an OTLP/HTTP JSON body; returns (HTTP status, response body)."""
    auth = f"-H {shlex.quote('Authorization: Bearer ' + token)}" if token is not None else ""
    cmd = host.run(
        f"curl -sS --cacert {CA} -o /tmp/otlp-response -w '%{{http_code}}' -H 'Content-Type: application/json' "
        f"{auth} --data-binary {shlex.quote(json.dumps(body))} {base}{path}; echo; cat /tmp/otlp-response"
    )
    status, answer = (cmd.stdout.split("\n", 1) + [""])[:2]
    return status.strip(), answer + cmd.stderr


def cost_usage(session, start_ns, time_ns, value, **extra):
    """A delta sum shaped like Claude Code's claude_code.cost.usage (extra attributes may be added)."""
    attributes = {
        "user.id": "3b1f2c",
        "user.email": EMAIL,
        "session.id": session,
        "terminal.type": "xterm",
        "model": "claude-sonnet-4-5",
        **extra,
    }
    return {
        "resourceMetrics": [{
            "resource": {"attributes": [
                {"key": "service.name", "value": {"stringValue": "claude-code"}},
                {"key": "service.version", "value": {"stringValue": "2.1.197"}},
            ]},
            "scopeMetrics": [{
                "scope": {"name": "com.anthropic.claude_code", "version": "2.1.197"},
                "metrics": [{
                    "name": "claude_code.cost.usage",
                    "unit": "USD",
                    "sum": {
                        "aggregationTemporality": 1,
                        "isMonotonic": True,
                        "dataPoints": [{
                            "startTimeUnixNano": str(start_ns),
                            "timeUnixNano": str(time_ns),
                            "asDouble": value,
                            "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()],
                        }],
                    },
                }],
            }],
        }]
    }


# Claude Code's metrics (name, unit), all monotonic delta sums, and their Prometheus names.
CLAUDE_CODE_METRICS = {
    ("claude_code.session.count", ""): "claude_code_session_count_total",
    ("claude_code.lines_of_code.count", ""): "claude_code_lines_of_code_count_total",
    ("claude_code.cost.usage", "USD"): "claude_code_cost_usage_USD_total",
    ("claude_code.token.usage", "tokens"): "claude_code_token_usage_tokens_total",
    ("claude_code.code_edit_tool.decision", ""): "claude_code_code_edit_tool_decision_total",
    ("claude_code.active_time.total", "s"): "claude_code_active_time_seconds_total",
}


def user_prompt(session, prompt, marker):
    """A log record shaped like Claude Code's user_prompt event, with the prompt and tool details."""
    now = str(time.time_ns())
    attributes = {
        "event.name": "user_prompt",
        "user.email": EMAIL,
        "session.id": session,
        "prompt": prompt,
        "prompt_length": str(len(prompt)),
        "tool_input": "rm -rf /home/dev/secret-project",
        "marker": marker,
    }
    return {
        "resourceLogs": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "claude-code"}}]},
            "scopeLogs": [{
                "scope": {"name": "com.anthropic.claude_code.events", "version": "2.1.197"},
                "logRecords": [{
                    "timeUnixNano": now,
                    "observedTimeUnixNano": now,
                    "body": {"stringValue": "claude_code.user_prompt"},
                    "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()],
                }],
            }],
        }]
    }


def recorded_bodies(host, marker):
    """Bodies the Loki stand-in received that carry the marker."""
    bodies = []
    if not host.file(RECORD).exists:
        return bodies
    for line in host.file(RECORD).content_string.splitlines():
        entry = json.loads(line)
        body = base64.b64decode(entry["body_b64"])
        if marker.encode() in body:
            bodies.append((entry, body))
    return bodies


def wait_for(check, timeout=60, step=1.0):
    return tcc_checks.wait_for(check, timeout, step)


def health(host):
    return host.run("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:13133/").stdout.strip()


def test_service_active_and_enabled(host):
    service = host.service("otelcol")
    assert service.is_running
    assert service.is_enabled


def test_health_check_answers_200(host):
    assert health(host) == "200"


def test_listens_where_configured(host):
    for address in ("tcp://0.0.0.0:4317", "tcp://0.0.0.0:4318"):
        assert host.socket(address).is_listening, address
    for address in ("tcp://127.0.0.1:8888", "tcp://127.0.0.1:13133"):
        assert host.socket(address).is_listening, address
        assert not host.socket(address.replace("127.0.0.1", "0.0.0.0")).is_listening, address
    # No scrape endpoint for Claude Code's metrics: they are pushed.
    assert not host.socket("tcp://127.0.0.1:8889").is_listening


def query(host, promql):
    """An instant query to the scenario's Prometheus: its result list."""
    url = f"{PROM}/api/v1/query?query={urllib.parse.quote(promql)}"
    out = json.loads(host.check_output(f"curl -fsS '{url}'"))
    assert out["status"] == "success", out
    return out["data"]["result"]


def accrued(host, session, window="30m"):
    """What the session's cost series accrued in the window, the dashboards' way (pricing.accrued).

    None while Prometheus does not answer (a test may have stopped it) or has nothing yet.
    """
    series = f'claude_code_cost_usage_USD_total{{session_id="{session}"}}'
    promql = (f"sum(max_over_time({series}[{window}]) - (last_over_time({series}[1h] offset {window})"
              f" or max_over_time({series}[{window}]) * 0))")
    answer = host.run(f"curl -fsS '{PROM}/api/v1/query?query={urllib.parse.quote(promql)}'")
    if answer.rc != 0:
        return None
    result = json.loads(answer.stdout)["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def accrued_to(host, session, expected, timeout):
    """Wait until the session's accrual equals expected; the last value seen otherwise."""
    def arrived():
        value = accrued(host, session)
        return value if value is not None and abs(value - expected) < 1e-9 else None

    found = wait_for(arrived, timeout=timeout, step=2)
    return found if found is not None else accrued(host, session)


def post_deltas(host, session, values, **extra):
    """Post delta points of claude_code.cost.usage one second apart, ending now."""
    now = time.time_ns()
    for i, value in enumerate(values):
        end = now - (len(values) - 1 - i) * 10**9
        status, answer = post(host, "/v1/metrics", cost_usage(session, end - 10**9, end, value, **extra))
        assert status == "200", answer


def test_deployed_config_passes_otelcol_validate(host):
    # With the service's own environment file, so the real token is in place.
    cmd = host.run("sh -c 'set -a && . /etc/otelcol/otelcol.env && otelcol validate --config=/etc/otelcol/config.yaml'")
    assert cmd.rc == 0, cmd.stdout + cmd.stderr


def test_token_only_in_the_0600_environment_file(host):
    env = host.file("/etc/otelcol/otelcol.env")
    assert env.user == "root" and env.mode == 0o600
    assert f"OTELCOL_BEARER_TOKEN={TOKEN}" in env.content_string
    config = host.file("/etc/otelcol/config.yaml")
    assert config.user == "root" and config.group == "otelcol" and config.mode == 0o640
    assert TOKEN not in config.content_string
    assert "${env:OTELCOL_BEARER_TOKEN}" in config.content_string
    assert TOKEN not in host.check_output("journalctl -u otelcol --no-pager -o cat")


def test_request_without_or_with_a_wrong_token_is_refused(host):
    now = time.time_ns()
    body = cost_usage("no-token", now - 10**9, now, 1.0)
    assert post(host, "/v1/metrics", body, token=None)[0] == "401"
    assert post(host, "/v1/metrics", body, token="wrong-token")[0] == "401"
    assert post(host, "/v1/logs", user_prompt("no-token", "x", "no-token"), token=None)[0] == "401"


def test_plain_http_is_refused_when_tls_is_on(host):
    cmd = host.run("curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data '{}' "
                   "http://127.0.0.1:4318/v1/metrics")
    assert cmd.stdout.strip() != "200"


def test_delta_sums_accumulate_into_a_pushed_counter_with_the_email_hashed(host):
    session = str(uuid.uuid4())
    post_deltas(host, session, (0.0123, 0.01))
    series = f'claude_code_cost_usage_USD_total{{session_id="{session}"}}'

    def pushed():
        result = query(host, series)
        return result if result and abs(float(result[0]["value"][1]) - 0.0223) < 1e-9 else None

    found = wait_for(pushed, timeout=30)
    assert found, query(host, series)
    labels = found[0]["metric"]
    print(f"series: {labels} {found[0]['value'][1]}")
    assert labels["user_email"] == EMAIL_SHA256
    assert labels["stream_start"].isdigit()
    assert labels["job"] == "claude-code"
    assert EMAIL not in json.dumps(query(host, '{job="claude-code"}'))
    assert abs(accrued(host, session) - 0.0223) < 1e-9


def test_every_claude_code_metric_gets_its_prometheus_name(host):
    session = str(uuid.uuid4())
    now = time.time_ns()
    body = cost_usage(session, now - 10**9, now, 1.0)
    template = body["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]
    body["resourceMetrics"][0]["scopeMetrics"][0]["metrics"] = [
        dict(template, name=name, unit=unit) for name, unit in CLAUDE_CODE_METRICS
    ]
    status, answer = post(host, "/v1/metrics", body)
    assert status == "200", answer

    def pushed():
        return {r["metric"]["__name__"] for r in query(host, f'{{session_id="{session}"}}')}

    names = wait_for(lambda: pushed() if len(pushed()) == len(CLAUDE_CODE_METRICS) else None, timeout=30) or pushed()
    print(f"pushed names: {sorted(names)}")
    assert names == set(CLAUDE_CODE_METRICS.values())


def test_an_attribute_the_collector_does_not_know_is_dropped(host):
    """Privacy fails closed: an attribute that no policy lists (a later Claude Code's, or content) never arrives."""
    session = str(uuid.uuid4())
    post_deltas(host, session, (0.5,), prompt="secret prompt text", future_attribute="unknown value", team="platform")
    found = wait_for(lambda: query(host, f'claude_code_cost_usage_USD_total{{session_id="{session}"}}'), timeout=30)
    assert found
    labels = found[0]["metric"]
    print(f"labels: {sorted(labels)}")
    assert "future_attribute" not in labels and "prompt" not in labels
    assert labels["team"] == "platform"  # otel_collector_extra_attributes keeps it
    assert "secret prompt text" not in json.dumps(found) and "unknown value" not in json.dumps(found)


@pytest.mark.parametrize("how", ["systemctl restart otelcol", "systemctl kill --signal=SIGKILL otelcol"])
def test_a_collector_restart_or_crash_loses_and_resets_nothing(host, how):
    """Deltas before and after the collector goes away (its running totals in memory die with it) add up exactly.

    The stream the new collector process starts is a series of its own (another stream_start),
    so the dashboards' accrual (per series: highest value in the window minus the last value before
    it) counts both, and the remote-write exporter's write-ahead log kept what was accepted.
    """
    session = str(uuid.uuid4())
    post_deltas(host, session, (0.25, 0.5))
    host.check_output(how)
    # systemd restarts a killed collector (Restart=on-failure, RestartSec=5s).
    assert wait_for(lambda: health(host) == "200", timeout=60, step=1), "the collector did not come back"
    post_deltas(host, session, (1.0, 2.0))
    expected = 3.75

    got = accrued_to(host, session, expected, timeout=90)
    series = query(host, f'last_over_time(claude_code_cost_usage_USD_total{{session_id="{session}"}}[30m])')
    print(f"{how}: accrued {got} of {expected} in {len(series)} series "
          f"{[(r['metric']['stream_start'], r['value'][1]) for r in series]}")
    assert got == pytest.approx(expected, abs=1e-9)
    assert len({r["metric"]["stream_start"] for r in series}) == 2
    # The write-ahead log is drained: nothing is waiting for Prometheus.
    lag = wait_for(lambda: re.search(r"^otelcol_exporter_prometheusremotewrite_wal_lag\{[^}]*\} 0$",
                                     host.check_output("curl -fsS http://127.0.0.1:8888/metrics"), re.M), timeout=40)
    assert lag, "the remote-write exporter's WAL lag never read 0"


def test_a_prometheus_outage_loses_nothing(host):
    """Points accepted while Prometheus is down wait in the write-ahead log and arrive once it is back."""
    session = str(uuid.uuid4())
    host.check_output("systemctl stop prometheus")
    try:
        post_deltas(host, session, (0.125, 0.25, 0.5))
        time.sleep(3)
    finally:
        host.check_output("systemctl start prometheus")
    got = accrued_to(host, session, 0.875, timeout=120)
    assert got == pytest.approx(0.875, abs=1e-9)


def test_collector_exposes_its_own_metrics(host):
    own = host.check_output("curl -fsS http://127.0.0.1:8888/metrics")
    for name in ("otelcol_process_uptime", "otelcol_receiver_accepted_metric_points",
                 "otelcol_exporter_sent_metric_points", "otelcol_exporter_queue_size",
                 "otelcol_exporter_prometheusremotewrite_wal_writes"):
        assert re.search(rf"^{name}[{{ ]", own, re.M), name


def test_log_event_reaches_loki_without_prompt_or_email(host):
    # The record is found by its session id; its `marker` attribute, which no policy lists,
    # must be dropped like the prompt.
    marker = f"marker-{uuid.uuid4()}"
    prompt = f"secret prompt text {marker}"
    status, answer = post(host, "/v1/logs", user_prompt(marker, prompt, marker))
    assert status == "200", answer

    received = wait_for(lambda: recorded_bodies(host, marker), timeout=30)
    assert received, "the Loki stand-in received nothing"
    entry, body = received[0]
    assert entry["path"] == "/otlp/v1/logs"
    # otel_collector_loki_headers, from otel_collector_environment through the 0600 file, unchanged.
    assert entry["headers"]["x-scope-orgid"] == VARS["otel_collector_environment"]["LOKI_TENANT"]
    assert b"user_prompt" in body and b"prompt_length" in body
    assert b"secret prompt text" not in body and b"\x06prompt" not in body
    assert b"tool_input" not in body and b"rm -rf" not in body
    assert b"\x06marker" not in body, "an attribute no policy lists reached Loki"
    assert EMAIL.encode() not in body and EMAIL_SHA256.encode() in body
    # The debug exporter (detailed, on in this scenario) saw the record after redaction too.
    journal = host.check_output("journalctl -u otelcol --no-pager -o cat")
    assert marker in journal
    assert "secret prompt text" not in journal and EMAIL not in journal


def test_loki_outage_and_collector_restart_lose_nothing(host):
    marker = f"outage-{uuid.uuid4()}"
    host.check_output("systemctl stop loki-standin")
    try:
        status, answer = post(host, "/v1/logs", user_prompt(marker, "during the outage", marker))
        assert status == "200", answer
        # Queued on disk, not delivered; then the collector restarts with it in the queue.
        time.sleep(3)
        assert not recorded_bodies(host, marker)
        host.check_output("systemctl restart otelcol")
        assert wait_for(lambda: health(host) == "200", timeout=60)
    finally:
        host.check_output("systemctl start loki-standin")
    assert wait_for(lambda: recorded_bodies(host, marker), timeout=90, step=2), "the queued log event was lost"


@pytest.mark.parametrize("unit", ["otelcol.service"])
def test_unit_is_hardened(host, unit):
    tcc_checks.assert_hardened(host, unit)
