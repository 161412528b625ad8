#!/usr/bin/env bash
# The test harness of telemetry.claude_code: one command, from a fresh Debian 12 machine.
#
#   tests/harness.sh all                 every stage, in order, stopping at the first failure
#   tests/harness.sh STAGE [ARGS]        one stage: setup | lint | sanity | importer | unit | rules |
#                                        molecule
#   tests/harness.sh molecule NAME...    only the named molecule scenarios
#   tests/harness.sh molecule-cmd ARGS   any molecule command in the harness's environment
#                                        (e.g. converge -s NAME, then verify -s NAME; keeps containers)
#   tests/harness.sh deploy [OPTIONS]    the demo: the whole stack (playbooks/site.yml) on one
#                                        local container, tcc-demo, with demo data (options below)
#   tests/harness.sh deploy INVENTORY    the stack on the hosts of INVENTORY
#   tests/harness.sh doctor [INVENTORY]  check a deployed stack (playbooks/doctor.yml)
#   tests/harness.sh catalog VERSION     generate docs/catalog/claude-code-VERSION.json from real
#                    [--check]           sessions of that Claude Code (--check: compare instead)
#   tests/harness.sh drift [--base V|F]  what npm's latest Claude Code emits that the newest
#                    [--new V|F]         catalog does not say (exit 1 when anything differs)
#
# Everything expensive is cached outside the work tree, in $TCC_CACHE (default
# ~/.cache/telemetry.claude_code): the virtualenv (keyed on tests/requirements.txt),
# the base images (keyed on their recipe) and the collector build. A warm run rebuilds none.
set -euo pipefail
shopt -s inherit_errexit

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${TCC_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/telemetry.claude_code}"
export LANG=C.UTF-8 LC_ALL=C.UTF-8
# What belongs to this checkout (the collection link, the sanity copy, the built tarball) lives
# under a directory of its own, keyed by the checkout's path: two clones sharing one cache (a
# work tree and a CI check beside it) never replace each other's collection link.
CHECKOUT="${CACHE}/checkouts/$(printf '%s' "${ROOT}" | sha256sum | cut -c1-12)"
export ANSIBLE_HOME="${CHECKOUT}/ansible-home"
export ANSIBLE_FORCE_COLOR="${ANSIBLE_FORCE_COLOR:-0}" PY_COLORS="${PY_COLORS:-0}"
export MOLECULE_NO_LOG="${MOLECULE_NO_LOG:-false}"
# Our scenarios live in molecule/ at the top of the collection, as the design asks.
export MOLECULE_GLOB="${MOLECULE_GLOB:-molecule/*/molecule.yml}"
mkdir -p "${CACHE}" "${CHECKOUT}"

# `online` is left out on purpose: it downloads the real Grafana and Loki releases (internet).
ALL_SCENARIOS=(prometheus alertmanager otel_collector loki grafana client gateway stack faults large)
SUMMARY_FILE="$(mktemp)"
trap 'rm -f "${SUMMARY_FILE}"' EXIT

log() { printf '\n==> %s\n' "$*"; }
die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

# Run a stage in a subshell, time it and record the outcome for the summary. The subshell
# matters: bash ignores `set -e` inside a function called from an `||` list, so a stage run
# as `do_x || rc=$?` would carry on past its first failing command.
stage() {
  local name="$1"; shift
  local start end rc=0
  log "stage ${name}"
  start=$(date +%s)
  set +e
  ( set -e; cd "${ROOT}"; "$@" )
  rc=$?
  set -e
  end=$(date +%s)
  if [[ ${rc} -ne 0 ]]; then
    echo "${name}: FAILED after $((end - start)) s" >> "${SUMMARY_FILE}"
    print_summary
    die "stage '${name}' failed (exit ${rc}); see its output above. Re-run it alone with: tests/harness.sh ${name}"
  fi
  echo "${name}: ok in $((end - start)) s" >> "${SUMMARY_FILE}"
}

print_summary() {
  local line passed=0 failed=0
  printf '\n==> summary\n'
  while IFS= read -r line; do
    printf '  %s\n' "${line}"
    [[ "${line}" == "  "* ]] && continue
    if [[ "${line}" == *FAILED* ]]; then failed=$((failed + 1)); else passed=$((passed + 1)); fi
  done < "${SUMMARY_FILE}"
  printf 'harness: %d passed, %d failed\n' "${passed}" "${failed}"
}

# --- setup -----------------------------------------------------------------------------

apt_install() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null | grep -q "install ok installed" || missing+=("${pkg}")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

start_docker() {
  if docker info >/dev/null 2>&1; then
    echo "a Docker engine is running; leaving it alone"
    return 0
  fi
  echo "starting dockerd"
  nohup dockerd >/var/log/tcc-dockerd.log 2>&1 &
  local _
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  tail -n 30 /var/log/tcc-dockerd.log >&2
  die "dockerd did not come up within 60 s"
}

VENV=""
setup_venv() {
  local key
  key="$( (cat "${ROOT}/tests/requirements.txt"; python3 --version) | sha256sum | cut -c1-16)"
  VENV="${CACHE}/venv-${key}"
  if [[ ! -x "${VENV}/bin/ansible-playbook" || ! -f "${VENV}/.complete" ]]; then
    echo "creating virtualenv ${VENV}"
    rm -rf "${VENV}"
    python3 -m venv "${VENV}"
    "${VENV}/bin/pip" install -q --disable-pip-version-check --upgrade pip
    "${VENV}/bin/pip" install -q --disable-pip-version-check -r "${ROOT}/tests/requirements.txt"
    touch "${VENV}/.complete"
  else
    echo "virtualenv ${VENV} is up to date"
  fi
  # shellcheck disable=SC1091
  source "${VENV}/bin/activate"
}

