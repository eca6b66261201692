"""The event vocabulary and the recorder: nothing identifying fits, nothing blocks, time is trusted."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from kiosk.core.devices import DeviceFailure, PrintOutcome
from kiosk.core.ports import ManualClock
from kiosk.core.stats.events import (
    EVENT_TYPES,
    AgeBracket,
    DeviceError,
    HelpSearched,
    MediatorCall,
    NavigationBlocked,
    PrintJob,
    SessionEnded,
    SessionStarted,
    TileOpened,
    parse_event,
)
from kiosk.core.stats.recorder import BACKWARD_TOLERANCE_MS, CLOCK_FLOOR, StatsRecorder, date_undated
from kiosk.core.store import Role, open_store
from sync.vocabulary import Category

pytestmark = [pytest.mark.unit, pytest.mark.stats]


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = open_store(tmp_path / "kiosk.db", Role.SHELL)
    yield store
    store.close()


def stamps(store) -> list[int | None]:  # type: ignore[no-untyped-def]
    return [row[0] for row in store.conn.execute("SELECT ts_ms FROM events ORDER BY id")]


# -- vocabulary ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: TileOpened(tile="Jean Dupont", category=Category.AUTRE),
        lambda: TileOpened(tile="caf/../etc", category=Category.AUTRE),
        lambda: NavigationBlocked(tile="caf", domain="https://evil.test/path?q=1"),
        lambda: NavigationBlocked(tile="caf", domain="evil.test/path"),
        lambda: NavigationBlocked(tile="caf", domain="jean dupont"),
        lambda: DeviceError(device="printer", error="Paper jam in tray 2 for Mr Dupont"),
        lambda: DeviceError(device="the printer", error="jam"),
        lambda: DeviceError(device="printer", error="overheating"),  # a slug, but not in the closed set
        lambda: PrintJob(pages=1, status="sent"),
        lambda: SessionEnded(duration_s=-1, reason="button"),
        lambda: SessionEnded(duration_s=10, reason="button", age="43"),
        lambda: HelpSearched(results=3, query="mot de passe"),  # words typed are never a field
        lambda: MediatorCall(stage="opened", name="Mme Martin"),
        lambda: SessionStarted(url="https://caf.fr/mon-compte?id=123"),
    ],
)
def test_nothing_identifying_can_be_put_in_an_event(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError):
        make()


def test_every_event_type_round_trips_through_its_stored_form() -> None:
    samples = {
        "session_ended": SessionEnded(duration_s=61.5, reason="button", age=AgeBracket.FROM_70, first_visit=False),
        "tile_opened": TileOpened(tile="impots", category=Category.ARGENT),
        "navigation_blocked": NavigationBlocked(tile=None, domain="xn--bcher-kva.example"),
        "mediator_call": MediatorCall(stage="taken", wait_s=95),
    }
    for kind, event in samples.items():
        assert parse_event(kind, event.model_dump_json()) == event
    assert parse_event("no_such_kind", "{}") is None
    assert parse_event("tile_opened", '{"tile": "Jean Dupont", "category": "autre"}') is None
    assert set(EVENT_TYPES) >= {"session_started", "help_searched", "print_job", "pages_scanned", "ticket_printed"}


def test_device_failures_and_print_outcomes_keep_their_stored_form() -> None:
    """The closed enums replaced free slugs: what was stored before reads back the same, and the
    first printer port's catch-all "failed" reads as "unknown" instead of being dropped."""
    stored = '{"device":"printer","error":"paper_out"}'
    event = parse_event("device_error", stored)
    assert event == DeviceError(device="printer", error=DeviceFailure.PAPER_OUT)
    assert event.model_dump_json() == stored
    assert parse_event("device_error", '{"device":"printer","error":"failed"}') == DeviceError(
        device="printer", error=DeviceFailure.UNKNOWN
    )
    for status in ("printed", "held", "released", "cancelled"):
        job = parse_event("print_job", f'{{"pages":2,"status":"{status}"}}')
        assert job == PrintJob(pages=2, status=PrintOutcome(status))
        assert json.loads(job.model_dump_json()) == {"pages": 2, "status": status}


# -- recorder --------------------------------------------------------------------------------


def test_an_acknowledged_event_is_in_the_database_with_its_session(store) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(datetime(2026, 11, 24, 9, 30, tzinfo=UTC))
    recorder = StatsRecorder(store, clock, boot="b1")
    assert recorder.record(TileOpened(tile="caf", category=Category.FAMILLE), "abc") is True
    row = store.conn.execute("SELECT ts_ms, boot, session, kind, data, agg_day FROM events").fetchone()
    assert row[0] == ms(clock.now()) and row[1:4] == ("b1", "abc", "tile_opened")
    assert json.loads(row[4]) == {"tile": "caf", "category": "famille"} and row[5] is None


