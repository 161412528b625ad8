#!/usr/bin/env bash
# Build a local Debian base image with systemd as PID 1, for molecule's docker driver.
# No image can be pulled on our CI machines, so the root filesystem comes from debootstrap
# (its default mirror; no mirror address is written here) and is loaded with `docker import`.
# The image is rebuilt only when this recipe changes: its hash is stored as an image label.
#
# usage: build-debian.sh SUITE            (bookworm | trixie)
set -euo pipefail

suite="${1:?usage: build-debian.sh SUITE}"
image="tcc-debian:${suite}"
packages="systemd,systemd-sysv,dbus,python3,python3-apt,ca-certificates,iproute2,procps,curl,gnupg,sudo"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
recipe="$( (cat "${here}/build-debian.sh"; echo "${suite}") | sha256sum | cut -c1-16)"

current="$(docker image inspect --format '{{ index .Config.Labels "tcc.recipe" }}' "${image}" 2>/dev/null || true)"
if [[ "${current}" == "${recipe}" ]]; then
  echo "image ${image} is up to date (recipe ${recipe})"
  exit 0
fi

echo "building ${image} (recipe ${recipe}) with debootstrap"
root="$(mktemp -d "/var/tmp/tcc-rootfs-${suite}.XXXXXX")"
trap 'rm -rf "${root}"' EXIT

debootstrap --variant=minbase --include="${packages}" "${suite}" "${root}" >"${root}.log" 2>&1 || {
  tail -n 40 "${root}.log" >&2
  echo "debootstrap ${suite} failed (log above)" >&2
  exit 1
}
rm -f "${root}.log"

# A container, not a machine: no getty, no udev triggers, no kernel-tied units.
# shellcheck disable=SC2016 # the script is for the chroot's shell, $0 is its argument
chroot "${root}" /bin/sh -ec '
  systemctl mask getty.target console-getty.service systemd-udevd.service \
    systemd-udev-trigger.service systemd-firstboot.service systemd-remount-fs.service \
    sys-kernel-debug.mount sys-kernel-tracing.mount dev-hugepages.mount \
    systemd-logind.service >/dev/null 2>&1 || true
  : > /etc/machine-id
  echo "tcc-${0}" > /etc/hostname
  apt-get clean
' "${suite}"
rm -rf "${root}"/var/lib/apt/lists/* "${root}"/var/cache/apt/*.bin "${root}"/var/cache/apt/archives/*.deb \
  "${root}"/tmp/* "${root}"/var/log/*.log "${root}"/var/lib/apt/periodic/update-success-stamp
# Empty lists must look stale, or apt's cache_valid_time would trust them.
touch -d @0 "${root}/var/lib/apt/lists"

tar -C "${root}" --numeric-owner -c . | docker import \
  --change 'CMD ["/lib/systemd/systemd"]' \
  --change 'ENV container=docker' \
  --change "LABEL tcc.recipe=${recipe} tcc.suite=${suite}" \
  - "${image}" >/dev/null
echo "built ${image}"
