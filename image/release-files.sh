#!/usr/bin/env bash
# A release's two files, from a root file system built by image/build-rootfs.sh: what
# image/build-disk.sh puts on a new disk, and what image/make-release.sh signs for terminals.
#
#   image/release-files.sh [--version V] [--level N] ROOTFS OUT_DIR      (as root)
#
# Made in OUT_DIR, for the version V of the root (IMAGE_VERSION in its /usr/lib/os-release):
#   borne_V.root.squashfs  the root slot's content: the root, read-only, squashfs (zstd, level N,
#                          default 15). Made again only when the root changed (its .inputs); the
#                          slowest step. The kernel and initramfs in /boot stay out: they are in
#                          the UKI.
#   borne_V.efi            the unified kernel image (UKI): systemd's EFI stub with the root's
#                          kernel, initramfs, os-release and the command line
#                          root=PARTLABEL=borne_V, so each root slot boots its own kernel, and
#                          nobody edits the command line at the terminal.
# --version V: a release of version V from the same root, its os-release's IMAGE_VERSION
# changed in both files (the update tests' newer release).
set -euo pipefail

VERSION="" LEVEL=15
while [ $# -gt 0 ]; do
  case $1 in
    --version) VERSION=$2; shift 2 ;;
    --level) LEVEL=$2; shift 2 ;;
    -*) echo "release-files.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# = 2 ] || { echo "usage: release-files.sh [--version V] [--level N] ROOTFS OUT_DIR" >&2; exit 2; }
ROOTFS=$(realpath -m "$1")
OUT=$(realpath -m "$2")
say() { printf '[release-files %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { say "$*" >&2; exit 2; }
size_of() { stat -c %s "$1"; }

[ "$(id -u)" = 0 ] || die "run me as root (the root file system has files only root reads)"
for tool in mksquashfs objcopy objdump; do
  command -v "$tool" >/dev/null || die "$tool is missing: apt-get install squashfs-tools binutils"
done
[ -x "$ROOTFS/opt/kiosk/bin/kiosk" ] || die "no root file system in $ROOTFS: make image-rootfs first"
# shellcheck disable=SC1091
BUILT=$(. "$ROOTFS/usr/lib/os-release" && echo "${IMAGE_VERSION:-}")
[[ $BUILT =~ ^[0-9]+(\.[0-9]+)+$ ]] || die "$ROOTFS/usr/lib/os-release has no IMAGE_VERSION"
VERSION=${VERSION:-$BUILT}
[[ $VERSION =~ ^[0-9]+(\.[0-9]+)+$ ]] || die "not a version: '$VERSION'"
STUB=$ROOTFS/usr/lib/systemd/boot/efi/linuxx64.efi.stub
KERNEL=$(find "$ROOTFS/boot" -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n 1)
[ -f "$STUB" ] || die "no systemd-boot-efi in $ROOTFS"
[ -n "$KERNEL" ] || die "no kernel in $ROOTFS/boot"
INITRD=$ROOTFS/boot/initrd.img-${KERNEL##*/vmlinuz-}
[ -f "$INITRD" ] || die "no initramfs for $KERNEL"
NAME=borne_$VERSION
mkdir -p "$OUT"
WORK=$(mktemp -d "$OUT/.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
sed "s/^IMAGE_VERSION=.*/IMAGE_VERSION=$VERSION/" "$ROOTFS/usr/lib/os-release" >"$WORK/os-release"

# 1. The root slot's content, keyed by the root's inputs (image/build-rootfs.sh writes them next
# to it), and the version and level when not the root's own and the default.
SQUASH=$OUT/$NAME.root.squashfs
ROOT_INPUTS=$(cat "$ROOTFS.inputs" 2>/dev/null || echo "unknown-$(date +%s)")
[ "$VERSION $LEVEL" = "$BUILT 15" ] || ROOT_INPUTS="$ROOT_INPUTS $VERSION $LEVEL"
if [ -f "$SQUASH" ] && [ "$(cat "$SQUASH.inputs" 2>/dev/null)" = "$ROOT_INPUTS" ]; then
  say "root slot image $SQUASH reused"
else
  say "root slot image: mksquashfs (zstd $LEVEL) -> $SQUASH"
  rm -f "$SQUASH" "$SQUASH.inputs"
  # The os-release of this version: the root's left out, this one put in its place.
  mksquashfs "$ROOTFS" "$WORK/root.squashfs" -noappend -quiet -no-progress -comp zstd -Xcompression-level "$LEVEL" \
    -b 256K -p "usr/lib/os-release f 644 0 0 cat $WORK/os-release" \
    -wildcards -e 'boot/vmlinuz-*' 'boot/initrd.img-*' 'boot/System.map-*' 'boot/config-*' 'usr/lib/os-release' >/dev/null
  mv "$WORK/root.squashfs" "$SQUASH"
  echo "$ROOT_INPUTS" >"$SQUASH.inputs"
fi

# 2. The UKI, laid out as systemd's documentation does it by hand (ukify is not in Debian 12):
# each section after the stub's last one, at the stub's section alignment; the kernel last.
# panic=10: a kernel panic, or an initramfs that cannot mount the root, reboots after 10 s, so
# a release that cannot boot spends its tries and the other slot boots (kiosk-ready.service).
# fsck.repair=yes: the data partition's check at boot (systemd-fsck) repairs what a power cut
# left, answering yes where a person would be asked (the default, preen, only does what is safe
# without one and otherwise fails the mount: emergency mode, a reboot, the same again).
# fbcon=font:TER16x32: the kernel's large font on the screen's text console, where the only
# text a resident may read is image/boot-failed's message (the shell covers it otherwise).
say "UKI: $(basename "$KERNEL") + initramfs -> $NAME.efi"
printf 'root=PARTLABEL=%s rootfstype=squashfs ro quiet console=tty1 console=ttyS0 panic=10 fsck.repair=yes fbcon=font:TER16x32' "$NAME" >"$WORK/cmdline"
ALIGN=$((16#$(objdump -p "$STUB" | awk '$1 == "SectionAlignment" { print $2 }')))
# The end of the stub's last section: its VMA plus its size (objdump -h, 7-field lines).
END=$(objdump -h "$STUB" | awk 'NF == 7 && $1 ~ /^[0-9]+$/ { size = $3; vma = $4 } END { print vma, size }' \
  | { read -r vma size; echo $((16#$vma + 16#$size)); })
sections=()
for part in .osrel:"$WORK/os-release" .cmdline:"$WORK/cmdline" .initrd:"$INITRD" .linux:"$KERNEL"; do
  name=${part%%:*} file=${part#*:}
  END=$(((END + ALIGN - 1) / ALIGN * ALIGN))
  sections+=(--add-section "$name=$file" --change-section-vma "$name=$(printf 0x%x "$END")")
  END=$((END + $(size_of "$file")))
done
objcopy "${sections[@]}" "$STUB" "$WORK/$NAME.efi"
objdump -h "$WORK/$NAME.efi" | grep -q ' \.linux ' || die "objcopy made no .linux section"
mv "$WORK/$NAME.efi" "$OUT/$NAME.efi"
