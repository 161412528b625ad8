"""Generate files/dashboards/claude-code-budgets.json: spend against the budgets of the inventory.

Month to date, today and the forecast to the month's end per team, user and for the
organisation, against prometheus_budgets; the burn-down; the top sessions; and the share of
tokens from models the price list does not know. Run after changing a panel:

    python3 tests/dashboards/generate_budgets.py

The calendar (local days and months of prometheus_calendar_utc_offset) is computed by the rules of
files/rules/claude_code_budgets.yml, which these panels read: a dashboard's own time range cannot
follow a time zone that Grafana's viewer does not share.
"""

from __future__ import annotations

from common import (  # pylint: disable=import-error
    COST, TOKENS, Layout, bargauge_options, by_name, dashboard, dashboard_links, field, merge_table,
    stat_options, table_options, table_target, target, thresholds, timeseries_options, total, ts_field,
    with_people, write,
)

layout = Layout()
MTD = "claude_code:cost_usage_USD:month_to_date"
TODAY = "claude_code:cost_usage_USD:today"
FORECAST = "claude_code:cost_usage_USD:forecast_month"
BUDGET = "claude_code:budget_usd"
MONTH = (" Fixed window: the current calendar month in the budgets' time zone (prometheus_calendar_utc_offset), "
         "whatever the dashboard's time range; the rules of claude_code_budgets.yml compute it.")
DAY = (" Fixed window: the current calendar day in the budgets' time zone (prometheus_calendar_utc_offset), "
       "whatever the dashboard's time range.")
SETUP = (" Budgets come from the prometheus role's prometheus_budgets (0: no budget); teams are the `team` "
         "label (OTEL_RESOURCE_ATTRIBUTES), users Claude Code's pseudonymous user_id, names from prometheus_people.")


def stat(title, description, targets, unit="currencyUSD", decimals=2, time_from=None, steps=()):
    panel = {"type": "stat", "title": title, "description": description, "targets": targets,
             "fieldConfig": field(unit, decimals, steps), "options": stat_options()}
    if time_from:
        panel["timeFrom"] = time_from
    return panel


def table(title, description, targets, rename, sort_by, units, time_from=None, hide=("Time",)):
    overrides = [by_name(name, unit=unit, decimals=decimals) for name, (unit, decimals) in units.items()]
    panel = {"type": "table", "title": title, "description": description, "targets": targets,
             "transformations": merge_table(rename, hide),
             "fieldConfig": {"defaults": {"unit": "currencyUSD", "decimals": 2, "thresholds": thresholds(),
                                          "noValue": "nothing spent", "color": {"mode": "thresholds"},
                                          "custom": {"align": "auto", "filterable": True}},
                             "overrides": overrides},
             "options": table_options(sort_by)}
    if time_from:
        panel["timeFrom"] = time_from
    return panel


# ---------------------------------------------------------------- 1. The organisation
layout.row("Organisation")
layout.add(5, [
    (6, stat("Organisation: Month to Date", "All of Claude Code's cost (its own cost metric) in the current calendar "
             "month, and the organisation's monthly budget." + MONTH + SETUP,
             [target(f"{MTD}_total or vector(0)", "A", "Month to date", instant=True),
              target(f"{BUDGET}:monthly_organisation or vector(0)", "B", "Monthly budget", instant=True)],
             time_from="now/M")),
    (6, stat("Organisation: Forecast to Month End", "The month to date plus the last 7 days' daily average for "
             "the days left, against the monthly budget." + MONTH,
             [target(f"{FORECAST}_total or vector(0)", "A", "Forecast", instant=True),
              target(f"{BUDGET}:monthly_organisation or vector(0)", "B", "Monthly budget", instant=True)],
             time_from="now/M")),
    (6, stat("Organisation: Today", "All of Claude Code's cost since local midnight, and the daily budget." + DAY,
             [target(f"{TODAY}_total or vector(0)", "A", "Today", instant=True),
              target(f"{BUDGET}:daily_organisation or vector(0)", "B", "Daily budget", instant=True)],
             time_from="now/d")),
    (6, {"type": "stat", "title": "Unpriced Model Share",
         "description": "Share of the tokens in the time range that came from models files/model_prices.yml (or "
                        "grafana_model_prices) has no price for. Budgets use Claude Code's own cost and are not "
                        "affected; the token-derived cost panels leave these tokens out rather than guess a price.",
         "targets": [target("", "A", "Unpriced share", instant=True,
                            tccUnpriced={"window": "$__range", "shareOf": total(TOKENS)})],
         "fieldConfig": field("percent", 1, [("orange", 0.1)], no_value="no tokens"),
         "options": stat_options("value")}),
])

# ---------------------------------------------------------------- 2. Teams
layout.row("Teams")
TEAM_COLUMNS = {"Value #A": "Month to date", "Value #B": "Monthly budget", "Value #C": "Used", "Value #D": "Forecast",
                "Value #E": "Today", "Value #F": "Daily budget", "team": "Team"}
