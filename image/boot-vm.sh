#!/usr/bin/env bash
# Boots the appliance's raw disk image in qemu under UEFI (OVMF) and waits on the serial console
# for the kiosk's ready line, "BORNE-READY <version> <uptime>s" (systemd/kiosk-ready.service):
#
#   image/boot-vm.sh [DISK_DIR | RAW] [--timeout S] [--log FILE] [--disk FILE] [--after S] [--reboots]
#                    [--cmdline ARGS]
#   image/boot-vm.sh --print-machine --disk FILE --vars FILE [--accel kvm|tcg] [--cmdline ARGS]
#
# DISK_DIR (default $BORNE_IMAGE_CACHE/disk) holds the borne_*.raw of image/build-disk.sh. The
# image is never booted itself: a sparse copy is (--disk FILE: that copy, kept afterwards and
# reused if it exists, for a second boot or to look at its ESP; otherwise a temporary one, 1 GiB
# larger so the data partition has room to grow). KVM when /dev/kvm is usable, else software
# emulation (TCG); BORNE_VM_ACCEL=tcg forces it. The serial console goes to --log FILE (default
# a temporary file, printed when the boot fails). --after S: keep the machine running S seconds
# after the ready line (boot assessment, automount idle time) before stopping it. --reboots: a
# reboot of the guest restarts the machine on the same disk, as a terminal would (by default qemu
# stops instead): the ready line may then come after boots that failed and rebooted (the
# fallback after a release's three tries; the boot counter lives in the ESP's file names).
# --cmdline ARGS: more of the kernel's command line (below), e.g. systemd.run= for a test.
# --print-machine: start nothing; print the qemu command of this machine, one argument after
# another, each ended by a NUL byte, for the disk FILE as it is and the firmware's variables in
# --vars FILE (copied from OVMF's when missing): what tests/image/vmkit.py starts, adding its
# own serial ports, QMP socket and USB controller. --accel: KVM or TCG instead of choosing.
#
# Prints the accelerator, the time from qemu's start to the ready line ("boot to ready") and the
# uptime the guest reported. Exits 0 on the ready line, 1 when the timeout (default 300 s with
# KVM, 1200 s without) passes first or qemu stops. qemu is always killed at the end (trap).
set -euo pipefail

CACHE=${BORNE_IMAGE_CACHE:-/var/cache/borne-image}
SOURCE=$CACHE/disk TIMEOUT="" LOG="" DISK="" AFTER=0 REBOOT=-no-reboot MORE="" PRINT=0 VARS_FILE=""
ACCEL=${BORNE_VM_ACCEL:-}
while [ $# -gt 0 ]; do
  case $1 in
    --timeout) TIMEOUT=$2; shift 2 ;;
    --log) LOG=$2; shift 2 ;;
    --disk) DISK=$2; shift 2 ;;
    --after) AFTER=$2; shift 2 ;;
    --reboots) REBOOT=""; shift ;;
    --cmdline) MORE=$2; shift 2 ;;
    --print-machine) PRINT=1; shift ;;
    --vars) VARS_FILE=$2; shift 2 ;;
    --accel) ACCEL=$2; shift 2 ;;
    -*) echo "boot-vm.sh: unknown option $1" >&2; exit 2 ;;
    *) SOURCE=$1; shift ;;
  esac
