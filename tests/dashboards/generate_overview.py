"""Generate files/dashboards/claude-code-overview.json: the management overview.

Totals, cost and tokens over time, productivity, detail tables, team comparison, weekly and
monthly totals, cost per line, and the pricing reference. Run after changing a panel:

    python3 tests/dashboards/generate_overview.py

Every metric and label is in docs/telemetry.md (measured); the query rules are in common.py.
Panels whose title names a window (Week, Month) pin it with timeFrom and say so; every other
panel follows the dashboard's time range.
"""

from __future__ import annotations

from common import (  # pylint: disable=import-error
    per_interval,
    ACCEPTED, ACTIVE, ADDED, COMMITS, COST, DECISIONS, LINES, PULL_REQUESTS, REMOVED, TOKENS, Layout,
    summed, bargauge_options, barchart_options, by_name, dashboard, dashboard_links, field, merge_table, pie_options,
    sessions, stat_options, table_options, table_target, target, thresholds, timeseries_options, total, ts_field,
    write,
)

layout = Layout()
TEAM_COST = COST + '{team!=""}'
TEAM_TOKENS = TOKENS + '{team!=""}'
NO_TEAM = "no team label"
TEAM_HINT = (" Teams come from the `team` resource attribute: set it on developers' machines with "
             "claude_code_client_resource_attributes (OTEL_RESOURCE_ATTRIBUTES); Claude Code puts it on every series.")


def stat(title, description, expr, unit, decimals, steps=(), legend=""):
    return {"type": "stat", "title": title, "description": description,
            "targets": [target(f"{expr} or vector(0)", instant=True, legend=legend or title)],
            "fieldConfig": field(unit, decimals, steps), "options": stat_options("value")}


def table(title, description, targets, rename, sort_by, units):
    overrides = [by_name(name, unit=unit, decimals=decimals) for name, (unit, decimals) in units.items()]
    return {"type": "table", "title": title, "description": description, "targets": targets,
            "transformations": merge_table(rename),
            "fieldConfig": {"defaults": {"unit": "short", "decimals": 0, "thresholds": thresholds(),
                                         "noValue": "none in the time range", "color": {"mode": "thresholds"},
                                         "custom": {"align": "auto", "filterable": True}},
                            "overrides": overrides},
            "options": table_options(sort_by)}


# ---------------------------------------------------------------- 1. Totals
layout.row("Totals")
layout.add(5, [
    (4, stat("Cost", "Claude Code's own cost (USD) in the time range.", total(COST), "currencyUSD", 2,
             [("yellow", 50), ("red", 200)])),
    (3, stat("Sessions", "Distinct sessions (session_id) that started or spent money in the time range.",
             sessions(), "short", 0)),
    (4, stat("Tokens", "All tokens (input, output, cache reads and writes) in the time range.", total(TOKENS),
             "short", 0)),
    (3, stat("Lines Added", "Lines added by Claude Code's edits in the time range.", total(ADDED), "short", 0)),
    (3, stat("Lines Removed", "Lines removed by Claude Code's edits in the time range.", total(REMOVED), "short", 0)),
    (3, stat("Commits", "Git commits Claude Code made (a successful Bash `git commit`) in the time range.",
             total(COMMITS), "short", 0)),
    (4, stat("Pull Requests", "Pull requests Claude Code opened (a successful Bash `gh pr create`) in the time "
             "range.", total(PULL_REQUESTS), "short", 0)),
])

# ---------------------------------------------------------------- 2. Cost and tokens over time
layout.row("Cost and Tokens over Time")
layout.add(8, [
    (8, {"type": "timeseries", "title": "Cost by Model",
         "description": "What Claude Code spends per hour, by model.",
         "targets": [target(per_interval(COST, "model", 3600), legend="{{model}}", interval="1m")],
         "fieldConfig": ts_field("currencyUSD", 2, stack=True), "options": timeseries_options(["mean", "max"])}),
    (8, {"type": "timeseries", "title": "Tokens by Type",
         "description": "Tokens per minute by type: input, output, cacheRead (prompt cache hits) and cacheCreation "
                        "(prompt cache writes).",
         "targets": [target(per_interval(TOKENS, "type", 60), legend="{{type}}", interval="1m")],
         "fieldConfig": ts_field("short", 0, stack=True), "options": timeseries_options(["mean", "max"])}),
    (8, {"type": "timeseries", "title": "Tokens by Model",
         "description": "Tokens per minute (all types) by model.",
         "targets": [target(per_interval(TOKENS, "model", 60), legend="{{model}}", interval="1m")],
         "fieldConfig": ts_field("short", 0, stack=True), "options": timeseries_options(["mean", "max"])}),
])

