"""Structural checks of the rule files that promtool does not make (run by tests/rules/run.sh).

Prints one line per check, ``ok <name>`` or ``FAIL <name>: <why>``, and nothing else on stdout.

- Prometheus rules (files/rules/claude_code_*.yml): file names the prometheus role owns; every
  alert has a severity (warning or critical), a summary and a description; recording rules are
  named ``claude_code:<metric>:<operation>``; every series they read is documented
  (docs/telemetry.md), measured from the collector, or recorded here; the threshold records
  have the layout the role rewrites and the defaults of roles/prometheus (defaults/main.yml and
  meta/argument_specs.yml).
- Unit tests (tests/rules/*.test.yml): every alert is tested firing and silent, and a test
  file that loads the alerts lists every group in group_eval_order.
- Loki rules (files/loki-rules/*.yml): the ruler's structure, and only documented event
  attributes.
LogQL syntax is checked separately with Grafana's grammar (run.sh).
"""

from __future__ import annotations

import json
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
RULES = sorted((ROOT / "files" / "rules").glob("*.yml"))
LOKI_RULES = sorted((ROOT / "files" / "loki-rules").glob("*.yml"))
TESTS = sorted((ROOT / "tests" / "rules").glob("*.test.yml"))
DOC = (ROOT / "docs" / "telemetry.md").read_text(encoding="utf-8")

# Read from a running collector (otelcol-tcc v0.161.0, tests/otelcol/build.sh) with the
# otel_collector role's telemetry settings (without unit and type suffixes).
COLLECTOR_SERIES = {
    "otelcol_receiver_accepted_metric_points", "otelcol_receiver_refused_metric_points",
    "otelcol_receiver_accepted_log_records", "otelcol_receiver_refused_log_records",
    "otelcol_exporter_send_failed_metric_points", "otelcol_exporter_send_failed_log_records",
    "otelcol_exporter_enqueue_failed_metric_points", "otelcol_exporter_enqueue_failed_log_records",
    "otelcol_exporter_queue_size", "otelcol_exporter_queue_capacity",
    # the remote-write exporter's write-ahead log (prometheus_remote_write with `wal`)
    "otelcol_exporter_prometheusremotewrite_wal_lag",
}
# Prometheus' own series (2.42 and 2.53).
PROMETHEUS_SERIES = {"up", "prometheus_tsdb_storage_blocks_bytes", "prometheus_tsdb_retention_limit_bytes"}
STACK_JOBS = {"prometheus", "otel-collector", "otlp-gateway", "alertmanager", "loki", "grafana"}
# Claude Code's own series: job is its service.name, claude-code (CLI) or claude-code-desktop.
CLAUDE_CODE_JOBS = {"claude-code", "claude-code.*"}
DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
ALERT_NAME = re.compile(r"^ClaudeCode[A-Z][A-Za-z0-9]+$")
RECORD_NAME = re.compile(r"^claude_code:[a-zA-Z0-9_]+:[a-zA-Z0-9_]+$")
THRESHOLD = re.compile(r"^[ ]*- record: claude_code:alert_threshold:(\w+)\n[ ]*expr: \"([0-9.eE+-]+)\"$", re.M)

results: list[tuple[str, str | None]] = []


def check(name: str, problems: list[str]) -> None:
    results.append((name, "; ".join(problems) if problems else None))


def load(path: pathlib.Path):
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def rule_items(doc):
    for group in doc.get("groups") or []:
        for rule in group.get("rules") or []:
            yield group, rule


