"""Generate files/dashboards/claude-code-deep-dive.json: Claude Code's events in Loki.

Prompts, tools (usage, duration, success), decisions, MCP servers and skills, subagents, API
requests (cost, latency, tokens, speed and effort), API errors and a session trace, with a
`session_id` variable to drill into one session. Run after changing a panel:

    python3 tests/dashboards/generate_deep_dive.py

Every Loki field is in docs/telemetry.md: event attributes become structured metadata with
dots turned into underscores (event.name -> event_name, session.id -> session_id). OTLP events
are not JSON lines: queries filter on the metadata, never `| json`. Numbers that arrive as
strings (duration_ms of tool_result, ...) are read with `| unwrap`, which parses them.
"""

from __future__ import annotations

from common import (  # pylint: disable=import-error
    EVENTS, LOKI, SERIES_TO_ROWS, Layout, barchart_options, dashboard, dashboard_links, field, merge_table,
    pie_options, stat_options, table_options, target, thresholds, timeseries_options, ts_field, write,
)

layout = Layout()
SESSION = ' | session_id=~"$session_id"'


def events(name, extra=""):
    return f'{EVENTS} | event_name="{name}"{SESSION}{extra}'


def count(name, window="$__range", by="", extra=""):
    grouping = f" by ({by})" if by else ""
    return f"sum{grouping}(count_over_time({events(name, extra)} [{window}]))"


def unwrap(func, name, value, window="$__range", by="", extra="", param=""):
    """An unwrapped range aggregation; `by` groups it (LogQL puts the grouping after the range)."""
    grouping = f" by ({by})" if by else ""
    lead = f"{param}, " if param else ""
    return f"{func}({lead}{events(name, extra)} | unwrap {value} [{window}]){grouping}"


def loki(expr, ref="A", legend="", instant=False, **extra):
    return target(expr, ref, legend, instant=instant, ds=LOKI, **extra)


def panel(kind, title, description, targets, fieldconfig, options, **extra):
    out = {"type": kind, "title": title, "description": description + " From Loki.", "datasource": LOKI,
           "targets": targets, "fieldConfig": fieldconfig, "options": options}
    out.update(extra)
    return out


def logs(title, description, expr):
    return {"type": "logs", "title": title, "description": description + " From Loki.", "datasource": LOKI,
            "targets": [loki(expr)],
            "options": {"showTime": True, "showLabels": False, "showCommonLabels": False, "wrapLogMessage": True,
                        "prettifyLogMessage": False, "enableLogDetails": True, "dedupStrategy": "none",
                        "sortOrder": "Descending"}}


def stat(title, description, expr, unit="short", decimals=0, no_value="0"):
    return panel("stat", title, description, [loki(expr, instant=True, legend=title)],
                 field(unit, decimals, no_value=no_value), stat_options("value"))


