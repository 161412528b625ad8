# -*- coding: utf-8 -*-
# Copyright: contributors to the telemetry.claude_code collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The grafana_dashboard module, driven through its main(), against GrafanaApiTestDouble.

GrafanaApiTestDouble is a test double of Grafana's HTTP API (a local HTTP server on
127.0.0.1), not Grafana; every test that takes the ``grafana`` fixture runs once per release
line of its behaviour table (11.x, 12.x, 13.x; GRAFANA_LINES cites the source of each row).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

from dashboard_samples import METRIC_CATALOG, good_dashboard
from grafana_api_test_double import ADMIN_USER, EDITOR_TOKEN, GRAFANA_LINES, VIEWER_TOKEN
from grafana_test_helpers import LOGQL_SCRIPT, ROOT, find_promtool, logql_available, run_module

UID = "claude-code-usage"


@pytest.fixture
def fast_wait(monkeypatch):
    """Poll every 0.1 s instead of 2 s while waiting for the double's background provisioning."""
    from ansible_collections.telemetry.claude_code.plugins.module_utils import dashboard

    monkeypatch.setattr(dashboard, "WAIT_INTERVAL", 0.1)


def args(grafana, **extra):
    base = {"url": grafana.url, "grafana_api_key": EDITOR_TOKEN, "dashboard": good_dashboard(),
            "timeout": 5, "promtool_path": "/nonexistent/promtool"}
    base.update(extra)
    return dict((key, value) for key, value in base.items() if value is not None)


def ok(result):
    assert not result["failed"], json.dumps(result, indent=1, default=str)
    return result


def failed(result, error):
    assert result["failed"], json.dumps(result, indent=1, default=str)
    assert result["error"] == error, result["msg"]
    return result


def errors(result):
    return [p for p in result["problems"] if p["kind"] != "lint-skipped"]


# --- idempotence -----------------------------------------------------------------------


def test_check_run_check_run(grafana):
    first_check = ok(run_module(args(grafana), check_mode=True))
    assert first_check["changed"] is True and first_check["differences"] == ["(new dashboard)"]
    assert grafana.writes() == [] and grafana.dashboards == {}

    first_run = ok(run_module(args(grafana)))
    assert first_run["changed"] is True
    assert [(w["method"], w["path"]) for w in grafana.writes()] == [("POST", "/api/dashboards/db")]
    assert first_run["uid"] == UID and first_run["version"] == 1
    assert first_run["url"] == "%s/d/%s/claude-code-usage" % (grafana.url, UID)
    assert first_run["panels"] == 4 and first_run["rows"] == 2
    assert errors(first_run) == []

    second_check = ok(run_module(args(grafana), check_mode=True))
    assert second_check["changed"] is False and second_check["differences"] == []
    second_run = ok(run_module(args(grafana)))
    assert second_run["changed"] is False and second_run["version"] == 1
    assert len(grafana.writes()) == 1  # nothing written after the first run


def test_post_carries_overwrite_message_and_no_id(grafana):
    ok(run_module(args(grafana, commit_message="release 1.2")))
    body = grafana.writes()[0]["body"]
    assert body["overwrite"] is True and body["message"] == "release 1.2" and body["folderUid"] == ""
    assert "id" not in body["dashboard"] and "version" not in body["dashboard"]


def test_default_commit_message(grafana):
    ok(run_module(args(grafana)))
    assert grafana.writes()[0]["body"]["message"] == "Imported by Ansible (telemetry.claude_code.grafana_dashboard)"


def test_what_grafana_adds_is_not_a_change(grafana):
    stored = good_dashboard()
    stored["schemaVersion"] = 41
    stored["panels"][1]["pluginVersion"] = "11.3.0"
    stored["links"] = []
    grafana.put_dashboard(stored, version=5)
    result = ok(run_module(args(grafana)))
    assert result["changed"] is False and result["version"] == 5 and grafana.writes() == []


