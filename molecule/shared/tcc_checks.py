"""Checks that every role scenario's testinfra tests make the same way.

Imported by the scenarios' tests (molecule/<scenario>/tests/) after they put this directory
on sys.path. One place for: a unit's systemd-analyze exposure, systemd-analyze verify's
complaints, waiting for a condition, and the services that a scenario installs without their
binary (Grafana, Loki: no binary can be had on the test machines).
"""

from __future__ import annotations

import time

# The target of the collection's hardened unit template (roles/_common/templates/service.j2).
EXPOSURE_LIMIT = 1.5  # the design target: every unit at most 1.5


def exposure(host, unit: str) -> float:
    """systemd-analyze security's overall exposure of a unit, printed with the host's name."""
    out = host.run("systemd-analyze security --no-pager %s", unit)
    assert out.rc == 0, out.stderr
    last = [line for line in out.stdout.splitlines() if "Overall exposure level" in line][0]
    score = float(last.split(f"exposure level for {unit}:")[1].split()[0])
    print(f"systemd-analyze security exposure for {unit} on {host.backend.get_hostname()}: {score}")
    return score


def assert_hardened(host, unit: str) -> None:
    score = exposure(host, unit)
    assert score <= EXPOSURE_LIMIT, f"{unit}: exposure {score} > {EXPOSURE_LIMIT}"


def verify_complaints(host, unit_path: str) -> list:
    """What systemd-analyze verify says about a unit file (one line each)."""
    out = host.run("systemd-analyze verify --man=no %s", unit_path)
    complaints = [line for line in (out.stdout + out.stderr).splitlines() if line.strip()]
    print(f"\nsystemd-analyze verify {unit_path} (rc={out.rc}): {complaints}")
    return complaints


def assert_enabled_not_started(host, service: str, binary: str, why: str) -> None:
    """A service the scenario installs without its binary: enabled, not running, and said so."""
    unit = host.service(service)
    assert unit.is_enabled
    assert not unit.is_running
    assert not host.file(binary).exists
    state = host.check_output("systemctl show -p ActiveState -p UnitFileState %s.service", service)
    print(f"\n{service}.service is enabled but was NOT started ({state.replace(chr(10), ', ')}): {binary} does not "
          f"exist, because {why}")


def wait_for(check, timeout=30.0, step=1.0):
    """Call check() until it returns something true or the timeout passes; return its last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(step)
