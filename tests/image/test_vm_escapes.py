"""Escapes at the system level, in the booted image (issue 15): the raw disk image booted once in
qemu (tests/image/vmkit.py), then what a person at the terminal could try with its keyboard, a
second keyboard or a USB key, and the shell killed or frozen. Each check has its control: the
keys do reach the guest's keyboard device, root's VT switch does switch, the USB disk does appear,
the session file did exist, the watchdog was being fed.

Needs root, qemu, OVMF, dosfstools and mtools; KVM when usable, else TCG (README, "What is
tested": duration).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.image.imagekit import version_of
from tests.image.vmkit import DISPLAY, Machine, VmError, wait_for

pytestmark = [pytest.mark.vm, pytest.mark.boot, pytest.mark.timeout(1800)]

# Linux key codes (linux/input-event-codes.h).
KEY_BACKSPACE, KEY_H, KEY_LEFTCTRL, KEY_LEFTALT, KEY_F2, KEY_F4, KEY_SYSRQ, KEY_DELETE = 14, 35, 29, 56, 60, 62, 99, 111
PS2_KEYBOARD = "AT Translated Set 2 keyboard"
USB_KEYBOARD = "QEMU QEMU USB Keyboard"
# After keys that must do nothing: the time the kernel would take to act on them (a VT switch,
# a SysRq handler, a reboot) is far below this; the keys themselves were seen on the device.
SETTLE = 3.0
# The shell's start under software emulation takes minutes (its first start: README).
SHELL_START = 420


@pytest.fixture(scope="module")
def vm(disk: Path, rootfs: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machine]:
    workdir = tmp_path_factory.mktemp("vm-escapes")
    with Machine(disk, workdir) as machine:
        try:
            version, elapsed = machine.wait_ready(timeout=1500)
            assert version == version_of(rootfs)
            print(f"\nboot to ready ({machine.accel}): {elapsed:.0f} s")
            try:  # the steady state; without it (a loaded TCG host) the checks still run, see README
                restarts = wait_fed(machine, timeout=150)
                print(f"shell's watchdog fed: {time.monotonic() - machine.started:.0f} s, {restarts} restart(s) before")
            except VmError as error:
                print(f"WARNING: {error}: {shell_unit(machine)}")
            yield machine
        finally:
            (disk.parent / "last-escapes-console.log").write_bytes(machine.console.read_bytes())


def sh(vm: Machine, command: str, timeout: float = 120) -> str:
    assert vm.shell is not None
    return vm.shell.check(command, timeout)


def shell_unit(vm: Machine) -> dict[str, str]:
    out = sh(
        vm, "systemctl show kiosk-shell.service -p MainPID,NRestarts,ActiveState,SubState,WatchdogTimestampMonotonic"
    )
    return dict(line.split("=", 1) for line in out.split() if "=" in line)


def wait_fed(vm: Machine, timeout: float = SHELL_START) -> int:
    """Until the running shell feeds its watchdog (a ping after its READY=1): the steady state
    the checks start from. Its restarts before that (a shell too slow under a loaded TCG host)."""
    first: dict[str, str] = {}

    def fed() -> dict[str, str] | None:
        now = shell_unit(vm)
        if (now["ActiveState"], now["SubState"]) != ("active", "running"):
            return None
        if now["MainPID"] != first.get("MainPID"):
            first.update(now)
            return None
        return now if now["WatchdogTimestampMonotonic"] != first["WatchdogTimestampMonotonic"] else None

    before = shell_unit(vm)["NRestarts"]
    wait_for("the shell running and feeding its watchdog", fed, timeout, 3)
    return int(shell_unit(vm)["NRestarts"]) - int(before)


def wait_shell_up(vm: Machine) -> None:
    """Until cage and the shell run (cage holds tty1: the kernel's keyboard handling is off)."""
    wait_for("the shell running", lambda: shell_unit(vm)["SubState"] == "running", SHELL_START, 2)


def journal_cursor(vm: Machine) -> str:
    out = sh(vm, "journalctl -u kiosk-shell.service -n 0 --show-cursor --no-pager")
    return out.strip().rsplit("cursor: ", 1)[-1]


def shell_exits_since(vm: Machine, cursor: str) -> list[str]:
    """The shell unit's process exits logged since ``cursor`` (a shortcut that closed the shell
    would show here, as a watchdog restart would, differently)."""
    log = sh(vm, f"journalctl -u kiosk-shell.service --after-cursor='{cursor}' -o cat --no-pager")
    exits = [line for line in log.splitlines() if "Main process exited" in line or "Deactivated" in line]
    return [line for line in exits if "status=6/ABRT" not in line]  # the watchdog's own kill


def event_device(vm: Machine, name: str) -> str:
    """The evdev node (``eventN``) of the input device named ``name``, or ""."""
    script = f"""awk -v n="{name}" '/^N: Name=/ {{ found = index($0, n) > 0 }}
    /^H: Handlers=/ && found {{ match($0, /event[0-9]+/); print substr($0, RSTART, RLENGTH); found = 0 }}' \
    /proc/bus/input/devices"""
    return sh(vm, script).strip()


def capture(vm: Machine, device: str, tag: str, seconds: int = 60) -> None:
    """Record what ``/dev/input/<device>`` reports, in the background, alongside cage."""
    sh(vm, f"rm -f /tmp/ev-{tag}; (timeout {seconds} cat /dev/input/{device} >/tmp/ev-{tag} 2>/dev/null &)")
    time.sleep(0.5)  # the reader opened the device (it only reads what comes after)


def keys_seen(vm: Machine, tag: str) -> set[int]:
    """The key codes pressed (EV_KEY, value 1) in the capture ``tag``."""
    script = f"""/opt/kiosk/bin/python - <<'EOF'
import struct
data = open("/tmp/ev-{tag}", "rb").read()
for i in range(0, len(data) - 23, 24):
    _, _, kind, code, value = struct.unpack("qqHHi", data[i : i + 24])
    if kind == 1 and value == 1:
        print(code)
EOF"""
    return {int(code) for code in sh(vm, script).split()}


def wait_keys(vm: Machine, tag: str, codes: set[int]) -> None:
    wait_for(f"keys {sorted(codes)} on the guest's keyboard device", lambda: codes <= keys_seen(vm, tag), 60)


def active_vt(vm: Machine) -> str:
    return sh(vm, "cat /sys/class/tty/tty0/active").strip()


def sysrq_lines(vm: Machine) -> list[str]:
    return [line for line in sh(vm, "dmesg").splitlines() if "sysrq" in line.lower()]


VT_SWITCH = """timeout 60 /opt/kiosk/bin/python - <<'EOF'
import fcntl, os
VT_ACTIVATE, VT_WAITACTIVE = 0x5606, 0x5607
fd = os.open("/dev/tty0", os.O_RDWR)
fcntl.ioctl(fd, VT_ACTIVATE, {n})
fcntl.ioctl(fd, VT_WAITACTIVE, {n})
EOF"""


def test_ctrl_alt_fn_does_not_switch_the_console(vm: Machine) -> None:
    wait_shell_up(vm)
    cursor = journal_cursor(vm)
    assert active_vt(vm) == "tty1"
    keyboard = event_device(vm, PS2_KEYBOARD)
    assert keyboard, sh(vm, "cat /proc/bus/input/devices")
    capture(vm, keyboard, "vt")
    assert vm.qmp is not None
    for fn in ("f2", "f3", "f6"):
        vm.qmp.keys("ctrl", "alt", fn)
    wait_keys(vm, "vt", {KEY_LEFTCTRL, KEY_LEFTALT, KEY_F2})  # control: the keys reached the guest
    time.sleep(SETTLE)
    assert active_vt(vm) == "tty1"
    # Control: root's VT switch does switch (so tty1 above is not a frozen reading), and back.
    sh(vm, VT_SWITCH.format(n=2))
    assert active_vt(vm) == "tty2"
    sh(vm, VT_SWITCH.format(n=1))
    assert active_vt(vm) == "tty1"
    assert shell_exits_since(vm, cursor) == []


def test_sysrq_does_nothing(vm: Machine) -> None:
    assert sh(vm, "cat /proc/sys/kernel/sysrq").strip() == "0"
    keyboard = event_device(vm, PS2_KEYBOARD)
    before = sysrq_lines(vm)
    wait_shell_up(vm)
    capture(vm, keyboard, "sysrq")
    assert vm.qmp is not None
    vm.qmp.keys("alt", "sysrq", "h")  # help: harmless, and printed in the kernel log when enabled
    wait_keys(vm, "sysrq", {KEY_LEFTALT, KEY_SYSRQ, KEY_H})
    time.sleep(SETTLE)
    assert sysrq_lines(vm) == before
    # Control: with SysRq enabled by root, the same keys do reach the kernel's handler.
    try:
        sh(vm, "echo 1 >/proc/sys/kernel/sysrq")
        vm.qmp.keys("alt", "sysrq", "h")
        wait_for("SysRq's help in the kernel log", lambda: any("HELP" in line for line in sysrq_lines(vm)), 30)
    finally:
        sh(vm, "echo 0 >/proc/sys/kernel/sysrq")


def test_a_second_keyboards_shortcuts_do_nothing(vm: Machine) -> None:
    cursor = journal_cursor(vm)
    boot_id = sh(vm, "cat /proc/sys/kernel/random/boot_id")
    sysrq = sysrq_lines(vm)
    assert vm.qmp is not None
    vm.qmp.command("device_add", driver="usb-kbd", id="kbd2", bus="xhci.0", display=DISPLAY)
    keyboard = wait_for("the USB keyboard's input device", lambda: event_device(vm, USB_KEYBOARD), 60)
    wait_shell_up(vm)
    capture(vm, keyboard, "kbd2")
    for chord in (("ctrl", "alt", "f2"), ("alt", "sysrq", "h"), ("ctrl", "alt", "delete"), ("alt", "f4"),
                  ("ctrl", "alt", "backspace")):  # fmt: skip
        vm.qmp.keys(*chord, device=DISPLAY)  # to the keyboard bound to that display: kbd2
    # Control: every chord reached the guest through the second keyboard.
    wait_keys(vm, "kbd2", {KEY_F2, KEY_SYSRQ, KEY_H, KEY_DELETE, KEY_F4, KEY_BACKSPACE})
    time.sleep(SETTLE)
    assert vm.running(), "the machine stopped (Ctrl+Alt+Del rebooted it?)"
    assert sh(vm, "cat /proc/sys/kernel/random/boot_id") == boot_id
    assert active_vt(vm) == "tty1"
    assert sysrq_lines(vm) == sysrq
    jobs = sh(vm, "systemctl list-jobs --no-legend")
    assert "reboot" not in jobs and "ctrl-alt-del" not in jobs, jobs
    assert shell_exits_since(vm, cursor) == []  # Alt+F4 and the rest closed nothing


def usb_key(path: Path, setup_file: str) -> Path:
    """A FAT USB key image holding ``borne-setup.toml`` (made with mtools: nothing mounted)."""
    subprocess.run(["mkfs.vfat", "-C", "-n", "BORNEKEY", str(path), "8192"], check=True, capture_output=True)
    source = path.with_suffix(".toml")
    source.write_text(setup_file)
    subprocess.run(["mcopy", "-i", str(path), str(source), "::borne-setup.toml"], check=True, capture_output=True,
                   env={"MTOOLS_SKIP_CHECK": "1", "PATH": "/usr/bin:/bin"})  # fmt: skip
    return path


def plug_usb_key(vm: Machine, image: Path, name: str) -> None:
    assert vm.qmp is not None
    vm.qmp.command("blockdev-add", driver="raw", **{"node-name": name}, file={"driver": "file", "filename": str(image)})
    vm.qmp.command("device_add", driver="usb-storage", id=name, bus="xhci.0", drive=name)


# Every mount and unmount the main namespace sees while a key is plugged in.
WATCH_MOUNTS = (
    "rm -f /tmp/mounts-{tag}; (timeout 300 findmnt --poll -rno ACTION,SOURCE,TARGET >/tmp/mounts-{tag} 2>&1 &)"
)
# The USB disks' block devices, in no process's mount table (any namespace).
NOWHERE_MOUNTED = "! grep -hs '^/dev/sd\\| /dev/sd' /proc/[0-9]*/mountinfo"
INVALID_SETUP = 'centre = { name = "Maison des habitants\n'  # an unterminated string: a syntax error


def unit_show(vm: Machine, unit: str, *props: str) -> dict[str, str]:
    out = sh(vm, f"systemctl show {unit} " + " ".join(f"-p {p}" for p in props))
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def test_a_usb_key_before_the_setup_is_read_by_the_setup_reader_only(vm: Machine, tmp_path: Path) -> None:
    assert sh(vm, "test ! -e /var/lib/kiosk/setup/done && echo fresh").strip() == "fresh"
    sh(vm, WATCH_MOUNTS.format(tag="key1"))
    time.sleep(0.5)
    plug_usb_key(vm, usb_key(tmp_path / "key1.img", INVALID_SETUP), "key1")
    # Control: the key is there, a USB block device with a file system.
    wait_for(
        "the USB key as /dev/sda", lambda: sh(vm, "lsblk -dno TRAN /dev/sda 2>/dev/null || true").strip() == "usb", 90
    )
    props = sh(vm, "udevadm info -q property /dev/sda")
    assert "ID_FS_TYPE=vfat" in props and "UDISKS_IGNORE=1" in props and "UDISKS_AUTO=0" in props, props
    # The first-boot reader ran, read the file on the key (its syntax error is for the setup page)...
    unit = "kiosk-setup-usb@sda.service"
    wait_for("the setup reader's run", lambda: unit_show(vm, unit, "ExecMainExitTimestampMonotonic")
             ["ExecMainExitTimestampMonotonic"] not in ("", "0"), 300)  # fmt: skip
    result = json.loads(sh(vm, "cat /var/lib/kiosk/setup/result.json"))
    assert result["source"] == "usb" and result["ok"] is False and result["problems"], result
    # ... in its own mount namespace: the main one never saw a mount, and none is left anywhere.
    assert "/dev/sd" not in sh(vm, "cat /tmp/mounts-key1"), sh(vm, "cat /tmp/mounts-key1")
    sh(vm, NOWHERE_MOUNTED)
    assert not sh(vm, "find /media /run/media -mindepth 1 2>/dev/null || true").strip()


def test_a_usb_key_after_the_setup_is_not_even_read(vm: Machine, tmp_path: Path) -> None:
    sh(vm, "touch /var/lib/kiosk/setup/done")  # what the setup's success leaves
    before = sh(vm, "stat -c %Y /var/lib/kiosk/setup/result.json")
    sh(vm, WATCH_MOUNTS.format(tag="key2"))
    time.sleep(0.5)
    plug_usb_key(vm, usb_key(tmp_path / "key2.img", INVALID_SETUP), "key2")
    wait_for(
        "the USB key as /dev/sdb", lambda: sh(vm, "lsblk -dno TRAN /dev/sdb 2>/dev/null || true").strip() == "usb", 90
    )
    # udev asked for the reader (control: the request was made), and systemd refused it (the
    # skipped unit is unloaded at once: its trace is in the journal).
    unit = "kiosk-setup-usb@sdb.service"
    skipped = f"journalctl -b -u {unit} -o cat --no-pager | grep -c 'skipped because of an unmet condition' || true"
    wait_for("the reader's start asked and refused", lambda: sh(vm, skipped).strip() not in ("", "0"), 120, 2)
    log = sh(vm, f"journalctl -b -u {unit} -o cat --no-pager")
    assert "ConditionPathExists=!/var/lib/kiosk/setup/done" in log and "Starting" not in log, log
    assert sh(vm, "stat -c %Y /var/lib/kiosk/setup/result.json") == before
    assert "/dev/sd" not in sh(vm, "cat /tmp/mounts-key2")
    sh(vm, NOWHERE_MOUNTED)


def shell_processes(vm: Machine) -> tuple[int, int]:
    """cage's PID and the shell's (cage's only child), as the kiosk user, once both run (a cage
    just started has no shell yet). One cage: none left from a previous run of the unit
    (logind.conf.d: the session's scope is killed with it), else this times out, listing them."""
    seen: list[str] = []

    def found() -> tuple[int, int] | None:
        cages = sh(vm, "pgrep -u kiosk -x cage || true").split()
        seen[:] = cages
        if len(cages) != 1:
            return None
        children = sh(vm, f"pgrep -P {cages[0]} -f 'kiosk shell' || true").split()
        return (int(cages[0]), int(children[0])) if len(children) == 1 else None

    try:
        return wait_for("one cage of the kiosk user, with its shell", found, SHELL_START, 2)  # type: ignore[no-any-return]
    except VmError as error:
        raise VmError(f"{error}; cage processes: {seen}") from None


def gone(vm: Machine, *pids: int) -> bool:
    return all(sh(vm, f"test -e /proc/{pid} && echo alive || true").strip() != "alive" for pid in pids)


def wait_restarted(vm: Machine, before: dict[str, str]) -> dict[str, str]:
    def restarted_and_ready() -> dict[str, str] | None:
        now = shell_unit(vm)
        fresh = int(now["NRestarts"]) > int(before["NRestarts"]) and now["MainPID"] not in ("0", before["MainPID"])
        return now if fresh and (now["ActiveState"], now["SubState"]) == ("active", "running") else None

    return wait_for("kiosk-shell.service restarted and ready", restarted_and_ready, SHELL_START, 3)  # type: ignore[no-any-return]


def test_the_shell_killed_is_restarted_with_a_wiped_session(vm: Machine) -> None:
    wait_shell_up(vm)
    before = shell_unit(vm)
    cage, shell = shell_processes(vm)
    # Control: a session's file, as the kiosk user, where the sessions live.
    sh(vm, "install -o kiosk -g kiosk -m 600 /dev/null /run/kiosk/sessions/resident-file")
    started = time.monotonic()
    sh(vm, f"kill -KILL {shell}")
    after = wait_restarted(vm, before)
    print(f"\nshell killed: ready again in {time.monotonic() - started:.0f} s")
    assert gone(vm, cage, shell)
    assert sh(vm, "ls -A /run/kiosk/sessions").split() == [], "the previous session's files survived"
    assert after["ActiveState"] == "active"


def test_the_shell_frozen_is_restarted_by_the_watchdog(vm: Machine) -> None:
    wait_shell_up(vm)
    first = shell_unit(vm)

    def pinged() -> dict[str, str] | None:  # control: the running shell feeds its watchdog
        now = shell_unit(vm)
        if now["MainPID"] != first["MainPID"]:  # restarted meanwhile: watch the new one
            first.update(now)
            return None
        return now if now["WatchdogTimestampMonotonic"] != first["WatchdogTimestampMonotonic"] else None

    before = wait_for("a watchdog ping from the running shell", pinged, 120, 2)
    cage, shell = shell_processes(vm)
    cursor = journal_cursor(vm)
    started = time.monotonic()
    sh(vm, f"kill -STOP {shell}")
    try:
        after = wait_restarted(vm, shell_unit(vm))
    except VmError:
        sh(vm, f"kill -CONT {shell}")
        raise
    print(f"\nshell frozen: ready again in {time.monotonic() - started:.0f} s")
    log = sh(vm, f"journalctl -u kiosk-shell.service --after-cursor='{cursor}' --no-pager -o cat")
    assert "Watchdog timeout" in log, log[-3000:]
    # The frozen shell and its cage are gone, not left behind in the closed session.
    wait_for("the frozen shell and its cage gone", lambda: gone(vm, cage, shell), 120, 3)
    assert after["MainPID"] != before["MainPID"]
