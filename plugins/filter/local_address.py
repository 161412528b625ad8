# -*- coding: utf-8 -*-
# Copyright: telemetry.claude_code developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: the address a process on the same host uses to reach a listen address."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
name: local_address
short_description: The host:port a client uses to reach a listen address
version_added: 0.1.0
author: telemetry.claude_code developers
description:
  - "A service told to listen on every interface (V(0.0.0.0:9090), V([::]:9090) or V(:9090)) is reached on
    V(127.0.0.1) by clients on the same host: health checks, API calls of the roles, Prometheus on the same host."
  - With O(host), the client is on another machine and reaches such a service by that name instead (the
    service's inventory name, for example).
  - Any other address is returned unchanged.
options:
  _input:
    description: A listen address, C(host:port).
    type: str
    required: true
  host:
    description:
      - The name or address of the service's host, for a client on another machine. Empty (the default) for a
        client on the same host.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Wait until Prometheus is ready
  ansible.builtin.uri:
    url: "http://{{ prometheus_web_listen_address | telemetry.claude_code.local_address }}/-/ready"

# 0.0.0.0:9090 on backend.example.internal -> backend.example.internal:9090
- name: Where a collector on another host pushes to
  ansible.builtin.debug:
    msg: "{{ hostvars['backend.example.internal'].prometheus_web_listen_address
             | telemetry.claude_code.local_address(host='backend.example.internal') }}"
"""

RETURN = r"""
_value:
  description: The address with V(127.0.0.1) (or O(host)) for an any-interface host.
  type: str
"""

import re

from ansible.errors import AnsibleFilterError

_ANY = re.compile(r"^(0\.0\.0\.0|\[::\]|)(:[0-9]+)$")


def local_address(value, host=""):
    """'0.0.0.0:9090', '[::]:9090' and ':9090' -> '127.0.0.1:9090' (or 'host:9090'); anything else unchanged."""
    if not isinstance(value, str):
        raise AnsibleFilterError("local_address expects a host:port string, got %r" % (value,))
    if not isinstance(host, str) or any(c.isspace() for c in host):
        raise AnsibleFilterError("local_address expects host to be a host name or address, got %r" % (host,))
    if ":" in host and not host.startswith("["):
        host = "[%s]" % host
    return _ANY.sub(lambda m: (host or "127.0.0.1") + m.group(2), value.strip())


class FilterModule(object):  # pylint: disable=too-few-public-methods
    """local_address."""

    def filters(self):
        return {"local_address": local_address}
