"""Alertmanager is really running, ready and configured on every host of the scenario.

Debian 14 runs Alertmanager 0.33 (the line alertmanager_version pins), Debian 13 0.28, Debian 12
0.25, all from the distribution package.
"""

import json
import pathlib
import re
import sys
import time
import uuid

import yaml
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))
import tcc_checks  # noqa: E402  pylint: disable=wrong-import-position,import-error
import tcc_starts  # noqa: E402  pylint: disable=wrong-import-position,import-error

ROLE = pathlib.Path(__file__).resolve().parents[3] / "roles" / "alertmanager"
URL = "http://127.0.0.1:9093"
CONFIG = "/etc/alertmanager/alertmanager.yml"
# Debian 13 listens on every interface (for the firewall rules, molecule.yml), Debian 14 and 12
# on the default loopback address.
LISTEN = {"tcc-alertmanager-forky": "127.0.0.1:9093", "tcc-alertmanager-trixie": "0.0.0.0:9093",
          "tcc-alertmanager-bookworm": "127.0.0.1:9093"}
# The Alertmanager line of each release's package.
LINE = {"forky": (0, 33), "trixie": (0, 28), "bookworm": (0, 25)}
# The target of the collection's hardened unit (issue 14: at most 1.5 for every unit).
EXPOSURE_LIMIT = tcc_checks.EXPOSURE_LIMIT


def _release(host):
    return host.backend.get_hostname().rsplit("-", 1)[1]


def _version(host):
    version = _get(host, "/api/v2/status")["versionInfo"]["version"]
    return tuple(int(x) for x in re.match(r"(\d+)\.(\d+)\.(\d+)", version).groups())


def _get(host, path):
    return json.loads(host.check_output("curl -fsS %s", URL + path))


def test_service_active_and_enabled(host):
    service = host.service("alertmanager")
    assert service.is_running
    assert service.is_enabled


def test_package_unit_is_masked_and_stopped(host):
    # The package's own prometheus-alertmanager.service would listen on every interface
    # with clustering on; the role's alertmanager.service replaces it.
    state = host.run("systemctl is-enabled prometheus-alertmanager.service")
    assert state.stdout.strip() == "masked", state.stdout + state.stderr
    assert not host.service("prometheus-alertmanager").is_running


def test_ready_endpoint_answers(host):
    out = host.check_output("curl -fsS %s", URL + "/-/ready")
    assert out.strip() == "OK"


def test_deployed_config_passes_amtool(host):
    cmd = host.run("amtool check-config %s", CONFIG)
    print(cmd.stdout)
    assert cmd.rc == 0, cmd.stdout + cmd.stderr
    assert " - 1 templates" in cmd.stdout  # the one glob of the templates directory


def test_templates_are_deployed_and_usable(host):
    names = sorted(host.file("/etc/alertmanager/templates").listdir())
    assert names == ["tcc-text.tmpl", "tcc-title.tmpl"]
    # The inline template reached the host untouched by Ansible's templating, and renders.
    out = host.check_output(
        "amtool template render --template.glob=%s --template.text=%s",
        "/etc/alertmanager/templates/*.tmpl", '{{ template "tcc.title" . }}',
    )
    assert out.startswith("["), out


def test_deployed_files_are_private(host):
    config = host.file(CONFIG)
    assert config.user == "root"
    assert config.group == "alertmanager"
    assert config.mode == 0o640
    data = host.file("/var/lib/alertmanager")
    assert data.user == "alertmanager"
    assert data.mode == 0o750


