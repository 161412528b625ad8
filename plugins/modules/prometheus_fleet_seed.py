#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the telemetry.claude_code collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: prometheus_fleet_seed
short_description: Give Claude Code's fleet counters their history before their rule is deployed
version_added: 0.1.0
description:
  - A fleet counter (the records of C(claude_code_fleet.yml), deployed by the prometheus role when
    C(prometheus_fleet_counters) is true) is a recording rule that reads its own last value and adds what
    every series of its metric accrued since. A range question is then two reads of a few series instead of
    a read of every session's series. But the rule only knows what accrued after it was deployed.
  - This module writes the values the rule would have written, from the series Prometheus already holds,
    for every counter whose record Prometheus does not hold yet. Run it on the Prometheus host before the
    rule file is deployed; the rule must follow within O(heal).
  - It reads the counters' metrics with C(promtool tsdb dump) (read-only; the write-ahead log is replayed
    into a sandbox). At time x it counts every sample with a timestamp up to x - O(settle), by what it adds
    to its series, summed by the rule's labels, with a point every minute and, over the last O(heal), one
    more wherever the value changes.
  - What is older than Prometheus's head (the end of its newest persisted block) is written as blocks with
    C(promtool tsdb create-blocks-from openmetrics), owned by O(owner) and O(group), and moved into
    O(data_dir). The rest goes to Prometheus's remote-write receiver (C(--web.enable-remote-write-receiver)),
    which takes points older than its newest ones within C(storage.tsdb.out_of_order_time_window). A block
    that reached into the head would make Prometheus drop raw samples of those hours when it next loads its
    blocks.
  - A counter whose metric has no series yet is left to its rule (there is nothing to miss). A counter whose
    record Prometheus already holds is never seeded again, so a second run changes nothing.
  - When Prometheus does not answer, the data directory is still read; the module fails if there is anything
    to seed, and reports no change if there is not (a first install).
author:
  - telemetry.claude_code developers (@telemetry-claude-code)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the data directory and computes the history (read-only); writes no block and sends nothing.
  diff_mode:
    support: full
    details: The last value of each seeded group, as the counter's new series.
  platform:
    platforms: posix
options:
  data_dir:
    description: Prometheus's data directory (C(--storage.tsdb.path)).
    type: path
    required: true
  promtool:
    description: The promtool of the Prometheus that runs there (2.42 or later).
    type: path
    default: /usr/local/bin/promtool
  url:
    description: Prometheus's base URL, as the host reaches it (with the path of C(--web.external-url), if any).
    type: str
    default: http://127.0.0.1:9090
  settle:
    description: The rule's settling delay L, a Prometheus duration such as C(2m).
    type: str
    default: 2m
  heal:
    description: The rule's healing window W, a Prometheus duration such as C(2h).
    type: str
    default: 2h
  interval:
    description: The rule's evaluation interval (the sessions' counters split a session's samples by its windows).
    type: str
    default: 1m
  owner:
    description: The user that owns the blocks moved into O(data_dir) (the one Prometheus runs as).
    type: str
    default: prometheus
  group:
    description: Their group.
    type: str
    default: prometheus
  counters:
    description:
      - The counters. Left out, the collection's own (those of C(claude_code_fleet.yml)).
      - The metric V(sessions) stands for the sessions' two counters (C(claude_code:sessions:fleet_started) and
        C(claude_code:sessions:fleet_ended), episodes of sessions started and ended), made from the samples of
        C(claude_code_cost_usage_USD_total) and C(claude_code_session_count_total) and seeded together.
    type: list
    elements: dict
    suboptions:
      metric:
        description: The per-session metric the counter sums.
        type: str
        required: true
      record:
        description: The counter's record name.
        type: str
        required: true
      by:
        description: The labels it is summed by.
        type: list
        elements: str
        default: []
  timeout:
    description: Seconds to wait for each HTTP request to Prometheus.
    type: int
    default: 60
notes:
  - roles/prometheus/README.md of the collection, section "Query cost", says how the counters and this
    history were tested and measured.
