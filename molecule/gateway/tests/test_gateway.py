"""The OTLP gateway in front of real collectors: it runs as the role promises, and no request fails
or goes missing while collectors restart, die and come back, or while the gateway reloads.

Hosts (molecule.yml): tcc-gateway-trixie, its gateway in front of its own collector ("local") and
of the collector of tcc-gateway-bookworm ("peer"), in clear text (OTLP/gRPC as h2c);
tcc-gateway-bookworm, its gateway in front of its own collector only (the role's default layout),
with TLS. Every collector requires the scenario's bearer token and writes each request it accepts
to the journal (a debug exporter with `normal` verbosity: one line per data point or log record,
with the request's `gateway.request_id`).

A fault test runs the load generator (files/otlp_load.py) on the gateway's host, against the
gateway on the host's loopback: OTLP/HTTP JSON and OTLP/gRPC over HTTP/2 (curl) together, each
request with its own id, none retried by the client. It injects the fault a few seconds in, waits
for the load to end, then reads every collector's journal and checks, id by id, that every request
the client saw answered 200 was accepted by a collector, and that no request failed. Each run prints
a line starting with GATEWAY with its figures.
"""

from __future__ import annotations

import json
import pathlib
import re
import shlex
import sys
import time
import uuid

import pytest
import testinfra
import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))
import tcc_checks  # noqa: E402  pylint: disable=wrong-import-position,import-error

VARS = yaml.safe_load((pathlib.Path(__file__).resolve().parents[1] / "vars" / "scenario.yml").read_text(encoding="utf-8"))
TOKEN = VARS["gateway_token"]
TRIXIE = "tcc-gateway-trixie"
BOOKWORM = "tcc-gateway-bookworm"
TLS = VARS["gateway_tls"]
CA = VARS["gateway_tls_dir"] + "/gateway.crt"
LOAD = "/usr/local/lib/otlp_load.py"
CONFIG = "/etc/otlp-gateway/haproxy.cfg"
EXPOSURE_MAX = tcc_checks.EXPOSURE_LIMIT
MAX_BODY = 1048576  # the role's default otlp_gateway_max_request_body_size
# The hosts by name, for the tests that drive one host and read the other's collector.
HOSTS = {name: testinfra.get_host(f"docker://{name}") for name in (TRIXIE, BOOKWORM)}


def name_of(host):
    return host.backend.get_hostname()


def url(host_name, signal_port):
    return f"{'https' if TLS[host_name] else 'http'}://127.0.0.1:{signal_port}"


def curl_tls(host_name):
    return f"--cacert {CA}" if TLS[host_name] else ""


def served_config_id(host):
    return host.check_output("curl -fsS http://127.0.0.1:8405/-/config-id").strip()


def written_config_id(host):
    return re.search(r"(?m)^# config-id: ([0-9a-f]+)$", host.file(CONFIG).content_string).group(1)


def server_states(host):
    """{(backend, server): state} from haproxy's Prometheus exporter."""
    metrics = host.check_output("curl -fsS http://127.0.0.1:8405/metrics")
    states = {}
    for proxy, server, state in re.findall(
            r'^haproxy_server_status\{proxy="([^"]+)",server="([^"]+)",state="([A-Z_]+)"\} 1$', metrics, re.M):
        states[(proxy, server)] = state
    return states


def wait_peer(state):
    """Wait until the trixie gateway sees the peer collector in this state, in both backends."""
    ok = tcc_checks.wait_for(
        lambda: all(server_states(HOSTS[TRIXIE]).get((proxy, "peer")) == state for proxy in ("otlp_http", "otlp_grpc")),
        timeout=30, step=0.5)
    assert ok, f"the trixie gateway does not see the peer collector {state}: {server_states(HOSTS[TRIXIE])}"


def accepted_ids(prefix, since):
    """Request ids that start with prefix, as often as any collector accepted them since `since`."""
    ids = []
    for host in HOSTS.values():
        out = host.run(
            f"journalctl -u otelcol --since @{since} -o cat --no-pager | grep -o 'gateway.request_id={prefix}[-0-9a-z]*'")
        ids += [line.split("=", 1)[1] for line in out.stdout.split()]
    return ids


