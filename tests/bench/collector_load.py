"""Load generator, Loki stand-in and report of tests/bench/collector-capacity.sh (a benchmark,
not a test).

``sink``: a stand-in for Loki's OTLP endpoint (``POST <prefix>/v1/logs``) that answers 200 with
an empty body, as tests/claude/otlp_capture.py --raw does, but keeps nothing: it only counts the
log records of each request (a walk over the protobuf wire format, gunzipped) and answers
``GET /stats`` with the counts as JSON.

``run``: replays sessions shaped like Claude Code's exports to the collector's OTLP/HTTP
receiver, phase after phase, and checks what reached the stand-in and Prometheus:

- ``ramp``: open-loop steps of sessions per second until the collector refuses (503/429) or
  stops keeping up; the highest step with nothing refused is the sustained rate;
- ``burst``: ten times that rate from many concurrent senders, the collector's RSS sampled from
  /proc (and its VmHWM) against the memory_limiter limit;
- ``sessions``: N sessions within a time window (10,000 in 5 minutes), refused requests retried
  as a client would, series in Prometheus against series sent.

Names come from the catalog of what Claude Code emits (docs/catalog/claude-code-*.json): the
event names, metric names and units, the attribute keys each carries in the ``default``
scenario (content attributes left out, as without the OTEL_LOG_* opt-ins) and their values
where the catalog lists them. Only ids, counts and timestamps are made up. Each session is one
metrics export (16 delta points: session count, active time, cost for 2 models, tokens for 4
types x 2 models, lines added/removed, 2 edit decisions) and two log exports (22 events).
Every data point and event carries ``team`` (an OTEL_RESOURCE_ATTRIBUTES key that Claude Code
copies onto them) set to the phase, so that Prometheus can count a phase's series.

Encoding: OTLP/HTTP **JSON** (the collection's virtualenv has no opentelemetry-proto to build
protobuf bodies; Claude Code's default http/protobuf costs the collector less to decode).

Standard library only; talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import multiprocessing
import os
import pathlib
import random
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = pathlib.Path(__file__).resolve().parents[2]
MIB = 1024 * 1024


# --- the Loki stand-in ---------------------------------------------------------------------


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7


def _fields(buf: bytes):
    """(field number, wire type, value or (start, end)) of one protobuf message."""
    i, n = 0, len(buf)
    while i < n:
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
            yield field, wire, value
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            length, i = _varint(buf, i)
            yield field, wire, (i, i + length)
            i += length
        else:
            raise ValueError(f"wire type {wire}")


def count_log_records(body: bytes) -> int:
    """ExportLogsServiceRequest: resource_logs=1 -> scope_logs=2 -> log_records=2."""
    count = 0
    for f, w, (a, b) in ((f, w, v) for f, w, v in _fields(body) if w == 2):
        if f != 1:
            continue
        rl = body[a:b]
        for f2, w2, v2 in _fields(rl):
            if f2 != 2 or w2 != 2:
                continue
            sl = rl[v2[0]:v2[1]]
            count += sum(1 for f3, w3, _value in _fields(sl) if f3 == 2 and w3 == 2)
    return count


class SinkHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    prefix = ""
    lock = threading.Lock()
    stats = {"requests": 0, "log_records": 0, "bytes": 0, "undecodable": 0}

    def log_message(self, fmt, *args):
        pass

    def _reply(self, status: int, data: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/stats":
            with self.lock:
                data = json.dumps(self.stats).encode()
            self._reply(200, data, "application/json")
        else:
            self._reply(404, b"", "text/plain")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if urllib.parse.urlsplit(self.path).path != f"{self.prefix}/v1/logs":
            self._reply(404, b"", "text/plain")
            return
        if "gzip" in self.headers.get("Content-Encoding", ""):
            body = gzip.decompress(body)
        try:
            records, bad = count_log_records(body), 0
        except (ValueError, IndexError):
            records, bad = 0, 1
        with self.lock:
            self.stats["requests"] += 1
            self.stats["log_records"] += records
            self.stats["bytes"] += len(body)
            self.stats["undecodable"] += bad
        self._reply(200, b"", "application/x-protobuf")


def sink(args: argparse.Namespace) -> int:
    SinkHandler.prefix = args.prefix
    server = ThreadingHTTPServer(("127.0.0.1", args.port), SinkHandler)
    server.daemon_threads = True
    server.serve_forever()
    return 0


# --- sessions shaped like Claude Code's exports ---------------------------------------------

# The events of one session (22) and the data points (16), by the catalog's names.
SESSION_EVENTS = (
    ["plugin_loaded", "user_prompt"]
    + ["api_request", "tool_decision", "tool_result"] * 4
    + ["tool_decision", "tool_result"]
    + ["api_request", "assistant_response", "subagent_completed", "user_prompt", "api_request", "assistant_response"]
)
TOKEN_TYPES = ("input", "output", "cacheRead", "cacheCreation")
MODELS = ("claude-sonnet-4-5", "claude-haiku-5-5")
QUERY_SOURCES = ("main", "subagent")
EDIT_TOOLS = ("Edit", "Write")
POINTS_PER_SESSION = 16
SID, UID, T0, T1, TEAM = "@@SID@@", "@@UID@@", "@@T0@@", "@@T1@@", "@@TEAM@@"


def in_default(spec: dict) -> bool:
    s = spec.get("scenarios")
    return s == "all" or (isinstance(s, list) and "default" in s)


def otlp_value(value):
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [otlp_value(v) for v in value]}}
    return {"stringValue": str(value)}


def made_up(key: str, types: list, rng: random.Random):
    kind = types[0] if types else "string"
    if key == "session.id":
        return SID
    if key == "user.id":
        return UID
    if key == "event.timestamp":
        return "2026-01-01T00:00:00.000Z"
    if kind == "int":
        return rng.randint(1, 5000)
    if kind == "double":
        return round(rng.random(), 6)
    if kind == "bool":
        return True
    if key.endswith("_bytes") or key.endswith("duration_ms"):
        return str(rng.randint(1, 5000))
    return str(uuid.UUID(int=rng.getrandbits(128)))


def attributes(spec: dict, rng: random.Random, fixed: dict) -> list:
    out = []
    for key, a in sorted(spec.items()):
        if not in_default(a) or "content_in" in a:
            continue
        if key in fixed:
            value = fixed[key]
        elif isinstance(a.get("values"), list) and a["values"]:
            value = a["values"][0]
        else:
            value = made_up(key, a.get("types", []), rng)
        out.append({"key": key, "value": otlp_value(value)})
    out.append({"key": "team", "value": otlp_value(TEAM)})
    return out


class SessionShape:
    """Templates of one session's three requests, with placeholders for ids and times."""

    def __init__(self, catalog: dict):
        rng = random.Random(17)
        version = catalog["claude_code_version"]
        resource = {"attributes": [
            {"key": "host.arch", "value": otlp_value("amd64")},
            {"key": "os.type", "value": otlp_value("linux")},
            {"key": "os.version", "value": otlp_value("6.1.0")},
            {"key": "service.name", "value": otlp_value("claude-code")},
            {"key": "service.version", "value": otlp_value(version)},
        ]}
        metrics_scope = {"name": "com.anthropic.claude_code", "version": version}
        events_scope = {"name": "com.anthropic.claude_code.events", "version": version}
        for name in (metrics_scope["name"], events_scope["name"]):
            assert name in catalog["scopes"], name
        cm, ce = catalog["metrics"], catalog["events"]
        points: list[tuple[str, dict, float]] = [
            ("claude_code.session.count", {}, 1.0),
            ("claude_code.active_time.total", {}, 42.5),
        ]
        for model, source in zip(MODELS, QUERY_SOURCES):
            points.append(("claude_code.cost.usage", {"model": model, "query_source": source}, 0.0125))
            for i, kind in enumerate(TOKEN_TYPES):
                points.append(("claude_code.token.usage",
                               {"model": model, "query_source": source, "type": kind}, 100.0 * (i + 1)))
        for kind, n in (("added", 12.0), ("removed", 3.0)):
            points.append(("claude_code.lines_of_code.count", {"type": kind, "model": MODELS[0]}, n))
        for tool in EDIT_TOOLS:
            points.append(("claude_code.code_edit_tool.decision", {"tool_name": tool, "decision": "accept"}, 1.0))
        by_metric: dict[str, list] = {}
        self.expected: dict[str, float] = {}
        for name, fixed, value in points:
            assert name in cm, name
            by_metric.setdefault(name, []).append({
                "attributes": attributes(cm[name]["attributes"], rng, fixed),
                "startTimeUnixNano": T0, "timeUnixNano": T1, "asDouble": value})
            self.expected[name] = self.expected.get(name, 0.0) + value
        metrics = [{"name": name, "unit": cm[name]["unit"],
                    "sum": {"aggregationTemporality": 1, "isMonotonic": True, "dataPoints": dps}}
                   for name, dps in by_metric.items()]
        self.points = len(points)
        assert self.points == POINTS_PER_SESSION
        records = []
        for seq, event in enumerate(SESSION_EVENTS):
            assert event in ce, event
            rec_attrs = attributes(ce[event]["attributes"], rng, {"event.sequence": seq})
            records.append({"timeUnixNano": T1, "observedTimeUnixNano": T1,
                            "body": {"stringValue": f"claude_code.{event}"}, "attributes": rec_attrs})
        self.events = len(records)
        half = len(records) // 2
        self.bodies = [
            ("/v1/metrics", json.dumps({"resourceMetrics": [{"resource": resource, "scopeMetrics": [
                {"scope": metrics_scope, "metrics": metrics}]}]}, separators=(",", ":")), 0),
            ("/v1/logs", json.dumps({"resourceLogs": [{"resource": resource, "scopeLogs": [
                {"scope": events_scope, "logRecords": records[:half]}]}]}, separators=(",", ":")), half),
            ("/v1/logs", json.dumps({"resourceLogs": [{"resource": resource, "scopeLogs": [
                {"scope": events_scope, "logRecords": records[half:]}]}]}, separators=(",", ":")),
             len(records) - half),
        ]
        self.metrics_bytes = len(self.bodies[0][1])
        self.logs_bytes = len(self.bodies[1][1]) + len(self.bodies[2][1])

    def requests(self, team: str, indices: list, now_ns: int):
        """The three requests of these sessions: one session each, as Claude Code sends them, or
        several sessions' resources in one request (as a forwarding collector would)."""
        t0, t1 = str(now_ns - 60 * 10**9), str(now_ns)
        for path, body, records in self.bodies:
            head, rest = body.split("[", 1)
            inner = rest[: rest.rindex("]")]
            parts = []
            for index in indices:
                sid = str(uuid.UUID(int=zlib.crc32(team.encode()) << 64 | index))
                uid = f"{index % 997:064x}"  # ~1,000 developers, each with many sessions
                parts.append(inner.replace(SID, sid).replace(UID, uid).replace(T0, t0).replace(T1, t1)
                             .replace(TEAM, team))
            yield path, (head + "[" + ",".join(parts) + "]}").encode(), records * len(indices)


