"""The real Loki and Grafana releases, installed by the roles, running and wired together.

Needs internet access (see molecule.yml); not run by tests/harness.sh.
"""

import json
import os
import stat
import time
import urllib.parse
import uuid

ADMIN = "admin:molecule-only-password"


def _json(host, cmd):
    return json.loads(host.check_output(cmd))


def _retry(fn, timeout=60):
    deadline = time.time() + timeout
    while True:
        try:
            return fn()
        except AssertionError:
            if time.time() > deadline:
                raise
            time.sleep(2)


def test_releases_installed_from_archives(host):
    for binary, prefix in [("/usr/local/bin/loki", "/opt/telemetry.claude_code/loki-"),
                           ("/usr/local/bin/grafana", "/opt/telemetry.claude_code/grafana-")]:
        link = host.file(binary)
        assert link.is_symlink and link.linked_to.startswith(prefix), binary
    print("\n" + host.check_output("loki -version | head -n1"))
    print(host.check_output("grafana --version"))


def test_services_running_and_units_clean(host):
    for name in ("loki", "grafana"):
        service = host.service(name)
        assert service.is_running and service.is_enabled, name
        out = host.run(f"systemd-analyze verify --man=no /etc/systemd/system/{name}.service")
        assert out.rc == 0 and not (out.stdout + out.stderr).strip(), out.stdout + out.stderr
        sec = host.check_output(f"systemd-analyze security --no-pager {name}.service | tail -n1")
        score = float(sec.split(f"exposure level for {name}.service:")[1].split()[0])
        print(f"\n{name}.service exposure {score}")
        assert score <= 2.5


def test_loki_accepts_its_configuration(host):
    out = host.run("loki -verify-config -config.file=/etc/loki/loki.yml")
    assert out.rc == 0, out.stdout + out.stderr


def test_loki_ready_and_ruler_up(host):
    assert host.check_output("curl -fsS http://127.0.0.1:3100/ready").strip() == "ready"
    host.check_output("curl -fsS http://127.0.0.1:3100/loki/api/v1/rules")


def test_claude_code_event_over_otlp(host):
    session = str(uuid.uuid4())
    now = time.time_ns()
    record = {
        "resourceLogs": [{
            "resource": {"attributes": [
                {"key": "service.name", "value": {"stringValue": "claude-code"}},
                {"key": "service.version", "value": {"stringValue": "2.1.197"}},
            ]},
            "scopeLogs": [{
                "scope": {"name": "com.anthropic.claude_code.events"},
                "logRecords": [{
                    "timeUnixNano": str(now),
                    "body": {"stringValue": "claude_code.api_request"},
                    "attributes": [
                        {"key": "event.name", "value": {"stringValue": "api_request"}},
                        {"key": "session.id", "value": {"stringValue": session}},
                        {"key": "model", "value": {"stringValue": "claude-sonnet-4"}},
                        {"key": "cost_usd", "value": {"doubleValue": 0.0123}},
                        {"key": "prompt", "value": {"stringValue": "x" * 80_000}},
                    ],
                }],
            }],
        }]
    }
    payload = json.dumps(record).replace("'", "'\\''")
    host.check_output(
        "curl -fsS -X POST -H 'Content-Type: application/json' "
        f"--data-binary '{payload}' http://127.0.0.1:3100/otlp/v1/logs"
    )
    query = f'{{service_name="claude-code"}} | event_name="api_request" | session_id="{session}"'
    url = ("http://127.0.0.1:3100/loki/api/v1/query_range?limit=10&start="
           f"{now - 60 * 10**9}&end={now + 60 * 10**9}&query={urllib.parse.quote(query)}")

    def found():
        result = _json(host, f"curl -fsS '{url}'")["data"]["result"]
        assert result, "event not found yet"
        return result

    [stream] = _retry(found)
    labels = stream["stream"]
    assert labels["service_name"] == "claude-code"
    assert labels["model"] == "claude-sonnet-4"
    assert len(labels["prompt"]) == 80_000, "an 80 kB attribute (above Loki's 64KB default) must fit"
    # Only the resource's service.name is a stream label; the event attributes are structured metadata.
    index_labels = _json(host, "curl -fsS http://127.0.0.1:3100/loki/api/v1/labels")["data"]
    assert "service_name" in index_labels
    assert not {"session_id", "event_name", "model", "prompt"} & set(index_labels), index_labels
    print(f"\nLoki index labels: {index_labels}; event read back with structured metadata {sorted(labels)}")


