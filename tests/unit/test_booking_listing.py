"""The booking website under load: what it loads before its first visitor, and the list of free
slots it keeps while nothing that changes them happened."""

from __future__ import annotations

import gc
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kiosk.agent.web import create_help_site
from kiosk.core.mediation.booking import AppointmentBook, Booked, Channel
from kiosk.core.mediation.closures import add_closure
from kiosk.core.mediation.contact import Contact
from kiosk.core.mediation.reservation import ReservationDesk, Step, slot_value
from kiosk.core.mediation_config import Closure, PersonSettings
from kiosk.core.ports import ManualClock
from kiosk.core.stats.events import TileOpened
from kiosk.core.stats.recorder import StatsRecorder
from kiosk.core.store import Role, open_store
from sync.vocabulary import Category
from tests.bookingkit import LIFTED, booking_config, seed, slot_links
from tests.unit.test_booking_site import MONDAY_8H

pytestmark = [pytest.mark.unit, pytest.mark.appointments]

SIX_PERSONS = tuple(PersonSettings(id=f"p{i}", name=f"Personne {i}", slot_minutes=15 + 15 * (i % 2)) for i in range(6))


def test_the_website_loads_the_booking_pages_before_its_first_visitor(tmp_path: Path) -> None:
    config = booking_config(tmp_path / "data")
    clock = ManualClock(MONDAY_8H)
    app = create_help_site(config, db_path=seed(config, clock), clock=clock, limits=LIFTED)
    desk: ReservationDesk = app.state.booking_desk
    frozen_before = gc.get_freeze_count()
    with TestClient(app) as web:
        # Started: the connection is open and the slots listed, nobody has asked yet.
        assert desk._book is not None and desk._listed
        assert gc.get_freeze_count() > frozen_before  # what was loaded is out of the full collections
        assert slot_links(web.get("/rendez-vous/creneaux?demarche=logement").text)
    assert gc.get_freeze_count() == 0  # stopped: collected again


class CountedListings:
    """The desk's book with its computations of free slots counted."""

    def __init__(self, desk: ReservationDesk) -> None:
        self.count = 0
        book = desk._open()
        assert book is not None
        compute = book.free_slots

        def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
            self.count += 1
            return compute(*args, **kwargs)

        book.free_slots = counted  # type: ignore[method-assign]


def test_the_slots_are_listed_again_only_when_something_that_moves_them_changed(tmp_path: Path) -> None:
    """Usage events, the agent's beat and a contact purged do not list the slots again, nor does a
    booking by another connection (its slot is taken out of the list kept); an appointment
    cancelled or moved, a person or a closure changed by another connection do."""
    config = booking_config(tmp_path / "data")
    clock = ManualClock(MONDAY_8H)
    db = seed(config, clock)
    desk = ReservationDesk(db, config.kiosk, clock, "website")
    other = open_store(db, Role.SHELL)  # the terminal's own connection, or the console's
    settings = config.kiosk
    book = AppointmentBook(other, settings.appointments, settings.opening, desk.zone, clock)
    listings = CountedListings(desk)
    try:
        first = desk.choose("logement").slots[0]
        assert listings.count == 1
        # The terminal records usage events on its connection: nothing that moves a slot.
        recorder = StatsRecorder(other, clock, boot="test-boot")
        assert recorder.record(TileOpened(tile="caf", category=Category.FAMILLE), session="s1")
        with other.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO agent_status (key, value, updated_ms) VALUES ('agent_beat', '1', 0)")
        assert desk.choose("logement").slots[0] == first and listings.count == 1
        # Another terminal books the first slot: gone from the next page, in the same minute.
        booked = book.book(first, Category.LOGEMENT, Contact("Paul Roy", "+33612345678"), Channel.KIOSK)
        assert isinstance(booked, Booked)
        assert first not in desk.choose("logement").slots and listings.count == 1
        assert desk.pick("logement", slot_value(first)).taken  # the form is refused from the same list
        with other.transaction() as conn:  # its contact wiped, as the purge does: no slot moves
            conn.execute("UPDATE appointments SET name = NULL, phone = NULL, purged = 1")
        assert desk.choose("logement").slots and listings.count == 1
        book.cancel(booked.appointment.ref)  # free again
        assert desk.choose("logement").slots[0] == first and listings.count == 2
        assert desk.pick("logement", slot_value(first)).step is Step.CONTACT
        # The centre closes today from the console: no slot today any more.
        add_closure(other, Closure(start=MONDAY_8H.date()), MONDAY_8H)
        assert all(slot.start.date() != MONDAY_8H.date() for slot in desk.choose("logement").slots)
        assert listings.count == 3
        # The person's settings changed (console): listed again.
        person = book.persons()[0]
        book.save_person(person.model_copy(update={"slot_minutes": 60}))
        later = desk.choose("logement").slots
        assert listings.count == 4 and later[1].start - later[0].start == timedelta(minutes=60)
        # The next minute: listed again (slots start no sooner than ``min_notice`` from now).
        clock.advance(60)
        assert desk.choose("logement").slots and listings.count == 5
    finally:
        other.close()
        desk.close()


