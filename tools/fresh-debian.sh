#!/usr/bin/env bash
# Try Borne as a newcomer would: a fresh Debian 12 (bookworm) root, `make test`, then `make run`.
#
#   tools/fresh-debian.sh [REPO_DIR] [COMMIT]        (as root; `apt-get install mmdebstrap`)
#
# REPO_DIR defaults to this checkout, COMMIT to its HEAD: only committed work is tried, from a
# fresh `git clone`. The pristine root (mmdebstrap, variant minbase, plus make, git, python3,
# ca-certificates and sudo) is built once and cached in $BORNE_FRESH_CACHE; each run copies it to
# a scratch directory, so every run starts from a root that has never seen the project.
# Inside the chroot (with /proc, /sys, /dev and /dev/shm mounted, in private mount and PID
# namespaces so that nothing survives the run):
#   1. `make deps image-rootfs`  with the network (Debian packages, the venv, and the appliance's
#      root file system that the `image` tests check: a cold build downloads Debian);
#   2. `make test`  in a network namespace of its own (loopback only: with the root file system
#      built, the tests need no network);
#   3. `make run`   for $BORNE_FRESH_RUN_SECONDS seconds, also on a private loopback, checking that
#      the kiosk shell logs `shell.started`, the federation dashboard answers on 127.0.0.1:8800
#      and the help site on 127.0.0.1:8700/aide.
# Then a summary. Exit status 0 only when all three steps passed.
#
# Environment: BORNE_FRESH_CACHE (default /var/cache/borne-fresh-root), BORNE_FRESH_SCRATCH
# (default /var/tmp), BORNE_FRESH_RUN_SECONDS (60), BORNE_FRESH_KEEP=1 keeps the scratch root
# (it is kept anyway when a step failed), BORNE_FRESH_DOWNLOADS=0 does not reuse downloaded .deb
# and pip files between runs (they only save downloading; what is installed is fresh either way),
# BORNE_FRESH_BROKEN_VENV=1 first leaves the half-made .venv of a `python3 -m venv .venv` tried
# before python3-venv was installed, for `make deps` to repair.
# Certificates in /usr/local/share/ca-certificates are copied in, so that a machine behind a
# TLS-inspecting proxy reaches the package registries from the chroot as it does itself.
set -euo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
REPO=$(cd "${1:-$HERE}" && pwd)
COMMIT=${2:-HEAD}
CACHE=${BORNE_FRESH_CACHE:-/var/cache/borne-fresh-root}
SCRATCH_BASE=${BORNE_FRESH_SCRATCH:-/var/tmp}
RUN_SECONDS=${BORNE_FRESH_RUN_SECONDS:-60}
SUITE=bookworm
INCLUDE=make,git,python3,ca-certificates,sudo
PATH_IN_ROOT=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

