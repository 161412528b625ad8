"""A developer's machine sends Claude Code's telemetry to the collector because of the managed settings alone.

tcc-client-dev runs the real Claude Code executable (copied from the controller by prepare.yml)
against tests/claude/fake_messages_api.py, a test stand-in for the Anthropic Messages API, on its
own loopback. The session runs as the user dev with an environment built from nothing (env -i)
that has no telemetry variable. Whatever reaches tcc-client-collector (the OTLP receiver, on the
scenario's internal docker network) got there through /etc/claude-code/managed-settings.json,
which claude_code_client merged into the file prepare.yml had put there.

The tests reach both hosts with testinfra's docker backend; every request stays on the hosts'
loopback or the scenario's own network.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import re
import shlex
import subprocess
import sys
import time

import pytest
import testinfra
import yaml
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))
import tcc_checks  # noqa: E402  pylint: disable=wrong-import-position,import-error

SCENARIO = pathlib.Path(__file__).resolve().parents[1]
VARS = yaml.safe_load((SCENARIO / "vars" / "scenario.yml").read_text(encoding="utf-8"))
TOKEN = VARS["claude_code_client_otlp_bearer_token"]
NETWORK = "tcc-client-net"
DEV = "tcc-client-dev"
COLLECTOR = "tcc-client-collector"
SETTINGS = "/etc/claude-code/managed-settings.json"
DROPIN = "/etc/claude-code/managed-settings.d/90-molecule-test.json"
RECORD = "/var/lib/loki-standin/requests.jsonl"
API_PORT = 8787

# The whole environment of a session: what run_session.sh needs, no OTEL_* or other telemetry
# variable (the settings that send telemetry are in the managed settings only).
SESSION_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/home/dev",
    "LANG": "C.UTF-8",
    "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{API_PORT}",
    "CLAUDE_BIN": "/usr/local/bin/claude",
}

SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\{(?P<labels>[^}]*)\} (?P<value>\S+)$", re.M)
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

# The pre-existing managed settings of prepare.yml that the role must keep as they were.
KEPT = {
    "permissions": {"deny": ["Read(./.env)", "Read(./secrets/**)"], "disableBypassPermissionsMode": "disable"},
    "cleanupPeriodDays": 14,
}
KEPT_ENV = {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1"}


@pytest.fixture(scope="module")
def dev():
    return testinfra.get_host(f"docker://{DEV}")


@pytest.fixture(scope="module")
def collector():
    return testinfra.get_host(f"docker://{COLLECTOR}")


def wait_for(check, timeout=30, step=1.0):
    return tcc_checks.wait_for(check, timeout, step)


def samples(collector, name, session_id):
    """[(labels, value)] of the metric NAME for one session, from the collector's Prometheus endpoint."""
    text = collector.check_output("curl -fsS http://127.0.0.1:8889/metrics")
    found = []
    for match in SAMPLE.finditer(text):
        labels = dict(LABEL.findall(match.group("labels")))
        if match.group("name") == name and labels.get("session_id") == session_id:
            found.append((labels, float(match.group("value"))))
    return found


def own_metric(collector, name):
    """Sum of one of the collector's own counters (its telemetry endpoint)."""
    text = collector.check_output("curl -fsS http://127.0.0.1:8888/metrics")
    return sum(float(m.group("value")) for m in SAMPLE.finditer(text) if m.group("name") == name)


def recorded_with(collector, marker):
    """Requests the Loki stand-in received whose body holds MARKER."""
    if not collector.file(RECORD).exists:
        return []
    hits = []
    for line in collector.file(RECORD).content_string.splitlines():
        entry = json.loads(line)
        if marker.encode() in base64.b64decode(entry["body_b64"]):
            hits.append(entry)
    return hits


def run_session(dev, extra_env=None):
    """One scripted session as the user dev; returns (JSON result, stderr)."""
    env = dict(SESSION_ENV, **(extra_env or {}))
    assert not [name for name in env if name.startswith(("OTEL_", "CLAUDE_CODE_"))]
    assignments = " ".join(f"{name}={shlex.quote(value)}" for name, value in env.items())
    cmd = dev.run(f"runuser -u dev -- env -i {assignments} bash /opt/tcc-claude/run_session.sh")
    assert cmd.rc == 0, f"session failed ({cmd.rc}): {cmd.stderr}\n{cmd.stdout}"
    return json.loads(cmd.stdout), cmd.stderr


def cost_matches(collector, result):
    found = samples(collector, "claude_code_cost_usage_USD_total", result["session_id"])
    total = sum(value for _labels, value in found)
    return found if found and abs(total - result["total_cost_usd"]) < 1e-9 else None


