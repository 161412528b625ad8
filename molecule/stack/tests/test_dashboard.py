"""The dashboards' queries against the real stack, after a real Claude Code session.

- Every Prometheus query of the four dashboards in files/dashboards/ returns data, but for the
  stack-health panels that read Loki's own series (no Loki runs here; they are named in the
  output), and the main dashboard's cost and token stat panels equal Claude Code's own totals
  (its --output-format json) within 0.1 %.
- The dashboards as the grafana role provisions them: site.yml turned their fleet-counter forms on
  (the backend's prometheus_fleet_counters), and those totals equal Claude Code's own too.
- Loki cannot run here (no binary can be had), so the Loki panels are checked one step earlier:
  the collector's log export, recorded by a STAND-IN FOR LOKI (tests/claude/otlp_capture.py on
  Loki's address, started by prepare.yml; it is not Loki), must carry every field the LogQL
  queries filter or group on, named as Loki's OTLP ingestion names them.
"""

from __future__ import annotations

import collections
import json
import pathlib
import re
import sys
import time
import urllib.parse

import pytest
import yaml

from conftest import all_sessions  # pylint: disable=import-error

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "plugins" / "module_utils"))
import pricing  # noqa: E402  pylint: disable=wrong-import-position,import-error
# The team dashboards (budgets, repositories, fleet, people) need the sessions of several teams,
# users and repositories: test_teams.py runs those and checks every panel of them.
TEAM_DASHBOARDS = {"claude-code-budgets.json", "claude-code-repositories.json", "claude-code-fleet.json",
                   "claude-code-people.json"}
DASHBOARDS = {path.name: json.loads(path.read_text(encoding="utf-8"))
              for path in sorted((ROOT / "files/dashboards").glob("*.json")) if path.name not in TEAM_DASHBOARDS}
DASHBOARD = DASHBOARDS["claude-code.json"]
# Series that only a running Loki has: the panels reading them cannot show data here.
NEEDS_LOKI = re.compile(r"\bloki_[a-z_]+")
PRICES = yaml.safe_load((ROOT / "files/model_prices.yml").read_text(encoding="utf-8"))["claude_code_model_prices"]
PROM = "http://127.0.0.1:9090"
# Grafana's variables, as Grafana would fill them for a one-hour dashboard range.
GRAFANA_VARS = {"$__rate_interval": "1m", "$__range_s": "3600", "$__range": "1h", "$__interval_ms": "60000",
                "$__interval": "1m"}


def _panels(dashboard=None):
    return [p for p in (dashboard or DASHBOARD)["panels"] if p["type"] != "row"]


def _targets(kind):
    for name, dashboard in DASHBOARDS.items():
        for panel in _panels(dashboard):
            for target in panel.get("targets", []):
                if target["datasource"]["type"] == kind:
                    yield name, panel, target


def _fill(expr: str) -> str:
    # The start of the one-hour range, as Grafana writes ${__from:date:seconds}.
    expr = expr.replace("${__from:date:seconds}", f"{time.time() - 3600:.0f}")
    for name, value in GRAFANA_VARS.items():
        expr = expr.replace(name, value)
    return expr


def _api(host, path: str, **params) -> dict:
    query = urllib.parse.urlencode(params)
    out = json.loads(host.check_output(f"curl -fsS '{PROM}{path}?{query}'"))
    assert out["status"] == "success", out
    return out["data"]


def _instant(host, expr: str) -> list:
    return _api(host, "/api/v1/query", query=_fill(expr))["result"]


def _value(host, panel_title: str, ref: str = "A", dashboard=None) -> float:
    panel = next(p for p in _panels(dashboard) if p["title"] == panel_title)
    target = next(t for t in panel["targets"] if t["refId"] == ref)
    result = _instant(host, target["expr"])
    assert len(result) == 1, (panel_title, result)
    return float(result[0]["value"][1])


def _price(model: str, key: str) -> float:
    for entry in PRICES["models"]:
        if re.fullmatch(entry["match"], model):
            return entry[key] / PRICES["per"]
    pytest.fail(f"{model} has no price in files/model_prices.yml")


