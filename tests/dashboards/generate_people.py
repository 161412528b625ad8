"""Generate files/dashboards/claude-code-people.json: members and session outcomes, without storing identities.

Per member: cost, sessions, commits, pull requests, lines; leaderboards; and session outcomes
(sessions with a commit and without, commits and pull requests per session). A member is
Claude Code's pseudonymous user_id (a random id per person and machine, never an e-mail
address); prometheus_people can give it a display name and a team, joined here at display time
(claude_code:people:info), and nothing is stored with the telemetry. Run after changing a panel:

    python3 tests/dashboards/generate_people.py
"""

from __future__ import annotations

from common import (  # pylint: disable=import-error
    ACTIVE, ADDED, COMMITS, COST, PULL_REQUESTS, REMOVED, Layout, acc, bargauge_options, by_name, dashboard,
    dashboard_links, field, merge_table, sessions, stat_options, table_options, table_target, target, thresholds,
    total, with_people, write,
)

layout = Layout()
NAMES = (" Members are Claude Code's pseudonymous user_id; prometheus_people gives them display names (the prometheus "
         "role), joined at display time: docs/teams.md says what each choice exposes.")
# Sessions with at least one commit in the time range: what each session's commit counter accrued.
WITH_COMMIT = f"sum by (session_id) ({acc(COMMITS, '$__range')}) > 0"
ANY_SESSION = f"count by (session_id) (count_over_time({COST}[$__range]))"


def stat(title, description, expr, unit="short", decimals=0, no_value="0"):
    return {"type": "stat", "title": title, "description": description,
            "targets": [target(expr, instant=True, legend=title)],
            "fieldConfig": field(unit, decimals, no_value=no_value), "options": stat_options("value")}


def leaderboard(title, description, expr, unit, decimals, no_value):
    return {"type": "bargauge", "title": title, "description": description + NAMES,
            "targets": [target(f"topk(10, {with_people(expr)})", instant=True, legend="{{member}}")],
            "fieldConfig": field(unit, decimals, no_value=no_value), "options": bargauge_options()}


# ---------------------------------------------------------------- 1. Session outcomes
layout.row("Session Outcomes")
layout.add(5, [
    (5, stat("Sessions", "Distinct sessions in the time range.", f"{sessions()} or vector(0)")),
    (5, stat("Sessions with a Commit", "Sessions in the time range in which Claude Code made at least one git commit "
             "(claude_code.commit.count). Telemetry says that a session committed, not whether the commit was its last "
             "act.", f"count({WITH_COMMIT}) or vector(0)")),
    (5, stat("Sessions without a Commit", "Sessions in the time range with no commit by Claude Code (questions, "
             "reviews, work committed by hand).",
             f"count({ANY_SESSION} unless on (session_id) ({WITH_COMMIT})) or vector(0)")),
    (5, stat("Commits per Session", "Commits in the time range per session. Shows 'no sessions' without any.",
             f"{total(COMMITS)} / ({sessions()} > 0)", decimals=2, no_value="no sessions")),
    (4, stat("Pull Requests per Session", "Pull requests Claude Code opened in the time range per session.",
             f"{total(PULL_REQUESTS)} / ({sessions()} > 0)", decimals=2, no_value="no sessions")),
])

# ---------------------------------------------------------------- 2. Members
layout.row("Members")
member_sessions = f"count by (user_id) (count by (user_id, session_id) (count_over_time({COST}[$__range])))"
member_with_commit = (f"count by (user_id) (count by (user_id, session_id) "
                      f"(sum by (user_id, session_id) ({acc(COMMITS, '$__range')}) > 0))")
COLUMNS = {"Value #A": "Cost", "Value #B": "Sessions", "Value #C": "Sessions with a commit", "Value #D": "Commits",
           "Value #E": "Pull requests", "Value #F": "Lines added", "Value #G": "Lines removed",
           "Value #H": "Active minutes", "member": "Member", "user_id": "User id"}
