#!/usr/bin/env bash
# Run a command as root inside a root file system, in private mount and PID namespaces (and a
# network namespace with only loopback, unless --online):
#
#   image/in-root.sh [--online] [--bind SRC:DST]... ROOT COMMAND [ARG]...
#
# /proc, /sys, /dev, /dev/shm, /run and /tmp are mounted for the command; --bind adds a bind
# mount of the host's SRC on ROOT/DST (DST is created, and removed afterwards if it was not
# there: the root keeps no empty mount point). Every mount is undone when the command ends,
# fails or is killed: a trap unmounts them, and the mount namespace takes any leftover with it.
# The command runs with a clean environment (PATH, HOME=/root, LANG=C.UTF-8) plus the variables
# named in IN_ROOT_ENV (space separated), taken from the caller's environment.
set -euo pipefail

online=0
binds=()
while [ $# -gt 0 ]; do
  case $1 in
    --online) online=1; shift ;;
    --bind) binds+=("$2"); shift 2 ;;
    --) shift; break ;;
    -*) echo "in-root.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || { echo "usage: in-root.sh [--online] [--bind SRC:DST]... ROOT COMMAND [ARG]..." >&2; exit 2; }
ROOT=$(cd "$1" && pwd)
shift
[ "$(id -u)" = 0 ] || { echo "in-root.sh: run me as root (chroot, mounts)" >&2; exit 2; }

passed=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb)
for name in ${IN_ROOT_ENV:-}; do
  [ -n "${!name+x}" ] && passed+=("$name=${!name}")
done

unshare_net=()
[ "$online" = 1 ] || unshare_net=(--net)
exec unshare --mount --propagation private --pid --fork --kill-child "${unshare_net[@]}" \
  bash -c '
set -euo pipefail
ROOT=$1 ONLINE=$2 NBINDS=$3
shift 3
binds=("${@:1:NBINDS}")
shift "$NBINDS"
MOUNTED=()
MADE=()
LINK_ASIDE=0
undo() {
  local i
  for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do umount -l "${MOUNTED[i]}" 2>/dev/null || true; done
  # The mount points made for --bind, once unmounted: an empty directory or an empty file.
  for ((i = ${#MADE[@]} - 1; i >= 0; i--)); do
    rmdir "${MADE[i]}" 2>/dev/null || { [ -f "${MADE[i]}" ] && [ ! -s "${MADE[i]}" ] && rm -f "${MADE[i]}"; } || true
  done
  if [ "$LINK_ASIDE" = 1 ]; then rm -f "$ROOT/etc/resolv.conf"; mv "$ROOT/etc/resolv.conf.in-root" "$ROOT/etc/resolv.conf"; fi
}
trap undo EXIT
mnt() { mount "$@"; MOUNTED+=("${@: -1}"); }
mnt -t proc proc "$ROOT/proc"
mnt -t sysfs sysfs "$ROOT/sys"
mnt --rbind /dev "$ROOT/dev"
mnt -t tmpfs -o mode=1777,nosuid,nodev shm "$ROOT/dev/shm"
mnt -t tmpfs -o mode=755,nosuid,nodev run "$ROOT/run"
mnt -t tmpfs -o mode=1777,nosuid,nodev tmp "$ROOT/tmp"
if [ "$ONLINE" = 1 ]; then
  # systemd-resolved makes it a link into /run, empty here: a plain file for the while, the link
  # put back at the end.
  if [ -L "$ROOT/etc/resolv.conf" ]; then
    mv "$ROOT/etc/resolv.conf" "$ROOT/etc/resolv.conf.in-root"
    LINK_ASIDE=1
  fi
  [ -e "$ROOT/etc/resolv.conf" ] || : >"$ROOT/etc/resolv.conf"
  mnt --bind /etc/resolv.conf "$ROOT/etc/resolv.conf"
else
  # Loopback up in the new network namespace (the update tests serve a release on it): with the
  # ip command of the host, or else of the root (a minimal host may have no iproute2). No
  # apostrophe in this script: it is one single-quoted argument of bash -c.
  ip link set lo up 2>/dev/null || chroot "$ROOT" ip link set lo up 2>/dev/null \
    || echo "in-root.sh: loopback left down (no ip command on the host nor in $ROOT)" >&2
fi
for b in "${binds[@]}"; do
  src=${b%%:*} dst=$ROOT${b#*:}
  [ -e "$dst" ] || MADE+=("$dst")
  if [ -d "$src" ]; then mkdir -p "$dst"; else mkdir -p "$(dirname "$dst")"; [ -e "$dst" ] || : >"$dst"; fi
  mnt --bind "$src" "$dst"
done
status=0
chroot "$ROOT" /usr/bin/env -i "$@" || status=$?
exit "$status"
' in-root "$ROOT" "$online" "${#binds[@]}" "${binds[@]}" "${passed[@]}" "$@"
