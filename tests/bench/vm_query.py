"""Time a raw dashboard's Prometheus queries on VictoriaMetrics and on Prometheus, and compare them.

Used by tests/bench/victoria-metrics-query.sh, with both holding the same data:

    vm_query.py --prometheus URL --vm URL --time END --range 30d --repeat 3 --dashboard RAW.json

Every Prometheus target of RAW.json (a dashboard built with TCC_DASHBOARD_RAW=1) runs as an
instant query at END with Grafana's variables for a time range --range ending there (as in
rules_bench_query.py). Prometheus answers it once; VictoriaMetrics REPEAT times with nocache=1
(its rollup result cache bypassed: the cost of a dashboard's first load; the median counts), then
once without (the cache filled: a refresh). The answers of both must agree (relative error 1e-9,
same label sets). Wall times of the HTTP queries. Prints one line per target; --json writes them
and a summary.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import rules_bench_query as rbq  # noqa: E402  pylint: disable=wrong-import-position,import-error


def vm_query(url, expr, at, cached):
    params = {"query": expr, "time": str(at)}
    if not cached:
        params["nocache"] = "1"
    wall, data = rbq._post(url, "/api/v1/query", params)  # pylint: disable=protected-access
    return wall, data


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--prometheus", required=True)
    parser.add_argument("--vm", required=True)
    parser.add_argument("--time", type=float, required=True)
    parser.add_argument("--range", default="30d")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dashboard", required=True)
    parser.add_argument("--name", default="")
    parser.add_argument("--json")
    a = parser.parse_args()

    rows, differ = [], []
    for panel, expr, _is_range, _step in rbq.dashboard_queries(a.dashboard, rbq.variables(a.range, a.time)):
        p_wall, _engine, p_data, _samples = rbq.query(a.prometheus, expr, a.time)
        firsts = []
        v_data = None
        for _run in range(max(1, a.repeat)):
            wall, v_data = vm_query(a.vm, expr, a.time, cached=False)
            firsts.append(wall)
        cached, _cached_data = vm_query(a.vm, expr, a.time, cached=True)
        p_map, v_map = rbq.as_map(p_data), rbq.as_map(v_data)
        agree = rbq.same(p_map, v_map)
        row = {"panel": panel, "expr": expr, "prometheus": p_wall, "vm_first": statistics.median(firsts),
               "vm_first_all": firsts, "vm_cached": cached, "content": rbq.content(p_map), "agree": agree}
        if not agree:
            row["prometheus_result"], row["vm_result"] = p_map, v_map
            differ.append(panel)
        rows.append(row)
        print(f"  {panel[:60]:<60} Prometheus {p_wall:8.3f} s  VM {row['vm_first']:7.3f} s, cached {cached:7.3f} s"
              f"  {row['content']}{'' if agree else '  DIFFERS'}", flush=True)
        if not agree:
            print(f"    Prometheus: {json.dumps(p_map, sort_keys=True)[:400]}\n    VM:         {json.dumps(v_map, sort_keys=True)[:400]}")

    slowest = sorted(rows, key=lambda r: r["vm_first"], reverse=True)[:3]
    summary = {"dashboard": a.name, "range": a.range, "at": a.time, "targets": len(rows),
               "prometheus": sum(r["prometheus"] for r in rows), "vm_first": sum(r["vm_first"] for r in rows),
               "vm_cached": sum(r["vm_cached"] for r in rows), "differ": differ,
               "empty": [r["panel"] for r in rows if r["content"] == "empty"],
               "slowest_vm": [(r["panel"], r["vm_first"]) for r in slowest]}
    print(f"  {a.name} {a.range}: {len(rows)} targets, Prometheus {summary['prometheus']:.2f} s, VictoriaMetrics "
          f"{summary['vm_first']:.2f} s (cached {summary['vm_cached']:.2f} s), {len(differ)} differ, "
          f"{len(summary['empty'])} empty on both")
    if a.json:
        with open(a.json, "w", encoding="utf-8") as handle:
            json.dump({"summary": summary, "queries": rows}, handle, indent=1)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