# ---------------------------------------------------------------- 3. Productivity
layout.row("Productivity")
acceptance = (f"100 * {total(ACCEPTED, by='language')} / ({total(DECISIONS, by='language')} > 0)")
layout.add(8, [
    (6, {"type": "bargauge", "title": "Active Time: User vs CLI",
         "description": "Minutes in the time range that the user was interacting (type user, interactive sessions "
                        "only) and that Claude Code was working (type cli).",
         "targets": [target(f"{total(ACTIVE, by='type')} / 60", instant=True, legend="{{type}}")],
         "fieldConfig": field("m", 1, no_value="no active time"), "options": bargauge_options()}),
    (6, {"type": "timeseries", "title": "Active Minutes per Hour",
         "description": "Active minutes per hour, user vs CLI.",
         "targets": [target(per_interval(ACTIVE, "type", 60), legend="{{type}}", interval="1m")],
         "fieldConfig": ts_field("m", 1), "options": timeseries_options(["mean", "max"])}),
    (6, {"type": "barchart", "title": "Edit Decisions",
         "description": "Write/Edit tool decisions in the time range by decision (accept, reject) and tool.",
         "targets": [target(total(DECISIONS, by="tool_name, decision"), instant=True,
                            legend="{{tool_name}} {{decision}}")],
         "transformations": [{"id": "reduce", "options": {"mode": "seriesToRows", "reducers": ["lastNotNull"],
                                                          "includeTimeField": False}}],
         "fieldConfig": field("short", 0, no_value="no edits"), "options": barchart_options()}),
    (6, {"type": "bargauge", "title": "Edit Acceptance by Language",
         "description": "Accepted edits as a share of all edit decisions in the time range, by the edited file's "
                        "language.",
         "targets": [target(acceptance, instant=True, legend="{{language}}")],
         "fieldConfig": field("percent", 1, no_value="no edits", min=0, max=100), "options": bargauge_options()}),
])
layout.panels[-1]["fieldConfig"]["defaults"]["thresholds"] = thresholds(("yellow", 50), ("green", 80), base="red")

# ---------------------------------------------------------------- 4. Details
layout.row("Details")
MODEL_COLUMNS = {"Value #A": "Cost", "Value #B": "Input", "Value #C": "Output", "Value #D": "Cache read",
                 "Value #E": "Cache write", "model": "Model"}
layout.add(9, [
    (14, table("Cost and Tokens per Model", "Per model in the time range: Claude Code's cost and its tokens by type.",
               [table_target(total(COST, by="model"), "A")]
               + [table_target(total(TOKENS + f'{{type="{t}"}}', by="model"), ref)
                  for ref, t in (("B", "input"), ("C", "output"), ("D", "cacheRead"), ("E", "cacheCreation"))],
               MODEL_COLUMNS, "Cost", {"Cost": ("currencyUSD", 4)})),
    (10, table("Tokens per Type", "Tokens in the time range by type, and their share of all tokens.",
               [table_target(total(TOKENS, by="type"), "A"),
                table_target(f"100 * {total(TOKENS, by='type')} / scalar({total(TOKENS)})", "B")],
               {"Value #A": "Tokens", "Value #B": "Share", "type": "Type"}, "Tokens", {"Share": ("percent", 1)})),
])
top_sessions = f"topk(20, {total(COST, by='session_id')})"
layout.add(9, [
    (14, table("Top Sessions by Cost", "The 20 sessions that cost most in the time range, with their tokens and "
               "lines changed. Needs session_id on the metrics (the collector's default).",
               [table_target(top_sessions, "A"),
                table_target(f"{total(TOKENS, by='session_id')} and on (session_id) {top_sessions}", "B"),
                table_target(f"{total(LINES, by='session_id')} and on (session_id) {top_sessions}", "C")],
               {"Value #A": "Cost", "Value #B": "Tokens", "Value #C": "Lines changed", "session_id": "Session"},
               "Cost", {"Cost": ("currencyUSD", 4)})),
    (10, table("Edit Decisions by Tool and Language", "Write/Edit tool decisions in the time range by tool, "
               "decision and language.",
               [table_target(total(DECISIONS, by="tool_name, decision, language"), "A")],
               {"Value": "Decisions", "tool_name": "Tool", "decision": "Decision", "language": "Language"},
               "Decisions", {})),
])

