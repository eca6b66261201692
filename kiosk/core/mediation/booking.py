"""Resource persons and their appointments, in the shared database.

Booking is atomic across processes (two terminals, the website, the console): inside one
``BEGIN IMMEDIATE`` transaction the slot is checked against the person's hours, closures, busy
times and the bookings committed so far, then inserted; the unique index
``appointments_one_per_slot`` refuses a second live appointment at the same start even from a
writer that skipped the check. A lost race is :class:`SlotTaken`, with the free slots as they
are now.

Names and contacts stay on the terminal and are wiped ``keep_days`` after the appointment
(:meth:`AppointmentBook.purge`); statistics get a count per démarche category only.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from kiosk.core.mediation.closures import opening_with_closures
from kiosk.core.mediation.contact import Contact
from kiosk.core.mediation.hours import Interval, local_day
from kiosk.core.mediation.ics import appointment_ics
from kiosk.core.mediation.slots import Slot, free_slots, person_slots
from kiosk.core.mediation.storage import from_ms, slot_changes, takes_overlap, takes_since, to_ms, write
from kiosk.core.mediation_config import AppointmentSettings, PersonSettings, WeeklyHours
from kiosk.core.ports import Clock
from kiosk.core.stats.events import Appointment as AppointmentEvent
from kiosk.core.stats.recorder import StatsRecorder
from kiosk.core.store import Store
from sync.vocabulary import Category

log = logging.getLogger(__name__)

SLOT_TAKEN_MESSAGE = "Ce créneau vient d'être pris."
BusyTimes = Callable[[str, Interval], Sequence[Interval]]
"""``(person_id, window) → busy intervals`` (from the person's calendar; see :mod:`.ics`)."""


class AppointmentState(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    ATTENDED = "attended"
    NO_SHOW = "no_show"


class Channel(StrEnum):
    KIOSK = "kiosk"
    WEBSITE = "website"
    STAFF = "staff"


class AppointmentStateError(Exception):
    """No such appointment, or it cannot go to that state (a cancelled one cannot be attended)."""


@dataclass(frozen=True)
class Appointment:
    id: int
    ref: str  # random, unguessable: the iCalendar UID and the cancel link's key
    person_id: str
    category: Category
    start: datetime
    end: datetime
    state: AppointmentState
    channel: Channel
    guide: str | None  # the help guide of the démarche: what to bring
    contact: Contact | None  # None once purged


@dataclass(frozen=True)
class Booked:
    appointment: Appointment


@dataclass(frozen=True)
class SlotTaken:
    """Someone else was faster (or the slot is no longer offered): here are the free ones now."""

    slots: list[Slot]
    message: str = SLOT_TAKEN_MESSAGE


BookingOutcome = Booked | SlotTaken

_COLUMNS = "id, ref, person_id, category, start_ms, end_ms, state, channel, guide, name, phone, email"
_LIVE = "state != 'cancelled'"


def _appointment(row: tuple[object, ...]) -> Appointment:
    i, ref, person, category, start, end, state, channel, guide, name, phone, email = row
    contact = None
    if name is not None:
        contact = Contact(str(name), None if phone is None else str(phone), None if email is None else str(email))
    return Appointment(
        id=int(str(i)),
        ref=str(ref),
        person_id=str(person),
        category=Category(str(category)),
        start=from_ms(int(str(start))) or datetime.min,
        end=from_ms(int(str(end))) or datetime.min,
        state=AppointmentState(str(state)),
        channel=Channel(str(channel)),
        guide=None if guide is None else str(guide),
        contact=contact,
    )


class AppointmentBook:
    """Persons, free slots and bookings of the centre. One per process, each on its own Store."""

    def __init__(
        self,
        store: Store,
        settings: AppointmentSettings,
        opening: WeeklyHours,
        zone: ZoneInfo,
        clock: Clock,
        *,
        recorder: StatsRecorder | None = None,
        busy: BusyTimes | None = None,
    ) -> None:
        self.store, self.settings, self.opening, self.zone, self.clock = store, settings, opening, zone, clock
        self.recorder = recorder
        self.busy = busy
        self._persons_seen: tuple[tuple[str, ...], tuple[PersonSettings, ...]] = ((), ())

    # -- persons ------------------------------------------------------------------------------
    def seed_persons(self, persons: Sequence[PersonSettings]) -> None:
        """Make the persons of the configuration those in the database: added, updated, and
        set inactive when gone from the file. Persons the console created are left alone."""
        now_ms = to_ms(self.clock.now())

        def seed(conn: sqlite3.Connection) -> None:
            for person in persons:
                conn.execute(
                    "INSERT INTO resource_persons (id, settings, source, active, updated_ms) "
                    "VALUES (?, ?, 'config', 1, ?) ON CONFLICT (id) DO UPDATE SET settings = excluded.settings, "
                    "active = 1, updated_ms = excluded.updated_ms WHERE resource_persons.source = 'config'",
                    (person.id, person.model_dump_json(), now_ms),
                )
            ids = [person.id for person in persons]
            conn.execute(
                f"UPDATE resource_persons SET active = 0, updated_ms = ? WHERE source = 'config' "
                f"AND id NOT IN ({', '.join('?' for _ in ids)})",
                (now_ms, *ids),
            )

        write(self.store, seed)

    def save_person(self, person: PersonSettings, *, active: bool = True) -> None:
        """Add or change a person from the console (the configuration no longer overrides it)."""
        now_ms = to_ms(self.clock.now())
        write(
            self.store,
            lambda conn: conn.execute(
                "INSERT INTO resource_persons (id, settings, source, active, updated_ms) "
                "VALUES (?, ?, 'console', ?, ?) ON CONFLICT (id) DO UPDATE SET settings = excluded.settings, "
                "source = 'console', active = excluded.active, updated_ms = excluded.updated_ms",
                (person.id, person.model_dump_json(), int(active), now_ms),
            ),
        )

    def persons(self, conn: sqlite3.Connection | None = None) -> list[PersonSettings]:
        """The active persons, by id."""
        query = "SELECT settings FROM resource_persons WHERE active = 1 ORDER BY id"
        rows = tuple(row[0] for row in (conn or self.store.conn).execute(query).fetchall())
        seen_rows, persons = self._persons_seen
        if rows != seen_rows:  # read again only when changed: each slot check asks, under the write lock
            persons = tuple(PersonSettings.model_validate_json(row) for row in rows)
            self._persons_seen = (rows, persons)
        return list(persons)

    def person(self, person_id: str) -> PersonSettings | None:
        return next((p for p in self.persons() if p.id == person_id), None)

    # -- slots --------------------------------------------------------------------------------
    def window(self, now: datetime | None = None) -> Interval:
        """From now to the end of the last day offered (a day more: the zone's longest day)."""
        now = now or self.clock.now()
        return Interval(now, now + timedelta(days=self.settings.horizon_days + 1))

    def _blocked(
        self, conn: sqlite3.Connection, person_id: str, window: Interval, *, except_ref: str = ""
    ) -> list[Interval]:
        rows = conn.execute(
            f"SELECT start_ms, end_ms FROM appointments "
            f"WHERE person_id = ? AND {_LIVE} AND end_ms > ? AND start_ms < ? AND ref != ?",
            (person_id, to_ms(window.start), to_ms(window.end), except_ref),
        ).fetchall()
        booked = [Interval(from_ms(s) or window.start, from_ms(e) or window.start) for s, e in rows]
        busy = list(self.busy(person_id, window)) if self.busy is not None else []
        return booked + busy

    def free_slots(self, category: Category, conn: sqlite3.Connection | None = None) -> list[Slot]:
        """The free slots for ``category``, from ``now + min_notice`` over ``horizon_days`` days."""
        conn = conn or self.store.conn
        now = self.clock.now()
        persons = self.persons(conn)
        window = self.window(now)
        blocked = {p.id: self._blocked(conn, p.id, window) for p in persons if p.handles(category)}
        return free_slots(
            persons,
            opening_with_closures(self.opening, conn),
            self.zone,
            now,
            category,
            blocked=blocked,
            horizon_days=self.settings.horizon_days,
            min_notice=timedelta(minutes=self.settings.min_notice_min),
        )

    def _offered(
        self, conn: sqlite3.Connection, slot: Slot, category: Category, now: datetime, *, except_ref: str = ""
    ) -> bool:
        """``slot`` is one of its person's free slots for ``category`` (only its day is computed)."""
        person = next((p for p in self.persons(conn) if p.id == slot.person_id), None)
        if person is None or not person.handles(category):
            return False
        offered = person_slots(
            person,
            opening_with_closures(self.opening, conn),
            self.zone,
            now,
            blocked=self._blocked(conn, person.id, self.window(now), except_ref=except_ref),
            horizon_days=self.settings.horizon_days,
            min_notice=timedelta(minutes=self.settings.min_notice_min),
            only_day=local_day(slot.start, self.zone),
        )
        return slot in offered

    def _still_free(self, conn: sqlite3.Connection, slot: Slot, seen: int, now: datetime) -> bool:
        """``slot``, free at change ``seen``, still is: not too soon now, and no change since but
        bookings of other times."""
        if slot.start < now + timedelta(minutes=self.settings.min_notice_min):
            return False
        takes = takes_since(conn, seen, slot_changes(conn))
        return takes is not None and not takes_overlap(takes, slot.person_id, slot.start, slot.end)

    # -- booking ------------------------------------------------------------------------------
    def book(
        self,
        slot: Slot,
        category: Category,
        contact: Contact,
        channel: Channel,
        *,
        guide: str | None = None,
        session: str | None = None,
        list_free: bool = True,
        free_as_of: int | None = None,
    ) -> BookingOutcome:
        """Book ``slot`` if it is still free; otherwise :class:`SlotTaken` with the free slots now
        (none with ``list_free=False``: a caller that keeps its own list of them).

        ``free_as_of``: the caller's list of free slots for ``category``, made this minute when
        the database had counted that many slot changes, holds ``slot``. The transaction then
        checks only that no change counted since can have taken it (a booking of another time
        does not), instead of working out the person's day again (see ``storage.takes_since``).

        ``contact`` comes checked (:meth:`Contact.checked`). May raise :class:`StoreBusy`.
        """
        now = self.clock.now()
        ref = secrets.token_urlsafe(12)

        def attempt(conn: sqlite3.Connection) -> int | None:
            seen_free = free_as_of is not None and self._still_free(conn, slot, free_as_of, now)
            if not seen_free and not self._offered(conn, slot, category, now):
                return None
            cursor = conn.execute(
                "INSERT INTO appointments (ref, person_id, category, start_ms, end_ms, state, channel, guide, "
                "name, phone, email, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, 'booked', ?, ?, ?, ?, ?, ?, ?)",
                (ref, slot.person_id, category, to_ms(slot.start), to_ms(slot.end), channel, guide,
                 contact.name, contact.phone, contact.email, to_ms(now), to_ms(now)),
            )  # fmt: skip
            if self.recorder is not None:  # counted with the booking, in its transaction
                self.recorder.record_in(conn, AppointmentEvent(action="booked", category=category), session)
            return int(cursor.lastrowid or 0)

        try:
            booked = write(self.store, attempt)
        except sqlite3.IntegrityError:
            booked = None  # the unique index: another writer got there first
        if booked is None:
            log.info("appointments.slot_taken", extra={"person": slot.person_id, "start": slot.start.isoformat()})
            return SlotTaken(self.free_slots(category) if list_free else [])
        appointment = self._get("ref = ?", ref)
        log.info("appointments.booked", extra={"appointment": appointment.id, "channel": channel.value})
        return Booked(appointment)

    def move(self, ref: str, slot: Slot) -> BookingOutcome:
        """Move a booked appointment to ``slot`` in one transaction: if the slot is not free
        (checked as :meth:`book` does, the appointment's own time not counted), nothing changes
        and the answer is :class:`SlotTaken`. Raises :class:`AppointmentStateError` when the
        appointment is not booked."""
        current = self._get("ref = ?", ref)
        if current.state is not AppointmentState.BOOKED:
            raise AppointmentStateError(f"appointment {current.id} is {current.state}, not booked")
        now = self.clock.now()

        def attempt(conn: sqlite3.Connection) -> bool:
            if not self._offered(conn, slot, current.category, now, except_ref=ref):
                return False
            changed = conn.execute(
                "UPDATE appointments SET person_id = ?, start_ms = ?, end_ms = ?, updated_ms = ? "
                "WHERE ref = ? AND state = 'booked'",
                (slot.person_id, to_ms(slot.start), to_ms(slot.end), to_ms(now), ref),
            ).rowcount
            return bool(changed)

        try:
            moved = write(self.store, attempt)
        except sqlite3.IntegrityError:
            moved = False  # the unique index: another writer got there first; the transaction rolled back
        if not moved:
            log.info("appointments.move_refused", extra={"appointment": current.id})
            return SlotTaken(self.free_slots(current.category))
        log.info("appointments.moved", extra={"appointment": current.id})
        return Booked(self._get("ref = ?", ref))

    def cancel(self, ref: str) -> Appointment:
        appointment = self._move(ref, (AppointmentState.BOOKED,), AppointmentState.CANCELLED)
        self._record("cancelled", appointment.category, None)
        return appointment

    def mark(self, ref: str, state: Literal[AppointmentState.ATTENDED, AppointmentState.NO_SHOW]) -> Appointment:
        """Attended or no-show (either may be corrected into the other)."""
        sources = (AppointmentState.BOOKED, AppointmentState.ATTENDED, AppointmentState.NO_SHOW)
        return self._move(ref, sources, state)

    def get(self, ref: str) -> Appointment | None:
        try:
            return self._get("ref = ?", ref)
        except AppointmentStateError:
            return None

    def between(self, start: datetime, end: datetime) -> list[Appointment]:
        """Appointments starting in ``[start, end)``, cancelled ones included (the console's views)."""
        rows = self.store.conn.execute(
            f"SELECT {_COLUMNS} FROM appointments WHERE start_ms >= ? AND start_ms < ? ORDER BY start_ms, person_id",
            (to_ms(start), to_ms(end)),
        ).fetchall()
        return [_appointment(row) for row in rows]

    def purge(self) -> int:
        """Wipe names and contacts of appointments that ended more than ``keep_days`` ago."""
        limit = to_ms(self.clock.now() - timedelta(days=self.settings.keep_days))
        wiped = write(
            self.store,
            lambda conn: (
                conn.execute(
                    "UPDATE appointments SET name = NULL, phone = NULL, email = NULL, purged = 1 "
                    "WHERE purged = 0 AND end_ms < ?",
                    (limit,),
                ).rowcount
            ),
        )
        if wiped:
            log.info("appointments.contacts_purged", extra={"count": wiped})
        return int(wiped)

    # -- internals ----------------------------------------------------------------------------
    def _get(self, where: str, value: object) -> Appointment:
        row = self.store.conn.execute(f"SELECT {_COLUMNS} FROM appointments WHERE {where}", (value,)).fetchone()
        if row is None:
            raise AppointmentStateError("no such appointment")
        return _appointment(row)

    def _move(self, ref: str, sources: tuple[AppointmentState, ...], target: AppointmentState) -> Appointment:
        now_ms = to_ms(self.clock.now())
        marks = ", ".join("?" for _ in sources)
        changed = write(
            self.store,
            lambda conn: (
                conn.execute(
                    f"UPDATE appointments SET state = ?, updated_ms = ? WHERE ref = ? AND state IN ({marks})",
                    (target, now_ms, ref, *sources),
                ).rowcount
            ),
        )
        appointment = self._get("ref = ?", ref)
        if not changed:
            raise AppointmentStateError(f"appointment {appointment.id} is {appointment.state}, not {'/'.join(sources)}")
        log.info("appointments." + target.value, extra={"appointment": appointment.id})
        return appointment

    def _record(self, action: Literal["booked", "cancelled"], category: Category, session: str | None) -> None:
        if self.recorder is not None:
            self.recorder.record(AppointmentEvent(action=action, category=category), session=session)


def appointment_calendar(
    appointment: Appointment, person: PersonSettings, centre: str, *, what_to_bring: str = "", stamp: datetime
) -> bytes:
    """The appointment as an iCalendar event (the ticket's QR code, the confirmation e-mail).
    Nothing of the resident's name or contact goes in."""
    place = ", ".join(part for part in (centre, person.place) if part)
    description = f"Pensez à apporter : {what_to_bring}" if what_to_bring else ""
    return appointment_ics(
        uid=appointment.ref,
        start=appointment.start,
        end=appointment.end,
        summary=f"Rendez-vous avec {person.name} – {appointment.category.label}",
        location=place,
        description=description,
        stamp=stamp,
    )
