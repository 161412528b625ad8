# -*- coding: utf-8 -*-
# Copyright: telemetry.claude_code developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: whether a file or directory in place differs from what a task would make of it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
name: file_differs
short_description: Whether a file or directory found on the host differs from what a task would write
version_added: 0.1.0
author: telemetry.claude_code developers
description:
  - Lets a role look at many files or directories with one C(ansible.builtin.find) call and then run its
    C(ansible.builtin.copy) or C(ansible.builtin.file) loop only for the items that would change, instead of one
    module call per item on every run. A skipped item costs no call to the host.
  - True when O(path) is not among the found entries, or its owner, group or mode differ, or (with O(content)) its
    SHA-1 checksum differs from that of O(content) encoded as UTF-8, the way C(ansible.builtin.copy) with
    C(content) compares. Every drift a copy or file task would correct is thus still corrected.
  - The find call needs C(get_checksum=true) for files.
  - "For directories, which may not exist yet (C(find) warns about a missing search path), the input may instead be
    the lines of C(stat --printf '%n\\t%a\\t%U\\t%G\\t%F\\n' PATH...), one call for every directory: path, octal mode,
    owner, group and file type, separated by tabs."
  - "Files may be among those paths when the same call also prints C(sha1sum -- PATH...) after the stat lines (the
    command of P(telemetry.claude_code.look_argv#filter) does both for a list of paths): a file then has its
    checksum from the C(sha1sum) line of its path, and a file without one differs. This is how a role skips a
    C(ansible.builtin.template) task whose rendering (C(lookup('ansible.builtin.template', ...))) is already in place."
  - The C(unit NAME ENABLED ACTIVE) lines that command prints for systemd units are ignored.
options:
  _input:
    description: The C(files) list of an C(ansible.builtin.find) result, or the C(stdout_lines) of the C(stat) call above.
    type: list
    elements: raw
    required: true
  path:
    description: The absolute path the task writes.
    type: str
    required: true
  owner:
    description: The owner the task sets (a user name).
    type: str
    required: true
  group:
    description: The group the task sets (a group name).
    type: str
    required: true
  mode:
    description: The mode the task sets, octal, such as V(0640).
    type: str
    required: true
  content:
    description: The content the task writes; omitted or V(null) for a directory.
    type: str
    default: null
  checksum:
    description:
      - Instead of O(content), the SHA-1 checksum (40 hex digits) of what the task writes, for a file that the
        controller holds, such as a binary that C(ansible.builtin.copy) copies with C(src).
      - An empty string (a checksum that could not be had) makes the file differ.
    type: str
    default: null
  keep_content:
    description:
      - A regular file whose content is not compared, only its owner, group and mode, for a task that never
        replaces a file in place (C(ansible.builtin.copy) with C(force=false), such as a generated secret).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Look at the dashboards in place
  ansible.builtin.find:
    paths: /var/lib/grafana/dashboards
    patterns: ["*.json"]
    get_checksum: true
  register: _found

- name: Write the dashboards that differ
  ansible.builtin.copy:
    content: "{{ item.text }}"
    dest: "/var/lib/grafana/dashboards/{{ item.name }}"
    owner: root
    group: grafana
    mode: "0640"
  loop: "{{ dashboards }}"
  when: _found.files | telemetry.claude_code.file_differs('/var/lib/grafana/dashboards/' ~ item.name, 'root', 'grafana', '0640', item.text)
"""

RETURN = r"""
_value:
  description: V(true) when the task would change the file or directory, else V(false).
  type: bool
"""

import hashlib

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_bytes
from ansible_collections.telemetry.claude_code.plugins.plugin_utils.look import look_entries


def _octal(mode):
    try:
        return int(str(mode), 8)
    except ValueError:
        raise AnsibleFilterError("file_differs expects an octal mode such as '0640', got %r" % (mode,))


def file_differs(found, path, owner, group, mode, content=None, checksum=None, keep_content=False):
    """True when the task that writes path (owner, group, mode, content) would change what was found."""
    entry = next((e for e in look_entries(found, "file_differs") if e.get("path") == path), None)
    if entry is None:
        return True
    if entry.get("pw_name") != owner or entry.get("gr_name") != group:
        return True
    if _octal(entry.get("mode", "0")) != _octal(mode):
        return True
    if keep_content:
        return not entry.get("isreg", False)
    if content is None and checksum is None:
        return not entry.get("isdir", False)
    if not entry.get("isreg", False) or "checksum" not in entry:
        return True
    if checksum is not None:
        return entry["checksum"] != str(checksum).strip().lower()
    return entry["checksum"] != hashlib.sha1(to_bytes(content, errors="surrogate_or_strict")).hexdigest()


class FilterModule(object):  # pylint: disable=too-few-public-methods
    """file_differs."""

    def filters(self):
        return {"file_differs": file_differs}