def start_load(host, mode, run, out, **options):
    """Start otlp_load.py in the background on host; returns its result file."""
    host_name = name_of(host)
    port = 4317 if mode == "grpc" else 4318
    args = [LOAD, mode, "--url", url(host_name, port), "--run", run, "--out", out, "--token", TOKEN]
    if TLS[host_name]:
        args += ["--cacert", CA]
    for key, value in options.items():
        args += ["--" + key.replace("_", "-"), str(value)]
    host.run(f"rm -f {out}; setsid nohup python3 {shlex.join(args)} >/dev/null 2>&1 </dev/null &")
    return out


def finish_load(host, out, timeout=120):
    assert tcc_checks.wait_for(lambda: host.file(out).exists, timeout=timeout), f"{out} did not appear on {name_of(host)}"
    return json.loads(host.file(out).content_string)


def judge(host_name, fault, result, since, duplicates_allowed=False, failures_allowed=False):
    """Check one load run against the collectors' journals; print its figures."""
    ok_ids = {r["id"] for r in result["records"] if r["outcome"] == "200"}
    failed_ids = {r["id"] for r in result["records"] if r["outcome"] != "200"}
    # The journal can lag behind the collectors' writes a little.
    counted = []

    def all_counted():
        counted[:] = accepted_ids(result["run"] + "-", since)
        return ok_ids <= set(counted)

    tcc_checks.wait_for(all_counted, timeout=20)
    missing = sorted(ok_ids - set(counted))
    duplicates = len(counted) - len(set(counted))
    arrived_after_failure = len(failed_ids & set(counted))
    print(f"\nGATEWAY {host_name} {fault} [{result['mode']}]: sent {result['sent']}, answered 200 {result['ok']}, "
          f"failed {result['failed']}, accepted by the collectors {len(set(counted))}, missing {len(missing)}, "
          f"duplicates {duplicates}, failed but delivered {arrived_after_failure}, held > 1 s {result['held_over_1s']}, "
          f"longest {result['max_seconds']} s")
    assert result["sent"] > 0
    if not failures_allowed:
        assert result["failed"] == 0, result["failures"]
    assert not missing, f"answered 200 but accepted by no collector: {missing[:10]}"
    if not duplicates_allowed:
        assert duplicates == 0
    return {"missing": missing, "duplicates": duplicates, "arrived_after_failure": arrived_after_failure,
            "failed_ids": failed_ids,
            "failed_outcomes": [r["outcome"] for r in result["records"] if r["outcome"] != "200"]}


def run_fault(host, fault, action, duration=16, http_rate=40, grpc_rate=10, http_options=None, grpc_options=None,
              also_new_connections=False, grpc_judge=None, **judge_options):
    """Load on host's gateway; `action(host)` 4 s in; every request checked. Returns the judgements."""
    host_name = name_of(host)
    tag = uuid.uuid4().hex[:6]
    since = int(host.check_output("date +%s")) - 1
    loads = {
        "http": start_load(host, "http", f"{tag}h", f"/var/tmp/load-{tag}-http.json", duration=duration, rate=http_rate,
                           **(http_options or {})),
        "grpc": start_load(host, "grpc", f"{tag}g", f"/var/tmp/load-{tag}-grpc.json", duration=duration, rate=grpc_rate,
                           workers=4, **(grpc_options or {})),
    }
    if also_new_connections:
        loads["http-new"] = start_load(host, "http", f"{tag}n", f"/var/tmp/load-{tag}-new.json", duration=duration,
                                       rate=20, workers=4, connection="new")
    time.sleep(4)
    action(host)
    return {kind: judge(host_name, fault, finish_load(host, out), since,
                        **(grpc_judge if kind == "grpc" and grpc_judge is not None else judge_options))
            for kind, out in loads.items()}


def kill_collector(host):
    host.check_output("kill -9 $(systemctl show -p MainPID --value otelcol)")


def restart_collector(host):
    host.check_output("systemctl restart otelcol")


def collector_healthy(host):
    return host.run("curl -fsS -o /dev/null http://127.0.0.1:13133/").rc == 0


@pytest.fixture
def peer_stopped():
    """The trixie gateway with its own collector only: the peer collector is stopped."""
    HOSTS[BOOKWORM].check_output("systemctl stop otelcol")
    wait_peer("DOWN")
    yield
    HOSTS[BOOKWORM].check_output("systemctl start otelcol")
    wait_peer("UP")


