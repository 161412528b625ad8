# -*- coding: utf-8 -*-
# Copyright: contributors to the telemetry.claude_code collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""GrafanaApiTestDouble: a TEST DOUBLE of Grafana's HTTP API, not Grafana.

A real HTTP server on 127.0.0.1 (an ephemeral port), in a thread, that answers the endpoints
the grafana_dashboard module uses the way one Grafana release line does. What differs between
the lines is data, in ONE table, GRAFANA_LINES, each row citing the grafana/grafana source it
follows; the handlers below read only that table. Nothing here answers in a way that no
Grafana release does: where the lines agree, the handlers follow the files cited in BEHAVIOURS.

  GET    /api/health                     {"commit", "database": "ok", "version"}
  GET    /api/dashboards/uid/<uid>       {"dashboard", "meta"} | 404 | 406 (a v2 dashboard, 12.x on)
  POST   /api/dashboards/db              {"id", "uid", "url", "status": "success", "version", "slug", "folderUid"}
                                         400 empty title / bad uid / provisioned / folder not found,
                                         412 or 409 version conflict (by line), 412 plugin-dashboard
  DELETE /api/dashboards/uid/<uid>       {"title", "message", "uid"} | 404 | 400 provisioned
  GET    /apis/dashboard.grafana.app/v1beta1/namespaces/<ns>/dashboards/<uid>
                                         the stored object with its annotations (12.x on) | 404
  GET    /api/folders/<uid>              folder | 404 {"message": "folder not found"}
  POST   /api/folders                    folder | 409 uid taken
  GET    /api/datasources                [datasource, ...]
  GET    /api/datasources/uid/<uid>      datasource | 404 {"message": "Data source not found"}
  GET    /api/datasources/name/<name>    datasource | 404
  POST   /api/ds/query                   {"results": {refId: {"status", "frames", "error"?}}},
                                         200, or 400 when a query failed (207 with multi_status)

Background provisioning: ``provision()`` stores a dashboard as Grafana's file provisioner would,
and ``restart()`` starts the clock: until the line's delays have passed, provisioned dashboards
(and, from 12.x, provisioned datasources) are not there yet, and ``meta.provisioned`` (read from
the search index from 12.x) still reads false.

Authentication as in Grafana: a service-account token (Authorization: Bearer) or basic auth;
missing or wrong credentials get 401, a Viewer writing gets 403. Every request is recorded
in ``requests`` (method, path, headers, body) so tests can assert what was (not) sent.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

EDITOR_TOKEN = "glsa_editor_token_for_tests"
VIEWER_TOKEN = "glsa_viewer_token_for_tests"
ADMIN_USER = ("admin", "admin-password")

# What every line does alike, and the grafana/grafana files it was read from (stored copies of
# the public repository; the index names commits, not release tags, so a row says which line
# the read version belongs to by its content).
BEHAVIOURS = {
    "title-trimmed": "BuildSaveDashboardCommand: dash.Title = strings.TrimSpace(dash.Title) "
                     "(pkg/services/dashboards/service/dashboard_service.go)",
    "refresh-raised": "SaveDashboard and SaveProvisionedDashboard set refresh to cfg.MinRefreshInterval when "
                      "validateDashboardRefreshInterval fails (same file)",
    "uid-rules": "util.IsValidShortUID ([a-zA-Z0-9_-]) and IsShortUIDTooLong (40) in BuildSaveDashboardCommand "
                 "-> 400 ErrDashboardInvalidUid / ErrDashboardUidTooLong",
    "folder-not-found": "ToDashboardErrorResponse: errors.Is(err, dashboards.ErrFolderNotFound) -> "
                        "400 {\"message\": \"folder not found\"} (pkg/api/apierrors/dashboard.go; its test "
                        "dashboard_test.go 'folder not found error')",
    "plugin-dashboard": "ToDashboardErrorResponse: UpdatePluginDashboardError -> 412 {\"status\": \"plugin-dashboard\"}",
    "version-set": "GetDashboard: dash.Data.Set(\"version\", dash.Version); the JSON is otherwise served as stored "
                   "(pkg/api/dashboard.go)",
    "provisioned-refused": "BuildSaveDashboardCommand(validateProvisionedDashboard) -> 400 "
                           "ErrDashboardCannotSaveProvisionedDashboard; delete -> 400 "
                           "ErrDashboardCannotDeleteProvisionedDashboard, both found through "
                           "GetProvisionedDashboardDataByDashboardID",
    "unique-titles-dropped": "no name-exists check in ValidateDashboardBeforeSave since 11.3 (grafana/grafana#70378 "
                             "and the 11.3 removal of the (org_id, folder_id, title) unique index)",
}

