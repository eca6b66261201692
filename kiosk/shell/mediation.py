"""The resident's mediator call, on the shell's side: the desk asked off the GUI thread, the
call followed by a short poll of its row, the mediator page and the top bar kept current.

The shell and the agent meet in the database (ARCHITECTURE): the console takes and finishes
calls there, and this panel reads the call's row every second while it is open. Nothing here
waits on the GUI thread: every look at the database is an :class:`Operation`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TypeVar

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWebEngineCore import QWebEnginePage

from kiosk.core.mediation.desk import DeskState, DeskView, MediationDesk
from kiosk.core.session import State, Transition
from kiosk.i18n import N_
from kiosk.shell.controller import SessionController
from kiosk.shell.operations import Operation
from kiosk.shell.topbar import TopBar
from kiosk.shell.web.scheme import page_name

log = logging.getLogger(__name__)
T = TypeVar("T")

POLL_MS = 1000
"""How often an open call's row is read: the resident's screen follows the console within 2 s."""

NOTES = {
    DeskState.WAITING: N_("Médiateur : n° %(number)s"),
    DeskState.TAKEN: N_("Un médiateur arrive"),
}
"""The top bar's mediator button while the resident's call is open."""


class MediationPanel(QObject):
    """Carries out ``Action.MEDIATOR`` (the page, with a fresh look) and ``Action.CALL``."""

    def __init__(self, desk: MediationDesk, controller: SessionController, top_bar: TopBar) -> None:
        super().__init__(controller)
        self.desk = desk
        self.controller = controller
        self.top_bar = top_bar
        self.shown = desk.view  # what the page and the top bar show now
        self._opening = False
        self._looking = False
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)
        controller.session.subscribe(self._on_transition)

    # -- the resident's requests ----------------------------------------------------------------
    def show_page(self) -> None:
        """The top bar's "Contacter le médiateur": look at the desk, then show the page (the
        resident's call if they have one: never a second one)."""

        def looked(view: DeskView) -> None:
            if not self._still_here(session):
                return
            self._show(view)
            # The same URL again replaces the page in place: "Continuer ma démarche" stays one step.
            self.controller.open_page("mediator")

        session = self.controller.session.session_id
        self._ask(lambda: self.desk.refresh(session), looked, lambda: self.controller.open_page("mediator"))

    def call(self, params: Mapping[str, str]) -> None:
        """The page's confirm: open the call (checked by the desk), then show where it stands."""
        session = self.controller.session.session_id
        if self._opening or session is None:
            return
        self._opening = True
        asked = dict(params)

        def opened(view: DeskView) -> None:
            self._opening = False
            if not self._still_here(session):  # the resident left meanwhile
                self._ask(lambda: self.desk.session_ended(session), lambda _closed: None)
                return
            self._show(view, reload=True)

        self._ask(lambda: self.desk.open_call(asked, session), opened, lambda: setattr(self, "_opening", False))

    def stop(self) -> None:
        self._timer.stop()

    # -- internals ----------------------------------------------------------------------------
    def _still_here(self, session: str | None) -> bool:
        """The resident who asked is still in their session (its id lives on until the next
        resident's, through the end and the goodbye: an answer then is for nobody)."""
        return self.controller.session.session_id == session and self.controller.state in (State.ACTIVE, State.WARNING)

    def _ask(
        self, call: Callable[[], T], then: Callable[[T], None], failed: Callable[[], object] | None = None
    ) -> None:
        def failure(error: Exception) -> None:
            log.error("mediator.desk_failed", exc_info=error)
            if failed is not None:
                failed()
            self._show(DeskView(DeskState.RECEPTION), reload=True)

        Operation(self, call, name="mediator.desk").success(then).failure(failure).run()

    def _poll(self) -> None:
        if self._looking or self._opening:
            return
        self._looking = True
        session = self.controller.session.session_id

        def looked(view: DeskView) -> None:
            self._looking = False
            # A look taken for the last resident, answered once they left, is not shown.
            if view != self.shown and self._still_here(session):
                self._show(view, reload=True)

        self._ask(lambda: self.desk.refresh(session), looked, lambda: setattr(self, "_looking", False))

    def _show(self, view: DeskView, *, reload: bool = False) -> None:
        changed, self.shown = view != self.shown, view
        note = NOTES.get(view.state)
        self.top_bar.set_mediator_note(note, view.number or 0)
        if view.call_open:
            self._timer.start()
        else:
            self._timer.stop()
        page = self.controller.session_page()
        if reload and changed and page is not None and page_name(page.url()) == "mediator":
            log.info("mediator.page_updated", extra={"state": view.state.value})
            page.triggerAction(QWebEnginePage.WebAction.Reload)

    def _on_transition(self, t: Transition) -> None:
        if t.new is not State.ENDING:
            return
        self._timer.stop()
        self.shown = DeskView(DeskState.RECEPTION)
        self.top_bar.set_mediator_note(None)
        session = t.session_id
        # Off the GUI thread: the wipe never waits for the database.
        self._ask(lambda: self.desk.session_ended(session), lambda _closed: None)
