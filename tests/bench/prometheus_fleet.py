"""Calibration, fleet simulation and report of tests/bench/prometheus-fleet.sh (a benchmark, not
a test): Prometheus head series and memory for a simulated fleet of developers.

``calibrate``: send a few sessions shaped like Claude Code's exports (tests/bench/collector_load.py
``SessionShape``: names and attributes from docs/catalog/, 16 delta points) to a real collector
with the role's default configuration, which remote-writes them to a real Prometheus; read the
series back from Prometheus (``/api/v1/series``) and keep one session's label sets, and the
``target_info`` series, as templates. So the simulated series carry exactly the labels the stack
produces (the collector's ``stream_start``, ``job``, ``otel_scope_*`` ...), nothing made up.

``simulate``: one working day of DEVELOPERS developers, SESSIONS_PER_DAY sessions each, spread
over the hours of the day like tests/bench/rules_bench_gen.py (HOURLY weights; durations
log-normal, median 8 min, at most 4 h), replayed in time order, as fast as this machine goes,
with timestamps of a real past day that ends before now, as the collector pushes them: Prometheus
remote write (protobuf, snappy), one sample per series per minute while its session exports
(Claude Code's default export interval is 60 s) and none after. Each session's series are the
calibrated templates with the session's ``session_id``, the developer's ``user_id`` and ``team``,
and ``stream_start`` the session's start. With ``--drop-session-id`` (the collector's
``otel_collector_metrics_drop_session_id: true``) the series carry no ``session_id``: one set
per developer, a new ``stream_start`` (so new series) when the developer's streams were idle
longer than the collector's ``delta_to_cumulative`` max_stale (30 min). Prometheus compacts and
truncates its head as it would on that day (head blocks are cut by sample time, not wall time).
Every 10 simulated minutes it records Prometheus's head series, the series created so far,
RSS (/proc), Go heap and the remote-write request time.

``report``: the table of every run, as text and JSON.

Standard library only; talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import math
import pathlib
import random
import struct
import sys
import time
import urllib.parse
import urllib.request
import uuid

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "plugins" / "module_utils"))
# the encoders the fleet counter's history is sent with (plugins/module_utils/fleet_seed.py)
from fleet_seed import snappy_literals, varint  # noqa: E402  pylint: disable=wrong-import-position,import-error

MIB = 1024 * 1024
# Sessions per hour of the day (relative), as tests/bench/rules_bench_gen.py.
HOURLY = [1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 12, 10, 12, 14, 14, 12, 10, 7, 5, 4, 3, 2, 1]
EXPORT_INTERVAL = 60  # s, Claude Code's default OTEL_METRIC_EXPORT_INTERVAL
MAX_STALE = 30 * 60  # s, the role's otel_collector_delta_max_stale
CALIBRATION_TEAM = "fleet-calibration"


def get(url: str, timeout: float = 30) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # nosec: loopback only
        return response.read()


# --- calibration -----------------------------------------------------------------------------


def collector_load():
    """tests/bench/collector_load.py, the collector benchmark's session shape."""
    path = pathlib.Path(__file__).resolve().parent / "collector_load.py"
    spec = importlib.util.spec_from_file_location("collector_load", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def calibrate(a: argparse.Namespace) -> int:
    shape = collector_load().SessionShape(json.loads(pathlib.Path(a.catalog).read_text(encoding="utf-8")))
    host, port = a.otlp.split(":")
    now_ns = time.time_ns()
    # Two sessions of one developer, one of another (collector_load: user = index % 997).
    for index in (0, 997, 1):
        for path, body, _records in shape.requests(CALIBRATION_TEAM, [index], now_ns):
            if path != "/v1/metrics":
                continue
            conn = http.client.HTTPConnection(host, int(port), timeout=30)
            conn.request("POST", path, body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status != 200:
                raise RuntimeError(f"collector answered {response.status}")
    match = f'{{team="{CALIBRATION_TEAM}"}}'
    deadline = time.time() + 60
    series: list = []
    while time.time() < deadline:
        body = json.loads(get(f"{a.prom}/api/v1/series?" + urllib.parse.urlencode({"match[]": match})))
        series = body["data"]
        if len(series) >= 3 * shape.points:
            break
        time.sleep(1)
    time.sleep(2)
    series = json.loads(get(f"{a.prom}/api/v1/series?" + urllib.parse.urlencode({"match[]": match})))["data"]
    infos = json.loads(get(f"{a.prom}/api/v1/series?" + urllib.parse.urlencode({"match[]": "target_info"})))["data"]
    by_session: dict = {}
    for s in series:
        by_session.setdefault(s.get("session_id", ""), []).append(s)
    users = {s.get("user_id") for s in series}
    if len(by_session) != 3 or len(users) != 2:
        raise RuntimeError(f"expected 3 sessions of 2 users, got {len(by_session)} sessions, {len(users)} users: {series}")
    counts = sorted(len(v) for v in by_session.values())
    first = sorted(by_session.values(), key=len)[-1]
    templates = sorted((dict(sorted(s.items())) for s in first), key=lambda s: json.dumps(s, sort_keys=True))
    # Labels whose values differ between sessions (session_id, user_id, stream_start ...).
    per_session = {k for k in templates[0] if len({s.get(k) for s in series}) > len({s.get(k) for s in first})}
    out = {
        "catalog": a.catalog,
        "series_per_session": counts,
        "templates": templates,
        "target_info": infos,
        "label_names": sorted({k for t in templates for k in t}),
        "labels_varying_per_session": sorted(per_session),
    }
    pathlib.Path(a.out).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"calibration: {counts} series per session through the collector; labels {out['label_names']};"
          f" {len(infos)} target_info series", file=sys.stderr)
    return 0


# --- remote write, by hand: protobuf (prometheus.WriteRequest) in a snappy block ---------------


def field_bytes(number: int, data: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(data)) + data


def labels_bytes(labels: dict) -> bytes:
    """The labels of a TimeSeries (field 1), sorted by name as Prometheus wants them."""
    return b"".join(field_bytes(1, field_bytes(1, k.encode()) + field_bytes(2, v.encode()))
                    for k, v in sorted(labels.items()))


def series_head(labels: dict, ts_len: int) -> bytes:
    """The start of a TimeSeries (field 1 of WriteRequest) with one sample of a timestamp encoded
    in ts_len bytes: its tag, length and labels; the sample (sample_bytes) follows."""
    prefix = labels_bytes(labels)
    return b"\x0a" + varint(len(prefix) + 2 + 10 + ts_len) + prefix


def sample_bytes(value: float, ts_varint: bytes) -> bytes:
    """One Sample (field 2 of TimeSeries): double value (field 1), int64 timestamp (field 2)."""
    return b"\x12" + bytes([10 + len(ts_varint)]) + b"\x09" + struct.pack("<d", value) + b"\x10" + ts_varint


class Writer:
    def __init__(self, url: str, max_samples: int):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        self.max_samples = max_samples
        self.pending: list = []
        self.samples = self.requests = 0
        self.seconds = 0.0

    def flush(self) -> None:
        if not self.pending:
            return
        body = snappy_literals(b"".join(self.pending))
        headers = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
                   "X-Prometheus-Remote-Write-Version": "0.1.0", "User-Agent": "tcc-prometheus-fleet"}
        t = time.perf_counter()
        status, text = 0, b""
        for attempt in range(5):
            try:
                self.conn.request("POST", "/api/v1/write", body, headers)
                response = self.conn.getresponse()
                status, text = response.status, response.read()
                break
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
                if attempt == 4:
                    raise
                time.sleep(1)
        self.seconds += time.perf_counter() - t
        if status // 100 != 2:
            raise RuntimeError(f"remote write answered {status}: {text[:500]!r}")
        self.samples += len(self.pending)
        self.requests += 1
        self.pending = []


