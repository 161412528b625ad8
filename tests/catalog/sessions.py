"""Run the catalog's scenarios: real Claude Code sessions, their OTLP exports captured.

For each scenario (tests/catalog/scenarios.py) this starts the Messages API stand-in
(tests/claude/fake_messages_api.py) and the OTLP capture receiver (tests/claude/otlp_capture.py)
on free loopback ports, prepares a fresh project directory, config directory and home, runs
``claude -p`` once with the scenario's settings, and returns what was exported. Nothing leaves
the machine: the API is the stand-in, the telemetry goes to the capture, and
CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC keeps Claude Code from anything else.

The session is set up the way tests/claude/run_session.sh sets one up (a dummy API key, no
auto-updater, a fresh CLAUDE_CONFIG_DIR, a git repository, a stand-in for the GitHub CLI), with
a clean environment of its own (no TERM, HOME in the temp dir), so that the catalog does not
depend on the machine or the shell that generates it.
"""

from __future__ import annotations

import json
import mmap
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

import scenarios as scenario_defs  # pylint: disable=import-error

ROOT = pathlib.Path(__file__).resolve().parents[2]
CLAUDE_TOOLS = ROOT / "tests" / "claude"
PROMPT = ("Create hello.py that prints a greeting, run it, read it back, change the greeting, "
          "then have a subagent list the files.")
SESSION_TIMEOUT = 120
GIT_REMOTE = "https://git.example.invalid/telemetry/catalog-demo.git"
SKILL = """---
name: telemetry-check
description: Checks that the telemetry test project is in order. Use when asked to check the project.
---

# Telemetry check

List the files of the project and say whether hello.py is among them.
"""
GH_STAND_IN = """#!/bin/sh
# Test stand-in for the GitHub CLI: `gh pr create` prints the new pull request's URL.
if [ "$1 $2" = "pr create" ]; then
  echo "https://github.example.invalid/telemetry/hello/pull/1"
  exit 0
fi
echo "gh stand-in: only 'gh pr create' is implemented" >&2
exit 1
"""


def telemetry_env(endpoint: str) -> dict:
    """What every session sets: all three signals' exporters to the capture, OTLP http/json,
    short export intervals, and no traffic to anything but the stand-in and the capture."""
    return {
        "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_METRIC_EXPORT_INTERVAL": "2000",
        "OTEL_LOGS_EXPORT_INTERVAL": "1000",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }


class Server:
    """A helper process of tests/claude that prints "listening on http://HOST:PORT" on stderr."""

    def __init__(self, args: list, log_path: pathlib.Path):
        self.log_path = log_path
        self._log = open(log_path, "w", encoding="utf-8")  # pylint: disable=consider-using-with
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable] + args, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log)
        self.port = self._wait_for_port()

    def _wait_for_port(self) -> int:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            match = re.search(r"listening on http://[^:]+:(\d+)", self.log_path.read_text(encoding="utf-8"))
            if match:
                return int(match.group(1))
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.log_path.name}: did not start:\n{self.log_path.read_text(encoding='utf-8')}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def _git(workdir: pathlib.Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=workdir, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def prepare_project(scenario, tmp: pathlib.Path, env: dict, telemetry: dict) -> list:
    """Make the project directory and whatever the scenario needs; return extra claude arguments."""
    workdir = tmp / "project"
    (workdir / ".bin").mkdir(parents=True)
    gh = workdir / ".bin" / "gh"
    gh.write_text(GH_STAND_IN, encoding="utf-8")
    gh.chmod(0o755)
    _git(workdir, "init", "-q", ".")
    _git(workdir, "config", "user.name", "Telemetry Test")
    _git(workdir, "config", "user.email", "telemetry-test@example.invalid")
    (workdir / ".git" / "info" / "exclude").write_text(".bin/\n.claude/\n", encoding="utf-8")
    args = []
    if "git-remote" in scenario.project:
        _git(workdir, "remote", "add", "origin", GIT_REMOTE)
    if "mcp" in scenario.project:
        config = tmp / "mcp.json"
        config.write_text(json.dumps({"mcpServers": {"telemetry-test": {
            "type": "stdio", "command": sys.executable,
            "args": [str(CLAUDE_TOOLS / "mcp_stdio_server.py")]}}}, indent=1), encoding="utf-8")
        args += ["--mcp-config", str(config)]
    if "skill" in scenario.project:
        skill = workdir / ".claude" / "skills" / "telemetry-check"
        skill.mkdir(parents=True)
        (skill / "SKILL.md").write_text(SKILL, encoding="utf-8")
    if "notes" in scenario.project:
        (workdir / "notes.md").write_text("# Notes\n\nThe greeting should be friendly.\n", encoding="utf-8")
    if "hooks" in scenario.project:
        hook = [{"type": "command", "command": "true"}]
        settings = {"hooks": {"PreToolUse": [{"matcher": "*", "hooks": hook}],
                              "PostToolUse": [{"matcher": "*", "hooks": hook}],
                              "Stop": [{"hooks": hook}]}}
        (workdir / ".claude").mkdir(exist_ok=True)
        (workdir / ".claude" / "settings.json").write_text(json.dumps(settings, indent=1), encoding="utf-8")
    # The session's /etc/claude-code (see isolated()): empty, or the scenario's managed settings.
    managed = tmp / "etc-overlay" / "upper" / "claude-code"
    managed.mkdir(parents=True)
    if "managed-settings" in scenario.project:
        # As the claude_code_client role writes them: resource attributes and permissions in
        # managed-settings.json, the telemetry settings in a drop-in of managed-settings.d.
        (managed / "managed-settings.d").mkdir(parents=True)
        (managed / "managed-settings.json").write_text(json.dumps({
            "env": {"OTEL_RESOURCE_ATTRIBUTES": scenario_defs.RESOURCE_ATTRIBUTES},
            "permissions": {"deny": ["Bash(curl:*)"]},
        }, indent=1), encoding="utf-8")
        (managed / "managed-settings.d" / "50-telemetry.json").write_text(
            json.dumps({"env": telemetry}, indent=1), encoding="utf-8")
    else:
        env.update(telemetry)
    return args


def isolated(cmd: list, tmp: pathlib.Path) -> list:
    """cmd, run in a mount namespace of its own where /etc/claude-code is the scenario's.

    Claude Code reads managed settings only from /etc/claude-code on Linux: the override
    CLAUDE_CODE_MANAGED_SETTINGS_PATH that the binaries name is compiled out of the public builds
    (its resolver returns nothing in 2.1.197 and 2.1.332). So every session runs under
    `unshare --mount` with an overlay on /etc whose upper layer holds an opaque claude-code
    directory: empty for most scenarios (whatever the machine has there is hidden, so "defaults"
    means defaults), the scenario's files for the managed-settings ones. The machine's /etc is
    never written. Needs root (CAP_SYS_ADMIN), as the rest of the harness does.
    """
    upper = tmp / "etc-overlay" / "upper"
    work = tmp / "etc-overlay" / "work"
    work.mkdir(parents=True, exist_ok=True)
    # An opaque directory hides the lower layer's /etc/claude-code (overlayfs documentation,
    # "whiteouts and opaque directories").
    os.setxattr(upper / "claude-code", "trusted.overlay.opaque", b"y")
    script = ('mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1,workdir=$2" /etc || exit 97; '
              'shift 2; exec "$@"')
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh",
            str(upper), str(work), *cmd]


def _settle(path: pathlib.Path, quiet: float = 0.5, limit: float = 5.0) -> None:
    """Wait until the capture file has stopped growing (Claude Code flushes before it exits;
    this only waits for the receiver to write the last request)."""
    deadline = time.monotonic() + limit
    last = -1
    while time.monotonic() < deadline:
        size = path.stat().st_size if path.exists() else 0
        if size == last:
            return
        last = size
        time.sleep(quiet)


def read_capture(path: pathlib.Path) -> list:
    """The exports of a capture file: [{"path": "/v1/logs", "body": {...}}, ...]."""
    exports = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                exports.append({"path": record["path"], "body": json.loads(record["body"])})
    return exports


