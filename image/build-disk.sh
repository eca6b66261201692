#!/usr/bin/env bash
# The appliance's bootable raw disk image and its release files, from a root file system built
# by image/build-rootfs.sh:
#
#   image/build-disk.sh [ROOTFS] [OUT_DIR]        (as root, for reading the whole root)
#
# ROOTFS defaults to $BORNE_IMAGE_CACHE/rootfs, OUT_DIR to $BORNE_IMAGE_CACHE/disk. No loop
# device, no mount: every file system is made into a file and written at its offset.
#
# Made in OUT_DIR, for the version V of the root (IMAGE_VERSION in its /etc/os-release):
#   borne_V.root.squashfs  the root slot's content, and
#   borne_V.efi            the unified kernel image (UKI): image/release-files.sh (below)
#   borne_V.raw            the disk (GPT):
#                            1 esp         vfat: systemd-boot as /EFI/BOOT/BOOTX64.EFI,
#                                          loader.conf (no menu, no editor), the UKI as
#                                          /EFI/Linux/borne_V+3.efi (three tries, then fallback)
#                            2 borne_V     root slot A: the squashfs
#                            3 _empty      root slot B, same size: the first update goes there
#                            4 kiosk-data  /var/lib/kiosk: empty, formatted (ext4) at the first
#                                          boot and grown with its partition to the end of the disk
#   borne_V.raw.xz         with BORNE_IMAGE_XZ=1 only: the root is compressed already, so xz
#                          saves about 1 % of the allocated size and takes minutes; a sparse
#                          copy (cp --sparse, tar -S, bmaptool) ships the image as well
#   SHA256SUMS             checksums of the above
# image/make-release.sh turns the squashfs and the UKI into a signed update directory.
#
# The size budget (issue 15: 1.5 GB) holds the raw disk image's allocated size: the bytes it
# carries (GPT, the ESP's files, slot A's root), which is what bmaptool writes and what a
# download holds before compression. Its apparent size also counts the empty slot B and the
# slots' headroom, zeros that are never shipped (it is the smallest disk a terminal needs, about
# 2.4 GB). The build fails over the budget, and when the root does not fit its slot: the root
# slots are BORNE_SLOT_MB (default 1024) each, fixed for the terminal's life (an update writes a
# slot, never resizes it), so they keep room for releases to grow.
set -euo pipefail

CACHE=${BORNE_IMAGE_CACHE:-/var/cache/borne-image}
ROOTFS=$(realpath -m "${1:-$CACHE/rootfs}")
OUT=$(realpath -m "${2:-$CACHE/disk}")
ESP_MB=256           # room for two UKIs (about 60 MB each) while an update writes the third
SLOT_MB=${BORNE_SLOT_MB:-1024}
DATA_MB=64           # grown at the first boot to the end of the disk
SIZE_BUDGET=1500000000
XZ=${BORNE_IMAGE_XZ:-0}
# GPT partition types (UAPI discoverable partitions): ESP, root x86-64, Linux data.
TYPE_ESP=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
TYPE_ROOT=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709
TYPE_DATA=0FC63DAF-8483-4772-8E79-3D69D8477DE4
START=$SECONDS

