# -*- coding: utf-8 -*-
# Copyright: telemetry.claude_code developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: the simple incoming rules of `ufw show added`, as data."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
name: ufw_added_rules
short_description: The simple incoming rules listed by C(ufw show added), as data
version_added: 0.1.0
author: telemetry.claude_code developers
description:
  - Parses the output of C(ufw show added) (the rules saved by ufw, listed whether ufw is active or not) and returns
    the rules of the two shapes C(ufw RULE from SRC to any port PORT [proto PROTO] [comment 'C']) and
    C(ufw RULE PORT[/PROTO] [comment 'C']) (source V(any)). Other lines (headers, routed rules, rules to a given
    address, application profiles) are left out.
options:
  _input:
    description: The output, as a list of lines or one string.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: List the rules ufw has saved
  ansible.builtin.command: ufw show added
  register: ufw_added
  changed_when: false

- name: Show the rules a role added (their comment starts with telemetry.claude_code.prometheus)
  ansible.builtin.debug:
    msg: "{{ ufw_added.stdout_lines | telemetry.claude_code.ufw_added_rules
             | selectattr('comment', 'match', 'telemetry[.]claude_code[.]prometheus ') | list }}"
"""

RETURN = r"""
_value:
  description:
    - One dictionary per rule, with C(rule) (V(allow), V(deny), V(reject) or V(limit)), C(src) (as ufw prints it,
      V(any) for every address), C(port), C(proto) (V(tcp), V(udp), or V(any) when the rule names none),
      C(comment) (empty when there is none) and C(key), C(<src> <port>/<proto>).
  type: list
  elements: dict
"""

import re
from collections.abc import Sequence

from ansible.errors import AnsibleFilterError

_ACTIONS = r"(allow|deny|reject|limit)"
_PORT = r"([0-9]+(?::[0-9]+)?)"
_COMMENT = r"(?: comment '(.*)')?"
_FROM = re.compile(r"^ufw " + _ACTIONS + r" from (\S+) to any port " + _PORT + r"(?: proto (\w+))?" + _COMMENT + r"$")
_ANY = re.compile(r"^ufw " + _ACTIONS + r" " + _PORT + r"(?:/(\w+))?" + _COMMENT + r"$")


def _rule(action, src, port, proto, comment):
    proto = proto or "any"
    return {
        "rule": action,
        "src": src,
        "port": port,
        "proto": proto,
        "comment": comment or "",
        "key": "%s %s/%s" % (src, port, proto),
    }


def ufw_added_rules(output):
    """Return the simple incoming rules of `ufw show added`."""
    if isinstance(output, str):
        lines = output.splitlines()
    elif isinstance(output, Sequence):
        lines = output
    else:
        raise AnsibleFilterError("ufw_added_rules expects the output of `ufw show added`, as a string or a list of lines")
    rules = []
    for line in lines:
        line = str(line).strip()
        match = _FROM.match(line)
        if match:
            rules.append(_rule(*match.groups()))
            continue
        match = _ANY.match(line)
        if match:
            action, port, proto, comment = match.groups()
            rules.append(_rule(action, "any", port, proto, comment))
    return rules


class FilterModule(object):  # pylint: disable=too-few-public-methods
    """Firewall filters."""

    def filters(self):
        return {"ufw_added_rules": ufw_added_rules}
