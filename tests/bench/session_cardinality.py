"""Measurements and report of tests/bench/session-cardinality.sh (a benchmark, not a test).

``measure``: after one Claude Code session, wait until Prometheus shows its cost and a stable
series count, then append one JSON line of measurements to the state file.
``report``: read the state file, print the tables and the fleet extrapolation, write JSON.

Standard library only; talks to one Prometheus on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import datetime
import json
import pathlib
import sys
import time
import urllib.parse
import urllib.request

JOB = '{job="claude-code"}'
COST = 'claude_code_cost_usage_USD_total{job="claude-code"}'
# "Exact": the same float, up to the order of the additions.
TOLERANCE = 1e-9


def seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60}
    for suffix in ("ms", "s", "m"):
        if duration.endswith(suffix):
            return float(duration[: -len(suffix)]) * units[suffix]
    return float(duration)


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # nosec: loopback only
        return response.read()


def query(prom: str, expr: str) -> list:
    body = json.loads(get(f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr})))
    if body.get("status") != "success":
        raise RuntimeError(f"{expr}: {body}")
    return body["data"]["result"]


def scalar(prom: str, expr: str) -> float | None:
    result = query(prom, expr)
    return float(result[0]["value"][1]) if result else None


def head_series(prom: str) -> int:
    for line in get(f"{prom}/metrics").decode().splitlines():
        if line.startswith("prometheus_tsdb_head_series "):
            return int(float(line.split()[1]))
    raise RuntimeError("no prometheus_tsdb_head_series in /metrics")


def labels_by_name(prom: str) -> dict:
    body = json.loads(get(f"{prom}/api/v1/series?" + urllib.parse.urlencode({"match[]": JOB})))
    names: dict = {}
    for series in body["data"]:
        names.setdefault(series["__name__"], set()).update(k for k in series if k != "__name__")
    return {name: sorted(keys) for name, keys in sorted(names.items())}


def close(a: float | None, b: float) -> bool:
    return a is not None and abs(a - b) <= TOLERANCE


def measure(args: argparse.Namespace) -> int:
    result = json.loads(pathlib.Path(args.result).read_text(encoding="utf-8"))
    state = pathlib.Path(args.state)
    earlier = [json.loads(line) for line in state.read_text(encoding="utf-8").splitlines() if line.strip()]
    earlier = [m for m in earlier if m["mode"] == args.mode]
    cost = float(result["total_cost_usd"])
    expected_total = sum(m["session_cost_usd"] for m in earlier) + cost
    session_id = result.get("session_id", "")
    interval = seconds(args.scrape_interval)

    # 1. Prometheus has the session's cost: the sum of every cost series equals the sum of the
    # sessions' total_cost_usd (and, with session_id kept, the session's own series too).
    t0 = time.time()
    deadline = t0 + args.timeout
    total = own = None
    while True:
        total = scalar(args.prom, f"sum({COST})")
        own = scalar(args.prom, f'sum(claude_code_cost_usage_USD_total{{job="claude-code",session_id="{session_id}"}})')
        matched = close(total, expected_total) and (args.mode == "on" or close(own, cost))
        if matched or time.time() > deadline:
            break
        time.sleep(0.5)
    waited_cost = time.time() - t0

    # 2. The series count is stable over two scrapes (the last exports of the session are in).
    count = prev = None
    stable_polls = 0
    while time.time() < deadline + 2 * interval:
        count = scalar(args.prom, f"count({JOB})")
        stable_polls = stable_polls + 1 if count == prev else 0
        if stable_polls >= 2:
            break
        prev = count
        time.sleep(interval)

    by_name = {r["metric"]["__name__"]: int(float(r["value"][1])) for r in query(args.prom, f"count by (__name__) ({JOB})")}
    record = {
        "mode": args.mode,
        "index": args.index,
        "session_id": session_id,
        "session_cost_usd": cost,
        "session_seconds": args.session_seconds,
        "json_total_cost_usd": expected_total,
        "prom_total_cost_usd": total,
        "prom_session_cost_usd": own,
        "cost_matched": matched,
        "waited_seconds": round(time.time() - t0, 1),
        "waited_cost_seconds": round(waited_cost, 1),
        "series": int(count or 0),
        "series_by_name": dict(sorted(by_name.items())),
        "labels_by_name": labels_by_name(args.prom),
        "head_series": head_series(args.prom),
        # What the recording rules compute: what each series accrued over the window.
        "prom_accrued_cost_usd": scalar(args.prom, f"sum(max_over_time({COST}[1h]) - min_over_time({COST}[1h]))"),
        # What the dashboard's session panels count, and the session counter.
        "distinct_session_ids": int(scalar(args.prom, f"count(count by (session_id) ({COST}))") or 0),
        "session_count_total": scalar(args.prom, 'sum(claude_code_session_count_total{job="claude-code"})'),
    }
    with state.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
    print(
        f"[{datetime.datetime.now():%H:%M:%S}] switch {args.mode}, session {args.index}: "
        f"{record['series']} Claude Code series, {record['head_series']} head series; "
        f"cost {total} in Prometheus vs {expected_total:.10g} from the sessions' JSON"
        f"{'' if matched else ' (NOT EQUAL)'}; session {args.session_seconds} s, waited {record['waited_seconds']} s",
        file=sys.stderr,
    )
    return 0


def slope(points: list) -> float | None:
    """Least-squares slope of y over x."""
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(point[0] for point in points) / n
    my = sum(point[1] for point in points) / n
    den = sum((point[0] - mx) ** 2 for point in points)
    return sum((x - mx) * (y - my) for x, y in points) / den


def summarize(runs: list) -> dict:
    counts = [(r["index"], r["series"]) for r in runs]
    series = [r["series"] for r in runs]
    last = runs[-1]
    return {
        "sessions": len(runs),
        "series_after_each_session": series,
        "increments": [b - a for a, b in zip([0] + series, series)],
        "series_first_session": series[0],
        "series_per_session_slope": slope(counts),
        "series_per_further_session_slope": slope(counts[1:]),
        "head_series_after_each_session": [r["head_series"] for r in runs],
        "head_series_per_session_slope": slope([(r["index"], r["head_series"]) for r in runs]),
        "series_by_name": last["series_by_name"],
        "labels_by_name": last["labels_by_name"],
        "json_total_cost_usd": last["json_total_cost_usd"],
        "prom_total_cost_usd": last["prom_total_cost_usd"],
        "cost_difference": (last["prom_total_cost_usd"] or 0) - last["json_total_cost_usd"],
        "cost_matched_every_session": all(r["cost_matched"] for r in runs),
        "prom_accrued_cost_usd_1h": last["prom_accrued_cost_usd"],
        "distinct_session_ids": last["distinct_session_ids"],
        "session_count_total": last["session_count_total"],
        "session_seconds": [r["session_seconds"] for r in runs],
    }


def fmt(value, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.{digits}f}"
    return f"{int(value):,}"


def report(args: argparse.Namespace) -> int:
    lines = [json.loads(line) for line in pathlib.Path(args.state).read_text(encoding="utf-8").splitlines() if line]
    modes = {mode: summarize([r for r in lines if r["mode"] == mode]) for mode in ("off", "on") if any(r["mode"] == mode for r in lines)}
    meta = dict(item.split("=", 1) for item in args.meta)
    off, on = modes.get("off"), modes.get("on")
    out = []
    p = out.append
    p("")
    p(f"Live Prometheus series per Claude Code session ({meta.get('claude_code', '?')}, commit {meta.get('commit', '?')},"
      f" {meta.get('date', '?')}, scrape every {meta.get('scrape_interval', '?')})")
    p("")
    rows = [
        ("sessions (one developer, sequential)", lambda m: fmt(m["sessions"])),
        ('count({job="claude-code"}) after each session', lambda m: " ".join(map(str, m["series_after_each_session"]))),
        ("new series per session", lambda m: " ".join(map(str, m["increments"]))),
        ("series per session (slope, sessions 1..N)", lambda m: fmt(m["series_per_session_slope"])),
        ("series per further session (slope, 2..N)", lambda m: fmt(m["series_per_further_session_slope"])),
        ("prometheus_tsdb_head_series after each", lambda m: " ".join(map(str, m["head_series_after_each_session"]))),
        ("head series per session (slope)", lambda m: fmt(m["head_series_per_session_slope"])),
        ("distinct session_id values (dashboard)", lambda m: fmt(m["distinct_session_ids"])),
        ("sum(claude_code_session_count_total)", lambda m: fmt(m["session_count_total"])),
        ("sum of cost series (USD)", lambda m: f"{m['prom_total_cost_usd']:.10g}"),
        ("sum of the sessions' total_cost_usd", lambda m: f"{m['json_total_cost_usd']:.10g}"),
        ("equal after every session", lambda m: "yes" if m["cost_matched_every_session"] else "NO"),
        ("accrued: sum(max-min over 1h), as the rules", lambda m: f"{m['prom_accrued_cost_usd_1h']:.10g}"),
    ]
    width = max(len(row[0]) for row in rows) + 2
    cols = [m for m in ("off", "on") if m in modes]
    colw = max([len(row[1](modes[m])) for row in rows for m in cols] + [28]) + 2
    p(f"{'':{width}}" + "".join(f"{'switch ' + m + (' (default)' if m == 'off' else ''):<{colw}}" for m in cols))
    for label, getter in rows:
        p(f"{label:<{width}}" + "".join(f"{getter(modes[m]):<{colw}}" for m in cols))
    p("")
    p("Series by name after the last session (labels besides job, instance):")
    names = sorted(set().union(*(modes[m]["series_by_name"] for m in cols)))
    namew = max(len(n) for n in names) + 2
    p(f"{'':{namew}}" + "".join(f"{'switch ' + m:<14}" for m in cols) + "labels")
    for name in names:
        labels = sorted(set().union(*(modes[m]["labels_by_name"].get(name, []) for m in cols)) - {"job", "instance"})
        dropped = set(labels) - set().union(*(modes[m]["labels_by_name"].get(name, []) for m in cols if m == "on")) if on else set()
        labels_text = ", ".join(f"{lab} (off only)" if lab in dropped else lab for lab in labels)
        p(f"{name:<{namew}}" + "".join(f"{modes[m]['series_by_name'].get(name, 0):<14}" for m in cols) + labels_text)

    fleet = None
    if off and on and off["series_per_session_slope"] is not None:
        d, spd, days, hours, window = args.developers, args.sessions_per_day, args.retention_days, args.workday_hours, args.head_hours
        s_off = off["series_per_session_slope"]
        s_first = on["series_first_session"]
        s_more = on["series_per_further_session_slope"] or 0.0
        sessions_day = d * spd
        sessions_head = min(sessions_day, sessions_day / hours * window)
        fleet = {
            "developers": d, "sessions_per_developer_per_day": spd, "retention_days": days,
            "workday_hours": hours, "head_window_hours": window,
            "off": {
                "series_per_day": sessions_day * s_off,
                "series_over_retention": sessions_day * days * s_off,
                "head_series_peak": sessions_head * s_off,
            },
            "on": {
                "series_per_day": d * (s_first + s_more * (spd - 1)),
                "series_over_retention": d * (s_first + s_more * (spd * days - 1)),
                "head_series_peak": d * (s_first + s_more * (min(spd, spd / hours * window) - 1)),
            },
        }
        p("")
        p(f"Extrapolation (ARITHMETIC from the measured figures above, not measured): {d} developers x {spd} sessions a day"
          f" x {days} days of retention, one collector.")
        p(f"  switch off: {fmt(s_off)} series per session x sessions.")
        p(f"  switch on:  {fmt(s_first)} series for a developer's first session + {fmt(s_more)} per further session.")
        p(f"  Head series: the head block holds about the last {window:g} h; sessions spread over a {hours:g} h working day.")
        p(f"{'':34}{'switch off':>16}{'switch on':>16}")
        for key, label in (("series_per_day", "distinct series in one day"), ("series_over_retention", f"distinct series in {days} days"),
                           ("head_series_peak", "series in the head (peak)")):
            p(f"  {label:<32}{fmt(round(fleet['off'][key])):>16}{fmt(round(fleet['on'][key])):>16}")
        p("  (switch on assumes each developer keeps one user_id, one model set and one terminal type; every extra value"
          " of any label multiplies the per-developer series, and each collector instance has its own.)")
    p("")
    p(f"Run: {meta.get('run_seconds', '?')} s for {2 * int(meta.get('sessions_per_mode', '0'))} sessions and their scrapes;"
      f" {meta.get('otelcol', '')}; {meta.get('prometheus', '')}.")
    print("\n".join(out))

    pathlib.Path(args.json).write_text(json.dumps({"meta": meta, "modes": modes, "fleet_extrapolation": fleet,
                                                   "measurements": lines}, indent=2) + "\n", encoding="utf-8")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--prom", required=True)
    m.add_argument("--mode", choices=["off", "on"], required=True)
    m.add_argument("--index", type=int, required=True)
    m.add_argument("--result", required=True, help="the session's JSON result")
    m.add_argument("--state", required=True)
    m.add_argument("--scrape-interval", default="2s")
    m.add_argument("--session-seconds", type=float, default=0.0)
    m.add_argument("--timeout", type=float, default=90.0)
    r = sub.add_parser("report")
    r.add_argument("--state", required=True)
    r.add_argument("--json", required=True)
    r.add_argument("--developers", type=int, default=100)
    r.add_argument("--sessions-per-day", type=int, default=20)
    r.add_argument("--retention-days", type=int, default=15)
    r.add_argument("--workday-hours", type=float, default=8)
    r.add_argument("--head-hours", type=float, default=3)
    r.add_argument("--meta", action="append", default=[], help="KEY=VALUE shown in the report")
    args = parser.parse_args()
    return measure(args) if args.command == "measure" else report(args)


if __name__ == "__main__":
    sys.exit(main())
