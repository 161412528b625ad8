"""Synthetic Claude Code series for tests/bench/rules-benchmark.sh, as OpenMetrics text.

Shaped like the measured series (docs/telemetry.md): every session has its own counters
(session_id), starting with a 0 at the session's created timestamp (what created-timestamp
zero ingestion stores), then the cumulative values a 15 s scrape of the collector sees while
the session exports, then the final value for 5 more minutes (the exporter's metric
expiration), then nothing. Labels: job="claude-code", instance, otel_scope_name,
otel_scope_version, user_id, session_id, terminal_type, and per metric model, query_source,
agent_name, type, tool_name, decision, source, language, start_type.

Sessions: SESSIONS_PER_DAY a day (more during working hours), lasting minutes (log-normal,
median 8 min), on Sonnet (70%), Opus (20%) or Haiku (10%); 30% run a subagent on Haiku.
Deterministic for a given seed.

The output is split into files that each cover one TSDB block (54 h by default, aligned like
Prometheus' blocks), because `promtool tsdb create-blocks-from openmetrics` parses its whole
input once per block:

    rules_bench_gen.py --end EPOCH --days 30 --sessions-per-day 1000 --chunks
        prints the number of files (blocks)
    rules_bench_gen.py --end EPOCH --days 30 --sessions-per-day 1000 --chunk K > file.om
        writes file K (0-based) and prints its series and samples on stderr
"""

from __future__ import annotations

import argparse
import hashlib
import math
import random
import sys

SCRAPE = 15
EXPIRY = 300
MODELS = [("claude-sonnet-4-5-20250929", 0.70, 1.0), ("claude-opus-4-1-20250805", 0.20, 5.0),
          ("claude-haiku-4-5-20251001", 0.10, 0.3)]
SUBAGENT_MODEL = "claude-haiku-4-5-20251001"
TERMINALS = [("non-interactive", 0.4), ("vscode", 0.3), ("iTerm.app", 0.3)]
USERS = [hashlib.sha256(f"user-{i}".encode()).hexdigest() for i in range(60)]
# Sessions per hour of the day (relative): working hours busier.
HOURLY = [1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 12, 10, 12, 14, 14, 12, 10, 7, 5, 4, 3, 2, 1]


def pick(rng, weighted):
    x = rng.random()
    for value, weight, *_rest in weighted:
        x -= weight
        if x < 0:
            return value
    return weighted[-1][0]


def sessions(args):
    """Every session, sorted by start: (start, end, [(series prefix, final value, integer?)], curve seed)."""
    rng = random.Random(args.seed)
    begin = args.end - args.days * 86400
    total_weight = sum(HOURLY)
    out = []
    day0 = begin - begin % 86400
    for day in range(args.days + 1):
        for hour in range(24):
            count = args.sessions_per_day * HOURLY[hour] / total_weight
            n = int(count) + (1 if rng.random() < count - int(count) else 0)
            for _session in range(n):
                start = day0 + day * 86400 + hour * 3600 + rng.random() * 3600
                duration = min(max(math.exp(rng.gauss(math.log(480), 0.9)), 30), 4 * 3600)
                if start < begin or start + duration > args.end:
                    continue
                out.append(session(rng, len(out), start, duration))
    out.sort(key=lambda s: s[0])
    return out


