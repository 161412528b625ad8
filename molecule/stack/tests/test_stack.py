"""The stack deployed by playbooks/site.yml answers on the host."""

import json


def test_prometheus_ready(host):
    assert "Ready" in host.check_output("curl -fsS http://127.0.0.1:9090/-/ready")


def test_prometheus_scrapes_itself(host):
    out = json.loads(host.check_output("curl -fsS 'http://127.0.0.1:9090/api/v1/query?query=up'"))
    ups = {r["metric"]["job"]: r["value"][1] for r in out["data"]["result"]}
    assert ups.get("prometheus") == "1", ups
