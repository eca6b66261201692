#!/usr/bin/env bash
# The appliance's root file system: Debian 12 (bookworm) with the kiosk installed, in a directory.
#
#   image/build-rootfs.sh [OUT_DIR]          (as root; `apt-get install mmdebstrap`)
#
# OUT_DIR defaults to $BORNE_IMAGE_CACHE/rootfs. Only committed work goes in: the project is
# taken from `git archive HEAD` of this checkout, never from the working tree.
#
# Three stages, each cached under $BORNE_IMAGE_CACHE (default /var/cache/borne-image) and keyed by
# a hash of its inputs, so that a rebuild redoes only what changed:
#   1. base-KEY/    mmdebstrap, variant minbase, the packages of image/packages.txt, no Recommends
#                   (key: that list, the architecture, mmdebstrap's version). Downloaded .deb
#                   files are kept in apt/ between builds.
#   2. wheels-KEY/  every Python dependency as a wheel (key: pyproject.toml and the base). The
#                   files are downloaded on this machine (its pip configuration, into pip/), then
#                   built offline in a throwaway copy of the base with gcc, python3-dev and the
#                   headers the source-only packages build against (pycups: libcups2-dev,
#                   python-sane: libsane-dev, python-evdev: linux-libc-dev): no compiler reaches
#                   the image.
#   3. OUT_DIR      a copy of the base; the venv /opt/kiosk installed offline from those wheels
#                   and the project, then trimmed by image/slim.sh; /etc/kiosk from config/;
#                   users, directories and units from systemd/; getty and autovt on tty1..6
#                   masked; locked down: sysctl (no SysRq, reboot on panic), udev (no USB storage
#                   for udisks), /etc/fstab (read-only root, tmpfs, the data partition),
#                   /etc/nftables.conf (image/nftables.conf.in with the agent's ports from
#                   config/) and nftables.service enabled; kiosk-nightly-reboot.timer enabled only
#                   with BORNE_NIGHTLY_REBOOT=1. Skipped when OUT_DIR was built from the same inputs
#                   (OUT_DIR.inputs holds their hash), unless BORNE_IMAGE_FORCE=1.
# Stage 1 filters what dpkg installs with image/dpkg-excludes.cfg (docs, manuals, other languages).
# Stage 1 also brings the kernel and its initramfs, and systemd 254 from bookworm-backports
# (image/apt-preferences); stage 3 writes the image's version and name into /usr/lib/os-release
# (IMAGE_VERSION, IMAGE_ID), the update definitions (image/sysupdate.d/, BORNE_UPDATE_URL) and the
# releases' public key (BORNE_SIGNING_PUBKEY) for systemd-sysupdate.
# Prints the sizes and the build time at the end. The bootable disk is image/build-disk.sh's
# (`make image`), which holds the size budget.
set -euo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${BORNE_IMAGE_CACHE:-/var/cache/borne-image}
OUT=${1:-$CACHE/rootfs}
SUITE=bookworm
ARCH=${BORNE_IMAGE_ARCH:-amd64}
BUILD_PACKAGES=(gcc python3-dev libcups2-dev libsane-dev linux-libc-dev)
IN_ROOT=$HERE/image/in-root.sh
NIGHTLY_REBOOT=${BORNE_NIGHTLY_REBOOT:-0}
START=$SECONDS