done
say() { printf '[vm %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { say "$*" >&2; exit 2; }

if [ "$PRINT" = 0 ]; then
  if [ -d "$SOURCE" ]; then
    RAW=$(find "$SOURCE" -maxdepth 1 -name 'borne_*.raw' | sort -V | tail -n 1)
  else
    RAW=$SOURCE
  fi
  { [ -n "$RAW" ] && [ -f "$RAW" ]; } || die "no raw disk image in $SOURCE: make image first"
fi
CODE=/usr/share/OVMF/OVMF_CODE_4M.fd VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
[ -f "$CODE" ] || die "no OVMF firmware: apt-get install ovmf"
command -v qemu-system-x86_64 >/dev/null || die "no qemu: apt-get install qemu-system-x86"

# KVM when the device opens for reading and writing, else TCG.
if [ -z "$ACCEL" ]; then
  if [ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null; then ACCEL=kvm; else ACCEL=tcg; fi
fi
# Without arch-capabilities: some hosts (nested virtualisation) refuse that MSR and qemu aborts.
if [ "$ACCEL" = kvm ]; then CPU=host,-arch-capabilities; else CPU=max; fi
if [ -z "$TIMEOUT" ]; then
  if [ "$ACCEL" = kvm ]; then TIMEOUT=300; else TIMEOUT=1200; fi
fi

# Appended to the UKI's own command line (which the terminal cannot edit) through SMBIOS, which
# systemd-stub 254 reads (README, "What the image locks down": why that is no way in on a real
# terminal, whose SMBIOS tables are its firmware's): the journal goes to the serial
# console too, for debugging, and wlroots draws with its software renderer (pixman): the VM has
# no GPU, only virtio-gpu's 2D scan-out (std VGA's bochs-drm lacks the PRIME import wlroots 0.15
# requires of a DRM device).
EXTRA="${BORNE_VM_CMDLINE-systemd.journald.forward_to_console=1 systemd.setenv=WLR_RENDERER=pixman} $MORE"
# The machine: UEFI, q35, 2 CPUs, 3 GiB, the disk and a network card on virtio, virtio's GPU
# (id video0: a USB keyboard can be bound to its console), no window. A comma in the command line
# is doubled: it separates qemu's options.
machine() {
  MACHINE=(qemu-system-x86_64 -machine "q35,accel=$ACCEL" -cpu "$CPU" -smp 2 -m 3072
    -drive "if=pflash,format=raw,readonly=on,file=$CODE"
    -drive "if=pflash,format=raw,file=$VARS_FILE"
    -drive "file=$DISK,format=raw,if=virtio,cache=unsafe"
    -smbios "type=11,value=io.systemd.stub.kernel-cmdline-extra=${EXTRA//,/,,}"
    -device virtio-vga,id=video0 -display none
    -nic user,model=virtio-net-pci)
}
if [ "$PRINT" = 1 ]; then
  { [ -n "$DISK" ] && [ -f "$DISK" ] && [ -n "$VARS_FILE" ]; } || die "--print-machine needs --disk FILE and --vars FILE"
  [ -f "$VARS_FILE" ] || cp "$VARS" "$VARS_FILE"
  machine
  printf '%s\0' "${MACHINE[@]}"
  exit 0
fi

WORK=$(mktemp -d)
QEMU=""
cleanup() {
  [ -z "$QEMU" ] || { kill "$QEMU" 2>/dev/null || true; wait "$QEMU" 2>/dev/null || true; }
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
[ -n "$LOG" ] || LOG=$WORK/serial.log
: >"$LOG"
if [ -z "$DISK" ]; then
  DISK=$WORK/disk.raw
fi
if [ ! -f "$DISK" ]; then
  cp --sparse=always "$RAW" "$DISK"
  truncate -s +1G "$DISK" # a bigger disk than the image: the data partition grows at first boot
fi
VARS_FILE=$WORK/vars.fd
cp "$VARS" "$VARS_FILE"

start_qemu() {
  say "booting $(basename "$RAW") ($ACCEL, timeout ${TIMEOUT}s, serial console in $LOG)"
  : >"$LOG"
  STARTED=$EPOCHREALTIME
  SECONDS=0
  machine
  "${MACHINE[@]}" -name borne-vm -serial file:"$LOG" -monitor none $REBOOT 2>"$WORK/qemu.err" &
  QEMU=$!
}
start_qemu

READY=""
while :; do
  READY=$(grep -a -m 1 -o 'BORNE-READY [^ ]* [0-9.]*s' "$LOG" || true)
  [ -z "$READY" ] || break
  # Nested KVM that cannot run the firmware (an MSR refused, an emulation failure): software
  # emulation instead, unless asked for KVM.
  if [ "$ACCEL" = kvm ] && [ -z "${BORNE_VM_ACCEL:-}" ] \
    && grep -q -E 'KVM internal error|failed to set MSR|emulation failure' "$WORK/qemu.err"; then
    say "KVM cannot run this machine here ($(grep -m 1 -o -E 'KVM internal error|failed to set MSR[^,]*|emulation failure' "$WORK/qemu.err")): TCG instead"
    kill "$QEMU" 2>/dev/null || true
    wait "$QEMU" 2>/dev/null || true
    ACCEL=tcg CPU=max TIMEOUT=1200
    cp "$VARS" "$VARS_FILE"
    start_qemu
    continue
  fi
  kill -0 "$QEMU" 2>/dev/null || { say "qemu stopped before the kiosk was ready"; cat "$WORK/qemu.err"; break; }
  [ "$SECONDS" -lt "$TIMEOUT" ] || { say "no ready line within ${TIMEOUT}s"; break; }
  sleep 1
done
if [ -z "$READY" ]; then
  echo "--- last lines of the serial console ($LOG):"
  tail -n 60 "$LOG" | tr -d '\r'
  exit 1
fi
ELAPSED=$(awk -v a="$STARTED" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
say "$READY"
printf 'boot to ready (%s): %s s from qemu start; the guest reported %s since its kernel started\n' \
  "$ACCEL" "$ELAPSED" "${READY##* }"
if [ "$AFTER" -gt 0 ]; then
  say "keeping it running ${AFTER}s"
  sleep "$AFTER"
fi
