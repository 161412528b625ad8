#!/usr/bin/env bash
# Benchmark (not a test): the dashboard's Prometheus queries, raw and on the recording rules of
# files/rules/claude_code_recording.yml, over a month of synthetic Claude Code series.
#
#   tests/bench/rules-benchmark.sh
#
# 1. Generates DAYS (30) days of SESSIONS_PER_DAY (1000) sessions, series shaped like the
#    measured ones (tests/bench/rules_bench_gen.py), and turns them into TSDB blocks with
#    `promtool tsdb create-blocks-from openmetrics` (54 h blocks, what a Prometheus with 30 days
#    of retention compacts to). The blocks are cached under
#    ~/.cache/telemetry.claude_code/bench-rules/ and reused by later runs with the same settings.
# 2. Starts a throwaway Prometheus (Debian 13's 2.53 binary, tests/rules/fetch-prometheus.sh)
#    on 127.0.0.1:PORT on a copy of the blocks, and backfills the recording rules around the
#    end of the data and 7 days before it (`promtool tsdb create-blocks-from rules`, every 1m).
# 3. Restarts it with those blocks and runs every Prometheus query of
#    files/dashboards/claude-code.json as an instant query at the end of the data (precisely: at
#    the rules' last evaluation before it, less than a minute earlier; $__range_s 86400,
#    $__range 24h, $__rate_interval 1m, $__interval 1m), raw and rewritten onto the records,
#    REPEAT (5) times each, interleaved (tests/bench/rules_bench_query.py). Both must give the
#    same results. Also times each recording rule once, the price of keeping them.
#
# Needs docker (for the Debian binaries) the first time, python3 with PyYAML, ~1 GB of free
# space in TMPDIR while generating. The first run spends most of its time generating data.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${TCC_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/telemetry.claude_code}"
DAYS="${DAYS:-30}"
SESSIONS_PER_DAY="${SESSIONS_PER_DAY:-1000}"
REPEAT="${REPEAT:-5}"
PORT="${PORT:-19095}"
# The end of the data: a fixed instant, so that cached blocks stay valid (2026-11-01T00:00Z).
END="${END:-1793491200}"
URL="http://127.0.0.1:${PORT}"
cd "${ROOT}"

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
seconds() { python3 -c "import time; print(f'{time.time() - $1:.1f}')"; }

BIN="$(bash tests/rules/fetch-prometheus.sh trixie | tail -n1)"
PROMTOOL="${BIN}/promtool"
say "$("${BIN}/prometheus" --version 2>&1 | head -n1)"

# --- 1. data -------------------------------------------------------------------------------
GEN=(python3 tests/bench/rules_bench_gen.py --end "${END}" --days "${DAYS}" --sessions-per-day "${SESSIONS_PER_DAY}")
key="$( (cat tests/bench/rules_bench_gen.py; echo "${DAYS} ${SESSIONS_PER_DAY} ${END}") | sha256sum | cut -c1-12)"
DATA="${CACHE}/bench-rules/${key}"
if [[ ! -f "${DATA}/complete" ]]; then
  say "generating ${DAYS} days x ${SESSIONS_PER_DAY} sessions/day into ${DATA} ($("${GEN[@]}" --stats))"
  rm -rf "${DATA}" && mkdir -p "${DATA}/blocks"
  work="$(mktemp -d)"
  t0="$(date +%s.%N)"
  chunks="$("${GEN[@]}" --chunks)"
  # Generate chunk k+1 while promtool turns chunk k into a block.
  "${GEN[@]}" --chunk 0 >"${work}/0.om" 2>>"${DATA}/generate.log"
  for ((k = 0; k < chunks; k++)); do
    if ((k + 1 < chunks)); then "${GEN[@]}" --chunk $((k + 1)) >"${work}/$((k + 1)).om" 2>>"${DATA}/generate.log" & fi
    "${PROMTOOL}" tsdb create-blocks-from openmetrics --max-block-duration=54h "${work}/${k}.om" "${DATA}/blocks" \
      >"${work}/promtool.log" 2>&1 || { cat "${work}/promtool.log"; exit 1; }
    rm -f "${work}/${k}.om"
    wait
    # promtool's table: ULID, min, max, duration, samples, chunks, series, size
    say "block $((k + 1))/${chunks}: $(tail -n1 "${work}/promtool.log" | awk '{print $5, "samples,", $7, "series"}')"
  done
  rm -f "${work}/promtool.log"
  rmdir "${work}"
  seconds "${t0}" >"${DATA}/complete"
