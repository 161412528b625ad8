#!/usr/bin/env bash
# Benchmark (not a test): Prometheus head series and memory for a simulated fleet of 1,000 and
# 10,000 developers (issue 17, "Measure", "Series"), with the collector's
# otel_collector_metrics_drop_session_id off (the default: series per session) and on (series
# per developer).
#
#   tests/bench/prometheus-fleet.sh
#   DEVELOPERS="1000" MODES="off" VERSIONS="forky" tests/bench/prometheus-fleet.sh
#   SESSIONS_PER_DAY=5 tests/bench/prometheus-fleet.sh
#   DEVELOPERS=10000 SAMPLE_MINUTES=5 tests/bench/prometheus-fleet.sh
#
# Everything runs on 127.0.0.1, on free ports, from a temp dir under /var/tmp; every process the
# script starts is stopped when it ends, however it ends.
#
# 1. Calibration: the collector with the role's default configuration
#    (tests/golden/otel_collector/defaults.yaml, addresses and paths moved to loopback and the
#    temp dir by bench_collector_config of tests/bench/lib.sh) remote-writes three sessions shaped like
#    Claude Code 2.1.332's exports (tests/bench/collector_load.py, names and attributes from
#    docs/catalog/) to Prometheus 3.5.3; tests/bench/prometheus_fleet.py reads the series back
#    and keeps one session's label sets as templates: every simulated series has exactly the
#    labels the stack writes.
# 2. For each Prometheus (VERSIONS: forky = 3.5.3, Debian 14's; trixie = 2.53, Debian 13's;
#    tests/rules/fetch-prometheus.sh), switch (MODES) and fleet size (DEVELOPERS): a fresh
#    Prometheus with the prometheus role's flags (remote-write receiver, created-timestamp zero
#    ingestion, retention 30d, out_of_order_time_window 1d, no scrape job), and
#    prometheus_fleet.py simulate replays one day of the fleet into it by remote write, in time
#    order, with the timestamps of a real past day (SESSIONS_PER_DAY sessions per developer,
#    spread over the hours like tests/bench/rules_bench_gen.py, one sample per series a minute
#    while a session exports), and records every 10 simulated minutes the head series, the
#    series created, RSS, VmHWM, Go heap and the remote-write request time.
#
# It prints a table and writes JSON to ~/.cache/telemetry.claude_code/bench-prometheus-fleet/
# (last-result.json and a dated copy). Results: README.md, "Capacity", "Prometheus".
#
# Needs: the collector (tests/otelcol/build.sh; TCC_OTELCOL_BIN to use another), the cached
# Prometheus binaries (docker the first time), python3, curl. About 20-30 minutes for the
# default 8 runs on 2 cores.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${TCC_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/telemetry.claude_code}"
DEVELOPERS="${DEVELOPERS:-1000 10000}"
SESSIONS_PER_DAY="${SESSIONS_PER_DAY:-20}"
# A sample per series every N minutes of a session, and one at its end (Claude Code exports every
# minute: 1). More than 1 sends fewer samples and leaves the series the same (see the README).
SAMPLE_MINUTES="${SAMPLE_MINUTES:-1}"
MODES="${MODES:-off on}"
VERSIONS="${VERSIONS:-forky trixie}"
CATALOG="${CATALOG:-docs/catalog/claude-code-2.1.332.json}"
OUT_DIR="${CACHE}/bench-prometheus-fleet"
export LANG=C.UTF-8 LC_ALL=C.UTF-8
cd "${ROOT}"

# say, die, free_port, wait_http
# shellcheck source=tests/bench/lib.sh
source "${ROOT}/tests/bench/lib.sh"

OTELCOL="${TCC_OTELCOL_BIN:-$(bash tests/otelcol/build.sh | tail -n1)}"
[[ -x "${OTELCOL}" ]] || die "no collector at ${OTELCOL}"
declare -A PROM_DIR
for v in ${VERSIONS} forky; do
  PROM_DIR["${v}"]="$(bash tests/rules/fetch-prometheus.sh "${v}" | tail -n1)"
  [[ -x "${PROM_DIR[${v}]}/prometheus" ]] || die "no Prometheus for ${v}"
done

# --- processes and temp files: everything is stopped and removed on exit --------------------
mkdir -p "${OUT_DIR}"
bench_work tcc-prometheus-fleet
stop() { # PID: stop one process this script started, and forget it
  local pid="$1" kept=() p
  kill "${pid}" 2>/dev/null || true
  wait "${pid}" 2>/dev/null || true
  for p in "${PIDS[@]}"; do [[ "${p}" == "${pid}" ]] || kept+=("${p}"); done
  PIDS=("${kept[@]}")
}

# The prometheus role's configuration for pushed metrics: no scrape job, the out-of-order window.
cat >"${WORK}/prometheus.yml" <<'EOF'
global:
  scrape_interval: 15s
  evaluation_interval: 15s
storage:
  tsdb:
    out_of_order_time_window: 1d
