"""Building blocks shared by the dashboard generators in this directory.

The dashboards in files/dashboards/ are data; the generators are only how that JSON is written,
and tests/unit/test_dashboards.py keeps every file equal to what its generator writes.

Query rules, for every dashboard:
- Money and token totals are what each series accrued in the window (pricing.accrued: its
  highest value in the window minus its last value before it): every session, and every
  stream the collector starts again, makes new series, and increase() over-counts such
  short-lived series (docs/telemetry.md).
- A fixed 1h or 24h window reads the recording rules of files/rules/claude_code_recording.yml
  (records_for), which the prometheus role deploys; windows that follow the dashboard's time
  range ($__range) cannot, and read the raw series. Set TCC_DASHBOARD_RAW=1 to build every
  query raw (tests/bench/rules-benchmark.sh compares the two).
- Time series of rates add up what accrued in each step (per_interval), never rate().
- Stats end in `or vector(0)` where 0 is a true zero, so it shows 0, not "No data".
- Every panel and target uses the datasource variables ds_prometheus / ds_loki.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "plugins" / "module_utils"))
import pricing  # noqa: E402  pylint: disable=wrong-import-position,import-error

PRICES = yaml.safe_load((ROOT / "files" / "model_prices.yml").read_text(encoding="utf-8"))["claude_code_model_prices"]
RULES = ROOT / "files" / "rules" / "claude_code_recording.yml"
RAW = os.environ.get("TCC_DASHBOARD_RAW") == "1"
# Build the fleet-counter form of each target (tccFleet, see fleet_total); set by write() itself.
FLEET = os.environ.get("TCC_DASHBOARD_FLEET") == "1"

PROM = {"type": "prometheus", "uid": "${ds_prometheus}"}
LOKI = {"type": "loki", "uid": "${ds_loki}"}

COST = "claude_code_cost_usage_USD_total"
TOKENS = "claude_code_token_usage_tokens_total"
LINES = "claude_code_lines_of_code_count_total"
DECISIONS = "claude_code_code_edit_tool_decision_total"
ACTIVE = "claude_code_active_time_seconds_total"
SESSIONS = "claude_code_session_count_total"
# Session starts that are not the agents view (start_type values: fresh, resume, continue, agents_view).
NOT_AGENTS_VIEW = 'start_type!="agents_view"'
COMMITS = "claude_code_commit_count_total"
PULL_REQUESTS = "claude_code_pull_request_count_total"
# The CLI's events (service.name claude-code) and Desktop's (claude-code-desktop).
EVENTS = '{service_name=~"claude-code.*"}'
ACCEPTED = DECISIONS + '{decision="accept"}'
ADDED = LINES + '{type="added"}'
REMOVED = LINES + '{type="removed"}'
CACHE_READ = TOKENS + '{type="cacheRead"}'
PROMPT_TOKENS = TOKENS + '{type=~"input|cacheRead|cacheCreation"}'

FIXED_24H = " Fixed window: the last 24 hours, whatever the dashboard's time range."

acc = pricing.accrued
# For sums only: reads a long window once instead of twice (pricing.accrued_terms).
summed = pricing.summable_accrued


# ------------------------------------------------------------------------ recording rules

def _recorded():
    """{(metric, window): (record name, labels it keeps)} and {window: session count record}."""
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    accruals, counts = {}, {}
    for group in doc["groups"]:
        for rule in group["rules"]:
            name = rule.get("record", "")
            match = re.fullmatch(r"claude_code:([A-Za-z_]+):accrued(\w+)", name)
            if match:
                by = re.search(r"sum by \(([^)]*)\)", rule["expr"])
                kept = {x.strip() for x in by.group(1).split(",")} if by else set()
                accruals[("claude_code_" + match.group(1) + "_total", match.group(2))] = (name, kept)
            match = re.fullmatch(r"claude_code:sessions_active:count(\w+)", name)
            if match:
                counts[match.group(1)] = name
    return accruals, counts


ACCRUAL_RECORDS, SESSION_RECORDS = _recorded()


def record_for(selector: str, window: str, by: str = ""):
    """The record that holds sum by (by) of what `selector` accrued in `window`, or None."""
    if RAW:
        return None
    match = re.fullmatch(r"([A-Za-z_:]+)(\{(.*)\})?", selector)
    metric, labels = match.group(1), match.group(3) or ""
    found = ACCRUAL_RECORDS.get((metric, window))
    if not found:
        return None
    name, kept = found
    used = set(re.findall(r"([a-zA-Z_]+)\s*(?:=~|!~|!=|=)", labels))
    grouped = {x.strip() for x in by.split(",") if x.strip()}
    if not (used | grouped) <= kept:
        return None
    return name + (match.group(2) or "")


def fleet_total(selector: str, by: str = "", window: str = "$__range", offset: str = "", new_groups: bool = True):
    """What `selector` accrued over the dashboard's range as two reads of its fleet counter, or None.

    The fleet counters (files/rules/claude_code_fleet.yml, prometheus_fleet_counters) hold the
    totals as of their settling delay L before each evaluation: C - C offset $__range is what
    accrued in the range ending L ago, whatever the number of sessions. A read in the past takes
    the counter's last value in the hour before (LOOKBACK), so that an instant when Prometheus was
    down reads the value before the outage rather than nothing. With `new_groups`, a group the
    counter did not have then counts whole (it started in the window).
    """
    match = re.fullmatch(r"([A-Za-z_:]+)(\{(.*)\})?", selector)
    metric, labels = match.group(1), match.group(3) or ""
    for counted, record, kept in pricing.FLEET_COUNTERS:
        if counted != metric:
            continue
        used = set(re.findall(r"([a-zA-Z_]+)\s*(?:=~|!~|!=|=)", labels))
        grouped = {x.strip() for x in by.split(",") if x.strip()}
        if not (used | grouped) <= set(kept):
            return None
        sel = record + (match.group(2) or "")
        grouping = f"sum by ({by})" if by else "sum"
        end = f"last_over_time({sel}[{pricing.LOOKBACK}] offset {offset})" if offset else sel
        start = f"last_over_time({sel}[{pricing.LOOKBACK}]{pricing.window_start(window, offset)})"
        if not new_groups:
            return f"({grouping}({end}) - {grouping}({start}))"
        return f"({grouping}({end}) - ({grouping}({start}) or {grouping}({end}) * 0))"
    return None


def total(selector: str, window: str = "$__range", by: str = "", offset: str = "") -> str:
    """sum [by (...)] of what the selected counters accrued in the window (a record when one holds it).

    In the fleet build (FLEET), a total over the dashboard's range, or over a fixed window no
    record holds, reads the fleet counter."""
    grouping = f" by ({by})" if by else ""
    recorded = None if offset else record_for(selector, window, by)
    if FLEET and not recorded:
        counted = fleet_total(selector, by, window, offset)
        if counted:
            return counted
    if recorded:
        return f"sum{grouping}({recorded})"
    return f"sum{grouping}({summed(selector, window, offset)})"


def per_interval(selector: str, by: str, per_seconds: int) -> str:
    """A rate for a time series panel: what the counters accrued in each step, per `per_seconds`.

    Not rate(): a pushed series has a sample only when Claude Code exported something, often
    one or two per short session, and rate() needs two samples in its window and extrapolates.
    What accrued in each step ($__interval) divided by the step is exact. Panels using it set a
    minimum interval of 1m.
    """
    if FLEET:
        # the fleet counter's growth over each step (two reads of it a step; no point where the
        # step's start has no value, rather than the whole counter at once)
        counted = fleet_total(selector, by, "$__interval", new_groups=False)
        if counted:
            return f"{counted} * {per_seconds * 1000} / $__interval_ms"
    return f"sum by ({by}) ({acc(selector, '$__interval')}) * {per_seconds * 1000} / $__interval_ms"


def sessions(window: str = "$__range") -> str:
    """Distinct sessions with any cost or a session start inside the window.

    A start with start_type="agents_view" (2.1.332: `claude agents` opened its view) is not a
    coding session: the agents it runs report their own session ids.
    """
    if not RAW and window in SESSION_RECORDS:
        return f"sum({SESSION_RECORDS[window]})"
    if FLEET and window == "$__range":
        # the sessions' fleet counters (pricing.fleet_sessions): episodes started by the range's
        # end and not ended by its start, the ended count read an hour later, when it knows
        ended = f"last_over_time({pricing.FLEET_SESSIONS_ENDED}[1h] @ ${{__from:date:seconds}} offset -1h)"
        return f"(sum({pricing.FLEET_SESSIONS_STARTED}) - (sum({ended}) or vector(0)))"
    return (f"count(count by (session_id) (count_over_time({COST}[{window}]) "
            f"or count_over_time({SESSIONS}{{{NOT_AGENTS_VIEW}}}[{window}])))")


def price_marker(token_type: str, window: str) -> dict:
    """tccPrice marker of a priced target (pricing.apply_prices renders its expr)."""
    marker = {"tokenType": token_type, "window": window}
    recorded = record_for(TOKENS, window, "model, type")
    if recorded:
        marker["record"] = recorded
    return marker


def unpriced_target(window: str, ref: str = "B") -> dict:
    """A target with the tokens of models the price list does not know (pricing.unpriced_expr renders it)."""
    marker = {"window": window}
    recorded = record_for(TOKENS, window, "model")
    if recorded:
        marker["record"] = recorded
    return target("", ref, "Unpriced model tokens", instant=True, tccUnpriced=marker)


def unpriced_override(ref: str = "B") -> dict:
    """Field override of an unpriced-tokens target: a token count, 'all models priced' when 0."""
    return by_ref(ref, unit="short", decimals=0,
                  mappings=[{"type": "value", "options": {"0": {"text": "all models priced", "color": "green"}}}],
                  color={"mode": "fixed", "fixedColor": "orange"})


def loki_count(event: str, window: str, by: str = "", extra: str = "") -> str:
    grouping = f" by ({by})" if by else ""
    return f'sum{grouping}(count_over_time({EVENTS} | event_name="{event}"{extra} [{window}]))'


# ------------------------------------------------------------------------ field config

def thresholds(*steps, base="green"):
    out = [{"color": base, "value": None}]
    for color, value in steps:
        out.append({"color": color, "value": value})
    return {"mode": "absolute", "steps": out}


def field(unit, decimals=None, steps=(), no_value="0", **extra):
    defaults = {"unit": unit, "thresholds": thresholds(*steps), "noValue": no_value, "color": {"mode": "thresholds"}}
    if decimals is not None:
        defaults["decimals"] = decimals
    defaults.update(extra)
    return {"defaults": defaults, "overrides": []}


def ts_field(unit, decimals=2, draw="line", stack=False, **extra):
    custom = {"drawStyle": draw, "lineWidth": 2, "fillOpacity": 15 if draw == "line" else 80, "showPoints": "never",
              "spanNulls": False, "stacking": {"mode": "normal" if stack else "none", "group": "A"}}
    return {"defaults": {"unit": unit, "decimals": decimals, "custom": custom, "color": {"mode": "palette-classic"},
                         "thresholds": thresholds(), **extra}, "overrides": []}


def with_overrides(config: dict, *overrides) -> dict:
    """A field config with these overrides added."""
    config["overrides"] = list(config.get("overrides", [])) + list(overrides)
    return config


def by_ref(ref, **properties):
    """A field override for the frames of one query (refId)."""
    return {"matcher": {"id": "byFrameRefID", "options": ref},
            "properties": [{"id": key, "value": value} for key, value in properties.items()]}


def by_name(name, **properties):
    return {"matcher": {"id": "byName", "options": name},
            "properties": [{"id": key, "value": value} for key, value in properties.items()]}


# ------------------------------------------------------------------------ targets and options

def target(expr, ref="A", legend="", instant=False, ds=None, interval=None, **extra):
    t = {"refId": ref, "datasource": ds or PROM, "expr": expr, "legendFormat": legend or "__auto"}
    if ds is LOKI:
        t["queryType"] = "instant" if instant else "range"
    else:
        t["instant"] = instant
        t["range"] = not instant
    if interval:
        t["interval"] = interval
    t.update(extra)
    return t


def table_target(expr, ref="A", ds=None):
    """An instant query whose result is shown as a table (one row per series)."""
    return target(expr, ref, instant=True, ds=ds, format="table")


def stat_options(text_mode="value_and_name", graph="none"):
    return {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "colorMode": "value", "graphMode": graph, "justifyMode": "auto", "textMode": text_mode,
        "orientation": "auto", "wideLayout": True, "showPercentChange": False,
    }


def timeseries_options(legend_calcs=(), display="list", placement="bottom"):
    return {
        "legend": {"showLegend": True, "displayMode": display, "placement": placement, "calcs": list(legend_calcs)},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }


def pie_options():
    return {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "pieType": "donut", "legend": {"showLegend": True, "displayMode": "table", "placement": "right",
                                           "values": ["value", "percent"]},
            "tooltip": {"mode": "single"}}


def bargauge_options():
    return {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "orientation": "horizontal", "displayMode": "gradient", "showUnfilled": True, "valueMode": "color",
            "namePlacement": "auto", "sizing": "auto", "minVizHeight": 16, "minVizWidth": 8, "maxVizHeight": 300}


def barchart_options():
    return {"orientation": "auto", "showValue": "auto", "stacking": "none", "groupWidth": 0.7, "barWidth": 0.9,
            "xTickLabelRotation": 0, "legend": {"showLegend": False, "displayMode": "list", "placement": "bottom", "calcs": []},
            "tooltip": {"mode": "single"}}


def table_options(sort_by=None):
    options = {"showHeader": True, "cellHeight": "sm", "footer": {"show": False, "reducer": ["sum"], "fields": ""}}
    if sort_by:
        options["sortBy"] = [{"displayName": sort_by, "desc": True}]
    return options


SERIES_TO_ROWS = [{"id": "reduce", "options": {"mode": "seriesToRows", "reducers": ["lastNotNull"], "includeTimeField": False}}]


def merge_table(rename=None, hide=("Time",)):
    """Transformations that join instant table queries on their labels into one table."""
    organize = {"excludeByName": {name: True for name in hide}, "renameByName": dict(rename or {}),
                "indexByName": {}}
    return [{"id": "merge", "options": {}}, {"id": "organize", "options": organize}]


# ------------------------------------------------------------------------ layout

class Layout:
    """Panels laid out in rows, left to right, with ids and grid positions."""

    def __init__(self):
        self.panels = []
        self.y = 0
        self.next_id = 1

    def row(self, title):
        self.panels.append({"id": self.next_id, "type": "row", "title": title, "collapsed": False, "panels": [],
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}})
        self.next_id += 1
        self.y += 1

    def add(self, height, specs):
        """specs: list of (width, panel dict without id/gridPos). Returns the panels added."""
        x = 0
        added = []
        for width, panel in specs:
            panel = dict(panel)
            panel["id"] = self.next_id
            self.next_id += 1
            panel["gridPos"] = {"h": height, "w": width, "x": x, "y": self.y}
            panel.setdefault("datasource", PROM)
            self.panels.append(panel)
            added.append(panel)
            x += width
        assert x <= 24, f"row too wide: {x}"
        self.y += height
        return added


def datasource_variables():
    return [
        {"name": "ds_prometheus", "label": "Prometheus", "type": "datasource", "query": "prometheus",
         "current": {}, "hide": 0, "includeAll": False, "multi": False, "options": [], "refresh": 1, "regex": "",
         "skipUrlSync": False},
        {"name": "ds_loki", "label": "Loki", "type": "datasource", "query": "loki",
         "current": {}, "hide": 0, "includeAll": False, "multi": False, "options": [], "refresh": 1, "regex": "",
         "skipUrlSync": False},
    ]


def dashboard(uid, title, description, panels, *, variables=(), time_from="now-24h", refresh="1m", links=()):
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["claude-code", "telemetry.claude_code"],
        "timezone": "browser",
        "editable": False,
        "graphTooltip": 1,
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "refresh": refresh,
        "schemaVersion": 39,
        "version": 1,
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "weekStart": "",
        "links": list(links),
        "annotations": {"list": [{"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                                  "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
                                  "name": "Annotations & Alerts", "type": "dashboard"}]},
        "templating": {"list": datasource_variables() + list(variables)},
        "panels": panels,
    }


def dashboard_links():
    """Links between the collection's dashboards (by tag), kept on every one of them."""
    return [{"title": "Claude Code dashboards", "type": "dashboards", "tags": ["telemetry.claude_code"],
             "asDropdown": True, "includeVars": False, "keepTime": True, "icon": "external link",
             "targetBlank": False, "tooltip": "", "url": ""}]