say() { printf '[fresh-debian %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { say "$*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || die "run me as root (chroot, mounts)"
command -v mmdebstrap >/dev/null || die "mmdebstrap is missing: apt-get install mmdebstrap"
SHA=$(git -C "$REPO" rev-parse --verify "$COMMIT^{commit}") || die "no commit $COMMIT in $REPO"

# 1. The pristine root, built once (into a temporary name, so that an interrupted build is not
#    mistaken for a cached one).
PRISTINE="$CACHE/root"
if [ ! -x "$PRISTINE/usr/bin/make" ]; then
  say "building the pristine $SUITE root in $PRISTINE (mmdebstrap, minbase + $INCLUDE)"
  mkdir -p "$CACHE"
  rm -rf "$PRISTINE.tmp"
  mmdebstrap --variant=minbase --include="$INCLUDE" --quiet "$SUITE" "$PRISTINE.tmp" </dev/null
  mv "$PRISTINE.tmp" "$PRISTINE"
fi

# 2. A scratch copy of it, with a fresh clone of the commit under /root/borne.
SCRATCH=$(mktemp -d "$SCRATCH_BASE/borne-fresh.XXXXXX")
ROOT="$SCRATCH/root"
LOGS="$SCRATCH/logs"
mkdir -p "$LOGS"
say "scratch root $ROOT (logs in $LOGS)"
cp -a --reflink=auto "$PRISTINE" "$ROOT"
git clone --quiet --no-hardlinks "$REPO" "$ROOT/root/borne"
git -C "$ROOT/root/borne" checkout --quiet --detach "$SHA"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# The installer, not a package, writes /etc/hosts: a bootstrapped root has none.
[ -e "$ROOT/etc/hosts" ] || printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$ROOT/etc/hosts"
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
  chroot "$ROOT" update-ca-certificates >/dev/null 2>&1
fi
if [ "${BORNE_FRESH_DOWNLOADS:-1}" = 1 ]; then
  mkdir -p "$CACHE/downloads/apt" "$CACHE/downloads/pip"
fi

# Run a bash script as root inside the chroot, in private mount and PID namespaces (and a network
# namespace with only loopback when $1 is "offline"). The mounts are undone by a trap, and the
# namespaces take every leftover process and mount with them.
in_root() {
  local network=$1 script=$2 unshare_net=()
  [ "$network" = offline ] && unshare_net=(--net)
  unshare --mount --propagation private --pid --fork --kill-child "${unshare_net[@]}" \
    bash -s -- "$ROOT" "$network" "$CACHE" "${BORNE_FRESH_DOWNLOADS:-1}" "$PATH_IN_ROOT" "$script" <<'INSIDE'
set -euo pipefail
ROOT=$1 NETWORK=$2 CACHE=$3 DOWNLOADS=$4 PATH_IN_ROOT=$5 SCRIPT=$6
MOUNTED=()
undo() { local i; for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do umount -l "${MOUNTED[i]}" 2>/dev/null || true; done; }
trap undo EXIT
mnt() { mount "$@"; MOUNTED+=("${@: -1}"); }
# The root a mount point of its own, as a machine's / is: the image build's own namespaces
# (image/in-root.sh) make / private, which a plain directory under chroot cannot be.
mnt --bind "$ROOT" "$ROOT"
mnt -t proc proc "$ROOT/proc"
mnt -t sysfs sysfs "$ROOT/sys"
mnt --rbind /dev "$ROOT/dev"
mnt -t tmpfs -o mode=1777,nosuid,nodev shm "$ROOT/dev/shm"
if [ "$DOWNLOADS" = 1 ]; then
  mkdir -p "$ROOT/root/.cache/pip"
  mnt --bind "$CACHE/downloads/apt" "$ROOT/var/cache/apt/archives"
  mnt --bind "$CACHE/downloads/pip" "$ROOT/root/.cache/pip"
fi
[ "$NETWORK" = offline ] && ip link set lo up
chroot "$ROOT" /usr/bin/env -i HOME=/root PATH="$PATH_IN_ROOT" TERM=dumb /bin/bash -c "cd /root/borne || exit 1
$SCRIPT"
INSIDE
}

elapsed() { local s=$1; printf '%dm%02ds' $((s / 60)) $((s % 60)); }
FAILED=()

if [ "${BORNE_FRESH_BROKEN_VENV:-0}" = 1 ]; then
  # What a newcomer gets by trying `python3 -m venv .venv` before python3-venv is installed: a
  # .venv without pip, which `make deps` must make anew.
  say "python3 -m venv .venv without python3-venv (expected to fail) — log $LOGS/broken-venv.log"
  in_root online "python3 -m venv .venv" >"$LOGS/broken-venv.log" 2>&1 && die "python3 -m venv worked: not a fresh root?"
  [ -x "$ROOT/root/borne/.venv/bin/python" ] || die "python3 -m venv left no .venv/bin/python"
fi

say "make deps image-rootfs (with the network) — log $LOGS/deps.log"
if [ "${BORNE_FRESH_DOWNLOADS:-1}" = 1 ]; then
  # Two runs at once would share apt's download directory and its lock: one downloads at a time.
  exec 9>"$CACHE/downloads.lock"
  flock -n 9 || { say "waiting for another run's make deps (shared downloads)"; flock 9; }
fi
START=$SECONDS
if in_root online "make deps image-rootfs" >"$LOGS/deps.log" 2>&1; then DEPS_STATUS=ok; else DEPS_STATUS=FAILED; FAILED+=(deps); fi
DEPS_TIME=$((SECONDS - START))
[ "${BORNE_FRESH_DOWNLOADS:-1}" = 1 ] && exec 9>&-
say "make deps: $DEPS_STATUS in $(elapsed $DEPS_TIME)"

TEST_STATUS=skipped TEST_TIME=0 TEST_SUMMARY="" TEST_LINES=0
if [ "$DEPS_STATUS" = ok ]; then
  say "make test (loopback only) — log $LOGS/test.log"
  START=$SECONDS
  if in_root offline "make test" >"$LOGS/test.log" 2>&1; then TEST_STATUS=ok; else TEST_STATUS=FAILED; FAILED+=(test); fi
  TEST_TIME=$((SECONDS - START))
  TEST_LINES=$(wc -l <"$LOGS/test.log")
  TEST_SUMMARY=$(grep -E '^(=+ )?[0-9]+ (passed|failed|errors?)' "$LOGS/test.log" | tail -1 || true)
  say "make test: $TEST_STATUS in $(elapsed $TEST_TIME), $TEST_LINES lines of output: $TEST_SUMMARY"
fi

RUN_STATUS=skipped
if [ "$DEPS_STATUS" = ok ]; then
  say "make run for ${RUN_SECONDS}s (loopback only) — log $LOGS/run.log"
  # The checks run inside the same namespaces as `make run`; each check's first success is written
  # to run-checks.log with the second it happened.
  in_root offline "
    make run >/root/run.log 2>&1 &
    RUN=\$!
    for i in \$(seq $RUN_SECONDS); do
      sleep 1
      grep -q shell.started .run/kiosk-shell.log 2>/dev/null && echo \"shell.started \$i\"
      curl -fsS -o /dev/null http://127.0.0.1:8800/ 2>/dev/null && echo \"dashboard \$i\"
      curl -fsS -o /dev/null http://127.0.0.1:8700/aide 2>/dev/null && echo \"help \$i\"
      kill -0 \$RUN 2>/dev/null || { echo \"exited \$i\"; break; }
    done
    kill -0 \$RUN 2>/dev/null && echo alive
    kill -TERM \$RUN 2>/dev/null || true  # the PID namespace takes the rest (shell, agent, Xvfb)
    wait \$RUN 2>/dev/null || true
  " >"$LOGS/run-checks.log" 2>&1 || true
  cp "$ROOT/root/run.log" "$LOGS/run.log" 2>/dev/null || true
  cp -r "$ROOT/root/borne/.run" "$LOGS/run-dir" 2>/dev/null || true
  first() { awk -v k="$1" '$1 == k { print $2 "s"; exit }' "$LOGS/run-checks.log"; }
  SHELL_AT=$(first shell.started) DASH_AT=$(first dashboard) HELP_AT=$(first help)
  ALIVE=$(grep -qx alive "$LOGS/run-checks.log" && echo yes || echo no)
  say "make run: shell.started ${SHELL_AT:-never}, dashboard :8800 ${DASH_AT:-never}," \
    "help site :8700/aide ${HELP_AT:-never}, still running after ${RUN_SECONDS}s: $ALIVE"
  if [ -n "$SHELL_AT" ] && [ -n "$DASH_AT" ] && [ -n "$HELP_AT" ] && [ "$ALIVE" = yes ]; then
    RUN_STATUS=ok
  else
    RUN_STATUS=FAILED; FAILED+=(run)
  fi
fi

echo
echo "Fresh Debian 12 check of $SHA ($REPO)"
printf '  %-10s %-8s %s\n' "make deps" "$DEPS_STATUS" "$(elapsed $DEPS_TIME)"
printf '  %-10s %-8s %s\n' "make test" "$TEST_STATUS" "$(elapsed $TEST_TIME), $TEST_LINES lines; $TEST_SUMMARY"
printf '  %-10s %-8s %s\n' "make run" "$RUN_STATUS" "kiosk shell, dashboard :8800, help site :8700/aide"
if [ ${#FAILED[@]} -eq 0 ] && [ "${BORNE_FRESH_KEEP:-0}" != 1 ]; then
  rm -rf "$SCRATCH"
  exit 0
fi
echo "  scratch root and logs kept in $SCRATCH"
[ ${#FAILED[@]} -eq 0 ]
