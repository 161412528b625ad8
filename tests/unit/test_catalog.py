"""The catalog of what Claude Code emits (docs/catalog/, tests/catalog/) and everything that relies on it.

1. The catalogs are well formed and canonical, and describe the scenarios tests/catalog defines.
2. Every Prometheus series and label of the dashboards and rules, and every Loki field of the
   dashboards' LogQL and the Loki rules, is something a supported Claude Code version emits
   (after the collector's prometheus exporter and Loki's OTLP ingestion), or is on an explicit
   list of what is outside the catalog. Names that fail today are listed, each with its panel
   and why, in EXPECTED_FAILURES: the test fails when one of them is fixed (remove it then) as
   well as when a new one appears.
3. The generated part of docs/telemetry.md is what the catalogs say, and the page names no
   metric, event or attribute that no supported version emits.
4. The pieces: OTLP -> Prometheus naming, the normaliser, the diff, the Messages-API stand-in's
   scripts.
"""

from __future__ import annotations

import json
import pathlib
import re
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "catalog"))
sys.path.insert(0, str(ROOT / "tests" / "claude"))
# pylint: disable=wrong-import-position,import-error
import catalog as cat  # noqa: E402
import cli  # noqa: E402
import docs  # noqa: E402
import fake_messages_api as stand_in  # noqa: E402
import normalise  # noqa: E402
import queries  # noqa: E402
import scenarios  # noqa: E402

CATALOGS = cat.load_catalogs()
VERSIONS = list(CATALOGS)
DASHBOARDS = sorted((ROOT / "files" / "dashboards").glob("*.json"))
RULE_FILES = sorted((ROOT / "files" / "rules").glob("*.yml"))
LOKI_RULE_FILES = sorted((ROOT / "files" / "loki-rules").glob("*.yml"))
TELEMETRY_DOC = ROOT / "docs" / "telemetry.md"

# --- what is outside the catalog ---------------------------------------------------------------
# The stack's own series (the collector's, Prometheus's, Alertmanager's, Loki's own metrics and
# the scrape's `up`): not Claude Code's, measured separately (docs/telemetry.md, "The stack's
# own metrics").
STACK_SERIES_PREFIXES = ("otelcol_", "prometheus_", "alertmanager_", "loki_", "scrape_")
STACK_SERIES = {"up"}
# Labels whose values are open sets: whatever model, language, team or agent a user has. The
# catalog lists the values its sessions saw, which is no bound on what a dashboard may select
# (the price selectors name models no scenario uses).
OPEN_VALUE_LABELS = {"model", "final_model", "language", "team", "project", "cost_center", "agent_name", "agent_type",
                     "skill_name", "mcp_server_name", "mcp_tool_name", "plugin_name", "session_id", "user_id",
                     "prompt_id", "service_version", "app_version"}

# Labels the collection itself adds, not Claude Code: `project`, which the collector sets from its
# repository -> project mapping (otel_collector_repository_projects; a client's
# OTEL_RESOURCE_ATTRIBUTES can also send it), and `display_name`, the prometheus role's people
# mapping (prometheus_people, the series claude_code:people:info) joined at display time.
COLLECTION_LABELS = {"project", "display_name"}

# --- known failures ----------------------------------------------------------------------------
# (where, kind, what): each a name or value a dashboard or rule uses that no supported Claude Code
# version emits. Do not add to this list to make the test pass; fix the query instead. The lead
# engineer's dashboard work removes them.
# None now. (The Deep Dive's MCP Tool Calls panel matched tool_name=~"mcp__.+", which no
# version sends: Claude Code reports an MCP call as tool_name="mcp_tool". It now counts mcp_tool
# calls by the server and tool names the collector takes out of tool_parameters.)
EXPECTED_FAILURES: set = set()


def _panels(dashboard):
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def _dashboard_queries(ds_type):
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        for panel in _panels(dashboard):
            for target in panel.get("targets", []):
                if target.get("datasource", {}).get("type") == ds_type and target.get("expr"):
                    yield f"{path.name}: {panel['title']}", target["expr"]


def _rules(paths):
    for path in paths:
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            for rule in group["rules"]:
                yield path, rule


def prometheus_queries():
    yield from _dashboard_queries("prometheus")
    for path, rule in _rules(RULE_FILES):
        yield f"{path.name}: {rule.get('alert') or rule.get('record')}", str(rule["expr"])


