#!/usr/bin/env bash
# Benchmark (not a test): the dashboards' Prometheus queries, built raw (no recording rules), on
# VictoriaMetrics as the query layer of the large layout, next to Prometheus on the same data.
#
#   tests/bench/victoria-metrics-query.sh
#   SESSIONS_PER_DAY=10000 RANGES=30d REPEAT=1 tests/bench/victoria-metrics-query.sh
#   ONLY=claude-code tests/bench/victoria-metrics-query.sh
#
# 1. The data of tests/bench/rules-benchmark.sh (DAYS x SESSIONS_PER_DAY synthetic sessions,
#    TSDB blocks; made and cached by it when missing).
# 2. Debian 14's victoria-metrics package (1.145: victoria-metrics and vmctl), unpacked into
#    ~/.cache/telemetry.claude_code/victoria-metrics-forky from the test image tcc-debian:forky
#    (docker, the first time). vmctl imports the blocks into a VictoriaMetrics store, cached
#    next to the blocks (victoria-metrics/).
# 3. VictoriaMetrics and Prometheus (Debian 13's 2.53.3; RELEASE=forky: 3.5.3) on 127.0.0.1,
#    each on one core (GOMAXPROCS=1, unless ONE_CORE=0), each on its own copy of the data.
#    Every Prometheus target of the main and overview dashboards, built raw, runs as an instant
#    query at the end of the data for each of RANGES, on both (tests/bench/vm_query.py):
#    Prometheus once, VictoriaMetrics REPEAT (3) times with its rollup result cache bypassed
#    (nocache=1: what a dashboard's first load costs) and once more with the cache (a refresh).
#    The answers must agree (relative error 1e-9); disagreements are listed and make the exit
#    status 1. Results: ~/.cache/telemetry.claude_code/bench-rules/vm-<sessions>x<days>-<dashboard>-<range>.json.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/bench/lib.sh
source "${ROOT}/tests/bench/lib.sh"
cd "${ROOT}"
CACHE="${TCC_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/telemetry.claude_code}"
SESSIONS_PER_DAY="${SESSIONS_PER_DAY:-1000}"
RANGES="${RANGES:-24h 30d}"
REPEAT="${REPEAT:-3}"
ONLY="${ONLY:-claude-code claude-code-overview}"

# --- 1. data -------------------------------------------------------------------------------
bench_month_data

# --- 2. VictoriaMetrics, and the data imported into it ----------------------------------------
VM_DIR="${CACHE}/victoria-metrics-forky"
VM_BIN="${VM_DIR}/usr/bin"
if ! "${VM_BIN}/victoria-metrics" -version >/dev/null 2>&1 || [[ ! -x "${VM_BIN}/vmctl" ]]; then
  docker image inspect tcc-debian:forky >/dev/null 2>&1 || die "no image tcc-debian:forky (tests/images/build-debian-testing.sh forky)"
  mkdir -p "${VM_DIR}"
  docker run --rm -v "${VM_DIR}:/out" tcc-debian:forky sh -c '
    set -e
    apt-get update -qq >/dev/null
    cd /tmp
    apt-get download -q victoria-metrics >/dev/null
    dpkg-deb -x victoria-metrics_*.deb /out
    ls victoria-metrics_*.deb > /out/PACKAGE
    chown -R '"$(id -u):$(id -g)"' /out' >&2
fi
# (Debian's build of victoria-metrics has no version in -version: the package's name tells it.)
say "VictoriaMetrics from $(cat "${VM_DIR}/PACKAGE" 2>/dev/null || echo "Debian 14's package"); $("${PROM_BIN}/prometheus" --version 2>&1 | head -n1)"

bench_work tcc-vm-query
VM_FLAGS=(-retentionPeriod=100y -search.maxUniqueTimeseries=100000000 -search.maxQueryDuration=30m
  -search.maxSamplesPerQuery=100000000000 -search.maxQueueDuration=30m -loggerLevel=WARN)