def test_a_real_change_is_imported_with_diff(grafana):
    grafana.put_dashboard(good_dashboard(), version=5)
    wanted = good_dashboard()
    wanted["panels"][1]["targets"][0]["expr"] = "sum(claude_code_cost_usage_USD_total)"
    check = ok(run_module(args(grafana, dashboard=wanted), check_mode=True, diff=True))
    assert check["changed"] is True and check["differences"] == ["panels[1].targets[0].expr"]
    assert check["diff"]["before"]["dashboard"]["panels"][1]["targets"][0]["expr"].startswith("sum by (model)")
    assert check["diff"]["after"]["dashboard"]["panels"][1]["targets"][0]["expr"] == "sum(claude_code_cost_usage_USD_total)"
    assert grafana.writes() == []
    result = ok(run_module(args(grafana, dashboard=wanted), diff=True))
    assert result["changed"] is True and result["version"] == 6
    assert grafana.dashboards[UID]["dashboard"]["panels"][1]["targets"][0]["expr"] == "sum(claude_code_cost_usage_USD_total)"


def test_dashboard_as_json_text_and_file(grafana, tmp_path):
    ok(run_module(args(grafana, dashboard=json.dumps(good_dashboard()))))
    path = tmp_path / "dashboard.json"
    path.write_text(json.dumps(good_dashboard()))
    result = ok(run_module(args(grafana, path=str(path), dashboard=None)))
    assert result["changed"] is False


def test_uid_option_overrides_the_json(grafana):
    result = ok(run_module(args(grafana, uid="another-uid")))
    assert result["uid"] == "another-uid" and "another-uid" in grafana.dashboards


# --- folders ---------------------------------------------------------------------------


def test_missing_folder_fails_with_404_advice(grafana):
    result = failed(run_module(args(grafana, folder_uid="team")), "folder-not-found")
    assert "folder 'team' does not exist" in result["msg"] and "create_folder" in result["msg"]
    assert grafana.writes() == []


def test_create_folder(grafana):
    check = ok(run_module(args(grafana, folder_uid="team", folder_title="Team", create_folder=True), check_mode=True))
    assert check["changed"] is True and check["folder_created"] is True and grafana.writes() == []
    result = ok(run_module(args(grafana, folder_uid="team", folder_title="Team", create_folder=True)))
    assert grafana.folders["team"]["title"] == "Team"
    assert grafana.dashboards[UID]["meta"]["folderUid"] == "team" and result["folder_uid"] == "team"
    again = ok(run_module(args(grafana, folder_uid="team", folder_title="Team", create_folder=True)))
    assert again["changed"] is False


def test_moving_folders_and_staying_put(grafana):
    grafana.add_folder("team")
    grafana.put_dashboard(good_dashboard(), folder_uid="team")
    stays = ok(run_module(args(grafana)))  # no folder_uid: the dashboard stays where it is
    assert stays["changed"] is False and stays["folder_uid"] == "team"
    moved = ok(run_module(args(grafana, folder_uid="")))
    assert moved["changed"] is True and moved["differences"] == ["folder 'team' -> ''"]
    assert grafana.dashboards[UID]["meta"]["folderUid"] == ""


# --- conflicts and provisioning --------------------------------------------------------


def test_version_conflict(grafana):
    """11.x and 12.x answer 412 version-mismatch, 13.x 409: one kind, version-conflict."""
    grafana.put_dashboard(good_dashboard(), version=3)

    def someone_else_saves(double):
        double.dashboards[UID]["meta"]["version"] = 4

    grafana.before_save = someone_else_saves
    wanted = dict(good_dashboard(), title="New title")
    result = failed(run_module(args(grafana, dashboard=wanted, overwrite=False)), "version-conflict")
    status, body = GRAFANA_LINES[grafana.line]["version_conflict"]
    assert result["status"] == status and "changed by someone else" in result["msg"]
    assert str(status) in result["msg"] and (body.get("status") or body["message"]) in result["msg"]
    assert grafana.writes()[0]["body"]["dashboard"]["version"] == 3


