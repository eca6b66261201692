"""What the booking tests share: a configuration with one resource person and its data in a
temporary directory, the persons seeded, the website served by a real uvicorn on loopback, and a
plain HTTP client that goes through the website's steps as a phone's browser would."""

from __future__ import annotations

import html
import multiprocessing
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import requests

from kiosk.agent.booking_site import RateLimits
from kiosk.core.loading import load_config
from kiosk.core.mediation.booking import AppointmentBook
from kiosk.core.mediation_config import PersonSettings
from kiosk.core.ports import Clock
from kiosk.core.settings import Config, PathsSettings
from kiosk.core.store import DB_NAME, Role, open_store
from tests.fedkit import free_port

REPO = Path(__file__).resolve().parents[1]
PERSON = PersonSettings(id="marie", name="Marie Dupont", slot_minutes=30, place="Bureau 2")
LIFTED = RateLimits(requests=100_000, bookings=100_000)
SLOT_LINK = re.compile(r'href="(/rendez-vous/coordonnees\?[^"]+)"')
TOKEN = re.compile(r'name="token" value="([0-9a-f]+)"')


def booking_config(data_dir: Path, *persons: PersonSettings, languages: tuple[str, ...] | None = None) -> Config:
    """The shipped configuration, its data in ``data_dir``, with ``persons`` (default Marie)."""
    config = load_config(REPO / "config" / "kiosk.toml", REPO / "config" / "tiles.toml")
    settings = config.kiosk
    appointments = settings.appointments.model_copy(update={"persons": persons or (PERSON,)})
    shell = settings.shell if languages is None else settings.shell.model_copy(update={"languages": languages})
    data_dir.mkdir(parents=True, exist_ok=True)
    paths = PathsSettings(data_dir=data_dir, session_root=data_dir / "sessions", last_good_dir=data_dir / "last-good")
    kiosk = settings.model_copy(update={"appointments": appointments, "paths": paths, "shell": shell})
    return replace(config, kiosk=kiosk)


def seed(config: Config, clock: Clock) -> Path:
    """The configuration's persons in the database, as the agent does at start."""
    from zoneinfo import ZoneInfo

    settings = config.kiosk
    db = settings.paths.data_dir / DB_NAME
    store = open_store(db, Role.AGENT)
    try:
        book = AppointmentBook(
            store, settings.appointments, settings.opening, ZoneInfo(settings.centre.timezone), clock
        )
        book.seed_persons(settings.appointments.persons)
    finally:
        store.close()
    return db


@contextmanager
def served(config: Config, **booking: Any) -> Iterator[str]:
    """The agent's website (help and booking) on a free loopback port; stopped even on failure."""
    import uvicorn

    from kiosk.agent.web import create_help_site

    port = free_port()
    app = create_help_site(config, **booking)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the website did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def client() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment: loopback only
    return session


def slot_links(page: str) -> list[str]:
    return [html.unescape(link) for link in SLOT_LINK.findall(page)]


def token_of(page: str) -> str:
    found = TOKEN.search(page)
    assert found is not None, "no form token on the page"
    return found.group(1)


def open_form(session: requests.Session, site: str, slot_link: str) -> tuple[dict[str, str], str]:
    """The contact form of a slot: its hidden fields (category, slot, token)."""
    page = session.get(site + slot_link, timeout=30)
    assert page.status_code == 200, page.text[:500]
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text))
    return {k: html.unescape(v) for k, v in fields.items()}, page.text


def race(method: str, clients: int, target: Callable[..., None], args: Callable[[int], tuple[Any, ...]]) -> list[Any]:
    """``target(*args(i), start, results)`` in ``clients`` processes (``method``: fork,
    forkserver…), released together by a barrier; what each put in ``results``. Every process is
    joined, or killed, even when an answer does not come."""
    context = multiprocessing.get_context(method)
    start, results = context.Barrier(clients), context.Queue()
    workers = [context.Process(target=target, args=(*args(i), start, results)) for i in range(clients)]
    for worker in workers:
        worker.start()
    try:
        return [results.get(timeout=180) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
