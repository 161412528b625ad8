# -*- coding: utf-8 -*-
# Copyright: contributors to the telemetry.claude_code collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline lint of a Grafana dashboard: no Grafana needed.

This file is plain Python with no Ansible import, so that it can be used three ways:

* by the ``telemetry.claude_code.grafana_dashboard`` module (``lint_only``, check mode and
  before every import);
* from the collection's own tests, as
  ``ansible_collections.telemetry.claude_code.plugins.module_utils.dashboard_lint``;
* from any script, after putting this directory on ``sys.path``.

Entry point: ``lint_dashboard(dashboard, ...)`` returns a list of problems, each a dict
``{"panel": str or None, "kind": str, "message": str}``. ``panel`` names the panel (or
template variable, or annotation) concerned, or is None for the dashboard as a whole.

Problem kinds found by the lint:

``invalid-json``     the dashboard is not a JSON object (or not serialisable as JSON)
``uid``              uid missing, longer than 40 characters, or not ``[a-zA-Z0-9_-]``
``title``            title missing or empty
``panel-id``         panel without an integer id, or two panels with the same id
``grid-pos``         gridPos missing, or outside the 24-column grid
``grid-overlap``     two panels share grid cells
``row-structure``    rows and panels out of order, a collapsed row followed by loose
                     panels, an expanded row that keeps panels inside, nested rows
``datasource``       a datasource reference that is neither a ``${var}`` of a datasource
                     template variable of the dashboard nor a known uid
``promql``           promtool rejected a PromQL query (parse or type error)
``logql``            Grafana's LogQL grammar rejected a LogQL query
``metric-catalog``   a PromQL query names a metric that is not in the metric catalog
``field-config``     a key of a panel's fieldConfig.defaults (or an override property) that
                     Grafana's schema does not have there, so Grafana ignores it (such as a
                     timeseries' ``thresholdsStyle`` outside ``custom``), or a ``suffix:``
                     unit whose text starts with a space (Grafana adds one itself)
``lint-skipped``     a note, not an error: a parser was not available, so that part of the
                     lint did not run

Every kind except ``lint-skipped`` is an error; see ``is_error()``.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import tempfile

__all__ = [
    "BUILTIN_DATASOURCE_UIDS",
    "GRID_COLUMNS",
    "NOTE_KINDS",
    "UID_MAX_LENGTH",
    "count_panels",
    "datasource_variables",
    "FIELD_CONFIG_KEYS",
    "GRAPH_CUSTOM_KEYS",
    "find_promtool",
    "is_error",
    "iter_datasource_refs",
    "iter_fleet_forms",
    "iter_panels",
    "iter_queries",
    "iter_targets",
    "lint_dashboard",
    "load_dashboard",
    "metric_names",
    "panel_label",
    "parse_logql",
    "parse_promql",
    "problem",
    "ref_parts",
    "resolve_datasource_type",
    "shorten",
    "substitute_variables",
    "template_variables",
    "variable_reference",
    "variable_value",
]

GRID_COLUMNS = 24
UID_MAX_LENGTH = 40
UID_RE = re.compile(r"^[a-zA-Z0-9_-]+$")
NOTE_KINDS = frozenset(["lint-skipped"])
TOOL_TIMEOUT = 120

# Datasource uids (and legacy names) that Grafana itself provides in every organisation.
BUILTIN_DATASOURCE_UIDS = frozenset([
    "grafana", "-- Grafana --",
    "-- Mixed --", "mixed",
    "-- Dashboard --", "dashboard",
    "__expr__", "-100",
])

# Representative values for Grafana's global variables, so that a query can be parsed.
BUILTIN_VARIABLE_VALUES = {
    "__interval": "1m",
    "__interval_ms": "60000",
    "__rate_interval": "5m",
    "__rate_interval_ms": "300000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
    "__auto": "1m",
    "__from": "1700000000",
    "__to": "1700003600",
    "__dashboard": "dashboard",
    "__name": "name",
    "__org": "1",
    "__user": "user",
    "timeFilter": "1=1",
    "__timeFilter": "1=1",
}
PLACEHOLDER = "lint_var"
DURATION_PLACEHOLDER = "5m"
DURATION_RE = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")

# ${name}, ${name:format}, ${name.field}, [[name]], [[name:format]], $name
VARIABLE_RE = re.compile(
    r"\$\{(?P<braced>[A-Za-z0-9_]+)(?:\.[A-Za-z0-9_.]+)?(?::(?P<fmt>[^}]*))?\}"
    r"|\[\[(?P<bracket>[A-Za-z0-9_]+)(?::(?P<bfmt>[^\]]*))?\]\]"
    r"|\$(?P<plain>[A-Za-z0-9_]+)"
)


# The keys Grafana's dashboard schema allows in a panel's fieldConfig.defaults (the FieldConfig
# type of the dashboard kind, kinds/dashboard/dashboard_kind.cue, generated to
# packages/grafana-schema/src/raw/dashboard/x/dashboard_types.gen.ts: displayName ... nullValueMode),
# plus unitScale, which Grafana 10.x still wrote into exported dashboards. Anything else at that
# level is ignored by Grafana; panel-specific options belong under ``custom``.
FIELD_CONFIG_KEYS = frozenset([
    "displayName", "displayNameFromDS", "description", "filterable", "writeable", "path", "type", "unit",
    "decimals", "min", "max", "interval", "mappings", "thresholds", "color", "links", "actions", "noValue",
    "custom", "fieldMinMax", "nullValueMode", "unitScale",
])

