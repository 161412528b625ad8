# -*- coding: utf-8 -*-
# Copyright: contributors to the telemetry.claude_code collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make the collection importable as ansible_collections.telemetry.claude_code.

tests/harness.sh links this work tree into $ANSIBLE_HOME/collections (default
~/.cache/telemetry.claude_code/ansible-home/collections); put that directory on sys.path so
that plain `python -m pytest tests/unit` from the repository root finds the collection.
Without that link (or when it points elsewhere), a temporary one is made for the session.
"""

from __future__ import annotations

import atexit
import os
import pathlib
import shutil
import sys
import tempfile


def _collections_dir():
    home = os.environ.get("ANSIBLE_HOME")
    if home:
        return pathlib.Path(home).expanduser() / "collections"
    cache = os.environ.get("TCC_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "telemetry.claude_code")
    return pathlib.Path(cache) / "ansible-home" / "collections"


def _importable():
    """A directory holding ansible_collections/telemetry/claude_code that is this work tree."""
    root = pathlib.Path(__file__).resolve().parents[2]
    if root.parent.name == "telemetry" and root.parent.parent.name == "ansible_collections":
        return root.parent.parent.parent  # already inside a collection tree (ansible-test)
    linked = _collections_dir()
    if (linked / "ansible_collections" / "telemetry" / "claude_code").resolve() == root:
        return linked
    # No harness link (tests/harness.sh setup not run): make a temporary one.
    temp = pathlib.Path(tempfile.mkdtemp(prefix="tcc-collections-"))
    atexit.register(shutil.rmtree, str(temp), True)
    (temp / "ansible_collections" / "telemetry").mkdir(parents=True)
    (temp / "ansible_collections" / "telemetry" / "claude_code").symlink_to(root)
    return temp


_COLLECTIONS = str(_importable())
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)
