"""One of our pages, asked for until it comes.

All ``kiosk:`` pages share one host, so the lobby's navigations stay in one renderer; there,
now and then, a page the shell asks for never starts (no ``loadStarted``, the page's URL already
the new one) or comes back aborted when it follows another navigation closely (seen about once
in a hundred residents by the bench's soak). A page the shell asked for that has not loaded
within ``SETTLE_MS``, or failed, is asked for again, ``TRIES`` times in all, unless the shell
asked for another page meanwhile (the lobby's pages themselves only ever ask for verbs, which
are refused navigations, never for another page).

A page that carries the screen asked for (``address.SCREENS_WITHIN``: the questions carry the
goodbye) is asked to show it in place; only if it says no (or never answers) is it loaded.
"""

from __future__ import annotations

import json
import logging

from PySide6.QtCore import QObject, QTimer, QUrl
from PySide6.QtWebEngineCore import QWebEngineLoadingInfo, QWebEnginePage

from kiosk.pages.address import SCREENS_WITHIN
from kiosk.shell.web.scheme import kiosk_url, page_name

log = logging.getLogger(__name__)

SETTLE_MS = 1500
AFTER_FAILURE_MS = 50  # never from inside Chromium's own notification of the failure
TRIES = 3


def load_kiosk_page(page: QWebEnginePage, name: str) -> None:
    """Show our page ``name`` in ``page`` (asked for again if it does not come)."""
    loader = page.findChild(InternalLoad)
    if loader is None:
        loader = InternalLoad(page)
    loader.show(name)


class InternalLoad(QObject):
    """Lives with its page (its child): ``load(url)`` is ``page.setUrl(url)``, again if need be."""

    def __init__(self, page: QWebEnginePage) -> None:
        super().__init__(page)
        self._page = page
        self._url: QUrl | None = None
        self._tries = 0
        self._document = ""  # the page this loader last saw loaded (its URL may say another screen)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SETTLE_MS)
        self._timer.timeout.connect(self._again)
        page.loadingChanged.connect(self._changed)

    def show(self, name: str) -> None:
        # Not "unless loading": the page's own verb that asked for this (a refused navigation)
        # may still be reported as a load; a document replaced meanwhile never answers (_again).
        if name not in SCREENS_WITHIN.get(self._document, ()):
            self.load(kiosk_url(name))
            return
        url = kiosk_url(name)
        self._url, self._tries = url, 0  # asked for; loaded by _again if the page never answers

        def answered(shown: object) -> None:
            if self._url is not url:
                return  # another page was asked for meanwhile
            if shown is True:
                self._url = None
                self._timer.stop()
            else:
                self.load(url)

        self._page.runJavaScript(f"typeof kioskScreen === 'function' && kioskScreen({json.dumps(name)})", 0, answered)
        self._timer.start(SETTLE_MS)

    def load(self, url: QUrl) -> None:
        self._url, self._tries, self._document = url, 1, ""
        self._page.setUrl(url)
        self._timer.start(SETTLE_MS)

    def _changed(self, info: QWebEngineLoadingInfo) -> None:
        if info.status() == QWebEngineLoadingInfo.LoadStatus.LoadSucceededStatus:
            self._document = page_name(info.url())
        # Only the load of the page asked for counts (a page's refused verb ends as a load too).
        if self._url is None or info.url() != self._url:
            return
        status = info.status()
        if status == QWebEngineLoadingInfo.LoadStatus.LoadSucceededStatus:
            self._url = None
            self._timer.stop()
        elif status != QWebEngineLoadingInfo.LoadStatus.LoadStartedStatus:
            self._timer.start(AFTER_FAILURE_MS)  # failed or stopped

    def _again(self) -> None:
        url = self._url
        if url is None:
            return
        if self._page.isLoading():
            self._timer.start(SETTLE_MS)  # slow, not lost: let it come
            return
        if self._tries >= TRIES:
            log.error("internal_page.never_loaded", extra={"page": url.path()})
            self._url = None
            return
        log.warning("internal_page.asked_again", extra={"page": url.path()})
        self._tries += 1
        self._page.setUrl(url)
        self._timer.start(SETTLE_MS)
