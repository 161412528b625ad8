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
