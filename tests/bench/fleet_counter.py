"""An experiment (tests/bench/fleet-counter.sh; a prototype, not a test, not shipped): does a fleet
counter that reads itself stay exact when points come late and when Prometheus restarts?

The counter is the design roles/prometheus/README.md ("Query cost") proposes for range queries
that cost two points of a few series instead of every per-session series:

    C(t) = max(C(t-STEP) + accrued over the last STEP, C(t-W) + accrued over the last W)

with the recording rules' own exact accrual (max in the window minus the last value before it,
per series, summed by model), a rule evaluated every STEP. Here time is scaled down: STEP 10 s
instead of 1 m, W 90 s instead of 2 h, sessions of 20-60 s exporting every 5 s.

With a settling delay L (``--settle``) both windows end L before the evaluation:

    C(t) = max(C(t-STEP) + accrued over (t-STEP-L, t-L], C(t-W) + accrued over (t-W-L, t-L])

so the counter stands for the totals as of L ago, and reads only points that have arrived when
every point arrives within L of its timestamp. Without it, a point still on its way when the rule
runs (its timestamp before the evaluation, its arrival after) is lost to every term that starts
from that evaluation's value (roles/prometheus/README.md, "Query cost", has the argument).

``rules STEP W [L]``: print the rule file.

``cost --url URL --at T...``: what an evaluation costs per healing window W (fleet-counter-cost.sh).

``run --prometheus BIN --config FILE --data DIR --port PORT``: start that Prometheus, push sessions
to it (remote write, as the collector does: current timestamps; points held back are sent later
with their own timestamps, in order) through four phases. After each, every session ends, the
rule gets W and three steps, and a checkpoint compares, per model, Claude Code's own totals so
far (the sum of every session's last value: what the sessions "spent") with the counter and with
the dashboards' raw accrual since the start:

  steady         sessions, nothing wrong
  in flight      longer sessions (longer than W), every point sent INFLIGHT_DELAY s after its
                 timestamp, as a real pipeline delivers them (batching, remote-write queues)
  late < W       every point held back for LATE_SHORT s, then sent
  restart        Prometheus stopped for RESTART s (SIGTERM, then started again on the same data;
                 points held back meanwhile and sent after, as the collector's WAL would)
  late > W       every point held back for LATE_LONG s (> W), then sent: what the design loses

What a phase lost is the change of (counter - Claude Code) from the checkpoint before. It also
reads the counter's whole history: it must never go down (resets()). Prints JSON.
Standard library only; talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import random
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import prometheus_fleet as pf  # noqa: E402  pylint: disable=wrong-import-position,import-error

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "plugins" / "module_utils"))
import pricing  # noqa: E402  pylint: disable=wrong-import-position,import-error

METRIC = "claude_code_cost_usage_USD_total"
RECORD = "claude_code:cost_usage_USD:fleet_total"
MODELS = ("claude-sonnet-4-5", "claude-haiku-4-5")
EXPORT = 5  # s between two points of a session


def seconds(duration: str) -> int:
    """'90s', '2h', '26h', '1m' as seconds."""
    return int(duration[:-1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[duration[-1]]


def per_series(window: str, metric: str = METRIC, settle: str = "0s") -> str:
    """What each series accrued over the window (files/rules/claude_code_recording.yml); with a
    settling delay, over the window that ends that long before the evaluation."""
    sel = f'{metric}{{job=~"claude-code.*"}}'
    if seconds(settle) == 0:
        return (f"(max_over_time({sel}[{window}]) - "
                f"(last_over_time({sel}[1h] offset {window}) or max_over_time({sel}[{window}]) * 0))")
    before = f"{seconds(window) + seconds(settle)}s"
    return (f"(max_over_time({sel}[{window}] offset {settle}) - "
            f"(last_over_time({sel}[1h] offset {before}) or max_over_time({sel}[{window}] offset {settle}) * 0))")


def accrued(window: str, metric: str = METRIC, by: str = "model", settle: str = "0s") -> str:
    """The rules' exact accrual over the window, summed by model."""
    return f"sum by ({by}) ({per_series(window, metric, settle)})"


# The counters the dashboards would need, and what they are summed by.
COUNTERS = (("claude_code_cost_usage_USD_total", "model"), ("claude_code_token_usage_tokens_total", "model, type"))


