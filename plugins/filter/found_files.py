# -*- coding: utf-8 -*-
# Copyright: telemetry.claude_code developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: the regular files a role's look found in a directory, for a task that removes the unwanted ones."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
name: found_files
short_description: The regular files a role's look found in a directory whose names match a pattern
version_added: 0.1.0
author: telemetry.claude_code developers
description:
  - The paths, in the order of the look, of the regular files that the command of
    P(telemetry.claude_code.look_argv#filter) printed a C(stat) line for (or of the entries of an
    C(ansible.builtin.find) result) whose directory is the directory of O(pattern) and whose name matches its last part
    (shell-style, C(fnmatch)), each path once.
  - With the look's O(telemetry.claude_code.look_argv#filter:listings) set to the same pattern, these are the files of
    that directory. A task that removes the files a role no longer ships loops over them, less the ones it writes,
    with no call to the host of its own.
options:
  _input:
    description: The C(stdout_lines) of the look, or the C(files) list of an C(ansible.builtin.find) result.
    type: list
    elements: raw
    required: true
  pattern:
    description: C(DIR/PATTERN), the same as in the look's listings.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Look at the configuration and at the rule files in place
  ansible.builtin.command:
    argv: "{{ ['/etc/myapp/myapp.yml'] | telemetry.claude_code.look_argv(listings=['/etc/myapp/rules/*.yml']) }}"
  register: _found
  changed_when: false
  failed_when: _found.rc not in [0, 1]
  check_mode: false

- name: Remove the rule files the role no longer ships
  ansible.builtin.file:
    path: "{{ item }}"
    state: absent
  loop: "{{ _found.stdout_lines | telemetry.claude_code.found_files('/etc/myapp/rules/*.yml') | reject('in', _wanted) | list }}"
  vars:
    _wanted: [/etc/myapp/rules/a.yml, /etc/myapp/rules/b.yml]
"""

RETURN = r"""
_value:
  description: The paths of the matching regular files.
  type: list
  elements: str
"""

import fnmatch
import posixpath

from ansible.errors import AnsibleFilterError
from ansible_collections.telemetry.claude_code.plugins.plugin_utils.look import look_entries


def found_files(found, pattern):
    """The paths of the regular files of the look in pattern's directory whose names match its last part."""
    if not isinstance(pattern, str) or not pattern.startswith("/"):
        raise AnsibleFilterError("found_files expects an absolute DIR/PATTERN, got %r" % (pattern,))
    directory, name = posixpath.split(pattern)
    directory = posixpath.normpath(directory)
    paths = []
    for entry in look_entries(found, "found_files"):
        path = str(entry.get("path", ""))
        if (entry.get("isreg") and path not in paths and posixpath.dirname(path) == directory
                and fnmatch.fnmatchcase(posixpath.basename(path), name)):
            paths.append(path)
    return paths


class FilterModule(object):  # pylint: disable=too-few-public-methods
    """found_files."""

    def filters(self):
        return {"found_files": found_files}
