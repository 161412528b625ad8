"""Generate files/dashboards/claude-code-fleet.json: which Claude Code runs where, and under which policy.

Versions, operating systems, terminals, entrypoints, providers and models by team; the managed
settings 2.1.332 reports; plugins, skills, hooks and MCP servers in use (names only); permission
modes and denials. Every panel counts clients (Claude Code's pseudonymous user_id) or sessions,
never content. Run after changing a panel:

    python3 tests/dashboards/generate_fleet.py

Not here: `safety_event`. Claude Code 2.1.332 names it in its code, but no catalog has it (no
scripted session triggers it, docs/catalog/README.md): a panel on it could not be checked against
anything Claude Code was seen to send, so there is none.
"""

from __future__ import annotations

from common import (  # pylint: disable=import-error
    COST, DECISIONS, LOKI, SESSIONS, Layout, bargauge_options, count_sessions, dashboard, dashboard_links, field,
    merge_table, not_reported, stat_options, table_options, table_target, target, thresholds, total, write,
)

layout = Layout()
STREAM = '{service_name="claude-code"}'
OPT_IN = " Only clients with {0} send it (the claude_code_client role's {1}); the others are 'not reported'."
VERSION_OPT_IN = OPT_IN.format("OTEL_METRICS_INCLUDE_VERSION", "claude_code_client_metrics_include_version")
ENTRYPOINT_OPT_IN = OPT_IN.format("OTEL_METRICS_INCLUDE_ENTRYPOINT", "claude_code_client_metrics_include_entrypoint")
LOKI_NOTE = " From Claude Code's events in Loki."


def distinct(event: str, by: str, of: str = "session_id", extra: str = "") -> str:
    """LogQL: distinct sessions (or users) with the event in the time range, by `by`."""
    return (f"count by ({by}) (sum by ({by}, {of}) (count_over_time({STREAM} | event_name=\"{event}\"{extra} "
            f"[$__range])))")


def bars(title, description, expr, legend, no_value, ds=None, unit="short"):
    panel = {"type": "bargauge", "title": title, "description": description,
             "targets": [target(expr, instant=True, legend=legend, ds=ds)],
             "fieldConfig": field(unit, 0, no_value=no_value), "options": bargauge_options()}
    if ds is LOKI:
        panel["datasource"] = LOKI
    return panel


def table(title, description, expr, rename, sort_by, ds=None, no_value="none in the time range"):
    panel = {"type": "table", "title": title, "description": description,
             "targets": [table_target(expr, "A", ds=ds)],
             "transformations": merge_table(rename),
             "fieldConfig": {"defaults": {"unit": "short", "decimals": 0, "thresholds": thresholds(),
                                          "noValue": no_value, "color": {"mode": "thresholds"},
                                          "custom": {"align": "auto", "filterable": True}},
                             "overrides": []},
             "options": table_options(sort_by)}
    if ds is LOKI:
        panel["datasource"] = LOKI
    return panel


def stat(title, description, expr, ds=None, no_value="0"):
    panel = {"type": "stat", "title": title, "description": description,
             "targets": [target(expr, instant=True, legend=title, ds=ds)],
             "fieldConfig": field("short", 0, no_value=no_value), "options": stat_options("value")}
    if ds is LOKI:
        panel["datasource"] = LOKI
    return panel


# ---------------------------------------------------------------- 1. The fleet
layout.row("Clients and Sessions")
ANY = f"count_over_time({COST}[$__range]) or count_over_time({SESSIONS}[$__range])"
layout.add(4, [
    (6, stat("Clients", "Distinct Claude Code clients (user_id: one per person and machine) that started a session "
             "or spent money in the time range.", f"count(count by (user_id) ({ANY})) or vector(0)")),
    (6, stat("Sessions", "Distinct sessions in the time range.", f"count(count by (session_id) ({ANY})) or vector(0)")),
    (6, stat("Teams", "Distinct `team` labels (OTEL_RESOURCE_ATTRIBUTES) in the time range.",
             f"count(count by (team) (count_over_time({COST}{{team!=\"\"}}[$__range]))) or vector(0)")),
    (6, stat("Claude Code Versions Reported", "Distinct Claude Code versions (app_version) in the time range."
             + VERSION_OPT_IN,
             f"count(count by (app_version) (count_over_time({SESSIONS}{{app_version!=\"\"}}[$__range]))) or vector(0)")),
])

