#!/usr/bin/env bash
# Install the two query parsers the dashboard lint uses, idempotently, into the cache:
#
#   promtool              from Debian's prometheus package, unpacked (not installed: no
#                         service, no users, nothing under /usr) into $CACHE/promtool/
#   @grafana/lezer-logql  Grafana's LogQL grammar, from npm, into $CACHE/logql/
#
# Prints, on stdout, two shell assignments for `eval "$(bash tests/lint/setup.sh)"`:
#   TCC_PROMTOOL=/path/to/promtool
#   TCC_LOGQL_MODULES=/path/to/dir/with/node_modules
# Progress and errors go to stderr. Either part may be skipped with TCC_LINT_SKIP_PROMTOOL=1
# or TCC_LINT_SKIP_LOGQL=1; a part that cannot be installed is reported and left empty.
set -euo pipefail

CACHE="${TCC_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/telemetry.claude_code}"
LEZER_LOGQL_VERSION="0.4.2"
PROMTOOL_DIR="${CACHE}/promtool"
LOGQL_DIR="${CACHE}/logql"

say() { printf 'lint setup: %s\n' "$*" >&2; }

install_promtool() {
  local bin="${PROMTOOL_DIR}/promtool"
  if [[ -x "${bin}" ]] && "${bin}" --version >/dev/null 2>&1; then
    say "promtool present: ${bin}"
    printf '%s\n' "${bin}"
    return 0
  fi
  command -v apt-get >/dev/null || { say "no apt-get: cannot fetch promtool"; return 1; }
  local tmp
  tmp="$(mktemp -d)"
  # shellcheck disable=SC2064
  trap "rm -rf '${tmp}'" RETURN
  # Debian 12 ships promtool inside the prometheus package; later releases may split it out.
  local pkg fetched=""
  for pkg in promtool prometheus; do
    if (cd "${tmp}" && apt-get download -q "${pkg}" >/dev/null 2>&1); then fetched="${pkg}"; break; fi
  done
  if [[ -z "${fetched}" ]]; then
    say "package lists are missing or stale: apt-get update"
    apt-get update -qq >&2 || true
    for pkg in promtool prometheus; do
      if (cd "${tmp}" && apt-get download -q "${pkg}" >/dev/null 2>&1); then fetched="${pkg}"; break; fi
    done
  fi
  [[ -n "${fetched}" ]] || { say "could not download a Debian package holding promtool"; return 1; }
  dpkg-deb -x "${tmp}"/*.deb "${tmp}/root"
  [[ -x "${tmp}/root/usr/bin/promtool" ]] || { say "package ${fetched} holds no usr/bin/promtool"; return 1; }
  mkdir -p "${PROMTOOL_DIR}"
  install -m 0755 "${tmp}/root/usr/bin/promtool" "${bin}.new"
  mv -f "${bin}.new" "${bin}"
  say "installed $("${bin}" --version 2>&1 | head -n1) to ${bin}"
  printf '%s\n' "${bin}"
}

install_logql() {
  local pkgdir="${LOGQL_DIR}/node_modules/@grafana/lezer-logql"
  if [[ -f "${pkgdir}/package.json" ]] \
    && grep -q "\"version\": \"${LEZER_LOGQL_VERSION}\"" "${pkgdir}/package.json"; then
    say "@grafana/lezer-logql ${LEZER_LOGQL_VERSION} present: ${LOGQL_DIR}"
    printf '%s\n' "${LOGQL_DIR}"
    return 0
  fi
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    say "node and npm are needed for the LogQL parser"
    return 1
  fi
  mkdir -p "${LOGQL_DIR}"
  [[ -f "${LOGQL_DIR}/package.json" ]] || printf '{"name": "tcc-logql-lint", "private": true}\n' >"${LOGQL_DIR}/package.json"
  npm install --silent --no-audit --no-fund --prefix "${LOGQL_DIR}" "@grafana/lezer-logql@${LEZER_LOGQL_VERSION}" >&2
  say "installed @grafana/lezer-logql ${LEZER_LOGQL_VERSION} to ${LOGQL_DIR}"
  printf '%s\n' "${LOGQL_DIR}"
}

promtool_path=""
logql_dir=""
if [[ "${TCC_LINT_SKIP_PROMTOOL:-0}" != 1 ]]; then
  promtool_path="$(install_promtool)" || say "promtool unavailable: PromQL lint will be skipped"
fi
if [[ "${TCC_LINT_SKIP_LOGQL:-0}" != 1 ]]; then
  logql_dir="$(install_logql)" || say "LogQL grammar unavailable: LogQL lint will be skipped"
fi
printf 'TCC_PROMTOOL=%q\n' "${promtool_path}"
printf 'TCC_LOGQL_MODULES=%q\n' "${logql_dir}"
