"""The shell unit's main process relays the shell's sd_notify messages (kiosk.notify_relay):
systemd takes them only from that process once the PAM session moved its children away."""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.unit]

SEND = (
    "import os, socket; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); "
    "[s.sendto(m, os.environ['NOTIFY_SOCKET']) for m in (b'READY=1', b'WATCHDOG=1')]; "
    "print(os.environ['NOTIFY_SOCKET'], flush=True)"
)


def systemd_socket(tmp_path: Path) -> socket.socket:
    """A datagram socket standing for systemd's, telling each message's sender."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(tmp_path / "notify"))
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    listener.settimeout(20)
    return listener


def received(listener: socket.socket) -> tuple[bytes, int]:
    message, ancillary, _flags, _address = listener.recvmsg(4096, socket.CMSG_SPACE(12))
    (_level, _type, data), *_ = ancillary
    pid, _uid, _gid = struct.unpack("3i", data[:12])
    return message, pid


def relay(tmp_path: Path, code: str) -> subprocess.Popen[str]:
    """The relay as the unit runs it: its runtime directories, the second named ``notify``."""
    (tmp_path / "run" / "notify").mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "NOTIFY_SOCKET": str(tmp_path / "notify"),
        "RUNTIME_DIRECTORY": f"{tmp_path / 'run' / 'sessions'}:{tmp_path / 'run' / 'notify'}",
    }
    command = [sys.executable, "-m", "kiosk.notify_relay", "--", sys.executable, "-c", code]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)


def test_the_child_s_messages_reach_systemd_from_the_relay_and_its_status_is_the_relay_s(tmp_path: Path) -> None:
    listener = systemd_socket(tmp_path)
    process = relay(tmp_path, SEND + "; raise SystemExit(3)")
    try:
        first, second = received(listener), received(listener)
        assert [first[0], second[0]] == [b"READY=1", b"WATCHDOG=1"]
        assert first[1] == second[1] == process.pid  # from the main process, not from the child
        assert process.wait(20) == 3
        assert process.stdout is not None
        child_socket = Path(process.stdout.read().strip())
        assert child_socket == tmp_path / "run" / "notify" / "notify-relay.sock"
        assert not child_socket.exists()  # removed at the end
    finally:
        process.kill()
        listener.close()


def test_a_stop_reaches_the_command(tmp_path: Path) -> None:
    listener = systemd_socket(tmp_path)
    process = relay(tmp_path, SEND + "; import time; time.sleep(60)")
    try:
        assert received(listener)[0] == b"READY=1"  # the command runs
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 128 + signal.SIGTERM
    finally:
        process.kill()
        listener.close()


def test_without_systemd_it_becomes_the_command(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
    code = "import os; print(os.getpid(), flush=True)"
    command = [sys.executable, "-m", "kiosk.notify_relay", "--", sys.executable, "-c", code]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 0 and int(out) == process.pid  # the same process, the command's now
