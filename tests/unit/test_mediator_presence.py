"""What the agent tells the shell: its beat and the staff's presence, across two connections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.core.mediation.presence import AGENT_SILENT_S, agent_alive, beat, set_staff_present, staff_present
from kiosk.core.store import Role, open_store

pytestmark = [pytest.mark.unit, pytest.mark.mediator]

NOON = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)


def test_the_shell_sees_the_agent_alive_only_while_it_beats(tmp_path: Path) -> None:
    agent, shell = open_store(tmp_path / "k.db", Role.AGENT), open_store(tmp_path / "k.db", Role.SHELL)
    try:
        assert not agent_alive(shell, NOON)  # never started
        beat(agent, NOON)
        assert agent_alive(shell, NOON + timedelta(seconds=AGENT_SILENT_S))
        assert not agent_alive(shell, NOON + timedelta(seconds=AGENT_SILENT_S + 1))  # silent: down
        beat(agent, NOON + timedelta(minutes=5))
        assert agent_alive(shell, NOON + timedelta(minutes=5, seconds=3))
        assert agent_alive(shell, NOON)  # a beat "from the future": the clock is wrong, not the agent
    finally:
        agent.close()
        shell.close()


def test_staff_presence_is_absent_until_set_and_kept_until_changed(tmp_path: Path) -> None:
    agent, shell = open_store(tmp_path / "k.db", Role.AGENT), open_store(tmp_path / "k.db", Role.SHELL)
    try:
        assert not staff_present(shell)
        set_staff_present(agent, True, NOON)
        assert staff_present(shell)
        set_staff_present(agent, False, NOON + timedelta(hours=1))
        assert not staff_present(shell)
        assert agent.conn.execute("SELECT count(*) FROM agent_status").fetchone()[0] == 1  # one row, updated
    finally:
        agent.close()
        shell.close()
