"""What a PromQL or LogQL query of the collection names: series, labels, Loki fields, values.

A small reader for the queries of files/dashboards/*.json, files/rules/*.yml and
files/loki-rules/*.yml, so that tests can check every name against what a supported Claude Code
version emits (catalog.emitted_prometheus_names, catalog.emitted_loki_fields). It is not a
parser of either language (promtool and Grafana's LogQL grammar check the syntax elsewhere); it
finds the names the collection's queries use, in the forms they use them.
"""

from __future__ import annotations

import re

_STRING = r'"((?:[^"\\]|\\.)*)"'
_MATCHER = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*" + _STRING)
_SELECTOR = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)?\s*\{([^{}]*)\}")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
# A name that is not a function (followed by "("), a label (inside braces, removed first) or
# part of a number or a string.
_NAME = re.compile(r"(?<![A-Za-z0-9_:.$\"])([A-Za-z_:][A-Za-z0-9_:]*)(?![A-Za-z0-9_:\"])(?!\s*\()")
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "or", "and", "unless", "offset", "bool",
                "inf", "nan", "e"}


def _strip_strings(expr: str) -> str:
    return re.sub(_STRING, '""', expr)


def promql_names(expr: str) -> dict:
    """{"series": set of series/record names, "matchers": [(series or None, label, op, value)],
    "grouping": set of labels of by/without/on/ignoring/group_*}."""
    strings = []

    def _keep(match):  # string literals out of the way: their braces and brackets are not syntax
        strings.append(match.group(1))
        return f'"{len(strings) - 1}"'

    body = re.sub(_STRING, _keep, expr)
    body = re.sub(r"\[[^\]]*\]", "", body)  # range selectors: [5m], [$__range]
    body = re.sub(r"\boffset\s+\S+", "", body)
    matchers = []
    for series, inner in _SELECTOR.findall(body):
        for label, op, value in _MATCHER.findall(inner):
            matchers.append((series or None, label, op, strings[int(value)]))
    grouping = set()
    for group in _GROUPING.findall(body):
        grouping.update(x.strip() for x in group.split(",") if x.strip())
    bare = _strip_strings(re.sub(r"\{[^{}]*\}", "", body))
    bare = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", bare)
    bare = re.sub(r"\$\{?[A-Za-z_]+\}?", "", bare)  # Grafana variables
    series = {n for n in _NAME.findall(bare) if n not in PROMQL_WORDS and not re.fullmatch(r"\d.*", n)}
    series |= {matcher[0] for matcher in matchers if matcher[0]}
    return {"series": series, "matchers": matchers, "grouping": grouping}


_LOKI_FILTER = re.compile(r"\|\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|<=|>=|==|=|<|>)\s*(" + _STRING + r"|[0-9.]+[a-zA-Z]*)")
_LOKI_UNWRAP = re.compile(r"\|\s*unwrap\s+(?:[a-z_]+\()?([A-Za-z_][A-Za-z0-9_]*)")
_LOKI_TEMPLATE = re.compile(r"\{\{\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_LOKI_GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


def logql_names(expr: str) -> dict:
    """{"pipelines": [one per stream selector: {"stream": [(label, op, value)], "filters":
    [(field, op, value or None for a number)], "fields": set}], "grouping": set of by/without
    fields, "fields": every field used}. A pipeline is the text from its stream selector to the
    next one, so that `event_name="x"` scopes the fields that follow it."""
    text = re.sub(r"\{\{.*?\}\}", lambda m: m.group(0).replace("{", "\x00").replace("}", "\x01"), expr)
    starts = [m.start() for m in re.finditer(r"\{[^{}]*\}", text)]
    pipelines = []
    for i, start in enumerate(starts):
        segment = text[start:starts[i + 1] if i + 1 < len(starts) else len(text)]
        segment = segment.replace("\x00", "{").replace("\x01", "}")
        selector = re.match(r"\{([^{}]*)\}", segment).group(1)
        stream = _MATCHER.findall(selector)
        filters = []
        for field, op, raw, quoted in _LOKI_FILTER.findall(segment):
            filters.append((field, op, quoted if raw.startswith('"') else None))
        fields = {matcher[0] for matcher in stream} | {filt[0] for filt in filters}
        fields |= set(_LOKI_UNWRAP.findall(segment)) | set(_LOKI_TEMPLATE.findall(segment))
        pipelines.append({"stream": stream, "filters": filters, "fields": fields})
    grouping = set()
    for group in _LOKI_GROUPING.findall(expr):
        grouping.update(x.strip() for x in group.split(",") if x.strip())
    fields = set().union(*(p["fields"] for p in pipelines)) | grouping if pipelines else grouping
    return {"pipelines": pipelines, "grouping": grouping, "fields": fields}


def value_matches(op: str, pattern: str, values) -> bool:
    """Whether a positive matcher (= or =~) can match one of the values (PromQL and LogQL
    regexes are fully anchored)."""
    if op == "=":
        return pattern in values
    if op == "=~":
        try:
            regex = re.compile(pattern)
        except re.error:
            return True
        return any(regex.fullmatch(v) for v in values)
    return True
