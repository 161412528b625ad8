#!/usr/bin/env bash
# Benchmark (not a test): how long an idempotent re-run of the whole stack takes on one host.
# Creates and converges the `stack` scenario's container if needed, then re-runs
# playbooks/site.yml against it N times (default 3) and reports wall time and `changed`:
# first with the roles' defaults (every firewall switch off), then as the scenario deploys it
# (every role's firewall switch on: ufw rules checked on every run). Target: changed=0 and
# under 70 s with the defaults. Then it makes twenty-two kinds of drift on the host (content, mode,
# group, owner of configuration, secret, unit and rule files, a removed file or dashboard, a stray
# rule file, the collector's binary and link, a service stopped or disabled, a package's unit
# unmasked or enabled) and checks that the next run corrects each one, and then changes nothing.
#
# usage: tests/bench/stack-rerun.sh [RUNS]     (run `tests/harness.sh setup` once before)
#        TCC_STACK_SUITE=forky tests/bench/stack-rerun.sh   the same on Debian 14 (Prometheus 3.5)
#        TCC_RERUN_ANCHOR_HOME=DIR tests/bench/stack-rerun.sh
#            each run with the defaults is followed by an idempotent re-run of the anchor: the
#            prometheus role of prometheus.prometheus alone, on the same image (tests/bench/anchor).
#            DIR is an ANSIBLE_HOME holding that collection in DIR/collections
#            (ansible-galaxy collection install -p DIR/collections prometheus.prometheus).
#            Without internet access, TCC_ANCHOR_BIN_DIR=a directory with its binaries (prometheus,
#            promtool, consoles/, console_libraries/) and TCC_ANCHOR_SKIP_TAGS=prometheus_download.
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
anchor() {  # molecule ARGS... on the anchor's scenario, with the anchor's ANSIBLE_HOME
  (cd "${ROOT}/tests/bench/anchor" && ANSIBLE_HOME="${TCC_RERUN_ANCHOR_HOME}" molecule "$@")
}
if [[ -n "${TCC_RERUN_ANCHOR_HOME:-}" ]]; then
  [[ -d "${TCC_RERUN_ANCHOR_HOME}/collections/ansible_collections/prometheus/prometheus/roles/prometheus" ]] ||
    { echo "no prometheus.prometheus in ${TCC_RERUN_ANCHOR_HOME}/collections"; exit 1; }
  anchor create >/dev/null
  out="$(anchor converge 2>&1)" || { echo "${out}" | tail -n 40; echo "the anchor did not converge"; exit 1; }
fi
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
    # The anchor right after, so that both see the same machine (its load changes from hour to hour).
    if [[ -n "${TCC_RERUN_ANCHOR_HOME:-}" && ${firewall} == 0 ]]; then
      start=$(date +%s.%N)
      out="$(anchor idempotence 2>&1)" || { echo "${out}" | tail -n 40; echo "anchor run ${i}: NOT idempotent"; exit 1; }
      end=$(date +%s.%N)
      recap="$(echo "${out}" | grep -E 'tcc-anchor-prometheus +: ok=' | tail -n1 | sed 's/^[^t]*//')"
      printf '  anchor run %d (prometheus.prometheus.prometheus alone): %.1f s  %s\n' "${i}" \
        "$(python3 -c "print(${end} - ${start})")" "${recap}"
    fi
  done
done
# Every drift is still corrected: the re-run skips a configuration or unit file whose rendering,
# owner, group and mode it found in place (file_differs), so each kind of drift is made here on
# the host and the next run must change exactly that file's task, then nothing.
container="tcc-stack-${TCC_STACK_SUITE:-trixie}"
drift() {  # DESCRIPTION COMMAND TASK-NAME-PATTERN
  docker exec "${container}" sh -c "$2"
  local out changed
  out="$(molecule converge -s stack 2>&1)" || { echo "${out}" | tail -n 40; echo "drift '$1': converge failed"; exit 1; }
  # The name of every task with a changed result (handlers are not tasks).
  changed="$(echo "${out}" | awk '/^(TASK|RUNNING HANDLER) \[/ { task = $0; sub(/^[A-Z ]+\[/, "", task); sub(/\][^]]*$/, "", task);
    handler = ($1 == "RUNNING") } /^changed: / && !handler { print task }' | sort -u | paste -sd ';')"
  if [[ "${changed}" =~ $3 ]]; then printf '  drift %-42s corrected by: %s\n' "$1" "${changed}"
  else echo "drift '$1': expected a change of /$3/, the run changed: ${changed:-nothing}"; exit 1; fi
}
echo "drift (each corrected by the next run):"
drift "content of prometheus.yml" "echo '# edited' >> /etc/prometheus/prometheus.yml" "Write the Prometheus configuration"
drift "mode of alertmanager.yml" "chmod 0644 /etc/alertmanager/alertmanager.yml" "Write the Alertmanager configuration"
drift "group of the collector's config.yaml" "chgrp root /etc/otelcol/config.yaml" "Write the collector configuration"
drift "content of the prometheus unit" "sed -i 's/^NoNewPrivileges=.*/NoNewPrivileges=no/' /etc/systemd/system/prometheus.service" \
  "Write the hardened systemd unit of prometheus"