scrape_configs: []
EOF
start_prometheus() { # VERSION NAME: a fresh Prometheus with the role's flags; sets PROM_PID, PROM_URL
  local version="$1" name="$2" port
  port="$(free_port)"
  "${PROM_DIR[${version}]}/promtool" check config --syntax-only "${WORK}/prometheus.yml" >/dev/null
  "${PROM_DIR[${version}]}/prometheus" --config.file="${WORK}/prometheus.yml" --storage.tsdb.path="${WORK}/${name}-tsdb" \
    --storage.tsdb.retention.time=30d --storage.tsdb.retention.size=0 \
    --web.listen-address="127.0.0.1:${port}" --web.enable-remote-write-receiver \
    --enable-feature=created-timestamp-zero-ingestion --log.level=warn >"${WORK}/${name}-prometheus.log" 2>&1 &
  PROM_PID=$!
  PIDS+=("${PROM_PID}")
  PROM_URL="http://127.0.0.1:${port}"
  wait_http "${PROM_URL}/-/ready" "${PROM_PID}" "${WORK}/${name}-prometheus.log"
}

# --- 1. calibration: the series the stack writes for a session --------------------------------
declare -A PORT
for what in grpc http health telemetry dead; do PORT["${what}"]="$(free_port)"; done
start_prometheus forky calibration
bench_collector_config tests/golden/otel_collector/defaults.yaml "${WORK}/otelcol.yaml" "${PORT[grpc]}" "${PORT[http]}" \
  "${PROM_URL}" "http://127.0.0.1:${PORT[dead]}" "${PORT[health]}" "${PORT[telemetry]}"
"${OTELCOL}" --config "${WORK}/otelcol.yaml" >"${WORK}/otelcol.log" 2>&1 &
COL_PID=$!
PIDS+=("${COL_PID}")
wait_http "http://127.0.0.1:${PORT[health]}/" "${COL_PID}" "${WORK}/otelcol.log"
python3 tests/bench/prometheus_fleet.py calibrate --otlp "127.0.0.1:${PORT[http]}" --prom "${PROM_URL}" \
  --catalog "${CATALOG}" --out "${WORK}/templates.json"
stop "${COL_PID}"
stop "${PROM_PID}"

# --- 2. the fleet, one fresh Prometheus per run -----------------------------------------------
T0="$(date +%s)"
RUNS=()
for version in ${VERSIONS}; do
  for mode in ${MODES}; do
    for devs in ${DEVELOPERS}; do
      name="${version}-${mode}-${devs}"
      start_prometheus "${version}" "${name}"
      say "${name}: $("${PROM_DIR[${version}]}/prometheus" --version 2>&1 | head -n1 | cut -d' ' -f1-3)," \
        "${devs} developers x ${SESSIONS_PER_DAY} sessions a day, drop_session_id ${mode}"
      flags=()
      [[ "${mode}" == on ]] && flags+=(--drop-session-id)
      python3 tests/bench/prometheus_fleet.py simulate --prom "${PROM_URL}" --prom-pid "${PROM_PID}" \
        --templates "${WORK}/templates.json" --developers "${devs}" --sessions-per-day "${SESSIONS_PER_DAY}" \
        --sample-minutes "${SAMPLE_MINUTES}" \
        --label "Prometheus ${version}, switch ${mode}" --out "${WORK}/${name}.json" "${flags[@]}"
      kill -0 "${PROM_PID}" 2>/dev/null || die "Prometheus ${name} has gone"
      RUNS+=("${WORK}/${name}.json")
      stop "${PROM_PID}"
      rm -rf "${WORK}/${name}-tsdb"
    done
  done
done

# --- 3. the report ---------------------------------------------------------------------------
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
versions_meta=()
for v in ${VERSIONS}; do versions_meta+=(--meta "prometheus_${v}=$("${PROM_DIR[${v}]}/prometheus" --version 2>&1 | head -n1)"); done
python3 tests/bench/prometheus_fleet.py report --templates "${WORK}/templates.json" --json "${OUT_DIR}/result-${stamp}.json" \
  --meta date="$(date -u +%FT%TZ)" --meta commit="$(git rev-parse --short HEAD)" \
  --meta otelcol="$("${OTELCOL}" --version 2>/dev/null | head -n1)" "${versions_meta[@]}" \
  --meta cores="$(nproc)" --meta memory_total_mib="$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)" \
  --meta load_average_at_end="$(cut -d' ' -f1-3 /proc/loadavg)" --meta run_seconds="$(($(date +%s) - T0))" \
  --meta command="tests/bench/prometheus-fleet.sh (DEVELOPERS=${DEVELOPERS} SESSIONS_PER_DAY=${SESSIONS_PER_DAY} SAMPLE_MINUTES=${SAMPLE_MINUTES} MODES=${MODES} VERSIONS=${VERSIONS})" \
  "${RUNS[@]}"
cp "${OUT_DIR}/result-${stamp}.json" "${OUT_DIR}/last-result.json"
say "written to ${OUT_DIR}/result-${stamp}.json (load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