used_by_team = f"100 * {MTD}_by_team / on (team) {BUDGET}:monthly_by_team_in_effect"
layout.add(8, [
    (14, table("Teams: Month to Date vs Budget",
               "Per team: the month to date, its monthly budget (its own, else the default for teams not listed), the "
               "share used, the forecast to the month's end, today's spend and the daily budget." + MONTH + SETUP,
               [table_target(f"{MTD}_by_team", "A"),
                table_target(f"{BUDGET}:monthly_by_team_in_effect", "B"),
                table_target(used_by_team, "C"),
                table_target(f"{FORECAST}_by_team", "D"),
                table_target(f"{TODAY}_by_team", "E"),
                table_target(f"{BUDGET}:daily_by_team_in_effect", "F")],
               TEAM_COLUMNS, "Month to date", {"Used": ("percent", 0)}, time_from="now/M")),
    (10, {"type": "bargauge", "title": "Budget Used by Team (Month to Date)",
          "description": "The month to date as a share of each team's monthly budget; teams without one are not "
                         "shown." + MONTH,
          "timeFrom": "now/M",
          "targets": [target(used_by_team, instant=True, legend="{{team}}")],
          "fieldConfig": field("percent", 0, [("yellow", 80), ("red", 100)], no_value="no team budget", min=0,
                               max=100),
          "options": bargauge_options()}),
])
layout.add(8, [
    (24, {"type": "timeseries", "title": "Team Burn-down (Month to Date)",
          "description": "What is left of each team's monthly budget over the month (its budget less its month to "
                         "date); below zero, the budget is spent." + MONTH,
          "timeFrom": "now/M",
          "targets": [target(f"{BUDGET}:monthly_by_team_in_effect - on (team) ({MTD}_by_team or on (team) "
                             f"0 * {BUDGET}:monthly_by_team_in_effect)", legend="{{team}}")],
          "fieldConfig": ts_field("currencyUSD", 2), "options": timeseries_options(["lastNotNull", "min"])}),
])

# ---------------------------------------------------------------- 3. Users
layout.row("Users")
USER_COLUMNS = {"Value #A": "Month to date", "Value #B": "Monthly budget", "Value #C": "Forecast", "Value #D": "Today",
                "member": "Member", "user_id": "User id", "display_name": "Name"}
layout.add(8, [
    (14, table("Users: Month to Date vs Budget",
               "Per user (Claude Code's pseudonymous user_id, with the display name prometheus_people gives it): the "
               "month to date, its monthly budget, the forecast and today's spend." + MONTH + SETUP,
               [table_target(with_people(f"{MTD}_by_user"), "A"),
                table_target(with_people(f"{BUDGET}:monthly_by_user_in_effect"), "B"),
                table_target(with_people(f"{FORECAST}_by_user"), "C"),
                table_target(with_people(f"{TODAY}_by_user"), "D")],
               USER_COLUMNS, "Month to date", {}, time_from="now/M", hide=("Time", "display_name"))),
    (10, {"type": "bargauge", "title": "Top Users (Month to Date)",
          "description": "The ten users who spent most this month (display names from prometheus_people)." + MONTH,
          "timeFrom": "now/M",
          "targets": [target(f"topk(10, {with_people(MTD + '_by_user')})", instant=True, legend="{{member}}")],
          "fieldConfig": field("currencyUSD", 2, no_value="nothing spent"), "options": bargauge_options()}),
])

# ---------------------------------------------------------------- 4. Sessions and the month
layout.row("Sessions and the Month")
top_sessions = f"topk(20, {total(COST, by='session_id, team, user_id')})"
layout.add(9, [
    (14, table("Top Sessions by Cost", "The 20 sessions that cost most in the dashboard's time range, with their team "
               "and user. Needs session_id on the metrics (the collector's default).",
               [table_target(top_sessions, "A")],
               {"Value": "Cost", "session_id": "Session", "team": "Team", "user_id": "User id"}, "Cost", {})),
    (10, {"type": "timeseries", "title": "Organisation Month to Date over Time",
          "description": "The month to date, the forecast to the month's end and the monthly budget over the "
                         "month." + MONTH,
          "timeFrom": "now/M",
          "targets": [target(f"{MTD}_total", "A", "Month to date"), target(f"{FORECAST}_total", "B", "Forecast"),
                      target(f"{BUDGET}:monthly_organisation > 0", "C", "Monthly budget")],
          "fieldConfig": ts_field("currencyUSD", 2), "options": timeseries_options(["lastNotNull"])}),
])

dashboard = dashboard(
    "claude-code-budgets", "Claude Code / Budgets",
    "Claude Code's spend against the budgets of the inventory (prometheus_budgets): month to date, today and the "
    "forecast per team, user and for the organisation, in the calendar of prometheus_calendar_utc_offset (a fixed "
    "offset from UTC: no daylight saving time). Alerts: ClaudeCodeTeamBudgetReached, ClaudeCodeUserBudgetReached, "
    "ClaudeCodeOrganisationBudgetReached, the *BudgetForecastExceeded alerts, ClaudeCodeTeamSpendUnusual.",
    layout.panels, time_from="now-7d", refresh="5m", links=dashboard_links())


def main() -> None:
    write(dashboard, "claude-code-budgets.json")


if __name__ == "__main__":
    main()
