"""Sessions' series for the fleet counters' seeding test (converge.yml; tests/test_tsdb_fleet_counters.py).

    python3 fleet_sessions.py OUTDIR NOW

writes, for Unix time NOW (whole seconds):
- old.om: OpenMetrics of sessions 6 to 4 hours before NOW, for `promtool tsdb create-blocks-from
  openmetrics` (blocks older than Prometheus's head, as a server that has run for days holds);
- recent.bin: a remote-write request of sessions 50 to 10 minutes before NOW (into the head);
- expected.json: what each fleet counter must hold, per group, at whole minutes: every sample
  whose timestamp is at least L (2m, the role's default) before, by what it added to its series;
  the sessions started L after their first sample, and ended an hour after their last.

Cost by model and tokens by model and type, in the shape the collector pushes (one series per
session, job claude-code); model names from Claude Code's own catalog (docs/telemetry.md). No
lines of code, edit decisions or active time: those counters have no series to seed from.
"""

import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3] / "plugins" / "module_utils"))
import fleet_seed  # noqa: E402  pylint: disable=wrong-import-position,import-error

SETTLE = 120
MODELS = ("claude-sonnet-4-5", "claude-haiku-4-5-20251001")
COST = "claude_code_cost_usage_USD_total"
TOKENS = "claude_code_token_usage_tokens_total"
RECORDS = {COST: "claude_code:cost_usage_USD:fleet_total", TOKENS: "claude_code:token_usage_tokens:fleet_total"}
STARTED, ENDED = "claude_code:sessions:fleet_started", "claude_code:sessions:fleet_ended"


def sessions(now):
    """[(metric, labels, [(ms, value)])]: samples 30 s past whole minutes, counters that grow."""
    out = []
    for number in range(12):
        old = number < 6
        start = now - (6 * 3600 if old else 50 * 60) + number % 6 * (20 * 60 if old else 5 * 60) + 30
        model = MODELS[number % 2]
        session = "fleet-seed-{0:02d}".format(number)
        stamps = [(start + minute * 60) * 1000 for minute in range(10 if old else 8)]
        cost = [round(0.0125 * (number + 1) * (i + 1) + 0.001 * i * i, 6) for i in range(len(stamps))]
        out.append((COST, {"job": "claude-code", "session_id": session, "model": model}, list(zip(stamps, cost))))
        for kind, scale in (("input", 1200), ("output", 310), ("cacheRead", 9000)):
            values = [float(scale * (number + 1) * (i + 1)) for i in range(len(stamps))]
            out.append((TOKENS, {"job": "claude-code", "session_id": session, "model": model, "type": kind},
                        list(zip(stamps, values))))
    return out


def expected(series, instants):
    """{record: {instant: {group text: value}}}: each sample counted SETTLE after its timestamp;
    each session (one episode here) started SETTLE after its first sample, ended an hour after
    its last."""
    out = {}
    for metric, labels, samples in series:
        if metric != COST:
            continue
        for instant in instants:
            for record, at in ((STARTED, samples[0][0] + SETTLE * 1000), (ENDED, samples[-1][0] + (3600 + SETTLE) * 1000)):
                slot = out.setdefault(record, {}).setdefault(str(instant), {})
                slot[""] = slot.get("", 0.0) + (1.0 if at <= instant * 1000 else 0.0)
    for metric, labels, samples in series:
        by = ("model",) if metric == COST else ("model", "type")
        group = ",".join('{0}="{1}"'.format(name, labels[name]) for name in by)
        for instant in instants:
            counted = [value for stamp, value in samples if stamp + SETTLE * 1000 <= instant * 1000]
            slot = out.setdefault(RECORDS[metric], {}).setdefault(str(instant), {})
            slot[group] = slot.get(group, 0.0) + (counted[-1] if counted else 0.0)
    return out


def main(outdir, now):
    outdir = pathlib.Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    now = int(now) // 60 * 60
    series = sessions(now)
    old = [item for item in series if item[2][0][0] < (now - 3 * 3600) * 1000]
    recent = [item for item in series if item[2][0][0] >= (now - 3 * 3600) * 1000]
    with (outdir / "old.om").open("w", encoding="utf-8") as out:
        for metric in (COST, TOKENS):
            out.write("# TYPE {0} counter\n".format(metric[:-len("_total")]))
            for name, labels, samples in old:
                if name != metric:
                    continue
                text = ",".join('{0}="{1}"'.format(key, labels[key]) for key in sorted(labels))
                for stamp, value in samples:
                    out.write("{0}{{{1}}} {2!r} {3}\n".format(metric, text, value, stamp // 1000))
        out.write("# EOF\n")
    # one request per metric (write_request writes one metric name's series)
    chunks = []
    for metric in (COST, TOKENS):
        by = ("job", "model", "session_id") + (("type",) if metric == TOKENS else ())
        history = {tuple(labels[name] for name in by): samples for name, labels, samples in recent if name == metric}
        chunks.append((metric, by, history))
    (outdir / "recent").mkdir(exist_ok=True)
    for metric, by, history in chunks:
        (outdir / "recent" / (metric + ".bin")).write_bytes(fleet_seed.write_request(metric, by, history))
    instants = [now - 5 * 3600, now - 4 * 3600, now - 3 * 3600, now - 30 * 60, now]
    (outdir / "expected.json").write_text(json.dumps({"now": now, "settle": SETTLE, "instants": instants,
                                                      "records": expected(series, instants)}, indent=1, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
