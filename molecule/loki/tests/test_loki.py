"""Loki converged with loki_skip_install: everything but the binary is in place and correct.

No Loki binary can be had on the test machines and none is faked, so the service is enabled
but not started; these tests say so in their output (run with -s). Debian 13 has the role's
defaults (single binary, filesystem); Debian 12 is the backend host of a simple scalable
deployment on S3-compatible storage, with credentials.
"""

import functools
import json
import os
import pathlib
import shlex
import subprocess

import sys
import yaml
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))
import tcc_checks  # noqa: E402  pylint: disable=wrong-import-position,import-error
import tcc_starts  # noqa: E402  pylint: disable=wrong-import-position,import-error

BINARY = "/usr/local/bin/loki"
CONFIG = "/etc/loki/loki.yml"
ENV_FILE = "/etc/loki/loki.env"
SCENARIO = pathlib.Path(__file__).resolve().parents[1]
MISSING_EXEC = f"loki.service: Command {BINARY} is not executable: No such file or directory"
# The target of the collection's hardened unit (issue 14: at most 1.5 for every unit).
EXPOSURE_LIMIT = tcc_checks.EXPOSURE_LIMIT


def _is_bookworm(host):
    return host.backend.get_hostname().endswith("bookworm")


def _config(host):
    return yaml.safe_load(host.file(CONFIG).content_string)


@functools.lru_cache(maxsize=None)
def _bookworm_vars():
    """The Debian 12 host's variables as Ansible sees them in molecule's inventory (the credentials among them)."""
    inventory = pathlib.Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent
    out = subprocess.run(["ansible-inventory", "-i", str(inventory), "--host", "tcc-loki-bookworm"],
                         capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout)


def test_account(host):
    user = host.user("loki")
    assert user.group == "loki"
    assert user.shell == "/usr/sbin/nologin"
    assert user.uid < 1000, "not a system account"


def test_directories(host):
    for path, owner, mode in [
        ("/etc/loki", "root", 0o750),
        ("/etc/loki/rules", "root", 0o750),
        ("/etc/loki/rules/fake", "root", 0o750),
        ("/var/lib/loki", "loki", 0o750),
    ]:
        d = host.file(path)
        assert d.is_directory, path
        assert (d.user, d.group, d.mode) == (owner, "loki", mode), path


def test_config_file_mode(host):
    f = host.file(CONFIG)
    assert (f.user, f.group, f.mode) == ("root", "loki", 0o640)


def test_config_single_tenant_tsdb_v13(host):
    cfg = _config(host)
    assert cfg["auth_enabled"] is False
    assert cfg["common"]["path_prefix"] == "/var/lib/loki"
    [schema] = cfg["schema_config"]["configs"]
    assert (schema["store"], schema["schema"]) == ("tsdb", "v13")
    assert schema["index"]["period"] == "24h"
    assert cfg["storage_config"]["tsdb_shipper"]["active_index_directory"] == "/var/lib/loki/tsdb-index"
    assert cfg["analytics"]["reporting_enabled"] is False


def test_config_storage(host):
    cfg = _config(host)
    [schema] = cfg["schema_config"]["configs"]
    storage = cfg["storage_config"]
    if _is_bookworm(host):
        assert schema["object_store"] == "s3"
        assert "filesystem" not in storage
        assert storage["aws"] == {
            "bucketnames": "loki-chunks",
            "endpoint": "minio.example.internal:9000",
            "region": "us-east-1",
            # References Loki expands from its environment; the values are only in loki.env.
            "access_key_id": "${LOKI_S3_ACCESS_KEY_ID}",
            "secret_access_key": "${LOKI_S3_SECRET_ACCESS_KEY}",
            "s3forcepathstyle": True,
            "insecure": False,
        }
    else:
        assert schema["object_store"] == "filesystem"
        assert storage["filesystem"]["directory"] == "/var/lib/loki/chunks"
        assert "aws" not in storage


