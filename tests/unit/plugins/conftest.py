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

from grafana_api_test_double import GrafanaApiTestDouble  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture
def grafana():
    """A running GrafanaApiTestDouble (a test double of Grafana's HTTP API on 127.0.0.1)."""
    with GrafanaApiTestDouble() as double:
        yield double
