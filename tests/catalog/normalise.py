"""Turn the OTLP exports of the catalog's scenarios into the catalog (a normalised, deterministic
description of what one Claude Code version emits).

What is kept: names (metrics, events, spans, span events), units, types, monotonicity and
temporalities of metrics, the attribute keys of resources, data points, events and spans with the
OTLP value types seen, and for each key its values when they form a small fixed set (enum-like:
``type``, ``decision``, ``model``, ``query_source``, ...) or ``"varies"`` for identities,
numbers, times, paths and free text. Every key lists the scenarios it appeared in, so that a key
that only an opt-in brings is visible as such.

What is not kept: counts, ids, timestamps, temp paths, ports, host names: nothing that changes
from one run or machine to the next. Running the scenarios twice gives the same catalog byte for
byte (``tests/harness.sh catalog`` checks what it can; the committed catalogs were generated
twice and compared).
"""

from __future__ import annotations

import collections
import json
import re

VARIES = "varies"
ALL = "all"
REDACTED = "<REDACTED>"
# At most this many distinct values are enumerated; more is not an enum.
MAX_ENUM = 40

# Keys whose values are identities, numbers, times, paths or free text: never enumerated,
# whatever they look like in the scenarios (the scenarios' own values are not what users see).
VARIES_KEYS = {
    # identities and ids
    "session.id", "user.id", "prompt.id", "user.email", "user.account_uuid", "user.account_id",
    "organization.id", "tool_use_id", "request_id", "message.uuid", "message.id", "agent_id",
    "request_body_id", "plugin_id_hash", "gen_ai.conversation.id", "gen_ai.response.id",
    "gen_ai.tool.call.id", "event.timestamp", "event.sequence",
    # the machine: differs between the machines that generate the catalog
    "host.name", "host.id", "host.arch", "os.type", "os.version",
    # the repository the session runs in (OTEL_METRICS_INCLUDE_REPOSITORY)
    "vcs.repository.url.full", "vcs.repository.name", "vcs.owner.name", "vcs.ref.head.name",
    "vcs.ref.head.revision",
    # content (the content opt-ins) and free text
    "prompt", "prompt_text", "response", "tool_parameters", "tool_input", "tool_output", "body",
    "system_prompt", "error", "user_prompt", "full_command", "file_path", "content", "diff",
    "output", "managed_settings.settings", "workspace.host_paths", "body_ref",
}
# Keys whose values are enumerated even where the heuristic below would not (model names carry
# dates: claude-haiku-4-5-20251001).
ENUM_KEYS = {
    "model", "final_model", "gen_ai.request.model", "gen_ai.response.model", "status_code",
    "decision", "type", "start_type", "query_source", "source",
}
# The repository attributes (OTEL_METRICS_INCLUDE_REPOSITORY). Claude Code 2.1.332 adds them to
# the common attributes of its telemetry once an asynchronous lookup of the git remote has
# settled (bin/claude.exe: the common-attributes function reads the lookup's `attributes`, which
# stay undefined until its promise resolves); some paths wait for it, the turn's root span does
# not. Measured over 6 runs of all-opt-ins: the claude_code.interaction span carried them once;
# the other spans and the turn's events always did, the startup events (managed_settings_resolved,
# plugin_loaded) never. So that the catalog does not depend on that race, a scenario in which any
# span carried them counts them on every span of the scenario (see Collector.add).
REPOSITORY_KEYS = ("vcs.repository.url.full", "vcs.repository.name", "vcs.owner.name", "vcs.provider.name")
_TOKEN = re.compile(r"^[A-Za-z][A-Za-z0-9_.:+@/ -]{0,63}$")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX_ID = re.compile(r"(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{8,}")
_LONG_NUMBER = re.compile(r"\d{5,}")


