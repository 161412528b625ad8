# -*- coding: utf-8 -*-
# Copyright: telemetry.claude_code developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus rules rendered from the inventory: budgets, silence, people.

Three rule files depend on inventory data, not only on thresholds:

- ``claude_code_budgets.yml``: spend limits per team, per user and for the organisation, per
  local calendar day and month (``prometheus_budgets``), what was spent month to date and
  today, a forecast to the month's end, and their alerts; the people mapping
  (``prometheus_people``: user id -> display name, team), read by the dashboards at display time.
- ``claude_code_silence.yml``: teams and users that sent telemetry on each of the last N
  working days and none today, a collector that accepts nothing while it is up, and a Claude
  Code version that stops sending a metric that every session of every supported version sends
  (the catalogs, docs/catalog/).

``render(name, settings)`` returns the text of one of them; the files in files/rules/ are that
text for ``DEFAULTS`` (tests/rules/generate.py writes them, tests/unit/test_inventory_rules.py
keeps them equal), and the prometheus role renders them again with the inventory's settings
(filter ``telemetry.claude_code.inventory_rules``).

The calendar: Prometheus has no time zones. The zone is a fixed offset from UTC
(``utc_offset``, "+02:00"); a local day is the 24 hours from local midnight, a local month
runs from local midnight of its first day. Money is what each series accrued in a window
(pricing.accrued: its highest value in the window minus its last value before it), never
increase(); the sums by team and user are written as pricing.accrued_terms, which reads each
day (and the 7 days of the forecast's pace) once instead of twice, with the same sums. A
group whose series all stopped in the hour before a day is 0 that day, not absent. A window cannot be as long as "since local midnight" (PromQL ranges are
constants), so a day is read by a subquery whose steps, aligned by Prometheus to multiples of
one day since the epoch (UTC midnights), each read the local day that begins at the step
plus a constant shift, with a negative offset (a window that ends after the step). The
current local day's step is in the subquery's range, its window just ends in the future,
where there is no data yet. The month to date adds up the days whose local month is the
current one (``@ end()``: the evaluation time, inside the subquery). Exact at every month end,
leap day and offset; a sample exactly at local midnight belongs to the day that ends there.
The limit, said in the README: a fixed offset knows no daylight saving time.

Plain Python with no Ansible imports (the generators and unit tests import it directly).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import copy
import json
import math
import re
import textwrap

try:
    from ansible_collections.telemetry.claude_code.plugins.module_utils.pricing import (
        FLEET_COUNTERS, FLEET_SESSIONS_ENDED, FLEET_SESSIONS_STARTED, accrued, accrued_terms, fleet_counter, fleet_sessions)
except ImportError:  # the generators and unit tests put plugins/module_utils on sys.path
    from pricing import (  # pylint: disable=import-error
        FLEET_COUNTERS, FLEET_SESSIONS_ENDED, FLEET_SESSIONS_STARTED, accrued, accrued_terms, fleet_counter, fleet_sessions)

DAY = 86400
FILES = ("claude_code_budgets.yml", "claude_code_fleet.yml", "claude_code_silence.yml")
# The expression of a record the inventory gives no series: nothing, but the name stays defined
# for the rules and dashboards that read it.
EMPTY = "vector(0) < 0"
# PromQL's day_of_week(): 0 is Sunday. 1970-01-01, day 0 of Unix time, was a Thursday (4).
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
EPOCH_WEEKDAY = 4
JOB = 'job=~"claude-code.*"'
COST = "claude_code_cost_usage_USD_total"
SESSIONS = "claude_code_session_count_total"
# The metrics every session of every supported Claude Code version sends (each catalog lists
# them in every scenario: docs/catalog/claude-code-<version>.json, "scenarios": "all"), which
# the dashboards need. tests/unit/test_inventory_rules.py checks this against the catalogs.
EVERY_SESSION = (
    "claude_code_active_time_seconds_total",
    "claude_code_cost_usage_USD_total",
    "claude_code_session_count_total",
    "claude_code_token_usage_tokens_total",
)

DEFAULTS = {
    # The budgets' and the silence alerts' time zone, a fixed offset from UTC.
    "utc_offset": "+00:00",
    "working_days": ["mon", "tue", "wed", "thu", "fri"],
    "budgets": {
        "default_team_monthly_usd": 0,
        "default_team_daily_usd": 0,
        "default_user_monthly_usd": 0,
        "default_user_daily_usd": 0,
        "organisation": {"monthly_usd": 0, "daily_usd": 0},
        "teams": [],
        "users": [],
    },
    "budgets_interval": "2m",
    "people": [],
    "silence_working_days": 3,
    "silence_period": "1d",
    "silence_interval": "5m",
    # The fleet counters (claude_code_fleet.yml): evaluated every fleet_interval, each window
    # ending fleet_settle before the evaluation (longer than the collectors' delivery delay), and
    # healing what came late or was not evaluated for up to fleet_heal.
    "fleet_interval": "1m",
    "fleet_settle": "2m",
    "fleet_heal": "2h",
}

THRESHOLDS = {
    "claude_code_budgets.yml": [
        ("team_anomaly_factor", 3,
         "A team's last hour above this many times its own average hourly spend of the last 7 days "
         "(ClaudeCodeTeamSpendUnusual) ..."),
        ("team_anomaly_min_hourly_usd", 2, "... and above this many USD, so that small amounts never page."),
    ],
    "claude_code_silence.yml": [
        ("silence_after_local_hour", 11,
         "Local hour (of utc_offset) after which a working day without telemetry from a team or user "
         "that sent some on each of the last working days is silence (ClaudeCodeTeamSilent, ClaudeCodeUserSilent)."),
        ("collector_silence_from_local_hour", 10,
         "Local working hours in which a collector that accepts no metric point for an hour is silence "
         "(ClaudeCodeCollectorAcceptsNothing): from ..."),
        ("collector_silence_until_local_hour", 17, "... until this hour."),
        ("version_silence_min_sessions", 3,
         "Sessions of one Claude Code version in 6 hours before one missing metric is silence "
         "(ClaudeCodeVersionStoppedEmitting)."),
    ],
}


# ------------------------------------------------------------------------ settings

class SettingsError(ValueError):
    """The inventory's settings cannot be rendered into rules."""


_OFFSET = re.compile(r"^(?:Z|UTC|([+-])([0-9]{2}):([0-9]{2}))$")
_DURATION = re.compile(r"^([0-9]+)(s|m|h|d)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": DAY}


def utc_offset_seconds(text):
    """'+05:30' -> 19800, '-03:00' -> -10800, 'Z' or '+00:00' -> 0."""
    match = _OFFSET.match(str(text).strip())
    if not match:
        raise SettingsError("utc_offset must be +HH:MM or -HH:MM (a fixed offset from UTC), got {0!r}".format(text))
    if not match.group(1):
        return 0
    hours, minutes = int(match.group(2)), int(match.group(3))
    if minutes >= 60 or hours * 60 + minutes > 14 * 60:
        raise SettingsError("utc_offset {0!r} is not an offset that exists (at most 14:00)".format(text))
    return (hours * 3600 + minutes * 60) * (-1 if match.group(1) == "-" else 1)


def seconds(duration):
    match = _DURATION.match(str(duration))
    if not match or int(match.group(1)) <= 0:
        raise SettingsError("{0!r} is not a duration such as 90s, 5m, 1h or 1d".format(duration))
    return int(match.group(1)) * _UNITS[match.group(2)]


def duration(total, millis=0):
    """86399 s and 999 ms -> '23h59m59s999ms'; negative values get a leading '-'."""
    if total < 0 or (total == 0 and millis < 0):
        return "-" + duration(-total, -millis)
    out = ""
    for unit, size in (("d", DAY), ("h", 3600), ("m", 60), ("s", 1)):
        if total >= size:
            out += "{0}{1}".format(total // size, unit)
            total %= size
    if millis:
        out += "{0}ms".format(millis)
    return out or "0s"


def _number(value, what):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SettingsError("{0} must be a number of USD, got {1!r}".format(what, value))
    if number < 0 or math.isnan(number) or math.isinf(number):
        raise SettingsError("{0} must be a non-negative number, got {1!r}".format(what, value))
    return number


def _text(value, what):
    if not isinstance(value, str) or not value.strip() or "\n" in value:
        raise SettingsError("{0} must be a non-empty one-line string, got {1!r}".format(what, value))
    return value


def normalise(settings=None):
    """DEFAULTS with the given settings merged in, checked; raises SettingsError."""
    merged = copy.deepcopy(DEFAULTS)
    for key, value in (settings or {}).items():
        if key not in DEFAULTS:
            raise SettingsError("unknown setting {0!r}; known: {1}".format(key, ", ".join(sorted(DEFAULTS))))
        if value is None:
            continue
        if key == "budgets":
            if not isinstance(value, dict):
                raise SettingsError("budgets must be a mapping")
            unknown = set(value) - set(DEFAULTS["budgets"])
            if unknown:
                raise SettingsError("unknown budgets keys {0}; known: {1}".format(
                    sorted(unknown), ", ".join(sorted(DEFAULTS["budgets"]))))
            merged["budgets"].update(copy.deepcopy(value))
        else:
            merged[key] = copy.deepcopy(value)
    utc_offset_seconds(merged["utc_offset"])
    days = merged["working_days"]
    if not isinstance(days, list) or not days or not set(days) <= set(WEEKDAYS) or len(set(days)) != len(days):
        raise SettingsError("working_days must be a non-empty list of distinct days of {0}, got {1!r}".format(
            ", ".join(WEEKDAYS), days))
    budgets = merged["budgets"]
    for key in ("default_team_monthly_usd", "default_team_daily_usd", "default_user_monthly_usd",
                "default_user_daily_usd"):
        budgets[key] = _number(budgets[key], "budgets." + key)
    organisation = budgets.get("organisation") or {}
    if not isinstance(organisation, dict) or set(organisation) - {"monthly_usd", "daily_usd"}:
        raise SettingsError("budgets.organisation takes monthly_usd and daily_usd, got {0!r}".format(organisation))
    budgets["organisation"] = {k: _number(organisation.get(k, 0), "budgets.organisation." + k)
                               for k in ("monthly_usd", "daily_usd")}
    for kind, key in (("teams", "team"), ("users", "user_id")):
        entries = budgets[kind] or []
        if not isinstance(entries, list):
            raise SettingsError("budgets.{0} must be a list".format(kind))
        seen = set()
        checked = []
        for entry in entries:
            if not isinstance(entry, dict) or set(entry) - {key, "monthly_usd", "daily_usd"} or key not in entry:
                raise SettingsError("each of budgets.{0} is {{{1}: ..., monthly_usd: ..., daily_usd: ...}}, got {2!r}".format(
                    kind, key, entry))
            name = _text(entry[key], "budgets.{0}[].{1}".format(kind, key))
            if name in seen:
                raise SettingsError("budgets.{0}: {1!r} is listed twice".format(kind, name))
            seen.add(name)
            checked.append({key: name,
                            "monthly_usd": _number(entry.get("monthly_usd"), "{0} monthly_usd".format(name))
                            if "monthly_usd" in entry else None,
                            "daily_usd": _number(entry.get("daily_usd"), "{0} daily_usd".format(name))
                            if "daily_usd" in entry else None})
        budgets[kind] = checked
    people = merged["people"] or []
    if not isinstance(people, list):
        raise SettingsError("people must be a list")
    seen = set()
    checked = []
    for entry in people:
        if not isinstance(entry, dict) or set(entry) - {"user_id", "name", "team"} or not {"user_id", "name"} <= set(entry):
            raise SettingsError("each of people is {{user_id: ..., name: ..., team: ...}} (team optional), got {0!r}".format(
                entry))
        user = _text(entry["user_id"], "people[].user_id")
        if user in seen:
            raise SettingsError("people: user_id {0!r} is listed twice".format(user))
        seen.add(user)
        checked.append({"user_id": user, "name": _text(entry["name"], "people[].name"),
                        "team": _text(entry["team"], "people[].team") if entry.get("team") else ""})
    merged["people"] = checked
    count = merged["silence_working_days"]
    if isinstance(count, str) and count.strip().isdigit():
        count = merged["silence_working_days"] = int(count)
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 20:
        raise SettingsError("silence_working_days must be a whole number from 1 to 20, got {0!r}".format(count))
    period = seconds(merged["silence_period"])
    if period != DAY and len(days) != 7:
        raise SettingsError("a silence_period other than 1d (for tests) has no weekdays: list all seven working_days")
    seconds(merged["budgets_interval"])
    seconds(merged["silence_interval"])
    interval, settle, heal = (seconds(merged[key]) for key in ("fleet_interval", "fleet_settle", "fleet_heal"))
    if not 1 <= interval <= 1800:
        raise SettingsError("fleet_interval must be from 1s to 30m (the counter reads its last value of the hour "
                            "before), got {0!r}".format(merged["fleet_interval"]))
    if heal < 2 * interval or settle >= heal:
        raise SettingsError("fleet_heal must be at least two fleet_interval and longer than fleet_settle, got "
                            "{0!r} (interval {1!r}, settle {2!r})".format(
                                merged["fleet_heal"], merged["fleet_interval"], merged["fleet_settle"]))
    return merged


# ------------------------------------------------------------------------ calendar

class Calendar:
    """Local periods (days, or a shorter silence_period for tests) of a fixed UTC offset.

    A subquery with step P has its steps at multiples of P since the epoch. The local period
    that starts at or after a step tau begins at tau + shift (shift = -offset mod P), so a window
    of length P with offset -(shift + P) at the step reads exactly that period, and the local
    date of that period is the UTC date of tau + jump (jump = shift + offset, a multiple of P).
    """

    def __init__(self, utc_offset, period=DAY):
        self.offset = utc_offset_seconds(utc_offset)
        self.period = period
        self.shift = (-self.offset) % period
        self.jump = self.shift + self.offset
        if self.jump % period != 0:
            raise SettingsError("utc offset {0} s does not divide into periods of {1} s".format(self.offset, period))

    def plus(self, expr, amount):
        if not amount:
            return expr
        return "{0} {1} {2}".format(expr, "+" if amount > 0 else "-", abs(amount))

    def period_accrued(self, selector):
        """What the series of the selector accrued in the local period of the subquery step: terms
        to be summed (pricing.accrued_terms: the day is read once, not twice)."""
        return _accrued_terms(selector, duration(self.period), "-" + duration(self.shift + self.period))

    def period_present(self, selector):
        """count_over_time of the selector in the local period of the subquery step."""
        return "count_over_time({0}[{1}] offset -{2})".format(
            selector, duration(self.period), duration(self.shift + self.period))

    def steps(self, count, back=0):
        """The range and offset of a subquery over `count` periods, the last one `back` periods ago.

        The range is one millisecond short of count periods, so that exactly `count` steps fall in
        it whether Prometheus closes it on the left (2.x) or not (3.x).
        """
        total = count * self.period
        rng = duration(total - 1, 999)
        offset = self.shift + back * self.period
        return "[{0}:{1}]{2}".format(rng, duration(self.period), " offset {0}".format(duration(offset)) if offset else "")

    def step_time(self):
        """At a subquery step: the start of its local period as a local wall-clock timestamp."""
        return self.plus("time()", self.jump)

    def now(self):
        """The local wall-clock time of the evaluation, also inside a subquery (@ end())."""
        return "scalar(last_over_time(vector({0})[1s:1s] @ end()))".format(self.plus("time()", self.offset))

    def local_time(self):
        """The local wall-clock time of the evaluation (outside a subquery)."""
        return self.plus("time()", self.offset)


def _ranges(days):
    """Working weekdays as runs of consecutive weekday numbers (0 = Sunday): [(1, 5)] for mon..fri."""
    numbers = sorted(WEEKDAYS.index(d) for d in days)
    runs = []
    for number in numbers:
        if runs and runs[-1][1] == number - 1:
            runs[-1] = (runs[-1][0], number)
        else:
            runs.append((number, number))
    return runs


def _span(days, count):
    """How many periods back the last `count` working days before any day reach, at most."""
    working = {WEEKDAYS.index(d) for d in days}
    longest = 0
    for today in range(7):
        found, back = 0, 0
        while found < count:
            back += 1
            if (today - back) % 7 in working:
                found += 1
        longest = max(longest, back)
    return longest


def _weekday(index):
    """PromQL: the weekday number (0 = Sunday) of a local period index (a vector expression)."""
    return "(({0} + {1}) % 7)".format(index, EPOCH_WEEKDAY)


def is_working(index, days):
    """PromQL: 1 when the period of this index is a working day, else 0 (vector expression)."""
    weekday = _weekday(index)
    terms = []
    for first, last in _ranges(days):
        if first == last:
            terms.append("({0} == bool {1})".format(weekday, first))
        else:
            terms.append("({0} >= bool {1}) * ({0} <= bool {2})".format(weekday, first, last))
    return "(" + " + ".join(terms) + ")"


def working_index(index, days):
    """PromQL: the number of working days up to and including this period (vector expression).

    Only differences of it mean anything: weeks since the epoch's week times the working days of
    a week, plus the working days of the current week up to and including its weekday.
    """
    weekday = _weekday(index)
    terms = ["floor(({0} + {1}) / 7) * {2}".format(index, EPOCH_WEEKDAY, len(days))]
    for first, last in _ranges(days):
        shifted = weekday if first == 1 else "{0} - {1}".format(weekday, first - 1) if first else "{0} + 1".format(weekday)
        terms.append("clamp({0}, 0, {1})".format(shifted, last - first + 1))
    return "(" + " + ".join(terms) + ")"


# ------------------------------------------------------------------------ writing

# pricing's two accrual forms, and how files/rules/claude_code_recording.yml lays each out on lines.
_LAYOUTS = (
    (re.compile(r"^\((max_over_time\(.*?\)) - \((last_over_time\(.*?\)) or (max_over_time\(.*?\) \* 0)\)\)$"),
     ("  {0}", "- (", "      {1}", "    or", "      {2}", "  )")),
    (re.compile(r"^\(\((max_over_time\(.*?\)) or (last_over_time\(.*?\))\) or (label_replace\(.*\))\)$"),
     ("      {0}", "    or", "      {1}", "  or", "    {2}")),
)


def _laid_out(text):
    """A pricing form on the lines the recording rules write it on (unchanged if not one)."""
    for pattern, lines in _LAYOUTS:
        match = pattern.match(text)
        if match:
            return "\n".join(line.format(*match.groups()) for line in lines)
    return text


def _accrued(selector, window, offset=""):
    """pricing.accrued(), laid out on lines."""
    return _laid_out(accrued(selector, window, offset))


def _accrued_terms(selector, window, offset=""):
    """pricing.accrued_terms(), laid out on lines."""
    return _laid_out(accrued_terms(selector, window, offset))


def _split(expr, operator):
    """The top-level operands of `(a OP b OP c)`, or [expr] when it is not one."""
    if not (expr.startswith("(") and expr.endswith(")")):
        return [expr]
    parts, depth, start = [], 0, 1
    for index, char in enumerate(expr[1:-1], start=1):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return [expr]  # the first and last parentheses are not a pair
        if depth == 0 and expr[index:index + len(operator) + 2] == " {0} ".format(operator):
            parts.append(expr[start:index])
            start = index + len(operator) + 2
    parts.append(expr[start:-1])
    return parts


def _terms(expr, indent):
    """A sum or product written as `(a + b)`, `(a * b)` laid out with one operand a line."""
    for operator in ("+", "*"):
        parts = _split(expr, operator)
        if len(parts) > 1:
            pad = " " * indent
            lines = [pad + "  " + (operator + " " if i else "  ") + part for i, part in enumerate(parts)]
            return "(\n" + "\n".join(lines) + "\n" + pad + ")"
    return expr


def _q(text):
    """A PromQL double-quoted string (Go's escapes; UTF-8 as it is)."""
    return json.dumps(text, ensure_ascii=False)


def _constant(value, labels=()):
    expr = "vector({0})".format(_num(value))
    for name, label in labels:
        expr = 'label_replace({0}, "{1}", {2}, "", "")'.format(expr, name, _q(label))
    return expr


def _num(value):
    number = float(value)
    return str(int(number)) if number == int(number) else repr(number)


def _indent(text, spaces):
    pad = " " * spaces
    return "\n".join(pad + line if line.strip() else "" for line in text.strip("\n").split("\n"))


def _block(expr):
    """`|` and the expression's lines: `|2` when its first line is indented (YAML needs to be told)."""
    expr = textwrap.dedent(expr.strip("\n"))
    return ("|2" if expr[:1].isspace() else "|"), _indent(expr, 10)


class _File:
    def __init__(self, header):
        self.lines = ["---"] + ["# " + line if line else "#" for line in header] + ["groups:"]

    def group(self, name, comment=(), interval=None):
        self.lines.append("")
        for line in comment:
            self.lines.append("  # " + line if line else "  #")
        self.lines.append("  - name: {0}".format(name))
        if interval:
            self.lines.append("    interval: {0}".format(interval))
        self.lines.append("    rules:")

    def _comment(self, comment):
        for line in comment:
            self.lines.append("      # " + line if line else "      #")

    def threshold(self, name, value, comment):
        self._comment(_wrap(comment))
        self.lines.append("      - record: claude_code:alert_threshold:{0}".format(name))
        self.lines.append('        expr: "{0}"'.format(_num(value)))

    def record(self, name, expr, comment=()):
        self._comment(comment)
        self.lines.append("      - record: {0}".format(name))
        if "\n" in expr.strip() or len(expr) > 90:
            style, body = _block(expr)
            self.lines.append("        expr: " + style)
            self.lines.append(body)
        else:
            self.lines.append("        expr: {0}".format(expr))

    def alert(self, name, expr, severity, summary, description, comment=(), for_=None):
        self._comment(comment)
        self.lines.append("      - alert: {0}".format(name))
        style, body = _block(expr)
        self.lines.append("        expr: " + style)
        self.lines.append(body)
        if for_:
            self.lines.append("        for: {0}".format(for_))
        self.lines.append("        labels:")
        self.lines.append("          severity: {0}".format(severity))
        self.lines.append("        annotations:")
        self.lines.append("          summary: {0}".format(json.dumps(summary)))
        self.lines.append("          description: >-")
        self.lines.append(_indent("\n".join(_wrap(description, 100)), 12))

    def text(self):
        return "\n".join(self.lines) + "\n"


def _wrap(text, width=96):
    words = text.split()
    lines, line = [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = (line + " " + word).strip()
    if line:
        lines.append(line)
    return lines


def _zone(settings):
    offset = utc_offset_seconds(settings["utc_offset"])
    sign = "-" if offset < 0 else "+"
    return "UTC{0}{1:02d}:{2:02d}".format(sign, abs(offset) // 3600, abs(offset) % 3600 // 60)


# ------------------------------------------------------------------------ budgets

def _budgets(settings):
    cal = Calendar(settings["utc_offset"])
    zone = _zone(settings)
    budgets = settings["budgets"]
    cost = "{0}{{{1}}}".format(COST, JOB)
    out = _File([
        "Budgets of Claude Code's spend (telemetry.claude_code): per team, per user and for the",
        "organisation, per local calendar day and month, with their alerts; and the people mapping.",
        "",
        "GENERATED by plugins/module_utils/inventory_rules.py (tests/rules/generate.py writes this file",
        "with the defaults; the prometheus role renders it again from prometheus_budgets,",
        "prometheus_people and prometheus_calendar_utc_offset). Edit the generator, not this file.",
        "",
        "Time zone: {0} (prometheus_calendar_utc_offset), a fixed offset: no daylight saving time.".format(zone),
        "Money is Claude Code's own cost (claude_code_cost_usage_USD_total), what each series accrued",
        "in a window (its highest value in it minus its last value before it), never increase(),",
        "summed as terms that read each window once (the rules' tcc_accrual label; pricing.py).",
        "A local day is read by a subquery step (steps are UTC midnights) with a negative offset;",
        "the month to date adds up the local days of the current local month (@ end() is the",
        "evaluation time inside the subquery). See the module's docstring for the arithmetic.",
        "A budget of 0 is no budget: nothing is compared with it.",
    ])

    out.group("claude_code_budget_thresholds")
    for name, value, comment in THRESHOLDS["claude_code_budgets.yml"]:
        out.threshold(name, value, comment)

    out.group("claude_code_inventory", [
        "What the inventory says: budgets in USD (prometheus_budgets) and who is who",
        "(prometheus_people). Constants; the spend group and the dashboards read them.",
    ])
    out.record("claude_code:budget_usd:monthly_team_default", _constant(budgets["default_team_monthly_usd"]),
               ["USD a team not listed below may spend in a local calendar month (0: no budget)."])
    out.record("claude_code:budget_usd:daily_team_default", _constant(budgets["default_team_daily_usd"]),
               ["... and in a local calendar day."])
    out.record("claude_code:budget_usd:monthly_user_default", _constant(budgets["default_user_monthly_usd"]),
               ["USD a user (user_id) not listed below may spend in a local calendar month (0: no budget) ..."])
    out.record("claude_code:budget_usd:daily_user_default", _constant(budgets["default_user_daily_usd"]),
               ["... and in a local calendar day."])
    out.record("claude_code:budget_usd:monthly_organisation", _constant(budgets["organisation"]["monthly_usd"]),
               ["USD all of Claude Code may spend in a local calendar month (0: no budget) ..."])
    out.record("claude_code:budget_usd:daily_organisation", _constant(budgets["organisation"]["daily_usd"]),
               ["... and in a local calendar day."])
    for kind, label, scope in (("teams", "team", "team"), ("users", "user_id", "user")):
        for period in ("monthly", "daily"):
            name = "claude_code:budget_usd:{0}_by_{1}".format(period, scope)
            listed = [entry for entry in budgets[kind] if entry[period + "_usd"] is not None]
            for number, entry in enumerate(listed):
                out.record(name, _constant(entry[period + "_usd"], [(label, entry[label])]),
                           ["The {0} budget of each {1} listed in prometheus_budgets.{2}.".format(period, scope, kind)]
                           if not number else [])
            if not listed:
                out.record(name, EMPTY, ["prometheus_budgets.{0} sets no {1} budget: no series.".format(kind, period)])
    for number, person in enumerate(settings["people"]):
        labels = [("user_id", person["user_id"]), ("display_name", person["name"])]
        if person["team"]:
            labels.append(("team", person["team"]))
        out.record("claude_code:people:info", _constant(1, labels),
                   ["Who is who (prometheus_people), for the dashboards to show names beside user ids: 1 per person."]
                   if not number else [])
    if not settings["people"]:
        out.record("claude_code:people:info", EMPTY,
                   ["prometheus_people is empty: no series (the dashboards show user ids alone)."])

    # --- spend
    day_by = "sum by (team, user_id) (\n{0}\n)".format(_indent(cal.period_accrued(cost), 2))
    step_month = "year(vector({0})) * 12 + month(vector({0}))".format(cal.step_time())
    now_month = "scalar(last_over_time((year(vector({0})) * 12 + month(vector({0})))[1s:1s] @ end()))".format(
        cal.local_time())
    month_to_date = "\n".join([
        "sum_over_time(",
        "  (",
        _indent(day_by, 4),
        "    and on ()",
        "      ({0}".format(step_month),
        "       == {0})".format(now_month),
        "  ){0}".format(cal.steps(31)),
        ")",
    ])
    today = "\n".join([
        "sum_over_time(",
        "  (",
        _indent(day_by, 4),
        "  ){0}".format(cal.steps(1)),
        ")",
    ])
    local = cal.local_time()
    remaining = ("days_in_month(vector({0})) - day_of_month(vector({0})) + 1 - ({0}) % 86400 / 86400"
                 .format(local))
    out.group("claude_code_budget_spend", [
        "What was spent, by local calendar day and month ({0}), and the forecast to the month's end.".format(zone),
        "Reads up to 31 days of every cost series at each evaluation: prometheus_budgets_evaluation_interval",
        "sets how often (Prometheus must keep 32 days: prometheus_storage_retention_time).",
    ], interval=settings["budgets_interval"])
    out.record("claude_code:cost_usage_USD:month_to_date", month_to_date, [
        "USD spent in the current local calendar month. Labels: team, user_id (each can be empty).",
        "31 subquery steps, one per local day (the longest month); days of another month are left out.",
    ])
    out.record("claude_code:cost_usage_USD:today", today,
               ["USD spent in the current local day (one subquery step). Labels: team, user_id."])
    out.record("claude_code:cost_usage_USD:accrued7d",
               "sum by (team, user_id) (\n{0}\n)".format(_indent(_accrued_terms(cost, "7d"), 2)),
               ["USD spent in the last 7 days, the pace of the forecast. Labels: team, user_id."])
    out.record("claude_code:calendar:month_remaining_days", remaining, [
        "Days left in the local month, today's remaining part included (31.0 at its first moment).",
    ])
    for level, by, labels in (("team", "sum by (team)", '{team!=""}'), ("user", "sum by (user_id)", ""),
                              ("total", "sum", "")):
        suffix = "_total" if level == "total" else "_by_" + level
        zero = " or vector(0)" if level == "total" else ""
        what = {"team": "Labels: team (not empty).", "user": "Labels: user_id.",
                "total": "The organisation: no labels; 0 when nothing was spent."}[level]
        for record in ("month_to_date", "today", "accrued7d"):
            out.record("claude_code:cost_usage_USD:{0}{1}".format(record, suffix),
                       "{0}(claude_code:cost_usage_USD:{1}{2}){3}".format(by, record, labels, zero),
                       ["{0}: {1}".format(record, what)] if record == "month_to_date" else [])
    for level, label in (("team", "team"), ("user", "user_id")):
        out.record("claude_code:cost_usage_USD:forecast_month_by_{0}".format(level), "\n".join([
            "  (",
            "      claude_code:cost_usage_USD:month_to_date_by_{0}".format(level),
            "    or on ({0})".format(label),
            "      0 * claude_code:cost_usage_USD:accrued7d_by_{0}".format(level),
            "  )",
            "+ on ({0})".format(label),
            "  (",
            "      claude_code:cost_usage_USD:accrued7d_by_{0} / 7".format(level),
            "    or on ({0})".format(label),
            "      0 * claude_code:cost_usage_USD:month_to_date_by_{0}".format(level),
            "  )",
            "  * scalar(claude_code:calendar:month_remaining_days)",
        ]), ["Month to date plus the last 7 days' daily average for the rest of the month. Labels: {0}.".format(label)]
            if level == "team" else [])
    out.record("claude_code:cost_usage_USD:forecast_month_total",
               "claude_code:cost_usage_USD:month_to_date_total\n  + claude_code:cost_usage_USD:accrued7d_total / 7"
               " * scalar(claude_code:calendar:month_remaining_days)")
    for period, record in (("monthly", "month_to_date"), ("daily", "today")):
        for level, label in (("team", "team"), ("user", "user_id")):
            out.record("claude_code:budget_usd:{0}_by_{1}_in_effect".format(period, level), "\n".join([
                "(",
                "    claude_code:budget_usd:{0}_by_{1}".format(period, level),
                "  or on ({0})".format(label),
                "    0 * claude_code:cost_usage_USD:{0}_by_{1}".format(record, level),
                "    + scalar(claude_code:budget_usd:{0}_{1}_default)".format(period, level),
                ") > 0",
            ]), ["The {0} budget of every {1} listed or with spend: its own, else the default; 0 (none) left out."
                 .format(period, level)] if level == "team" or period == "monthly" else [])

    # --- team hourly spend, the baseline of ClaudeCodeTeamSpendUnusual
    out.group("claude_code_team_spend", [
        "Each team's spend over the last hour, every minute: its own baseline is the 7-day average.",
    ], interval="1m")
    out.record("claude_code:cost_usage_USD:accrued1h_by_team",
               "sum by (team) (\n{0}\n)".format(_indent(_accrued("{0}{{{1},team!=\"\"}}".format(COST, JOB), "1h"), 2)),
               ["USD each team spent in the last hour. Labels: team."])
    out.record("claude_code:cost_usage_USD:sum_accrued1h_by_team", "\n".join([
        "  claude_code:cost_usage_USD:accrued1h_by_team",
        "or on (team)",
        "  0 * group by (team) (count_over_time(claude_code:cost_usage_USD:accrued1h_by_team[7d]))",
    ]), ["The same, 0 (not absent) in the idle hours of teams seen in the last 7 days: the average counts them."])

    # --- alerts
    out.group("claude_code_budget_alerts")
    for level, label, who in (("team", "team", "Team {{ $labels.team }}"),
                              ("user", "user_id", "User {{ $labels.user_id }}")):
        name = "ClaudeCode{0}BudgetReached".format(level.capitalize())
        query = 'claude_code:budget_usd:%s_by_{0}_in_effect{{{1}=\\"%s\\"}}'.format(level, label)
        out.alert(name, "\n".join([
            "  label_replace(",
            "      claude_code:cost_usage_USD:month_to_date_by_{0}".format(level),
            "    >= on ({0})".format(label),
            "      claude_code:budget_usd:monthly_by_{0}_in_effect,".format(level),
            '    "budget", "monthly", "", ""',
            "  )",
            "or",
            "  label_replace(",
            "      claude_code:cost_usage_USD:today_by_{0}".format(level),
            "    >= on ({0})".format(label),
            "      claude_code:budget_usd:daily_by_{0}_in_effect,".format(level),
            '    "budget", "daily", "", ""',
            "  )",
        ]), "warning",
            "{0} reached its {{{{ $labels.budget }}}} Claude Code budget".format(who),
            "{0} has spent {{{{ $value | printf \"%.2f\" }}}} USD {{{{ if eq $labels.budget \"monthly\" }}}}in this "
            "calendar month{{{{ else }}}}today{{{{ end }}}} ({1}), as much as its {{{{ $labels.budget }}}} budget of "
            "{{{{ with printf \"{2}\" $labels.budget $labels.{3} | query }}}}{{{{ . | first | value | printf \"%.2f\" }}}}"
            "{{{{ end }}}} USD (prometheus_budgets). The Claude Code / Budgets dashboard shows where it went."
            .format(who, zone, query, label),
            ["The month to date or today's spend of a {0} has reached its budget (prometheus_budgets).".format(level)])
    out.alert("ClaudeCodeOrganisationBudgetReached", "\n".join([
        "  label_replace(",
        "    claude_code:cost_usage_USD:month_to_date_total >= on () (claude_code:budget_usd:monthly_organisation > 0),",
        '    "budget", "monthly", "", ""',
        "  )",
        "or",
        "  label_replace(",
        "    claude_code:cost_usage_USD:today_total >= on () (claude_code:budget_usd:daily_organisation > 0),",
        '    "budget", "daily", "", ""',
        "  )",
    ]), "critical", "Claude Code reached the organisation's {{ $labels.budget }} budget",
        "All of Claude Code has spent {{{{ $value | printf \"%.2f\" }}}} USD {{{{ if eq $labels.budget \"monthly\" }}}}in "
        "this calendar month{{{{ else }}}}today{{{{ end }}}} ({0}), as much as the organisation's {{{{ $labels.budget }}}} "
        "budget (prometheus_budgets.organisation).".format(zone))
    for level, label, who in (("team", "team", "Team {{ $labels.team }}"),
                              ("user", "user_id", "User {{ $labels.user_id }}")):
        out.alert("ClaudeCode{0}BudgetForecastExceeded".format(level.capitalize()), "\n".join([
            "(",
            "    claude_code:cost_usage_USD:forecast_month_by_{0}".format(level),
            "  > on ({0})".format(label),
            "    claude_code:budget_usd:monthly_by_{0}_in_effect".format(level),
            ")",
            "unless on ({0})".format(label),
            "(",
            "    claude_code:cost_usage_USD:month_to_date_by_{0}".format(level),
            "  >= on ({0})".format(label),
            "    claude_code:budget_usd:monthly_by_{0}_in_effect".format(level),
            ")",
        ]), "warning", "{0} is on course to exceed its monthly Claude Code budget".format(who),
            "At the pace of the last 7 days {0} will have spent {{{{ $value | printf \"%.2f\" }}}} USD by the end of "
            "this calendar month ({1}), more than its monthly budget (prometheus_budgets); it has not reached it yet."
            .format(who.lower() if level == "user" else who, zone), for_="30m",
            comment=["The forecast (month to date plus the last 7 days' daily average for the days left) is above",
                     "the monthly budget, which is not reached yet (ClaudeCode...BudgetReached takes over then)."]
            if level == "team" else [])
    out.alert("ClaudeCodeOrganisationBudgetForecastExceeded", "\n".join([
        "(claude_code:cost_usage_USD:forecast_month_total > on () (claude_code:budget_usd:monthly_organisation > 0))",
        "unless on ()",
        "(claude_code:cost_usage_USD:month_to_date_total >= on () (claude_code:budget_usd:monthly_organisation > 0))",
    ]), "warning", "Claude Code is on course to exceed the organisation's monthly budget",
        "At the pace of the last 7 days all of Claude Code will have spent {{{{ $value | printf \"%.2f\" }}}} USD by the "
        "end of this calendar month ({0}), more than the organisation's monthly budget.".format(zone), for_="30m")
    out.alert("ClaudeCodeTeamSpendUnusual", "\n".join([
        "(",
        "    claude_code:cost_usage_USD:sum_accrued1h_by_team",
        "  > on (team)",
        "    scalar(claude_code:alert_threshold:team_anomaly_factor)",
        "    * avg_over_time(claude_code:cost_usage_USD:sum_accrued1h_by_team[7d])",
        ")",
        "and claude_code:cost_usage_USD:sum_accrued1h_by_team > scalar(claude_code:alert_threshold:team_anomaly_min_hourly_usd)",
        "and on (team) present_over_time(claude_code:cost_usage_USD:sum_accrued1h_by_team[1h] offset 1d)",
    ]), "warning", "Team {{ $labels.team }} spent {{ $value | printf \"%.2f\" }} USD in the last hour, far above its own baseline",
        "Team {{ $labels.team }} spent {{ $value | printf \"%.2f\" }} USD in the last hour, more than "
        "{{ with query \"claude_code:alert_threshold:team_anomaly_factor\" }}{{ . | first | value }}{{ end }} times its "
        "own average hourly spend of the last 7 days "
        "({{ with printf \"avg_over_time(claude_code:cost_usage_USD:sum_accrued1h_by_team{team=\\\"%s\\\"}[7d])\" "
        "$labels.team | query }}{{ . | first | value | printf \"%.2f\" }}{{ end }} USD), for 15 minutes.",
        comment=["Each team against its own history: the 7-day average hourly spend, idle hours counted as 0.",
                 "Silent until the team has a day of history."], for_="15m")
    return out.text()


# ------------------------------------------------------------------------ silence


def _silence_comment(level, count, span):
    """The explanation written above a silence alert, as YAML comments."""
    if level != "Team":
        return ["The same, per user_id (every user, with a team or not)."]
    return [
        "A {0} is active in a period when any of its cost or session series has a sample in it.".format(
            level.lower()),
        "1. Active on each of the last {0} working days before today: the subquery's {1} steps are the"
        .format(count, span),
        "   days before today, each reading its local day; a step counts when the {0} was active, the"
        .format(level.lower()),
        "   day is a working day, and its working-day number (weeks since 1970 times the working days of",
        "   a week, plus the week's working days up to it) is above that of the last working day before",
        "   today (read at the evaluation time: @ end()) less {0};".format(count),
        "2. unless active today (the one step of the current local day);",
        "3. on a working day, once silence_after_local_hour of it is over.",
    ]


def _silence(settings):
    days = settings["working_days"]
    count = settings["silence_working_days"]
    period = seconds(settings["silence_period"])
    cal = Calendar(settings["utc_offset"], period)
    day = Calendar(settings["utc_offset"])
    zone = _zone(settings)
    span = _span(days, count)
    named = ", ".join(days)
    out = _File([
        "Silence: the telemetry that should be there and is not (telemetry.claude_code).",
        "",
        "GENERATED by plugins/module_utils/inventory_rules.py (tests/rules/generate.py writes this file",
        "with the defaults; the prometheus role renders it again from prometheus_calendar_utc_offset,",
        "prometheus_calendar_working_days, prometheus_silence_working_days). Edit the generator.",
        "",
        "Time zone: {0}, a fixed offset (no daylight saving time). Working days: {1}.".format(zone, named),
        "Period: {0}{1}.".format(settings["silence_period"], "" if period == DAY else
                                 " (NOT a day: a test setting, prometheus_silence_period)"),
        "A team or user that sent telemetry on each of the last {0} working days and none today is silent".format(count),
        "(a wrong token rolled out, a proxy, a client that stopped exporting); a collector that accepts",
        "nothing while it is up; a Claude Code version that stops sending a metric every session sends.",
    ])
    out.group("claude_code_silence_thresholds")
    for name, value, comment in THRESHOLDS["claude_code_silence.yml"]:
        out.threshold(name, value, comment)

    out.group("claude_code_silence_alerts", [
        "Reads {0} periods of the session and cost series at each evaluation (prometheus_silence_evaluation_interval).".format(
            span + 1),
    ], interval=settings["silence_interval"])
    step_index = "floor(vector({0}) / {1})".format(cal.step_time(), period)
    now_index = "floor(vector({0}) / {1})".format(cal.local_time(), period)
    # the current local period's index, read at the evaluation time also inside the subquery
    now_in_subquery = "last_over_time({0}[1s:1s] @ end())".format(now_index)
    for level, label, who in (("Team", "team", "Team {{ $labels.team }}"), ("User", "user_id", "User {{ $labels.user_id }}")):
        keep = '{{{0},{1}!=""}}'.format(JOB, label) if label == "team" else "{{{0}}}".format(JOB)
        present = "group by ({0}) (\n    {1}\n  or\n    {2}\n)".format(
            label, cal.period_present(COST + keep), cal.period_present(SESSIONS + keep))
        expr = "\n".join([
            "count_over_time(",
            "  (",
            _indent(present, 6),
            "    and on ()",
            "      {0} == 1".format(_terms(is_working(step_index, days), 6)),
            "    and on ()",
            "      {0}".format(_terms(working_index(step_index, days), 6)),
            "      > scalar(",
            "          {0}".format(_terms(working_index(now_in_subquery, days), 10)),
            "        - {0}".format(_terms(is_working(now_in_subquery, days), 8)),
            "        ) - {0}".format(count),
            "  ){0}".format(cal.steps(span, back=1)),
            ") >= {0}".format(count),
            "unless on ({0})".format(label),
            "  sum_over_time(",
            "    (",
            _indent(present, 6),
            "    ){0}".format(cal.steps(1)),
            "  )",
            "and on ()",
            "  {0} == 1".format(_terms(is_working(now_index, days), 2)),
            "and on ()",
            "  vector(({0}) % {1}) >= scalar(claude_code:alert_threshold:silence_after_local_hour) * {2}"
            .format(cal.local_time(), period, _num(period / 24.0)),
        ])
        out.alert("ClaudeCode{0}Silent".format(level), expr, "warning",
                  "{0} sent Claude Code telemetry on each of the last {1} working days and none today".format(who, count),
                  "{0} sent Claude Code telemetry on each of the last {1} working days ({2}) and none today ({3}, "
                  "past {{{{ with query \"claude_code:alert_threshold:silence_after_local_hour\" }}}}{{{{ . | first | value "
                  "}}}}{{{{ end }}}}:00). A wrong or rotated token, a proxy, a Claude Code update or a managed settings file "
                  "that no longer applies stops the data without an error anyone sees. The collector logs refused "
                  "requests; `tests/harness.sh doctor` checks a client.".format(who, count, named, zone),
                  comment=_silence_comment(level, count, span))

    hours = "({0}) % 86400 / 3600".format(day.local_time())
    out.alert("ClaudeCodeCollectorAcceptsNothing", "\n".join([
        "(",
        '    sum by (instance) (increase(otelcol_receiver_accepted_metric_points{job="otel-collector"}[1h]))',
        "  or on (instance)",
        '    0 * group by (instance) (up{job="otel-collector"})',
        ") == 0",
        'and on (instance) min_over_time(up{job="otel-collector"}[1h]) == 1',
        'and on (instance) sum by (instance) (increase(otelcol_receiver_accepted_metric_points{job="otel-collector"}[7d])) > 0',
        "and on () ({0} == 1)".format(_terms(is_working("floor(vector({0}) / 86400)".format(day.local_time()), days), 9)),
        "and on () (vector({0}) >= scalar(claude_code:alert_threshold:collector_silence_from_local_hour))".format(hours),
        "and on () (vector({0}) < scalar(claude_code:alert_threshold:collector_silence_until_local_hour))".format(hours),
    ]), "critical", "Collector {{ $labels.instance }} has accepted no metric point for an hour while it is up",
        "The collector at {{{{ $labels.instance }}}} has been up for the last hour and accepted no metric point from any "
        "Claude Code in it, during working hours ({0}), although it accepted some in the last 7 days. Every client is "
        "refused or cannot reach it: a rotated token, a certificate, a firewall, a DNS name.".format(zone),
        comment=["The collector's own receiver counter (scraped: increase() is right for it) during the working",
                 "hours of working days. The counter may not exist before the first point: 0 then."])

    parts = []
    for metric in EVERY_SESSION:
        others = [m for m in EVERY_SESSION if m != metric]
        seen = "\n    or\n".join("      count_over_time({0}{{{1}}}[6h])".format(m, JOB) for m in others)
        parts.append("\n".join([
            "  label_replace(",
            "      count by (app_version) (",
            "        count by (app_version, session_id) (",
            seen,
            "        )",
            "      ) >= scalar(claude_code:alert_threshold:version_silence_min_sessions)",
            "    unless on (app_version)",
            "      count by (app_version) (count_over_time({0}{{{1}}}[6h])),".format(metric, JOB),
            '    "metric", "{0}", "", ""'.format(metric),
            "  )",
        ]))
    out.alert("ClaudeCodeVersionStoppedEmitting", "\nor\n".join(parts), "warning",
              "Claude Code {{ with $labels.app_version }}{{ . }}{{ else }}(version not reported){{ end }} "
              "stopped sending {{ $labels.metric }}",
              "{{ $value }} sessions of Claude Code {{ if $labels.app_version }}{{ $labels.app_version }}{{ else }}(clients "
              "without OTEL_METRICS_INCLUDE_VERSION, all versions together){{ end }} sent metrics in the last 6 hours, "
              "but none sent {{ $labels.metric }}, which every session of every supported version sends (docs/catalog/). "
              "A Claude Code release renamed or dropped it: the panels built on it are empty. Compare the release with "
              "the catalog: tests/harness.sh drift.",
              comment=["Generated from the catalogs: the metrics every scenario of every supported version sends.",
                       "Per app_version when the clients send it (claude_code_client_metrics_include_version), else all",
                       "clients together (app_version empty). Counts sessions: needs session_id on the metrics."],
              for_="30m")
    return out.text()


# ------------------------------------------------------------------------ fleet counters

def _fleet(settings):
    interval, settle, heal = settings["fleet_interval"], settings["fleet_settle"], settings["fleet_heal"]
    out = _File([
        "Fleet counters: what every Claude Code series accrued, summed, as counters that only grow",
        "(telemetry.claude_code). Opt-in: the prometheus role deploys this file when",
        "prometheus_fleet_counters is true, after seeding each counter's history from the series",
        "Prometheus already holds (module prometheus_fleet_seed).",
        "",
        "GENERATED by plugins/module_utils/inventory_rules.py (tests/rules/generate.py writes this file",
        "with the defaults; the prometheus role renders it again from prometheus_fleet_counter_interval,",
        "prometheus_fleet_counter_settle and prometheus_fleet_counter_heal). Edit the generator.",
        "",
        "C(t) = max(C(t - {0}) + accrued over (t - {0} - {1}, t - {1}],".format(interval, settle),
        "           C(t - {0}) + accrued over (t - {0} - {1}, t - {1}])".format(heal, settle),
        "A range question is two reads: C - C offset <range> (the totals as of {0} before each read).".format(settle),
        "Exact when every point arrives within {0} of its timestamp; a disturbance (Prometheus down, a".format(settle),
        "collector's backlog) is healed when it lasts less than {0}; it never counts more than arrived.".format(heal),
        "roles/prometheus/README.md, \"Query cost\", says why and how it was measured.",
    ])
    out.group("claude_code_fleet", interval=interval)
    for metric, record, by in FLEET_COUNTERS:
        out.record(record, "\n".join(_wrap(fleet_counter(record, metric, ", ".join(by), interval, heal, settle), 100)),
                   ["What every series of {0} accrued, by {1}.".format(metric, ", ".join(by))])
    for record, comment in (
            (FLEET_SESSIONS_STARTED, ["Episodes of sessions started: a session's first sample (a cost, or a start that is not",
                                      "the agents view) after an hour or more without one."]),
            (FLEET_SESSIONS_ENDED, ["Episodes of sessions ended, counted an hour after their last sample. The sessions",
                                    "with data in a range (a, b] of an hour or more: started(b) - ended(a + 1h)."])):
        out.record(record, "\n".join(_wrap(fleet_sessions(record, interval, heal, settle), 100)), comment)
    return out.text()


def render(name, settings=None):
    """The text of one of FILES for these settings (DEFAULTS where a setting is left out)."""
    merged = normalise(settings)
    if name == "claude_code_budgets.yml":
        return _budgets(merged)
    if name == "claude_code_silence.yml":
        return _silence(merged)
    if name == "claude_code_fleet.yml":
        return _fleet(merged)
    raise SettingsError("no rule file {0!r} is rendered from the inventory; these are: {1}".format(name, ", ".join(FILES)))
