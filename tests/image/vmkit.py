"""A booted appliance for tests: the raw disk image in qemu (the machine of ``image/boot-vm.sh``,
which prints it: ``--print-machine``), driven from outside as a person at the terminal could not.

- :class:`Machine` starts qemu on a sparse copy of the disk and always kills it (``with``).
- :class:`Qmp`: qemu's machine protocol (stdlib ``json`` + ``socket``): keys pressed on a
  keyboard (``send-key``, ``input-send-event`` for one given keyboard), devices plugged in
  (``device_add``: a USB keyboard, a USB key), ``screendump``.
- :class:`GuestShell`: a root shell on the guest's second serial port (``/dev/ttyS1``), for the
  test only: ``run(cmd) -> (output, status)``.

The shell comes through the same channel ``image/boot-vm.sh`` uses for the software renderer:
systemd-stub appends the SMBIOS type 11 string ``io.systemd.stub.kernel-cmdline-extra=`` to the
UKI's own command line. There, ``systemd.run=`` (systemd-run-generator) defines
``kernel-command-line.service``, which asks systemd-run for a shell on ttyS1, and
``systemd.wants=`` pulls it into the normal boot (the generator's own ``default.target`` is
shadowed by the image's ``/etc/systemd/system/default.target``: the kiosk boots as shipped).
Nothing of this is in the image: the string comes from the hypervisor (README, "What is tested",
why this is no hole on a real terminal).
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

BOOT_VM = Path(__file__).resolve().parents[2] / "image/boot-vm.sh"
SHELL_COMMAND = (
    "/usr/bin/systemd-run --unit=borne-test-shell -p TTYPath=/dev/ttyS1 -p StandardInput=tty"
    " -p StandardOutput=tty -p StandardError=tty /bin/bash --norc --noprofile"
)


def run_at_boot(command: str) -> str:
    """The kernel command line that runs ``command`` once (systemd-run-generator's
    ``kernel-command-line.service``) beside the normal boot to the kiosk: the generator would make
    its service's target the default, so the usual one is named and the service wanted."""
    return (
        f'systemd.run="{command}" systemd.run_success_action=none systemd.run_failure_action=none'
        " systemd.unit=graphical.target systemd.wants=kernel-command-line.service"
    )


TEST_CMDLINE = run_at_boot(SHELL_COMMAND)
READY = re.compile(rb"BORNE-READY (\S+) ([0-9.]+)s")
DISPLAY = "video0"  # the GPU's id: its console takes a keyboard bound to it (usb-kbd,display=)
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")  # readline's bracketed-paste switches


class VmError(AssertionError):
    """The machine did not do what the test waited for (a test failure, with its context)."""


def wait_for(what: str, probe: Callable[[], Any], timeout: float, interval: float = 1.0) -> Any:
    """``probe()``'s first true value, polled until ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise VmError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)


class Qmp:
    """A QMP client on qemu's unix socket: ``command(name, **arguments)``; events are kept."""

    def __init__(self, path: Path, timeout: float = 60) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.file = self.sock.makefile("rwb")
        self.events: list[dict[str, Any]] = []
        self._read()  # the greeting
        self.command("qmp_capabilities")

    def _read(self) -> dict[str, Any]:
        line = self.file.readline()
        if not line:
            raise VmError("qemu closed its QMP socket")
        return dict(json.loads(line))

    def command(self, name: str, **arguments: Any) -> Any:
        message: dict[str, Any] = {"execute": name}
        if arguments:
            message["arguments"] = arguments
        self.file.write(json.dumps(message).encode() + b"\n")
        self.file.flush()
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
            elif "error" in reply:
                raise VmError(f"QMP {name}: {reply['error']}")
            elif "return" in reply:
                return reply["return"]

    def keys(self, *qcodes: str, device: str | None = None, hold: float = 0.1) -> None:
        """Press ``qcodes`` together (a chord), then release them: with ``device`` (a display's
        id, :data:`DISPLAY`) on the keyboard bound to its console (``usb-kbd,display=``),
        otherwise on the keyboard qemu routes input to (``send-key``)."""
        if device is None:
            keys = [{"type": "qcode", "data": q} for q in qcodes]
            self.command("send-key", keys=keys, **{"hold-time": int(hold * 1000)})
            return

        def event(qcode: str, down: bool) -> dict[str, Any]:
            return {"type": "key", "data": {"down": down, "key": {"type": "qcode", "data": qcode}}}

        self.command("input-send-event", device=device, events=[event(q, True) for q in qcodes])
        time.sleep(hold)
        self.command("input-send-event", device=device, events=[event(q, False) for q in reversed(qcodes)])

    def close(self) -> None:
        self.file.close()
        self.sock.close()


