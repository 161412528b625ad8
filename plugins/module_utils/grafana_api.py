# -*- coding: utf-8 -*-
# Copyright: contributors to the telemetry.claude_code collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small client of Grafana's HTTP API, on Ansible's module_utils.urls (no requests dependency).

It uses ``Request``, the class behind ``open_url``, with one TLS context made once per client:
``open_url`` builds a new one, loading the system's CA store, on every call.

Every failure is a GrafanaError with a ``kind`` a caller can act on and a message a person
can act on; nothing here lets a traceback out for an HTTP or network problem.

Organisation: the client never switches the caller's current organisation (no
``/api/user/using``); when ``org_id`` is given it sends ``X-Grafana-Org-Id`` on each request.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import ssl
import urllib.error
import urllib.parse

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import Request, SSLValidationError, make_context

USER_AGENT = "telemetry.claude_code.grafana_dashboard"

# Kinds of GrafanaError.
UNREACHABLE = "unreachable"
TLS = "tls"
TIMEOUT = "timeout"
UNAUTHORIZED = "unauthorized"
FORBIDDEN = "forbidden"
NOT_FOUND = "not-found"
FOLDER_NOT_FOUND = "folder-not-found"
VERSION_CONFLICT = "version-conflict"
PLUGIN_DASHBOARD = "plugin-dashboard"
V2_DASHBOARD = "v2-dashboard"
PROVISIONED = "provisioned"
INVALID_DASHBOARD = "invalid-dashboard"
CONFLICT = "conflict"
SERVER_ERROR = "server-error"
BAD_RESPONSE = "bad-response"
HTTP_ERROR = "http-error"


def grafana_argument_spec():
    """The connection and authentication options (doc fragment telemetry.claude_code.grafana_auth)."""
    return dict(
        url=dict(type="str", aliases=["grafana_url"]),
        grafana_api_key=dict(type="str", no_log=True, aliases=["token"]),
        url_username=dict(type="str", aliases=["grafana_user"]),
        url_password=dict(type="str", no_log=True, aliases=["grafana_password"]),
        org_id=dict(type="int"),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        client_cert=dict(type="path"),
        client_key=dict(type="path", no_log=False),
        use_proxy=dict(type="bool", default=True),
        timeout=dict(type="int", default=30),
    )


GRAFANA_MUTUALLY_EXCLUSIVE = [("grafana_api_key", "url_username"), ("grafana_api_key", "url_password")]
GRAFANA_REQUIRED_TOGETHER = [("url_username", "url_password")]


