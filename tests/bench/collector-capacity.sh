#!/usr/bin/env bash
# Benchmark (not a test): what one collector with the otel_collector role's DEFAULT
# configuration takes on this machine (issue 17, "Measure", the collector's part).
#
#   tests/bench/collector-capacity.sh
#   RAMP=25,50,100 STEP_SECONDS=10 SESSIONS=2000 WINDOW_SECONDS=60 tests/bench/collector-capacity.sh
#   GOMEMLIMIT=0 tests/bench/collector-capacity.sh   # without the role's Go memory limit
#   GOLDEN_CASE=sized_3000 tests/bench/collector-capacity.sh   # another golden case's configuration
#
# Everything runs on 127.0.0.1, on free ports, from a temp dir under /var/tmp; every process the
# script starts is stopped when it ends, however it ends.
#
# 1. The collector's configuration is tests/golden/otel_collector/defaults.yaml (the role's
#    rendering of its defaults, kept in sync by tests/unit/test_golden_configs.py) with only
#    addresses and paths rewritten: the receivers, health check and own metrics on free loopback
#    ports, remote write to the Prometheus below, the Loki endpoint to the stand-in below, the
#    data directory in the temp dir. Its environment is what the role's otelcol.env.j2 writes
#    for the defaults (GOMEMLIMIT; the GOMEMLIMIT variable of this script overrides it, 0 or
#    "off" drops it).
# 2. Prometheus 3.5.3 (the cached Debian forky package, TCC_PROMETHEUS) with
#    --web.enable-remote-write-receiver and out_of_order_time_window: 1d (as the prometheus role
#    sets), scraping nothing. The Loki stand-in is tests/bench/collector_load.py sink: it answers
#    200 and counts the log records it gets.
# 3. tests/bench/collector_load.py run replays sessions shaped like Claude Code 2.1.332's
#    exports (names from docs/catalog/, OTLP/HTTP JSON, 16 delta points and 22 events each,
#    session and user ids varying): a ramp of rates until the collector refuses or stops keeping
#    up, a burst of ten times the sustained rate from many senders (RSS against the
#    memory_limiter limit), then SESSIONS sessions within WINDOW_SECONDS (retrying refused
#    requests); after each phase it compares what was accepted with what reached the stand-in
#    and Prometheus.
#
# It prints a table and writes JSON to ~/.cache/telemetry.claude_code/bench-collector/
# (last-result.json and a dated copy). The generator, Prometheus and the collector share this
# machine's cores: the figures are a floor for a collector with a host of its own.
#
# Needs: the collector (tests/otelcol/build.sh; TCC_OTELCOL_BIN to use another), Prometheus 3.5
# (TCC_PROMETHEUS), the collection's virtualenv (tests/harness.sh setup), python3, curl. About
# 6-15 minutes with the defaults: the last phase takes longer when the collector refuses (at
# most twice WINDOW_SECONDS, then it stops sending). Results: roles/otel_collector/README.md, "Capacity".
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${TCC_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/telemetry.claude_code}"
RAMP="${RAMP:-25,50,100,200,400,800}"
STEP_SECONDS="${STEP_SECONDS:-15}"
BURST_SECONDS="${BURST_SECONDS:-20}"
# 1: the burst's requests are one session's each, as Claude Code sends them; more: that many
# sessions' resources per request, as a forwarding collector (or a gateway tier) sends them.
BURST_SESSIONS_PER_REQUEST="${BURST_SESSIONS_PER_REQUEST:-1}"
# The same for the ramp: with more than 1, the generator (Python, on the same cores) spends less
# per session and can drive the collector further.
RAMP_SESSIONS_PER_REQUEST="${RAMP_SESSIONS_PER_REQUEST:-1}"
SESSIONS="${SESSIONS:-10000}"
WINDOW_SECONDS="${WINDOW_SECONDS:-300}"
PROM_BIN="${TCC_PROMETHEUS:-${CACHE}/prometheus-forky/usr/bin/prometheus}"
OUT_DIR="${CACHE}/bench-collector"
export LANG=C.UTF-8 LC_ALL=C.UTF-8
cd "${ROOT}"

