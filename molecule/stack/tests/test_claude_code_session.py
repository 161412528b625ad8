"""A real Claude Code session's telemetry arrives in Prometheus, and its totals are Claude Code's own.

The real CLI (npm @anthropic-ai/claude-code, installed by tests/harness.sh) runs on the
controller against tests/claude/fake_messages_api.py, a test stand-in for the Anthropic
Messages API (streaming SSE, scripted tool_use turns: Write, Bash, Read, Edit and an Agent
subagent on a second model). Its OTLP export goes to the collector deployed in the stack
container; Prometheus scrapes the collector. Nothing here invents a metric: the names checked
are the ones measured and written down in docs/telemetry.md.
"""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.parse

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
CONTAINER = "tcc-stack-trixie"
PROM = "http://127.0.0.1:9090"

# Claude Code's modelUsage keys -> the `type` label of claude_code.token.usage
TOKEN_TYPES = {
    "inputTokens": "input",
    "outputTokens": "output",
    "cacheReadInputTokens": "cacheRead",
    "cacheCreationInputTokens": "cacheCreation",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _container_ip() -> str:
    return subprocess.check_output(
        ["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", CONTAINER],
        text=True,
    ).strip()


def _token() -> str:
    path = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "ingest-token"
    return path.read_text(encoding="utf-8").strip() if path.exists() else ""


@pytest.fixture(scope="module")
def session():
    """Run one scripted Claude Code session against the stack; return its JSON result."""
    claude = os.environ.get("CLAUDE_BIN", "claude")
    port = _free_port()
    api = subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, str(ROOT / "tests/claude/fake_messages_api.py"), "--port", str(port)],
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.5)
        env = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "CLAUDE_BIN": claude,
            "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{port}",
            "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
            "OTEL_METRICS_EXPORTER": "otlp",
            "OTEL_LOGS_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{_container_ip()}:4318",
            "OTEL_METRIC_EXPORT_INTERVAL": "2000",
            "OTEL_LOGS_EXPORT_INTERVAL": "1000",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        }
        if _token():
            env["OTEL_EXPORTER_OTLP_HEADERS"] = f"Authorization=Bearer {_token()}"
        out = subprocess.run(
            ["bash", str(ROOT / "tests/claude/run_session.sh")],
            env=env, capture_output=True, text=True, timeout=300, check=False,
        )
        assert out.returncode == 0, f"claude session failed: {out.stderr}\n{out.stdout}"
        result = json.loads(out.stdout)
        print(f"Claude Code says: total_cost_usd={result['total_cost_usd']} modelUsage={json.dumps(result['modelUsage'])}")
        return result
    finally:
        api.terminate()
        api.wait(timeout=10)


def _query(host, promql: str) -> list:
    url = f"{PROM}/api/v1/query?query={urllib.parse.quote(promql)}"
    out = json.loads(host.check_output(f"curl -fsS '{url}'"))
    assert out["status"] == "success", out
    return out["data"]["result"]


def _wait_for(host, promql: str, expected: float, timeout: float = 90.0) -> float:
    """Poll until the single-value query equals expected (relative 1e-6), or time out."""
    deadline = time.time() + timeout
    value = None
    while time.time() < deadline:
        result = _query(host, promql)
        if result:
            value = float(result[0]["value"][1])
            if abs(value - expected) <= max(1e-9, abs(expected) * 1e-6):
                return value
        time.sleep(3)
    pytest.fail(f"{promql} = {value}, expected {expected} (waited {timeout:.0f} s)")


def test_cost_total_equals_claude_codes_own(host, session):
    expected = session["total_cost_usd"]
    assert expected > 0
    sid = session["session_id"]
    got = _wait_for(host, f'sum(claude_code_cost_usage_USD_total{{session_id="{sid}"}})', expected)
    print(f"Prometheus: sum(claude_code_cost_usage_USD_total) = {got}; Claude Code: {expected}")


def test_cost_per_model_equals_claude_codes_own(host, session):
    models = session["modelUsage"]
    assert len(models) >= 2, f"the scripted session should use two models: {list(models)}"
    for model, usage in models.items():
        _wait_for(host, f'sum(claude_code_cost_usage_USD_total{{session_id="{session["session_id"]}",model="{model}"}})',
                  usage["costUSD"])


def test_tokens_per_model_and_type_equal_claude_codes_own(host, session):
    for model, usage in session["modelUsage"].items():
        for key, token_type in TOKEN_TYPES.items():
            expected = usage[key]
            assert expected > 0, f"the stand-in should produce {key} for {model}"
            _wait_for(
                host,
                f'sum(claude_code_token_usage_tokens_total{{session_id="{session["session_id"]}",'
                f'model="{model}",type="{token_type}"}})',
                expected,
            )


def test_session_and_code_metrics_arrive(host, session):
    session_id = session["session_id"]
    for series in (
        "claude_code_session_count_total",
        "claude_code_lines_of_code_count_total",
        "claude_code_code_edit_tool_decision_total",
        "claude_code_active_time_seconds_total",
    ):
        _wait_for(host, f'count(count by (session_id) ({series}{{session_id="{session_id}"}}))', 1)


def test_first_sample_of_new_series_is_counted(host, session):
    """Created-timestamp zero ingestion: every new per-session series starts from a real 0 sample.

    Without it, the first scraped value of a series (for a short session: almost all of it) is
    the first sample Prometheus knows, and increase()/rate() cannot count it.
    """
    expected = session["total_cost_usd"]
    sid = session["session_id"]
    _wait_for(host, f'sum(claude_code_cost_usage_USD_total{{session_id="{sid}"}})', expected)
    mins = _query(host, f'min_over_time(claude_code_cost_usage_USD_total{{session_id="{sid}"}}[30m])')
    assert mins and all(float(r["value"][1]) == 0.0 for r in mins), mins
    got = float(_query(host, f'sum(max_over_time(claude_code_cost_usage_USD_total{{session_id="{sid}"}}[30m]) '
                             f'- min_over_time(claude_code_cost_usage_USD_total{{session_id="{sid}"}}[30m]))')[0]["value"][1])
    assert abs(got - expected) <= expected * 1e-6, (got, expected)
    inc = float(_query(host, f'sum(increase(claude_code_cost_usage_USD_total{{session_id="{sid}"}}[30m]))')[0]["value"][1])
    # Recorded, not asserted: increase() extrapolates to the range edges, which overshoots on
    # series much shorter than the range (docs/telemetry.md has the figures).
    print(f"session cost {expected}: max-min over 30m = {got}; increase()[30m] = {inc}")
