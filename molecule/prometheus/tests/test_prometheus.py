"""Prometheus is really running, ready and configured on every host of the scenario.

Debian 14 runs Prometheus 3.5 (archive), Debian 13 2.53 (binary), Debian 12 2.42 (package):
see molecule.yml. What differs between the versions is checked against each one's behaviour.
"""

import datetime
import json
import pathlib
import re
import sys
import time

import yaml
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))
import tcc_checks  # noqa: E402  pylint: disable=wrong-import-position,import-error
import tcc_starts  # noqa: E402  pylint: disable=wrong-import-position,import-error

ROLE = pathlib.Path(__file__).resolve().parents[3] / "roles" / "prometheus"
# The Prometheus line each host runs, and how it was installed (molecule.yml).
LINE = {"forky": (3, 5), "trixie": (2, 53), "bookworm": (2, 42)}
METHOD = {"forky": "archive", "trixie": "binary", "bookworm": "package"}
# The target of the collection's hardened unit (issue 14: at most 1.5 for every unit).
EXPOSURE_LIMIT = tcc_checks.EXPOSURE_LIMIT


def _release(host):
    return host.backend.get_hostname().rsplit("-", 1)[1]


def _version(host):
    out = host.check_output("curl -fsS http://127.0.0.1:9090/api/v1/status/buildinfo")
    return tuple(int(x) for x in re.match(r"(\d+)\.(\d+)\.(\d+)", json.loads(out)["data"]["version"]).groups())


def _flags(host):
    return json.loads(host.check_output("curl -fsS http://127.0.0.1:9090/api/v1/status/flags"))["data"]


def _running_config(host):
    return yaml.safe_load(json.loads(host.check_output("curl -fsS http://127.0.0.1:9090/api/v1/status/config"))["data"]["yaml"])


def test_service_active_and_enabled(host):
    service = host.service("prometheus")
    assert service.is_running
    assert service.is_enabled


def test_ready_endpoint_answers(host):
    out = host.check_output("curl -fsS http://127.0.0.1:9090/-/ready")
    assert "Ready" in out


def test_deployed_config_passes_promtool(host):
    cmd = host.run("promtool check config /etc/prometheus/prometheus.yml")
    assert cmd.rc == 0, cmd.stdout + cmd.stderr


def test_runs_with_the_role_flags(host):
    flags = json.loads(host.check_output("curl -fsS http://127.0.0.1:9090/api/v1/status/flags"))["data"]
    assert flags["storage.tsdb.retention.time"] == "15d"
    assert flags["web.listen-address"] == "127.0.0.1:9090"


def test_scrapes_itself(host):
    out = json.loads(host.check_output("curl -fsS http://127.0.0.1:9090/api/v1/targets"))
    jobs = {t["labels"]["job"] for t in out["data"]["activeTargets"]}
    assert "prometheus" in jobs


def test_unit_is_hardened(host):
    score = tcc_checks.exposure(host, "prometheus.service")
    assert score <= EXPOSURE_LIMIT, f"prometheus.service: exposure {score} > {EXPOSURE_LIMIT}"
    assert "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX\n" in host.file("/etc/systemd/system/prometheus.service").content_string


def test_runs_the_line_of_its_release(host):
    version = _version(host)
    print(f"\n{host.backend.get_hostname()}: Prometheus {'.'.join(map(str, version))} ({METHOD[_release(host)]})")
    assert version[:2] == LINE[_release(host)]


def test_the_pinned_line_is_the_one_tested():
    """prometheus_version (what `archive` installs by default) is on the line Debian 14 runs here."""
    pinned = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())["prometheus_version"]
    assert tuple(int(x) for x in pinned.split(".")[:2]) == LINE["forky"], pinned