# The custom field config of the graph panels (timeseries, and trend/xychart that share it):
# GraphFieldConfig of packages/grafana-schema/src/common/mudball.cue (LineConfig, FillConfig,
# PointsConfig, AxisConfig, BarConfig, StackableFieldConfig, HideableFieldConfig, drawStyle,
# gradientMode, thresholdsStyle, transform), plus insertNulls, axisBorderShow and showValues,
# which later releases added to it. The timeseries panel's FieldConfig is exactly GraphFieldConfig
# (public/app/plugins/panel/timeseries/panelcfg.cue).
GRAPH_CUSTOM_KEYS = frozenset([
    "lineColor", "lineWidth", "lineInterpolation", "lineStyle", "spanNulls", "insertNulls",
    "fillColor", "fillOpacity", "fillBelowTo",
    "showPoints", "pointSize", "pointColor", "pointSymbol",
    "axisPlacement", "axisColorMode", "axisLabel", "axisWidth", "axisSoftMin", "axisSoftMax", "axisGridShow",
    "scaleDistribution", "axisCenteredZero", "axisBorderShow",
    "barAlignment", "barWidthFactor", "barMaxWidth",
    "stacking", "hideFrom", "drawStyle", "gradientMode", "thresholdsStyle", "transform", "showValues",
])

# Panel types whose whole custom field config is known here, so that an unknown key under
# ``custom`` is an error too. Other panel types get only the checks of fieldConfig.defaults.
CUSTOM_KEYS_BY_PANEL = {
    "timeseries": GRAPH_CUSTOM_KEYS,
}


# --- small helpers ---------------------------------------------------------------------


def problem(panel, kind, message):
    """A problem, the one shape every check returns."""
    return {"panel": panel, "kind": kind, "message": message}


def is_error(item):
    """True for a problem that fails the lint; False for a note (``lint-skipped``)."""
    return item.get("kind") not in NOTE_KINDS


def panel_label(panel):
    """A short, human name for a panel: ``panel 4 "Cost per model"`` or ``row 1 "Usage"``."""
    if not isinstance(panel, dict):
        return "panel ?"
    kind = "row" if panel.get("type") == "row" else "panel"
    pid = panel.get("id")
    title = panel.get("title")
    label = "%s %s" % (kind, pid if pid is not None else "(no id)")
    if title:
        label += ' "%s"' % title
    return label


def load_dashboard(value):
    """Parse a dashboard given as a dict, a JSON string or bytes.

    Accepts an export wrapped as ``{"dashboard": {...}, "meta": {...}}`` (the shape of
    Grafana's GET /api/dashboards/uid/<uid>) and returns the inner dashboard.
    Raises ValueError with a readable message when it is not a JSON object.
    """
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValueError("the dashboard is not valid JSON: %s" % exc) from exc
    if not isinstance(value, dict):
        raise ValueError("the dashboard must be a JSON object, not %s" % type(value).__name__)
    if isinstance(value.get("dashboard"), dict) and "panels" not in value and "title" not in value:
        value = value["dashboard"]
    return value


def iter_panels(dashboard: dict):
    """Every panel of the dashboard, in layout order.

    Top-level panels and rows in list order; the panels a collapsed row keeps inside come
    right after their row. Panels of the legacy ``rows`` layout (schemaVersion < 16) are
    walked too (their rows are not panels and are not yielded).
    """
    for panel in dashboard.get("panels") or []:
        if not isinstance(panel, dict):
            continue
        yield panel
        if panel.get("type") == "row":
            for inner in panel.get("panels") or []:
                if isinstance(inner, dict):
                    yield inner
    for row in dashboard.get("rows") or []:
        if isinstance(row, dict):
            for inner in row.get("panels") or []:
                if isinstance(inner, dict):
                    yield inner


def count_panels(dashboard):
    """(panels, rows): how many non-row panels and how many rows the dashboard has."""
    panels = rows = 0
    for panel in iter_panels(dashboard):
        if panel.get("type") == "row":
            rows += 1
        else:
            panels += 1
    return panels, rows


def template_variables(dashboard):
    templating = dashboard.get("templating")
    if not isinstance(templating, dict):
        return []
    return [v for v in templating.get("list") or [] if isinstance(v, dict)]


def datasource_variables(dashboard):
    """{name: variable} for the template variables of type ``datasource``."""
    return {v.get("name"): v for v in template_variables(dashboard) if v.get("type") == "datasource" and v.get("name")}


def variable_reference(text):
    """The variable name when ``text`` is exactly one variable reference, else None."""
    if not isinstance(text, str):
        return None
    match = VARIABLE_RE.fullmatch(text.strip())
    if not match:
        return None
    return match.group("braced") or match.group("bracket") or match.group("plain")