def cost(a: argparse.Namespace) -> int:
    """What one evaluation of the counter's accrual terms costs, per healing window W, on the data
    a Prometheus at --url holds (tests/bench/fleet-counter-cost.sh): each counter's 1m term plus
    its W term, timed as instant queries (a rule's evaluation is one) at each of --at, median of
    --repeat after a warm-up. Prints JSON."""
    out = {"windows": {}, "at": a.at}
    for window in a.windows:
        rows = []
        for at in a.at:
            total, series, terms = 0.0, 0, {}
            for metric, by in COUNTERS:
                for term, expr in (("1m", accrued("1m", metric, by)), (window, accrued(window, metric, by))):
                    walls = []
                    for i in range(a.repeat + 1):
                        params = urllib.parse.urlencode({"query": expr, "time": f"{at:.3f}", "stats": "all"})
                        start = time.perf_counter()
                        body = json.loads(pf.get(f"{a.url}/api/v1/query?{params}", timeout=600))
                        if body.get("status") != "success":
                            raise SystemExit(f"{expr}: {body}")
                        if i:
                            walls.append(time.perf_counter() - start)
                    walls.sort()
                    total += walls[len(walls) // 2]
                    terms[f"{metric} {term}"] = round(walls[len(walls) // 2], 4)
                    series += len(body["data"]["result"])
            rows.append({"at": at, "seconds": round(total, 4), "terms": terms, "result_series": series})
            print(f"W {window:>4} at {time.strftime('%H:%M', time.gmtime(at))} UTC: {total:7.3f} s "
                  f"({', '.join(f'{k} {v:.3f}' for k, v in terms.items())})", file=sys.stderr, flush=True)
        out["windows"][window] = rows
    print(json.dumps(out, indent=2))
    return 0


def rules(step: str, w: str, settle: str = "0s") -> str:
    """The counter's rule: pricing.fleet_counter (plugins/module_utils/pricing.py), the cost by model."""
    expr = pricing.fleet_counter(RECORD, f'{METRIC}{{job=~"claude-code.*"}}', "model", step, w, settle)
    return json.dumps({"groups": [{"name": "fleet_counter", "interval": step,
                                   "rules": [{"record": RECORD, "expr": expr}]}]}, indent=2)


def query(prom: str, expr: str, at: float | None = None) -> dict:
    params = {"query": expr}
    if at:
        params["time"] = f"{at:.3f}"
    out = json.loads(pf.get(f"{prom}/api/v1/query?{urllib.parse.urlencode(params)}"))
    return {r["metric"].get("model", ""): float(r["value"][1]) for r in out["data"]["result"]}


class Fleet:
    """Sessions that export a cumulative cost every EXPORT s; points are queued and sent unless held."""

    def __init__(self, prom: str, seed: int):
        self.writer = pf.Writer(prom + "/api/v1/write", 10_000)
        self.rng = random.Random(seed)
        self.live: list = []
        self.truth = {m: 0.0 for m in MODELS}
        self.queue: list = []  # (timestamp ms, labels, value), in time order
        self.sent = 0

    def tick(self, now: float, starting: bool, lasting: tuple = (20, 60)) -> None:
        if starting and self.rng.random() < 0.8:
            self.live.append({"labels": {"__name__": METRIC, "job": "claude-code", "session_id": str(uuid.uuid4()),
                                         "model": self.rng.choice(MODELS), "type": "cost"},
                              "value": 0.0, "ends": now + self.rng.uniform(*lasting), "next": now})
        for s in list(self.live):
            if now >= s["next"]:
                s["value"] += round(self.rng.uniform(0.001, 0.05), 6)
                self.queue.append((int(now * 1000), s["labels"], s["value"]))
                s["next"] = now + EXPORT
            if now >= s["ends"]:
                self.truth[s["labels"]["model"]] += s["value"]
                self.live.remove(s)

    def send(self, delay: float = 0.0) -> None:
        """Send the queued points whose timestamp is at least DELAY s old."""
        due = int((time.time() - delay) * 1000)
        ready = [point for point in self.queue if point[0] <= due]
        if not ready:
            return
        for ts, labels, value in ready:
            ts_varint = pf.varint(ts)
            self.writer.pending.append(pf.series_head(labels, len(ts_varint)) + pf.sample_bytes(value, ts_varint))
        self.writer.flush()
        self.sent += len(ready)
        self.queue = self.queue[len(ready):]


class Prometheus:
    def __init__(self, a: argparse.Namespace):
        self.cmd = [a.prometheus, f"--config.file={a.config}", f"--storage.tsdb.path={a.data}",
                    f"--web.listen-address=127.0.0.1:{a.port}", "--web.enable-remote-write-receiver",
                    "--log.level=warn"]
        self.log = pathlib.Path(a.data).parent / "prometheus.log"
        self.url = f"http://127.0.0.1:{a.port}"
        self.proc = None

    def start(self) -> None:
        with self.log.open("a", encoding="utf-8") as log:
            self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=log)  # pylint: disable=consider-using-with
        for _attempt in range(120):
            try:
                pf.get(self.url + "/-/ready", timeout=2)
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"Prometheus exited: see {self.log}") from None
                time.sleep(0.5)
        raise RuntimeError("Prometheus did not get ready")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=60)