@pytest.fixture(autouse=True)
def collectors_up():
    """Every test starts and ends with both collectors healthy (systemd restarts a killed one)."""
    for host in HOSTS.values():
        assert tcc_checks.wait_for(lambda h=host: collector_healthy(h), timeout=60), f"otelcol on {name_of(host)} is not healthy"
    yield
    for host in HOSTS.values():
        assert tcc_checks.wait_for(lambda h=host: collector_healthy(h), timeout=60), f"otelcol on {name_of(host)} did not come back"


# --- the service ------------------------------------------------------------------------------

def test_gateway_runs_and_was_started_once(host):
    service = host.service("otlp-gateway")
    assert service.is_running and service.is_enabled
    assert host.check_output("systemctl show -p NRestarts --value otlp-gateway") == "0"
    # One start since boot: the first converge started it, every later change reloaded it.
    starts = host.check_output("journalctl -u otlp-gateway -o cat --no-pager | grep -c '^Started otlp-gateway.service' || true")
    assert starts == "1", f"otlp-gateway.service was started {starts} times"
    assert int(host.check_output("journalctl -u otlp-gateway -o cat --no-pager | grep -c '^Reloaded otlp-gateway.service' || true")) >= 1


def test_the_package_unit_is_off_and_no_other_haproxy_runs(host):
    package = host.service("haproxy")
    assert not package.is_running and not package.is_enabled
    # Every haproxy process on the host is one of otlp-gateway.service's.
    units = host.check_output("for pid in $(pgrep -x haproxy); do grep -o '[^/]*[.]service' /proc/$pid/cgroup; done")
    assert units and set(units.split()) == {"otlp-gateway.service"}, units


def test_exposure_at_most_1_5(host):
    score = tcc_checks.exposure(host, "otlp-gateway.service")
    assert score <= EXPOSURE_MAX, f"otlp-gateway.service: exposure {score} > {EXPOSURE_MAX}"


def test_runs_as_its_own_user_from_its_own_directory(host):
    assert host.check_output("systemctl show -p User --value otlp-gateway") == "otlp-gateway"
    assert host.check_output("systemctl show -p ExecStart --value otlp-gateway").count("-Ws -f /etc/otlp-gateway/haproxy.cfg") == 1
    config = host.file(CONFIG)
    assert config.user == "root" and config.group == "otlp-gateway" and config.mode == 0o640
    if TLS[name_of(host)]:
        pem = host.file("/etc/otlp-gateway/tls.pem")
        assert pem.user == "otlp-gateway" and pem.mode == 0o600
    else:
        assert not host.file("/etc/otlp-gateway/tls.pem").exists


def test_listens_where_configured(host):
    for address in ("tcp://0.0.0.0:4317", "tcp://0.0.0.0:4318", "tcp://127.0.0.1:8405"):
        assert host.socket(address).is_listening, address
    assert not host.socket("tcp://0.0.0.0:8405").is_listening


def test_the_running_configuration_is_the_file_and_validates(host):
    check = host.run(f"haproxy -c -f {CONFIG}")
    assert check.rc == 0, check.stdout + check.stderr
    assert served_config_id(host) == written_config_id(host)


def test_the_validate_command_refuses_a_broken_file(host):
    """What `validate:` runs on a candidate file: haproxy -c refuses it with haproxy's own message."""
    broken = "/var/tmp/haproxy-broken.cfg"
    host.check_output(f"cp {CONFIG} {broken} && printf 'backend broken\\n  balance no-such-algorithm\\n' >> {broken}")
    check = host.run(f"haproxy -c -f {broken}")
    assert check.rc != 0
    assert "balance only supports" in check.stdout + check.stderr, check.stdout + check.stderr
    print(f"\nhaproxy -c on a broken file ({name_of(host)}): rc {check.rc}: "
          + [line for line in (check.stdout + check.stderr).splitlines() if "ALERT" in line][0])
    # The running configuration is untouched.
    assert served_config_id(host) == written_config_id(host)
    host.run(f"rm -f {broken}")


def test_prometheus_exporter_lists_every_collector(host):
    metrics = host.check_output("curl -fsS http://127.0.0.1:8405/metrics")
    assert "haproxy_process_start_time_seconds" in metrics
    expected = {"local", "peer"} if name_of(host) == TRIXIE else {"collector1"}
    for proxy in ("otlp_http", "otlp_grpc"):
        servers = set(re.findall(r'^haproxy_server_status\{proxy="' + proxy + r'",server="([^"]+)",state="UP"\} 1$', metrics, re.M))
        assert servers == expected | {name + "-hold" for name in expected}, (proxy, servers)