@pytest.fixture(scope="module")
def messages_api(dev):
    """The Messages API stand-in on the developer machine's loopback, as a transient unit."""
    dev.run("systemctl stop fake-messages-api; systemctl reset-failed fake-messages-api")
    dev.check_output(
        f"systemd-run --unit=fake-messages-api --quiet /usr/bin/python3 /opt/tcc-claude/fake_messages_api.py "
        f"--port {API_PORT} --bind 127.0.0.1"
    )
    assert wait_for(lambda: dev.socket(f"tcp://127.0.0.1:{API_PORT}").is_listening, timeout=15)
    yield
    dev.run("systemctl stop fake-messages-api")


@pytest.fixture(scope="module")
def session(dev, messages_api):
    """The session with the converged managed settings."""
    result, _log = run_session(dev)
    print(f"session {result['session_id']}: total_cost_usd {result['total_cost_usd']!r}")
    return result


def test_hosts_share_an_internal_network(dev):
    info = json.loads(subprocess.check_output(["docker", "network", "inspect", NETWORK], text=True))[0]
    assert info["Internal"] is True
    assert {c["Name"] for c in info["Containers"].values()} == {DEV, COLLECTOR}
    assert dev.run(f"getent hosts {COLLECTOR}").rc == 0


def test_claude_code_is_the_native_executable_without_node(dev):
    assert dev.run("command -v node").rc != 0
    assert dev.check_output("/usr/local/bin/claude --version").startswith("2.1.197")


def test_managed_settings_are_merged(dev):
    settings = dev.file(SETTINGS)
    assert settings.user == "root" and settings.group == "claude-code-users" and settings.mode == 0o640
    data = json.loads(settings.content_string)
    for key, value in KEPT.items():
        assert data[key] == value, key
    env = data["env"]
    for key, value in KEPT_ENV.items():
        assert env[key] == value, key
    assert env == dict(
        KEPT_ENV,
        CLAUDE_CODE_ENABLE_TELEMETRY="1",
        # prepare.yml had console and 1 here: the role's values won.
        OTEL_METRICS_EXPORTER="otlp",
        OTEL_LOG_USER_PROMPTS="0",
        OTEL_LOG_TOOL_DETAILS="0",
        OTEL_LOGS_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_EXPORTER_OTLP_ENDPOINT="http://tcc-client-collector:4318",
        OTEL_EXPORTER_OTLP_HEADERS=f"Authorization=Bearer {TOKEN}",
        OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE="cumulative",
        OTEL_METRIC_EXPORT_INTERVAL="5000",
        OTEL_LOGS_EXPORT_INTERVAL="2000",
        OTEL_RESOURCE_ATTRIBUTES="cost_center=CC%204711/ops,team=platform",
    )


def test_only_members_of_the_group_can_read_the_token(dev):
    assert dev.run(f"runuser -u dev -- cat {SETTINGS}").rc == 0
    refused = dev.run(f"runuser -u outsider -- cat {SETTINGS}")
    assert refused.rc != 0 and "Permission denied" in refused.stderr


def test_role_is_idempotent():
    """The developers' play, run again, changes nothing (after the side effects too)."""
    out = subprocess.run(
        ["ansible-playbook", f"--inventory={os.environ['MOLECULE_INVENTORY_FILE']}", str(SCENARIO / "client_only.yml")],
        capture_output=True, text=True, timeout=300, check=False,
        env=dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1"),
    )
    assert out.returncode == 0, out.stdout + out.stderr
    recap = [line for line in out.stdout.splitlines() if line.startswith(DEV)]
    print(f"second run: {recap}")
    assert recap and "changed=0" in recap[0] and "failed=0" in recap[0]
    assert TOKEN not in out.stdout


def test_session_cost_reaches_the_collector_through_managed_settings_alone(collector, session):
    found = wait_for(lambda: cost_matches(collector, session), timeout=30)
    assert found, samples(collector, "claude_code_cost_usage_USD_total", session["session_id"])
    total = sum(value for _labels, value in found)
    for labels, value in found:
        print(f"claude_code_cost_usage_USD_total{{model={labels['model']}, query_source={labels['query_source']}, "
              f"session_id={labels['session_id']}}} {value!r}")
        # claude_code_client_resource_attributes, percent-decoded by Claude Code.
        assert labels["team"] == "platform" and labels["cost_center"] == "CC 4711/ops"
    print(f"collector total {total!r} == JSON total_cost_usd {session['total_cost_usd']!r}")
    assert abs(total - session["total_cost_usd"]) < 1e-9