say() { printf '[image %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { say "$*" >&2; exit 2; }
hash_of() { sha256sum | cut -c1-16; }

[ "$(id -u)" = 0 ] || die "run me as root (mmdebstrap, chroot, mounts)"
command -v mmdebstrap >/dev/null || die "mmdebstrap is missing: apt-get install mmdebstrap"
SHA=$(git -C "$HERE" rev-parse --verify HEAD) || die "no git checkout in $HERE"
mkdir -p "$CACHE/apt" "$CACHE/pip"
OUT=$(realpath -m "$OUT")

exec 9>"$CACHE/.lock"
flock -n 9 || { say "waiting for another build (lock $CACHE/.lock)"; flock 9; }

# The project's files as committed, read from HEAD.
committed() { git -C "$HERE" show "HEAD:$1"; }
PACKAGES=$(committed image/packages.txt | sed 's/#.*//' | tr -s ' \t\n' '\n' | grep -v '^$' | sort -u)
DPKG_EXCLUDES=$(committed image/dpkg-excludes.cfg)
# Debian's archive: bookworm with its updates and security fixes, and bookworm-backports, from
# which image/apt-preferences takes systemd 254 only.
MIRRORS=("deb http://deb.debian.org/debian $SUITE main"
  "deb http://deb.debian.org/debian $SUITE-updates main"
  "deb http://security.debian.org/debian-security $SUITE-security main"
  "deb http://deb.debian.org/debian $SUITE-backports main")
BASE_KEY=$( { echo "$PACKAGES"; echo "$DPKG_EXCLUDES"; echo "$SUITE $ARCH"; mmdebstrap --version
  printf '%s\n' "${MIRRORS[@]}"; committed image/apt-preferences; committed image/initramfs-hook; } | hash_of)
# The wheels depend on the project's dependencies and build system only, not on the rest of
# pyproject.toml (tools' settings, test markers).
WHEELS_KEY=$( { echo "$BASE_KEY"; committed pyproject.toml | python3 -c 'import json, sys, tomllib
d = tomllib.load(sys.stdin.buffer)
print(json.dumps([d["project"].get("dependencies"), d["project"].get("requires-python"), d.get("build-system")]))'
  echo "${BUILD_PACKAGES[*]}"; } | hash_of)
# What goes into OUT_DIR: everything of HEAD but the documentation and the tests.
IMAGE_PATHS=(kiosk sync config systemd image pyproject.toml)
# The image's version (IMAGE_VERSION in /etc/os-release, which systemd-sysupdate compares):
# the project's version, then the number of commits that changed what goes into the image. It
# only grows along the history (--full-history: no merge hides a side's commits), and changes
# exactly when the image's content may have, so a commit of documentation alone keeps it.
PROJECT_VERSION=$(committed pyproject.toml | sed -n 's/^version = "\([^"]*\)"$/\1/p')
IMAGE_VERSION=$PROJECT_VERSION.$(git -C "$HERE" rev-list --count --full-history HEAD -- "${IMAGE_PATHS[@]}")
[[ $IMAGE_VERSION =~ ^[0-9]+(\.[0-9]+)+$ ]] || die "no version for the image: '$IMAGE_VERSION'"
# Updates: where the terminal fetches them (a static directory the federation serves over HTTPS,
# README "Updating terminals") and the public key their SHA256SUMS must be signed with.
UPDATE_URL=${BORNE_UPDATE_URL:-https://updates.borne.invalid/borne}
[[ $UPDATE_URL =~ ^https?://[^[:space:]]+$ ]] || die "BORNE_UPDATE_URL is not an http(s) address: '$UPDATE_URL'"
UPDATE_URL=${UPDATE_URL%/}
SIGNING_PUBKEY=${BORNE_SIGNING_PUBKEY:-}
[ -z "$SIGNING_PUBKEY" ] || [ -s "$SIGNING_PUBKEY" ] || die "BORNE_SIGNING_PUBKEY: no such key file '$SIGNING_PUBKEY'"
INPUTS_KEY=$( { echo "$WHEELS_KEY"; for p in "${IMAGE_PATHS[@]}"; do git -C "$HERE" rev-parse "HEAD:$p"; done
  echo "nightly-reboot=$NIGHTLY_REBOOT version=$IMAGE_VERSION update-url=$UPDATE_URL"
  [ -z "$SIGNING_PUBKEY" ] || sha256sum <"$SIGNING_PUBKEY"; } | hash_of)
BASE=$CACHE/base-$BASE_KEY
WHEELS=$CACHE/wheels-$WHEELS_KEY

if [ "${BORNE_IMAGE_FORCE:-0}" != 1 ] && [ -f "$OUT.inputs" ] && [ "$(cat "$OUT.inputs")" = "$INPUTS_KEY" ] \
  && [ -x "$OUT/opt/kiosk/bin/kiosk" ]; then
  say "$OUT is up to date (inputs $INPUTS_KEY, commit $SHA): reused"
  exit 0
fi

WORK=$(mktemp -d "$CACHE/work.XXXXXX")
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
git -C "$HERE" archive --format=tar HEAD | tar -x -C "$WORK" --one-top-level=src
echo "$DPKG_EXCLUDES" >"$WORK/dpkg-excludes.cfg"
SRC=$WORK/src

# 1. The base root.
if [ ! -x "$BASE/usr/bin/cage" ]; then
  say "stage 1: mmdebstrap $SUITE/$ARCH, minbase + $(echo "$PACKAGES" | wc -l) packages -> $BASE"
  rm -rf "$BASE.tmp"
  # The .deb files come from and go back to $CACHE/apt; none stays in the root.
  mmdebstrap --variant=minbase --arch="$ARCH" --quiet \
    --include="$(echo "$PACKAGES" | paste -sd,)" \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt="$WORK/dpkg-excludes.cfg" \
    --skip=download/empty \
    --setup-hook='mkdir -p "$1"/var/cache/apt/archives' \
    --setup-hook="sync-in $CACHE/apt /var/cache/apt/archives" \
    --setup-hook="install -D -m 644 $SRC/image/apt-preferences \"\$1\"/etc/apt/preferences.d/borne" \
    --setup-hook="install -D -m 755 $SRC/image/initramfs-hook \"\$1\"/etc/initramfs-tools/hooks/borne" \
    --customize-hook="sync-out /var/cache/apt/archives $CACHE/apt" \
    --customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb' \
    "$SUITE" "$BASE.tmp" "${MIRRORS[@]}" </dev/null
  mv "$BASE.tmp" "$BASE"
  say "stage 1 done: base $(du -sh "$BASE" | cut -f1)"
else
  say "stage 1: base $BASE reused"
fi


# 2. The wheels.
if [ ! -f "$WHEELS/.complete" ]; then
  say "stage 2: Python wheels -> $WHEELS"
  rm -rf "$WHEELS.tmp"
  mkdir -p "$WHEELS.tmp" "$WORK/downloads"
  # Downloaded here, with this machine's pip configuration (index, proxy, certificates), by a
  # pip of its own: a fresh Debian's python3 has no pip module (python3-venv brings ensurepip).
  python3 -m venv "$WORK/pip" || die "python3 -m venv failed (the Debian package python3-venv)"
  "$WORK/pip/bin/python" -m pip download --quiet --disable-pip-version-check --cache-dir "$CACHE/pip" \
    -d "$WORK/downloads" "$WORK/src" "setuptools>=77" wheel pip >"$WORK/download.log" 2>&1 \
    || { cat "$WORK/download.log"; die "pip download failed"; }
  rm -f "$WORK"/downloads/borne-*
  # Built offline in a throwaway copy of the base, with a compiler.
  cp -a "$BASE" "$WORK/builder"
  "$IN_ROOT" --online --bind "$CACHE/apt:/var/cache/apt/archives" "$WORK/builder" \
    bash -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${BUILD_PACKAGES[*]} >/dev/null"
  "$IN_ROOT" --bind "$WORK/downloads:/mnt/downloads" --bind "$WHEELS.tmp:/mnt/wheels" "$WORK/builder" \
    bash -c 'set -e; python3 -m venv /tmp/build
      /tmp/build/bin/pip install --quiet --disable-pip-version-check --no-index --find-links /mnt/downloads -U pip setuptools wheel
      /tmp/build/bin/pip wheel --quiet --disable-pip-version-check --use-pep517 \
        --no-index --find-links /mnt/downloads -w /mnt/wheels /mnt/downloads/*'
  rm -rf "$WORK/builder"
  touch "$WHEELS.tmp/.complete"
  rm -rf "$WHEELS" && mv "$WHEELS.tmp" "$WHEELS"
  say "stage 2 done: $(find "$WHEELS" -name '*.whl' | wc -l) wheels, $(du -sh "$WHEELS" | cut -f1)"
else
  say "stage 2: wheels $WHEELS reused"
fi

# 3. The root file system.
say "stage 3: the kiosk of commit $SHA -> $OUT"
rm -rf "$OUT.tmp" "$OUT.inputs"
cp -a "$BASE" "$OUT.tmp"
R=$OUT.tmp
"$IN_ROOT" --bind "$WHEELS:/mnt/wheels" --bind "$SRC:/mnt/src" "$R" bash -c '
  set -e
  python3 -m venv /opt/kiosk
  /opt/kiosk/bin/pip install --quiet --disable-pip-version-check --no-index --find-links /mnt/wheels -U pip
  cp -a /mnt/src /tmp/src   # the build writes next to the sources
  /opt/kiosk/bin/pip install --quiet --disable-pip-version-check --no-index --find-links /mnt/wheels /tmp/src'
# What the kiosk never loads leaves the venv; its languages: French and those of kiosk/i18n.
"$SRC/image/slim.sh" "$R" fr $(cd "$SRC/kiosk/i18n" && ls -d */ | tr -d /)
install -d -m 755 "$R/etc/kiosk"
cp -a "$SRC/config/." "$R/etc/kiosk/"
chown -R root:root "$R/etc/kiosk"
install -m 644 "$SRC"/systemd/kiosk-*.service "$SRC"/systemd/kiosk-*.timer "$R/usr/lib/systemd/system/"
install -D -m 644 "$SRC/systemd/sysusers.d/kiosk.conf" "$R/usr/lib/sysusers.d/kiosk.conf"
install -D -m 644 "$SRC/systemd/tmpfiles.d/kiosk.conf" "$R/usr/lib/tmpfiles.d/kiosk.conf"
install -D -m 644 "$SRC/systemd/journald.conf.d/kiosk.conf" "$R/usr/lib/systemd/journald.conf.d/kiosk.conf"
install -D -m 644 "$SRC/systemd/logind.conf.d/kiosk.conf" "$R/usr/lib/systemd/logind.conf.d/kiosk.conf"
install -D -m 644 "$SRC/systemd/pam.d/kiosk-shell" "$R/etc/pam.d/kiosk-shell"
install -D -m 644 "$SRC/systemd/polkit/50-kiosk-shell.rules" "$R/usr/share/polkit-1/rules.d/50-kiosk-shell.rules"
# The first-boot setup: the shell shows it until done (drop-in), its privileged steps started by
# path units and, for a USB key, by udev; iwd's networks on the data partition.
install -m 644 "$SRC"/systemd/kiosk-*.path "$R/usr/lib/systemd/system/"
install -D -m 644 "$SRC/systemd/kiosk-shell.service.d/setup.conf" "$R/usr/lib/systemd/system/kiosk-shell.service.d/setup.conf"
install -D -m 644 "$SRC/systemd/iwd.service.d/kiosk.conf" "$R/usr/lib/systemd/system/iwd.service.d/kiosk.conf"
install -D -m 644 "$SRC/systemd/tmpfiles.d/kiosk-setup.conf" "$R/usr/lib/tmpfiles.d/kiosk-setup.conf"
install -D -m 644 "$SRC/systemd/udev/91-kiosk-setup-usb.rules" "$R/usr/lib/udev/rules.d/91-kiosk-setup-usb.rules"
install -D -m 644 "$SRC/image/iwd-main.conf" "$R/etc/iwd/main.conf"
install -d -m 700 "$R/var/lib/iwd" # where iwd.service.d binds /var/lib/kiosk/iwd on the read-only root
# The network: DHCP on any cable, online with one link.
install -D -m 644 "$SRC/image/network/80-kiosk-wired.network" "$R/usr/lib/systemd/network/80-kiosk-wired.network"
install -D -m 644 "$SRC/image/network/wait-online-any.conf" \
  "$R/usr/lib/systemd/system/systemd-networkd-wait-online.service.d/kiosk.conf"
# Locked down: kernel settings (no SysRq, reboot on panic), no USB storage for udisks, read-only
# root with tmpfs and the data partition, the firewall with the agent's ports from config/.
install -D -m 644 "$SRC/systemd/sysctl.d/kiosk.conf" "$R/usr/lib/sysctl.d/kiosk.conf"
install -D -m 644 "$SRC/systemd/udev/90-kiosk-usb-storage.rules" "$R/usr/lib/udev/rules.d/90-kiosk-usb-storage.rules"
install -m 644 "$SRC/image/fstab" "$R/etc/fstab"
# A boot that stops in emergency (or rescue) mode says so on the screen and reboots (the root
# account is locked: the shell there would refuse everyone).
install -D -m 755 "$SRC/image/boot-failed" "$R/usr/libexec/borne/boot-failed"
for unit in emergency rescue; do
  install -D -m 644 "$SRC/systemd/emergency.service.d/kiosk.conf" "$R/usr/lib/systemd/system/$unit.service.d/kiosk.conf"
done
# Nothing written at run time lands on the read-only root (README, "Where the terminal keeps its
# state"): the journal, CUPS's queues and the machine id persist on the data partition
# (kiosk-state.service, /etc/fstab, cups.service.d, the initramfs script that binds the kept
# machine id); CUPS's spool and cache on its own tmpfs, its logs in the journal; dbus's machine
# id a link made now (systemd-tmpfiles would try at each boot); apt's and dpkg's daily timers,
# which write to the root, masked.
install -D -m 644 "$SRC/systemd/cups.service.d/kiosk.conf" "$R/usr/lib/systemd/system/cups.service.d/kiosk.conf"
sed -i -e 's|^AccessLog .*|AccessLog syslog|' -e 's|^ErrorLog .*|ErrorLog syslog|' -e 's|^PageLog .*|PageLog syslog|' \
  -e '/^ServerRoot /d' "$R/etc/cups/cups-files.conf"
printf '# Borne: the queues on the data partition (cups.service.d/kiosk.conf binds it here).\nServerRoot /var/lib/cups\n' \
  >>"$R/etc/cups/cups-files.conf"
install -d -m 755 "$R/var/lib/cups"
# cupsd reads raw printing's types from ServerRoot and /usr/share/cups/mime: the latter now.
cp "$R"/etc/cups/raw.types "$R"/etc/cups/raw.convs "$R/usr/share/cups/mime/"
ln -sfn /etc/machine-id "$R/var/lib/dbus/machine-id"
# /var/log/journal is only a mount point (the data partition's journal is bound there, and
# systemd-tmpfiles gives that one its ACLs at boot); the ACLs systemd's install put on it here
# are dropped, since squashfs cannot hold POSIX ACLs (mksquashfs would warn about them).
python3 -c 'import os, sys
for name in os.listxattr(sys.argv[1]):
    if name.startswith("system.posix_acl_"):
        os.removexattr(sys.argv[1], name)' "$R/var/log/journal"
install -D -m 755 "$SRC/image/initramfs-machine-id" "$R/etc/initramfs-tools/scripts/init-bottom/borne-machine-id"
"$IN_ROOT" "$R" update-initramfs -u -k all >/dev/null 2>&1 || die "update-initramfs failed"
PORTS=$("$IN_ROOT" "$R" /opt/kiosk/bin/python -c 'from pathlib import Path
from kiosk.core.loading import load_config
k = load_config(Path("/etc/kiosk/kiosk.toml"), Path("/etc/kiosk/tiles.toml")).kiosk
print(", ".join(str(p) for p in sorted({k.console.listen_port, k.agent.listen_port} - {0})))' | tail -n 1)
[[ $PORTS =~ ^[0-9]+(,\ [0-9]+)*$ ]] || die "the agent's ports read from config/ are not ports: '$PORTS'"
sed "s/@PORTS@/$PORTS/" "$SRC/image/nftables.conf.in" >"$R/etc/nftables.conf"
chmod 755 "$R/etc/nftables.conf"
# Booting and updating: the image's name and version for systemd-sysupdate and the UKI
# (os-release), the ESP's mount point, the update definitions with the update source, and the
# key releases are signed with (without BORNE_SIGNING_PUBKEY an empty keyring: every update is
# refused). Debian's os-release is base-files' /usr/lib/os-release.
sed -i '/^IMAGE_ID=/d; /^IMAGE_VERSION=/d' "$R/usr/lib/os-release"
printf 'IMAGE_ID=borne\nIMAGE_VERSION=%s\n' "$IMAGE_VERSION" >>"$R/usr/lib/os-release"
install -d -m 700 "$R/efi"
for f in "$SRC"/image/sysupdate.d/*.conf.in; do
  name=${f##*/}
  sed "s|@UPDATE_URL@|$UPDATE_URL|" "$f" | install -D -m 644 /dev/stdin "$R/usr/lib/sysupdate.d/${name%.in}"
done
if [ -n "$SIGNING_PUBKEY" ]; then
  install -m 644 "$SIGNING_PUBKEY" "$R/usr/lib/systemd/import-pubring.gpg"
else
  : >"$R/usr/lib/systemd/import-pubring.gpg"
fi
rm -f "$R/etc/systemd/import-pubring.gpg"
# The data partition grows to the end of the disk at the first boot, then is formatted.
install -D -m 644 "$SRC/image/repart.d/50-kiosk-data.conf" "$R/usr/lib/repart.d/50-kiosk-data.conf"
install -D -m 644 "$SRC/image/makefs-after-repart.conf" \
  "$R/usr/lib/systemd/system/systemd-makefs@dev-disk-by\\x2dpartlabel-kiosk\\x2ddata.service.d/after-repart.conf"
IN_ROOT_ENV=NIGHTLY_REBOOT NIGHTLY_REBOOT=$NIGHTLY_REBOOT "$IN_ROOT" "$R" bash -c '
  set -e
  systemctl enable nftables.service 2>&1 | grep -v "^Created symlink" || true
  if [ "$NIGHTLY_REBOOT" = 1 ]; then systemctl enable kiosk-nightly-reboot.timer 2>&1 | grep -v "^Created symlink" || true; fi
  systemd-sysusers
  # /run and /tmp are made at each boot; what persists is made now.
  systemd-tmpfiles --create --exclude-prefix=/run --exclude-prefix=/tmp /usr/lib/tmpfiles.d/kiosk.conf \
    /usr/lib/tmpfiles.d/kiosk-setup.conf
  systemctl set-default graphical.target >/dev/null
  systemctl enable kiosk-shell.service kiosk-agent.service kiosk-ready.service kiosk-state.service \
    systemd-sysupdate.timer 2>&1 | grep -v "^Created symlink" || true
  systemctl mask apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer 2>&1 | grep -v "^Created symlink" || true
  systemctl enable kiosk-setup-apply.path kiosk-setup-reopen.path systemd-networkd.service iwd.service \
    systemd-resolved.service 2>&1 | grep -v "^Created symlink" || true
  # The kernel command line names the serial port as a console (make image-boot reads it):
  # no login prompt there either.
  systemctl mask serial-getty@ttyS0.service 2>&1 | grep -v "^Created symlink" || true
  systemctl disable getty@tty1.service 2>&1 | grep -v "^Removed" || true
  for n in 1 2 3 4 5 6; do systemctl mask getty@tty$n.service autovt@tty$n.service 2>&1 | grep -v "^Created symlink" || true; done'
printf 'BORNE_COMMIT=%s\nBORNE_INPUTS=%s\nBORNE_VERSION=%s\nBUILT=%s\n' "$SHA" "$INPUTS_KEY" "$IMAGE_VERSION" \
  "$(date -u +%FT%TZ)" >"$R/etc/borne-image"
rm -rf "$OUT" && mv "$R" "$OUT"
echo "$INPUTS_KEY" >"$OUT.inputs"

TOTAL=$((SECONDS - START))
SIZE=$(du -s --block-size=1 --one-file-system "$OUT" | cut -f1)
echo
echo "Borne root file system: $OUT (commit ${SHA:0:12}, inputs $INPUTS_KEY)"
printf '  %-22s %s (%s bytes)\n' "root file system" "$(numfmt --to=si --format=%.2f "$SIZE")B" "$SIZE"
printf '  %-22s %s\n' "image version" "$IMAGE_VERSION"
printf '  %-22s %s\n' "of which /opt/kiosk" "$(du -sh "$OUT/opt/kiosk" | cut -f1)"
printf '  %-22s %s\n' "of which /usr" "$(du -sh "$OUT/usr" | cut -f1)"
printf '  %-22s %dm%02ds\n' "build time" $((TOTAL / 60)) $((TOTAL % 60))
