"""Privacy, proved on a real session's export: with the collector's defaults, no prompt text,
response text, tool input or e-mail address reaches Prometheus or the Loki export path, even
when the developer has opted in (OTEL_LOG_USER_PROMPTS=1, OTEL_LOG_TOOL_DETAILS=1).

1. Control: the same scripted session, with the same opt-ins, exports to a local OTLP recorder
   (tests/claude/otlp_capture.py) instead of the collector. Its events DO carry the prompt text
   and the tool input, so the client really sends them.
2. The stack's session (conftest.py, same opt-ins) went through the collector: the Loki export
   (recorded by the stand-in for Loki, not Loki) holds none of it, and no Prometheus series
   has such a label or a label value with the prompt's text.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import tempfile
import time
import urllib.parse

import pytest

from conftest import ROOT, _free_port, run_session, session_env, start_messages_api  # pylint: disable=import-error

PROM = "http://127.0.0.1:9090"
PROMPT = "Create hello.py that prints a greeting"  # run_session.sh's default prompt starts so
SENSITIVE = ("prompt", "response", "tool_input", "tool_parameters")
# A Bash command of the scripted session: tool input, only in events when tool details are on.
TOOL_INPUT = "python3 hello.py"


def _attributes(path: pathlib.Path):
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if not entry["path"].endswith("/v1/logs"):
            continue
        for resource_logs in json.loads(entry["body"]).get("resourceLogs", []):
            for scope in resource_logs.get("scopeLogs", []):
                for record in scope.get("logRecords", []):
                    yield {a["key"]: next(iter(a["value"].values()), None) for a in record.get("attributes", [])}


@pytest.fixture(scope="module")
def control_capture():
    """What the client sends with the opt-ins on, recorded before any collector."""
    out = pathlib.Path(tempfile.mkdtemp(prefix="tcc-privacy-")) / "client.jsonl"
    port = _free_port()
    recorder = subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, str(ROOT / "tests/claude/otlp_capture.py"), "--port", str(port), "--out", str(out)],
        stderr=subprocess.DEVNULL,
    )
    api, api_port = start_messages_api()
    try:
        time.sleep(0.5)
        run_session(session_env(f"http://127.0.0.1:{port}", api_port, protocol="http/json"))
        time.sleep(3)  # the last log export
    finally:
        api.terminate()
        recorder.terminate()
        api.wait(timeout=10)
        recorder.wait(timeout=10)
    return list(_attributes(out))


def test_the_client_sends_prompts_and_tool_input_when_opted_in(control_capture):  # pylint: disable=redefined-outer-name
    prompts = [a.get("prompt", "") for a in control_capture if a.get("event.name") == "user_prompt"]
    assert any(PROMPT in p for p in prompts), f"control: no prompt text in user_prompt events: {prompts}"
    inputs = [json.dumps(a.get("tool_input") or a.get("tool_parameters")) for a in control_capture
              if a.get("event.name") == "tool_result"]
    assert any(TOOL_INPUT in i for i in inputs), "control: no tool input in tool_result events"
    print(f"control capture (no collector): {len(control_capture)} events, prompt text and tool input present")


def test_the_loki_export_has_no_prompt_response_tool_input_or_email(host, session):  # pylint: disable=unused-argument
    raw = host.check_output("cat /var/tmp/loki-standin.jsonl 2>/dev/null || true")
    assert session["session_id"] in raw, "the stand-in for Loki recorded nothing of the session yet"
    assert PROMPT not in raw, "prompt text reached the Loki export"
    assert TOOL_INPUT not in raw, "tool input reached the Loki export"
    keys = set()
    for line in raw.splitlines():
        entry = json.loads(line)
        if entry["path"] != "/v1/logs":
            continue
        for resource_logs in json.loads(entry["body"]).get("resourceLogs", []):
            for scope in resource_logs.get("scopeLogs", []):
                for record in scope.get("logRecords", []):
                    for attribute in record.get("attributes", []):
                        keys.add(attribute["key"])
                        if attribute["key"] == "user.email":
                            assert "@" not in json.dumps(attribute["value"]), "user.email left the collector in clear"
    leaked = sorted(keys & set(SENSITIVE))
    assert not leaked, f"sensitive attributes exported: {leaked}"
    print(f"Loki export: {len(raw.splitlines())} requests, attributes {sorted(keys)}; none of {SENSITIVE}")


def test_prometheus_has_no_prompt_text_or_sensitive_label(host, session):  # pylint: disable=unused-argument
    query = urllib.parse.urlencode({"match[]": '{job="claude-code"}'})
    out = json.loads(host.check_output(f"curl -fsS '{PROM}/api/v1/series?{query}'"))
    series = out["data"]
    assert series, "no Claude Code series in Prometheus"
    labels = {k for s in series for k in s}
    assert not labels & {"prompt", "response", "tool_input", "tool_parameters", "user_email"}, labels
    values = json.dumps(series)
    assert PROMPT not in values and TOOL_INPUT not in values
    print(f"Prometheus: {len(series)} Claude Code series, labels {sorted(labels)}: no prompt text, no tool input")
