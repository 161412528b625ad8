#!/usr/bin/env bash
# The test harness of telemetry.claude_code: one command, from a fresh Debian 12 machine.
#
#   tests/harness.sh all                 every stage, in order, stopping at the first failure
#   tests/harness.sh STAGE [ARGS]        one stage: setup | lint | sanity | importer | unit | rules |
#                                        molecule
#   tests/harness.sh molecule NAME...    only the named molecule scenarios
#   tests/harness.sh deploy [INVENTORY]  deploy the stack (playbooks/site.yml) to a local test
#                                        container, or to the hosts of INVENTORY
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
ALL_SCENARIOS=(prometheus alertmanager otel_collector loki grafana client gateway stack)
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

# The real Claude Code CLI, pinned, from npm: the telemetry source of the stack scenario.
CLAUDE_CODE_VERSION="2.1.197"
setup_claude_code() {
  local prefix="${CACHE}/claude-code-${CLAUDE_CODE_VERSION}"
  if [[ ! -x "${prefix}/node_modules/.bin/claude" ]]; then
    echo "installing @anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}"
    command -v npm >/dev/null || apt_install nodejs npm
    npm install --silent --no-audit --no-fund --prefix "${prefix}" "@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}"
  fi
  export CLAUDE_BIN="${prefix}/node_modules/.bin/claude"
  "${CLAUDE_BIN}" --version
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

setup_images() {
  bash "${ROOT}/tests/images/build-debian.sh" bookworm
  bash "${ROOT}/tests/images/build-debian.sh" trixie
}

do_setup() {
  apt_install docker.io debootstrap git curl ca-certificates python3-venv shellcheck
  start_docker
  setup_venv
  setup_ansible_test_bootstrap
  setup_collection_link
  setup_images
  setup_claude_code
  setup_otelcol
  setup_lint_parsers
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
  cd "${ROOT}"
  python -m pytest -q tests/unit "$@"
}

# The alert and recording rules: promtool check + test rules with the Prometheus of both test
# images (2.53 and 2.42), structure checks, and the Loki ruler files' LogQL (tests/rules/run.sh).
do_rules() {
  ensure_env
  start_docker
  setup_images
  [[ -n "${TCC_PROMTOOL:-}" ]] || setup_lint_parsers >/dev/null
  cd "${ROOT}"
  # Without TCC_PROMTOOL, run.sh takes both promtools (2.53 from the trixie image, 2.42 here).
  env -u TCC_PROMTOOL bash tests/rules/run.sh
}

do_molecule() {
  ensure_env
  start_docker
  setup_images
  setup_claude_code >/dev/null
  setup_otelcol >/dev/null
  cd "${ROOT}"
  local scenarios=("$@")
  [[ ${#scenarios[@]} -eq 0 ]] && scenarios=("${ALL_SCENARIOS[@]}")
  local s
  for s in "${scenarios[@]}"; do
    [[ -f "molecule/${s}/molecule.yml" ]] || die "no molecule scenario '${s}'"
    log "molecule scenario ${s}"
    local start
    start=$(date +%s)
    molecule test -s "${s}" || die "molecule scenario '${s}' failed"
    echo "  molecule ${s}: ok in $(( $(date +%s) - start )) s" >> "${SUMMARY_FILE}"
  done
}

do_deploy() {
  ensure_env
  cd "${ROOT}"
  if [[ $# -gt 0 ]]; then
    ansible-playbook -i "$1" playbooks/site.yml "${@:2}"
  else
    molecule converge -s stack
    echo "The stack runs in the container tcc-stack-trixie: docker exec -it tcc-stack-trixie bash"
    echo "Remove it with: tests/harness.sh molecule-destroy stack"
  fi
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
    deploy) do_setup; do_deploy "$@"; return ;;
    all)
      stage setup do_setup
      stage lint do_lint
      stage sanity do_sanity
      stage importer do_importer
      stage unit do_unit
      stage rules do_rules
      stage molecule do_molecule
      ;;
    -h | --help | help) sed -n '2,13p' "${BASH_SOURCE[0]}"; return ;;
    *) die "unknown stage '${cmd}' (tests/harness.sh --help)" ;;
  esac
  print_summary
}

main "$@"
