#!/usr/bin/env bash
# Benchmark (not a test): how many live Prometheus series one Claude Code session costs, with
# the collector switch otel_collector_metrics_drop_session_id off (the default) and on
# (issue 8, "Cardinality").
#
#   tests/bench/session-cardinality.sh
#   SESSIONS=10 SCRAPE_INTERVAL=2s tests/bench/session-cardinality.sh
#
# Everything runs on 127.0.0.1, on free ports, from temp dirs under /var/tmp; every process the
# script starts is stopped when it ends, however it ends. For each mode (switch off, then on):
#
# 1. The collector's configuration is the otel_collector role's own: ansible-playbook renders
#    `_otel_collector_config` (roles/otel_collector/vars/main.yml over defaults/main.yml) with
#    only these changes: listen addresses on free loopback ports, the Loki endpoint on a
#    loopback port where nothing listens (the events wait in the on-disk queue; nothing reads
#    them here), file_storage in the temp dir, auth and TLS off (the defaults), and the switch.
#    The Prometheus scrape job is the prometheus role's `claude_code` job (honor_labels,
#    sample_limit, label_limit from roles/prometheus), rendered the same way, every
#    SCRAPE_INTERVAL; Prometheus runs with --enable-feature=created-timestamp-zero-ingestion
#    and scrapes nothing else.
# 2. A fresh collector (tests/otelcol/build.sh) and a fresh Prometheus (Debian 13's 2.53,
#    tests/rules/fetch-prometheus.sh) start; then SESSIONS (5) real Claude Code sessions run
#    one after the other (tests/claude/run_session.sh against tests/claude/fake_messages_api.py,
#    OTLP http/protobuf, metrics every 2 s) as ONE developer: the same CLAUDE_CONFIG_DIR, so the
#    same user_id, as on a real machine.
# 3. After each session, tests/bench/session_cardinality.py waits until Prometheus has the
#    session's cost (the sum of claude_code_cost_usage_USD_total equals the sum of the sessions'
#    total_cost_usd from their JSON) and the series count is stable, then records
#    count({job="claude-code"}), count by (__name__), the label names, the distinct session_id
#    values and prometheus_tsdb_head_series.
#
# At the end it prints, per mode, the series after each session, the series per session (the
# least-squares slope), the breakdown by name, whether the cost still adds up, and an
# extrapolation to a fleet (DEVELOPERS x SESSIONS_PER_DAY x RETENTION_DAYS, arithmetic from the
# measured figures), and writes everything as JSON to
# ~/.cache/telemetry.claude_code/bench-cardinality/ (last-result.json and a dated copy).
#
# Needs: Go the first time (tests/otelcol/build.sh), the cached Prometheus binaries (docker the
# first time, tests/rules/fetch-prometheus.sh), the collection's virtualenv for ansible-playbook
# (tests/harness.sh setup), the Claude Code CLI (CLAUDE_BIN, default the harness's 2.1.197 in
# the cache), python3, curl. About 2 minutes with 5 sessions per mode on 2 busy cores.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${TCC_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/telemetry.claude_code}"
SESSIONS="${SESSIONS:-5}"
SCRAPE_INTERVAL="${SCRAPE_INTERVAL:-2s}"
CLAUDE_BIN="${CLAUDE_BIN:-${CACHE}/claude-code-2.1.197/node_modules/.bin/claude}"
# Fleet for the extrapolation.
DEVELOPERS="${DEVELOPERS:-100}"
SESSIONS_PER_DAY="${SESSIONS_PER_DAY:-20}"
RETENTION_DAYS="${RETENTION_DAYS:-15}"
OUT_DIR="${CACHE}/bench-cardinality"
export LANG=C.UTF-8 LC_ALL=C.UTF-8
cd "${ROOT}"

# say, die, free_port, wait_http
# shellcheck source=tests/bench/lib.sh
source "${ROOT}/tests/bench/lib.sh"

[[ "${SESSIONS}" =~ ^[1-9][0-9]*$ ]] || die "SESSIONS must be a positive integer"
[[ -x "${CLAUDE_BIN}" ]] || die "no Claude Code CLI at ${CLAUDE_BIN} (set CLAUDE_BIN)"
key="$( (cat tests/requirements.txt; python3 --version) | sha256sum | cut -c1-16)"
VENV="${CACHE}/venv-${key}"
if [[ ! -x "${VENV}/bin/ansible-playbook" ]]; then
  VENV="$(find "${CACHE}" -maxdepth 1 -name 'venv-*' -type d | head -n1)"
