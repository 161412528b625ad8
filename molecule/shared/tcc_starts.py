"""How often systemd started a unit since the container booted, from the journal.

A first install must start each service once: the role's service task starts it after
everything is written, and its handlers must not restart (or reload) it again in the same run;
a package's maintainer scripts must not start it first with the package's own configuration.
systemd logs every successful start of a unit (a restart too) with the catalog message ID
"Unit started", 39f53479d3a045ac8e11786248231fbf (systemd's src/systemd/sd-messages.h,
SD_MESSAGE_UNIT_STARTED), tagged with UNIT=<unit>: counting those messages counts the starts,
whoever asked for them. The containers boot fresh for each scenario, so the count covers the
first converge, the idempotence run and whatever verify did before.
"""

from __future__ import annotations

UNIT_STARTED = "39f53479d3a045ac8e11786248231fbf"


def starts(host, unit: str) -> list:
    """The "Started <unit>" messages of this boot, with their times, oldest first."""
    out = host.run(
        "journalctl -b --no-pager -o short-iso MESSAGE_ID=%s UNIT=%s", UNIT_STARTED, unit)
    assert out.rc == 0, out.stderr
    return [line for line in out.stdout.splitlines() if line.strip() and not line.startswith("-- ")]


def assert_started_once(host, unit: str) -> None:
    lines = starts(host, unit)
    print(f"\n{unit} on {host.backend.get_hostname()}: started {len(lines)} time(s) since boot")
    for line in lines:
        print("   ", line)
    assert len(lines) == 1, f"{unit} was started {len(lines)} times, expected exactly once"


def journal_matches(host, unit: str, pattern: str) -> list:
    """Lines of the unit's own log (its processes' output) that match an extended regex."""
    out = host.run("journalctl -b --no-pager -o cat -u %s | grep -E -i -- %s || true", unit, pattern)
    return [line for line in out.stdout.splitlines() if line.strip()]
