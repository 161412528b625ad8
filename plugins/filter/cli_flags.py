# -*- coding: utf-8 -*-
# Copyright: telemetry.claude_code developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: command-line flags from a mapping."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
name: cli_flags
short_description: Long command-line flags from a mapping of flag names to values
version_added: 0.1.0
author: telemetry.claude_code developers
description:
  - "Turns a mapping such as C({web.listen-address: 127.0.0.1:9090, web.enable-lifecycle: true}) into
    C([--web.listen-address=127.0.0.1:9090, --web.enable-lifecycle]), in the mapping's order."
  - "V(true) renders a bare flag; V(false) and V(null) render no flag; an empty string renders C(--flag=)
    (Alertmanager needs exactly that to turn clustering off); a list repeats the flag once per item."
options:
  _input:
    description: Flag names (without dashes) and their values.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: The flags of the Prometheus unit
  ansible.builtin.set_fact:
    flags: "{{ {'config.file': '/etc/prometheus/prometheus.yml', 'web.enable-lifecycle': true} | telemetry.claude_code.cli_flags }}"
"""

RETURN = r"""
_value:
  description: The flags, one string each.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_sequence


def _one(name, value):
    if value is True:
        return ["--%s" % name]
    if value is False or value is None:
        return []
    return ["--%s=%s" % (name, value)]


def cli_flags(flags):
    """{'a': 1, 'b': True, 'c': False, 'd': ''} -> ['--a=1', '--b', '--d=']."""
    if not isinstance(flags, dict):
        raise AnsibleFilterError("cli_flags expects a mapping of flag names to values, got %r" % (flags,))
    out = []
    for name, value in flags.items():
        if is_sequence(value):
            for item in value:
                out.extend(_one(name, item))
        else:
            out.extend(_one(name, value))
    return out


class FilterModule(object):  # pylint: disable=too-few-public-methods
    """cli_flags."""

    def filters(self):
        return {"cli_flags": cli_flags}