def ref_parts(ref):
    """(uid_or_name, type) of a datasource reference (dict, legacy string or None)."""
    if isinstance(ref, dict):
        uid = ref.get("uid")
        return (str(uid) if uid is not None else None), ref.get("type")
    if isinstance(ref, str):
        return ref, None
    return None, None


def _known_types(known_datasource_uids):
    """Normalise known_datasource_uids (iterable of uids, or mapping uid -> type)."""
    if not known_datasource_uids:
        return {}
    if isinstance(known_datasource_uids, dict):
        return dict((str(k), v) for k, v in known_datasource_uids.items())
    if isinstance(known_datasource_uids, str):
        known_datasource_uids = [known_datasource_uids]
    return dict((str(k), None) for k in known_datasource_uids)


def resolve_datasource_type(ref, ds_vars, known=None):
    """The plugin type ('prometheus', 'loki', ...) a datasource reference points to, or None."""
    uid, dstype = ref_parts(ref)
    var = variable_reference(uid)
    if var and var in ds_vars:
        return ds_vars[var].get("query") or dstype
    if dstype and dstype != "datasource":
        return dstype
    if known and uid in known:
        return known[uid]
    return None


def iter_targets(dashboard, known_datasource_uids=None):
    """Every query target of every panel, with its resolved datasource.

    Yields dicts ``{panel, target, datasource, type, expr}``: ``datasource`` is the target's
    reference, or the panel's when the target has none; ``type`` the plugin type it resolves
    to (through datasource variables and ``known_datasource_uids`` when that is a mapping) or
    None; ``expr`` the target's ``expr`` (Prometheus and Loki) or None.
    """
    ds_vars = datasource_variables(dashboard)
    known = _known_types(known_datasource_uids)
    for panel in iter_panels(dashboard):
        targets = panel.get("targets")
        if not isinstance(targets, list):
            continue
        for target in targets:
            if not isinstance(target, dict):
                continue
            ref = target.get("datasource")
            if ref in (None, "", {}):
                ref = panel.get("datasource")
            dstype = resolve_datasource_type(ref, ds_vars, known)
            if dstype is None:
                dstype = resolve_datasource_type(panel.get("datasource"), ds_vars, known)
            expr = target.get("expr")
            yield {
                "panel": panel,
                "target": target,
                "datasource": ref,
                "type": dstype,
                "expr": expr if isinstance(expr, str) else None,
            }


def iter_queries(dashboard: dict, known_datasource_uids=None):
    """(panel, datasource_type, expr) for every target with a non-empty ``expr``.

    datasource_type is 'prometheus', 'loki', another plugin type, or None when the
    datasource cannot be told from the dashboard alone (e.g. the default datasource).
    """
    for item in iter_targets(dashboard, known_datasource_uids):
        if item["expr"] and item["expr"].strip():
            yield item["panel"], item["type"], item["expr"]


def iter_fleet_forms(dashboard, known_datasource_uids=None):
    """(panel, datasource_type, expr) for every target's fleet-counter form (its ``tccFleet``
    marker: the expression the grafana role provisions with grafana_dashboards_fleet_counters)."""
    for item in iter_targets(dashboard, known_datasource_uids):
        fleet = item["target"].get("tccFleet")
        if isinstance(fleet, str) and fleet.strip():
            yield item["panel"], item["type"], fleet


def iter_datasource_refs(dashboard):
    """(where, reference) for every datasource reference of the dashboard.

    ``where`` is a panel label, ``variable NAME`` or ``annotation NAME``; ``reference`` is the
    raw value (a dict with uid/type, a legacy string). Empty references are skipped.
    """
    for panel in iter_panels(dashboard):
        label = panel_label(panel)
        if panel.get("datasource") not in (None, "", {}):
            yield label, panel.get("datasource")
        for target in panel.get("targets") or []:
            if isinstance(target, dict) and target.get("datasource") not in (None, "", {}):
                yield label, target.get("datasource")
    for var in template_variables(dashboard):
        if var.get("type") != "datasource" and var.get("datasource") not in (None, "", {}):
            yield "variable %s" % var.get("name"), var.get("datasource")
    annotations = dashboard.get("annotations")
    if isinstance(annotations, dict):
        for annotation in annotations.get("list") or []:
            if isinstance(annotation, dict) and annotation.get("datasource") not in (None, "", {}):
                yield "annotation %s" % annotation.get("name"), annotation.get("datasource")


# --- variables -------------------------------------------------------------------------


def variable_value(var):
    """A representative value of a template variable, or None."""
    current = var.get("current")
    value = current.get("value") if isinstance(current, dict) else None
    if isinstance(value, list):
        value = value[0] if value else None
    if value in ("$__all", None, ""):
        value = var.get("allValue") if value == "$__all" else None
    if value in (None, "") and var.get("type") in ("constant", "textbox"):
        value = var.get("query")
    if value in (None, "") and var.get("type") in ("interval", "custom"):
        options = var.get("query")
        if isinstance(options, str) and options.strip():
            value = options.split(",")[0].strip()
            if " : " in value:
                value = value.split(" : ", 1)[1]
    if value in (None, "") and isinstance(var.get("options"), list) and var["options"]:
        first = var["options"][0]
        if isinstance(first, dict):
            value = first.get("value")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    return value if isinstance(value, str) and value else None


