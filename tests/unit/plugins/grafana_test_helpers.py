# -*- coding: utf-8 -*-
# Copyright: contributors to the telemetry.claude_code collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the plugin unit tests: a module runner and the lookup of the query parsers."""

from __future__ import annotations

import os
import pathlib
import shutil
from unittest import mock

ROOT = pathlib.Path(__file__).resolve().parents[3]
CACHE = pathlib.Path(os.environ.get("TCC_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "telemetry.claude_code"))
LOGQL_SCRIPT = ROOT / "tests" / "lint" / "logql_parse.mjs"


def find_promtool():
    """promtool from $TCC_PROMTOOL, the harness cache (tests/lint/setup.sh) or PATH; or None."""
    for candidate in (os.environ.get("TCC_PROMTOOL"), str(CACHE / "promtool" / "promtool"), shutil.which("promtool")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def logql_available():
    """Whether node and @grafana/lezer-logql are there for tests/lint/logql_parse.mjs."""
    if not (shutil.which("node") or shutil.which("nodejs")):
        return False
    dirs = [os.environ.get("TCC_LOGQL_MODULES"), str(CACHE / "logql"), str(LOGQL_SCRIPT.parent)]
    return any(d and (pathlib.Path(d) / "node_modules" / "@grafana" / "lezer-logql").is_dir() for d in dirs)


class ModuleExit(Exception):
    """exit_json or fail_json was called; ``result`` is what the module returned."""

    def __init__(self, result):
        super().__init__(result.get("msg", ""))
        self.result = result


def run_module(args, check_mode=False, diff=False, module=None):
    """Run a module's main() (grafana_dashboard unless given) with these arguments; return its result."""
    from ansible.module_utils import basic
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.telemetry.claude_code.plugins.modules import grafana_dashboard
    module = module or grafana_dashboard

    args = dict(args)
    if check_mode:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    warnings = []

    def exit_json(self, **kwargs):
        kwargs.setdefault("failed", False)
        kwargs["warnings"] = warnings
        raise ModuleExit(kwargs)

    def fail_json(self, msg, **kwargs):
        kwargs.update(msg=msg, failed=True, warnings=warnings)
        raise ModuleExit(kwargs)

    def warn(self, message):
        warnings.append(message)

    with patch_module_args(args), \
            mock.patch.object(basic.AnsibleModule, "exit_json", exit_json), \
            mock.patch.object(basic.AnsibleModule, "fail_json", fail_json), \
            mock.patch.object(basic.AnsibleModule, "warn", warn):
        try:
            module.main()
        except ModuleExit as exc:
            return exc.result
    raise AssertionError("the module returned without exit_json or fail_json")