fi
[[ -x "${VENV}/bin/ansible-playbook" ]] || die "no virtualenv with ansible-playbook in ${CACHE} (tests/harness.sh setup)"
OTELCOL="$(bash tests/otelcol/build.sh | tail -n1)"
PROM_BIN="$(bash tests/rules/fetch-prometheus.sh trixie | tail -n1)"

# --- processes and temp files: everything is stopped and removed on exit --------------------
mkdir -p /var/tmp "${OUT_DIR}"
WORK="$(mktemp -d /var/tmp/tcc-cardinality.XXXXXX)"
PIDS=()
session_members() { ps -o pid= --sid "$1" 2>/dev/null | tr -s ' \n' ' ' || true; }
stop_pid() {
  local pid="$1" members
  # A Claude Code session runs in a session of its own (setsid), and `timeout` in it puts
  # claude in another process group: stop every process of that session, by id.
  read -ra members <<<"$(session_members "${pid}")"
  kill "${pid}" "${members[@]}" 2>/dev/null || true
  wait "${pid}" 2>/dev/null || true
  for _ in $(seq 1 20); do
    [[ -z "$(session_members "${pid}" | tr -d ' ')" ]] && break
    sleep 0.25
  done
}
cleanup() {
  local rc=$? pid
  for pid in "${PIDS[@]}"; do stop_pid "${pid}"; done
  PIDS=()
  if [[ "${rc}" -ne 0 && "${KEEP_WORK:-0}" != 1 ]]; then
    say "failed (status ${rc}); last lines of the logs in ${WORK}:"
    for f in "${WORK}"/*/*.log "${WORK}"/*.log; do
      [[ -f "${f}" ]] && { echo "--- ${f}" >&2; tail -n 15 "${f}" >&2; }
    done
  fi
  if [[ "${KEEP_WORK:-0}" == 1 ]]; then say "kept ${WORK}"; else rm -rf "${WORK}"; fi
  exit "${rc}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# Remove one pid from PIDS once it has been stopped.
forget_pid() {
  local pid="$1" kept=() p
  for p in "${PIDS[@]}"; do [[ "${p}" == "${pid}" ]] || kept+=("${p}"); done
  PIDS=("${kept[@]}")
}

# --- 1. render both modes' configurations from the roles --------------------------------------
declare -A PORT
for mode in off on; do
  for what in grpc http exporter health telemetry prometheus; do PORT["${mode}_${what}"]="$(free_port)"; done
  mkdir -p "${WORK}/${mode}"
done
# A port that nothing listens on, for the Loki endpoint: the events stay in the queue.
DEAD_PORT="$(free_port)"
render_vars() { # MODE: the role variables this benchmark changes, as a YAML flow mapping
  local mode="$1" drop=false
  [[ "${mode}" == on ]] && drop=true
  printf '{otel_collector_metrics_drop_session_id: %s, otel_collector_otlp_listen_address: "127.0.0.1",' "${drop}"
  printf ' otel_collector_otlp_grpc_port: %s, otel_collector_otlp_http_port: %s,' "${PORT[${mode}_grpc]}" "${PORT[${mode}_http]}"
  printf ' otel_collector_prometheus_listen_address: "127.0.0.1:%s",' "${PORT[${mode}_exporter]}"
  printf ' otel_collector_health_check_listen_address: "127.0.0.1:%s",' "${PORT[${mode}_health]}"
  printf ' otel_collector_telemetry_listen_address: "127.0.0.1:%s",' "${PORT[${mode}_telemetry]}"
  printf ' otel_collector_loki_endpoint: "http://127.0.0.1:%s/otlp",' "${DEAD_PORT}"
  printf ' otel_collector_data_dir: "%s", otel_collector_auth_enabled: false,' "${WORK}/${mode}/data"
  printf ' otel_collector_tls_cert_file: "", otel_collector_tls_key_file: "",'
  printf ' prometheus_otel_collector_targets: ["127.0.0.1:%s"]}' "${PORT[${mode}_exporter]}"
}
{
  cat <<EOF
---
# Generated by tests/bench/session-cardinality.sh: the roles' own variables, a few changed.
- name: Render the otel_collector configuration and the claude_code scrape job
  hosts: localhost
  connection: local
  gather_facts: false
  vars_files:
    - ${ROOT}/roles/otel_collector/defaults/main.yml
    - ${ROOT}/roles/otel_collector/vars/main.yml
    - ${ROOT}/roles/prometheus/defaults/main.yml
    - ${ROOT}/roles/prometheus/vars/main.yml
  tasks:
EOF
  for mode in off on; do
    cat <<EOF
    - name: Collector configuration, switch ${mode}
      vars: $(render_vars "${mode}")
      ansible.builtin.copy:
        content: "{{ _otel_collector_config | to_nice_yaml(indent=2) }}"
        dest: ${WORK}/${mode}/otelcol.yaml
        mode: "0600"
    - name: Prometheus configuration, switch ${mode}
      vars: $(render_vars "${mode}")
      ansible.builtin.copy:
        content: >-
          {{ {'global': {'scrape_interval': '${SCRAPE_INTERVAL}', 'scrape_timeout': '${SCRAPE_INTERVAL}'},
              'scrape_configs': _prometheus_stack_scrapes | selectattr('job_name', 'eq', 'claude_code') | list}
             | to_nice_yaml(indent=2, sort_keys=false) }}
        dest: ${WORK}/${mode}/prometheus.yml
        mode: "0600"
EOF
  done
} >"${WORK}/render.yml"
t_render="$(date +%s.%N)"
ANSIBLE_HOME="${WORK}/ansible-home" ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false \
  "${VENV}/bin/ansible-playbook" -i localhost, -e "ansible_python_interpreter=${VENV}/bin/python" "${WORK}/render.yml" >"${WORK}/render.log" 2>&1 \
  || { cat "${WORK}/render.log" >&2; die "rendering the configurations failed"; }
say "configurations rendered from the roles in $(python3 -c "import time; print(f'{time.time() - ${t_render}:.1f}')") s"
for mode in off on; do
  "${OTELCOL}" validate --config "${WORK}/${mode}/otelcol.yaml" >"${WORK}/${mode}/validate.log" 2>&1 \
    || { cat "${WORK}/${mode}/validate.log" >&2; die "collector rejects the ${mode} configuration"; }
  "${PROM_BIN}/promtool" check config --syntax-only "${WORK}/${mode}/prometheus.yml" >"${WORK}/${mode}/promtool.log" 2>&1 \
    || { cat "${WORK}/${mode}/promtool.log" >&2; die "promtool rejects the ${mode} configuration"; }
done
grep -q 'transform/drop_session_id' "${WORK}/on/otelcol.yaml" || die "switch on: no transform/drop_session_id"
if grep -q 'transform/drop_session_id' "${WORK}/off/otelcol.yaml"; then die "switch off: transform/drop_session_id present"; fi

# --- 2. the Messages API stand-in, shared by both modes --------------------------------------
API_PORT="$(free_port)"
python3 tests/claude/fake_messages_api.py --port "${API_PORT}" --bind 127.0.0.1 >"${WORK}/api.log" 2>&1 &
PIDS+=("$!")
API_PID=$!
for _ in $(seq 1 40); do
  curl -fsS -o /dev/null "http://127.0.0.1:${API_PORT}/v1/models" 2>/dev/null && break
  kill -0 "${API_PID}" 2>/dev/null || die "the Messages API stand-in did not start"
  sleep 0.25
done

T0="$(date +%s.%N)"
STATE="${WORK}/measurements.jsonl"
: >"${STATE}"
for mode in off on; do
  dir="${WORK}/${mode}"
  say "switch ${mode}: collector on 127.0.0.1:${PORT[${mode}_http]} (OTLP/HTTP), exporter :${PORT[${mode}_exporter]}," \
    "Prometheus :${PORT[${mode}_prometheus]}"
  "${OTELCOL}" --config "${dir}/otelcol.yaml" >"${dir}/otelcol.log" 2>&1 &
  COL_PID=$!
  PIDS+=("${COL_PID}")
  wait_http "http://127.0.0.1:${PORT[${mode}_health]}/" "${COL_PID}" "${dir}/otelcol.log"
  "${PROM_BIN}/prometheus" --config.file="${dir}/prometheus.yml" --storage.tsdb.path="${dir}/tsdb" \
    --web.listen-address="127.0.0.1:${PORT[${mode}_prometheus]}" --enable-feature=created-timestamp-zero-ingestion \
    --log.level=warn >"${dir}/prometheus.log" 2>&1 &
  PROM_PID=$!
  PIDS+=("${PROM_PID}")
  PROM_URL="http://127.0.0.1:${PORT[${mode}_prometheus]}"
  wait_http "${PROM_URL}/-/ready" "${PROM_PID}" "${dir}/prometheus.log"

  # One developer: one Claude Code config dir (one user_id) for all the sessions of the mode.
  mkdir -p "${dir}/claude-config" "${dir}/tmp"
  for i in $(seq 1 "${SESSIONS}"); do
    if ! kill -0 "${API_PID}" 2>/dev/null; then
      rc=0
      wait "${API_PID}" || rc=$?
      die "the Messages API stand-in has gone (status ${rc}); see ${WORK}/api.log"
    fi
    t_session="$(date +%s.%N)"
    env -i PATH="${PATH}" HOME="${HOME}" LANG=C.UTF-8 TMPDIR="${dir}/tmp" CLAUDE_TIMEOUT="${CLAUDE_TIMEOUT:-300}" \
      CLAUDE_BIN="${CLAUDE_BIN}" CLAUDE_CONFIG_DIR="${dir}/claude-config" \
      ANTHROPIC_BASE_URL="http://127.0.0.1:${API_PORT}" \
      CLAUDE_CODE_ENABLE_TELEMETRY=1 OTEL_METRICS_EXPORTER=otlp OTEL_LOGS_EXPORTER=otlp \
      OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:${PORT[${mode}_http]}" \
      OTEL_METRIC_EXPORT_INTERVAL=2000 OTEL_LOGS_EXPORT_INTERVAL=1000 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
      setsid bash tests/claude/run_session.sh >"${dir}/session-${i}.json" 2>"${dir}/session-${i}.log" &
    SESSION_PID=$!
    PIDS+=("${SESSION_PID}")
    rc=0
    wait "${SESSION_PID}" || rc=$?
    forget_pid "${SESSION_PID}"
    [[ "${rc}" -eq 0 ]] || { cat "${dir}/session-${i}.log" "${dir}/session-${i}.json" >&2; die "session ${i} failed (status ${rc})"; }
    session_s="$(python3 -c "import time; print(f'{time.time() - ${t_session}:.1f}')")"
    python3 tests/bench/session_cardinality.py measure --prom "${PROM_URL}" --mode "${mode}" --index "${i}" \
      --result "${dir}/session-${i}.json" --state "${STATE}" --scrape-interval "${SCRAPE_INTERVAL}" \
      --session-seconds "${session_s}"
  done

  for pid in "${PROM_PID}" "${COL_PID}"; do stop_pid "${pid}"; forget_pid "${pid}"; done
done
RUN_SECONDS="$(python3 -c "import time; print(f'{time.time() - ${T0}:.0f}')")"

# --- 3. the report ---------------------------------------------------------------------------
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
python3 tests/bench/session_cardinality.py report --state "${STATE}" --json "${OUT_DIR}/result-${stamp}.json" \
  --developers "${DEVELOPERS}" --sessions-per-day "${SESSIONS_PER_DAY}" --retention-days "${RETENTION_DAYS}" \
  --meta commit="$(git rev-parse --short HEAD)" \
  --meta claude_code="$("${CLAUDE_BIN}" --version 2>/dev/null | head -n1)" \
  --meta otelcol="$("${OTELCOL}" --version 2>/dev/null | head -n1)" \
  --meta prometheus="$("${PROM_BIN}/prometheus" --version 2>&1 | head -n1)" \
  --meta scrape_interval="${SCRAPE_INTERVAL}" --meta sessions_per_mode="${SESSIONS}" \
  --meta run_seconds="${RUN_SECONDS}" --meta date="$(date -u +%FT%TZ)" \
  --meta command="tests/bench/session-cardinality.sh (SESSIONS=${SESSIONS} SCRAPE_INTERVAL=${SCRAPE_INTERVAL})"
cp "${OUT_DIR}/result-${stamp}.json" "${OUT_DIR}/last-result.json"
say "measurements written to ${OUT_DIR}/result-${stamp}.json (and last-result.json); ${RUN_SECONDS} s of sessions"
