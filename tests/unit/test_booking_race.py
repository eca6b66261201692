"""Twenty bookings of one slot at once, from twenty processes on one real SQLite file (WAL):
two terminals' shells, the website and the console. Exactly one wins."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kiosk.core.mediation.booking import AppointmentBook, Booked, Channel, SlotTaken
from kiosk.core.mediation.contact import Contact
from kiosk.core.mediation.slots import Slot
from kiosk.core.mediation_config import AppointmentSettings, OpeningSettings, PersonSettings
from kiosk.core.ports import ManualClock
from kiosk.core.store import Role, open_store
from sync.vocabulary import Category
from tests.bookingkit import race

pytestmark = [pytest.mark.unit, pytest.mark.appointments]

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 16, 7, 0, tzinfo=UTC)
SETTINGS = AppointmentSettings(persons=(PersonSettings(id="marie", name="Marie Dupont", slot_minutes=30),))
CLIENTS = 20
CHANNELS = (Channel.KIOSK, Channel.WEBSITE, Channel.STAFF)


def _book(db: Path, index: int, slot: Slot, start: Any, results: Any) -> None:
    channel = CHANNELS[index % len(CHANNELS)]
    store = open_store(db, Role.SHELL if channel is Channel.KIOSK else Role.AGENT)
    try:
        book = AppointmentBook(store, SETTINGS, OpeningSettings(), PARIS, ManualClock(NOW))
        contact = Contact.checked(f"Personne {chr(65 + index)}", phone="0612345678")
        start.wait()  # all twenty at once
        outcome = book.book(slot, Category.ARGENT, contact, channel)
        if isinstance(outcome, Booked):
            results.put(("booked", index, outcome.appointment.ref))
        else:
            assert isinstance(outcome, SlotTaken)
            results.put(("taken", index, (outcome.message, slot in outcome.slots, len(outcome.slots))))
    except BaseException as error:  # reported to the test, not lost in a child
        results.put(("error", index, repr(error)))
    finally:
        store.close()


def test_twenty_processes_book_one_slot_and_exactly_one_wins(tmp_path: Path) -> None:
    db = tmp_path / "kiosk.db"
    store = open_store(db)
    book = AppointmentBook(store, SETTINGS, OpeningSettings(), PARIS, ManualClock(NOW))
    book.seed_persons(SETTINGS.persons)
    slots = book.free_slots(Category.ARGENT)
    slot = slots[3]
    answers = race("fork", CLIENTS, _book, lambda i: (db, i, slot))
    assert [a for a in answers if a[0] == "error"] == []
    winners = [a for a in answers if a[0] == "booked"]
    losers = [a for a in answers if a[0] == "taken"]
    assert len(winners) == 1 and len(losers) == CLIENTS - 1
    assert {a[2] for a in losers} == {("Ce créneau vient d'être pris.", False, len(slots) - 1)}
    rows = store.conn.execute("SELECT ref, person_id, start_ms, state FROM appointments").fetchall()
    assert len(rows) == 1 and rows[0][0] == winners[0][2] and rows[0][3] == "booked"
    store.close()