def render(board: dict) -> dict:
    """The dashboard as it is written to files/dashboards/: priced targets filled in."""
    return pricing.apply_prices(board, PRICES)


FLEET_NOTE = ("\n\nWith the fleet counters (prometheus_fleet_counters and grafana_dashboards_fleet_counters) "
              "these totals read them instead of every session's series, and end the counters' settling delay "
              "(2 minutes by default) ago.")
FLEET_SESSIONS_NOTE = (" The sessions are then counted as episodes: a session idle for an hour or more within the "
                       "range counts once per episode, and a range under an hour counts the sessions of the last hour.")


def with_fleet(board: dict, fleet_board: dict) -> dict:
    """The board with a tccFleet marker on every target whose fleet build differs: the expression
    the grafana role provisions instead when grafana_dashboards_fleet_counters is on
    (pricing.use_fleet_counters), and a note in the description of every panel that has one."""
    def walk(panels, fleet_panels):
        for panel, fleet_panel in zip(panels, fleet_panels):
            marked = False
            for item, fleet_item in zip(panel.get("targets", []), fleet_panel.get("targets", [])):
                if item.get("expr") != fleet_item.get("expr"):
                    item[pricing.FLEET_TARGET_MARKER] = fleet_item["expr"]
                    marked = True
            if marked and panel.get("description"):
                panel["description"] += FLEET_NOTE
                if any(pricing.FLEET_SESSIONS_STARTED in item.get(pricing.FLEET_TARGET_MARKER, "")
                       for item in panel.get("targets", [])):
                    panel["description"] += FLEET_SESSIONS_NOTE
            walk(panel.get("panels", []), fleet_panel.get("panels", []))

    walk(board.get("panels", []), fleet_board.get("panels", []))
    return board


