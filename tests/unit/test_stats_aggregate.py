"""Daily aggregates: day cuts in the centre's zone (DST included), buckets, sealing exactly once,
late and undated events, retention, and the local report."""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.cli import main as kiosk_main
from kiosk.core.ports import ManualClock
from kiosk.core.settings import KioskSettings
from kiosk.core.stats.aggregate import (
    NO_ANSWER,
    DayAggregate,
    StoredEvent,
    closed_days,
    compute_day,
    day_bounds_ms,
    load_aggregates,
    seal_closed_days,
)
from kiosk.core.stats.events import (
    AgeBracket,
    Appointment,
    DeviceError,
    HelpSearched,
    MediatorCall,
    NavigationBlocked,
    Outcome,
    PrintJob,
    Satisfaction,
    SessionEnded,
    SessionStarted,
    StaffPrint,
    TileOpened,
)
from kiosk.core.stats.recorder import StatsRecorder
from kiosk.core.stats.report import build_report, read_so_far, render, report_from
from kiosk.core.stats.retention import months_before, purge
from kiosk.core.store import SCHEMA_VERSION, Role, StoreError, open_store
from sync.vocabulary import Category
from sync.vocabulary.periods import Period

pytestmark = [pytest.mark.unit, pytest.mark.stats]

PARIS = ZoneInfo("Europe/Paris")


def at(day: date, hour: int, minute: int = 0, zone: ZoneInfo = PARIS) -> int:
    return int(datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).timestamp() * 1000)


def utc_ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = open_store(tmp_path / "kiosk.db", Role.AGENT)
    yield store
    store.close()


def insert(store, ts_ms: int | None, event, boot: str = "b1", mono: float = 0.0) -> None:  # type: ignore[no-untyped-def]
    store.conn.execute(
        "INSERT INTO events (ts_ms, boot, mono, session, kind, data) VALUES (?, ?, ?, ?, ?, ?)",
        (ts_ms, boot, mono, "s", event.kind, event.model_dump_json()),
    )


# -- compute_day -----------------------------------------------------------------------------


def test_a_day_in_figures() -> None:
    day = date(2026, 11, 24)
    events = [
        StoredEvent(at(day, 9, 5), SessionStarted()),
        StoredEvent(at(day, 9, 6), TileOpened(tile="caf", category=Category.FAMILLE)),
        StoredEvent(at(day, 9, 7), TileOpened(tile="impots", category=Category.ARGENT)),
        StoredEvent(at(day, 9, 8), NavigationBlocked(tile="caf", domain="evil.test")),
        StoredEvent(at(day, 9, 9), PrintJob(pages=3, status="printed")),
        StoredEvent(at(day, 9, 9), PrintJob(pages=2, status="held")),
        StoredEvent(at(day, 9, 30), PrintJob(pages=2, status="released")),
        StoredEvent(at(day, 9, 40), StaffPrint(pages=6)),
        StoredEvent(at(day, 9, 41), StaffPrint(pages=1)),
        StoredEvent(at(day, 9, 31), MediatorCall(stage="opened")),
        StoredEvent(at(day, 9, 33), MediatorCall(stage="taken", wait_s=120)),
        StoredEvent(at(day, 10, 0), MediatorCall(stage="taken", wait_s=30)),
        StoredEvent(at(day, 10, 1), MediatorCall(stage="missed", wait_s=600)),
        StoredEvent(at(day, 10, 2), HelpSearched(results=0)),
        StoredEvent(at(day, 10, 3), HelpSearched(results=4)),
        StoredEvent(at(day, 10, 4), Appointment(action="booked", category=Category.LOGEMENT)),
        StoredEvent(at(day, 10, 5), DeviceError(device="printer", error="paper_out")),
        StoredEvent(
            at(day, 10, 6),
            SessionEnded(
                duration_s=61 * 60, reason="button", age=AgeBracket.FROM_70, outcome=Outcome.YES, satisfaction=None
            ),
        ),
        StoredEvent(at(day, 14, 0), SessionStarted()),
        StoredEvent(at(day, 14, 4), SessionEnded(duration_s=240, reason="idle")),
    ]
    agg = compute_day(day, PARIS, events)
    assert (agg.sessions, agg.sessions_ended) == (2, 2)
    assert "total_duration_s" not in agg.model_dump()  # durations leave the terminal as buckets only
    assert agg.weekday == 1 and agg.hours[9] == 1 and agg.hours[14] == 1 and sum(agg.hours) == 2
    assert agg.durations == {"moins_5_min": 1, "plus_60_min": 1}
    assert agg.end_reasons == {"button": 1, "idle": 1}
    assert agg.tiles == {"famille/caf": 1, "argent/impots": 1} and agg.categories == {"argent": 1, "famille": 1}
    assert agg.blocked == {"caf": 1} and "evil.test" not in agg.model_dump_json()  # per tile, never the domain
    assert (agg.printing.jobs, agg.printing.pages_printed, agg.printing.pages_held) == (2, 5, 2)
    assert agg.printing.pages_staff == 7  # staff prints apart: not the residents' paper, nor a job
    assert (agg.mediator.opened, agg.mediator.taken, agg.mediator.missed) == (1, 2, 1)
    assert agg.mediator.waits == {"1_3_min": 1, "moins_1_min": 1} and "median" not in agg.model_dump_json()
    assert (agg.help_searches, agg.help_searches_empty) == (2, 1)
    assert agg.appointments_booked == {"logement": 1}
    assert agg.device_errors == {"printer/paper_out": 1}
    # Answer tables sum to the sessions asked (ended with the button), unanswered included.
    assert agg.answers["age"]["70_plus"] == 1 and agg.answers["age"][NO_ANSWER] == 0
    assert agg.answers["satisfaction"] == {"content": 0, "moyen": 0, "mecontent": 0, NO_ANSWER: 1}
    assert all(sum(table.values()) == agg.asked == 1 for table in agg.answers.values())


