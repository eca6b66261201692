"""systemd's watchdog fed by the shell (``kiosk/shell/watchdog_notify.py``), heard on a real unix
datagram socket standing for ``$NOTIFY_SOCKET``: READY=1 once the first screen is shown, then
WATCHDOG=1 only while the GUI thread runs and the lobby page answers."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.shell.watchdog_notify import SystemdWatchdog
from tests.shellkit import shell_process_env, write_test_config

pytestmark = pytest.mark.shell
REPO = Path(__file__).resolve().parents[2]


class NotifySocket:
    """What systemd listens on: a datagram socket, read here without a thread (every datagram
    sent so far is already queued on it, so a read right after the GUI thread was blocked tells
    exactly what was sent meanwhile)."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)
        self.received: list[str] = []

    def drain(self) -> list[str]:
        """The messages queued since the last drain."""
        new: list[str] = []
        while True:
            try:
                new.append(self.sock.recv(4096, socket.MSG_DONTWAIT).decode("ascii"))
            except BlockingIOError:
                break
        self.received += new
        return new

    def count(self, message: str) -> int:
        self.drain()
        return self.received.count(message)


@pytest.fixture
def notify_socket() -> Iterator[NotifySocket]:
    with tempfile.TemporaryDirectory(prefix="borne-notify-") as directory:  # short: sun_path ≤ 107 bytes
        listener = NotifySocket(str(Path(directory) / "notify"))
        try:
            yield listener
        finally:
            listener.sock.close()


def test_the_environment_decides_whether_and_how_often_the_shell_speaks_to_systemd() -> None:
    assert SystemdWatchdog.from_environment({}) is None  # not under systemd: nothing at all
    assert SystemdWatchdog.from_environment({"WATCHDOG_USEC": "30000000"}) is None
    ready_only = SystemdWatchdog.from_environment({"NOTIFY_SOCKET": "/run/systemd/notify"})
    assert ready_only is not None and ready_only.interval_ms is None  # no WatchdogSec=: READY=1 only
    abstract = SystemdWatchdog.from_environment({"NOTIFY_SOCKET": "@sd-notify", "WATCHDOG_USEC": "30000000"})
    assert abstract is not None
    assert abstract.notifier.address == "\0sd-notify" and abstract.interval_ms == 10_000  # a third of WatchdogSec=
    for watchdog in (ready_only, abstract):
        watchdog.notifier.close()


def test_a_full_notify_queue_never_blocks_the_gui_thread(notify_socket) -> None:  # type: ignore[no-untyped-def]
    watchdog = SystemdWatchdog.from_environment({"NOTIFY_SOCKET": notify_socket.address})
    assert watchdog is not None
    started = time.monotonic()
    sent = [watchdog.notifier.send("WATCHDOG=1") for _ in range(5000)]  # nobody reads: the queue fills
    watchdog.notifier.close()
    assert False in sent and time.monotonic() - started < 5


def test_pings_stop_while_the_gui_thread_is_blocked_and_come_back_after(qtbot, kiosk, notify_socket) -> None:  # type: ignore[no-untyped-def]
    watchdog = SystemdWatchdog.from_environment({"NOTIFY_SOCKET": notify_socket.address, "WATCHDOG_USEC": "300000"})
    assert watchdog is not None
    try:
        watchdog.watch(kiosk.window.lobby_page)
        qtbot.waitUntil(lambda: notify_socket.count("WATCHDOG=1") >= 3, timeout=10_000)
        assert notify_socket.received[0] == "READY=1" and notify_socket.received.count("READY=1") == 1

        notify_socket.drain()
        time.sleep(1.5)  # the GUI thread busy: fifteen intervals of 100 ms
        assert notify_socket.drain() == []

        before = notify_socket.count("WATCHDOG=1")
        qtbot.waitUntil(lambda: notify_socket.count("WATCHDOG=1") >= before + 2, timeout=10_000)
        watchdog.watch(kiosk.window.lobby_page)  # shown again (a new window): READY=1 is said once only
        qtbot.wait(300)
        assert notify_socket.count("READY=1") == 1
    finally:
        watchdog.stop()
    assert notify_socket.drain()[-1] == "STOPPING=1"


def test_a_lobby_renderer_that_no_longer_answers_stops_the_pings(qtbot, kiosk, notify_socket) -> None:  # type: ignore[no-untyped-def]
    watchdog = SystemdWatchdog.from_environment({"NOTIFY_SOCKET": notify_socket.address, "WATCHDOG_USEC": "300000"})
    assert watchdog is not None
    page = kiosk.window.lobby_page()
    try:
        watchdog.watch(kiosk.window.lobby_page)
        qtbot.waitUntil(lambda: notify_socket.count("WATCHDOG=1") >= 2, timeout=10_000)
        page.runJavaScript("for (;;) {}", 0)  # the renderer busy for ever
        qtbot.wait(500)
        notify_socket.drain()
        qtbot.wait(1500)  # the GUI thread runs, its timer ticks: but no round trip comes back
        assert notify_socket.drain() == []
        assert watchdog.pings == notify_socket.count("WATCHDOG=1")
    finally:
        watchdog.stop()
        pid = page.renderProcessPid()
        if pid > 0:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def test_kiosk_shell_under_systemd_says_ready_then_pings_then_stopping(tmp_path: Path, notify_socket) -> None:  # type: ignore[no-untyped-def]
    """`kiosk shell` as kiosk-shell.service runs it: under the unit's main process, the relay of
    its messages (kiosk.notify_relay), through cage, which passes the environment on."""
    config = write_test_config(tmp_path / "config")
    env = shell_process_env(
        tmp_path,
        NOTIFY_SOCKET=notify_socket.address,
        WATCHDOG_USEC="600000",
        WATCHDOG_PID="1",  # cage's pid, not the shell's: not a reason to stay silent
    )
    log = tmp_path / "shell.log"
    relay = [sys.executable, "-m", "kiosk.notify_relay", "--"]
    command = [*relay, sys.executable, "-m", "kiosk.cli", "shell", "--windowed", "--size", "800x600", "--config-dir"]
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen([*command, str(config)], env=env, cwd=REPO, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 90
        while notify_socket.count("WATCHDOG=1") < 2:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.wait()
    notify_socket.drain()
    assert notify_socket.received[0] == "READY=1" and notify_socket.received[-1] == "STOPPING=1"
    events = [json.loads(x)["event"] for x in log.read_text(errors="replace").splitlines() if x.startswith("{")]
    assert events.index("systemd.ready") < events.index("shell.started")