def test_session_tokens_reach_the_collector(collector, session):
    expected = {
        kind: sum(usage[field] for usage in session["modelUsage"].values())
        for kind, field in (("input", "inputTokens"), ("output", "outputTokens"),
                            ("cacheRead", "cacheReadInputTokens"), ("cacheCreation", "cacheCreationInputTokens"))
    }
    got = {}
    for labels, value in samples(collector, "claude_code_token_usage_tokens_total", session["session_id"]):
        got[labels["type"]] = got.get(labels["type"], 0) + value
    print(f"tokens: collector {got} JSON modelUsage {expected}")
    assert got == expected


def test_session_events_reach_loki_through_the_collector(collector, session):
    received = wait_for(lambda: recorded_with(collector, session["session_id"]), timeout=30)
    assert received, "the Loki stand-in received no event of the session"
    assert any(b"api_request" in base64.b64decode(entry["body_b64"]) for entry in received)


def test_client_with_a_wrong_token_is_refused(dev, collector, session):
    """The same machine with a wrong token in its managed settings: the collector takes nothing."""
    original = dev.file(SETTINGS).content_string
    accepted_before = own_metric(collector, "otelcol_receiver_accepted_metric_points")
    wrong = json.loads(original)
    wrong["env"]["OTEL_EXPORTER_OTLP_HEADERS"] = "Authorization=Bearer wrong-token-0123456789"
    try:
        # Written in place, so the file keeps its owner, group and mode.
        dev.check_output(f"printf '%s' {shlex.quote(json.dumps(wrong, indent=2))} > {SETTINGS}")
        # DEBUG=1 makes Claude Code log its exporters' errors to its debug log in the kept config dir.
        result, stderr = run_session(dev, {"DEBUG": "1", "KEEP_WORKDIR": "1"})
    finally:
        dev.check_output(f"printf '%s' {shlex.quote(original)} > {SETTINGS}")
    assert dev.file(SETTINGS).content_string == original
    print(f"wrong-token session {result['session_id']}: total_cost_usd {result['total_cost_usd']!r}")

    config_dir = re.search(r"config dir (\S+)", stderr).group(1)
    work_dir = re.search(r"kept work dir (\S+)", stderr).group(1)
    debug_log = dev.check_output(f"cat {config_dir}/debug/{result['session_id']}.txt")
    dev.run(f"rm -rf {config_dir} {work_dir}")
    refusals = [line for line in debug_log.splitlines() if "Unauthorized" in line]
    for line in refusals[:2]:
        print(f"claude debug log: {line[:220]}")
    assert any('"code":"401"' in line for line in refusals), debug_log[-3000:]
    assert any("metrics export failed" in line for line in refusals)

    # The exports happen before claude exits; give the collector time to show anything it took.
    time.sleep(5)
    assert not samples(collector, "claude_code_cost_usage_USD_total", result["session_id"])
    assert not recorded_with(collector, result["session_id"])
    accepted_after = own_metric(collector, "otelcol_receiver_accepted_metric_points")
    print(f"otelcol_receiver_accepted_metric_points: {accepted_before} before, {accepted_after} after")
    assert accepted_after == accepted_before
    # The good session's series is still there.
    assert cost_matches(collector, session)

    # The same request from the developer's machine: 401 with the wrong token, 200 with the right one.
    def post(token):
        return dev.check_output(
            "curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' "
            f"-H {shlex.quote('Authorization: Bearer ' + token)} --data '{{}}' http://{COLLECTOR}:4318/v1/metrics"
        )
    codes = {"wrong token": post("wrong-token-0123456789"), "right token": post(TOKEN)}
    print(f"POST /v1/metrics from {DEV}: {codes}")
    assert codes == {"wrong token": "401", "right token": "200"}


def test_a_drop_in_is_read_and_wins_over_the_main_file(dev, collector, messages_api):
    """managed-settings.d/*.json, merged over managed-settings.json (Claude Code 2.1.197 reads both)."""
    dev.check_output(f"mkdir -p {os.path.dirname(DROPIN)}")
    dev.check_output(
        f"printf '%s' {shlex.quote(json.dumps({'env': {'OTEL_RESOURCE_ATTRIBUTES': 'team=drop-in'}}))} > {DROPIN} "
        f"&& chmod 0644 {DROPIN}"
    )
    try:
        result, _log = run_session(dev)
    finally:
        dev.check_output(f"rm -f {DROPIN}")
    found = wait_for(lambda: cost_matches(collector, result), timeout=30)
    assert found
    for labels, _value in found:
        assert labels["team"] == "drop-in" and "cost_center" not in labels
    print(f"drop-in session {result['session_id']}: team={found[0][0]['team']}")
