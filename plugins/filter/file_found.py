# -*- coding: utf-8 -*-
# Copyright: telemetry.claude_code developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: whether a role's look found a path, for a task that removes it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
name: file_found
short_description: Whether a role's look found a path, for a task that removes it
version_added: 0.1.0
author: telemetry.claude_code developers
description:
  - True when O(path) is among the files or directories that the command of P(telemetry.claude_code.look_argv#filter)
    printed a C(stat) line for (or among the entries of an C(ansible.builtin.find) result), whatever its type,
    owner, mode or content.
  - A task that removes a file (C(ansible.builtin.file) with C(state=absent)) changes something only when the file
    is there, so it can skip itself, with no call to the host, when the look did not find it.
  - The look's C(sha1sum) and C(unit NAME ENABLED ACTIVE) lines are not paths; P(telemetry.claude_code.file_differs#filter)
    reads the same output for the tasks that write.
options:
  _input:
    description: The C(stdout_lines) of the look, or the C(files) list of an C(ansible.builtin.find) result.
    type: list
    elements: raw
    required: true
  path:
    description: The absolute path the task removes.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Look at the configuration and at a key file that may be left over
  ansible.builtin.command:
    argv: "{{ ['/etc/myapp/myapp.yml', '/etc/myapp/old.key'] | telemetry.claude_code.look_argv }}"
  register: _found
  changed_when: false
  failed_when: _found.rc not in [0, 1]
  check_mode: false

- name: Remove the key file that is no longer used
  ansible.builtin.file:
    path: /etc/myapp/old.key
    state: absent
  when: _found.stdout_lines | telemetry.claude_code.file_found('/etc/myapp/old.key')
"""

RETURN = r"""
_value:
  description: V(true) when the look found O(path), else V(false).
  type: bool
"""

from ansible_collections.telemetry.claude_code.plugins.plugin_utils.look import look_entries


def file_found(found, path):
    """True when the look (stat lines or find entries) found path."""
    return any(e.get("path") == path for e in look_entries(found, "file_found"))


class FilterModule(object):  # pylint: disable=too-few-public-methods
    """file_found."""

    def filters(self):
        return {"file_found": file_found}