def run(a: argparse.Namespace) -> int:
    prometheus = Prometheus(a)
    prometheus.start()
    try:
        return _run(a, prometheus)
    finally:
        prometheus.stop()


def _checkpoint(a: argparse.Namespace, fleet: Fleet, start: float, delay: float) -> dict:
    """Every session ends and is sent (DELAY s after its timestamp, as in the phase), the rule gets
    W, the settling delay and three steps to heal; then Claude Code's totals so far against the
    counter and the raw accrual since the start."""
    while fleet.live or fleet.queue:
        fleet.tick(time.time(), starting=False)
        fleet.send(delay)
        time.sleep(1)
    time.sleep(a.w_seconds + seconds(a.settle) + 3 * a.step_seconds)
    window = f"{int(time.time() - start) + 60}s"
    counter, raw = query(a.prom, RECORD), query(a.prom, accrued(window))
    out = {}
    for model in MODELS:
        truth = fleet.truth[model]
        out[model] = {"claude_code": round(truth, 6), "counter": round(counter.get(model, 0.0), 6),
                      "raw_accrual": round(raw.get(model, 0.0), 6),
                      "counter_minus_claude_code": round(counter.get(model, 0.0) - truth, 6)}
    return out


def _run(a: argparse.Namespace, prometheus: Prometheus) -> int:
    a.prom = prometheus.url
    fleet = Fleet(a.prom, a.seed)
    phases = [("steady", a.steady, None), ("in flight", a.inflight, "in flight"), ("late<W", a.late_short, "hold"),
              ("restart", a.restart, "restart"), ("late>W", a.late_long, "hold")]
    start = time.time()
    checkpoints = []
    for name, length, fault in phases:
        t0 = time.time()
        print(json.dumps({"phase": name, "at": round(t0 - start, 1), "fault": fault}), flush=True)
        if fault == "restart":
            prometheus.stop()
        delay = a.inflight_delay if fault == "in flight" else 0.0
        lasting = (a.w_seconds + 10, 2 * a.w_seconds + 20) if fault == "in flight" else (20, 60)
        while time.time() - t0 < length:
            fleet.tick(time.time(), starting=True, lasting=lasting)
            if fault in (None, "in flight"):
                fleet.send(delay)
            time.sleep(1)
        if fault == "restart":
            prometheus.start()
        fleet.send(delay)
        point = {"after": name, "seconds": length, "fault": fault,
                 "models": _checkpoint(a, fleet, start, delay)}
        print(json.dumps(point), flush=True)
        checkpoints.append(point)
    end = time.time()
    drops = json.loads(pf.get(f"{a.prom}/api/v1/query?" + urllib.parse.urlencode(
        {"query": f"sum by (model) (resets({RECORD}[{int(end - start) + 60}s]))"})))["data"]["result"]
    out = {"step_seconds": a.step_seconds, "w_seconds": a.w_seconds, "settle": a.settle,
           "inflight_delay_seconds": a.inflight_delay, "points_sent": fleet.sent,
           "run_seconds": round(end - start), "checkpoints": checkpoints,
           "counter_decreases": {r["metric"].get("model", ""): float(r["value"][1]) for r in drops}}
    print(json.dumps(out, indent=2), flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("rules")
    r.add_argument("step")
    r.add_argument("w")
    r.add_argument("settle", nargs="?", default="0s")
    p = sub.add_parser("run")
    for name in ("--prometheus", "--config", "--data", "--port"):
        p.add_argument(name, required=True)
    p.add_argument("--w-seconds", type=int, default=90)
    p.add_argument("--step-seconds", type=int, default=10)
    p.add_argument("--settle", default="0s", help="the rule's settling delay L (as in its rule file)")
    p.add_argument("--steady", type=int, default=60)
    p.add_argument("--inflight", type=int, default=200)
    p.add_argument("--inflight-delay", type=float, default=3.0)
    p.add_argument("--late-short", type=int, default=40)
    p.add_argument("--restart", type=int, default=30)
    p.add_argument("--late-long", type=int, default=150)
    p.add_argument("--seed", type=int, default=17)
    c = sub.add_parser("cost")
    c.add_argument("--url", required=True)
    c.add_argument("--at", type=float, nargs="+", required=True)
    c.add_argument("--windows", nargs="+", default=["2h", "6h", "26h"])
    c.add_argument("--repeat", type=int, default=3)
    a = parser.parse_args()
    if a.cmd == "rules":
        print(rules(a.step, a.w, a.settle))
        return 0
    if a.cmd == "cost":
        return cost(a)
    return run(a)


if __name__ == "__main__":
    sys.exit(main())
