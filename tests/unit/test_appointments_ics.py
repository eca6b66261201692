"""Busy times from a person's calendar: recurring, all-day, cancelled, malformed, huge, down."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.agent.calendars import fetch_ics, refresh_all
from kiosk.core.mediation.booking import AppointmentBook
from kiosk.core.mediation.hours import Interval
from kiosk.core.mediation.ics import CalendarCache, CalendarError, Problem, parse_busy, refresh
from kiosk.core.mediation_config import AppointmentSettings, OpeningSettings, PersonSettings
from kiosk.core.ports import ManualClock
from kiosk.core.store import open_store
from sync.vocabulary import Category
from tests.webserver import LoopbackWeb, Response

pytestmark = [pytest.mark.unit, pytest.mark.appointments]

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 10, 19, 6, 0, tzinfo=UTC)  # Monday of the October DST week
WINDOW = Interval(NOW, NOW + timedelta(days=16))


def paris(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


def calendar(*events: str) -> bytes:
    body = "".join(f"BEGIN:VEVENT\r\n{e.strip().replace(chr(10), chr(13) + chr(10))}\r\nEND:VEVENT\r\n" for e in events)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Agenda//FR\r\n"
        "BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\n"
        "BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nDTSTART:19700329T020000\r\n"
        "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n"
        "BEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nDTSTART:19701025T030000\r\n"
        "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n" + body + "END:VCALENDAR\r\n"
    ).encode()


WEEKLY_MEETING = """
UID:team@test
DTSTART;TZID=Europe/Paris:20261006T100000
DTEND;TZID=Europe/Paris:20261006T113000
RRULE:FREQ=WEEKLY;BYDAY=TU
EXDATE;TZID=Europe/Paris:20261027T100000
SUMMARY:Réunion d'équipe
"""


def test_a_weekly_meeting_is_expanded_across_the_dst_change_and_its_exception_skipped() -> None:
    busy = parse_busy(calendar(WEEKLY_MEETING), WINDOW, PARIS)
    assert busy == [
        Interval(paris(10, 20, 10), paris(10, 20, 11, 30)),
        Interval(paris(11, 3, 10), paris(11, 3, 11, 30)),
    ]
    assert busy[0].start.hour == 8 and busy[1].start.hour == 9  # 10 h local, summer then winter time


def test_all_day_events_block_whole_local_days_and_free_or_cancelled_events_block_nothing() -> None:
    data = calendar(
        "UID:a@t\nDTSTART;VALUE=DATE:20261022\nDTEND;VALUE=DATE:20261024\nSUMMARY:Congés",
        "UID:b@t\nDTSTART:20261026T080000Z\nDTEND:20261026T090000Z\nTRANSP:TRANSPARENT",
        "UID:c@t\nDTSTART:20261027T080000Z\nDTEND:20261027T090000Z\nSTATUS:CANCELLED",
        "UID:d@t\nDTSTART:20261028T140000\nDURATION:PT2H\nSUMMARY:Heure flottante",
    )
    assert parse_busy(data, WINDOW, PARIS) == [
        Interval(paris(10, 22, 0), paris(10, 24, 0)),
        Interval(paris(10, 28, 14), paris(10, 28, 16)),  # no zone: the centre's
    ]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", Problem.NOT_A_CALENDAR),
        (b"<html><body>Connexion requise</body></html>", Problem.NOT_A_CALENDAR),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:notadate\r\n", Problem.NOT_A_CALENDAR),
        (b"\xff\xfe\x00garbage" * 1000, Problem.NOT_A_CALENDAR),
        (calendar("UID:x@t\nDTSTART:20261019T000000Z\nDTEND:20261019T000100Z\nRRULE:FREQ=MINUTELY"), Problem.TOO_MANY),
        (b"X" * (4 * 1024 * 1024 + 1), Problem.TOO_BIG),
    ],
)
def test_bad_calendars_are_a_problem_never_a_crash(data: bytes, problem: Problem) -> None:
    with pytest.raises(CalendarError) as caught:
        parse_busy(data, WINDOW, PARIS)
    assert caught.value.problem is problem and problem.message.endswith("restent utilisées.")


@pytest.fixture
def web() -> Iterator[LoopbackWeb]:
    server = LoopbackWeb().start()
    try:
        yield server
    finally:
        server.stop()


def test_the_last_good_copy_survives_an_address_that_fails(tmp_path: Path, web: LoopbackWeb) -> None:
    cache = CalendarCache(tmp_path / "calendars", PARIS)
    url = f"http://127.0.0.1:{web.port}/marie.ics"
    web.add("127.0.0.1", "/marie.ics", Response(calendar(WEEKLY_MEETING), content_type="text/calendar"))
    good = refresh(cache, "marie", url, fetch_ics, NOW, WINDOW)
    assert good.problem is None and good.fetched_at == NOW
    expected = cache.busy("marie", WINDOW)
    assert len(expected) == 2
    later = NOW + timedelta(minutes=30)
    for response, problem in [
        (Response("<h1>Erreur</h1>", status=503), Problem.UNREACHABLE),
        (Response("Bonjour, ceci n'est pas un agenda"), Problem.NOT_A_CALENDAR),
        (Response(b"BEGIN:VCALENDAR\r\n" + b"X" * (4 * 1024 * 1024)), Problem.TOO_BIG),
    ]:
        web.add("127.0.0.1", "/marie.ics", response)
        status = refresh(cache, "marie", url, fetch_ics, later, WINDOW)
        assert (status.problem, status.fetched_at, status.problem_at) == (problem, NOW, later)
        assert cache.busy("marie", WINDOW) == expected
    down = refresh(cache, "marie", "http://127.0.0.1:9/nothing.ics", fetch_ics, later, WINDOW)  # nobody listens
    assert down.problem is Problem.UNREACHABLE and cache.busy("marie", WINDOW) == expected
    assert cache.busy("karim", WINDOW) == [] and cache.status("karim").fetched_at is None


def test_the_agent_refreshes_each_persons_calendar_and_slots_follow(tmp_path: Path, web: LoopbackWeb) -> None:
    url = f"http://127.0.0.1:{web.port}/marie.ics"
    web.add("127.0.0.1", "/marie.ics", Response(calendar(WEEKLY_MEETING), content_type="text/calendar"))
    marie = PersonSettings(id="marie", name="Marie", ics_url=url, slot_minutes=60)
    plain = PersonSettings(id="karim", name="Karim", slot_minutes=60)
    cache = CalendarCache(tmp_path / "calendars", PARIS)
    store = open_store(tmp_path / "kiosk.db")
    book = AppointmentBook(
        store, AppointmentSettings(persons=(marie, plain)), OpeningSettings(), PARIS, ManualClock(NOW), busy=cache.busy
    )
    book.seed_persons([marie, plain])
    assert [s.person_id for s in refresh_all(book, cache)] == ["marie"]
    tuesday = [s for s in book.free_slots(Category.AUTRE) if s.start.astimezone(PARIS).date().day == 20]
    marie_hours = [s.start.astimezone(PARIS).time() for s in tuesday if s.person_id == "marie"]
    karim_hours = [s.start.astimezone(PARIS).time() for s in tuesday if s.person_id == "karim"]
    assert marie_hours == [time(9), time(14), time(15), time(16)]  # the meeting takes 10–11:30
    assert karim_hours == [time(9), time(10), time(11), time(14), time(15), time(16)]
    store.close()
