"""Seeded fleet counters on the benchmark month (tests/bench/fleet-seed.sh; a benchmark, not a test).

``seed RECORD BY END [--settle S] [--detail S]``: read ``promtool tsdb dump`` of one metric on
stdin, write the counter's history as OpenMetrics on stdout (plugins/module_utils/fleet_seed.py),
and its figures as JSON on stderr.

``query --url URL --at T --settle S``: the main dashboard's range statistics that a fleet counter
can answer, each asked two ways: over the per-session series as the dashboard asks today (the
read-once form, pricing.summable_accrued), at T - S, and as two reads of the seeded counters, at T
(a counter stands for the totals as of S before its evaluation). Prints JSON: per target, both
times (the raw one once, the counter's median of REPEAT), both answers and their largest relative
difference.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import rules_bench_query as rbq  # noqa: E402  pylint: disable=wrong-import-position,import-error

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "plugins" / "module_utils"))
import fleet_seed  # noqa: E402  pylint: disable=wrong-import-position,import-error
import pricing  # noqa: E402  pylint: disable=wrong-import-position,import-error

# metric -> (record, by): the counters this benchmark seeds, those of claude_code_fleet.yml
COUNTERS = {metric: (record, by) for metric, record, by in pricing.FLEET_COUNTERS}


def seconds(duration: str) -> int:
    """'30d', '7d', '2h', '2m', '0s' as seconds."""
    return int(duration[:-1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[duration[-1]]


def raw(metric, window, offset="", selector="", by=""):
    """What the series accrued over the window, summed, the way the dashboards ask today."""
    grouping = "sum by ({0}) ".format(by) if by else "sum "
    return "{0}({1})".format(grouping, pricing.summable_accrued("{0}{{{1}}}".format(metric, selector), window, offset))


def counted(metric, window, offset="", selector="", by=""):
    """What the counter grew by over the window ending `offset` before: two reads."""
    record = COUNTERS[metric][0]
    sel = "{0}{{{1}}}".format(record, selector)
    end = " offset {0}".format(offset) if offset else ""
    start = " offset {0}s".format(seconds(window) + seconds(offset or "0s"))
    grouping = "sum by ({0}) ".format(by) if by else "sum "
    return "({0}({1}{2}) - ({0}({1}{3}) or {0}({1}{2}) * 0))".format(grouping, sel, end, start)


def targets(window):
    """(name, raw PromQL, counter PromQL): the main dashboard's statistics over its range."""
    cost, tokens = "claude_code_cost_usage_USD_total", "claude_code_token_usage_tokens_total"
    lines, edits = "claude_code_lines_of_code_count_total", "claude_code_code_edit_tool_decision_total"

    def both(name, build):
        return name, build(raw), build(counted)

    return [
        both("Total Cost", lambda f: f(cost, window)),
        both("Cost by Model", lambda f: f(cost, window, by="model")),
        both("Total Tokens", lambda f: f(tokens, window)),
        both("Tokens by Model and Type", lambda f: f(tokens, window, by="model, type")),
        both("Tokens, the range before (offset 7d)", lambda f: f(tokens, window, offset="7d")),
        both("Weekly Tokens", lambda f: f(tokens, "7d")),
        both("Weekly Tokens, week before", lambda f: f(tokens, "7d", offset="7d")),
        both("Cache Hit Rate %", lambda f: "100 * {0} / ({1} > 0)".format(
            f(tokens, window, selector='type="cacheRead"'), f(tokens, window))),
        both("Cost per 1K Tokens", lambda f: "1000 * {0} / ({1} > 0)".format(f(cost, window), f(tokens, window))),
        both("Lines Added", lambda f: f(lines, window, selector='type="added"')),
        both("Lines Removed", lambda f: f(lines, window, selector='type="removed"')),
        both("Code Edit Acceptance Rate %", lambda f: "100 * {0} / ({1} > 0)".format(
            f(edits, window, selector='decision="accept"'), f(edits, window))),
    ]