# ---------------------------------------------------------------- 5. Teams
layout.row("Teams")
team_sessions = (f"count by (team) (count by (team, session_id) (count_over_time({TEAM_COST}[$__range])))")
layout.add(8, [
    (8, {"type": "bargauge", "title": "Cost by Team",
         "description": "Claude Code's cost in the time range by team." + TEAM_HINT,
         "targets": [target(total(TEAM_COST, by="team"), instant=True, legend="{{team}}")],
         "fieldConfig": field("currencyUSD", 2, no_value=NO_TEAM), "options": bargauge_options()}),
    (8, {"type": "bargauge", "title": "Tokens by Team",
         "description": "Tokens in the time range by team." + TEAM_HINT,
         "targets": [target(total(TEAM_TOKENS, by="team"), instant=True, legend="{{team}}")],
         "fieldConfig": field("short", 0, no_value=NO_TEAM), "options": bargauge_options()}),
    (8, {"type": "bargauge", "title": "Cost per Session by Team",
         "description": "Average cost of a session in the time range, by team." + TEAM_HINT,
         "targets": [target(f"{total(TEAM_COST, by='team')} / {team_sessions}", instant=True, legend="{{team}}")],
         "fieldConfig": field("currencyUSD", 3, no_value=NO_TEAM), "options": bargauge_options()}),
])

# ---------------------------------------------------------------- 6. Weekly and monthly
layout.row("Weekly and Monthly")
WEEK = " Fixed window: the last 7 days, and the 7 days before, whatever the dashboard's time range."
MONTH = " Fixed window: the last 30 days, and the 30 days before, whatever the dashboard's time range."


def period(title, description, metric, window, unit, decimals):
    return {"type": "stat", "title": title, "description": description, "timeFrom": window,
            "targets": [target(f"{total(metric, window)} or vector(0)", "A", "This period", instant=True),
                        target(f"sum({summed(metric, window, window)}) or vector(0)", "B", "Period before",
                               instant=True)],
            "fieldConfig": field(unit, decimals), "options": stat_options()}


layout.add(6, [
    (5, period("Cost This Week", "Claude Code's cost." + WEEK, COST, "7d", "currencyUSD", 2)),
    (5, period("Cost This Month", "Claude Code's cost." + MONTH, COST, "30d", "currencyUSD", 2)),
    (5, period("Tokens This Week", "All tokens." + WEEK, TOKENS, "7d", "short", 0)),
    (5, period("Tokens This Month", "All tokens." + MONTH, TOKENS, "30d", "short", 0)),
    (4, {"type": "stat", "title": "Cost per Line of Code",
         "description": "Claude Code's cost in the time range per line it added or removed. Shows 'no lines' when "
                        "no line changed.",
         "targets": [target(f"{total(COST)} / ({total(LINES)} > 0)", instant=True, legend="Per line")],
         "fieldConfig": field("currencyUSD", 4, [("yellow", 0.05), ("red", 0.25)], no_value="no lines"),
         "options": stat_options("value")}),
])

# ---------------------------------------------------------------- 7. Pricing reference
layout.row("Pricing Reference")
layout.add(8, [
    (12, {"type": "text", "title": "Model Prices",
          "description": "The per-token prices the token-derived cost panels use.",
          "tccPriced": {"lead": "The per-token prices the token-derived cost panels use."},
          "options": {"mode": "markdown", "content": "", "code": {"language": "plaintext", "showLineNumbers": False,
                                                                  "showMiniMap": False}}}),
    (12, {"type": "piechart", "title": "Cost Share by Model",
          "description": "Share of Claude Code's cost in the time range by model, to read next to the prices.",
          "targets": [target(total(COST, by="model"), instant=True, legend="{{model}}")],
          "fieldConfig": field("currencyUSD", 2, no_value="no cost"), "options": pie_options()}),
])
del layout.panels[-2]["datasource"]

dashboard = dashboard(
    "claude-code-overview", "Claude Code / Overview",
    "Totals, trends, productivity, per-model, per-session and per-team detail, weekly and monthly totals and the "
    "pricing reference for Claude Code, from its OpenTelemetry metrics (Prometheus).",
    layout.panels, time_from="now-7d", refresh="5m", links=dashboard_links())


def main() -> None:
    write(dashboard, "claude-code-overview.json")


if __name__ == "__main__":
    main()
