"""Opening hours (DST included), their French wording, and the mediator call queue in SQLite."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from kiosk.core.mediation.calls import CallQueue, CallState, CallStateError
from kiosk.core.mediation.contact import ContactError
from kiosk.core.mediation.hours import Availability, OpeningHours, Unavailable, mediator_availability
from kiosk.core.mediation.wording import availability_text, opening_text, wait_text
from kiosk.core.mediation_config import Closure, MediatorSettings, OpeningSettings
from kiosk.core.ports import ManualClock
from kiosk.core.stats.recorder import StatsRecorder
from kiosk.core.store import Role, open_store
from sync.vocabulary import Category

pytestmark = [pytest.mark.unit, pytest.mark.mediator]

PARIS = ZoneInfo("Europe/Paris")


def paris(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


# -- opening hours -----------------------------------------------------------------------------

CENTRE = OpeningSettings(
    saturday=["09:00-12:00"],  # type: ignore[list-item]
    sunday=["01:00-04:00"],  # type: ignore[list-item]  # a night shift, to cross the DST changes
    closures=[Closure(start=date(2026, 12, 24), end=date(2027, 1, 2), reason="Fêtes de fin d'année")],
)
HOURS = OpeningHours(CENTRE, PARIS)


def test_the_default_week_is_a_france_services_week_with_a_lunch_break() -> None:
    hours = OpeningHours(OpeningSettings(), PARIS)
    monday = date(2026, 11, 16)
    assert [(i.start.astimezone(PARIS).time(), i.end.astimezone(PARIS).time()) for i in hours.on(monday)] == [
        (time(9), time(12)),
        (time(14), time(17)),
    ]
    assert hours.on(monday + timedelta(days=5)) == []  # Saturday
    assert hours.is_open(paris(2026, 11, 16, 9)) and not hours.is_open(paris(2026, 11, 16, 12))
    assert not hours.is_open(paris(2026, 11, 16, 13, 59)) and hours.is_open(paris(2026, 11, 16, 16, 59))


def test_hours_are_wall_clock_times_on_both_sides_of_a_dst_change() -> None:
    before, after = HOURS.on(date(2026, 3, 27)), HOURS.on(date(2026, 3, 30))  # Friday, Monday
    assert before[0].start == datetime(2026, 3, 27, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert after[0].start == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 CEST
    assert HOURS.on(date(2026, 10, 26))[0].start == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)


def test_a_range_across_the_dst_change_lasts_what_it_really_lasts() -> None:
    (spring,) = HOURS.on(date(2026, 3, 29))  # 01:00-04:00 the night clocks go forward
    (autumn,) = HOURS.on(date(2026, 10, 25))  # and back
    (ordinary,) = HOURS.on(date(2026, 11, 1))
    assert spring.duration == timedelta(hours=2)
    assert autumn.duration == timedelta(hours=4)
    assert ordinary.duration == timedelta(hours=3)


def test_times_in_the_skipped_hour_are_read_as_the_clocks_show_them_after_the_jump() -> None:
    hours = OpeningHours(OpeningSettings(sunday=["02:00-02:45", "10:00-11:00"]), PARIS)  # type: ignore[list-item]
    shifted, ordinary = hours.on(date(2026, 3, 29))
    assert shifted.start.astimezone(PARIS).time() == time(3) and shifted.duration == timedelta(minutes=45)
    assert ordinary.start.astimezone(PARIS).time() == time(10)
    empty = OpeningHours(OpeningSettings(sunday=["02:30-03:30"]), PARIS)  # type: ignore[list-item]
    assert empty.on(date(2026, 3, 29)) == [] and len(empty.on(date(2026, 4, 5))) == 1


def test_closures_close_every_day_of_their_range() -> None:
    assert HOURS.on(date(2026, 12, 24)) == [] and HOURS.on(date(2027, 1, 2)) == []
    assert HOURS.on(date(2027, 1, 4)) != []
    nxt = HOURS.next_opening(paris(2026, 12, 23, 18))
    assert nxt is not None and nxt.start == paris(2027, 1, 3, 1)  # the Sunday night shift after it


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ({"monday": ["9-12"]}, "give it as"),
        ({"monday": ["14:00-09:00"]}, "ends before it starts"),
        ({"monday": ["09:00-12:00", "11:00-14:00"]}, "overlap"),
        ({"monday": ["25:00-26:00"]}, "hours 00–24"),
        ({"closures": [{"start": "2026-05-02", "end": "2026-05-01"}]}, "ends before it starts"),
    ],
)
def test_bad_hours_are_refused_with_the_fix(hours: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        OpeningSettings.model_validate(hours)


def test_hours_read_as_written_and_write_back_the_same() -> None:
    settings = OpeningSettings.model_validate({"monday": ["14h00 - 17h30", "9:00-12:00"], "friday": ["08:00-24:00"]})
    assert settings.monday == ((time(9), time(12)), (time(14), time(17, 30)))
    dumped = settings.model_dump(mode="json")
    assert dumped["monday"] == ["09:00-12:00", "14:00-17:30"] and dumped["friday"] == ["08:00-24:00"]
    assert OpeningSettings.model_validate(dumped) == settings


# -- availability and its French wording --------------------------------------------------------


def sentence(now: datetime, *, present: bool = True, long: bool = False) -> str:
    availability = mediator_availability(HOURS, now, staff_present=present, queue_long=long)
    return availability_text(availability, now, PARIS)


def test_a_mediator_can_be_called_when_open_present_and_the_queue_is_short() -> None:
    now = paris(2026, 11, 17, 10)  # Tuesday morning
    assert mediator_availability(HOURS, now, staff_present=True, queue_long=False) == Availability(None, None)
    assert sentence(now) == "Un médiateur peut venir vous aider."


@pytest.mark.parametrize(
    ("now", "present", "long", "expected"),
    [
        # Tuesday at lunch: this afternoon.
        (paris(2026, 11, 17, 12, 30), True, False, "Prochaine présence : Aujourd'hui à partir de 14 h."),
        # Tuesday evening: tomorrow morning.
        (paris(2026, 11, 17, 18), True, False, "Prochaine présence : Demain de 9 h à 12 h."),
        # Friday evening: Saturday is tomorrow.
        (paris(2026, 11, 20, 18), True, False, "Prochaine présence : Demain de 9 h à 12 h."),
        # Saturday afternoon: Sunday's night shift, then Monday.
        (paris(2026, 11, 21, 13), True, False, "Prochaine présence : Demain de 1 h à 4 h."),
        # Sunday morning, after the night shift: Monday.
        (paris(2026, 11, 22, 10), True, False, "Prochaine présence : Demain de 9 h à 12 h."),
        # Staff absent on Tuesday morning: the afternoon.
        (paris(2026, 11, 17, 10), False, False, "Prochaine présence : Aujourd'hui à partir de 14 h."),
        # Long queue on Tuesday afternoon: Wednesday morning.
        (paris(2026, 11, 17, 15), True, True, "Prochaine présence : Demain de 9 h à 12 h."),
    ],
)
def test_the_next_opening_is_said_in_plain_french(now: datetime, present: bool, long: bool, expected: str) -> None:
    assert sentence(now, present=present, long=long).endswith(expected)


def test_days_further_off_are_named_by_weekday_then_by_date() -> None:
    now = paris(2026, 11, 17, 18)  # Tuesday evening
    thursday = HOURS.next_opening(paris(2026, 11, 19, 8))
    assert thursday is not None and opening_text(thursday, now, PARIS) == "Jeudi de 9 h à 12 h"
    after_closure = HOURS.next_opening(paris(2026, 12, 23, 18))
    assert after_closure is not None
    assert opening_text(after_closure, paris(2026, 12, 23, 18), PARIS) == "Dimanche 3 janvier de 1 h à 4 h"
    hours = OpeningHours(OpeningSettings(closures=[Closure(start=date(2026, 3, 2), end=date(2026, 3, 31))]), PARIS)
    first = hours.next_opening(paris(2026, 2, 27, 18))
    assert (
        first is not None and opening_text(first, paris(2026, 2, 27, 18), PARIS) == "Mercredi 1er avril de 9 h à 12 h"
    )


def test_half_hours_and_closure_reasons_are_said() -> None:
    hours = OpeningHours(
        OpeningSettings(
            tuesday=["13:30-17:45"],  # type: ignore[list-item]
            closures=[Closure(start=date(2026, 11, 16), reason="formation de l'équipe")],
        ),
        PARIS,
    )
    now = paris(2026, 11, 16, 10)
    availability = mediator_availability(hours, now, staff_present=True, queue_long=False)
    assert availability.reason is Unavailable.CLOSED and availability.suggest_appointment
    assert availability_text(availability, now, PARIS) == (
        "L'espace est fermé aujourd'hui : formation de l'équipe. Prochaine présence : Demain de 13 h 30 à 17 h 45."
    )


def test_a_disabled_mediator_sends_to_the_reception() -> None:
    now = paris(2026, 11, 17, 10)
    availability = mediator_availability(HOURS, now, staff_present=True, queue_long=False, enabled=False)
    assert not availability.available and not availability.suggest_appointment
    assert availability_text(availability, now, PARIS) == "Adressez-vous à l'accueil."


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "moins de 5 minutes"), (299, "moins de 5 minutes"), (17 * 60, "environ 15 minutes"), (3600, "environ 1 h"),
     (100 * 60, "environ 1 h 45")],
)  # fmt: skip
def test_waits_are_rounded_as_people_say_them(seconds: float, text: str) -> None:
    assert wait_text(seconds) == text


# -- the call queue ---------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "kiosk.db"


def queue(db: Path, clock: ManualClock, role: Role = Role.SHELL, **settings: int) -> CallQueue:
    store = open_store(db, role)
    return CallQueue(store, MediatorSettings(**settings), PARIS, clock, StatsRecorder(store, clock, boot="b1"))


def events(db: Path) -> list[tuple[str, dict[str, object]]]:
    store = open_store(db)
    try:
        rows = store.conn.execute("SELECT kind, data FROM events WHERE kind = 'mediator_call' ORDER BY id").fetchall()
    finally:
        store.close()
    return [(kind, json.loads(data)) for kind, data in rows]


def test_calls_are_numbered_from_one_each_day_and_seen_by_the_other_process(db: Path) -> None:
    clock = ManualClock(paris(2026, 11, 17, 9, 5))
    shell, console = queue(db, clock), queue(db, clock, Role.AGENT)
    first = shell.open(Category.ARGENT, " Fatima ", session="s1")
    second = shell.open(None, session="s2")
    assert (first.number, second.number) == (1, 2)
    assert first.first_name == "Fatima" and second.category is None
    assert [c.number for c in console.today()] == [1, 2]  # the console reads the shell's rows
    clock.advance(24 * 3600)
    assert shell.open(Category.LOGEMENT).number == 1


def test_the_day_is_the_centres_day_not_utcs(db: Path) -> None:
    clock = ManualClock(datetime(2026, 11, 17, 23, 30, tzinfo=UTC))  # 00:30 on the 18th in Paris
    assert queue(db, clock).open(None).day == date(2026, 11, 18)


def test_position_and_wait_follow_the_queue(db: Path) -> None:
    clock = ManualClock(paris(2026, 11, 17, 9))
    shell, console = queue(db, clock, default_handling_min=10), queue(db, clock, Role.AGENT)
    calls = [shell.open(None, session=f"s{i}") for i in range(3)]
    places = [shell.place(c.id) for c in calls]
    assert [p.position for p in places] == [1, 2, 3]
    assert [p.estimated_wait_s for p in places] == [0, 600, 1200]  # nobody handled yet: the default
    console.take(calls[0].id)
    clock.advance(4 * 60)
    place = shell.place(calls[1].id)
    assert place.position == 1 and place.estimated_wait_s == 6 * 60  # what is left of the call in progress
    console.finish(calls[0].id)  # it took 4 minutes: today's figure replaces the default
    assert shell.place(calls[2].id).estimated_wait_s == 4 * 60
    assert shell.place(calls[0].id).position is None


def test_a_long_queue_suggests_an_appointment(db: Path) -> None:
    clock = ManualClock(paris(2026, 11, 17, 9))
    shell = queue(db, clock, long_queue=3, long_wait_min=25, default_handling_min=10)
    shell.open(None)
    shell.open(None)
    assert not shell.is_long()  # a third caller would wait 20 minutes
    shell.open(None)
    assert shell.is_long()  # three waiting
    shell = queue(db, clock, long_queue=10, long_wait_min=25, default_handling_min=10)
    assert shell.is_long()  # a fourth would wait 30 minutes


def test_states_move_one_way_and_staff_see_refusals(db: Path) -> None:
    clock = ManualClock(paris(2026, 11, 17, 9))
    shell, console = queue(db, clock), queue(db, clock, Role.AGENT)
    call = shell.open(Category.TRAVAIL, session="s1")
    with pytest.raises(CallStateError, match="waiting, not taken"):
        console.finish(call.id)
    assert console.take(call.id).state is CallState.TAKEN
    with pytest.raises(CallStateError):
        console.take(call.id)  # two staff members pressed at once: the second is told
    assert console.finish(call.id).state is CallState.DONE
    with pytest.raises(CallStateError):
        console.cancel(call.id)
    other = shell.open(None)
    assert shell.cancel(other.id).state is CallState.CANCELLED


def test_a_call_open_when_the_session_ends_is_missed_and_counted(db: Path) -> None:
    clock = ManualClock(paris(2026, 11, 17, 9))
    shell, console = queue(db, clock), queue(db, clock, Role.AGENT)
    left = shell.open(Category.FAMILLE, session="s1")
    helped = shell.open(None, session="s2")
    clock.advance(90)
    console.take(helped.id)
    clock.advance(300)
    assert [c.id for c in shell.session_ended("s1")] == [left.id]
    assert shell.session_ended("s2") == []  # taken: the mediator is on the way
    console.finish(helped.id)
    assert [(e["stage"], e["wait_s"]) for _, e in events(db)] == [
        ("opened", None),
        ("opened", None),
        ("taken", 90.0),
        ("missed", 390.0),
        ("done", None),
    ]


def test_no_name_reaches_the_statistics(db: Path) -> None:
    clock = ManualClock(paris(2026, 11, 17, 9))
    shell = queue(db, clock)
    call = shell.open(Category.ARGENT, "Zébulon", session="s1")
    shell.cancel(call.id)
    store = open_store(db)
    dump = json.dumps(store.conn.execute("SELECT * FROM events").fetchall())
    store.close()
    assert "Zébulon" not in dump and "ZXbulon" not in dump.replace("\\u00e9", "X")


def test_a_first_name_must_be_one(db: Path) -> None:
    shell = queue(db, ManualClock(paris(2026, 11, 17, 9)))
    for bad in ("06 12 34 56 78", "<script>", "x" * 31):
        with pytest.raises(ContactError):
            shell.open(None, bad)
    assert shell.open(None, "   ").first_name is None
    assert shell.open(None, "Marie-Hélène d'Arc").first_name == "Marie-Hélène d'Arc"


def test_the_end_of_the_day_wipes_first_names_and_closes_what_was_left(db: Path) -> None:
    clock = ManualClock(paris(2026, 11, 17, 16))
    shell, console = queue(db, clock), queue(db, clock, Role.AGENT, keep_days=7)
    waiting = shell.open(None, "Ana", session="s1")
    taken = shell.open(None, "Bob", session="s2")
    console.take(taken.id)
    assert console.end_of_day() == 0  # the same day: nothing to do, names kept
    assert console.get(waiting.id).first_name == "Ana"  # type: ignore[union-attr]
    clock.set_wall(paris(2026, 11, 18, 8))
    console.end_of_day()
    after = [console.get(c.id) for c in (waiting, taken)]
    assert [(c.state, c.first_name) for c in after if c] == [(CallState.MISSED, None), (CallState.DONE, None)]
    store = open_store(db)
    assert store.conn.execute("SELECT COUNT(*) FROM mediator_calls WHERE first_name IS NOT NULL").fetchone()[0] == 0
    store.close()
    clock.set_wall(paris(2026, 11, 25, 8))
    console.end_of_day()
    assert console.get(waiting.id) is None  # older than keep_days: gone


def test_the_shell_waits_a_little_for_the_agents_lock_then_says_so(db: Path) -> None:
    import threading

    from kiosk.core.mediation.storage import StoreBusy, write

    clock = ManualClock(paris(2026, 11, 17, 9))
    shell = queue(db, clock)
    agent = open_store(db, Role.AGENT)
    agent.conn.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, agent.conn.execute, ("COMMIT",))
    release.start()
    try:
        assert shell.open(None).number == 1  # waited for the agent's short write
    finally:
        release.join()
    agent.conn.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreBusy):
            write(shell.store, lambda conn: conn.execute("SELECT 1"), wait_s=0.2)
    finally:
        agent.conn.execute("ROLLBACK")
