"""One dispatch table for what the resident asks, from the top bar or from a ``kiosk:`` page.

Each ``Action`` verb maps to the session controller's public method that carries it out; a
verb without an entry here is a bug the tests catch (every verb has a handler).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from kiosk.core.session import EndReason, State
from kiosk.pages.actions import Action
from kiosk.shell.booking import BookingPanel
from kiosk.shell.controller import SessionController
from kiosk.shell.mediation import MediationPanel
from kiosk.shell.scanpanel import ScanPanel

log = logging.getLogger(__name__)

Handler = Callable[[Mapping[str, str]], None]

# While the end-of-session questions are shown, these verbs (the top bar's) skip them.
SKIP_QUESTIONS = frozenset({Action.HOME, Action.BACK, Action.HELP, Action.MEDIATOR, Action.END, Action.SCAN})
# Verbs that are not a touch of the session: the answers, and the goodbye's tap, whose touch
# already brought the welcome screen (a second touch would open a session nobody asked for).
NOT_A_TOUCH = frozenset({Action.ANSWERS, Action.QUESTION, Action.ATTRACT, Action.SETUP})


class ActionTable:
    def __init__(
        self,
        controller: SessionController,
        mediation: MediationPanel | None = None,
        booking: BookingPanel | None = None,
        scanning: ScanPanel | None = None,
    ) -> None:
        c, m, b, s = controller, mediation, booking, scanning
        self._controller = c
        self.booking, self._mediation, self.scanning = booking, mediation, scanning
        self.handlers: dict[Action, Handler] = {
            Action.START: lambda p: c.activity(),
            Action.STAY: lambda p: c.activity(),
            Action.ATTRACT: lambda p: c.activity() if c.state is State.WIPED else None,
            Action.OPEN: lambda p: c.open_tile(p.get("tile", "")),
            Action.HOME: lambda p: c.go_home(),
            Action.BACK: lambda p: c.go_back(),
            Action.HELP: lambda p: c.open_page("help"),
            Action.MEDIATOR: self._mediator,
            Action.CALL: lambda p: m.call(p) if m else c.open_page("mediator"),
            Action.APPOINTMENT: lambda p: b.step(p) if b else c.open_page("appointment"),
            Action.BOOK: lambda p: b.book(p) if b else c.open_page("appointment"),
            Action.ZOOM: lambda p: c.cycle_zoom(),
            Action.END: lambda p: c.end_session(EndReason.BUTTON),
            Action.ANSWERS: lambda p: c.answer_questions(dict(p)),
            Action.QUESTION: lambda p: c.question_answered(),
            Action.READ: lambda p: c.read_page_aloud(),
            Action.CONTRAST: lambda p: c.set_high_contrast(not c.high_contrast),
            Action.LANGUAGE: self._choose_language,
            Action.SCAN: lambda p: s.scan() if s else None,
            # The setup page's form is answered by kiosk.shell.setuppanel, only while it is shown.
            Action.SETUP: lambda p: log.warning("action.setup_not_shown"),
        }

    def dispatch(self, verb: str, params: Mapping[str, str] | None = None) -> None:
        try:
            action = Action(verb)
        except ValueError:
            log.warning("action.unknown", extra={"action": verb[:40]})
            return
        if self._controller.asking_questions and action in SKIP_QUESTIONS:
            self._controller.skip_questions()
            return
        if action not in NOT_A_TOUCH:
            self._controller.activity()
        self.handlers[action](params or {})

    def _mediator(self, params: Mapping[str, str]) -> None:
        if self.booking is not None:
            self.booking.note_demarche()  # before the page: it may offer an appointment for it
        if self._mediation is not None:
            self._mediation.show_page()
        else:
            self._controller.open_page("mediator")

    def _choose_language(self, params: Mapping[str, str]) -> None:
        """The language picker; on the welcome screen the tap also starts the session (at home)."""
        self._controller.set_language(params.get("code", ""))
        self._controller.activity()