def test_overwrite_false_without_conflict(grafana):
    grafana.put_dashboard(good_dashboard(), version=3)
    result = ok(run_module(args(grafana, dashboard=dict(good_dashboard(), title="New title"), overwrite=False)))
    assert result["changed"] is True and result["version"] == 4


def test_same_title_under_another_uid_is_fine(grafana):
    """Grafana 11.3 dropped unique titles: a second dashboard with the same title is no conflict."""
    grafana.put_dashboard(dict(good_dashboard(), uid="older-copy"))
    result = ok(run_module(args(grafana, overwrite=False)))
    assert result["changed"] is True and UID in grafana.dashboards and "older-copy" in grafana.dashboards


def test_folder_deleted_before_the_save_is_folder_not_found(grafana):
    """The folder existed when read, then vanished: Grafana answers 400 {"message": "folder not found"}."""
    grafana.add_folder("team")

    def someone_deletes_the_folder(double):
        del double.folders["team"]

    grafana.before_save = someone_deletes_the_folder
    result = failed(run_module(args(grafana, folder_uid="team")), "folder-not-found")
    assert result["status"] == 400 and "folder 'team' does not exist" in result["msg"]
    assert "400 folder not found" in result["msg"] and UID not in grafana.dashboards


def test_v2_dashboard_is_refused_with_its_own_kind(grafana):
    v2 = GRAFANA_LINES[grafana.line]["v2_api_version"]
    if v2 is None:  # 11.x has no v2 schema: the double cannot even store one
        with pytest.raises(ValueError):
            grafana.put_dashboard(good_dashboard(), api_version="v2alpha1")
        return
    grafana.put_dashboard(good_dashboard(), api_version=v2)
    for params in (args(grafana), args(grafana, confirm_only=True), args(grafana, state="absent")):
        result = failed(run_module(params), "v2-dashboard")
        assert result["status"] == 406 and "classic (v1)" in result["msg"]
    assert grafana.writes() == []


def test_title_with_spaces_is_trimmed_as_grafana_does(grafana):
    wanted = dict(good_dashboard(), title="  Claude Code usage  ")
    first = ok(run_module(args(grafana, dashboard=wanted)))
    assert first["changed"] is True and errors(first) == []
    assert grafana.dashboards[UID]["dashboard"]["title"] == "Claude Code usage"
    assert any("Grafana trims" in w for w in first["warnings"]) and first["normalised"]
    check = ok(run_module(args(grafana, dashboard=wanted), check_mode=True))
    again = ok(run_module(args(grafana, dashboard=wanted)))
    assert check["changed"] is False and again["changed"] is False and len(grafana.writes()) == 1


def test_refresh_below_min_refresh_interval_is_raised_as_grafana_does(grafana):
    grafana.min_refresh_interval = "30s"
    wanted = dict(good_dashboard(), refresh="10s")
    first = ok(run_module(args(grafana, dashboard=wanted, min_refresh_interval="30s")))
    assert first["changed"] is True and grafana.dashboards[UID]["dashboard"]["refresh"] == "30s"
    assert any("min_refresh_interval" in w for w in first["warnings"])
    again = ok(run_module(args(grafana, dashboard=wanted, min_refresh_interval="30s")))
    assert again["changed"] is False and len(grafana.writes()) == 1
    # The module left at Grafana's default while Grafana has 30s: Grafana's raise is a change each run.
    drift = ok(run_module(args(grafana, dashboard=wanted), check_mode=True))
    assert drift["changed"] is True and drift["differences"] == ["refresh"]