# ---------------------------------------------------------------- 1. Sessions and prompts
layout.row("Sessions and Prompts")
# A background subagent that finishes starts a turn of its own, from a <task-notification>
# prompt Claude Code writes itself (measured with 2.1.197 and 2.1.332): the collector marks it
# (tcc_prompt_kind, derived from the prompt text when the client sends it), and the prompt panels
# leave it out.
TYPED = ' | tcc_prompt_kind!="task_notification"'
NOTIFICATION = ' | tcc_prompt_kind="task_notification"'
layout.add(8, [
    (4, stat("Prompts", "Prompts the developers sent (user_prompt events) in the time range, without the turns "
             "Claude Code starts itself when a background subagent finishes (marked by the collector when the "
             "client sends prompt text; otherwise they are counted here).",
             f"{count('user_prompt', extra=TYPED)} or vector(0)")),
    (4, stat("Sessions", "Sessions with at least one event in the time range (the CLI and Desktop).",
             f"count(sum by (session_id) (count_over_time({EVENTS}{SESSION} [$__range]))) or vector(0)")),
    (4, stat("Background Subagent Turns", "Turns Claude Code started itself to report a background subagent's "
             "result (<task-notification> prompts). Known only when the client sends prompt text "
             "(OTEL_LOG_USER_PROMPTS): the collector reads it, marks the turn and drops the text.",
             f"{count('user_prompt', extra=NOTIFICATION)} or vector(0)")),
    (4, panel("timeseries", "Prompts over Time", "Prompts the developers sent per interval (without background "
              "subagent turns).",
              [loki(count("user_prompt", "$__interval", extra=TYPED), legend="Prompts")],
              ts_field("short", 0, draw="bars"), timeseries_options(["sum", "max"]))),
    (8, panel("table", "Sessions", "Sessions in the time range: prompts and API requests. Copy a session_id into "
              "the variable above to follow one session.",
              [loki(count("user_prompt", by="session_id", extra=TYPED), "A", instant=True),
               loki(count("api_request", by="session_id"), "B", instant=True)],
              {"defaults": {"unit": "short", "decimals": 0, "thresholds": thresholds(),
                            "noValue": "none in the time range", "color": {"mode": "thresholds"},
                            "custom": {"align": "auto", "filterable": True}}, "overrides": []},
              table_options("API requests"),
              transformations=merge_table({"Value #A": "Prompts", "Value #B": "API requests",
                                           "session_id": "Session"}))),
])
layout.add(8, [
    (24, logs("Prompt Log", "Every user prompt with its session, length and kind (typed, or a background "
              "subagent's task notification; empty when the client sends no prompt text). The text is never "
              "stored unless otel_collector_log_prompts is on.",
              events("user_prompt") + ' | line_format "session {{.session_id}}: prompt of {{.prompt_length}} '
              'characters {{.tcc_prompt_kind}}"')),
])

# ---------------------------------------------------------------- 2. Tools
layout.row("Tools")
SUCCEEDED = ' | success="true"'
success = f'100 * {count("tool_result", "$__interval", extra=SUCCEEDED)} / {count("tool_result", "$__interval")}'
layout.add(8, [
    (6, panel("barchart", "Tool Runs by Tool", "Tool runs (tool_result events) in the time range, by tool.",
              [loki(count("tool_result", by="tool_name"), instant=True, legend="{{tool_name}}")],
              field("short", 0, no_value="no tool runs"), barchart_options(), transformations=SERIES_TO_ROWS)),
    (6, panel("bargauge", "Tool Duration by Tool", "Average and 95th percentile run time of each tool in the "
              "time range (duration_ms of tool_result events).",
              [loki(unwrap("avg_over_time", "tool_result", "duration_ms", by="tool_name"), "A", instant=True,
                    legend="{{tool_name}} avg"),
               loki(unwrap("quantile_over_time", "tool_result", "duration_ms", by="tool_name", param="0.95"), "B",
                    instant=True, legend="{{tool_name}} p95")],
              field("ms", 0, no_value="no tool runs"),
              {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
               "orientation": "horizontal", "displayMode": "gradient", "showUnfilled": True, "valueMode": "color",
               "namePlacement": "auto", "sizing": "auto", "minVizHeight": 16, "minVizWidth": 8,
               "maxVizHeight": 300})),
    (6, panel("timeseries", "Tool Success Rate", "Share of tool runs that succeeded (success=true), per interval.",
              [loki(success, legend="Success rate")],
              ts_field("percent", 1, min=0, max=100), timeseries_options(["mean", "min"]))),
    (6, panel("piechart", "Tool Decisions", "Tool permission decisions (tool_decision events) in the time range by "
              "decision and source (config, user, hook, ...). A tool refused by the permission rules in -p mode is "
              "a reject (Claude Code 2.1.332; 2.1.197 emits nothing for it).",
              [loki(count("tool_decision", by="decision, source"), instant=True, legend="{{decision}} ({{source}})")],
              field("short", 0, no_value="no decisions"), pie_options())),
])
layout.add(7, [
    (8, panel("piechart", "Permission Modes", "Tool decisions in the time range by the permission mode the session "
              "ran in (permission_mode: default, acceptEdits, plan, ...; Claude Code 2.1.332).",
              [loki(count("tool_decision", by="permission_mode"), instant=True, legend="{{permission_mode}}")],
              field("short", 0, no_value="no decisions"), pie_options())),
    (8, panel("piechart", "Tool Sources", "Tool decisions in the time range by where the tool comes from "
              "(tool_source: builtin, mcp; Claude Code 2.1.332).",
              [loki(count("tool_decision", by="tool_source"), instant=True, legend="{{tool_source}}")],
              field("short", 0, no_value="no decisions"), pie_options())),
    (8, panel("barchart", "Hooks Run", "Hook runs in the time range by hook event (PreToolUse, PostToolUse, Stop, "
              "...; hook_execution_complete events), and how many of them blocked.",
              [loki(count("hook_execution_complete", by="hook_event"), "A", instant=True, legend="{{hook_event}}"),
               loki(f"sum by (hook_event) ({unwrap('sum_over_time', 'hook_execution_complete', 'num_blocking')})",
                    "B", instant=True, legend="{{hook_event}} blocking")],
              field("short", 0, no_value="no hooks"), barchart_options(), transformations=SERIES_TO_ROWS)),
])

