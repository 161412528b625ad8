#!/usr/bin/env bash
# Run ONE real, INTERACTIVE Claude Code session in tmux against the Messages API test stand-in
# (fake_messages_api.py): type the prompt, answer each Bash permission prompt with "Yes" the way
# a developer does, then /exit. What only interactive sessions emit (active_time type="user",
# tool decisions made by the user, slash commands in user_prompt) is measured this way; the
# scripted -p sessions of run_session.sh cannot show it. A measuring tool, not part of the tests.
#
# The caller provides ANTHROPIC_BASE_URL (the stand-in) and the telemetry settings in the
# environment (CLAUDE_CODE_ENABLE_TELEMETRY, OTEL_*), as for run_session.sh.
# Optional: CLAUDE_BIN (default claude), CLAUDE_MODEL, CLAUDE_PROMPT, THINK_SECONDS (how long the
# "developer" waits before answering a permission prompt, default 2).
# It prints the tmux screen at the end on stderr. Needs tmux (Debian package tmux).
set -euo pipefail

: "${ANTHROPIC_BASE_URL:?ANTHROPIC_BASE_URL must point at the Messages API stand-in}"
CLAUDE_BIN=${CLAUDE_BIN:-claude}
CLAUDE_MODEL=${CLAUDE_MODEL:-claude-sonnet-4-5}
CLAUDE_PROMPT=${CLAUDE_PROMPT:-"Create hello.py that prints a greeting, run it, read it back, change the greeting, then have a subagent list the files."}
THINK_SECONDS=${THINK_SECONDS:-2}
command -v tmux >/dev/null || { echo "run_interactive.sh: tmux is needed" >&2; exit 2; }
command -v "$CLAUDE_BIN" >/dev/null || { echo "run_interactive.sh: claude not found: $CLAUDE_BIN" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/claude-interactive.XXXXXX")
workdir=$tmp/work config=$tmp/config sock=$tmp/tmux.sock
mkdir -p "$workdir" "$config"
trap 'tmux -S "$sock" kill-server 2>/dev/null || true; rm -rf "$tmp"' EXIT

export ANTHROPIC_API_KEY=sk-ant-test-dummy-key DISABLE_AUTOUPDATER=1 CLAUDE_CONFIG_DIR=$config
unset ANTHROPIC_AUTH_TOKEN CLAUDE_CODE_OAUTH_TOKEN || true
# First start without this state runs the onboarding, which checks that api.anthropic.com is
# reachable and stops when it is not. Mark onboarding done, the dummy key approved and the work
# directory trusted, as a developer's ~/.claude.json would be after the first run.
python3 - "$config/.claude.json" "$workdir" "$ANTHROPIC_API_KEY" <<'PY'
import json, sys
path, workdir, key = sys.argv[1:]
json.dump({"hasCompletedOnboarding": True, "theme": "dark", "numStartups": 2,
           "customApiKeyResponses": {"approved": [key[-20:]], "rejected": []},
           "projects": {workdir: {"hasTrustDialogAccepted": True, "hasCompletedProjectOnboarding": True,
                                  "allowedTools": []}}}, open(path, "w"))
PY

screen() { tmux -S "$sock" capture-pane -p -t cc; }
wait_for() {  # wait_for PATTERN SECONDS
  local end=$((SECONDS + $2))
  while ((SECONDS < end)); do screen | grep -q -- "$1" && return 0; sleep 0.5; done
  return 1
}

# tmux passes its server's environment to the new session: start it from this one.
tmux -S "$sock" new-session -d -s cc -x 160 -y 50 -c "$workdir" \
  "$(printf '%q ' "$CLAUDE_BIN" --model "$CLAUDE_MODEL" --permission-mode acceptEdits)"
wait_for '❯' 30 || { screen >&2; echo "run_interactive.sh: no prompt" >&2; exit 1; }
tmux -S "$sock" send-keys -t cc -l "$CLAUDE_PROMPT"
sleep 1
tmux -S "$sock" send-keys -t cc Enter

# Answer permission prompts until the turn ends (the input prompt is back and idle).
answered=0 end=$((SECONDS + 180))
while ((SECONDS < end)); do
  if screen | grep -q 'Do you want to proceed'; then
    sleep "$THINK_SECONDS"
    tmux -S "$sock" send-keys -t cc Enter   # 1. Yes
    answered=$((answered + 1))
    sleep 1
  elif screen | grep -q '^● Done'; then
    break
  fi
  sleep 0.5
done
tmux -S "$sock" send-keys -t cc -l "/exit"
sleep 0.5
tmux -S "$sock" send-keys -t cc Enter
sleep 5   # the exporters flush on exit
screen >&2 || true
echo "run_interactive.sh: answered ${answered} permission prompt(s)" >&2
