#!/usr/bin/env bash
# Benchmark (not a test): the Prometheus queries of the four main dashboards, raw and on the
# recording rules of files/rules/claude_code_recording.yml, over a month of synthetic Claude
# Code series.
#
#   tests/bench/rules-benchmark.sh
#   SESSIONS_PER_DAY=10000 DAYS=3 RANGES=24h tests/bench/rules-benchmark.sh
#   GENERATE_ONLY=1 tests/bench/rules-benchmark.sh      # only make (and cache) the data; print its path
#   ONLY="claude-code claude-code-overview" POINTS=0 REPEAT=3 tests/bench/rules-benchmark.sh
#   RELEASE=forky tests/bench/rules-benchmark.sh        # Prometheus 3.5.3 (Debian 14) instead of 2.53.3
#
# 1. Generates DAYS (30) days of SESSIONS_PER_DAY (1000) sessions, series shaped like the
#    measured ones (tests/bench/rules_bench_gen.py), and turns them into TSDB blocks with
#    `promtool tsdb create-blocks-from openmetrics` (54 h blocks, what a Prometheus with 30 days
#    of retention compacts to). The blocks are cached under
#    ~/.cache/telemetry.claude_code/bench-rules/ and reused by later runs with the same settings.
# 2. Starts a throwaway Prometheus (Debian RELEASE's binary, tests/rules/fetch-prometheus.sh:
#    trixie 2.53.3 by default, forky 3.5.3, bookworm 2.42.0)
#    on 127.0.0.1:PORT on a copy of the blocks, and backfills the recording rules
#    (`promtool tsdb create-blocks-from rules`, every 1m) in the 10 minutes before the end of
#    the data and around the same time of day on each of the DAILY (14) days before it.
# 3. Restarts it with those blocks, on one core (GOMAXPROCS=1, unless ONE_CORE=0), and runs
#    every Prometheus query of the dashboards files/dashboards/claude-code.json (main),
#    claude-code-overview.json, claude-code-deep-dive.json and claude-code-stack-health.json as
#    an instant query at the end of the data (precisely: at the rules' last evaluation before
#    it, less than a minute earlier), for a dashboard time range of each of RANGES ("24h 30d":
#    $__range, $__range_s and ${__from:date:seconds} follow it; $__interval and
#    $__rate_interval 1m), as shipped and built raw (TCC_DASHBOARD_RAW=1: no recording rules),
#    REPEAT (5) times each, interleaved (tests/bench/rules_bench_query.py). Both must give the
#    same results; empty and all-zero results are listed. Also times each recording rule once,
#    the price of keeping them. A table of the totals ends the output; the measurements are in
#    ~/.cache/telemetry.claude_code/bench-rules/result-<sessions>x<days>-<dashboard>-<range>.json.
#    The load average (uptime) is printed before and after each dashboard: the timings mean
#    little on a busy machine. Time series panels count as one instant query in the totals;
#    their raw form is also timed as the range query Grafana sends for a panel POINTS (1000)
#    data points wide (POINTS=0: not).
#
# Needs docker (for the Debian binaries) the first time, python3 with PyYAML, ~1 GB of free
# space in TMPDIR while generating. The first run spends most of its time generating data.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${TCC_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/telemetry.claude_code}"
DAYS="${DAYS:-30}"
SESSIONS_PER_DAY="${SESSIONS_PER_DAY:-1000}"
REPEAT="${REPEAT:-5}"
RANGES="${RANGES:-24h 30d}"
POINTS="${POINTS:-1000}"
DAILY="${DAILY:-14}"
PORT="${PORT:-19095}"
# The end of the data: a fixed instant, so that cached blocks stay valid (2026-11-01T00:00Z).
END="${END:-1793491200}"
URL="http://127.0.0.1:${PORT}"
cd "${ROOT}"

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
seconds() { python3 -c "import time; print(f'{time.time() - $1:.1f}')"; }

RELEASE="${RELEASE:-trixie}"
BIN="$(bash tests/rules/fetch-prometheus.sh "${RELEASE}" | tail -n1)"
PROMTOOL="${BIN}/promtool"
say "$("${BIN}/prometheus" --version 2>&1 | head -n1)"

# Results of another release than the default are kept apart: result-...-forky.json.
RESULT_SUFFIX=""
[[ "${RELEASE}" == trixie ]] || RESULT_SUFFIX="-${RELEASE}"

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
# (Last line: the blocks' directory, for tests/bench/victoria-metrics-query.sh.)
if [[ "${GENERATE_ONLY:-0}" == 1 ]]; then printf '%s\n' "${DATA}/blocks"; exit 0; fi