# ---------------------------------------------------------------- 2. What runs
layout.row("Versions, Terminals, Entrypoints, Providers, Models")
layout.add(8, [
    (6, bars("Sessions by Claude Code Version", "Sessions in the time range by Claude Code version." + VERSION_OPT_IN,
             not_reported(count_sessions("app_version"), "app_version"), "{{app_version}}", "no sessions")),
    (6, bars("Sessions by Terminal", "Sessions in the time range by terminal (terminal_type: non-interactive for "
             "`claude -p` and the SDK, the terminal's name otherwise).", count_sessions("terminal_type"),
             "{{terminal_type}}", "no sessions")),
    (6, bars("Sessions by Entrypoint", "Sessions in the time range by entrypoint (app_entrypoint: cli, sdk-cli, "
             "...)." + ENTRYPOINT_OPT_IN, not_reported(count_sessions("app_entrypoint"), "app_entrypoint"),
             "{{app_entrypoint}}", "no sessions")),
    (6, bars("Sessions by Provider", "Sessions in the time range by API provider (anthropic_provider: firstParty, "
             "bedrock, vertex, ...). Claude Code 2.1.197 does not send it: its sessions are 'not reported'.",
             not_reported(count_sessions("anthropic_provider"), "anthropic_provider"), "{{anthropic_provider}}",
             "no sessions")),
])
layout.add(8, [
    (12, table("Versions by Team", "Sessions in the time range per team and Claude Code version." + VERSION_OPT_IN,
               not_reported(not_reported(count_sessions("team, app_version"), "app_version"), "team", "no team"),
               {"Value": "Sessions", "team": "Team", "app_version": "Version"}, "Sessions")),
    (12, table("Models by Team", "Sessions in the time range per team that used each model.",
               not_reported(count_sessions("team, model", (COST,)), "team", "no team"),
               {"Value": "Sessions", "team": "Team", "model": "Model"}, "Sessions")),
])
layout.add(8, [
    (12, bars("Sessions by Operating System", "Sessions in the time range by operating system (the os_type resource "
              "attribute every client sends)." + LOKI_NOTE, distinct("user_prompt", "os_type"), "{{os_type}}",
              "no sessions", ds=LOKI)),
    (12, table("Versions and Operating Systems by Team", "Clients (user_id) in the time range per team, Claude Code "
               "version (service_version, which every client sends on its events) and operating system." + LOKI_NOTE,
               distinct("user_prompt", "team, service_version, os_type", of="user_id"),
               {"Value": "Clients", "team": "Team", "service_version": "Version", "os_type": "OS"}, "Clients",
               ds=LOKI)),
])

# ---------------------------------------------------------------- 3. Managed settings
layout.row("Managed Settings (Claude Code 2.1.332)")
SETTINGS_NOTE = (" Claude Code 2.1.332 reports at startup which managed settings sources applied "
                 "(managed_settings_resolved); 2.1.197 sends no such event, so its clients are not in this panel "
                 "(see Sessions by Claude Code Version).")
layout.add(8, [
    (12, table("Managed Settings Sources", "Clients (user_id) in the time range by the managed settings sources that "
               "applied (['file'] for the claude_code_client role's file, [] for none: outside the policy), the "
               "sources' behaviour (first-wins: the highest-priority source alone) and the headers helper."
               + SETTINGS_NOTE + LOKI_NOTE,
               distinct("managed_settings_resolved", "managed_settings_sources, managed_settings_source_behavior, "
                        "managed_settings_helper_state", of="user_id"),
               {"Value": "Clients", "managed_settings_sources": "Sources", "managed_settings_source_behavior":
                "Behaviour", "managed_settings_helper_state": "Headers helper"}, "Clients", ds=LOKI)),
    (12, stat("Clients Without Managed Settings", "Clients (user_id) whose Claude Code 2.1.332 resolved no managed "
              "settings source in the time range: they run outside the policy the claude_code_client role writes."
              + SETTINGS_NOTE + LOKI_NOTE,
              f"count(sum by (user_id) (count_over_time({STREAM} | event_name=\"managed_settings_resolved\" "
              f"| managed_settings_sources=\"[]\" [$__range]))) or vector(0)", ds=LOKI)),
])