def test_config_target_and_ring(host):
    cfg = _config(host)
    if _is_bookworm(host):
        assert cfg["target"] == "backend"
        assert cfg["common"]["ring"]["kvstore"]["store"] == "memberlist"
        assert cfg["common"]["replication_factor"] == 3
        assert cfg["common"]["compactor_address"] == "http://tcc-loki-bookworm:3100"
        # The address the other hosts reach this one at: its own, from its facts.
        address = host.ansible("setup", "filter=ansible_default_ipv4")["ansible_facts"]["ansible_default_ipv4"]["address"]
        assert cfg["common"]["instance_addr"] == address and not address.startswith("127.")
        assert cfg["memberlist"] == {
            "bind_addr": ["0.0.0.0"], "bind_port": 7946,
            "join_members": ["tcc-loki-bookworm:7946", "loki-write-1.example.internal:7946",
                             "loki-read-1.example.internal:7946"],
        }
        assert cfg["ruler"]["enable_sharding"] is True
        assert cfg["ruler"]["ring"]["kvstore"]["store"] == "memberlist"
    else:
        assert cfg["target"] == "all"
        assert cfg["common"]["ring"]["kvstore"]["store"] == "inmemory"
        assert cfg["common"]["replication_factor"] == 1
        assert cfg["common"]["instance_addr"] == "127.0.0.1"
        assert "memberlist" not in cfg and "compactor_address" not in cfg["common"]


def test_config_retention_by_compactor(host):
    cfg = _config(host)
    assert cfg["compactor"]["retention_enabled"] is True
    assert cfg["compactor"]["delete_request_store"] == ("s3" if _is_bookworm(host) else "filesystem")
    assert cfg["compactor"]["working_directory"] == "/var/lib/loki/compactor"
    expected = "14d" if _is_bookworm(host) else "30d"
    assert cfg["limits_config"]["retention_period"] == expected


def test_environment_file(host):
    f = host.file(ENV_FILE)
    assert (f.user, f.group, f.mode) == ("root", "root", 0o600)
    assignments = [line for line in f.content_string.splitlines() if line and not line.startswith("#")]
    names = [line.split("=", 1)[0] for line in assignments]
    assert names == (["LOKI_S3_ACCESS_KEY_ID", "LOKI_S3_SECRET_ACCESS_KEY"] if _is_bookworm(host) else [])
    assert not host.file("/etc/loki/gcs-service-account.json").exists


def test_systemd_reads_the_credentials_from_the_environment_file(host):
    """systemd itself parses the environment file: the values Loki gets are the variables' values."""
    expected = ({"LOKI_S3_ACCESS_KEY_ID": _bookworm_vars()["loki_s3_access_key_id"],
                 "LOKI_S3_SECRET_ACCESS_KEY": _bookworm_vars()["loki_s3_secret_access_key"]}
                if _is_bookworm(host) else {})
    out = host.run(f"systemd-run --quiet --wait --pipe --collect -p EnvironmentFile={ENV_FILE} /usr/bin/env -0")
    assert out.rc == 0, out.stderr
    env = dict(item.split("=", 1) for item in out.stdout.split("\0") if "=" in item)
    assert {k: v for k, v in env.items() if k.startswith("LOKI_")} == expected


def test_credentials_in_no_other_file(host):
    """Each credential, as it is and as the environment file escapes it, is found in that file only."""
    found = set()
    for name in ("loki_s3_secret_access_key", "loki_s3_access_key_id"):
        secret = _bookworm_vars()[name]
        escaped = "".join("\\" + c if c in '\\"$`' else c for c in secret)
        for form in sorted({secret, escaped}):
            out = host.run(f"grep -rlF -e {shlex.quote(form)} /etc /var/lib/loki /usr/local /opt /root /tmp")
            found.update(out.stdout.split())
    assert sorted(found) == ([ENV_FILE] if _is_bookworm(host) else []), found


def test_config_otlp_and_limits_for_claude_code_events(host):
    limits = _config(host)["limits_config"]
    assert limits["allow_structured_metadata"] is True
    assert limits["otlp_config"]["resource_attributes"] == {
        "ignore_defaults": False,
        "attributes_config": [{"action": "index_label", "attributes": ["service.name"]}],
    }
    assert limits["max_structured_metadata_size"] == "512KB"
    assert limits["max_structured_metadata_entries_count"] == 128
    assert limits["max_line_size"] == "256KB"
    assert limits["max_line_size_truncate"] is True
    assert (limits["ingestion_rate_mb"], limits["ingestion_burst_size_mb"]) == (16.0, 32.0)
    assert (limits["per_stream_rate_limit"], limits["per_stream_rate_limit_burst"]) == ("8MB", "32MB")