def session(rng, index, start, duration):
    sid = f"{hashlib.md5(f'{index}'.encode()).hexdigest()[:8]}-{index:06d}-4bench"
    main_model = pick(rng, MODELS)
    factor = {m: f for m, _share, f in MODELS}[main_model]
    common = (f'job="claude-code",instance="127.0.0.1:8889",otel_scope_name="com.anthropic.claude_code",'
              f'otel_scope_version="2.1.197",user_id="{rng.choice(USERS)}",session_id="{sid}",'
              f'terminal_type="{pick(rng, TERMINALS)}"')
    scale = math.exp(rng.gauss(0, 0.8)) * duration / 480
    series = []

    def tokens(model, source, extra, mult):
        for typ, base in (("input", 6000), ("output", 4000), ("cacheRead", 400000), ("cacheCreation", 40000)):
            value = int(base * mult * math.exp(rng.gauss(0, 0.5)))
            series.append((f'claude_code_token_usage_tokens_total{{{common},model="{model}",query_source="{source}"'
                           f'{extra},type="{typ}"}}', value, True))

    main_cost = round(0.5 * factor * scale * math.exp(rng.gauss(0, 0.3)), 6)
    series.append((f'claude_code_cost_usage_USD_total{{{common},model="{main_model}",query_source="main"}}',
                   main_cost, False))
    tokens(main_model, "main", "", scale)
    if rng.random() < 0.3:
        sub = ',agent_name="general-purpose"'
        series.append((f'claude_code_cost_usage_USD_total{{{common},model="{SUBAGENT_MODEL}",query_source="subagent"{sub}}}',
                       round(0.05 * scale * math.exp(rng.gauss(0, 0.5)), 6), False))
        tokens(SUBAGENT_MODEL, "subagent", sub, scale * 0.3)
    series.append((f'claude_code_lines_of_code_count_total{{{common},model="{main_model}",type="added"}}',
                   int(120 * scale * rng.random()) + 1, True))
    series.append((f'claude_code_lines_of_code_count_total{{{common},model="{main_model}",type="removed"}}',
                   int(40 * scale * rng.random()), True))
    for tool in ("Write", "Edit"):
        series.append((f'claude_code_code_edit_tool_decision_total{{{common},tool_name="{tool}",decision="accept",'
                       f'source="config",language="Python"}}', rng.randint(1, 12), True))
    series.append((f'claude_code_active_time_seconds_total{{{common},type="cli"}}', round(duration * 0.3, 3), False))
    series.append((f'claude_code_session_count_total{{{common},start_type="fresh"}}', 1, True))
    return (start, start + duration, series, rng.random())


def curve(start, end, seed):
    """(timestamp, fraction of the final value) of every sample of a session's series."""
    rng = random.Random(seed)
    first = math.ceil(start / SCRAPE) * SCRAPE
    active = list(range(first, int(end) + SCRAPE, SCRAPE))
    steps = [rng.expovariate(1.0) if rng.random() < 0.6 else 0.0 for _t in active]
    steps[-1] += 1e-3
    total = sum(steps)
    acc = 0.0
    points = [(round(start, 3), 0.0)]
    for t, step in zip(active, steps):
        acc += step
        points.append((t, acc / total))
    last = active[-1]
    points += [(t, 1.0) for t in range(last + SCRAPE, last + EXPIRY + 1, SCRAPE)]
    return points


def block_bounds(args):
    block = args.block_hours * 3600
    begin = args.end - args.days * 86400
    first = begin - begin % block
    return [(t, min(t + block, args.end + EXPIRY + SCRAPE)) for t in range(first, args.end + EXPIRY + SCRAPE, block)]


def write_chunk(args, k):
    lo, hi = block_bounds(args)[k]
    out = sys.stdout
    n_series = n_samples = 0
    buf = []
    for start, end, series, seed in sessions(args):
        if start >= hi or end + EXPIRY + SCRAPE < lo:
            continue
        points = [(t, f) for t, f in curve(start, end, seed) if lo <= t < hi]
        if not points:
            continue
        for prefix, final, integer in series:
            n_series += 1
            for t, f in points:
                value = int(round(final * f)) if integer else round(final * f, 6)
                buf.append(f"{prefix} {value} {t}\n")
            n_samples += len(points)
        if len(buf) > 200000:
            out.write("".join(buf))
            buf = []
    out.write("".join(buf))
    out.write("# EOF\n")
    print(f"chunk {k}: [{lo}, {hi}) {n_series} series, {n_samples} samples", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--end", type=int, required=True, help="epoch seconds of the last data")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--sessions-per-day", type=int, default=1000)
    parser.add_argument("--block-hours", type=int, default=54, help="2, 6, 18, 54 or 162: a Prometheus block range")
    parser.add_argument("--seed", type=int, default=7)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--chunks", action="store_true", help="print the number of chunk files")
    group.add_argument("--chunk", type=int, help="write chunk K to stdout")
    group.add_argument("--stats", action="store_true", help="print sessions and series")
    args = parser.parse_args()
    if args.chunks:
        print(len(block_bounds(args)))
    elif args.stats:
        all_sessions = sessions(args)
        print(f"{len(all_sessions)} sessions, {sum(len(s[2]) for s in all_sessions)} series")
    else:
        write_chunk(args, args.chunk)


if __name__ == "__main__":
    main()