# say, die, free_port, wait_http
# shellcheck source=tests/bench/lib.sh
source "${ROOT}/tests/bench/lib.sh"

[[ -x "${PROM_BIN}" ]] || die "no Prometheus at ${PROM_BIN} (set TCC_PROMETHEUS)"
OTELCOL="${TCC_OTELCOL_BIN:-$(bash tests/otelcol/build.sh | tail -n1)}"
[[ -x "${OTELCOL}" ]] || die "no collector at ${OTELCOL}"
key="$( (cat tests/requirements.txt; python3 --version) | sha256sum | cut -c1-16)"
VENV="${CACHE}/venv-${key}"
[[ -x "${VENV}/bin/python" ]] || VENV="$(find "${CACHE}" -maxdepth 1 -name 'venv-*' -type d | head -n1)"
[[ -x "${VENV}/bin/python" ]] || die "no virtualenv in ${CACHE} (tests/harness.sh setup)"

# --- processes and temp files: everything is stopped and removed on exit --------------------
mkdir -p "${OUT_DIR}"
bench_work tcc-capacity

declare -A PORT
for what in grpc http health telemetry prometheus sink; do PORT["${what}"]="$(free_port)"; done

# --- 1. the role's default configuration, addresses and paths rewritten ----------------------
# GOLDEN_CASE names another golden case of tests/golden/otel_collector/cases.yml (e.g. sized_3000,
# the README's sizing for 3,000 developers) to measure the role's rendering of those variables.
GOLDEN_CASE="${GOLDEN_CASE:-defaults}"
GOLDEN="tests/golden/otel_collector/${GOLDEN_CASE}.yaml"
[[ -f "${GOLDEN}" ]] || die "no golden configuration ${GOLDEN}"
bench_collector_config "${GOLDEN}" "${WORK}/otelcol.yaml" "${PORT[grpc]}" "${PORT[http]}" \
  "http://127.0.0.1:${PORT[prometheus]}" "http://127.0.0.1:${PORT[sink]}" "${PORT[health]}" "${PORT[telemetry]}"
LIMIT_MIB="$(sed -n 's/^ *limit_mib: *\([0-9]*\)$/\1/p' "${WORK}/otelcol.yaml" | sort -n | tail -n1)"
[[ -n "${LIMIT_MIB}" ]] || die "no memory_limiter limit_mib in ${GOLDEN}"

# The environment the role writes for the defaults (roles/otel_collector/templates/otelcol.env.j2).
ENV_GOLDEN="tests/golden/otel_collector/${GOLDEN_CASE}.env"
ROLE_GOMEMLIMIT=""
if [[ -f "${ENV_GOLDEN}" ]]; then
  ROLE_GOMEMLIMIT="$(sed -n 's/^GOMEMLIMIT=\(.*\)$/\1/p' "${ENV_GOLDEN}" | tr -d '"')"
fi
COL_ENV=()
case "${GOMEMLIMIT-${ROLE_GOMEMLIMIT}}" in
  "" | 0 | off) GOMEMLIMIT_USED="none" ;;
  *) GOMEMLIMIT_USED="${GOMEMLIMIT-${ROLE_GOMEMLIMIT}}"; COL_ENV=("GOMEMLIMIT=${GOMEMLIMIT_USED}") ;;
esac
unset GOMEMLIMIT

# --- 2. Prometheus and the Loki stand-in -------------------------------------------------------
cat >"${WORK}/prometheus.yml" <<'EOF'
global:
  scrape_interval: 15s
storage:
  tsdb:
    out_of_order_time_window: 1d
scrape_configs: []
EOF
"${PROM_BIN}" --config.file="${WORK}/prometheus.yml" --storage.tsdb.path="${WORK}/tsdb" \
  --web.listen-address="127.0.0.1:${PORT[prometheus]}" --web.enable-remote-write-receiver \
  --log.level=warn >"${WORK}/prometheus.log" 2>&1 &