# --- what passes through ----------------------------------------------------------------------

def post_json(host, path, body, token=TOKEN, extra=""):
    """POST a JSON body to the gateway's OTLP/HTTP port with curl; returns "<HTTP version> <status>"."""
    host_name = name_of(host)
    auth = f"-H {shlex.quote('Authorization: Bearer ' + token)}" if token else ""
    out = host.run(
        f"printf %s {shlex.quote(json.dumps(body))} | curl -sS {curl_tls(host_name)} {extra} -o /dev/null "
        f"-w '%{{http_version}} %{{http_code}}' -H 'Content-Type: application/json' {auth} --data-binary @- "
        f"{url(host_name, 4318)}{path}")
    return out.stdout.strip()


def test_the_bearer_token_passes_through_to_the_collector(host):
    body = {"resourceMetrics": []}
    assert post_json(host, "/v1/metrics", body).endswith(" 200")
    assert post_json(host, "/v1/metrics", body, token=None).endswith(" 401")
    assert post_json(host, "/v1/metrics", body, token="wrong-token").endswith(" 401")


def test_http2_on_the_http_port(host):
    """Clear text: HTTP/2 with prior knowledge (h2c) on 4318; TLS: HTTP/2 by ALPN."""
    extra = "--http2" if TLS[name_of(host)] else "--http2-prior-knowledge"
    assert post_json(host, "/v1/metrics", {"resourceMetrics": []}, extra=extra) == "2 200"
    assert post_json(host, "/v1/metrics", {"resourceMetrics": []}, extra="--http1.1") == "1.1 200"


def test_request_body_limit(host):
    tag = uuid.uuid4().hex[:6]
    big = start_load(host, "http", f"{tag}b", f"/var/tmp/load-{tag}-big.json", duration=2, rate=1, workers=1,
                     signals="metrics", pad=MAX_BODY - 4096, max_requests=1)
    assert finish_load(host, big)["ok"] == 1
    over = start_load(host, "http", f"{tag}o", f"/var/tmp/load-{tag}-over.json", duration=2, rate=1, workers=1,
                      signals="metrics", pad=MAX_BODY + 1, max_requests=1)
    result = finish_load(host, over)
    assert [r["outcome"] for r in result["records"]] == ["413"]


# --- the side effect: the role changed the configuration under load ----------------------------

def test_role_reload_under_load_dropped_nothing(host):
    """side_effect.yml changed a variable with the role while this load ran: a reload, no failure."""
    since = int(host.file("/var/tmp/gateway-side-effect.since").content_string.strip()) - 1
    for mode in ("http", "grpc"):
        result = json.loads(host.file(f"/var/tmp/gateway-side-effect-{mode}.json").content_string)
        # haproxy 2.6 over TLS (bookworm): the known loss of trailers during a reload, and only that
        known = mode == "grpc" and name_of(host) == BOOKWORM
        judgement = judge(name_of(host), "role applies a changed configuration (reload)", result, since,
                          failures_allowed=known)
        if known:
            only_known_tls_reload_losses(host, judgement)
    assert "timeout server 31s" in host.file(CONFIG).content_string


# --- faults under load: the multi-collector gateway (trixie, h2c) --------------------------------

def test_trixie_kill_9_of_one_collector_fails_over():
    trixie = HOSTS[TRIXIE]
    run_fault(trixie, "kill -9 of its own collector, the peer up", kill_collector)


def test_trixie_restart_of_the_only_collector_up_is_held(peer_stopped):
    run_fault(HOSTS[TRIXIE], "systemctl restart of the only collector up", restart_collector)


def test_trixie_kill_9_of_the_only_collector_up_is_held(peer_stopped):
    """No collector for ~6 s (systemd restarts otelcol 5 s after it died): every request is held."""
    results = run_fault(HOSTS[TRIXIE], "kill -9 of the only collector up", kill_collector, duplicates_allowed=True)
    for judgement in results.values():
        if judgement["duplicates"]:
            print(f"  {judgement['duplicates']} request(s) accepted twice: the killed collector had read them but not "
                  "answered, and the gateway sent them again (empty-response)")


