# -*- coding: utf-8 -*-
# Copyright: contributors to the telemetry.claude_code collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""GrafanaApiTestDouble: a TEST DOUBLE of Grafana's HTTP API, not Grafana.

A real HTTP server on 127.0.0.1 (an ephemeral port), in a thread, that answers the endpoints
the grafana_dashboard module uses with the status codes and JSON bodies Grafana documents:

  GET    /api/health                     {"commit", "database": "ok", "version"}
  GET    /api/dashboards/uid/<uid>       {"dashboard", "meta"} | 404 {"message": "Dashboard not found"}
  POST   /api/dashboards/db              {"id", "uid", "url", "status": "success", "version", "slug"}
                                         400 empty title / bad uid / provisioned, 404 folder,
                                         412 version-mismatch / name-exists (when overwrite is false)
  DELETE /api/dashboards/uid/<uid>       {"title", "message", "id"} | 404 | 400 provisioned
  GET    /api/folders/<uid>              folder | 404 {"message": "folder not found"}
  POST   /api/folders                    folder | 409 uid taken
  GET    /api/datasources                [datasource, ...]
  GET    /api/datasources/uid/<uid>      datasource | 404 {"message": "Data source not found"}
  GET    /api/datasources/name/<name>    datasource | 404
  POST   /api/ds/query                   {"results": {refId: {"status", "frames", "error"?}}},
                                         200, or 400 when a query failed (as Grafana does)

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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

EDITOR_TOKEN = "glsa_editor_token_for_tests"
VIEWER_TOKEN = "glsa_viewer_token_for_tests"
ADMIN_USER = ("admin", "admin-password")


def _slug(title):
    return re.sub(r"[^a-z0-9]+", "-", (title or "").lower()).strip("-") or "dashboard"


