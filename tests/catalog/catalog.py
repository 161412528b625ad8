"""The catalog of what Claude Code emits: reading it, and what it becomes in Prometheus and Loki.

docs/catalog/claude-code-<VERSION>.json is generated from real sessions (tests/harness.sh
catalog VERSION; tests/catalog/README.md in docs/catalog/README.md). The set of those files IS
the set of supported Claude Code versions: the oldest and the newest are the ends of the
supported range.

Helpers for tests and tools (stdlib only):

* load_catalogs(): {version: catalog}, oldest first;
* emitted_prometheus_names(): every Prometheus series name a supported version gives, with its
  labels and their values, after the collector's prometheus exporter
  (translation_strategy UnderscoreEscapingWithSuffixes);
* emitted_loki_fields(): every field (stream label or structured metadata) a supported
  version's events have in Loki after OTLP ingestion, with values;
* diff(old, new): what changed between two catalogs, as readable lines (tests/harness.sh drift);
* dumps(catalog): the canonical text of a catalog file (sorted keys, compact lists).
"""

from __future__ import annotations

import json
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
CATALOG_DIR = ROOT / "docs" / "catalog"
VARIES = "varies"
ALL = "all"

# --- OTLP -> Prometheus -----------------------------------------------------------------------
# The collector's prometheus exporter with translation_strategy UnderscoreEscapingWithSuffixes
# names series as prometheus/otlptranslator's normalizeName does (metric_namer.go; unit_namer.go
# for the unit suffixes): the name split at characters other than [a-zA-Z0-9:], the unit's
# suffix appended unless a token already is it, "_total" for monotonic sums, "_ratio" for gauges
# of unit "1", joined with "_". Attribute keys become labels with every character other than
# [a-zA-Z0-9_] replaced by "_" (normalize_label.go). Resource attributes are not labels of the
# series: service.name becomes `job` (service.namespace/service.name when there is a namespace)
# and the other resource attributes are labels of the exporter's `target_info` series.
UNIT_SUFFIXES = {
    "d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds", "us": "microseconds",
    "ns": "nanoseconds", "By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "GiBy": "gibibytes",
    "TiBy": "tibibytes", "KBy": "kilobytes", "MBy": "megabytes", "GBy": "gigabytes", "TBy": "terabytes",
    "m": "meters", "V": "volts", "A": "amperes", "J": "joules", "W": "watts", "g": "grams", "Cel": "celsius",
    "Hz": "hertz", "1": "", "%": "percent",
}
PER_UNIT_SUFFIXES = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "mo": "month", "y": "year"}


def _clean_unit(unit: str) -> str:
    return re.sub(r"__+", "_", re.sub(r"[^a-zA-Z0-9:]", "_", unit)).lstrip("_")


def prometheus_metric_name(name: str, unit: str, metric_type: str, monotonic: bool = False) -> str:
    """The series name of an OTLP metric (histograms: add _bucket, _sum, _count)."""
    tokens = [t for t in re.split(r"[^a-zA-Z0-9:]", name) if t]
    main, _slash, per = (unit or "").partition("/")
    main = main.strip()
    main_suffix = "" if not main or "{" in main or "}" in main else UNIT_SUFFIXES.get(main, main)
    per = per.strip()
    per_suffix = "" if not per or "{" in per or "}" in per else "per_" + PER_UNIT_SUFFIXES.get(per, per)
    main_suffix, per_suffix = _clean_unit(main_suffix), _clean_unit(per_suffix)
    if main_suffix and main_suffix not in tokens:
        tokens.append(main_suffix.rstrip("_"))
    if per_suffix and per_suffix != "per_" and per_suffix.rstrip("_") not in tokens:
        tokens.append(per_suffix.rstrip("_"))
    if metric_type == "sum" and monotonic:
        tokens = [t for t in tokens if t != "total"] + ["total"]
    if unit == "1" and metric_type == "gauge":
        tokens = [t for t in tokens if t != "ratio"] + ["ratio"]
    result = "_".join(tokens)
    return "_" + result if result[:1].isdigit() else result


