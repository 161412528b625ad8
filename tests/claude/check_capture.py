"""Summarise and check an OTLP JSON capture of one scripted Claude Code session.

Reads the JSON-lines file written by otlp_capture.py (one
``{"path": ..., "body": ...}`` per export) and, optionally, Claude Code's
``--output-format json`` result printed by run_session.sh.  Prints a summary
(metrics by name / temporality / attributes, events by name, cost totals) and
checks what the scripted session (fake_messages_api.py) must produce:

* ``claude_code.cost.usage`` and ``claude_code.token.usage`` (all four types)
  for at least two models (main loop + subagent);
* ``claude_code.lines_of_code.count`` added and removed,
  ``code_edit_tool.decision``, ``active_time.total``, ``session.count``;
* events ``user_prompt``, ``api_request``, ``tool_decision``,
  ``subagent_completed`` and ``tool_result`` for Write, Bash, Read, Edit, Agent;
* the sum of ``cost.usage`` equals the result's ``total_cost_usd``
  (relative tolerance 1e-9; for CUMULATIVE exports the last value per series
  is used instead of the sum).

Usage::

    python3 check_capture.py capture.jsonl [result.json] [--temporality delta|cumulative]

Exit status 0 when every check passes, 1 otherwise.  stdlib only.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict

TEMPORALITY = {1: "DELTA", 2: "CUMULATIVE"}


def attr_value(v: dict):
    for k in ("stringValue", "boolValue", "intValue", "doubleValue"):
        if k in v:
            return int(v[k]) if k == "intValue" else v[k]
    return json.dumps(v)


def attrs(items) -> dict:
    return {a["key"]: attr_value(a["value"]) for a in items or []}


def load(path: str):
    metrics, events, resources = [], [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            body = rec["body"] if isinstance(rec["body"], dict) else json.loads(rec["body"])
            if rec["path"] == "/v1/metrics":
                for rm in body.get("resourceMetrics", []):
                    resources.append(attrs(rm.get("resource", {}).get("attributes")))
                    for sm in rm.get("scopeMetrics", []):
                        for m in sm.get("metrics", []):
                            kind = next(k for k in ("sum", "gauge", "histogram") if k in m)
                            data = m[kind]
                            for dp in data.get("dataPoints", []):
                                value = dp.get("asDouble", dp.get("asInt"))
                                metrics.append({
                                    "name": m["name"], "unit": m.get("unit", ""), "kind": kind,
                                    "temporality": data.get("aggregationTemporality"),
                                    "monotonic": data.get("isMonotonic"),
                                    "value": float(value) if value is not None else 0.0,
                                    "start": dp.get("startTimeUnixNano"), "time": dp.get("timeUnixNano"),
                                    "attrs": attrs(dp.get("attributes")),
                                })
            elif rec["path"] == "/v1/logs":
                for rl in body.get("resourceLogs", []):
                    resources.append(attrs(rl.get("resource", {}).get("attributes")))
                    for sl in rl.get("scopeLogs", []):
                        for r in sl.get("logRecords", []):
                            a = attrs(r.get("attributes"))
                            events.append({"name": a.get("event.name"),
                                           "body": attr_value(r.get("body", {})), "attrs": a})
    return metrics, events, resources


def series_key(m: dict) -> tuple:
    return (m["name"],) + tuple(sorted((k, str(v)) for k, v in m["attrs"].items()))


def total(metrics: list, name: str, **match) -> float:
    """Sum over DELTA points; for CUMULATIVE series, the latest point of each."""
    latest, acc = {}, 0.0
    for m in metrics:
        if m["name"] != name or any(m["attrs"].get(k) != v for k, v in match.items()):
            continue
        if m["temporality"] == 2:
            key = series_key(m)
            if key not in latest or int(m["time"]) >= int(latest[key]["time"]):
                latest[key] = m
        else:
            acc += m["value"]
    return acc + sum(m["value"] for m in latest.values())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    p.add_argument("capture")
    p.add_argument("result", nargs="?", help="Claude Code --output-format json result")
    p.add_argument("--temporality", choices=["delta", "cumulative"],
                   help="require this aggregationTemporality on every Sum")
    args = p.parse_args(argv)

    metrics, events, resources = load(args.capture)
    failures: list[str] = []

    def check(ok: bool, what: str) -> None:
        print(("  ok   " if ok else "  FAIL ") + what)
        if not ok:
            failures.append(what)

    print("== resource")
    if resources:
        print("  " + json.dumps(resources[0], sort_keys=True))
    print("== metrics (name, temporality, unit, attributes without ids -> value)")
    for m in metrics:
        shown = {k: v for k, v in m["attrs"].items() if k not in ("user.id", "session.id", "terminal.type")}
        print(f"  {m['name']} {TEMPORALITY.get(m['temporality'], m['temporality'])} "
              f"{m['unit']} {json.dumps(shown, sort_keys=True)} -> {m['value']:g}")
    print("== events")
    counts = defaultdict(int)
    for e in events:
        label = e["name"] + (f"[{e['attrs']['tool_name']}]" if "tool_name" in e["attrs"] else "")
        counts[label] += 1
    for label, n in sorted(counts.items()):
        print(f"  {label} x{n}")

    print("== checks")
    names = {m["name"] for m in metrics}
    for name in ("claude_code.session.count", "claude_code.cost.usage", "claude_code.token.usage",
                 "claude_code.lines_of_code.count", "claude_code.code_edit_tool.decision",
                 "claude_code.active_time.total"):
        check(name in names, f"metric {name}")
    cost_models = {m["attrs"].get("model") for m in metrics if m["name"] == "claude_code.cost.usage"}
    check(len(cost_models) >= 2, f"cost.usage for >=2 models: {sorted(map(str, cost_models))}")
    for model in sorted(map(str, cost_models)):
        check(total(metrics, "claude_code.cost.usage", model=model) > 0, f"cost.usage > 0 for {model}")
        for t in ("input", "output", "cacheRead", "cacheCreation"):
            v = total(metrics, "claude_code.token.usage", model=model, type=t)
            check(v > 0, f"token.usage type={t} model={model}: {v:g}")
    for t in ("added", "removed"):
        v = total(metrics, "claude_code.lines_of_code.count", type=t)
        check(v > 0, f"lines_of_code.count type={t}: {v:g}")
    if args.temporality:
        want = 1 if args.temporality == "delta" else 2
        temps = {m["temporality"] for m in metrics if m["kind"] == "sum"}
        check(temps == {want}, f"every Sum has temporality {TEMPORALITY[want]}: {sorted(temps)}")

    event_names = {e["name"] for e in events}
    for name in ("user_prompt", "api_request", "tool_decision", "tool_result", "subagent_completed"):
        check(name in event_names, f"event {name}")
    result_tools = {e["attrs"].get("tool_name") for e in events if e["name"] == "tool_result"}
    for tool in ("Write", "Bash", "Read", "Edit", "Agent"):
        check(tool in result_tools, f"tool_result for {tool}")
    api_models = {e["attrs"].get("model") for e in events if e["name"] == "api_request"}
    check(len(api_models) >= 2, f"api_request events for >=2 models: {sorted(map(str, api_models))}")

    metric_cost = total(metrics, "claude_code.cost.usage")
    event_cost = sum(float(e["attrs"].get("cost_usd", 0)) for e in events if e["name"] == "api_request")
    print(f"== cost: metrics {metric_cost!r}  api_request events {event_cost!r}")
    if args.result:
        with open(args.result, encoding="utf-8") as f:
            result = json.load(f)
        json_cost = float(result["total_cost_usd"])
        print(f"== cost: result total_cost_usd {json_cost!r}")
        check(abs(metric_cost - json_cost) <= 1e-9 * max(1.0, json_cost),
              f"sum(cost.usage) {metric_cost:.10f} == total_cost_usd {json_cost:.10f}")
        for model, mu in (result.get("modelUsage") or {}).items():
            check(abs(total(metrics, "claude_code.cost.usage", model=model) - mu["costUSD"]) <= 1e-9,
                  f"cost.usage for {model} == modelUsage costUSD {mu['costUSD']}")
            for t, key in (("input", "inputTokens"), ("output", "outputTokens"),
                           ("cacheRead", "cacheReadInputTokens"), ("cacheCreation", "cacheCreationInputTokens")):
                check(total(metrics, "claude_code.token.usage", model=model, type=t) == mu[key],
                      f"token.usage {t} for {model} == modelUsage {key} {mu[key]}")
    print(f"== {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
