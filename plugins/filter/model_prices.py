# -*- coding: utf-8 -*-
# Copyright: telemetry.claude_code developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: render per-model token prices into a dashboard."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
name: apply_model_prices
short_description: Render per-model token prices into a Grafana dashboard
version_added: 0.1.0
author: telemetry.claude_code developers
description:
  - Re-renders the PromQL of every target marked C(tccPrice) (cost of one token type over a window, priced per model)
    and the price table in the description of every panel marked C(tccPriced).
  - A model that matches no price entry is not priced; targets marked C(tccUnpriced) show its tokens as unpriced.
options:
  _input:
    description: The dashboard, as a dictionary.
    type: dict
    required: true
  prices:
    description: The C(claude_code_model_prices) mapping of C(files/model_prices.yml).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Render the main dashboard with our prices
  ansible.builtin.copy:
    content: "{{ lookup('ansible.builtin.file', 'claude-code.json') | from_json
                 | telemetry.claude_code.apply_model_prices(grafana_model_prices) | to_nice_json }}"
    dest: /var/lib/grafana/dashboards/claude-code.json
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The dashboard with its priced queries and price tables rendered.
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.telemetry.claude_code.plugins.module_utils.pricing import apply_prices


def apply_model_prices(dashboard, prices):
    """Return the dashboard with prices rendered into it."""
    if not isinstance(dashboard, dict) or not isinstance(prices, dict):
        raise AnsibleFilterError("apply_model_prices expects a dashboard dict and a prices dict")
    try:
        return apply_prices(dashboard, prices)
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("apply_model_prices: the prices are not in the shape of files/model_prices.yml: %s" % exc)


class FilterModule(object):  # pylint: disable=too-few-public-methods
    """Dashboard filters."""

    def filters(self):
        return {"apply_model_prices": apply_model_prices}
