"""The kiosk window, a thin view: the top bar, a stack of views, overlays, the keyboard.

It shows what it is told (the lobby's ``kiosk:`` pages, a resident's browser, the PDF viewer,
the layer over the page) and reports what the resident asks through one signal,
``actionRequested(verb, params)``, whether it came from the top bar or from a ``kiosk:`` page.
It knows nothing of sessions, statistics or the action table: the session controller drives it
through the ``KioskView`` protocol (``view.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QShowEvent
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineUrlSchemeHandler
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QStackedWidget, QVBoxLayout, QWidget

from kiosk.core.policy import NavigationPolicy
from kiosk.i18n import Translator
from kiosk.shell.guard import InputGuard
from kiosk.shell.keyboard import OnScreenKeyboard
from kiosk.shell.overlays import ConfirmOverlay, DocumentChooser, NoticeOverlay
from kiosk.shell.topbar import TopBar
from kiosk.shell.web.internal_load import load_kiosk_page
from kiosk.shell.web.page import InternalPageHost, KioskPage
from kiosk.shell.web.profile import build_profile

if TYPE_CHECKING:
    from kiosk.core.ports import Printer
    from kiosk.shell.pdfviewer import PdfViewer
    from kiosk.shell.web.browser import SessionBrowser

KEYBOARD_SCROLL_MS = 50


class KioskWindow(QWidget):
    """The one and only window of the kiosk."""

    actionRequested = Signal(str, dict)  # a verb of kiosk.pages.Action, its parameters
    activity = Signal()  # the resident touched or typed something
    lobbyPageChanged = Signal()  # the lobby or the layer moved to another page
    printed = Signal(int)  # pages printed from the PDF viewer (the printer said done)
    printHeld = Signal(int)  # pages the printer keeps for staff to release
    printFailed = Signal(str)  # why a print failed

    def __init__(
        self,
        centre_name: str,
        scheme_handler: QWebEngineUrlSchemeHandler,
        printer: Printer | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("kioskWindow")
        self.setWindowTitle("Borne")
        self.printer = printer  # the PDF viewer's, set before its first use
        self._allow_close = False
        self._guard_installed = False
        self._translator: Translator | None = None
        self._pdf_viewer: PdfViewer | None = None
        self._layer_view: QWebEngineView | None = None
        self._zoom = 1.0
        self.browser: SessionBrowser | None = None

        self.top_bar = TopBar(centre_name, self)
        self.top_bar.triggered.connect(self._forward_action, Qt.ConnectionType.QueuedConnection)
        self.content = QWidget(self)
        self.content.setObjectName("content")
        self.stack = QStackedWidget(self.content)
        content_layout = QVBoxLayout(self.content)
        content_layout.setContentsMargins(0, 0, 0, 0)
        content_layout.addWidget(self.stack)

        # The lobby: an off-the-record profile that only ever shows kiosk: pages.
        self.lobby_profile = build_profile(None, scheme_handler, NavigationPolicy.internal_only, parent=self)
        self.lobby_view = self._lobby_view("lobbyView", self.stack)
        self.stack.addWidget(self.lobby_view)
        self.session_holder = QWidget(self.stack)
        self.session_layout = QVBoxLayout(self.session_holder)
        self.session_layout.setContentsMargins(0, 0, 0, 0)
        self.stack.addWidget(self.session_holder)

        self.notice = NoticeOverlay(self.content)
        self.confirm = ConfirmOverlay(self.content)
        self.chooser = DocumentChooser(self.content)
        self.keyboard = OnScreenKeyboard(self, locale="fr_FR", load_after=self.lobby_view.loadFinished)
        self.keyboard.shownChanged.connect(self._on_keyboard)
        self.guard = InputGuard(self.activity.emit, self)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.top_bar)
        layout.addWidget(self.content, 1)
        layout.addWidget(self.keyboard)

    # ------------------------------------------------------------------ views made on first use
    @property
    def pdf_viewer(self) -> PdfViewer:
        if self._pdf_viewer is None:
            from kiosk.shell.pdfviewer import PdfViewer  # QtPdf and the print tracker: on first use

            self._pdf_viewer = PdfViewer(self.printer, self.stack)
            self._pdf_viewer.closed.connect(self.close_pdf)
            self._pdf_viewer.printed.connect(lambda _job, pages: self.printed.emit(pages))
            self._pdf_viewer.printHeld.connect(lambda _job, pages: self.printHeld.emit(pages))
            self._pdf_viewer.printFailed.connect(self.printFailed)
            if self._translator is not None:
                self._pdf_viewer.set_translator(self._translator)
            self.stack.addWidget(self._pdf_viewer)
        return self._pdf_viewer

    @property
    def layer_view(self) -> QWebEngineView:
        """The layer over the page (idle warning, crash apology): kiosk: pages, transparent."""
        if self._layer_view is None:
            self._layer_view = self._lobby_view("layerView", self.content)
            self._layer_view.page().setBackgroundColor(Qt.GlobalColor.transparent)
            self._layer_view.setZoomFactor(self._zoom)
            self._layer_view.hide()
        return self._layer_view

    def lobby_views(self) -> list[QWebEngineView]:
        return [v for v in (self.lobby_view, self._layer_view) if v is not None]

    # ------------------------------------------------------------------ the KioskView protocol
    def show_lobby(self, page: str) -> None:
        load_kiosk_page(self.lobby_view.page(), page)
        self.stack.setCurrentWidget(self.lobby_view)

    def showing_lobby(self) -> bool:
        return self.stack.currentWidget() is self.lobby_view

    def lobby_page(self) -> QWebEnginePage:
        return self.lobby_view.page()

    def attach_session(self, browser: SessionBrowser) -> None:
        """Put a resident's browser in the window; its pages' verbs come out of ``actionRequested``."""
        self.browser = browser
        self.keyboard.load()  # before any field of this resident's may take focus (it is loaded by now)
        browser.page.actionRequested.connect(self._forward_action, Qt.ConnectionType.QueuedConnection)
        browser.pdfReady.connect(self.open_pdf)
        self.session_layout.addWidget(browser.view)
        self.guard.watch_view(browser.view)
        # The view's input widget is (re)created with the renderer: guard each new one.
        browser.page.loadStarted.connect(lambda v=browser.view: self.guard.watch_view(v))
        browser.view.setZoomFactor(self._zoom)

    def detach_session(self) -> SessionBrowser | None:
        browser, self.browser = self.browser, None
        if self._pdf_viewer is not None:
            self._pdf_viewer.cancel_all()  # the resident's print jobs, waiting or done: cancelled and purged
            self._pdf_viewer.close_document()
        self.stack.setCurrentWidget(self.lobby_view)
        return browser

    def show_session(self) -> None:
        if self.browser is not None:
            self.stack.setCurrentWidget(self.session_holder)

    def open_pdf(self, path: str, title: str) -> None:
        if self.pdf_viewer.open_document(Path(path), title):
            self.stack.setCurrentWidget(self.pdf_viewer)

    def close_pdf(self) -> None:
        if self._pdf_viewer is not None and self._pdf_viewer.path is not None:
            self._pdf_viewer.close_document()
        self.show_session()

    def pdf_shown(self) -> bool:
        return self._pdf_viewer is not None and self.stack.currentWidget() is self._pdf_viewer

    def show_layer(self, page: str) -> None:
        layer = self.layer_view
        load_kiosk_page(layer.page(), page)
        layer.setGeometry(self.content.rect())
        layer.show()
        layer.raise_()

    def hide_layer(self) -> None:
        layer, self._layer_view = self._layer_view, None
        if layer is not None:
            layer.hide()
            layer.deleteLater()  # and its renderer with it: seldom needed, it is made again when it is

    def visible_kiosk_page(self) -> QWebEnginePage | None:
        """The page on screen if it is one of ours (read-aloud never reads a third-party site)."""
        page = (self.lobby_view if self.showing_lobby() or self.browser is None else self.browser.view).page()
        return page if page.url().scheme() == "kiosk" else None

    def reload_kiosk_pages(self) -> None:
        for view in (self.lobby_view, self.browser.view if self.browser else None):
            if view is not None and view.page().url().scheme() == "kiosk":
                view.page().triggerAction(QWebEnginePage.WebAction.Reload)

    def set_zoom(self, factor: float, level: int) -> None:
        self._zoom = factor
        for view in [*self.lobby_views(), self.browser.view if self.browser else None]:
            if view is not None:
                view.setZoomFactor(factor)
        self.top_bar.set_zoom_level(level)

    def set_translator(self, t: Translator) -> None:
        """Qt's own words in the resident's language, the layout mirrored for right-to-left."""
        self._translator = t
        rtl = Qt.LayoutDirection.RightToLeft if t.language.rtl else Qt.LayoutDirection.LeftToRight
        self.setLayoutDirection(rtl)
        self.top_bar.set_translator(t)
        for widget in (self._pdf_viewer, self.notice, self.confirm, self.chooser):
            if widget is not None:
                widget.set_translator(t)

    def set_in_session(self, in_session: bool) -> None:
        self.top_bar.set_in_session(in_session)

    def dismiss_overlays(self) -> bool:
        """Close every overlay; True if a page was still waiting inside one (a confirm(), a chooser)."""
        waiting = any(o.waiting for o in (self.confirm, self.chooser))
        for overlay in (self.notice, self.confirm, self.chooser):
            overlay.dismiss()
        return waiting

    def clear_screen(self) -> None:
        """Between residents: nothing of the last one on screen or in the clipboard."""
        self.hide_layer()
        self.keyboard.hide_panel()
        QGuiApplication.clipboard().clear()

    def show_notice(self, text: str) -> None:
        self.notice.show_message(text)

    def ask_confirmation(self, text: str) -> bool:
        return self.confirm.ask(text)

    def choose_documents(self, documents: Sequence[Path]) -> list[str]:
        return self.chooser.choose(documents)

    def renew_lobby_page(self, view: QWebEngineView) -> None:
        """A fresh page, hence a fresh renderer, for a lobby view, showing what the old one showed."""
        old, page = view.page(), self._lobby_page(view)
        if view is self._layer_view:
            page.setBackgroundColor(Qt.GlobalColor.transparent)
        view.setPage(page)
        page.setUrl(old.url())
        old.deleteLater()

    def allow_close(self) -> None:
        self._allow_close = True

    # ------------------------------------------------------------------ internals
    def _lobby_page(self, view: QWebEngineView) -> KioskPage:
        page = KioskPage(self.lobby_profile, InternalPageHost(self.show_notice, self.ask_confirmation), view)
        page.actionRequested.connect(self._forward_action, Qt.ConnectionType.QueuedConnection)
        page.urlChanged.connect(self.lobbyPageChanged)
        return page

    def _lobby_view(self, name: str, parent: QWidget) -> QWebEngineView:
        view = QWebEngineView(parent)
        view.setObjectName(name)
        view.setPage(self._lobby_page(view))
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        view.setAcceptDrops(False)
        return view

    def _forward_action(self, name: str, params: dict[str, str] | None = None) -> None:
        self.actionRequested.emit(name, params or {})

    def _on_keyboard(self, shown: bool) -> None:
        browser = self.browser
        if shown and browser is not None:  # keep the focused field in sight above the keyboard
            script = "document.activeElement && document.activeElement.scrollIntoView({block: 'center'})"
            QTimer.singleShot(
                KEYBOARD_SCROLL_MS, lambda: self.browser is browser and browser.page.runJavaScript(script, 0)
            )

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        for layer in (self._layer_view, self.notice, self.confirm, self.chooser):
            if layer is not None and layer.isVisible():
                layer.setGeometry(self.content.rect())

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        # The guard watches our top-level QWindow: every key, mouse and touch event reaches it before any widget,
        # web views included (an application-wide Python filter would also see Qt objects under construction).
        handle = self.windowHandle()
        if handle is not None and not self._guard_installed:
            handle.installEventFilter(self.guard)
            self._guard_installed = True

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._allow_close:
            event.accept()
        else:
            event.ignore()  # Alt+F4, a window manager's close: the kiosk stays
