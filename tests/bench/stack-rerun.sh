#!/usr/bin/env bash
# Benchmark (not a test): how long an idempotent re-run of the whole stack takes on one host.
# Creates and converges the `stack` scenario's container if needed, then re-runs
# playbooks/site.yml against it N times (default 3) and reports wall time and `changed`:
# first with the roles' defaults (every firewall switch off), then as the scenario deploys it
# (every role's firewall switch on: ufw rules checked on every run). Target: changed=0 and
# under 70 s with the defaults.
#
# usage: tests/bench/stack-rerun.sh [RUNS]     (run `tests/harness.sh setup` once before)
#        TCC_STACK_SUITE=forky tests/bench/stack-rerun.sh   the same on Debian 14 (Prometheus 3.5)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${TCC_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/telemetry.claude_code}"
RUNS="${1:-3}"
# The collection link that tests/harness.sh setup made for this checkout.
checkout_key="$(printf '%s' "${ROOT}" | sha256sum | cut -c1-12)"
export LANG=C.UTF-8 LC_ALL=C.UTF-8 ANSIBLE_HOME="${CACHE}/checkouts/${checkout_key}/ansible-home" MOLECULE_GLOB="molecule/*/molecule.yml"
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0
key="$( (cat "${ROOT}/tests/requirements.txt"; python3 --version) | sha256sum | cut -c1-16)"
# shellcheck disable=SC1090,SC1091
source "${CACHE}/venv-${key}/bin/activate"
TCC_OTELCOL_BIN="$(bash "${ROOT}/tests/otelcol/build.sh" | tail -n1)"
export TCC_OTELCOL_BIN
cd "${ROOT}"
# Debian 14's systemd needs cgroup v2 set up by the image's own init (molecule/prometheus/molecule.yml).
if [[ "${TCC_STACK_SUITE:-}" == forky ]]; then export TCC_STACK_INIT=/usr/local/sbin/tcc-init; fi

molecule create -s stack >/dev/null
molecule converge -s stack >/dev/null
# molecule idempotence re-runs converge.yml (which imports playbooks/site.yml) and fails on any change
for firewall in 0 1; do
  export TCC_STACK_FIREWALL="${firewall}"
  echo "firewall switches: $([[ ${firewall} == 1 ]] && echo on || echo 'off (the defaults)')"
  for i in $(seq 1 "${RUNS}"); do
    start=$(date +%s.%N)
    out="$(molecule idempotence -s stack 2>&1)" || { echo "${out}" | tail -n 40; echo "run ${i}: NOT idempotent"; exit 1; }
    end=$(date +%s.%N)
    recap="$(echo "${out}" | grep -E 'tcc-stack-[a-z]+ +: ok=' | tail -n1 | sed 's/^[^t]*//')"
    printf '  run %d: %.1f s  %s\n' "${i}" "$(python3 -c "print(${end} - ${start})")" "${recap}"
  done
done
# The units' exposure (systemd-analyze security) on this image; Loki and Grafana have no binary here.
container="tcc-stack-${TCC_STACK_SUITE:-trixie}"
echo "exposure on ${container} ($(docker exec "${container}" sh -c '. /etc/os-release; echo "${PRETTY_NAME}"')):"
for unit in otelcol otlp-gateway prometheus alertmanager; do
  printf '  %-13s %s\n' "${unit}" "$(docker exec "${container}" systemd-analyze security --no-pager "${unit}.service" | tail -n1)"
done
echo "(molecule destroy -s stack removes the container)"
