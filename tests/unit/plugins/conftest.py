# -*- coding: utf-8 -*-
# Copyright: contributors to the telemetry.claude_code collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the plugin unit tests: the Grafana API test double."""

from __future__ import annotations

import os
import sys

import pytest

# The helpers next to this file (the test double, sample dashboards, the module runner).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from grafana_api_test_double import LINES, GrafanaApiTestDouble  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(params=LINES)
def grafana(request):
    """A running GrafanaApiTestDouble of each Grafana release line (11.x, 12.x, 13.x) in turn.

    Every test that takes this fixture runs once per line of the double's behaviour table.
    """
    with GrafanaApiTestDouble(request.param) as double:
        yield double
