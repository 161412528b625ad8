# -*- coding: utf-8 -*-
# Copyright: contributors to the telemetry.claude_code collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Grafana client against GrafanaApiTestDouble (a test double of Grafana's HTTP API)."""

from __future__ import annotations

import base64
import socket
import threading

import pytest

from ansible_collections.telemetry.claude_code.plugins.module_utils import grafana_api as api

from dashboard_samples import good_dashboard
from grafana_api_test_double import ADMIN_USER, EDITOR_TOKEN, GRAFANA_LINES, VIEWER_TOKEN


def client(grafana, **kwargs):
    kwargs.setdefault("token", EDITOR_TOKEN)
    kwargs.setdefault("timeout", 5)
    return api.GrafanaClient(grafana.url, **kwargs)


def raises(kind, call, *args, **kwargs):
    with pytest.raises(api.GrafanaError) as exc:
        call(*args, **kwargs)
    assert exc.value.kind == kind, exc.value.message
    return exc.value


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- authentication and organisation ---------------------------------------------------


def test_health_needs_no_credentials(grafana):
    assert api.GrafanaClient(grafana.url).health()["database"] == "ok"


def test_token_is_sent_as_bearer(grafana):
    client(grafana).list_datasources()
    assert grafana.requests[-1]["headers"]["Authorization"] == "Bearer %s" % EDITOR_TOKEN


def test_basic_auth_is_sent_preemptively(grafana):
    result = client(grafana, token=None, username=ADMIN_USER[0], password=ADMIN_USER[1]).list_datasources()
    assert len(result) == 2
    auth = grafana.requests[-1]["headers"]["Authorization"]
    assert base64.b64decode(auth.split()[1]).decode() == "%s:%s" % ADMIN_USER
    assert len(grafana.requests) == 1  # no 401 challenge round trip


def test_org_header_only_when_org_id_given_and_never_switches_org(grafana):
    client(grafana).list_datasources()
    assert "X-Grafana-Org-Id" not in grafana.requests[-1]["headers"]
    client(grafana, org_id=3).list_datasources()
    assert grafana.requests[-1]["headers"]["X-Grafana-Org-Id"] == "3"
    assert not [r for r in grafana.requests if r["path"].startswith("/api/user/using")]


def test_401_without_or_with_wrong_credentials(grafana):
    error = raises(api.UNAUTHORIZED, client(grafana, token=None).list_datasources)
    assert "401 Unauthorized" in error.message and "none were given" in error.message and error.status == 401
    error = raises(api.UNAUTHORIZED, client(grafana, token="wrong").get_dashboard, "x")
    assert "service-account token (grafana_api_key)" in error.message
    error = raises(api.UNAUTHORIZED, client(grafana, token=None, username="admin", password="nope").list_datasources)
    assert "url_username/url_password" in error.message
    error = raises(api.UNAUTHORIZED, client(grafana, token="wrong", org_id=2).list_datasources)
    assert "one organisation" in error.message


def test_403_when_the_identity_may_not_write(grafana):
    error = raises(api.FORBIDDEN, client(grafana, token=VIEWER_TOKEN).save_dashboard, good_dashboard())
    assert "403 Forbidden" in error.message and "dashboards:write" in error.message
    error = raises(api.FORBIDDEN, client(grafana, token=VIEWER_TOKEN, org_id=4).create_folder, "f", "F")
    assert "in organisation 4" in error.message


# --- network failures ------------------------------------------------------------------


def test_unreachable():
    error = raises(api.UNREACHABLE, api.GrafanaClient("http://127.0.0.1:%d" % free_port(), timeout=5).health)
    assert "is unreachable" in error.message and "Check url" in error.message


def test_timeout():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)  # accepts the connection, never answers
        url = "http://127.0.0.1:%d" % sock.getsockname()[1]
        error = raises(api.TIMEOUT, api.GrafanaClient(url, timeout=1).health)
    assert "did not answer within 1 s" in error.message


def test_tls_failure_speaking_https_to_plain_http(grafana):
    url = grafana.url.replace("http://", "https://")
    error = raises(api.TLS, api.GrafanaClient(url, timeout=5).health)
    assert "TLS verification" in error.message and "ca_path" in error.message


def test_unreadable_ca_path(tmp_path):
    grafana_client = api.GrafanaClient("https://127.0.0.1:1", ca_path=str(tmp_path / "missing-ca.pem"))
    error = raises(api.TLS, grafana_client.health)
    assert "cannot load the TLS files" in error.message and "missing-ca.pem" in error.message


