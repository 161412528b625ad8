"""Issue 16 on the real stack: teams, users, repositories, budgets, silence, people, fleet.

Real Claude Code sessions (the real CLI of both supported versions, against the Messages API
stand-in) of two teams, four users and three repositories (real git repositories with a remote
in .git/config), exporting to the stack's collector with its bearer token:

    user   team      Claude Code  repository (remote)        what else
    alice  payments  newest       tcc-acme/billing-api        a user budget, a display name
    bob    payments  oldest       tcc-acme/billing-api        (2.1.197 sends no repository)
    carol  search    newest       tcc-acme/search-web         project settings: hooks, an env block with
                                                              project=from-project-settings; an MCP server
    dave   search    newest       tcc-acme/scratchpad         project settings project=scratch; its
                                                              `python3 hello.py` denied (--disallowedTools)
                                  (not mapped: its name is dropped)

The collector maps billing-api to project payments-platform and search-web to discovery, and
keeps the names of those two only (molecule.yml). Each user has a Claude Code config directory of
its own, seeded with a user id (userID in .claude.json; measured: both versions send it as
user.id), so that prometheus_people can name them.

The silence alerts run on 4-minute periods here (molecule.yml; tests/rules/silence_stack.test.yml
tests the same rules with promtool): every user sends in one period; in the next one alice sends
again with the right token and carol with a WRONG token (the collector refuses it). Team search
must fall silent, delivered to Alertmanager; team payments must not. "The last N working days"
cannot pass in a CI-sized run: this is the shortest honest window (N = 1 period of 4 minutes).
"""

from __future__ import annotations

import calendar
import collections
import hashlib
import json
import os
import pathlib
import re
import sys
import tempfile
import time
import urllib.parse

import pytest

from conftest import (  # pylint: disable=import-error
    VERSIONS, _container_ip, _token, all_sessions, claude_bins, run_session, start_messages_api,
)
from tcc_sessions import session_env  # pylint: disable=import-error

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "plugins" / "module_utils"))
sys.path.insert(0, str(ROOT / "tests" / "catalog"))
import inventory_rules  # noqa: E402  pylint: disable=wrong-import-position,import-error
import queries  # noqa: E402  pylint: disable=wrong-import-position,import-error

PROM = "http://127.0.0.1:9090"
ALERTMANAGER = "http://127.0.0.1:9093"
EPHEMERAL = pathlib.Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp"))
TEAM_SESSIONS_FILE = EPHEMERAL / "team-sessions.jsonl"
DASHBOARDS = {name: json.loads((ROOT / "files/dashboards" / name).read_text(encoding="utf-8"))
              for name in ("claude-code-budgets.json", "claude-code-repositories.json", "claude-code-fleet.json",
                           "claude-code-people.json")}
# What molecule.yml deploys (tests/rules/generate.py's silence_stack fixture is the same).
OFFSET = inventory_rules.utc_offset_seconds("-03:30")
PERIOD = 240
AFTER = 11 / 24 * PERIOD  # silence_after_local_hour 11, as a share of the period
WRONG_TOKEN = "molecule-wrong-token"
GRAFANA_VARS = {"$__rate_interval": "1m", "$__range_s": "3600", "$__range": "1h", "$__interval_ms": "60000",
                "$__interval": "1m"}


def user_id(name: str) -> str:
    return hashlib.sha256(f"tcc-stack-{name}".encode()).hexdigest()


USERS = {
    "alice": {"team": "payments", "version": VERSIONS[-1], "repository": "tcc-acme/billing-api"},
    "bob": {"team": "payments", "version": VERSIONS[0], "repository": "tcc-acme/billing-api"},
    "carol": {"team": "search", "version": VERSIONS[-1], "repository": "tcc-acme/search-web",
              "project_settings": "from-project-settings", "hooks": True, "mcp": True},
    "dave": {"team": "search", "version": VERSIONS[-1], "repository": "tcc-acme/scratchpad",
             "project_settings": "scratch", "deny": "Bash(python3:*)"},
}
HOOK = [{"type": "command", "command": "true"}]


# ---------------------------------------------------------------------------- sessions

