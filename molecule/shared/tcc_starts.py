"""How often systemd started (and reloaded) a unit since the container booted, from the journal.

A first install must start each service once: the role's service task starts it after
everything is written, and its handlers must not restart or reload it again in the same run;
a package's maintainer scripts must not start it first with the package's own configuration.
systemd logs each job it completes on a unit with a catalog message ID and UNIT=<unit> (systemd's
src/systemd/sd-messages.h): SD_MESSAGE_UNIT_STARTED "Started <unit>" for every start (a
restart too), SD_MESSAGE_UNIT_RELOADING "Reloading <unit>" for every reload. Counting those
counts what happened to the unit, whoever asked for it. The containers boot fresh for each
scenario, so the counts cover the first converge, the idempotence run and verify so far.
"""

from __future__ import annotations

UNIT_STARTED = "39f53479d3a045ac8e11786248231fbf"
UNIT_RELOADING = "d34d037fff1847e6ae669a370e694725"


def _messages(host, unit: str, message_id: str) -> list:
    out = host.run("journalctl -b --no-pager -o short-iso MESSAGE_ID=%s UNIT=%s", message_id, unit)
    assert out.rc == 0, out.stderr
    return [line for line in out.stdout.splitlines() if line.strip() and not line.startswith("-- ")]


def starts(host, unit: str) -> list:
    """The "Started <unit>" messages of this boot, with their times, oldest first."""
    return _messages(host, unit, UNIT_STARTED)


def reloads(host, unit: str) -> list:
    """The "Reloading <unit>" messages of this boot, with their times, oldest first."""
    return _messages(host, unit, UNIT_RELOADING)


def assert_started_once(host, unit: str) -> None:
    """Started exactly once and never reloaded since boot (printed with the times)."""
    started, reloaded = starts(host, unit), reloads(host, unit)
    print(f"\n{unit} on {host.backend.get_hostname()}: started {len(started)} time(s), "
          f"reloaded {len(reloaded)} time(s) since boot")
    for line in started + reloaded:
        print("   ", line)
    assert len(started) == 1, f"{unit} was started {len(started)} times, expected exactly once"
    assert not reloaded, f"{unit} was reloaded {len(reloaded)} times, expected never"


def journal_matches(host, unit: str, pattern: str) -> list:
    """Lines of the unit's own log (its processes' output) that match an extended regex."""
    out = host.run("journalctl -b --no-pager -o cat -u %s | grep -E -i -- %s || true", unit, pattern)
    return [line for line in out.stdout.splitlines() if line.strip()]
