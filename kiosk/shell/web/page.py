"""The resident's web page: every decision a page could use to escape goes through here.

``KioskPage`` overrides the QWebEnginePage hooks that Chromium consults before doing
anything a kiosk must control — navigating, opening windows, picking files, showing
dialogs, going full screen, asking for the camera — and answers them from the core's
policy or from the shell (through the ``PageHost`` protocol) instead of Qt's defaults,
which would open system dialogs or new windows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol
from urllib.parse import parse_qsl

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtWebEngineCore import (
    QWebEngineCertificateError,
    QWebEngineDesktopMediaRequest,
    QWebEngineFileSystemAccessRequest,
    QWebEngineFullScreenRequest,
    QWebEngineNewWindowRequest,
    QWebEnginePage,
    QWebEnginePermission,
    QWebEngineProfile,
    QWebEngineUrlRequestInfo,
    QWebEngineUrlRequestInterceptor,
)

from kiosk.core.policy import (
    KIOSK_SCHEME,
    BlockReason,
    Decision,
    NavigationPolicy,
    Permission,
    Verdict,
    host_for_log,
)
from kiosk.pages.actions import Action
from kiosk.pages.address import Kind
from kiosk.shell.web.scheme import kiosk_place

log = logging.getLogger(__name__)

CLOSE_MARKER = "about:blank#kiosk-close"  # see profile._close_script

# Chromium asks "leave this page?" through javaScriptConfirm with this text (Qt's own
# translation source). A kiosk never lets a page keep the resident from leaving.
_BEFOREUNLOAD_TEXT = "Are you sure you want to leave this page?"

_PERMISSIONS: dict[QWebEnginePermission.PermissionType, Permission] = {
    QWebEnginePermission.PermissionType.MediaVideoCapture: Permission.CAMERA,
    QWebEnginePermission.PermissionType.MediaAudioCapture: Permission.MICROPHONE,
    QWebEnginePermission.PermissionType.Geolocation: Permission.GEOLOCATION,
    QWebEnginePermission.PermissionType.Notifications: Permission.NOTIFICATIONS,
    QWebEnginePermission.PermissionType.ClipboardReadWrite: Permission.CLIPBOARD_READ,
    QWebEnginePermission.PermissionType.DesktopVideoCapture: Permission.SCREEN_CAPTURE,
    QWebEnginePermission.PermissionType.DesktopAudioVideoCapture: Permission.SCREEN_CAPTURE,
}

# Coming back to a page (reload after a language or contrast change, history) is not a new visit.
_NOT_A_VISIT = (
    QWebEnginePage.NavigationType.NavigationTypeReload,
    QWebEnginePage.NavigationType.NavigationTypeBackForward,
)

_SUBFRAME_SCHEMES = frozenset({"http", "https", "data", "blob", "about", "javascript"})

_Nav = QWebEnginePage.NavigationType
# Navigations the shell or the browser itself starts (setUrl, Retour, reload): no page asked.
_SHELL_NAVIGATIONS = frozenset({_Nav.NavigationTypeTyped, _Nav.NavigationTypeBackForward, _Nav.NavigationTypeReload})
# Navigations a document starts with a link, a form or a script. (Redirects are decided at
# once: a server redirect's request would leave before the request interceptor sees it.)
_CONTENT_NAVIGATIONS = frozenset(
    {_Nav.NavigationTypeLinkClicked, _Nav.NavigationTypeFormSubmitted, _Nav.NavigationTypeOther}
)
_ReqNav = QWebEngineUrlRequestInfo.NavigationType
_SHELL_REQUESTS = frozenset(
    {_ReqNav.NavigationTypeTyped, _ReqNav.NavigationTypeBackForward, _ReqNav.NavigationTypeReload}
)


class PageHost(Protocol):
    """What a page needs from the shell for the questions it must answer synchronously."""

    def current_policy(self) -> NavigationPolicy: ...

    def granted_permissions(self) -> frozenset[Permission]: ...

    def choose_documents(self, multiple: bool, accepted_mime_types: Sequence[str]) -> list[str]: ...

    def show_notice(self, text: str) -> None: ...

    def ask_confirmation(self, text: str) -> bool: ...


class InternalPageHost:
    """The host of pages that only ever show our own ``kiosk:`` pages (the lobby, the layer):
    no site, no permission, no document; dialogs in the window."""

    def __init__(self, show_notice: Callable[[str], None], ask_confirmation: Callable[[str], bool]) -> None:
        self.show_notice = show_notice
        self.ask_confirmation = ask_confirmation

    def current_policy(self) -> NavigationPolicy:
        return NavigationPolicy.internal_only()

    def granted_permissions(self) -> frozenset[Permission]:
        return frozenset()

    def choose_documents(self, multiple: bool, accepted_mime_types: Sequence[str]) -> list[str]:
        return []


class DialogThrottle:
    """Lets a page show a few dialogs, then silences it: an alert loop must not trap anyone."""

    def __init__(self, limit: int = 3, window_s: float = 10.0) -> None:
        self._limit = limit
        self._window = window_s
        self._times: list[float] = []

    def allow(self) -> bool:
        now = time.monotonic()
        self._times = [t for t in self._times if now - t < self._window]
        if len(self._times) >= self._limit:
            return False
        self._times.append(now)
        return True


def started_by_third_party(
    initiator: QUrl, navigation: QWebEngineUrlRequestInfo.NavigationType, policy: NavigationPolicy
) -> bool:
    """Was this main-frame request started by content outside the tile's origins?

    ``initiator`` is the origin of the document that asked (a frame inside the page, say);
    it is empty when the shell or the browser started the navigation, and also when the
    document has an opaque origin (a ``data:`` or sandboxed frame), which only a page's own
    kind of navigation (a link, a form, a script) tells apart.
    """
    if initiator.isEmpty():
        return navigation not in _SHELL_REQUESTS
    if initiator.scheme() == KIOSK_SCHEME:
        return False
    return policy.decide(initiator.toString(QUrl.ComponentFormattingOption.FullyEncoded)).verdict is not Verdict.ALLOW


class _MainFrameGuard(QWebEngineUrlRequestInterceptor):
    """The page's own interceptor: the one place that learns who started a main-frame request."""

    def __init__(self, page: KioskPage) -> None:
        super().__init__(page)
        self._page = page

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:
        if info.resourceType() == QWebEngineUrlRequestInfo.ResourceType.ResourceTypeMainFrame:
            self._page._on_main_frame_request(info)


