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
  - With O(listings), it also prints the C(stat) and C(sha1sum) lines of every regular file in a directory whose name
    matches a pattern (C(find DIR -maxdepth 1 -type f -name PATTERN), hidden files and symbolic links left out, as
    C(ansible.builtin.find) leaves them out by default), so the files a role manages in a directory of its own are
    looked at in the same call. P(telemetry.claude_code.found_files#filter) lists them, for a task that removes the
    ones no longer wanted.
  - With O(executables), it prints a line C(executable PATH) for each of these paths that is a regular file (symbolic
    links followed) the user can execute, and nothing for the others.
  - With O(versions), it runs each of these executables with C(--version) (standard input closed) and prints a line
    C(version PATH OUTPUT), OUTPUT being its standard output and error on one line; nothing for a path that is not
    executable. Use it only for programs whose C(--version) only prints.
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
  listings:
    description:
      - Absolute glob patterns, C(DIR/PATTERN), whose regular files to look at too. Only the last part of the path may
        hold C(*), C(?) or C([...]); it matches file names in DIR, not in its subdirectories.
    type: list
    elements: str
    default: []
  executables:
    description: Absolute paths to print an C(executable PATH) line for when they can be executed.
    type: list
    elements: str
    default: []
  versions:
    description: Absolute paths of executables to run with C(--version), each printing a C(version PATH OUTPUT) line.
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

- name: Look at the files, at the rule files in a directory and at the binary
  ansible.builtin.command:
    argv: >-
      {{ ['/etc/myapp/myapp.yml'] | telemetry.claude_code.look_argv(listings=['/etc/myapp/rules/*.yml'],
         executables=['/usr/local/bin/myapp'], versions=['/usr/local/bin/myapp']) }}
  register: _found
  changed_when: false
  failed_when: _found.rc not in [0, 1]
  check_mode: false

- name: Say whether the binary can run, and which version it is
  ansible.builtin.debug:
    msg: >-
      {{ ('executable /usr/local/bin/myapp' in _found.stdout_lines) }}
      {{ _found.stdout_lines | select('match', '^version /usr/local/bin/myapp ') | first | default('') }}

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
  description:
    - V(sh), V(-c), the script, V(look), the units separated by spaces (maybe none), then the listings (directory
      and pattern separated by a tab), the executables and the versions, each list as one argument with one entry per
      line, then the paths.
  type: list
  elements: str
"""

import posixpath
import re

from ansible.errors import AnsibleFilterError

# The look whose output file_differs reads: a stat line for every path, then a sha1sum line for every
# regular file among them (a missing path just has no line; the exit status, sha1sum's, is then 1),
# then a line "unit NAME ENABLED ACTIVE" for every unit named in $1; then the same stat and sha1sum
# lines for the regular files of each listing in $2 ("DIR<TAB>PATTERN" per line), a line
# "executable PATH" for each path of $3 that can be executed, and "version PATH OUTPUT" for each of $4.
_STAT = "stat --printf '%n\\t%a\\t%U\\t%G\\t%F\\n'"
LOOK_SCRIPT = (
    "u=$1; l=$2; x=$3; v=$4; shift 4; "
    + _STAT + " -- \"$@\"; sha1sum -- \"$@\" 2>/dev/null; rc=$?; "
    "for n in $u; do printf 'unit %s %s %s\\n' \"$n\" \"$(systemctl is-enabled -- \"$n\" 2>/dev/null)\" "
    "\"$(systemctl is-active -- \"$n\" 2>/dev/null)\"; done; "
    "t=$(printf '\\t'); "
    "printf '%s\\n' \"$l\" | while IFS=\"$t\" read -r d p; do [ -n \"$d\" ] || continue; "
    "find \"$d\" -maxdepth 1 -type f -name \"$p\" ! -name '.*' -exec " + _STAT + " -- {} + "
    "-exec sha1sum -- {} + 2>/dev/null; done; "
    "printf '%s\\n' \"$x\" | while IFS= read -r p; do if [ -n \"$p\" ] && [ -f \"$p\" ] && [ -x \"$p\" ]; then "
    "printf 'executable %s\\n' \"$p\"; fi; done; "
    "printf '%s\\n' \"$v\" | while IFS= read -r p; do if [ -n \"$p\" ] && [ -f \"$p\" ] && [ -x \"$p\" ]; then "
    "printf 'version %s %s\\n' \"$p\" \"$(\"$p\" --version 2>&1 </dev/null | tr '\\t\\n' '  ')\"; fi; done; "
    "exit $rc")
_UNIT_NAME = re.compile(r"^[A-Za-z0-9@:._-]+$")
_GLOB = re.compile(r"[*?[]")


def _absolute_paths(value, what):
    """value as a list of absolute paths, each on one line (they travel one per line)."""
    value = [] if value is None else value
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(p, str) and p.startswith("/") and "\n" not in p and "\t" not in p for p in value):
        raise AnsibleFilterError("look_argv expects %s to be a list of absolute paths, got %r" % (what, value))
    return list(value)


def look_argv(paths, units=None, listings=None, executables=None, versions=None):
    """The argv of ansible.builtin.command that looks at paths (and units, listings, executables, versions), for
    file_differs (see DOCUMENTATION)."""
    if not isinstance(paths, (list, tuple)) or not paths or not all(isinstance(p, str) and p.startswith("/") for p in paths):
        raise AnsibleFilterError("look_argv expects a list of absolute paths, got %r" % (paths,))
    units = [] if units is None else units
    if not isinstance(units, (list, tuple)) or not all(isinstance(u, str) and _UNIT_NAME.match(u) for u in units):
        raise AnsibleFilterError("look_argv expects units to be a list of systemd unit names, got %r" % (units,))
    listed = []
    for pattern in _absolute_paths(listings, "listings"):
        directory, name = posixpath.split(pattern)
        if not name or _GLOB.search(directory):
            raise AnsibleFilterError("look_argv expects each listing to be DIR/PATTERN with the pattern in its last "
                                     "part only, got %r" % (pattern,))
        listed.append("%s\t%s" % (posixpath.normpath(directory), name))
    return (["sh", "-c", LOOK_SCRIPT, "look", " ".join(units), "\n".join(listed),
             "\n".join(_absolute_paths(executables, "executables")), "\n".join(_absolute_paths(versions, "versions"))]
            + list(paths))


class FilterModule(object):  # pylint: disable=too-few-public-methods
    """look_argv."""

    def filters(self):
        return {"look_argv": look_argv}
