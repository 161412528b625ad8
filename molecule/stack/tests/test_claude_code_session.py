"""Real Claude Code sessions' telemetry arrives in Prometheus, and its totals are Claude Code's own.

The real CLI of every supported version (npm @anthropic-ai/claude-code, installed by
tests/harness.sh) runs on the controller against tests/claude/fake_messages_api.py, a test
stand-in for the Anthropic Messages API (streaming SSE, scripted tool_use turns: Write, Bash,
Read, Edit and an Agent subagent on a second model). Its OTLP export goes to the stack
container; the collector pushes the metrics to Prometheus (remote write). Totals are read the
way the dashboards read them (plugins/module_utils/pricing.py: per series, the highest value in
the window minus the last value before it), and must equal Claude Code's own --output-format
json (total_cost_usd, modelUsage) within 0.1 %. Nothing here invents a metric: the names checked
are the ones measured and written down in docs/telemetry.md.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.parse

import pytest

from conftest import ROOT, VERSIONS  # pylint: disable=import-error

sys.path.insert(0, str(ROOT / "plugins" / "module_utils"))
import pricing  # noqa: E402  pylint: disable=wrong-import-position,import-error

PROM = "http://127.0.0.1:9090"
WINDOW = "2h"

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


def accrued(selector: str) -> str:
    """What the selected series accrued over the last WINDOW, summed: the dashboards' own query."""
    return f"sum({pricing.accrued(selector, WINDOW)})"


def _wait_for(host, promql: str, expected: float, timeout: float = 90.0) -> float:
    """Poll until the single-value query is within 0.1 % of expected, or time out."""
    deadline = time.time() + timeout
    value = None
    while time.time() < deadline:
        result = _query(host, promql)
        if result:
            value = float(result[0]["value"][1])
            if abs(value - expected) <= max(1e-9, abs(expected) * 1e-3):
                return value
        time.sleep(3)
    # What the collector and the gateway said, to see where the data stopped.
    journal = host.run("journalctl -u otelcol -u otlp-gateway -u prometheus --no-pager -n 60 -o cat").stdout
    own = host.run("curl -fsS http://127.0.0.1:8888/metrics | grep -E "
                   "'^otelcol_(receiver_(accepted|refused|failed)|exporter_prometheusremotewrite_wal_(lag|writes))'").stdout
    pytest.fail(f"{promql} = {value}, expected {expected} (waited {timeout:.0f} s)\n{own}\n{journal[-6000:]}")


@pytest.mark.parametrize("version", VERSIONS)
def test_cost_total_equals_claude_codes_own(host, sessions_by_version, version):
    session = sessions_by_version[version]
    expected = session["total_cost_usd"]
    assert expected > 0
    got = _wait_for(host, accrued(f'claude_code_cost_usage_USD_total{{session_id="{session["session_id"]}"}}'), expected)
    print(f"Claude Code {version}: Prometheus {got} USD, Claude Code {expected} USD")


@pytest.mark.parametrize("version", VERSIONS)
def test_cost_per_model_equals_claude_codes_own(host, sessions_by_version, version):
    session = sessions_by_version[version]
    models = session["modelUsage"]
    assert len(models) >= 2, f"the scripted session should use two models: {list(models)}"
    for model, usage in models.items():
        got = _wait_for(host, accrued(f'claude_code_cost_usage_USD_total{{session_id="{session["session_id"]}",'
                                      f'model="{model}"}}'), usage["costUSD"])
        print(f"Claude Code {version}, {model}: Prometheus {got} USD, Claude Code {usage['costUSD']} USD")


@pytest.mark.parametrize("version", VERSIONS)
def test_tokens_per_model_and_type_equal_claude_codes_own(host, sessions_by_version, version):
    session = sessions_by_version[version]
    for model, usage in session["modelUsage"].items():
        for key, token_type in TOKEN_TYPES.items():
            expected = usage[key]
            assert expected > 0, f"the stand-in should produce {key} for {model}"
            _wait_for(host, accrued(f'claude_code_token_usage_tokens_total{{session_id="{session["session_id"]}",'
                                    f'model="{model}",type="{token_type}"}}'), expected)


@pytest.mark.parametrize("version", VERSIONS)
def test_session_and_code_metrics_arrive(host, sessions_by_version, version):
    session_id = sessions_by_version[version]["session_id"]
    for series in (
        "claude_code_session_count_total",
        "claude_code_lines_of_code_count_total",
        "claude_code_code_edit_tool_decision_total",
        "claude_code_active_time_seconds_total",
        "claude_code_commit_count_total",
        "claude_code_pull_request_count_total",
    ):
        _wait_for(host, f'count(count by (session_id) (last_over_time({series}{{session_id="{session_id}"}}[{WINDOW}])))', 1)


def test_each_pushed_series_starts_at_its_first_value_and_carries_its_stream_start(host, session):
    """Pushed series have no zero sample before their first value, so max - min would lose it.

    The accrual counts it (nothing before the window: 0 is subtracted), while max - min over the
    window leaves out each series' first value (recorded, not asserted: it is the old query).
    """
    sid = session["session_id"]
    selector = f'claude_code_cost_usage_USD_total{{session_id="{sid}"}}'
    _wait_for(host, accrued(selector), session["total_cost_usd"])
    series = _query(host, f"last_over_time({selector}[{WINDOW}])")
    assert series and all(r["metric"].get("stream_start", "").isdigit() for r in series), series
    old = float(_query(host, f"sum(max_over_time({selector}[{WINDOW}]) - min_over_time({selector}[{WINDOW}]))")[0]["value"][1])
    print(f"session {session['total_cost_usd']} USD: the dashboards' accrual = that; max - min over the window = {old}")
