"""Second line of defence: every request of a session passes through here.

``KioskPage.acceptNavigationRequest`` decides navigations; this interceptor also sees
requests Chromium issues on its own (redirect chains, prefetches, form posts) and
refuses any main-frame request the policy blocks and any request, of any kind, to a
local or browser-internal scheme.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtWebEngineCore import QWebEngineUrlRequestInfo, QWebEngineUrlRequestInterceptor

from kiosk.core.policy import KIOSK_SCHEME, NavigationPolicy, Verdict

log = logging.getLogger(__name__)

_NEVER = frozenset({"file", "chrome", "chrome-extension", "devtools", "view-source", "qrc", "ftp", "filesystem"})


class SessionRequestInterceptor(QWebEngineUrlRequestInterceptor):
    def __init__(self, policy: Callable[[], NavigationPolicy], parent: object = None) -> None:
        super().__init__(parent)  # type: ignore[arg-type]
        self._policy = policy

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:
        url = info.requestUrl()
        scheme = url.scheme().lower()
        if scheme in _NEVER:
            log.warning("request.blocked_scheme", extra={"scheme": scheme})
            info.block(True)
            return
        if info.resourceType() != QWebEngineUrlRequestInfo.ResourceType.ResourceTypeMainFrame:
            return
        if scheme == KIOSK_SCHEME:
            return  # the scheme handler checks who asked
        decision = self._policy().decide(url.toString())
        if decision.verdict is Verdict.BLOCK:
            log.info("request.blocked_main_frame", extra={"host": decision.host, "reason": str(decision.reason)})
            info.block(True)
