"""Generate files/dashboards/claude-code-repositories.json: cost, tokens and code per repository and project.

Claude Code 2.1.332 puts the repository on every metric when the client opts in
(OTEL_METRICS_INCLUDE_REPOSITORY: claude_code_client_metrics_include_repository); the collector
keeps the names with otel_collector_keep_repository and maps repositories to projects with
otel_collector_repository_projects (the `project` label, which a client's OTEL_RESOURCE_ATTRIBUTES
can also set). Run after changing a panel:

    python3 tests/dashboards/generate_repositories.py
"""

from __future__ import annotations

from common import (  # pylint: disable=import-error
    ADDED, COMMITS, COST, PULL_REQUESTS, REMOVED, TOKENS, Layout, bargauge_options, by_name, count_sessions,
    dashboard, dashboard_links, field, merge_table, per_interval, table_options, table_target, target, thresholds,
    timeseries_options, total, ts_field, write,
)

layout = Layout()
REPO = "vcs_owner_name, vcs_repository_name"
NAMED = 'vcs_repository_name!=""'
PROJECT = 'project!=""'
REPO_HINT = (" Repositories need Claude Code 2.1.332 or later with claude_code_client_metrics_include_repository on "
             "the clients and otel_collector_keep_repository on the collector (2.1.197 sends no repository).")
PROJECT_HINT = (" Projects come from the collector's otel_collector_repository_projects (repository -> project) or a "
                "client's OTEL_RESOURCE_ATTRIBUTES project=... (docs/teams.md says which wins).")


def selector(metric: str, matcher: str) -> str:
    """metric{...} with one more matcher."""
    if metric.endswith("}"):
        return metric[:-1] + "," + matcher + "}"
    return f"{metric}{{{matcher}}}"


def table(title, description, by, matcher, rename):
    columns = {"Value #A": "Cost", "Value #B": "Tokens", "Value #C": "Lines added", "Value #D": "Lines removed",
               "Value #E": "Commits", "Value #F": "Pull requests", "Value #G": "Sessions"}
    columns.update(rename)
    return {"type": "table", "title": title, "description": description,
            "targets": [table_target(total(selector(COST, matcher), by=by), "A"),
                        table_target(total(selector(TOKENS, matcher), by=by), "B"),
                        table_target(total(selector(ADDED, matcher), by=by), "C"),
                        table_target(total(selector(REMOVED, matcher), by=by), "D"),
                        table_target(total(selector(COMMITS, matcher), by=by), "E"),
                        table_target(total(selector(PULL_REQUESTS, matcher), by=by), "F"),
                        table_target(count_sessions(by, (selector(COST, matcher),)), "G")],
            "transformations": merge_table(columns),
            "fieldConfig": {"defaults": {"unit": "short", "decimals": 0, "thresholds": thresholds(),
                                         "noValue": "none in the time range", "color": {"mode": "thresholds"},
                                         "custom": {"align": "auto", "filterable": True}},
                            "overrides": [by_name("Cost", unit="currencyUSD", decimals=2)]},
            "options": table_options("Cost")}


def bars(title, description, expr, legend, unit, decimals, no_value):
    return {"type": "bargauge", "title": title, "description": description,
            "targets": [target(expr, instant=True, legend=legend)],
            "fieldConfig": field(unit, decimals, no_value=no_value), "options": bargauge_options()}


# ---------------------------------------------------------------- 1. Projects
layout.row("Projects")
layout.add(8, [
    (8, bars("Cost by Project", "Claude Code's cost in the time range by project." + PROJECT_HINT,
             total(selector(COST, PROJECT), by="project"), "{{project}}", "currencyUSD", 2, "no project label")),
    (8, bars("Tokens by Project", "All tokens in the time range by project." + PROJECT_HINT,
             total(selector(TOKENS, PROJECT), by="project"), "{{project}}", "short", 0, "no project label")),
    (8, {"type": "timeseries", "title": "Cost per Hour by Project",
         "description": "What each project costs per hour." + PROJECT_HINT,
         "targets": [target(per_interval(selector(COST, PROJECT), "project", 3600), legend="{{project}}", interval="1m")],
         "fieldConfig": ts_field("currencyUSD", 2, stack=True), "options": timeseries_options(["mean", "max"])}),
])
layout.add(8, [
    (24, table("Projects", "Per project in the time range: cost, tokens, lines added and removed, commits, pull "
               "requests and sessions." + PROJECT_HINT, "project", PROJECT, {"project": "Project"})),
])

# ---------------------------------------------------------------- 2. Repositories
layout.row("Repositories")
layout.add(8, [
    (8, bars("Cost by Repository", "Claude Code's cost in the time range by repository (owner/name)." + REPO_HINT,
             total(selector(COST, NAMED), by=REPO), "{{vcs_owner_name}}/{{vcs_repository_name}}", "currencyUSD", 2,
             "no repository label")),
    (8, bars("Commits by Repository", "Git commits Claude Code made in the time range by repository." + REPO_HINT,
             total(selector(COMMITS, NAMED), by=REPO), "{{vcs_owner_name}}/{{vcs_repository_name}}", "short", 0,
             "no commits")),
    (8, bars("Pull Requests by Repository", "Pull requests Claude Code opened in the time range by repository."
             + REPO_HINT, total(selector(PULL_REQUESTS, NAMED), by=REPO), "{{vcs_owner_name}}/{{vcs_repository_name}}",
             "short", 0, "no pull requests")),
])
layout.add(8, [
    (24, table("Repositories", "Per repository in the time range: cost, tokens, lines added and removed, commits, "
               "pull requests and sessions, with the project it is mapped to." + REPO_HINT,
               REPO + ", project", NAMED,
               {"vcs_owner_name": "Owner", "vcs_repository_name": "Repository", "project": "Project"})),
])

dashboard = dashboard(
    "claude-code-repositories", "Claude Code / Repositories and Projects",
    "Cost, tokens, lines, commits and pull requests per repository and per project, from Claude Code's metrics "
    "(Prometheus). Repository names are an opt-in on the clients (claude_code_client_metrics_include_repository, "
    "Claude Code 2.1.332 and later) and on the collector (otel_collector_keep_repository); projects come from the "
    "collector's repository -> project mapping (otel_collector_repository_projects) or the clients' "
    "OTEL_RESOURCE_ATTRIBUTES. See docs/teams.md.",
    layout.panels, time_from="now-7d", refresh="5m", links=dashboard_links())


def main() -> None:
    write(dashboard, "claude-code-repositories.json")


if __name__ == "__main__":
    main()