def test_install_method_layout(host):
    unit = host.file("/etc/systemd/system/prometheus.service").content_string
    if METHOD[_release(host)] in ("archive", "binary"):
        # unpacked (archive) or copied (binary) into a versioned directory, linked into /usr/local/bin
        version = ".".join(map(str, _version(host)))
        for name in ("prometheus", "promtool"):
            link = host.file(f"/usr/local/bin/{name}")
            assert link.is_symlink
            assert link.linked_to == f"/opt/telemetry.claude_code/prometheus-{version}/{name}"
        assert not host.file("/opt/telemetry.claude_code/prometheus-0.0.0-tampered").exists
        assert "/usr/local/bin/prometheus" in unit
        assert not host.package("prometheus").is_installed
    else:
        assert host.package("prometheus").is_installed
        assert "/usr/bin/prometheus" in unit


def test_started_exactly_once(host):
    """A first install starts Prometheus once: no handler restart or reload after the role's start,
    and no start by the package's maintainer scripts (Debian 12) with the package's configuration.
    Turning the fleet counters on in a later run (converge.yml) reloads it once, and never restarts it."""
    started = tcc_starts.starts(host, "prometheus.service")
    reloaded = tcc_starts.reloads(host, "prometheus.service")
    turned_on = int(host.file("/var/tmp/tcc-fleet/turned-on").content_string.strip())
    print(f"\nstarted {started}, reloaded {reloaded}, fleet counters turned on at {turned_on}")
    assert len(started) == 1, started
    assert _journal_time(started[0]) < turned_on
    assert len(reloaded) == 1 and _journal_time(reloaded[0]) >= turned_on, reloaded


