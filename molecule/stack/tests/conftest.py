"""Shared by the stack tests: one real Claude Code session per supported version, run once per test run.

The real CLI of every supported version (npm @anthropic-ai/claude-code: the oldest and the
newest, installed by tests/harness.sh, which names them in TCC_CLAUDE_BINS) runs on the
controller against tests/claude/fake_messages_api.py, a test stand-in for the Anthropic
Messages API, and exports OTLP to the stack container, with EVERY content opt-in of the client
on and a unique marker in the prompt and the repository's URL (test_privacy.py looks for it).
Every session's JSON result is appended to sessions.jsonl in the scenario's ephemeral
directory, so tests that compare dashboard totals can add up every session the stack has seen.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import socket
import subprocess
import sys
import time
import uuid

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
CONTAINER = "tcc-stack-trixie"
SESSIONS_FILE = pathlib.Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp")) / "sessions.jsonl"
# A string that must never reach storage: it is in the prompt and in the repository's URL.
MARKER = f"tccmarker{uuid.uuid4().hex[:12]}"
CACHE = pathlib.Path(os.environ.get("TCC_CACHE") or pathlib.Path.home() / ".cache" / "telemetry.claude_code")


def claude_bins() -> dict:
    """{version: claude executable} of every supported Claude Code, oldest first.

    tests/harness.sh exports TCC_CLAUDE_BINS ("2.1.197=/path 2.1.332=/path"); without it, the
    versions of docs/catalog/claude-code-<version>.json in the harness's cache.
    """
    pairs = [item.split("=", 1) for item in os.environ.get("TCC_CLAUDE_BINS", "").split() if "=" in item]
    if not pairs:
        versions = {re.search(r"claude-code-([0-9.]+?)\.json$", p.name).group(1)
                    for p in (ROOT / "docs" / "catalog").glob("claude-code-*.json") if not p.name.endswith(".models.json")}
        pairs = [(v, str(CACHE / f"claude-code-{v}" / "node_modules" / ".bin" / "claude")) for v in versions]
    bins = dict(sorted(pairs, key=lambda p: tuple(int(x) for x in p[0].split("."))))
    assert bins, "no supported Claude Code: run tests/harness.sh setup"
    return bins


VERSIONS = list(claude_bins())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _container_ip() -> str:
    return subprocess.check_output(
        ["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", CONTAINER],
        text=True,
    ).strip()


# Every content opt-in the client has (Claude Code 2.1.332; 2.1.197 ignores those it does not
# know), traces included: the collector's defaults must keep all of it out of storage.
CONTENT_OPT_INS = {
    "OTEL_LOG_USER_PROMPTS": "1",
    "OTEL_LOG_TOOL_DETAILS": "1",
    "OTEL_LOG_TOOL_CONTENT": "1",
    "OTEL_LOG_ASSISTANT_RESPONSES": "1",
    "OTEL_LOG_RAW_API_BODIES": "1",
    "OTEL_METRICS_INCLUDE_REPOSITORY": "1",
    "OTEL_RESOURCE_INCLUDE_HOST": "1",
    "OTEL_TRACES_EXPORTER": "otlp",
    "CLAUDE_CODE_ENHANCED_TELEMETRY_BETA": "1",
    "OTEL_TRACES_EXPORT_INTERVAL": "1000",
}


def session_env(endpoint: str, api_port: int, protocol: str = "http/protobuf", version: str | None = None) -> dict:
    """The environment of a scripted session that exports to `endpoint` (no token here)."""
    version = version or VERSIONS[-1]
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "CLAUDE_BIN": claude_bins()[version],
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
        # The developer opts in to every kind of content: the collector's defaults must still
        # keep all of it out of Prometheus, the Loki export and anything else (test_privacy.py).
        **CONTENT_OPT_INS,
        # The marker in the prompt, and in the repository's URL (run_session.sh makes the work
        # directory a git repository; this gives it a remote).
        "CLAUDE_PROMPT": f"Create hello.py that prints a greeting ({MARKER}), run it, read it back, change the "
                         "greeting, then have a subagent list the files.",
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "remote.origin.url",
        "GIT_CONFIG_VALUE_0": f"https://git.example.invalid/acme/{MARKER}.git",
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
def sessions_by_version():
    """One scripted session of every supported Claude Code against the stack: {version: JSON result}."""
    results = {}
    for version in VERSIONS:
        # A stand-in of its own per session: its scripted failure is once per stand-in.
        api, port = start_messages_api()
        try:
            env = session_env(f"http://{_container_ip()}:4318", port, version=version)
            if _token():
                env["OTEL_EXPORTER_OTLP_HEADERS"] = f"Authorization=Bearer {_token()}"
            result = run_session(env)
        finally:
            api.terminate()
            api.wait(timeout=10)
        result["claude_code_version"] = version
        with SESSIONS_FILE.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(result) + "\n")
        print(f"Claude Code {version} says: total_cost_usd={result['total_cost_usd']} "
              f"modelUsage={json.dumps(result['modelUsage'])}")
        results[version] = result
    return results


@pytest.fixture(scope="session")
def session(sessions_by_version):  # pylint: disable=redefined-outer-name
    """The newest supported Claude Code's session."""
    return sessions_by_version[VERSIONS[-1]]


def all_sessions() -> list:
    """Every session this stack has seen (this run's and earlier verify runs')."""
    if not SESSIONS_FILE.exists():
        return []
    return [json.loads(line) for line in SESSIONS_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
