"""Time a dashboard's Prometheus queries, raw and as shipped (on the recording rules).

Used by tests/bench/rules-benchmark.sh against a throwaway Prometheus that holds the generated
data and the backfilled recording rules:

    rules_bench_query.py --url http://127.0.0.1:PORT --time END --repeat 5 --range 30d \
        --dashboard RAW.json --shipped files/dashboards/claude-code.json [--rules RULES.yml]

RAW.json is the same dashboard built with TCC_DASHBOARD_RAW=1 (every query on the per-session
series). Every Prometheus target is evaluated as an instant query at the last evaluation of
the recording rules before END (records are as fresh as that; less than a minute before END),
with Grafana's variables replaced for a dashboard time range of --range ending there:
$__range, $__range_s, ${__from:date:seconds} (the range's start), $__interval and
$__rate_interval 1m, $__interval_ms 60000. Both forms run REPEAT times, interleaved, after
one warm-up run; the median counts (a target that is the same in both forms runs once and
counts for both). Results must agree (relative error 1e-9); disagreements are reported and make
the exit status 1. Results that are empty, or only zeros (a stat's `or vector(0)`), are
reported as such: their time says nothing about the data.

Every target counts as an instant query there, time series panels too. With
--range-queries POINTS, the raw form of each time series target is also timed as the range
query Grafana sends for a panel POINTS data points wide: step = $__interval, Grafana's rounding
of range / POINTS, at least the panel's interval (1m by default): 1m for 24h and 20m for 30d
at 1000 points; start and end aligned to the step. The shipped form of a time series target
that reads records is not timed that way: the records are backfilled around a few instants.

With --rules, also times each recording rule's own expression there: what Prometheus spends
per evaluation to keep the records up to date.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import urllib.parse
import urllib.request

import yaml

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def seconds(duration):
    return sum(int(n) * UNITS[u] for n, u in re.findall(r"(\d+)([smhdw])", duration))


def variables(range_, at, step=60):
    """Grafana's variables for a time range `range_` ending at `at`, and a step (time series)."""
    range_s = seconds(range_)
    # $__rate_interval: max($__interval + scrape interval, 4 x scrape interval), scrapes every 15 s
    return {"${__from:date:seconds}": str(int(at - range_s)), "$__range_s": str(range_s), "$__range": range_,
            "$__rate_interval": f"{max(step + 15, 60)}s", "$__interval_ms": str(step * 1000),
            "$__interval": f"{step // 60}m" if step % 60 == 0 else f"{step}s"}


# Grafana's rounding of range / max data points to an interval (rangeutil.roundInterval), in s.
ROUNDED = [(45, 30), (90, 60), (210, 120), (450, 300), (1050, 600), (1500, 900), (2700, 1200), (5400, 1800),
           (9000, 3600), (16200, 7200), (32400, 10800), (86400, 21600)]


def grafana_step(range_, points=1000, minimum=60):
    """The step (and $__interval) Grafana uses for a time series panel `points` wide, `minimum` at least."""
    raw = seconds(range_) / points
    step = next((rounded for limit, rounded in ROUNDED if raw < limit), 86400)
    return max(step, minimum)


def dashboard_queries(path, values, steps=None):
    """[(panel [refId], expr with the variables replaced, time series?, step)]; with `steps`, a
    function of a panel's minimum interval (s) that gives its step and variables, those of each
    panel (else the step is None)."""
    with open(path, encoding="utf-8") as handle:
        dashboard = json.load(handle)

    def panels(items):
        for panel in items:
            yield panel
            yield from panels(panel.get("panels") or [])

    out = []
    for panel in panels(dashboard.get("panels") or []):
        for target in panel.get("targets") or []:
            ds = target.get("datasource") or panel.get("datasource") or {}
            kind = ds.get("type") if isinstance(ds, dict) else str(ds)
            if kind != "prometheus" or not target.get("expr"):
                continue
            expr = target["expr"]
            here, step = values, None
            if steps is not None:
                step, here = steps(seconds(target.get("interval") or panel.get("interval") or "1m"))
            for name in sorted(here, key=len, reverse=True):
                expr = expr.replace(name, here[name])
            if "$" in expr:
                raise SystemExit(f"{panel.get('title')} [{target.get('refId')}]: variable left in {expr}")
            is_range = bool(target.get("range")) or (panel.get("type") == "timeseries" and not target.get("instant"))
            out.append((f"{panel.get('title')} [{target.get('refId')}]", expr, is_range, step))
    return out


def _post(url, path, params):
    """POST a query to Prometheus's HTTP API: (wall time in seconds, the answer's data)."""
    start = time.perf_counter()
    with urllib.request.urlopen(f"{url}{path}", data=urllib.parse.urlencode(params).encode(), timeout=600) as response:
        body = json.load(response)
    wall = time.perf_counter() - start
    if body.get("status") != "success":
        raise RuntimeError(f"{params['query']}: {body}")
    return wall, body["data"]


