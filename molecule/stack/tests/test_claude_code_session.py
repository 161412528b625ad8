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
import time
import urllib.parse

import pytest

PROM = "http://127.0.0.1:9090"

# Claude Code's modelUsage keys -> the `type` label of claude_code.token.usage
TOKEN_TYPES = {
    "inputTokens": "input",
    "outputTokens": "output",
    "cacheReadInputTokens": "cacheRead",
    "cacheCreationInputTokens": "cacheCreation",
}


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
