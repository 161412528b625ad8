#!/usr/bin/env bash
# Check and unit-test the collection's alerting and recording rules.
#
#   tests/rules/run.sh
#
# With every promtool the collection is tested with (or only $TCC_PROMTOOL when set): Debian 14's
# 3.5 (the LTS line prometheus_version pins), Debian 13's 2.53 (what the stack runs) and Debian
# 12's 2.42 (what the bookworm package validates with). One that cannot be had is a FAIL:
#   promtool check rules  on every files/rules/*.yml
#   promtool test rules   on every tests/rules/*.test.yml
#   a fleet counter's history through tsdb dump and create-blocks-from openmetrics and back
#                         (fleet_seed_roundtrip.py)
# then the structural checks of check_rules.py (naming, severities, annotations, documented
# series only, thresholds in sync with the prometheus role, every alert tested firing and
# silent, the Loki ruler files' structure), and every LogQL expression of files/loki-rules/
# parsed with Grafana's grammar (tests/lint/logql_parse.mjs, @grafana/lezer-logql) and, when Go
# is there, with Loki's own parser as a metric query (tests/rules/logql_check, Loki 3.5.3;
# built once into the cache; SKIP, not counted, without Go).
#
# Prints `PASS <check>` / `FAIL <check>` (with the tool's output) and a last line
# `rules: N passed, M failed`; exits non-zero when anything failed or nothing could run.
# Tools come from the cache (~/.cache/telemetry.claude_code): tests/rules/fetch-prometheus.sh
# (docker) for 3.5 and 2.53, tests/lint/setup.sh for 2.42 and the LogQL grammar.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${ROOT}" || exit 2

passed=0
failed=0
pass() { passed=$((passed + 1)); printf 'PASS %s\n' "$1"; }
fail() {
  failed=$((failed + 1)); printf 'FAIL %s\n' "$1"
  [[ -n "${2:-}" ]] && printf '%s\n' "$2" | sed 's/^/    /'
  return 0
}

# --- the promtools -----------------------------------------------------------------------
promtools=()
if [[ -n "${TCC_PROMTOOL:-}" ]]; then
  promtools+=("${TCC_PROMTOOL}")
else
  for release in forky trixie; do
    if dir="$(bash tests/rules/fetch-prometheus.sh "${release}" 2>&1)"; then promtools+=("$(tail -n1 <<<"${dir}")/promtool")
    else fail "promtool of Debian ${release} (tests/rules/fetch-prometheus.sh ${release})" "${dir}"; fi
  done
  p42="$(TCC_LINT_SKIP_LOGQL=1 bash tests/lint/setup.sh 2>/dev/null | sed -n 's/^TCC_PROMTOOL=//p')"
  if [[ -n "${p42}" ]]; then promtools+=("$(eval "printf '%s' ${p42}")")
  else fail "promtool of Debian 12 (tests/lint/setup.sh)"; fi