class GuestShell:
    """The test's root shell on the guest's ttyS1 (qemu's second serial port, a unix socket)."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(str(path))
        self.sock.settimeout(0.5)
        self.buffer = b""
        self.counter = itertools.count(1)

    def _send(self, text: str) -> None:
        self.sock.sendall(text.encode())

    def _read_until(self, pattern: re.Pattern[bytes], timeout: float) -> re.Match[bytes] | None:
        deadline = time.monotonic() + timeout
        while True:
            found = pattern.search(self.buffer)
            if found or time.monotonic() > deadline:
                return found
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                raise VmError("the guest's serial port closed")
            self.buffer += chunk

    def wait_ready(self, timeout: float) -> None:
        """Until the shell answers (it starts early in the boot, long before the kiosk)."""

        def answers() -> bool:
            mark = f"SHELL-UP-{next(self.counter)}"
            self._send(f"stty -echo; bind 'set enable-bracketed-paste off'; PS1=; PS2=; echo {mark[:6]}''{mark[6:]}\n")
            return self._read_until(re.compile(re.escape(mark.encode())), 3) is not None

        wait_for("a root shell on the guest's ttyS1", answers, timeout, interval=2)
        self.buffer = b""

    def run(self, command: str, timeout: float = 120) -> tuple[str, int]:
        """``command`` (bash) in the guest, in its own bash, stdin closed: its output (stdout and
        stderr, ``\\r`` dropped) and exit status."""
        n = next(self.counter)
        mark = f"END-OF-COMMAND-{n}"
        script = base64.b64encode(command.encode()).decode()
        self.buffer = b""
        # The marker is split in the command line, so an echoed command never matches it.
        self._send(
            f"echo {script} | base64 -d >/tmp/borne-test-{n}.sh; bash /tmp/borne-test-{n}.sh </dev/null 2>&1;"
            f" echo END-OF-''COMMAND-{n} $?\n"
        )
        found = self._read_until(re.compile(re.escape(mark.encode()) + rb" (\d+)\r?\n"), timeout)
        if not found:
            raise VmError(f"no answer within {timeout} s to: {command}\n{self.buffer[-2000:]!r}")
        output = ANSI.sub(b"", self.buffer[: found.start()]).decode(errors="replace").replace("\r", "")
        self.buffer = self.buffer[found.end() :]
        return output, int(found.group(1))

    def check(self, command: str, timeout: float = 120) -> str:
        """``run`` that fails the test on a non-zero status."""
        output, status = self.run(command, timeout)
        if status != 0:
            raise VmError(f"{command}: exit {status}\n{output[-3000:]}")
        return output

    def close(self) -> None:
        self.sock.close()


class Machine:
    """The appliance booted in qemu from a copy of ``raw`` (``with Machine(...) as vm``): UEFI
    (OVMF), q35, virtio disk and GPU as ``image/boot-vm.sh`` defines them, ``extra_cmdline`` added
    to the kernel's; then a USB (xHCI) controller for devices plugged in later, the console on
    ``console.log``, the test shell, QMP. KVM when usable, else TCG (also when KVM cannot run the
    firmware, as with nested virtualisation; ``BORNE_VM_ACCEL`` forces one)."""

    def __init__(self, raw: Path, workdir: Path, extra_cmdline: str = TEST_CMDLINE) -> None:
        self.raw, self.workdir = raw, workdir
        self.cmdline = extra_cmdline
        self.console = workdir / "console.log"
        self.accel = ""  # boot-vm.sh chooses (BORNE_VM_ACCEL, else KVM when usable); read back at launch
        self.process: subprocess.Popen[bytes] | None = None
        self.qmp: Qmp | None = None
        self.shell: GuestShell | None = None
        self.started = 0.0

    def __enter__(self) -> Machine:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object | TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        disk = self.workdir / "disk.raw"
        subprocess.run(["cp", "--sparse=always", str(self.raw), str(disk)], check=True)
        with disk.open("ab") as f:  # room for the data partition to grow, as boot-vm.sh gives it
            f.truncate(disk.stat().st_size + (1 << 30))
        self._launch()
        if self.accel == "kvm" and not os.environ.get("BORNE_VM_ACCEL"):
            time.sleep(5)
            error = (self.workdir / "qemu.err").read_text(errors="replace")
            if self.process and (
                self.process.poll() is not None
                or re.search("KVM internal error|failed to set MSR|emulation failure", error)
            ):
                self._kill()
                self.accel = "tcg"
                self._launch()

    def _launch(self) -> None:
        for name in ("qmp.sock", "shell.sock"):
            (self.workdir / name).unlink(missing_ok=True)
        (self.workdir / "vars.fd").unlink(missing_ok=True)  # the firmware's variables, fresh
        printed = subprocess.run(
            [str(BOOT_VM), "--print-machine", "--disk", str(self.workdir / "disk.raw"),
             "--vars", str(self.workdir / "vars.fd"), "--cmdline", self.cmdline,
             *(["--accel", self.accel] if self.accel else [])],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert printed.returncode == 0, printed.stderr
        machine = printed.stdout.split("\0")[:-1]
        assert f"virtio-vga,id={DISPLAY}" in machine, machine
        self.accel = re.findall(r"accel=(\w+)", machine[machine.index("-machine") + 1])[0]
        args = [
            *machine, "-name", "borne-vm-test", "-monitor", "none",
            "-serial", f"file:{self.console}",
            "-serial", f"unix:{self.workdir / 'shell.sock'},server=on,wait=off",
            "-qmp", f"unix:{self.workdir / 'qmp.sock'},server=on,wait=off",
            "-device", "qemu-xhci,id=xhci",
            "-nic", "user,model=virtio-net-pci", "-no-reboot",
        ]  # fmt: skip
        self.console.write_bytes(b"")
        self.started = time.monotonic()
        with (self.workdir / "qemu.err").open("wb") as err:
            self.process = subprocess.Popen(args, stdout=err, stderr=err, start_new_session=True)
        wait_for("qemu's sockets", lambda: (self.workdir / "qmp.sock").exists(), 30, 0.2)
        wait_for("qemu's sockets", lambda: (self.workdir / "shell.sock").exists(), 30, 0.2)
        self.qmp = Qmp(self.workdir / "qmp.sock")
        self.shell = GuestShell(self.workdir / "shell.sock")

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def console_text(self) -> str:
        return self.console.read_bytes().decode(errors="replace").replace("\r", "")

    def wait_ready(self, timeout: float) -> tuple[str, float]:
        """Until the console's ``BORNE-READY <version> <uptime>s``: the version and the seconds
        from qemu's start (the guest's test shell answers, too)."""

        def ready() -> re.Match[bytes] | None:
            if not self.running():
                raise VmError(f"qemu stopped\n{(self.workdir / 'qemu.err').read_text()}\n{self.console_text()[-4000:]}")
            return READY.search(self.console.read_bytes())

        try:
            found = wait_for("the kiosk's ready line on the console", ready, timeout)
        except VmError as error:
            raise VmError(f"{error}\n--- console:\n{self.console_text()[-6000:]}") from None
        elapsed = time.monotonic() - self.started
        assert self.shell is not None
        self.shell.wait_ready(120)
        return found.group(1).decode(), elapsed

    def _kill(self) -> None:
        for closer in (self.qmp, self.shell):
            if closer is not None:
                with contextlib.suppress(OSError):
                    closer.close()
        self.qmp = self.shell = None
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        self._kill()
        (self.workdir / "disk.raw").unlink(missing_ok=True)