def loki_queries():
    yield from _dashboard_queries("loki")
    for path, rule in _rules(LOKI_RULE_FILES):
        yield f"{path.name}: {rule.get('alert') or rule.get('record')}", str(rule["expr"])


RECORDS = {rule["record"] for _path, rule in _rules(RULE_FILES) if "record" in rule}
# The records computed from Claude Code's series (not the alert thresholds and the expected scrape
# jobs, which are constants): their labels are Claude Code's.
CLAUDE_RECORDS = {rule["record"] for _path, rule in _rules(RULE_FILES)
                  if "record" in rule and "claude_code_" in str(rule["expr"])}


def prometheus_problems() -> set:
    emitted = cat.emitted_prometheus_names(CATALOGS)
    claude_labels = set().union(*(s["labels"] for name, s in emitted.items() if name != "target_info"))
    problems = set()
    for where, expr in prometheus_queries():
        names = queries.promql_names(expr)
        ours = False
        for series in sorted(names["series"]):
            if series.startswith("claude_code_"):
                ours = True
                if series not in emitted:
                    problems.add((where, "series", series))
            elif series.startswith("claude_code:"):
                ours = ours or series in CLAUDE_RECORDS
                if series not in RECORDS:
                    problems.add((where, "record", series))
            elif series not in STACK_SERIES and not series.startswith(STACK_SERIES_PREFIXES):
                problems.add((where, "series", series))
        for series, label, op, value in names["matchers"]:
            if not series or not (series.startswith("claude_code_") or series in CLAUDE_RECORDS):
                continue
            labels = emitted[series]["labels"] if series in emitted else {}
            known = ((claude_labels if series.startswith("claude_code:") else set(labels)) | cat.PROMETHEUS_ADDED_LABELS
                     | COLLECTION_LABELS)
            if label not in known:
                problems.add((where, "label", label))
                continue
            if label == "job":
                values = cat.emitted_job_values(CATALOGS)
            elif label in labels and label not in OPEN_VALUE_LABELS:
                values = labels[label]
            else:
                continue
            if "$" not in value and cat.VARIES not in values and not queries.value_matches(op, value, values):
                problems.add((where, "value", f'{label}{op}"{value}"'))
        if ours:
            for label in sorted(names["grouping"] - claude_labels - cat.PROMETHEUS_ADDED_LABELS - COLLECTION_LABELS):
                problems.add((where, "label", label))
    return problems


def loki_problems() -> set:
    all_events = set().union(*(c["events"] for c in CATALOGS.values()))
    problems = set()
    for where, expr in loki_queries():
        names = queries.logql_names(expr)
        scoped = set()
        for pipeline in names["pipelines"]:
            events = set(all_events)
            for field, op, value in pipeline["stream"] + pipeline["filters"]:
                if field == "event_name" and op in ("=", "=~") and value is not None:
                    events &= {e for e in all_events if queries.value_matches(op, value, {e})}
            scoped |= events
            fields = cat.emitted_loki_fields(CATALOGS, events)
            for field in sorted(pipeline["fields"] - set(fields) - cat.LOKI_ADDED_FIELDS):
                problems.add((where, "field", field))
            for field, op, value in pipeline["stream"] + pipeline["filters"]:
                if value is None or "$" in value or field not in fields or field in OPEN_VALUE_LABELS:
                    continue
                values = fields[field]["values"]
                if cat.VARIES not in values and not queries.value_matches(op, value, values):
                    problems.add((where, "value", f'{field}{op}"{value}"'))
        fields = cat.emitted_loki_fields(CATALOGS, scoped)
        for field in sorted(names["grouping"] - set(fields) - cat.LOKI_ADDED_FIELDS):
            problems.add((where, "field", field))
    return problems


# --- 1. the catalogs ---------------------------------------------------------------------------
def test_supported_versions_are_the_catalog_files():
    assert len(VERSIONS) >= 2, VERSIONS
    assert VERSIONS == sorted(VERSIONS, key=cat.version_key)
    for version, catalog in CATALOGS.items():
        assert catalog["claude_code_version"] == version


@pytest.mark.parametrize("version", VERSIONS)
def test_catalog_file_is_canonical(version):
    """Sorted keys, the canonical layout: what the generator writes, byte for byte."""
    text = cat.catalog_path(version).read_text(encoding="utf-8")
    assert text == cat.dump_file(json.loads(text))