def _poll(host, query: str, ok, timeout: float, step: float):
    """The query's first value once ok(value) holds, or the last value seen (None: no result)."""
    deadline = time.time() + timeout
    while True:
        result = _instant(host, query)
        value = float(result[0]["value"][1]) if result else None
        if (value is not None and ok(value)) or time.time() > deadline:
            return value
        time.sleep(step)


@pytest.fixture(scope="module")
def sessions(host, sessions_by_version, feature_sessions):  # pylint: disable=unused-argument
    """All sessions the stack has seen, once Prometheus has scraped the last one."""
    everything = all_sessions()
    expected = sum(s["total_cost_usd"] for s in everything)

    def exact(value):
        return abs(value - expected) <= expected * 1e-6

    got = _poll(host, f"sum({pricing.accrued('claude_code_cost_usage_USD_total', '3h')})", exact, 90, 3)
    if got is None or not exact(got):
        pytest.fail(f"Prometheus never reached the sessions' total cost {expected} (last {got})")
    # A short session reaches the collector in one export at its end, so the collector's own
    # receiver counters (Stack Health: Accepted, Refused) may have been scraped once so far, and
    # rate() needs two samples. A Grafana user looking a scrape interval later sees them.
    for metric in ("otelcol_receiver_accepted_metric_points", "otelcol_receiver_accepted_log_records"):
        own = f'min(count_over_time({metric}{{job="otel-collector"}}[1m]))'
        scraped = _poll(host, own, lambda value: value >= 2, 60, 2)
        if scraped is None or scraped < 2:
            pytest.fail(f"the collector's receiver counters were not scraped twice: {own}")
    # The recording rules (evaluated every minute) must have seen the last session too: the
    # panels with fixed 1h/24h windows read them.
    recorded = _poll(host, "sum(claude_code:cost_usage_USD:accrued1h)", exact, 150, 5)
    if recorded is None or not exact(recorded):
        pytest.fail(f"the recording rules never reached the sessions' total cost {expected} (last {recorded})")
    return everything


def _close(got: float, expected: float, what: str) -> None:
    assert expected > 0, what
    assert abs(got - expected) <= expected * 0.001, f"{what}: panel shows {got}, Claude Code says {expected}"
    print(f"{what}: panel {got:.6g} vs Claude Code {expected:.6g}")


def test_every_prometheus_query_returns_data(host, sessions):  # pylint: disable=unused-argument,redefined-outer-name
    empty, not_exercised = [], []
    count = 0
    for name, panel, target in _targets("prometheus"):
        label = f"{name}: {panel['title']} [{target['refId']}]"
        if NEEDS_LOKI.search(target["expr"]):
            not_exercised.append(label)
            continue
        count += 1
        if target.get("instant"):
            result = _instant(host, target["expr"])
        else:
            now = time.time()
            result = _api(host, "/api/v1/query_range", query=_fill(target["expr"]),
                          start=f"{now - 900:.0f}", end=f"{now:.0f}", step="15")["result"]
            result = [r for r in result if any(v[1] not in ("NaN", "+Inf", "-Inf") for v in r["values"])]
        if not result:
            empty.append(label)
    print(f"{count} Prometheus queries of {len(DASHBOARDS)} dashboards ran; empty: {empty or 'none'}")
    print(f"NOT EXERCISED (they read Loki's own series, and no Loki binary can run here): {not_exercised}")
    assert not empty, f"panels with no data after a real session: {empty}"
    assert all(label.startswith("claude-code-stack-health.json") for label in not_exercised), not_exercised


def test_dashboard_shapes():
    shapes = {name: (len(_panels(d)), sum(p["type"] == "row" for p in d["panels"])) for name, d in DASHBOARDS.items()}
    print(f"dashboards (panels, rows): {shapes}")
    assert shapes["claude-code.json"] == (26, 7)
    assert set(shapes) == {"claude-code.json", "claude-code-overview.json", "claude-code-deep-dive.json",
                           "claude-code-stack-health.json"}


