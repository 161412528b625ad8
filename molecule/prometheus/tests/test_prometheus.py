"""Prometheus is really running, ready and configured on every host of the scenario."""

import json


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
    out = host.run("systemd-analyze security --no-pager prometheus.service")
    assert out.rc == 0, out.stderr
    last = [line for line in out.stdout.splitlines() if "Overall exposure level" in line][0]
    score = float(last.split("exposure level for prometheus.service:")[1].split()[0])
    print(f"systemd-analyze security exposure for prometheus.service: {score}")
    assert score <= 2.5, last


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
