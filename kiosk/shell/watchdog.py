"""The renderer watchdog: a resident's page stuck in a loop is killed (the crash path then
apologises and goes home), and a lobby renderer grown too much gets a fresh page.

A ping is a ``runJavaScript("0")``: a renderer busy in a script answers none. (Each resident's
browser gets a new profile, hence new renderers, anyway; the lobby's live for days.)

The lobby's renderer keeps the garbage of every page it showed: V8 collects the old documents
only when made to (about 0.4 MiB a navigation, 1.3 MiB a resident here, without end). It is
replaced when it has grown ``LOBBY_GROWTH_MIB`` since it was first measured, or passed the
memory cap, at the start of a session: the lobby is then hidden behind the resident's page, and
its new renderer is ready again before the resident leaves.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from typing import Protocol

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWebEngineWidgets import QWebEngineView

from kiosk.core.ports import Clock
from kiosk.core.session import State
from kiosk.shell.controller import SessionController
from kiosk.shell.web.browser import SessionBrowser

log = logging.getLogger(__name__)

HANG_CHECK_MS = 1000
LOBBY_GROWTH_MIB = 16.0


class LobbyViews(Protocol):
    """What the watchdog needs of the window."""

    def lobby_views(self) -> list[QWebEngineView]: ...

    def renew_lobby_page(self, view: QWebEngineView) -> None: ...


class RendererWatchdog(QObject):
    def __init__(
        self,
        controller: SessionController,
        lobby: LobbyViews,
        clock: Clock,
        *,
        hang_timeout_s: float,
        memory_cap_mb: float,
    ) -> None:
        super().__init__(controller)
        self._controller = controller
        self._lobby = lobby
        self._clock = clock
        self._hang_timeout_s = hang_timeout_s
        self._memory_cap_mb = memory_cap_mb
        self.pending_ping: float | None = None
        self._pinged: SessionBrowser | None = None  # whose page the pending ping was sent to
        self._fresh_rss: dict[int, float] = {}  # lobby renderer pid → its RSS when first measured
        self._timer = QTimer(self)
        self._timer.setInterval(HANG_CHECK_MS)
        self._timer.timeout.connect(self.check_renderer)
        self._timer.start()
        controller.rendererLost.connect(self._forget_ping)
        controller.residentArrived.connect(self.restart_bloated_renderers)

    def stop(self) -> None:
        self._timer.stop()
        self._controller.rendererLost.disconnect(self._forget_ping)
        self._controller.residentArrived.disconnect(self.restart_bloated_renderers)

    def check_renderer(self) -> None:
        """Ping the resident's page; one that has not answered for ``hang_timeout_s`` is killed."""
        browser = self._controller.browser
        if browser is None or self._controller.state not in (State.ACTIVE, State.WARNING):
            self.pending_ping = None
            return
        now = self._clock.monotonic()
        # A ping the last resident's page left unanswered says nothing of this resident's page.
        if self.pending_ping is not None and self._pinged is browser:
            if now - self.pending_ping > self._hang_timeout_s:
                pid = browser.page.renderProcessPid()
                log.error("renderer.hung", extra={"pid": pid})
                self.pending_ping = None
                if pid > 0:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
            return
        self.pending_ping, self._pinged = now, browser

        def answered(_result: object, b: SessionBrowser = browser) -> None:
            if self._controller.browser is b:
                self.pending_ping = None

        browser.page.runJavaScript("0", 1, answered)

    def restart_bloated_renderers(self) -> None:
        views = {view.page().renderProcessPid(): view for view in self._lobby.lobby_views()}
        pids = {pid: view for pid, view in views.items() if pid > 0}  # 0: its renderer is not up yet
        self._fresh_rss = {pid: rss for pid, rss in self._fresh_rss.items() if pid in pids}
        for pid, view in pids.items():
            rss = process_rss_mib(pid)
            fresh = self._fresh_rss.setdefault(pid, rss)
            if rss > self._memory_cap_mb:
                log.warning(
                    "renderer.memory_cap_restart", extra={"rss_mib": round(rss), "cap_mib": self._memory_cap_mb}
                )
            elif rss - fresh > LOBBY_GROWTH_MIB:
                log.info("renderer.lobby_renewed", extra={"rss_mib": round(rss), "grown_mib": round(rss - fresh)})
            else:
                continue
            self._lobby.renew_lobby_page(view)

    def _forget_ping(self) -> None:
        self.pending_ping = None


def process_rss_mib(pid: int) -> float:
    """Resident memory of a process in MiB (0 if unknown)."""
    if pid <= 0:
        return 0.0
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