def test_a_provisioned_dashboard_is_not_overwritten_while_the_search_index_lags(grafana):
    """meta.provisioned reads false right after provisioning from 12.x: the refusal must not rely on it."""
    grafana.restart()
    grafana.provision(good_dashboard())
    time.sleep(GRAFANA_LINES[grafana.line]["dashboard_delay"] + 0.05)
    meta = grafana._served(grafana.dashboards[UID])["meta"]
    assert meta["provisioned"] is (GRAFANA_LINES[grafana.line]["search_lag"] == 0)
    result = failed(run_module(args(grafana, dashboard=dict(good_dashboard(), title="Changed"))), "provisioned")
    assert "provisioned from a file" in result["msg"] and grafana.writes() == []
    gone = failed(run_module(args(grafana, state="absent")), "provisioned")
    assert "refuses to delete" in gone["msg"] and grafana.writes() == []


def test_a_file_provider_with_allow_ui_updates_may_be_saved(grafana):
    grafana.put_dashboard(good_dashboard(), provisioned=True, allow_ui_updates=True)
    result = ok(run_module(args(grafana, dashboard=dict(good_dashboard(), title="Changed"))))
    assert result["changed"] is True and result["provisioned"] is False


def test_provisioned_dashboard_is_not_overwritten(grafana):
    grafana.put_dashboard(good_dashboard(), provisioned=True)
    result = failed(run_module(args(grafana, dashboard=dict(good_dashboard(), title="Changed"))), "provisioned")
    assert "provisioned from a file" in result["msg"] and "confirm_only" in result["msg"]
    assert grafana.writes() == []


def test_provisioned_dashboard_that_matches_is_fine(grafana):
    grafana.put_dashboard(good_dashboard(), provisioned=True)
    result = ok(run_module(args(grafana)))
    assert result["changed"] is False and result["provisioned"] is True


def test_confirm_only_of_a_provisioned_dashboard(grafana):
    grafana.put_dashboard(good_dashboard(), provisioned=True)
    result = ok(run_module(args(grafana, confirm_only=True, expect_panels=4, expect_rows=2)))
    assert result["changed"] is False and result["provisioned"] is True and errors(result) == []
    assert grafana.writes() == []


def test_confirm_only_without_file_needs_the_uid(grafana):
    grafana.put_dashboard(good_dashboard(), provisioned=True)
    result = ok(run_module(args(grafana, confirm_only=True, dashboard=None, uid=UID)))
    assert result["panels"] == 4
    missing = failed(run_module(args(grafana, confirm_only=True, dashboard=None)), "bad-parameters")
    assert "no dashboard uid" in missing["msg"]


def test_confirm_only_of_a_missing_provisioned_dashboard(grafana):
    result = failed(run_module(args(grafana, confirm_only=True)), "provisioned-missing")
    for cause in ("not valid JSON", "uid clashes", "path", "permissions", "log"):
        assert cause in result["msg"]


def test_confirm_only_finds_an_outdated_copy(grafana):
    grafana.put_dashboard(dict(good_dashboard(), title="Old title"), provisioned=True)
    result = failed(run_module(args(grafana, confirm_only=True)), "confirm-failed")
    problem = [p for p in result["problems"] if p["kind"] == "readback-mismatch"][0]
    assert "differs from the file at title" in problem["message"]


def test_confirm_only_waits_for_background_provisioning(grafana, fast_wait):
    """After a (re)start the API answers before the provisioner has run (from 12.x for datasources too)."""
    grafana.restart()
    grafana.provision(good_dashboard())
    behaviour = GRAFANA_LINES[grafana.line]
    started = time.monotonic()
    result = ok(run_module(args(grafana, confirm_only=True, wait_timeout=30, expect_panels=4, expect_rows=2)))
    assert result["provisioned"] is True and errors(result) == [] and grafana.writes() == []
    assert time.monotonic() - started >= behaviour["dashboard_delay"] - 0.05


