#!/usr/bin/env bash
# Benchmark (not a test): the price of the self-healing fleet counter's healing window W
# (roles/prometheus/README.md, "Query cost"). The counter repairs missed evaluations and late
# points for gaps shorter than W, and each evaluation (every minute) reads every series of the
# last W. This times, on the synthetic month of tests/bench/rules-benchmark.sh (SESSIONS_PER_DAY,
# default 10000), one evaluation of the accrual terms of two counters (cost by model, tokens by
# model and type: the 1m term and the W term of each) for each W in WINDOWS, on Prometheus
# (Debian RELEASE's, default trixie 2.53.3) on one core, at 10:00, 16:00 and 00:00 UTC of the
# last day (busy, busiest, quiet). Result: ~/.cache/telemetry.claude_code/bench-rules/fleet-cost-*.json.
#
#   tests/bench/fleet-counter-cost.sh
#   SESSIONS_PER_DAY=1000 WINDOWS="2h 26h" tests/bench/fleet-counter-cost.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/bench/lib.sh
source "${ROOT}/tests/bench/lib.sh"
cd "${ROOT}"
CACHE="${TCC_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/telemetry.claude_code}"
SESSIONS_PER_DAY="${SESSIONS_PER_DAY:-10000}"
WINDOWS="${WINDOWS:-2h 6h 26h}"
bench_month_data
BIN="${PROM_BIN}"
bench_work tcc-fleet-cost
cp -r "${BLOCKS}" "${WORK}/data"
printf 'global:\n  evaluation_interval: 1m\n' >"${WORK}/prometheus.yml"
PORT="$(free_port)"
GOMAXPROCS=1 "${BIN}/prometheus" --config.file="${WORK}/prometheus.yml" --storage.tsdb.path="${WORK}/data" \
  --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:${PORT}" --log.level=warn >"${WORK}/prometheus.log" 2>&1 &
PIDS+=("$!")
wait_http "http://127.0.0.1:${PORT}/-/ready" "$!" "${WORK}/prometheus.log"
say "$("${BIN}/prometheus" --version 2>&1 | head -n1), one core; ${SESSIONS_PER_DAY} sessions/day; load average:$(uptime | sed 's/.*load average://')"
OUT="${CACHE}/bench-rules/fleet-cost-${SESSIONS_PER_DAY}x${DAYS}-${RELEASE}.json"
# shellcheck disable=SC2086  # the windows, split on purpose
python3 tests/bench/fleet_counter.py cost --url "http://127.0.0.1:${PORT}" --windows ${WINDOWS} \
  --at "$((END - 14 * 3600))" "$((END - 8 * 3600))" "${END}" >"${OUT}"
say "written to ${OUT}; load average:$(uptime | sed 's/.*load average://')"
