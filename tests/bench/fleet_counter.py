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

``run --prometheus BIN --config FILE --data DIR --port PORT [--seeded S --promtool BIN --rules FILE]``: start that Prometheus, push sessions
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

With ``--seeded SECONDS`` (fleet-counter.sh: SEEDED) a phase comes first in which Prometheus
runs without the rule, sessions going on. At its end, with sessions still running and points
still arriving, the counter's history is made from what Prometheus holds, as a deployment would
do it (plugins/module_utils/fleet_seed.py): ``promtool tsdb dump`` of the live data directory,
the history up to the dump's time; what is older than Prometheus's head through ``promtool tsdb
create-blocks-from openmetrics`` into blocks moved into the data directory, the rest sent to its
remote-write receiver (a block must not reach into the head: fleet_seed.py says why). Once
Prometheus answers the history's last value, the rule is added to its configuration and
Prometheus reloaded (SIGHUP). (A run shorter than the head's span has no persisted block: all
of the history goes through remote write.) The checkpoints that follow compare
the counter with every session since the start, those before the rule included.

What a phase lost is the change of (counter - Claude Code) from the checkpoint before. It also
reads the counter's whole history: it must never go down (resets()). Prints JSON.
Standard library only; talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import random
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import prometheus_fleet as pf  # noqa: E402  pylint: disable=wrong-import-position,import-error

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "plugins" / "module_utils"))
import fleet_seed  # noqa: E402  pylint: disable=wrong-import-position,import-error
import pricing  # noqa: E402  pylint: disable=wrong-import-position,import-error

METRIC = "claude_code_cost_usage_USD_total"
RECORD = "claude_code:cost_usage_USD:fleet_total"
MODELS = ("claude-sonnet-4-5", "claude-haiku-4-5")
EXPORT = 5  # s between two points of a session


def seconds(duration: str) -> int:
    """'90s', '2h', '26h', '1m' as seconds."""
    return int(duration[:-1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[duration[-1]]


def per_series(window: str, metric: str = METRIC, settle: str = "0s") -> str:
    """What each series accrued over the window (pricing.accrued, the recording rules' form); with
    a settling delay, over the window that ends that long before the evaluation."""
    return pricing.accrued(f'{metric}{{job=~"claude-code.*"}}', window, settle if seconds(settle) else "")


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
                    "--log.level=warn"] + list(a.prometheus_arg)
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

    def reload(self) -> None:
        self.proc.send_signal(signal.SIGHUP)

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


def _tick_until(fleet: Fleet, done, timeout: float = 300) -> None:
    """Sessions go on (started, exporting, sent) until done() or the timeout."""
    t0 = time.time()
    while not done():
        if time.time() - t0 > timeout:
            raise RuntimeError("timed out")
        fleet.tick(time.time(), starting=True)
        fleet.send()
        time.sleep(0.5)


def _run_ticking(fleet: Fleet, cmd: list, out) -> None:
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)  # pylint: disable=consider-using-with
    _tick_until(fleet, lambda: proc.poll() is not None)
    if proc.returncode:
        raise RuntimeError(f"{cmd[:4]} failed: see {out.name}")