def seed(args):
    started = time.perf_counter()
    record, by = COUNTERS[args.metric]
    history_seed = fleet_seed.FleetSeed(by, args.end, settle=seconds(args.settle), detail=seconds(args.detail))
    history_seed.feed(sys.stdin)
    history = history_seed.history()
    points = 0
    for line in fleet_seed.openmetrics(record, by, history):
        sys.stdout.write(line)
        points += 1
    json.dump({"metric": args.metric, "record": record, "series": history_seed.series,
               "samples": history_seed.samples, "groups": len(history), "points": points - 2,
               "seconds": round(time.perf_counter() - started, 3)}, sys.stderr)
    sys.stderr.write("\n")


def query(args):
    settle = seconds(args.settle)
    out = []
    for name, raw_expr, counter_expr in targets(args.window):
        raw_wall, _engine, raw_data, raw_samples = rbq.query(args.url, raw_expr, args.at - settle)
        walls = []
        for _attempt in range(args.repeat):
            wall, _engine, data, samples = rbq.query(args.url, counter_expr, args.at)
            walls.append(wall)
        a, b = rbq.as_map(raw_data), rbq.as_map(data)
        diff = max([abs(a[k] - b[k]) / max(abs(a[k]), 1e-300) for k in set(a) & set(b)] or [0.0])
        out.append({"target": name, "raw_seconds": round(raw_wall, 4), "raw_samples": raw_samples,
                    "counter_seconds": round(statistics.median(walls), 4), "counter_samples": samples,
                    "same_series": set(a) == set(b), "max_relative_difference": diff,
                    "raw": a, "counter": b, "raw_expr": raw_expr, "counter_expr": counter_expr})
        print("{0:40s} raw {1:8.3f} s  counter {2:7.4f} s  diff {3:.2e}  series {4}".format(
            name, raw_wall, statistics.median(walls), diff, "same" if set(a) == set(b) else "DIFFER"), file=sys.stderr)
    json.dump({"at": args.at, "window": args.window, "settle": args.settle, "targets": out,
               "raw_total_seconds": round(sum(t["raw_seconds"] for t in out), 3),
               "counter_total_seconds": round(sum(t["counter_seconds"] for t in out), 4)}, sys.stdout, indent=1)
    print()


def seed_sessions(args):
    """The sessions' counters (episodes started and ended) from a dump of the cost and session metrics."""
    started = time.perf_counter()
    episodes = fleet_seed.EpisodeSeed(args.end, settle=seconds(args.settle), detail=seconds(args.detail))
    fleet_seed.feed_many(sys.stdin, {metric: episodes for metric in fleet_seed.SESSION_METRICS})
    episodes.finish()
    points = 0
    for record, part in ((pricing.FLEET_SESSIONS_STARTED, episodes.started), (pricing.FLEET_SESSIONS_ENDED, episodes.ended)):
        history = part.history()
        for line in fleet_seed.openmetrics(record, (), history):
            if line != "# EOF\n":
                sys.stdout.write(line)
                points += 1
    sys.stdout.write("# EOF\n")
    json.dump({"metric": "sessions", "series": episodes.series, "samples": episodes.samples, "sessions": episodes.sessions,
               "episodes": episodes.episodes, "points": points - 2, "seconds": round(time.perf_counter() - started, 3)},
              sys.stderr)
    sys.stderr.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("seed")
    p.add_argument("metric", choices=sorted(COUNTERS))
    p.add_argument("end", type=float)
    p.add_argument("--settle", default="2m")
    p.add_argument("--detail", default="2h")
    p.set_defaults(func=seed)
    p = sub.add_parser("seed-sessions")
    p.add_argument("end", type=float)
    p.add_argument("--settle", default="2m")
    p.add_argument("--detail", default="2h")
    p.set_defaults(func=seed_sessions)
    p = sub.add_parser("query")
    p.add_argument("--url", required=True)
    p.add_argument("--at", type=float, required=True)
    p.add_argument("--settle", default="2m")
    p.add_argument("--window", default="30d")
    p.add_argument("--repeat", type=int, default=3)
    p.set_defaults(func=query)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
