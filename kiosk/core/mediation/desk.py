"""The mediator desk of one terminal: what the resident at the screen sees of their call.

The shell asks it, always off its GUI thread, to look (:meth:`MediationDesk.refresh`), to open
a call (:meth:`MediationDesk.open_call`) and to close the session's calls when the resident
leaves (:meth:`MediationDesk.session_ended`); each answer is a :class:`DeskView`, kept as
:attr:`MediationDesk.view` for the page to render without touching the database.

The desk has its own connection to the shared database, opened on first use and used under
one lock, so that a write waiting for the agent's lock (up to ``WRITE_WAIT_S``) never holds up
the shell's own connection. When no mediator can come — the agent (and so the console) is
down, the database cannot be used — the resident is sent to the reception desk, never shown an
error.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

from kiosk.core.devices import TicketPrinter
from kiosk.core.mediation.calls import Call, CallQueue, CallState
from kiosk.core.mediation.closures import opening_with_closures
from kiosk.core.mediation.contact import FIRST_NAME_MAX, ContactError, clean_first_name
from kiosk.core.mediation.hours import OpeningHours, Unavailable, mediator_availability
from kiosk.core.mediation.presence import agent_alive, staff_present
from kiosk.core.mediation.storage import WRITE_WAIT_S, StoreBusy
from kiosk.core.mediation.wording import availability_text, wait_text
from kiosk.core.ports import Clock
from kiosk.core.settings import KioskSettings
from kiosk.core.stats.recorder import StatsRecorder
from kiosk.core.store import Role, Store, StoreError, open_store
from sync.vocabulary import Category

log = logging.getLogger(__name__)

UNKNOWN_CATEGORY = "inconnu"
"""The "Je ne sais pas" answer (stored as no category)."""


class DeskState(StrEnum):
    OFFER = "offer"  # a mediator can be called: the form
    UNAVAILABLE = "unavailable"  # closed, absent, long queue: when the next one is
    RECEPTION = "reception"  # the agent is down or the database unusable: the reception desk
    DISABLED = "disabled"  # no mediator call at this terminal
    WAITING = "waiting"
    TAKEN = "taken"
    DONE = "done"
    CANCELLED = "cancelled"
    MISSED = "missed"


OPEN_VIEWS = frozenset({DeskState.WAITING, DeskState.TAKEN})
FINAL_VIEWS = frozenset({DeskState.DONE, DeskState.CANCELLED, DeskState.MISSED})


@dataclass(frozen=True)
class DeskView:
    """What the mediator page shows (French sentences from :mod:`.wording`)."""

    state: DeskState
    message: str = ""  # why nobody can come now, and when the next one is
    number: int | None = None  # the resident's number of the day
    position: int | None = None  # 1: next to be taken
    wait: str | None = None  # "environ 15 minutes"
    error: str | None = None  # a refused first name, in French
    ticket_failed: bool = False  # a ticket printer is there but did not print the number

    @property
    def call_open(self) -> bool:
        return self.state in OPEN_VIEWS


INITIAL = DeskView(DeskState.RECEPTION)


def parse_call_request(params: Mapping[str, str]) -> tuple[Category | None, str | None]:
    """The category and first name a page sent (untrusted): raises :class:`ContactError`.

    No category, or "Je ne sais pas", is ``None``; anything outside the vocabulary is refused.
    """
    raw = params.get("category", "").strip()
    if raw in ("", UNKNOWN_CATEGORY):
        category = None
    else:
        try:
            category = Category(raw)
        except ValueError:
            raise ContactError("category", "Choisissez une démarche dans la liste.") from None
    name = params.get("first_name", "")
    if len(name) > 4 * FIRST_NAME_MAX:  # refused before any work on it
        raise ContactError("first_name", f"Ce nom est trop long ({FIRST_NAME_MAX} lettres au plus).")
    return category, clean_first_name(name)


class MediationDesk:
    """One per shell; every method but :attr:`view` may wait and runs off the GUI thread."""

    def __init__(
        self,
        db_path: Path | None,
        settings: KioskSettings,
        clock: Clock,
        *,
        recorder: Callable[[Store], StatsRecorder] | None = None,
        ticket_printer: TicketPrinter | None = None,
    ) -> None:
        """``ticket_printer``: the call's number is printed on it (None: the terminal has none)."""
        self.db_path = db_path
        self.settings = settings
        self.clock = clock
        self.view = INITIAL
        self.ticket_printer = ticket_printer
        self._ticket_failed = False  # for the open call: its number did not come out on paper
        self.call_id: int | None = None
        self._caller: str | None = None  # the session the call is for
        self._make_recorder = recorder or (lambda store: StatsRecorder(store, clock))
        self._lock = threading.Lock()
        self._queue: CallQueue | None = None
        self._store: Store | None = None
        self._closed = False
        self.zone = ZoneInfo(settings.centre.timezone)

    # -- the resident ---------------------------------------------------------------------------
    def refresh(self, session: str | None) -> DeskView:
        """Look again for the resident of ``session``: their call, or whether one can be made."""
        with self._lock:
            self._forget_unless(session)
            if self.call_id is not None and self.view.state in FINAL_VIEWS:
                self.call_id = None  # its end was shown: the next look offers a new call
            return self._set(self._look())

    def open_call(self, params: Mapping[str, str], session: str | None) -> DeskView:
        """Queue the resident's call if a mediator can come; never a second call of theirs."""
        with self._lock:
            self._forget_unless(session)
            if self.call_id is not None:
                return self._set(self._look())
            try:
                category, first_name = parse_call_request(params)
            except ContactError as error:
                log.info("mediator.call_refused", extra={"field": error.field})
                return self._set(replace(self._look(), error=error.resident_message))
            view = self._look()
            if view.state is not DeskState.OFFER:
                return self._set(view)
            queue = self._queue
            assert queue is not None  # an offer is made only with the queue open
            try:
                call = queue.open(category, first_name, session)
            except (StoreBusy, sqlite3.Error) as error:
                log.warning("mediator.call_not_opened", extra={"error": str(error)})
                return self._set(DeskView(DeskState.RECEPTION))
            self.call_id, self._caller = call.id, session
            self._ticket_failed = not self._print_ticket(queue, call, session)
            self._flush_stats(queue)
            return self._set(self._look())

    def session_ended(self, session: str | None) -> int:
        """The resident left: their waiting call is missed. Returns the calls closed."""
        with self._lock:
            self._forget_unless(None if session == self._caller else self._caller)
            queue = self._open_queue()
            if queue is None or session is None:
                return 0
            try:
                closed = len(queue.session_ended(session))
                self._flush_stats(queue)
                return closed
            except (StoreBusy, sqlite3.Error) as error:
                log.warning("mediator.missed_not_recorded", extra={"error": str(error)})
                return 0

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._store is not None:
                self._store.close()
                self._store, self._queue = None, None

    # -- internals ----------------------------------------------------------------------------
    def _forget_unless(self, session: str | None) -> None:
        """Nothing of another session's call is shown (the last resident's, whose end is still
        on its way to the database when the next one asks)."""
        if self._caller != session or self.call_id is None:
            self.call_id, self._caller = None, session
            if self.view.call_open or self.view.state in FINAL_VIEWS:
                self.view = INITIAL

    def _print_ticket(self, queue: CallQueue, call: Call, session: str | None) -> bool:
        """The call's number on paper, when the terminal has a ticket printer; False when it has
        one and the ticket did not come out (the screen then says to remember the number)."""
        if self.ticket_printer is None:
            return True
        # Here, on the worker thread: tickets bring the appointments' iCalendar with them.
        from kiosk.core.mediation.tickets import call_ticket, print_ticket

        ticket = call_ticket(call, self.settings.centre.name, self.clock.now(), self.zone)
        return print_ticket(self.ticket_printer, ticket, queue.recorder, session) is None

    @staticmethod
    def _flush_stats(queue: CallQueue, wait_s: float = WRITE_WAIT_S) -> None:
        """The call's events, kept in memory when the shell's other connection held the lock
        (the recorder never waits), written now: this runs off the GUI thread and may wait."""
        recorder = queue.recorder
        deadline = time.monotonic() + wait_s
        while recorder is not None and not recorder.flush() and time.monotonic() < deadline:
            time.sleep(0.05)

    def _set(self, view: DeskView) -> DeskView:
        self.view = view
        return view

    def _open_queue(self) -> CallQueue | None:
        if self._queue is None and self.db_path is not None and not self._closed:
            try:
                self._store = open_store(self.db_path, Role.SHELL, self.settings.stats.durability)
            except StoreError as error:
                log.error("mediator.store_unavailable", extra={"error": str(error)})
                return None
            self._queue = CallQueue(
                self._store, self.settings.mediator, self.zone, self.clock, self._make_recorder(self._store)
            )
        return self._queue

    def _look(self) -> DeskView:
        if not self.settings.mediator.enabled:
            return DeskView(DeskState.DISABLED)
        queue = self._open_queue()
        if queue is None:
            return DeskView(DeskState.RECEPTION)
        try:
            if self.call_id is not None:
                return self._call_view(queue, self.call_id)
            return self._offer(queue)
        except sqlite3.Error as error:
            log.warning("mediator.store_unreadable", extra={"error": str(error)})
            return DeskView(DeskState.RECEPTION)

    def _call_view(self, queue: CallQueue, call_id: int) -> DeskView:
        place = queue.place(call_id)
        state = DeskState(place.call.state.value)
        wait = None if place.estimated_wait_s is None else wait_text(place.estimated_wait_s)
        if place.call.state is not CallState.WAITING:
            return DeskView(state, number=place.call.number, ticket_failed=self._ticket_failed)
        return DeskView(
            state, number=place.call.number, position=place.position, wait=wait, ticket_failed=self._ticket_failed
        )

    def opening_now(self, store: Store) -> OpeningHours:
        """The hours with the closures added in the console (read at each look: one added
        while the shell runs counts at once)."""
        return OpeningHours(opening_with_closures(self.settings.opening, store.conn), self.zone)

    def _offer(self, queue: CallQueue) -> DeskView:
        now = self.clock.now()
        if not agent_alive(queue.store, now):
            return DeskView(DeskState.RECEPTION)
        availability = mediator_availability(
            self.opening_now(queue.store), now, staff_present=staff_present(queue.store), queue_long=queue.is_long()
        )
        if availability.reason is None:
            return DeskView(DeskState.OFFER)
        if availability.reason is Unavailable.DISABLED:
            return DeskView(DeskState.DISABLED)
        return DeskView(DeskState.UNAVAILABLE, availability_text(availability, now, self.zone))