# ---------------------------------------------------------------- 3. MCP servers and skills
layout.row("MCP Servers and Skills")
MCP = ' | tool_name="mcp_tool"'
layout.add(7, [
    (8, panel("barchart", "MCP Tool Calls", "Calls of MCP tools in the time range, by server and tool. Claude Code "
              "reports every MCP call as tool_name mcp_tool and names the server and the tool only in the tool "
              "parameters (OTEL_LOG_TOOL_DETAILS on the client): the collector takes the names out before it drops "
              "the parameters. Without them a call is counted with empty names.",
              [loki(count("tool_result", by="mcp_server_name, mcp_tool_name", extra=MCP), instant=True,
                    legend="{{mcp_server_name}} {{mcp_tool_name}}")],
              field("short", 0, no_value="no MCP tool calls"), barchart_options(), transformations=SERIES_TO_ROWS)),
    (8, panel("barchart", "MCP Server Connections", "MCP server connections and disconnections in the time range, "
              "by server (mcp_server_connection events: names only).",
              [loki(count("mcp_server_connection", by="server_name, status"), instant=True,
                    legend="{{server_name}} {{status}}")],
              field("short", 0, no_value="no MCP servers"), barchart_options(), transformations=SERIES_TO_ROWS)),
    (8, panel("barchart", "Skills Activated", "Skills activated in the time range, by name and where the skill "
              "comes from (skill_activated events).",
              [loki(count("skill_activated", by="skill_name, skill_source"), instant=True,
                    legend="{{skill_name}} ({{skill_source}})")],
              field("short", 0, no_value="no skills"), barchart_options(), transformations=SERIES_TO_ROWS)),
])

# ---------------------------------------------------------------- 4. Subagents
layout.row("Subagents")
# A subagent's outcome is not the Agent tool's result: in Claude Code 2.1.332 subagents run in
# the background by default and the Agent tool result comes at launch, always a success. A
# subagent that ends has subagent_completed; one whose requests finally failed has an api_error
# or api_retries_exhausted from its query_source (agent:...), and in 2.1.332 no subagent_completed
# (measured: docs/telemetry.md).
AGENT_SOURCE = ' | query_source=~"agent:.+"'
AGENT = ' | tool_name="Agent"'
subagent_failures = (f"({count('api_error', extra=AGENT_SOURCE)} or vector(0)) + "
                     f"({count('api_retries_exhausted', extra=AGENT_SOURCE)} or vector(0))")
layout.add(8, [
    (4, stat("Subagents Started", "Agent tool calls in the time range: subagents launched (the tool's result comes "
             "at launch for a background subagent).",
             f"{count('tool_result', extra=AGENT)} or vector(0)")),
    (4, stat("Subagents Completed", "Subagents that ended (subagent_completed events) in the time range.",
             f"{count('subagent_completed')} or vector(0)")),
    (4, stat("Subagent Request Failures", "Requests of subagents that finally failed in the time range: api_error "
             "and api_retries_exhausted events from a subagent (query_source agent:...).", subagent_failures)),
    (6, panel("bargauge", "Subagents Completed by Type", "subagent_completed events in the time range by agent "
              "type and whether it ran in the background (is_async), with their average tokens and tool uses.",
              [loki(count("subagent_completed", by="agent_type, is_async"), "A", instant=True,
                    legend="{{agent_type}} background={{is_async}} runs"),
               loki(unwrap("avg_over_time", "subagent_completed", "total_tokens", by="agent_type"), "B",
                    instant=True, legend="{{agent_type}} avg tokens"),
               loki(unwrap("avg_over_time", "subagent_completed", "total_tool_uses", by="agent_type"), "C",
                    instant=True, legend="{{agent_type}} avg tool uses")],
              field("short", 0, no_value="no subagents"),
              {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
               "orientation": "horizontal", "displayMode": "gradient", "showUnfilled": True, "valueMode": "color",
               "namePlacement": "auto", "sizing": "auto", "minVizHeight": 16, "minVizWidth": 8,
               "maxVizHeight": 300})),
    (6, panel("timeseries", "Subagent Duration", "Average run time of completed subagents per interval "
              "(duration_ms of subagent_completed), by type.",
              [loki(unwrap("avg_over_time", "subagent_completed", "duration_ms", "$__interval", by="agent_type"),
                    legend="{{agent_type}}")],
              ts_field("ms", 0), timeseries_options(["mean", "max"]))),
])

