"""The stack deployed by playbooks/site.yml answers on the host, with the firewall rules it asked for."""

import json


def test_prometheus_ready(host):
    assert "Ready" in host.check_output("curl -fsS http://127.0.0.1:9090/-/ready")


def test_prometheus_scrapes_itself(host):
    out = json.loads(host.check_output("curl -fsS 'http://127.0.0.1:9090/api/v1/query?query=up'"))
    ups = {r["metric"]["job"]: r["value"][1] for r in out["data"]["result"]}
    assert ups.get("prometheus") == "1", ups


def test_firewall_rules_only_where_a_role_listens_off_loopback(host):
    """All six roles have their firewall switch on; only the gateway's OTLP ports listen off
    loopback (the collector is behind it on 127.0.0.1), so ufw has exactly its two rules. ufw is
    left inactive (never enabled here or by the roles), so this checks the saved rule set, not
    packet filtering."""
    rules = [line for line in host.check_output("ufw show added").splitlines()[1:] if line.strip()]
    print(f"ufw show added: {rules}")
    assert sorted(rules) == [
        "ufw allow from 172.16.0.0/12 to any port 4317 proto tcp comment 'telemetry.claude_code.otlp_gateway otlp-grpc'",
        "ufw allow from 172.16.0.0/12 to any port 4318 proto tcp comment 'telemetry.claude_code.otlp_gateway otlp-http'",
    ]


def test_the_gateway_is_claude_codes_endpoint_and_the_collector_hides_behind_it(host):
    assert host.socket("tcp://0.0.0.0:4318").is_listening and host.socket("tcp://0.0.0.0:4317").is_listening
    assert host.socket("tcp://127.0.0.1:14318").is_listening and host.socket("tcp://127.0.0.1:14317").is_listening
    assert not host.socket("tcp://0.0.0.0:14318").is_listening
    assert host.service("otlp-gateway").is_running
    assert host.check_output("ufw status").strip() == "Status: inactive"
