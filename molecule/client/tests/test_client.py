"""A developer's machine sends Claude Code's telemetry to the collector because of the managed settings alone.

tcc-client-dev runs the real Claude Code executables (every supported version, copied from the
controller by prepare.yml: the newest, 2.1.332 today, and the oldest, 2.1.197) against
tests/claude/fake_messages_api.py, a test stand-in for the Anthropic Messages API, on its own
loopback. Each session runs as the user dev with an environment built from nothing (env -i) that
has no telemetry variable, and with a user settings file in which the developer tries to turn
every content opt-in on and to send elsewhere. Whatever reaches tcc-client-collector (the OTLP
receiver, on the scenario's internal docker network) got there through the managed settings in
/etc/claude-code, which claude_code_client merged into the file prepare.yml had put there.

The tests reach both hosts with testinfra's docker backend; every request stays on the hosts'
loopback or the scenario's own network.
"""

from __future__ import annotations

import base64
import concurrent.futures
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
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import otlp_logs  # noqa: E402  pylint: disable=wrong-import-position,import-error
import tcc_checks  # noqa: E402  pylint: disable=wrong-import-position,import-error

SCENARIO = pathlib.Path(__file__).resolve().parents[1]
VARS = yaml.safe_load((SCENARIO / "vars" / "scenario.yml").read_text(encoding="utf-8"))
TOKEN = VARS["claude_code_client_otlp_bearer_token"]
NETWORK = "tcc-client-net"
DEV = "tcc-client-dev"
COLLECTOR = "tcc-client-collector"
SETTINGS = "/etc/claude-code/managed-settings.json"
DROPIN = "/etc/claude-code/managed-settings.d/90-molecule-test.json"
TOKEN_FILE = "/etc/claude-code/otlp-bearer-token"
HELPER = "/usr/local/libexec/claude-code-otel-headers-helper"
RECORD = "/var/lib/loki-standin/requests.jsonl"
API_PORT = 8787

# The whole environment of a session: what run_session.sh needs, no OTEL_* or other telemetry
# variable (the settings that send telemetry are in the managed settings only).
SESSION_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/home/dev",
    "LANG": "C.UTF-8",
    "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{API_PORT}",
}

# The developer's own settings (~/.claude/settings.json, in the session's config dir): every
# switch the role owns set the other way, and another endpoint. The managed settings must win.
DEVELOPER_SETTINGS = {"env": {
    "OTEL_LOG_USER_PROMPTS": "1",
    "OTEL_LOG_ASSISTANT_RESPONSES": "1",
    "OTEL_LOG_TOOL_DETAILS": "1",
    "OTEL_LOG_TOOL_CONTENT": "1",
    "OTEL_LOG_RAW_API_BODIES": "1",
    "OTEL_LOG_MANAGED_SETTINGS": "0",
    "OTEL_METRICS_INCLUDE_SESSION_ID": "false",
    "OTEL_METRICS_INCLUDE_VERSION": "false",
    "OTEL_RESOURCE_INCLUDE_HOST": "true",
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
}}

SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\{(?P<labels>[^}]*)\} (?P<value>\S+)$", re.M)