def _in_quotes(text, pos):
    """Whether position ``pos`` of ``text`` lies inside a quoted string."""
    quote = None
    i = 0
    while i < pos:
        char = text[i]
        if quote:
            if char == "\\" and quote != "`":
                i += 2
                continue
            if char == quote:
                quote = None
        elif char in "\"'`":
            quote = char
        i += 1
    return quote is not None


def _duration_context(text, start, end):
    """Whether a variable at text[start:end] stands where PromQL/LogQL wants a duration."""
    before = text[:start].rstrip()
    after = text[end:].lstrip()
    if before.endswith("[") or (before.endswith(":") and "[" in before[-40:]):
        return True
    if re.search(r"(?i)\boffset$", before):
        return True
    return after.startswith("]") or after.startswith(":") and "[" in before[-40:]


def substitute_variables(expr, dashboard=None, values=None, keep_builtins=False):
    """Replace Grafana variables in a query by representative values, for parsing.

    Global variables get fixed values (``$__interval`` 1m, ``$__rate_interval`` 5m,
    ``$__range`` 1h, ``$__range_s`` 3600, ...), or stay as they are with
    ``keep_builtins`` (Grafana's backend interpolates them in a query it runs; names that are
    no variable of the dashboard, like ``$1`` in label_replace, stay too). A dashboard
    variable gets its current value when that suits the place it stands in, else a
    placeholder of the right shape: a duration inside ``[...]`` or after ``offset``, ``x``
    inside quotes, ``lint_var`` elsewhere. ``values`` ({name: value}) overrides both.
    """
    variables = {}
    if dashboard:
        variables = dict((v.get("name"), v) for v in template_variables(dashboard) if v.get("name"))
    values = values or {}

    def replace(match):
        name = match.group("braced") or match.group("bracket") or match.group("plain")
        start, end = match.span()
        if name in values:
            return str(values[name])
        if keep_builtins and (name in BUILTIN_VARIABLE_VALUES or name.startswith("__") or name not in variables):
            return match.group(0)  # Grafana's own, or not a variable at all (a regex group like $1)
        if name in BUILTIN_VARIABLE_VALUES:
            return BUILTIN_VARIABLE_VALUES[name]
        if name.startswith("__"):
            return DURATION_PLACEHOLDER if _duration_context(expr, start, end) else "1"
        value = variable_value(variables[name]) if name in variables else None
        if _in_quotes(expr, start):
            return value.replace('"', '\\"') if value else "x"
        if _duration_context(expr, start, end):
            return value if value and DURATION_RE.match(value) else DURATION_PLACEHOLDER
        if value and re.match(r"^([A-Za-z_:][A-Za-z0-9_:]*|[0-9.]+)$", value):
            return value
        return PLACEHOLDER

    return VARIABLE_RE.sub(replace, expr)


# --- PromQL: metric names --------------------------------------------------------------

PROMQL_KEYWORDS = frozenset([
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "offset", "atan2", "inf", "nan", "start", "end",
])
GROUPING_KEYWORDS = frozenset(["by", "without", "on", "ignoring", "group_left", "group_right"])
# Series Prometheus makes up itself, always allowed by the metric catalog.
SYNTHETIC_METRICS = frozenset([
    "up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds", "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling", "scrape_series_added",
])
_TOKEN_RE = re.compile(
    r"""(?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)"""
    r"|(?P<comment>\#[^\n]*)"
    r"|(?P<number>[0-9][0-9a-zA-Z_.]*|\.[0-9][0-9a-zA-Z_]*)"
    r"|(?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)"
    r"|(?P<op>=~|!~|!=|==|>=|<=|[-+*/%^=<>(){}\[\],@])"
    r"|(?P<space>\s+)"
    r"|(?P<other>.)",
    re.S,
)


def metric_names(expr):
    """The metric names a PromQL query selects, in order of appearance, without repeats.

    A small lexer, not a parser: identifiers that are not keywords, functions (followed by
    a parenthesis), label names (inside ``{...}`` or a ``by (...)`` list) or durations.
    ``{__name__="x"}`` selectors count as metric x.
    """
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN_RE.finditer(expr)
              if m.lastgroup not in ("space", "comment")]
    names = []
    brace = bracket = 0
    grouping_depth = None
    paren = 0
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        nxt = tokens[i + 1][1] if i + 1 < len(tokens) else None
        if kind == "op":
            if text == "{":
                brace += 1
            elif text == "}":
                brace = max(0, brace - 1)
            elif text == "[":
                bracket += 1
            elif text == "]":
                bracket = max(0, bracket - 1)
            elif text == "(":
                paren += 1
            elif text == ")":
                paren -= 1
                if grouping_depth is not None and paren < grouping_depth:
                    grouping_depth = None
        elif kind == "ident" and brace:
            if text == "__name__" and nxt in ("=",) and i + 2 < len(tokens) and tokens[i + 2][0] == "string":
                name = tokens[i + 2][1][1:-1]
                if name not in names:
                    names.append(name)
        elif kind == "ident" and not bracket and grouping_depth is None:
            lowered = text.lower()
            if lowered in GROUPING_KEYWORDS:
                if nxt == "(":
                    grouping_depth = paren + 1
            elif lowered in PROMQL_KEYWORDS or nxt == "(" or (nxt or "").lower() in ("by", "without"):
                pass  # a keyword, a function, or an aggregation written "sum by (x) (...)"
            elif text not in names:
                names.append(text)
        i += 1
    return names


