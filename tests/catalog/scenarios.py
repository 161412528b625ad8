"""The scripted sessions the catalog of what Claude Code emits is generated from.

Each scenario is ONE real ``claude -p`` session against the Messages API stand-in
(tests/claude/fake_messages_api.py) that exports OTLP http/json to the capture receiver
(tests/claude/otlp_capture.py). A scenario names the stand-in's script, the environment it
adds to the telemetry settings every session has (sessions.TELEMETRY_ENV), the command-line
arguments, and what its project directory holds (a git remote, an MCP server, a skill, hooks,
managed settings). tests/catalog/sessions.py runs them; tests/catalog/normalise.py turns what
they exported into the catalog.

The scenario names are written into the catalog (each attribute lists the scenarios it was seen
in), so renaming one changes every catalog: keep them stable.
"""

from __future__ import annotations

import dataclasses

# The content opt-ins, as the documentation and the binaries name them (`strings` on
# bin/claude.exe: 2.1.197 has no OTEL_METRICS_INCLUDE_REPOSITORY, OTEL_RESOURCE_INCLUDE_HOST
# or OTEL_LOG_MANAGED_SETTINGS; 2.1.332 has them all). A version that does not know a
# variable ignores it; the catalog records which ones each binary contains.
OPT_INS = {
    "OTEL_LOG_USER_PROMPTS": "1",
    "OTEL_LOG_TOOL_DETAILS": "1",
    "OTEL_LOG_TOOL_CONTENT": "1",
    "OTEL_LOG_ASSISTANT_RESPONSES": "1",
    "OTEL_LOG_RAW_API_BODIES": "1",
    "OTEL_METRICS_INCLUDE_REPOSITORY": "true",
    "OTEL_RESOURCE_INCLUDE_HOST": "true",
    "OTEL_METRICS_INCLUDE_VERSION": "true",
    "OTEL_METRICS_INCLUDE_ENTRYPOINT": "true",
    "OTEL_LOG_MANAGED_SETTINGS": "1",
}
# Traces are a beta: both the exporter and the beta switch (Claude Code's monitoring docs,
# "Traces (beta)").
TRACES = {"CLAUDE_CODE_ENHANCED_TELEMETRY_BETA": "1", "OTEL_TRACES_EXPORTER": "otlp",
          "OTEL_TRACES_EXPORT_INTERVAL": "1000"}

# Every variable a scenario of the catalog sets to turn something on, for the catalog's
# record of which of them each Claude Code binary contains.
VARIABLES = sorted(set(OPT_INS) | set(TRACES) | {"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
                                                 "OTEL_RESOURCE_ATTRIBUTES", "CLAUDE_CODE_MAX_RETRIES"})

# The Bash commands the stack script runs (run_session.sh allows the same ones).
STACK_ALLOWED_TOOLS = ("Bash(python3 hello.py)", "Bash(ls)", "Bash(git add:*)", "Bash(git commit:*)",
                       "Bash(gh pr create:*)")