class GrafanaError(Exception):
    """A failed call to Grafana. ``kind`` is one of the constants above."""

    def __init__(self, kind, message, status=None, body=None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.body = body

    def __str__(self):
        return self.message


def _message_of(body):
    if isinstance(body, dict):
        for key in ("message", "error", "msg"):
            if body.get(key):
                return str(body[key])
    if isinstance(body, str) and body.strip():
        return body.strip()[:300]
    return ""


class GrafanaClient:
    """Calls to one Grafana instance, as one identity, in one organisation."""

    def __init__(self, url, token=None, username=None, password=None, org_id=None, validate_certs=True,
                 ca_path=None, client_cert=None, client_key=None, timeout=30, use_proxy=True):
        if not url:
            raise GrafanaError(UNREACHABLE, "no Grafana url given (option url)")
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise GrafanaError(UNREACHABLE, "the Grafana url %r is not an http:// or https:// URL" % url)
        self.url = url.rstrip("/")
        self.token = token
        self.username = username
        self.password = password
        self.org_id = org_id
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.client_cert = client_cert
        self.client_key = client_key
        self.timeout = timeout
        self.use_proxy = use_proxy
        self._context = None
        self.calls = []

    @classmethod
    def from_params(cls, params):
        """A client from module parameters (the options of the grafana_auth doc fragment)."""
        return cls(
            params.get("url"), token=params.get("grafana_api_key"), username=params.get("url_username"),
            password=params.get("url_password"), org_id=params.get("org_id"),
            validate_certs=params.get("validate_certs", True), ca_path=params.get("ca_path"),
            client_cert=params.get("client_cert"), client_key=params.get("client_key"),
            timeout=params.get("timeout") or 30, use_proxy=params.get("use_proxy", True),
        )

    # --- transport -----------------------------------------------------------------------

    def _ssl_context(self):
        if self._context is None:
            if not self.url.startswith("https://"):
                # Never used for plain http, but Request would otherwise build (and load) one.
                self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            else:
                try:
                    self._context = make_context(cafile=self.ca_path, validate_certs=self.validate_certs,
                                                 client_cert=self.client_cert, client_key=self.client_key)
                except TypeError:  # ansible-core without client certificates in make_context
                    self._context = make_context(cafile=self.ca_path, validate_certs=self.validate_certs)
                    if self.client_cert:
                        self._context.load_cert_chain(self.client_cert, self.client_key)
        return self._context

    def _headers(self, has_body):
        headers = {"Accept": "application/json"}
        if has_body:
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = "Bearer %s" % self.token
        elif self.username is not None:
            pair = "%s:%s" % (self.username, self.password or "")
            headers["Authorization"] = "Basic %s" % base64.b64encode(pair.encode("utf-8")).decode("ascii")
        if self.org_id is not None:
            headers["X-Grafana-Org-Id"] = str(self.org_id)
        return headers

    def request(self, method, path, body=None, ok=(200,)):
        """(status, decoded JSON body). Statuses in ``ok`` are returned; any other raises.

        401 and 403 always raise (unauthorized, forbidden); network and TLS failures raise
        unreachable, tls or timeout.
        """
        url = self.url + path
        data = json.dumps(body).encode("utf-8") if body is not None else None
        self.calls.append((method, path))
        status = None
        raw = b""
        try:
            context = self._ssl_context()
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise GrafanaError(TLS, "cannot load the TLS files (ca_path %s, client_cert %s, client_key %s): %s"
                               % (self.ca_path, self.client_cert, self.client_key, exc)) from None
        try:
            response = Request().open(
                method, url, data=data, headers=self._headers(data is not None),
                use_proxy=self.use_proxy, timeout=self.timeout, validate_certs=self.validate_certs,
                http_agent=USER_AGENT, follow_redirects="safe", client_cert=self.client_cert,
                client_key=self.client_key, ca_path=self.ca_path, use_netrc=False, context=context,
            )
            status = response.getcode()
            raw = response.read()
        except urllib.error.HTTPError as exc:
            status = exc.code
            try:
                raw = exc.read()
            except (OSError, http.client.HTTPException, AttributeError):
                raw = b""
        except SSLValidationError as exc:
            raise self._tls_error(exc) from None
        except (ssl.SSLError, ssl.CertificateError) as exc:
            raise self._tls_error(exc) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, (ssl.SSLError, ssl.CertificateError)):
                raise self._tls_error(reason) from None
            if isinstance(reason, (socket.timeout, TimeoutError)):
                raise self._timeout_error() from None
            raise self._unreachable(reason) from None
        except (socket.timeout, TimeoutError):
            raise self._timeout_error() from None
        except (UrlsConnectionError, ConnectionError, OSError, http.client.HTTPException) as exc:
            raise self._unreachable(exc) from None
        decoded = self._decode(raw)
        if status in ok:
            if raw and decoded is None:
                raise GrafanaError(BAD_RESPONSE, "%s %s answered %s with a body that is not JSON (%r): is %s really "
                                                 "Grafana, and not a proxy or login page in front of it?"
                                   % (method, path, status, self._text(raw)[:120], self.url), status, raw)
            return status, decoded
        raise self.http_error(method, path, status, decoded if decoded is not None else self._text(raw))

    @staticmethod
    def _decode(raw):
        if not raw:
            return {}
        try:
            return json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None

    @staticmethod
    def _text(raw):
        try:
            return raw.decode("utf-8", "replace")
        except AttributeError:
            return str(raw)

    def _tls_error(self, exc):
        return GrafanaError(TLS, "TLS verification of %s failed: %s. Set ca_path to the CA certificate that signed "
                                 "Grafana's certificate, or validate_certs: false for a test instance." % (self.url, exc))

    def _timeout_error(self):
        return GrafanaError(TIMEOUT, "Grafana at %s did not answer within %s s: check that it is up and not overloaded, "
                                     "or raise timeout." % (self.url, self.timeout))

    def _unreachable(self, reason):
        return GrafanaError(UNREACHABLE, "Grafana at %s is unreachable: %s. Check url, that Grafana is running and "
                                         "listening there, and any proxy (use_proxy) or firewall in between."
                            % (self.url, reason))

    def http_error(self, method, path, status, body):
        """The GrafanaError for an HTTP status that the caller did not expect."""
        detail = _message_of(body)
        suffix = (": %s" % detail) if detail else ""
        if status == 401:
            how = ("the service-account token (grafana_api_key)" if self.token else
                   "url_username/url_password" if self.username is not None else "credentials: none were given")
            org = " A token belongs to one organisation; org_id cannot reach another." if self.token and self.org_id else ""
            return GrafanaError(UNAUTHORIZED, "Grafana rejected the credentials (401 Unauthorized) for %s %s%s. Check %s.%s"
                                % (method, path, suffix, how, org), status, body)
        if status == 403:
            org = (" in organisation %s" % self.org_id) if self.org_id is not None else ""
            return GrafanaError(FORBIDDEN, "Grafana refused %s %s (403 Forbidden)%s: the user or service account lacks "
                                           "the permission%s. Importing needs dashboards:write on the folder (the Editor "
                                           "role), creating a folder folders:create, confirming datasources:read and "
                                           "querying datasources:query." % (method, path, suffix, org), status, body)
        if status == 404:
            return GrafanaError(NOT_FOUND, "%s %s: not found (404)%s" % (method, path, suffix), status, body)
        if status == 406:
            return GrafanaError(V2_DASHBOARD, "%s %s: not acceptable (406)%s" % (method, path, suffix), status, body)
        if status == 409:
            return GrafanaError(CONFLICT, "%s %s: conflict (409)%s" % (method, path, suffix), status, body)
        if status == 412:
            return GrafanaError(VERSION_CONFLICT, "%s %s: precondition failed (412)%s" % (method, path, suffix), status, body)
        if status is not None and status >= 500:
            return GrafanaError(SERVER_ERROR, "Grafana failed on %s %s (%s)%s; see Grafana's log"
                                % (method, path, status, suffix), status, body)
        return GrafanaError(HTTP_ERROR, "%s %s answered %s%s" % (method, path, status, suffix), status, body)

    # --- endpoints -------------------------------------------------------------------------

    def health(self):
        """GET /api/health: {"database": "ok", "version": "..."} (needs no credentials)."""
        _status, body = self.request("GET", "/api/health")
        return body if isinstance(body, dict) else {}

    def get_dashboard(self, uid):
        """GET /api/dashboards/uid/<uid>: {"dashboard": ..., "meta": ...}, or None when absent.

        A dashboard stored in the v2 schema (Grafana 12 and later) answers 406 here, with the
        /apis/dashboard.grafana.app/v2... URL to read it from (GetDashboard in pkg/api/dashboard.go):
        that is a V2_DASHBOARD error, since this module manages classic (v1) JSON only.
        """
        path = "/api/dashboards/uid/%s" % urllib.parse.quote(uid, safe="")
        try:
            status, body = self.request("GET", path, ok=(200, 404))
        except GrafanaError as exc:
            if exc.status == 406:
                raise GrafanaError(V2_DASHBOARD, (
                    "dashboard %r is stored in Grafana's v2 dashboard schema, which GET %s refuses (406: %s). This "
                    "module imports and compares classic (v1) dashboard JSON only: export the dashboard as classic "
                    "JSON in Grafana, or give this one another uid." % (uid, path, _message_of(exc.body) or "no reason")),
                    exc.status, exc.body) from None
            raise
        if status == 404:
            return None
        if not isinstance(body, dict) or not isinstance(body.get("dashboard"), dict):
            raise GrafanaError(BAD_RESPONSE, "GET /api/dashboards/uid/%s returned no dashboard object" % uid, status, body)
        body.setdefault("meta", {})
        return body

    def get_dashboard_resource(self, uid, namespace="default"):
        """The dashboard as a Kubernetes-style resource (Grafana 12 and later), or None.

        GET /apis/dashboard.grafana.app/v1beta1/namespaces/<namespace>/dashboards/<uid>. Its
        metadata.annotations come from the stored object itself (grafana.app/managedBy,
        grafana.app/managerId), unlike the legacy meta.provisioned, which Grafana 12 reads from its
        search index. None when the route or the dashboard is not there, or the caller may not
        read it (the caller then knows no more than before); 401 still raises.
        """
        path = "/apis/dashboard.grafana.app/v1beta1/namespaces/%s/dashboards/%s" % (
            urllib.parse.quote(namespace, safe=""), urllib.parse.quote(uid, safe=""))
        try:
            _status, body = self.request("GET", path)
        except GrafanaError as exc:
            if exc.kind in (UNAUTHORIZED, UNREACHABLE, TLS, TIMEOUT):
                raise
            return None
        return body if isinstance(body, dict) else None

    def save_dashboard(self, dashboard, folder_uid=None, message=None, overwrite=True):
        """POST /api/dashboards/db: {"id", "uid", "url", "status", "version", "slug"}."""
        payload = {"dashboard": dashboard, "overwrite": bool(overwrite)}
        if folder_uid is not None:
            payload["folderUid"] = folder_uid
        if message:
            payload["message"] = message
        try:
            _status, body = self.request("POST", "/api/dashboards/db", payload)
        except GrafanaError as exc:
            raise self._save_error(exc, dashboard.get("uid"), folder_uid) from None
        return body if isinstance(body, dict) else {}

    def _save_error(self, exc, uid, folder_uid):
        """The GrafanaError of a failed POST /api/dashboards/db, by what Grafana 11.3 to 13 answer.

        ToDashboardErrorResponse (pkg/api/apierrors/dashboard.go) answers a dashboards.DashboardErr
        with its own status (400 title, uid, provisioned; 412 version-mismatch), a folder that does
        not exist (dashboards.ErrFolderNotFound) with 400 {"message": "folder not found"}, a plugin's
        dashboard with 412 plugin-dashboard, and an apiserver status error with its code: a version
        conflict found by the storage of Grafana 13 is 409.
        """
        detail = _message_of(exc.body)
        lowered = detail.lower()
        status_word = exc.body.get("status") if isinstance(exc.body, dict) else None
        if exc.status == 400 and "provisioned" in lowered:
            return GrafanaError(PROVISIONED, provisioned_message(uid, "save"), exc.status, exc.body)
        if exc.status == 400 and "folder not found" in lowered:
            return GrafanaError(FOLDER_NOT_FOUND, folder_missing_message(folder_uid, exc.status, detail),
                                exc.status, exc.body)
        if exc.status == 400 and "refresh interval" in lowered:
            return GrafanaError(INVALID_DASHBOARD, "Grafana rejected dashboard %r (400): %s. Its refresh is below "
                                                   "Grafana's [dashboards] min_refresh_interval: set the module's "
                                                   "min_refresh_interval to the same value." % (uid, detail),
                                exc.status, exc.body)
        if exc.status == 400:
            return GrafanaError(INVALID_DASHBOARD, "Grafana rejected dashboard %r as invalid (400): %s"
                                % (uid, detail or "no reason given"), exc.status, exc.body)
        if exc.status == 404:
            return GrafanaError(FOLDER_NOT_FOUND, folder_missing_message(folder_uid, exc.status, detail),
                                exc.status, exc.body)
        if exc.status == 412 and (status_word == "plugin-dashboard" or "plugin" in lowered):
            return GrafanaError(PLUGIN_DASHBOARD, "Grafana refused to save dashboard %r (412 plugin-dashboard): %s "
                                                  "Grafana protects a plugin's dashboard unless overwrite is true."
                                % (uid, detail or "the dashboard belongs to a plugin."), exc.status, exc.body)
        if exc.status == 412 and status_word == "name-exists":
            # Grafana before 11.3 only: titles are no longer unique within a folder since then.
            return GrafanaError(CONFLICT, "Grafana refused to save dashboard %r (412 name-exists): %s. Grafana "
                                          "releases before 11.3 keep titles unique per folder: rename one of them."
                                % (uid, detail), exc.status, exc.body)
        if exc.status in (409, 412):
            return GrafanaError(VERSION_CONFLICT, "Grafana refused to save dashboard %r (%s %s): it was changed by "
                                                  "someone else since it was read. Re-run the task to compare against "
                                                  "the new version, or set overwrite: true to replace it regardless."
                                % (uid, exc.status, status_word or detail or "conflict"), exc.status, exc.body)
        return exc

    def delete_dashboard(self, uid):
        """DELETE /api/dashboards/uid/<uid>."""
        try:
            _status, body = self.request("DELETE", "/api/dashboards/uid/%s" % urllib.parse.quote(uid, safe=""))
        except GrafanaError as exc:
            if exc.status == 400 and "provisioned" in _message_of(exc.body).lower():
                raise GrafanaError(PROVISIONED, provisioned_message(uid, "delete"), exc.status, exc.body) from None
            raise
        return body

    def get_folder(self, uid):
        """GET /api/folders/<uid>, or None when there is no such folder."""
        status, body = self.request("GET", "/api/folders/%s" % urllib.parse.quote(uid, safe=""), ok=(200, 404))
        return None if status == 404 else body

    def create_folder(self, uid, title):
        """POST /api/folders."""
        try:
            _status, body = self.request("POST", "/api/folders", {"uid": uid, "title": title})
        except GrafanaError as exc:
            if exc.status in (400, 409, 412):
                raise GrafanaError(CONFLICT, "Grafana refused to create folder %r titled %r (%s): %s. A folder with that "
                                             "title may exist under another uid: use its uid as folder_uid."
                                   % (uid, title, exc.status, _message_of(exc.body)), exc.status, exc.body) from None
            raise
        return body

    def list_datasources(self):
        """GET /api/datasources: the datasources of the organisation."""
        _status, body = self.request("GET", "/api/datasources")
        return body if isinstance(body, list) else []

    def get_datasource(self, uid):
        """GET /api/datasources/uid/<uid>, or None when absent."""
        status, body = self.request("GET", "/api/datasources/uid/%s" % urllib.parse.quote(uid, safe=""), ok=(200, 404))
        return None if status == 404 else body

    def get_datasource_by_name(self, name):
        """GET /api/datasources/name/<name>, or None when absent."""
        status, body = self.request("GET", "/api/datasources/name/%s" % urllib.parse.quote(name, safe=""), ok=(200, 404))
        return None if status == 404 else body

    def query(self, queries, time_from, time_to="now"):
        """POST /api/ds/query: {"results": {refId: {"status", "frames", "error"}}}.

        Grafana answers 400 (or 207 with the multi-status feature) when a query fails, with
        the per-query errors in the body; those bodies are returned, not raised.
        """
        payload = {"queries": queries, "from": time_from, "to": time_to}
        status, body = self.request("POST", "/api/ds/query", payload, ok=(200, 207, 400, 500))
        if not isinstance(body, dict) or not isinstance(body.get("results"), dict):
            if status == 200:
                raise GrafanaError(BAD_RESPONSE, "POST /api/ds/query returned no results object", status, body)
            raise self.http_error("POST", "/api/ds/query", status, body)
        return body

    def absolute_url(self, path):
        """Grafana's url for a dashboard (a path like /d/uid/slug) made absolute."""
        if not path:
            return None
        if "://" in path:
            return path
        base = urllib.parse.urlparse(self.url)
        prefix = base.path.rstrip("/")
        origin = "%s://%s" % (base.scheme, base.netloc)
        if prefix and path.startswith(prefix + "/"):
            return origin + path
        return origin + prefix + path


def provisioned_message(uid, action="save"):
    """Why Grafana refuses to overwrite or delete a provisioned dashboard, and what to do."""
    verb = "overwrite" if action == "save" else "delete"
    return ("dashboard %r is provisioned from a file (meta.provisioned) and Grafana refuses to %s it through the API. "
            "Change the provisioning file instead and use confirm_only: true to confirm that Grafana loaded it, "
            "or take it out of provisioning first." % (uid, verb))


def folder_missing_message(folder_uid, status=404, detail=None):
    """What to do about a folder uid that does not exist (GET answers 404; a save into it 400)."""
    how = ("%s %s" % (status, detail)) if detail else str(status)
    return ("folder %r does not exist in this organisation (%s): create it, set create_folder: true (with folder_title), "
            "or fix folder_uid. A folder that existed when the task read it was deleted before the save."
            % (folder_uid, how))
