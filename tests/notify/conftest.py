"""A terminal's database, settings and clock for the notification tests; the capture servers
come from tests/notifykit.py (each stopped by its fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kiosk.agent.notify_jobs import NotifyJobs
from kiosk.core.mediation.booking import Appointment, AppointmentBook, Booked, Channel
from kiosk.core.mediation.contact import Contact
from kiosk.core.mediation_config import AppointmentSettings, NotificationSettings, PersonSettings
from kiosk.core.ports import ManualClock
from kiosk.core.settings import KioskSettings, PathsSettings
from kiosk.core.store import DB_NAME, Role, Store, open_store
from sync.vocabulary import Category
from tests.notifykit import http_capture, smtp_capture, smtp_with_login  # noqa: F401 (fixtures)

PARIS = ZoneInfo("Europe/Paris")
MARIE = PersonSettings(id="marie", name="Marie Dupont", place="Bureau 2, rez-de-chaussée", slot_minutes=30)
MONDAY = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # 10:00 in Paris: residents book
WEDNESDAY_2PM = datetime(2026, 1, 7, 13, 0, tzinfo=UTC)  # 14:00 in Paris: the appointment
REMINDER_TIME = datetime(2026, 1, 6, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Paris: reminders may go
AWA = Contact("Awa Diallo", "+33612345678", "awa.diallo@exemple.fr")


@dataclass
class Terminal:
    tmp: Path
    clock: ManualClock
    settings: KioskSettings
    stores: list[Store] = field(default_factory=list)

    @property
    def db_path(self) -> Path:
        return self.settings.paths.data_dir / DB_NAME

    def store(self, role: Role = Role.AGENT) -> Store:
        store = open_store(self.db_path, role)
        self.stores.append(store)
        return store

    def book(self) -> AppointmentBook:
        s = self.settings
        return AppointmentBook(self.store(Role.SHELL), s.appointments, s.opening, PARIS, self.clock)

    def jobs(self, **senders: Any) -> NotifyJobs:
        """The agent's notification jobs on a connection of their own (a new one: a restart)."""
        return NotifyJobs(self.store(), self.settings, self.clock, **senders)

    def configure(self, **notifications: Any) -> None:
        self.settings = self.settings.model_copy(
            update={"notifications": NotificationSettings.model_validate(notifications)}
        )

    def book_one(self, contact: Contact = AWA, start: datetime = WEDNESDAY_2PM) -> Appointment:
        book = self.book()
        slot = next(s for s in book.free_slots(Category.PAPIERS) if s.start == start)
        outcome = book.book(slot, Category.PAPIERS, contact, Channel.WEBSITE)
        assert isinstance(outcome, Booked), outcome
        return outcome.appointment

    def notices(self) -> list[tuple[str, str, int]]:
        rows = self.store().conn.execute("SELECT key, state, attempts FROM notifications ORDER BY key").fetchall()
        return [(str(k), str(s), int(a)) for k, s, a in rows]


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    data = tmp_path / "data"
    settings = KioskSettings(
        paths=PathsSettings(data_dir=data, session_root=tmp_path / "sessions", last_good_dir=tmp_path / "lg"),
        appointments=AppointmentSettings(persons=(MARIE,)),
    )
    terminal = Terminal(tmp_path, ManualClock(MONDAY), settings)
    store = terminal.store()
    AppointmentBook(store, settings.appointments, settings.opening, PARIS, terminal.clock).seed_persons([MARIE])
    try:
        yield terminal
    finally:
        for store in terminal.stores:
            store.close()