def _config_dir(name: str) -> str:
    """A Claude Code config directory per user, seeded with its user id (kept for the run)."""
    path = pathlib.Path(tempfile.gettempdir()) / f"tcc-stack-user-{name}"
    path.mkdir(exist_ok=True)
    state = path / ".claude.json"
    if not state.exists():
        state.write_text(json.dumps({"userID": user_id(name)}), encoding="utf-8")
    return str(path)


def _run(name: str, token: str) -> dict:
    user = USERS[name]
    api, port = start_messages_api()
    extra = {
        "OTEL_RESOURCE_ATTRIBUTES": f"team={user['team']}",
        "OTEL_METRICS_INCLUDE_VERSION": "1",
        "OTEL_METRICS_INCLUDE_ENTRYPOINT": "1",
        "OTEL_METRICS_INCLUDE_REPOSITORY": "1",
        "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization=Bearer {token}",
        "CLAUDE_CONFIG_DIR": _config_dir(name),
        "CLAUDE_GIT_REMOTE": f"https://git.example.invalid/{user['repository']}.git",
    }
    settings = {}
    if user.get("project_settings"):
        # the per-repository convention: the project's own .claude/settings.json names it
        settings["env"] = {"OTEL_RESOURCE_ATTRIBUTES": f"team={user['team']},project={user['project_settings']}"}
    if user.get("hooks"):
        settings["hooks"] = {"PreToolUse": [{"matcher": "*", "hooks": HOOK}], "Stop": [{"hooks": HOOK}]}
    if settings:
        extra["CLAUDE_PROJECT_SETTINGS"] = json.dumps(settings)
    args = []
    if user.get("mcp"):
        config = pathlib.Path(tempfile.gettempdir()) / "tcc-stack-mcp.json"
        config.write_text(json.dumps({"mcpServers": {"telemetry-test": {
            "type": "stdio", "command": sys.executable, "args": [str(ROOT / "tests/claude/mcp_stdio_server.py")]}}}),
            encoding="utf-8")
        args += ["--mcp-config", str(config)]
    if user.get("deny"):
        args += ["--disallowedTools", user["deny"]]
    if args:
        extra["CLAUDE_EXTRA_ARGS"] = " ".join(args)
    try:
        env = session_env(f"http://{_container_ip()}:4318", port, user["version"], **extra)
        started = time.time()
        result = run_session(env)
    finally:
        api.terminate()
        api.wait(timeout=10)
    result.update({"user": name, "team": user["team"], "claude_code_version": user["version"], "started": started,
                   "ended": time.time(), "accepted": token == _token(), "user_id": user_id(name)})
    with TEAM_SESSIONS_FILE.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(result) + "\n")
    print(f"{name} ({user['team']}, Claude Code {user['version']}, token {'right' if result['accepted'] else 'WRONG'}): "
          f"session {result['session_id']}, total_cost_usd={result['total_cost_usd']}")
    return result


def _period_start(now: float) -> float:
    """Start of the local period (molecule.yml's 4 minutes at UTC-03:30) that contains `now`."""
    return now - ((now + OFFSET) % PERIOD)


def _wait_for_next_period() -> float:
    start = _period_start(time.time()) + PERIOD
    time.sleep(max(0.0, start - time.time()) + 2)
    return start


# Phase 1 (four sessions) took 9 s alone, 2 s a session; a period with this much left is used at once
# rather than waited out (the wait was up to a whole period of the scenario's time).
PHASE1_ROOM = 60


def _period_for_phase1() -> float:
    """The start of the period phase 1 runs in: this one if it has PHASE1_ROOM left, else the next."""
    now = time.time()
    start = _period_start(now)
    if start + PERIOD - now >= PHASE1_ROOM:
        return start
    return _wait_for_next_period()


