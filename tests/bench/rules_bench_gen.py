"""Synthetic Claude Code series for tests/bench/rules-benchmark.sh, as OpenMetrics text.

Shaped like the series the collector pushes (remote write, docs/telemetry.md): every session
has its own counters (session_id) and stream start (stream_start, Unix milliseconds), with a
sample only when Claude Code exported a change (every 60 s, claude_code_client's default
export interval, and at its exit), no zero before the first value and nothing after the last
(no scrape, no exporter expiry). Labels: job="claude-code" (no instance: pushed),
otel_scope_name, otel_scope_version, user_id, session_id, terminal_type, team (a resource
attribute Claude Code copies onto every data point), stream_start, and per metric model,
query_source, agent_name, type, tool_name, decision, source, language, start_type. Some
sessions commit (claude_code_commit_count_total) or open a pull request
(claude_code_pull_request_count_total).

The stack's own series that the stack health dashboard reads (up, otelcol_*, prometheus_*,
loki_*, alertmanager_*; a few dozen) are scraped every 15 s over the last STACK_HOURS (24)
hours only: its queries read the last minutes, whatever the number of sessions.

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

EXPORT = 60
SCRAPE = 15
STACK_HOURS = 24
TEAMS = ["platform", "payments", "mobile", "data", "web", "infra"]
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
    user = rng.randrange(len(USERS))
    common = (f'job="claude-code",otel_scope_name="com.anthropic.claude_code",'
              f'otel_scope_version="2.1.197",user_id="{USERS[user]}",session_id="{sid}",'
              f'terminal_type="{pick(rng, TERMINALS)}",team="{TEAMS[user % len(TEAMS)]}",'
              f'stream_start="{int(start * 1000)}"')
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
    if rng.random() < 0.25:
        series.append((f'claude_code_commit_count_total{{{common}}}', rng.randint(1, 3), True))
        if rng.random() < 0.4:
            series.append((f'claude_code_pull_request_count_total{{{common}}}', 1, True))
    return (start, start + duration, series, rng.random())


def curve(start, end, seed):
    """(timestamp, fraction of the final value) of every export of a session: every EXPORT
    seconds after its start and at its end (the exit flush), the fraction growing in steps."""
    rng = random.Random(seed)
    ticks = [start + k * EXPORT for k in range(1, int((end - start) // EXPORT) + 1)]
    if not ticks or end - ticks[-1] > 1:
        ticks.append(end)
    steps = [rng.expovariate(1.0) if rng.random() < 0.6 else 0.0 for _t in ticks]
    steps[0] += 1e-3  # something to export at the first export
    steps[-1] += 1e-3
    total = sum(steps)
    acc = 0.0
    points = []
    for t, step in zip(ticks, steps):
        acc += step
        points.append((round(t, 3), acc / total))
    return points


def stack_series(lo, hi, end):
    """The stack's own series (stack health dashboard), scraped every SCRAPE s over the last STACK_HOURS."""
    first = max(lo, end - STACK_HOURS * 3600)
    first = math.ceil(first / SCRAPE) * SCRAPE
    times = range(first, min(hi, end + 1), SCRAPE)
    col = 'job="otel-collector",instance="127.0.0.1:8888"'
    prom = 'job="prometheus",instance="127.0.0.1:9090"'
    loki = 'job="loki",instance="127.0.0.1:3100"'
    am = 'job="alertmanager",instance="127.0.0.1:9093"'
    # (series, value at t): counters grow at a fixed rate, gauges are flat
    defs = [(f'up{{job="{job}",instance="127.0.0.1:{port}"}}', lambda t: 1)
            for job, port in (("prometheus", 9090), ("alertmanager", 9093), ("otel-collector", 8888),
                              ("loki", 3100), ("grafana", 3000))]
    for kind, rate in (("metric_points", 120.0), ("log_records", 40.0)):
        rcv = f'{col},receiver="otlp",transport="http"'
        defs += [(f'otelcol_receiver_accepted_{kind}{{{rcv}}}', lambda t, r=rate: int(r * (t - 1.7e9))),
                 (f'otelcol_receiver_refused_{kind}{{{rcv}}}', lambda t: 0),
                 (f'otelcol_receiver_failed_{kind}{{{rcv}}}', lambda t: 0)]
        exp = f'{col},exporter="{"prometheus_remote_write" if kind == "metric_points" else "otlp_http/loki"}"'
        defs += [(f'otelcol_exporter_sent_{kind}{{{exp}}}', lambda t, r=rate: int(r * (t - 1.7e9))),
                 (f'otelcol_exporter_send_failed_{kind}{{{exp}}}', lambda t: 0)]
    queue = f'{col},exporter="otlp_http/loki",data_type="logs"'
    defs += [(f'otelcol_exporter_queue_size{{{queue}}}', lambda t: 3),
             (f'otelcol_exporter_queue_capacity{{{queue}}}', lambda t: 10000),
             (f'otelcol_process_memory_rss{{{col}}}', lambda t: 180e6),
             (f'prometheus_tsdb_head_series{{{prom}}}', lambda t: 20000),
             (f'prometheus_tsdb_storage_blocks_bytes{{{prom}}}', lambda t: 2.0e9),
             (f'prometheus_tsdb_wal_storage_size_bytes{{{prom}}}', lambda t: 1.5e8),
             (f'prometheus_tsdb_retention_limit_bytes{{{prom}}}', lambda t: 0),
             (f'prometheus_target_scrapes_exceeded_sample_limit_total{{{prom}}}', lambda t: 0)]
    for group in ("claude_code_recording", "claude_code_alerts", "claude_code_budgets", "claude_code_silence"):
        rg = f'{prom},rule_group="/etc/prometheus/rules/{group}.yml;{group}"'
        defs += [(f'prometheus_rule_evaluations_total{{{rg}}}', lambda t: int((t - 1.7e9) / 60)),
                 (f'prometheus_rule_evaluation_failures_total{{{rg}}}', lambda t: 0)]
    defs += [(f'loki_distributor_lines_received_total{{{loki},tenant="fake"}}', lambda t: int(40 * (t - 1.7e9))),
             (f'loki_distributor_bytes_received_total{{{loki},tenant="fake"}}', lambda t: int(40000 * (t - 1.7e9))),
             (f'loki_discarded_samples_total{{{loki},tenant="fake",reason="line_too_long"}}', lambda t: 0)]
    defs += [(f'alertmanager_alerts{{{am},state="{state}"}}', lambda t: 0)
             for state in ("active", "suppressed", "unprocessed")]
    defs += [(f'alertmanager_notifications_failed_total{{{am},integration="webhook"}}', lambda t: 0)]
    if not times:
        return [], 0
    return [(name, [(t, value(t)) for t in times]) for name, value in defs], len(defs)


