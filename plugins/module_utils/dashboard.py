# -*- coding: utf-8 -*-
# Copyright: contributors to the telemetry.claude_code collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Import a Grafana dashboard and confirm it imported cleanly: normalise, compare, confirm.

The logic of the telemetry.claude_code.grafana_dashboard module, kept out of the module so
that it can be tested without Ansible's module machinery.

What Grafana does to the JSON it is given (POST /api/dashboards/db, and file provisioning):
it stores it as sent. The backend sets only ``id``, ``uid`` and ``version`` (GetDashboard in
pkg/api/dashboard.go writes the stored version into the JSON it serves), trims the title
(``strings.TrimSpace`` in BuildSaveDashboardCommand, pkg/services/dashboards/service/
dashboard_service.go) and raises a ``refresh`` below ``[dashboards] min_refresh_interval`` to
that minimum (SaveDashboard and SaveProvisionedDashboard, same file). Nothing migrates the
JSON on the server: ``schemaVersion`` and each panel's ``pluginVersion`` change only when
someone saves the dashboard from Grafana's UI, whose frontend migrates the model first.

So the comparison (``normalise``) ignores:

* the top-level ``id`` and ``version`` (Grafana's), and ``iteration`` (the frontend's save stamp);
* ``schemaVersion`` and ``pluginVersion``: a UI save rewrites them without changing what the
  dashboard shows, and re-importing for them alone would only add versions;
* keys whose value is null, an empty list or an empty object, at any depth: exporters and the
  frontend drop or add these freely, and they mean the same as an absent key.