# --- senders --------------------------------------------------------------------------------


def sender(args: tuple) -> dict:
    """One process: `threads` threads, sessions index = start + k * stride, paced or not."""
    (host, port, team, catalog_path, start, stride, count, rate, threads, retry, deadline, per_request) = args
    shape = SessionShape(json.loads(pathlib.Path(catalog_path).read_text(encoding="utf-8")))
    out = {"sessions": 0, "points_ok": 0, "events_ok": 0, "points_refused": 0, "events_refused": 0,
           "status": {}, "errors": 0, "retries": 0, "late": 0}
    lock = threading.Lock()
    t_start = time.monotonic()

    # Session k of this process is due at t_start + k / rate; each thread takes every
    # threads-th session of the process.
    def work(t: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        k = t
        while k < count:
            if rate:
                due = t_start + k / rate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                elif delay < -1:
                    with lock:
                        out["late"] += 1
            if deadline and time.monotonic() > deadline:
                break
            index = (start + k * stride) * per_request
            indices = list(range(index, index + per_request))
            for path, body, records in shape.requests(team, indices, time.time_ns()):
                attempt = 0
                while True:
                    try:
                        conn.request("POST", path, body, {"Content-Type": "application/json"})
                        resp = conn.getresponse()
                        resp.read()
                        status = resp.status
                    except (OSError, http.client.HTTPException):
                        conn.close()
                        conn = http.client.HTTPConnection(host, port, timeout=30)
                        status = 0
                    with lock:
                        out["status"][str(status)] = out["status"].get(str(status), 0) + 1
                        if status == 0:
                            out["errors"] += 1
                    if status == 200:
                        with lock:
                            if records:
                                out["events_ok"] += records
                            else:
                                out["points_ok"] += shape.points * per_request
                        break
                    if retry and attempt < 20 and status in (0, 429, 502, 503, 504):
                        attempt += 1
                        with lock:
                            out["retries"] += 1
                        time.sleep(min(0.1 * 2 ** attempt, 5.0))
                        continue
                    with lock:
                        if records:
                            out["events_refused"] += records
                        else:
                            out["points_refused"] += shape.points * per_request
                    break
            with lock:
                out["sessions"] += per_request
            k += threads
        conn.close()

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    return out


class RssSampler(threading.Thread):
    def __init__(self, pid: int, period: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.period, self.peak, self.stop_flag = pid, period, 0, False

    def rss(self) -> int:
        for line in pathlib.Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def run(self) -> None:
        while not self.stop_flag:
            self.peak = max(self.peak, self.rss())
            time.sleep(self.period)


def hwm(pid: int) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid: int) -> float:
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def reset_hwm(pid: int) -> None:
    try:  # "5" resets the peak RSS (proc(5), clear_refs)
        pathlib.Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=30) as r:  # nosec: loopback only
        return json.loads(r.read())