def test_a_version_1_aggregate_is_read_as_version_2() -> None:
    stored = {
        "version": 1,
        "day": "2026-11-24",
        "weekday": 1,
        "sessions": 3,
        "sessions_ended": 3,
        "total_duration_s": 1234,
        "tiles": {"caf": 2, "impots": 1},
        "categories": {"famille": 2, "argent": 1},
        "blocked": {"evil.test": 2},
        "mediator": {"taken": 1, "waits": {"moins_1_min": 1}, "median_wait_s": 40.0},
    }
    agg = DayAggregate.model_validate(stored)
    assert agg.version == 2 and agg.sessions == 3
    assert agg.tiles == {"famille/inconnue": 2, "argent/inconnue": 1}
    assert agg.blocked == {"inconnue": 2} and agg.mediator.waits == {"moins_1_min": 1}
    assert "1234" not in agg.model_dump_json() and "evil" not in agg.model_dump_json()


@pytest.mark.parametrize(
    ("day", "hours"),
    [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25), (date(2026, 11, 24), 24)],
)
def test_days_are_cut_in_the_centre_zone_across_dst(day: date, hours: int) -> None:
    start, end = day_bounds_ms(day, PARIS)
    assert (end - start) == hours * 3_600_000
    # One session started every 30 minutes of that local day, plus one either side of it.
    events = [StoredEvent(t, SessionStarted()) for t in range(start - 60_000, end + 60_001, 1_800_000)]
    inside = [e for e in events if start <= (e.ts_ms or 0) < end]
    agg = compute_day(day, PARIS, inside)
    assert agg.sessions == len(inside) == hours * 2
    assert sum(agg.hours) == hours * 2
    if hours == 25:
        assert agg.hours[2] == 4  # 02:00–03:00 happens twice
    if hours == 23:
        assert agg.hours[2] == 0  # 02:00–03:00 never happens


def test_a_session_just_after_local_midnight_belongs_to_the_new_day(store) -> None:  # type: ignore[no-untyped-def]
    # 23:30 UTC on 24 November is 00:30 on the 25th in Paris.
    insert(store, utc_ms(datetime(2026, 11, 24, 23, 30, tzinfo=UTC)), SessionStarted())
    sealed = seal_closed_days(store, PARIS, utc_ms(datetime(2026, 11, 26, 12, 0, tzinfo=UTC)), "b1")
    assert [(a.day, a.sessions) for a in sealed] == [(date(2026, 11, 25), 1)]


