"""Faults during live Claude Code sessions: does every total stay Claude Code's own?

For each fault, two real sessions of the newest supported Claude Code run at once against the
stack, slowed by the Messages-API stand-in (--delay: each reply waits), one sending DELTA sums
(Claude Code's default) and one CUMULATIVE sums (what the claude_code_client role sets). The
fault hits the stack in the middle of both:

  collector restart   systemctl restart otelcol
  collector SIGKILL   systemctl kill --signal=SIGKILL otelcol (systemd starts it again)
  Prometheus restart  systemctl stop prometheus, 20 s down, then start: the collectors' points of
                      those seconds arrive late, from their write-ahead logs
  Loki outage         the stand-in for Loki stopped for 20 s
  collector stopped   systemctl stop otelcol on the gateway's host: the second collector (on
                      tcc-faults-bookworm, behind the same gateway) takes the rest of the sessions
                      (started again once they end)
  host reboot         docker restart of the whole host (gateway, collector, Prometheus, ...)

The gateway spreads every session's exports over the two collectors (roundrobin), so in every
row a delta session's points reach both, each collector keeping its own running totals.

Then, per session:
  cost    the main dashboard's own query (Total Cost Today, with the session's id added to its
          selectors) against Claude Code's total_cost_usd,
  tokens  what each model's token series accrued (the dashboards' accrual) against modelUsage,
  events  the session's events in the Loki export (RECORDED BY A STAND-IN FOR LOKI, not Loki:
          no Loki binary can be had here): their event.sequence must run from 0 without a gap
          (Claude Code numbers a session's events 0, 1, 2, ...), and there must be one api_request
          event per request the session's own Messages-API stand-in answered (so a lost tail shows).

The fleet counter (pricing.fleet_counter; roles/prometheus/README.md, "Query cost"), a design the
dashboards do not use yet, runs beside them through the whole table: a rule file of its own (cost by
model, tokens by model and type, every FLEET_STEP, settling delay FLEET_SETTLE, healing window
FLEET_HEAL) is dropped into Prometheus's rules directory before the first pair. Its growth over the
table must equal what the per-session dashboard queries find stored for all the sessions (0.1 %), it
must never go down and never hold more than was stored. Its growth per pair is printed, next to a
control: the same counter without its healing term, which the faults must cost something.

The table of errors is printed. Exact (0.1 %) and complete is asserted for every fault but the
reboot, which takes the gateway down with the host: Claude Code does not retry a refused
connection, so what a client exports during the reboot is lost at the client (its cumulative
metrics catch up at its next export, which is asserted; its delta metrics and its events of
those seconds are not, and are reported). Several collector hosts behind a load balancer close
that gap (docs: roles/otel_collector/README.md, "Totals that survive restarts").
"""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))
# pylint: disable=wrong-import-position,import-error
from tcc_sessions import ROOT, claude_bins, replies, run_session, session_env, start_messages_api  # noqa: E402

sys.path.insert(0, str(ROOT / "plugins" / "module_utils"))
import pricing  # noqa: E402

CONTAINER = "tcc-faults-trixie"
PEER = "tcc-faults-bookworm"  # the second collector
ENDPOINT = "http://127.0.0.1:24318"  # the gateway's OTLP/HTTP port, published on the controller
PROM = "http://127.0.0.1:9090"
VERSION = list(claude_bins())[-1]
DELAY = "2.5"  # seconds the stand-in waits before each reply: a session of about 30 s
FAULT_AT = 11.0  # seconds into the sessions
WINDOW = "3h"
TEMPORALITIES = ("delta", "cumulative")
TOKEN_TYPES = {"inputTokens": "input", "outputTokens": "output", "cacheReadInputTokens": "cacheRead",
               "cacheCreationInputTokens": "cacheCreation"}
# The fleet counter's rule, at a scaled-down time: evaluated every STEP, windows ending SETTLE
# before the evaluation (longer than the pipeline's delivery delay: no queue in memory, the
# remote-write WAL is read at once), healing disturbances shorter than HEAL (the longest here,
# the host reboot, takes about a minute from its start to the last late point's arrival).
FLEET_STEP, FLEET_SETTLE, FLEET_HEAL = "1s", "10s", "2m"
FLEET_RULES = "/etc/prometheus/rules/tcc_fleet_counter.yml"  # not claude_code_*: the role leaves it alone
FLEET = {  # record -> (counter, labels summed by)
    "tcc_test:cost_usage_USD:fleet_total": ("claude_code_cost_usage_USD_total", "model"),
    "tcc_test:token_usage_tokens:fleet_total": ("claude_code_token_usage_tokens_total", "model, type"),
}
# The control: the same counter without its healing term (heal = step). The faults must cost it
# something (the evaluations Prometheus missed while down, the points that came late), or the
# test would not show that the healing term works.
CONTROL = "tcc_test:cost_usage_USD:fleet_total_unhealed"
PAUSE = 2.0  # seconds between two pairs: the counter's value between them counts neither
DASHBOARD = json.loads((ROOT / "files/dashboards/claude-code.json").read_text(encoding="utf-8"))
COST_QUERY = next(t["expr"] for p in DASHBOARD["panels"] if p.get("title") == "Total Cost Today" for t in p["targets"])