drift "owner of the otlp-gateway unit" "chown nobody /etc/systemd/system/otlp-gateway.service" "Write the hardened systemd unit of otlp-gateway"
drift "haproxy.cfg removed" "rm /etc/otlp-gateway/haproxy.cfg" "Write the OTLP gateway configuration"
drift "content of grafana.ini" "echo '; edited' >> /etc/grafana/grafana.ini" "Write grafana.ini"
drift "mode of the data sources" "chmod 0600 /etc/grafana/provisioning/datasources/telemetry.yml" "Provision the Prometheus and Loki data sources"
drift "content of loki.yml" "echo '# edited' >> /etc/loki/loki.yml" "Write the Loki configuration"
# The files a role keeps in a directory of its own, looked at by pattern in the same looks.
drift "content of a Prometheus rule file" "echo '# edited' >> /etc/prometheus/rules/claude_code_alerts.yml" "Write the Claude Code rule files"
drift "a stray Claude Code rule file" "cp /etc/prometheus/rules/claude_code_alerts.yml /etc/prometheus/rules/claude_code_old.yml" \
  "Remove the Claude Code rule files the collection no longer ships"
drift "a dashboard removed" "rm /etc/grafana/dashboards/claude-code.json" "Write the dashboards"
drift "owner of the Loki rule file" "chown nobody /etc/loki/rules/fake/claude_code.yml" "Write the Loki rule files"
# What the roles read in the same looks: secrets, the install and the services' state.
drift "content of the collector's environment file" "echo 'EXTRA=1' >> /etc/otelcol/otelcol.env" "Write the collector environment file"
drift "mode of Grafana's admin password" "chmod 0640 /etc/grafana/secrets/admin_password" "Write the admin password"
drift "Grafana's secret key removed" "rm /etc/grafana/secrets/secret_key" "Generate Grafana's secret key once"
drift "the collector's binary replaced" "b=/opt/telemetry.claude_code/otelcol-0.161.0/otelcol; cp \$b \$b.new && echo >> \$b.new && mv \$b.new \$b" \
  "Copy the binaries from the controller"
drift "the collector's link removed" "rm /usr/local/bin/otelcol" "Link the binaries"
drift "the collector stopped" "systemctl stop otelcol" "Enable and start the collector"
drift "Prometheus disabled" "systemctl disable --quiet prometheus" "Enable and start Prometheus"
drift "the package's Alertmanager unit unmasked" "systemctl unmask --quiet prometheus-alertmanager" "Stop and mask the unit of the Debian package"
drift "the package's haproxy enabled" "systemctl enable --quiet haproxy" "Stop and disable the package's haproxy.service"
out="$(molecule idempotence -s stack 2>&1)" || { echo "${out}" | tail -n 40; echo "after the drifts: NOT idempotent"; exit 1; }
echo "  then: changed=0"

# The units' exposure (systemd-analyze security) on this image; Loki and Grafana have no binary here.
echo "exposure on ${container} ($(docker exec "${container}" sh -c '. /etc/os-release; echo "${PRETTY_NAME}"')):"
for unit in otelcol otlp-gateway prometheus alertmanager; do
  printf '  %-13s %s\n' "${unit}" "$(docker exec "${container}" systemd-analyze security --no-pager "${unit}.service" | tail -n1)"
done
echo "(molecule destroy -s stack removes the container)"
if [[ -n "${TCC_RERUN_ANCHOR_HOME:-}" ]]; then anchor destroy >/dev/null; fi
