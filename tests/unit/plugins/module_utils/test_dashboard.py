# -*- coding: utf-8 -*-
# Copyright: contributors to the telemetry.claude_code collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Normalise and compare dashboards; read the desired dashboard from the task's options."""

from __future__ import annotations

import json

import pytest

from ansible_collections.telemetry.claude_code.plugins.module_utils import dashboard as dash

from dashboard_samples import good_dashboard


def test_normalise_drops_what_grafana_sets_on_save():
    original = good_dashboard()
    stored = good_dashboard()
    stored.update(id=99, version=12, iteration=1700000000000, schemaVersion=41)
    stored["panels"][1]["pluginVersion"] = "11.3.0"
    stored["panels"][3]["panels"][0]["pluginVersion"] = "11.3.0"
    assert dash.normalise(stored) == dash.normalise(original)
    assert "id" not in dash.normalise(stored) and "schemaVersion" not in dash.normalise(stored)


def test_normalise_treats_empty_values_as_absent():
    a = good_dashboard()
    b = good_dashboard()
    b.update(links=[], annotations={"list": []}, description=None)
    b["panels"][1].update(options={}, fieldConfig={"defaults": {}, "overrides": []}, transformations=[])
    assert dash.normalise(a) == dash.normalise(b)


def test_normalise_does_not_touch_its_input():
    dashboard = good_dashboard()
    dash.normalise(dashboard)
    assert dashboard == good_dashboard()


def test_normalise_keeps_real_content_and_order():
    a = good_dashboard()
    b = good_dashboard()
    b["panels"][1], b["panels"][2] = b["panels"][2], b["panels"][1]
    assert dash.normalise(a) != dash.normalise(b)
    assert dash.normalise("not a dashboard") == {}


def test_normalise_legacy_rows():
    legacy = {"rows": [{"panels": [{"id": 1, "pluginVersion": "x"}]}]}
    assert dash.normalise(legacy) == {"rows": [{"panels": [{"id": 1}]}]}


def test_differences_name_the_paths():
    a = dash.normalise(good_dashboard())
    b = good_dashboard()
    b["title"] = "Other"
    b["panels"][1]["targets"][0]["expr"] = "up"
    b["tags"].append("new")
    del b["time"]
    b["refresh"] = "30s"
    found = dash.differences(a, dash.normalise(b))
    assert found == ["panels[1].targets[0].expr", "refresh (added)", "tags[1] (added)", "time (removed)", "title"]
    assert dash.differences(a, a) == []


def test_differences_of_types_and_limit():
    assert dash.differences({"a": 1}, {"a": "1"}) == ["a"]
    assert dash.differences({"a": 1}, {"a": 1.0}) == []  # Grafana stores JSON numbers as floats
    assert dash.differences({"a": True}, {"a": 1}) == ["a"]
    assert dash.differences([1], [1, 2]) == ["[1] (added)"]
    assert dash.differences(1, 2) == ["(whole dashboard)"]
    many_a = dict(("k%02d" % i, i) for i in range(80))
    many_b = dict(("k%02d" % i, -i - 1) for i in range(80))
    assert len(dash.differences(many_a, many_b)) == dash.MAX_DIFFERENCES


def test_desired_dashboard_from_dict_text_and_file(tmp_path):
    source = good_dashboard()
    assert dash.desired_dashboard({"dashboard": source}) == source
    assert dash.desired_dashboard({"dashboard": json.dumps(source)}) == source
    wrapped = {"dashboard": source, "meta": {"provisioned": True}}
    assert dash.desired_dashboard({"dashboard": wrapped}) == source
    path = tmp_path / "d.json"
    path.write_text(json.dumps(source))
    assert dash.desired_dashboard({"path": str(path)}) == source
    assert dash.desired_dashboard({"path": str(path), "uid": "other"})["uid"] == "other"
    assert dash.desired_dashboard({}) is None


def test_desired_dashboard_failures(tmp_path):
    with pytest.raises(dash.DashboardFailure) as exc:
        dash.desired_dashboard({"path": str(tmp_path / "missing.json")})
    assert exc.value.kind == "bad-parameters" and "cannot read the dashboard file" in exc.value.message
    path = tmp_path / "broken.json"
    path.write_text("{\"uid\": ")
    with pytest.raises(dash.DashboardFailure) as exc:
        dash.desired_dashboard({"path": str(path)})
    assert exc.value.kind == "invalid-dashboard"
    assert exc.value.result["problems"][0]["kind"] == "invalid-json"


def test_general_folder_spellings():
    assert dash._folder(None) == dash._folder("general") == dash._folder("") == ""  # pylint: disable=protected-access
    assert dash._folder("team") == "team"  # pylint: disable=protected-access


def test_has_data():
    assert not dash._has_data({"frames": []})  # pylint: disable=protected-access
    assert not dash._has_data({"frames": [{"schema": {}, "data": {"values": [[], []]}}]})  # pylint: disable=protected-access
    assert dash._has_data({"frames": [{"data": {"values": [[1], [2]]}}]})  # pylint: disable=protected-access


def test_lint_only_needs_no_client():
    result = dash.run({"dashboard": good_dashboard(), "lint_only": True, "promtool_path": None})
    assert result["changed"] is False and result["panels"] == 4 and result["rows"] == 2
    assert result["uid"] == "claude-code-usage"


def test_lint_only_failure_carries_problems():
    broken = good_dashboard()
    broken["uid"] = "bad uid"
    with pytest.raises(dash.DashboardFailure) as exc:
        dash.run({"dashboard": broken, "lint_only": True})
    assert exc.value.kind == "invalid-dashboard"
    assert [p["kind"] for p in exc.value.result["problems"] if p["kind"] != "lint-skipped"] == ["uid"]
    assert "the lint found 1 problem(s): uid:" in exc.value.message