# ---------------------------------------------------------------- 5. API requests
layout.row("API Requests")


def by_model(func, value, window="$__range"):
    return unwrap(func, "api_request", value, window, by="model")


layout.add(8, [
    (6, panel("barchart", "API Requests by Model", "Messages API requests (api_request events) in the time range, "
              "by model.",
              [loki(count("api_request", by="model"), instant=True, legend="{{model}}")],
              field("short", 0, no_value="no requests"), barchart_options(), transformations=SERIES_TO_ROWS)),
    (6, panel("bargauge", "Cost per Request", "Average cost of one API request in the time range (cost_usd of "
              "api_request), by model.",
              [loki(by_model("avg_over_time", "cost_usd"), instant=True, legend="{{model}}")],
              field("currencyUSD", 4, no_value="no requests"),
              {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
               "orientation": "horizontal", "displayMode": "gradient", "showUnfilled": True, "valueMode": "color",
               "namePlacement": "auto", "sizing": "auto", "minVizHeight": 16, "minVizWidth": 8,
               "maxVizHeight": 300})),
    (6, panel("timeseries", "API Latency", "95th percentile and average duration of API requests per interval "
              "(duration_ms of api_request).",
              [loki(unwrap("quantile_over_time", "api_request", "duration_ms", "$__interval", by="model",
                           param="0.95"), "A", legend="{{model}} p95"),
               loki(by_model("avg_over_time", "duration_ms", "$__interval"), "B", legend="{{model}} avg")],
              ts_field("ms", 0), timeseries_options(["mean", "max"]))),
    (6, panel("timeseries", "Tokens per Request", "Average input and output tokens of one API request per interval.",
              [loki(f"avg({unwrap('avg_over_time', 'api_request', 'input_tokens', '$__interval')})", "A",
                    legend="Input"),
               loki(f"avg({unwrap('avg_over_time', 'api_request', 'output_tokens', '$__interval')})", "B",
                    legend="Output"),
               loki(f"avg({unwrap('avg_over_time', 'api_request', 'cache_read_tokens', '$__interval')})", "C",
                    legend="Cache read")],
              ts_field("short", 0), timeseries_options(["mean", "max"]))),
])
layout.add(7, [
    (8, panel("piechart", "Speed and Effort", "API requests in the time range by speed (normal, fast) and effort "
              "(models that report it).",
              [loki(count("api_request", by="speed, effort"), instant=True, legend="{{speed}} {{effort}}")],
              field("short", 0, no_value="no requests"), pie_options())),
    (8, panel("piechart", "Main Loop vs Subagents", "API requests in the time range by query_source (sdk or repl "
              "for the main loop, agent:... for subagents).",
              [loki(count("api_request", by="query_source"), instant=True, legend="{{query_source}}")],
              field("short", 0, no_value="no requests"), pie_options())),
    (8, stat("API Cost in Range", "Sum of cost_usd of the API requests in the time range (the event view of the "
             "cost metric).",
             f"sum({unwrap('sum_over_time', 'api_request', 'cost_usd')}) or vector(0)", "currencyUSD", 4)),
])
layout.add(7, [
    (8, panel("timeseries", "Time to First Token", "95th percentile and average time to the first token of API "
              "requests per interval (ttft_ms of api_request; Claude Code 2.1.332).",
              [loki(unwrap("quantile_over_time", "api_request", "ttft_ms", "$__interval", by="model",
                           param="0.95"), "A", legend="{{model}} p95"),
               loki(by_model("avg_over_time", "ttft_ms", "$__interval"), "B", legend="{{model}} avg")],
              ts_field("ms", 0), timeseries_options(["mean", "max"]))),
    (8, panel("bargauge", "Cache Writes: 5 Minutes vs 1 Hour", "Cache-write tokens of the API requests in the time "
              "range by how long the cache keeps them (cache_creation_5m_tokens, cache_creation_1h_tokens of "
              "api_request; Claude Code 2.1.332). 1-hour writes cost more (the price list).",
              [loki(f"sum({unwrap('sum_over_time', 'api_request', 'cache_creation_5m_tokens')})", "A", instant=True,
                    legend="5 minutes"),
               loki(f"sum({unwrap('sum_over_time', 'api_request', 'cache_creation_1h_tokens')})", "B", instant=True,
                    legend="1 hour")],
              field("short", 0, no_value="no cache writes"),
              {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
               "orientation": "horizontal", "displayMode": "gradient", "showUnfilled": True, "valueMode": "color",
               "namePlacement": "auto", "sizing": "auto", "minVizHeight": 16, "minVizWidth": 8,
               "maxVizHeight": 300})),
    (8, panel("piechart", "Providers", "API requests in the time range by provider (anthropic_provider: firstParty, "
              "bedrock, vertex, ...; Claude Code 2.1.332).",
              [loki(count("api_request", by="anthropic_provider"), instant=True, legend="{{anthropic_provider}}")],
              field("short", 0, no_value="no requests"), pie_options())),
])