def test_config_listen_addresses(host):
    server = _config(host)["server"]
    address = "0.0.0.0" if _is_bookworm(host) else "127.0.0.1"
    assert (server["http_listen_address"], server["http_listen_port"]) == (address, 3100)
    # gRPC is on loopback for the single binary; the hosts of a cluster reach each other on it.
    assert (server["grpc_listen_address"], server["grpc_listen_port"]) == (address, 9096)


def test_config_ruler_local_storage(host):
    ruler = _config(host)["ruler"]
    assert ruler["storage"] == {"type": "local", "local": {"directory": "/etc/loki/rules"}}
    assert ruler["rule_path"] == "/var/lib/loki/rules-temp"
    if _is_bookworm(host):
        assert "alertmanager_url" not in ruler
    else:
        assert ruler["alertmanager_url"] == "http://127.0.0.1:9093"


def test_rule_files(host):
    listing = sorted(host.file("/etc/loki/rules/fake").listdir())
    if _is_bookworm(host):
        # The listed file is deployed; the stale one from prepare.yml is gone.
        assert listing == ["claude-code-test.yml"]
        rules = yaml.safe_load(host.file("/etc/loki/rules/fake/claude-code-test.yml").content_string)
        assert rules["groups"][0]["rules"][0]["alert"] == "ClaudeCodeApiErrors"
        # Copied as is: the alert template is not rendered by Ansible.
        assert "{{ $value }}" in rules["groups"][0]["rules"][0]["annotations"]["summary"]
    else:
        # By default the collection's own Loki rules (files/loki-rules/*.yml) are deployed.
        shipped = sorted(p.name for p in (pathlib.Path(__file__).resolve().parents[3] / "files" / "loki-rules").glob("*.yml"))
        assert listing == shipped


def test_firewall_rules_of_a_cluster_host(host):
    """The cluster host opens its HTTP, gRPC and memberlist ports (TCP and UDP) to the allowed
    network; the single node has the switch off (and its gRPC would be on loopback anyway)."""
    if not _is_bookworm(host):
        assert not host.exists("ufw") or "telemetry.claude_code.loki" not in host.run("ufw show added").stdout
        return
    rules = sorted(line for line in host.check_output("ufw show added").splitlines()[1:] if line.strip())
    print(f"\nufw show added: {rules}")
    assert rules == [
        "ufw allow from 10.20.0.0/16 to any port 3100 proto tcp comment 'telemetry.claude_code.loki http'",
        "ufw allow from 10.20.0.0/16 to any port 7946 proto tcp comment 'telemetry.claude_code.loki memberlist'",
        "ufw allow from 10.20.0.0/16 to any port 7946 proto udp comment 'telemetry.claude_code.loki memberlist-udp'",
        "ufw allow from 10.20.0.0/16 to any port 9096 proto tcp comment 'telemetry.claude_code.loki grpc'",
    ]
    assert host.check_output("ufw status").strip() == "Status: inactive"


def test_unit_file(host):
    unit = host.file("/etc/systemd/system/loki.service").content_string
    assert f"EnvironmentFile={ENV_FILE}\n" in unit
    if _is_bookworm(host):
        # The configuration refers to credentials: Loki expands them when it reads it.
        assert f"ExecStart={BINARY} \\\n    -config.file={CONFIG} \\\n    -config.expand-env=true\n" in unit
    else:
        assert f"ExecStart={BINARY} \\\n    -config.file={CONFIG}\n" in unit
    assert "User=loki" in unit and "Group=loki" in unit
    assert "ReadWritePaths=/var/lib/loki" in unit
    assert "WorkingDirectory=/var/lib/loki" in unit


