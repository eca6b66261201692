"""A resident books an appointment: the same steps at the terminal and on the centre's website.

:class:`ReservationDesk` reads a page's untrusted answers (:func:`parse_category`,
:func:`parse_slot`, :func:`parse_contact`), asks the :class:`AppointmentBook` and answers with a
:class:`ReservationView`, what the appointment page shows: the démarches, the free slots, the
contact form (with what was typed, to correct it), or the confirmation. The desk keeps nothing
of a resident: the shell keeps the view of its one resident and forgets it when the session
ends; the website renders each answer and forgets it.

The desk has its own connection to the shared database, opened on first use and used under one
lock: every method may wait (a write waits up to ``WRITE_WAIT_S`` for the other process) and
runs off the shell's GUI thread, or in the website's worker threads.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol
from zoneinfo import ZoneInfo

from kiosk.core.devices import TicketPrinter
from kiosk.core.mediation.contact import NAME_MAX, Contact, ContactError, load_checkers
from kiosk.core.mediation.slots import Slot, one_per_start
from kiosk.core.mediation.storage import StoreBusy, from_ms, slot_changes, takes_overlap, takes_since, to_ms
from kiosk.core.mediation_config import PersonSettings
from kiosk.core.ports import Clock
from kiosk.core.settings import KioskSettings
from kiosk.core.stats.recorder import StatsRecorder
from kiosk.core.store import Durability, Role, Store, StoreError, open_store
from sync.vocabulary import Category

# The booking rules bring icalendar with them (~0.1 s): imported on the worker thread of the
# first step, never while the shell builds its window.
if TYPE_CHECKING:
    from kiosk.core.mediation.booking import Appointment, AppointmentBook

log = logging.getLogger(__name__)

ChannelName = Literal["kiosk", "website"]  # a Channel of the booking rules

CONTACT_MAX = 320  # an e-mail address at most; anything longer is refused before any work on it
CALENDARS_DIR = "calendars"  # under the data directory: where the agent keeps each person's calendar
PICK_A_CATEGORY = "Choisissez une démarche dans la liste."
PICK_A_SLOT = "Choisissez un créneau dans la liste."


class Step(StrEnum):
    CATEGORY = "category"  # which démarche
    SLOTS = "slots"  # the free slots of that démarche
    CONTACT = "contact"  # a name and a phone number or an e-mail
    CONFIRMED = "confirmed"
    UNAVAILABLE = "unavailable"  # no appointment can be booked here now: the reception desk


class Guides(Protocol):
    """The help guide of a démarche: its name and what to bring (its ``prepare`` list)."""

    def guide_for(self, category: Category) -> str | None: ...

    def what_to_bring(self, guide: str | None) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Confirmation:
    """What the confirmation shows and the ticket prints: nothing of the resident's name."""

    ref: str
    appointment: Appointment
    person: PersonSettings
    what_to_bring: tuple[str, ...]


@dataclass(frozen=True)
class ReservationView:
    step: Step
    category: Category | None = None
    slots: tuple[Slot, ...] = ()
    slot: Slot | None = None
    error: str | None = None  # refused input, in French
    error_field: str | None = None
    taken: bool = False  # the slot went to someone else: SLOT_TAKEN_MESSAGE, with the slots now
    values: Mapping[str, str] = field(default_factory=dict)  # what was typed (memory only)
    confirmation: Confirmation | None = None
    ticket_failed: bool = False  # a ticket printer is there and the ticket did not come


INITIAL = ReservationView(Step.CATEGORY)


def slot_value(slot: Slot) -> str:
    """What a page sends back for a slot: ``person|start_ms|end_ms``."""
    return f"{slot.person_id}|{to_ms(slot.start)}|{to_ms(slot.end)}"


def parse_slot(value: str) -> Slot | None:
    person, _, rest = value.partition("|")
    start, _, end = rest.partition("|")
    if not (person and len(value) <= 100 and start.isdigit() and end.isdigit()):
        return None
    start_at, end_at = from_ms(int(start)), from_ms(int(end))
    return None if start_at is None or end_at is None else Slot(start_at, end_at, person)


def parse_category(value: str) -> Category:
    try:
        return Category(value.strip())
    except ValueError:
        raise ContactError("category", PICK_A_CATEGORY) from None


