#!/usr/bin/env bash
# Experiment (not a test, not shipped): the self-healing fleet counter of roles/prometheus/README.md
# ("Query cost") on a real Prometheus 3.5.3 (Debian 14's binary, tests/rules/fetch-prometheus.sh),
# at scaled-down time: the rule every STEP (10s), healing window W (90s), sessions pushed by remote
# write while points arrive a few seconds after their timestamps (as in a real pipeline), come late
# (less, then more than W) and Prometheus restarts. Compares Claude Code's own totals with the
# counter and with the dashboards' raw accrual (tests/bench/fleet_counter.py) after each. SETTLE is
# the rule's settling delay L (0s: none). About 23 minutes; 127.0.0.1 only.
#
#   tests/bench/fleet-counter.sh
#   SETTLE=6s tests/bench/fleet-counter.sh
#   STEP=10s W=90s W_SECONDS=90 SETTLE=0s INFLIGHT_DELAY=3 tests/bench/fleet-counter.sh
#   SEEDED=120 PHASES=steady,restart SETTLE=6s W=150s W_SECONDS=150 tests/bench/fleet-counter.sh
#
# SEEDED (seconds, 0: off) puts a phase first in which Prometheus runs without the rule; at its
# end the counter's history is made from what Prometheus holds (promtool tsdb dump,
# plugins/module_utils/fleet_seed.py; blocks for what is older than the head, remote write for
# the rest) while sessions go on,
# and only then is the rule added (fleet_counter.py). PHASES picks the phases that follow.
# SEED_CONTROL=1: the same, but the history is not given to Prometheus (a control that must lose
# what came before the rule). BLOCK (e.g. 2m; default Prometheus's 2h) makes Prometheus cut its
# head into blocks that short (its hidden --storage.tsdb.min/max-block-duration flags), so that a
# short run has persisted blocks and a head, and the history goes to both.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/bench/lib.sh
source "${ROOT}/tests/bench/lib.sh"
cd "${ROOT}"
STEP="${STEP:-10s}"
W="${W:-90s}"
W_SECONDS="${W_SECONDS:-90}"
SETTLE="${SETTLE:-0s}"
INFLIGHT_DELAY="${INFLIGHT_DELAY:-3}"
SEEDED="${SEEDED:-0}"
SEED_CONTROL="${SEED_CONTROL:-0}"
BLOCK="${BLOCK:-}"
PHASES="${PHASES:-steady,in flight,late<W,restart,late>W}"
CACHE="${TCC_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/telemetry.claude_code}"
OUT_DIR="${CACHE}/bench-fleet-counter"
BIN="$(bash tests/rules/fetch-prometheus.sh forky | tail -n1)"
bench_work tcc-fleet-counter
python3 tests/bench/fleet_counter.py rules "${STEP}" "${W}" "${SETTLE}" >"${WORK}/fleet_counter.rules.yml"
cat >"${WORK}/prometheus.rules.yml" <<YAML
global:
  evaluation_interval: ${STEP}
rule_files: [${WORK}/fleet_counter.rules.yml]
storage:
  tsdb:
    out_of_order_time_window: 1d
YAML
"${BIN}/promtool" check config "${WORK}/prometheus.rules.yml" >/dev/null
if [[ "${SEEDED}" -gt 0 ]]; then
  grep -v '^rule_files:' "${WORK}/prometheus.rules.yml" >"${WORK}/prometheus.yml"
else
  cp "${WORK}/prometheus.rules.yml" "${WORK}/prometheus.yml"
fi
"${BIN}/promtool" check config "${WORK}/prometheus.yml" >/dev/null
say "$("${BIN}/prometheus" --version 2>&1 | head -n1); STEP ${STEP}, W ${W}, L ${SETTLE}, seeded ${SEEDED} s, phases ${PHASES}, blocks ${BLOCK:-2h}"
mkdir -p "${OUT_DIR}"
SEED_ARGS=(--phases "${PHASES}" --seeded "${SEEDED}" --promtool "${BIN}/promtool" --rules-config "${WORK}/prometheus.rules.yml")
NAME="result-L${SETTLE}"
if [[ "${SEEDED}" -gt 0 ]]; then NAME+="-seeded${SEEDED}"; fi
if [[ "${SEED_CONTROL}" == 1 ]]; then SEED_ARGS+=(--seed-control); NAME+="-control"; fi
if [[ -n "${BLOCK}" ]]; then
  SEED_ARGS+=("--prometheus-arg=--storage.tsdb.min-block-duration=${BLOCK}" "--prometheus-arg=--storage.tsdb.max-block-duration=${BLOCK}")
  NAME+="-block${BLOCK}"
fi
OUT="${OUT_DIR}/${NAME}-$(date -u +%Y%m%dT%H%M%SZ).json"
python3 tests/bench/fleet_counter.py run --prometheus "${BIN}/prometheus" --config "${WORK}/prometheus.yml" \
  --data "${WORK}/tsdb" --port "$(free_port)" --w-seconds "${W_SECONDS}" --step-seconds "${STEP%s}" \
  --settle "${SETTLE}" --inflight-delay "${INFLIGHT_DELAY}" "${SEED_ARGS[@]}" | tee "${WORK}/run.log"
python3 - "${WORK}/run.log" "${OUT}" <<'PY'
import json, sys
text = open(sys.argv[1], encoding="utf-8").read()
result = json.loads(text[text.index("{\n"):])
open(sys.argv[2], "w", encoding="utf-8").write(json.dumps(result, indent=2) + "\n")
PY
say "written to ${OUT} (load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
