# -*- coding: utf-8 -*-
# Copyright: telemetry.claude_code developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""provisioned_dashboard: what the grafana role writes for each dashboard file."""

from __future__ import annotations

import json
import pathlib

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible.plugins.filter.core import to_nice_json
from ansible_collections.telemetry.claude_code.plugins.filter.provisioned_dashboard import provisioned_dashboard
from ansible_collections.telemetry.claude_code.plugins.module_utils.pricing import apply_prices

ROOT = pathlib.Path(__file__).resolve().parents[4]
PRICES = yaml.safe_load((ROOT / "files" / "model_prices.yml").read_text(encoding="utf-8"))["claude_code_model_prices"]
DASHBOARDS = sorted((ROOT / "files" / "dashboards").glob("*.json"))


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.name for p in DASHBOARDS])
def test_same_bytes_as_the_filter_chain_it_replaces(path):
    """Existing deployments stay unchanged: the text is what to_nice_json(indent=2) gave."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["id"] = None
    expected = to_nice_json(apply_prices(doc, PRICES), indent=2)
    assert provisioned_dashboard(path.read_text(encoding="utf-8"), PRICES) == expected


def test_overrides_uids_and_prices():
    board = {"id": 7, "uid": "x", "title": "X", "refresh": "1m", "timepicker": {"hidden": False, "nowDelay": ""},
             "panels": [{"type": "stat", "title": "P", "datasource": {"type": "prometheus", "uid": "prometheus"},
                         "targets": [{"refId": "A", "datasource": {"type": "loki", "uid": "loki"}},
                                     {"refId": "B", "tccPrice": {"tokenType": "input", "window": "24h"}}]}]}
    out = json.loads(provisioned_dashboard(board, PRICES, {"refresh": "5m", "timepicker": {"hidden": True}},
                                           "prom-main", "loki-main"))
    assert out["id"] is None and out["refresh"] == "5m"
    assert out["timepicker"] == {"hidden": True, "nowDelay": ""}
    panel = out["panels"][0]
    assert panel["datasource"]["uid"] == "prom-main"
    assert panel["targets"][0]["datasource"]["uid"] == "loki-main"
    assert "claude_code_token_usage_tokens_total" in panel["targets"][1]["expr"]
    assert board["id"] == 7, "the input is not changed"


def test_refuses_what_is_not_a_dashboard():
    with pytest.raises(AnsibleFilterError):
        provisioned_dashboard("{not json", PRICES)
    with pytest.raises(AnsibleFilterError):
        provisioned_dashboard("[1, 2]", PRICES)


def test_fleet_counters_swap_only_the_marked_targets():
    """grafana_dashboards_fleet_counters: each marked target of the main dashboard reads the fleet
    counters, every other target stays as it was; off, the file's expressions stay."""
    text = (ROOT / "files" / "dashboards" / "claude-code.json").read_text(encoding="utf-8")
    plain = json.loads(provisioned_dashboard(text, PRICES))
    fleet = json.loads(provisioned_dashboard(text, PRICES, fleet_counters=True))

    def targets(board):
        return [(panel["title"], target) for panel in board["panels"] for target in panel.get("targets", [])]

    swapped = 0
    for (title, before), (_title, after) in zip(targets(plain), targets(fleet)):
        if before.get("tccFleet"):
            swapped += 1
            assert after["expr"] == before["tccFleet"] != before["expr"], title
            assert ":fleet_total" in after["expr"] and ":fleet_total" not in before["expr"], title
        else:
            assert after == before, title
    # 13 targets of stats over the time range (one of them the same hours 7 days before; four
    # divide by the sessions, which the session counters answer), the two weekly ones and the
    # three time series (the counters' growth per step)
    assert swapped == 20
