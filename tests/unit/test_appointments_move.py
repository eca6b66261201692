"""Moving an appointment (the console's "Déplacer"): one transaction, never losing it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.core.mediation.booking import (
    AppointmentBook,
    AppointmentState,
    AppointmentStateError,
    Booked,
    Channel,
    SlotTaken,
)
from kiosk.core.mediation.contact import Contact
from kiosk.core.mediation.slots import Slot
from kiosk.core.mediation_config import AppointmentSettings, OpeningSettings, PersonSettings
from kiosk.core.ports import ManualClock
from kiosk.core.store import Role, open_store
from sync.vocabulary import Category

pytestmark = [pytest.mark.unit, pytest.mark.appointments]
PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # Monday 8:00 in Paris
MARIE = PersonSettings(id="marie", name="Marie", categories=(Category.ARGENT,), slot_minutes=30)
KARIM = PersonSettings(id="karim", name="Karim", slot_minutes=60)


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


@pytest.fixture
def book(tmp_path: Path) -> AppointmentBook:
    store = open_store(tmp_path / "kiosk.db", Role.AGENT)
    made = AppointmentBook(store, AppointmentSettings(), OpeningSettings(), PARIS, ManualClock(NOW))
    made.seed_persons([MARIE, KARIM])
    return made


def booked(book: AppointmentBook, slot: Slot, name: str) -> str:
    outcome = book.book(slot, Category.ARGENT, Contact.checked(name, "0612345678"), Channel.KIOSK)
    assert isinstance(outcome, Booked)
    return outcome.appointment.ref


def test_a_move_to_a_free_slot_changes_time_and_person_and_frees_the_old_one(book: AppointmentBook) -> None:
    old = Slot(paris(1, 9), paris(1, 9, 30), "marie")
    ref = booked(book, old, "Amina Diallo")
    target = Slot(paris(2, 14), paris(2, 15), "karim")  # another person who handles it
    outcome = book.move(ref, target)
    assert isinstance(outcome, Booked)
    moved = outcome.appointment
    assert (moved.start, moved.end, moved.person_id, moved.state) == (target.start, target.end, "karim", "booked")
    assert moved.contact == Contact("Amina Diallo", "+33612345678") and moved.ref == ref
    assert old in book.free_slots(Category.ARGENT) and target not in book.free_slots(Category.ARGENT)


def test_a_move_to_a_taken_or_unoffered_slot_changes_nothing(book: AppointmentBook) -> None:
    ref = booked(book, Slot(paris(1, 9), paris(1, 9, 30), "marie"), "Amina Diallo")
    taken = Slot(paris(1, 10), paris(1, 10, 30), "marie")
    other = booked(book, taken, "Jean Petit")
    before = book.get(ref)
    for target in (
        taken,  # someone else's
        Slot(paris(1, 10, 15), paris(1, 10, 45), "marie"),  # no slot there
        Slot(paris(5, 10), paris(5, 10, 30), "marie"),  # a Saturday: closed
        Slot(paris(1, 14), paris(1, 14, 30), "nobody"),  # no such person
    ):
        outcome = book.move(ref, target)
        assert isinstance(outcome, SlotTaken) and target not in outcome.slots
        assert outcome.message == "Ce créneau vient d'être pris."
        assert book.get(ref) == before
    assert book.get(other) is not None and book.get(other).state is AppointmentState.BOOKED  # type: ignore[union-attr]


def test_its_own_time_does_not_block_a_move_and_only_a_booked_one_moves(book: AppointmentBook) -> None:
    ref = booked(book, Slot(paris(1, 9, 30), paris(1, 10), "marie"), "Amina Diallo")
    # Marie's slots grow to an hour: 9:00–10:00 overlaps only this very appointment.
    book.save_person(MARIE.model_copy(update={"slot_minutes": 60}))
    outcome = book.move(ref, Slot(paris(1, 9), paris(1, 10), "marie"))
    assert isinstance(outcome, Booked) and outcome.appointment.start == paris(1, 9)
    book.cancel(ref)
    with pytest.raises(AppointmentStateError):
        book.move(ref, Slot(paris(1, 11), paris(1, 12), "marie"))
    with pytest.raises(AppointmentStateError):
        book.move("unknown", Slot(paris(1, 11), paris(1, 12), "marie"))
