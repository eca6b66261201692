"""Fixtures for the federation server: a real uvicorn server on loopback, SQLite or a throwaway
PostgreSQL cluster (initdb + pg_ctl on a free port), stopped at the end even when a test fails."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time as timer
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
import requests
from sqlalchemy import update
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sync.protocol import DailyBatch, DayFigures
from sync.server import admin
from sync.server.app import create_app
from sync.server.db import Database, migrate
from sync.server.models import Terminal
from sync.server.publication import publish_due
from sync.server.serving import uvicorn_config
from sync.server.settings import ServerSettings
from sync.vocabulary.periods import Period

PASSWORD = "un mot de passe assez long"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class StatusLog:
    """ASGI wrapper keeping ``(method, path, status)`` of every answer the app gave."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.answers: list[tuple[str, str, int]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.answers.append((scope["method"], scope["path"], message["status"]))
            await send(message)

        await self.app(scope, receive, record if scope["type"] == "http" else send)

    def server_errors(self) -> list[tuple[str, str, int]]:
        return [answer for answer in self.answers if answer[2] >= 500]


class ServerThread:
    """The real server configuration (:func:`sync.server.serving.uvicorn_config`) in a thread of
    this process; ``stop()`` waits for it to end."""

    def __init__(
        self, db: Database, port: int | None = None, settings: ServerSettings | None = None, lifespan: str = "off"
    ) -> None:
        """``lifespan="on"`` runs the app's start-up (its publication job, when the settings
        allow it); tests publish with :meth:`Federation.publish` otherwise."""
        import uvicorn

        self.port = port or free_port()
        self.settings = settings or ServerSettings(insecure_cookies=True, publish_in_process=False)
        self.log = StatusLog(create_app(db, self.settings))
        config = uvicorn_config(self.log, "127.0.0.1", self.port, self.settings, log_level="warning", lifespan=lifespan)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = timer.monotonic() + 15
        while not self.server.started:
            if timer.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the federation server did not start")
            timer.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


# The tests' terminals were enrolled long ago, so that they may send the past days the tests use.
ENROLLED_ON = date(2024, 1, 1)


def backdate_enrolment(db: Database, device_id: str, day: date = ENROLLED_ON) -> None:
    """Date a terminal's enrolment back to ``day``: the server takes batches only from the day
    before a terminal's enrolment, and tests send days of the past."""
    with db.session() as session:
        session.execute(
            update(Terminal)
            .where(Terminal.device_id == device_id)
            .values(enrolled_at=datetime.combine(day, time(12), UTC))
        )


@dataclass
class Federation:
    db: Database
    server: ServerThread
    enrolled: dict[str, str] = field(default_factory=dict)  # device id → token
    logs: list[StatusLog] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.logs.append(self.server.log)

    @property
    def url(self) -> str:
        return self.server.url

    def restart(self, settings: ServerSettings | None = None) -> None:
        """Stop the server and start a new one on the same port (a deploy, a crash), with other
        ``settings`` if given."""
        port = self.server.port
        self.server.stop()
        self.server = ServerThread(self.db, port, settings or self.server.settings).start()
        self.logs.append(self.server.log)

    def server_errors(self) -> list[tuple[str, str, int]]:
        return [error for log in self.logs for error in log.server_errors()]

    def publish(self, today: date | None = None) -> list[Period]:
        """Publish the months due on ``today`` (the nightly job's work: requests never publish)."""
        return publish_due(self.db, today)

    def centre(self, departement: str = "69", name: str = "France Services de Test") -> int:
        return admin.create_centre(self.db, name, "Testville", departement, "france_services")

    def terminal(self, centre_id: int | None = None, enrolled_on: date | None = ENROLLED_ON) -> tuple[str, str]:
        """A terminal enrolled over HTTP: ``(device_id, token)``; its enrolment is then dated
        ``enrolled_on`` (``None``: today, as enrolled)."""
        made = admin.create_terminal(self.db, centre_id or self.centre(), "Borne de test")
        answer = requests.post(
            f"{self.url}/api/v1/enrol", json={"code": made.code, "software_version": "1.0"}, timeout=10
        )
        answer.raise_for_status()
        data = answer.json()
        if enrolled_on is not None:
            backdate_enrolment(self.db, data["device_id"], enrolled_on)
        self.enrolled[data["device_id"]] = data["token"]
        return data["device_id"], data["token"]

    def post(self, path: str, body: str | bytes, token: str | None = None, **headers: str) -> requests.Response:
        """POST ``body`` as JSON to ``path``, with a bearer ``token`` when given."""
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.post(
            f"{self.url}{path}", data=body, headers={"Content-Type": "application/json", **auth, **headers}, timeout=30
        )

    def read_token(self, name: str = "federation") -> str:
        return admin.create_read_token(self.db, name)

    def user(self, username: str = "admin") -> tuple[str, str]:
        admin.create_user(self.db, username, PASSWORD)
        return username, PASSWORD

    def login(self, username: str, password: str = PASSWORD) -> tuple[requests.Session, requests.Response]:
        """A browser-like session through the login form: (session, the form's answer)."""
        import re

        web = requests.Session()
        csrf = re.search(r'name="csrf" value="([^"]+)"', web.get(f"{self.url}/login", timeout=10).text)
        assert csrf, "no CSRF token in the login form"
        answer = web.post(
            f"{self.url}/login",
            data={"username": username, "password": password, "csrf": csrf.group(1)},
            allow_redirects=False,
            timeout=10,
        )
        return web, answer


def batch(device_id: str, day: date, sessions: int = 3, **figures: object) -> DailyBatch:
    return DailyBatch(
        batch_id=DailyBatch.make_id(device_id, day),
        device_id=device_id,
        day=day,
        figures=DayFigures(sessions=sessions, sessions_ended=sessions, **figures),  # type: ignore[arg-type]
    )


# -- PostgreSQL --------------------------------------------------------------------------------


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed: run `make deps` (Debian package postgresql)")
    return found[-1]


class PostgresCluster:
    """A throwaway cluster: initdb in a temporary directory, pg_ctl on a free loopback port."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="borne-pg-"))
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, *args: str) -> None:
        command = list(args)
        if os.geteuid() == 0:  # initdb refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> PostgresCluster:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        data = self.dir / "data"
        self._run(_pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(_pg_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(self.dir / "log"), "-w", "start")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run(_pg_bin("pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


_databases = iter(range(1_000_000))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def federation_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The federation's database: SQLite in a temporary file, or a fresh PostgreSQL database."""
    if request.param == "postgres":
        cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
        url = cluster.create_database(f"borne_{next(_databases)}")
    else:
        url = f"sqlite:///{tmp_path / 'federation.db'}"
    db = Database(url)
    migrate(db.engine)
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def federation(federation_db: Database) -> Iterator[Federation]:
    """A running server on either database; the test fails if the server answered any 5xx."""
    server = ServerThread(federation_db).start()
    fed = Federation(federation_db, server)
    try:
        yield fed
    finally:
        fed.server.stop()
    assert fed.server_errors() == [], f"the server answered 5xx: {fed.server_errors()}"
