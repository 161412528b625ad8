# -*- coding: utf-8 -*-
# Copyright: telemetry.claude_code developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: an allowed source of a firewall rule, in the form ufw itself prints it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
name: ufw_source
short_description: An allowed source address or network, written the way ufw prints it
version_added: 0.1.0
author: telemetry.claude_code developers
description:
  - Checks that the input is an IPv4 or IPv6 address or network (CIDR), or V(any), and returns it the way
    C(ufw show added) prints it, so that the rules in place can be compared with the rules wanted.
  - A single-address network loses its prefix length (V(192.0.2.10/32) becomes V(192.0.2.10)), host bits are
    cleared (V(10.1.2.3/8) becomes V(10.0.0.0/8)) and IPv6 is lower-case and compressed.
  - A network of prefix length 0 (V(0.0.0.0/0), V(::/0)) is refused; V(any) says "every address" on purpose.
options:
  _input:
    description: The source.
    type: str
    required: true
  invalid:
    description: Returned instead of failing when the input is not a usable source.
    type: str
"""

EXAMPLES = r"""
- name: Allow a network to reach Prometheus
  community.general.ufw:
    rule: allow
    from_ip: "{{ '10.1.2.3/8' | telemetry.claude_code.ufw_source }}"  # 10.0.0.0/8
    to_port: "9090"
    proto: tcp

- name: Find the sources that are not usable
  ansible.builtin.debug:
    msg: "{{ sources | zip(sources | map('telemetry.claude_code.ufw_source', invalid='')) | selectattr('1', 'eq', '')
             | map('first') | list }}"
"""

RETURN = r"""
_value:
  description: The source as ufw prints it, V(any), or O(invalid) for a source that is not usable.
  type: str
"""

import ipaddress

from ansible.errors import AnsibleFilterError


def ufw_source(value, invalid=None):
    """Return the source as `ufw show added` prints it (or `invalid` for a bad one)."""
    problem = None
    if not isinstance(value, str):
        problem = "is not a string"
    elif value.strip() == "any":
        return "any"
    else:
        try:
            network = ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            problem = "is not an IPv4 or IPv6 address or network"
        else:
            if network.prefixlen == 0:
                problem = "allows every address: write `any` to mean that"
            elif network.prefixlen == network.max_prefixlen:
                return str(network.network_address)
            else:
                return str(network)
    if invalid is not None:
        return invalid
    raise AnsibleFilterError("ufw_source: %r %s" % (value, problem))


class FilterModule(object):  # pylint: disable=too-few-public-methods
    """Firewall filters."""

    def filters(self):
        return {"ufw_source": ufw_source}