def block_bounds(args):
    block = args.block_hours * 3600
    begin = args.end - args.days * 86400
    first = begin - begin % block
    return [(t, min(t + block, args.end + 1)) for t in range(first, args.end + 1, block)]


def write_chunk(args, k):
    lo, hi = block_bounds(args)[k]
    out = sys.stdout
    n_series = n_samples = 0
    buf = []
    for start, end, series, seed in sessions(args):
        if start >= hi or end < lo:
            continue
        points = curve(start, end, seed)
        if not any(lo <= t < hi for t, _f in points):
            continue
        for prefix, final, integer in series:
            # a sample only when the value changed (an export with something in it), never 0
            previous = None
            kept = 0
            for t, f in points:
                value = int(round(final * f)) if integer else round(final * f, 6)
                if value == previous or value == 0:
                    continue
                previous = value
                if lo <= t < hi:
                    buf.append(f"{prefix} {value} {t}\n")
                    kept += 1
            if kept:
                n_series += 1
                n_samples += kept
        if len(buf) > 200000:
            out.write("".join(buf))
            buf = []
    out.write("".join(buf))
    stack, count = stack_series(lo, hi, args.end)
    for name, samples in stack:
        out.write("".join(f"{name} {value} {t}\n" for t, value in samples))
        n_samples += len(samples)
    n_series += count
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
