"""The catalog of what Claude Code emits: generate it, compare two, keep the docs in step.

    python3 tests/catalog/cli.py generate --claude BIN --out FILE [--raw DIR] [--from-raw DIR]
                                          [--only NAME,...] [--summary FILE]
    python3 tests/catalog/cli.py diff OLD.json NEW.json        exit 1 when they differ
    python3 tests/catalog/cli.py docs [--check]                the generated part of docs/telemetry.md

tests/harness.sh wraps them (`catalog VERSION`, `drift`); see docs/catalog/README.md.
"""

from __future__ import annotations

import argparse
import collections
import json
import pathlib
import sys
import tempfile
import time

import catalog as cat  # pylint: disable=import-error
import normalise  # pylint: disable=import-error
import scenarios as scenario_defs  # pylint: disable=import-error
import sessions  # pylint: disable=import-error


def summarise(run: dict) -> dict:
    """Counts of one scenario's run (not in the catalog: counts depend on timing)."""
    events = collections.Counter()
    metrics = collections.Counter()
    spans = collections.Counter()
    for export in run["exports"]:
        body = export["body"]
        for resource in body.get("resourceLogs", []):
            for scope in resource.get("scopeLogs", []):
                for record in scope.get("logRecords", []):
                    name = next((normalise.any_value(a["value"])[1] for a in record.get("attributes", [])
                                 if a["key"] == "event.name"), "?")
                    events[name] += 1
        for resource in body.get("resourceMetrics", []):
            for scope in resource.get("scopeMetrics", []):
                for metric in scope.get("metrics", []):
                    kind = next(k for k in ("sum", "gauge", "histogram") if k in metric)
                    metrics[metric["name"]] += len(metric[kind].get("dataPoints", []))
        for resource in body.get("resourceSpans", []):
            for scope in resource.get("scopeSpans", []):
                for span in scope.get("spans", []):
                    spans[span["name"]] += 1
    result = run.get("result") or {}
    return {
        "seconds": run["seconds"],
        "requests": len(run["requests"]),
        "events": dict(sorted(events.items())),
        "metric_points": dict(sorted(metrics.items())),
        "spans": dict(sorted(spans.items())),
        "is_error": result.get("is_error"),
        "permission_denials": len(result.get("permission_denials") or []),
    }


def _print_summary(version: str, summary: dict) -> None:
    print(f"\nClaude Code {version}: what each scenario emitted (counts depend on timing; not in the catalog)")
    for name, s in summary.items():
        events = " ".join(f"{k}={v}" for k, v in s["events"].items())
        spans = sum(s["spans"].values())
        print(f"  {name:28} {s['seconds']:5.1f}s requests={s['requests']:<3} events={sum(s['events'].values()):<3} "
              f"metrics={len(s['metric_points'])} points={sum(s['metric_points'].values()):<3} spans={spans:<3} "
              f"| {events}")


