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
