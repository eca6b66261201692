"""The shell writes its beat for the console's health page as soon as it is built."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.core.mediation.presence import shell_seen
from kiosk.core.ports import ManualClock
from kiosk.core.store import Role, open_store

pytestmark = [pytest.mark.shell, pytest.mark.console]


def test_the_shell_beats_from_its_start(make_kiosk, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = open_store(tmp_path / "data" / "kiosk.db", Role.SHELL)
    try:
        clock = ManualClock(datetime(2026, 12, 1, 9, 30, tzinfo=UTC))
        assert shell_seen(store) is None
        make_kiosk(store=store, clock=clock)
        assert shell_seen(store) == clock.now()
    finally:
        store.close()