# -- sealing ---------------------------------------------------------------------------------


def test_sealing_twice_counts_nothing_twice(store) -> None:  # type: ignore[no-untyped-def]
    day = date(2026, 11, 23)
    for hour in (9, 10, 11):
        insert(store, at(day, hour), SessionStarted())
    now = at(date(2026, 11, 24), 12)
    assert [a.sessions for a in seal_closed_days(store, PARIS, now, "b1")] == [3]
    assert seal_closed_days(store, PARIS, now, "b1") == []
    assert [a.sessions for a in load_aggregates(store, day, day)] == [3]
    assert store.conn.execute("SELECT COUNT(*) FROM events WHERE agg_day IS NULL").fetchone()[0] == 0


def test_today_is_not_sealed_and_yesterday_waits_for_the_grace_period(store) -> None:  # type: ignore[no-untyped-def]
    insert(store, at(date(2026, 11, 23), 18), SessionStarted())
    assert closed_days(store, PARIS, at(date(2026, 11, 24), 0, 5)) == []  # 5 minutes after midnight
    assert closed_days(store, PARIS, at(date(2026, 11, 24), 0, 15)) == [date(2026, 11, 23)]


def test_a_late_event_goes_to_the_next_open_day_once(store) -> None:  # type: ignore[no-untyped-def]
    insert(store, at(date(2026, 11, 23), 10), SessionStarted())
    seal_closed_days(store, PARIS, at(date(2026, 11, 24), 9), "b1")
    # The clock had been put back: an event stamped in the sealed day arrives afterwards.
    insert(store, at(date(2026, 11, 23), 20), SessionStarted())
    insert(store, at(date(2026, 11, 24), 10), SessionStarted())
    sealed = seal_closed_days(store, PARIS, at(date(2026, 11, 25), 9), "b1")
    assert [(a.day, a.sessions, a.late_events) for a in sealed] == [(date(2026, 11, 24), 2, 1)]
    assert sum(a.sessions for a in load_aggregates(store, date(2026, 11, 1), date(2026, 11, 30))) == 3


def test_undated_events_of_a_past_boot_are_counted_once_and_flagged(store) -> None:  # type: ignore[no-untyped-def]
    insert(store, None, SessionStarted(), boot="dead-rtc")
    insert(store, None, SessionStarted(), boot="current")  # may still be dated: left for later
    insert(store, at(date(2026, 11, 23), 10), SessionStarted(), boot="current")
    sealed = seal_closed_days(store, PARIS, at(date(2026, 11, 24), 9), "current")
    assert [(a.sessions, a.undated_events) for a in sealed] == [(2, 1)]
    pending = store.conn.execute("SELECT boot FROM events WHERE agg_day IS NULL").fetchall()
    assert pending == [("current",)]


def test_a_month_offline_is_caught_up_with_empty_days_included(store) -> None:  # type: ignore[no-untyped-def]
    insert(store, at(date(2026, 10, 1), 10), SessionStarted())
    seal_closed_days(store, PARIS, at(date(2026, 10, 2), 9), "b1")
    insert(store, at(date(2026, 10, 15), 10), SessionStarted())
    sealed = seal_closed_days(store, PARIS, at(date(2026, 11, 1), 9), "b1")
    assert [a.day for a in sealed] == [date(2026, 10, 2) + timedelta(days=n) for n in range(30)]
    assert sum(a.sessions for a in sealed) == 1