# The pre-existing managed settings of prepare.yml that the role must keep as they were.
KEPT = {
    "permissions": {"deny": ["Read(./.env)", "Read(./secrets/**)"], "disableBypassPermissionsMode": "disable"},
    "cleanupPeriodDays": 14,
}
KEPT_ENV = {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1"}
ROLE_ENV = dict(
    CLAUDE_CODE_ENABLE_TELEMETRY="1",
    # prepare.yml had console, and the content opt-ins on: the role's values won.
    OTEL_METRICS_EXPORTER="otlp",
    OTEL_LOG_USER_PROMPTS="0",
    OTEL_LOG_ASSISTANT_RESPONSES="0",
    OTEL_LOG_TOOL_DETAILS="0",
    OTEL_LOG_TOOL_CONTENT="0",
    OTEL_LOG_RAW_API_BODIES="0",
    OTEL_LOG_MANAGED_SETTINGS="1",
    OTEL_METRICS_INCLUDE_SESSION_ID="true",
    OTEL_METRICS_INCLUDE_VERSION="true",
    OTEL_METRICS_INCLUDE_ACCOUNT_UUID="true",
    OTEL_METRICS_INCLUDE_ENTRYPOINT="false",
    OTEL_METRICS_INCLUDE_RESOURCE_ATTRIBUTES="true",
    OTEL_METRICS_INCLUDE_REPOSITORY="false",
    OTEL_RESOURCE_INCLUDE_HOST="false",
    OTEL_LOGS_EXPORTER="otlp",
    OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
    OTEL_EXPORTER_OTLP_ENDPOINT="http://tcc-client-collector:4318",
    OTEL_EXPORTER_OTLP_HEADERS=f"Authorization=Bearer {TOKEN}",
    OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE="cumulative",
    OTEL_METRIC_EXPORT_INTERVAL="5000",
    OTEL_LOGS_EXPORT_INTERVAL="2000",
    OTEL_RESOURCE_ATTRIBUTES="cost_center=CC%204711/ops,team=platform",
)


def version_key(version):
    return tuple(int(part) for part in version.split("."))


@pytest.fixture(scope="module")
def dev():
    return testinfra.get_host(f"docker://{DEV}")


@pytest.fixture(scope="module")
def collector():
    return testinfra.get_host(f"docker://{COLLECTOR}")


@pytest.fixture(scope="module")
def versions(dev):
    """{'newest': ..., 'oldest': ...}: the Claude Code versions prepare.yml copied to the machine."""
    found = sorted(dev.file("/opt/tcc-claude/versions").content_string.split(), key=version_key)
    assert found, "prepare.yml copied no Claude Code executable"
    return {"newest": found[-1], "oldest": found[0], "all": found}


def wait_for(check, timeout=30, step=1.0):
    return tcc_checks.wait_for(check, timeout, step)


def samples(collector, name, session_id):
    """[(labels, value)] of the metric NAME for one session: each series' last value in the
    Prometheus the collector pushes to (prepare.yml; every series of a session starts at its
    first value, so the last values add up to the session's total)."""
    query = f'last_over_time({name}{{session_id="{session_id}"}}[1h])'
    answer = collector.run(f"curl -fsS -G --data-urlencode {shlex.quote('query=' + query)} "
                           "http://127.0.0.1:9090/api/v1/query")
    if answer.rc != 0:
        return []
    return [(series["metric"], float(series["value"][1])) for series in json.loads(answer.stdout)["data"]["result"]]


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


def loki_events(collector, session_id):
    """[(event name, record attributes, resource attributes)] of one session, as the Loki stand-in got them."""
    events = []
    for entry in recorded_with(collector, session_id):
        for resource, record in otlp_logs.log_records(base64.b64decode(entry["body_b64"])):
            if record.get("session.id") == session_id:
                events.append((record.get("event.name"), record, resource))
    return events


def resolved_events(collector, session_id):
    """The managed_settings_resolved events of one session (Claude Code 2.1.332 and later)."""
    return [record for name, record, _resource in loki_events(collector, session_id)
            if name == "managed_settings_resolved"]


def run_session(dev, version, extra_env=None):
    """One scripted session of Claude Code VERSION as the user dev; returns (JSON result, stderr).

    The session's config dir holds the developer's own settings (DEVELOPER_SETTINGS)."""
    config_dir = dev.check_output("runuser -u dev -- mktemp -d /tmp/claude-config.XXXXXX")
    dev.check_output(
        f"runuser -u dev -- sh -c {shlex.quote('printf %s ' + shlex.quote(json.dumps(DEVELOPER_SETTINGS)) + ' > ' + config_dir + '/settings.json')}"
    )
    env = dict(SESSION_ENV, CLAUDE_BIN=f"/usr/local/bin/claude-{version}", CLAUDE_CONFIG_DIR=config_dir,
               **(extra_env or {}))
    assert not [name for name in env if name.startswith(("OTEL_", "CLAUDE_CODE_"))]
    assignments = " ".join(f"{name}={shlex.quote(value)}" for name, value in env.items())
    try:
        cmd = dev.run(f"runuser -u dev -- env -i {assignments} bash /opt/tcc-claude/run_session.sh")
    finally:
        if not (extra_env or {}).get("KEEP_WORKDIR"):
            dev.run(f"rm -rf {config_dir}")
    assert cmd.rc == 0, f"session of {version} failed ({cmd.rc}): {cmd.stderr}\n{cmd.stdout}"
    return json.loads(cmd.stdout), cmd.stderr + f"\nconfig dir {config_dir}"


def cost_matches(collector, result):
    found = samples(collector, "claude_code_cost_usage_USD_total", result["session_id"])
    total = sum(value for _labels, value in found)
    return found if found and abs(total - result["total_cost_usd"]) < 1e-9 else None


def client_play(*args):
    """ansible-playbook client_only.yml (the developers' play alone) with ARGS; returns its output."""
    out = subprocess.run(
        ["ansible-playbook", f"--inventory={os.environ['MOLECULE_INVENTORY_FILE']}", *args,
         str(SCENARIO / "client_only.yml")],
        capture_output=True, text=True, timeout=300, check=False,
        env=dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1"),
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert TOKEN not in out.stdout + out.stderr
    return out.stdout


def recap(output):
    return [line for line in output.splitlines() if line.startswith(DEV)][0]


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


def run_sessions(dev, versions):
    """{version: JSON result}: one session of each version, run side by side (the stand-in is stateless)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(versions)) as pool:
        futures = {version: pool.submit(run_session, dev, version) for version in versions}
        return {version: future.result()[0] for version, future in futures.items()}


_SESSIONS = {}


@pytest.fixture(scope="module", params=["newest", "oldest"])
def session(request, dev, versions, messages_api):
    """(version, JSON result) of a session with the converged managed settings, per version."""
    if not _SESSIONS:
        _SESSIONS.update(run_sessions(dev, [versions["newest"], versions["oldest"]]))
        for version, result in _SESSIONS.items():
            print(f"\nClaude Code {version} session {result['session_id']}: total_cost_usd {result['total_cost_usd']!r}")
    version = versions[request.param]
    return version, _SESSIONS[version]


def test_hosts_share_an_internal_network(dev):
    info = json.loads(subprocess.check_output(["docker", "network", "inspect", NETWORK], text=True))[0]
    assert info["Internal"] is True
    assert {c["Name"] for c in info["Containers"].values()} == {DEV, COLLECTOR}
    assert dev.run(f"getent hosts {COLLECTOR}").rc == 0


def test_claude_code_versions_are_the_native_executables_without_node(dev, versions):
    assert dev.run("command -v node").rc != 0
    for version in versions["all"]:
        reported = dev.check_output(f"/usr/local/bin/claude-{version} --version")
        print(f"/usr/local/bin/claude-{version} --version: {reported}")
        assert reported.startswith(version)
    print(f"newest {versions['newest']}, oldest {versions['oldest']}")
    assert len(versions["all"]) >= 2, "the scenario needs the oldest and the newest supported version"


def test_managed_settings_are_merged(dev):
    settings = dev.file(SETTINGS)
    assert settings.user == "root" and settings.group == "claude-code-users" and settings.mode == 0o640
    data = json.loads(settings.content_string)
    for key, value in KEPT.items():
        assert data[key] == value, key
    # prepare.yml had a stale otelHeadersHelper: the role owns that key and has no helper here.
    assert "otelHeadersHelper" not in data
    assert data["env"] == dict(KEPT_ENV, **ROLE_ENV)


def test_only_members_of_the_group_can_read_the_token(dev):
    assert dev.run(f"runuser -u dev -- cat {SETTINGS}").rc == 0
    refused = dev.run(f"runuser -u outsider -- cat {SETTINGS}")
    assert refused.rc != 0 and "Permission denied" in refused.stderr


def test_session_cost_reaches_the_collector_through_managed_settings_alone(collector, session):
    version, result = session
    found = wait_for(lambda: cost_matches(collector, result), timeout=30)
    assert found, samples(collector, "claude_code_cost_usage_USD_total", result["session_id"])
    total = sum(value for _labels, value in found)
    for labels, value in found:
        print(f"claude_code_cost_usage_USD_total{{model={labels['model']}, query_source={labels['query_source']}, "
              f"app_version={labels.get('app_version')}, session_id={labels['session_id']}}} {value!r}")
        # claude_code_client_resource_attributes, percent-decoded by Claude Code.
        assert labels["team"] == "platform" and labels["cost_center"] == "CC 4711/ops"
        # claude_code_client_metrics_include_version: true, although the developer's settings say false.
        assert labels["app_version"] == version
        # The developer's OTEL_RESOURCE_INCLUDE_HOST lost to the role's false.
        assert not [name for name in labels if name.startswith(("host_", "vcs_"))]
    print(f"{version}: collector total {total!r} == JSON total_cost_usd {result['total_cost_usd']!r}")
    assert abs(total - result["total_cost_usd"]) < 1e-9


def test_session_tokens_reach_the_collector(collector, session):
    version, result = session
    expected = {
        kind: sum(usage[field] for usage in result["modelUsage"].values())
        for kind, field in (("input", "inputTokens"), ("output", "outputTokens"),
                            ("cacheRead", "cacheReadInputTokens"), ("cacheCreation", "cacheCreationInputTokens"))
    }
    got = {}
    for labels, value in samples(collector, "claude_code_token_usage_tokens_total", result["session_id"]):
        got[labels["type"]] = got.get(labels["type"], 0) + value
    print(f"{version} tokens: collector {got} JSON modelUsage {expected}")
    assert got == expected


def test_session_events_reach_loki_with_the_content_opt_ins_off(collector, session):
    """The role's "0"s win over the developer's "1"s; what the collector passes on shows it."""
    version, result = session
    assert wait_for(lambda: [e for e in loki_events(collector, result["session_id"]) if e[0] == "api_request"],
                    timeout=30), "the Loki stand-in received no api_request event of the session"
    events = loki_events(collector, result["session_id"])
    names = sorted({name for name, _record, _resource in events})
    print(f"{version} events in Loki: {names}")
    # OTEL_LOG_RAW_API_BODIES: the whole API requests would come as these events.
    assert not {"api_request_body", "api_response_body"} & set(names)
    for name, record, resource in events:
        # OTEL_LOG_USER_PROMPTS: 2.1.332 copies the prompt into prompt_text, which the collector keeps.
        if name == "user_prompt" and "prompt_text" in record:
            assert record["prompt_text"] == "<REDACTED>"
        # OTEL_RESOURCE_INCLUDE_HOST
        assert "host.name" not in resource and "host.id" not in resource


def test_managed_settings_resolved_reports_the_file_source(collector, session):
    """2.1.332 reports which managed settings sources applied; 2.1.197 has no such event."""
    version, result = session
    assert wait_for(lambda: [e for e in loki_events(collector, result["session_id"]) if e[0] == "api_request"],
                    timeout=30)
    resolved = resolved_events(collector, result["session_id"])
    if version_key(version) < (2, 1, 332):
        print(f"{version}: no managed_settings_resolved event (the event is new in 2.1.332)")
        assert not resolved
        return
    assert len(resolved) == 1, resolved
    event = resolved[0]
    shown = {key: value for key, value in event.items() if key.startswith("managed_settings.")}
    print(f"{version} managed_settings_resolved: {json.dumps(shown, sort_keys=True)}")
    # The settings themselves are content: the collector drops them (its privacy policy keeps
    # which sources applied and their digest). That the role's file is what applied shows in
    # the sources and in the sessions that reach the collector through it alone.
    assert "managed_settings.settings" not in event
    assert event["managed_settings.trigger"] == "startup"
    # "file": managed-settings.json or its drop-ins; no server-managed, MDM or --managed-settings source.
    assert event["managed_settings.sources"] == ["file"]
    assert event["managed_settings.source_behavior"] == "first-wins"
    assert event["managed_settings.helper.state"] == "none"
    assert re.fullmatch(r"[0-9a-f]{64}", event["managed_settings.resolved_sha256"])
    assert event["managed_settings.settings_truncated"] is False


def test_client_with_a_wrong_token_is_refused(dev, collector, versions, messages_api):
    """The same machine with a wrong token in its managed settings: the collector takes nothing."""
    original = dev.file(SETTINGS).content_string
    accepted_before = own_metric(collector, "otelcol_receiver_accepted_metric_points")
    wrong = json.loads(original)
    wrong["env"]["OTEL_EXPORTER_OTLP_HEADERS"] = "Authorization=Bearer wrong-token-0123456789"
    try:
        # Written in place, so the file keeps its owner, group and mode.
        dev.check_output(f"printf '%s' {shlex.quote(json.dumps(wrong, indent=2))} > {SETTINGS}")
        # DEBUG=1 makes Claude Code log its exporters' errors to its debug log in the kept config dir.
        result, stderr = run_session(dev, versions["newest"], {"DEBUG": "1", "KEEP_WORKDIR": "1"})
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

    # The same request from the developer's machine: 401 with the wrong token, 200 with the right one.
    def post(token):
        return dev.check_output(
            "curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' "
            f"-H {shlex.quote('Authorization: Bearer ' + token)} --data '{{}}' http://{COLLECTOR}:4318/v1/metrics"
        )
    codes = {"wrong token": post("wrong-token-0123456789"), "right token": post(TOKEN)}
    print(f"POST /v1/metrics from {DEV}: {codes}")
    assert codes == {"wrong token": "401", "right token": "200"}


def test_a_later_drop_in_wins_and_the_role_says_so(dev, collector, versions, messages_api):
    """managed-settings.d/*.json is read after managed-settings.json: its value is the one in effect."""
    dev.check_output(f"mkdir -p {os.path.dirname(DROPIN)}")
    dev.check_output(
        f"printf '%s' {shlex.quote(json.dumps({'env': {'OTEL_RESOURCE_ATTRIBUTES': 'team=drop-in'}}))} > {DROPIN} "
        f"&& chmod 0644 {DROPIN}"
    )
    try:
        # The role, run again in check mode, names the file and the entry that win over its own, and
        # has nothing to change (after the side effects too: molecule's idempotence step ran before them).
        output = client_play("--check")
        warning = [line.strip() for line in output.splitlines() if "OTEL_RESOURCE_ATTRIBUTES" in line]
        print(f"the role's warning: {warning}\nits run: {recap(output)}")
        assert any(DROPIN in line and "env.OTEL_RESOURCE_ATTRIBUTES" in line for line in warning), output[-3000:]
        assert "changed=0" in recap(output) and "failed=0" in recap(output)
        results = run_sessions(dev, [versions["newest"], versions["oldest"]])
    finally:
        dev.check_output(f"rm -f {DROPIN}")
    for version, result in results.items():
        found = wait_for(lambda result=result: cost_matches(collector, result), timeout=30)
        assert found
        for labels, _value in found:
            assert labels["team"] == "drop-in" and "cost_center" not in labels
        print(f"{version} drop-in session {result['session_id']}: team={found[0][0]['team']}")
        if version_key(version) >= (2, 1, 332):
            event = wait_for(lambda result=result: resolved_events(collector, result["session_id"]), timeout=30)[0]
            print(f"{version} managed_settings.sources with the drop-in: {event['managed_settings.sources']}")
            assert event["managed_settings.sources"] == ["file"]


def test_bearer_token_through_the_headers_helper(dev, collector, versions, messages_api):
    """claude_code_client_otlp_bearer_token_via_helper: no token in the managed settings, and the collector
    (which requires it) still takes the session."""
    output = client_play("--extra-vars", json.dumps({"claude_code_client_otlp_bearer_token_via_helper": True}))
    print(f"helper run: {recap(output)}")
    try:
        data = json.loads(dev.file(SETTINGS).content_string)
        assert "OTEL_EXPORTER_OTLP_HEADERS" not in data["env"] and TOKEN not in json.dumps(data)
        assert data["otelHeadersHelper"] == HELPER
        token_file, helper = dev.file(TOKEN_FILE), dev.file(HELPER)
        assert (token_file.user, token_file.group, token_file.mode) == ("root", "claude-code-users", 0o640)
        assert (helper.user, helper.mode) == ("root", 0o755)
        assert json.loads(dev.check_output(f"runuser -u dev -- {HELPER}")) == {"Authorization": f"Bearer {TOKEN}"}
        refused = dev.run(f"runuser -u outsider -- {HELPER}")
        print(f"the helper run by a user outside the group: rc {refused.rc}, stderr {refused.stderr.strip()!r}")
        assert refused.rc != 0 and TOKEN not in refused.stdout + refused.stderr

        result, _log = run_session(dev, versions["newest"])
        found = wait_for(lambda: cost_matches(collector, result), timeout=30)
        assert found, "the collector did not take the session whose token came from the helper"
        print(f"{versions['newest']} helper session {result['session_id']}: collector total "
              f"{sum(v for _l, v in found)!r} == {result['total_cost_usd']!r}")
    finally:
        output = client_play()
    print(f"back to OTEL_EXPORTER_OTLP_HEADERS: {recap(output)}")
    assert not dev.file(TOKEN_FILE).exists and not dev.file(HELPER).exists
    assert json.loads(dev.file(SETTINGS).content_string)["env"] == dict(KEPT_ENV, **ROLE_ENV)
