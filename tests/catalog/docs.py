"""The generated part of docs/telemetry.md: the catalogs' metrics, events and spans as tables.

Everything between BEGIN and END (below) is written from docs/catalog/claude-code-*.json by
``python3 tests/catalog/cli.py docs``; tests/unit/test_catalog.py regenerates it and compares
byte for byte. The rest of the page is written by hand.
"""

from __future__ import annotations

import json

import catalog as cat  # pylint: disable=import-error

BEGIN = "<!-- BEGIN GENERATED: catalog tables; edit docs/catalog/*.json by regenerating them, then run: python3 tests/catalog/cli.py docs -->"
END = "<!-- END GENERATED: catalog tables -->"


def _values(spec: dict) -> str:
    values = spec["values"]
    if values == cat.VARIES:
        return ""
    shown = [v if isinstance(v, str) else json.dumps(v) for v in values]
    return " (" + ", ".join(f"`{v}`" for v in shown) + ")"


def _only(spec: dict, parent: list) -> str:
    """Where a key appeared, when not everywhere its parent did: the shorter of the two lists."""
    notes = []
    if spec["scenarios"] != cat.ALL:
        missing = [s for s in parent if s not in spec["scenarios"]]
        if len(missing) < len(spec["scenarios"]):
            notes.append("not in " + ", ".join(missing))
        else:
            notes.append("only in " + ", ".join(spec["scenarios"]))
    if spec.get("content_in"):
        notes.append("content only in " + ", ".join(spec["content_in"]))
    return " [" + "; ".join(notes) + "]" if notes else ""


def _attributes(attributes: dict, common: set, parent: list) -> str:
    parts = [f"`{key}`{_values(spec)}{_only(spec, parent)}"
             for key, spec in sorted(attributes.items()) if key not in common]
    return ", ".join(parts) if parts else "none besides the common ones"


def _scenarios_of(thing: dict, catalog: dict) -> list:
    return sorted(catalog["scenarios"]) if thing["scenarios"] == cat.ALL else thing["scenarios"]


def _common(things: dict) -> set:
    """Attribute keys every one of `things` has in every scenario it appeared in."""
    keys = None
    for thing in things.values():
        present = {k for k, spec in thing["attributes"].items() if spec["scenarios"] == cat.ALL}
        keys = present if keys is None else keys & present
    return keys or set()


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def version_section(version: str, catalog: dict) -> list:
    lines = [f"### Claude Code {version}", ""]
    ignored = sorted(v for v, info in catalog["variables"].items() if not info["in_binary"])
    lines.append("Variables of the scenarios this binary does not contain (it ignores them): "
                 + (", ".join(f"`{v}`" for v in ignored) if ignored else "none") + ".")
    lines.append("")
    resource = catalog["resource"]["attributes"]
    lines.append("Resource attributes: " + _attributes(resource, set(), sorted(catalog["scenarios"])) + ".")
    lines.append("")
    metrics = catalog["metrics"]
    common = _common(metrics)
    lines += [f"**Metrics** ({len(metrics)}). Every data point carries "
              + ", ".join(f"`{k}`" for k in sorted(common)) + ".", "",
              "| OTLP metric | unit | type | temporality | Prometheus series | attributes |",
              "| --- | --- | --- | --- | --- | --- |"]
    for name, metric in sorted(metrics.items()):
        prom = cat.prometheus_metric_name(name, metric["unit"], metric["type"], metric.get("monotonic", False))
        kind = metric["type"] + (" (monotonic)" if metric.get("monotonic") else "")
        lines.append(f"| `{name}` | {metric['unit'] or '-'} | {kind} | {', '.join(metric['temporalities'])} | "
                     f"`{prom}` | {_cell(_attributes(metric['attributes'], common, _scenarios_of(metric, catalog)))} |")
    lines.append("")
    events = catalog["events"]
    common = _common(events)
    lines += [f"**Events** ({len(events)}; body `claude_code.<event.name>`). Every event carries "
              + ", ".join(f"`{k}`" for k in sorted(common)) + ".", "",
              "| `event.name` | seen in | attributes |", "| --- | --- | --- |"]
    for name, event in sorted(events.items()):
        seen = "every scenario" if event["scenarios"] == cat.ALL else ", ".join(event["scenarios"])
        attributes = _attributes(event["attributes"], common, _scenarios_of(event, catalog))
        lines.append(f"| `{name}` | {seen} | {_cell(attributes)} |")
    lines.append("")
    spans = catalog["spans"]
    if spans:
        common = _common(spans)
        lines += [f"**Spans** ({len(spans)}; only with traces on). Every span carries "
                  + ", ".join(f"`{k}`" for k in sorted(common)) + ".", "",
                  "| span | kind | attributes | span events |", "| --- | --- | --- | --- |"]
        for name, span in sorted(spans.items()):
            where = _scenarios_of(span, catalog)
            events = "; ".join(
                f"`{e}`{_only(info, where)}: "
                f"{_attributes(info['attributes'], set(), info['scenarios'] if info['scenarios'] != cat.ALL else where)}"
                for e, info in sorted(span["events"].items())) or "-"
            lines.append(f"| `{name}` | {', '.join(span['kind'])} | {_cell(_attributes(span['attributes'], common, where))} "
                         f"| {_cell(events)} |")
        lines.append("")
    return lines


def generated_section(catalogs: dict) -> str:
    lines = [BEGIN, "",
             "Generated from the catalogs in `docs/catalog/` (one per supported Claude Code version; see "
             "`docs/catalog/README.md` for the scenarios and what the columns mean). An attribute marked "
             "\"only in ...\" appeared only in those scenarios; \"content only in ...\" means it is "
             "`<REDACTED>` elsewhere. Values are listed where they form a fixed set.", ""]
    for version, catalog in reversed(list(catalogs.items())):
        lines += version_section(version, catalog)
    lines.append(END)
    return "\n".join(lines) + "\n"


def with_generated_section(text: str, catalogs: dict) -> str:
    """The page with its generated section replaced (appended if it has none)."""
    section = generated_section(catalogs)
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        return head + section.rstrip("\n") + tail
    return text.rstrip("\n") + "\n\n## The catalogs (generated)\n\n" + section
