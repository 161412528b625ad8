# -*- coding: utf-8 -*-
# Copyright: contributors to the telemetry.claude_code collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dashboards' queries, for playbooks/doctor.yml: does each panel show data?

Two steps, one per side:

``list MODULE_UTILS_DIR`` (on the controller): reads the dashboards (a JSON list of
dashboard objects, as Grafana serves them: the files the grafana role provisioned) from
stdin, and prints every Prometheus and Loki query of every panel as JSON, with Grafana's
variables substituted by the collection's own ``dashboard_lint.substitute_variables``: the
dashboard's variables by their current values, ``$__range`` by the dashboard's time range
(``now-24h``: 24h), ``$__interval`` and ``$__rate_interval`` the way Grafana derives them for a
panel about 1000 points wide and a 15 s scrape interval.

``run PROMETHEUS_URL LOKI_URL`` (on the Grafana host, at the URLs its data sources read, with the
HTTP headers they send, from the environment variable ``TCC_DOCTOR_HEADERS`` as
``{"prometheus": {NAME: VALUE}, "loki": {...}}``, never the command line; standard library only):
reads that list from stdin, runs each query the way the panel does (an instant query at now, or
a range query over the dashboard's time range) and prints a summary: per dashboard how many
queries returned data, and for each one that did not, the error or the series it reads that
Prometheus does not have in the time range, with what that means and how to fix it (``HINTS``). An empty LOKI_URL skips the Loki queries.

What is a problem and what is only a note: a query that fails, a component's own series that
are missing (the component does not run or is not scraped), and no Claude Code data at all are
problems; one kind of Claude Code series missing while others are there (nothing of that kind
happened in the time range: no pull request, no rejected edit) is a note.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import json
import os
import re
import sys
import time

from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

SCRAPE_INTERVAL_S = 15
MAX_POINTS = 1000
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
TIMEOUT = 30


def seconds(duration):
    """Seconds of a Grafana relative time or duration such as ``now-24h`` or ``7d``."""
    match = re.match(r"^(?:now-)?(\d+)([smhdwy])$", str(duration).strip())
    if not match:
        return None
    return int(match.group(1)) * UNITS[match.group(2)]


def duration(secs):
    """The shortest duration text for a number of seconds (``86400`` gives ``1d``)."""
    for unit in ("y", "w", "d", "h", "m"):
        if secs % UNITS[unit] == 0:
            return "%d%s" % (secs // UNITS[unit], unit)
    return "%ds" % secs


def panel_values(range_s):
    """Grafana's global variables for a panel over range_s seconds."""
    step = max(SCRAPE_INTERVAL_S, range_s // MAX_POINTS // SCRAPE_INTERVAL_S * SCRAPE_INTERVAL_S)
    rate = max(step + SCRAPE_INTERVAL_S, 4 * SCRAPE_INTERVAL_S)
    return step, {
        "__range": duration(range_s), "__range_s": str(range_s), "__range_ms": str(range_s * 1000),
        "__interval": duration(step), "__interval_ms": str(step * 1000),
        "__rate_interval": duration(rate), "__rate_interval_ms": str(rate * 1000),
    }


def list_queries(dashboards, lint):
    """Every Prometheus and Loki query of the dashboards, ready to run."""
    out = []
    for dash in dashboards:
        dash = lint.load_dashboard(dash)
        time_range = dash.get("time") or {}
        range_s = seconds(time_range.get("from", "now-6h")) or 6 * 3600
        step, values = panel_values(range_s)
        for item in lint.iter_targets(dash, {"prometheus": "prometheus", "loki": "loki"}):
            target, panel = item["target"], item["panel"]
            if item["type"] not in ("prometheus", "loki") or not item["expr"] or target.get("hide"):
                continue
            expr = lint.substitute_variables(item["expr"], dash, values=values)
            if item["type"] == "prometheus":
                instant = bool(target.get("instant")) and not target.get("range")
            else:
                instant = target.get("queryType") == "instant"
            out.append({
                "dashboard": dash.get("title") or dash.get("uid"),
                "panel": lint.panel_label(panel),
                "ref": target.get("refId") or "",
                "type": item["type"],
                "instant": instant,
                "range_s": range_s,
                "step": step,
                "expr": expr,
                "metrics": lint.metric_names(expr) if item["type"] == "prometheus" else [],
            })
    return out


# HTTP headers per base URL, the ones Grafana's data source sends (a tenant, a token): set by main().
HEADERS = {}


def _get(url, params):
    headers = next((h for base, h in HEADERS.items() if base and url.startswith(base + "/")), {})
    request = Request(url + "?" + urlencode(params), headers=headers)
    with urlopen(request, timeout=TIMEOUT) as response:  # nosec: the stack's own API
        return json.loads(response.read().decode("utf-8"))


def run_query(query, prometheus, loki, now=None):
    """{..., ok, error}: ok True when the query returned data."""
    now = int(now or time.time())
    result = dict(query)
    base = prometheus if query["type"] == "prometheus" else loki
    api = "/api/v1" if query["type"] == "prometheus" else "/loki/api/v1"
    if query["instant"]:
        url, params = base + api + "/query", {"query": query["expr"], "time": now}
    else:
        url = base + api + "/query_range"
        params = {"query": query["expr"], "start": now - query["range_s"], "end": now, "step": query["step"]}
        if query["type"] == "loki":
            params["limit"] = 1
    try:
        body = _get(url, params)
    except HTTPError as exc:
        try:
            detail = json.loads(exc.read().decode("utf-8")).get("error")
        except ValueError:
            detail = None
        result.update(ok=False, error="HTTP %s: %s" % (exc.code, detail or exc.reason))
        return result
    except (URLError, OSError, ValueError) as exc:
        result.update(ok=False, error=str(getattr(exc, "reason", exc)))
        return result
    data = body.get("data") or {}
    if body.get("status") != "success":
        result.update(ok=False, error=body.get("error") or "status %s" % body.get("status"))
    elif data.get("resultType") == "scalar":
        result.update(ok=True, error=None)
    else:
        result.update(ok=bool(data.get("result")), error=None)
    return result


# Series families and what their absence means: (name pattern, component, what is wrong, fix).
# The first pattern that matches a missing series names the cause.
HINTS = (
    (r"^claude_code", "claude_code",
     "no Claude Code data reached Prometheus in the time range",
     "Claude Code on developers' machines must send to the collector (the developers group: managed settings by the "
     "claude_code_client role, checked above) and the collector must push to Prometheus (the collector's checks "
     "above). The recording rules (claude_code:*) follow within a minute of the first data."),
    (r"^otelcol_exporter_(sent|send_failed)_log_records", "collector",
     "the collector has sent no events to Loki",
     "See the collector's Loki export above: Loki must run and answer at otel_collector_loki_endpoint."),
    (r"^otelcol_exporter_send_failed_", "collector", None, None),  # absent until something fails: fine
    (r"^otelcol_", "collector",
     "Prometheus has none of the collector's own telemetry",
     "Prometheus scrapes it from otel_collector_telemetry_listen_address (prometheus_otel_collector_internal_targets): "
     "check the otel-collector target above."),
    (r"^loki_", "loki",
     "Prometheus has none of Loki's own metrics",
     "Loki must run, and Prometheus scrape it (the loki target above)."),
    (r"^grafana_", "grafana",
     "Prometheus has none of Grafana's own metrics",
     "Grafana must run, and Prometheus scrape it (the grafana target above)."),
    (r"^alertmanager_", "alertmanager",
     "Prometheus has none of Alertmanager's own metrics",
     "Alertmanager must run, and Prometheus scrape it (the alertmanager target above)."),
    (r"^prometheus_", "prometheus",
     "Prometheus has none of its own metrics",
     "Prometheus scrapes itself (the prometheus target above)."),
)
RATE_NOTE = ("A rate() over series with fewer than two samples in its window shows nothing: sessions shorter than the "
             "clients' metric export interval (OTEL_METRIC_EXPORT_INTERVAL; claude_code_client_metric_export_interval, "
             "60 s) count in the totals, not in the per-minute graphs.")


def hint_for(metric):
    """(key, component, what, fix) of a missing series; what is None when its absence is normal."""
    for pattern, component, what, fix in HINTS:
        if re.search(pattern, metric):
            return pattern, component, what, fix
    return metric, "prometheus", "Prometheus has no series %s" % metric, \
        "Find out which component exports it and whether Prometheus receives it."


# Labels that only opt-ins put on Claude Code's series, which a query requires (`label!=""`):
# what their absence means, and the settings that bring them.
LABEL_HINTS = {
    "vcs_repository_name": (
        "no Claude Code series carries the repository (vcs_repository_name)",
        "The repository is sent and kept only on opt-in, on both sides: claude_code_client_metrics_include_repository: "
        "true (Claude Code 2.1.332 or later) and otel_collector_keep_repository: true. Nothing is wrong if you keep "
        "repositories out of Prometheus."),
    "project": (
        "no Claude Code series carries a project",
        "Map repositories to projects with otel_collector_repository_projects (with the client's repository opt-in, "
        "claude_code_client_metrics_include_repository), or set project=... in OTEL_RESOURCE_ATTRIBUTES of each "
        "project's .claude/settings.json (docs/teams.md)."),
}


def present(metric, prometheus, range_s, now, label=None):
    """Whether Prometheus has samples of the metric (with a non-empty `label`) in the range (None when it cannot tell)."""
    selector = "__name__=%s" % json.dumps(metric) + (', %s!=""' % label if label else "")
    try:
        body = _get(prometheus + "/api/v1/query", {
            "query": "count(last_over_time({%s}[%ds]))" % (selector, range_s), "time": now})
    except (HTTPError, URLError, OSError, ValueError):
        return None
    return bool((body.get("data") or {}).get("result"))


def _human(secs):
    return "%d days" % (secs // 86400) if secs % 86400 == 0 and secs > 86400 else duration(secs)


def summarise(results, prometheus, now):
    """Per dashboard counts, and the panels without data grouped by cause: problems and notes."""
    dashboards = {}
    known = {}
    causes = {}  # key -> {severity, what, fix, panels}

    def cause(key, severity, what, fix, panel):
        entry = causes.setdefault(key, {"severity": severity, "what": what, "fix": fix, "panels": []})
        if panel not in entry["panels"]:
            entry["panels"].append(panel)

    def is_present(metric, range_s, label=None):
        key = (metric, range_s, label)
        if key not in known:
            known[key] = present(metric, prometheus, range_s, now, label=label)
        return known[key]

    # Claude Code's own series (not the recording rules' sums, which are 0 rather than absent).
    claude_any = any(is_present(m, r["range_s"]) for r in results for m in r.get("metrics") or []
                     if m.startswith("claude_code_"))
    loki_any = any(r["ok"] for r in results if r["type"] == "loki")
    for res in results:
        stats = dashboards.setdefault(res["dashboard"], {"total": 0, "ok": 0})
        stats["total"] += 1
        if res["ok"]:
            stats["ok"] += 1
            continue
        panel = "%s / %s" % (res["dashboard"], res["panel"])
        if res.get("error"):
            cause(("error", res["expr"]), "problem", "the query fails: %s" % res["error"],
                  "The query does not suit this Prometheus or Loki: %s" % res["expr"][:300], panel)
            continue
        if res["type"] == "loki":
            if loki_any:
                cause("loki-kind", "note", "no such Claude Code events in Loki in the dashboard's time range",
                      "Nothing to fix: the panels fill when such events happen.", panel)
            else:
                cause("loki-none", "problem", "no Claude Code events in Loki in the dashboard's time range",
                      "See the collector's Loki export above, and Loki's checks.", panel)
            continue
        absent = [m for m in res.get("metrics") or [] if is_present(m, res["range_s"]) is False]
        hints = [hint_for(m) for m in absent]
        hints = [h for h in hints if h[2]]
        stack = [h for h in hints if h[1] != "claude_code"]
        if stack:
            for key, _component, what, fix in stack:
                cause(key, "problem", what, fix, panel)
        elif hints and not claude_any:
            key, _component, what, fix = hints[0]
            cause(key, "problem", what, fix, panel)
        elif hints:
            cause("claude-kind", "note",
                  "nothing of that kind happened in the dashboard's time range (%s)" % ", ".join(sorted(
                      set(m for m in absent if m.startswith("claude_code")))),
                  "Nothing to fix: the panels fill when it happens.", panel)
        else:
            # The series are there, but perhaps none with a label that only an opt-in brings.
            unlabelled = [label for label in LABEL_HINTS if re.search(r'\b%s!=""' % label, res.get("expr") or "")
                          and all(is_present(m, res["range_s"], label) is False for m in res.get("metrics") or [])]
            for label in unlabelled:
                cause(("label", label), "note", LABEL_HINTS[label][0], LABEL_HINTS[label][1], panel)
            if not unlabelled:
                cause("rate", "note", "No data although their series are there", RATE_NOTE, panel)
    out = {"dashboards": dashboards, "queries": len(results), "with_data": sum(1 for r in results if r["ok"]),
           "counts": [{"what": "%s: %d of %d queries return data" % (name, stats["ok"], stats["total"]), "fix": ""}
                      for name, stats in sorted(dashboards.items())],
           "problems": [], "notes": []}
    for entry in causes.values():
        out["problems" if entry["severity"] == "problem" else "notes"].append(
            {"what": "%s: %d panel%s: %s" % (entry["what"], len(entry["panels"]), "" if len(entry["panels"]) == 1 else "s",
                                             "; ".join(entry["panels"])),
             "fix": entry["fix"]})
    return out


def main(argv):
    if len(argv) == 2 and argv[0] == "list":
        sys.path.insert(0, argv[1])
        import dashboard_lint  # pylint: disable=import-error,import-outside-toplevel
        json.dump(list_queries(json.load(sys.stdin), dashboard_lint), sys.stdout)
        return 0
    if len(argv) == 3 and argv[0] == "run":
        prometheus, loki = argv[1].rstrip("/"), argv[2].rstrip("/")
        headers = json.loads(os.environ.get("TCC_DOCTOR_HEADERS") or "{}")
        HEADERS.update({prometheus: headers.get("prometheus") or {}, loki: headers.get("loki") or {}})
        queries = [q for q in json.load(sys.stdin) if q["type"] == "prometheus" or loki]
        now = int(time.time())
        results = [run_query(q, prometheus, loki, now) for q in queries]
        json.dump(summarise(results, prometheus, now), sys.stdout)
        return 0
    sys.stderr.write("usage: doctor_queries.py list MODULE_UTILS_DIR | run PROMETHEUS_URL LOKI_URL\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