def write(board: dict, name: str) -> pathlib.Path:
    """Write the dashboard to files/dashboards/ (in the fleet build, print it for the parent build)."""
    if FLEET:
        print(json.dumps(board))
        return None
    generator = pathlib.Path(sys.modules["__main__"].__file__).resolve()
    fleet_board = json.loads(subprocess.run([sys.executable, str(generator)], check=True, capture_output=True, text=True,
                                            env=dict(os.environ, TCC_DASHBOARD_FLEET="1")).stdout)
    board = with_fleet(board, fleet_board)
    out = ROOT / "files" / "dashboards" / name
    rendered = render(board)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rendered, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    non_rows = [p for p in rendered["panels"] if p["type"] != "row"]
    rows = [p for p in rendered["panels"] if p["type"] == "row"]
    print(f"wrote {out.relative_to(ROOT)}: {len(non_rows)} panels in {len(rows)} rows")
    return out


# ------------------------------------------------------------------------ people and calendars

PEOPLE = "claude_code:people:info"


def with_people(expr: str) -> str:
    """`expr` (by user_id) with a `member` label: the display name prometheus_people gives the user id
    (claude_code:people:info, joined at display time), else the user id itself."""
    named = f'label_replace({expr} * on (user_id) group_left (display_name) {PEOPLE}, "member", "$1", "display_name", "(.+)")'
    return f'{named} or on (user_id) label_replace({expr}, "member", "$1", "user_id", "(.+)")'


def not_reported(expr: str, label: str, text: str = "not reported") -> str:
    """`expr` with an empty `label` shown as `text` (a label only some clients send)."""
    return f'label_replace({expr}, "{label}", "{text}", "{label}", "")'


def count_sessions(by: str, selectors=(COST, SESSIONS), window: str = "$__range") -> str:
    """Distinct sessions in the window, by `by`, from any of the selected series."""
    inner = " or ".join(f"count_over_time({s}[{window}])" for s in selectors)
    return f"count by ({by}) (count by ({by}, session_id) ({inner}))"
