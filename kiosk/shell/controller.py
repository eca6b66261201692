"""The session controller: the resident's session machine ↔ their browser ↔ the screens ↔
the end-of-session questions ↔ the usage statistics.

It turns session transitions into screens (through the ``KioskView`` protocol), gives each
resident a fresh browser and wipes it, keeps the resident's preferences (zoom, contrast,
language) for their session only, and records what the centre counts. Qt events reach it as
calls of its public methods, from the action table (``actions.py``) and from the browser.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtWebEngineCore import QWebEngineLoadingInfo, QWebEnginePage, QWebEngineUrlSchemeHandler
from PySide6.QtWebEngineWidgets import QWebEngineView

from kiosk.core.devices import PrintOutcome
from kiosk.core.policy import BlockReason, Decision, NavigationPolicy, Permission, Verdict
from kiosk.core.ports import Clock
from kiosk.core.session import EndReason, SessionStateMachine, State, Timings, Transition
from kiosk.core.settings import Config
from kiosk.core.stats.events import (
    DeviceError,
    Event,
    NavigationBlocked,
    PrintJob,
    SessionEnded,
    SessionStarted,
    TileOpened,
)
from kiosk.core.stats.recorder import StatsRecorder
from kiosk.core.store import Store
from kiosk.core.tiles import Tile
from kiosk.i18n import N_, translator
from kiosk.pages.questions import parse_answers
from kiosk.shell.readaloud import ReadAloud
from kiosk.shell.resident_pages import ResidentPages
from kiosk.shell.scanner import ScanDesk
from kiosk.shell.view import KioskView
from kiosk.shell.web.browser import SessionBrowser
from kiosk.shell.web.page import KioskPage
from kiosk.shell.web.scheme import kiosk_url

log = logging.getLogger(__name__)

CRASH_APOLOGY_MS = 1500  # apology on screen, then home: under the 2 s the resident may wait
_ERR_ABORTED = -3  # Chromium net error codes
_ERR_BLOCKED_BY_CLIENT = -20


class SessionController(QObject):
    residentLeft = Signal()  # back to the welcome screen: a quiet moment for housekeeping
    residentArrived = Signal()  # a resident's browser is on screen: the lobby is hidden
    rendererLost = Signal()  # the resident's renderer died (crash, or killed by the watchdog)

    def __init__(
        self,
        view: KioskView,
        config: Config,
        pages: ResidentPages,
        scheme_handler: QWebEngineUrlSchemeHandler,
        read_aloud: ReadAloud,
        *,
        clock: Clock,
        session_root: Path,
        recorder: StatsRecorder,
        store: Store | None = None,
        welcome_shown: bool = False,
    ) -> None:
        super().__init__()
        self.view = view
        self.config = config
        self.pages = pages
        self.read_aloud = read_aloud
        self.clock = clock
        self.session_root = session_root
        self.stats = recorder
        self.store = store
        self.browser: SessionBrowser | None = None
        self.scanning: ScanDesk | None = None  # set by the assembly
        self._scheme_handler = scheme_handler
        self._zoom_level = 0
        self._asking = False
        self._questions_timer = QTimer(self)
        self._questions_timer.setSingleShot(True)
        self._questions_timer.timeout.connect(self.skip_questions)
        s = config.kiosk.session
        self.session = SessionStateMachine(Timings(s.idle_timeout_s, s.warning_s, s.goodbye_s), clock)
        self.session.subscribe(self._on_transition)
        self._tick = QTimer(self)
        self._tick.setInterval(250)
        self._tick.timeout.connect(self.session.tick)
        self._tick.start()
        view.set_in_session(False)
        view.set_translator(translator(self.language))
        if not welcome_shown:  # else the first screen shows it already (kiosk.shell.first_screen)
            view.show_lobby("attract")

    def stop(self) -> None:
        """No more ticks, timeouts or signals: the shell is being torn down."""
        self._tick.stop()
        self._questions_timer.stop()
        self.blockSignals(True)

    # ------------------------------------------------------------------ what the resident sees
    @property
    def state(self) -> State:
        return self.session.state

    def session_page(self) -> KioskPage | None:
        return self.browser.page if self.browser else None

    def session_view(self) -> QWebEngineView | None:
        return self.browser.view if self.browser else None

    def current_url(self) -> QUrl:
        return self.visible_page().url()

    def visible_page(self) -> QWebEnginePage:
        """The resident's page when their browser is on screen, else the lobby's."""
        if self.browser is not None and not self.view.showing_lobby():
            return self.browser.page
        return self.view.lobby_page()

    # ------------------------------------------------------------------ the resident's requests
    def activity(self) -> None:
        self.session.activity()

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
        self.record(TileOpened, tile=tile.id, category=tile.category)
        self.view.show_session()
        self.browser.page.setUrl(QUrl(tile.url))

    def go_home(self) -> None:
        self.open_page("home", clear_history=True)

    def open_page(self, page: str, query: Mapping[str, str] | None = None, *, clear_history: bool = False) -> None:
        """One of our pages in the resident's browser (starting a session if none is open)."""
        self.session.start()
        if self.browser is None:
            return
        self.browser.set_tile(None, NavigationPolicy.internal_only())
        self.view.show_session()
        self._load_internal(page, query, clear_history=clear_history)

    def go_back(self) -> None:
        if self.view.pdf_shown():
            self.view.close_pdf()
            return
        if self.browser is None:
            return
        if self.browser.page.history().canGoBack():
            self.browser.page.triggerAction(QWebEnginePage.WebAction.Back)
        else:
            self.go_home()

    # ------------------------------------------------------------------ preferences, this resident only
    @property
    def zoom_level(self) -> int:
        return self._zoom_level

    @property
    def zoom_factor(self) -> float:
        return self.config.kiosk.shell.zoom_levels[self._zoom_level]

    def cycle_zoom(self) -> None:
        self._zoom_level = (self._zoom_level + 1) % len(self.config.kiosk.shell.zoom_levels)
        self.view.set_zoom(self.zoom_factor, self._zoom_level)

    @property
    def language(self) -> str:
        return self.pages.language

    def translate(self, message: str) -> str:
        """A message id in the resident's language (for the few words Qt shows itself)."""
        return translator(self.language)(message)

    def set_language(self, code: str) -> None:
        """This resident's language (one the centre offers; anything else is the default)."""
        before = self.language
        if self.pages.set_language(code) == before:
            return
        log.info("language.changed", extra={"language": self.language})
        self.view.set_translator(translator(self.language))
        self.read_aloud.stop()
        self.view.reload_kiosk_pages()

    @property
    def high_contrast(self) -> bool:
        return self.pages.high_contrast

    def set_high_contrast(self, on: bool) -> None:
        """High-contrast kiosk pages for this resident (back to normal at the next session)."""
        self.pages.high_contrast = on
        self.session.activity()
        self.view.reload_kiosk_pages()

    def read_page_aloud(self) -> None:
        """Speak the visible kiosk page (never a third-party site)."""
        self.session.activity()
        page = self.view.visible_kiosk_page()
        if page is not None:
            self.read_aloud.read_page(page, self.language)

    # ------------------------------------------------------------------ end-of-session questions
    @property
    def asking_questions(self) -> bool:
        return self._asking

    def answer_questions(self, answers: dict[str, str]) -> None:
        """Record the end (with any answers) and move on to the goodbye screen."""
        if self.session.state is not State.ENDING:
            return
        self._questions_timer.stop()
        self._asking = False
        reason = self.session.end_reason or EndReason.BUTTON
        fields: dict[str, object] = {"duration_s": self.session.session_duration(), "reason": reason.value}
        fields.update(parse_answers(answers))
        self.record(SessionEnded, **fields)
        self.session.wiped()

    def skip_questions(self) -> None:
        self.answer_questions({})

    def question_answered(self) -> None:
        """A tap on an answer: give the resident time for the next question."""
        if self._asking:
            self._questions_timer.start()

    # ------------------------------------------------------------------ PageHost, for the resident's page
    def current_policy(self) -> NavigationPolicy:
        return self.browser.policy if self.browser else NavigationPolicy.internal_only()

    def granted_permissions(self) -> frozenset[Permission]:
        tile = self.browser.tile if self.browser else None
        return frozenset(tile.permissions) if tile else frozenset()

    def choose_documents(self, multiple: bool, accepted_mime_types: Sequence[str]) -> list[str]:
        documents = self.browser.documents() if self.browser else []
        if self.browser is not None and self.scanning is not None:  # scans the site accepts, and a scan button
            documents = self.scanning.offer(self.browser.dir, accepted_mime_types, documents, multiple=multiple)
        log.info("file_chooser.shown", extra={"documents": len(documents)})
        return self.view.choose_documents(documents)

    def show_notice(self, text: str) -> None:
        self.view.show_notice(text)

    def ask_confirmation(self, text: str) -> bool:
        return self.view.ask_confirmation(text)

    # ------------------------------------------------------------------ statistics
    def record(self, event_type: type[Event], **fields: object) -> None:
        """One usage event; a bad field is a bug to log, never a reason to disturb the screen."""
        try:
            event = event_type(**fields)
        except ValueError:
            log.exception("stats.invalid_event", extra={"kind": event_type.kind})
            return
        self.stats.record(event, self.session.session_id)

    def record_printed(self, pages: int) -> None:
        self.record(PrintJob, pages=max(1, pages), status=PrintOutcome.PRINTED)

    def record_print_held(self, pages: int) -> None:
        self.record(PrintJob, pages=max(1, pages), status=PrintOutcome.HELD)

    def record_print_failed(self, code: str) -> None:
        self.record(DeviceError, device="printer", error=code)

    def _on_page_visited(self, page: str, params: dict[str, str]) -> None:
        event = self.pages.visit(page, params)
        if event is not None:
            self.stats.record(event, self.session.session_id)

    # ------------------------------------------------------------------ session transitions
    def _on_transition(self, t: Transition) -> None:
        log.info("session.transition", extra={"from": str(t.old), "to": str(t.new), "reason": str(t.reason or "")})
        if t.new is State.ACTIVE and t.old is State.ATTRACT:
            self._begin_session()
        elif t.new is State.ACTIVE:
            self.view.hide_layer()
        elif t.new is State.WARNING:
            self.view.show_layer("warning")
        elif t.new is State.ENDING:
            # Out of the caller's stack (a page's signal may have started this).
            QTimer.singleShot(0, self._wipe_session)
        elif t.new is State.WIPED:
            self.view.show_lobby("goodbye")
        elif t.new is State.ATTRACT:
            self.set_language(self.pages.default_language)
            self.view.show_lobby("attract")
            # Between residents, while the welcome screen loads: write what waits, fold the WAL.
            self.stats.flush()
            if self.store is not None:
                self.store.checkpoint()
            self.residentLeft.emit()

    def _begin_session(self) -> None:
        session_id = self.session.session_id or "session"
        browser = SessionBrowser(
            self.session_root / session_id, self._scheme_handler, self, None, translate=self.translate
        )
        self.browser = browser
        page = browser.page
        queued = Qt.ConnectionType.QueuedConnection
        page.navigationBlocked.connect(self._on_blocked, queued)
        page.closeRequested.connect(self.go_home, queued)
        page.certificateRejected.connect(self._on_certificate_rejected, queued)
        page.renderProcessTerminated.connect(self._on_renderer_gone, queued)
        page.loadingChanged.connect(self._on_loading_changed)
        page.pageVisited.connect(self._on_page_visited)
        page.urlChanged.connect(self.read_aloud.stop)
        browser.downloadRefused.connect(self._on_download_refused)
        self.view.attach_session(browser)
        self.view.set_in_session(True)
        log.info("session.started")
        self.record(SessionStarted)
        self.go_home()
        self.residentArrived.emit()

    def _wipe_session(self) -> None:
        if self.view.dismiss_overlays():
            # A page is still inside confirm() or a file chooser on the stack below us: let
            # that call return before its page is destroyed.
            QTimer.singleShot(0, self._wipe_session)
            return
        self.read_aloud.stop()
        self.view.clear_screen()
        browser = self.view.detach_session()
        self.browser = None
        ask = self.session.end_reason is EndReason.BUTTON and self.config.kiosk.stats.questions
        if ask:
            # The lobby's renderer starts on the questions while the profile is destroyed below;
            # the page itself is rendered (and answered) only once this wipe has returned.
            self.view.show_lobby("questions")
        if browser is not None:
            browser.destroy()
        self._zoom_level = 0
        self.view.set_zoom(self.zoom_factor, 0)
        self.pages.high_contrast = False
        self.view.set_in_session(False)
        # The language stays until the goodbye: the questions are asked in the resident's language.
        log.info("session.wiped", extra={"duration_s": round(self.session.session_duration(), 1)})
        if ask:
            # Asked after everything is wiped; one tap skips them, and they go away on their own.
            self._asking = True
            self._questions_timer.start(self.config.kiosk.stats.questions_timeout_s * 1000)
        else:
            self.skip_questions()

    # ------------------------------------------------------------------ what the browser reports
    def _load_internal(self, page: str, query: Mapping[str, str] | None = None, *, clear_history: bool = False) -> None:
        browser = self.browser
        if browser is None:
            return
        if clear_history:

            def clear(_ok: bool) -> None:
                browser.page.loadFinished.disconnect(clear)
                browser.page.history().clear()

            browser.page.loadFinished.connect(clear)
        browser.page.setUrl(kiosk_url(page, **(query or {})))

    def _on_download_refused(self) -> None:
        self.view.show_notice(
            self.translate(
                N_(
                    "Ce fichier ne peut pas être ouvert sur la borne. "
                    "Seuls les documents PDF peuvent être ouverts et imprimés."
                )
            )
        )

    def _on_blocked(self, decision: Decision, url: str) -> None:
        if self.browser is None:
            return
        tile = self.browser.tile
        self.record(NavigationBlocked, tile=tile.id if tile else None, domain=decision.site)
        query = {"reason": str(decision.reason or BlockReason.NOT_ALLOWED)}
        if decision.site:
            query["site"] = decision.site
        suggestion = self._tile_allowing(url) if url else None
        if suggestion is not None and suggestion is not tile:
            query["suggest"] = suggestion.id
        self._load_internal("blocked", query)

    def _tile_allowing(self, url: str) -> Tile | None:
        tiles = self.config.tiles
        return next((t for t in tiles.tiles if tiles.policy_for(t).decide(url).verdict is Verdict.ALLOW), None)

    def _on_certificate_rejected(self, host: str) -> None:
        self._load_internal("blocked", {"reason": BlockReason.CERTIFICATE.value, "site": host})

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
        self._load_internal("unreachable", {"site": url.host()})

    def _on_renderer_gone(self, status: QWebEnginePage.RenderProcessTerminationStatus, code: int) -> None:
        if self.browser is None:
            return
        log.error("renderer.terminated", extra={"status": status.name, "code": code})
        self.rendererLost.emit()
        self.view.show_layer("crashed")
        QTimer.singleShot(CRASH_APOLOGY_MS, self._recover_from_crash)

    def _recover_from_crash(self) -> None:
        self.view.hide_layer()
        if self.browser is not None:
            self.go_home()