@pytest.mark.parametrize("version", VERSIONS)
def test_catalog_describes_the_scenarios_of_tests_catalog(version):
    """A catalog made with other scenarios than tests/catalog/scenarios.py defines is stale."""
    catalog = CATALOGS[version]
    assert catalog["scenarios"] == {s.name: cli.scenario_info(s) for s in scenarios.SCENARIOS}, (
        f"regenerate: tests/harness.sh catalog {version}")
    assert sorted(catalog["variables"]) == scenarios.VARIABLES


def _things(catalog):
    yield "resource", catalog["resource"], set(catalog["scenarios"])
    for section in ("metrics", "events", "spans"):
        for name, thing in catalog[section].items():
            yield f"{section} {name}", thing, set(catalog["scenarios"])
            if section == "spans":
                for event, info in thing["events"].items():
                    where = set(catalog["scenarios"]) if thing["scenarios"] == cat.ALL else set(thing["scenarios"])
                    yield f"span {name} event {event}", info, where


_VOLATILE = re.compile(r"/tmp/|/work/|/root/|127\.0\.0\.1|[0-9a-f]{8}-[0-9a-f]{4}-|example\.invalid")


@pytest.mark.parametrize("version", VERSIONS)
def test_catalog_is_well_formed(version):
    catalog = CATALOGS[version]
    assert set(catalog) == {"catalog_format", "claude_code_version", "generated_by", "scenarios", "variables",
                            "resource", "scopes", "metrics", "events", "spans"}
    assert catalog["metrics"] and catalog["events"], "a catalog without metrics or events is not one"
    for where, thing, parent in _things(catalog):
        if "scenarios" in thing and thing["scenarios"] != cat.ALL:
            assert thing["scenarios"] == sorted(thing["scenarios"]) and set(thing["scenarios"]) <= parent, where
        scope = parent if thing.get("scenarios", cat.ALL) == cat.ALL else set(thing["scenarios"])
        for key, spec in thing["attributes"].items():
            assert set(spec) <= {"types", "values", "scenarios", "content_in"}, (where, key)
            assert spec["types"] and set(spec["types"]) <= {"string", "int", "double", "bool", "array", "kvlist"}, (
                where, key)
            if spec["scenarios"] != cat.ALL:
                assert spec["scenarios"] and set(spec["scenarios"]) <= scope, (where, key)
            assert set(spec.get("content_in", [])) <= scope, (where, key)
            if spec["values"] != cat.VARIES:
                assert spec["values"] == normalise._sorted_values(spec["values"]), (where, key)  # pylint: disable=protected-access
                assert not any(_VOLATILE.search(json.dumps(v)) for v in spec["values"]), (where, key, spec["values"])
    for name, metric in catalog["metrics"].items():
        assert metric["type"] in ("sum", "gauge", "histogram"), name
        assert set(metric["temporalities"]) <= {"delta", "cumulative"}, name
    for name, event in catalog["events"].items():
        assert event["body"] == f"claude_code.{name}", name


@pytest.mark.parametrize("version", VERSIONS)
def test_catalog_shows_what_the_scenarios_are_for(version):
    """Each scenario left its mark: otherwise it did not run as scripted."""
    catalog = CATALOGS[version]
    events = catalog["events"]
    assert {"api_request", "user_prompt", "tool_result", "tool_decision", "subagent_completed"} <= set(events)
    assert events["api_error"]["attributes"]["status_code"]["values"] == [400, 529]
    assert events["api_retries_exhausted"]["scenarios"] == ["api-error-529"]
    assert "false" in events["tool_result"]["attributes"]["success"]["values"]
    assert events["subagent_completed"]["attributes"]["is_async"]["values"] == [False, True]
    assert "mcp_tool" in events["tool_result"]["attributes"]["tool_name"]["values"]
    assert "Skill" in events["tool_result"]["attributes"]["tool_name"]["values"]
    assert events["mcp_server_connection"]["scenarios"] == ["mcp", "mcp-tool-details"]
    assert events["skill_activated"]["scenarios"] == ["skill", "skill-tool-details"]
    assert "hook_execution_complete" in events and "at_mention" in events
    assert "cumulative" in catalog["metrics"]["claude_code.cost.usage"]["temporalities"]
    assert len(catalog["metrics"]["claude_code.cost.usage"]["attributes"]["model"]["values"]) >= 3
    prompt = events["user_prompt"]["attributes"]["prompt"]
    assert prompt["content_in"] == ["all-opt-ins", "opt-in-user-prompts", "traces-user-prompts"]
    assert set(catalog["spans"]) >= {"claude_code.interaction", "claude_code.llm_request", "claude_code.tool"}
    assert "team" in catalog["resource"]["attributes"]