seealso:
  - name: Backfilling from OpenMetrics
    description: Prometheus's own documentation of C(promtool tsdb create-blocks-from openmetrics).
    link: https://prometheus.io/docs/prometheus/latest/storage/#backfilling-from-openmetrics-format
"""

EXAMPLES = r"""
- name: Seed the fleet counters, then deploy their rule
  telemetry.claude_code.prometheus_fleet_seed:
    data_dir: /var/lib/prometheus/metrics2
    promtool: /usr/local/bin/promtool
    url: http://127.0.0.1:9090
    settle: 2m
    heal: 2h

- name: One counter of your own
  telemetry.claude_code.prometheus_fleet_seed:
    data_dir: /var/lib/prometheus/metrics2
    counters:
      - metric: claude_code_commit_count_total
        record: claude_code:commit_count:fleet_total
        by: []
"""

RETURN = r"""
counters:
  description: One entry per counter.
  returned: always
  type: list
  elements: dict
  contains:
    record:
      description: The record.
      type: str
    seeded:
      description: Whether a history was (or, in check mode, would be) written.
      type: bool
    reason:
      description: Why, or why not.
      type: str
      sample: history written
    samples:
      description: Samples of the metric read from the dump.
      type: int
    points_in_blocks:
      description: Points of the history written as blocks.
      type: int
    points_sent:
      description: Points of the history sent to the remote-write receiver.
      type: int
    last:
      description: The history's last value per group (its labels as text).
      type: dict
      sample: {'model="claude-opus-4-5"': 12.5}
blocks:
  description: The blocks moved into O(data_dir).
  returned: always
  type: list
  elements: str
persisted_until:
  description: The end (Unix milliseconds) of the newest persisted block, where the head begins; null without one.
  returned: always
  type: int
samples_read:
  description: Lines of the dump read.
  returned: always
  type: int
"""

import grp
import pwd

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.telemetry.claude_code.plugins.module_utils.fleet_seed import Promtool, SeedError, seed
from ansible_collections.telemetry.claude_code.plugins.module_utils.prometheus_http import PrometheusHttp
from ansible_collections.telemetry.claude_code.plugins.module_utils.inventory_rules import SettingsError, seconds
from ansible_collections.telemetry.claude_code.plugins.module_utils.pricing import FLEET_COUNTERS, FLEET_SESSION_COUNTERS


def argument_spec():
    return dict(
        data_dir=dict(type="path", required=True),
        promtool=dict(type="path", default="/usr/local/bin/promtool"),
        url=dict(type="str", default="http://127.0.0.1:9090"),
        settle=dict(type="str", default="2m"),
        heal=dict(type="str", default="2h"),
        interval=dict(type="str", default="1m"),
        owner=dict(type="str", default="prometheus"),
        group=dict(type="str", default="prometheus"),
        counters=dict(type="list", elements="dict", options=dict(
            metric=dict(type="str", required=True),
            record=dict(type="str", required=True),
            by=dict(type="list", elements="str", default=[]))),
        timeout=dict(type="int", default=60),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    counters = ([(item["metric"], item["record"], tuple(item["by"])) for item in params["counters"]]
                if params["counters"] else list(FLEET_COUNTERS) + list(FLEET_SESSION_COUNTERS))
    try:
        settle, heal, interval = seconds(params["settle"]), seconds(params["heal"]), seconds(params["interval"])
        owner = (pwd.getpwnam(params["owner"]).pw_uid, grp.getgrnam(params["group"]).gr_gid)
    except (SettingsError, KeyError) as exc:
        module.fail_json(msg="bad option: {0}".format(exc))
    try:
        result = seed(counters, params["data_dir"], settle, heal, PrometheusHttp(params["url"], params["timeout"]),
                      Promtool(params["promtool"]), check_mode=module.check_mode, owner=owner, step=interval)
    except (SeedError, OSError, ValueError) as exc:
        module.fail_json(msg=str(exc), changed=False)
    if module._diff:
        result["diff"] = {"before": "", "after": "".join(
            "{0}{{{1}}} {2!r}\n".format(entry["record"], labels, value)
            for entry in result["counters"] if entry["seeded"] for labels, value in sorted(entry["last"].items()))}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