def test_bookings_made_anywhere_are_taken_out_of_the_list_kept(tmp_path: Path) -> None:
    """This desk's bookings and another connection's are taken out of the list kept, without
    listing every slot again: the list is the one a fresh desk computes, persons of different
    slot lengths included. A booking refused as taken lists nothing either."""
    config = booking_config(tmp_path / "data", *SIX_PERSONS)
    clock = ManualClock(MONDAY_8H)
    db = seed(config, clock)
    desk = ReservationDesk(db, config.kiosk, clock, "website")
    fresh = ReservationDesk(db, config.kiosk, clock, "website")  # lists each time: a new desk per look
    other = open_store(db, Role.AGENT)
    settings = config.kiosk
    book = AppointmentBook(other, settings.appointments, settings.opening, desk.zone, clock)
    listings = CountedListings(desk)
    contact = {"name": "Marie Curie", "contact": "06 12 34 56 78"}
    try:
        for pick in (0, 0, 3):
            slot = desk.choose("logement").slots[pick]
            assert desk.book({"category": "logement", "slot": slot_value(slot), **contact}).step is Step.CONFIRMED
        assert listings.count == 1
        kept = desk.choose("logement").slots
        fresh._listed.clear()
        assert kept == fresh.choose("logement").slots  # nine o'clock still shown: another person is free then
        assert listings.count == 1
        # Another terminal books between this desk's list and its booking.
        taken = book.book(kept[1], Category.LOGEMENT, Contact("Paul Roy", "+33612345678"), Channel.KIOSK)
        assert isinstance(taken, Booked)
        assert desk.book({"category": "logement", "slot": slot_value(kept[2]), **contact}).step is Step.CONFIRMED
        refused = desk.book({"category": "logement", "slot": slot_value(kept[1]), **contact})
        assert refused.step is Step.SLOTS and refused.taken and kept[1] not in refused.slots
        now = desk.choose("logement").slots
        assert listings.count == 1 and kept[1] not in now and kept[2] not in now
        fresh._listed.clear()
        assert now == fresh.choose("logement").slots
    finally:
        other.close()
        desk.close()
        fresh.close()


def test_a_booking_waits_for_the_disk_whatever_the_statistics_durability(tmp_path: Path) -> None:
    """``[stats] durability = "normal"`` lets a power cut take the last usage events; never a
    booking the resident was told is made: the desk's connection syncs each commit."""
    config = booking_config(tmp_path / "data")
    assert config.kiosk.stats.durability == "normal"
    clock = ManualClock(MONDAY_8H)
    desk = ReservationDesk(seed(config, clock), config.kiosk, clock, "website")
    try:
        assert desk._open() is not None and desk._booking is not None
        assert desk._booking.store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        contact = {"name": "Marie Curie", "contact": "06 12 34 56 78"}
        slot = slot_value(desk.choose("logement").slots[0])
        assert desk.book({"category": "logement", "slot": slot, **contact}).step is Step.CONFIRMED
        # Its usage event is written too (by the reading connection, without a second wait for the disk).
        events = desk._open().store.conn.execute("SELECT kind, data FROM events").fetchall()  # type: ignore[union-attr]
        assert events == [("appointment", '{"action":"booked","category":"logement"}')]
    finally:
        desk.close()


def test_a_booking_from_a_list_kept_is_refused_when_a_closure_came_since(tmp_path: Path) -> None:
    """The booking's transaction trusts the desk's list only for the bookings counted since it:
    a closure added by the console in between makes it check the slot in full, and refuse it."""
    config = booking_config(tmp_path / "data")
    clock = ManualClock(MONDAY_8H)
    db = seed(config, clock)
    desk = ReservationDesk(db, config.kiosk, clock, "website")
    other = open_store(db, Role.AGENT)
    try:
        today = desk.choose("logement").slots[0]
        assert today.start.date() == MONDAY_8H.date()
        add_closure(other, Closure(start=MONDAY_8H.date()), MONDAY_8H)
        contact = {"name": "Marie Curie", "contact": "06 12 34 56 78"}
        refused = desk.book({"category": "logement", "slot": slot_value(today), **contact})
        assert refused.step is Step.SLOTS and refused.taken
        assert all(slot.start.date() != MONDAY_8H.date() for slot in refused.slots)
        assert other.conn.execute("SELECT COUNT(*) FROM appointments").fetchone()[0] == 0
    finally:
        other.close()
        desk.close()