# --- 2. dashboards and rules against what is emitted ------------------------------------------
def test_dashboards_and_rules_name_only_what_claude_code_emits():
    found = prometheus_problems() | loki_problems()
    unexpected = sorted(found - EXPECTED_FAILURES)
    fixed = sorted(EXPECTED_FAILURES - found)
    assert not unexpected, "names no supported Claude Code version emits:\n" + "\n".join(map(str, unexpected))
    assert not fixed, "fixed, remove from EXPECTED_FAILURES:\n" + "\n".join(map(str, fixed))


def test_the_checks_read_the_queries():
    """The readers find what the queries use, so a pass means something."""
    prom = list(prometheus_queries())
    loki = list(loki_queries())
    assert len(prom) > 50 and len(loki) > 30
    used = set().union(*(queries.promql_names(expr)["series"] for _where, expr in prom))
    assert {"claude_code_cost_usage_USD_total", "claude_code_token_usage_tokens_total", "up"} <= used
    fields = set().union(*(queries.logql_names(expr)["fields"] for _where, expr in loki))
    assert {"service_name", "event_name", "tool_name", "session_id", "duration_ms", "prompt_length"} <= fields


def test_a_wrong_name_is_caught():
    emitted = cat.emitted_prometheus_names(CATALOGS)
    assert "claude_code_cost_usage_total" not in emitted
    names = queries.promql_names('sum by (modell) (claude_code_cost_usage_USD_total{query_source="mian"})')
    assert "modell" in names["grouping"]
    labels = emitted["claude_code_cost_usage_USD_total"]["labels"]
    assert not queries.value_matches("=", "mian", labels["query_source"])
    assert queries.value_matches("=~", "main|subagent", labels["query_source"])
    fields = cat.emitted_loki_fields(CATALOGS, {"tool_result"})
    assert not queries.value_matches("=~", "mcp__.+", fields["tool_name"]["values"])
    assert "event_name" in fields and "prompt_length" not in fields


# --- 3. docs/telemetry.md --------------------------------------------------------------------
def test_docs_generated_section_is_current():
    text = TELEMETRY_DOC.read_text(encoding="utf-8")
    assert docs.BEGIN in text and docs.END in text
    assert docs.with_generated_section(text, CATALOGS) == text, "run: python3 tests/catalog/cli.py docs"


# Backticked words of docs/telemetry.md's sections on Claude Code's telemetry that are not
# telemetry names, and so are in no catalog.
NOT_TELEMETRY = {
    # the collection: its scenario, roles and variables; the collector's, Prometheus's and
    # PromQL's own terms
    "stack", "claude_code_client", "otel_collector", "otel_collector_log_prompts",
    "otel_collector_sensitive_attributes", "claude_code_client_resource_attributes", "delta_to_cumulative",
    "honor_labels", "translation_strategy", "target_info", "job", "instance", "otel_scope_name",
    "otel_scope_version", "max_over_time", "min_over_time", "increase", "aggregationTemporality", "prometheus",
    # Claude Code's JSON result (--output-format json)
    "total_cost_usd", "usage", "modelUsage", "costUSD", "inputTokens", "outputTokens", "cacheReadInputTokens",
    "cacheCreationInputTokens", "permission_denials", "is_error", "subagent_stats.failed",
    # command-line and tool arguments, files of the test session
    "haiku", "opus", "run_in_background", "hello.py",
    # the catalog's own fields
    "content_in", "scenarios",
}
# Measured, but by sessions the catalogs do not run (yet): named here with where they were
# measured, so that the page may keep them and a reader knows they are not in a catalog.
MEASURED_OUTSIDE_THE_CATALOGS = {
    # an interactive session (tests/claude/run_interactive.sh, 2.1.197): slash commands, answered
    # permission prompts, user time, the tmux terminal
    "command_name", "command_source", "exit", "builtin", "user_temporary", "user", "tmux",
    # terminal.type of `claude -p` run with TERM=xterm (the catalogs run without TERM)
    "xterm",
    # a session signed in with a Claude account (the catalogs' sessions use an API key)
    "user.email",
    # a failed session-title request, with CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC unset
    # (tests/claude/README.md, "Scripted API failures")
    "internal_error", "error_name",
}
# Sections of docs/telemetry.md about the stack itself, not Claude Code: not checked here
# (test_dashboards.py reads the stack's series from them).
STACK_SECTIONS = ("## The stack's own metrics", "## Recording rules")
_DOC_NAME = re.compile(r"`([a-z][a-zA-Z0-9_.]*[a-zA-Z0-9])`")