class GrafanaApiTestDouble:
    """A stand-in Grafana for tests; see the module docstring. Use as a context manager."""

    def __init__(self):
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
        # expr -> None (no data), a str (the query's error), or a list of values (data).
        self.query_results = {}
        self.requests = []
        self.before_save = None
        self.after_save = None
        # path -> (status, raw bytes, content type): answers that are not Grafana's JSON.
        self.raw_responses = {}
        self.multi_status = False
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

    # --- state helpers -------------------------------------------------------------------

    def add_folder(self, uid, title=None):
        with self._lock:
            self._next_id += 1
            self.folders[uid] = {"id": self._next_id, "uid": uid, "title": title or uid,
                                 "url": "/dashboards/f/%s/%s" % (uid, _slug(title or uid)),
                                 "hasAcl": False, "canSave": True, "canEdit": True, "canAdmin": True, "version": 1}
        return self.folders[uid]

    def put_dashboard(self, dashboard, folder_uid="", provisioned=False, version=None):
        """Store a dashboard directly, as if saved earlier (or provisioned from a file)."""
        with self._lock:
            return self._store(copy.deepcopy(dashboard), folder_uid, provisioned, version)

    def _store(self, dashboard, folder_uid, provisioned=False, version=None):
        uid = dashboard["uid"]
        old = self.dashboards.get(uid)
        if old:
            dashboard["id"] = old["dashboard"]["id"]
            dashboard["version"] = version if version is not None else old["meta"]["version"] + 1
        else:
            self._next_id += 1
            dashboard["id"] = self._next_id
            dashboard["version"] = version if version is not None else 1
        folder = self.folders.get(folder_uid) if folder_uid else None
        meta = {
            "type": "db", "canSave": not provisioned, "canEdit": True, "canAdmin": True, "canStar": True,
            "slug": _slug(dashboard.get("title")), "url": "/d/%s/%s" % (uid, _slug(dashboard.get("title"))),
            "expires": "0001-01-01T00:00:00Z", "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z",
            "version": dashboard["version"], "hasAcl": False, "isFolder": False,
            "folderId": folder["id"] if folder else 0, "folderUid": folder_uid or "",
            "folderTitle": folder["title"] if folder else "General",
            "folderUrl": folder["url"] if folder else "",
            "provisioned": provisioned, "provisionedExternalId": ("%s.json" % uid) if provisioned else "",
        }
        self.dashboards[uid] = {"dashboard": dashboard, "meta": meta}
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
            return 200, {"commit": "test-double", "database": "ok", "version": "11.3.0"}
        role = self.role(headers)
        if role is None:
            return 401, {"message": "Unauthorized", "messageId": "auth.unauthorized", "statusCode": 401}
        writing = method in ("POST", "DELETE", "PUT") and path != "/api/ds/query"
        if writing and role == "Viewer":
            return 403, {"message": "You'll need additional permissions to perform this action. "
                                    "Permissions needed: dashboards:write", "accessErrorId": "ACE0000000001"}
        with self._lock:
            return self._route(method, path, body)

    def _route(self, method, path, body):
        match = re.match(r"^/api/dashboards/uid/([^/]+)$", path)
        if match:
            uid = unquote(match.group(1))
            stored = self.dashboards.get(uid)
            if stored is None:
                return 404, {"message": "Dashboard not found", "status": "not-found"}
            if method == "GET":
                return 200, copy.deepcopy(stored)
            if method == "DELETE":
                if stored["meta"]["provisioned"]:
                    return 400, {"message": "Dashboard cannot be deleted because it was provisioned"}
                del self.dashboards[uid]
                return 200, {"title": stored["dashboard"].get("title"), "id": stored["dashboard"]["id"],
                             "message": "Dashboard %s deleted" % stored["dashboard"].get("title")}
        if path == "/api/dashboards/db" and method == "POST":
            return self._save(body)
        match = re.match(r"^/api/folders/([^/]+)$", path)
        if match and method == "GET":
            folder = self.folders.get(unquote(match.group(1)))
            return (200, copy.deepcopy(folder)) if folder else (404, {"message": "folder not found", "status": "not-found"})
        if path == "/api/folders" and method == "POST":
            if not isinstance(body, dict) or not body.get("title"):
                return 400, {"message": "folder title cannot be empty"}
            if body.get("uid") in self.folders:
                return 409, {"message": "a folder/dashboard with the same uid already exists"}
            return 200, self.add_folder(body.get("uid") or "f%d" % self._next_id, body["title"])
        if path == "/api/datasources" and method == "GET":
            return 200, copy.deepcopy(self.datasources)
        match = re.match(r"^/api/datasources/(uid|name)/([^/]+)$", path)
        if match and method == "GET":
            key = "uid" if match.group(1) == "uid" else "name"
            for ds in self.datasources:
                if ds[key] == unquote(match.group(2)):
                    return 200, copy.deepcopy(ds)
            return 404, {"message": "Data source not found"}
        if path == "/api/ds/query" and method == "POST":
            return self._query(body)
        return 404, {"message": "Not found"}

    def _save(self, body):
        if not isinstance(body, dict) or not isinstance(body.get("dashboard"), dict):
            return 400, {"message": "bad request data"}
        dashboard = copy.deepcopy(body["dashboard"])
        if not (dashboard.get("title") or "").strip():
            return 400, {"message": "Dashboard title cannot be empty", "status": "empty-name"}
        uid = dashboard.get("uid")
        if not uid or not re.match(r"^[a-zA-Z0-9_-]{1,40}$", uid):
            return 400, {"message": "uid contains illegal characters"}
        folder_uid = body.get("folderUid") or ""
        if folder_uid and folder_uid not in self.folders:
            return 404, {"message": "Folder not found"}
        if self.before_save is not None:
            self.before_save(self)
        existing = self.dashboards.get(uid)
        if existing and existing["meta"]["provisioned"]:
            return 400, {"message": "Cannot save provisioned dashboard"}
        if not body.get("overwrite"):
            if existing and dashboard.get("version") != existing["meta"]["version"]:
                return 412, {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"}
            for other in self.dashboards.values():
                if (other["dashboard"]["uid"] != uid and other["dashboard"].get("title") == dashboard.get("title")
                        and other["meta"]["folderUid"] == folder_uid):
                    return 412, {"message": "A dashboard with the same name in the folder already exists",
                                 "status": "name-exists"}
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
        for query in body["queries"]:
            ref_id = query.get("refId", "A")
            uid = (query.get("datasource") or {}).get("uid")
            if uid != "__expr__" and not any(ds["uid"] == uid for ds in self.datasources):
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