And the two things Grafana itself changes are applied to the desired dashboard before it is
compared or sent (``apply_grafana_rules``), so that they never count as a difference forever:
the title is trimmed, and a refresh below min_refresh_interval is raised to it. The module
reports both as warnings. Everything else counts, including the order of panels and targets.
"""

from __future__ import annotations

import copy
import re
import time

from ansible_collections.telemetry.claude_code.plugins.module_utils import dashboard_lint as lint
from ansible_collections.telemetry.claude_code.plugins.module_utils.grafana_api import (
    FOLDER_NOT_FOUND,
    BAD_RESPONSE,
    SERVER_ERROR,
    FORBIDDEN,
    INVALID_DASHBOARD,
    PROVISIONED,
    TIMEOUT,
    TLS,
    UNAUTHORIZED,
    UNREACHABLE,
    GrafanaError,
    folder_missing_message,
    provisioned_message,
)

IGNORED_KEYS = ("id", "version", "iteration", "schemaVersion")
IGNORED_PANEL_KEYS = ("pluginVersion",)
QUERY_KINDS = frozenset(["query-error", "query-no-data"])
DEFAULT_MESSAGE = "Imported by Ansible (telemetry.claude_code.grafana_dashboard)"
MAX_DIFFERENCES = 50
FATAL_KINDS = frozenset([UNAUTHORIZED, FORBIDDEN, UNREACHABLE, TLS, TIMEOUT])

# Kinds of DashboardFailure besides those of GrafanaError.
LINT_FAILED = INVALID_DASHBOARD
CONFIRM_FAILED = "confirm-failed"
PROVISIONED_MISSING = "provisioned-missing"
BAD_PARAMETERS = "bad-parameters"

# Grafana's default [dashboards] min_refresh_interval (conf/defaults.ini).
DEFAULT_MIN_REFRESH = "5s"
# Seconds between two tries while waiting (wait_timeout); tests shorten it.
WAIT_INTERVAL = 2.0
# Confirmation problems that Grafana's background provisioning clears once it has run: a
# dashboard or datasource not there yet, or an older copy still served.
PROVISIONING_KINDS = frozenset(["datasource-missing", "datasource-variable", "readback-mismatch", "folder-mismatch"])
# The annotations with which Grafana 12 and later mark a dashboard of classic file provisioning
# on the stored object (pkg/apimachinery/utils/manager.go: ManagerKindClassicFP).
MANAGED_BY = "grafana.app/managedBy"
MANAGER_ALLOWS_EDITS = "grafana.app/managerAllowsEdits"
CLASSIC_FILE_PROVISIONING = "classic-file-provisioning"
# Grafana's duration units (gtime.ParseDuration) in seconds.
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 2592000, "y": 31536000}


class DashboardFailure(Exception):
    """The task fails: ``kind`` says why, ``result`` holds what to return with the failure."""

    def __init__(self, kind, message, **result):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.result = result

    def __str__(self):
        return self.message


# --- normalise and compare -------------------------------------------------------------


def _prune(value):
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            item = _prune(item)
            if item is None or item == [] or item == {}:
                continue
            out[key] = item
        return out
    if isinstance(value, list):
        return [_prune(item) for item in value]
    return value


def _strip_panel(panel):
    if not isinstance(panel, dict):
        return
    for key in IGNORED_PANEL_KEYS:
        panel.pop(key, None)
    for inner in panel.get("panels") or []:
        _strip_panel(inner)


def normalise(dashboard):
    """A copy of the dashboard in the form compared: see the module docstring for what goes."""
    if not isinstance(dashboard, dict):
        return {}
    out = copy.deepcopy(dashboard)
    for key in IGNORED_KEYS:
        out.pop(key, None)
    for panel in out.get("panels") or []:
        _strip_panel(panel)
    for row in out.get("rows") or []:
        if isinstance(row, dict):
            for panel in row.get("panels") or []:
                _strip_panel(panel)
    return _prune(out)


def differences(before, after, path="", limit=MAX_DIFFERENCES):
    """The paths (``panels[2].targets[0].expr``) where two normalised values differ."""
    found = []
    _diff(before, after, path, found, limit)
    return found


def _diff(before, after, path, found, limit):
    if len(found) >= limit:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after), key=str):
            sub = "%s.%s" % (path, key) if path else str(key)
            if key not in before:
                found.append("%s (added)" % sub)
            elif key not in after:
                found.append("%s (removed)" % sub)
            else:
                _diff(before[key], after[key], sub, found, limit)
            if len(found) >= limit:
                return
    elif isinstance(before, list) and isinstance(after, list):
        for index in range(max(len(before), len(after))):
            sub = "%s[%d]" % (path, index)
            if index >= len(before):
                found.append("%s (added)" % sub)
            elif index >= len(after):
                found.append("%s (removed)" % sub)
            else:
                _diff(before[index], after[index], sub, found, limit)
            if len(found) >= limit:
                return
    elif _is_number(before) and _is_number(after):
        if before != after:  # 1 and 1.0 are the same number once Grafana has stored them
            found.append(path or "(whole dashboard)")
    elif before != after or type(before) is not type(after):
        found.append(path or "(whole dashboard)")


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _folder(value):
    """A folder uid for comparison: the General folder is ''."""
    if value in (None, "general"):
        return ""
    return str(value)


# --- inputs ----------------------------------------------------------------------------


def desired_dashboard(params):
    """The dashboard the task asks for, from ``dashboard`` or ``path``, with ``uid`` applied; or None."""
    source = params.get("dashboard")
    where = "option dashboard"
    if source is None and params.get("path"):
        where = params["path"]
        try:
            with open(params["path"], "rb") as handle:
                source = handle.read()
        except (IOError, OSError) as exc:
            raise DashboardFailure(BAD_PARAMETERS, "cannot read the dashboard file %s: %s" % (where, exc)) from None
    if source is None:
        return None
    try:
        dashboard = lint.load_dashboard(source)
    except ValueError as exc:
        problems = [lint.problem(None, "invalid-json", str(exc))]
        raise DashboardFailure(LINT_FAILED, "invalid dashboard (%s): %s" % (where, exc), problems=problems) from None
    dashboard = copy.deepcopy(dashboard)
    if params.get("uid"):
        dashboard["uid"] = params["uid"]
    return dashboard


def parse_duration(text):
    """Seconds of a Grafana duration such as 30s, 1m or 1h30m, or None when it is not one."""
    if not isinstance(text, str):
        return None
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w|M|y)", text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        return None
    return sum(int(number) * _DURATION_UNITS[unit] for number, unit in parts)


def apply_grafana_rules(dashboard, min_refresh_interval=DEFAULT_MIN_REFRESH):
    """Apply to the dashboard what Grafana does on save; return the notes saying what changed.

    Grafana trims the title and raises a refresh below min_refresh_interval (see the module
    docstring); doing the same here keeps a second run from reporting a change forever.
    """
    notes = []
    title = dashboard.get("title")
    if isinstance(title, str) and title != title.strip():
        dashboard["title"] = title.strip()
        notes.append("the title %r has leading or trailing spaces, which Grafana trims on save: compared and sent "
                     "as %r" % (title, dashboard["title"]))
    refresh = dashboard.get("refresh")
    minimum = parse_duration(min_refresh_interval)
    seconds = parse_duration(refresh)
    if minimum is not None and seconds is not None and seconds < minimum:
        dashboard["refresh"] = min_refresh_interval
        notes.append("refresh %r is below Grafana's min_refresh_interval %r, to which Grafana raises it on save: "
                     "compared and sent as %r (set refresh to at least %r in the dashboard to silence this)"
                     % (refresh, min_refresh_interval, min_refresh_interval, min_refresh_interval))
    return notes


def _summary(problems, limit=5):
    errors = [p for p in problems if lint.is_error(p)]
    parts = ["%s: %s%s" % (p["kind"], (p["panel"] + ": ") if p.get("panel") else "", p["message"])
             for p in errors[:limit]]
    more = "" if len(errors) <= limit else "; and %d more (see problems)" % (len(errors) - limit)
    return "; ".join(parts) + more


# --- confirm ---------------------------------------------------------------------------


def _strip_regex(regex):
    match = re.match(r"^/(.*)/([a-z]*)$", regex or "", re.S)
    if not match:
        return regex, 0
    flags = re.I if "i" in match.group(2) else 0
    return match.group(1), flags


def _datasource_var_matches(var, datasources):
    wanted = var.get("query")
    regex, flags = _strip_regex(var.get("regex"))
    matches = []
    for ds in datasources:
        if ds.get("type") != wanted:
            continue
        if regex:
            try:
                if not re.search(regex, ds.get("name") or "", flags):
                    continue
            except re.error:
                pass
        matches.append(ds)
    return matches


def _current_value(var):
    current = var.get("current")
    value = current.get("value") if isinstance(current, dict) else None
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) and value else None


class Confirmer:
    """Checks of a dashboard against a live Grafana; each returns a list of problems."""

    def __init__(self, client, datasources=None):
        self.client = client
        self._datasources = datasources
        self._by_ref = {}

    def datasources(self):
        if self._datasources is None:
            self._datasources = [ds for ds in self.client.list_datasources() if isinstance(ds, dict)]
        return self._datasources

    def known_datasources(self):
        """{uid or name: type} of Grafana's datasources, for the lint."""
        known = {}
        for ds in self.datasources():
            if ds.get("uid"):
                known[str(ds["uid"])] = ds.get("type")
            if ds.get("name"):
                known.setdefault(str(ds["name"]), ds.get("type"))
        return known

    def lookup(self, ref):
        """The datasource a concrete uid (or legacy name) reference points to, or None."""
        if ref not in self._by_ref:
            found = self.client.get_datasource(ref)
            if found is None:
                for ds in self.datasources():
                    if ds.get("name") == ref:
                        found = ds
                        break
            self._by_ref[ref] = found
        return self._by_ref[ref]

    def check_datasources(self, dashboard):
        """Every concrete datasource reference resolves; every datasource variable finds one."""
        problems = []
        for where, ref in lint.iter_datasource_refs(dashboard):
            uid, dstype = lint.ref_parts(ref)
            if uid is None or lint.variable_reference(uid) or uid in lint.BUILTIN_DATASOURCE_UIDS:
                continue
            found = self.lookup(uid)
            if found is None:
                problems.append(lint.problem(where, "datasource-missing",
                                             "datasource %r does not exist in Grafana (GET /api/datasources/uid/%s "
                                             "answered 404): provision it or fix the reference" % (uid, uid)))
            elif dstype and dstype != "datasource" and found.get("type") and found.get("type") != dstype:
                problems.append(lint.problem(where, "datasource-type",
                                             "datasource %r is of type %r, but the reference expects %r"
                                             % (uid, found.get("type"), dstype)))
        for name, var in sorted(lint.datasource_variables(dashboard).items()):
            matches = _datasource_var_matches(var, self.datasources())
            label = "variable %s" % name
            if not matches:
                have = sorted(set(ds.get("type") for ds in self.datasources() if ds.get("type")))
                problems.append(lint.problem(label, "datasource-variable",
                                             "the datasource variable lists type %r%s, and Grafana has no such datasource "
                                             "(types present: %s)" % (var.get("query"),
                                                                      " matching regex %r" % var["regex"] if var.get("regex") else "",
                                                                      ", ".join(have) or "none")))
                continue
            value = _current_value(var)
            if value and value not in ("default", "$__all") and not lint.variable_reference(value):
                if not any(value in (ds.get("uid"), ds.get("name")) for ds in matches):
                    problems.append(lint.problem(label, "datasource-variable",
                                                 "the current value %r is not a %s datasource in Grafana (Grafana would "
                                                 "fall back to %r)" % (value, var.get("query"), matches[0].get("name"))))
        return problems

    @staticmethod
    def check_counts(dashboard, expect_panels=None, expect_rows=None):
        problems = []
        panels, rows = lint.count_panels(dashboard)
        if expect_panels is not None and panels != expect_panels:
            problems.append(lint.problem(None, "panel-count", "the dashboard has %d panels, %d were expected"
                                         % (panels, expect_panels)))
        if expect_rows is not None and rows != expect_rows:
            problems.append(lint.problem(None, "row-count", "the dashboard has %d rows, %d were expected"
                                         % (rows, expect_rows)))
        return problems

    def _variable_values(self, dashboard):
        """{name: value} to substitute in queries sent to Grafana (the frontend's job)."""
        values = {}
        for name, var in lint.datasource_variables(dashboard).items():
            matches = _datasource_var_matches(var, self.datasources())
            value = _current_value(var)
            chosen = [ds for ds in matches if value in (ds.get("uid"), ds.get("name"))] or matches
            if chosen:
                values[name] = chosen[0].get("uid")
        for var in lint.template_variables(dashboard):
            name = var.get("name")
            if not name or name in values:
                continue
            current = var.get("current")
            value = current.get("value") if isinstance(current, dict) else None
            if value == "$__all" or value == ["$__all"]:
                value = var.get("allValue") or ".*"
            elif isinstance(value, list):
                value = value[0] if len(value) == 1 else "(%s)" % "|".join(str(v) for v in value)
            if value in (None, ""):
                value = lint.variable_value(var)
            if value not in (None, ""):
                values[name] = str(value)
        return values

    def _concrete(self, ref, values):
        """(uid, type) a target's datasource reference runs on, or None."""
        uid, dstype = lint.ref_parts(ref)
        var = lint.variable_reference(uid) if uid else None
        if var:
            uid = values.get(var)
        if uid in ("__expr__", "-100"):
            return "__expr__", "__expr__"
        if uid in lint.BUILTIN_DATASOURCE_UIDS:
            return None
        if uid is None:
            defaults = [ds for ds in self.datasources() if ds.get("isDefault")]
            if dstype:
                defaults = [ds for ds in self.datasources() if ds.get("type") == dstype] or defaults
            return (defaults[0].get("uid"), defaults[0].get("type")) if defaults else None
        found = self.lookup(uid)
        if found is None:
            return None
        return found.get("uid"), found.get("type")

    def check_queries(self, dashboard, window="now-1h"):
        """Run each panel's queries through POST /api/ds/query; report errors and empty results."""
        problems = []
        values = self._variable_values(dashboard)
        for panel in lint.iter_panels(dashboard):
            if panel.get("type") == "row":
                continue
            queries = []
            for index, target in enumerate(panel.get("targets") or []):
                if not isinstance(target, dict) or target.get("hide"):
                    continue
                ref = target.get("datasource")
                if ref in (None, "", {}):
                    ref = panel.get("datasource")
                concrete = self._concrete(ref, values)
                if concrete is None:
                    continue
                query = copy.deepcopy(target)
                query["datasource"] = {"uid": concrete[0], "type": concrete[1]}
                query.setdefault("refId", chr(ord("A") + index) if index < 26 else "Q%d" % index)
                query.setdefault("intervalMs", 60000)
                query.setdefault("maxDataPoints", 500)
                for key in ("expr", "query", "expression"):
                    if isinstance(query.get(key), str):
                        query[key] = lint.substitute_variables(query[key], dashboard, values=values, keep_builtins=True)
                queries.append(query)
            if not queries:
                continue
            label = lint.panel_label(panel)
            try:
                body = self.client.query(queries, window, "now")
            except GrafanaError as exc:
                if exc.kind in FATAL_KINDS:
                    raise
                problems.append(lint.problem(label, "query-error", str(exc)))
                continue
            results = body.get("results") or {}
            for query in queries:
                ref_id = query["refId"]
                result = results.get(ref_id)
                expr = query.get("expr") or query.get("query") or query.get("expression") or ""
                what = "query %s%s" % (ref_id, (" (%s)" % lint.shorten(expr, 100)) if expr else "")
                if not isinstance(result, dict):
                    problems.append(lint.problem(label, "query-no-data", "%s: Grafana returned no result" % what))
                elif result.get("error"):
                    problems.append(lint.problem(label, "query-error", "%s failed: %s" % (what, result["error"])))
                elif not _has_data(result):
                    problems.append(lint.problem(label, "query-no-data", "%s returned no data over %s to now"
                                                 % (what, window)))
        return problems