def test_confirm_only_waits_for_a_dashboard_on_a_provisioned_datasource(grafana, fast_wait):
    """From 12.x datasources are provisioned in the background too, then the dashboards that use them."""
    dashboard = good_dashboard()
    dashboard["panels"][1]["datasource"] = {"type": "prometheus", "uid": "prom-late"}
    grafana.restart()
    grafana.provision_datasource({"id": 9, "uid": "prom-late", "orgId": 1, "name": "Prometheus late",
                                  "type": "prometheus", "access": "proxy", "url": "http://127.0.0.1:9091",
                                  "isDefault": False})
    grafana.provision(dashboard)
    once = failed(run_module(args(grafana, dashboard=dashboard, confirm_only=True,
                                  known_datasource_uids=["prom-late"])), "provisioned-missing")
    assert "set wait_timeout" in once["msg"]
    waited = ok(run_module(args(grafana, dashboard=dashboard, confirm_only=True, wait_timeout=30,
                                known_datasource_uids=["prom-late"])))
    assert errors(waited) == []


def test_confirm_only_deadline_says_how_long_it_waited(grafana, fast_wait):
    result = failed(run_module(args(grafana, confirm_only=True, wait_timeout=1)), "provisioned-missing")
    assert "still failing after waiting 1 s (wait_timeout)" in result["msg"]
    tries = [r for r in grafana.requests if r["path"] == "/api/dashboards/uid/%s" % UID]
    assert len(tries) >= 2


def test_confirm_only_does_not_wait_for_what_provisioning_cannot_fix(grafana, fast_wait):
    grafana.put_dashboard(good_dashboard(), provisioned=True)
    started = time.monotonic()
    result = failed(run_module(args(grafana, confirm_only=True, wait_timeout=30, expect_panels=9)), "confirm-failed")
    assert time.monotonic() - started < 10 and "still failing" not in result["msg"]


def test_confirm_only_checks_the_folder(grafana):
    grafana.put_dashboard(good_dashboard(), provisioned=True)
    result = failed(run_module(args(grafana, confirm_only=True, folder_uid="team")), "confirm-failed")
    assert [p["kind"] for p in errors(result)] == ["folder-mismatch"]


# --- authentication and reachability ---------------------------------------------------


def test_401(grafana):
    result = failed(run_module(args(grafana, grafana_api_key="wrong")), "unauthorized")
    assert result["status"] == 401 and "grafana_api_key" in result["msg"]


def test_403(grafana):
    result = failed(run_module(args(grafana, grafana_api_key=VIEWER_TOKEN)), "forbidden")
    assert result["status"] == 403 and "Editor role" in result["msg"]


def test_basic_auth_and_org_header(grafana):
    params = args(grafana, url_username=ADMIN_USER[0], url_password=ADMIN_USER[1], org_id=1)
    del params["grafana_api_key"]
    ok(run_module(params))
    assert all(r["headers"].get("X-Grafana-Org-Id") == "1" for r in grafana.requests)
    assert not [r for r in grafana.requests if "/api/user/using" in r["path"]]


def test_token_and_basic_auth_are_exclusive(grafana):
    result = run_module(args(grafana, url_username="admin", url_password="x"))
    assert result["failed"] and "mutually exclusive" in result["msg"]


def test_unreachable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_module({"url": "http://127.0.0.1:%d" % port, "dashboard": good_dashboard(), "timeout": 5})
    failed(result, "unreachable")
    assert "is unreachable" in result["msg"]


def test_url_is_required_unless_lint_only():
    result = run_module({"dashboard": good_dashboard()})
    assert result["failed"] and "url" in result["msg"]


# --- invalid dashboards ----------------------------------------------------------------


def test_lint_errors_stop_the_import(grafana):
    broken = good_dashboard()
    broken["panels"][2]["gridPos"]["x"] = 6
    result = failed(run_module(args(grafana, dashboard=broken)), "invalid-dashboard")
    assert [p["kind"] for p in errors(result)] == ["grid-overlap"]
    assert "grid-overlap" in result["msg"] and grafana.writes() == []


def test_lint_runs_in_check_mode(grafana):
    broken = good_dashboard()
    broken["uid"] = "not a valid uid"
    result = failed(run_module(args(grafana, dashboard=broken), check_mode=True), "invalid-dashboard")
    assert [p["kind"] for p in errors(result)] == ["uid"]