def test_two_agents_sealing_at_once_count_each_event_once(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    writer = open_store(path, Role.AGENT)
    for day in range(1, 21):
        for hour in range(8, 18):
            insert(writer, at(date(2026, 10, day), hour), SessionStarted())
    writer.close()
    now = at(date(2026, 10, 25), 12)
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def agent() -> None:
        store = open_store(path, Role.AGENT)
        try:
            start.wait(timeout=30)  # both agents open, then seal at the same instant
            seal_closed_days(store, PARIS, now, "b1")
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            store.close()

    threads = [threading.Thread(target=agent) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    check = open_store(path, Role.AGENT)
    aggregates = load_aggregates(check, date(2026, 10, 1), date(2026, 10, 31))
    assert [a.day for a in aggregates] == [date(2026, 10, d) for d in range(1, 25)]
    assert sum(a.sessions for a in aggregates) == 200
    check.close()


# -- retention -------------------------------------------------------------------------------


def test_retention_deletes_counted_old_events_and_old_aggregates_only(store) -> None:  # type: ignore[no-untyped-def]
    old = date(2024, 9, 2)
    insert(store, at(old, 10), SessionStarted())
    seal_closed_days(store, PARIS, at(old + timedelta(days=1), 9), "b1")
    recent = date(2026, 11, 2)
    insert(store, at(recent, 10), SessionStarted())
    seal_closed_days(store, PARIS, at(recent + timedelta(days=1), 9), "b1")
    insert(store, at(date(2026, 11, 20), 10), SessionStarted())  # not counted yet
    insert(store, at(date(2024, 1, 1), 10), TileOpened(tile="caf", category=Category.FAMILLE))  # old, not counted
    purged = purge(store, at(date(2026, 11, 24), 12), PARIS, keep_event_days=35, keep_aggregate_months=25)
    remaining = [row[0] for row in store.conn.execute("SELECT kind FROM events ORDER BY ts_ms")]
    assert remaining == ["tile_opened", "session_started", "session_started"]  # the old counted one went
    assert purged.events == 1
    days = [row[0] for row in store.conn.execute("SELECT day FROM daily_aggregates ORDER BY day")]
    assert days[0] == "2024-10-24" and days[-1] == "2026-11-02"
    assert purged.aggregates == (date(2024, 10, 24) - date(2024, 9, 2)).days


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 11, 24), 25, date(2024, 10, 24)),
        (date(2026, 3, 31), 1, date(2026, 2, 28)),
        (date(2028, 3, 31), 1, date(2028, 2, 29)),
        (date(2026, 1, 15), 13, date(2024, 12, 15)),
    ],
)
def test_months_before(day: date, months: int, expected: date) -> None:
    assert months_before(day, months) == expected


# -- store -----------------------------------------------------------------------------------


def test_a_new_database_is_migrated_to_the_current_schema(tmp_path: Path) -> None:
    store = open_store(tmp_path / "new.db")
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"events", "daily_aggregates", "meta"} <= set(store.db.table_names())
    store.close()


def test_a_database_from_newer_software_is_refused_with_the_reason(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "kiosk.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 42")
    conn.close()
    with pytest.raises(StoreError, match="schema version 42, newer than this software"):
        open_store(path)


# -- the report ------------------------------------------------------------------------------


def seeded_month(store) -> None:  # type: ignore[no-untyped-def]
    """Two weeks of a small centre, recorded through the real recorder."""
    clock = ManualClock(datetime(2026, 11, 2, 8, 0, tzinfo=UTC))
    recorder = StatsRecorder(store, clock, boot="b1")
    n = 0
    for day in range(14):
        for slot in range(6):
            recorder.record(SessionStarted(), f"s{n}")
            recorder.record(TileOpened(tile="caf", category=Category.FAMILLE), f"s{n}")
            clock.advance(600 + 60 * slot)
            answers = {"age": AgeBracket.FROM_40_TO_59, "satisfaction": Satisfaction.HAPPY} if slot < 4 else {}
            if slot == 5:
                answers = {"age": AgeBracket.FROM_12_TO_17, "satisfaction": Satisfaction.UNHAPPY}
            recorder.record(SessionEnded(duration_s=600 + 60 * slot, reason="button", **answers), f"s{n}")
            clock.advance(1800)
            n += 1
        clock.set_wall(datetime(2026, 11, 3 + day, 8, 0, tzinfo=UTC))
    seal_closed_days(store, PARIS, utc_ms(datetime(2026, 11, 20, 12, 0, tzinfo=UTC)), "b1")