# Resource attributes of the managed-settings scenario, as the claude_code_client role writes them
# (claude_code_client_resource_attributes): example keys, chosen by whoever deploys.
RESOURCE_ATTRIBUTES = "team=platform,cost_center=4711"


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One scripted session."""

    name: str
    description: str
    # The stand-in's script (fake_messages_api.py --script).
    script: str = "stack"
    # Added to the session's environment (after the telemetry settings).
    env: tuple = ()
    stand_in_args: tuple = ()
    model: str = "claude-sonnet-4-5"
    # The prompt; None: the stack scenario's (sessions.PROMPT). The stand-in ignores its wording.
    prompt: str | None = None
    allowed_tools: tuple = STACK_ALLOWED_TOOLS
    # What the project directory holds besides a git repository: any of "git-remote", "mcp",
    # "skill", "hooks", "notes" (a notes.md file), "managed-settings". With "managed-settings" the telemetry settings
    # (sessions.TELEMETRY_ENV) are in the managed settings, not in the environment.
    project: tuple = ()
    # The session may end with is_error (a persistent failure of the main loop).
    may_fail: bool = False

    @property
    def environment(self) -> dict:
        return dict(self.env)


def _env(**variables) -> tuple:
    return tuple(sorted(variables.items()))


def _one(variable: str) -> tuple:
    return ((variable, OPT_INS[variable]),)


SCENARIOS = (
    Scenario("default", "The stack scenario's session (Write, Bash, Read, Edit, an Agent subagent on the haiku "
             "alias, a git commit, a pull request), default settings: no content opt-in, delta temporality."),
    Scenario("cumulative", "The default session with OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=cumulative.",
             env=_env(OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE="cumulative")),
    Scenario("opt-in-user-prompts", "The default session with OTEL_LOG_USER_PROMPTS=1.",
             env=_one("OTEL_LOG_USER_PROMPTS")),
    Scenario("opt-in-tool-details", "The default session with OTEL_LOG_TOOL_DETAILS=1.",
             env=_one("OTEL_LOG_TOOL_DETAILS")),
    Scenario("opt-in-tool-content", "The default session with OTEL_LOG_TOOL_CONTENT=1.",
             env=_one("OTEL_LOG_TOOL_CONTENT")),
    Scenario("opt-in-assistant-responses", "The default session with OTEL_LOG_ASSISTANT_RESPONSES=1.",
             env=_one("OTEL_LOG_ASSISTANT_RESPONSES")),
    Scenario("opt-in-raw-api-bodies", "The default session with OTEL_LOG_RAW_API_BODIES=1.",
             env=_one("OTEL_LOG_RAW_API_BODIES")),
    Scenario("opt-in-raw-api-bodies-file", "The default session with OTEL_LOG_RAW_API_BODIES=file:DIR (bodies "
             "written to files in DIR, the events point at them; DIR relative to the project).",
             env=_env(OTEL_LOG_RAW_API_BODIES="file:raw-api-bodies")),
    Scenario("opt-in-repository", "The default session with OTEL_METRICS_INCLUDE_REPOSITORY=true, in a git "
             "repository whose origin is a remote URL.",
             env=_one("OTEL_METRICS_INCLUDE_REPOSITORY"), project=("git-remote",)),
    Scenario("opt-in-host", "The default session with OTEL_RESOURCE_INCLUDE_HOST=true.",
             env=_one("OTEL_RESOURCE_INCLUDE_HOST")),
    Scenario("opt-in-metrics-version", "The default session with OTEL_METRICS_INCLUDE_VERSION=true.",
             env=_one("OTEL_METRICS_INCLUDE_VERSION")),
    Scenario("opt-in-metrics-entrypoint", "The default session with OTEL_METRICS_INCLUDE_ENTRYPOINT=true.",
             env=_one("OTEL_METRICS_INCLUDE_ENTRYPOINT")),
    Scenario("opt-in-managed-settings-log", "A one-answer session with managed settings present (as in "
             "managed-settings) and OTEL_LOG_MANAGED_SETTINGS=1.",
             script="simple", env=_one("OTEL_LOG_MANAGED_SETTINGS"), project=("managed-settings",)),
    Scenario("traces", "The default session with traces on: CLAUDE_CODE_ENHANCED_TELEMETRY_BETA=1 and "
             "OTEL_TRACES_EXPORTER=otlp.", env=tuple(sorted(TRACES.items()))),
    Scenario("traces-user-prompts", "The traces session with OTEL_LOG_USER_PROMPTS=1.",
             env=tuple(sorted({**TRACES, "OTEL_LOG_USER_PROMPTS": "1"}.items()))),
    Scenario("traces-tool-details", "The traces session with OTEL_LOG_TOOL_DETAILS=1.",
             env=tuple(sorted({**TRACES, "OTEL_LOG_TOOL_DETAILS": "1"}.items()))),
    Scenario("traces-tool-content", "The traces session with OTEL_LOG_TOOL_CONTENT=1 (tool content goes into "
             "span events).", env=tuple(sorted({**TRACES, "OTEL_LOG_TOOL_CONTENT": "1"}.items()))),
    Scenario("all-opt-ins", "The default session with every opt-in at once (all OTEL_LOG_* content "
             "variables, OTEL_METRICS_INCLUDE_* in a git repository with a remote, OTEL_RESOURCE_INCLUDE_HOST) "
             "and traces on.",
             env=tuple(sorted({**OPT_INS, **TRACES}.items())), project=("git-remote",)),
    Scenario("tool-error", "A Bash command that exits non-zero (ls of a missing file), then a Read of a "
             "missing file.", script="tool-error", allowed_tools=("Bash(ls:*)",)),
    Scenario("permission-denied", "A Bash command that no rule allows and that is not read-only, in -p "
             "mode (acceptEdits): denied without a prompt.", script="permission-denied", allowed_tools=()),
    Scenario("api-error-400", "The default session, every request of the subagent answered HTTP 400 "
             "(invalid_request_error).", stand_in_args=("--fail-always", "subagent/*:400")),
    Scenario("api-error-529", "The default session, every request of the subagent answered HTTP 529 "
             "(overloaded_error) until Claude Code gives up; CLAUDE_CODE_MAX_RETRIES=2 (3 attempts), because "
             "the default 10 retries back off for about 3 minutes (measured: 187 s with 2.1.197, 193 s with "
             "2.1.332) and emit the same events.",
             env=_env(CLAUDE_CODE_MAX_RETRIES="2"), stand_in_args=("--fail-always", "subagent/*:529")),
    Scenario("agents", "A foreground Agent subagent (run_in_background false, model haiku), then a background "
             "one (run_in_background true) that finishes after the main loop's final answer (the stand-in "
             "holds its last reply until then).", script="agents", allowed_tools=("Bash(ls)",)),
    Scenario("model-opus", "A one-answer session with --model opus (what the alias resolves to).",
             script="simple", model="opus"),
    Scenario("model-haiku", "A one-answer session with --model haiku.", script="simple", model="haiku"),
    Scenario("model-claude-opus-4-1", "A one-answer session with --model claude-opus-4-1.",
             script="simple", model="claude-opus-4-1"),
    Scenario("mcp", "A call of the tool of a real stdio MCP server (tests/claude/mcp_stdio_server.py, "
             "--mcp-config).", script="mcp", allowed_tools=("mcp__telemetry-test__word_count",),
             project=("mcp",)),
    Scenario("mcp-tool-details", "The mcp session with OTEL_LOG_TOOL_DETAILS=1.", script="mcp",
             env=_one("OTEL_LOG_TOOL_DETAILS"), allowed_tools=("mcp__telemetry-test__word_count",),
             project=("mcp",)),
    Scenario("skill", "The Skill tool with a project skill (.claude/skills/telemetry-check/SKILL.md).",
             script="skill", project=("skill",)),
    Scenario("skill-tool-details", "The skill session with OTEL_LOG_TOOL_DETAILS=1.", script="skill",
             env=_one("OTEL_LOG_TOOL_DETAILS"), project=("skill",)),
    Scenario("at-mention", "A one-answer session whose prompt mentions a file of the project (@notes.md).",
             script="simple", prompt="Summarise @notes.md in one sentence.", project=("notes",)),
    Scenario("hooks", "The default session with a PreToolUse, a PostToolUse and a Stop command hook in the "
             "project's .claude/settings.json.", project=("hooks",)),
    Scenario("managed-settings", "The default session configured only by managed settings "
             "(CLAUDE_CODE_MANAGED_SETTINGS_PATH: a managed-settings.json with the telemetry settings and "
             "OTEL_RESOURCE_ATTRIBUTES=" + RESOURCE_ATTRIBUTES + " as the claude_code_client role writes them, "
             "and a managed-settings.d drop-in), nothing in the environment.",
             project=("managed-settings",)),
)


def by_name() -> dict:
    return {s.name: s for s in SCENARIOS}