def prometheus_label(key: str) -> str:
    """An attribute key as a Prometheus label name (otlptranslator NormalizeLabel)."""
    label = re.sub(r"[^a-zA-Z0-9_]", "_", key)
    if label[:1].isdigit():
        label = "key_" + label
    elif label.startswith("_") and not label.startswith("__"):
        label = "key" + label
    return label


# --- OTLP -> Loki ------------------------------------------------------------------------------
# Loki's OTLP ingestion (grafana/loki pkg/loghttp/push/otlp.go, otlpToLokiPushRequest and
# attributeToLabels; the loki role installs Loki 3.5.3): every resource and log record attribute
# becomes a stream label (the resource attributes of the default index-label list, here only
# service.name) or structured metadata, its name normalised like a Prometheus label (dots to
# underscores). The log line is the body (claude_code.<event>).
def loki_field(key: str) -> str:
    return prometheus_label(key)


# --- reading -----------------------------------------------------------------------------------
def version_key(version: str) -> tuple:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def catalog_path(version: str) -> pathlib.Path:
    return CATALOG_DIR / f"claude-code-{version}.json"


def supported_versions(directory: pathlib.Path = CATALOG_DIR) -> list:
    """The supported Claude Code versions: one per catalog file, oldest first."""
    versions = [m.group(1) for p in directory.glob("claude-code-*.json")
                if (m := re.fullmatch(r"claude-code-(\d+\.\d+\.\d+)\.json", p.name))]
    return sorted(versions, key=version_key)


def load_catalog(path) -> dict:
    return json.loads(pathlib.Path(path).read_text(encoding="utf-8"))


def load_catalogs(directory: pathlib.Path = CATALOG_DIR) -> dict:
    """{version: catalog} for every supported version, oldest first."""
    return {v: load_catalog(directory / f"claude-code-{v}.json") for v in supported_versions(directory)}


def _values(spec: dict) -> set:
    values = spec.get("values")
    if values == VARIES:
        return {VARIES}
    return {v if isinstance(v, str) else json.dumps(v) for v in values}


def _merge(into: dict, name: str, values: set) -> None:
    into.setdefault(name, set()).update(values)


def emitted_prometheus_names(catalogs: dict = None) -> dict:
    """{series name: {"labels": {label: set of values or {"varies"}}, "otlp": metric name,
    "versions": set}} for every supported version; the values are strings as in PromQL
    (a JSON array for an array attribute). `target_info` carries the resource attributes.
    Labels the scrape or the exporter adds (job, instance, otel_scope_*) are not included:
    see PROMETHEUS_ADDED_LABELS."""
    catalogs = load_catalogs() if catalogs is None else catalogs
    series = {}
    for version, catalog in catalogs.items():
        for name, metric in catalog["metrics"].items():
            prom = prometheus_metric_name(name, metric["unit"], metric["type"], metric.get("monotonic", False))
            names = [prom + s for s in ("_bucket", "_sum", "_count")] if metric["type"] == "histogram" else [prom]
            for series_name in names:
                entry = series.setdefault(series_name, {"labels": {}, "otlp": name, "versions": set()})
                entry["versions"].add(version)
                for key, spec in metric["attributes"].items():
                    _merge(entry["labels"], prometheus_label(key), _values(spec))
                if metric["type"] == "histogram" and series_name.endswith("_bucket"):
                    _merge(entry["labels"], "le", {VARIES})
        info = series.setdefault("target_info", {"labels": {}, "otlp": "(resource)", "versions": set()})
        info["versions"].add(version)
        for key, spec in catalog["resource"]["attributes"].items():
            if key not in ("service.name", "service.namespace", "service.instance.id"):
                _merge(info["labels"], prometheus_label(key), _values(spec))
    return series


