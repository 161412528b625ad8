# -*- coding: utf-8 -*-
# Copyright: contributors to the telemetry.claude_code collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""prometheus_fleet_seed, end to end with a real promtool: sessions' series in a data directory,
a stand-in for Prometheus's HTTP API (the names it holds, its remote-write receiver), the module
run in check mode, for real, and again. The history's blocks are dumped back with the same
promtool. (The live runs are the prometheus scenario's: molecule/prometheus.)"""

from __future__ import annotations

import http.server
import json
import os
import pwd
import grp
import subprocess
import threading

import pytest

from ansible_collections.telemetry.claude_code.plugins.module_utils import fleet_seed
from ansible_collections.telemetry.claude_code.plugins.modules import prometheus_fleet_seed
from grafana_test_helpers import CACHE, find_promtool, run_module

# promtool 2.42 (its dump has neither --match nor --sandbox-dir-root: the module dumps a shadow
# copy), and 2.53 and 3.5 where the rules stage fetched them (tests/rules/fetch-prometheus.sh).
PROMTOOLS = [path for path in dict.fromkeys([
    find_promtool(), str(CACHE / "prometheus-trixie" / "usr" / "bin" / "promtool"),
    str(CACHE / "prometheus-forky" / "usr" / "bin" / "promtool")]) if path and os.access(path, os.X_OK)]
pytestmark = pytest.mark.skipif(not PROMTOOLS, reason="no promtool (the harness provides one: tests/lint/setup.sh)")
HOUR = 3600


class StandIn(http.server.BaseHTTPRequestHandler):
    """Prometheus's /api/v1/label/__name__/values and /api/v1/write, as far as the module uses them."""
    names = []
    writes = []

    def do_GET(self):  # noqa: N802
        body = json.dumps({"status": "success", "data": self.names}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802
        length = int(self.headers["Content-Length"])
        type(self).writes.append((self.path, self.headers["Content-Encoding"], self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args):
        pass


@pytest.fixture
def prometheus():
    server = http.server.HTTPServer(("127.0.0.1", 0), StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    StandIn.names, StandIn.writes = [], []
    yield "http://127.0.0.1:{0}".format(server.server_address[1])
    server.shutdown()


def data_dir(tmp_path, now, promtool):
    """Blocks of two sessions' cost, 6 and 5 hours before now (as a server that ran for days holds)."""
    lines = ["# TYPE claude_code_cost_usage_USD counter"]
    for session, model, start in (("a", "claude-sonnet-4-5", now - 6 * HOUR), ("b", "claude-haiku-4-5-20251001", now - 5 * HOUR)):
        for minute in range(5):
            lines.append('claude_code_cost_usage_USD_total{{model="{0}",session_id="{1}"}} {2} {3}'.format(
                model, session, 0.5 * (minute + 1), start + 60 * minute + 30))
    (tmp_path / "sessions.om").write_text("\n".join(lines + ["# EOF", ""]))
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(tmp_path / "sessions.om"),
                    str(tmp_path / "data")], check=True, capture_output=True)
    (tmp_path / "data" / "wal").mkdir()  # as Prometheus's own (promtool's dump reads it)
    return str(tmp_path / "data")


@pytest.fixture(params=PROMTOOLS, ids=lambda path: path.split("/")[-4] if "prometheus-" in path else "default")
def promtool(request):
    return request.param


def test_seeds_once_from_a_real_data_directory(tmp_path, prometheus, promtool):
    now = (int(subprocess.check_output(["date", "+%s"])) // 60) * 60
    data = data_dir(tmp_path, now, promtool)
    blocks_before = sorted(os.listdir(data))
    user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    StandIn.names = ["claude_code_cost_usage_USD_total", "up"]
    args = {"data_dir": data, "promtool": promtool, "url": prometheus, "owner": user, "group": group,
            "settle": "2m", "heal": "2h"}

    checked = run_module(args, check_mode=True, diff=True, module=prometheus_fleet_seed)
    assert checked["changed"] is True and not checked["failed"], checked
    assert checked["blocks"] == [] and StandIn.writes == [] and sorted(os.listdir(data)) == blocks_before
    assert 'claude_code:cost_usage_USD:fleet_total{model="claude-sonnet-4-5"} 2.5' in checked["diff"]["after"]

    result = run_module(args, module=prometheus_fleet_seed)
    assert result["changed"] is True and not result["failed"], result
    cost = result["counters"][0]
    assert cost["record"] == "claude_code:cost_usage_USD:fleet_total" and cost["seeded"]
    assert cost["samples"] == 10
    assert cost["last"] == {'model="claude-sonnet-4-5"': 2.5, 'model="claude-haiku-4-5-20251001"': 2.5}
    assert [entry["seeded"] for entry in result["counters"][1:5]] == [False] * 4
    # the sessions' counters, from the same dump: two sessions, each one episode, both ended
    started, ended = result["counters"][5:]
    assert started["record"] == "claude_code:sessions:fleet_started" and started["seeded"] and ended["seeded"]
    assert started["last"] == {"": 2.0} and ended["last"] == {"": 2.0}
    # everything before the end of the sessions' blocks went into blocks, the rest to the receiver
    assert result["persisted_until"] is not None and result["blocks"]
    assert cost["points_in_blocks"] + cost["points_sent"] == cost["points"]
    assert cost["points_in_blocks"] > 0 and cost["points_sent"] > 0
    # one request per record seeded (each history goes on to the end, in the head's time)
    assert [(path, encoding) for path, encoding, _body in StandIn.writes] == [("/api/v1/write", "snappy")] * 3
    assert not [name for name in os.listdir(str(tmp_path)) if name.startswith(".tcc-fleet-seed-")]

    # the history's blocks, dumped back: whole minutes before the head, never going down
    (tmp_path / "sandbox").mkdir()
    dump = fleet_seed.Promtool(promtool).dump(data, ["claude_code:cost_usage_USD:fleet_total"], str(tmp_path / "sandbox"),
                                              list)
    points = {}
    for line in dump:
        if line.startswith('{__name__="claude_code:cost_usage_USD:fleet_total"'):
            labels, value, stamp = line.rsplit(" ", 2)
            points.setdefault(labels, []).append((int(stamp), float(value)))
    assert len(points) == 2
    for series in points.values():
        assert all(stamp % 60000 == 0 for stamp, _value in series)
        assert all(b[1] >= a[1] for a, b in zip(series, series[1:]))
        assert series[-1][0] < result["persisted_until"] and 0 < series[-1][1] <= 2.5
    assert sum(len(series) for series in points.values()) == cost["points_in_blocks"]

    # Prometheus now holds the record: nothing to do
    StandIn.names += ["claude_code:cost_usage_USD:fleet_total", "claude_code:sessions:fleet_started",
                      "claude_code:sessions:fleet_ended"]
    again = run_module(args, module=prometheus_fleet_seed)
    assert again["changed"] is False and again["counters"][0]["reason"] == "Prometheus already holds the record"


def test_fails_with_data_and_no_prometheus(tmp_path, promtool):
    now = (int(subprocess.check_output(["date", "+%s"])) // 60) * 60
    data = data_dir(tmp_path, now, promtool)
    user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    result = run_module({"data_dir": data, "promtool": promtool, "url": "http://127.0.0.1:9", "owner": user,
                         "group": group, "timeout": 2}, module=prometheus_fleet_seed)
    assert result["failed"] and "start Prometheus first" in result["msg"], result


def test_refuses_a_bad_duration(tmp_path):
    result = run_module({"data_dir": str(tmp_path), "settle": "two minutes"}, module=prometheus_fleet_seed)
    assert result["failed"] and "two minutes" in result["msg"]