def _catalog_words() -> set:
    words = set()
    for catalog in CATALOGS.values():
        for where, thing, _parent in _things(catalog):
            words.add(where.split(" ", 1)[-1].split(" event ")[-1])
            for key, spec in thing["attributes"].items():
                words.add(key)
                if spec["values"] != cat.VARIES:
                    words |= {v for v in spec["values"] if isinstance(v, str)}
        words |= {e["body"] for e in catalog["events"].values()} | set(catalog["scopes"])
        words |= {m["unit"] for m in catalog["metrics"].values()} | set(catalog["scenarios"])
    emitted = cat.emitted_prometheus_names(CATALOGS)
    words |= set(emitted) | set().union(*(s["labels"] for s in emitted.values()))
    words |= set(cat.emitted_loki_fields(CATALOGS)) | cat.LOKI_ADDED_FIELDS | cat.PROMETHEUS_ADDED_LABELS
    return words


def _telemetry_sections() -> str:
    text = TELEMETRY_DOC.read_text(encoding="utf-8").split(docs.BEGIN)[0]
    sections = re.split(r"(?m)^(?=## )", text)
    return "".join(sec for sec in sections if not sec.startswith(STACK_SECTIONS))


def _the_collections_own_words() -> set:
    """Role variables, and the names the collector's attribute policy lists (some defensively:
    an identity the catalogs' API-key sessions never send, such as user.account_uuid), and the
    values and names the collector and the dashboards' queries add."""
    words = {"accrued", "accrued_terms", "tcc_accrual", "prometheus_remote_write", "typed", "task_notification"}
    for defaults in (ROOT / "roles").glob("*/defaults/main.yml"):
        words |= set(yaml.safe_load(defaults.read_text(encoding="utf-8")) or {})
    collector = yaml.safe_load((ROOT / "roles/otel_collector/defaults/main.yml").read_text(encoding="utf-8"))
    words |= set(collector["otel_collector_hashed_attributes"]) | set(collector["otel_collector_extra_attributes"])
    policy = yaml.safe_load((ROOT / "roles/otel_collector/vars/main/attributes.yml").read_text(encoding="utf-8"))
    for name in ("_otel_collector_event_attributes", "_otel_collector_metric_attributes",
                 "_otel_collector_resource_attributes", "_otel_collector_derived_attributes",
                 "_otel_collector_dropped_attributes"):
        words |= set(policy[name])
    for keys in policy["_otel_collector_opt_in_attributes"].values():
        words |= set(keys)
    return words


def test_docs_name_only_what_claude_code_emits():
    words = _catalog_words() | NOT_TELEMETRY | MEASURED_OUTSIDE_THE_CATALOGS | RECORDS | _the_collections_own_words()
    unknown = sorted(set(_DOC_NAME.findall(_telemetry_sections())) - words)
    assert not unknown, f"docs/telemetry.md names what no supported catalog has: {unknown}"


def test_docs_check_reads_the_page():
    names = set(_DOC_NAME.findall(_telemetry_sections()))
    assert {"claude_code.cost.usage", "claude_code_cost_usage_USD_total", "prompt_text", "api_retries_exhausted",
            "tool_decision", "query_source"} <= names
    assert "otelcol_process_memory_rss" not in names


