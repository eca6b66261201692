"""The resident's appointment booking, on the shell's side: each step asked of the reservation desk
off the GUI thread, its answer kept as the desk's view and the appointment page shown.

What the resident typed (a name, a phone number or an e-mail) lives only in that view and in
the answer on its way: the view is dropped when the session ends, and an answer that comes back
after the resident left is dropped too. The booked appointment itself is in the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TypeVar

from PySide6.QtCore import QObject

from kiosk.core.mediation.reservation import INITIAL, ReservationDesk, ReservationView, Step
from kiosk.core.session import State, Transition
from kiosk.shell.controller import SessionController
from kiosk.shell.operations import Operation

log = logging.getLogger(__name__)
T = TypeVar("T")
PAGE = "appointment"


class BookingPanel(QObject):
    """Carries out ``Action.APPOINTMENT`` (a step of the page) and ``Action.BOOK`` (confirm)."""

    def __init__(self, desk: ReservationDesk, controller: SessionController) -> None:
        super().__init__(controller)
        self.desk = desk
        self.controller = controller
        self.busy = False  # a step is being asked: a second tap meanwhile is not a second booking
        controller.session.subscribe(self._on_transition)

    def step(self, params: Mapping[str, str]) -> None:
        """The démarches (no ``category``), a démarche's free slots, or the form for a ``slot``."""
        category, slot = params.get("category", ""), params.get("slot", "")
        if not category:
            self._show(INITIAL)
            return
        if slot:
            self._ask(lambda: self.desk.pick(category, slot))
        else:
            self._ask(lambda: self.desk.choose(category))

    def note_demarche(self) -> None:
        """The démarche of the tile the resident is in (if any): the mediator page offers an
        appointment for it in one tap when no mediator can come."""
        browser = self.controller.browser
        tile = browser.tile if browser is not None else None
        if tile is not None:
            self.desk.preselected = tile.category

    def book(self, params: Mapping[str, str]) -> None:
        asked = {key: params.get(key, "") for key in ("category", "slot", "name", "contact")}
        session = self.controller.session.session_id
        self._ask(lambda: self.desk.book(asked, session))

    # -- internals ----------------------------------------------------------------------------
    def _ask(self, call: Callable[[], ReservationView]) -> None:
        session = self.controller.session.session_id
        if self.busy or session is None:
            return
        self.busy = True

        def answered(view: ReservationView) -> None:
            self.busy = False
            if self._still_here(session):
                self._show(view)

        def failed(error: Exception) -> None:
            self.busy = False
            log.error("booking.desk_failed", exc_info=error)
            if self._still_here(session):
                self._show(ReservationView(Step.UNAVAILABLE))

        Operation(self, call, name="booking.desk").success(answered).failure(failed).run()

    def _still_here(self, session: str | None) -> bool:
        return self.controller.session.session_id == session and self.controller.state in (State.ACTIVE, State.WARNING)

    def _show(self, view: ReservationView) -> None:
        self.desk.view = view
        if view.step is Step.CONFIRMED:
            log.info("booking.confirmed_shown", extra={"ticket_failed": view.ticket_failed})
        self.controller.open_page(PAGE)

    def _on_transition(self, t: Transition) -> None:
        if t.new is State.ENDING:
            self.desk.view = INITIAL  # nothing the resident typed outlives the session
            self.desk.preselected = None
