# -*- coding: utf-8 -*-
# Copyright: telemetry.claude_code developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The output of a role's look (the command of the look_argv filter, or an ansible.builtin.find result), read once
for the filters that decide from it whether a task would change anything (file_differs, file_found)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import re

from ansible.errors import AnsibleFilterError

_SHA1SUM_LINE = re.compile(r"^([0-9a-f]{40})  (.+)$")
# The lines of look_argv's units, executables and versions (a file's lines start with its absolute path).
_NOT_FILES = ("unit ", "executable ", "version ")


def look_entries(found, filter_name):
    """A find result's entries as they are; stat --printf '%n\\t%a\\t%U\\t%G\\t%F\\n' lines as such entries, with
    the checksum of the sha1sum line of the same path, when there is one. The "unit NAME ENABLED ACTIVE",
    "executable PATH" and "version PATH OUTPUT" lines of look_argv are not files: they are left out."""
    if not isinstance(found, list):
        raise AnsibleFilterError("%s expects a find result's files or stat lines, got %r" % (filter_name, type(found)))
    entries, checksums = [], {}
    for item in found:
        if isinstance(item, dict):
            entries.append(item)
            continue
        if str(item).startswith(_NOT_FILES):
            continue
        fields = str(item).split("\t")
        if len(fields) == 5:
            entries.append({"path": fields[0], "mode": fields[1], "pw_name": fields[2], "gr_name": fields[3],
                            "isdir": fields[4] == "directory", "isreg": fields[4].startswith("regular")})
            continue
        match = _SHA1SUM_LINE.match(str(item))
        if not match:
            raise AnsibleFilterError("%s expects stat lines 'path<TAB>mode<TAB>owner<TAB>group<TAB>type' "
                                     "or sha1sum lines 'checksum  path', got %r" % (filter_name, item))
        checksums[match.group(2)] = match.group(1)
    for entry in entries:
        if entry.get("path") in checksums and entry.get("isreg"):
            entry["checksum"] = checksums[entry["path"]]
    return entries
