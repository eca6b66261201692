"""The free printing quota (kiosk.core.printing): the rule, and the day's count in the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.core.ports import ManualClock
from kiosk.core.printing import PrintQuota, decide
from kiosk.core.settings import PrintingSettings
from kiosk.core.store import Role, open_store

PARIS = ZoneInfo("Europe/Paris")
SMALL = PrintingSettings(pages_per_session=10, pages_per_day=15, max_copies=3)


def test_within_both_allowances_a_job_prints_past_either_it_is_held() -> None:
    assert not decide(5, 2, SMALL, session_used=0, day_used=0).hold  # 10 pages: exactly the session's
    assert decide(5, 2, SMALL, session_used=1, day_used=1).hold  # 11 > 9 left in the session
    assert decide(3, 1, SMALL, session_used=0, day_used=13).hold  # the day's 2 left
    assert decide(1, 1, PrintingSettings(pages_per_session=0), 0, 0).hold  # 0: everything waits
    assert decide(4, 3, SMALL, 0, 0).pages == 12


@pytest.mark.parametrize(("pages", "copies"), [(0, 1), (1, 0), (1, 4)])
def test_impossible_jobs_are_refused(pages: int, copies: int) -> None:
    with pytest.raises(ValueError):
        decide(pages, copies, SMALL, 0, 0)


def test_the_session_count_restarts_and_the_day_count_survives_a_restart(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 22, 30, tzinfo=UTC))  # 23:30 in Paris
    store = open_store(tmp_path / "kiosk.db", Role.SHELL)
    quota = PrintQuota(SMALL, store, clock, PARIS)
    quota.charge(8)
    assert quota.decide(3).hold  # 11 > 10 in this session
    quota.end_session()
    assert not quota.decide(3).hold  # a new resident: 3 ≤ 10 and 11 ≤ 15 today
    quota.charge(3)
    store.close()

    store = open_store(tmp_path / "kiosk.db", Role.SHELL)  # the shell restarted
    again = PrintQuota(SMALL, store, clock, PARIS)
    assert again.day_pages() == 11
    assert again.decide(5).hold  # 16 > 15 today, though the session is new
    again.refund(3)  # a job the printer refused gives its pages back
    assert again.day_pages() == 8
    clock.set_wall(clock.now() + timedelta(hours=1))  # past midnight in Paris: a new day
    assert again.day_pages() == 0 and not again.decide(5).hold
    rows = store.conn.execute("SELECT * FROM print_quota_days ORDER BY day").fetchall()
    assert rows == [("2026-03-02", 8)]  # a day and a number, nothing else
    store.close()


def test_without_a_store_the_day_is_counted_in_memory() -> None:
    quota = PrintQuota(SMALL, None, ManualClock(), PARIS)
    quota.charge(10)
    quota.end_session()
    assert quota.day_pages() == 10 and quota.decide(6).hold