# One row per Grafana release line. "cites" names the source each behaviour follows.
GRAFANA_LINES = {
    "11.x": {
        "version": "11.6.4",
        # Datasources are provisioned before the HTTP server starts (RunInitProvisioners), dashboards
        # in the background service's Run(), after it answers.
        "datasource_delay": 0.0,
        "dashboard_delay": 0.6,
        # meta.provisioned comes from the dashboard_provisioning table (SQL): no lag.
        "search_lag": 0.0,
        "version_conflict": (412, {"message": "The dashboard has been changed by someone else",
                                   "status": "version-mismatch"}),
        "v2_api_version": None,
        "resource_api": False,
        "id_type": int,
        "cites": {
            "provisioning": "pkg/services/provisioning/provisioning.go: RunInitProvisioners provisions datasources, "
                            "plugins, alerting; Run() provisions dashboards",
            "meta.provisioned": "pkg/api/dashboard.go GetDashboard: GetProvisionedDashboardDataByDashboardID from "
                                "dashboardStore (SQL) when kubernetesClientDashboardsFolders is off",
            "version_conflict": "pkg/services/dashboards/service/dashboard_service.go ValidateDashboardBeforeSave -> "
                                "ErrDashboardVersionMismatch (412, status version-mismatch)",
            "v2": "no v2 dashboard schema in 11.x",
        },
    },
    "12.x": {
        "version": "12.4.2",
        # "We had to move the initialization of OSS provisioners to Run() because they need the
        # /apis/* endpoints to be ready and listening": datasources too are provisioned after the
        # HTTP server answers, then dashboards.
        "datasource_delay": 0.4,
        "dashboard_delay": 0.8,
        # meta.provisioned and the server's own provisioned-refusal go through the search index.
        "search_lag": 0.8,
        "version_conflict": (412, {"message": "The dashboard has been changed by someone else",
                                   "status": "version-mismatch"}),
        "v2_api_version": "v2beta1",
        "resource_api": True,
        "id_type": int,
        "cites": {
            "provisioning": "pkg/services/provisioning/provisioning.go: RunInitProvisioners returns nil, starting() "
                            "provisions datasources then dashboards in the background",
            "meta.provisioned": "pkg/services/dashboards/service/dashboard_service.go "
                                "GetProvisionedDashboardDataByDashboardID -> searchProvisionedDashboardsThroughK8s "
                                "when kubernetesClientDashboardsFolders is on",
            "version_conflict": "dashboard_service.go ValidateDashboardBeforeSave -> ErrDashboardVersionMismatch (412); "
                                "pkg/api/apierrors/dashboard_test.go keeps 412 for the k8s status error",
            "v2": "pkg/api/dashboard.go GetDashboard: strings.HasPrefix(dash.APIVersion, \"v2\") -> 406 "
                  "\"dashboard api version not supported, use /apis/dashboard.grafana.app/<v>/namespaces/<ns>/"
                  "dashboards/<uid> instead\"",
            "annotations": "pkg/apimachinery/utils/manager.go ManagerKindClassicFP = \"classic-file-provisioning\" "
                           "under grafana.app/managedBy",
        },
    },
    "13.x": {
        "version": "13.1.0",
        "datasource_delay": 0.4,
        "dashboard_delay": 0.8,
        "search_lag": 0.8,
        # Saves go through the apiserver's storage, whose optimistic-concurrency check answers
        # 409 Conflict; ToDashboardErrorResponse passes a StatusError's code through.
        "version_conflict": (409, {"message": "requested RV does not match current RV"}),
        "v2_api_version": "v2",
        "resource_api": True,
        "id_type": int,
        "cites": {
            "provisioning": "as 12.x (pkg/services/provisioning/provisioning.go starting())",
            "meta.provisioned": "as 12.x",
            "version_conflict": "pkg/api/apierrors/dashboard.go: StatusError -> response.Error(ErrStatus.Code, "
                                "ErrStatus.Message); 409 \"requested RV does not match current RV\" from "
                                "POST /api/dashboards/db reported in grafana/grafana#130334; the apiserver's "
                                "reason Conflict in grafana/grafana#132095",
            "v2": "as 12.x, with the v2 API (grafana/grafana#130334 reads /apis/dashboard.grafana.app/v2/...)",
            "annotations": "as 12.x",
        },
    },
}
LINES = sorted(GRAFANA_LINES)