def prom_scalar(prom: str, expr: str) -> float:
    body = get_json(f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    result = body["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


def own_metrics(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as r:  # nosec: loopback only
        text = r.read().decode()
    out: dict = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name = line.split("{")[0].split(" ")[0]
        if name.startswith(("otelcol_receiver_", "otelcol_processor_", "otelcol_exporter_")):
            out[name] = out.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return out


def run_phase(a: argparse.Namespace, team: str, sessions: int, rate: float, procs: int, threads: int,
              retry: bool, max_seconds: float, per_request: int = 1) -> dict:
    host, port = a.otlp.split(":")
    sampler = RssSampler(a.collector_pid)
    reset_hwm(a.collector_pid)
    sampler.start()
    cpu0 = cpu_seconds(a.collector_pid)
    t0 = time.monotonic()
    deadline = time.monotonic() + max_seconds if max_seconds else 0
    groups = sessions // per_request
    per = [(groups - p + procs - 1) // procs for p in range(procs)]
    jobs = [(host, int(port), team, a.catalog, p, procs, per[p], rate / procs / per_request if rate else 0,
             threads, retry, deadline, per_request) for p in range(procs)]
    with multiprocessing.Pool(procs) as pool:
        results = pool.map(sender, jobs)
    elapsed = time.monotonic() - t0
    cpu = cpu_seconds(a.collector_pid) - cpu0
    sampler.stop_flag = True
    sampler.join()
    total: dict = {"status": {}}
    for r in results:
        for k, v in r.items():
            if k == "status":
                for s, n in v.items():
                    total["status"][s] = total["status"].get(s, 0) + n
            else:
                total[k] = total.get(k, 0) + v
    total.update(team=team, target_rate=rate, sessions_per_request=per_request, procs=procs, threads=threads, seconds=round(elapsed, 2),
                 rss_peak_mib=round(max(sampler.peak, hwm(a.collector_pid)) / MIB, 1))
    total["sessions_per_s"] = round(total["sessions"] / elapsed, 1)
    # The collector's own CPU: what it would take on cores of its own (the generator and
    # Prometheus share this machine's).
    total["collector_cores"] = round(cpu / elapsed, 2)
    ok_sessions = total["points_ok"] / POINTS_PER_SESSION
    total["sessions_per_collector_core_s"] = round(ok_sessions / cpu, 1) if cpu else None
    total["points_per_s"] = round(total["points_ok"] / elapsed, 1)
    total["events_per_s"] = round(total["events_ok"] / elapsed, 1)
    refused = sum(n for s, n in total["status"].items() if s != "200")
    total["refused_requests"] = refused
    return total


def settle(a: argparse.Namespace, sent: dict, timeout: float) -> dict:
    """Wait until the stand-in and Prometheus have what was accepted (or timeout)."""
    stats: dict = {}
    t0 = time.monotonic()
    sink_records = series = -1.0
    tokens = 0.0
    team_re = "|".join(sent["teams"])
    while time.monotonic() - t0 < timeout:
        stats = get_json(a.sink + "/stats")
        sink_records = stats["log_records"]
        # Each series has one sample: look back over the whole run, not the 5 minutes an instant
        # query sees.
        series = prom_scalar(a.prom, f'count(last_over_time({{__name__=~"claude_code_.+",team=~"{team_re}"}}[3h]))')
        tokens = prom_scalar(a.prom, f'sum(last_over_time(claude_code_token_usage_tokens_total{{team=~"{team_re}"}}[3h]))')
        if sink_records >= sent["events_ok"] + sent["events_base"] and series >= sent["points_ok"]:
            break
        time.sleep(2)
    return {"sink_log_records": int(sink_records) - sent["events_base"], "prom_series": int(series),
            "prom_tokens": tokens, "settle_seconds": round(time.monotonic() - t0, 1), "sink_stats": stats}


def run(a: argparse.Namespace) -> int:
    shape = SessionShape(json.loads(pathlib.Path(a.catalog).read_text(encoding="utf-8")))
    tokens_per_session = shape.expected["claude_code.token.usage"]
    report: dict = {"shape": {"points_per_session": shape.points, "events_per_session": shape.events,
                              "metrics_request_bytes": shape.metrics_bytes,
                              "logs_request_bytes": shape.logs_bytes, "encoding": "OTLP/HTTP JSON"},
                    "memory_limit_mib": a.memory_limit_mib, "phases": []}

    def say(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    def check(results: list, timeout: float) -> dict:
        base = report["sink_seen"]
        sent = {"teams": [r["team"] for r in results], "events_ok": sum(r["events_ok"] for r in results),
                "points_ok": sum(r["points_ok"] for r in results), "events_base": base}
        got = settle(a, sent, timeout)
        report["sink_seen"] = base + got["sink_log_records"]
        got["events_lost"] = sent["events_ok"] - got["sink_log_records"]
        got["series_lost"] = sent["points_ok"] - got["prom_series"]
        expected_tokens = sum(r["points_ok"] for r in results) / shape.points * tokens_per_session
        got["tokens_expected"] = expected_tokens
        return got

    report["sink_seen"] = get_json(a.sink + "/stats")["log_records"]
    # 1. ramp: open-loop steps until something is refused or the step is not kept up with.
    sustained = None
    for step, rate in enumerate(a.ramp):
        team = f"bench-ramp-{step}"
        say(f"ramp: {rate} sessions/s for {a.step_seconds} s")
        r = run_phase(a, team, int(rate * a.step_seconds), rate, a.procs, a.threads, False, a.step_seconds * 3,
                      a.ramp_sessions_per_request)
        r["phase"] = "ramp"
        r.update(check([r], 120))
        report["phases"].append(r)
        say(f"  {r['sessions_per_s']} sessions/s, {r['points_per_s']} points/s, {r['events_per_s']} events/s,"
            f" refused {r['refused_requests']}, collector {r['collector_cores']} cores, RSS peak {r['rss_peak_mib']} MiB,"
            f" lost events {r['events_lost']} series {r['series_lost']}")
        kept_up = r["sessions_per_s"] >= 0.9 * rate
        if r["refused_requests"] or not kept_up:
            break
        sustained = r
    report["sustained"] = sustained
    # 2. burst: ten times the sustained rate, many concurrent senders, RSS against the limit.
    base_rate = sustained["sessions_per_s"] if sustained else a.ramp[0]
    burst_rate = 10 * base_rate
    say(f"burst: {burst_rate:.0f} sessions/s asked, {a.burst_procs} x {a.burst_threads} senders, {a.burst_seconds} s")
    b = run_phase(a, "bench-burst", int(burst_rate * a.burst_seconds), burst_rate, a.burst_procs,
                  a.burst_threads, False, a.burst_seconds * 2, a.burst_sessions_per_request)
    b["phase"] = "burst"
    b["own_metrics"] = own_metrics(a.telemetry)
    b.update(check([b], 300))
    report["phases"].append(b)
    say(f"  {b['sessions_per_s']} sessions/s, refused {b['refused_requests']} requests, RSS peak"
        f" {b['rss_peak_mib']} MiB (limit {a.memory_limit_mib} MiB), lost events {b['events_lost']}"
        f" series {b['series_lost']}")
    time.sleep(a.cool_seconds)
    # 3. N sessions within a window, refused requests retried as a client would.
    rate = a.sessions / a.window_seconds
    say(f"sessions: {a.sessions} within {a.window_seconds} s ({rate:.1f}/s), retried when refused")
    s = run_phase(a, "bench-sessions", a.sessions, rate, a.procs, a.threads, True, a.window_seconds * 2)
    s["phase"] = "sessions"
    s.update(check([s], 300))
    s["own_metrics"] = own_metrics(a.telemetry)
    report["phases"].append(s)
    say(f"  {s['sessions']} sessions in {s['seconds']} s, refused {s['refused_requests']} (retried {s['retries']}),"
        f" series {s['prom_series']} of {s['points_ok']}, RSS peak {s['rss_peak_mib']} MiB")
    pathlib.Path(a.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print_report(report)
    return 0


def print_report(rep: dict) -> None:
    lim = rep["memory_limit_mib"]
    print(f"\nSession shape: {rep['shape']['points_per_session']} delta points, {rep['shape']['events_per_session']}"
          f" events; {rep['shape']['encoding']}, {rep['shape']['metrics_request_bytes']} + "
          f"{rep['shape']['logs_request_bytes']} bytes per session")
    print("| Phase | Asked sessions/s | Got sessions/s | Points/s | Events/s | Collector cores |"
          " Sessions/s per collector core | Refused requests | Events lost | Series sent / in Prometheus |"
          " RSS peak MiB (limit) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for p in rep["phases"]:
        print(f"| {p['phase']} ({p['procs']}x{p['threads']} senders, {p['sessions_per_request']} per request) | {p['target_rate']:.0f} | {p['sessions_per_s']}"
              f" | {p['points_per_s']} | {p['events_per_s']} | {p['collector_cores']} | {p['sessions_per_collector_core_s']}"
              f" | {p['refused_requests']} {p['status']} |"
              f" {p['events_lost']} of {p['events_ok']} | {p['points_ok']} / {p['prom_series']} |"
              f" {p['rss_peak_mib']} ({lim}) |")
    s = rep.get("sustained")
    if s:
        print(f"\nSustained with nothing refused and nothing lost: {s['sessions_per_s']} sessions/s ="
              f" {s['points_per_s']} points/s + {s['events_per_s']} events/s")


def report_only(a: argparse.Namespace) -> int:
    print_report(json.loads(pathlib.Path(a.json).read_text(encoding="utf-8")))
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sink")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--prefix", default="/otlp")
    r = sub.add_parser("run")
    r.add_argument("--otlp", required=True, help="127.0.0.1:PORT of the OTLP/HTTP receiver")
    r.add_argument("--collector-pid", type=int, required=True)
    r.add_argument("--prom", required=True)
    r.add_argument("--sink", required=True)
    r.add_argument("--telemetry", required=True, help="URL of the collector's own /metrics")
    r.add_argument("--catalog", default=str(ROOT / "docs/catalog/claude-code-2.1.332.json"))
    r.add_argument("--memory-limit-mib", type=int, required=True)
    r.add_argument("--ramp", type=lambda v: [float(x) for x in v.split(",")], default=[25, 50, 100, 200, 400, 800])
    r.add_argument("--step-seconds", type=float, default=15)
    r.add_argument("--ramp-sessions-per-request", type=int, default=1)
    r.add_argument("--procs", type=int, default=2)
    r.add_argument("--threads", type=int, default=16)
    r.add_argument("--burst-procs", type=int, default=4)
    r.add_argument("--burst-threads", type=int, default=64)
    r.add_argument("--burst-seconds", type=float, default=20)
    r.add_argument("--burst-sessions-per-request", type=int, default=1)
    r.add_argument("--cool-seconds", type=float, default=10)
    r.add_argument("--sessions", type=int, default=10000)
    r.add_argument("--window-seconds", type=float, default=300)
    r.add_argument("--json", required=True)
    o = sub.add_parser("report")
    o.add_argument("--json", required=True)
    a = p.parse_args()
    return {"sink": sink, "run": run, "report": report_only}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
