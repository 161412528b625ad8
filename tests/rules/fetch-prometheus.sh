#!/usr/bin/env bash
# Unpack Debian's prometheus and promtool binaries (not installed: no service, no user, nothing
# under /usr) into the cache, from the collection's test image of a Debian release, and print
# the directory holding them (last line of stdout).
#
#   tests/rules/fetch-prometheus.sh [forky|trixie|bookworm]
#                                     (default trixie: 2.53.3; forky: 3.5.3, bookworm: 2.42.0)
#
# The packages come from that release's own apt sources inside a throwaway container of
# tcc-debian:<release> (tests/images/build-debian.sh, build-debian-testing.sh for forky); the host
# needs docker. Idempotent.
set -euo pipefail
RELEASE="${1:-trixie}"
CACHE="${TCC_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/telemetry.claude_code}"
DEST="${CACHE}/prometheus-${RELEASE}"
BIN="${DEST}/usr/bin"
if [[ -x "${BIN}/promtool" && -x "${BIN}/prometheus" ]] && "${BIN}/promtool" --version >/dev/null 2>&1; then
  printf '%s\n' "${BIN}"
  exit 0
fi
command -v docker >/dev/null || { echo "fetch-prometheus: docker is needed" >&2; exit 1; }
docker image inspect "tcc-debian:${RELEASE}" >/dev/null 2>&1 \
  || { echo "fetch-prometheus: no image tcc-debian:${RELEASE} (tests/images/build-debian.sh)" >&2; exit 1; }
mkdir -p "${DEST}"
# Debian 12 ships promtool inside the prometheus package; Debian 13 and 14 have a promtool package.
docker run --rm -v "${DEST}:/out" "tcc-debian:${RELEASE}" sh -c '
  set -e
  apt-get update -qq >/dev/null
  cd /tmp
  apt-get download -q prometheus >/dev/null
  apt-get download -q promtool >/dev/null 2>&1 || true
  for deb in *.deb; do dpkg-deb -x "$deb" /out; done
  chown -R '"$(id -u):$(id -g)"' /out' >&2
[[ -x "${BIN}/promtool" && -x "${BIN}/prometheus" ]] || { echo "fetch-prometheus: no binaries in ${BIN}" >&2; exit 1; }
echo "fetch-prometheus: $("${BIN}/prometheus" --version 2>&1 | head -n1) in ${BIN}" >&2
printf '%s\n' "${BIN}"
