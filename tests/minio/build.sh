#!/usr/bin/env bash
# Build the two programs of the loki role's object storage test
# (tests/unit/test_loki_object_storage.py), each into a keyed cache outside the repo:
#
#   minio    MinIO, a real S3-compatible server, pinned below
#            $CACHE/minio/server-<hash>/minio     <hash>: MINIO_MODULE@MINIO_VERSION
#   s3check  tests/minio/s3check: Loki's own S3 object client, from the Go module of the Loki
#            release the role pins, driven by a configuration file the role rendered
#            $CACHE/minio/s3check-<hash>/s3check  <hash>: the files of tests/minio/s3check
#
# with $CACHE = ${TCC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/telemetry.claude_code}.
# Prints, on stdout, two shell assignments for `eval "$(bash tests/minio/build.sh)"`:
#   TCC_MINIO_BIN=/path/to/minio
#   TCC_S3CHECK_BIN=/path/to/s3check
# Progress and errors go to stderr. A binary already in the cache is not built again.
#
# MinIO publishes no semver tags (its releases are RELEASE.<date> tags), so the Go module proxy
# knows it by pseudo-versions only; the one pinned here is what
# `go list -m -json github.com/minio/minio@latest` answered when it was chosen (2026-02-12). Its
# go.mod has no `replace` directive (checked below before building), so
# `go install module@version` builds it exactly as published, with what its go.mod and go.sum pin.
# Measured cold (empty Go module and build caches, 2 cores): MinIO 215 s on a quiet machine
# (~1.2 GB of modules fetched); MinIO and s3check 551 s with the load average near 7 (README.md).
#
# Needs only a Go toolchain (`go` in PATH, $GO, or /usr/local/go/bin/go) and the Go module
# proxy on the first (cold) run. The normal Go module and build caches are used.
set -euo pipefail

MINIO_MODULE=github.com/minio/minio
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

log() { printf 'minio/build.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${TCC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/telemetry.claude_code}"
key() { sha256sum | cut -c1-16; }

minio_hash="$(printf '%s@%s\n' "${MINIO_MODULE}" "${MINIO_VERSION}" | key)"
s3check_hash="$(cat "${here}/s3check/go.mod" "${here}/s3check/go.sum" "${here}/s3check/main.go" | key)"
minio_bin="${cache_root}/minio/server-${minio_hash}/minio"
s3check_bin="${cache_root}/minio/s3check-${s3check_hash}/s3check"

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

build_minio() {
  go_toolchain
  log "go: ${GO} ($("${GO}" env GOVERSION))"
  # go install refuses a module whose go.mod has replace directives; say so plainly first.
  local gomod
  gomod="$("${GO}" mod download -json "${MINIO_MODULE}@${MINIO_VERSION}" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["GoMod"])')"
  if grep -Eq '^[[:space:]]*replace[[:space:](]' "${gomod}"; then
    die "${MINIO_MODULE}@${MINIO_VERSION}: its go.mod has replace directives; go install cannot build it"
  fi
  local work start
  mkdir -p "${cache_root}/minio"
  work="$(mktemp -d "${cache_root}/minio/.build-minio.XXXXXX")"
  start=${SECONDS}
  log "go install -trimpath ${MINIO_MODULE}@${MINIO_VERSION}"
  GOBIN="${work}" "${GO}" install -trimpath "${MINIO_MODULE}@${MINIO_VERSION}" >&2 \
    || { rm -rf "${work}"; die "go install ${MINIO_MODULE}@${MINIO_VERSION} failed"; }
  log "minio built in $((SECONDS - start)) s"
  publish "${work}/minio" "${minio_bin}"
  rm -rf "${work}"
}

# s3check's go.mod requires github.com/grafana/loki/v3 at the pinned release and repeats that
# release's replace directives (a dependency's own replaces do not apply); its go.sum starts
# from the release's go.sum, so every module is the one Loki was built and tested with.
build_s3check() {
  go_toolchain
  local work start
  mkdir -p "${cache_root}/minio"
  work="$(mktemp -d "${cache_root}/minio/.build-s3check.XXXXXX")"
  start=${SECONDS}
  log "go build tests/minio/s3check (Loki's S3 client)"
  (cd "${here}/s3check" && GOFLAGS=-mod=readonly "${GO}" build -trimpath -o "${work}/s3check" .) >&2 \
    || { rm -rf "${work}"; die "building tests/minio/s3check failed"; }
  log "s3check built in $((SECONDS - start)) s"
  publish "${work}/s3check" "${s3check_bin}"
  rm -rf "${work}"
}

# One build at a time per cache: `tests/harness.sh all` starts this in the background during
# setup, and the unit tests call it again; the second waits for the first and finds the binaries.
if [[ ! -x ${minio_bin} || ! -x ${s3check_bin} ]]; then
  mkdir -p "${cache_root}/minio"
  exec 8>"${cache_root}/minio/.build.lock"
  flock -n 8 || { log "another build is running; waiting for it"; flock 8; }
fi
[[ -x ${minio_bin} ]] || build_minio
[[ -x ${s3check_bin} ]] || build_s3check
printf 'TCC_MINIO_BIN=%s\n' "${minio_bin}"
printf 'TCC_S3CHECK_BIN=%s\n' "${s3check_bin}"
