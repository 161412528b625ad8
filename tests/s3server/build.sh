#!/usr/bin/env bash
# Build the two programs of the loki role's object storage test
# (tests/unit/test_loki_object_storage.py), each into a keyed cache outside the repo:
#
#   versitygw  VersityGW, a real S3 server (SigV4 authentication, TLS), serving a directory
#              (its posix backend), pinned below
#              $CACHE/s3server/server-<hash>/versitygw   <hash>: VGW_MODULE@VGW_VERSION
#   s3check    tests/s3server/s3check: Loki's own S3 object client, from the Go module of the
#              Loki release the role pins, driven by a configuration file the role rendered
#              $CACHE/s3server/s3check-<hash>/s3check   <hash>: the files of tests/s3server/s3check
#
# with $CACHE = ${TCC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/telemetry.claude_code}.
# Prints, on stdout, two shell assignments for `eval "$(bash tests/s3server/build.sh)"`:
#   TCC_S3_SERVER_BIN=/path/to/versitygw
#   TCC_S3CHECK_BIN=/path/to/s3check
# Progress and errors go to stderr. A binary already in the cache is not built again.
#
# VersityGW rather than MinIO, which this test used before: both are real S3 servers that check
# SigV4 signatures and serve TLS, and the test passes the same on both, but VersityGW compiles in
# half the time: from empty Go module and build caches on the idle 2-core test machine
# (2026-11-29), VersityGW v1.8.0 in 2 min 19 s (212 s of user CPU), MinIO (the pseudo-version
# the test pinned) in 5 min 3 s (432 s). Its go.mod has no `replace` directive (checked below
# before building), so `go install module@version` builds it exactly as published.
#
# Needs only a Go toolchain (`go` in PATH, $GO, or /usr/local/go/bin/go) and the Go module
# proxy on the first (cold) run. The normal Go module and build caches are used.
set -euo pipefail

VGW_MODULE=github.com/versity/versitygw/cmd/versitygw
VGW_VERSION=v1.8.0

log() { printf 's3server/build.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${TCC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/telemetry.claude_code}"
key() { sha256sum | cut -c1-16; }

server_hash="$(printf '%s@%s\n' "${VGW_MODULE}" "${VGW_VERSION}" | key)"
s3check_hash="$(cat "${here}/s3check/go.mod" "${here}/s3check/go.sum" "${here}/s3check/main.go" | key)"
server_bin="${cache_root}/s3server/server-${server_hash}/versitygw"
s3check_bin="${cache_root}/s3server/s3check-${s3check_hash}/s3check"

go_toolchain() {
  GO="${GO:-$(command -v go || true)}"
  if [[ -z ${GO} && -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go; fi
  [[ -n ${GO} && -x ${GO} ]] || die "Go toolchain not found (put go in PATH or set GO=/path/to/go)"
  export CGO_ENABLED=0 GOWORK=off
}

# Build into a private directory, publish by rename: a binary in place is always complete.
publish() {
  local built="$1" dest="$2"
  mkdir -p "$(dirname "${dest}")"
  mv -f "${built}" "${dest}"
}

build_server() {
  go_toolchain
  log "go: ${GO} ($("${GO}" env GOVERSION))"
  # go install refuses a module whose go.mod has replace directives; say so plainly first.
  local gomod
  gomod="$("${GO}" mod download -json "${VGW_MODULE%/cmd/*}@${VGW_VERSION}" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["GoMod"])')"
  if grep -Eq '^[[:space:]]*replace[[:space:](]' "${gomod}"; then
    die "${VGW_MODULE}@${VGW_VERSION}: its go.mod has replace directives; go install cannot build it"
  fi
  local work start
  mkdir -p "${cache_root}/s3server"
  work="$(mktemp -d "${cache_root}/s3server/.build-server.XXXXXX")"
  start=${SECONDS}
  log "go install -trimpath ${VGW_MODULE}@${VGW_VERSION}"
  GOBIN="${work}" "${GO}" install -trimpath "${VGW_MODULE}@${VGW_VERSION}" >&2 \
    || { rm -rf "${work}"; die "go install ${VGW_MODULE}@${VGW_VERSION} failed"; }
  log "versitygw built in $((SECONDS - start)) s"
  publish "${work}/versitygw" "${server_bin}"
  rm -rf "${work}"
}

# s3check's go.mod requires github.com/grafana/loki/v3 at the pinned release and repeats that
# release's replace directives (a dependency's own replaces do not apply); its go.sum starts
# from the release's go.sum, so every module is the one Loki was built and tested with.
build_s3check() {
  go_toolchain
  local work start
  mkdir -p "${cache_root}/s3server"
  work="$(mktemp -d "${cache_root}/s3server/.build-s3check.XXXXXX")"
  start=${SECONDS}
  log "go build tests/s3server/s3check (Loki's S3 client)"
  (cd "${here}/s3check" && GOFLAGS=-mod=readonly "${GO}" build -trimpath -o "${work}/s3check" .) >&2 \
    || { rm -rf "${work}"; die "building tests/s3server/s3check failed"; }
  log "s3check built in $((SECONDS - start)) s"
  publish "${work}/s3check" "${s3check_bin}"
  rm -rf "${work}"
}

# One build at a time per cache: `tests/harness.sh all` starts this in the background during
# setup, and the unit tests call it again; the second waits for the first and finds the binaries.
if [[ ! -x ${server_bin} || ! -x ${s3check_bin} ]]; then
  mkdir -p "${cache_root}/s3server"
  exec 8>"${cache_root}/s3server/.build.lock"
  flock -n 8 || { log "another build is running; waiting for it"; flock 8; }
fi
[[ -x ${server_bin} ]] || build_server
[[ -x ${s3check_bin} ]] || build_s3check
printf 'TCC_S3_SERVER_BIN=%s\n' "${server_bin}"
printf 'TCC_S3CHECK_BIN=%s\n' "${s3check_bin}"
