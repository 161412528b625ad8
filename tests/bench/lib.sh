# shellcheck shell=bash
# Helpers shared by the benchmark scripts (sourced, never run).

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_http() { # URL PID LOG: until URL answers 2xx, the process is alive, 60 s at most
  local url="$1" pid="$2" log="$3"
  for _ in $(seq 1 120); do
    curl -fsS -o /dev/null "${url}" 2>/dev/null && return 0
    kill -0 "${pid}" 2>/dev/null || break
    sleep 0.5
  done
  tail -n 20 "${log}" >&2
  die "${url} did not answer"
}

# bench_work NAME: a temp dir WORK (/var/tmp/NAME.XXXXXX) and an empty array PIDS for the
# processes the script starts. However the script ends, every process in PIDS is stopped, a
# failed run shows the last lines of WORK's logs, and WORK is removed (KEEP_WORK=1 keeps it).
bench_work() {
  mkdir -p /var/tmp
  WORK="$(mktemp -d "/var/tmp/$1.XXXXXX")"
  PIDS=()
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

bench_cleanup() {
  local rc=$? pid f
  for pid in "${PIDS[@]}"; do kill "${pid}" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "${pid}" 2>/dev/null || true; done
  if [[ "${rc}" -ne 0 ]]; then
    say "failed (status ${rc}); last lines of the logs in ${WORK}:"
    for f in "${WORK}"/*.log; do [[ -f "${f}" ]] && { echo "--- ${f}" >&2; tail -n 15 "${f}" >&2; }; done
  fi
  if [[ "${KEEP_WORK:-0}" == 1 ]]; then say "kept ${WORK}"; else rm -rf "${WORK}"; fi
  exit "${rc}"
}

# bench_collector_config GOLDEN OUT GRPC_PORT HTTP_PORT PROMETHEUS_URL LOKI_URL HEALTH_PORT TELEMETRY_PORT
# The role's rendering (a golden file of tests/golden/otel_collector/) moved to loopback: OTLP on
# the two ports, remote write to PROMETHEUS_URL/api/v1/write, events to LOKI_URL/otlp, its own
# health check and telemetry on the two ports, its state under WORK/data; then checked by the
# collector itself (OTELCOL validate). A golden file that no longer has what is replaced fails.
bench_collector_config() {
  local golden="$1" out="$2"
  python3 - "$@" "${WORK}/data" <<'PY' || die "cannot move ${golden} to loopback"
import sys
golden, out, grpc, http, prometheus, loki, health, telemetry, data = sys.argv[1:]
text = open(golden, encoding="utf-8").read()
for old, new in [
    ('"0.0.0.0:4317"', f'"127.0.0.1:{grpc}"'),
    ('"0.0.0.0:4318"', f'"127.0.0.1:{http}"'),
    ('"http://127.0.0.1:9090/api/v1/write"', f'"{prometheus}/api/v1/write"'),
    ('"http://127.0.0.1:3100/otlp"', f'"{loki}/otlp"'),
    ('"127.0.0.1:13133"', f'"127.0.0.1:{health}"'),
    ('port: 8888', f'port: {telemetry}'),
    ('"/var/lib/otelcol/', f'"{data}/'),
]:
    if old not in text:
        sys.exit(f"{old} is not in {golden}: update bench_collector_config in tests/bench/lib.sh")
    text = text.replace(old, new)
open(out, "w", encoding="utf-8").write(text)
PY
  mkdir -p "${WORK}/data"
  "${OTELCOL}" validate --config "${out}" >"${WORK}/validate.log" 2>&1 \
    || { cat "${WORK}/validate.log" >&2; die "the collector rejects the configuration"; }
}

# bench_month_data: the synthetic month of tests/bench/rules-benchmark.sh (made and cached by it
# when missing) for DAYS (30) x SESSIONS_PER_DAY sessions ending at END, as BLOCKS (its TSDB
# blocks), and PROM_BIN, the directory of Debian RELEASE's (trixie) prometheus and promtool.
bench_month_data() {
  DAYS="${DAYS:-30}"
  RELEASE="${RELEASE:-trixie}"
  END="${END:-1793491200}"
  BLOCKS="$(DAYS="${DAYS}" SESSIONS_PER_DAY="${SESSIONS_PER_DAY}" END="${END}" RELEASE="${RELEASE}" GENERATE_ONLY=1 \
    bash "${ROOT}/tests/bench/rules-benchmark.sh" | tail -n1)"
  [[ -d "${BLOCKS}" ]] || die "no blocks from tests/bench/rules-benchmark.sh: ${BLOCKS}"
  # shellcheck disable=SC2034  # read by the scripts that source this file
  PROM_BIN="$(bash "${ROOT}/tests/rules/fetch-prometheus.sh" "${RELEASE}" | tail -n1)"
}