start_vm() { # DATA_DIR PORT [GOMAXPROCS]
  GOMAXPROCS="${3:-}" "${VM_BIN}/victoria-metrics" -storageDataPath="$1" -httpListenAddr="127.0.0.1:$2" \
    "${VM_FLAGS[@]}" >>"${WORK}/victoria-metrics.log" 2>&1 &
  PIDS+=("$!")
  wait_http "http://127.0.0.1:$2/health" "$!" "${WORK}/victoria-metrics.log"
}
VM_STORE="${BLOCKS%/blocks}/victoria-metrics"
if [[ ! -f "${VM_STORE}/complete" ]]; then
  rm -rf "${VM_STORE}"
  port="$(free_port)"
  start_vm "${VM_STORE}/data" "${port}"
  t0="$(date +%s.%N)"
  "${VM_BIN}/vmctl" prometheus -s --disable-progress-bar --prom-snapshot="${BLOCKS}" --vm-addr="http://127.0.0.1:${port}" \
    >"${WORK}/vmctl.log" 2>&1 || { tail -n 20 "${WORK}/vmctl.log" >&2; die "vmctl failed"; }
  curl -fsS "http://127.0.0.1:${port}/internal/force_flush" >/dev/null
  kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true; unset 'PIDS[-1]'
  python3 -c "import time; print(f'{time.time() - ${t0}:.1f}')" >"${VM_STORE}/complete"
  say "imported the blocks into VictoriaMetrics in $(cat "${VM_STORE}/complete") s: $(grep -i 'import finished\|total' "${WORK}/vmctl.log" | tail -n2 | tr '\n' ' ')"
fi
say "data: ${BLOCKS} ($(du -sh "${BLOCKS}" | cut -f1)); in VictoriaMetrics $(du -sh "${VM_STORE}/data" | cut -f1)"

# --- 3. both on one core, the queries ------------------------------------------------------
cores=""
[[ "${ONE_CORE:-1}" == 1 ]] && cores=1
cp -r "${VM_STORE}/data" "${WORK}/vm"
cp -r "${BLOCKS}" "${WORK}/prom"
VM_PORT="$(free_port)"
start_vm "${WORK}/vm" "${VM_PORT}" "${cores}"
PROM_PORT="$(free_port)"
printf 'global:\n  evaluation_interval: 1m\n' >"${WORK}/prometheus.yml"
GOMAXPROCS="${cores}" "${PROM_BIN}/prometheus" --config.file="${WORK}/prometheus.yml" --storage.tsdb.path="${WORK}/prom" \
  --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:${PROM_PORT}" --log.level=warn \
  >>"${WORK}/prometheus.log" 2>&1 &
PIDS+=("$!")
wait_http "http://127.0.0.1:${PROM_PORT}/-/ready" "$!" "${WORK}/prometheus.log"

status=0
results=()
for name in ${ONLY}; do
  module="$(python3 -c "print({'claude-code': 'main', 'claude-code-overview': 'overview'}['${name}'])")"
  TCC_DASHBOARD_RAW=1 python3 - "${WORK}/raw-${name}.json" "${module}" <<'PY'
import importlib, json, sys
sys.path.insert(0, "tests/dashboards")
import common  # noqa: E402
board = importlib.import_module(f"generate_{sys.argv[2]}").dashboard
with open(sys.argv[1], "w", encoding="utf-8") as handle:
    json.dump(common.render(board), handle)
PY
  for range in ${RANGES}; do
    out="${CACHE}/bench-rules/vm-${SESSIONS_PER_DAY}x${DAYS}-${name}-${range}.json"
    say "${name}, \$__range ${range}; load average before:$(uptime | sed 's/.*load average://')"
    python3 tests/bench/vm_query.py --prometheus "http://127.0.0.1:${PROM_PORT}" --vm "http://127.0.0.1:${VM_PORT}" \
      --time "${END}" --range "${range}" --repeat "${REPEAT}" --name "${name}" --dashboard "${WORK}/raw-${name}.json" \
      --json "${out}" || status=1
    say "load average after:$(uptime | sed 's/.*load average://')"
    results+=("${out}")
  done
done
say "totals (${SESSIONS_PER_DAY} sessions/day, ${DAYS} days, raw dashboards, sum over the targets):"
python3 - "${results[@]}" <<'PY'
import json, sys
print(f"{'dashboard':<22} {'range':>5} {'targets':>7} {'Prometheus s':>12} {'VM first s':>10} {'VM cached s':>11}  differ  slowest on VM")
for path in sys.argv[1:]:
    s = json.load(open(path, encoding="utf-8"))["summary"]
    slow = "; ".join(f"{p} {w:.2f} s" for p, w in s["slowest_vm"])
    print(f"{s['dashboard']:<22} {s['range']:>5} {s['targets']:>7} {s['prometheus']:12.2f} {s['vm_first']:10.2f} "
          f"{s['vm_cached']:11.2f}  {len(s['differ']):>6}  {slow}")
PY
exit "${status}"