def _has_data(result):
    for frame in result.get("frames") or []:
        if not isinstance(frame, dict):
            continue
        values = (frame.get("data") or {}).get("values") or []
        if any(isinstance(column, list) and column for column in values):
            return True
    return False


# --- the task --------------------------------------------------------------------------


class DashboardTask:
    """One run of the module: lint, import (or delete, or confirm only), confirm."""

    def __init__(self, params, client=None, check_mode=False, diff_mode=False):
        self.params = params
        self.client = client
        self.check_mode = check_mode
        self.diff_mode = diff_mode
        self.problems = []
        self.result = {"changed": False, "uid": None, "url": None, "version": None, "panels": None,
                       "rows": None, "problems": self.problems}
        self.confirmer = Confirmer(client) if client is not None else None
        self.notes = []
        self.grafana_major = None

    # -- helpers

    def _lint(self, dashboard, known=None):
        if not self.params.get("lint", True) and not self.params.get("lint_only"):
            return []
        known_uids = dict((str(u), None) for u in self.params.get("known_datasource_uids") or [])
        known_uids.update(known or {})
        found = lint.lint_dashboard(
            dashboard, known_datasource_uids=known_uids, metric_catalog=self.params.get("metric_catalog"),
            promtool=self.params.get("promtool_path"), logql_parser=self.params.get("logql_parser"),
        )
        self.problems.extend(found)
        if any(lint.is_error(p) for p in found):
            raise DashboardFailure(LINT_FAILED, "invalid dashboard %r: the lint found %d problem(s): %s"
                                   % (dashboard.get("uid"), len([p for p in found if lint.is_error(p)]), _summary(found)),
                                   **self.result)
        return found

    def _describe(self, dashboard, meta=None, version=None):
        panels, rows = lint.count_panels(dashboard)
        self.result.update(panels=panels, rows=rows)
        meta = meta or {}
        if version is None:
            version = meta.get("version", dashboard.get("version"))
        self.result["version"] = version
        if meta.get("url") and self.client is not None:
            self.result["url"] = self.client.absolute_url(meta["url"])

    def _confirm(self, dashboard):
        params = self.params
        self.problems.extend(self.confirmer.check_datasources(dashboard))
        self.problems.extend(Confirmer.check_counts(dashboard, params.get("expect_panels"), params.get("expect_rows")))
        if params.get("query_check"):
            self.problems.extend(self.confirmer.check_queries(dashboard, params.get("query_window") or "now-1h"))

    def _finish(self, what):
        warn_only = self.params.get("query_check_mode") == "warn"
        failing = [p for p in self.problems if lint.is_error(p) and not (warn_only and p["kind"] in QUERY_KINDS)]
        if failing:
            raise DashboardFailure(CONFIRM_FAILED, "dashboard %r %s, but did not confirm cleanly: %s"
                                   % (self.result.get("uid"), what, _summary(failing)), **self.result)
        return self.result

    def _desired(self):
        """The desired dashboard with Grafana's own rules applied (see apply_grafana_rules)."""
        dashboard = desired_dashboard(self.params)
        if dashboard is not None:
            self.notes.extend(apply_grafana_rules(dashboard, self.params.get("min_refresh_interval")
                                                  or DEFAULT_MIN_REFRESH))
            if self.notes:
                self.result["normalised"] = list(self.notes)
        return dashboard

    def _health(self):
        health = self.client.health()
        version = health.get("version")
        if version:
            self.result["grafana_version"] = version
            match = re.match(r"^v?(\d+)\.", str(version))
            self.grafana_major = int(match.group(1)) if match else None
        return health

    def _namespace(self):
        org_id = self.params.get("org_id")
        return "default" if org_id in (None, 1) else "org-%d" % org_id

    def _provisioned(self, uid, meta):
        """Whether Grafana provisions the dashboard from a file and refuses API writes to it.

        meta.provisioned alone is not enough: Grafana 12 and later read it from the search
        index (GetProvisionedDashboardDataByDashboardID through searchProvisionedDashboardsThroughK8s
        in pkg/services/dashboards/service/dashboard_service.go), which can still say false
        right after provisioning. The stored object's annotations do not lag, so from Grafana 12
        on they are read too (a file provider with allowUiUpdates sets managerAllowsEdits).
        """
        if meta.get("provisioned"):
            return True
        if self.grafana_major is not None and self.grafana_major < 12:
            return False
        resource = self.client.get_dashboard_resource(uid, self._namespace())
        annotations = ((resource or {}).get("metadata") or {}).get("annotations") or {}
        return (annotations.get(MANAGED_BY) == CLASSIC_FILE_PROVISIONING
                and str(annotations.get(MANAGER_ALLOWS_EDITS, "")).lower() != "true")

    def _uid(self, dashboard):
        uid = self.params.get("uid") or (dashboard or {}).get("uid")
        if not uid:
            raise DashboardFailure(BAD_PARAMETERS, "no dashboard uid: set uid, or a uid in the dashboard JSON "
                                                   "(the module identifies dashboards by uid only)", **self.result)
        self.result["uid"] = uid
        return uid

    # -- modes

    def run(self):
        params = self.params
        if params.get("lint_only"):
            return self.lint_only()
        if params.get("state") == "absent":
            return self.absent()
        if params.get("confirm_only"):
            return self.confirm_only()
        return self.present()

    def lint_only(self):
        dashboard = self._desired()
        if dashboard is None:
            raise DashboardFailure(BAD_PARAMETERS, "lint_only needs the dashboard (option dashboard or path)")
        self.result["uid"] = dashboard.get("uid")
        self._describe(dashboard, version=dashboard.get("version"))
        self._lint(dashboard)
        return self.result

    def absent(self):
        uid = self._uid(self._desired())
        self._health()
        stored = self.client.get_dashboard(uid)
        if stored is None:
            return self.result
        meta = stored["meta"]
        self._describe(stored["dashboard"], meta)
        if self._provisioned(uid, meta):
            raise GrafanaError(PROVISIONED, provisioned_message(uid, "delete"))
        self.result["changed"] = True
        if self.diff_mode:
            self.result["diff"] = {"before": {"folder_uid": _folder(meta.get("folderUid")),
                                              "dashboard": normalise(stored["dashboard"])},
                                   "after": {}}
        if not self.check_mode:
            self.client.delete_dashboard(uid)
        return self.result

    def confirm_only(self):
        """Confirm what Grafana serves; with wait_timeout, wait for its background provisioning.

        Grafana provisions dashboards, and since Grafana 12 datasources too, in the background
        after its HTTP server answers (ProvisioningServiceImpl in pkg/services/provisioning/
        provisioning.go), so right after a start a dashboard or a datasource can still be
        missing, or an older copy still served. Those failures are retried until the deadline.
        """
        params = self.params
        desired = self._desired()
        uid = self._uid(desired)
        timeout = max(0, int(params.get("wait_timeout") or 0))
        deadline = time.monotonic() + timeout
        attempt = 0
        while True:
            attempt += 1
            del self.problems[:]
            self.confirmer = Confirmer(self.client)
            try:
                self._confirm_once(desired, uid)
                return self._finish("is served by Grafana")
            except (DashboardFailure, GrafanaError) as exc:
                if not self._worth_waiting(exc) or time.monotonic() + WAIT_INTERVAL > deadline:
                    if timeout and attempt > 1:
                        exc.message = ("still failing after waiting %d s (wait_timeout) for Grafana's background "
                                       "provisioning, %d tries: %s" % (timeout, attempt, exc.message))
                    raise
            time.sleep(WAIT_INTERVAL)

    def _worth_waiting(self, exc):
        if isinstance(exc, GrafanaError):
            return exc.kind in (UNREACHABLE, TIMEOUT, SERVER_ERROR, BAD_RESPONSE)
        if exc.kind == PROVISIONED_MISSING:
            return True
        return exc.kind == CONFIRM_FAILED and all(p["kind"] in PROVISIONING_KINDS
                                                  for p in self.problems if lint.is_error(p))

    def _confirm_once(self, desired, uid):
        params = self.params
        self._health()
        stored = self.client.get_dashboard(uid)
        if stored is None:
            raise DashboardFailure(PROVISIONED_MISSING, (
                "Grafana has no dashboard with uid %r. Grafana only logs the dashboards it fails to provision, so "
                "look in its log (logger=provisioning.dashboard) for the cause, most likely one of: the file is not "
                "valid JSON; its uid clashes with another provisioned file or a dashboard already in the database; "
                "the provider's path does not point at the file, or the grafana user cannot read it (permissions); "
                "or Grafana has not provisioned it yet (it does so in the background after a start, and rescans "
                "every updateIntervalSeconds: set wait_timeout)." % uid), **self.result)
        dashboard, meta = stored["dashboard"], stored["meta"]
        self._describe(dashboard, meta)
        self.result["provisioned"] = bool(meta.get("provisioned")) or self._provisioned(uid, meta)
        self.result["folder_uid"] = _folder(meta.get("folderUid"))
        self._lint(desired if desired is not None else dashboard, self.confirmer.known_datasources())
        if desired is not None:
            diff = differences(normalise(dashboard), normalise(desired))
            self.result["differences"] = diff
            if diff:
                self.problems.append(lint.problem(None, "readback-mismatch", (
                    "the dashboard Grafana serves differs from the file at %s. Grafana rereads provisioning files every "
                    "updateIntervalSeconds; if it still differs, another provider or a database copy with the same uid "
                    "wins, or the new file failed to load (see Grafana's log)" % ", ".join(diff[:10]))))
        if params.get("folder_uid") is not None and _folder(params["folder_uid"]) != self.result["folder_uid"]:
            self.problems.append(lint.problem(None, "folder-mismatch", "the dashboard is in folder %r, not %r"
                                              % (self.result["folder_uid"], params["folder_uid"])))
        self._confirm(dashboard)
        warn_only = params.get("query_check_mode") == "warn"
        failing = [p for p in self.problems if lint.is_error(p) and not (warn_only and p["kind"] in QUERY_KINDS)]
        if failing:
            raise DashboardFailure(CONFIRM_FAILED, "dashboard %r is served by Grafana, but did not confirm cleanly: %s"
                                   % (uid, _summary(failing)), **self.result)

    def present(self):
        params = self.params
        desired = self._desired()
        if desired is None:
            raise DashboardFailure(BAD_PARAMETERS, "state=present needs the dashboard (option dashboard or path)")
        uid = self._uid(desired)
        self._health()
        self._lint(desired, self.confirmer.known_datasources())

        # The folder.
        folder_uid = params.get("folder_uid")
        if folder_uid not in (None, "", "general") and self.client.get_folder(folder_uid) is None:
            if not params.get("create_folder"):
                raise GrafanaError(FOLDER_NOT_FOUND, folder_missing_message(folder_uid))
            self.result["changed"] = True
            self.result["folder_created"] = True
            if not self.check_mode:
                self.client.create_folder(folder_uid, params.get("folder_title") or folder_uid)

        # Compare with what Grafana has.
        stored = self.client.get_dashboard(uid)
        meta = stored["meta"] if stored else {}
        before = normalise(stored["dashboard"]) if stored else None
        after = normalise(desired)
        stored_folder = _folder(meta.get("folderUid")) if stored else None
        wanted_folder = _folder(folder_uid) if folder_uid is not None else (stored_folder or "")
        diff = differences(before, after) if stored else ["(new dashboard)"]
        if stored and stored_folder != wanted_folder:
            diff.append("folder %r -> %r" % (stored_folder, wanted_folder))
        self.result["differences"] = diff
        self.result["folder_uid"] = wanted_folder
        self.result["provisioned"] = bool(meta.get("provisioned"))
        if stored and diff and not self.result["provisioned"]:
            self.result["provisioned"] = self._provisioned(uid, meta)
        if self.diff_mode:
            self.result["diff"] = {
                "before": {"folder_uid": stored_folder, "dashboard": before} if stored else {},
                "after": {"folder_uid": wanted_folder, "dashboard": after},
                "before_header": "grafana: %s" % uid, "after_header": "desired: %s" % uid,
            }

        if not diff:
            self._describe(stored["dashboard"], meta)
            self._confirm(stored["dashboard"])
            return self._finish("is up to date")

        if self.result["provisioned"]:
            raise GrafanaError(PROVISIONED, provisioned_message(uid, "save"))
        self.result["changed"] = True
        if self.check_mode:
            self._describe(desired, meta)
            self._confirm(desired)
            return self._finish("would be imported")

        sent = copy.deepcopy(desired)
        sent.pop("id", None)
        if params.get("overwrite", True):
            sent.pop("version", None)
        else:
            sent["version"] = meta.get("version", stored["dashboard"].get("version")) if stored else 0
        saved = self.client.save_dashboard(sent, folder_uid=wanted_folder, overwrite=params.get("overwrite", True),
                                           message=params.get("commit_message") or DEFAULT_MESSAGE)
        readback = self.client.get_dashboard(uid)
        if readback is None:
            self.problems.append(lint.problem(None, "readback-mismatch", (
                "Grafana accepted the dashboard (version %s) but GET /api/dashboards/uid/%s then found nothing"
                % (saved.get("version"), uid))))
            self.result["version"] = saved.get("version")
            self.result["url"] = self.client.absolute_url(saved.get("url"))
            return self._finish("was imported")
        self._describe(readback["dashboard"], readback["meta"])
        if not self.result.get("url"):
            self.result["url"] = self.client.absolute_url(saved.get("url"))
        mismatch = differences(normalise(readback["dashboard"]), after)
        if mismatch:
            self.problems.append(lint.problem(None, "readback-mismatch", (
                "the dashboard read back from Grafana differs from the one sent at %s" % ", ".join(mismatch[:10]))))
        if _folder(readback["meta"].get("folderUid")) != wanted_folder and "folderUid" in readback["meta"]:
            self.problems.append(lint.problem(None, "readback-mismatch", "the dashboard landed in folder %r, not %r"
                                              % (readback["meta"].get("folderUid"), wanted_folder)))
        self._confirm(readback["dashboard"])
        return self._finish("was imported")


def run(params, client=None, check_mode=False, diff_mode=False):
    """Run the task: return the result dict, or raise DashboardFailure.

    A GrafanaError becomes a DashboardFailure of the same kind, carrying the HTTP status and
    what the task had found so far.
    """
    task = DashboardTask(params, client, check_mode, diff_mode)
    try:
        return task.run()
    except GrafanaError as exc:
        result = dict(task.result)
        result.pop("status", None)
        raise DashboardFailure(exc.kind, exc.message, status=exc.status, **result) from None
