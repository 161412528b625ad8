"""The fleet counters' history (prometheus_fleet_counters, module prometheus_fleet_seed), on
every host of the scenario: Prometheus 3.5, 2.53 and 2.42.

converge.yml gives each host sessions of 6 to 4 hours ago (blocks older than the head) and of
the last 50 minutes (the head), then turns the fleet counters on: the role seeds their history
before their rule. files/fleet_sessions.py wrote what each counter must hold at five whole
minutes of that time (expected.json).

This file runs last (pytest takes the files in name order) because its last test restarts
Prometheus: a restart changes what test_prometheus.py (one start) and test_remote_write.py (the
series at one instant, NaN summaries included) read.
"""

import json
import os
import pathlib
import time

FLEET_EXPECTED = pathlib.Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent")) / "fleet" / "expected.json"
FLEET_BY = {"claude_code:cost_usage_USD:fleet_total": ("model",),
            "claude_code:token_usage_tokens:fleet_total": ("model", "type"),
            "claude_code:sessions:fleet_started": (), "claude_code:sessions:fleet_ended": ()}


def _query_at(host, expr, at=None):
    timed = f" --data-urlencode 'time={at}'" if at is not None else ""
    out = host.check_output(f"curl -fsS --get --data-urlencode 'query={expr}'{timed} http://127.0.0.1:9090/api/v1/query")
    return json.loads(out)["data"]["result"]


def _fleet_values(host, record, at=None):
    return {",".join(f'{name}="{r["metric"].get(name, "")}"' for name in FLEET_BY[record]): float(r["value"][1])
            for r in _query_at(host, record, at)}


def _assert_fleet_history(host, expected):
    for record, by_instant in expected["records"].items():
        for instant, groups in sorted(by_instant.items()):
            got = _fleet_values(host, record, instant)
            want = {group: value for group, value in groups.items() if value}
            assert got.keys() == want.keys(), (record, instant, got, want)
            for group, value in want.items():
                assert abs(got[group] - value) <= 1e-9 * value, (record, instant, group, got[group], value)


def test_fleet_counters_hold_the_history_from_before_their_rule(host):
    """At five instants before the rule existed, from the blocks' part and the head's part of the
    history, every counter holds what the sessions had accrued L before (to 1e-9)."""
    expected = json.loads(FLEET_EXPECTED.read_text())
    _assert_fleet_history(host, expected)
    print(f"\n{sum(len(v) for r in expected['records'].values() for v in r.values())} values at "
          f"{len(expected['instants'])} instants, as expected")


def test_fleet_counters_go_on_from_the_history(host):
    """The rule continues the history: now, the totals of every session (no session since), never
    a reset; the counters with no series to seed from (lines, decisions, active time) wait."""
    expected = json.loads(FLEET_EXPECTED.read_text())
    rule = host.file("/etc/prometheus/rules/claude_code_fleet.yml")
    assert rule.user == "root" and rule.group == "prometheus" and rule.mode == 0o640
    deadline = time.time() + 150
    while True:
        evaluated = _query_at(host, "timestamp(claude_code:cost_usage_USD:fleet_total) > " + str(expected["now"] + 60))
        if evaluated or time.time() > deadline:
            break
        time.sleep(5)
    assert evaluated, "the rule has not written a point since the history's end"
    for record in FLEET_BY:
        want = {g: v for g, v in expected["records"][record][str(expected["now"])].items() if v}
        got = _fleet_values(host, record)
        assert got.keys() == want.keys() and all(abs(got[g] - v) <= 1e-9 * v for g, v in want.items()), (got, want)
        resets = _query_at(host, f"resets({record}[8h])")
        assert resets and all(float(r["value"][1]) == 0 for r in resets), resets
    # every session has started; the six of 6 to 4 hours ago have ended, the six of the last 50
    # minutes not yet (an hour after their last sample)
    assert _fleet_values(host, "claude_code:sessions:fleet_started") == {"": 12.0}
    assert _fleet_values(host, "claude_code:sessions:fleet_ended") == {"": 6.0}
    for record in ("claude_code:lines_of_code_count:fleet_total", "claude_code:code_edit_tool_decision:fleet_total",
                   "claude_code:active_time_seconds:fleet_total"):
        assert _query_at(host, record) == [], record


def _raw_samples(host):
    return {metric: float(_query_at(host, f"sum(count_over_time({metric}[8h]))")[0]["value"][1])
            for metric in ("claude_code_cost_usage_USD_total", "claude_code_token_usage_tokens_total")}


def test_fleet_history_and_raw_series_survive_a_restart(host):
    """Last, as it restarts Prometheus. A history block that reached into the head
    would make Prometheus drop the head's raw samples older than its end on the next load of its
    blocks (roles/prometheus/README.md, "Query cost"): after a restart every raw sample is still
    there (12 sessions: 108 cost samples, 324 token samples), and so is the history."""
    before = _raw_samples(host)
    assert before == {"claude_code_cost_usage_USD_total": 108, "claude_code_token_usage_tokens_total": 324}, before
    host.check_output("systemctl restart prometheus")
    deadline = time.time() + 120
    while host.run("curl -fsS http://127.0.0.1:9090/-/ready").rc != 0 and time.time() < deadline:
        time.sleep(2)
    assert _raw_samples(host) == before
    _assert_fleet_history(host, json.loads(FLEET_EXPECTED.read_text()))