class KioskPage(QWebEnginePage):
    """A page that cannot take the resident outside the allowed origins.

    Nor can anything a page shows from elsewhere (an advertisement, a widget in a frame) move
    the resident: a main-frame navigation or a popup started by a frame outside the tile's
    origins is refused, with or without a tap, and the resident's page stays as it was.
    """

    navigationBlocked = Signal(object, str)  # Decision, URL (for suggestions only; never logged)
    actionRequested = Signal(str, dict)  # kiosk://borne/action/<name>?params
    pageVisited = Signal(str, dict)  # a kiosk: page the resident went to (not a reload): name, query
    closeRequested = Signal()
    certificateRejected = Signal(str)  # host

    def __init__(self, profile: QWebEngineProfile, host: PageHost, parent: QObject | None = None) -> None:
        super().__init__(profile, parent)
        self._host = host
        self._dialogs = DialogThrottle()
        self.newWindowRequested.connect(self._on_new_window)
        self.windowCloseRequested.connect(self.closeRequested.emit)
        # about:blank navigations may stay in the renderer: watch the URL as well.
        self.urlChanged.connect(self._on_url_changed)
        self.fullScreenRequested.connect(self._on_full_screen)
        self.permissionRequested.connect(self._on_permission)
        self.certificateError.connect(self._on_certificate_error)
        self.fileSystemAccessRequested.connect(self._on_file_system_access)
        self.desktopMediaRequested.connect(self._on_desktop_media)
        self.authenticationRequired.connect(self._on_authentication)
        self.proxyAuthenticationRequired.connect(self._on_proxy_authentication)
        self.selectClientCertificate.connect(self._on_client_certificate)
        self._guard = _MainFrameGuard(self)
        self.setUrlRequestInterceptor(self._guard)

    # -- navigation -------------------------------------------------------------------
    def acceptNavigationRequest(
        self,
        url: QUrl | str,
        nav_type: QWebEnginePage.NavigationType,
        isMainFrame: bool,
    ) -> bool:
        qurl = QUrl(url)
        text = qurl.toString(QUrl.ComponentFormattingOption.FullyEncoded)
        on_kiosk_page = self.url().scheme() == KIOSK_SCHEME
        if qurl.scheme() == KIOSK_SCHEME:
            return self._accept_internal(qurl, isMainFrame, on_kiosk_page, nav_type)
        if not isMainFrame:
            # Sub-frames cannot move the resident: only keep them off local, browser-internal
            # and external-protocol schemes.
            if qurl.scheme().lower() not in _SUBFRAME_SCHEMES:
                log.info("navigation.subframe_blocked", extra={"scheme": qurl.scheme()})
                return False
            return True
        if text == CLOSE_MARKER:
            self.closeRequested.emit()
            return False
        decision = self._host.current_policy().decide(text)
        if decision.verdict is Verdict.BLOCK:
            if qurl.scheme() in ("http", "https") and nav_type in _CONTENT_NAVIGATIONS:
                # Started by web content: whether the page itself or a frame from elsewhere asked
                # is known only when the request is made (its initiator). The request never
                # leaves: the profile's interceptor blocks it and _on_main_frame_request decides
                # whether the resident sees why.
                return True
            self._refuse(decision, text)
            return False
        return True

    def _refuse(self, decision: Decision, url: str) -> None:
        log.info(
            "navigation.blocked", extra={"host": decision.host or host_for_log(url), "reason": str(decision.reason)}
        )
        self.navigationBlocked.emit(decision, url)

    def _on_main_frame_request(self, info: QWebEngineUrlRequestInfo) -> None:
        url = info.requestUrl()
        if url.scheme() == KIOSK_SCHEME:
            return  # acceptNavigationRequest and the scheme handler decide
        text = url.toString(QUrl.ComponentFormattingOption.FullyEncoded)
        policy = self._host.current_policy()
        third_party = started_by_third_party(info.initiator(), info.navigationType(), policy)
        decision = policy.decide(text)
        if not third_party and decision.verdict is not Verdict.BLOCK:
            return
        info.block(True)
        # Stop the navigation before it commits: a blocked request would otherwise put an
        # error page in place of the resident's page.
        self.triggerAction(QWebEnginePage.WebAction.Stop)
        if third_party:
            log.warning(
                "navigation.third_party_refused",
                extra={"from_host": info.initiator().host() or "<opaque>", "host": decision.host or host_for_log(text)},
            )
            return
        self._refuse(decision, text)

    def _accept_internal(
        self, url: QUrl, main_frame: bool, on_kiosk_page: bool, nav_type: QWebEnginePage.NavigationType
    ) -> bool:
        # Our own loads (setUrl from the shell) are "typed"; going back/forward or reloading
        # reaches only history entries the shell itself created (web content can never
        # navigate to kiosk:, see below). Anything else must come from a kiosk page.
        from_shell = nav_type in (
            QWebEnginePage.NavigationType.NavigationTypeTyped,
            QWebEnginePage.NavigationType.NavigationTypeBackForward,
            QWebEnginePage.NavigationType.NavigationTypeReload,
        )
        if not main_frame or not (on_kiosk_page or from_shell or self.url().isEmpty()):
            log.warning("navigation.kiosk_scheme_refused", extra={"from_host": self.url().host()})
            if main_frame:
                self.navigationBlocked.emit(Decision(Verdict.BLOCK, BlockReason.FORBIDDEN_SCHEME), "")
            return False
        params = dict(parse_qsl(url.query(), keep_blank_values=True))
        where = kiosk_place(url)
        if where is not None and where.kind is Kind.ACTION:
            if where.name in Action.__members__.values():
                self.actionRequested.emit(where.name, params)
            return False
        if where is not None and where.kind is Kind.PAGE and nav_type not in _NOT_A_VISIT:
            self.pageVisited.emit(where.name, params)
        return True

    def _on_url_changed(self, url: QUrl) -> None:
        if url.toString() == CLOSE_MARKER:
            self.closeRequested.emit()
        elif url.toString() == "about:blank" and self._host.current_policy().rules and self.history().canGoBack():
            # An empty page at the top of a tile: nothing a démarche needs, and the one
            # navigation no hook is asked about (a frame can do it with a tap). Undo it.
            log.warning("navigation.blank_top_undone")
            self.triggerAction(QWebEnginePage.WebAction.Back)

    def _on_new_window(self, request: QWebEngineNewWindowRequest) -> None:
        # Popups and target=_blank open in this same view, through the same policy.
        url = request.requestedUrl()
        if not url.isValid() or url.isEmpty() or url.toString() == "about:blank":
            return
        if url.scheme() not in ("http", "https"):
            self._open_popup_here(url, third_party=False)  # refused with its reason; no request is made
            return
        # Who opened it (this page, or a frame from elsewhere) only the popup's request tells:
        # let a hidden page receive it, learn that, and load nothing.
        probe = _PopupProbe(self.profile(), self._host, self)
        probe.decided.connect(self._open_popup_here)
        request.openIn(probe)

    def _open_popup_here(self, url: QUrl, third_party: bool) -> None:
        if third_party:
            log.warning("popup.third_party_refused", extra={"host": url.host()})
            return
        log.info("popup.redirected_to_same_view", extra={"host": url.host()})
        self.setUrl(url)

    # -- JavaScript dialogs: shown inside the window, never as system dialogs -------------
    def javaScriptAlert(self, securityOrigin: QUrl | str, msg: str) -> None:
        if self._dialogs.allow():
            self._host.show_notice(msg[:500])

    def javaScriptConfirm(self, securityOrigin: QUrl | str, msg: str) -> bool:
        if msg.startswith(_BEFOREUNLOAD_TEXT):
            return True
        if not self._dialogs.allow():
            return False
        return self._host.ask_confirmation(msg[:500])

    def javaScriptPrompt(
        self,
        securityOrigin: QUrl | str,
        msg: str,
        defaultValue: str,
    ) -> tuple[bool, str]:
        # Free-text prompts are not supported: a site that needs one works without it.
        return False, ""

    def javaScriptConsoleMessage(
        self, level: QWebEnginePage.JavaScriptConsoleMessageLevel, message: str, lineNumber: int, sourceID: str
    ) -> None:
        pass  # page consoles may hold residents' data: never logged

    # -- files ------------------------------------------------------------------------------
    def chooseFiles(
        self,
        mode: QWebEnginePage.FileSelectionMode,
        oldFiles: Sequence[str],
        acceptedMimeTypes: Sequence[str],
    ) -> list[str]:
        if mode not in (
            QWebEnginePage.FileSelectionMode.FileSelectOpen,
            QWebEnginePage.FileSelectionMode.FileSelectOpenMultiple,
        ):
            log.info("file_chooser.refused", extra={"mode": mode.name})
            return []
        multiple = mode == QWebEnginePage.FileSelectionMode.FileSelectOpenMultiple
        return self._host.choose_documents(multiple, list(acceptedMimeTypes))

    def _on_file_system_access(self, request: QWebEngineFileSystemAccessRequest) -> None:
        request.reject()

    # -- everything a kiosk refuses or decides itself --------------------------------------
    def _on_full_screen(self, request: QWebEngineFullScreenRequest) -> None:
        request.reject()

    def _on_permission(self, permission: QWebEnginePermission) -> None:
        wanted = _PERMISSIONS.get(permission.permissionType())
        if wanted is not None and wanted in self._host.granted_permissions():
            permission.grant()
            log.info("permission.granted", extra={"permission": str(wanted)})
        else:
            permission.deny()
            log.info("permission.denied", extra={"permission": permission.permissionType().name})

    def _on_certificate_error(self, error: QWebEngineCertificateError) -> None:
        # Never a "proceed anyway": the resident sees why and a way back.
        error.rejectCertificate()
        host = error.url().host()
        log.warning("certificate.rejected", extra={"host": host, "type": error.type().name})
        if error.isMainFrame():
            self.certificateRejected.emit(host)

    def _on_desktop_media(self, request: QWebEngineDesktopMediaRequest) -> None:
        request.cancel()

    def _on_authentication(self, url: QUrl, authenticator: object) -> None:
        # Leaving the authenticator untouched cancels the request: no login dialog appears.
        log.info("http_auth.refused", extra={"host": QUrl(url).host()})

    def _on_proxy_authentication(self, url: QUrl, authenticator: object, proxy_host: str) -> None:
        log.warning("proxy_auth.refused")

    def _on_client_certificate(self, selection: object) -> None:
        select_none = getattr(selection, "selectNone", None)
        if callable(select_none):
            select_none()


