"""Real Claude Code sessions for the scenarios that feed a stack (stack, faults).

The real CLI of every supported version (npm @anthropic-ai/claude-code: the oldest and the
newest, installed by tests/harness.sh, which names them in TCC_CLAUDE_BINS) runs on the
controller against tests/claude/fake_messages_api.py, a test stand-in for the Anthropic
Messages API, through tests/claude/run_session.sh, and exports OTLP where it is told.
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

ROOT = pathlib.Path(__file__).resolve().parents[2]
CACHE = pathlib.Path(os.environ.get("TCC_CACHE") or pathlib.Path.home() / ".cache" / "telemetry.claude_code")

# Every content opt-in the client has (Claude Code 2.1.332; 2.1.197 ignores those it does not
# know), traces included.
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


def claude_bins() -> dict:
    """{version: claude executable} of every supported Claude Code, oldest first.

    tests/harness.sh exports TCC_CLAUDE_BINS ("2.1.197=/path 2.1.332=/path"); without it, the
    versions of docs/catalog/claude-code-<version>.json, installed in the harness's cache.
    """
    pairs = [item.split("=", 1) for item in os.environ.get("TCC_CLAUDE_BINS", "").split() if "=" in item]
    if not pairs:
        versions = {re.search(r"claude-code-([0-9.]+?)\.json$", p.name).group(1)
                    for p in (ROOT / "docs" / "catalog").glob("claude-code-*.json") if not p.name.endswith(".models.json")}
        pairs = [(v, str(CACHE / f"claude-code-{v}" / "node_modules" / ".bin" / "claude")) for v in versions]
    bins = dict(sorted(pairs, key=lambda p: tuple(int(x) for x in p[0].split("."))))
    assert bins, "no supported Claude Code: run tests/harness.sh setup"
    return bins


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def container_ip(container: str) -> str:
    return subprocess.check_output(
        ["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", container],
        text=True,
    ).strip()


def session_env(endpoint: str, api_port: int, version: str, protocol: str = "http/protobuf", **extra) -> dict:
    """The environment of a scripted session of `version` that exports to `endpoint` (no token)."""
    env = {
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
        # Claude Code gives its exports at exit 2 s (CLAUDE_CODE_OTEL_SHUTDOWN_TIMEOUT_MS, read by
        # 2.1.197 and 2.1.332), then exits and drops what is still in flight. A scripted session
        # lasts about a second, so everything it sends goes out at exit: more time for a loaded
        # 2-core machine. (The whole 2.1.197 sessions that once never arrived were lost to a 404
        # on /v1/traces, not to time: see the otel_collector README, "Traces".)
        "CLAUDE_CODE_OTEL_SHUTDOWN_TIMEOUT_MS": "15000",
        # A team label (Claude Code copies resource attributes onto every series).
        "OTEL_RESOURCE_ATTRIBUTES": "team=platform,cost_center=4711",
    }
    env.update(extra)
    return env


def start_messages_api(*args: str, log: pathlib.Path | None = None):
    """The Messages API stand-in on a free loopback port, with these extra options: (process, port).

    With `log`, its log (one line per request, `-> label` for each reply) goes to that file.
    """
    port = free_port()
    api = subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, str(ROOT / "tests/claude/fake_messages_api.py"), "--port", str(port), *args],
        stderr=log.open("w", encoding="utf-8") if log else subprocess.DEVNULL,
    )
    time.sleep(0.5)
    return api, port


def replies(log: pathlib.Path) -> int:
    """How many /v1/messages requests the stand-in answered normally (its scripted failures not counted):
    each is one api_request event of the session."""
    return sum(1 for line in log.read_text(encoding="utf-8").splitlines()
               if "POST /v1/messages" in line and " -> " in line and "scripted" not in line)


def run_session(env: dict, timeout: float = 600) -> dict:
    """Run tests/claude/run_session.sh; Claude Code's JSON result."""
    out = subprocess.run(
        ["bash", str(ROOT / "tests/claude/run_session.sh")],
        env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )
    assert out.returncode == 0, f"claude session failed: {out.stderr}\n{out.stdout}"
    return json.loads(out.stdout)
