"""Time the dashboard's Prometheus queries, raw and rewritten onto the recording rules.

Used by tests/bench/rules-benchmark.sh against a throwaway Prometheus that holds the generated
data and the backfilled recording rules:

    rules_bench_query.py --url http://127.0.0.1:PORT --time END --repeat 5 \
        --dashboard files/dashboards/claude-code.json --rules files/rules/claude_code_recording.yml

Every Prometheus target of the dashboard is evaluated as an instant query at the last evaluation
of the recording rules before END (records are as fresh as that; less than a minute before END),
with Grafana's variables replaced ($__range_s 86400, $__range 24h, $__rate_interval 1m, $__interval 1m). With
--shipped, the "rules" form of each query is the shipped dashboard's (which reads records only
where its window is fixed); without it, a query is rewritten when it contains what a recording rule records: a per-series accrual
`(max_over_time(M{sel}[w]) - min_over_time(M{sel}[w]))` for a window w and labels that a
`claude_code:<metric>:accrued<w>` rule keeps, or the sessions count. Both forms run REPEAT
times, interleaved, after one warm-up run; the median counts. Results must agree (relative
error 1e-9); disagreements are reported and make the exit status 1.

Also times each recording rule's own expression there: what Prometheus spends per evaluation to
keep the records up to date.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import statistics
import sys
import time
import urllib.parse
import urllib.request

import yaml

VARIABLES = {"$__range_s": "86400", "$__range": "24h", "$__rate_interval": "1m", "$__interval": "1m"}
ACCRUAL = re.compile(
    r"\(max_over_time\((claude_code_[A-Za-z_]+?)_total(\{(?:[^}\"]|\"(?:[^\"\\\\]|\\\\.)*\")*\}|)\[(\w+)\]( offset \w+|)\)"
    r" - min_over_time\(\1_total\2\[\3\]\4\)\)"
)
SESSIONS = re.compile(
    r"count\(count by \(session_id\) \(count_over_time\(claude_code_cost_usage_USD_total\[(\w+)\]\)"
    r" or count_over_time\(claude_code_session_count_total\[\1\]\)\)\)"
)


def dashboard_queries(path):
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
            for name in sorted(VARIABLES, key=len, reverse=True):
                expr = expr.replace(name, VARIABLES[name])
            out.append((f"{panel.get('title')} [{target.get('refId')}]", expr))
    return out


def recorded():
    """{(metric, window): kept labels} of the accrual records, and {window: name} of the session counts.

    Read from files/rules/claude_code_recording.yml by the dashboards' own helper (common.py).
    """
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "dashboards"))
    import common  # pylint: disable=import-outside-toplevel,import-error

    accruals = {(metric[len("claude_code_"):-len("_total")], window): kept
                for (metric, window), (_name, kept) in common.ACCRUAL_RECORDS.items()}
    return accruals, dict(common.SESSION_RECORDS)


def rewrite(expr, accruals, counts):
    def accrual(m):
        metric, selector, window, offset = m.group(1)[len("claude_code_"):], m.group(2) or "", m.group(3), m.group(4) or ""
        kept = accruals.get((metric, window))
        used = set(re.findall(r"([a-zA-Z_]+)\s*(?:=~|!~|!=|=)", selector))
        if kept is None or not used <= kept:
            return m.group(0)
        return f"claude_code:{metric}:accrued{window}{selector}{offset}"

    def sessions(m):
        return counts.get(m.group(1), m.group(0))

    new = SESSIONS.sub(sessions, ACCRUAL.sub(accrual, expr))
    # An aggregation over the records must only group by labels they keep.
    for grouping in re.findall(r"\bby\s*\(([^)]*)\)", new):
        labels = {x.strip() for x in grouping.split(",") if x.strip()}
        if "claude_code:" in new and not labels <= {"model", "type", "tool_name", "decision"}:
            return expr
    return new


def query(url, expr, at):
    data = urllib.parse.urlencode({"query": expr, "time": str(at), "stats": "all"}).encode()
    start = time.perf_counter()
    with urllib.request.urlopen(f"{url}/api/v1/query", data=data, timeout=600) as response:
        body = json.load(response)
    wall = time.perf_counter() - start
    if body.get("status") != "success":
        raise RuntimeError(f"{expr}: {body}")
    stats = (body["data"].get("stats") or {}).get("timings") or {}
    return wall, stats.get("evalTotalTime", wall), body["data"]


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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--time", type=float, required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dashboard", required=True)
    parser.add_argument("--rules", required=True)
    parser.add_argument("--json", help="write the measurements here")
    parser.add_argument("--shipped", help="the dashboard as shipped (reading records where it does): compare "
                                          "--dashboard (raw) with it instead of rewriting every accrual")
    args = parser.parse_args()

    accruals, counts = recorded()
    # Records are as fresh as the last evaluation of their group: compare there, raw and
    # rewritten at the same instant.
    last = query(args.url, "timestamp(claude_code:sessions_active:count24h)", args.time)[2]["result"]
    if not last:
        raise SystemExit(f"no recorded claude_code:sessions_active:count24h at {args.time}: the backfill failed")
    at = float(last[0]["value"][1])
    print(f"evaluating at the last rule evaluation before {args.time:.0f}: {at:.3f} ({args.time - at:.1f} s earlier)")
    rows, mismatches = [], []
    shipped = dict(dashboard_queries(args.shipped)) if args.shipped else None
    for title, expr in dashboard_queries(args.dashboard):
        new = shipped[title] if shipped is not None else rewrite(expr, accruals, counts)
        forms = {"raw": expr, "rec": new}
        timings = {"raw": [], "rec": []}
        results = {}
        for form in forms:  # warm-up
            results[form] = as_map(query(args.url, forms[form], at)[2])
        for _run in range(args.repeat):
            for form in forms:
                wall, engine, _data = query(args.url, forms[form], at)
                timings[form].append((wall, engine))
        row = {"panel": title, "rewritten": new != expr, "raw": expr, "rec": new}
        for form in forms:
            row[f"{form}_wall"] = statistics.median(w for w, _e in timings[form])
            row[f"{form}_engine"] = statistics.median(e for _w, e in timings[form])
        row["series"] = len(results["raw"])
        row["agree"] = same(results["raw"], results["rec"])
        if not row["agree"]:
            mismatches.append((title, results["raw"], results["rec"]))
        rows.append(row)

    rule_rows = []
    with open(args.rules, encoding="utf-8") as handle:
        for group in yaml.safe_load(handle)["groups"]:
            for rule in group["rules"]:
                query(args.url, rule["expr"], at)
                walls = [query(args.url, rule["expr"], at)[0] for _run in range(args.repeat)]
                rule_rows.append({"group": group["name"], "record": rule["record"], "wall": statistics.median(walls)})

    width = max(len(r["panel"]) for r in rows)
    print(f"{'panel [target]':<{width}}  {'raw ms':>9}  {'rules ms':>9}  {'speed-up':>8}  agree")
    for r in rows:
        speed = r["raw_wall"] / r["rec_wall"] if r["rewritten"] else 1.0
        rec = f"{1000 * r['rec_wall']:9.1f}" if r["rewritten"] else f"{'(same)':>9}"
        print(f"{r['panel']:<{width}}  {1000 * r['raw_wall']:9.1f}  {rec}  {speed:7.1f}x  {'yes' if r['agree'] else 'NO'}")
    raw_total = sum(r["raw_wall"] for r in rows)
    rec_total = sum(r["rec_wall"] for r in rows)
    rewritten = [r for r in rows if r["rewritten"]]
    print()
    print(f"dashboard, {len(rows)} Prometheus queries, median of {args.repeat} (wall time of the HTTP query):")
    print(f"  raw:                   {raw_total:8.3f} s  (engine {sum(r['raw_engine'] for r in rows):.3f} s)")
    print(f"  with recording rules:  {rec_total:8.3f} s  (engine {sum(r['rec_engine'] for r in rows):.3f} s)"
          f"  -> {raw_total / rec_total:.1f}x faster")
    print(f"  the {len(rewritten)} rewritten queries alone: {sum(r['raw_wall'] for r in rewritten):.3f} s ->"
          f" {sum(r['rec_wall'] for r in rewritten):.3f} s")
    groups = {}
    for r in rule_rows:
        groups[r["group"]] = groups.get(r["group"], 0) + r["wall"]
    print("cost of keeping the records (one evaluation of the group, every 1m), rule by rule:")
    for r in rule_rows:
        print(f"  {r['record']:<50} {1000 * r['wall']:8.1f} ms")
    for name, total in groups.items():
        print(f"  group {name}: {total:.3f} s")
    if mismatches:
        print(f"{len(mismatches)} queries disagree:")
        for title, raw, rec in mismatches:
            print(f"  {title}: raw {raw} rules {rec}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"queries": rows, "rules": rule_rows}, handle, indent=1)
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