def _catalog_allows(name, catalog, patterns):
    if name in catalog or name in SYNTHETIC_METRICS or name == PLACEHOLDER:
        return True
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name[: -len(suffix)] in catalog:
            return True
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


# --- external parsers ------------------------------------------------------------------


def find_promtool(promtool=None):
    """Path of the promtool to use: ``promtool`` if given, else the one on PATH, or None."""
    if promtool:
        return promtool
    return shutil.which("promtool")


_PROMTOOL_LINE_RE = re.compile(r'"lint:q(?P<index>\d+)": (?P<message>.*)$')


def parse_promql(queries, promtool):
    """Check PromQL queries with ``promtool check rules``: {index: error message}.

    The queries (already free of Grafana variables) become the recording rules of a
    temporary rules file; promtool parses and type-checks each and reports every rule that
    fails. Raises OSError when promtool cannot be run, RuntimeError when its output cannot
    be understood.
    """
    errors = {}
    if not queries:
        return errors
    rules = [{"record": "lint:q%d" % i, "expr": q} for i, q in enumerate(queries)]
    handle, path = tempfile.mkstemp(prefix="tcc-promql-", suffix=".json")
    try:
        with os.fdopen(handle, "w") as stream:
            # YAML is a superset of JSON: promtool reads this file as a rules file.
            json.dump({"groups": [{"name": "lint", "rules": rules}]}, stream)
        proc = subprocess.run(
            [promtool, "check", "rules", path],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TOOL_TIMEOUT,
            universal_newlines=True, check=False,
        )
    finally:
        os.unlink(path)
    output = (proc.stdout or "") + (proc.stderr or "")
    for line in output.splitlines():
        match = _PROMTOOL_LINE_RE.search(line)
        if match:
            message = match.group("message")
            message = re.sub(r"^could not parse expression: ", "", message)
            errors[int(match.group("index"))] = message
    if proc.returncode != 0 and not errors:
        raise RuntimeError("promtool check rules failed: %s" % output.strip()[-500:])
    return errors


def _logql_command(logql_parser):
    if isinstance(logql_parser, (list, tuple)):
        return list(logql_parser)
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        raise OSError("node is not on PATH")
    return [node, logql_parser]