def test_the_report_shows_a_closed_period_hidden_as_the_federation_would(store) -> None:  # type: ignore[no-untyped-def]
    seeded_month(store)
    settings = KioskSettings()
    with pytest.raises(ValueError, match="not over yet"):
        build_report(store, settings, Period.parse("2026-11"))  # its last week is not closed
    week = build_report(store, settings, Period.parse("2026-W45"))  # 2 to 8 November
    assert week.value("sessions") == 42 and week.value("categories", "famille") == 42
    assert week.value("tiles", "famille/caf") == 42
    # Answers: each day hides its small cells before they are summed, as in the batches;
    # the 12–17 year-olds (one a day) never show.
    assert week.value("answers.age", "12_17") == 0 and week.figures[("answers.age", "12_17")].partial
    assert all(f.value is None or f.value >= 5 or (f.value == 0 and f.partial) for f in week.figures.values())
    again = build_report(store, settings, Period.parse("2026-W45"))
    assert again.figures == week.figures  # asked twice, the same answer
    table = render(week, "table")
    assert "semaine 45 de 2026 (du 2 novembre 2026 au 8 novembre 2026)" in table and "Famille – Scolarité" in table


def test_overlapping_reports_cannot_be_subtracted(store) -> None:  # type: ignore[no-untyped-def]
    """One resident on a quiet week: no report, for any period holding that day, shows them."""
    clock = ManualClock(datetime(2026, 10, 7, 8, 0, tzinfo=UTC))
    recorder = StatsRecorder(store, clock, boot="b1")
    recorder.record(SessionStarted(), "lonely")
    recorder.record(TileOpened(tile="ants", category=Category.PAPIERS), "lonely")
    recorder.record(SessionEnded(duration_s=700, reason="idle"), "lonely")
    seeded_month(store)  # then two busy weeks in November
    settings = KioskSettings()
    for label in ("2026-W41", "2026-10", "2026-Q4"):
        with contextlib.suppress(ValueError):  # the quarter is not over
            report = build_report(store, settings, Period.parse(label))
            shown = {name: f.value for name, f in report.figures.items() if f.value and not f.partial}
            assert ("tiles", "papiers/ants") not in shown and ("categories", "papiers") not in shown
            assert all(value >= 5 for value in shown.values()), (label, shown)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--from", "2026-13-01", "--to", "2026-13-07"], "is not a date; write it as YYYY-MM-DD"),
        (["--period", "2026-W60"], "2026 has weeks 1 to 53"),
        (["--from", "2026-11-10", "--to", "2026-11-01"], "is before --from"),
    ],
)
def test_the_report_command_explains_bad_dates(tmp_path, capsys, monkeypatch, extra, message) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KIOSK_LAST_GOOD_DIR", str(tmp_path / "last-good"))
    config_dir = Path(__file__).resolve().parents[2] / "config"
    assert kiosk_main(["stats", "report", "--config-dir", str(config_dir), *extra]) == 2
    assert message in capsys.readouterr().err


def test_the_report_command_without_a_database_says_so(tmp_path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "nothing"))
    monkeypatch.setenv("KIOSK_LAST_GOOD_DIR", str(tmp_path / "last-good"))
    config_dir = Path(__file__).resolve().parents[2] / "config"
    assert kiosk_main(["stats", "report", "--config-dir", str(config_dir)]) == 1
    assert "No statistics yet" in capsys.readouterr().err


def test_a_period_not_over_is_reported_up_to_its_last_sealed_day(store) -> None:  # type: ignore[no-untyped-def]
    """The console's "this month": the days sealed so far, hidden as a whole period is; a period
    that is over reads exactly as build_report gives it."""
    seeded_month(store)  # residents from 2 to 15 November, days sealed to the 19th
    settings = KioskSettings()
    week = Period.parse("2026-W45")
    assert report_from(read_so_far(store, week), 5).figures == build_report(store, settings, week).figures
    month = report_from(read_so_far(store, Period.parse("2026-11")), 5)
    assert month.through == date(2026, 11, 19) and month.value("sessions") == 84
    year = report_from(read_so_far(store, Period.parse("2026")), 5)
    assert year.through == date(2026, 11, 19) and year.value("sessions") == 84
    assert all(f.value is None or f.value >= 5 or f.value == 0 for f in year.figures.values())
    later = report_from(read_so_far(store, Period.parse("2026-12")), 5)
    assert later.figures == {} and later.through is not None