def test_grafana_healthy_and_private(host):
    health = _json(host, "curl -fsS http://127.0.0.1:3000/api/health")
    assert health["database"] == "ok"
    anonymous = host.run("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:3000/api/search")
    assert anonymous.stdout == "401"


def test_grafana_datasources(host):
    for uid, kind in [("prometheus", "prometheus"), ("loki", "loki")]:
        ds = _json(host, f"curl -fsS -u {ADMIN} http://127.0.0.1:3000/api/datasources/uid/{uid}")
        assert ds["type"] == kind and ds["readOnly"] is True
    loki = _json(host, f"curl -fsS -u {ADMIN} http://127.0.0.1:3000/api/datasources/uid/loki/health")
    assert loki["status"] == "OK", loki


def test_grafana_dashboard_in_folder(host):
    folder = _json(host, f"curl -fsS -u {ADMIN} http://127.0.0.1:3000/api/folders/claude-code")
    assert folder["title"] == "Claude Code"
    found = _json(host, f"curl -fsS -u {ADMIN} 'http://127.0.0.1:3000/api/search?folderUIDs=claude-code&type=dash-db'")
    assert "tcc-molecule" in {d["uid"] for d in found}
    dash = _json(host, f"curl -fsS -u {ADMIN} http://127.0.0.1:3000/api/dashboards/uid/tcc-molecule")
    assert dash["meta"]["provisioned"] is True
    assert dash["dashboard"]["panels"][0]["targets"][0]["legendFormat"] == "{{model}}"


def test_automation_token(host):
    path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], f"grafana-{host.backend.get_hostname()}.token")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path, encoding="utf-8") as handle:
        token = handle.read().strip()
    org = _json(host, f"curl -fsS -H 'Authorization: Bearer {token}' http://127.0.0.1:3000/api/org")
    assert org["id"] == 1
    accounts = _json(host, f"curl -fsS -u {ADMIN} 'http://127.0.0.1:3000/api/serviceaccounts/search?query=telemetry-automation'")
    [account] = [a for a in accounts["serviceAccounts"] if a["name"] == "telemetry-automation"]
    assert account["role"] == "Admin" and account["tokens"] == 1


# --- issue 15: what the unit tests' test double claims, checked against the real release -----

def _double_row(host):
    """The row of GRAFANA_LINES (tests/unit/plugins/grafana_api_test_double.py) for this release."""
    import sys  # pylint: disable=import-outside-toplevel
    sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "tests", "unit", "plugins"))
    from grafana_api_test_double import GRAFANA_LINES  # pylint: disable=import-outside-toplevel,import-error
    version = _json(host, "curl -fsS http://127.0.0.1:3000/api/health")["version"]
    line = version.split(".")[0] + ".x"
    assert line in GRAFANA_LINES, f"Grafana {version}: the test double has no row for the {line} line"
    return line, GRAFANA_LINES[line]


def _post(host, body):
    """(status, JSON body) of POST /api/dashboards/db as the admin."""
    payload = json.dumps(body).replace("'", "'\\''")
    out = host.check_output(
        f"curl -sS -u {ADMIN} -H 'Content-Type: application/json' -o /tmp/tcc-answer.json -w '%{{http_code}}' "
        f"-X POST --data-binary '{payload}' http://127.0.0.1:3000/api/dashboards/db")
    return int(out), json.loads(host.file("/tmp/tcc-answer.json").content_string or "{}")