def test_overview_totals_equal_claude_codes_totals(host, sessions):  # pylint: disable=redefined-outer-name
    overview = DASHBOARDS["claude-code-overview.json"]
    total = sum(s["total_cost_usd"] for s in sessions)
    _close(_value(host, "Cost", dashboard=overview), total, "Overview: Cost")
    _close(_value(host, "Cost This Week", dashboard=overview), total, "Overview: Cost This Week")
    _close(_value(host, "Cost This Month", dashboard=overview), total, "Overview: Cost This Month")
    # one commit and one pull request per session whose script asked for them
    commits = sum(1 for s in sessions if s.get("scripted_commit", True))
    pull_requests = sum(1 for s in sessions if s.get("scripted_pr", True))
    _close(_value(host, "Commits", dashboard=overview), commits, "Overview: Commits")
    _close(_value(host, "Pull Requests", dashboard=overview), pull_requests, "Overview: Pull Requests")
    team = _instant(host, next(t for _n, p, t in _targets("prometheus") if p["title"] == "Cost by Team")["expr"])
    assert {r["metric"].get("team") for r in team} == {"platform"}, team
    _close(sum(float(r["value"][1]) for r in team), total, "Overview: Cost by Team [platform]")


def test_cost_panels_equal_claude_codes_totals(host, sessions):  # pylint: disable=redefined-outer-name
    total = sum(s["total_cost_usd"] for s in sessions)
    _close(_value(host, "Total Cost Today"), total, "Total Cost Today")
    # the forecast scales the range's cost to a day: a one-hour range x 24
    _close(_value(host, "Cost Forecast", "A"), 24 * total, "Cost Forecast (daily, 1h range)")
    _close(_value(host, "Cost Forecast", "B"), 30 * 24 * total, "Cost Forecast (monthly, 1h range)")
    _close(_value(host, "Peak Cost Hours"), total, "Peak Cost Hours (this hour)")
    per_session = total / len({s["session_id"] for s in sessions})
    _close(_value(host, "Average Cost / Session"), per_session, "Average Cost / Session")
    _close(_value(host, "Average Session Metrics", "A"), per_session, "Average Session Metrics (cost)")


def test_priced_token_panels_equal_claude_codes_tokens_times_prices(host, sessions):  # pylint: disable=redefined-outer-name
    cache_write = sum(u["cacheCreationInputTokens"] * _price(m, "cache_write")
                      for s in sessions for m, u in s["modelUsage"].items())
    plain_input = sum(u["inputTokens"] * _price(m, "input") for s in sessions for m, u in s["modelUsage"].items())
    _close(_value(host, "Cached Write Cost 24h"), cache_write, "Cached Write Cost 24h")
    _close(_value(host, "Regular Input Cost 24h"), plain_input, "Regular Input Cost 24h")
    # The prices file reproduces Claude Code's own cost for the models of the session.
    for s in sessions:
        for model, u in s["modelUsage"].items():
            priced = (u["inputTokens"] * _price(model, "input") + u["outputTokens"] * _price(model, "output")
                      + u["cacheReadInputTokens"] * _price(model, "cache_read")
                      + u["cacheCreationInputTokens"] * _price(model, "cache_write"))
            _close(priced, u["costUSD"], f"prices file vs Claude Code for {model}")


def test_token_panels_equal_claude_codes_totals(host, sessions):  # pylint: disable=redefined-outer-name
    keys = ("inputTokens", "outputTokens", "cacheReadInputTokens", "cacheCreationInputTokens")
    tokens = sum(u[k] for s in sessions for u in s["modelUsage"].values() for k in keys)
    _close(_value(host, "Total Tokens Today"), tokens, "Total Tokens Today")
    _close(_value(host, "Weekly Total Token Usage"), tokens, "Weekly Total Token Usage")
    panel = next(p for p in _panels() if p["title"] == "Token Distribution by Model 24h")
    by_model = {r["metric"]["model"]: float(r["value"][1]) for r in _instant(host, panel["targets"][0]["expr"])}
    for model in {m for s in sessions for m in s["modelUsage"]}:
        expected = sum(s["modelUsage"][model][k] for s in sessions if model in s["modelUsage"] for k in keys)
        _close(by_model.get(model, 0.0), expected, f"Token Distribution by Model 24h [{model}]")


