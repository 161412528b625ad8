"""Loki converged with loki_skip_install: everything but the binary is in place and correct.

No Loki binary can be had on the test machines and none is faked, so the service is enabled
but not started; these tests say so in their output (run with -s).
"""

import pathlib

import sys
import yaml
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))
import tcc_checks  # noqa: E402  pylint: disable=wrong-import-position,import-error
import tcc_starts  # noqa: E402  pylint: disable=wrong-import-position,import-error

BINARY = "/usr/local/bin/loki"
CONFIG = "/etc/loki/loki.yml"
MISSING_EXEC = f"loki.service: Command {BINARY} is not executable: No such file or directory"
# The target of the collection's hardened unit (issue 14: at most 1.5 for every unit).
EXPOSURE_LIMIT = 1.5


def _is_bookworm(host):
    return host.backend.get_hostname().endswith("bookworm")


def _config(host):
    return yaml.safe_load(host.file(CONFIG).content_string)


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


def test_config_single_tenant_filesystem_tsdb_v13(host):
    cfg = _config(host)
    assert cfg["auth_enabled"] is False
    assert cfg["common"]["replication_factor"] == 1
    assert cfg["common"]["ring"]["kvstore"]["store"] == "inmemory"
    assert cfg["common"]["path_prefix"] == "/var/lib/loki"
    [schema] = cfg["schema_config"]["configs"]
    assert (schema["store"], schema["object_store"], schema["schema"]) == ("tsdb", "filesystem", "v13")
    assert schema["index"]["period"] == "24h"
    assert cfg["storage_config"]["filesystem"]["directory"] == "/var/lib/loki/chunks"
    assert cfg["storage_config"]["tsdb_shipper"]["active_index_directory"] == "/var/lib/loki/tsdb-index"
    assert cfg["analytics"]["reporting_enabled"] is False


def test_config_retention_by_compactor(host):
    cfg = _config(host)
    assert cfg["compactor"]["retention_enabled"] is True
    assert cfg["compactor"]["delete_request_store"] == "filesystem"
    assert cfg["compactor"]["working_directory"] == "/var/lib/loki/compactor"
    expected = "14d" if _is_bookworm(host) else "30d"
    assert cfg["limits_config"]["retention_period"] == expected


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
    # gRPC stays on loopback: only Loki's own components use it.
    assert (server["grpc_listen_address"], server["grpc_listen_port"]) == ("127.0.0.1", 9096)


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


def test_unit_file(host):
    unit = host.file("/etc/systemd/system/loki.service").content_string
    assert f"ExecStart={BINARY} \\\n    -config.file={CONFIG}" in unit
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