PROM_PID=$!
PIDS+=("${PROM_PID}")
PROM_URL="http://127.0.0.1:${PORT[prometheus]}"
wait_http "${PROM_URL}/-/ready" "${PROM_PID}" "${WORK}/prometheus.log"

python3 tests/bench/collector_load.py sink --port "${PORT[sink]}" --prefix /otlp >"${WORK}/sink.log" 2>&1 &
SINK_PID=$!
PIDS+=("${SINK_PID}")
wait_http "http://127.0.0.1:${PORT[sink]}/stats" "${SINK_PID}" "${WORK}/sink.log"

env "${COL_ENV[@]}" "${OTELCOL}" --config "${WORK}/otelcol.yaml" >"${WORK}/otelcol.log" 2>&1 &
COL_PID=$!
PIDS+=("${COL_PID}")
wait_http "http://127.0.0.1:${PORT[health]}/" "${COL_PID}" "${WORK}/otelcol.log"
say "collector (GOMEMLIMIT ${GOMEMLIMIT_USED}, memory_limiter ${LIMIT_MIB} MiB) on 127.0.0.1:${PORT[http]}," \
  "Prometheus :${PORT[prometheus]}, Loki stand-in :${PORT[sink]}"

# --- 3. the load and the report ----------------------------------------------------------------
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
T0="$(date +%s)"
python3 tests/bench/collector_load.py run --otlp "127.0.0.1:${PORT[http]}" --collector-pid "${COL_PID}" \
  --prom "${PROM_URL}" --sink "http://127.0.0.1:${PORT[sink]}" \
  --telemetry "http://127.0.0.1:${PORT[telemetry]}/metrics" --memory-limit-mib "${LIMIT_MIB}" \
  --ramp "${RAMP}" --step-seconds "${STEP_SECONDS}" \
  --ramp-sessions-per-request "${RAMP_SESSIONS_PER_REQUEST}" --burst-seconds "${BURST_SECONDS}" \
  --burst-sessions-per-request "${BURST_SESSIONS_PER_REQUEST}" \
  --sessions "${SESSIONS}" --window-seconds "${WINDOW_SECONDS}" --json "${WORK}/result.json"
kill -0 "${COL_PID}" 2>/dev/null || die "the collector has gone"
python3 - "${WORK}/result.json" "${OUT_DIR}/result-${stamp}.json" <<EOF
import json, sys
r = json.load(open(sys.argv[1]))
r["meta"] = {"date": "$(date -u +%FT%TZ)", "commit": "$(git rev-parse --short HEAD)",
             "otelcol": "$("${OTELCOL}" --version 2>/dev/null | head -n1)",
             "prometheus": "$("${PROM_BIN}" --version 2>&1 | head -n1)",
             "gomemlimit": "${GOMEMLIMIT_USED}", "cores": $(nproc),
             "memory_total_mib": $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo),
             "load_average_at_end": "$(cut -d' ' -f1-3 /proc/loadavg)",
             "run_seconds": $(($(date +%s) - T0)),
             "prometheus_rss_mib": $(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/${PROM_PID}/status"),
             "command": "tests/bench/collector-capacity.sh (RAMP=${RAMP} STEP_SECONDS=${STEP_SECONDS} RAMP_SESSIONS_PER_REQUEST=${RAMP_SESSIONS_PER_REQUEST} BURST_SESSIONS_PER_REQUEST=${BURST_SESSIONS_PER_REQUEST} SESSIONS=${SESSIONS} WINDOW_SECONDS=${WINDOW_SECONDS})"}
json.dump(r, open(sys.argv[2], "w"), indent=2)
EOF
cp "${OUT_DIR}/result-${stamp}.json" "${OUT_DIR}/last-result.json"
grep -E '"(level|msg)":|error|refused|limit' "${WORK}/otelcol.log" | grep -ci 'memory' | xargs printf 'collector log lines about memory: %s\n' >&2 || true
say "GOMEMLIMIT ${GOMEMLIMIT_USED}; $(nproc) cores shared with the generator, Prometheus and whatever else runs" \
  "(load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)); written to ${OUT_DIR}/result-${stamp}.json"