# ---------------------------------------------------------------------------- the fleet counters

def _provisioned(host, name):
    """A dashboard as the grafana role wrote it for Grafana's file provisioning."""
    return json.loads(host.file(f"/etc/grafana/dashboards/{name}").content_string)


def _fleet_targets(dashboard):
    """The targets whose expression is their fleet form (the marker holds it: pricing.use_fleet_counters)."""
    return [(p["title"], t["refId"]) for p in _panels(dashboard) for t in p.get("targets", [])
            if t.get("tccFleet") and t.get("expr") == t["tccFleet"]]


def test_provisioned_dashboards_read_the_fleet_counters_and_equal_claude_codes_totals(host, sessions):  # pylint: disable=redefined-outer-name
    """site.yml set grafana_dashboards_fleet_counters from the backend's prometheus_fleet_counters:
    the provisioned main and overview dashboards read the counters (every marked target), and
    their totals equal Claude Code's own once the counters have settled (L = 20 s here)."""
    main, overview = _provisioned(host, "claude-code.json"), _provisioned(host, "claude-code-overview.json")
    marked = {name: sum(1 for p in _panels(d) for t in p.get("targets", []) if t.get("tccFleet"))
              for name, d in (("main", DASHBOARD), ("overview", DASHBOARDS["claude-code-overview.json"]))}
    reading = {"main": _fleet_targets(main), "overview": _fleet_targets(overview)}
    print(f"\nprovisioned targets reading the fleet counters: main {len(reading['main'])} of {marked['main']} marked, "
          f"overview {len(reading['overview'])} of {marked['overview']} marked")
    assert len(reading["main"]) == marked["main"] == 20 and len(reading["overview"]) == marked["overview"]
    total = sum(s["total_cost_usd"] for s in sessions)
    keys = ("inputTokens", "outputTokens", "cacheReadInputTokens", "cacheCreationInputTokens")
    tokens = sum(u[k] for s in sessions for u in s["modelUsage"].values() for k in keys)
    # the counters hold what arrived L before their last evaluation
    deadline = time.time() + 120
    while abs(_value(host, "Total Cost Today", dashboard=main) - total) > 0.001 * total and time.time() < deadline:
        time.sleep(5)
    _close(_value(host, "Total Cost Today", dashboard=main), total, "fleet: Total Cost Today")
    _close(_value(host, "Cost Forecast", "A", dashboard=main), 24 * total, "fleet: Cost Forecast (daily, 1h range)")
    _close(_value(host, "Cost Forecast", "B", dashboard=main), 30 * 24 * total, "fleet: Cost Forecast (monthly)")
    per_session = total / len({s["session_id"] for s in sessions})
    _close(_value(host, "Average Cost / Session", dashboard=main), per_session, "fleet: Average Cost / Session")
    _close(_value(host, "Average Session Metrics", "A", dashboard=main), per_session, "fleet: Average Session Metrics")
    _close(_value(host, "Total Tokens Today", dashboard=main), tokens, "fleet: Total Tokens Today")
    _close(_value(host, "Weekly Total Token Usage", dashboard=main), tokens, "fleet: Weekly Total Token Usage")
    for title in ("Cost", "Cost This Week", "Cost This Month"):
        _close(_value(host, title, dashboard=overview), total, f"fleet: Overview: {title}")
    # every fleet form returns data. The time series ones show the counters' growth per step,
    # and no point where the counter had no value a step (1m) before: the counters may be younger
    # than that here (born with this run's first session), so those are polled for a while.
    deadline = time.time() + 120
    while True:
        empty = [f"{name}: {title} [{ref}]" for name, board in (("main", main), ("overview", overview))
                 for title, ref in _fleet_targets(board)
                 if not _instant(host, next(t for p in _panels(board) if p["title"] == title
                                            for t in p["targets"] if t["refId"] == ref)["expr"])]
        if not empty or time.time() > deadline:
            break
        time.sleep(10)
    assert not empty, empty
    # the counters never went down
    resets = _instant(host, "resets(claude_code:cost_usage_USD:fleet_total[1h])")
    assert resets and all(float(r["value"][1]) == 0 for r in resets), resets