# --- the simulated day ------------------------------------------------------------------------


def day_sessions(developers: int, per_day: float, seed: int) -> list:
    """(start s, end s, developer) of every session of one day, sorted by start; times from 00:00."""
    rng = random.Random(seed)
    total = sum(HOURLY)
    out = []
    for dev in range(developers):
        # Each developer's sessions: their number Poisson-like around per_day, hours by weight.
        n = int(per_day) + (1 if rng.random() < per_day - int(per_day) else 0)
        for _session in range(n):
            x = rng.random() * total
            hour = 0
            while x >= HOURLY[hour]:
                x -= HOURLY[hour]
                hour += 1
            start = hour * 3600 + rng.random() * 3600
            duration = min(max(math.exp(rng.gauss(math.log(480), 0.9)), 30), 4 * 3600)
            out.append((start, min(start + duration, 86400 - 1), dev))
    out.sort()
    return out


def scrape_self(prom: str) -> dict:
    want = {"prometheus_tsdb_head_series", "prometheus_tsdb_head_series_created_total",
            "prometheus_tsdb_head_series_removed_total", "prometheus_tsdb_head_min_time",
            "prometheus_tsdb_head_max_time", "process_resident_memory_bytes", "go_memstats_heap_inuse_bytes",
            "go_memstats_heap_alloc_bytes", "prometheus_tsdb_compactions_total", "prometheus_tsdb_head_chunks"}
    out = {}
    for line in get(f"{prom}/metrics").decode().splitlines():
        if line.startswith("#"):
            continue
        name = line.split(" ", 1)[0]
        if name in want:
            out[name] = float(line.rsplit(" ", 1)[1])
    return out