def query(url, expr, at):
    wall, data = _post(url, "/api/v1/query", {"query": expr, "time": str(at), "stats": "all"})
    stats = (data.get("stats") or {}).get("timings") or {}
    samples = (data.get("stats") or {}).get("samples") or {}
    return wall, stats.get("evalTotalTime", wall), data, samples.get("totalQueryableSamples")


def query_range(url, expr, start, end, step):
    wall, data = _post(url, "/api/v1/query_range", {"query": expr, "start": str(start), "end": str(end), "step": str(step)})
    return wall, data["result"]


def as_map(data):
    if data["resultType"] == "scalar":
        return {"": float(data["result"][1])}
    # (a record keeps its name where a raw aggregation has none: names do not matter here)
    return {json.dumps({k: v for k, v in r["metric"].items() if k != "__name__"}, sort_keys=True): float(r["value"][1])
            for r in data["result"]}


def same(a, b):
    if set(a) != set(b):
        return False
    return all(abs(a[k] - b[k]) <= 1e-9 * max(1.0, abs(a[k]), abs(b[k])) for k in a)


def content(result):
    if not result:
        return "empty"
    if all(v == 0 for v in result.values()):
        return "zero"
    return "data"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--time", type=float, required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--range", default="24h", help="the dashboard's time range ($__range)")
    parser.add_argument("--dashboard", required=True, help="the dashboard built raw (TCC_DASHBOARD_RAW=1)")
    parser.add_argument("--shipped", required=True, help="the dashboard as shipped")
    parser.add_argument("--name", help="the dashboard's name in the output")
    parser.add_argument("--rules", help="also time these recording rules")
    parser.add_argument("--range-queries", type=int, default=0, metavar="POINTS",
                        help="also time the time series panels' raw queries as range queries, POINTS wide")
    parser.add_argument("--json", help="write the measurements here")
    parser.add_argument("--progress", action="store_true", help="print each target's times as soon as measured")
    args = parser.parse_args()
    name = args.name or args.shipped
    sys.stdout.reconfigure(line_buffering=True)

    # Records are as fresh as the last evaluation of their group: compare there, raw and
    # shipped at the same instant.
    last = query(args.url, "timestamp(claude_code:sessions_active:count24h)", args.time)[2]["result"]
    if not last:
        raise SystemExit(f"no recorded claude_code:sessions_active:count24h at {args.time}: the backfill failed")
    at = float(last[0]["value"][1])
    values = variables(args.range, at)
    print(f"{name}, $__range {args.range}: at the last rule evaluation before {args.time:.0f}: {at:.3f}"
          f" ({args.time - at:.1f} s earlier)")
    rows, mismatches = [], []
    summary = {"dashboard": name, "range": args.range, "at": at}
    raw_queries = dashboard_queries(args.dashboard, values)
    shipped = {title: expr for title, expr, _is_range, _step in dashboard_queries(args.shipped, values)}
    if set(shipped) != {title for title, _expr, _is_range, _step in raw_queries}:
        raise SystemExit(f"{args.dashboard} and {args.shipped} do not have the same targets")
    for title, expr, _is_range, _step in raw_queries:
        forms = {"raw": expr} if shipped[title] == expr else {"raw": expr, "rec": shipped[title]}
        timings = {form: [] for form in forms}
        results, queried = {}, {}
        for form in forms:  # warm-up
            _wall, _engine, data, samples = query(args.url, forms[form], at)
            results[form], queried[form] = as_map(data), samples
        for _run in range(args.repeat):
            for form in forms:
                wall, engine, _data, _samples = query(args.url, forms[form], at)
                timings[form].append((wall, engine))
        if "rec" not in forms:
            timings["rec"], results["rec"], queried["rec"] = timings["raw"], results["raw"], queried["raw"]
        row = {"panel": title, "rewritten": "rec" in forms, "raw": expr, "rec": shipped[title]}
        for form in ("raw", "rec"):
            row[f"{form}_wall"] = statistics.median(w for w, _e in timings[form])
            row[f"{form}_engine"] = statistics.median(e for _w, e in timings[form])
            row[f"{form}_samples"] = queried[form]
        row["series"] = len(results["raw"])
        row["content"] = content(results["raw"])
        row["agree"] = same(results["raw"], results["rec"])
        if not row["agree"]:
            mismatches.append((title, results["raw"], results["rec"]))
        rows.append(row)
        if args.progress:
            print(f"  ... {title}: raw {1000 * row['raw_wall']:.1f} ms, shipped {1000 * row['rec_wall']:.1f} ms")

    summary["queries"] = len(rows)
    if rows:
        width = max(len(r["panel"]) for r in rows)
        print(f"{'panel [target]':<{width}}  {'raw ms':>9}  {'shipped ms':>10}  {'speed-up':>8}  agree  result")
        for r in rows:
            speed = r["raw_wall"] / r["rec_wall"]
            rec = f"{1000 * r['rec_wall']:10.1f}" if r["rewritten"] else f"{'(same)':>10}"
            print(f"{r['panel']:<{width}}  {1000 * r['raw_wall']:9.1f}  {rec}  {speed:7.1f}x  "
                  f"{'yes' if r['agree'] else 'NO':>5}  {r['content']} ({r['series']} series)")
        for form in ("raw", "rec"):
            slowest = sorted(rows, key=lambda r, f=form: r[f"{f}_wall"], reverse=True)[:3]
            summary[form] = {"total": sum(r[f"{form}_wall"] for r in rows),
                             "engine": sum(r[f"{form}_engine"] for r in rows),
                             "slowest": [(r["panel"], r[f"{form}_wall"]) for r in slowest]}
        summary["rewritten"] = sum(1 for r in rows if r["rewritten"])
        summary["empty"] = [r["panel"] for r in rows if r["content"] == "empty"]
        summary["zero"] = [r["panel"] for r in rows if r["content"] == "zero"]
        print()
        print(f"{name}, $__range {args.range}: {len(rows)} Prometheus queries ({summary['rewritten']} read records"
              f" as shipped), sum of the medians of {args.repeat} (wall time of the HTTP query):")
        for form, label in (("raw", "raw"), ("rec", "shipped")):
            s = summary[form]
            print(f"  {label + ':':<9}{s['total']:8.3f} s  (engine {s['engine']:.3f} s); slowest: "
                  + "; ".join(f"{p} {1000 * w:.0f} ms" for p, w in s["slowest"]))
        print(f"  empty results: {len(summary['empty'])} {summary['empty']}")
        print(f"  only zeros: {len(summary['zero'])} {summary['zero']}")
    else:
        print(f"{name}: no Prometheus queries")

    def save(range_rows=(), rule_rows=()):
        if args.json:
            with open(args.json, "w", encoding="utf-8") as handle:
                json.dump({"summary": summary, "queries": rows, "range_queries": list(range_rows),
                           "rules": list(rule_rows)}, handle, indent=1)

    save()  # the instant queries, in case the range queries take too long
    range_rows = []
    if args.range_queries:
        # Time series panels as Grafana asks for them: a range query over the dashboard's range,
        # step = $__interval for a panel of POINTS data points. Only the raw form: the records
        # are backfilled around a few instants, not over the whole range.
        def steps(minimum):
            step = grafana_step(args.range, args.range_queries, minimum)
            return step, variables(args.range, at, step)

        shipped_r = {title: expr for title, expr, _r, _s in dashboard_queries(args.shipped, values, steps)}
        for title, expr, is_range, step in dashboard_queries(args.dashboard, values, steps):
            if not is_range:
                continue
            start, end = (at - seconds(args.range)) // step * step, at // step * step
            _wall, result = query_range(args.url, expr, start, end, step)
            walls = [query_range(args.url, expr, start, end, step)[0] for _run in range(args.repeat)]
            points = sum(len(r["values"]) for r in result)
            range_rows.append({"panel": title, "raw": expr, "wall": statistics.median(walls), "step": step,
                               "series": len(result), "points": points, "reads_records": shipped_r[title] != expr})
        print(f"time series panels as range queries over {args.range} (raw form, median of {args.repeat}):")
        for r in range_rows:
            print(f"  {r['panel']:<40} {1000 * r['wall']:9.1f} ms  step {r['step']} s, {r['series']} series,"
                  f" {r['points']} points"
                  + ("  (shipped reads records: not timed)" if r["reads_records"] else ""))
        summary["range_queries"] = {"total_raw": sum(r["wall"] for r in range_rows),
                                    "count": len(range_rows),
                                    "empty": [r["panel"] for r in range_rows if not r["points"]]}
        print(f"  total {summary['range_queries']['total_raw']:.3f} s")

    rule_rows = []
    if args.rules:
        with open(args.rules, encoding="utf-8") as handle:
            for group in yaml.safe_load(handle)["groups"]:
                for rule in group["rules"]:
                    query(args.url, rule["expr"], at)
                    walls = [query(args.url, rule["expr"], at)[0] for _run in range(args.repeat)]
                    rule_rows.append({"group": group["name"], "record": rule["record"], "wall": statistics.median(walls)})

    if rule_rows:
        groups = {}
        for r in rule_rows:
            groups[r["group"]] = groups.get(r["group"], 0) + r["wall"]
        print("cost of keeping the records (one evaluation of the group, every 1m), rule by rule:")
        for r in rule_rows:
            print(f"  {r['record']:<50} {1000 * r['wall']:8.1f} ms")
        for group, total in groups.items():
            print(f"  group {group}: {total:.3f} s")
    if mismatches:
        print(f"{len(mismatches)} queries disagree:")
        for title, raw, rec in mismatches:
            print(f"  {title}: raw {raw} shipped {rec}")
    save(range_rows, rule_rows)
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
