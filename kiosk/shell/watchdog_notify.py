"""systemd's service watchdog, fed from the Qt event loop (``kiosk-shell.service``).

Under systemd (``Type=notify``, ``WatchdogSec=``) the shell says ``READY=1`` once its first
screen is shown, then ``WATCHDOG=1`` every third of ``$WATCHDOG_USEC``, but only from a
``QTimer`` on the GUI thread and only once the lobby page has answered a ``runJavaScript``
round trip: a frozen interface or a hung lobby renderer stops the pings, and systemd restarts the
unit (cage, the shell, a fresh session directory).

The shell is cage's child, not the unit's main process: ``$WATCHDOG_PID`` names cage, so it is
not checked (``NotifyAccess=all`` in the unit lets the child speak). Without ``$NOTIFY_SOCKET``
(not under systemd: ``make run``, tests) nothing is created and nothing sent. The protocol is
sd_notify(3)'s: one datagram per message on the unix socket ``$NOTIFY_SOCKET`` (``@`` for the
abstract namespace).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWebEngineCore import QWebEnginePage

log = logging.getLogger(__name__)

NOTIFY_VARIABLES = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")


class Notifier:
    """The sd_notify datagram socket of ``$NOTIFY_SOCKET``."""

    def __init__(self, address: str) -> None:
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._socket.setblocking(False)  # the GUI thread sends: a full queue must not freeze it
        self._failing = False

    def send(self, message: str) -> bool:
        """Send one message; a refused, missing or full socket is logged, never raised."""
        try:
            self._socket.sendto(message.encode("ascii"), self.address)
        except OSError as error:
            if not self._failing:  # once per run of failures: no flood in the journal
                log.warning("systemd.notify_failed", extra={"notify": message, "error": str(error)})
            self._failing = True
            return False
        self._failing = False
        return True

    def close(self) -> None:
        self._socket.close()


class SystemdWatchdog(QObject):
    """``READY=1`` when :meth:`watch` is first given the shown window's lobby, then the pings."""

    def __init__(self, notifier: Notifier, interval_ms: int | None) -> None:
        super().__init__()
        self.notifier = notifier
        self.interval_ms = interval_ms
        self.pings = 0
        self._lobby: Callable[[], QWebEnginePage] | None = None
        self._pinged: QWebEnginePage | None = None  # the page of a round trip not answered yet
        self._ready = False
        self._timer = QTimer(self)
        if interval_ms is not None:
            self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._check)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> SystemdWatchdog | None:
        """The watchdog systemd asked for, or None when not under systemd. The variables are
        taken out of this process's environment, so that Chromium's processes never speak."""
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        usec = env.get("WATCHDOG_USEC", "")
        if environ is None:
            for name in NOTIFY_VARIABLES:
                os.environ.pop(name, None)
        if not address:
            return None
        interval_ms = max(int(usec) // 3000, 1) if usec.isdigit() and int(usec) > 0 else None
        return cls(Notifier(address), interval_ms)

    def watch(self, lobby: Callable[[], QWebEnginePage]) -> None:
        """The window is shown: say ``READY=1`` (once) and ping through ``lobby()``'s page."""
        self._lobby = lobby
        self._pinged = None
        if not self._ready:
            self._ready = self.notifier.send("READY=1")
            log.info("systemd.ready", extra={"watchdog_ms": self.interval_ms})
        if self.interval_ms is not None and not self._timer.isActive():
            self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self.notifier.send("STOPPING=1")
        self.notifier.close()

    def _check(self) -> None:
        if self._lobby is None:
            return
        page = self._lobby()
        if page is self._pinged:
            return  # its last round trip never came back: no ping until it does
        # (A lobby page renewed since, see RendererWatchdog, is asked afresh.)
        self._pinged = page

        def answered(_result: object) -> None:
            if self._pinged is page:
                self._pinged = None
                self.pings += 1
                self.notifier.send("WATCHDOG=1")

        page.runJavaScript("0", 1, answered)