def parse_logql(queries, logql_parser):
    """Check LogQL queries with Grafana's grammar (tests/lint/logql_parse.mjs): {index: msg}.

    ``logql_parser`` is the path to logql_parse.mjs (run with node from PATH) or a full
    command as a list. Raises OSError when it cannot be run, RuntimeError when it fails.
    """
    errors = {}
    if not queries:
        return errors
    command = _logql_command(logql_parser)
    proc = subprocess.run(
        command, input=json.dumps(list(queries)), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        timeout=TOOL_TIMEOUT, universal_newlines=True, check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError((proc.stderr or proc.stdout or "exit %d" % proc.returncode).strip()[-500:])
    try:
        results = json.loads(proc.stdout)
    except ValueError as exc:
        raise RuntimeError("unexpected output: %s" % proc.stdout[-300:]) from exc
    for entry in results:
        if not entry.get("ok"):
            messages = [e.get("message", "syntax error") for e in entry.get("errors") or []]
            errors[int(entry["index"])] = "; ".join(messages) or "syntax error"
    return errors


# --- the checks ------------------------------------------------------------------------


def _lint_identity(dashboard):
    found = []
    uid = dashboard.get("uid")
    if uid in (None, ""):
        found.append(problem(None, "uid", "the dashboard has no uid: set a stable uid so that it can be "
                                          "found, updated and linked to (at most 40 characters of [a-zA-Z0-9_-])"))
    elif not isinstance(uid, str):
        found.append(problem(None, "uid", "the uid must be a string, not %s" % type(uid).__name__))
    else:
        if len(uid) > UID_MAX_LENGTH:
            found.append(problem(None, "uid", "the uid %r has %d characters; Grafana allows at most %d"
                                              % (uid, len(uid), UID_MAX_LENGTH)))
        if not UID_RE.match(uid):
            found.append(problem(None, "uid", "the uid %r may only contain letters, digits, '-' and '_'" % uid))
    title = dashboard.get("title")
    if not isinstance(title, str) or not title.strip():
        found.append(problem(None, "title", "the dashboard title is missing or empty"))
    return found


def _unit_problem(unit):
    """Why a unit string renders wrong, or None.

    Grafana's ``suffix:X`` unit renders the value, one space, then X (toFixedUnit in
    packages/grafana-data/src/valueFormats/valueFormats.ts returns suffix ``' ' + unit``), so a
    space after the colon shows two.
    """
    if isinstance(unit, str) and unit.startswith("suffix:") and unit[len("suffix:"):][:1].isspace():
        return ("the unit %r renders with two spaces before its text: Grafana already puts one space before a "
                "'suffix:' unit, so write %r" % (unit, "suffix:" + unit[len("suffix:"):].lstrip()))
    return None


def _lint_field_config(dashboard):
    """Keys of fieldConfig that Grafana's schema does not have where they stand (Grafana ignores them)."""
    found = []
    for panel in iter_panels(dashboard):
        if panel.get("type") == "row":
            continue
        field_config = panel.get("fieldConfig")
        if not isinstance(field_config, dict):
            continue
        label = panel_label(panel)
        ptype = panel.get("type")
        defaults = field_config.get("defaults")
        if isinstance(defaults, dict):
            for key in sorted(defaults):
                if key in FIELD_CONFIG_KEYS:
                    continue
                hint = ""
                if key in GRAPH_CUSTOM_KEYS:
                    hint = (": it is a custom option of the graph panels, read only from fieldConfig.defaults.custom.%s"
                            % key)
                found.append(problem(label, "field-config",
                                     "fieldConfig.defaults.%s is not a field-config key of Grafana's dashboard "
                                     "schema, so Grafana ignores it%s" % (key, hint)))
            message = _unit_problem(defaults.get("unit"))
            if message:
                found.append(problem(label, "field-config", "fieldConfig.defaults.unit: " + message))
            custom = defaults.get("custom")
            known_custom = CUSTOM_KEYS_BY_PANEL.get(ptype)
            if isinstance(custom, dict) and known_custom is not None:
                for key in sorted(set(custom) - known_custom):
                    hint = ""
                    if key in FIELD_CONFIG_KEYS:
                        hint = ": it is a field-config key, read from fieldConfig.defaults.%s" % key
                    found.append(problem(label, "field-config",
                                         "fieldConfig.defaults.custom.%s is not a custom option of %s panels%s"
                                         % (key, ptype, hint)))
        for index, override in enumerate(field_config.get("overrides") or []):
            if not isinstance(override, dict):
                continue
            for prop in override.get("properties") or []:
                if not isinstance(prop, dict) or not isinstance(prop.get("id"), str):
                    continue
                pid = prop["id"]
                where = "fieldConfig.overrides[%d] property %r" % (index, pid)
                if pid.startswith("custom."):
                    sub = pid[len("custom."):].split(".")[0]
                    known_custom = CUSTOM_KEYS_BY_PANEL.get(ptype)
                    if known_custom is not None and sub not in known_custom:
                        found.append(problem(label, "field-config", "%s: %r is not a custom option of %s panels"
                                             % (where, sub, ptype)))
                elif pid.split(".")[0] not in FIELD_CONFIG_KEYS:
                    hint = (": a custom option, write it as 'custom.%s'" % pid) if pid in GRAPH_CUSTOM_KEYS else ""
                    found.append(problem(label, "field-config", "%s is not a field-config key of Grafana's dashboard "
                                                                "schema, so Grafana ignores it%s" % (where, hint)))
                if pid == "unit":
                    message = _unit_problem(prop.get("value"))
                    if message:
                        found.append(problem(label, "field-config", "%s: %s" % (where, message)))
    return found


def _lint_panel_ids(dashboard):
    found = []
    seen = {}
    for panel in iter_panels(dashboard):
        pid = panel.get("id")
        if not isinstance(pid, int) or isinstance(pid, bool):
            found.append(problem(panel_label(panel), "panel-id", "the panel has no integer id"))
            continue
        if pid in seen:
            found.append(problem(panel_label(panel), "panel-id",
                                 "id %d is also used by %s; panel ids must be unique" % (pid, seen[pid])))
        else:
            seen[pid] = panel_label(panel)
    return found


def _grid(panel):
    """(x, y, w, h) of a panel, or an error message."""
    pos = panel.get("gridPos")
    if not isinstance(pos, dict):
        return "the panel has no gridPos"
    values = []
    for key in ("x", "y", "w", "h"):
        value = pos.get(key, 0 if key in ("x", "y") else None)
        if not isinstance(value, int) or isinstance(value, bool):
            return "gridPos.%s is missing or not an integer" % key
        values.append(value)
    x, y, w, h = values
    if x < 0 or y < 0:
        return "gridPos has a negative x or y (%d, %d)" % (x, y)
    if w < 1 or h < 1:
        return "gridPos has a width or height below 1 (w=%d, h=%d)" % (w, h)
    if x + w > GRID_COLUMNS:
        return "gridPos x=%d + w=%d reaches column %d, past the %d columns of the grid" % (x, w, x + w, GRID_COLUMNS)
    return x, y, w, h


def _overlaps(group):
    found = []
    for i, (panel_a, (ax, ay, aw, ah)) in enumerate(group):
        for panel_b, (bx, by, bw, bh) in group[i + 1:]:
            if ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah:
                found.append(problem(panel_label(panel_b), "grid-overlap",
                                     "overlaps %s (x=%d y=%d w=%d h=%d against x=%d y=%d w=%d h=%d)"
                                     % (panel_label(panel_a), bx, by, bw, bh, ax, ay, aw, ah)))
    return found


def _lint_layout(dashboard):
    found = []
    if dashboard.get("rows") and not dashboard.get("panels"):
        return [problem(None, "row-structure",
                        "the dashboard uses the legacy 'rows' layout (schemaVersion < 16): open and save it "
                        "in a current Grafana to convert it to 'panels' with gridPos")]
    top = dashboard.get("panels") or []
    if not isinstance(top, list):
        return [problem(None, "invalid-json", "'panels' must be a list")]
    visible = []
    positions = {}
    for panel in top:
        if not isinstance(panel, dict):
            found.append(problem(None, "invalid-json", "'panels' holds a %s, not an object" % type(panel).__name__))
            continue
        grid = _grid(panel)
        if isinstance(grid, str):
            found.append(problem(panel_label(panel), "grid-pos", grid))
        else:
            visible.append((panel, grid))
            positions[id(panel)] = grid
        if panel.get("type") != "row":
            if panel.get("panels"):
                found.append(problem(panel_label(panel), "row-structure",
                                     "only rows may hold panels, but this %s panel has 'panels'" % panel.get("type")))
            continue
        inner = [p for p in panel.get("panels") or [] if isinstance(p, dict)]
        if inner and not panel.get("collapsed"):
            found.append(problem(panel_label(panel), "row-structure",
                                 "the row is expanded but keeps %d panel(s) inside: Grafana shows the panels of an "
                                 "expanded row from the top-level list, so set collapsed: true or move them to the top "
                                 "level right after the row" % len(inner)))
        hidden = []
        for child in inner:
            if child.get("type") == "row":
                found.append(problem(panel_label(child), "row-structure",
                                     "a row inside %s: rows cannot be nested" % panel_label(panel)))
                continue
            grid_child = _grid(child)
            if isinstance(grid_child, str):
                found.append(problem(panel_label(child), "grid-pos", grid_child))
            else:
                hidden.append((child, grid_child))
        found.extend(_overlaps(hidden))
    found.extend(_overlaps(visible))
    found.extend(_lint_row_order(top, positions))
    return found


def _lint_row_order(top, positions):
    """Panels belong to the row above them, in list order as on the grid."""
    found = []
    rows = [p for p in top if isinstance(p, dict) and p.get("type") == "row" and id(p) in positions]
    if not rows:
        return found
    row_ys = sorted((positions[id(r)][1], idx, r) for idx, r in enumerate(rows))
    if [id(r) for _y, _i, r in row_ys] != [id(r) for r in rows]:
        found.append(problem(None, "row-structure",
                             "the rows are not listed in the order they stand on the grid (by gridPos.y)"))
    listed_row = None
    for panel in top:
        if not isinstance(panel, dict):
            continue
        if panel.get("type") == "row":
            listed_row = panel
            continue
        if id(panel) not in positions:
            continue
        y = positions[id(panel)][1]
        placed_row = None
        for row_y, _idx, row in row_ys:
            if row_y <= y:
                placed_row = row
        if listed_row is not None and listed_row.get("collapsed"):
            found.append(problem(panel_label(panel), "row-structure",
                                 "the panel follows the collapsed %s in the list but is not inside it: a collapsed "
                                 "row keeps its panels in its own 'panels'" % panel_label(listed_row)))
        elif placed_row is not listed_row:
            found.append(problem(panel_label(panel), "row-structure",
                                 "the panel is listed under %s but its gridPos.y=%d places it under %s"
                                 % (panel_label(listed_row) if listed_row else "no row",
                                    y, panel_label(placed_row) if placed_row else "no row")))
    return found


def _lint_datasources(dashboard, known):
    found = []
    ds_vars = datasource_variables(dashboard)
    for name, var in sorted(ds_vars.items()):
        if not var.get("query"):
            found.append(problem("variable %s" % name, "datasource",
                                 "the datasource variable has no 'query' (the datasource type it lists)"))
    for where, ref in iter_datasource_refs(dashboard):
        uid, dstype = ref_parts(ref)
        if uid is None:
            continue
        var = variable_reference(uid)
        if var:
            if var not in ds_vars:
                hint = ""
                if var.startswith("DS_"):
                    hint = (" (an 'export for sharing externally' placeholder: replace it by a datasource variable "
                            "or a uid, or import the dashboard through Grafana's import UI)")
                found.append(problem(where, "datasource",
                                     "refers to ${%s}, which is not a datasource variable of this dashboard%s"
                                     % (var, hint)))
            elif dstype and dstype != "datasource" and ds_vars[var].get("query") and dstype != ds_vars[var]["query"]:
                found.append(problem(where, "datasource",
                                     "the reference says type %r but ${%s} lists %r datasources"
                                     % (dstype, var, ds_vars[var]["query"])))
            continue
        if uid in BUILTIN_DATASOURCE_UIDS:
            continue
        if uid not in known:
            found.append(problem(where, "datasource",
                                 "datasource %r is neither a ${variable} of a datasource template variable nor a "
                                 "known uid (known_datasource_uids); prefer a datasource variable" % uid))
        elif dstype and known.get(uid) and dstype != known[uid]:
            found.append(problem(where, "datasource",
                                 "the reference says type %r but datasource %r is of type %r" % (dstype, uid, known[uid])))
    return found


def _query_variables(dashboard, ds_vars, known):
    """(label, type, expr) for query template variables whose query holds PromQL."""
    for var in template_variables(dashboard):
        if var.get("type") != "query":
            continue
        dstype = resolve_datasource_type(var.get("datasource"), ds_vars, known)
        query = var.get("query")
        if isinstance(query, dict):
            query = query.get("query") or query.get("expr")
        if not isinstance(query, str) or not query.strip():
            continue
        label = "variable %s" % var.get("name")
        if dstype == "prometheus":
            match = re.match(r"^\s*(label_values|query_result)\s*\((.*)\)\s*$", query, re.S)
            if match and match.group(1) == "query_result":
                yield label, dstype, match.group(2)
            elif match:
                inner = match.group(2)
                # label_values(selector, label): lint the selector only.
                head, _sep, _label = inner.rpartition(",")
                if head.strip():
                    yield label, dstype, head
            elif not re.match(r"^\s*(metrics|label_names)\s*\(", query):
                yield label, dstype, query
        elif dstype == "loki" and query.lstrip().startswith("{"):
            yield label, dstype, query


def lint_dashboard(dashboard: dict, *, known_datasource_uids=(), metric_catalog=None, promtool=None,
                   logql_parser=None) -> list[dict]:
    """Lint a Grafana dashboard offline; return the list of problems (empty when clean).

    dashboard: the dashboard as a dict, or its JSON text.
    known_datasource_uids: uids that concrete datasource references may use (an iterable,
        or a mapping uid -> plugin type, which also lets type mismatches be found).
    metric_catalog: None to skip the check, else the metric names PromQL queries may use;
        histogram/summary suffixes (_bucket, _sum, _count) of a listed name are allowed,
        entries with * or ? are shell patterns, and Prometheus' own series (up, ALERTS,
        scrape_*) are always allowed.
    promtool: path to promtool; None looks it up on PATH; False skips PromQL parsing.
    logql_parser: path to tests/lint/logql_parse.mjs (run with node) or a command list;
        None skips LogQL parsing.
    Parsers that are absent give one ``lint-skipped`` note each, never an error.
    """
    try:
        dashboard = load_dashboard(dashboard)
        json.dumps(dashboard, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return [problem(None, "invalid-json", str(exc))]
    known = _known_types(known_datasource_uids)
    found = []
    found.extend(_lint_identity(dashboard))
    found.extend(_lint_panel_ids(dashboard))
    found.extend(_lint_layout(dashboard))
    found.extend(_lint_field_config(dashboard))
    found.extend(_lint_datasources(dashboard, known))
    found.extend(_lint_queries(dashboard, known, metric_catalog, promtool, logql_parser))
    return found


def _lint_queries(dashboard, known, metric_catalog, promtool, logql_parser):
    found = []
    ds_vars = datasource_variables(dashboard)
    promql = []
    logql = []
    for panel, dstype, expr in list(iter_queries(dashboard, known)) + list(iter_fleet_forms(dashboard, known)):
        entry = (panel_label(panel), expr, substitute_variables(expr, dashboard))
        if dstype == "prometheus":
            promql.append(entry)
        elif dstype == "loki":
            logql.append(entry)
    for label, dstype, expr in _query_variables(dashboard, ds_vars, known):
        entry = (label, expr, substitute_variables(expr, dashboard))
        (promql if dstype == "prometheus" else logql).append(entry)

    if metric_catalog is not None:
        catalog = set(m for m in metric_catalog if "*" not in m and "?" not in m)
        patterns = [m for m in metric_catalog if "*" in m or "?" in m]
        for label, expr, text in promql:
            for name in metric_names(text):
                if not _catalog_allows(name, catalog, patterns):
                    found.append(problem(label, "metric-catalog",
                                         "metric %r is not in the metric catalog (query: %s)" % (name, shorten(expr))))

    found.extend(_run_parser("promql", promql, promtool, find_promtool, parse_promql,
                             "promtool not found on PATH: set promtool (promtool_path); tests/lint/setup.sh "
                             "installs one"))
    found.extend(_run_parser("logql", logql, logql_parser, lambda value: value, parse_logql,
                             "no LogQL parser configured (logql_parser: the path of tests/lint/logql_parse.mjs, "
                             "with node and @grafana/lezer-logql; tests/lint/setup.sh installs it)"))
    return found


def _run_parser(kind, entries, setting, locate, parse, missing):
    if not entries:
        return []
    language = "PromQL" if kind == "promql" else "LogQL"
    if setting is False:
        return [problem(None, "lint-skipped", "%d %s queries not parsed: parsing disabled" % (len(entries), language))]
    tool = locate(setting)
    if not tool:
        return [problem(None, "lint-skipped", "%d %s queries not parsed: %s" % (len(entries), language, missing))]
    try:
        errors = parse([text for _label, _expr, text in entries], tool)
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        return [problem(None, "lint-skipped", "%d %s queries not parsed: %s could not run: %s"
                        % (len(entries), language, tool if isinstance(tool, str) else " ".join(tool), exc))]
    found = []
    for index, message in sorted(errors.items()):
        label, expr, _text = entries[index]
        found.append(problem(label, kind, "%s (query: %s)" % (message, shorten(expr))))
    return found


def shorten(text, limit=160):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
