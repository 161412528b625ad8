"""Generate files/dashboards/claude-code.json, the 26-panel main dashboard (7 rows).

The dashboard is data: this script is only how the JSON was written, and a unit test keeps the
two in sync (tests/unit/test_dashboards.py). Run it after changing a panel:

    python3 tests/dashboards/generate_main.py

Every metric, label and Loki field used here is in docs/telemetry.md (measured). The query
rules shared by all dashboards are in common.py. Panels whose title names a window (24h,
Today, Weekly) pin it with timeFrom and say so in their description; every other panel
follows the dashboard's time range.
"""


from __future__ import annotations

from common import (  # pylint: disable=import-error
    per_interval,
    ACCEPTED, ACTIVE, ADDED, CACHE_READ, COST, DECISIONS, FIXED_24H, LINES, LOKI, PROMPT_TOKENS, REMOVED,
    SERIES_TO_ROWS, TOKENS, Layout, bargauge_options, barchart_options, dashboard as make_dashboard, dashboard_links, field,
    loki_count, pie_options, price_marker, sessions, stat_options, target, thresholds, timeseries_options, total,
    ts_field, unpriced_override, unpriced_target, with_overrides, write,
)

layout = Layout()
panels = layout.panels
row = layout.row
add_row_panels = layout.add


def priced(lead):
    return {"lead": lead}


row("Cost Overview")
add_row_panels(7, [
    (8, {"type": "timeseries", "title": "Real-Time Cost Burn Rate",
         "description": "What Claude Code is spending per hour, by model, from its own cost metric.",
         "targets": [target(per_interval(COST, "model", 3600), legend="{{model}}", interval="1m")],
         "fieldConfig": ts_field("currencyUSD", 2, displayName="${__field.labels.model} $/h"),
         "options": timeseries_options(["mean", "max"])}),
    (4, {"type": "stat", "title": "Total Cost Today",
         "description": "Claude Code's own cost since midnight (dashboard time zone). Fixed window: today.",
         "timeFrom": "now/d", "hideTimeOverride": False,
         "targets": [target(f"{total(COST)} or vector(0)", instant=True, legend="Today")],
         "fieldConfig": field("currencyUSD", 2, [("yellow", 50), ("red", 200)]), "options": stat_options("value")}),
    (4, {"type": "stat", "title": "Cached Write Cost 24h",
         "tccPriced": priced("Cache-write (cacheCreation) tokens of the last 24 hours times each model's cache-write price."
                             + FIXED_24H),
         "timeFrom": "24h",
         "targets": [target("", instant=True, legend="Cache writes", tccPrice=price_marker("cacheCreation", "24h")),
                     unpriced_target("24h")],
         "fieldConfig": with_overrides(field("currencyUSD", 2, [("yellow", 25), ("red", 100)]), unpriced_override()),
         "options": stat_options()}),
    (4, {"type": "stat", "title": "Regular Input Cost 24h",
         "tccPriced": priced("Plain input tokens (not cache reads or writes) of the last 24 hours times each model's input "
                             "price." + FIXED_24H),
         "timeFrom": "24h",
         "targets": [target("", instant=True, legend="Input", tccPrice=price_marker("input", "24h")),
                     unpriced_target("24h")],
         "fieldConfig": with_overrides(field("currencyUSD", 2, [("yellow", 25), ("red", 100)]), unpriced_override()),
         "options": stat_options()}),
    (4, {"type": "stat", "title": "Code Edit Acceptance Rate %",
         "description": "Accepted Write/Edit tool uses as a share of all edit decisions in the time range. "
                        "Shows 'no edits' when there was no decision to rate.",
         "targets": [target(f"100 * {total(ACCEPTED)} / ({total(DECISIONS)} > 0)", instant=True,
                            legend="Accepted")],
         "fieldConfig": field("percent", 1, [("orange", None), ("yellow", 50), ("green", 80)], no_value="no edits", min=0,
                              max=100),
         "options": stat_options("value")}),
])
# thresholds for the acceptance rate go red -> green upwards
panels[-1]["fieldConfig"]["defaults"]["thresholds"] = {"mode": "absolute", "steps": [
    {"color": "red", "value": None}, {"color": "yellow", "value": 50}, {"color": "green", "value": 80}]}