def _seed(a: argparse.Namespace, fleet: Fleet, prometheus: Prometheus) -> dict:
    """The counter's history from what Prometheus holds now, then the rule: while sessions go on."""
    work = pathlib.Path(a.data).parent / "seed"
    shutil.rmtree(work, ignore_errors=True)
    (work / "sandbox").mkdir(parents=True)
    end = time.time()
    with (work / "dump.txt").open("w", encoding="utf-8") as out:
        _run_ticking(fleet, [a.promtool, "tsdb", "dump", f"--sandbox-dir-root={work / 'sandbox'}",
                             f'--match={{__name__="{METRIC}"}}', a.data], out)
    dumped = time.time()
    history_seed = fleet_seed.FleetSeed(("model",), end, settle=seconds(a.settle), detail=a.w_seconds)
    with (work / "dump.txt").open(encoding="utf-8") as lines:
        history_seed.feed(lines)
    history = history_seed.history()
    # What is older than the head goes into blocks; the rest to the remote-write receiver
    # (plugins/module_utils/fleet_seed.py says why).
    boundary = fleet_seed.persisted_until(a.data)
    old, recent = fleet_seed.split_history(history, boundary)
    blocks_before = sorted(p.name for p in pathlib.Path(a.data).iterdir() if (p / "meta.json").is_file())
    last = {group[0]: round(points[-1][1], 6) for group, points in history.items()}
    if a.seed_control:
        # the control: the same wait as Prometheus's first look at new blocks, the history thrown away
        moved = time.time()
        _tick_until(fleet, lambda: time.time() - end > 60)
    else:
        if old:
            with (work / "history.om").open("w", encoding="utf-8") as out:
                out.writelines(fleet_seed.openmetrics(RECORD, ("model",), old))
            with (work / "blocks.log").open("w", encoding="utf-8") as out:
                _run_ticking(fleet, [a.promtool, "tsdb", "create-blocks-from", "openmetrics", str(work / "history.om"),
                                     str(work / "blocks")], out)
            for block in (work / "blocks").iterdir():
                shutil.move(str(block), a.data)
        if recent:
            request = urllib.request.Request(
                a.prom + "/api/v1/write", data=fleet_seed.write_request(RECORD, ("model",), recent),
                headers={"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
                         "X-Prometheus-Remote-Write-Version": "0.1.0"})
            with urllib.request.urlopen(request, timeout=60) as response:
                response.read()
        moved = time.time()
        # Prometheus looks for new blocks once a minute: the rule waits until it reads the history,
        # the blocks' last points and the last point sent.
        checks = [(end, last)]
        if old:
            at = max(points[-1][0] for points in old.values())
            checks.append((at / 1000, {group[0]: round(points[-1][1], 6) for group, points in old.items()
                                       if points[-1][0] == at}))
        _tick_until(fleet, lambda: all({m: round(v, 6) for m, v in query(a.prom, RECORD, t).items()
                                        if m in want} == want for t, want in checks))
    visible = time.time()
    shutil.copyfile(a.rules_config, a.config)
    prometheus.reload()
    return {"control_history_thrown_away": a.seed_control, "history_end": round(end, 3),
            "persisted_until": boundary, "blocks_before": len(blocks_before),
            "points_in_blocks": sum(len(p) for p in old.values()),
            "points_sent": sum(len(p) for p in recent.values()), "series": history_seed.series, "samples": history_seed.samples,
            "history_points": sum(len(points) for points in history.values()), "history_last": last,
            "dump_seconds": round(dumped - end, 2), "history_and_blocks_seconds": round(moved - dumped, 2),
            "read_by_prometheus_after_seconds": round(visible - end, 2),
            "rule_after_seconds": round(time.time() - end, 2)}


def _run(a: argparse.Namespace, prometheus: Prometheus) -> int:
    a.prom = prometheus.url
    fleet = Fleet(a.prom, a.seed)
    phases = [("steady", a.steady, None), ("in flight", a.inflight, "in flight"), ("late<W", a.late_short, "hold"),
              ("restart", a.restart, "restart"), ("late>W", a.late_long, "hold")]
    phases = [phase for phase in phases if phase[0] in a.phases.split(",")]
    if a.seeded:
        phases.insert(0, ("seeded", a.seeded, "seed"))
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
            if fault in (None, "in flight", "seed"):
                fleet.send(delay)
            time.sleep(1)
        if fault == "restart":
            prometheus.start()
        if fault == "seed":
            point = {"after": name, "seconds": length, "fault": fault, "seed": _seed(a, fleet, prometheus)}
            print(json.dumps(point), flush=True)
            checkpoints.append(point)
            continue
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
    p.add_argument("--phases", default="steady,in flight,late<W,restart,late>W")
    p.add_argument("--seeded", type=int, default=0, help="seconds of sessions before the rule; 0: no seeded phase")
    p.add_argument("--promtool", help="(--seeded) promtool")
    p.add_argument("--rules-config", help="(--seeded) the configuration with the rule, copied onto --config")
    p.add_argument("--prometheus-arg", action="append", default=[],
                   help="one more flag for Prometheus (fleet-counter.sh: BLOCK, the block duration)")
    p.add_argument("--seed-control", action="store_true",
                   help="(--seeded) a control: the history is made but not given to Prometheus")
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