def test_cost_anomaly_panel_as_grafana_serves_it(host):
    """Item 3: thresholdsStyle under custom (so the lines are drawn), the suffix unit without a second space."""
    dash = _json(host, f"curl -fsS -u {ADMIN} http://127.0.0.1:3000/api/dashboards/uid/claude-code")["dashboard"]
    panels = [p for p in dash["panels"] if p["type"] != "row"] + [
        c for p in dash["panels"] if p["type"] == "row" for c in p.get("panels", [])]
    [anomaly] = [p for p in panels if p["title"] == "Cost Anomaly Detection"]
    defaults = anomaly["fieldConfig"]["defaults"]
    assert defaults["custom"]["thresholdsStyle"] == {"mode": "line"} and "thresholdsStyle" not in defaults
    assert [s["value"] for s in defaults["thresholds"]["steps"]] == [None, 150, 200]
    [efficiency] = [p for p in panels if p["title"] == "Model Token Efficiency"]
    assert efficiency["fieldConfig"]["defaults"]["unit"] == "suffix:tokens/$"


def test_error_answers_match_the_double(host):
    """Item 4: folder not found, version conflict and titles as the double's row for this line says."""
    line, row = _double_row(host)
    base = {"title": "TCC issue 15 probe", "uid": "tcc-probe-a", "panels": [], "schemaVersion": 39}
    status, body = _post(host, {"dashboard": base, "folderUid": "tcc-no-such-folder", "overwrite": True})
    assert (status, body.get("message")) == (400, "folder not found"), (line, status, body)
    status, body = _post(host, {"dashboard": base, "overwrite": True})
    assert status == 200 and body["version"] == 1, body
    # A second dashboard with the same title in the same folder: no name-exists since 11.3.
    status, body = _post(host, {"dashboard": dict(base, uid="tcc-probe-b"), "overwrite": False})
    assert status == 200, (line, status, body)
    # A stale version without overwrite: the row's status, and its body's status word when it has one.
    status, body = _post(host, {"dashboard": dict(base, version=0, title="Stale"), "overwrite": False})
    expected_status, expected_body = row["version_conflict"]
    assert status == expected_status, (line, status, body)
    if "status" in expected_body:
        assert body.get("status") == expected_body["status"], (line, body)
    for uid in ("tcc-probe-a", "tcc-probe-b"):
        host.check_output(f"curl -fsS -u {ADMIN} -X DELETE http://127.0.0.1:3000/api/dashboards/uid/{uid}")


def test_provisioned_dashboard_annotations_match_the_double(host):
    """Item 6: from 12.x the stored object says classic-file-provisioning, whatever meta.provisioned says."""
    line, row = _double_row(host)
    url = "http://127.0.0.1:3000/apis/dashboard.grafana.app/v1beta1/namespaces/default/dashboards/tcc-molecule"
    if not row["resource_api"]:
        status = host.check_output(f"curl -s -o /dev/null -w '%{{http_code}}' -u {ADMIN} {url}")
        print(f"\nGrafana {line}: the double models no v1beta1 dashboard resource; {url} answered {status}")
        return
    resource = _json(host, f"curl -fsS -u {ADMIN} {url}")
    assert resource["metadata"]["annotations"]["grafana.app/managedBy"] == "classic-file-provisioning", resource


def test_title_and_refresh_rules_of_grafana(host):
    """Item 5: Grafana trims the title and raises a refresh below min_refresh_interval (5s by default)."""
    status, body = _post(host, {"dashboard": {"uid": "tcc-probe-c", "title": "  Spaced  ", "refresh": "1s",
                                              "panels": [], "schemaVersion": 39}, "overwrite": True})
    assert status == 200, body
    dash = _json(host, f"curl -fsS -u {ADMIN} http://127.0.0.1:3000/api/dashboards/uid/tcc-probe-c")["dashboard"]
    assert dash["title"] == "Spaced" and dash["refresh"] == "5s", dash
    host.check_output(f"curl -fsS -u {ADMIN} -X DELETE http://127.0.0.1:3000/api/dashboards/uid/tcc-probe-c")