# --- 2. a throwaway Prometheus, and the rules backfilled -----------------------------------
RUN="$(mktemp -d)"
PID=""
stop() { if [[ -n "${PID}" ]]; then kill "${PID}" 2>/dev/null || true; wait "${PID}" 2>/dev/null || true; PID=""; fi; }
trap 'stop; rm -rf "${RUN}"' EXIT
cp -r "${DATA}/blocks" "${RUN}/data"
printf 'global:\n  evaluation_interval: 1m\n' >"${RUN}/prometheus.yml"
start() { # [GOMAXPROCS]
  GOMAXPROCS="${1:-}" "${BIN}/prometheus" --config.file="${RUN}/prometheus.yml" --storage.tsdb.path="${RUN}/data" \
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
# The shipped dashboards read the records at the end; the same time of day on the days before
# is there for daily sums (offset 1d, 2d, ...). (--end past the instant: a sample exactly at
# the end of the range is not written.)
backfill() { # FROM TO
  "${PROMTOOL}" tsdb create-blocks-from rules --start="$1" --end="$2" --eval-interval=60s \
    --url="${URL}" --output-dir="${RUN}/rules" files/rules/claude_code_recording.yml >>"${RUN}/backfill.log" 2>&1 \
    || { tail -n 20 "${RUN}/backfill.log"; exit 1; }
}
backfill "$((END - 600))" "$((END + 120))"
for ((d = 1; d <= DAILY; d++)); do
  at=$((END - d * 86400))
  backfill "$((at - 120))" "$((at + 120))"
done
say "recording rules backfilled (every minute in the 10 minutes before the end, and around the same time" \
  "on each of the ${DAILY} days before) in $(seconds "${t0}") s"
stop
cp -r "${RUN}"/rules/* "${RUN}/data/"
if [[ "${ONE_CORE:-1}" == 1 ]]; then start 1; else start; fi

# --- 3. the dashboards' queries ------------------------------------------------------------
# The dashboards as shipped read the records where a panel's window is fixed (1h, 24h); the
# same dashboards built raw (TCC_DASHBOARD_RAW=1) read only per-session series: before/after.
DASHBOARDS=(main:claude-code overview:claude-code-overview deep_dive:claude-code-deep-dive
  stack_health:claude-code-stack-health)
TCC_DASHBOARD_RAW=1 python3 - "${RUN}" "${DASHBOARDS[@]}" <<'PY'
import importlib, json, sys
sys.path.insert(0, "tests/dashboards")
import common  # noqa: E402
for item in sys.argv[2:]:
    module, name = item.split(":")
    board = importlib.import_module(f"generate_{module}").dashboard
    with open(f"{sys.argv[1]}/raw-{name}.json", "w", encoding="utf-8") as handle:
        json.dump(common.render(board), handle)
PY
cores="every core"
[[ "${ONE_CORE:-1}" == 1 ]] && cores="one core (GOMAXPROCS=1)"
say "dashboard queries at $(date -u -d "@${END}" +%FT%TZ), raw vs. as shipped, median of ${REPEAT}, Prometheus on ${cores}:"
status=0
results=()
for item in "${DASHBOARDS[@]}"; do
  name="${item#*:}"
  [[ -n "${ONLY:-}" && " ${ONLY} " != *" ${name} "* ]] && continue
  for range in ${RANGES}; do
    out="${CACHE}/bench-rules/result-${SESSIONS_PER_DAY}x${DAYS}-${name}-${range}${RESULT_SUFFIX}.json"
    rules=()
    [[ "${name}" == claude-code && "${range}" == "${RANGES%% *}" ]] && rules=(--rules files/rules/claude_code_recording.yml)
    say "${name}, \$__range ${range}; load average before:$(uptime | sed 's/.*load average://')"
    python3 tests/bench/rules_bench_query.py --url "${URL}" --time "${END}" --repeat "${REPEAT}" --range "${range}" \
      --name "${name}" --dashboard "${RUN}/raw-${name}.json" --shipped "files/dashboards/${name}.json" \
      --range-queries "${POINTS}" "${rules[@]}" --json "${out}" --progress || status=1
    say "load average after:$(uptime | sed 's/.*load average://')"
    results+=("${out}")
  done
done
say "totals (${SESSIONS_PER_DAY} sessions/day, ${DAYS} days; sum of the medians; raw = without recording rules):"
python3 - "${results[@]}" <<'PY'
import json, sys
print(f"{'dashboard':<26} {'range':>5} {'queries':>7} {'raw s':>8} {'shipped s':>9}  empty  zeros  "
      f"{'range queries raw s':>19}  slowest (raw)")
for path in sys.argv[1:]:
    s = json.load(open(path, encoding="utf-8"))["summary"]
    if not s["queries"]:
        print(f"{s['dashboard']:<26} {s['range']:>5} {0:>7}  (no Prometheus queries)")
        continue
    slow = "; ".join(f"{p} {1000 * w:.0f} ms" for p, w in s["raw"]["slowest"])
    ranged = s.get("range_queries")
    ranged = f"{ranged['count']} in {ranged['total_raw']:.3f}" if ranged else "-"
    print(f"{s['dashboard']:<26} {s['range']:>5} {s['queries']:>7} {s['raw']['total']:8.3f} {s['rec']['total']:9.3f}"
          f"  {len(s['empty']):>5}  {len(s['zero']):>5}  {ranged:>19}  {slow}")
PY
exit "${status}"