def test_grafana_400_is_an_invalid_dashboard(grafana):
    result = failed(run_module(args(grafana, dashboard=dict(good_dashboard(), title=""), lint=False)),
                    "invalid-dashboard")
    assert "Dashboard title cannot be empty" in result["msg"] and result["status"] == 400


def test_invalid_json_text(grafana):
    result = failed(run_module(args(grafana, dashboard="{\"uid\": ")), "invalid-dashboard")
    assert result["problems"][0]["kind"] == "invalid-json"


def test_no_uid_anywhere(grafana):
    dashboard = good_dashboard()
    del dashboard["uid"]
    result = failed(run_module(args(grafana, dashboard=dashboard)), "bad-parameters")
    assert "no dashboard uid" in result["msg"]


def test_grafana_datasources_count_as_known_uids(grafana):
    dashboard = good_dashboard()
    dashboard["panels"][1]["datasource"] = {"type": "prometheus", "uid": "prom-main"}
    dashboard["panels"][1]["targets"][0]["datasource"] = {"type": "prometheus", "uid": "prom-main"}
    ok(run_module(args(grafana, dashboard=dashboard)))
    offline = failed(run_module({"dashboard": dashboard, "lint_only": True}), "invalid-dashboard")
    assert {p["kind"] for p in errors(offline)} == {"datasource"}


# --- confirmation ----------------------------------------------------------------------


def test_missing_datasource_fails_the_confirmation(grafana):
    dashboard = good_dashboard()
    dashboard["panels"][1]["targets"][0]["datasource"] = {"type": "prometheus", "uid": "prom-old"}
    result = failed(run_module(args(grafana, dashboard=dashboard, known_datasource_uids=["prom-old"])),
                    "confirm-failed")
    assert result["changed"] is True  # imported, then found wanting
    problem = errors(result)[0]
    assert problem["kind"] == "datasource-missing" and problem["panel"] == 'panel 2 "Cost per model"'


def test_datasource_of_the_wrong_type(grafana):
    dashboard = good_dashboard()
    dashboard["panels"][1]["datasource"] = {"type": "prometheus", "uid": "loki-main"}
    result = failed(run_module(args(grafana, dashboard=dashboard, lint=False)), "confirm-failed")
    assert [p["kind"] for p in errors(result)] == ["datasource-type"]


def test_datasource_variable_without_a_datasource_of_its_type(grafana):
    dashboard = good_dashboard()
    dashboard["templating"]["list"].append({"name": "es", "type": "datasource", "query": "elasticsearch"})
    result = failed(run_module(args(grafana, dashboard=dashboard)), "confirm-failed")
    problem = errors(result)[0]
    assert problem["kind"] == "datasource-variable" and problem["panel"] == "variable es"
    assert "types present: loki, prometheus" in problem["message"]


def test_datasource_variable_with_a_stale_current_value(grafana):
    dashboard = good_dashboard()
    dashboard["templating"]["list"][0]["current"] = {"text": "Old", "value": "prom-gone"}
    result = failed(run_module(args(grafana, dashboard=dashboard)), "confirm-failed")
    assert "fall back to 'Prometheus'" in errors(result)[0]["message"]


def test_datasource_variable_regex(grafana):
    dashboard = good_dashboard()
    dashboard["templating"]["list"][0]["regex"] = "/^Thanos/"
    result = failed(run_module(args(grafana, dashboard=dashboard)), "confirm-failed")
    assert "matching regex '/^Thanos/'" in errors(result)[0]["message"]


def test_panel_and_row_counts(grafana):
    ok(run_module(args(grafana, expect_panels=4, expect_rows=2)))
    result = failed(run_module(args(grafana, expect_panels=5, expect_rows=1)), "confirm-failed")
    assert sorted(p["kind"] for p in errors(result)) == ["panel-count", "row-count"]
    assert "4 panels, 5 were expected" in result["msg"]