def _journal_time(line):
    """The Unix time of a journal line of `journalctl -o short-iso`."""
    return int(datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S%z").timestamp())


def test_no_socket_family_refused(host):
    """The unit allows AF_INET, AF_INET6 and AF_UNIX only: Prometheus needs nothing else here."""
    refused = tcc_starts.journal_matches(host, "prometheus", "netlink|address family not supported")
    assert not refused, refused


def _probe_samples(host):
    """The first samples Prometheus stored of the probe's counter (files/scrape_probe.py), once there are two."""
    result = json.loads(host.check_output(
        "curl -fsS --get --data-urlencode %s http://127.0.0.1:9090/api/v1/query",
        'query=tcc_probe_scrapes_total{job="scrape_probe"}[1h]'))["data"]["result"]
    return result[0]["values"] if result and len(result[0]["values"]) >= 2 else None


def test_created_timestamp_zero_ingestion_where_prometheus_has_it(host):
    """2.50 and later: the flag is on, scrapes prefer protobuf, and a new counter series first seen
    at a value above zero (the probe's, like each Claude Code session's) starts with a zero at its
    created timestamp, so increase() counts its first value. 2.42 has no such feature: the flag
    is left out, and the series starts at its first scraped value."""
    version = _version(host)
    features = _flags(host)["enable-feature"]
    values = tcc_checks.wait_for(lambda: _probe_samples(host), timeout=60, step=3)
    assert values, "no two samples of the probe's counter within 60 s"
    print(f"\nPrometheus {version}: first samples of tcc_probe_scrapes_total: {values[:3]}")
    if version < (2, 50, 0):
        assert "created-timestamp-zero-ingestion" not in features, features
        assert float(values[0][1]) >= 1, values
        return
    assert "created-timestamp-zero-ingestion" in features
    assert tcc_starts.journal_matches(host, "prometheus", "created timestamp zero ingestion enabled")
    assert _running_config(host)["global"]["scrape_protocols"][0] == "PrometheusProto"
    # The injected zero at the created timestamp (when the probe started, before the first
    # scrape), then the first scraped value.
    assert float(values[0][1]) == 0 and float(values[1][1]) >= 1, values
    created = float(host.check_output("cat /run/tcc-scrape-probe.created"))
    assert abs(values[0][0] - created) < 0.002, (values[0], created)


def test_scrape_negotiation_and_metric_names(host):
    """What Prometheus asks a target for (files/scrape_probe.py records the Accept headers), and the
    name it stores: on Prometheus 3 the role asks for underscore names (legacy validation), so an
    exporter that could send tcc.probe.scrapes_total sends tcc_probe_scrapes_total, as to 2.x."""
    version = _version(host)

    def accepts():
        lines = [line for line in host.file("/run/tcc-scrape-probe.log").content_string.splitlines() if "q=" in line]
        return lines or None
    lines = tcc_checks.wait_for(accepts, timeout=60, step=3)
    assert lines, "Prometheus never scraped the probe"
    accept = lines[-1]
    print(f"\nPrometheus {version} asks the probe for: {accept}")
    if version >= (2, 50, 0):
        assert accept.startswith("application/vnd.google.protobuf"), accept  # created timestamps need it
    if version >= (3, 0, 0):
        assert "allow-utf-8" not in accept, accept
        glob = _running_config(host)["global"]
        assert glob["metric_name_validation_scheme"] == "legacy", glob
        if version >= (3, 4, 0):
            assert glob["metric_name_escaping_scheme"] == "underscores", glob
            assert "escaping=underscores" in accept, accept
    names = json.loads(host.check_output(
        "curl -fsS --get --data-urlencode 'match[]={job=\"scrape_probe\"}' http://127.0.0.1:9090/api/v1/label/__name__/values"))["data"]
    print(f"names stored for job scrape_probe: {names}")
    assert "tcc_probe_scrapes_total" in names and not [n for n in names if "." in n], names


CLAUDE_CODE_RULE_GROUPS = {
    "claude_code_alert_thresholds",
    "claude_code_recording",
    "claude_code_cost_alerts",
    "claude_code_usage_alerts",
    "claude_code_collector_alerts",
    "claude_code_stack_alerts",
    "claude_code_fleet",
}


def _query(host, expr):
    out = host.check_output(f"curl -fsS --get --data-urlencode 'query={expr}' http://127.0.0.1:9090/api/v1/query")
    return json.loads(out)["data"]["result"]


def test_claude_code_rules_loaded_and_healthy(host):
    """The role's rule files are in place, pass promtool, and every rule evaluates without error."""
    for name in ("claude_code_alerts.yml", "claude_code_recording.yml"):
        rules_file = host.file(f"/etc/prometheus/rules/{name}")
        assert rules_file.user == "root" and rules_file.group == "prometheus" and rules_file.mode == 0o640
        cmd = host.run(f"promtool check rules /etc/prometheus/rules/{name}")
        assert cmd.rc == 0, cmd.stdout + cmd.stderr

    # A group is evaluated a first time within its interval (1m at most) after loading.
    deadline = time.time() + 150
    while True:
        groups = json.loads(host.check_output("curl -fsS http://127.0.0.1:9090/api/v1/rules"))["data"]["groups"]
        ours = {g["name"]: g for g in groups if g["name"] in CLAUDE_CODE_RULE_GROUPS}
        rules = [r for g in ours.values() for r in g["rules"]]
        if (set(ours) == CLAUDE_CODE_RULE_GROUPS and all(r["health"] == "ok" for r in rules)) or time.time() > deadline:
            break
        time.sleep(5)
    assert set(ours) == CLAUDE_CODE_RULE_GROUPS, sorted(g["name"] for g in groups)
    bad = {r["name"]: (r["health"], r.get("lastError")) for r in rules if r["health"] != "ok"}
    assert not bad, bad
    print(f"{len(ours)} Claude Code rule groups, {len(rules)} rules, all healthy")


def test_claude_code_rules_rendered_by_the_role(host):
    """Thresholds come from prometheus_alert_thresholds; the expected scrape jobs are the configured ones."""
    defaults = yaml.safe_load(
        (pathlib.Path(__file__).resolve().parents[3] / "roles" / "prometheus" / "defaults" / "main.yml").read_text()
    )["prometheus_alert_thresholds"]
    for name, value in defaults.items():
        result = _query(host, f"claude_code:alert_threshold:{name}")
        assert result and float(result[0]["value"][1]) == float(value), (name, result)
    # The scenario configures no stack targets, so only the self-scrape is expected, and the
    # absent-job alert stays silent.
    jobs = {r["metric"]["job"] for r in _query(host, "claude_code:stack_scrape_job:expected")}
    assert jobs == {"prometheus"}, jobs
    alerts = json.loads(host.check_output("curl -fsS http://127.0.0.1:9090/api/v1/alerts"))["data"]["alerts"]
    assert not [a for a in alerts if a["labels"]["alertname"] == "ClaudeCodeScrapeJobAbsent"], alerts