fi
# promtool test rules is the slow part (the budget tests evaluate months of rules): the tests of
# every promtool run side by side, as many at a time as there are cores, and are reported in order.
results="$(mktemp -d)"
trap 'rm -rf "${results}"' EXIT
tests_run=()
run_test() {  # TOOL FILE OUTPUT-PREFIX
  # promtool resolves rule_files relative to the test file
  if (cd tests/rules && "$1" test rules "$(basename "$2")") >"$3.out" 2>&1; then echo pass >"$3.rc"; else echo fail >"$3.rc"; fi
}
declare -A seen=()
for tool in "${promtools[@]}"; do
  version="$("${tool}" --version 2>/dev/null | head -n1 | awk '{print $3}')"
  if [[ -z "${version}" ]]; then fail "promtool ${tool} runs"; continue; fi
  if [[ -n "${seen[${version}]:-}" ]]; then fail "promtool ${tool}: a second ${version}, expected another line"; continue; fi
  seen[${version}]=1
  echo "== promtool ${version} (${tool})"
  for file in files/rules/*.yml; do
    if out="$("${tool}" check rules "${file}" 2>&1)"; then pass "promtool ${version} check rules ${file}"
    else fail "promtool ${version} check rules ${file}" "${out}"; fi
  done
  for file in tests/rules/*.test.yml; do
    while [[ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]]; do wait -n || true; done
    n=${#tests_run[@]}
    tests_run+=("${version}|${file}")
    run_test "${tool}" "${file}" "${results}/${n}" &
  done
done
wait
for n in "${!tests_run[@]}"; do
  version="${tests_run[${n}]%%|*}"; file="${tests_run[${n}]#*|}"
  if [[ "$(cat "${results}/${n}.rc" 2>/dev/null)" == "pass" ]]; then pass "promtool ${version} test rules ${file}"
  else fail "promtool ${version} test rules ${file}" "$(cat "${results}/${n}.out" 2>/dev/null)"; fi
done
[[ ${#seen[@]} -gt 0 ]] || fail "a promtool to run (tests/rules/fetch-prometheus.sh needs docker; tests/lint/setup.sh needs apt-get)"

# --- the fleet counter's history through each promtool and back ----------------------------
for tool in "${promtools[@]}"; do
  version="$("${tool}" --version 2>/dev/null | head -n1 | awk '{print $3}')"
  [[ -n "${version}" ]] || continue
  if out="$(python3 tests/rules/fleet_seed_roundtrip.py "${tool}" 2>&1)"; then
    pass "promtool ${version} tsdb dump and create-blocks-from openmetrics: ${out#ok }"
  else
    fail "promtool ${version} tsdb dump and create-blocks-from openmetrics (fleet_seed_roundtrip.py)" "${out}"
  fi
done

# --- structure ---------------------------------------------------------------------------
echo "== structure"
exprs="$(mktemp)"
trap 'rm -rf "${exprs}" "${results}"' EXIT
if out="$(python3 tests/rules/check_rules.py "${exprs}" 2>&1)"; then
  while IFS= read -r line; do
    case "${line}" in
      "ok "*) pass "${line#ok }" ;;
      "FAIL "*) rest="${line#FAIL }"; fail "${rest%%: *}" "${rest#*: }" ;;
      *) fail "check_rules.py output" "${line}" ;;
    esac
  done <<<"${out}"
else
  fail "check_rules.py" "${out}"
fi

# --- LogQL -------------------------------------------------------------------------------
echo "== LogQL (Grafana's grammar)"
modules="${TCC_LOGQL_MODULES:-}"
if [[ -z "${modules}" ]]; then
  modules="$(TCC_LINT_SKIP_PROMTOOL=1 bash tests/lint/setup.sh 2>/dev/null | sed -n 's/^TCC_LOGQL_MODULES=//p')"
  modules="$(eval "printf '%s' ${modules:-''}")"
fi
if ! command -v node >/dev/null || [[ -z "${modules}" ]]; then
  fail "LogQL parser available (node and @grafana/lezer-logql via tests/lint/setup.sh)"
elif [[ ! -s "${exprs}" ]]; then
  fail "LogQL expressions extracted from files/loki-rules/"
else
  if verdicts="$(node tests/lint/logql_parse.mjs --modules "${modules}" <"${exprs}" 2>&1)"; then
    while IFS=$'\t' read -r ok text errors; do
      if [[ "${ok}" == "true" ]]; then pass "LogQL parses: ${text}"; else fail "LogQL parses: ${text}" "${errors}"; fi
    done < <(python3 -c '
import json, sys
exprs = json.load(open(sys.argv[1]))
for v in json.loads(sys.stdin.read()):
    first = " ".join(exprs[v["index"]].split())[:90]
    print("true" if v["ok"] else "false", first, "; ".join(e["message"] for e in v["errors"]), sep="\t")
' "${exprs}" <<<"${verdicts}")
  else
    fail "tests/lint/logql_parse.mjs" "${verdicts}"
  fi
fi

# --- LogQL with Loki's own parser (optional: needs Go and the Go module proxy once) ----------
echo "== LogQL (Loki's parser, tests/rules/logql_check)"
checker="$(bash tests/rules/logql_check/build.sh)" || checker=""
if [[ -z "${checker}" ]]; then
  echo "SKIP Loki's parser: no Go toolchain, or the build failed (tests/rules/logql_check/build.sh said why above)"
elif [[ -s "${exprs}" ]]; then
  while IFS=$'\t' read -r index verdict; do
    text="$(python3 -c 'import json, sys; print(" ".join(json.load(open(sys.argv[1]))[int(sys.argv[2])].split())[:90])' "${exprs}" "${index}")"
    if [[ "${verdict}" == "ok" ]]; then pass "Loki parses a metric query: ${text}"; else fail "Loki parses a metric query: ${text}" "${verdict}"; fi
  done < <("${checker}" <"${exprs}" 2>&1)
fi

echo "rules: ${passed} passed, ${failed} failed"
[[ ${failed} -eq 0 ]]
