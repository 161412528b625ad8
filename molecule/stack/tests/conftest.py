"""Shared by the stack tests: one real Claude Code session, run once per test run.

The real CLI (npm @anthropic-ai/claude-code, installed by tests/harness.sh) runs on the
controller against tests/claude/fake_messages_api.py, a test stand-in for the Anthropic
Messages API, and exports OTLP to the collector in the stack container. Every session's JSON
result is appended to sessions.jsonl in the scenario's ephemeral directory, so tests that
compare dashboard totals can add up every session the stack has seen.
"""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
CONTAINER = "tcc-stack-trixie"
SESSIONS_FILE = pathlib.Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp")) / "sessions.jsonl"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _container_ip() -> str:
    return subprocess.check_output(
        ["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", CONTAINER],
        text=True,
    ).strip()


def session_env(endpoint: str, api_port: int, protocol: str = "http/protobuf") -> dict:
    """The environment of a scripted session that exports to `endpoint` (no token here)."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "CLAUDE_BIN": os.environ.get("CLAUDE_BIN", "claude"),
        "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{api_port}",
        "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_METRIC_EXPORT_INTERVAL": "2000",
        "OTEL_LOGS_EXPORT_INTERVAL": "1000",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        # A team label (Claude Code copies resource attributes onto every series).
        "OTEL_RESOURCE_ATTRIBUTES": "team=platform,cost_center=4711",
        # The developer opts in to prompt and tool-detail logging: the collector's defaults must
        # still keep that content out of Prometheus and the Loki export (test_privacy.py).
        "OTEL_LOG_USER_PROMPTS": "1",
        "OTEL_LOG_TOOL_DETAILS": "1",
    }


def start_messages_api():
    """The Messages API stand-in on a free loopback port: (process, port)."""
    port = _free_port()
    api = subprocess.Popen(  # pylint: disable=consider-using-with
        # The subagent's last request fails once (HTTP 400): Claude Code emits a real api_error
        # event, and the session still completes (tests/claude/fake_messages_api.py).
        [sys.executable, str(ROOT / "tests/claude/fake_messages_api.py"), "--port", str(port),
         "--fail-once", "subagent/final:400"],
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    return api, port


def run_session(env: dict) -> dict:
    out = subprocess.run(
        ["bash", str(ROOT / "tests/claude/run_session.sh")],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert out.returncode == 0, f"claude session failed: {out.stderr}\n{out.stdout}"
    return json.loads(out.stdout)


def _token() -> str:
    path = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "ingest-token"
    return path.read_text(encoding="utf-8").strip() if path.exists() else ""


@pytest.fixture(scope="session")
def session():
    """Run one scripted Claude Code session against the stack; return its JSON result."""
    api, port = start_messages_api()
    try:
        env = session_env(f"http://{_container_ip()}:4318", port)
        if _token():
            env["OTEL_EXPORTER_OTLP_HEADERS"] = f"Authorization=Bearer {_token()}"
        result = run_session(env)
        with SESSIONS_FILE.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(result) + "\n")
        print(f"Claude Code says: total_cost_usd={result['total_cost_usd']} modelUsage={json.dumps(result['modelUsage'])}")
        return result
    finally:
        api.terminate()
        api.wait(timeout=10)


def all_sessions() -> list:
    """Every session this stack has seen (this run's and earlier verify runs')."""
    if not SESSIONS_FILE.exists():
        return []
    return [json.loads(line) for line in SESSIONS_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