# ansible-test bootstraps pip into each sanity virtualenv with a get-pip.py it downloads
# from a CI file server we cannot reach. It looks for a cached copy first, at
# ~/.ansible/test/cache/get_pip_<version>.py, so we put a small stand-in there that
# does the same job offline: pip from Python's bundled ensurepip wheel, then the
# requested packages from the package index.
setup_ansible_test_bootstrap() {
  local version
  version="$(python -c 'import re, ansible_test, pathlib
src = (pathlib.Path(ansible_test.__file__).parent / "_internal/python_requirements.py").read_text()
print(re.search(r"pip=.([0-9.]+).", src).group(1))')"
  mkdir -p "${HOME}/.ansible/test/cache"
  cp "${ROOT}/tests/harness/get_pip_standin.py" "${HOME}/.ansible/test/cache/get_pip_${version//./_}.py"
}

# The collection, visible to Ansible as telemetry.claude_code through ANSIBLE_HOME.
setup_collection_link() {
  local dir="${ANSIBLE_HOME}/collections/ansible_collections/telemetry"
  mkdir -p "${dir}"
  # An installed copy (not a link) would hide the work tree: replace it.
  [[ -d "${dir}/claude_code" && ! -L "${dir}/claude_code" ]] && rm -rf "${dir}/claude_code"
  ln -sfn "${ROOT}" "${dir}/claude_code"
}

# The real Claude Code CLI from npm: the telemetry source of the stack scenario and of the
# catalog. The supported versions are the catalogs in docs/catalog (claude-code-<version>.json,
# generated from real sessions by `tests/harness.sh catalog VERSION`): the oldest and the newest
# of them are the ends of the supported range. Each is installed once into the cache.
CLAUDE_CODE_PACKAGE="@anthropic-ai/claude-code"
claude_code_versions() {
  local f
  for f in "${ROOT}"/docs/catalog/claude-code-*.json; do
    # Only claude-code-X.Y.Z.json: other files beside the catalogs (*.models.json) are not versions.
    if [[ "${f##*/}" =~ ^claude-code-([0-9]+\.[0-9]+\.[0-9]+)\.json$ ]]; then
      echo "${BASH_REMATCH[1]}"
    fi
  done | sort -V
}

# Install one version (if it is not in the cache yet); print its claude executable. Under a
# lock: an install that `setup --background-builds` left running is waited for, not repeated.
install_claude_code() {
  local version="$1"
  local prefix="${CACHE}/claude-code-${version}"
  if [[ ! -x "${prefix}/node_modules/.bin/claude" ]]; then
    (
      flock -n 6 || { echo "${CLAUDE_CODE_PACKAGE}@${version} is being installed by setup; waiting for it" >&2; flock 6; }
      if [[ ! -x "${prefix}/node_modules/.bin/claude" ]]; then
        echo "installing ${CLAUDE_CODE_PACKAGE}@${version}" >&2
        command -v npm >/dev/null || apt_install nodejs npm >&2
        npm install --silent --no-audit --no-fund --prefix "${prefix}" "${CLAUDE_CODE_PACKAGE}@${version}" >&2
      fi
    ) 6>"${prefix}.lock"
  fi
  echo "${prefix}/node_modules/.bin/claude"
}

