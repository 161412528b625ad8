#!/usr/bin/env bash
# Benchmark (not a test): fleet counters seeded from the history Prometheus holds, on the month
# of tests/bench/rules-benchmark.sh (SESSIONS_PER_DAY sessions a day, 30 days; made and cached
# by it when missing). For each counter of tests/bench/fleet_seed_bench.py: `promtool tsdb dump`
# of its metric piped into plugins/module_utils/fleet_seed.py, the history written into blocks
# with `promtool tsdb create-blocks-from openmetrics`, the blocks moved into the data directory.
# Then a throwaway Prometheus (Debian RELEASE's binary, GOMAXPROCS=1) answers the main
# dashboard's range statistics both ways: from the per-session series (at END - SETTLE) and from
# two reads of the counters (at END). Prints the times and whether the answers are the same;
# writes JSON to ~/.cache/telemetry.claude_code/bench-fleet-seed/. 127.0.0.1 only.
#
# STATS=0 skips those statistics. With DASHBOARD=1, then the whole main dashboard over RANGE (30d) both ways: as shipped (the 24h
# panels on the recording rules, backfilled around the end as tests/bench/rules-benchmark.sh
# does; the range totals on the per-session series) and as the grafana role provisions it with
# grafana_dashboards_fleet_counters (pricing.use_fleet_counters), with
# tests/bench/rules_bench_query.py (every target timed, the answers compared).
#
#   SESSIONS_PER_DAY=1000 tests/bench/fleet-seed.sh
#   SESSIONS_PER_DAY=10000 RELEASE=forky DASHBOARD=1 tests/bench/fleet-seed.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/bench/lib.sh
source "${ROOT}/tests/bench/lib.sh"
cd "${ROOT}"
SESSIONS_PER_DAY="${SESSIONS_PER_DAY:-1000}"
SETTLE="${SETTLE:-2m}"
DETAIL="${DETAIL:-2h}"
REPEAT="${REPEAT:-3}"
CACHE="${TCC_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/telemetry.claude_code}"
bench_month_data
bench_work tcc-fleet-seed
mkdir -p "${WORK}/data/wal" "${WORK}/sandbox" "${WORK}/seed"
cp -al "${BLOCKS}"/* "${WORK}/data/" 2>/dev/null || cp -r "${BLOCKS}"/* "${WORK}/data/"
say "$("${PROM_BIN}/prometheus" --version 2>&1 | head -n1); ${SESSIONS_PER_DAY} sessions/day x ${DAYS} days, end ${END}"

seconds_since() { python3 -c "import sys, time; print(round(time.time() - float(sys.argv[1]), 1))" "$1"; }
: >"${WORK}/seed.jsonl"
for metric in $(python3 -c 'import sys; sys.path.insert(0, "tests/bench"); import fleet_seed_bench as f; print(" ".join(sorted(f.COUNTERS)))'); do
  t0="$(date +%s.%N)"
  # (the dump of a running Prometheus's data directory works the same: read-only, the WAL
  # replayed into the sandbox)
  "${PROM_BIN}/promtool" tsdb dump --sandbox-dir-root="${WORK}/sandbox" --match="{__name__=\"${metric}\"}" "${WORK}/data" \
    | python3 tests/bench/fleet_seed_bench.py seed "${metric}" "${END}" --settle "${SETTLE}" --detail "${DETAIL}" \
      >"${WORK}/seed/${metric}.om" 2>>"${WORK}/seed.jsonl"
  dumped="$(seconds_since "${t0}")"
  t0="$(date +%s.%N)"
  "${PROM_BIN}/promtool" tsdb create-blocks-from openmetrics --max-block-duration=54h \
    "${WORK}/seed/${metric}.om" "${WORK}/blocks" >"${WORK}/blocks.log" 2>&1 || { cat "${WORK}/blocks.log" >&2; die "create-blocks"; }
  blocks="$(seconds_since "${t0}")"
  say "${metric}: dump and history ${dumped} s, blocks ${blocks} s; $(tail -n1 "${WORK}/seed.jsonl")"
  python3 - "${WORK}/seed.jsonl" "${dumped}" "${blocks}" <<'PY'
import json, sys
path, dumped, blocks = sys.argv[1:]
lines = open(path, encoding="utf-8").read().splitlines()
last = json.loads(lines[-1]); last.update(dump_and_history_seconds=float(dumped), blocks_seconds=float(blocks))
open(path, "w", encoding="utf-8").write("\n".join(lines[:-1] + [json.dumps(last)]) + "\n")
PY
  rm -f "${WORK}/seed/${metric}.om"
done
# The sessions' counters: one dump of the cost and session metrics.
t0="$(date +%s.%N)"
"${PROM_BIN}/promtool" tsdb dump --sandbox-dir-root="${WORK}/sandbox" \
  --match='{__name__=~"claude_code_cost_usage_USD_total|claude_code_session_count_total"}' "${WORK}/data" \
  | python3 tests/bench/fleet_seed_bench.py seed-sessions "${END}" --settle "${SETTLE}" --detail "${DETAIL}" \
    >"${WORK}/seed/sessions.om" 2>>"${WORK}/seed.jsonl"
dumped="$(seconds_since "${t0}")"
t0="$(date +%s.%N)"
"${PROM_BIN}/promtool" tsdb create-blocks-from openmetrics --max-block-duration=54h \
  "${WORK}/seed/sessions.om" "${WORK}/blocks" >"${WORK}/blocks.log" 2>&1 || { cat "${WORK}/blocks.log" >&2; die "create-blocks"; }
say "sessions: dump and history ${dumped} s, blocks $(seconds_since "${t0}") s; $(tail -n1 "${WORK}/seed.jsonl")"
rm -f "${WORK}/seed/sessions.om"
say "seeded blocks: $(du -sh "${WORK}/blocks" | cut -f1)"
mv "${WORK}/blocks"/* "${WORK}/data/"

PORT="$(free_port)"
URL="http://127.0.0.1:${PORT}"
printf 'global:\n  evaluation_interval: 1m\n' >"${WORK}/prometheus.yml"
GOMAXPROCS=1 "${PROM_BIN}/prometheus" --config.file="${WORK}/prometheus.yml" --storage.tsdb.path="${WORK}/data" \
  --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:${PORT}" --log.level=warn \
  >"${WORK}/prometheus.log" 2>&1 &
PIDS+=($!)
wait_http "${URL}/-/ready" "${PIDS[0]}" "${WORK}/prometheus.log"
OUT_DIR="${CACHE}/bench-fleet-seed"
mkdir -p "${OUT_DIR}"
OUT="${OUT_DIR}/result-${SESSIONS_PER_DAY}x${DAYS}-${RELEASE}-$(date -u +%Y%m%dT%H%M%SZ).json"
if [[ "${STATS:-1}" == 1 ]]; then
python3 tests/bench/fleet_seed_bench.py query --url "${URL}" --at "${END}" --settle "${SETTLE}" --repeat "${REPEAT}" \
  >"${WORK}/query.json"
python3 - "${WORK}/query.json" "${WORK}/seed.jsonl" "${OUT}" "${SESSIONS_PER_DAY}" "${RELEASE}" <<'PY'
import json, sys
query, seeds, out, per_day, release = sys.argv[1:]
result = json.load(open(query, encoding="utf-8"))
result.update(sessions_per_day=int(per_day), release=release,
              seeds=[json.loads(line) for line in open(seeds, encoding="utf-8") if line.strip()])
open(out, "w", encoding="utf-8").write(json.dumps(result, indent=1) + "\n")
worst = max(t["max_relative_difference"] for t in result["targets"])
same = all(t["same_series"] for t in result["targets"])
print(f"raw {result['raw_total_seconds']} s, counters {result['counter_total_seconds']} s; "
      f"largest relative difference {worst:.2e}; series {'the same' if same else 'DIFFER'}")
PY
say "written to ${OUT} (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
fi

[[ "${DASHBOARD:-0}" == 1 ]] || exit 0
RANGE="${RANGE:-30d}"
# The recording rules at the end (the shipped 24h panels read them), then Prometheus again on one core.
t0="$(date +%s.%N)"
"${PROM_BIN}/promtool" tsdb create-blocks-from rules --start="$((END - 600))" --end="$((END + 120))" --eval-interval=60s \
  --url="${URL}" --output-dir="${WORK}/rules" files/rules/claude_code_recording.yml >"${WORK}/backfill.log" 2>&1 \
  || { tail -n 20 "${WORK}/backfill.log" >&2; die "create-blocks-from rules"; }
say "recording rules backfilled around the end in $(seconds_since "${t0}") s"
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true
mv "${WORK}/rules"/* "${WORK}/data/"
GOMAXPROCS=1 "${PROM_BIN}/prometheus" --config.file="${WORK}/prometheus.yml" --storage.tsdb.path="${WORK}/data" \
  --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:${PORT}" --log.level=warn \
  >>"${WORK}/prometheus.log" 2>&1 &
PIDS=($!)
wait_http "${URL}/-/ready" "${PIDS[0]}" "${WORK}/prometheus.log"
python3 - "${WORK}" <<'PY'
import json, pathlib, sys
import yaml
sys.path.insert(0, "plugins/module_utils")
import pricing
work = pathlib.Path(sys.argv[1])
prices = yaml.safe_load(open("files/model_prices.yml", encoding="utf-8"))["claude_code_model_prices"]
shipped = pricing.apply_prices(json.load(open("files/dashboards/claude-code.json", encoding="utf-8")), prices)
(work / "shipped.json").write_text(json.dumps(shipped))
(work / "fleet.json").write_text(json.dumps(pricing.use_fleet_counters(shipped)))
PY
DOUT="${OUT_DIR}/dashboard-${SESSIONS_PER_DAY}x${DAYS}-${RELEASE}-${RANGE}-$(date -u +%Y%m%dT%H%M%SZ).json"
say "the main dashboard over ${RANGE}, as shipped (\"raw\" below) and with the fleet counters (\"shipped\" below):"
python3 tests/bench/rules_bench_query.py --url "${URL}" --time "${END}" --repeat "${REPEAT}" --range "${RANGE}" \
  --name claude-code --dashboard "${WORK}/shipped.json" --shipped "${WORK}/fleet.json" --json "${DOUT}" --progress \
  || say "(rules_bench_query.py: some answers differ; see ${DOUT})"
say "written to ${DOUT} (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
