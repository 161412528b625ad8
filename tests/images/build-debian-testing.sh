#!/usr/bin/env bash
# Build the base image of a Debian suite newer than the build machine's Debian 12 ("forky", 14,
# Debian's testing suite today): tests/images/build-debian.sh, the recipe of every image, plus
# the two things such a suite needs on this machine. build-debian.sh itself is not changed, so
# the other images keep their recipe hash and are not rebuilt.
#
# usage: build-debian-testing.sh SUITE      (forky)
#
# 1. Debian 12's debootstrap (1.0.128) has no script for suites released after it: `debootstrap
#    forky` stops with "E: No such script: /usr/share/debootstrap/scripts/forky". Every Debian
#    suite since squeeze is bootstrapped by the one `sid` script (the installed scripts/bookworm
#    and scripts/trixie are links to it), so debootstrap gets, through DEBOOTSTRAP_DIR, a copy of
#    its data kept in the cache with SUITE linked to `sid`. The system's debootstrap is not
#    touched; one that knows the suite is used as it is. Release files are still checked against
#    debian-archive-keyring.
# 2. A testing suite's Release file carries Valid-Until (a week ahead); the package mirror these
#    machines reach serves a snapshot, and apt inside the image refuses a Release file past that
#    date ("Release file ... is expired", measured on forky: 21 days past). The image gets
#    /etc/apt/apt.conf.d/99tcc-snapshot (Acquire::Check-Valid-Until "false"): only the freshness
#    check is off, signatures are still verified. Added as a layer with `docker commit`; its own
#    label (tcc.snapshot) caches it, and build-debian.sh's tcc.recipe label is kept, so a warm run
#    rebuilds nothing.
set -euo pipefail

suite="${1:?usage: build-debian-testing.sh SUITE}"
image="tcc-debian:${suite}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${TCC_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/telemetry.claude_code}"

# 1. debootstrap's data, with the suite linked to `sid` when this debootstrap lacks it.
system=/usr/share/debootstrap
debootstrap_dir="${system}"
if [[ ! -e "${system}/scripts/${suite}" ]]; then
  [[ -e "${system}/scripts/sid" ]] || { echo "build-debian-testing: no ${system}/scripts/sid" >&2; exit 1; }
  debootstrap_dir="${cache}/debootstrap-$(dpkg-query -W -f='${Version}' debootstrap)"
  if [[ ! -e "${debootstrap_dir}/scripts/sid" ]]; then
    rm -rf "${debootstrap_dir}" "${debootstrap_dir}.new"
    mkdir -p "${cache}"
    cp -a "${system}" "${debootstrap_dir}.new"
    mv "${debootstrap_dir}.new" "${debootstrap_dir}"
  fi
  [[ -e "${debootstrap_dir}/scripts/${suite}" ]] || ln -s sid "${debootstrap_dir}/scripts/${suite}"
fi
DEBOOTSTRAP_DIR="${debootstrap_dir}" bash "${here}/build-debian.sh" "${suite}"

# 2. apt keeps working with the mirror's snapshot of the suite.
conf='Acquire::Check-Valid-Until "false";'
layer="$( (cat "${here}/build-debian-testing.sh"; docker image inspect --format '{{ index .Config.Labels "tcc.recipe" }}' "${image}") \
  | sha256sum | cut -c1-16)"
current="$(docker image inspect --format '{{ index .Config.Labels "tcc.snapshot" }}' "${image}" 2>/dev/null || true)"
if [[ "${current}" == "${layer}" ]]; then
  echo "image ${image}: snapshot layer is up to date (${layer})"
  exit 0
fi
container="tcc-image-layer-${suite}-$$"
trap 'docker rm -f "${container}" >/dev/null 2>&1 || true' EXIT
docker run --name "${container}" "${image}" sh -ec "
  printf '%s\n' '// Test image: the mirror serves a snapshot of ${suite}, whose Release file has expired.' \
    '// Signatures are still checked (tests/images/build-debian-testing.sh).' '${conf}' \
    > /etc/apt/apt.conf.d/99tcc-snapshot" >/dev/null
docker commit \
  --change 'CMD ["/lib/systemd/systemd"]' \
  --change "LABEL tcc.snapshot=${layer}" \
  "${container}" "${image}" >/dev/null
echo "image ${image}: added the snapshot layer (${layer})"
