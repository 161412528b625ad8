# -*- coding: utf-8 -*-
# Copyright: telemetry.claude_code developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: render a Claude Code rule file that depends on the inventory (budgets, silence, people)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
name: inventory_rules
short_description: Render the Claude Code budget, fleet counter and silence rule files from inventory settings
version_added: 0.1.0
author: telemetry.claude_code developers
description:
  - Returns the text of C(claude_code_budgets.yml) or C(claude_code_silence.yml), the Prometheus rule files whose
    records and alerts depend on inventory data, not only on thresholds.
  - C(claude_code_budgets.yml) records the budgets per team, per user and for the organisation, the spend of the
    current local calendar day and month, a forecast to the month's end, the people mapping (user id to display
    name and team), and alerts on them.
  - C(claude_code_silence.yml) alerts when a team or user that sent telemetry on each of the last working days
    sends none today, when a collector accepts nothing while it is up, and when a Claude Code version stops
    sending a metric every session sends.
  - C(claude_code_fleet.yml) records the fleet counters (opt-in, C(prometheus_fleet_counters)), what every Claude
    Code series accrued, summed, as records that only grow, so that a range question is two reads.
  - The collection's C(files/rules/) holds them rendered with the defaults; the prometheus role renders them with
    its C(prometheus_budgets), C(prometheus_people), C(prometheus_calendar_*) and C(prometheus_silence_*) variables.
options:
  _input:
    description: The file name, C(claude_code_budgets.yml), C(claude_code_fleet.yml) or C(claude_code_silence.yml).
    type: str
    required: true
  settings:
    description:
      - The settings, each optional (the defaults apply to those left out).
      - C(utc_offset) (C(+HH:MM)/C(-HH:MM), a fixed offset, no daylight saving time), C(working_days) (C(mon) ...
        C(sun)), C(budgets) (C(default_team_monthly_usd), C(default_team_daily_usd), C(default_user_monthly_usd),
        C(default_user_daily_usd), C(organisation) with C(monthly_usd) and C(daily_usd), C(teams) as
        C({team, monthly_usd, daily_usd}), C(users) as C({user_id, monthly_usd, daily_usd})), C(budgets_interval),
        C(people) as C({user_id, name, team}), C(silence_working_days), C(silence_period) (C(1d); shorter only for
        tests), C(silence_interval), C(fleet_interval), C(fleet_settle), C(fleet_heal) (durations).
    type: dict
    required: false
"""

EXAMPLES = r"""
- name: Write the budgets rule file for a team in Berlin (winter time)
  ansible.builtin.copy:
    content: >-
      {{ 'claude_code_budgets.yml' | telemetry.claude_code.inventory_rules({
           'utc_offset': '+01:00',
           'budgets': {'teams': [{'team': 'platform', 'monthly_usd': 2000, 'daily_usd': 150}]}}) }}
    dest: /etc/prometheus/rules/claude_code_budgets.yml
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The rule file's text, YAML that C(promtool check rules) accepts.
  type: str
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.telemetry.claude_code.plugins.module_utils.inventory_rules import SettingsError, render


def _plain(value):
    """The same data as plain Python types. Ansible hands filters its own (lazily templated, tagged)
    containers and strings; rendering from those took 1.3 s per file instead of about 1 ms."""
    if isinstance(value, Mapping):
        return dict((str(k), _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def inventory_rules(name, settings=None):
    """The rule file `name` rendered with these settings."""
    if settings is not None and not isinstance(settings, Mapping):
        raise AnsibleFilterError("inventory_rules: settings must be a dictionary, got %r" % (settings,))
    try:
        return render(str(name), _plain(settings))
    except SettingsError as exc:
        raise AnsibleFilterError("inventory_rules: %s" % exc)


class FilterModule(object):  # pylint: disable=too-few-public-methods
    """inventory_rules."""

    def filters(self):
        return {"inventory_rules": inventory_rules}