say() { printf '[disk %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { say "$*" >&2; exit 2; }
size_of() { stat -c %s "$1"; }
human() { numfmt --to=si --format=%.2f --suffix=B "$1"; }

[ "$(id -u)" = 0 ] || die "run me as root (the root file system has files only root reads)"
for tool in mkfs.vfat mcopy mmd sfdisk; do
  command -v "$tool" >/dev/null || die "$tool is missing: apt-get install dosfstools mtools fdisk"
done
[ -x "$ROOTFS/opt/kiosk/bin/kiosk" ] || die "no root file system in $ROOTFS: make image-rootfs first"
# shellcheck disable=SC1091
VERSION=$(. "$ROOTFS/usr/lib/os-release" && echo "${IMAGE_VERSION:-}")
[[ $VERSION =~ ^[0-9]+(\.[0-9]+)+$ ]] || die "$ROOTFS/usr/lib/os-release has no IMAGE_VERSION"
BOOT_EFI=$ROOTFS/usr/lib/systemd/boot/efi/systemd-bootx64.efi
[ -f "$BOOT_EFI" ] || die "no systemd-boot-efi in $ROOTFS"
NAME=borne_$VERSION
mkdir -p "$OUT"
WORK=$(mktemp -d "$OUT/.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# 1. and 2. The root slot's content and the UKI: image/release-files.sh, which make-release.sh's
# releases come from as well.
"$(dirname "$0")/release-files.sh" "$ROOTFS" "$OUT" | sed 's/^\[release-files /[disk /'
SQUASH=$OUT/$NAME.root.squashfs
SQUASH_SIZE=$(size_of "$SQUASH")
[ "$SQUASH_SIZE" -le $((SLOT_MB * 1024 * 1024)) ] \
  || die "the root ($(human "$SQUASH_SIZE")) does not fit its slot of $SLOT_MB MiB (BORNE_SLOT_MB)"

# 3. The EFI system partition: systemd-boot as the removable-media loader (no NVRAM entry needed),
# no menu unless a key is held, no command line editor, no firmware entry; the UKI with 3 tries.
say "ESP: systemd-boot, loader.conf, $NAME+3.efi"
printf 'timeout 0\neditor no\nauto-entries no\nauto-firmware no\nconsole-mode keep\n' >"$WORK/loader.conf"
mkfs.vfat -C -F 32 -n ESP "$WORK/esp.img" $((ESP_MB * 1024)) >/dev/null
export MTOOLS_SKIP_CHECK=1
mmd -i "$WORK/esp.img" ::/EFI ::/EFI/BOOT ::/EFI/systemd ::/EFI/Linux ::/loader ::/loader/entries
mcopy -i "$WORK/esp.img" "$BOOT_EFI" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$WORK/esp.img" "$BOOT_EFI" ::/EFI/systemd/systemd-bootx64.efi
mcopy -i "$WORK/esp.img" "$WORK/loader.conf" ::/loader/loader.conf
mcopy -i "$WORK/esp.img" "$OUT/$NAME.efi" "::/EFI/Linux/$NAME+3.efi"

# 4. The disk: a sparse file partitioned by sfdisk, each file system written at its offset.
RAW=$OUT/$NAME.raw
say "disk: GPT, ESP $ESP_MB MiB, slots A and B $SLOT_MB MiB each, data $DATA_MB MiB -> $RAW"
ESP_AT=1 A_AT=$((1 + ESP_MB)) B_AT=$((1 + ESP_MB + SLOT_MB)) DATA_AT=$((1 + ESP_MB + 2 * SLOT_MB))
TOTAL_MB=$((DATA_AT + DATA_MB + 1)) # 1 MiB for the backup GPT at the end
rm -f "$WORK/disk.raw"
truncate -s "${TOTAL_MB}M" "$WORK/disk.raw"
sfdisk --quiet --no-reread --no-tell-kernel "$WORK/disk.raw" <<EOF
label: gpt
start=${ESP_AT}MiB, size=${ESP_MB}MiB, type=$TYPE_ESP, name=esp
start=${A_AT}MiB, size=${SLOT_MB}MiB, type=$TYPE_ROOT, name=$NAME
start=${B_AT}MiB, size=${SLOT_MB}MiB, type=$TYPE_ROOT, name=_empty
start=${DATA_AT}MiB, size=${DATA_MB}MiB, type=$TYPE_DATA, name=kiosk-data
EOF
dd if="$WORK/esp.img" of="$WORK/disk.raw" bs=1M seek=$ESP_AT conv=notrunc,sparse status=none
dd if="$SQUASH" of="$WORK/disk.raw" bs=1M seek=$A_AT conv=notrunc,sparse status=none
rm -f "$OUT"/borne_*.raw "$OUT"/borne_*.raw.xz
mv "$WORK/disk.raw" "$RAW"
APPARENT=$(size_of "$RAW")
ALLOCATED=$(du --block-size=1 "$RAW" | cut -f1)
if [ "$XZ" = 1 ]; then
  say "xz -> $RAW.xz"
  xz -T0 -3 -c "$RAW" >"$WORK/raw.xz" && mv "$WORK/raw.xz" "$RAW.xz"
fi
# Older versions' files go: OUT_DIR holds one version.
find "$OUT" -maxdepth 1 -name 'borne_*' ! -name "$NAME.*" -delete
(cd "$OUT" && sha256sum "$NAME".* | grep -v '\.inputs$' >SHA256SUMS)

TOTAL=$((SECONDS - START))
ROOT_SIZE=$(du -s --block-size=1 --one-file-system "$ROOTFS" | cut -f1)
echo
echo "Borne disk image $NAME: $OUT"
printf '  %-28s %s\n' "root file system" "$(human "$ROOT_SIZE") (directory, du)"
printf '  %-28s %s\n' "root slot image (squashfs)" "$(human "$SQUASH_SIZE") (slot: $SLOT_MB MiB)"
printf '  %-28s %s\n' "UKI" "$(human "$(size_of "$OUT/$NAME.efi")")"
printf '  %-28s %s\n' "raw disk, apparent" "$(human "$APPARENT")"
printf '  %-28s %s (budget %s)\n' "raw disk, allocated" "$(human "$ALLOCATED")" "$(human "$SIZE_BUDGET")"
[ "$XZ" = 1 ] && printf '  %-28s %s\n' "raw disk, xz" "$(human "$(size_of "$RAW.xz")")"
printf '  %-28s %dm%02ds\n' "build time (disk)" $((TOTAL / 60)) $((TOTAL % 60))
[ "$ALLOCATED" -le "$SIZE_BUDGET" ] || die "the raw disk image carries more than its budget of $SIZE_BUDGET bytes"
