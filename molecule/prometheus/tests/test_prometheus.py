"""Prometheus is really running, ready and configured on every host of the scenario."""

import json
import pathlib
import sys
import time

import yaml
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))
import tcc_checks  # noqa: E402  pylint: disable=wrong-import-position,import-error


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
    tcc_checks.assert_hardened(host, "prometheus.service")


def test_install_method_layout(host):
    if host.backend.get_hostname().endswith("trixie"):
        # archive: unpacked into a versioned directory, linked into /usr/local/bin
        link = host.file("/usr/local/bin/prometheus")
        assert link.is_symlink
        assert link.linked_to.startswith("/opt/telemetry.claude_code/prometheus-")
        assert not host.file("/opt/telemetry.claude_code/prometheus-0.0.0-tampered").exists
        assert "/usr/local/bin/prometheus" in host.file("/etc/systemd/system/prometheus.service").content_string
    else:
        assert host.package("prometheus").is_installed
        assert "/usr/bin/prometheus" in host.file("/etc/systemd/system/prometheus.service").content_string


def test_created_timestamp_zero_ingestion_enabled(host):
    flags = json.loads(host.check_output("curl -fsS http://127.0.0.1:9090/api/v1/status/flags"))["data"]
    assert "created-timestamp-zero-ingestion" in flags["enable-feature"]


CLAUDE_CODE_RULE_GROUPS = {
    "claude_code_alert_thresholds",
    "claude_code_recording",
    "claude_code_cost_alerts",
    "claude_code_usage_alerts",
    "claude_code_collector_alerts",
    "claude_code_stack_alerts",
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