def run_scenario(scenario, claude_bin: str, workroot: pathlib.Path, keep: bool = False,
                 endpoint: str | None = None, extra_env: dict | None = None) -> dict:
    """Run one scenario; return its exports, Claude Code's JSON result and the volatile strings
    (temp paths, ports) that must never appear as a value in the catalog.

    With `endpoint`, the session exports there instead (a stack's OTLP endpoint: the molecule
    scenarios run catalog scenarios against a deployed stack) and nothing is captured; `extra_env`
    is added to the session's environment last."""
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f"{scenario.name}.", dir=workroot))
    capture = tmp / "capture.jsonl"
    stand_in = capture_server = None
    try:
        stand_in = Server([str(CLAUDE_TOOLS / "fake_messages_api.py"), "--port", "0", "--script", scenario.script,
                           *scenario.stand_in_args], tmp / "stand-in.log")
        if endpoint is None:
            capture_server = Server([str(CLAUDE_TOOLS / "otlp_capture.py"), "--port", "0", "--out", str(capture)],
                                    tmp / "capture.log")
        home = tmp / "home"
        config = tmp / "config"
        home.mkdir()
        config.mkdir()
        env = {
            "PATH": f"{tmp / 'project' / '.bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "SHELL": "/bin/bash",
            "TMPDIR": str(tmp),
            "CLAUDE_CONFIG_DIR": str(config),
            "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{stand_in.port}",
            "ANTHROPIC_API_KEY": "sk-ant-test-dummy-key",
            "DISABLE_AUTOUPDATER": "1",
        }
        telemetry = telemetry_env(endpoint or f"http://127.0.0.1:{capture_server.port}")
        extra_args = prepare_project(scenario, tmp, env, telemetry)
        env.update(scenario.environment)
        env.update(extra_env or {})
        cmd = [claude_bin, "-p", scenario.prompt or PROMPT, "--model", scenario.model, "--permission-mode", "acceptEdits",
               "--output-format", "json", *extra_args]
        if scenario.allowed_tools:
            cmd += ["--allowedTools", *scenario.allowed_tools]
        started = time.monotonic()
        try:
            proc = subprocess.run(isolated(cmd, tmp), cwd=tmp / "project", env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True, timeout=SESSION_TIMEOUT, check=False)
            returncode, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as exc:
            returncode, stdout, stderr = 124, exc.stdout or "", exc.stderr or ""
        seconds = time.monotonic() - started
        if endpoint is None:
            _settle(capture)
        try:
            result = json.loads(stdout)
        except ValueError:
            result = None
        problem = None
        if returncode == 124:
            problem = f"timed out after {SESSION_TIMEOUT} s"
        elif result is None:
            problem = f"no JSON result (exit {returncode}): {stderr.strip()[-2000:]}"
        elif (returncode or result.get("is_error")) and not scenario.may_fail:
            problem = f"the session failed (exit {returncode}): {stdout[-2000:]} {stderr.strip()[-1000:]}"
        exports = read_capture(capture) if endpoint is None else []
        if not exports and problem is None and endpoint is None:
            problem = "nothing was exported"
        labels = re.findall(r"-> (\S+)", (tmp / "stand-in.log").read_text(encoding="utf-8"))
        return {
            "scenario": scenario.name,
            "exports": exports,
            "result": result,
            "returncode": returncode,
            "problem": problem,
            "seconds": round(seconds, 1),
            "requests": labels,
            "volatile": sorted({str(tmp), str(workroot), str(ROOT), str(stand_in.port), os.uname().nodename}
                               | ({str(capture_server.port)} if capture_server else set())),
        }
    finally:
        for server in (stand_in, capture_server):
            if server is not None:
                server.stop()
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


def claude_version(claude_bin: str) -> str:
    out = subprocess.run([claude_bin, "--version"], capture_output=True, text=True, check=True,
                         env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tempfile.gettempdir(),
                              "DISABLE_AUTOUPDATER": "1"}).stdout
    match = re.match(r"\s*(\d+\.\d+\.\d+)", out)
    if not match:
        raise RuntimeError(f"{claude_bin} --version said {out!r}")
    return match.group(1)


def variables_in_binary(claude_bin: str, names) -> dict:
    """Whether each variable name occurs in the binary (bin/claude.exe, the native build): a
    variable a binary does not contain is one that version ignores."""
    path = os.path.realpath(claude_bin)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return {name: data.find(name.encode()) >= 0 for name in names}