@pytest.fixture(scope="module")
def team_sessions(sessions_by_version):  # pylint: disable=redefined-outer-name,unused-argument
    """Phase 1 in one period (everyone, the right token); phase 2 in the next (alice right, carol wrong)."""
    assert _token(), "prepare.yml writes the collector's bearer token for the tests"
    for name in USERS:
        assert USERS[name]["version"] in claude_bins()
    phase1_start = _period_for_phase1()
    began1 = time.time()
    phase1 = [_run(name, _token()) for name in ("alice", "bob", "carol", "dave")]
    took1 = time.time() - began1
    if time.time() > phase1_start + PERIOD - 5:
        pytest.fail(f"phase 1 ended {time.time() - phase1_start:.0f} s into its {PERIOD} s period (it took "
                    f"{took1:.0f} s): every user must send in the same period")
    phase2_start = _wait_for_next_period()
    began = time.time()
    phase2 = [_run("alice", _token()), _run("carol", WRONG_TOKEN)]
    if time.time() > phase2_start + AFTER - 10:
        pytest.fail(f"phase 2 took {time.time() - phase2_start:.0f} s: alice's session must be in before "
                    f"{AFTER:.0f} s into the period")
    print(f"phase 1 from {phase1_start:.0f} ({began1 - phase1_start:.0f} s into its period, took {took1:.0f} s), "
          f"phase 2 from {phase2_start:.0f} (took {time.time() - began:.0f} s; periods of {PERIOD} s at UTC-03:30)")
    return {"phase1": phase1, "phase2": phase2, "phase2_start": phase2_start}


def accepted_sessions(team_sessions) -> list:  # pylint: disable=redefined-outer-name
    return [s for s in team_sessions["phase1"] + team_sessions["phase2"] if s["accepted"]]


# ---------------------------------------------------------------------------- Prometheus

def _api(host, path: str, **params):
    out = json.loads(host.check_output(f"curl -fsS '{PROM}{path}?{urllib.parse.urlencode(params)}'"))
    assert out["status"] == "success", out
    return out["data"]


def _instant(host, expr: str) -> list:
    return _api(host, "/api/v1/query", query=_fill(expr))["result"]


def _fill(expr: str) -> str:
    expr = expr.replace("${__from:date:seconds}", f"{time.time() - 3600:.0f}")
    for name, value in GRAFANA_VARS.items():
        expr = expr.replace(name, value)
    return expr


def _value(host, expr: str):
    result = _instant(host, expr)
    return float(result[0]["value"][1]) if result else None


def _poll(host, expr: str, ok, timeout: float = 150, step: float = 5):
    deadline = time.time() + timeout
    while True:
        value = _value(host, expr)
        if (value is not None and ok(value)) or time.time() > deadline:
            return value
        time.sleep(step)


def _close(got, expected: float, what: str) -> None:
    assert got is not None, f"{what}: no value"
    assert abs(got - expected) <= max(1e-9, abs(expected) * 1e-6), f"{what}: {got}, expected {expected}"
    print(f"{what}: {got:.6f} = {expected:.6f}")


@pytest.fixture(scope="module")
def settled(host, team_sessions):  # pylint: disable=redefined-outer-name
    """Every accepted session's cost is in the month-to-date record."""
    expected = sum(s["total_cost_usd"] for s in all_sessions()) + sum(
        s["total_cost_usd"] for s in accepted_sessions(team_sessions))
    got = _poll(host, "claude_code:cost_usage_USD:month_to_date_total",
                lambda v: abs(v - expected) <= expected * 1e-6)
    if got is None or abs(got - expected) > expected * 1e-6:
        pytest.fail(f"the month to date never reached the sessions' total {expected} (last {got})")
    return expected


def test_the_wrong_token_was_refused(host, team_sessions):  # pylint: disable=redefined-outer-name
    wrong = [s for s in team_sessions["phase2"] if not s["accepted"]][0]
    params = {"match[]": f'{{session_id="{wrong["session_id"]}"}}', "start": f"{time.time() - 3600:.0f}"}
    series = _api(host, "/api/v1/series", **params)
    assert wrong["total_cost_usd"] > 0 and not series, series
    print(f"carol's session {wrong['session_id']} with a wrong token: {wrong['total_cost_usd']} USD spent, "
          "no series in Prometheus (the collector refused it)")


