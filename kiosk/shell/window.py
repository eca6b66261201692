"""The kiosk window: top bar, the resident's browser, overlays, PDF viewer, keyboard.

It owns the session state machine and turns its transitions into screens: the attract
screen, a fresh browser for each resident, the idle warning, the wipe and the goodbye.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QCloseEvent, QGuiApplication, QShowEvent
from PySide6.QtWebEngineCore import QWebEngineLoadingInfo, QWebEnginePage
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QStackedWidget, QVBoxLayout, QWidget

from kiosk.core.help import HelpCentre, HelpError
from kiosk.core.policy import BlockReason, Decision, NavigationPolicy, Verdict
from kiosk.core.ports import Clock, Printer, SystemClock
from kiosk.core.session import EndReason, SessionStateMachine, State, Timings, Transition
from kiosk.core.settings import Config
from kiosk.core.stats.events import (
    DeviceError,
    Event,
    MediatorCall,
    NavigationBlocked,
    PrintJob,
    SessionEnded,
    SessionStarted,
    TileOpened,
)
from kiosk.core.stats.recorder import StatsRecorder
from kiosk.core.store import Store
from kiosk.core.tiles import Permission, Tile
from kiosk.i18n import N_, translator
from kiosk.shell.guard import InputGuard
from kiosk.shell.keyboard import OnScreenKeyboard
from kiosk.shell.overlays import ConfirmOverlay, DocumentChooser, NoticeOverlay
from kiosk.shell.pages import PageRenderer
from kiosk.shell.pages.help import HELP_PAGES, help_context
from kiosk.shell.pages.home import home_groups
from kiosk.shell.pages.questions import QUESTIONS_PAGE, parse_answers
from kiosk.shell.pdfviewer import PdfViewer
from kiosk.shell.readaloud import ReadAloud, SpeechEngine, default_engine
from kiosk.shell.topbar import TopBar
from kiosk.shell.web.browser import SessionBrowser
from kiosk.shell.web.page import KioskPage
from kiosk.shell.web.profile import build_profile, remove_session_dir
from kiosk.shell.web.scheme import KioskSchemeHandler, kiosk_url

log = logging.getLogger(__name__)

DEFAULT_SPEECH = object()  # KioskWindow(speech=...) not given: the machine's French voice, if any
CRASH_APOLOGY_MS = 1500  # apology on screen, then home: under the 2 s the resident may wait
HANG_CHECK_MS = 1000
_ERR_ABORTED = -3  # Chromium net error codes
_ERR_BLOCKED_BY_CLIENT = -20


class KioskWindow(QWidget):
    """The one and only window of the kiosk."""

    def __init__(
        self,
        config: Config,
        printer: Printer,
        *,
        clock: Clock | None = None,
        session_root: Path,
        recorder: StatsRecorder | None = None,
        store: Store | None = None,
        speech: SpeechEngine | object | None = DEFAULT_SPEECH,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("kioskWindow")
        self.setWindowTitle("Borne")
        self.config = config
        settings = config.kiosk
        self.session_root = session_root
        session_root.mkdir(mode=0o700, parents=True, exist_ok=True)
        wipe_leftover_sessions(session_root)
        self._clock = clock or SystemClock()
        # Usage statistics: without a database (tests, a broken disk) events wait in memory.
        self.store = store
        self.stats = recorder or StatsRecorder(store, self._clock)
        self._questions_timer = QTimer(self)
        self._questions_timer.setSingleShot(True)
        self._questions_timer.timeout.connect(lambda: self._finish_session({}))
        self._asking = False
        self._zoom_level = 0
        self._high_contrast = False
        self._allow_close = False
        self._guard_installed = False
        self.browser: SessionBrowser | None = None
        self._pending_js_ping: float | None = None

        self.help_centre = load_help_centre(config.kiosk_path.parent / "help")
        engine = default_engine(self) if speech is DEFAULT_SPEECH else speech
        self.read_aloud = ReadAloud(engine, self)  # type: ignore[arg-type]
        self.renderer = PageRenderer(
            icons_dir=config.tiles_path.parent / "icons",
            centre_name=settings.centre.name,
            language=settings.shell.language,
            offered=settings.shell.languages,
            read_aloud=self.read_aloud.available,
            help_videos=config.kiosk_path.parent / "help" / "videos",
        )
        self.scheme_handler = KioskSchemeHandler(self.renderer, self._page_context, parent=self)

        # -- widgets --------------------------------------------------------------------------
        self.top_bar = TopBar(settings.centre.name, self)
        self.top_bar.triggered.connect(self._on_top_bar, Qt.ConnectionType.QueuedConnection)
        self.content = QWidget(self)
        self.content.setObjectName("content")
        self.stack = QStackedWidget(self.content)
        content_layout = QVBoxLayout(self.content)
        content_layout.setContentsMargins(0, 0, 0, 0)
        content_layout.addWidget(self.stack)

        # The lobby: an off-the-record profile that only ever shows kiosk: pages.
        self.lobby_profile = build_profile(None, self.scheme_handler, NavigationPolicy.internal_only, parent=self)
        self.lobby_view = self._lobby_view("lobbyView", self.stack)
        self.stack.addWidget(self.lobby_view)
        self.session_holder = QWidget(self.stack)
        self.session_layout = QVBoxLayout(self.session_holder)
        self.session_layout.setContentsMargins(0, 0, 0, 0)
        self.stack.addWidget(self.session_holder)
        self.pdf_viewer = PdfViewer(printer, self.stack)
        self.pdf_viewer.closed.connect(self._close_pdf)
        self.pdf_viewer.printed.connect(
            lambda _job, pages: self._record(PrintJob, pages=max(1, pages), status="printed")
        )
        self.pdf_viewer.printFailed.connect(lambda code: self._record(DeviceError, device="printer", error=code))
        self.stack.addWidget(self.pdf_viewer)

        # Layer over the page: idle warning, crash apology (kiosk: pages, transparent).
        self.layer_view = self._lobby_view("layerView", self.content)
        self.layer_view.page().setBackgroundColor(Qt.GlobalColor.transparent)
        self.layer_view.hide()
        self.notice = NoticeOverlay(self.content)
        self.confirm = ConfirmOverlay(self.content)
        self.chooser = DocumentChooser(self.content)

        self.keyboard = OnScreenKeyboard(self, locale="fr_FR")
        self.keyboard.shownChanged.connect(self._on_keyboard)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.top_bar)
        layout.addWidget(self.content, 1)
        layout.addWidget(self.keyboard)

        # -- session ---------------------------------------------------------------------------
        s = settings.session
        self.session = SessionStateMachine(Timings(s.idle_timeout_s, s.warning_s, s.goodbye_s), self._clock)
        self.session.subscribe(self._on_transition)
        self.guard = InputGuard(self.session.activity, self)
        self._tick = QTimer(self)
        self._tick.setInterval(250)
        self._tick.timeout.connect(self.session.tick)
        self._tick.start()
        self._hang_timer = QTimer(self)
        self._hang_timer.setInterval(HANG_CHECK_MS)
        self._hang_timer.timeout.connect(self._check_renderer)
        self._hang_timer.start()

        self.top_bar.set_in_session(False)
        self._apply_language()
        self._show_lobby("attract")

    # ------------------------------------------------------------------ public, for tests/bench
    @property
    def state(self) -> State:
        return self.session.state

    def session_view(self) -> QWebEngineView | None:
        return self.browser.view if self.browser else None

    def session_page(self) -> KioskPage | None:
        return self.browser.page if self.browser else None

    def current_url(self) -> QUrl:
        if self.browser is not None and self.stack.currentWidget() is not self.lobby_view:
            return self.browser.page.url()
        return self.lobby_view.page().url()

    def start_session(self) -> None:
        self.session.start()

    def end_session(self, reason: EndReason = EndReason.BUTTON) -> None:
        self.session.end(reason)

    def open_tile(self, tile_id: str) -> None:
        try:
            tile = self.config.tiles.tile(tile_id)
        except KeyError:
            log.warning("tile.unknown", extra={"tile": tile_id})
            return
        self.session.start()
        if self.browser is None:
            return
        self.browser.set_tile(tile, self.config.tiles.policy_for(tile))
        log.info("tile.opened", extra={"tile": tile.id, "category": str(tile.category)})
        self._record(TileOpened, tile=tile.id, category=tile.category)
        self._show_session()
        self.browser.page.setUrl(QUrl(tile.url))

    def go_home(self) -> None:
        self.session.start()
        if self.browser is None:
            return
        self.browser.set_tile(None, NavigationPolicy.internal_only())
        self._show_session()
        self._load_internal("home", clear_history=True)

    def go_back(self) -> None:
        if self.stack.currentWidget() is self.pdf_viewer:
            self._close_pdf()
            return
        if self.browser is None:
            return
        history = self.browser.page.history()
        if history.canGoBack():
            self.browser.page.triggerAction(QWebEnginePage.WebAction.Back)
        else:
            self.go_home()

    def cycle_zoom(self) -> None:
        self._zoom_level = (self._zoom_level + 1) % len(self.config.kiosk.shell.zoom_levels)
        self._apply_zoom()

    @property
    def zoom_factor(self) -> float:
        return self.config.kiosk.shell.zoom_levels[self._zoom_level]

    def allow_close(self) -> None:
        self._allow_close = True

    @property
    def language(self) -> str:
        """This resident's language: the renderer's, which Qt's own words follow."""
        return self.renderer.language.code

    def translate(self, message: str) -> str:
        """A message id in the resident's language (for the few words Qt shows itself)."""
        return translator(self.language)(message)

    def set_language(self, code: str) -> None:
        """This resident's language (one the centre offers; anything else is the default) for the
        top bar, the kiosk's pages and dialogs. Back to the default when the next resident comes."""
        before = self.language
        if self.renderer.set_language(code).code == before:
            return
        log.info("language.changed", extra={"language": self.language})
        self._apply_language()
        self.read_aloud.stop()
        self._reload_kiosk_pages()

    # ------------------------------------------------------------------ PageHost protocol
    def current_policy(self) -> NavigationPolicy:
        return self.browser.policy if self.browser else NavigationPolicy.internal_only()

    def granted_permissions(self) -> frozenset[Permission]:
        tile = self.browser.tile if self.browser else None
        return frozenset(tile.permissions) if tile else frozenset()

    def choose_documents(self, multiple: bool, accepted_mime_types: Sequence[str]) -> list[str]:
        documents = self.browser.documents() if self.browser else []
        log.info("file_chooser.shown", extra={"documents": len(documents)})
        return self.chooser.choose(documents)

    def show_notice(self, text: str) -> None:
        self.notice.show_message(text)

    def ask_confirmation(self, text: str) -> bool:
        return self.confirm.ask(text)

    # ------------------------------------------------------------------ session transitions
    def _on_transition(self, t: Transition) -> None:
        log.info("session.transition", extra={"from": str(t.old), "to": str(t.new), "reason": str(t.reason or "")})
        if t.new is State.ACTIVE and t.old is State.ATTRACT:
            self._begin_session()
        elif t.new is State.ACTIVE:
            self._hide_layer()
        elif t.new is State.WARNING:
            self._show_layer("warning", seconds=str(int(self.config.kiosk.session.warning_s)))
        elif t.new is State.ENDING:
            # Out of the caller's stack (a page's signal may have started this).
            QTimer.singleShot(0, self._wipe_session)
        elif t.new is State.WIPED:
            self._show_lobby("goodbye")
        elif t.new is State.ATTRACT:
            # Between residents: write what waits and fold the WAL, while nobody is waiting.
            self.stats.flush()
            if self.store is not None:
                self.store.checkpoint()
            self._restart_bloated_renderers()
            self.set_language(self.renderer.default_language)
            self._show_lobby("attract")

    def _begin_session(self) -> None:
        session_id = self.session.session_id or "session"
        self.browser = SessionBrowser(
            self.session_root / session_id, self.scheme_handler, self, self.session_holder, translate=self.translate
        )
        page = self.browser.page
        page.navigationBlocked.connect(self._on_blocked, Qt.ConnectionType.QueuedConnection)
        page.actionRequested.connect(self._on_action, Qt.ConnectionType.QueuedConnection)
        page.closeRequested.connect(self.go_home, Qt.ConnectionType.QueuedConnection)
        page.certificateRejected.connect(self._on_certificate_rejected, Qt.ConnectionType.QueuedConnection)
        page.renderProcessTerminated.connect(self._on_renderer_gone, Qt.ConnectionType.QueuedConnection)
        page.loadingChanged.connect(self._on_loading_changed)
        page.urlChanged.connect(self._stop_reading)
        self.browser.pdfReady.connect(self._open_pdf)
        self.browser.downloadRefused.connect(
            lambda: self.show_notice(
                self.translate(
                    N_(
                        "Ce fichier ne peut pas être ouvert sur la borne. "
                        "Seuls les documents PDF peuvent être ouverts et imprimés."
                    )
                )
            )
        )
        self.session_layout.addWidget(self.browser.view)
        self._guard_view(self.browser.view)
        # The view's input widget is (re)created with the renderer: guard each new one.
        page.loadStarted.connect(lambda v=self.browser.view: self._guard_view(v))
        self.top_bar.set_in_session(True)
        self._apply_zoom()
        log.info("session.started")
        self._record(SessionStarted)
        self.go_home()

    def _restart_bloated_renderers(self) -> None:
        """Between sessions, give the lobby views a fresh renderer if theirs grew past the cap.

        (Each resident's browser gets a new profile, hence new renderers, anyway.)
        """
        cap = self.config.kiosk.shell.renderer_memory_cap_mb
        for view in (self.lobby_view, self.layer_view):
            old = view.page()
            rss = process_rss_mib(old.renderProcessPid())
            if rss <= cap:
                continue
            log.warning("renderer.memory_cap_restart", extra={"rss_mib": round(rss), "cap_mib": cap})
            page = KioskPage(self.lobby_profile, self, view)
            page.actionRequested.connect(self._on_action, Qt.ConnectionType.QueuedConnection)
            page.urlChanged.connect(self._stop_reading)
            if view is self.layer_view:
                page.setBackgroundColor(Qt.GlobalColor.transparent)
            view.setPage(page)
            old.deleteLater()

    def _guard_view(self, view: QWebEngineView) -> None:
        """Also filter keys at the web view's input widget: the last stop before Chromium."""
        view.show()
        proxy = view.focusProxy()
        for target in (view, proxy):
            if target is not None:
                target.installEventFilter(self.guard)

    def _stop_reading(self, *_args: object) -> None:
        self.read_aloud.stop()

    def _wipe_session(self) -> None:
        waiting = any(o.waiting for o in (self.confirm, self.chooser))
        for overlay in (self.notice, self.confirm, self.chooser):
            overlay.dismiss()
        if waiting:
            # A page is still inside confirm() or a file chooser on the stack below us: let
            # that call return before its page is destroyed.
            QTimer.singleShot(0, self._wipe_session)
            return
        self._hide_layer()
        self.read_aloud.stop()
        self.keyboard.hide_panel()
        self.pdf_viewer.close_document()
        browser, self.browser = self.browser, None
        if browser is not None:
            self.stack.setCurrentWidget(self.lobby_view)
            browser.destroy()
        QGuiApplication.clipboard().clear()
        self._zoom_level = 0
        self._apply_zoom()
        if self._high_contrast:
            self._high_contrast = False
            self.renderer.set_high_contrast(False)
        self.top_bar.set_in_session(False)
        # The language stays until the goodbye: the questions are asked in the resident's language.
        log.info("session.wiped", extra={"duration_s": round(self.session.session_duration(), 1)})
        if self.session.end_reason is EndReason.BUTTON and self.config.kiosk.stats.questions:
            self._ask_questions()
        else:
            self._finish_session({})

    # ------------------------------------------------------------------ end-of-session questions
    def _ask_questions(self) -> None:
        """The optional questions, asked after everything is wiped (nothing of the session is
        left on screen); one tap skips them, and they go away on their own."""
        self._asking = True
        self._show_lobby("questions")
        self._questions_timer.start(self.config.kiosk.stats.questions_timeout_s * 1000)

    def _finish_session(self, answers: dict[str, str]) -> None:
        """Record the end (with any answers) and move on to the goodbye screen."""
        if self.session.state is not State.ENDING:
            return
        self._questions_timer.stop()
        self._asking = False
        reason = self.session.end_reason or EndReason.BUTTON
        fields: dict[str, object] = {"duration_s": self.session.session_duration(), "reason": reason.value}
        fields.update(parse_answers(answers))
        self._record(SessionEnded, **fields)
        self.session.wiped()

    @property
    def asking_questions(self) -> bool:
        return self._asking

    # ------------------------------------------------------------------ statistics
    def _record(self, event_type: type[Event], **fields: object) -> None:
        """One usage event; a bad field is a bug to log, never a reason to disturb the screen."""
        try:
            event = event_type(**fields)
        except ValueError:
            log.exception("stats.invalid_event", extra={"kind": event_type.kind})
            return
        self.stats.record(event, self.session.session_id)

    # ------------------------------------------------------------------ screens
    def _lobby_view(self, name: str, parent: QWidget) -> QWebEngineView:
        view = QWebEngineView(parent)
        view.setObjectName(name)
        page = KioskPage(self.lobby_profile, self, view)
        page.actionRequested.connect(self._on_action, Qt.ConnectionType.QueuedConnection)
        view.setPage(page)
        page.urlChanged.connect(self._stop_reading)
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        view.setAcceptDrops(False)
        return view

    def _show_lobby(self, page: str) -> None:
        self.lobby_view.page().setUrl(kiosk_url(page))
        self.stack.setCurrentWidget(self.lobby_view)

    def _show_session(self) -> None:
        if self.browser is not None:
            self.stack.setCurrentWidget(self.session_holder)

    def _load_internal(self, page: str, clear_history: bool = False, **query: str) -> None:
        if self.browser is None:
            return
        if clear_history:

            def clear(_ok: bool, b: SessionBrowser = self.browser) -> None:
                b.page.loadFinished.disconnect(clear)
                b.page.history().clear()

            self.browser.page.loadFinished.connect(clear)
        self.browser.page.setUrl(kiosk_url(page, **query))

    def _show_layer(self, page: str, **query: str) -> None:
        self.layer_view.page().setUrl(kiosk_url(page, **query))
        self.layer_view.setGeometry(self.content.rect())
        self.layer_view.show()
        self.layer_view.raise_()

    def _hide_layer(self) -> None:
        self.layer_view.hide()

    def _apply_zoom(self) -> None:
        factor = self.zoom_factor
        for view in (self.lobby_view, self.layer_view, self.session_view()):
            if view is not None:
                view.setZoomFactor(factor)
        self.top_bar.set_zoom_level(self._zoom_level)

    def _open_pdf(self, path: str, title: str) -> None:
        if self.pdf_viewer.open_document(Path(path), title):
            self.stack.setCurrentWidget(self.pdf_viewer)

    def _close_pdf(self) -> None:
        if self.pdf_viewer.path is not None:
            self.pdf_viewer.close_document()
        self._show_session()

    def _on_keyboard(self, shown: bool) -> None:
        if shown and self.browser is not None:
            # Keep the focused field in sight above the keyboard.
            QTimer.singleShot(
                50,
                lambda: (
                    self.browser
                    and self.browser.page.runJavaScript(
                        "document.activeElement && document.activeElement.scrollIntoView({block: 'center'})", 0
                    )
                ),
            )

    # ------------------------------------------------------------------ events from pages and bar
    def _on_top_bar(self, name: str) -> None:
        if self._asking and name != "zoom":
            self._finish_session({})  # any other button of the bar skips the questions
            return
        self.session.activity()
        handlers = {
            "home": self.go_home,
            "back": self.go_back,
            "help": lambda: self._open_internal("help"),
            "mediator": self._call_mediator,
            "zoom": self.cycle_zoom,
            "end": lambda: self.end_session(EndReason.BUTTON),
        }
        handlers[name]()

    def _call_mediator(self) -> None:
        self._open_internal("mediator")
        # A resident asking for a person is what the centre most needs to count.
        self._record(MediatorCall, stage="opened")

    def _open_internal(self, page: str) -> None:
        self.session.start()
        if self.browser is None:
            return
        self.browser.set_tile(None, NavigationPolicy.internal_only())
        self._show_session()
        self._load_internal(page)

    def _on_action(self, name: str, params: dict[str, str]) -> None:
        if name == "start":
            self.session.activity()
        elif name == "open":
            self.open_tile(params.get("tile", ""))
        elif name == "home":
            self.go_home()
        elif name == "back":
            self.go_back()
        elif name == "stay":
            self.session.activity()
        elif name == "end":
            self.end_session(EndReason.BUTTON)
        elif name == "attract":
            self.session.activity()
        elif name == "close":
            self._hide_layer()
        elif name == "answers":
            self._finish_session(params)
        elif name == "read":
            self._read_page_aloud()
        elif name == "stop_reading":
            self.read_aloud.stop()
        elif name == "contrast":
            self.set_high_contrast(not self.high_contrast)
        elif name == "language":
            self._choose_language(params.get("code", ""))
        elif name == "question":
            self._questions_timer.start()  # a tap on an answer: give time for the next one

    @property
    def high_contrast(self) -> bool:
        return self._high_contrast

    def set_high_contrast(self, on: bool) -> None:
        """High-contrast kiosk pages for this resident (back to normal at the next session)."""
        self._high_contrast = on
        self.renderer.set_high_contrast(on)
        self.session.activity()
        self._reload_kiosk_pages()

    def _reload_kiosk_pages(self) -> None:
        for view in (self.lobby_view, self.session_view()):
            if view is not None and view.page().url().scheme() == "kiosk":
                view.page().triggerAction(QWebEnginePage.WebAction.Reload)

    def _choose_language(self, code: str) -> None:
        """The language picker; on the attract screen the tap also starts the session (at home)."""
        self.set_language(code)
        self.session.activity()

    def _apply_language(self) -> None:
        t = translator(self.language)
        direction = Qt.LayoutDirection.RightToLeft if t.language.rtl else Qt.LayoutDirection.LeftToRight
        self.setLayoutDirection(direction)
        self.top_bar.set_translator(t)
        self.pdf_viewer.set_translator(t)
        for overlay in (self.notice, self.confirm, self.chooser):
            overlay.set_translator(t)

    def _read_page_aloud(self) -> None:
        """Speak the visible kiosk page (never a third-party site: the button is on our pages only)."""
        self.session.activity()
        view = self.lobby_view if self.stack.currentWidget() is self.lobby_view else self.session_view()
        if view is None or view.page().url().scheme() != "kiosk":
            return
        # A guide shown in French inside a page in another language is read with the French voice.
        script = (
            "(function(){var m=document.querySelector('main')||document.body;"
            "var a=m.querySelector('article[lang]');var c=(a||m).cloneNode(true);"
            "c.querySelectorAll('.read-aloud,script,[hidden],.term-def,.languages').forEach(function(e){e.remove();});"
            "return JSON.stringify([c.innerText,(a||document.documentElement).lang]);})()"
        )

        def speak(result: object) -> None:
            # (PySide returns a JS array as ""; a JSON string comes through whole.)
            try:
                text, lang = json.loads(str(result))
            except (ValueError, TypeError):
                return
            self.read_aloud.read(str(text or ""), language=str(lang or self.language))

        view.page().runJavaScript(script, 0, speak)

    def _on_blocked(self, decision: Decision, url: str) -> None:
        if self.browser is None:
            return
        tile = self.browser.tile
        self._record(NavigationBlocked, tile=tile.id if tile else None, domain=decision.site)
        query = {"reason": str(decision.reason or BlockReason.NOT_ALLOWED)}
        if decision.site:
            query["site"] = decision.site
        suggestion = self._tile_allowing(url) if url else None
        if suggestion is not None and suggestion is not self.browser.tile:
            query["suggest"] = suggestion.id
        self._load_internal("blocked", **query)

    def _tile_allowing(self, url: str) -> Tile | None:
        for tile in self.config.tiles.tiles:
            if self.config.tiles.policy_for(tile).decide(url).verdict is Verdict.ALLOW:
                return tile
        return None

    def _on_certificate_rejected(self, host: str) -> None:
        self._load_internal("blocked", reason="certificate", site=host)

    def _on_loading_changed(self, info: QWebEngineLoadingInfo) -> None:
        if self.browser is None or info.status() != QWebEngineLoadingInfo.LoadStatus.LoadFailedStatus:
            return
        url = info.url()
        if info.isDownload() or url.scheme() not in ("http", "https"):
            return
        code = info.errorCode()
        if code == _ERR_ABORTED:
            return  # a navigation replaced by another, or a download: nothing went wrong
        if code == _ERR_BLOCKED_BY_CLIENT:
            decision = self.current_policy().decide(url.toString(QUrl.ComponentFormattingOption.FullyEncoded))
            self._on_blocked(decision, "")
            return
        # Chromium's own error pages are off: say it in French, with a way back.
        log.info("page.load_failed", extra={"host": url.host(), "code": code, "domain": info.errorDomain().name})
        self._load_internal("unreachable", site=url.host())

    # ------------------------------------------------------------------ resilience
    def _on_renderer_gone(self, status: QWebEnginePage.RenderProcessTerminationStatus, code: int) -> None:
        if self.browser is None:
            return
        log.error("renderer.terminated", extra={"status": status.name, "code": code})
        self._pending_js_ping = None
        self._show_layer("crashed")
        QTimer.singleShot(CRASH_APOLOGY_MS, self._recover_from_crash)

    def _recover_from_crash(self) -> None:
        self._hide_layer()
        if self.browser is not None:
            self.go_home()

    def _check_renderer(self) -> None:
        """A page stuck in a loop answers no script: kill its renderer, the crash path takes over."""
        browser = self.browser
        if browser is None or self.session.state not in (State.ACTIVE, State.WARNING):
            self._pending_js_ping = None
            return
        now = self._clock.monotonic()
        if self._pending_js_ping is not None:
            if now - self._pending_js_ping > self.config.kiosk.shell.hang_timeout_s:
                pid = browser.page.renderProcessPid()
                log.error("renderer.hung", extra={"pid": pid})
                self._pending_js_ping = None
                if pid > 0:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
            return
        self._pending_js_ping = now

        def answered(_result: object, b: SessionBrowser = browser) -> None:
            if self.browser is b:
                self._pending_js_ping = None

        browser.page.runJavaScript("0", 1, answered)

    # ------------------------------------------------------------------ context for kiosk: pages
    def _page_context(self, page: str, params: dict[str, str]) -> dict[str, object]:
        tiles = self.config.tiles
        if page == "home":
            return {"groups": home_groups(tiles, self.language)}
        if page == "blocked":
            suggest = None
            if params.get("suggest"):
                try:
                    tile = tiles.tile(params["suggest"])
                    suggest = {"id": tile.id, "label": tile.text(self.language)[0]}
                except KeyError:
                    pass
            return {
                "site": params.get("site") or None,
                "reason": params.get("reason", "not_allowed"),
                "back_url": "kiosk://action/back",
                "suggest": suggest,
            }
        if page == "unreachable":
            return {"site": params.get("site") or None}
        if page == "warning":
            return {"seconds": int(params.get("seconds", self.config.kiosk.session.warning_s))}
        if page == "questions":
            return {"questions": QUESTIONS_PAGE}
        if page in HELP_PAGES:
            context, event = help_context(self.help_centre, page, params, self.language)
            if event is not None:
                self.stats.record(event, self.session.session_id)
            return context
        return {}

    # ------------------------------------------------------------------ Qt overrides
    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        for layer in (self.layer_view, self.notice, self.confirm, self.chooser):
            if layer.isVisible():
                layer.setGeometry(self.content.rect())

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        # The guard watches our top-level QWindow, which receives every key, mouse and touch
        # event before any widget, web views included. (An application-wide Python event
        # filter would also see Qt objects still under construction, which PySide cannot wrap.)
        handle = self.windowHandle()
        if handle is not None and not self._guard_installed:
            handle.installEventFilter(self.guard)
            self._guard_installed = True

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._allow_close:
            event.accept()
        else:
            event.ignore()  # Alt+F4, a window manager's close: the kiosk stays


def load_help_centre(directory: Path) -> HelpCentre | None:
    """The help content next to the configuration; without it the help page says so plainly."""
    try:
        centre = HelpCentre.load(directory)
    except (OSError, HelpError) as error:
        log.error("help.unavailable", extra={"error": str(error)[:300]})
        return None
    problems = centre.problems()
    if problems:
        log.warning("help.content_problems", extra={"problems": problems[:10]})
    return centre


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


def wipe_leftover_sessions(session_root: Path) -> None:
    """A shell killed mid-session (power cut, crash) leaves a directory: erase it at start."""
    for leftover in session_root.iterdir():
        remove_session_dir(leftover) if leftover.is_dir() else leftover.unlink(missing_ok=True)
        log.warning("session.leftover_wiped")