def emitted_job_values(catalogs: dict = None) -> set:
    """The values of `job` on Claude Code's series: the resource's service.name."""
    catalogs = load_catalogs() if catalogs is None else catalogs
    values = set()
    for catalog in catalogs.values():
        values |= _values(catalog["resource"]["attributes"].get("service.name", {"values": []}))
    return values


def collector_derived_fields() -> dict:
    """{Loki field: events} of the attributes the collection's collector adds to events itself,
    derived from content before it drops that content (roles/otel_collector/vars/main/attributes.yml,
    `_otel_collector_derived_attributes`): not Claude Code's, so in no catalog."""
    policy = ROOT / "roles" / "otel_collector" / "vars" / "main" / "attributes.yml"
    text = policy.read_text(encoding="utf-8")
    block = re.search(r"^_otel_collector_derived_attributes:\n((?:  .*\n)+)", text, re.M)
    derived = {}
    for key, events in re.findall(r"^  ([A-Za-z0-9_.]+): \[([^\]]*)\]$", block.group(1) if block else "", re.M):
        derived[loki_field(key)] = {e.strip() for e in events.split(",") if e.strip()}
    return derived


def emitted_loki_fields(catalogs: dict = None, events=None) -> dict:
    """{field: {"values": set of values or {"varies"}, "events": set of event names,
    "versions": set}}: the Loki fields of Claude Code's events in every supported version
    (resource attributes, service_name included, and event attributes), of every event or only
    of `events` (event.name values). Values are strings, as Loki stores them ("true", "400").
    Fields Loki adds itself are not included: see LOKI_ADDED_FIELDS."""
    catalogs = load_catalogs() if catalogs is None else catalogs
    fields = {}
    for version, catalog in catalogs.items():
        for key, spec in catalog["resource"]["attributes"].items():
            entry = fields.setdefault(loki_field(key), {"values": set(), "events": set(), "versions": set()})
            entry["values"] |= _values(spec)
            entry["events"].add("*")
            entry["versions"].add(version)
        for event, info in catalog["events"].items():
            if events is not None and event not in events:
                continue
            for key, spec in info["attributes"].items():
                entry = fields.setdefault(loki_field(key), {"values": set(), "events": set(), "versions": set()})
                entry["values"] |= _values(spec)
                entry["events"].add(event)
                entry["versions"].add(version)
    for field, derived_events in collector_derived_fields().items():
        wanted = derived_events if events is None else derived_events & set(events)
        if wanted:
            entry = fields.setdefault(field, {"values": set(), "events": set(), "versions": set()})
            entry["values"].add(VARIES)
            entry["events"] |= wanted
            entry["versions"] |= set(catalogs)
    return fields


# Series labels the collector's exporter or the scrape add: not Claude Code's attributes, so
# never in a catalog. job/instance: from the resource (service.name, service.instance.id) or
# the scrape target; otel_scope_*: the instrumentation scope (exporter); le: histogram buckets;
# __name__: PromQL's own.
PROMETHEUS_ADDED_LABELS = {"job", "instance", "otel_scope_name", "otel_scope_version", "otel_scope_schema_url",
                           "le", "__name__",
                           # the collector's own: each counter stream's start (roles/otel_collector)
                           "stream_start"}
# Structured metadata Loki adds to every OTLP log record (grafana/loki pkg/loghttp/push/otlp.go,
# otlpLogToPushEntry: observed_timestamp, severity_*, flags, trace_id, span_id,
# dropped_attributes_count; the scope's name and version), and detected_level (Loki's log level
# discovery).
LOKI_ADDED_FIELDS = {"observed_timestamp", "severity_number", "severity_text", "flags", "trace_id", "span_id",
                     "dropped_attributes_count", "scope_name", "scope_version", "scope_dropped_attributes_count",
                     "detected_level"}


# --- writing -----------------------------------------------------------------------------------
def _leaf(obj) -> bool:
    """A dict of scalars and lists of scalars (an attribute's description): one line."""
    return isinstance(obj, dict) and not any(
        isinstance(v, dict) or (isinstance(v, list) and any(isinstance(x, dict) for x in v)) for v in obj.values())