def test_not_json_is_a_bad_response(grafana):
    grafana.raw_responses["/api/health"] = (200, b"<html>login</html>", "text/html")
    error = raises(api.BAD_RESPONSE, client(grafana).health)
    assert "not JSON" in error.message and "proxy or login page" in error.message


def test_server_error(grafana):
    grafana.raw_responses["/api/datasources"] = (500, b"{\"message\": \"database is locked\"}", "application/json")
    error = raises(api.SERVER_ERROR, client(grafana).list_datasources)
    assert "database is locked" in error.message and error.status == 500


@pytest.mark.parametrize("url", ["", "grafana:3000", "ftp://x"])
def test_bad_url(url):
    with pytest.raises(api.GrafanaError) as exc:
        api.GrafanaClient(url)
    assert exc.value.kind == api.UNREACHABLE


# --- dashboards ------------------------------------------------------------------------


def test_get_missing_dashboard_is_none(grafana):
    assert client(grafana).get_dashboard("nope") is None


def test_save_and_read_back(grafana):
    grafana_client = client(grafana)
    saved = grafana_client.save_dashboard(good_dashboard(), folder_uid="", message="first")
    assert saved["status"] == "success" and saved["version"] == 1
    assert grafana.requests[-1]["body"]["message"] == "first" and grafana.requests[-1]["body"]["overwrite"] is True
    stored = grafana_client.get_dashboard("claude-code-usage")
    assert stored["meta"]["version"] == 1 and stored["meta"]["url"] == "/d/claude-code-usage/claude-code-usage"


def test_save_into_missing_folder_is_400_folder_not_found(grafana):
    error = raises(api.FOLDER_NOT_FOUND, client(grafana).save_dashboard, good_dashboard(), folder_uid="nope")
    assert error.status == 400 and error.body == {"message": "folder not found"}
    assert "folder 'nope' does not exist" in error.message and "create_folder" in error.message


def test_save_version_conflict_by_line(grafana):
    """412 version-mismatch on 11.x and 12.x, 409 on 13.x: the same kind to act on."""
    grafana.put_dashboard(good_dashboard(), version=7)
    sent = good_dashboard()
    sent["version"] = 6
    error = raises(api.VERSION_CONFLICT, client(grafana).save_dashboard, sent, overwrite=False)
    status, body = GRAFANA_LINES[grafana.line]["version_conflict"]
    assert error.status == status and error.body == body
    assert "changed by someone else" in error.message and "overwrite: true" in error.message


def test_same_title_under_another_uid_is_no_conflict(grafana):
    """Grafana 11.3 dropped unique titles: no line answers 412 name-exists."""
    grafana.put_dashboard(dict(good_dashboard(), uid="other-uid"))
    assert client(grafana).save_dashboard(good_dashboard(), overwrite=False)["status"] == "success"


def test_plugin_dashboard_and_name_exists_bodies_map_to_their_kinds():
    """Answers of ToDashboardErrorResponse (plugin-dashboard) and of Grafana before 11.3 (name-exists)."""
    grafana_client = api.GrafanaClient("http://127.0.0.1:1")
    plugin = grafana_client._save_error(api.GrafanaError(api.VERSION_CONFLICT, "x", 412, {
        "status": "plugin-dashboard", "message": "The dashboard belongs to plugin Test Plugin."}), "u", "")
    assert plugin.kind == api.PLUGIN_DASHBOARD and "Test Plugin" in plugin.message
    name = grafana_client._save_error(api.GrafanaError(api.VERSION_CONFLICT, "x", 412, {
        "status": "name-exists", "message": "A dashboard with the same name in the folder already exists"}), "u", "")
    assert name.kind == api.CONFLICT and "before 11.3" in name.message


def test_v2_dashboard_is_406(grafana):
    v2 = GRAFANA_LINES[grafana.line]["v2_api_version"]
    if v2 is None:
        with pytest.raises(ValueError):
            grafana.put_dashboard(good_dashboard(), api_version="v2alpha1")
        return
    grafana.put_dashboard(good_dashboard(), api_version=v2)
    error = raises(api.V2_DASHBOARD, client(grafana).get_dashboard, "claude-code-usage")
    assert error.status == 406 and "v2 dashboard schema" in error.message
    assert "/apis/dashboard.grafana.app/%s/namespaces/default/dashboards/claude-code-usage" % v2 in error.message


