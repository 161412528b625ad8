#!/usr/bin/env bash
# Run ONE real, non-interactive Claude Code session against the Messages API
# test stand-in (fake_messages_api.py) and print Claude Code's JSON result
# (type "result": total_cost_usd, usage, modelUsage, ...) on stdout.
#
# The caller provides:
#   ANTHROPIC_BASE_URL   (required) URL of the running stand-in, e.g. http://127.0.0.1:8787
#   telemetry settings   CLAUDE_CODE_ENABLE_TELEMETRY, OTEL_* ... in the environment, or in
#                        managed settings (/etc/claude-code/managed-settings.json).
#                        This script sets NO OTEL/telemetry variable itself.
# Optional:
#   CLAUDE_BIN           claude executable (default: claude on PATH)
#   CLAUDE_MODEL         main-loop model (default: claude-sonnet-4-5)
#   CLAUDE_PROMPT        the prompt (the stand-in's script ignores its wording)
#   CLAUDE_CONFIG_DIR    Claude Code config/state dir; default: a fresh temp dir, so every
#                        run starts clean (no onboarding state, no old sessions; this is
#                        also where .claude.json goes). Managed settings still apply.
#   CLAUDE_TIMEOUT       seconds before the session is killed (default 300)
#   KEEP_WORKDIR=1       keep the temp work dir (its path is printed on stderr)
#   CLAUDE_PROJECT_SETTINGS  JSON written to the project's .claude/settings.json (project
#                        settings: hooks, an env block such as OTEL_RESOURCE_ATTRIBUTES, ...)
#   CLAUDE_EXTRA_ARGS    more claude arguments, split on spaces (e.g. --mcp-config FILE)
#   CLAUDE_GIT_REMOTE    the URL of a remote `origin` written into the repository's .git/config
#                        (Claude Code 2.1.332 reads the repository from there: with the remote
#                        given only by GIT_CONFIG_* variables it sent no vcs.* attribute, measured)
#
# Exit status: claude's own when non-zero (124 on timeout), 1 when the JSON result is
# missing or has is_error true, 2 on bad usage, else 0.
set -euo pipefail

if [ -z "${ANTHROPIC_BASE_URL:-}" ]; then
  echo "run_session.sh: ANTHROPIC_BASE_URL must point at the Messages API stand-in" >&2
  exit 2
fi

CLAUDE_BIN=${CLAUDE_BIN:-claude}
CLAUDE_MODEL=${CLAUDE_MODEL:-claude-sonnet-4-5}
CLAUDE_PROMPT=${CLAUDE_PROMPT:-"Create hello.py that prints a greeting, run it, read it back, change the greeting, then have a subagent list the files."}
CLAUDE_TIMEOUT=${CLAUDE_TIMEOUT:-300}

if ! command -v "$CLAUDE_BIN" >/dev/null 2>&1; then
  echo "run_session.sh: claude executable not found: $CLAUDE_BIN" >&2
  exit 2
fi

workdir=$(mktemp -d "${TMPDIR:-/tmp}/claude-session.XXXXXX")
own_config=
if [ -z "${CLAUDE_CONFIG_DIR:-}" ]; then
  own_config=$(mktemp -d "${TMPDIR:-/tmp}/claude-config.XXXXXX")
  export CLAUDE_CONFIG_DIR=$own_config
fi
cleanup() {
  if [ "${KEEP_WORKDIR:-0}" = 1 ]; then
    echo "run_session.sh: kept work dir $workdir${own_config:+ and config dir $own_config}" >&2
  else
    rm -rf "$workdir" ${own_config:+"$own_config"}
  fi
}
trap cleanup EXIT

# A dummy key: the stand-in accepts anything, and a real key must never be
# sent to it. No auto-update check (there is nothing to reach).
export ANTHROPIC_API_KEY=sk-ant-test-dummy-key
unset ANTHROPIC_AUTH_TOKEN CLAUDE_CODE_OAUTH_TOKEN || true
export DISABLE_AUTOUPDATER=1

cd "$workdir"
# A project to work in: a git repository (the script commits hello.py, and Claude Code counts
# the commit), and a stand-in for the GitHub CLI that answers `gh pr create` with a pull
# request URL the way gh does (Claude Code counts the pull request). Nothing leaves the machine.
# Without git (the client scenario's developer container is on an isolated network and has
# none), the commit step fails as a tool error, the session goes on, and no commit is counted.
if command -v git >/dev/null 2>&1; then
  git init -q .
  git config user.name "Telemetry Test"
  git config user.email "telemetry-test@example.invalid"
  printf '.bin/\n.claude/\n.claude-result.json\n' >.git/info/exclude
  if [ -n "${CLAUDE_GIT_REMOTE:-}" ]; then
    git remote add origin "$CLAUDE_GIT_REMOTE"
  fi
fi
if [ -n "${CLAUDE_PROJECT_SETTINGS:-}" ]; then
  mkdir -p .claude
  printf '%s\n' "$CLAUDE_PROJECT_SETTINGS" >.claude/settings.json
fi
extra_args=()
if [ -n "${CLAUDE_EXTRA_ARGS:-}" ]; then
  read -r -a extra_args <<<"$CLAUDE_EXTRA_ARGS"
fi
mkdir -p "$workdir/.bin"
cat >"$workdir/.bin/gh" <<'GH'
#!/bin/sh
# Test stand-in for the GitHub CLI: `gh pr create` prints the new pull request's URL.
if [ "$1 $2" = "pr create" ]; then
  echo "https://github.example.invalid/telemetry/hello/pull/1"
  exit 0
fi
echo "gh stand-in: only 'gh pr create' is implemented" >&2
exit 1
GH
chmod +x "$workdir/.bin/gh"
export PATH="$workdir/.bin:$PATH"
# acceptEdits lets Write/Edit run without a prompt; Bash commands that are not
# read-only need an explicit allow rule (bypassPermissions /
# --dangerously-skip-permissions is refused when running as root).
# </dev/null: -p mode must never wait for stdin.
result="$workdir/.claude-result.json"
rc=0
timeout "$CLAUDE_TIMEOUT" "$CLAUDE_BIN" -p "$CLAUDE_PROMPT" \
  --model "$CLAUDE_MODEL" \
  --permission-mode acceptEdits \
  --allowedTools "Bash(python3 hello.py)" "Bash(ls)" "Bash(git add:*)" "Bash(git commit:*)" \
  "Bash(gh pr create:*)" \
  ${extra_args[@]+"${extra_args[@]}"} \
  --output-format json </dev/null >"$result" || rc=$?
cat "$result"
if [ "$rc" -ne 0 ]; then
  echo "run_session.sh: claude exited with status $rc" >&2
  exit "$rc"
fi
# Belt and braces: a result that reports an error fails the run too.
if ! grep -q '"type":"result"' "$result" || grep -q '"is_error":true' "$result"; then
  echo "run_session.sh: claude reported an error (see its JSON result)" >&2
  exit 1
fi