# ---------------------------------------------------------------------------- Loki panels

def _loki_exports(host) -> list:
    """Log records the collector sent to the Loki stand-in, with Loki's OTLP field names."""
    records = []
    raw = host.check_output("cat /var/tmp/loki-standin.jsonl 2>/dev/null || true")
    for line in raw.splitlines():
        entry = json.loads(line)
        if entry["path"] != "/v1/logs":
            continue
        body = json.loads(entry["body"])
        for resource_logs in body.get("resourceLogs", []):
            resource = {a["key"]: a["value"] for a in resource_logs.get("resource", {}).get("attributes", [])}
            for scope in resource_logs.get("scopeLogs", []):
                for record in scope.get("logRecords", []):
                    fields = {a["key"].replace(".", "_"): next(iter(a["value"].values()), None)
                              for a in record.get("attributes", [])}
                    fields["service_name"] = next(iter(resource.get("service.name", {}).values()), None)
                    records.append(fields)
    return records


def _logql_fields(expr: str):
    """(event name or None, fields the query filters, groups, unwraps or formats on) of a LogQL query."""
    event = re.search(r'event_name="([^"]+)"', expr)
    fields = {"service_name", "session_id"} | ({"event_name"} if event else set())
    for group in re.findall(r"by \(([^)]*)\)", expr):
        fields.update(f.strip() for f in group.split(","))
    fields.update(re.findall(r"\| (\w+) *(?:<=|>=|<|>|=~|!=|=)", expr))
    fields.update(re.findall(r"\| unwrap (\w+)", expr))
    if event:  # a trace of every event formats fields that only some events have
        fields.update(re.findall(r"\{\{\.(\w+)\}\}", expr))
    return (event.group(1) if event else None), fields


# Fields that only some requests carry (docs/telemetry.md: effort only for models that report
# it; not the two models of the scripted session), and content the collector keeps only with
# an opt-in (error: otel_collector_log_error_messages). A query may group by them or print them:
# Loki puts the events without the field in the group with an empty value.
OPTIONAL = {"effort", "error"}


def test_loki_export_carries_every_field_the_logql_queries_use(host, sessions):  # pylint: disable=redefined-outer-name
    session_ids = {s["session_id"] for s in sessions}
    deadline = time.time() + 60
    records = []
    while time.time() < deadline:
        records = [r for r in _loki_exports(host) if r.get("session_id") in session_ids]
        if {"user_prompt", "tool_result", "tool_decision", "api_request", "api_error", "subagent_completed",
                "api_retries_exhausted", "skill_activated", "hook_execution_complete", "mcp_server_connection"} <= {
                r.get("event_name") for r in records}:
            break
        time.sleep(3)
    missing = []
    checked = 0
    for name, panel, target in _targets("loki"):
        event, fields = _logql_fields(target["expr"])
        fields -= OPTIONAL
        label = f"{name}: {panel['title']} [{target['refId']}]"
        checked += 1
        matching = [r for r in records if event is None or r.get("event_name") == event]
        if not matching or not any(fields <= set(r) for r in matching):
            have = sorted(set().union(*matching)) if matching else []
            missing.append(f"{label}: {event} needs {sorted(fields)}, export has {have}")
    print(f"{checked} LogQL queries checked against {len(records)} exported events of the session(s) "
          f"(recorded by the stand-in for Loki; Loki itself was not run)")
    print(f"exported events by name: {dict(collections.Counter(r.get('event_name') for r in records))}")
    assert not missing, missing