def test_dashboard_resource_annotations(grafana):
    grafana.put_dashboard(good_dashboard(), provisioned=True)
    resource = client(grafana).get_dashboard_resource("claude-code-usage")
    if not GRAFANA_LINES[grafana.line]["resource_api"]:
        assert resource is None
        return
    assert resource["metadata"]["annotations"]["grafana.app/managedBy"] == "classic-file-provisioning"
    assert client(grafana).get_dashboard_resource("nope") is None


def test_save_provisioned_is_refused(grafana):
    grafana.put_dashboard(good_dashboard(), provisioned=True)
    error = raises(api.PROVISIONED, client(grafana).save_dashboard, good_dashboard())
    assert "provisioned from a file" in error.message and "confirm_only" in error.message


def test_save_invalid_is_400(grafana):
    error = raises(api.INVALID_DASHBOARD, client(grafana).save_dashboard, dict(good_dashboard(), title=""))
    assert "Dashboard title cannot be empty" in error.message and error.status == 400


def test_delete(grafana):
    grafana.put_dashboard(good_dashboard())
    client(grafana).delete_dashboard("claude-code-usage")
    assert "claude-code-usage" not in grafana.dashboards
    raises(api.NOT_FOUND, client(grafana).delete_dashboard, "claude-code-usage")


def test_delete_provisioned_is_refused(grafana):
    grafana.put_dashboard(good_dashboard(), provisioned=True)
    error = raises(api.PROVISIONED, client(grafana).delete_dashboard, "claude-code-usage")
    assert "refuses to delete" in error.message


# --- folders, datasources, queries -----------------------------------------------------


def test_folders(grafana):
    grafana_client = client(grafana)
    assert grafana_client.get_folder("team") is None
    assert grafana_client.create_folder("team", "Team")["title"] == "Team"
    assert grafana_client.get_folder("team")["uid"] == "team"
    error = raises(api.CONFLICT, grafana_client.create_folder, "team", "Team")
    assert "409" in error.message


def test_datasources(grafana):
    grafana_client = client(grafana)
    assert [ds["type"] for ds in grafana_client.list_datasources()] == ["prometheus", "loki"]
    assert grafana_client.get_datasource("prom-main")["name"] == "Prometheus"
    assert grafana_client.get_datasource("nope") is None
    assert grafana_client.get_datasource_by_name("Loki")["uid"] == "loki-main"
    assert grafana_client.get_datasource_by_name("Nope") is None


def test_query_results_and_errors_are_returned(grafana):
    grafana.query_results["bad("] = "parse error at char 5"
    body = client(grafana).query([
        {"refId": "A", "datasource": {"uid": "prom-main"}, "expr": "up"},
        {"refId": "B", "datasource": {"uid": "prom-main"}, "expr": "bad("},
    ], "now-1h")
    assert body["results"]["A"]["frames"][0]["data"]["values"][1] == [1.0, 2.0]
    assert body["results"]["B"]["error"] == "parse error at char 5"
    assert grafana.requests[-1]["body"]["from"] == "now-1h" and grafana.requests[-1]["body"]["to"] == "now"


def test_query_with_unknown_datasource_is_404(grafana):
    raises(api.NOT_FOUND, client(grafana).query, [{"refId": "A", "datasource": {"uid": "x"}, "expr": "up"}], "now-1h")


@pytest.mark.parametrize("base, path, expected", [
    ("http://g:3000", "/d/u/s", "http://g:3000/d/u/s"),
    ("https://example.com/grafana/", "/grafana/d/u/s", "https://example.com/grafana/d/u/s"),
    ("https://example.com/grafana", "/d/u/s", "https://example.com/grafana/d/u/s"),
    ("http://g:3000", "http://other/d/u", "http://other/d/u"),
    ("http://g:3000", None, None),
])
def test_absolute_url(base, path, expected):
    assert api.GrafanaClient(base).absolute_url(path) == expected


def test_from_params():
    grafana_client = api.GrafanaClient.from_params({"url": "http://g:3000/", "grafana_api_key": "t", "org_id": 2,
                                                    "validate_certs": False, "timeout": 7})
    assert grafana_client.url == "http://g:3000" and grafana_client.token == "t" and grafana_client.org_id == 2
    assert grafana_client.validate_certs is False and grafana_client.timeout == 7


def test_concurrent_requests(grafana):
    """The double serves requests from several threads (the module itself is sequential)."""
    grafana_client = client(grafana)
    results = []
    threads = [threading.Thread(target=lambda: results.append(grafana_client.health())) for dummy in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 5
