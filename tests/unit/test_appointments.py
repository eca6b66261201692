"""Appointments: contacts, free slots (DST, closures, busy times), atomic booking, purge."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.core.mediation.booking import (
    AppointmentBook,
    AppointmentState,
    AppointmentStateError,
    Booked,
    Channel,
    SlotTaken,
    appointment_calendar,
)
from kiosk.core.mediation.contact import Contact, ContactError, phone_display
from kiosk.core.mediation.hours import Interval, day_intervals
from kiosk.core.mediation.slots import Slot, free_slots, one_per_start, person_slots
from kiosk.core.mediation_config import AppointmentSettings, Closure, OpeningSettings, PersonSettings
from kiosk.core.ports import ManualClock
from kiosk.core.stats.recorder import StatsRecorder
from kiosk.core.store import Role, open_store
from sync.vocabulary import Category

pytestmark = [pytest.mark.unit, pytest.mark.appointments]

PARIS = ZoneInfo("Europe/Paris")
CENTRE = OpeningSettings()  # Monday–Friday 9–12, 14–17


def paris(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


MARIE = PersonSettings(
    id="marie",
    name="Marie Dupont",
    categories=(Category.ARGENT, Category.PAPIERS),
    slot_minutes=30,
    tuesday=["09:00-12:00"],  # type: ignore[list-item]
    thursday=["14:00-17:00"],  # type: ignore[list-item]
    place="Bureau 2",
)
KARIM = PersonSettings(id="karim", name="Karim Benali", slot_minutes=45)  # every démarche, the centre's hours


# -- contacts --------------------------------------------------------------------------------


def test_contacts_are_checked_and_tidied() -> None:
    contact = Contact.checked("  Jeanne   Martin ", phone="06 12 34 56 78")
    assert contact == Contact("Jeanne Martin", "+33612345678", None)
    assert phone_display("+33612345678") == "06 12 34 56 78"
    assert Contact.checked("Ana", email=" Ana@Exemple.FR ").email == "Ana@exemple.fr"
    assert Contact.checked("Ana", phone="+32 470 12 34 56").phone == "+32470123456"


@pytest.mark.parametrize(
    ("name", "phone", "email", "field"),
    [
        ("", "0612345678", None, "name"),
        ("Jeanne", None, None, "phone"),
        ("Jeanne", "06 12 34", None, "phone"),
        ("Jeanne", None, "jeanne@", "email"),
        ("Jeanne 2", "0612345678", None, "name"),
    ],
)
def test_bad_contacts_are_refused_in_french(name: str, phone: str | None, email: str | None, field: str) -> None:
    with pytest.raises(ContactError) as caught:
        Contact.checked(name, phone=phone, email=email)
    assert caught.value.field == field and caught.value.resident_message[0].isupper()


# -- free slots ------------------------------------------------------------------------------


def test_a_persons_slots_are_their_hours_within_the_centres() -> None:
    now = paris(2026, 11, 16, 8)  # Monday
    slots = person_slots(MARIE, CENTRE, PARIS, now, horizon_days=7)
    starts = [s.start.astimezone(PARIS) for s in slots]
    assert {s.date() for s in starts} == {date(2026, 11, 17), date(2026, 11, 19)}
    assert [s.time() for s in starts if s.day == 17] == [
        time(9),
        time(9, 30),
        time(10),
        time(10, 30),
        time(11),
        time(11, 30),
    ]
    assert all(s.end - s.start == timedelta(minutes=30) for s in slots)
    karim = person_slots(KARIM, CENTRE, PARIS, now, horizon_days=1)
    assert [s.start.astimezone(PARIS).strftime("%H:%M") for s in karim] == [
        "09:00", "09:45", "10:30", "11:15", "14:00", "14:45", "15:30", "16:15"
    ]  # fmt: skip


def test_no_slot_in_the_past_or_within_the_notice() -> None:
    now = paris(2026, 11, 17, 10, 10)
    slots = person_slots(MARIE, CENTRE, PARIS, now, horizon_days=1, min_notice=timedelta(minutes=60))
    assert [s.start.astimezone(PARIS).time() for s in slots] == [time(11, 30)]


def test_closures_of_the_centre_and_of_the_person_remove_their_days() -> None:
    centre = OpeningSettings(closures=[Closure(start=date(2026, 11, 17))])
    marie = MARIE.model_copy(update={"closures": (Closure(start=date(2026, 11, 19), end=date(2026, 11, 20)),)})
    now = paris(2026, 11, 16, 8)
    assert person_slots(MARIE, centre, PARIS, now, horizon_days=4)[0].start.date() == date(2026, 11, 19)
    assert person_slots(marie, CENTRE, PARIS, now, horizon_days=4)[0].start.date() == date(2026, 11, 17)
    assert person_slots(marie, centre, PARIS, now, horizon_days=4) == []


def test_only_persons_handling_the_category_and_fourteen_days_are_offered() -> None:
    now = paris(2026, 11, 16, 8)
    logement = free_slots([MARIE, KARIM], CENTRE, PARIS, now, Category.LOGEMENT, blocked={})
    assert {s.person_id for s in logement} == {"karim"}
    assert max(s.start for s in logement).astimezone(PARIS).date() == date(2026, 11, 27)  # Friday of the 2nd week
    argent = free_slots([MARIE, KARIM], CENTRE, PARIS, now, Category.ARGENT, blocked={})
    assert {s.person_id for s in argent} == {"marie", "karim"}
    assert len(one_per_start(argent)) < len(argent)  # 9:00 on Tuesday twice: one button
    assert argent == sorted(argent)


def test_dst_weeks_keep_wall_clock_slots() -> None:
    """The week of the last Sunday of March and of October: 9 h stays 9 h for residents."""
    for monday in (date(2026, 3, 23), date(2026, 10, 19)):
        now = datetime.combine(monday, time(6), tzinfo=PARIS).astimezone(UTC)
        slots = person_slots(KARIM, CENTRE, PARIS, now, horizon_days=14)
        firsts = {s.start.astimezone(PARIS).date(): s.start.astimezone(PARIS).time() for s in reversed(slots)}
        assert set(firsts.values()) == {time(9)} and len(firsts) == 10
        assert {s.end - s.start for s in slots} == {timedelta(minutes=45)}
        offsets = {s.start.astimezone(PARIS).utcoffset() for s in slots}
        assert offsets == {timedelta(hours=1), timedelta(hours=2)}


def test_a_night_range_across_the_change_holds_the_slots_that_really_fit() -> None:
    night = PersonSettings(id="nuit", name="Veille", slot_minutes=60)
    centre = OpeningSettings(sunday=["01:00-04:00"])  # type: ignore[list-item]
    spring = person_slots(night, centre, PARIS, paris(2026, 3, 28, 12), horizon_days=2)
    autumn = person_slots(night, centre, PARIS, paris(2026, 10, 24, 12), horizon_days=2)
    assert [s.start.astimezone(PARIS).strftime("%H:%M%z") for s in spring] == ["01:00+0100", "03:00+0200"]
    assert len(autumn) == 4 and {s.end - s.start for s in autumn} == {timedelta(hours=1)}


WEEK0 = paris(2026, 3, 23, 7)  # the Monday before the March change: the window covers both DST weeks

intervals = st.builds(
    lambda start, minutes: Interval(WEEK0 + timedelta(minutes=start), WEEK0 + timedelta(minutes=start + minutes)),
    st.integers(-600, 15 * 24 * 60),
    st.integers(1, 600),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    blocked=st.lists(intervals, max_size=12),
    slot_minutes=st.sampled_from([10, 15, 20, 30, 45, 60, 90]),
    notice=st.integers(0, 3000),
    offset_min=st.integers(0, 14 * 24 * 60),
    closed=st.sets(st.integers(0, 13), max_size=4),
    monday=st.sampled_from([WEEK0, paris(2026, 10, 19, 7)]),
)
def test_slots_never_overlap_bookings_busy_times_or_closures(
    blocked: list[Interval], slot_minutes: int, notice: int, offset_min: int, closed: set[int], monday: datetime
) -> None:
    shift = monday - WEEK0
    blocked = [Interval(i.start + shift, i.end + shift) for i in blocked]
    first_day = monday.astimezone(PARIS).date()
    closures = tuple(Closure(start=first_day + timedelta(days=d)) for d in sorted(closed))
    person = PersonSettings(id="p", name="P", slot_minutes=slot_minutes, saturday=["10:00-12:30"], closures=closures)  # type: ignore[list-item]
    centre = OpeningSettings(saturday=["08:00-13:00"], sunday=["00:30-03:30"])  # type: ignore[list-item]
    now = monday + timedelta(minutes=offset_min)
    slots = person_slots(person, centre, PARIS, now, blocked=blocked, min_notice=timedelta(minutes=notice))
    for slot in slots:
        assert slot.end - slot.start == timedelta(minutes=slot_minutes)
        assert slot.start >= now + timedelta(minutes=notice)
        assert not any(slot.interval.overlaps(b) for b in blocked)
        day = slot.start.astimezone(PARIS).date()
        assert day.toordinal() - first_day.toordinal() not in closed
        opening = day_intervals(centre, day, PARIS)
        assert any(o.start <= slot.start and slot.end <= o.end for o in opening)  # inside the hours, real time
    assert all(a.end <= b.start for a, b in pairwise(slots))  # one person: no overlap


# -- booking -----------------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "kiosk.db"


def book_for(db: Path, clock: ManualClock, role: Role = Role.SHELL, **settings: int) -> AppointmentBook:
    store = open_store(db, role)
    book = AppointmentBook(
        store,
        AppointmentSettings(persons=(MARIE, KARIM), **settings),  # type: ignore[arg-type]
        CENTRE,
        PARIS,
        clock,
        recorder=StatsRecorder(store, clock, boot="b1"),
    )
    book.seed_persons(book.settings.persons)
    return book


JEANNE = Contact.checked("Jeanne Martin", phone="0612345678")


def test_a_slot_is_booked_once_and_the_second_gets_fresh_slots(db: Path) -> None:
    clock = ManualClock(paris(2026, 11, 16, 8))
    kiosk, website = book_for(db, clock), book_for(db, clock, Role.AGENT)
    slot = kiosk.free_slots(Category.ARGENT)[0]
    first = kiosk.book(slot, Category.ARGENT, JEANNE, Channel.KIOSK, guide="impots-declaration")
    assert isinstance(first, Booked) and first.appointment.state is AppointmentState.BOOKED
    assert first.appointment.contact == JEANNE and first.appointment.guide == "impots-declaration"
    second = website.book(slot, Category.ARGENT, Contact.checked("Ali", email="ali@exemple.fr"), Channel.WEBSITE)
    assert isinstance(second, SlotTaken) and second.message == "Ce créneau vient d'être pris."
    assert slot not in second.slots and second.slots and second.slots == website.free_slots(Category.ARGENT)
    assert slot not in kiosk.free_slots(Category.ARGENT)


def test_a_slot_no_longer_offered_cannot_be_booked(db: Path) -> None:
    clock = ManualClock(paris(2026, 11, 16, 8))
    book = book_for(db, clock)
    slot = next(s for s in book.free_slots(Category.ARGENT) if s.person_id == "marie")
    wrong_category = book.book(slot, Category.LOGEMENT, JEANNE, Channel.KIOSK)  # Marie does not do housing
    odd_time = Slot(slot.start + timedelta(minutes=5), slot.end + timedelta(minutes=5), slot.person_id)
    clock.set_wall(slot.start - timedelta(minutes=30))  # now within the notice
    too_late = book.book(slot, Category.ARGENT, JEANNE, Channel.KIOSK)
    odd = book.book(odd_time, Category.ARGENT, JEANNE, Channel.KIOSK)
    assert all(isinstance(outcome, SlotTaken) for outcome in (wrong_category, too_late, odd))
    assert book.between(paris(2026, 11, 1, 0), paris(2026, 12, 31, 0)) == []


def test_the_database_itself_refuses_a_double_booking(db: Path) -> None:
    clock = ManualClock(paris(2026, 11, 16, 8))
    book = book_for(db, clock)
    slot = book.free_slots(Category.ARGENT)[0]
    booked = book.book(slot, Category.ARGENT, JEANNE, Channel.STAFF)
    assert isinstance(booked, Booked)
    with pytest.raises(sqlite3.IntegrityError):
        book.store.conn.execute(
            "INSERT INTO appointments (ref, person_id, category, start_ms, end_ms, state, channel, created_ms, "
            "updated_ms) SELECT 'other', person_id, category, start_ms, end_ms, 'booked', 'staff', 0, 0 "
            "FROM appointments"
        )
    book.cancel(booked.appointment.ref)
    again = book.book(slot, Category.ARGENT, JEANNE, Channel.KIOSK)  # a cancelled slot is free again
    assert isinstance(again, Booked)


def test_states_and_statistics_count_categories_only(db: Path) -> None:
    clock = ManualClock(paris(2026, 11, 16, 8))
    book = book_for(db, clock)
    slots = book.free_slots(Category.PAPIERS)
    one = book.book(slots[0], Category.PAPIERS, JEANNE, Channel.KIOSK, session="s1")
    two = book.book(slots[1], Category.PAPIERS, JEANNE, Channel.WEBSITE)
    assert isinstance(one, Booked) and isinstance(two, Booked)
    book.cancel(one.appointment.ref)
    with pytest.raises(AppointmentStateError):
        book.cancel(one.appointment.ref)
    with pytest.raises(AppointmentStateError):
        book.mark(one.appointment.ref, AppointmentState.ATTENDED)
    assert book.mark(two.appointment.ref, AppointmentState.NO_SHOW).state is AppointmentState.NO_SHOW
    assert book.mark(two.appointment.ref, AppointmentState.ATTENDED).state is AppointmentState.ATTENDED
    rows = book.store.conn.execute("SELECT kind, data FROM events ORDER BY id").fetchall()
    assert [(k, json.loads(d)) for k, d in rows] == [
        ("appointment", {"action": "booked", "category": "papiers"}),
        ("appointment", {"action": "booked", "category": "papiers"}),
        ("appointment", {"action": "cancelled", "category": "papiers"}),
    ]
    assert "Jeanne" not in json.dumps(rows) and "0612" not in json.dumps(rows)


def test_names_and_contacts_are_purged_n_days_after_the_appointment(db: Path) -> None:
    clock = ManualClock(paris(2026, 11, 16, 8))
    book = book_for(db, clock, keep_days=30)
    slot = book.free_slots(Category.ARGENT)[0]
    booked = book.book(slot, Category.ARGENT, JEANNE, Channel.KIOSK)
    assert isinstance(booked, Booked)
    clock.set_wall(slot.end + timedelta(days=30) - timedelta(minutes=1))
    assert book.purge() == 0
    clock.set_wall(slot.end + timedelta(days=30, minutes=1))
    assert book.purge() == 1 and book.purge() == 0
    kept = book.get(booked.appointment.ref)
    assert kept is not None and kept.contact is None and kept.category is Category.ARGENT
    row = book.store.conn.execute("SELECT name, phone, email FROM appointments").fetchone()
    assert row == (None, None, None)


def test_config_persons_are_seeded_and_console_persons_kept(db: Path) -> None:
    clock = ManualClock(paris(2026, 11, 16, 8))
    book = book_for(db, clock)
    assert [p.id for p in book.persons()] == ["karim", "marie"]
    book.save_person(KARIM.model_copy(update={"slot_minutes": 20}))  # an admin changed it in the console
    book.seed_persons([MARIE.model_copy(update={"name": "Marie D."})])  # the next start: Karim gone from the file
    assert {p.id: (p.name, p.slot_minutes) for p in book.persons()} == {
        "karim": ("Karim Benali", 20),
        "marie": ("Marie D.", 30),
    }
    book.seed_persons([])
    assert [p.id for p in book.persons()] == ["karim"]


def test_busy_times_remove_slots(db: Path) -> None:
    clock = ManualClock(paris(2026, 11, 16, 8))
    store = open_store(db)
    busy = {"marie": [Interval(paris(2026, 11, 17, 9, 15), paris(2026, 11, 17, 10, 0))]}
    book = AppointmentBook(
        store,
        AppointmentSettings(persons=(MARIE,)),
        CENTRE,
        PARIS,
        clock,
        busy=lambda person, window: busy.get(person, []),
    )
    book.seed_persons([MARIE])
    tuesday = [s.start.astimezone(PARIS).time() for s in book.free_slots(Category.ARGENT) if s.start.day == 17]
    assert tuesday == [time(10), time(10, 30), time(11), time(11, 30)]


def test_an_appointment_as_an_icalendar_event_without_the_residents_details(db: Path) -> None:
    clock = ManualClock(paris(2026, 11, 16, 8))
    book = book_for(db, clock)
    slot = next(s for s in book.free_slots(Category.ARGENT) if s.person_id == "marie")
    booked = book.book(slot, Category.ARGENT, JEANNE, Channel.KIOSK)
    assert isinstance(booked, Booked)
    data = appointment_calendar(
        booked.appointment,
        MARIE,
        "France Services de Saint-Exemple",
        what_to_bring="votre avis d'impôt",
        stamp=clock.now(),
    )
    event = icalendar.Calendar.from_ical(data).walk("VEVENT")[0]
    assert event.decoded("DTSTART") == booked.appointment.start == paris(2026, 11, 17, 9)
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=30)
    assert str(event["LOCATION"]) == "France Services de Saint-Exemple, Bureau 2"
    assert str(event["UID"]) == f"{booked.appointment.ref}@borne"
    assert "Marie Dupont" in str(event["SUMMARY"]) and "Argent" in str(event["SUMMARY"])
    assert "avis d'impôt" in str(event["DESCRIPTION"])
    assert b"Jeanne" not in data and b"0612" not in data and b"+33" not in data


def test_the_sample_persons_are_valid_once_uncommented(tmp_path: Path) -> None:
    import re
    import shutil

    from kiosk.core.loading import load_config

    sample = Path(__file__).resolve().parents[2] / "config"
    shutil.copytree(sample, tmp_path / "cfg")
    kiosk_toml = tmp_path / "cfg" / "kiosk.toml"
    text = kiosk_toml.read_text(encoding="utf-8")
    keys = "id|name|categories|slot_minutes|place|tuesday|thursday|wednesday|closures|ics_url"
    person_lines = rf"^# (\[\[appointments\.persons\]\]|(?:{keys}) =)"
    kiosk_toml.write_text(re.sub(person_lines, r"\1", text, flags=re.MULTILINE), encoding="utf-8")
    config = load_config(kiosk_toml, tmp_path / "cfg" / "tiles.toml")
    persons = config.kiosk.appointments.persons
    assert [p.id for p in persons] == ["sophie-m", "caf-permanence"] and persons[0].ics_url.startswith("https://")
    assert config.kiosk.opening.thursday[1] == (time(13, 30), time(18, 30))