def test_silence_fires_for_the_team_with_the_wrong_token_and_not_for_the_other(host, team_sessions):  # pylint: disable=redefined-outer-name
    """Delivered to Alertmanager: team search (carol's wrong token) is silent, team payments is not."""
    start = team_sessions["phase2_start"]
    if time.time() > start + PERIOD - 30:
        pytest.fail(f"reached {time.time() - start:.0f} s into the period: too late to see its silence alert")
    time.sleep(max(0.0, start + AFTER - time.time()))
    alerts = _wait_for_alert(host, "ClaudeCodeTeamSilent", {"team": "search"}, start + PERIOD - 10)
    teams = {a["labels"].get("team"): a for a in alerts}
    print(f"Alertmanager, ClaudeCodeTeamSilent at {time.time() - start:.0f} s into the period: "
          f"{ {t: (a['status']['state'], a['startsAt'], a['annotations']['summary']) for t, a in teams.items()} }")
    assert "search" in teams, alerts
    assert teams["search"]["labels"]["severity"] == "warning"
    assert "payments" not in teams, "team payments sent telemetry in this period (alice, the right token)"
    users = {a["labels"].get("user_id") for a in _alertmanager(host, "ClaudeCodeUserSilent")}
    print(f"Alertmanager, ClaudeCodeUserSilent: {sorted(u[:12] for u in users)} "
          f"(carol {user_id('carol')[:12]}, bob {user_id('bob')[:12]}, dave {user_id('dave')[:12]}; "
          f"alice {user_id('alice')[:12]} sent in this period)")
    assert user_id("carol") in users and user_id("alice") not in users, users
    firing = _instant(host, 'ALERTS{alertname="ClaudeCodeTeamSilent",alertstate="firing"}')
    print(f"Prometheus ALERTS: {[r['metric'] for r in firing]}")


def test_month_to_date_equals_the_sessions_total_cost(host, team_sessions, settled):  # pylint: disable=redefined-outer-name
    """Organisation, team and user month to date = the sum of Claude Code's own total_cost_usd."""
    now = time.time()
    local = time.gmtime(now + OFFSET)
    month_start = calendar.timegm((local.tm_year, local.tm_mon, 1, 0, 0, 0)) - OFFSET
    day_start = now - ((now + OFFSET) % 86400)
    first = min(s["started"] for s in accepted_sessions(team_sessions))
    if month_start > first - 3600:
        pytest.fail("a local month began during this run; its sessions are split between two months: run again")
    _close(_value(host, "claude_code:cost_usage_USD:month_to_date_total"), settled, "organisation month to date")
    # the same, read the way the dashboards read any window: what each series accrued since local midnight
    # of the 1st, with an exact window (pricing.accrued)
    window = f"{int(now - month_start)}s"
    direct = (f"sum(max_over_time(claude_code_cost_usage_USD_total[{window}]) - "
              f"(last_over_time(claude_code_cost_usage_USD_total[1h] offset {window}) or "
              f"max_over_time(claude_code_cost_usage_USD_total[{window}]) * 0))")
    _close(_value(host, direct), settled, "accrued since the local month began (direct query)")
    by_team = collections.Counter()
    by_user = collections.Counter()
    for session in accepted_sessions(team_sessions):
        by_team[session["team"]] += session["total_cost_usd"]
        by_user[session["user_id"]] += session["total_cost_usd"]
    for team, cost in by_team.items():
        _close(_value(host, f'claude_code:cost_usage_USD:month_to_date_by_team{{team="{team}"}}'), cost,
               f"team {team} month to date")
    for uid, cost in by_user.items():
        _close(_value(host, f'claude_code:cost_usage_USD:month_to_date_by_user{{user_id="{uid}"}}'), cost,
               f"user {uid[:12]} month to date")
    panel = _target("claude-code-budgets.json", "Organisation: Month to Date", "A")
    _close(_value(host, panel["expr"]), settled, "Budgets dashboard, Organisation: Month to Date")
    if day_start < first - 3600:
        _close(_value(host, "claude_code:cost_usage_USD:today_total"), settled, "organisation today")


def _target(dashboard: str, title: str, ref: str) -> dict:
    panel = next(p for p in DASHBOARDS[dashboard]["panels"] if p.get("title") == title)
    return next(t for t in panel["targets"] if t["refId"] == ref)