class DockerExecError(subprocess.CalledProcessError):
    """A command in a container failed: its message carries what the command said."""

    def __str__(self):
        return f"{super().__str__()}\n{self.stderr or ''}{self.output or ''}"


def docker_exec(*command: str, container: str = CONTAINER, stdin: str | None = None) -> str:
    out = subprocess.run(["docker", "exec", *(["-i"] if stdin is not None else []), container, *command],
                         input=stdin, capture_output=True, text=True, check=False, timeout=120)
    if out.returncode:
        raise DockerExecError(out.returncode, out.args, out.stdout, out.stderr)
    return out.stdout


def accepted_points(container: str) -> float:
    """The metric points a host's collector accepted since it started."""
    own = docker_exec("curl", "-fsS", "http://127.0.0.1:8888/metrics", container=container)
    return sum(float(line.rsplit(" ", 1)[1]) for line in own.splitlines()
               if line.startswith("otelcol_receiver_accepted_metric_points"))


def prom(promql: str):
    """An instant query inside the host; None while Prometheus does not answer."""
    try:
        out = docker_exec("curl", "-fsS", f"{PROM}/api/v1/query?query={urllib.parse.quote(promql)}")
    except subprocess.CalledProcessError:
        return None
    result = json.loads(out)["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


def prom_at(promql: str, at: float) -> dict:
    """An instant query at a past time: {label values: value}."""
    out = docker_exec("curl", "-fsS", f"{PROM}/api/v1/query?query={urllib.parse.quote(promql)}&time={at:.3f}")
    return {tuple(sorted(r["metric"].items())): float(r["value"][1]) for r in json.loads(out)["data"]["result"]}


def deploy_fleet_counter() -> None:
    """Write the counter's rule file beside the role's, reload Prometheus, wait until it runs."""
    groups = {"groups": [{"name": "tcc_test_fleet_counter", "interval": FLEET_STEP, "rules": [
        {"record": record, "expr": pricing.fleet_counter(record, f'{metric}{{job=~"claude-code.*"}}', by,
                                                         FLEET_STEP, FLEET_HEAL, FLEET_SETTLE)}
        for record, (metric, by) in FLEET.items()] + [
        {"record": CONTROL, "expr": pricing.fleet_counter(CONTROL, 'claude_code_cost_usage_USD_total{job=~"claude-code.*"}',
                                                          "model", FLEET_STEP, FLEET_STEP, FLEET_SETTLE)}]}]}
    docker_exec("sh", "-c", f"cat > {FLEET_RULES} && chmod 0644 {FLEET_RULES} && "
                f"/usr/bin/promtool check rules {FLEET_RULES} && systemctl reload prometheus",
                stdin=json.dumps(groups))
    deadline = time.time() + 60
    while time.time() < deadline:
        loaded = json.loads(docker_exec("curl", "-fsS", f"{PROM}/api/v1/rules?type=record"))["data"]["groups"]
        if any(g["name"] == "tcc_test_fleet_counter" and g.get("lastEvaluation", "").startswith("2") for g in loaded):
            return
        time.sleep(1)
    pytest.fail("Prometheus did not load the fleet counter's rule file")


def by_model_and_type(tokens: dict) -> dict:
    """prom_at's answer of a `sum by (model, type)` as {(model, type): tokens}."""
    return {(dict(labels)["model"], dict(labels)["type"]): value for labels, value in tokens.items()}


def fleet_totals(at: float) -> dict:
    """The counters' values at a past time, as a table row: {"cost": USD, (model, type): tokens}."""
    cost = prom_at("sum(tcc_test:cost_usage_USD:fleet_total)", at)
    tokens = prom_at("sum by (model, type) (tcc_test:token_usage_tokens:fleet_total)", at)
    control = prom_at(f"sum({CONTROL})", at)
    out = {"cost": next(iter(cost.values()), 0.0), "control": next(iter(control.values()), 0.0)}
    out.update(by_model_and_type(tokens))
    return out


def for_session(expr: str, session_id: str, match: str = "=") -> str:
    """The query with the session's id (or, with match "=~", a regex of ids) added to each Claude Code selector."""
    def add(found):
        inner = found.group(3) or ""
        return f'{found.group(1)}{{session_id{match}"{session_id}"{"," if inner else ""}{inner}}}'
    return re.sub(r"\b(claude_code_[a-zA-Z_]+_total)(\{([^}]*)\})?", add, expr).replace("$__range", WINDOW)


def healthy() -> bool:
    probe = subprocess.run(["docker", "exec", CONTAINER, "sh", "-c",
                            "curl -fsS -o /dev/null http://127.0.0.1:13133/ && curl -fsS -o /dev/null "
                            "http://127.0.0.1:9090/-/ready && systemctl is-active -q loki-standin otlp-gateway"],
                           capture_output=True, check=False, timeout=30)
    return probe.returncode == 0


def wait_healthy(timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if healthy():
            return
        time.sleep(2)
    pytest.fail("the stack did not come back")


def reboot():
    subprocess.run(["docker", "restart", "-t", "30", CONTAINER], check=True, capture_output=True, timeout=180)


def prometheus_restart():
    docker_exec("systemctl", "stop", "prometheus")
    time.sleep(20)  # longer than FLEET_SETTLE: the points of these seconds come late
    docker_exec("systemctl", "start", "prometheus")


def loki_outage():
    docker_exec("systemctl", "stop", "loki-standin")
    time.sleep(20)
    docker_exec("systemctl", "start", "loki-standin")


FAULTS = {
    "collector restart": lambda: docker_exec("systemctl", "restart", "otelcol"),
    "collector SIGKILL": lambda: docker_exec("systemctl", "kill", "--signal=SIGKILL", "otelcol"),
    "Prometheus restart": prometheus_restart,
    "Loki outage": loki_outage,
    # Stopped for the rest of the sessions (started again once they end: RESTORE).
    "collector stopped": lambda: docker_exec("systemctl", "stop", "otelcol"),
    "host reboot": reboot,
}
RESTORE = {"collector stopped": lambda: docker_exec("systemctl", "start", "otelcol")}


def run_pair(fault=None, restore=None) -> dict:
    """A delta and a cumulative session at once, the fault FAULT_AT seconds in: {temporality: result}."""
    results, errors = {}, []

    def one(temporality):
        log = pathlib.Path(tempfile.mkdtemp(prefix="tcc-faults-")) / "stand-in.log"
        api, port = start_messages_api("--delay", DELAY, log=log)
        try:
            env = session_env(ENDPOINT, port, VERSION, OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=temporality)
            results[temporality] = run_session(env)
            results[temporality]["api_replies"] = replies(log)
        except Exception as exc:  # pylint: disable=broad-except
            errors.append(f"{temporality}: {exc}")
        finally:
            api.terminate()
            api.wait(timeout=10)

    threads = [threading.Thread(target=one, args=(t,)) for t in TEMPORALITIES]
    for thread in threads:
        thread.start()
    if fault:
        time.sleep(FAULT_AT)
        fault()
    for thread in threads:
        thread.join(timeout=900)
    if restore:
        restore()
    assert not errors, errors
    wait_healthy()
    return results


def events_of(session_id: str) -> list:
    """(event.sequence, event.name) of every event of the session the stand-in for Loki recorded (duplicates kept)."""
    raw = docker_exec("sh", "-c", "cat /var/lib/loki-standin/requests.jsonl 2>/dev/null || true")
    sequences = []
    for line in raw.splitlines():
        entry = json.loads(line)
        for resource_logs in json.loads(entry["body"]).get("resourceLogs", []):
            for scope in resource_logs.get("scopeLogs", []):
                for record in scope.get("logRecords", []):
                    attributes = {a["key"]: next(iter(a["value"].values())) for a in record.get("attributes", [])}
                    if attributes.get("session.id") == session_id:
                        sequences.append((int(attributes["event.sequence"]), attributes.get("event.name")))
    return sequences


def measure(result: dict, timeout: float = 150) -> dict:
    """Errors of one session, waiting (up to timeout) for the stack to have all of it."""
    session_id = result["session_id"]
    deadline = time.time() + timeout
    while True:
        cost = prom(for_session(COST_QUERY, session_id))
        tokens = {}
        for model, usage in result["modelUsage"].items():
            for key, token_type in TOKEN_TYPES.items():
                got = prom("sum(" + pricing.accrued(
                    f'claude_code_token_usage_tokens_total{{session_id="{session_id}",model="{model}",type="{token_type}"}}',
                    WINDOW) + ")")
                tokens[(model, token_type)] = (got or 0.0, usage[key])
        events = set(events_of(session_id))
        api_requests = sum(1 for _sequence, name in events if name == "api_request")
        cost_error = 100 * ((cost or 0.0) - result["total_cost_usd"]) / result["total_cost_usd"]
        token_error = max(abs(100 * (g - e) / e) for g, e in tokens.values() if e)
        unique = sorted({sequence for sequence, _name in events})
        missing = sorted(set(range(0, (max(unique) + 1) if unique else 0)) - set(unique))
        complete = bool(unique) and not missing and api_requests == result["api_replies"]
        exact = abs(cost_error) <= 0.1 and token_error <= 0.1
        if (exact and complete) or time.time() > deadline:
            return {"cost": cost, "session_id": session_id, "expected_cost": result["total_cost_usd"], "cost_error": cost_error,
                    "token_error": token_error, "events": len(unique), "api_requests": api_requests,
                    "api_replies": result["api_replies"], "missing": missing, "exact": exact, "complete": complete}
        time.sleep(5)


@pytest.fixture(scope="module")
def run():
    """Every fault's pair of sessions, measured, and the fleet counter beside them:
    {"rows": {(fault, temporality): measurement}, "bounds": [(fault, time)]}, each bound a time
    between two pairs at which the counter stands for everything before it."""
    wait_healthy()
    deploy_fleet_counter()
    # A bound stands for what has a timestamp up to SETTLE before it: read SETTLE, a step and a
    # second after a pair was measured, before the next pair's first point (PAUSE and the
    # first reply later).
    settle_s = float(FLEET_SETTLE[:-1]) + float(FLEET_STEP[:-1]) + 1
    bounds = [("start", time.time())]
    peer_before = accepted_points(PEER)
    baseline = run_pair()
    print(f"the second collector ({PEER}) accepted {accepted_points(PEER) - peer_before:.0f} metric points "
          "of the no-fault pair")
    rows = {}
    for temporality in TEMPORALITIES:
        rows[("no fault", temporality)] = measure(baseline[temporality])
    bounds.append(("no fault", time.time() + settle_s))
    for name, fault in FAULTS.items():
        time.sleep(PAUSE)
        results = run_pair(fault, RESTORE.get(name))
        for temporality in TEMPORALITIES:
            rows[(name, temporality)] = measure(results[temporality], timeout=60 if name == "host reboot" else 150)
        bounds.append((name, time.time() + settle_s))
    print(f"\nClaude Code {VERSION}, sessions of ~30 s, the fault {FAULT_AT:.0f} s in; the stand-in for Loki, not Loki")
    print(f"{'fault':<20} {'temporality':<11} {'cost error':>11} {'token error':>12} {'events':>7} "
          f"{'api_request/replies':>20}  missing event.sequence")
    for (name, temporality), row in rows.items():
        print(f"{name:<20} {temporality:<11} {row['cost_error']:>10.3f}% {row['token_error']:>11.3f}% "
              f"{row['events']:>7} {row['api_requests']:>10}/{row['api_replies']:<9}  {row['missing'] or '-'}")
    return {"rows": rows, "bounds": bounds}


@pytest.fixture(scope="module")
def table(run):  # pylint: disable=redefined-outer-name
    return run["rows"]


def stored(rows: dict, faults) -> dict:
    """What Prometheus holds now for the sessions of these faults, read as the dashboards read it
    (Total Cost Today's query; the tokens' accrual): {"cost": USD, (model, type): tokens}."""
    ids = "|".join(row["session_id"] for (name, _temporality), row in rows.items() if name in faults)
    cost = prom(for_session(COST_QUERY, ids, match="=~"))
    tokens = prom_at("sum by (model, type) (" + pricing.accrued(
        f'claude_code_token_usage_tokens_total{{session_id=~"{ids}"}}', WINDOW) + ")", time.time())
    out = {"cost": cost or 0.0}
    out.update(by_model_and_type(tokens))
    return out


def test_the_fleet_counter_equals_what_is_stored(run):  # pylint: disable=redefined-outer-name
    """The counter grew by what the sessions stored (0.1 %), through every fault; it never went down
    and never held more than was stored. It heals within FLEET_HEAL: its current value is read again
    until it equals what is stored, or FLEET_HEAL (and 15 s) has passed."""
    rows, bounds = run["rows"], run["bounds"]
    while time.time() < bounds[-1][1]:
        time.sleep(1)
    start = fleet_totals(bounds[0][1])
    expected = stored(rows, [name for name, _at in bounds[1:]])
    deadline = time.time() + float(FLEET_HEAL[:-1]) * 60 + 15
    while True:
        end = fleet_totals(time.time())
        grown = {key: end.get(key, 0.0) - start.get(key, 0.0) for key in expected}
        errors = {key: 100 * (grown[key] - value) / value for key, value in expected.items() if value}
        if max(abs(e) for e in errors.values()) <= 0.1 or time.time() > deadline:
            break
        time.sleep(2)
    print(f"fleet counter: cost grew {grown['cost']:.6f} USD, stored {expected['cost']:.6f} "
          f"({errors['cost']:+.4f} %); tokens, the worst of {len(errors) - 1} model/type pairs: "
          f"{max((abs(e) for k, e in errors.items() if k != 'cost'), default=0.0):.4f} %")
    print(f"{'pair':<20} {'counter grew':>13} {'stored':>10} {'without healing':>16}")
    totals = [fleet_totals(at) for _name, at in bounds]
    for (name, _at), before, after in zip(bounds[1:], totals, totals[1:]):
        print(f"{name:<20} {after['cost'] - before['cost']:>13.6f} {stored(rows, [name])['cost']:>10.6f} "
              f"{after['control'] - before['control']:>16.6f}")
    print(f"{'all':<20} {grown['cost']:>13.6f} {expected['cost']:>10.6f} {end['control'] - start['control']:>16.6f}")
    since = f"{int(time.time() - bounds[0][1]) + 60}s"
    resets = prom_at(f"sum(resets(tcc_test:cost_usage_USD:fleet_total[{since}])) "
                     f"+ sum(resets(tcc_test:token_usage_tokens:fleet_total[{since}]))", time.time())
    assert not any(resets.values()), f"the fleet counter went down: {resets}"
    so_far = []
    for (name, _at), total in zip(bounds[1:], totals[1:]):
        so_far.append(name)
        held, was_stored = total["cost"] - start["cost"], stored(rows, so_far)["cost"]
        assert held <= was_stored * (1 + 1e-9) + 1e-9, f"after {name}: the counter held {held}, more than the {was_stored} stored"
    assert max(abs(e) for e in errors.values()) <= 0.1, f"the fleet counter against what is stored, %: {errors}"
    unhealed = end["control"] - start["control"]
    assert unhealed < expected["cost"] * (1 - 1e-6), (
        f"the faults cost the counter without healing nothing ({unhealed} of {expected['cost']}): healing was not tried")


@pytest.mark.parametrize("fault", ["no fault", "collector restart", "collector SIGKILL", "Prometheus restart",
                                   "Loki outage", "collector stopped"])
@pytest.mark.parametrize("temporality", TEMPORALITIES)
def test_totals_exact_and_every_event_arrives(table, fault, temporality):  # pylint: disable=redefined-outer-name
    row = table[(fault, temporality)]
    assert row["exact"], f"{fault}, {temporality}: cost {row['cost_error']:.3f} %, tokens {row['token_error']:.3f} %"
    assert row["complete"], (f"{fault}, {temporality}: {row['events']} events, missing event.sequence {row['missing']}, "
                             f"{row['api_requests']} api_request events for {row['api_replies']} answered requests")


def test_a_host_reboot_loses_nothing_of_a_cumulative_clients_metrics(table):  # pylint: disable=redefined-outer-name
    row = table[("host reboot", "cumulative")]
    assert row["exact"], f"host reboot, cumulative: cost {row['cost_error']:.3f} %, tokens {row['token_error']:.3f} %"
    # Reported, not asserted (see the module's docstring): a delta client's metrics and every
    # client's events sent while the host was down.
    delta = table[("host reboot", "delta")]
    print(f"host reboot: delta cost {delta['cost_error']:.3f} %, tokens {delta['token_error']:.3f} %; events "
          f"delta complete: {delta['complete']} (missing {delta['missing']}), cumulative complete: {row['complete']} "
          f"(missing {row['missing']})")


def test_both_collectors_took_part(table):  # pylint: disable=redefined-outer-name,unused-argument
    """The sessions' exports were spread over both collectors: the second one accepted points too."""
    points = {host: accepted_points(host) for host in (CONTAINER, PEER)}
    print(f"metric points accepted since each collector last started: {points}")
    assert points[PEER] > 0, f"the second collector ({PEER}) took no part"