# ---------------------------------------------------------------- 2. Cost Analytics
row("Cost Analytics")
add_row_panels(7, [
    (5, {"type": "stat", "title": "Cost Forecast",
         "description": "Daily: Claude Code's cost in the time range, scaled to 24 hours (the run rate of the range). "
                        "Monthly: that times 30. Pick a range of a day or more for a stable forecast.",
         "targets": [target(f"({total(COST)} or vector(0)) * 86400 / $__range_s", "A", "Daily", instant=True),
                     target(f"30 * ({total(COST)} or vector(0)) * 86400 / $__range_s", "B", "Monthly (x30)",
                            instant=True)],
         "fieldConfig": field("currencyUSD", 2, [("yellow", 100), ("red", 1000)]), "options": stat_options()}),
    (4, {"type": "stat", "title": "Average Cost / Session",
         "description": "Cost in the time range divided by the sessions that were active in it.",
         "targets": [target(f"({total(COST)} / {sessions()}) or vector(0)", instant=True, legend="Per session")],
         "fieldConfig": field("currencyUSD", 3, [("yellow", 5), ("red", 20)]), "options": stat_options("value")}),
    (4, {"type": "stat", "title": "Cost per 1K Tokens",
         "description": "Claude Code's cost in the time range per 1,000 tokens of all kinds (input, output, cache "
                        "reads and writes).",
         "targets": [target(f"(1000 * {total(COST)} / ({total(TOKENS)} > 0)) or vector(0)", instant=True, legend="Per 1K tokens")],
         "fieldConfig": field("currencyUSD", 4, [("yellow", 0.01), ("red", 0.05)]), "options": stat_options("value")}),
    (4, {"type": "stat", "title": "Active Time 24h",
         "description": "Minutes Claude Code was actively working (type cli) or the user was interacting (type user) in "
                        "the last 24 hours." + FIXED_24H,
         "timeFrom": "24h",
         "targets": [target(f"({total(ACTIVE, '24h')} / 60) or vector(0)", instant=True, legend="Active")],
         "fieldConfig": field("m", 1), "options": stat_options("value")}),
    (7, {"type": "piechart", "title": "Token Distribution by Model 24h",
         "description": "All tokens (input, output, cache reads and writes) of the last 24 hours, by model." + FIXED_24H,
         "timeFrom": "24h",
         "targets": [target(total(TOKENS, "24h", "model"), instant=True, legend="{{model}}")],
         "fieldConfig": field("short", 0, no_value="no tokens"), "options": pie_options()}),
])

# ---------------------------------------------------------------- 3. Session & Code Metrics
row("Session & Code Metrics")
add_row_panels(7, [
    (6, {"type": "stat", "title": "Active Sessions 24h",
         "description": "Distinct sessions (session_id) that started or spent money in the last 24 hours." + FIXED_24H,
         "timeFrom": "24h",
         "targets": [target(f"{sessions('24h')} or vector(0)", instant=True, legend="Sessions")],
         "fieldConfig": field("short", 0), "options": stat_options("value")}),
    (9, {"type": "bargauge", "title": "Average Session Metrics",
         "description": "Per session active in the time range: average cost, tokens and active minutes.",
         "targets": [
             target(f"({total(COST)} / {sessions()}) or vector(0)", "A", "Cost", instant=True),
             target(f"({total(TOKENS)} / {sessions()}) or vector(0)", "B", "Tokens", instant=True),
             target(f"({total(ACTIVE)} / 60 / {sessions()}) or vector(0)", "C", "Active minutes", instant=True),
         ],
         "fieldConfig": {"defaults": {"unit": "short", "decimals": 1, "thresholds": thresholds(), "noValue": "0",
                                      "color": {"mode": "continuous-BlPu"}},
                         "overrides": [
                             {"matcher": {"id": "byFrameRefID", "options": "A"},
                              "properties": [{"id": "unit", "value": "currencyUSD"}, {"id": "decimals", "value": 3}]},
                             {"matcher": {"id": "byFrameRefID", "options": "B"},
                              "properties": [{"id": "unit", "value": "short"}, {"id": "decimals", "value": 0}]},
                             {"matcher": {"id": "byFrameRefID", "options": "C"},
                              "properties": [{"id": "unit", "value": "m"}, {"id": "decimals", "value": 1}]}]},
         "options": bargauge_options()}),
    (9, {"type": "bargauge", "title": "Lines of Code Modified",
         "description": "Lines added and removed by Claude Code's edits in the time range.",
         "targets": [target(f"{total(ADDED)} or vector(0)", "A", "Added", instant=True),
                     target(f"{total(REMOVED)} or vector(0)", "B", "Removed", instant=True)],
         "fieldConfig": field("short", 0), "options": bargauge_options()}),
])