fi
# generate.log: "chunk K: [lo, hi) N series, M samples"
samples="$(grep -h '^chunk' "${DATA}/generate.log" | awk '{s += $7} END {print s}')"
say "data: $("${GEN[@]}" --stats), ${samples} samples, $(du -sh "${DATA}/blocks" | cut -f1) of blocks" \
  "(generated in $(cat "${DATA}/complete") s)"

# --- 2. a throwaway Prometheus, and the rules backfilled -----------------------------------
RUN="$(mktemp -d)"
PID=""
stop() { if [[ -n "${PID}" ]]; then kill "${PID}" 2>/dev/null || true; wait "${PID}" 2>/dev/null || true; PID=""; fi; }
trap 'stop; rm -rf "${RUN}"' EXIT
cp -r "${DATA}/blocks" "${RUN}/data"
printf 'global:\n  evaluation_interval: 1m\n' >"${RUN}/prometheus.yml"
start() {
  "${BIN}/prometheus" --config.file="${RUN}/prometheus.yml" --storage.tsdb.path="${RUN}/data" \
    --storage.tsdb.retention.time=100y --storage.tsdb.max-block-duration=54h \
    --web.listen-address="127.0.0.1:${PORT}" --log.level=warn >>"${RUN}/prometheus.log" 2>&1 &
  PID=$!
  local t0; t0="$(date +%s.%N)"
  for _ in $(seq 1 240); do
    curl -fsS -o /dev/null "${URL}/-/ready" 2>/dev/null && { say "Prometheus ready in $(seconds "${t0}") s"; return 0; }
    kill -0 "${PID}" 2>/dev/null || break
    sleep 0.5
  done
  tail -n 20 "${RUN}/prometheus.log"
  return 1
}
start
t0="$(date +%s.%N)"
# (--end past the instant: a sample exactly at the end of the range is not written.)
for at in "${END}" "$((END - 7 * 86400))"; do
  "${PROMTOOL}" tsdb create-blocks-from rules --start="$((at - 600))" --end="$((at + 120))" --eval-interval=60s \
    --url="${URL}" --output-dir="${RUN}/rules" files/rules/claude_code_recording.yml >>"${RUN}/backfill.log" 2>&1 \
    || { tail -n 20 "${RUN}/backfill.log"; exit 1; }
done
say "recording rules backfilled (every minute from 10 minutes before the end, and 7 days before) in $(seconds "${t0}") s"
stop
cp -r "${RUN}"/rules/* "${RUN}/data/"
start

# --- 3. the dashboard's queries ------------------------------------------------------------
say "dashboard queries at $(date -u -d "@${END}" +%FT%TZ), raw vs. recording rules, median of ${REPEAT}:"
# The dashboard as shipped reads the records where a panel's window is fixed (1h, 24h); the
# same dashboard built raw (TCC_DASHBOARD_RAW=1) reads only per-session series: before/after.
TCC_DASHBOARD_RAW=1 python3 - "${RUN}/raw-main.json" <<'PY'
import json, sys
sys.path.insert(0, "tests/dashboards")
import generate_main, common  # noqa: E401
json.dump(common.render(generate_main.dashboard), open(sys.argv[1], "w", encoding="utf-8"))
PY
say "1. the main dashboard as shipped vs. the same dashboard without recording rules (\$__range = 24h):"
python3 tests/bench/rules_bench_query.py --url "${URL}" --time "${END}" --repeat "${REPEAT}" \
  --dashboard "${RUN}/raw-main.json" --shipped files/dashboards/claude-code.json \
  --rules files/rules/claude_code_recording.yml --json "${CACHE}/bench-rules/last-result.json"
say "2. what if every 24h accrual read a record (only true when the dashboard's range is 24h):"
python3 tests/bench/rules_bench_query.py --url "${URL}" --time "${END}" --repeat "${REPEAT}" \
  --dashboard "${RUN}/raw-main.json" --rules files/rules/claude_code_recording.yml \
  --json "${CACHE}/bench-rules/last-result-whatif.json"
say "measurements written to ${CACHE}/bench-rules/last-result.json and last-result-whatif.json"