def test_a_locked_database_never_blocks_and_loses_nothing(store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    recorder = StatsRecorder(store, ManualClock(), boot="b1")
    other = sqlite3.connect(tmp_path / "kiosk.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        for _ in range(3):
            assert recorder.record(SessionStarted()) is False
        assert recorder.waiting == 3
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert recorder.record(SessionStarted()) is True
    assert recorder.waiting == 0
    assert store.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 4


def test_overflowing_the_buffer_counts_the_loss_as_an_event(store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    recorder = StatsRecorder(store, ManualClock(), boot="b1", buffer_limit=5)
    other = sqlite3.connect(tmp_path / "kiosk.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        for _ in range(12):
            recorder.record(SessionStarted())
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert recorder.waiting == 5 and recorder.lost_total == 7
    assert recorder.flush() is True
    kinds = [row[0] for row in store.conn.execute("SELECT kind FROM events ORDER BY id")]
    assert kinds == ["session_started"] * 5 + ["events_lost"]
    lost = store.conn.execute("SELECT data FROM events WHERE kind = 'events_lost'").fetchone()[0]
    assert json.loads(lost) == {"count": 7}


def test_without_a_database_events_wait_in_memory_without_error() -> None:
    recorder = StatsRecorder(None, ManualClock(), boot="b1", buffer_limit=2)
    for _ in range(3):
        assert recorder.record(SessionStarted()) is False
    assert recorder.waiting == 2 and recorder.lost_total == 1


# -- the event clock -------------------------------------------------------------------------


def test_a_clock_put_back_within_a_boot_never_dates_an_event_earlier(store) -> None:  # type: ignore[no-untyped-def]
    start = datetime(2026, 11, 24, 23, 50, tzinfo=UTC)
    clock = ManualClock(start, monotonic=500.0)
    recorder = StatsRecorder(store, clock, boot="b1")
    recorder.record(SessionStarted())
    clock.advance(60)
    clock.set_wall(start - timedelta(hours=3))  # the wall clock jumps three hours back
    recorder.record(SessionStarted())
    clock.advance(30)
    recorder.record(SessionStarted())
    assert stamps(store) == [ms(start), ms(start) + 60_000, ms(start) + 90_000]  # boot-time carries on


def test_small_steps_back_are_absorbed(store) -> None:  # type: ignore[no-untyped-def]
    start = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    clock = ManualClock(start)
    recorder = StatsRecorder(store, clock, boot="b1")
    recorder.record(SessionStarted())
    clock.set_wall(start - timedelta(milliseconds=BACKWARD_TOLERANCE_MS // 2))
    recorder.record(SessionStarted())
    assert stamps(store) == [ms(start), ms(start)]


def test_year_2000_after_a_dead_rtc_battery_events_are_dated_once_the_clock_is_right(store) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(datetime(2000, 1, 1, 0, 0, 12, tzinfo=UTC), monotonic=12.0)
    recorder = StatsRecorder(store, clock, boot="b2")
    recorder.record(SessionStarted())
    clock.advance(100)
    recorder.record(SessionEnded(duration_s=100, reason="idle"))
    assert stamps(store) == [None, None]
    clock.advance(50)
    right = datetime(2026, 11, 24, 8, 15, tzinfo=UTC)
    clock.set_wall(right)  # NTP answered
    recorder.record(SessionStarted())
    assert stamps(store) == [ms(right) - 150_000, ms(right) - 50_000, ms(right)]


def test_undated_events_of_an_earlier_boot_stay_undated(store) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(datetime(2000, 1, 1, tzinfo=UTC), monotonic=5.0)
    StatsRecorder(store, clock, boot="old").record(SessionStarted())
    assert date_undated(store, "new", ms(datetime(2026, 11, 24, tzinfo=UTC)), 10.0) == 0
    assert stamps(store) == [None]


def test_a_new_boot_trusts_a_plausible_clock_even_behind_the_last_boot(store) -> None:  # type: ignore[no-untyped-def]
    late = datetime(2026, 12, 1, tzinfo=UTC)  # the last boot's clock ran fast
    StatsRecorder(store, ManualClock(late), boot="b1").record(SessionStarted())
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    StatsRecorder(store, ManualClock(now), boot="b2").record(SessionStarted())
    assert stamps(store) == [ms(late), ms(now)]


def test_a_restarted_shell_in_the_same_boot_carries_on_from_the_last_stamp(store) -> None:  # type: ignore[no-untyped-def]
    start = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    clock = ManualClock(start, monotonic=100.0)
    StatsRecorder(store, clock, boot="b1").record(SessionStarted())
    clock.advance(20)
    clock.set_wall(CLOCK_FLOOR - timedelta(days=1))  # the clock went wrong meanwhile
    StatsRecorder(store, clock, boot="b1").record(SessionStarted())
    assert stamps(store) == [ms(start), ms(start) + 20_000]