def test_trixie_gateway_reloads_under_load():
    trixie = HOSTS[TRIXIE]
    pid = trixie.check_output("systemctl show -p MainPID --value otlp-gateway")

    def reloads(host):
        for _reload in range(4):
            host.check_output("systemctl reload otlp-gateway")
            time.sleep(2)

    run_fault(trixie, "4 reloads of the gateway", reloads, also_new_connections=True)
    assert trixie.check_output("systemctl show -p MainPID --value otlp-gateway") == pid


def test_trixie_requests_whose_client_gave_up_are_still_delivered(peer_stopped):
    """Clients that wait 3 s, a collector back after ~6 s: they fail, and the gateway still delivers
    their HTTP/1.1 requests (no abortonclose). An HTTP/2 client that gives up resets its stream, and
    haproxy 3.0 drops that request: measured and printed for gRPC, not promised."""
    results = run_fault(HOSTS[TRIXIE], "kill -9 of the only collector up, clients waiting 3 s", kill_collector,
                        http_options={"timeout": 3}, grpc_options={"timeout": 3},
                        failures_allowed=True, duplicates_allowed=True)
    http = results["http"]
    assert http["failed_ids"], "no HTTP client gave up; the test proves nothing"
    assert http["arrived_after_failure"] == len(http["failed_ids"]), (
        f"{len(http['failed_ids']) - http['arrived_after_failure']} HTTP request(s) given up by the client never reached "
        "a collector")
    grpc = results["grpc"]
    print(f"  gRPC: {len(grpc['failed_ids'])} request(s) given up by the client (stream reset), "
          f"{grpc['arrived_after_failure']} of them delivered all the same")


def test_trixie_a_large_request_is_held_too(peer_stopped):
    """A body just under the limit fits in haproxy's buffer, so it is retried like any other."""
    run_fault(HOSTS[TRIXIE], "restart of the only collector up, 1 MiB requests", restart_collector,
              http_rate=4, grpc_rate=2, http_options={"pad": MAX_BODY - 4096, "signals": "metrics", "workers": 2},
              grpc_options={"pad": MAX_BODY - 4096, "signals": "metrics"})


# --- faults under load: the single-collector gateway with TLS (bookworm) ------------------------

def test_bookworm_restart_of_its_collector_over_tls():
    run_fault(HOSTS[BOOKWORM], "systemctl restart of its collector (TLS)", restart_collector)


def test_bookworm_kill_9_of_its_collector_over_tls():
    run_fault(HOSTS[BOOKWORM], "kill -9 of its collector (TLS)", kill_collector, duplicates_allowed=True)


# haproxy 2.6.12 (Debian 12) with TLS: a gRPC response in flight while the gateway reloads now and
# then reaches the client as HTTP/2 200 with no trailers, so no grpc-status, although the collector
# accepted the request (measured: 3 of 300 requests with 6 reloads; 0 of 300 with h2c on the same
# haproxy, and 0 of 300 over TLS with haproxy 3.0.11 of Debian 13). The test lets exactly that
# failure through, requires that each such request was delivered, and prints how many there were.
KNOWN_HAPROXY_26_TLS_RELOAD = "error: HTTP 200 grpc-status None"


def only_known_tls_reload_losses(host, judgement):
    """The gRPC judgement of a reload over TLS on haproxy 2.6: no failure but the known one, each such
    request delivered all the same; prints how many there were."""
    outcomes = {o.strip() for o in judgement["failed_outcomes"]}
    assert outcomes <= {KNOWN_HAPROXY_26_TLS_RELOAD}, outcomes
    assert judgement["arrived_after_failure"] == len(judgement["failed_ids"])
    if judgement["failed_ids"]:
        print(f"  haproxy {host.check_output('haproxy -v | head -1').split()[2]}: {len(judgement['failed_ids'])} gRPC "
              "response(s) lost their trailers (no grpc-status) during a reload over TLS; the collector got every one")


def test_bookworm_gateway_reloads_under_load_over_tls():
    bookworm = HOSTS[BOOKWORM]

    def reloads(host):
        for _reload in range(4):
            host.check_output("systemctl reload otlp-gateway")
            time.sleep(2)

    results = run_fault(bookworm, "4 reloads of the gateway (TLS)", reloads, also_new_connections=True,
                        grpc_judge={"failures_allowed": True})
    only_known_tls_reload_losses(bookworm, results["grpc"])
