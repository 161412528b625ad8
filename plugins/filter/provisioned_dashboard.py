# -*- coding: utf-8 -*-
# Copyright: telemetry.claude_code developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: a dashboard file as the grafana role provisions it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
name: provisioned_dashboard
short_description: A dashboard's JSON as the grafana role provisions it
version_added: 0.1.0
author: telemetry.claude_code developers
description:
  - Takes a dashboard's JSON text (or the dashboard as a dict) and returns the JSON text the grafana role writes
    for Grafana's file provisioning, in one pass of Python instead of a chain of Jinja filters over a large
    structure (which cost seconds per dashboard on every run).
  - C(id) is dropped (provisioning matches dashboards by C(uid)), O(overrides) is merged in recursively, the model
    prices are rendered into the priced panels (as the P(telemetry.claude_code.apply_model_prices#filter) filter
    does), and data source references by the default UIDs V(prometheus) and V(loki) follow O(prometheus_uid) and
    O(loki_uid).
  - With O(fleet_counters), every target marked C(tccFleet) reads the fleet counters instead (the marker holds
    that expression), the records of C(claude_code_fleet.yml), which the prometheus role deploys with
    C(prometheus_fleet_counters).
  - The text has sorted keys and an indent of 2, so the same input always gives the same bytes.
options:
  _input:
    description: The dashboard's JSON text, or the dashboard.
    type: raw
    required: true
  prices:
    description: The model prices (C(claude_code_model_prices) of the collection's C(files/model_prices.yml)).
    type: dict
    required: true
  overrides:
    description: Merged recursively into the dashboard.
    type: dict
    default: {}
  prometheus_uid:
    description: UID of the Prometheus data source.
    type: str
    default: prometheus
  loki_uid:
    description: UID of the Loki data source.
    type: str
    default: loki
  fleet_counters:
    description: Whether the totals of the marked targets read the fleet counters.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Write a dashboard for provisioning
  ansible.builtin.copy:
    content: "{{ lookup('ansible.builtin.file', 'claude-code.json') | telemetry.claude_code.provisioned_dashboard(prices) }}"
    dest: /etc/grafana/dashboards/claude-code.json
    mode: "0640"
"""

RETURN = r"""
_value:
  description: The dashboard's JSON text.
  type: str
"""

import copy
import json

from ansible.errors import AnsibleFilterError
from ansible.module_utils.six import string_types

from ansible_collections.telemetry.claude_code.plugins.module_utils.pricing import apply_prices, use_fleet_counters


def _merge(base, extra):
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def _datasources(node, uids):
    if isinstance(node, dict):
        if node.get("type") in uids and node.get("uid") == node.get("type") and len(node) == 2:
            node["uid"] = uids[node["type"]]
        for value in node.values():
            _datasources(value, uids)
    elif isinstance(node, list):
        for value in node:
            _datasources(value, uids)


def provisioned_dashboard(dashboard, prices, overrides=None, prometheus_uid="prometheus", loki_uid="loki",
                          fleet_counters=False):
    """The dashboard's JSON text, ready for Grafana's file provisioning."""
    try:
        doc = json.loads(dashboard) if isinstance(dashboard, string_types) else copy.deepcopy(dict(dashboard))
    except ValueError as exc:
        raise AnsibleFilterError("provisioned_dashboard: not a dashboard's JSON: %s" % exc)
    if not isinstance(doc, dict) or not isinstance(prices, dict):
        raise AnsibleFilterError("provisioned_dashboard expects a dashboard and a prices dict")
    doc["id"] = None
    _merge(doc, dict(overrides or {}))
    try:
        doc = apply_prices(doc, prices)
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("provisioned_dashboard: cannot render the prices: %s" % exc)
    if fleet_counters:
        doc = use_fleet_counters(doc)
    _datasources(doc, {"prometheus": prometheus_uid, "loki": loki_uid})
    return json.dumps(doc, indent=2, sort_keys=True, separators=(",", ": "))


class FilterModule(object):  # pylint: disable=too-few-public-methods
    """provisioned_dashboard."""

    def filters(self):
        return {"provisioned_dashboard": provisioned_dashboard}
