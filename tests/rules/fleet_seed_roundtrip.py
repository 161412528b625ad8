"""A fleet counter's history through one promtool and back (run by tests/rules/run.sh, per release).

plugins/module_utils/fleet_seed.py reads what ``promtool tsdb dump`` prints and writes what
``promtool tsdb create-blocks-from openmetrics`` reads. With the given promtool: sessions'
counter series are written into blocks, dumped, turned into the counter's history, the history
written into blocks and dumped again. Checks that the dump parses, that promtool takes the
history, and that every point comes back with its value (a float's repr survives both ways),
the last one being the sum of every session's last value. Prints ``ok ...`` or ``FAIL ...``;
exits non-zero on a failure.

    python3 tests/rules/fleet_seed_roundtrip.py PROMTOOL
"""

from __future__ import annotations

import pathlib
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "plugins" / "module_utils"))
import fleet_seed  # noqa: E402  pylint: disable=wrong-import-position,import-error

METRIC = "claude_code_cost_usage_USD_total"
RECORD = "claude_code:cost_usage_USD:fleet_total"
START = 1790000000  # s; a whole minute


def sessions() -> tuple[str, dict]:
    """OpenMetrics text of 40 sessions' cost counters over 3 hours, and the total by model."""
    rng = random.Random(7)
    lines, totals = [f"# TYPE {METRIC[:-len('_total')]} counter\n"], {}
    for number in range(40):
        model = rng.choice(["claude-opus-4-1", "claude-sonnet-4-5", 'odd "model" \\ name'])
        labels = 'model="{0}",session_id="s{1}"'.format(model.replace("\\", "\\\\").replace('"', '\\"'), number)
        stamp, value = START + rng.randrange(0, 9000), 0.0
        for _export in range(rng.randrange(1, 30)):
            value = round(value + rng.random() / 10, 6)
            lines.append(f"{METRIC}{{{labels}}} {value!r} {stamp}.{rng.randrange(1000):03d}\n")
            stamp += 60
        totals[model] = totals.get(model, 0.0) + value
    lines.append("# EOF\n")
    return "".join(lines), totals


def promtool(tool: str, *args: str) -> str:
    done = subprocess.run([tool, *args], capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"FAIL promtool {' '.join(args[:3])}: {done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done.stdout


def dump(tool: str, data: pathlib.Path, name: str, sandbox: pathlib.Path) -> list:
    """The dump's lines of one metric (promtool 2.42's dump has neither --match nor
    --sandbox-dir-root: every line, filtered)."""
    (data / "wal").mkdir(exist_ok=True)
    help_text = subprocess.run([tool, "tsdb", "dump", "--help"], capture_output=True, text=True, check=False)
    sandboxed = "--sandbox-dir-root" in help_text.stdout + help_text.stderr
    out = promtool(tool, "tsdb", "dump", *([f"--sandbox-dir-root={sandbox}"] if sandboxed else []), str(data))
    return [line + "\n" for line in out.splitlines() if line.startswith(f'{{__name__="{name}"')]


def main() -> int:
    tool = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        (work / "sandbox").mkdir()
        text, totals = sessions()
        (work / "sessions.om").write_text(text, encoding="utf-8")
        promtool(tool, "tsdb", "create-blocks-from", "openmetrics", str(work / "sessions.om"), str(work / "data"))
        lines = dump(tool, work / "data", METRIC, work / "sandbox")
        end = START + 4 * 3600
        seed = fleet_seed.FleetSeed(["model"], end, settle=120, detail=3600)
        seed.feed(lines)
        history = seed.history()
        if seed.series != 40:
            print(f"FAIL the dump parsed: {seed.series} series of 40")
            return 1
        wrong = {model: (points[-1][1], totals[model[0]]) for model, points in history.items()
                 if abs(points[-1][1] - totals[model[0]]) > 1e-9 * max(1.0, totals[model[0]])}
        if wrong or len(history) != len(totals):
            print(f"FAIL the history's last values against the sessions' totals: {wrong or history.keys()}")
            return 1
        (work / "history.om").write_text("".join(fleet_seed.openmetrics(RECORD, ["model"], history)), encoding="utf-8")
        promtool(tool, "tsdb", "create-blocks-from", "openmetrics", str(work / "history.om"), str(work / "seeded"))
        back = {}
        for line in dump(tool, work / "seeded", RECORD, work / "sandbox"):
            labels, value, stamp = fleet_seed.parse_dump_line(line)
            back.setdefault(fleet_seed.label_values(labels, ["model"]), []).append((stamp, value))
        if back != history:
            differ = [model for model in history if back.get(model) != history[model]]
            print(f"FAIL the history came back from promtool's blocks as it went in: {differ or set(back) - set(history)}")
            return 1
        points = sum(len(p) for p in history.values())
        print(f"ok {seed.samples} samples of {seed.series} sessions dumped and read; the history ({points} points, "
              f"{len(history)} models) written into blocks and dumped back unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
