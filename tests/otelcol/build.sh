#!/usr/bin/env bash
# Build the telemetry.claude_code OpenTelemetry Collector distribution
# (otelcol-tcc) from builder-config.yaml with the official OpenTelemetry
# Collector Builder (ocb), into a content-addressed cache outside the repo:
#
#   ${TCC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/telemetry.claude_code}/otelcol/<hash>/otelcol-tcc
#
# <hash> = first 16 hex chars of sha256(builder-config.yaml + build.sh).
# The LAST line of stdout is the absolute path of the binary; all other output
# goes to stderr. If the binary for the current hash exists, nothing is built.
#
# Needs only a Go toolchain (`go` in PATH, $GO, or /usr/local/go/bin/go) and
# access to the Go module proxy on the first (cold) run. The normal Go module
# and build caches (GOMODCACHE / GOCACHE) are used, so rebuilds are faster.
set -euo pipefail

OCB_VERSION=v0.161.0 # must match the component versions in builder-config.yaml
DIST_NAME=otelcol-tcc

log() { printf 'build.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
manifest="$here/builder-config.yaml"
self="$here/$(basename "${BASH_SOURCE[0]}")"
[[ -f $manifest ]] || die "manifest not found: $manifest"

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 | cut -d' ' -f1
  else
    openssl dgst -sha256 -r | cut -d' ' -f1
  fi
}

hash="$(cat "$manifest" "$self" | sha256 | cut -c1-16)"
[[ $hash =~ ^[0-9a-f]{16}$ ]] || die "could not hash $manifest + $self"

cache_root="${TCC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/telemetry.claude_code}"
out_dir="$cache_root/otelcol/$hash"
bin="$out_dir/$DIST_NAME"

# Warm path: nothing to do.
if [[ -x $bin ]]; then
  printf '%s\n' "$bin"
  exit 0
fi

# ---- cold path -------------------------------------------------------------
# One build at a time per manifest: `tests/harness.sh all` starts this in the background during
# setup, and later stages call it again; they wait for that build and find its binary.
mkdir -p "$cache_root/otelcol"
exec 8>"$cache_root/otelcol/.build-$hash.lock"
flock -n 8 || { log "another build of $hash is running; waiting for it"; flock 8; }
if [[ -x $bin ]]; then
  printf '%s\n' "$bin"
  exit 0
fi
GO="${GO:-$(command -v go || true)}"
if [[ -z $GO && -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go; fi
[[ -n $GO && -x $GO ]] || die "Go toolchain not found (put go in PATH or set GO=/path/to/go)"
go_dir="$(cd "$(dirname "$GO")" && pwd)"
GO="$go_dir/$(basename "$GO")" # absolute: ocb runs go from its output dir
export PATH="$go_dir:$PATH"
export CGO_ENABLED=0 GOWORK=off
log "go: $GO ($("$GO" env GOVERSION)), cache: $out_dir"

grep -q "^[[:space:]]*-[[:space:]]*gomod:.* ${OCB_VERSION}\$" "$manifest" ||
  die "builder-config.yaml does not reference ${OCB_VERSION}; keep OCB_VERSION in sync"

# 1. The pinned builder, installed into the cache (shared by all hashes).
ocb_dir="$cache_root/otelcol/ocb-$OCB_VERSION"
ocb="$ocb_dir/builder"
# Builds of different manifests (other hashes) share it: one install at a time, under its own
# lock, into a private directory, then renamed into place, so a builder that is there is complete.
if [[ ! -x $ocb ]]; then
  exec 9>"$cache_root/otelcol/.ocb-$OCB_VERSION.lock"
  flock -n 9 || { log "another build is installing ocb $OCB_VERSION; waiting for it"; flock 9; }
  if [[ ! -x $ocb ]]; then
    log "installing go.opentelemetry.io/collector/cmd/builder@$OCB_VERSION -> $ocb_dir"
    ocb_tmp="$(mktemp -d "$cache_root/otelcol/.ocb-$OCB_VERSION.XXXXXX")"
    (cd "$ocb_tmp" && GOBIN="$ocb_tmp" "$GO" install -trimpath \
      "go.opentelemetry.io/collector/cmd/builder@$OCB_VERSION") >&2 || { rm -rf "$ocb_tmp"; die "go install of ocb failed"; }
    mkdir -p "$ocb_dir"
    mv -f "$ocb_tmp/builder" "$ocb"
    rm -rf "$ocb_tmp"
  fi
  exec 9>&-
fi

# 2. Render the manifest with output_path (and the go binary) injected, then
#    generate + compile in a private temp dir inside the cache (made before the lock above).
work="$(mktemp -d "$cache_root/otelcol/.build-$hash.XXXXXX")"
trap 'rm -rf "$work"' EXIT
yaml_quote() { local s=${1//\'/\'\'}; printf "'%s'" "$s"; } # YAML single-quoted scalar
OUT_PATH="$(yaml_quote "$work/src")" GO_PATH="$(yaml_quote "$GO")" awk '
  { print }
  /^dist:[[:space:]]*$/ {
    print "  output_path: " ENVIRON["OUT_PATH"]
    print "  go: " ENVIRON["GO_PATH"]
  }' "$manifest" >"$work/builder-config.yaml"
grep -q '^  output_path: ' "$work/builder-config.yaml" || die "no top-level dist: section in $manifest"

log "running ocb $OCB_VERSION (go mod tidy + go build -trimpath, CGO_ENABLED=0)"
start=$SECONDS
(cd "$work" && "$ocb" --config "$work/builder-config.yaml") >&2 ||
  die "ocb failed (generated sources: $work/src are removed on exit)"
[[ -x $work/src/$DIST_NAME ]] || die "ocb did not produce $work/src/$DIST_NAME"
log "built in $((SECONDS - start))s"

# 3. Publish: sources (incl. the resolved go.mod/go.sum) next to the binary,
#    binary last and via rename so a present binary is always complete.
mkdir -p "$out_dir"
cp "$work/builder-config.yaml" "$out_dir/builder-config.rendered.yaml"
mv "$work/src/$DIST_NAME" "$out_dir/.$DIST_NAME.$$"
rm -rf "$out_dir/src"
mv "$work/src" "$out_dir/src"
mv -f "$out_dir/.$DIST_NAME.$$" "$bin"

"$bin" --version >&2
printf '%s\n' "$bin"