def test_running_config_routes_by_severity(host):
    status = _get(host, "/api/v2/status")
    config = yaml.safe_load(status["config"]["original"])
    assert [r["name"] for r in config["receivers"]] == ["null", "critical", "warning"]
    assert config["route"]["receiver"] == "null"
    # amtool walks the deployed routing tree, as Alertmanager does.
    for labels, receiver in (("severity=critical", "critical"), ("severity=warning", "warning"),
                             ("severity=info", "null"), ("alertname=ClaudeCodeDailyCostHigh severity=warning", "warning")):
        words = labels.split()
        cmd = host.run("amtool config routes test --config.file=%s" + " %s" * len(words), CONFIG, *words)
        assert cmd.rc == 0 and cmd.stdout.strip() == receiver, (labels, cmd.stdout, cmd.stderr)
    assert config["route"]["group_by"] == ["alertname", "severity"]
    assert config["inhibit_rules"][0]["source_matchers"] == ['severity="critical"']
    assert config["templates"] == ["/etc/alertmanager/templates/*.tmpl"]


def test_clustering_is_off(host):
    status = _get(host, "/api/v2/status")
    assert status["cluster"]["status"] == "disabled"
    listening = host.check_output("ss -Hltn")
    if LISTEN[host.backend.get_hostname()].startswith("127.0.0.1:"):
        assert "127.0.0.1:9093" in listening
    else:
        assert any(a in listening for a in ("0.0.0.0:9093", "*:9093", "[::]:9093")), listening
    assert ":9094" not in host.check_output("ss -Hltnu")


def test_runs_with_the_role_flags(host):
    exec_start = host.check_output("systemctl show -p ExecStart --value alertmanager")
    for flag in (
        "--config.file=/etc/alertmanager/alertmanager.yml",
        "--storage.path=/var/lib/alertmanager",
        "--data.retention=72h",
        "--web.listen-address=" + LISTEN[host.backend.get_hostname()],
        "--cluster.listen-address= ",
    ):
        assert flag in exec_start, exec_start
    assert "/usr/bin/prometheus-alertmanager" in exec_start


def test_accepts_and_lists_a_test_alert(host):
    name = "TccVerify" + uuid.uuid4().hex[:8]
    alert = [{
        "labels": {"alertname": name, "severity": "warning", "instance": host.backend.get_hostname()},
        "annotations": {"summary": "molecule verify test alert"},
    }]
    code = host.check_output(
        "curl -sS -o /dev/null -w '%%{http_code}' -X POST -H 'Content-Type: application/json' --data %s %s",
        json.dumps(alert), URL + "/api/v2/alerts",
    )
    assert code == "200"
    for _attempt in range(10):
        listed = _get(host, "/api/v2/alerts?filter=alertname%3D%22" + name + "%22")
        if listed:
            break
        time.sleep(0.5)
    assert len(listed) == 1, listed
    assert listed[0]["status"]["state"] == "active"
    assert [r["name"] for r in listed[0]["receivers"]] == ["warning"]  # routed by its severity


def test_unit_is_hardened(host):
    score = tcc_checks.exposure(host, "alertmanager.service")
    assert score <= EXPOSURE_LIMIT, f"alertmanager.service: exposure {score} > {EXPOSURE_LIMIT}"
    # Clustering is off: no netlink socket is allowed, and none is needed (below).
    assert "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX\n" in host.file("/etc/systemd/system/alertmanager.service").content_string


def test_no_socket_family_refused(host):
    refused = tcc_starts.journal_matches(host, "alertmanager", "netlink|address family not supported")
    assert not refused, refused


def test_runs_the_line_of_its_release(host):
    version = _version(host)
    print(f"\n{host.backend.get_hostname()}: Alertmanager {'.'.join(map(str, version))}")
    assert version[:2] == LINE[_release(host)]


def test_the_pinned_line_is_the_one_tested():
    """alertmanager_version (what `archive` installs by default) is on the line Debian 14 runs here."""
    pinned = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())["alertmanager_version"]
    assert tuple(int(x) for x in pinned.split(".")[:2]) == LINE["forky"], pinned


def test_started_exactly_once(host):
    """A first install starts Alertmanager once, and the package's own unit never: its maintainer
    scripts are kept from starting it (policy-rc.d) and the role masks it."""
    tcc_starts.assert_started_once(host, "alertmanager.service")
    assert tcc_starts.starts(host, "prometheus-alertmanager.service") == []