def parse_contact(params: Mapping[str, str]) -> Contact:
    """A name and one field holding a phone number or an e-mail address (an ``@`` says which)."""
    name, reach = params.get("name", ""), params.get("contact", "").strip()
    if len(name) > 4 * NAME_MAX or len(reach) > CONTACT_MAX:  # refused before any work on it
        raise ContactError("name" if len(name) > 4 * NAME_MAX else "contact", "Ce que vous avez écrit est trop long.")
    if not reach:
        Contact.checked(name)  # the name's own problem first, if any
        raise ContactError("contact", "Donnez un numéro de téléphone ou une adresse e-mail pour vous prévenir.")
    try:
        return Contact.checked(name, email=reach) if "@" in reach else Contact.checked(name, phone=reach)
    except ContactError as error:
        field_name = error.field if error.field == "name" else "contact"
        raise ContactError(field_name, error.resident_message) from None


class ReservationDesk:
    """The booking steps of one terminal or of the website (``channel``)."""

    def __init__(
        self,
        db_path: Path | None,
        settings: KioskSettings,
        clock: Clock,
        channel: ChannelName,
        *,
        role: Role = Role.SHELL,
        guides: Guides | None = None,
        ticket_printer: TicketPrinter | None = None,
    ) -> None:
        self.db_path, self.settings, self.clock, self.channel, self.role = db_path, settings, clock, channel, role
        self.guides = guides
        self.ticket_printer = ticket_printer
        self.zone = ZoneInfo(settings.centre.timezone)
        self.view = INITIAL  # the shell's: what its resident's page shows (set on its GUI thread)
        self.preselected: Category | None = None  # the shell's: the démarche of the tile the resident was in
        self._lock = threading.Lock()  # the reading connection's: slots, checks, usage events
        self._store: Store | None = None
        self._book: AppointmentBook | None = None
        # Bookings on a connection of their own, each commit synced to the disk (a resident told
        # "votre rendez-vous est pris" must find it after a power cut, whatever ``[stats]
        # durability`` says): while one waits for the disk, the other visitors' pages do not.
        self._booking_lock = threading.Lock()  # never taken while ``_lock`` is held
        self._booking_store: Store | None = None
        self._booking: AppointmentBook | None = None
        self._closed = False
        self._listed: dict[Category, Listing] = {}  # the free slots kept, by démarche (see ``_listing``)

    @property
    def enabled(self) -> bool:
        return self.settings.appointments.enabled and self.db_path is not None

    @property
    def keep_days(self) -> int:
        return self.settings.appointments.keep_days

    # -- the steps ----------------------------------------------------------------------------
    def choose(self, category: str) -> ReservationView:
        """The free slots of a démarche (one per start time: the resident picks a time)."""
        try:
            chosen = parse_category(category)
        except ContactError as error:
            return ReservationView(Step.CATEGORY, error=error.resident_message, error_field=error.field)
        with self._lock:
            book = self._open()
            if book is None:
                return ReservationView(Step.UNAVAILABLE, chosen)
            try:
                slots = self._listing(book, chosen).shown
            except sqlite3.Error as error:
                log.warning("booking.slots_unreadable", extra={"error": str(error)})
                return ReservationView(Step.UNAVAILABLE, chosen)
        return ReservationView(Step.SLOTS, chosen, slots)

    def pick(self, category: str, slot: str) -> ReservationView:
        """The contact form for a slot still free; the slots now when it is not."""
        picked = parse_slot(slot)
        try:
            chosen = parse_category(category)
        except ContactError:
            return self.choose(category)
        if picked is not None:
            with self._lock:
                book = self._open()
                if book is None:
                    return ReservationView(Step.UNAVAILABLE, chosen)
                try:  # the list kept is the free slots now (booking checks the slot again)
                    if picked in self._listing(book, chosen).free:
                        return ReservationView(Step.CONTACT, chosen, slot=picked)
                except sqlite3.Error as error:
                    log.warning("booking.slots_unreadable", extra={"error": str(error)})
                    return ReservationView(Step.UNAVAILABLE, chosen)
        return replace(self.choose(category), taken=picked is not None)

    def book(self, params: Mapping[str, str], session: str | None = None) -> ReservationView:
        """Book the slot of ``params`` (category, slot, name, contact) for the resident."""
        values = {key: params.get(key, "")[:CONTACT_MAX] for key in ("name", "contact")}
        try:
            category = parse_category(params.get("category", ""))
        except ContactError as error:
            return ReservationView(Step.CATEGORY, error=error.resident_message, error_field=error.field)
        slot = parse_slot(params.get("slot", ""))
        if slot is None:
            return replace_error(self.choose(category), PICK_A_SLOT, "slot")
        try:
            contact = parse_contact(params)
        except ContactError as error:
            log.info("booking.contact_refused", extra={"field": error.field})
            return ReservationView(
                Step.CONTACT, category, slot=slot, error=error.resident_message, error_field=error.field, values=values
            )
        from kiosk.core.mediation.booking import Booked, Channel

        guide = self.guides.guide_for(category) if self.guides is not None else None
        if self._booking is None:
            with self._lock:
                self._open()
        booking = self._booking
        if booking is None:
            return ReservationView(Step.UNAVAILABLE, category)
        # The booking lock is held for the transaction (with its usage event) and the reading
        # back: the bookings wait for the disk in turn, the slots pages do not wait for them.
        # The list kept this minute holds the slot: the transaction checks only what changed since.
        kept, minute = self._listed.get(category), self._minute()
        seen = kept.changes if kept is not None and kept.minute == minute and slot in kept.free else None
        with self._booking_lock:
            try:  # (closed meanwhile: sqlite3.ProgrammingError)
                outcome = booking.book(
                    slot, category, contact, Channel(self.channel), guide=guide, session=session,
                    list_free=False, free_as_of=seen,
                )  # fmt: skip
                confirmation = self._confirmation(booking, outcome.appointment) if isinstance(outcome, Booked) else None
            except (StoreBusy, sqlite3.Error) as error:
                log.warning("booking.not_booked", extra={"error": str(error)})
                return ReservationView(Step.UNAVAILABLE, category)
        if confirmation is None:  # the slots now, from the list kept (not under the booking lock)
            return replace(self.choose(category), taken=True)
        printed = True
        if self.ticket_printer is not None:
            with self._lock:  # its usage events on the reading connection
                book = self._book
                if self._closed or book is None:  # the process is stopping: the appointment is made, the ticket not
                    return ReservationView(Step.CONFIRMED, category, confirmation=confirmation, ticket_failed=True)
                printed = self._print(book, confirmation, session)
                self._flush(book)
        return ReservationView(Step.CONFIRMED, category, confirmation=confirmation, ticket_failed=not printed)

    def confirmation(self, ref: str) -> Confirmation | None:
        """A booked appointment by its reference (the website's confirmation page)."""
        if not ref or len(ref) > 64:
            return None
        with self._lock:
            book = self._open()
            if book is None:
                return None
            try:
                found = book.get(ref)
                return None if found is None else self._confirmation(book, found)
            except sqlite3.Error as error:
                log.warning("booking.unreadable", extra={"error": str(error)})
                return None

    def calendar(self, confirmation: Confirmation) -> bytes:
        """The appointment as an iCalendar event ("Ajouter à mon agenda")."""
        from kiosk.core.mediation.booking import appointment_calendar

        return appointment_calendar(
            confirmation.appointment,
            confirmation.person,
            self.settings.centre.name,
            what_to_bring=", ".join(confirmation.what_to_bring),
            stamp=self.clock.now(),
        )

    def warm(self) -> None:
        """Load now what the first booking would load while its resident waits (a server calls it
        as it starts): the booking rules and the connection, the help guides, the phone numbers'
        data, a first list of slots."""
        if not self.enabled:
            return
        load_checkers()
        if self.guides is not None:
            self.guides.guide_for(next(iter(Category)))
        self.choose(next(iter(Category)).value)

    def close(self) -> None:
        with self._booking_lock, self._lock:
            self._closed = True
            for store in (self._store, self._booking_store):
                if store is not None:
                    store.close()
            self._store, self._book, self._booking_store, self._booking = None, None, None, None

    # -- internals ----------------------------------------------------------------------------
    def _open(self) -> AppointmentBook | None:
        if not self.enabled or self._closed:
            return None
        if self._book is None:
            assert self.db_path is not None
            try:
                store = open_store(self.db_path, self.role, self.settings.stats.durability)
            except StoreError as error:
                log.error("booking.store_unavailable", extra={"error": str(error)})
                return None
            try:
                booking_store = open_store(self.db_path, self.role, Durability.FULL)
            except StoreError as error:
                store.close()
                log.error("booking.store_unavailable", extra={"error": str(error)})
                return None
            from kiosk.core.mediation.booking import AppointmentBook
            from kiosk.core.mediation.ics import CalendarCache

            # The persons' busy times from the calendars the agent fetches (its `calendar_cache`).
            calendars = CalendarCache(self.settings.paths.data_dir / CALENDARS_DIR, self.zone)
            settings, opening = self.settings.appointments, self.settings.opening
            self._store, self._booking_store = store, booking_store
            recorder = StatsRecorder(store, self.clock)
            self._book = AppointmentBook(
                store, settings, opening, self.zone, self.clock, recorder=recorder, busy=calendars.busy
            )
            # It records a booking's usage event in the booking's transaction, stamped by the
            # reading connection's recorder (one clock for this process's events).
            self._booking = AppointmentBook(
                booking_store, settings, opening, self.zone, self.clock, recorder=recorder, busy=calendars.busy
            )
        return self._book

    def _minute(self) -> int:
        """The minute a list of free slots is kept for."""
        return int(self.clock.now().timestamp() // 60)

    def _listing(self, book: AppointmentBook, category: Category) -> Listing:
        """The free slots of a démarche, kept for the minute (``min_notice`` moves on; a person's
        calendar is read again at the next minute) while nothing moved a slot (the database's
        triggers count such changes in ``slot_changes``; usage events and the rest do not). The
        bookings made since, by any process, are taken out of it (``slot_takes``); any other
        change (a cancellation, a person, a closure) lists every slot again. Twenty phones on the
        slots page then cost one computation, not one each, nor one per booking."""
        minute = self._minute()
        changes = slot_changes(book.store.conn)
        kept = self._listed.get(category)
        if kept is not None and kept.minute == minute and kept.changes != changes:
            kept = _without_bookings_since(book, kept, changes)
        if kept is None or kept.minute != minute:
            kept = Listing.of(minute, changes, tuple(book.free_slots(category)))
        self._listed[category] = kept
        return kept

    def _confirmation(self, book: AppointmentBook, appointment: Appointment) -> Confirmation:
        person = next((p for p in book.persons() if p.id == appointment.person_id), None)
        if person is None:  # a person made inactive since: their name is still theirs
            person = PersonSettings(id=appointment.person_id, name=appointment.person_id)
        bring = self.guides.what_to_bring(appointment.guide) if self.guides is not None else ()
        return Confirmation(appointment.ref, appointment, person, bring)

    def _print(self, book: AppointmentBook, confirmation: Confirmation, session: str | None) -> bool:
        """The appointment on paper when the terminal has a ticket printer (False: it did not come)."""
        if self.ticket_printer is None:
            return True
        from kiosk.core.mediation.tickets import appointment_ticket, print_ticket

        ticket = appointment_ticket(
            confirmation.appointment,
            confirmation.person,
            centre=self.settings.centre.name,
            place=self.settings.centre.commune,
            what_to_bring=confirmation.what_to_bring,
            now=self.clock.now(),
            zone=self.zone,
        )
        return print_ticket(self.ticket_printer, ticket, book.recorder, session) is None

    @staticmethod
    def _flush(book: AppointmentBook) -> None:
        if book.recorder is not None:
            book.recorder.flush()


@dataclass(frozen=True)
class Listing:
    """The free slots of a démarche at a minute, as of a count of slot changes."""

    minute: int
    changes: int
    every: tuple[Slot, ...]  # every free slot, by start then person
    shown: tuple[Slot, ...]  # one per start: what the resident picks from
    free: frozenset[Slot]  # every one, to look one up

    @classmethod
    def of(cls, minute: int, changes: int, every: tuple[Slot, ...]) -> Listing:
        return cls(minute, changes, every, tuple(one_per_start(every)), frozenset(every))


def _without_bookings_since(book: AppointmentBook, kept: Listing, changes: int) -> Listing | None:
    """``kept`` without the slots that the bookings counted since overlap, when bookings were
    the only changes since (``None`` otherwise: the slots must be listed again). A booking
    only takes slots: a person's slots are cut from fixed starts, whatever is booked."""
    takes = takes_since(book.store.conn, kept.changes, changes)
    if takes is None:
        return None
    left = tuple(slot for slot in kept.every if not takes_overlap(takes, slot.person_id, slot.start, slot.end))
    return Listing.of(kept.minute, changes, left)


def replace_error(view: ReservationView, error: str, error_field: str) -> ReservationView:
    return replace(view, error=error, error_field=error_field)