# ---------------------------------------------------------------- 4. Token Analytics
row("Token Analytics")
cache_rate = f"100 * {total(CACHE_READ)} / ({total(PROMPT_TOKENS)} > 0)"
add_row_panels(7, [
    (6, {"type": "gauge", "title": "Cache Hit Rate %",
         "description": "Share of prompt tokens served from the prompt cache (cacheRead) among all prompt tokens "
                        "(input + cacheRead + cacheCreation) in the time range. Higher is cheaper.",
         "targets": [target(cache_rate, instant=True, legend="Cache hit rate")],
         "fieldConfig": field("percent", 1, [("yellow", 40), ("green", 70)], no_value="no tokens", min=0, max=100),
         "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                     "showThresholdLabels": False, "showThresholdMarkers": True, "orientation": "auto"}}),
    (9, {"type": "stat", "title": "Total Tokens Today",
         "description": "All tokens since midnight, and the same hours seven days ago for comparison. Fixed window: "
                        "today.",
         "timeFrom": "now/d",
         "targets": [target(f"{total(TOKENS)} or vector(0)", "A", "Today", instant=True),
                     target(f"{total(TOKENS, offset='7d')} or vector(0)", "B", "Same time 7 days ago",
                            instant=True)],
         "fieldConfig": field("short", 0), "options": stat_options()}),
    (9, {"type": "bargauge", "title": "Model Token Efficiency",
         "description": "Tokens per dollar of Claude Code's cost, by model, in the time range.",
         "targets": [target(f"{total(TOKENS, by='model')} / ({total(COST, by='model')} > 0)", instant=True,
                            legend="{{model}}")],
         "fieldConfig": field("short", 0, no_value="no cost", displayName="${__field.labels.model}"),
         "options": bargauge_options()}),
])
# Grafana's custom unit "suffix:X" already puts one space before X (toFixedUnit in
# packages/grafana-data/src/valueFormats/valueFormats.ts): no space after the colon.
panels[-1]["fieldConfig"]["defaults"]["unit"] = "suffix:tokens/$"

# ---------------------------------------------------------------- 5. Tool & Activity
row("Tool & Activity")
add_row_panels(8, [
    (8, {"type": "barchart", "title": "Tool Usage Breakdown", "datasource": LOKI,
         "description": "Tool runs (tool_result events) in the time range, by tool. From Loki.",
         "targets": [target(loki_count("tool_result", "$__range", "tool_name"), ds=LOKI, instant=True,
                            legend="{{tool_name}}")],
         "transformations": SERIES_TO_ROWS,
         "fieldConfig": field("short", 0, no_value="0"), "options": barchart_options()}),
    (8, {"type": "timeseries", "title": "Peak Cost Hours",
         "description": "Claude Code's cost per clock hour, to see when the team spends most.",
         "interval": "1h",
         "targets": [target(f"{total(COST, '1h')}", legend="Cost per hour", interval="1h")],
         "fieldConfig": ts_field("currencyUSD", 2, draw="bars"), "options": timeseries_options(["max", "sum"])}),
    (8, {"type": "stat", "title": "Weekly Total Token Usage",
         "description": "All tokens of the last 7 days, and of the 7 days before, week over week. Fixed windows: "
                        "7 days.",
         "timeFrom": "7d",
         "targets": [target(f"{total(TOKENS, '7d')} or vector(0)", "A", "This week", instant=True),
                     target(f"{total(TOKENS, '7d', offset='7d')} or vector(0)", "B", "Previous week", instant=True)],
         "fieldConfig": field("short", 0), "options": stat_options()}),
])

# ---------------------------------------------------------------- 6. Anomaly & Patterns
row("Anomaly & Patterns")
add_row_panels(8, [
    (10, {"type": "timeseries", "title": "Cost Anomaly Detection",
          "description": "Cost of the last hour as a percentage of the hourly average of the last 24 hours. 100% is a "
                         "normal hour; above 200% is unusual.",
          "targets": [target(f"100 * {total(COST, '1h')} / ({total(COST, '24h')} / 24 > 0)", legend="% of 24h average")],
          "fieldConfig": ts_field("percent", 0),
          "options": timeseries_options(["max", "last"])}),
    (7, {"type": "timeseries", "title": "Prompts Per Hour", "datasource": LOKI,
         "description": "User prompts (user_prompt events) per hour. From Loki.",
         "interval": "1h",
         "targets": [target(loki_count("user_prompt", "1h"), ds=LOKI, legend="Prompts", interval="1h")],
         "fieldConfig": ts_field("short", 0, draw="bars"), "options": timeseries_options(["sum", "max"])}),
    (7, {"type": "piechart", "title": "Tool Decision Sources 24h", "datasource": LOKI,
         "description": "Where tool permission decisions came from (tool_decision events by source: config, user, "
                        "hook, ...) in the last 24 hours. From Loki." + FIXED_24H,
         "timeFrom": "24h",
         "targets": [target(loki_count("tool_decision", "24h", "source"), ds=LOKI, instant=True, legend="{{source}}")],
         "fieldConfig": field("short", 0, no_value="no decisions"), "options": pie_options()}),
])
panels[-3]["fieldConfig"]["defaults"]["thresholds"] = thresholds(("yellow", 150), ("red", 200))
# A timeseries draws thresholds only from its custom field config (GraphFieldConfig.thresholdsStyle).
panels[-3]["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"] = {"mode": "line"}

# ---------------------------------------------------------------- 7. Velocity & Distribution
row("Velocity & Distribution")
# Typed prompts only: the <task-notification> turns of background subagents (715-785 characters)
# are left out when the collector could mark them (tcc_prompt_kind, docs/telemetry.md).
TYPED = ' | tcc_prompt_kind!="task_notification"'
buckets = [("1-50", TYPED + " | prompt_length <= 50"), ("51-200", TYPED + " | prompt_length > 50 | prompt_length <= 200"),
           ("201-1000", TYPED + " | prompt_length > 200 | prompt_length <= 1000"),
           ("1001-5000", TYPED + " | prompt_length > 1000 | prompt_length <= 5000"),
           (">5000", TYPED + " | prompt_length > 5000")]
add_row_panels(8, [
    (6, {"type": "timeseries", "title": "Code Modification Velocity",
         "description": "Lines added and removed per minute.",
         "targets": [target(per_interval(LINES, "type", 60), legend="{{type}}", interval="1m")],
         "fieldConfig": ts_field("short", 1, displayName="${__field.labels.type} lines/min"),
         "options": timeseries_options(["mean", "max"])}),
    (6, {"type": "timeseries", "title": "Token Usage Rate",
         "description": "Tokens per minute by type.",
         "targets": [target(per_interval(TOKENS, "type", 60), legend="{{type}}", interval="1m")],
         "fieldConfig": ts_field("short", 0, displayName="${__field.labels.type} tokens/min"),
         "options": timeseries_options(["mean", "max", "last"], display="table")}),
    (6, {"type": "barchart", "title": "Prompt Length Distribution", "datasource": LOKI,
         "description": "Prompts the developers typed in the time range by length in characters (prompt_length of "
                        "user_prompt events), without the turns Claude Code starts itself for a background subagent "
                        "when the collector could mark them. From Loki.",
         "targets": [target(loki_count("user_prompt", "$__range", extra=extra), chr(ord("A") + i), name, ds=LOKI,
                            instant=True) for i, (name, extra) in enumerate(buckets)],
         "transformations": SERIES_TO_ROWS,
         "fieldConfig": field("short", 0, no_value="0"), "options": barchart_options()}),
    (6, {"type": "piechart", "title": "Tool Usage Breakdown", "datasource": LOKI,
         "description": "Share of tool runs (tool_result events) by tool in the time range. From Loki.",
         "targets": [target(loki_count("tool_result", "$__range", "tool_name"), ds=LOKI, instant=True,
                            legend="{{tool_name}}")],
         "fieldConfig": field("short", 0, no_value="no tool runs"), "options": pie_options()}),
])

dashboard = make_dashboard(
    "claude-code", "Claude Code",
    "Cost, tokens, sessions, code and tool activity of Claude Code, from its OpenTelemetry metrics "
    "(Prometheus) and events (Loki). Built on the series measured in docs/telemetry.md.",
    panels, links=dashboard_links())


def main() -> None:
    write(dashboard, "claude-code.json")


if __name__ == "__main__":
    main()