def test_projects_and_repositories(host, team_sessions, settled):  # pylint: disable=redefined-outer-name,unused-argument
    """The mapping names the projects, wins over a project's own settings, and keeps only mapped names."""
    accepted = accepted_sessions(team_sessions)
    names = _api(host, "/api/v1/label/vcs_repository_name/values", start=f"{time.time() - 7200:.0f}")
    assert set(names) == {"billing-api", "search-web"}, names
    projects = {r["metric"]["project"]: float(r["value"][1]) for r in _instant(
        host, 'sum by (project) (max_over_time(claude_code_cost_usage_USD_total{project!=""}[2h]))')}
    expected = collections.Counter()
    for session in accepted:
        project = {"alice": "payments-platform", "carol": "discovery", "dave": "scratch"}.get(session["user"])
        if project:
            expected[project] += session["total_cost_usd"]
    assert set(projects) == set(expected), projects
    for project, cost in expected.items():
        _close(projects[project], cost, f"project {project}")
    print("bob (Claude Code 2.1.197, no repository, no project settings): no project label; carol's project settings "
          "said from-project-settings, the collector's mapping said discovery: the mapping won; dave's unmapped "
          "repository: its name dropped, its project settings' project=scratch kept")


def test_people_get_their_display_names(host, settled):  # pylint: disable=unused-argument
    panel = next(p for p in DASHBOARDS["claude-code-people.json"]["panels"] if p.get("title") == "Cost by Member")
    members = {r["metric"].get("member") for r in _instant(host, panel["targets"][0]["expr"])}
    assert {"Alice Example", "Bob Example", "Carol Example"} <= members, members
    assert user_id("dave") in members, members  # not in prometheus_people: shown by its user id
    print(f"Cost by Member shows: {sorted(members)}")


def _range_or_instant(host, target: dict) -> list:
    if target.get("instant"):
        return _instant(host, target["expr"])
    now = time.time()
    result = _api(host, "/api/v1/query_range", query=_fill(target["expr"]), start=f"{now - 900:.0f}",
                  end=f"{now:.0f}", step="15")["result"]
    return [r for r in result if any(v[1] not in ("NaN", "+Inf", "-Inf") for v in r["values"])]


def _show(result: list) -> str:
    first = result[0]
    labels = ",".join(f"{k}={v}" for k, v in sorted(first["metric"].items()) if k != "__name__")
    value = first["value"][1] if "value" in first else first["values"][-1][1]
    return f"{len(result)} series, e.g. {{{labels}}} {float(value):.6g}"


def test_every_prometheus_panel_of_the_team_dashboards_returns_data(host, team_sessions, settled):  # pylint: disable=redefined-outer-name,unused-argument
    empty, count = [], 0
    for name, board in DASHBOARDS.items():
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                if target["datasource"]["type"] != "prometheus":
                    continue
                count += 1
                result = _range_or_instant(host, target)
                label = f"{name}: {panel['title']} [{target['refId']}]"
                if result:
                    print(f"DATA {label}: {_show(result)}")
                else:
                    empty.append(label)
                    print(f"EMPTY {label}: {_fill(target['expr'])}")
    print(f"{count} Prometheus queries of the team dashboards ran; empty: {empty or 'none'}")
    assert not empty, empty


# ---------------------------------------------------------------------------- Loki (its stand-in)

def _loki_records(host) -> list:
    """Every log record the collector sent to the Loki stand-in, with Loki's field names (resource too)."""
    records = []
    for line in host.check_output("cat /var/tmp/loki-standin.jsonl 2>/dev/null || true").splitlines():
        entry = json.loads(line)
        if entry["path"] != "/v1/logs":
            continue
        for resource_logs in json.loads(entry["body"]).get("resourceLogs", []):
            resource = {a["key"].replace(".", "_"): next(iter(a["value"].values()), None)
                        for a in resource_logs.get("resource", {}).get("attributes", [])}
            for scope in resource_logs.get("scopeLogs", []):
                for record in scope.get("logRecords", []):
                    fields = dict(resource)
                    for attribute in record.get("attributes", []):
                        value = next(iter(attribute["value"].values()), None)
                        if isinstance(value, dict):  # an array, as Loki stores it: JSON
                            value = json.dumps([next(iter(v.values()), None) for v in value.get("values", [])])
                        fields[attribute["key"].replace(".", "_")] = str(value)
                    records.append(fields)
    return records