def proc_status(pid: int) -> dict:
    out = {}
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _sep, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    return out


def simulate(a: argparse.Namespace) -> int:
    cal = json.loads(pathlib.Path(a.templates).read_text(encoding="utf-8"))
    templates = cal["templates"]
    rng = random.Random(a.seed)
    sessions = day_sessions(a.developers, a.sessions_per_day, a.seed)
    users = [f"{rng.getrandbits(256):064x}" for _dev in range(a.developers)]
    teams = [f"team-{dev // a.team_size:03d}" for dev in range(a.developers)]
    now = time.time()
    end_of_sim = a.hours * 3600
    # A real past day: its 00:00 UTC such that the simulated hours end before now.
    day0 = int((now - end_of_sim - 60) // 86400 * 86400)
    writer = Writer(f"{a.prom}/api/v1/write", a.batch)
    # Resource series (target_info), as the collector writes them: a few, whatever the fleet size.
    ts_len = len(varint(day0 * 1000))
    assert ts_len == len(varint((day0 + 86400) * 1000))
    info_heads = [series_head(dict(info), ts_len) for info in cal["target_info"]]

    active: dict = {}  # key -> [prefix bytes, last export t, value]
    dev_stream: dict = {}  # drop mode: developer -> (stream_start t, last export t)
    series_created = 0
    next_session = 0
    polls = []
    t_wall0 = time.time()
    sessions_in_head = []  # (start, end) by sim time, to count the sessions the head holds
    live: list = []  # sessions currently exporting: (end, dev, sid, start)
    for minute in range(0, end_of_sim // EXPORT_INTERVAL + 1):
        t = minute * EXPORT_INTERVAL
        while next_session < len(sessions) and sessions[next_session][0] <= t:
            start, end, dev = sessions[next_session]
            sid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            live.append((end, dev, sid, start))
            sessions_in_head.append((start, end))
            next_session += 1
        ts = (day0 + t) * 1000
        tsv = varint(ts)
        still = []
        exported_devs = set()
        for end, dev, sid, start in live:
            # Every --sample-minutes from the session's first export, and its last one.
            first = math.ceil(start / EXPORT_INTERVAL) * EXPORT_INTERVAL
            if (t - first) % (a.sample_minutes * EXPORT_INTERVAL) and end > t:
                still.append((end, dev, sid, start))
                continue
            if a.drop_session_id:
                if dev in exported_devs:  # concurrent sessions of one developer: the same streams
                    if end > t:
                        still.append((end, dev, sid, start))
                    continue
                exported_devs.add(dev)
                stream = dev_stream.get(dev)
                if stream is None or t - stream[1] > MAX_STALE:
                    stream = (t, t)
                    series_created += len(templates)
                dev_stream[dev] = (stream[0], t)
                key = (dev, stream[0])
                stream_start = day0 + stream[0]
            else:
                key = sid
                stream_start = day0 + start
            entry = active.get(key)
            if entry is None:
                prefixes = []
                for tpl in templates:
                    labels = dict(tpl)
                    labels["user_id"] = users[dev]
                    labels["team"] = teams[dev]
                    if "stream_start" in labels:
                        labels["stream_start"] = str(int(stream_start * 1000))
                    if a.drop_session_id:
                        labels.pop("session_id", None)
                    else:
                        labels["session_id"] = sid
                    prefixes.append(series_head(labels, ts_len))
                if not a.drop_session_id:
                    series_created += len(templates)
                entry = active[key] = [prefixes, t, 0.0]
            entry[1] = t
            entry[2] += 1.0
            value = entry[2]
            add = writer.pending.append
            for i, head in enumerate(entry[0]):
                add(head + sample_bytes(value * (i + 1), tsv))
            if len(writer.pending) >= writer.max_samples:
                writer.flush()
            if end > t:
                still.append((end, dev, sid, start))
        live = still
        # Forget what will never export again (sessions ended; developers' streams gone stale).
        if minute % 10 == 0:
            if a.drop_session_id:
                active = {k: v for k, v in active.items() if t - v[1] <= MAX_STALE}
            else:
                active = {k: v for k, v in active.items() if v[1] >= t - EXPORT_INTERVAL}
            for head in info_heads:
                writer.pending.append(head + sample_bytes(1.0, tsv))
        if len(writer.pending) >= writer.max_samples:
            writer.flush()
        if minute % a.poll_minutes == 0 or minute == end_of_sim // EXPORT_INTERVAL:
            writer.flush()
            m = scrape_self(a.prom)
            m.update(proc_status(a.prom_pid))
            head_min = (m.get("prometheus_tsdb_head_min_time", ts) / 1000) - day0
            in_head = sum(1 for s, e in sessions_in_head if e >= head_min and s <= t)
            sessions_in_head = [(s, e) for s, e in sessions_in_head if e >= head_min - 3 * 3600]
            poll = {
                "sim_time": f"{t // 3600:02d}:{t % 3600 // 60:02d}",
                "head_series": int(m.get("prometheus_tsdb_head_series", 0)),
                "head_series_created_total": int(m.get("prometheus_tsdb_head_series_created_total", 0)),
                "head_span_hours": round((m.get("prometheus_tsdb_head_max_time", 0) - m.get("prometheus_tsdb_head_min_time", 0)) / 3.6e6, 2),
                "sessions_in_head": in_head,
                "rss_bytes": m.get("VmRSS", 0),
                "hwm_bytes": m.get("VmHWM", 0),
                "heap_inuse_bytes": m.get("go_memstats_heap_inuse_bytes", 0),
                "compactions": int(m.get("prometheus_tsdb_compactions_total", 0)),
                "generated_series": series_created,
                "samples_sent": writer.samples,
                "wall_seconds": round(time.time() - t_wall0, 1),
                "write_seconds": round(writer.seconds, 1),
            }
            polls.append(poll)
            if minute % (a.poll_minutes * 6) == 0:
                print(f"  sim {poll['sim_time']}: head {poll['head_series']:,} series"
                      f" (span {poll['head_span_hours']} h, {in_head:,} sessions),"
                      f" RSS {poll['rss_bytes'] / MIB:,.0f} MiB, heap {poll['heap_inuse_bytes'] / MIB:,.0f} MiB,"
                      f" {writer.samples:,} samples in {poll['wall_seconds']} s", file=sys.stderr)
    # Hold the end state for a moment: the Go heap and RSS after the last writes.
    time.sleep(a.settle_seconds)
    m = scrape_self(a.prom)
    m.update(proc_status(a.prom_pid))
    peak = dict(max(polls, key=lambda p: p["head_series"]))
    # The poll that saw the head's peak may already read the truncated head's min time.
    peak["sessions_in_head"] = max(p["sessions_in_head"] for p in polls)
    result = {
        "label": a.label,
        "developers": a.developers,
        "sessions_per_developer_per_day": a.sessions_per_day,
        "drop_session_id": a.drop_session_id,
        "sessions_in_day": len(sessions),
        "series_per_session_template": len(templates),
        "simulated_hours": a.hours,
        "sample_every_minutes": a.sample_minutes,
        "day_start_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(day0)),
        "peak": peak,
        "max_rss_bytes": max(p["rss_bytes"] for p in polls),
        "hwm_bytes": m.get("VmHWM", 0),
        "max_heap_inuse_bytes": max(p["heap_inuse_bytes"] for p in polls),
        "end": {"head_series": int(m.get("prometheus_tsdb_head_series", 0)),
                "head_series_created_total": int(m.get("prometheus_tsdb_head_series_created_total", 0)),
                "rss_bytes": m.get("VmRSS", 0), "heap_inuse_bytes": m.get("go_memstats_heap_inuse_bytes", 0)},
        "generated_series": series_created,
        "new_series_per_developer_day": series_created / a.developers,
        "samples_sent": writer.samples,
        "write_requests": writer.requests,
        "write_seconds_per_request": writer.seconds / max(writer.requests, 1),
        "samples_per_second": writer.samples / max(time.time() - t_wall0, 1e-9),
        "wall_seconds": round(time.time() - t_wall0, 1),
        "polls": polls,
    }
    pathlib.Path(a.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"  {a.label}: peak head {peak['head_series']:,} series at sim {peak['sim_time']}"
          f" ({peak['sessions_in_head']:,} sessions), RSS max {result['max_rss_bytes'] / MIB:,.0f} MiB"
          f" (VmHWM {result['hwm_bytes'] / MIB:,.0f} MiB), heap max {result['max_heap_inuse_bytes'] / MIB:,.0f} MiB;"
          f" {series_created:,} series in the day ({result['new_series_per_developer_day']:.1f} per developer),"
          f" {writer.samples:,} samples in {result['wall_seconds']} s", file=sys.stderr)
    return 0


# --- report ------------------------------------------------------------------------------------


def report(a: argparse.Namespace) -> int:
    runs = [json.loads(pathlib.Path(p).read_text(encoding="utf-8")) for p in a.runs]
    meta = dict(item.split("=", 1) for item in a.meta)
    cal = json.loads(pathlib.Path(a.templates).read_text(encoding="utf-8"))
    lines = [
        "",
        f"Prometheus head for a simulated fleet ({meta.get('date', '?')}, commit {meta.get('commit', '?')}):"
        f" {cal['series_per_session'][-1]} series per session (calibrated through the collector), labels"
        f" {', '.join(cal['label_names'])}",
        "",
        f"{'run':<34}{'devs':>7}{'sess/day':>10}{'peak head':>12}{'sessions':>10}{'RSS max':>10}{'VmHWM':>9}"
        f"{'heap max':>10}{'new/dev-day':>13}{'write ms':>10}{'samples/min':>12}",
    ]
    for r in runs:
        p = r["peak"]
        lines.append(f"{r['label']:<34}{r['developers']:>7,}{r['sessions_per_developer_per_day']:>10g}"
                     f"{p['head_series']:>12,}{p['sessions_in_head']:>10,}{r['max_rss_bytes'] / MIB:>8,.0f}Mi"
                     f"{r['hwm_bytes'] / MIB:>7,.0f}Mi{r['max_heap_inuse_bytes'] / MIB:>8,.0f}Mi"
                     f"{r['new_series_per_developer_day']:>13.1f}{r['write_seconds_per_request'] * 1000:>10.1f}"
                     f"{'1/' + str(r['sample_every_minutes']):>12}")
    print("\n".join(lines))
    pathlib.Path(a.json).write_text(json.dumps({"meta": meta, "calibration": cal, "runs": runs}, indent=2) + "\n",
                                    encoding="utf-8")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("calibrate")
    c.add_argument("--otlp", required=True, help="HOST:PORT of the collector's OTLP/HTTP receiver")
    c.add_argument("--prom", required=True)
    c.add_argument("--catalog", required=True)
    c.add_argument("--out", required=True)
    s = sub.add_parser("simulate")
    s.add_argument("--prom", required=True)
    s.add_argument("--prom-pid", type=int, required=True)
    s.add_argument("--templates", required=True)
    s.add_argument("--developers", type=int, required=True)
    s.add_argument("--sessions-per-day", type=float, required=True)
    s.add_argument("--drop-session-id", action="store_true")
    s.add_argument("--team-size", type=int, default=50)
    s.add_argument("--hours", type=int, default=24)
    s.add_argument("--sample-minutes", type=int, default=1,
                   help="a sample per series every N minutes of a session (and at its end); Claude Code exports every minute")
    s.add_argument("--batch", type=int, default=5000, help="samples per remote-write request")
    s.add_argument("--poll-minutes", type=int, default=10)
    s.add_argument("--settle-seconds", type=float, default=15)
    s.add_argument("--seed", type=int, default=17)
    s.add_argument("--label", required=True)
    s.add_argument("--out", required=True)
    r = sub.add_parser("report")
    r.add_argument("--templates", required=True)
    r.add_argument("--json", required=True)
    r.add_argument("--meta", action="append", default=[])
    r.add_argument("runs", nargs="+")
    a = parser.parse_args()
    return {"calibrate": calibrate, "simulate": simulate, "report": report}[a.command](a)


if __name__ == "__main__":
    sys.exit(main())