def ruler_structure(path: pathlib.Path, doc) -> list[str]:
    """The structure both Prometheus and the Loki ruler read, with this collection's conventions."""
    problems = []
    if not isinstance(doc, dict) or set(doc) != {"groups"} or not isinstance(doc["groups"], list):
        return [f"{path.name}: top level must be exactly `groups:` (a list)"]
    names = [g.get("name") for g in doc["groups"]]
    if len(set(names)) != len(names) or not all(n and n.startswith("claude_code_") for n in names):
        problems.append(f"group names must be unique and start with claude_code_: {names}")
    for group in doc["groups"]:
        unknown = set(group) - {"name", "interval", "rules", "limit"}
        if unknown:
            problems.append(f"group {group.get('name')}: unknown keys {sorted(unknown)}")
        if "interval" in group and not DURATION.match(str(group["interval"])):
            problems.append(f"group {group.get('name')}: interval {group['interval']!r}")
        if not group.get("rules"):
            problems.append(f"group {group.get('name')}: no rules")
    for group, rule in rule_items(doc):
        label = rule.get("alert") or rule.get("record") or "?"
        if ("alert" in rule) == ("record" in rule):
            problems.append(f"{label}: needs exactly one of alert and record")
        if not isinstance(rule.get("expr"), str) or not rule["expr"].strip():
            problems.append(f"{label}: expr must be a non-empty string")
        if "for" in rule and not DURATION.match(str(rule["for"])):
            problems.append(f"{label}: for {rule['for']!r}")
        if "alert" in rule:
            unknown = set(rule) - {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
            if unknown:
                problems.append(f"{label}: unknown keys {sorted(unknown)}")
            if not ALERT_NAME.match(rule["alert"]):
                problems.append(f"{label}: alert names are ClaudeCode<CamelCase>")
            if (rule.get("labels") or {}).get("severity") not in ("warning", "critical"):
                problems.append(f"{label}: labels.severity must be warning or critical")
            annotations = rule.get("annotations") or {}
            for key in ("summary", "description"):
                if not str(annotations.get(key, "")).strip():
                    problems.append(f"{label}: annotations.{key} is missing")
        else:
            unknown = set(rule) - {"record", "expr", "labels"}
            if unknown:
                problems.append(f"{label}: unknown keys {sorted(unknown)}")
    return problems


def documented_claude_code_series() -> set[str]:
    return set(re.findall(r"`(claude_code_[A-Za-z_]+)`", DOC))


def prometheus_rules() -> dict[str, dict]:
    docs = {}
    documented = documented_claude_code_series()
    recorded = set()
    for path in RULES:
        doc = load(path)
        docs[path.name] = doc
        for _group, rule in rule_items(doc or {}):
            if "record" in rule:
                recorded.add(rule["record"])
    for path in RULES:
        doc = docs[path.name]
        problems = []
        if not re.match(r"^claude_code_[a-z0-9_]+\.yml$", path.name):
            problems.append("the prometheus role deploys and owns files named claude_code_*.yml only")
        problems += ruler_structure(path, doc)
        for _group, rule in rule_items(doc or {}):
            label = rule.get("alert") or rule.get("record")
            if "record" in rule and not RECORD_NAME.match(rule["record"]):
                problems.append(f"{label}: record names are claude_code:<metric>:<operation>")
            # series read by the expression and by the annotations' queries
            queries = re.findall(r'query "((?:[^"\\]|\\.)*)"', " ".join(map(str, (rule.get("annotations") or {}).values())))
            text = " ".join([rule["expr"]] + queries)
            for name in set(re.findall(r"\bclaude_code_[A-Za-z_]+\b", text)):
                if name not in documented:
                    problems.append(f"{label}: {name} is not in docs/telemetry.md")
            for name in set(re.findall(r"\b(?:otelcol|prometheus)_[a-z_]+\b", text)):
                if name not in COLLECTOR_SERIES | PROMETHEUS_SERIES:
                    problems.append(f"{label}: {name} is not a measured collector or Prometheus series")
            for name in set(re.findall(r"\bclaude_code:[A-Za-z0-9_:]+", text)):
                if name not in recorded:
                    problems.append(f"{label}: {name} is recorded by no rule")
            for job in re.findall(r'job=~?"([^"]+)"', rule["expr"]):
                wanted = CLAUDE_CODE_JOBS | STACK_JOBS
                if not set(job.split("|")) <= wanted:
                    problems.append(f"{label}: unknown job {job!r}")
        check(f"structure {path.relative_to(ROOT)}", problems)
    return docs


def thresholds(docs: dict[str, dict]) -> None:
    problems = []
    found = {}
    for path in RULES:
        text = path.read_text(encoding="utf-8")
        for name, value in THRESHOLD.findall(text):
            found[name] = float(value)
        records = {r["record"] for _group, r in rule_items(docs[path.name] or {}) if "record" in r}
        declared = {r.split(":", 2)[2] for r in records if r.startswith("claude_code:alert_threshold:")}
        missing_layout = declared - set(found)
        if missing_layout:
            problems.append(f"{path.name}: threshold records not written as `- record: ...` then `expr: \"<number>\"`"
                            f" on the next line (the role rewrites that line): {sorted(missing_layout)}")
        if "claude_code:stack_scrape_job:expected" in records:
            # one record per job, in the two-line layout the role removes for jobs it does not scrape
            jobs = re.findall(r'^[ ]*- record: claude_code:stack_scrape_job:expected\n'
                              r'[ ]*expr: label_replace\(vector\(1\), "job", "([^"]+)", "", ""\)$', text, re.M)
            count = len([r for _group, r in rule_items(docs[path.name]) if r.get("record") == "claude_code:stack_scrape_job:expected"])
            if set(jobs) != STACK_JOBS or len(jobs) != count:
                problems.append("claude_code:stack_scrape_job:expected needs one record per stack job, each"
                                f" `- record: ...` then `expr: label_replace(vector(1), \"job\", \"<job>\", \"\", \"\")`: {jobs}")
    role = ROOT / "roles" / "prometheus"
    defaults = load(role / "defaults" / "main.yml").get("prometheus_alert_thresholds") or {}
    spec = load(role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"].get("prometheus_alert_thresholds") or {}
    if {k: float(v) for k, v in defaults.items()} != found:
        problems.append(f"defaults/main.yml prometheus_alert_thresholds {defaults} != rule file {found}")
    options = spec.get("options") or {}
    if set(options) != set(found):
        problems.append(f"argument_specs options {sorted(options)} != rule file thresholds {sorted(found)}")
    for name, option in options.items():
        if name in found and (float(option.get("default", "nan")) != found[name] or not option.get("description")
                              or option.get("type") != "float"):
            problems.append(f"argument_specs option {name}: needs type float, a description and default {found[name]}")
    check("thresholds match roles/prometheus defaults and argument_specs", problems)


def tests(docs: dict[str, dict]) -> None:
    alerts = {r["alert"] for d in docs.values() for _group, r in rule_items(d or {}) if "alert" in r}
    fires, silent = set(), set()
    for path in TESTS:
        problems = []
        doc = load(path)
        loaded = [(path.parent / f).resolve() for f in doc.get("rule_files") or []]
        for f in loaded:
            if not f.exists():
                problems.append(f"rule file {f} does not exist")
        groups = [g["name"] for f in loaded if f.exists() for g in (load(f) or {}).get("groups") or []]
        order = doc.get("group_eval_order") or []
        if any(f.name == "claude_code_alerts.yml" for f in loaded) and not set(groups) <= set(order):
            problems.append("group_eval_order must list every group of the rule files (promtool sorts unlisted "
                            f"groups first, before the records they read): missing {sorted(set(groups) - set(order))}")
        for test in doc.get("tests") or []:
            if not test.get("name"):
                problems.append("every test needs a name")
            for case in test.get("alert_rule_test") or []:
                (fires if case.get("exp_alerts") else silent).add(case["alertname"])
        check(f"test file {path.relative_to(ROOT)}", problems)
    problems = []
    if sorted(alerts - fires):
        problems.append(f"never tested firing: {sorted(alerts - fires)}")
    if sorted(alerts - silent):
        problems.append(f"never tested silent: {sorted(alerts - silent)}")
    if sorted((fires | silent) - alerts):
        problems.append(f"tests name unknown alerts: {sorted((fires | silent) - alerts)}")
    check(f"every alert ({len(alerts)}) tested firing and silent", problems)


def loki_rules() -> list[str]:
    """Checks the Loki rule files; returns their expressions for the LogQL parser."""
    exprs = []
    # event names and attributes (dots as underscores) documented in docs/telemetry.md
    events = set(re.findall(r"^\| `([a-z_]+)` \|", DOC, re.M)) | set(re.findall(r"documented by Claude Code: `([a-z_]+)`", DOC))
    attributes = {a.replace(".", "_") for a in re.findall(r"`([a-z_.]+)`", DOC)}
    for path in LOKI_RULES:
        doc = load(path)
        problems = ruler_structure(path, doc)
        for _group, rule in rule_items(doc or {}):
            expr = rule.get("expr", "")
            exprs.append(expr)
            label = rule.get("alert") or rule.get("record")
            for selector in re.findall(r"\{([^}]*)\}", expr):
                # The CLI's (claude-code) and Desktop's (claude-code-desktop) events.
                if selector.strip() != 'service_name=~"claude-code.*"':
                    problems.append(f"{label}: stream selector must be {{service_name=~\"claude-code.*\"}}, got {{{selector}}}")
            for value in re.findall(r'event_name=~?"([^"]+)"', expr):
                for event in value.split("|"):
                    if event not in events:
                        problems.append(f"{label}: event {event!r} is not in docs/telemetry.md")
            used = set(re.findall(r"\|\s*([a-z_]+)\s*(?:=~|!~|!=|=|>=|<=|>|<)", expr))
            used |= {n.strip() for grp in re.findall(r"\bby\s*\(([^)]*)\)", expr) for n in grp.split(",")}
            for name in used - {"event_name"}:
                if name not in attributes:
                    problems.append(f"{label}: {name} is not a documented event attribute")
        check(f"structure {path.relative_to(ROOT)}", problems)
    return exprs


def main() -> int:
    docs = prometheus_rules()
    thresholds(docs)
    tests(docs)
    exprs = loki_rules()
    if len(sys.argv) > 1:
        pathlib.Path(sys.argv[1]).write_text(json.dumps(exprs), encoding="utf-8")
    for name, problem in results:
        print(f"ok {name}" if problem is None else f"FAIL {name}: {problem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