# ---------------------------------------------------------------- 6. API errors
layout.row("API Errors")
layout.add(8, [
    (8, panel("timeseries", "API Errors over Time", "API requests that finally failed (api_error events: Claude "
              "Code retries first and reports a request only when no retry recovered it) per interval, by model "
              "and HTTP status.",
              [loki(count("api_error", "$__interval", by="model, status_code"), "A", legend="{{model}} {{status_code}}"),
               loki(count("api_retries_exhausted", "$__interval", by="model, status_code"), "B",
                    legend="{{model}} {{status_code}} retries exhausted")],
              ts_field("short", 0, draw="bars"), timeseries_options(["sum"]))),
    (16, logs("API Error Log", "Every api_error event: model, HTTP status, attempts, where the request came from "
              "(query_source) and the session. The error message itself is content (it can quote files and paths): "
              "the collector keeps it only with otel_collector_log_error_messages.",
              events("api_error") + ' | line_format "{{.model}} {{.status_code}} after {{.attempt}} attempt(s) '
              '({{.query_source}}) session {{.session_id}}"')),
])

# ---------------------------------------------------------------- 7. Session trace
layout.row("Session Trace")
layout.add(12, [
    (24, logs("Session Trace", "Every event of the selected session(s) in order: prompts, API requests, tool "
              "decisions and results, subagents. Set session_id above to one session.",
              f'{EVENTS}{SESSION} | line_format "{{{{.event_name}}}} {{{{.tool_name}}}} {{{{.model}}}} '
              f'session {{{{.session_id}}}}"')),
])

SESSION_VARIABLE = {
    "name": "session_id", "label": "Session (regex)", "type": "textbox", "query": ".+",
    "current": {"text": ".+", "value": ".+"}, "options": [{"selected": True, "text": ".+", "value": ".+"}],
    "hide": 0, "description": "A session_id (from the Sessions table), or a regex; .+ is every session.",
}

dashboard = dashboard(
    "claude-code-deep-dive", "Claude Code / Deep Dive",
    "Claude Code's events in Loki: prompts, tools, decisions and permission modes, hooks, MCP servers and skills, "
    "subagents, API requests (latency, time to first token, cache writes, providers) and errors, and a trace of one "
    "session (variable session_id).",
    layout.panels, variables=[SESSION_VARIABLE], time_from="now-6h", links=dashboard_links())


def main() -> None:
    write(dashboard, "claude-code-deep-dive.json")


if __name__ == "__main__":
    main()
