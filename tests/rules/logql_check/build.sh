#!/usr/bin/env bash
# Build tests/rules/logql_check (Loki 3.5.3's LogQL parser) once into the cache, keyed by its
# sources, and print the binary's path. Under a lock, so the build `tests/harness.sh all` starts
# in the background during setup and the rules stage's own call (tests/rules/run.sh) never
# compile it twice at once: the second waits for the first, then finds the binary.
# Exits 1 (printing nothing) without a Go toolchain or when the build fails; its log is
# next to where the binary would be.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
CACHE="${TCC_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/telemetry.claude_code}"
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
src="${ROOT}/tests/rules/logql_check"
key="$(cat "${src}"/{go.mod,go.sum,main.go} | sha256sum | cut -c1-16)"
checker="${CACHE}/logql_check/${key}/logql_check"
mkdir -p "$(dirname "${checker}")"
if [[ ! -x "${checker}" ]]; then
  [[ -x "${GO}" ]] || { echo "logql_check: no Go toolchain" >&2; exit 1; }
  exec 8>"$(dirname "${checker}")/.build.lock"
  flock -n 8 || { echo "logql_check: another build is running; waiting for it" >&2; flock 8; }
  if [[ ! -x "${checker}" ]]; then
    echo "logql_check: go build (Loki's LogQL parser; log ${checker}.log)" >&2
    (cd "${src}" && CGO_ENABLED=0 "${GO}" build -trimpath -o "${checker}.new" .) >"${checker}.log" 2>&1 \
      || { rm -f "${checker}.new"; echo "logql_check: the build failed (${checker}.log)" >&2; exit 1; }
    mv -f "${checker}.new" "${checker}"
  fi
fi
printf '%s\n' "${checker}"