# Loki panels that no stack session feeds, with the reason (none now: the feature sessions
# (conftest.FEATURE_SCENARIOS) call a skill and an MCP tool with tool details).
NOT_EXERCISED: dict = {}


def test_loki_panels_of_the_team_dashboards_have_their_events(host, team_sessions):  # pylint: disable=redefined-outer-name
    """Loki cannot run here: each Loki query's events must reach the stand-in for Loki with every field it uses."""
    # The team sessions and the stack's other sessions: the MCP server's name, for one, comes
    # only from the feature session with tool details (OTEL_LOG_TOOL_DETAILS=1).
    ids = {s["session_id"] for s in accepted_sessions(team_sessions)} | {s["session_id"] for s in all_sessions()}
    deadline = time.time() + 60
    while True:
        records = [r for r in _loki_records(host) if r.get("session_id") in ids]
        if {"managed_settings_resolved", "mcp_server_connection", "hook_registered"} <= {
                r.get("event_name") for r in records} or time.time() > deadline:
            break
        time.sleep(3)
    missing, not_exercised, checked = [], [], 0
    for name, board in DASHBOARDS.items():
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                if target["datasource"]["type"] != "loki":
                    continue
                checked += 1
                label = f"{name}: {panel['title']}"
                names = queries.logql_names(target["expr"])
                pipeline = names["pipelines"][0]
                filters = [(f, op, v) for f, op, v in pipeline["filters"] if op == "=" and v is not None]
                fields = names["fields"] | {"session_id"}
                matching = [r for r in records if all(r.get(f) == v for f, _op, v in filters)]
                if label in NOT_EXERCISED and not matching:
                    not_exercised.append(label)
                    continue
                if not any(fields <= set(r) for r in matching):
                    have = sorted(set().union(*matching)) if matching else []
                    missing.append(f"{label}: {filters} needs {sorted(fields)}; the export has {have}")
                    continue
                print(f"EXPORTED {label}: {len(matching)} records with {sorted(fields)}")
    print(f"{checked} LogQL queries of the team dashboards checked against {len(records)} exported events "
          f"(recorded by the STAND-IN FOR LOKI; Loki itself was not run)")
    print(f"NOT EXERCISED: { {k: NOT_EXERCISED[k] for k in not_exercised} }")
    assert not missing, missing
    assert set(not_exercised) == set(NOT_EXERCISED), not_exercised


# ---------------------------------------------------------------------------- alerts, live

def _alertmanager(host, alertname: str) -> list:
    query = urllib.parse.urlencode({"filter": f'alertname="{alertname}"', "active": "true", "silenced": "false"})
    return json.loads(host.check_output(f"curl -fsS '{ALERTMANAGER}/api/v2/alerts?{query}'"))


def _wait_for_alert(host, alertname: str, labels: dict, until: float) -> list:
    while True:
        alerts = _alertmanager(host, alertname)
        if any(all(a["labels"].get(k) == v for k, v in labels.items()) for a in alerts) or time.time() > until:
            return alerts
        time.sleep(5)


def test_budget_reached_fires_for_the_team_over_budget_and_not_for_the_other(host, settled):  # pylint: disable=unused-argument
    """Team payments' 0.10 USD a month is spent; team search's 1000 is not."""
    alerts = _wait_for_alert(host, "ClaudeCodeTeamBudgetReached", {"team": "payments", "budget": "monthly"},
                             time.time() + 120)
    teams = {(a["labels"].get("team"), a["labels"].get("budget")): a for a in alerts}
    print(f"Alertmanager, ClaudeCodeTeamBudgetReached: "
          f"{ {k: (a['status']['state'], a['annotations']['description']) for k, a in teams.items()} }")
    assert ("payments", "monthly") in teams, alerts
    assert not [k for k in teams if k[0] == "search"], teams
    assert re.search(r"Team payments has spent [0-9.]+ USD in this calendar month \(UTC-03:30\), as much as its "
                     r"monthly budget of 0\.10 USD", teams[("payments", "monthly")]["annotations"]["description"])
