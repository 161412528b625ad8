#!/bin/sh
# PID 1 of the tcc-debian:forky test containers (/usr/local/sbin/tcc-init, installed by
# build-debian-testing.sh): systemd, given a cgroup v2 hierarchy of its own.
#
# systemd 258 and later (forky has 262) refuse to run on cgroup v1: "Detected unsupported legacy
# cgroup hierarchy, refusing execution". These test machines boot with the hybrid layout (cgroup
# v1 controllers, and cgroup v2 without controllers at /sys/fs/cgroup/unified), and Docker gives
# a container the v1 view. So, when /sys/fs/cgroup is not cgroup v2, this script:
#   1. makes a cgroup for this container in the v2 hierarchy, tcc-containers/<hostname> (molecule
#      names the host like the container, so two running containers never share one), and moves
#      itself (PID 1) into it, after removing what an earlier container of that name left there
#      (empty cgroups: all of its processes died with it);
#   2. enters a new cgroup namespace rooted at that cgroup (unshare(2) moves the caller itself,
#      and util-linux's unshare execs without forking: this stays PID 1);
#   3. mounts cgroup2 on /sys/fs/cgroup, which now shows only that cgroup, and execs systemd.
# systemd then runs in unified mode without controllers: units start, stop and are tracked as
# usual; only cgroup resource limits (CPUQuota=, MemoryMax=) would have no effect, and the
# collection's units set none. On a host with cgroup v2 this only execs systemd.
# A removed container leaves its cgroups behind, empty (they hold no process), until a container
# of the same name starts again and removes them: one small directory tree per forky platform
# name, under /sys/fs/cgroup/unified/tcc-containers/.
# The container needs what every test container gets: CAP_SYS_ADMIN, no seccomp or AppArmor
# confinement, cgroupns host and /sys/fs/cgroup mounted read-write.
set -eu
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
  exec /lib/systemd/systemd "$@"
fi
unified=/sys/fs/cgroup/unified
if [ "$(stat -fc %T "${unified}" 2>/dev/null || true)" != cgroup2fs ]; then
  echo "tcc-init: /sys/fs/cgroup is cgroup v1 and ${unified} is not cgroup v2: systemd $(/lib/systemd/systemd --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p') cannot run here" >&2
  exit 1
fi
cg="${unified}/tcc-containers/$(cat /proc/sys/kernel/hostname)"
if [ -d "${cg}" ]; then
  find "${cg}" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || true
fi
mkdir -p "${cg}"
echo "$$" > "${cg}/cgroup.procs"
# shellcheck disable=SC2016 # for the inner shell
exec unshare --cgroup /bin/sh -ec \
  'mount -t cgroup2 -o rw,nosuid,nodev,noexec,relatime cgroup2 /sys/fs/cgroup; exec /lib/systemd/systemd "$@"' \
  tcc-init "$@"