def any_value(value: dict):
    """An OTLP/JSON AnyValue as (type name, Python value)."""
    if "stringValue" in value:
        return "string", value["stringValue"]
    if "boolValue" in value:
        return "bool", bool(value["boolValue"])
    if "intValue" in value:
        return "int", int(value["intValue"])
    if "doubleValue" in value:
        return "double", float(value["doubleValue"])
    if "arrayValue" in value:
        return "array", [any_value(v)[1] for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return "kvlist", {kv["key"]: any_value(kv.get("value", {}))[1] for kv in value["kvlistValue"].get("values", [])}
    if "bytesValue" in value:
        return "bytes", value["bytesValue"]
    return "empty", None


class _Key:
    """What one attribute key had, per scenario."""

    def __init__(self):
        self.types = set()
        self.values = collections.defaultdict(set)  # scenario -> JSON-encoded values

    def add(self, scenario: str, type_name: str, value) -> None:
        self.types.add(type_name)
        self.values[scenario].add(json.dumps(value, sort_keys=True))


class _Thing:
    """A metric, event, span or span event: its scenarios and attribute keys."""

    def __init__(self):
        self.scenarios = set()
        self.keys = collections.defaultdict(_Key)
        self.facts = collections.defaultdict(set)

    def add_attributes(self, scenario: str, attributes) -> None:
        self.scenarios.add(scenario)
        for attribute in attributes or []:
            type_name, value = any_value(attribute.get("value", {}))
            self.keys[attribute["key"]].add(scenario, type_name, value)


class Collector:
    """Reads the exports of every scenario of one Claude Code version."""

    def __init__(self):
        self.scenarios = []
        self.resource = _Thing()
        self.scopes = collections.defaultdict(_Thing)
        self.metrics = collections.defaultdict(_Thing)
        self.events = collections.defaultdict(_Thing)
        self.spans = collections.defaultdict(_Thing)
        self.span_events = collections.defaultdict(_Thing)
        self.volatile = set()

    def add(self, run: dict) -> None:
        scenario = run["scenario"]
        self.scenarios.append(scenario)
        self.volatile.update(v for v in run.get("volatile", []) if v)
        for export in run["exports"]:
            body = export["body"]
            for signal, resources, scopes_key in (("metrics", "resourceMetrics", "scopeMetrics"),
                                                  ("logs", "resourceLogs", "scopeLogs"),
                                                  ("traces", "resourceSpans", "scopeSpans")):
                for resource in body.get(resources, []):
                    self.resource.add_attributes(scenario, resource.get("resource", {}).get("attributes"))
                    for scope_block in resource.get(scopes_key, []):
                        scope = scope_block.get("scope", {})
                        entry = self.scopes[scope.get("name", "")]
                        entry.add_attributes(scenario, scope.get("attributes"))
                        entry.facts["signals"].add(signal)
                        entry.facts["versions"].add(scope.get("version", ""))
                        getattr(self, "_" + signal)(scenario, scope_block)
        self._complete_repository(scenario)

    def _complete_repository(self, scenario: str) -> None:
        """Give every span of `scenario` the repository attributes that any other span had in it
        (REPOSITORY_KEYS: whether the turn's root span has them is a race in Claude Code)."""
        for things in (self.spans,):
            seen = {}
            for thing in things.values():
                for key in REPOSITORY_KEYS:
                    entry = thing.keys.get(key)
                    if entry is not None and scenario in entry.values:
                        seen.setdefault(key, (set(), set()))
                        seen[key][0].update(entry.types)
                        seen[key][1].update(entry.values[scenario])
            for thing in things.values():
                if scenario not in thing.scenarios:
                    continue
                for key, (types, values) in seen.items():
                    entry = thing.keys[key]
                    entry.types.update(types)
                    entry.values[scenario].update(values)

    def _metrics(self, scenario: str, block: dict) -> None:
        for metric in block.get("metrics", []):
            entry = self.metrics[metric["name"]]
            entry.scenarios.add(scenario)
            entry.facts["unit"].add(metric.get("unit", ""))
            kind = next((k for k in ("sum", "gauge", "histogram", "exponentialHistogram", "summary") if k in metric),
                        "unknown")
            entry.facts["type"].add(kind)
            data = metric.get(kind, {})
            if kind == "sum":
                entry.facts["monotonic"].add(bool(data.get("isMonotonic")))
            if "aggregationTemporality" in data:
                temporality = data["aggregationTemporality"]
                entry.facts["temporalities"].add({1: "delta", 2: "cumulative"}.get(temporality, str(temporality)))
            for point in data.get("dataPoints", []):
                entry.add_attributes(scenario, point.get("attributes"))

    def _logs(self, scenario: str, block: dict) -> None:
        for record in block.get("logRecords", []):
            attributes = record.get("attributes", [])
            name = next((any_value(a["value"])[1] for a in attributes if a["key"] == "event.name"), None)
            body = any_value(record.get("body", {}))[1]
            entry = self.events[name or str(body)]
            entry.add_attributes(scenario, attributes)
            entry.facts["body"].add(str(body))
            for field in ("severityText", "severityNumber", "traceId", "spanId", "flags", "eventName"):
                if record.get(field):
                    entry.facts["record_fields"].add((field, scenario))

    def _traces(self, scenario: str, block: dict) -> None:
        for span in block.get("spans", []):
            entry = self.spans[span["name"]]
            entry.add_attributes(scenario, span.get("attributes"))
            entry.facts["kind"].add({0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer",
                                     5: "consumer"}.get(span.get("kind", 0), str(span.get("kind"))))
            entry.facts["status"].add({0: "unset", 1: "ok", 2: "error"}.get(span.get("status", {}).get("code", 0),
                                                                            "unknown"))
            if span.get("parentSpanId"):
                entry.facts["has_parent"].add(True)
            for event in span.get("events", []):
                self.span_events[(span["name"], event["name"])].add_attributes(scenario, event.get("attributes"))

    # -- output ---------------------------------------------------------------------------

    def _volatile(self, text: str) -> bool:
        return any(v in text for v in self.volatile)

    def _enumerable(self, key: str, values: list) -> bool:
        if key in VARIES_KEYS:
            return False
        if key in ENUM_KEYS:
            return not any(self._volatile(json.dumps(v)) for v in values)
        if len(values) > MAX_ENUM:
            return False
        return all(self._token_like(v) for v in values)

    def _token_like(self, value) -> bool:
        if isinstance(value, bool) or value is None:
            return True
        if isinstance(value, (int, float)):
            return False
        if isinstance(value, list):
            return all(self._token_like(v) for v in value)
        if isinstance(value, dict):
            return False
        text = str(value)
        return bool(_TOKEN.match(text)) and not (
            _UUID.search(text) or _HEX_ID.search(text) or _LONG_NUMBER.search(text)
            or "://" in text or text.startswith("/") or self._volatile(text))

    def _key_spec(self, key: str, entry: _Key, parent_scenarios: set) -> dict:
        scenarios = set(entry.values)
        redacted = {s for s, vals in entry.values.items() if json.dumps(REDACTED) in vals}
        content = {s for s, vals in entry.values.items() if vals - {json.dumps(REDACTED)}}
        values = sorted({v for vals in entry.values.values() for v in vals} - {json.dumps(REDACTED)})
        decoded = [json.loads(v) for v in values]
        spec = {"types": sorted(entry.types), "scenarios": _scenarios(scenarios, parent_scenarios)}
        if not decoded:
            spec["values"] = [REDACTED]
        elif self._enumerable(key, decoded):
            spec["values"] = _sorted_values(decoded + ([REDACTED] if redacted else []))
        else:
            spec["values"] = VARIES
        if redacted and content:
            spec["content_in"] = sorted(content)
        return spec

    def _attributes(self, thing: _Thing) -> dict:
        return {key: self._key_spec(key, entry, thing.scenarios) for key, entry in sorted(thing.keys.items())}

    def catalog(self, version: str, scenario_info: dict, variables: dict) -> dict:
        everything = set(self.scenarios)
        metrics = {}
        for name, entry in sorted(self.metrics.items()):
            metric = {
                "unit": _one(entry.facts["unit"]),
                "type": _one(entry.facts["type"]),
                "temporalities": sorted(entry.facts["temporalities"]),
                "scenarios": _scenarios(entry.scenarios, everything),
                "attributes": self._attributes(entry),
            }
            if entry.facts["monotonic"]:
                metric["monotonic"] = _one(entry.facts["monotonic"])
            metrics[name] = metric
        events = {}
        for name, entry in sorted(self.events.items()):
            events[name] = {
                "body": _one(entry.facts["body"]),
                "scenarios": _scenarios(entry.scenarios, everything),
                "attributes": self._attributes(entry),
            }
            if entry.facts["record_fields"]:
                # Log record fields besides the body and attributes (Loki stores them as structured
                # metadata: trace_id, span_id, flags, severity_*), with the scenarios they were set in.
                fields = collections.defaultdict(set)
                for field, scenario in entry.facts["record_fields"]:
                    fields[field].add(scenario)
                events[name]["record_fields"] = {f: _scenarios(s, entry.scenarios) for f, s in sorted(fields.items())}
        spans = {}
        for name, entry in sorted(self.spans.items()):
            spans[name] = {
                "kind": sorted(entry.facts["kind"]),
                "status": sorted(entry.facts["status"]),
                "root": not entry.facts["has_parent"],
                "scenarios": _scenarios(entry.scenarios, everything),
                "attributes": self._attributes(entry),
                "events": {event: {"scenarios": _scenarios(ev.scenarios, entry.scenarios),
                                   "attributes": self._attributes(ev)}
                           for (span, event), ev in sorted(self.span_events.items()) if span == name},
            }
        scopes = {name: {"signals": sorted(entry.facts["signals"]), "versions": sorted(entry.facts["versions"])}
                  for name, entry in sorted(self.scopes.items())}
        return {
            "catalog_format": 1,
            "claude_code_version": version,
            "generated_by": f"tests/harness.sh catalog {version} (tests/catalog/); do not edit by hand",
            "scenarios": scenario_info,
            "variables": variables,
            "resource": {"attributes": self._attributes(self.resource)},
            "scopes": scopes,
            "metrics": metrics,
            "events": events,
            "spans": spans,
        }


def _one(values: set):
    """The one value of a fact (a metric has one unit); several are listed."""
    values = sorted(values, key=json.dumps)
    return values[0] if len(values) == 1 else values


def _scenarios(scenarios: set, parent: set):
    return ALL if set(scenarios) == set(parent) else sorted(scenarios)


def _sorted_values(values: list) -> list:
    unique = {json.dumps(v, sort_keys=True): v for v in values}
    return [unique[k] for k in sorted(unique)]
