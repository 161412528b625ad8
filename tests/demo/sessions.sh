#!/usr/bin/env bash
# The demo's data: a few REAL Claude Code sessions on the demo container, which the demo
# inventory (tests/demo/inventory.yml) also makes a developer's machine. They run the way a
# developer's sessions do: no telemetry variable in their environment, only the managed
# settings that the claude_code_client role wrote (/etc/claude-code/managed-settings.json:
# the collector's endpoint, and OTEL_RESOURCE_ATTRIBUTES demo=true,team=demo), so every series
# and event they produce is labelled demo data.
#
# The model is not Anthropic's: tests/claude/fake_messages_api.py, the Messages-API stand-in,
# answers with a scripted session (tests/claude/README.md: files written and edited, commands,
# a subagent on a second model, a commit, a pull request). Nothing leaves the container.
#
#   tests/demo/sessions.sh CONTAINER STATE_FILE      (CLAUDE_BIN: the Claude Code executable)
#
# Prints one line per session; appends each session's JSON result to STATE_FILE (JSON lines).
set -euo pipefail

CONTAINER="${1:?container}"
STATE="${2:?state file}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLAUDE_BIN="${CLAUDE_BIN:?CLAUDE_BIN must name the Claude Code executable}"
PORT=8787

# The sessions: model of the main loop, and a scripted API failure (--fail-once LABEL:STATUS)
# or '-' for none. The failure makes Claude Code emit a real api_error event; the session
# still completes (tests/claude/README.md, "Scripted API failures").
SESSIONS=(
  "claude-sonnet-4-5 -"
  "claude-opus-4-5 subagent/final:400"
  "claude-sonnet-4-5 -"
)
# Seconds the stand-in takes to answer each request (a slow model). About ten requests make a
# session of about 80 s, longer than the managed settings' metric export interval (60 s): each
# series then has a sample during the session and one at its end, and the dashboards' per-minute
# rate() panels have two samples to show, as with real sessions. The sessions run side by side.
DELAY="${TCC_DEMO_DELAY:-8}"

in_container() { docker exec "${CONTAINER}" "$@"; }

# Claude Code's native executable (no Node needed), copied in when it is not the same file.
bin="$(readlink -f "${CLAUDE_BIN}")"
if [[ "$(in_container sh -c 'sha256sum /usr/local/bin/claude 2>/dev/null | cut -d" " -f1')" != "$(sha256sum "${bin}" | cut -d' ' -f1)" ]]; then
  echo "copying Claude Code $("${bin}" --version 2>/dev/null | head -n1) into ${CONTAINER}"
  docker cp "${bin}" "${CONTAINER}:/usr/local/bin/claude"
fi
in_container mkdir -p /opt/tcc-demo
docker cp "${ROOT}/tests/claude/fake_messages_api.py" "${CONTAINER}:/opt/tcc-demo/fake_messages_api.py"
docker cp "${ROOT}/tests/claude/run_session.sh" "${CONTAINER}:/opt/tcc-demo/run_session.sh"
# A developer's machine has git: the session commits its work, and Claude Code counts it.
if ! in_container sh -c 'command -v git' >/dev/null; then
  echo "installing git in ${CONTAINER} (the sessions commit their work)"
  in_container sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends git >/dev/null'
fi

stop_apis() {
  local i
  for i in "${!SESSIONS[@]}"; do
    in_container systemctl stop "tcc-demo-messages-api-${i}" >/dev/null 2>&1 || true
  done
}
trap stop_apis EXIT
stop_apis

# One stand-in per session (its own scripted failure), on its own port.
for i in "${!SESSIONS[@]}"; do
  read -r model failure <<<"${SESSIONS[${i}]}"
  args=(--port "$((PORT + i))" --bind 127.0.0.1 --delay "${DELAY}")
  [[ "${failure}" != - ]] && args+=(--fail-once "${failure}")
  in_container systemd-run --quiet --collect --unit "tcc-demo-messages-api-${i}" \
    --description "Messages-API stand-in for demo session $((i + 1)) (not a model)" \
    /usr/bin/python3 /opt/tcc-demo/fake_messages_api.py "${args[@]}"
done
for i in "${!SESSIONS[@]}"; do
  for _ in $(seq 1 50); do
    in_container python3 -c "import socket; socket.create_connection(('127.0.0.1', $((PORT + i))), 1)" 2>/dev/null && break
    sleep 0.2
  done
done

echo "running ${#SESSIONS[@]} sessions side by side (about 80 s: the stand-in answers like a slow model)"
out="$(mktemp -d)"
pids=()
for i in "${!SESSIONS[@]}"; do
  read -r model failure <<<"${SESSIONS[${i}]}"
  in_container env ANTHROPIC_BASE_URL="http://127.0.0.1:$((PORT + i))" CLAUDE_BIN=/usr/local/bin/claude \
    CLAUDE_MODEL="${model}" CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
    bash /opt/tcc-demo/run_session.sh >"${out}/${i}.json" 2>"${out}/${i}.err" &
  pids+=($!)
done
failed=0
for i in "${!SESSIONS[@]}"; do
  wait "${pids[${i}]}" || { failed=1; echo "demo session $((i + 1)) failed: $(head -c 400 "${out}/${i}.err")" >&2; }
done
[[ ${failed} -eq 0 ]] || { rm -rf "${out}"; exit 1; }

mkdir -p "$(dirname "${STATE}")"
for i in "${!SESSIONS[@]}"; do
  read -r model failure <<<"${SESSIONS[${i}]}"
  result="$(cat "${out}/${i}.json")"
  printf '%s\n' "${result}" >>"${STATE}"
  RESULT="${result}" python3 -c '
import json, os, sys
n, model, failure = sys.argv[1:4]
r = json.loads(os.environ["RESULT"])
models = ", ".join(sorted(r.get("modelUsage", {})))
extra = "" if failure == "-" else "; one request failed on purpose (%s): an api_error event" % failure
print("  session %s  %s  $%.6f  models: %s%s" % (n, r["session_id"], r["total_cost_usd"], models, extra))
' "$((i + 1))" "${model}" "${failure}"
done
rm -rf "${out}"
