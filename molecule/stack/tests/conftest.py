"""Shared by the stack tests: one real Claude Code session per supported version, run once per test run.

The real CLI of every supported version (npm @anthropic-ai/claude-code: the oldest and the
newest, installed by tests/harness.sh, which names them in TCC_CLAUDE_BINS) runs on the
controller against tests/claude/fake_messages_api.py, a test stand-in for the Anthropic
Messages API, and exports OTLP to the stack container, with EVERY content opt-in of the client
on and a unique marker in the prompt and the repository's URL (test_privacy.py looks for it).
Every session's JSON result is appended to sessions.jsonl in the scenario's ephemeral
directory, so tests that compare dashboard totals can add up every session the stack has seen.
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
import uuid

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))
# pylint: disable=wrong-import-position,import-error
from tcc_sessions import CONTENT_OPT_INS, ROOT, claude_bins, container_ip, free_port, run_session  # noqa: E402,F401
from tcc_sessions import session_env as _session_env  # noqa: E402
from tcc_sessions import start_messages_api as _start_messages_api  # noqa: E402

CONTAINER = f"tcc-stack-{os.environ.get('TCC_STACK_SUITE') or 'trixie'}"  # molecule.yml
SESSIONS_FILE = pathlib.Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp")) / "sessions.jsonl"
# A string that must never reach storage: it is in the prompt and in the repository's URL.
MARKER = f"tccmarker{uuid.uuid4().hex[:12]}"
VERSIONS = list(claude_bins())
_free_port = free_port


def _container_ip() -> str:
    return container_ip(CONTAINER)


def session_env(endpoint: str, api_port: int, protocol: str = "http/protobuf", version: str | None = None) -> dict:
    """A scripted session with every content opt-in on and the marker in its prompt and repository URL."""
    return _session_env(
        endpoint, api_port, version or VERSIONS[-1], protocol,
        # The developer opts in to every kind of content: the collector's defaults must still
        # keep all of it out of Prometheus, the Loki export and anything else (test_privacy.py).
        **CONTENT_OPT_INS,
        # The marker in the prompt, and in the repository's URL (run_session.sh makes the work
        # directory a git repository; this gives it a remote).
        CLAUDE_PROMPT=f"Create hello.py that prints a greeting ({MARKER}), run it, read it back, change the "
                      "greeting, then have a subagent list the files.",
        GIT_CONFIG_COUNT="1",
        GIT_CONFIG_KEY_0="remote.origin.url",
        GIT_CONFIG_VALUE_0=f"https://git.example.invalid/acme/{MARKER}.git",
    )


def start_messages_api():
    """The Messages API stand-in on a free loopback port: (process, port).

    The subagent's last request fails once (HTTP 400): Claude Code 2.1.197 emits a real
    api_error event and the session completes (2.1.332 retries a 400 and emits none).
    """
    return _start_messages_api("--fail-once", "subagent/final:400")


def _token() -> str:
    path = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "ingest-token"
    return path.read_text(encoding="utf-8").strip() if path.exists() else ""


@pytest.fixture(scope="session")
def sessions_by_version():
    """One scripted session of every supported Claude Code against the stack: {version: JSON result}."""
    results = {}
    for version in VERSIONS:
        # A stand-in of its own per session: its scripted failure is once per stand-in.
        api, port = start_messages_api()
        try:
            env = session_env(f"http://{_container_ip()}:4318", port, version=version)
            if _token():
                env["OTEL_EXPORTER_OTLP_HEADERS"] = f"Authorization=Bearer {_token()}"
            result = run_session(env)
        finally:
            api.terminate()
            api.wait(timeout=10)
        result["claude_code_version"] = version
        with SESSIONS_FILE.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(result) + "\n")
        print(f"Claude Code {version} says: total_cost_usd={result['total_cost_usd']} "
              f"modelUsage={json.dumps(result['modelUsage'])}")
        results[version] = result
    return results


def _feature_env() -> dict:
    """The feature sessions' team, and the collector's bearer token when it requires one."""
    # More time for the exit export, as tcc_sessions.session_env gives the scripted sessions.
    env = {"OTEL_RESOURCE_ATTRIBUTES": "team=platform,cost_center=4711", "CLAUDE_CODE_OTEL_SHUTDOWN_TIMEOUT_MS": "15000"}
    if _token():
        env["OTEL_EXPORTER_OTLP_HEADERS"] = f"Authorization=Bearer {_token()}"
    return env


# Catalog scenarios (tests/catalog/scenarios.py) that emit what the scripted session does not:
# an MCP tool call with tool details (the names the collector takes out), a skill, hooks, and a
# subagent's request that fails until its retries are exhausted.
FEATURE_SCENARIOS = ("mcp-tool-details", "skill", "hooks", "api-error-529")


@pytest.fixture(scope="session")
def feature_sessions():
    """The FEATURE_SCENARIOS of the newest supported Claude Code against the stack: {name: JSON result}."""
    sys.path.insert(0, str(ROOT / "tests" / "catalog"))
    import scenarios  # noqa: E402  pylint: disable=import-outside-toplevel,import-error
    import sessions  # noqa: E402  pylint: disable=import-outside-toplevel,import-error
    by_name = {s.name: s for s in scenarios.SCENARIOS}
    workroot = pathlib.Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp")) / "feature-sessions"
    workroot.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in FEATURE_SCENARIOS:
        run = sessions.run_scenario(by_name[name], claude_bins()[VERSIONS[-1]], workroot,
                                    endpoint=f"http://{_container_ip()}:4318",
                                    extra_env=_feature_env())
        assert run["problem"] is None and run["result"], f"{name}: {run['problem']}"
        # Whether the stand-in asked for the commit and the pull request (the overview counts them).
        result = dict(run["result"], claude_code_version=VERSIONS[-1], scenario=name,
                      scripted_commit="main/commit" in run["requests"], scripted_pr="main/pr" in run["requests"])
        with SESSIONS_FILE.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(result) + "\n")
        print(f"{name} (Claude Code {VERSIONS[-1]}): total_cost_usd={result.get('total_cost_usd')}")
        results[name] = result
    return results


@pytest.fixture(scope="session")
def session(sessions_by_version):  # pylint: disable=redefined-outer-name
    """The newest supported Claude Code's session."""
    return sessions_by_version[VERSIONS[-1]]


def all_sessions() -> list:
    """Every session this stack has seen (this run's and earlier verify runs')."""
    if not SESSIONS_FILE.exists():
        return []
    return [json.loads(line) for line in SESSIONS_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
