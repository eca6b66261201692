"""The agent's statistics jobs, and ``kiosk agent --once``."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from kiosk.agent.jobs import StatsJobs
from kiosk.core.ports import ManualClock
from kiosk.core.settings import KioskSettings
from kiosk.core.stats.aggregate import load_aggregates
from kiosk.core.stats.events import SessionStarted
from kiosk.core.stats.recorder import StatsRecorder
from kiosk.core.store import Role, open_store

pytestmark = [pytest.mark.unit, pytest.mark.stats]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = open_store(tmp_path / "kiosk.db", Role.AGENT)
    yield store
    store.close()


def test_the_agent_seals_closed_days_and_dates_what_it_can(store) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(datetime(2000, 1, 1, tzinfo=UTC), monotonic=50.0)
    shell = StatsRecorder(store, clock, boot="b1")
    shell.record(SessionStarted())  # the RTC is dead: undated for now
    clock.advance(600)
    clock.set_wall(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    jobs = StatsJobs(store, KioskSettings(), clock, boot="b1")
    assert jobs.aggregate() == 0  # dated (to 08:50 UTC), but the 24th is not over yet
    assert store.conn.execute("SELECT COUNT(*) FROM events WHERE ts_ms IS NULL").fetchone()[0] == 0
    clock.set_wall(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    assert jobs.aggregate() == 1
    assert [a.sessions for a in load_aggregates(store, date(2026, 11, 24), date(2026, 11, 24))] == [1]


def test_the_agent_does_not_cut_days_on_a_wrong_clock(store) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    StatsRecorder(store, clock, boot="b1").record(SessionStarted())
    clock.set_wall(datetime(2000, 1, 1, tzinfo=UTC))
    jobs = StatsJobs(store, KioskSettings(), clock, boot="b1")
    assert jobs.aggregate() == 0 and jobs.purge() == 0
    assert store.conn.execute("SELECT COUNT(*) FROM daily_aggregates").fetchone()[0] == 0


def test_a_failing_job_logs_and_returns(store, caplog) -> None:  # type: ignore[no-untyped-def]
    jobs = StatsJobs(store, KioskSettings(), ManualClock(datetime(2026, 11, 20, tzinfo=UTC)), boot="b1")
    store.close()  # the database went away under the agent
    assert jobs.aggregate() == 0
    assert "agent.aggregate_failed" in caplog.text


def test_kiosk_agent_once_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = open_store(data / "kiosk.db", Role.SHELL)
    StatsRecorder(store, ManualClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC)), boot="elsewhere").record(
        SessionStarted()
    )
    store.close()
    env = {
        "PATH": "/usr/bin:/bin",
        "KIOSK_DATA_DIR": str(data),
        "KIOSK_LAST_GOOD_DIR": str(tmp_path / "last-good"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "agent", "--once", "--config-dir", str(REPO / "config")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "day(s) sealed" in done.stdout
    check = open_store(data / "kiosk.db", Role.AGENT)
    assert check.conn.execute("SELECT MIN(day) FROM daily_aggregates").fetchone()[0] == "2026-11-02"
    check.close()


def test_the_scheduled_agent_seals_at_start_and_stops_on_sigterm(tmp_path: Path) -> None:
    import signal
    import time

    data = tmp_path / "data"
    store = open_store(data / "kiosk.db", Role.SHELL)
    StatsRecorder(store, ManualClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC)), boot="elsewhere").record(
        SessionStarted()
    )
    env = {"PATH": "/usr/bin:/bin", "KIOSK_DATA_DIR": str(data), "KIOSK_LAST_GOOD_DIR": str(tmp_path / "lg")}
    agent = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kiosk.cli",
            "agent",
            "--config-dir",
            str(REPO / "config"),
            "--port",
            "0",
            "--console-port",
            "0",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        sealed = 0
        while time.monotonic() < deadline and not sealed:
            sealed = store.conn.execute("SELECT COUNT(*) FROM daily_aggregates").fetchone()[0]
            time.sleep(0.2)
        if not sealed:
            agent.kill()
            pytest.fail("the agent did not seal the closed days at start:\n" + (agent.communicate()[0] or "")[-3000:])
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=20) == 0
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
        store.close()
    output = agent.stdout.read() if agent.stdout else ""
    assert "agent.started" in output and "agent.stopping" in output