def dumps(obj, indent: int = 0) -> str:
    """Canonical catalog text: keys sorted, one key per line, an attribute (a dict of scalars and
    lists) and a list of scalars on one line."""
    pad = "  " * indent
    if isinstance(obj, dict):
        if not obj or (indent >= 2 and _leaf(obj)):
            return json.dumps(obj, sort_keys=True, ensure_ascii=False)
        items = [f'{pad}  {json.dumps(k)}: {dumps(v, indent + 1)}' for k, v in sorted(obj.items())]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(v, dict) for v in obj):
        return "[\n" + ",\n".join(f"{pad}  {dumps(v, indent + 1)}" for v in obj) + "\n" + pad + "]"
    return json.dumps(obj, sort_keys=True, ensure_ascii=False)


def dump_file(catalog: dict) -> str:
    return dumps(catalog) + "\n"


# --- comparing ---------------------------------------------------------------------------------
def _show(values) -> str:
    if values == VARIES:
        return VARIES
    return ", ".join(v if isinstance(v, str) else json.dumps(v) for v in values)


def _version_free(value, version: str):
    """A value with the catalog's own version replaced, for comparing two versions."""
    if isinstance(value, str):
        return value.replace(version, "<version>")
    if isinstance(value, list):
        return [_version_free(v, version) for v in value]
    if isinstance(value, dict):
        return {k: _version_free(v, version) for k, v in value.items()}
    return value


def _scenario_change(before, after, everywhere: list) -> str:
    """How the scenarios of something changed, as "now also in ...; no longer in ..."."""
    before = set(everywhere) if before == ALL else set(before)
    after = set(everywhere) if after == ALL else set(after)
    parts = []
    if after - before and after == set(everywhere):
        parts.append("now in every scenario, not only in " + ", ".join(sorted(before)))
    elif after - before and len(set(everywhere) - after) < len(after - before):
        parts.append("now in every scenario but " + ", ".join(sorted(set(everywhere) - after))
                     + ", not only in " + ", ".join(sorted(before)))
    elif after - before:
        parts.append("now also in " + ", ".join(sorted(after - before)))
    if before - after:
        parts.append("no longer in " + ", ".join(sorted(before - after)))
    return "; ".join(parts) or "same scenarios"


def _diff_attributes(place: str, old: dict, new: dict, everywhere: list, out: list) -> None:
    """Append (change, place) pairs for the attributes of one metric, event, span or resource."""
    for key in sorted(set(old) | set(new)):
        if key not in new:
            out.append((f"- attribute {key}", place))
            continue
        spec = new[key]
        if key not in old:
            out.append((f"+ attribute {key} [{'/'.join(spec['types'])}] = {_show(spec['values'])}"
                        f"{_where(spec['scenarios'], everywhere)}", place))
            continue
        before = old[key]
        if before["types"] != spec["types"]:
            out.append((f"~ attribute {key}: type {'/'.join(before['types'])} -> {'/'.join(spec['types'])}", place))
        if before["values"] != spec["values"]:
            if VARIES in (before["values"], spec["values"]):
                out.append((f"~ attribute {key}: values {_show(before['values'])} -> {_show(spec['values'])}", place))
            else:
                added = [v for v in spec["values"] if v not in before["values"]]
                removed = [v for v in before["values"] if v not in spec["values"]]
                if added:
                    out.append((f"~ attribute {key}: values added: {_show(added)}", place))
                if removed:
                    out.append((f"~ attribute {key}: values removed: {_show(removed)}", place))
        if before["scenarios"] != spec["scenarios"]:
            out.append((f"~ attribute {key}: {_scenario_change(before['scenarios'], spec['scenarios'], everywhere)}",
                        place))
        if before.get("content_in") != spec.get("content_in"):
            out.append((f"~ attribute {key}: carries content in {_scen(before.get('content_in') or [])} -> "
                        f"{_scen(spec.get('content_in') or [])}", place))