def _slug(title):
    return re.sub(r"[^a-z0-9]+", "-", (title or "").lower()).strip("-") or "dashboard"


def _duration(text):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 2592000, "y": 31536000}
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w|M|y)", text or "")
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(int(n) * units[u] for n, u in parts)


class GrafanaApiTestDouble:
    """A stand-in Grafana of one release line (GRAFANA_LINES); see the module docstring."""

    def __init__(self, line="12.x"):
        self.line = line
        self.behaviour = GRAFANA_LINES[line]
        self.tokens = {EDITOR_TOKEN: "Editor", VIEWER_TOKEN: "Viewer"}
        self.users = {ADMIN_USER: "Admin"}
        self.dashboards = {}
        self.folders = {}
        self.datasources = [
            {"id": 1, "uid": "prom-main", "orgId": 1, "name": "Prometheus", "type": "prometheus",
             "access": "proxy", "url": "http://127.0.0.1:9090", "isDefault": True},
            {"id": 2, "uid": "loki-main", "orgId": 1, "name": "Loki", "type": "loki",
             "access": "proxy", "url": "http://127.0.0.1:3100", "isDefault": False},
        ]
        # Grafana's [dashboards] min_refresh_interval (conf/defaults.ini: 5s).
        self.min_refresh_interval = "5s"
        # expr -> None (no data), a str (the query's error), or a list of values (data).
        self.query_results = {}
        self.requests = []
        self.before_save = None
        self.after_save = None
        # path -> (status, raw bytes, content type): answers that are not Grafana's JSON.
        self.raw_responses = {}
        self.multi_status = False
        self.started = time.monotonic() - 3600.0  # provisioning long done unless restart() is called
        self._next_id = 100
        self._lock = threading.RLock()
        self._server = None
        self._thread = None

    # --- lifecycle -----------------------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        double = self

        class Handler(_Handler):
            grafana = double

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="grafana-api-test-double", daemon=True)
        self._thread.start()

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return "http://%s:%d" % (host, port)

    def restart(self):
        """Grafana restarts: its API answers at once, its provisioning runs in the background."""
        self.started = time.monotonic()

    def _since_start(self):
        return time.monotonic() - self.started

    # --- state helpers -------------------------------------------------------------------

    def add_folder(self, uid, title=None):
        with self._lock:
            self._next_id += 1
            self.folders[uid] = {"id": self._next_id, "uid": uid, "title": title or uid,
                                 "url": "/dashboards/f/%s/%s" % (uid, _slug(title or uid)),
                                 "hasAcl": False, "canSave": True, "canEdit": True, "canAdmin": True, "version": 1}
        return self.folders[uid]

    def put_dashboard(self, dashboard, folder_uid="", provisioned=False, version=None, api_version="v1",
                      allow_ui_updates=False):
        """Store a dashboard directly, as if saved earlier (or provisioned from a file, long ago)."""
        if api_version.startswith("v2") and not self.behaviour["v2_api_version"]:
            raise ValueError("Grafana %s has no v2 dashboard schema" % self.line)
        with self._lock:
            stored = self._store(copy.deepcopy(dashboard), folder_uid, version=version)
            stored["api_version"] = api_version
            if provisioned:
                stored["provisioning"] = {"provider": "telemetry.claude_code", "allow_ui_updates": allow_ui_updates,
                                          "at": time.monotonic() - 3600.0}
            return stored

    def provision(self, dashboard, folder_uid=""):
        """A dashboard of a provisioning file, loaded by the background provisioner after restart()."""
        with self._lock:
            dashboard = copy.deepcopy(dashboard)
            title = dashboard.get("title")
            if isinstance(title, str):
                dashboard["title"] = title.strip()
            self._raise_refresh(dashboard)
            stored = self._store(dashboard, folder_uid)
            stored["provisioning"] = {"provider": "telemetry.claude_code", "allow_ui_updates": False,
                                      "at": self.started + self.behaviour["dashboard_delay"]}
            return stored

    def provision_datasource(self, datasource):
        """A datasource of a provisioning file: from 12.x it appears only after its delay."""
        with self._lock:
            datasource = dict(datasource, _provisioned_at=self.started + self.behaviour["datasource_delay"])
            self.datasources.append(datasource)

    def _visible(self, stored):
        provisioning = stored.get("provisioning")
        return provisioning is None or time.monotonic() >= provisioning["at"]

    def _visible_datasources(self):
        now = time.monotonic()
        return [{k: v for k, v in ds.items() if not k.startswith("_")} for ds in self.datasources
                if ds.get("_provisioned_at", 0) <= now]

    def _provisioned_in_search(self, stored):
        """What GetProvisionedDashboardDataByDashboardID finds: the search index lags from 12.x."""
        provisioning = stored.get("provisioning")
        if provisioning is None:
            return None
        if time.monotonic() < provisioning["at"] + self.behaviour["search_lag"]:
            return None
        return provisioning

    def _raise_refresh(self, dashboard):
        refresh = dashboard.get("refresh")
        if isinstance(refresh, str) and refresh not in ("", "auto"):
            seconds = _duration(refresh)
            if seconds is not None and seconds < _duration(self.min_refresh_interval):
                dashboard["refresh"] = self.min_refresh_interval

    def _store(self, dashboard, folder_uid, version=None):
        uid = dashboard["uid"]
        old = self.dashboards.get(uid)
        if old:
            dashboard["id"] = old["dashboard"]["id"]
            dashboard["version"] = version if version is not None else old["meta"]["version"] + 1
        else:
            self._next_id += 1
            dashboard["id"] = self.behaviour["id_type"](self._next_id)
            dashboard["version"] = version if version is not None else 1
        folder = self.folders.get(folder_uid) if folder_uid else None
        meta = {
            "type": "db", "canSave": True, "canEdit": True, "canAdmin": True, "canStar": True, "canDelete": True,
            "slug": _slug(dashboard.get("title")), "url": "/d/%s/%s" % (uid, _slug(dashboard.get("title"))),
            "expires": "0001-01-01T00:00:00Z", "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z",
            "version": dashboard["version"], "hasAcl": False, "isFolder": False,
            "folderId": folder["id"] if folder else 0, "folderUid": folder_uid or "",
            "folderTitle": folder["title"] if folder else "General",
            "folderUrl": folder["url"] if folder else "",
            "provisioned": False, "provisionedExternalId": "",
        }
        self.dashboards[uid] = {"dashboard": dashboard, "meta": meta, "api_version": "v1",
                                "provisioning": old.get("provisioning") if old else None}
        return self.dashboards[uid]

    def writes(self):
        """The requests that would change Grafana's state."""
        return [r for r in self.requests if r["method"] in ("POST", "PUT", "DELETE", "PATCH")
                and r["path"] != "/api/ds/query"]

    # --- request handling ----------------------------------------------------------------

    def role(self, headers):
        auth = headers.get("Authorization") or ""
        if auth.startswith("Bearer "):
            return self.tokens.get(auth[len("Bearer "):])
        if auth.startswith("Basic "):
            try:
                user, _sep, password = base64.b64decode(auth[len("Basic "):]).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            return self.users.get((user, password))
        return None

    def handle(self, method, path, headers, body):
        """(status, JSON body) for one request."""
        self.requests.append({"method": method, "path": path, "headers": dict(headers), "body": body})
        if path == "/api/health" and method == "GET":
            return 200, {"commit": "test-double", "database": "ok", "version": self.behaviour["version"]}
        role = self.role(headers)
        if role is None:
            return 401, {"message": "Unauthorized", "messageId": "auth.unauthorized", "statusCode": 401}
        writing = method in ("POST", "DELETE", "PUT") and path != "/api/ds/query"
        if writing and role == "Viewer":
            return 403, {"message": "You'll need additional permissions to perform this action. "
                                    "Permissions needed: dashboards:write", "accessErrorId": "ACE0000000001"}
        with self._lock:
            return self._route(method, path, body)

    def _served(self, stored):
        served = copy.deepcopy(stored)
        provisioning = self._provisioned_in_search(stored)
        if provisioning is not None:
            served["meta"]["provisionedExternalId"] = "%s.json" % stored["dashboard"]["uid"]
            served["meta"]["provisioned"] = not provisioning["allow_ui_updates"]
        served["meta"]["version"] = stored["meta"]["version"]
        served["dashboard"]["version"] = stored["meta"]["version"]
        return {"dashboard": served["dashboard"], "meta": served["meta"]}

    def _route(self, method, path, body):
        match = re.match(r"^/api/dashboards/uid/([^/]+)$", path)
        if match:
            uid = unquote(match.group(1))
            stored = self.dashboards.get(uid)
            if stored is None or not self._visible(stored):
                return 404, {"message": "Dashboard not found"}
            if method == "GET":
                if stored["api_version"].startswith("v2"):
                    return 406, {"message": "dashboard api version not supported, use /apis/dashboard.grafana.app/%s/"
                                            "namespaces/default/dashboards/%s instead" % (stored["api_version"], uid)}
                return 200, self._served(stored)
            if method == "DELETE":
                provisioning = self._provisioned_in_search(stored)
                if provisioning is not None and not provisioning["allow_ui_updates"]:
                    return 400, {"message": "Dashboard cannot be deleted because it was provisioned"}
                del self.dashboards[uid]
                return 200, {"title": stored["dashboard"].get("title"), "uid": uid,
                             "message": "Dashboard %s deleted" % stored["dashboard"].get("title")}
        match = re.match(r"^/apis/dashboard\.grafana\.app/v1beta1/namespaces/([^/]+)/dashboards/([^/]+)$", path)
        if match and method == "GET" and self.behaviour["resource_api"]:
            return self._resource(unquote(match.group(1)), unquote(match.group(2)))
        if path == "/api/dashboards/db" and method == "POST":
            return self._save(body)
        match = re.match(r"^/api/folders/([^/]+)$", path)
        if match and method == "GET":
            folder = self.folders.get(unquote(match.group(1)))
            return (200, copy.deepcopy(folder)) if folder else (404, {"message": "folder not found"})
        if path == "/api/folders" and method == "POST":
            if not isinstance(body, dict) or not body.get("title"):
                return 400, {"message": "folder title cannot be empty"}
            if body.get("uid") in self.folders:
                return 409, {"message": "a folder with the same uid already exists"}
            return 200, self.add_folder(body.get("uid") or "f%d" % self._next_id, body["title"])
        if path == "/api/datasources" and method == "GET":
            return 200, self._visible_datasources()
        match = re.match(r"^/api/datasources/(uid|name)/([^/]+)$", path)
        if match and method == "GET":
            key = "uid" if match.group(1) == "uid" else "name"
            for ds in self._visible_datasources():
                if ds[key] == unquote(match.group(2)):
                    return 200, ds
            return 404, {"message": "Data source not found"}
        if path == "/api/ds/query" and method == "POST":
            return self._query(body)
        if path.startswith("/apis/"):
            return 404, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                         "message": "the server could not find the requested resource", "reason": "NotFound",
                         "details": {}, "code": 404}
        return 404, {"message": "Not found"}

    def _resource(self, namespace, uid):
        stored = self.dashboards.get(uid)
        if namespace != "default" or stored is None or not self._visible(stored):
            return 404, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                         "message": "dashboards.dashboard.grafana.app \"%s\" not found" % uid, "reason": "NotFound",
                         "details": {"name": uid, "group": "dashboard.grafana.app", "kind": "dashboards"},
                         "code": 404}
        annotations = {}
        provisioning = stored.get("provisioning")
        if provisioning is not None:
            # The stored object carries its manager at once: no search index in between.
            annotations = {"grafana.app/managedBy": "classic-file-provisioning",
                           "grafana.app/managerId": provisioning["provider"],
                           "grafana.app/sourcePath": "/etc/grafana/dashboards/%s.json" % uid}
            if provisioning["allow_ui_updates"]:
                annotations["grafana.app/managerAllowsEdits"] = "true"
        if stored["meta"]["folderUid"]:
            annotations["grafana.app/folder"] = stored["meta"]["folderUid"]
        spec = copy.deepcopy(stored["dashboard"])
        spec.pop("id", None)
        spec.pop("uid", None)
        spec.pop("version", None)
        return 200, {"kind": "Dashboard", "apiVersion": "dashboard.grafana.app/v1beta1",
                     "metadata": {"name": uid, "namespace": namespace, "resourceVersion": str(stored["meta"]["version"]),
                                  "generation": stored["meta"]["version"], "annotations": annotations,
                                  "labels": {"grafana.app/deprecatedInternalID": str(stored["dashboard"]["id"])}},
                     "spec": spec}

    def _save(self, body):
        if not isinstance(body, dict) or not isinstance(body.get("dashboard"), dict):
            return 400, {"message": "bad request data"}
        dashboard = copy.deepcopy(body["dashboard"])
        # BEHAVIOURS["title-trimmed"], ["uid-rules"], ["refresh-raised"]
        title = dashboard.get("title")
        dashboard["title"] = title.strip() if isinstance(title, str) else ""
        if not dashboard["title"]:
            return 400, {"message": "Dashboard title cannot be empty"}
        uid = (dashboard.get("uid") or "").strip()
        if not uid or not re.match(r"^[a-zA-Z0-9_-]+$", uid):
            return 400, {"message": "uid contains illegal characters"}
        if len(uid) > 40:
            return 400, {"message": "uid too long, max 40 characters"}
        dashboard["uid"] = uid
        self._raise_refresh(dashboard)
        folder_uid = body.get("folderUid") or ""
        if self.before_save is not None:
            self.before_save(self)
        # BEHAVIOURS["folder-not-found"]
        if folder_uid and folder_uid not in self.folders:
            return 400, {"message": "folder not found"}
        existing = self.dashboards.get(uid)
        if existing is not None and not self._visible(existing):
            existing = None
        if existing is not None:
            # BEHAVIOURS["provisioned-refused"]: found through the (lagging, from 12.x) search index.
            provisioning = self._provisioned_in_search(existing)
            if provisioning is not None and not provisioning["allow_ui_updates"]:
                return 400, {"message": "Cannot save provisioned dashboard"}
            if not body.get("overwrite") and dashboard.get("version") != existing["meta"]["version"]:
                status, answer = self.behaviour["version_conflict"]
                return status, dict(answer)
        stored = self._store(dashboard, folder_uid)
        if self.after_save is not None:
            self.after_save(self, uid)
        return 200, {"id": stored["dashboard"]["id"], "uid": uid, "url": stored["meta"]["url"], "status": "success",
                     "version": stored["meta"]["version"], "slug": stored["meta"]["slug"], "folderUid": folder_uid}

    def _query(self, body):
        if not isinstance(body, dict) or not isinstance(body.get("queries"), list) or not body.get("from"):
            return 400, {"message": "bad request data"}
        results = {}
        failed = False
        visible = self._visible_datasources()
        for query in body["queries"]:
            ref_id = query.get("refId", "A")
            uid = (query.get("datasource") or {}).get("uid")
            if uid != "__expr__" and not any(ds["uid"] == uid for ds in visible):
                return 404, {"message": "Data source not found"}
            outcome = self.query_results.get(query.get("expr"), [1.0, 2.0])
            if isinstance(outcome, str):
                failed = True
                results[ref_id] = {"error": outcome, "errorSource": "downstream", "status": 400}
            elif not outcome:
                results[ref_id] = {"status": 200, "frames": []}
            else:
                times = [1700000000000 + 60000 * i for i in range(len(outcome))]
                results[ref_id] = {"status": 200, "frames": [{
                    "schema": {"refId": ref_id, "fields": [{"name": "Time", "type": "time"},
                                                           {"name": "Value", "type": "number"}]},
                    "data": {"values": [times, list(outcome)]},
                }]}
        status = (207 if self.multi_status else 400) if failed else 200
        return status, {"results": results}


class _Handler(BaseHTTPRequestHandler):
    grafana = None
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Keep the test output quiet."""

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        path = urlparse(self.path).path
        status, payload = self.grafana.handle(self.command, path, self.headers, body)
        content_type = "application/json"
        if path in self.grafana.raw_responses:
            status, data, content_type = self.grafana.raw_responses[path]
        else:
            data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = do_PUT = _serve
