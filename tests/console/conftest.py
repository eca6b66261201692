"""The staff console served for real: uvicorn over HTTPS on 127.0.0.1 with the certificate the
agent makes, on a fresh database; requests trusts that certificate and nothing else."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall_time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from kiosk.agent.console.accounts import StaffRole
from kiosk.agent.console.serve import Console, build_console, https_server
from kiosk.core.mediation.booking import Appointment, AppointmentBook, Booked, Channel
from kiosk.core.mediation.contact import Contact
from kiosk.core.mediation_config import AppointmentSettings, OpeningSettings, PersonSettings
from kiosk.core.ports import SystemClock
from kiosk.core.settings import ConsoleSettings, KioskSettings, PathsSettings
from kiosk.core.store import DB_NAME, Role, open_store
from sync.vocabulary import Category

ADMIN, STAFF = ("claire", "mot-de-passe-admin"), ("karim", "mot-de-passe-accueil")


@dataclass
class ConsoleServer:
    url: str
    console: Console
    db_path: Path

    @property
    def cert(self) -> str:
        return str(self.console.certificate.cert_file)

    def client(self) -> requests.Session:
        session = requests.Session()
        # Not the environment's CA bundle (REQUESTS_CA_BUNDLE would win over `verify`) nor its proxies.
        session.trust_env = False
        session.verify = self.cert
        return session

    def login(self, name: str, password: str) -> requests.Session:
        session = self.client()
        answer = session.post(
            self.url + "/connexion", data={"name": name, "password": password, "csrf": login_token(session, self.url)}
        )
        assert answer.status_code == 200 and answer.url.endswith("/appels"), answer.text[:500]
        return session


def login_token(session: requests.Session, url: str) -> str:
    return form_token(session.get(url + "/connexion").text)


def form_token(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


@pytest.fixture
def console_server(tmp_path: Path) -> Iterator[ConsoleServer]:
    data = tmp_path / "data"
    settings = KioskSettings(
        paths=PathsSettings(data_dir=data, session_root=tmp_path / "sessions", last_good_dir=tmp_path / "lg"),
        console=ConsoleSettings(listen_port=0),
    )
    console = build_console(settings, data / DB_NAME, SystemClock())
    now = datetime.now(UTC)
    console.context.accounts.set(ADMIN[0], StaffRole.ADMIN, ADMIN[1], now)
    console.context.accounts.set(STAFF[0], StaffRole.STAFF, STAFF[1], now)
    server = https_server(console.app, "127.0.0.1", 0, console.certificate)
    thread = threading.Thread(target=server.run, name="console-server", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                pytest.fail("the console's server did not start")
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield ConsoleServer(f"https://127.0.0.1:{port}", console, data / DB_NAME)
    finally:
        console.context.stopping.set()  # ends the live streams
        server.should_exit = True
        thread.join(timeout=15)
        console.close()
        assert not thread.is_alive(), "the console's server did not stop"


# -- appointments -------------------------------------------------------------------------------

PARIS = ZoneInfo("Europe/Paris")
MARIE = PersonSettings(id="marie", name="Marie Dupont", place="Bureau 2", slot_minutes=30)
PAUL = PersonSettings(id="paul", name="Paul Martin", categories=(Category.LOGEMENT,), slot_minutes=45)


@pytest.fixture
def shell_book(console_server: ConsoleServer) -> Iterator[AppointmentBook]:
    """The persons seeded as the agent does at start, and the book as the terminal's shell has
    it: its own connection to the same database (the console's is another)."""
    console_server.console.context.book.seed_persons([MARIE, PAUL])
    store = open_store(console_server.db_path, Role.SHELL)
    try:
        yield AppointmentBook(store, AppointmentSettings(), OpeningSettings(), PARIS, SystemClock())
    finally:
        store.close()


def book_one(
    book: AppointmentBook, category: Category, name: str, phone: str, *, person: str = "", skip: int = 0
) -> Appointment:
    """Book through the core (as a resident at the terminal would): the ``skip``-th free slot."""
    slots = [s for s in book.free_slots(category) if not person or s.person_id == person]
    outcome = book.book(slots[skip], category, Contact.checked(name, phone), Channel.KIOSK)
    assert isinstance(outcome, Booked), outcome
    return outcome.appointment


def audit_rows(server: ConsoleServer, action: str) -> list[tuple[str, str]]:
    with server.console.context.db() as store:
        rows = store.conn.execute(
            "SELECT account, target FROM console_audit WHERE action = ? ORDER BY id", (action,)
        ).fetchall()
    return [(str(a), str(t)) for a, t in rows]


# -- statistics ---------------------------------------------------------------------------------


def seed_last_week(db_path: Path, today: date) -> date:
    """Six residents a day over last week (Monday to Sunday), recorded through the real recorder
    and sealed as the agent does; one a day is 12–17 years old (a cell under k on every day and
    over the week, which no table may show), and once in the week a resident opened a tile nobody
    else did. Returns last week's Monday."""
    from kiosk.core.ports import ManualClock
    from kiosk.core.stats.aggregate import seal_closed_days
    from kiosk.core.stats.events import AgeBracket, Satisfaction, SessionEnded, SessionStarted, TileOpened
    from kiosk.core.stats.recorder import StatsRecorder

    monday = today - timedelta(days=today.weekday() + 7)
    store = open_store(db_path, Role.SHELL)
    try:
        clock = ManualClock(datetime.combine(monday, wall_time(8), tzinfo=UTC))
        recorder = StatsRecorder(store, clock, boot="b1")
        for day in range(7):
            clock.set_wall(datetime.combine(monday + timedelta(days=day), wall_time(8), tzinfo=UTC))
            for slot in range(6):
                session = f"s{day}-{slot}"
                recorder.record(SessionStarted(), session)
                recorder.record(TileOpened(tile="caf", category=Category.FAMILLE), session)
                clock.advance(600)
                age = AgeBracket.FROM_12_TO_17 if slot == 5 else AgeBracket.FROM_40_TO_59
                answers = {"age": age, "satisfaction": Satisfaction.HAPPY}
                recorder.record(SessionEnded(duration_s=600, reason="button", **answers), session)  # type: ignore[arg-type]
                clock.advance(1800)
        # One resident, once in the week, opened a rare tile: a cell of 1 in every table it is in.
        recorder.record(SessionStarted(), "rare")
        recorder.record(TileOpened(tile="ants", category=Category.PAPIERS), "rare")
        recorder.record(SessionEnded(duration_s=600, reason="idle"), "rare")
        recorder.flush()
        seal_closed_days(store, PARIS, int(datetime.now(UTC).timestamp() * 1000), "b1")
    finally:
        store.close()
    return monday