def generate(args) -> int:
    only = set(args.only.split(",")) if args.only else None
    chosen = [s for s in scenario_defs.SCENARIOS if not only or s.name in only]
    if only and len(chosen) != len(only):
        print(f"unknown scenarios: {sorted(only - {s.name for s in chosen})}", file=sys.stderr)
        return 2
    runs = []
    if args.from_raw:
        raw = pathlib.Path(args.from_raw)
        meta = json.loads((raw / "meta.json").read_text(encoding="utf-8"))
        version, variables = meta["version"], meta["variables"]
        runs = [json.loads((raw / f"{s.name}.json").read_text(encoding="utf-8")) for s in chosen]
    else:
        version = sessions.claude_version(args.claude)
        variables = {name: {"in_binary": present}
                     for name, present in sessions.variables_in_binary(args.claude, scenario_defs.VARIABLES).items()}
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"catalog-{version}.") as workroot:
            for scenario in chosen:
                run = sessions.run_scenario(scenario, args.claude, pathlib.Path(workroot))
                runs.append(run)
                print(f"  {version} {scenario.name:28} {run['seconds']:5.1f}s exports={len(run['exports'])}"
                      f"{'  PROBLEM: ' + run['problem'] if run['problem'] else ''}", flush=True)
        print(f"{len(runs)} sessions in {time.monotonic() - started:.0f} s")
        if args.raw:
            raw = pathlib.Path(args.raw)
            raw.mkdir(parents=True, exist_ok=True)
            (raw / "meta.json").write_text(json.dumps({"version": version, "variables": variables}), encoding="utf-8")
            for run in runs:
                (raw / f"{run['scenario']}.json").write_text(json.dumps(run), encoding="utf-8")
    problems = [f"{r['scenario']}: {r['problem']}" for r in runs if r["problem"]]
    if problems:
        print("FAILED: these scenarios did not run as scripted:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    collector = normalise.Collector()
    for run in runs:
        collector.add(run)
    catalog = collector.catalog(version, {s.name: scenario_info(s) for s in chosen}, variables)
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(cat.dump_file(catalog), encoding="utf-8")
    summary = {r["scenario"]: summarise(r) for r in runs}
    if args.summary:
        pathlib.Path(args.summary).write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    _print_summary(version, summary)
    print(f"\nwrote {out} ({len(catalog['metrics'])} metrics, {len(catalog['events'])} events, "
          f"{len(catalog['spans'])} spans)")
    return 0


def scenario_info(scenario) -> dict:
    info = {"description": scenario.description, "script": scenario.script, "model": scenario.model}
    if scenario.prompt:
        info["prompt"] = scenario.prompt
    if scenario.allowed_tools != scenario_defs.STACK_ALLOWED_TOOLS:
        info["allowed_tools"] = list(scenario.allowed_tools)
    if scenario.env:
        info["env"] = dict(scenario.env)
    if scenario.stand_in_args:
        info["stand_in_args"] = list(scenario.stand_in_args)
    if scenario.project:
        info["project"] = list(scenario.project)
    return info


def diff_command(args) -> int:
    """Exit 0: the same; 1: different; 2: a catalog could not be read."""
    try:
        old, new = cat.load_catalog(args.old), cat.load_catalog(args.new)
        lines = cat.diff(old, new)
    except (OSError, ValueError, KeyError) as exc:
        print(f"cannot compare {args.old} and {args.new}: {exc!r}", file=sys.stderr)
        return 2
    print(f"Claude Code {old['claude_code_version']} ({args.old}) -> {new['claude_code_version']} ({args.new}):")
    if not lines:
        print("  no difference in what is emitted")
        return 0
    print("\n".join(lines))
    print(f"{len(lines)} differences")
    return 1


def docs_command(args) -> int:
    import docs  # pylint: disable=import-outside-toplevel,import-error

    path = cat.ROOT / "docs" / "telemetry.md"
    text = path.read_text(encoding="utf-8")
    wanted = docs.with_generated_section(text, cat.load_catalogs())
    if args.check:
        if wanted != text:
            print("docs/telemetry.md: the generated section is stale; run python3 tests/catalog/cli.py docs",
                  file=sys.stderr)
            return 1
        return 0
    path.write_text(wanted, encoding="utf-8")
    print(f"wrote {path}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="run the scenarios against a Claude Code and write its catalog")
    gen.add_argument("--claude", help="the claude executable (node_modules/.bin/claude)")
    gen.add_argument("--out", required=True, help="the catalog file to write")
    gen.add_argument("--only", help="comma-separated scenario names (default: all)")
    gen.add_argument("--raw", help="also keep every scenario's exports in this directory")
    gen.add_argument("--from-raw", help="build the catalog from the exports kept with --raw, without running")
    gen.add_argument("--summary", help="write the per-scenario counts (JSON) here")
    gen.set_defaults(func=generate)
    dif = sub.add_parser("diff", help="what changed from one catalog to another (exit 1 if anything did)")
    dif.add_argument("old")
    dif.add_argument("new")
    dif.set_defaults(func=diff_command)
    doc = sub.add_parser("docs", help="regenerate the catalog tables of docs/telemetry.md")
    doc.add_argument("--check", action="store_true", help="only check that they are up to date")
    doc.set_defaults(func=docs_command)
    args = parser.parse_args(argv)
    if args.command == "generate" and not args.claude and not args.from_raw:
        parser.error("generate needs --claude or --from-raw")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