def test_counts_are_checked_in_check_mode_too(grafana):
    result = failed(run_module(args(grafana, expect_panels=3), check_mode=True), "confirm-failed")
    assert grafana.writes() == [] and errors(result)[0]["kind"] == "panel-count"


def test_readback_mismatch(grafana):
    def grafana_mangles(double, uid):
        double.dashboards[uid]["dashboard"]["panels"][1]["title"] = "Mangled"

    grafana.after_save = grafana_mangles
    result = failed(run_module(args(grafana)), "confirm-failed")
    problem = errors(result)[0]
    assert problem["kind"] == "readback-mismatch" and "panels[1].title" in problem["message"]


# --- query check -----------------------------------------------------------------------


def test_query_check_passes(grafana):
    result = ok(run_module(args(grafana, query_check=True, query_window="now-6h")))
    queries = [r["body"] for r in grafana.requests if r["path"] == "/api/ds/query"]
    assert len(queries) == 4  # one request per panel with queries
    assert all(q["from"] == "now-6h" and q["to"] == "now" for q in queries)
    sent = [query for q in queries for query in q["queries"]]
    assert {query["datasource"]["uid"] for query in sent} == {"prom-main", "loki-main"}
    # dashboard variables are substituted, Grafana's own are left to its backend
    assert sent[0]["expr"] == ('sum by (model) (increase(claude_code_cost_usage_USD_total{model=~".*"}'
                               '[$__range]))')
    assert sent[2]["expr"] == "sum(increase(claude_code_session_count_total[15m]))"
    assert errors(result) == []


def test_query_check_reports_errors_and_empty_results(grafana):
    grafana.query_results["sum(increase(claude_code_session_count_total[15m]))"] = "bad_data: parse error"
    grafana.query_results['{service_name="claude-code"} |= "api_error" | json'] = None
    result = failed(run_module(args(grafana, query_check=True)), "confirm-failed")
    found = sorted((p["kind"], p["panel"]) for p in errors(result))
    assert found == [("query-error", 'panel 3 "Tokens"'), ("query-no-data", 'panel 5 "API errors"')]
    assert "query B" in [p for p in errors(result) if p["kind"] == "query-error"][0]["message"]


def test_query_check_warn_mode(grafana):
    grafana.multi_status = True
    grafana.query_results["sum(increase(claude_code_session_count_total[15m]))"] = "bad_data: parse error"
    result = ok(run_module(args(grafana, query_check=True, query_check_mode="warn")))
    assert [p["kind"] for p in errors(result)] == ["query-error"]
    assert any(w.startswith("query-error (panel 3") for w in result["warnings"])


def test_query_check_in_check_mode_writes_nothing(grafana):
    result = ok(run_module(args(grafana, query_check=True), check_mode=True))
    assert result["changed"] is True and grafana.writes() == []
    assert [r for r in grafana.requests if r["path"] == "/api/ds/query"]


# --- state absent ----------------------------------------------------------------------


def test_absent(grafana):
    grafana.put_dashboard(good_dashboard())
    check = ok(run_module(args(grafana, state="absent", dashboard=None, uid=UID), check_mode=True, diff=True))
    assert check["changed"] is True and grafana.writes() == [] and check["diff"]["after"] == {}
    result = ok(run_module(args(grafana, state="absent", dashboard=None, uid=UID)))
    assert result["changed"] is True and UID not in grafana.dashboards
    again = ok(run_module(args(grafana, state="absent", dashboard=None, uid=UID)))
    assert again["changed"] is False


def test_absent_takes_the_uid_from_the_dashboard(grafana):
    grafana.put_dashboard(good_dashboard())
    assert ok(run_module(args(grafana, state="absent")))["changed"] is True


def test_absent_provisioned(grafana):
    grafana.put_dashboard(good_dashboard(), provisioned=True)
    result = failed(run_module(args(grafana, state="absent", dashboard=None, uid=UID)), "provisioned")
    assert "refuses to delete" in result["msg"] and grafana.writes() == []


# --- lint only -------------------------------------------------------------------------