# --- 4. the pieces -----------------------------------------------------------------------------
@pytest.mark.parametrize("name,unit,kind,monotonic,expected", [
    ("claude_code.cost.usage", "USD", "sum", True, "claude_code_cost_usage_USD_total"),
    ("claude_code.token.usage", "tokens", "sum", True, "claude_code_token_usage_tokens_total"),
    ("claude_code.active_time.total", "s", "sum", True, "claude_code_active_time_seconds_total"),
    ("claude_code.session.count", "", "sum", True, "claude_code_session_count_total"),
    # prometheus/otlptranslator's own examples (metric_namer.go)
    ("http.server.duration", "s", "histogram", False, "http_server_duration_seconds"),
    ("requests.count", "1", "sum", True, "requests_count_total"),
    ("memory.usage", "By", "gauge", False, "memory_usage_bytes"),
    ("cpu.utilization", "1", "gauge", False, "cpu_utilization_ratio"),
    ("throughput", "By/s", "gauge", False, "throughput_bytes_per_second"),
    ("items", "{items}", "sum", True, "items_total"),
])
def test_prometheus_names(name, unit, kind, monotonic, expected):
    assert cat.prometheus_metric_name(name, unit, kind, monotonic) == expected


def test_prometheus_and_loki_names_of_the_catalog():
    emitted = cat.emitted_prometheus_names(CATALOGS)
    assert emitted["claude_code_cost_usage_USD_total"]["otlp"] == "claude_code.cost.usage"
    assert {"model", "query_source", "session_id", "agent_name"} <= set(emitted["claude_code_cost_usage_USD_total"]["labels"])
    assert emitted["claude_code_token_usage_tokens_total"]["labels"]["type"] == {"input", "output", "cacheRead",
                                                                                 "cacheCreation"}
    assert "os_type" in emitted["target_info"]["labels"]
    assert cat.emitted_job_values(CATALOGS) == {"claude-code"}
    fields = cat.emitted_loki_fields(CATALOGS)
    assert fields["service_name"]["values"] == {"claude-code"}
    assert {"true", "false"} <= fields["success"]["values"]


def _capture(scenario, attributes, resource=(("service.name", "x"),)):
    def kv(pairs):
        out = []
        for key, value in pairs:
            kind = {str: "stringValue", bool: "boolValue", int: "intValue", float: "doubleValue"}[type(value)]
            out.append({"key": key, "value": {kind: value}})
        return out
    record = {"body": {"stringValue": "claude_code.thing"}, "attributes": kv(attributes)}
    return {"scenario": scenario, "volatile": ["/tmp/run-1"], "exports": [{"path": "/v1/logs", "body": {
        "resourceLogs": [{"resource": {"attributes": kv(resource)},
                          "scopeLogs": [{"scope": {"name": "s", "version": "1"}, "logRecords": [record]}]}]}}]}


def test_normaliser_classifies_values():
    collector = normalise.Collector()
    collector.add(_capture("plain", [("event.name", "thing"), ("prompt", "<REDACTED>"), ("type", "input"),
                                     ("path", "/tmp/run-1/project/hello.py"), ("session.id", "abc"),
                                     ("duration_ms", "12"), ("flag", True), ("model", "claude-x-20251001")]))
    collector.add(_capture("opted-in", [("event.name", "thing"), ("prompt", "hello there"), ("type", "output"),
                                        ("path", "/tmp/run-1/x"), ("session.id", "def"), ("duration_ms", "13"),
                                        ("model", "claude-y")]))
    catalog = collector.catalog("9.9.9", {}, {})
    attributes = catalog["events"]["thing"]["attributes"]
    assert attributes["prompt"] == {"types": ["string"], "values": cat.VARIES, "scenarios": cat.ALL,
                                    "content_in": ["opted-in"]}
    assert attributes["type"]["values"] == ["input", "output"]
    assert attributes["path"]["values"] == cat.VARIES
    assert attributes["session.id"]["values"] == cat.VARIES
    assert attributes["duration_ms"]["values"] == cat.VARIES
    assert attributes["flag"] == {"types": ["bool"], "values": [True], "scenarios": ["plain"]}
    assert attributes["model"]["values"] == ["claude-x-20251001", "claude-y"]