# ---------------------------------------------------------------- 4. Extensions
layout.row("Plugins, Skills, Hooks, MCP Servers")
layout.add(8, [
    (6, bars("Plugins Loaded", "Sessions in the time range that loaded each plugin (plugin_loaded, Claude Code "
             "2.1.332; names only)." + LOKI_NOTE, distinct("plugin_loaded", "plugin_name"), "{{plugin_name}}",
             "no plugin loaded", ds=LOKI)),
    (6, bars("Skills Activated", "Sessions in the time range that activated each skill (skill_activated; names "
             "only)." + LOKI_NOTE, distinct("skill_activated", "skill_name"), "{{skill_name}}", "no skill activated",
             ds=LOKI)),
    (6, bars("Hooks Registered", "Sessions in the time range with hooks for each hook event, by where they were "
             "configured (hook_registered: hook_event, hook_source)." + LOKI_NOTE,
             distinct("hook_registered", "hook_event, hook_source"), "{{hook_event}} ({{hook_source}})",
             "no hooks", ds=LOKI)),
    (6, bars("MCP Servers Connected", "Sessions in the time range that connected to each MCP server "
             "(mcp_server_connection, status connected; server names and transports only). Claude Code "
             "sends the server's name only when the client sets OTEL_LOG_TOOL_DETAILS=1 "
             "(claude_code_client_log_tool_details); without it the bar is the transport alone." + LOKI_NOTE,
             distinct("mcp_server_connection", "server_name, transport_type", extra=' | status="connected"'),
             "{{server_name}} ({{transport_type}})", "no MCP server", ds=LOKI)),
])

# ---------------------------------------------------------------- 5. Permissions
layout.row("Permission Modes and Denials")
layout.add(8, [
    (8, bars("Sessions by Permission Mode", "Sessions in the time range by the permission mode of their tool "
             "decisions (tool_decision permission_mode: default, acceptEdits, plan, bypassPermissions; Claude Code "
             "2.1.332 only)." + LOKI_NOTE, distinct("tool_decision", "permission_mode"), "{{permission_mode}}",
             "no tool decisions", ds=LOKI)),
    (8, bars("Denials by Tool", "Tool uses denied in the time range (tool_decision decision=reject: by the user, "
             "or by the configuration in `-p`), by tool." + LOKI_NOTE,
             f"sum by (tool_name) (count_over_time({STREAM} | event_name=\"tool_decision\" | decision=\"reject\" "
             f"[$__range]))", "{{tool_name}}", "no denials", ds=LOKI)),
    (8, bars("Edit Decisions by Source", "Write and Edit decisions in the time range by decision and by what "
             "decided (source: config for allow/deny rules, user for an answered prompt).",
             total(DECISIONS, by="decision, source"), "{{decision}} ({{source}})", "no edits")),
])

dashboard = dashboard(
    "claude-code-fleet", "Claude Code / Fleet",
    "Which Claude Code versions, operating systems, terminals, entrypoints, providers and models run, by team; which "
    "clients run under the managed settings policy (Claude Code 2.1.332 reports it; 2.1.197 does not); plugins, "
    "skills, hooks and MCP servers in use (names only); permission modes and denials. Counts of clients (user_id) "
    "and sessions, never content. Prometheus panels come from the metrics, Loki panels from the events. No panel "
    "shows safety_event: no supported Claude Code version was seen to send it (docs/catalog/).",
    layout.panels, time_from="now-7d", refresh="5m", links=dashboard_links())


def main() -> None:
    write(dashboard, "claude-code-fleet.json")


if __name__ == "__main__":
    main()
