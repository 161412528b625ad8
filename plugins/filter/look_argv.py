# -*- coding: utf-8 -*-
# Copyright: telemetry.claude_code developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: the command that looks at many files and directories at once, for file_differs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
name: look_argv
short_description: The command that looks at many files and directories at once, for file_differs
version_added: 0.1.0
author: telemetry.claude_code developers
description:
  - Returns the argv of an C(ansible.builtin.command) task that prints, in one call to the host, a C(stat) line
    (path, octal mode, owner, group, file type, tab-separated) for every path that exists, then a C(sha1sum) line
    for every regular file among them.
  - Its C(stdout_lines) are the input of P(telemetry.claude_code.file_differs#filter), which then tells for each
    directory, file or template task whether it would change anything, without a call to the host.
  - A missing path is simply not listed (the command's exit status is then 1), so register the result with
    C(failed_when) accepting 0 and 1.
  - With O(units), it then prints a line C(unit NAME ENABLED ACTIVE) for each of these systemd units, what
    C(systemctl is-enabled) and C(systemctl is-active) say of it (ENABLED is empty for a unit systemd does not
    know). A service task can then skip itself when its unit is already V(enabled) and V(active), with the condition
    C("'unit myapp enabled active' not in _found.stdout_lines") (see the examples).
    P(telemetry.claude_code.file_differs#filter) ignores these lines.
  - The command only reads. Run it with C(check_mode=false) and C(changed_when=false).
options:
  _input:
    description: The absolute paths to look at.
    type: list
    elements: str
    required: true
  units:
    description: Names of systemd units whose state to print after the files.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Look at the configuration directory and files in place
  ansible.builtin.command:
    argv: "{{ ['/etc/myapp', '/etc/myapp/myapp.yml'] | telemetry.claude_code.look_argv }}"
  register: _found
  changed_when: false
  failed_when: _found.rc not in [0, 1]
  check_mode: false

- name: Look at the files and at the state of the service
  ansible.builtin.command:
    argv: "{{ ['/etc/myapp/myapp.yml'] | telemetry.claude_code.look_argv(units=['myapp']) }}"
  register: _found
  changed_when: false
  failed_when: _found.rc not in [0, 1]
  check_mode: false

- name: Enable and start the service unless it already is
  ansible.builtin.systemd_service:
    name: myapp
    enabled: true
    state: started
  when: "'unit myapp enabled active' not in _found.stdout_lines"

- name: Write the configuration when it differs
  ansible.builtin.template:
    src: myapp.yml.j2
    dest: /etc/myapp/myapp.yml
    owner: root
    group: myapp
    mode: "0640"
  when: >-
    _found.stdout_lines | telemetry.claude_code.file_differs('/etc/myapp/myapp.yml', 'root', 'myapp', '0640',
    lookup('ansible.builtin.template', 'myapp.yml.j2'))
"""

RETURN = r"""
_value:
  description: V(sh), V(-c), the script, V(look), the units separated by spaces (maybe none), then the paths.
  type: list
  elements: str
"""

import re

from ansible.errors import AnsibleFilterError

# The look whose output file_differs reads: a stat line for every path, then a sha1sum line for every
# regular file among them (a missing path just has no line; the exit status, sha1sum's, is then 1),
# then a line "unit NAME ENABLED ACTIVE" for every unit named in $1.
LOOK_SCRIPT = ("u=$1; shift; stat --printf '%n\\t%a\\t%U\\t%G\\t%F\\n' -- \"$@\"; sha1sum -- \"$@\" 2>/dev/null; rc=$?; "
               "for n in $u; do printf 'unit %s %s %s\\n' \"$n\" \"$(systemctl is-enabled -- \"$n\" 2>/dev/null)\" "
               "\"$(systemctl is-active -- \"$n\" 2>/dev/null)\"; done; exit $rc")
_UNIT_NAME = re.compile(r"^[A-Za-z0-9@:._-]+$")


def look_argv(paths, units=None):
    """The argv of ansible.builtin.command that looks at paths (and units), for file_differs (see DOCUMENTATION)."""
    if not isinstance(paths, (list, tuple)) or not all(isinstance(p, str) and p.startswith("/") for p in paths):
        raise AnsibleFilterError("look_argv expects a list of absolute paths, got %r" % (paths,))
    units = [] if units is None else units
    if not isinstance(units, (list, tuple)) or not all(isinstance(u, str) and _UNIT_NAME.match(u) for u in units):
        raise AnsibleFilterError("look_argv expects units to be a list of systemd unit names, got %r" % (units,))
    return ["sh", "-c", LOOK_SCRIPT, "look", " ".join(units)] + list(paths)


class FilterModule(object):  # pylint: disable=too-few-public-methods
    """look_argv."""

    def filters(self):
        return {"look_argv": look_argv}