def test_lint_only_needs_no_grafana():
    result = ok(run_module({"dashboard": good_dashboard(), "lint_only": True, "metric_catalog": METRIC_CATALOG,
                            "promtool_path": "/nonexistent/promtool"}))
    assert result["changed"] is False and result["panels"] == 4
    assert {p["kind"] for p in result["problems"]} == {"lint-skipped"}
    assert len(result["warnings"]) == 2


def test_lint_only_reports_metric_catalog_errors():
    dashboard = good_dashboard()
    dashboard["panels"][2]["targets"][0]["expr"] = "sum(rate(claude_code_unknown_total[5m]))"
    result = failed(run_module({"dashboard": dashboard, "lint_only": True, "metric_catalog": METRIC_CATALOG}),
                    "invalid-dashboard")
    assert [p["kind"] for p in errors(result)] == ["metric-catalog"]


@pytest.mark.skipif(find_promtool() is None or not logql_available(), reason="run tests/lint/setup.sh")
def test_lint_only_with_both_parsers():
    dashboard = good_dashboard()
    dashboard["panels"][1]["targets"][0]["expr"] = "rate(claude_code_cost_usage_USD_total)"
    dashboard["panels"][3]["panels"][0]["targets"][0]["expr"] = "{service_name=\"claude-code\" |= \"x\""
    result = failed(run_module({"dashboard": dashboard, "lint_only": True, "promtool_path": find_promtool(),
                                "logql_parser": str(LOGQL_SCRIPT)}), "invalid-dashboard")
    assert sorted(p["kind"] for p in result["problems"]) == ["logql", "promql"]


def test_lint_only_without_a_dashboard():
    result = failed(run_module({"lint_only": True}), "bad-parameters")
    assert "needs the dashboard" in result["msg"]


# --- as Ansible runs it: a separate process with JSON arguments ------------------------


def test_module_as_a_subprocess(grafana, tmp_path):
    module_args = args(grafana)
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": module_args}))
    collections = next(p for p in sys.path if os.path.isdir(os.path.join(p, "ansible_collections", "telemetry")))
    env = dict(os.environ, PYTHONPATH=collections)
    proc = subprocess.run([sys.executable, "-m", "ansible_collections.telemetry.claude_code.plugins.modules.grafana_dashboard",
                           str(args_file)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          env=env, cwd=str(ROOT), check=False, timeout=120)
    result = json.loads(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["changed"] is True and result["uid"] == UID and UID in grafana.dashboards


@pytest.mark.skipif(not shutil.which("ansible-playbook"), reason="ansible-playbook not on PATH")
def test_playbook_with_module_defaults_of_the_action_group(grafana, tmp_path):
    """group/telemetry.claude_code.grafana in module_defaults sets the connection once."""
    (tmp_path / "dashboard.json").write_text(json.dumps(good_dashboard()))
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps([{
        "name": "Import through the action group", "hosts": "localhost", "gather_facts": False,
        "module_defaults": {"group/telemetry.claude_code.grafana": {
            "url": grafana.url, "grafana_api_key": EDITOR_TOKEN, "timeout": 5}},
        "tasks": [
            {"name": "Import", "telemetry.claude_code.grafana_dashboard": {"path": str(tmp_path / "dashboard.json")},
             "register": "first"},
            {"name": "Import again", "telemetry.claude_code.grafana_dashboard": {"path": str(tmp_path / "dashboard.json")},
             "register": "second"},
            {"name": "Check", "ansible.builtin.assert": {"that": [
                "first is changed", "second is not changed", "second.panels == 4", "second.version == 1"]}},
        ],
    }]))
    collections = next(p for p in sys.path if os.path.isdir(os.path.join(p, "ansible_collections", "telemetry")))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_HOME=str(tmp_path / "home"),
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_FORCE_COLOR="0")
    proc = subprocess.run([shutil.which("ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, env=env,
                          cwd=str(tmp_path), check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout
    assert "changed=1" in proc.stdout
