"""Privacy, proved on real sessions of every supported Claude Code with EVERY content opt-in on.

The developer's environment turns on everything Claude Code can send (conftest.CONTENT_OPT_INS:
prompts, tool details and content, assistant responses, raw API bodies, the repository on
metrics, the host on the resource, traces), and a unique marker is in the prompt and in the
repository's remote URL.

1. Control: the same scripted session, with the same opt-ins, exports to a local OTLP recorder
   (tests/claude/otlp_capture.py) instead of the stack. The marker IS in what the client sends.
2. The stack's sessions (conftest.py) went through the collector with its defaults: the marker
   is nowhere in the Loki export (recorded by the stand-in for Loki, not Loki), in no Prometheus
   series (name, label or value), and no span left the collector (its traces pipeline ends in the
   `nop` exporter: spans are accepted and discarded).
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
import yaml

from conftest import MARKER, ROOT, VERSIONS, _free_port, run_session, session_env, start_messages_api  # pylint: disable=import-error

PROM = "http://127.0.0.1:9090"


@pytest.fixture(scope="module")
def control_captures():
    """{version: what the client sends with every opt-in on, recorded before any collector (raw lines)}."""
    captures = {}
    for version in VERSIONS:
        out = pathlib.Path(tempfile.mkdtemp(prefix="tcc-privacy-")) / "client.jsonl"
        port = _free_port()
        recorder = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, str(ROOT / "tests/claude/otlp_capture.py"), "--port", str(port), "--out", str(out)],
            stderr=subprocess.DEVNULL,
        )
        api, api_port = start_messages_api()
        try:
            time.sleep(0.5)
            run_session(session_env(f"http://127.0.0.1:{port}", api_port, protocol="http/json", version=version))
            time.sleep(3)  # the last log export
        finally:
            api.terminate()
            recorder.terminate()
            api.wait(timeout=10)
            recorder.wait(timeout=10)
        captures[version] = out.read_text(encoding="utf-8").splitlines()
    return captures


@pytest.mark.parametrize("version", VERSIONS)
def test_the_client_sends_the_marker_when_opted_in(control_captures, version):  # pylint: disable=redefined-outer-name
    lines = control_captures[version]
    by_path = {}
    for line in lines:
        entry = json.loads(line)
        by_path.setdefault(entry["path"], []).append(MARKER in entry["body"])
    print(f"control, Claude Code {version}: requests with the marker per path: "
          f"{ {path: f'{sum(found)}/{len(found)}' for path, found in by_path.items()} }")
    assert any(by_path.get("/v1/logs", [])), f"{version}: the marker is in none of the client's log exports"


def test_the_loki_export_has_no_marker(host, sessions_by_version):
    raw = host.check_output("cat /var/tmp/loki-standin.jsonl 2>/dev/null || true")
    for version, session in sessions_by_version.items():
        assert session["session_id"] in raw, f"the stand-in for Loki recorded nothing of the {version} session yet"
    assert MARKER not in raw, "content of a session reached the Loki export"
    keys = set()
    for line in raw.splitlines():
        entry = json.loads(line)
        if entry["path"] != "/v1/logs":
            continue
        for resource_logs in json.loads(entry["body"]).get("resourceLogs", []):
            keys.update(a["key"] for a in resource_logs.get("resource", {}).get("attributes", []))
            for scope in resource_logs.get("scopeLogs", []):
                for record in scope.get("logRecords", []):
                    for attribute in record.get("attributes", []):
                        keys.add(attribute["key"])
                        if attribute["key"] == "user.email":
                            assert "@" not in json.dumps(attribute["value"]), "user.email left the collector in clear"
    content = {"prompt", "prompt_text", "response", "tool_input", "tool_parameters", "body", "system_prompt", "error",
               "host.name", "host.id", "vcs.repository.url.full", "vcs.repository.name", "vcs.ref.head.name"}
    assert not keys & content, f"content attributes exported: {sorted(keys & content)}"
    print(f"Loki export: {len(raw.splitlines())} requests, attribute keys {sorted(keys)}: no marker, none of {sorted(content)}")


def test_prometheus_has_no_marker_anywhere(host, sessions_by_version):
    query = urllib.parse.urlencode({"match[]": '{__name__=~".+"}', "start": f"{time.time() - 7200:.0f}"})
    series = json.loads(host.check_output(f"curl -fsS '{PROM}/api/v1/series?{query}'"))["data"]
    ours = [s for s in series if s.get("session_id") in {x["session_id"] for x in sessions_by_version.values()}]
    assert ours, "no series of the sessions in Prometheus"
    assert MARKER not in json.dumps(series), "content of a session reached a Prometheus series"
    labels = {k for s in ours for k in s}
    assert not labels & {"prompt", "host_name", "host_id", "vcs_repository_url_full", "vcs_repository_name"}, labels
    print(f"Prometheus: {len(series)} series ({len(ours)} of the sessions), labels of the sessions' series "
          f"{sorted(labels)}: no marker")


def test_no_span_leaves_the_collector(host, sessions_by_version):  # pylint: disable=unused-argument
    """Claude Code sent traces (opted in): the collector accepts them (a 404 costs Claude Code
    2.1.197 its exit export) and discards them: the traces pipeline's only exporter is `nop`."""
    own = host.check_output("curl -fsS http://127.0.0.1:8888/metrics")
    spans = [line for line in own.splitlines() if "_spans" in line and not line.startswith("#")]
    print(f"collector's span counters: {spans or 'none'}")
    accepted = sum(float(line.rsplit(" ", 1)[1]) for line in spans if "receiver_accepted_spans" in line)
    assert accepted > 0, "the collector accepted no span: Claude Code's traces were refused"
    assert not [line for line in spans if "sent_spans" in line and not line.endswith(" 0")], spans
    traces = yaml.safe_load(host.check_output("cat /etc/otelcol/config.yaml"))["service"]["pipelines"]["traces"]
    assert traces["exporters"] == ["nop"], traces
    print(f"{accepted:.0f} spans accepted, every one discarded (traces pipeline exporters: nop)")
