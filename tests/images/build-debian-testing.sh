#!/usr/bin/env bash
# Build the base image of a Debian suite newer than the build machine's Debian 12 ("forky", 14,
# Debian's testing suite today): tests/images/build-debian.sh, the recipe of every image, plus
# the three things such a suite needs on this machine. build-debian.sh itself is not changed, so
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
#    check is off, signatures are still verified.
# 3. systemd 258 and later (forky has 262) refuse to run on cgroup v1, and these machines boot with
#    cgroup v1 controllers (hybrid layout): the image gets /usr/local/sbin/tcc-init
#    (tests/images/cgroup2-init.sh), which gives systemd a cgroup v2 hierarchy of its own, and
#    makes it the image's command. Molecule platforms on this image use `command:
#    /usr/local/sbin/tcc-init` instead of /lib/systemd/systemd.
# 2 and 3 are one layer added with `docker commit`, cached by its own label (tcc.layer, the hash
# of this script, cgroup2-init.sh and the base image's recipe); build-debian.sh's tcc.recipe label
# is kept, so a warm run rebuilds nothing. When the layer changes the base is built again (about a
# minute) and gets the new layer, rather than stacking one layer on another.
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

# 2. and 3., one layer.
layer="$( (cat "${here}/build-debian-testing.sh" "${here}/cgroup2-init.sh"
          docker image inspect --format '{{ index .Config.Labels "tcc.recipe" }}' "${image}") | sha256sum | cut -c1-16)"
current="$(docker image inspect --format '{{ index .Config.Labels "tcc.layer" }}' "${image}" 2>/dev/null || true)"
if [[ "${current}" == "${layer}" ]]; then
  echo "image ${image}: test layer is up to date (${layer})"
  exit 0
fi
# An image carrying an older layer is built again from debootstrap, so that layers never pile up.
if [[ -n "${current}" ]]; then
  echo "image ${image}: test layer ${current} is out of date: building the base image again"
  docker image rm -f "${image}" >/dev/null
  DEBOOTSTRAP_DIR="${debootstrap_dir}" bash "${here}/build-debian.sh" "${suite}"
fi
container="tcc-image-layer-${suite}-$$"
trap 'docker rm -f "${container}" >/dev/null 2>&1 || true' EXIT
docker run -i --name "${container}" "${image}" sh -ec "
  cat > /usr/local/sbin/tcc-init
  chmod 0755 /usr/local/sbin/tcc-init
  printf '%s\n' '// Test image: the mirror serves a snapshot of ${suite}, whose Release file has expired.' \
    '// Signatures are still checked (tests/images/build-debian-testing.sh).' \
    'Acquire::Check-Valid-Until \"false\";' > /etc/apt/apt.conf.d/99tcc-snapshot
" <"${here}/cgroup2-init.sh"
docker commit \
  --change 'CMD ["/usr/local/sbin/tcc-init"]' \
  --change "LABEL tcc.layer=${layer}" \
  "${container}" "${image}" >/dev/null
echo "image ${image}: added the test layer (${layer})"