def test_unit_verify_complains_only_about_the_missing_binary(host):
    complaints = tcc_checks.verify_complaints(host, "/etc/systemd/system/loki.service")
    assert complaints == [MISSING_EXEC], "systemd-analyze verify complains about more than the missing binary"


def test_unit_is_hardened(host):
    score = tcc_checks.exposure(host, "loki.service")
    assert score <= EXPOSURE_LIMIT, f"loki.service: exposure {score} > {EXPOSURE_LIMIT}"


def test_unit_lets_loki_list_network_interfaces(host):
    """Loki lists the host's network interfaces at start (dskit netutil, Go's net.Interfaces(),
    over netlink: roles/loki/tasks/configure.yml). The unit allows AF_NETLINK on top of the
    collection's AF_INET AF_INET6 AF_UNIX, and nothing else. No Loki binary runs here, so the
    same netlink requests (RTM_GETLINK, RTM_GETADDR) are made by `ip -o addr` as the loki user
    under the unit's own RestrictAddressFamilies, and once more without AF_NETLINK, which must fail."""
    unit = host.file("/etc/systemd/system/loki.service").content_string
    assert "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK\n" in unit
    families = host.check_output("systemctl show -p RestrictAddressFamilies --value loki.service")
    assert sorted(families.split()) == ["AF_INET", "AF_INET6", "AF_NETLINK", "AF_UNIX"], families

    def run_as_loki(families):
        return host.run("systemd-run --wait --pipe --quiet -p User=loki -p %s ip -o addr",
                        "RestrictAddressFamilies=" + families)
    allowed = run_as_loki(families)
    print(f"\nip -o addr as loki with RestrictAddressFamilies={families}: rc={allowed.rc}\n{allowed.stdout}")
    assert allowed.rc == 0 and " lo " in allowed.stdout, allowed.stderr
    refused = run_as_loki("AF_INET AF_INET6 AF_UNIX")
    print(f"without AF_NETLINK: rc={refused.rc} {refused.stderr.strip()}")
    assert refused.rc != 0


def test_loki_was_never_started(host):
    """The start-once check of the other roles (a first install starts the service once) needs a
    Loki binary: none can be had here, so Loki was never started, and this says so. The role's
    handler follows the same rule as the other roles (roles/loki/handlers/main.yml)."""
    assert tcc_starts.starts(host, "loki.service") == []
    print("\nloki.service: started 0 times: no binary here, so starting Loki once on a first install is not "
          "exercised by this scenario (the `online` scenario runs the real release)")


def test_service_enabled_but_not_started(host):
    tcc_checks.assert_enabled_not_started(
        host, "loki", BINARY,
        "this scenario converges with loki_skip_install: true. No Loki binary can be had on the test machines "
        "(Loki is published only as GitHub release archives and in the vendor APT repository) and none is "
        "faked. `loki -verify-config` was skipped for the same reason; the `online` scenario runs the real release.")


def test_a_verbose_rerun_with_diff_changes_nothing_and_never_shows_the_credentials():
    """The converge again on the Debian 12 host, with -vvv and --diff: nothing changes, and neither
    credential appears anywhere in Ansible's output."""
    out = subprocess.run(
        ["ansible-playbook", f"--inventory={os.environ['MOLECULE_INVENTORY_FILE']}", "--limit=tcc-loki-bookworm",
         "-vvv", "--diff", str(SCENARIO / "converge.yml")],
        capture_output=True, text=True, timeout=600, check=False,
        env=dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1"),
    )
    output = out.stdout + out.stderr
    assert out.returncode == 0, output[-4000:]
    recap = [line for line in out.stdout.splitlines() if line.startswith("tcc-loki-bookworm")][-1]
    assert " changed=0 " in recap and " failed=0 " in recap, recap
    for name in ("loki_s3_secret_access_key", "loki_s3_access_key_id"):
        secret = _bookworm_vars()[name]
        escaped = "".join("\\" + c if c in '\\"$`' else c for c in secret)
        for form in (secret, escaped, json.dumps(secret)[1:-1]):
            assert form not in output, f"{name} appears in ansible-playbook -vvv --diff output"
    print(f"\nverbose re-run: {recap.split(':', 1)[1].strip()}; {len(output)} characters of output, no credential")