def _where(scenarios, everywhere: list) -> str:
    """" (only in a, b)" or " (not in c)", whichever is shorter; "" for every scenario."""
    if scenarios == ALL:
        return ""
    missing = [s for s in everywhere if s not in scenarios]
    if len(missing) < len(scenarios):
        return f" (not in {', '.join(missing)})"
    return f" (only in {', '.join(scenarios)})"


def _scen(scenarios) -> str:
    if scenarios == ALL:
        return "every scenario"
    return "[" + ", ".join(scenarios) + "]" if scenarios else "no scenario"


def _grouped(changes: list) -> list:
    """One line per change, with every place it happened (in order of first appearance)."""
    places = {}
    for change, place in changes:
        places.setdefault(change, []).append(place)
    lines = []
    for change, where in places.items():
        if not where[0]:
            lines.append(f"  {change}")
        elif len(where) == 1:
            lines.append(f"  {change}  [{where[0]}]")
        else:
            lines.append(f"  {change}  [{len(where)}: {', '.join(where)}]")
    return lines


def diff(old: dict, new: dict) -> list:
    """What changed from catalog `old` to catalog `new`, one line per change (a change made to
    several metrics, events or spans is one line that lists them); [] if nothing did (the
    versions themselves, in service.version, app.version and the scope version, aside)."""
    old = _version_free(old, old["claude_code_version"])
    new = _version_free(new, new["claude_code_version"])
    everywhere = sorted(set(old["scenarios"]) | set(new["scenarios"]))
    changes = []
    for scenario in sorted(set(old["scenarios"]) ^ set(new["scenarios"])):
        changes.append((f"{'+' if scenario in new['scenarios'] else '-'} scenario {scenario}", ""))
    for var in sorted(set(old["variables"]) | set(new["variables"])):
        before, after = old["variables"].get(var, {}), new["variables"].get(var, {})
        if before.get("in_binary") != after.get("in_binary"):
            state = {True: "in the binary", False: "not in the binary (ignored)", None: "not checked"}
            changes.append((f"~ variable {var}: {state[before.get('in_binary')]} -> {state[after.get('in_binary')]}",
                            ""))
    _diff_attributes("resource", old["resource"]["attributes"], new["resource"]["attributes"], everywhere, changes)
    for section, facts in (("metrics", ("unit", "type", "monotonic", "temporalities")),
                           ("events", ("body", "record_fields")), ("spans", ("kind", "status", "root"))):
        label = section[:-1]
        for name in sorted(set(old[section]) | set(new[section])):
            place = f"{label} {name}"
            if name not in new[section]:
                changes.append((f"- {place}", ""))
                continue
            after = new[section][name]
            if name not in old[section]:
                scen = _where(after["scenarios"], everywhere)
                detail = ", ".join(f"{f} {after[f]}" for f in facts if f in after and f != "record_fields")
                changes.append((f"+ {place} ({detail}){scen}: attributes {', '.join(sorted(after['attributes']))}", ""))
                continue
            before = old[section][name]
            for fact in facts:
                if before.get(fact) != after.get(fact):
                    changes.append((f"~ {fact} {before.get(fact)} -> {after.get(fact)}", place))
            if before["scenarios"] != after["scenarios"]:
                changes.append((f"~ {_scenario_change(before['scenarios'], after['scenarios'], everywhere)}", place))
            scenarios = everywhere if after["scenarios"] == ALL else after["scenarios"]
            _diff_attributes(place, before["attributes"], after["attributes"], scenarios, changes)
            if section == "spans":
                for event in sorted(set(before["events"]) | set(after["events"])):
                    if event not in after["events"]:
                        changes.append((f"- span event {event}", place))
                    elif event not in before["events"]:
                        changes.append((f"+ span event {event}: attributes "
                                        f"{', '.join(sorted(after['events'][event]['attributes']))}", place))
                    else:
                        _diff_attributes(f"{place} event {event}", before["events"][event]["attributes"],
                                         after["events"][event]["attributes"], scenarios, changes)
    return _grouped(changes)