layout.add(9, [
    (24, {"type": "table", "title": "Members",
          "description": "Per member in the time range: cost, sessions, sessions with a commit, commits, pull requests, "
                         "lines added and removed, and minutes Claude Code worked." + NAMES,
          "targets": [table_target(with_people(total(COST, by="user_id")), "A"),
                      table_target(with_people(member_sessions), "B"),
                      table_target(with_people(member_with_commit), "C"),
                      table_target(with_people(total(COMMITS, by="user_id")), "D"),
                      table_target(with_people(total(PULL_REQUESTS, by="user_id")), "E"),
                      table_target(with_people(total(ADDED, by="user_id")), "F"),
                      table_target(with_people(total(REMOVED, by="user_id")), "G"),
                      table_target(with_people(f"{total(ACTIVE, by='user_id')} / 60"), "H")],
          "transformations": merge_table(COLUMNS, ("Time", "display_name")),
          "fieldConfig": {"defaults": {"unit": "short", "decimals": 0, "thresholds": thresholds(),
                                       "noValue": "none in the time range", "color": {"mode": "thresholds"},
                                       "custom": {"align": "auto", "filterable": True}},
                          "overrides": [by_name("Cost", unit="currencyUSD", decimals=2),
                                        by_name("Active minutes", decimals=1)]},
          "options": table_options("Cost")}),
])

# ---------------------------------------------------------------- 3. Leaderboards
layout.row("Leaderboards")
layout.add(8, [
    (6, leaderboard("Cost by Member", "The ten members who cost most in the time range.", total(COST, by="user_id"),
                    "currencyUSD", 2, "nothing spent")),
    (6, leaderboard("Commits by Member", "The ten members whose sessions made most commits in the time range.",
                    total(COMMITS, by="user_id"), "short", 0, "no commits")),
    (6, leaderboard("Lines Added by Member", "The ten members whose sessions added most lines in the time range.",
                    total(ADDED, by="user_id"), "short", 0, "no lines")),
    (6, leaderboard("Commits per Session by Member", "Commits per session in the time range, for the ten members "
                    "with the most.", f"{total(COMMITS, by='user_id')} / on (user_id) ({member_sessions} > 0)",
                    "short", 2, "no sessions")),
])
layout.add(8, [
    (12, {"type": "bargauge", "title": "Sessions with a Commit by Team",
          "description": "Share of each team's sessions in the time range in which Claude Code made a commit.",
          "targets": [target(f"100 * count by (team) (count by (team, session_id) (sum by (team, session_id) "
                             f"({acc(COMMITS, '$__range')}) > 0)) / on (team) count by (team) (count by (team, "
                             f"session_id) (count_over_time({COST}{{team!=\"\"}}[$__range])))", instant=True,
                             legend="{{team}}")],
          "fieldConfig": field("percent", 0, no_value="no team sessions", min=0, max=100),
          "options": bargauge_options()}),
    (12, {"type": "bargauge", "title": "Cost per Commit by Member",
          "description": "What each member's sessions cost per commit in the time range (members with a commit)."
                         + NAMES,
          "targets": [target(with_people(f"{total(COST, by='user_id')} / on (user_id) "
                                         f"({total(COMMITS, by='user_id')} > 0)"), instant=True, legend="{{member}}")],
          "fieldConfig": field("currencyUSD", 2, no_value="no commits"), "options": bargauge_options()}),
])

dashboard = dashboard(
    "claude-code-people", "Claude Code / People",
    "Members, leaderboards and session outcomes (sessions with a commit and without, commits and pull requests per "
    "session), from Claude Code's metrics. A member is Claude Code's pseudonymous user_id, with the display name "
    "and team of prometheus_people when you set them: joined at display time, never stored with the telemetry, "
    "and no e-mail address anywhere. docs/teams.md says what each switch exposes.",
    layout.panels, time_from="now-7d", refresh="5m", links=dashboard_links())


def main() -> None:
    write(dashboard, "claude-code-people.json")


if __name__ == "__main__":
    main()