class _PopupProbe(KioskPage):
    """Receives a popup (``openIn``) only to read who opened it from its first request, which it
    blocks; it has no view and is deleted once it has told. Being a ``KioskPage``, whatever an
    opener writes into it meanwhile meets the same refusals."""

    decided = Signal(QUrl, bool)  # the popup's URL, opened by a third party

    def __init__(self, profile: QWebEngineProfile, host: PageHost, parent: QObject) -> None:
        super().__init__(profile, host, parent)
        self._told = False

    def acceptNavigationRequest(
        self, url: QUrl | str, nav_type: QWebEnginePage.NavigationType, isMainFrame: bool
    ) -> bool:
        qurl = QUrl(url)
        if isMainFrame and qurl.scheme() in ("http", "https") and not self._told:
            return True  # the request carries its initiator: _on_main_frame_request reads it
        if isMainFrame and not self._told:
            self._tell(qurl, third_party=True)  # only the first request is the popup's own
        return False

    def _on_main_frame_request(self, info: QWebEngineUrlRequestInfo) -> None:
        info.block(True)
        if not self._told:
            policy = self._host.current_policy()
            self._tell(info.requestUrl(), started_by_third_party(info.initiator(), info.navigationType(), policy))

    def _tell(self, url: QUrl, third_party: bool) -> None:
        self._told = True
        self.triggerAction(QWebEnginePage.WebAction.Stop)
        self.decided.emit(url, third_party)
        self.deleteLater()