def test_normaliser_repository_attributes_are_not_a_race():
    """Claude Code adds vcs.* once a git lookup has settled: the turn's root span may lack them."""
    def span(name, attributes):
        return {"name": name, "kind": 1, "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attributes]}

    def run(scenario, spans):
        return {"scenario": scenario, "exports": [{"path": "/v1/traces", "body": {"resourceSpans": [
            {"resource": {"attributes": []}, "scopeSpans": [{"scope": {"name": "t"}, "spans": spans}]}]}}]}

    collector = normalise.Collector()
    collector.add(run("repo", [span("claude_code.interaction", []),
                               span("claude_code.tool", [("vcs.repository.name", "demo")])]))
    collector.add(run("plain", [span("claude_code.interaction", []), span("claude_code.tool", [])]))
    spans = collector.catalog("9.9.9", {}, {})["spans"]
    assert spans["claude_code.interaction"]["attributes"]["vcs.repository.name"]["scenarios"] == ["repo"]
    assert spans["claude_code.tool"]["attributes"]["vcs.repository.name"]["scenarios"] == ["repo"]


def test_diff():
    newest, oldest = CATALOGS[VERSIONS[-1]], CATALOGS[VERSIONS[0]]
    assert not cat.diff(newest, json.loads(json.dumps(newest)))
    lines = cat.diff(oldest, newest)
    assert lines and all(line.startswith("  ") for line in lines)
    changed = json.loads(json.dumps(newest))
    changed["metrics"]["claude_code.cost.usage"]["unit"] = "EUR"
    del changed["events"]["api_error"]
    changed["events"]["user_prompt"]["attributes"]["prompt_length"]["types"] = ["int"]
    lines = cat.diff(newest, changed)
    assert "  ~ unit USD -> EUR  [metric claude_code.cost.usage]" in lines
    assert "  - event api_error" in lines
    assert "  ~ attribute prompt_length: type string -> int  [event user_prompt]" in lines


def _body(messages, tools=("Write", "Bash", "Read", "Edit", "Agent")):
    return {"messages": messages, "tools": [{"name": t, "input_schema": {}} for t in tools],
            "system": "Primary working directory: /w"}


def _turns(step, first="Create hello.py"):
    messages = [{"role": "user", "content": first}]
    for i in range(step):
        messages += [{"role": "assistant", "content": [{"type": "tool_use", "id": f"t{i}", "name": "X", "input": {}}]},
                     {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{i}", "content": "ok"}]}]
    return messages


def test_stand_in_default_script_is_unchanged():
    """The stack scenario's session: callers that pass no --script get exactly this."""
    labels = [stand_in.decide(_body(_turns(step)))[0] for step in range(9)]
    assert labels == ["main/write", "main/bash", "main/read", "main/edit", "main/agent", "main/commit", "main/pr",
                      "main/final", "main/final"]
    assert stand_in.decide(_body(_turns(0, "SUBAGENT-TASK: list"), ("Bash",)))[0] == "subagent/bash"
    assert stand_in.decide(_body(_turns(1, "SUBAGENT-TASK: list"), ("Bash",)))[0] == "subagent/final"
    assert stand_in.decide({"messages": _turns(0), "system": "Write a title as JSON"})[0] == "side/title-json"


def test_stand_in_scripts():
    def labels(script, steps, first="go"):
        return [stand_in.decide(_body(_turns(s, first)), script)[0] for s in range(steps)]
    assert labels("simple", 1) == ["main/final"]
    assert labels("tool-error", 3) == ["main/bash-fails", "main/read-fails", "main/final"]
    assert labels("permission-denied", 2) == ["main/bash-denied", "main/final"]
    assert labels("agents", 3) == ["main/agent-foreground", "main/agent-background", "main/final"]
    assert labels("mcp", 2) == ["main/mcp", "main/final"]
    assert labels("skill", 2) == ["main/skill", "main/final"]
    assert labels("agents", 2, "SUBAGENT-TASK-BACKGROUND: list") == ["subagent-background/bash",
                                                                     "subagent-background/final"]
    content = stand_in.decide(_body(_turns(1)), "agents")[1]
    assert content[1]["input"]["run_in_background"] is True
    content = stand_in.decide(_body(_turns(0)), "mcp")[1]
    assert content[1]["name"] == "mcp__telemetry-test__word_count"


def test_stand_in_persistent_failures():
    handler = stand_in.Handler.__new__(stand_in.Handler)
    handler.fail_once = {}
    handler.fail_always = [("subagent/*", 529)]
    assert handler._scripted_failure("subagent/bash") == 529  # pylint: disable=protected-access
    assert handler._scripted_failure("subagent/final") == 529  # pylint: disable=protected-access
    assert handler._scripted_failure("main/bash") is None  # pylint: disable=protected-access
