"""The agent's appointment jobs: persons seeded from the configuration, calendars fetched, old
contacts wiped — through the real ``kiosk agent --once`` and, for failures, the jobs themselves."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.agent.appointment_jobs import AppointmentJobs
from kiosk.core.mediation.booking import AppointmentBook, Booked, Channel
from kiosk.core.mediation.contact import Contact
from kiosk.core.mediation.ics import Problem
from kiosk.core.mediation_config import AppointmentSettings, OpeningSettings, PersonSettings
from kiosk.core.ports import ManualClock, SystemClock
from kiosk.core.settings import KioskSettings, PathsSettings
from kiosk.core.store import Role, open_store
from sync.vocabulary import Category
from tests.webserver import LoopbackWeb, Response

pytestmark = [pytest.mark.console, pytest.mark.appointments]
REPO = Path(__file__).resolve().parents[2]
PARIS = ZoneInfo("Europe/Paris")
EMPTY_CALENDAR = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Agenda//FR\r\nEND:VCALENDAR\r\n"


@pytest.fixture
def web() -> Iterator[LoopbackWeb]:
    server = LoopbackWeb().start()
    try:
        yield server
    finally:
        server.stop()


def book_at(store_path: Path, when: datetime, person: PersonSettings, name: str) -> str:
    """An appointment booked as if at ``when`` (a clock in the past books a past slot)."""
    store = open_store(store_path, Role.AGENT)
    try:
        book = AppointmentBook(store, AppointmentSettings(), OpeningSettings(), PARIS, ManualClock(when))
        slot = next(s for s in book.free_slots(Category.AUTRE) if s.person_id == person.id)
        outcome = book.book(slot, Category.AUTRE, Contact.checked(name, "06 12 34 56 78"), Channel.KIOSK)
        assert isinstance(outcome, Booked)
        return outcome.appointment.ref
    finally:
        store.close()


def test_the_agent_seeds_persons_fetches_calendars_and_wipes_old_contacts(tmp_path: Path, web: LoopbackWeb) -> None:
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    web.add("127.0.0.1", "/sophie.ics", Response(EMPTY_CALENDAR, content_type="text/calendar"))
    with (config / "kiosk.toml").open("a", encoding="utf-8") as toml:
        toml.write(
            "\n[[appointments.persons]]\n"
            'id = "sophie-m"\nname = "Sophie Martin"\ncategories = ["argent"]\n'
            f'ics_url = "http://127.0.0.1:{web.port}/sophie.ics"\n'
        )
    data = tmp_path / "data"
    db = data / "kiosk.db"
    data.mkdir()
    # A person made in the console, with an appointment 40 days ago and one to come.
    lina = PersonSettings(id="lina", name="Lina Morel")
    store = open_store(db, Role.AGENT)
    AppointmentBook(store, AppointmentSettings(), OpeningSettings(), PARIS, SystemClock()).save_person(lina)
    store.close()
    old = book_at(db, datetime.now(UTC) - timedelta(days=40), lina, "Ancien Rendezvous")
    coming = book_at(db, datetime.now(UTC), lina, "Prochain Rendezvous")
    env = {"PATH": "/usr/bin:/bin", "KIOSK_DATA_DIR": str(data), "KIOSK_LAST_GOOD_DIR": str(tmp_path / "lg")}
    done = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "agent", "--once", "--config-dir", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 calendar(s) fetched (0 with a problem), contacts of 1 past appointment(s) wiped." in done.stdout
    store = open_store(db, Role.AGENT)
    try:
        persons = store.conn.execute("SELECT id, source, active FROM resource_persons ORDER BY id").fetchall()
        names = dict(store.conn.execute("SELECT ref, name FROM appointments").fetchall())
    finally:
        store.close()
    assert persons == [("lina", "console", 1), ("sophie-m", "config", 1)]
    assert names == {old: None, coming: "Prochain Rendezvous"}
    assert (data / "calendars" / "sophie-m.ics").read_bytes() == EMPTY_CALENDAR
    assert [hit.path for hit in web.hits] == ["/sophie.ics"]


def test_a_failing_job_logs_and_returns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    person = PersonSettings(id="marie", name="Marie", ics_url="http://127.0.0.1:9/none.ics")  # nobody listens
    settings = KioskSettings(
        paths=PathsSettings(data_dir=tmp_path, session_root=tmp_path / "s", last_good_dir=tmp_path / "lg"),
        appointments=AppointmentSettings(persons=(person,)),
    )
    store = open_store(tmp_path / "kiosk.db", Role.AGENT)
    jobs = AppointmentJobs(store, settings, SystemClock())
    assert jobs.seed() == 1
    (status,) = jobs.refresh_calendars()
    assert status.problem is Problem.UNREACHABLE and jobs.cache.status("marie").problem is Problem.UNREACHABLE
    store.close()
    with caplog.at_level(logging.ERROR):
        assert jobs.seed() == 0 and jobs.purge() == 0 and jobs.refresh_calendars() == []
    assert {r.getMessage() for r in caplog.records} >= {
        "agent.persons_seed_failed",
        "agent.appointments_purge_failed",
        "agent.calendars_refresh_failed",
    }
    off = AppointmentJobs(
        store, settings.model_copy(update={"appointments": AppointmentSettings(enabled=False)}), SystemClock()
    )
    assert off.refresh_calendars() == []