# Every supported version: CLAUDE_BIN is the newest, TCC_CLAUDE_BINS all of them as
# "2.1.197=/path 2.1.332=/path" (oldest first), for the scenarios that run real sessions.
setup_claude_code() {
  local versions version bin bins=()
  mapfile -t versions < <(claude_code_versions)
  [[ ${#versions[@]} -gt 0 ]] || die "no catalog in docs/catalog: no supported Claude Code version"
  for version in "${versions[@]}"; do
    bin="$(install_claude_code "${version}")"
    bins+=("${version}=${bin}")
    echo "Claude Code ${version}: $("${bin}" --version)"
  done
  export CLAUDE_BIN="${bin}"
  export TCC_CLAUDE_BINS="${bins[*]}"
  echo "CLAUDE_BIN=${CLAUDE_BIN}"
  echo "TCC_CLAUDE_BINS=${TCC_CLAUDE_BINS}"
}

# The OpenTelemetry Collector the molecule scenarios install with the `binary` method:
# a real build with the official builder (cached by manifest hash).
setup_otelcol() {
  TCC_OTELCOL_BIN="$(bash "${ROOT}/tests/otelcol/build.sh" | tail -n1)"
  export TCC_OTELCOL_BIN
  echo "collector: ${TCC_OTELCOL_BIN}"
}

# Real query parsers for the dashboard lint: promtool (PromQL, type-checking) and Grafana's
# own LogQL grammar (npm @grafana/lezer-logql).
setup_lint_parsers() {
  local assignments
  assignments="$(bash "${ROOT}/tests/lint/setup.sh")"
  eval "${assignments}"
  export TCC_PROMTOOL TCC_LOGQL_MODULES
  echo "promtool: ${TCC_PROMTOOL}; LogQL grammar: ${TCC_LOGQL_MODULES}"
}

# Debian 12 and 13, and Debian 14 "forky" (Prometheus 3.5 and Alertmanager 0.33 from its
# packages), which this machine's debootstrap does not know yet (build-debian-testing.sh).
# Under a lock: a build that `setup --background-builds` left running is waited for, never
# started twice. Commands given run after the images, still under the lock.
IMAGES_LOG="${CACHE}/images.log"
IMAGES_LOCK="${CACHE}/.images.lock"
setup_images() {
  (
    flock -n 7 || { echo "the test images are being built by setup (${IMAGES_LOG}); waiting for it"; flock 7; }
    bash "${ROOT}/tests/images/build-debian.sh" bookworm
    bash "${ROOT}/tests/images/build-debian.sh" trixie
    bash "${ROOT}/tests/images/build-debian-testing.sh" forky
    "$@"
  ) 7>"${IMAGES_LOCK}"
}

# What the rules and unit stages take from two of the images: Debian 14's and 13's Prometheus
# packages (promtool 3.5 and 2.53).
fetch_prometheus_packages() {
  bash "${ROOT}/tests/rules/fetch-prometheus.sh" forky >/dev/null
  bash "${ROOT}/tests/rules/fetch-prometheus.sh" trixie >/dev/null
}

# On a cold machine the images (debootstrap: mostly downloads and unpacking) and the Go builds
# (collector, the S3 server, Loki's LogQL parser: mostly compiling) take most of the time before the
# tests, and neither waits for the other.
# Alone, `setup` builds the images in the background while it does the rest, and waits for them
# at its end (their output printed whole then; a failure there fails the setup).
# With --background-builds (`all`), setup waits for none of them: nothing needs the images before
# the rules stage, the Go builds before it, nor Claude Code before molecule, so they run while
# lint, sanity and importer do. The downloads overlap those stages; the compiles share the two
# cores with them and slow them down (README.md, "Run all tests", has the cold runs). Each build
# takes a lock, so the stage that needs one waits for it (images_done, go_builds_done); a build
# that failed in the background is tried again there, in the foreground, where its error shows.
GO_BUILDS_LOG="${CACHE}/go-builds.log"
CLAUDE_CODE_LOG="${CACHE}/claude-code.log"
do_setup() {
  local background_builds=false
  [[ "${1:-}" == "--background-builds" ]] && background_builds=true
  apt_install docker.io debootstrap git curl ca-certificates python3-venv shellcheck
  start_docker
  local images_log images_pid images_rc=0
  if ${background_builds}; then
    echo "building the test images, then fetching two of their Prometheus packages, in the background (log: ${IMAGES_LOG})"
    setup_images fetch_prometheus_packages >"${IMAGES_LOG}" 2>&1 &
  else
    images_log="$(mktemp)"
    setup_images >"${images_log}" 2>&1 &
    images_pid=$!
    # shellcheck disable=SC2064  # expand now: the trap must name this job and this log
    trap "kill \$(process_tree ${images_pid}) 2>/dev/null; rm -f '${images_log}'" EXIT
    echo "building the test images in the background (pid ${images_pid})"
  fi
  setup_venv
  setup_ansible_test_bootstrap
  setup_collection_link
  if ${background_builds}; then
    # Only the molecule stage runs Claude Code: its downloads go on beside the next stages too.
    echo "installing the supported Claude Code releases in the background (log: ${CLAUDE_CODE_LOG})"
    setup_claude_code >"${CLAUDE_CODE_LOG}" 2>&1 &
  else
    setup_claude_code
  fi
  if ${background_builds}; then
    echo "building Loki's LogQL parser, the collector and the S3 server in the background (log: ${GO_BUILDS_LOG})"
    # The parser first (the rules stage wants it, run.sh waits for it); its failure is only a
    # SKIP there, so it does not stop the others.
    ( bash "${ROOT}/tests/rules/logql_check/build.sh" || true; bash "${ROOT}/tests/otelcol/build.sh"
      bash "${ROOT}/tests/s3server/build.sh" ) >"${GO_BUILDS_LOG}" 2>&1 &
  else
    setup_otelcol
    bash "${ROOT}/tests/s3server/build.sh"  # an S3 server and Loki's S3 client, for tests/unit/test_loki_object_storage.py
  fi
  setup_lint_parsers
  ${background_builds} && return 0
  echo "waiting for the test images"
  wait "${images_pid}" || images_rc=$?
  trap - EXIT
  cat "${images_log}"
  rm -f "${images_log}"
  [[ ${images_rc} -eq 0 ]] || die "building the test images failed (exit ${images_rc}); see above"
}

# Wait for the images and packages that `setup --background-builds` started (under their lock),
# print their output, then make sure of them in the foreground (quick when they are there).
images_done() {
  if [[ -f "${IMAGES_LOG}" ]]; then
    echo "waiting for the test images and packages started by setup"
    ( flock 7 ) 7>"${IMAGES_LOCK}"
    cat "${IMAGES_LOG}"
    rm -f "${IMAGES_LOG}"
  fi
  setup_images
}

# Activate the cached environment for a single stage run after `setup`.
ensure_env() {
  if [[ -z "${VIRTUAL_ENV:-}" ]]; then
    setup_venv >/dev/null
    setup_collection_link
  fi
}

# --- stages ----------------------------------------------------------------------------

do_lint() {
  ensure_env
  cd "${ROOT}"
  ansible-lint --profile production --offline
}

# ansible-test must run from inside ansible_collections/NAMESPACE/NAME: copy the files git
# knows about (tracked and not ignored) into such a tree under the cache.
collection_copy() {
  local dest="${CHECKOUT}/work/ansible_collections/telemetry/claude_code"
  rm -rf "${dest}"
  mkdir -p "${dest}"
  (cd "${ROOT}" && git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "${dest}")
  echo "${dest}"
}

do_sanity() {
  ensure_env
  setup_ansible_test_bootstrap
  local dest
  dest="$(collection_copy)"
  cd "${dest}"
  ansible-test sanity --color no --python "$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
    --skip-test pslint "$@"
}

do_importer() {
  ensure_env
  local out="${CHECKOUT}/build"
  rm -rf "${out}" && mkdir -p "${out}"
  local dest
  dest="$(collection_copy)"
  ansible-galaxy collection build --force --output-path "${out}" "${dest}"
  local tarball
  tarball="$(ls "${out}"/telemetry-claude_code-*.tar.gz)"
  # galaxy-importer writes importer_result.json into the working directory, and installs the
  # collection into its ANSIBLE_HOME: give it its own, so the work tree's link stays. Its lint
  # resolves telemetry.claude_code.* (molecule imports the site playbook) through that home.
  local ihome="${CHECKOUT}/importer-home/collections/ansible_collections/telemetry"
  rm -rf "${ihome}/claude_code" && mkdir -p "${ihome}" && ln -s "${dest}" "${ihome}/claude_code"
  (cd "${out}" && ANSIBLE_HOME="${CHECKOUT}/importer-home" \
    GALAXY_IMPORTER_CONFIG="${ROOT}/tests/harness/galaxy-importer.cfg" \
    python -m galaxy_importer.main "${tarball}") | tee "${out}/importer.log"
  # The internal role `_common` is named like prometheus.prometheus's: galaxy-importer's lint
  # warns about the leading underscore (accepted by Galaxy). Anything else fails the stage.
  if grep -E '^(ERROR|WARNING)' "${out}/importer.log" | grep -v -E '^WARNING: roles/_common(/meta/main\.yml)?:1: (role-name|schema\[meta\])'; then
    die "galaxy-importer reported the errors or warnings above"
  fi
}

do_unit() {
  ensure_env
  [[ -n "${TCC_PROMTOOL:-}" ]] || setup_lint_parsers >/dev/null
  # The golden Prometheus configurations are rendered for the pinned 3.5 line: its promtool
  # (Debian 14's, cached by tests/rules/fetch-prometheus.sh) checks them.
  if [[ -z "${TCC_PROMTOOL_PINNED:-}" ]]; then
    TCC_PROMTOOL_PINNED="$(bash "${ROOT}/tests/rules/fetch-prometheus.sh" forky | tail -n1)/promtool"
    export TCC_PROMTOOL_PINNED
  fi
  # The golden collector configurations are validated by the real collector.
  go_builds_done
  [[ -n "${TCC_OTELCOL_BIN:-}" ]] || setup_otelcol >/dev/null
  cd "${ROOT}"
  # One worker per core, each test file whole on one worker (its module fixtures once, its
  # tests in order, as in one process): 126 s instead of 172 s on two cores (2026-11-29).
  python -m pytest -q -n auto --dist loadfile tests/unit "$@"
}

# Wait for the Go builds that `setup --background-builds` started (each build script waits for
# the lock of a build in progress), then print their output.
go_builds_done() {
  [[ -f "${GO_BUILDS_LOG}" ]] || return 0
  echo "waiting for the collector and S3 server builds started by setup"
  bash "${ROOT}/tests/otelcol/build.sh" >/dev/null
  bash "${ROOT}/tests/s3server/build.sh" >/dev/null
  cat "${GO_BUILDS_LOG}"
  rm -f "${GO_BUILDS_LOG}"
}

# The alert and recording rules: promtool check + test rules with the Prometheus of every test
# image (3.5, 2.53 and 2.42), structure checks, and the Loki ruler files' LogQL (tests/rules/run.sh).
do_rules() {
  ensure_env
  start_docker
  images_done
  [[ -n "${TCC_PROMTOOL:-}" ]] || setup_lint_parsers >/dev/null
  cd "${ROOT}"
  # Without TCC_PROMTOOL, run.sh takes every promtool (3.5 from the forky image, 2.53 from the
  # trixie image, 2.42 here) and fails when one of them cannot be had.
  env -u TCC_PROMTOOL bash tests/rules/run.sh
}

# Molecule scenarios run in TCC_MOLECULE_LANES lanes at once (default 2). Most of a scenario's
# time is waiting (systemd booting, a session's exports, a rule's period, an alert's `for:`), so
# two lanes on two cores finish the stage in well under the time of one. Each scenario's output
# goes to a log of its own, printed whole when it ends; a failed scenario does not stop its lane
# (the other lanes' scenarios are still worth knowing), the stage fails at the end.
# The scenarios wait in one queue, longest first, and a lane takes the next one when its last
# ends, so a scenario that runs long (stack waits for wall-clock periods: 565 s and 770 s in
# two CI runs) leaves the rest to the other lane. The weights are the seconds each scenario took
# in CI (the summary's "molecule NAME: ok in N s" lines; the mean of two runs, 2026-11-29);
# a scenario not listed counts 120 s. Every scenario's containers and networks are its own.
declare -A MOLECULE_SECONDS=(
  [stack]=668 [prometheus]=460 [faults]=459 [gateway]=445 [large]=394 [otel_collector]=327
  [client]=237 [alertmanager]=170 [grafana]=132 [loki]=111
)

# The next scenario of the queue, taken off it, or nothing when it is empty.
next_scenario() {
  local logdir="$1"
  (
    flock 8
    local s
    s="$(head -n1 "${logdir}/queue")"
    [[ -z "${s}" ]] || sed -i 1d "${logdir}/queue"
    printf '%s' "${s}"
  ) 8>> "${logdir}/queue.lock"
}

run_molecule_lane() {
  local logdir="$1" lane="$2"
  local s start rc
  while s="$(next_scenario "${logdir}")" && [[ -n "${s}" ]]; do
    start=$(date +%s)
    rc=0
    echo "${s}" > "${logdir}/running.${lane}"
    molecule test -s "${s}" > "${logdir}/${s}.log" 2>&1 || rc=$?
    rm -f "${logdir}/running.${lane}"
    (
      flock 9
      log "molecule scenario ${s} (lane ${lane}): exit ${rc} in $(( $(date +%s) - start )) s"
      cat "${logdir}/${s}.log"
      if [[ ${rc} -eq 0 ]]; then
        echo "  molecule ${s}: ok in $(( $(date +%s) - start )) s" >> "${SUMMARY_FILE}"
      else
        echo "  molecule ${s}: FAILED (exit ${rc}) after $(( $(date +%s) - start )) s" >> "${SUMMARY_FILE}"
        echo "${s}" >> "${logdir}/failed"
      fi
    ) 9>> "${logdir}/print.lock"
  done
}

# A process and all its descendants, parents first (a lane, its molecule, ansible-playbook...).
process_tree() {
  local child
  echo "$1"
  for child in $(pgrep -P "$1" || true); do process_tree "${child}"; done
}

# Ctrl-C or a TERM while the lanes run. Background jobs of a script ignore SIGINT, so the lanes
# and their molecule would go on without this: stop every process of every lane (parents first,
# so no lane starts its next scenario), tear down the containers of the scenarios that were
# running, remove the logs' directory.
stop_molecule_lanes() {
  local logdir="$1"; shift
  trap - INT TERM
  log "interrupted: stopping the molecule lanes"
  local pid f s
  local -a tree=()
  for pid in "$@"; do mapfile -t -O "${#tree[@]}" tree < <(process_tree "${pid}"); done
  [[ ${#tree[@]} -gt 0 ]] && { kill -TERM "${tree[@]}" 2>/dev/null || true; }
  for pid in "$@"; do wait "${pid}" 2>/dev/null || true; done
  for f in "${logdir}"/running.*; do
    [[ -f "${f}" ]] || continue
    s="$(cat "${f}")"
    log "destroying the containers of the interrupted scenario ${s}"
    molecule destroy -s "${s}" > /dev/null 2>&1 \
      || log "could not destroy them; run: tests/harness.sh molecule-destroy ${s}"
  done
  rm -rf "${logdir}"
  exit 130
}

do_molecule() {
  ensure_env
  start_docker
  setup_images
  setup_claude_code >/dev/null  # waits for an install that setup left running (its lock)
  if [[ -f "${CLAUDE_CODE_LOG}" ]]; then
    echo "Claude Code, installed by setup in the background:"
    cat "${CLAUDE_CODE_LOG}"
    rm -f "${CLAUDE_CODE_LOG}"
  fi
  setup_otelcol >/dev/null
  cd "${ROOT}"
  local scenarios=("$@")
  [[ ${#scenarios[@]} -eq 0 ]] && scenarios=("${ALL_SCENARIOS[@]}")
  local s lanes="${TCC_MOLECULE_LANES:-2}"
  for s in "${scenarios[@]}"; do
    [[ -f "molecule/${s}/molecule.yml" ]] || die "no molecule scenario '${s}'"
  done
  [[ "${lanes}" =~ ^[1-9][0-9]*$ ]] || die "TCC_MOLECULE_LANES must be a positive number, not '${lanes}'"
  local logdir i
  logdir="$(mktemp -d)"
  for s in "${scenarios[@]}"; do echo "${MOLECULE_SECONDS[${s}]:-120} ${s}"; done | sort -rn | cut -d' ' -f2 \
    > "${logdir}/queue"
  (( lanes > ${#scenarios[@]} )) && lanes=${#scenarios[@]}
  log "molecule: ${#scenarios[@]} scenarios in ${lanes} lanes, longest first, each lane taking the next when" \
    "its last ends: $(tr '\n' ' ' < "${logdir}/queue")"
  local -a pids=()
  for ((i = 0; i < lanes; i++)); do
    run_molecule_lane "${logdir}" "$((i + 1))" &
    pids+=("$!")
  done
  # shellcheck disable=SC2064  # the directory and the lanes' pids, fixed now on purpose
  trap "stop_molecule_lanes '${logdir}' ${pids[*]}" INT TERM
  local pid
  for pid in "${pids[@]}"; do wait "${pid}" || true; done
  trap - INT TERM
  if [[ -s "${logdir}/failed" ]]; then
    local failed
    failed="$(tr '\n' ' ' < "${logdir}/failed")"
    rm -rf "${logdir}"
    die "molecule scenarios failed: ${failed}"
  fi
  rm -rf "${logdir}"
}

# The catalog of what one Claude Code version emits (tests/catalog, docs/catalog/README.md):
# install VERSION, run every scripted scenario against it and write
# docs/catalog/claude-code-VERSION.json. With --check, write it to a temp file instead and fail
# when it differs from the committed one (a catalog is deterministic: same file, byte for byte).
do_catalog() {
  local version="${1:?usage: tests/harness.sh catalog VERSION [--check] [--only NAME,...]}"
  shift
  local check=0 args=()
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --check) check=1 ;;
      *) args+=("$1") ;;
    esac
    shift
  done
  [[ "${version}" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "not a version: ${version}"
  local bin out
  bin="$(install_claude_code "${version}")"
  out="${ROOT}/docs/catalog/claude-code-${version}.json"
  if [[ ${check} -eq 1 ]]; then
    [[ -f "${out}" ]] || die "no committed catalog ${out} to check against"
    local tmp
    tmp="$(mktemp --suffix=.json)"
    python3 "${ROOT}/tests/catalog/cli.py" generate --claude "${bin}" --out "${tmp}" "${args[@]}"
    if cmp -s "${tmp}" "${out}"; then
      echo "catalog ${version}: identical to ${out#"${ROOT}"/}"
      rm -f "${tmp}"
    else
      diff -u "${out}" "${tmp}" | head -n 100
      rm -f "${tmp}"
      die "catalog ${version} differs from the committed one (above)"
    fi
  else
    python3 "${ROOT}/tests/catalog/cli.py" generate --claude "${bin}" --out "${out}" "${args[@]}"
  fi
}

# Has Claude Code changed? Generate the catalog of npm's current `latest` and print what differs
# from the newest committed catalog. Exit 0: nothing; 1: the newest release emits something else
# (a scheduled job flags it); 2: the check itself failed (npm, install, a session).
#   --base VERSION|FILE  compare against this catalog (default: the newest in docs/catalog)
#   --new VERSION|FILE   the other side: a catalog file, or a version to install and generate
#                        (default: npm's latest)
drift_fail() { printf '\nDRIFT CHECK FAILED: %s\n' "$*" >&2; exit 2; }
do_drift() {
  local base="" new=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --base) base="${2:-}"; [[ -n "${base}" ]] || drift_fail "--base needs a version or a file"; shift ;;
      --new) new="${2:-}"; [[ -n "${new}" ]] || drift_fail "--new needs a version or a file"; shift ;;
      *) drift_fail "unknown argument $1 (--base VERSION|FILE, --new VERSION|FILE)" ;;
    esac
    shift
  done
  if [[ -z "${base}" ]]; then
    base="$(claude_code_versions | tail -n1)" || drift_fail "cannot list docs/catalog"
    [[ -n "${base}" ]] || drift_fail "no catalog in docs/catalog"
  fi
  [[ -f "${base}" ]] || base="${ROOT}/docs/catalog/claude-code-${base}.json"
  [[ -f "${base}" ]] || drift_fail "no catalog ${base}"
  local tmp=""
  if [[ -z "${new}" || ! -f "${new}" ]]; then
    if [[ -z "${new}" ]]; then
      command -v npm >/dev/null || apt_install nodejs npm || drift_fail "no npm"
      new="$(npm view "${CLAUDE_CODE_PACKAGE}@latest" version)" || drift_fail "npm view ${CLAUDE_CODE_PACKAGE} failed"
      echo "npm's latest ${CLAUDE_CODE_PACKAGE}: ${new}" >&2
    fi
    [[ "${new}" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || drift_fail "not a version or a file: ${new}"
    local bin
    bin="$(install_claude_code "${new}")" || drift_fail "cannot install ${CLAUDE_CODE_PACKAGE}@${new}"
    tmp="$(mktemp --suffix=.json)"
    python3 "${ROOT}/tests/catalog/cli.py" generate --claude "${bin}" --out "${tmp}" >&2 \
      || { rm -f "${tmp}"; drift_fail "generating the catalog of ${new} failed (above)"; }
    new="${tmp}"
  fi
  local rc=0
  python3 "${ROOT}/tests/catalog/cli.py" diff "${base}" "${new}" || rc=$?
  [[ -n "${tmp}" ]] && rm -f "${tmp}"
  return "${rc}"
}

# --- deploy and doctor: the product, on one local container or on your servers ----------
#
#   deploy                          the demo: the whole stack (playbooks/site.yml, the roles'
#                                   defaults) on one local systemd container, tcc-demo, with a few
#                                   real Claude Code sessions as demo data
#   deploy --no-demo                the same, without the demo sessions
#   deploy --without grafana,loki   the same without Grafana and/or Loki (their binaries are not
#                                   installed: *_skip_install); says loudly what does not run
#   deploy -e NAME=VALUE ...        variables for the run, such as loki_archive_local_dir=DIR
#   deploy --delete-demo-data       delete the demo sessions' data (Prometheus and Loki)
#   deploy --destroy                remove the demo container and what the demo keeps
#   deploy INVENTORY [ARGS]         your servers: ansible-playbook -i INVENTORY playbooks/site.yml ARGS
#   doctor [INVENTORY] [ARGS]       check a deployed stack (playbooks/doctor.yml); default: the demo

DEMO_CONTAINER="tcc-demo"
DEMO_NETWORK="tcc-demo"
DEMO_DIR="${CACHE}/demo"
DEMO_INVENTORY="${ROOT}/tests/demo/inventory.yml"
DEMO_PASSWORD="${DEMO_DIR}/grafana-admin-password"
DEMO_SOURCES="${DEMO_DIR}/sources.yml"
DEMO_SESSIONS="${DEMO_DIR}/sessions.jsonl"
DEMO_GRAFANA_PORT="${TCC_DEMO_GRAFANA_PORT:-3000}"
DEMO_PROMETHEUS_PORT="${TCC_DEMO_PROMETHEUS_PORT:-9090}"
DEMO_OTLP_PORT="${TCC_DEMO_OTLP_PORT:-4318}"
# The Grafana token file the grafana role writes on the controller, for the demo host.
DEMO_TOKEN_FILE="${HOME}/.config/telemetry.claude_code/grafana-${DEMO_CONTAINER}.token"

# What deploy and doctor need on the controller: Debian packages, the virtualenv, the collection.
# (Not the whole `setup`: no lint parsers, no bookworm image.)
setup_deploy() {
  apt_install docker.io debootstrap git curl ca-certificates python3-venv
  setup_venv >/dev/null
  setup_collection_link
  # The roles' controller-side release cache and the harness's are the same directory.
  export TCC_CACHE="${CACHE}" ANSIBLE_PIPELINING="${ANSIBLE_PIPELINING:-true}"
  export TCC_DEMO_GRAFANA_PORT="${DEMO_GRAFANA_PORT}"
}

demo_exists() { docker container inspect "${DEMO_CONTAINER}" >/dev/null 2>&1; }

# Something else listening on a port the demo publishes on this machine's loopback.
port_taken() {
  ss -Hltn "( sport = :$1 )" 2>/dev/null | grep -q .
}

demo_container() {
  if demo_exists; then
    [[ "$(docker container inspect -f '{{index .Config.Labels "telemetry.claude_code"}}' "${DEMO_CONTAINER}")" == demo ]] \
      || die "a container named ${DEMO_CONTAINER} exists and is not the demo's: remove or rename it"
    if [[ "$(docker container inspect -f '{{.State.Running}}' "${DEMO_CONTAINER}")" != true ]]; then
      docker start "${DEMO_CONTAINER}" >/dev/null
    fi
    echo "container ${DEMO_CONTAINER}: exists, deploying to it again"
    return
  fi
  local port
  for port in "${DEMO_GRAFANA_PORT}" "${DEMO_PROMETHEUS_PORT}" "${DEMO_OTLP_PORT}"; do
    port_taken "${port}" && die "port ${port} on this machine is taken; choose others with TCC_DEMO_GRAFANA_PORT, TCC_DEMO_PROMETHEUS_PORT, TCC_DEMO_OTLP_PORT"
  done
  docker network inspect "${DEMO_NETWORK}" >/dev/null 2>&1 \
    || docker network create --label telemetry.claude_code=demo "${DEMO_NETWORK}" >/dev/null
  # systemd as PID 1, as in the molecule scenarios (docs: GUIDE, "The machine"). Published on
  # this machine's loopback only: Grafana, Prometheus, and the collector's OTLP/HTTP port.
  docker run -d --name "${DEMO_CONTAINER}" --hostname "${DEMO_CONTAINER}" --network "${DEMO_NETWORK}" \
    --label telemetry.claude_code=demo \
    --cap-add SYS_ADMIN --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --cgroupns host -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /run/lock \
    -p "127.0.0.1:${DEMO_GRAFANA_PORT}:3000" -p "127.0.0.1:${DEMO_PROMETHEUS_PORT}:9090" \
    -p "127.0.0.1:${DEMO_OTLP_PORT}:4318" \
    tcc-debian:trixie /lib/systemd/systemd >/dev/null
  echo "container ${DEMO_CONTAINER}: created from tcc-debian:trixie"
}

demo_password() {
  if [[ ! -s "${DEMO_PASSWORD}" ]]; then
    mkdir -p "${DEMO_DIR}"
    (umask 077 && python -c 'import secrets; print(secrets.token_urlsafe(24))' >"${DEMO_PASSWORD}")
  fi
  chmod 0600 "${DEMO_PASSWORD}"
}

demo_destroy() {
  if demo_exists; then
    [[ "$(docker container inspect -f '{{index .Config.Labels "telemetry.claude_code"}}' "${DEMO_CONTAINER}")" == demo ]] \
      || die "the container ${DEMO_CONTAINER} is not the demo's: left alone"
    docker rm -f "${DEMO_CONTAINER}" >/dev/null
    echo "removed the container ${DEMO_CONTAINER}"
  else
    echo "no container ${DEMO_CONTAINER}"
  fi
  if docker network inspect "${DEMO_NETWORK}" >/dev/null 2>&1; then
    docker network rm "${DEMO_NETWORK}" >/dev/null && echo "removed the network ${DEMO_NETWORK}"
  fi
  local f
  for f in "${DEMO_PASSWORD}" "${DEMO_SOURCES}" "${DEMO_SESSIONS}" "${DEMO_DIR}/demo-started" "${DEMO_TOKEN_FILE}"; do
    [[ -e "${f}" ]] && rm -f "${f}" && echo "removed ${f}"
  done
  return 0
}

# The demo's data: real Claude Code sessions on the container, then wait until Prometheus holds
# what Claude Code says they cost.
demo_sessions() {
  setup_claude_code >/dev/null
  log "demo data: real Claude Code sessions against the Messages-API stand-in (labelled demo=\"true\", team=\"demo\")"
  local before=0
  [[ -f "${DEMO_SESSIONS}" ]] && before="$(wc -l <"${DEMO_SESSIONS}")"
  # When the first demo session ran: --delete-demo-data deletes the recording rules' series from then on.
  [[ -s "${DEMO_DIR}/demo-started" ]] || date +%s >"${DEMO_DIR}/demo-started"
  bash "${ROOT}/tests/demo/sessions.sh" "${DEMO_CONTAINER}" "${DEMO_SESSIONS}"
  python - "${DEMO_SESSIONS}" "${before}" "http://127.0.0.1:${DEMO_PROMETHEUS_PORT}" <<'PY'
import json, sys, time, urllib.parse, urllib.request
path, before, prom = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sessions = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
new = sessions[before:]
ids = "|".join(s["session_id"] for s in new)
expected = sum(s["total_cost_usd"] for s in new)
query = 'sum(claude_code_cost_usage_USD_total{demo="true",session_id=~"%s"})' % ids
got = None
for _ in range(45):
    try:
        url = prom + "/api/v1/query?query=" + urllib.parse.quote(query)
        result = json.load(urllib.request.urlopen(url, timeout=5))["data"]["result"]
        got = float(result[0]["value"][1]) if result else None
    except (OSError, ValueError, KeyError) as exc:
        got = None
    if got is not None and abs(got - expected) <= max(1e-9, expected * 1e-6):
        break
    time.sleep(2)
if got is None or abs(got - expected) > max(1e-9, expected * 1e-6):
    print("  Prometheus does not (yet) hold the demo sessions' cost: %s, Claude Code says %.6f USD" % (got, expected))
    sys.exit(1)
print("  Prometheus holds what Claude Code says these sessions cost: %.6f USD (%d sessions)" % (got, len(new)))
PY
}

demo_summary() {
  local without="$1" grafana="http://127.0.0.1:${DEMO_GRAFANA_PORT}"
  log "the demo stack runs in the container ${DEMO_CONTAINER} (Debian 13, systemd), deployed by playbooks/site.yml"
  if [[ ",${without}," == *,grafana,* ]]; then
    echo "  Grafana      NOT RUNNING (deploy --without grafana): the dashboards below cannot be opened"
  else
    echo "  Grafana      ${grafana}/"
    echo "  user         admin"
    echo "  password     in ${DEMO_PASSWORD} (mode 0600): cat ${DEMO_PASSWORD}"
  fi
  python - "${ROOT}/files/dashboards" "${grafana}" <<'PY'
import json, pathlib, sys
dashboards = [json.loads(p.read_text(encoding="utf-8")) for p in pathlib.Path(sys.argv[1]).glob("*.json")]
dashboards.sort(key=lambda d: (d["uid"] != "claude-code", d["title"]))  # the main dashboard first
label = "dashboards"
for d in dashboards:
    print("  %-12s %s/d/%s  %s" % (label, sys.argv[2], d["uid"], d["title"]))
    label = ""
PY
  echo "  Prometheus   http://127.0.0.1:${DEMO_PROMETHEUS_PORT}/"
  if [[ ",${without}," == *,loki,* ]]; then
    echo "  Loki         NOT RUNNING (deploy --without loki): Claude Code's events wait in the collector's disk queue"
  else
    echo "  Loki         in the container only (127.0.0.1:3100); Grafana reads it"
  fi
  echo "  OTLP         http://127.0.0.1:${DEMO_OTLP_PORT} (OTLP/HTTP: your own Claude Code can send here too)"
  if [[ -s "${DEMO_SESSIONS}" ]]; then
    echo "  demo data    $(wc -l <"${DEMO_SESSIONS}") Claude Code sessions, labelled demo=\"true\" team=\"demo\"; delete: tests/harness.sh deploy --delete-demo-data"
  fi
  echo "  check        tests/harness.sh doctor"
  echo "  shell        docker exec -it ${DEMO_CONTAINER} bash"
  echo "  remove       tests/harness.sh deploy --destroy"
}

do_deploy() {
  setup_deploy
  cd "${ROOT}"
  if [[ $# -gt 0 && "$1" != -* ]]; then
    # Your servers: the site playbook as users run it.
    ansible-playbook -i "$1" playbooks/site.yml "${@:2}"
    return
  fi
  local demo=1 without="" extra=() arg
  while [[ $# -gt 0 ]]; do
    arg="$1"; shift
    case "${arg}" in
      --destroy) start_docker >/dev/null; demo_destroy; return ;;
      --delete-demo-data)
        demo_exists || die "no demo container ${DEMO_CONTAINER}: nothing to delete"
        ansible-playbook -i "${DEMO_INVENTORY}" tests/demo/delete-demo-data.yml
        return ;;
      --no-demo) demo=0 ;;
      --without) without="${1:?--without needs grafana, loki or grafana,loki}"; shift ;;
      --without=*) without="${arg#--without=}" ;;
      -e | --extra-vars) extra+=("${1:?${arg} needs a value}"); shift ;;
      -e* ) extra+=("${arg#-e}") ;;
      --extra-vars=*) extra+=("${arg#--extra-vars=}") ;;
      *) die "deploy: unknown option '${arg}' (tests/harness.sh --help)" ;;
    esac
  done
  local e pf_args=() pb_args=()
  for e in "${extra[@]}"; do pf_args+=(-e "${e}"); pb_args+=(-e "${e}"); done

  log "preflight: where Grafana, Loki, Prometheus, Alertmanager and the collector come from"
  local rc=0
  python tests/demo/preflight.py --cache "${CACHE}" --without "${without}" --vars-out "${DEMO_SOURCES}" \
    "${pf_args[@]}" || rc=$?
  [[ ${rc} -eq 0 ]] || exit "${rc}"

  log "the demo container"
  start_docker >/dev/null
  bash "${ROOT}/tests/images/build-debian.sh" trixie
  demo_container
  demo_password

  log "playbooks/site.yml on ${DEMO_CONTAINER}"
  local start=$SECONDS
  ansible-playbook -i "${DEMO_INVENTORY}" playbooks/site.yml -e "@${DEMO_SOURCES}" "${pb_args[@]}"
  echo "site.yml: $((SECONDS - start)) s"

  [[ ${demo} -eq 1 ]] && demo_sessions
  demo_summary "${without}"
}

do_doctor() {
  setup_deploy
  cd "${ROOT}"
  local inventory="${DEMO_INVENTORY}"
  if [[ $# -gt 0 && "$1" != -* ]]; then
    inventory="$1"; shift
  else
    demo_exists || die "no demo container ${DEMO_CONTAINER}: run tests/harness.sh deploy first, or name your inventory: tests/harness.sh doctor INVENTORY"
  fi
  # The playbook's own output shows only what failed; its findings follow, from the report file.
  local report rc
  report="$(mktemp)"
  set +e
  TCC_DOCTOR_REPORT="${report}" ANSIBLE_DISPLAY_OK_HOSTS=false ANSIBLE_DISPLAY_SKIPPED_HOSTS=false \
    ansible-playbook -i "${inventory}" playbooks/doctor.yml "$@" 2>&1 | grep -v -E '^(TASK|PLAY) \[' | cat -s
  rc=${PIPESTATUS[0]}
  set -e
  log "the doctor's findings (${inventory})"
  cat "${report}"
  rm -f "${report}"
  return "${rc}"
}

main() {
  local cmd="${1:-all}"
  [[ $# -gt 0 ]] && shift
  case "${cmd}" in
    setup) stage setup do_setup ;;
    lint) stage lint do_lint "$@" ;;
    sanity) stage sanity do_sanity "$@" ;;
    importer) stage importer do_importer ;;
    unit) stage unit do_unit "$@" ;;
    rules) stage rules do_rules ;;
    molecule) stage molecule do_molecule "$@" ;;
    molecule-destroy) ensure_env; cd "${ROOT}"; molecule destroy -s "${1:?scenario}"; return ;;
    # Any molecule command with the harness's environment, e.g. to keep the containers of a
    # failing scenario for a look inside: tests/harness.sh molecule-cmd converge -s otel_collector
    molecule-cmd)
      ensure_env; start_docker >/dev/null; setup_images; setup_claude_code >/dev/null
      setup_otelcol >/dev/null; cd "${ROOT}"; molecule "$@"; return ;;
    deploy) do_deploy "$@"; return ;;
    doctor) do_doctor "$@"; return ;;
    catalog) stage catalog do_catalog "$@" ;;
    drift)
      # Not a stage: its exit status is the answer (0 same, 1 different, 2 the check failed).
      # set -e must hold inside, so not in an `||` list (see stage()).
      local rc
      set +e
      (set -e; cd "${ROOT}"; do_drift "$@")
      rc=$?
      set -e
      return "${rc}"
      ;;
    all)
      # rules before unit: the unit tests need the Go builds that setup leaves running.
      stage setup do_setup --background-builds
      stage lint do_lint
      stage sanity do_sanity
      stage importer do_importer
      stage rules do_rules
      stage unit do_unit
      stage molecule do_molecule
      ;;
    -h | --help | help)
      sed -n '2,15p' "${BASH_SOURCE[0]}"
      sed -n '/^# --- deploy and doctor/,/^$/p' "${BASH_SOURCE[0]}" | sed '1d'
      return ;;
    *) die "unknown stage '${cmd}' (tests/harness.sh --help)" ;;
  esac
  print_summary
}

main "$@"
