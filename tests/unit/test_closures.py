"""Exceptional closures stored in the database, and the shell's beat that never waits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.core.mediation.closures import (
    ClosureError,
    add_closure,
    check_closure,
    opening_with_closures,
    remove_closure,
    stored_closures,
)
from kiosk.core.mediation.hours import OpeningHours
from kiosk.core.mediation.presence import shell_beat, shell_seen
from kiosk.core.mediation_config import Closure, OpeningSettings
from kiosk.core.store import Role, Store, open_store

pytestmark = [pytest.mark.unit, pytest.mark.mediator]
PARIS = ZoneInfo("Europe/Paris")
TODAY = date(2026, 12, 1)
CHRISTMAS_EVE = date(2026, 12, 24)  # a Thursday


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Store]:
    store = open_store(tmp_path / "kiosk.db", Role.AGENT)
    yield store
    store.close()


def test_a_stored_closure_closes_the_day_on_top_of_the_configured_ones(agent: Store) -> None:
    configured = OpeningSettings(closures=(Closure(start=date(2026, 12, 31), reason="Réveillon"),))
    assert OpeningHours(opening_with_closures(configured, agent.conn), PARIS).on(CHRISTMAS_EVE)
    closure = check_closure(CHRISTMAS_EVE, None, "  Fermé   le 24 ", TODAY)
    assert closure == Closure(start=CHRISTMAS_EVE, reason="Fermé le 24")
    closure_id = add_closure(agent, closure, datetime(2026, 12, 1, tzinfo=UTC))
    hours = opening_with_closures(configured, agent.conn)
    assert OpeningHours(hours, PARIS).on(CHRISTMAS_EVE) == []
    assert hours.closure_on(CHRISTMAS_EVE) == closure and hours.closure_on(date(2026, 12, 31)) is not None
    assert [s.closure for s in stored_closures(agent.conn)] == [closure]
    assert remove_closure(agent, closure_id) == closure
    assert remove_closure(agent, closure_id) is None
    assert opening_with_closures(configured, agent.conn) is configured


@pytest.mark.parametrize(
    ("first", "last", "reason", "message"),
    [
        (date(2026, 11, 30), None, "", "déjà passée"),
        (CHRISTMAS_EVE, date(2026, 12, 20), "", "avant son début"),
        (CHRISTMAS_EVE, date(2028, 1, 2), "", "un an au plus"),
        (CHRISTMAS_EVE, None, "x" * 121, "trop long"),
    ],
)
def test_a_closure_that_cannot_be_is_refused_in_french(
    first: date, last: date | None, reason: str, message: str
) -> None:
    with pytest.raises(ClosureError, match=message):
        check_closure(first, last, reason, TODAY)


def test_the_shell_beat_never_waits_for_the_agent(agent: Store, tmp_path: Path) -> None:
    shell = open_store(tmp_path / "kiosk.db", Role.SHELL)
    try:
        assert shell_seen(agent) is None
        now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
        assert shell_beat(shell, now) and shell_seen(agent) == now
        agent.conn.execute("BEGIN IMMEDIATE")  # the agent is writing
        try:
            started = time.monotonic()
            assert not shell_beat(shell, datetime(2026, 12, 1, 9, 1, tzinfo=UTC))
            assert time.monotonic() - started < 0.5
        finally:
            agent.conn.execute("ROLLBACK")
        assert shell_seen(agent) == now
    finally:
        shell.close()
